//! The writer: chains records, appends them to its storage (segment files by default),
//! and signs checkpoints with the key in the audit directory.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use seam_model::Ts;

use crate::anchor::Anchor;
use crate::checkpoint::Checkpoint;
use crate::file_storage::FileStorage;
use crate::files::audit_dir;
use crate::key::{AuditKey, KeyOrigin, PublicKey, sync_dir};
use crate::record::{AuditEntry, AuditRecord, Body, GENESIS, MAX_LINE_BYTES, encode_line};
use crate::storage::AuditStorage;
use crate::verify::{Problems, check_storage};
use crate::witness::Witness;
use crate::{AuditError, io_error};

/// Segments roll once they reach this size.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditOptions {
    /// A segment that has reached this size is closed and the next record starts a new one.
    pub segment_bytes: u64,
}

impl Default for AuditOptions {
    fn default() -> AuditOptions {
        AuditOptions {
            segment_bytes: DEFAULT_SEGMENT_BYTES,
        }
    }
}

/// An incomplete tail that [`AuditLog::open`] cut off (a write cut short by a crash). The bytes
/// are kept beside the file, never silently dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovery {
    /// The file that was cut: the last segment or `checkpoints.log`.
    pub file: PathBuf,
    /// Its length now: the end of its last complete record.
    pub kept_bytes: u64,
    pub cut_bytes: u64,
    /// Where the cut bytes were appended: the file's path with `.torn` added.
    pub saved_to: PathBuf,
}

/// A witness that did not take a checkpoint.
#[derive(Debug)]
pub struct WitnessFailure {
    pub witness: String,
    pub error: AuditError,
}

/// A checkpoint written to `checkpoints.log`, and the witnesses that failed to take it.
#[derive(Debug)]
pub struct Checkpointed {
    pub checkpoint: Checkpoint,
    pub witness_failures: Vec<WitnessFailure>,
}

/// What [`AuditLog::prune_before`] did.
#[derive(Debug, Default)]
pub struct PruneReport {
    /// The checkpoint signed first, because none covered the records to drop.
    pub checkpointed: Option<Checkpointed>,
    /// The anchor written (`anchors.log` or its table) and published: the records up to its
    /// seq go. `None` when there was nothing to drop.
    pub anchor: Option<Anchor>,
    /// Record lines dropped. Zero with an anchor when a witness refused it (see
    /// `witness_failures`) or when the storage had already dropped them.
    pub dropped: u64,
    /// Witnesses that did not take the anchor. When there is any, nothing was dropped: the
    /// records stay (they still chain to the anchor) until a later prune, once every witness
    /// takes its anchor, since verify with a witness honours only the anchors it holds.
    pub witness_failures: Vec<WitnessFailure>,
}

/// The audit log's single writer.
///
/// `append` buffers; `sync` makes what was appended durable; `checkpoint` syncs, signs the
/// head and copies the checkpoint to the storage (`checkpoints.log`) and every witness. After
/// a failed write or sync the log refuses further work until reopened, because the storage's
/// tail is then unknown (reopening cuts a file back to its last complete record).
pub struct AuditLog {
    /// Held for the log's life: one writer per audit directory.
    _lock: File,
    dir: PathBuf,
    key: AuditKey,
    key_origin: KeyOrigin,
    storage: Box<dyn AuditStorage>,
    head_seq: u64,
    head_hash: [u8; 32],
    last_checkpoint: Option<Checkpoint>,
    witnesses: Vec<Box<dyn Witness + Send>>,
    recovered: Vec<Recovery>,
    line: Vec<u8>,
    poisoned: bool,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let witnesses: Vec<String> = self.witnesses.iter().map(|w| w.describe()).collect();
        f.debug_struct("AuditLog")
            .field("dir", &self.dir)
            .field("storage", &self.storage.describe())
            .field("head_seq", &self.head_seq)
            .field("key", &self.key)
            .field("witnesses", &witnesses)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens (or creates) `DATA_DIR/audit` with the default options.
    pub fn open(data_dir: &Path) -> Result<AuditLog, AuditError> {
        AuditLog::open_with(data_dir, AuditOptions::default())
    }

