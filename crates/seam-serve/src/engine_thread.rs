//! The engine thread: the one owner of the [`Engine`] (synchronous and deterministic).
//!
//! On start it restores the latest snapshot and replays the event log after the snapshot's
//! position, so a restart continues exactly where the last durable state stopped; only then is
//! the writer let in. After that it takes durable records from the writer in log order, writes
//! findings and unresolved events to the store, publishes findings to the live stream, and
//! saves a snapshot (engine state + log position) now and then and when it stops.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, TryLockError};
use std::time::{Duration, Instant};

use seam_engine::{Engine, Output};
use seam_model::{Event, Ts};
use seam_store::{Snapshot, StoredFinding, Unresolved};

use crate::store::ServiceStore;
use tokio::sync::broadcast;

use crate::metrics::Metrics;
use crate::writer::{EngineBatch, error_text, parse_heartbeat};

/// One finding on the live stream.
#[derive(Debug)]
pub struct StreamFinding {
    pub uid: String,
    pub rule: String,
    pub person: Option<String>,
    /// The OCSF finding as JSON.
    pub json: String,
}

/// Settings of the engine loop.
#[derive(Debug, Clone)]
pub(crate) struct EngineLoopSettings {
    pub snapshot_every: Duration,
    pub snapshot_every_events: u64,
    /// The engine's bound on how far an event may lead its receive time.
    pub max_clock_ahead_ms: i64,
    /// The numbered streams' last numbers, saved with each snapshot.
    pub sequences: crate::server::Sequences,
}

/// The snapshot position names that carry the numbered streams' last numbers.
const SEQUENCE_PREFIX: &str = "sequence\u{1f}";

/// The numbered streams' last numbers saved in a snapshot's positions.
pub(crate) fn sequences_of(
    positions: &BTreeMap<String, String>,
) -> std::collections::HashMap<(String, String), u64> {
    positions
        .iter()
        .filter_map(|(key, value)| {
            let rest = key.strip_prefix(SEQUENCE_PREFIX)?;
            let (source, stream) = rest.split_once('\u{1f}')?;
            Some((
                (source.to_string(), stream.to_string()),
                value.parse().ok()?,
            ))
        })
        .collect()
}

/// Where in the log the events still waiting in the engine's reorder buffer start.
///
/// Snapshots leave those events out (the log has them): their size is bounded by the state,
/// not by the traffic. Each stretch of the log handed to the engine is remembered with the
/// newest time it may have left waiting, until the engine has released past that time; a
/// restart reads the log again from the oldest stretch remembered.
#[derive(Debug, Default)]
pub(crate) struct Waiting {
    stretches: std::collections::VecDeque<(u64, Ts)>,
}

impl Waiting {
    /// Remembers the stretch of the log from `start` holding `events`. An event dated beyond
    /// the clock bound never waits (the engine handles it at once), so it counts only up to
    /// the bound.
    fn note(&mut self, start: u64, events: &[Event], max_clock_ahead_ms: i64) {
        let newest = events
            .iter()
            .map(|e| match e.observed {
                Some(observed) => e.time.min(observed.plus_millis(max_clock_ahead_ms.max(0))),
                None => e.time,
            })
            .max();
        if let Some(newest) = newest {
            match self.stretches.back_mut() {
                // Contiguous stretches merge while the newer one holds nothing newer.
                Some((_, last)) if *last >= newest => {}
                _ => self.stretches.push_back((start, newest)),
            }
        }
    }

    /// The log position a restart reads again from: the oldest stretch that may still hold a
    /// waiting event, or `end` when none can.
    fn resume_from(&mut self, engine: &Engine, end: u64) -> u64 {
        let released = engine.watermark();
        while self
            .stretches
            .front()
            .is_some_and(|(_, newest)| *newest <= released)
        {
            self.stretches.pop_front();
        }
        if engine.buffered() == 0 {
            self.stretches.clear();
        }
        self.stretches.front().map_or(end, |(start, _)| *start)
    }
}

/// Findings and unresolved events waiting for the store lock.
#[derive(Default)]
struct Pending {
    findings: Vec<StoredFinding>,
    unresolved: Vec<Unresolved>,
    /// Lists an unresolved flow once per source, identifiers and hour.
    sampler: seam_store::UnresolvedSampler,
    /// Written since the last commit.
    dirty: bool,
    /// Written but not yet known to be committed, with the store's durability mark at the
    /// time: kept until a later commit confirms them, written again if the store was read
    /// again from disk first (a failed write loses what was not committed).
    unconfirmed: Vec<Unconfirmed>,
}

