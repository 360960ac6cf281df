//! The lifecycle suite (subject access, erasure, retention) against PostgreSQL, and erasure
//! down to the server's pages: after erasing a person, no byte of their identifiers is in any
//! row, any page of any table, index or TOAST table of the store, nor in the planner's
//! statistics.
//!
//! Needs a server: 127.0.0.1:5432, user `postgres`, trust auth, or the admin URL in
//! `SEAM_TEST_POSTGRES`; the page checks need a superuser and the `pageinspect` extension
//! (in PostgreSQL's contrib). Without them the tests fail, saying so.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "the helpers are test code too: a panic there fails the test"
)]

use std::cell::RefCell;

use postgres::{Client, NoTls};
use seam_cases::case::{CaseDraft, Links};
use seam_cases::{Case, Suppression, TriageAction, TriageStatus};
use seam_postgres::{PostgresStore, ScratchDatabase, test_server_url};
use seam_store::conformance::lifecycle_suite;
use seam_store::workspace::{CaseQuery, CustodyEntry, Workspace};
use seam_store::{
    DeadLetter, DocumentWrite, ERASED_FINDING_UID_PREFIX, ErasureReport, FindingFilter, Lifecycle,
    Snapshot, Store, StoreError, StoredEvent, StoredFinding, SubjectRecords, Ts, Unresolved,
    json_escaped, tombstone_json,
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

#[test]
fn postgres_store_conforms_to_the_lifecycle_suite() {
    // Dropped, with their databases, when the test ends, passed or failed.
    let databases = RefCell::new(Vec::new());
    lifecycle_suite(|| {
        let database = scratch();
        let store = PostgresStore::open(database.url()).unwrap_or_else(|error| {
            panic!(
                "cannot open a store in `{}`: {}",
                database.url(),
                error_text(&error)
            )
        });
        databases.borrow_mut().push(database);
        Box::new(store) as Box<dyn Lifecycle>
    });
    assert!(
        databases.borrow().len() >= 10,
        "the suite made a store per check"
    );
}

/// Mallory's identifiers, as the subject erasure command would gather them.
const PERSON_ID: &str = "p-000417";
const NAME: &str = "Mallory Quint";
const BADGE: &str = "0047731";
const USERNAME: &str = r"CORP\mquint";
const EMAIL: &str = "m.quint@corp.example";
const MAC: &str = "3c:22:fb:9a:10:7e";
/// Only in rows deleted by ordinary operations before the erasure.
const OLD_EMAIL: &str = "mallory@old-provider.example";
/// Someone else, whose rows must come through unchanged.
const NINA: &str = "nina.okafor@corp.example";

fn needles() -> Vec<String> {
    [PERSON_ID, NAME, BADGE, USERNAME, EMAIL, MAC, OLD_EMAIL]
        .map(str::to_owned)
        .to_vec()
}

/// Every form a needle is stored in: as is, and escaped once and twice for JSON.
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

/// A plain connection to the scratch database, as the server's superuser.
fn connect(database: &ScratchDatabase) -> Client {
    Client::connect(database.url(), NoTls).unwrap()
}

/// Rows holding a needle, in every text or binary column of every table of the store's
/// schema, found through `information_schema` rather than from a list that could miss one.
fn rows_holding_a_needle(client: &mut Client) -> Vec<String> {
    let columns = client
        .query(
            "SELECT table_name::text, column_name::text, data_type::text
             FROM information_schema.columns
             WHERE table_schema = current_schema()
               AND data_type IN ('bytea', 'text', 'character varying', 'character', 'json',
                                 'jsonb', 'name', 'xml')
             ORDER BY table_name, column_name",
            &[],
        )
        .unwrap();
    let mut checked = Vec::new();
    let mut found = Vec::new();
    for column in columns {
        let (table, name, kind): (String, String, String) =
            (column.get(0), column.get(1), column.get(2));
        let bytes = if kind == "bytea" {
            format!("\"{name}\"")
        } else {
            format!("convert_to(\"{name}\"::text, 'UTF8')")
        };
        for form in forms() {
            let count: i64 = client
                .query_one(
                    &format!("SELECT count(*) FROM \"{table}\" WHERE position($1 IN {bytes}) > 0"),
                    &[&form],
                )
                .unwrap()
                .get(0);
            if count > 0 {
                found.push(format!(
                    "{count} rows of {table}.{name} hold `{}`",
                    String::from_utf8_lossy(&form)
                ));
            }
        }
        checked.push(format!("{table}.{name}"));
    }
    // A new column or table must be one erasure knows of: this list is the store's
    // `PERSONAL_TABLES`, and `seam_schema` holds only the schema's version.
    assert_eq!(
        checked,
        [
            "alert_keys.alert",
            "alert_keys.key",
            "alerts.id",
            "alerts.key",
            "alerts.site",
            "case_links.case_id",
            "case_links.kind",
            "case_links.value",
            "cases.id",
            "cases.json",
            "cases.status",
            "custody.action",
            "custody.actor",
            "custody.case_id",
            "custody.sha256",
            "dead_letters.position",
            "dead_letters.raw",
            "dead_letters.reason",
            "dead_letters.source",
            "documents.collection",
            "documents.id",
            "documents.json",
            "events.class",
            "events.json",
            "events.person",
            "events.source",
            "events.uid",
            "findings.json",
            "findings.person",
            "findings.rule",
            "findings.severity",
            "findings.uid",
            "snapshot_positions.position",
            "snapshot_positions.source",
            "snapshots.state",
            "suppressions.ended_by",
            "suppressions.id",
            "suppressions.json",
            "triage.alert",
            "triage.asset",
            "triage.assignee",
            "triage.person",
            "triage.rule",
            "triage.site",
            "triage.state",
            "triage.status",
            "triage.suppressed_by",
            "triage.team",
            "triage.text",
            "triage.uid",
            "triage.zone",
            "triage_log.action",
            "triage_log.actor",
            "triage_log.uid",
            "unresolved.event_uid",
            "unresolved.identifiers",
            "unresolved.source",
        ]
    );
    found
}

/// Where a needle is in any page of any relation of the database (tables, indexes, TOAST
/// tables, the system catalogs and `pg_statistic` among them; not the catalogs the cluster's
/// databases share), live row or not: what `get_raw_page` reads through the buffer cache,
/// unflushed changes included.
fn pages_holding_a_needle(client: &mut Client) -> Vec<String> {
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        .unwrap_or_else(|error| {
            panic!(
                "the page checks need a superuser and the pageinspect extension: {}",
                error_text(&error)
            )
        });
    let relations = client
        .query(
            "SELECT c.oid::regclass::text, pg_relation_size(c.oid) / 8192
             FROM pg_class c
             WHERE c.relkind IN ('r', 'i', 't', 'm') AND NOT c.relisshared
               AND c.relpersistence = 'p' AND pg_relation_size(c.oid) > 0
             ORDER BY 1",
            &[],
        )
        .unwrap();
    let mut found = Vec::new();
    let mut scanned = 0;
    for relation in relations {
        let (name, pages): (String, i64) = (relation.get(0), relation.get(1));
        for page in 0..pages {
            let bytes: Vec<u8> = client
                .query_one(
                    "SELECT get_raw_page($1, $2::int)",
                    &[&name, &i32::try_from(page).unwrap()],
                )
                .unwrap()
                .get(0);
            for form in leaked(&bytes) {
                found.push(format!("`{form}` in page {page} of {name}"));
            }
            scanned += 1;
        }
    }
    assert!(scanned > 100, "only {scanned} pages scanned");
    found
}

/// Text that does not compress: the TOAST table keeps it as it is, needle and all.
fn incompressible(bytes: usize) -> String {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..bytes)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'a' + (state % 26) as u8)
        })
        .collect()
}

