//! Identity at event time, learned bindings, and Sigma rules over a vendor's raw fields,
//! through the real engine at the example estate.

// Test helpers may panic: a panic in a test is a failed assertion.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::sync::Arc;

use seam_engine::context::{EventContext, Places};
use seam_engine::schema::{EngineSchema, Field};
use seam_engine::state::WorldState;
use seam_engine::{CompiledRules, Engine, EngineConfig, Output};
use seam_estate::Estate;
use seam_model::{Activity, Event, EventClass, Ts};
use seam_rules::{Record, SourceFile, Value};

fn estate() -> Arc<Estate> {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/estate"
    ));
    Arc::new(Estate::load_dir(dir).unwrap())
}

fn engine_with(rule: &str) -> Engine {
    let rules = CompiledRules::compile(&[SourceFile {
        path: "test.yml".into(),
        text: rule.into(),
    }])
    .unwrap();
    Engine::new(
        estate(),
        Arc::new(rules),
        EngineConfig {
            allowed_lateness_ms: 0,
            ..EngineConfig::default()
        },
    )
}

fn person_of(estate: &Estate, event: &Event, world: &WorldState) -> Option<String> {
    let schema = EngineSchema::new();
    let person = world.identity.resolve(estate, event).map(|(p, _)| p);
    let places = Places::of(estate, event);
    let context = EventContext::new(estate, &schema, world, &[], event, person, places);
    match context.field(EngineSchema::field_ref(Field::PersonUid)) {
        Some(Value::Str(uid)) => Some(uid.to_string()),
        _ => None,
    }
}

#[test]
fn a_reissued_badge_has_one_holder_at_any_moment() {
    let estate = estate();
    let world = WorldState::default();
    let mut event = Event::new(
        "b",
        Ts::parse("2026-02-27T16:59:59Z").unwrap(),
        "pacs",
        EventClass::PhysicalAccess,
        Activity::Granted,
    );
    event.subject.badge = Some("4400".into());
    assert_eq!(person_of(&estate, &event, &world).as_deref(), Some("erin"));
    // Between Erin's last day and Judy's first, the badge belongs to nobody.
    event.time = Ts::parse("2026-02-28T09:12:00Z").unwrap();
    assert_eq!(person_of(&estate, &event, &world), None);
    event.time = Ts::parse("2026-03-02T09:12:00Z").unwrap();
    assert_eq!(person_of(&estate, &event, &world).as_deref(), Some("judy"));
}

#[test]
fn an_address_resolves_through_its_dhcp_lease_only_while_the_lease_lasts() {
    let mut engine = engine_with(
        "title: any traffic\nid: test.traffic\ndetection:\n  s:\n    class: network_activity\n    person.uid|exists: true\n  condition: s\n",
    );
    let mut out = Output::default();
    let mut lease = Event::new(
        "l",
        Ts::parse("2026-03-02T08:00:00Z").unwrap(),
        "dhcp",
        EventClass::Dhcp,
        Activity::Assign,
    );
    lease.subject.ip = Some([10, 10, 9, 9].into());
    lease.subject.mac = Some("3C-22-FB-00-00-01".into());
    lease.until = Some(Ts::parse("2026-03-02T10:00:00Z").unwrap());
    engine.push(lease, &mut out);
    for (uid, time) in [
        ("inside", "2026-03-02T09:00:00Z"),
        ("after", "2026-03-02T11:00:00Z"),
    ] {
        let mut traffic = Event::new(
            uid,
            Ts::parse(time).unwrap(),
            "netflow",
            EventClass::NetworkActivity,
            Activity::Traffic,
        );
        traffic.subject.ip = Some([10, 10, 9, 9].into());
        traffic.bytes_out = Some(10);
        engine.push(traffic, &mut out);
    }
    engine.flush(&mut out);
    let people: Vec<Option<&str>> = out.findings.iter().map(|f| f.person_uid()).collect();
    assert_eq!(people, vec![Some("alice")]);
    assert_eq!(
        engine.counters().unresolved,
        1,
        "the event after the lease is kept and counted"
    );
}

