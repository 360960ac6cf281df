//! Lowercase hexadecimal, strict on input: one spelling per value, so that a digest's text
//! cannot change (say, to upper case) without changing the bytes a hash covers.

use std::fmt;

use serde::{Deserializer, Serializer};

fn digit(nibble: u8) -> u8 {
    if nibble < 10 {
        b'0' + nibble
    } else {
        b'a' + (nibble - 10)
    }
}

fn value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

/// Appends the lowercase hex of `bytes` to `out`.
pub(crate) fn encode_into(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() * 2);
    for byte in bytes {
        out.push(digit(byte >> 4));
        out.push(digit(byte & 0x0f));
    }
}

pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len() * 2);
    encode_into(bytes, &mut out);
    out.into_iter().map(char::from).collect()
}

/// Decodes exactly `2 * N` lowercase hex digits.
pub(crate) fn decode<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let mut digits = pair.iter().map(|d| value(*d));
        let high = digits.next()??;
        let low = digits.next()??;
        *byte = (high << 4) | low;
    }
    Some(out)
}

/// `#[serde(with = "crate::hex::array")]` for `[u8; N]` written as a hex string.
pub(crate) mod array {
    use super::*;

    pub(crate) fn serialize<S: Serializer, const N: usize>(
        bytes: &[u8; N],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut out = Vec::with_capacity(2 * N);
        encode_into(bytes, &mut out);
        // Hex digits are ASCII, so this never fails; the fallback keeps the lint happy.
        serializer.serialize_str(std::str::from_utf8(&out).unwrap_or_default())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        deserializer: D,
    ) -> Result<[u8; N], D::Error> {
        struct Visitor<const N: usize>;
        impl<const N: usize> serde::de::Visitor<'_> for Visitor<N> {
            type Value = [u8; N];
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} lowercase hex digits", 2 * N)
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<[u8; N], E> {
                decode(text.as_bytes())
                    .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(text), &self))
            }
        }
        deserializer.deserialize_str(Visitor::<N>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_other_spellings() {
        let bytes = [0x00, 0x9f, 0xa0, 0xff];
        assert_eq!(encode(&bytes), "009fa0ff");
        assert_eq!(decode::<4>(b"009fa0ff"), Some(bytes));
        assert_eq!(decode::<4>(b"009FA0FF"), None);
        assert_eq!(decode::<4>(b"009fa0f"), None);
        assert_eq!(decode::<4>(b"009fa0fg"), None);
    }
}
