//! The HTTP edge: `POST /v1/ingest/{source}` (and Okta's verification GET), health, and the
//! read API (findings, their live stream, dead letters, metrics).
//!
//! Every refusal is a JSON body `{"error": "…"}` with a status that tells the sender what to do:
//! 401 (credentials missing or wrong), 403 (signature or freshness), 404 (no such source),
//! 413 (too large), 415 (not a type or encoding the source reads), 400 (nothing readable),
//! 503 with `Retry-After` (queues full, starting or stopping), 500 (the store failed; internals
//! stay in the service's log).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use seam_adapters::{
    ReplayError, check_replay, parse_timestamp_header, remember_once, secrets_match,
};
use seam_model::Ts;
use tokio::sync::broadcast::error::RecvError;

use crate::config::{Auth, HmacAuth, Signed, Transport};
use crate::ingest::{self, IngestError, SourceRuntime};
use crate::server::Shared;

/// Serves `router` on `listener` (in the clear or through TLS) until shutdown, with the
/// connection hygiene of [`crate::conn`]: caps that evict the longest-idle connection, idle,
/// header and handshake time-outs, and a bounded drain on shutdown.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    acceptor: crate::tls::Acceptor,
    router: Router,
    registry: Arc<crate::conn::Registry>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = crate::listen::stopped(shutdown.clone()) => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(_) => {
                // Out of descriptors and the like: wait rather than spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(ticket) = registry.admit(peer.ip()) else {
            drop(stream);
            continue;
        };
        // A server-sent finding or a short answer must not wait for the peer's delayed
        // acknowledgement (Nagle's algorithm holds a small write back up to 40 ms on Linux).
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let router = router.clone();
        let registry = Arc::clone(&registry);
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let limits = *registry.limits();
            let serving = async {
                // The handshake runs in the connection's own task: a slow client holds up no
                // one, and the idle time-out bounds it too.
                let Some(stream) = acceptor.accept(stream).await else {
                    return;
                };
                let io = hyper_util::rt::TokioIo::new(crate::conn::Tracked::new(
                    stream,
                    Arc::clone(&ticket.activity),
                ));
                // Each request carries its sender's address, for the sources' allowlists; while
                // it is handled, its connection is busy and never evicted.
                let activity = Arc::clone(&ticket.activity);
                let service = hyper::service::service_fn(
                    move |mut request: hyper::Request<hyper::body::Incoming>| {
                        request
                            .extensions_mut()
                            .insert(axum::extract::ConnectInfo(peer));
                        let mut router = router.clone();
                        let busy = activity.busy();
                        async move {
                            let response = tower_service::Service::call(
                                &mut router,
                                request.map(axum::body::Body::new),
                            )
                            .await;
                            drop(busy);
                            response
                        }
                    },
                );
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(limits.header_timeout)
                    .max_buf_size(64 * 1024)
                    .keep_alive(true);
                let connection = builder.serve_connection(io, service);
                tokio::pin!(connection);
                tokio::select! {
                    _ = connection.as_mut() => {}
                    _ = crate::listen::stopped(shutdown) => {
                        connection.as_mut().graceful_shutdown();
                        let _ = tokio::time::timeout(limits.drain, connection.as_mut()).await;
                    }
                }
            };
            crate::conn::supervise(&ticket, &registry, serving).await;
        });
        while connections.try_join_next().is_some() {}
    }
    // Stopping: connections finish what they are doing, within the drain.
    crate::conn::drain(connections, registry.limits()).await;
}

/// The sender's address, where the connection put it (every connection served here does).
struct Peer(Option<std::net::SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Peer, Infallible> {
        Ok(Peer(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0),
        ))
    }
}

/// Ingest and health: what may face the network.
pub(crate) fn ingest_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/ingest/{source}", post(ingest).get(verify))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(shared)
}

