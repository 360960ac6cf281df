//! Batch processing: NDJSON in, engine, store and findings out. Shared by `replay` and `demo`.
//!
//! With a data directory, events, findings, dead letters and unresolved events are stored, and
//! a snapshot of the engine with each input's position is saved at the end (and every
//! `SNAPSHOT_EVERY` events), so a second run over a grown file continues where the first
//! stopped without repeating a finding.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::sync::Arc;
use std::time::{Duration, Instant};

use seam_engine::{CompiledRules, Engine, EngineConfig, Output, Processed};
use seam_estate::Estate;
use seam_model::{Event, Finding, Ts};
use seam_store::{DeadLetter, Snapshot, Store, StoredEvent, StoredFinding, Unresolved};

use crate::error::CliError;

/// Events handed to the engine at once (see [`Engine::push_batch`]).
const ENGINE_BATCH: usize = 1024;
use crate::feed::Feed;
use crate::input::Line;

/// Events between two writes to the store, by default.
pub const DEFAULT_BATCH: usize = 1024;
/// Events (and dead letters) written to the store in one commit, at least.
const STORE_BATCH: usize = 16_384;
/// Events between two snapshots.
const SNAPSHOT_EVERY: u64 = 200_000;

/// One named input stream.
pub struct Input {
    pub name: String,
    pub reader: Box<dyn BufRead>,
    pub format: crate::input::Format,
}

