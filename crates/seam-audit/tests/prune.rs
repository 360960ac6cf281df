//! Retention of the log itself: records before a cutoff are dropped behind a signed anchor,
//! the log still verifies, and tampering is caught as before (an edited or deleted record
//! kept, a forged or edited anchor, more records dropped than the anchor says).
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "the helpers are test code too: a panic there fails the test"
)]

use std::fs;
use std::path::PathBuf;

use seam_audit::{
    ANCHOR_FILE, Anchor, AuditAction, AuditEntry, AuditError, AuditKey, AuditLog, AuditOptions,
    Checkpoint, FileWitness, Problem, PublicKey, VerifyOptions, VerifyReport, Witness, audit_dir,
    export, verify, verify_export,
};
use seam_model::Ts;
use tempfile::TempDir;

const SEGMENT_BYTES: u64 = 1000;

struct Fixture {
    data: TempDir,
    _outside: TempDir,
    witness: PathBuf,
    key: PublicKey,
}

impl Fixture {
    fn audit(&self) -> PathBuf {
        audit_dir(self.data.path())
    }

    fn open(&self) -> AuditLog {
        let mut log = AuditLog::open_with(
            self.data.path(),
            AuditOptions {
                segment_bytes: SEGMENT_BYTES,
            },
        )
        .unwrap();
        log.add_witness(Box::new(FileWitness::new(&self.witness)));
        log
    }

    fn verify(&self) -> VerifyReport {
        verify(
            self.data.path(),
            &VerifyOptions {
                witness: Some(self.witness.clone()),
                trusted_key: Some(self.key),
            },
        )
        .unwrap()
    }

    fn verify_alone(&self) -> VerifyReport {
        verify(self.data.path(), &VerifyOptions::default()).unwrap()
    }

    fn segments(&self) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = fs::read_dir(self.audit())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_str().unwrap();
                name.starts_with("audit-") && name.ends_with(".log")
            })
            .collect();
        found.sort();
        found
    }

    fn signing_key(&self) -> AuditKey {
        let seed: [u8; 32] = fs::read(self.audit().join("signing.key"))
            .unwrap()
            .try_into()
            .unwrap();
        AuditKey::from_seed(&seed)
    }

    fn first_seq(&self) -> u64 {
        let segment = &self.segments()[0];
        let text = fs::read(segment).unwrap();
        let line = text.split(|b| *b == b'\n').next().unwrap();
        seam_audit::AuditRecord::from_line(line).unwrap().seq
    }
}

fn entry(n: u64) -> AuditEntry {
    AuditEntry::new(format!("u-{:04x}", n % 7), AuditAction::PersonRead)
        .subject(format!("p-{n:016x}"))
        .purpose("case review")
}

/// 40 records at times 1001 s … 1040 s in segments of about four, checkpointed every ten
/// (when asked) and witnessed.
fn fixture(checkpoint_every: Option<u64>) -> Fixture {
    let data = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let witness = outside.path().join("witness.log");
    let mut fixture = Fixture {
        data,
        _outside: outside,
        witness,
        key: AuditKey::from_seed(&[0; 32]).public_key(),
    };
    let mut log = fixture.open();
    for n in 1..=40u64 {
        log.append(Ts::from_secs(1_000 + n as i64), entry(n))
            .unwrap();
        if checkpoint_every.is_some_and(|every| n % every == 0) {
            log.checkpoint(Ts::from_secs(1_000 + n as i64)).unwrap();
        }
    }
    log.sync().unwrap();
    fixture.key = log.public_key();
    fixture
}

