//! Reading input files line by line: Seam's normalized NDJSON, or a vendor's line format (JSON
//! lines, syslog, CSV with its header) through a source adapter. Every line is hostile until
//! parsed.
//!
//! A line is bounded in size; a bad line becomes a dead letter (the raw bytes, the line number
//! and the reason) and the rest of the input continues. A format that is not read by line (a
//! pcap capture of flow export) is read whole, up to the adapters' input limit, as one record
//! at "line" 1; its rejections carry the adapter's own position (the packet).

use std::io::BufRead;

use seam_adapters::{Adapter, ParseContext};
use seam_model::{Event, Ts};

/// No normalized event is anywhere near this; a longer line is an attack or a broken file.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// One line of input, parsed or not.
#[derive(Debug)]
pub enum Line {
    Event(Box<Event>),
    Rejected {
        line: u64,
        reason: String,
        raw: Vec<u8>,
    },
}

/// How the lines of an input are read.
#[derive(Debug)]
pub enum Format {
    /// Seam's normalized events, one per line.
    Ndjson,
    /// A vendor's records, one per line, through its adapter.
    Vendor {
        adapter: Adapter,
        context: ParseContext,
        /// The file's header line, for formats whose records need it (CSV with named columns).
        header: Option<Vec<u8>>,
    },
}

impl Format {
    /// A vendor format read in replay: the records' own times are taken as they are (there is
    /// no receive time to bound them by), naive local times are read in `timezone`, and
    /// year-less stamps take the year nearest `received` (when the file came; `None`: 1970).
    pub fn vendor(adapter: Adapter, timezone: jiff::tz::TimeZone, received: Option<Ts>) -> Format {
        let mut context = ParseContext::new(adapter.name().to_string(), received.unwrap_or(Ts(0)))
            .with_timezone(timezone);
        context.max_ahead_ms = i64::MAX;
        context.max_behind_ms = i64::MAX;
        Format::Vendor {
            adapter,
            context,
            header: None,
        }
    }
}

/// Reads lines of at most `MAX_LINE_BYTES`; a longer line is consumed and reported, never kept.
#[derive(Debug)]
pub struct NdjsonReader<R> {
    reader: R,
    line: u64,
    buffer: Vec<u8>,
    format: Format,
    /// Records the adapter skipped, by reason.
    skips: std::collections::BTreeMap<String, u64>,
}

impl<R: BufRead> NdjsonReader<R> {
    pub fn with_format(reader: R, format: Format) -> NdjsonReader<R> {
        NdjsonReader {
            reader,
            line: 0,
            buffer: Vec::with_capacity(1024),
            format,
            skips: std::collections::BTreeMap::new(),
        }
    }

    /// The records the adapter skipped so far, by reason.
    pub fn skips(&self) -> &std::collections::BTreeMap<String, u64> {
        &self.skips
    }

    /// Lines read so far (the position to resume from).
    pub fn line_number(&self) -> u64 {
        self.line
    }

    /// Skips `count` lines, for resuming after a snapshot (a header line is still kept).
    pub fn skip_lines(&mut self, count: u64) -> std::io::Result<()> {
        if self.is_whole() {
            // The whole input is its one record: handled already, or not at all.
            if count > 0 {
                self.line = 1;
            }
            return Ok(());
        }
        while self.line < count {
            let mut oversized = false;
            if !self.read_bounded_line(&mut oversized)? {
                break;
            }
            self.keep_header_if_first();
        }
        Ok(())
    }

    /// Whether the input is read whole rather than by line (a binary capture).
    fn is_whole(&self) -> bool {
        matches!(&self.format, Format::Vendor { adapter, .. } if !adapter.is_line_format())
    }

