//! The HTTP edge of `seam-access`: every request is decided by one route table before its
//! handler runs ([`authorize`]), and the routes of one's own account, users, tokens, the
//! audit log and reveals live here.
//!
//! Authentication is on once the store holds a user or a token, or when `[access] required`
//! is set; until then the API answers on loopback only, as it always did, and the routes
//! that need an account refuse. Ingest and SCIM keep their own credentials (a source's secret
//! or signature, the SCIM token); an API token with the right role is accepted there too.
//!
//! Every refusal of a presented credential, every sign-in (failed too), sign-out, user and
//! token change, reveal and read of people's findings is recorded in the audit log, which
//! names people by keyed pseudonym only.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use seam_access::{
    Access, CSRF_HEADER, NewToken, NewUser, OsRandom, PSEUDONYM_KEY_BYTES, PasswordParams,
    Permission, Principal, Pseudonyms, Refused, RequestParts, Role, RouteMatch, TOKENS_COLLECTION,
    ThrottlePolicy, Tokens, USERS_COLLECTION, Users, route_match,
};
use seam_audit::{AuditAction, AuditEntry};
use seam_model::Ts;
use seam_store::{DocumentWrite, Store};

use crate::server::Shared;

/// A writer job with no source: documents only (users, tokens), no counters.
pub(crate) const NO_SOURCE: usize = usize::MAX;

/// The pseudonym key, in the data directory: every pseudonym depends on it.
pub const PSEUDONYM_KEY_FILE: &str = "pseudonym.key";

/// The largest JSON body the account routes read.
const MAX_ACCOUNT_BODY: usize = 16 * 1024;

/// People named one by one in a read's audit record; beyond, only counted.
const MAX_AUDITED_PEOPLE: usize = 1000;

/// The header in which a caller states why they read a person's data.
pub(crate) const PURPOSE_HEADER: &str = "x-seam-purpose";

/// Users, tokens and sessions of the running service, and the pseudonym key.
#[derive(Debug)]
pub(crate) struct AccessState {
    /// Credentials are required (users or tokens exist, or `[access] required`).
    enforced: bool,
    access: Mutex<Access>,
    /// Sign-ins one at a time: the password hash takes a while and must not hold the lock
    /// every request takes, and the throttle must see every failure.
    login: tokio::sync::Mutex<()>,
    random: Mutex<OsRandom>,
    /// Cookies carry `Secure` (the API is served through TLS).
    secure_cookies: bool,
    pseudonyms: Pseudonyms,
    reveals: Mutex<Reveals>,
    reveal_ms: i64,
}

/// Names revealed to a principal, until when.
#[derive(Debug, Default)]
struct Reveals {
    until: HashMap<(String, String), Ts>,
}

/// Who is calling, as the middleware found out, for the handlers.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub principal: Option<Principal>,
    /// Filter the answer to these sites.
    pub site_scope: Option<Vec<String>>,
    /// No authentication is configured: a loopback caller of the open read API.
    pub open: bool,
    pub address: Option<IpAddr>,
}

impl Caller {
    /// How the audit log names the caller.
    pub(crate) fn actor(&self) -> String {
        match &self.principal {
            Some(principal) => principal.actor(),
            None if self.open => "loopback".to_string(),
            None => "anonymous".to_string(),
        }
    }

    /// Sees people by name without revealing them one by one.
    pub(crate) fn sees_names(&self) -> bool {
        self.open
            || self
                .principal
                .as_ref()
                .is_some_and(|p| p.allows(Permission::SeeNames))
    }

    pub(crate) fn sees_site(&self, site: &str) -> bool {
        self.site_scope
            .as_ref()
            .is_none_or(|sites| sites.iter().any(|own| own == site))
    }
}

impl AccessState {
    /// Loads users and tokens from the store and the pseudonym key from the data directory
    /// (made on first start).
    pub(crate) fn load(
        store: &dyn Store,
        data_dir: &Path,
        settings: &crate::config::AccessSettings,
        secure_cookies: bool,
    ) -> Result<AccessState, String> {
        let users = store
            .documents(USERS_COLLECTION)
            .map_err(|e| format!("reading users: {e}"))?;
        let users = Users::load(PasswordParams::PRODUCTION, users)
            .map_err(|e| format!("reading users: {e}"))?;
        let tokens = store
            .documents(TOKENS_COLLECTION)
            .map_err(|e| format!("reading tokens: {e}"))?;
        let tokens = Tokens::load(tokens).map_err(|e| format!("reading tokens: {e}"))?;
        let enforced = settings.required || !users.is_empty() || !tokens.is_empty();
        if settings.required && !users.has_admin() && tokens.is_empty() {
            return Err(
                "[access] required is set but no admin exists: create the first one with `seam user add --data-dir DIR --name NAME --role admin`".into(),
            );
        }
        let key = pseudonym_key(data_dir)?;
        Ok(AccessState {
            enforced,
            access: Mutex::new(Access::new(
                users,
                tokens,
                settings.session,
                ThrottlePolicy::default(),
            )),
            login: tokio::sync::Mutex::new(()),
            random: Mutex::new(OsRandom),
            secure_cookies,
            pseudonyms: Pseudonyms::new(&key),
            reveals: Mutex::new(Reveals::default()),
            reveal_ms: settings.reveal_ms,
        })
    }

    pub(crate) fn pseudonym(&self, person: &str) -> String {
        self.pseudonyms.of(person)
    }