/// The fixture pruned before 1025 s.
fn pruned() -> (Fixture, Anchor) {
    let f = fixture(Some(10));
    let mut log = f.open();
    let report = log
        .prune_before(Ts::from_secs(1_025), Ts::from_secs(6_000))
        .unwrap();
    assert!(report.witness_failures.is_empty(), "{report:?}");
    assert!(report.checkpointed.is_none());
    let anchor = report.anchor.unwrap();
    assert!(anchor.seq >= 10 && anchor.seq < 25, "{anchor:?}");
    assert_eq!(report.dropped, anchor.seq);
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
fn a_pruned_log_verifies_from_its_anchor_and_goes_on() {
    let (f, anchor) = pruned();
    assert_eq!(f.first_seq(), anchor.seq + 1);
    for report in [f.verify(), f.verify_alone()] {
        assert!(report.is_intact(), "{report:?}");
        assert_eq!(report.anchor_seq, Some(anchor.seq));
        assert_eq!(report.last_seq, 40);
        assert_eq!(report.records, 40 - anchor.seq);
    }
    // The anchor went to anchors.log and, wrapped, to the witness.
    let local = fs::read(f.audit().join(ANCHOR_FILE)).unwrap();
    assert_eq!(local, anchor.to_line().unwrap());
    let witnessed = fs::read_to_string(&f.witness).unwrap();
    assert!(witnessed.contains(&String::from_utf8(anchor.to_wrapped_line().unwrap()).unwrap()));

    let mut log = f.open();
    assert_eq!(log.head().0, 40);
    log.append(Ts::from_secs(1_041), entry(41)).unwrap();
    log.checkpoint(Ts::from_secs(1_042)).unwrap();
    drop(log);
    assert!(f.verify().is_intact(), "{:?}", f.verify());

    // An export from the first record kept stands on the anchor; one inside the range on the
    // record before, as ever.
    for (from, to) in [(0, 1_030), (1_030, 1_035)] {
        let mut out = Vec::new();
        export(
            f.data.path(),
            Ts::from_secs(from),
            Ts::from_secs(to),
            &mut out,
        )
        .unwrap();
        let report = verify_export(&out[..], &f.key).unwrap();
        assert!(report.is_intact(), "{from}: {report:?}");
    }
    // The export's anchor is needed: without it the start is not proven.
    let mut out = Vec::new();
    export(
        f.data.path(),
        Ts::from_secs(0),
        Ts::from_secs(1_030),
        &mut out,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("{\"anchor\":"));
    let without: String = text
        .lines()
        .filter(|l| !l.starts_with("{\"anchor\":"))
        .map(|l| format!("{l}\n"))
        .collect();
    let report = verify_export(without.as_bytes(), &f.key).unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::MissingAnchor { .. })),
        "{report:?}"
    );
}

#[test]
fn an_edited_record_kept_is_caught() {
    let (f, anchor) = pruned();
    let segment = f.segments()[0].clone();
    let text = fs::read_to_string(&segment).unwrap();
    fs::write(&segment, text.replacen("case review", "case reviex", 1)).unwrap();
    assert_eq!(
        first(&f.verify()),
        Problem::Edited {
            seq: anchor.seq + 1,
            file: segment.file_name().unwrap().to_str().unwrap().to_string(),
            line: 1,
        }
    );
}

#[test]
fn the_first_record_kept_deleted_is_a_gap() {
    let (f, anchor) = pruned();
    let segment = f.segments()[0].clone();
    let text = fs::read_to_string(&segment).unwrap();
    let (_, rest) = text.split_once('\n').unwrap();
    fs::write(&segment, rest).unwrap();
    for report in [f.verify(), f.verify_alone()] {
        assert!(
            matches!(first(&report), Problem::SequenceGap { expected, found, .. }
                if expected == anchor.seq + 1 && found == anchor.seq + 2),
            "{report:?}"
        );
    }
}

#[test]
fn more_segments_dropped_than_the_anchor_says_is_a_gap() {
    let (f, anchor) = pruned();
    fs::remove_file(&f.segments()[0]).unwrap();
    for report in [f.verify(), f.verify_alone()] {
        assert!(
            matches!(first(&report), Problem::SequenceGap { expected, .. } if expected == anchor.seq + 1),
            "{report:?}"
        );
    }
}

