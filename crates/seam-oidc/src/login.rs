//! Starting a sign-in and receiving the provider's answer: the authorization code flow with
//! PKCE (S256), a state against cross-site request forgery, and a nonce that ties the ID
//! token to this one sign-in.
//!
//! The state, nonce and verifier are 256 random bits each. A pending sign-in is kept in
//! [`PendingLogins`] under its state and taken out by the callback: one use only, so a
//! replayed callback, code or ID token finds nothing.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use seam_model::Ts;

use crate::client::OidcClient;
use crate::encoding::{base64url, form_pairs, percent_encode};
use crate::error::{OidcError, clean_text};
use crate::metadata::ProviderMetadata;
use crate::random::{Random, random_bytes};

/// Random bytes in each state, nonce and PKCE verifier (43 characters once encoded).
const SECRET_BYTES: usize = 32;
/// The longest return path kept.
pub const MAX_RETURN_TO_BYTES: usize = 512;
/// The longest callback query read.
pub const MAX_CALLBACK_QUERY_BYTES: usize = 8 * 1024;
/// The longest authorization code accepted.
const MAX_CODE_BYTES: usize = 2048;
/// Pending sign-ins kept at most by [`PendingLogins::for_client`].
pub const DEFAULT_PENDING_CAPACITY: usize = 10_000;

/// A sign-in sent to the provider and not yet back. `Debug` shows only when it started and
/// where it returns to: the state, nonce and verifier are secrets until used.
#[derive(Clone, PartialEq, Eq)]
pub struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub code_verifier: String,
    pub created: Ts,
    /// The local path to show once signed in.
    pub return_to: Option<String>,
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin")
            .field("state", &"redacted")
            .field("created", &self.created)
            .field("return_to", &self.return_to)
            .finish_non_exhaustive()
    }
}

