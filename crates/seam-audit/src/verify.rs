//! Verification: walks every record line in order (segment files, or another storage's),
//! recomputes every hash and link, and checks the signed checkpoints (local and witnessed)
//! against the chain.
//!
//! Problems are named as precisely as the data allows and listed record problems first, in
//! the order of the log, so the first one is the first bad record.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::AuditError;
use crate::anchor::{Anchor, AnchorLine, read_witness_file};
use crate::checkpoint::{Checkpoint, CheckpointFault, CheckpointLine};
use crate::file_storage::FileStorage;
use crate::files::{StoredLine, audit_dir};
use crate::key::{PUBLIC_KEY_FILE, PublicKey};
use crate::record::{GENESIS, LineFacts, MAX_LINE_BYTES, read_line};
use crate::storage::{AuditStorage, LinePlace};

/// Where a checkpoint was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointSource {
    /// `checkpoints.log` in the audit directory.
    Local,
    /// The witness file given to verify.
    Witness,
    /// An export.
    Export,
    /// A signed anchor (`anchors.log` or its table): where pruned records ended.
    Anchor,
}

impl fmt::Display for CheckpointSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CheckpointSource::Local => "`checkpoints.log`",
            CheckpointSource::Witness => "the witness",
            CheckpointSource::Export => "the export",
            CheckpointSource::Anchor => "an anchor",
        })
    }
}

/// What is wrong with an audit log (or an export). `file` and `line` locate a record's line
/// (line numbers from 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// A line that is not a record (or not a checkpoint, in a checkpoint file).
    #[error("`{file}` line {line} is unreadable: {reason}")]
    Unreadable {
        file: String,
        line: u64,
        reason: String,
    },
    /// The last segment ends in bytes that are not a complete record: a write cut short by a
    /// crash (opening the log cuts them off and keeps them in `<segment>.torn`).
    #[error(
        "`{file}` ends with {bytes} bytes of an incomplete record from line {line}: a write cut short"
    )]
    TornTail { file: String, line: u64, bytes: u64 },
    /// The record's content does not match its own hash: it was edited in place.
    #[error("record {seq} (`{file}` line {line}) was edited: its content does not match its hash")]
    Edited { seq: u64, file: String, line: u64 },
    /// The record's `prev` is not the hash of the record before it, although the numbers
    /// follow: the record before it was rewritten (hash recomputed), or one was replaced.
    #[error(
        "record {seq} (`{file}` line {line}) does not link to the record before it: that record was rewritten or replaced"
    )]
    ChainBroken { seq: u64, file: String, line: u64 },
    /// Numbers jump: the records in between were deleted.
    #[error(
        "{} missing before record {found} (`{file}` line {line}): deleted",
        missing(*.expected, *.found)
    )]
    SequenceGap {
        expected: u64,
        found: u64,
        file: String,
        line: u64,
    },
    /// A record that comes after a later one: records were moved.
    #[error("record {seq} (`{file}` line {line}) is out of order: it comes after record {after}")]
    Reordered {
        seq: u64,
        after: u64,
        file: String,
        line: u64,
    },
    /// A number seen twice: a record was inserted (or replayed).
    #[error("record {seq} (`{file}` line {line}) appears twice: a record was inserted")]
    Duplicate { seq: u64, file: String, line: u64 },
    /// A signed checkpoint vouches for another hash at this record: history was rewritten
    /// (every hash recomputed from some record on).
    #[error(
        "record {seq} does not have the hash a signed checkpoint in {origin} vouches for: the history was rewritten"
    )]
    CheckpointMismatch { seq: u64, origin: CheckpointSource },
    /// The log ends before a record a signed checkpoint vouches for: the tail was cut.
    #[error(
        "the log ends at record {last_seq} but a signed checkpoint in {origin} vouches for record {witnessed_seq}: the tail was cut"
    )]
    Truncated {
        last_seq: u64,
        witnessed_seq: u64,
        origin: CheckpointSource,
    },
    /// A checkpoint names another signer than the audit key.
    #[error(
        "the checkpoint for record {seq} ({origin} line {line}) is signed by key {key_id}, not by the audit key {expected_key_id}"
    )]
    ForgedCheckpoint {
        seq: u64,
        key_id: String,
        expected_key_id: String,
        origin: CheckpointSource,
        line: u64,
    },
    /// A checkpoint names the audit key but its signature does not verify.
    #[error("the checkpoint for record {seq} ({origin} line {line}) has an invalid signature")]
    BadSignature {
        seq: u64,
        origin: CheckpointSource,
        line: u64,
    },
    /// An anchor names another signer than the audit key.
    #[error(
        "the anchor for record {seq} ({origin} line {line}) is signed by key {key_id}, not by the audit key {expected_key_id}"
    )]
    ForgedAnchor {
        seq: u64,
        key_id: String,
        expected_key_id: String,
        origin: CheckpointSource,
        line: u64,
    },
    /// An anchor names the audit key but its signature does not verify (its seq or hash was
    /// changed).
    #[error("the anchor for record {seq} ({origin} line {line}) has an invalid signature")]
    BadAnchorSignature {
        seq: u64,
        origin: CheckpointSource,
        line: u64,
    },
    /// The witness holds an anchor that `anchors.log` lacks: that file was cut or rewritten.
    #[error(
        "the witnessed anchor for record {seq} is missing from `anchors.log`: it was cut or rewritten"
    )]
    AnchorMissing { seq: u64 },
    /// The witness holds a checkpoint that `checkpoints.log` lacks: that file was cut or
    /// rewritten.
    #[error(
        "the witnessed checkpoint for record {seq} is missing from `checkpoints.log`: it was cut or rewritten"
    )]
    CheckpointMissing { seq: u64 },
    /// `signing.pub` is not the key the operator trusts.
    #[error(
        "`signing.pub` holds key {found}, not the trusted key {trusted}: the audit key was replaced"
    )]
    KeyReplaced { found: String, trusted: String },
    /// There are checkpoints but nothing to check them with.
    #[error(
        "no key to check checkpoints with: `signing.pub` is missing or unreadable and no trusted key was given"
    )]
    NoPublicKey,
    /// An export whose last record in range no checkpoint covers.
    #[error(
        "no checkpoint in the export covers record {last_seq}: the exported records are not proven"
    )]
    Uncovered { last_seq: u64 },
    /// An export that starts inside its range without the record before it, so records
    /// before its first could have been left out.
    #[error("the export starts at record {seq}, inside its range, without the record before it")]
    MissingAnchor { seq: u64 },
    /// An export whose first line is not its header.
    #[error("the export's header is unreadable: {reason}")]
    BadHeader { reason: String },
}

