//! The writer thread: the only one that appends to the event log. It takes ingest jobs from a
//! bounded queue, appends every job waiting (group commit), commits once (fsync), answers each
//! job, then hands the new events to the engine thread in log order.
//!
//! Acknowledgement follows durability: a job's answer is sent only after the commit that made
//! its events durable returned. The engine sees an event only after it is durable too, so a
//! finding never rests on an event a crash could take back. Heartbeats (the wall clock moving
//! the watermark) are records in the same log, so a restart replays them in the same place.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use seam_model::{Event, Ts};
use seam_store::{DeadLetter, StoreError, StoredEvent};

use crate::store::ServiceStore;
use tokio::sync::oneshot;

use crate::config::HEARTBEAT_SOURCE;
use crate::metrics::Metrics;

/// The heartbeat interval while no events arrive.
const IDLE_HEARTBEAT_MS: u64 = 5_000;

/// Events of one input, parsed and serialized, waiting to be made durable.
#[derive(Debug)]
pub(crate) struct Job {
    pub events: Vec<Event>,
    /// Each event's JSON, as stored.
    pub jsons: Vec<String>,
    pub dead_letters: Vec<DeadLetter>,
    /// A protocol's own state written in the same commit as the events (SCIM resources).
    pub documents: Box<[seam_store::DocumentWrite]>,
    /// Answered once durable; `None` when nobody waits (UDP).
    pub reply: Option<oneshot::Sender<Result<Committed, String>>>,
    /// The configured source, for counters.
    pub source: usize,
}

/// What the commit did with a job's events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Committed {
    pub inserted: usize,
    pub duplicates: usize,
}

/// What the engine thread receives: durable records in log order, and the log position just
/// after them.
#[derive(Debug)]
pub(crate) struct EngineBatch {
    pub events: Vec<Event>,
    /// A heartbeat after the events.
    pub heartbeat: Option<Tick>,
    pub log_end: u64,
}

/// A heartbeat record in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tick {
    /// The wall clock reached this time: the engine moves each source's part of the watermark
    /// by that source's delay ([`seam_engine::Engine::clock`]).
    Clock(Ts),
    /// Written by earlier versions: move the watermark to this time.
    Watermark(Ts),
}

impl Tick {
    pub(crate) fn time(self) -> Ts {
        match self {
            Tick::Clock(time) | Tick::Watermark(time) => time,
        }
    }

    /// Applies the tick to the engine.
    pub(crate) fn apply(self, engine: &mut seam_engine::Engine, out: &mut seam_engine::Output) {
        match self {
            Tick::Clock(now) => engine.clock(now, out),
            Tick::Watermark(watermark) => engine.advance_to(watermark, out),
        }
    }
}

/// The JSON of a heartbeat record: never a valid event (events deny unknown fields).
pub(crate) fn heartbeat_json(tick: Tick) -> String {
    match tick {
        Tick::Clock(now) => format!("{{\"clock\":{}}}", now.0),
        Tick::Watermark(watermark) => format!("{{\"heartbeat\":{}}}", watermark.0),
    }
}

/// Reads a heartbeat record back.
pub(crate) fn parse_heartbeat(json: &str) -> Option<Tick> {
    if let Some(rest) = json.strip_prefix("{\"clock\":") {
        return rest
            .strip_suffix('}')?
            .parse()
            .ok()
            .map(|t| Tick::Clock(Ts(t)));
    }
    let rest = json.strip_prefix("{\"heartbeat\":")?.strip_suffix('}')?;
    rest.parse().ok().map(|t| Tick::Watermark(Ts(t)))
}

/// Why a job was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubmitError {
    /// The queue is full: try again shortly.
    Busy,
    /// The writer has stopped.
    Closed,
}

/// The ingest side's handle on the writer.
#[derive(Debug, Clone)]
pub(crate) struct WriterHandle {
    tx: SyncSender<Job>,
    metrics: Arc<Metrics>,
}

impl WriterHandle {
    /// Queues a job, or gives it back with the reason.
    pub(crate) fn try_submit(&self, job: Job) -> Result<(), (SubmitError, Job)> {
        self.metrics.writer_queue.fetch_add(1, Ordering::Relaxed);
        match self.tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(error) => {
                self.metrics.writer_queue.fetch_sub(1, Ordering::Relaxed);
                Err(match error {
                    TrySendError::Full(job) => (SubmitError::Busy, job),
                    TrySendError::Disconnected(job) => (SubmitError::Closed, job),
                })
            }
        }
    }
}

/// Settings of the writer loop.
#[derive(Debug, Clone)]
pub(crate) struct WriterSettings {
    pub heartbeat_ms: u64,
    pub lateness_ms: i64,
    /// The most events one commit gathers.
    pub max_events_per_commit: usize,
    /// The most events waiting for the engine; past it the writer waits.
    pub max_engine_backlog: usize,
    /// After a failed write, the free space the disk needs before input is taken again.
    pub min_free_disk_bytes: u64,
}