    /// Whether `token` is a live API token whose roles hold `permission` for every site.
    pub(crate) fn token_allows(&self, token: &str, permission: Permission) -> bool {
        let now = Ts(crate::now_ms());
        self.access.lock().is_ok_and(|access| {
            access.tokens.verify(token, now).is_ok_and(|record| {
                let principal = Principal::from_token(record);
                principal.allows(permission) && principal.sites.is_none()
            })
        })
    }

    /// Runs `change` with users, tokens and sessions and the randomness, both locked.
    fn with_access<R>(
        &self,
        change: impl FnOnce(&mut Access, &mut OsRandom) -> Result<R, String>,
    ) -> Result<R, String> {
        let mut access = self.access.lock().map_err(|_| "unavailable".to_string())?;
        let mut random = self.random.lock().map_err(|_| "unavailable".to_string())?;
        change(&mut access, &mut random)
    }

    /// Credentials are required on every route that needs an account.
    pub(crate) fn enforced(&self) -> bool {
        self.enforced
    }

    pub(crate) fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }

    /// Opens a session for the user an identity provider vouched for, linked by `subject`
    /// (issuer and subject): made on the first sign-in, its roles and sites set to the
    /// provider's each time. Returns the principal, the session, its `Set-Cookie` value and
    /// the user's document when it changed.
    #[expect(clippy::type_complexity, reason = "one use, named at the call")]
    pub(crate) fn sign_in_external(
        &self,
        subject: &str,
        username: &str,
        display_name: Option<&str>,
        roles: &[Role],
        sites: Option<&[String]>,
        now: Ts,
    ) -> Result<
        (
            Principal,
            seam_access::NewSession,
            String,
            Option<(String, String)>,
        ),
        String,
    > {
        let mut access = self.access.lock().map_err(|_| "unavailable".to_string())?;
        let mut random = self.random.lock().map_err(|_| "unavailable".to_string())?;
        let mut changed = false;
        let id = match access.users.by_oidc_subject(subject).map(|u| u.id.clone()) {
            Some(id) => {
                let user = access.users.get(&id).ok_or("unknown user")?;
                if user.disabled {
                    return Err("this account is disabled in Seam".into());
                }
                if user.roles != roles {
                    access
                        .users
                        .set_roles(&id, roles)
                        .map_err(|e| e.to_string())?;
                    changed = true;
                }
                if access
                    .users
                    .get(&id)
                    .is_some_and(|u| u.sites.as_deref() != sites)
                {
                    access
                        .users
                        .set_sites(&id, sites)
                        .map_err(|e| e.to_string())?;
                    changed = true;
                }
                id
            }
            None => {
                let base = crate::oidc::usable_login(username);
                let mut name = base.clone();
                let mut n = 1;
                while access.users.by_name(&name).is_some() {
                    n += 1;
                    name = format!("{base}-{n}");
                }
                let display = display_name
                    .unwrap_or(username)
                    .chars()
                    .take(200)
                    .collect::<String>();
                changed = true;
                access
                    .users
                    .add(
                        crate::oidc::new_user(&name, &display, roles, sites, subject),
                        now,
                        &mut *random,
                    )
                    .map_err(|e| e.to_string())?
                    .id
                    .clone()
            }
        };
        let user = access.users.get(&id).ok_or("unknown user")?;
        let principal = Principal::from_user(user);
        let document = if changed {
            Some((id.clone(), user.to_document().map_err(|e| e.to_string())?))
        } else {
            None
        };
        let session = access
            .sessions
            .create(&id, now, &mut *random)
            .map_err(|e| e.to_string())?;
        let cookie = access
            .sessions
            .policy()
            .cookie_header(&session.cookie, self.secure_cookies);
        Ok((principal, session, cookie, document))
    }

    /// The person id a filter names: the id itself, or the person whose pseudonym it is.
    pub(crate) fn person_of(&self, estate: &seam_estate::Estate, named: &str) -> String {
        if named.starts_with("p-")
            && let Some(person) = estate
                .people()
                .iter()
                .find(|person| self.pseudonyms.is_of(named, &person.id))
        {
            return person.id.clone();
        }
        named.to_string()
    }

    /// Whether `principal` has a live reveal of `person`.
    pub(crate) fn revealed(&self, principal: &Principal, person: &str, now: Ts) -> bool {
        let Ok(reveals) = self.reveals.lock() else {
            return false;
        };
        reveals
            .until
            .get(&(principal.actor(), person.to_string()))
            .is_some_and(|until| now < *until)
    }
}

/// The installation's pseudonym key, made (randomly, readable by the owner only) the first
/// time. Without it, pseudonyms in the audit log cannot be matched to people.
pub fn pseudonym_key(data_dir: &Path) -> Result<[u8; PSEUDONYM_KEY_BYTES], String> {
    let path = data_dir.join(PSEUDONYM_KEY_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => <[u8; PSEUDONYM_KEY_BYTES]>::try_from(bytes.as_slice()).map_err(|_| {
            format!(
                "{}: not a pseudonym key ({} bytes, expected {PSEUDONYM_KEY_BYTES})",
                path.display(),
                bytes.len()
            )
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)
                .map_err(|e| format!("{}: {e}", data_dir.display()))?;
            let key = seam_access::generate_pseudonym_key(&mut OsRandom)
                .map_err(|e| format!("making the pseudonym key: {e}"))?;
            let temporary = data_dir.join(format!("{PSEUDONYM_KEY_FILE}.new"));
            write_private(&temporary, &key)
                .and_then(|()| std::fs::rename(&temporary, &path))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(key)
        }
        Err(error) => Err(format!("{}: {error}", path.display())),
    }
}

pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// What the open API (no authentication configured, loopback only) still answers: what it
/// always answered.
fn open_without_credentials(permission: Permission) -> bool {
    matches!(
        permission,
        Permission::ReadFindings
            | Permission::StreamFindings
            | Permission::ReadDeadLetters
            | Permission::ReadMetrics
    )
}

/// A `Bearer` credential in Seam's API token shape (`seam_…`).
fn bears_api_token(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .is_some_and(|(scheme, token)| {
            scheme.eq_ignore_ascii_case("bearer") && token.trim().starts_with("seam_")
        })
}

fn peer_address(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip())
}

/// Decides every request before its handler: the route table, then the credential, then
/// the roles and sites. Handlers find the [`Caller`] in the request's extensions.
pub(crate) async fn authorize(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    let state = &shared.access;
    let address = peer_address(&request);
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let rule = match route_match(&method, &path) {
        RouteMatch::Rule(rule) => Some(rule),
        RouteMatch::MethodNotAllowed { .. } | RouteMatch::NoRoute => None,
    };
    let permission = rule.and_then(|rule| rule.permission);
    // Ingest and SCIM answer to their own credentials unless an API token is shown.
    let own_credentials = matches!(
        permission,
        Some(Permission::IngestEvents | Permission::ProvisionDirectory)
    );
    if own_credentials && !bears_api_token(request.headers()) {
        request.extensions_mut().insert(Caller {
            principal: None,
            site_scope: None,
            open: false,
            address,
        });
        return next.run(request).await;
    }
    if !state.enforced && (rule.is_some() && permission.is_none_or(open_without_credentials)) {
        request.extensions_mut().insert(Caller {
            principal: None,
            site_scope: None,
            open: true,
            address,
        });
        return next.run(request).await;
    }
    let now = Ts(crate::now_ms());
    let checked = {
        let headers = request.headers();
        let cookies: Vec<&[u8]> = headers
            .get_all(header::COOKIE)
            .iter()
            .map(HeaderValue::as_bytes)
            .collect();
        let parts = RequestParts {
            method: &method,
            path: &path,
            authorization: headers
                .get(header::AUTHORIZATION)
                .map(HeaderValue::as_bytes),
            cookies: &cookies,
            csrf: headers.get(CSRF_HEADER).map(HeaderValue::as_bytes),
        };
        match state.access.lock() {
            Ok(mut access) => access.check_request(&parts, now).map(|allowed| {
                let touched = allowed
                    .token_touched
                    .as_ref()
                    .and_then(|id| access.tokens.get(id))
                    .and_then(|record| record.to_document().ok().map(|d| (record.id.clone(), d)));
                (allowed, touched)
            }),
            Err(_) => return crate::http::error(StatusCode::SERVICE_UNAVAILABLE, "starting"),
        }
    };
    match checked {
        Ok((allowed, touched)) => {
            if let Some((id, json)) = touched {
                // The last use is worth a write a minute, not a wait.
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = persist(&shared, TOKENS_COLLECTION, &id, json).await;
                });
            }
            request.extensions_mut().insert(Caller {
                principal: allowed.principal,
                site_scope: allowed.site_scope,
                open: false,
                address,
            });
            next.run(request).await
        }
        Err(refused) => refusal(&shared, &refused, address, &method, &path),
    }
}

/// The answer to a refused request; a refused credential is recorded in the audit log.
fn refusal(
    shared: &Shared,
    refused: &Refused,
    address: Option<IpAddr>,
    method: &str,
    path: &str,
) -> Response {
    use seam_access::Decision;
    let status = StatusCode::from_u16(refused.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    match refused {
        Refused::Auth(error) => {
            shared.audit.record(
                AuditEntry::new("anonymous", AuditAction::SignInFailed).detail(serde_json::json!({
                    "credential_refused": error.reason(),
                    "address": address.map(|a| a.to_string()),
                    "method": method,
                    "path": path,
                })),
            );
            crate::http::error(status, error.to_string())
        }
        Refused::Decision(Decision::Unauthenticated) => crate::http::error(
            status,
            if shared.access.enforced {
                "credentials are required: a bearer token or a session"
            } else {
                "no account exists yet: create the first admin with `seam user add`"
            },
        ),
        Refused::Decision(Decision::Forbidden) => {
            crate::http::error(status, "your roles or sites do not allow this")
        }
        Refused::Decision(Decision::MethodNotAllowed { allowed }) => {
            let mut response = crate::http::error(status, "method not allowed");
            if let Ok(value) = HeaderValue::from_str(&allowed.join(", ")) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            response
        }
        Refused::Decision(_) => crate::http::error(StatusCode::NOT_FOUND, "not found"),
    }
}

/// Keeps one document through the writer, durable when this returns.
pub(crate) async fn persist(
    shared: &Shared,
    collection: &str,
    id: &str,
    json: String,
) -> Result<(), String> {
    let prepared = crate::ingest::Prepared {
        job: crate::writer::Job {
            events: Vec::new(),
            jsons: Vec::new(),
            dead_letters: Vec::new(),
            documents: vec![DocumentWrite {
                collection: collection.to_string(),
                id: id.to_string(),
                json: Some(json),
            }]
            .into_boxed_slice(),
            reply: None,
            source: NO_SOURCE,
        },
        skipped: 0,
        rejected: Vec::new(),
    };
    crate::ingest::submit_patiently(shared, prepared)
        .await
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
}

/// `router` with every request decided by [`authorize`] first.
pub(crate) fn guarded(shared: &Arc<Shared>, router: Router) -> Router {
    router.layer(axum::middleware::from_fn_with_state(
        Arc::clone(shared),
        authorize,
    ))
}

/// The account, user, token, audit and reveal routes.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/login", post(login))
        .route("/v1/logout", post(logout))
        .route("/v1/me", get(me))
        .route("/v1/users", get(list_users).post(add_user))
        .route("/v1/users/{id}", patch(change_user))
        .route("/v1/tokens", get(list_tokens).post(create_token))
        .route("/v1/tokens/{id}", axum::routing::delete(revoke_token))
        .route("/v1/audit/verify", get(audit_verify))
        .route("/v1/audit/export", get(audit_export))
        .route("/v1/people/{id}/reveal", post(reveal))
        .with_state(shared)
}