/// "record 5 is" or "records 5 to 7 are".
fn missing(expected: u64, found: u64) -> String {
    let last = found.saturating_sub(1);
    if last <= expected {
        format!("record {expected} is")
    } else {
        format!("records {expected} to {last} are")
    }
}

/// How many problems a report lists; the rest are counted.
const MAX_PROBLEMS: usize = 1000;
/// How many gaps in the numbering are remembered (to tell a moved record from an inserted one).
const MAX_GAPS: usize = 256;

/// The order problems are listed in: key problems, then problems of records (in log order),
/// then problems of checkpoints.
pub(crate) const KEY: u8 = 0;
pub(crate) const RECORD: u8 = 1;
pub(crate) const CHECKPOINT: u8 = 2;

#[derive(Debug, Default)]
pub(crate) struct Problems {
    list: Vec<(u8, u64, Problem)>,
    omitted: u64,
}

impl Problems {
    pub(crate) fn push(&mut self, class: u8, at: u64, problem: Problem) -> Option<usize> {
        if self.list.len() >= MAX_PROBLEMS {
            self.omitted += 1;
            return None;
        }
        self.list.push((class, at, problem));
        Some(self.list.len() - 1)
    }

    fn replace(&mut self, index: usize, at: u64, problem: Problem) {
        if let Some(slot) = self.list.get_mut(index) {
            slot.1 = at;
            slot.2 = problem;
        }
    }

    pub(crate) fn finish(mut self) -> (Vec<Problem>, u64) {
        self.list.sort_by_key(|(class, at, _)| (*class, *at));
        (
            self.list.into_iter().map(|(_, _, p)| p).collect(),
            self.omitted,
        )
    }
}