struct Event {
    uid: String,
    source: String,
    class: String,
    person: Option<String>,
    json: String,
}

impl Event {
    fn new(uid: &str, source: &str, class: &str, person: Option<&str>, json: &str) -> Event {
        Event {
            uid: uid.to_owned(),
            source: source.to_owned(),
            class: class.to_owned(),
            person: person.map(str::to_owned),
            json: json.to_owned(),
        }
    }

    fn stored(&self) -> StoredEvent<'_> {
        StoredEvent {
            uid: &self.uid,
            time: Ts::from_millis(1_000),
            observed: Ts::from_millis(1_010),
            source: &self.source,
            class: &self.class,
            person: self.person.as_deref(),
            late: false,
            json: &self.json,
        }
    }
}

struct Events {
    /// In log order.
    list: Vec<Event>,
    /// Positions of Mallory's events.
    mallorys: Vec<usize>,
}

impl Events {
    fn stored(&self) -> Vec<StoredEvent<'_>> {
        self.list.iter().map(Event::stored).collect()
    }
}

/// Mallory's identifiers in every column an event has, Nina's events between them; two are
/// large enough for the TOAST table.
fn events() -> Events {
    let raw = json_escaped(&format!(r#"{{"user":"{}"}}"#, json_escaped(USERNAME)));
    let nina = "p-000001";
    let list = vec![
        Event::new(
            "n-1",
            "pacs",
            "access_granted",
            Some(nina),
            &format!(r#"{{"mail":"{NINA}"}}"#),
        ),
        Event::new(
            &format!("vpn-{EMAIL}-1"),
            "vpn",
            "sign_in",
            None,
            r#"{"up":true}"#,
        ),
        Event::new(
            "e-2",
            &format!("badge-{BADGE}"),
            "access_granted",
            None,
            "{}",
        ),
        Event::new("e-3", "ad", &format!("sign_in {USERNAME}"), None, "{}"),
        Event::new("e-4", "pacs", "access_granted", Some(PERSON_ID), "{}"),
        Event::new(
            "e-5",
            "ad",
            "sign_in",
            None,
            &format!(r#"{{"raw":"{raw}"}}"#),
        ),
        Event::new(
            "n-2",
            "pacs",
            "access_granted",
            Some(nina),
            &format!(r#"{{"blob":"{}"}}"#, incompressible(6_000)),
        ),
        Event::new(
            "e-6",
            "dhcp",
            "network_activity",
            None,
            &format!(
                r#"{{"blob":"{}","who":"{NAME}","tail":"{}"}}"#,
                incompressible(6_000),
                incompressible(6_000)
            ),
        ),
        Event::new(
            "n-3",
            "dhcp",
            "network_activity",
            None,
            &format!(r#"{{"mac":"aa:bb:cc:dd:ee:ff","mail":"{NINA}"}}"#),
        ),
    ];
    Events {
        list,
        mallorys: vec![1, 2, 3, 4, 5, 7],
    }
}

fn finding(
    uid: &str,
    rule: &str,
    person: Option<&str>,
    severity: &str,
    json: &str,
) -> StoredFinding {
    StoredFinding {
        uid: uid.to_owned(),
        rule: rule.to_owned(),
        time: Ts::from_millis(2_000),
        person: person.map(str::to_owned),
        severity: severity.to_owned(),
        json: json.to_owned(),
    }
}

fn letter(source: &str, position: &str, reason: &str, raw: &[u8]) -> DeadLetter {
    DeadLetter {
        source: source.to_owned(),
        position: position.to_owned(),
        observed: Ts::from_millis(3_000),
        reason: reason.to_owned(),
        raw: raw.to_vec(),
    }
}

fn document(collection: &str, id: &str, json: Option<&str>) -> DocumentWrite {
    DocumentWrite {
        collection: collection.to_owned(),
        id: id.to_owned(),
        json: json.map(str::to_owned),
    }
}

fn snapshot(log_position: u64, positions: &[(&str, &str)], state: &str) -> Snapshot {
    Snapshot {
        positions: positions
            .iter()
            .map(|(source, position)| ((*source).to_owned(), (*position).to_owned()))
            .collect(),
        log_position,
        state: state.as_bytes().to_vec(),
    }
}

/// What Nina has besides events, which must come through the erasure unchanged.
struct Others {
    findings: Vec<StoredFinding>,
    letters: Vec<DeadLetter>,
    documents: Vec<(String, String)>,
    snapshot: Snapshot,
}

/// Writes Mallory's and Nina's rows of every kind, and rows with Mallory's old address that
/// ordinary operations delete again, leaving dead row versions behind.
fn populate(store: &mut PostgresStore, events: &Events) -> Others {
    let stored = events.stored();
    store.append_events(&stored[..6]).unwrap();
    store.commit().unwrap();

    let others = Others {
        findings: vec![finding(
            "f-nina",
            "tailgating",
            Some("p-000001"),
            "high",
            r#"{"who":"nina"}"#,
        )],
        letters: vec![letter("syslog", "1", "no time field", b"\xff\x00nina raw")],
        documents: vec![("n-1".to_owned(), format!(r#"{{"userName":"{NINA}"}}"#))],
        snapshot: snapshot(6, &[("pacs", "6")], r#"{"people":["p-000001"]}"#),
    };
    // The oldest of four snapshots goes when the fourth is saved: a deleted row.
    store
        .save_snapshot(&snapshot(
            1,
            &[("pacs", "1")],
            &format!(r#"{{"old":"{OLD_EMAIL}"}}"#),
        ))
        .unwrap();
    store.save_snapshot(&others.snapshot).unwrap();
    store
        .save_snapshot(&snapshot(
            6,
            &[("pacs", "6")],
            &format!(r#"{{"people":["{NAME}"]}}"#),
        ))
        .unwrap();
    store
        .save_snapshot(&snapshot(6, &[(&format!("vpn {EMAIL}"), "6")], "{}"))
        .unwrap();

    let mut raw = b"\xfe\x00<13>".to_vec();
    raw.extend_from_slice(NAME.as_bytes());
    raw.push(0xc3);
    store
        .append_findings(&[
            others.findings[0].clone(),
            finding(
                &format!("f-{PERSON_ID}"),
                "tailgating",
                Some(PERSON_ID),
                "high",
                "{}",
            ),
            finding(
                "f-2",
                &format!("badge {BADGE} shared"),
                None,
                &format!("high for {MAC}"),
                "{}",
            ),
            finding(
                "f-3",
                "impossible_travel",
                None,
                "medium",
                &format!(r#"{{"user":"{}"}}"#, json_escaped(USERNAME)),
            ),
        ])
        .unwrap();
    store
        .add_dead_letters(&[
            others.letters[0].clone(),
            letter("syslog", "2", "no time field", &raw),
            letter(&format!("mail {EMAIL}"), "3", "x", b"y"),
            letter("syslog", &format!("{BADGE}:4"), "x", b"y"),
            letter("syslog", "5", &format!("unknown MAC {MAC}"), b"y"),
            // Older than the others: pruned below.
            DeadLetter {
                observed: Ts::from_millis(2_000),
                ..letter("syslog", "6", "x", OLD_EMAIL.as_bytes())
            },
        ])
        .unwrap();
    // Unresolved entries are all Mallory's: the erasure empties the table.
    store
        .add_unresolved(&[
            Unresolved {
                event_uid: format!("u-{USERNAME}"),
                time: Ts::from_millis(4_000),
                source: "vpn".to_owned(),
                identifiers: format!("mac={MAC}"),
            },
            Unresolved {
                event_uid: "u-2".to_owned(),
                time: Ts::from_millis(4_001),
                source: format!("vpn {EMAIL}"),
                identifiers: "x".to_owned(),
            },
        ])
        .unwrap();
    store
        .write_documents(&[
            document("scim-users", "n-1", Some(&others.documents[0].1)),
            document(
                "scim-users",
                PERSON_ID,
                Some(&format!(r#"{{"userName":"{EMAIL}"}}"#)),
            ),
            document(&format!("groups of {NAME}"), "g-1", Some("{}")),
            document(
                "scim-users",
                "old",
                Some(&format!(r#"{{"mail":"{OLD_EMAIL}"}}"#)),
            ),
        ])
        .unwrap();
    store.commit().unwrap();
    // Deleted the ordinary way: dead row versions holding the old address.
    store
        .write_documents(&[document("scim-users", "old", None)])
        .unwrap();
    assert_eq!(store.prune_dead_letters(Ts::from_millis(2_001)).unwrap(), 1);
    store.commit().unwrap();
    others
}

/// An erased event's row as stored: position, uid, uid_digested, source, class.
type TombstoneRow = (i64, Vec<u8>, bool, Vec<u8>, Vec<u8>);

#[test]
fn an_erased_person_is_in_no_row_no_page_and_no_statistic() {
    let database = scratch();
    let mut client = connect(&database);
    let mut store = PostgresStore::open(database.url()).unwrap();
    let events = events();
    let others = populate(&mut store, &events);
    let work = populate_workspace(&mut store);
    // What autovacuum does on its own: the planner's statistics sample the rows.
    client.batch_execute("ANALYZE").unwrap();
    // The rest of the events are not committed when the erasure starts.
    let stored = events.stored();
    store.append_events(&stored[6..]).unwrap();

    let before = pages_holding_a_needle(&mut client);
    for relation in [
        "events",
        "pg_toast.pg_toast_",
        "documents",
        "dead_letters",
        "pg_statistic",
        "triage",
        "alert_keys",
        "cases",
        "case_links",
        "suppressions",
        "triage_log",
        "custody",
    ] {
        assert!(
            before
                .iter()
                .any(|leak| leak.contains(&format!(" of {relation}"))),
            "the page scan finds the needles in {relation} before the erasure: {before:#?}"
        );
    }
    let end = store.log_position().unwrap();

    let report = store.erase_subject(&needles(), "GDPR art. 17").unwrap();
    assert_eq!(
        report,
        ErasureReport {
            events: 6,
            digested_uids: 1,
            findings: 3,
            dead_letters: 4,
            unresolved: 2,
            documents: 2,
            snapshots: 2,
        }
    );

    let rows = rows_holding_a_needle(&mut client);
    assert!(rows.is_empty(), "{rows:#?}");
    let pages = pages_holding_a_needle(&mut client);
    assert!(pages.is_empty(), "{pages:#?}");
    assert_eq!(
        store.subject_records(&needles(), 100).unwrap(),
        SubjectRecords::default()
    );

    // Positions stay; Mallory's events are tombstones, Nina's as they were.
    assert_eq!(store.log_position().unwrap(), end);
    let tombstone = tombstone_json("GDPR art. 17").unwrap();
    let read = store.read_events(0, usize::MAX).unwrap().0;
    assert_eq!(read.len(), events.list.len());
    for (position, (event, json)) in events.list.iter().zip(&read).enumerate() {
        if events.mallorys.contains(&position) {
            assert_eq!(*json, tombstone, "position {position}");
        } else {
            assert_eq!(*json, event.json, "position {position}");
        }
    }
    let tombstones: Vec<TombstoneRow> = client
        .query(
            "SELECT position, uid, uid_digested, source, class FROM events
             WHERE tombstone AND person IS NULL ORDER BY position",
            &[],
        )
        .unwrap()
        .into_iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)))
        .collect();
    let digest: Vec<u8> = client
        .query_one("SELECT sha256($1)", &[&format!("vpn-{EMAIL}-1").as_bytes()])
        .unwrap()
        .get(0);
    let kept = |position: i64, uid: &str, source: &str, class: &str| -> TombstoneRow {
        (position, uid.into(), false, source.into(), class.into())
    };
    assert_eq!(
        tombstones,
        [
            (1, digest, true, b"vpn".to_vec(), b"sign_in".to_vec()),
            kept(2, "e-2", "", "access_granted"),
            kept(3, "e-3", "ad", ""),
            kept(4, "e-4", "pacs", "access_granted"),
            kept(5, "e-5", "ad", "sign_in"),
            kept(7, "e-6", "dhcp", "network_activity"),
        ],
        "a uid that named her is digested, a source or class emptied, the person gone"
    );

    let findings = store.findings(&FindingFilter::default()).unwrap();
    assert_eq!(findings.len(), 4, "finding rows stay");
    assert!(findings.contains(&others.findings[0]));
    let cleaned = findings
        .iter()
        .find(|finding| finding.uid == "f-2")
        .unwrap();
    assert_eq!((cleaned.rule.as_str(), cleaned.severity.as_str()), ("", ""));
    assert!(
        findings
            .iter()
            .any(|finding| finding.uid.starts_with(ERASED_FINDING_UID_PREFIX))
    );
    assert_eq!(store.dead_letters(100).unwrap(), others.letters);
    assert_eq!(store.unresolved(100).unwrap(), []);
    assert_eq!(store.documents("scim-users").unwrap(), others.documents);
    assert_eq!(store.snapshots().unwrap(), vec![others.snapshot]);
    check_workspace_after_erasure(&store, &work);

    // Replaying the sources brings nothing back, before and after reopening.
    let outcome = store.append_events(&stored).unwrap();
    assert_eq!((outcome.inserted, outcome.duplicates), (0, stored.len()));
    store.commit().unwrap();
    drop(store);
    let mut store = PostgresStore::open(database.url()).unwrap();
    let outcome = store.append_events(&stored).unwrap();
    assert_eq!(
        outcome.inserted, 0,
        "erased uids stay duplicates after reopening"
    );
    let later = Event::new("later", "pacs", "access_granted", None, "{}");
    assert_eq!(store.append_events(&[later.stored()]).unwrap().inserted, 1);
    store.commit().unwrap();
    assert_eq!(store.log_position().unwrap(), end + 1);
}

#[test]
fn an_erasure_held_up_by_an_older_snapshot_completes_when_run_again() {
    let database = scratch();
    let mut client = connect(&database);
    let mut store = PostgresStore::open(database.url()).unwrap();
    let events = events();
    populate(&mut store, &events);
    store.append_events(&events.stored()[6..]).unwrap();
    store.commit().unwrap();

    // A report that began before the erasure and still reads: it may see the old rows.
    let mut reader = connect(&database);
    reader
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM events")
        .unwrap();
    let result = store.erase_subject(&needles(), "held up");
    assert!(
        matches!(result, Err(StoreError::WalInUse)),
        "got {result:?}"
    );
    assert_eq!(
        store.subject_records(&needles(), 10).unwrap(),
        SubjectRecords::default(),
        "the rows are erased; only their old versions are left"
    );
    let seen: i64 = reader
        .query_one(
            "SELECT count(*) FROM events WHERE position($1 IN json) > 0",
            &[&NAME.as_bytes()],
        )
        .unwrap()
        .get(0);
    assert_eq!(seen, 1, "the older snapshot still reads them");
    reader.batch_execute("COMMIT").unwrap();

    let report = store.erase_subject(&needles(), "held up").unwrap();
    assert_eq!(report, ErasureReport::default());
    let pages = pages_holding_a_needle(&mut client);
    assert!(pages.is_empty(), "{pages:#?}");
}

#[test]
fn a_store_from_before_erasure_is_migrated_and_keeps_its_events_live() {
    let database = scratch();
    let events = events();
    {
        let mut store = PostgresStore::open(database.url()).unwrap();
        store.append_events(&events.stored()).unwrap();
        store.commit().unwrap();
    }
    // The first schema: no tombstone columns.
    connect(&database)
        .batch_execute(
            "DROP TABLE triage, alerts, alert_keys, triage_log, suppressions, cases,
                 case_links, case_sequence, custody;
             DROP INDEX events_by_time_range;
             ALTER TABLE events DROP COLUMN tombstone, DROP COLUMN uid_digested;
             UPDATE seam_schema SET version = 1",
        )
        .unwrap();
    let mut store = PostgresStore::open(database.url()).unwrap();
    let version: i32 = connect(&database)
        .query_one("SELECT version FROM seam_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, 4, "migrated to the workspace too");
    let found = store.subject_records(&needles(), 100).unwrap();
    assert_eq!(found.events.len(), events.mallorys.len());
    assert!(found.events.iter().all(|event| !event.erased));
    let report = store.erase_subject(&needles(), "migrated").unwrap();
    assert_eq!((report.events, report.digested_uids), (6, 1));
    assert_eq!(store.append_events(&events.stored()).unwrap().inserted, 0);
}

/// Mallory's and Nina's work in the workspace: cases, a suppression, triage acts, custody.
struct Work {
    nina_case: Case,
    mallory_case: String,
    suppression: Suppression,
}

fn populate_workspace(store: &mut PostgresStore) -> Work {
    let open = |store: &mut PostgresStore, title: String, people: &[&str], findings: &[&str]| {
        store
            .create_case(&mut |id| {
                Case::open(
                    id,
                    CaseDraft {
                        title: title.clone(),
                        links: Links {
                            findings: findings.iter().map(|f| (*f).to_owned()).collect(),
                            people: people.iter().map(|p| (*p).to_owned()).collect(),
                            ..Links::default()
                        },
                        ..CaseDraft::default()
                    },
                    Vec::new(),
                    "ann",
                    10,
                )
            })
            .unwrap()
    };
    let nina_case = open(store, "Nina's badge".to_owned(), &["p-000001"], &["f-nina"]);
    let mallory_case = open(
        store,
        format!("Tailgating by {NAME}"),
        &[PERSON_ID, "p-000001"],
        &[&format!("f-{PERSON_ID}"), "f-nina"],
    )
    .id;
    let suppression = Suppression {
        id: "sup-1".to_owned(),
        rule: Some("tailgating".to_owned()),
        person: Some(PERSON_ID.to_owned()),
        zone: None,
        asset: None,
        site: None,
        reason: format!("{NAME} escorts visitors"),
        owner: "ann".to_owned(),
        created_at: 0,
        expires_at: i64::MAX,
    };
    store.add_suppression(&suppression).unwrap();
    store
        .triage(
            "f-nina",
            &TriageAction::Comment {
                text: format!("followed by {EMAIL}"),
            },
            "ann",
            20,
            None,
        )
        .unwrap();
    store
        .triage("f-nina", &TriageAction::Acknowledge, "ann", 21, None)
        .unwrap();
    store
        .record_custody(&CustodyEntry {
            case_id: mallory_case.clone(),
            sha256: "a".repeat(64),
            at: 30,
            actor: USERNAME.to_owned(),
            action: "uploaded".to_owned(),
        })
        .unwrap();
    store.commit().unwrap();
    Work {
        nina_case,
        mallory_case,
        suppression,
    }
}

fn check_workspace_after_erasure(store: &PostgresStore, work: &Work) {
    assert_eq!(
        store.case(&work.nina_case.id).unwrap().as_ref(),
        Some(&work.nina_case),
        "Nina's case is as it was"
    );
    let mallorys = store.case(&work.mallory_case).unwrap().unwrap();
    assert_eq!(mallorys.title, "[erased]", "the case stays, her name goes");
    assert_eq!(
        mallorys.links.people.iter().collect::<Vec<_>>(),
        ["p-000001"]
    );
    assert_eq!(
        mallorys.links.findings.iter().collect::<Vec<_>>(),
        ["f-nina"]
    );
    let by_person = store
        .list_cases(&CaseQuery {
            person: Some(PERSON_ID.to_owned()),
            limit: 10,
            ..CaseQuery::default()
        })
        .unwrap();
    assert!(by_person.is_empty(), "no link names her");
    let suppressions = store.suppressions().unwrap();
    assert_eq!(suppressions.len(), 1);
    let kept = &suppressions[0].suppression;
    assert_eq!(kept.id, work.suppression.id);
    assert_eq!(kept.person.as_deref(), Some("[erased]"));
    assert_eq!(kept.reason, "[erased]");
    assert!(store.custody(&work.mallory_case).unwrap().is_empty());
    let nina = store.triaged("f-nina").unwrap().unwrap();
    assert_eq!(nina.triage.status, TriageStatus::Acknowledged);
    let log: Vec<&str> = store
        .triage_log("f-nina")
        .unwrap()
        .iter()
        .map(|entry| entry.action.name())
        .collect();
    assert_eq!(log, ["acknowledge"], "the comment naming her is gone");
    assert!(
        store.triaged(&format!("f-{PERSON_ID}")).unwrap().is_none(),
        "her finding's triage row is gone"
    );
}
