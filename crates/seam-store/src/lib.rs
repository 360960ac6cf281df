//! Seam's store: what the engine produces and must not lose.
//!
//! [`Store`] is the one storage contract; [`EmbeddedStore`] implements it with a segmented,
//! deduplicated event log beside a SQLite database in one data directory. Events arrive as
//! pre-serialized JSON plus the few columns the store needs; it knows nothing of Seam's event
//! type. The API is synchronous: the store is the edge, called from the CLI or a writer thread.
//! [`Lifecycle`] adds what a store of personal data owes the people in it: subject access,
//! erasure and retention. `docs/store.md` describes the on-disk layout and the guarantees.

use std::collections::BTreeMap;

pub use seam_model::Ts;

pub mod conformance;
mod database;
mod embedded;
mod error;
pub mod evidence;
mod frame;
mod lifecycle;
mod log;
pub mod workspace;

pub use embedded::{EmbeddedStore, StoreOptions, TailRecovery};
pub use error::StoreError;
pub use lifecycle::{
    ERASED_FINDING_UID_PREFIX, ErasureReport, Lifecycle, MAX_REASON_BYTES, MIN_NEEDLE_BYTES,
    Needles, RETENTION_REASON, RetentionReport, RetentionRequest, SubjectDocument, SubjectEvent,
    SubjectRecords, erased_finding_uid, json_escaped, tombstone_json,
};
pub use workspace::Workspace;

/// One normalized event to append, borrowed from the caller's buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredEvent<'a> {
    /// The event's identity: a second event with the same uid is a duplicate.
    pub uid: &'a str,
    /// When it happened, at the source.
    pub time: Ts,
    /// When Seam read it.
    pub observed: Ts,
    pub source: &'a str,
    pub class: &'a str,
    pub person: Option<&'a str>,
    /// Arrived after the engine's watermark had passed its time.
    pub late: bool,
    /// The normalized event, raw record included.
    pub json: &'a str,
}

/// A finding a rule emitted; `uid` makes a replayed finding a no-op.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFinding {
    pub uid: String,
    pub rule: String,
    pub time: Ts,
    pub person: Option<String>,
    pub severity: String,
    pub json: String,
}

/// A record that could not be read, kept byte for byte with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub source: String,
    /// Where the record sits in its source; with `source` and `raw` it names the letter, so a
    /// replay that reads the same record again adds nothing.
    pub position: String,
    pub observed: Ts,
    pub reason: String,
    pub raw: Vec<u8>,
}

/// An event whose identifiers matched no person, keyed by the event's uid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub event_uid: String,
    pub time: Ts,
    pub source: String,
    /// The identifiers that did not resolve, as text.
    pub identifiers: String,
}

/// Which unresolved events are listed one by one. Flows from an address nobody is known at
/// (a server, a printer, a guest) come by the thousand a second: listing each would cost a row
/// apiece and say nothing more than the first. So an unresolved flow is listed once per source,
/// identifiers and hour; every other unresolved event is listed.
#[derive(Debug, Default)]
pub struct UnresolvedSampler {
    last_hour: std::collections::HashMap<(String, String), i64>,
}

/// Distinct (source, identifiers) pairs remembered before the memory is cleared.
const SAMPLER_KEYS: usize = 65_536;

impl UnresolvedSampler {
    /// Whether this unresolved event is listed.
    pub fn keep(&mut self, flow: bool, item: &Unresolved) -> bool {
        if !flow {
            return true;
        }
        let hour = item.time.millis().div_euclid(3_600_000);
        let key = (item.source.clone(), item.identifiers.clone());
        match self.last_hour.get_mut(&key) {
            Some(last) if *last >= hour => false,
            Some(last) => {
                *last = hour;
                true
            }
            None => {
                if self.last_hour.len() >= SAMPLER_KEYS {
                    self.last_hour.clear();
                }
                self.last_hour.insert(key, hour);
                true
            }
        }
    }
}

/// Engine state and where every input stood when it was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Source name to that source's position.
    pub positions: BTreeMap<String, String>,
    /// The event-log position at snapshot time: replay reads from here.
    pub log_position: u64,
    pub state: Vec<u8>,
}

/// Which findings to list. Every condition given must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindingFilter {
    pub rule: Option<String>,
    pub person: Option<String>,
    /// Inclusive lower bound on the finding's time.
    pub since: Option<Ts>,
    /// Exclusive upper bound on the finding's time.
    pub until: Option<Ts>,
    /// At most this many; `0` lists none.
    pub limit: usize,
}

impl Default for FindingFilter {
    /// No condition and no limit.
    fn default() -> Self {
        FindingFilter {
            rule: None,
            person: None,
            since: None,
            until: None,
            limit: usize::MAX,
        }
    }
}

