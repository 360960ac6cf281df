//! The workspace: what analysts do with findings, kept beside them. Every stored finding gets
//! a triage row (its lifecycle, its alert, whether a suppression matched) in the commit that
//! stores it; cases, suppressions and the chain of custody live here too. [`Workspace`] is the
//! contract both stores keep, checked by `conformance::workspace_suite`; the rules (legal
//! moves, grouping keys, what a suppression matches) are `seam-cases`', so both stores decide
//! alike.

use std::collections::BTreeMap;
use std::sync::Arc;

use seam_cases::{
    Case, FindingFacts, Grouping, Suppression, TriageAction, TriageState, TriageStatus,
    triage::Team,
};
use seam_model::Ts;

use crate::StoreError;

/// The site a finding concerns, from what the installation knows (a zone's site, the
/// person's home site); `None` when the finding names none. Given by the service, which has
/// the estate; without one, only a site the finding names itself counts.
pub type SiteOf = Arc<dyn Fn(&FindingFacts) -> Option<String> + Send + Sync>;

/// How the workspace treats new findings.
#[derive(Clone, Default)]
pub struct WorkspaceSettings {
    pub grouping: Grouping,
    pub site_of: Option<SiteOf>,
}

impl std::fmt::Debug for WorkspaceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkspaceSettings")
            .field("grouping", &self.grouping)
            .field("site_of", &self.site_of.is_some())
            .finish()
    }
}

/// A finding with its triage, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriagedFinding {
    pub uid: String,
    pub rule: String,
    pub time: Ts,
    pub severity_id: u8,
    pub person: Option<String>,
    pub site: Option<String>,
    pub zone: Option<String>,
    pub asset: Option<String>,
    pub alert: String,
    /// The suppression that matched when it was stored; it is kept and counted all the same.
    pub suppressed_by: Option<String>,
    pub triage: TriageState,
    /// Wall time (ms) it was stored: time to acknowledge starts here.
    pub stored_at: i64,
    /// The finding itself.
    pub json: String,
}

/// Where a page of findings ends: the next page starts after it (newest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub time: Ts,
    pub uid: String,
}

impl Cursor {
    /// As text for a URL: `time.uid`.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.time.millis(), self.uid)
    }

    pub fn decode(text: &str) -> Result<Cursor, String> {
        let (time, uid) = text
            .split_once('.')
            .ok_or_else(|| "the cursor is not one this service gave".to_string())?;
        let time = time
            .parse::<i64>()
            .map_err(|_| "the cursor is not one this service gave".to_string())?;
        seam_cases::check_id("the cursor", uid)?;
        Ok(Cursor {
            time: Ts(time),
            uid: uid.to_string(),
        })
    }
}

/// Whether suppressed findings are listed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SuppressedFilter {
    /// Only those no suppression matched: the default working view.
    #[default]
    Hide,
    Only,
    Include,
}

/// Which findings to list, newest first. Every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingQuery {
    pub rule: Option<String>,
    /// At least this OCSF severity id.
    pub min_severity: Option<u8>,
    pub status: Option<TriageStatus>,
    /// Only these sites (a caller's scope); `None` for every site, findings of no site
    /// included.
    pub sites: Option<Vec<String>>,
    pub zone: Option<String>,
    pub person: Option<String>,
    pub asset: Option<String>,
    pub alert: Option<String>,
    pub assignee: Option<String>,
    pub team: Option<Team>,
    pub suppressed: SuppressedFilter,
    /// Inclusive lower bound on the finding's time.
    pub since: Option<Ts>,
    /// Exclusive upper bound.
    pub until: Option<Ts>,
    /// Words that must all appear in its title, message, rule or places (case-insensitive).
    pub text: Option<String>,
    /// Continue after this finding.
    pub after: Option<Cursor>,
    pub limit: usize,
}

/// A page of findings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingPage {
    pub findings: Vec<TriagedFinding>,
    /// Set when there may be more.
    pub next: Option<Cursor>,
}

/// One triage act, as kept (comments included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriageEntry {
    pub uid: String,
    pub at: i64,
    pub actor: String,
    pub action: TriageAction,
}

