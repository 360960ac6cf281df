//! The workspace's tables in the embedded store's SQLite database (migration 3): one triage
//! row per finding with the columns lists filter on, alerts, the triage log, suppressions,
//! cases and the chain of custody.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Row, ToSql, params};
use seam_cases::{
    Case, FindingFacts, Suppression, TriageAction, TriageState, TriageStatus, grouping, suppression,
};
use seam_model::Ts;

use super::Database;
use crate::workspace::{
    Alert, AlertQuery, CaseQuery, Cursor, CustodyEntry, FindingPage, FindingQuery, MAX_BULK,
    MAX_PAGE, SuppressedFilter, SuppressionRecord, TriageEntry, TriagedFinding, WorkspaceSettings,
};
use crate::{StoreError, StoredFinding};

pub(super) const MIGRATION: &str = "
    CREATE TABLE triage (
        uid           TEXT PRIMARY KEY NOT NULL,
        rule          TEXT NOT NULL,
        time          INTEGER NOT NULL,
        severity_id   INTEGER NOT NULL,
        person        TEXT,
        site          TEXT,
        zone          TEXT,
        asset         TEXT,
        alert         TEXT NOT NULL,
        suppressed_by TEXT,
        status        TEXT NOT NULL,
        assignee      TEXT,
        team          TEXT,
        version       INTEGER NOT NULL,
        state         TEXT NOT NULL,
        stored_at     INTEGER NOT NULL,
        text          TEXT NOT NULL
    );
    CREATE INDEX triage_by_time ON triage (time, uid);
    CREATE INDEX triage_by_status ON triage (status, time, uid);
    CREATE INDEX triage_by_rule ON triage (rule, time, uid);
    CREATE INDEX triage_by_site ON triage (site, time, uid);
    CREATE INDEX triage_by_person ON triage (person, time, uid);
    CREATE INDEX triage_by_zone ON triage (zone, time, uid);
    CREATE INDEX triage_by_asset ON triage (asset, time, uid);
    CREATE INDEX triage_by_alert ON triage (alert, time, uid);
    CREATE INDEX triage_by_assignee ON triage (assignee, time, uid);

    CREATE TABLE alerts (
        id    TEXT PRIMARY KEY NOT NULL,
        key   TEXT NOT NULL,
        first INTEGER NOT NULL,
        last  INTEGER NOT NULL,
        site  TEXT
    );
    -- Every key of every finding in an alert: a later finding joins by any of them.
    CREATE TABLE alert_keys (
        key   TEXT NOT NULL,
        alert TEXT NOT NULL,
        first INTEGER NOT NULL,
        last  INTEGER NOT NULL,
        PRIMARY KEY (key, alert)
    ) WITHOUT ROWID;
    CREATE INDEX alert_keys_by_last ON alert_keys (key, last);
    CREATE INDEX alerts_by_last ON alerts (last, id);

    CREATE TABLE triage_log (
        id     INTEGER PRIMARY KEY AUTOINCREMENT,
        uid    TEXT NOT NULL,
        at     INTEGER NOT NULL,
        actor  TEXT NOT NULL,
        action TEXT NOT NULL
    );
    CREATE INDEX triage_log_by_uid ON triage_log (uid, id);

    CREATE TABLE suppressions (
        id         TEXT PRIMARY KEY NOT NULL,
        json       TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        ended_at   INTEGER,
        ended_by   TEXT
    );

    CREATE TABLE cases (
        id         TEXT PRIMARY KEY NOT NULL,
        seq        INTEGER NOT NULL,
        version    INTEGER NOT NULL,
        status     TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        json       TEXT NOT NULL
    );
    CREATE INDEX cases_by_updated ON cases (updated_at, id);
    CREATE TABLE case_links (
        kind    TEXT NOT NULL,
        value   TEXT NOT NULL,
        case_id TEXT NOT NULL,
        PRIMARY KEY (kind, value, case_id)
    ) WITHOUT ROWID;
    CREATE TABLE case_sequence (id INTEGER PRIMARY KEY CHECK (id = 1), next INTEGER NOT NULL);
    INSERT INTO case_sequence (id, next) VALUES (1, 1);

    CREATE TABLE custody (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        case_id TEXT NOT NULL,
        sha256  TEXT NOT NULL,
        at      INTEGER NOT NULL,
        actor   TEXT NOT NULL,
        action  TEXT NOT NULL
    );
    CREATE INDEX custody_by_case ON custody (case_id, id);

    -- Findings stored before the workspace existed get their rows on first open (see
    -- `index_missing`).
";