/// The caller the middleware found; a handler reached without it sees no one.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Caller, std::convert::Infallible> {
        Ok(parts.extensions.get::<Caller>().cloned().unwrap_or(Caller {
            principal: None,
            site_scope: None,
            open: false,
            address: None,
        }))
    }
}

/// A JSON body read by [`json_body`]'s rules, as an extractor: the refusal is the answer.
pub(crate) struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(request: Request, _state: &S) -> Result<JsonBody<T>, Response> {
        let (parts, body) = request.into_parts();
        json_body(&parts.headers, body).await.map(JsonBody)
    }
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    crate::http::json_response(status, value.to_string())
}

/// A JSON body of at most [`MAX_ACCOUNT_BODY`] bytes, declared as JSON (a form post from
/// another site cannot send one without a preflight).
async fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
) -> Result<T, Response> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
    if !is_json {
        return Err(crate::http::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send `Content-Type: application/json`",
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_ACCOUNT_BODY)
        .await
        .map_err(|_| {
            crate::http::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is larger than {MAX_ACCOUNT_BODY} bytes"),
            )
        })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| crate::http::error(StatusCode::BAD_REQUEST, format!("invalid body: {e}")))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    login: String,
    password: String,
}

async fn login(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    JsonBody(LoginBody { login, password }): JsonBody<LoginBody>,
) -> Response {
    let address = caller
        .address
        .map_or_else(|| "unknown".to_string(), seam_access::address_key);
    let state = &shared.access;
    let _one_at_a_time = state.login.lock().await;
    let now = Ts(crate::now_ms());
    let Ok((users, mut throttle)) = state
        .access
        .lock()
        .map(|access| (access.users.clone(), access.throttle.clone()))
    else {
        return crate::http::error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    };
    let checking_login = login.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let result = users
            .authenticate(&checking_login, &password, &address, now, &mut throttle)
            .map(Principal::from_user);
        (result, throttle)
    })
    .await;
    let Ok((result, throttle)) = checked else {
        return crate::http::error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    };
    let opened = {
        let Ok(mut access) = state.access.lock() else {
            return crate::http::error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        };
        access.throttle = throttle;
        match result {
            Ok(principal) => {
                let Ok(mut random) = state.random.lock() else {
                    return crate::http::error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
                };
                let policy = access.sessions.policy().to_owned();
                access
                    .sessions
                    .create(&principal.id, now, &mut *random)
                    .map(|session| (principal, session, policy))
                    .map_err(seam_access::AuthError::from)
            }
            Err(error) => Err(error),
        }
    };
    match opened {
        Ok((principal, session, policy)) => {
            shared.audit.record(
                AuditEntry::new(principal.actor(), AuditAction::SignIn).detail(serde_json::json!({
                    "method": "password",
                    "address": caller.address.map(|a| a.to_string()),
                })),
            );
            let mut response = json(
                StatusCode::OK,
                &serde_json::json!({
                    "user": principal,
                    "csrf_token": session.csrf_token.expose(),
                }),
            );
            set_cookie(
                &mut response,
                &policy.cookie_header(&session.cookie, state.secure_cookies),
            );
            response
        }
        Err(error) => {
            // The login typed may be a password typed into the wrong field: recorded only
            // when it names a user.
            let known = state
                .access
                .lock()
                .ok()
                .and_then(|access| access.users.by_name(&login).map(|u| u.id.clone()));
            let mut entry = AuditEntry::new(
                known.unwrap_or_else(|| "anonymous".to_string()),
                AuditAction::SignInFailed,
            )
            .detail(serde_json::json!({
                "method": "password",
                "reason": error.reason(),
                "address": caller.address.map(|a| a.to_string()),
            }));
            if error.status() == 429 {
                entry = entry.purpose("throttled");
            }
            shared.audit.record(entry);
            let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::UNAUTHORIZED);
            crate::http::error(status, error.to_string())
        }
    }
}

fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The session cookie's value, if the request has one.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .find_map(|value| seam_access::session_cookie(value.as_bytes()).ok().flatten())
        .map(str::to_string)
}

async fn logout(State(shared): State<Arc<Shared>>, caller: Caller, headers: HeaderMap) -> Response {
    let state = &shared.access;
    let ended = session_cookie(&headers).and_then(|cookie| {
        state
            .access
            .lock()
            .ok()
            .and_then(|mut access| access.logout(&cookie))
    });
    shared.audit.record(
        AuditEntry::new(caller.actor(), AuditAction::SignOut)
            .detail(serde_json::json!({"session_ended": ended.is_some()})),
    );
    let policy = state
        .access
        .lock()
        .map(|access| access.sessions.policy().to_owned())
        .unwrap_or_default();
    let mut response = json(StatusCode::OK, &serde_json::json!({"signed_out": true}));
    set_cookie(
        &mut response,
        &policy.logout_cookie_header(state.secure_cookies),
    );
    response
}