/// Rows written at a durability mark of the store, not yet confirmed by a commit.
type Unconfirmed = ((u64, u64), Vec<StoredFinding>, Vec<Unresolved>);

impl Pending {
    fn len(&self) -> usize {
        self.findings.len() + self.unresolved.len()
    }

    /// Something to write or to confirm by a commit.
    fn needs_write(&self) -> bool {
        self.len() > 0 || self.dirty || !self.unconfirmed.is_empty()
    }

    fn write(&mut self, store: &mut dyn ServiceStore) -> Result<(), String> {
        let (reopens, commits) = store.durability_mark();
        let mut lost = Vec::new();
        self.unconfirmed
            .retain_mut(|((r, c), findings, unresolved)| {
                if *r != reopens {
                    lost.push((std::mem::take(findings), std::mem::take(unresolved)));
                    false
                } else {
                    // Confirmed by a later commit: durable.
                    commits <= *c
                }
            });
        for (findings, unresolved) in lost {
            // Stores ignore a finding or event they already hold, so writing again is safe.
            self.findings.extend(findings);
            self.unresolved.extend(unresolved);
        }
        if self.findings.is_empty() && self.unresolved.is_empty() {
            return Ok(());
        }
        if !self.findings.is_empty() {
            store
                .append_findings(&self.findings)
                .map_err(|e| error_text(&e))?;
        }
        if !self.unresolved.is_empty() {
            store
                .add_unresolved(&self.unresolved)
                .map_err(|e| error_text(&e))?;
        }
        self.dirty = true;
        self.unconfirmed.push((
            (reopens, commits),
            std::mem::take(&mut self.findings),
            std::mem::take(&mut self.unresolved),
        ));
        Ok(())
    }
}

/// Moves what the engine produced into `pending` and onto the live stream.
fn take_output(
    out: &mut Output,
    pending: &mut Pending,
    stream: &broadcast::Sender<Arc<StreamFinding>>,
    metrics: &Metrics,
) {
    if !out.findings.is_empty() {
        metrics.count_findings(out.findings.iter().map(|f| f.rule_id()));
    }
    for finding in out.findings.drain(..) {
        let json = match serde_json::to_string(&finding) {
            Ok(json) => json,
            Err(error) => {
                eprintln!("seam serve: cannot serialize a finding: {error}");
                continue;
            }
        };
        let stored = StoredFinding {
            uid: finding.uid().to_string(),
            rule: finding.rule_id().to_string(),
            time: finding.time_dt,
            person: finding.person_uid().map(str::to_string),
            severity: finding.severity.clone(),
            json,
        };
        // No receiver is not an error: nobody is watching the stream.
        let _ = stream.send(Arc::new(StreamFinding {
            uid: stored.uid.clone(),
            rule: stored.rule.clone(),
            person: stored.person.clone(),
            json: stored.json.clone(),
        }));
        pending.findings.push(stored);
    }
    for processed in out.events.drain(..) {
        if processed.late {
            metrics.engine_late.fetch_add(1, Ordering::Relaxed);
        }
        if processed.unresolved {
            let item = Unresolved {
                event_uid: processed.event.uid.clone(),
                time: processed.event.time,
                source: processed.event.source.clone(),
                identifiers: serde_json::to_string(&processed.event.subject).unwrap_or_default(),
            };
            let flow = processed.event.class == seam_model::EventClass::NetworkActivity;
            if pending.sampler.keep(flow, &item) {
                pending.unresolved.push(item);
            }
        }
    }
}

