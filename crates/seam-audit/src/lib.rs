//! The tamper-evident audit log: an append-only record of every security-relevant act
//! (sign-ins, failed ones too; token, user, configuration and rule changes; finding state
//! changes; every read of a person's data, whose, by whom and why), hash-chained, with
//! Ed25519-signed checkpoints copied to witnesses outside the data directory.
//!
//! Records hold pseudonyms and digests, never names: the log cannot be edited, so erasing a
//! person must never need to touch it.
//!
//! # Files
//!
//! The key and the writer's lock live in `DATA_DIR/audit/` whatever keeps the records:
//!
//! - `signing.key`: the Ed25519 private key as its raw 32-byte seed (RFC 8032), mode 0600,
//!   made from the operating system's randomness on first open.
//! - `signing.pub`: the public key, 64 lowercase hex digits and a newline.
//! - `writer.lock`: locked by the one [`AuditLog`] that may write (released when its process
//!   ends).
//!
//! The record and checkpoint lines live in an [`AuditStorage`]. With [`FileStorage`], the
//! default ([`AuditLog::open`], [`verify`], [`export`]), they are files beside the key:
//!
//! - `audit-000001.log`, `audit-000002.log`, …: the records, one JSON object and a newline
//!   each, in order. A segment closes once it reaches 64 MiB ([`AuditOptions`]); the chain
//!   runs on across segments.
//! - `checkpoints.log`: signed checkpoints, one JSON object and a newline each.
//! - `anchors.log`: signed anchors, one JSON object and a newline each, written by retention
//!   ([`AuditLog::prune_before`]) before it drops the oldest segments; absent until then.
//! - `<file>.torn`: bytes cut from the end of a segment or `checkpoints.log` when the log was
//!   opened after a crash ([`Recovery`]), kept for inspection.
//!
//! With another storage ([`AuditLog::open_on`], [`verify_on`], [`export_on`]) the same lines,
//! byte for byte and without their newlines, are rows elsewhere: `seam-postgres` keeps them
//! in the tables `audit_records` (keyed by `seq`), `audit_checkpoints` and `audit_anchors`
//! (both in the order written) of the deployment's database. The chain, the checkpoints and what verify finds
//! are the same; a problem in a table names the table as its file and the row's key as its
//! line. Rows are written whole by transactions, so there is no torn tail to recover.
//!
//! # Records and their hash
//!
//! A record is one line, its members in exactly this order:
//!
//! ```text
//! {"seq":7,"time":"2026-03-02T09:15:00.000Z","actor":"u-7f3a","action":"person_read",
//!  "subject":"p-3c9e1d","purpose":"investigating finding f-12","detail":{"finding":"f-12"},
//!  "prev":"<64 hex>","hash":"<64 hex>"}
//! ```
//!
//! (shown on three lines, stored on one). `seq` counts from 1 with no gap; `time` is the
//! caller's (RFC 3339 with milliseconds and `Z`, or an integer of milliseconds outside the
//! calendar); `action` is an [`AuditAction`] in snake case; `subject` and `purpose` are `null`
//! when absent; `detail` is a small JSON value; `prev` is the previous record's `hash`, or for
//! record 1 the genesis value [`GENESIS`] = SHA-256(`seam-audit-v1`) =
//! `7b43e7336f4d714e19c51bcab74ecb1c0927373c14f515793ad443933ddc5e51`.
//!
//! **`hash` is SHA-256 of the line's bytes before the `,"hash":"` that ends it.** A verifier
//! needs no JSON encoder: it checks that the line ends with `,"hash":"`, 64 lowercase hex
//! digits and `"}`, and hashes what precedes. The writer makes those bytes as serde_json's
//! compact encoding of the members above (no spaces, the order shown), without the closing
//! brace. Hex is lowercase only, so no digest has two spellings and any change to a line's
//! bytes changes or breaks it.
//!
//! # Checkpoints and witnesses
//!
//! A checkpoint line is
//! `{"seq":…,"hash":"<64 hex>","time":"…","key_id":"<16 hex>","signature":"<128 hex>"}`: the
//! record at `seq` has `hash` (seq 0 and the genesis value for an empty log). `signature` is
//! Ed25519 (verified strictly) over the ASCII message
//!
//! ```text
//! seam-audit-checkpoint-v1\n<seq>\n<hash as 64 lowercase hex>\n<time>
//! ```
//!
//! with `seq` and `time` (milliseconds since the Unix epoch) in decimal and no trailing
//! newline; `key_id` is the first 8 bytes of SHA-256 of the 32-byte public key, in hex. As each
//! record links to the one before, a checkpoint vouches for every record up to its seq.
//!
//! [`AuditLog::checkpoint`] syncs the records, appends the checkpoint to `checkpoints.log`
//! (synced), then hands it to every [`Witness`]: a file outside the data directory
//! ([`FileWitness`], the format of `checkpoints.log`), or an HTTP endpoint the service
//! provides. The caller checkpoints periodically and at shutdown ([`AuditLog::close`]),
//! better only when the head has moved ([`AuditLog::unchecked_records`]): each checkpoint
//! costs two syncs to write and about 40 µs to verify. A failed witness is reported, not
//! fatal: the next checkpoint covers all this one did.
//!
//! # Retention and anchors
//!
//! [`AuditLog::prune_before`] drops the oldest records, those before a cutoff, so that the
//! log keeps what the retention policy says and no more. An anchor line is
//! `{"seq":…,"hash":"<64 hex>","time":…,"key_id":"<16 hex>","signature":"<128 hex>"}`: the
//! records up to `seq` were dropped, and the record at `seq` had `hash` (the `prev` of the
//! first record kept). `signature` is Ed25519 over
//!
//! ```text
//! seam-audit-anchor-v1\n<seq>\n<hash as 64 lowercase hex>\n<time>
//! ```
//!
//! (a domain of its own: no checkpoint's signature is an anchor's). In a witness file or an
//! export the anchor is wrapped, `{"anchor":{…}}`, so it is told from a checkpoint.
//!
//! A prune verifies the whole log first and refuses a log with any problem, so that it never
//! destroys the evidence of tampering. It drops only records that every one is older than the
//! cutoff, that a signed checkpoint vouches for (it checkpoints first if none does), never
//! the head, and only what the storage can drop exactly: whole closed segments (never the one
//! being written), or rows in one transaction. The anchor is written durably and published
//! to every witness ([`Witness::publish_anchor`]) before anything goes; if a witness refuses
//! it, nothing goes. A crash between leaves records before the anchor that still chain to
//! it, which verify accepts, and running the prune again finishes the work. Checkpoints are
//! never dropped.
//!
//! # Durability
//!
//! [`AuditLog::append`] buffers; [`AuditLog::sync`] makes the records durable (the caller
//! batches, say every thousand records or every few milliseconds). Opening the log after a
//! crash cuts an incomplete tail (a last line without a newline, or unreadable lines after the
//! last record) back to the last complete record, keeps the bytes in `<file>.torn` and reports
//! it ([`AuditLog::recovered`]), as a write-ahead log does. In a database a sync is a commit
//! and rows are written whole, so there is nothing to cut. After a failed write or sync the
//! log refuses more work until reopened.
//!
//! # What verify proves
//!
//! [`verify`] reads every record line in order (every segment, or every row), recomputes
//! every record's hash and link, checks the numbering, and checks every checkpoint in
//! `checkpoints.log` (or its table) and in a witness file: its
//! signature (by the key in `signing.pub`, or the key the operator trusts) and that the record
//! at its seq has its hash. Each [`Problem`] names what was done where the data allows: an
//! edited record (its hash no longer matches), one rewritten with its hash recomputed (the
//! next record's link breaks, or a checkpoint disagrees), deleted, inserted or reordered
//! records (the numbering and links), a tail cut after a witnessed checkpoint (even when
//! `checkpoints.log` was cut or rewritten too), a checkpoint signed by another key, a torn
//! tail, an unreadable line.
//!
//! With anchors, the chain starts from the latest anchor that the key signed (and, given a
//! witness, that the witness holds too, so that an anchor written with a stolen key excuses
//! nothing): the first record must be seq+1 and link to the anchor's hash, or be records up
//! to the anchor's seq that an interrupted prune left, which must reach its hash. So deleting
//! the first records kept, or more segments than the anchor says, is a gap; an anchor with
//! another key, or with its seq or hash edited, is a problem ([`Problem::ForgedAnchor`],
//! [`Problem::BadAnchorSignature`]) and excuses nothing (the records before it show as
//! deleted); an anchor the witness holds but `anchors.log` lacks is
//! [`Problem::AnchorMissing`]. Checkpoints for records dropped are checked for their
//! signature only. Without anchors, verify is exactly as it was.
//!
//! It cannot:
//!
//! - see changes made consistently to records after the last witnessed checkpoint (the tail
//!   cut off, or rewritten with recomputed hashes): checkpoint often to keep that tail short;
//!   [`VerifyReport::unprotected_records`] says how long it is;
//! - resist someone holding both the signing key and the witness: they can rewrite history
//!   and sign it again. The key must sit in the data directory, since the service signs
//!   unattended, so keep `signing.pub` and the witness where the service's own operators
//!   cannot write, and pass the public key to verify so that a replaced key shows;
//! - vouch for `time` (the caller's clock, which may step back) or for the completeness of
//!   what was logged: it shows the log was not changed afterwards, not that every act was
//!   logged.
//!
//! [`export`] writes the records of a time range with the records and checkpoints that prove
//! them (and, when it starts at the first record kept after a prune, the anchor that stands
//! for the record before), and [`verify_export`] checks such an export on its own, with the
//! auditor's key.