    pub fn open_with(data_dir: &Path, options: AuditOptions) -> Result<AuditLog, AuditError> {
        AuditLog::open_on(
            data_dir,
            Box::new(FileStorage::with_options(data_dir, options)),
        )
    }

    /// Opens the log whose lines `storage` keeps (a database, say), with its signing key and
    /// writer lock in `DATA_DIR/audit` (created if need be): the key must not sit beside the
    /// data it vouches for, and the lock keeps one writer per data directory.
    pub fn open_on(
        data_dir: &Path,
        mut storage: Box<dyn AuditStorage>,
    ) -> Result<AuditLog, AuditError> {
        let dir = audit_dir(data_dir);
        if !dir.is_dir() {
            fs::create_dir_all(&dir).map_err(io_error("create", &dir))?;
            sync_dir(data_dir)?;
        }
        let lock = lock_writer(&dir)?;
        let (key, key_origin) = AuditKey::load_or_create(&dir)?;
        let start = storage.open_writer()?;
        let (head_seq, head_hash) = start.head.unwrap_or((0, GENESIS));
        Ok(AuditLog {
            _lock: lock,
            dir,
            key,
            key_origin,
            storage,
            head_seq,
            head_hash,
            last_checkpoint: start.last_checkpoint,
            witnesses: Vec::new(),
            recovered: start.recovered,
            line: Vec::with_capacity(1024),
            poisoned: false,
        })
    }

    /// Adds a witness that every later checkpoint is copied to.
    pub fn add_witness(&mut self, witness: Box<dyn Witness + Send>) {
        self.witnesses.push(witness);
    }

    /// Appends a record at time `now` (the caller's clock) and returns it. Buffered: durable
    /// only after [`AuditLog::sync`] (or a checkpoint).
    pub fn append(&mut self, now: Ts, entry: AuditEntry) -> Result<AuditRecord, AuditError> {
        self.usable()?;
        let seq = self
            .head_seq
            .checked_add(1)
            .ok_or(AuditError::SequenceExhausted)?;
        let prev = self.head_hash;
        let hash = encode_line(&Body::of_entry(seq, now, &entry, prev), &mut self.line)?;
        let bytes = self.line.len().saturating_sub(1);
        if bytes > MAX_LINE_BYTES {
            return Err(AuditError::RecordTooLarge {
                bytes,
                limit: MAX_LINE_BYTES,
            });
        }
        if let Err(error) = self.storage.append_record(seq, &self.line) {
            self.poisoned = true;
            return Err(error);
        }
        self.head_seq = seq;
        self.head_hash = hash;
        Ok(AuditRecord {
            seq,
            time: now,
            actor: entry.actor,
            action: entry.action,
            subject: entry.subject,
            purpose: entry.purpose,
            detail: entry.detail,
            prev,
            hash,
        })
    }

    /// Hands buffered records to the storage (readable by others, not yet durable).
    pub fn flush(&mut self) -> Result<(), AuditError> {
        self.usable()?;
        if let Err(error) = self.storage.flush() {
            self.poisoned = true;
            return Err(error);
        }
        Ok(())
    }

    /// Makes every appended record durable.
    pub fn sync(&mut self) -> Result<(), AuditError> {
        self.usable()?;
        if let Err(error) = self.storage.sync() {
            // After a failed fsync the kernel may have dropped the dirty pages (and after a
            // failed commit the rows may or may not be in): retrying could report success for
            // data that is gone, so the log stops here.
            self.poisoned = true;
            return Err(error);
        }
        Ok(())
    }

