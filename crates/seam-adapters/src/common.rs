//! What every adapter shares: splitting input into records, finishing and checking events,
//! record digests, and the small normalizations of identifiers.

use std::borrow::Cow;
use std::net::IpAddr;

use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use seam_model::{Activity, Event, EventClass, Ts};

use crate::{Batch, MAX_RECORD_BYTES, MAX_REJECTED_RAW_BYTES, ParseContext, Rejected, json};

/// What one record turned into: an event, a skip with its reason (nothing Seam uses), or a
/// reason to reject it.
pub(crate) type RecordResult = Result<Read, String>;

/// A record read: an event, or a record skipped for the reason given (counted per reason).
#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "returned once per record and consumed at once, as `Option<Event>` was; a box would add an allocation per event"
)]
pub(crate) enum Read {
    Event(Event),
    Skip(&'static str),
}

impl From<Event> for Read {
    fn from(event: Event) -> Read {
        Read::Event(event)
    }
}

/// Gathers the results of one input's records into a [`Batch`], checking every event on the
/// way: the time within the context's bounds, the receive time and source set, the event
/// valid.
pub(crate) struct Collector<'c> {
    ctx: &'c ParseContext,
    batch: Batch,
}

impl<'c> Collector<'c> {
    pub(crate) fn new(ctx: &'c ParseContext) -> Collector<'c> {
        Collector {
            ctx,
            batch: Batch::default(),
        }
    }

    /// Makes room for the events of about `records` records up front, so that a large batch
    /// is not copied as it grows (at most a few thousand: `records` may be a generous guess).
    pub(crate) fn expect_records(&mut self, records: usize) {
        const AT_MOST: usize = 4096;
        self.batch.events.reserve(records.min(AT_MOST));
    }

    pub(crate) fn reject(&mut self, index: usize, raw: &[u8], reason: impl Into<String>) {
        self.batch.rejected.push(Rejected {
            index,
            raw: raw.to_vec(),
            reason: reason.into(),
        });
    }

    /// Rejects a record for its size, keeping only its first bytes.
    pub(crate) fn reject_oversize(&mut self, index: usize, raw: &[u8]) {
        let kept = raw.get(..MAX_REJECTED_RAW_BYTES).unwrap_or(raw);
        self.reject(
            index,
            kept,
            format!(
                "record of {} bytes is larger than the limit of {MAX_RECORD_BYTES} bytes",
                raw.len()
            ),
        );
    }

    pub(crate) fn record(&mut self, index: usize, raw: &[u8], result: RecordResult) {
        match result {
            Ok(Read::Event(event)) => self.accept(index, raw, event),
            Ok(Read::Skip(reason)) => {
                self.batch.skipped += 1;
                *self
                    .batch
                    .skip_reasons
                    .entry(reason.to_string())
                    .or_default() += 1;
            }
            Err(reason) => self.reject(index, raw, reason),
        }
    }

    fn accept(&mut self, index: usize, raw: &[u8], mut event: Event) {
        let observed = self.ctx.observed;
        let latest = observed.plus_millis(self.ctx.max_ahead_ms.max(0));
        let earliest = observed.minus_millis(self.ctx.max_behind_ms.max(0));
        if event.time > latest {
            let reason = format!(
                "event time {} is more than {} after the receive time {observed}",
                event.time,
                describe_millis(self.ctx.max_ahead_ms)
            );
            return self.reject(index, raw, reason);
        }
        if event.time < earliest {
            let reason = format!(
                "event time {} is more than {} before the receive time {observed}",
                event.time,
                describe_millis(self.ctx.max_behind_ms)
            );
            return self.reject(index, raw, reason);
        }
        event.source.clone_from(&self.ctx.source);
        event.observed = Some(observed);
        if let Err(error) = event.validate() {
            return self.reject(index, raw, error.to_string());
        }
        self.batch.events.push(event);
    }

    pub(crate) fn finish(self) -> Batch {
        self.batch
    }
}

fn describe_millis(millis: i64) -> String {
    const DAY: i64 = 86_400_000;
    const HOUR: i64 = 3_600_000;
    if millis % DAY == 0 {
        format!("{} days", millis / DAY)
    } else if millis % HOUR == 0 {
        format!("{} hours", millis / HOUR)
    } else {
        format!("{millis} ms")
    }
}

/// A new event with the context's source; the adapter fills in the rest.
pub(crate) fn new_event(
    ctx: &ParseContext,
    uid: String,
    time: Ts,
    class: EventClass,
    activity: Activity,
) -> Event {
    Event::new(uid, time, ctx.source.as_str(), class, activity)
}

// ------------------------------------------------------------------------------- uids

/// The vendor's own id when it is usable as a uid, else a digest of the record.
pub(crate) fn uid_or_digest(vendor: Option<&str>, adapter: &str, raw: &[u8]) -> String {
    match vendor.map(str::trim) {
        Some(id) if !id.is_empty() && id.len() <= Event::MAX_UID_BYTES => id.to_string(),
        _ => digest_uid(adapter, &[raw]),
    }
}

/// `<adapter>-<first 32 hex digits of the SHA-256 of the parts>`: stable across replays,
/// so the store deduplicates a record delivered twice.
pub(crate) fn digest_uid(adapter: &str, parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            // Unambiguous boundaries between parts.
            hasher.update([0u8]);
        }
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut uid = String::with_capacity(adapter.len() + 33);
    uid.push_str(adapter);
    uid.push('-');
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for byte in digest.iter().take(16) {
        for nibble in [byte >> 4, byte & 0x0f] {
            if let Some(digit) = HEX.get(usize::from(nibble)) {
                uid.push(char::from(*digit));
            }
        }
    }
    uid
}

