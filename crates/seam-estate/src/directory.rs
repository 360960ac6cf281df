//! Directory changes from systems of record (SCIM provisioning, HR and cardholder imports),
//! applied to a loaded estate one at a time, in event-time order.
//!
//! History, not overwrite: identifiers and status are time-bounded, so a change ends an
//! interval or starts a status at its own time and never rewrites the past. A badge that
//! moves to another person ends the old holder's interval at the change, so "who held badge
//! 4411 at 09:12 last March" keeps its answer. Other attributes (name, roles, clearances, …)
//! are as of the latest change; the engine applies changes in event-time order, so every
//! event is evaluated against the directory as it stood at its time.
//!
//! When several sources speak of one attribute, a configured [`Precedence`] says which wins:
//! a source ranked lower that states another value is kept in the history as a conflict and
//! not applied. Without a ranking, the latest change wins.
//!
//! Person indices never move: a new person is appended, a deleted one is terminated. The
//! lookups that directory changes touch (people by id, identifiers) are updated in place.

use std::collections::BTreeMap;

use seam_model::{DeltaIdentifier, DirectoryDelta, Ts};
use serde::Serialize;

use crate::clock::Window;
use crate::estate::Estate;
use crate::identity::{Identifier, IdentifierKind, normalize_identifier};
use crate::model::{Person, PersonIdx, PersonKind, StatusChange, StatusKind, ZoneIdx};
use crate::net::parse_mac;

/// The longest person id or identifier value a change may carry.
const MAX_VALUE_BYTES: usize = 256;
/// The most identifiers, roles or clearances one change may state.
const MAX_LIST: usize = 1_024;
/// History entries kept per person; the oldest go first (the changes themselves stay in the
/// event log).
const MAX_HISTORY: usize = 256;

/// One change to apply: what `source` said at `at`.
#[derive(Clone, Copy, Debug)]
pub struct DirectoryChange<'a> {
    pub at: Ts,
    pub source: &'a str,
    pub delta: &'a DirectoryDelta,
}

/// One entry of a person's history: what a source changed, and what it said that a source of
/// higher precedence overrode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HistoryEntry {
    pub at: Ts,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<String>,
    pub changes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
}

/// What applying one change did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    pub person: String,
    pub created: bool,
    /// What changed, in words; empty when the change restated what was already so.
    pub changes: Vec<String>,
    /// What was not applied because a source of higher precedence says otherwise, or because
    /// another person holds the identifier later on.
    pub conflicts: Vec<String>,
    /// Other people whose identifiers this change ended (a badge reassigned).
    pub others: Vec<String>,
}

/// Why a change was refused as a whole; nothing of it is applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error("the person id is empty or longer than {MAX_VALUE_BYTES} bytes")]
    BadPersonId,
    #[error("unknown {what} `{value}`")]
    Unknown { what: &'static str, value: String },
    #[error("`{value}` is not a valid {kind} identifier")]
    BadIdentifier { kind: IdentifierKind, value: String },
    #[error("identifier {kind} `{value}` ends before it starts")]
    EmptyInterval { kind: IdentifierKind, value: String },
    #[error("more than {MAX_LIST} {what} in one change")]
    TooMany { what: &'static str },
    #[error("the window ends before it starts")]
    EmptyWindow,
}

/// Which source wins, per attribute: earlier in a list wins. A source not listed ranks after
/// every listed one; between equals the latest change wins. Attributes are `name`, `kind`,
/// `status`, `department`, `team`, `manager`, `home_site`, `roles`, `clearances`, `window`
/// and each identifier kind (`badge`, `upn`, …).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Precedence {
    by_attribute: BTreeMap<String, Vec<String>>,
}

impl Precedence {
    pub fn new(by_attribute: BTreeMap<String, Vec<String>>) -> Precedence {
        Precedence { by_attribute }
    }

    /// The attributes a ranking may name.
    pub const ATTRIBUTES: &'static [&'static str] = &[
        "name",
        "kind",
        "status",
        "department",
        "team",
        "manager",
        "home_site",
        "roles",
        "clearances",
        "window",
        "badge",
        "upn",
        "email",
        "okta",
        "entra",
        "username",
        "device",
        "mac",
    ];

    fn rank(&self, attribute: &str, source: &str) -> usize {
        self.by_attribute
            .get(attribute)
            .and_then(|sources| sources.iter().position(|s| s == source))
            .unwrap_or(usize::MAX)
    }

    pub fn is_empty(&self) -> bool {
        self.by_attribute.is_empty()
    }
}

