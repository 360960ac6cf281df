//! Verifying the ID token and turning its claims into a Seam identity.
//!
//! In order (OpenID Connect Core, section 3.1.3.7): the size; the header's algorithm (never
//! `none`, never a shared-secret HS*, only the allowed ones); the signature with the
//! provider's key of that `kid`; then, on the signed claims only, the issuer, the audience
//! and authorized party, the times (`exp`, `iat`, `nbf`, with the leeway), and the nonce of
//! this sign-in. Last the claim mapping: a user name, roles through the role map, sites. A
//! token that maps to no role signs no one in.

use std::collections::BTreeSet;

use seam_model::Ts;
use serde::Deserialize;
use serde_json::Value;

use crate::client::ClaimMapping;
use crate::encoding::from_base64url;
use crate::error::{OidcError, clean_text};
use crate::jwks::{Alg, Jwks};

/// The longest ID token read. Group lists make tokens large; a provider with more groups
/// than fit should send the Seam-relevant ones only (a group filter at the provider).
pub const MAX_ID_TOKEN_BYTES: usize = 64 * 1024;
/// The longest site name, as for users and tokens.
const MAX_SITE_CHARS: usize = 128;

/// What an ID token must satisfy; [`crate::OidcClient::expectations`] makes one.
#[derive(Debug, Clone, Copy)]
pub struct IdTokenExpectations<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The pending sign-in's nonce.
    pub nonce: &'a str,
    pub now: Ts,
    pub leeway_ms: i64,
    pub allowed_algs: &'a [Alg],
    pub claims: &'a ClaimMapping,
}

/// Who signed in, according to a verified ID token.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedIdentity {
    /// `sub`: with `issuer`, the stable key to link a Seam user to. Never link by user name
    /// or email, which the provider's users may be able to change.
    pub subject: String,
    pub issuer: String,
    /// From the username claim, else a verified `email`, else `sub`. Not yet checked against
    /// Seam's rules for user names.
    pub username: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// `email_verified` is `true` in the token.
    pub email_verified: bool,
    /// Seam role names granted through the role map, sorted, each once; never empty.
    pub roles: Vec<String>,
    /// The sites from the sites claim, sorted, each once; `None`: every site (no sites claim
    /// configured).
    pub sites: Option<Vec<String>>,
    /// When the token expires.
    pub expires: Ts,
    /// Every claim of the token, for the audit log and for mappings yet to come.
    pub claims: Value,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

/// The registered claims checked here. Named fields make a repeated claim an error, so that
/// no two readers of the token can see different values.
#[derive(Deserialize)]
struct Registered {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    aud: Option<Audience>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    exp: Option<serde_json::Number>,
    #[serde(default)]
    iat: Option<serde_json::Number>,
    #[serde(default)]
    nbf: Option<serde_json::Number>,
    #[serde(default)]
    nonce: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Verifies `id_token` against the provider's keys and `expect`, and maps its claims.
///
/// [`OidcError::UnknownKey`] means no key fits: fetch the JWKS again (once; the provider may
/// have rotated its keys) and call this again before giving up.
pub fn verify_id_token(
    id_token: &str,
    jwks: &Jwks,
    expect: &IdTokenExpectations<'_>,
) -> Result<VerifiedIdentity, OidcError> {
    if id_token.len() > MAX_ID_TOKEN_BYTES {
        return Err(OidcError::TokenTooLarge {
            limit: MAX_ID_TOKEN_BYTES,
        });
    }
    let parts: Vec<&str> = id_token.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = parts.as_slice() else {
        return Err(malformed(if parts.len() == 5 {
            "five parts: an encrypted token, which is not supported".into()
        } else {
            format!("{} parts instead of three", parts.len())
        }));
    };
    let header: Header = decode_json(header_b64, "header")?;
    if header.crit.is_some() {
        return Err(malformed(
            "critical header parameters (`crit`) are not supported".into(),
        ));
    }
    let alg = check_alg(&header.alg, expect.allowed_algs)?;
    let signature = from_base64url(signature_b64)
        .ok_or_else(|| malformed("the signature is not URL-safe base64".into()))?;
    let signing_input = id_token
        .get(..header_b64.len() + 1 + payload_b64.len())
        .ok_or_else(|| malformed("no signing input".into()))?;
    jwks.verify(
        header.kid.as_deref(),
        alg,
        signing_input.as_bytes(),
        &signature,
    )?;

    // Signed: the claims are the provider's.
    let registered: Registered = decode_json(payload_b64, "payload")?;
    let claims: Value = decode_json(payload_b64, "payload")?;
    if !claims.is_object() {
        return Err(malformed("the payload is not a JSON object".into()));
    }
    let expires = check_registered(&registered, expect)?;
    let subject = registered
        .sub
        .ok_or_else(|| missing("sub"))
        .and_then(|sub| {
            if sub.is_empty() || sub.len() > 255 || sub.chars().any(char::is_control) {
                Err(invalid("sub", "1 to 255 bytes without control characters"))
            } else {
                Ok(sub)
            }
        })?;
    map_identity(subject, expect, expires, claims)
}

fn check_alg(name: &str, allowed: &[Alg]) -> Result<Alg, OidcError> {
    if name.eq_ignore_ascii_case("none") {
        return Err(OidcError::Unsigned);
    }
    // A shared-secret signature would let anyone holding the client secret forge tokens,
    // and is the classic confusion of an RSA public key used as an HMAC key.
    if name
        .get(..2)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("HS"))
    {
        return Err(OidcError::SymmetricAlg {
            alg: clean_text(name, 16),
        });
    }
    match Alg::from_name(name) {
        Some(alg) if allowed.contains(&alg) => Ok(alg),
        _ => Err(OidcError::AlgNotAllowed {
            alg: clean_text(name, 16),
        }),
    }
}

