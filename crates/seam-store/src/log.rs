//! The append-only, segmented event log and its in-memory indexes.
//!
//! A log position is an event's sequence number: the first event is at 0 and the log ends at
//! the number of events stored. Events gather in an open block in memory; sealing it (on commit,
//! or once it is large) compresses it into one frame at the end of the last segment. Only the
//! last segment is ever written: earlier ones were synced before the next one was created,
//! except by erasure and retention, which replace a segment whole (see [`rewrite`]).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{BufReader, ErrorKind, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::frame::{self, BLOCK_TARGET_BYTES, Block, HEADER_BYTES, MAX_PAYLOAD_BYTES, RecordUid};
use crate::{AppendOutcome, StoreError, StoredEvent};

mod rewrite;

/// The first bytes of every segment file: what it is and the format version.
pub(crate) const SEGMENT_MAGIC: [u8; 8] = *b"SEAMLOG1";
const SEGMENT_HEADER_BYTES: u64 = SEGMENT_MAGIC.len() as u64;

/// What opening the log found in the torn tail of the last segment and cut away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailRecovery {
    pub segment: PathBuf,
    /// The log position (event count) the log now ends at.
    pub valid_until: u64,
    pub dropped_bytes: u64,
}

#[derive(Debug)]
struct Segment {
    /// The position of its first event; also its file name.
    first: u64,
    path: PathBuf,
    /// Bytes in the file, header included.
    file_len: u64,
}

/// Where a sealed block lives.
#[derive(Debug, Clone, Copy)]
struct BlockEntry {
    /// The position of its first event.
    first: u64,
    count: u64,
    segment: usize,
    /// File offset of its frame.
    offset: u64,
    frame_len: u64,
    /// The earliest time of an event in it that is not a tombstone (`i64::MAX` if none), so
    /// that retention skips the blocks that hold nothing to expire.
    oldest_live: i64,
    /// No live event in it is later (`i64::MIN` if none). Tombstoning leaves it as it was: an
    /// upper bound is all a scan by time needs.
    newest_live: i64,
}

pub(crate) struct EventLog {
    directory: PathBuf,
    segment_bytes: u64,
    /// Ordered by first position, never empty; the last one is the one written.
    segments: Vec<Segment>,
    /// Every sealed block, in log order.
    blocks: Vec<BlockEntry>,
    active: File,
    /// Records of the open block (length-prefixed, as in a sealed block) and where each
    /// record's bytes are; the first of them sits at position `sealed_end`.
    open_records: Vec<u8>,
    open_ranges: Vec<Range<usize>>,
    /// The earliest event time in the open block, `i64::MAX` while it is empty.
    open_oldest: i64,
    open_newest: i64,
    sealed_end: u64,
    /// Frames were written since the last sync.
    unsynced: bool,
    index: UidIndex,
    recovery: Option<TailRecovery>,
    /// Set after a failed write or sync: what reached the disk is unknown, so stop writing.
    broken: bool,
    uid_digest: fn(&str) -> u64,
    /// The block last decoded to confirm a duplicate, kept because a replay confirms many
    /// events of the same block in a row.
    verify_cache: Option<(usize, Block)>,
    frame_buffer: Vec<u8>,
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("EventLog")
            .field("directory", &self.directory)
            .field("segments", &self.segments.len())
            .field("blocks", &self.blocks.len())
            .field("end", &self.end())
            .finish_non_exhaustive()
    }
}

impl EventLog {
    pub(crate) fn open(directory: &Path, segment_bytes: u64) -> Result<EventLog, StoreError> {
        EventLog::open_with_digest(directory, segment_bytes, uid_digest)
    }

