//! LDIF content records (RFC 2849) as `ldifde` and `ldapsearch` export them: entries
//! separated by blank lines, folded lines, `#` comments, base64 values after `::`. Only the
//! attributes the mapping reads are unfolded and decoded (a photo is passed over, not copied).

use std::borrow::Cow;
use std::collections::HashMap;
use std::iter::Peekable;

use super::mapping::ImportMapping;
use super::rows::{Row, clean};
use super::{Collector, Fault, ImportError, Limits, quote};

/// One entry: the line of its `dn:`, the values of the attributes the mapping reads (by
/// slot), its object classes in lowercase, and the first problem found in it.
#[derive(Debug)]
pub(crate) struct Entry<'a> {
    pub(crate) line: usize,
    pub(crate) dn: Option<Cow<'a, str>>,
    pub(crate) attrs: Vec<(usize, Cow<'a, str>)>,
    pub(crate) classes: Vec<String>,
    pub(crate) fault: Option<Fault>,
}

impl Entry<'_> {
    fn new(line: usize) -> Self {
        Entry {
            line,
            dn: None,
            attrs: Vec::new(),
            classes: Vec::new(),
            fault: None,
        }
    }

    fn fault(&mut self, field: Option<&str>, message: impl Into<String>) {
        if self.fault.is_none() {
            self.fault = Some(Fault::new(field, message));
        }
    }
}

struct LdifRow<'e, 'a> {
    entry: &'e Entry<'a>,
}

impl Row for LdifRow<'_, '_> {
    fn first(&self, slot: usize) -> Option<Cow<'_, str>> {
        self.entry
            .attrs
            .iter()
            .filter(|(at, _)| *at == slot)
            .find_map(|(_, value)| clean(value))
            .map(Cow::Borrowed)
    }

    fn each<'s>(&'s self, slot: usize, out: &mut Vec<Cow<'s, str>>) {
        out.extend(
            self.entry
                .attrs
                .iter()
                .filter(|(at, _)| *at == slot)
                .map(|(_, value)| Cow::Borrowed(value.trim())),
        );
    }

    fn dn(&self) -> Option<&str> {
        self.entry.dn.as_deref()
    }
}

/// Reads an LDIF export: every entry, then (knowing every DN) one row per entry.
pub(crate) fn read(
    mapping: &ImportMapping,
    text: &str,
    collector: &mut Collector<'_>,
) -> Result<(), ImportError> {
    let entries = entries(text, &mapping.slots, collector.limits())?;
    // A manager is named by DN: the person id of the entry with that DN, if imported.
    let mut persons = HashMap::new();
    for entry in &entries {
        if entry.fault.is_some() || filtered(mapping, entry).is_some() {
            continue;
        }
        let row = LdifRow { entry };
        if let (Some(dn), Ok(person)) = (&entry.dn, collector.ctx.person_id(&row)) {
            persons.insert(normalize_dn(dn), person);
        }
    }
    collector.ctx.set_persons_by_dn(persons);
    for entry in &entries {
        if let Some(fault) = &entry.fault {
            collector.fail(entry.line, fault.clone())?;
        } else if let Some(reason) = filtered(mapping, entry) {
            collector.skip(entry.line, reason)?;
        } else {
            collector.row(entry.line, &LdifRow { entry })?;
        }
    }
    Ok(())
}

/// Why an entry is not a person the mapping imports, if it is not.
fn filtered(mapping: &ImportMapping, entry: &Entry<'_>) -> Option<String> {
    if entry.classes.iter().any(|class| class == "computer") {
        return Some("a computer account (objectClass `computer`)".to_string());
    }
    if mapping.object_classes.is_empty()
        || entry
            .classes
            .iter()
            .any(|class| mapping.object_classes.contains(class))
    {
        return None;
    }
    let wanted: Vec<String> = mapping.object_classes.iter().map(|c| quote(c)).collect();
    Some(if entry.classes.is_empty() {
        format!("no objectClass: expected one of {}", wanted.join(", "))
    } else {
        let classes: Vec<String> = entry.classes.iter().map(|c| quote(c)).collect();
        format!(
            "objectClass {} is none of {}",
            classes.join(", "),
            wanted.join(", ")
        )
    })
}

type Lines<'a> = Peekable<std::iter::Enumerate<std::str::Split<'a, char>>>;

fn physical(line: &str) -> &str {
    line.strip_suffix('\r').unwrap_or(line)
}