/// The read API: loopback only (the configuration refuses anything else). With `health`, it
/// answers `/healthz` and `/readyz` too (when it has a listener of its own).
pub(crate) fn api_router(shared: Arc<Shared>, health: bool) -> Router {
    let router = Router::new()
        .route("/v1/findings", get(findings))
        .route("/v1/findings/stream", get(stream))
        .route("/v1/dead-letters", get(dead_letters))
        .route("/metrics", get(metrics));
    let router = if health {
        router
            .route("/healthz", get(healthz))
            .route("/readyz", get(readyz))
    } else {
        router
    };
    let access = crate::access::router(Arc::clone(&shared));
    let oidc = crate::oidc::router(Arc::clone(&shared));
    let cases = crate::cases::router(Arc::clone(&shared));
    let people = crate::people::router(Arc::clone(&shared));
    router
        .with_state(shared)
        .merge(access)
        .merge(oidc)
        .merge(cases)
        .merge(people)
}

pub(crate) fn json_response(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

pub(crate) fn error(status: StatusCode, message: impl AsRef<str>) -> Response {
    let body = serde_json::json!({ "error": message.as_ref() }).to_string();
    let mut response = json_response(status, body);
    if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// A refusal, counted against the source.
fn refuse(
    shared: &Shared,
    source: &SourceRuntime,
    status: StatusCode,
    message: impl AsRef<str>,
) -> Response {
    if let Some(counters) = shared.metrics.source(&source.config.name) {
        let counter = match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => &counters.refused_auth,
            StatusCode::PAYLOAD_TOO_LARGE => &counters.refused_size,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => &counters.refused_type,
            _ => &counters.refused_busy,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
    error(status, message)
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Credentials that can be checked before the body is read (tokens and shared secrets).
fn check_credentials(
    source: &SourceRuntime,
    headers: &HeaderMap,
) -> Result<(), (StatusCode, String)> {
    match &source.config.auth {
        Auth::None | Auth::Hmac(_) => Ok(()),
        Auth::Bearer(token) => {
            let given = header_text(headers, "authorization")
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .ok_or((
                    StatusCode::UNAUTHORIZED,
                    "an `Authorization: Bearer <token>` header is required".to_string(),
                ))?;
            if secrets_match(token.expose(), given.trim().as_bytes()) {
                Ok(())
            } else {
                Err((StatusCode::UNAUTHORIZED, "the token is not valid".into()))
            }
        }
        Auth::Okta { header, secret } => {
            let given = header_text(headers, header).ok_or((
                StatusCode::UNAUTHORIZED,
                format!("the `{header}` header with the event hook's secret is required"),
            ))?;
            if secrets_match(secret.expose(), given.trim().as_bytes()) {
                Ok(())
            } else {
                Err((
                    StatusCode::UNAUTHORIZED,
                    format!("the `{header}` secret is not valid"),
                ))
            }
        }
    }
}

/// A signature over the body, and freshness when a timestamp header is configured.
fn check_signature(
    source: &SourceRuntime,
    auth: &HmacAuth,
    headers: &HeaderMap,
    body: &[u8],
    now: Ts,
) -> Result<(), (StatusCode, String)> {
    let signature = header_text(headers, &auth.header).ok_or((
        StatusCode::UNAUTHORIZED,
        format!("the `{}` signature header is required", auth.header),
    ))?;
    let timestamp = match &auth.timestamp_header {
        Some(name) => Some(header_text(headers, name).ok_or((
            StatusCode::UNAUTHORIZED,
            format!("the `{name}` timestamp header is required"),
        ))?),
        None => None,
    };
    let nonce = match &auth.nonce_header {
        Some(name) => Some(header_text(headers, name).ok_or((
            StatusCode::UNAUTHORIZED,
            format!("the `{name}` nonce header is required"),
        ))?),
        None => None,
    };
    let verified = match (auth.signed, timestamp, nonce) {
        (Signed::TimestampDotBody, Some(stamp), _) => {
            let mut message = Vec::with_capacity(stamp.len() + 1 + body.len());
            message.extend_from_slice(stamp.as_bytes());
            message.push(b'.');
            message.extend_from_slice(body);
            seam_adapters::verify_hmac_sha256(auth.secret.expose(), &message, signature)
        }
        (Signed::TimestampNonceBody, Some(stamp), Some(nonce)) => {
            let mut message = Vec::with_capacity(stamp.len() + nonce.len() + 2 + body.len());
            message.extend_from_slice(stamp.as_bytes());
            message.push(b'.');
            message.extend_from_slice(nonce.as_bytes());
            message.push(b'.');
            message.extend_from_slice(body);
            seam_adapters::verify_hmac_sha256(auth.secret.expose(), &message, signature)
        }
        _ => seam_adapters::verify_hmac_sha256(auth.secret.expose(), body, signature),
    };
    verified.map_err(|e| (StatusCode::FORBIDDEN, e.to_string()))?;
    let mut nonces = source.nonces.lock().map_err(|_| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error".to_string(),
        )
    })?;
    let replay_status = |e: ReplayError| {
        let status = match e {
            ReplayError::Full { .. } => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::FORBIDDEN,
        };
        (status, e.to_string())
    };
    let signature_key = format!("signature:{}", signature.trim());
    let Some(stamp) = timestamp else {
        // Nothing says when a body-only request was sent: its signature is remembered for a
        // day, so the same request is refused as a replay while it is remembered.
        return remember_once(now, &signature_key, BODY_ONLY_REPLAY_MS, &mut nonces)
            .map_err(replay_status);
    };
    let sent = parse_timestamp_header(stamp).ok_or((
        StatusCode::FORBIDDEN,
        format!(
            "the timestamp `{}` is not epoch seconds, milliseconds or RFC 3339",
            stamp.chars().take(40).collect::<String>()
        ),
    ))?;
    // The signature covers the timestamp: within the window, the same signature twice is a
    // replay, whatever nonce came with it (an unsigned nonce can be changed by anyone).
    check_replay(now, sent, &signature_key, auth.window_ms, &mut nonces).map_err(replay_status)?;
    if let Some(nonce) = nonce {
        check_replay(now, sent, nonce.trim(), auth.window_ms, &mut nonces)
            .map_err(replay_status)?;
    }
    Ok(())
}

/// How long a body-only signature is remembered against replays.
const BODY_ONLY_REPLAY_MS: i64 = 24 * 3_600_000;

/// Media types an ingest endpoint reads: JSON and NDJSON, CSV, plain text (syslog lines), or
/// bytes with no claim. Anything else (forms, XML, multipart) is refused with 415.
fn acceptable_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "" | "application/json"
            | "application/x-ndjson"
            | "application/ndjson"
            | "application/jsonl"
            | "application/json-seq"
            | "application/cloudevents+json"
            | "application/cloudevents-batch+json"
            | "text/plain"
            | "text/csv"
            | "application/csv"
            | "application/octet-stream"
    ) || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Holds part of an in-flight byte budget until dropped; it grows as a body's bytes arrive,
/// so a slow or stalled request holds what it sent, never the whole body limit.
struct Budget<'a> {
    pool: &'a std::sync::atomic::AtomicUsize,
    max: usize,
    bytes: usize,
}

