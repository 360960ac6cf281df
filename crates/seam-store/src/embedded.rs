//! The embedded store: one data directory with the event log and a SQLite database.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use seam_model::Ts;

use crate::database::{self, Database};
use crate::lifecycle::{ERASED_FINDING_UID_PREFIX, Needles, tombstone_json};
pub use crate::log::TailRecovery;
use crate::log::{EventLog, SEGMENT_MAGIC};
use crate::{
    AppendOutcome, Counts, DeadLetter, DocumentWrite, ErasureReport, FindingFilter, Lifecycle,
    RetentionReport, RetentionRequest, Snapshot, Store, StoreError, StoredEvent, StoredFinding,
    SubjectRecords, Unresolved,
};

/// How an [`EmbeddedStore`] lays out its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// A segment file of the event log is sealed once the next block would take it past this
    /// many bytes; a block larger than this gets a segment of its own.
    pub segment_bytes: u64,
    /// How many snapshots to keep, newest first; at least one is always kept.
    pub snapshots_kept: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            segment_bytes: 64 * 1024 * 1024,
            snapshots_kept: 3,
        }
    }
}

/// The [`Store`] of a single-site deployment: `DIR/events/` holds the event log, `DIR/seam.db`
/// the rest. One process at a time: opening takes a lock on `DIR/lock`.
#[derive(Debug)]
pub struct EmbeddedStore {
    directory: PathBuf,
    options: StoreOptions,
    /// How many times the store was read again after a failed write, and how many commits
    /// succeeded since: see [`EmbeddedStore::durability_mark`].
    reopens: u64,
    commits: u64,
    log: EventLog,
    database: Database,
    /// Held open for its lock, released when the store is dropped.
    _lock: File,
}

impl EmbeddedStore {
    /// Opens (or creates) the store in `directory` with the default options.
    pub fn open(directory: &Path) -> Result<Self, StoreError> {
        EmbeddedStore::open_with(directory, StoreOptions::default())
    }

    /// Opens (or creates) the store, verifying the event log, cutting off a torn tail (see
    /// [`EmbeddedStore::tail_recovery`]) and rebuilding the uid index.
    pub fn open_with(directory: &Path, options: StoreOptions) -> Result<Self, StoreError> {
        std::fs::create_dir_all(directory)
            .map_err(StoreError::io("create directory", directory))?;
        let lock_path = directory.join("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(StoreError::io("open lock file", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    directory: directory.to_owned(),
                });
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(StoreError::Io {
                    action: "lock",
                    path: lock_path,
                    source,
                });
            }
        }
        let log = EventLog::open(&directory.join("events"), options.segment_bytes)?;
        let database = Database::open(&directory.join("seam.db"), options.snapshots_kept)?;
        Ok(EmbeddedStore {
            directory: directory.to_owned(),
            options,
            reopens: 0,
            commits: 0,
            log,
            database,
            _lock: lock,
        })
    }

    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// After a failed write (a full disk, an I/O error): forgets what was not committed and
    /// reads the store again from disk, as a restart would, keeping the lock. What was
    /// committed stays; the event log's tail is checked and cut back to its last whole block
    /// (see [`EmbeddedStore::tail_recovery`]). Fails, changing nothing more, while the cause
    /// lasts (cutting the tail needs no free space; reading the database needs little).
    pub fn reopen(&mut self) -> Result<(), StoreError> {
        self.database.recover()?;
        self.log = EventLog::open(&self.directory.join("events"), self.options.segment_bytes)?;
        self.reopens += 1;
        Ok(())
    }

    /// Where the store stands: (reopens, commits). Rows written when the mark was `(r, c)`
    /// are durable once the mark is `(r, c')` with `c' > c`; if the first number has changed
    /// first, they were lost with the failed write and must be written again.
    pub fn durability_mark(&self) -> (u64, u64) {
        (self.reopens, self.commits)
    }

    /// What opening cut off the end of the event log, if a crash had torn it.
    pub fn tail_recovery(&self) -> Option<&TailRecovery> {
        self.log.recovery()
    }
}