/// Past the continuation lines of a line not read.
fn skip_continuations(lines: &mut Lines<'_>) {
    while lines.next_if(|(_, line)| line.starts_with(' ')).is_some() {}
}

/// Every entry of `text`; `slots` are the lowercase attribute names the mapping reads.
pub(crate) fn entries<'a>(
    text: &'a str,
    slots: &[String],
    limits: Limits,
) -> Result<Vec<Entry<'a>>, ImportError> {
    let mut lines: Lines<'a> = text.split('\n').enumerate().peekable();
    let mut entries = Vec::new();
    let mut current: Option<Entry<'a>> = None;
    let mut started = false;
    let finish = |entry: Entry<'a>, entries: &mut Vec<Entry<'a>>| {
        if entries.len() >= limits.max_rows {
            return Err(ImportError::TooManyRows {
                limit: limits.max_rows,
            });
        }
        entries.push(entry);
        Ok(())
    };
    while let Some((index, raw)) = lines.next() {
        let number = index + 1;
        let line = physical(raw);
        if line.is_empty() {
            if let Some(entry) = current.take() {
                finish(entry, &mut entries)?;
            }
            continue;
        }
        if line.len() > limits.max_record_bytes {
            current.get_or_insert_with(|| Entry::new(number)).fault(
                None,
                format!(
                    "line {number} is {} bytes, over the limit of {}",
                    line.len(),
                    limits.max_record_bytes
                ),
            );
            skip_continuations(&mut lines);
            continue;
        }
        if line.starts_with('#') {
            skip_continuations(&mut lines);
            continue;
        }
        if line.starts_with(' ') {
            current.get_or_insert_with(|| Entry::new(number)).fault(
                None,
                format!("line {number} continues (it starts with a space) a line there is not"),
            );
            continue;
        }
        let Some(colon) = line.find(':') else {
            let entry = current.get_or_insert_with(|| Entry::new(number));
            if line == "-" {
                entry.fault(None, "a `-` line belongs to change records, which are not supported: export content records");
            } else {
                entry.fault(
                    None,
                    format!(
                        "line {number}: expected `attribute: value`, found {}",
                        quote(line)
                    ),
                );
            }
            skip_continuations(&mut lines);
            continue;
        };
        let description = line.get(..colon).unwrap_or_default();
        let name = description.split(';').next().unwrap_or_default().trim();
        if current.is_none() && !started && name.eq_ignore_ascii_case("version") {
            started = true;
            skip_continuations(&mut lines);
            continue;
        }
        started = true;
        let entry = current.get_or_insert_with(|| Entry::new(number));
        let is = |word: &str| name.eq_ignore_ascii_case(word);
        let slot = slots
            .iter()
            .position(|slot| name.eq_ignore_ascii_case(slot));
        let special = is("dn") || is("changetype") || is("control") || is("objectClass");
        if slot.is_none() && !special {
            if entry.dn.is_none() {
                entry.fault(
                    Some(name),
                    format!("an entry starts with `dn:`, not {}", quote(name)),
                );
            }
            skip_continuations(&mut lines);
            continue;
        }
        // The logical line: continuation lines lose their leading space.
        let mut logical = Cow::Borrowed(line);
        while let Some((next_index, next)) = lines.next_if(|(_, next)| next.starts_with(' ')) {
            let next = physical(next);
            if next.len() > limits.max_record_bytes {
                entry.fault(
                    Some(name),
                    format!(
                        "line {} is over the limit of {} bytes",
                        next_index + 1,
                        limits.max_record_bytes
                    ),
                );
                continue;
            }
            logical.to_mut().push_str(next.get(1..).unwrap_or_default());
        }
        let value = match value(&logical, colon) {
            Ok(value) => value,
            Err(message) => {
                entry.fault(Some(name), message);
                continue;
            }
        };
        if is("dn") {
            if entry.dn.is_some() {
                entry.fault(
                    Some(name),
                    format!("line {number}: a second `dn:`: entries are separated by a blank line"),
                );
            } else if entry.attrs.is_empty() && entry.classes.is_empty() {
                entry.dn = Some(value);
            } else {
                entry.fault(Some(name), "an entry starts with `dn:`");
            }
            continue;
        }
        if entry.dn.is_none() {
            entry.fault(
                Some(name),
                format!("an entry starts with `dn:`, not {}", quote(name)),
            );
            continue;
        }
        if is("changetype") || is("control") {
            entry.fault(
                Some(name),
                format!(
                    "a change record (`{name}: {}`) is not supported: export content records (`ldifde -f`, `ldapsearch -LLL`)",
                    value.chars().take(64).collect::<String>()
                ),
            );
            continue;
        }
        if is("objectClass") {
            entry.classes.push(value.trim().to_ascii_lowercase());
        }
        if let Some(slot) = slot {
            entry.attrs.push((slot, value));
        }
    }
    if let Some(entry) = current.take() {
        finish(entry, &mut entries)?;
    }
    Ok(entries)
}

