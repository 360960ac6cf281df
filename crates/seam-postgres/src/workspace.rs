//! [`Workspace`] on PostgreSQL: the embedded store's workspace (its SQLite tables in
//! `seam-store/src/database/workspace.rs`) on the tables of migration 3, with the same
//! semantics, which the shared `workspace_suite` checks.
//!
//! Every new finding gets its triage row in the transaction that stores it
//! ([`index_findings`], called by `append_findings` with the uids its `INSERT … RETURNING`
//! reports as inserted). Writes join the store's open batch and are durable at the next
//! commit, like the findings they belong to; reads see the open batch. A refused or
//! conflicting write changes nothing and leaves the batch open: each checks before it writes,
//! and `save_cases`, which writes case after case, runs under a savepoint.
//!
//! The rules (legal moves, grouping keys, what a suppression matches) are `seam-cases`', so
//! both stores decide alike; statements are prepared once per connection
//! (`Statements::cached`).

use std::collections::{BTreeMap, HashSet};

use postgres::types::ToSql;
use postgres::{Client, Row, Transaction};
use seam_cases::{
    Case, FindingFacts, Suppression, TriageAction, TriageState, TriageStatus, grouping, suppression,
};
use seam_store::workspace::{
    Alert, AlertQuery, CaseQuery, Cursor, CustodyEntry, FindingPage, FindingQuery, MAX_BULK,
    MAX_PAGE, SuppressedFilter, SuppressionRecord, TriageEntry, TriagedFinding, Workspace,
    WorkspaceSettings,
};
use seam_store::{Needles, StoreError, StoredFinding, Ts};

use crate::connection::{Failure, unsigned, utf8};
use crate::matching::NeedleParams;
use crate::store::{PostgresStore, Statements, to_limit};

/// The workspace's tables with every column that may hold a person's data (every `bytea`
/// one): what an erasure searches, rewrites and samples again.
pub(crate) const WORKSPACE_TABLES: [(&str, &[&str]); 8] = [
    (
        "triage",
        &[
            "uid",
            "rule",
            "person",
            "site",
            "zone",
            "asset",
            "alert",
            "suppressed_by",
            "status",
            "assignee",
            "team",
            "state",
            "text",
        ],
    ),
    ("alerts", &["id", "key", "site"]),
    ("alert_keys", &["key", "alert"]),
    ("triage_log", &["uid", "actor", "action"]),
    ("suppressions", &["id", "json", "ended_by"]),
    ("cases", &["id", "status", "json"]),
    ("case_links", &["kind", "value", "case_id"]),
    ("custody", &["case_id", "sha256", "actor", "action"]),
];

/// How many findings without a triage row opening indexes per statement.
const MISSING_CHUNK: i64 = 10_000;

/// Grouping, placing and the suppressions in force, for findings as they are stored.
#[derive(Debug, Default)]
pub(crate) struct WorkspaceCache {
    settings: WorkspaceSettings,
    /// Read once, and again after any change (or a rollback that may have undone one).
    suppressions: Option<Vec<Suppression>>,
    /// Triage rows written since the workspace's statistics were last gathered, and how many
    /// rows there were then (see [`WorkspaceCache::statistics_stale`]).
    pub(crate) triaged_since_analyze: u64,
    pub(crate) triaged_at_analyze: u64,
}

impl WorkspaceCache {
    /// Whether the planner's statistics of the triage table are stale enough to mislead it:
    /// lists read a page off an index in order only while the planner knows how many rows
    /// each status, rule and site has. Autovacuum catches up in time; a bulk of new findings
    /// (a replay, a backfill) can outrun it by minutes, and a page then costs seconds.
    pub(crate) fn statistics_stale(&self) -> bool {
        self.triaged_since_analyze >= (self.triaged_at_analyze / 5).max(10_000)
    }

    pub(crate) fn forget_suppressions(&mut self) {
        self.suppressions = None;
    }
}

/// What indexing a batch of findings needs, read before the batch is written.
pub(crate) struct Indexing {
    settings: WorkspaceSettings,
    suppressions: Vec<Suppression>,
    /// The wall clock (ms): when they were stored, and which suppressions are in force.
    now: i64,
}

/// The wall clock, read at the edge.
fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A version as a `bigint` (versions count edits: they never near `i64::MAX`).
fn version(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn json_error(error: serde_json::Error) -> StoreError {
    StoreError::InvalidRequest {
        reason: format!("a stored workspace record does not read: {error}"),
    }
}

fn refused(reason: impl std::fmt::Display) -> StoreError {
    StoreError::Refused {
        reason: reason.to_string(),
    }
}

fn text(row: &Row, index: usize, column: &'static str) -> Result<String, Failure> {
    utf8(row.try_get(index)?, column)
}

fn optional_text(row: &Row, index: usize, column: &'static str) -> Result<Option<String>, Failure> {
    let bytes: Option<Vec<u8>> = row.try_get(index)?;
    bytes.map(|bytes| utf8(bytes, column)).transpose()
}

fn optional_bytes(text: Option<&str>) -> Option<&[u8]> {
    text.map(str::as_bytes)
}

use seam_store::workspace::facts_of;

/// Gives `findings`, just inserted, their triage rows in the caller's transaction: in order,
/// since a finding may join the alert an earlier one of the batch made.
pub(crate) fn index_findings(
    client: &mut Client,
    statements: &Statements,
    indexing: &Indexing,
    findings: &[&StoredFinding],
) -> Result<(), Failure> {
    if findings.is_empty() {
        return Ok(());
    }
    let state = TriageState::default();
    let state_json = serde_json::to_string(&state).map_err(|_| Failure::Invalid {
        what: "triage state",
    })?;
    let mut rows = TriageRows::default();
    for finding in findings {
        let facts = facts_of(finding, &indexing.settings);
        let suppressed = suppression::suppressed_by(&indexing.suppressions, &facts, indexing.now)
            .map(|s| s.id.clone());
        let alert = assign_alert(client, statements, &indexing.settings, &facts)?;
        rows.uids.push(facts.uid.clone().into_bytes());
        rows.rules.push(facts.rule.clone().into_bytes());
        rows.times.push(facts.time);
        rows.severities.push(i32::from(facts.severity_id));
        rows.search.push(facts.search_text().into_bytes());
        rows.persons.push(facts.person.map(String::into_bytes));
        rows.sites.push(facts.site.map(String::into_bytes));
        rows.zones.push(facts.zone.map(String::into_bytes));
        rows.assets.push(facts.asset.map(String::into_bytes));
        rows.alerts.push(alert.into_bytes());
        rows.suppressed.push(suppressed.map(String::into_bytes));
    }
    let insert = statements.cached(
        client,
        "INSERT INTO triage (uid, rule, time, severity_id, person, site, zone, asset, alert,
             suppressed_by, status, assignee, team, version, state, stored_at, text)
         SELECT uid, rule, time, severity_id, person, site, zone, asset, alert, suppressed_by,
                $12, NULL, NULL, $13, $14, $15, text
         FROM unnest($1::bytea[], $2::bytea[], $3::int8[], $4::int4[], $5::bytea[],
                     $6::bytea[], $7::bytea[], $8::bytea[], $9::bytea[], $10::bytea[],
                     $11::bytea[])
              AS batch (uid, rule, time, severity_id, person, site, zone, asset, alert,
                        suppressed_by, text)
         ON CONFLICT (uid) DO NOTHING",
    )?;
    client.execute(
        &insert,
        &[
            &rows.uids,
            &rows.rules,
            &rows.times,
            &rows.severities,
            &rows.persons,
            &rows.sites,
            &rows.zones,
            &rows.assets,
            &rows.alerts,
            &rows.suppressed,
            &rows.search,
            &state.status.as_str().as_bytes(),
            &version(state.version),
            &state_json.as_bytes(),
            &indexing.now,
        ],
    )?;
    Ok(())
}