/// Per person and attribute, the source that last set it (for precedence).
pub(crate) type Owners = BTreeMap<(PersonIdx, String), String>;

/// A delta checked against the estate: every name resolved, every value normalized.
struct Checked {
    kind: Option<PersonKind>,
    status: Option<(StatusKind, Ts)>,
    home_site: Option<crate::model::SiteIdx>,
    clearances: Option<Vec<ZoneIdx>>,
    window: Option<Window>,
    identifiers: Vec<Identifier>,
    replaces: Vec<IdentifierKind>,
}

impl Estate {
    /// The ranking of sources per attribute used by [`Estate::apply_directory`].
    pub fn set_precedence(&mut self, precedence: Precedence) {
        self.precedence = precedence;
    }

    pub fn precedence(&self) -> &Precedence {
        &self.precedence
    }

    /// Applies one change at its own time. A change that does not check (an unknown zone or
    /// site, a malformed identifier) is refused whole and changes nothing.
    pub fn apply_directory(
        &mut self,
        change: DirectoryChange<'_>,
    ) -> Result<ApplyReport, DirectoryError> {
        let checked = self.check_delta(change)?;
        let delta = change.delta;
        let at = change.at;
        let (person, created) = match self.person_idx(delta.person.trim()) {
            Some(person) => (person, false),
            None => (self.add_person(delta, at), true),
        };
        let mut report = ApplyReport {
            person: delta.person.trim().to_owned(),
            created,
            changes: Vec::new(),
            conflicts: Vec::new(),
            others: Vec::new(),
        };
        if created {
            report.changes.push("created".to_owned());
        }
        let mut apply = Applier {
            estate: self,
            person,
            source: change.source,
            report: &mut report,
        };
        apply.attributes(delta, &checked);
        apply.status(checked.status, at);
        apply.identifiers(&checked, at);
        let entry = HistoryEntry {
            at,
            source: change.source.to_owned(),
            source_ref: delta.source_ref.clone(),
            changes: report.changes.clone(),
            conflicts: report.conflicts.clone(),
        };
        if let Some(person) = self.people.get_mut(person.index())
            && (!entry.changes.is_empty() || !entry.conflicts.is_empty())
        {
            if person.history.len() >= MAX_HISTORY {
                person.history.remove(0);
            }
            person.history.push(entry);
        }
        Ok(report)
    }

    fn check_delta(&self, change: DirectoryChange<'_>) -> Result<Checked, DirectoryError> {
        let delta = change.delta;
        let id = delta.person.trim();
        if id.is_empty() || id.len() > MAX_VALUE_BYTES {
            return Err(DirectoryError::BadPersonId);
        }
        let unknown = |what: &'static str, value: &str| DirectoryError::Unknown {
            what,
            value: value.to_owned(),
        };
        let kind = match delta.kind.as_deref() {
            Some(kind) => Some(PersonKind::parse(kind).ok_or_else(|| unknown("kind", kind))?),
            None => None,
        };
        let status = match delta.status.as_deref() {
            Some(status) => {
                let parsed = StatusKind::parse(status).ok_or_else(|| unknown("status", status))?;
                let from = delta
                    .status_from
                    .map_or(change.at, |from| from.max(change.at));
                Some((parsed, from))
            }
            None => None,
        };
        let home_site = match delta.home_site.as_deref() {
            Some(site) => Some(self.site_idx(site).ok_or_else(|| unknown("site", site))?),
            None => None,
        };
        let clearances = match &delta.clearances {
            Some(zones) => {
                if zones.len() > MAX_LIST {
                    return Err(DirectoryError::TooMany { what: "clearances" });
                }
                let mut indices = zones
                    .iter()
                    .map(|zone| self.zone_idx(zone).ok_or_else(|| unknown("zone", zone)))
                    .collect::<Result<Vec<_>, _>>()?;
                indices.sort_unstable();
                indices.dedup();
                Some(indices)
            }
            None => None,
        };
        if delta
            .roles
            .as_ref()
            .is_some_and(|roles| roles.len() > MAX_LIST)
        {
            return Err(DirectoryError::TooMany { what: "roles" });
        }
        let window = match delta.window {
            Some(window) => {
                let start = window.start.unwrap_or(Ts(i64::MIN));
                let end = window.end.unwrap_or(Ts(i64::MAX));
                if end < start {
                    return Err(DirectoryError::EmptyWindow);
                }
                Some(Window { start, end })
            }
            None => None,
        };
        if delta.identifiers.len() > MAX_LIST {
            return Err(DirectoryError::TooMany {
                what: "identifiers",
            });
        }
        let identifiers = delta
            .identifiers
            .iter()
            .map(|identifier| checked_identifier(identifier, change.at))
            .collect::<Result<Vec<_>, _>>()?;
        let replaces = delta
            .replaces
            .iter()
            .map(|kind| IdentifierKind::parse(kind).ok_or_else(|| unknown("identifier kind", kind)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Checked {
            kind,
            status,
            home_site,
            clearances,
            window,
            identifiers,
            replaces,
        })
    }