/// An alert: findings grouped by a shared person, zone or asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub id: String,
    /// `person:…`, `zone:…`, `asset:…`, or empty for a finding alone.
    pub key: String,
    pub first: Ts,
    pub last: Ts,
    pub site: Option<String>,
    /// Findings per status.
    pub statuses: BTreeMap<TriageStatus, u64>,
    pub count: u64,
    /// The highest severity id among them.
    pub severity_id: u8,
}

/// Which alerts to list, most recent first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertQuery {
    pub sites: Option<Vec<String>>,
    pub since: Option<Ts>,
    pub until: Option<Ts>,
    /// Only alerts with a finding not closed.
    pub open_only: bool,
    pub limit: usize,
}

/// A suppression as kept: ended ones stay, for the audit of what was silenced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppressionRecord {
    pub suppression: Suppression,
    pub ended_at: Option<i64>,
    pub ended_by: Option<String>,
    /// Findings it matched.
    pub matched: u64,
}

/// Which cases to list, most recently changed first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseQuery {
    pub status: Option<seam_cases::CaseStatus>,
    pub owner: Option<String>,
    pub kind: Option<String>,
    pub finding: Option<String>,
    pub person: Option<String>,
    pub sites: Option<Vec<String>>,
    pub limit: usize,
}

/// One act on a piece of evidence: its chain of custody.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustodyEntry {
    pub case_id: String,
    pub sha256: String,
    pub at: i64,
    pub actor: String,
    /// `uploaded`, `downloaded`, `exported`, `refused: digest mismatch`, …
    pub action: String,
}

/// Stored events, each with the person it was resolved to and its JSON.
pub type PersonEvents = Vec<(Option<String>, String)>;

/// The workspace contract.
pub trait Workspace {
    /// Sets how new findings are grouped and placed.
    fn configure_workspace(&mut self, settings: WorkspaceSettings);

    /// Findings with their triage, newest first, `query.limit` at most.
    fn list_findings(&self, query: &FindingQuery) -> Result<FindingPage, StoreError>;

    fn triaged(&self, uid: &str) -> Result<Option<TriagedFinding>, StoreError>;

    /// Applies a triage act; `expected` is the version the caller saw (a stale one is
    /// [`StoreError::Conflict`]); an illegal move is [`StoreError::Refused`]. Kept in the
    /// finding's triage log. Returns the new state.
    fn triage(
        &mut self,
        uid: &str,
        action: &TriageAction,
        actor: &str,
        at: i64,
        expected: Option<u64>,
    ) -> Result<TriageState, StoreError>;

    /// A finding's triage acts, oldest first.
    fn triage_log(&self, uid: &str) -> Result<Vec<TriageEntry>, StoreError>;

    fn alert(&self, id: &str) -> Result<Option<Alert>, StoreError>;

    fn list_alerts(&self, query: &AlertQuery) -> Result<Vec<Alert>, StoreError>;

    /// Moves these findings of an alert into a new one; returns its id.
    fn split_alert(&mut self, id: &str, uids: &[String]) -> Result<String, StoreError>;

    /// Takes a finding out of its alert into one of its own; returns its id.
    fn detach_finding(&mut self, uid: &str) -> Result<String, StoreError>;

    /// Keeps a suppression; new findings it matches are marked from now on.
    fn add_suppression(&mut self, suppression: &Suppression) -> Result<(), StoreError>;

    /// Ends a suppression early (it stays listed). `false` when there is none by that id or
    /// it had ended.
    fn end_suppression(&mut self, id: &str, by: &str, at: i64) -> Result<bool, StoreError>;

    fn suppressions(&self) -> Result<Vec<SuppressionRecord>, StoreError>;

    /// Opens a case; `make` builds it from the id the store assigns (`C-1`, `C-2`, …).
    fn create_case(
        &mut self,
        make: &mut dyn FnMut(String) -> Result<Case, seam_cases::CaseError>,
    ) -> Result<Case, StoreError>;

    fn case(&self, id: &str) -> Result<Option<Case>, StoreError>;

    /// Saves changed cases together, each only if it is still at the version it was read at
    /// (`case.version - 1`); otherwise nothing is saved and it is [`StoreError::Conflict`].
    /// A case whose id is not stored yet is added (a split's new case).
    fn save_cases(&mut self, cases: &[Case]) -> Result<(), StoreError>;