/// Seqs missing from the numbering, with the problem that reported them.
#[derive(Debug)]
struct Gap {
    start: u64,
    end: u64,
    problem: Option<usize>,
}

#[derive(Debug)]
struct Expected {
    hash: [u8; 32],
    origin: CheckpointSource,
    matched: bool,
}

#[derive(Debug, Default)]
struct Slot {
    seen: bool,
    expected: Vec<Expected>,
}

/// The chain check, record by record; shared by [`verify`] and the export check.
#[derive(Debug)]
pub(crate) struct Walker {
    /// Whether the chain has its start: genesis for a log, the first record for an export.
    based: bool,
    last_seq: u64,
    last_hash: [u8; 32],
    /// The hash of a duplicate just seen: the next record may link to either copy.
    alt_hash: Option<[u8; 32]>,
    /// After an unreadable line, the next record starts the chain again unchecked: the line
    /// is reported, and every record after it would otherwise be reported too.
    resync: bool,
    gaps: Vec<Gap>,
    expectations: HashMap<u64, Slot>,
    /// The anchor's seq until the first record: records up to it that an interrupted prune
    /// left may come first, and start the chain.
    leftovers_through: Option<u64>,
    pub(crate) records: u64,
    pub(crate) problems: Problems,
}

impl Walker {
    pub(crate) fn from_genesis() -> Walker {
        Walker {
            based: true,
            last_seq: 0,
            last_hash: GENESIS,
            alt_hash: None,
            resync: false,
            gaps: Vec::new(),
            expectations: HashMap::new(),
            leftovers_through: None,
            records: 0,
            problems: Problems::default(),
        }
    }

    /// A chain that starts after a signed anchor: the first record must be `seq + 1` and link
    /// to `hash`, unless records up to `seq` that a prune did not finish dropping come first;
    /// those must reach `hash` at `seq`.
    pub(crate) fn from_anchor(seq: u64, hash: [u8; 32]) -> Walker {
        let mut walker = Walker {
            last_seq: seq,
            last_hash: hash,
            leftovers_through: Some(seq),
            ..Walker::from_genesis()
        };
        walker.expect(seq, hash, CheckpointSource::Anchor);
        walker
    }

    /// A chain that starts at whatever record comes first (an export's anchor).
    pub(crate) fn unbased() -> Walker {
        Walker {
            based: false,
            ..Walker::from_genesis()
        }
    }

    pub(crate) fn last_seq(&self) -> u64 {
        self.last_seq
    }

    pub(crate) fn last_hash(&self) -> [u8; 32] {
        self.last_hash
    }

    /// A signed checkpoint says the record at `seq` has `hash`.
    pub(crate) fn expect(&mut self, seq: u64, hash: [u8; 32], origin: CheckpointSource) {
        if seq == 0 {
            // The empty log's checkpoint: its hash can only be the genesis value.
            if hash != GENESIS {
                self.problems
                    .push(RECORD, 0, Problem::CheckpointMismatch { seq, origin });
            }
            return;
        }
        let slot = self.expectations.entry(seq).or_default();
        if !slot
            .expected
            .iter()
            .any(|e| e.hash == hash && e.origin == origin)
        {
            slot.expected.push(Expected {
                hash,
                origin,
                matched: false,
            });
        }
    }

    /// Whether any seq `>= seq` is vouched for by a checkpoint whose hash matched.
    pub(crate) fn covered_at_or_after(&self, seq: u64) -> Option<u64> {
        self.expectations
            .iter()
            .filter(|(at, slot)| **at >= seq && slot.expected.iter().any(|e| e.matched))
            .map(|(at, _)| *at)
            .min()
    }

    pub(crate) fn unreadable(&mut self, problem: Problem) {
        self.resync = true;
        self.problems
            .push(RECORD, self.last_seq.saturating_add(1), problem);
    }

    pub(crate) fn torn_tail(&mut self, problem: Problem) {
        self.problems
            .push(RECORD, self.last_seq.saturating_add(1), problem);
    }