/// The columns of a batch's triage rows, for one `INSERT … SELECT FROM unnest`.
#[derive(Default)]
struct TriageRows {
    uids: Vec<Vec<u8>>,
    rules: Vec<Vec<u8>>,
    times: Vec<i64>,
    severities: Vec<i32>,
    persons: Vec<Option<Vec<u8>>>,
    sites: Vec<Option<Vec<u8>>>,
    zones: Vec<Option<Vec<u8>>>,
    assets: Vec<Option<Vec<u8>>>,
    alerts: Vec<Vec<u8>>,
    suppressed: Vec<Option<Vec<u8>>>,
    search: Vec<Vec<u8>>,
}

/// The alert a new finding joins, made or widened: the one sharing any of its keys (most
/// telling first) whose findings are within the span.
fn assign_alert(
    client: &mut Client,
    statements: &Statements,
    settings: &WorkspaceSettings,
    facts: &FindingFacts,
) -> Result<String, Failure> {
    let span = settings.grouping.span_ms;
    let mut keys = settings.grouping.keys(facts);
    let mut distinct = HashSet::new();
    keys.retain(|key| distinct.insert(key.clone()));
    let key_bytes: Vec<&[u8]> = keys.iter().map(|key| key.as_bytes()).collect();
    let mut joined = None;
    if !keys.is_empty() {
        // The first key, in their order, with an alert in reach; of its alerts the latest.
        let find = statements.cached(
            client,
            "SELECT found.alert
             FROM unnest($1::bytea[]) WITH ORDINALITY AS keys (key, ordinal)
             CROSS JOIN LATERAL (
                 SELECT alert FROM alert_keys
                 WHERE alert_keys.key = keys.key AND last >= $2 AND first <= $3
                 ORDER BY last DESC, alert DESC LIMIT 1
             ) AS found
             ORDER BY keys.ordinal LIMIT 1",
        )?;
        if let Some(row) = client
            .query(
                &find,
                &[
                    &key_bytes,
                    &facts.time.saturating_sub(span),
                    &facts.time.saturating_add(span),
                ],
            )?
            .first()
        {
            joined = Some(text(row, 0, "alert_keys.alert")?);
        }
    }
    let id = match joined {
        Some(id) => {
            let widen = statements.cached(
                client,
                "UPDATE alerts SET first = LEAST(first, $2), last = GREATEST(last, $2)
                 WHERE id = $1",
            )?;
            client.execute(&widen, &[&id.as_bytes(), &facts.time])?;
            id
        }
        None => {
            let id = grouping::alert_id(&facts.uid);
            let key = keys.first().cloned().unwrap_or_default();
            let make = statements.cached(
                client,
                "INSERT INTO alerts (id, key, first, last, site) VALUES ($1, $2, $3, $3, $4)
                 ON CONFLICT (id) DO NOTHING",
            )?;
            client.execute(
                &make,
                &[
                    &id.as_bytes(),
                    &key.as_bytes(),
                    &facts.time,
                    &optional_bytes(facts.site.as_deref()),
                ],
            )?;
            id
        }
    };
    if !keys.is_empty() {
        let remember = statements.cached(
            client,
            "INSERT INTO alert_keys (key, alert, first, last)
             SELECT key, $2, $3, $3 FROM unnest($1::bytea[]) AS keys (key)
             ON CONFLICT (key, alert) DO UPDATE SET
                 first = LEAST(alert_keys.first, excluded.first),
                 last = GREATEST(alert_keys.last, excluded.last)",
        )?;
        client.execute(&remember, &[&key_bytes, &id.as_bytes(), &facts.time])?;
    }
    Ok(id)
}

const TRIAGE_COLUMNS: &str = "t.uid, t.rule, t.time, t.severity_id, t.person, t.site, t.zone, \
     t.asset, t.alert, t.suppressed_by, t.state, t.stored_at, f.json";

/// The join to a finding, through the index on the SHA-256 of its uid, one finding per
/// triage row looked up as the rows come: the planner cannot estimate the two conditions of a
/// plain join and took it for one row, then hashed every finding to sort them all. (A triage
/// row whose finding retention removed is not listed, as with a plain join.)
const TRIAGE_FROM: &str = "triage t CROSS JOIN LATERAL (
         SELECT json FROM findings WHERE sha256(uid) = sha256(t.uid) AND uid = t.uid LIMIT 1
     ) f";

/// A listed finding, with its triage state as stored (read after the query).
fn triaged_row(row: &Row) -> Result<(TriagedFinding, String), Failure> {
    let severity: i32 = row.try_get(3)?;
    Ok((
        TriagedFinding {
            uid: text(row, 0, "triage.uid")?,
            rule: text(row, 1, "triage.rule")?,
            time: Ts(row.try_get(2)?),
            severity_id: u8::try_from(severity).map_err(|_| Failure::Invalid {
                what: "severity id",
            })?,
            person: optional_text(row, 4, "triage.person")?,
            site: optional_text(row, 5, "triage.site")?,
            zone: optional_text(row, 6, "triage.zone")?,
            asset: optional_text(row, 7, "triage.asset")?,
            alert: text(row, 8, "triage.alert")?,
            suppressed_by: optional_text(row, 9, "triage.suppressed_by")?,
            triage: TriageState::default(),
            stored_at: row.try_get(11)?,
            json: text(row, 12, "findings.json")?,
        },
        text(row, 10, "triage.state")?,
    ))
}

