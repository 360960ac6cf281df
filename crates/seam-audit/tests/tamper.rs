//! Every kind of tampering is caught, and named: edits (with the hash kept or recomputed),
//! deletions, insertions, reordering, a cut tail (also with `checkpoints.log` rewritten to
//! hide it), forged checkpoints, a replaced key, a torn tail after a crash. Garbage never
//! panics.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "the helpers are test code too: a panic there fails the test"
)]

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use seam_audit::{
    AuditAction, AuditEntry, AuditKey, AuditLog, AuditOptions, AuditRecord, CHECKPOINT_FILE,
    Checkpoint, CheckpointSource, FileWitness, Problem, PublicKey, VerifyOptions, VerifyReport,
    audit_dir, export, verify, verify_export,
};
use seam_model::Ts;
use tempfile::TempDir;

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

    fn segment(&self) -> PathBuf {
        self.audit().join("audit-000001.log")
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

    /// Verify as an operator without the witness or a key of their own would.
    fn verify_alone(&self) -> VerifyReport {
        verify(self.data.path(), &VerifyOptions::default()).unwrap()
    }
}

fn entry(n: u64) -> AuditEntry {
    let action = AuditAction::ALL[(n as usize) % AuditAction::ALL.len()];
    AuditEntry::new(format!("u-{:04x}", n % 7), action)
        .subject(format!("p-{n:016x}"))
        .purpose("case review")
        .detail(serde_json::json!({ "n": n }))
}

/// A log of `records` records with a checkpoint (local and witnessed) after every
/// `checkpoint_every`, and one at the end when asked.
fn fixture(records: u64, checkpoint_every: u64, final_checkpoint: bool) -> Fixture {
    let data = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let witness = outside.path().join("witness.log");
    let mut log = AuditLog::open(data.path()).unwrap();
    log.add_witness(Box::new(FileWitness::new(&witness)));
    for n in 1..=records {
        log.append(Ts::from_secs(1_000 + n as i64), entry(n))
            .unwrap();
        if n % checkpoint_every == 0 {
            log.checkpoint(Ts::from_secs(1_000 + n as i64)).unwrap();
        }
    }
    log.sync().unwrap();
    if final_checkpoint {
        log.checkpoint(Ts::from_secs(5_000)).unwrap();
    }
    let key = log.public_key();
    Fixture {
        data,
        _outside: outside,
        witness,
        key,
    }
}

fn lines(path: &Path) -> Vec<Vec<u8>> {
    let bytes = fs::read(path).unwrap();
    bytes
        .split_inclusive(|b| *b == b'\n')
        .map(|line| line.to_vec())
        .collect()
}

fn write_lines(path: &Path, lines: &[Vec<u8>]) {
    fs::write(path, lines.concat()).unwrap();
}

fn record(line: &[u8]) -> AuditRecord {
    AuditRecord::from_line(line).unwrap()
}

fn first(report: &VerifyReport) -> Problem {
    report
        .first_problem()
        .cloned()
        .unwrap_or_else(|| panic!("intact: {report:?}"))
}

fn segment_name() -> String {
    "audit-000001.log".to_string()
}

#[test]
fn an_intact_log_verifies_with_and_without_the_witness() {
    let f = fixture(25, 10, true);
    let report = f.verify();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.records, 25);
    assert_eq!(report.last_seq, 25);
    assert_eq!(report.checkpoints, 3);
    assert_eq!(report.witnessed, 3);
    assert_eq!(report.last_witnessed_seq, Some(25));
    assert_eq!(report.unprotected_records(), 0);
    assert_eq!(report.key_id, Some(f.key.key_id()));
    assert!(f.verify_alone().is_intact());
}

#[test]
fn an_intact_log_across_many_segments_verifies() {
    let data = tempfile::tempdir().unwrap();
    let mut log = AuditLog::open_with(
        data.path(),
        AuditOptions {
            segment_bytes: 2_000,
        },
    )
    .unwrap();
    for n in 1..=100 {
        log.append(Ts::from_secs(n as i64), entry(n)).unwrap();
    }
    log.close(Ts::from_secs(200)).unwrap();
    let report = verify(data.path(), &VerifyOptions::default()).unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert!(report.segments > 10);
    assert_eq!(report.records, 100);
}