    pub(crate) fn record(&mut self, facts: &LineFacts, file: &str, line: u64) {
        let seq = facts.seq;
        self.records += 1;
        if facts.stored != facts.computed {
            self.problems.push(
                RECORD,
                seq,
                Problem::Edited {
                    seq,
                    file: file.to_string(),
                    line,
                },
            );
        }
        if let Some(through) = self.leftovers_through.take()
            && seq <= through
        {
            // Records before them are gone: they start the chain, which must reach the
            // anchor's hash (an expectation) and go on from there.
            if seq == 1 && facts.prev != GENESIS {
                self.problems.push(
                    RECORD,
                    seq,
                    Problem::ChainBroken {
                        seq,
                        file: file.to_string(),
                        line,
                    },
                );
            }
            self.accept(facts);
            return;
        }
        if !self.based {
            self.based = true;
            if seq == 1 && facts.prev != GENESIS {
                self.problems.push(
                    RECORD,
                    seq,
                    Problem::ChainBroken {
                        seq,
                        file: file.to_string(),
                        line,
                    },
                );
            }
            self.accept(facts);
            return;
        }
        if self.resync {
            self.resync = false;
            if seq > self.last_seq {
                self.accept(facts);
                return;
            }
        }
        let expected = self.last_seq.saturating_add(1);
        if seq == expected {
            if facts.prev != self.last_hash && Some(facts.prev) != self.alt_hash {
                self.problems.push(
                    RECORD,
                    seq,
                    Problem::ChainBroken {
                        seq,
                        file: file.to_string(),
                        line,
                    },
                );
            }
            self.accept(facts);
        } else if seq > expected {
            let problem = self.problems.push(
                RECORD,
                seq,
                Problem::SequenceGap {
                    expected,
                    found: seq,
                    file: file.to_string(),
                    line,
                },
            );
            if self.gaps.len() < MAX_GAPS {
                self.gaps.push(Gap {
                    start: expected,
                    end: seq - 1,
                    problem,
                });
            }
            self.accept(facts);
        } else {
            self.late(facts, file, line);
        }
    }

    fn accept(&mut self, facts: &LineFacts) {
        self.last_seq = facts.seq;
        self.last_hash = facts.stored;
        self.alt_hash = None;
        self.note(facts.seq, facts.stored);
    }

    /// A record numbered at or below the last: moved from a gap, or a second copy.
    fn late(&mut self, facts: &LineFacts, file: &str, line: u64) {
        let seq = facts.seq;
        let reordered = Problem::Reordered {
            seq,
            after: self.last_seq,
            file: file.to_string(),
            line,
        };
        match self
            .gaps
            .iter()
            .rposition(|gap| gap.start <= seq && seq <= gap.end)
        {
            Some(index) => {
                let Some(gap) = self.gaps.get_mut(index) else {
                    return;
                };
                if gap.start == gap.end {
                    // The gap was this record alone: it was moved, not deleted.
                    let problem = gap.problem;
                    self.gaps.remove(index);
                    match problem {
                        Some(at) => self.problems.replace(at, seq, reordered),
                        None => {
                            self.problems.push(RECORD, seq, reordered);
                        }
                    }
                } else {
                    if seq == gap.start {
                        gap.start += 1;
                    } else if seq == gap.end {
                        gap.end -= 1;
                    } else {
                        let rest = Gap {
                            start: seq + 1,
                            end: gap.end,
                            problem: None,
                        };
                        gap.end = seq - 1;
                        if self.gaps.len() < MAX_GAPS {
                            self.gaps.push(rest);
                        }
                    }
                    self.problems.push(RECORD, seq, reordered);
                }
            }
            None => {
                self.problems.push(
                    RECORD,
                    seq,
                    Problem::Duplicate {
                        seq,
                        file: file.to_string(),
                        line,
                    },
                );
                self.alt_hash = Some(facts.stored);
            }
        }
        self.note(seq, facts.stored);
    }

    fn note(&mut self, seq: u64, hash: [u8; 32]) {
        if self.expectations.is_empty() {
            return;
        }
        if let Some(slot) = self.expectations.get_mut(&seq) {
            slot.seen = true;
            for expected in &mut slot.expected {
                if expected.hash == hash {
                    expected.matched = true;
                }
            }
        }
    }

