//! Replacing records where they stand: erasure and retention turn events into tombstones
//! without moving a position, and subject access searches every record.
//!
//! A segment with a changed block is written again whole to `NAME.log.rewrite`: the frames
//! before the first change and every unchanged frame are copied (checked against their CRC),
//! each changed block is encoded and compressed again with the same event count. The file is
//! synced, renamed over the segment and the directory synced, so a crash leaves the old segment
//! or the new one, never a mix; opening deletes a leftover temporary file. The old segment's
//! bytes leave the directory with the rename.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{
    BlockEntry, EventLog, HEADER_BYTES, SEGMENT_HEADER_BYTES, StoreError, corrupt, open_for_append,
    sync_directory, to_index,
};
use crate::frame::{self, DecodeError, MAX_BLOCK_BYTES, RecordUid};
use crate::lifecycle::{Needles, RetentionRequest, SubjectEvent, hex, retention_tombstone};

/// What a segment being written again is called until it replaces the segment.
const REWRITE_SUFFIX: &str = ".log.rewrite";

/// Decides, record by record, what a rewrite replaces.
pub(crate) trait RecordVisitor {
    /// Whether a block whose earliest live event is at `oldest_live` (ms; `i64::MAX` when all
    /// its events are tombstones) can hold a record to replace.
    fn may_replace_in(&self, oldest_live: i64) -> bool;

    /// The record to put in place of `record`, length prefix included; `None` keeps it.
    fn replacement(&mut self, record: &[u8]) -> Result<Option<Vec<u8>>, DecodeError>;
}

/// A segment's block as it will be written: where its frame goes and what it holds.
struct Placed {
    number: usize,
    offset: u64,
    frame_len: u64,
    oldest_live: i64,
}

/// A segment written again, not yet in place: where its blocks are in the copy, what the uid
/// index must learn, how many records were replaced and how long the copy is.
struct SegmentCopy {
    placed: Vec<Placed>,
    changes: Vec<UidChange>,
    replaced: u64,
    file_len: u64,
}

/// What the uid index must learn once a rewritten segment is in place: the event at
/// `position`, found by the digest of its text uid until now, is found by its SHA-256.
struct UidChange {
    position: u64,
    digest: u64,
    sha256: [u8; 32],
}

impl EventLog {
    /// Visits every record from the start, in position order, the open block's included, and
    /// stops early when `visit` returns false. `wanted` skips sealed blocks by their
    /// earliest live event time.
    pub(crate) fn visit_records(
        &self,
        wanted: impl Fn(i64) -> bool,
        mut visit: impl FnMut(u64, &[u8]) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let mut reader = None;
        for (number, entry) in self.blocks.iter().enumerate() {
            if !wanted(entry.oldest_live) {
                continue;
            }
            let block = self.load_block(number, &mut reader)?;
            for index in 0..block.len() {
                let record = block.record(index).unwrap_or_default();
                if !visit(entry.first + index as u64, record)? {
                    return Ok(());
                }
            }
        }
        if !wanted(self.open_oldest) {
            return Ok(());
        }
        for (offset, range) in self.open_ranges.iter().enumerate() {
            let record = self.open_records.get(range.clone()).unwrap_or_default();
            if !visit(self.sealed_end + offset as u64, record)? {
                break;
            }
        }
        Ok(())
    }

    /// At most `limit` events holding a needle, by position, and whether there were more.
    pub(crate) fn subject_events(
        &self,
        needles: &Needles,
        limit: usize,
    ) -> Result<(Vec<SubjectEvent>, bool), StoreError> {
        let mut found = Vec::new();
        let mut truncated = false;
        if needles.is_empty() {
            return Ok((found, truncated));
        }
        self.visit_records(
            |_| true,
            |position, record| {
                if !needles.found_in(record) {
                    return Ok(true);
                }
                if found.len() >= limit {
                    truncated = true;
                    return Ok(false);
                }
                let event = frame::decode_record(record)
                    .map_err(|error| self.corrupt_at(position, &error.describe()))?;
                found.push(SubjectEvent {
                    position,
                    uid: match event.uid {
                        RecordUid::Text(uid) => uid.to_owned(),
                        RecordUid::Digest(digest) => format!("sha256:{}", hex(digest)),
                    },
                    time: event.time,
                    observed: event.observed,
                    source: event.source.to_owned(),
                    class: event.class.to_owned(),
                    person: event.person.map(str::to_owned),
                    late: event.late,
                    json: event.json.to_owned(),
                    erased: event.tombstone,
                });
                Ok(true)
            },
        )?;
        Ok((found, truncated))
    }

