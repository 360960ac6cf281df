//! Retention of the audit log on PostgreSQL: rows before a cutoff deleted behind a signed
//! anchor in `audit_anchors`, the log still verifying, and tampering with what is kept (or
//! with the anchors) caught as in files.
//!
//! Needs a server: 127.0.0.1:5432, user `postgres`, trust auth, or the admin URL in
//! `SEAM_TEST_POSTGRES`. Without one every test fails, saying so.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "the helpers are test code too: a panic there fails the test"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use postgres::{Client, NoTls};
use seam_audit::{
    Anchor, AuditAction, AuditEntry, AuditError, AuditKey, AuditLog, AuditRecord, AuditStorage,
    Checkpoint, FileWitness, Problem, PublicKey, VerifyOptions, VerifyReport, Witness, audit_dir,
    export_on, verify_export, verify_on,
};
use seam_postgres::{ScratchDatabase, audit_storage, test_server_url};
use seam_store::Ts;

/// A fresh database on the test server; the test fails loudly when there is no server.
fn scratch() -> ScratchDatabase {
    let server = test_server_url();
    ScratchDatabase::create(&server, "seam_audit_prune_test").unwrap_or_else(|error| {
        panic!(
            "cannot create a test database on the PostgreSQL server `{server}` (set \
             SEAM_TEST_POSTGRES to another server's admin URL): {error}"
        )
    })
}

struct TempDir(PathBuf);

static TEMP_NUMBER: AtomicU64 = AtomicU64::new(0);

