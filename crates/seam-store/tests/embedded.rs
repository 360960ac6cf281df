//! The embedded store across process lifetimes: reopening, torn tails, corruption, segments.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "the helpers are test code too: a panic there fails the test"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use seam_store::{
    DeadLetter, EmbeddedStore, FindingFilter, Snapshot, Store, StoreError, StoreOptions,
    StoredEvent, StoredFinding, TailRecovery, Ts, Unresolved,
};

struct Event {
    uid: String,
    json: String,
}

impl Event {
    fn new(uid: &str) -> Event {
        Event {
            uid: uid.to_owned(),
            json: format!(r#"{{"uid":"{uid}","raw":"door 4 granted badge 4411"}}"#),
        }
    }

    fn stored(&self) -> StoredEvent<'_> {
        StoredEvent {
            uid: &self.uid,
            time: Ts::from_millis(1_700_000_000_000),
            observed: Ts::from_millis(1_700_000_000_100),
            source: "pacs",
            class: "access_granted",
            person: Some("alice"),
            late: false,
            json: &self.json,
        }
    }
}

fn events(prefix: &str, count: usize) -> Vec<Event> {
    (0..count)
        .map(|number| Event::new(&format!("{prefix}-{number}")))
        .collect()
}

fn stored(events: &[Event]) -> Vec<StoredEvent<'_>> {
    events.iter().map(Event::stored).collect()
}

fn jsons(events: &[Event]) -> Vec<String> {
    events.iter().map(|event| event.json.clone()).collect()
}

fn read_all(store: &EmbeddedStore) -> Vec<String> {
    store.read_events(0, usize::MAX).unwrap().0
}

fn first_segment(directory: &Path) -> PathBuf {
    directory.join("events").join(format!("{:020}.log", 0))
}

fn segment_files(directory: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(directory.join("events"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "log"))
        .collect();
    files.sort();
    files
}

/// A segment with five committed events followed by one more; returns its bytes and the file
/// offset where the last frame starts.
fn segment_with_a_last_frame(earlier: &[Event], last: &Event) -> (Vec<u8>, usize) {
    let directory = tempfile::tempdir().unwrap();
    let mut store = EmbeddedStore::open(directory.path()).unwrap();
    store.append_events(&stored(earlier)).unwrap();
    store.commit().unwrap();
    let last_frame_start = std::fs::metadata(first_segment(directory.path()))
        .unwrap()
        .len();
    store.append_events(&[last.stored()]).unwrap();
    store.commit().unwrap();
    drop(store);
    let bytes = std::fs::read(first_segment(directory.path())).unwrap();
    (bytes, usize::try_from(last_frame_start).unwrap())
}

/// Opens a store whose only segment holds `bytes` and checks that exactly `earlier` survived
/// and that appending goes on, also after another reopen.
fn reopen_damaged(
    bytes: &[u8],
    earlier: &[Event],
    last: &Event,
    expected_dropped: u64,
    case: &str,
) {
    let directory = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(directory.path().join("events")).unwrap();
    std::fs::write(first_segment(directory.path()), bytes).unwrap();

    let mut store = EmbeddedStore::open(directory.path()).unwrap();
    let end = store.log_position().unwrap();
    match store.tail_recovery() {
        None => assert_eq!(expected_dropped, 0, "{case}: nothing reported as dropped"),
        Some(TailRecovery {
            dropped_bytes,
            valid_until,
            ..
        }) => {
            assert_eq!(*dropped_bytes, expected_dropped, "{case}");
            assert_eq!(*valid_until, end, "{case}");
        }
    }
    assert_eq!(
        read_all(&store),
        jsons(earlier),
        "{case}: earlier events intact"
    );
    assert_eq!(
        store.counts().unwrap().events,
        earlier.len() as u64,
        "{case}"
    );

    let after = Event::new("after-recovery");
    let outcome = store
        .append_events(&[last.stored(), after.stored(), earlier[0].stored()])
        .unwrap();
    assert_eq!(
        outcome.inserted, 2,
        "{case}: the torn event is not remembered as stored"
    );
    assert_eq!(outcome.duplicate_indices, [2], "{case}");
    store.commit().unwrap();
    drop(store);

    let store = EmbeddedStore::open(directory.path()).unwrap();
    assert_eq!(
        store.tail_recovery(),
        None,
        "{case}: the repaired log is clean"
    );
    let mut expected = jsons(earlier);
    expected.extend([last.json.clone(), after.json.clone()]);
    assert_eq!(read_all(&store), expected, "{case}");
}