/// Issuer, audience, authorized party, times and nonce; the expiry on success.
fn check_registered(
    registered: &Registered,
    expect: &IdTokenExpectations<'_>,
) -> Result<Ts, OidcError> {
    let issuer = registered.iss.as_deref().ok_or_else(|| missing("iss"))?;
    if issuer != expect.issuer {
        return Err(OidcError::WrongIssuer {
            expected: expect.issuer.into(),
            found: clean_text(issuer, 200),
        });
    }
    let audience: Vec<&str> = match registered.aud.as_ref().ok_or_else(|| missing("aud"))? {
        Audience::One(one) => vec![one.as_str()],
        Audience::Many(many) => many.iter().map(String::as_str).collect(),
    };
    if !audience.contains(&expect.client_id) {
        return Err(OidcError::WrongAudience {
            client_id: expect.client_id.into(),
        });
    }
    // Shared with other audiences, the token must say it was issued to us.
    match registered.azp.as_deref() {
        Some(azp) if azp != expect.client_id => return Err(OidcError::WrongAuthorizedParty),
        None if audience.len() > 1 => return Err(OidcError::WrongAuthorizedParty),
        _ => {}
    }
    let now = expect.now.millis();
    let leeway = expect.leeway_ms;
    let expires = numeric_date(registered.exp.as_ref(), "exp")?.ok_or_else(|| missing("exp"))?;
    if now >= expires.saturating_add(leeway) {
        return Err(OidcError::Expired);
    }
    let issued = numeric_date(registered.iat.as_ref(), "iat")?.ok_or_else(|| missing("iat"))?;
    if issued > now.saturating_add(leeway) {
        return Err(OidcError::IssuedInFuture);
    }
    if let Some(not_before) = numeric_date(registered.nbf.as_ref(), "nbf")?
        && not_before > now.saturating_add(leeway)
    {
        return Err(OidcError::NotYetValid);
    }
    // Not compared in constant time: the nonce is checked only once the signature holds,
    // so no one can probe it with forged tokens.
    if registered.nonce.as_deref() != Some(expect.nonce) {
        return Err(OidcError::NonceMismatch);
    }
    Ok(Ts::from_millis(expires))
}

/// A NumericDate (seconds since the epoch, perhaps with a fraction) in milliseconds.
fn numeric_date(value: Option<&serde_json::Number>, claim: &str) -> Result<Option<i64>, OidcError> {
    let Some(number) = value else {
        return Ok(None);
    };
    if let Some(seconds) = number.as_i64() {
        return Ok(Some(seconds.saturating_mul(1000)));
    }
    match number.as_f64() {
        // `as` saturates: a date beyond the representable range stays at its end.
        Some(seconds) if seconds.is_finite() => Ok(Some((seconds * 1000.0) as i64)),
        _ => Err(invalid(claim, "not a number of seconds")),
    }
}