/// A document to keep (`json`) or remove (`None`), by collection and id: a protocol's own
/// state that lives beside the events, written in the same commit as the events it explains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentWrite {
    pub collection: String,
    pub id: String,
    pub json: Option<String>,
}

/// How much the store holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub events: u64,
    pub findings: u64,
    pub dead_letters: u64,
    pub unresolved: u64,
}

/// What one [`Store::append_events`] call did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Events newly stored.
    pub inserted: usize,
    /// Events whose uid was already stored (or came earlier in the same batch).
    pub duplicates: usize,
    /// The indices, in the appended slice, of those duplicates, ascending.
    pub duplicate_indices: Vec<usize>,
}

/// One storage contract: the embedded store now, PostgreSQL later. Both run
/// [`conformance::conformance_suite`].
///
/// Reads see everything appended so far, committed or not; [`Store::commit`] makes it durable.
/// A log position counts events: the first event stored is at `0`, the next at `1`, and the log
/// ends at the number of events stored. Every position up to the end is valid to read from.
pub trait Store: Send {
    /// Appends events in order; an event whose uid is stored already is skipped and counted.
    /// A batch with an event over the size limits is refused whole.
    fn append_events(&mut self, events: &[StoredEvent<'_>]) -> Result<AppendOutcome, StoreError>;
    /// Inserts findings whose uid is new; returns how many were.
    fn append_findings(&mut self, findings: &[StoredFinding]) -> Result<usize, StoreError>;
    /// Keeps dead letters; one equal in source, position and raw bytes to a kept one is skipped.
    fn add_dead_letters(&mut self, letters: &[DeadLetter]) -> Result<(), StoreError>;
    /// Keeps unresolved events; a second entry for the same event uid is skipped.
    fn add_unresolved(&mut self, items: &[Unresolved]) -> Result<(), StoreError>;
    /// Keeps or removes documents; durable at the next commit, with the events beside them.
    fn write_documents(&mut self, writes: &[DocumentWrite]) -> Result<(), StoreError>;
    /// Every document of a collection, ordered by id.
    fn documents(&self, collection: &str) -> Result<Vec<(String, String)>, StoreError>;
    /// Everything appended so far is durable when this returns.
    fn commit(&mut self) -> Result<(), StoreError>;
    /// Commits, then saves the snapshot atomically, keeping only the latest few. A snapshot
    /// whose log position is past the end of the log is refused.
    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), StoreError>;
    fn latest_snapshot(&self) -> Result<Option<Snapshot>, StoreError>;
    /// The snapshots kept, newest first.
    fn snapshots(&self) -> Result<Vec<Snapshot>, StoreError>;
    /// Findings matching `filter`, ordered by (time, uid).
    fn findings(&self, filter: &FindingFilter) -> Result<Vec<StoredFinding>, StoreError>;
    /// The oldest `limit` dead letters, in the order they were added.
    fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError>;
    /// Bytes each source's dead letters hold (raw record and reason), by source.
    fn dead_letter_bytes(&self) -> Result<Vec<(String, u64)>, StoreError>;
    /// Removes the dead letters received before `before` (their retention); returns how many.
    /// Like every write, it is durable at the next commit.
    fn prune_dead_letters(&mut self, before: Ts) -> Result<u64, StoreError>;
    /// At most `limit` unresolved events, ordered by (time, event uid).
    fn unresolved(&self, limit: usize) -> Result<Vec<Unresolved>, StoreError>;
    fn counts(&self) -> Result<Counts, StoreError>;
    /// Up to `limit` events' JSON from `from_log_position` on, in append order, and the
    /// position to read from next.
    fn read_events(
        &self,
        from_log_position: u64,
        limit: usize,
    ) -> Result<(Vec<String>, u64), StoreError>;
    /// The position just after the last appended event: the number of events stored.
    fn log_position(&self) -> Result<u64, StoreError>;
}

#[cfg(test)]
mod sampler_tests {
    use super::*;

    fn item(ms: i64, ip: &str) -> Unresolved {
        Unresolved {
            event_uid: format!("e{ms}"),
            time: Ts(ms),
            source: "netflow".into(),
            identifiers: format!("{{\"ip\":\"{ip}\"}}"),
        }
    }

    #[test]
    fn an_unresolved_flow_is_listed_once_per_address_and_hour_other_events_always() {
        let mut sampler = UnresolvedSampler::default();
        assert!(sampler.keep(true, &item(0, "10.9.9.9")));
        assert!(!sampler.keep(true, &item(60_000, "10.9.9.9")));
        assert!(sampler.keep(true, &item(60_000, "10.9.9.8")));
        assert!(sampler.keep(true, &item(3_600_000, "10.9.9.9")));
        assert!(sampler.keep(false, &item(3_600_001, "10.9.9.9")));
        assert!(sampler.keep(false, &item(3_600_002, "10.9.9.9")));
    }
}