    /// Commits, then replaces every event holding a needle by a tombstone with `json`.
    /// Returns how many were replaced and how many of those lost their uid to its digest.
    pub(crate) fn erase(
        &mut self,
        needles: &Needles,
        json: &str,
    ) -> Result<(u64, u64), StoreError> {
        let mut erasure = Erasure {
            needles,
            json,
            digested: 0,
        };
        if needles.is_empty() {
            return Ok((0, 0));
        }
        let replaced = self.rewrite(&mut erasure, None)?;
        Ok((replaced, erasure.digested))
    }

    /// Tombstones (or with `dry_run` only counts) the events past their retention: one count
    /// per entry of the request's classes, then the count of other classes. A dry run reads
    /// the open block too and commits nothing.
    pub(crate) fn expire(
        &mut self,
        request: &RetentionRequest,
        dry_run: bool,
    ) -> Result<(Vec<u64>, u64), StoreError> {
        let mut expiry = Expiry::new(request);
        if dry_run {
            let latest = expiry.latest;
            self.visit_records(
                |oldest| oldest < latest,
                |position, record| {
                    expiry
                        .replacement(record)
                        .map_err(|error| self.corrupt_at(position, &error.describe()))?;
                    Ok(true)
                },
            )?;
        } else {
            self.rewrite(&mut expiry, None)?;
        }
        Ok((expiry.counts, expiry.other))
    }

    /// Commits, then rewrites every segment holding a record `visitor` replaces, one after
    /// the other; returns how many records were replaced. `stop_after` ends the run after
    /// that many segments were replaced, as a crash would (tests only).
    pub(super) fn rewrite(
        &mut self,
        visitor: &mut dyn RecordVisitor,
        stop_after: Option<usize>,
    ) -> Result<u64, StoreError> {
        self.commit()?;
        let mut replaced = 0;
        let mut swapped = 0;
        for segment in 0..self.segments.len() {
            if stop_after.is_some_and(|limit| swapped >= limit) {
                break;
            }
            let count = self.rewrite_segment(segment, visitor)?;
            if count > 0 {
                replaced += count;
                swapped += 1;
            }
        }
        Ok(replaced)
    }

    /// Replaces one segment by a copy with `visitor`'s replacements, if it has any; returns
    /// how many records were replaced.
    fn rewrite_segment(
        &mut self,
        segment: usize,
        visitor: &mut dyn RecordVisitor,
    ) -> Result<u64, StoreError> {
        let Some(path) = self.segments.get(segment).map(|found| found.path.clone()) else {
            return Ok(0);
        };
        let temporary = temporary_path(&path);
        let copy = match self.copy_segment(segment, &path, &temporary, visitor) {
            Ok(Some(copy)) => copy,
            Ok(None) => return Ok(0),
            Err(error) => {
                // The segment is untouched; a half-written copy goes.
                let _ = std::fs::remove_file(&temporary);
                return Err(error);
            }
        };
        if let Err(source) = std::fs::rename(&temporary, &path) {
            let _ = std::fs::remove_file(&temporary);
            return Err(StoreError::Io {
                action: "replace segment",
                path,
                source,
            });
        }
        // The file on disk is the new one now: the index must describe it, whatever follows.
        self.verify_cache = None;
        for place in copy.placed {
            if let Some(entry) = self.blocks.get_mut(place.number) {
                entry.offset = place.offset;
                entry.frame_len = place.frame_len;
                entry.oldest_live = place.oldest_live;
            }
        }
        if let Some(found) = self.segments.get_mut(segment) {
            found.file_len = copy.file_len;
        }
        for change in copy.changes {
            self.index.remove(change.digest, change.position);
            self.index.erased.insert(change.sha256, change.position);
        }
        let synced = sync_directory(&self.directory).and_then(|()| {
            if segment + 1 == self.segments.len() {
                // The old file is unlinked: appends must go to the new one.
                self.active = open_for_append(&path)?;
            }
            Ok(())
        });
        if let Err(error) = synced {
            self.broken = true;
            return Err(error);
        }
        Ok(copy.replaced)
    }

