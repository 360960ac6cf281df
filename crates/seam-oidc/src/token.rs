//! Exchanging the code for tokens: the request to send, and reading the answer.
//!
//! The request carries the PKCE verifier, so only the party that started the sign-in can
//! redeem the code. The caller sends it (POST, over TLS) and hands the body back, whatever
//! the status: an OAuth error answer becomes [`OidcError::TokenEndpoint`].

use std::fmt;

use serde::Deserialize;

use crate::client::{ClientAuth, OidcClient};
use crate::encoding::{base64_standard, percent_encode};
use crate::error::{OidcError, clean_text};
use crate::login::{PendingLogin, form_body};
use crate::metadata::ProviderMetadata;

/// The largest token response read.
pub const MAX_TOKEN_RESPONSE_BYTES: usize = 128 * 1024;

/// An HTTP request to the token endpoint: `POST url`, these headers, this body. `Debug`
/// hides the credentials and the body (code, verifier, perhaps the secret).
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// `application/x-www-form-urlencoded`.
    pub form_body: String,
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| {
                let shown = if name.eq_ignore_ascii_case("authorization") {
                    "redacted"
                } else {
                    value.as_str()
                };
                (name.as_str(), shown)
            })
            .collect();
        f.debug_struct("TokenRequest")
            .field("url", &self.url)
            .field("headers", &headers)
            .field("form_body", &"redacted")
            .finish()
    }
}

/// The token request redeeming `code` for the sign-in `pending`.
pub fn token_request(
    client: &OidcClient,
    metadata: &ProviderMetadata,
    pending: &PendingLogin,
    code: &str,
) -> TokenRequest {
    let config = client.config();
    let mut headers = vec![
        (
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        ),
        ("Accept".to_string(), "application/json".to_string()),
    ];
    let mut params = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", config.redirect_uri.as_str()),
        ("code_verifier", pending.code_verifier.as_str()),
    ];
    match (&config.client_secret, config.client_auth) {
        (Some(secret), ClientAuth::SecretBasic) => {
            // RFC 6749, section 2.3.1: each part form-encoded before joining, so a `:` in
            // the id or secret cannot shift the split.
            let credentials = format!(
                "{}:{}",
                percent_encode(&config.client_id),
                percent_encode(secret.expose())
            );
            headers.push((
                "Authorization".to_string(),
                format!("Basic {}", base64_standard(credentials.as_bytes())),
            ));
        }
        (Some(secret), ClientAuth::SecretPost) => {
            params.push(("client_id", config.client_id.as_str()));
            params.push(("client_secret", secret.expose()));
        }
        // A public client names itself; PKCE is its proof.
        (None, _) => params.push(("client_id", config.client_id.as_str())),
    }
    TokenRequest {
        url: metadata.token_endpoint.clone(),
        headers,
        form_body: form_body(&params),
    }
}

/// The tokens of a successful exchange. `Debug` hides them.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenResponse {
    pub id_token: String,
    pub access_token: Option<String>,
    /// Seconds the access token lives.
    pub expires_in: Option<u64>,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("id_token", &"redacted")
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "redacted"),
            )
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

