//! The provider's public keys (its JWKS) and the signature algorithms they verify.
//!
//! Only public-key signatures are accepted: RS256 and PS256 (RSA, 2048 to 8192 bits), ES256
//! (P-256) and EdDSA (Ed25519). Keys for encryption, for other algorithms and other curves,
//! and symmetric keys are skipped, not refused: providers publish many kinds of keys, and an
//! ID token signed with one of them is refused later as [`OidcError::UnknownKey`]. A key of a
//! supported kind with broken fields refuses the whole set: something is wrong at the
//! provider.

use std::fmt;
use std::str::FromStr;

use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::Deserialize;

use crate::encoding::from_base64url;
use crate::error::OidcError;

/// The largest JWKS document read.
pub const MAX_JWKS_BYTES: usize = 128 * 1024;
/// The most keys a JWKS may hold, counting the skipped ones.
pub const MAX_JWKS_KEYS: usize = 64;
/// RSA keys shorter than this are skipped.
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;

/// A signature algorithm an ID token may be signed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

impl Alg {
    pub const ALL: [Alg; 4] = [Alg::Rs256, Alg::Ps256, Alg::Es256, Alg::EdDsa];
    /// What a client accepts unless configured otherwise.
    pub const DEFAULT_ALLOWED: [Alg; 3] = [Alg::Rs256, Alg::Es256, Alg::EdDsa];

    /// The JOSE name (`RS256`, `PS256`, `ES256`, `EdDSA`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Ps256 => "PS256",
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
        }
    }

    /// The algorithm of a JOSE name, exactly as spelled (names are case-sensitive).
    pub fn from_name(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|alg| alg.as_str() == name)
    }

    fn fits(self, key: &KeyMaterial) -> bool {
        matches!(
            (self, key),
            (Alg::Rs256 | Alg::Ps256, KeyMaterial::Rsa { .. })
                | (Alg::Es256, KeyMaterial::P256 { .. })
                | (Alg::EdDsa, KeyMaterial::Ed25519 { .. })
        )
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the supported algorithms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported signature algorithm `{name}`; supported: RS256, PS256, ES256, EdDSA")]
pub struct UnknownAlg {
    pub name: String,
}

impl FromStr for Alg {
    type Err = UnknownAlg;
    fn from_str(name: &str) -> Result<Alg, UnknownAlg> {
        Alg::from_name(name).ok_or_else(|| UnknownAlg { name: name.into() })
    }
}

/// The provider's signing keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

/// One usable signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    pub kid: Option<String>,
    /// The one algorithm the key is for, when the JWKS says so.
    pub alg: Option<Alg>,
    material: KeyMaterial,
}

#[derive(Clone, PartialEq, Eq)]
enum KeyMaterial {
    /// Big-endian modulus and exponent, without leading zeros.
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// The uncompressed point: `04 || x || y`.
    P256 {
        point: Vec<u8>,
    },
    Ed25519 {
        x: Vec<u8>,
    },
}

// Public keys are not secret, but hundreds of hex digits help no one reading a log.
impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyMaterial::Rsa { n, .. } => write!(f, "RSA-{}", n.len() * 8),
            KeyMaterial::P256 { .. } => f.write_str("P-256"),
            KeyMaterial::Ed25519 { .. } => f.write_str("Ed25519"),
        }
    }
}

/// A JWK as published; every member optional so that kinds we skip need not fit.
#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    #[serde(rename = "use", default)]
    usage: Option<String>,
    #[serde(default)]
    key_ops: Option<Vec<String>>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

impl Jwks {
    /// Reads a JWKS document (`{"keys": [...]}`), keeping the keys that can verify ID tokens.
    pub fn parse(json: impl AsRef<[u8]>) -> Result<Jwks, OidcError> {
        let json = json.as_ref();
        if json.len() > MAX_JWKS_BYTES {
            return Err(OidcError::TooLarge {
                what: "JWKS",
                limit: MAX_JWKS_BYTES,
            });
        }
        let raw: RawJwks = serde_json::from_slice(json).map_err(malformed)?;
        if raw.keys.len() > MAX_JWKS_KEYS {
            return Err(malformed(format!(
                "{} keys, more than the {MAX_JWKS_KEYS} accepted",
                raw.keys.len()
            )));
        }
        let mut keys = Vec::new();
        for (index, value) in raw.keys.into_iter().enumerate() {
            let raw: RawJwk = serde_json::from_value(value)
                .map_err(|error| malformed(format!("key {index}: {error}")))?;
            if let Some(key) =
                Jwk::from_raw(raw).map_err(|reason| malformed(format!("key {index}: {reason}")))?
            {
                keys.push(key);
            }
        }
        Ok(Jwks { keys })
    }