// ------------------------------------------------------------------------------- lines

/// One non-blank line: its 1-based number and its bytes without the line ending.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Line<'a> {
    pub(crate) number: usize,
    pub(crate) bytes: &'a [u8],
}

/// The non-blank lines of the input (`\n` or `\r\n` endings).
pub(crate) fn lines(input: &[u8]) -> impl Iterator<Item = Line<'_>> {
    let mut rest = Some(input);
    let mut number = 0;
    std::iter::from_fn(move || {
        loop {
            let remaining = rest?;
            number += 1;
            let bytes = match find_byte(remaining, b'\n') {
                Some(at) => {
                    rest = remaining.get(at + 1..);
                    remaining.get(..at).unwrap_or(remaining)
                }
                None => {
                    rest = None;
                    remaining
                }
            };
            let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
            if !bytes.iter().all(u8::is_ascii_whitespace) {
                return Some(Line { number, bytes });
            }
        }
    })
}

/// Where the first `byte` in `bytes` is, looked for eight bytes at a time (line splitting is
/// a good part of reading a large batch of short records).
pub(crate) fn find_byte(bytes: &[u8], byte: u8) -> Option<usize> {
    let pattern = u64::from_le_bytes([byte; 8]);
    let (words, tail) = bytes.as_chunks::<8>();
    for (index, word) in words.iter().enumerate() {
        // A byte of `x` is zero where the word holds `byte`; the lowest byte flagged here is
        // always such a zero (a borrow only ever flags bytes above a zero).
        let x = u64::from_le_bytes(*word) ^ pattern;
        let flagged = x.wrapping_sub(LOW_BITS) & !x & HIGH_BITS;
        if flagged != 0 {
            return Some(index * 8 + (flagged.trailing_zeros() / 8) as usize);
        }
    }
    let start = words.len() * 8;
    tail.iter()
        .position(|next| *next == byte)
        .map(|at| start + at)
}

/// Where the first `one` or `other` in `bytes` is, looked for eight bytes at a time.
pub(crate) fn find_either(bytes: &[u8], one: u8, other: u8) -> Option<usize> {
    let ones = u64::from_le_bytes([one; 8]);
    let others = u64::from_le_bytes([other; 8]);
    let (words, tail) = bytes.as_chunks::<8>();
    for (index, word) in words.iter().enumerate() {
        let word = u64::from_le_bytes(*word);
        let flagged = zero_bytes(word ^ ones) | zero_bytes(word ^ others);
        if flagged != 0 {
            return Some(index * 8 + (flagged.trailing_zeros() / 8) as usize);
        }
    }
    let start = words.len() * 8;
    tail.iter()
        .position(|next| *next == one || *next == other)
        .map(|at| start + at)
}