    fn open_with_digest(
        directory: &Path,
        segment_bytes: u64,
        uid_digest: fn(&str) -> u64,
    ) -> Result<EventLog, StoreError> {
        std::fs::create_dir_all(directory)
            .map_err(StoreError::io("create directory", directory))?;
        rewrite::remove_leftovers(directory)?;
        let mut found = list_segments(directory)?;
        if found.is_empty() {
            found.push(create_segment(directory, 0)?);
        }
        let first = found.first().map_or(0, |segment| segment.first);
        let mut scan = Scan {
            index: UidIndex::default(),
            blocks: Vec::new(),
            end: first,
            recovery: None,
            uid_digest,
        };
        let last = found.len().saturating_sub(1);
        let mut segments = Vec::with_capacity(found.len());
        for (number, mut segment) in found.into_iter().enumerate() {
            if segment.first != scan.end {
                let reason = format!(
                    "segment starts at position {} but the one before ends at {}",
                    segment.first, scan.end
                );
                return Err(corrupt(&segment.path, 0, &reason));
            }
            scan.segment(&mut segment, number, number == last, directory)?;
            segments.push(segment);
        }
        let active_path = segments.last().map_or_else(
            || segment_path(directory, 0),
            |segment| segment.path.clone(),
        );
        Ok(EventLog {
            directory: directory.to_owned(),
            segment_bytes: segment_bytes.max(1),
            segments,
            blocks: scan.blocks,
            active: open_for_append(&active_path)?,
            open_records: Vec::new(),
            open_ranges: Vec::new(),
            open_oldest: i64::MAX,
            open_newest: i64::MIN,
            sealed_end: scan.end,
            unsynced: false,
            index: scan.index,
            recovery: scan.recovery,
            broken: false,
            uid_digest,
            verify_cache: None,
            frame_buffer: Vec::new(),
        })
    }

    pub(crate) fn recovery(&self) -> Option<&TailRecovery> {
        self.recovery.as_ref()
    }

    /// The position after the last appended event, which is also how many events there are.
    pub(crate) fn end(&self) -> u64 {
        self.sealed_end + self.open_ranges.len() as u64
    }

    fn start(&self) -> u64 {
        self.segments.first().map_or(0, |segment| segment.first)
    }

    pub(crate) fn event_count(&self) -> u64 {
        self.end() - self.start()
    }

