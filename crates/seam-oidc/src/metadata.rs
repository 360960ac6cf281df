//! The provider's discovery document (`/.well-known/openid-configuration`).
//!
//! The issuer in the document must equal the configured one exactly (OpenID Connect
//! Discovery, section 4.3): that is what ties the endpoints and keys to the provider the
//! operator chose. Endpoints must be https (http on loopback only).

use serde::Deserialize;

use crate::encoding::check_url;
use crate::error::OidcError;

/// The largest discovery document read.
pub const MAX_DISCOVERY_BYTES: usize = 64 * 1024;

/// What the relying party needs from a discovery document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    /// Where to send the browser to sign out at the provider too (RP-initiated logout).
    pub end_session_endpoint: Option<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    /// `None` when the document does not say; PKCE is then sent anyway.
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// `None` when the document does not say, which means `client_secret_basic` only.
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// The provider names itself in every authorization response (RFC 9207), so a response
    /// without `iss` is refused.
    pub authorization_response_iss_parameter_supported: bool,
}

/// The members read; the many others a provider publishes are ignored. A member present
/// twice is refused (serde's derived reader does that for named fields).
#[derive(Deserialize)]
struct RawMetadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    end_session_endpoint: Option<String>,
    id_token_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    response_types_supported: Option<Vec<String>>,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: Option<bool>,
}

impl ProviderMetadata {
    /// Reads a discovery document fetched from `<expected_issuer>/.well-known/openid-configuration`.
    pub fn parse(
        json: impl AsRef<[u8]>,
        expected_issuer: &str,
    ) -> Result<ProviderMetadata, OidcError> {
        let json = json.as_ref();
        if json.len() > MAX_DISCOVERY_BYTES {
            return Err(OidcError::TooLarge {
                what: "discovery document",
                limit: MAX_DISCOVERY_BYTES,
            });
        }
        let raw: RawMetadata = serde_json::from_slice(json).map_err(malformed)?;
        if raw.issuer != expected_issuer {
            return Err(OidcError::IssuerMismatch {
                expected: expected_issuer.into(),
                found: crate::error::clean_text(&raw.issuer, 200),
            });
        }
        for (name, url) in [
            ("issuer", Some(&raw.issuer)),
            ("authorization_endpoint", Some(&raw.authorization_endpoint)),
            ("token_endpoint", Some(&raw.token_endpoint)),
            ("jwks_uri", Some(&raw.jwks_uri)),
            ("end_session_endpoint", raw.end_session_endpoint.as_ref()),
        ] {
            if let Some(url) = url {
                check_url(url).map_err(|reason| malformed(format!("{name}: {reason}")))?;
            }
        }
        if raw.issuer.contains('?') {
            return Err(malformed("issuer: an issuer has no query"));
        }
        if let Some(types) = &raw.response_types_supported
            && !types.iter().any(|kind| kind == "code")
        {
            return Err(OidcError::Unsupported {
                reason: "the authorization code flow (response type `code`) is not offered".into(),
            });
        }
        if let Some(methods) = &raw.code_challenge_methods_supported
            && !methods.iter().any(|method| method == "S256")
        {
            return Err(OidcError::Unsupported {
                reason: "PKCE with S256 is not offered".into(),
            });
        }
        Ok(ProviderMetadata {
            issuer: raw.issuer,
            authorization_endpoint: raw.authorization_endpoint,
            token_endpoint: raw.token_endpoint,
            jwks_uri: raw.jwks_uri,
            end_session_endpoint: raw.end_session_endpoint,
            id_token_signing_alg_values_supported: raw.id_token_signing_alg_values_supported,
            code_challenge_methods_supported: raw.code_challenge_methods_supported,
            token_endpoint_auth_methods_supported: raw.token_endpoint_auth_methods_supported,
            authorization_response_iss_parameter_supported: raw
                .authorization_response_iss_parameter_supported
                .unwrap_or(false),
        })
    }

    /// Where the discovery document of `issuer` is (OpenID Connect Discovery, section 4).
    pub fn discovery_url(issuer: &str) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        )
    }
}