async fn me(State(shared): State<Arc<Shared>>, caller: Caller, headers: HeaderMap) -> Response {
    let Some(principal) = &caller.principal else {
        return crate::http::error(StatusCode::UNAUTHORIZED, "credentials are required");
    };
    let csrf = session_cookie(&headers).and_then(|cookie| {
        let mut access = shared.access.access.lock().ok()?;
        let users = access.users.clone();
        access
            .sessions
            .check(&cookie, Ts(crate::now_ms()), &users)
            .ok()
            .map(|session| session.csrf_token.clone())
    });
    let permissions: Vec<&str> = Permission::ALL
        .iter()
        .filter(|p| principal.allows(**p))
        .map(|p| p.as_str())
        .collect();
    json(
        StatusCode::OK,
        &serde_json::json!({
            "principal": principal,
            "permissions": permissions,
            "csrf_token": csrf,
        }),
    )
}

/// A user as the API shows it: never the hash.
fn user_view(user: &seam_access::User) -> serde_json::Value {
    serde_json::json!({
        "id": user.id,
        "name": user.name,
        "display_name": user.display_name,
        "roles": user.roles,
        "sites": user.sites,
        "disabled": user.disabled,
        "has_password": user.password_hash.is_some(),
        "oidc_subject": user.oidc_subject,
        "created": user.created,
        "password_changed": user.password_changed,
    })
}

async fn list_users(State(shared): State<Arc<Shared>>) -> Response {
    let Ok(access) = shared.access.access.lock() else {
        return crate::http::error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    };
    let users: Vec<serde_json::Value> = access.users.iter().map(user_view).collect();
    json(
        StatusCode::OK,
        &serde_json::json!({"count": users.len(), "users": users}),
    )
}

/// Role names as given, or the answer naming the unknown one.
fn parse_roles(names: &[String]) -> Result<Vec<Role>, Box<Response>> {
    names
        .iter()
        .map(|name| name.parse::<Role>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Box::new(crate::http::error(StatusCode::BAD_REQUEST, e.to_string())))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    name: String,
    display_name: Option<String>,
    roles: Vec<String>,
    sites: Option<Vec<String>>,
    password: Option<String>,
    oidc_subject: Option<String>,
}

