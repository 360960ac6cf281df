//! Shared cases: what both teams work in. A case links findings, events, people, assets and
//! zones; moves through a status workflow; holds tasks per team, notes and evidence; and can
//! be merged into another or split. Every change names the version it was made on: a stale
//! one is refused, never merged silently.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::evidence::EvidenceRef;
use crate::triage::{Disposition, Team};

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    Open,
    Investigating,
    Contained,
    Closed,
}

impl CaseStatus {
    pub const ALL: [CaseStatus; 4] = [
        CaseStatus::Open,
        CaseStatus::Investigating,
        CaseStatus::Contained,
        CaseStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Investigating => "investigating",
            CaseStatus::Contained => "contained",
            CaseStatus::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Result<CaseStatus, String> {
        CaseStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                format!("unknown status `{text}`; known: open, investigating, contained, closed")
            })
    }
}

/// How bad a case is.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum CaseSeverity {
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

impl CaseSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseSeverity::Low => "low",
            CaseSeverity::Medium => "medium",
            CaseSeverity::High => "high",
            CaseSeverity::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Result<CaseSeverity, String> {
        [
            CaseSeverity::Low,
            CaseSeverity::Medium,
            CaseSeverity::High,
            CaseSeverity::Critical,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| format!("unknown severity `{text}`; known: low, medium, high, critical"))
    }

    /// From an OCSF severity id (1 informational … 5 critical).
    pub fn from_ocsf(id: u8) -> CaseSeverity {
        match id {
            0..=2 => CaseSeverity::Low,
            3 => CaseSeverity::Medium,
            4 => CaseSeverity::High,
            _ => CaseSeverity::Critical,
        }
    }
}

/// Whether a task is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Open,
    Done,
}

/// One thing a team must do for a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Numbered from 1 within the case.
    pub id: u32,
    pub team: Team,
    pub title: String,
    /// Wall time (ms) it is due by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<i64>,
    pub status: TaskStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<i64>,
}

/// A note in a case; notes are never edited or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub at: i64,
    pub by: String,
    pub text: String,
}

/// One act on a case, kept in the case so its timeline shows the team's work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub at: i64,
    pub by: String,
    pub what: String,
}

/// What a case links to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Links {
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub findings: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub events: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub people: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub assets: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub zones: BTreeSet<String>,
}

/// The most of each kind a case links to.
pub const MAX_LINKS: usize = 10_000;

impl Links {
    fn sets(&self) -> [(&'static str, &BTreeSet<String>); 5] {
        [
            ("findings", &self.findings),
            ("events", &self.events),
            ("people", &self.people),
            ("assets", &self.assets),
            ("zones", &self.zones),
        ]
    }

    fn sets_mut(&mut self) -> [&mut BTreeSet<String>; 5] {
        [
            &mut self.findings,
            &mut self.events,
            &mut self.people,
            &mut self.assets,
            &mut self.zones,
        ]
    }

    pub fn is_empty(&self) -> bool {
        self.sets().iter().all(|(_, s)| s.is_empty())
    }

    fn check(&self) -> Result<(), CaseError> {
        for (what, set) in self.sets() {
            for id in set {
                crate::check_id(what, id).map_err(|reason| CaseError::Invalid { reason })?;
            }
        }
        Ok(())
    }

    fn add(&mut self, other: &Links) -> Result<(), CaseError> {
        for ((what, theirs), ours) in other.sets().into_iter().zip(self.sets_mut()) {
            ours.extend(theirs.iter().cloned());
            if ours.len() > MAX_LINKS {
                return Err(CaseError::Invalid {
                    reason: format!("a case links at most {MAX_LINKS} {what}"),
                });
            }
        }
        Ok(())
    }

    fn remove(&mut self, other: &Links) {
        for ((_, theirs), ours) in other.sets().into_iter().zip(self.sets_mut()) {
            ours.retain(|id| !theirs.contains(id));
        }
    }
}

/// A case, as stored (one document per case).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    pub title: String,
    /// The case type (response procedure) it follows, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub status: CaseStatus,
    pub severity: CaseSeverity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<Disposition>,
    /// The sites it concerns: who may see it.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub sites: BTreeSet<String>,
    pub links: Links,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<Task>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<Note>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub activity: Vec<Activity>,
    /// The event-time span its timeline covers (ms), from its findings and events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<(i64, i64)>,
    pub created_at: i64,
    pub created_by: String,
    pub updated_at: i64,
    /// When it first left `open`: time to acknowledge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<i64>,
    /// Set when it was merged into another case; a merged case takes no more changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    pub version: u64,
}