mod anchor;
mod bench;
mod checkpoint;
mod export;
mod file_storage;
mod files;
mod hex;
mod key;
mod log;
mod record;
mod storage;
mod verify;
mod witness;

use std::path::{Path, PathBuf};

pub use anchor::{ANCHOR_FILE, Anchor, AnchorLine, anchor_message};
pub use bench::{AppendStats, VerifyStats, bench_append, bench_verify};
pub use checkpoint::{
    CHECKPOINT_FILE, Checkpoint, CheckpointFault, CheckpointLine, checkpoint_message,
};
pub use export::{
    EXPORT_FORMAT, ExportHeader, ExportReport, ExportSummary, export, export_on, verify_export,
};
pub use file_storage::FileStorage;
pub use files::{AUDIT_DIR, StoredLine, audit_dir};
pub use key::{AuditKey, KeyOrigin, PUBLIC_KEY_FILE, PublicKey, SIGNING_KEY_FILE};
pub use log::{
    AuditLog, AuditOptions, Checkpointed, DEFAULT_SEGMENT_BYTES, PruneReport, Recovery,
    WRITER_LOCK_FILE, WitnessFailure,
};
pub use record::{AuditAction, AuditEntry, AuditRecord, GENESIS, MAX_LINE_BYTES};
pub use storage::{AuditStorage, LinePlace, StoredAnchors, StoredCheckpoints, WriterStart};
pub use verify::{CheckpointSource, Problem, VerifyOptions, VerifyReport, verify, verify_on};
pub use witness::{FileWitness, Witness, check_witness_outside};