#[test]
fn an_empty_log_with_a_checkpoint_verifies() {
    let data = tempfile::tempdir().unwrap();
    let log = AuditLog::open(data.path()).unwrap();
    let done = log.close(Ts::from_secs(1)).unwrap();
    assert_eq!(done.checkpoint.seq, 0);
    let report = verify(data.path(), &VerifyOptions::default()).unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
}

#[test]
fn an_edit_keeping_the_hash_is_named_edited() {
    let f = fixture(10, 5, true);
    let mut lines = lines(&f.segment());
    let text = String::from_utf8(lines[3].clone()).unwrap();
    lines[3] = text.replace("case review", "case reviex").into_bytes();
    write_lines(&f.segment(), &lines);
    let report = f.verify();
    assert_eq!(
        report.problems,
        vec![Problem::Edited {
            seq: 4,
            file: segment_name(),
            line: 4
        }]
    );
    assert_eq!(
        report.problems[0].to_string(),
        "record 4 (`audit-000001.log` line 4) was edited: its content does not match its hash"
    );
}

#[test]
fn an_edit_with_the_hash_recomputed_breaks_the_next_link() {
    let f = fixture(10, 5, true);
    let mut lines = lines(&f.segment());
    let mut edited = record(&lines[3]);
    edited.actor = "u-innocent".to_string();
    edited.hash = edited.compute_hash().unwrap();
    lines[3] = edited.to_line().unwrap();
    write_lines(&f.segment(), &lines);
    let report = f.verify();
    assert_eq!(
        first(&report),
        Problem::ChainBroken {
            seq: 5,
            file: segment_name(),
            line: 5
        }
    );
}

#[test]
fn a_rewritten_history_is_caught_by_the_checkpoints() {
    // Record 4 edited and every later hash recomputed: the chain is whole again, but the
    // checkpoints at 5 and 10 vouch for other hashes.
    let f = fixture(10, 5, false);
    let mut lines = lines(&f.segment());
    let mut prev = record(&lines[2]).hash;
    for (index, line) in lines.iter_mut().enumerate().skip(3) {
        let mut rewritten = record(line);
        if index == 3 {
            rewritten.actor = "u-innocent".to_string();
        }
        rewritten.prev = prev;
        rewritten.hash = rewritten.compute_hash().unwrap();
        prev = rewritten.hash;
        *line = rewritten.to_line().unwrap();
    }
    write_lines(&f.segment(), &lines);
    let report = f.verify();
    assert_eq!(
        first(&report),
        Problem::CheckpointMismatch {
            seq: 5,
            origin: CheckpointSource::Local
        }
    );
    assert!(report.problems.contains(&Problem::CheckpointMismatch {
        seq: 10,
        origin: CheckpointSource::Witness
    }));
}

#[test]
fn an_edit_of_the_last_record_with_its_hash_recomputed_is_caught_by_the_checkpoint() {
    let f = fixture(10, 100, true);
    let mut lines = lines(&f.segment());
    let mut edited = record(&lines[9]);
    edited.subject = Some("p-someone-else".to_string());
    edited.hash = edited.compute_hash().unwrap();
    lines[9] = edited.to_line().unwrap();
    write_lines(&f.segment(), &lines);
    assert_eq!(
        first(&f.verify()),
        Problem::CheckpointMismatch {
            seq: 10,
            origin: CheckpointSource::Local
        }
    );
}

#[test]
fn a_deleted_record_is_a_gap() {
    let f = fixture(10, 5, true);
    let mut lines = lines(&f.segment());
    lines.remove(4);
    write_lines(&f.segment(), &lines);
    let report = f.verify();
    let problem = first(&report);
    assert_eq!(
        problem,
        Problem::SequenceGap {
            expected: 5,
            found: 6,
            file: segment_name(),
            line: 5
        }
    );
    assert_eq!(
        problem.to_string(),
        "record 5 is missing before record 6 (`audit-000001.log` line 5): deleted"
    );
}

