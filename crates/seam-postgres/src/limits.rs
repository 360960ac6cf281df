//! The size limits an event must meet, the same as the embedded store's.
//!
//! The embedded store's limits come from its log format (a `u16` length per field, 16 MiB per
//! record) and are private to `seam-store`; they are repeated here, with the same record-length
//! arithmetic, so that a batch one store takes the other takes too and one it refuses the other
//! refuses with the same error. PostgreSQL itself would take more.

use seam_store::{StoreError, StoredEvent};

/// The largest event record: the embedded log's `MAX_RECORD_BYTES`.
pub(crate) const MAX_RECORD_BYTES: usize = 16 * 1024 * 1024;
/// The largest uid, source, class or person: the embedded log's `MAX_FIELD_BYTES`.
pub(crate) const MAX_FIELD_BYTES: usize = u16::MAX as usize;
/// How much of a uid an error repeats.
const UID_SHOWN_BYTES: usize = 96;

/// Refuses an event over the limits, as the embedded store would.
pub(crate) fn check(event: &StoredEvent<'_>) -> Result<(), StoreError> {
    let fields = [
        ("uid", Some(event.uid)),
        ("source", Some(event.source)),
        ("class", Some(event.class)),
        ("person", event.person),
    ];
    for (field, text) in fields {
        let Some(text) = text else { continue };
        if text.len() > MAX_FIELD_BYTES {
            return Err(StoreError::FieldTooLong {
                uid: shorten(event.uid),
                field,
                bytes: text.len(),
                limit: MAX_FIELD_BYTES,
            });
        }
    }
    let bytes = record_len(event);
    if bytes > MAX_RECORD_BYTES {
        return Err(StoreError::EventTooLarge {
            uid: shorten(event.uid),
            bytes,
            limit: MAX_RECORD_BYTES,
        });
    }
    Ok(())
}

/// The length of the embedded log's record for `event`: a kind byte, each text with a `u16`
/// length, the two times, a flags byte and the JSON.
fn record_len(event: &StoredEvent<'_>) -> usize {
    let person = event.person.map_or(0, |person| 2 + person.len());
    1 + (2 + event.uid.len())
        + 8
        + 8
        + 1
        + (2 + event.source.len())
        + (2 + event.class.len())
        + person
        + event.json.len()
}

fn shorten(text: &str) -> String {
    if text.len() <= UID_SHOWN_BYTES {
        return text.to_owned();
    }
    let mut cut = UID_SHOWN_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", text.get(..cut).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use seam_store::Ts;

    use super::*;

    fn event<'a>(uid: &'a str, person: Option<&'a str>, json: &'a str) -> StoredEvent<'a> {
        StoredEvent {
            uid,
            time: Ts::from_millis(1),
            observed: Ts::from_millis(2),
            source: "s",
            class: "c",
            person,
            late: false,
            json,
        }
    }

    #[test]
    fn a_record_at_the_limit_is_taken_and_one_byte_more_is_refused() {
        // 1 + (2 + 1) + 8 + 8 + 1 + (2 + 1) + (2 + 1) bytes besides the JSON.
        let overhead = 27;
        let json = "x".repeat(MAX_RECORD_BYTES - overhead);
        assert!(check(&event("u", None, &json)).is_ok());
        let json = "x".repeat(MAX_RECORD_BYTES - overhead + 1);
        assert!(matches!(
            check(&event("u", None, &json)),
            Err(StoreError::EventTooLarge { bytes, .. }) if bytes == MAX_RECORD_BYTES + 1
        ));
    }

    #[test]
    fn a_long_field_is_named() {
        let person = "p".repeat(MAX_FIELD_BYTES + 1);
        let uid = "é".repeat(100);
        let result = check(&event(&uid, Some(&person), "{}"));
        let Err(StoreError::FieldTooLong { uid, field, .. }) = result else {
            panic!("got {result:?}");
        };
        assert_eq!(field, "person");
        assert!(uid.ends_with("...") && uid.len() < 110);
    }
}
