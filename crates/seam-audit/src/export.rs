//! Exports for an auditor: the records of a time range with what proves them (the record
//! before the range, the records up to the checkpoint that covers the range, and the
//! checkpoints among them), and the check that such an export stands alone.

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::ops::ControlFlow;
use std::path::Path;

use seam_model::Ts;
use serde::{Deserialize, Serialize};

use crate::AuditError;
use crate::anchor::{Anchor, WRAPPED_PREFIX};
use crate::checkpoint::Checkpoint;
use crate::file_storage::FileStorage;
use crate::files::{LineReader, StoredLine, audit_dir};
use crate::key::{PUBLIC_KEY_FILE, PublicKey};
use crate::storage::AuditStorage;
use crate::verify::{
    CheckpointChecker, CheckpointSource, KEY, Problem, RECORD, Walker, line_facts,
};

/// The `format` of an export's header.
pub const EXPORT_FORMAT: &str = "seam-audit-export-v1";

/// An export's first line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportHeader {
    /// [`EXPORT_FORMAT`].
    pub format: String,
    /// The range asked for: records whose time is in `[from, to)`.
    pub from: Ts,
    pub to: Ts,
    /// The first and last records in the range, in log order (`None` when none is).
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// The record before `first_seq`, included so its link can be checked (`None` when the
    /// range starts at the first record).
    pub anchor_seq: Option<u64>,
    /// The checkpoint that covers `last_seq`: the records up to it are included as proof.
    pub covered_by: Option<u64>,
    /// The audit key, for convenience only: an auditor checks with the key they hold.
    pub key_id: Option<String>,
    pub public_key: Option<String>,
}

/// A checkpoint's line in an export.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportedCheckpoint {
    checkpoint: Checkpoint,
}

/// What [`export`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportSummary {
    pub header: ExportHeader,
    /// Record lines written, the anchor and proof records included.
    pub records: u64,
    pub checkpoints: usize,
}

/// Writes the export of `[from, to)` from the audit log in `DATA_DIR/audit` to `out` as
/// NDJSON: the [`ExportHeader`], then each checkpoint as `{"checkpoint":{…}}`, then the record
/// lines exactly as stored, from the anchor to the covering checkpoint's record. Times in the
/// log may step back (clocks do), so the records between the first and the last in range are
/// all exported, whatever their time. A line too long to be a record is exported as an empty
/// line, so that the check reports it where it was.
pub fn export<W: Write>(
    data_dir: &Path,
    from: Ts,
    to: Ts,
    out: &mut W,
) -> Result<ExportSummary, AuditError> {
    let dir = audit_dir(data_dir);
    if !dir.is_dir() {
        return Err(AuditError::NoAuditLog { path: dir });
    }
    export_on(&mut FileStorage::new(data_dir), data_dir, from, to, out)
}

