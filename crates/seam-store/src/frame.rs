//! The event log's bytes: frames that hold blocks that hold event records.
//!
//! A frame is `length:u32 | crc32:u32 | payload`, little-endian; the checksum covers the length
//! bytes and the payload, so a torn or flipped length is caught as surely as a torn payload.
//! The payload is one block: `encoding:u8 | count:u32 | raw_length:u32 | body`, where the body,
//! once decoded (stored as is, or LZ4-compressed), is `count` records of
//! `record_length:u32 | record`. A record starts with a kind byte so that the format can grow:
//! kind 1 is an event, kind 2 the tombstone an erased or expired event leaves at its position.

use std::ops::Range;

use seam_model::Ts;

use crate::{StoreError, StoredEvent};

/// Bytes before a frame's payload: the length and the checksum.
pub(crate) const HEADER_BYTES: usize = 8;
/// The largest event record accepted.
pub(crate) const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;
/// A block is sealed once its records reach this size; larger blocks compress little better
/// and cost more to decode for one event.
pub(crate) const BLOCK_TARGET_BYTES: usize = 1024 * 1024;
/// The largest decoded block: a full block plus one largest record, with room to spare. It
/// bounds every allocation a corrupt length could ask for.
pub(crate) const MAX_BLOCK_BYTES: usize = 2 * MAX_RECORD_BYTES;
const BLOCK_HEADER_BYTES: usize = 9;
/// The largest frame payload: a block stored as is.
pub(crate) const MAX_PAYLOAD_BYTES: usize = BLOCK_HEADER_BYTES + MAX_BLOCK_BYTES;
/// The largest uid, source, class or person: their lengths are stored as `u16`.
pub(crate) const MAX_FIELD_BYTES: usize = u16::MAX as usize;

const ENCODING_STORED: u8 = 0;
const ENCODING_LZ4: u8 = 1;
const KIND_EVENT_V1: u8 = 1;
/// An event whose content was erased: its place in the log, its times, source and class, and
/// its uid or only the uid's SHA-256, with a tombstone for JSON. A build that does not know the
/// kind refuses to open the log rather than read a tombstone as an event.
const KIND_TOMBSTONE_V1: u8 = 2;
const TOMBSTONE_UID_TEXT: u8 = 0;
const TOMBSTONE_UID_DIGEST: u8 = 1;
const FLAG_LATE: u8 = 0b01;
const FLAG_PERSON: u8 = 0b10;

/// Why bytes that passed their checksum could still not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    UnknownEncoding(u8),
    UnknownKind(u8),
    Truncated,
    NotUtf8,
    Decompression,
    TooLarge,
}

impl DecodeError {
    pub(crate) fn describe(self) -> String {
        match self {
            DecodeError::UnknownEncoding(encoding) => format!("unknown block encoding {encoding}"),
            DecodeError::UnknownKind(kind) => format!("unknown record kind {kind}"),
            DecodeError::Truncated => "record shorter than its fields say".to_owned(),
            DecodeError::NotUtf8 => "text field is not UTF-8".to_owned(),
            DecodeError::Decompression => "block does not decompress".to_owned(),
            DecodeError::TooLarge => "block is larger than the limit".to_owned(),
        }
    }
}

/// The record length of `event` (its length prefix excluded), after checking every limit.
pub(crate) fn checked_record_len(event: &StoredEvent<'_>) -> Result<usize, StoreError> {
    let mut fields = vec![
        ("uid", event.uid),
        ("source", event.source),
        ("class", event.class),
    ];
    if let Some(person) = event.person {
        fields.push(("person", person));
    }
    for (field, text) in fields {
        if text.len() > MAX_FIELD_BYTES {
            return Err(StoreError::FieldTooLong {
                uid: shorten(event.uid),
                field,
                bytes: text.len(),
                limit: MAX_FIELD_BYTES,
            });
        }
    }
    let length = record_len(event);
    if length > MAX_RECORD_BYTES {
        return Err(StoreError::EventTooLarge {
            uid: shorten(event.uid),
            bytes: length,
            limit: MAX_RECORD_BYTES,
        });
    }
    Ok(length)
}

