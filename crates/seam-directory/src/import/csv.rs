//! CSV as RFC 4180 writes it: fields separated by one ASCII character, quoted fields may
//! hold separators, doubled quotes and line breaks. Fields borrow from the input unless a
//! doubled quote must be undone; one bad record is reported alone and reading goes on.

use std::borrow::Cow;
use std::collections::HashMap;

use super::mapping::ImportMapping;
use super::rows::{Row, clean};
use super::{Collector, Fault, ImportError, quote};

/// Where one record starts, how long it is, and what is wrong with it, if anything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) line: usize,
    pub(crate) bytes: usize,
    pub(crate) malformed: Option<String>,
}

enum End {
    Delimiter,
    Line,
    Input,
}

pub(crate) struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    delimiter: u8,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(text: &'a str, delimiter: u8) -> Reader<'a> {
        Reader {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            line: 1,
            delimiter,
        }
    }

    /// The next record that is not blank, its fields in `fields`.
    pub(crate) fn next_record(&mut self, fields: &mut Vec<Cow<'a, str>>) -> Option<Record> {
        loop {
            if self.pos >= self.bytes.len() {
                return None;
            }
            let start = self.pos;
            let line = self.line;
            fields.clear();
            let mut malformed = None;
            loop {
                let (field, end) = self.field(&mut malformed);
                fields.push(field);
                if !matches!(end, End::Delimiter) {
                    break;
                }
            }
            let blank = malformed.is_none()
                && fields.len() == 1
                && fields.first().is_some_and(|field| field.trim().is_empty());
            if !blank {
                return Some(Record {
                    line,
                    bytes: self.pos - start,
                    malformed,
                });
            }
        }
    }

    fn slice(&self, from: usize, to: usize) -> &'a str {
        self.text.get(from..to).unwrap_or_default()
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.bytes.get(at).copied()
    }

    fn is_blank(&self, byte: u8) -> bool {
        (byte == b' ' || byte == b'\t') && byte != self.delimiter
    }

    fn field(&mut self, malformed: &mut Option<String>) -> (Cow<'a, str>, End) {
        // Blanks before an opening quote are not part of the field.
        let mut at = self.pos;
        while self.byte(at).is_some_and(|byte| self.is_blank(byte)) {
            at += 1;
        }
        if self.byte(at) == Some(b'"') {
            self.pos = at + 1;
            return self.quoted(malformed);
        }
        let start = self.pos;
        let (end, stop) = self.unquoted_end(start);
        (Cow::Borrowed(self.slice(start, end)), stop)
    }

    /// Scans an unquoted field from `start`: where its text ends, and what ended it.
    fn unquoted_end(&mut self, start: usize) -> (usize, End) {
        let delimiter = self.delimiter;
        let rest = self.bytes.get(start..).unwrap_or_default();
        match rest
            .iter()
            .position(|byte| *byte == b'\n' || *byte == delimiter)
        {
            None => {
                self.pos = self.bytes.len();
                let end = if self.bytes.last() == Some(&b'\r') {
                    self.bytes.len() - 1
                } else {
                    self.bytes.len()
                };
                (end.max(start), End::Input)
            }
            Some(offset) => {
                let at = start + offset;
                self.pos = at + 1;
                if self.byte(at) == Some(b'\n') {
                    self.line += 1;
                    let end = if at > start && self.byte(at - 1) == Some(b'\r') {
                        at - 1
                    } else {
                        at
                    };
                    (end, End::Line)
                } else {
                    (at, End::Delimiter)
                }
            }
        }
    }

    fn quoted(&mut self, malformed: &mut Option<String>) -> (Cow<'a, str>, End) {
        let mut owned: Option<String> = None;
        let mut segment = self.pos;
        loop {
            let rest = self.bytes.get(self.pos..).unwrap_or_default();
            let Some(offset) = rest.iter().position(|byte| *byte == b'"' || *byte == b'\n') else {
                malformed.get_or_insert_with(|| "a quoted field is not closed".to_string());
                let tail = self.slice(segment, self.bytes.len());
                self.pos = self.bytes.len();
                let value = match owned {
                    Some(mut text) => {
                        text.push_str(tail);
                        Cow::Owned(text)
                    }
                    None => Cow::Borrowed(tail),
                };
                return (value, End::Input);
            };
            let at = self.pos + offset;
            if self.byte(at) == Some(b'\n') {
                self.line += 1;
                self.pos = at + 1;
                continue;
            }
            if self.byte(at + 1) == Some(b'"') {
                // A doubled quote: one quote of the value.
                owned
                    .get_or_insert_with(String::new)
                    .push_str(self.slice(segment, at + 1));
                self.pos = at + 2;
                segment = self.pos;
                continue;
            }
            let value = match owned.take() {
                Some(mut text) => {
                    text.push_str(self.slice(segment, at));
                    Cow::Owned(text)
                }
                None => Cow::Borrowed(self.slice(segment, at)),
            };
            self.pos = at + 1;
            return (value, self.after_quote(malformed));
        }
    }

    /// After a closing quote: blanks, then a delimiter, a line break or the end.
    fn after_quote(&mut self, malformed: &mut Option<String>) -> End {
        loop {
            match self.byte(self.pos) {
                None => return End::Input,
                Some(byte) if byte == self.delimiter => {
                    self.pos += 1;
                    return End::Delimiter;
                }
                Some(b'\n') => {
                    self.pos += 1;
                    self.line += 1;
                    return End::Line;
                }
                Some(b'\r') if self.byte(self.pos + 1) == Some(b'\n') => self.pos += 1,
                Some(byte) if self.is_blank(byte) => self.pos += 1,
                Some(_) => {
                    let found: String = self
                        .text
                        .get(self.pos..)
                        .unwrap_or_default()
                        .chars()
                        .take(1)
                        .collect();
                    malformed.get_or_insert_with(|| {
                        format!("unexpected {} after a closing quote", quote(&found))
                    });
                    let (_, end) = self.unquoted_end(self.pos);
                    return end;
                }
            }
        }
    }
}

