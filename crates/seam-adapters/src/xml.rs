//! A small, strict XML reader for the records vendors send one element at a time (Windows
//! events): elements, attributes in either quote, text, CDATA, the five predefined entities
//! and numeric character references. Comments and processing instructions are passed over.
//! A document type declaration is refused, so no entity is ever defined or expanded, and the
//! nesting depth, element count and attribute count are bounded.
//!
//! The elements of one record are kept flat, in document order, each with its parent: text
//! without references borrows from the input, so a record costs a handful of allocations.

use std::borrow::Cow;
use std::ops::Range;

use crate::common;

/// How deep elements may nest (an event is four levels deep).
pub(crate) const MAX_DEPTH: usize = 32;
/// How many elements one record may hold.
pub(crate) const MAX_ELEMENTS: usize = 10_000;
/// How many attributes one element may carry.
pub(crate) const MAX_ATTRIBUTES: usize = 64;

/// One element: its name as written (a prefix kept), its parent and its text (the pieces
/// directly inside it, joined, references replaced).
#[derive(Debug)]
pub(crate) struct Element<'a> {
    pub(crate) name: &'a str,
    pub(crate) parent: Option<usize>,
    attributes: Range<usize>,
    pub(crate) text: Cow<'a, str>,
}

/// One element read whole, with everything inside it.
#[derive(Debug, Default)]
pub(crate) struct Document<'a> {
    elements: Vec<Element<'a>>,
    attributes: Vec<(&'a str, Cow<'a, str>)>,
    /// The elements open while reading, innermost last.
    open: Vec<usize>,
}

impl<'a> Document<'a> {
    /// The outermost element: always index 0 of a document that was read.
    pub(crate) const ROOT: usize = 0;

    /// How many elements the document holds.
    pub(crate) fn len(&self) -> usize {
        self.elements.len()
    }

    pub(crate) fn get(&self, index: usize) -> Option<&Element<'a>> {
        self.elements.get(index)
    }

    /// The direct children of `parent`, in document order, with their indices.
    pub(crate) fn children(&self, parent: usize) -> impl Iterator<Item = (usize, &Element<'a>)> {
        self.elements
            .iter()
            .enumerate()
            .skip(parent + 1)
            .filter(move |(_, element)| element.parent == Some(parent))
    }

    /// The first direct child of `parent` named `name`.
    pub(crate) fn child(&self, parent: usize, name: &str) -> Option<usize> {
        self.children(parent)
            .find(|(_, element)| element.name == name)
            .map(|(index, _)| index)
    }

    pub(crate) fn attributes(&self, index: usize) -> &[(&'a str, Cow<'a, str>)] {
        self.elements
            .get(index)
            .and_then(|element| self.attributes.get(element.attributes.clone()))
            .unwrap_or_default()
    }

    pub(crate) fn attribute(&self, index: usize, name: &str) -> Option<&str> {
        self.attributes(index)
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_ref())
    }
}

/// Reads the element at the start of `text` (whitespace before it allowed). Returns it and
/// the number of bytes it took; what follows is the caller's.
#[cfg_attr(not(test), expect(dead_code, reason = "the adapters reuse a document"))]
pub(crate) fn element(text: &str) -> Result<(Document<'_>, usize), String> {
    let mut document = Document::default();
    let used = document.read(text)?;
    Ok((document, used))
}

impl<'a> Document<'a> {
    /// [`element`] into this document, replacing what it held: its buffers are reused from
    /// one record to the next.
    pub(crate) fn read(&mut self, text: &'a str) -> Result<usize, String> {
        self.elements.clear();
        self.attributes.clear();
        self.open.clear();
        let mut reader = Reader {
            text,
            bytes: text.as_bytes(),
            position: 0,
            document: self,
        };
        reader.skip_whitespace();
        if !reader.rest().starts_with('<') {
            return Err(reader.error("expected an element"));
        }
        reader.run()?;
        Ok(reader.position)
    }
}

struct Reader<'a, 'd> {
    text: &'a str,
    bytes: &'a [u8],
    position: usize,
    document: &'d mut Document<'a>,
}