fn map_identity(
    subject: String,
    expect: &IdTokenExpectations<'_>,
    expires: Ts,
    claims: Value,
) -> Result<VerifiedIdentity, OidcError> {
    let mapping = expect.claims;
    let email = optional_string(&claims, "email")?;
    let email_verified = claims.get("email_verified") == Some(&Value::Bool(true));
    let email_unverified = claims.get("email_verified") == Some(&Value::Bool(false));
    let configured = optional_string_at(&claims, &mapping.username_claim)?;
    let username = configured
        .or_else(|| email.clone().filter(|_| !email_unverified))
        .unwrap_or_else(|| subject.clone());
    if username.chars().any(char::is_control) {
        return Err(invalid(
            &mapping.username_claim,
            "the user name holds control characters",
        ));
    }

    let roles: BTreeSet<String> = string_list(&claims, &mapping.roles_claim)?
        .unwrap_or_default()
        .iter()
        .filter_map(|value| mapping.role_map.get(value))
        .flatten()
        .cloned()
        .collect();
    if roles.is_empty() {
        return Err(OidcError::NoRoles {
            username: clean_text(&username, 200),
            claim: mapping.roles_claim.clone(),
        });
    }

    let sites = match &mapping.sites_claim {
        None => None,
        Some(claim) => {
            let sites: BTreeSet<String> = string_list(&claims, claim)?
                .unwrap_or_default()
                .into_iter()
                .collect();
            if sites.is_empty() {
                return Err(OidcError::NoSites {
                    username: clean_text(&username, 200),
                    claim: claim.clone(),
                });
            }
            if sites.iter().any(|site| {
                site.is_empty()
                    || site.chars().count() > MAX_SITE_CHARS
                    || site.chars().any(char::is_control)
            }) {
                return Err(invalid(
                    claim,
                    "site names are 1 to 128 characters without control characters",
                ));
            }
            Some(sites.into_iter().collect())
        }
    };

    Ok(VerifiedIdentity {
        subject,
        issuer: expect.issuer.to_string(),
        username,
        name: optional_string(&claims, "name")?,
        email,
        email_verified,
        roles: roles.into_iter().collect(),
        sites,
        expires,
        claims,
    })
}

/// The claim named `name` as written, or else found along its dotted path.
fn claim_at<'v>(claims: &'v Value, name: &str) -> Option<&'v Value> {
    if let Some(value) = claims.get(name) {
        return Some(value);
    }
    if !name.contains('.') {
        return None;
    }
    name.split('.')
        .try_fold(claims, |value, part| value.get(part))
}

fn optional_string(claims: &Value, name: &str) -> Result<Option<String>, OidcError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if !text.is_empty() => Ok(Some(text.clone())),
        Some(Value::String(_)) => Ok(None),
        Some(_) => Err(invalid(name, "not a string")),
    }
}

fn optional_string_at(claims: &Value, name: &str) -> Result<Option<String>, OidcError> {
    match claim_at(claims, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if !text.is_empty() => Ok(Some(text.clone())),
        Some(Value::String(_)) => Ok(None),
        Some(_) => Err(invalid(name, "not a string")),
    }
}

/// A claim holding one string or an array of strings; `None` when absent or null.
fn string_list(claims: &Value, name: &str) -> Result<Option<Vec<String>>, OidcError> {
    let not_strings = || invalid(name, "neither a string nor an array of strings");
    match claim_at(claims, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(one)) => Ok(Some(vec![one.clone()])),
        Some(Value::Array(many)) => many
            .iter()
            .map(|value| value.as_str().map(str::to_string).ok_or_else(not_strings))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(not_strings()),
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str, what: &str) -> Result<T, OidcError> {
    let bytes = from_base64url(part)
        .ok_or_else(|| malformed(format!("the {what} is not URL-safe base64")))?;
    serde_json::from_slice(&bytes).map_err(|error| malformed(format!("the {what}: {error}")))
}

fn malformed(reason: String) -> OidcError {
    OidcError::MalformedToken { reason }
}