/// A CSV record with the export's columns: slot → column.
struct CsvRow<'r, 'a> {
    fields: &'r [Cow<'a, str>],
    columns: &'r [usize],
}

impl Row for CsvRow<'_, '_> {
    fn first(&self, slot: usize) -> Option<Cow<'_, str>> {
        let column = *self.columns.get(slot)?;
        clean(self.fields.get(column)?).map(Cow::Borrowed)
    }

    fn each<'s>(&'s self, slot: usize, out: &mut Vec<Cow<'s, str>>) {
        let field = self
            .columns
            .get(slot)
            .and_then(|column| self.fields.get(*column));
        out.extend(field.map(|field| Cow::Borrowed(field.trim())));
    }
}

/// Reads a CSV export: the header, then one row per record.
pub(crate) fn read(
    mapping: &ImportMapping,
    text: &str,
    collector: &mut Collector<'_>,
) -> Result<(), ImportError> {
    let limits = collector.limits();
    let mut reader = Reader::new(text, mapping.delimiter);
    let mut fields = Vec::new();
    let Some(header) = reader.next_record(&mut fields) else {
        return Err(ImportError::Header {
            line: 1,
            message: "the export is empty: expected a header row naming the columns".to_string(),
        });
    };
    if let Some(problem) = header.malformed {
        return Err(ImportError::Header {
            line: header.line,
            message: format!("the header row is malformed: {problem}"),
        });
    }
    let columns = bind(mapping, &fields, header.line)?;
    let width = fields.len();
    while let Some(record) = reader.next_record(&mut fields) {
        if record.bytes > limits.max_record_bytes {
            collector.fail(
                record.line,
                Fault::new(
                    None,
                    format!(
                        "the record is {} bytes, over the limit of {}",
                        record.bytes, limits.max_record_bytes
                    ),
                ),
            )?;
            continue;
        }
        if let Some(problem) = record.malformed {
            collector.fail(record.line, Fault::new(None, problem))?;
            continue;
        }
        if fields.len() != width {
            collector.fail(
                record.line,
                Fault::new(
                    None,
                    format!("{} fields, expected {width} as in the header", fields.len()),
                ),
            )?;
            continue;
        }
        let row = CsvRow {
            fields: &fields,
            columns: &columns,
        };
        collector.row(record.line, &row)?;
    }
    Ok(())
}