    /// Checkpoints the chain did not bear out: a cut tail or a rewritten history.
    pub(crate) fn finish(&mut self) {
        let mut seqs: Vec<u64> = self.expectations.keys().copied().collect();
        seqs.sort_unstable();
        let mut truncated: Option<(u64, CheckpointSource)> = None;
        for seq in seqs {
            let Some(slot) = self.expectations.get(&seq) else {
                continue;
            };
            for expected in slot.expected.iter().filter(|e| !e.matched) {
                if seq > self.last_seq {
                    // Prefer naming the witness: it is what a cut cannot reach.
                    let better = match truncated {
                        None => true,
                        Some((at, origin)) => {
                            seq > at || (seq == at && origin != CheckpointSource::Witness)
                        }
                    };
                    if better {
                        truncated = Some((seq, expected.origin));
                    }
                } else if slot.seen {
                    self.problems.push(
                        RECORD,
                        seq,
                        Problem::CheckpointMismatch {
                            seq,
                            origin: expected.origin,
                        },
                    );
                }
                // Neither: the record is in a gap, already reported as deleted.
            }
        }
        if let Some((witnessed_seq, origin)) = truncated {
            self.problems.push(
                RECORD,
                self.last_seq.saturating_add(1),
                Problem::Truncated {
                    last_seq: self.last_seq,
                    witnessed_seq,
                    origin,
                },
            );
        }
    }
}

/// Checks checkpoints' signatures, reporting each fault once.
pub(crate) struct CheckpointChecker<'a> {
    key: Option<&'a PublicKey>,
    no_key_reported: bool,
    /// Checkpoints already found good: a witness repeats `checkpoints.log` line for line, and
    /// a signature check costs some 40 µs.
    good: HashSet<(u64, [u8; 32], i64, [u8; 64])>,
}

impl<'a> CheckpointChecker<'a> {
    pub(crate) fn new(key: Option<&'a PublicKey>) -> CheckpointChecker<'a> {
        CheckpointChecker {
            key,
            no_key_reported: false,
            good: HashSet::new(),
        }
    }

    /// A signed line as parsed, with the key to check it by; an unreadable line, or the
    /// missing key (once), is reported instead.
    fn readable<T>(
        &mut self,
        problems: &mut Problems,
        file: &str,
        line: u64,
        parsed: Result<T, String>,
    ) -> Option<(T, &'a PublicKey)> {
        let value = match parsed {
            Ok(value) => value,
            Err(reason) => {
                problems.push(
                    CHECKPOINT,
                    u64::MAX,
                    Problem::Unreadable {
                        file: file.to_string(),
                        line,
                        reason,
                    },
                );
                return None;
            }
        };
        let Some(key) = self.key else {
            if !self.no_key_reported {
                self.no_key_reported = true;
                problems.push(KEY, 0, Problem::NoPublicKey);
            }
            return None;
        };
        Some((value, key))
    }

    /// The checkpoint if the key signed it; otherwise the problem is reported.
    pub(crate) fn check(
        &mut self,
        problems: &mut Problems,
        file: &str,
        origin: CheckpointSource,
        (line, parsed): CheckpointLine,
    ) -> Option<Checkpoint> {
        let (checkpoint, key) = self.readable(problems, file, line, parsed)?;
        let id = (
            checkpoint.seq,
            checkpoint.hash,
            checkpoint.time.millis(),
            checkpoint.signature,
        );
        if checkpoint.key_id == key.key_id() && self.good.contains(&id) {
            return Some(checkpoint);
        }
        match checkpoint.check(key) {
            Ok(()) => {
                self.good.insert(id);
                Some(checkpoint)
            }
            Err(CheckpointFault::OtherKey) => {
                problems.push(
                    CHECKPOINT,
                    checkpoint.seq,
                    Problem::ForgedCheckpoint {
                        seq: checkpoint.seq,
                        key_id: checkpoint.key_id,
                        expected_key_id: key.key_id(),
                        origin,
                        line,
                    },
                );
                None
            }
            Err(CheckpointFault::BadSignature) => {
                problems.push(
                    CHECKPOINT,
                    checkpoint.seq,
                    Problem::BadSignature {
                        seq: checkpoint.seq,
                        origin,
                        line,
                    },
                );
                None
            }
        }
    }
}

impl CheckpointChecker<'_> {
    /// The anchor if the key signed it; otherwise the problem is reported.
    pub(crate) fn check_anchor(
        &mut self,
        problems: &mut Problems,
        file: &str,
        origin: CheckpointSource,
        (line, parsed): AnchorLine,
    ) -> Option<Anchor> {
        let (anchor, key) = self.readable(problems, file, line, parsed)?;
        match anchor.check(key) {
            Ok(()) => Some(anchor),
            Err(CheckpointFault::OtherKey) => {
                problems.push(
                    CHECKPOINT,
                    anchor.seq,
                    Problem::ForgedAnchor {
                        seq: anchor.seq,
                        key_id: anchor.key_id,
                        expected_key_id: key.key_id(),
                        origin,
                        line,
                    },
                );
                None
            }
            Err(CheckpointFault::BadSignature) => {
                problems.push(
                    CHECKPOINT,
                    anchor.seq,
                    Problem::BadAnchorSignature {
                        seq: anchor.seq,
                        origin,
                        line,
                    },
                );
                None
            }
        }
    }
}