/// The wall clock, read at the edge: when a finding was stored, whether a suppression is on.
pub(crate) fn wall_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A version as SQLite's integer (versions count edits: they never near `i64::MAX`).
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

/// The suppressions in force, read once and again after each change.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    pub(crate) settings: WorkspaceSettings,
    suppressions: Option<Vec<Suppression>>,
}

/// What indexing one finding needs from the database's state.
fn index_one(
    connection: &Connection,
    settings: &WorkspaceSettings,
    suppressions: &[Suppression],
    finding: &StoredFinding,
    now: i64,
) -> Result<(), StoreError> {
    let facts = crate::workspace::facts_of(finding, settings);
    let suppressed = suppression::suppressed_by(suppressions, &facts, now).map(|s| s.id.clone());
    let alert = assign_alert(connection, settings, &facts)?;
    let state = TriageState::default();
    connection
        .prepare_cached(
            "INSERT OR IGNORE INTO triage (uid, rule, time, severity_id, person, site, zone, asset,
                 alert, suppressed_by, status, assignee, team, version, state, stored_at, text)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL, NULL, ?12, ?13, ?14, ?15)",
        )?
        .execute(params![
            facts.uid,
            facts.rule,
            facts.time,
            facts.severity_id,
            facts.person,
            facts.site,
            facts.zone,
            facts.asset,
            alert,
            suppressed,
            state.status.as_str(),
            version(state.version),
            serde_json::to_string(&state).map_err(json_error)?,
            now,
            facts.search_text(),
        ])?;
    Ok(())
}

/// The alert a new finding joins, made or widened: the one sharing any of its keys (most
/// telling first) whose findings are within the span.
fn assign_alert(
    connection: &Connection,
    settings: &WorkspaceSettings,
    facts: &FindingFacts,
) -> Result<String, StoreError> {
    let span = settings.grouping.span_ms;
    let keys = settings.grouping.keys(facts);
    let mut joined = None;
    for key in &keys {
        let found: Option<String> = connection
            .prepare_cached(
                "SELECT alert FROM alert_keys
                 WHERE key = ?1 AND last >= ?2 AND first <= ?3
                 ORDER BY last DESC, alert DESC LIMIT 1",
            )?
            .query_row(
                params![
                    key,
                    facts.time.saturating_sub(span),
                    facts.time.saturating_add(span)
                ],
                |row| row.get(0),
            )
            .optional()?;
        if found.is_some() {
            joined = found;
            break;
        }
    }
    let id = match joined {
        Some(id) => {
            connection
                .prepare_cached(
                    "UPDATE alerts SET first = MIN(first, ?2), last = MAX(last, ?2) WHERE id = ?1",
                )?
                .execute(params![id, facts.time])?;
            id
        }
        None => {
            let id = grouping::alert_id(&facts.uid);
            let key = keys.first().cloned().unwrap_or_default();
            connection
                .prepare_cached(
                    "INSERT OR IGNORE INTO alerts (id, key, first, last, site)
                     VALUES (?1, ?2, ?3, ?3, ?4)",
                )?
                .execute(params![id, key, facts.time, facts.site])?;
            id
        }
    };
    let mut remember = connection.prepare_cached(
        "INSERT INTO alert_keys (key, alert, first, last) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (key, alert) DO UPDATE SET
             first = MIN(first, excluded.first), last = MAX(last, excluded.last)",
    )?;
    for key in &keys {
        remember.execute(params![key, id, facts.time])?;
    }
    Ok(id)
}

const TRIAGE_COLUMNS: &str = "t.uid, t.rule, t.time, t.severity_id, t.person, t.site, t.zone, \
     t.asset, t.alert, t.suppressed_by, t.state, t.stored_at, f.json";

fn triaged_row(row: &Row<'_>) -> rusqlite::Result<(TriagedFinding, String)> {
    Ok((
        TriagedFinding {
            uid: row.get(0)?,
            rule: row.get(1)?,
            time: Ts(row.get(2)?),
            severity_id: row.get(3)?,
            person: row.get(4)?,
            site: row.get(5)?,
            zone: row.get(6)?,
            asset: row.get(7)?,
            alert: row.get(8)?,
            suppressed_by: row.get(9)?,
            triage: TriageState::default(),
            stored_at: row.get(11)?,
            json: row.get(12)?,
        },
        row.get(10)?,
    ))
}

fn with_state(
    (mut finding, state): (TriagedFinding, String),
) -> Result<TriagedFinding, StoreError> {
    finding.triage = serde_json::from_str(&state).map_err(json_error)?;
    Ok(finding)
}

impl Database {
    pub(crate) fn configure_workspace(&mut self, settings: WorkspaceSettings) {
        self.workspace.settings = settings;
    }