    pub(crate) fn append(
        &mut self,
        events: &[StoredEvent<'_>],
    ) -> Result<AppendOutcome, StoreError> {
        if self.broken {
            return Err(StoreError::Broken);
        }
        let mut record_lens = Vec::with_capacity(events.len());
        for event in events {
            record_lens.push(frame::checked_record_len(event)?);
        }
        let mut outcome = AppendOutcome::default();
        for (index, (event, record_len)) in events.iter().zip(record_lens).enumerate() {
            if !self.open_ranges.is_empty()
                && self.open_records.len() + 4 + record_len > BLOCK_TARGET_BYTES
            {
                self.seal()?;
            }
            let position = self.end();
            let digest = (self.uid_digest)(event.uid);
            // One probe in the common case, a digest never seen: claim it for this position.
            // An erased uid kept only as its SHA-256 is not in that map; once the store holds
            // such uids, a new one is checked against them too.
            let claimed = match self.index.first.entry(digest) {
                Entry::Vacant(slot) if !was_erased(&self.index.erased, event.uid) => {
                    slot.insert(position);
                    true
                }
                _ => false,
            };
            if !claimed {
                if self.is_stored(digest, event.uid)? || was_erased(&self.index.erased, event.uid) {
                    outcome.duplicates += 1;
                    outcome.duplicate_indices.push(index);
                    continue;
                }
                self.index.more.entry(digest).or_default().push(position);
            }
            frame::encode_record(event, &mut self.open_records);
            self.open_oldest = self.open_oldest.min(event.time.millis());
            self.open_newest = self.open_newest.max(event.time.millis());
            self.open_ranges
                .push(self.open_records.len() - record_len..self.open_records.len());
            outcome.inserted += 1;
        }
        Ok(outcome)
    }

    /// Whether an event with this uid is stored: a digest hit is confirmed against the record,
    /// so that two uids sharing a digest are both kept.
    fn is_stored(&mut self, digest: u64, uid: &str) -> Result<bool, StoreError> {
        let Some(first) = self.index.first.get(&digest).copied() else {
            return Ok(false);
        };
        if self.record_has_uid(first, uid)? {
            return Ok(true);
        }
        // Two uids sharing a 64-bit digest: rare enough that copying the list costs nothing.
        let more = self.index.more.get(&digest).cloned().unwrap_or_default();
        for position in more {
            if self.record_has_uid(position, uid)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn record_has_uid(&mut self, position: u64, uid: &str) -> Result<bool, StoreError> {
        let same = |record: &[u8]| frame::decode_uid(record).map(|stored| stored.is(uid));
        if position >= self.sealed_end {
            let record = self
                .open_record(position)
                .ok_or_else(|| self.corrupt_at(position, "no open record"))?;
            return same(record).map_err(|error| self.corrupt_at(position, &error.describe()));
        }
        let number = self
            .block_of(position)
            .ok_or_else(|| self.corrupt_at(position, "no block holds it"))?;
        let block = match self.verify_cache.take() {
            Some((cached, block)) if cached == number => block,
            _ => self.load_block(number, &mut None)?,
        };
        let first = self
            .blocks
            .get(number)
            .map_or(position, |entry| entry.first);
        let result = match block.record(to_index(position - first)) {
            Some(record) => {
                same(record).map_err(|error| self.corrupt_at(position, &error.describe()))
            }
            None => Err(self.corrupt_at(position, "block is shorter than the index says")),
        };
        self.verify_cache = Some((number, block));
        result
    }

    fn open_record(&self, position: u64) -> Option<&[u8]> {
        let range = self
            .open_ranges
            .get(to_index(position.checked_sub(self.sealed_end)?))?;
        self.open_records.get(range.clone())
    }

    /// Compresses the open block into a frame at the end of the last segment (without a sync),
    /// first starting a new segment if this one would grow past its size.
    fn seal(&mut self) -> Result<(), StoreError> {
        if self.open_ranges.is_empty() {
            return Ok(());
        }
        let count = self.open_ranges.len();
        self.frame_buffer.clear();
        frame::encode_block(
            &self.open_records,
            u32::try_from(count).unwrap_or(u32::MAX),
            &mut self.frame_buffer,
        );
        let frame_len = self.frame_buffer.len() as u64;
        let active_len = self.segments.last().map_or(0, |segment| segment.file_len);
        if active_len > SEGMENT_HEADER_BYTES && active_len + frame_len > self.segment_bytes {
            self.roll_over()?;
        }
        if let Err(source) = self.active.write_all(&self.frame_buffer) {
            self.broken = true;
            return Err(StoreError::Io {
                action: "write segment",
                path: self.active_path(),
                source,
            });
        }
        self.unsynced = true;
        let segment_number = self.segments.len().saturating_sub(1);
        if let Some(active) = self.segments.last_mut() {
            self.blocks.push(BlockEntry {
                first: self.sealed_end,
                count: count as u64,
                segment: segment_number,
                offset: active.file_len,
                frame_len,
                oldest_live: self.open_oldest,
                newest_live: self.open_newest,
            });
            active.file_len += frame_len;
        }
        self.sealed_end += count as u64;
        self.open_records.clear();
        self.open_ranges.clear();
        self.open_oldest = i64::MAX;
        self.open_newest = i64::MIN;
        Ok(())
    }

    /// Seals the open block and syncs the last segment: every event appended so far is
    /// durable after this.
    pub(crate) fn commit(&mut self) -> Result<(), StoreError> {
        if self.broken {
            return Err(StoreError::Broken);
        }
        self.seal()?;
        self.sync_active()
    }

    fn sync_active(&mut self) -> Result<(), StoreError> {
        if !self.unsynced {
            return Ok(());
        }
        if let Err(source) = self.active.sync_data() {
            self.broken = true;
            return Err(StoreError::Io {
                action: "sync segment",
                path: self.active_path(),
                source,
            });
        }
        self.unsynced = false;
        Ok(())
    }

    /// Syncs the last segment, which is never written again, and starts the next one.
    fn roll_over(&mut self) -> Result<(), StoreError> {
        self.sync_active()?;
        let started = create_segment(&self.directory, self.sealed_end)
            .and_then(|segment| Ok((open_for_append(&segment.path)?, segment)));
        match started {
            Ok((file, segment)) => {
                self.active = file;
                self.segments.push(segment);
                Ok(())
            }
            Err(error) => {
                self.broken = true;
                Err(error)
            }
        }
    }

    fn active_path(&self) -> PathBuf {
        self.segments
            .last()
            .map_or_else(|| self.directory.clone(), |segment| segment.path.clone())
    }

    /// Up to `limit` events' JSON from `from` on, and the position after the last one.
    pub(crate) fn read(&self, from: u64, limit: usize) -> Result<(Vec<String>, u64), StoreError> {
        let end = self.end();
        if from > end || from < self.start() {
            return Err(StoreError::InvalidPosition {
                position: from,
                end,
            });
        }
        let mut events = Vec::new();
        let mut position = from;
        let mut reader = None;
        while events.len() < limit && position < end {
            if position >= self.sealed_end {
                let record = self
                    .open_record(position)
                    .ok_or_else(|| self.corrupt_at(position, "no open record"))?;
                events.push(self.json_of(position, record)?);
                position += 1;
                continue;
            }
            let number = self
                .block_of(position)
                .ok_or_else(|| self.corrupt_at(position, "no block holds it"))?;
            let block = self.load_block(number, &mut reader)?;
            let first = self
                .blocks
                .get(number)
                .map_or(position, |entry| entry.first);
            let mut index = to_index(position - first);
            while events.len() < limit {
                let Some(record) = block.record(index) else {
                    break;
                };
                events.push(self.json_of(position, record)?);
                position += 1;
                index += 1;
            }
        }
        Ok((events, position))
    }

    /// Live events with a time in `since..=until` that `wanted` takes (given their person and
    /// JSON), at most `limit`, in log order; and whether the limit cut the scan short. Only
    /// the blocks whose times reach into the span are read, by up to four threads at once:
    /// decompressing the span is the cost, and a timeline is read while a person waits.
    pub(crate) fn scan_between(
        &self,
        since: i64,
        until: i64,
        limit: usize,
        scan: &crate::workspace::EventScan<'_>,
    ) -> Result<(crate::workspace::PersonEvents, bool), StoreError> {
        let take = |position: u64, record: &[u8], found: &mut crate::workspace::PersonEvents| {
            let corrupt = |error: frame::DecodeError| self.corrupt_at(position, &error.describe());
            let frame::ScanView {
                time,
                tombstone,
                person,
                json,
            } = frame::decode_for_scan(record).map_err(corrupt)?;
            if tombstone || !(since..=until).contains(&time.millis()) {
                return Ok(false);
            }
            let by_person = person.is_some_and(|p| scan.people.contains(p));
            if !by_person && !scan.reads_json {
                return Ok(false);
            }
            let json =
                std::str::from_utf8(json).map_err(|_| corrupt(frame::DecodeError::NotUtf8))?;
            if by_person || (scan.wanted)(person, json) {
                found.push((person.map(str::to_string), json.to_string()));
            }
            Ok::<bool, StoreError>(found.len() > limit)
        };
        let candidates: Vec<usize> = self
            .blocks
            .iter()
            .enumerate()
            .filter(|(_, entry)| entry.oldest_live <= until && entry.newest_live >= since)
            .map(|(number, _)| number)
            .collect();
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZeroUsize::get)
            .clamp(1, 4)
            .min(candidates.len().max(1));
        let chunk = candidates.len().div_ceil(threads).max(1);
        let scan = |numbers: &[usize]| {
            let mut found = Vec::new();
            let mut reader = None;
            for &number in numbers {
                let Some(entry) = self.blocks.get(number) else {
                    continue;
                };
                let block = self.load_block(number, &mut reader)?;
                for index in 0..block.len() {
                    let record = block.record(index).unwrap_or_default();
                    if take(entry.first + index as u64, record, &mut found)? {
                        return Ok(found);
                    }
                }
            }
            Ok::<_, StoreError>(found)
        };
        let parts: Vec<Result<crate::workspace::PersonEvents, StoreError>> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = candidates
                    .chunks(chunk)
                    .map(|numbers| scope.spawn(move || scan(numbers)))
                    .collect();
                handles
                    .into_iter()
                    .map(|handle| {
                        handle.join().unwrap_or_else(|_| {
                            Err(StoreError::InvalidRequest {
                                reason: "a log scan thread failed".into(),
                            })
                        })
                    })
                    .collect()
            });
        let mut found = Vec::new();
        for part in parts {
            found.extend(part?);
            if found.len() > limit {
                found.truncate(limit);
                return Ok((found, true));
            }
        }
        if self.open_oldest <= until && self.open_newest >= since {
            for position in self.sealed_end..self.end() {
                if let Some(record) = self.open_record(position)
                    && take(position, record, &mut found)?
                {
                    found.truncate(limit);
                    return Ok((found, true));
                }
            }
        }
        Ok((found, false))
    }