/// What to check an audit log against.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// A witness file (a copy of the checkpoints kept outside the data directory).
    pub witness: Option<PathBuf>,
    /// The public key the operator keeps; without it, `signing.pub` is trusted.
    pub trusted_key: Option<PublicKey>,
}

/// What verify found. Intact when `problems` is empty; the first problem is the one to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// Record lines read (including out-of-place ones).
    pub records: u64,
    pub segments: usize,
    /// The highest seq in order: the head of the chain.
    pub last_seq: u64,
    pub head_hash: [u8; 32],
    /// The key checkpoints were checked with.
    pub key_id: Option<String>,
    /// Distinct checkpoints (seq and hash) in `checkpoints.log` with a valid signature.
    pub checkpoints: usize,
    /// Checkpoints in the witness with a valid signature.
    pub witnessed: usize,
    pub last_checkpoint_seq: Option<u64>,
    pub last_witnessed_seq: Option<u64>,
    /// The anchor the chain was checked from (records up to it were pruned): the latest
    /// valid one in `anchors.log`, and with a witness the latest the witness holds too.
    pub anchor_seq: Option<u64>,
    pub problems: Vec<Problem>,
    /// Problems beyond the first thousand, counted only.
    pub problems_omitted: u64,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty() && self.problems_omitted == 0
    }

    pub fn first_problem(&self) -> Option<&Problem> {
        self.problems.first()
    }

    /// Records after the last witnessed checkpoint (or, without a witness, the last local
    /// one): the tail that could be cut, or rewritten with the key, without verify noticing.
    pub fn unprotected_records(&self) -> u64 {
        let protected = self
            .last_witnessed_seq
            .or(self.last_checkpoint_seq)
            .unwrap_or(0);
        self.last_seq.saturating_sub(protected)
    }
}

/// Verifies the audit log in `DATA_DIR/audit`. An `Err` means it could not be read at all
/// (no audit directory, a missing witness file, an I/O error); everything wrong with its
/// content is a [`Problem`] in the report.
pub fn verify(data_dir: &Path, options: &VerifyOptions) -> Result<VerifyReport, AuditError> {
    let dir = audit_dir(data_dir);
    if !dir.is_dir() {
        return Err(AuditError::NoAuditLog { path: dir });
    }
    verify_on(&mut FileStorage::new(data_dir), data_dir, options)
}