impl<'a> Budget<'a> {
    fn new(pool: &'a std::sync::atomic::AtomicUsize, max: usize) -> Budget<'a> {
        Budget {
            pool,
            max,
            bytes: 0,
        }
    }

    /// Takes `bytes` more; false when the pool has no room for them.
    fn grow(&mut self, bytes: usize) -> bool {
        let mut current = self.pool.load(Ordering::Relaxed);
        loop {
            let Some(next) = current.checked_add(bytes) else {
                return false;
            };
            if next > self.max {
                return false;
            }
            match self.pool.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    self.bytes += bytes;
                    return true;
                }
                Err(actual) => current = actual,
            }
        }
    }
}

impl Drop for Budget<'_> {
    fn drop(&mut self) {
        self.pool.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// Why a request body was not read whole.
enum BodyError {
    TooLarge,
    /// The budget's pool is full: too many bodies in flight.
    Busy,
    /// It arrived slower than the minimum rate, or not within the body time-out.
    TooSlow,
    Broken,
}

/// Reads a request body frame by frame: at most `max` bytes, each taken from `budget` as it
/// arrives, within the body time-out and, after the grace period, at the minimum rate
/// counted from the start.
async fn read_body(
    body: Body,
    max: usize,
    budget: &mut Budget<'_>,
    limits: &crate::conn::ConnectionLimits,
) -> Result<Vec<u8>, BodyError> {
    use http_body_util::BodyExt;
    let started = tokio::time::Instant::now();
    let mut body = body;
    let mut received: Vec<u8> = Vec::new();
    loop {
        // By the time byte n+1 is due: the grace, plus what the minimum rate allows for n
        // bytes; never past the body time-out.
        let allowed = match limits.min_body_rate {
            0 => limits.body_timeout,
            rate => limits.body_grace.saturating_add(Duration::from_millis(
                (received.len() as u64).saturating_mul(1000) / rate,
            )),
        };
        let deadline = started + allowed.min(limits.body_timeout);
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(BodyError::TooSlow),
            Ok(None) => return Ok(received),
            Ok(Some(Err(_))) => return Err(BodyError::Broken),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        if received.len().saturating_add(data.len()) > max {
            return Err(BodyError::TooLarge);
        }
        if !budget.grow(data.len()) {
            return Err(BodyError::Busy);
        }
        received.extend_from_slice(&data);
    }
}

/// The HTTP source of that name, or why there is none (a 404's message).
fn http_source<'a>(shared: &'a Shared, name: &str) -> Result<&'a SourceRuntime, String> {
    let source = shared
        .source_index(name)
        .and_then(|index| shared.sources.get(index))
        .ok_or_else(|| {
            format!(
                "no source `{}` is configured",
                name.chars().take(64).collect::<String>()
            )
        })?;
    if source.config.transport != Transport::Http {
        return Err(format!("source `{name}` does not take HTTP input"));
    }
    Ok(source)
}