/// The high bit of each byte set exactly where that byte of `x` is zero (the low seven bits
/// plus 0x7F carry into the high bit unless they are all zero).
pub(crate) const fn zero_bytes(x: u64) -> u64 {
    const SEVEN_BITS: u64 = u64::from_le_bytes([0x7F; 8]);
    !((x & SEVEN_BITS).wrapping_add(SEVEN_BITS) | x) & HIGH_BITS
}

/// How many times `byte` occurs in `bytes`, counted eight bytes at a time.
pub(crate) fn count_byte(bytes: &[u8], byte: u8) -> usize {
    let pattern = u64::from_le_bytes([byte; 8]);
    let (words, tail) = bytes.as_chunks::<8>();
    let mut count = 0;
    // Each byte of `sums` counts the matches in its lane, for up to 255 words at a time.
    for group in words.chunks(255) {
        let mut sums = 0u64;
        for word in group {
            sums += zero_bytes(u64::from_le_bytes(*word) ^ pattern) >> 7;
        }
        // The eight lanes added in pairs into four 16-bit lanes, then those into the top
        // sixteen bits (at most 8 × 255, which fits).
        const EVEN_BYTES: u64 = 0x00FF_00FF_00FF_00FF;
        let pairs = (sums & EVEN_BYTES) + ((sums >> 8) & EVEN_BYTES);
        count += (pairs.wrapping_mul(0x0001_0001_0001_0001) >> 48) as usize;
    }
    count + tail.iter().filter(|next| **next == byte).count()
}

const LOW_BITS: u64 = u64::from_le_bytes([0x01; 8]);
const HIGH_BITS: u64 = u64::from_le_bytes([0x80; 8]);

/// The line as text; bytes that are not UTF-8 become U+FFFD (syslog senders are not always
/// careful, and one odd byte in a name should not cost the event).
pub(crate) fn line_text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// Runs `parse_line` over every non-blank line, with the size limit, into a batch.
pub(crate) fn parse_lines(
    input: &[u8],
    ctx: &ParseContext,
    mut parse_line: impl FnMut(&str, &[u8]) -> RecordResult,
) -> Batch {
    let mut collector = Collector::new(ctx);
    for line in lines(input) {
        if line.bytes.len() > MAX_RECORD_BYTES {
            collector.reject_oversize(line.number, line.bytes);
            continue;
        }
        let text = line_text(line.bytes);
        let result = parse_line(text.trim(), line.bytes);
        collector.record(line.number, line.bytes, result);
    }
    collector.finish()
}

// ------------------------------------------------------------------------------- JSON

/// One JSON record: its place, its bytes and the parsed value (or why it did not parse).
#[derive(Debug)]
pub(crate) struct JsonRecord<'a> {
    pub(crate) index: usize,
    pub(crate) bytes: &'a [u8],
    pub(crate) value: Result<Value, String>,
}

/// Splits a JSON input into records. Accepted shapes: one object, an array of objects, or
/// NDJSON (one object per line). A record that is an object holding an array at one of the
/// `envelopes` paths (e.g. `["data", "events"]`) stands for the elements of that array.
#[cfg(test)]
pub(crate) fn json_records<'a>(input: &'a [u8], envelopes: &[&[&str]]) -> Vec<JsonRecord<'a>> {
    let mut records = Vec::new();
    each_json_record(input, envelopes, |record| records.push(record));
    records
}