    fn active_suppressions(&mut self) -> Result<Vec<Suppression>, StoreError> {
        if let Some(cached) = &self.workspace.suppressions {
            return Ok(cached.clone());
        }
        let mut statement = self
            .connection
            .prepare_cached("SELECT json FROM suppressions WHERE ended_at IS NULL ORDER BY id")?;
        let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
        let mut all = Vec::new();
        for json in rows {
            all.push(serde_json::from_str::<Suppression>(&json?).map_err(json_error)?);
        }
        drop(statement);
        self.workspace.suppressions = Some(all.clone());
        Ok(all)
    }

    /// Gives the findings just stored (by uid) their triage rows, in the open batch.
    pub(crate) fn index_findings(&mut self, findings: &[StoredFinding]) -> Result<(), StoreError> {
        if findings.is_empty() {
            return Ok(());
        }
        let suppressions = self.active_suppressions()?;
        let settings = self.workspace.settings.clone();
        let now = wall_ms();
        self.batch(|connection| {
            for finding in findings {
                index_one(connection, &settings, &suppressions, finding, now)?;
            }
            Ok(())
        })
    }

    /// Indexes findings that have no triage row (stored before the workspace existed).
    pub(crate) fn index_missing(&mut self) -> Result<(), StoreError> {
        let missing = {
            let mut statement = self.connection.prepare(
                "SELECT uid, rule, time, person, severity, json FROM findings
                 WHERE uid NOT IN (SELECT uid FROM triage) ORDER BY time, uid",
            )?;
            let rows = statement.query_map([], |row| {
                Ok(StoredFinding {
                    uid: row.get(0)?,
                    rule: row.get(1)?,
                    time: Ts(row.get(2)?),
                    person: row.get(3)?,
                    severity: row.get(4)?,
                    json: row.get(5)?,
                })
            })?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        if missing.is_empty() {
            return Ok(());
        }
        for chunk in missing.chunks(10_000) {
            self.index_findings(chunk)?;
        }
        self.commit()
    }

    pub(crate) fn list_findings(&self, query: &FindingQuery) -> Result<FindingPage, StoreError> {
        let limit = query.limit.min(MAX_PAGE);
        if limit == 0 {
            return Ok(FindingPage::default());
        }
        // Several sites: SQLite would sort every finding of them; a page per site, each read
        // off the (site, time, uid) index in order, merged, costs a page per site instead.
        if let Some(sites) = query.sites.as_ref().filter(|sites| sites.len() > 1) {
            let mut merged = Vec::new();
            for site in sites.iter().collect::<std::collections::BTreeSet<_>>() {
                let one = FindingQuery {
                    sites: Some(vec![site.clone()]),
                    ..query.clone()
                };
                merged.extend(self.list_findings(&one)?.findings);
            }
            merged.sort_by(|a, b| (b.time, &b.uid).cmp(&(a.time, &a.uid)));
            merged.truncate(limit);
            let next = (merged.len() == limit)
                .then(|| merged.last())
                .flatten()
                .map(|last| Cursor {
                    time: last.time,
                    uid: last.uid.clone(),
                });
            return Ok(FindingPage {
                findings: merged,
                next,
            });
        }
        let mut sql = format!(
            "SELECT {TRIAGE_COLUMNS} FROM triage t JOIN findings f ON f.uid = t.uid WHERE 1 = 1"
        );
        let mut values: Vec<Box<dyn ToSql>> = Vec::new();
        let mut equal = |sql: &mut String, column: &str, value: &Option<String>| {
            if let Some(value) = value {
                values.push(Box::new(value.clone()));
                sql.push_str(&format!(" AND t.{column} = ?{}", values.len()));
            }
        };
        equal(&mut sql, "rule", &query.rule);
        equal(&mut sql, "zone", &query.zone);
        equal(&mut sql, "person", &query.person);
        equal(&mut sql, "asset", &query.asset);
        equal(&mut sql, "alert", &query.alert);
        equal(&mut sql, "assignee", &query.assignee);
        equal(
            &mut sql,
            "status",
            &query.status.map(|s| s.as_str().to_string()),
        );
        equal(
            &mut sql,
            "team",
            &query.team.map(|t| t.as_str().to_string()),
        );
        if let Some(severity) = query.min_severity {
            values.push(Box::new(severity));
            sql.push_str(&format!(" AND t.severity_id >= ?{}", values.len()));
        }
        if let Some(sites) = &query.sites {
            if sites.is_empty() {
                return Ok(FindingPage::default());
            }
            sql.push_str(" AND t.site IN (");
            for (i, site) in sites.iter().enumerate() {
                values.push(Box::new(site.clone()));
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("?{}", values.len()));
            }
            sql.push(')');
        }
        match query.suppressed {
            SuppressedFilter::Hide => sql.push_str(" AND t.suppressed_by IS NULL"),
            SuppressedFilter::Only => sql.push_str(" AND t.suppressed_by IS NOT NULL"),
            SuppressedFilter::Include => {}
        }
        if let Some(since) = query.since {
            values.push(Box::new(since.millis()));
            sql.push_str(&format!(" AND t.time >= ?{}", values.len()));
        }
        if let Some(until) = query.until {
            values.push(Box::new(until.millis()));
            sql.push_str(&format!(" AND t.time < ?{}", values.len()));
        }
        if let Some(text) = &query.text {
            for word in text.to_lowercase().split_whitespace().take(8) {
                let escaped = word
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                values.push(Box::new(format!("%{escaped}%")));
                sql.push_str(&format!(" AND t.text LIKE ?{} ESCAPE '\\'", values.len()));
            }
        }
        if let Some(after) = &query.after {
            values.push(Box::new(after.time.millis()));
            let time = values.len();
            values.push(Box::new(after.uid.clone()));
            let uid = values.len();
            sql.push_str(&format!(
                " AND (t.time < ?{time} OR (t.time = ?{time} AND t.uid < ?{uid}))"
            ));
        }
        values.push(Box::new(i64::try_from(limit).unwrap_or(i64::MAX)));
        sql.push_str(&format!(
            " ORDER BY t.time DESC, t.uid DESC LIMIT ?{}",
            values.len()
        ));
        let mut statement = self.connection.prepare_cached(&sql)?;
        let parameters: Vec<&dyn ToSql> = values.iter().map(|v| v.as_ref()).collect();
        let rows = statement.query_map(parameters.as_slice(), triaged_row)?;
        let mut findings = Vec::new();
        for row in rows {
            findings.push(with_state(row?)?);
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

    pub(crate) fn triaged(&self, uid: &str) -> Result<Option<TriagedFinding>, StoreError> {
        let row = self
            .connection
            .prepare_cached(&format!(
                "SELECT {TRIAGE_COLUMNS} FROM triage t JOIN findings f ON f.uid = t.uid
                 WHERE t.uid = ?1"
            ))?
            .query_row(params![uid], triaged_row)
            .optional()?;
        row.map(with_state).transpose()
    }

    pub(crate) fn triage(
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
        self.batch(|connection| {
            let changed = connection
                .prepare_cached(
                    "UPDATE triage SET status = ?2, assignee = ?3, team = ?4, version = ?5,
                         state = ?6
                     WHERE uid = ?1 AND version = ?7",
                )?
                .execute(params![
                    uid,
                    next.status.as_str(),
                    next.assignee,
                    next.team.map(|t| t.as_str()),
                    version(next.version),
                    state,
                    version(current.triage.version)
                ])?;
            if changed == 0 {
                return Err(StoreError::Conflict {
                    reason: format!("finding `{uid}` changed meanwhile; read it again"),
                });
            }
            connection
                .prepare_cached(
                    "INSERT INTO triage_log (uid, at, actor, action) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![uid, at, actor, logged])?;
            Ok(())
        })?;
        Ok(next)
    }

    pub(crate) fn triage_log(&self, uid: &str) -> Result<Vec<TriageEntry>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT uid, at, actor, action FROM triage_log WHERE uid = ?1 ORDER BY id",
        )?;
        let rows = statement.query_map(params![uid], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
            ))
        })?;
        let mut entries = Vec::new();
        for row in rows {
            let (uid, at, actor, action) = row?;
            entries.push(TriageEntry {
                uid,
                at,
                actor,
                action: serde_json::from_str(&action).map_err(json_error)?,
            });
        }
        Ok(entries)
    }

    fn alert_stats(&self, id: &str) -> Result<(BTreeMap<TriageStatus, u64>, u64, u8), StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT status, COUNT(*), MAX(severity_id) FROM triage WHERE alert = ?1 GROUP BY status",
        )?;
        let rows = statement.query_map(params![id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, u8>(2)?,
            ))
        })?;
        let mut statuses = BTreeMap::new();
        let (mut count, mut severity) = (0u64, 0u8);
        for row in rows {
            let (status, n, s) = row?;
            let n = u64::try_from(n).unwrap_or(0);
            statuses.insert(TriageStatus::parse(&status).map_err(refused)?, n);
            count += n;
            severity = severity.max(s);
        }
        Ok((statuses, count, severity))
    }

    fn alert_from(
        &self,
        (id, key, first, last, site): (String, String, i64, i64, Option<String>),
    ) -> Result<Alert, StoreError> {
        let (statuses, count, severity_id) = self.alert_stats(&id)?;
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

    pub(crate) fn alert(&self, id: &str) -> Result<Option<Alert>, StoreError> {
        let row = self
            .connection
            .prepare_cached("SELECT id, key, first, last, site FROM alerts WHERE id = ?1")?
            .query_row(params![id], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            })
            .optional()?;
        row.map(|row| self.alert_from(row)).transpose()
    }

    pub(crate) fn list_alerts(&self, query: &AlertQuery) -> Result<Vec<Alert>, StoreError> {
        let limit = query.limit.min(MAX_PAGE);
        let mut statement = self.connection.prepare_cached(
            "SELECT id, key, first, last, site FROM alerts
             WHERE (?1 IS NULL OR last >= ?1) AND (?2 IS NULL OR first < ?2)
             ORDER BY last DESC, id DESC",
        )?;
        let rows = statement.query_map(
            params![query.since.map(Ts::millis), query.until.map(Ts::millis)],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, Option<String>>(4)?,
                ))
            },
        )?;
        let mut alerts = Vec::new();
        for row in rows {
            if alerts.len() >= limit {
                break;
            }
            let row = row?;
            if let Some(sites) = &query.sites
                && !row.4.as_ref().is_some_and(|s| sites.contains(s))
            {
                continue;
            }
            let alert = self.alert_from(row)?;
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
        }
        Ok(alerts)
    }

    pub(crate) fn split_alert(&mut self, id: &str, uids: &[String]) -> Result<String, StoreError> {
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
        let key = alert.key.clone();
        self.batch(|connection| {
            let inserted = connection
                .prepare_cached(
                    "INSERT OR IGNORE INTO alerts (id, key, first, last, site)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    new_id,
                    format!("split:{key}"),
                    first_time,
                    last_time,
                    alert.site
                ])?;
            if inserted == 0 {
                return Err(StoreError::Conflict {
                    reason: format!("alert `{new_id}` exists already"),
                });
            }
            for finding in &moved {
                connection
                    .prepare_cached("UPDATE triage SET alert = ?2 WHERE uid = ?1")?
                    .execute(params![finding.uid, new_id])?;
            }
            refresh_span(connection, id)?;
            Ok(())
        })?;
        Ok(new_id)
    }

    pub(crate) fn detach_finding(&mut self, uid: &str) -> Result<String, StoreError> {
        let Some(finding) = self.triaged(uid)? else {
            return Err(StoreError::NotFound {
                what: format!("finding `{uid}`"),
            });
        };
        let new_id = grouping::detached_alert_id(uid);
        if finding.alert == new_id || finding.alert == grouping::alert_id(uid) {
            let (_, count, _) = self.alert_stats(&finding.alert)?;
            if count <= 1 {
                return Err(refused(format!(
                    "finding `{uid}` is alone in its alert already"
                )));
            }
        }
        let old = finding.alert.clone();
        self.batch(|connection| {
            connection
                .prepare_cached(
                    "INSERT OR REPLACE INTO alerts (id, key, first, last, site)
                     VALUES (?1, '', ?2, ?2, ?3)",
                )?
                .execute(params![new_id, finding.time.millis(), finding.site])?;
            connection
                .prepare_cached("UPDATE triage SET alert = ?2 WHERE uid = ?1")?
                .execute(params![uid, new_id])?;
            refresh_span(connection, &old)?;
            Ok(())
        })?;
        Ok(new_id)
    }

    pub(crate) fn add_suppression(&mut self, suppression: &Suppression) -> Result<(), StoreError> {
        let json = serde_json::to_string(suppression).map_err(json_error)?;
        self.batch(|connection| {
            let inserted = connection
                .prepare_cached(
                    "INSERT OR IGNORE INTO suppressions (id, json, expires_at) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![suppression.id, json, suppression.expires_at])?;
            if inserted == 0 {
                return Err(StoreError::Conflict {
                    reason: format!("suppression `{}` exists already", suppression.id),
                });
            }
            Ok(())
        })?;
        self.workspace.suppressions = None;
        Ok(())
    }

    pub(crate) fn end_suppression(
        &mut self,
        id: &str,
        by: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        let ended = self.batch(|connection| {
            Ok(connection
                .prepare_cached(
                    "UPDATE suppressions SET ended_at = ?2, ended_by = ?3
                     WHERE id = ?1 AND ended_at IS NULL",
                )?
                .execute(params![id, at, by])?)
        })?;
        self.workspace.suppressions = None;
        Ok(ended > 0)
    }

    pub(crate) fn suppressions(&self) -> Result<Vec<SuppressionRecord>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT s.json, s.ended_at, s.ended_by,
                    (SELECT COUNT(*) FROM triage t WHERE t.suppressed_by = s.id)
             FROM suppressions s ORDER BY s.id",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<i64>>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, i64>(3)?,
            ))
        })?;
        let mut records = Vec::new();
        for row in rows {
            let (json, ended_at, ended_by, matched) = row?;
            records.push(SuppressionRecord {
                suppression: serde_json::from_str(&json).map_err(json_error)?,
                ended_at,
                ended_by,
                matched: u64::try_from(matched).unwrap_or(0),
            });
        }
        Ok(records)
    }

    pub(crate) fn next_case_id(&mut self) -> Result<String, StoreError> {
        let seq = self.batch(|connection| {
            let seq: i64 = connection
                .prepare_cached("SELECT next FROM case_sequence WHERE id = 1")?
                .query_row([], |row| row.get(0))?;
            connection
                .prepare_cached("UPDATE case_sequence SET next = next + 1 WHERE id = 1")?
                .execute([])?;
            Ok(seq)
        })?;
        Ok(format!("C-{seq}"))
    }

    pub(crate) fn create_case(
        &mut self,
        make: &mut dyn FnMut(String) -> Result<Case, seam_cases::CaseError>,
    ) -> Result<Case, StoreError> {
        let id = self.next_case_id()?;
        let case = make(id).map_err(refused)?;
        self.batch(|connection| {
            put_case(connection, &case, None)?;
            Ok(())
        })?;
        Ok(case)
    }

    pub(crate) fn case(&self, id: &str) -> Result<Option<Case>, StoreError> {
        let json: Option<String> = self
            .connection
            .prepare_cached("SELECT json FROM cases WHERE id = ?1")?
            .query_row(params![id], |row| row.get(0))
            .optional()?;
        json.map(|json| serde_json::from_str(&json).map_err(json_error))
            .transpose()
    }

    pub(crate) fn save_cases(&mut self, cases: &[Case]) -> Result<(), StoreError> {
        self.batch(|connection| {
            for case in cases {
                let exists: bool = connection
                    .prepare_cached("SELECT EXISTS (SELECT 1 FROM cases WHERE id = ?1)")?
                    .query_row(params![case.id], |row| row.get(0))?;
                let expected = exists.then(|| case.version.saturating_sub(1));
                put_case(connection, case, expected)?;
            }
            Ok(())
        })
    }

    pub(crate) fn list_cases(&self, query: &CaseQuery) -> Result<Vec<Case>, StoreError> {
        let limit = query.limit.min(MAX_PAGE);
        let mut link_filter: Vec<(&str, &str)> = Vec::new();
        if let Some(finding) = &query.finding {
            link_filter.push(("findings", finding));
        }
        if let Some(person) = &query.person {
            link_filter.push(("people", person));
        }
        let jsons: Vec<String> = if let Some((kind, value)) = link_filter.first() {
            let mut statement = self.connection.prepare_cached(
                "SELECT c.json FROM case_links l JOIN cases c ON c.id = l.case_id
                 WHERE l.kind = ?1 AND l.value = ?2 ORDER BY c.updated_at DESC, c.id DESC",
            )?;
            let rows = statement.query_map(params![kind, value], |row| row.get(0))?;
            rows.collect::<Result<_, _>>()?
        } else {
            let mut statement = self.connection.prepare_cached(
                "SELECT json FROM cases WHERE (?1 IS NULL OR status = ?1)
                 ORDER BY updated_at DESC, id DESC",
            )?;
            let rows =
                statement.query_map(params![query.status.map(|s| s.as_str())], |row| row.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut cases = Vec::new();
        for json in jsons {
            if cases.len() >= limit {
                break;
            }
            let case: Case = serde_json::from_str(&json).map_err(json_error)?;
            if crate::workspace::case_matches(&case, query) {
                cases.push(case);
            }
        }
        Ok(cases)
    }

    pub(crate) fn record_custody(&mut self, entry: &CustodyEntry) -> Result<(), StoreError> {
        self.batch(|connection| {
            connection
                .prepare_cached(
                    "INSERT INTO custody (case_id, sha256, at, actor, action)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    entry.case_id,
                    entry.sha256,
                    entry.at,
                    entry.actor,
                    entry.action
                ])?;
            Ok(())
        })
    }

    pub(crate) fn custody(&self, case_id: &str) -> Result<Vec<CustodyEntry>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT case_id, sha256, at, actor, action FROM custody WHERE case_id = ?1 ORDER BY id",
        )?;
        let rows = statement.query_map(params![case_id], |row| {
            Ok(CustodyEntry {
                case_id: row.get(0)?,
                sha256: row.get(1)?,
                at: row.get(2)?,
                actor: row.get(3)?,
                action: row.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Recomputes an alert's span from the findings left in it.
fn refresh_span(connection: &Connection, id: &str) -> Result<(), StoreError> {
    connection
        .prepare_cached(
            "UPDATE alerts SET
                 first = COALESCE((SELECT MIN(time) FROM triage WHERE alert = ?1), first),
                 last = COALESCE((SELECT MAX(time) FROM triage WHERE alert = ?1), last)
             WHERE id = ?1",
        )?
        .execute(params![id])?;
    Ok(())
}

/// Writes a case if it is still at `expected` (or new when `None`), with its link index.
fn put_case(connection: &Connection, case: &Case, expected: Option<u64>) -> Result<(), StoreError> {
    let json = serde_json::to_string(case).map_err(json_error)?;
    let seq: i64 = case
        .id
        .strip_prefix("C-")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let written = match expected {
        None => connection
            .prepare_cached(
                "INSERT OR IGNORE INTO cases (id, seq, version, status, updated_at, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                case.id,
                seq,
                version(case.version),
                case.status.as_str(),
                case.updated_at,
                json
            ])?,
        Some(expected) => connection
            .prepare_cached(
                "UPDATE cases SET version = ?2, status = ?3, updated_at = ?4, json = ?5
                 WHERE id = ?1 AND version = ?6",
            )?
            .execute(params![
                case.id,
                version(case.version),
                case.status.as_str(),
                case.updated_at,
                json,
                version(expected)
            ])?,
    };
    if written == 0 {
        return Err(StoreError::Conflict {
            reason: format!(
                "case `{}` changed since version {}; read it again",
                case.id,
                case.version.saturating_sub(1)
            ),
        });
    }
    connection
        .prepare_cached("DELETE FROM case_links WHERE case_id = ?1")?
        .execute(params![case.id])?;
    let mut link = connection.prepare_cached(
        "INSERT OR IGNORE INTO case_links (kind, value, case_id) VALUES (?1, ?2, ?3)",
    )?;
    for (kind, values) in [
        ("findings", &case.links.findings),
        ("people", &case.links.people),
    ] {
        for value in values {
            link.execute(params![kind, value, case.id])?;
        }
    }
    Ok(())
}

/// Erases a person from the workspace, in the caller's transaction: triage rows of erased
/// findings and every workspace row holding a needle go (alerts keep their id with the key
/// emptied); cases and suppressions lose every text holding a needle (a link is removed, a
/// field reads `[erased]`), so the case itself and the team's work on it stay. Returns how
/// many rows changed.
pub(crate) fn erase_subject(
    connection: &Connection,
    needles: &crate::Needles,
    erased_findings: &[String],
) -> Result<u64, StoreError> {
    let mut changed = 0u64;
    let mut count = |n: usize| changed += u64::try_from(n).unwrap_or(0);
    for uid in erased_findings {
        count(connection.execute("DELETE FROM triage WHERE uid = ?1", params![uid])?);
        count(connection.execute("DELETE FROM triage_log WHERE uid = ?1", params![uid])?);
    }
    let holding = |sql: &str, columns: usize| -> Result<Vec<i64>, StoreError> {
        let mut statement = connection.prepare(sql)?;
        let mut rows = statement.query([])?;
        let mut found = Vec::new();
        while let Some(row) = rows.next()? {
            if super::lifecycle::row_holds(row, 1..1 + columns, needles)? {
                found.push(row.get(0)?);
            }
        }
        Ok(found)
    };
    for rowid in holding(
        "SELECT rowid, uid, person, zone, asset, text, state, alert FROM triage",
        7,
    )? {
        count(connection.execute("DELETE FROM triage WHERE rowid = ?1", params![rowid])?);
    }
    for id in holding("SELECT id, uid, actor, action FROM triage_log", 3)? {
        count(connection.execute("DELETE FROM triage_log WHERE id = ?1", params![id])?);
    }
    for id in holding("SELECT id, actor, sha256, action FROM custody", 3)? {
        count(connection.execute("DELETE FROM custody WHERE id = ?1", params![id])?);
    }
    // WITHOUT ROWID tables: collect their keys.
    let mut keyed = Vec::new();
    {
        let mut statement = connection.prepare("SELECT key, alert FROM alert_keys")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            if super::lifecycle::row_holds(row, 0..2, needles)? {
                keyed.push((row.get::<_, String>(0)?, row.get::<_, String>(1)?));
            }
        }
    }
    for (key, alert) in keyed {
        count(connection.execute(
            "DELETE FROM alert_keys WHERE key = ?1 AND alert = ?2",
            params![key, alert],
        )?);
    }
    for rowid in holding("SELECT rowid, key, site FROM alerts", 2)? {
        count(connection.execute(
            "UPDATE alerts SET key = '', site = NULL WHERE rowid = ?1",
            params![rowid],
        )?);
    }
    let mut links = Vec::new();
    {
        let mut statement = connection.prepare("SELECT kind, value, case_id FROM case_links")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            if super::lifecycle::row_holds(row, 1..2, needles)? {
                links.push((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ));
            }
        }
    }
    for (kind, value, case) in links {
        count(connection.execute(
            "DELETE FROM case_links WHERE kind = ?1 AND value = ?2 AND case_id = ?3",
            params![kind, value, case],
        )?);
    }
    for (table, key) in [("cases", "id"), ("suppressions", "id")] {
        let mut rewritten = Vec::new();
        {
            let mut statement = connection.prepare(&format!("SELECT {key}, json FROM {table}"))?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                if super::lifecycle::row_holds(row, 1..2, needles)? {
                    let id: String = row.get(0)?;
                    let json: String = row.get(1)?;
                    let mut value: serde_json::Value =
                        serde_json::from_str(&json).map_err(json_error)?;
                    scrub_value(&mut value, needles);
                    rewritten.push((id, value.to_string()));
                }
            }
        }
        for (id, json) in rewritten {
            count(connection.execute(
                &format!("UPDATE {table} SET json = ?2 WHERE {key} = ?1"),
                params![id, json],
            )?);
        }
    }
    Ok(changed)
}

