//! The behaviour every [`Lifecycle`] store must show: subject access, erasure, retention.
//!
//! Two people's records sit side by side in every check: Alice's are found and erased, Bob's
//! must come through unchanged.

use std::collections::BTreeMap;

use seam_model::Ts;

use crate::{
    DeadLetter, DocumentWrite, ERASED_FINDING_UID_PREFIX, ErasureReport, FindingFilter, Lifecycle,
    RETENTION_REASON, RetentionReport, RetentionRequest, Snapshot, StoreError, StoredEvent,
    StoredFinding, Unresolved, tombstone_json,
};

/// Runs every check, each on a fresh, empty store from `make`.
pub fn lifecycle_suite(make: impl Fn() -> Box<dyn Lifecycle>) {
    let checks: &[(&str, Check)] = &[
        (
            "a needle under three bytes is refused",
            short_needles_are_refused,
        ),
        (
            "subject records hold every kind of record with a needle, and nothing else",
            subject_records_find_every_kind,
        ),
        (
            "subject records are bounded and say when they were cut",
            subject_records_are_bounded,
        ),
        (
            "erasure leaves tombstones at the same positions and keeps duplicates out",
            erasure_tombstones_events_in_place,
        ),
        (
            "erasure keeps finding rows as tombstones and deletes the other rows",
            erasure_of_rows,
        ),
        ("erasing again changes nothing", erasure_is_idempotent),
        (
            "erasure refuses a reason or needle it could not honour",
            erasure_refuses_what_it_cannot_honour,
        ),
        (
            "retention tombstones expired events by class and deletes old rows",
            retention_by_class,
        ),
        (
            "a retention dry run counts what would go and changes nothing",
            retention_dry_run,
        ),
        (
            "a class with two retentions is refused",
            retention_refuses_a_class_twice,
        ),
    ];
    for &(name, check) in checks {
        let mut store = make();
        println!("lifecycle conformance: {name}");
        check(store.as_mut());
    }
}

type Check = fn(&mut dyn Lifecycle);

const ALICE: &str = "alice.liddell@example.org";
const ALICE_BADGE: &str = "B-774411";
const ALICE_LOGIN: &str = r"CORP\aliddell";
const BOB: &str = "bob.builder@example.org";
const REASON: &str = "GDPR art. 17 request 2024-31";

fn alice() -> Vec<String> {
    [ALICE, ALICE_BADGE, ALICE_LOGIN]
        .map(str::to_owned)
        .to_vec()
}

/// Escapes a JSON string's content the way serde_json does, for the events below.
fn quoted(text: &str) -> String {
    crate::json_escaped(text)
}

#[derive(Clone)]
struct Event {
    uid: String,
    time: i64,
    class: String,
    person: Option<String>,
    json: String,
}

impl Event {
    fn new(uid: &str, time: i64, class: &str, person: Option<&str>, detail: &str) -> Event {
        Event {
            uid: uid.to_owned(),
            time,
            class: class.to_owned(),
            person: person.map(str::to_owned),
            json: format!(
                r#"{{"uid":"{}","detail":"{}"}}"#,
                quoted(uid),
                quoted(detail)
            ),
        }
    }

    fn stored(&self) -> StoredEvent<'_> {
        StoredEvent {
            uid: &self.uid,
            time: Ts::from_millis(self.time),
            observed: Ts::from_millis(self.time + 7),
            source: "pacs",
            class: &self.class,
            person: self.person.as_deref(),
            late: self.time % 2 == 1,
            json: &self.json,
        }
    }
}

fn stored(events: &[Event]) -> Vec<StoredEvent<'_>> {
    events.iter().map(Event::stored).collect()
}

fn read_all(store: &dyn Lifecycle) -> Vec<String> {
    store.read_events(0, usize::MAX).expect("read events").0
}

fn finding(uid: &str, time: i64, person: Option<&str>, json: &str) -> StoredFinding {
    StoredFinding {
        uid: uid.to_owned(),
        rule: "tailgating".to_owned(),
        time: Ts::from_millis(time),
        person: person.map(str::to_owned),
        severity: "high".to_owned(),
        json: json.to_owned(),
    }
}