#[test]
fn a_sigma_rule_matches_an_okta_events_raw_fields() {
    let rule = r#"title: Okta session started from a proxy
id: test.okta-proxy-session
author: Seam tests
logsource: {product: okta, service: okta}
detection:
  selection:
    eventType: user.session.start
    securityContext.isProxy: 'true'
    outcome.result: SUCCESS
  condition: selection
level: high
"#;
    let mut engine = engine_with(rule);
    let mut out = Output::default();
    let raw = |proxy: bool| {
        serde_json::json!({
            "eventType": "user.session.start",
            "actor": {"alternateId": "alice@example.com", "id": "00u1alice"},
            "outcome": {"result": "SUCCESS"},
            "securityContext": {"isProxy": proxy},
            "client": {"ipAddress": "185.220.101.7"}
        })
    };
    for (uid, proxy) in [("proxied", true), ("direct", false)] {
        let mut event = Event::new(
            uid,
            Ts::parse("2026-03-02T09:00:00Z").unwrap(),
            "okta",
            EventClass::Authentication,
            Activity::Logon,
        );
        event.subject.idp_id = Some("00u1alice".into());
        event.raw = Some(raw(proxy));
        engine.push(event, &mut out);
    }
    engine.flush(&mut out);
    assert_eq!(out.findings.len(), 1);
    let finding = &out.findings[0];
    assert_eq!(finding.finding_info.related_events[0].uid, "proxied");
    assert_eq!(finding.person_uid(), Some("alice"));
    assert_eq!(finding.unmapped.rule_author, "Seam tests");
}

/// The engine reads a person's kind, status, privilege and id from a dense copy of the
/// directory; it must answer exactly as the directory does, for every person at every instant
/// (status changes included), and for ids too long to copy.
#[test]
fn person_facts_answer_as_the_directory_does() {
    use seam_engine::context::PersonFacts;
    use seam_estate::{EstateFile, PersonIdx};

    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/estate"
    ));
    let mut files: Vec<EstateFile> = ["assets.toml", "networks.toml", "people.toml", "sites.toml"]
        .iter()
        .map(|name| EstateFile {
            path: (*name).to_owned(),
            text: std::fs::read_to_string(dir.join(name)).unwrap(),
        })
        .collect();
    files.push(EstateFile {
        path: "more.toml".into(),
        text: "[[person]]\nid = \"a-person-with-a-rather-long-id\"\nname = \"Long\"\n\
               kind = \"contractor\"\nprivileged = true\nstatus = [\
               { status = \"active\", since = \"2025-01-01T00:00:00Z\" }, \
               { status = \"suspended\", since = \"2025-06-01T00:00:00Z\" }, \
               { status = \"active\", since = \"2025-07-01T00:00:00Z\" }]\n\n\
               [[person]]\nid = \"nostatus\"\nname = \"None\"\nkind = \"visitor\"\n"
            .into(),
    });
    let estate = Estate::from_files(&files).unwrap();
    let facts = PersonFacts::of_estate(&estate);
    let schema = EngineSchema::new();
    let world = WorldState::default();
    let fields = [
        Field::PersonKind,
        Field::PersonStatus,
        Field::PersonUid,
        Field::PersonPrivileged,
    ];
    for index in 0..estate.people().len() {
        let person = PersonIdx(u32::try_from(index).unwrap());
        let mut instants = vec![Ts(i64::MIN), Ts(0), Ts(i64::MAX)];
        for change in &estate.person(person).status {
            let since = change.since.millis();
            instants.extend([Ts(since - 1), Ts(since), Ts(since + 1)]);
        }
        for at in instants {
            let event = Event::new("e", at, "t", EventClass::Authentication, Activity::Logon);
            let places = Places::of(&estate, &event);
            let plain =
                EventContext::new(&estate, &schema, &world, &[], &event, Some(person), places);
            let fast =
                EventContext::new(&estate, &schema, &world, &[], &event, Some(person), places)
                    .with_facts(facts.get(index).copied());
            for field in fields {
                let field = EngineSchema::field_ref(field);
                assert_eq!(fast.field(field), plain.field(field), "{index} at {at:?}");
            }
        }
    }
}

