//! Erasure and retention down to the files: after erasing a person, no byte of their
//! identifiers is in any file of the data directory, compressed log blocks included; and a
//! model check that erasure and retention never move a position nor touch what they must keep.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "the helpers are test code too: a panic there fails the test"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use seam_store::{
    DeadLetter, DocumentWrite, EmbeddedStore, FindingFilter, Lifecycle, RETENTION_REASON,
    RetentionRequest, Snapshot, Store, StoreOptions, StoredEvent, StoredFinding, Ts, Unresolved,
    json_escaped, tombstone_json,
};

/// Mallory's identifiers, as the subject erasure command would gather them.
const PERSON_ID: &str = "p-000417";
const NAME: &str = "Mallory Quint";
const BADGE: &str = "0047731";
const USERNAME: &str = r"CORP\mquint";
const EMAIL: &str = "m.quint@corp.example";
const MAC: &str = "3c:22:fb:9a:10:7e";
/// Only in rows deleted by ordinary operations before the erasure.
const OLD_EMAIL: &str = "mallory@old-provider.example";

fn needles() -> Vec<String> {
    [PERSON_ID, NAME, BADGE, USERNAME, EMAIL, MAC, OLD_EMAIL]
        .map(str::to_owned)
        .to_vec()
}

/// Every needle in every form it can be stored in: as is, and escaped once and twice for JSON.
fn forms() -> Vec<Vec<u8>> {
    let mut forms = Vec::new();
    for needle in needles() {
        let once = json_escaped(&needle);
        let twice = json_escaped(&once);
        for form in [needle, once, twice] {
            if !forms.contains(&form.clone().into_bytes()) {
                forms.push(form.into_bytes());
            }
        }
    }
    forms
}

/// The needle forms in `bytes`, found the slow, obvious way.
fn leaked(bytes: &[u8]) -> Vec<String> {
    forms()
        .into_iter()
        .filter(|form| {
            bytes
                .windows(form.len())
                .any(|window| window == form.as_slice())
        })
        .map(|form| String::from_utf8_lossy(&form).into_owned())
        .collect()
}

fn files_under(directory: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(directory).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// Every block of every segment, decoded by hand from the format in docs/store.md.
fn decoded_blocks(directory: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut blocks = Vec::new();
    for path in files_under(&directory.join("events")) {
        if path.extension().is_none_or(|extension| extension != "log") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"SEAMLOG1", "{}", path.display());
        let mut offset = 8;
        while offset < bytes.len() {
            let length = u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap());
            let payload = &bytes[offset + 8..offset + 8 + length as usize];
            let raw_length = u32::from_le_bytes(payload[5..9].try_into().unwrap()) as usize;
            let encoding = payload[0];
            assert!(encoding <= 1, "unknown encoding in {}", path.display());
            let body = if encoding == 1 {
                lz4_flex::block::decompress(&payload[9..], raw_length).unwrap()
            } else {
                payload[9..].to_vec()
            };
            assert_eq!(body.len(), raw_length);
            blocks.push((path.clone(), body));
            offset += 8 + length as usize;
        }
    }
    blocks
}

/// Where a needle is, in any file or any decoded block; empty when nowhere.
fn leaks(directory: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for path in files_under(directory) {
        for form in leaked(&std::fs::read(&path).unwrap()) {
            found.push(format!("`{form}` in {}", path.display()));
        }
    }
    for (path, body) in decoded_blocks(directory) {
        for form in leaked(&body) {
            found.push(format!("`{form}` in a block of {}", path.display()));
        }
    }
    found
}

struct Event {
    uid: String,
    time: i64,
    class: &'static str,
    person: Option<String>,
    json: String,
}

impl Event {
    fn stored(&self) -> StoredEvent<'_> {
        StoredEvent {
            uid: &self.uid,
            time: Ts::from_millis(self.time),
            observed: Ts::from_millis(self.time + 3),
            source: "pacs",
            class: self.class,
            person: self.person.as_deref(),
            late: false,
            json: &self.json,
        }
    }
}