/// Hands each JSON record of the input to `emit` as soon as it is read (see
/// [`json_records`] for the shapes), so that a record is mapped while its value is fresh in
/// the cache.
pub(crate) fn each_json_record<'a>(
    input: &'a [u8],
    envelopes: &[&[&str]],
    mut emit: impl FnMut(JsonRecord<'a>),
) {
    let trimmed = trim_json_start(input);
    if trimmed.is_empty() {
        return;
    }
    let whole = std::str::from_utf8(trimmed)
        .map_err(|error| error.to_string())
        .and_then(|text| {
            serde_json::from_str::<&RawValue>(text).map_err(|error| error.to_string())
        });
    match whole {
        Ok(raw) => {
            if raw.get().starts_with('[') {
                match serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
                    Ok(elements) => {
                        for (position, element) in elements.into_iter().enumerate() {
                            emit_record(&mut emit, position + 1, element, envelopes);
                        }
                    }
                    Err(error) => emit(JsonRecord {
                        index: 1,
                        bytes: trimmed,
                        value: Err(format!("invalid JSON: {error}")),
                    }),
                }
            } else {
                emit_record(&mut emit, 1, raw, envelopes);
            }
        }
        Err(error) if trimmed.starts_with(b"[") => emit(JsonRecord {
            index: 1,
            bytes: trimmed,
            value: Err(format!("invalid JSON: {error}")),
        }),
        // Not one JSON document: NDJSON, each line on its own.
        Err(_) => {
            for line in lines(input) {
                let bytes = trim_ascii(line.bytes);
                let index = line.number;
                if bytes.len() > MAX_RECORD_BYTES {
                    emit(JsonRecord {
                        index,
                        bytes,
                        value: Err(oversize(bytes.len())),
                    });
                    continue;
                }
                let text = match std::str::from_utf8(bytes) {
                    Ok(text) => text,
                    Err(error) => {
                        let value = Err(format!("line is not UTF-8: {error}"));
                        emit(JsonRecord {
                            index,
                            bytes,
                            value,
                        });
                        continue;
                    }
                };
                // A line holding one whole value is the record, its bytes the value's (the
                // line is trimmed), unless it may be an envelope.
                if envelopes.is_empty()
                    && let Some(value) = json::value(text)
                {
                    emit(JsonRecord {
                        index,
                        bytes,
                        value: Ok(value),
                    });
                    continue;
                }
                match serde_json::from_str::<&RawValue>(text) {
                    Ok(raw) => emit_record(&mut emit, index, raw, envelopes),
                    Err(error) => emit(JsonRecord {
                        index,
                        bytes,
                        value: Err(format!("invalid JSON: {error}")),
                    }),
                }
            }
        }
    }
}

fn emit_record<'a>(
    emit: &mut impl FnMut(JsonRecord<'a>),
    index: usize,
    raw: &'a RawValue,
    envelopes: &[&[&str]],
) {
    for path in envelopes {
        if let Some(elements) = envelope_elements(raw, path) {
            for (position, element) in elements.into_iter().enumerate() {
                emit(one_record(position + 1, element));
            }
            return;
        }
    }
    emit(one_record(index, raw));
}

/// The elements of the array at `path` inside `raw`, when `raw` is an object that has one.
fn envelope_elements<'a>(raw: &'a RawValue, path: &[&str]) -> Option<Vec<&'a RawValue>> {
    let mut current = raw;
    for key in path {
        if !current.get().starts_with('{') {
            return None;
        }
        let object: std::collections::BTreeMap<Cow<'a, str>, &'a RawValue> =
            serde_json::from_str(current.get()).ok()?;
        current = *object.get(*key)?;
    }
    if !current.get().starts_with('[') {
        return None;
    }
    serde_json::from_str(current.get()).ok()
}

/// A record's value, read by the fast reader and, for what it leaves, by serde_json.
fn one_record(index: usize, raw: &RawValue) -> JsonRecord<'_> {
    let bytes = raw.get().as_bytes();
    let value = if bytes.len() > MAX_RECORD_BYTES {
        Err(oversize(bytes.len()))
    } else {
        match json::value(raw.get()) {
            Some(value) => Ok(value),
            None => serde_json::from_str::<Value>(raw.get())
                .map_err(|error| format!("invalid JSON: {error}")),
        }
    };
    JsonRecord {
        index,
        bytes,
        value,
    }
}

fn oversize(size: usize) -> String {
    format!("record of {size} bytes is larger than the limit of {MAX_RECORD_BYTES} bytes")
}

fn trim_json_start(input: &[u8]) -> &[u8] {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    trim_ascii(input)
}