/// Verifies the audit log whose lines `storage` keeps, with `signing.pub` from
/// `DATA_DIR/audit` (or [`VerifyOptions::trusted_key`]), exactly as [`verify`] does the files.
/// A problem in a table names it as its `file`, and the row's key as its `line`.
pub fn verify_on(
    storage: &mut dyn AuditStorage,
    data_dir: &Path,
    options: &VerifyOptions,
) -> Result<VerifyReport, AuditError> {
    let dir = audit_dir(data_dir);
    if !dir.is_dir() {
        return Err(AuditError::NoAuditLog { path: dir });
    }
    let mut problems = Problems::default();

    let pub_path = dir.join(PUBLIC_KEY_FILE);
    let stored_key = if pub_path.exists() {
        match PublicKey::read(&pub_path) {
            Ok(key) => Some(key),
            Err(error) => {
                problems.push(
                    KEY,
                    0,
                    Problem::Unreadable {
                        file: PUBLIC_KEY_FILE.to_string(),
                        line: 1,
                        reason: error.to_string(),
                    },
                );
                None
            }
        }
    } else {
        None
    };
    let key = match (options.trusted_key, stored_key) {
        (Some(trusted), Some(found)) => {
            if found != trusted {
                problems.push(
                    KEY,
                    0,
                    Problem::KeyReplaced {
                        found: found.key_id(),
                        trusted: trusted.key_id(),
                    },
                );
            }
            Some(trusted)
        }
        (trusted, found) => trusted.or(found),
    };
    check_storage(
        storage,
        key,
        options.witness.as_deref(),
        problems,
        &mut |_| {},
    )
}

/// The whole check of a storage's lines with `key`, after the key's own problems; `on_record`
/// sees every record line that reads as one, in log order (the pruner finds its cutoff so).
pub(crate) fn check_storage(
    storage: &mut dyn AuditStorage,
    key: Option<PublicKey>,
    witness: Option<&Path>,
    mut problems: Problems,
    on_record: &mut dyn FnMut(&LineFacts),
) -> Result<VerifyReport, AuditError> {
    // Checkpoints and anchors before records: a checkpoint is written only once the records
    // it covers are durable, and an anchor before any record goes, so a log growing or
    // pruned meanwhile still has every record they vouch for.
    let local_anchors = storage.read_anchors()?;
    let local = storage.read_checkpoints()?;
    let witnessed = match witness {
        Some(path) => Some((
            path.display().to_string(),
            read_witness_file(path)?.ok_or_else(|| AuditError::NoWitness {
                path: path.to_path_buf(),
            })?,
        )),
        None => None,
    };

    let mut checker = CheckpointChecker::new(key.as_ref());
    // The anchor the chain starts from: the latest valid one, and with a witness the latest
    // the witness holds too, so that an anchor written with a stolen key (and the records it
    // claims gone) is not taken on the data directory's word.
    let mut local_anchor_set = HashSet::new();
    for line in local_anchors.lines {
        if let Some(anchor) = checker.check_anchor(
            &mut problems,
            &local_anchors.name,
            CheckpointSource::Local,
            line,
        ) {
            local_anchor_set.insert((anchor.seq, anchor.hash));
        }
    }
    let mut eligible_anchors = local_anchor_set.clone();
    if let Some((name, (_, anchor_lines))) = &witnessed {
        let mut witnessed_anchors = HashSet::new();
        for line in anchor_lines.iter().cloned() {
            if let Some(anchor) =
                checker.check_anchor(&mut problems, name, CheckpointSource::Witness, line)
            {
                if !local_anchor_set.contains(&(anchor.seq, anchor.hash))
                    && witnessed_anchors.insert((anchor.seq, anchor.hash))
                {
                    problems.push(
                        CHECKPOINT,
                        anchor.seq,
                        Problem::AnchorMissing { seq: anchor.seq },
                    );
                }
                witnessed_anchors.insert((anchor.seq, anchor.hash));
            }
        }
        eligible_anchors.retain(|anchor| witnessed_anchors.contains(anchor));
    }
    let anchor = eligible_anchors.into_iter().max();
    let mut walker = match anchor {
        Some((seq, hash)) => Walker::from_anchor(seq, hash),
        None => Walker::from_genesis(),
    };
    walker.problems = problems;

    let mut local_valid = HashSet::new();
    let mut last_checkpoint_seq = None;
    for line in local.lines {
        if let Some(checkpoint) = checker.check(
            &mut walker.problems,
            &local.name,
            CheckpointSource::Local,
            line,
        ) {
            walker.expect(checkpoint.seq, checkpoint.hash, CheckpointSource::Local);
            last_checkpoint_seq = last_checkpoint_seq.max(Some(checkpoint.seq));
            local_valid.insert((checkpoint.seq, checkpoint.hash));
        }
    }
    let checkpoints = local_valid.len();
    let mut witnessed_count = 0;
    let mut last_witnessed_seq = None;
    if let Some((name, (lines, _))) = witnessed {
        let mut reported_missing = HashSet::new();
        for line in lines {
            if let Some(checkpoint) =
                checker.check(&mut walker.problems, &name, CheckpointSource::Witness, line)
            {
                walker.expect(checkpoint.seq, checkpoint.hash, CheckpointSource::Witness);
                witnessed_count += 1;
                last_witnessed_seq = last_witnessed_seq.max(Some(checkpoint.seq));
                if !local_valid.contains(&(checkpoint.seq, checkpoint.hash))
                    && reported_missing.insert((checkpoint.seq, checkpoint.hash))
                {
                    walker.problems.push(
                        CHECKPOINT,
                        checkpoint.seq,
                        Problem::CheckpointMissing {
                            seq: checkpoint.seq,
                        },
                    );
                }
            }
        }
    }

    let mut walk = RecordWalk {
        walker: &mut walker,
        held: Vec::new(),
        held_from: None,
        end: 0,
    };
    let segments = storage.read_records(&mut |place, line| {
        walk.line(place, line, on_record);
        ControlFlow::Continue(())
    })?;
    walk.finish();
    walker.finish();

    let (problems, problems_omitted) = std::mem::take(&mut walker.problems).finish();
    Ok(VerifyReport {
        records: walker.records,
        segments,
        last_seq: walker.last_seq(),
        head_hash: walker.last_hash(),
        key_id: key.map(|k| k.key_id()),
        checkpoints,
        witnessed: witnessed_count,
        last_checkpoint_seq,
        last_witnessed_seq,
        anchor_seq: anchor.map(|(seq, _)| seq),
        problems,
        problems_omitted,
    })
}

