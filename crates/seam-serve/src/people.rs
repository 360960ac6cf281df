//! Identity 360: one person across both worlds. Their identifiers with their validity, status
//! history, where they are now and were lately (from badge, Wi-Fi and network events), their
//! timeline across both domains, open findings and cases. Every read states a purpose and is
//! audited; people show under pseudonyms to roles that do not see names.

// A handler's refusal is the response it sends.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use seam_cases::case::{CaseDraft, Links};
use seam_cases::{Case, TriageStatus};
use seam_model::Ts;
use seam_store::workspace::{CaseQuery, FindingQuery, SuppressedFilter};

use crate::access::{Caller, PeopleRead};
use crate::http::{error, json_response};
use crate::server::Shared;

/// How far back the timeline and the presence history reach by default, and at most.
const DEFAULT_DAYS: i64 = 7;
const MAX_DAYS: i64 = 90;
/// The most events one 360 reads.
const MAX_EVENTS: usize = 5_000;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/people/{id}/360", get(identity_360))
        .with_state(shared)
}

/// `GET /v1/people/{id}/360?days=N`: the person by id or pseudonym; needs `X-Seam-Purpose`.
async fn identity_360(
    State(shared): State<Arc<Shared>>,
    caller: Caller,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    Query(params): Query<BTreeMap<String, String>>,
) -> Response {
    let Some(purpose) = crate::access::stated_purpose(&headers) else {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "a read about one person needs a stated purpose: send it in `{}`",
                crate::access::PURPOSE_HEADER
            ),
        );
    };
    let mut days = DEFAULT_DAYS;
    for (name, value) in &params {
        match (name.as_str(), value.parse::<i64>()) {
            ("days", Ok(n)) if (1..=MAX_DAYS).contains(&n) => days = n,
            ("days", _) => {
                return error(StatusCode::BAD_REQUEST, format!("`days`: 1 to {MAX_DAYS}"));
            }
            (other, _) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "unknown parameter `{}`; known: days",
                        other.chars().take(40).collect::<String>()
                    ),
                );
            }
        }
    }
    let estate = shared.current_estate();
    let person_id = shared.access.person_of(&estate, &id);
    let Some(index) = estate.person_idx(&person_id) else {
        return error(StatusCode::NOT_FOUND, "no such person");
    };
    let person = estate.person(index);
    let home = person.home_site.map(|s| estate.site(s).id.clone());
    // A site-limited caller sees the people of their sites only.
    if caller.site_scope.is_some() && !home.as_ref().is_some_and(|s| caller.sees_site(s)) {
        return error(StatusCode::NOT_FOUND, "no such person");
    }
    let now = Ts(crate::now_ms());
    let since = Ts(now.millis() - days * 86_400_000);
    // A case of one person, to read their events through the store's case scan.
    let probe = Case::open(
        "person".into(),
        CaseDraft {
            title: "identity 360".into(),
            links: Links {
                people: BTreeSet::from([person_id.clone()]),
                ..Links::default()
            },
            ..CaseDraft::default()
        },
        Vec::new(),
        "system",
        now.millis(),
    );
    let Ok(probe) = probe else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the person could not be read",
        );
    };
    let who = person_id.clone();
    let scope = caller.site_scope.clone();
    let read = tokio::task::spawn_blocking({
        let store = Arc::clone(&shared.store);
        move || {
            let store = store
                .lock()
                .map_err(|_| "the store lock is poisoned".to_string())?;
            let (events, cut) = store
                .case_events(&probe, since, now, MAX_EVENTS)
                .map_err(|e| crate::writer::error_text(&e))?;
            let findings = store
                .list_findings(&FindingQuery {
                    person: Some(who.clone()),
                    suppressed: SuppressedFilter::Include,
                    sites: scope,
                    limit: 500,
                    ..FindingQuery::default()
                })
                .map_err(|e| crate::writer::error_text(&e))?;
            let cases = store
                .list_cases(&CaseQuery {
                    person: Some(who),
                    limit: 100,
                    ..CaseQuery::default()
                })
                .map_err(|e| crate::writer::error_text(&e))?;
            Ok::<_, String>((events, cut, findings, cases))
        }
    })
    .await;
    let (events, cut, findings, cases) = match read {
        Ok(Ok(read)) => read,
        Ok(Err(reason)) => {
            eprintln!("seam serve: identity 360 failed: {reason}");
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the person could not be read",
            );
        }
        Err(_) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the person could not be read",
            );
        }
    };
    let mut timeline: Vec<seam_cases::timeline::Entry> = events
        .iter()
        .filter_map(|(who, json)| seam_cases::timeline::event_entry(who.clone(), json))
        .collect();
    // Presence: the places their events put them, in time order.
    let mut presence = Vec::new();
    for (_, json) in &events {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(json) else {
            continue;
        };
        let field = |name: &str| event.get(name).and_then(|v| v.as_str());
        let place = field("zone").or_else(|| field("site"));
        if let (Some(place), Some(time)) = (place, field("time")) {
            presence.push(serde_json::json!({
                "time": time,
                "place": place,
                "by": field("class"),
                "source": field("source"),
            }));
        }
    }
    let open: Vec<&seam_store::workspace::TriagedFinding> = findings
        .findings
        .iter()
        .filter(|f| f.triage.status != TriageStatus::Closed)
        .collect();
    for finding in &findings.findings {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&finding.json)
            && let Some(entry) = seam_cases::timeline::finding_entry(&value)
            && entry.time >= since.millis()
        {
            timeline.push(entry);
        }
    }
    timeline.sort_by(|a, b| (a.time, a.kind, &a.uid).cmp(&(b.time, b.kind, &b.uid)));
    let identifiers: Vec<serde_json::Value> = person
        .identifiers
        .iter()
        .map(|i| {
            serde_json::json!({
                "kind": i.kind.as_str(),
                "value": i.value,
                "from": i.from,
                "until": i.until,
                "valid_now": i.valid_at(now),
            })
        })
        .collect();
    let status: Vec<serde_json::Value> = person
        .status
        .iter()
        .map(|s| serde_json::json!({"status": s.status.as_str(), "since": s.since}))
        .collect();
    let mut value = serde_json::json!({
        "person": {
            "id": person.id,
            "name": person.name,
            "kind": person.kind.as_str(),
            "home_site": home,
            "status_now": estate.status_at(index, now).as_str(),
            "window": person.window.map(|w| serde_json::json!({"start": w.start, "end": w.end})),
        },
        "identifiers": identifiers,
        "status_history": status,
        "directory_history": person.history.iter().rev().take(50).collect::<Vec<_>>(),
        "presence_now": presence.last(),
        "presence": presence,
        "timeline": timeline,
        "timeline_cut": cut,
        "open_findings": open.iter().map(|f| serde_json::json!({
            "uid": f.uid, "rule": f.rule, "time": f.time, "status": f.triage.status,
            "severity_id": f.severity_id, "alert": f.alert,
        })).collect::<Vec<_>>(),
        "cases": cases.iter().map(|c| serde_json::json!({
            "id": c.id, "title": c.title, "status": c.status, "severity": c.severity,
        })).collect::<Vec<_>>(),
        "since": since,
    });
    // People show as the caller may see them: this person and anyone their cases name.
    let mut read_people = PeopleRead::default();
    let everyone: BTreeSet<String> = std::iter::once(person_id.clone())
        .chain(cases.iter().flat_map(|c| c.links.people.iter().cloned()))
        .collect();
    let revealed = caller
        .principal
        .as_ref()
        .is_some_and(|p| shared.access.revealed(p, &person_id, now));
    if !caller.sees_names() && !revealed {
        // Identifier values (an e-mail, a user name) and the directory's change texts carry
        // the name: kinds and validity only.
        if let Some(list) = value.get_mut("identifiers").and_then(|v| v.as_array_mut()) {
            for identifier in list {
                if let Some(object) = identifier.as_object_mut() {
                    object.insert("value".into(), serde_json::Value::Null);
                }
            }
        }
        if let Some(object) = value.as_object_mut() {
            object.remove("directory_history");
        }
    }
    for someone in &everyone {
        let pseudonym = shared.access.pseudonym(someone);
        read_people.add(pseudonym.clone());
        if caller.sees_names() || (revealed && *someone == person_id) {
            continue;
        }
        let name = estate
            .person_idx(someone)
            .map(|i| estate.person(i).name.clone());
        crate::access::pseudonymize(&mut value, someone, name.as_deref(), &pseudonym);
    }
    read_people.record(&shared, &caller, "identity 360", Some(&purpose));
    json_response(StatusCode::OK, value.to_string())
}
