//! Directory changes as events: applied in event-time order, deterministic whatever the
//! arrival order, kept across a snapshot, and read by the rules.

// Test helpers may panic: a panic in a test is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;
use std::sync::Arc;

use seam_engine::{CompiledRules, Engine, EngineConfig, Output};
use seam_estate::Estate;
use seam_model::{
    Activity, DeltaIdentifier, DirectoryDelta, Event, EventClass, Finding, Outcome, Ts,
};
use seam_rules::SourceFile;

const INACTIVE_RULE: &str = include_str!("../../../rules/inactive-person-credential.yml");

fn estate() -> Arc<Estate> {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/estate"
    ));
    Arc::new(Estate::load_dir(dir).unwrap())
}

fn engine(lateness_ms: i64) -> Engine {
    let rules = CompiledRules::compile(&[SourceFile {
        path: "inactive-person-credential.yml".into(),
        text: INACTIVE_RULE.into(),
    }])
    .unwrap();
    Engine::new(
        estate(),
        Arc::new(rules),
        EngineConfig {
            allowed_lateness_ms: lateness_ms,
            emit_events: true,
            ..EngineConfig::default()
        },
    )
}

fn ts(text: &str) -> Ts {
    Ts::parse(text).unwrap()
}

fn directory(uid: &str, time: &str, source: &str, delta: DirectoryDelta) -> Event {
    let mut event = Event::new(
        uid,
        ts(time),
        source,
        EventClass::Directory,
        Activity::PersonUpdated,
    );
    event.directory = Some(Box::new(delta));
    event
}

fn badge(uid: &str, time: &str, value: &str) -> Event {
    let mut event = Event::new(
        uid,
        ts(time),
        "pacs",
        EventClass::PhysicalAccess,
        Activity::Granted,
    );
    event.subject.badge = Some(value.into());
    event.door = Some("hq-main".into());
    event.outcome = Outcome::Success;
    event
}

fn leaver(last_day_end: &str) -> DirectoryDelta {
    let mut delta = DirectoryDelta::for_person("alice");
    delta.status = Some("terminated".into());
    delta.status_from = Some(ts(last_day_end));
    delta
}

fn run(engine: &mut Engine, events: Vec<Event>) -> (Vec<Finding>, Vec<(String, Option<String>)>) {
    let mut out = Output::default();
    for event in events {
        engine.push(event, &mut out);
    }
    engine.flush(&mut out);
    let people = out
        .events
        .iter()
        .map(|processed| (processed.event.uid.clone(), processed.person.clone()))
        .collect();
    (out.findings, people)
}

#[test]
fn a_leavers_badge_used_the_day_after_hrs_last_day_raises_a_finding() {
    let mut engine = engine(0);
    let (findings, _) = run(
        &mut engine,
        vec![
            directory(
                "hr-1",
                "2026-03-02T06:00:00Z",
                "hr",
                leaver("2026-03-03T00:00:00Z"),
            ),
            badge("b1", "2026-03-02T08:00:00Z", "4411"),
            badge("b2", "2026-03-03T08:00:00Z", "4411"),
        ],
    );
    let about: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(findings.len(), 1, "{about:?}");
    assert_eq!(findings[0].rule_id(), "seam.inactive-person-credential");
    assert_eq!(engine.counters().directory_changes, 1);
}

#[test]
fn a_new_person_resolves_from_the_change_on_whatever_the_arrival_order() {
    let mut dana = DirectoryDelta::for_person("dana");
    dana.name = Some("Dana Smith".into());
    dana.identifiers.push(DeltaIdentifier {
        kind: "badge".into(),
        value: "7777".into(),
        from: None,
        until: None,
    });
    let change = directory("scim-1", "2026-03-02T08:00:00Z", "scim", dana);
    let before = badge("b0", "2026-03-02T07:59:00Z", "7777");
    let after = badge("b1", "2026-03-02T08:01:00Z", "7777");

    let expected = vec![
        ("b0".to_owned(), None),
        ("scim-1".to_owned(), Some("dana".to_owned())),
        ("b1".to_owned(), Some("dana".to_owned())),
    ];
    // In order, and with the badge arriving before the change it follows in time (within
    // the allowed lateness): the same answers.
    let (_, in_order) = run(
        &mut engine(60_000),
        vec![before.clone(), change.clone(), after.clone()],
    );
    assert_eq!(in_order, expected);
    let (_, shuffled) = run(&mut engine(60_000), vec![after, before, change]);
    assert_eq!(shuffled, expected);
}