async fn ingest(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    Peer(peer): Peer,
    caller: crate::access::Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // An API token with the integration role stands in for the source's own credentials.
    let by_token = caller.principal.is_some();
    let source = match http_source(&shared, &name) {
        Ok(source) => source,
        Err(message) => return error(StatusCode::NOT_FOUND, message),
    };
    if let Some(peer) = peer
        && !crate::conn::allowed(&source.config.allow, peer.ip())
    {
        if let Some(counters) = shared.metrics.source(&source.config.name) {
            counters.refused_address.fetch_add(1, Ordering::Relaxed);
        }
        return error(
            StatusCode::FORBIDDEN,
            "this address may not send to this source",
        );
    }
    let Some(index) = shared.source_index(&name) else {
        return error(StatusCode::NOT_FOUND, "no such source");
    };
    if !by_token && let Err((status, message)) = check_credentials(source, &headers) {
        return refuse(&shared, source, status, message);
    }
    let max = shared.max_body_bytes;
    let declared =
        header_text(&headers, "content-length").and_then(|v| v.trim().parse::<usize>().ok());
    if let Some(length) = declared
        && length > max
    {
        return refuse(
            &shared,
            source,
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is {length} bytes, more than the limit of {max}"),
        );
    }
    if let Some(encoding) = header_text(&headers, "content-encoding")
        && !encoding.trim().eq_ignore_ascii_case("identity")
    {
        return refuse(
            &shared,
            source,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "content encoding `{}` is not supported; send the body uncompressed",
                encoding.chars().take(40).collect::<String>()
            ),
        );
    }
    if let Some(content_type) = headers.get(header::CONTENT_TYPE) {
        let text = content_type.to_str().unwrap_or("?");
        if !acceptable_type(text) {
            return refuse(
                &shared,
                source,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "content type `{}` is not read here; send JSON, NDJSON, CSV or text",
                    text.chars().take(80).collect::<String>()
                ),
            );
        }
    }
    if let Some(reason) = shared.not_ready() {
        return refuse(&shared, source, StatusCode::SERVICE_UNAVAILABLE, reason);
    }
    // A request whose signature covers its body cannot be verified before the body is read:
    // such bodies draw on a small pool of their own, so that senders without the secret can
    // never take the budget of those that proved themselves.
    let mut budget = if matches!(source.config.auth, Auth::Hmac(_)) {
        Budget::new(&shared.unverified_bytes, shared.limits.max_unverified_bytes)
    } else {
        Budget::new(&shared.inflight_bytes, shared.max_inflight_bytes)
    };
    let body = match read_body(body, max, &mut budget, &shared.limits).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return refuse(
                &shared,
                source,
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the body is more than the limit of {max} bytes"),
            );
        }
        Err(BodyError::Busy) => {
            return refuse(
                &shared,
                source,
                StatusCode::SERVICE_UNAVAILABLE,
                "too many request bodies in flight; retry shortly",
            );
        }
        Err(BodyError::TooSlow) => {
            if let Some(counters) = shared.metrics.source(&source.config.name) {
                counters.refused_slow.fetch_add(1, Ordering::Relaxed);
            }
            return error(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the body arrived too slowly (at least {} bytes a second after {} s, all within {} s)",
                    shared.limits.min_body_rate,
                    shared.limits.body_grace.as_secs(),
                    shared.limits.body_timeout.as_secs()
                ),
            );
        }
        Err(BodyError::Broken) => {
            return error(StatusCode::BAD_REQUEST, "the body could not be read");
        }
    };
    let now = Ts(crate::now_ms());
    if let Auth::Hmac(auth) = &source.config.auth
        && !by_token
        && let Err((status, message)) = check_signature(source, auth, &headers, &body, now)
    {
        return refuse(&shared, source, status, message);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return error(StatusCode::BAD_REQUEST, "the body is empty");
    }
    // A dead letter is named by its source, place and bytes: a sender retrying the same body
    // does not add the same letters again.
    let prepared = match ingest::prepare(&shared, index, &body, None, "http", now) {
        Ok(prepared) => prepared,
        Err(e) => return ingest_error(&shared, source, e),
    };
    drop(body);
    match ingest::submit(&shared, prepared).await {
        Ok(report) => {
            let status = if report.accepted + report.skipped == 0 && !report.rejected.is_empty() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            json_response(status, serde_json::to_string(&report).unwrap_or_default())
        }
        Err(e) => ingest_error(&shared, source, e),
    }
}

