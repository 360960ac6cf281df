//! The PostgreSQL store beyond the shared suite: migrations, durability across connections,
//! the writer lock, the COPY path, failures, and strings PostgreSQL's `text` could not keep.
//!
//! Needs a server: 127.0.0.1:5432, user `postgres`, trust auth, or the admin URL in
//! `SEAM_TEST_POSTGRES`. Without one every test fails, saying so.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "the helpers are test code too: a panic there fails the test"
)]

use std::collections::BTreeMap;
use std::sync::{Arc, Barrier};

use postgres::{Client, NoTls};
use seam_postgres::{PostgresStore, ScratchDatabase, test_server_url};
use seam_store::{
    DeadLetter, DocumentWrite, FindingFilter, Snapshot, Store, StoreError, StoredEvent,
    StoredFinding, Ts, Unresolved,
};

/// A fresh database on the test server; the test fails loudly when there is no server.
fn scratch() -> ScratchDatabase {
    let server = test_server_url();
    ScratchDatabase::create(&server, "seam_test").unwrap_or_else(|error| {
        panic!(
            "cannot create a test database on the PostgreSQL server `{server}` (set \
             SEAM_TEST_POSTGRES to another server's admin URL): {}",
            error_text(&error)
        )
    })
}

fn error_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A plain connection to the scratch database, for what a test does behind the store's back.
fn connect(database: &ScratchDatabase) -> Client {
    Client::connect(database.url(), NoTls).unwrap()
}

struct Event {
    uid: String,
    json: String,
}

