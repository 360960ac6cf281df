//! The behaviour every [`Store`] must show, as one suite each implementation's tests call.
//!
//! A failed check panics with what was expected, like any test assertion.
#![expect(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a test suite reports failure by panicking"
)]

use std::collections::BTreeMap;

use seam_model::Ts;

use crate::{
    DeadLetter, FindingFilter, Snapshot, Store, StoreError, StoredEvent, StoredFinding, Unresolved,
};

mod lifecycle;
mod workspace;

pub use lifecycle::lifecycle_suite;
pub use workspace::{WorkspaceStore, workspace_suite};

/// Runs every check, each on a fresh, empty store from `make`.
pub fn conformance_suite(make: impl Fn() -> Box<dyn Store>) {
    let checks: &[(&str, Check)] = &[
        ("a new store is empty", a_new_store_is_empty),
        (
            "events read back in append order, page by page",
            events_read_back_in_order,
        ),
        (
            "a duplicate event is a reported no-op",
            duplicate_events_are_no_ops,
        ),
        (
            "reads see appended events before and after commit",
            reads_see_uncommitted_events,
        ),
        (
            "a position past the end is refused",
            a_position_past_the_end_is_refused,
        ),
        (
            "an oversized batch is refused whole",
            an_oversized_batch_is_refused_whole,
        ),
        (
            "a duplicate finding is never inserted twice",
            duplicate_findings_are_ignored,
        ),
        (
            "findings are ordered by time then uid",
            findings_are_ordered,
        ),
        ("finding filters combine", finding_filters_combine),
        (
            "dead letters keep their raw bytes exactly",
            dead_letters_keep_raw_bytes,
        ),
        (
            "dead letters are measured per source and pruned by age",
            dead_letters_are_measured_and_pruned,
        ),
        (
            "unresolved events are listed by time and deduplicated",
            unresolved_events,
        ),
        ("a snapshot reads back as it was saved", snapshot_round_trip),
        ("only the latest snapshots are kept", snapshot_retention),
        (
            "a snapshot past the end of the log is refused",
            a_snapshot_past_the_log_is_refused,
        ),
        ("counts add up", counts_add_up),
        (
            "documents are kept, replaced and removed by collection and id",
            documents_round_trip,
        ),
    ];
    for &(name, check) in checks {
        let mut store = make();
        println!("store conformance: {name}");
        check(store.as_mut());
    }
}

type Check = fn(&mut dyn Store);

struct Event {
    uid: String,
    time: i64,
    person: Option<String>,
    json: String,
}

impl Event {
    fn new(uid: &str, time: i64) -> Event {
        Event {
            uid: uid.to_owned(),
            time,
            person: Some(format!("person-of-{uid}")),
            json: format!(r#"{{"uid":"{uid}","time":{time},"note":"é ✓"}}"#),
        }
    }

    fn stored(&self) -> StoredEvent<'_> {
        StoredEvent {
            uid: &self.uid,
            time: Ts::from_millis(self.time),
            observed: Ts::from_millis(self.time + 5),
            source: "badge-reader",
            class: "access_granted",
            person: self.person.as_deref(),
            late: self.time % 2 == 0,
            json: &self.json,
        }
    }
}

fn stored(events: &[Event]) -> Vec<StoredEvent<'_>> {
    events.iter().map(Event::stored).collect()
}