#[test]
fn an_inserted_record_with_a_valid_hash_is_a_duplicate() {
    let f = fixture(10, 5, true);
    let mut lines = lines(&f.segment());
    // A forged record 4 linked to record 3, with a correct hash of its own, before the real 4.
    let mut forged = record(&lines[3]);
    forged.actor = "u-alibi".to_string();
    forged.hash = forged.compute_hash().unwrap();
    lines.insert(3, forged.to_line().unwrap());
    write_lines(&f.segment(), &lines);
    let report = f.verify();
    assert_eq!(
        first(&report),
        Problem::Duplicate {
            seq: 4,
            file: segment_name(),
            line: 5
        }
    );
}

#[test]
fn an_inserted_record_renumbered_into_the_chain_breaks_it() {
    // A forged record 4 after the real 3; the rest renumbered but not rehashed.
    let f = fixture(10, 5, true);
    let mut lines = lines(&f.segment());
    let mut forged = record(&lines[3]);
    forged.actor = "u-alibi".to_string();
    forged.hash = forged.compute_hash().unwrap();
    for line in lines.iter_mut().skip(3) {
        let mut renumbered = record(line);
        renumbered.seq += 1;
        *line = renumbered.to_line().unwrap();
    }
    lines.insert(3, forged.to_line().unwrap());
    write_lines(&f.segment(), &lines);
    assert_eq!(
        first(&f.verify()),
        Problem::Edited {
            seq: 5,
            file: segment_name(),
            line: 5
        }
    );
}

#[test]
fn swapped_neighbours_are_reordered() {
    let f = fixture(10, 5, true);
    let mut lines = lines(&f.segment());
    lines.swap(5, 6);
    write_lines(&f.segment(), &lines);
    let report = f.verify();
    assert_eq!(
        report.problems,
        vec![Problem::Reordered {
            seq: 6,
            after: 7,
            file: segment_name(),
            line: 7
        }]
    );
    assert_eq!(
        report.problems[0].to_string(),
        "record 6 (`audit-000001.log` line 7) is out of order: it comes after record 7"
    );
}

#[test]
fn records_swapped_far_apart_are_reordered() {
    let f = fixture(12, 6, true);
    let mut lines = lines(&f.segment());
    lines.swap(2, 8);
    write_lines(&f.segment(), &lines);
    let report = f.verify();
    assert!(
        matches!(
            first(&report),
            Problem::Reordered {
                seq: 3,
                after: 9,
                ..
            }
        ),
        "{:?}",
        report.problems
    );
    assert!(
        report
            .problems
            .iter()
            .all(|p| matches!(p, Problem::Reordered { .. })),
        "{:?}",
        report.problems
    );
}

#[test]
fn a_tail_cut_after_a_witnessed_checkpoint_is_truncated() {
    let f = fixture(20, 10, false);
    let mut lines = lines(&f.segment());
    lines.truncate(15);
    write_lines(&f.segment(), &lines);
    let report = f.verify();
    let problem = first(&report);
    assert_eq!(
        problem,
        Problem::Truncated {
            last_seq: 15,
            witnessed_seq: 20,
            origin: CheckpointSource::Witness
        }
    );
    assert_eq!(
        problem.to_string(),
        "the log ends at record 15 but a signed checkpoint in the witness vouches for record 20: the tail was cut"
    );
    // Without the witness, `checkpoints.log` still tells.
    assert!(matches!(
        first(&f.verify_alone()),
        Problem::Truncated {
            last_seq: 15,
            witnessed_seq: 20,
            origin: CheckpointSource::Local
        }
    ));
}

