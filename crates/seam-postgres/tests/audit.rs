//! The audit log on PostgreSQL: the same lines as in files, byte for byte, and every kind of
//! tampering with the tables (an edited, deleted, inserted or moved row, a tail cut after a
//! witnessed checkpoint, a checkpoint signed by another key) caught and named as it is in
//! files.
//!
//! Needs a server: 127.0.0.1:5432, user `postgres`, trust auth, or the admin URL in
//! `SEAM_TEST_POSTGRES`. Without one every test fails, saying so.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "the helpers are test code too: a panic there fails the test"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use postgres::{Client, NoTls};
use seam_audit::{
    AuditAction, AuditEntry, AuditError, AuditKey, AuditLog, AuditRecord, AuditStorage, Checkpoint,
    CheckpointSource, FileWitness, Problem, PublicKey, VerifyOptions, VerifyReport, audit_dir,
    export, export_on, verify, verify_on,
};
use seam_postgres::{AUDIT_RECORDS_TABLE, ScratchDatabase, audit_storage, test_server_url};
use seam_store::Ts;

/// A fresh database on the test server; the test fails loudly when there is no server.
fn scratch() -> ScratchDatabase {
    let server = test_server_url();
    ScratchDatabase::create(&server, "seam_audit_test").unwrap_or_else(|error| {
        panic!(
            "cannot create a test database on the PostgreSQL server `{server}` (set \
             SEAM_TEST_POSTGRES to another server's admin URL): {error}"
        )
    })
}

/// A directory of its own under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

static TEMP_NUMBER: AtomicU64 = AtomicU64::new(0);

impl TempDir {
    fn new(label: &str) -> TempDir {
        let number = TEMP_NUMBER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "seam-pg-audit-{label}-{}-{number}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn storage(database: &ScratchDatabase) -> Box<dyn AuditStorage> {
    audit_storage(database.url()).unwrap()
}

fn connect(database: &ScratchDatabase) -> Client {
    Client::connect(database.url(), NoTls).unwrap()
}

fn entry(n: u64) -> AuditEntry {
    let action = AuditAction::ALL[(n as usize) % AuditAction::ALL.len()];
    AuditEntry::new(format!("u-{:04x}", n % 7), action)
        .subject(format!("p-{n:016x}"))
        .purpose("case review")
        // `{"n":n}`, made without naming serde_json, which this crate does not depend on.
        .detail([("n", n)].into_iter().collect())
}

/// Appends `records` records, checkpointing after every `checkpoint_every` (and at the end
/// when asked), witnessed in `witness`.
fn write_log(log: &mut AuditLog, witness: &Path, records: u64, every: u64, last: bool) {
    log.add_witness(Box::new(FileWitness::new(witness)));
    for n in 1..=records {
        log.append(Ts::from_secs(1_000 + n as i64), entry(n))
            .unwrap();
        if n % every == 0 {
            log.checkpoint(Ts::from_secs(1_000 + n as i64)).unwrap();
        }
    }
    log.sync().unwrap();
    if last {
        log.checkpoint(Ts::from_secs(5_000)).unwrap();
    }
}

/// A PostgreSQL-backed log: its database, its data directory (the key) and a witness
/// outside it.
struct Fixture {
    database: ScratchDatabase,
    data: TempDir,
    _outside: TempDir,
    witness: PathBuf,
    key: PublicKey,
}

impl Fixture {
    fn verify(&self) -> VerifyReport {
        verify_on(
            &mut *storage(&self.database),
            self.data.path(),
            &VerifyOptions {
                witness: Some(self.witness.clone()),
                trusted_key: Some(self.key),
            },
        )
        .unwrap()
    }

    fn verify_alone(&self) -> VerifyReport {
        verify_on(
            &mut *storage(&self.database),
            self.data.path(),
            &VerifyOptions::default(),
        )
        .unwrap()
    }

    fn sql(&self, statements: &str) {
        connect(&self.database).batch_execute(statements).unwrap();
    }

    fn record(&self, seq: i64) -> AuditRecord {
        let line: Vec<u8> = connect(&self.database)
            .query_one("SELECT line FROM audit_records WHERE seq = $1", &[&seq])
            .unwrap()
            .get(0);
        AuditRecord::from_line(&line).unwrap()
    }

    fn insert_checkpoint(&self, checkpoint: &Checkpoint) {
        let line = checkpoint.to_line().unwrap();
        connect(&self.database)
            .execute(
                "INSERT INTO audit_checkpoints (line) VALUES ($1)",
                &[&line.strip_suffix(b"\n").unwrap()],
            )
            .unwrap();
    }