impl<'a> Reader<'a, '_> {
    fn rest(&self) -> &'a str {
        self.text.get(self.position..).unwrap_or_default()
    }

    /// The byte `ahead` bytes past the position.
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.position + ahead).copied()
    }

    fn at(&self, markup: &[u8]) -> bool {
        self.bytes
            .get(self.position..)
            .is_some_and(|rest| rest.starts_with(markup))
    }

    fn error(&self, what: &str) -> String {
        format!("{what} at byte {}", self.position)
    }

    fn skip_whitespace(&mut self) {
        while self
            .bytes
            .get(self.position)
            .is_some_and(|byte| matches!(byte, b' ' | b'\t' | b'\r' | b'\n'))
        {
            self.position += 1;
        }
    }

    /// Moves past `end`, which must come later in the input; `what` names the markup.
    fn skip_past(&mut self, end: &str, what: &str) -> Result<&'a str, String> {
        let rest = self.rest();
        let Some(at) = rest.find(end) else {
            return Err(self.error(&format!("{what} is not closed")));
        };
        self.position += at + end.len();
        Ok(rest.get(..at).unwrap_or_default())
    }

    fn run(&mut self) -> Result<(), String> {
        loop {
            let Some(next) = self.peek(0) else {
                let open = self
                    .document
                    .open
                    .last()
                    .and_then(|index| self.document.get(*index))
                    .map_or("", |element| element.name);
                return Err(self.error(&format!("the input ends inside <{open}>")));
            };
            if next != b'<' {
                self.text_run()?;
                continue;
            }
            let after = self.peek(1);
            if after == Some(b'/') {
                self.end_tag()?;
                if self.document.open.is_empty() {
                    return Ok(());
                }
            } else if after == Some(b'!') {
                if self.at(b"<!--") {
                    self.position += 4;
                    self.skip_past("-->", "a comment")?;
                } else if self.at(b"<![CDATA[") {
                    self.position += 9;
                    let content = self.skip_past("]]>", "a CDATA section")?;
                    self.append_text(Cow::Borrowed(content));
                } else {
                    return Err(self.error("a document type declaration is not read"));
                }
            } else if after == Some(b'?') {
                self.position += 2;
                self.skip_past("?>", "a processing instruction")?;
            } else {
                let closed = self.start_tag()?;
                if closed && self.document.open.is_empty() {
                    return Ok(());
                }
            }
        }
    }

    /// `<name attr="value" …>` or `<name … />`; true when the element closed itself.
    fn start_tag(&mut self) -> Result<bool, String> {
        self.position += 1;
        let name = self.name()?;
        if self.document.elements.len() >= MAX_ELEMENTS {
            return Err(self.error(&format!("more than {MAX_ELEMENTS} elements")));
        }
        if self.document.open.len() >= MAX_DEPTH {
            return Err(self.error(&format!("elements nested deeper than {MAX_DEPTH}")));
        }
        let first_attribute = self.document.attributes.len();
        let self_closing = loop {
            let before = self.position;
            self.skip_whitespace();
            match (self.peek(0), self.peek(1)) {
                (Some(b'/'), Some(b'>')) => {
                    self.position += 2;
                    break true;
                }
                (Some(b'>'), _) => {
                    self.position += 1;
                    break false;
                }
                (None, _) => {
                    return Err(self.error(&format!("the input ends inside the tag <{name}")));
                }
                _ => {}
            }
            if self.position == before {
                return Err(self.error(&format!("expected a space, `>` or `/>` in <{name}>")));
            }
            let (key, value) = self.attribute()?;
            let taken = self
                .document
                .attributes
                .get(first_attribute..)
                .unwrap_or_default();
            if taken.iter().any(|(seen, _)| *seen == key) {
                return Err(self.error(&format!("attribute `{key}` repeated in <{name}>")));
            }
            if taken.len() >= MAX_ATTRIBUTES {
                return Err(self.error(&format!("more than {MAX_ATTRIBUTES} attributes")));
            }
            self.document.attributes.push((key, value));
        };
        let index = self.document.elements.len();
        self.document.elements.push(Element {
            name,
            parent: self.document.open.last().copied(),
            attributes: first_attribute..self.document.attributes.len(),
            text: Cow::Borrowed(""),
        });
        if !self_closing {
            self.document.open.push(index);
        }
        Ok(self_closing)
    }

    /// `name = "value"` or `name='value'`, the value's references replaced.
    fn attribute(&mut self) -> Result<(&'a str, Cow<'a, str>), String> {
        let key = self.name()?;
        self.skip_whitespace();
        if self.peek(0) != Some(b'=') {
            return Err(self.error(&format!("expected `=` after the attribute `{key}`")));
        }
        self.position += 1;
        self.skip_whitespace();
        let quote = match self.peek(0) {
            Some(quote @ (b'"' | b'\'')) => quote,
            _ => return Err(self.error(&format!("the value of `{key}` is not quoted"))),
        };
        self.position += 1;
        let start = self.position;
        let Some(length) = common::find_byte(self.bytes.get(start..).unwrap_or_default(), quote)
        else {
            return Err(self.error("an attribute value is not closed"));
        };
        let raw = self.text.get(start..start + length).unwrap_or_default();
        let mut references = false;
        if let Some(at) = common::find_either(raw.as_bytes(), b'<', b'&') {
            if raw.as_bytes().get(at..).unwrap_or_default().contains(&b'<') {
                return Err(self.error(&format!("`<` in the value of `{key}`")));
            }
            references = true;
        }
        self.position = start + length + 1;
        if !references {
            return Ok((key, Cow::Borrowed(raw)));
        }
        let value = decode(raw).map_err(|reason| format!("{reason} at byte {start}"))?;
        Ok((key, value))
    }

    /// `</name>`, which must close the innermost open element.
    fn end_tag(&mut self) -> Result<(), String> {
        let start = self.position;
        self.position += 2;
        let name = self.name()?;
        self.skip_whitespace();
        if self.peek(0) != Some(b'>') {
            return Err(self.error(&format!("expected `>` after </{name}")));
        }
        self.position += 1;
        let Some(open) = self.document.open.pop() else {
            self.position = start;
            return Err(self.error(&format!("</{name}> closes nothing")));
        };
        let expected = self.document.get(open).map_or("", |element| element.name);
        if expected != name {
            self.position = start;
            return Err(self.error(&format!("</{name}> where </{expected}> was expected")));
        }
        Ok(())
    }

    /// Characters up to the next markup, into the innermost open element.
    fn text_run(&mut self) -> Result<(), String> {
        let start = self.position;
        let rest = self.rest();
        let bytes = rest.as_bytes();
        let (length, references) = match common::find_either(bytes, b'<', b'&') {
            Some(at) if bytes.get(at) == Some(&b'&') => {
                let after = bytes.get(at..).unwrap_or_default();
                (
                    common::find_byte(after, b'<').map_or(rest.len(), |end| at + end),
                    true,
                )
            }
            Some(at) => (at, false),
            None => (rest.len(), false),
        };
        self.position += length;
        let piece = rest.get(..length).unwrap_or_default();
        if self.document.open.is_empty() {
            self.position = start;
            return Err(self.error("text outside the element"));
        }
        let piece = if references {
            decode(piece).map_err(|reason| format!("{reason} at byte {start}"))?
        } else {
            Cow::Borrowed(piece)
        };
        self.append_text(piece);
        Ok(())
    }

    fn append_text(&mut self, piece: Cow<'a, str>) {
        if piece.is_empty() {
            return;
        }
        let Some(index) = self.document.open.last().copied() else {
            return;
        };
        let Some(element) = self.document.elements.get_mut(index) else {
            return;
        };
        if element.text.is_empty() {
            element.text = piece;
        } else {
            element.text.to_mut().push_str(&piece);
        }
    }

    /// An XML name: a letter, `_` or `:` (or any non-ASCII letter), then those, digits,
    /// `-` and `.`.
    fn name(&mut self) -> Result<&'a str, String> {
        let rest = self.rest();
        // ASCII names (all of Windows') are measured byte by byte.
        let ascii = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-' | b'.'))
            .count();
        let first_fits = rest
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'_' | b':'));
        if first_fits && rest.as_bytes().get(ascii).is_none_or(u8::is_ascii) {
            self.position += ascii;
            return Ok(rest.get(..ascii).unwrap_or_default());
        }
        let mut length = 0;
        for (offset, c) in rest.char_indices() {
            let fits = if offset == 0 {
                c.is_alphabetic() || c == '_' || c == ':'
            } else {
                c.is_alphanumeric() || matches!(c, '_' | ':' | '-' | '.') || !c.is_ascii()
            };
            if !fits {
                break;
            }
            length = offset + c.len_utf8();
        }
        if length == 0 {
            return Err(self.error("expected a name"));
        }
        self.position += length;
        Ok(rest.get(..length).unwrap_or_default())
    }
}