/// [`export`] of the log whose lines `storage` keeps, with `signing.pub` from
/// `DATA_DIR/audit`: the same export, byte for byte, as of the same log in files.
pub fn export_on<W: Write>(
    storage: &mut dyn AuditStorage,
    data_dir: &Path,
    from: Ts,
    to: Ts,
    out: &mut W,
) -> Result<ExportSummary, AuditError> {
    let dir = audit_dir(data_dir);
    if !dir.is_dir() {
        return Err(AuditError::NoAuditLog { path: dir });
    }
    let checkpoints: Vec<Checkpoint> = storage
        .read_checkpoints()?
        .lines
        .into_iter()
        .filter_map(|(_, parsed)| parsed.ok())
        .collect();
    let key = PublicKey::read(&dir.join(PUBLIC_KEY_FILE)).ok();
    // The latest anchor the key vouches for: when the export starts at the first record kept
    // after a prune, it stands in for the record before.
    let log_anchor: Option<Anchor> = storage
        .read_anchors()?
        .lines
        .into_iter()
        .filter_map(|(_, parsed)| parsed.ok())
        .filter(|anchor| key.is_some_and(|key| anchor.check(&key).is_ok()))
        .max_by_key(|anchor| anchor.seq);

    // First pass: where the range starts and ends, by line position over all segments.
    let mut position = 0u64;
    let mut previous: Option<(u64, u64)> = None;
    let mut anchor: Option<(u64, u64)> = None;
    let mut first: Option<(u64, u64)> = None;
    let mut last: Option<(u64, u64)> = None;
    let mut checkpoint_positions: HashMap<u64, u64> =
        checkpoints.iter().map(|c| (c.seq, 0)).collect();
    storage.read_records(&mut |_, line| {
        position += 1;
        let Ok(facts) = line_facts(line) else {
            return ControlFlow::Continue(());
        };
        if from <= facts.time && facts.time < to {
            if first.is_none() {
                first = Some((position, facts.seq));
                anchor = previous;
            }
            last = Some((position, facts.seq));
        }
        if let Some(at) = checkpoint_positions.get_mut(&facts.seq) {
            *at = position;
        }
        previous = Some((position, facts.seq));
        ControlFlow::Continue(())
    })?;

    let covered_by = last.and_then(|(_, last_seq)| {
        checkpoints
            .iter()
            .filter(|c| c.seq >= last_seq)
            .map(|c| c.seq)
            .min()
    });
    let start = anchor.or(first);
    let end_position = match (last, covered_by) {
        (Some((last_position, _)), Some(cover)) => checkpoint_positions
            .get(&cover)
            .copied()
            .unwrap_or(last_position)
            .max(last_position),
        (Some((last_position, _)), None) => last_position,
        (None, _) => 0,
    };
    let header = ExportHeader {
        format: EXPORT_FORMAT.to_string(),
        from,
        to,
        first_seq: first.map(|(_, seq)| seq),
        last_seq: last.map(|(_, seq)| seq),
        anchor_seq: anchor.map(|(_, seq)| seq),
        covered_by,
        key_id: key.map(|k| k.key_id()),
        public_key: key.map(|k| k.to_hex()),
    };
    let write_error = |source| AuditError::ExportWrite { source };
    let mut line = serde_json::to_vec(&header).map_err(|source| AuditError::Encode { source })?;
    line.push(b'\n');
    out.write_all(&line).map_err(write_error)?;

    if let (Some((_, start_seq)), Some(anchor)) = (start, &log_anchor)
        && anchor.seq.checked_add(1) == Some(start_seq)
    {
        out.write_all(&anchor.to_wrapped_line()?)
            .map_err(write_error)?;
    }
    let mut written_checkpoints = 0;
    if let (Some((_, start_seq)), Some((_, last_seq))) = (start, last) {
        let proof_to = covered_by.unwrap_or(last_seq);
        for checkpoint in checkpoints
            .iter()
            .filter(|c| c.seq >= start_seq && c.seq <= proof_to)
        {
            let mut line = serde_json::to_vec(&ExportedCheckpoint {
                checkpoint: checkpoint.clone(),
            })
            .map_err(|source| AuditError::Encode { source })?;
            line.push(b'\n');
            out.write_all(&line).map_err(write_error)?;
            written_checkpoints += 1;
        }
    }

    // Second pass: the lines from the anchor to the covering checkpoint's record, as stored.
    let mut records = 0u64;
    if let Some((start_position, _)) = start {
        let mut position = 0u64;
        let mut failed = None;
        storage.read_records(&mut |_, line| {
            position += 1;
            if position < start_position {
                return ControlFlow::Continue(());
            }
            if position > end_position {
                return ControlFlow::Break(());
            }
            let bytes = match line {
                StoredLine::Complete(bytes) | StoredLine::Unterminated(bytes) => bytes,
                StoredLine::TooLong => &[],
            };
            if let Err(error) = out.write_all(bytes).and_then(|()| out.write_all(b"\n")) {
                failed = Some(error);
                return ControlFlow::Break(());
            }
            records += 1;
            ControlFlow::Continue(())
        })?;
        if let Some(error) = failed {
            return Err(write_error(error));
        }
    }
    out.flush().map_err(write_error)?;
    Ok(ExportSummary {
        header,
        records,
        checkpoints: written_checkpoints,
    })
}

/// What [`verify_export`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportReport {
    pub header: Option<ExportHeader>,
    /// Record lines read.
    pub records: u64,
    /// Checkpoints whose signature the key verified.
    pub checkpoints: usize,
    /// The last record whose time is in the header's range.
    pub last_in_range: Option<u64>,
    /// The checkpoint that proves the records up to `last_in_range`.
    pub covered_by: Option<u64>,
    pub problems: Vec<Problem>,
    pub problems_omitted: u64,
}

impl ExportReport {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty() && self.problems_omitted == 0
    }
}