    /// The usable keys.
    pub fn keys(&self) -> &[Jwk] {
        &self.keys
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Verifies `signature` over `message` with the keys that fit `kid` (when given) and
    /// `alg`. More than one key may fit (no `kid` in the token, or one `kid` reused across
    /// rotations): any of them verifying is enough, since every key is the provider's.
    pub(crate) fn verify(
        &self,
        kid: Option<&str>,
        alg: Alg,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), OidcError> {
        let mut candidates = self
            .keys
            .iter()
            .filter(|key| kid.is_none_or(|kid| key.kid.as_deref() == Some(kid)))
            .filter(|key| key.alg.is_none_or(|only| only == alg) && alg.fits(&key.material))
            .peekable();
        if candidates.peek().is_none() {
            return Err(OidcError::UnknownKey {
                kid: kid.map(str::to_string),
            });
        }
        if candidates.any(|key| key.verifies(alg, message, signature)) {
            Ok(())
        } else {
            Err(OidcError::BadSignature)
        }
    }
}

fn malformed(reason: impl fmt::Display) -> OidcError {
    OidcError::Malformed {
        what: "JWKS",
        reason: reason.to_string(),
    }
}

impl Jwk {
    /// The key, `None` for one skipped (not for signatures, or of an unsupported kind), or
    /// why a key of a supported kind is broken.
    fn from_raw(raw: RawJwk) -> Result<Option<Jwk>, String> {
        let for_signatures = raw.usage.as_deref().is_none_or(|usage| usage == "sig")
            && raw
                .key_ops
                .as_ref()
                .is_none_or(|ops| ops.iter().any(|op| op == "verify"));
        if !for_signatures {
            return Ok(None);
        }
        // A key for an algorithm we do not accept (RS384, RSA-OAEP, ...) is never used.
        let alg = match raw.alg.as_deref() {
            None => None,
            Some(name) => match Alg::from_name(name) {
                Some(alg) => Some(alg),
                None => return Ok(None),
            },
        };
        let material = match (raw.kty.as_str(), raw.crv.as_deref()) {
            ("RSA", _) => {
                let n = strip_leading_zeros(field(&raw.n, "n")?);
                let e = strip_leading_zeros(field(&raw.e, "e")?);
                let bits = n.len() * 8;
                if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
                    return Ok(None);
                }
                if e.is_empty() || e.len() > 4 {
                    return Err("an RSA exponent of 1 to 4 bytes is needed".into());
                }
                KeyMaterial::Rsa { n, e }
            }
            ("EC", Some("P-256")) => {
                let x = fixed(field(&raw.x, "x")?, 32, "x")?;
                let y = fixed(field(&raw.y, "y")?, 32, "y")?;
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                KeyMaterial::P256 { point }
            }
            ("OKP", Some("Ed25519")) => KeyMaterial::Ed25519 {
                x: fixed(field(&raw.x, "x")?, 32, "x")?,
            },
            _ => return Ok(None),
        };
        if alg.is_some_and(|alg| !alg.fits(&material)) {
            return Err(format!(
                "its `alg` {} does not fit its type {}",
                alg.map(Alg::as_str).unwrap_or_default(),
                raw.kty
            ));
        }
        Ok(Some(Jwk {
            kid: raw.kid,
            alg,
            material,
        }))
    }

    fn verifies(&self, alg: Alg, message: &[u8], signature: &[u8]) -> bool {
        let verified = match (&self.material, alg) {
            (KeyMaterial::Rsa { n, e }, Alg::Rs256) => RsaPublicKeyComponents { n, e }.verify(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                message,
                signature,
            ),
            (KeyMaterial::Rsa { n, e }, Alg::Ps256) => RsaPublicKeyComponents { n, e }.verify(
                &signature::RSA_PSS_2048_8192_SHA256,
                message,
                signature,
            ),
            (KeyMaterial::P256 { point }, Alg::Es256) => {
                // JWS carries ECDSA signatures as r || s, 32 bytes each ("fixed"), not DER.
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, signature)
            }
            (KeyMaterial::Ed25519 { x }, Alg::EdDsa) => {
                UnparsedPublicKey::new(&signature::ED25519, x).verify(message, signature)
            }
            _ => return false,
        };
        verified.is_ok()
    }
}

