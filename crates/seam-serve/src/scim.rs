//! SCIM 2.0 provisioning over HTTP (RFC 7644) at `/scim/v2` on the ingest listener: the
//! identity provider creates, replaces, patches and deletes Users and Groups here as in any
//! SaaS application, and each change to a user becomes a directory change in the event log.
//!
//! The protocol is `seam_directory::scim`'s (pure); this module authenticates (a bearer
//! token, compared in constant time), reads bodies within a limit, serializes the changes and
//! makes them durable. A mutation holds the provider's lock until its writes are queued to
//! the writer, so that the rows and the directory changes reach the log in the order the
//! provider made them; the answer waits until they are durable. The rows (SCIM resources as
//! provisioned) are documents in the store, written in the same commit as the directory
//! changes they explain, and loaded again at start.
//!
//! A change whose user the mapping cannot name (no value at `person_id`) is refused before
//! anything is applied, with `invalidValue`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use seam_directory::scim::provider::{Change, IfMatch, Provider, ProviderConfig, Write};
use seam_directory::scim::schema::ResourceKind;
use seam_directory::scim::{ListQuery, ScimError, ScimMapping};
use seam_model::{Activity, DirectoryDelta, Event, EventClass, Ts};
use serde_json::Value;

use crate::config::Secret;
use crate::ingest::{self, IngestError, Prepared};
use crate::server::Shared;
use crate::writer::Job;

/// The largest SCIM request body (a Group with every member fits many times over).
const MAX_BODY_BYTES: usize = 4 << 20;
/// Where the resources are kept in the store.
const USERS: &str = "scim-users";
const GROUPS: &str = "scim-groups";
const CONTENT_TYPE: &str = "application/scim+json";

/// The provider, its mapping and its credentials.
pub(crate) struct Scim {
    provider: tokio::sync::Mutex<Provider>,
    mapping: ScimMapping,
    token: Secret,
    /// The internal source its changes carry.
    source: usize,
    source_name: String,
    /// Orders changes made in one millisecond.
    sequence: AtomicU64,
    /// Random per process, mixed into new resource ids.
    id_key: std::collections::hash_map::RandomState,
}

impl std::fmt::Debug for Scim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scim")
            .field("source", &self.source_name)
            .finish_non_exhaustive()
    }
}

impl Scim {
    /// The provider with the resources the store keeps, its mapping checked against its
    /// schemas.
    pub(crate) fn new(
        settings: &crate::config::ScimSettings,
        base_url: String,
        source: usize,
        source_name: String,
        rows: Vec<Value>,
    ) -> Result<Scim, String> {
        let mut provider = Provider::new(ProviderConfig::new(base_url))
            .map_err(|e| format!("SCIM schemas: {e}"))?;
        provider
            .load(rows)
            .map_err(|e| format!("the stored SCIM resources: {}", e.detail()))?;
        let mapping = match &settings.mapping {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
                ScimMapping::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => ScimMapping::default(),
        };
        mapping
            .check(provider.schema_set())
            .map_err(|e| format!("the SCIM mapping: {e}"))?;
        Ok(Scim {
            provider: tokio::sync::Mutex::new(provider),
            mapping,
            token: settings.token.clone(),
            source,
            source_name,
            sequence: AtomicU64::new(0),
            id_key: std::collections::hash_map::RandomState::new(),
        })
    }

    /// A new resource id: 128 bits from the process's random key and a counter, in the
    /// UUID layout identity providers expect to see.
    fn new_id(&self) -> String {
        use std::hash::BuildHasher;
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        let high = self.id_key.hash_one((n, "high", crate::now_ms()));
        let low = self.id_key.hash_one((n, "low"));
        let hex = format!("{high:016x}{low:016x}");
        format!(
            "{}-{}-4{}-{}-{}",
            hex.get(0..8).unwrap_or_default(),
            hex.get(8..12).unwrap_or_default(),
            hex.get(13..16).unwrap_or_default(),
            hex.get(16..20).unwrap_or_default(),
            hex.get(20..32).unwrap_or_default()
        )
    }
}