/// The value of an attribute line whose description ends at `colon`: plain text, `::`
/// base64 (decoded, and then UTF-8 text), or `:<` a URL (not supported).
fn value<'a>(logical: &Cow<'a, str>, colon: usize) -> Result<Cow<'a, str>, String> {
    let rest = logical.get(colon + 1..).unwrap_or_default();
    if let Some(encoded) = rest.strip_prefix(':') {
        let bytes = decode_base64(encoded.trim())?;
        return String::from_utf8(bytes)
            .map(Cow::Owned)
            .map_err(|_| "the base64 value is not UTF-8 text".to_string());
    }
    if rest.starts_with('<') {
        return Err("URL values (`:<`) are not supported: export the value inline".to_string());
    }
    let start = colon + 1 + (rest.len() - rest.trim_start_matches(' ').len());
    Ok(match logical {
        Cow::Borrowed(text) => Cow::Borrowed(text.get(start..).unwrap_or_default()),
        Cow::Owned(text) => Cow::Owned(text.get(start..).unwrap_or_default().to_string()),
    })
}

/// Base64 with the standard alphabet (RFC 4648); the padding may be left out.
pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    let mut buffer = 0u32;
    let mut bits = 0u32;
    let mut symbols = 0usize;
    let mut padding = 0usize;
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            _ => {
                return Err(format!(
                    "invalid base64: {} is not of its alphabet",
                    quote(&char::from(byte).to_string())
                ));
            }
        };
        if padding > 0 {
            return Err("invalid base64: text after the padding".to_string());
        }
        symbols += 1;
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    let complete = (symbols + padding).is_multiple_of(4);
    if symbols % 4 == 1 || padding > 2 || (padding > 0 && !complete) {
        return Err("invalid base64: a truncated value".to_string());
    }
    Ok(out)
}

/// The RDNs of a DN, most specific first: attribute type in lowercase, value unescaped
/// (`\,` and `\2C` are a comma).
pub(crate) fn rdns(dn: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut kind = String::new();
    let mut value: Vec<u8> = Vec::new();
    let mut in_value = false;
    let mut chars = dn.chars().peekable();
    let finish = |kind: &mut String, value: &mut Vec<u8>, out: &mut Vec<(String, String)>| {
        let text = String::from_utf8_lossy(value).trim().to_string();
        let name = kind.trim().to_ascii_lowercase();
        if !name.is_empty() || !text.is_empty() {
            out.push((name, text));
        }
        kind.clear();
        value.clear();
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(next) = chars.next() else { break };
                let hex = next
                    .to_digit(16)
                    .zip(chars.peek().and_then(|c| c.to_digit(16)));
                match hex {
                    Some((high, low)) => {
                        chars.next();
                        // Two hex digits are one byte of the value's UTF-8.
                        let byte = (high * 16 + low) as u8;
                        if in_value {
                            value.push(byte);
                        } else {
                            kind.push(char::from(byte));
                        }
                    }
                    None if in_value => {
                        let mut buffer = [0u8; 4];
                        value.extend_from_slice(next.encode_utf8(&mut buffer).as_bytes());
                    }
                    None => kind.push(next),
                }
            }
            ',' | ';' => {
                finish(&mut kind, &mut value, &mut out);
                in_value = false;
            }
            '=' if !in_value => in_value = true,
            _ if in_value => {
                let mut buffer = [0u8; 4];
                value.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
            }
            _ => kind.push(c),
        }
    }
    finish(&mut kind, &mut value, &mut out);
    out
}