/// Why a line read from a segment is not a record.
pub(crate) fn line_facts(line: StoredLine<'_>) -> Result<LineFacts, String> {
    match line {
        StoredLine::Complete(bytes) => read_line(bytes).map_err(|reason| reason.into_owned()),
        StoredLine::Unterminated(_) => Err("the line has no newline".to_string()),
        StoredLine::TooLong => Err(format!("the line is longer than {MAX_LINE_BYTES} bytes")),
    }
}

/// Hands record lines to the walker, telling a torn tail from damaged records.
struct RecordWalk<'w> {
    walker: &'w mut Walker,
    /// Where a crash may have torn the log (the last segment), unreadable lines are held back
    /// until a record follows them: with none after, they are a torn tail, not a damaged
    /// record.
    held: Vec<Problem>,
    /// The unit, first line and start of the held lines.
    held_from: Option<(String, u64, u64)>,
    /// Where the last line read ends.
    end: u64,
}

impl RecordWalk<'_> {
    fn line(
        &mut self,
        place: &LinePlace<'_>,
        line: StoredLine<'_>,
        on_record: &mut dyn FnMut(&LineFacts),
    ) {
        self.end = place.end;
        match line_facts(line) {
            Ok(facts) => {
                on_record(&facts);
                self.held_from = None;
                for problem in self.held.drain(..) {
                    self.walker.unreadable(problem);
                }
                self.walker.record(&facts, place.unit, place.number);
            }
            Err(reason) => {
                let problem = Problem::Unreadable {
                    file: place.unit.to_string(),
                    line: place.number,
                    reason,
                };
                if place.may_be_torn {
                    self.held_from
                        .get_or_insert_with(|| (place.unit.to_string(), place.number, place.start));
                    self.held.push(problem);
                } else {
                    self.walker.unreadable(problem);
                }
            }
        }
    }

    fn finish(self) {
        if let Some((file, line, start)) = self.held_from {
            self.walker.torn_tail(Problem::TornTail {
                file,
                line,
                bytes: self.end.saturating_sub(start),
            });
        }
    }
}
