//! The service on the PostgreSQL store (the real server on 127.0.0.1:5432, or
//! `SEAM_TEST_POSTGRES`; each run in a database it makes): what is acknowledged is stored
//! there, findings are listed from there, and a restart resumes from its snapshot without
//! repeating a finding. Fails loudly without the server.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::*;
use seam_serve::client::HttpClient;
use seam_store::Store;

#[test]
fn the_service_stores_in_postgres_and_resumes_from_it() {
    let admin = seam_postgres::test_server_url();
    let database =
        seam_postgres::ScratchDatabase::create(&admin, "seam_serve").unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is needed at {admin} (set SEAM_TEST_POSTGRES; .ci/run starts it): {e}"
            )
        });
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path(), vec![http_source("pacs", "uhppote")]);
    config.store_url = Some(database.url().to_string());
    let server = start(&config);
    let addr = server.addresses().http;
    // Erin left in February; her uncollected badge opens a door.
    let event_id = (now_ms() % 1_000_000_000) as u64;
    let sent = HttpClient::new(addr)
        .post(
            "/v1/ingest/pacs",
            &[("content-type", "application/json")],
            uhppote_swipe(4415, event_id, now_ms() - 1000).as_bytes(),
        )
        .unwrap();
    assert_eq!(sent.status, 200, "{}", sent.text());
    let found = wait_findings(addr, "rule=seam.inactive-person-credential", 1);
    assert_eq!(found.len(), 1);
    server.shutdown().unwrap();
    // Nothing of it in the data directory's embedded store, nor audit records in its files:
    // it is all in PostgreSQL (the audit log's key stays in the data directory).
    assert!(!dir.path().join("seam.db").exists());
    assert!(!dir.path().join("audit/audit-000001.log").exists());
    assert!(dir.path().join("audit/signing.key").exists());
    let mut storage = seam_postgres::audit_storage(database.url()).unwrap();
    let report = seam_audit::verify_on(&mut *storage, dir.path(), &Default::default()).unwrap();
    assert!(report.is_intact() && report.records >= 2, "{report:?}");
    let store = seam_postgres::PostgresStore::open(database.url()).unwrap();
    let counts = store.counts().unwrap();
    assert!(counts.events >= 1 && counts.findings == 1, "{counts:?}");
    drop(store);

    // A restart resumes from the snapshot in PostgreSQL: the finding is not raised again.
    let server = start(&config);
    let addr = server.addresses().http;
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let listed = HttpClient::new(addr)
        .get("/v1/findings?rule=seam.inactive-person-credential")
        .unwrap();
    assert_eq!(listed.json()["count"], 1, "{}", listed.text());
    server.shutdown().unwrap();
}