    /// The whole input as one record, the first time; `None` after. More than the adapters'
    /// input limit is an error: such a file must be split.
    fn next_whole(&mut self) -> std::io::Result<Option<Vec<Line>>> {
        use std::io::Read;
        if self.line > 0 {
            return Ok(None);
        }
        let Format::Vendor {
            adapter, context, ..
        } = &self.format
        else {
            return Ok(None);
        };
        let limit = seam_adapters::MAX_BATCH_BYTES;
        let mut bytes = Vec::new();
        self.reader
            .by_ref()
            .take(limit as u64 + 1)
            .read_to_end(&mut bytes)?;
        if bytes.len() > limit {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "the {} adapter reads a file whole, and this one is over its limit of {} MiB; split it (for a pcap capture: `editcap -c 100000 IN OUT`)",
                    adapter.name(),
                    limit >> 20
                ),
            ));
        }
        self.line = 1;
        let batch = adapter.parse(&bytes, context).map_err(|error| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, error.to_string())
        })?;
        for (reason, count) in batch.skip_reasons {
            *self.skips.entry(reason).or_default() += count as u64;
        }
        let mut out: Vec<Line> = batch
            .rejected
            .into_iter()
            .map(|rejected| Line::Rejected {
                line: rejected.index as u64,
                reason: rejected.reason,
                raw: rejected.raw,
            })
            .collect();
        // Exporters send a flow when it expires, not in the order flows end: in time order,
        // a capture's events merge with other inputs' as their times say.
        let mut events = batch.events;
        events.sort_by_key(|event| event.time);
        out.extend(events.into_iter().map(|mut event| {
            event.observed = None;
            Line::Event(Box::new(event))
        }));
        Ok(Some(out))
    }

    /// The first non-blank line of a format with a header is the header: kept, not parsed.
    /// True when the line just read was taken as the header.
    fn keep_header_if_first(&mut self) -> bool {
        if let Format::Vendor {
            adapter,
            header: header @ None,
            ..
        } = &mut self.format
            && adapter.has_header_line()
        {
            let text = trim_line(&self.buffer);
            if !text.is_empty() {
                *header = Some(text.to_vec());
                return true;
            }
        }
        false
    }

    /// Reads one line into `self.buffer`; false at end of input.
    fn read_bounded_line(&mut self, oversized: &mut bool) -> std::io::Result<bool> {
        self.buffer.clear();
        let mut read_any = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(bytes) => bytes,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if available.is_empty() {
                break;
            }
            read_any = true;
            let (chunk, found_newline) = match available.iter().position(|b| *b == b'\n') {
                Some(end) => (available.get(..end).unwrap_or_default(), true),
                None => (available, false),
            };
            let room = MAX_LINE_BYTES.saturating_sub(self.buffer.len());
            if chunk.len() > room {
                *oversized = true;
                // Keep the first bytes for the dead letter; drop the rest.
                self.buffer
                    .extend_from_slice(chunk.get(..room.min(4096)).unwrap_or_default());
            } else if !*oversized {
                self.buffer.extend_from_slice(chunk);
            }
            let consumed = chunk.len() + usize::from(found_newline);
            self.reader.consume(consumed);
            if found_newline {
                break;
            }
        }
        if read_any {
            self.line += 1;
        }
        Ok(read_any)
    }

    /// Reads the next line into the buffer: `None` at end of input, `Some(Some(rejection))` for
    /// a line over the limit (its first bytes kept), `Some(None)` for a line to parse.
    fn read_line(&mut self) -> std::io::Result<Option<Option<Line>>> {
        let mut oversized = false;
        if !self.read_bounded_line(&mut oversized)? {
            return Ok(None);
        }
        if oversized {
            let raw = std::mem::take(&mut self.buffer);
            let reason = format!("line is longer than {MAX_LINE_BYTES} bytes");
            return Ok(Some(Some(Line::Rejected {
                line: self.line,
                reason,
                raw,
            })));
        }
        Ok(Some(None))
    }

    /// The next non-blank line as what it gives: one event or a rejection for NDJSON, any
    /// number of events and rejections for a vendor line; `None` at end of input.
    pub fn next_record(&mut self) -> std::io::Result<Option<Vec<Line>>> {
        if matches!(self.format, Format::Ndjson) {
            return Ok(self.next_line()?.map(|line| vec![line]));
        }
        if self.is_whole() {
            return self.next_whole();
        }
        loop {
            let Some(read) = self.read_line()? else {
                return Ok(None);
            };
            let line = self.line;
            if let Some(rejected) = read {
                return Ok(Some(vec![rejected]));
            }
            if self.keep_header_if_first() {
                continue;
            }
            let text = trim_line(&self.buffer);
            if text.is_empty() {
                continue;
            }
            let Format::Vendor {
                adapter,
                context,
                header,
            } = &self.format
            else {
                return Ok(None);
            };
            let record: Vec<u8> = match header {
                Some(header) => [header.as_slice(), b"\n", text].concat(),
                None => text.to_vec(),
            };
            let mut out = Vec::new();
            match adapter.parse(&record, context) {
                Ok(batch) => {
                    for (reason, count) in batch.skip_reasons {
                        *self.skips.entry(reason).or_default() += count as u64;
                    }
                    for rejected in batch.rejected {
                        out.push(Line::Rejected {
                            line,
                            reason: rejected.reason,
                            raw: text.to_vec(),
                        });
                    }
                    // A file has no receive time: the context's is a placeholder, and the
                    // engine bounds the clocks of such events by the other sources instead.
                    out.extend(batch.events.into_iter().map(|mut event| {
                        event.observed = None;
                        Line::Event(Box::new(event))
                    }));
                }
                Err(error) => out.push(Line::Rejected {
                    line,
                    reason: error.to_string(),
                    raw: text.to_vec(),
                }),
            }
            return Ok(Some(out));
        }
    }

    /// The next non-blank line, parsed; `None` at end of input.
    pub fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        loop {
            let Some(read) = self.read_line()? else {
                return Ok(None);
            };
            let line = self.line;
            if let Some(rejected) = read {
                return Ok(Some(rejected));
            }
            let text = trim_line(&self.buffer);
            if text.is_empty() {
                continue;
            }
            return Ok(Some(match parse_event(text) {
                Ok(event) => Line::Event(Box::new(event)),
                Err(reason) => Line::Rejected {
                    line,
                    reason,
                    raw: text.to_vec(),
                },
            }));
        }
    }
}

