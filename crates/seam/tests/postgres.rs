//! `seam replay --store postgres://…` against the real PostgreSQL server (127.0.0.1:5432, or
//! `SEAM_TEST_POSTGRES`), each run in a database it makes: the same findings as the embedded
//! store, every event stored, and a second replay adding nothing. Fails loudly without the
//! server.

// Test helpers may panic: a panic in a test is a failed assertion.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::process::{Command, Output};

use seam_store::Store;

fn seam(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seam"))
        .args(args)
        .output()
        .unwrap()
}

fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scratch() -> seam_postgres::ScratchDatabase {
    let admin = seam_postgres::test_server_url();
    seam_postgres::ScratchDatabase::create(&admin, "seam_cli").unwrap_or_else(|e| {
        panic!("PostgreSQL is needed at {admin} (set SEAM_TEST_POSTGRES; .ci/run starts it): {e}")
    })
}

fn replay(store_args: &[&str], out: &Path) -> String {
    let estate = repo().join("examples/estate");
    let day = repo().join("examples/demo/day.ndjson");
    let mut args = vec![
        "replay",
        "--estate",
        estate.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(store_args);
    args.push(day.to_str().unwrap());
    let run = seam(&args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8_lossy(&run.stderr).into_owned()
}

fn sorted_lines(path: &Path) -> Vec<String> {
    let mut lines: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[test]
fn replay_into_postgres_finds_what_the_embedded_store_finds() {
    let database = scratch();
    let dir = tempfile::tempdir().unwrap();
    let embedded_out = dir.path().join("embedded.ndjson");
    let postgres_out = dir.path().join("postgres.ndjson");
    let data = dir.path().join("data");
    replay(&["--data-dir", data.to_str().unwrap()], &embedded_out);
    replay(&["--store", database.url()], &postgres_out);
    let expected = sorted_lines(&embedded_out);
    assert!(!expected.is_empty());
    assert_eq!(sorted_lines(&postgres_out), expected);

    let embedded = seam_store::EmbeddedStore::open(&data).unwrap();
    let postgres = seam_postgres::PostgresStore::open(database.url()).unwrap();
    let (embedded_counts, postgres_counts) =
        (embedded.counts().unwrap(), postgres.counts().unwrap());
    assert_eq!(postgres_counts.events, embedded_counts.events);
    assert_eq!(postgres_counts.findings, embedded_counts.findings);
    let all = seam_store::FindingFilter::default();
    let uids = |store: &dyn Store| -> Vec<String> {
        store
            .findings(&all)
            .unwrap()
            .into_iter()
            .map(|f| f.uid)
            .collect()
    };
    assert_eq!(uids(&postgres), uids(&embedded));
    drop(postgres);

    // Again: resumed from the snapshot, nothing new.
    let again = dir.path().join("again.ndjson");
    replay(&["--store", database.url()], &again);
    let postgres = seam_postgres::PostgresStore::open(database.url()).unwrap();
    assert_eq!(postgres.counts().unwrap().events, embedded_counts.events);
    assert!(std::fs::read_to_string(&again).unwrap().is_empty());
}

#[test]
fn a_person_is_exported_and_erased_from_postgres_and_the_audit_still_holds() {
    let database = scratch();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    replay(
        &["--store", database.url()],
        &dir.path().join("found.ndjson"),
    );
    let subject = |verb: &str, extra: &[&str]| {
        let mut args = vec![
            "subject",
            verb,
            "--data-dir",
            data_arg,
            "--store",
            database.url(),
            "--person",
            "erin",
        ];
        args.extend_from_slice(extra);
        let run = seam(&args);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        String::from_utf8_lossy(&run.stdout).into_owned()
    };
    let bundle: serde_json::Value =
        serde_json::from_str(&subject("export", &["--reason", "SAR-7"])).unwrap();
    assert!(!bundle["events"].as_array().unwrap().is_empty(), "{bundle}");
    subject("erase", &["--reason", "SAR-7"]);

    // Nothing of her is left in any row: every record found is a tombstone.
    let store = seam_postgres::PostgresStore::open(database.url()).unwrap();
    let needles = [
        "Erin Walsh".to_string(),
        "erin@example.com".to_string(),
        "00u1erin".to_string(),
    ];
    let left = seam_store::Lifecycle::subject_records(&store, &needles, 1000).unwrap();
    assert!(left.events.iter().all(|e| e.erased), "{:?}", left.events);
    assert!(left.findings.is_empty() && left.dead_letters.is_empty() && left.documents.is_empty());
    let findings = store
        .findings(&seam_store::FindingFilter::default())
        .unwrap();
    assert!(findings.iter().all(|f| !f.json.contains("Erin")));
    drop(store);
    let verify = seam(&[
        "audit",
        "verify",
        "--data-dir",
        data_arg,
        "--store",
        database.url(),
    ]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

#[test]
fn users_and_tokens_live_in_postgres_with_the_audit_in_the_data_directory() {
    use std::io::Write as _;
    let database = scratch();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_seam"))
        .args(["user", "add", "--data-dir", data, "--store", database.url()])
        .args(["--name", "root", "--role", "admin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long admin password\na long admin password\n")
        .unwrap();
    let added = child.wait_with_output().unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let store = seam_postgres::PostgresStore::open(database.url()).unwrap();
    let users = store.documents(seam_access::USERS_COLLECTION).unwrap();
    assert_eq!(users.len(), 1);
    assert!(users[0].1.contains("\"root\""));
    drop(store);
    // Not in the data directory's embedded store.
    assert!(!dir.path().join("seam.db").exists());
    let listed = seam(&[
        "user",
        "list",
        "--data-dir",
        data,
        "--store",
        database.url(),
    ]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("root"));
    // The audit records are in PostgreSQL beside the users, the key in the data directory.
    let verify = seam(&[
        "audit",
        "verify",
        "--data-dir",
        data,
        "--store",
        database.url(),
    ]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    assert!(String::from_utf8_lossy(&verify.stdout).contains("intact"));
    assert!(!dir.path().join("audit/audit-000001.log").exists());
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

#[test]
fn the_audit_log_in_postgres_is_pruned_behind_a_witnessed_anchor_and_still_verifies() {
    use seam_audit::{AuditAction, AuditEntry, AuditLog, FileWitness};
    let database = scratch();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let witness = dir.path().join("witness.log");
    // Two months of old records, checkpointed as the service does, then today's.
    {
        let storage = seam_postgres::audit_storage(database.url()).unwrap();
        let mut log = AuditLog::open_on(&data, storage).unwrap();
        log.add_witness(Box::new(FileWitness::new(&witness)));
        let start = seam_model::Ts::parse("2026-03-02T00:00:00Z")
            .unwrap()
            .millis();
        for i in 0..60 {
            let at = seam_model::Ts(start + i * 86_400_000);
            log.append(at, AuditEntry::new("u-1", AuditAction::SignIn))
                .unwrap();
            log.checkpoint(at).unwrap();
        }
        let now = seam_model::Ts(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64,
        );
        log.append(now, AuditEntry::new("u-1", AuditAction::SignIn))
            .unwrap();
        log.close(now).unwrap();
    }
    let config = dir.path().join("seam.toml");
    std::fs::write(
        &config,
        format!(
            "[retention]\naudit_days = 30\n[audit]\nwitness = \"{}\"\n",
            witness.display()
        ),
    )
    .unwrap();
    let data_arg = data.to_str().unwrap();
    let run = seam(&[
        "retention",
        "--data-dir",
        data_arg,
        "--config",
        config.to_str().unwrap(),
        "--store",
        database.url(),
        "--json",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&run.stdout).trim()).unwrap();
    assert!(
        summary["audit_records"].as_u64().unwrap() >= 59,
        "{summary}"
    );
    let verify = seam(&[
        "audit",
        "verify",
        "--data-dir",
        data_arg,
        "--store",
        database.url(),
        "--witness",
        witness.to_str().unwrap(),
    ]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}