/// The rows a store keeps for SCIM, to load at start.
pub(crate) fn stored_rows(store: &dyn seam_store::Store) -> Result<Vec<Value>, String> {
    let mut rows = Vec::new();
    for collection in [USERS, GROUPS] {
        for (id, json) in store.documents(collection).map_err(|e| e.to_string())? {
            rows.push(
                serde_json::from_str(&json)
                    .map_err(|e| format!("stored SCIM resource `{id}`: {e}"))?,
            );
        }
    }
    Ok(rows)
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/scim/v2/ServiceProviderConfig",
            get(service_provider_config),
        )
        .route("/scim/v2/ResourceTypes", get(resource_types))
        .route("/scim/v2/ResourceTypes/{name}", get(resource_type))
        .route("/scim/v2/Schemas", get(schemas))
        .route("/scim/v2/Schemas/{urn}", get(schema))
        .route("/scim/v2/{kind}", get(list).post(create))
        .route(
            "/scim/v2/{kind}/{id}",
            get(read)
                .put(replace)
                .patch(patch)
                .delete(delete)
                .post(search),
        )
        .with_state(shared)
}

fn scim_of(shared: &Shared) -> Option<&Scim> {
    shared.scim.as_deref()
}

/// A SCIM answer, counted.
fn answer(shared: &Shared, status: StatusCode, body: &Value, etag: Option<&str>) -> Response {
    shared.metrics.scim_requests.fetch_add(1, Ordering::Relaxed);
    if !status.is_success() {
        shared.metrics.scim_errors.fetch_add(1, Ordering::Relaxed);
    }
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Some(etag) = etag.and_then(|e| HeaderValue::from_str(e).ok()) {
        headers.insert(header::ETAG, etag);
    }
    response
}

fn failure(shared: &Shared, error: &ScimError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = answer(shared, status, &error.to_json(), None);
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"seam-scim\""),
        );
    }
    response
}

/// The provider, once the caller has shown the token.
fn authorized<'a>(shared: &'a Shared, headers: &HeaderMap) -> Result<&'a Scim, ScimError> {
    let Some(scim) = scim_of(shared) else {
        return Err(ScimError::not_found("SCIM provisioning is not configured"));
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    match presented {
        Some(token) if seam_adapters::secrets_match(token.as_bytes(), scim.token.expose()) => {
            Ok(scim)
        }
        // An API token whose roles include provisioning stands in for the SCIM token.
        Some(token)
            if shared
                .access
                .token_allows(token, seam_access::Permission::ProvisionDirectory) =>
        {
            Ok(scim)
        }
        _ => Err(ScimError::new(
            401,
            None,
            "a valid bearer token is required",
        )),
    }
}

fn kind_of(name: &str) -> Result<ResourceKind, ScimError> {
    match name {
        "Users" => Ok(ResourceKind::User),
        "Groups" => Ok(ResourceKind::Group),
        _ => Err(ScimError::not_found(format!(
            "no resource type at `/{}`",
            name.chars().take(64).collect::<String>()
        ))),
    }
}

fn query_params(raw: Option<&str>) -> Vec<(String, String)> {
    raw.unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding of one query component.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let hex = |at: usize| bytes.get(at).and_then(|b| char::from(*b).to_digit(16));
        match (byte, hex(index + 1), hex(index + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                index += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                index += 1;
            }
            _ => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `attributes`/`excludedAttributes` of a query string.
fn projection_lists(params: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    let split = |name: &str| -> Vec<String> {
        params
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(',').map(|s| s.trim().to_string()))
            .filter(|s| !s.is_empty())
            .collect()
    };
    (split("attributes"), split("excludedAttributes"))
}

async fn read_json(shared: &Shared, headers: &HeaderMap, body: Body) -> Result<Value, Response> {
    if let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if essence != CONTENT_TYPE && essence != "application/json" {
            return Err(failure(
                shared,
                &ScimError::new(
                    415,
                    None,
                    format!(
                        "content type `{}` is not read here; send application/scim+json",
                        essence.chars().take(80).collect::<String>()
                    ),
                ),
            ));
        }
    }
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return Err(failure(
                shared,
                &ScimError::new(
                    413,
                    None,
                    format!("the body is over the limit of {MAX_BODY_BYTES} bytes"),
                ),
            ));
        }
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        failure(
            shared,
            &ScimError::invalid_syntax(format!("the body is not JSON: {e}")),
        )
    })
}