#[test]
fn a_misspelt_word_of_a_closed_vocabulary_is_an_error_with_a_suggestion() {
    let rule = |class: &str| {
        format!(
            "title: t\nid: test.words\nlogsource: {{product: seam}}\ndetection:\n  sel:\n    class: {class}\n  condition: sel\n"
        )
    };
    let error = CompiledRules::compile(&[SourceFile {
        path: "test.yml".into(),
        text: rule("physical_acess"),
    }])
    .map(|_| ())
    .unwrap_err();
    let text = format!("{error:?}");
    assert!(text.contains("did you mean `physical_access`"), "{text}");
    assert!(text.contains("test.yml"), "{text}");
    // Words that are known, in any case, and patterns stay allowed.
    for ok in ["physical_access", "Physical_Access", "physical_*"] {
        assert!(
            CompiledRules::compile(&[SourceFile {
                path: "test.yml".into(),
                text: rule(ok),
            }])
            .is_ok(),
            "{ok}"
        );
    }
}

#[test]
fn a_vpn_session_leases_its_pool_address_to_the_person_until_she_logs_out() {
    let mut engine = engine_with(
        "title: any traffic\nid: test.traffic\ndetection:\n  s:\n    class: network_activity\n    person.uid|exists: true\n  condition: s\n",
    );
    let mut out = Output::default();
    let vpn = |uid: &str, time: &str, activity: Activity| {
        let mut event = Event::new(
            uid,
            Ts::parse(time).unwrap(),
            "globalprotect",
            EventClass::NetworkSession,
            activity,
        );
        event.medium = Some(seam_model::Medium::Vpn);
        event.outcome = seam_model::Outcome::Success;
        event.subject.user = Some("judy@example.com".into());
        event.subject.ip = Some([10, 99, 0, 41].into());
        event
    };
    let flow = |uid: &str, time: &str| {
        let mut flow = Event::new(
            uid,
            Ts::parse(time).unwrap(),
            "netflow",
            EventClass::NetworkActivity,
            Activity::Traffic,
        );
        flow.subject.ip = Some([10, 99, 0, 41].into());
        flow.bytes_out = Some(5_000_000);
        flow
    };
    engine.push(
        vpn("c", "2026-03-02T08:00:00Z", Activity::Connect),
        &mut out,
    );
    engine.push(flow("in-session", "2026-03-02T09:00:00Z"), &mut out);
    engine.push(
        vpn("d", "2026-03-02T10:00:00Z", Activity::Disconnect),
        &mut out,
    );
    engine.push(flow("after-logout", "2026-03-02T11:00:00Z"), &mut out);
    engine.flush(&mut out);
    let people: Vec<Option<&str>> = out.findings.iter().map(|f| f.person_uid()).collect();
    assert_eq!(people, vec![Some("judy")]);
}

fn change(uid: &str, updated: &str, activity: Activity, assignee: &str) -> Event {
    let mut event = Event::new(
        uid,
        Ts::parse(updated).unwrap(),
        "servicenow",
        EventClass::ChangeRequest,
        activity,
    );
    event.change = Some(Box::new(seam_model::ChangeDetails {
        number: "CHG0030012".into(),
        start: Ts::parse("2026-03-02T22:00:00Z").unwrap(),
        end: Ts::parse("2026-03-03T01:00:00Z").unwrap(),
        items: vec!["hq-db1".into()],
        assignees: vec![assignee.into()],
        groups: vec![],
    }));
    event
}

