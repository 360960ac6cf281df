//! Single sign-on through an OpenID Connect provider: the edge of `seam-oidc`.
//!
//! `GET /v1/oidc/login` sends the browser to the provider (authorization code with PKCE) and
//! binds the sign-in to the browser with a short-lived state cookie; `GET /v1/oidc/callback`
//! checks that cookie and the provider's answer, redeems the code, verifies the ID token
//! (signature through the provider's JWKS, issuer, audience, expiry, nonce), maps its claims
//! to roles and sites, and opens a session for the user linked to the token's issuer and
//! subject (made on the first sign-in, its roles and sites following the provider's on every
//! sign-in). The provider's documents are fetched at the first sign-in and kept; an unknown
//! key id fetches the JWKS once more (the provider rotated its keys).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use seam_access::{NewUser, Role, USERS_COLLECTION};
use seam_audit::{AuditAction, AuditEntry};
use seam_model::Ts;
use seam_oidc::{
    ClaimMapping, ClientSecret, Jwks, OidcClient, OidcConfig, OidcError, PendingLogins,
    ProviderMetadata,
};

use crate::access::Caller;
use crate::config::OidcSettings;
use crate::server::Shared;

/// The cookie that ties a callback to the browser that started the sign-in.
const STATE_COOKIE: &str = "seam_oidc_state";
/// The longest answer read from the provider.
const MAX_PROVIDER_ANSWER: usize = 256 * 1024;
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// The relying party of a running service.
pub(crate) struct Oidc {
    client: OidcClient,
    pending: Mutex<PendingLogins>,
    /// The discovery document and JWKS, once fetched.
    provider: tokio::sync::Mutex<Option<(ProviderMetadata, Jwks)>>,
    tls: tokio_rustls::TlsConnector,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl Oidc {
    pub(crate) fn new(settings: &OidcSettings) -> Result<Oidc, String> {
        let mut config = OidcConfig::new(
            settings.issuer.clone(),
            settings.client_id.clone(),
            settings.redirect_uri.clone(),
        );
        config.client_secret = settings
            .client_secret
            .as_ref()
            .map(|secret| ClientSecret::new(String::from_utf8_lossy(secret.expose())));
        config.scopes = settings.scopes.clone();
        config.claims = ClaimMapping {
            roles_claim: settings.roles_claim.clone(),
            role_map: settings.role_map.clone(),
            sites_claim: settings.sites_claim.clone(),
            ..ClaimMapping::default()
        };
        let client = OidcClient::new(config).map_err(|e| format!("[access.oidc]: {e}"))?;
        let tls = crate::tls::client_config(&crate::tls::ClientTlsSettings::default())
            .map_err(|e| format!("[access.oidc]: {e}"))?;
        Ok(Oidc {
            pending: Mutex::new(PendingLogins::for_client(&client)),
            client,
            provider: tokio::sync::Mutex::new(None),
            tls: tokio_rustls::TlsConnector::from(tls),
        })
    }

    /// The provider's documents, fetched the first time (or again with `refresh`).
    async fn provider(&self, refresh: bool) -> Result<(ProviderMetadata, Jwks), String> {
        let mut held = self.provider.lock().await;
        if let Some(known) = held.as_ref()
            && !refresh
        {
            return Ok(known.clone());
        }
        let issuer = &self.client.config().issuer;
        let (status, body) = self
            .fetch(&ProviderMetadata::discovery_url(issuer), None)
            .await?;
        if status != 200 {
            return Err(format!("the provider's discovery answered HTTP {status}"));
        }
        let metadata = ProviderMetadata::parse(&body, issuer).map_err(|e| e.to_string())?;
        let (status, body) = self.fetch(&metadata.jwks_uri, None).await?;
        if status != 200 {
            return Err(format!("the provider's JWKS answered HTTP {status}"));
        }
        let jwks = Jwks::parse(&body).map_err(|e| e.to_string())?;
        *held = Some((metadata.clone(), jwks.clone()));
        Ok((metadata, jwks))
    }

    /// One GET (or POST of a form with its headers) to the provider.
    async fn fetch(
        &self,
        url: &str,
        post: Option<(&[(String, String)], &str)>,
    ) -> Result<(u16, Vec<u8>), String> {
        tokio::time::timeout(PROVIDER_TIMEOUT, self.fetch_now(url, post))
            .await
            .map_err(|_| format!("the provider did not answer within {PROVIDER_TIMEOUT:?}"))?
    }

    async fn fetch_now(
        &self,
        url: &str,
        post: Option<(&[(String, String)], &str)>,
    ) -> Result<(u16, Vec<u8>), String> {
        let target = crate::pull::Target::parse_any(url)?;
        let stream = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| format!("cannot connect to {}:{}: {e}", target.host, target.port))?;
        let mut request = hyper::Request::builder()
            .uri(target.path.as_str())
            .header(header::HOST, target.host_header())
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, "seam");
        let body = match post {
            Some((headers, form)) => {
                request = request.method(hyper::Method::POST);
                for (name, value) in headers {
                    request = request.header(name.as_str(), value.as_str());
                }
                Full::new(Bytes::from(form.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let request = request.body(body).map_err(|e| e.to_string())?;
        let response = if target.https {
            let name = rustls_pki_types::ServerName::try_from(target.host.clone())
                .map_err(|e| format!("`{}`: {e}", target.host))?;
            let stream = self
                .tls
                .connect(name, stream)
                .await
                .map_err(|e| format!("TLS with {}: {e}", target.host))?;
            send(TokioIo::new(stream), request).await?
        } else {
            send(TokioIo::new(stream), request).await?
        };
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_PROVIDER_ANSWER)
            .collect()
            .await
            .map_err(|e| format!("the provider's answer could not be read: {e}"))?
            .to_bytes();
        Ok((status, body.to_vec()))
    }
}

async fn send<S>(
    io: TokioIo<S>,
    request: hyper::Request<Full<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    let driver = tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("HTTP request: {e}"));
    if response.is_err() {
        driver.abort();
    }
    response
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/oidc/login", get(login))
        .route("/v1/oidc/callback", get(callback))
        .with_state(shared)
}

fn not_configured() -> Response {
    crate::http::error(
        StatusCode::NOT_FOUND,
        "single sign-on is not configured ([access.oidc])",
    )
}

/// `GET /v1/oidc/login[?return_to=/path]`: to the provider.
async fn login(State(shared): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let Some(oidc) = shared.oidc.as_deref() else {
        return not_configured();
    };
    let return_to = query.as_deref().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("return_to="))
            .map(crate::scim::percent_decode)
    });
    let (metadata, _) = match oidc.provider(false).await {
        Ok(provider) => provider,
        Err(reason) => {
            eprintln!("seam serve: single sign-on: {reason}");
            return crate::http::error(
                StatusCode::BAD_GATEWAY,
                "the identity provider cannot be reached; try again",
            );
        }
    };
    let now = Ts(crate::now_ms());
    let begun = seam_oidc::begin_login(
        &oidc.client,
        &metadata,
        return_to.as_deref(),
        now,
        &mut seam_oidc::OsRandom,
    );
    let (url, pending) = match begun {
        Ok(begun) => begun,
        Err(error) => return oidc_refusal(&error),
    };
    let state = pending.state.clone();
    if let Ok(mut pending_logins) = oidc.pending.lock() {
        pending_logins.insert(pending, now);
    }
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&url) {
        headers.insert(header::LOCATION, location);
    }
    // Lax: the provider's redirect back is a cross-site navigation, which a Strict cookie
    // would not follow. Only the callback reads it.
    let secure = if shared.access.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    if let Ok(cookie) = HeaderValue::from_str(&format!(
        "{STATE_COOKIE}={state}; Path=/v1/oidc/callback; HttpOnly; SameSite=Lax{secure}; Max-Age=600"
    )) {
        headers.insert(header::SET_COOKIE, cookie);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn oidc_refusal(error: &OidcError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    crate::http::error(status, error.to_string())
}

fn state_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == STATE_COOKIE).then(|| value.to_string())
        })
}