/// A DN in one spelling for comparison: types and values in lowercase, no blanks around
/// separators, one escaping.
pub(crate) fn normalize_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    for (index, (kind, value)) in rdns(dn).into_iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str(&kind);
        out.push('=');
        for c in value.to_lowercase().chars() {
            if matches!(c, ',' | '+' | '=' | '\\' | ';' | '"' | '<' | '>') {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_known_values() {
        assert_eq!(decode_base64("QWxpY2U=").unwrap(), b"Alice");
        assert_eq!(decode_base64("QWxpY2U").unwrap(), b"Alice");
        assert_eq!(decode_base64("").unwrap(), b"");
        assert_eq!(decode_base64("Zg==").unwrap(), b"f");
        assert_eq!(decode_base64("Zm8=").unwrap(), b"fo");
        assert_eq!(decode_base64("Zm9v").unwrap(), b"foo");
        assert_eq!(
            decode_base64("w4ZyasO4IEjDuGc=").unwrap(),
            "Ærjø Høg".as_bytes()
        );
        assert!(decode_base64("Zm9v!").is_err());
        assert!(decode_base64("Z").is_err());
        assert!(decode_base64("Zg=x").is_err());
        assert!(decode_base64("Zg===").is_err());
    }

    #[test]
    fn dns_compare_in_one_spelling() {
        assert_eq!(
            normalize_dn("CN=Jensen\\, Alice , OU=Staff,DC=example,DC=com"),
            "cn=jensen\\, alice,ou=staff,dc=example,dc=com"
        );
        assert_eq!(
            normalize_dn("cn=Jensen\\2C Alice,ou=staff,dc=example,dc=com"),
            normalize_dn("CN=Jensen\\, Alice,OU=Staff,DC=Example,DC=com")
        );
        assert_eq!(
            rdns("CN=Bob Tanaka,OU=IT,DC=example,DC=com").first(),
            Some(&("cn".to_string(), "Bob Tanaka".to_string()))
        );
        assert_eq!(
            rdns("CN=Caf\\C3\\A9").first(),
            Some(&("cn".to_string(), "Café".to_string()))
        );
    }

    fn read(text: &str) -> Vec<Entry<'_>> {
        let slots = vec!["samaccountname".to_string(), "mail".to_string()];
        entries(text, &slots, Limits::default()).unwrap()
    }

    #[test]
    fn folding_comments_and_base64() {
        let text = "version: 1\n# a comment\n  that continues\ndn: CN=Alice,DC=example,DC=com\nobjectClass: user\nsAMAccountName: al\n ice\nmail:: YWxpY2VAZXhhbXBsZS5jb20=\nthumbnailPhoto:: AAAA\n AAAA\n\n\ndn:: Q049Qm9iLERDPWV4YW1wbGUsREM9Y29t\r\nsAMAccountName: bob\r\n";
        let found = read(text);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].line, 4);
        assert_eq!(found[0].fault, None);
        assert_eq!(found[0].dn.as_deref(), Some("CN=Alice,DC=example,DC=com"));
        assert_eq!(found[0].classes, vec!["user"]);
        assert_eq!(
            found[0].attrs,
            vec![
                (0, Cow::Borrowed("alice")),
                (1, Cow::Borrowed("alice@example.com"))
            ]
        );
        assert_eq!(found[1].line, 13);
        assert_eq!(found[1].dn.as_deref(), Some("CN=Bob,DC=example,DC=com"));
        assert_eq!(found[1].attrs, vec![(0, Cow::Borrowed("bob"))]);
    }

    #[test]
    fn change_records_and_garbage_are_located() {
        let found = read(
            "dn: CN=Alice,DC=x\nchangetype: modify\nreplace: mail\nmail: a@x\n-\n\nno colon here\n\n sprout\n",
        );
        assert_eq!(found.len(), 3);
        assert!(
            found[0]
                .fault
                .as_ref()
                .unwrap()
                .message
                .contains("a change record (`changetype: modify`)")
        );
        assert_eq!(found[1].line, 7);
        assert!(
            found[1]
                .fault
                .as_ref()
                .unwrap()
                .message
                .contains("expected `attribute: value`")
        );
        assert_eq!(found[2].line, 9);
        assert!(found[2].fault.is_some());
        let found =
            read("mail: a@x\n\ndn: CN=B\nmail:: !!!\n\ndn: CN=C\nmail:< file:///etc/passwd\n");
        assert!(
            found[0]
                .fault
                .as_ref()
                .unwrap()
                .message
                .contains("starts with `dn:`")
        );
        assert!(
            found[1]
                .fault
                .as_ref()
                .unwrap()
                .message
                .contains("invalid base64")
        );
        assert!(
            found[2]
                .fault
                .as_ref()
                .unwrap()
                .message
                .contains("URL values")
        );
    }
}
