//! A finding's lifecycle: new → acknowledged → in progress → closed with a disposition, with
//! who and when; assignment to a user or a team; comments. Every move is checked here, so
//! both stores and every caller refuse the same illegal ones.

use serde::{Deserialize, Serialize};

/// Where a finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriageStatus {
    New,
    Acknowledged,
    InProgress,
    Closed,
}

impl TriageStatus {
    pub const ALL: [TriageStatus; 4] = [
        TriageStatus::New,
        TriageStatus::Acknowledged,
        TriageStatus::InProgress,
        TriageStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TriageStatus::New => "new",
            TriageStatus::Acknowledged => "acknowledged",
            TriageStatus::InProgress => "in_progress",
            TriageStatus::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Result<TriageStatus, String> {
        TriageStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                format!("unknown status `{text}`; known: new, acknowledged, in_progress, closed")
            })
    }
}

/// What a closed finding turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// An attack or a real breach of policy.
    TruePositive,
    /// What the rule describes did happen, and it was allowed (a drill, an approved test).
    BenignTruePositive,
    /// The rule was wrong.
    FalsePositive,
}

impl Disposition {
    pub const ALL: [Disposition; 3] = [
        Disposition::TruePositive,
        Disposition::BenignTruePositive,
        Disposition::FalsePositive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::TruePositive => "true_positive",
            Disposition::BenignTruePositive => "benign_true_positive",
            Disposition::FalsePositive => "false_positive",
        }
    }

    pub fn parse(text: &str) -> Result<Disposition, String> {
        Disposition::ALL
            .into_iter()
            .find(|d| d.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "unknown disposition `{text}`; known: true_positive, benign_true_positive, \
                     false_positive"
                )
            })
    }
}

/// The two teams a finding, an alert or a task goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Team {
    Physical,
    Cyber,
}

impl Team {
    pub fn as_str(self) -> &'static str {
        match self {
            Team::Physical => "physical",
            Team::Cyber => "cyber",
        }
    }

    pub fn parse(text: &str) -> Result<Team, String> {
        match text {
            "physical" => Ok(Team::Physical),
            "cyber" => Ok(Team::Cyber),
            other => Err(format!("unknown team `{other}`; known: physical, cyber")),
        }
    }
}

/// One finding's triage, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageState {
    pub status: TriageStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<Disposition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Team>,
    /// Wall time (ms) of the first acknowledgement, for time-to-acknowledge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<String>,
    /// Counts changes: a write naming an older version is refused (409), never merged.
    pub version: u64,
}

impl Default for TriageState {
    fn default() -> Self {
        TriageState {
            status: TriageStatus::New,
            disposition: None,
            assignee: None,
            team: None,
            acknowledged_at: None,
            acknowledged_by: None,
            closed_at: None,
            closed_by: None,
            version: 1,
        }
    }
}

/// A change an analyst makes to a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum TriageAction {
    Acknowledge,
    /// Work on it has begun.
    Start,
    Close {
        disposition: Disposition,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Reopen {
        reason: String,
    },
    /// To a user, a team, or both; `None` for both clears the assignment.
    Assign {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assignee: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        team: Option<Team>,
    },
    Comment {
        text: String,
    },
}

impl TriageAction {
    /// The action's name, as audited.
    pub fn name(&self) -> &'static str {
        match self {
            TriageAction::Acknowledge => "acknowledge",
            TriageAction::Start => "start",
            TriageAction::Close { .. } => "close",
            TriageAction::Reopen { .. } => "reopen",
            TriageAction::Assign { .. } => "assign",
            TriageAction::Comment { .. } => "comment",
        }
    }

    /// Checks the action's own texts and ids.
    pub fn check(&self) -> Result<(), TriageError> {
        let invalid = |reason: String| TriageError::Invalid { reason };
        match self {
            TriageAction::Close {
                reason: Some(reason),
                ..
            } => crate::check_text("the reason", reason).map_err(invalid),
            TriageAction::Reopen { reason } => {
                crate::check_text("the reason", reason).map_err(invalid)
            }
            TriageAction::Comment { text } => {
                crate::check_text("the comment", text).map_err(invalid)
            }
            TriageAction::Assign {
                assignee: Some(assignee),
                ..
            } => crate::check_id("the assignee", assignee).map_err(invalid),
            _ => Ok(()),
        }
    }
}

/// Why a triage action was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriageError {
    #[error("a finding that is {from} cannot be {action}")]
    IllegalTransition {
        from: &'static str,
        action: &'static str,
    },
    #[error("the finding changed since version {expected} (it is at {found}); read it again")]
    Stale { expected: u64, found: u64 },
    #[error("{reason}")]
    Invalid { reason: String },
}