/// Checks that an export stands alone, with the public key the auditor holds: every record's
/// hash, the chain from the anchor on, the checkpoints' signatures and hashes, that a signed
/// checkpoint covers the last record in range, and that the export starts before its range
/// (or at the first record kept after a prune, linked to the signed anchor the export holds).
///
/// It cannot show that no record after the covering checkpoint has a time in the range (times
/// come from the clock, not the chain); the exporter includes every record in range up to the
/// moment of the export.
pub fn verify_export<R: BufRead>(reader: R, key: &PublicKey) -> Result<ExportReport, AuditError> {
    const FILE: &str = "export";
    let mut reader = LineReader::new(reader);
    let mut walker = Walker::unbased();
    let read_error = |source| AuditError::ExportRead { source };

    let header = match reader.next_line().map_err(read_error)? {
        Some(StoredLine::Complete(bytes)) => match serde_json::from_slice::<ExportHeader>(bytes) {
            Ok(header) if header.format == EXPORT_FORMAT => Some(header),
            Ok(header) => {
                walker.problems.push(
                    KEY,
                    0,
                    Problem::BadHeader {
                        reason: format!("unknown format `{}`", header.format),
                    },
                );
                None
            }
            Err(error) => {
                walker.problems.push(
                    KEY,
                    0,
                    Problem::BadHeader {
                        reason: error.to_string(),
                    },
                );
                None
            }
        },
        Some(_) | None => {
            walker.problems.push(
                KEY,
                0,
                Problem::BadHeader {
                    reason: "the first line is missing or not a header".to_string(),
                },
            );
            None
        }
    };
    let range = header.as_ref().map(|h| (h.from, h.to));

    let mut checker = CheckpointChecker::new(Some(key));
    let mut checkpoints = 0;
    let mut in_records = false;
    let mut first_record = true;
    let mut last_in_range: Option<u64> = None;
    let mut anchor: Option<Anchor> = None;
    while let Some(line) = reader.next_line().map_err(read_error)? {
        if let StoredLine::Complete(bytes) = line
            && bytes.starts_with(WRAPPED_PREFIX)
        {
            let parsed = Anchor::from_wrapped_line(bytes).map_err(|error| error.to_string());
            let number = reader.line_number();
            if in_records {
                walker.unreadable(Problem::Unreadable {
                    file: FILE.to_string(),
                    line: number,
                    reason: "an anchor after the records".to_string(),
                });
            } else if let Some(found) = checker.check_anchor(
                &mut walker.problems,
                FILE,
                CheckpointSource::Export,
                (number, parsed),
            ) && anchor.as_ref().is_none_or(|a| a.seq < found.seq)
            {
                anchor = Some(found);
            }
            continue;
        }
        if let StoredLine::Complete(bytes) = line
            && bytes.starts_with(b"{\"checkpoint\":")
        {
            let parsed = serde_json::from_slice::<ExportedCheckpoint>(bytes)
                .map(|c| c.checkpoint)
                .map_err(|error| error.to_string());
            let number = reader.line_number();
            if in_records {
                walker.unreadable(Problem::Unreadable {
                    file: FILE.to_string(),
                    line: number,
                    reason: "a checkpoint after the records".to_string(),
                });
            } else if let Some(checkpoint) = checker.check(
                &mut walker.problems,
                FILE,
                CheckpointSource::Export,
                (number, parsed),
            ) {
                walker.expect(checkpoint.seq, checkpoint.hash, CheckpointSource::Export);
                checkpoints += 1;
            }
            continue;
        }
        in_records = true;
        let facts = line_facts(line);
        let number = reader.line_number();
        match facts {
            Ok(facts) => {
                let in_range =
                    range.is_some_and(|(from, to)| from <= facts.time && facts.time < to);
                // A signed anchor stands in for the record before the first: records up to it
                // were pruned, and this one links to it.
                let anchored = anchor.as_ref().is_some_and(|a| {
                    a.seq.checked_add(1) == Some(facts.seq) && a.hash == facts.prev
                });
                if first_record && in_range && facts.seq != 1 && !anchored {
                    walker.problems.push(
                        RECORD,
                        facts.seq,
                        Problem::MissingAnchor { seq: facts.seq },
                    );
                }
                if in_range {
                    last_in_range = last_in_range.max(Some(facts.seq));
                }
                first_record = false;
                walker.record(&facts, FILE, number);
            }
            Err(reason) => walker.unreadable(Problem::Unreadable {
                file: FILE.to_string(),
                line: number,
                reason,
            }),
        }
    }
    walker.finish();
    let covered_by = last_in_range.and_then(|last| walker.covered_at_or_after(last));
    if let (Some(last_seq), None) = (last_in_range, covered_by) {
        walker
            .problems
            .push(RECORD, last_seq, Problem::Uncovered { last_seq });
    }
    let records = walker.records;
    let (problems, problems_omitted) = std::mem::take(&mut walker.problems).finish();
    Ok(ExportReport {
        header,
        records,
        checkpoints,
        last_in_range,
        covered_by,
        problems,
        problems_omitted,
    })
}