    /// Writes `segment` again to `temporary` with `visitor`'s replacements and syncs it;
    /// `None`, writing nothing, when nothing in it is replaced.
    fn copy_segment(
        &self,
        segment: usize,
        path: &Path,
        temporary: &Path,
        visitor: &mut dyn RecordVisitor,
    ) -> Result<Option<SegmentCopy>, StoreError> {
        // Blocks are in log order, so a segment's blocks are one run of them.
        let numbers = self.blocks.partition_point(|entry| entry.segment < segment)
            ..self
                .blocks
                .partition_point(|entry| entry.segment <= segment);
        let mut source =
            BufReader::new(File::open(path).map_err(StoreError::io("open segment", path))?);
        let mut output: Option<BufWriter<File>> = None;
        let mut copy = SegmentCopy {
            placed: Vec::with_capacity(numbers.len()),
            changes: Vec::new(),
            replaced: 0,
            file_len: SEGMENT_HEADER_BYTES,
        };
        let mut reader = None;
        for number in numbers {
            let entry = *self
                .blocks
                .get(number)
                .ok_or_else(|| corrupt(path, 0, "no such block"))?;
            let new_frame = if visitor.may_replace_in(entry.oldest_live) {
                let block = self.load_block(number, &mut reader)?;
                self.replace_in_block(&entry, &block, visitor, &mut copy.changes)?
            } else {
                None
            };
            let (frame_bytes, oldest_live) = match new_frame {
                Some((frame_bytes, oldest_live, count)) => {
                    copy.replaced += count;
                    (frame_bytes, oldest_live)
                }
                None if output.is_some() => {
                    (read_frame(&mut source, path, &entry)?, entry.oldest_live)
                }
                None => {
                    // Nothing changed yet: the block stays where it is.
                    copy.placed.push(Placed {
                        number,
                        offset: entry.offset,
                        frame_len: entry.frame_len,
                        oldest_live: entry.oldest_live,
                    });
                    copy.file_len = entry.offset + entry.frame_len;
                    continue;
                }
            };
            let output = match output.as_mut() {
                Some(output) => output,
                None => {
                    // The first change: everything before it goes over as it is.
                    let mut file = BufWriter::with_capacity(
                        1 << 20,
                        File::create(temporary)
                            .map_err(StoreError::io("create segment", temporary))?,
                    );
                    source
                        .seek(SeekFrom::Start(0))
                        .map_err(StoreError::io("seek in segment", path))?;
                    let copied = std::io::copy(&mut (&mut source).take(entry.offset), &mut file)
                        .map_err(StoreError::io("copy segment", path))?;
                    if copied != entry.offset {
                        return Err(corrupt(path, copied, "segment is shorter than its blocks"));
                    }
                    output.insert(file)
                }
            };
            output
                .write_all(&frame_bytes)
                .map_err(StoreError::io("write segment", temporary))?;
            let frame_len = frame_bytes.len() as u64;
            copy.placed.push(Placed {
                number,
                offset: copy.file_len,
                frame_len,
                oldest_live,
            });
            copy.file_len += frame_len;
        }
        let Some(mut output) = output else {
            return Ok(None);
        };
        output
            .flush()
            .map_err(StoreError::io("write segment", temporary))?;
        output
            .get_ref()
            .sync_all()
            .map_err(StoreError::io("sync segment", temporary))?;
        Ok(Some(copy))
    }

