//! String matching without allocation: case folding, Sigma wildcards, and numbers or addresses
//! rendered as text on the stack.

use std::fmt::Write as _;

use crate::record::Value;

/// Simple (one-to-one) lowercase folding, the same on both sides of every comparison.
pub(crate) fn fold(character: char) -> char {
    if character.is_ascii() {
        return character.to_ascii_lowercase();
    }
    let mut lower = character.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(single), None) => single,
        _ => character,
    }
}

pub(crate) fn fold_str(text: &str) -> String {
    text.chars().map(fold).collect()
}

/// One piece of a Sigma wildcard pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum GlobPiece {
    Char(char),
    /// `?`
    One,
    /// `*`
    Many,
}

/// Splits a Sigma value into pieces: `*` and `?` are wildcards, `\*`, `\?` and `\\` escape
/// them, and any other backslash is a literal one (as Windows paths need).
pub(crate) fn parse_wildcards(value: &str) -> Vec<GlobPiece> {
    let mut pieces = Vec::with_capacity(value.len());
    let mut characters = value.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '*' => {
                if pieces.last() != Some(&GlobPiece::Many) {
                    pieces.push(GlobPiece::Many);
                }
            }
            '?' => pieces.push(GlobPiece::One),
            '\\' => match characters.peek() {
                Some(&escaped @ ('*' | '?' | '\\')) => {
                    characters.next();
                    pieces.push(GlobPiece::Char(escaped));
                }
                _ => pieces.push(GlobPiece::Char('\\')),
            },
            other => pieces.push(GlobPiece::Char(other)),
        }
    }
    pieces
}

/// A compiled string test with the cheap shapes split out before the general glob.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TextPattern {
    pub shape: Shape,
    /// Case-sensitive; otherwise literals are stored folded.
    pub cased: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Shape {
    /// `*`: any text at all.
    Anything,
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    Glob(Vec<GlobPiece>),
}

impl TextPattern {
    pub fn new(mut pieces: Vec<GlobPiece>, cased: bool) -> Self {
        if !cased {
            for piece in &mut pieces {
                if let GlobPiece::Char(character) = piece {
                    *character = fold(*character);
                }
            }
        }
        let leading_star = pieces.first() == Some(&GlobPiece::Many);
        let trailing_star = pieces.len() > 1 && pieces.last() == Some(&GlobPiece::Many);
        let inner_start = usize::from(leading_star);
        let inner_end = pieces.len().saturating_sub(usize::from(trailing_star));
        let inner = pieces.get(inner_start..inner_end).unwrap_or(&[]);
        let literal: Option<String> = inner
            .iter()
            .map(|piece| match piece {
                GlobPiece::Char(character) => Some(*character),
                GlobPiece::One | GlobPiece::Many => None,
            })
            .collect();
        let shape = match (literal, leading_star, trailing_star) {
            (Some(text), true, _) if text.is_empty() => Shape::Anything,
            (Some(text), false, false) => Shape::Exact(text),
            (Some(text), false, true) => Shape::Prefix(text),
            (Some(text), true, false) => Shape::Suffix(text),
            (Some(text), true, true) => Shape::Contains(text),
            (None, _, _) => Shape::Glob(pieces),
        };
        TextPattern { shape, cased }
    }

    pub fn matches(&self, text: &str) -> bool {
        match &self.shape {
            Shape::Anything => true,
            Shape::Exact(needle) if self.cased => text == needle,
            Shape::Prefix(needle) if self.cased => text.starts_with(needle.as_str()),
            Shape::Suffix(needle) if self.cased => text.ends_with(needle.as_str()),
            Shape::Contains(needle) if self.cased => text.contains(needle.as_str()),
            Shape::Exact(needle) => equals_folded(text, needle),
            Shape::Prefix(needle) => starts_with_folded(text, needle),
            Shape::Suffix(needle) => ends_with_folded(text, needle),
            Shape::Contains(needle) => contains_folded(text, needle),
            Shape::Glob(pieces) => glob_matches(pieces, text, self.cased),
        }
    }
}

/// `text` equals `needle` once folded; `needle` is already folded.
pub(crate) fn equals_folded(text: &str, needle: &str) -> bool {
    if text.is_ascii() && needle.is_ascii() {
        return text.len() == needle.len()
            && text.as_bytes().eq_ignore_ascii_case(needle.as_bytes());
    }
    text.chars().map(fold).eq(needle.chars())
}