/// Another person's event: varied enough to compress like real ones.
fn other(number: usize) -> Event {
    let person = format!("p-1{number:05}");
    Event {
        uid: format!("pacs-{number}"),
        time: 1_700_000_000_000 + number as i64 * 1_000,
        class: "access_granted",
        person: Some(person.clone()),
        json: format!(
            r#"{{"uid":"pacs-{number}","person":"{person}","door":"door-{}","raw":"{{\"badge\":\"9{number:06}\",\"reader\":{}}}"}}"#,
            number % 17,
            number % 5
        ),
    }
}

/// Mallory's events, each holding her identifiers in another place.
fn mallorys(round: usize) -> Vec<Event> {
    let time = 1_700_000_000_000 + round as i64 * 1_000_000;
    let raw = format!(
        r#"{{"user":"{}","mac":"{MAC}","name":"{NAME}"}}"#,
        json_escaped(USERNAME)
    );
    vec![
        Event {
            uid: format!("pacs-m-{round}"),
            time,
            class: "access_granted",
            person: Some(PERSON_ID.to_owned()),
            json: format!(
                r#"{{"uid":"pacs-m-{round}","badge":"{BADGE}","raw":"{}"}}"#,
                json_escaped(&raw)
            ),
        },
        // Only the person column names her.
        Event {
            uid: format!("vpn-{round}"),
            time: time + 1,
            class: "sign_in",
            person: Some(PERSON_ID.to_owned()),
            json: format!(r#"{{"uid":"vpn-{round}","outcome":"success"}}"#),
        },
        // The uid names her: only its digest may stay.
        Event {
            uid: format!("windows-{EMAIL}-{round}"),
            time: time + 2,
            class: "sign_in",
            person: None,
            json: format!(r#"{{"subject":"{}"}}"#, json_escaped(USERNAME)),
        },
    ]
}

fn finding(uid: &str, person: Option<&str>, json: &str) -> StoredFinding {
    StoredFinding {
        uid: uid.to_owned(),
        rule: "impossible-travel".to_owned(),
        time: Ts::from_millis(1_700_000_100_000),
        person: person.map(str::to_owned),
        severity: "high".to_owned(),
        json: json.to_owned(),
    }
}

fn letter(position: &str, raw: Vec<u8>) -> DeadLetter {
    DeadLetter {
        source: "syslog".to_owned(),
        position: position.to_owned(),
        observed: Ts::from_millis(1_000),
        reason: "no timestamp".to_owned(),
        raw,
    }
}

fn write(collection: &str, id: &str, json: Option<String>) -> DocumentWrite {
    DocumentWrite {
        collection: collection.to_owned(),
        id: id.to_owned(),
        json,
    }
}

fn snapshot(log_position: u64, people: &[&str]) -> Snapshot {
    Snapshot {
        positions: BTreeMap::from([("log".to_owned(), log_position.to_string())]),
        log_position,
        state: format!(r#"{{"world":{{"people":{people:?}}}}}"#).into_bytes(),
    }
}

/// Moves the WAL into the database file, through a connection of its own.
fn checkpoint(directory: &Path) {
    let connection = rusqlite::Connection::open(directory.join("seam.db")).unwrap();
    let busy: i64 = connection
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
        .unwrap();
    assert_eq!(busy, 0);
}

/// What must come through an erasure of Mallory unchanged.
#[derive(Debug, PartialEq)]
struct Others {
    events: Vec<(u64, String)>,
    findings: Vec<StoredFinding>,
    dead_letters: Vec<DeadLetter>,
    unresolved: Vec<Unresolved>,
    documents: Vec<(String, String)>,
    snapshots: Vec<Snapshot>,
}

fn others(store: &EmbeddedStore, mallory_positions: &[u64]) -> Others {
    let (events, _) = store.read_events(0, usize::MAX).unwrap();
    Others {
        events: (0..)
            .zip(events)
            .filter(|(position, _)| !mallory_positions.contains(position))
            .collect(),
        findings: store
            .findings(&FindingFilter::default())
            .unwrap()
            .into_iter()
            .filter(|finding| finding.uid.starts_with("f-other"))
            .collect(),
        dead_letters: store
            .dead_letters(usize::MAX)
            .unwrap()
            .into_iter()
            .filter(|letter| letter.position.starts_with("other"))
            .collect(),
        unresolved: store
            .unresolved(usize::MAX)
            .unwrap()
            .into_iter()
            .filter(|item| item.event_uid.starts_with("other"))
            .collect(),
        documents: store
            .documents("scim-users")
            .unwrap()
            .into_iter()
            .filter(|(id, _)| id != PERSON_ID)
            .collect(),
        snapshots: store.snapshots().unwrap(),
    }
}

#[test]
fn after_an_erasure_no_file_holds_a_byte_of_the_person() {
    let directory = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        segment_bytes: 16 * 1024,
        snapshots_kept: 3,
    };
    let mut store = EmbeddedStore::open_with(directory.path(), options).unwrap();

    // The log: other people's events with Mallory's among them, over several segments; her
    // last events stay in the segment still being written, the very last uncommitted.
    let mut mallory_events = Vec::new();
    let mut mallory_positions = Vec::new();
    for round in 0..6 {
        let mut batch: Vec<Event> = (round * 300..round * 300 + 300).map(other).collect();
        let start = store.log_position().unwrap();
        for (offset, event) in (0..).zip(mallorys(round)) {
            mallory_positions.push(start + 100 + offset * 50);
            batch.insert(100 + offset as usize * 50, event);
        }
        store
            .append_events(&batch.iter().map(Event::stored).collect::<Vec<_>>())
            .unwrap();
        if round < 5 {
            store.commit().unwrap();
        }
        mallory_events.extend(mallorys(round));
    }
    assert!(
        std::fs::read_dir(directory.path().join("events"))
            .unwrap()
            .count()
            > 3,
        "several segments"
    );

    // Rows deleted by ordinary operations first, so that free pages and the WAL hold her.
    store
        .write_documents(&[write(
            "scim-groups",
            "g-1",
            Some(format!(r#"{{"members":["{OLD_EMAIL}"]}}"#)),
        )])
        .unwrap();
    store
        .add_dead_letters(&[letter("old", OLD_EMAIL.as_bytes().to_vec())])
        .unwrap();
    store.commit().unwrap();
    // Into the database file itself, as SQLite's automatic checkpoints do sooner or later.
    checkpoint(directory.path());
    store
        .write_documents(&[write("scim-groups", "g-1", None)])
        .unwrap();
    store.prune_dead_letters(Ts::from_millis(2_000)).unwrap();
    store.commit().unwrap();
    checkpoint(directory.path());
    // Snapshots: the oldest, naming her, is rotated out by ordinary snapshot pruning.
    let end = store.log_position().unwrap();
    store
        .save_snapshot(&snapshot(end, &[PERSON_ID, OLD_EMAIL]))
        .unwrap();
    store.save_snapshot(&snapshot(end, &["p-100001"])).unwrap();
    store.save_snapshot(&snapshot(end, &["p-100002"])).unwrap();
    store
        .save_snapshot(&snapshot(end, &["p-100003", NAME]))
        .unwrap();

    // Live rows of every kind, hers and others'.
    let mut raw = vec![0xff, 0x00, b'<', b'1', b'3', b'>'];
    raw.extend_from_slice(EMAIL.as_bytes());
    raw.extend_from_slice(&[0x00, 0xc3]);
    store
        .add_dead_letters(&[
            letter("mallory", raw),
            letter("other-1", b"\xfe\x01garbage of p-100004".to_vec()),
        ])
        .unwrap();
    store
        .append_findings(&[
            finding(
                "f-mallory-1",
                Some(PERSON_ID),
                &format!(r#"{{"person":"{PERSON_ID}","name":"{NAME}"}}"#),
            ),
            finding(&format!("f-{PERSON_ID}-2"), None, "{}"),
            finding("f-other-1", Some("p-100005"), r#"{"person":"p-100005"}"#),
        ])
        .unwrap();
    store
        .add_unresolved(&[
            Unresolved {
                event_uid: "mallory-wifi".to_owned(),
                time: Ts::from_millis(5),
                source: "wifi".to_owned(),
                identifiers: format!("mac={MAC}"),
            },
            Unresolved {
                event_uid: "other-wifi".to_owned(),
                time: Ts::from_millis(6),
                source: "wifi".to_owned(),
                identifiers: "mac=00:11:22:33:44:55".to_owned(),
            },
        ])
        .unwrap();
    store
        .write_documents(&[
            write(
                "scim-users",
                PERSON_ID,
                Some(format!(r#"{{"userName":"{EMAIL}","name":"{NAME}"}}"#)),
            ),
            write(
                "scim-users",
                "p-100006",
                Some(r#"{"userName":"someone@corp.example"}"#.to_owned()),
            ),
        ])
        .unwrap();
    let last = mallorys(9);
    store
        .append_events(&last.iter().map(Event::stored).collect::<Vec<_>>())
        .unwrap();
    let start = store.log_position().unwrap() - 3;
    mallory_positions.extend([start, start + 1, start + 2]);
    mallory_events.extend(last);
    store.commit().unwrap();

    let end = store.log_position().unwrap();
    let before = others(&store, &mallory_positions);
    let counts = store.counts().unwrap();
    assert!(
        leaks(directory.path())
            .iter()
            .any(|leak| leak.contains(OLD_EMAIL) && leak.ends_with("seam.db")),
        "the check sees what ordinary deletes leave in the database file's free space"
    );

    let report = store
        .erase_subject(&needles(), "subject request 7")
        .unwrap();
    assert_eq!(report.events, mallory_events.len() as u64, "{report:?}");
    assert_eq!(report.digested_uids, 7, "{report:?}");
    assert_eq!(
        (
            report.findings,
            report.dead_letters,
            report.unresolved,
            report.documents,
            report.snapshots
        ),
        (2, 1, 1, 1, 1),
        "{report:?}"
    );
    drop(store);

    let found = leaks(directory.path());
    assert!(found.is_empty(), "{found:#?}");

    let mut store = EmbeddedStore::open_with(directory.path(), options).unwrap();
    assert_eq!(store.tail_recovery(), None);
    assert_eq!(store.log_position().unwrap(), end, "no position moved");
    assert_eq!(store.counts().unwrap().events, counts.events);
    let mut expected = before;
    // The snapshot naming her went; the engine replays from the next older one.
    expected
        .snapshots
        .retain(|snapshot| !String::from_utf8_lossy(&snapshot.state).contains(NAME));
    assert_eq!(expected.snapshots.len(), 2);
    assert_eq!(others(&store, &mallory_positions), expected);
    let tombstone = tombstone_json("subject request 7").unwrap();
    for position in &mallory_positions {
        let (page, _) = store.read_events(*position, 1).unwrap();
        assert_eq!(
            page,
            std::slice::from_ref(&tombstone),
            "position {position}"
        );
    }
    let outcome = store
        .append_events(&mallory_events.iter().map(Event::stored).collect::<Vec<_>>())
        .unwrap();
    assert_eq!(
        (outcome.inserted, outcome.duplicates),
        (0, mallory_events.len()),
        "a replayed source does not bring her back"
    );
    assert_eq!(
        store.subject_records(&needles(), 10).unwrap(),
        seam_store::SubjectRecords::default()
    );
    let new = other(99_999);
    assert_eq!(store.append_events(&[new.stored()]).unwrap().inserted, 1);
    store.commit().unwrap();
    drop(store);
    let store = EmbeddedStore::open_with(directory.path(), options).unwrap();
    assert_eq!(store.read_events(end, 10).unwrap().0, [new.json]);
}

#[test]
fn retention_leaves_no_expired_content_in_the_log() {
    let directory = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        segment_bytes: 8 * 1024,
        ..StoreOptions::default()
    };
    let mut store = EmbeddedStore::open_with(directory.path(), options).unwrap();
    let events: Vec<Event> = (0..400).map(other).collect();
    for chunk in events.chunks(50) {
        store
            .append_events(&chunk.iter().map(Event::stored).collect::<Vec<_>>())
            .unwrap();
        store.commit().unwrap();
    }
    let cutoff = events[250].time;
    let request = RetentionRequest {
        events_before: vec![(vec!["access_granted".to_owned()], Ts::from_millis(cutoff))],
        ..RetentionRequest::default()
    };
    let dry = store.prune(&request, true).unwrap();
    assert_eq!(dry.events, [250]);
    assert_eq!(store.read_events(0, 1).unwrap().0, [events[0].json.clone()]);
    let report = store.prune(&request, false).unwrap();
    assert_eq!(report.events, [250]);
    drop(store);

    let store = EmbeddedStore::open_with(directory.path(), options).unwrap();
    let (read, end) = store.read_events(0, usize::MAX).unwrap();
    assert_eq!(end, 400);
    let tombstone = tombstone_json(RETENTION_REASON).unwrap();
    for (number, json) in read.iter().enumerate() {
        if number < 250 {
            assert_eq!(*json, tombstone);
        } else {
            assert_eq!(*json, events[number].json);
        }
    }
    let expired_door = |number: usize| format!("\"badge\\\":\\\"9{number:06}");
    let blocks = decoded_blocks(directory.path());
    for number in [0, 100, 249] {
        let text = expired_door(number);
        assert!(
            !blocks
                .iter()
                .any(|(_, body)| body.windows(text.len()).any(|w| w == text.as_bytes())),
            "event {number}'s content is gone"
        );
    }
    let kept = expired_door(250);
    assert!(
        blocks
            .iter()
            .any(|(_, body)| body.windows(kept.len()).any(|w| w == kept.as_bytes()))
    );
}

// ----------------------------------------------------------------------- the model check

const PEOPLE: [&str; 3] = ["person-alpha", "person-bravo", "person-charlie"];
const CLASSES: [&str; 3] = ["access_granted", "sign_in", "network_activity"];
const REASON: &str = "model erasure";

/// Event `number`'s columns, the same every time it is appended.
fn model_event(number: u8) -> Event {
    let person = PEOPLE[usize::from(number) % 3];
    let uid = if number.is_multiple_of(4) {
        format!("evt-{number}-{person}")
    } else {
        format!("evt-{number}")
    };
    Event {
        json: format!(r#"{{"uid":"{uid}","who":"{person}","n":{number}}}"#),
        uid,
        time: i64::from(number) * 7 % 100,
        class: CLASSES[usize::from(number) / 3 % 3],
        person: Some(person.to_owned()),
    }
}

#[derive(Debug, Clone)]
enum Step {
    Append(Vec<u8>),
    Commit,
    Erase(usize),
    Expire(usize, i64),
    Reopen,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => proptest::collection::vec(0u8..40, 0..10).prop_map(Step::Append),
        1 => Just(Step::Commit),
        2 => (0usize..3).prop_map(Step::Erase),
        2 => (0usize..3, 0i64..110).prop_map(|(class, before)| Step::Expire(class, before)),
        1 => Just(Step::Reopen),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Live,
    Erased,
    Expired,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Erasure and retention against a model: positions never move, every event is either
    /// intact or the tombstone it should be, and every uid ever appended stays a duplicate.
    #[test]
    fn erasure_and_retention_keep_positions_and_what_they_must(
        steps in proptest::collection::vec(step(), 1..14),
        segment_bytes in prop_oneof![Just(64u64), Just(600), Just(1 << 20)],
    ) {
        let directory = tempfile::tempdir().unwrap();
        let options = StoreOptions { segment_bytes, ..StoreOptions::default() };
        let mut store = EmbeddedStore::open_with(directory.path(), options).unwrap();
        let mut model: Vec<(u8, Fate)> = Vec::new();
        let erased = tombstone_json(REASON).unwrap();
        let expired = tombstone_json(RETENTION_REASON).unwrap();
        for step in steps {
            match step {
                Step::Append(numbers) => {
                    let events: Vec<Event> = numbers.iter().map(|n| model_event(*n)).collect();
                    store
                        .append_events(&events.iter().map(Event::stored).collect::<Vec<_>>())
                        .unwrap();
                    for number in numbers {
                        if !model.iter().any(|(known, _)| *known == number) {
                            model.push((number, Fate::Live));
                        }
                    }
                }
                Step::Commit => store.commit().unwrap(),
                Step::Erase(person) => {
                    let report = store
                        .erase_subject(&[PEOPLE[person].to_owned()], REASON)
                        .unwrap();
                    let mut expected = 0;
                    for (number, fate) in &mut model {
                        let event = model_event(*number);
                        let names = match fate {
                            Fate::Live => event.json.contains(PEOPLE[person]),
                            // A retention tombstone keeps the uid, which may name them.
                            Fate::Expired => event.uid.contains(PEOPLE[person]),
                            Fate::Erased => false,
                        };
                        if names {
                            *fate = Fate::Erased;
                            expected += 1;
                        }
                    }
                    prop_assert_eq!(report.events, expected);
                }
                Step::Expire(class, before) => {
                    let request = RetentionRequest {
                        events_before: vec![(vec![CLASSES[class].to_owned()], Ts::from_millis(before))],
                        ..RetentionRequest::default()
                    };
                    let dry = store.prune(&request, true).unwrap();
                    let report = store.prune(&request, false).unwrap();
                    let mut expected = 0;
                    for (number, fate) in &mut model {
                        let event = model_event(*number);
                        if *fate == Fate::Live && event.class == CLASSES[class] && event.time < before {
                            *fate = Fate::Expired;
                            expected += 1;
                        }
                    }
                    prop_assert_eq!(&dry.events, &[expected]);
                    prop_assert_eq!(&report.events, &[expected]);
                }
                Step::Reopen => {
                    store.commit().unwrap();
                    drop(store);
                    store = EmbeddedStore::open_with(directory.path(), options).unwrap();
                }
            }
            prop_assert_eq!(store.log_position().unwrap(), model.len() as u64);
            let (read, _) = store.read_events(0, usize::MAX).unwrap();
            let expected: Vec<String> = model
                .iter()
                .map(|(number, fate)| match fate {
                    Fate::Live => model_event(*number).json,
                    Fate::Erased => erased.clone(),
                    Fate::Expired => expired.clone(),
                })
                .collect();
            prop_assert_eq!(read, expected);
        }
        let everything: Vec<Event> = model.iter().map(|(number, _)| model_event(*number)).collect();
        let outcome = store
            .append_events(&everything.iter().map(Event::stored).collect::<Vec<_>>())
            .unwrap();
        prop_assert_eq!(outcome.inserted, 0, "every uid stays a duplicate");
        store.commit().unwrap();
        drop(store);
        let mut store = EmbeddedStore::open_with(directory.path(), options).unwrap();
        let outcome = store
            .append_events(&everything.iter().map(Event::stored).collect::<Vec<_>>())
            .unwrap();
        prop_assert_eq!(outcome.inserted, 0, "also after reopening");
    }
}

/// A `sqlite3` shell left open on the database keeps the WAL from being emptied: the erasure
/// fails after SQLite's busy timeout, with the records erased but the files not yet scrubbed,
/// and the same erasure run again finishes the job.
#[test]
fn an_erasure_blocked_by_another_reader_completes_when_run_again() {
    let directory = tempfile::tempdir().unwrap();
    let mut store = EmbeddedStore::open(directory.path()).unwrap();
    let events = mallorys(0);
    store
        .append_events(&events.iter().map(Event::stored).collect::<Vec<_>>())
        .unwrap();
    store
        .write_documents(&[write(
            "scim-users",
            PERSON_ID,
            Some(format!(r#"{{"n":"{NAME}"}}"#)),
        )])
        .unwrap();
    store.commit().unwrap();
    let reader = rusqlite::Connection::open(directory.path().join("seam.db")).unwrap();
    reader.execute_batch("BEGIN").unwrap();
    let _: i64 = reader
        .query_row("SELECT count(*) FROM documents", [], |row| row.get(0))
        .unwrap();

    let result = store.erase_subject(&needles(), "blocked");
    assert!(
        matches!(result, Err(seam_store::StoreError::WalInUse)),
        "got {result:?}"
    );
    assert_eq!(
        store.subject_records(&needles(), 10).unwrap(),
        seam_store::SubjectRecords::default(),
        "the records are erased; only the files are left to scrub"
    );
    drop(reader);
    let report = store.erase_subject(&needles(), "blocked").unwrap();
    assert_eq!(report, seam_store::ErasureReport::default());
    drop(store);
    let found = leaks(directory.path());
    assert!(found.is_empty(), "{found:#?}");
}