fn field(value: &Option<String>, name: &str) -> Result<Vec<u8>, String> {
    let text = value
        .as_deref()
        .ok_or_else(|| format!("`{name}` is missing"))?;
    from_base64url(text).ok_or_else(|| format!("`{name}` is not URL-safe base64"))
}

fn fixed(bytes: Vec<u8>, len: usize, name: &str) -> Result<Vec<u8>, String> {
    if bytes.len() == len {
        Ok(bytes)
    } else {
        Err(format!(
            "`{name}` has {} bytes instead of {len}",
            bytes.len()
        ))
    }
}

fn strip_leading_zeros(bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|&&byte| byte == 0).count();
    bytes.get(zeros..).map(<[u8]>::to_vec).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestKeys;
    use serde_json::json;

    #[test]
    fn reads_the_three_kinds_and_skips_the_rest() {
        let keys = TestKeys::new();
        let mut document = keys.jwks_json();
        let list = document["keys"].as_array_mut().unwrap();
        list.push(
            json!({"kty": "RSA", "use": "enc", "kid": "enc", "n": keys.rsa_n(), "e": "AQAB"}),
        );
        list.push(json!({"kty": "RSA", "kid": "ops", "key_ops": ["encrypt"], "n": keys.rsa_n(), "e": "AQAB"}));
        list.push(
            json!({"kty": "RSA", "kid": "rs384", "alg": "RS384", "n": keys.rsa_n(), "e": "AQAB"}),
        );
        list.push(json!({"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}));
        list.push(json!({"kty": "EC", "kid": "p384", "crv": "P-384", "x": "AA", "y": "AA"}));
        list.push(json!({"kty": "OKP", "kid": "x25519", "crv": "X25519", "x": "AA"}));
        list.push(json!({"kty": "RSA", "kid": "short", "n": crate::encoding::base64url(&[0xc5; 128]), "e": "AQAB"}));
        let jwks = Jwks::parse(document.to_string()).unwrap();
        let kids: Vec<_> = jwks
            .keys()
            .iter()
            .map(|key| key.kid.clone().unwrap())
            .collect();
        assert_eq!(kids, ["rsa-1", "rsa-pss-1", "ec-1", "ed-1"]);
        assert_eq!(jwks.keys()[3].alg, None);
        assert_eq!(jwks.keys()[0].alg, Some(Alg::Rs256));
        assert_eq!(format!("{:?}", jwks.keys()[0].material), "RSA-2048");
    }

    #[test]
    fn refuses_broken_documents() {
        let too_large = format!("{{\"keys\":[],\"pad\":\"{}\"}}", "x".repeat(MAX_JWKS_BYTES));
        assert!(matches!(
            Jwks::parse(too_large),
            Err(OidcError::TooLarge { what: "JWKS", .. })
        ));
        let many = json!({"keys": vec![json!({"kty": "oct"}); MAX_JWKS_KEYS + 1]});
        assert!(matches!(
            Jwks::parse(many.to_string()),
            Err(OidcError::Malformed { .. })
        ));
        for bad in [
            json!([]),
            json!({"keys": {}}),
            json!({}),
            json!({"keys": [5]}),
            json!({"keys": [{"kid": "no-kty"}]}),
            json!({"keys": [{"kty": "RSA", "kid": 5, "n": "AQAB", "e": "AQAB"}]}),
            json!({"keys": [{"kty": "RSA", "kid": "a", "e": "AQAB"}]}),
            json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}]}),
            json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "not base64!"}]}),
            json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "ES256",
                "x": crate::encoding::base64url(&[1; 32])}]}),
        ] {
            assert!(
                matches!(
                    Jwks::parse(bad.to_string()),
                    Err(OidcError::Malformed { .. })
                ),
                "{bad}"
            );
        }
        assert!(Jwks::parse("{\"keys\": [").is_err());
        assert!(Jwks::parse("{\"keys\": [], \"keys\": []}").is_err());
    }

    #[test]
    fn algorithm_names_are_exact() {
        assert_eq!("EdDSA".parse::<Alg>(), Ok(Alg::EdDsa));
        assert!("eddsa".parse::<Alg>().is_err());
        assert!("HS256".parse::<Alg>().is_err());
        assert!("none".parse::<Alg>().is_err());
        for alg in Alg::ALL {
            assert_eq!(alg.as_str().parse::<Alg>(), Ok(alg));
        }
    }
}