fn ingest_error(shared: &Shared, source: &SourceRuntime, e: IngestError) -> Response {
    match e {
        IngestError::Busy | IngestError::Closed => refuse(
            shared,
            source,
            StatusCode::SERVICE_UNAVAILABLE,
            e.to_string(),
        ),
        IngestError::TooLarge { .. } => {
            refuse(shared, source, StatusCode::PAYLOAD_TOO_LARGE, e.to_string())
        }
        IngestError::Store(reason) => {
            eprintln!(
                "seam serve: ingest for `{}` failed: {reason}",
                source.config.name
            );
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the events could not be stored; nothing was acknowledged",
            )
        }
    }
}

/// Okta's one-time event hook verification.
async fn verify(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    caller: crate::access::Caller,
    headers: HeaderMap,
) -> Response {
    let by_token = caller.principal.is_some();
    let source = match http_source(&shared, &name) {
        Ok(source) => source,
        Err(message) => return error(StatusCode::NOT_FOUND, message),
    };
    if !matches!(source.config.auth, Auth::Okta { .. }) {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("source `{name}` takes POST; only Okta event hooks are verified with GET"),
        );
    }
    if !by_token && let Err((status, message)) = check_credentials(source, &headers) {
        return refuse(&shared, source, status, message);
    }
    let Some(challenge) = header_text(&headers, "x-okta-verification-challenge") else {
        return error(
            StatusCode::BAD_REQUEST,
            "the `X-Okta-Verification-Challenge` header is missing",
        );
    };
    match seam_adapters::okta_verification_response(challenge) {
        Ok(body) => json_response(StatusCode::OK, body),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn healthz() -> Response {
    json_response(StatusCode::OK, "{\"status\":\"ok\"}".into())
}

/// `GET /readyz`: 200 while the service can take input, `degraded` when some source cannot
/// (each named with its reason); `?source=NAME` asks about one source (503 when it cannot).
async fn readyz(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let mut troubled = serde_json::Map::new();
    for source in &shared.sources {
        if let Some(reason) = shared.source_trouble(source) {
            troubled.insert(source.config.name.clone(), reason.into());
        }
    }
    let asked = query.get("source").map(String::as_str);
    if let Some(name) = asked
        && shared.source_index(name).is_none()
    {
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "no source `{}` is configured",
                name.chars().take(64).collect::<String>()
            ),
        );
    }
    let reason = shared
        .not_ready()
        .or_else(|| asked.and_then(|name| troubled.get(name).and_then(|r| r.as_str())));
    match reason {
        None => {
            let status = if troubled.is_empty() {
                "ready"
            } else {
                "degraded"
            };
            let body = if troubled.is_empty() {
                serde_json::json!({ "status": status })
            } else {
                serde_json::json!({ "status": status, "sources": troubled })
            };
            json_response(StatusCode::OK, body.to_string())
        }
        Some(reason) => {
            let mut response = json_response(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({ "status": "not ready", "reason": reason, "sources": troubled })
                    .to_string(),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let mut text = shared.metrics.render(crate::now_ms());
    render_connections(&shared, &mut text);
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// Every TCP listener's connections: open now, and closed by a cap or a time-out.
fn render_connections(shared: &Shared, out: &mut String) {
    use std::fmt::Write;
    let Ok(registries) = shared.registries.lock() else {
        return;
    };
    let _ = writeln!(
        out,
        "# HELP seam_connections_open Connections open now, per listener.\n# TYPE seam_connections_open gauge"
    );
    for (name, registry) in registries.iter() {
        let _ = writeln!(
            out,
            "seam_connections_open{{listener=\"{name}\"}} {}",
            registry.open_connections()
        );
    }
    let _ = writeln!(
        out,
        "# HELP seam_connections_closed_total Connections closed by Seam, per listener and reason.\n# TYPE seam_connections_closed_total counter"
    );
    for (name, registry) in registries.iter() {
        for (reason, value) in [
            ("evicted", &registry.evicted),
            ("refused", &registry.refused),
            ("idle", &registry.timed_out),
        ] {
            let _ = writeln!(
                out,
                "seam_connections_closed_total{{listener=\"{name}\",reason=\"{reason}\"}} {}",
                value.load(Ordering::Relaxed)
            );
        }
    }
}

/// The most findings one request returns.
const MAX_LIMIT: usize = 10_000;

/// A time in a query: RFC 3339 or epoch milliseconds.
pub(crate) fn query_time(name: &str, text: &str) -> Result<Ts, String> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return text
            .parse::<i64>()
            .map(Ts)
            .map_err(|_| format!("`{name}`: `{text}` is not epoch milliseconds"));
    }
    Ts::parse(text)
        .map_err(|_| format!("`{name}`: `{text}` is not an RFC 3339 time or epoch milliseconds"))
}

async fn findings(
    State(shared): State<Arc<Shared>>,
    caller: crate::access::Caller,
    headers: HeaderMap,
    Query(params): Query<BTreeMap<String, String>>,
) -> Response {
    crate::cases::list_findings(shared, caller, headers, params).await
}

async fn dead_letters(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<BTreeMap<String, String>>,
) -> Response {
    let mut limit = 100;
    for (name, value) in &params {
        match name.as_str() {
            "limit" => match value.parse::<usize>() {
                Ok(n) => limit = n.min(MAX_LIMIT),
                Err(_) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!("`limit`: `{value}` is not a number"),
                    );
                }
            },
            _ => return error(StatusCode::BAD_REQUEST, "unknown parameter; known: limit"),
        }
    }
    let store = Arc::clone(&shared.store);
    let listed = tokio::task::spawn_blocking(move || {
        let store = store
            .lock()
            .map_err(|_| "the store lock is poisoned".to_string())?;
        store
            .dead_letters(limit)
            .map_err(|e| crate::writer::error_text(&e))
    })
    .await;
    match listed {
        Ok(Ok(letters)) => {
            let items: Vec<serde_json::Value> = letters
                .iter()
                .map(|letter| {
                    serde_json::json!({
                        "source": letter.source,
                        "position": letter.position,
                        "observed": letter.observed,
                        "reason": letter.reason,
                        "raw": String::from_utf8_lossy(&letter.raw),
                    })
                })
                .collect();
            json_response(
                StatusCode::OK,
                serde_json::json!({ "count": items.len(), "dead_letters": items }).to_string(),
            )
        }
        _ => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the dead letters could not be read",
        ),
    }
}

