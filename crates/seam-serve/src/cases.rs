//! Triage and cases over HTTP: findings with their lifecycle, alerts, suppressions, shared
//! cases with tasks, evidence, timelines, link views and signed export bundles. The rules are
//! `seam-cases`'; the store's workspace keeps the state; this module checks who may do what
//! (sites, names), records every change and every read of people in the audit log, and turns
//! refusals into status codes: 404 unknown, 409 stale or illegal, 400 bad input.

// A handler's refusal is the response it sends: the error side is a `Response` throughout.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use seam_audit::{AuditAction, AuditEntry};
use seam_cases::case::{CaseDraft, Links};
use seam_cases::suppression::SuppressionRequest;
use seam_cases::{Case, CaseChange, Procedures, TriageAction, TriageStatus};
use seam_store::StoreError;
use seam_store::evidence::{EvidenceError, EvidenceStore};
use seam_store::workspace::{
    AlertQuery, CaseQuery, Cursor, CustodyEntry, FindingQuery, SuppressedFilter, TriagedFinding,
    WorkspaceSettings,
};

use crate::access::{Caller, JsonBody, PeopleRead};
use crate::http::{error, json_response};
use crate::server::Shared;

/// `[cases]`: grouping, response procedures, evidence.
#[derive(Debug, Clone)]
pub struct CasesSettings {
    /// Findings of one person, zone or asset this close together (minutes) make one alert.
    pub grouping_minutes: u32,
    /// The case types; the shipped ones unless the configuration names a file.
    pub procedures: Procedures,
    /// The largest piece of evidence taken, in bytes.
    pub max_evidence_bytes: u64,
}

impl Default for CasesSettings {
    fn default() -> Self {
        CasesSettings {
            grouping_minutes: 30,
            procedures: Procedures::default(),
            max_evidence_bytes: 256 << 20,
        }
    }
}

/// The file holding the seed of the key export bundles are signed with.
pub const EXPORT_KEY_FILE: &str = "case-export.key";

/// The key export bundles are signed with, made (randomly, readable by the owner only) the
/// first time. Its public half is in every bundle; an auditor pins it once.
pub fn export_key(data_dir: &Path) -> Result<ed25519_dalek::SigningKey, String> {
    let path = data_dir.join(EXPORT_KEY_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => <[u8; 32]>::try_from(bytes.as_slice())
            .map(|seed| ed25519_dalek::SigningKey::from_bytes(&seed))
            .map_err(|_| format!("{}: not an export key", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)
                .map_err(|e| format!("{}: {e}", data_dir.display()))?;
            let mut seed = [0u8; 32];
            seam_access::Random::fill(&mut seam_access::OsRandom, &mut seed)
                .map_err(|e| format!("making the export key: {e}"))?;
            let temporary = data_dir.join(format!("{EXPORT_KEY_FILE}.new"));
            crate::access::write_private(&temporary, &seed)
                .and_then(|()| std::fs::rename(&temporary, &path))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(ed25519_dalek::SigningKey::from_bytes(&seed))
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// What the case routes hold beyond the store.
pub(crate) struct CasesState {
    pub settings: CasesSettings,
    evidence: EvidenceStore,
    signing: ed25519_dalek::SigningKey,
}

impl std::fmt::Debug for CasesState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CasesState")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl CasesState {
    pub(crate) fn evidence(&self) -> &EvidenceStore {
        &self.evidence
    }

    pub(crate) fn open(data_dir: &Path, settings: &CasesSettings) -> Result<CasesState, String> {
        let evidence =
            EvidenceStore::open(&data_dir.join("evidence")).map_err(|e| e.to_string())?;
        Ok(CasesState {
            settings: settings.clone(),
            evidence,
            signing: export_key(data_dir)?,
        })
    }

    /// How the store groups and places new findings.
    pub(crate) fn workspace_settings(&self, estate: Arc<seam_estate::Estate>) -> WorkspaceSettings {
        WorkspaceSettings {
            grouping: seam_cases::Grouping::new(i64::from(self.settings.grouping_minutes) * 60_000)
                .unwrap_or_default(),
            site_of: Some(Arc::new(move |facts: &seam_cases::FindingFacts| {
                crate::placement::site_of(&estate, facts)
            })),
        }
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/findings/{uid}", get(finding))
        .route("/v1/findings/{uid}/triage", post(triage_one))
        .route("/v1/findings/{uid}/detach", post(detach))
        .route("/v1/triage", post(triage_many))
        .route("/v1/alerts", get(alerts))
        .route("/v1/alerts/{id}", get(alert))
        .route("/v1/alerts/{id}/split", post(split_alert))
        .route("/v1/suppressions", get(suppressions).post(add_suppression))
        .route(
            "/v1/suppressions/{id}",
            axum::routing::delete(end_suppression),
        )
        .route("/v1/cases", get(list_cases).post(create_case))
        .route("/v1/cases/{id}", get(read_case_handler).patch(change_case))
        .route("/v1/cases/{id}/merge", post(merge_case))
        .route("/v1/cases/{id}/split", post(split_case))
        .route("/v1/cases/{id}/evidence", post(upload))
        .route("/v1/cases/{id}/evidence/{sha256}", get(download))
        .route("/v1/cases/{id}/timeline", get(timeline))
        .route("/v1/cases/{id}/links", get(links))
        .route("/v1/cases/{id}/export", get(export))
        .route("/v1/reports", get(report))
        .with_state(shared)
}

// ───── the store, off the async threads ─────

/// A store error as the caller sees it.
fn store_refusal(failure: &StoreError) -> Response {
    match failure {
        StoreError::NotFound { what } => {
            error_json(StatusCode::NOT_FOUND, format!("{what} not found"))
        }
        StoreError::Conflict { reason } => error_json(StatusCode::CONFLICT, reason),
        StoreError::Refused { reason } => error_json(StatusCode::CONFLICT, reason),
        StoreError::InvalidRequest { reason } => error_json(StatusCode::BAD_REQUEST, reason),
        other => {
            eprintln!(
                "seam serve: the workspace failed: {}",
                crate::writer::error_text(other)
            );
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the workspace could not be read or written",
            )
        }
    }
}

fn error_json(status: StatusCode, message: impl AsRef<str>) -> Response {
    error(status, message)
}

/// Runs `work` on the store on a blocking thread; a write commits before it answers.
async fn on_store<T: Send + 'static>(
    shared: &Arc<Shared>,
    write: bool,
    work: impl FnOnce(&mut dyn crate::store::ServiceStore) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, Response> {
    let store = Arc::clone(&shared.store);
    let done = tokio::task::spawn_blocking(move || {
        let mut store = store.lock().map_err(|_| StoreError::Refused {
            reason: "the store lock is poisoned".into(),
        })?;
        let value = work(store.as_mut())?;
        if write {
            store.commit()?;
        }
        Ok::<T, StoreError>(value)
    })
    .await;
    match done {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(store_refusal(&e)),
        Err(_) => Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the workspace task failed",
        )),
    }
}

fn bad_request(message: impl AsRef<str>) -> Response {
    error(StatusCode::BAD_REQUEST, message)
}

fn ok(value: &serde_json::Value) -> Response {
    json_response(StatusCode::OK, value.to_string())
}

fn audit(shared: &Shared, caller: &Caller, action: AuditAction, detail: serde_json::Value) {
    shared
        .audit
        .record(AuditEntry::new(caller.actor(), action).detail(detail));
}

// ───── how people appear ─────