fn missing(claim: &str) -> OidcError {
    OidcError::MissingClaim {
        claim: claim.into(),
    }
}

fn invalid(claim: &str, reason: &str) -> OidcError {
    OidcError::InvalidClaim {
        claim: clean_text(claim, 64),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::tests::{CLIENT_ID, ISSUER, config};
    use crate::client::{ClaimMapping, OidcClient};
    use crate::encoding::base64url;
    use crate::testing::TestKeys;
    use serde_json::json;
    use std::sync::LazyLock;

    /// Generating keys takes a while in a debug build: once for all tests.
    static KEYS: LazyLock<TestKeys> = LazyLock::new(TestKeys::new);
    static JWKS: LazyLock<Jwks> =
        LazyLock::new(|| Jwks::parse(KEYS.jwks_json().to_string()).unwrap());

    const NOW_SECS: i64 = 1_780_000_000;
    const NONCE: &str = "n-0S6_WzA2Mj";

    fn now() -> Ts {
        Ts::from_secs(NOW_SECS)
    }

    fn claims() -> Value {
        json!({
            "iss": ISSUER,
            "sub": "00u1abc",
            "aud": CLIENT_ID,
            "exp": NOW_SECS + 300,
            "iat": NOW_SECS - 5,
            "auth_time": NOW_SECS - 5,
            "nonce": NONCE,
            "preferred_username": "alice",
            "name": "Alice Admin",
            "email": "alice@example.test",
            "email_verified": true,
            "groups": ["staff", "seam-admins", "soc"],
        })
    }

    fn client_with(change: impl FnOnce(&mut ClaimMapping)) -> OidcClient {
        let mut config = config();
        change(&mut config.claims);
        config.allowed_algs = Alg::ALL.to_vec();
        OidcClient::new(config).unwrap()
    }

    fn verify_with(
        token: &str,
        client: &OidcClient,
        now: Ts,
    ) -> Result<VerifiedIdentity, OidcError> {
        let config = client.config();
        let expect = IdTokenExpectations {
            issuer: &config.issuer,
            client_id: &config.client_id,
            nonce: NONCE,
            now,
            leeway_ms: config.clock_leeway_ms,
            allowed_algs: &config.allowed_algs,
            claims: &config.claims,
        };
        verify_id_token(token, &JWKS, &expect)
    }

    fn verify(token: &str) -> Result<VerifiedIdentity, OidcError> {
        verify_with(token, &client_with(|_| {}), now())
    }

    fn token(claims: &Value) -> String {
        KEYS.token(Alg::Rs256, "rsa-1", claims)
    }

    fn with(change: impl FnOnce(&mut Value)) -> String {
        let mut claims = claims();
        change(&mut claims);
        token(&claims)
    }

    #[test]
    fn accepts_a_good_token_with_every_algorithm() {
        for (alg, kid) in [
            (Alg::Rs256, "rsa-1"),
            (Alg::Ps256, "rsa-pss-1"),
            (Alg::Es256, "ec-1"),
            (Alg::EdDsa, "ed-1"),
        ] {
            let identity = verify(&KEYS.token(alg, kid, &claims()))
                .unwrap_or_else(|error| panic!("{alg}: {error}"));
            assert_eq!(identity.subject, "00u1abc");
            assert_eq!(identity.issuer, ISSUER);
            assert_eq!(identity.username, "alice");
            assert_eq!(identity.name.as_deref(), Some("Alice Admin"));
            assert_eq!(identity.email.as_deref(), Some("alice@example.test"));
            assert!(identity.email_verified);
            assert_eq!(identity.roles, ["admin", "investigator", "soc-analyst"]);
            assert_eq!(identity.sites, None);
            assert_eq!(identity.expires, Ts::from_secs(NOW_SECS + 300));
            assert_eq!(identity.claims["auth_time"], NOW_SECS - 5);
        }
    }

    #[test]
    fn refuses_unsigned_and_shared_secret_tokens() {
        let payload = base64url(claims().to_string().as_bytes());
        for alg in ["none", "None", "NONE"] {
            let header = base64url(json!({"alg": alg, "kid": "rsa-1"}).to_string().as_bytes());
            for token in [
                format!("{header}.{payload}."),
                format!("{header}.{payload}"),
            ] {
                let error = verify(&token).unwrap_err();
                assert!(
                    matches!(
                        error,
                        OidcError::Unsigned | OidcError::MalformedToken { .. }
                    ),
                    "{alg}: {error}"
                );
            }
            assert_eq!(
                verify(&format!("{header}.{payload}.")).unwrap_err(),
                OidcError::Unsigned
            );
        }
        // HS256 "signed" with the RSA public key as the HMAC secret: the classic confusion.
        let header = base64url(
            json!({"alg": "HS256", "kid": "rsa-1"})
                .to_string()
                .as_bytes(),
        );
        let input = format!("{header}.{payload}");
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, KEYS.rsa_n().as_bytes());
        let mac = base64url(ring::hmac::sign(&key, input.as_bytes()).as_ref());
        assert_eq!(
            verify(&format!("{input}.{mac}")).unwrap_err(),
            OidcError::SymmetricAlg {
                alg: "HS256".into()
            }
        );
        for alg in ["HS384", "HS512"] {
            let header = base64url(json!({"alg": alg}).to_string().as_bytes());
            assert!(matches!(
                verify(&format!("{header}.{payload}.{mac}")),
                Err(OidcError::SymmetricAlg { .. })
            ));
        }
    }

    #[test]
    fn refuses_algorithms_not_allowed() {
        // The default client allows RS256, ES256 and EdDSA, not PS256.
        let default_client = OidcClient::new(config()).unwrap();
        let token = KEYS.token(Alg::Ps256, "rsa-pss-1", &claims());
        assert_eq!(
            verify_with(&token, &default_client, now()).unwrap_err(),
            OidcError::AlgNotAllowed {
                alg: "PS256".into()
            }
        );
        for alg in ["RS512", "ES384", "rs256"] {
            let header = base64url(json!({"alg": alg, "kid": "rsa-1"}).to_string().as_bytes());
            let signed = KEYS.sign(Alg::Rs256, &header, &claims());
            assert!(
                matches!(verify(&signed), Err(OidcError::AlgNotAllowed { .. })),
                "{alg}"
            );
        }
    }

    #[test]
    fn an_unknown_key_id_is_its_own_error() {
        let token = KEYS.token(Alg::Rs256, "rotated-2", &claims());
        assert_eq!(
            verify(&token).unwrap_err(),
            OidcError::UnknownKey {
                kid: Some("rotated-2".into())
            }
        );
        // A known kid of another key type fits no key either.
        let token = KEYS.token(Alg::Es256, "rsa-1", &claims());
        assert!(matches!(verify(&token), Err(OidcError::UnknownKey { .. })));
        // Without a kid, every key of the algorithm is tried.
        let header = base64url(json!({"alg": "ES256"}).to_string().as_bytes());
        assert!(verify(&KEYS.sign(Alg::Es256, &header, &claims())).is_ok());
        let empty = Jwks::parse(r#"{"keys": []}"#).unwrap();
        let client = client_with(|_| {});
        let expect = client.config();
        let expectations = IdTokenExpectations {
            issuer: &expect.issuer,
            client_id: &expect.client_id,
            nonce: NONCE,
            now: now(),
            leeway_ms: 0,
            allowed_algs: &expect.allowed_algs,
            claims: &expect.claims,
        };
        assert_eq!(
            verify_id_token(&header_only_token(), &empty, &expectations).unwrap_err(),
            OidcError::UnknownKey { kid: None }
        );
    }

    fn header_only_token() -> String {
        let header = base64url(json!({"alg": "RS256"}).to_string().as_bytes());
        KEYS.sign(Alg::Rs256, &header, &claims())
    }

    #[test]
    fn refuses_a_bad_signature() {
        let good = token(&claims());
        let (input, _) = good.rsplit_once('.').unwrap();
        let (header, _) = input.split_once('.').unwrap();
        // Claims changed after signing: a new group grants more.
        let mut forged = claims();
        forged["groups"] = json!(["seam-admins"]);
        forged["sub"] = json!("someone-else");
        let forged_payload = base64url(forged.to_string().as_bytes());
        let signature = good.rsplit('.').next().unwrap();
        assert_eq!(
            verify(&format!("{header}.{forged_payload}.{signature}")).unwrap_err(),
            OidcError::BadSignature
        );
        // A signature by another key of the same kind.
        let other = KEYS.token(Alg::Es256, "ec-1", &claims());
        let other_signature = other.rsplit('.').next().unwrap();
        let es_input = other.rsplit_once('.').unwrap().0;
        let mut flipped = from_base64url(other_signature).unwrap();
        flipped[10] ^= 1;
        assert_eq!(
            verify(&format!("{es_input}.{}", base64url(&flipped))).unwrap_err(),
            OidcError::BadSignature
        );
        assert_eq!(
            verify(&format!("{input}.")).unwrap_err(),
            OidcError::BadSignature
        );
        assert!(matches!(
            verify(&format!("{input}.not*base64")),
            Err(OidcError::MalformedToken { .. })
        ));
    }

    #[test]
    fn refuses_malformed_and_oversized_tokens() {
        let good = token(&claims());
        for bad in [
            String::new(),
            "a.b".into(),
            "a.b.c.d.e".into(),
            format!("{good}.x"),
            "!!.e30.".into(),
            format!("{}.e30.", base64url(b"[]")),
            format!("{}.e30.", base64url(br#"{"alg":"RS256","crit":["exp"]}"#)),
        ] {
            assert!(
                matches!(verify(&bad), Err(OidcError::MalformedToken { .. })),
                "{bad}"
            );
        }
        let encrypted = verify("a.b.c.d.e").unwrap_err();
        assert!(encrypted.to_string().contains("encrypted"), "{encrypted}");
        let mut huge = claims();
        huge["padding"] = json!("x".repeat(MAX_ID_TOKEN_BYTES));
        assert_eq!(
            verify(&token(&huge)).unwrap_err(),
            OidcError::TokenTooLarge {
                limit: MAX_ID_TOKEN_BYTES
            }
        );
        // Signed, but the payload is not an object, or repeats a claim.
        let header = base64url(
            json!({"alg": "RS256", "kid": "rsa-1"})
                .to_string()
                .as_bytes(),
        );
        assert!(matches!(
            verify(&KEYS.sign_raw(Alg::Rs256, &header, b"[1]")),
            Err(OidcError::MalformedToken { .. })
        ));
        let repeated = format!(
            r#"{{"sub":"attacker",{}"#,
            claims().to_string().trim_start_matches('{')
        );
        assert!(matches!(
            verify(&KEYS.sign_raw(Alg::Rs256, &header, repeated.as_bytes())),
            Err(OidcError::MalformedToken { .. })
        ));
    }

    #[test]
    fn refuses_another_issuer() {
        let token = with(|c| c["iss"] = json!("https://evil.example"));
        assert_eq!(
            verify(&token).unwrap_err(),
            OidcError::WrongIssuer {
                expected: ISSUER.into(),
                found: "https://evil.example".into()
            }
        );
        let token = with(|c| c["iss"] = json!(format!("{ISSUER}/")));
        assert!(matches!(verify(&token), Err(OidcError::WrongIssuer { .. })));
        let token = with(|c| {
            c.as_object_mut().unwrap().remove("iss");
        });
        assert!(matches!(
            verify(&token),
            Err(OidcError::MissingClaim { .. })
        ));
    }

    #[test]
    fn refuses_another_audience_and_authorized_party() {
        for aud in [json!("other-client"), json!(["other-client"]), json!([])] {
            let token = with(|c| c["aud"] = aud.clone());
            assert_eq!(
                verify(&token).unwrap_err(),
                OidcError::WrongAudience {
                    client_id: CLIENT_ID.into()
                },
                "{aud}"
            );
        }
        let token = with(|c| {
            c.as_object_mut().unwrap().remove("aud");
        });
        assert!(matches!(
            verify(&token),
            Err(OidcError::MissingClaim { .. })
        ));
        // Several audiences: azp must name us.
        let token = with(|c| c["aud"] = json!([CLIENT_ID, "other-client"]));
        assert_eq!(verify(&token).unwrap_err(), OidcError::WrongAuthorizedParty);
        let token = with(|c| {
            c["aud"] = json!([CLIENT_ID, "other-client"]);
            c["azp"] = json!("other-client");
        });
        assert_eq!(verify(&token).unwrap_err(), OidcError::WrongAuthorizedParty);
        let token = with(|c| {
            c["aud"] = json!([CLIENT_ID, "other-client"]);
            c["azp"] = json!(CLIENT_ID);
        });
        assert!(verify(&token).is_ok());
        // One audience, but azp names another client.
        let token = with(|c| c["azp"] = json!("other-client"));
        assert_eq!(verify(&token).unwrap_err(), OidcError::WrongAuthorizedParty);
        let token = with(|c| c["aud"] = json!([CLIENT_ID]));
        assert!(verify(&token).is_ok());
    }

    #[test]
    fn checks_the_times_with_leeway() {
        let client = client_with(|_| {});
        let at = |secs: i64| Ts::from_secs(secs);
        let exp = NOW_SECS + 300;
        let token = token(&claims());
        // Expired, within the 60 s leeway, then past it.
        assert!(verify_with(&token, &client, at(exp + 59)).is_ok());
        assert_eq!(
            verify_with(&token, &client, at(exp + 60)).unwrap_err(),
            OidcError::Expired
        );
        let no_exp = with(|c| {
            c.as_object_mut().unwrap().remove("exp");
        });
        assert!(matches!(
            verify(&no_exp),
            Err(OidcError::MissingClaim { .. })
        ));
        let text_exp = with(|c| c["exp"] = json!("tomorrow"));
        assert!(matches!(
            verify(&text_exp),
            Err(OidcError::MalformedToken { .. })
        ));
        let fractional = with(|c| c["exp"] = json!(NOW_SECS as f64 + 0.5));
        assert!(verify_with(&fractional, &client, at(NOW_SECS)).is_ok());

        // Issued in the future.
        let future = with(|c| c["iat"] = json!(NOW_SECS + 61));
        assert_eq!(verify(&future).unwrap_err(), OidcError::IssuedInFuture);
        let slightly = with(|c| c["iat"] = json!(NOW_SECS + 60));
        assert!(verify(&slightly).is_ok());
        let no_iat = with(|c| {
            c.as_object_mut().unwrap().remove("iat");
        });
        assert!(matches!(
            verify(&no_iat),
            Err(OidcError::MissingClaim { .. })
        ));

        // Not valid yet.
        let not_yet = with(|c| c["nbf"] = json!(NOW_SECS + 120));
        assert_eq!(verify(&not_yet).unwrap_err(), OidcError::NotYetValid);
        let valid_now = with(|c| c["nbf"] = json!(NOW_SECS - 1));
        assert!(verify(&valid_now).is_ok());
    }

    #[test]
    fn refuses_a_missing_or_other_nonce() {
        let other = with(|c| c["nonce"] = json!("another-sign-in"));
        assert_eq!(verify(&other).unwrap_err(), OidcError::NonceMismatch);
        let none = with(|c| {
            c.as_object_mut().unwrap().remove("nonce");
        });
        assert_eq!(verify(&none).unwrap_err(), OidcError::NonceMismatch);
    }

    #[test]
    fn refuses_a_bad_subject() {
        for sub in [json!(""), json!(5), json!("x".repeat(256)), json!("a\nb")] {
            let token = with(|c| c["sub"] = sub.clone());
            assert!(
                matches!(
                    verify(&token),
                    Err(OidcError::InvalidClaim { .. } | OidcError::MalformedToken { .. })
                ),
                "{sub}"
            );
        }
        let token = with(|c| {
            c.as_object_mut().unwrap().remove("sub");
        });
        assert!(matches!(
            verify(&token),
            Err(OidcError::MissingClaim { .. })
        ));
    }

    #[test]
    fn no_role_no_access() {
        let token = with(|c| c["groups"] = json!(["staff", "Seam-Admins"]));
        assert_eq!(
            verify(&token).unwrap_err(),
            OidcError::NoRoles {
                username: "alice".into(),
                claim: "groups".into()
            }
        );
        for groups in [json!([]), json!(null)] {
            let token = with(|c| c["groups"] = groups.clone());
            assert!(matches!(verify(&token), Err(OidcError::NoRoles { .. })));
        }
        let token = with(|c| {
            c.as_object_mut().unwrap().remove("groups");
        });
        assert!(matches!(verify(&token), Err(OidcError::NoRoles { .. })));
        for odd in [json!(5), json!({"a": 1}), json!(["seam-admins", 5])] {
            let token = with(|c| c["groups"] = odd.clone());
            assert!(
                matches!(verify(&token), Err(OidcError::InvalidClaim { .. })),
                "{odd}"
            );
        }
        // One string is one value.
        let token = with(|c| c["groups"] = json!("auditors"));
        assert_eq!(verify(&token).unwrap().roles, ["auditor"]);
    }

    #[test]
    fn roles_from_a_dotted_path_or_a_namespaced_claim() {
        let client = client_with(|m| m.roles_claim = "realm_access.roles".into());
        let token = with(|c| c["realm_access"] = json!({"roles": ["soc", "offline_access"]}));
        let identity = verify_with(&token, &client, now()).unwrap();
        assert_eq!(identity.roles, ["investigator", "soc-analyst"]);

        let client = client_with(|m| m.roles_claim = "https://seam.example/groups".into());
        let token = with(|c| c["https://seam.example/groups"] = json!(["auditors"]));
        assert_eq!(
            verify_with(&token, &client, now()).unwrap().roles,
            ["auditor"]
        );
        // A claim literally named with a dot wins over the path.
        let client = client_with(|m| m.roles_claim = "a.b".into());
        let token = with(|c| {
            c["a.b"] = json!("auditors");
            c["a"] = json!({"b": "seam-admins"});
        });
        assert_eq!(
            verify_with(&token, &client, now()).unwrap().roles,
            ["auditor"]
        );
    }

    #[test]
    fn sites_when_configured() {
        let client = client_with(|m| m.sites_claim = Some("seam.sites".into()));
        let token = with(|c| c["seam"] = json!({"sites": ["lab", "hq", "lab"]}));
        let identity = verify_with(&token, &client, now()).unwrap();
        assert_eq!(
            identity.sites,
            Some(vec!["hq".to_string(), "lab".to_string()])
        );
        let token = with(|c| c["seam"] = json!({"sites": "hq"}));
        assert_eq!(
            verify_with(&token, &client, now()).unwrap().sites,
            Some(vec!["hq".to_string()])
        );
        // Configured but absent or empty: no site, no access (never "every site").
        for seam in [json!({}), json!({"sites": []}), json!(null)] {
            let token = with(|c| c["seam"] = seam.clone());
            assert!(
                matches!(
                    verify_with(&token, &client, now()),
                    Err(OidcError::NoSites { .. })
                ),
                "{seam}"
            );
        }
        for bad in [json!([""]), json!(["a\u{1}"]), json!([7])] {
            let token = with(|c| c["seam"] = json!({"sites": bad.clone()}));
            assert!(
                matches!(
                    verify_with(&token, &client, now()),
                    Err(OidcError::InvalidClaim { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_username_falls_back_to_email_then_subject() {
        let token = with(|c| {
            c.as_object_mut().unwrap().remove("preferred_username");
        });
        assert_eq!(verify(&token).unwrap().username, "alice@example.test");
        // An email the provider marks unverified names no one.
        let token = with(|c| {
            c.as_object_mut().unwrap().remove("preferred_username");
            c["email_verified"] = json!(false);
        });
        let identity = verify(&token).unwrap();
        assert_eq!(identity.username, "00u1abc");
        assert!(!identity.email_verified);
        let token = with(|c| {
            let claims = c.as_object_mut().unwrap();
            claims.remove("preferred_username");
            claims.remove("email");
        });
        assert_eq!(verify(&token).unwrap().username, "00u1abc");
        let client = client_with(|m| m.username_claim = "upn".into());
        let token = with(|c| c["upn"] = json!("alice@corp.example"));
        assert_eq!(
            verify_with(&token, &client, now()).unwrap().username,
            "alice@corp.example"
        );
        let token = with(|c| c["preferred_username"] = json!(["alice"]));
        assert!(matches!(
            verify(&token),
            Err(OidcError::InvalidClaim { .. })
        ));
        let token = with(|c| c["preferred_username"] = json!("ali\nce"));
        assert!(matches!(
            verify(&token),
            Err(OidcError::InvalidClaim { .. })
        ));
    }
}