#[derive(Deserialize)]
struct RawTokenResponse {
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// Reads the token endpoint's answer (its body, whatever the HTTP status).
pub fn parse_token_response(body: impl AsRef<[u8]>) -> Result<TokenResponse, OidcError> {
    let body = body.as_ref();
    let malformed = |reason: String| OidcError::Malformed {
        what: "token response",
        reason,
    };
    if body.len() > MAX_TOKEN_RESPONSE_BYTES {
        return Err(OidcError::TooLarge {
            what: "token response",
            limit: MAX_TOKEN_RESPONSE_BYTES,
        });
    }
    let raw: RawTokenResponse =
        serde_json::from_slice(body).map_err(|error| malformed(error.to_string()))?;
    if let Some(error) = raw.error {
        return Err(OidcError::TokenEndpoint {
            error: clean_text(&error, 64),
            description: raw.error_description.map(|text| clean_text(&text, 200)),
        });
    }
    // Anything but a bearer token (DPoP, say) was not asked for.
    if let Some(kind) = &raw.token_type
        && !kind.eq_ignore_ascii_case("bearer")
    {
        return Err(malformed(format!(
            "token type `{}`, not Bearer",
            clean_text(kind, 40)
        )));
    }
    let id_token = raw.id_token.ok_or_else(|| {
        malformed("no id_token: is `openid` among the scopes the provider granted?".into())
    })?;
    Ok(TokenResponse {
        id_token,
        access_token: raw.access_token,
        expires_in: raw.expires_in,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientSecret;
    use crate::client::tests::{REDIRECT_URI, config};
    use crate::encoding::form_pairs;
    use seam_model::Ts;
    use std::collections::BTreeMap;

    fn pending() -> PendingLogin {
        PendingLogin {
            state: "state".into(),
            nonce: "nonce".into(),
            code_verifier: "verifier-0123456789".into(),
            created: Ts::from_millis(0),
            return_to: None,
        }
    }

    fn metadata() -> ProviderMetadata {
        ProviderMetadata {
            issuer: "https://idp.example.com".into(),
            authorization_endpoint: "https://idp.example.com/auth".into(),
            token_endpoint: "https://idp.example.com/token".into(),
            jwks_uri: "https://idp.example.com/jwks".into(),
            end_session_endpoint: None,
            id_token_signing_alg_values_supported: vec!["RS256".into()],
            code_challenge_methods_supported: None,
            token_endpoint_auth_methods_supported: None,
            authorization_response_iss_parameter_supported: false,
        }
    }

    fn body(request: &TokenRequest) -> BTreeMap<String, String> {
        form_pairs(&request.form_body)
            .unwrap()
            .into_iter()
            .collect()
    }

    fn header<'a>(request: &'a TokenRequest, name: &str) -> Option<&'a str> {
        request
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn secret_basic() {
        let client = OidcClient::new(config()).unwrap();
        let request = token_request(&client, &metadata(), &pending(), "the code+/=");
        assert_eq!(request.url, "https://idp.example.com/token");
        let form = body(&request);
        assert_eq!(form["grant_type"], "authorization_code");
        assert_eq!(form["code"], "the code+/=");
        assert_eq!(form["redirect_uri"], REDIRECT_URI);
        assert_eq!(form["code_verifier"], "verifier-0123456789");
        assert!(!form.contains_key("client_secret") && !form.contains_key("client_id"));
        assert_eq!(
            header(&request, "content-type"),
            Some("application/x-www-form-urlencoded")
        );
        // base64("seam:s3cret%3Awith%2Fodd%2Bchars")
        let expected = format!(
            "Basic {}",
            base64_standard(b"seam:s3cret%3Awith%2Fodd%2Bchars")
        );
        assert_eq!(header(&request, "authorization"), Some(expected.as_str()));
        let printed = format!("{request:?}");
        assert!(
            !printed.contains("verifier") && !printed.contains(&expected),
            "{printed}"
        );
    }

    #[test]
    fn secret_post_and_public() {
        let mut post = config();
        post.client_auth = ClientAuth::SecretPost;
        post.client_secret = Some(ClientSecret::new("s3cret"));
        let request = token_request(
            &OidcClient::new(post).unwrap(),
            &metadata(),
            &pending(),
            "c",
        );
        let form = body(&request);
        assert_eq!(form["client_id"], "seam");
        assert_eq!(form["client_secret"], "s3cret");
        assert_eq!(header(&request, "authorization"), None);

        let mut public = config();
        public.client_secret = None;
        let request = token_request(
            &OidcClient::new(public).unwrap(),
            &metadata(),
            &pending(),
            "c",
        );
        let form = body(&request);
        assert_eq!(form["client_id"], "seam");
        assert!(!form.contains_key("client_secret"));
        assert_eq!(header(&request, "authorization"), None);
    }

    #[test]
    fn reads_tokens() {
        let response = parse_token_response(
            r#"{"access_token":"at","expires_in":3600,"id_token":"a.b.c","scope":"openid","token_type":"Bearer"}"#,
        )
        .unwrap();
        assert_eq!(response.id_token, "a.b.c");
        assert_eq!(response.access_token.as_deref(), Some("at"));
        assert_eq!(response.expires_in, Some(3600));
        assert!(!format!("{response:?}").contains("a.b.c"));
    }

    #[test]
    fn an_error_answer_is_a_clear_error() {
        let error = parse_token_response(
            r#"{"error":"invalid_grant","error_description":"grant request is invalid"}"#,
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "the provider's token endpoint refused the code: invalid_grant (grant request is invalid)"
        );
        assert_eq!(error.status(), 401);
        let misconfigured = parse_token_response(r#"{"error":"invalid_client"}"#).unwrap_err();
        assert_eq!(misconfigured.status(), 502);
    }

    #[test]
    fn refuses_odd_answers() {
        for body in [
            r#"{"access_token":"at","token_type":"Bearer"}"#,
            r#"{"id_token":"a.b.c","token_type":"DPoP"}"#,
            r#"{"id_token":5}"#,
            r#"{"id_token":"a","id_token":"b"}"#,
            "<html>bad gateway</html>",
            "",
        ] {
            assert!(
                matches!(parse_token_response(body), Err(OidcError::Malformed { .. })),
                "{body}"
            );
        }
        let huge = format!(
            r#"{{"id_token":"{}"}}"#,
            "a".repeat(MAX_TOKEN_RESPONSE_BYTES)
        );
        assert!(matches!(
            parse_token_response(huge),
            Err(OidcError::TooLarge { .. })
        ));
    }
}