fn starts_with_folded(text: &str, needle: &str) -> bool {
    if text.is_ascii() && needle.is_ascii() {
        return text
            .as_bytes()
            .get(..needle.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(needle.as_bytes()));
    }
    let mut text_characters = text.chars();
    needle
        .chars()
        .all(|wanted| text_characters.next().map(fold) == Some(wanted))
}

fn ends_with_folded(text: &str, needle: &str) -> bool {
    if text.is_ascii() && needle.is_ascii() {
        return text
            .len()
            .checked_sub(needle.len())
            .and_then(|start| text.as_bytes().get(start..))
            .is_some_and(|tail| tail.eq_ignore_ascii_case(needle.as_bytes()));
    }
    let mut text_characters = text.chars().rev();
    needle
        .chars()
        .rev()
        .all(|wanted| text_characters.next().map(fold) == Some(wanted))
}

fn contains_folded(text: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if text.is_ascii() && needle.is_ascii() {
        let needle_bytes = needle.as_bytes();
        return text
            .as_bytes()
            .windows(needle_bytes.len())
            .any(|window| window.eq_ignore_ascii_case(needle_bytes));
    }
    text.char_indices().any(|(start, _)| {
        text.get(start..)
            .is_some_and(|rest| starts_with_folded(rest, needle))
    })
}

/// Wildcard matching with single-star backtracking: linear in practice, never exponential.
fn glob_matches(pieces: &[GlobPiece], text: &str, cased: bool) -> bool {
    let mut piece_index = 0;
    let mut text_index = 0;
    // After a `*`: the piece after it and the text position it is currently standing in for.
    let mut backtrack: Option<(usize, usize)> = None;
    loop {
        let next_character = text.get(text_index..).and_then(|rest| rest.chars().next());
        let Some(character) = next_character else {
            return pieces
                .get(piece_index..)
                .is_some_and(|rest| rest.iter().all(|piece| *piece == GlobPiece::Many));
        };
        let width = character.len_utf8();
        match pieces.get(piece_index) {
            Some(GlobPiece::Many) => {
                piece_index += 1;
                backtrack = Some((piece_index, text_index));
                continue;
            }
            Some(GlobPiece::One) => {
                piece_index += 1;
                text_index += width;
                continue;
            }
            Some(GlobPiece::Char(wanted)) => {
                let candidate = if cased { character } else { fold(character) };
                if candidate == *wanted {
                    piece_index += 1;
                    text_index += width;
                    continue;
                }
            }
            None => {}
        }
        let Some((resume_piece, star_text)) = backtrack else {
            return false;
        };
        let star_width = text
            .get(star_text..)
            .and_then(|rest| rest.chars().next())
            .map_or(1, char::len_utf8);
        piece_index = resume_piece;
        text_index = star_text + star_width;
        backtrack = Some((resume_piece, text_index));
    }
}

/// A small buffer that numbers and addresses are written into, so they can be matched as text
/// without allocating.
pub(crate) struct StackText {
    buffer: [u8; 64],
    length: usize,
}

impl StackText {
    fn new() -> Self {
        StackText {
            buffer: [0; 64],
            length: 0,
        }
    }

    fn as_str(&self) -> &str {
        self.buffer
            .get(..self.length)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .unwrap_or_default()
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        let end = self.length.checked_add(text.len()).ok_or(std::fmt::Error)?;
        let target = self
            .buffer
            .get_mut(self.length..end)
            .ok_or(std::fmt::Error)?;
        target.copy_from_slice(text.as_bytes());
        self.length = end;
        Ok(())
    }
}

/// Calls `test` with the value as text: strings as they are, booleans as `true`/`false`,
/// numbers and addresses in their usual notation. `None` for null and lists.
pub(crate) fn with_text<T>(value: &Value<'_>, test: impl FnOnce(&str) -> T) -> Option<T> {
    fn render<T>(args: std::fmt::Arguments<'_>, test: impl FnOnce(&str) -> T) -> T {
        let mut stack = StackText::new();
        if stack.write_fmt(args).is_ok() {
            test(stack.as_str())
        } else {
            // Only huge floats overflow the stack buffer.
            test(&std::fmt::format(args))
        }
    }
    match value {
        Value::Str(text) => Some(test(text)),
        Value::Owned(text) => Some(test(text)),
        Value::Bool(true) => Some(test("true")),
        Value::Bool(false) => Some(test("false")),
        Value::Int(number) => Some(render(format_args!("{number}"), test)),
        Value::Float(number) => Some(render(format_args!("{number}"), test)),
        Value::Ip(address) => Some(render(format_args!("{address}"), test)),
        Value::Null | Value::List(_) => None,
    }
}