fn malformed(reason: impl std::fmt::Display) -> OidcError {
    OidcError::Malformed {
        what: "discovery document",
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const ISSUER: &str = "https://idp.example.com/realms/seam";

    fn document() -> Value {
        json!({
            "issuer": ISSUER,
            "authorization_endpoint": "https://idp.example.com/realms/seam/auth",
            "token_endpoint": "https://idp.example.com/realms/seam/token",
            "jwks_uri": "https://idp.example.com/realms/seam/certs",
            "end_session_endpoint": "https://idp.example.com/realms/seam/logout",
            "userinfo_endpoint": "https://idp.example.com/realms/seam/userinfo",
            "response_types_supported": ["code", "id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "authorization_response_iss_parameter_supported": true,
            "claims_supported": ["sub", "groups"],
        })
    }

    fn parse(value: &Value) -> Result<ProviderMetadata, OidcError> {
        ProviderMetadata::parse(value.to_string(), ISSUER)
    }

    #[test]
    fn reads_a_discovery_document() {
        let metadata = parse(&document()).unwrap();
        assert_eq!(metadata.issuer, ISSUER);
        assert_eq!(
            metadata.token_endpoint,
            "https://idp.example.com/realms/seam/token"
        );
        assert_eq!(
            metadata.end_session_endpoint.as_deref(),
            Some("https://idp.example.com/realms/seam/logout")
        );
        assert_eq!(
            metadata.id_token_signing_alg_values_supported,
            ["RS256", "ES256"]
        );
        assert!(metadata.authorization_response_iss_parameter_supported);
        assert_eq!(metadata.token_endpoint_auth_methods_supported, None);
        assert_eq!(
            ProviderMetadata::discovery_url("https://idp.example.com/realms/seam/"),
            "https://idp.example.com/realms/seam/.well-known/openid-configuration"
        );
    }

    #[test]
    fn the_issuer_must_be_exactly_the_configured_one() {
        for other in [
            "https://idp.example.com/realms/seam/",
            "https://IDP.example.com/realms/seam",
            "https://evil.example/realms/seam",
        ] {
            let mut doc = document();
            doc["issuer"] = json!(other);
            assert!(
                matches!(parse(&doc), Err(OidcError::IssuerMismatch { .. })),
                "{other}"
            );
        }
    }

    #[test]
    fn refuses_insecure_or_missing_endpoints() {
        let mut doc = document();
        doc["token_endpoint"] = json!("http://idp.example.com/token");
        let error = parse(&doc).unwrap_err();
        assert!(error.to_string().contains("token_endpoint"), "{error}");
        for member in [
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "issuer",
        ] {
            let mut doc = document();
            doc.as_object_mut().unwrap().remove(member);
            assert!(
                matches!(parse(&doc), Err(OidcError::Malformed { .. })),
                "{member}"
            );
        }
        let mut doc = document();
        doc["jwks_uri"] = json!(5);
        assert!(matches!(parse(&doc), Err(OidcError::Malformed { .. })));
        let mut doc = document();
        doc.as_object_mut()
            .unwrap()
            .remove("id_token_signing_alg_values_supported");
        assert!(matches!(parse(&doc), Err(OidcError::Malformed { .. })));
    }

    #[test]
    fn requires_pkce_s256_and_the_code_flow_when_listed() {
        let mut doc = document();
        doc["code_challenge_methods_supported"] = json!(["plain"]);
        assert!(matches!(parse(&doc), Err(OidcError::Unsupported { .. })));
        let mut doc = document();
        doc.as_object_mut()
            .unwrap()
            .remove("code_challenge_methods_supported");
        assert_eq!(parse(&doc).unwrap().code_challenge_methods_supported, None);
        let mut doc = document();
        doc["response_types_supported"] = json!(["id_token"]);
        assert!(matches!(parse(&doc), Err(OidcError::Unsupported { .. })));
    }

    #[test]
    fn refuses_oversized_duplicated_and_non_json_input() {
        let mut doc = document();
        doc["padding"] = json!("x".repeat(MAX_DISCOVERY_BYTES));
        assert!(matches!(parse(&doc), Err(OidcError::TooLarge { .. })));
        let duplicated = format!(
            "{{\"issuer\": \"{ISSUER}\", {}",
            document().to_string().trim_start_matches('{')
        );
        assert!(matches!(
            ProviderMetadata::parse(duplicated, ISSUER),
            Err(OidcError::Malformed { .. })
        ));
        assert!(ProviderMetadata::parse("<html>", ISSUER).is_err());
        assert!(ProviderMetadata::parse("[]", ISSUER).is_err());
    }
}
