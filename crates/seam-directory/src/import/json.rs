//! JSON exports: one array of records (or one at a pointer), or NDJSON, one record a line.
//! The array is split into its elements by a scan of the validated document, so that each
//! row keeps the line it starts on and is parsed alone.

use std::borrow::Cow;

use serde_json::Value;

use super::mapping::ImportMapping;
use super::rows::{Row, clean};
use super::{Collector, Fault, ImportError};

/// A JSON record; slots are JSON pointers.
pub(crate) struct JsonRow<'v> {
    pub(crate) value: &'v Value,
    pub(crate) slots: &'v [String],
}

impl Row for JsonRow<'_> {
    fn first(&self, slot: usize) -> Option<Cow<'_, str>> {
        scalar(self.value.pointer(self.slots.get(slot)?)?)
    }

    fn each<'s>(&'s self, slot: usize, out: &mut Vec<Cow<'s, str>>) {
        let Some(value) = self.slots.get(slot).and_then(|p| self.value.pointer(p)) else {
            return;
        };
        let blank = || Cow::Borrowed("");
        match value {
            Value::Array(items) => {
                out.extend(items.iter().map(|item| scalar(item).unwrap_or_else(blank)))
            }
            _ => out.push(scalar(value).unwrap_or_else(blank)),
        }
    }

    fn json(&self) -> Option<&Value> {
        Some(self.value)
    }
}

/// A value as text: strings trimmed, numbers and booleans written, an array's first.
fn scalar(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(text) => clean(text).map(Cow::Borrowed),
        Value::Number(number) => Some(Cow::Owned(number.to_string())),
        Value::Bool(flag) => Some(Cow::Owned(flag.to_string())),
        Value::Array(items) => items.iter().find_map(scalar),
        Value::Null | Value::Object(_) => None,
    }
}

fn record(
    mapping: &ImportMapping,
    collector: &mut Collector<'_>,
    line: usize,
    text: &str,
) -> Result<(), ImportError> {
    let limits = collector.limits();
    if text.len() > limits.max_record_bytes {
        return collector.fail(
            line,
            Fault::new(
                None,
                format!(
                    "the record is {} bytes, over the limit of {}",
                    text.len(),
                    limits.max_record_bytes
                ),
            ),
        );
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Object(_)) => collector.row(
            line,
            &JsonRow {
                value: &value,
                slots: &mapping.slots,
            },
        ),
        Ok(_) => collector.fail(line, Fault::new(None, "a record must be a JSON object")),
        Err(error) => collector.fail(
            line,
            Fault::new(None, format!("not JSON: {}", without_position(&error))),
        ),
    }
}

/// serde_json's message without its " at line 1 column 5": rows name their own line.
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text.get(..at).unwrap_or(&text).to_string(),
        None => text,
    }
}

/// NDJSON: each non-blank line one record.
pub(crate) fn read_lines(
    mapping: &ImportMapping,
    text: &str,
    collector: &mut Collector<'_>,
) -> Result<(), ImportError> {
    for (index, line) in text.split('\n').enumerate() {
        let trimmed = line.trim();
        if !trimmed.is_empty() {
            record(mapping, collector, index + 1, trimmed)?;
        }
    }
    Ok(())
}

/// One JSON document holding the array of records.
pub(crate) fn read_array(
    mapping: &ImportMapping,
    text: &str,
    collector: &mut Collector<'_>,
) -> Result<(), ImportError> {
    if let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        return Err(ImportError::Json {
            line: error.line(),
            column: error.column(),
            message: without_position(&error),
        });
    }
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        pos: 0,
    };
    let pointer: String = mapping
        .records
        .iter()
        .map(|token| format!("/{}", token.replace('~', "~0").replace('/', "~1")))
        .collect();
    let not_found = |what: String| ImportError::Json {
        line: 1,
        column: 1,
        message: what,
    };
    scanner.ws();
    for token in &mapping.records {
        if !scanner.enter(token) {
            return Err(not_found(format!(
                "the document has no `{pointer}`: expected the array of records there"
            )));
        }
    }
    if scanner.peek() != Some(b'[') {
        return Err(not_found(if pointer.is_empty() {
            "the document is not an array: expected an array of records, or `[json] records` naming the pointer of one".to_string()
        } else {
            format!("`{pointer}` is not an array: expected the array of records")
        }));
    }
    scanner.pos += 1;
    let mut line = 1;
    let mut counted = 0;
    loop {
        scanner.ws();
        match scanner.peek() {
            None | Some(b']') => break,
            Some(_) => {}
        }
        let start = scanner.pos;
        scanner.skip();
        let end = scanner.pos;
        line += text
            .as_bytes()
            .get(counted..start)
            .unwrap_or_default()
            .iter()
            .filter(|byte| **byte == b'\n')
            .count();
        counted = start;
        record(
            mapping,
            collector,
            line,
            text.get(start..end).unwrap_or_default(),
        )?;
        scanner.ws();
        if scanner.peek() == Some(b',') {
            scanner.pos += 1;
        }
    }
    Ok(())
}