fn with_state(
    (mut finding, state): (TriagedFinding, String),
) -> Result<TriagedFinding, StoreError> {
    finding.triage = serde_json::from_str(&state).map_err(json_error)?;
    Ok(finding)
}

/// An alert's row: id, key, first, last, site.
type AlertRow = (String, String, i64, i64, Option<String>);

fn alert_row(row: &Row) -> Result<AlertRow, Failure> {
    Ok((
        text(row, 0, "alerts.id")?,
        text(row, 1, "alerts.key")?,
        row.try_get(2)?,
        row.try_get(3)?,
        optional_text(row, 4, "alerts.site")?,
    ))
}

/// Findings per status, in all, and the highest severity of an alert.
fn alert_stats(
    client: &mut Client,
    statements: &Statements,
    id: &str,
) -> Result<Vec<(String, i64, i32)>, Failure> {
    let statement = statements.cached(
        client,
        "SELECT status, count(*), max(severity_id) FROM triage WHERE alert = $1
         GROUP BY status",
    )?;
    client
        .query(&statement, &[&id.as_bytes()])?
        .iter()
        .map(|row| {
            Ok((
                text(row, 0, "triage.status")?,
                row.try_get(1)?,
                row.try_get(2)?,
            ))
        })
        .collect()
}

fn alert_from(
    (id, key, first, last, site): AlertRow,
    stats: Vec<(String, i64, i32)>,
) -> Result<Alert, StoreError> {
    let mut statuses = BTreeMap::new();
    let (mut count, mut severity_id) = (0u64, 0u8);
    for (status, n, severity) in stats {
        let n = u64::try_from(n).unwrap_or(0);
        statuses.insert(TriageStatus::parse(&status).map_err(refused)?, n);
        count += n;
        severity_id = severity_id.max(u8::try_from(severity).unwrap_or(u8::MAX));
    }
    Ok(Alert {
        id,
        key,
        first: Ts(first),
        last: Ts(last),
        site,
        statuses,
        count,
        severity_id,
    })
}

/// Recomputes an alert's span from the findings left in it.
fn refresh_span(client: &mut Client, statements: &Statements, id: &str) -> Result<(), Failure> {
    let statement = statements.cached(
        client,
        "UPDATE alerts SET
             first = coalesce((SELECT min(time) FROM triage WHERE alert = $1), first),
             last = coalesce((SELECT max(time) FROM triage WHERE alert = $1), last)
         WHERE id = $1",
    )?;
    client.execute(&statement, &[&id.as_bytes()])?;
    Ok(())
}

/// Writes a case if it is still at `expected` (or new when `None`), with its link index;
/// a case changed meanwhile is [`StoreError::Conflict`], with nothing written.
fn put_case(
    client: &mut Client,
    statements: &Statements,
    case: &Case,
    json: &str,
    expected: Option<u64>,
) -> Result<Result<(), StoreError>, Failure> {
    let seq: i64 = case
        .id
        .strip_prefix("C-")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let written = match expected {
        None => {
            let insert = statements.cached(
                client,
                "INSERT INTO cases (id, seq, version, status, updated_at, json)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (id) DO NOTHING",
            )?;
            client.execute(
                &insert,
                &[
                    &case.id.as_bytes(),
                    &seq,
                    &version(case.version),
                    &case.status.as_str().as_bytes(),
                    &case.updated_at,
                    &json.as_bytes(),
                ],
            )?
        }
        Some(expected) => {
            let update = statements.cached(
                client,
                "UPDATE cases SET version = $2, status = $3, updated_at = $4, json = $5
                 WHERE id = $1 AND version = $6",
            )?;
            client.execute(
                &update,
                &[
                    &case.id.as_bytes(),
                    &version(case.version),
                    &case.status.as_str().as_bytes(),
                    &case.updated_at,
                    &json.as_bytes(),
                    &version(expected),
                ],
            )?
        }
    };
    if written == 0 {
        return Ok(Err(StoreError::Conflict {
            reason: format!(
                "case `{}` changed since version {}; read it again",
                case.id,
                case.version.saturating_sub(1)
            ),
        }));
    }
    let unlink = statements.cached(client, "DELETE FROM case_links WHERE case_id = $1")?;
    client.execute(&unlink, &[&case.id.as_bytes()])?;
    let mut kinds: Vec<&[u8]> = Vec::new();
    let mut values: Vec<&[u8]> = Vec::new();
    for (kind, linked) in [
        ("findings", &case.links.findings),
        ("people", &case.links.people),
    ] {
        for value in linked {
            kinds.push(kind.as_bytes());
            values.push(value.as_bytes());
        }
    }
    if !kinds.is_empty() {
        let link = statements.cached(
            client,
            "INSERT INTO case_links (kind, value, case_id)
             SELECT kind, value, $3 FROM unnest($1::bytea[], $2::bytea[]) AS links (kind, value)
             ON CONFLICT DO NOTHING",
        )?;
        client.execute(&link, &[&kinds, &values, &case.id.as_bytes()])?;
    }
    Ok(Ok(()))
}

impl PostgresStore {
    /// The suppressions in force, read once and again after each change.
    fn active_suppressions(&mut self) -> Result<Vec<Suppression>, StoreError> {
        if let Some(cached) = &self.workspace.suppressions {
            return Ok(cached.clone());
        }
        let jsons = self.read("read the suppressions of", |client, statements| {
            let statement = statements.cached(
                client,
                "SELECT json FROM suppressions WHERE ended_at IS NULL ORDER BY id",
            )?;
            client
                .query(&statement, &[])?
                .iter()
                .map(|row| text(row, 0, "suppressions.json"))
                .collect::<Result<Vec<String>, Failure>>()
        })?;
        let mut all = Vec::with_capacity(jsons.len());
        for json in jsons {
            all.push(serde_json::from_str::<Suppression>(&json).map_err(json_error)?);
        }
        self.workspace.suppressions = Some(all.clone());
        Ok(all)
    }

    /// What indexing the next findings needs: the settings, the suppressions, the time.
    pub(crate) fn indexing(&mut self) -> Result<Indexing, StoreError> {
        Ok(Indexing {
            suppressions: self.active_suppressions()?,
            settings: self.workspace.settings.clone(),
            now: wall_ms(),
        })
    }

