//! This relying party's configuration: who it is at the provider, and how the provider's
//! claims become a Seam user name, roles and sites.
//!
//! [`OidcConfig`] is what an operator writes; [`OidcClient::new`] checks it once, so that
//! every later step can rely on it.

use std::collections::BTreeMap;
use std::fmt;

use seam_model::Ts;

use crate::encoding::check_url;
use crate::error::OidcError;
use crate::id_token::IdTokenExpectations;
use crate::jwks::Alg;
use crate::login::PendingLogin;
use crate::metadata::ProviderMetadata;

/// The scopes asked for unless configured otherwise.
pub const DEFAULT_SCOPES: &str = "openid email profile";
/// How far the provider's clock may be from ours (60 s).
pub const DEFAULT_CLOCK_LEEWAY_MS: i64 = 60_000;
/// How long a user may take at the provider before the sign-in is void (10 minutes).
pub const DEFAULT_MAX_LOGIN_AGE_MS: i64 = 10 * 60_000;
const MAX_CLOCK_LEEWAY_MS: i64 = 5 * 60_000;
const MAX_LOGIN_AGE_RANGE_MS: std::ops::RangeInclusive<i64> = 10_000..=3_600_000;

/// The client secret. `Debug` prints none of it, and there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(String);

impl ClientSecret {
    pub fn new(secret: impl Into<String>) -> ClientSecret {
        ClientSecret(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(redacted)")
    }
}

/// How the client proves itself at the token endpoint when it has a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// HTTP Basic (`client_secret_basic`): the default of OAuth 2.0 and of most providers.
    #[default]
    SecretBasic,
    /// In the form body (`client_secret_post`).
    SecretPost,
}

impl ClientAuth {
    /// The name in discovery documents.
    pub const fn as_str(self) -> &'static str {
        match self {
            ClientAuth::SecretBasic => "client_secret_basic",
            ClientAuth::SecretPost => "client_secret_post",
        }
    }
}

/// How claims of the ID token become a Seam identity.
///
/// A claim name is looked up as written first, then, if absent, as a dotted path into nested
/// objects: `realm_access.roles` finds Keycloak's realm roles, while a namespaced claim such
/// as `https://example.com/groups` is found as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMapping {
    /// The claim listing the user's groups or roles at the provider: a string or an array of
    /// strings (`groups`).
    pub roles_claim: String,
    /// A value of the roles claim to the Seam roles it grants, by name (`admin`,
    /// `soc-analyst`, ...); the caller parses the names. Values match exactly, case included.
    pub role_map: BTreeMap<String, Vec<String>>,
    /// The claim listing the sites the user may see; `None`: every site. When set, a token
    /// without it, or with an empty list, signs no one in.
    pub sites_claim: Option<String>,
    /// The claim naming the user (`preferred_username`); when absent, `email` (unless marked
    /// unverified), then `sub`.
    pub username_claim: String,
}

impl Default for ClaimMapping {
    fn default() -> ClaimMapping {
        ClaimMapping {
            roles_claim: "groups".into(),
            role_map: BTreeMap::new(),
            sites_claim: None,
            username_claim: "preferred_username".into(),
        }
    }
}

/// A relying party's configuration, as written by the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The provider's issuer identifier, exactly as its discovery document states it.
    pub issuer: String,
    pub client_id: String,
    /// `None`: a public client, proven by PKCE alone.
    pub client_secret: Option<ClientSecret>,
    pub client_auth: ClientAuth,
    /// This service's callback, registered at the provider (`https://seam.example/v1/oidc/callback`).
    pub redirect_uri: String,
    /// Space-separated; must include `openid`.
    pub scopes: String,
    pub claims: ClaimMapping,
    /// The ID token signature algorithms accepted.
    pub allowed_algs: Vec<Alg>,
    pub clock_leeway_ms: i64,
    /// Pending sign-ins older than this are refused.
    pub max_login_age_ms: i64,
}