/// Starts a sign-in: the URL to send the browser to, and the pending sign-in to keep (in
/// [`PendingLogins`]) until the provider sends the browser back.
///
/// `return_to` must be a path on this site (`/findings?x=1`), never a URL: anything else
/// would make the callback an open redirect.
pub fn begin_login(
    client: &OidcClient,
    metadata: &ProviderMetadata,
    return_to: Option<&str>,
    now: Ts,
    random: &mut dyn Random,
) -> Result<(String, PendingLogin), OidcError> {
    client.check_provider(metadata)?;
    if let Some(path) = return_to
        && !is_local_path(path)
    {
        return Err(OidcError::InvalidReturnTo);
    }
    let state = base64url(&random_bytes::<SECRET_BYTES>(random)?);
    let nonce = base64url(&random_bytes::<SECRET_BYTES>(random)?);
    let code_verifier = base64url(&random_bytes::<SECRET_BYTES>(random)?);
    let code_challenge =
        base64url(ring::digest::digest(&ring::digest::SHA256, code_verifier.as_bytes()).as_ref());
    let config = client.config();
    let params = [
        ("response_type", "code"),
        ("client_id", config.client_id.as_str()),
        ("redirect_uri", config.redirect_uri.as_str()),
        ("scope", config.scopes.as_str()),
        ("state", state.as_str()),
        ("nonce", nonce.as_str()),
        ("code_challenge", code_challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let endpoint = &metadata.authorization_endpoint;
    // An endpoint may carry a query of its own (some providers put a tenant or policy there).
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    let url = format!("{endpoint}{separator}{}", form_body(&params));
    let pending = PendingLogin {
        state,
        nonce,
        code_verifier,
        created: now,
        return_to: return_to.map(str::to_string),
    };
    Ok((url, pending))
}

/// `name=value&…`, every name and value percent-encoded.
pub(crate) fn form_body(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(name, value)| format!("{}={}", percent_encode(name), percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A path on this site: one leading `/` (`//host` and `/\host` are other sites to browsers),
/// printable ASCII only, bounded.
fn is_local_path(path: &str) -> bool {
    path.len() <= MAX_RETURN_TO_BYTES
        && path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && path.bytes().all(|byte| byte.is_ascii_graphic())
}

/// The pending sign-ins, by state: bounded in number, each valid for the client's maximum
/// login age. Full, the oldest goes first: a flood of started sign-ins can push out real
/// ones, but never grows memory.
#[derive(Debug, Clone)]
pub struct PendingLogins {
    capacity: usize,
    max_age_ms: i64,
    by_state: HashMap<String, (u64, PendingLogin)>,
    /// Insertion order, for eviction and expiry: sequence number to state.
    order: BTreeMap<u64, String>,
    next: u64,
}

impl PendingLogins {
    /// At most `capacity` sign-ins (at least one), each valid for `max_age_ms`.
    pub fn new(capacity: usize, max_age_ms: i64) -> PendingLogins {
        PendingLogins {
            capacity: capacity.max(1),
            max_age_ms,
            by_state: HashMap::new(),
            order: BTreeMap::new(),
            next: 0,
        }
    }

    /// [`DEFAULT_PENDING_CAPACITY`] sign-ins, each valid for the client's maximum login age.
    pub fn for_client(client: &OidcClient) -> PendingLogins {
        PendingLogins::new(DEFAULT_PENDING_CAPACITY, client.config().max_login_age_ms)
    }

    pub fn len(&self) -> usize {
        self.by_state.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_state.is_empty()
    }

    /// Keeps a sign-in begun at `pending.created`; drops the expired ones, and the oldest
    /// when full.
    pub fn insert(&mut self, pending: PendingLogin, now: Ts) {
        self.remove_expired(now);
        while self.by_state.len() >= self.capacity {
            let Some((_, state)) = self.order.pop_first() else {
                break;
            };
            self.by_state.remove(&state);
        }
        let sequence = self.next;
        self.next = self.next.wrapping_add(1);
        if let Some((old, _)) = self.by_state.remove(&pending.state) {
            self.order.remove(&old);
        }
        self.order.insert(sequence, pending.state.clone());
        self.by_state
            .insert(pending.state.clone(), (sequence, pending));
    }

    /// Takes out the sign-in of `state`: it cannot be taken twice.
    pub fn take(&mut self, state: &str, now: Ts) -> Result<PendingLogin, OidcError> {
        let (sequence, pending) = self.by_state.remove(state).ok_or(OidcError::UnknownState)?;
        self.order.remove(&sequence);
        if self.is_expired(&pending, now) {
            return Err(OidcError::LoginExpired);
        }
        Ok(pending)
    }

    /// Drops the sign-ins older than the maximum age (oldest first, stopping at the first
    /// still valid: insertion order is age order).
    pub fn remove_expired(&mut self, now: Ts) {
        while let Some((&sequence, state)) = self.order.first_key_value() {
            let expired = self
                .by_state
                .get(state)
                .is_none_or(|(_, pending)| self.is_expired(pending, now));
            if !expired {
                break;
            }
            if let Some(state) = self.order.remove(&sequence) {
                self.by_state.remove(&state);
            }
        }
    }

    fn is_expired(&self, pending: &PendingLogin, now: Ts) -> bool {
        now.millis().saturating_sub(pending.created.millis()) > self.max_age_ms
    }
}

/// The provider's answer, as the query of the request to the redirect URI.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizationResponse {
    pub code: String,
    pub state: String,
}

impl fmt::Debug for AuthorizationResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthorizationResponse(redacted)")
    }
}

impl AuthorizationResponse {
    /// Reads the callback's query string (without the `?`). Refuses a response from another
    /// issuer (RFC 9207's `iss`, required when the provider promises it), an error answer
    /// ([`OidcError::Denied`]), a repeated parameter, and a missing code or state.
    pub fn parse(
        query: &str,
        metadata: &ProviderMetadata,
    ) -> Result<AuthorizationResponse, OidcError> {
        let malformed = |reason: &str| OidcError::Malformed {
            what: "authorization response",
            reason: reason.into(),
        };
        if query.len() > MAX_CALLBACK_QUERY_BYTES {
            return Err(OidcError::TooLarge {
                what: "authorization response",
                limit: MAX_CALLBACK_QUERY_BYTES,
            });
        }
        let pairs = form_pairs(query).map_err(|reason| malformed(&reason))?;
        let mut values = BTreeMap::new();
        for (name, value) in pairs {
            if values.insert(name.clone(), value).is_some() {
                return Err(malformed(&format!(
                    "the parameter `{}` is repeated",
                    clean_text(&name, 40)
                )));
            }
        }
        match values.get("iss") {
            Some(iss) if *iss != metadata.issuer => {
                return Err(OidcError::ResponseIssuerMismatch {
                    expected: metadata.issuer.clone(),
                    found: clean_text(iss, 200),
                });
            }
            None if metadata.authorization_response_iss_parameter_supported => {
                return Err(OidcError::ResponseIssuerMismatch {
                    expected: metadata.issuer.clone(),
                    found: "none".into(),
                });
            }
            _ => {}
        }
        if let Some(error) = values.get("error") {
            return Err(OidcError::Denied {
                error: clean_text(error, 64),
                description: values
                    .get("error_description")
                    .map(|text| clean_text(text, 200)),
            });
        }
        let code = values
            .remove("code")
            .ok_or_else(|| malformed("no `code`"))?;
        let state = values
            .remove("state")
            .ok_or_else(|| malformed("no `state`"))?;
        // RFC 6749 codes are printable ASCII (VSCHAR); ours are base64url.
        if code.is_empty()
            || code.len() > MAX_CODE_BYTES
            || !code.bytes().all(|byte| (0x20..=0x7e).contains(&byte))
        {
            return Err(malformed(
                "the code is empty, too long or not printable ASCII",
            ));
        }
        if state.is_empty() || state.len() > 256 {
            return Err(malformed("the state is empty or too long"));
        }
        Ok(AuthorizationResponse { code, state })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::tests::{CLIENT_ID, ISSUER, REDIRECT_URI, client};
    use crate::encoding::form_pairs;
    use crate::random::testing::{BrokenRandom, SeededRandom};

    const T0: Ts = Ts::from_millis(1_780_000_000_000);

    pub(crate) fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            issuer: ISSUER.into(),
            authorization_endpoint: format!("{ISSUER}/authorize"),
            token_endpoint: format!("{ISSUER}/token"),
            jwks_uri: format!("{ISSUER}/jwks"),
            end_session_endpoint: None,
            id_token_signing_alg_values_supported: vec!["RS256".into(), "ES256".into()],
            code_challenge_methods_supported: Some(vec!["S256".into()]),
            token_endpoint_auth_methods_supported: None,
            authorization_response_iss_parameter_supported: true,
        }
    }

    fn query_of(url: &str) -> BTreeMap<String, String> {
        let (_, query) = url.split_once('?').unwrap();
        form_pairs(query).unwrap().into_iter().collect()
    }

    #[test]
    fn builds_the_authorization_url_with_pkce() {
        let (url, pending) = begin_login(
            &client(),
            &metadata(),
            Some("/findings?severity=high"),
            T0,
            &mut SeededRandom(7),
        )
        .unwrap();
        assert!(url.starts_with("https://idp.example.com/authorize?response_type=code&"));
        let params = query_of(&url);
        assert_eq!(params["client_id"], CLIENT_ID);
        assert_eq!(params["redirect_uri"], REDIRECT_URI);
        assert_eq!(params["scope"], "openid email profile");
        assert_eq!(params["state"], pending.state);
        assert_eq!(params["nonce"], pending.nonce);
        assert_eq!(params["code_challenge_method"], "S256");
        // RFC 7636 appendix B's example verifier and challenge.
        let challenge = |verifier: &str| {
            base64url(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()).as_ref())
        };
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(params["code_challenge"], challenge(&pending.code_verifier));
        assert!(!url.contains(&pending.code_verifier));
        // 256 bits each, URL-safe, all different.
        for secret in [&pending.state, &pending.nonce, &pending.code_verifier] {
            assert_eq!(secret.len(), 43);
            assert!(
                secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
        }
        assert_ne!(pending.state, pending.nonce);
        assert_ne!(pending.nonce, pending.code_verifier);
        assert_eq!(pending.created, T0);
        assert_eq!(
            pending.return_to.as_deref(),
            Some("/findings?severity=high")
        );
        let printed = format!("{pending:?}");
        assert!(!printed.contains(&pending.state) && !printed.contains(&pending.nonce));
    }

    #[test]
    fn keeps_a_query_the_endpoint_has() {
        let mut metadata = metadata();
        metadata.authorization_endpoint = format!("{ISSUER}/authorize?p=b2c_signin");
        let (url, _) = begin_login(&client(), &metadata, None, T0, &mut SeededRandom(1)).unwrap();
        assert!(
            url.starts_with("https://idp.example.com/authorize?p=b2c_signin&response_type=code&")
        );
    }

    #[test]
    fn refuses_return_paths_that_leave_the_site() {
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example/",
            "findings",
            "/a b",
            "/a\nb",
            "",
        ] {
            assert_eq!(
                begin_login(&client(), &metadata(), Some(bad), T0, &mut SeededRandom(1))
                    .unwrap_err(),
                OidcError::InvalidReturnTo,
                "{bad:?}"
            );
        }
        let long = format!("/{}", "a".repeat(MAX_RETURN_TO_BYTES));
        assert!(
            begin_login(
                &client(),
                &metadata(),
                Some(&long),
                T0,
                &mut SeededRandom(1)
            )
            .is_err()
        );
    }

    #[test]
    fn a_broken_generator_starts_nothing() {
        assert!(matches!(
            begin_login(&client(), &metadata(), None, T0, &mut BrokenRandom),
            Err(OidcError::Random(_))
        ));
    }

    #[test]
    fn a_provider_that_does_not_fit_fails_before_the_user_signs_in() {
        let mut metadata = metadata();
        metadata.id_token_signing_alg_values_supported = vec!["HS256".into()];
        assert!(matches!(
            begin_login(&client(), &metadata, None, T0, &mut SeededRandom(1)),
            Err(OidcError::Unsupported { .. })
        ));
    }

    fn pending(state: &str, created: Ts) -> PendingLogin {
        PendingLogin {
            state: state.into(),
            nonce: format!("nonce-{state}"),
            code_verifier: format!("verifier-{state}"),
            created,
            return_to: None,
        }
    }

    #[test]
    fn a_state_is_taken_once() {
        let mut logins = PendingLogins::new(10, 600_000);
        logins.insert(pending("a", T0), T0);
        logins.insert(pending("b", T0), T0);
        assert_eq!(logins.len(), 2);
        assert_eq!(
            logins.take("a", T0.plus_millis(1000)).unwrap().nonce,
            "nonce-a"
        );
        assert_eq!(
            logins.take("a", T0.plus_millis(1000)),
            Err(OidcError::UnknownState)
        );
        assert_eq!(logins.take("never", T0), Err(OidcError::UnknownState));
        assert_eq!(logins.len(), 1);
    }

    #[test]
    fn pending_logins_expire() {
        let mut logins = PendingLogins::new(10, 600_000);
        logins.insert(pending("a", T0), T0);
        logins.insert(
            pending("b", T0.plus_millis(300_000)),
            T0.plus_millis(300_000),
        );
        assert_eq!(
            logins.take("a", T0.plus_millis(600_001)),
            Err(OidcError::LoginExpired)
        );
        // Expired ones go when others come.
        logins.insert(
            pending("c", T0.plus_millis(900_001)),
            T0.plus_millis(900_001),
        );
        assert_eq!(logins.len(), 1);
        assert_eq!(
            logins.take("b", T0.plus_millis(900_001)),
            Err(OidcError::UnknownState)
        );
        assert!(logins.take("c", T0.plus_millis(900_002)).is_ok());
        assert!(logins.is_empty());
    }

    #[test]
    fn full_the_oldest_goes() {
        let mut logins = PendingLogins::new(3, 600_000);
        for (i, state) in ["a", "b", "c", "d"].into_iter().enumerate() {
            let at = T0.plus_millis(i as i64);
            logins.insert(pending(state, at), at);
        }
        assert_eq!(logins.len(), 3);
        assert_eq!(logins.take("a", T0), Err(OidcError::UnknownState));
        for state in ["b", "c", "d"] {
            assert!(logins.take(state, T0.plus_millis(10)).is_ok(), "{state}");
        }
        // Taking leaves no trace in the order either: a new round evicts correctly.
        for state in ["e", "f", "g", "h"] {
            logins.insert(pending(state, T0), T0);
        }
        assert_eq!(logins.len(), 3);
        assert_eq!(logins.order.len(), 3);
    }

    #[test]
    fn reads_the_callback() {
        let metadata = metadata();
        let query = "code=abc.DEF-123&state=xyz&iss=https%3A%2F%2Fidp.example.com";
        let response = AuthorizationResponse::parse(query, &metadata).unwrap();
        assert_eq!(response.code, "abc.DEF-123");
        assert_eq!(response.state, "xyz");
        assert_eq!(format!("{response:?}"), "AuthorizationResponse(redacted)");
    }

    #[test]
    fn refuses_bad_callbacks() {
        let metadata = metadata();
        let iss = "iss=https%3A%2F%2Fidp.example.com";
        let parse = |query: &str| AuthorizationResponse::parse(query, &metadata);
        assert!(matches!(
            parse("code=a&state=b&iss=https%3A%2F%2Fevil.example"),
            Err(OidcError::ResponseIssuerMismatch { .. })
        ));
        // The provider promises `iss`: its absence is a possible mix-up too.
        assert!(matches!(
            parse("code=a&state=b"),
            Err(OidcError::ResponseIssuerMismatch { .. })
        ));
        let mut quiet = metadata.clone();
        quiet.authorization_response_iss_parameter_supported = false;
        assert!(AuthorizationResponse::parse("code=a&state=b", &quiet).is_ok());
        assert_eq!(
            parse(&format!(
                "error=access_denied&error_description=End-User+aborted%0Ainteraction&state=b&{iss}"
            )),
            Err(OidcError::Denied {
                error: "access_denied".into(),
                description: Some("End-User aborted interaction".into()),
            })
        );
        for query in [
            format!("state=b&{iss}"),
            format!("code=a&{iss}"),
            format!("code=a&code=c&state=b&{iss}"),
            format!("code=&state=b&{iss}"),
            format!("code=a%0A&state=b&{iss}"),
            format!("code=a&state=&{iss}"),
            format!("code=%zz&state=b&{iss}"),
        ] {
            assert!(
                matches!(parse(&query), Err(OidcError::Malformed { .. })),
                "{query}"
            );
        }
        let long = format!(
            "code={}&state=b&{iss}",
            "a".repeat(MAX_CALLBACK_QUERY_BYTES)
        );
        assert!(matches!(parse(&long), Err(OidcError::TooLarge { .. })));
    }
}