fn record_len(event: &StoredEvent<'_>) -> usize {
    let person = event.person.map_or(0, |person| 2 + person.len());
    1 + (2 + event.uid.len())
        + 8
        + 8
        + 1
        + (2 + event.source.len())
        + (2 + event.class.len())
        + person
        + event.json.len()
}

/// Appends `event` as a length-prefixed record. Call [`checked_record_len`] first: the field
/// lengths are assumed to fit.
pub(crate) fn encode_record(event: &StoredEvent<'_>, out: &mut Vec<u8>) {
    let length = record_len(event);
    out.reserve(4 + length);
    out.extend_from_slice(&to_u32(length).to_le_bytes());
    let start = out.len();
    out.push(KIND_EVENT_V1);
    put_text(out, event.uid);
    out.extend_from_slice(&event.time.millis().to_le_bytes());
    out.extend_from_slice(&event.observed.millis().to_le_bytes());
    let mut flags = 0;
    if event.late {
        flags |= FLAG_LATE;
    }
    if event.person.is_some() {
        flags |= FLAG_PERSON;
    }
    out.push(flags);
    put_text(out, event.source);
    put_text(out, event.class);
    if let Some(person) = event.person {
        put_text(out, person);
    }
    out.extend_from_slice(event.json.as_bytes());
    debug_assert_eq!(out.len() - start, length);
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    let length = u16::try_from(text.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// Lengths here are bounded by the limits above, far below `u32::MAX`.
fn to_u32(length: usize) -> u32 {
    u32::try_from(length).unwrap_or(u32::MAX)
}

/// Appends one frame holding `count` length-prefixed `records`, compressed when that helps.
pub(crate) fn encode_block(records: &[u8], count: u32, out: &mut Vec<u8>) {
    let start = out.len();
    let body_start = start + HEADER_BYTES + BLOCK_HEADER_BYTES;
    // Compress straight into `out`; fall back to the records as they are if that is no smaller.
    out.resize(
        body_start + lz4_flex::block::get_maximum_output_size(records.len()),
        0,
    );
    let compressed = out
        .get_mut(body_start..)
        .and_then(|body| lz4_flex::block::compress_into(records, body).ok())
        .filter(|compressed| *compressed < records.len());
    let encoding = match compressed {
        Some(compressed) => {
            out.truncate(body_start + compressed);
            ENCODING_LZ4
        }
        None => {
            out.truncate(body_start);
            out.extend_from_slice(records);
            ENCODING_STORED
        }
    };
    let payload_len = out.len() - start - HEADER_BYTES;
    let length_bytes = to_u32(payload_len).to_le_bytes();
    let mut headers = Vec::with_capacity(HEADER_BYTES + BLOCK_HEADER_BYTES);
    headers.extend_from_slice(&length_bytes);
    headers.extend_from_slice(&[0; 4]); // the checksum, once the payload is complete
    headers.push(encoding);
    headers.extend_from_slice(&count.to_le_bytes());
    headers.extend_from_slice(&to_u32(records.len()).to_le_bytes());
    if let Some(slot) = out.get_mut(start..body_start) {
        slot.copy_from_slice(&headers);
    }
    let checksum = checksum(
        &length_bytes,
        out.get(start + HEADER_BYTES..).unwrap_or_default(),
    );
    if let Some(slot) = out.get_mut(start + 4..start + HEADER_BYTES) {
        slot.copy_from_slice(&checksum.to_le_bytes());
    }
}

pub(crate) fn checksum(length: &[u8; 4], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(length);
    hasher.update(payload);
    hasher.finalize()
}

/// The payload length and checksum stored in a frame header.
pub(crate) fn read_header(header: &[u8; HEADER_BYTES]) -> (usize, u32) {
    let [l0, l1, l2, l3, c0, c1, c2, c3] = *header;
    let length = u32::from_le_bytes([l0, l1, l2, l3]);
    let checksum = u32::from_le_bytes([c0, c1, c2, c3]);
    (usize::try_from(length).unwrap_or(usize::MAX), checksum)
}

/// Whether `payload` is what the header promised.
pub(crate) fn verify(header: &[u8; HEADER_BYTES], payload: &[u8]) -> bool {
    let (_, stored_checksum) = read_header(header);
    let length_bytes = header.first_chunk::<4>().copied().unwrap_or_default();
    checksum(&length_bytes, payload) == stored_checksum
}

/// A block's records, decoded; `ranges` locate each record in `body`.
#[derive(Debug, Default)]
pub(crate) struct Block {
    body: Vec<u8>,
    ranges: Vec<Range<usize>>,
}

impl Block {
    pub(crate) fn len(&self) -> usize {
        self.ranges.len()
    }

    pub(crate) fn record(&self, index: usize) -> Option<&[u8]> {
        self.body.get(self.ranges.get(index)?.clone())
    }
}

/// Decodes the block in a frame payload whose checksum matched.
pub(crate) fn decode_block(payload: &[u8]) -> Result<Block, DecodeError> {
    let mut cursor = Cursor { rest: payload };
    let encoding = cursor.byte()?;
    let count = usize::try_from(cursor.u32()?).map_err(|_| DecodeError::TooLarge)?;
    let raw_len = usize::try_from(cursor.u32()?).map_err(|_| DecodeError::TooLarge)?;
    if raw_len > MAX_BLOCK_BYTES {
        return Err(DecodeError::TooLarge);
    }
    let body = match encoding {
        ENCODING_STORED => cursor.rest.to_vec(),
        ENCODING_LZ4 => lz4_flex::block::decompress(cursor.rest, raw_len)
            .map_err(|_| DecodeError::Decompression)?,
        other => return Err(DecodeError::UnknownEncoding(other)),
    };
    if body.len() != raw_len {
        return Err(DecodeError::Truncated);
    }
    let ranges = split_records(&body, count)?;
    Ok(Block { body, ranges })
}

/// Where each of `count` length-prefixed records sits in `body`, which they must fill exactly.
pub(crate) fn split_records(body: &[u8], count: usize) -> Result<Vec<Range<usize>>, DecodeError> {
    // Every record takes at least its four length bytes, which bounds a corrupt count.
    if count > body.len() / 4 {
        return Err(DecodeError::Truncated);
    }
    let mut ranges = Vec::with_capacity(count);
    let mut offset = 0;
    for _ in 0..count {
        let length_bytes = body.get(offset..offset + 4).ok_or(DecodeError::Truncated)?;
        let length = u32::from_le_bytes(
            length_bytes
                .try_into()
                .map_err(|_| DecodeError::Truncated)?,
        );
        let start = offset + 4;
        let end = start.checked_add(usize::try_from(length).map_err(|_| DecodeError::TooLarge)?);
        let end = end
            .filter(|end| *end <= body.len())
            .ok_or(DecodeError::Truncated)?;
        ranges.push(start..end);
        offset = end;
    }
    if offset != body.len() {
        return Err(DecodeError::Truncated);
    }
    Ok(ranges)
}

/// How a record names its event: by uid, or, for an event erased because its uid named a
/// person, by the SHA-256 of the uid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordUid<'a> {
    Text(&'a str),
    Digest(&'a [u8; 32]),
}

impl RecordUid<'_> {
    /// Whether this names the event with `uid`.
    pub(crate) fn is(&self, uid: &str) -> bool {
        match self {
            RecordUid::Text(text) => *text == uid,
            RecordUid::Digest(digest) => **digest == uid_sha256(uid),
        }
    }
}

/// The SHA-256 of a uid, which a tombstone keeps in place of a uid that named a person.
pub(crate) fn uid_sha256(uid: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(uid.as_bytes()).into()
}

/// A record of either kind, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record<'a> {
    pub(crate) uid: RecordUid<'a>,
    pub(crate) time: Ts,
    pub(crate) observed: Ts,
    pub(crate) late: bool,
    pub(crate) source: &'a str,
    pub(crate) class: &'a str,
    pub(crate) person: Option<&'a str>,
    pub(crate) json: &'a str,
    pub(crate) tombstone: bool,
}

/// Reads an event back from an event record; test code checks round trips with it.
#[cfg(test)]
pub(crate) fn decode_event(record: &[u8]) -> Result<StoredEvent<'_>, DecodeError> {
    let decoded = decode_record(record)?;
    match decoded.uid {
        RecordUid::Text(uid) if !decoded.tombstone => Ok(StoredEvent {
            uid,
            time: decoded.time,
            observed: decoded.observed,
            source: decoded.source,
            class: decoded.class,
            person: decoded.person,
            late: decoded.late,
            json: decoded.json,
        }),
        _ => Err(DecodeError::UnknownKind(KIND_TOMBSTONE_V1)),
    }
}