    fn signing_key(&self) -> AuditKey {
        let seed: [u8; 32] = fs::read(audit_dir(self.data.path()).join("signing.key"))
            .unwrap()
            .try_into()
            .unwrap();
        AuditKey::from_seed(&seed)
    }
}

fn fixture(records: u64, every: u64, last: bool) -> Fixture {
    let database = scratch();
    let data = TempDir::new("data");
    let outside = TempDir::new("outside");
    let witness = outside.path().join("witness.log");
    let mut log = AuditLog::open_on(data.path(), storage(&database)).unwrap();
    write_log(&mut log, &witness, records, every, last);
    let key = log.public_key();
    Fixture {
        database,
        data,
        _outside: outside,
        witness,
        key,
    }
}

fn first(report: &VerifyReport) -> Problem {
    report
        .first_problem()
        .cloned()
        .unwrap_or_else(|| panic!("intact: {report:?}"))
}

fn table() -> String {
    AUDIT_RECORDS_TABLE.to_string()
}

#[test]
fn an_intact_log_verifies_with_and_without_the_witness() {
    let f = fixture(25, 10, true);
    let report = f.verify();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.records, 25);
    assert_eq!(report.last_seq, 25);
    assert_eq!(report.segments, 1);
    assert_eq!(report.checkpoints, 3);
    assert_eq!(report.witnessed, 3);
    assert_eq!(report.last_witnessed_seq, Some(25));
    assert_eq!(report.unprotected_records(), 0);
    assert!(f.verify_alone().is_intact());
    // Only the lines moved: the key stays in the data directory, no segment is written.
    let audit = audit_dir(f.data.path());
    assert!(audit.join("signing.key").exists());
    assert!(!audit.join("audit-000001.log").exists());
    assert!(!audit.join("checkpoints.log").exists());
}

#[test]
fn the_lines_and_exports_are_those_of_files_byte_for_byte() {
    let files = TempDir::new("files");
    let outside = TempDir::new("outside");
    let mut log = AuditLog::open(files.path()).unwrap();
    write_log(&mut log, &outside.path().join("files.log"), 30, 7, true);
    drop(log);

    // The same key, so that the checkpoints are the same lines too.
    let database = scratch();
    let data = TempDir::new("data");
    fs::create_dir_all(audit_dir(data.path())).unwrap();
    for file in ["signing.key", "signing.pub"] {
        fs::copy(
            audit_dir(files.path()).join(file),
            audit_dir(data.path()).join(file),
        )
        .unwrap();
    }
    let mut log = AuditLog::open_on(data.path(), storage(&database)).unwrap();
    write_log(&mut log, &outside.path().join("pg.log"), 30, 7, true);
    drop(log);

    let mut client = connect(&database);
    let rows = |query: &str, client: &mut Client| -> Vec<u8> {
        let mut text = Vec::new();
        for row in client.query(query, &[]).unwrap() {
            text.extend_from_slice(row.get::<_, &[u8]>(0));
            text.push(b'\n');
        }
        text
    };
    assert_eq!(
        rows("SELECT line FROM audit_records ORDER BY seq", &mut client),
        fs::read(audit_dir(files.path()).join("audit-000001.log")).unwrap()
    );
    assert_eq!(
        rows(
            "SELECT line FROM audit_checkpoints ORDER BY id",
            &mut client
        ),
        fs::read(audit_dir(files.path()).join("checkpoints.log")).unwrap()
    );

    let (from, to) = (Ts::from_secs(1_010), Ts::from_secs(1_020));
    let mut from_files = Vec::new();
    export(files.path(), from, to, &mut from_files).unwrap();
    let mut from_tables = Vec::new();
    export_on(
        &mut *storage(&database),
        data.path(),
        from,
        to,
        &mut from_tables,
    )
    .unwrap();
    assert_eq!(from_tables, from_files);
    let key = PublicKey::read(&audit_dir(data.path()).join("signing.pub")).unwrap();
    assert!(
        seam_audit::verify_export(&from_tables[..], &key)
            .unwrap()
            .is_intact()
    );
    let report = verify(files.path(), &VerifyOptions::default()).unwrap();
    let on_tables = verify_on(
        &mut *storage(&database),
        data.path(),
        &VerifyOptions::default(),
    )
    .unwrap();
    assert_eq!(
        (
            on_tables.records,
            on_tables.head_hash,
            on_tables.checkpoints
        ),
        (report.records, report.head_hash, report.checkpoints)
    );
}