    fn add_person(&mut self, delta: &DirectoryDelta, at: Ts) -> PersonIdx {
        let index = PersonIdx(u32::try_from(self.people.len()).unwrap_or(u32::MAX));
        let id = delta.person.trim().to_owned();
        self.people.push(Person {
            id: id.clone(),
            name: id.clone(),
            kind: PersonKind::Employee,
            // Active from its creation unless the change says otherwise (applied after).
            status: vec![StatusChange {
                status: StatusKind::Active,
                since: at,
            }],
            roles: Vec::new(),
            clearances: Vec::new(),
            privileged: false,
            home_site: None,
            schedule: None,
            window: None,
            host: None,
            identifiers: Vec::new(),
            department: None,
            team: None,
            manager: None,
            remote_days: crate::clock::Weekdays::default(),
            on_call: Vec::new(),
            history: Vec::new(),
        });
        self.lookup.add_person(id, index);
        index
    }
}

fn checked_identifier(identifier: &DeltaIdentifier, at: Ts) -> Result<Identifier, DirectoryError> {
    let kind = IdentifierKind::parse(&identifier.kind).ok_or_else(|| DirectoryError::Unknown {
        what: "identifier kind",
        value: identifier.kind.clone(),
    })?;
    let value = normalize_identifier(kind, &identifier.value).into_owned();
    let bad = || DirectoryError::BadIdentifier {
        kind,
        value: identifier.value.chars().take(64).collect(),
    };
    if value.is_empty() || value.len() > MAX_VALUE_BYTES {
        return Err(bad());
    }
    if kind == IdentifierKind::Mac && parse_mac(&value).is_none() {
        return Err(bad());
    }
    // Never before the change: the past stays as it was.
    let from = identifier.from.map_or(at, |from| from.max(at));
    if identifier.until.is_some_and(|until| until <= from) {
        return Err(DirectoryError::EmptyInterval { kind, value });
    }
    Ok(Identifier {
        kind,
        value,
        from: Some(from),
        until: identifier.until,
    })
}

/// Applies the checked parts of one change to one person.
struct Applier<'e, 'r> {
    estate: &'e mut Estate,
    person: PersonIdx,
    source: &'e str,
    report: &'r mut ApplyReport,
}

impl Applier<'_, '_> {
    /// Whether this source may set `attribute` to a value other than the current one; when it
    /// may not, the conflict is reported.
    fn may_set(&mut self, attribute: &str, stated: &str) -> bool {
        let key = (self.person, attribute.to_owned());
        let precedence = &self.estate.precedence;
        let mine = precedence.rank(attribute, self.source);
        if let Some(owner) = self.estate.owners.get(&key)
            && precedence.rank(attribute, owner) < mine
        {
            self.report.conflicts.push(format!(
                "{attribute} `{stated}` from {} not applied: {owner} ranks first",
                self.source
            ));
            return false;
        }
        self.estate.owners.insert(key, self.source.to_owned());
        true
    }

    fn person(&mut self) -> Option<&mut Person> {
        self.estate.people.get_mut(self.person.index())
    }

    fn text(
        &mut self,
        attribute: &str,
        stated: Option<&String>,
        field: fn(&mut Person) -> &mut Option<String>,
    ) {
        let Some(stated) = stated.map(|s| s.trim()).filter(|s| !s.is_empty()) else {
            return;
        };
        let current = self.person().map(|p| field(p).clone()).unwrap_or_default();
        if current.as_deref() == Some(stated) || !self.may_set(attribute, stated) {
            return;
        }
        if let Some(person) = self.person() {
            *field(person) = Some(stated.to_owned());
        }
        self.report.changes.push(format!(
            "{attribute} {} → {stated}",
            current.as_deref().unwrap_or("(none)")
        ));
    }