/// Shows a JSON value to the caller: every person of `people` under their pseudonym unless
/// the caller sees names or revealed them; each is counted as read.
fn show_people(
    shared: &Shared,
    caller: &Caller,
    value: &mut serde_json::Value,
    people: &BTreeSet<String>,
    read: &mut PeopleRead,
) {
    let estate = shared.current_estate();
    let now = seam_model::Ts(crate::now_ms());
    for person in people {
        let pseudonym = shared.access.pseudonym(person);
        read.add(pseudonym.clone());
        let revealed = caller
            .principal
            .as_ref()
            .is_some_and(|p| shared.access.revealed(p, person, now));
        if caller.sees_names() || revealed {
            continue;
        }
        let name = estate
            .person_idx(person)
            .map(|index| estate.person(index).name.clone());
        crate::access::pseudonymize(value, person, name.as_deref(), &pseudonym);
    }
}

/// A person named in a request: an id, or a pseudonym the caller was shown.
fn person_named(shared: &Shared, named: &str) -> String {
    shared.access.person_of(&shared.current_estate(), named)
}

// ───── findings ─────

fn triage_json(finding: &TriagedFinding) -> serde_json::Value {
    serde_json::json!({
        "status": finding.triage.status,
        "version": finding.triage.version,
        "disposition": finding.triage.disposition,
        "assignee": finding.triage.assignee,
        "team": finding.triage.team,
        "acknowledged_at": finding.triage.acknowledged_at,
        "acknowledged_by": finding.triage.acknowledged_by,
        "closed_at": finding.triage.closed_at,
        "closed_by": finding.triage.closed_by,
        "alert": finding.alert,
        "site": finding.site,
        "suppressed_by": finding.suppressed_by,
        "stored_at": finding.stored_at,
    })
}

/// A finding as the caller may see it, with its triage, or `None` when it is another site's.
fn finding_view(
    shared: &Shared,
    caller: &Caller,
    finding: &TriagedFinding,
    read: &mut PeopleRead,
) -> Option<serde_json::Value> {
    if !in_scope(caller, finding.site.as_deref()) {
        return None;
    }
    let view = crate::access::FindingView::new(shared, caller);
    let shown = view.show(&finding.json, finding.person.as_deref(), read)?;
    let mut value: serde_json::Value = serde_json::from_str(&shown).ok()?;
    if let Some(object) = value.as_object_mut() {
        object.insert("triage".into(), triage_json(finding));
    }
    Some(value)
}

/// The most findings one list returns.
const MAX_LIMIT: usize = 1_000;

/// Reads `/v1/findings`' parameters.
pub(crate) fn finding_query(
    params: &BTreeMap<String, String>,
    scope: Option<&[String]>,
    person_named: &dyn Fn(&str) -> String,
) -> Result<FindingQuery, String> {
    let mut query = FindingQuery {
        limit: 100,
        sites: scope.map(<[String]>::to_vec),
        ..FindingQuery::default()
    };
    let text = |value: &String| -> Result<Option<String>, String> {
        seam_cases::check_id("a filter", value)?;
        Ok(Some(value.clone()))
    };
    for (name, value) in params {
        match name.as_str() {
            "rule" => query.rule = text(value)?,
            "person" => query.person = Some(person_named(value)),
            "zone" => query.zone = text(value)?,
            "asset" => query.asset = text(value)?,
            "alert" => query.alert = text(value)?,
            "assignee" => query.assignee = text(value)?,
            "site" => {
                if scope.is_some_and(|sites| !sites.contains(value)) {
                    return Err(format!("site `{value}` is not one of yours"));
                }
                query.sites = Some(vec![value.clone()]);
            }
            "team" => query.team = Some(seam_cases::Team::parse(value)?),
            "status" => query.status = Some(TriageStatus::parse(value)?),
            "severity" => {
                let id = match value.to_ascii_lowercase().as_str() {
                    "informational" | "info" | "1" => 1,
                    "low" | "2" => 2,
                    "medium" | "3" => 3,
                    "high" | "4" => 4,
                    "critical" | "5" => 5,
                    _ => {
                        return Err(format!(
                            "`severity`: `{value}` is not one of low, medium, high, critical"
                        ));
                    }
                };
                query.min_severity = Some(id);
            }
            "suppressed" => {
                query.suppressed = match value.as_str() {
                    "false" | "hide" => SuppressedFilter::Hide,
                    "true" | "only" => SuppressedFilter::Only,
                    "any" | "include" => SuppressedFilter::Include,
                    _ => return Err("`suppressed`: one of false, true, any".into()),
                }
            }
            "since" => query.since = Some(crate::http::query_time(name, value)?),
            "until" => query.until = Some(crate::http::query_time(name, value)?),
            "q" => {
                if value.len() > 200 {
                    return Err("`q` is longer than 200 bytes".into());
                }
                query.text = Some(value.clone()).filter(|q| !q.trim().is_empty());
            }
            "cursor" => query.after = Some(Cursor::decode(value)?),
            "limit" => {
                query.limit = value
                    .parse::<usize>()
                    .map_err(|_| format!("`limit`: `{value}` is not a number"))?
                    .min(MAX_LIMIT);
            }
            other => {
                return Err(format!(
                    "unknown parameter `{}`; known: rule, severity, status, site, zone, person, \
                     asset, alert, assignee, team, suppressed, since, until, q, cursor, limit",
                    other.chars().take(40).collect::<String>()
                ));
            }
        }
    }
    Ok(query)
}

/// `GET /v1/findings`: findings with their triage, newest first, a page at a time.
pub(crate) async fn list_findings(
    shared: Arc<Shared>,
    caller: Caller,
    headers: HeaderMap,
    params: BTreeMap<String, String>,
) -> Response {
    let query = match finding_query(&params, caller.site_scope.as_deref(), &|named| {
        person_named(&shared, named)
    }) {
        Ok(query) => query,
        Err(message) => return bad_request(message),
    };
    let purpose = crate::access::stated_purpose(&headers);
    if query.person.is_some() && !caller.open && purpose.is_none() {
        return bad_request(format!(
            "a read about one person needs a stated purpose: send it in `{}`",
            crate::access::PURPOSE_HEADER
        ));
    }
    let page = match on_store(&shared, false, move |store| store.list_findings(&query)).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    let mut read = PeopleRead::default();
    let shown: Vec<serde_json::Value> = page
        .findings
        .iter()
        .filter_map(|f| finding_view(&shared, &caller, f, &mut read))
        .collect();
    read.record(&shared, &caller, "findings", purpose.as_deref());
    ok(&serde_json::json!({
        "count": shown.len(),
        "findings": shown,
        "next": page.next.map(|c| c.encode()),
    }))
}

/// Whether the caller's sites include `site` (every caller sees what a site-wide caller
/// does; a finding of no site is seen by callers of every site only).
fn in_scope(caller: &Caller, site: Option<&str>) -> bool {
    caller
        .site_scope
        .as_ref()
        .is_none_or(|scope| site.is_some_and(|s| scope.iter().any(|mine| mine == s)))
}

async fn read_triaged(
    shared: &Arc<Shared>,
    caller: &Caller,
    uid: String,
) -> Result<TriagedFinding, Response> {
    let found = on_store(shared, false, move |store| store.triaged(&uid)).await?;
    match found {
        Some(found) if in_scope(caller, found.site.as_deref()) => Ok(found),
        // Another site's finding is as absent as one that does not exist.
        _ => Err(error(StatusCode::NOT_FOUND, "no such finding")),
    }
}