/// `GET /v1/oidc/callback?code=…&state=…`: the provider's answer.
async fn callback(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(oidc) = shared.oidc.as_deref() else {
        return not_configured();
    };
    let refuse = |reason: &str, response: Response| {
        shared.audit.record(
            AuditEntry::new("anonymous", AuditAction::SignInFailed).detail(serde_json::json!({
                "method": "oidc",
                "reason": reason,
                "address": caller.address.map(|a| a.to_string()),
            })),
        );
        response
    };
    let (metadata, jwks) = match oidc.provider(false).await {
        Ok(provider) => provider,
        Err(reason) => {
            eprintln!("seam serve: single sign-on: {reason}");
            return crate::http::error(
                StatusCode::BAD_GATEWAY,
                "the identity provider cannot be reached; try again",
            );
        }
    };
    let answer = match seam_oidc::AuthorizationResponse::parse(
        query.as_deref().unwrap_or_default(),
        &metadata,
    ) {
        Ok(answer) => answer,
        Err(error) => return refuse(error.reason(), oidc_refusal(&error)),
    };
    let bound = state_cookie(&headers).is_some_and(|cookie| {
        seam_adapters::secrets_match(cookie.as_bytes(), answer.state.as_bytes())
    });
    if !bound {
        return refuse(
            "state_cookie",
            crate::http::error(
                StatusCode::UNAUTHORIZED,
                "this sign-in was not started in this browser; start again",
            ),
        );
    }
    let now = Ts(crate::now_ms());
    let pending = match oidc.pending.lock() {
        Ok(mut pending) => pending.take(&answer.state, now),
        Err(_) => return crate::http::error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    let pending = match pending {
        Ok(pending) => pending,
        Err(error) => return refuse(error.reason(), oidc_refusal(&error)),
    };
    let request = seam_oidc::token_request(&oidc.client, &metadata, &pending, &answer.code);
    let exchanged = oidc
        .fetch(&request.url, Some((&request.headers, &request.form_body)))
        .await;
    let body = match exchanged {
        Ok((_, body)) => body,
        Err(reason) => {
            eprintln!("seam serve: single sign-on: the token endpoint: {reason}");
            return crate::http::error(StatusCode::BAD_GATEWAY, "the identity provider failed");
        }
    };
    let tokens = match seam_oidc::parse_token_response(&body) {
        Ok(tokens) => tokens,
        Err(error) => return refuse(error.reason(), oidc_refusal(&error)),
    };
    let expectations = oidc.client.expectations(&pending, now);
    let mut verified = seam_oidc::verify_id_token(&tokens.id_token, &jwks, &expectations);
    if matches!(verified, Err(OidcError::UnknownKey { .. })) {
        // The provider may have rotated its keys since they were fetched.
        if let Ok((_, fresh)) = oidc.provider(true).await {
            verified = seam_oidc::verify_id_token(&tokens.id_token, &fresh, &expectations);
        }
    }
    let identity = match verified {
        Ok(identity) => identity,
        Err(error) => return refuse(error.reason(), oidc_refusal(&error)),
    };
    let roles: Vec<Role> = identity
        .roles
        .iter()
        .filter_map(|role| role.parse().ok())
        .collect();
    let subject = format!("{}#{}", identity.issuer, identity.subject);
    let signed_in = shared.access.sign_in_external(
        &subject,
        &identity.username,
        identity.name.as_deref(),
        &roles,
        identity.sites.as_deref(),
        now,
    );
    let (principal, session, cookie_header, document) = match signed_in {
        Ok(signed_in) => signed_in,
        Err(reason) => {
            return refuse("user", crate::http::error(StatusCode::FORBIDDEN, reason));
        }
    };
    if let Some((id, json)) = document
        && let Err(reason) = crate::access::persist(&shared, USERS_COLLECTION, &id, json).await
    {
        eprintln!("seam serve: single sign-on: saving user `{id}` failed: {reason}");
        return crate::http::error(StatusCode::SERVICE_UNAVAILABLE, "could not be saved; retry");
    }
    shared.audit.record(
        AuditEntry::new(principal.actor(), AuditAction::SignIn).detail(serde_json::json!({
            "method": "oidc",
            "issuer": identity.issuer,
            "roles": principal.roles,
            "sites": principal.sites,
            "address": caller.address.map(|a| a.to_string()),
        })),
    );
    // The session cookie is SameSite=Strict: a browser still in the provider's redirect
    // chain would not send it, so the page moves on by itself from this site.
    let to = pending.return_to.unwrap_or_else(|| "/".to_string());
    let escaped = to
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    let page = format!(
        "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=\"0;url={escaped}\"><title>Signed in</title><p>Signed in. <a href=\"{escaped}\">Continue</a>"
    );
    let mut response = (StatusCode::OK, page).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&cookie_header) {
        headers.append(header::SET_COOKIE, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!(
        "{STATE_COOKIE}=; Path=/v1/oidc/callback; HttpOnly; SameSite=Lax; Max-Age=0"
    )) {
        headers.append(header::SET_COOKIE, value);
    }
    if let Ok(value) = HeaderValue::from_str(session.csrf_token.expose()) {
        headers.insert("x-csrf-token", value);
    }
    response
}

/// Whether a login name is one `seam-access` takes.
pub(crate) fn usable_login(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@') {
                c
            } else {
                '-'
            }
        })
        .take(56)
        .collect();
    let cleaned = cleaned.trim_start_matches(['.', '_', '-', '@']).to_string();
    if cleaned.is_empty() {
        "sso-user".to_string()
    } else {
        cleaned
    }
}

/// A new user's fields from the provider's identity.
pub(crate) fn new_user<'a>(
    name: &'a str,
    display_name: &'a str,
    roles: &'a [Role],
    sites: Option<&'a [String]>,
    subject: &'a str,
) -> NewUser<'a> {
    NewUser {
        name,
        display_name,
        roles,
        sites,
        password: None,
        oidc_subject: Some(subject),
    }
}
