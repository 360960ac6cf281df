//! Keyed pseudonyms for people: what findings, lists and the audit log show instead of names.
//!
//! `p-` and the first 10 hex digits of HMAC-SHA-256(key, `seam-pseudonym-v1:` + person id).
//! Stable for a key, unlinkable to the person without it. Revealing the person behind a
//! pseudonym takes [`crate::Permission::RevealNames`], and the caller records every reveal in
//! the audit log (`person_revealed`). 40 bits keep pseudonyms short; among 100,000 people two
//! share one with a chance of about 0.5%, so a pseudonym is resolved by comparing it with
//! each candidate ([`Pseudonyms::is_of`]), not used as a unique key.

use std::fmt;

use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::random::{Random, RandomError, hex, random_bytes};

pub const PSEUDONYM_KEY_BYTES: usize = 32;
const HEX_DIGITS: usize = 10;

/// The keyed pseudonym function. The key is the caller's to keep (one per installation);
/// changing it changes every pseudonym.
#[derive(Clone)]
pub struct Pseudonyms {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonyms(key redacted)")
    }
}

/// A new random key.
pub fn generate_pseudonym_key(
    random: &mut dyn Random,
) -> Result<[u8; PSEUDONYM_KEY_BYTES], RandomError> {
    random_bytes(random)
}

impl Pseudonyms {
    pub fn new(key: &[u8; PSEUDONYM_KEY_BYTES]) -> Pseudonyms {
        // HMAC pads a key shorter than the hash's 64-byte block with zeros; padding it here
        // gives the same MAC through the constructor that cannot fail.
        let mut block = [0u8; 64];
        for (slot, byte) in block.iter_mut().zip(key) {
            *slot = *byte;
        }
        Pseudonyms {
            mac: <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into()),
        }
    }

    /// The pseudonym of a person id, such as `p-3c9e1d2a7b`.
    pub fn of(&self, person_id: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(b"seam-pseudonym-v1:");
        mac.update(person_id.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut text = hex(digest.get(..HEX_DIGITS / 2).unwrap_or_default());
        text.insert_str(0, "p-");
        text
    }

    /// Whether `pseudonym` is the pseudonym of `person_id`.
    pub fn is_of(&self, pseudonym: &str, person_id: &str) -> bool {
        self.of(person_id) == pseudonym
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::testing::SeededRandom;

    #[test]
    fn stable_for_a_key_and_different_across_keys() {
        let key = generate_pseudonym_key(&mut SeededRandom(30)).unwrap();
        let pseudonyms = Pseudonyms::new(&key);
        let alice = pseudonyms.of("person-0001");
        assert_eq!(alice.len(), 12);
        assert!(alice.starts_with("p-"));
        assert!(alice[2..].bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert_eq!(alice, Pseudonyms::new(&key).of("person-0001"));
        assert_ne!(alice, pseudonyms.of("person-0002"));
        assert!(pseudonyms.is_of(&alice, "person-0001"));
        assert!(!pseudonyms.is_of(&alice, "person-0002"));
        let other = Pseudonyms::new(&generate_pseudonym_key(&mut SeededRandom(31)).unwrap());
        assert_ne!(alice, other.of("person-0001"));
        assert_eq!(format!("{pseudonyms:?}"), "Pseudonyms(key redacted)");
    }

    #[test]
    fn known_answer() {
        // HMAC-SHA-256 with a key of 32 bytes 0x0b over "seam-pseudonym-v1:alice", checked
        // with `openssl dgst -sha256 -mac HMAC -macopt hexkey:0b0b…`.
        let pseudonyms = Pseudonyms::new(&[0x0b; 32]);
        assert_eq!(pseudonyms.of("alice"), KNOWN);
    }

    const KNOWN: &str = "p-30d57f9a9f";
}