    fn attributes(&mut self, delta: &DirectoryDelta, checked: &Checked) {
        if let Some(name) = delta
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            let current = self.person().map(|p| p.name.clone()).unwrap_or_default();
            if current != name && self.may_set("name", name) {
                if let Some(person) = self.person() {
                    person.name = name.to_owned();
                }
                self.report.changes.push(format!("name {current} → {name}"));
            }
        }
        if let Some(kind) = checked.kind {
            let current = self.person().map(|p| p.kind);
            if current != Some(kind) && self.may_set("kind", kind.as_str()) {
                if let Some(person) = self.person() {
                    person.kind = kind;
                }
                self.report
                    .changes
                    .push(format!("kind → {}", kind.as_str()));
            }
        }
        self.text("department", delta.department.as_ref(), |p| {
            &mut p.department
        });
        self.text("team", delta.team.as_ref(), |p| &mut p.team);
        self.text("manager", delta.manager.as_ref(), |p| &mut p.manager);
        if let Some(site) = checked.home_site {
            let current = self.person().and_then(|p| p.home_site);
            let name = self.estate.site(site).id.clone();
            if current != Some(site) && self.may_set("home_site", &name) {
                if let Some(person) = self.person() {
                    person.home_site = Some(site);
                }
                self.report.changes.push(format!("home site → {name}"));
            }
        }
        if let Some(roles) = &delta.roles {
            let mut roles: Vec<String> = roles
                .iter()
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .collect();
            roles.sort();
            roles.dedup();
            let mut current = self.person().map(|p| p.roles.clone()).unwrap_or_default();
            current.sort();
            if current != roles && self.may_set("roles", &roles.join(", ")) {
                if let Some(person) = self.person() {
                    person.roles = roles.clone();
                }
                self.report
                    .changes
                    .push(format!("roles → [{}]", roles.join(", ")));
            }
        }
        if let Some(clearances) = &checked.clearances {
            let current = self
                .person()
                .map(|p| p.clearances.clone())
                .unwrap_or_default();
            let names: Vec<String> = clearances
                .iter()
                .map(|zone| self.estate.zone(*zone).id.clone())
                .collect();
            if &current != clearances && self.may_set("clearances", &names.join(", ")) {
                if let Some(person) = self.person() {
                    person.clearances = clearances.clone();
                }
                self.report
                    .changes
                    .push(format!("clearances → [{}]", names.join(", ")));
            }
        }
        if let Some(window) = checked.window {
            let current = self.person().and_then(|p| p.window);
            let stated = format!("{} – {}", window.start, window.end);
            if current != Some(window) && self.may_set("window", &stated) {
                if let Some(person) = self.person() {
                    person.window = Some(window);
                }
                self.report.changes.push(format!("window → {stated}"));
            }
        }
    }

    /// A status from its time on: statements about later instants (a future leave date said
    /// before) give way to this one.
    fn status(&mut self, status: Option<(StatusKind, Ts)>, at: Ts) {
        let Some((status, from)) = status else {
            return;
        };
        let in_force = self.estate.status_at(self.person, from);
        let later_stated = self
            .person()
            .is_some_and(|p| p.status.iter().any(|change| change.since > from));
        if in_force == status.into() && !later_stated {
            return;
        }
        if !self.may_set("status", status.as_str()) {
            return;
        }
        let Some(person) = self.person() else {
            return;
        };
        person.status.retain(|change| change.since < from);
        person.status.push(StatusChange {
            status,
            since: from,
        });
        let when = if from > at {
            format!(" from {from}")
        } else {
            String::new()
        };
        self.report.changes.push(format!(
            "status {} → {}{when}",
            in_force.as_str(),
            status.as_str()
        ));
    }

    fn identifiers(&mut self, checked: &Checked, at: Ts) {
        let mut touched: Vec<(IdentifierKind, String)> = Vec::new();
        for kind in &checked.replaces {
            if !self.may_set(kind.as_str(), "(the set stated)") {
                continue;
            }
            let stated: Vec<&str> = checked
                .identifiers
                .iter()
                .filter(|identifier| identifier.kind == *kind)
                .map(|identifier| identifier.value.as_str())
                .collect();
            let Some(person) = self.estate.people.get_mut(self.person.index()) else {
                return;
            };
            let mut ended = Vec::new();
            person.identifiers.retain_mut(|held| {
                if held.kind != *kind || stated.contains(&held.value.as_str()) {
                    return true;
                }
                match (held.from, held.until) {
                    // Not yet begun: a statement about the future that this one replaces.
                    (Some(from), _) if from >= at => {
                        ended.push(held.value.clone());
                        false
                    }
                    (_, Some(until)) if until <= at => true,
                    _ => {
                        held.until = Some(at);
                        ended.push(held.value.clone());
                        true
                    }
                }
            });
            for value in ended {
                self.report
                    .changes
                    .push(format!("{} {value} ended", kind.as_str()));
                touched.push((*kind, value));
            }
        }
        for identifier in &checked.identifiers {
            if let Some(key) = self.identifier(identifier) {
                touched.push(key);
            }
        }
        touched.sort();
        touched.dedup();
        for (kind, value) in touched {
            self.estate.reindex_identifier(kind, &value, self.person);
        }
    }

    /// Gives the person one identifier from its start, ending another holder's interval
    /// there (a badge reassigned). Returns the key to reindex when anything changed.
    fn identifier(&mut self, stated: &Identifier) -> Option<(IdentifierKind, String)> {
        let kind = stated.kind;
        let value = stated.value.clone();
        let start = stated.from.unwrap_or(Ts(i64::MIN));
        // Already held over the start: at most the end moves.
        let person = self.estate.people.get_mut(self.person.index())?;
        if let Some(held) = person
            .identifiers
            .iter_mut()
            .find(|held| held.kind == kind && held.value == value && held.valid_at(start))
        {
            if held.until == stated.until {
                return None;
            }
            held.until = stated.until;
            let end = stated
                .until
                .map_or_else(|| "open".to_owned(), |until| until.to_string());
            self.report
                .changes
                .push(format!("{} {value} now until {end}", kind.as_str()));
            return Some((kind, value));
        }
        if !self.may_set(kind.as_str(), &value) {
            return None;
        }
        let others: Vec<PersonIdx> = self
            .estate
            .lookup
            .identities()
            .holders_of(kind, &value)
            .into_iter()
            .filter(|other| *other != self.person)
            .collect();
        // Another holder whose interval starts later cannot be cut short by this change.
        let later = others.iter().any(|other| {
            self.estate.people.get(other.index()).is_some_and(|p| {
                p.identifiers.iter().any(|held| {
                    held.kind == kind
                        && held.value == value
                        && held.from.is_some_and(|from| from > start)
                        && stated
                            .until
                            .is_none_or(|until| from_before(held.from, until))
                })
            })
        });
        if later {
            self.report.conflicts.push(format!(
                "{} {value} not given: another person holds it later",
                kind.as_str()
            ));
            return None;
        }
        for other in others {
            let Some(holder) = self.estate.people.get_mut(other.index()) else {
                continue;
            };
            let mut cut = false;
            for held in &mut holder.identifiers {
                if held.kind == kind && held.value == value && held.valid_at(start) {
                    held.until = Some(start);
                    cut = true;
                }
            }
            if cut {
                let note = format!(
                    "{} {value} reassigned to {}",
                    kind.as_str(),
                    self.report.person
                );
                self.report.others.push(holder.id.clone());
                if holder.history.len() >= MAX_HISTORY {
                    holder.history.remove(0);
                }
                holder.history.push(HistoryEntry {
                    at: start,
                    source: self.source.to_owned(),
                    source_ref: None,
                    changes: vec![note],
                    conflicts: Vec::new(),
                });
            }
        }
        let person = self.estate.people.get_mut(self.person.index())?;
        person.identifiers.push(stated.clone());
        self.report
            .changes
            .push(format!("{} {value} from {start}", kind.as_str()));
        Some((kind, value))
    }
}

