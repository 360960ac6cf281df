//! CSV as vendors write it (RFC 4180): fields separated by one character, quoted fields may
//! hold separators, doubled quotes and line breaks. A malformed record is reported on its
//! own and reading resumes at the next line.

/// One record: the line it starts on, its text and its fields (or why it is malformed).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CsvRecord<'a> {
    pub(crate) line: usize,
    pub(crate) text: &'a str,
    pub(crate) fields: Result<Vec<String>, String>,
}

/// Every non-blank record of `text`.
pub(crate) fn records(text: &str, delimiter: char) -> Vec<CsvRecord<'_>> {
    let mut records = Vec::new();
    let mut rest = text;
    let mut line = 1;
    while !rest.is_empty() {
        let (fields, consumed, lines_used) = read_record(rest, delimiter);
        let record_text = rest.get(..consumed).unwrap_or(rest);
        let trimmed = record_text.trim_end_matches(['\r', '\n']);
        if !trimmed.trim().is_empty() {
            records.push(CsvRecord {
                line,
                text: trimmed,
                fields,
            });
        }
        line += lines_used;
        rest = rest.get(consumed..).unwrap_or_default();
        if consumed == 0 {
            break;
        }
    }
    records
}

/// Splits one line of CSV (no line breaks inside quotes expected).
pub(crate) fn split_line(text: &str, delimiter: char) -> Result<Vec<String>, String> {
    let (fields, consumed, _) = read_record(text, delimiter);
    if consumed < text.len() && !text.get(consumed..).unwrap_or_default().trim().is_empty() {
        return Err("a line break inside the record".to_string());
    }
    fields
}

/// Reads one record from the start of `text`: the fields, the bytes consumed (including the
/// line ending) and the number of lines they span.
fn read_record(text: &str, delimiter: char) -> (Result<Vec<String>, String>, usize, usize) {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = text.char_indices().peekable();
    let mut lines = 1;
    let mut error: Option<String> = None;
    // At the start of a field, inside quotes, or after the closing quote.
    let mut in_quotes = false;
    let mut field_start = true;
    let mut after_quote = false;
    while let Some((position, c)) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek().is_some_and(|(_, next)| *next == '"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => {
                    in_quotes = false;
                    after_quote = true;
                }
                '\n' => {
                    lines += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        if c == '\n' || (c == '\r' && chars.peek().is_some_and(|(_, next)| *next == '\n')) {
            if c == '\r' {
                chars.next();
            }
            fields.push(std::mem::take(&mut field));
            let consumed = chars.peek().map_or(text.len(), |(next, _)| *next);
            return (finish(fields, error), consumed, lines);
        }
        if c == delimiter {
            fields.push(std::mem::take(&mut field));
            field_start = true;
            after_quote = false;
            continue;
        }
        if after_quote {
            if error.is_none() && !c.is_whitespace() {
                error = Some(format!(
                    "unexpected `{c}` after a closing quote at byte {position}"
                ));
            }
            continue;
        }
        if c == '"' && field_start && field.trim().is_empty() {
            field.clear();
            in_quotes = true;
            field_start = false;
            continue;
        }
        field_start = false;
        field.push(c);
    }
    if in_quotes {
        error.get_or_insert_with(|| "a quoted field is not closed".to_string());
    }
    fields.push(field);
    (finish(fields, error), text.len(), lines)
}

fn finish(fields: Vec<String>, error: Option<String>) -> Result<Vec<String>, String> {
    match error {
        Some(error) => Err(error),
        None => Ok(fields),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<Result<Vec<String>, String>> {
        records(text, ',').into_iter().map(|r| r.fields).collect()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn quotes_separators_and_doubled_quotes() {
        assert_eq!(
            fields("a,\"b,c\",\"say \"\"hi\"\"\",\n"),
            vec![Ok(strings(&["a", "b,c", "say \"hi\"", ""]))]
        );
    }

    #[test]
    fn line_breaks_inside_quotes_keep_line_numbers() {
        let parsed = records("h1,h2\r\n\"x\ny\",2\n\nlast,3", ',');
        assert_eq!(parsed.iter().map(|r| r.line).collect::<Vec<_>>(), [1, 2, 5]);
        assert_eq!(parsed[1].fields, Ok(strings(&["x\ny", "2"])));
        assert_eq!(parsed[1].text, "\"x\ny\",2");
    }

    #[test]
    fn a_bad_record_does_not_spoil_the_next() {
        let parsed = fields("\"a\"b,c\nd,e\n");
        assert_eq!(
            parsed[0],
            Err("unexpected `b` after a closing quote at byte 3".to_string())
        );
        assert_eq!(parsed[1], Ok(strings(&["d", "e"])));
        let unclosed = fields("ok,1\n\"never closed,2\n");
        assert_eq!(unclosed[1], Err("a quoted field is not closed".to_string()));
    }

    #[test]
    fn other_delimiters_and_bare_quotes() {
        assert_eq!(
            records("a;b\"c;d", ';')[0].fields,
            Ok(strings(&["a", "b\"c", "d"]))
        );
        assert_eq!(
            split_line("1,\"OS 10, 64-bit\",x", ','),
            Ok(strings(&["1", "OS 10, 64-bit", "x"]))
        );
        assert!(split_line("a\nb", ',').is_err());
    }
}