    /// Indexes findings that have no triage row (stored before the workspace existed), and
    /// commits them; called when the store opens.
    pub(crate) fn index_missing(&mut self) -> Result<(), StoreError> {
        let mut indexed_any = false;
        loop {
            let missing = self.read("read the findings of", |client, _| {
                client
                    .query(
                        "SELECT uid, rule, time, person, severity, json FROM findings f
                         WHERE NOT EXISTS (SELECT 1 FROM triage t WHERE t.uid = f.uid)
                         ORDER BY time, uid LIMIT $1",
                        &[&MISSING_CHUNK],
                    )?
                    .iter()
                    .map(|row| {
                        Ok(StoredFinding {
                            uid: text(row, 0, "findings.uid")?,
                            rule: text(row, 1, "findings.rule")?,
                            time: Ts(row.try_get(2)?),
                            person: optional_text(row, 3, "findings.person")?,
                            severity: text(row, 4, "findings.severity")?,
                            json: text(row, 5, "findings.json")?,
                        })
                    })
                    .collect::<Result<Vec<StoredFinding>, Failure>>()
            })?;
            if missing.is_empty() {
                break;
            }
            let indexing = self.indexing()?;
            self.write("index the findings of", |client, statements| {
                let missing: Vec<&StoredFinding> = missing.iter().collect();
                index_findings(client, statements, &indexing, &missing)
            })?;
            indexed_any = true;
        }
        if indexed_any {
            seam_store::Store::commit(self)?;
        }
        Ok(())
    }

    fn alert_with_stats(&self, row: AlertRow) -> Result<Alert, StoreError> {
        let stats = self.read("read an alert of", |client, statements| {
            alert_stats(client, statements, &row.0)
        })?;
        alert_from(row, stats)
    }
}

/// A `list_findings` query as SQL and its parameters.
struct Listing {
    sql: String,
    values: Vec<Box<dyn ToSql + Sync>>,
}

impl Listing {
    fn push(&mut self, value: impl ToSql + Sync + 'static) -> usize {
        self.values.push(Box::new(value));
        self.values.len()
    }

    fn equal(&mut self, column: &str, value: Option<&str>) {
        if let Some(value) = value {
            let number = self.push(value.as_bytes().to_vec());
            self.sql.push_str(&format!(" AND t.{column} = ${number}"));
        }
    }
}

impl Workspace for PostgresStore {
    fn configure_workspace(&mut self, settings: WorkspaceSettings) {
        self.workspace.settings = settings;
    }

    fn list_findings(&self, query: &FindingQuery) -> Result<FindingPage, StoreError> {
        let limit = query.limit.min(MAX_PAGE);
        if limit == 0 {
            return Ok(FindingPage::default());
        }
        let mut listing = Listing {
            sql: format!("SELECT {TRIAGE_COLUMNS} FROM {TRIAGE_FROM} WHERE true"),
            values: Vec::new(),
        };
        listing.equal("rule", query.rule.as_deref());
        listing.equal("zone", query.zone.as_deref());
        listing.equal("person", query.person.as_deref());
        listing.equal("asset", query.asset.as_deref());
        listing.equal("alert", query.alert.as_deref());
        listing.equal("assignee", query.assignee.as_deref());
        listing.equal("status", query.status.map(TriageStatus::as_str));
        listing.equal("team", query.team.map(|team| team.as_str()));
        if let Some(severity) = query.min_severity {
            let number = listing.push(i32::from(severity));
            listing
                .sql
                .push_str(&format!(" AND t.severity_id >= ${number}"));
        }
        if let Some(sites) = &query.sites {
            if sites.is_empty() {
                return Ok(FindingPage::default());
            }
            let sites: Vec<Vec<u8>> = sites.iter().map(|s| s.as_bytes().to_vec()).collect();
            let number = listing.push(sites);
            listing
                .sql
                .push_str(&format!(" AND t.site = ANY (${number}::bytea[])"));
        }
        match query.suppressed {
            SuppressedFilter::Hide => listing.sql.push_str(" AND t.suppressed_by IS NULL"),
            SuppressedFilter::Only => listing.sql.push_str(" AND t.suppressed_by IS NOT NULL"),
            SuppressedFilter::Include => {}
        }
        if let Some(since) = query.since {
            let number = listing.push(since.millis());
            listing.sql.push_str(&format!(" AND t.time >= ${number}"));
        }
        if let Some(until) = query.until {
            let number = listing.push(until.millis());
            listing.sql.push_str(&format!(" AND t.time < ${number}"));
        }
        if let Some(text) = &query.text {
            for word in text.to_lowercase().split_whitespace().take(8) {
                // The search text is lowercase; % and _ in a word are themselves.
                let escaped = word
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                let number = listing.push(format!("%{escaped}%").into_bytes());
                listing
                    .sql
                    .push_str(&format!(" AND t.text LIKE ${number} ESCAPE '\\x5c'::bytea"));
            }
        }
        if let Some(after) = &query.after {
            let time = listing.push(after.time.millis());
            let uid = listing.push(after.uid.as_bytes().to_vec());
            // A row comparison: the index scan starts right after the cursor.
            listing
                .sql
                .push_str(&format!(" AND (t.time, t.uid) < (${time}, ${uid})"));
        }
        // The limit is in the text, not a parameter: a prepared statement's generic plan
        // would take an unknown limit for a large one and join every finding by hash.
        listing.sql.push_str(&format!(
            " ORDER BY t.time DESC, t.uid DESC LIMIT {}",
            to_limit(limit)
        ));
        let rows = self.read("list the findings of", |client, statements| {
            let statement = statements.cached(client, &listing.sql)?;
            let values: Vec<&(dyn ToSql + Sync)> =
                listing.values.iter().map(|value| value.as_ref()).collect();
            client
                .query(&statement, &values)?
                .iter()
                .map(triaged_row)
                .collect::<Result<Vec<_>, Failure>>()
        })?;
        let mut findings = Vec::with_capacity(rows.len());
        for row in rows {
            findings.push(with_state(row)?);
        }
        let next = (findings.len() == limit)
            .then(|| findings.last())
            .flatten()
            .map(|last| Cursor {
                time: last.time,
                uid: last.uid.clone(),
            });
        Ok(FindingPage { findings, next })
    }

    fn triaged(&self, uid: &str) -> Result<Option<TriagedFinding>, StoreError> {
        let row = self.read("read a finding of", |client, statements| {
            let statement = statements.cached(
                client,
                &format!("SELECT {TRIAGE_COLUMNS} FROM {TRIAGE_FROM} WHERE t.uid = $1"),
            )?;
            client
                .query_opt(&statement, &[&uid.as_bytes()])?
                .as_ref()
                .map(triaged_row)
                .transpose()
        })?;
        row.map(with_state).transpose()
    }

