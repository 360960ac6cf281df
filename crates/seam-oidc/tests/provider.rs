//! Sign-in through a real OpenID Connect provider: npm's `oidc-provider` (the certified
//! implementation), started on loopback by `tests/provider/provider.mjs`. A small browser
//! here follows the authorization URL through the provider's own sign-in and consent pages,
//! keeping cookies and following redirects, to the redirect URI; then the code is redeemed
//! and the ID token verified, as the service will do it. Alice (groups `seam-admins`,
//! `staff`) signs in with each algorithm; Bob (group `nobody`) gets no access; replayed
//! states and codes, a wrong nonce or verifier, and tampered tokens are refused.
//!
//! Needs Node.js and `oidc-provider` under `.ci/node/node_modules` (or
//! `SEAM_OIDC_PROVIDER_DIR`); `.ci/run` installs it. Without them the tests fail, loudly.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use seam_model::Ts;
use seam_oidc::{
    Alg, AuthorizationResponse, ClientAuth, ClientSecret, Jwks, OidcClient, OidcConfig, OidcError,
    OsRandom, PendingLogin, PendingLogins, ProviderMetadata, TokenResponse, begin_login,
    parse_token_response, token_request, verify_id_token,
};
use serde_json::Value;

mod support;
use support::{Browser, Landing, Provider, html_attribute, http};

use support::{CLIENT_ID, CLIENT_SECRET};
/// Registered at the provider; nothing listens there: the browser stops before following.
const REDIRECT_URI: &str = "http://127.0.0.1:9/v1/oidc/callback";

fn now() -> Ts {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    Ts::from_millis(i64::try_from(millis).unwrap())
}

// ---------------------------------------------------------------------------------------
// The relying party, as the service will run it.

struct Harness {
    provider: Provider,
    metadata: ProviderMetadata,
    jwks: Jwks,
}

impl Harness {
    fn start() -> Harness {
        let provider = Provider::start(REDIRECT_URI);
        let discovery = http(
            "GET",
            &ProviderMetadata::discovery_url(&provider.issuer),
            &[],
            b"",
        );
        assert_eq!(discovery.status, 200, "{}", discovery.text());
        let metadata = ProviderMetadata::parse(&discovery.body, &provider.issuer).unwrap();
        assert!(metadata.authorization_response_iss_parameter_supported);
        let keys = http("GET", &metadata.jwks_uri, &[], b"");
        assert_eq!(keys.status, 200, "{}", keys.text());
        let jwks = Jwks::parse(&keys.body).unwrap();
        assert_eq!(jwks.len(), 4, "RS256, PS256, ES256 and EdDSA keys");
        Harness {
            provider,
            metadata,
            jwks,
        }
    }

    /// Seam's configuration for the provider's client `seam<suffix>`.
    fn client(&self, suffix: &str, auth: ClientAuth) -> OidcClient {
        let mut config = OidcConfig::new(
            self.provider.issuer.clone(),
            format!("{CLIENT_ID}{suffix}"),
            REDIRECT_URI,
        );
        config.client_secret = Some(ClientSecret::new(CLIENT_SECRET));
        config.client_auth = auth;
        config.scopes = "openid email profile groups seam".into();
        config.claims.role_map = BTreeMap::from([
            ("seam-admins".to_string(), vec!["admin".to_string()]),
            ("staff".to_string(), vec!["investigator".to_string()]),
        ]);
        config.claims.sites_claim = Some("seam.sites".into());
        config.allowed_algs = Alg::ALL.to_vec();
        OidcClient::new(config).unwrap()
    }

    /// `/v1/oidc/login` then the browser at the provider: the pending sign-in is kept in
    /// `logins`; returns the callback's query.
    fn sign_in(
        &self,
        client: &OidcClient,
        logins: &mut PendingLogins,
        login: &str,
    ) -> (String, String) {
        let (url, pending) = begin_login(
            client,
            &self.metadata,
            Some("/findings"),
            now(),
            &mut OsRandom,
        )
        .unwrap();
        assert!(url.starts_with(&self.metadata.authorization_endpoint));
        let state = pending.state.clone();
        logins.insert(pending, now());
        let query = Browser::stopping_at(REDIRECT_URI).sign_in(&url, login);
        (query, state)
    }