/// Text with its references replaced: `&lt;` `&gt;` `&amp;` `&apos;` `&quot;`, `&#NN;` and
/// `&#xHH;`. Borrowed when there is none.
pub(crate) fn decode(raw: &str) -> Result<Cow<'_, str>, String> {
    if !raw.contains('&') {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(rest.get(..at).unwrap_or_default());
        let after = rest.get(at + 1..).unwrap_or_default();
        // The longest reference is `&#x10FFFF;`; a name longer than that is no reference.
        let end = after
            .get(..after.len().min(12))
            .and_then(|window| window.find(';'))
            .ok_or("`&` that starts no reference")?;
        let name = after.get(..end).unwrap_or_default();
        out.push(reference(name)?);
        rest = after.get(end + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

fn reference(name: &str) -> Result<char, String> {
    let code = match name {
        "lt" => return Ok('<'),
        "gt" => return Ok('>'),
        "amp" => return Ok('&'),
        "apos" => return Ok('\''),
        "quot" => return Ok('"'),
        _ => {
            let number = name
                .strip_prefix('#')
                .ok_or_else(|| format!("unknown entity `&{name};`"))?;
            let parsed = match number.strip_prefix('x') {
                Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    u32::from_str_radix(hex, 16).ok()
                }
                None if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) => {
                    number.parse().ok()
                }
                _ => None,
            };
            parsed.ok_or_else(|| format!("malformed character reference `&{name};`"))?
        }
    };
    // XML 1.0 characters: tab, line feed, carriage return and everything from the space up,
    // without the surrogates (which `char` refuses) and U+FFFE, U+FFFF.
    let allowed =
        matches!(code, 0x9 | 0xA | 0xD) || (code >= 0x20 && code != 0xFFFE && code != 0xFFFF);
    char::from_u32(code)
        .filter(|_| allowed)
        .ok_or_else(|| format!("character reference `&{name};` is not an XML character"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Document<'_> {
        let (document, used) = element(text).unwrap();
        assert_eq!(text.get(used..).unwrap().trim(), "", "{text}");
        document
    }

    #[test]
    fn elements_attributes_and_text() {
        let document = read(
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name=\"Microsoft-Windows-Security-Auditing\" Guid='{5484}'/><EventID>4624</EventID></System><EventData><Data Name='TargetUserName'>bob</Data><Data Name='Empty'/></EventData></Event>",
        );
        let system = document.child(Document::ROOT, "System").unwrap();
        let provider = document.child(system, "Provider").unwrap();
        assert_eq!(
            document.attribute(provider, "Name"),
            Some("Microsoft-Windows-Security-Auditing")
        );
        assert_eq!(document.attribute(provider, "Guid"), Some("{5484}"));
        let id = document.child(system, "EventID").unwrap();
        assert_eq!(document.get(id).unwrap().text, "4624");
        let data = document.child(Document::ROOT, "EventData").unwrap();
        let values: Vec<(&str, &str)> = document
            .children(data)
            .map(|(index, element)| {
                (
                    document.attribute(index, "Name").unwrap(),
                    element.text.as_ref(),
                )
            })
            .collect();
        assert_eq!(values, [("TargetUserName", "bob"), ("Empty", "")]);
    }

    #[test]
    fn entities_character_references_and_cdata() {
        let document = read(
            "<a t=\"&quot;x&quot; &amp; &#39;y&#x27;\">&lt;b&gt; &apos;&#233;&#x1F600;<![CDATA[<raw> & ]]>end</a>",
        );
        assert_eq!(document.attribute(0, "t"), Some("\"x\" & 'y'"));
        assert_eq!(document.get(0).unwrap().text, "<b> 'é😀<raw> & end");
        // Plain text borrows.
        let plain = read("<a>plain</a>");
        assert!(matches!(plain.get(0).unwrap().text, Cow::Borrowed("plain")));
        for bad in [
            "<a>&nbsp;</a>",
            "<a>& b</a>",
            "<a>&#;</a>",
            "<a>&#x;</a>",
            "<a>&#0;</a>",
            "<a>&#xD800;</a>",
            "<a>&#x110000;</a>",
            "<a>&#99999999999;</a>",
            "<a>&#xFFFE;</a>",
            "<a x='&bogus;'/>",
        ] {
            assert!(element(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn comments_and_instructions_are_passed_over() {
        let document = read("<a><?pi x?><!-- a <b> comment --><b/>text</a>");
        assert_eq!(document.children(0).count(), 1);
        assert_eq!(document.get(0).unwrap().text, "text");
    }

    #[test]
    fn the_element_ends_where_its_end_tag_does() {
        let text = "<a/>\n<b>x</b>";
        let (document, used) = element(text).unwrap();
        assert_eq!(used, 4);
        assert_eq!(document.get(0).unwrap().name, "a");
        let (_, used) = element(" <a >x</a > tail").unwrap();
        assert_eq!(used, 11);
    }

    #[test]
    fn nesting_is_limited() {
        let deep = |levels: usize| {
            let mut text = String::new();
            for _ in 0..levels {
                text.push_str("<a>");
            }
            for _ in 0..levels {
                text.push_str("</a>");
            }
            text
        };
        assert!(element(&deep(MAX_DEPTH)).is_ok());
        let error = element(&deep(MAX_DEPTH + 1)).unwrap_err();
        assert!(
            error.starts_with("elements nested deeper than 32"),
            "{error}"
        );
        // Many siblings are fine up to the element limit.
        let wide = format!("<a>{}</a>", "<b/>".repeat(MAX_ELEMENTS));
        assert!(
            element(&wide)
                .unwrap_err()
                .starts_with("more than 10000 elements")
        );
        let attributes: String = (0..=MAX_ATTRIBUTES).map(|n| format!(" a{n}='1'")).collect();
        assert!(element(&format!("<a{attributes}/>")).is_err());
    }

    #[test]
    fn malformed_input_is_refused_with_a_reason() {
        for (text, expected) in [
            ("", "expected an element at byte 0"),
            ("text", "expected an element at byte 0"),
            ("<a>", "the input ends inside <a>"),
            ("<a><b></a>", "</a> where </b> was expected at byte 6"),
            ("<a></b>", "</b> where </a> was expected"),
            ("<a x=1/>", "the value of `x` is not quoted"),
            ("<a x='1' x='2'/>", "attribute `x` repeated in <a>"),
            ("<a x='1'y='2'/>", "expected a space, `>` or `/>` in <a>"),
            ("<a x='<'/>", "`<` in the value of `x`"),
            ("<a x", "expected `=` after the attribute `x`"),
            ("<a x='1", "an attribute value is not closed"),
            ("<1a/>", "expected a name"),
            ("< a/>", "expected a name"),
            ("<a><!-- open </a>", "a comment is not closed"),
            ("<a><![CDATA[ open </a>", "a CDATA section is not closed"),
            (
                "<!DOCTYPE a [<!ENTITY x 'y'>]><a/>",
                "a document type declaration is not read",
            ),
            ("<a></a  x>", "expected `>` after </a"),
            ("<a", "the input ends inside the tag <a"),
        ] {
            let error = element(text).unwrap_err();
            assert!(error.starts_with(expected), "{text}: {error}");
        }
    }

    #[test]
    fn garbage_never_panics() {
        let samples = [
            "<",
            "<<",
            "</",
            "</>",
            "<a/",
            "<a b",
            "<a b=",
            "<a b='",
            "<a>&",
            "<a>&#x",
            "<a>]]>",
            "<a><!",
            "<a><?",
            "<a><![CDATA[",
            "<é/>",
            "<a é='1'/>",
            "<a>\u{0}</a>",
            "<:a/>",
        ];
        for sample in samples {
            let _ = element(sample);
            for cut in 0..=sample.len() {
                if let Some(prefix) = sample.get(..cut) {
                    let _ = element(prefix);
                }
            }
        }
    }
}