/// `GET /v1/findings/{uid}`: one finding, its triage log (comments included), its alert and
/// the cases it is in.
async fn finding(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    headers: HeaderMap,
    UrlPath(uid): UrlPath<String>,
) -> Response {
    let found = match read_triaged(&shared, &caller, uid.clone()).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (log, cases) = match on_store(&shared, false, move |store| {
        let log = store.triage_log(&uid)?;
        let cases = store.list_cases(&CaseQuery {
            finding: Some(uid),
            limit: 100,
            ..CaseQuery::default()
        })?;
        Ok((log, cases))
    })
    .await
    {
        Ok(read) => read,
        Err(response) => return response,
    };
    let mut read = PeopleRead::default();
    let Some(mut value) = finding_view(&shared, &caller, &found, &mut read) else {
        return error(StatusCode::NOT_FOUND, "no such finding");
    };
    let log: Vec<serde_json::Value> = log
        .iter()
        .map(|entry| serde_json::json!({"at": entry.at, "by": entry.actor, "action": entry.action}))
        .collect();
    let mut log = serde_json::Value::Array(log);
    if let Some(person) = &found.person {
        show_people(
            &shared,
            &caller,
            &mut log,
            &BTreeSet::from([person.clone()]),
            &mut PeopleRead::default(),
        );
    }
    if let Some(object) = value.as_object_mut() {
        object.insert("triage_log".into(), log);
        object.insert(
            "cases".into(),
            cases.iter().map(|c| serde_json::json!(c.id)).collect(),
        );
    }
    read.record(
        &shared,
        &caller,
        "finding",
        crate::access::stated_purpose(&headers).as_deref(),
    );
    ok(&value)
}

#[derive(serde::Deserialize)]
struct TriageBody {
    /// The version the caller saw; a stale one is refused (409).
    #[serde(default)]
    version: Option<u64>,
    #[serde(flatten)]
    action: TriageAction,
}

/// Names a pseudonymous assignee by its user: assignees are users of Seam, not people of the
/// directory, so nothing to resolve; kept as sent after checking.
async fn apply_triage(
    shared: &Arc<Shared>,
    caller: &Caller,
    uid: String,
    action: TriageAction,
    version: Option<u64>,
) -> Result<serde_json::Value, Response> {
    // Site scope: the caller must see the finding.
    read_triaged(shared, caller, uid.clone()).await?;
    let actor = caller.actor();
    let at = crate::now_ms();
    let logged = action.clone();
    let moved = uid.clone();
    let state = on_store(shared, true, move |store| {
        store.triage(&moved, &action, &actor, at, version)
    })
    .await?;
    audit(
        shared,
        caller,
        AuditAction::FindingChanged,
        serde_json::json!({"finding": uid, "action": logged.name(), "status": state.status,
                           "version": state.version}),
    );
    Ok(serde_json::json!({"uid": uid, "triage": state}))
}

/// `POST /v1/findings/{uid}/triage`: acknowledge, start, close, reopen, assign, comment.
async fn triage_one(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    UrlPath(uid): UrlPath<String>,
    JsonBody(body): JsonBody<TriageBody>,
) -> Response {
    match apply_triage(&shared, &caller, uid, body.action, body.version).await {
        Ok(value) => ok(&value),
        Err(response) => response,
    }
}

#[derive(serde::Deserialize)]
struct BulkBody {
    uids: Vec<String>,
    #[serde(flatten)]
    action: TriageAction,
}

/// `POST /v1/triage`: one act on many findings; each is answered on its own (one refusal does
/// not undo the others).
async fn triage_many(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    JsonBody(body): JsonBody<BulkBody>,
) -> Response {
    if body.uids.is_empty() || body.uids.len() > seam_store::workspace::MAX_BULK {
        return bad_request(format!(
            "name 1 to {} findings",
            seam_store::workspace::MAX_BULK
        ));
    }
    let mut results = Vec::with_capacity(body.uids.len());
    let mut done = 0usize;
    for uid in body.uids {
        match apply_triage(&shared, &caller, uid.clone(), body.action.clone(), None).await {
            Ok(value) => {
                done += 1;
                results.push(value);
            }
            Err(response) => {
                let status = response.status().as_u16();
                results.push(serde_json::json!({"uid": uid, "refused": status}));
            }
        }
    }
    ok(&serde_json::json!({"done": done, "results": results}))
}

/// `POST /v1/findings/{uid}/detach`: out of its alert, into one of its own.
async fn detach(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    UrlPath(uid): UrlPath<String>,
) -> Response {
    if let Err(response) = read_triaged(&shared, &caller, uid.clone()).await {
        return response;
    }
    let moved = uid.clone();
    match on_store(&shared, true, move |store| store.detach_finding(&moved)).await {
        Ok(alert) => {
            audit(
                &shared,
                &caller,
                AuditAction::FindingChanged,
                serde_json::json!({"finding": uid, "action": "detach", "alert": alert}),
            );
            ok(&serde_json::json!({"uid": uid, "alert": alert}))
        }
        Err(response) => response,
    }
}

// ───── alerts ─────

fn alert_json(alert: &seam_store::workspace::Alert) -> serde_json::Value {
    let statuses: BTreeMap<&str, u64> = alert
        .statuses
        .iter()
        .map(|(s, n)| (s.as_str(), *n))
        .collect();
    serde_json::json!({
        "id": alert.id,
        "key_kind": alert.key.split(':').next().unwrap_or_default(),
        "first": alert.first,
        "last": alert.last,
        "site": alert.site,
        "count": alert.count,
        "severity_id": alert.severity_id,
        "statuses": statuses,
    })
}

/// `GET /v1/alerts`: grouped findings, most recent first.
async fn alerts(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Query(params): Query<BTreeMap<String, String>>,
) -> Response {
    let mut query = AlertQuery {
        sites: caller.site_scope.clone(),
        limit: 100,
        ..AlertQuery::default()
    };
    for (name, value) in &params {
        let parsed = match name.as_str() {
            "since" => crate::http::query_time(name, value).map(|t| query.since = Some(t)),
            "until" => crate::http::query_time(name, value).map(|t| query.until = Some(t)),
            "open" => {
                query.open_only = value == "true";
                Ok(())
            }
            "limit" => value
                .parse::<usize>()
                .map(|n| query.limit = n.min(MAX_LIMIT))
                .map_err(|_| format!("`limit`: `{value}` is not a number")),
            other => Err(format!(
                "unknown parameter `{}`; known: since, until, open, limit",
                other.chars().take(40).collect::<String>()
            )),
        };
        if let Err(message) = parsed {
            return bad_request(message);
        }
    }
    match on_store(&shared, false, move |store| store.list_alerts(&query)).await {
        Ok(alerts) => ok(&serde_json::json!({
            "count": alerts.len(),
            "alerts": alerts.iter().map(alert_json).collect::<Vec<_>>(),
        })),
        Err(response) => response,
    }
}

async fn read_alert(
    shared: &Arc<Shared>,
    caller: &Caller,
    id: String,
) -> Result<seam_store::workspace::Alert, Response> {
    let found = on_store(shared, false, move |store| store.alert(&id)).await?;
    match found {
        Some(alert) if in_scope(caller, alert.site.as_deref()) => Ok(alert),
        _ => Err(error(StatusCode::NOT_FOUND, "no such alert")),
    }
}