    /// Syncs, signs the head (the last record's seq and hash) at time `now`, appends the
    /// checkpoint to the storage (`checkpoints.log`, durably) and publishes it to every
    /// witness. A witness's failure is returned in [`Checkpointed::witness_failures`], not as
    /// an error.
    pub fn checkpoint(&mut self, now: Ts) -> Result<Checkpointed, AuditError> {
        self.sync()?;
        let checkpoint = Checkpoint::sign(&self.key, self.head_seq, self.head_hash, now);
        let line = checkpoint.to_line()?;
        self.storage.append_checkpoint(&line)?;
        let mut witness_failures = Vec::new();
        for witness in &mut self.witnesses {
            if let Err(error) = witness.publish(&checkpoint) {
                witness_failures.push(WitnessFailure {
                    witness: witness.describe(),
                    error,
                });
            }
        }
        self.last_checkpoint = Some(checkpoint.clone());
        Ok(Checkpointed {
            checkpoint,
            witness_failures,
        })
    }

    /// Retention of the log itself: drops the oldest records whose time is before `cutoff`,
    /// leaving a log that still verifies, from a signed anchor.
    ///
    /// First the whole log is verified with this log's key; a log with any problem is
    /// refused (an `Err`, nothing dropped), so that retention never destroys the evidence of
    /// tampering, nor vouches for it. Then it picks the last record N such that every record
    /// up to N is older than `cutoff`, that the storage can drop exactly (files drop whole
    /// closed segments, never the one being written; a table drops rows), and that is never
    /// the head. A signed checkpoint must vouch for N: if the last one is before it, the head
    /// is checkpointed first at `now`. Then the anchor (N and its hash, signed at `now`) is
    /// written durably and published to every witness, and only if every witness took it are
    /// the records up to N dropped. A crash (or an error) between leaves records that still
    /// chain to the anchor, and verify accepts them; calling this again finishes the work.
    pub fn prune_before(&mut self, cutoff: Ts, now: Ts) -> Result<PruneReport, AuditError> {
        self.sync()?;
        let mut first_seq: Option<u64> = None;
        let mut old_through = 0u64;
        let mut young_seen = false;
        let verified = check_storage(
            self.storage.as_mut(),
            Some(self.key.public_key()),
            None,
            Problems::default(),
            &mut |facts| {
                first_seq.get_or_insert(facts.seq);
                if young_seen {
                    return;
                }
                if facts.time < cutoff {
                    old_through = facts.seq;
                } else {
                    young_seen = true;
                }
            },
        )?;
        if let Some(problem) = verified.first_problem() {
            return Err(AuditError::Prune {
                reason: format!("the log does not verify, so nothing was dropped: {problem}"),
            });
        }
        if verified.last_seq != self.head_seq || verified.head_hash != self.head_hash {
            return Err(AuditError::Prune {
                reason: format!(
                    "the stored log ends at record {}, the writer at {}",
                    verified.last_seq, self.head_seq
                ),
            });
        }
        let mut report = PruneReport::default();
        let through = old_through.min(self.head_seq.saturating_sub(1));
        let Some(first_seq) = first_seq else {
            return Ok(report);
        };
        if through < first_seq {
            return Ok(report);
        }
        if verified.last_checkpoint_seq.unwrap_or(0) < through {
            report.checkpointed = Some(self.checkpoint(now)?);
        }
        let Some((seq, hash)) = self.storage.prune_point(through)? else {
            return Ok(report);
        };
        if seq < first_seq {
            return Ok(report);
        }
        let anchor = Anchor::sign(&self.key, seq, hash, now);
        self.storage.append_anchor(&anchor.to_line()?)?;
        for witness in &mut self.witnesses {
            if let Err(error) = witness.publish_anchor(&anchor) {
                report.witness_failures.push(WitnessFailure {
                    witness: witness.describe(),
                    error,
                });
            }
        }
        report.anchor = Some(anchor);
        if report.witness_failures.is_empty() {
            report.dropped = self.storage.drop_records_through(seq)?;
        }
        Ok(report)
    }

    /// The last checkpoint, at shutdown: syncs and signs the head.
    pub fn close(mut self, now: Ts) -> Result<Checkpointed, AuditError> {
        self.checkpoint(now)
    }

