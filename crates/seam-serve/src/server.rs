//! Starting and stopping the service: the store, the writer and engine threads, the runtime
//! with every listener, and the order in which they stop.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use seam_engine::{CompiledRules, Engine, EngineConfig};
use seam_estate::Estate;
use tokio::sync::{broadcast, watch};

use crate::config::{ServeConfig, Transport};
use crate::engine_thread::{self, EngineLoopSettings, StreamFinding};
use crate::ingest::SourceRuntime;
use crate::metrics::Metrics;
use crate::writer::{self, WriterHandle, WriterSettings};

/// Why the service could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("store: {0}")]
    Store(String),
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        what: String,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("{0}")]
    Runtime(String),
}

/// The last number seen per numbered stream, by (source name, stream).
pub(crate) type Sequences = Arc<Mutex<std::collections::HashMap<(String, String), u64>>>;

/// A number this far below the last one seen starts a stream's count anew (a controller
/// reset), rather than being a straggler.
const SEQUENCE_RESTART: u64 = 1000;

/// Where the service listens, with the ports the system chose for `:0` addresses.
#[derive(Debug, Clone)]
pub struct Addresses {
    /// Ingest and health.
    pub http: SocketAddr,
    /// The read API: the same as `http` unless a separate `api` address was configured.
    pub api: SocketAddr,
    /// Syslog listeners by source name.
    pub syslog_udp: BTreeMap<String, SocketAddr>,
    pub syslog_tcp: BTreeMap<String, SocketAddr>,
    /// NetFlow/IPFIX listeners by source name.
    pub netflow_udp: BTreeMap<String, SocketAddr>,
}

/// What every listener and handler shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub sources: Vec<SourceRuntime>,
    pub writer: WriterHandle,
    pub store: Arc<Mutex<Box<dyn crate::store::ServiceStore>>>,
    pub stream: broadcast::Sender<Arc<StreamFinding>>,
    pub metrics: Arc<Metrics>,
    /// The log has been replayed and the writer is running.
    pub recovered: AtomicBool,
    /// The engine state could not be recovered at start: nothing can be made durable until a
    /// restart.
    pub broken: Arc<AtomicBool>,
    /// A store write failed (a full disk, an I/O error): input is refused until the store has
    /// been read again from disk, which is retried by itself.
    pub troubled: Arc<AtomicBool>,
    /// The data directory's file system has less free space than the minimum.
    pub disk_low: Arc<AtomicBool>,
    /// MQTT subscriptions confirmed (true when there is no MQTT source).
    pub mqtt_ready: AtomicBool,
    pub inflight_bytes: AtomicUsize,
    pub max_inflight_bytes: usize,
    pub max_body_bytes: usize,
    pub shutdown: watch::Receiver<bool>,
    /// Numbers inputs, for dead letters' positions.
    pub input_seq: AtomicU64,
    pub limits: crate::conn::ConnectionLimits,
    /// Request bodies held before their signature could be checked, in bytes.
    pub unverified_bytes: AtomicUsize,
    /// Every TCP listener's connections, by listener name, for the metrics.
    pub registries: Mutex<Vec<(String, Arc<crate::conn::Registry>)>>,
    /// Which dead letters are stored: per source, a rate and a quota.
    pub dead_letters: crate::dead_letters::Gate,
    /// The last number seen per numbered stream (source name, stream), to count gaps; kept in
    /// the snapshots, so that what a broker lost while Seam was down is counted too.
    pub sequences: Sequences,
    /// SCIM provisioning, when configured.
    pub scim: Option<Arc<crate::scim::Scim>>,
    /// The estate as loaded at start: imports are checked against its places.
    pub estate: Arc<Estate>,
    /// The tamper-evident audit log.
    pub audit: crate::audit::Audit,
    /// Users, tokens, sessions, pseudonyms: who may call the API.
    pub access: crate::access::AccessState,
    /// Single sign-on, when configured.
    pub oidc: Option<Arc<crate::oidc::Oidc>>,
    /// Triage and cases: procedures, evidence, the export key.
    pub cases: Arc<crate::cases::CasesState>,
}

impl Shared {
    /// The estate people and places are looked up in for the API's answers.
    pub(crate) fn current_estate(&self) -> Arc<Estate> {
        Arc::clone(&self.estate)
    }

    pub(crate) fn source_index(&self, name: &str) -> Option<usize> {
        self.sources.iter().position(|s| s.config.name == name)
    }

