//! Where record and checkpoint lines are kept: the [`AuditStorage`] contract that the writer,
//! verify and export work through. Segment files in the audit directory are the default
//! ([`FileStorage`]); another crate may keep the same lines elsewhere (a PostgreSQL table).
//!
//! A storage keeps lines only. The signing key and the writer's lock stay in the audit
//! directory whatever the storage, so that the key never sits beside the data it vouches for.

use std::ops::ControlFlow;

use crate::AuditError;
use crate::anchor::AnchorLine;
use crate::checkpoint::{Checkpoint, CheckpointLine};
use crate::files::StoredLine;
use crate::log::Recovery;

/// Where a record line was read, for a [`Problem`](crate::Problem) to name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinePlace<'a> {
    /// The segment file's name, or the table's.
    pub unit: &'a str,
    /// The line's number in its unit from 1 (a file's line), or its row's key (a table's
    /// `seq`), whatever the line holds.
    pub number: u64,
    /// Where the line starts and where the next one does, in bytes from the unit's start.
    pub start: u64,
    pub end: u64,
    /// Whether a crash can have left this line incomplete: true in the last segment file,
    /// where unreadable lines with no record after them are a torn tail, not tampering. Never
    /// for rows a transaction wrote whole.
    pub may_be_torn: bool,
}

/// What a new writer continues from, found by [`AuditStorage::open_writer`].
#[derive(Debug, Default)]
pub struct WriterStart {
    /// The last record's seq and hash (`None` for an empty log).
    pub head: Option<(u64, [u8; 32])>,
    pub last_checkpoint: Option<Checkpoint>,
    /// Incomplete tails cut off after a crash (files only).
    pub recovered: Vec<Recovery>,
}

/// The checkpoint lines of a storage and what to call where they are.
#[derive(Debug, Default)]
pub struct StoredCheckpoints {
    /// `checkpoints.log`, or the table's name.
    pub name: String,
    /// Each line's number (or row key) and its checkpoint, or why it is not one.
    pub lines: Vec<CheckpointLine>,
}

/// The anchor lines of a storage and what to call where they are.
#[derive(Debug, Default)]
pub struct StoredAnchors {
    /// `anchors.log`, or the table's name.
    pub name: String,
    /// Each line's number (or row key) and its anchor, or why it is not one.
    pub lines: Vec<AnchorLine>,
}

/// The refusal of a storage that cannot prune (the default of the pruning methods).
fn cannot_prune(storage: &str) -> AuditError {
    AuditError::Prune {
        reason: format!("the audit storage {storage} cannot drop records"),
    }
}

/// Keeps the audit log's record and checkpoint lines, in order, byte for byte.
///
/// The writer ([`AuditLog`](crate::AuditLog)) calls [`open_writer`](Self::open_writer) once,
/// then appends. It holds the audit directory's writer lock, so a storage need not guard
/// against a second writer, though it may (a database shared by two data directories).
/// After an `Err` from `append_record`, `flush` or `sync` the writer stops until reopened.
pub trait AuditStorage: Send {
    /// What to call it in messages: a directory or a database, never a credential.
    fn describe(&self) -> String;

    /// Readies it for appending: recovers what a crash left incomplete and finds the head.
    fn open_writer(&mut self) -> Result<WriterStart, AuditError>;

    /// Appends record `seq`'s line (its newline included; a storage that keeps lines apart
    /// may drop it). May buffer until [`flush`](Self::flush) or [`sync`](Self::sync).
    fn append_record(&mut self, seq: u64, line: &[u8]) -> Result<(), AuditError>;

    /// Makes appended records readable by others, not necessarily durable.
    fn flush(&mut self) -> Result<(), AuditError>;

    /// Makes every appended record durable.
    fn sync(&mut self) -> Result<(), AuditError>;

    /// Appends a checkpoint's line (newline included) durably.
    fn append_checkpoint(&mut self, line: &[u8]) -> Result<(), AuditError>;

    /// Every checkpoint line, in the order written.
    fn read_checkpoints(&mut self) -> Result<StoredCheckpoints, AuditError>;

    /// Hands every record line to `visit`, in log order, until it breaks; returns how many
    /// units (segment files, tables) hold records. Reads in bounded pieces: a log of millions
    /// of records must not be held in memory.
    fn read_records(
        &mut self,
        visit: &mut dyn FnMut(&LinePlace<'_>, StoredLine<'_>) -> ControlFlow<()>,
    ) -> Result<usize, AuditError>;

    /// Appends an anchor's line (newline included) durably. Storages that cannot prune
    /// refuse.
    fn append_anchor(&mut self, _line: &[u8]) -> Result<(), AuditError> {
        Err(cannot_prune(&self.describe()))
    }

    /// Every anchor line, in the order written (none for a storage that cannot prune).
    fn read_anchors(&mut self) -> Result<StoredAnchors, AuditError> {
        Ok(StoredAnchors::default())
    }

    /// The last record at or before seq `through` such that the storage can drop exactly the
    /// records up to it (files drop whole closed segments only), as its seq and the hash the
    /// next record links to; `None` when nothing can be dropped. Never the last record.
    fn prune_point(&mut self, _through: u64) -> Result<Option<(u64, [u8; 32])>, AuditError> {
        Ok(None)
    }

    /// Drops every record up to seq `through`, a [`prune_point`](Self::prune_point), durably;
    /// returns how many record lines went. Called only after the anchor for `through` is
    /// durable, so that a crash part way leaves records that still chain to it.
    fn drop_records_through(&mut self, _through: u64) -> Result<u64, AuditError> {
        Err(cannot_prune(&self.describe()))
    }
}