impl TempDir {
    fn new(label: &str) -> TempDir {
        let number = TEMP_NUMBER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "seam-pg-prune-{label}-{}-{number}",
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

fn entry(n: u64) -> AuditEntry {
    AuditEntry::new(format!("u-{:04x}", n % 7), AuditAction::PersonRead)
        .subject(format!("p-{n:016x}"))
        .purpose("case review")
}

struct Fixture {
    database: ScratchDatabase,
    data: TempDir,
    _outside: TempDir,
    witness: PathBuf,
    key: PublicKey,
}

impl Fixture {
    fn open(&self) -> AuditLog {
        let mut log = AuditLog::open_on(self.data.path(), storage(&self.database)).unwrap();
        log.add_witness(Box::new(FileWitness::new(&self.witness)));
        log
    }

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

    fn client(&self) -> Client {
        Client::connect(self.database.url(), NoTls).unwrap()
    }

    fn sql(&self, statements: &str) {
        self.client().batch_execute(statements).unwrap();
    }

    fn first_seq(&self) -> i64 {
        self.client()
            .query_one("SELECT min(seq) FROM audit_records", &[])
            .unwrap()
            .get(0)
    }

    fn record(&self, seq: i64) -> AuditRecord {
        let line: Vec<u8> = self
            .client()
            .query_one("SELECT line FROM audit_records WHERE seq = $1", &[&seq])
            .unwrap()
            .get(0);
        AuditRecord::from_line(&line).unwrap()
    }

    fn insert_anchor(&self, anchor: &Anchor) {
        let line = anchor.to_line().unwrap();
        self.client()
            .execute(
                "INSERT INTO audit_anchors (line) VALUES ($1)",
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

/// 40 rows at 1001 s … 1040 s, checkpointed every ten (when asked) and witnessed.
fn fixture(every: Option<u64>) -> Fixture {
    let database = scratch();
    let data = TempDir::new("data");
    let outside = TempDir::new("outside");
    let witness = outside.path().join("witness.log");
    let mut f = Fixture {
        database,
        data,
        _outside: outside,
        witness,
        key: AuditKey::from_seed(&[0; 32]).public_key(),
    };
    let mut log = f.open();
    for n in 1..=40u64 {
        log.append(Ts::from_secs(1_000 + n as i64), entry(n))
            .unwrap();
        if every.is_some_and(|every| n % every == 0) {
            log.checkpoint(Ts::from_secs(1_000 + n as i64)).unwrap();
        }
    }
    log.sync().unwrap();
    f.key = log.public_key();
    f
}

/// Pruned before 1025 s: rows 1 to 24 go.
fn pruned() -> (Fixture, Anchor) {
    let f = fixture(Some(10));
    let mut log = f.open();
    let report = log
        .prune_before(Ts::from_secs(1_025), Ts::from_secs(6_000))
        .unwrap();
    let anchor = report.anchor.unwrap();
    assert_eq!(anchor.seq, 24);
    assert_eq!(report.dropped, 24);
    assert!(report.witness_failures.is_empty());
    drop(log);
    (f, anchor)
}

fn first(report: &VerifyReport) -> Problem {
    report
        .first_problem()
        .cloned()
        .unwrap_or_else(|| panic!("intact: {report:?}"))
}

fn has(report: &VerifyReport, wanted: impl Fn(&Problem) -> bool) -> bool {
    report.problems.iter().any(wanted)
}

#[test]
fn a_pruned_table_verifies_from_its_anchor_and_goes_on() {
    let (f, anchor) = pruned();
    assert_eq!(f.first_seq(), 25);
    for report in [f.verify(), f.verify_alone()] {
        assert!(report.is_intact(), "{report:?}");
        assert_eq!(report.anchor_seq, Some(24));
        assert_eq!(report.records, 16);
    }
    assert_eq!(f.record(25).prev, anchor.hash);
    let mut log = f.open();
    assert_eq!(log.head().0, 40);
    log.append(Ts::from_secs(1_041), entry(41)).unwrap();
    log.checkpoint(Ts::from_secs(1_042)).unwrap();
    drop(log);
    assert!(f.verify().is_intact(), "{:?}", f.verify());

    let mut out = Vec::new();
    export_on(
        &mut *storage(&f.database),
        f.data.path(),
        Ts::from_secs(0),
        Ts::from_secs(1_030),
        &mut out,
    )
    .unwrap();
    let report = verify_export(&out[..], &f.key).unwrap();
    assert!(report.is_intact(), "{report:?}");

    // Pruning everything old keeps the head row.
    let mut log = f.open();
    let report = log
        .prune_before(Ts::from_secs(9_000), Ts::from_secs(9_000))
        .unwrap();
    assert_eq!(report.anchor.unwrap().seq, 40);
    drop(log);
    assert_eq!(f.first_seq(), 41);
    assert!(f.verify().is_intact(), "{:?}", f.verify());
}

#[test]
fn tampering_with_what_is_kept_is_caught() {
    let (f, _) = pruned();
    f.sql("DELETE FROM audit_records WHERE seq = 25");
    for report in [f.verify(), f.verify_alone()] {
        assert!(
            matches!(
                first(&report),
                Problem::SequenceGap {
                    expected: 25,
                    found: 26,
                    ..
                }
            ),
            "{report:?}"
        );
    }

    let (f, _) = pruned();
    f.sql(
        "UPDATE audit_records
         SET line = convert_to(replace(convert_from(line, 'UTF8'), 'case review', 'case reviex'), 'UTF8')
         WHERE seq = 27",
    );
    assert!(
        matches!(first(&f.verify()), Problem::Edited { seq: 27, .. }),
        "{:?}",
        f.verify()
    );

    // More rows deleted than the anchor says.
    let (f, _) = pruned();
    f.sql("DELETE FROM audit_records WHERE seq <= 30");
    for report in [f.verify(), f.verify_alone()] {
        assert!(
            matches!(
                first(&report),
                Problem::SequenceGap {
                    expected: 25,
                    found: 31,
                    ..
                }
            ),
            "{report:?}"
        );
    }
}

#[test]
fn forged_or_edited_anchors_are_caught() {
    // Rows deleted behind an anchor of another key.
    let (f, _) = pruned();
    let kept = f.record(31);
    f.sql("DELETE FROM audit_records WHERE seq <= 30");
    let other = AuditKey::from_seed(&[9; 32]);
    f.insert_anchor(&Anchor::sign(&other, 30, kept.prev, Ts::from_secs(7_000)));
    for report in [f.verify(), f.verify_alone()] {
        assert!(
            has(&report, |p| matches!(
                p,
                Problem::ForgedAnchor { seq: 30, .. }
            )),
            "{report:?}"
        );
        assert!(
            has(&report, |p| matches!(
                p,
                Problem::SequenceGap { expected: 25, .. }
            )),
            "{report:?}"
        );
    }

    // Behind one signed with the stolen key: the witness does not hold it.
    let (f, _) = pruned();
    let kept = f.record(31);
    f.sql("DELETE FROM audit_records WHERE seq <= 30");
    f.insert_anchor(&Anchor::sign(
        &f.signing_key(),
        30,
        kept.prev,
        Ts::from_secs(7_000),
    ));
    assert!(f.verify_alone().is_intact());
    assert!(
        matches!(
            first(&f.verify()),
            Problem::SequenceGap {
                expected: 25,
                found: 31,
                ..
            }
        ),
        "{:?}",
        f.verify()
    );

    // The anchor's seq or hash edited.
    let (f, anchor) = pruned();
    let mut moved = anchor.clone();
    moved.seq = 30;
    f.sql("DELETE FROM audit_anchors");
    f.insert_anchor(&moved);
    for report in [f.verify(), f.verify_alone()] {
        assert!(
            has(&report, |p| matches!(
                p,
                Problem::BadAnchorSignature { seq: 30, .. }
            )),
            "{report:?}"
        );
        assert!(
            matches!(first(&report), Problem::SequenceGap { expected: 1, .. }),
            "{report:?}"
        );
    }
    let report = f.verify();
    assert!(
        has(&report, |p| *p == Problem::AnchorMissing { seq: 24 }),
        "{report:?}"
    );
    let mut rehashed = anchor.clone();
    rehashed.hash[3] ^= 1;
    f.sql("DELETE FROM audit_anchors");
    f.insert_anchor(&rehashed);
    assert!(has(&f.verify_alone(), |p| matches!(
        p,
        Problem::BadAnchorSignature { seq: 24, .. }
    )));
}

/// A witness that takes no anchors, so the prune stops after writing its anchor.
struct NoAnchors(FileWitness);

impl Witness for NoAnchors {
    fn describe(&self) -> String {
        self.0.describe()
    }

    fn publish(&mut self, checkpoint: &Checkpoint) -> Result<(), AuditError> {
        self.0.publish(checkpoint)
    }
}

#[test]
fn a_prune_cut_short_verifies_and_a_second_run_finishes_it() {
    let f = fixture(None);
    let mut log = f.open();
    log.add_witness(Box::new(NoAnchors(FileWitness::new(
        f._outside.path().join("old.log"),
    ))));
    let report = log
        .prune_before(Ts::from_secs(1_025), Ts::from_secs(6_000))
        .unwrap();
    // No checkpoint vouched for the rows: one was made first.
    assert_eq!(report.checkpointed.as_ref().unwrap().checkpoint.seq, 40);
    assert_eq!(report.anchor.as_ref().unwrap().seq, 24);
    assert_eq!(report.dropped, 0);
    assert_eq!(report.witness_failures.len(), 1);
    drop(log);
    assert_eq!(f.first_seq(), 1);
    for report in [f.verify(), f.verify_alone()] {
        assert!(report.is_intact(), "{report:?}");
        assert_eq!(report.anchor_seq, Some(24));
    }

    let mut log = f.open();
    let report = log
        .prune_before(Ts::from_secs(1_025), Ts::from_secs(6_100))
        .unwrap();
    assert_eq!(report.dropped, 24);
    drop(log);
    assert_eq!(f.first_seq(), 25);
    assert!(f.verify().is_intact(), "{:?}", f.verify());
}

#[test]
fn a_tampered_table_is_not_pruned() {
    let f = fixture(Some(10));
    f.sql("DELETE FROM audit_records WHERE seq = 5");
    let mut log = f.open();
    assert!(matches!(
        log.prune_before(Ts::from_secs(1_025), Ts::from_secs(6_000)),
        Err(AuditError::Prune { .. })
    ));
    drop(log);
    assert_eq!(f.first_seq(), 1);
    let anchors: i64 = f
        .client()
        .query_one("SELECT count(*) FROM audit_anchors", &[])
        .unwrap()
        .get(0);
    assert_eq!(anchors, 0);
}