    /// Why the service as a whole is not ready, if it is not. A source's own trouble (its
    /// broker unreachable) is not here: it never makes another transport refuse; see
    /// [`Shared::source_trouble`].
    pub(crate) fn not_ready(&self) -> Option<&'static str> {
        if self.broken.load(Ordering::Relaxed) {
            Some("the engine state could not be recovered; see the service's log")
        } else if self.troubled.load(Ordering::Relaxed) {
            Some("the store cannot write (is the disk full?); retrying by itself")
        } else if self.disk_low.load(Ordering::Relaxed) {
            Some(
                "the disk holding the data directory is nearly full; input is refused until there is room",
            )
        } else if !self.recovered.load(Ordering::Relaxed) {
            Some("replaying the event log")
        } else if *self.shutdown.borrow() {
            Some("stopping")
        } else {
            None
        }
    }

    /// Why one source cannot take input now, if it cannot.
    pub(crate) fn source_trouble(&self, source: &SourceRuntime) -> Option<&'static str> {
        match source.config.transport {
            Transport::Mqtt { .. } if !self.mqtt_ready.load(Ordering::Relaxed) => {
                Some("waiting for the MQTT broker")
            }
            Transport::Pull(_) if source.pull_failing.load(Ordering::Relaxed) => {
                Some("the last pull failed; retrying")
            }
            _ => None,
        }
    }

    /// A new connection registry for the listener `name`, listed in the metrics.
    pub(crate) fn connections(&self, name: &str) -> Arc<crate::conn::Registry> {
        let registry = crate::conn::Registry::new(self.limits);
        if let Ok(mut registries) = self.registries.lock() {
            registries.push((name.to_string(), Arc::clone(&registry)));
        }
        registry
    }

    /// Counts the records missing between the numbers a source's streams carry. A number at or
    /// below the last is a repeat, a reordering or a controller that restarted its count: the
    /// count goes on from it without a gap.
    pub(crate) fn note_sequences(&self, source: usize, sequences: &[(String, u64)]) {
        if sequences.is_empty() {
            return;
        }
        let Some(name) = self.sources.get(source).map(|s| s.config.name.clone()) else {
            return;
        };
        let Ok(mut last) = self.sequences.lock() else {
            return;
        };
        let mut missing = 0u64;
        // The numbers of one stream come in runs (a flow datagram numbers each of its
        // records): the stream's entry is looked up once per run, not once per number.
        let mut rest = sequences;
        while let Some((stream, _)) = rest.first() {
            let run = rest
                .iter()
                .position(|(other, _)| other != stream)
                .unwrap_or(rest.len());
            let (numbers, after) = rest.split_at_checked(run).unwrap_or((rest, &[]));
            rest = after;
            let mut numbers = numbers.iter().map(|(_, number)| *number);
            let previous = match last.entry((name.clone(), stream.clone())) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => match numbers.next() {
                    Some(first) => entry.insert(first),
                    None => continue,
                },
            };
            for number in numbers {
                if number > *previous {
                    missing += number - *previous - 1;
                    *previous = number;
                } else if previous.saturating_sub(number) > SEQUENCE_RESTART {
                    *previous = number;
                }
            }
        }
        if missing > 0
            && let Some(counters) = self
                .sources
                .get(source)
                .and_then(|s| self.metrics.source(&s.config.name))
        {
            counters.sequence_gaps.fetch_add(missing, Ordering::Relaxed);
        }
    }

    pub(crate) fn next_input(&self) -> u64 {
        self.input_seq.fetch_add(1, Ordering::Relaxed)
    }
}

/// Removes the dead letters past their retention and commits; returns what each source
/// holds then.
fn prune_dead_letters(
    store: &mut dyn crate::store::ServiceStore,
    limits: &crate::dead_letters::DeadLetterLimits,
) -> Result<Vec<(String, u64)>, String> {
    let retention = i64::try_from(limits.retention.as_millis()).unwrap_or(i64::MAX);
    let before = seam_model::Ts(crate::now_ms().saturating_sub(retention));
    store
        .prune_dead_letters(before)
        .and_then(|_| store.commit())
        .and_then(|()| store.dead_letter_bytes())
        .map_err(|e| writer::error_text(&e))
}

/// Free bytes on the file system holding `path`, if the system tells.
pub(crate) fn free_disk_bytes(path: &std::path::Path) -> Option<u64> {
    let stats = rustix::fs::statvfs(path).ok()?;
    Some(stats.f_bavail.saturating_mul(stats.f_frsize))
}