/// Each slot's column in the header; every column the mapping names must be there, once.
fn bind(
    mapping: &ImportMapping,
    header: &[Cow<'_, str>],
    line: usize,
) -> Result<Vec<usize>, ImportError> {
    let mut index: HashMap<&str, Option<usize>> = HashMap::new();
    for (column, name) in header.iter().enumerate() {
        index
            .entry(name.trim())
            .and_modify(|seen| *seen = None)
            .or_insert(Some(column));
    }
    let mut columns = Vec::with_capacity(mapping.slots.len());
    let mut missing = Vec::new();
    for name in &mapping.slots {
        match index.get(name.as_str()) {
            Some(Some(column)) => columns.push(*column),
            Some(None) => {
                return Err(ImportError::Header {
                    line,
                    message: format!(
                        "column {} appears twice in the header: the mapping cannot tell which to read",
                        quote(name)
                    ),
                });
            }
            None => missing.push(name.as_str()),
        }
    }
    if let Some(first) = missing.first() {
        let names: Vec<String> = missing.iter().map(|name| quote(name)).collect();
        let header_names: Vec<String> = header.iter().map(|name| quote(name.trim())).collect();
        return Err(ImportError::Header {
            line,
            message: format!(
                "the header has no column {}: expected the columns the mapping names; the header has {}{}",
                names.join(", "),
                header_names.join(", "),
                seam_model::text::did_you_mean(first, header.iter().map(|name| name.trim()))
            ),
        });
    }
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &str) -> Vec<(usize, Result<Vec<String>, String>)> {
        let mut reader = Reader::new(text, b',');
        let mut fields = Vec::new();
        let mut out = Vec::new();
        while let Some(record) = reader.next_record(&mut fields) {
            let result = match record.malformed {
                Some(problem) => Err(problem),
                None => Ok(fields.iter().map(|f| f.to_string()).collect()),
            };
            out.push((record.line, result));
        }
        out
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn quotes_delimiters_and_doubled_quotes() {
        assert_eq!(
            records("a,\"b,c\",\"say \"\"hi\"\"\",\n"),
            vec![(1, Ok(strings(&["a", "b,c", "say \"hi\"", ""])))]
        );
        assert_eq!(
            records(" \"x\" ,y\r\n"),
            vec![(1, Ok(strings(&["x", "y"])))]
        );
    }

    #[test]
    fn line_breaks_inside_quotes_keep_line_numbers() {
        let parsed = records("h1,h2\r\n\"x\r\ny\",2\n\n  \nlast,3");
        assert_eq!(
            parsed,
            vec![
                (1, Ok(strings(&["h1", "h2"]))),
                (2, Ok(strings(&["x\r\ny", "2"]))),
                (6, Ok(strings(&["last", "3"]))),
            ]
        );
    }

    #[test]
    fn a_bad_record_does_not_spoil_the_next() {
        let parsed = records("\"a\"b,c\nd,e\n");
        assert_eq!(
            parsed[0],
            (1, Err("unexpected `b` after a closing quote".to_string()))
        );
        assert_eq!(parsed[1], (2, Ok(strings(&["d", "e"]))));
        let unclosed = records("ok,1\n\"never closed,2\n");
        assert_eq!(
            unclosed[1],
            (2, Err("a quoted field is not closed".to_string()))
        );
    }

    #[test]
    fn other_delimiters_and_bare_quotes() {
        let mut reader = Reader::new("a;b\"c;d\n", b';');
        let mut fields = Vec::new();
        reader.next_record(&mut fields);
        assert_eq!(fields, vec!["a", "b\"c", "d"]);
        let mut reader = Reader::new("a\t \"b\"\tc", b'\t');
        reader.next_record(&mut fields);
        assert_eq!(fields, vec!["a", "b", "c"]);
    }

    #[test]
    fn fields_borrow_unless_a_quote_is_undone() {
        let mut reader = Reader::new("plain,\"quoted\",\"a\"\"b\"", b',');
        let mut fields = Vec::new();
        reader.next_record(&mut fields);
        assert!(matches!(fields[0], Cow::Borrowed("plain")));
        assert!(matches!(fields[1], Cow::Borrowed("quoted")));
        assert!(matches!(&fields[2], Cow::Owned(text) if text == "a\"b"));
    }
}
