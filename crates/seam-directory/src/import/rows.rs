//! A row as the builders see it, whatever the format: values by slot, trimmed, blanks absent.

use std::borrow::Cow;

use super::mapping::Field;

/// One record of an export.
pub(crate) trait Row {
    /// The first non-blank value of a slot, trimmed.
    fn first(&self, slot: usize) -> Option<Cow<'_, str>>;

    /// Every value of a slot, trimmed, blanks kept as empty text (a blank's place counts when
    /// values pair up with cards): one for a CSV column, the elements of a JSON array, each
    /// occurrence of a repeated LDIF attribute.
    fn each<'s>(&'s self, slot: usize, out: &mut Vec<Cow<'s, str>>);

    /// An LDIF entry's DN.
    fn dn(&self) -> Option<&str> {
        None
    }

    /// The JSON record, for fields read inside its arrays (a card `list`).
    fn json(&self) -> Option<&serde_json::Value> {
        None
    }
}

/// A field's value: the first slot with one, or the present ones joined.
pub(crate) fn text<'s>(row: &'s dyn Row, field: &Field) -> Option<Cow<'s, str>> {
    match &field.join {
        None => field.slots.iter().find_map(|slot| row.first(*slot)),
        Some(separator) => {
            let mut joined: Option<String> = None;
            for value in field.slots.iter().filter_map(|slot| row.first(*slot)) {
                match &mut joined {
                    None => joined = Some(value.into_owned()),
                    Some(joined) => {
                        joined.push_str(separator);
                        joined.push_str(&value);
                    }
                }
            }
            joined.map(Cow::Owned)
        }
    }
}

/// A list field's values: those of the first slot that has any (or the joined text), each
/// split at `separator` when there is one; trimmed, blanks left out.
pub(crate) fn list<'s>(
    row: &'s dyn Row,
    field: &Field,
    separator: Option<&str>,
    out: &mut Vec<Cow<'s, str>>,
) {
    positional(row, field, separator, out);
    out.retain(|value| !value.is_empty());
}

/// As [`list`], with blanks kept in their places.
pub(crate) fn positional<'s>(
    row: &'s dyn Row,
    field: &Field,
    separator: Option<&str>,
    out: &mut Vec<Cow<'s, str>>,
) {
    out.clear();
    let mut values = Vec::new();
    match &field.join {
        None => {
            for slot in &field.slots {
                row.each(*slot, &mut values);
                if values.iter().any(|value| !value.is_empty()) {
                    break;
                }
                values.clear();
            }
        }
        Some(_) => values.extend(text(row, field)),
    }
    let Some(separator) = separator else {
        out.extend(values);
        return;
    };
    for value in values {
        match value {
            Cow::Borrowed(text) => {
                out.extend(text.split(separator).map(str::trim).map(Cow::Borrowed))
            }
            Cow::Owned(text) => out.extend(
                text.split(separator)
                    .map(|part| Cow::Owned(part.trim().to_string())),
            ),
        }
    }
}

/// A trimmed value, or nothing when blank.
pub(crate) fn clean(text: &str) -> Option<&str> {
    let trimmed = text.trim();
    (!trimmed.is_empty()).then_some(trimmed)
}

/// The kinds of identifier the directory knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum IdKind {
    Badge,
    Upn,
    Email,
    Okta,
    Entra,
    Username,
    Device,
    Mac,
}

impl IdKind {
    pub(crate) const ALL: [IdKind; 8] = [
        IdKind::Badge,
        IdKind::Upn,
        IdKind::Email,
        IdKind::Okta,
        IdKind::Entra,
        IdKind::Username,
        IdKind::Device,
        IdKind::Mac,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            IdKind::Badge => "badge",
            IdKind::Upn => "upn",
            IdKind::Email => "email",
            IdKind::Okta => "okta",
            IdKind::Entra => "entra",
            IdKind::Username => "username",
            IdKind::Device => "device",
            IdKind::Mac => "mac",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<IdKind> {
        IdKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// The form the directory compares values in (docs/estate.md): trimmed; accounts,
    /// addresses, object ids and device names in lowercase; MACs as `aa:bb:cc:dd:ee:ff`.
    pub(crate) fn normalize(self, value: &str) -> Result<String, String> {
        let value = value.trim();
        match self {
            IdKind::Badge | IdKind::Okta => Ok(value.to_string()),
            IdKind::Upn | IdKind::Email | IdKind::Entra | IdKind::Username | IdKind::Device => {
                Ok(value.to_lowercase())
            }
            IdKind::Mac => canonical_mac(value).ok_or_else(|| {
                format!(
                    "{} is not a MAC address: expected six bytes in hex, such as `3c:22:fb:00:00:01`",
                    super::quote(value)
                )
            }),
        }
    }
}

/// A MAC written with `:`, `-` or `.` separators (or none), in any case, as
/// `aa:bb:cc:dd:ee:ff`.
fn canonical_mac(text: &str) -> Option<String> {
    let mut out = String::with_capacity(17);
    let mut digits = 0;
    for c in text.chars() {
        match c {
            ':' | '-' | '.' => {}
            _ if c.is_ascii_hexdigit() => {
                if digits > 0 && digits % 2 == 0 {
                    out.push(':');
                }
                out.push(c.to_ascii_lowercase());
                digits += 1;
            }
            _ => return None,
        }
    }
    (digits == 12).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_in_every_notation() {
        for text in [
            "3c:22:fb:00:00:01",
            "3C-22-FB-00-00-01",
            "3c22.fb00.0001",
            "3c22fb000001",
        ] {
            assert_eq!(
                IdKind::Mac.normalize(text).as_deref(),
                Ok("3c:22:fb:00:00:01"),
                "{text}"
            );
        }
        assert!(IdKind::Mac.normalize("3c:22:fb:00:00").is_err());
        assert!(IdKind::Mac.normalize("zz:22:fb:00:00:01").is_err());
    }

    #[test]
    fn accounts_compare_in_lowercase_badges_keep_case() {
        assert_eq!(
            IdKind::Upn.normalize(" Alice@Example.com ").as_deref(),
            Ok("alice@example.com")
        );
        assert_eq!(IdKind::Badge.normalize(" V-100 ").as_deref(), Ok("V-100"));
        assert_eq!(
            IdKind::Okta.normalize("00u1Alice").as_deref(),
            Ok("00u1Alice")
        );
    }
}