/// Reads a record of either kind.
pub(crate) fn decode_record(record: &[u8]) -> Result<Record<'_>, DecodeError> {
    let mut cursor = Cursor { rest: record };
    let (uid, tombstone) = cursor.kind_and_uid()?;
    let time = Ts::from_millis(cursor.i64()?);
    let observed = Ts::from_millis(cursor.i64()?);
    let flags = cursor.byte()?;
    let source = cursor.text()?;
    let class = cursor.text()?;
    let person = if !tombstone && flags & FLAG_PERSON != 0 {
        Some(cursor.text()?)
    } else {
        None
    };
    let json = std::str::from_utf8(cursor.rest).map_err(|_| DecodeError::NotUtf8)?;
    Ok(Record {
        uid,
        time,
        observed,
        late: flags & FLAG_LATE != 0,
        source,
        class,
        person,
        json,
        tombstone,
    })
}

/// What a scan by time and person needs of a record.
pub(crate) struct ScanView<'a> {
    pub(crate) time: Ts,
    pub(crate) tombstone: bool,
    pub(crate) person: Option<&'a str>,
    /// Unchecked: a scan checks it only for the records it keeps.
    pub(crate) json: &'a [u8],
}

/// Reads what a scan by time and person needs, the JSON left unchecked.
pub(crate) fn decode_for_scan(record: &[u8]) -> Result<ScanView<'_>, DecodeError> {
    let mut cursor = Cursor { rest: record };
    let (_, tombstone) = cursor.kind_and_uid()?;
    let time = Ts::from_millis(cursor.i64()?);
    let _observed = cursor.i64()?;
    let flags = cursor.byte()?;
    let _source = cursor.text()?;
    let _class = cursor.text()?;
    let person = if !tombstone && flags & FLAG_PERSON != 0 {
        Some(cursor.text()?)
    } else {
        None
    };
    Ok(ScanView {
        time,
        tombstone,
        person,
        json: cursor.rest,
    })
}