/// What a caller sends to open a case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseDraft {
    pub title: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub severity: Option<CaseSeverity>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub links: Links,
}

/// One change to a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case", deny_unknown_fields)]
pub enum CaseChange {
    Title {
        title: String,
    },
    Severity {
        severity: CaseSeverity,
    },
    Owner {
        #[serde(default)]
        owner: Option<String>,
    },
    /// Closing needs a disposition.
    Status {
        status: CaseStatus,
        #[serde(default)]
        disposition: Option<Disposition>,
    },
    Link {
        links: Links,
    },
    Unlink {
        links: Links,
    },
    Note {
        text: String,
    },
    AddTask {
        team: Team,
        title: String,
        #[serde(default)]
        due_at: Option<i64>,
    },
    CompleteTask {
        task: u32,
    },
}

/// Why a case change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("the case changed since version {expected} (it is at {found}); read it again")]
    Stale { expected: u64, found: u64 },
    #[error("a case cannot move from {from} to {to}")]
    IllegalTransition {
        from: &'static str,
        to: &'static str,
    },
    #[error("case `{id}` was merged into `{into}` and takes no more changes")]
    Merged { id: String, into: String },
    #[error("{reason}")]
    Invalid { reason: String },
    #[error("no task {task} in the case")]
    NoSuchTask { task: u32 },
}

fn invalid(reason: String) -> CaseError {
    CaseError::Invalid { reason }
}

/// The most tasks, notes and pieces of evidence a case holds, each.
pub const MAX_ITEMS: usize = 2_000;

impl Case {
    /// A new case from a draft; `tasks` come from its type's procedure.
    pub fn open(
        id: String,
        draft: CaseDraft,
        tasks: Vec<Task>,
        actor: &str,
        now: i64,
    ) -> Result<Case, CaseError> {
        crate::check_text("the title", &draft.title).map_err(invalid)?;
        if let Some(owner) = &draft.owner {
            crate::check_id("the owner", owner).map_err(invalid)?;
        }
        if let Some(kind) = &draft.kind {
            crate::check_id("the case type", kind).map_err(invalid)?;
        }
        draft.links.check()?;
        let mut links = Links::default();
        links.add(&draft.links)?;
        Ok(Case {
            id,
            title: draft.title.trim().to_string(),
            kind: draft.kind,
            status: CaseStatus::Open,
            severity: draft.severity.unwrap_or_default(),
            owner: draft.owner,
            disposition: None,
            sites: BTreeSet::new(),
            links,
            tasks,
            notes: Vec::new(),
            evidence: Vec::new(),
            activity: vec![Activity {
                at: now,
                by: actor.to_string(),
                what: "opened the case".to_string(),
            }],
            span: None,
            created_at: now,
            created_by: actor.to_string(),
            updated_at: now,
            acknowledged_at: None,
            closed_at: None,
            merged_into: None,
            version: 1,
        })
    }

    /// Checks a caller's expected version.
    pub fn expect(&self, expected: Option<u64>) -> Result<(), CaseError> {
        match expected {
            Some(expected) if expected != self.version => Err(CaseError::Stale {
                expected,
                found: self.version,
            }),
            _ => Ok(()),
        }
    }

    fn writable(&self) -> Result<(), CaseError> {
        match &self.merged_into {
            Some(into) => Err(CaseError::Merged {
                id: self.id.clone(),
                into: into.clone(),
            }),
            None => Ok(()),
        }
    }

    fn touched(&mut self, actor: &str, now: i64, what: String) {
        self.updated_at = now;
        self.version = self.version.saturating_add(1);
        if self.activity.len() < MAX_ITEMS {
            self.activity.push(Activity {
                at: now,
                by: actor.to_string(),
                what,
            });
        }
    }