/// Every second: refuses input while the data directory's file system has less free space
/// than the minimum (before a write can fail for want of it), and takes it again once it has.
async fn watch_disk(shared: Arc<Shared>, data_dir: std::path::PathBuf, min_free: u64) {
    loop {
        let low = free_disk_bytes(&data_dir).is_some_and(|free| free < min_free);
        if shared.disk_low.swap(low, Ordering::Relaxed) != low {
            if low {
                eprintln!(
                    "seam serve: less than {} MiB free for {}: refusing input until there is room",
                    min_free >> 20,
                    data_dir.display()
                );
            } else {
                eprintln!("seam serve: there is room on the disk again; taking input");
            }
        }
        tokio::select! {
            _ = crate::listen::stopped(shared.shutdown.clone()) => return,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Applies the dead letters' retention every hour.
async fn retention(shared: Arc<Shared>) {
    loop {
        tokio::select! {
            _ = crate::listen::stopped(shared.shutdown.clone()) => return,
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
        let limits = *shared.dead_letters.limits();
        let pruned = match shared.store.lock() {
            Ok(mut store) => prune_dead_letters(&mut **store, &limits),
            Err(_) => return,
        };
        match pruned {
            Ok(stored) => shared.dead_letters.recount(stored),
            Err(error) => {
                eprintln!("seam serve: cannot apply the dead letters' retention: {error}")
            }
        }
    }
}

/// A running service. Stop it with [`Server::shutdown`] (graceful: stop accepting, drain,
/// snapshot) or run it until SIGTERM/SIGINT with [`Server::run_until_signal`].
#[derive(Debug)]
pub struct Server {
    runtime: Option<tokio::runtime::Runtime>,
    shared: Arc<Shared>,
    addresses: Addresses,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop_writer: Arc<AtomicBool>,
    writer: Option<JoinHandle<()>>,
    engine: Option<JoinHandle<()>>,
}

impl Server {
    /// Opens the store, binds every listener, and starts the threads. The engine replays the
    /// log after its last snapshot first; until it is done, `/readyz` says so and ingest
    /// waits in the queue.
    pub fn start(
        config: &ServeConfig,
        estate: Arc<Estate>,
        rules: Arc<CompiledRules>,
    ) -> Result<Server, ServeError> {
        let config = &config.with_internal_sources();
        config.validate()?;
        let estate = if config.directory.precedence.is_empty() {
            estate
        } else {
            let mut ranked = (*estate).clone();
            ranked.set_precedence(seam_estate::Precedence::new(
                config.directory.precedence.clone(),
            ));
            Arc::new(ranked)
        };
        let loaded_estate = Arc::clone(&estate);
        let mut store = crate::store::open(config).map_err(ServeError::Store)?;
        let dead_letter_gate = prune_dead_letters(&mut *store, &config.dead_letters)
            .map(|stored| crate::dead_letters::Gate::new(config.dead_letters, stored))
            .map_err(ServeError::Store)?;
        let sequences: Sequences = Arc::new(Mutex::new(
            seam_store::Store::latest_snapshot(&*store)
                .ok()
                .flatten()
                .map(|snapshot| crate::engine_thread::sequences_of(&snapshot.positions))
                .unwrap_or_default(),
        ));
        let scim_rows = match &config.directory.scim {
            Some(_) => crate::scim::stored_rows(&*store).map_err(ServeError::Store)?,
            None => Vec::new(),
        };
        let access = crate::access::AccessState::load(
            &*store,
            &config.data_dir,
            &config.access,
            config.http.tls.is_some() && config.http.api.is_none(),
        )
        .map_err(ServeError::Store)?;
        let oidc = match &config.access.oidc {
            Some(settings) => Some(Arc::new(
                crate::oidc::Oidc::new(settings).map_err(ServeError::Runtime)?,
            )),
            None => None,
        };
        let cases = Arc::new(
            crate::cases::CasesState::open(&config.data_dir, &config.cases)
                .map_err(ServeError::Store)?,
        );
        store.configure_workspace(cases.workspace_settings(Arc::clone(&estate)));
        let store = Arc::new(Mutex::new(store));
        let audit =
            crate::audit::Audit::open(&config.data_dir, &config.audit, config.store_url.as_deref())
                .map_err(ServeError::Store)?;
        audit.record(crate::audit::system(seam_audit::AuditAction::Other).detail(
            serde_json::json!({
                "event": "service started",
                "version": env!("CARGO_PKG_VERSION"),
                "configuration_sha256": config.file_digest,
                "rules_sha256": config.rules_digest,
                "authentication": if access.enforced() {
                    "required"
                } else {
                    "loopback only, no account yet"
                },
            }),
        ));
        let mut sources = Vec::with_capacity(config.sources.len());
        for source in &config.sources {
            sources.push(SourceRuntime {
                context: source.context(seam_model::Ts(0))?,
                config: source.clone(),
                nonces: Mutex::new(seam_adapters::NonceSet::new(100_000)),
                pull_failing: std::sync::atomic::AtomicBool::new(false),
            });
        }
        let metrics = Arc::new(Metrics::with_flow_sources(
            config.sources.iter().map(|s| s.name.as_str()),
            config
                .sources
                .iter()
                .filter(|s| matches!(s.transport, Transport::Netflow { .. }))
                .map(|s| s.name.as_str()),
        ));
        let (writer_handle, writer_rx) =
            writer::channel(config.engine.writer_queue_jobs, Arc::clone(&metrics));
        let (engine_tx, engine_rx) = std::sync::mpsc::sync_channel(config.engine.queue_batches);
        let (stream, _) = broadcast::channel(4096);
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let broken = Arc::new(AtomicBool::new(false));
        let troubled = Arc::new(AtomicBool::new(false));
        let disk_low = Arc::new(AtomicBool::new(false));
        let scim = match &config.directory.scim {
            Some(settings) => {
                let index = config
                    .sources
                    .iter()
                    .position(|s| s.name == crate::config::SCIM_SOURCE)
                    .ok_or_else(|| ServeError::Store("the SCIM source is missing".into()))?;
                let scheme = if config.http.tls.is_some() {
                    "https"
                } else {
                    "http"
                };
                let base_url = settings
                    .base_url
                    .clone()
                    .unwrap_or_else(|| format!("{scheme}://{}/scim/v2", config.http.listen));
                Some(
                    crate::scim::Scim::new(
                        settings,
                        base_url,
                        index,
                        crate::config::SCIM_SOURCE.to_string(),
                        scim_rows,
                    )
                    .map_err(ServeError::Store)?,
                )
            }
            None => None,
        };
        let has_mqtt = config
            .sources
            .iter()
            .any(|s| matches!(s.transport, Transport::Mqtt { .. }));
        let shared = Arc::new(Shared {
            sources,
            writer: writer_handle,
            store: Arc::clone(&store),
            stream: stream.clone(),
            metrics: Arc::clone(&metrics),
            recovered: AtomicBool::new(false),
            broken: Arc::clone(&broken),
            troubled: Arc::clone(&troubled),
            disk_low: Arc::clone(&disk_low),
            mqtt_ready: AtomicBool::new(!has_mqtt),
            inflight_bytes: AtomicUsize::new(0),
            max_inflight_bytes: config.http.max_inflight_bytes,
            max_body_bytes: config.http.max_body_bytes,
            shutdown: shutdown_rx,
            input_seq: AtomicU64::new(0),
            limits: config.limits,
            unverified_bytes: AtomicUsize::new(0),
            registries: Mutex::new(Vec::new()),
            dead_letters: dead_letter_gate,
            sequences: Arc::clone(&sequences),
            scim: scim.map(Arc::new),
            estate: Arc::clone(&estate),
            audit,
            access,
            oidc,
            cases,
        });
        crate::conn::raise_descriptor_limit();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("seam-serve")
            .enable_all()
            .build()
            .map_err(|e| ServeError::Runtime(format!("cannot start the runtime: {e}")))?;

        // Bind everything first: a port in use fails the start before any thread runs.
        let (listeners, addresses) = runtime.block_on(crate::listen::bind_all(config))?;

        // The engine thread: recover, let the writer in, then correlate.
        let (start_writer, writer_may_start) = std::sync::mpsc::sync_channel::<bool>(1);
        let engine_config = EngineConfig {
            allowed_lateness_ms: config.engine.lateness_ms,
            emit_events: true,
            max_clock_ahead_ms: config.engine.max_clock_ahead_ms,
            max_clock_behind_ms: config.engine.max_clock_behind_ms,
            source_max_delay_ms: config
                .sources
                .iter()
                .filter_map(|s| s.max_delay_ms.map(|ms| (s.name.clone(), ms)))
                .collect(),
            source_lateness_ms: config
                .sources
                .iter()
                .filter_map(|s| s.lateness_ms.map(|ms| (s.name.clone(), ms)))
                .collect(),
            // What each source can yield, so that a slow one holds back only the rules that
            // read it (see seam_engine::lanes).
            source_classes: config
                .sources
                .iter()
                .filter_map(|s| match &s.adapter {
                    crate::config::AdapterChoice::One(adapter) => adapter
                        .classes()
                        .map(|classes| (s.name.clone(), classes.to_vec())),
                    crate::config::AdapterChoice::SyslogAuto => None,
                    crate::config::AdapterChoice::DirectoryImport(_) => {
                        Some((s.name.clone(), vec![seam_model::EventClass::Directory]))
                    }
                })
                .collect(),
            ..EngineConfig::default()
        };
        let engine_settings = EngineLoopSettings {
            snapshot_every: Duration::from_millis(config.engine.snapshot_every_ms.max(100)),
            snapshot_every_events: config.engine.snapshot_every_events.max(1),
            max_clock_ahead_ms: config.engine.max_clock_ahead_ms,
            sequences: Arc::clone(&sequences),
        };
        let recover_settings = engine_settings.clone();
        let engine_thread = {
            let shared = Arc::clone(&shared);
            let store = Arc::clone(&store);
            let metrics = Arc::clone(&metrics);
            let broken = Arc::clone(&broken);
            let troubled = Arc::clone(&troubled);
            std::thread::Builder::new()
                .name("seam-engine".into())
                .spawn(move || {
                    let fresh = || {
                        Engine::new(
                            Arc::clone(&estate),
                            Arc::clone(&rules),
                            engine_config.clone(),
                        )
                    };
                    let mut engine = fresh();
                    if let Some(fast) = engine.fast_lane_rules() {
                        eprintln!(
                            "seam serve: {} rules are not held back by the slow sources: {}",
                            fast.len(),
                            fast.join(", ")
                        );
                    }
                    let position = match engine_thread::recover(
                        &mut engine,
                        &store,
                        &stream,
                        &metrics,
                        &fresh,
                        &recover_settings,
                    ) {
                        Ok(position) => position,
                        Err(reason) => {
                            eprintln!("seam serve: cannot recover the engine state: {reason}");
                            broken.store(true, Ordering::Relaxed);
                            let _ = start_writer.send(false);
                            return;
                        }
                    };
                    shared.recovered.store(true, Ordering::Relaxed);
                    let _ = start_writer.send(true);
                    drop(shared);
                    engine_thread::run(
                        engine,
                        position,
                        engine_rx,
                        store,
                        stream,
                        metrics,
                        engine_settings,
                        troubled,
                    );
                })
                .map_err(|e| ServeError::Runtime(format!("cannot start the engine thread: {e}")))?
        };
        let stop_writer = Arc::new(AtomicBool::new(false));
        let writer_thread = {
            let store = Arc::clone(&store);
            let metrics = Arc::clone(&metrics);
            let stop = Arc::clone(&stop_writer);
            let troubled = Arc::clone(&troubled);
            let settings = WriterSettings {
                heartbeat_ms: config.engine.heartbeat_ms,
                lateness_ms: config.engine.lateness_ms,
                max_events_per_commit: 65_536,
                max_engine_backlog: config.engine.max_backlog_events.max(1),
                min_free_disk_bytes: config.engine.min_free_disk_bytes,
            };
            let names: Vec<String> = config.sources.iter().map(|s| s.name.clone()).collect();
            std::thread::Builder::new()
                .name("seam-writer".into())
                .spawn(move || {
                    if writer_may_start.recv() != Ok(true) {
                        return;
                    }
                    writer::run(
                        writer_rx, store, engine_tx, settings, metrics, stop, troubled, names,
                    );
                })
                .map_err(|e| ServeError::Runtime(format!("cannot start the writer thread: {e}")))?
        };
        let tasks = {
            let _guard = runtime.enter();
            let mut tasks = crate::listen::spawn_all(config, listeners, &shared);
            tasks.push(tokio::spawn(retention(Arc::clone(&shared))));
            tasks.push(tokio::spawn(crate::audit::run(
                Arc::clone(&shared),
                Duration::from_millis(config.audit.checkpoint_every_ms),
            )));
            if !config.retention.keeps_everything() {
                tasks.push(tokio::spawn(crate::retention::run(
                    Arc::clone(&shared),
                    config.retention.clone(),
                )));
            }
            if let (Some(dir), Some(index)) = (
                config.estate.clone(),
                shared.source_index(crate::config::ESTATE_SOURCE),
            ) && config.directory.reload_every_ms > 0
            {
                tasks.push(tokio::spawn(crate::reload::run(
                    Arc::clone(&shared),
                    index,
                    dir,
                    Duration::from_millis(config.directory.reload_every_ms),
                    loaded_estate,
                )));
            }
            tasks.push(tokio::spawn(watch_disk(
                Arc::clone(&shared),
                config.data_dir.clone(),
                config.engine.min_free_disk_bytes,
            )));
            tasks
        };
        eprintln!(
            "seam serve: listening: http {} api {}{}{}{}",
            addresses.http,
            addresses.api,
            addresses
                .syslog_udp
                .iter()
                .map(|(name, addr)| format!(" syslog-udp {name}={addr}"))
                .collect::<String>(),
            addresses
                .syslog_tcp
                .iter()
                .map(|(name, addr)| format!(" syslog-tcp {name}={addr}"))
                .collect::<String>(),
            addresses
                .netflow_udp
                .iter()
                .map(|(name, addr)| format!(" netflow-udp {name}={addr}"))
                .collect::<String>(),
        );
        Ok(Server {
            runtime: Some(runtime),
            shared,
            addresses,
            shutdown: shutdown_tx,
            tasks,
            stop_writer,
            writer: Some(writer_thread),
            engine: Some(engine_thread),
        })
    }

    pub fn addresses(&self) -> &Addresses {
        &self.addresses
    }

    /// True once the log is replayed, the store is healthy and every source can take input
    /// (MQTT subscribed).
    pub fn is_ready(&self) -> bool {
        self.shared.not_ready().is_none()
            && self
                .shared
                .sources
                .iter()
                .all(|s| self.shared.source_trouble(s).is_none())
    }

    /// Waits up to `timeout` for [`Server::is_ready`].
    pub fn wait_ready(&self, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if self.is_ready() {
                return true;
            }
            if self.shared.broken.load(Ordering::Relaxed) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.is_ready()
    }

    /// Blocks until SIGTERM or SIGINT, then stops gracefully.
    pub fn run_until_signal(self) -> Result<(), ServeError> {
        if let Some(runtime) = &self.runtime {
            runtime.block_on(async {
                use tokio::signal::unix::{SignalKind, signal};
                let mut term = signal(SignalKind::terminate())
                    .map_err(|e| ServeError::Runtime(format!("cannot wait for SIGTERM: {e}")))?;
                let mut int = signal(SignalKind::interrupt())
                    .map_err(|e| ServeError::Runtime(format!("cannot wait for SIGINT: {e}")))?;
                tokio::select! {
                    _ = term.recv() => eprintln!("seam serve: SIGTERM, stopping"),
                    _ = int.recv() => eprintln!("seam serve: SIGINT, stopping"),
                }
                Ok::<(), ServeError>(())
            })?;
        }
        self.shutdown()
    }

    /// Stops accepting, lets in-flight inputs finish, drains the writer and the engine, and
    /// saves a snapshot.
    pub fn shutdown(mut self) -> Result<(), ServeError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), ServeError> {
        let _ = self.shutdown.send(true);
        if let Some(runtime) = self.runtime.take() {
            let tasks = std::mem::take(&mut self.tasks);
            runtime.block_on(async {
                // Each listener drains within the configured bound; one that does not is
                // left behind, so that a slow client cannot delay the final snapshot.
                let drain = self.shared.limits.drain + Duration::from_secs(1);
                let deadline = tokio::time::Instant::now() + drain;
                for task in tasks {
                    let abort = task.abort_handle();
                    if tokio::time::timeout_at(deadline, task).await.is_err() {
                        abort.abort();
                        eprintln!(
                            "seam serve: a listener did not stop within the drain of {} s",
                            drain.as_secs()
                        );
                    }
                }
            });
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
        self.stop_writer.store(true, Ordering::Relaxed);
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        if let Some(engine) = self.engine.take() {
            let _ = engine.join();
        }
        self.shared.audit.record(
            crate::audit::system(seam_audit::AuditAction::Other)
                .detail(serde_json::json!({"event": "service stopped"})),
        );
        self.shared.audit.checkpoint();
        if self.shared.broken.load(Ordering::Relaxed) {
            return Err(ServeError::Store(
                "a store write failed while running; see the messages above".into(),
            ));
        }
        eprintln!("seam serve: stopped");
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.runtime.is_some() || self.writer.is_some() {
            let _ = self.stop();
        }
    }
}