fn server_signin(uid: &str, time: &str, user: &str) -> Event {
    let mut event = Event::new(
        uid,
        Ts::parse(time).unwrap(),
        "linux-auth",
        EventClass::Authentication,
        Activity::Logon,
    );
    event.outcome = seam_model::Outcome::Success;
    event.subject.user = Some(user.into());
    event.asset = Some("hq-db1".into());
    event
}

const ANY_SERVER_SIGNIN: &str = "title: server sign-in\nid: test.server\ndetection:\n  s:\n    class: authentication\n    asset.id: hq-db1\n  condition: s\n";

#[test]
fn a_finding_inside_an_approved_change_names_it_unless_its_rule_is_silenced() {
    let mut engine = engine_with(ANY_SERVER_SIGNIN);
    let mut out = Output::default();
    engine.push(
        change(
            "c1",
            "2026-03-01T09:00:00Z",
            Activity::ChangeScheduled,
            "bob",
        ),
        &mut out,
    );
    engine.push(server_signin("in", "2026-03-02T22:10:00Z", "bob"), &mut out);
    engine.push(
        server_signin("other", "2026-03-02T22:20:00Z", "dan"),
        &mut out,
    );
    engine.push(
        server_signin("after", "2026-03-03T02:00:00Z", "bob"),
        &mut out,
    );
    engine.flush(&mut out);
    let changes: Vec<Option<&str>> = out
        .findings
        .iter()
        .map(|f| f.unmapped.change.as_deref())
        .collect();
    assert_eq!(changes, [Some("CHG0030012"), None, None]);
    assert!(
        out.findings[0]
            .message
            .ends_with("(during approved change CHG0030012)")
    );

    let silenced = format!("{ANY_SERVER_SIGNIN}change: silence\n");
    let mut engine = engine_with(&silenced);
    let mut out = Output::default();
    engine.push(
        change(
            "c1",
            "2026-03-01T09:00:00Z",
            Activity::ChangeScheduled,
            "bob",
        ),
        &mut out,
    );
    engine.push(server_signin("in", "2026-03-02T22:10:00Z", "bob"), &mut out);
    engine.flush(&mut out);
    assert!(out.findings.is_empty());
    assert_eq!(engine.counters().silenced_by_change, 1);
}

#[test]
fn a_change_polled_late_still_counts_and_an_older_update_never_revives_a_cancelled_one() {
    let silenced = format!("{ANY_SERVER_SIGNIN}change: silence\n");
    let mut engine = engine_with(&silenced);
    let mut out = Output::default();
    // The badge system's clock has moved past the change's last update by the time the change
    // system is polled: the change arrives late, and still covers the work.
    engine.push(
        server_signin("early", "2026-03-02T21:00:00Z", "bob"),
        &mut out,
    );
    engine.push(
        change(
            "c1",
            "2026-03-02T20:00:00Z",
            Activity::ChangeScheduled,
            "bob",
        ),
        &mut out,
    );
    engine.push(server_signin("in", "2026-03-02T22:10:00Z", "bob"), &mut out);
    assert_eq!(engine.counters().silenced_by_change, 1);
    // Cancelled at 22:15, then the older approved update is delivered again.
    engine.push(
        change(
            "c2",
            "2026-03-02T22:15:00Z",
            Activity::ChangeCancelled,
            "bob",
        ),
        &mut out,
    );
    engine.push(
        change(
            "c1",
            "2026-03-02T20:00:00Z",
            Activity::ChangeScheduled,
            "bob",
        ),
        &mut out,
    );
    engine.push(
        server_signin("late", "2026-03-02T22:30:00Z", "bob"),
        &mut out,
    );
    engine.flush(&mut out);
    let uids: Vec<&str> = out
        .findings
        .iter()
        .flat_map(|f| f.finding_info.related_events.iter().map(|e| e.uid.as_str()))
        .collect();
    assert_eq!(uids, ["early", "late"]);
}