/// Why the audit log could not be written or read at all. What is wrong with its content is a
/// [`Problem`] in a report instead.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot {action} `{}`: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no audit log at `{}`", .path.display())]
    NoAuditLog { path: PathBuf },
    #[error("cannot read the witness file `{}`: it does not exist", .path.display())]
    NoWitness { path: PathBuf },
    #[error("signing key `{}` is unusable: {reason}", .path.display())]
    KeyFile { path: PathBuf, reason: String },
    #[error("public key file `{}` is unusable: {reason}", .path.display())]
    PublicKeyFile { path: PathBuf, reason: String },
    #[error("invalid public key: {reason}")]
    PublicKey { reason: String },
    #[error(
        "`{}` holds key {found}, which is not the signing key's {expected}: one of them was replaced",
        .path.display()
    )]
    PublicKeyMismatch {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("cannot read the operating system's randomness: {reason}")]
    Randomness { reason: String },
    #[error("audit record of {bytes} bytes exceeds the limit of {limit}")]
    RecordTooLarge { bytes: usize, limit: usize },
    #[error("the audit log's sequence numbers are exhausted")]
    SequenceExhausted,
    #[error("another writer holds the audit log (`{}` is locked)", .path.display())]
    Locked { path: PathBuf },
    #[error("the audit log stopped after a failed write; reopen it to recover its tail")]
    Poisoned,
    #[error("cannot encode an audit line: {source}")]
    Encode { source: serde_json::Error },
    #[error("not an audit record: {reason}")]
    BadRecord { reason: String },
    #[error("witness `{witness}` failed: {reason}")]
    Witness { witness: String, reason: String },
    #[error("witness `{}` is inside the data directory `{}`, where it witnesses nothing", .witness.display(), .data_dir.display())]
    WitnessInsideDataDir { witness: PathBuf, data_dir: PathBuf },
    #[error("cannot write the export: {source}")]
    ExportWrite { source: std::io::Error },
    #[error("cannot read the export: {source}")]
    ExportRead { source: std::io::Error },
    #[error("cannot prune the audit log: {reason}")]
    Prune { reason: String },
}

/// Wraps an I/O error with what was being done to which file.
pub(crate) fn io_error(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> AuditError {
    let path = path.to_path_buf();
    move |source| AuditError::Io {
        action,
        path,
        source,
    }
}