async fn add_user(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    JsonBody(body): JsonBody<NewUserBody>,
) -> Response {
    let roles = match parse_roles(&body.roles) {
        Ok(roles) => roles,
        Err(response) => return *response,
    };
    let now = Ts(crate::now_ms());
    let made = tokio::task::spawn_blocking({
        let shared = Arc::clone(&shared);
        let roles = roles.clone();
        move || {
            shared.access.with_access(|access, random| {
                let new = NewUser {
                    name: &body.name,
                    display_name: body.display_name.as_deref().unwrap_or(&body.name),
                    roles: &roles,
                    sites: body.sites.as_deref(),
                    password: body.password.as_deref(),
                    oidc_subject: body.oidc_subject.as_deref(),
                };
                let user = access
                    .users
                    .add(new, now, random)
                    .map_err(|e| e.to_string())?;
                Ok((user.to_document(), user_view(user), user.id.clone()))
            })
        }
    })
    .await;
    let (document, view, id) = match made {
        Ok(Ok(made)) => made,
        Ok(Err(message)) => return crate::http::error(StatusCode::BAD_REQUEST, message),
        Err(_) => return crate::http::error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    save_and_audit(
        &shared,
        USERS_COLLECTION,
        &id,
        document,
        AuditEntry::new(caller.actor(), AuditAction::UserCreated)
            .subject(&id)
            .detail(serde_json::json!({"roles": roles, "sites": view.get("sites")})),
    )
    .await
    .unwrap_or_else(|response| response);
    json(StatusCode::CREATED, &view)
}

/// Keeps a changed document and records the act; the answer on failure.
async fn save_and_audit(
    shared: &Shared,
    collection: &str,
    id: &str,
    document: Result<String, serde_json::Error>,
    entry: AuditEntry,
) -> Result<Response, Response> {
    let document = document
        .map_err(|_| crate::http::error(StatusCode::INTERNAL_SERVER_ERROR, "could not be saved"))?;
    persist(shared, collection, id, document)
        .await
        .map_err(|reason| {
            eprintln!("seam serve: saving {collection} `{id}` failed: {reason}");
            crate::http::error(StatusCode::SERVICE_UNAVAILABLE, "could not be saved; retry")
        })?;
    shared.audit.record(entry);
    Ok(StatusCode::OK.into_response())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeUserBody {
    display_name: Option<String>,
    roles: Option<Vec<String>>,
    /// `null` or absent: unchanged; use `all_sites` to lift a limit.
    sites: Option<Vec<String>>,
    #[serde(default)]
    all_sites: bool,
    disabled: Option<bool>,
    password: Option<String>,
}

async fn change_user(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    JsonBody(body): JsonBody<ChangeUserBody>,
) -> Response {
    let roles = match body.roles.as_deref().map(parse_roles).transpose() {
        Ok(roles) => roles,
        Err(response) => return *response,
    };
    let now = Ts(crate::now_ms());
    let changed = tokio::task::spawn_blocking({
        let shared = Arc::clone(&shared);
        let id = id.clone();
        move || {
            shared.access.with_access(|access, random| {
                // Work on a copy: a change refused halfway leaves the user as it was.
                let mut scratch = access.clone();
                let mut what = Vec::new();
                if let Some(name) = &body.display_name {
                    scratch
                        .users
                        .set_display_name(&id, name)
                        .map_err(|e| e.to_string())?;
                    what.push("display_name");
                }
                if let Some(roles) = &roles {
                    scratch
                        .users
                        .set_roles(&id, roles)
                        .map_err(|e| e.to_string())?;
                    what.push("roles");
                }
                if body.all_sites || body.sites.is_some() {
                    let sites = if body.all_sites {
                        None
                    } else {
                        body.sites.as_deref()
                    };
                    scratch
                        .users
                        .set_sites(&id, sites)
                        .map_err(|e| e.to_string())?;
                    what.push("sites");
                }
                if let Some(password) = &body.password {
                    scratch
                        .set_password(&id, password, now, random)
                        .map_err(|e| e.to_string())?;
                    what.push("password");
                }
                match body.disabled {
                    Some(true) => {
                        scratch.disable_user(&id).map_err(|e| e.to_string())?;
                        what.push("disabled");
                    }
                    Some(false) => {
                        scratch.users.enable(&id).map_err(|e| e.to_string())?;
                        what.push("enabled");
                    }
                    None => {}
                }
                let user = scratch
                    .users
                    .get(&id)
                    .ok_or_else(|| format!("no user with id `{id}`"))?;
                let result = (user.to_document(), user_view(user), what);
                *access = scratch;
                Ok(result)
            })
        }
    })
    .await;
    let (document, view, what) = match changed {
        Ok(Ok(changed)) => changed,
        Ok(Err(message)) if message.starts_with("no user") => {
            return crate::http::error(StatusCode::NOT_FOUND, message);
        }
        Ok(Err(message)) => return crate::http::error(StatusCode::BAD_REQUEST, message),
        Err(_) => return crate::http::error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    let action = if what.contains(&"disabled") {
        AuditAction::UserDisabled
    } else {
        AuditAction::UserChanged
    };
    if let Err(response) = save_and_audit(
        &shared,
        USERS_COLLECTION,
        &id,
        document,
        AuditEntry::new(caller.actor(), action)
            .subject(&id)
            .detail(serde_json::json!({"changed": what})),
    )
    .await
    {
        return response;
    }
    json(StatusCode::OK, &view)
}

async fn list_tokens(State(shared): State<Arc<Shared>>) -> Response {
    let Ok(access) = shared.access.access.lock() else {
        return crate::http::error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    };
    let now = Ts(crate::now_ms());
    let tokens: Vec<serde_json::Value> = access
        .tokens
        .iter()
        .map(|token| {
            serde_json::json!({
                "id": token.id,
                "name": token.name,
                "roles": token.roles,
                "sites": token.sites,
                "created": token.created,
                "expires": token.expires,
                "revoked": token.revoked,
                "last_used": token.last_used,
                "live": token.is_live(now),
            })
        })
        .collect();
    json(
        StatusCode::OK,
        &serde_json::json!({"count": tokens.len(), "tokens": tokens}),
    )
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTokenBody {
    name: String,
    roles: Vec<String>,
    sites: Option<Vec<String>>,
    expires_in_days: Option<u32>,
}

async fn create_token(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    JsonBody(body): JsonBody<NewTokenBody>,
) -> Response {
    let roles = match parse_roles(&body.roles) {
        Ok(roles) => roles,
        Err(response) => return *response,
    };
    let now = Ts(crate::now_ms());
    let expires = body
        .expires_in_days
        .map(|days| Ts(now.millis().saturating_add(i64::from(days) * 86_400_000)));
    let made = {
        let (Ok(mut access), Ok(mut random)) =
            (shared.access.access.lock(), shared.access.random.lock())
        else {
            return crate::http::error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        };
        access
            .tokens
            .create(
                NewToken {
                    name: &body.name,
                    roles: &roles,
                    sites: body.sites.as_deref(),
                    expires,
                },
                now,
                &mut *random,
            )
            .map(|(record, secret)| (record.clone(), secret))
    };
    let (record, secret) = match made {
        Ok(made) => made,
        Err(error) => return crate::http::error(StatusCode::BAD_REQUEST, error.to_string()),
    };
    if let Err(response) = save_and_audit(
        &shared,
        TOKENS_COLLECTION,
        &record.id,
        record.to_document(),
        AuditEntry::new(caller.actor(), AuditAction::TokenCreated)
            .subject(format!("t-{}", record.id))
            .detail(serde_json::json!({"roles": record.roles, "sites": record.sites, "expires": record.expires})),
    )
    .await
    {
        return response;
    }
    let mut response = json(
        StatusCode::CREATED,
        &serde_json::json!({
            "id": record.id,
            "name": record.name,
            "roles": record.roles,
            "sites": record.sites,
            "expires": record.expires,
            "token": secret.expose(),
            "note": "shown once: Seam keeps only its digest",
        }),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn revoke_token(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let now = Ts(crate::now_ms());
    let revoked = {
        let Ok(mut access) = shared.access.access.lock() else {
            return crate::http::error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        };
        access.tokens.revoke(&id, now).cloned()
    };
    let record = match revoked {
        Ok(record) => record,
        Err(error) => return crate::http::error(StatusCode::NOT_FOUND, error.to_string()),
    };
    if let Err(response) = save_and_audit(
        &shared,
        TOKENS_COLLECTION,
        &record.id,
        record.to_document(),
        AuditEntry::new(caller.actor(), AuditAction::TokenRevoked)
            .subject(format!("t-{}", record.id)),
    )
    .await
    {
        return response;
    }
    json(
        StatusCode::OK,
        &serde_json::json!({"id": record.id, "revoked": record.revoked}),
    )
}

async fn audit_verify(State(shared): State<Arc<Shared>>, caller: Caller) -> Response {
    let checked = tokio::task::spawn_blocking({
        let shared = Arc::clone(&shared);
        move || shared.audit.verify()
    })
    .await;
    let report = match checked {
        Ok(Ok(report)) => report,
        Ok(Err(reason)) => {
            eprintln!("seam serve: verifying the audit log failed: {reason}");
            return crate::http::error(StatusCode::INTERNAL_SERVER_ERROR, "could not verify");
        }
        Err(_) => return crate::http::error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    shared.audit.record(
        AuditEntry::new(caller.actor(), AuditAction::Other)
            .detail(serde_json::json!({"event": "audit verified", "intact": report.is_intact()})),
    );
    json(
        StatusCode::OK,
        &serde_json::json!({
            "intact": report.is_intact(),
            "records": report.records,
            "last_seq": report.last_seq,
            "checkpoints": report.checkpoints,
            "witnessed": report.witnessed,
            "unprotected_records": report.unprotected_records(),
            "problems": report.problems,
        }),
    )
}

async fn audit_export(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Query(params): Query<BTreeMap<String, String>>,
) -> Response {
    let bound = |name: &str| -> Result<Ts, String> {
        let text = params
            .get(name)
            .ok_or_else(|| format!("`{name}` is required"))?;
        crate::http::query_time(name, text)
    };
    let (from, to) = match (bound("from"), bound("to")) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(message), _) | (_, Err(message)) => {
            return crate::http::error(StatusCode::BAD_REQUEST, message);
        }
    };
    let exported = tokio::task::spawn_blocking({
        let shared = Arc::clone(&shared);
        move || shared.audit.export(from, to)
    })
    .await;
    let body = match exported {
        Ok(Ok(body)) => body,
        Ok(Err(reason)) => return crate::http::error(StatusCode::BAD_REQUEST, reason),
        Err(_) => return crate::http::error(StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    shared.audit.record(
        AuditEntry::new(caller.actor(), AuditAction::AuditExported)
            .detail(serde_json::json!({"from": from, "to": to})),
    );
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    response
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RevealBody {
    reason: String,
}

/// Reveals the person behind a pseudonym (or a person id) to the caller for a while.
async fn reveal(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    JsonBody(RevealBody { reason }): JsonBody<RevealBody>,
) -> Response {
    let Some(principal) = caller.principal.clone() else {
        return crate::http::error(StatusCode::UNAUTHORIZED, "credentials are required");
    };
    let reason = reason.trim().to_string();
    if reason.chars().count() < 10 || reason.chars().count() > 500 {
        return crate::http::error(
            StatusCode::BAD_REQUEST,
            "state the reason in 10 to 500 characters",
        );
    }
    let state = &shared.access;
    // A pseudonym or an id; either way, a person the caller's sites include.
    let estate = shared.current_estate();
    let person = estate
        .people()
        .iter()
        .find(|person| person.id == id || state.pseudonyms.is_of(&id, &person.id));
    let visible = person.filter(|person| {
        caller.site_scope.is_none()
            || person
                .home_site
                .is_some_and(|site| caller.sees_site(&estate.site(site).id))
    });
    let Some(person) = visible else {
        return crate::http::error(StatusCode::NOT_FOUND, "no such person");
    };
    let now = Ts(crate::now_ms());
    let until = Ts(now.millis().saturating_add(state.reveal_ms));
    if let Ok(mut reveals) = state.reveals.lock() {
        reveals.until.retain(|_, until| now < *until);
        reveals
            .until
            .insert((principal.actor(), person.id.clone()), until);
    }
    let pseudonym = state.pseudonym(&person.id);
    shared.audit.record(
        AuditEntry::new(principal.actor(), AuditAction::PersonRevealed)
            .subject(&pseudonym)
            .purpose(&reason)
            .detail(serde_json::json!({"until": until})),
    );
    json(
        StatusCode::OK,
        &serde_json::json!({
            "pseudonym": pseudonym,
            "id": person.id,
            "name": person.name,
            "until": until,
        }),
    )
}

/// The people a read showed, for its audit record.
#[derive(Debug, Default)]
pub(crate) struct PeopleRead {
    seen: BTreeSet<String>,
    more: usize,
}

impl PeopleRead {
    pub(crate) fn add(&mut self, pseudonym: String) {
        if self.seen.len() < MAX_AUDITED_PEOPLE || self.seen.contains(&pseudonym) {
            self.seen.insert(pseudonym);
        } else {
            self.more += 1;
        }
    }

    /// Records the read: whose data, by whom, and the stated purpose.
    pub(crate) fn record(
        self,
        shared: &Shared,
        caller: &Caller,
        what: &str,
        purpose: Option<&str>,
    ) {
        if self.seen.is_empty() {
            return;
        }
        let mut entry =
            AuditEntry::new(caller.actor(), AuditAction::PersonRead).detail(serde_json::json!({
                "what": what,
                "people": self.seen,
                "people_not_listed": self.more,
            }));
        if let Some(purpose) = purpose {
            entry = entry.purpose(purpose);
        }
        shared.audit.record(entry);
    }
}

/// The purpose a caller stated for a read, if any (at most 500 characters).
pub(crate) fn stated_purpose(headers: &HeaderMap) -> Option<String> {
    headers
        .get(PURPOSE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().chars().take(500).collect::<String>())
        .filter(|v| !v.is_empty())
}

/// How a finding is shown to a caller: only findings of the caller's sites, and people as
/// pseudonyms unless the caller sees names or revealed this one.
pub(crate) struct FindingView<'a> {
    shared: &'a Shared,
    caller: &'a Caller,
    estate: Arc<seam_estate::Estate>,
    now: Ts,
}

impl<'a> FindingView<'a> {
    pub(crate) fn new(shared: &'a Shared, caller: &'a Caller) -> FindingView<'a> {
        FindingView {
            shared,
            caller,
            estate: shared.current_estate(),
            now: Ts(crate::now_ms()),
        }
    }

    /// Nothing to change: names visible and every site.
    fn passes_through(&self) -> bool {
        self.caller.sees_names() && self.caller.site_scope.is_none()
    }

    /// The finding as the caller may see it, or `None` when it is another site's. `person`
    /// is the stored finding's person column.
    pub(crate) fn show(
        &self,
        json: &str,
        person: Option<&str>,
        read: &mut PeopleRead,
    ) -> Option<String> {
        if let Some(person) = person {
            read.add(self.shared.access.pseudonym(person));
        }
        if self.passes_through() {
            return Some(json.to_string());
        }
        let mut value: serde_json::Value = serde_json::from_str(json).ok()?;
        if self.caller.site_scope.is_some() {
            let sites = crate::placement::sites_of_json(&self.estate, &value);
            if !sites.iter().any(|site| self.caller.sees_site(site)) {
                return None;
            }
        }
        if let Some(person) = person {
            let revealed = self
                .caller
                .principal
                .as_ref()
                .is_some_and(|p| self.shared.access.revealed(p, person, self.now));
            if !self.caller.sees_names() && !revealed {
                // The name the finding itself carries first: a person provisioned since start
                // is in the engine's directory, not in the estate loaded then.
                let name = named_in(&value, person).or_else(|| {
                    self.estate
                        .person_idx(person)
                        .map(|index| self.estate.person(index).name.clone())
                });
                pseudonymize(
                    &mut value,
                    person,
                    name.as_deref(),
                    &self.shared.access.pseudonym(person),
                );
            }
        }
        Some(value.to_string())
    }
}

/// The name a finding gives the person `person` (in an evidence's `user`).
pub(crate) fn named_in(finding: &serde_json::Value, person: &str) -> Option<String> {
    finding
        .get("evidences")?
        .as_array()?
        .iter()
        .filter_map(|evidence| evidence.get("user"))
        .find(|user| user.get("uid").and_then(|u| u.as_str()) == Some(person))
        .and_then(|user| user.get("name")?.as_str().map(str::to_string))
}

/// Replaces a person's id and name by their pseudonym in a finding: any value that is the
/// id or the name, and whole-word mentions inside texts (the message, the description).
pub(crate) fn pseudonymize(
    value: &mut serde_json::Value,
    person: &str,
    name: Option<&str>,
    pseudonym: &str,
) {
    match value {
        serde_json::Value::String(text) => {
            if text == person || name.is_some_and(|n| n == text) {
                *text = pseudonym.to_string();
                return;
            }
            let mut replaced = replace_words(text, person, pseudonym);
            if let Some(name) = name.filter(|n| !n.is_empty()) {
                replaced = replace_words(&replaced, name, pseudonym);
            }
            *text = replaced;
        }
        serde_json::Value::Array(items) => {
            for item in items {
                pseudonymize(item, person, name, pseudonym);
            }
        }
        serde_json::Value::Object(map) => {
            for (_, item) in map.iter_mut() {
                pseudonymize(item, person, name, pseudonym);
            }
        }
        _ => {}
    }
}

/// `text` with every whole-word `word` replaced (a word's neighbours are not letters,
/// digits, `_` or `-`), so that the id `al` leaves `signal` alone.
fn replace_words(text: &str, word: &str, with: &str) -> String {
    if word.is_empty() || !text.contains(word) {
        return text.to_string();
    }
    let part_of_word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let (before, after) = rest.split_at(at);
        let tail = after.get(word.len()..).unwrap_or_default();
        let starts = !before.chars().next_back().is_some_and(part_of_word)
            && (!out.chars().next_back().is_some_and(part_of_word) || !before.is_empty());
        let ends = !tail.chars().next().is_some_and(part_of_word);
        out.push_str(before);
        out.push_str(if starts && ends { with } else { word });
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// Whether `name` is the session cookie (for tests of the edge).
#[cfg(test)]
pub(crate) fn is_session_cookie(name: &str) -> bool {
    name == seam_access::SESSION_COOKIE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonymize_replaces_id_and_name_everywhere() {
        let mut value = serde_json::json!({
            "message": "Ada Lovelace (p042) badged in at HQ",
            "evidences": [{"user": {"uid": "p042", "name": "Ada Lovelace"}, "data": {"person": "p042"}}],
            "unmapped": {"person_uid": "p042"},
        });
        assert_eq!(named_in(&value, "p042").as_deref(), Some("Ada Lovelace"));
        assert_eq!(named_in(&value, "p043"), None);
        pseudonymize(&mut value, "p042", Some("Ada Lovelace"), "p-0123456789");
        let text = value.to_string();
        assert!(!text.contains("p042") && !text.contains("Ada"), "{text}");
        assert_eq!(value["evidences"][0]["user"]["uid"], "p-0123456789");
        assert_eq!(
            replace_words("al signal al-x al.", "al", "P"),
            "P signal al-x P."
        );
        assert!(is_session_cookie("seam_session"));
    }

    #[test]
    fn the_pseudonym_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = pseudonym_key(dir.path()).unwrap();
        let second = pseudonym_key(dir.path()).unwrap();
        assert_eq!(first, second);
        std::fs::write(dir.path().join(PSEUDONYM_KEY_FILE), b"short").unwrap();
        assert!(
            pseudonym_key(dir.path())
                .unwrap_err()
                .contains("not a pseudonym key")
        );
    }
}