#[test]
fn reopening_continues_the_chain_and_a_second_writer_is_refused() {
    let f = fixture(5, 100, false);
    let mut log = AuditLog::open_on(f.data.path(), storage(&f.database)).unwrap();
    assert_eq!(log.head(), (5, f.record(5).hash));
    assert_eq!(log.unchecked_records(), 5);
    let sixth = log.append(Ts::from_secs(2_000), entry(6)).unwrap();
    assert_eq!(sixth.prev, f.record(5).hash);
    log.checkpoint(Ts::from_secs(2_001)).unwrap();

    // Another data directory on the same database would fork the chain.
    let elsewhere = TempDir::new("elsewhere");
    assert!(matches!(
        AuditLog::open_on(elsewhere.path(), storage(&f.database)),
        Err(AuditError::Locked { .. })
    ));
    drop(log);
    AuditLog::open_on(elsewhere.path(), storage(&f.database)).unwrap();
    let report = f.verify_alone();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.last_seq, 6);
}

#[test]
fn unsynced_records_stay_out_of_the_table_until_sync() {
    let database = scratch();
    let data = TempDir::new("data");
    let mut log = AuditLog::open_on(data.path(), storage(&database)).unwrap();
    log.append(Ts::from_secs(1), entry(1)).unwrap();
    let count = || -> i64 {
        connect(&database)
            .query_one("SELECT count(*) FROM audit_records", &[])
            .unwrap()
            .get(0)
    };
    assert_eq!(count(), 0);
    log.sync().unwrap();
    assert_eq!(count(), 1);
}

#[test]
fn an_updated_line_is_named_edited() {
    let f = fixture(10, 5, true);
    f.sql(
        "UPDATE audit_records
         SET line = convert_to(replace(convert_from(line, 'UTF8'), 'case review', 'case reviex'), 'UTF8')
         WHERE seq = 4",
    );
    let report = f.verify();
    assert_eq!(
        report.problems,
        vec![Problem::Edited {
            seq: 4,
            file: table(),
            line: 4
        }]
    );
    assert_eq!(
        report.problems[0].to_string(),
        "record 4 (`audit_records` line 4) was edited: its content does not match its hash"
    );
}

#[test]
fn a_deleted_row_is_a_gap() {
    let f = fixture(10, 5, true);
    f.sql("DELETE FROM audit_records WHERE seq = 5");
    assert_eq!(
        first(&f.verify()),
        Problem::SequenceGap {
            expected: 5,
            found: 6,
            file: table(),
            line: 6
        }
    );
}

#[test]
fn an_inserted_row_with_a_valid_hash_is_a_duplicate() {
    let f = fixture(10, 5, true);
    // A forged record 4 linked to record 3, with a correct hash of its own, before the real
    // 4: the rows from 4 on move up a key to make room.
    let mut forged = f.record(4);
    forged.actor = "u-alibi".to_string();
    forged.hash = forged.compute_hash().unwrap();
    let line = forged.to_line().unwrap();
    f.sql(
        "UPDATE audit_records SET seq = -seq WHERE seq >= 4;
         UPDATE audit_records SET seq = 1 - seq WHERE seq < 0;",
    );
    connect(&f.database)
        .execute(
            "INSERT INTO audit_records (seq, line) VALUES (4, $1)",
            &[&line.strip_suffix(b"\n").unwrap()],
        )
        .unwrap();
    assert_eq!(
        first(&f.verify()),
        Problem::Duplicate {
            seq: 4,
            file: table(),
            line: 5
        }
    );

    // Appended after the head instead, it is a duplicate too.
    let f = fixture(10, 5, true);
    connect(&f.database)
        .execute(
            "INSERT INTO audit_records (seq, line) VALUES (11, $1)",
            &[&line.strip_suffix(b"\n").unwrap()],
        )
        .unwrap();
    assert_eq!(
        first(&f.verify()),
        Problem::Duplicate {
            seq: 4,
            file: table(),
            line: 11
        }
    );
}

#[test]
fn swapped_lines_are_reordered() {
    let f = fixture(10, 5, true);
    f.sql(
        "UPDATE audit_records AS a SET line = b.line
         FROM audit_records AS b
         WHERE (a.seq, b.seq) IN ((6, 7), (7, 6))",
    );
    let report = f.verify();
    assert_eq!(
        report.problems,
        vec![Problem::Reordered {
            seq: 6,
            after: 7,
            file: table(),
            line: 7
        }]
    );
}