impl OidcConfig {
    /// A configuration with the defaults: a public client (add a secret for a confidential
    /// one), scopes `openid email profile`, roles from `groups` (the role map is still to be
    /// filled), RS256, ES256 and EdDSA, 60 s of clock leeway, 10 minutes to sign in.
    pub fn new(
        issuer: impl Into<String>,
        client_id: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> OidcConfig {
        OidcConfig {
            issuer: issuer.into(),
            client_id: client_id.into(),
            client_secret: None,
            client_auth: ClientAuth::default(),
            redirect_uri: redirect_uri.into(),
            scopes: DEFAULT_SCOPES.into(),
            claims: ClaimMapping::default(),
            allowed_algs: Alg::DEFAULT_ALLOWED.to_vec(),
            clock_leeway_ms: DEFAULT_CLOCK_LEEWAY_MS,
            max_login_age_ms: DEFAULT_MAX_LOGIN_AGE_MS,
        }
    }
}

/// A checked configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcClient {
    config: OidcConfig,
}

impl OidcClient {
    /// Checks the configuration: URLs (https, or http on loopback), a client id, `openid`
    /// among the scopes, claim names, a role map granting something, algorithms, and times.
    pub fn new(config: OidcConfig) -> Result<OidcClient, OidcError> {
        let invalid = |reason: String| Err(OidcError::Config { reason });
        if let Err(reason) = check_url(&config.issuer) {
            return invalid(format!("issuer `{}`: {reason}", config.issuer));
        }
        if let Err(reason) = check_url(&config.redirect_uri) {
            return invalid(format!("redirect_uri `{}`: {reason}", config.redirect_uri));
        }
        if !is_printable(&config.client_id, 256) {
            return invalid("client_id: 1 to 256 printable characters".into());
        }
        if let Some(secret) = &config.client_secret
            && !is_printable(secret.expose(), 1024)
        {
            return invalid("client_secret: 1 to 1024 printable characters".into());
        }
        let scopes: Vec<&str> = config.scopes.split(' ').collect();
        if !scopes.contains(&"openid") {
            return invalid(format!(
                "scopes `{}` lack `openid`, without which there is no ID token",
                config.scopes
            ));
        }
        if scopes.iter().any(|scope| !is_scope_token(scope)) {
            return invalid(format!(
                "scopes `{}`: scopes separated by single spaces, each of printable characters without `\"` or `\\`",
                config.scopes
            ));
        }
        let claims = &config.claims;
        for (name, claim) in [
            ("roles_claim", Some(&claims.roles_claim)),
            ("username_claim", Some(&claims.username_claim)),
            ("sites_claim", claims.sites_claim.as_ref()),
        ] {
            if let Some(claim) = claim
                && !is_claim_name(claim)
            {
                return invalid(format!(
                    "{name} `{claim}`: a claim name or a dotted path of them, 1 to 256 characters"
                ));
            }
        }
        if claims.role_map.is_empty() {
            return invalid(
                "role_map is empty: map at least one value of the roles claim to Seam roles".into(),
            );
        }
        for (value, roles) in &claims.role_map {
            if roles.is_empty() || roles.iter().any(|role| !is_printable(role, 64)) {
                return invalid(format!("role_map `{value}`: give one or more role names"));
            }
        }
        if config.allowed_algs.is_empty() {
            return invalid(
                "allowed_algs is empty: allow at least one of RS256, PS256, ES256, EdDSA".into(),
            );
        }
        if !(0..=MAX_CLOCK_LEEWAY_MS).contains(&config.clock_leeway_ms) {
            return invalid(format!(
                "clock leeway {} ms: 0 to {MAX_CLOCK_LEEWAY_MS} ms",
                config.clock_leeway_ms
            ));
        }
        if !MAX_LOGIN_AGE_RANGE_MS.contains(&config.max_login_age_ms) {
            return invalid(format!(
                "max login age {} ms: 10 s to 1 h",
                config.max_login_age_ms
            ));
        }
        Ok(OidcClient { config })
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// Whether the provider can serve this client: an ID token algorithm in common, and the
    /// client authentication method offered. [`crate::begin_login`] checks this, so that a
    /// mismatch is found before the user signs in, not after.
    pub fn check_provider(&self, metadata: &ProviderMetadata) -> Result<(), OidcError> {
        let offered = &metadata.id_token_signing_alg_values_supported;
        if !self
            .config
            .allowed_algs
            .iter()
            .any(|alg| offered.iter().any(|name| name == alg.as_str()))
        {
            return Err(OidcError::Unsupported {
                reason: format!(
                    "it signs ID tokens with {} only, and this client allows {}",
                    offered.join(", "),
                    self.config
                        .allowed_algs
                        .iter()
                        .map(|alg| alg.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        if self.config.client_secret.is_some() {
            let method = self.config.client_auth.as_str();
            let offered = match &metadata.token_endpoint_auth_methods_supported {
                Some(methods) => methods.iter().any(|offered| offered == method),
                None => self.config.client_auth == ClientAuth::SecretBasic,
            };
            if !offered {
                return Err(OidcError::Unsupported {
                    reason: format!("client authentication `{method}` is not offered"),
                });
            }
        }
        Ok(())
    }

    /// What the ID token of `pending`'s sign-in must satisfy, at `now`.
    pub fn expectations<'a>(
        &'a self,
        pending: &'a PendingLogin,
        now: Ts,
    ) -> IdTokenExpectations<'a> {
        IdTokenExpectations {
            issuer: &self.config.issuer,
            client_id: &self.config.client_id,
            nonce: &pending.nonce,
            now,
            leeway_ms: self.config.clock_leeway_ms,
            allowed_algs: &self.config.allowed_algs,
            claims: &self.config.claims,
        }
    }
}

fn is_printable(text: &str, max: usize) -> bool {
    !text.is_empty() && text.len() <= max && !text.chars().any(char::is_control)
}

/// RFC 6749, section 3.3: `%x21 / %x23-5B / %x5D-7E`.
fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|byte| matches!(byte, 0x21 | 0x23..=0x5b | 0x5d..=0x7e))
}

fn is_claim_name(claim: &str) -> bool {
    is_printable(claim, 256) && claim.split('.').all(|part| !part.is_empty())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const ISSUER: &str = "https://idp.example.com";
    pub(crate) const CLIENT_ID: &str = "seam";
    pub(crate) const REDIRECT_URI: &str = "https://seam.example.com/v1/oidc/callback";

    pub(crate) fn config() -> OidcConfig {
        let mut config = OidcConfig::new(ISSUER, CLIENT_ID, REDIRECT_URI);
        config.client_secret = Some(ClientSecret::new("s3cret:with/odd+chars"));
        config.claims.role_map = BTreeMap::from([
            ("seam-admins".to_string(), vec!["admin".to_string()]),
            (
                "soc".to_string(),
                vec!["soc-analyst".to_string(), "investigator".to_string()],
            ),
            ("auditors".to_string(), vec!["auditor".to_string()]),
        ]);
        config
    }

    pub(crate) fn client() -> OidcClient {
        OidcClient::new(config()).unwrap()
    }

    #[test]
    fn defaults() {
        let config = OidcConfig::new(ISSUER, CLIENT_ID, REDIRECT_URI);
        assert_eq!(config.scopes, "openid email profile");
        assert_eq!(config.claims.roles_claim, "groups");
        assert_eq!(config.claims.username_claim, "preferred_username");
        assert_eq!(config.claims.sites_claim, None);
        assert_eq!(config.allowed_algs, [Alg::Rs256, Alg::Es256, Alg::EdDsa]);
        assert_eq!(config.clock_leeway_ms, 60_000);
        assert_eq!(config.max_login_age_ms, 600_000);
        // The defaults alone grant no role: a role map is needed.
        assert!(matches!(
            OidcClient::new(config),
            Err(OidcError::Config { .. })
        ));
        assert!(OidcClient::new(super::tests::config()).is_ok());
    }

    #[test]
    fn the_secret_does_not_print() {
        let client = client();
        let printed = format!("{client:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(printed.contains("ClientSecret(redacted)"));
    }

    #[test]
    fn refuses_bad_configurations() {
        type Change = Box<dyn Fn(&mut OidcConfig)>;
        let cases: Vec<(&str, Change)> = vec![
            (
                "issuer",
                Box::new(|c| c.issuer = "http://idp.example.com".into()),
            ),
            (
                "redirect_uri",
                Box::new(|c| c.redirect_uri = "seam/callback".into()),
            ),
            (
                "redirect_uri",
                Box::new(|c| c.redirect_uri = "https://seam.example.com/cb#x".into()),
            ),
            ("client_id", Box::new(|c| c.client_id = String::new())),
            (
                "client_secret",
                Box::new(|c| c.client_secret = Some(ClientSecret::new(""))),
            ),
            ("openid", Box::new(|c| c.scopes = "email profile".into())),
            ("scopes", Box::new(|c| c.scopes = "openid  email".into())),
            ("scopes", Box::new(|c| c.scopes = "openid \"x\"".into())),
            (
                "roles_claim",
                Box::new(|c| c.claims.roles_claim = "a..b".into()),
            ),
            (
                "username_claim",
                Box::new(|c| c.claims.username_claim = String::new()),
            ),
            (
                "sites_claim",
                Box::new(|c| c.claims.sites_claim = Some(".sites".into())),
            ),
            ("role_map", Box::new(|c| c.claims.role_map.clear())),
            (
                "role_map `soc`",
                Box::new(|c| {
                    c.claims.role_map.insert("soc".into(), vec![]);
                }),
            ),
            ("allowed_algs", Box::new(|c| c.allowed_algs.clear())),
            ("leeway", Box::new(|c| c.clock_leeway_ms = -1)),
            ("leeway", Box::new(|c| c.clock_leeway_ms = 600_000)),
            ("login age", Box::new(|c| c.max_login_age_ms = 0)),
        ];
        for (expected, change) in cases {
            let mut config = config();
            change(&mut config);
            let error = OidcClient::new(config).unwrap_err();
            assert!(error.to_string().contains(expected), "{expected}: {error}");
        }
    }

    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            issuer: ISSUER.into(),
            authorization_endpoint: format!("{ISSUER}/auth"),
            token_endpoint: format!("{ISSUER}/token"),
            jwks_uri: format!("{ISSUER}/jwks"),
            end_session_endpoint: None,
            id_token_signing_alg_values_supported: vec!["RS256".into()],
            code_challenge_methods_supported: Some(vec!["S256".into()]),
            token_endpoint_auth_methods_supported: None,
            authorization_response_iss_parameter_supported: false,
        }
    }

    #[test]
    fn checks_the_provider_fits() {
        let client = client();
        assert_eq!(client.check_provider(&metadata()), Ok(()));

        let mut hs_only = metadata();
        hs_only.id_token_signing_alg_values_supported = vec!["HS256".into()];
        let error = client.check_provider(&hs_only).unwrap_err();
        assert!(error.to_string().contains("HS256 only"), "{error}");

        let mut post = config();
        post.client_auth = ClientAuth::SecretPost;
        let post = OidcClient::new(post).unwrap();
        assert!(matches!(
            post.check_provider(&metadata()),
            Err(OidcError::Unsupported { .. })
        ));
        let mut offers_post = metadata();
        offers_post.token_endpoint_auth_methods_supported = Some(vec!["client_secret_post".into()]);
        assert_eq!(post.check_provider(&offers_post), Ok(()));
        assert!(client.check_provider(&offers_post).is_err());

        let mut public = config();
        public.client_secret = None;
        let public = OidcClient::new(public).unwrap();
        assert_eq!(public.check_provider(&offers_post), Ok(()));
    }
}