    /// The block's frame encoded again with `visitor`'s replacements, its earliest live time
    /// and how many records were replaced; `None` if nothing changes.
    fn replace_in_block(
        &self,
        entry: &BlockEntry,
        block: &frame::Block,
        visitor: &mut dyn RecordVisitor,
        changes: &mut Vec<UidChange>,
    ) -> Result<Option<(Vec<u8>, i64, u64)>, StoreError> {
        let mut replacements = Vec::new();
        for index in 0..block.len() {
            let record = block.record(index).unwrap_or_default();
            let position = entry.first + index as u64;
            let describe = |error: DecodeError| self.corrupt_at(position, &error.describe());
            if let Some(replacement) = visitor.replacement(record).map_err(describe)? {
                let old_uid = frame::decode_uid(record).map_err(describe)?;
                let new_uid = frame::decode_uid(replacement.get(4..).unwrap_or_default())
                    .map_err(describe)?;
                if let (RecordUid::Text(text), RecordUid::Digest(sha256)) = (old_uid, new_uid) {
                    changes.push(UidChange {
                        position,
                        digest: (self.uid_digest)(text),
                        sha256: *sha256,
                    });
                }
                replacements.push((index, replacement));
            }
        }
        if replacements.is_empty() {
            return Ok(None);
        }
        let count = replacements.len() as u64;
        let mut body = Vec::new();
        let mut oldest_live = i64::MAX;
        let mut pending = replacements.into_iter().peekable();
        for index in 0..block.len() {
            let start = body.len();
            match pending.next_if(|(at, _)| *at == index) {
                Some((_, replacement)) => body.extend_from_slice(&replacement),
                None => {
                    let record = block.record(index).unwrap_or_default();
                    body.extend_from_slice(&to_u32(record.len()).to_le_bytes());
                    body.extend_from_slice(record);
                }
            }
            let record = body.get(start + 4..).unwrap_or_default();
            let (_, time, tombstone) = frame::decode_head(record)
                .map_err(|error| self.corrupt_at(entry.first + index as u64, &error.describe()))?;
            if !tombstone {
                oldest_live = oldest_live.min(time.millis());
            }
        }
        // A block of many tiny events, each grown by a tombstone, could pass what a block may
        // hold once decoded; the reason's length limit keeps this from happening in practice.
        if body.len() > MAX_BLOCK_BYTES {
            return Err(StoreError::InvalidRequest {
                reason: format!(
                    "the tombstones would grow the block at log position {} past {MAX_BLOCK_BYTES} bytes; use a shorter reason",
                    entry.first
                ),
            });
        }
        let mut frame_bytes = Vec::new();
        frame::encode_block(&body, to_u32(block.len()), &mut frame_bytes);
        Ok(Some((frame_bytes, oldest_live, count)))
    }
}

/// Makes erased events tombstones: a needle in the uid leaves only the uid's SHA-256; one in
/// the source or class empties it.
struct Erasure<'a> {
    needles: &'a Needles,
    json: &'a str,
    digested: u64,
}

impl RecordVisitor for Erasure<'_> {
    fn may_replace_in(&self, _oldest_live: i64) -> bool {
        true
    }

    fn replacement(&mut self, record: &[u8]) -> Result<Option<Vec<u8>>, DecodeError> {
        if !self.needles.found_in(record) {
            return Ok(None);
        }
        let event = frame::decode_record(record)?;
        let digest;
        let uid = match event.uid {
            RecordUid::Text(text) if self.needles.found_in(text.as_bytes()) => {
                digest = frame::uid_sha256(text);
                RecordUid::Digest(&digest)
            }
            kept => kept,
        };
        let mut out = Vec::new();
        frame::encode_tombstone(
            &event,
            uid,
            cleaned(self.needles, event.source),
            cleaned(self.needles, event.class),
            self.json,
            &mut out,
        );
        if out.get(4..) == Some(record) {
            // A tombstone of this erasure already: nothing left to remove.
            return Ok(None);
        }
        if uid != event.uid {
            self.digested += 1;
        }
        Ok(Some(out))
    }
}

/// `text`, or nothing if it holds a needle.
fn cleaned<'t>(needles: &Needles, text: &'t str) -> &'t str {
    if needles.found_in(text.as_bytes()) {
        ""
    } else {
        text
    }
}

/// Makes events past their retention tombstones, counting them by the request's entries.
struct Expiry<'a> {
    cutoffs: std::collections::HashMap<&'a str, (usize, i64)>,
    other_before: Option<i64>,
    latest: i64,
    json: String,
    counts: Vec<u64>,
    other: u64,
}

impl<'a> Expiry<'a> {
    fn new(request: &'a RetentionRequest) -> Expiry<'a> {
        let mut cutoffs = std::collections::HashMap::new();
        for (entry, (classes, before)) in request.events_before.iter().enumerate() {
            for class in classes {
                cutoffs
                    .entry(class.as_str())
                    .or_insert((entry, before.millis()));
            }
        }
        Expiry {
            cutoffs,
            other_before: request.other_events_before.map(|before| before.millis()),
            latest: request
                .latest_event_cutoff()
                .map_or(i64::MIN, |before| before.millis()),
            json: retention_tombstone(),
            counts: vec![0; request.events_before.len()],
            other: 0,
        }
    }
}

impl RecordVisitor for Expiry<'_> {
    fn may_replace_in(&self, oldest_live: i64) -> bool {
        oldest_live < self.latest
    }