fn letter(position: &str, observed: i64, raw: &[u8]) -> DeadLetter {
    DeadLetter {
        source: "syslog".to_owned(),
        position: position.to_owned(),
        observed: Ts::from_millis(observed),
        reason: "no time field".to_owned(),
        raw: raw.to_vec(),
    }
}

fn unresolved(uid: &str, time: i64, identifiers: &str) -> Unresolved {
    Unresolved {
        event_uid: uid.to_owned(),
        time: Ts::from_millis(time),
        source: "vpn".to_owned(),
        identifiers: identifiers.to_owned(),
    }
}

fn document(id: &str, json: &str) -> DocumentWrite {
    DocumentWrite {
        collection: "scim-users".to_owned(),
        id: id.to_owned(),
        json: Some(json.to_owned()),
    }
}

fn snapshot(log_position: u64, state: &str) -> Snapshot {
    Snapshot {
        positions: BTreeMap::from([("pacs".to_owned(), log_position.to_string())]),
        log_position,
        state: state.as_bytes().to_vec(),
    }
}

/// Alice's and Bob's records of every kind; returns the events in log order.
struct World {
    events: Vec<Event>,
    /// Positions of Alice's events.
    alices: Vec<u64>,
    bob_findings: Vec<StoredFinding>,
    bob_letters: Vec<DeadLetter>,
    bob_unresolved: Vec<Unresolved>,
    bob_documents: Vec<(String, String)>,
}

