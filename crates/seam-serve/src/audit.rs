//! The service's audit trail: what it records in the tamper-evident log of `seam-audit`
//! (`DATA_DIR/audit/`), and its checkpoints, signed every `[audit] checkpoint_secs` when the
//! log has moved and at shutdown, copied to the configured witness file.
//!
//! Recorded so far: the service starting and stopping, every SCIM change (by the token, with
//! the person as a digest), and every edit of the estate folder taken or refused. People
//! appear as digests of their ids, never by name, so that erasing a person never touches the
//! log.

use std::sync::Mutex;
use std::time::Duration;

use seam_audit::{AuditAction, AuditEntry, AuditLog, FileWitness};
use seam_model::Ts;

use crate::server::Shared;

/// The service's handle on the log.
#[derive(Debug)]
pub(crate) struct Audit {
    log: Mutex<AuditLog>,
}

/// The person as the audit names them: a digest of the id, stable across restarts.
pub(crate) fn person_digest(id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("seam-person\n{id}").as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("p-{hex}")
}

impl Audit {
    /// Opens the log in the data directory (its writer lock is held until the service stops).
    pub(crate) fn open(
        data_dir: &std::path::Path,
        settings: &crate::config::AuditSettings,
    ) -> Result<Audit, String> {
        let mut log = AuditLog::open(data_dir).map_err(|e| format!("the audit log: {e}"))?;
        for recovery in log.recovered() {
            eprintln!("seam serve: the audit log had a torn tail after a crash: {recovery:?}");
        }
        if matches!(log.key_origin(), seam_audit::KeyOrigin::Created) && log.head().0 > 0 {
            eprintln!(
                "seam serve: WARNING: the audit log's signing key was missing and a new one was made; checkpoints signed before now will not verify with it"
            );
        }
        if let Some(witness) = &settings.witness {
            seam_audit::check_witness_outside(witness, data_dir)
                .map_err(|e| format!("audit witness: {e}"))?;
            log.add_witness(Box::new(FileWitness::new(witness)));
        }
        Ok(Audit {
            log: Mutex::new(log),
        })
    }

    /// Records one act; a failure is reported, never silent.
    pub(crate) fn record(&self, entry: AuditEntry) {
        let now = Ts(crate::now_ms());
        match self.log.lock() {
            Ok(mut log) => {
                if let Err(error) = log.append(now, entry) {
                    eprintln!("seam serve: cannot write the audit log: {error}");
                }
            }
            Err(_) => eprintln!("seam serve: the audit log is unavailable"),
        }
    }

    /// Syncs and signs the head when it moved since the last checkpoint.
    pub(crate) fn checkpoint(&self) {
        let Ok(mut log) = self.log.lock() else { return };
        if log.unchecked_records() == 0 {
            return;
        }
        match log.checkpoint(Ts(crate::now_ms())) {
            Ok(done) => {
                for failure in &done.witness_failures {
                    eprintln!(
                        "seam serve: an audit witness did not take the checkpoint: {failure:?}"
                    );
                }
            }
            Err(error) => eprintln!("seam serve: cannot checkpoint the audit log: {error}"),
        }
    }
}

/// Checkpoints every `every` until the service stops.
pub(crate) async fn run(shared: std::sync::Arc<Shared>, every: Duration) {
    loop {
        tokio::select! {
            _ = crate::listen::stopped(shared.shutdown.clone()) => return,
            _ = tokio::time::sleep(every) => {}
        }
        let shared = std::sync::Arc::clone(&shared);
        let _ = tokio::task::spawn_blocking(move || shared.audit.checkpoint()).await;
    }
}

/// An entry by the service itself.
pub(crate) fn system(action: AuditAction) -> AuditEntry {
    AuditEntry::new("system", action)
}