fn from_before(from: Option<Ts>, until: Ts) -> bool {
    from.is_none_or(|from| from < until)
}

impl Estate {
    /// Sets an identifier's holdings in the index from the people's own lists: those the
    /// index knows as holders, and `taker`, who may have just taken it.
    fn reindex_identifier(&mut self, kind: IdentifierKind, value: &str, taker: PersonIdx) {
        let mut holders = self.lookup.identities().holders_of(kind, value);
        holders.push(taker);
        holders.sort_unstable();
        holders.dedup();
        let people = &self.people;
        let holdings: Vec<(PersonIdx, &Identifier)> = holders
            .iter()
            .filter_map(|idx| people.get(idx.index()).map(|p| (*idx, p)))
            .flat_map(|(idx, p)| {
                p.identifiers
                    .iter()
                    .filter(move |held| held.kind == kind && held.value == value)
                    .map(move |held| (idx, held))
            })
            .collect();
        self.lookup
            .identities_mut()
            .set_holdings(kind, value, holdings);
    }
}

/// What changed in the people of the estate's files between two loads, as directory changes
/// (source: the files), so that an edited directory file takes effect without a restart and
/// through the same event-time path as any other system of record. A person removed from the
/// files is terminated; each changed person's delta states the attributes that differ, and
/// the identifier kinds whose values differ completely.
pub fn people_changes(old: &Estate, new: &Estate) -> Vec<DirectoryDelta> {
    let mut deltas = Vec::new();
    for person in &new.people {
        let before = old.person_idx(&person.id).map(|idx| old.person(idx));
        if let Some(delta) = person_delta(before, old, person, new) {
            deltas.push(delta);
        }
    }
    for person in &old.people {
        if new.person_idx(&person.id).is_none() {
            let mut delta = DirectoryDelta::for_person(person.id.clone());
            delta.status = Some(StatusKind::Terminated.as_str().to_owned());
            delta.replaces = IdentifierKind::ALL
                .iter()
                .map(|kind| kind.as_str().to_owned())
                .collect();
            deltas.push(delta);
        }
    }
    deltas
}