#[test]
fn an_anchor_forged_with_another_key_is_caught() {
    let (f, anchor) = pruned();
    let other = AuditKey::from_seed(&[9; 32]);
    let next = f.segments()[1].clone();
    let dropped_to = {
        let text = fs::read(&next).unwrap();
        let line = text.split(|b| *b == b'\n').next().unwrap();
        seam_audit::AuditRecord::from_line(line).unwrap()
    };
    fs::remove_file(&f.segments()[0]).unwrap();
    let forged = Anchor::sign(
        &other,
        dropped_to.seq - 1,
        dropped_to.prev,
        Ts::from_secs(7_000),
    );
    let mut lines = fs::read(f.audit().join(ANCHOR_FILE)).unwrap();
    lines.extend(forged.to_line().unwrap());
    fs::write(f.audit().join(ANCHOR_FILE), lines).unwrap();
    for report in [f.verify(), f.verify_alone()] {
        assert!(
            has(&report, |p| matches!(p, Problem::ForgedAnchor { .. })),
            "{report:?}"
        );
        assert!(
            has(
                &report,
                |p| matches!(p, Problem::SequenceGap { expected, .. } if *expected == anchor.seq + 1)
            ),
            "{report:?}"
        );
    }
}

#[test]
fn an_anchor_with_its_seq_or_hash_edited_is_caught() {
    let (f, anchor) = pruned();
    let path = f.audit().join(ANCHOR_FILE);
    let mut moved = anchor.clone();
    moved.seq += 4;
    let mut rehashed = anchor.clone();
    rehashed.hash[0] ^= 1;
    for edited in [moved, rehashed] {
        fs::write(&path, edited.to_line().unwrap()).unwrap();
        for report in [f.verify(), f.verify_alone()] {
            assert!(
                has(&report, |p| matches!(p, Problem::BadAnchorSignature { .. })),
                "{report:?}"
            );
            // Without a valid anchor the chain starts at genesis: the records are missing.
            assert!(
                matches!(first(&report), Problem::SequenceGap { expected: 1, .. }),
                "{report:?}"
            );
        }
    }
    fs::remove_file(&path).unwrap();
    let report = f.verify();
    assert!(
        has(&report, |p| *p
            == Problem::AnchorMissing { seq: anchor.seq }),
        "{report:?}"
    );
    assert!(matches!(
        first(&f.verify_alone()),
        Problem::SequenceGap { expected: 1, .. }
    ));
}

#[test]
fn an_anchor_signed_with_the_key_but_unwitnessed_excuses_nothing() {
    let (f, anchor) = pruned();
    let next = f.segments()[1].clone();
    let text = fs::read(&next).unwrap();
    let line = text.split(|b| *b == b'\n').next().unwrap();
    let kept = seam_audit::AuditRecord::from_line(line).unwrap();
    fs::remove_file(&f.segments()[0]).unwrap();
    let stolen = Anchor::sign(
        &f.signing_key(),
        kept.seq - 1,
        kept.prev,
        Ts::from_secs(7_000),
    );
    let mut lines = fs::read(f.audit().join(ANCHOR_FILE)).unwrap();
    lines.extend(stolen.to_line().unwrap());
    fs::write(f.audit().join(ANCHOR_FILE), lines).unwrap();
    // Alone, a thief with the key goes unseen (as with checkpoints); the witness sees it.
    assert!(f.verify_alone().is_intact());
    assert!(
        matches!(first(&f.verify()), Problem::SequenceGap { expected, .. } if expected == anchor.seq + 1),
        "{:?}",
        f.verify()
    );
}