#[test]
fn a_tail_cut_at_any_byte_of_the_last_frame_is_recovered() {
    let earlier = events("kept", 5);
    let last = Event::new("torn");
    let (bytes, last_start) = segment_with_a_last_frame(&earlier, &last);
    assert!(last_start < bytes.len());
    for cut in last_start..bytes.len() {
        let expected_dropped = (cut - last_start) as u64;
        reopen_damaged(
            &bytes[..cut],
            &earlier,
            &last,
            expected_dropped,
            &format!("cut at byte {cut}"),
        );
    }
}

#[test]
fn a_damaged_byte_anywhere_in_the_last_frame_is_recovered() {
    let earlier = events("kept", 5);
    let last = Event::new("damaged");
    let (bytes, last_start) = segment_with_a_last_frame(&earlier, &last);
    let last_len = (bytes.len() - last_start) as u64;
    for index in last_start..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[index] ^= 0xa5;
        reopen_damaged(
            &damaged,
            &earlier,
            &last,
            last_len,
            &format!("byte {index} damaged"),
        );
    }
}

#[test]
fn zeros_or_garbage_after_the_last_frame_are_dropped() {
    let earlier = events("kept", 5);
    let last = Event::new("last");
    let (bytes, _) = segment_with_a_last_frame(&earlier, &last);
    let mut intact = earlier;
    intact.push(last);
    let never_written = Event::new("never-written");
    for (tail, case) in [
        (vec![0u8; 4096], "zeros"),
        (vec![0xff; 3], "short garbage"),
        (b"{\"x\":1}\n".to_vec(), "text"),
    ] {
        let mut damaged = bytes.clone();
        damaged.extend_from_slice(&tail);
        reopen_damaged(&damaged, &intact, &never_written, tail.len() as u64, case);
    }
}

#[test]
fn a_segment_torn_while_being_created_is_repaired() {
    for header_len in 0..8 {
        let directory = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(directory.path().join("events")).unwrap();
        std::fs::write(first_segment(directory.path()), &b"SEAMLOG1"[..header_len]).unwrap();
        let mut store = EmbeddedStore::open(directory.path()).unwrap();
        assert!(read_all(&store).is_empty());
        store.append_events(&stored(&events("e", 2))).unwrap();
        store.commit().unwrap();
        drop(store);
        let store = EmbeddedStore::open(directory.path()).unwrap();
        assert_eq!(
            read_all(&store),
            jsons(&events("e", 2)),
            "header of {header_len} bytes"
        );
    }
}

#[test]
fn a_file_that_is_not_a_segment_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(directory.path().join("events")).unwrap();
    std::fs::write(
        first_segment(directory.path()),
        b"PK\x03\x04 not a log at all",
    )
    .unwrap();
    let error = EmbeddedStore::open(directory.path()).unwrap_err();
    assert!(
        matches!(error, StoreError::CorruptSegment { offset: 0, .. }),
        "{error:?}"
    );
}

fn tiny_segments() -> StoreOptions {
    StoreOptions {
        segment_bytes: 300,
        ..StoreOptions::default()
    }
}

