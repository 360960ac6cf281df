//! A JSON reader that builds `serde_json::Value`s directly, for the records adapters keep whole
//! as `raw` (Winlogbeat, Okta, Entra): one pass over the text, each string copied once.
//!
//! It gives the value `serde_json::from_str::<Value>` gives, or `None`. Whatever it does not
//! read itself it leaves to serde_json: a number other than a plain non-negative integer is
//! handed to serde_json token by token, and on `None` (a syntax error, a lone surrogate,
//! nesting deeper than [`MAX_DEPTH`]) the caller reads the whole text with serde_json, for its
//! value and for its error message. The tests hold the two readers together.

use serde_json::{Map, Value};

/// How deeply arrays and objects may nest before the reader hands the text to serde_json
/// (which allows 127 levels); also what bounds this reader's recursion.
const MAX_DEPTH: usize = 64;

/// The value of `text`, which must be one JSON value with only whitespace around it; `None`
/// for anything this reader leaves to serde_json.
pub(crate) fn value(text: &str) -> Option<Value> {
    let mut cursor = Cursor {
        text,
        bytes: text.as_bytes(),
        position: 0,
        depth: 0,
    };
    let value = cursor.value()?;
    cursor.skip_whitespace();
    (cursor.position == text.len()).then_some(value)
}