/// Walks a document serde_json has already validated.
struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Past a string, from its opening quote.
    fn string(&mut self) {
        self.pos += 1;
        while let Some(byte) = self.peek() {
            self.pos += 1;
            match byte {
                b'\\' => self.pos += 1,
                b'"' => return,
                _ => {}
            }
        }
    }

    /// Past one value, counting brackets rather than recursing.
    fn skip(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                None => return,
                Some(b'"') => self.string(),
                Some(b'{' | b'[') => {
                    depth += 1;
                    self.pos += 1;
                }
                Some(b'}' | b']') => {
                    if depth == 0 {
                        return;
                    }
                    depth -= 1;
                    self.pos += 1;
                }
                Some(b',') if depth == 0 => return,
                Some(_) => self.pos += 1,
            }
            if depth == 0 {
                // A scalar ends at a delimiter; a string or a closed container is done.
                if !matches!(self.peek(), Some(byte) if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'+' | b'.'))
                {
                    return;
                }
            }
        }
    }

    /// Into the member `token` of an object (or the element of an array), at its value.
    fn enter(&mut self, token: &str) -> bool {
        match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return false;
                    }
                    let start = self.pos;
                    self.string();
                    let key =
                        std::str::from_utf8(self.bytes.get(start..self.pos).unwrap_or_default())
                            .ok()
                            .and_then(|key| serde_json::from_str::<String>(key).ok());
                    self.ws();
                    self.pos += 1; // the colon
                    self.ws();
                    if key.as_deref() == Some(token) {
                        return true;
                    }
                    self.skip();
                    self.ws();
                    if self.peek() != Some(b',') {
                        return false;
                    }
                    self.pos += 1;
                }
            }
            Some(b'[') => {
                let Ok(index) = token.parse::<usize>() else {
                    return false;
                };
                self.pos += 1;
                for _ in 0..index {
                    self.ws();
                    if self.peek() == Some(b']') {
                        return false;
                    }
                    self.skip();
                    self.ws();
                    if self.peek() != Some(b',') {
                        return false;
                    }
                    self.pos += 1;
                }
                self.ws();
                self.peek().is_some_and(|byte| byte != b']')
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(text: &str) -> Vec<&str> {
        let mut scanner = Scanner {
            bytes: text.as_bytes(),
            pos: 0,
        };
        scanner.ws();
        assert_eq!(scanner.peek(), Some(b'['));
        scanner.pos += 1;
        let mut out = Vec::new();
        loop {
            scanner.ws();
            if matches!(scanner.peek(), None | Some(b']')) {
                break;
            }
            let start = scanner.pos;
            scanner.skip();
            out.push(&text[start..scanner.pos]);
            scanner.ws();
            if scanner.peek() == Some(b',') {
                scanner.pos += 1;
            }
        }
        out
    }

    #[test]
    fn splits_arrays_into_elements() {
        assert_eq!(
            elements(r#"[ {"a": "x,]}\"y"}, 12, -3.5e2, "s", [1, [2]], true, null ]"#),
            vec![
                r#"{"a": "x,]}\"y"}"#,
                "12",
                "-3.5e2",
                r#""s""#,
                "[1, [2]]",
                "true",
                "null"
            ]
        );
        assert_eq!(elements("[]"), Vec::<&str>::new());
    }

    #[test]
    fn enters_members_and_elements() {
        let text = r#"{"meta": {"x": [1]}, "data": {"cardholders": [{"id": 1}]}}"#;
        let mut scanner = Scanner {
            bytes: text.as_bytes(),
            pos: 0,
        };
        assert!(scanner.enter("data"));
        assert!(scanner.enter("cardholders"));
        assert!(text[scanner.pos..].starts_with("[{\"id\""));
        assert!(scanner.enter("0"));
        assert!(text[scanner.pos..].starts_with("{\"id\""));
        let mut scanner = Scanner {
            bytes: text.as_bytes(),
            pos: 0,
        };
        assert!(!scanner.enter("nothing"));
    }

    #[test]
    fn scalars_as_text() {
        let value: Value =
            serde_json::json!({"n": 4411, "s": " a ", "b": true, "l": ["", "x"], "z": null});
        assert_eq!(scalar(&value["n"]).as_deref(), Some("4411"));
        assert_eq!(scalar(&value["s"]).as_deref(), Some("a"));
        assert_eq!(scalar(&value["b"]).as_deref(), Some("true"));
        assert_eq!(scalar(&value["l"]).as_deref(), Some("x"));
        assert_eq!(scalar(&value["z"]), None);
    }
}