/// `GET /v1/alerts/{id}`: the alert and its findings.
async fn alert(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let alert = match read_alert(&shared, &caller, id.clone()).await {
        Ok(alert) => alert,
        Err(response) => return response,
    };
    let query = FindingQuery {
        alert: Some(id),
        suppressed: SuppressedFilter::Include,
        limit: MAX_LIMIT,
        ..FindingQuery::default()
    };
    let page = match on_store(&shared, false, move |store| store.list_findings(&query)).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    let mut read = PeopleRead::default();
    let findings: Vec<serde_json::Value> = page
        .findings
        .iter()
        .filter_map(|f| finding_view(&shared, &caller, f, &mut read))
        .collect();
    read.record(
        &shared,
        &caller,
        "alert",
        crate::access::stated_purpose(&headers).as_deref(),
    );
    let mut value = alert_json(&alert);
    if let Some(object) = value.as_object_mut() {
        object.insert("findings".into(), findings.into());
    }
    ok(&value)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SplitAlertBody {
    uids: Vec<String>,
}

/// `POST /v1/alerts/{id}/split`: these findings into an alert of their own.
async fn split_alert(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    JsonBody(body): JsonBody<SplitAlertBody>,
) -> Response {
    if let Err(response) = read_alert(&shared, &caller, id.clone()).await {
        return response;
    }
    let from = id.clone();
    let uids = body.uids.clone();
    match on_store(&shared, true, move |store| store.split_alert(&from, &uids)).await {
        Ok(new) => {
            audit(
                &shared,
                &caller,
                AuditAction::FindingChanged,
                serde_json::json!({"alert": id, "action": "split", "into": new,
                                   "findings": body.uids}),
            );
            ok(&serde_json::json!({"alert": id, "split": new}))
        }
        Err(response) => response,
    }
}

// ───── suppressions ─────

fn suppression_json(
    record: &seam_store::workspace::SuppressionRecord,
    now: i64,
) -> serde_json::Value {
    let mut value = serde_json::to_value(&record.suppression).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "active".into(),
            (record.ended_at.is_none() && record.suppression.active(now)).into(),
        );
        object.insert("ended_at".into(), record.ended_at.into());
        object.insert("ended_by".into(), record.ended_by.clone().into());
        object.insert("matched".into(), record.matched.into());
    }
    value
}

/// A site-limited caller may only touch suppressions of one of their sites.
fn may_touch(caller: &Caller, suppression: &seam_cases::Suppression) -> bool {
    caller.site_scope.is_none()
        || suppression
            .site
            .as_ref()
            .is_some_and(|site| caller.sees_site(site))
}

/// `GET /v1/suppressions`: every suppression, ended ones too, with what each matched.
async fn suppressions(State(shared): State<Arc<Shared>>, caller: Caller) -> Response {
    let now = crate::now_ms();
    match on_store(&shared, false, |store| store.suppressions()).await {
        Ok(records) => {
            let mut listed: Vec<serde_json::Value> = records
                .iter()
                .filter(|r| may_touch(&caller, &r.suppression))
                .map(|r| suppression_json(r, now))
                .collect();
            let people: BTreeSet<String> = records
                .iter()
                .filter_map(|r| r.suppression.person.clone())
                .collect();
            let mut value = serde_json::Value::Array(std::mem::take(&mut listed));
            let mut read = PeopleRead::default();
            show_people(&shared, &caller, &mut value, &people, &mut read);
            read.record(&shared, &caller, "suppressions", None);
            ok(&serde_json::json!({"suppressions": value}))
        }
        Err(response) => response,
    }
}

/// `POST /v1/suppressions`: silence matching findings until the expiry, with a reason.
async fn add_suppression(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    JsonBody(mut request): JsonBody<SuppressionRequest>,
) -> Response {
    if let Some(person) = &request.person {
        request.person = Some(person_named(&shared, person));
    }
    let now = crate::now_ms();
    // Random: two suppressions made in one millisecond must not collide.
    let mut random = [0u8; 8];
    if seam_access::Random::fill(&mut seam_access::OsRandom, &mut random).is_err() {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no randomness for an id; try again",
        );
    }
    let id = format!("sup-{:016x}", u64::from_le_bytes(random));
    let suppression = match request.into_suppression(id, &caller.actor(), now) {
        Ok(suppression) => suppression,
        Err(message) => return bad_request(message),
    };
    if !may_touch(&caller, &suppression) {
        return error(
            StatusCode::FORBIDDEN,
            "name one of your sites: a suppression of a site-limited caller is limited to it",
        );
    }
    let kept = suppression.clone();
    match on_store(&shared, true, move |store| store.add_suppression(&kept)).await {
        Ok(()) => {
            audit(
                &shared,
                &caller,
                AuditAction::SuppressionChanged,
                serde_json::json!({
                    "suppression": suppression.id,
                    "action": "add",
                    "rule": suppression.rule,
                    "person": suppression.person.as_ref().map(|p| shared.access.pseudonym(p)),
                    "zone": suppression.zone,
                    "asset": suppression.asset,
                    "site": suppression.site,
                    "reason": suppression.reason,
                    "expires_at": suppression.expires_at,
                }),
            );
            (
                StatusCode::CREATED,
                [(header::CONTENT_TYPE, "application/json")],
                serde_json::json!({"id": suppression.id}).to_string(),
            )
                .into_response()
        }
        Err(response) => response,
    }
}

/// `DELETE /v1/suppressions/{id}`: end it now (it stays listed).
async fn end_suppression(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let listed = match on_store(&shared, false, |store| store.suppressions()).await {
        Ok(listed) => listed,
        Err(response) => return response,
    };
    let Some(found) = listed.iter().find(|r| r.suppression.id == id) else {
        return error(StatusCode::NOT_FOUND, "no such suppression");
    };
    if !may_touch(&caller, &found.suppression) {
        return error(StatusCode::NOT_FOUND, "no such suppression");
    }
    let actor = caller.actor();
    let ended = id.clone();
    match on_store(&shared, true, move |store| {
        store.end_suppression(&ended, &actor, crate::now_ms())
    })
    .await
    {
        Ok(true) => {
            audit(
                &shared,
                &caller,
                AuditAction::SuppressionChanged,
                serde_json::json!({"suppression": id, "action": "end"}),
            );
            ok(&serde_json::json!({"id": id, "ended": true}))
        }
        Ok(false) => error(StatusCode::CONFLICT, "the suppression had ended already"),
        Err(response) => response,
    }
}

// ───── cases ─────

/// Whether the caller may see a case: one of its sites is theirs (a case of no site is seen
/// by callers of every site only).
fn sees_case(caller: &Caller, case: &Case) -> bool {
    match &caller.site_scope {
        None => true,
        Some(scope) => case.sites.iter().any(|s| scope.contains(s)),
    }
}

async fn read_case(shared: &Arc<Shared>, caller: &Caller, id: String) -> Result<Case, Response> {
    let found = on_store(shared, false, move |store| store.case(&id)).await?;
    match found {
        Some(case) if sees_case(caller, &case) => Ok(case),
        _ => Err(error(StatusCode::NOT_FOUND, "no such case")),
    }
}

/// A case as the caller may see it, its people under pseudonyms as their role requires.
fn case_view(
    shared: &Shared,
    caller: &Caller,
    case: &Case,
    read: &mut PeopleRead,
) -> serde_json::Value {
    let mut value = serde_json::to_value(case).unwrap_or_default();
    if let Some(kind) = case
        .kind
        .as_ref()
        .and_then(|k| shared.cases.settings.procedures.get(k))
        && let Some(object) = value.as_object_mut()
    {
        object.insert(
            "targets".into(),
            serde_json::json!({
                "acknowledge_by": case.created_at + i64::from(kind.acknowledge_minutes) * 60_000,
                "close_by": case.created_at + i64::from(kind.close_hours) * 3_600_000,
            }),
        );
    }
    show_people(shared, caller, &mut value, &case.links.people, read);
    value
}

/// The sites, people and event-time span a case's findings give it, and the home sites of
/// its people and the sites of its zones.
async fn place_case(shared: &Arc<Shared>, case: &mut Case) -> Result<(), Response> {
    let unplaced = case.clone();
    let placed = on_store(shared, false, move |store| {
        let mut case = unplaced;
        seam_store::workspace::place_case(store.as_workspace(), &mut case)?;
        Ok(case)
    })
    .await?;
    *case = placed;
    let estate = shared.current_estate();
    for person in &case.links.people {
        if let Some(home) = estate
            .person_idx(person)
            .and_then(|p| estate.person(p).home_site)
        {
            case.sites.insert(estate.site(home).id.clone());
        }
    }
    for zone in &case.links.zones {
        if let Some(z) = estate.zone_idx(zone) {
            case.sites
                .insert(estate.site(estate.zone(z).site).id.clone());
        }
    }
    Ok(())
}