    fn triage(
        &mut self,
        uid: &str,
        action: &TriageAction,
        actor: &str,
        at: i64,
        expected: Option<u64>,
    ) -> Result<TriageState, StoreError> {
        let Some(current) = self.triaged(uid)? else {
            return Err(StoreError::NotFound {
                what: format!("finding `{uid}`"),
            });
        };
        current
            .triage
            .expect(expected)
            .map_err(|e| StoreError::Conflict {
                reason: e.to_string(),
            })?;
        let next = current.triage.apply(action, actor, at).map_err(refused)?;
        let state = serde_json::to_string(&next).map_err(json_error)?;
        let logged = serde_json::to_string(action).map_err(json_error)?;
        self.write("triage a finding in", |client, statements| {
            let update = statements.cached(
                client,
                "UPDATE triage SET status = $2, assignee = $3, team = $4, version = $5,
                     state = $6
                 WHERE uid = $1 AND version = $7",
            )?;
            let changed = client.execute(
                &update,
                &[
                    &uid.as_bytes(),
                    &next.status.as_str().as_bytes(),
                    &optional_bytes(next.assignee.as_deref()),
                    &next.team.map(|team| team.as_str().as_bytes()),
                    &version(next.version),
                    &state.as_bytes(),
                    &version(current.triage.version),
                ],
            )?;
            if changed == 0 {
                return Ok(Err(StoreError::Conflict {
                    reason: format!("finding `{uid}` changed meanwhile; read it again"),
                }));
            }
            let log = statements.cached(
                client,
                "INSERT INTO triage_log (uid, at, actor, action) VALUES ($1, $2, $3, $4)",
            )?;
            client.execute(
                &log,
                &[&uid.as_bytes(), &at, &actor.as_bytes(), &logged.as_bytes()],
            )?;
            Ok(Ok(()))
        })??;
        Ok(next)
    }

    fn triage_log(&self, uid: &str) -> Result<Vec<TriageEntry>, StoreError> {
        let rows = self.read("read the triage log of", |client, statements| {
            let statement = statements.cached(
                client,
                "SELECT uid, at, actor, action FROM triage_log WHERE uid = $1 ORDER BY id",
            )?;
            client
                .query(&statement, &[&uid.as_bytes()])?
                .iter()
                .map(|row| {
                    Ok((
                        text(row, 0, "triage_log.uid")?,
                        row.try_get::<_, i64>(1)?,
                        text(row, 2, "triage_log.actor")?,
                        text(row, 3, "triage_log.action")?,
                    ))
                })
                .collect::<Result<Vec<_>, Failure>>()
        })?;
        let mut entries = Vec::with_capacity(rows.len());
        for (uid, at, actor, action) in rows {
            entries.push(TriageEntry {
                uid,
                at,
                actor,
                action: serde_json::from_str(&action).map_err(json_error)?,
            });
        }
        Ok(entries)
    }

    fn alert(&self, id: &str) -> Result<Option<Alert>, StoreError> {
        let row = self.read("read an alert of", |client, statements| {
            let statement = statements.cached(
                client,
                "SELECT id, key, first, last, site FROM alerts WHERE id = $1",
            )?;
            client
                .query_opt(&statement, &[&id.as_bytes()])?
                .as_ref()
                .map(alert_row)
                .transpose()
        })?;
        row.map(|row| self.alert_with_stats(row)).transpose()
    }

    fn list_alerts(&self, query: &AlertQuery) -> Result<Vec<Alert>, StoreError> {
        let limit = query.limit.min(MAX_PAGE);
        let mut alerts = Vec::new();
        if limit == 0 {
            return Ok(alerts);
        }
        let since = query.since.map(Ts::millis);
        let until = query.until.map(Ts::millis);
        let sites: Option<Vec<Vec<u8>>> = query
            .sites
            .as_ref()
            .map(|sites| sites.iter().map(|s| s.as_bytes().to_vec()).collect());
        // Most recent first, a page at a time: alerts without findings, or closed ones when
        // only open ones are asked for, are passed over.
        const PAGE: i64 = 500;
        let mut after: Option<(i64, Vec<u8>)> = None;
        loop {
            let rows = self.read("list the alerts of", |client, statements| {
                let conditions = "($1::int8 IS NULL OR last >= $1)
                     AND ($2::int8 IS NULL OR first < $2)
                     AND ($3::bytea[] IS NULL OR site = ANY ($3))";
                let rows = match &after {
                    None => {
                        let statement = statements.cached(
                            client,
                            &format!(
                                "SELECT id, key, first, last, site FROM alerts
                                 WHERE {conditions}
                                 ORDER BY last DESC, id DESC LIMIT $4"
                            ),
                        )?;
                        client.query(&statement, &[&since, &until, &sites, &PAGE])?
                    }
                    Some((last, id)) => {
                        let statement = statements.cached(
                            client,
                            &format!(
                                "SELECT id, key, first, last, site FROM alerts
                                 WHERE {conditions} AND (last, id) < ($5, $6)
                                 ORDER BY last DESC, id DESC LIMIT $4"
                            ),
                        )?;
                        client.query(&statement, &[&since, &until, &sites, &PAGE, last, id])?
                    }
                };
                rows.iter().map(alert_row).collect::<Result<Vec<_>, _>>()
            })?;
            let full = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= PAGE;
            for row in rows {
                after = Some((row.3, row.0.as_bytes().to_vec()));
                let alert = self.alert_with_stats(row)?;
                if alert.count == 0 {
                    continue;
                }
                if query.open_only
                    && alert
                        .statuses
                        .get(&TriageStatus::Closed)
                        .copied()
                        .unwrap_or(0)
                        == alert.count
                {
                    continue;
                }
                alerts.push(alert);
                if alerts.len() >= limit {
                    return Ok(alerts);
                }
            }
            if !full {
                return Ok(alerts);
            }
        }
    }