    /// The token request, sent.
    fn redeem(
        &self,
        client: &OidcClient,
        pending: &PendingLogin,
        code: &str,
    ) -> Result<TokenResponse, OidcError> {
        let request = token_request(client, &self.metadata, pending, code);
        let response = http(
            "POST",
            &request.url,
            &request.headers,
            request.form_body.as_bytes(),
        );
        parse_token_response(&response.body)
    }

    /// A whole sign-in as `login` up to a verified token's claims check.
    fn full_sign_in(
        &self,
        client: &OidcClient,
        login: &str,
    ) -> (
        PendingLogin,
        TokenResponse,
        Result<seam_oidc::VerifiedIdentity, OidcError>,
    ) {
        let mut logins = PendingLogins::for_client(client);
        let (query, state) = self.sign_in(client, &mut logins, login);
        let response = AuthorizationResponse::parse(&query, &self.metadata).unwrap();
        assert_eq!(response.state, state);
        let pending = logins.take(&response.state, now()).unwrap();
        let tokens = self.redeem(client, &pending, &response.code).unwrap();
        let identity = verify_id_token(
            &tokens.id_token,
            &self.jwks,
            &client.expectations(&pending, now()),
        );
        (pending, tokens, identity)
    }
}

fn jose_header(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

// ---------------------------------------------------------------------------------------

#[test]
fn alice_signs_in_with_every_algorithm_and_client_authentication() {
    let harness = Harness::start();
    for (suffix, auth, alg) in [
        ("", ClientAuth::SecretBasic, "RS256"),
        ("-ps256", ClientAuth::SecretBasic, "PS256"),
        ("-es256-post", ClientAuth::SecretPost, "ES256"),
        ("-eddsa", ClientAuth::SecretBasic, "EdDSA"),
    ] {
        let client = harness.client(suffix, auth);
        let (pending, tokens, identity) = harness.full_sign_in(&client, "alice");
        assert_eq!(jose_header(&tokens.id_token)["alg"], alg);
        assert!(tokens.access_token.is_some());
        let identity = identity.unwrap_or_else(|error| panic!("{alg}: {error}"));
        assert_eq!(identity.subject, "alice");
        assert_eq!(identity.issuer, harness.provider.issuer);
        assert_eq!(identity.username, "alice");
        assert_eq!(identity.name.as_deref(), Some("Alice Admin"));
        assert_eq!(identity.email.as_deref(), Some("alice@example.test"));
        assert!(identity.email_verified);
        assert_eq!(identity.roles, ["admin", "investigator"]);
        assert_eq!(
            identity.sites,
            Some(vec!["hq".to_string(), "lab".to_string()])
        );
        assert_eq!(identity.claims["aud"], format!("{CLIENT_ID}{suffix}"));
        assert!(identity.expires > now());
        assert_eq!(pending.return_to.as_deref(), Some("/findings"));
    }
}

#[test]
fn bob_holds_no_mapped_group_and_gets_no_access() {
    let harness = Harness::start();
    let client = harness.client("", ClientAuth::SecretBasic);
    let (_, _, identity) = harness.full_sign_in(&client, "bob");
    let error = identity.unwrap_err();
    assert_eq!(
        error,
        OidcError::NoRoles {
            username: "bob".into(),
            claim: "groups".into()
        }
    );
    assert_eq!(error.status(), 403);
}

#[test]
fn replayed_states_codes_and_nonces_and_a_wrong_verifier_are_refused() {
    let harness = Harness::start();
    let client = harness.client("", ClientAuth::SecretBasic);
    let mut logins = PendingLogins::for_client(&client);
    let (query, _) = harness.sign_in(&client, &mut logins, "alice");
    let response = AuthorizationResponse::parse(&query, &harness.metadata).unwrap();
    let pending = logins.take(&response.state, now()).unwrap();

    // The callback replayed: its state is gone.
    assert_eq!(
        logins.take(&response.state, now()),
        Err(OidcError::UnknownState)
    );

    // The code with another verifier than the one its challenge was made from: the provider
    // refuses it (and, per RFC 6749, spends it).
    let mut wrong_verifier = pending.clone();
    wrong_verifier.code_verifier = b64(&[7u8; 32]);
    let refused = harness
        .redeem(&client, &wrong_verifier, &response.code)
        .unwrap_err();
    assert!(
        matches!(&refused, OidcError::TokenEndpoint { error, .. } if error == "invalid_grant"),
        "{refused}"
    );

    // A fresh sign-in; its code is redeemed once, not twice.
    let (query, _) = harness.sign_in(&client, &mut logins, "alice");
    let response = AuthorizationResponse::parse(&query, &harness.metadata).unwrap();
    let pending = logins.take(&response.state, now()).unwrap();
    let tokens = harness.redeem(&client, &pending, &response.code).unwrap();
    let again = harness
        .redeem(&client, &pending, &response.code)
        .unwrap_err();
    assert!(
        matches!(&again, OidcError::TokenEndpoint { error, .. } if error == "invalid_grant"),
        "{again}"
    );
    assert!(
        verify_id_token(
            &tokens.id_token,
            &harness.jwks,
            &client.expectations(&pending, now())
        )
        .is_ok()
    );

    // The ID token replayed into another sign-in: that sign-in's nonce is not in it.
    let (_, other) = begin_login(&client, &harness.metadata, None, now(), &mut OsRandom).unwrap();
    assert_eq!(
        verify_id_token(
            &tokens.id_token,
            &harness.jwks,
            &client.expectations(&other, now())
        ),
        Err(OidcError::NonceMismatch)
    );
    // And a token for one client is not one for another.
    let other_client = harness.client("-eddsa", ClientAuth::SecretBasic);
    assert!(matches!(
        verify_id_token(
            &tokens.id_token,
            &harness.jwks,
            &other_client.expectations(&pending, now())
        ),
        Err(OidcError::WrongAudience { .. })
    ));
}

#[test]
fn tampered_tokens_other_issuers_and_a_cancelled_sign_in_are_refused() {
    let harness = Harness::start();
    let client = harness.client("", ClientAuth::SecretBasic);
    let (pending, tokens, identity) = harness.full_sign_in(&client, "bob");
    assert!(matches!(identity, Err(OidcError::NoRoles { .. })));
    let expect = client.expectations(&pending, now());
    let parts: Vec<&str> = tokens.id_token.split('.').collect();
    let mut claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();

    // Bob makes himself an admin: the signature no longer holds.
    claims["groups"] = serde_json::json!(["seam-admins"]);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(claims.to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(
        verify_id_token(&forged, &harness.jwks, &expect),
        Err(OidcError::BadSignature)
    );
    // The same, unsigned.
    let none = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none}.{}.", b64(claims.to_string().as_bytes()));
    assert_eq!(
        verify_id_token(&unsigned, &harness.jwks, &expect),
        Err(OidcError::Unsigned)
    );
    // Pointing at a key the provider does not have: the caller refetches the JWKS once.
    let mut header = jose_header(&tokens.id_token);
    header["kid"] = serde_json::json!("rotated-away");
    let unknown = format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        parts[1],
        parts[2]
    );
    assert_eq!(
        verify_id_token(&unknown, &harness.jwks, &expect),
        Err(OidcError::UnknownKey {
            kid: Some("rotated-away".into())
        })
    );

    // Discovery for an issuer other than the configured one.
    let discovery = http(
        "GET",
        &ProviderMetadata::discovery_url(&harness.provider.issuer),
        &[],
        b"",
    );
    assert!(matches!(
        ProviderMetadata::parse(&discovery.body, "http://127.0.0.1:1"),
        Err(OidcError::IssuerMismatch { .. })
    ));

    // The user cancels at the provider: the callback carries the provider's error.
    let (url, _) = begin_login(&client, &harness.metadata, None, now(), &mut OsRandom).unwrap();
    let mut browser = Browser::stopping_at(REDIRECT_URI);
    let Landing::Page { html } = browser.navigate(&url, None) else {
        panic!("no sign-in page");
    };
    let cancel_at = html.find(">[ Cancel ]<").expect("a cancel link");
    let href_start = html[..cancel_at].rfind("href=\"").unwrap();
    let cancel = html_attribute(&html[href_start..], "href=\"");
    let Landing::Callback { query } = browser.navigate(&cancel, None) else {
        panic!("cancelling did not return to the callback");
    };
    let denied = AuthorizationResponse::parse(&query, &harness.metadata).unwrap_err();
    assert!(
        matches!(&denied, OidcError::Denied { error, .. } if error == "access_denied"),
        "{denied}"
    );
}