/// A witness that takes checkpoints but no anchor (an old one).
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
    let f = fixture(Some(10));
    let other_witness = f._outside.path().join("other.log");
    let mut log = f.open();
    log.add_witness(Box::new(NoAnchors(FileWitness::new(&other_witness))));
    let report = log
        .prune_before(Ts::from_secs(1_025), Ts::from_secs(6_000))
        .unwrap();
    let anchor = report.anchor.clone().unwrap();
    assert_eq!(report.dropped, 0);
    assert_eq!(report.witness_failures.len(), 1);
    drop(log);
    // The anchor is written, nothing dropped: the records before it still chain to it.
    assert_eq!(f.first_seq(), 1);
    for report in [f.verify(), f.verify_alone()] {
        assert!(report.is_intact(), "{report:?}");
        assert_eq!(report.anchor_seq, Some(anchor.seq));
    }
    // A crash part way through dropping segments leaves the newest of them.
    fs::remove_file(&f.segments()[0]).unwrap();
    for report in [f.verify(), f.verify_alone()] {
        assert!(report.is_intact(), "{report:?}");
    }
    // Leftovers must still reach the anchor's hash.
    let mut wrong = anchor.clone();
    wrong.hash[0] ^= 1;
    let wrong = Anchor::sign(
        &f.signing_key(),
        wrong.seq,
        wrong.hash,
        Ts::from_secs(6_001),
    );
    let saved = fs::read(f.audit().join(ANCHOR_FILE)).unwrap();
    fs::write(f.audit().join(ANCHOR_FILE), wrong.to_line().unwrap()).unwrap();
    assert!(
        matches!(first(&f.verify_alone()), Problem::CheckpointMismatch { seq, .. } if seq == anchor.seq),
        "{:?}",
        f.verify_alone()
    );
    fs::write(f.audit().join(ANCHOR_FILE), saved).unwrap();

    let mut log = f.open();
    let report = log
        .prune_before(Ts::from_secs(1_025), Ts::from_secs(6_100))
        .unwrap();
    assert_eq!(report.anchor.as_ref().unwrap().seq, anchor.seq);
    assert!(report.dropped > 0);
    drop(log);
    assert_eq!(f.first_seq(), anchor.seq + 1);
    assert!(f.verify().is_intact(), "{:?}", f.verify());
}

#[test]
fn nothing_no_checkpoint_vouches_for_is_pruned() {
    let f = fixture(None);
    let mut log = f.open();
    let report = log
        .prune_before(Ts::from_secs(2_000), Ts::from_secs(6_000))
        .unwrap();
    // Every record is older than the cutoff: the head is checkpointed first, and the segment
    // being written stays.
    let checkpoint = report.checkpointed.as_ref().unwrap().checkpoint.clone();
    assert_eq!(checkpoint.seq, 40);
    let anchor = report.anchor.unwrap();
    assert!(anchor.seq < 40 && anchor.seq <= checkpoint.seq);
    drop(log);
    assert_eq!(f.segments().len(), 1);
    assert!(f.verify().is_intact(), "{:?}", f.verify());

    // Nothing older than the cutoff: nothing done.
    let mut log = f.open();
    let report = log
        .prune_before(Ts::from_secs(0), Ts::from_secs(6_000))
        .unwrap();
    assert!(report.anchor.is_none() && report.checkpointed.is_none());
}

#[test]
fn a_tampered_log_is_not_pruned() {
    let f = fixture(Some(10));
    let segment = f.segments()[0].clone();
    let text = fs::read_to_string(&segment).unwrap();
    fs::write(&segment, text.replacen("case review", "case reviex", 1)).unwrap();
    let mut log = f.open();
    let before = f.segments();
    assert!(matches!(
        log.prune_before(Ts::from_secs(1_025), Ts::from_secs(6_000)),
        Err(AuditError::Prune { .. })
    ));
    drop(log);
    assert_eq!(f.segments(), before);
    assert!(!f.audit().join(ANCHOR_FILE).exists());
    assert!(matches!(first(&f.verify()), Problem::Edited { seq: 1, .. }));
}
