//! The audit directory's layout and a bounded line reader over its files.

use std::fs;
use std::io::{self, BufRead, Read};
use std::path::{Path, PathBuf};

use crate::record::MAX_LINE_BYTES;
use crate::{AuditError, io_error};

/// The audit's directory under the data directory.
pub const AUDIT_DIR: &str = "audit";

/// `DATA_DIR/audit`.
pub fn audit_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(AUDIT_DIR)
}

/// `audit-000001.log`, `audit-000002.log`, …: six digits at least, more once past 999999.
pub(crate) fn segment_file_name(number: u64) -> String {
    format!("audit-{number:06}.log")
}

/// The number of a segment file, for its one canonical name only.
fn segment_number(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("audit-")?.strip_suffix(".log")?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let number: u64 = digits.parse().ok()?;
    (segment_file_name(number) == name).then_some(number)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) number: u64,
    pub(crate) path: PathBuf,
    pub(crate) name: String,
}

/// The segment files in the audit directory, in order. Other files are ignored.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<Segment>, AuditError> {
    let mut segments = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error("list", dir))? {
        let entry = entry.map_err(io_error("list", dir))?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if let Some(number) = segment_number(&name) {
            segments.push(Segment {
                number,
                path: entry.path(),
                name,
            });
        }
    }
    segments.sort_by_key(|segment| segment.number);
    Ok(segments)
}

/// One line as read from storage.
#[derive(Debug, PartialEq, Eq)]
pub enum StoredLine<'a> {
    /// Ended by a newline (not included).
    Complete(&'a [u8]),
    /// The end of the file came first.
    Unterminated(&'a [u8]),
    /// Longer than [`MAX_LINE_BYTES`]; skipped to its end without being kept.
    TooLong,
}

/// How a line read into the buffer ended.
#[derive(Clone, Copy)]
enum Ending {
    Newline,
    EndOfFile,
    TooLong,
}

/// Reads lines of at most [`MAX_LINE_BYTES`], counting lines and bytes.
pub(crate) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    line_number: u64,
    line_start: u64,
    offset: u64,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(inner: R) -> LineReader<R> {
        LineReader {
            inner,
            buf: Vec::with_capacity(1024),
            line_number: 0,
            line_start: 0,
            offset: 0,
        }
    }

    /// The number (from 1) of the line last returned.
    pub(crate) fn line_number(&self) -> u64 {
        self.line_number
    }

    /// Where the line last returned starts, in bytes from the start of the file.
    #[cfg(test)]
    pub(crate) fn line_start(&self) -> u64 {
        self.line_start
    }

    /// Where the next line starts: the bytes read so far.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    pub(crate) fn next_line(&mut self) -> io::Result<Option<StoredLine<'_>>> {
        Ok(self.advance()?.map(|ending| self.line(ending)))
    }

    /// The next line with its number, where it starts and where it ends.
    pub(crate) fn next_placed_line(
        &mut self,
    ) -> io::Result<Option<(StoredLine<'_>, u64, u64, u64)>> {
        let Some(ending) = self.advance()? else {
            return Ok(None);
        };
        let (number, start, end) = (self.line_number, self.line_start, self.offset);
        Ok(Some((self.line(ending), number, start, end)))
    }

    /// Reads the next line into the buffer; says how it ended.
    fn advance(&mut self) -> io::Result<Option<Ending>> {
        self.buf.clear();
        self.line_start = self.offset;
        let limit = MAX_LINE_BYTES as u64 + 1;
        let read = (&mut self.inner)
            .take(limit)
            .read_until(b'\n', &mut self.buf)?;
        if read == 0 {
            return Ok(None);
        }
        self.offset += read as u64;
        self.line_number += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            return Ok(Some(Ending::Newline));
        }
        if read as u64 == limit {
            self.skip_rest_of_line()?;
            return Ok(Some(Ending::TooLong));
        }
        Ok(Some(Ending::EndOfFile))
    }

    fn line(&self, ending: Ending) -> StoredLine<'_> {
        match ending {
            Ending::Newline => StoredLine::Complete(&self.buf),
            Ending::EndOfFile => StoredLine::Unterminated(&self.buf),
            Ending::TooLong => StoredLine::TooLong,
        }
    }

    fn skip_rest_of_line(&mut self) -> io::Result<()> {
        loop {
            let available = self.inner.fill_buf()?;
            if available.is_empty() {
                return Ok(());
            }
            let (used, found) = match available.iter().position(|b| *b == b'\n') {
                Some(at) => (at + 1, true),
                None => (available.len(), false),
            };
            self.inner.consume(used);
            self.offset += used as u64;
            if found {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_are_canonical() {
        assert_eq!(segment_file_name(1), "audit-000001.log");
        assert_eq!(segment_file_name(1_234_567), "audit-1234567.log");
        assert_eq!(segment_number("audit-000001.log"), Some(1));
        assert_eq!(segment_number("audit-1234567.log"), Some(1_234_567));
        assert_eq!(segment_number("audit-0000001.log"), None);
        assert_eq!(segment_number("audit-00001.log"), None);
        assert_eq!(segment_number("audit-000001.log.torn"), None);
        assert_eq!(segment_number("audit-+00001.log"), None);
    }

    #[test]
    fn lines_are_bounded_and_counted() {
        let long = vec![b'x'; MAX_LINE_BYTES + 10];
        let mut input = b"one\n".to_vec();
        input.extend_from_slice(&long);
        input.extend_from_slice(b"\ntwo\nthr");
        let mut reader = LineReader::new(&input[..]);
        assert_eq!(
            reader.next_line().unwrap(),
            Some(StoredLine::Complete(b"one"))
        );
        assert_eq!(reader.next_line().unwrap(), Some(StoredLine::TooLong));
        assert_eq!(reader.line_number(), 2);
        assert_eq!(
            reader.next_line().unwrap(),
            Some(StoredLine::Complete(b"two"))
        );
        assert_eq!(reader.line_start(), 4 + long.len() as u64 + 1);
        assert_eq!(
            reader.next_line().unwrap(),
            Some(StoredLine::Unterminated(b"thr"))
        );
        assert_eq!(reader.offset(), input.len() as u64);
        assert_eq!(reader.next_line().unwrap(), None);
    }
}