#[test]
fn a_tail_deleted_after_a_witnessed_checkpoint_is_truncated() {
    let f = fixture(20, 10, false);
    f.sql("DELETE FROM audit_records WHERE seq > 15");
    assert_eq!(
        first(&f.verify()),
        Problem::Truncated {
            last_seq: 15,
            witnessed_seq: 20,
            origin: CheckpointSource::Witness
        }
    );
    assert_eq!(
        first(&f.verify_alone()),
        Problem::Truncated {
            last_seq: 15,
            witnessed_seq: 20,
            origin: CheckpointSource::Local
        }
    );

    // With the key, the checkpoint for 20 replaced by one for the new head: only the witness
    // still tells.
    f.sql("DELETE FROM audit_checkpoints WHERE id = 2");
    let head = f.record(15);
    f.insert_checkpoint(&Checkpoint::sign(
        &f.signing_key(),
        15,
        head.hash,
        Ts::from_secs(9_000),
    ));
    assert!(f.verify_alone().is_intact());
    let report = f.verify();
    assert_eq!(
        first(&report),
        Problem::Truncated {
            last_seq: 15,
            witnessed_seq: 20,
            origin: CheckpointSource::Witness
        }
    );
    assert!(
        report
            .problems
            .contains(&Problem::CheckpointMissing { seq: 20 })
    );
}

#[test]
fn a_checkpoint_signed_by_another_key_is_forged() {
    let f = fixture(10, 100, true);
    let other = AuditKey::from_seed(&[42; 32]);
    let head = f.record(10);
    let forged = Checkpoint::sign(&other, 10, head.hash, Ts::from_secs(9_000));
    f.insert_checkpoint(&forged);
    assert_eq!(
        f.verify().problems,
        vec![Problem::ForgedCheckpoint {
            seq: 10,
            key_id: other.public_key().key_id(),
            expected_key_id: f.key.key_id(),
            origin: CheckpointSource::Local,
            line: 2
        }]
    );

    let mut relabelled = forged;
    relabelled.key_id = f.key.key_id();
    f.insert_checkpoint(&relabelled);
    assert!(f.verify().problems.contains(&Problem::BadSignature {
        seq: 10,
        origin: CheckpointSource::Local,
        line: 3
    }));
}

#[test]
fn a_row_that_is_not_a_record_is_unreadable_not_a_torn_tail() {
    let f = fixture(6, 100, false);
    f.sql("UPDATE audit_records SET line = '\\x7b7d'::bytea WHERE seq = 6");
    assert!(matches!(
        first(&f.verify_alone()),
        Problem::Unreadable { line: 6, ref file, .. } if *file == table()
    ));
    // The writer will not chain onto it.
    assert!(matches!(
        AuditLog::open_on(f.data.path(), storage(&f.database)),
        Err(AuditError::BadRecord { .. })
    ));
}

/// A million records appended and verified, with the figures printed:
/// `cargo test -p seam-postgres --release --test audit -- --ignored --nocapture`.
#[test]
#[ignore = "a benchmark: takes a minute"]
fn bench_a_million_records() {
    const RECORDS: u64 = 1_000_000;
    let database = scratch();
    let data = TempDir::new("bench");
    let started = std::time::Instant::now();
    let mut log = AuditLog::open_on(data.path(), storage(&database)).unwrap();
    for n in 0..RECORDS {
        let entry = AuditEntry::new(format!("u-{:08x}", n % 97), AuditAction::PersonRead)
            .subject(format!("p-{:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .purpose("investigating a tailgating finding at the north entrance")
            .detail(
                [
                    ("finding", format!("f-{:012x}", n / 10)),
                    ("fields", "badge, zone, presence".to_string()),
                ]
                .into_iter()
                .collect(),
            );
        log.append(Ts::from_millis(1_772_442_900_000 + n as i64 * 10), entry)
            .unwrap();
        if (n + 1) % 1_000 == 0 {
            log.sync().unwrap();
        }
    }
    log.close(Ts::from_millis(1_772_452_900_000)).unwrap();
    let appended = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let report = verify_on(
        &mut *storage(&database),
        data.path(),
        &VerifyOptions::default(),
    )
    .unwrap();
    let verified = started.elapsed().as_secs_f64();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.records, RECORDS);
    println!(
        "append: {RECORDS} records in {appended:.2} s ({:.0}/s, sync every 1000); \
         verify: {verified:.2} s ({:.0}/s)",
        RECORDS as f64 / appended,
        RECORDS as f64 / verified
    );
}