impl Input {
    /// Seam's normalized NDJSON.
    pub fn ndjson(name: impl Into<String>, reader: Box<dyn BufRead>) -> Input {
        Input {
            name: name.into(),
            reader,
            format: crate::input::Format::Ndjson,
        }
    }
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct Options {
    pub estate: Arc<Estate>,
    pub rules: Arc<CompiledRules>,
    /// Store events, findings and snapshots there, and resume from its last snapshot.
    pub store: Option<crate::stores::StoreLocation>,
    pub progress: bool,
    pub config: EngineConfig,
    /// Events between two writes to the store (and two flushes of findings to the sink).
    pub batch: usize,
    /// Merge the inputs by event time instead of reading them one after another.
    pub merge: bool,
}

#[derive(Debug, Default)]
pub struct Summary {
    pub events: u64,
    pub findings: u64,
    pub late: u64,
    /// Dated beyond the clock bounds: evaluated like late events, moving no watermark.
    pub ahead: u64,
    /// Matches of rules with `change: silence` that an approved change covered.
    pub silenced_by_change: u64,
    /// Findings the pack's tuning kept back (a rule switched off at a site, an exception).
    pub kept_back_by_tuning: u64,
    /// Names of places and things the events gave that the estate does not know.
    pub unknown: seam_engine::references::UnknownReferences,
    pub unresolved: u64,
    pub dead_letters: u64,
    pub duplicates: u64,
    pub skipped_lines: u64,
    /// Records the adapters skipped, by (input, reason): counted, never silent.
    pub skipped_records: BTreeMap<(String, String), u64>,
    pub elapsed: Duration,
}

/// Runs the inputs through one engine; every finding goes to `sink` in order.
pub fn run(
    inputs: Vec<Input>,
    options: &Options,
    sink: &mut dyn FnMut(&Finding) -> Result<(), CliError>,
) -> Result<Summary, CliError> {
    let started = Instant::now();
    let mut engine = Engine::new(
        Arc::clone(&options.estate),
        Arc::clone(&options.rules),
        options.config.clone(),
    );
    let store = match &options.store {
        Some(location) => Some(location.open()?),
        None => None,
    };
    let mut positions: BTreeMap<String, String> = BTreeMap::new();
    if let Some(store) = &store
        && let Some(snapshot) = store
            .latest_snapshot()
            .map_err(|e| CliError::Store(e.to_string()))?
    {
        engine
            .restore_bytes(&snapshot.state)
            .map_err(|error| CliError::Store(format!("cannot resume: {error}")))?;
        positions = snapshot.positions;
    }
    let mut store = store.map(StoreWriter::start);
    let mut summary = Summary::default();
    let mut out = Output::default();
    let mut pending = Pending::default();
    let progress = options.progress.then(progress_bar);
    let mut since_snapshot = 0u64;
    let resume = |name: &str| -> u64 {
        positions
            .get(name)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    };
    let (mut feed, skipped) = Feed::new(inputs, options.merge, &resume)?;
    summary.skipped_lines += skipped;
    // Events go to the engine a batch at a time (it resolves a batch's identifiers together);
    // the batch is handed over before anything that reads the engine's progress.
    let mut engine_batch: Vec<Event> = Vec::with_capacity(ENGINE_BATCH);
    while let Some((name, line)) = feed.next()? {
        match line {
            Line::Event(event) => {
                summary.events += 1;
                engine_batch.push(*event);
                if engine_batch.len() >= ENGINE_BATCH {
                    engine.push_batch(&mut engine_batch, &mut out);
                }
            }
            Line::Rejected { line, reason, raw } => {
                engine.push_batch(&mut engine_batch, &mut out);
                summary.dead_letters += 1;
                eprintln!("{name}:{line}: rejected: {reason}");
                pending.dead_letters.push(DeadLetter {
                    source: name.to_string(),
                    position: line.to_string(),
                    observed: engine.watermark().max(Ts(0)),
                    reason,
                    raw,
                });
            }
        }
        let batch = options.batch.max(1);
        if out.events.len() + out.findings.len() >= batch || pending.dead_letters.len() >= batch {
            pending.take(&mut out, &mut summary, sink)?;
            match store.as_mut() {
                // Findings reach the sink at once; the store takes larger commits (a round
                // trip and a sync each, which PostgreSQL feels most).
                Some(store) if pending.events.len() + pending.dead_letters.len() >= STORE_BATCH => {
                    store.send(ToStore::Batch(std::mem::take(&mut pending)))?;
                }
                Some(_) => {}
                None => pending.clear(),
            }
            if let Some(bar) = &progress {
                bar.set_position(summary.events);
            }
        }
        since_snapshot += 1;
        if since_snapshot >= SNAPSHOT_EVERY
            && let Some(store) = store.as_mut()
        {
            engine.push_batch(&mut engine_batch, &mut out);
            record_positions(&feed, &mut positions);
            pending.take(&mut out, &mut summary, sink)?;
            store.send(ToStore::Batch(std::mem::take(&mut pending)))?;
            store.send(snapshot(&engine, &positions))?;
            since_snapshot = 0;
        }
    }
    engine.push_batch(&mut engine_batch, &mut out);
    record_positions(&feed, &mut positions);
    engine.flush(&mut out);
    pending.take(&mut out, &mut summary, sink)?;
    if let Some(mut store) = store {
        store.send(ToStore::Batch(std::mem::take(&mut pending)))?;
        store.send(snapshot(&engine, &positions))?;
        store.finish()?;
    }
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let counters = engine.counters();
    summary.late = counters.late;
    summary.ahead = counters.ahead;
    summary.silenced_by_change = counters.silenced_by_change;
    summary.kept_back_by_tuning = counters.kept_back_by_tuning;
    summary.unknown = engine.world().unknown.clone();
    summary.skipped_records = feed.skips();
    summary.unresolved = counters.unresolved;
    summary.duplicates = counters.duplicates;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

fn record_positions(feed: &Feed, positions: &mut BTreeMap<String, String>) {
    for (name, lines) in feed.positions() {
        positions.insert(name.to_string(), lines.to_string());
    }
}

/// The engine's state now, for the store writer to save after what came before it.
fn snapshot(engine: &Engine, positions: &BTreeMap<String, String>) -> ToStore {
    ToStore::Snapshot {
        positions: positions.clone(),
        state: engine.snapshot_bytes(),
    }
}

/// What the store writer is handed, in order.
enum ToStore {
    Batch(Pending),
    /// Saved at the log position the store has reached by then.
    Snapshot {
        positions: BTreeMap<String, String>,
        state: Vec<u8>,
    },
}

/// The store on a thread of its own: a batch is serialized and committed while the engine
/// goes on with the next. Two batches wait at most (the engine then waits for the store).
struct StoreWriter {
    tx: Option<std::sync::mpsc::SyncSender<ToStore>>,
    handle: Option<std::thread::JoinHandle<Result<(), CliError>>>,
}

impl StoreWriter {
    fn start(mut store: Box<dyn Store>) -> StoreWriter {
        let (tx, rx) = std::sync::mpsc::sync_channel::<ToStore>(2);
        let handle = std::thread::spawn(move || {
            let mut sampler = seam_store::UnresolvedSampler::default();
            for message in rx {
                match message {
                    ToStore::Batch(pending) => pending.write(&mut *store, &mut sampler)?,
                    ToStore::Snapshot { positions, state } => {
                        let error = |e: seam_store::StoreError| CliError::Store(e.to_string());
                        let log_position = store.log_position().map_err(error)?;
                        store
                            .save_snapshot(&Snapshot {
                                positions,
                                log_position,
                                state,
                            })
                            .map_err(error)?;
                    }
                }
            }
            Ok(())
        });
        StoreWriter {
            tx: Some(tx),
            handle: Some(handle),
        }
    }

    /// Hands a message over; the writer's own error if it has stopped.
    fn send(&mut self, message: ToStore) -> Result<(), CliError> {
        let sent = self.tx.as_ref().map(|tx| tx.send(message).is_ok());
        if sent == Some(true) {
            return Ok(());
        }
        self.tx = None;
        self.join()
            .and(Err(CliError::Store("the store writer stopped".into())))
    }

    /// Waits until everything handed over is written.
    fn finish(mut self) -> Result<(), CliError> {
        self.tx = None;
        self.join()
    }

    fn join(&mut self) -> Result<(), CliError> {
        match self.handle.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(CliError::Store("the store writer panicked".into())),
            None => Ok(()),
        }
    }
}

/// What waits to be written to the store.
#[derive(Default)]
struct Pending {
    events: Vec<Processed>,
    findings: Vec<StoredFinding>,
    dead_letters: Vec<DeadLetter>,
}

impl Pending {
    fn take(
        &mut self,
        out: &mut Output,
        summary: &mut Summary,
        sink: &mut dyn FnMut(&Finding) -> Result<(), CliError>,
    ) -> Result<(), CliError> {
        for finding in out.findings.drain(..) {
            summary.findings += 1;
            sink(&finding)?;
            let json =
                serde_json::to_string(&finding).map_err(|e| CliError::Store(e.to_string()))?;
            self.findings.push(StoredFinding {
                uid: finding.uid().to_string(),
                rule: finding.rule_id().to_string(),
                time: finding.time_dt,
                person: finding.person_uid().map(str::to_string),
                severity: finding.severity.clone(),
                json,
            });
        }
        self.events.append(&mut out.events);
        Ok(())
    }

