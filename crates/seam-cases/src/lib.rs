//! Triage and cases, pure: what analysts of both teams do with findings.
//!
//! - [`facts`]: what a stored finding says that triage filters and groups on (rule, severity,
//!   person, site, zone, asset, text), read from its OCSF JSON.
//! - [`triage`]: a finding's lifecycle (new, acknowledged, in progress, closed with a
//!   disposition), assignment to a user or a team, comments; illegal moves are errors.
//! - [`grouping`]: which findings belong to one alert (same person, zone or asset within a
//!   span), so an analyst works a story rather than fifty rows.
//! - [`suppression`]: rules that mark matching findings suppressed (kept and counted, never
//!   dropped), each with a reason, an owner and an expiry.
//! - [`case`]: shared cases: findings, events, people, assets and zones; status workflow,
//!   tasks per team, notes, evidence; merge and split; optimistic versions.
//! - [`procedures`]: case types as data: which findings open which type, the tasks each team
//!   gets with due times, and the targets to acknowledge and close.
//! - [`evidence`]: evidence as the case holds it: content-addressed, named for display only.
//! - [`timeline`] and [`links`]: a case's merged timeline and the graph of what connects
//!   its entities.
//! - [`bundle`]: the signed export bundle and its independent check; [`report`]: the
//!   figures leadership asks for.
//!
//! No I/O and no clock: times come from the caller. Storage is `seam-store`'s `Workspace`.

pub mod bundle;
pub mod case;
pub mod evidence;
pub mod facts;
pub mod grouping;
pub mod html;
pub mod links;
pub mod procedures;
pub mod report;
pub mod suppression;
pub mod timeline;
pub mod triage;

pub use case::{Case, CaseChange, CaseError, CaseSeverity, CaseStatus, Note, Task, TaskStatus};
pub use facts::FindingFacts;
pub use grouping::Grouping;
pub use procedures::{CaseType, Procedures, TaskTemplate};
pub use suppression::Suppression;
pub use triage::{Disposition, Team, TriageAction, TriageError, TriageState, TriageStatus};

/// The longest free text kept (a comment, a note, a reason, a title), in bytes.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;

/// The longest identifier accepted (a user, a finding uid, a zone), in bytes.
pub const MAX_ID_BYTES: usize = 256;

/// Checks a caller's free text: not empty once trimmed, not too long, no control characters
/// other than line breaks and tabs.
pub fn check_text(what: &str, text: &str) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(format!("{what} is empty"));
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(format!(
            "{what} is {} bytes, more than the limit of {MAX_TEXT_BYTES}",
            text.len()
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(format!("{what} holds control characters"));
    }
    Ok(())
}

/// Checks an identifier: 1 to [`MAX_ID_BYTES`] bytes, printable, no spaces.
pub fn check_id(what: &str, id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(format!(
            "{what} must be 1 to {MAX_ID_BYTES} bytes long (got {})",
            id.len()
        ));
    }
    if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!("{what} holds spaces or control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_and_ids_are_checked() {
        assert!(check_text("a comment", "  ").is_err());
        assert!(check_text("a comment", "ok\nsecond line").is_ok());
        assert!(check_text("a comment", "bell\u{7}").is_err());
        assert!(check_text("a comment", &"x".repeat(MAX_TEXT_BYTES + 1)).is_err());
        assert!(check_id("a user", "alice").is_ok());
        assert!(check_id("a user", "").is_err());
        assert!(check_id("a user", "a b").is_err());
    }
}