/// Removes every string holding a needle from arrays, and replaces it elsewhere.
pub(crate) fn scrub_value(value: &mut serde_json::Value, needles: &crate::Needles) {
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

impl Database {
    pub(crate) fn prune_workspace(
        &mut self,
        findings_before: Option<Ts>,
        closed_cases_before: Option<Ts>,
        dry_run: bool,
    ) -> Result<crate::workspace::WorkspacePruned, StoreError> {
        self.commit()?;
        let mut pruned = crate::workspace::WorkspacePruned::default();
        let before = findings_before.filter(|_| dry_run).map(Ts::millis);
        let orphans: i64 = self.connection.query_row(
            "SELECT count(*) FROM triage
             WHERE uid NOT IN (SELECT uid FROM findings) OR (?1 IS NOT NULL AND time < ?1)",
            params![before],
            |row| row.get(0),
        )?;
        pruned.triage = u64::try_from(orphans).unwrap_or(0);
        let mut expired = Vec::new();
        {
            let mut statement = self
                .connection
                .prepare("SELECT json FROM cases WHERE status = 'closed'")?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                let case: Case =
                    serde_json::from_str(&row.get::<_, String>(0)?).map_err(json_error)?;
                if closed_cases_before
                    .is_some_and(|cutoff| crate::workspace::case_expired(&case, cutoff))
                {
                    expired.push(case.id);
                }
            }
        }
        pruned.cases = u64::try_from(expired.len()).unwrap_or(0);
        {
            let mut statement = self.connection.prepare("SELECT json FROM cases")?;
            let mut rows = statement.query([])?;
            while let Some(row) = rows.next()? {
                let case: Case =
                    serde_json::from_str(&row.get::<_, String>(0)?).map_err(json_error)?;
                if !expired.contains(&case.id) {
                    pruned
                        .evidence_kept
                        .extend(case.evidence.iter().map(|e| e.sha256.clone()));
                }
            }
        }
        if dry_run || (pruned.triage == 0 && expired.is_empty()) {
            return Ok(pruned);
        }
        self.securely(|connection| {
            let transaction = connection.unchecked_transaction()?;
            transaction.execute_batch(
                "DELETE FROM triage_log WHERE uid NOT IN (SELECT uid FROM findings);
                 DELETE FROM triage WHERE uid NOT IN (SELECT uid FROM findings);
                 DELETE FROM alerts WHERE id NOT IN (SELECT DISTINCT alert FROM triage);
                 DELETE FROM alert_keys WHERE alert NOT IN (SELECT id FROM alerts);",
            )?;
            for id in &expired {
                transaction.execute("DELETE FROM cases WHERE id = ?1", params![id])?;
                transaction.execute("DELETE FROM case_links WHERE case_id = ?1", params![id])?;
                transaction.execute("DELETE FROM custody WHERE case_id = ?1", params![id])?;
            }
            transaction.commit()?;
            Ok(())
        })?;
        Ok(pruned)
    }
}