#[test]
fn a_cut_tail_hidden_by_rewriting_the_checkpoints_is_still_truncated() {
    let f = fixture(20, 10, false);
    let mut lines = lines(&f.segment());
    lines.truncate(15);
    write_lines(&f.segment(), &lines);
    // The attacker drops the checkpoint for 20 from `checkpoints.log` and, holding the key,
    // signs a fresh one for the new head.
    let checkpoints = f.audit().join(CHECKPOINT_FILE);
    let mut kept = self::lines(&checkpoints);
    kept.truncate(1);
    let key_bytes: [u8; 32] = fs::read(f.audit().join("signing.key"))
        .unwrap()
        .try_into()
        .unwrap();
    let key = AuditKey::from_seed(&key_bytes);
    let head = record(&lines[14]);
    kept.push(
        Checkpoint::sign(&key, 15, head.hash, Ts::from_secs(9_000))
            .to_line()
            .unwrap(),
    );
    write_lines(&checkpoints, &kept);

    assert!(
        f.verify_alone().is_intact(),
        "without a witness the cut cannot show"
    );
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
    let head = record(lines(&f.segment()).last().unwrap());
    let forged = Checkpoint::sign(&other, 10, head.hash, Ts::from_secs(9_000));
    let checkpoints = f.audit().join(CHECKPOINT_FILE);
    let mut all = lines(&checkpoints);
    all.push(forged.to_line().unwrap());
    write_lines(&checkpoints, &all);
    let report = f.verify();
    assert_eq!(
        report.problems,
        vec![Problem::ForgedCheckpoint {
            seq: 10,
            key_id: other.public_key().key_id(),
            expected_key_id: f.key.key_id(),
            origin: CheckpointSource::Local,
            line: 2
        }]
    );

    // Claiming the real key's id does not help: the signature fails.
    let mut relabelled = forged.clone();
    relabelled.key_id = f.key.key_id();
    all.push(relabelled.to_line().unwrap());
    write_lines(&checkpoints, &all);
    assert!(f.verify().problems.contains(&Problem::BadSignature {
        seq: 10,
        origin: CheckpointSource::Local,
        line: 3
    }));
}

#[test]
fn a_replaced_key_shows_against_the_trusted_one() {
    // The attacker rewrites everything with a key of their own: the chain is whole and the
    // checkpoints match `signing.pub`, but not the key the operator kept.
    let f = fixture(10, 5, false);
    let other = AuditKey::from_seed(&[7; 32]);
    let head = record(lines(&f.segment()).last().unwrap());
    fs::write(
        f.audit().join("signing.pub"),
        format!("{}\n", other.public_key().to_hex()),
    )
    .unwrap();
    fs::write(
        f.audit().join(CHECKPOINT_FILE),
        Checkpoint::sign(&other, 10, head.hash, Ts::from_secs(9_000))
            .to_line()
            .unwrap(),
    )
    .unwrap();
    assert!(f.verify_alone().is_intact());
    let report = verify(
        f.data.path(),
        &VerifyOptions {
            witness: None,
            trusted_key: Some(f.key),
        },
    )
    .unwrap();
    assert_eq!(
        first(&report),
        Problem::KeyReplaced {
            found: other.public_key().key_id(),
            trusted: f.key.key_id()
        }
    );
    assert!(
        report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::ForgedCheckpoint { .. }))
    );
}

#[test]
fn a_torn_tail_is_reported_then_recovered_on_open() {
    let f = fixture(10, 5, true);
    let mut all = lines(&f.segment());
    let mut torn = record(&all[9]);
    torn.seq = 11;
    let line = torn.to_line().unwrap();
    all.push(line[..line.len() / 2].to_vec());
    write_lines(&f.segment(), &all);
    let report = f.verify();
    assert_eq!(
        report.problems,
        vec![Problem::TornTail {
            file: segment_name(),
            line: 11,
            bytes: (line.len() / 2) as u64
        }]
    );

    let mut log = AuditLog::open(f.data.path()).unwrap();
    assert_eq!(log.recovered().len(), 1);
    assert_eq!(log.recovered()[0].cut_bytes, (line.len() / 2) as u64);
    let next = log.append(Ts::from_secs(6_000), entry(11)).unwrap();
    assert_eq!(next.seq, 11);
    log.close(Ts::from_secs(6_001)).unwrap();
    assert!(f.verify().is_intact(), "{:?}", f.verify().problems);
}

