//! The writer: appends records to segment files, rolls them at a size, recovers a torn tail on
//! open, and signs checkpoints.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use seam_model::Ts;

use crate::checkpoint::{CHECKPOINT_FILE, Checkpoint};
use crate::files::{Line, LineReader, audit_dir, list_segments, segment_file_name};
use crate::key::{AuditKey, KeyOrigin, PublicKey, sync_dir};
use crate::record::{
    AuditEntry, AuditRecord, Body, GENESIS, MAX_LINE_BYTES, encode_line, read_line,
};
use crate::witness::Witness;
use crate::{AuditError, io_error};

/// Segments roll once they reach this size.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// Buffered bytes between writes to the operating system.
const WRITE_BUFFER: usize = 256 * 1024;

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

/// The audit log's single writer.
///
/// `append` buffers; `sync` makes what was appended durable; `checkpoint` syncs, signs the
/// head and copies the checkpoint to `checkpoints.log` and every witness. After a failed write
/// or sync the log refuses further work until reopened, because the file's tail is then
/// unknown (reopening cuts it back to the last complete record).
pub struct AuditLog {
    /// Held for the log's life: one writer per audit directory.
    _lock: File,
    dir: PathBuf,
    options: AuditOptions,
    key: AuditKey,
    key_origin: KeyOrigin,
    segment_number: u64,
    segment_path: PathBuf,
    segment_len: u64,
    writer: BufWriter<File>,
    head_seq: u64,
    head_hash: [u8; 32],
    checkpoints: Option<File>,
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
            .field("segment", &self.segment_path)
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
        let dir = audit_dir(data_dir);
        if !dir.is_dir() {
            fs::create_dir_all(&dir).map_err(io_error("create", &dir))?;
            sync_dir(data_dir)?;
        }
        let lock = lock_writer(&dir)?;
        let (key, key_origin) = AuditKey::load_or_create(&dir)?;
        let mut recovered = Vec::new();