    /// Serializes and stores the batch in one commit (on the store writer's thread).
    fn write(
        &self,
        store: &mut dyn Store,
        sampler: &mut seam_store::UnresolvedSampler,
    ) -> Result<(), CliError> {
        let error = |e: seam_store::StoreError| CliError::Store(e.to_string());
        let jsons = self
            .events
            .iter()
            .map(|processed| serde_json::to_string(&processed.event))
            .collect::<Result<Vec<String>, _>>()
            .map_err(|e| CliError::Store(e.to_string()))?;
        let events: Vec<StoredEvent<'_>> = self
            .events
            .iter()
            .zip(&jsons)
            .map(|(processed, json)| StoredEvent {
                uid: &processed.event.uid,
                time: processed.event.time,
                observed: processed.event.observed_time(),
                source: &processed.event.source,
                class: processed.event.class.as_str(),
                person: processed.person.as_deref(),
                late: processed.late,
                json,
            })
            .collect();
        store.append_events(&events).map_err(error)?;
        let unresolved: Vec<Unresolved> = self
            .events
            .iter()
            .filter(|processed| processed.unresolved)
            .filter_map(|processed| {
                let item = Unresolved {
                    event_uid: processed.event.uid.clone(),
                    time: processed.event.time,
                    source: processed.event.source.clone(),
                    identifiers: serde_json::to_string(&processed.event.subject)
                        .unwrap_or_default(),
                };
                let flow = processed.event.class == seam_model::EventClass::NetworkActivity;
                sampler.keep(flow, &item).then_some(item)
            })
            .collect();
        store.add_unresolved(&unresolved).map_err(error)?;
        store.append_findings(&self.findings).map_err(error)?;
        store.add_dead_letters(&self.dead_letters).map_err(error)?;
        store.commit().map_err(error)
    }

