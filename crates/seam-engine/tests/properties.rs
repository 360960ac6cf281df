//! The engine's determinism, as properties over random event streams at the example estate:
//! arrival order within the allowed lateness, snapshot and restore at any point, and agreement
//! with a reference configuration (pre-sorted input, no reorder buffer, no rule dispatch).

// Test helpers may panic: a panic in a test is a failed assertion.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use seam_engine::{CompiledRules, Engine, EngineConfig, Output};
use seam_estate::Estate;
use seam_model::{Activity, Event, EventClass, Medium, Outcome, Ts};
use seam_rules::SourceFile;

const LATENESS_MS: i64 = 120_000;
/// 2026-03-02T06:00:00Z.
const START_MS: i64 = 1_772_431_200_000;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn estate() -> Arc<Estate> {
    Arc::new(Estate::load_dir(&repo().join("examples/estate")).unwrap())
}

fn rule_files() -> Vec<SourceFile> {
    let mut paths: Vec<_> = std::fs::read_dir(repo().join("rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| SourceFile {
            path: p.display().to_string(),
            text: std::fs::read_to_string(&p).unwrap(),
        })
        .collect()
}

fn rules(dispatch: bool) -> Arc<CompiledRules> {
    Arc::new(CompiledRules::compile_with(&rule_files(), dispatch).unwrap())
}

const BADGES: &[&str] = &[
    "4411", "4412", "4413", "4414", "4415", "4416", "4417", "4418", "V-100", "9999",
];
const USERS: &[&str] = &[
    "alice@example.com",
    "bob",
    "carol@example.com",
    "heidi@example.com",
    "frank@contractor.example.net",
    "nobody@example.com",
];
const DOORS: &[&str] = &[
    "hq-main",
    "hq-office-door",
    "hq-meet-door",
    "hq-server-in",
    "hq-server-out",
    "hq-classified-in",
    "hq-classified-out",
    "nyc-main",
    "old-main",
];
const MACS: &[&str] = &[
    "3c:22:fb:00:00:01",
    "3c:22:fb:00:00:03",
    "3c:22:fb:00:00:06",
    "3c:22:fb:00:00:0a",
    "b8:27:eb:00:00:01",
];
const APS: &[&str] = &["hq-ap-office", "hq-ap-cafe", "hq-ap-lobby", "nyc-ap-office"];
const IPS: &[[u8; 4]] = &[
    [10, 10, 1, 21],
    [198, 51, 100, 10],
    [185, 220, 101, 7],
    [10, 99, 0, 12],
    [203, 0, 113, 10],
];
const PORTS: &[&str] = &["hq-sw1:Gi1/0/5", "hq-sw1:Gi1/0/7"];

/// One random event: a kind and a few choices, turned into an `Event` at a time.
fn event_strategy() -> impl Strategy<Value = (u8, usize, usize, bool, i64)> {
    (
        0u8..12,
        0usize..64,
        0usize..64,
        any::<bool>(),
        1i64..240_000,
    )
}