/// Restores the latest snapshot and replays the log after it. Returns the log position the
/// engine has reached.
pub(crate) fn recover(
    engine: &mut Engine,
    store: &Mutex<Box<dyn ServiceStore>>,
    stream: &broadcast::Sender<Arc<StreamFinding>>,
    metrics: &Metrics,
    fresh: &dyn Fn() -> Engine,
    settings: &EngineLoopSettings,
) -> Result<(u64, Waiting), String> {
    let max_clock_ahead_ms = settings.max_clock_ahead_ms;
    let mut store = store
        .lock()
        .map_err(|_| "the store lock is poisoned".to_string())?;
    let mut position = 0;
    // Before this position, events were handed to the engine before its snapshot: only those
    // still waiting in its buffer are taken again.
    let mut snapshot_end = 0;
    if let Some(snapshot) = store.latest_snapshot().map_err(|e| error_text(&e))? {
        match engine.restore_bytes(&snapshot.state) {
            Ok(()) => {
                snapshot_end = snapshot.log_position;
                position = snapshot
                    .positions
                    .get(RESUME)
                    .and_then(|p| p.parse::<u64>().ok())
                    .filter(|p| *p <= snapshot_end)
                    .unwrap_or(snapshot_end);
            }
            Err(error) => {
                // An estate with a different directory cannot take the old state: rebuild it
                // from the whole log instead (findings are deduplicated by their ids).
                eprintln!(
                    "seam serve: the latest snapshot does not fit ({error}); rebuilding the engine state from the whole event log"
                );
                *engine = fresh();
            }
        }
    }
    let started = Instant::now();
    let from = position;
    let mut waiting = Waiting::default();
    let mut out = Output::default();
    let mut pending = Pending::default();
    loop {
        let (records, next) = store
            .read_events(position, 8192)
            .map_err(|e| error_text(&e))?;
        if records.is_empty() {
            break;
        }
        let mut read = Vec::with_capacity(records.len());
        for (offset, json) in records.iter().enumerate() {
            // Positions number the log's records, heartbeats included.
            let at = position + offset as u64;
            if let Some(tick) = parse_heartbeat(json) {
                tick.apply(engine, &mut out);
                continue;
            }
            match serde_json::from_str::<Event>(json) {
                Ok(event) => {
                    read.push(event.clone());
                    if at < snapshot_end {
                        engine.push_resumed(event, &mut out);
                    } else {
                        engine.push(event, &mut out);
                        metrics.engine_events.fetch_add(1, Ordering::Relaxed);
                    }
                }
                // An erased event, or one past its retention: nothing left to correlate.
                Err(_) if json.starts_with("{\"erased\":true") => {}
                // Another writer's record kind: not ours to read, and nothing to correlate.
                Err(error) => eprintln!("seam serve: skipping an unreadable log record: {error}"),
            }
        }
        waiting.note(position, &read, max_clock_ahead_ms);
        position = next;
        take_output(&mut out, &mut pending, stream, metrics);
        pending.write(&mut **store)?;
    }
    if position > from {
        eprintln!(
            "seam serve: replayed {} log records after the snapshot in {:.2}s",
            position - from,
            started.elapsed().as_secs_f64()
        );
        let resume = waiting.resume_from(engine, position);
        save_snapshot(
            &mut **store,
            engine,
            position,
            resume,
            &settings.sequences,
            metrics,
        )?;
    }
    metrics.log_end.store(position, Ordering::Relaxed);
    metrics.engine_position.store(position, Ordering::Relaxed);
    publish_watermark(engine, metrics);
    Ok((position, waiting))
}

/// The snapshot's position to read the log again from (events still waiting then).
const RESUME: &str = "resume";

fn publish_watermark(engine: &Engine, metrics: &Metrics) {
    let watermark = engine.watermark();
    if watermark > Ts::MIN {
        metrics.watermark_ms.store(watermark.0, Ordering::Relaxed);
    }
}

/// Saves the engine's state without its waiting events: the log has them from `resume` on.
fn save_snapshot(
    store: &mut dyn ServiceStore,
    engine: &mut Engine,
    position: u64,
    resume: u64,
    sequences: &crate::server::Sequences,
    metrics: &Metrics,
) -> Result<(), String> {
    engine.prune();
    let mut positions = BTreeMap::from([
        ("log".to_string(), position.to_string()),
        (RESUME.to_string(), resume.min(position).to_string()),
    ]);
    if let Ok(sequences) = sequences.lock() {
        for ((source, stream), number) in sequences.iter() {
            positions.insert(
                format!("{SEQUENCE_PREFIX}{source}\u{1f}{stream}"),
                number.to_string(),
            );
        }
    }
    let snapshot = Snapshot {
        positions,
        log_position: position,
        state: engine.snapshot_bytes_without_buffer(),
    };
    store.save_snapshot(&snapshot).map_err(|e| error_text(&e))?;
    metrics.snapshots.fetch_add(1, Ordering::Relaxed);
    // Counted at each snapshot: the totals walk every name.
    let (names, events) = engine.world().unknown.totals();
    metrics.unknown_names.store(names as u64, Ordering::Relaxed);
    metrics.unknown_events.store(events, Ordering::Relaxed);
    Ok(())
}