    fn replacement(&mut self, record: &[u8]) -> Result<Option<Vec<u8>>, DecodeError> {
        let (_, time, tombstone) = frame::decode_head(record)?;
        if tombstone || time.millis() >= self.latest {
            return Ok(None);
        }
        let event = frame::decode_record(record)?;
        let (entry, before) = match self.cutoffs.get(event.class) {
            Some((entry, before)) => (Some(*entry), Some(*before)),
            None => (None, self.other_before),
        };
        if before.is_none_or(|before| event.time.millis() >= before) {
            return Ok(None);
        }
        match entry.and_then(|entry| self.counts.get_mut(entry)) {
            Some(count) => *count += 1,
            None => self.other += 1,
        }
        let mut out = Vec::new();
        frame::encode_tombstone(
            &event,
            event.uid,
            event.source,
            event.class,
            &self.json,
            &mut out,
        );
        Ok(Some(out))
    }
}

/// Reads a sealed block's frame as it is on disk, checked against its CRC.
fn read_frame(
    source: &mut BufReader<File>,
    path: &Path,
    entry: &BlockEntry,
) -> Result<Vec<u8>, StoreError> {
    source
        .seek(SeekFrom::Start(entry.offset))
        .map_err(StoreError::io("seek in segment", path))?;
    let mut bytes = vec![0; to_index(entry.frame_len)];
    source
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
    Ok(bytes)
}

fn temporary_path(segment: &Path) -> PathBuf {
    segment.with_extension(REWRITE_SUFFIX.trim_start_matches('.'))
}

/// Deletes what a rewrite interrupted by a crash left: the segment it replaces is intact.
pub(super) fn remove_leftovers(directory: &Path) -> Result<(), StoreError> {
    let entries =
        std::fs::read_dir(directory).map_err(StoreError::io("list directory", directory))?;
    let mut removed = false;
    for entry in entries {
        let entry = entry.map_err(StoreError::io("list directory", directory))?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|name| name.ends_with(REWRITE_SUFFIX))
        {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(StoreError::io("remove", &path))?;
            removed = true;
        }
    }
    if removed {
        sync_directory(directory)?;
    }
    Ok(())
}