    /// The case after `change` by `actor` at wall time `now`.
    pub fn apply(&self, change: &CaseChange, actor: &str, now: i64) -> Result<Case, CaseError> {
        self.writable()?;
        let mut next = self.clone();
        let what = match change {
            CaseChange::Title { title } => {
                crate::check_text("the title", title).map_err(invalid)?;
                next.title = title.trim().to_string();
                "retitled the case".to_string()
            }
            CaseChange::Severity { severity } => {
                next.severity = *severity;
                format!("set the severity to {}", severity.as_str())
            }
            CaseChange::Owner { owner } => {
                if let Some(owner) = owner {
                    crate::check_id("the owner", owner).map_err(invalid)?;
                }
                next.owner = owner.clone();
                match owner {
                    Some(owner) => format!("gave the case to {owner}"),
                    None => "left the case without an owner".to_string(),
                }
            }
            CaseChange::Status {
                status,
                disposition,
            } => {
                next.move_to(*status, *disposition, now)?;
                match disposition {
                    Some(d) => format!("moved the case to {} ({})", status.as_str(), d.as_str()),
                    None => format!("moved the case to {}", status.as_str()),
                }
            }
            CaseChange::Link { links } => {
                links.check()?;
                if links.is_empty() {
                    return Err(invalid("nothing to link".to_string()));
                }
                next.links.add(links)?;
                "linked to the case".to_string()
            }
            CaseChange::Unlink { links } => {
                next.links.remove(links);
                "unlinked from the case".to_string()
            }
            CaseChange::Note { text } => {
                crate::check_text("the note", text).map_err(invalid)?;
                if next.notes.len() >= MAX_ITEMS {
                    return Err(invalid(format!("a case holds at most {MAX_ITEMS} notes")));
                }
                next.notes.push(Note {
                    at: now,
                    by: actor.to_string(),
                    text: text.clone(),
                });
                "added a note".to_string()
            }
            CaseChange::AddTask {
                team,
                title,
                due_at,
            } => {
                crate::check_text("the task", title).map_err(invalid)?;
                if next.tasks.len() >= MAX_ITEMS {
                    return Err(invalid(format!("a case holds at most {MAX_ITEMS} tasks")));
                }
                let id = next.next_task_id();
                next.tasks.push(Task {
                    id,
                    team: *team,
                    title: title.trim().to_string(),
                    due_at: *due_at,
                    status: TaskStatus::Open,
                    done_by: None,
                    done_at: None,
                });
                format!("added task {id} for the {} team", team.as_str())
            }
            CaseChange::CompleteTask { task } => {
                let found = next
                    .tasks
                    .iter_mut()
                    .find(|t| t.id == *task)
                    .ok_or(CaseError::NoSuchTask { task: *task })?;
                if found.status == TaskStatus::Done {
                    return Err(invalid(format!("task {task} is done already")));
                }
                found.status = TaskStatus::Done;
                found.done_by = Some(actor.to_string());
                found.done_at = Some(now);
                format!("completed task {task}")
            }
        };
        next.touched(actor, now, what);
        Ok(next)
    }

    fn next_task_id(&self) -> u32 {
        self.tasks
            .iter()
            .map(|t| t.id)
            .max()
            .unwrap_or(0)
            .saturating_add(1)
    }

    fn move_to(
        &mut self,
        status: CaseStatus,
        disposition: Option<Disposition>,
        now: i64,
    ) -> Result<(), CaseError> {
        let illegal = CaseError::IllegalTransition {
            from: self.status.as_str(),
            to: status.as_str(),
        };
        match (self.status, status) {
            (from, to) if from == to => return Err(illegal),
            // Forward, skipping steps as the work allows; back only from closed (reopen) or
            // from contained to investigating (it spread).
            (CaseStatus::Closed, CaseStatus::Investigating) => {
                self.closed_at = None;
                self.disposition = None;
            }
            (CaseStatus::Closed, _) => return Err(illegal),
            (CaseStatus::Contained, CaseStatus::Investigating) => {}
            (from, to) if to < from => return Err(illegal),
            _ => {}
        }
        if status == CaseStatus::Closed {
            let Some(disposition) = disposition else {
                return Err(invalid("closing a case needs a disposition".to_string()));
            };
            self.disposition = Some(disposition);
            self.closed_at = Some(now);
        } else if disposition.is_some() {
            return Err(invalid(
                "only closing a case takes a disposition".to_string(),
            ));
        }
        self.status = status;
        if self.acknowledged_at.is_none() {
            self.acknowledged_at = Some(now);
        }
        Ok(())
    }

