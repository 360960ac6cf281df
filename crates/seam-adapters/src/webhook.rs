//! Checks that a pushed request is genuine and fresh, for the HTTP layer to call before an
//! adapter reads the body: HMAC-SHA256 signatures compared in constant time, shared secrets
//! compared in constant time, and a replay window (a timestamp within the window and a
//! nonce not seen within it). Pure: the caller passes the time and keeps the nonce set.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use seam_model::Ts;

use crate::timefmt;

/// Why a signature does not verify. The messages say what is wrong with the header, never
/// what the right signature would have been.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no shared secret is configured")]
    EmptySecret,
    #[error("the signature header is empty")]
    Missing,
    #[error("the signature is neither 64 hex digits nor base64 of 32 bytes")]
    Malformed,
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Verifies `signature_header` as the HMAC-SHA256 of `message` under `secret`. The header
/// may carry a `sha256=` prefix and the digest in hex or base64 (standard or URL-safe,
/// padded or not). The comparison takes the same time wherever the first difference is.
pub fn verify_hmac_sha256(
    secret: &[u8],
    message: &[u8],
    signature_header: &str,
) -> Result<(), SignatureError> {
    if secret.is_empty() {
        return Err(SignatureError::EmptySecret);
    }
    let text = signature_header.trim();
    let text = match text.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("sha256=") => text.get(7..).unwrap_or(""),
        _ => text,
    };
    if text.is_empty() {
        return Err(SignatureError::Missing);
    }
    let expected = decode_digest(text).ok_or(SignatureError::Malformed)?;
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret).map_err(|_| SignatureError::EmptySecret)?;
    mac.update(message);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// Verifies an Envoy webhook: the HMAC-SHA256 of the raw body under the webhook's secret,
/// as sent in its signature header (hex or base64).
pub fn verify_envoy_signature(
    secret: &[u8],
    body: &[u8],
    signature_header: &str,
) -> Result<(), SignatureError> {
    verify_hmac_sha256(secret, body, signature_header)
}

/// Compares a shared secret (Okta's event hook `Authorization` header, a bearer token) in
/// constant time. Lengths are not secret; contents are.
pub fn secrets_match(expected: &[u8], given: &[u8]) -> bool {
    !expected.is_empty() && bool::from(expected.ct_eq(given))
}

fn decode_digest(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        for (slot, pair) in out.iter_mut().zip(text.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).ok()?;
            *slot = u8::from_str_radix(pair, 16).ok()?;
        }
        return Some(out);
    }
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        if let Ok(bytes) = engine.decode(text)
            && let Ok(digest) = <[u8; 32]>::try_from(bytes.as_slice())
        {
            out = digest;
            return Some(out);
        }
    }
    None
}

/// Why a request is refused as a possible replay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("request timestamp {sent} is outside the {window_s} s window around {now}")]
    OutsideWindow { sent: Ts, now: Ts, window_s: i64 },
    #[error("the nonce is empty")]
    EmptyNonce,
    #[error("the nonce is longer than {max} bytes")]
    NonceTooLong { max: usize },
    #[error("the nonce was already used within the window")]
    Replayed,
    #[error("too many requests within the window to remember their nonces ({capacity})")]
    Full { capacity: usize },
}

/// The nonces seen within the replay window, each kept until its request's timestamp leaves
/// the window. Bounded: when full of live nonces, new requests are refused (fail closed).
#[derive(Clone, Debug)]
pub struct NonceSet {
    capacity: usize,
    /// nonce → the request time it came with.
    seen: BTreeMap<String, Ts>,
    /// (request time, nonce), to forget the oldest first.
    by_time: BTreeSet<(Ts, String)>,
}

impl NonceSet {
    pub const MAX_NONCE_BYTES: usize = 256;