fn to_u32(length: usize) -> u32 {
    u32::try_from(length).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use seam_model::Ts;

    use super::*;
    use crate::StoredEvent;

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

    fn needles(list: &[&str]) -> Needles {
        Needles::new(&list.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    const TOMBSTONE: &str = r#"{"erased":true,"reason":"test"}"#;

    /// Six events in six segments, the even ones naming Ann (in the uid for 0 and 4).
    fn log_of_six(directory: &Path, uid_digest: fn(&str) -> u64) -> EventLog {
        let mut log = EventLog::open_with_digest(directory, 64, uid_digest).unwrap();
        for (uid, json) in [
            ("ann-0", "x"),
            ("b-1", "x"),
            ("c-2", "ann"),
            ("d-3", "x"),
            ("ann-4", "x"),
            ("f-5", "x"),
        ] {
            log.append(&[event(uid, json)]).unwrap();
            log.commit().unwrap();
        }
        assert_eq!(log.segments.len(), 6);
        log
    }

    fn read_all(log: &EventLog) -> Vec<String> {
        log.read(0, usize::MAX).unwrap().0
    }

    #[test]
    fn an_erasure_cut_short_leaves_a_readable_log_and_completes_when_run_again() {
        let directory = tempfile::tempdir().unwrap();
        let mut log = log_of_six(directory.path(), super::super::uid_digest);
        let mut erasure = Erasure {
            needles: &needles(&["ann"]),
            json: TOMBSTONE,
            digested: 0,
        };
        // A crash after the first segment was swapped, with the second one half written.
        assert_eq!(log.rewrite(&mut erasure, Some(1)).unwrap(), 1);
        let half_written = temporary_path(&log.segments[2].path);
        std::fs::write(&half_written, b"SEAMLOG1 torn").unwrap();
        drop(log);

        let mut log = EventLog::open(directory.path(), 64).unwrap();
        assert!(!half_written.exists(), "opening removes the leftover copy");
        assert_eq!(log.recovery(), None);
        assert_eq!(read_all(&log), [TOMBSTONE, "x", "ann", "x", "x", "x"]);
        let (erased, digested) = log.erase(&needles(&["ann"]), TOMBSTONE).unwrap();
        assert_eq!(
            (erased, digested),
            (2, 1),
            "only what the first run had not reached"
        );
        assert_eq!(
            read_all(&log),
            [TOMBSTONE, "x", TOMBSTONE, "x", TOMBSTONE, "x"]
        );
        let outcome = log
            .append(&[
                event("ann-0", "again"),
                event("ann-4", "again"),
                event("g", "y"),
            ])
            .unwrap();
        assert_eq!(outcome.duplicate_indices, [0, 1]);
        log.commit().unwrap();
        drop(log);

        let mut log = EventLog::open(directory.path(), 64).unwrap();
        assert_eq!(log.end(), 7);
        let outcome = log
            .append(&[
                event("ann-0", "again"),
                event("ann-4", "again"),
                event("c-2", "z"),
            ])
            .unwrap();
        assert_eq!(
            outcome.inserted, 0,
            "digested and kept uids stay duplicates"
        );
    }

    #[test]
    fn erasing_uids_that_share_a_digest_keeps_the_others_deduplicated() {
        let directory = tempfile::tempdir().unwrap();
        let every_uid_collides: fn(&str) -> u64 = |_| 7;
        let mut log = log_of_six(directory.path(), every_uid_collides);
        assert_eq!(log.erase(&needles(&["ann"]), TOMBSTONE).unwrap(), (3, 2));
        for uid in ["ann-0", "b-1", "c-2", "d-3", "ann-4", "f-5"] {
            let outcome = log.append(&[event(uid, "again")]).unwrap();
            assert_eq!(outcome.inserted, 0, "{uid}");
        }
        assert_eq!(log.append(&[event("new", "n")]).unwrap().inserted, 1);
        log.commit().unwrap();
        drop(log);
        let mut log = EventLog::open_with_digest(directory.path(), 64, every_uid_collides).unwrap();
        for uid in ["ann-0", "b-1", "ann-4", "new"] {
            assert_eq!(
                log.append(&[event(uid, "again")]).unwrap().inserted,
                0,
                "{uid}"
            );
        }
    }

    #[test]
    fn a_rewrite_of_the_last_segment_keeps_appends_going_to_it() {
        let directory = tempfile::tempdir().unwrap();
        let mut log = EventLog::open(directory.path(), 1 << 20).unwrap();
        log.append(&[event("a", "ann"), event("b", "x")]).unwrap();
        log.commit().unwrap();
        log.append(&[event("c", "ann")]).unwrap();
        assert_eq!(log.erase(&needles(&["ann"]), TOMBSTONE).unwrap(), (2, 0));
        log.append(&[event("d", "after")]).unwrap();
        log.commit().unwrap();
        assert_eq!(log.segments.len(), 1);
        drop(log);
        let log = EventLog::open(directory.path(), 1 << 20).unwrap();
        assert_eq!(read_all(&log), [TOMBSTONE, "x", TOMBSTONE, "after"]);
        assert_eq!(log.blocks.len(), 3);
    }

    #[test]
    fn retention_skips_blocks_with_nothing_to_expire() {
        let directory = tempfile::tempdir().unwrap();
        let mut log = EventLog::open(directory.path(), 64).unwrap();
        for time in [10, 20, 30] {
            log.append(&[StoredEvent {
                time: Ts::from_millis(time),
                ..event(&format!("e{time}"), "x")
            }])
            .unwrap();
            log.commit().unwrap();
        }
        let request = RetentionRequest {
            other_events_before: Some(Ts::from_millis(15)),
            ..RetentionRequest::default()
        };
        assert_eq!(log.expire(&request, false).unwrap(), (vec![], 1));
        assert_eq!(log.blocks[0].oldest_live, i64::MAX);
        assert_eq!(log.blocks[2].oldest_live, 30);
        // Damage the last block: a run that read it would fail its checksum.
        let last = log_files(directory.path()).pop().unwrap();
        let mut bytes = std::fs::read(&last).unwrap();
        *bytes.last_mut().unwrap() ^= 0xff;
        std::fs::write(&last, bytes).unwrap();
        assert_eq!(log.expire(&request, false).unwrap(), (vec![], 0));
        let later = RetentionRequest {
            other_events_before: Some(Ts::from_millis(25)),
            ..RetentionRequest::default()
        };
        assert_eq!(log.expire(&later, true).unwrap(), (vec![], 1));
        assert!(log.expire(&later, false).is_ok());
        let all = RetentionRequest {
            other_events_before: Some(Ts::from_millis(35)),
            ..RetentionRequest::default()
        };
        assert!(
            matches!(
                log.expire(&all, true),
                Err(StoreError::CorruptSegment { .. })
            ),
            "the damaged block is read once it may hold something to expire"
        );
    }

    fn log_files(directory: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(directory)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        files
    }
}