/// A site-limited caller's case must stay within their sites.
fn within_scope(caller: &Caller, case: &Case) -> Result<(), Response> {
    if let Some(scope) = &caller.site_scope
        && (case.sites.is_empty() || case.sites.iter().any(|s| !scope.contains(s)))
    {
        return Err(error(
            StatusCode::FORBIDDEN,
            "the case would reach a site that is not yours",
        ));
    }
    Ok(())
}

/// Links as sent, with people named by pseudonym resolved.
fn resolve_links(shared: &Shared, mut links: Links) -> Links {
    links.people = links
        .people
        .iter()
        .map(|p| person_named(shared, p))
        .collect();
    links
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseBody {
    title: String,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    severity: Option<seam_cases::CaseSeverity>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    links: Links,
    /// Alerts whose findings the case takes.
    #[serde(default)]
    alerts: Vec<String>,
}

/// `POST /v1/cases`: open a case from findings, alerts, or by hand. Without a type, the first
/// finding whose rule a procedure names picks it; the type's tasks come with it.
async fn create_case(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    JsonBody(body): JsonBody<CaseBody>,
) -> Response {
    let mut links = resolve_links(&shared, body.links);
    for alert in body.alerts.iter().take(100) {
        if let Err(response) = read_alert(&shared, &caller, alert.clone()).await {
            return response;
        }
        let query = FindingQuery {
            alert: Some(alert.clone()),
            suppressed: SuppressedFilter::Include,
            limit: MAX_LIMIT,
            ..FindingQuery::default()
        };
        match on_store(&shared, false, move |store| store.list_findings(&query)).await {
            Ok(page) => links
                .findings
                .extend(page.findings.into_iter().map(|f| f.uid)),
            Err(response) => return response,
        }
    }
    let procedures = shared.cases.settings.procedures.clone();
    let named = body.kind.clone();
    let findings = links.findings.clone();
    let kind = match on_store(&shared, false, move |store| {
        seam_store::workspace::case_type_for(
            store.as_workspace(),
            &procedures,
            named.as_deref(),
            &findings,
        )
    })
    .await
    {
        Ok(kind) => kind,
        Err(response) => return response,
    };
    let now = crate::now_ms();
    let draft = CaseDraft {
        title: body.title,
        kind: kind.as_ref().map(|k| k.id.clone()),
        severity: body.severity,
        owner: body.owner,
        links,
    };
    let tasks = kind.as_ref().map(|k| k.tasks(now)).unwrap_or_default();
    // Checked and placed before an id is spent on it.
    let mut probe = match Case::open(
        "C-0".into(),
        draft.clone(),
        tasks.clone(),
        &caller.actor(),
        now,
    ) {
        Ok(case) => case,
        Err(e) => return bad_request(e.to_string()),
    };
    if let Err(response) = place_case(&shared, &mut probe).await {
        return response;
    }
    if let Err(response) = within_scope(&caller, &probe) {
        return response;
    }
    let actor = caller.actor();
    let created = on_store(&shared, true, move |store| {
        store.create_case(&mut |id| {
            let mut case = Case::open(id, draft.clone(), tasks.clone(), &actor, now)?;
            case.sites = probe.sites.clone();
            case.links = probe.links.clone();
            case.span = probe.span;
            if case.severity == seam_cases::CaseSeverity::Medium && draft.severity.is_none() {
                case.severity = probe.severity;
            }
            Ok(case)
        })
    })
    .await;
    match created {
        Ok(case) => {
            audit(
                &shared,
                &caller,
                AuditAction::CaseChanged,
                serde_json::json!({"case": case.id, "action": "open", "kind": case.kind,
                                   "findings": case.links.findings.len()}),
            );
            let mut read = PeopleRead::default();
            let view = case_view(&shared, &caller, &case, &mut read);
            (
                StatusCode::CREATED,
                [(header::CONTENT_TYPE, "application/json")],
                view.to_string(),
            )
                .into_response()
        }
        Err(response) => response,
    }
}

/// `GET /v1/cases`.
async fn list_cases(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    headers: HeaderMap,
    Query(params): Query<BTreeMap<String, String>>,
) -> Response {
    let mut query = CaseQuery {
        sites: caller.site_scope.clone(),
        limit: 100,
        ..CaseQuery::default()
    };
    for (name, value) in &params {
        let parsed: Result<(), String> = match name.as_str() {
            "status" => seam_cases::CaseStatus::parse(value).map(|s| query.status = Some(s)),
            "owner" => {
                query.owner = Some(value.clone());
                Ok(())
            }
            "kind" => {
                query.kind = Some(value.clone());
                Ok(())
            }
            "finding" => {
                query.finding = Some(value.clone());
                Ok(())
            }
            "person" => {
                query.person = Some(person_named(&shared, value));
                Ok(())
            }
            "limit" => value
                .parse::<usize>()
                .map(|n| query.limit = n.min(MAX_LIMIT))
                .map_err(|_| format!("`limit`: `{value}` is not a number")),
            other => Err(format!(
                "unknown parameter `{}`; known: status, owner, kind, finding, person, limit",
                other.chars().take(40).collect::<String>()
            )),
        };
        if let Err(message) = parsed {
            return bad_request(message);
        }
    }
    let purpose = crate::access::stated_purpose(&headers);
    if query.person.is_some() && !caller.open && purpose.is_none() {
        return bad_request(format!(
            "a read about one person needs a stated purpose: send it in `{}`",
            crate::access::PURPOSE_HEADER
        ));
    }
    match on_store(&shared, false, move |store| store.list_cases(&query)).await {
        Ok(cases) => {
            let mut read = PeopleRead::default();
            let shown: Vec<serde_json::Value> = cases
                .iter()
                .filter(|c| sees_case(&caller, c))
                .map(|c| case_view(&shared, &caller, c, &mut read))
                .collect();
            read.record(&shared, &caller, "cases", purpose.as_deref());
            ok(&serde_json::json!({"count": shown.len(), "cases": shown}))
        }
        Err(response) => response,
    }
}

/// `GET /v1/cases/{id}`: the case and its chain of custody.
async fn read_case_route(
    shared: Arc<Shared>,
    caller: Caller,
    headers: HeaderMap,
    id: String,
) -> Response {
    let case = match read_case(&shared, &caller, id.clone()).await {
        Ok(case) => case,
        Err(response) => return response,
    };
    let custody = match on_store(&shared, false, move |store| store.custody(&id)).await {
        Ok(custody) => custody,
        Err(response) => return response,
    };
    let mut read = PeopleRead::default();
    let mut value = case_view(&shared, &caller, &case, &mut read);
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "custody".into(),
            custody
                .iter()
                .map(|c| {
                    serde_json::json!({"sha256": c.sha256, "at": c.at, "by": c.actor,
                                            "action": c.action})
                })
                .collect(),
        );
    }
    read.record(
        &shared,
        &caller,
        "case",
        crate::access::stated_purpose(&headers).as_deref(),
    );
    ok(&value)
}