fn person_delta(
    before: Option<&Person>,
    old: &Estate,
    person: &Person,
    new: &Estate,
) -> Option<DirectoryDelta> {
    let mut delta = DirectoryDelta::for_person(person.id.clone());
    let differs = |get: &dyn Fn(&Person) -> Option<String>| match before {
        Some(before) => get(before) != get(person),
        None => true,
    };
    if differs(&|p| Some(p.name.clone())) {
        delta.name = Some(person.name.clone());
    }
    if differs(&|p| Some(p.kind.as_str().to_owned())) {
        delta.kind = Some(person.kind.as_str().to_owned());
    }
    for (field, get) in [
        (
            &mut delta.department,
            (|p: &Person| p.department.clone()) as fn(&Person) -> _,
        ),
        (&mut delta.team, |p: &Person| p.team.clone()),
        (&mut delta.manager, |p: &Person| p.manager.clone()),
    ] {
        if differs(&get) {
            *field = get(person);
        }
    }
    let site_of = |estate: &Estate, p: &Person| p.home_site.map(|s| estate.site(s).id.clone());
    if before.map(|b| site_of(old, b)) != Some(site_of(new, person)) {
        delta.home_site = site_of(new, person);
    }
    let mut roles = person.roles.clone();
    roles.sort();
    if before.is_none_or(|b| {
        let mut old_roles = b.roles.clone();
        old_roles.sort();
        old_roles != roles
    }) {
        delta.roles = Some(roles);
    }
    let zones = |estate: &Estate, p: &Person| -> Vec<String> {
        let mut ids: Vec<String> = p
            .clearances
            .iter()
            .map(|z| estate.zone(*z).id.clone())
            .collect();
        ids.sort();
        ids
    };
    if before.map(|b| zones(old, b)) != Some(zones(new, person)) {
        delta.clearances = Some(zones(new, person));
    }
    if before.map(|b| b.window) != Some(person.window) {
        delta.window = person.window.map(|w| seam_model::DeltaWindow {
            start: Some(w.start),
            end: Some(w.end),
        });
    }
    // The status the files now give for the latest instant they speak of.
    if before.map(|b| b.status.last().copied()) != Some(person.status.last().copied())
        && let Some(last) = person.status.last()
    {
        delta.status = Some(last.status.as_str().to_owned());
        delta.status_from = Some(last.since);
    }
    for kind in IdentifierKind::ALL {
        let held = |p: &Person| -> Vec<(String, Option<Ts>, Option<Ts>)> {
            let mut values: Vec<_> = p
                .identifiers
                .iter()
                .filter(|i| i.kind == *kind)
                .map(|i| (i.value.clone(), i.from, i.until))
                .collect();
            values.sort();
            values
        };
        if before.map(held) == Some(held(person)) {
            continue;
        }
        delta.replaces.push(kind.as_str().to_owned());
        for identifier in person.identifiers.iter().filter(|i| i.kind == *kind) {
            delta.identifiers.push(DeltaIdentifier {
                kind: kind.as_str().to_owned(),
                value: identifier.value.clone(),
                from: identifier.from,
                until: identifier.until,
            });
        }
    }
    let unchanged = DirectoryDelta::for_person(person.id.clone());
    (delta != unchanged).then_some(delta)
}