    fn json_of(&self, position: u64, record: &[u8]) -> Result<String, StoreError> {
        let event = frame::decode_record(record)
            .map_err(|error| self.corrupt_at(position, &error.describe()))?;
        Ok(event.json.to_owned())
    }

    /// The sealed block holding `position`.
    fn block_of(&self, position: u64) -> Option<usize> {
        let after = self.blocks.partition_point(|entry| entry.first <= position);
        let number = after.checked_sub(1)?;
        let entry = self.blocks.get(number)?;
        (position < entry.first + entry.count).then_some(number)
    }

    /// Reads, verifies and decodes a sealed block; `reader` keeps a segment open between calls.
    fn load_block(
        &self,
        number: usize,
        reader: &mut Option<(usize, BufReader<File>)>,
    ) -> Result<Block, StoreError> {
        let entry = *self
            .blocks
            .get(number)
            .ok_or_else(|| corrupt(&self.directory, 0, "no such block"))?;
        let segment = self
            .segments
            .get(entry.segment)
            .ok_or_else(|| corrupt(&self.directory, entry.offset, "no such segment"))?;
        let path = &segment.path;
        let file = match reader.take() {
            Some((open_segment, file)) if open_segment == entry.segment => file,
            _ => BufReader::with_capacity(
                64 * 1024,
                File::open(path).map_err(StoreError::io("open segment", path))?,
            ),
        };
        let file = reader.insert((entry.segment, file));
        file.1
            .seek(SeekFrom::Start(entry.offset))
            .map_err(StoreError::io("seek in segment", path))?;
        let mut bytes = vec![0; usize::try_from(entry.frame_len).unwrap_or(usize::MAX)];
        file.1
            .read_exact(&mut bytes)
            .map_err(StoreError::io("read segment", path))?;
        let (header, payload) = bytes
            .split_first_chunk::<HEADER_BYTES>()
            .ok_or_else(|| corrupt(path, entry.offset, "frame is short"))?;
        if !frame::verify(header, payload) {
            return Err(corrupt(
                path,
                entry.offset,
                "checksum mismatch on a verified frame",
            ));
        }
        let block = frame::decode_block(payload)
            .map_err(|error| corrupt(path, entry.offset, &error.describe()))?;
        if block.len() as u64 != entry.count {
            return Err(corrupt(path, entry.offset, "block changed its event count"));
        }
        Ok(block)
    }

