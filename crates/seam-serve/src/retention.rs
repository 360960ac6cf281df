//! How long personal data is kept, per data class (`[retention]`), and the job that enforces
//! it while the service runs (and `seam retention` with the service stopped).
//!
//! Events are grouped into the data classes a privacy notice names: physical security
//! (badges, occupancy, visitors, bookings, device status), sign-ins and account activity,
//! and network activity (sessions, flows, DHCP, inventories, file access). Findings and
//! unresolved events have their own periods. Directory changes and change tickets are kept:
//! the directory's history is rebuilt from them. Expired events become tombstones in place
//! (see `docs/store.md`); every run is in the audit log.

use std::sync::Arc;
use std::time::Duration;

use seam_audit::{AuditAction, AuditEntry};
use seam_model::{EventClass, Ts};
use seam_store::{RetentionReport, RetentionRequest};

use crate::server::Shared;

const DAY_MS: i64 = 86_400_000;

/// The event classes of each data class.
const PHYSICAL: &[EventClass] = &[
    EventClass::PhysicalAccess,
    EventClass::Occupancy,
    EventClass::Visitor,
    EventClass::Booking,
    EventClass::DeviceStatus,
];
const SIGN_INS: &[EventClass] = &[
    EventClass::Authentication,
    EventClass::AccountChange,
    EventClass::EntityManagement,
    EventClass::ApiActivity,
];
const NETWORK: &[EventClass] = &[
    EventClass::NetworkSession,
    EventClass::NetworkActivity,
    EventClass::Dhcp,
    EventClass::DeviceInventory,
    EventClass::ResourceAccess,
];

/// `[retention]`: days to keep each data class; `None` keeps it for ever.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionSettings {
    pub physical_days: Option<u32>,
    pub sign_in_days: Option<u32>,
    pub network_days: Option<u32>,
    pub findings_days: Option<u32>,
    pub unresolved_days: Option<u32>,
    /// The audit log's own records: pruned behind a signed, witnessed anchor, so that what
    /// remains still verifies (see `seam_audit::AuditLog::prune_before`).
    pub audit_days: Option<u32>,
    /// Cases closed this long ago go, with their links, chains of custody and the evidence
    /// no remaining case holds.
    pub cases_days: Option<u32>,
    /// How often the service enforces it (hourly by default).
    pub every_ms: u64,
}

impl RetentionSettings {
    /// Nothing is ever pruned.
    pub fn keeps_everything(&self) -> bool {
        [
            self.physical_days,
            self.sign_in_days,
            self.network_days,
            self.findings_days,
            self.unresolved_days,
            self.audit_days,
            self.cases_days,
        ]
        .iter()
        .all(Option::is_none)
    }

    /// The audit records older than this go, if any do.
    pub fn audit_cutoff(&self, now: Ts) -> Option<Ts> {
        self.audit_days.map(|days| {
            Ts(now
                .millis()
                .saturating_sub(i64::from(days).saturating_mul(DAY_MS)))
        })
    }

    /// Cases closed before this go, if any do.
    pub fn cases_cutoff(&self, now: Ts) -> Option<Ts> {
        self.cases_days.map(|days| {
            Ts(now
                .millis()
                .saturating_sub(i64::from(days).saturating_mul(DAY_MS)))
        })
    }

    /// Whether the workspace has anything to prune: the triage of pruned findings, or cases.
    pub fn prunes_workspace(&self) -> bool {
        self.findings_days.is_some() || self.cases_days.is_some()
    }

    /// What is past its retention at `now`.
    pub fn request(&self, now: Ts) -> RetentionRequest {
        let cutoff = |days: u32| {
            Ts(now
                .millis()
                .saturating_sub(i64::from(days).saturating_mul(DAY_MS)))
        };
        let classes = |list: &[EventClass]| list.iter().map(|c| c.as_str().to_string()).collect();
        let mut events_before = Vec::new();
        for (days, list) in [
            (self.physical_days, PHYSICAL),
            (self.sign_in_days, SIGN_INS),
            (self.network_days, NETWORK),
        ] {
            if let Some(days) = days {
                events_before.push((classes(list), cutoff(days)));
            }
        }
        RetentionRequest {
            events_before,
            other_events_before: None,
            findings_before: self.findings_days.map(cutoff),
            dead_letters_before: None,
            unresolved_before: self.unresolved_days.map(cutoff),
        }
    }
}

/// A run's counts by data class, for people and the audit log.
pub fn retention_summary(
    settings: &RetentionSettings,
    report: &RetentionReport,
) -> serde_json::Value {
    let mut summary = serde_json::Map::new();
    let mut counts = report.events.iter();
    for (name, days) in [
        ("physical_events", settings.physical_days),
        ("sign_in_events", settings.sign_in_days),
        ("network_events", settings.network_days),
    ] {
        if days.is_some() {
            summary.insert(name.into(), counts.next().copied().unwrap_or(0).into());
        }
    }
    if settings.findings_days.is_some() {
        summary.insert("findings".into(), report.findings.into());
    }
    if settings.unresolved_days.is_some() {
        summary.insert("unresolved".into(), report.unresolved.into());
    }
    serde_json::Value::Object(summary)
}