async fn read_case_handler(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Response {
    read_case_route(shared, caller, headers, id).await
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    /// The version the caller saw: required, so that two analysts never overwrite each other.
    version: u64,
    changes: Vec<CaseChange>,
}

/// Saves one case after `change`, answering with it (or the refusal).
async fn save_changed(
    shared: &Arc<Shared>,
    caller: &Caller,
    before: &Case,
    mut after: Case,
    detail: serde_json::Value,
) -> Response {
    if let Err(response) = place_case(shared, &mut after).await {
        return response;
    }
    if after.sites != before.sites
        && let Err(response) = within_scope(caller, &after)
    {
        return response;
    }
    // Everything done in one request is one version step.
    after.version = before.version + 1;
    let saved = after.clone();
    match on_store(shared, true, move |store| store.save_cases(&[saved])).await {
        Ok(()) => {
            audit(shared, caller, AuditAction::CaseChanged, detail);
            let mut read = PeopleRead::default();
            ok(&case_view(shared, caller, &after, &mut read))
        }
        Err(response) => response,
    }
}

/// `PATCH /v1/cases/{id}`: changes at a version (title, severity, owner, status, links,
/// notes, tasks).
async fn change_case(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    JsonBody(body): JsonBody<ChangeBody>,
) -> Response {
    if body.changes.is_empty() || body.changes.len() > 100 {
        return bad_request("send 1 to 100 changes");
    }
    let case = match read_case(&shared, &caller, id.clone()).await {
        Ok(case) => case,
        Err(response) => return response,
    };
    if let Err(e) = case.expect(Some(body.version)) {
        return error(StatusCode::CONFLICT, e.to_string());
    }
    let now = crate::now_ms();
    let actor = caller.actor();
    let mut after = case.clone();
    let mut names = Vec::new();
    for change in body.changes {
        let change = match change {
            CaseChange::Link { links } => CaseChange::Link {
                links: resolve_links(&shared, links),
            },
            CaseChange::Unlink { links } => CaseChange::Unlink {
                links: resolve_links(&shared, links),
            },
            other => other,
        };
        names.push(change_name(&change));
        after = match after.apply(&change, &actor, now) {
            Ok(next) => next,
            Err(seam_cases::CaseError::Invalid { reason }) => return bad_request(reason),
            Err(seam_cases::CaseError::NoSuchTask { task }) => {
                return error(StatusCode::NOT_FOUND, format!("no task {task} in the case"));
            }
            Err(e) => return error(StatusCode::CONFLICT, e.to_string()),
        };
    }
    save_changed(
        &shared,
        &caller,
        &case,
        after,
        serde_json::json!({"case": id, "action": "change", "changes": names}),
    )
    .await
}

fn change_name(change: &CaseChange) -> &'static str {
    match change {
        CaseChange::Title { .. } => "title",
        CaseChange::Severity { .. } => "severity",
        CaseChange::Owner { .. } => "owner",
        CaseChange::Status { .. } => "status",
        CaseChange::Link { .. } => "link",
        CaseChange::Unlink { .. } => "unlink",
        CaseChange::Note { .. } => "note",
        CaseChange::AddTask { .. } => "add_task",
        CaseChange::CompleteTask { .. } => "complete_task",
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MergeBody {
    /// The case merged into this one.
    source: String,
    version: u64,
    source_version: u64,
}

/// `POST /v1/cases/{id}/merge`: another case into this one; both saved or neither.
async fn merge_case(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    JsonBody(body): JsonBody<MergeBody>,
) -> Response {
    if body.source == id {
        return error(StatusCode::CONFLICT, "a case cannot be merged with itself");
    }
    let target = match read_case(&shared, &caller, id.clone()).await {
        Ok(case) => case,
        Err(response) => return response,
    };
    let source = match read_case(&shared, &caller, body.source.clone()).await {
        Ok(case) => case,
        Err(response) => return response,
    };
    if let Err(e) = target
        .expect(Some(body.version))
        .and_then(|()| source.expect(Some(body.source_version)))
    {
        return error(StatusCode::CONFLICT, e.to_string());
    }
    let (merged, closed) = match target.merge(&source, &caller.actor(), crate::now_ms()) {
        Ok(pair) => pair,
        Err(e) => return error(StatusCode::CONFLICT, e.to_string()),
    };
    let saved = [merged.clone(), closed];
    match on_store(&shared, true, move |store| store.save_cases(&saved)).await {
        Ok(()) => {
            audit(
                &shared,
                &caller,
                AuditAction::CaseChanged,
                serde_json::json!({"case": id, "action": "merge", "source": body.source}),
            );
            let mut read = PeopleRead::default();
            ok(&case_view(&shared, &caller, &merged, &mut read))
        }
        Err(response) => response,
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SplitCaseBody {
    version: u64,
    title: String,
    links: Links,
}

/// `POST /v1/cases/{id}/split`: these links into a new case.
async fn split_case(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    JsonBody(body): JsonBody<SplitCaseBody>,
) -> Response {
    let case = match read_case(&shared, &caller, id.clone()).await {
        Ok(case) => case,
        Err(response) => return response,
    };
    if let Err(e) = case.expect(Some(body.version)) {
        return error(StatusCode::CONFLICT, e.to_string());
    }
    let links = resolve_links(&shared, body.links);
    let new_id = match on_store(&shared, true, |store| store.next_case_id()).await {
        Ok(new_id) => new_id,
        Err(response) => return response,
    };
    let (rest, split) =
        match case.split(new_id, body.title, &links, &caller.actor(), crate::now_ms()) {
            Ok(pair) => pair,
            Err(seam_cases::CaseError::Invalid { reason }) => return bad_request(reason),
            Err(e) => return error(StatusCode::CONFLICT, e.to_string()),
        };
    let saved = [rest, split.clone()];
    match on_store(&shared, true, move |store| store.save_cases(&saved)).await {
        Ok(()) => {
            audit(
                &shared,
                &caller,
                AuditAction::CaseChanged,
                serde_json::json!({"case": id, "action": "split", "into": split.id}),
            );
            let mut read = PeopleRead::default();
            (
                StatusCode::CREATED,
                [(header::CONTENT_TYPE, "application/json")],
                case_view(&shared, &caller, &split, &mut read).to_string(),
            )
                .into_response()
        }
        Err(response) => response,
    }
}

// ───── evidence ─────

fn evidence_refusal(error_: &EvidenceError) -> Response {
    match error_ {
        EvidenceError::TooLarge { .. } => error(StatusCode::PAYLOAD_TOO_LARGE, error_.to_string()),
        EvidenceError::Empty => bad_request("the upload is empty"),
        EvidenceError::NotFound { .. } => error(StatusCode::NOT_FOUND, "no such evidence"),
        EvidenceError::BadDigest { .. } => bad_request(error_.to_string()),
        other => {
            eprintln!("seam serve: evidence: {other}");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the evidence could not be stored or read",
            )
        }
    }
}

/// `POST /v1/cases/{id}/evidence?name=FILE&version=N`: the body, streamed to disk under the
/// size limit, its SHA-256 computed on arrival, filed under the digest; the name is shown,
/// never used as a path.
async fn upload(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    Query(params): Query<BTreeMap<String, String>>,
    body: Body,
) -> Response {
    let Some(sent_name) = params.get("name") else {
        return bad_request("name the file: `?name=…`");
    };
    let name = match seam_cases::evidence::display_name(sent_name) {
        Ok(name) => name,
        Err(message) => return bad_request(message),
    };
    let version = match params.get("version").map(|v| v.parse::<u64>()) {
        Some(Ok(version)) => Some(version),
        Some(Err(_)) => return bad_request("`version` is not a number"),
        None => None,
    };
    let case = match read_case(&shared, &caller, id.clone()).await {
        Ok(case) => case,
        Err(response) => return response,
    };
    if let Err(e) = case.expect(version) {
        return error(StatusCode::CONFLICT, e.to_string());
    }
    let mut upload = match shared
        .cases
        .evidence
        .begin(shared.cases.settings.max_evidence_bytes)
    {
        Ok(upload) => upload,
        Err(e) => return evidence_refusal(&e),
    };
    let mut stream = body.into_data_stream();
    use futures_util::StreamExt as _;
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(_) => return bad_request("the upload was cut short"),
        };
        if let Err(e) = upload.write(&chunk) {
            return evidence_refusal(&e);
        }
    }
    let stored = match tokio::task::spawn_blocking(move || upload.finish()).await {
        Ok(Ok(stored)) => stored,
        Ok(Err(e)) => return evidence_refusal(&e),
        Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "the upload failed"),
    };
    let media_type = seam_cases::evidence::media_type(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
    );
    let now = crate::now_ms();
    let reference = seam_cases::evidence::EvidenceRef {
        sha256: stored.sha256.clone(),
        bytes: stored.bytes,
        name,
        media_type,
        added_by: caller.actor(),
        added_at: now,
    };
    let after = match case.attach(reference, now) {
        Ok(after) => after,
        Err(e) => return error(StatusCode::CONFLICT, e.to_string()),
    };
    let custody = CustodyEntry {
        case_id: id.clone(),
        sha256: stored.sha256.clone(),
        at: now,
        actor: caller.actor(),
        action: format!("uploaded ({} bytes)", stored.bytes),
    };
    let saved = after.clone();
    match on_store(&shared, true, move |store| {
        store.save_cases(&[saved])?;
        store.record_custody(&custody)
    })
    .await
    {
        Ok(()) => {
            audit(
                &shared,
                &caller,
                AuditAction::EvidenceAccessed,
                serde_json::json!({"case": id, "sha256": stored.sha256, "action": "upload",
                                   "bytes": stored.bytes}),
            );
            (
                StatusCode::CREATED,
                [(header::CONTENT_TYPE, "application/json")],
                serde_json::json!({"case": id, "sha256": stored.sha256, "bytes": stored.bytes,
                                   "version": after.version})
                .to_string(),
            )
                .into_response()
        }
        Err(response) => response,
    }
}