    fn list_cases(&self, query: &CaseQuery) -> Result<Vec<Case>, StoreError>;

    /// A new id for a case made outside [`Workspace::create_case`] (a split).
    fn next_case_id(&mut self) -> Result<String, StoreError>;

    fn record_custody(&mut self, entry: &CustodyEntry) -> Result<(), StoreError>;

    fn custody(&self, case_id: &str) -> Result<Vec<CustodyEntry>, StoreError>;

    /// The events of a case's people, zones, assets and events with a time in
    /// `since..=until` (their resolved person and JSON), in log order, at most `limit`; and
    /// whether the limit cut them short. [`case_wants`] decides which.
    fn case_events(
        &self,
        case: &Case,
        since: Ts,
        until: Ts,
        limit: usize,
    ) -> Result<(crate::workspace::PersonEvents, bool), StoreError>;

    /// Retention for the workspace: drops the triage rows (and logs, and alerts left empty)
    /// of findings no longer stored, and cases closed before `closed_cases_before` with
    /// their links and chains of custody. With `dry_run` it counts only, the triage rows of
    /// findings before `findings_before` included (the findings' own prune has not run).
    /// Commits first.
    fn prune_workspace(
        &mut self,
        findings_before: Option<Ts>,
        closed_cases_before: Option<Ts>,
        dry_run: bool,
    ) -> Result<WorkspacePruned, StoreError>;
}

/// What [`Workspace::prune_workspace`] dropped (or would drop).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkspacePruned {
    /// Triage rows whose findings had gone.
    pub triage: u64,
    pub cases: u64,
    /// The evidence digests the remaining cases hold: any other evidence file may go.
    pub evidence_kept: std::collections::BTreeSet<String>,
}

/// Whether a case goes under a retention cutoff: closed (merged ones are closed) before it.
pub fn case_expired(case: &Case, closed_before: Ts) -> bool {
    case.status == seam_cases::CaseStatus::Closed
        && case.closed_at.is_some_and(|at| at < closed_before.millis())
}

/// A store with its lifecycle and a workspace.
pub trait WorkspaceStore: crate::Lifecycle + Workspace {}

impl<T: crate::Lifecycle + Workspace> WorkspaceStore for T {}

/// The most findings one page holds.
pub const MAX_PAGE: usize = 10_000;

/// The most findings one split or bulk act takes.
pub const MAX_BULK: usize = 1_000;

/// Whether a case passes a query's conditions (both stores filter through this).
pub fn case_matches(case: &Case, query: &CaseQuery) -> bool {
    query.status.is_none_or(|s| case.status == s)
        && query
            .owner
            .as_ref()
            .is_none_or(|o| case.owner.as_ref() == Some(o))
        && query
            .kind
            .as_ref()
            .is_none_or(|k| case.kind.as_ref() == Some(k))
        && query
            .finding
            .as_ref()
            .is_none_or(|f| case.links.findings.contains(f))
        && query
            .person
            .as_ref()
            .is_none_or(|p| case.links.people.contains(p))
        && query.sites.as_ref().is_none_or(|sites| {
            // A case of no site is everyone's; one of sites is seen by callers of any of them.
            case.sites.is_empty() || case.sites.iter().any(|s| sites.contains(s))
        })
}

/// How a store scans its events for a case: the people whose events it keeps at once, and
/// whether (and how) it must read an event's JSON to decide about the others.
pub struct EventScan<'a> {
    pub people: &'a std::collections::BTreeSet<String>,
    /// The case names zones, assets or events: the JSON of other events must be read.
    pub reads_json: bool,
    pub wanted: Box<Wanted<'a>>,
}

/// Whether an event (its person and JSON) is wanted.
pub type Wanted<'a> = dyn Fn(Option<&str>, &str) -> bool + Sync + 'a;

impl std::fmt::Debug for EventScan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventScan")
            .field("people", &self.people.len())
            .field("reads_json", &self.reads_json)
            .finish_non_exhaustive()
    }
}