/// Adds the workspace's part of a run to its summary.
pub fn workspace_summary(
    summary: &mut serde_json::Value,
    settings: &RetentionSettings,
    pruned: &seam_store::workspace::WorkspacePruned,
    evidence: u64,
) {
    if let Some(map) = summary.as_object_mut() {
        if settings.findings_days.is_some() {
            map.insert("triage_rows".into(), pruned.triage.into());
        }
        if settings.cases_days.is_some() {
            map.insert("cases".into(), pruned.cases.into());
            map.insert("evidence_files".into(), evidence.into());
        }
    }
}

/// Prunes the workspace and the evidence its remaining cases no longer hold; returns what
/// went (and the count of evidence files).
pub fn prune_workspace(
    store: &mut dyn seam_store::workspace::WorkspaceStore,
    evidence: &seam_store::evidence::EvidenceStore,
    settings: &RetentionSettings,
    now: Ts,
    dry_run: bool,
) -> Result<(seam_store::workspace::WorkspacePruned, u64), String> {
    let pruned = store
        .prune_workspace(
            settings.request(now).findings_before,
            settings.cases_cutoff(now),
            dry_run,
        )
        .map_err(|e| crate::writer::error_text(&e))?;
    let files = if settings.cases_days.is_some() {
        evidence
            .remove_unreferenced(&pruned.evidence_kept, dry_run)
            .map_err(|e| e.to_string())?
    } else {
        0
    };
    Ok((pruned, files))
}

/// Enforces retention every `settings.every_ms` until the service stops.
pub(crate) async fn run(shared: Arc<Shared>, settings: RetentionSettings) {
    loop {
        tokio::select! {
            _ = crate::listen::stopped(shared.shutdown.clone()) => return,
            _ = tokio::time::sleep(Duration::from_millis(settings.every_ms)) => {}
        }
        let shared = Arc::clone(&shared);
        let settings = settings.clone();
        let _ = tokio::task::spawn_blocking(move || prune_once(&shared, &settings)).await;
    }
}

fn prune_once(shared: &Shared, settings: &RetentionSettings) {
    let now = Ts(crate::now_ms());
    if let Some(cutoff) = settings.audit_cutoff(now) {
        shared.audit.prune_before(cutoff, now);
    }
    let request = settings.request(now);
    let pruned = match shared.store.lock() {
        Ok(mut store) => store
            .prune(&request, false)
            .map_err(|e| crate::writer::error_text(&e))
            .and_then(|report| {
                let workspace = if settings.prunes_workspace() {
                    Some(prune_workspace(
                        store.as_workspace_store_mut(),
                        shared.cases.evidence(),
                        settings,
                        now,
                        false,
                    )?)
                } else {
                    None
                };
                Ok((report, workspace))
            }),
        Err(_) => return,
    };
    match pruned {
        Ok((report, workspace)) => {
            let mut summary = retention_summary(settings, &report);
            if let Some((pruned, files)) = workspace {
                workspace_summary(&mut summary, settings, &pruned, files);
            }
            let anything = summary
                .as_object()
                .is_some_and(|m| m.values().any(|v| v.as_u64() > Some(0)));
            if anything {
                shared
                    .audit
                    .record(AuditEntry::new("system", AuditAction::RetentionRun).detail(summary));
            }
        }
        Err(error) => eprintln!("seam serve: retention failed, retrying at the next run: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_data_class_gets_its_own_cutoff_and_unset_ones_none() {
        let settings = RetentionSettings {
            physical_days: Some(30),
            network_days: Some(7),
            findings_days: Some(365),
            every_ms: 3_600_000,
            ..RetentionSettings::default()
        };
        let now = Ts(100 * DAY_MS);
        let request = settings.request(now);
        assert_eq!(
            request.event_cutoff("physical_access"),
            Some(Ts(70 * DAY_MS))
        );
        assert_eq!(
            request.event_cutoff("network_activity"),
            Some(Ts(93 * DAY_MS))
        );
        assert_eq!(request.event_cutoff("authentication"), None);
        assert_eq!(request.event_cutoff("directory"), None);
        assert_eq!(request.findings_before, Some(Ts(-265 * DAY_MS)));
        assert!(!settings.keeps_everything());
        assert!(RetentionSettings::default().keeps_everything());
        assert!(
            settings.prunes_workspace(),
            "the triage of pruned findings goes too"
        );
        assert_eq!(settings.cases_cutoff(now), None);
        let cases = RetentionSettings {
            cases_days: Some(10),
            ..RetentionSettings::default()
        };
        assert_eq!(cases.cases_cutoff(now), Some(Ts(90 * DAY_MS)));
        assert!(!cases.keeps_everything() && cases.prunes_workspace());
        let report = RetentionReport {
            events: vec![4, 2],
            findings: 1,
            ..RetentionReport::default()
        };
        assert_eq!(
            retention_summary(&settings, &report).to_string(),
            r#"{"findings":1,"network_events":2,"physical_events":4}"#
        );
    }
}