/// `GET /v1/cases/{id}/evidence/{sha256}`: the content, its digest checked on the way out;
/// every download is on the chain of custody.
async fn download(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    UrlPath((id, sha256)): UrlPath<(String, String)>,
) -> Response {
    if !seam_cases::evidence::is_sha256(&sha256) {
        return bad_request("not a SHA-256 digest");
    }
    let case = match read_case(&shared, &caller, id.clone()).await {
        Ok(case) => case,
        Err(response) => return response,
    };
    let Some(piece) = case.evidence.iter().find(|e| e.sha256 == sha256).cloned() else {
        return error(StatusCode::NOT_FOUND, "no such evidence in this case");
    };
    let cases = Arc::clone(&shared);
    let digest = sha256.clone();
    let read = tokio::task::spawn_blocking(move || {
        cases
            .cases
            .evidence
            .read_checked(&digest, cases.cases.settings.max_evidence_bytes)
    })
    .await;
    let (bytes, action) = match read {
        Ok(Ok(bytes)) => (Some(bytes), "downloaded".to_string()),
        Ok(Err(e)) => (None, format!("refused: {e}")),
        Err(_) => (None, "refused: the read failed".to_string()),
    };
    let custody = CustodyEntry {
        case_id: id.clone(),
        sha256: sha256.clone(),
        at: crate::now_ms(),
        actor: caller.actor(),
        action: action.clone(),
    };
    if let Err(response) =
        on_store(&shared, true, move |store| store.record_custody(&custody)).await
    {
        return response;
    }
    audit(
        &shared,
        &caller,
        AuditAction::EvidenceAccessed,
        serde_json::json!({"case": id, "sha256": sha256, "action": action}),
    );
    let Some(bytes) = bytes else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the evidence does not match its digest or cannot be read; it was not served",
        );
    };
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    let safe: String = piece
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&format!("sha-256={sha256}")) {
        headers.insert("x-seam-sha256", value);
    }
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

// ───── timeline, links, export ─────

/// The most events read from the log for one timeline.
const MAX_TIMELINE_EVENTS: usize = 5_000;
/// How far either side of a case's findings its timeline reaches.
const TIMELINE_MARGIN_MS: i64 = 2 * 3_600_000;

/// The case's timeline entries and its findings' JSON, read from the store.
/// What a case's timeline, link view and bundle are made of.
struct Gathered {
    timeline: Vec<seam_cases::timeline::Entry>,
    findings: Vec<serde_json::Value>,
    events: seam_store::workspace::PersonEvents,
    cut: bool,
}

async fn gather(shared: &Arc<Shared>, case: &Case) -> Result<Gathered, Response> {
    let uids: Vec<String> = case.links.findings.iter().cloned().collect();
    let span = case.span;
    let scan = case.clone();
    let (findings, events, cut) = on_store(shared, false, move |store| {
        let mut findings = Vec::new();
        for uid in uids.iter().take(1_000) {
            if let Some(f) = store.triaged(uid)? {
                findings.push(f);
            }
        }
        let (events, cut) = match span {
            Some((first, last)) => store.case_events(
                &scan,
                seam_model::Ts(first - TIMELINE_MARGIN_MS),
                seam_model::Ts(last + TIMELINE_MARGIN_MS),
                MAX_TIMELINE_EVENTS,
            )?,
            None => (Vec::new(), false),
        };
        Ok((findings, events, cut))
    })
    .await?;
    let entries: Vec<seam_cases::timeline::Entry> = events
        .iter()
        .filter_map(|(person, json)| seam_cases::timeline::event_entry(person.clone(), json))
        .collect();
    let finding_values: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| serde_json::from_str(&f.json).unwrap_or_default())
        .collect();
    let finding_entries = finding_values
        .iter()
        .filter_map(seam_cases::timeline::finding_entry)
        .collect();
    Ok(Gathered {
        timeline: seam_cases::timeline::merge(case, entries, finding_entries),
        findings: finding_values,
        events,
        cut,
    })
}

/// `GET /v1/cases/{id}/timeline`: events of its people, assets and zones over its span,
/// its findings and the team's actions, in time order.
async fn timeline(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let case = match read_case(&shared, &caller, id).await {
        Ok(case) => case,
        Err(response) => return response,
    };
    let Gathered {
        timeline: entries,
        cut,
        ..
    } = match gather(&shared, &case).await {
        Ok(gathered) => gathered,
        Err(response) => return response,
    };
    let mut value = serde_json::json!({"case": case.id, "span": case.span, "entries": entries,
                                       "truncated": cut});
    let mut read = PeopleRead::default();
    show_people(&shared, &caller, &mut value, &case.links.people, &mut read);
    read.record(
        &shared,
        &caller,
        "case timeline",
        crate::access::stated_purpose(&headers).as_deref(),
    );
    ok(&value)
}

/// `GET /v1/cases/{id}/links`: the case's entities and what connects them.
async fn links(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let case = match read_case(&shared, &caller, id).await {
        Ok(case) => case,
        Err(response) => return response,
    };
    let gathered = match gather(&shared, &case).await {
        Ok(gathered) => gathered,
        Err(response) => return response,
    };
    let mut builder = seam_cases::links::LinkBuilder::default();
    for finding in &gathered.findings {
        if let Some(facts) = seam_cases::FindingFacts::from_value(finding) {
            builder.finding(&facts);
        }
    }
    for (person, json) in &gathered.events {
        if let Ok(event) = serde_json::from_str::<serde_json::Value>(json) {
            builder.stored_event(person.as_deref(), &event);
        }
    }
    let mut value = serde_json::to_value(builder.build()).unwrap_or_default();
    let mut read = PeopleRead::default();
    show_people(&shared, &caller, &mut value, &case.links.people, &mut read);
    read.record(&shared, &caller, "case links", None);
    ok(&value)
}