/// Reads only the uid, for the duplicate check.
pub(crate) fn decode_uid(record: &[u8]) -> Result<RecordUid<'_>, DecodeError> {
    Cursor { rest: record }.kind_and_uid().map(|(uid, _)| uid)
}

/// What opening the log needs of every record, without checking the JSON: the uid, the time,
/// and whether it is a tombstone.
pub(crate) fn decode_head(record: &[u8]) -> Result<(RecordUid<'_>, Ts, bool), DecodeError> {
    let mut cursor = Cursor { rest: record };
    let (uid, tombstone) = cursor.kind_and_uid()?;
    let time = Ts::from_millis(cursor.i64()?);
    Ok((uid, time, tombstone))
}

/// Appends a length-prefixed tombstone record for `record`: the same times and late flag, the
/// given uid, source, class and JSON, no person. The fields come from a stored record, so they
/// fit their length prefixes; a caller-made JSON is short.
pub(crate) fn encode_tombstone(
    record: &Record<'_>,
    uid: RecordUid<'_>,
    source: &str,
    class: &str,
    json: &str,
    out: &mut Vec<u8>,
) {
    let uid_len = match uid {
        RecordUid::Text(text) => 2 + text.len(),
        RecordUid::Digest(digest) => digest.len(),
    };
    let length = 2 + uid_len + 8 + 8 + 1 + (2 + source.len()) + (2 + class.len()) + json.len();
    out.reserve(4 + length);
    out.extend_from_slice(&to_u32(length).to_le_bytes());
    out.push(KIND_TOMBSTONE_V1);
    match uid {
        RecordUid::Text(text) => {
            out.push(TOMBSTONE_UID_TEXT);
            put_text(out, text);
        }
        RecordUid::Digest(digest) => {
            out.push(TOMBSTONE_UID_DIGEST);
            out.extend_from_slice(digest);
        }
    }
    out.extend_from_slice(&record.time.millis().to_le_bytes());
    out.extend_from_slice(&record.observed.millis().to_le_bytes());
    out.push(if record.late { FLAG_LATE } else { 0 });
    put_text(out, source);
    put_text(out, class);
    out.extend_from_slice(json.as_bytes());
}

struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, count: usize) -> Result<&'a [u8], DecodeError> {
        let (taken, rest) = self
            .rest
            .split_at_checked(count)
            .ok_or(DecodeError::Truncated)?;
        self.rest = rest;
        Ok(taken)
    }

    /// The kind byte and the uid after it; whether the record is a tombstone.
    fn kind_and_uid(&mut self) -> Result<(RecordUid<'a>, bool), DecodeError> {
        match self.byte()? {
            KIND_EVENT_V1 => Ok((RecordUid::Text(self.text()?), false)),
            KIND_TOMBSTONE_V1 => match self.byte()? {
                TOMBSTONE_UID_TEXT => Ok((RecordUid::Text(self.text()?), true)),
                TOMBSTONE_UID_DIGEST => {
                    let (digest, rest) = self
                        .rest
                        .split_first_chunk::<32>()
                        .ok_or(DecodeError::Truncated)?;
                    self.rest = rest;
                    Ok((RecordUid::Digest(digest), true))
                }
                other => Err(DecodeError::UnknownKind(other)),
            },
            other => Err(DecodeError::UnknownKind(other)),
        }
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        let (first, rest) = self.rest.split_first().ok_or(DecodeError::Truncated)?;
        self.rest = rest;
        Ok(*first)
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        let (bytes, rest) = self
            .rest
            .split_first_chunk::<4>()
            .ok_or(DecodeError::Truncated)?;
        self.rest = rest;
        Ok(u32::from_le_bytes(*bytes))
    }

    fn i64(&mut self) -> Result<i64, DecodeError> {
        let (bytes, rest) = self
            .rest
            .split_first_chunk::<8>()
            .ok_or(DecodeError::Truncated)?;
        self.rest = rest;
        Ok(i64::from_le_bytes(*bytes))
    }

    fn text(&mut self) -> Result<&'a str, DecodeError> {
        let (length, rest) = self
            .rest
            .split_first_chunk::<2>()
            .ok_or(DecodeError::Truncated)?;
        self.rest = rest;
        let bytes = self.take(usize::from(u16::from_le_bytes(*length)))?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::NotUtf8)
    }
}