#[test]
fn a_change_for_a_group_covers_its_members_on_its_items_only() {
    let rule = "title: server-room sign-in\nid: test.room\ndetection:\n  s:\n    class: authentication\n    zone.id: hq-server\n  condition: s\nchange: silence\n";
    let mut engine = engine_with(rule);
    let mut out = Output::default();
    let mut ticket = change(
        "c1",
        "2026-03-01T09:00:00Z",
        Activity::ChangeScheduled,
        "nobody",
    );
    if let Some(details) = ticket.change.as_deref_mut() {
        details.assignees.clear();
        details.groups = vec!["Sysadmin".into()];
    }
    engine.push(ticket, &mut out);
    // Bob is a sysadmin: covered on hq-db1. On hq-pacs, in the same room, he is not; nor is
    // Alice, an engineer, on hq-db1.
    engine.push(
        server_signin("bob-db", "2026-03-02T22:10:00Z", "bob"),
        &mut out,
    );
    let mut pacs = server_signin("bob-pacs", "2026-03-02T22:20:00Z", "bob");
    pacs.asset = Some("hq-pacs".into());
    engine.push(pacs, &mut out);
    engine.push(
        server_signin("alice-db", "2026-03-02T22:30:00Z", "alice"),
        &mut out,
    );
    engine.flush(&mut out);
    let uids: Vec<&str> = out
        .findings
        .iter()
        .flat_map(|f| f.finding_info.related_events.iter().map(|e| e.uid.as_str()))
        .collect();
    assert_eq!(uids, ["bob-pacs", "alice-db"]);
}

#[test]
fn doors_ports_and_people_answer_their_new_fields() {
    let estate = estate();
    let world = WorldState::default();
    let schema = EngineSchema::new();
    let field = |event: &Event, field: Field| -> Option<String> {
        let person = seam_engine::identity::resolve_in_directory(&estate, event).map(|(p, _)| p);
        let places = Places::of(&estate, event);
        let context = EventContext::new(&estate, &schema, &world, &[], event, person, places);
        context
            .field(EngineSchema::field_ref(field))
            .map(|v| seam_engine::context::value_text(&v))
    };
    let mut fire = Event::new(
        "f",
        Ts::parse("2026-03-06T20:00:00Z").unwrap(),
        "pacs",
        EventClass::PhysicalAccess,
        Activity::Forced,
    );
    fire.door = Some("hq-server-fire".into());
    assert_eq!(field(&fire, Field::DoorKind).as_deref(), Some("fire_exit"));
    let mut port = Event::new(
        "p",
        Ts::parse("2026-03-06T20:00:00Z").unwrap(),
        "ise",
        EventClass::NetworkSession,
        Activity::Connect,
    );
    port.switch_port = Some("hq-sw1:Gi1/0/5".into());
    assert_eq!(field(&port, Field::PortKind).as_deref(), Some("meeting"));
    // Bob: on call from Monday 17:00 UTC for a week, at home on Fridays (Amsterdam days).
    let signin = |time: &str| {
        let mut event = Event::new(
            "s",
            Ts::parse(time).unwrap(),
            "okta",
            EventClass::Authentication,
            Activity::Logon,
        );
        event.subject.user = Some("bob@example.com".into());
        event
    };
    let friday_night = signin("2026-03-06T20:00:00Z");
    assert_eq!(
        field(&friday_night, Field::PersonOnCall).as_deref(),
        Some("true")
    );
    assert_eq!(
        field(&friday_night, Field::PersonRemoteDay).as_deref(),
        Some("true")
    );
    assert_eq!(
        field(&friday_night, Field::PersonTeam).as_deref(),
        Some("Infrastructure")
    );
    let monday_morning = signin("2026-03-02T08:00:00Z");
    assert_eq!(
        field(&monday_morning, Field::PersonOnCall).as_deref(),
        Some("false")
    );
    assert_eq!(
        field(&monday_morning, Field::PersonRemoteDay).as_deref(),
        Some("false")
    );
}
