//! Randomness, secrets and their encodings.
//!
//! Every function that draws random bytes takes a [`Random`], so that tests run on a fixed
//! sequence and production on the operating system's generator ([`OsRandom`]).

use std::fmt;

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// A source of unpredictable bytes.
pub trait Random {
    /// Fills `bytes` entirely, or fails: never a partial or predictable fill.
    fn fill(&mut self, bytes: &mut [u8]) -> Result<(), RandomError>;
}

/// The operating system's generator (`getrandom`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&mut self, bytes: &mut [u8]) -> Result<(), RandomError> {
        getrandom::getrandom(bytes).map_err(|error| RandomError {
            reason: error.to_string(),
        })
    }
}

/// The generator failed: nothing secret can be made until it works again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the operating system's random generator failed: {reason}")]
pub struct RandomError {
    pub reason: String,
}

pub(crate) fn random_bytes<const N: usize>(
    random: &mut dyn Random,
) -> Result<[u8; N], RandomError> {
    let mut bytes = [0u8; N];
    random.fill(&mut bytes)?;
    Ok(bytes)
}

/// `prefix` and 16 hex digits, not `taken`. 64 random bits collide with a few existing ids
/// essentially never; a generator that keeps repeating itself is broken, and said so.
pub(crate) fn fresh_id(
    random: &mut dyn Random,
    prefix: &str,
    taken: impl Fn(&str) -> bool,
) -> Result<String, RandomError> {
    for _ in 0..8 {
        let id = format!("{prefix}{}", hex(&random_bytes::<8>(random)?));
        if !taken(&id) {
            return Ok(id);
        }
    }
    Err(RandomError {
        reason: "it keeps giving the same bytes".into(),
    })
}

/// A value that must not be logged: a token as shown once, a session cookie, a CSRF token.
/// `Debug` prints no part of it, and there is no `Display`: reading it takes [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub(crate) fn new(text: String) -> Secret {
        Secret(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_exposed(self) -> String {
        self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// URL-safe base64 without padding: fits in cookies, headers and URLs unescaped.
pub(crate) fn base64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn is_base64url(text: &str) -> bool {
    text.bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// The length of `n` bytes as unpadded base64.
pub(crate) const fn base64url_len(n: usize) -> usize {
    (n * 4).div_ceil(3)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        for nibble in [byte >> 4, byte & 0x0f] {
            if let Some(&digit) = DIGITS.get(usize::from(nibble)) {
                out.push(char::from(digit));
            }
        }
    }
    out
}

pub(crate) fn is_lower_hex(text: &str) -> bool {
    text.bytes()
        .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

/// Lowercase hex of SHA-256.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
pub(crate) mod testing {
    use super::{Random, RandomError};

    /// A predictable generator for tests: SplitMix64 from a seed.
    #[derive(Debug, Clone)]
    pub(crate) struct SeededRandom(pub u64);

    impl Random for SeededRandom {
        fn fill(&mut self, bytes: &mut [u8]) -> Result<(), RandomError> {
            for byte in bytes.iter_mut() {
                self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut z = self.0;
                z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                *byte = (z ^ (z >> 31)) as u8;
            }
            Ok(())
        }
    }

    /// A generator that always fails.
    #[derive(Debug)]
    pub(crate) struct BrokenRandom;

    impl Random for BrokenRandom {
        fn fill(&mut self, _bytes: &mut [u8]) -> Result<(), RandomError> {
            Err(RandomError {
                reason: "broken on purpose".into(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(hex(&[0x00, 0x9f, 0xff]), "009fff");
        assert!(is_lower_hex("009fff") && !is_lower_hex("009FFF"));
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(base64url_len(32), 43);
        assert_eq!(base64url(&[0u8; 32]).len(), 43);
        assert!(is_base64url("-_8aZ09") && !is_base64url("a+b") && !is_base64url("a="));
    }

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret::new("seam_hunter2".into());
        assert_eq!(format!("{secret:?}"), "Secret(redacted)");
        assert_eq!(secret.expose(), "seam_hunter2");
    }

    #[test]
    fn the_operating_system_gives_bytes() {
        let a: [u8; 32] = random_bytes(&mut OsRandom).unwrap();
        let b: [u8; 32] = random_bytes(&mut OsRandom).unwrap();
        assert_ne!(a, b);
    }
}