    /// The last record's seq and hash (0 and [`GENESIS`] for an empty log).
    pub fn head(&self) -> (u64, [u8; 32]) {
        (self.head_seq, self.head_hash)
    }

    /// The key checkpoints are signed with; keep a copy outside the data directory.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// Whether the signing key was made by this open. Made while records already exist
    /// (`head().0 > 0`) means the old key was lost: checkpoints signed before now will show
    /// as signed by another key, and the operator should be told loudly.
    pub fn key_origin(&self) -> KeyOrigin {
        self.key_origin
    }

    /// The incomplete tails this open cut off; the caller should report them (and may record
    /// an `other` audit entry saying so).
    pub fn recovered(&self) -> &[Recovery] {
        &self.recovered
    }

    pub fn last_checkpoint(&self) -> Option<&Checkpoint> {
        self.last_checkpoint.as_ref()
    }

    /// Records appended since the last checkpoint.
    pub fn unchecked_records(&self) -> u64 {
        let covered = self.last_checkpoint.as_ref().map_or(0, |c| c.seq);
        self.head_seq.saturating_sub(covered)
    }

    /// The audit directory, `DATA_DIR/audit` (the key and lock; the records too with files).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the records are kept, for messages.
    pub fn storage(&self) -> String {
        self.storage.describe()
    }

    fn usable(&self) -> Result<(), AuditError> {
        if self.poisoned {
            Err(AuditError::Poisoned)
        } else {
            Ok(())
        }
    }
}

/// The file whose lock marks the audit directory's one writer.
pub const WRITER_LOCK_FILE: &str = "writer.lock";