fn finding(uid: &str, rule: &str, time: i64, person: Option<&str>) -> StoredFinding {
    StoredFinding {
        uid: uid.to_owned(),
        rule: rule.to_owned(),
        time: Ts::from_millis(time),
        person: person.map(str::to_owned),
        severity: "high".to_owned(),
        json: format!(r#"{{"finding":"{uid}"}}"#),
    }
}

fn uids(findings: &[StoredFinding]) -> Vec<&str> {
    findings
        .iter()
        .map(|finding| finding.uid.as_str())
        .collect()
}

fn read_all(store: &dyn Store) -> Vec<String> {
    store.read_events(0, usize::MAX).expect("read events").0
}

fn a_new_store_is_empty(store: &mut dyn Store) {
    assert_eq!(store.counts().expect("counts"), crate::Counts::default());
    assert_eq!(store.log_position().expect("log position"), 0);
    assert_eq!(store.read_events(0, 10).expect("read events"), (vec![], 0));
    assert_eq!(store.latest_snapshot().expect("latest snapshot"), None);
    assert!(store.snapshots().expect("snapshots").is_empty());
    assert!(
        store
            .findings(&FindingFilter::default())
            .expect("findings")
            .is_empty()
    );
    assert!(store.dead_letters(10).expect("dead letters").is_empty());
    assert!(store.unresolved(10).expect("unresolved").is_empty());
    store.commit().expect("commit of nothing");
}

fn events_read_back_in_order(store: &mut dyn Store) {
    let events: Vec<Event> = (0..7)
        .map(|number| Event::new(&format!("evt-{number}"), 100 - number))
        .collect();
    let outcome = store.append_events(&stored(&events)).expect("append");
    assert_eq!((outcome.inserted, outcome.duplicates), (7, 0));
    store.commit().expect("commit");
    let expected: Vec<&str> = events.iter().map(|event| event.json.as_str()).collect();
    assert_eq!(read_all(store), expected, "append order, not time order");

    let mut position = 0;
    let mut paged = Vec::new();
    loop {
        let (page, next) = store.read_events(position, 3).expect("read a page");
        assert!(page.len() <= 3);
        if page.is_empty() {
            assert_eq!(next, position, "an empty page does not move");
            break;
        }
        assert!(next > position, "the next position moves forward");
        paged.extend(page);
        position = next;
    }
    assert_eq!(paged, expected);
    assert_eq!(position, store.log_position().expect("log position"));
    assert_eq!(store.read_events(0, 0).expect("read none"), (vec![], 0));
}

fn duplicate_events_are_no_ops(store: &mut dyn Store) {
    let a = Event::new("a", 1);
    let b = Event::new("b", 2);
    let c = Event::new("c", 3);
    let mut a_again = Event::new("a", 9);
    a_again.json = r#"{"uid":"a","changed":true}"#.to_owned();

    let outcome = store
        .append_events(&[a.stored(), b.stored(), a_again.stored()])
        .expect("append");
    assert_eq!(
        (
            outcome.inserted,
            outcome.duplicates,
            outcome.duplicate_indices
        ),
        (2, 1, vec![2])
    );
    let position = store.log_position().expect("log position");
    store.commit().expect("commit");

    let outcome = store
        .append_events(&[b.stored(), c.stored(), a_again.stored()])
        .expect("append");
    assert_eq!(
        (
            outcome.inserted,
            outcome.duplicates,
            outcome.duplicate_indices
        ),
        (1, 2, vec![0, 2])
    );
    assert_eq!(
        read_all(store),
        [a.json.as_str(), b.json.as_str(), c.json.as_str()],
        "the first copy of a uid stays"
    );

    let outcome = store
        .append_events(&[a.stored(), b.stored()])
        .expect("append");
    assert_eq!((outcome.inserted, outcome.duplicates), (0, 2));
    let (after_first_batch, _) = store.read_events(position, 10).expect("read");
    assert_eq!(after_first_batch, [c.json.as_str()]);
    assert_eq!(store.counts().expect("counts").events, 3);
}

fn reads_see_uncommitted_events(store: &mut dyn Store) {
    let first = Event::new("first", 1);
    let second = Event::new("second", 2);
    store.append_events(&[first.stored()]).expect("append");
    assert_eq!(read_all(store), [first.json.as_str()]);
    store.commit().expect("commit");
    store.append_events(&[second.stored()]).expect("append");
    assert_eq!(read_all(store), [first.json.as_str(), second.json.as_str()]);
    assert_eq!(store.counts().expect("counts").events, 2);
    store.commit().expect("commit");
    assert_eq!(read_all(store), [first.json.as_str(), second.json.as_str()]);
}

fn a_position_past_the_end_is_refused(store: &mut dyn Store) {
    store
        .append_events(&[Event::new("only", 1).stored()])
        .expect("append");
    let end = store.log_position().expect("log position");
    assert_eq!(
        store.read_events(end, 10).expect("read at the end"),
        (vec![], end)
    );
    let result = store.read_events(end + 1, 10);
    assert!(
        matches!(result, Err(StoreError::InvalidPosition { .. })),
        "got {result:?}"
    );
}

fn an_oversized_batch_is_refused_whole(store: &mut dyn Store) {
    let fine = Event::new("fine", 1);
    let mut huge = Event::new("huge", 2);
    huge.json = "x".repeat(64 * 1024 * 1024);
    let result = store.append_events(&[fine.stored(), huge.stored()]);
    assert!(
        matches!(result, Err(StoreError::EventTooLarge { .. })),
        "got {result:?}"
    );
    assert!(
        read_all(store).is_empty(),
        "nothing of the refused batch was stored"
    );
    let outcome = store.append_events(&[fine.stored()]).expect("append");
    assert_eq!(
        outcome.inserted, 1,
        "the refused event's batch left no uid behind"
    );
}

fn duplicate_findings_are_ignored(store: &mut dyn Store) {
    let first = finding("f1", "rule-a", 10, Some("alice"));
    let second = finding("f2", "rule-a", 20, None);
    assert_eq!(
        store
            .append_findings(&[first.clone(), second.clone(), first.clone()])
            .expect("append"),
        2
    );
    store.commit().expect("commit");
    let mut changed = first.clone();
    changed.json = r#"{"finding":"changed"}"#.to_owned();
    changed.severity = "low".to_owned();
    assert_eq!(
        store
            .append_findings(&[changed, second.clone()])
            .expect("append"),
        0
    );
    assert_eq!(
        store.findings(&FindingFilter::default()).expect("findings"),
        [first, second]
    );
    assert_eq!(store.append_findings(&[]).expect("append nothing"), 0);
}

fn findings_are_ordered(store: &mut dyn Store) {
    let findings = [
        finding("c", "r", 30, None),
        finding("b", "r", 10, None),
        finding("z", "r", 20, None),
        finding("a", "r", 10, None),
        finding("m", "r", -5, None),
    ];
    store.append_findings(&findings).expect("append");
    let listed = store.findings(&FindingFilter::default()).expect("findings");
    assert_eq!(uids(&listed), ["m", "a", "b", "z", "c"]);
}

fn finding_filters_combine(store: &mut dyn Store) {
    store
        .append_findings(&[
            finding("1", "impossible-travel", 100, Some("alice")),
            finding("2", "tailgating", 200, Some("alice")),
            finding("3", "impossible-travel", 300, Some("bob")),
            finding("4", "impossible-travel", 400, None),
            finding("5", "tailgating", 500, Some("bob")),
        ])
        .expect("append");
    let list = |filter: FindingFilter| -> Vec<String> {
        let listed = store.findings(&filter).expect("findings");
        uids(&listed).into_iter().map(str::to_owned).collect()
    };
    let rule = |name: &str| Some(name.to_owned());
    assert_eq!(
        list(FindingFilter {
            rule: rule("impossible-travel"),
            ..FindingFilter::default()
        }),
        ["1", "3", "4"]
    );
    assert_eq!(
        list(FindingFilter {
            person: rule("alice"),
            ..FindingFilter::default()
        }),
        ["1", "2"]
    );
    assert_eq!(
        list(FindingFilter {
            since: Some(Ts::from_millis(200)),
            ..FindingFilter::default()
        }),
        ["2", "3", "4", "5"],
        "since is inclusive"
    );
    assert_eq!(
        list(FindingFilter {
            until: Some(Ts::from_millis(400)),
            ..FindingFilter::default()
        }),
        ["1", "2", "3"],
        "until is exclusive"
    );
    assert_eq!(
        list(FindingFilter {
            rule: rule("impossible-travel"),
            person: rule("bob"),
            since: Some(Ts::from_millis(300)),
            until: Some(Ts::from_millis(301)),
            limit: 10,
        }),
        ["3"]
    );
    assert_eq!(
        list(FindingFilter {
            limit: 2,
            ..FindingFilter::default()
        }),
        ["1", "2"]
    );
    assert_eq!(
        list(FindingFilter {
            limit: 0,
            ..FindingFilter::default()
        }),
        Vec::<String>::new()
    );
    assert_eq!(
        list(FindingFilter {
            rule: rule("no-such-rule"),
            ..FindingFilter::default()
        }),
        Vec::<String>::new()
    );
}

fn documents_round_trip(store: &mut dyn Store) {
    let write = |collection: &str, id: &str, json: Option<&str>| crate::DocumentWrite {
        collection: collection.to_owned(),
        id: id.to_owned(),
        json: json.map(str::to_owned),
    };
    assert_eq!(store.documents("scim-users").expect("documents"), []);
    store
        .write_documents(&[
            write("scim-users", "b", Some(r#"{"userName":"bob"}"#)),
            write("scim-users", "a", Some(r#"{"userName":"alice é"}"#)),
            write("scim-groups", "a", Some(r#"{"displayName":"x"}"#)),
        ])
        .expect("write");
    store.commit().expect("commit");
    let owned = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(id, json)| ((*id).to_owned(), (*json).to_owned()))
            .collect()
    };
    assert_eq!(
        store.documents("scim-users").expect("documents"),
        owned(&[
            ("a", r#"{"userName":"alice é"}"#),
            ("b", r#"{"userName":"bob"}"#)
        ])
    );
    store
        .write_documents(&[
            write("scim-users", "a", Some(r#"{"userName":"alice2"}"#)),
            write("scim-users", "b", None),
            write("scim-users", "missing", None),
        ])
        .expect("write");
    store.commit().expect("commit");
    assert_eq!(
        store.documents("scim-users").expect("documents"),
        owned(&[("a", r#"{"userName":"alice2"}"#)])
    );
    assert_eq!(
        store.documents("scim-groups").expect("documents"),
        owned(&[("a", r#"{"displayName":"x"}"#)])
    );
}

fn dead_letters_keep_raw_bytes(store: &mut dyn Store) {
    let letter = |position: &str, raw: Vec<u8>| DeadLetter {
        source: "syslog".to_owned(),
        position: position.to_owned(),
        observed: Ts::from_millis(42),
        reason: "invalid `time` field".to_owned(),
        raw,
    };
    let every_byte: Vec<u8> = (0..=255).collect();
    let letters = [
        letter("7", every_byte.clone()),
        letter("8", vec![]),
        letter("9", vec![0xff, 0xfe, 0x00, b'\n', 0xc3]),
        letter("10", b"not json at all".to_vec()),
    ];
    store.add_dead_letters(&letters).expect("add");
    store.commit().expect("commit");
    assert_eq!(store.dead_letters(100).expect("dead letters"), letters);
    assert_eq!(store.dead_letters(2).expect("dead letters"), letters[..2]);
    assert_eq!(store.dead_letters(0).expect("dead letters"), []);

    // Reading the same record again (a replay) adds nothing; another record at the same
    // position is another letter.
    let mut replayed = letters[0].clone();
    replayed.observed = Ts::from_millis(99);
    replayed.reason = "a different reason".to_owned();
    let other = letter("7", b"other bytes".to_vec());
    store
        .add_dead_letters(&[replayed, other.clone()])
        .expect("add");
    let mut expected = letters.to_vec();
    expected.push(other);
    assert_eq!(store.dead_letters(100).expect("dead letters"), expected);
    assert_eq!(store.counts().expect("counts").dead_letters, 5);
}

fn dead_letters_are_measured_and_pruned(store: &mut dyn Store) {
    let letter = |source: &str, position: &str, observed: i64, raw: &[u8]| DeadLetter {
        source: source.to_owned(),
        position: position.to_owned(),
        observed: Ts::from_millis(observed),
        reason: "bad".to_owned(),
        raw: raw.to_vec(),
    };
    store
        .add_dead_letters(&[
            letter("a", "1", 10, b"0123456789"),
            letter("a", "2", 20, b"01234"),
            letter("b", "1", 30, b""),
        ])
        .expect("add");
    store.commit().expect("commit");
    assert_eq!(
        store.dead_letter_bytes().expect("bytes"),
        [("a".to_owned(), 21), ("b".to_owned(), 3)]
    );
    assert_eq!(
        store
            .prune_dead_letters(Ts::from_millis(20))
            .expect("prune"),
        1
    );
    store.commit().expect("commit");
    let left: Vec<String> = store
        .dead_letters(10)
        .expect("dead letters")
        .into_iter()
        .map(|l| format!("{}#{}", l.source, l.position))
        .collect();
    assert_eq!(left, ["a#2", "b#1"]);
}

fn unresolved_events(store: &mut dyn Store) {
    let item = |uid: &str, time: i64| Unresolved {
        event_uid: uid.to_owned(),
        time: Ts::from_millis(time),
        source: "vpn".to_owned(),
        identifiers: format!("username=u-{uid}"),
    };
    store
        .add_unresolved(&[item("e3", 30), item("e1", 10), item("e2", 10)])
        .expect("add");
    let mut replayed = item("e1", 10);
    replayed.identifiers = "changed".to_owned();
    store
        .add_unresolved(&[replayed, item("e0", 40)])
        .expect("add");
    let listed = store.unresolved(100).expect("unresolved");
    assert_eq!(
        listed,
        [
            item("e1", 10),
            item("e2", 10),
            item("e3", 30),
            item("e0", 40)
        ]
    );
    assert_eq!(store.unresolved(1).expect("unresolved"), [item("e1", 10)]);
    assert_eq!(store.counts().expect("counts").unresolved, 4);
}

fn snapshot(round: u64) -> Snapshot {
    Snapshot {
        positions: BTreeMap::from([
            ("badge-reader".to_owned(), format!("offset:{round}")),
            ("idp".to_owned(), format!("cursor-{round}")),
            ("empty-position".to_owned(), String::new()),
        ]),
        log_position: round,
        state: (0..=255u8)
            .cycle()
            .take(4096 + usize::try_from(round).unwrap_or(0))
            .collect(),
    }
}

fn snapshot_round_trip(store: &mut dyn Store) {
    let event = Event::new("before-snapshot", 1);
    store.append_events(&[event.stored()]).expect("append");
    let taken = Snapshot {
        log_position: store.log_position().expect("log position"),
        ..snapshot(1)
    };
    store.save_snapshot(&taken).expect("save");
    assert_eq!(
        store.latest_snapshot().expect("latest"),
        Some(taken.clone())
    );

    let bare = Snapshot {
        positions: BTreeMap::new(),
        log_position: 0,
        state: vec![],
    };
    store.save_snapshot(&bare).expect("save");
    assert_eq!(
        store.latest_snapshot().expect("latest"),
        Some(bare.clone()),
        "the newest wins"
    );
    assert_eq!(store.snapshots().expect("snapshots"), [bare, taken]);
    assert_eq!(
        read_all(store),
        [event.json.as_str()],
        "saving a snapshot keeps the events"
    );
}

fn snapshot_retention(store: &mut dyn Store) {
    for round in 1..=5 {
        let event = Event::new(&format!("event-{round}"), 1);
        store.append_events(&[event.stored()]).expect("append");
        assert_eq!(
            store.log_position().expect("log position"),
            round,
            "positions count events"
        );
        store.save_snapshot(&snapshot(round)).expect("save");
    }
    let kept = store.snapshots().expect("snapshots");
    assert_eq!(
        kept,
        [snapshot(5), snapshot(4), snapshot(3)],
        "the latest three, newest first"
    );
    assert_eq!(store.latest_snapshot().expect("latest"), Some(snapshot(5)));
}

fn a_snapshot_past_the_log_is_refused(store: &mut dyn Store) {
    store
        .append_events(&[Event::new("one", 1).stored()])
        .expect("append");
    let beyond = Snapshot {
        log_position: store.log_position().expect("log position") + 1,
        ..snapshot(0)
    };
    let result = store.save_snapshot(&beyond);
    assert!(
        matches!(result, Err(StoreError::InvalidPosition { .. })),
        "got {result:?}"
    );
    assert_eq!(store.latest_snapshot().expect("latest"), None);
}

fn counts_add_up(store: &mut dyn Store) {
    let events: Vec<Event> = (0..4)
        .map(|number| Event::new(&format!("e{number}"), number))
        .collect();
    store.append_events(&stored(&events)).expect("append");
    store
        .append_events(&stored(&events[..2]))
        .expect("append duplicates");
    store
        .append_findings(&[
            finding("f1", "r", 1, None),
            finding("f2", "r", 2, None),
            finding("f1", "r", 1, None),
        ])
        .expect("append");
    store
        .add_dead_letters(&[DeadLetter {
            source: "mqtt".to_owned(),
            position: "1".to_owned(),
            observed: Ts::from_millis(1),
            reason: "too large".to_owned(),
            raw: vec![1, 2, 3],
        }])
        .expect("add");
    store
        .add_unresolved(&[Unresolved {
            event_uid: "e1".to_owned(),
            time: Ts::from_millis(1),
            source: "wifi".to_owned(),
            identifiers: "mac=aa:bb".to_owned(),
        }])
        .expect("add");
    store.commit().expect("commit");
    let counts = store.counts().expect("counts");
    assert_eq!(
        counts,
        crate::Counts {
            events: 4,
            findings: 2,
            dead_letters: 1,
            unresolved: 1
        }
    );
}