    fn split_alert(&mut self, id: &str, uids: &[String]) -> Result<String, StoreError> {
        if uids.is_empty() || uids.len() > MAX_BULK {
            return Err(refused(format!("a split moves 1 to {MAX_BULK} findings")));
        }
        let Some(alert) = self.alert(id)? else {
            return Err(StoreError::NotFound {
                what: format!("alert `{id}`"),
            });
        };
        let mut moved = Vec::new();
        for uid in uids {
            match self.triaged(uid)? {
                Some(finding) if finding.alert == id => moved.push(finding),
                _ => {
                    return Err(refused(format!("finding `{uid}` is not in alert `{id}`")));
                }
            }
        }
        if u64::try_from(moved.len()).unwrap_or(u64::MAX) >= alert.count {
            return Err(refused("a split leaves at least one finding behind"));
        }
        moved.sort_by(|a, b| (a.time, &a.uid).cmp(&(b.time, &b.uid)));
        let (Some(first), Some(last)) = (moved.first(), moved.last()) else {
            return Err(refused("nothing to split"));
        };
        let new_id = grouping::split_alert_id(&first.uid);
        let (first_time, last_time) = (first.time.millis(), last.time.millis());
        let key = format!("split:{}", alert.key);
        let moved_uids: Vec<&[u8]> = moved.iter().map(|f| f.uid.as_bytes()).collect();
        self.write("split an alert of", |client, statements| {
            let insert = statements.cached(
                client,
                "INSERT INTO alerts (id, key, first, last, site) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO NOTHING",
            )?;
            let inserted = client.execute(
                &insert,
                &[
                    &new_id.as_bytes(),
                    &key.as_bytes(),
                    &first_time,
                    &last_time,
                    &optional_bytes(alert.site.as_deref()),
                ],
            )?;
            if inserted == 0 {
                return Ok(Err(StoreError::Conflict {
                    reason: format!("alert `{new_id}` exists already"),
                }));
            }
            let move_them = statements.cached(
                client,
                "UPDATE triage SET alert = $2 WHERE uid = ANY ($1::bytea[])",
            )?;
            client.execute(&move_them, &[&moved_uids, &new_id.as_bytes()])?;
            refresh_span(client, statements, id)?;
            Ok(Ok(()))
        })??;
        Ok(new_id)
    }

    fn detach_finding(&mut self, uid: &str) -> Result<String, StoreError> {
        let Some(finding) = self.triaged(uid)? else {
            return Err(StoreError::NotFound {
                what: format!("finding `{uid}`"),
            });
        };
        let new_id = grouping::detached_alert_id(uid);
        if finding.alert == new_id || finding.alert == grouping::alert_id(uid) {
            let count = self
                .alert(&finding.alert)?
                .map_or(0, |alert: Alert| alert.count);
            if count <= 1 {
                return Err(refused(format!(
                    "finding `{uid}` is alone in its alert already"
                )));
            }
        }
        let old = finding.alert.clone();
        self.write("detach a finding in", |client, statements| {
            // What `INSERT OR REPLACE` does in the embedded store: the row as given.
            let make = statements.cached(
                client,
                "INSERT INTO alerts (id, key, first, last, site) VALUES ($1, '', $2, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET
                     key = excluded.key, first = excluded.first, last = excluded.last,
                     site = excluded.site",
            )?;
            client.execute(
                &make,
                &[
                    &new_id.as_bytes(),
                    &finding.time.millis(),
                    &optional_bytes(finding.site.as_deref()),
                ],
            )?;
            let move_it =
                statements.cached(client, "UPDATE triage SET alert = $2 WHERE uid = $1")?;
            client.execute(&move_it, &[&uid.as_bytes(), &new_id.as_bytes()])?;
            refresh_span(client, statements, &old)
        })?;
        Ok(new_id)
    }

    fn add_suppression(&mut self, suppression: &Suppression) -> Result<(), StoreError> {
        let json = serde_json::to_string(suppression).map_err(json_error)?;
        let added = self.write("add a suppression to", |client, statements| {
            let insert = statements.cached(
                client,
                "INSERT INTO suppressions (id, json, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO NOTHING",
            )?;
            let inserted = client.execute(
                &insert,
                &[
                    &suppression.id.as_bytes(),
                    &json.as_bytes(),
                    &suppression.expires_at,
                ],
            )?;
            if inserted == 0 {
                return Ok(Err(StoreError::Conflict {
                    reason: format!("suppression `{}` exists already", suppression.id),
                }));
            }
            Ok(Ok(()))
        });
        self.workspace.forget_suppressions();
        added?
    }

    fn end_suppression(&mut self, id: &str, by: &str, at: i64) -> Result<bool, StoreError> {
        let ended = self.write("end a suppression in", |client, statements| {
            let end = statements.cached(
                client,
                "UPDATE suppressions SET ended_at = $2, ended_by = $3
                 WHERE id = $1 AND ended_at IS NULL",
            )?;
            Ok(client.execute(&end, &[&id.as_bytes(), &at, &by.as_bytes()])?)
        });
        self.workspace.forget_suppressions();
        Ok(ended? > 0)
    }

    fn suppressions(&self) -> Result<Vec<SuppressionRecord>, StoreError> {
        let rows = self.read("read the suppressions of", |client, statements| {
            let statement = statements.cached(
                client,
                "SELECT s.json, s.ended_at, s.ended_by,
                        (SELECT count(*) FROM triage t WHERE t.suppressed_by = s.id)
                 FROM suppressions s ORDER BY s.id",
            )?;
            client
                .query(&statement, &[])?
                .iter()
                .map(|row| {
                    Ok((
                        text(row, 0, "suppressions.json")?,
                        row.try_get::<_, Option<i64>>(1)?,
                        optional_text(row, 2, "suppressions.ended_by")?,
                        unsigned(row.try_get(3)?, "count")?,
                    ))
                })
                .collect::<Result<Vec<_>, Failure>>()
        })?;
        let mut records = Vec::with_capacity(rows.len());
        for (json, ended_at, ended_by, matched) in rows {
            records.push(SuppressionRecord {
                suppression: serde_json::from_str(&json).map_err(json_error)?,
                ended_at,
                ended_by,
                matched,
            });
        }
        Ok(records)
    }

    fn create_case(
        &mut self,
        make: &mut dyn FnMut(String) -> Result<Case, seam_cases::CaseError>,
    ) -> Result<Case, StoreError> {
        let id = self.next_case_id()?;
        let case = make(id).map_err(refused)?;
        let json = serde_json::to_string(&case).map_err(json_error)?;
        self.write("save a case to", |client, statements| {
            put_case(client, statements, &case, &json, None)
        })??;
        Ok(case)
    }

    fn case(&self, id: &str) -> Result<Option<Case>, StoreError> {
        let json = self.read("read a case of", |client, statements| {
            let statement = statements.cached(client, "SELECT json FROM cases WHERE id = $1")?;
            client
                .query_opt(&statement, &[&id.as_bytes()])?
                .map(|row| text(&row, 0, "cases.json"))
                .transpose()
        })?;
        json.map(|json| serde_json::from_str(&json).map_err(json_error))
            .transpose()
    }