fn populate(store: &mut dyn Lifecycle) -> World {
    let events = vec![
        Event::new(
            "e-1",
            10,
            "access_granted",
            Some("bob"),
            &format!("badge of {BOB}"),
        ),
        Event::new(
            "e-2",
            11,
            "access_granted",
            Some("alice"),
            &format!("badge {ALICE_BADGE}"),
        ),
        Event::new(
            "e-3",
            12,
            "sign_in",
            None,
            &format!(r#"raw {{"user":"{}"}}"#, quoted(ALICE_LOGIN)),
        ),
        // The uid itself names Alice: only its digest may stay.
        Event::new(
            &format!("vpn-{ALICE}-1"),
            13,
            "sign_in",
            Some("alice"),
            "vpn up",
        ),
        Event::new("e-5", 14, "network_activity", Some("bob"), "flow 10.0.0.2"),
    ];
    store.append_events(&stored(&events[..3])).expect("append");
    store.commit().expect("commit");
    store.append_events(&stored(&events[3..])).expect("append");
    store
        .save_snapshot(&snapshot(5, &format!(r#"{{"people":["{BOB}"]}}"#)))
        .expect("snapshot");
    store
        .save_snapshot(&snapshot(
            5,
            &format!(r#"{{"people":["{BOB}","{ALICE}"]}}"#),
        ))
        .expect("snapshot");

    let bob_findings = vec![finding("f-bob", 20, Some("bob"), r#"{"who":"bob"}"#)];
    store
        .append_findings(&[
            bob_findings[0].clone(),
            finding(
                "f-alice",
                21,
                Some("alice"),
                &format!(r#"{{"badge":"{ALICE_BADGE}"}}"#),
            ),
            finding(&format!("f-{ALICE}"), 22, None, "{}"),
        ])
        .expect("findings");
    let bob_letters = vec![letter("1", 30, b"\xff\x00bob raw")];
    let mut alice_raw = b"\xfe\x00<13>".to_vec();
    alice_raw.extend_from_slice(ALICE.as_bytes());
    alice_raw.push(0xc3);
    store
        .add_dead_letters(&[bob_letters[0].clone(), letter("2", 31, &alice_raw)])
        .expect("letters");
    let bob_unresolved = vec![unresolved("u-1", 40, "mac=aa:bb:cc:00:11:22")];
    store
        .add_unresolved(&[
            bob_unresolved[0].clone(),
            unresolved("u-2", 41, &format!("username={ALICE_LOGIN}")),
        ])
        .expect("unresolved");
    let bob_documents = vec![("bob".to_owned(), format!(r#"{{"userName":"{BOB}"}}"#))];
    store
        .write_documents(&[
            document("bob", &bob_documents[0].1),
            document("alice", &format!(r#"{{"userName":"{ALICE}"}}"#)),
        ])
        .expect("documents");
    store.commit().expect("commit");
    World {
        events,
        alices: vec![1, 2, 3],
        bob_findings,
        bob_letters,
        bob_unresolved,
        bob_documents,
    }
}

fn short_needles_are_refused(store: &mut dyn Lifecycle) {
    populate(store);
    let needles = vec![ALICE.to_owned(), "ab".to_owned()];
    let result = store.subject_records(&needles, 10);
    assert!(
        matches!(
            result,
            Err(StoreError::NeedleTooShort {
                index: 1,
                bytes: 2,
                ..
            })
        ),
        "got {result:?}"
    );
    let before = read_all(store);
    let result = store.erase_subject(&needles, REASON);
    assert!(
        matches!(result, Err(StoreError::NeedleTooShort { index: 1, .. })),
        "got {result:?}"
    );
    assert_eq!(read_all(store), before, "a refused erasure changes nothing");
    assert_eq!(
        store.subject_records(&[], 10).expect("no needles"),
        crate::SubjectRecords::default()
    );
}

fn subject_records_find_every_kind(store: &mut dyn Lifecycle) {
    let world = populate(store);
    // One more of Alice's events, not committed: reads see it.
    let pending = Event::new("e-6", 15, "sign_in", None, &format!("mail to {ALICE}"));
    store.append_events(&[pending.stored()]).expect("append");

    let found = store
        .subject_records(&alice(), 100)
        .expect("subject records");
    assert!(!found.truncated);
    let positions: Vec<u64> = found.events.iter().map(|event| event.position).collect();
    assert_eq!(
        positions,
        [1, 2, 3, 5],
        "by position, the open block's included"
    );
    let second = &found.events[0];
    assert_eq!(
        (second.uid.as_str(), second.time, second.observed),
        ("e-2", Ts::from_millis(11), Ts::from_millis(18))
    );
    assert_eq!(
        (second.source.as_str(), second.class.as_str()),
        ("pacs", "access_granted")
    );
    assert_eq!(
        (second.person.as_deref(), second.late, second.erased),
        (Some("alice"), true, false)
    );
    assert_eq!(second.json, world.events[1].json);
    assert_eq!(found.events[1].json, world.events[2].json, "escaped login");
    assert_eq!(
        found.events[2].uid, world.events[3].uid,
        "needle in the uid"
    );

    let finding_uids: Vec<&str> = found.findings.iter().map(|f| f.uid.as_str()).collect();
    assert_eq!(finding_uids, ["f-alice", &format!("f-{ALICE}")]);
    assert_eq!(found.dead_letters.len(), 1);
    assert_eq!(found.dead_letters[0].position, "2");
    assert!(
        found.dead_letters[0].raw.starts_with(b"\xfe\x00<13>"),
        "raw bytes exactly"
    );
    let unresolved_uids: Vec<&str> = found
        .unresolved
        .iter()
        .map(|item| item.event_uid.as_str())
        .collect();
    assert_eq!(unresolved_uids, ["u-2"]);
    assert_eq!(found.documents.len(), 1);
    assert_eq!(
        (
            found.documents[0].collection.as_str(),
            found.documents[0].id.as_str()
        ),
        ("scim-users", "alice")
    );
    assert_eq!(found.snapshots, 1);

    let bob = store
        .subject_records(&[BOB.to_owned()], 100)
        .expect("subject records");
    assert_eq!(
        bob.events
            .iter()
            .map(|event| event.position)
            .collect::<Vec<_>>(),
        [0]
    );
    assert_eq!(bob.findings, []);
    assert_eq!(bob.snapshots, 2);
    let nobody = store
        .subject_records(&["Alice.Liddell".to_owned()], 100)
        .expect("subject records");
    assert!(
        nobody.events.is_empty() && nobody.documents.is_empty(),
        "case-sensitive"
    );
}

fn subject_records_are_bounded(store: &mut dyn Lifecycle) {
    populate(store);
    let cut = store.subject_records(&alice(), 2).expect("subject records");
    assert!(cut.truncated);
    assert_eq!(cut.events.len(), 2);
    assert_eq!(cut.findings.len(), 2);
    let whole = store.subject_records(&alice(), 3).expect("subject records");
    assert!(!whole.truncated, "exactly at the limit is not cut");
    let none = store.subject_records(&alice(), 0).expect("subject records");
    assert!(none.truncated && none.events.is_empty());
}

fn erasure_tombstones_events_in_place(store: &mut dyn Lifecycle) {
    let world = populate(store);
    let end = store.log_position().expect("log position");
    let counts = store.counts().expect("counts");
    let report = store.erase_subject(&alice(), REASON).expect("erase");
    assert_eq!((report.events, report.digested_uids), (3, 1), "{report:?}");

    assert_eq!(store.log_position().expect("log position"), end);
    assert_eq!(store.counts().expect("counts").events, counts.events);
    let tombstone = tombstone_json(REASON).expect("tombstone");
    let read = read_all(store);
    for (position, event) in world.events.iter().enumerate() {
        if world.alices.contains(&(position as u64)) {
            assert_eq!(read[position], tombstone, "position {position}");
        } else {
            assert_eq!(read[position], event.json, "position {position}");
        }
    }
    for position in 0..end {
        let (page, next) = store.read_events(position, 1).expect("read one");
        assert_eq!(
            (page.len(), next),
            (1, position + 1),
            "every position reads"
        );
    }

    let outcome = store
        .append_events(&stored(&world.events))
        .expect("append again");
    assert_eq!(
        (outcome.inserted, outcome.duplicates),
        (0, 5),
        "erased uids stay duplicates, the digested one too"
    );
    let found = store
        .subject_records(&alice(), 100)
        .expect("subject records");
    assert_eq!(
        found,
        crate::SubjectRecords::default(),
        "nothing of Alice is left"
    );
    let after = Event::new("e-after", 50, "sign_in", None, "later");
    assert_eq!(
        store
            .append_events(&[after.stored()])
            .expect("append")
            .inserted,
        1
    );
    store.commit().expect("commit");
    assert_eq!(read_all(store).last(), Some(&after.json));
}

fn erasure_of_rows(store: &mut dyn Lifecycle) {
    let world = populate(store);
    let counts = store.counts().expect("counts");
    let report = store.erase_subject(&alice(), REASON).expect("erase");
    assert_eq!(
        report,
        ErasureReport {
            events: 3,
            digested_uids: 1,
            findings: 2,
            dead_letters: 1,
            unresolved: 1,
            documents: 1,
            snapshots: 1,
        }
    );
    let tombstone = tombstone_json(REASON).expect("tombstone");
    let findings = store.findings(&FindingFilter::default()).expect("findings");
    assert_eq!(
        findings.len() as u64,
        counts.findings,
        "finding rows survive"
    );
    assert_eq!(findings[0], world.bob_findings[0]);
    assert_eq!(
        findings[1],
        StoredFinding {
            person: None,
            json: tombstone.clone(),
            ..finding("f-alice", 21, None, "")
        }
    );
    assert!(findings[2].uid.starts_with(ERASED_FINDING_UID_PREFIX));
    assert!(!findings[2].uid.contains(ALICE));
    assert_eq!(
        (findings[2].time, findings[2].json.as_str()),
        (Ts::from_millis(22), tombstone.as_str())
    );

    assert_eq!(
        store.dead_letters(10).expect("dead letters"),
        world.bob_letters
    );
    assert_eq!(
        store.unresolved(10).expect("unresolved"),
        world.bob_unresolved
    );
    assert_eq!(
        store.documents("scim-users").expect("documents"),
        world.bob_documents
    );
    let snapshots = store.snapshots().expect("snapshots");
    assert_eq!(snapshots.len(), 1);
    assert!(!String::from_utf8_lossy(&snapshots[0].state).contains(ALICE));
    assert_eq!(
        store.latest_snapshot().expect("latest"),
        Some(snapshots[0].clone()),
        "the older snapshot is the latest now"
    );
    let after = store.counts().expect("counts");
    assert_eq!(
        (
            after.events,
            after.findings,
            after.dead_letters,
            after.unresolved
        ),
        (
            counts.events,
            counts.findings,
            counts.dead_letters - 1,
            counts.unresolved - 1
        )
    );
}

fn erasure_is_idempotent(store: &mut dyn Lifecycle) {
    populate(store);
    store.erase_subject(&alice(), REASON).expect("erase");
    let read = read_all(store);
    let findings = store.findings(&FindingFilter::default()).expect("findings");
    assert_eq!(
        store.erase_subject(&alice(), REASON).expect("erase again"),
        ErasureReport::default()
    );
    assert_eq!(
        store
            .erase_subject(&alice(), "another reason")
            .expect("erase with another reason"),
        ErasureReport::default(),
        "tombstones hold no needle, whatever their reason"
    );
    assert_eq!(read_all(store), read);
    assert_eq!(
        store.findings(&FindingFilter::default()).expect("findings"),
        findings
    );
}

fn erasure_refuses_what_it_cannot_honour(store: &mut dyn Lifecycle) {
    populate(store);
    let before = read_all(store);
    let result = store.erase_subject(&alice(), &format!("request of {ALICE}"));
    assert!(
        matches!(result, Err(StoreError::InvalidRequest { .. })),
        "a reason naming the subject: {result:?}"
    );
    let result = store.erase_subject(&["erased".to_owned()], REASON);
    assert!(
        matches!(result, Err(StoreError::InvalidRequest { .. })),
        "a needle the tombstone spells: {result:?}"
    );
    let result = store.erase_subject(&alice(), "two\nlines");
    assert!(
        matches!(result, Err(StoreError::InvalidRequest { .. })),
        "{result:?}"
    );
    assert_eq!(read_all(store), before);
    assert_eq!(
        store
            .subject_records(&alice(), 10)
            .expect("subject records")
            .events
            .len(),
        3
    );
}

/// Events of three data classes and one unlisted, old and new, some not yet committed.
fn aged_events() -> Vec<Event> {
    let mut events = Vec::new();
    for (class, prefix) in [
        ("access_granted", "door"),
        ("sign_in", "login"),
        ("network_activity", "flow"),
        ("heartbeat", "tick"),
    ] {
        for time in [100, 200, 300] {
            events.push(Event::new(
                &format!("{prefix}-{time}"),
                time,
                class,
                Some("carol"),
                "x",
            ));
        }
    }
    events
}

fn retention_request() -> RetentionRequest {
    RetentionRequest {
        events_before: vec![
            (vec!["access_granted".to_owned()], Ts::from_millis(201)),
            (
                vec!["sign_in".to_owned(), "sign_out".to_owned()],
                Ts::from_millis(101),
            ),
        ],
        other_events_before: Some(Ts::from_millis(300)),
        findings_before: Some(Ts::from_millis(50)),
        dead_letters_before: Some(Ts::from_millis(60)),
        unresolved_before: Some(Ts::from_millis(70)),
    }
}

fn aged_rows(store: &mut dyn Lifecycle) {
    store
        .append_findings(&[
            finding("f-old", 49, Some("carol"), "{}"),
            finding("f-new", 50, Some("carol"), "{}"),
        ])
        .expect("findings");
    store
        .add_dead_letters(&[letter("1", 59, b"old"), letter("2", 60, b"new")])
        .expect("letters");
    store
        .add_unresolved(&[unresolved("u-old", 69, "x"), unresolved("u-new", 70, "y")])
        .expect("unresolved");
}

fn retention_by_class(store: &mut dyn Lifecycle) {
    let events = aged_events();
    store.append_events(&stored(&events[..6])).expect("append");
    store.commit().expect("commit");
    store.append_events(&stored(&events[6..])).expect("append");
    aged_rows(store);
    let end = store.log_position().expect("log position");

    let report = store.prune(&retention_request(), false).expect("prune");
    assert_eq!(
        report,
        RetentionReport {
            events: vec![2, 1],
            other_events: 4,
            findings: 1,
            dead_letters: 1,
            unresolved: 1,
            dry_run: false,
        }
    );
    assert_eq!(store.log_position().expect("log position"), end);
    let tombstone = tombstone_json(RETENTION_REASON).expect("tombstone");
    let expired = [
        "door-100",
        "door-200",
        "login-100",
        "flow-100",
        "flow-200",
        "tick-100",
        "tick-200",
    ];
    let read = read_all(store);
    for (event, json) in events.iter().zip(&read) {
        if expired.contains(&event.uid.as_str()) {
            assert_eq!(*json, tombstone, "{} expired", event.uid);
        } else {
            assert_eq!(*json, event.json, "{} kept", event.uid);
        }
    }
    let outcome = store.append_events(&stored(&events)).expect("append again");
    assert_eq!(outcome.inserted, 0, "expired events stay duplicates");
    let uids = |findings: Vec<StoredFinding>| -> Vec<String> {
        findings.into_iter().map(|finding| finding.uid).collect()
    };
    assert_eq!(
        uids(store.findings(&FindingFilter::default()).expect("findings")),
        ["f-new"]
    );
    assert_eq!(
        store.dead_letters(10).expect("dead letters")[0].position,
        "2"
    );
    assert_eq!(
        store.unresolved(10).expect("unresolved")[0].event_uid,
        "u-new"
    );
    assert_eq!(store.counts().expect("counts").dead_letters, 1);

    let again = store
        .prune(&retention_request(), false)
        .expect("prune again");
    assert_eq!(
        again,
        RetentionReport {
            events: vec![0, 0],
            dry_run: false,
            ..RetentionReport::default()
        },
        "nothing is left to expire"
    );
    assert_eq!(read_all(store), read);
}

fn retention_dry_run(store: &mut dyn Lifecycle) {
    let events = aged_events();
    store.append_events(&stored(&events[..6])).expect("append");
    store.commit().expect("commit");
    store.append_events(&stored(&events[6..])).expect("append");
    aged_rows(store);
    let read = read_all(store);
    let counts = store.counts().expect("counts");
    let findings = store.findings(&FindingFilter::default()).expect("findings");

    let dry = store.prune(&retention_request(), true).expect("dry run");
    assert!(dry.dry_run);
    assert_eq!(read_all(store), read, "a dry run changes no event");
    assert_eq!(store.counts().expect("counts"), counts);
    assert_eq!(
        store.findings(&FindingFilter::default()).expect("findings"),
        findings
    );
    let real = store.prune(&retention_request(), false).expect("prune");
    assert_eq!(
        dry,
        RetentionReport {
            dry_run: true,
            ..real
        },
        "the dry run counted what the run removed"
    );
    let nothing = store
        .prune(&RetentionRequest::default(), false)
        .expect("prune nothing");
    assert_eq!(nothing, RetentionReport::default());
}

fn retention_refuses_a_class_twice(store: &mut dyn Lifecycle) {
    let request = RetentionRequest {
        events_before: vec![
            (vec!["sign_in".to_owned()], Ts::from_millis(1)),
            (vec!["sign_in".to_owned()], Ts::from_millis(2)),
        ],
        ..RetentionRequest::default()
    };
    let result = store.prune(&request, true);
    assert!(
        matches!(result, Err(StoreError::InvalidRequest { .. })),
        "got {result:?}"
    );
}