    /// Attaches evidence (the caller stored its content first). A second upload of the same
    /// content is refused by naming the piece already held.
    pub fn attach(&self, evidence: EvidenceRef, now: i64) -> Result<Case, CaseError> {
        self.writable()?;
        if let Some(held) = self.evidence.iter().find(|e| e.sha256 == evidence.sha256) {
            return Err(invalid(format!(
                "this evidence is attached already, as `{}`",
                held.name
            )));
        }
        if self.evidence.len() >= MAX_ITEMS {
            return Err(invalid(format!(
                "a case holds at most {MAX_ITEMS} pieces of evidence"
            )));
        }
        let mut next = self.clone();
        let actor = evidence.added_by.clone();
        let what = format!(
            "attached {} (sha256 {})",
            evidence.name,
            evidence.sha256.get(..12).unwrap_or_default()
        );
        next.evidence.push(evidence);
        next.touched(&actor, now, what);
        Ok(next)
    }

    /// Merges `source` into `self`: links, tasks, notes and evidence move over, the source is
    /// closed and points here. Returns (target, source) as they are after.
    pub fn merge(&self, source: &Case, actor: &str, now: i64) -> Result<(Case, Case), CaseError> {
        if self.id == source.id {
            return Err(invalid("a case cannot be merged with itself".to_string()));
        }
        self.writable()?;
        source.writable()?;
        let mut target = self.clone();
        target.links.add(&source.links)?;
        for task in &source.tasks {
            let id = target.next_task_id();
            target.tasks.push(Task { id, ..task.clone() });
        }
        target.notes.extend(source.notes.iter().cloned());
        for evidence in &source.evidence {
            if !target.evidence.iter().any(|e| e.sha256 == evidence.sha256) {
                target.evidence.push(evidence.clone());
            }
        }
        target.sites.extend(source.sites.iter().cloned());
        target.severity = target.severity.max(source.severity);
        target.span = union_span(target.span, source.span);
        if target.tasks.len() > MAX_ITEMS
            || target.notes.len() > MAX_ITEMS
            || target.evidence.len() > MAX_ITEMS
        {
            return Err(invalid(format!(
                "the merged case would hold more than {MAX_ITEMS} tasks, notes or pieces of \
                 evidence"
            )));
        }
        target.touched(
            actor,
            now,
            format!("merged case {} into this one", source.id),
        );
        let mut merged = source.clone();
        merged.merged_into = Some(self.id.clone());
        if merged.status != CaseStatus::Closed {
            merged.status = CaseStatus::Closed;
            merged.closed_at = Some(now);
        }
        merged.touched(actor, now, format!("merged into case {}", self.id));
        Ok((target, merged))
    }

    /// Splits `links` off into a new case `id` (same type, severity and owner). Returns
    /// (this case after, the new case).
    pub fn split(
        &self,
        id: String,
        title: String,
        links: &Links,
        actor: &str,
        now: i64,
    ) -> Result<(Case, Case), CaseError> {
        self.writable()?;
        if links.is_empty() {
            return Err(invalid("nothing to split off".to_string()));
        }
        for ((what, wanted), (_, held)) in links.sets().into_iter().zip(self.links.sets()) {
            if let Some(missing) = wanted.iter().find(|id| !held.contains(*id)) {
                return Err(invalid(format!(
                    "the case does not link the {what} `{missing}`"
                )));
            }
        }
        let draft = CaseDraft {
            title,
            kind: self.kind.clone(),
            severity: Some(self.severity),
            owner: self.owner.clone(),
            links: links.clone(),
        };
        let mut split = Case::open(id, draft, Vec::new(), actor, now)?;
        split.sites = self.sites.clone();
        split.span = self.span;
        split.activity.push(Activity {
            at: now,
            by: actor.to_string(),
            what: format!("split off case {}", self.id),
        });
        let mut rest = self.clone();
        rest.links.remove(links);
        rest.touched(actor, now, format!("split case {} off this one", split.id));
        Ok((rest, split))
    }

    /// Widens the event-time span to cover `time`.
    pub fn cover(&mut self, time: i64) {
        self.span = union_span(self.span, Some((time, time)));
    }
}