    pub fn new(capacity: usize) -> NonceSet {
        NonceSet {
            capacity,
            seen: BTreeMap::new(),
            by_time: BTreeSet::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Forgets nonces whose requests are older than `oldest`.
    fn forget_before(&mut self, oldest: Ts) {
        while let Some((sent, nonce)) = self.by_time.first().cloned() {
            if sent >= oldest {
                break;
            }
            self.by_time.pop_first();
            self.seen.remove(&nonce);
        }
    }
}

/// Admits a request sent at `sent` with `nonce` when `sent` is within `window_ms` of `now`
/// (either side) and the nonce has not been used by a request still inside the window;
/// remembers the nonce on success.
pub fn check_replay(
    now: Ts,
    sent: Ts,
    nonce: &str,
    window_ms: i64,
    seen: &mut NonceSet,
) -> Result<(), ReplayError> {
    let window_ms = window_ms.max(0);
    if sent < now.minus_millis(window_ms) || sent > now.plus_millis(window_ms) {
        return Err(ReplayError::OutsideWindow {
            sent,
            now,
            window_s: window_ms / 1000,
        });
    }
    if nonce.is_empty() {
        return Err(ReplayError::EmptyNonce);
    }
    if nonce.len() > NonceSet::MAX_NONCE_BYTES {
        return Err(ReplayError::NonceTooLong {
            max: NonceSet::MAX_NONCE_BYTES,
        });
    }
    seen.forget_before(now.minus_millis(window_ms));
    if seen.seen.contains_key(nonce) {
        return Err(ReplayError::Replayed);
    }
    if seen.seen.len() >= seen.capacity {
        return Err(ReplayError::Full {
            capacity: seen.capacity,
        });
    }
    seen.seen.insert(nonce.to_string(), sent);
    seen.by_time.insert((sent, nonce.to_string()));
    Ok(())
}

/// Remembers `key` (a body-only signature: nothing in the request says when it was sent) for
/// `keep_ms` after `now`, refusing it while it is remembered. When the set is full, the oldest
/// key is forgotten: a flood can shorten how long a signature is remembered, never refuse
/// every request.
pub fn remember_once(
    now: Ts,
    key: &str,
    keep_ms: i64,
    seen: &mut NonceSet,
) -> Result<(), ReplayError> {
    if key.is_empty() {
        return Err(ReplayError::EmptyNonce);
    }
    if key.len() > NonceSet::MAX_NONCE_BYTES {
        return Err(ReplayError::NonceTooLong {
            max: NonceSet::MAX_NONCE_BYTES,
        });
    }
    seen.forget_before(now.minus_millis(keep_ms.max(0)));
    if seen.seen.contains_key(key) {
        return Err(ReplayError::Replayed);
    }
    while seen.seen.len() >= seen.capacity.max(1) {
        let Some(oldest) = seen.by_time.pop_first() else {
            break;
        };
        seen.seen.remove(&oldest.1);
    }
    seen.seen.insert(key.to_string(), now);
    seen.by_time.insert((now, key.to_string()));
    Ok(())
}

/// A request timestamp header: epoch seconds (10 digits or fewer), epoch milliseconds
/// (13 digits) or RFC 3339.
pub fn parse_timestamp_header(text: &str) -> Option<Ts> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let number: i64 = text.parse().ok()?;
        return match text.len() {
            1..=10 => timefmt::epoch_millis(number.checked_mul(1000)?).ok(),
            13 => timefmt::epoch_millis(number).ok(),
            _ => None,
        };
    }
    timefmt::rfc3339(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec-test";
    const BODY: &[u8] = br#"{"meta":{"event":"entry_sign_in"}}"#;

    fn sign_hex(secret: &[u8], body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).unwrap();
        mac.update(body);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn hmac_known_answer() {
        // RFC 4231 test case 2.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            verify_hmac_sha256(b"Jefe", b"what do ya want for nothing?", &hex),
            Ok(())
        );
    }