    fn save_cases(&mut self, cases: &[Case]) -> Result<(), StoreError> {
        let mut jsons = Vec::with_capacity(cases.len());
        for case in cases {
            jsons.push(serde_json::to_string(case).map_err(json_error)?);
        }
        self.write("save cases to", |client, statements| {
            // All or nothing: a conflict on a later case undoes the earlier ones, and only
            // them; the batch stays open.
            client.batch_execute("SAVEPOINT save_cases")?;
            for (case, json) in cases.iter().zip(&jsons) {
                let exists = statements
                    .cached(client, "SELECT EXISTS (SELECT 1 FROM cases WHERE id = $1)")?;
                let exists: bool = client
                    .query_one(&exists, &[&case.id.as_bytes()])?
                    .try_get(0)?;
                let expected = exists.then(|| case.version.saturating_sub(1));
                if let Err(error) = put_case(client, statements, case, json, expected)? {
                    client.batch_execute("ROLLBACK TO SAVEPOINT save_cases")?;
                    client.batch_execute("RELEASE SAVEPOINT save_cases")?;
                    return Ok(Err(error));
                }
            }
            client.batch_execute("RELEASE SAVEPOINT save_cases")?;
            Ok(Ok(()))
        })?
    }

    fn list_cases(&self, query: &CaseQuery) -> Result<Vec<Case>, StoreError> {
        let limit = query.limit.min(MAX_PAGE);
        let mut link_filter: Vec<(&str, &str)> = Vec::new();
        if let Some(finding) = &query.finding {
            link_filter.push(("findings", finding));
        }
        if let Some(person) = &query.person {
            link_filter.push(("people", person));
        }
        let status = query.status.map(|s| s.as_str().as_bytes());
        let jsons = self.read("list the cases of", |client, statements| {
            let rows = if let Some((kind, value)) = link_filter.first() {
                let statement = statements.cached(
                    client,
                    "SELECT c.json FROM case_links l JOIN cases c ON c.id = l.case_id
                     WHERE l.kind = $1 AND l.value = $2 ORDER BY c.updated_at DESC, c.id DESC",
                )?;
                client.query(&statement, &[&kind.as_bytes(), &value.as_bytes()])?
            } else {
                let statement = statements.cached(
                    client,
                    "SELECT json FROM cases WHERE ($1::bytea IS NULL OR status = $1)
                     ORDER BY updated_at DESC, id DESC",
                )?;
                client.query(&statement, &[&status])?
            };
            rows.iter()
                .map(|row| text(row, 0, "cases.json"))
                .collect::<Result<Vec<String>, Failure>>()
        })?;
        let mut cases = Vec::new();
        for json in jsons {
            if cases.len() >= limit {
                break;
            }
            let case: Case = serde_json::from_str(&json).map_err(json_error)?;
            if seam_store::workspace::case_matches(&case, query) {
                cases.push(case);
            }
        }
        Ok(cases)
    }

    fn next_case_id(&mut self) -> Result<String, StoreError> {
        let seq: i64 = self.write("number a case in", |client, statements| {
            let next = statements.cached(
                client,
                "UPDATE case_sequence SET next = next + 1 WHERE id = 1 RETURNING next - 1",
            )?;
            Ok(client.query_one(&next, &[])?.try_get(0)?)
        })?;
        Ok(format!("C-{seq}"))
    }

    fn record_custody(&mut self, entry: &CustodyEntry) -> Result<(), StoreError> {
        self.write("record custody in", |client, statements| {
            let insert = statements.cached(
                client,
                "INSERT INTO custody (case_id, sha256, at, actor, action)
                 VALUES ($1, $2, $3, $4, $5)",
            )?;
            client.execute(
                &insert,
                &[
                    &entry.case_id.as_bytes(),
                    &entry.sha256.as_bytes(),
                    &entry.at,
                    &entry.actor.as_bytes(),
                    &entry.action.as_bytes(),
                ],
            )?;
            Ok(())
        })
    }

    fn case_events(
        &self,
        case: &Case,
        since: Ts,
        until: Ts,
        limit: usize,
    ) -> Result<(seam_store::workspace::PersonEvents, bool), StoreError> {
        self.read_case_events(case, since, until, limit)
    }

    fn prune_workspace(
        &mut self,
        findings_before: Option<Ts>,
        closed_cases_before: Option<Ts>,
        dry_run: bool,
    ) -> Result<seam_store::workspace::WorkspacePruned, StoreError> {
        let before = findings_before.filter(|_| dry_run).map(Ts::millis);
        seam_store::Store::commit(self)?;
        const ORPHAN: &str = "NOT EXISTS (SELECT 1 FROM findings f
                                          WHERE sha256(f.uid) = sha256(t.uid) AND f.uid = t.uid)";
        let (orphans, jsons) = self.read("read the workspace's retention in", |client, _| {
            let orphans: i64 = client
                .query_one(
                    &format!(
                        "SELECT count(*) FROM triage t
                         WHERE {ORPHAN} OR ($1::bigint IS NOT NULL AND t.time < $1)"
                    ),
                    &[&before],
                )?
                .try_get(0)?;
            let rows = client.query("SELECT json FROM cases", &[])?;
            let jsons = rows
                .iter()
                .map(|row| text(row, 0, "cases.json"))
                .collect::<Result<Vec<String>, Failure>>()?;
            Ok((orphans, jsons))
        })?;
        let mut pruned = seam_store::workspace::WorkspacePruned {
            triage: u64::try_from(orphans).unwrap_or(0),
            ..Default::default()
        };
        let mut expired: Vec<String> = Vec::new();
        for json in jsons {
            let case: Case = serde_json::from_str(&json).map_err(json_error)?;
            if closed_cases_before
                .is_some_and(|cutoff| seam_store::workspace::case_expired(&case, cutoff))
            {
                expired.push(case.id);
            } else {
                pruned
                    .evidence_kept
                    .extend(case.evidence.iter().map(|e| e.sha256.clone()));
            }
        }
        pruned.cases = u64::try_from(expired.len()).unwrap_or(0);
        if dry_run || (pruned.triage == 0 && expired.is_empty()) {
            return Ok(pruned);
        }
        self.own_transaction("prune the workspace of", |transaction| {
            transaction.batch_execute(&format!(
                "DELETE FROM triage t WHERE {ORPHAN};
                 DELETE FROM triage_log l WHERE NOT EXISTS (SELECT 1 FROM triage t WHERE t.uid = l.uid);
                 DELETE FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM triage t WHERE t.alert = a.id);
                 DELETE FROM alert_keys k WHERE NOT EXISTS (SELECT 1 FROM alerts a WHERE a.id = k.alert);"
            ))?;
            for id in &expired {
                let id = id.as_bytes();
                transaction.execute("DELETE FROM cases WHERE id = $1", &[&id])?;
                transaction.execute("DELETE FROM case_links WHERE case_id = $1", &[&id])?;
                transaction.execute("DELETE FROM custody WHERE case_id = $1", &[&id])?;
            }
            Ok(())
        })?;
        Ok(pruned)
    }

    fn custody(&self, case_id: &str) -> Result<Vec<CustodyEntry>, StoreError> {
        self.read("read the custody of", |client, statements| {
            let statement = statements.cached(
                client,
                "SELECT case_id, sha256, at, actor, action FROM custody WHERE case_id = $1
                 ORDER BY id",
            )?;
            client
                .query(&statement, &[&case_id.as_bytes()])?
                .iter()
                .map(|row| {
                    Ok(CustodyEntry {
                        case_id: text(row, 0, "custody.case_id")?,
                        sha256: text(row, 1, "custody.sha256")?,
                        at: row.try_get(2)?,
                        actor: text(row, 3, "custody.actor")?,
                        action: text(row, 4, "custody.action")?,
                    })
                })
                .collect()
        })
    }
}