    fn corrupt_at(&self, position: u64, reason: &str) -> StoreError {
        let located = self.block_of(position).and_then(|number| {
            let entry = self.blocks.get(number)?;
            Some((self.segments.get(entry.segment)?, entry.offset))
        });
        match located {
            Some((segment, offset)) => corrupt(&segment.path, offset, reason),
            None => corrupt(&self.directory, position, reason),
        }
    }
}

/// What opening learns while verifying the segments in order.
struct Scan {
    index: UidIndex,
    blocks: Vec<BlockEntry>,
    /// The position after the last event seen.
    end: u64,
    recovery: Option<TailRecovery>,
    uid_digest: fn(&str) -> u64,
}

impl Scan {
    /// Verifies and indexes every block of `segment`, and cuts a torn tail off the last
    /// segment. A bad frame in an earlier segment is corruption, not a torn write: refuse it.
    fn segment(
        &mut self,
        segment: &mut Segment,
        number: usize,
        is_last: bool,
        directory: &Path,
    ) -> Result<(), StoreError> {
        let path = segment.path.clone();
        let file = File::open(&path).map_err(StoreError::io("open segment", &path))?;
        let file_len = file
            .metadata()
            .map_err(StoreError::io("read metadata of", &path))?
            .len();
        let mut reader = BufReader::with_capacity(1 << 20, file);

        let mut magic = [0u8; SEGMENT_MAGIC.len()];
        let got =
            read_up_to(&mut reader, &mut magic).map_err(StoreError::io("read segment", &path))?;
        if got < magic.len() {
            if !is_last {
                return Err(corrupt(&path, 0, "segment header is incomplete"));
            }
            // A crash while the segment was being created: it holds no frame yet.
            rewrite_header(&path, directory)?;
            segment.file_len = SEGMENT_HEADER_BYTES;
            return Ok(());
        }
        if magic != SEGMENT_MAGIC {
            return Err(corrupt(&path, 0, "not a seam event log segment"));
        }

        let mut offset = SEGMENT_HEADER_BYTES;
        let mut payload = Vec::new();
        let failure = loop {
            let mut header = [0u8; HEADER_BYTES];
            let got = read_up_to(&mut reader, &mut header)
                .map_err(StoreError::io("read segment", &path))?;
            if got == 0 {
                break None;
            }
            if got < HEADER_BYTES {
                break Some("frame header is incomplete");
            }
            let (length, _) = frame::read_header(&header);
            if length > MAX_PAYLOAD_BYTES {
                break Some("frame length exceeds the limit");
            }
            let frame_len = (HEADER_BYTES + length) as u64;
            if offset + frame_len > file_len {
                break Some("frame extends past the end of the segment");
            }
            payload.resize(length, 0);
            reader
                .read_exact(&mut payload)
                .map_err(StoreError::io("read segment", &path))?;
            if !frame::verify(&header, &payload) {
                break Some("checksum mismatch");
            }
            // A frame that passed its checksum yet does not decode was written that way: a
            // format this build does not know, not a torn write. Never cut it away.
            let block = frame::decode_block(&payload)
                .map_err(|error| corrupt(&path, offset, &error.describe()))?;
            let mut oldest_live = i64::MAX;
            let mut newest_live = i64::MIN;
            for index in 0..block.len() {
                let record = block.record(index).unwrap_or_default();
                let (uid, time, tombstone) = frame::decode_head(record)
                    .map_err(|error| corrupt(&path, offset, &error.describe()))?;
                self.index
                    .insert(uid, self.end + index as u64, self.uid_digest);
                if !tombstone {
                    oldest_live = oldest_live.min(time.millis());
                    newest_live = newest_live.max(time.millis());
                }
            }
            let count = block.len() as u64;
            self.blocks.push(BlockEntry {
                first: self.end,
                count,
                segment: number,
                offset,
                frame_len,
                oldest_live,
                newest_live,
            });
            self.end += count;
            offset += frame_len;
        };
        segment.file_len = offset;

        if let Some(reason) = failure {
            if !is_last {
                return Err(corrupt(&path, offset, reason));
            }
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(StoreError::io("open segment", &path))?;
            file.set_len(offset)
                .map_err(StoreError::io("truncate segment", &path))?;
            file.sync_all()
                .map_err(StoreError::io("sync segment", &path))?;
            self.recovery = Some(TailRecovery {
                segment: path,
                valid_until: self.end,
                dropped_bytes: file_len - offset,
            });
        }
        Ok(())
    }
}