/// Error messages quote the uid; a pathological one must not flood a log line.
pub(crate) fn shorten(text: &str) -> String {
    const KEEP: usize = 96;
    if text.len() <= KEEP {
        return text.to_owned();
    }
    let mut cut = KEEP;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", text.get(..cut).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn sample() -> StoredEvent<'static> {
        StoredEvent {
            uid: "evt-1",
            time: Ts::from_millis(1_700_000_000_000),
            observed: Ts::from_millis(1_700_000_000_250),
            source: "pacs",
            class: "access_granted",
            person: Some("p-42"),
            late: true,
            json: r#"{"a":1}"#,
        }
    }

    /// A frame's payload, checked against its header.
    fn payload_of(frame: &[u8]) -> &[u8] {
        let header = frame.first_chunk::<HEADER_BYTES>().unwrap();
        let (length, _) = read_header(header);
        let payload = &frame[HEADER_BYTES..];
        assert_eq!(payload.len(), length);
        assert!(verify(header, payload));
        payload
    }

    fn block_of(events: &[StoredEvent<'_>]) -> Vec<u8> {
        let mut records = Vec::new();
        for event in events {
            checked_record_len(event).unwrap();
            encode_record(event, &mut records);
        }
        let mut frame = Vec::new();
        encode_block(&records, events.len() as u32, &mut frame);
        frame
    }

    #[test]
    fn a_block_decodes_to_its_events() {
        let second = StoredEvent {
            uid: "evt-2",
            person: None,
            late: false,
            ..sample()
        };
        let frame = block_of(&[sample(), second]);
        let block = decode_block(payload_of(&frame)).unwrap();
        assert_eq!(block.len(), 2);
        assert_eq!(decode_event(block.record(0).unwrap()).unwrap(), sample());
        assert_eq!(decode_event(block.record(1).unwrap()).unwrap(), second);
        assert_eq!(
            decode_uid(block.record(1).unwrap()).unwrap(),
            RecordUid::Text("evt-2")
        );
        assert_eq!(block.record(2), None);
    }

    #[test]
    fn repetitive_blocks_are_compressed_and_others_stored() {
        let events: Vec<StoredEvent<'_>> = (0..100).map(|_| sample()).collect();
        let frame = block_of(&events);
        assert_eq!(payload_of(&frame)[0], ENCODING_LZ4);
        assert!(
            frame.len() < 100 * 30,
            "compressed to {} bytes",
            frame.len()
        );
        assert_eq!(decode_block(payload_of(&frame)).unwrap().len(), 100);

        let tiny = StoredEvent {
            uid: "u",
            time: Ts::from_millis(0x0102_0304_0506_0708),
            observed: Ts::from_millis(-0x1122_3344_5566_7788),
            source: "",
            class: "",
            person: None,
            late: false,
            json: "0123456789abcdef",
        };
        let frame = block_of(&[tiny]);
        assert_eq!(payload_of(&frame)[0], ENCODING_STORED);
        assert_eq!(
            decode_event(decode_block(payload_of(&frame)).unwrap().record(0).unwrap()).unwrap(),
            tiny
        );
    }

    #[test]
    fn a_flipped_bit_anywhere_fails_the_checksum() {
        let frame = block_of(&[sample()]);
        for index in 0..frame.len() {
            for bit in 0..8 {
                let mut damaged = frame.clone();
                damaged[index] ^= 1 << bit;
                let header = damaged.first_chunk::<HEADER_BYTES>().unwrap();
                let (length, _) = read_header(header);
                let intact = length == damaged.len() - HEADER_BYTES
                    && verify(header, &damaged[HEADER_BYTES..]);
                assert!(!intact, "flip of bit {bit} at byte {index} went unnoticed");
            }
        }
    }

    #[test]
    fn malformed_blocks_are_errors() {
        assert_eq!(decode_block(&[]).unwrap_err(), DecodeError::Truncated);
        assert_eq!(
            decode_block(&[7, 1, 0, 0, 0, 0, 0, 0, 0]).unwrap_err(),
            DecodeError::UnknownEncoding(7)
        );
        let huge = [ENCODING_LZ4, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f];
        assert_eq!(decode_block(&huge).unwrap_err(), DecodeError::TooLarge);
        // A count larger than the body can hold, and records that do not fill the body.
        assert_eq!(
            split_records(&[0, 0, 0, 0], 2).unwrap_err(),
            DecodeError::Truncated
        );
        assert_eq!(
            split_records(&[1, 0, 0, 0, 9, 9], 1).unwrap_err(),
            DecodeError::Truncated
        );
        assert_eq!(split_records(&[1, 0, 0, 0, 9], 1).unwrap(), vec![4..5]);
    }

    #[test]
    fn limits_are_checked_before_encoding() {
        let long = "x".repeat(MAX_FIELD_BYTES + 1);
        let event = StoredEvent {
            source: &long,
            ..sample()
        };
        assert!(matches!(
            checked_record_len(&event),
            Err(StoreError::FieldTooLong {
                field: "source",
                ..
            })
        ));
        let huge = "y".repeat(MAX_RECORD_BYTES);
        let event = StoredEvent {
            json: &huge,
            ..sample()
        };
        assert!(matches!(
            checked_record_len(&event),
            Err(StoreError::EventTooLarge { .. })
        ));
    }

    #[test]
    fn a_tombstone_keeps_the_position_facts_and_either_uid_form() {
        let mut records = Vec::new();
        encode_record(&sample(), &mut records);
        let event = decode_record(&records[4..]).unwrap();
        assert!(!event.tombstone);
        let digest = uid_sha256("evt-1");
        for uid in [RecordUid::Text("evt-1"), RecordUid::Digest(&digest)] {
            let mut body = Vec::new();
            encode_tombstone(&event, uid, "pacs", "", r#"{"erased":true}"#, &mut body);
            let ranges = split_records(&body, 1).unwrap();
            let tombstone = decode_record(&body[ranges[0].clone()]).unwrap();
            assert_eq!(
                tombstone,
                Record {
                    uid,
                    class: "",
                    person: None,
                    json: r#"{"erased":true}"#,
                    tombstone: true,
                    ..event
                }
            );
            assert!(tombstone.uid.is("evt-1"));
            assert!(!tombstone.uid.is("evt-2"));
            let (head_uid, time, is_tombstone) = decode_head(&body[ranges[0].clone()]).unwrap();
            assert_eq!((head_uid, time, is_tombstone), (uid, event.time, true));
        }
        assert!(
            decode_event(&{
                let mut body = Vec::new();
                encode_tombstone(&event, RecordUid::Text("x"), "", "", "{}", &mut body);
                body.split_off(4)
            })
            .is_err()
        );
    }

    #[test]
    fn an_unknown_record_kind_is_reported() {
        assert_eq!(decode_event(&[9, 0, 0]), Err(DecodeError::UnknownKind(9)));
        assert_eq!(decode_uid(&[]), Err(DecodeError::Truncated));
    }

    #[test]
    fn shorten_keeps_char_boundaries() {
        let text = "é".repeat(100);
        let short = shorten(&text);
        assert!(short.ends_with("..."));
        assert!(short.len() < text.len());
        assert_eq!(shorten("short"), "short");
    }

    proptest! {
        #[test]
        fn any_event_round_trips(
            uid in ".{0,40}",
            time in any::<i64>(),
            observed in any::<i64>(),
            source in ".{0,20}",
            class in ".{0,20}",
            person in proptest::option::of(".{0,20}"),
            late in any::<bool>(),
            json in ".{0,200}",
            copies in 1usize..4,
        ) {
            let event = StoredEvent {
                uid: &uid,
                time: Ts::from_millis(time),
                observed: Ts::from_millis(observed),
                source: &source,
                class: &class,
                person: person.as_deref(),
                late,
                json: &json,
            };
            let frame = block_of(&vec![event; copies]);
            let block = decode_block(payload_of(&frame)).unwrap();
            prop_assert_eq!(block.len(), copies);
            for index in 0..copies {
                prop_assert_eq!(decode_event(block.record(index).unwrap()).unwrap(), event);
            }
        }

        #[test]
        fn arbitrary_payloads_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            if let Ok(block) = decode_block(&bytes) {
                for index in 0..block.len() {
                    let record = block.record(index).unwrap();
                    let _ = decode_event(record);
                    let _ = decode_record(record);
                    let _ = decode_head(record);
                    let _ = decode_uid(record);
                }
            }
        }
    }
}