impl Store for EmbeddedStore {
    fn append_events(&mut self, events: &[StoredEvent<'_>]) -> Result<AppendOutcome, StoreError> {
        self.log.append(events)
    }

    fn append_findings(&mut self, findings: &[StoredFinding]) -> Result<usize, StoreError> {
        self.database.append_findings(findings)
    }

    fn add_dead_letters(&mut self, letters: &[DeadLetter]) -> Result<(), StoreError> {
        self.database.add_dead_letters(letters)
    }

    fn add_unresolved(&mut self, items: &[Unresolved]) -> Result<(), StoreError> {
        self.database.add_unresolved(items)
    }

    fn write_documents(&mut self, writes: &[DocumentWrite]) -> Result<(), StoreError> {
        self.database.write_documents(writes)
    }

    fn documents(&self, collection: &str) -> Result<Vec<(String, String)>, StoreError> {
        self.database.documents(collection)
    }

    /// The log first: a finding is never durable while the events behind it are not.
    fn commit(&mut self) -> Result<(), StoreError> {
        self.log.commit()?;
        self.database.commit()?;
        self.commits += 1;
        Ok(())
    }

    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let end = self.log.end();
        if snapshot.log_position > end {
            // Replay would start past the log's end: a snapshot of events never stored.
            return Err(StoreError::InvalidPosition {
                position: snapshot.log_position,
                end,
            });
        }
        self.commit()?;
        // Only for people reading the database; nothing in Seam reads it back.
        let created_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
            });
        self.database.save_snapshot(snapshot, created_ms)
    }

    fn latest_snapshot(&self) -> Result<Option<Snapshot>, StoreError> {
        self.database.latest_snapshot()
    }

    fn snapshots(&self) -> Result<Vec<Snapshot>, StoreError> {
        self.database.snapshots(usize::MAX)
    }

    fn findings(&self, filter: &FindingFilter) -> Result<Vec<StoredFinding>, StoreError> {
        self.database.findings(filter)
    }

    fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        self.database.dead_letters(limit)
    }

    fn dead_letter_bytes(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.database.dead_letter_bytes()
    }

    fn prune_dead_letters(&mut self, before: Ts) -> Result<u64, StoreError> {
        self.database.prune_dead_letters(before)
    }

    fn unresolved(&self, limit: usize) -> Result<Vec<Unresolved>, StoreError> {
        self.database.unresolved(limit)
    }

    fn counts(&self) -> Result<Counts, StoreError> {
        Ok(Counts {
            events: self.log.event_count(),
            ..self.database.counts()?
        })
    }

    fn read_events(
        &self,
        from_log_position: u64,
        limit: usize,
    ) -> Result<(Vec<String>, u64), StoreError> {
        self.log.read(from_log_position, limit)
    }

    fn log_position(&self) -> Result<u64, StoreError> {
        Ok(self.log.end())
    }
}

/// Erasure and retention rewrite the affected segments of the event log in place (positions
/// stay) and clean SQLite's free pages and WAL; `docs/store.md` has the details.
impl Lifecycle for EmbeddedStore {
    fn subject_records(
        &self,
        needles: &[String],
        limit: usize,
    ) -> Result<SubjectRecords, StoreError> {
        let needles = Needles::new(needles)?;
        let (events, events_truncated) = self.log.subject_events(&needles, limit)?;
        let rows = self.database.subject_rows(&needles, limit)?;
        Ok(SubjectRecords {
            events,
            findings: rows.findings,
            dead_letters: rows.dead_letters,
            unresolved: rows.unresolved,
            documents: rows.documents,
            snapshots: rows.snapshots,
            truncated: events_truncated || rows.truncated,
        })
    }

    /// The log first, segment by segment, then SQLite in one transaction, then SQLite's
    /// files: each step leaves a store that reads correctly, and running the erasure again
    /// finds only what an interrupted run had not reached.
    fn erase_subject(
        &mut self,
        needles: &[String],
        reason: &str,
    ) -> Result<ErasureReport, StoreError> {
        let needles = Needles::new(needles)?;
        let tombstone = tombstone_json(reason)?;
        needles.refuse_in(&tombstone, "the tombstone an erasure writes")?;
        needles.refuse_in(ERASED_FINDING_UID_PREFIX, "the uid of an erased finding")?;
        needles.refuse_in(
            std::str::from_utf8(&SEGMENT_MAGIC).unwrap_or_default(),
            "the event log's file header",
        )?;
        needles.refuse_in(&database::own_text(), "the database schema")?;
        if needles.is_empty() {
            return Ok(ErasureReport::default());
        }
        self.commit()?;
        let (events, digested_uids) = self.log.erase(&needles, &tombstone)?;
        let rows = self.database.erase_subject(&needles, &tombstone)?;
        self.database.scrub()?;
        Ok(ErasureReport {
            events,
            digested_uids,
            findings: rows.findings,
            dead_letters: rows.dead_letters,
            unresolved: rows.unresolved,
            documents: rows.documents,
            snapshots: rows.snapshots,
        })
    }