impl Event {
    fn new(uid: &str) -> Event {
        Event {
            uid: uid.to_owned(),
            json: format!(r#"{{"uid":"{uid}","note":"é ✓"}}"#),
        }
    }

    fn stored(&self) -> StoredEvent<'_> {
        StoredEvent {
            uid: &self.uid,
            time: Ts::from_millis(1),
            observed: Ts::from_millis(2),
            source: "badge-reader",
            class: "access_granted",
            person: None,
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

fn finding(uid: &str) -> StoredFinding {
    StoredFinding {
        uid: uid.to_owned(),
        rule: "r".to_owned(),
        time: Ts::from_millis(10),
        person: Some("alice".to_owned()),
        severity: "high".to_owned(),
        json: "{}".to_owned(),
    }
}

fn read_all(store: &dyn Store) -> Vec<String> {
    store.read_events(0, usize::MAX).unwrap().0
}

fn document(id: &str, json: &str) -> DocumentWrite {
    DocumentWrite {
        collection: "scim-users".to_owned(),
        id: id.to_owned(),
        json: Some(json.to_owned()),
    }
}

#[test]
fn a_new_database_is_migrated_once_and_reopening_keeps_the_data() {
    let database = scratch();
    let mut store = PostgresStore::open(database.url()).unwrap();
    let batch = events("kept", 3);
    store.append_events(&stored(&batch)).unwrap();
    store.commit().unwrap();
    drop(store);

    let store = PostgresStore::open(database.url()).unwrap();
    assert_eq!(store.log_position().unwrap(), 3);
    assert_eq!(read_all(&store).len(), 3);
    let version: i32 = connect(&database)
        .query_one("SELECT version FROM seam_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, 4);
    let rows: i64 = connect(&database)
        .query_one("SELECT count(*) FROM seam_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 1, "one version row, however often the store opens");
}

#[test]
fn a_schema_from_a_newer_build_is_refused_and_left_alone() {
    let database = scratch();
    drop(PostgresStore::open(database.url()).unwrap());
    connect(&database)
        .batch_execute("UPDATE seam_schema SET version = 99")
        .unwrap();
    let error = PostgresStore::open(database.url()).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::SchemaTooNew {
                found: 99,
                supported: 4
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "database schema version 99 is newer than version 4 known to this build"
    );
    let version: i32 = connect(&database)
        .query_one("SELECT version FROM seam_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, 99);
}

#[test]
fn committed_rows_survive_the_connection_and_uncommitted_ones_do_not() {
    let database = scratch();
    let mut store = PostgresStore::open(database.url()).unwrap();
    let first = events("first", 2);
    store.append_events(&stored(&first)).unwrap();
    store.append_findings(&[finding("f1")]).unwrap();
    store.write_documents(&[document("a", "{}")]).unwrap();
    store.commit().unwrap();

    let second = events("second", 2);
    store.append_events(&stored(&second)).unwrap();
    store.append_findings(&[finding("f2")]).unwrap();
    store
        .add_dead_letters(&[DeadLetter {
            source: "s".to_owned(),
            position: "1".to_owned(),
            observed: Ts::from_millis(1),
            reason: "bad".to_owned(),
            raw: b"raw".to_vec(),
        }])
        .unwrap();
    store
        .add_unresolved(&[Unresolved {
            event_uid: "second-0".to_owned(),
            time: Ts::from_millis(1),
            source: "s".to_owned(),
            identifiers: "x".to_owned(),
        }])
        .unwrap();
    store.write_documents(&[document("b", "{}")]).unwrap();
    assert_eq!(
        store.log_position().unwrap(),
        4,
        "reads see uncommitted rows"
    );
    drop(store);

    let mut store = PostgresStore::open(database.url()).unwrap();
    assert_eq!(store.log_position().unwrap(), 2);
    assert_eq!(
        read_all(&store),
        [first[0].json.as_str(), first[1].json.as_str()]
    );
    let counts = store.counts().unwrap();
    assert_eq!(
        (
            counts.events,
            counts.findings,
            counts.dead_letters,
            counts.unresolved
        ),
        (2, 1, 0, 0)
    );
    assert_eq!(store.documents("scim-users").unwrap().len(), 1);

    // The lost events were never stored: appending them again stores them, right after the
    // committed ones.
    let outcome = store.append_events(&stored(&second)).unwrap();
    assert_eq!(outcome.inserted, 2);
    store.commit().unwrap();
    assert_eq!(store.read_events(2, 10).unwrap().1, 4);
}

#[test]
fn snapshots_survive_reopening() {
    let database = scratch();
    let mut store = PostgresStore::open(database.url()).unwrap();
    store.append_events(&stored(&events("e", 1))).unwrap();
    let snapshot = Snapshot {
        positions: BTreeMap::from([("source".to_owned(), "42".to_owned())]),
        log_position: 1,
        state: vec![0, 1, 2, 255],
    };
    store.save_snapshot(&snapshot).unwrap();
    drop(store);
    let store = PostgresStore::open(database.url()).unwrap();
    assert_eq!(store.latest_snapshot().unwrap(), Some(snapshot));
    assert_eq!(
        read_all(&store).len(),
        1,
        "saving a snapshot commits the events"
    );
}

#[test]
fn a_second_store_on_the_same_database_is_refused_while_the_first_is_open() {
    let database = scratch();
    let first = PostgresStore::open(database.url()).unwrap();
    let error = PostgresStore::open(database.url()).unwrap_err();
    assert!(matches!(error, StoreError::Locked { .. }), "{error:?}");
    assert!(error.to_string().contains(database.name()), "{error}");
    drop(first);
    PostgresStore::open(database.url()).unwrap();
}

#[test]
fn stores_opening_a_new_database_at_once_do_not_race_on_its_schema() {
    for _ in 0..3 {
        let database = scratch();
        let url = database.url().to_owned();
        let start = Arc::new(Barrier::new(4));
        let openers: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    start.wait();
                    PostgresStore::open(&url)
                })
            })
            .collect();
        let results: Vec<Result<PostgresStore, StoreError>> = openers
            .into_iter()
            .map(|opener| opener.join().unwrap())
            .collect();
        let opened = results.iter().filter(|result| result.is_ok()).count();
        for result in &results {
            assert!(
                matches!(result, Ok(_) | Err(StoreError::Locked { .. })),
                "{result:?}"
            );
        }
        assert_eq!(opened, 1, "one writer at a time");
        drop(results);
        let mut store = PostgresStore::open(&url).unwrap();
        store.append_events(&stored(&events("e", 1))).unwrap();
        store.commit().unwrap();
    }
}

#[test]
fn a_large_batch_goes_through_one_copy() {
    let database = scratch();
    let mut store = PostgresStore::open(database.url()).unwrap();
    // A statement-level trigger sees each statement that inserts events once, with its text.
    connect(&database)
        .batch_execute(
            "CREATE TABLE statements (query text NOT NULL);
             CREATE FUNCTION note_statement() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN INSERT INTO statements VALUES (current_query()); RETURN NULL; END $$;
             CREATE TRIGGER note_statement AFTER INSERT ON events
                 FOR EACH STATEMENT EXECUTE FUNCTION note_statement();",
        )
        .unwrap();
    let batch = events("bulk", 5_000);
    let outcome = store.append_events(&stored(&batch)).unwrap();
    assert_eq!(outcome.inserted, 5_000);
    store.commit().unwrap();
    let statements: Vec<String> = connect(&database)
        .query("SELECT query FROM statements", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(statements.len(), 1, "{statements:?}");
    assert!(
        statements[0].trim_start().starts_with("COPY events"),
        "{statements:?}"
    );
    let (page, next) = store.read_events(4_990, 100).unwrap();
    assert_eq!(page.len(), 10);
    assert_eq!(next, 5_000);
    assert_eq!(page[9], batch[4_999].json);
}

#[test]
fn a_lost_connection_breaks_the_store_until_it_is_reopened() {
    let database = scratch();
    let mut store = PostgresStore::open(database.url()).unwrap();
    store
        .append_events(&stored(&events("committed", 2)))
        .unwrap();
    store.commit().unwrap();
    store.append_events(&stored(&events("pending", 2))).unwrap();
    let mark = store.durability_mark();

    let terminated: i64 = connect(&database)
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()) AS ended",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(terminated, 1);

    let error = store
        .append_events(&stored(&events("after", 1)))
        .unwrap_err();
    assert!(matches!(error, StoreError::Io { .. }), "{error:?}");
    let again = store
        .append_events(&stored(&events("after", 1)))
        .unwrap_err();
    assert!(matches!(again, StoreError::Broken), "{again:?}");
    assert!(matches!(store.commit(), Err(StoreError::Broken)));

    store.reopen().unwrap();
    assert_ne!(
        store.durability_mark().0,
        mark.0,
        "the pending rows were lost"
    );
    assert_eq!(
        store.log_position().unwrap(),
        2,
        "only the committed events"
    );
    let outcome = store.append_events(&stored(&events("pending", 2))).unwrap();
    assert_eq!(outcome.inserted, 2);
    store.commit().unwrap();
    drop(store);
    assert_eq!(
        PostgresStore::open(database.url())
            .unwrap()
            .log_position()
            .unwrap(),
        4
    );
}

#[test]
fn a_failed_read_inside_the_batch_is_never_taken_for_a_commit() {
    let database = scratch();
    let mut store = PostgresStore::open(database.url()).unwrap();
    store.append_events(&stored(&events("pending", 2))).unwrap();
    // Behind the store's back: its next read of documents fails on the server, which aborts
    // the open transaction; a COMMIT would then roll back and report success.
    let mut admin = connect(&database);
    admin
        .batch_execute("ALTER TABLE documents RENAME TO documents_elsewhere")
        .unwrap();
    assert!(store.documents("scim-users").is_err());
    assert!(matches!(store.commit(), Err(StoreError::Broken)));
    admin
        .batch_execute("ALTER TABLE documents_elsewhere RENAME TO documents")
        .unwrap();
    store.reopen().unwrap();
    assert_eq!(store.log_position().unwrap(), 0);
}

#[test]
fn an_unreachable_server_is_named_in_the_error() {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    let error = PostgresStore::open("postgres://seam:secret@127.0.0.1:1/seam").unwrap_err();
    let text = error_text(&error);
    assert!(
        text.starts_with("cannot connect to `postgres://seam@127.0.0.1:1/seam`"),
        "{text}"
    );
    assert!(!text.contains("secret"), "the password stays out: {text}");
}

#[test]
fn any_string_is_kept_byte_for_byte_and_ordered_bytewise() {
    let database = scratch();
    let mut store = PostgresStore::open(database.url()).unwrap();
    // PostgreSQL's text cannot hold U+0000; a uid of 60 KiB is far past a btree entry.
    let long_uid = "u".repeat(60_000);
    let odd = Event {
        uid: "nul\0uid".to_owned(),
        json: "{\"raw\":\"a\0b\",\"é\":\"✓\"}".to_owned(),
    };
    let long = Event::new(&long_uid);
    let outcome = store
        .append_events(&[odd.stored(), long.stored(), long.stored()])
        .unwrap();
    assert_eq!(outcome.duplicate_indices, [2]);
    store.commit().unwrap();
    let outcome = store.append_events(&[long.stored(), odd.stored()]).unwrap();
    assert_eq!(outcome.duplicates, 2);
    assert_eq!(read_all(&store), [odd.json.as_str(), long.json.as_str()]);

    // Bytewise: "B" before "a", "z" before "é", whatever the database's collation.
    let uids = ["é", "a", "z", "B", "\0"];
    let findings: Vec<StoredFinding> = uids.iter().map(|uid| finding(uid)).collect();
    assert_eq!(store.append_findings(&findings).unwrap(), 5);
    let listed: Vec<String> = store
        .findings(&FindingFilter::default())
        .unwrap()
        .into_iter()
        .map(|finding| finding.uid)
        .collect();
    assert_eq!(listed, ["\0", "B", "a", "z", "é"]);
    store
        .write_documents(&[
            document("é", "{}"),
            document("Z", "{}"),
            document("a\0", "{}"),
        ])
        .unwrap();
    let ids: Vec<String> = store
        .documents("scim-users")
        .unwrap()
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids, ["Z", "a\0", "é"]);

    let letter = DeadLetter {
        source: "syslog".to_owned(),
        position: "p\0".to_owned(),
        observed: Ts::from_millis(1),
        reason: "quoted \0 byte".to_owned(),
        raw: vec![0; 10_000],
    };
    store
        .add_dead_letters(&[letter.clone(), letter.clone()])
        .unwrap();
    assert_eq!(store.dead_letters(10).unwrap(), [letter]);
    store.commit().unwrap();
}