fn trim_line(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// Parses and validates one normalized event.
pub fn parse_event(bytes: &[u8]) -> Result<Event, String> {
    let event: Event = serde_json::from_slice(bytes).map_err(|error| error.to_string())?;
    event.validate().map_err(|error| error.to_string())?;
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8]) -> Vec<Result<String, (u64, String)>> {
        let mut reader =
            NdjsonReader::with_format(std::io::BufReader::with_capacity(64, input), Format::Ndjson);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            out.push(match line {
                Line::Event(event) => Ok(event.uid),
                Line::Rejected { line, reason, .. } => Err((line, reason)),
            });
        }
        out
    }

    const GOOD: &str = r#"{"uid":"a","time":"2026-03-02T09:00:00Z","source":"s","class":"occupancy","activity":"count","zone":"z","count":1}"#;

    #[test]
    fn bad_lines_are_reported_with_their_number_and_the_rest_continues() {
        let input = format!("{GOOD}\n\nnot json\n{}\r\n", GOOD.replace("\"a\"", "\"b\""));
        let lines = read_all(input.as_bytes());
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], Ok("a".to_string()));
        let (number, reason) = lines[1].clone().unwrap_err();
        assert_eq!(number, 3);
        assert!(reason.contains("expected ident"), "{reason}");
        assert_eq!(lines[2], Ok("b".to_string()));
    }

    #[test]
    fn an_oversized_line_is_rejected_without_being_kept() {
        let mut input = vec![b'x'; MAX_LINE_BYTES + 10];
        input.push(b'\n');
        input.extend_from_slice(GOOD.as_bytes());
        let lines = read_all(&input);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].clone().unwrap_err().1.contains("longer than"));
        assert_eq!(lines[1], Ok("a".to_string()));
    }

    #[test]
    fn a_valid_json_event_with_a_wrong_activity_is_rejected() {
        let line = GOOD.replace("\"count\",\"zone\"", "\"granted\",\"zone\"");
        let lines = read_all(line.as_bytes());
        assert_eq!(
            lines[0].clone().unwrap_err().1,
            "activity `granted` does not belong to class `occupancy`"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let _ = read_all(&bytes);
        }
    }
}