#[test]
fn segments_roll_over_and_read_as_one_log() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = EmbeddedStore::open_with(directory.path(), tiny_segments()).unwrap();
    let all = events("rolled", 40);
    for batch in all.chunks(3) {
        store.append_events(&stored(batch)).unwrap();
        store.commit().unwrap();
    }
    // An event larger than a segment gets one of its own.
    let mut big = Event::new("big");
    big.json = format!(r#"{{"padding":"{}"}}"#, "p".repeat(1000));
    store.append_events(&[big.stored()]).unwrap();
    store.commit().unwrap();

    let segments = segment_files(directory.path());
    assert!(segments.len() >= 10, "only {} segments", segments.len());
    let mut expected = jsons(&all);
    expected.push(big.json.clone());
    assert_eq!(read_all(&store), expected);

    let mut paged = Vec::new();
    let mut position = 0;
    loop {
        let (page, next) = store.read_events(position, 3).unwrap();
        if page.is_empty() {
            break;
        }
        paged.extend(page);
        position = next;
    }
    assert_eq!(paged, expected);
    drop(store);

    let mut store = EmbeddedStore::open_with(directory.path(), tiny_segments()).unwrap();
    assert_eq!(store.tail_recovery(), None);
    assert_eq!(read_all(&store), expected);
    let outcome = store.append_events(&stored(&all)).unwrap();
    assert_eq!(
        (outcome.inserted, outcome.duplicates),
        (0, 40),
        "dedupe spans every segment"
    );
    // A larger segment size on reopen only changes where the next segment starts.
    drop(store);
    let store = EmbeddedStore::open(directory.path()).unwrap();
    assert_eq!(read_all(&store), expected);
}

#[test]
fn only_the_last_segment_may_be_torn() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = EmbeddedStore::open_with(directory.path(), tiny_segments()).unwrap();
    for batch in events("e", 20).chunks(4) {
        store.append_events(&stored(batch)).unwrap();
        store.commit().unwrap();
    }
    drop(store);
    let segments = segment_files(directory.path());
    assert!(segments.len() > 2);

    let sealed = &segments[1];
    let mut bytes = std::fs::read(sealed).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(sealed, &bytes).unwrap();
    let error = EmbeddedStore::open_with(directory.path(), tiny_segments()).unwrap_err();
    assert!(
        matches!(&error, StoreError::CorruptSegment { path, .. } if path == sealed),
        "{error:?}"
    );
    bytes[last] ^= 0xff;
    std::fs::write(sealed, &bytes).unwrap();

    std::fs::remove_file(sealed).unwrap();
    let error = EmbeddedStore::open_with(directory.path(), tiny_segments()).unwrap_err();
    assert!(
        matches!(&error, StoreError::CorruptSegment { reason, .. } if reason.contains("ends at")),
        "{error:?}"
    );
}