pub(crate) fn trim_ascii(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

/// Runs `parse_record` over every JSON record of the input into a batch.
pub(crate) fn parse_json(
    input: &[u8],
    ctx: &ParseContext,
    envelopes: &[&[&str]],
    mut parse_record: impl FnMut(&Value, &[u8]) -> RecordResult,
) -> Batch {
    parse_json_owned(input, ctx, envelopes, |value, raw| {
        parse_record(&value, raw)
    })
}

/// [`parse_json`] handing each record's value over, so that an adapter keeping the whole
/// record as `raw` moves it instead of copying it.
pub(crate) fn parse_json_owned(
    input: &[u8],
    ctx: &ParseContext,
    envelopes: &[&[&str]],
    mut parse_record: impl FnMut(Value, &[u8]) -> RecordResult,
) -> Batch {
    let mut collector = Collector::new(ctx);
    each_json_record(input, envelopes, |record| {
        if record.bytes.len() > MAX_RECORD_BYTES {
            collector.reject_oversize(record.index, record.bytes);
            return;
        }
        match record.value {
            Ok(value) => {
                let result = parse_record(value, record.bytes);
                collector.record(record.index, record.bytes, result);
            }
            Err(reason) => collector.reject(record.index, record.bytes, reason),
        }
    });
    collector.finish()
}

/// Deserializes a typed view of a record, with serde's message on a mismatch.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, String> {
    T::deserialize(value).map_err(|error| error.to_string())
}

// ------------------------------------------------------------------------------- values