#[test]
fn a_snapshot_keeps_the_directory_changes() {
    let mut first = engine(0);
    let mut out = Output::default();
    first.push(
        directory(
            "hr-1",
            "2026-03-02T06:00:00Z",
            "hr",
            leaver("2026-03-03T00:00:00Z"),
        ),
        &mut out,
    );
    first.push(badge("b1", "2026-03-02T08:00:00Z", "4411"), &mut out);
    let snapshot = first.snapshot_bytes();

    let mut resumed = engine(0);
    resumed.restore_bytes(&snapshot).unwrap();
    let (findings, _) = run(
        &mut resumed,
        vec![badge("b2", "2026-03-03T08:00:00Z", "4411")],
    );
    assert_eq!(findings.len(), 1);
    assert_eq!(resumed.counters().directory_changes, 1);
}

#[test]
fn a_refused_change_is_counted_and_changes_nothing() {
    let mut engine = engine(0);
    let mut bad = DirectoryDelta::for_person("alice");
    bad.status = Some("terminated".into());
    bad.clearances = Some(vec!["no-such-zone".into()]);
    let (findings, _) = run(
        &mut engine,
        vec![
            directory("x-1", "2026-03-02T06:00:00Z", "hr", bad),
            badge("b1", "2026-03-02T08:00:00Z", "4411"),
        ],
    );
    assert!(findings.is_empty());
    assert_eq!(engine.counters().directory_refused, 1);
    assert_eq!(engine.counters().directory_changes, 0);
}

fn places_with_side_door() -> seam_model::EstatePlaces {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/estate"
    ));
    let mut files = Vec::new();
    for name in ["assets.toml", "networks.toml", "sites.toml"] {
        let mut text = std::fs::read_to_string(dir.join(name)).unwrap();
        if name == "sites.toml" {
            text.push_str("\n[[door]]\nid = \"old-side\"\nsite = \"old\"\nfrom = \"outside\"\nto = \"old-floor\"\nreaders = [\"r-old-side\"]\n");
        }
        files.push(seam_model::PlacesFile {
            path: name.into(),
            text,
        });
    }
    seam_model::EstatePlaces { files }
}

fn reader_badge(uid: &str, time: &str) -> Event {
    let mut event = Event::new(
        uid,
        ts(time),
        "pacs",
        EventClass::PhysicalAccess,
        Activity::Granted,
    );
    event.subject.badge = Some("4414".into());
    event.reader = Some("r-old-side".into());
    event.outcome = Outcome::Success;
    event
}

#[test]
fn edited_places_take_effect_at_their_time_and_survive_a_snapshot() {
    let rule = include_str!("../../../rules/decommissioned-site-badge.yml");
    let make = || {
        let rules = CompiledRules::compile(&[SourceFile {
            path: "decommissioned-site-badge.yml".into(),
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
    };
    let mut places = Event::new(
        "estate-1",
        ts("2026-03-02T12:00:00Z"),
        "estate",
        EventClass::Directory,
        Activity::PlacesChanged,
    );
    places.places = Some(Box::new(places_with_side_door()));
    let mut engine = make();
    let mut out = Output::default();
    engine.push(reader_badge("before", "2026-03-02T11:00:00Z"), &mut out);
    engine.push(places, &mut out);
    engine.push(reader_badge("after", "2026-03-02T13:00:00Z"), &mut out);
    assert_eq!(
        out.findings.len(),
        1,
        "the reader is known from the edit on"
    );
    assert!(engine.estate().door_by_reader("r-old-side").is_some());

    let snapshot = engine.snapshot_bytes();
    let mut resumed = make();
    resumed.restore_bytes(&snapshot).unwrap();
    let mut out = Output::default();
    resumed.push(reader_badge("later", "2026-03-02T14:00:00Z"), &mut out);
    resumed.flush(&mut out);
    assert_eq!(out.findings.len(), 1);

    // An edit that removes a place is refused and counted; the running places stay.
    let mut removed = Event::new(
        "estate-2",
        ts("2026-03-02T15:00:00Z"),
        "estate",
        EventClass::Directory,
        Activity::PlacesChanged,
    );
    let mut without = places_with_side_door();
    for file in &mut without.files {
        file.text = file.text.replace("id = \"old-main\"", "id = \"old-gone\"");
    }
    removed.places = Some(Box::new(without));
    let refused = resumed.counters().directory_refused;
    resumed.push(removed, &mut out);
    resumed.flush(&mut out);
    assert_eq!(resumed.counters().directory_refused, refused + 1);
    assert!(resumed.estate().door_idx("old-main").is_some());
}