fn make_events(specs: &[(u8, usize, usize, bool, i64)]) -> Vec<Event> {
    let mut time = START_MS;
    let mut events = Vec::with_capacity(specs.len());
    for (index, (kind, a, b, flag, gap)) in specs.iter().enumerate() {
        time += gap;
        let pick = |list: &[&'static str], n: usize| list[n % list.len()].to_string();
        let uid = format!("e{index:05}");
        let source = ["pacs", "okta", "ise", "bms"][index % 4];
        let mut event = match kind {
            0 | 1 => {
                let mut e = Event::new(
                    uid,
                    Ts(time),
                    source,
                    EventClass::PhysicalAccess,
                    if *flag {
                        Activity::Granted
                    } else {
                        Activity::DoorUsed
                    },
                );
                e.subject.badge = Some(pick(BADGES, *a));
                e.door = Some(pick(DOORS, *b));
                e
            }
            2 => {
                let mut e = Event::new(
                    uid,
                    Ts(time),
                    source,
                    EventClass::PhysicalAccess,
                    if *flag {
                        Activity::Denied
                    } else {
                        Activity::Forced
                    },
                );
                e.subject.badge = Some(pick(BADGES, *a));
                e.door = Some(pick(DOORS, *b));
                e
            }
            3 | 4 => {
                let mut e = Event::new(
                    uid,
                    Ts(time),
                    source,
                    EventClass::Authentication,
                    Activity::Logon,
                );
                e.outcome = if *flag {
                    Outcome::Success
                } else {
                    Outcome::Failure
                };
                e.subject.user = Some(pick(USERS, *a));
                e.src.ip = Some(IPS[*b % IPS.len()].into());
                if *b % 3 == 0 {
                    e.src.lat = Some(44.43);
                    e.src.lon = Some(26.10);
                }
                e
            }
            5 => {
                let mut e = Event::new(
                    uid,
                    Ts(time),
                    source,
                    EventClass::NetworkSession,
                    Activity::Connect,
                );
                e.outcome = Outcome::Success;
                e.medium = Some(Medium::Wifi);
                e.subject.mac = Some(pick(MACS, *a));
                e.ap = Some(pick(APS, *b));
                e
            }
            6 => {
                let mut e = Event::new(
                    uid,
                    Ts(time),
                    source,
                    EventClass::NetworkSession,
                    Activity::Connect,
                );
                e.outcome = if *flag {
                    Outcome::Success
                } else {
                    Outcome::Failure
                };
                e.medium = Some(Medium::Wired);
                e.subject.mac = Some(pick(MACS, *a));
                e.switch_port = Some(pick(PORTS, *b));
                e
            }
            7 => {
                let mut e = Event::new(
                    uid,
                    Ts(time),
                    source,
                    EventClass::Occupancy,
                    Activity::Count,
                );
                e.zone = Some(pick(&["hq-server", "hq-office", "hq-classified"], *a));
                e.count = Some((*b % 4) as i64);
                e
            }
            8 => {
                let activity =
                    [Activity::Offline, Activity::Online, Activity::ConfigChange][*a % 3];
                let mut e = Event::new(uid, Ts(time), source, EventClass::DeviceStatus, activity);
                e.asset = Some(pick(&["hq-door-ctrl", "hq-cam-server"], *b));
                e
            }
            9 => {
                let mut e = Event::new(
                    uid,
                    Ts(time),
                    source,
                    EventClass::NetworkActivity,
                    Activity::Traffic,
                );
                e.subject.device = Some(pick(&["hq-ws-dan", "hq-ws-alice"], *a));
                e.dst.ip = Some([203, 0, 113, 200].into());
                e.bytes_out = Some(if *flag { 500_000_000 } else { 1_000 });
                e
            }
            10 => {
                let mut e = Event::new(
                    uid,
                    Ts(time),
                    source,
                    EventClass::ResourceAccess,
                    Activity::Read,
                );
                e.subject.user = Some(pick(USERS, *a));
                e.src.ip = Some(IPS[*b % IPS.len()].into());
                e.resource = Some(pick(&["payroll-share", "wiki"], *b));
                e
            }
            _ => {
                let mut e = Event::new(
                    uid,
                    Ts(time),
                    source,
                    EventClass::DeviceInventory,
                    Activity::Posture,
                );
                e.subject.mac = Some(pick(MACS, *a));
                e.compliant = Some(*flag);
                e
            }
        };
        event.observed = None;
        events.push(event);
    }
    events
}

fn config(lateness_ms: i64) -> EngineConfig {
    EngineConfig {
        allowed_lateness_ms: lateness_ms,
        idle_source_ms: 24 * 3_600_000,
        emit_events: false,
        ..EngineConfig::default()
    }
}

/// Findings as the JSON lines an operator would see.
fn run(engine: &mut Engine, events: Vec<Event>) -> Vec<String> {
    let mut out = Output::default();
    for event in events {
        engine.push(event, &mut out);
    }
    engine.flush(&mut out);
    out.findings
        .iter()
        .map(|f| serde_json::to_string(f).unwrap())
        .collect()
}

/// The reference: sorted input, no reorder buffer to speak of, every rule on every event.
fn reference(estate: &Arc<Estate>, events: &[Event]) -> Vec<String> {
    let mut sorted = events.to_vec();
    sorted.sort_by(|a, b| (a.time, &a.uid).cmp(&(b.time, &b.uid)));
    let mut engine = Engine::new(Arc::clone(estate), rules(false), config(0));
    run(&mut engine, sorted)
}

/// An arrival order in which no event is later than the allowed lateness: each event is
/// delayed by less than half of it, and events arrive in order of delayed time.
fn shuffle_within_lateness(events: &[Event], delays: &[i64]) -> Vec<Event> {
    let mut arrival: Vec<(i64, usize)> = events
        .iter()
        .enumerate()
        .map(|(i, e)| (e.time.millis() + delays[i % delays.len()], i))
        .collect();
    arrival.sort();
    arrival
        .into_iter()
        .map(|(_, i)| events[i].clone())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn arrival_order_within_lateness_and_dispatch_do_not_change_findings(
        specs in proptest::collection::vec(event_strategy(), 1..250),
        delays in proptest::collection::vec(0i64..LATENESS_MS / 2, 1..50),
    ) {
        let estate = estate();
        let events = make_events(&specs);
        let expected = reference(&estate, &events);
        let mut engine = Engine::new(Arc::clone(&estate), rules(true), config(LATENESS_MS));
        let found = run(&mut engine, shuffle_within_lateness(&events, &delays));
        prop_assert_eq!(found, expected);
        prop_assert_eq!(engine.counters().late, 0);
    }

    #[test]
    fn any_split_into_batches_gives_the_findings_of_one_by_one(
        specs in proptest::collection::vec(event_strategy(), 1..250),
        delays in proptest::collection::vec(0i64..LATENESS_MS / 2, 1..50),
        sizes in proptest::collection::vec(1usize..40, 1..20),
    ) {
        let estate = estate();
        let rules = rules(true);
        let arrivals = shuffle_within_lateness(&make_events(&specs), &delays);
        let mut single = Engine::new(Arc::clone(&estate), Arc::clone(&rules), config(LATENESS_MS));
        let expected = run(&mut single, arrivals.clone());

        let mut batched = Engine::new(Arc::clone(&estate), rules, config(LATENESS_MS));
        let mut out = Output::default();
        let mut rest = arrivals.into_iter().peekable();
        for size in sizes.iter().cycle() {
            if rest.peek().is_none() {
                break;
            }
            batched.push_batch(&mut rest.by_ref().take(*size).collect(), &mut out);
        }
        batched.flush(&mut out);
        let found: Vec<String> = out.findings.iter().map(|f| serde_json::to_string(f).unwrap()).collect();
        prop_assert_eq!(found, expected);
        prop_assert_eq!(batched.counters(), single.counters());
    }

    /// Batches in order are taken over whole by the reorder buffer (see `Engine::push_batch`);
    /// mixed with out-of-order ones, repeats, heartbeats, a tight buffer bound and no allowed
    /// lateness at all, they must still give exactly what pushing one by one gives: the same
    /// findings, the same events returned with the same flags, the same counters.
    #[test]
    fn batches_taken_over_whole_give_what_one_by_one_gives(
        specs in proptest::collection::vec(event_strategy(), 1..250),
        delays in proptest::collection::vec(0i64..LATENESS_MS / 2, 1..50),
        shuffled in any::<bool>(),
        repeated in proptest::collection::btree_set(0usize..250, 0..10),
        sizes in proptest::collection::vec(1usize..80, 1..20),
        lateness in prop_oneof![Just(0i64), Just(1i64), Just(LATENESS_MS)],
        bound in prop_oneof![Just(1_000_000usize), 1usize..60],
        heartbeat_every in 0usize..6,
    ) {
        let estate = estate();
        let rules = rules(true);
        let mut events = make_events(&specs);
        let repeats: Vec<Event> = repeated.iter().filter_map(|index| events.get(*index).cloned()).collect();
        events.extend(repeats);
        events.sort_by(|a, b| (a.time, &a.uid).cmp(&(b.time, &b.uid)));
        let arrivals = if shuffled { shuffle_within_lateness(&events, &delays) } else { events };
        let config = EngineConfig {
            allowed_lateness_ms: lateness,
            max_buffered: bound,
            emit_events: true,
            ..config(lateness)
        };
        let mut batches: Vec<Vec<Event>> = Vec::new();
        let mut rest = arrivals.into_iter().peekable();
        for size in sizes.iter().cycle() {
            if rest.peek().is_none() {
                break;
            }
            batches.push(rest.by_ref().take(*size).collect());
        }
        // A heartbeat after some batches, a little behind the newest event so far.
        let heartbeat = |index: usize, batch: &[Event]| {
            (heartbeat_every > 0 && index.is_multiple_of(heartbeat_every))
                .then(|| batch.last().map(|event| event.time.minus_millis(lateness / 2)))
                .flatten()
        };

        let mut single = Engine::new(Arc::clone(&estate), Arc::clone(&rules), config.clone());
        let mut expected = Output::default();
        for (index, batch) in batches.iter().enumerate() {
            for event in batch.iter().cloned() {
                single.push(event, &mut expected);
            }
            if let Some(at) = heartbeat(index, batch) {
                single.advance_to(at, &mut expected);
            }
        }
        single.flush(&mut expected);

        let mut batched = Engine::new(Arc::clone(&estate), rules, config);
        let mut found = Output::default();
        for (index, batch) in batches.iter().enumerate() {
            let mut events = batch.clone();
            batched.push_batch(&mut events, &mut found);
            prop_assert!(events.is_empty());
            if let Some(at) = heartbeat(index, batch) {
                batched.advance_to(at, &mut found);
            }
        }
        batched.flush(&mut found);

        let lines = |out: &Output| -> Vec<String> {
            out.findings.iter().map(|f| serde_json::to_string(f).unwrap()).collect()
        };
        prop_assert_eq!(lines(&found), lines(&expected));
        prop_assert_eq!(&found.events, &expected.events);
        prop_assert_eq!(batched.counters(), single.counters());
        prop_assert_eq!(single.buffered(), 0);
        prop_assert_eq!(batched.buffered(), 0);
    }

    #[test]
    fn an_event_sent_twice_counts_once_whatever_the_order_and_batches(
        specs in proptest::collection::vec(event_strategy(), 1..200),
        repeated in proptest::collection::btree_set(0usize..200, 0..20),
        delays in proptest::collection::vec(0i64..LATENESS_MS / 2, 1..50),
        batch in 1usize..64,
    ) {
        let estate = estate();
        let rules = rules(true);
        let events = make_events(&specs);
        let mut once = Engine::new(Arc::clone(&estate), Arc::clone(&rules), config(LATENESS_MS));
        let expected = run(&mut once, shuffle_within_lateness(&events, &delays));

        let mut twice_input = events.clone();
        let repeats: Vec<Event> = repeated
            .iter()
            .filter_map(|index| events.get(*index).cloned())
            .collect();
        let repeat_count = repeats.len() as u64;
        twice_input.extend(repeats);
        let arrivals = shuffle_within_lateness(&twice_input, &delays);
        let mut twice = Engine::new(Arc::clone(&estate), rules, config(LATENESS_MS));
        let mut out = Output::default();
        for chunk in arrivals.chunks(batch) {
            twice.push_batch(&mut chunk.to_vec(), &mut out);
        }
        twice.flush(&mut out);
        let found: Vec<String> = out.findings.iter().map(|f| serde_json::to_string(f).unwrap()).collect();
        prop_assert_eq!(found, expected);
        prop_assert_eq!(twice.counters().duplicates, repeat_count);
        prop_assert_eq!(twice.counters().late, 0);
    }

    #[test]
    fn snapshot_restore_at_any_point_continues_identically(
        specs in proptest::collection::vec(event_strategy(), 1..250),
        cut in 0usize..250,
    ) {
        let estate = estate();
        let rules = rules(true);
        let events = make_events(&specs);
        let cut = cut.min(events.len());
        let mut whole = Engine::new(Arc::clone(&estate), Arc::clone(&rules), config(LATENESS_MS));
        let expected = run(&mut whole, events.clone());

        let mut first = Engine::new(Arc::clone(&estate), Arc::clone(&rules), config(LATENESS_MS));
        let mut out = Output::default();
        for event in events[..cut].iter().cloned() {
            first.push(event, &mut out);
        }
        let bytes = first.snapshot_bytes();
        drop(first);
        let mut second = Engine::new(Arc::clone(&estate), Arc::clone(&rules), config(LATENESS_MS));
        second.restore_bytes(&bytes).unwrap();
        for event in events[cut..].iter().cloned() {
            second.push(event, &mut out);
        }
        second.flush(&mut out);
        let found: Vec<String> = out.findings.iter().map(|f| serde_json::to_string(f).unwrap()).collect();
        prop_assert_eq!(found, expected);
    }

    /// The service's snapshots leave the waiting events in its log: restoring one and handing
    /// the log back from any position at or before the oldest waiting event continues as if
    /// nothing had stopped, with shuffled arrivals too.
    #[test]
    fn a_snapshot_without_the_buffer_resumes_from_the_log(
        specs in proptest::collection::vec(event_strategy(), 1..250),
        delays in proptest::collection::vec(0i64..LATENESS_MS / 2, 1..20),
        cut in 0usize..250,
        back in 0usize..250,
    ) {
        let estate = estate();
        let rules = rules(true);
        let events = shuffle_within_lateness(&make_events(&specs), &delays);
        let cut = cut.min(events.len());
        let mut whole = Engine::new(Arc::clone(&estate), Arc::clone(&rules), config(LATENESS_MS));
        let expected = run(&mut whole, events.clone());

        let mut first = Engine::new(Arc::clone(&estate), Arc::clone(&rules), config(LATENESS_MS));
        let mut out = Output::default();
        for event in events[..cut].iter().cloned() {
            first.push(event, &mut out);
        }
        let bytes = first.snapshot_bytes_without_buffer();
        let watermark = first.watermark();
        let counters = first.counters().clone();
        drop(first);
        // The first arrival still waiting bounds where the log may be read again from.
        let oldest = events[..cut]
            .iter()
            .position(|e| e.time > watermark)
            .unwrap_or(cut);
        let from = back.min(oldest);
        let mut second = Engine::new(Arc::clone(&estate), Arc::clone(&rules), config(LATENESS_MS));
        second.restore_bytes(&bytes).unwrap();
        for event in events[from..cut].iter().cloned() {
            second.push_resumed(event, &mut out);
        }
        prop_assert_eq!(second.counters(), &counters);
        for event in events[cut..].iter().cloned() {
            second.push(event, &mut out);
        }
        second.flush(&mut out);
        let found: Vec<String> = out.findings.iter().map(|f| serde_json::to_string(f).unwrap()).collect();
        prop_assert_eq!(found, expected);
    }
}

#[test]
fn random_streams_do_fire_rules() {
    // Guards the properties above against passing vacuously on streams where nothing fires.
    let specs: Vec<(u8, usize, usize, bool, i64)> = (0..400)
        .map(|i| {
            (
                (i % 12) as u8,
                i * 7,
                i * 13,
                i % 3 != 0,
                20_000 + (i as i64 * 7919) % 90_000,
            )
        })
        .collect();
    let findings = reference(&estate(), &make_events(&specs));
    let rules: std::collections::BTreeSet<String> = findings
        .iter()
        .map(|f| {
            serde_json::from_str::<serde_json::Value>(f).unwrap()["finding_info"]["analytic"]["uid"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(rules.len() >= 6, "only {rules:?} fired");
}

#[test]
fn a_late_event_is_flagged_evaluated_by_single_event_rules_and_changes_no_state() {
    let estate = estate();
    let mut engine = Engine::new(Arc::clone(&estate), rules(true), config(60_000));
    let mut out = Output::default();
    let mut late = Event::new(
        "late-1",
        Ts(START_MS),
        "pacs",
        EventClass::PhysicalAccess,
        Activity::Granted,
    );
    late.subject.badge = Some("4415".into());
    late.door = Some("hq-main".into());
    let mut later = Event::new(
        "on-time",
        Ts(START_MS + 3_600_000),
        "pacs",
        EventClass::DeviceStatus,
        Activity::Online,
    );
    later.asset = Some("hq-pacs".into());
    engine.push(later, &mut out);
    engine.push(late, &mut out);
    assert_eq!(engine.counters().late, 1);
    let finding = out
        .findings
        .iter()
        .find(|f| f.rule_id() == "seam.inactive-person-credential")
        .unwrap();
    assert!(finding.unmapped.late);
    // The late badge did not place Erin anywhere.
    let erin = estate.person_idx("erin").unwrap();
    assert_eq!(
        engine.world().people[erin.index()]
            .presence
            .view(Ts(START_MS)),
        None
    );
}

#[test]
fn a_deadline_beyond_the_end_of_input_does_not_fire() {
    let estate = estate();
    let mut engine = Engine::new(Arc::clone(&estate), rules(true), config(0));
    let mut out = Output::default();
    let mut granted = Event::new(
        "g",
        Ts(START_MS),
        "pacs",
        EventClass::PhysicalAccess,
        Activity::Granted,
    );
    granted.subject.badge = Some("4411".into());
    granted.door = Some("hq-office-door".into());
    engine.push(granted, &mut out);
    engine.flush(&mut out);
    assert!(
        out.findings
            .iter()
            .all(|f| f.rule_id() != "seam.badge-granted-nobody-entered")
    );
    // The window is still open in the snapshot; a heartbeat past the deadline fires it.
    let snapshot = engine.snapshot_bytes();
    let mut resumed = Engine::new(Arc::clone(&estate), rules(true), config(0));
    resumed.restore_bytes(&snapshot).unwrap();
    resumed.advance_to(Ts(START_MS + 31_000), &mut out);
    assert_eq!(
        out.findings
            .iter()
            .filter(|f| f.rule_id() == "seam.badge-granted-nobody-entered")
            .count(),
        1
    );
}

#[test]
fn snapshots_are_byte_identical_whatever_the_hash_seeds() {
    // The engine's maps hash with per-instance random seeds; snapshots are written sorted, so
    // two engines fed the same stream write the same bytes, and a restored engine writes back
    // exactly what it read.
    let specs: Vec<(u8, usize, usize, bool, i64)> = (0..300)
        .map(|i| {
            (
                (i % 12) as u8,
                i * 7,
                i * 13,
                i % 4 != 0,
                5_000 + (i as i64 * 4099) % 60_000,
            )
        })
        .collect();
    let estate = estate();
    let rules = rules(true);
    let events = make_events(&specs);
    let mut snapshots = Vec::new();
    for _ in 0..2 {
        let mut engine = Engine::new(Arc::clone(&estate), Arc::clone(&rules), config(LATENESS_MS));
        let mut out = Output::default();
        for event in events.iter().cloned() {
            engine.push(event, &mut out);
        }
        snapshots.push(engine.snapshot_bytes());
    }
    assert_eq!(snapshots[0], snapshots[1]);
    let snapshot: serde_json::Value = serde_json::from_slice(&snapshots[0]).unwrap();
    let learned = snapshot["world"]["identity"]["learned_macs"]
        .as_object()
        .unwrap();
    assert!(
        learned.len() >= 2,
        "the stream should teach several bindings"
    );
    assert!(
        snapshot["world"]["zones"]
            .as_array()
            .unwrap()
            .iter()
            .any(|zone| {
                zone["placed"]
                    .as_array()
                    .is_some_and(|placed| placed.len() >= 2)
            })
    );
    let mut restored = Engine::new(Arc::clone(&estate), Arc::clone(&rules), config(LATENESS_MS));
    restored.restore_bytes(&snapshots[0]).unwrap();
    assert_eq!(restored.snapshot_bytes(), snapshots[0]);
}

/// A badge granted at the office door: with nobody going through, the door rule's deadline
/// (30 s) makes a finding.
fn granted_at_office(uid: &str, time: i64, observed: Option<i64>) -> Event {
    let mut granted = Event::new(
        uid,
        Ts(time),
        "pacs",
        EventClass::PhysicalAccess,
        Activity::Granted,
    );
    granted.subject.badge = Some("4411".into());
    granted.door = Some("hq-office-door".into());
    granted.observed = observed.map(Ts);
    granted
}

fn heartbeat_event(uid: &str, source: &str, time: i64, observed: Option<i64>) -> Event {
    let mut event = Event::new(
        uid,
        Ts(time),
        source,
        EventClass::DeviceStatus,
        Activity::Online,
    );
    event.asset = Some("hq-pacs".into());
    event.observed = observed.map(Ts);
    event
}

fn count_rule(out: &Output, rule: &str) -> usize {
    out.findings.iter().filter(|f| f.rule_id() == rule).count()
}

#[test]
fn a_forward_dated_event_moves_no_watermark_and_the_attack_after_it_is_seen() {
    // A source's clock (or a forged record) six days ahead, received now: before the defence it
    // moved the watermark six days on, and every real event after it was late, so the badge
    // with nobody entering gave no finding.
    let estate = estate();
    let mut engine = Engine::new(Arc::clone(&estate), rules(true), config(60_000));
    let mut out = Output::default();
    let now = START_MS;
    engine.push(heartbeat_event("h1", "bms", now, Some(now)), &mut out);
    let six_days = 6 * 24 * 3_600_000;
    engine.push(
        heartbeat_event("forged", "okta", now + six_days, Some(now + 1_000)),
        &mut out,
    );
    engine.push(
        heartbeat_event("forged-2", "okta", now + six_days + 5, Some(now + 2_000)),
        &mut out,
    );
    assert_eq!(engine.counters().ahead, 2);
    assert!(
        engine.watermark() < Ts(now + 60_000),
        "{:?}",
        engine.watermark()
    );
    // One clock-skew finding for the episode, with the offset measured.
    assert_eq!(count_rule(&out, seam_engine::CLOCK_SKEW_RULE), 1);
    let skew = out
        .findings
        .iter()
        .find(|f| f.rule_id() == seam_engine::CLOCK_SKEW_RULE)
        .unwrap();
    let json = serde_json::to_value(skew).unwrap();
    let text = json.to_string();
    assert!(text.contains("\"offset_ms\":\"518399000\""), "{text}");
    assert!(text.contains("5 d 23 h ahead"), "{text}");
    // The attack right after is on time and correlated.
    engine.push(
        granted_at_office("attack", now + 10_000, Some(now + 10_100)),
        &mut out,
    );
    assert_eq!(engine.counters().late, 0);
    engine.advance_to(Ts(now + 45_000), &mut out);
    assert_eq!(count_rule(&out, "seam.badge-granted-nobody-entered"), 1);
    // It holds across a snapshot: the restored engine raises no second skew finding and
    // keeps the watermark.
    let snapshot = engine.snapshot_bytes();
    let mut resumed = Engine::new(Arc::clone(&estate), rules(true), config(60_000));
    resumed.restore_bytes(&snapshot).unwrap();
    let mut again = Output::default();
    resumed.push(
        heartbeat_event("forged-3", "okta", now + six_days + 9, Some(now + 50_000)),
        &mut again,
    );
    assert_eq!(count_rule(&again, seam_engine::CLOCK_SKEW_RULE), 0);
    assert_eq!(resumed.counters().ahead, 3);
    assert!(resumed.watermark() < Ts(now + 60_000));
}

#[test]
fn a_source_delivering_beyond_its_bound_raises_one_behind_finding_per_episode() {
    let estate = estate();
    let mut config = config(60_000);
    config
        .source_max_delay_ms
        .insert("pacs-export".into(), 2 * 3_600_000);
    let mut engine = Engine::new(Arc::clone(&estate), rules(true), config);
    let mut out = Output::default();
    let now = START_MS + 5 * 3_600_000;
    // An hourly export 90 minutes behind: within its declared bound, quiet.
    engine.push(
        heartbeat_event("x1", "pacs-export", now - 90 * 60_000, Some(now)),
        &mut out,
    );
    assert_eq!(count_rule(&out, seam_engine::CLOCK_SKEW_RULE), 0);
    // A live source two hours behind its receive time: over the default hour, reported once.
    engine.push(
        heartbeat_event("l1", "bms", now - 2 * 3_600_000, Some(now)),
        &mut out,
    );
    engine.push(
        heartbeat_event("l2", "bms", now - 2 * 3_600_000 + 10, Some(now + 10)),
        &mut out,
    );
    assert_eq!(count_rule(&out, seam_engine::CLOCK_SKEW_RULE), 1);
    let text = serde_json::to_value(&out.findings[0]).unwrap().to_string();
    assert!(text.contains("\"direction\":\"behind\""), "{text}");
    assert!(text.contains("2 h 0 min before"), "{text}");
}

#[test]
fn a_source_declared_slow_is_waited_for_and_its_late_events_are_ordered() {
    // An hourly export: its events arrive up to an hour after their time. Declared, they are
    // correlated in order; undeclared, they are late.
    let estate = estate();
    let hour = 3_600_000;
    let run = |declared: bool| {
        let mut config = config(500);
        config.idle_source_ms = 15 * 60_000;
        if declared {
            config
                .source_max_delay_ms
                .insert("pacs-export".into(), hour);
            config.source_lateness_ms.insert("pacs-export".into(), hour);
        }
        let mut engine = Engine::new(Arc::clone(&estate), rules(true), config);
        let mut out = Output::default();
        // The live source sends every minute for 55 minutes, the clock ticking with it.
        for minute in 0..55 {
            let now = START_MS + minute * 60_000;
            engine.push(
                heartbeat_event(&format!("live-{minute}"), "bms", now, Some(now)),
                &mut out,
            );
            engine.clock(Ts(now), &mut out);
        }
        // Then the export arrives, with a badge from minute five.
        let now = START_MS + 55 * 60_000;
        engine.push(
            granted_at_office("export-1", START_MS + 5 * 60_000, Some(now)),
            &mut out,
        );
        engine.clock(Ts(now), &mut out);
        (engine.counters().late, engine.watermark())
    };
    let (late, watermark) = run(true);
    assert_eq!(late, 0);
    assert!(watermark <= Ts(START_MS + 5 * 60_000), "{watermark:?}");
    let (late, _) = run(false);
    assert_eq!(late, 1);
}

#[test]
fn a_source_in_order_is_released_within_its_small_lateness() {
    let estate = estate();
    let mut engine = Engine::new(Arc::clone(&estate), rules(true), config(500));
    let mut out = Output::default();
    let now = START_MS;
    engine.push(granted_at_office("g", now, Some(now)), &mut out);
    // Half a second of wall clock later the event is released; the door's deadline (30 s)
    // fires 30.5 s later, not two minutes.
    engine.clock(Ts(now + 600), &mut out);
    assert_eq!(engine.buffered(), 0);
    engine.clock(Ts(now + 31_000), &mut out);
    assert_eq!(count_rule(&out, "seam.badge-granted-nobody-entered"), 1);
}

#[test]
fn a_quiet_weekend_in_a_replayed_file_is_not_taken_for_a_wrong_clock() {
    // Files replayed without receive times are not checked: a badge log's weekend gap, or a
    // source whose export covers a later period, cannot be told from a wrong clock there.
    let estate = estate();
    let mut engine = Engine::new(Arc::clone(&estate), rules(true), config(60_000));
    let mut out = Output::default();
    let hour = 3_600_000;
    engine.push(heartbeat_event("friday", "pacs", START_MS, None), &mut out);
    engine.push(
        heartbeat_event("monday", "pacs", START_MS + 60 * hour, None),
        &mut out,
    );
    engine.push(
        heartbeat_event("later", "bms", START_MS + 90 * hour, None),
        &mut out,
    );
    engine.flush(&mut out);
    assert_eq!(engine.counters().ahead, 0);
    assert_eq!(count_rule(&out, seam_engine::CLOCK_SKEW_RULE), 0);
}

/// The classes a cloud sign-in log yields (as the `okta` adapter declares them).
const SIGN_IN_CLASSES: &[EventClass] = &[
    EventClass::Authentication,
    EventClass::AccountChange,
    EventClass::EntityManagement,
    EventClass::ApiActivity,
];

/// `okta` declared slow (two minutes, its classes known); every other source in order.
fn lanes_config() -> EngineConfig {
    let mut config = config(500);
    config.source_lateness_ms.insert("okta".into(), LATENESS_MS);
    // Declared, so that it is waited for before its first event too.
    config
        .source_max_delay_ms
        .insert("okta".into(), LATENESS_MS);
    config
        .source_classes
        .insert("okta".into(), SIGN_IN_CLASSES.to_vec());
    config
}

/// The random stream with the sign-in classes coming from `okta` and nothing else from it;
/// arriving in order, but `okta`'s events each up to a minute late.
fn with_a_slow_sign_in_log(events: Vec<Event>, delays: &[i64]) -> (Vec<Event>, Vec<Event>) {
    let mut events = events;
    for event in &mut events {
        event.source = if SIGN_IN_CLASSES.contains(&event.class) {
            "okta".into()
        } else if event.source == "okta" {
            "pacs".into()
        } else {
            event.source.clone()
        };
    }
    let mut arrival: Vec<(i64, usize)> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let delay = if e.source == "okta" {
                delays[i % delays.len()]
            } else {
                0
            };
            (e.time.millis() + delay, i)
        })
        .collect();
    arrival.sort();
    let arrived = arrival.iter().map(|(_, i)| events[*i].clone()).collect();
    (events, arrived)
}

fn sorted(mut lines: Vec<String>) -> Vec<String> {
    lines.sort();
    lines
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn lanes_raise_exactly_what_one_engine_waiting_for_the_slowest_source_raises(
        specs in proptest::collection::vec(event_strategy(), 1..250),
        delays in proptest::collection::vec(0i64..LATENESS_MS / 2, 1..50),
    ) {
        let estate = estate();
        let (events, arrived) = with_a_slow_sign_in_log(make_events(&specs), &delays);
        let expected = reference(&estate, &events);
        let mut engine = Engine::new(Arc::clone(&estate), rules(true), lanes_config());
        prop_assert!(engine.fast_lane_rules().is_some());
        let found = run(&mut engine, arrived);
        prop_assert_eq!(sorted(found), sorted(expected));
        prop_assert_eq!(engine.counters().late, 0);
    }

    #[test]
    fn lanes_resume_from_a_snapshot_without_raising_anything_twice(
        specs in proptest::collection::vec(event_strategy(), 1..200),
        delays in proptest::collection::vec(0i64..LATENESS_MS / 2, 1..50),
        cut in 0usize..200,
    ) {
        let estate = estate();
        let (_, arrived) = with_a_slow_sign_in_log(make_events(&specs), &delays);
        let mut whole = Engine::new(Arc::clone(&estate), rules(true), lanes_config());
        let expected = run(&mut whole, arrived.clone());
        // Stop after `cut` arrivals; restart from the snapshot and the log from the start.
        let cut = cut.min(arrived.len());
        let mut first = Engine::new(Arc::clone(&estate), rules(true), lanes_config());
        let mut out = Output::default();
        for event in arrived.iter().take(cut) {
            first.push(event.clone(), &mut out);
        }
        let snapshot = first.snapshot_bytes_without_buffer();
        let mut second = Engine::new(Arc::clone(&estate), rules(true), lanes_config());
        second.restore_bytes(&snapshot).unwrap();
        for event in arrived.iter().take(cut) {
            second.push_resumed(event.clone(), &mut out);
        }
        for event in arrived.iter().skip(cut) {
            second.push(event.clone(), &mut out);
        }
        second.flush(&mut out);
        let found: Vec<String> = out
            .findings
            .iter()
            .map(|f| serde_json::to_string(f).unwrap())
            .collect();
        prop_assert_eq!(sorted(found), sorted(expected));
    }
}

#[test]
fn a_rule_that_reads_no_slow_source_is_not_held_back_by_it() {
    // A badge nobody walks through, while a sign-in log allowed two minutes is connected: the
    // door rule reads only the door, so it fires half a minute after the badge, not two
    // minutes later; a rule on sign-ins still waits for them.
    let estate = estate();
    let door_rule = "seam.badge-granted-nobody-entered";
    let run = |config: EngineConfig| {
        let mut engine = Engine::new(Arc::clone(&estate), rules(true), config);
        let mut out = Output::default();
        let now = START_MS;
        let mut signin = Event::new(
            "s1",
            Ts(now - 1_000),
            "okta",
            EventClass::Authentication,
            Activity::Logon,
        );
        signin.subject.user = Some("alice@example.com".into());
        signin.observed = Some(Ts(now));
        engine.push(signin, &mut out);
        engine.push(granted_at_office("g", now, Some(now)), &mut out);
        engine.clock(Ts(now + 31_000), &mut out);
        (count_rule(&out, door_rule), engine)
    };
    let (fired, engine) = run(lanes_config());
    assert_eq!(fired, 1);
    let fast = engine.fast_lane_rules().unwrap();
    assert!(fast.contains(&door_rule), "{fast:?}");
    assert!(!fast.contains(&"seam.impossible-travel"), "{fast:?}");
    // Undeclared classes: the sign-in log could feed anything, so everything waits for it.
    let mut undeclared = lanes_config();
    undeclared.source_classes.clear();
    let (fired, engine) = run(undeclared);
    assert_eq!(fired, 0);
    assert!(engine.fast_lane_rules().is_none());
}

/// A small estate: one site, a lobby and an office whose only door has no position switch but
/// a doorway counter on it (reporting the office's head count), and one person.
fn counter_estate() -> Arc<Estate> {
    let sites = r#"
[[site]]
id = "s"
name = "Site"
timezone = "UTC"
lat = 52.0
lon = 4.0

[[zone]]
id = "s-lobby"
site = "s"
name = "Lobby"
kind = "lobby"
sensitivity = "low"

[[zone]]
id = "s-office"
site = "s"
name = "Office"
kind = "office"
sensitivity = "medium"

[[door]]
id = "s-main"
site = "s"
from = "outside"
to = "s-lobby"

[[door]]
id = "s-office-door"
site = "s"
from = "s-lobby"
to = "s-office"
"#;
    let assets = r#"
[[asset]]
id = "s-office-counter"
kind = "sensor"
zone = "s-office"
sensor = { kind = "doorway_counter", door = "s-office-door", latency_secs = 2 }
"#;
    let people = r#"
[[person]]
id = "ana"
name = "Ana"
kind = "employee"
status = [{ status = "active", since = "2024-01-01T00:00:00Z" }]
home_site = "s"
identifiers = [{ kind = "badge", value = "100" }]
"#;
    let files = [
        ("sites.toml", sites),
        ("assets.toml", assets),
        ("people.toml", people),
    ]
    .iter()
    .map(|(path, text)| seam_estate::EstateFile {
        path: (*path).into(),
        text: (*text).into(),
    })
    .collect::<Vec<_>>();
    Arc::new(Estate::from_files(&files).unwrap())
}

fn office_count(uid: &str, time: i64, count: i64) -> Event {
    let mut event = Event::new(uid, Ts(time), "bms", EventClass::Occupancy, Activity::Count);
    event.zone = Some("s-office".into());
    event.count = Some(count);
    event
}

#[test]
fn a_doorway_counter_that_never_reported_arms_nothing_one_that_reports_does() {
    // A counter declared on the door but silent (dead, unplugged, never wired to Seam) cannot
    // see a passage: a badge there must not become "nobody went through".
    let estate = counter_estate();
    let run = |counted_before: bool| {
        let mut engine = Engine::new(Arc::clone(&estate), rules(true), config(500));
        let mut out = Output::default();
        let now = START_MS;
        if counted_before {
            engine.push(office_count("c0", now - 3_600_000, 0), &mut out);
        }
        let mut granted = Event::new(
            "g",
            Ts(now),
            "pacs",
            EventClass::PhysicalAccess,
            Activity::Granted,
        );
        granted.subject.badge = Some("100".into());
        granted.door = Some("s-office-door".into());
        engine.push(granted, &mut out);
        engine.clock(Ts(now + 60_000), &mut out);
        count_rule(&out, "seam.badge-granted-nobody-entered")
    };
    assert_eq!(run(false), 0, "a counter that never reported");
    assert_eq!(
        run(true),
        1,
        "a counter that reports, and counted nobody in"
    );
}