/// Erases a person from the workspace, in the erasure's transaction, before the findings
/// change, as the embedded store does: the triage rows and logs of `erased_findings` (their
/// uids as stored) and every triage, triage log and custody row holding a needle go; alert
/// keys holding one go, and an alert whose key or site holds one keeps its id with the key
/// emptied; a case link holding one is removed; cases and suppressions lose every text
/// holding one (from a list it is removed, elsewhere it reads `[erased]`), so the case and
/// the team's work on it stay. Every `bytea` column counts, not only those the embedded
/// store searches, so that no page keeps the person. Returns how many rows changed.
pub(crate) fn erase_subject(
    transaction: &mut Transaction<'_>,
    needles: &Needles,
    params: &NeedleParams,
    erased_findings: &[Vec<u8>],
) -> Result<u64, Failure> {
    let mut changed = 0u64;
    if !erased_findings.is_empty() {
        changed += transaction.execute(
            "DELETE FROM triage WHERE uid = ANY ($1::bytea[])",
            &[&erased_findings],
        )?;
        changed += transaction.execute(
            "DELETE FROM triage_log WHERE uid = ANY ($1::bytea[])",
            &[&erased_findings],
        )?;
    }
    for (table, columns) in WORKSPACE_TABLES {
        let holds = params.held_by_any(columns);
        let sql = match table {
            "alerts" => format!("UPDATE alerts SET key = ''::bytea, site = NULL WHERE {holds}"),
            // Rewritten below, field by field.
            "cases" | "suppressions" => continue,
            _ => format!("DELETE FROM {table} WHERE {holds}"),
        };
        changed += transaction.execute(&sql, &params.with(&[]))?;
    }
    // Who ended a suppression is an analyst, not a subject, but no page keeps a needle.
    changed += transaction.execute(
        &format!(
            "UPDATE suppressions SET ended_by = convert_to('[erased]', 'UTF8') WHERE {}",
            params.held_by("ended_by")
        ),
        &params.with(&[]),
    )?;
    for table in ["cases", "suppressions"] {
        let rows = transaction.query(
            &format!(
                "SELECT id, json FROM {table} WHERE {}",
                params.held_by("json")
            ),
            &params.with(&[]),
        )?;
        let update = transaction.prepare(&format!("UPDATE {table} SET json = $2 WHERE id = $1"))?;
        for row in rows {
            let id: Vec<u8> = row.try_get(0)?;
            let json: Vec<u8> = row.try_get(1)?;
            let mut value: serde_json::Value =
                serde_json::from_slice(&json).map_err(|_| Failure::Invalid {
                    what: "workspace record",
                })?;
            scrub_value(&mut value, needles);
            changed += transaction.execute(&update, &[&id, &value.to_string().as_bytes()])?;
        }
    }
    Ok(changed)
}

/// Removes every string holding a needle from arrays, and replaces it elsewhere.
fn scrub_value(value: &mut serde_json::Value, needles: &Needles) {
    use serde_json::Value;
    match value {
        Value::String(text) if needles.found_in(text.as_bytes()) => {
            *text = "[erased]".to_string();
        }
        Value::Array(items) => {
            items
                .retain(|item| !matches!(item, Value::String(t) if needles.found_in(t.as_bytes())));
            for item in items {
                scrub_value(item, needles);
            }
        }
        Value::Object(map) => {
            for (_, item) in map.iter_mut() {
                scrub_value(item, needles);
            }
        }
        _ => {}
    }
}

impl PostgresStore {
    /// The events of a case's people, zones, assets and events with a time in
    /// `since..=until` (person and JSON), at most `limit`, in log order; and whether the limit
    /// was reached. The time's block-range index narrows the scan to the span.
    fn read_case_events(
        &self,
        case: &Case,
        since: Ts,
        until: Ts,
        limit: usize,
    ) -> Result<(seam_store::workspace::PersonEvents, bool), StoreError> {
        let wanted = seam_store::workspace::case_wants(case);
        let people: Vec<&[u8]> = case.links.people.iter().map(|p| p.as_bytes()).collect();
        // The names an event's JSON must hold to concern the case by place, asset or event:
        // the server keeps only rows holding one (or of one of the people), and Rust checks
        // those for what they really say.
        let names: Vec<&[u8]> = case
            .links
            .zones
            .iter()
            .chain(&case.links.assets)
            .chain(&case.links.events)
            .map(|n| n.as_bytes())
            .collect();
        let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
        self.read("read a case's events", |client, _| {
            // A case of people only: the server keeps their rows of the span (read off the
            // time's block-range index), nothing is sent of anyone else's.
            let rows = if names.is_empty() {
                client.query(
                    "SELECT person, json FROM events
                     WHERE person = ANY($3::bytea[]) AND time >= $1 AND time <= $2
                       AND NOT tombstone
                     ORDER BY position LIMIT $4",
                    &[&since.millis(), &until.millis(), &people, &fetch],
                )?
            } else {
                client.query(
                    "SELECT person, json FROM events
                     WHERE time >= $1 AND time <= $2 AND NOT tombstone
                       AND (person = ANY($3::bytea[])
                            OR EXISTS (SELECT 1 FROM unnest($4::bytea[]) AS name
                                       WHERE position(name IN json) > 0))
                     ORDER BY position LIMIT $5",
                    &[&since.millis(), &until.millis(), &people, &names, &fetch],
                )?
            };
            let fetched_all = i64::try_from(rows.len()).unwrap_or(i64::MAX) < fetch;
            let mut found = Vec::new();
            for row in &rows {
                let person: Option<Vec<u8>> = row.try_get(0)?;
                let person = person.map(|p| utf8(p, "events.person")).transpose()?;
                let json = utf8(row.try_get(1)?, "events.json")?;
                if wanted(person.as_deref(), &json) {
                    if found.len() >= limit {
                        return Ok((found, true));
                    }
                    found.push((person, json));
                }
            }
            // The server stopped at the limit: more may follow what Rust turned down.
            Ok((found, !fetched_all))
        })
    }
}