    fn prune(
        &mut self,
        request: &RetentionRequest,
        dry_run: bool,
    ) -> Result<RetentionReport, StoreError> {
        request.validate()?;
        if !dry_run {
            self.commit()?;
        }
        let (events, other_events) = self.log.expire(request, dry_run)?;
        let rows = self.database.prune(
            request.findings_before,
            request.dead_letters_before,
            request.unresolved_before,
            dry_run,
        )?;
        Ok(RetentionReport {
            events,
            other_events,
            findings: rows.findings,
            dead_letters: rows.dead_letters,
            unresolved: rows.unresolved,
            dry_run,
        })
    }
}

impl crate::workspace::Workspace for EmbeddedStore {
    fn configure_workspace(&mut self, settings: crate::workspace::WorkspaceSettings) {
        self.database.configure_workspace(settings);
    }

    fn list_findings(
        &self,
        query: &crate::workspace::FindingQuery,
    ) -> Result<crate::workspace::FindingPage, StoreError> {
        self.database.list_findings(query)
    }

    fn triaged(&self, uid: &str) -> Result<Option<crate::workspace::TriagedFinding>, StoreError> {
        self.database.triaged(uid)
    }

    fn triage(
        &mut self,
        uid: &str,
        action: &seam_cases::TriageAction,
        actor: &str,
        at: i64,
        expected: Option<u64>,
    ) -> Result<seam_cases::TriageState, StoreError> {
        self.database.triage(uid, action, actor, at, expected)
    }

    fn triage_log(&self, uid: &str) -> Result<Vec<crate::workspace::TriageEntry>, StoreError> {
        self.database.triage_log(uid)
    }

    fn alert(&self, id: &str) -> Result<Option<crate::workspace::Alert>, StoreError> {
        self.database.alert(id)
    }

    fn list_alerts(
        &self,
        query: &crate::workspace::AlertQuery,
    ) -> Result<Vec<crate::workspace::Alert>, StoreError> {
        self.database.list_alerts(query)
    }

    fn split_alert(&mut self, id: &str, uids: &[String]) -> Result<String, StoreError> {
        self.database.split_alert(id, uids)
    }

    fn detach_finding(&mut self, uid: &str) -> Result<String, StoreError> {
        self.database.detach_finding(uid)
    }

    fn add_suppression(&mut self, suppression: &seam_cases::Suppression) -> Result<(), StoreError> {
        self.database.add_suppression(suppression)
    }

    fn end_suppression(&mut self, id: &str, by: &str, at: i64) -> Result<bool, StoreError> {
        self.database.end_suppression(id, by, at)
    }

    fn suppressions(&self) -> Result<Vec<crate::workspace::SuppressionRecord>, StoreError> {
        self.database.suppressions()
    }

    fn create_case(
        &mut self,
        make: &mut dyn FnMut(String) -> Result<seam_cases::Case, seam_cases::CaseError>,
    ) -> Result<seam_cases::Case, StoreError> {
        self.database.create_case(make)
    }

    fn case(&self, id: &str) -> Result<Option<seam_cases::Case>, StoreError> {
        self.database.case(id)
    }

    fn save_cases(&mut self, cases: &[seam_cases::Case]) -> Result<(), StoreError> {
        self.database.save_cases(cases)
    }

    fn list_cases(
        &self,
        query: &crate::workspace::CaseQuery,
    ) -> Result<Vec<seam_cases::Case>, StoreError> {
        self.database.list_cases(query)
    }

    fn next_case_id(&mut self) -> Result<String, StoreError> {
        self.database.next_case_id()
    }

    fn record_custody(&mut self, entry: &crate::workspace::CustodyEntry) -> Result<(), StoreError> {
        self.database.record_custody(entry)
    }

    fn custody(&self, case_id: &str) -> Result<Vec<crate::workspace::CustodyEntry>, StoreError> {
        self.database.custody(case_id)
    }

    fn case_events(
        &self,
        case: &seam_cases::Case,
        since: Ts,
        until: Ts,
        limit: usize,
    ) -> Result<(crate::workspace::PersonEvents, bool), StoreError> {
        self.log.scan_between(
            since.millis(),
            until.millis(),
            limit,
            &crate::workspace::EventScan::of(case),
        )
    }

    fn prune_workspace(
        &mut self,
        findings_before: Option<Ts>,
        closed_cases_before: Option<Ts>,
        dry_run: bool,
    ) -> Result<crate::workspace::WorkspacePruned, StoreError> {
        self.database
            .prune_workspace(findings_before, closed_cases_before, dry_run)
    }
}