pub(crate) fn channel(capacity: usize, metrics: Arc<Metrics>) -> (WriterHandle, Receiver<Job>) {
    let (tx, rx) = std::sync::mpsc::sync_channel(capacity);
    (WriterHandle { tx, metrics }, rx)
}

/// The writer loop. Returns when `stop` is set and the queue is empty, or every handle is gone.
#[expect(
    clippy::too_many_arguments,
    reason = "the thread's whole context, passed once"
)]
pub(crate) fn run(
    rx: Receiver<Job>,
    store: Arc<Mutex<Box<dyn ServiceStore>>>,
    engine: SyncSender<EngineBatch>,
    settings: WriterSettings,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
    troubled: Arc<AtomicBool>,
    sources: Vec<String>,
) {
    // The end of the log as the engine has been handed it.
    let mut handed_end = store
        .lock()
        .ok()
        .and_then(|s| s.log_position().ok())
        .unwrap_or(0);
    // While events arrive (and for the lateness after the last one), a heartbeat every
    // `heartbeat_ms` keeps findings from waiting for the next event; when idle, one in a while
    // still fires the timers that fall due.
    let busy_every = Duration::from_millis(settings.heartbeat_ms);
    let idle_every = busy_every.max(Duration::from_millis(IDLE_HEARTBEAT_MS));
    let mut last_heartbeat = Instant::now();
    let mut last_heartbeat_ts = Ts::MIN;
    // Busy until the last appended event is older than the lateness (its findings are out).
    let busy_for = busy_every * 2 + Duration::from_millis(settings.lateness_ms.max(0) as u64);
    let mut last_append: Option<Instant> = None;
    let interval = |last_append: Option<Instant>| match last_append {
        Some(at) if at.elapsed() <= busy_for => busy_every,
        _ => idle_every,
    };
    loop {
        let every = interval(last_append);
        let wait = if stop.load(Ordering::Relaxed) {
            Duration::from_millis(20)
        } else if settings.heartbeat_ms > 0 {
            every.saturating_sub(last_heartbeat.elapsed())
        } else {
            Duration::from_millis(200)
        };
        let mut jobs = Vec::new();
        // Never asleep for long: the stop flag is read between waits.
        let wait = wait.clamp(Duration::from_millis(1), Duration::from_millis(100));
        match rx.recv_timeout(wait) {
            Ok(job) => jobs.push(job),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        let mut events: usize = jobs.iter().map(|j| j.events.len()).sum();
        while events < settings.max_events_per_commit {
            match rx.try_recv() {
                Ok(job) => {
                    events += job.events.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        metrics
            .writer_queue
            .fetch_sub(jobs.len() as i64, Ordering::Relaxed);
        if !jobs.is_empty() {
            last_append = Some(Instant::now());
        }
        let every = interval(last_append);
        let heartbeat = if settings.heartbeat_ms > 0 && last_heartbeat.elapsed() >= every {
            last_heartbeat = Instant::now();
            let now = Ts(crate::now_ms());
            // The wall clock may step back; the heartbeats never do.
            (now > last_heartbeat_ts).then(|| {
                last_heartbeat_ts = now;
                Tick::Clock(now)
            })
        } else {
            None
        };
        if jobs.is_empty() && heartbeat.is_none() {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            continue;
        }
        let written = match store.lock() {
            Ok(mut store) => write_cycle(&mut **store, &jobs, heartbeat, &metrics),
            Err(_) => Err("the store lock is poisoned".to_string()),
        };
        let (results, heartbeat_stored, log_end) = match written {
            Ok(written) => written,
            Err(reason) => {
                // Nothing of this cycle is acknowledged. The store is read again from disk,
                // as after a restart, once it can be (the disk has room again): until then the
                // service is not ready and refuses input, and then resumes by itself.
                troubled.store(true, Ordering::Relaxed);
                metrics.store_errors.fetch_add(1, Ordering::Relaxed);
                eprintln!(
                    "seam serve: store write failed: {reason}; nothing of it is acknowledged"
                );
                for job in jobs {
                    if let Some(reply) = job.reply {
                        let _ = reply.send(Err(reason.clone()));
                    }
                }
                if !reopen_store(
                    &store,
                    &stop,
                    &engine,
                    &metrics,
                    &mut handed_end,
                    settings.min_free_disk_bytes,
                ) {
                    break;
                }
                troubled.store(false, Ordering::Relaxed);
                continue;
            }
        };
        troubled.store(false, Ordering::Relaxed);
        metrics.log_end.store(log_end, Ordering::Relaxed);
        let mut batch = Vec::with_capacity(events);
        for (job, result) in jobs.into_iter().zip(results) {
            let Job {
                events,
                reply,
                source,
                dead_letters,
                ..
            } = job;
            match result {
                Ok((committed, duplicate_indices)) => {
                    if let Some(counters) = sources.get(source).and_then(|s| metrics.source(s)) {
                        counters
                            .events_stored
                            .fetch_add(committed.inserted as u64, Ordering::Relaxed);
                        counters
                            .duplicates
                            .fetch_add(committed.duplicates as u64, Ordering::Relaxed);
                    }
                    metrics
                        .dead_letters
                        .fetch_add(dead_letters.len() as u64, Ordering::Relaxed);
                    if let Some(reply) = reply {
                        let _ = reply.send(Ok(committed));
                    }
                    let mut duplicates = duplicate_indices.into_iter().peekable();
                    for (index, event) in events.into_iter().enumerate() {
                        if duplicates.peek() == Some(&index) {
                            duplicates.next();
                            continue;
                        }
                        batch.push(event);
                    }
                }
                Err(reason) => {
                    if let Some(reply) = reply {
                        let _ = reply.send(Err(reason));
                    }
                }
            }
        }
        let heartbeat = heartbeat.filter(|_| heartbeat_stored);
        if batch.is_empty() && heartbeat.is_none() {
            continue;
        }
        // Waits while the engine is behind: the writer's queue then fills and ingest answers
        // 503 (TCP and MQTT stop being read), which is the backpressure the senders see.
        let count = batch.len() as i64;
        let limit = settings.max_engine_backlog as i64;
        while {
            let backlog = metrics.engine_backlog.load(Ordering::Acquire);
            backlog > 0 && backlog + count > limit
        } {
            std::thread::sleep(Duration::from_millis(1));
        }
        metrics.engine_backlog.fetch_add(count, Ordering::AcqRel);
        metrics.engine_queue.fetch_add(1, Ordering::Relaxed);
        if engine
            .send(EngineBatch {
                events: batch,
                heartbeat,
                log_end,
            })
            .is_err()
        {
            break;
        }
        handed_end = log_end;
    }
}

/// After a failed write: reads the store again from disk until it can be (retrying every half
/// second, until `stop`), then hands the engine whatever the log holds past what it was given
/// (a write can reach the disk although its sync failed), in log order with its heartbeats.
/// False when the engine is gone or the service stops first.
fn reopen_store(
    store: &Mutex<Box<dyn ServiceStore>>,
    stop: &AtomicBool,
    engine: &SyncSender<EngineBatch>,
    metrics: &Metrics,
    handed_end: &mut u64,
    min_free: u64,
) -> bool {
    let mut attempts: u64 = 0;
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let Ok(mut guard) = store.lock() else {
            return false;
        };
        // Reading the store again costs a pass over the log: only once there is room.
        let room = guard
            .local_directory()
            .and_then(crate::server::free_disk_bytes)
            .is_none_or(|free| free >= min_free);
        if room {
            match guard.reopen() {
                Ok(()) => break,
                Err(error) => {
                    attempts += 1;
                    if attempts == 1 || attempts.is_multiple_of(120) {
                        eprintln!(
                            "seam serve: the store cannot be read again yet: {}; retrying",
                            error_text(&error)
                        );
                    }
                }
            }
        }
        drop(guard);
        std::thread::sleep(Duration::from_millis(500));
    }
    eprintln!("seam serve: the store is writable again; taking input");
    loop {
        let read = match store.lock() {
            Ok(guard) => guard.read_events(*handed_end, 8192),
            Err(_) => return false,
        };
        let Ok((records, next)) = read else {
            return true;
        };
        if records.is_empty() {
            return true;
        }
        let mut events = Vec::new();
        let mut position = *handed_end;
        for json in &records {
            position += 1;
            if let Some(tick) = parse_heartbeat(json) {
                let batch = EngineBatch {
                    events: std::mem::take(&mut events),
                    heartbeat: Some(tick),
                    log_end: position,
                };
                if !hand(engine, metrics, batch) {
                    return false;
                }
                *handed_end = position;
            } else if let Ok(event) = serde_json::from_str::<Event>(json) {
                events.push(event);
            }
        }
        let batch = EngineBatch {
            events,
            heartbeat: None,
            log_end: next,
        };
        if !hand(engine, metrics, batch) {
            return false;
        }
        *handed_end = next;
    }
}

fn hand(engine: &SyncSender<EngineBatch>, metrics: &Metrics, batch: EngineBatch) -> bool {
    metrics
        .engine_backlog
        .fetch_add(batch.events.len() as i64, Ordering::AcqRel);
    metrics.engine_queue.fetch_add(1, Ordering::Relaxed);
    engine.send(batch).is_ok()
}

type JobResult = Result<(Committed, Vec<usize>), String>;

/// Appends every job (a job the store refuses fails alone), the dead letters and the heartbeat,
/// then commits once. Returns each job's outcome, whether the heartbeat was stored, and the
/// log's end.
fn write_cycle(
    store: &mut dyn ServiceStore,
    jobs: &[Job],
    heartbeat: Option<Tick>,
    metrics: &Metrics,
) -> Result<(Vec<JobResult>, bool, u64), String> {
    let failed = |error: StoreError| error_text(&error);
    let mut results = Vec::with_capacity(jobs.len());
    let mut letters: Vec<DeadLetter> = Vec::new();
    let mut documents: Vec<seam_store::DocumentWrite> = Vec::new();
    for job in jobs {
        let stored: Vec<StoredEvent<'_>> = job
            .events
            .iter()
            .zip(&job.jsons)
            .map(|(event, json)| StoredEvent {
                uid: &event.uid,
                time: event.time,
                observed: event.observed_time(),
                source: &event.source,
                class: event.class.as_str(),
                person: None,
                late: false,
                json,
            })
            .collect();
        match store.append_events(&stored) {
            Ok(outcome) => {
                letters.extend(job.dead_letters.iter().cloned());
                documents.extend(job.documents.iter().cloned());
                results.push(Ok((
                    Committed {
                        inserted: outcome.inserted,
                        duplicates: outcome.duplicates,
                    },
                    outcome.duplicate_indices,
                )));
            }
            Err(StoreError::Broken) => return Err(failed(StoreError::Broken)),
            Err(error @ (StoreError::EventTooLarge { .. } | StoreError::FieldTooLong { .. })) => {
                results.push(Err(error_text(&error)));
            }
            Err(error) => return Err(failed(error)),
        }
    }
    if !letters.is_empty() {
        store.add_dead_letters(&letters).map_err(failed)?;
    }
    if !documents.is_empty() {
        store.write_documents(&documents).map_err(failed)?;
    }
    let mut heartbeat_stored = false;
    if let Some(tick) = heartbeat {
        let uid = format!("seam-clock-{}", tick.time().0);
        let json = heartbeat_json(tick);
        let outcome = store
            .append_events(&[StoredEvent {
                uid: &uid,
                time: tick.time(),
                observed: Ts(crate::now_ms()),
                source: HEARTBEAT_SOURCE,
                class: "heartbeat",
                person: None,
                late: false,
                json: &json,
            }])
            .map_err(failed)?;
        heartbeat_stored = outcome.inserted == 1;
    }
    if !jobs.is_empty() {
        // A heartbeat alone is not committed: nothing waits for it, and the engine's own next
        // commit (or the next group commit) makes it durable before anything built on it.
        let started = Instant::now();
        store.commit().map_err(failed)?;
        metrics.commits.fetch_add(1, Ordering::Relaxed);
        metrics.commit_micros.fetch_add(
            u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }
    let log_end = store.log_position().map_err(failed)?;
    Ok((results, heartbeat_stored, log_end))
}

/// A store error with its causes, for the log and the 5xx reason.
pub(crate) fn error_text(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        Job {
            events: Vec::new(),
            jsons: Vec::new(),
            dead_letters: Vec::new(),
            documents: Box::default(),
            reply: None,
            source: 0,
        }
    }

    #[test]
    fn a_full_queue_gives_the_job_back() {
        let metrics = Arc::new(Metrics::new(["s"]));
        let (handle, rx) = channel(1, Arc::clone(&metrics));
        assert!(handle.try_submit(job()).is_ok());
        let (error, _job) = handle.try_submit(job()).unwrap_err();
        assert_eq!(error, SubmitError::Busy);
        assert_eq!(metrics.writer_queue.load(Ordering::Relaxed), 1);
        drop(rx);
        let (error, _job) = handle.try_submit(job()).unwrap_err();
        assert_eq!(error, SubmitError::Closed);
    }

    #[test]
    fn heartbeats_round_trip_and_are_never_events() {
        for tick in [
            Tick::Clock(Ts(1_772_445_600_000)),
            Tick::Watermark(Ts(1_772_445_600_000)),
            Tick::Clock(Ts(-5)),
        ] {
            let json = heartbeat_json(tick);
            assert_eq!(parse_heartbeat(&json), Some(tick));
            assert!(serde_json::from_str::<Event>(&json).is_err());
        }
        assert_eq!(parse_heartbeat("{\"uid\":\"x\"}"), None);
        // Logs written by earlier versions keep their meaning.
        assert_eq!(
            parse_heartbeat("{\"heartbeat\":42}"),
            Some(Tick::Watermark(Ts(42)))
        );
    }
}