struct StreamState {
    rx: tokio::sync::broadcast::Receiver<Arc<crate::engine_thread::StreamFinding>>,
    shutdown: tokio::sync::watch::Receiver<bool>,
    rule: Option<String>,
    person: Option<String>,
    shared: Arc<Shared>,
    caller: crate::access::Caller,
    purpose: Option<String>,
    /// The people the stream showed, recorded in the audit log when it ends.
    read: crate::access::PeopleRead,
}

impl Drop for StreamState {
    fn drop(&mut self) {
        std::mem::take(&mut self.read).record(
            &self.shared,
            &self.caller,
            "findings stream",
            self.purpose.as_deref(),
        );
        self.shared
            .metrics
            .stream_clients
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// Findings as server-sent events (`event: finding`, `id:` the finding's uid, `data:` the
/// OCSF JSON), as the engine makes them. A client too slow to keep up gets `event: lagged`
/// with how many it missed; ids are stable, so a client that reconnects can dedupe.
async fn stream(
    State(shared): State<Arc<Shared>>,
    caller: crate::access::Caller,
    headers: HeaderMap,
    Query(params): Query<BTreeMap<String, String>>,
) -> Response {
    let purpose = crate::access::stated_purpose(&headers);
    let mut rule = None;
    let mut person = None;
    for (name, value) in params {
        match name.as_str() {
            "rule" => rule = Some(value),
            "person" => person = Some(value),
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "unknown parameter; known: rule, person",
                );
            }
        }
    }
    shared
        .metrics
        .stream_clients
        .fetch_add(1, Ordering::Relaxed);
    let person = person.map(|p| shared.access.person_of(&shared.current_estate(), &p));
    let state = StreamState {
        rx: shared.stream.subscribe(),
        shutdown: shared.shutdown.clone(),
        rule,
        person,
        shared: Arc::clone(&shared),
        caller,
        purpose,
        read: crate::access::PeopleRead::default(),
    };
    let events =
        futures_util::stream::unfold(state, |mut state| async move {
            loop {
                if *state.shutdown.borrow() {
                    return None;
                }
                let received = tokio::select! {
                    _ = state.shutdown.changed() => return None,
                    received = state.rx.recv() => received,
                };
                match received {
                    Ok(finding) => {
                        if state.rule.as_ref().is_some_and(|r| *r != finding.rule)
                            || state
                                .person
                                .as_ref()
                                .is_some_and(|p| finding.person.as_ref() != Some(p))
                        {
                            continue;
                        }
                        let shown = crate::access::FindingView::new(&state.shared, &state.caller)
                            .show(&finding.json, finding.person.as_deref(), &mut state.read);
                        let Some(shown) = shown else { continue };
                        let event = SseEvent::default()
                            .id(finding.uid.as_str())
                            .event("finding")
                            .data(shown);
                        return Some((Ok::<SseEvent, Infallible>(event), state));
                    }
                    Err(RecvError::Lagged(missed)) => {
                        state
                            .shared
                            .metrics
                            .stream_lagged
                            .fetch_add(missed, Ordering::Relaxed);
                        let event = SseEvent::default()
                            .event("lagged")
                            .data(format!("{{\"missed\":{missed}}}"));
                        return Some((Ok(event), state));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/X-NDJSON",
            "text/plain",
            "text/csv",
            "application/vnd.okta+json",
            "",
        ] {
            assert!(acceptable_type(ok), "{ok}");
        }
        for bad in [
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/xml",
            "image/png",
        ] {
            assert!(!acceptable_type(bad), "{bad}");
        }
    }
}