#[test]
fn everything_committed_is_there_after_reopening() {
    let directory = tempfile::tempdir().unwrap();
    let all = events("e", 10);
    let finding = StoredFinding {
        uid: "finding-1".to_owned(),
        rule: "badge-while-remote".to_owned(),
        time: Ts::from_millis(5),
        person: Some("alice".to_owned()),
        severity: "high".to_owned(),
        json: "{}".to_owned(),
    };
    let letter = DeadLetter {
        source: "syslog".to_owned(),
        position: "17".to_owned(),
        observed: Ts::from_millis(6),
        reason: "bad priority".to_owned(),
        raw: vec![0, 159, 146, 150],
    };
    let unresolved = Unresolved {
        event_uid: "e-3".to_owned(),
        time: Ts::from_millis(7),
        source: "vpn".to_owned(),
        identifiers: "username=ghost".to_owned(),
    };
    let snapshot_position;
    {
        let mut store = EmbeddedStore::open(directory.path()).unwrap();
        store.append_events(&stored(&all[..6])).unwrap();
        snapshot_position = store.log_position().unwrap();
        let snapshot = Snapshot {
            positions: BTreeMap::from([("pacs".to_owned(), "6".to_owned())]),
            log_position: snapshot_position,
            state: b"engine state".to_vec(),
        };
        store.save_snapshot(&snapshot).unwrap();
        store.append_events(&stored(&all[6..])).unwrap();
        store
            .append_findings(std::slice::from_ref(&finding))
            .unwrap();
        store
            .add_dead_letters(std::slice::from_ref(&letter))
            .unwrap();
        store
            .add_unresolved(std::slice::from_ref(&unresolved))
            .unwrap();
        store.commit().unwrap();
    }

    let mut store = EmbeddedStore::open(directory.path()).unwrap();
    assert_eq!(store.tail_recovery(), None);
    assert_eq!(read_all(&store), jsons(&all));
    assert_eq!(
        store.findings(&FindingFilter::default()).unwrap(),
        std::slice::from_ref(&finding)
    );
    assert_eq!(
        store.dead_letters(10).unwrap(),
        std::slice::from_ref(&letter)
    );
    assert_eq!(
        store.unresolved(10).unwrap(),
        std::slice::from_ref(&unresolved)
    );
    let snapshot = store.latest_snapshot().unwrap().unwrap();
    assert_eq!(snapshot.log_position, snapshot_position);
    let (replay, _) = store.read_events(snapshot.log_position, 100).unwrap();
    assert_eq!(
        replay,
        jsons(&all[6..]),
        "replay from the snapshot reads what came after it"
    );

    // A replay after a restart adds nothing.
    let outcome = store.append_events(&stored(&all)).unwrap();
    assert_eq!((outcome.inserted, outcome.duplicates), (0, 10));
    assert_eq!(store.append_findings(&[finding]).unwrap(), 0);
    store.add_dead_letters(&[letter]).unwrap();
    store.add_unresolved(&[unresolved]).unwrap();
    let counts = store.counts().unwrap();
    assert_eq!(
        (
            counts.events,
            counts.findings,
            counts.dead_letters,
            counts.unresolved
        ),
        (10, 1, 1, 1)
    );
}

#[test]
fn a_second_open_of_the_same_directory_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(directory.path()).unwrap();
    let error = EmbeddedStore::open(directory.path()).unwrap_err();
    assert!(matches!(error, StoreError::Locked { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "store directory `{}` is already open elsewhere",
            directory.path().display()
        )
    );
    drop(store);
    EmbeddedStore::open(directory.path()).unwrap();
}

#[derive(Debug, Clone)]
enum Step {
    Append(Vec<u8>),
    Commit,
    Reopen,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => proptest::collection::vec(0u8..24, 0..12).prop_map(Step::Append),
        1 => Just(Step::Commit),
        1 => Just(Step::Reopen),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Against a model: an event is stored once, at its first append, and reads keep that
    /// order, whatever the batches, segment boundaries and reopenings.
    #[test]
    fn the_log_matches_a_model_of_first_appearances(steps in proptest::collection::vec(step(), 1..16)) {
        let directory = tempfile::tempdir().unwrap();
        let options = StoreOptions { segment_bytes: 400, ..StoreOptions::default() };
        let mut store = EmbeddedStore::open_with(directory.path(), options).unwrap();
        let mut model: Vec<String> = Vec::new();
        for step in steps {
            match step {
                Step::Append(uids) => {
                    let batch: Vec<Event> = uids.iter().map(|uid| Event::new(&format!("u{uid}"))).collect();
                    let outcome = store.append_events(&stored(&batch)).unwrap();
                    let mut expected_duplicates = Vec::new();
                    for (index, event) in batch.iter().enumerate() {
                        if model.contains(&event.json) {
                            expected_duplicates.push(index);
                        } else {
                            model.push(event.json.clone());
                        }
                    }
                    prop_assert_eq!(outcome.duplicate_indices, expected_duplicates);
                }
                Step::Commit => store.commit().unwrap(),
                Step::Reopen => {
                    store.commit().unwrap();
                    drop(store);
                    store = EmbeddedStore::open_with(directory.path(), options).unwrap();
                }
            }
            prop_assert_eq!(read_all(&store), model.clone());
        }
    }
}