/// Trimmed, non-empty text.
pub(crate) fn clean(text: Option<&str>) -> Option<String> {
    let text = text?.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// A JSON scalar as text: strings as they are, numbers and booleans printed.
pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => clean(Some(text)),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// An IP address, `None` for the unspecified address (`0.0.0.0`, `::`) vendors write for
/// "none yet".
pub(crate) fn ip(text: Option<&str>) -> Option<IpAddr> {
    let address: IpAddr = text?.trim().parse().ok()?;
    (!address.is_unspecified()).then_some(address)
}

/// A MAC address in lowercase colon form, from `AA:BB:…`, `aa-bb-…`, `aabb.ccdd.eeff` or
/// twelve bare hex digits; `None` for anything else.
pub(crate) fn mac(text: &str) -> Option<String> {
    let text = text.trim();
    let digits: Vec<u8> = match text.len() {
        17 => {
            let separator = text.as_bytes().get(2).copied()?;
            if separator != b':' && separator != b'-' {
                return None;
            }
            let mut digits = Vec::with_capacity(12);
            for (position, byte) in text.bytes().enumerate() {
                if position % 3 == 2 {
                    if byte != separator {
                        return None;
                    }
                } else {
                    digits.push(byte);
                }
            }
            digits
        }
        14 => {
            let mut digits = Vec::with_capacity(12);
            for (position, byte) in text.bytes().enumerate() {
                if position % 5 == 4 {
                    if byte != b'.' {
                        return None;
                    }
                } else {
                    digits.push(byte);
                }
            }
            digits
        }
        12 => text.bytes().collect(),
        _ => return None,
    };
    if digits.len() != 12 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut out = String::with_capacity(17);
    for (position, pair) in digits.chunks(2).enumerate() {
        if position > 0 {
            out.push(':');
        }
        for byte in pair {
            out.push(char::from(byte.to_ascii_lowercase()));
        }
    }
    Some(out)
}

/// A latitude or longitude within range.
pub(crate) fn coordinate(value: Option<f64>, limit: f64) -> Option<f64> {
    value.filter(|number| number.is_finite() && number.abs() <= limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_in_every_vendor_spelling() {
        for text in [
            "3C:22:FB:00:00:01",
            "3c-22-fb-00-00-01",
            "3c22.fb00.0001",
            "3C22FB000001",
        ] {
            assert_eq!(mac(text).as_deref(), Some("3c:22:fb:00:00:01"), "{text}");
        }
        for text in [
            "3c:22:fb:00:00",
            "3c:22-fb:00:00:01",
            "zz:22:fb:00:00:01",
            "ä",
        ] {
            assert_eq!(mac(text), None, "{text}");
        }
    }

    #[test]
    fn unspecified_addresses_are_none() {
        assert_eq!(ip(Some("0.0.0.0")), None);
        assert_eq!(ip(Some("::")), None);
        assert_eq!(ip(Some(" 10.0.0.5 ")), "10.0.0.5".parse().ok());
        assert_eq!(ip(Some("10.0.0")), None);
    }

    #[test]
    fn json_shapes_split_into_records() {
        let one = json_records(br#" {"a":1} "#, &[]);
        assert_eq!(one.len(), 1);
        let array = json_records(br#"[{"a":1},{"a":2}]"#, &[]);
        assert_eq!(array.iter().map(|r| r.index).collect::<Vec<_>>(), [1, 2]);
        let ndjson = json_records(b"{\"a\":1}\n\nnot json\n{\"a\":3}\n", &[]);
        assert_eq!(
            ndjson.iter().map(|r| r.index).collect::<Vec<_>>(),
            [1, 3, 4]
        );
        assert!(
            ndjson[1]
                .value
                .as_ref()
                .unwrap_err()
                .starts_with("invalid JSON")
        );
        let enveloped = json_records(
            br#"{"data":{"events":[{"a":1},{"a":2},{"a":3}]}}"#,
            &[&["data", "events"]],
        );
        assert_eq!(enveloped.len(), 3);
        assert_eq!(enveloped[2].bytes, br#"{"a":3}"#);
        let broken_array = json_records(b"[{\"a\":1},", &[]);
        assert_eq!(broken_array.len(), 1);
        assert!(broken_array[0].value.is_err());
    }

    proptest::proptest! {
        #[test]
        fn lines_split_as_a_plain_split_does(
            input in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just(b'\n'),
                    proptest::strategy::Just(b'\r'),
                    proptest::strategy::Just(b' '),
                    proptest::strategy::Just(0),
                    proptest::strategy::Just(0xFF),
                    proptest::prelude::any::<u8>(),
                ],
                0..80,
            )
        ) {
            let expected: Vec<(usize, &[u8])> = input
                .split(|byte| *byte == b'\n')
                .enumerate()
                .map(|(index, bytes)| (index + 1, bytes.strip_suffix(b"\r").unwrap_or(bytes)))
                .filter(|(_, bytes)| !bytes.iter().all(u8::is_ascii_whitespace))
                .collect();
            let found: Vec<(usize, &[u8])> =
                lines(&input).map(|line| (line.number, line.bytes)).collect();
            proptest::prop_assert_eq!(found, expected);
            for byte in [b'\n', b'\r', 0, 0x80, 0xFF] {
                proptest::prop_assert_eq!(
                    find_byte(&input, byte),
                    input.iter().position(|next| *next == byte)
                );
                proptest::prop_assert_eq!(
                    count_byte(&input, byte),
                    input.iter().filter(|next| **next == byte).count()
                );
                proptest::prop_assert_eq!(
                    find_either(&input, byte, b' '),
                    input.iter().position(|next| *next == byte || *next == b' ')
                );
            }
        }
    }

    #[test]
    fn long_runs_are_counted_whole() {
        for length in [0, 7, 8, 2039, 2040, 2041, 6000] {
            let newlines = vec![b'\n'; length];
            assert_eq!(count_byte(&newlines, b'\n'), length);
            assert_eq!(count_byte(&newlines, b'x'), 0);
        }
    }

    #[test]
    fn digests_are_stable_and_part_boundaries_count() {
        let uid = digest_uid("ise", &[b"line"]);
        assert_eq!(uid.len(), "ise-".len() + 32);
        assert_eq!(uid, digest_uid("ise", &[b"line"]));
        assert_ne!(
            digest_uid("x", &[b"ab", b"c"]),
            digest_uid("x", &[b"a", b"bc"])
        );
        assert_eq!(uid_or_digest(Some("  okta-1 "), "okta", b"{}"), "okta-1");
        assert!(uid_or_digest(Some(""), "okta", b"{}").starts_with("okta-"));
    }
}