    #[test]
    fn hex_base64_and_prefix_are_accepted() {
        let hex = sign_hex(SECRET, BODY);
        let bytes: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap())
            .collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
        for header in [
            hex.clone(),
            hex.to_uppercase(),
            format!("sha256={hex}"),
            format!("SHA256={b64}"),
            b64,
            b64url,
        ] {
            assert_eq!(
                verify_envoy_signature(SECRET, BODY, &header),
                Ok(()),
                "{header}"
            );
        }
    }

    #[test]
    fn wrong_body_secret_or_header_is_refused() {
        let hex = sign_hex(SECRET, BODY);
        assert_eq!(
            verify_hmac_sha256(SECRET, b"{}", &hex),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_hmac_sha256(b"other", BODY, &hex),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_hmac_sha256(b"", BODY, &hex),
            Err(SignatureError::EmptySecret)
        );
        assert_eq!(
            verify_hmac_sha256(SECRET, BODY, " "),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_hmac_sha256(SECRET, BODY, "sha256="),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_hmac_sha256(SECRET, BODY, &hex[..63]),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_hmac_sha256(SECRET, BODY, "not a signature"),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn shared_secrets_compare_whole() {
        assert!(secrets_match(b"token-1", b"token-1"));
        assert!(!secrets_match(b"token-1", b"token-2"));
        assert!(!secrets_match(b"token-1", b"token-10"));
        assert!(!secrets_match(b"", b""));
    }

    #[test]
    fn body_only_signatures_are_remembered_and_a_flood_only_shortens_the_memory() {
        let mut seen = NonceSet::new(2);
        let day = 86_400_000;
        assert!(remember_once(Ts(0), "a", day, &mut seen).is_ok());
        assert_eq!(
            remember_once(Ts(1), "a", day, &mut seen),
            Err(ReplayError::Replayed)
        );
        assert!(remember_once(Ts(2), "b", day, &mut seen).is_ok());
        // Full: the oldest is forgotten, nothing is refused.
        assert!(remember_once(Ts(3), "c", day, &mut seen).is_ok());
        assert_eq!(seen.len(), 2);
        assert!(remember_once(Ts(4), "a", day, &mut seen).is_ok());
        // Past the memory, a key is new again.
        assert!(remember_once(Ts(day + 10), "c", day, &mut seen).is_ok());
        assert_eq!(
            remember_once(Ts(5), "", day, &mut seen),
            Err(ReplayError::EmptyNonce)
        );
    }

    #[test]
    fn replay_window_and_nonces() {
        let now = Ts(1_772_442_000_000);
        let window = 300_000;
        let mut seen = NonceSet::new(2);
        assert_eq!(
            check_replay(now, now.minus_millis(1000), "n1", window, &mut seen),
            Ok(())
        );
        assert_eq!(
            check_replay(now, now, "n1", window, &mut seen),
            Err(ReplayError::Replayed)
        );
        assert!(matches!(
            check_replay(now, now.minus_millis(window + 1), "n2", window, &mut seen),
            Err(ReplayError::OutsideWindow { .. })
        ));
        assert!(matches!(
            check_replay(now, now.plus_millis(window + 1), "n2", window, &mut seen),
            Err(ReplayError::OutsideWindow { .. })
        ));
        assert_eq!(check_replay(now, now, "n2", window, &mut seen), Ok(()));
        assert_eq!(
            check_replay(now, now, "n3", window, &mut seen),
            Err(ReplayError::Full { capacity: 2 })
        );
        // Later, n1's request has left the window: its nonce is forgotten and room is made.
        let later = now.plus_millis(window);
        assert_eq!(check_replay(later, later, "n3", window, &mut seen), Ok(()));
        assert_eq!(seen.len(), 2);
        assert_eq!(
            check_replay(later, later, "", window, &mut seen),
            Err(ReplayError::EmptyNonce)
        );
        let long = "x".repeat(NonceSet::MAX_NONCE_BYTES + 1);
        assert!(matches!(
            check_replay(later, later, &long, window, &mut seen),
            Err(ReplayError::NonceTooLong { .. })
        ));
    }

    #[test]
    fn timestamp_headers() {
        assert_eq!(
            parse_timestamp_header("1772442000"),
            Some(Ts(1_772_442_000_000))
        );
        assert_eq!(
            parse_timestamp_header("1772442000123"),
            Some(Ts(1_772_442_000_123))
        );
        assert_eq!(
            parse_timestamp_header("2026-03-02T09:00:00Z"),
            Some(Ts(1_772_442_000_000))
        );
        assert_eq!(parse_timestamp_header("17724420001"), None);
        assert_eq!(parse_timestamp_header("soon"), None);
    }
}