/// The value as an owned string (for group keys and explanations); `None` for null.
pub(crate) fn value_to_string(value: &Value<'_>) -> Option<String> {
    match value {
        Value::List(items) => {
            let parts: Vec<String> = items.iter().filter_map(value_to_string).collect();
            if parts.is_empty() {
                None
            } else {
                Some(parts.join(","))
            }
        }
        other => with_text(other, str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(value: &str) -> TextPattern {
        TextPattern::new(parse_wildcards(value), false)
    }

    #[test]
    fn shapes_are_split_out() {
        assert_eq!(pattern("abc").shape, Shape::Exact("abc".into()));
        assert_eq!(pattern("AbC*").shape, Shape::Prefix("abc".into()));
        assert_eq!(pattern("*abc").shape, Shape::Suffix("abc".into()));
        assert_eq!(pattern("*abc*").shape, Shape::Contains("abc".into()));
        assert_eq!(pattern("*").shape, Shape::Anything);
        assert_eq!(pattern("**").shape, Shape::Anything);
        assert!(matches!(pattern("a*c").shape, Shape::Glob(_)));
        assert!(matches!(pattern("a?c").shape, Shape::Glob(_)));
        assert_eq!(pattern("a\\*c").shape, Shape::Exact("a*c".into()));
        // Sigma: `\*` is a literal star; `\\*` is a backslash and then a wildcard.
        assert_eq!(
            pattern("C:\\Windows\\*").shape,
            Shape::Exact("c:\\windows*".into())
        );
        assert_eq!(
            pattern("C:\\Windows\\\\*").shape,
            Shape::Prefix("c:\\windows\\".into())
        );
        assert_eq!(pattern("\\cmd.exe").shape, Shape::Exact("\\cmd.exe".into()));
    }

    #[test]
    fn case_insensitive_by_default_and_cased_on_request() {
        assert!(pattern("admin").matches("ADMIN"));
        assert!(pattern("*MIN").matches("xadmin"));
        assert!(pattern("ÄRGER*").matches("ärgerlich"));
        assert!(pattern("*straße*").matches("Hauptstraße 1"));
        let cased = TextPattern::new(parse_wildcards("Admin*"), true);
        assert!(cased.matches("Admins"));
        assert!(!cased.matches("admins"));
    }

    #[test]
    fn globs_match_like_sigma() {
        assert!(pattern("a*c").matches("abbbc"));
        assert!(pattern("a*c").matches("ac"));
        assert!(!pattern("a*c").matches("acb"));
        assert!(pattern("a?c").matches("abc"));
        assert!(!pattern("a?c").matches("ac"));
        assert!(pattern("*a*b*c*").matches("xxaxxbxxcxx"));
        assert!(!pattern("*a*b*c*").matches("cba"));
        assert!(pattern("ü?x").matches("üßx"));
        assert!(pattern("a\\?c").matches("a?c"));
        assert!(!pattern("a\\?c").matches("abc"));
        assert!(pattern("").matches(""));
        assert!(!pattern("").matches("x"));
    }

    #[test]
    fn values_render_as_text() {
        assert_eq!(
            with_text(&Value::Int(-42), str::to_owned),
            Some("-42".into())
        );
        assert_eq!(
            with_text(&Value::Bool(true), str::to_owned),
            Some("true".into())
        );
        assert_eq!(
            with_text(&Value::Float(1.5), str::to_owned),
            Some("1.5".into())
        );
        let huge = with_text(&Value::Float(1e300), str::len).unwrap();
        assert_eq!(huge, 301);
        let address: std::net::IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(
            with_text(&Value::Ip(address), str::to_owned),
            Some("2001:db8::1".into())
        );
        assert_eq!(with_text(&Value::Null, str::to_owned), None);
    }
}
