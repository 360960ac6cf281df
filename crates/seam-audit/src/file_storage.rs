//! [`FileStorage`]: records in segment files and checkpoints in `checkpoints.log`, in the
//! audit directory. Segments roll at a size; a torn tail is cut off (and kept aside) when a
//! writer opens.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use crate::anchor::{ANCHOR_FILE, read_anchor_file};
use crate::checkpoint::{CHECKPOINT_FILE, Checkpoint, read_checkpoint_file};
use crate::files::{LineReader, Segment, StoredLine, audit_dir, list_segments, segment_file_name};
use crate::key::sync_dir;
use crate::log::{AuditOptions, Recovery};
use crate::record::read_line;
use crate::storage::{AuditStorage, LinePlace, StoredAnchors, StoredCheckpoints, WriterStart};
use crate::{AuditError, io_error};

/// Buffered bytes between writes to the operating system.
const WRITE_BUFFER: usize = 256 * 1024;

/// The segment being appended to.
#[derive(Debug)]
struct OpenSegment {
    number: u64,
    path: PathBuf,
    len: u64,
    writer: BufWriter<File>,
}

/// The audit log's lines as files in `DATA_DIR/audit` (the default storage; see the crate's
/// documentation for the layout).
#[derive(Debug)]
pub struct FileStorage {
    dir: PathBuf,
    options: AuditOptions,
    /// Set by `open_writer`.
    segment: Option<OpenSegment>,
    checkpoints: Option<File>,
    anchors: Option<File>,
}

impl FileStorage {
    /// The files in `DATA_DIR/audit`, with the default options.
    pub fn new(data_dir: &Path) -> FileStorage {
        FileStorage::with_options(data_dir, AuditOptions::default())
    }

    pub fn with_options(data_dir: &Path, options: AuditOptions) -> FileStorage {
        FileStorage {
            dir: audit_dir(data_dir),
            options,
            segment: None,
            checkpoints: None,
            anchors: None,
        }
    }

    /// The audit directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn segment(&mut self) -> Result<&mut OpenSegment, AuditError> {
        // The writer always opens first; this only guards against a misuse.
        self.segment.as_mut().ok_or(AuditError::Poisoned)
    }

    fn roll(&mut self) -> Result<(), AuditError> {
        self.sync()?;
        let segment = self.segment()?;
        let number = segment.number.saturating_add(1);
        let path = self.dir.join(segment_file_name(number));
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(io_error("create", &path))?;
        sync_dir(&self.dir)?;
        self.segment = Some(OpenSegment {
            number,
            path,
            len: 0,
            writer: BufWriter::with_capacity(WRITE_BUFFER, file),
        });
        Ok(())
    }
}