/// Positions inside one block are below `u32::MAX` apart, so this never saturates in practice.
fn to_index(offset: u64) -> usize {
    usize::try_from(offset).unwrap_or(usize::MAX)
}

/// The 64-bit digest the index keeps per uid. It lives only in memory and is rebuilt on open,
/// so the hash may change between builds; SipHash with fixed keys spreads uids evenly.
fn uid_digest(uid: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    hasher.write(uid.as_bytes());
    hasher.finish()
}

/// Whether `uid` is one an erasure kept only as its SHA-256. Costs a SHA-256 of the uid once
/// there are such uids, nothing before.
fn was_erased(erased: &HashMap<[u8; 32], u64>, uid: &str) -> bool {
    !erased.is_empty() && erased.contains_key(&frame::uid_sha256(uid))
}

/// Uid digest to the positions of the events with that digest: almost always one, so the
/// rare second and later ones live in a side map instead of a `Vec` per entry. Tombstones that
/// keep only the SHA-256 of their uid are found by that digest instead.
#[derive(Debug, Default)]
struct UidIndex {
    first: HashMap<u64, u64, BuildHasherDefault<DigestHasher>>,
    more: HashMap<u64, Vec<u64>, BuildHasherDefault<DigestHasher>>,
    erased: HashMap<[u8; 32], u64>,
}