/// `GET /v1/cases/{id}/export`: the signed bundle, as JSON (`files`: path and base64 content).
async fn export(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let case = match read_case(&shared, &caller, id.clone()).await {
        Ok(case) => case,
        Err(response) => return response,
    };
    let Gathered {
        timeline: entries,
        findings,
        ..
    } = match gather(&shared, &case).await {
        Ok(gathered) => gathered,
        Err(response) => return response,
    };
    // The bundle leaves Seam: people as the caller may see them.
    let mut read = PeopleRead::default();
    let case_value = case_view(&shared, &caller, &case, &mut read);
    let mut timeline_value = serde_json::to_value(&entries).unwrap_or_default();
    let mut findings_value = serde_json::Value::Array(findings);
    for value in [&mut timeline_value, &mut findings_value] {
        show_people(
            &shared,
            &caller,
            value,
            &case.links.people,
            &mut PeopleRead::default(),
        );
    }
    let mut evidence = Vec::new();
    for piece in &case.evidence {
        let cases = Arc::clone(&shared);
        let digest = piece.sha256.clone();
        let read_piece = tokio::task::spawn_blocking(move || {
            cases
                .cases
                .evidence
                .read_checked(&digest, cases.cases.settings.max_evidence_bytes)
        })
        .await;
        match read_piece {
            Ok(Ok(bytes)) => evidence.push((piece.sha256.clone(), bytes)),
            Ok(Err(e)) => return evidence_refusal(&e),
            Err(_) => return error(StatusCode::INTERNAL_SERVER_ERROR, "the export failed"),
        }
    }
    let timeline: Vec<seam_cases::timeline::Entry> =
        serde_json::from_value(timeline_value).unwrap_or(entries);
    let files = seam_cases::bundle::case_files(
        &case_value,
        &timeline,
        findings_value
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default(),
        evidence,
    );
    let sealed =
        match seam_cases::bundle::seal(files, &case.id, crate::now_ms(), &shared.cases.signing) {
            Ok(sealed) => sealed,
            Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
    let custody: Vec<CustodyEntry> = case
        .evidence
        .iter()
        .map(|piece| CustodyEntry {
            case_id: id.clone(),
            sha256: piece.sha256.clone(),
            at: crate::now_ms(),
            actor: caller.actor(),
            action: "exported".into(),
        })
        .collect();
    if let Err(response) = on_store(&shared, true, move |store| {
        for entry in &custody {
            store.record_custody(entry)?;
        }
        Ok(())
    })
    .await
    {
        return response;
    }
    read.record(&shared, &caller, "case export", None);
    audit(
        &shared,
        &caller,
        AuditAction::EvidenceAccessed,
        serde_json::json!({"case": id, "action": "export", "files": sealed.len()}),
    );
    let files: Vec<serde_json::Value> = sealed
        .iter()
        .map(
            |f| serde_json::json!({"path": f.path, "base64": seam_cases::bundle::base64(&f.bytes)}),
        )
        .collect();
    ok(&serde_json::json!({"format": seam_cases::bundle::FORMAT, "case": id, "files": files}))
}

// ───── reports ─────

/// A date or time in a report's query: `2026-03-01` (midnight UTC) or RFC 3339.
pub fn report_time(name: &str, text: &str) -> Result<seam_model::Ts, String> {
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_string()
    };
    seam_model::Ts::parse(&full)
        .map_err(|_| format!("`{name}`: `{text}` is not a date (2026-03-01) or an RFC 3339 time"))
}

/// `GET /v1/reports?from=DATE&to=DATE&format=json|csv|html`: what leadership asks for.
async fn report(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    Query(params): Query<BTreeMap<String, String>>,
) -> Response {
    let mut from = None;
    let mut to = None;
    let mut format = "json".to_string();
    for (name, value) in &params {
        let parsed = match name.as_str() {
            "from" => report_time(name, value).map(|t| from = Some(t)),
            "to" => report_time(name, value).map(|t| to = Some(t)),
            "format" if ["json", "csv", "html"].contains(&value.as_str()) => {
                format.clone_from(value);
                Ok(())
            }
            "format" => Err("`format`: json, csv or html".to_string()),
            other => Err(format!(
                "unknown parameter `{}`; known: from, to, format",
                other.chars().take(40).collect::<String>()
            )),
        };
        if let Err(message) = parsed {
            return bad_request(message);
        }
    }
    let (Some(from), Some(to)) = (from, to) else {
        return bad_request("give `from` and `to`");
    };
    if to <= from {
        return bad_request("`to` must be after `from`");
    }
    let estate = shared.current_estate();
    let procedures = shared.cases.settings.procedures.clone();
    let gathered = match on_store(&shared, false, move |store| {
        crate::reports::gather(
            store.as_workspace_store(),
            &estate,
            &procedures,
            from,
            to,
            seam_model::Ts(crate::now_ms()),
        )
    })
    .await
    {
        Ok(gathered) => gathered,
        Err(response) => return response,
    };
    let mut input = gathered.input;
    let mut read = PeopleRead::default();
    let now = seam_model::Ts(crate::now_ms());
    let hygiene = &mut input.hygiene;
    for item in [
        &mut hygiene.left_with_badges,
        &mut hygiene.dormant_badges,
        &mut hygiene.dormant_accounts,
        &mut hygiene.badges_never_used,
        &mut hygiene.visitors_past_window,
    ]
    .into_iter()
    .flatten()
    {
        let pseudonym = shared.access.pseudonym(&item.person);
        read.add(pseudonym.clone());
        let revealed = caller
            .principal
            .as_ref()
            .is_some_and(|p| shared.access.revealed(p, &item.person, now));
        if !caller.sees_names() && !revealed {
            item.person = pseudonym;
        }
    }
    read.record(&shared, &caller, "report", None);
    let built = seam_cases::report::build(&input);
    let (body, content_type) = match format.as_str() {
        "csv" => (
            seam_cases::report::to_csv(&built),
            "text/csv; charset=utf-8",
        ),
        "html" => (
            seam_cases::report::to_html(&built),
            "text/html; charset=utf-8",
        ),
        _ => (seam_cases::report::to_json(&built), "application/json"),
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'",
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn finding_filters_are_checked() {
        let named = |p: &str| format!("id-of-{p}");
        let query = finding_query(
            &params(&[
                ("rule", "seam.x"),
                ("since", "2026-03-02T00:00:00Z"),
                ("until", "1772500000000"),
                ("limit", "999999"),
                ("person", "p-123"),
                ("status", "acknowledged"),
                ("severity", "high"),
                ("suppressed", "any"),
                ("q", "server room"),
            ]),
            None,
            &named,
        )
        .unwrap();
        assert_eq!(query.rule.as_deref(), Some("seam.x"));
        assert_eq!(query.since, Some(seam_model::Ts(1_772_409_600_000)));
        assert_eq!(query.until, Some(seam_model::Ts(1_772_500_000_000)));
        assert_eq!(query.limit, MAX_LIMIT);
        assert_eq!(query.person.as_deref(), Some("id-of-p-123"));
        assert_eq!(query.status, Some(TriageStatus::Acknowledged));
        assert_eq!(query.min_severity, Some(4));
        assert_eq!(query.suppressed, SuppressedFilter::Include);
        for bad in [
            ("since", "yesterday"),
            ("limit", "-1"),
            ("order", "desc"),
            ("status", "done"),
            ("severity", "bad"),
            ("cursor", "nonsense"),
            ("zone", "a zone"),
        ] {
            assert!(
                finding_query(&params(&[bad]), None, &named).is_err(),
                "{bad:?}"
            );
        }
        // A site-limited caller keeps their scope and may narrow it, not widen it.
        let nyc = ["nyc".to_string()];
        let scoped = finding_query(&params(&[]), Some(&nyc), &named).unwrap();
        assert_eq!(scoped.sites, Some(vec!["nyc".to_string()]));
        assert!(finding_query(&params(&[("site", "hq")]), Some(&nyc), &named).is_err());
    }
}