impl<'a> EventScan<'a> {
    pub fn of(case: &'a Case) -> EventScan<'a> {
        EventScan {
            people: &case.links.people,
            reads_json: !(case.links.zones.is_empty()
                && case.links.assets.is_empty()
                && case.links.events.is_empty()),
            wanted: Box::new(case_wants(case)),
        }
    }
}

/// Whether a stored event (its resolved person and JSON) belongs on a case's timeline: its
/// person is one of the case's, or it names one of the case's zones or assets, or it is one
/// of the case's events. The JSON is parsed only when a text check says it may be.
pub fn case_wants(case: &Case) -> impl Fn(Option<&str>, &str) -> bool + Sync + '_ {
    move |person, json| {
        if person.is_some_and(|p| case.links.people.contains(p)) {
            return true;
        }
        let named = case
            .links
            .zones
            .iter()
            .chain(&case.links.assets)
            .chain(&case.links.events)
            .any(|name| json.contains(name.as_str()));
        if !named {
            return false;
        }
        let Ok(value) = serde_json::from_str::<serde_json::Value>(json) else {
            return false;
        };
        let uid = value
            .get("uid")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        seam_cases::timeline::concerns(case, uid, person, &value)
    }
}

/// Widens a case from its findings' triage rows: their sites, people, zones and assets are
/// linked, and its span covers their times. An unknown finding is [`StoreError::NotFound`].
pub fn place_case(store: &dyn Workspace, case: &mut Case) -> Result<(), StoreError> {
    let uids: Vec<String> = case.links.findings.iter().take(1_000).cloned().collect();
    for uid in uids {
        let Some(finding) = store.triaged(&uid)? else {
            return Err(StoreError::NotFound {
                what: format!("finding `{}`", uid.chars().take(80).collect::<String>()),
            });
        };
        if let Some(site) = &finding.site {
            case.sites.insert(site.clone());
        }
        if let Some(person) = &finding.person {
            case.links.people.insert(person.clone());
        }
        if let Some(zone) = &finding.zone {
            case.links.zones.insert(zone.clone());
        }
        if let Some(asset) = &finding.asset {
            case.links.assets.insert(asset.clone());
        }
        case.cover(finding.time.millis());
    }
    Ok(())
}

/// The case type a new case follows: the one named, or else the one the earliest of its
/// findings' rules opens (none when no procedure names them).
pub fn case_type_for(
    store: &dyn Workspace,
    procedures: &seam_cases::Procedures,
    named: Option<&str>,
    findings: &std::collections::BTreeSet<String>,
) -> Result<Option<seam_cases::CaseType>, StoreError> {
    if let Some(named) = named {
        return procedures.get(named).cloned().map(Some).ok_or_else(|| {
            StoreError::InvalidRequest {
                reason: format!("no case type `{named}`"),
            }
        });
    }
    let mut rules = Vec::new();
    for uid in findings.iter().take(1_000) {
        if let Some(finding) = store.triaged(uid)? {
            rules.push((finding.time, finding.rule));
        }
    }
    rules.sort();
    Ok(procedures
        .for_rules(rules.iter().map(|(_, rule)| rule.as_str()))
        .cloned())
}

/// A stored finding's facts for its triage row: what its JSON says, the store's columns
/// winning (they are what the engine meant), placed on a site by the settings' resolver when
/// it names none. Names longer than any id are not kept (see `FindingFacts`).
pub fn facts_of(finding: &crate::StoredFinding, settings: &WorkspaceSettings) -> FindingFacts {
    let mut facts = FindingFacts::from_json(&finding.json).unwrap_or_else(|| FindingFacts {
        uid: finding.uid.clone(),
        rule: finding.rule.clone(),
        time: finding.time.millis(),
        ..FindingFacts::default()
    });
    facts.uid.clone_from(&finding.uid);
    facts.rule.clone_from(&finding.rule);
    facts.time = finding.time.millis();
    if let Some(person) = finding
        .person
        .as_ref()
        .filter(|p| p.len() <= seam_cases::MAX_ID_BYTES)
    {
        facts.person = Some(person.clone());
    }
    if facts.site.is_none()
        && let Some(site_of) = &settings.site_of
    {
        facts.site = site_of(&facts).filter(|s| s.len() <= seam_cases::MAX_ID_BYTES);
    }
    facts
}