#[test]
fn an_unreadable_line_in_the_middle_is_reported_once() {
    let f = fixture(10, 5, true);
    let mut all = lines(&f.segment());
    all[4] = b"garbage\n".to_vec();
    write_lines(&f.segment(), &all);
    let report = f.verify();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(matches!(
        &report.problems[0],
        Problem::Unreadable { line: 5, .. }
    ));
}

#[test]
fn a_missing_witness_file_or_audit_directory_is_an_error() {
    let f = fixture(3, 5, true);
    let missing = f.data.path().join("nowhere.log");
    assert!(
        verify(
            f.data.path(),
            &VerifyOptions {
                witness: Some(missing),
                trusted_key: None
            }
        )
        .is_err()
    );
    let empty = tempfile::tempdir().unwrap();
    assert!(verify(empty.path(), &VerifyOptions::default()).is_err());
}

#[test]
fn an_export_stands_alone() {
    let f = fixture(30, 10, true);
    let mut out = Vec::new();
    // Records 12 to 17 (times 1012..1018), anchored on 11, proven by the checkpoint at 20.
    let summary = export(
        f.data.path(),
        Ts::from_secs(1_012),
        Ts::from_secs(1_018),
        &mut out,
    )
    .unwrap();
    assert_eq!(summary.header.first_seq, Some(12));
    assert_eq!(summary.header.last_seq, Some(17));
    assert_eq!(summary.header.anchor_seq, Some(11));
    assert_eq!(summary.header.covered_by, Some(20));
    assert_eq!(summary.records, 10);
    assert_eq!(summary.checkpoints, 1);

    let report = verify_export(&out[..], &f.key).unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert_eq!(report.covered_by, Some(20));
    assert_eq!(report.last_in_range, Some(17));

    // Another key does not prove it.
    let other = AuditKey::from_seed(&[5; 32]).public_key();
    let report = verify_export(&out[..], &other).unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| matches!(p, Problem::ForgedCheckpoint { .. }))
    );
    assert!(
        report
            .problems
            .contains(&Problem::Uncovered { last_seq: 17 })
    );

    // An edited record in the export shows.
    let text = String::from_utf8(out.clone()).unwrap();
    let edited = text.replacen("case review", "case reviex", 3);
    let report = verify_export(edited.as_bytes(), &f.key).unwrap();
    assert!(
        matches!(report.problems.first(), Some(Problem::Edited { .. })),
        "{:?}",
        report.problems
    );

    // Dropping the anchor leaves the start unproven.
    let mut export_lines: Vec<&str> = text.split_inclusive('\n').collect();
    export_lines.remove(2);
    let report = verify_export(export_lines.concat().as_bytes(), &f.key).unwrap();
    assert_eq!(report.problems, vec![Problem::MissingAnchor { seq: 12 }]);
}

#[test]
fn an_export_of_the_unchecked_tail_is_uncovered() {
    let f = fixture(15, 10, false);
    let mut out = Vec::new();
    let summary = export(f.data.path(), Ts::from_secs(1_012), Ts::MAX, &mut out).unwrap();
    assert_eq!(summary.header.covered_by, None);
    let report = verify_export(&out[..], &f.key).unwrap();
    assert_eq!(report.problems, vec![Problem::Uncovered { last_seq: 15 }]);
}

#[test]
fn an_export_from_the_start_needs_no_anchor() {
    let f = fixture(5, 5, false);
    let mut out = Vec::new();
    let summary = export(f.data.path(), Ts::MIN, Ts::MAX, &mut out).unwrap();
    assert_eq!(summary.header.anchor_seq, None);
    assert_eq!(summary.records, 5);
    assert!(verify_export(&out[..], &f.key).unwrap().is_intact());
}