        let segments = list_segments(&dir)?;
        let (segment_number, segment_path, segment_len, head) = match segments.last() {
            None => {
                let path = dir.join(segment_file_name(1));
                (1, path, 0, None)
            }
            Some(last) => {
                let tail = scan(&last.path, |bytes| {
                    read_line(bytes).ok().map(|f| (f.seq, f.stored))
                })?;
                if tail.good_end < tail.len {
                    recovered.push(cut_tail(&last.path, tail.good_end)?);
                }
                let mut head = tail.last;
                // A crash right after a roll leaves the newest segment empty: the head is in
                // an earlier one.
                for earlier in segments.iter().rev().skip(1) {
                    if head.is_some() {
                        break;
                    }
                    head = scan(&earlier.path, |bytes| {
                        read_line(bytes).ok().map(|f| (f.seq, f.stored))
                    })?
                    .last;
                }
                (last.number, last.path.clone(), tail.good_end, head)
            }
        };
        let (head_seq, head_hash) = head.unwrap_or((0, GENESIS));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&segment_path)
            .map_err(io_error("open", &segment_path))?;
        if segment_len == 0 {
            sync_dir(&dir)?;
        }

        let checkpoint_path = dir.join(CHECKPOINT_FILE);
        let last_checkpoint = if checkpoint_path.exists() {
            let scan = scan(&checkpoint_path, |bytes| Checkpoint::from_line(bytes).ok())?;
            if scan.good_end < scan.len {
                recovered.push(cut_tail(&checkpoint_path, scan.good_end)?);
            }
            scan.last
        } else {
            None
        };

        Ok(AuditLog {
            _lock: lock,
            dir,
            options,
            key,
            key_origin,
            segment_number,
            segment_path,
            segment_len,
            writer: BufWriter::with_capacity(WRITE_BUFFER, file),
            head_seq,
            head_hash,
            checkpoints: None,
            last_checkpoint,
            witnesses: Vec::new(),
            recovered,
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
        let len = self.line.len() as u64;
        if self.segment_len > 0 && self.segment_len.saturating_add(len) > self.options.segment_bytes
        {
            self.roll()?;
        }
        if let Err(error) = self.writer.write_all(&self.line) {
            self.poisoned = true;
            return Err(io_error("write", &self.segment_path)(error));
        }
        self.segment_len += len;
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

    /// Hands buffered records to the operating system (readable by others, not yet durable).
    pub fn flush(&mut self) -> Result<(), AuditError> {
        self.usable()?;
        if let Err(error) = self.writer.flush() {
            self.poisoned = true;
            return Err(io_error("write", &self.segment_path)(error));
        }
        Ok(())
    }

    /// Makes every appended record durable.
    pub fn sync(&mut self) -> Result<(), AuditError> {
        self.usable()?;
        let result = self
            .writer
            .flush()
            .and_then(|()| self.writer.get_ref().sync_data());
        if let Err(error) = result {
            // After a failed fsync the kernel may have dropped the dirty pages: retrying could
            // report success for data that is gone, so the log stops here.
            self.poisoned = true;
            return Err(io_error("sync", &self.segment_path)(error));
        }
        Ok(())
    }

    /// Syncs, signs the head (the last record's seq and hash) at time `now`, appends the
    /// checkpoint to `checkpoints.log` (synced) and publishes it to every witness. A witness's
    /// failure is returned in [`Checkpointed::witness_failures`], not as an error.
    pub fn checkpoint(&mut self, now: Ts) -> Result<Checkpointed, AuditError> {
        self.sync()?;
        let checkpoint = Checkpoint::sign(&self.key, self.head_seq, self.head_hash, now);
        let line = checkpoint.to_line()?;
        let path = self.dir.join(CHECKPOINT_FILE);
        let file = match self.checkpoints.as_mut() {
            Some(file) => file,
            None => self
                .checkpoints
                .insert(open_on_line_boundary(&self.dir, &path)?),
        };
        if let Err(error) = file.write_all(&line).and_then(|()| file.sync_data()) {
            self.checkpoints = None;
            return Err(io_error("write", &path)(error));
        }
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

    /// The audit directory, `DATA_DIR/audit`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn usable(&self) -> Result<(), AuditError> {
        if self.poisoned {
            Err(AuditError::Poisoned)
        } else {
            Ok(())
        }
    }

    fn roll(&mut self) -> Result<(), AuditError> {
        self.sync()?;
        let number = self.segment_number.saturating_add(1);
        let path = self.dir.join(segment_file_name(number));
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(|error| {
                self.poisoned = true;
                io_error("create", &path)(error)
            })?;
        if let Err(error) = sync_dir(&self.dir) {
            self.poisoned = true;
            return Err(error);
        }
        self.writer = BufWriter::with_capacity(WRITE_BUFFER, file);
        self.segment_number = number;
        self.segment_path = path;
        self.segment_len = 0;
        Ok(())
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

/// What a scan of a file found: its length, the end of its last good line and what that line
/// held.
struct Scan<T> {
    len: u64,
    good_end: u64,
    last: Option<T>,
}

/// Reads a file line by line; `good` says whether a complete line is a record (and what of it
/// to keep). Everything after the last good line is a torn tail.
fn scan<T>(path: &Path, mut good: impl FnMut(&[u8]) -> Option<T>) -> Result<Scan<T>, AuditError> {
    let file = File::open(path).map_err(io_error("open", path))?;
    let len = file.metadata().map_err(io_error("read", path))?.len();
    let mut reader = LineReader::new(BufReader::with_capacity(1 << 20, file));
    let mut good_end = 0;
    let mut last = None;
    while let Some(line) = reader.next_line().map_err(io_error("read", path))? {
        if let Line::Complete(bytes) = line
            && let Some(kept) = good(bytes)
        {
            good_end = reader.offset();
            last = Some(kept);
        }
    }
    Ok(Scan {
        len,
        good_end,
        last,
    })
}

/// Cuts a file back to `keep` bytes, appending what is cut to `<file>.torn` first.
fn cut_tail(path: &Path, keep: u64) -> Result<Recovery, AuditError> {
    let mut saved_to = path.as_os_str().to_owned();
    saved_to.push(".torn");
    let saved_to = PathBuf::from(saved_to);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_error("open", path))?;
    file.seek(SeekFrom::Start(keep))
        .map_err(io_error("read", path))?;
    let mut torn = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&saved_to)
        .map_err(io_error("create", &saved_to))?;
    let cut_bytes = io::copy(&mut file, &mut torn).map_err(io_error("copy", &saved_to))?;
    torn.sync_all().map_err(io_error("sync", &saved_to))?;
    file.set_len(keep).map_err(io_error("truncate", path))?;
    file.sync_all().map_err(io_error("sync", path))?;
    Ok(Recovery {
        file: path.to_path_buf(),
        kept_bytes: keep,
        cut_bytes,
        saved_to,
    })
}

/// Opens a file for appending so that the next write starts a line: a partial line left by a
/// failed write is ended first, so it cannot swallow the next one.
fn open_on_line_boundary(dir: &Path, path: &Path) -> Result<File, AuditError> {
    let existed = path.exists();
    let mut file = OpenOptions::new()
        .read(true)
        .create(true)
        .append(true)
        .open(path)
        .map_err(io_error("open", path))?;
    if !existed {
        sync_dir(dir)?;
    }
    let len = file.metadata().map_err(io_error("read", path))?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(SeekFrom::End(-1))
            .and_then(|_| file.read_exact(&mut last))
            .map_err(io_error("read", path))?;
        if last != *b"\n" {
            file.write_all(b"\n").map_err(io_error("write", path))?;
        }
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
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