impl AuditStorage for FileStorage {
    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    fn open_writer(&mut self) -> Result<WriterStart, AuditError> {
        let dir = &self.dir;
        let mut recovered = Vec::new();
        let segments = list_segments(dir)?;
        let (number, path, len, head) = match segments.last() {
            None => (1, dir.join(segment_file_name(1)), 0, None),
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
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_error("open", &path))?;
        if len == 0 {
            sync_dir(dir)?;
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
        self.segment = Some(OpenSegment {
            number,
            path,
            len,
            writer: BufWriter::with_capacity(WRITE_BUFFER, file),
        });
        Ok(WriterStart {
            head,
            last_checkpoint,
            recovered,
        })
    }

    fn append_record(&mut self, _seq: u64, line: &[u8]) -> Result<(), AuditError> {
        let len = line.len() as u64;
        let segment = self.segment()?;
        if segment.len > 0 && segment.len.saturating_add(len) > self.options.segment_bytes {
            self.roll()?;
        }
        let segment = self.segment()?;
        segment
            .writer
            .write_all(line)
            .map_err(io_error("write", &segment.path))?;
        segment.len += len;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), AuditError> {
        let segment = self.segment()?;
        segment
            .writer
            .flush()
            .map_err(io_error("write", &segment.path))
    }

    fn sync(&mut self) -> Result<(), AuditError> {
        let segment = self.segment()?;
        segment
            .writer
            .flush()
            .and_then(|()| segment.writer.get_ref().sync_data())
            .map_err(io_error("sync", &segment.path))
    }

    fn append_checkpoint(&mut self, line: &[u8]) -> Result<(), AuditError> {
        let path = self.dir.join(CHECKPOINT_FILE);
        let file = match self.checkpoints.as_mut() {
            Some(file) => file,
            None => self
                .checkpoints
                .insert(open_on_line_boundary(&self.dir, &path)?),
        };
        if let Err(error) = file.write_all(line).and_then(|()| file.sync_data()) {
            // Reopened next time, on a line boundary again.
            self.checkpoints = None;
            return Err(io_error("write", &path)(error));
        }
        Ok(())
    }

    fn read_checkpoints(&mut self) -> Result<StoredCheckpoints, AuditError> {
        Ok(StoredCheckpoints {
            name: CHECKPOINT_FILE.to_string(),
            lines: read_checkpoint_file(&self.dir.join(CHECKPOINT_FILE))?.unwrap_or_default(),
        })
    }

    fn append_anchor(&mut self, line: &[u8]) -> Result<(), AuditError> {
        let path = self.dir.join(ANCHOR_FILE);
        let file = match self.anchors.as_mut() {
            Some(file) => file,
            None => self
                .anchors
                .insert(open_on_line_boundary(&self.dir, &path)?),
        };
        if let Err(error) = file.write_all(line).and_then(|()| file.sync_data()) {
            self.anchors = None;
            return Err(io_error("write", &path)(error));
        }
        Ok(())
    }

    fn read_anchors(&mut self) -> Result<StoredAnchors, AuditError> {
        Ok(StoredAnchors {
            name: ANCHOR_FILE.to_string(),
            lines: read_anchor_file(&self.dir.join(ANCHOR_FILE))?.unwrap_or_default(),
        })
    }

    /// The end of the last closed segment that ends at or before `through`.
    fn prune_point(&mut self, through: u64) -> Result<Option<(u64, [u8; 32])>, AuditError> {
        Ok(closed_segments(&self.dir, through)?
            .last()
            .map(|closed| (closed.last_seq, closed.last_hash)))
    }

    /// Removes whole closed segments, oldest first, each removal made durable before the
    /// next: a crash part way leaves the newest of them, which still end at `through`.
    fn drop_records_through(&mut self, through: u64) -> Result<u64, AuditError> {
        let closed = closed_segments(&self.dir, through)?;
        if closed.last().map(|c| c.last_seq) != Some(through) {
            return Err(AuditError::Prune {
                reason: format!(
                    "no closed segment of {} ends at record {through}",
                    self.dir.display()
                ),
            });
        }
        let mut dropped = 0u64;
        for segment in closed {
            std::fs::remove_file(&segment.segment.path)
                .map_err(io_error("remove", &segment.segment.path))?;
            sync_dir(&self.dir)?;
            dropped = dropped.saturating_add(segment.records);
        }
        Ok(dropped)
    }

    fn read_records(
        &mut self,
        visit: &mut dyn FnMut(&LinePlace<'_>, StoredLine<'_>) -> ControlFlow<()>,
    ) -> Result<usize, AuditError> {
        let segments = list_segments(&self.dir)?;
        for (index, segment) in segments.iter().enumerate() {
            let file = File::open(&segment.path).map_err(io_error("open", &segment.path))?;
            let mut reader = LineReader::new(BufReader::with_capacity(1 << 20, file));
            while let Some((line, number, start, end)) = reader
                .next_placed_line()
                .map_err(io_error("read", &segment.path))?
            {
                let place = LinePlace {
                    unit: &segment.name,
                    number,
                    start,
                    end,
                    may_be_torn: index + 1 == segments.len(),
                };
                if visit(&place, line).is_break() {
                    return Ok(segments.len());
                }
            }
        }
        Ok(segments.len())
    }
}

/// A closed segment (one with a segment after it) and where it ends, found from the first
/// record of the segment after it.
struct ClosedSegment {
    segment: Segment,
    last_seq: u64,
    last_hash: [u8; 32],
    records: u64,
}

/// The closed segments, oldest first, whose records all come at or before seq `through`. The
/// last segment is never one: the writer appends to it.
fn closed_segments(dir: &Path, through: u64) -> Result<Vec<ClosedSegment>, AuditError> {
    let segments = list_segments(dir)?;
    let mut firsts = Vec::with_capacity(segments.len());
    for segment in &segments {
        firsts.push(first_record(&segment.path)?);
    }
    let mut closed = Vec::new();
    for (index, segment) in segments.iter().enumerate() {
        let (Some(Some((first_seq, _))), Some(Some((next_seq, next_prev)))) =
            (firsts.get(index), firsts.get(index + 1))
        else {
            break;
        };
        let last_seq = next_seq.saturating_sub(1);
        if last_seq > through || last_seq < *first_seq {
            break;
        }
        closed.push(ClosedSegment {
            segment: segment.clone(),
            last_seq,
            last_hash: *next_prev,
            records: next_seq.saturating_sub(*first_seq),
        });
    }
    Ok(closed)
}

/// The seq and `prev` of a segment's first line, if it is a record.
fn first_record(path: &Path) -> Result<Option<(u64, [u8; 32])>, AuditError> {
    let file = File::open(path).map_err(io_error("open", path))?;
    let mut reader = LineReader::new(BufReader::new(file));
    Ok(match reader.next_line().map_err(io_error("read", path))? {
        Some(StoredLine::Complete(bytes)) => read_line(bytes).ok().map(|f| (f.seq, f.prev)),
        _ => None,
    })
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
        if let StoredLine::Complete(bytes) = line
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
