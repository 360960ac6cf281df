//! The shared workspace suite (triage, alerts, suppressions, cases, custody) against
//! PostgreSQL: each store in a database of its own.
//!
//! Needs a server: 127.0.0.1:5432, user `postgres`, trust auth, or the admin URL in
//! `SEAM_TEST_POSTGRES`. Without one the test fails, saying so.
#![expect(clippy::panic, reason = "test code: a panic fails the test")]

use std::cell::RefCell;

use postgres::{Client, NoTls};
use seam_postgres::{PostgresStore, ScratchDatabase, test_server_url};
use seam_store::conformance::{WorkspaceStore, workspace_suite};
use seam_store::workspace::{FindingQuery, Workspace};
use seam_store::{Store, StoredFinding, Ts};

fn scratch() -> ScratchDatabase {
    let server = test_server_url();
    ScratchDatabase::create(&server, "seam_test").unwrap_or_else(|error| {
        panic!(
            "cannot create a test database on the PostgreSQL server `{server}` \
             (set SEAM_TEST_POSTGRES to another server's admin URL): {}",
            error_text(&error)
        )
    })
}

fn open(database: &ScratchDatabase) -> PostgresStore {
    PostgresStore::open(database.url()).unwrap_or_else(|error| {
        panic!(
            "cannot open a store in `{}`: {}",
            database.url(),
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
fn postgres_store_conforms_to_the_workspace_suite() {
    // Dropped, with their databases, when the test ends, passed or failed.
    let databases = RefCell::new(Vec::new());
    workspace_suite(|| {
        let database = scratch();
        let store = open(&database);
        databases.borrow_mut().push(database);
        Box::new(store) as Box<dyn WorkspaceStore>
    });
    assert!(
        databases.borrow().len() >= 10,
        "the suite made a store per check"
    );
}

fn finding(uid: &str, minute: i64) -> StoredFinding {
    StoredFinding {
        uid: uid.to_owned(),
        rule: "seam.tailgating".to_owned(),
        time: Ts::from_millis(1_772_400_000_000 + minute * 60_000),
        person: Some("bob".to_owned()),
        severity: "high".to_owned(),
        json: format!("{{\"finding_info\":{{\"uid\":\"{uid}\",\"title\":\"Tailgating\"}}}}"),
    }
}

#[test]
fn findings_stored_before_the_workspace_are_triaged_on_open() {
    let database = scratch();
    let mut store = open(&database);
    store
        .append_findings(&[finding("old-1", 0), finding("old-2", 1)])
        .unwrap();
    store.commit().unwrap();
    drop(store);
    // As the build before the workspace left it: findings, schema version 2.
    let mut client = Client::connect(database.url(), NoTls).unwrap();
    client
        .batch_execute(
            "DROP TABLE triage, alerts, alert_keys, triage_log, suppressions, cases,
                 case_links, case_sequence, custody;
             UPDATE seam_schema SET version = 2",
        )
        .unwrap();
    drop(client);
    let store = open(&database);
    let listed: Vec<String> = store
        .list_findings(&FindingQuery {
            limit: 10,
            ..FindingQuery::default()
        })
        .unwrap()
        .findings
        .into_iter()
        .map(|finding| finding.uid)
        .collect();
    assert_eq!(listed, ["old-2", "old-1"]);
    let one = store.triaged("old-1").unwrap().unwrap();
    assert_eq!(one.person.as_deref(), Some("bob"));
    assert_eq!(
        store.triaged("old-2").unwrap().unwrap().alert,
        one.alert,
        "grouped by the person, as when they were stored"
    );
}

#[test]
fn a_duplicate_in_one_batch_is_triaged_once_and_a_failed_case_save_keeps_the_batch() {
    let database = scratch();
    let mut store = open(&database);
    let first = finding("dup", 0);
    let mut second = finding("dup", 5);
    second.person = Some("ann".to_owned());
    assert_eq!(store.append_findings(&[first, second]).unwrap(), 1);
    let kept = store.triaged("dup").unwrap().unwrap();
    assert_eq!(
        kept.person.as_deref(),
        Some("bob"),
        "the first copy is kept"
    );
    // A conflict is refused without breaking the open batch: the finding is still there.
    let case = store
        .create_case(&mut |id| {
            seam_cases::Case::open(
                id,
                seam_cases::case::CaseDraft {
                    title: "dup".to_owned(),
                    ..seam_cases::case::CaseDraft::default()
                },
                Vec::new(),
                "ann",
                1,
            )
        })
        .unwrap();
    let mut stale = case.clone();
    stale.version += 5;
    assert!(matches!(
        store.save_cases(&[stale]),
        Err(seam_store::StoreError::Conflict { .. })
    ));
    store.commit().unwrap();
    assert!(store.triaged("dup").unwrap().is_some());
    assert_eq!(store.case(&case.id).unwrap(), Some(case));
}
