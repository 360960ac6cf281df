//! Why a sign-in through the identity provider failed.
//!
//! The `Display` texts are for the operator and the audit log; they name what failed but hold
//! no secret (no code, token, nonce or verifier). [`OidcError::reason`] is the same in one
//! word, for metrics; [`OidcError::status`] is the HTTP answer a service gives for it.

use crate::random::RandomError;

/// A refused configuration, provider document, callback or ID token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    #[error("invalid OpenID Connect configuration: {reason}")]
    Config { reason: String },
    #[error("the provider's {what} is over the size limit of {limit} bytes")]
    TooLarge { what: &'static str, limit: usize },
    #[error("the provider's {what} is invalid: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error(
        "the discovery document is for the issuer `{found}`, but `{expected}` is configured: they must be equal, character for character"
    )]
    IssuerMismatch { expected: String, found: String },
    /// The provider and this client cannot work together (no common algorithm, no PKCE S256,
    /// the client authentication method not offered).
    #[error("the provider does not support this client: {reason}")]
    Unsupported { reason: String },

    #[error("invalid return path: give a path on this site, starting with a single `/`")]
    InvalidReturnTo,
    /// The state was never issued, was used already, or was evicted.
    #[error("unknown or already used sign-in state: start the sign-in again")]
    UnknownState,
    #[error("the sign-in took too long: start it again")]
    LoginExpired,
    /// The authorization response names another issuer (RFC 9207), or none where the provider
    /// promises one: possibly a mix-up between providers.
    #[error("the authorization response is from issuer `{found}`, expected `{expected}`")]
    ResponseIssuerMismatch { expected: String, found: String },
    /// The provider answered the authorization request with an error (the user declined, or
    /// the provider refused the client). The texts are the provider's, cleaned and shortened.
    #[error("the provider refused the sign-in: {error}{}", suffix(description))]
    Denied {
        error: String,
        description: Option<String>,
    },
    /// The token endpoint refused to exchange the code.
    #[error(
        "the provider's token endpoint refused the code: {error}{}",
        suffix(description)
    )]
    TokenEndpoint {
        error: String,
        description: Option<String>,
    },

    #[error("the ID token is over the size limit of {limit} bytes")]
    TokenTooLarge { limit: usize },
    #[error("malformed ID token: {reason}")]
    MalformedToken { reason: String },
    #[error("the ID token is unsigned (`alg: none`)")]
    Unsigned,
    #[error(
        "the ID token is signed with a shared secret (`{alg}`): only the provider's public keys are trusted"
    )]
    SymmetricAlg { alg: String },
    #[error("the ID token's algorithm `{alg}` is not allowed")]
    AlgNotAllowed { alg: String },
    /// No key of the JWKS fits the token's `kid` and algorithm. The provider may have rotated
    /// its keys: fetch the JWKS again, once, and verify again before refusing.
    #[error("no key of the provider's JWKS fits the ID token (key id {})", kid.as_deref().unwrap_or("absent"))]
    UnknownKey { kid: Option<String> },
    #[error("the ID token's signature does not verify")]
    BadSignature,
    #[error("the ID token is from issuer `{found}`, expected `{expected}`")]
    WrongIssuer { expected: String, found: String },
    #[error("the ID token is not meant for this client: its audience lacks `{client_id}`")]
    WrongAudience { client_id: String },
    #[error("the ID token's authorized party (`azp`) is not this client")]
    WrongAuthorizedParty,
    #[error("the ID token has expired")]
    Expired,
    #[error("the ID token is issued in the future: check the clocks")]
    IssuedInFuture,
    #[error("the ID token is not valid yet (`nbf`)")]
    NotYetValid,
    #[error("the ID token's nonce is missing or is not this sign-in's")]
    NonceMismatch,
    #[error("the ID token lacks the `{claim}` claim")]
    MissingClaim { claim: String },
    #[error("the ID token's `{claim}` claim is invalid: {reason}")]
    InvalidClaim { claim: String, reason: String },
    /// Signed in at the provider, but nothing in the roles claim maps to a Seam role.
    #[error(
        "`{username}` holds nothing in the `{claim}` claim that maps to a Seam role: no role, no access"
    )]
    NoRoles { username: String, claim: String },
    /// The sites claim is configured, and this token names no site.
    #[error(
        "`{username}` has no site in the `{claim}` claim, which is configured to limit sites: no site, no access"
    )]
    NoSites { username: String, claim: String },

    #[error(transparent)]
    Random(#[from] RandomError),
}

fn suffix(description: &Option<String>) -> String {
    description
        .as_deref()
        .map(|text| format!(" ({text})"))
        .unwrap_or_default()
}