    fn clear(&mut self) {
        self.events.clear();
        self.findings.clear();
        self.dead_letters.clear();
    }
}

fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {pos} events {per_sec} {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded;
    use seam_store::EmbeddedStore;
    use std::path::PathBuf;

    fn options(data_dir: Option<PathBuf>, batch: usize) -> Options {
        let store = data_dir.map(crate::stores::StoreLocation::Directory);
        Options {
            estate: crate::load::estate(None).unwrap(),
            rules: crate::load::rules(None).unwrap(),
            store,
            progress: false,
            config: EngineConfig::default(),
            batch,
            merge: false,
        }
    }

    fn replay(text: &str, options: &Options) -> (Vec<String>, Summary) {
        let input = Input::ndjson(
            "day.ndjson",
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
        );
        let mut findings = Vec::new();
        let summary = run(vec![input], options, &mut |finding| {
            findings.push(serde_json::to_string(finding).unwrap());
            Ok(())
        })
        .unwrap();
        (findings, summary)
    }

    /// The sorted `finding_info.uid`s of findings written as JSON.
    fn finding_ids(findings: &[String]) -> Vec<String> {
        let mut ids: Vec<String> = findings
            .iter()
            .map(|f| {
                serde_json::from_str::<serde_json::Value>(f).unwrap()["finding_info"]["uid"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        ids.sort();
        ids
    }

    fn stored_findings(dir: &std::path::Path) -> Vec<String> {
        let store = EmbeddedStore::open(dir).unwrap();
        let filter = seam_store::FindingFilter {
            limit: 10_000,
            ..seam_store::FindingFilter::default()
        };
        store
            .findings(&filter)
            .unwrap()
            .into_iter()
            .map(|f| f.uid)
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 8, ..Default::default() })]
        #[test]
        fn any_batch_size_gives_the_same_findings_and_the_same_store(batch in 1usize..200) {
            let (expected, _) = replay(embedded::DEMO_DAY, &options(None, DEFAULT_BATCH));
            let dir = tempfile::tempdir().unwrap();
            let (found, _) = replay(embedded::DEMO_DAY, &options(Some(dir.path().to_path_buf()), batch));
            proptest::prop_assert_eq!(&found, &expected);
            proptest::prop_assert_eq!(stored_findings(dir.path()).len(), expected.len());
        }
    }

    #[test]
    fn a_restart_resumes_from_the_snapshot_without_missing_or_repeating_a_finding() {
        let lines: Vec<&str> = embedded::DEMO_DAY.lines().collect();
        let (expected, _) = replay(embedded::DEMO_DAY, &options(None, DEFAULT_BATCH));
        for cut in [1, 40, 77, lines.len() - 1] {
            let dir = tempfile::tempdir().unwrap();
            let first_part = lines[..cut].join("\n") + "\n";
            let (mut found, _) = replay(&first_part, &options(Some(dir.path().to_path_buf()), 7));
            // The file has grown; the second run skips what the snapshot says was read.
            let (rest, summary) = replay(
                embedded::DEMO_DAY,
                &options(Some(dir.path().to_path_buf()), 7),
            );
            assert_eq!(summary.skipped_lines, cut as u64);
            found.extend(rest);
            // Every finding of the uninterrupted run, each exactly once.
            let mut found_ids = finding_ids(&found);
            found_ids.dedup();
            assert_eq!(
                found_ids.len(),
                found.len(),
                "a finding repeated at cut {cut}"
            );
            let expected_ids = finding_ids(&expected);
            assert_eq!(found_ids, expected_ids, "findings differ at cut {cut}");
            let mut stored = stored_findings(dir.path());
            stored.sort();
            assert_eq!(stored, expected_ids);
        }
    }

    #[test]
    fn running_the_same_input_again_adds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (first, _) = replay(
            embedded::DEMO_DAY,
            &options(Some(dir.path().to_path_buf()), 64),
        );
        let (second, summary) = replay(
            embedded::DEMO_DAY,
            &options(Some(dir.path().to_path_buf()), 64),
        );
        assert!(!first.is_empty());
        assert!(second.is_empty());
        assert_eq!(summary.events, 0);
        assert_eq!(stored_findings(dir.path()).len(), first.len());
    }

    #[test]
    fn bad_lines_are_dead_lettered_with_their_line_and_the_rest_continues() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{{\"uid\":1}}\n{}not json at all\n", embedded::DEMO_DAY);
        let (findings, summary) = replay(&text, &options(Some(dir.path().to_path_buf()), 16));
        assert_eq!(summary.dead_letters, 2);
        assert_eq!(
            findings.len(),
            replay(embedded::DEMO_DAY, &options(None, 16)).0.len()
        );
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let letters = store.dead_letters(10).unwrap();
        let positions: Vec<&str> = letters.iter().map(|l| l.position.as_str()).collect();
        assert!(positions.contains(&"1"), "{positions:?}");
        assert!(letters.iter().any(|l| l.raw == b"not json at all"));
        assert!(store.counts().unwrap().unresolved > 0);
    }
}