impl UidIndex {
    fn insert(&mut self, uid: RecordUid<'_>, position: u64, uid_digest: fn(&str) -> u64) {
        let digest = match uid {
            RecordUid::Text(text) => uid_digest(text),
            RecordUid::Digest(sha256) => {
                self.erased.insert(*sha256, position);
                return;
            }
        };
        match self.first.entry(digest) {
            Entry::Occupied(_) => self.more.entry(digest).or_default().push(position),
            Entry::Vacant(slot) => {
                slot.insert(position);
            }
        }
    }

    /// Forgets that the event at `position` has the uid with this digest.
    fn remove(&mut self, digest: u64, position: u64) {
        let more = self.more.get_mut(&digest);
        if self.first.get(&digest) == Some(&position) {
            match more.and_then(|more| (!more.is_empty()).then(|| more.remove(0))) {
                Some(next) => {
                    self.first.insert(digest, next);
                }
                None => {
                    self.first.remove(&digest);
                }
            }
        } else if let Some(more) = more {
            more.retain(|stored| *stored != position);
        }
        if self.more.get(&digest).is_some_and(Vec::is_empty) {
            self.more.remove(&digest);
        }
    }
}

/// The keys are digests already; hashing them again would only cost time.
#[derive(Debug, Default, Clone, Copy)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

fn segment_path(directory: &Path, first: u64) -> PathBuf {
    directory.join(format!("{first:020}.log"))
}

fn list_segments(directory: &Path) -> Result<Vec<Segment>, StoreError> {
    let mut segments = Vec::new();
    let entries =
        std::fs::read_dir(directory).map_err(StoreError::io("list directory", directory))?;
    for entry in entries {
        let entry = entry.map_err(StoreError::io("list directory", directory))?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|name| name.strip_suffix(".log")) else {
            continue;
        };
        if stem.len() != 20 || !stem.bytes().all(|byte| byte.is_ascii_digit()) {
            continue;
        }
        let Ok(first) = stem.parse::<u64>() else {
            continue;
        };
        segments.push(Segment {
            first,
            path: entry.path(),
            file_len: 0,
        });
    }
    segments.sort_by_key(|segment| segment.first);
    Ok(segments)
}

fn create_segment(directory: &Path, first: u64) -> Result<Segment, StoreError> {
    let path = segment_path(directory, first);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(StoreError::io("create segment", &path))?;
    file.write_all(&SEGMENT_MAGIC)
        .map_err(StoreError::io("write segment", &path))?;
    file.sync_all()
        .map_err(StoreError::io("sync segment", &path))?;
    sync_directory(directory)?;
    Ok(Segment {
        first,
        path,
        file_len: SEGMENT_HEADER_BYTES,
    })
}

fn rewrite_header(path: &Path, directory: &Path) -> Result<(), StoreError> {
    let mut file = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(StoreError::io("open segment", path))?;
    file.write_all(&SEGMENT_MAGIC)
        .map_err(StoreError::io("write segment", path))?;
    file.sync_all()
        .map_err(StoreError::io("sync segment", path))?;
    sync_directory(directory)
}

fn open_for_append(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(StoreError::io("open segment", path))
}

/// Makes a new file's directory entry durable, so a synced segment cannot vanish in a crash.
fn sync_directory(directory: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        let handle = File::open(directory).map_err(StoreError::io("open directory", directory))?;
        handle
            .sync_all()
            .map_err(StoreError::io("sync directory", directory))?;
    }
    #[cfg(not(unix))]
    let _ = directory;
    Ok(())
}