impl OidcError {
    /// The HTTP status for a service to answer with: 400 for a bad return path, 401 for a
    /// refused sign-in, 403 when signed in but granted nothing, 502 when the provider
    /// misbehaves or does not fit the configuration, 503 when no random bytes could be made.
    pub fn status(&self) -> u16 {
        match self {
            OidcError::InvalidReturnTo => 400,
            OidcError::NoRoles { .. } | OidcError::NoSites { .. } => 403,
            OidcError::Config { .. }
            | OidcError::TooLarge { .. }
            | OidcError::Malformed { .. }
            | OidcError::IssuerMismatch { .. }
            | OidcError::Unsupported { .. } => 502,
            // A used, expired or wrongly verified code is this sign-in's failure; any other
            // refusal (`invalid_client`, say) is the configuration's.
            OidcError::TokenEndpoint { error, .. } if error == "invalid_grant" => 401,
            OidcError::TokenEndpoint { .. } => 502,
            OidcError::Random(_) => 503,
            OidcError::UnknownState
            | OidcError::LoginExpired
            | OidcError::ResponseIssuerMismatch { .. }
            | OidcError::Denied { .. }
            | OidcError::TokenTooLarge { .. }
            | OidcError::MalformedToken { .. }
            | OidcError::Unsigned
            | OidcError::SymmetricAlg { .. }
            | OidcError::AlgNotAllowed { .. }
            | OidcError::UnknownKey { .. }
            | OidcError::BadSignature
            | OidcError::WrongIssuer { .. }
            | OidcError::WrongAudience { .. }
            | OidcError::WrongAuthorizedParty
            | OidcError::Expired
            | OidcError::IssuedInFuture
            | OidcError::NotYetValid
            | OidcError::NonceMismatch
            | OidcError::MissingClaim { .. }
            | OidcError::InvalidClaim { .. } => 401,
        }
    }

    /// The reason in a word, for metrics and the audit log.
    pub fn reason(&self) -> &'static str {
        match self {
            OidcError::Config { .. } => "oidc_config",
            OidcError::TooLarge { .. } => "oidc_document_too_large",
            OidcError::Malformed { .. } => "oidc_document_malformed",
            OidcError::IssuerMismatch { .. } => "oidc_issuer_mismatch",
            OidcError::Unsupported { .. } => "oidc_unsupported",
            OidcError::InvalidReturnTo => "oidc_return_to",
            OidcError::UnknownState => "oidc_state_unknown",
            OidcError::LoginExpired => "oidc_login_expired",
            OidcError::ResponseIssuerMismatch { .. } => "oidc_response_issuer",
            OidcError::Denied { .. } => "oidc_denied",
            OidcError::TokenEndpoint { .. } => "oidc_token_endpoint",
            OidcError::TokenTooLarge { .. } => "id_token_too_large",
            OidcError::MalformedToken { .. } => "id_token_malformed",
            OidcError::Unsigned => "id_token_unsigned",
            OidcError::SymmetricAlg { .. } => "id_token_symmetric_alg",
            OidcError::AlgNotAllowed { .. } => "id_token_alg",
            OidcError::UnknownKey { .. } => "id_token_unknown_key",
            OidcError::BadSignature => "id_token_signature",
            OidcError::WrongIssuer { .. } => "id_token_issuer",
            OidcError::WrongAudience { .. } => "id_token_audience",
            OidcError::WrongAuthorizedParty => "id_token_azp",
            OidcError::Expired => "id_token_expired",
            OidcError::IssuedInFuture => "id_token_iat",
            OidcError::NotYetValid => "id_token_nbf",
            OidcError::NonceMismatch => "id_token_nonce",
            OidcError::MissingClaim { .. } => "id_token_missing_claim",
            OidcError::InvalidClaim { .. } => "id_token_invalid_claim",
            OidcError::NoRoles { .. } => "oidc_no_roles",
            OidcError::NoSites { .. } => "oidc_no_sites",
            OidcError::Random(_) => "randomness",
        }
    }
}

/// Text from the provider or the browser, fit for a log line and an error message: at most
/// `max` characters, control characters (newlines included) replaced by spaces.
pub(crate) fn clean_text(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_statuses() {
        let denied = OidcError::Denied {
            error: "access_denied".into(),
            description: Some("End-User aborted interaction".into()),
        };
        assert_eq!(
            denied.to_string(),
            "the provider refused the sign-in: access_denied (End-User aborted interaction)"
        );
        assert_eq!(denied.status(), 401);
        let unknown = OidcError::UnknownKey { kid: None };
        assert!(unknown.to_string().contains("key id absent"));
        let no_roles = OidcError::NoRoles {
            username: "bob".into(),
            claim: "groups".into(),
        };
        assert_eq!(no_roles.status(), 403);
        assert_eq!(no_roles.reason(), "oidc_no_roles");
    }

    #[test]
    fn provider_text_is_cleaned() {
        assert_eq!(clean_text("a\r\nb\u{7}c", 10), "a  b c");
        assert_eq!(clean_text("abcdef", 3), "abc");
    }
}
