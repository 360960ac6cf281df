//! The service's audit trail: what it records in the tamper-evident log of `seam-audit`
//! (`DATA_DIR/audit/`), and its checkpoints, signed every `[audit] checkpoint_secs` when the
//! log has moved and at shutdown, copied to the configured witness file.
//!
//! Recorded: the service starting and stopping, sign-ins (failed too) and sign-outs, refused
//! credentials, user and token changes, reveals, reads of people's findings (whose, by whom,
//! the stated purpose), audit verifications and exports, every SCIM change, and every edit
//! of the estate folder taken or refused. People appear as keyed pseudonyms
//! ([`crate::access`]), never by name or id, so that erasing a person never touches the log.

use std::sync::Mutex;
use std::time::Duration;

use seam_audit::{AuditAction, AuditEntry, AuditLog, FileWitness};
use seam_model::Ts;

use crate::server::Shared;

/// The service's handle on the log.
#[derive(Debug)]
pub(crate) struct Audit {
    log: Mutex<AuditLog>,
    data_dir: std::path::PathBuf,
    witness: Option<std::path::PathBuf>,
    /// The PostgreSQL store the records live in, when the service's store is PostgreSQL.
    store_url: Option<String>,
}

/// The records' storage: the data directory's files, or the PostgreSQL store's tables.
fn storage(
    data_dir: &std::path::Path,
    store_url: Option<&str>,
) -> Result<Box<dyn seam_audit::AuditStorage>, String> {
    match store_url {
        Some(url) => seam_postgres::audit_storage(url).map_err(|e| format!("the audit log: {e}")),
        None => Ok(Box::new(seam_audit::FileStorage::new(data_dir))),
    }
}

impl Audit {
    /// Opens the log in the data directory (its writer lock is held until the service stops).
    pub(crate) fn open(
        data_dir: &std::path::Path,
        settings: &crate::config::AuditSettings,
        store_url: Option<&str>,
    ) -> Result<Audit, String> {
        let mut log = AuditLog::open_on(data_dir, storage(data_dir, store_url)?)
            .map_err(|e| format!("the audit log: {e}"))?;
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
        if let Some(url) = &settings.witness_url {
            let witness = crate::witness::HttpWitness::new(url, settings.witness_token.clone())
                .map_err(|e| format!("audit witness: {e}"))?;
            log.add_witness(Box::new(witness));
        }
        Ok(Audit {
            log: Mutex::new(log),
            data_dir: data_dir.to_path_buf(),
            witness: settings.witness.clone(),
            store_url: store_url.map(str::to_string),
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

    /// Checks the whole log (and the witness), with appends held back meanwhile so that the
    /// check never reads a record half written.
    pub(crate) fn verify(&self) -> Result<seam_audit::VerifyReport, String> {
        let _held = self
            .log
            .lock()
            .map_err(|_| "the audit log is unavailable")?;
        let options = seam_audit::VerifyOptions {
            witness: self.witness.clone(),
            trusted_key: None,
        };
        let mut storage = storage(&self.data_dir, self.store_url.as_deref())?;
        seam_audit::verify_on(&mut *storage, &self.data_dir, &options).map_err(|e| e.to_string())
    }

    /// The records of `[from, to)` and the checkpoints that prove them, as NDJSON. The head
    /// is checkpointed first, so that the latest records are covered.
    pub(crate) fn export(&self, from: Ts, to: Ts) -> Result<Vec<u8>, String> {
        self.checkpoint();
        let _held = self
            .log
            .lock()
            .map_err(|_| "the audit log is unavailable")?;
        let mut out = Vec::new();
        let mut storage = storage(&self.data_dir, self.store_url.as_deref())?;
        seam_audit::export_on(&mut *storage, &self.data_dir, from, to, &mut out)
            .map_err(|e| e.to_string())?;
        Ok(out)
    }

    /// Drops the records older than `cutoff` behind a signed, witnessed anchor, and records
    /// that it did. A log that does not verify, or a witness that refuses the anchor, keeps
    /// everything (reported; the next run tries again).
    pub(crate) fn prune_before(&self, cutoff: Ts, now: Ts) {
        let pruned = match self.log.lock() {
            Ok(mut log) => log.prune_before(cutoff, now),
            Err(_) => return,
        };
        match pruned {
            Ok(report) => {
                for failure in &report.witness_failures {
                    eprintln!(
                        "seam serve: an audit witness did not take the retention anchor, so no audit record was dropped: {failure:?}"
                    );
                }
                if let Some(anchor) = report.anchor.filter(|_| report.dropped > 0) {
                    self.record(system(AuditAction::RetentionRun).detail(serde_json::json!({
                        "audit_records_dropped": report.dropped,
                        "anchor_seq": anchor.seq,
                    })));
                }
            }
            Err(error) => eprintln!("seam serve: audit retention refused: {error}"),
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