/// Fills `buffer` as far as the reader goes; returns how many bytes were read.
fn read_up_to(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buffer.get_mut(filled..) {
        if rest.is_empty() {
            break;
        }
        match reader.read(rest) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

fn corrupt(path: &Path, offset: u64, reason: &str) -> StoreError {
    StoreError::CorruptSegment {
        path: path.to_owned(),
        offset,
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use seam_model::Ts;

    use super::*;

    fn event<'a>(uid: &'a str, json: &'a str) -> StoredEvent<'a> {
        StoredEvent {
            uid,
            time: Ts::from_millis(1),
            observed: Ts::from_millis(2),
            source: "s",
            class: "c",
            person: None,
            late: false,
            json,
        }
    }

    #[test]
    fn uids_sharing_a_digest_are_all_kept_and_still_deduplicated() {
        let directory = tempfile::tempdir().unwrap();
        let every_uid_collides: fn(&str) -> u64 = |_| 7;
        let mut log =
            EventLog::open_with_digest(directory.path(), 1 << 20, every_uid_collides).unwrap();
        let outcome = log
            .append(&[
                event("a", "1"),
                event("b", "2"),
                event("a", "3"),
                event("c", "4"),
            ])
            .unwrap();
        assert_eq!((outcome.inserted, outcome.duplicate_indices), (3, vec![2]));
        log.commit().unwrap();
        let outcome = log
            .append(&[event("c", "5"), event("d", "6"), event("b", "7")])
            .unwrap();
        assert_eq!(
            (outcome.inserted, outcome.duplicate_indices),
            (1, vec![0, 2])
        );
        let (events, _) = log.read(0, 10).unwrap();
        assert_eq!(events, ["1", "2", "4", "6"]);
        log.commit().unwrap();
        drop(log);

        let mut log =
            EventLog::open_with_digest(directory.path(), 1 << 20, every_uid_collides).unwrap();
        let outcome = log.append(&[event("d", "8"), event("e", "9")]).unwrap();
        assert_eq!((outcome.inserted, outcome.duplicate_indices), (1, vec![0]));
    }

    #[test]
    fn reads_span_sealed_blocks_and_the_open_one() {
        let directory = tempfile::tempdir().unwrap();
        let mut log = EventLog::open(directory.path(), 1 << 20).unwrap();
        log.append(&[event("a", "1"), event("b", "2")]).unwrap();
        log.commit().unwrap();
        log.append(&[event("c", "3")]).unwrap();
        assert_eq!(
            (log.sealed_end, log.end()),
            (2, 3),
            "the last event is still in the open block"
        );
        assert_eq!(
            log.read(0, 10).unwrap(),
            (vec!["1".to_owned(), "2".to_owned(), "3".to_owned()], 3)
        );
        assert_eq!(log.read(1, 1).unwrap(), (vec!["2".to_owned()], 2));
        assert_eq!(log.read(2, 5).unwrap(), (vec!["3".to_owned()], 3));
    }

    #[test]
    fn a_large_batch_is_sealed_into_several_blocks() {
        let directory = tempfile::tempdir().unwrap();
        let mut log = EventLog::open(directory.path(), 1 << 30).unwrap();
        let json = "j".repeat(100_000);
        let uids: Vec<String> = (0..25).map(|number| number.to_string()).collect();
        let events: Vec<StoredEvent<'_>> = uids.iter().map(|uid| event(uid, &json)).collect();
        log.append(&events).unwrap();
        log.commit().unwrap();
        assert!(log.blocks.len() >= 3, "{} blocks", log.blocks.len());
        let (read, next) = log.read(7, 100).unwrap();
        assert_eq!((read.len(), next), (18, 25));
    }

    #[test]
    fn a_commit_with_nothing_new_does_not_sync() {
        let directory = tempfile::tempdir().unwrap();
        let mut log = EventLog::open(directory.path(), 1 << 20).unwrap();
        log.append(&[event("a", "1")]).unwrap();
        log.commit().unwrap();
        assert!(!log.unsynced);
        log.commit().unwrap();
        assert_eq!(log.blocks.len(), 1, "an empty open block is not sealed");
    }

    #[test]
    fn the_digest_hasher_passes_digests_through() {
        let mut hasher = DigestHasher::default();
        hasher.write_u64(0xdead_beef);
        assert_eq!(hasher.finish(), 0xdead_beef);
        assert_ne!(uid_digest("a"), uid_digest("b"));
    }
}