impl TriageState {
    /// The state after `action` by `actor` at `at` (wall ms). A comment leaves the state as
    /// it is, version included: comments are kept beside it.
    pub fn apply(
        &self,
        action: &TriageAction,
        actor: &str,
        at: i64,
    ) -> Result<TriageState, TriageError> {
        action.check()?;
        let illegal = |action: &'static str| TriageError::IllegalTransition {
            from: self.status.as_str(),
            action,
        };
        let mut next = self.clone();
        match action {
            TriageAction::Acknowledge => {
                if self.status != TriageStatus::New {
                    return Err(illegal("acknowledged"));
                }
                next.status = TriageStatus::Acknowledged;
            }
            TriageAction::Start => {
                if !matches!(self.status, TriageStatus::New | TriageStatus::Acknowledged) {
                    return Err(illegal("started"));
                }
                next.status = TriageStatus::InProgress;
            }
            TriageAction::Close { disposition, .. } => {
                if self.status == TriageStatus::Closed {
                    return Err(illegal("closed"));
                }
                next.status = TriageStatus::Closed;
                next.disposition = Some(*disposition);
                next.closed_at = Some(at);
                next.closed_by = Some(actor.to_string());
            }
            TriageAction::Reopen { .. } => {
                if self.status != TriageStatus::Closed {
                    return Err(illegal("reopened"));
                }
                next.status = TriageStatus::InProgress;
                next.disposition = None;
                next.closed_at = None;
                next.closed_by = None;
            }
            TriageAction::Assign { assignee, team } => {
                if self.status == TriageStatus::Closed {
                    return Err(illegal("assigned"));
                }
                next.assignee = assignee.clone();
                next.team = *team;
            }
            TriageAction::Comment { .. } => return Ok(next),
        }
        // Whatever moved it out of `new` acknowledged it: the first look is what time to
        // acknowledge measures.
        if next.status != TriageStatus::New && next.acknowledged_at.is_none() {
            next.acknowledged_at = Some(at);
            next.acknowledged_by = Some(actor.to_string());
        }
        next.version = self.version.saturating_add(1);
        Ok(next)
    }

    /// Checks a caller's expected version against this state.
    pub fn expect(&self, expected: Option<u64>) -> Result<(), TriageError> {
        match expected {
            Some(expected) if expected != self.version => Err(TriageError::Stale {
                expected,
                found: self.version,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(d: Disposition) -> TriageAction {
        TriageAction::Close {
            disposition: d,
            reason: None,
        }
    }

    #[test]
    fn the_lifecycle_runs_forward_and_records_who_and_when() {
        let new = TriageState::default();
        let acked = new.apply(&TriageAction::Acknowledge, "ann", 10).unwrap();
        assert_eq!(acked.status, TriageStatus::Acknowledged);
        assert_eq!(acked.acknowledged_at, Some(10));
        assert_eq!(acked.acknowledged_by.as_deref(), Some("ann"));
        assert_eq!(acked.version, 2);
        let started = acked.apply(&TriageAction::Start, "bob", 20).unwrap();
        assert_eq!(started.acknowledged_at, Some(10), "the first look is kept");
        let closed = started
            .apply(&close(Disposition::FalsePositive), "bob", 30)
            .unwrap();
        assert_eq!(closed.status, TriageStatus::Closed);
        assert_eq!(closed.disposition, Some(Disposition::FalsePositive));
        assert_eq!(closed.closed_at, Some(30));
        let reopened = closed
            .apply(
                &TriageAction::Reopen {
                    reason: "new evidence".into(),
                },
                "cy",
                40,
            )
            .unwrap();
        assert_eq!(reopened.status, TriageStatus::InProgress);
        assert_eq!(reopened.disposition, None);
    }

    #[test]
    fn closing_straight_from_new_counts_as_acknowledging() {
        let closed = TriageState::default()
            .apply(&close(Disposition::TruePositive), "ann", 5)
            .unwrap();
        assert_eq!(closed.acknowledged_at, Some(5));
    }

    #[test]
    fn illegal_moves_are_refused() {
        let new = TriageState::default();
        let acked = new.apply(&TriageAction::Acknowledge, "a", 1).unwrap();
        assert!(matches!(
            acked.apply(&TriageAction::Acknowledge, "a", 2),
            Err(TriageError::IllegalTransition { .. })
        ));
        assert!(matches!(
            new.apply(&TriageAction::Reopen { reason: "x".into() }, "a", 2),
            Err(TriageError::IllegalTransition { .. })
        ));
        let closed = new
            .apply(&close(Disposition::TruePositive), "a", 3)
            .unwrap();
        for action in [
            TriageAction::Acknowledge,
            TriageAction::Start,
            close(Disposition::FalsePositive),
            TriageAction::Assign {
                assignee: Some("b".into()),
                team: None,
            },
        ] {
            assert!(closed.apply(&action, "a", 4).is_err(), "{action:?}");
        }
        assert!(matches!(
            new.apply(&TriageAction::Comment { text: " ".into() }, "a", 1),
            Err(TriageError::Invalid { .. })
        ));
    }

    #[test]
    fn a_stale_version_is_refused() {
        let state = TriageState::default()
            .apply(&TriageAction::Acknowledge, "a", 1)
            .unwrap();
        assert!(state.expect(Some(2)).is_ok());
        assert!(state.expect(None).is_ok());
        assert_eq!(
            state.expect(Some(1)),
            Err(TriageError::Stale {
                expected: 1,
                found: 2
            })
        );
    }

    #[test]
    fn actions_read_from_json() {
        let action: TriageAction = serde_json::from_str(
            r#"{"action":"close","disposition":"benign_true_positive","reason":"drill"}"#,
        )
        .unwrap();
        assert_eq!(
            action,
            TriageAction::Close {
                disposition: Disposition::BenignTruePositive,
                reason: Some("drill".into())
            }
        );
        assert!(serde_json::from_str::<TriageAction>(r#"{"action":"delete"}"#).is_err());
    }
}