/// Takes the writer's lock, so that a second writer (another service, a command run beside it)
/// is refused instead of forking the chain. The operating system drops it when the process
/// ends, however it ends.
fn lock_writer(dir: &Path) -> Result<File, AuditError> {
    let path = dir.join(WRITER_LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_error("open", &path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(AuditError::Locked { path }),
        Err(std::fs::TryLockError::Error(error)) => Err(io_error("lock", &path)(error)),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::checkpoint::CHECKPOINT_FILE;
    use crate::files::{list_segments, segment_file_name};
    use crate::record::AuditAction;

    fn entry(n: u64) -> AuditEntry {
        AuditEntry::new(format!("u-{n}"), AuditAction::PersonRead)
            .subject(format!("p-{n:08x}"))
            .purpose("case review")
    }

    #[test]
    fn the_log_can_move_to_its_own_thread() {
        fn send<T: Send>() {}
        send::<AuditLog>();
    }

    #[test]
    fn appends_chain_and_continue_after_reopen() {
        let data = tempfile::tempdir().unwrap();
        let mut log = AuditLog::open(data.path()).unwrap();
        assert_eq!(log.key_origin(), KeyOrigin::Created);
        let first = log.append(Ts::from_secs(1), entry(1)).unwrap();
        let second = log.append(Ts::from_secs(2), entry(2)).unwrap();
        assert_eq!((first.seq, second.seq), (1, 2));
        assert_eq!(first.prev, GENESIS);
        assert_eq!(second.prev, first.hash);
        assert_eq!(first.compute_hash().unwrap(), first.hash);
        log.sync().unwrap();
        drop(log);

        let mut log = AuditLog::open(data.path()).unwrap();
        assert_eq!(log.key_origin(), KeyOrigin::Loaded);
        assert_eq!(log.head(), (2, second.hash));
        let third = log.append(Ts::from_secs(3), entry(3)).unwrap();
        assert_eq!((third.seq, third.prev), (3, second.hash));
        assert!(log.recovered().is_empty());
    }

    #[test]
    fn a_second_writer_is_refused_until_the_first_is_gone() {
        let data = tempfile::tempdir().unwrap();
        let log = AuditLog::open(data.path()).unwrap();
        assert!(matches!(
            AuditLog::open(data.path()),
            Err(AuditError::Locked { .. })
        ));
        drop(log);
        AuditLog::open(data.path()).unwrap();
    }

    #[test]
    fn segments_roll_at_their_size() {
        let data = tempfile::tempdir().unwrap();
        let options = AuditOptions {
            segment_bytes: 1000,
        };
        let mut log = AuditLog::open_with(data.path(), options.clone()).unwrap();
        for n in 1..=20 {
            log.append(Ts::from_secs(n as i64), entry(n)).unwrap();
        }
        log.sync().unwrap();
        let head = log.head();
        drop(log);
        let segments = list_segments(&audit_dir(data.path())).unwrap();
        assert!(segments.len() > 3, "{segments:?}");
        for segment in &segments {
            assert!(fs::metadata(&segment.path).unwrap().len() <= 1000);
        }
        let log = AuditLog::open_with(data.path(), options).unwrap();
        assert_eq!(log.head(), head);
    }

    #[test]
    fn a_torn_tail_is_cut_kept_aside_and_reported() {
        let data = tempfile::tempdir().unwrap();
        let mut log = AuditLog::open(data.path()).unwrap();
        log.append(Ts::from_secs(1), entry(1)).unwrap();
        let second = log.append(Ts::from_secs(2), entry(2)).unwrap();
        log.sync().unwrap();
        drop(log);
        let segment = audit_dir(data.path()).join(segment_file_name(1));
        let intact = fs::metadata(&segment).unwrap().len();
        let torn = b"{\"seq\":3,\"time\":\"2026-";
        let mut file = OpenOptions::new().append(true).open(&segment).unwrap();
        file.write_all(torn).unwrap();
        drop(file);

        let mut log = AuditLog::open(data.path()).unwrap();
        let recovered = log.recovered().to_vec();
        assert_eq!(recovered.len(), 1);
        assert_eq!(recovered[0].kept_bytes, intact);
        assert_eq!(recovered[0].cut_bytes, torn.len() as u64);
        assert_eq!(fs::read(&recovered[0].saved_to).unwrap(), torn);
        assert_eq!(log.head(), (2, second.hash));
        let third = log.append(Ts::from_secs(3), entry(3)).unwrap();
        assert_eq!(third.prev, second.hash);
    }

    #[test]
    fn checkpoints_go_to_the_file_and_every_witness() {
        let data = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let witness_path = outside.path().join("witness.log");
        let mut log = AuditLog::open(data.path()).unwrap();
        log.add_witness(Box::new(crate::witness::FileWitness::new(&witness_path)));
        log.add_witness(Box::new(crate::witness::FileWitness::new(
            outside.path().join("no/such/dir"),
        )));
        log.append(Ts::from_secs(1), entry(1)).unwrap();
        let done = log.checkpoint(Ts::from_secs(2)).unwrap();
        assert_eq!(done.checkpoint.seq, 1);
        assert_eq!(done.checkpoint.check(&log.public_key()), Ok(()));
        assert_eq!(done.witness_failures.len(), 1);
        assert_eq!(log.unchecked_records(), 0);
        let witnessed = fs::read(&witness_path).unwrap();
        assert_eq!(witnessed, done.checkpoint.to_line().unwrap());
        let local = fs::read(audit_dir(data.path()).join(CHECKPOINT_FILE)).unwrap();
        assert_eq!(local, witnessed);
        drop(log);
        let log = AuditLog::open(data.path()).unwrap();
        assert_eq!(log.last_checkpoint(), Some(&done.checkpoint));
    }

    #[test]
    fn an_oversized_record_is_refused_and_the_log_goes_on() {
        let data = tempfile::tempdir().unwrap();
        let mut log = AuditLog::open(data.path()).unwrap();
        let big = entry(1).detail(serde_json::Value::String("x".repeat(MAX_LINE_BYTES)));
        assert!(matches!(
            log.append(Ts::from_secs(1), big),
            Err(AuditError::RecordTooLarge { .. })
        ));
        let record = log.append(Ts::from_secs(1), entry(1)).unwrap();
        assert_eq!(record.seq, 1);
    }
}