fn if_match(headers: &HeaderMap) -> Option<IfMatch> {
    headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(IfMatch::parse)
}

// ------------------------------------------------------------------------------ discovery

/// A discovery document, once the caller has shown the token.
async fn discovery(
    shared: &Shared,
    headers: &HeaderMap,
    document: impl FnOnce(&Provider) -> Result<Value, ScimError>,
) -> Response {
    let scim = match authorized(shared, headers) {
        Ok(scim) => scim,
        Err(error) => return failure(shared, &error),
    };
    let found = document(&*scim.provider.lock().await);
    match found {
        Ok(body) => answer(shared, StatusCode::OK, &body, None),
        Err(error) => failure(shared, &error),
    }
}

async fn service_provider_config(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Response {
    discovery(&shared, &headers, |p| Ok(p.service_provider_config())).await
}

async fn resource_types(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    discovery(&shared, &headers, |p| Ok(p.resource_types())).await
}

async fn resource_type(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    discovery(&shared, &headers, |p| p.resource_type(&name)).await
}

async fn schemas(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    discovery(&shared, &headers, |p| Ok(p.schemas())).await
}

async fn schema(
    State(shared): State<Arc<Shared>>,
    Path(urn): Path<String>,
    headers: HeaderMap,
) -> Response {
    discovery(&shared, &headers, |p| p.schema(&urn)).await
}

// ------------------------------------------------------------------------------ reading

async fn list(
    State(shared): State<Arc<Shared>>,
    Path(kind): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let scim = match authorized(&shared, &headers) {
        Ok(scim) => scim,
        Err(error) => return failure(&shared, &error),
    };
    let kind = match kind_of(&kind) {
        Ok(kind) => kind,
        Err(error) => return failure(&shared, &error),
    };
    let params = query_params(query.as_deref());
    let query = match ListQuery::from_params(params.iter().map(|(n, v)| (n.as_str(), v.as_str()))) {
        Ok(query) => query,
        Err(error) => return failure(&shared, &error),
    };
    let listed = scim.provider.lock().await.list(kind, &query);
    match listed {
        Ok(body) => answer(&shared, StatusCode::OK, &body, None),
        Err(error) => failure(&shared, &error),
    }
}

/// `POST /Users/.search` (and `/Groups/.search`): the query in the body.
async fn search(
    State(shared): State<Arc<Shared>>,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let scim = match authorized(&shared, &headers) {
        Ok(scim) => scim,
        Err(error) => return failure(&shared, &error),
    };
    let kind = match kind_of(&kind) {
        Ok(kind) => kind,
        Err(error) => return failure(&shared, &error),
    };
    if id != ".search" {
        return failure(
            &shared,
            &ScimError::new(
                405,
                None,
                "POST goes to the resource type, or to `/.search`",
            ),
        );
    }
    let body = match read_json(&shared, &headers, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let query = match ListQuery::from_search_request(&body) {
        Ok(query) => query,
        Err(error) => return failure(&shared, &error),
    };
    let listed = scim.provider.lock().await.list(kind, &query);
    match listed {
        Ok(body) => answer(&shared, StatusCode::OK, &body, None),
        Err(error) => failure(&shared, &error),
    }
}

async fn read(
    State(shared): State<Arc<Shared>>,
    Path((kind, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let scim = match authorized(&shared, &headers) {
        Ok(scim) => scim,
        Err(error) => return failure(&shared, &error),
    };
    let kind = match kind_of(&kind) {
        Ok(kind) => kind,
        Err(error) => return failure(&shared, &error),
    };
    let params = query_params(query.as_deref());
    let (attributes, excluded) = projection_lists(&params);
    let provider = scim.provider.lock().await;
    let resource = match provider.get(kind, &id) {
        Ok(resource) => resource,
        Err(error) => return failure(&shared, &error),
    };
    let etag = seam_directory::scim::provider::etag_of(&resource);
    // RFC 7644 §3.14: a version the client already has is answered 304 without a body.
    if let (Some(etag), Some(none_match)) = (
        etag.as_deref(),
        headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .map(IfMatch::parse),
    ) && none_match.matches(etag)
    {
        shared.metrics.scim_requests.fetch_add(1, Ordering::Relaxed);
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(value) = HeaderValue::from_str(etag) {
            response.headers_mut().insert(header::ETAG, value);
        }
        return response;
    }
    let shown = provider
        .projection(kind, &attributes, &excluded)
        .apply(&resource);
    answer(&shared, StatusCode::OK, &shown, etag.as_deref())
}

// ------------------------------------------------------------------------------ writing

/// What a mutation asks of the provider.
enum Mutation {
    Create(Value),
    Replace(String, Value),
    Patch(String, Value),
    Delete(String),
}

async fn create(
    State(shared): State<Arc<Shared>>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if kind == ".search" {
        return search_everything(&shared, &headers, body).await;
    }
    mutate_with(&shared, &headers, &kind, body, Mutation::Create).await
}

/// `POST /.search` at the root: Users and Groups together (RFC 7644 §3.4.3), users first.
/// A filter that names what one type lacks matches nothing of that type.
async fn search_everything(shared: &Shared, headers: &HeaderMap, body: Body) -> Response {
    let scim = match authorized(shared, headers) {
        Ok(scim) => scim,
        Err(error) => return failure(shared, &error),
    };
    let body = match read_json(shared, headers, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let query = match ListQuery::from_search_request(&body) {
        Ok(query) => query,
        Err(error) => return failure(shared, &error),
    };
    let provider = scim.provider.lock().await;
    let max = provider.config().max_results;
    // Each type whole (up to the page limit), then one page over both.
    let whole = ListQuery {
        start_index: None,
        count: Some(i64::try_from(max).unwrap_or(i64::MAX)),
        ..query.clone()
    };
    let mut total = 0usize;
    let mut resources: Vec<Value> = Vec::new();
    let mut first_error = None;
    let mut answered = 0;
    for kind in [ResourceKind::User, ResourceKind::Group] {
        match provider.list(kind, &whole) {
            Ok(listed) => {
                answered += 1;
                total += listed
                    .get("totalResults")
                    .and_then(Value::as_u64)
                    .unwrap_or(0) as usize;
                if let Some(items) = listed.get("Resources").and_then(Value::as_array) {
                    resources.extend(items.iter().cloned());
                }
            }
            Err(error) => first_error = first_error.or(Some(error)),
        }
    }
    if answered == 0
        && let Some(error) = first_error
    {
        return failure(shared, &error);
    }
    let (start, count) = query.page(max);
    let page: Vec<Value> = resources
        .into_iter()
        .skip(start.saturating_sub(1))
        .take(count)
        .collect();
    let body = seam_directory::scim::list::list_response(total, start, page);
    answer(shared, StatusCode::OK, &body, None)
}

async fn replace(
    State(shared): State<Arc<Shared>>,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    mutate_with(&shared, &headers, &kind, body, |body| {
        Mutation::Replace(id, body)
    })
    .await
}

async fn patch(
    State(shared): State<Arc<Shared>>,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    mutate_with(&shared, &headers, &kind, body, |body| {
        Mutation::Patch(id, body)
    })
    .await
}

async fn delete(
    State(shared): State<Arc<Shared>>,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    mutate(&shared, &headers, &kind, Mutation::Delete(id)).await
}

/// Reads the JSON body, then [`mutate`].
async fn mutate_with(
    shared: &Shared,
    headers: &HeaderMap,
    kind: &str,
    body: Body,
    mutation: impl FnOnce(Value) -> Mutation,
) -> Response {
    match read_json(shared, headers, body).await {
        Ok(body) => mutate(shared, headers, kind, mutation(body)).await,
        Err(response) => response,
    }
}

/// Applies one mutation: checked (including the mapping, on a scratch provider), applied,
/// queued durable in order, then answered once durable.
async fn mutate(shared: &Shared, headers: &HeaderMap, kind: &str, mutation: Mutation) -> Response {
    let scim = match authorized(shared, headers) {
        Ok(scim) => scim,
        Err(error) => return failure(shared, &error),
    };
    let kind = match kind_of(kind) {
        Ok(kind) => kind,
        Err(error) => return failure(shared, &error),
    };
    if let Some(reason) = shared.not_ready() {
        return failure(shared, &ScimError::new(503, None, reason));
    }
    let if_match = if_match(headers);
    let now = Ts(crate::now_ms());
    let mut provider = scim.provider.lock().await;
    if kind == ResourceKind::User
        && let Err(error) = check_mapping(scim, &provider, &mutation, if_match.as_ref(), now)
    {
        return failure(shared, &error);
    }
    let (status, result) = match &mutation {
        Mutation::Create(body) => (
            StatusCode::CREATED,
            provider.create(kind, body, &scim.new_id(), now),
        ),
        Mutation::Replace(id, body) => (
            StatusCode::OK,
            provider.replace(kind, id, body, if_match.as_ref(), now),
        ),
        Mutation::Patch(id, body) => (
            StatusCode::OK,
            provider.patch(kind, id, body, if_match.as_ref(), now),
        ),
        Mutation::Delete(id) => (
            StatusCode::NO_CONTENT,
            provider.delete(kind, id, if_match.as_ref(), now),
        ),
    };
    let change = match result {
        Ok(change) => change,
        Err(error) => return failure(shared, &error),
    };
    let deltas = match provider.deltas(&scim.mapping, &change) {
        Ok(deltas) => deltas,
        // A user changed through a group whose person id the mapping cannot read (users are
        // checked before their own changes): the others still change.
        Err(_) => {
            let mut deltas: Vec<DirectoryDelta> = change
                .users_changed
                .iter()
                .filter_map(|id| provider.delta_for_user(&scim.mapping, id)?.ok())
                .collect();
            deltas.extend(change.users_deleted.iter().filter_map(|user| {
                seam_directory::scim::map_deleted_user(&scim.mapping, user).ok()
            }));
            deltas
        }
    };
    let people: Vec<String> = deltas.iter().map(|d| d.person.clone()).collect();
    let created_user = matches!(mutation, Mutation::Create(_)) && kind == ResourceKind::User;
    let prepared = prepared(scim, &change, deltas, now, created_user);
    let waiting = match queue_in_order(shared, prepared).await {
        Ok(waiting) => waiting,
        Err(error) => {
            // Applied in memory but not durable: what the store holds is the truth after a
            // restart; the identity provider retries on this answer.
            eprintln!("seam serve: a SCIM change could not be queued: {error}");
            return failure(shared, &ScimError::new(503, None, error.to_string()));
        }
    };
    drop(provider);
    if let Err(error) = waiting.wait().await {
        eprintln!("seam serve: a SCIM change could not be stored: {error}");
        return failure(
            shared,
            &ScimError::new(500, None, "the change could not be stored"),
        );
    }
    let method = match &mutation {
        Mutation::Create(_) => "POST",
        Mutation::Replace(..) => "PUT",
        Mutation::Patch(..) => "PATCH",
        Mutation::Delete(_) => "DELETE",
    };
    let mut entry = seam_audit::AuditEntry::new("scim", seam_audit::AuditAction::DirectoryChanged)
        .detail(serde_json::json!({
            "method": method,
            "resource": kind.name(),
            "id": change.id,
            "people": people.len(),
        }));
    if let [person] = people.as_slice() {
        entry = entry.subject(shared.access.pseudonym(person));
    }
    shared.audit.record(entry);
    match (status, &change.resource) {
        (StatusCode::NO_CONTENT, _) | (_, None) => {
            shared.metrics.scim_requests.fetch_add(1, Ordering::Relaxed);
            StatusCode::NO_CONTENT.into_response()
        }
        (status, Some(resource)) => {
            let mut response = answer(shared, status, resource, change.etag.as_deref());
            if status == StatusCode::CREATED
                && let Some(location) = resource
                    .get("meta")
                    .and_then(|m| m.get("location"))
                    .and_then(Value::as_str)
                    .and_then(|l| HeaderValue::from_str(l).ok())
            {
                response.headers_mut().insert(header::LOCATION, location);
            }
            response
        }
    }
}

/// Refuses a user change the mapping cannot turn into a directory change, before the real
/// provider is touched: the change is tried on a scratch provider holding only that user.
fn check_mapping(
    scim: &Scim,
    provider: &Provider,
    mutation: &Mutation,
    if_match: Option<&IfMatch>,
    now: Ts,
) -> Result<(), ScimError> {
    let mut scratch = Provider::new(provider.config().clone())
        .map_err(|e| ScimError::new(500, None, e.to_string()))?;
    let tried = match mutation {
        Mutation::Create(body) => scratch.create(ResourceKind::User, body, "scratch", now)?,
        Mutation::Replace(id, body) | Mutation::Patch(id, body) => {
            let Some(current) = provider.user(id) else {
                // The real call answers 404.
                return Ok(());
            };
            scratch.load(vec![current])?;
            match mutation {
                Mutation::Replace(..) => {
                    scratch.replace(ResourceKind::User, id, body, if_match, now)?
                }
                _ => scratch.patch(ResourceKind::User, id, body, if_match, now)?,
            }
        }
        Mutation::Delete(_) => return Ok(()),
    };
    if let Some(user) = &tried.resource {
        scim.mapping
            .person_id(user)
            .map_err(|e| ScimError::invalid_value(e.to_string()))?;
    }
    Ok(())
}

/// The writer's job for one change: the rows and the directory changes, one commit.
fn prepared(
    scim: &Scim,
    change: &Change,
    deltas: Vec<DirectoryDelta>,
    now: Ts,
    created_user: bool,
) -> Prepared {
    let documents: Vec<seam_store::DocumentWrite> = change
        .writes
        .iter()
        .map(|write| match write {
            Write::Put { kind, id, row } => seam_store::DocumentWrite {
                collection: collection(*kind).to_string(),
                id: id.clone(),
                json: Some(row.to_string()),
            },
            Write::Delete { kind, id } => seam_store::DocumentWrite {
                collection: collection(*kind).to_string(),
                id: id.clone(),
                json: None,
            },
        })
        .collect();
    let deleted: Vec<String> = change
        .users_deleted
        .iter()
        .filter_map(|user| scim.mapping.person_id(user).ok())
        .collect();
    let mut events = Vec::with_capacity(deltas.len());
    let mut jsons = Vec::with_capacity(deltas.len());
    for delta in deltas {
        let sequence = scim.sequence.fetch_add(1, Ordering::Relaxed);
        let activity = if deleted.contains(&delta.person) {
            Activity::PersonDeleted
        } else if delta.status.as_deref() == Some("suspended") {
            Activity::PersonDisabled
        } else if created_user {
            Activity::PersonCreated
        } else {
            Activity::PersonUpdated
        };
        // Time first, then a sequence that sorts as text: changes in one millisecond keep
        // the order the provider made them in.
        let uid = format!("scim-{:013}-{sequence:012}", now.millis());
        let mut event = Event::new(
            uid,
            now,
            scim.source_name.clone(),
            EventClass::Directory,
            activity,
        );
        event.observed = Some(now);
        event.directory = Some(Box::new(delta));
        if let Ok(json) = serde_json::to_string(&event) {
            jsons.push(json);
            events.push(event);
        }
    }
    Prepared {
        job: Job {
            events,
            jsons,
            dead_letters: Vec::new(),
            documents: documents.into_boxed_slice(),
            reply: None,
            source: scim.source,
        },
        skipped: 0,
        rejected: Vec::new(),
    }
}

fn collection(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => USERS,
        ResourceKind::Group => GROUPS,
    }
}

/// Queues the job, waiting a little while the writer's queue is full: the provider's lock is
/// held meanwhile, so that the log receives changes in the provider's order.
async fn queue_in_order(
    shared: &Shared,
    mut prepared: Prepared,
) -> Result<ingest::Waiting, IngestError> {
    for _ in 0..500 {
        match ingest::enqueue(shared, prepared) {
            Ok(waiting) => return Ok(waiting),
            Err((IngestError::Busy, back)) => {
                prepared = *back;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err((error, _)) => return Err(error),
        }
    }
    Err(IngestError::Busy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_components_are_decoded() {
        assert_eq!(
            percent_decode("userName%20eq%20%22bjensen%22"),
            "userName eq \"bjensen\""
        );
        assert_eq!(percent_decode("a+b%2"), "a b%2");
        let params = query_params(Some(
            "filter=userName+eq+%22x%22&count=10&attributes=userName,emails",
        ));
        assert_eq!(params.len(), 3);
        let (attributes, excluded) = projection_lists(&params);
        assert_eq!(attributes, ["userName", "emails"]);
        assert!(excluded.is_empty());
    }
}