struct Cursor<'t> {
    text: &'t str,
    bytes: &'t [u8],
    position: usize,
    depth: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.position += 1;
        }
    }

    fn value(&mut self) -> Option<Value> {
        self.skip_whitespace();
        match self.peek()? {
            b'"' => self.string().map(Value::String),
            b'{' => self.object(),
            b'[' => self.array(),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Option<Value> {
        let end = self.position + word.len();
        if self.bytes.get(self.position..end)? != word.as_bytes() {
            return None;
        }
        self.position = end;
        Some(value)
    }

    /// A plain integer (`0`, or up to 19 digits without a leading zero: always a `u64`) is
    /// read here; any other number token goes to serde_json, so that negative zero, large
    /// integers and floats come out exactly as serde_json reads them.
    fn number(&mut self) -> Option<Value> {
        let start = self.position;
        let tail = self.bytes.get(start..)?;
        let length = tail
            .iter()
            .position(|byte| !matches!(byte, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
            .unwrap_or(tail.len());
        let token = self.text.get(start..start + length)?;
        self.position = start + length;
        let digits = token.as_bytes();
        let plain = (1..=19).contains(&digits.len())
            && digits.iter().all(u8::is_ascii_digit)
            && (digits.len() == 1 || !digits.starts_with(b"0"));
        if plain {
            return token.parse::<u64>().ok().map(Value::from);
        }
        match serde_json::from_str::<Value>(token).ok()? {
            number @ Value::Number(_) => Some(number),
            _ => None,
        }
    }

    /// A string from its opening quote; text without escapes is copied in one piece.
    #[inline(always)]
    fn string(&mut self) -> Option<String> {
        let start = self.position + 1;
        let end = start + string_stop(self.bytes.get(start..)?)?;
        if self.bytes.get(end) == Some(&b'"') {
            self.position = end + 1;
            return self.text.get(start..end).map(str::to_owned);
        }
        self.escaped_string(start, end)
    }

    /// The rest of a string holding escapes: `start` is where its text starts and `stop` the
    /// first backslash (or control character, which JSON forbids).
    #[inline(never)]
    fn escaped_string(&mut self, start: usize, mut stop: usize) -> Option<String> {
        let mut out = String::with_capacity(stop - start + 16);
        let mut piece = start;
        loop {
            out.push_str(self.text.get(piece..stop)?);
            match self.bytes.get(stop)? {
                b'"' => {
                    self.position = stop + 1;
                    return Some(out);
                }
                b'\\' => {}
                _ => return None,
            }
            piece = stop + 2;
            match self.bytes.get(stop + 1)? {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let (character, used) = self.unicode_escape(piece)?;
                    out.push(character);
                    piece += used;
                }
                _ => return None,
            }
            stop = piece + string_stop(self.bytes.get(piece..)?)?;
        }
    }

    /// The character of a `\u` escape whose four digits start at `at`, with how many bytes
    /// after the `\u` it took: four, or ten for a surrogate pair. A lone surrogate is `None`.
    fn unicode_escape(&self, at: usize) -> Option<(char, usize)> {
        let first = self.hex4(at)?;
        if !(0xD800..0xDC00).contains(&first) {
            return Some((char::from_u32(first)?, 4));
        }
        if self.bytes.get(at + 4..at + 6)? != b"\\u" {
            return None;
        }
        let second = self.hex4(at + 6)?;
        if !(0xDC00..0xE000).contains(&second) {
            return None;
        }
        let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
        Some((char::from_u32(code)?, 10))
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.text.get(at..at + 4)?;
        if !digits.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(digits, 16).ok()
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        self.position += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn array(&mut self) -> Option<Value> {
        self.enter()?;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.position += 1;
        } else {
            loop {
                items.push(self.value()?);
                self.skip_whitespace();
                match self.peek()? {
                    b',' => self.position += 1,
                    b']' => {
                        self.position += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(Value::Array(items))
    }

    /// An object; a key written twice keeps its last value, as in serde_json's.
    fn object(&mut self) -> Option<Value> {
        self.enter()?;
        let mut map = Map::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.position += 1;
        } else {
            loop {
                self.skip_whitespace();
                if self.peek()? != b'"' {
                    return None;
                }
                let key = self.string()?;
                self.skip_whitespace();
                if self.peek()? != b':' {
                    return None;
                }
                self.position += 1;
                let value = self.value()?;
                map.insert(key, value);
                self.skip_whitespace();
                match self.peek()? {
                    b',' => self.position += 1,
                    b'}' => {
                        self.position += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(Value::Object(map))
    }
}

/// Where a string's plain run ends: at its closing quote, a backslash, or a control
/// character (which JSON forbids in strings). Looked for eight bytes at a time.
fn string_stop(bytes: &[u8]) -> Option<usize> {
    const SEVEN_BITS: u64 = u64::from_le_bytes([0x7F; 8]);
    const HIGH_BITS: u64 = u64::from_le_bytes([0x80; 8]);
    const QUOTES: u64 = u64::from_le_bytes([b'"'; 8]);
    const BACKSLASHES: u64 = u64::from_le_bytes([b'\\'; 8]);
    // Added to a byte's low seven bits, carries into its high bit from 0x20 up.
    const FROM_SPACE: u64 = u64::from_le_bytes([0x80 - 0x20; 8]);
    // The high bit of each byte set exactly where that byte of `x` is zero.
    let zero = |x: u64| !(((x & SEVEN_BITS).wrapping_add(SEVEN_BITS)) | x) & HIGH_BITS;
    let (words, tail) = bytes.as_chunks::<8>();
    for (index, word) in words.iter().enumerate() {
        let word = u64::from_le_bytes(*word);
        let control = !(((word & SEVEN_BITS).wrapping_add(FROM_SPACE)) | word) & HIGH_BITS;
        let flagged = zero(word ^ QUOTES) | zero(word ^ BACKSLASHES) | control;
        if flagged != 0 {
            return Some(index * 8 + (flagged.trailing_zeros() / 8) as usize);
        }
    }
    let start = words.len() * 8;
    tail.iter()
        .position(|byte| matches!(byte, b'"' | b'\\' | 0x00..=0x1F))
        .map(|at| start + at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same_as_serde(text: &str) {
        let expected = serde_json::from_str::<Value>(text).ok();
        let found = value(text);
        match (&found, &expected) {
            (Some(found), Some(expected)) => assert_eq!(found, expected, "{text}"),
            // Left to serde_json: fine whatever serde_json makes of it.
            (None, _) => {}
            (Some(found), None) => panic!("{text}: read {found} where serde_json refuses it"),
        }
    }

    proptest! {
        #[test]
        fn strings_stop_where_a_plain_search_stops(bytes in prop::collection::vec(any::<u8>(), 0..40)) {
            prop_assert_eq!(
                string_stop(&bytes),
                bytes.iter().position(|byte| matches!(byte, b'"' | b'\\' | 0x00..=0x1F))
            );
        }
    }

    #[test]
    fn values_as_serde_json_reads_them() {
        for text in [
            r#"{"a":1,"b":[true,false,null],"c":{"d":"e"},"f":-2,"g":1.5,"h":"x\"y\\z\/"}"#,
            r#" { "a" : [ ] , "b" : { } } "#,
            r#"{"a":"\u00e9\ud83d\ude00\b\f\n\r\t","b":"C:\\Windows\\System32"}"#,
            r#"{"k":1,"k":2}"#,
            r#"{"n":[0,-0,1e3,1E-3,18446744073709551615,18446744073709551616,-9223372036854775808,123456789012345678901]}"#,
            r#""plain""#,
            "7",
            "[]",
            r#"{"ä":"ö","€":"😀"}"#,
        ] {
            same_as_serde(text);
            assert!(value(text).is_some(), "{text}");
        }
    }

    #[test]
    fn what_serde_json_refuses_is_left_to_it() {
        for text in [
            "",
            "{",
            "{}x",
            "{} {}",
            r#"{"a":1,}"#,
            "[1,]",
            r#"{"a" 1}"#,
            r#"{a:1}"#,
            "01",
            "1.",
            "-",
            "+1",
            "tru",
            "nul",
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud800\u0041""#,
            r#""\x""#,
            r#""\u12g4""#,
            r#""\u+123""#,
            "\"a\u{1}b\"",
            "\"open",
            "\u{feff}{}",
        ] {
            assert_eq!(value(text), None, "{text:?}");
        }
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(value(&deep), None);
        let fits = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        same_as_serde(&fits);
        assert!(value(&fits).is_some());
    }

    /// Arbitrary JSON values, printed compactly or with whitespace.
    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |number| number.is_finite())
                .prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[a-z\\\\\"/ ]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                prop::collection::vec(("[a-d]{0,2}", inner), 0..8)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_value_reads_as_serde_json_reads_it(original in json(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&original).unwrap()
            } else {
                serde_json::to_string(&original).unwrap()
            };
            same_as_serde(&text);
            prop_assert!(value(&text).is_some());
        }

        #[test]
        fn any_text_reads_as_serde_json_reads_it(text in "[\\[\\]{}\",:0-9a-z\\\\ .eE+-]{0,40}") {
            same_as_serde(&text);
        }

        #[test]
        fn damaged_records_read_as_serde_json_reads_them(
            original in json(),
            cut in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let mut text = serde_json::to_string(&original).unwrap().into_bytes();
            if !text.is_empty() {
                let at = cut.index(text.len());
                text[at] = byte;
            }
            if let Ok(text) = String::from_utf8(text) {
                same_as_serde(&text);
            }
        }
    }
}