fn small_log(records: u64) -> Fixture {
    fixture(records, 4, true)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any single byte changed anywhere in a segment is a problem.
    #[test]
    fn any_changed_byte_is_detected(position in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let f = small_log(6);
        let mut bytes = fs::read(f.segment()).unwrap();
        let at = position.index(bytes.len());
        prop_assume!(bytes[at] != byte);
        bytes[at] = byte;
        fs::write(f.segment(), &bytes).unwrap();
        let report = f.verify();
        prop_assert!(!report.is_intact(), "byte {} at {} went unnoticed", byte, at);
    }

    /// An intact log of random records verifies, whatever they hold.
    #[test]
    fn random_records_verify(
        records in prop::collection::vec(
            (
                "\\PC{0,24}",
                0..AuditAction::ALL.len(),
                prop::option::of("\\PC{0,24}"),
                prop::option::of(".{0,24}"),
                any::<i64>(),
                prop::collection::btree_map("[a-z\"\\\\]{0,6}", any::<i32>(), 0..4),
            ),
            0..20,
        ),
        segment_bytes in 200u64..5_000,
    ) {
        let data = tempfile::tempdir().unwrap();
        let mut log = AuditLog::open_with(data.path(), AuditOptions { segment_bytes }).unwrap();
        for (actor, action, subject, purpose, millis, detail) in records {
            let mut entry = AuditEntry::new(actor, AuditAction::ALL[action]);
            entry.subject = subject;
            entry.purpose = purpose;
            entry.detail = serde_json::to_value(detail).unwrap();
            let appended = log.append(Ts::from_millis(millis), entry).unwrap();
            prop_assert_eq!(appended.compute_hash().unwrap(), appended.hash);
        }
        log.close(Ts::from_secs(0)).unwrap();
        let report = verify(data.path(), &VerifyOptions::default()).unwrap();
        prop_assert!(report.is_intact(), "{:?}", report.problems);
    }

    /// Garbage in any of the audit files gives problems, never a panic.
    #[test]
    fn garbage_never_panics(
        segment in prop::collection::vec(any::<u8>(), 0..2_000),
        lines in prop::collection::vec("\\{\"seq\":[0-9]{1,3},\"time\":\"[0-9TZ:.-]{0,8}\".{0,40}\\}", 0..20),
        checkpoints in prop::collection::vec(any::<u8>(), 0..500),
        public in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        let data = tempfile::tempdir().unwrap();
        let dir = audit_dir(data.path());
        fs::create_dir_all(&dir).unwrap();
        let mut text = segment.clone();
        for line in &lines {
            text.extend_from_slice(line.as_bytes());
            text.push(b'\n');
        }
        fs::write(dir.join("audit-000001.log"), &text).unwrap();
        fs::write(dir.join("audit-000002.log"), &segment).unwrap();
        fs::write(dir.join(CHECKPOINT_FILE), &checkpoints).unwrap();
        fs::write(dir.join("signing.pub"), &public).unwrap();
        let witness = data.path().join("witness.log");
        fs::write(&witness, &checkpoints).unwrap();
        let report = verify(data.path(), &VerifyOptions { witness: Some(witness), trusted_key: None }).unwrap();
        if !text.is_empty() || !segment.is_empty() {
            prop_assert!(!report.is_intact());
        }
        let mut out = Vec::new();
        let _ = export(data.path(), Ts::MIN, Ts::MAX, &mut out).unwrap();
        let key = AuditKey::from_seed(&[1; 32]).public_key();
        let _ = verify_export(&out[..], &key).unwrap();
        let _ = verify_export(&text[..], &key).unwrap();
        // The writer recovers from it all and carries on.
        fs::remove_file(dir.join("signing.pub")).unwrap();
        let mut log = AuditLog::open(data.path()).unwrap();
        log.append(Ts::from_secs(1), AuditEntry::new("system", AuditAction::Other)).unwrap();
        log.sync().unwrap();
    }
}