/// The engine loop, after [`recover`]. Returns when the writer has stopped and everything it
/// sent is processed, written and snapshotted.
#[expect(
    clippy::too_many_arguments,
    reason = "the thread's whole context, passed once"
)]
pub(crate) fn run(
    mut engine: Engine,
    (mut position, mut waiting): (u64, Waiting),
    rx: Receiver<EngineBatch>,
    store: Arc<Mutex<Box<dyn ServiceStore>>>,
    stream: broadcast::Sender<Arc<StreamFinding>>,
    metrics: Arc<Metrics>,
    settings: EngineLoopSettings,
    troubled: Arc<AtomicBool>,
) {
    let mut out = Output::default();
    let mut pending = Pending::default();
    let mut last_snapshot = Instant::now();
    let mut since_snapshot: u64 = 0;
    let mut snapshot_position = position;
    // A failed write keeps what is pending (a failed batch writes nothing): it is written
    // again with the next batch or the next quiet moment, once the writer has read the store
    // again. Meanwhile the service refuses input.
    let fail = |reason: String| {
        metrics.store_errors.fetch_add(1, Ordering::Relaxed);
        if !troubled.swap(true, Ordering::Relaxed) {
            eprintln!("seam serve: engine store write failed: {reason}; retrying");
        }
    };
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(mut batch) => {
                metrics.engine_queue.fetch_sub(1, Ordering::Relaxed);
                let count = batch.events.len() as u64;
                let backlog = batch.events.len() as i64;
                waiting.note(position, &batch.events, settings.max_clock_ahead_ms);
                engine.push_batch(&mut batch.events, &mut out);
                if let Some(tick) = batch.heartbeat {
                    tick.apply(&mut engine, &mut out);
                }
                metrics.engine_backlog.fetch_sub(backlog, Ordering::AcqRel);
                position = batch.log_end;
                since_snapshot += count;
                metrics.engine_events.fetch_add(count, Ordering::Relaxed);
                metrics.engine_position.store(position, Ordering::Relaxed);
                publish_watermark(&engine, &metrics);
                take_output(&mut out, &mut pending, &stream, &metrics);
                // The writer holds the lock through its fsync: rather than wait, keep
                // correlating and write what is pending with a later batch.
                if pending.len() > 0 {
                    let locked = match store.try_lock() {
                        Ok(guard) => Some(guard),
                        Err(TryLockError::WouldBlock) if pending.len() < 50_000 => None,
                        Err(TryLockError::WouldBlock) => store.lock().ok(),
                        Err(TryLockError::Poisoned(_)) => None,
                    };
                    if let Some(mut guard) = locked
                        && let Err(reason) = pending.write(&mut **guard)
                    {
                        fail(reason);
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                // Quiet: make what is written durable, so a finding does not wait for the
                // next event to be committed.
                if pending.needs_write()
                    && let Ok(mut guard) = store.lock()
                {
                    let result = pending
                        .write(&mut **guard)
                        .and_then(|()| guard.commit().map_err(|e| error_text(&e)));
                    match result {
                        Ok(()) => pending.dirty = false,
                        Err(reason) => fail(reason),
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let due = since_snapshot >= settings.snapshot_every_events
            || (last_snapshot.elapsed() >= settings.snapshot_every && position > snapshot_position);
        if due && let Ok(mut guard) = store.lock() {
            let result = write_and_snapshot(
                &mut **guard,
                &mut engine,
                &mut pending,
                &mut waiting,
                position,
                &settings,
                &metrics,
            );
            match result {
                Ok(()) => {
                    pending.dirty = false;
                    snapshot_position = position;
                }
                Err(reason) => fail(reason),
            }
            since_snapshot = 0;
            last_snapshot = Instant::now();
        }
    }
    // The writer has stopped: write the rest and keep the state.
    if let Ok(mut guard) = store.lock() {
        let result = write_and_snapshot(
            &mut **guard,
            &mut engine,
            &mut pending,
            &mut waiting,
            position,
            &settings,
            &metrics,
        );
        if let Err(reason) = result {
            fail(reason);
        }
    }
}

/// Writes what is pending, then saves a snapshot at `position`.
fn write_and_snapshot(
    store: &mut dyn ServiceStore,
    engine: &mut Engine,
    pending: &mut Pending,
    waiting: &mut Waiting,
    position: u64,
    settings: &EngineLoopSettings,
    metrics: &Metrics,
) -> Result<(), String> {
    let resume = waiting.resume_from(engine, position);
    pending.write(store)?;
    save_snapshot(
        store,
        engine,
        position,
        resume,
        &settings.sequences,
        metrics,
    )
}