fn union_span(a: Option<(i64, i64)>, b: Option<(i64, i64)>) -> Option<(i64, i64)> {
    match (a, b) {
        (Some((a0, a1)), Some((b0, b1))) => Some((a0.min(b0), a1.max(b1))),
        (a, None) => a,
        (None, b) => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(findings: &[&str]) -> Links {
        Links {
            findings: findings.iter().map(|s| s.to_string()).collect(),
            ..Links::default()
        }
    }

    fn case(id: &str) -> Case {
        Case::open(
            id.into(),
            CaseDraft {
                title: "Tailgate then sign-in".into(),
                links: links(&["f1", "f2"]),
                ..CaseDraft::default()
            },
            Vec::new(),
            "ann",
            100,
        )
        .unwrap()
    }

    #[test]
    fn the_workflow_moves_forward_and_closes_with_a_disposition() {
        let c = case("C-1");
        let c = c
            .apply(
                &CaseChange::Status {
                    status: CaseStatus::Investigating,
                    disposition: None,
                },
                "bob",
                200,
            )
            .unwrap();
        assert_eq!(c.acknowledged_at, Some(200));
        assert_eq!(c.version, 2);
        let no_disposition = c.apply(
            &CaseChange::Status {
                status: CaseStatus::Closed,
                disposition: None,
            },
            "bob",
            300,
        );
        assert!(matches!(no_disposition, Err(CaseError::Invalid { .. })));
        let closed = c
            .apply(
                &CaseChange::Status {
                    status: CaseStatus::Closed,
                    disposition: Some(Disposition::TruePositive),
                },
                "bob",
                300,
            )
            .unwrap();
        assert_eq!(closed.closed_at, Some(300));
        let back = closed.apply(
            &CaseChange::Status {
                status: CaseStatus::Open,
                disposition: None,
            },
            "bob",
            400,
        );
        assert!(matches!(back, Err(CaseError::IllegalTransition { .. })));
        let same = case("C-2").apply(
            &CaseChange::Status {
                status: CaseStatus::Open,
                disposition: None,
            },
            "bob",
            400,
        );
        assert!(matches!(same, Err(CaseError::IllegalTransition { .. })));
    }

    #[test]
    fn tasks_are_numbered_and_completed_once() {
        let c = case("C-1")
            .apply(
                &CaseChange::AddTask {
                    team: Team::Cyber,
                    title: "Check the ports in the zone".into(),
                    due_at: Some(1_000),
                },
                "ann",
                150,
            )
            .unwrap();
        assert_eq!(c.tasks[0].id, 1);
        let done = c
            .apply(&CaseChange::CompleteTask { task: 1 }, "cy", 160)
            .unwrap();
        assert_eq!(done.tasks[0].status, TaskStatus::Done);
        assert!(
            done.apply(&CaseChange::CompleteTask { task: 1 }, "cy", 170)
                .is_err()
        );
        assert_eq!(
            done.apply(&CaseChange::CompleteTask { task: 9 }, "cy", 170),
            Err(CaseError::NoSuchTask { task: 9 })
        );
    }

    #[test]
    fn merging_moves_everything_and_freezes_the_source() {
        let a = case("C-1");
        let mut b = case("C-2");
        b.links.people.insert("bob".into());
        assert!(matches!(
            a.merge(&a, "ann", 200),
            Err(CaseError::Invalid { .. })
        ));
        let (a2, b2) = a.merge(&b, "ann", 200).unwrap();
        assert!(a2.links.people.contains("bob"));
        assert_eq!(b2.merged_into.as_deref(), Some("C-1"));
        assert_eq!(b2.status, CaseStatus::Closed);
        assert!(matches!(
            b2.apply(&CaseChange::Note { text: "x".into() }, "ann", 300),
            Err(CaseError::Merged { .. })
        ));
    }

    #[test]
    fn splitting_moves_the_named_links_to_a_new_case() {
        let a = case("C-1");
        let (rest, split) = a
            .split(
                "C-9".into(),
                "The sign-in".into(),
                &links(&["f2"]),
                "ann",
                300,
            )
            .unwrap();
        assert_eq!(rest.links.findings, links(&["f1"]).findings);
        assert_eq!(split.links.findings, links(&["f2"]).findings);
        assert!(
            a.split("C-9".into(), "x".into(), &links(&["nope"]), "ann", 300)
                .is_err()
        );
        assert!(
            a.split("C-9".into(), "x".into(), &Links::default(), "ann", 300)
                .is_err()
        );
    }

    #[test]
    fn the_same_evidence_is_attached_once() {
        let evidence = EvidenceRef {
            sha256: "a".repeat(64),
            bytes: 3,
            name: "cctv.mp4".into(),
            media_type: None,
            added_by: "ann".into(),
            added_at: 10,
        };
        let c = case("C-1").attach(evidence.clone(), 10).unwrap();
        assert!(c.attach(evidence, 11).is_err());
    }

    #[test]
    fn stale_versions_are_refused() {
        let c = case("C-1");
        assert!(c.expect(Some(1)).is_ok());
        assert_eq!(
            c.expect(Some(0)),
            Err(CaseError::Stale {
                expected: 0,
                found: 1
            })
        );
    }
}
