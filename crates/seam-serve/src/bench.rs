//! `seam bench ingest`: a load generator against a local `seam serve`.
//!
//! HTTP mode starts `seam serve` on loopback (a fresh data directory in the temp folder, or
//! targets a running one), subscribes to the finding stream, and drives batched NDJSON ingest
//! from several connections for a bounded time. It reports acknowledged events per second and
//! the latency from an event's acknowledgement to its finding on the stream; one event in
//! `trigger_every` is a sign-in by a suspended person of the example estate, which the default
//! rule pack turns into a finding.
//!
//! Syslog mode sends RFC 5424 Meraki lines over UDP at a given rate and reports how many the
//! service parsed and how many were dropped (by the service's queues or by the kernel).
//!
//! Flow mode sends NetFlow v5, v9 or IPFIX export datagrams over UDP at a given rate of flows
//! (a synthetic exporter: `seam_adapters::synthetic_flow_datagrams`) and compares the flows
//! sent with the events stored, the kernel's and the queues' drops, and the dead letters.
//!
//! The wall clock is read here, and only here and in the listeners: this is a measurement.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use seam_model::Ts;
use serde::Serialize;

use crate::client::{EventStream, HttpClient};

/// How to run the benchmark.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// The `seam` executable, to start `seam serve` with.
    pub seam_exe: PathBuf,
    /// A running service's HTTP address (with an unauthenticated `ndjson` source and the
    /// example estate) instead of starting one.
    pub target: Option<SocketAddr>,
    pub duration: Duration,
    /// Events (or syslog lines) per second to offer; `None`: as fast as acknowledged.
    pub rate: Option<u64>,
    /// Events per request.
    pub batch: usize,
    pub connections: usize,
    /// One event in this many triggers a finding.
    pub trigger_every: usize,
    /// UDP syslog instead of HTTP.
    pub syslog: bool,
    /// The allowed lateness of the service started, ms.
    pub lateness_ms: i64,
    /// Idle connections held open against the service while it is measured (a flood).
    pub idle_connections: usize,
    /// Senders that announce a large body and send it a byte a second.
    pub slow_senders: usize,
    /// Flow export over UDP instead of HTTP (`rate` counts flows).
    pub flows: Option<FlowLoad>,
}

/// What flow mode sends.
#[derive(Debug, Clone, Copy)]
pub struct FlowLoad {
    /// NetFlow 5, 9, or 10 (IPFIX).
    pub version: u16,
    /// Flows per datagram (v5: at most 30).
    pub flows_per_datagram: usize,
}

/// What flow mode measured.
#[derive(Debug, Clone, Serialize)]
pub struct FlowReport {
    pub mode: &'static str,
    pub version: u16,
    pub flows_per_datagram: usize,
    pub duration_s: f64,
    pub offered_rate: Option<u64>,
    pub flows_sent: u64,
    pub datagrams_sent: u64,
    pub send_rate: f64,
    /// Events stored (new and duplicates): one per flow.
    pub flows_stored: u64,
    pub flows_per_sec: f64,
    /// Flows sent and not stored.
    pub flows_lost: u64,
    pub loss_percent: f64,
    /// Datagrams the service's queues dropped, and the kernel dropped on its socket.
    pub datagrams_dropped_by_queues: u64,
    pub datagrams_dropped_by_kernel: u64,
    /// Records the service could not read (dead letters) and skipped.
    pub dead_letters: u64,
    pub skipped: u64,
    /// Flows the service counted as missing from the exporter's sequence numbers.
    pub sequence_gaps: u64,
    /// From the end of sending until the service had stored what it would.
    pub drain_ms: f64,
    /// CPU time the service's threads spent per flow stored, in µs, by thread name
    /// (`seam-serve`: the listener and the decoder, on the runtime's workers; `seam-writer`;
    /// `seam-engine`): what the machine's other load does not change.
    pub cpu_us_per_flow: BTreeMap<String, f64>,
}

/// CPU time on each of a process's threads so far, in ns, summed by thread name (Linux).
fn thread_cpu_by_name(pid: u32) -> BTreeMap<String, u64> {
    let mut by_name = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return by_name;
    };
    for task in tasks.flatten() {
        let path = task.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        let ns = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0);
        *by_name.entry(name.trim().to_string()).or_insert(0) += ns;
    }
    by_name
}

/// What HTTP mode measured.
#[derive(Debug, Clone, Serialize)]
pub struct HttpReport {
    pub mode: &'static str,
    pub duration_s: f64,
    pub connections: usize,
    pub batch: usize,
    pub offered_rate: Option<u64>,
    pub lateness_ms: i64,
    pub events_acknowledged: u64,
    pub events_per_sec: f64,
    pub requests: u64,
    pub busy_retries: u64,
    pub triggers: u64,
    pub findings_seen: u64,
    pub findings_missing: u64,
    /// After the load stopped, how long until the last trigger's finding was seen: the
    /// engine's backlog at the end (acknowledged is not yet correlated).
    pub drain_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub late_events: u64,
    pub idle_connections: usize,
    pub slow_senders: usize,
    /// From sending a request to its acknowledgement (events durable), per request.
    pub ack_p50_ms: f64,
    pub ack_p99_ms: f64,
}

/// What syslog mode measured.
#[derive(Debug, Clone, Serialize)]
pub struct SyslogReport {
    pub mode: &'static str,
    pub duration_s: f64,
    pub offered_rate: Option<u64>,
    pub lines_sent: u64,
    pub send_rate: f64,
    pub lines_parsed: u64,
    pub lines_per_sec: f64,
    pub lines_lost: u64,
    pub loss_percent: f64,
    pub dropped_by_queues: u64,
    pub dropped_by_kernel: u64,
}

/// A `seam serve` child process, killed and its data removed when dropped.
struct Service {
    child: Option<Child>,
    data_dir: PathBuf,
    http: SocketAddr,
    syslog_udp: Option<SocketAddr>,
    netflow_udp: Option<SocketAddr>,
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

fn start_service(options: &BenchOptions) -> Result<Service, String> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let data_dir = std::env::temp_dir().join(format!("seam-bench-{}-{stamp}", std::process::id()));
    let mut command = Command::new(&options.seam_exe);
    command
        .arg("serve")
        .arg("--data-dir")
        .arg(&data_dir)
        .arg("--http")
        .arg("127.0.0.1:0")
        .arg("--lateness")
        .arg(format!("{}", options.lateness_ms as f64 / 1000.0));
    if options.syslog {
        command.arg("--syslog").arg("127.0.0.1:0");
    }
    if options.flows.is_some() {
        command.arg("--netflow").arg("127.0.0.1:0");
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{} serve`: {e}", options.seam_exe.display()))?;
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| "no stderr from seam serve".to_string())?;
    let mut service = Service {
        child: Some(child),
        data_dir,
        http: SocketAddr::from(([127, 0, 0, 1], 0)),
        syslog_udp: None,
        netflow_udp: None,
    };
    let mut lines = BufReader::new(stderr).lines();
    let mut listening = None;
    for line in lines.by_ref() {
        let line = line.map_err(|e| format!("reading seam serve's output: {e}"))?;
        if line.contains("listening:") {
            listening = Some(line);
            break;
        }
        if line.contains("error") {
            return Err(format!("seam serve: {line}"));
        }
    }
    let line = listening.ok_or_else(|| "seam serve stopped before listening".to_string())?;
    // Keep reading its output so that it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let (http, syslog) = parse_listening(&line)?;
    service.http = http;
    service.syslog_udp = syslog;
    service.netflow_udp = listening_address(&line, "netflow-udp");
    wait_ready(http, Duration::from_secs(60))?;
    Ok(service)
}

/// Reads `seam serve: listening: http ADDR api ADDR [syslog-udp NAME=ADDR …]`.
pub fn parse_listening(line: &str) -> Result<(SocketAddr, Option<SocketAddr>), String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let after = |key: &str| {
        words
            .iter()
            .position(|w| *w == key)
            .and_then(|i| words.get(i + 1))
            .copied()
    };
    let http = after("http")
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| format!("no http address in `{line}`"))?;
    let syslog = after("syslog-udp")
        .and_then(|a| a.split_once('='))
        .and_then(|(_, a)| a.parse().ok());
    Ok((http, syslog))
}

/// The address of the first `KEY NAME=ADDR` listener in `seam serve`'s listening line.
pub fn listening_address(line: &str, key: &str) -> Option<SocketAddr> {
    let mut words = line.split_whitespace();
    while let Some(word) = words.next() {
        if word == key {
            return words
                .next()
                .and_then(|named| named.split_once('='))
                .and_then(|(_, addr)| addr.parse().ok());
        }
    }
    None
}

/// Polls `/readyz` until it answers 200.
pub fn wait_ready(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut client = HttpClient::new(addr).with_timeout(Duration::from_secs(2));
    loop {
        if let Ok(response) = client.get("/readyz")
            && response.status == 200
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "seam serve on {addr} was not ready within {timeout:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads one series' value from `/metrics` text (summing over its labels when `labels` is
/// empty, else the line whose labels contain it).
pub fn metric(text: &str, name: &str, labels: &str) -> Option<f64> {
    let mut total = None;
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, series_labels) = match series.split_once('{') {
            Some((n, l)) => (n, l),
            None => (series, ""),
        };
        if series_name == name && series_labels.contains(labels) {
            let value: f64 = value.parse().ok()?;
            total = Some(total.unwrap_or(0.0) + value);
        }
    }
    total
}

/// Runs the benchmark; the report as one JSON object.
pub fn run(options: &BenchOptions) -> Result<serde_json::Value, String> {
    if let Some(load) = options.flows {
        let report = run_flows(options, load)?;
        return serde_json::to_value(report).map_err(|e| e.to_string());
    }
    if options.syslog {
        let report = run_syslog(options)?;
        return serde_json::to_value(report).map_err(|e| e.to_string());
    }
    let report = run_http(options)?;
    serde_json::to_value(report).map_err(|e| e.to_string())
}

const TRIGGER_RULE: &str = "seam.inactive-person-credential";
/// Active people of the example estate, for ordinary sign-ins.
const BENIGN_USERS: &[&str] = &["alice@example.com", "bob@example.com", "carol@example.com"];
/// Suspended in the example estate: every sign-in is a finding.
const TRIGGER_USER: &str = "heidi@example.com";

fn run_http(options: &BenchOptions) -> Result<HttpReport, String> {
    if options.idle_connections + options.slow_senders > 0 {
        // Each flood connection takes a descriptor here too.
        crate::conn::raise_descriptor_limit();
    }
    let service = match options.target {
        Some(_) => None,
        None => Some(start_service(options)?),
    };
    let addr = options
        .target
        .or(service.as_ref().map(|s| s.http))
        .ok_or_else(|| "no service".to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Vec<(String, Instant)>>> = Arc::new(Mutex::new(Vec::new()));
    let mut stream = EventStream::open(
        addr,
        &format!("/v1/findings/stream?rule={TRIGGER_RULE}"),
        Duration::from_millis(200),
    )
    .map_err(|e| format!("cannot open the finding stream: {e}"))?;
    let watcher = {
        let stop = Arc::clone(&stop);
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let Ok(event) = stream.next_event() else {
                    continue;
                };
                let at = Instant::now();
                if event.event != "finding" {
                    continue;
                }
                let value: serde_json::Value =
                    serde_json::from_str(&event.data).unwrap_or(serde_json::Value::Null);
                if let Some(related) = value
                    .pointer("/finding_info/related_events")
                    .and_then(|r| r.as_array())
                    && let Ok(mut seen) = seen.lock()
                {
                    for uid in related
                        .iter()
                        .filter_map(|r| r.get("uid").and_then(|u| u.as_str()))
                    {
                        seen.push((uid.to_string(), at));
                    }
                }
            }
        })
    };
    let acked: Arc<Mutex<HashMap<String, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
    let ack_times: Arc<Mutex<Vec<f64>>> = Arc::new(Mutex::new(Vec::new()));
    let flood = (options.idle_connections > 0 || options.slow_senders > 0).then(|| {
        let stop = Arc::clone(&stop);
        let (idle, slow) = (options.idle_connections, options.slow_senders);
        std::thread::spawn(move || flood_service(addr, idle, slow, &stop))
    });
    if flood.is_some() {
        // Let the flood build up before measuring.
        std::thread::sleep(Duration::from_secs(2));
    }
    let events = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));
    let retries = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + options.duration;
    let connections = options.connections.max(1);
    let batch = options.batch.max(1);
    let run_id = started.elapsed().as_nanos() ^ u128::from(std::process::id());
    let mut workers = Vec::new();
    for connection in 0..connections {
        let acked = Arc::clone(&acked);
        let ack_times = Arc::clone(&ack_times);
        let events = Arc::clone(&events);
        let requests = Arc::clone(&requests);
        let retries = Arc::clone(&retries);
        let trigger_every = options.trigger_every.max(1);
        let interval = options.rate.map(|rate| {
            Duration::from_secs_f64(batch as f64 * connections as f64 / rate.max(1) as f64)
        });
        workers.push(std::thread::spawn(move || -> Result<(), String> {
            let mut client = HttpClient::new(addr);
            let mut sequence: u64 = 0;
            // Connections take turns, so that the offered load is smooth rather than bursts.
            let mut next_send = Instant::now()
                + interval.map_or(Duration::ZERO, |i| i.mul_f64(connection as f64 / connections as f64));
            let mut body = String::with_capacity(batch * 260);
            let mut triggers = Vec::new();
            while Instant::now() < deadline {
                if let Some(interval) = interval {
                    let now = Instant::now();
                    if next_send > now {
                        std::thread::sleep(next_send - now);
                    }
                    next_send += interval;
                }
                body.clear();
                triggers.clear();
                let time = Ts(crate::now_ms());
                for _ in 0..batch {
                    sequence += 1;
                    let uid = format!("bench-{run_id:x}-{connection}-{sequence}");
                    let trigger = sequence.is_multiple_of(trigger_every as u64);
                    let user = if trigger {
                        TRIGGER_USER
                    } else {
                        BENIGN_USERS
                            .get(sequence as usize % BENIGN_USERS.len())
                            .copied()
                            .unwrap_or("alice@example.com")
                    };
                    body.push_str(&format!(
                        "{{\"uid\":\"{uid}\",\"time\":\"{time}\",\"source\":\"ndjson\",\"class\":\"authentication\",\"activity\":\"logon\",\"outcome\":\"success\",\"subject\":{{\"user\":\"{user}\"}},\"src\":{{\"ip\":\"198.51.100.{}\"}},\"app\":\"wiki\"}}\n",
                        sequence % 200 + 1
                    ));
                    if trigger {
                        triggers.push(uid);
                    }
                }
                loop {
                    let sent = Instant::now();
                    let response = client
                        .post(
                            "/v1/ingest/ndjson",
                            &[("Content-Type", "application/x-ndjson")],
                            body.as_bytes(),
                        )
                        .map_err(|e| format!("ingest request failed: {e}"))?;
                    requests.fetch_add(1, Ordering::Relaxed);
                    match response.status {
                        200 => {
                            let at = Instant::now();
                            if let Ok(mut times) = ack_times.lock() {
                                times.push(at.saturating_duration_since(sent).as_secs_f64() * 1000.0);
                            }
                            let accepted = response.json().get("accepted").and_then(|a| a.as_u64()).unwrap_or(0);
                            events.fetch_add(accepted, Ordering::Relaxed);
                            if let Ok(mut acked) = acked.lock() {
                                for uid in triggers.drain(..) {
                                    acked.insert(uid, at);
                                }
                            }
                            break;
                        }
                        429 | 503 => {
                            retries.fetch_add(1, Ordering::Relaxed);
                            if Instant::now() >= deadline {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        status => {
                            return Err(format!("ingest answered {status}: {}", response.text()));
                        }
                    }
                }
            }
            Ok(())
        }));
    }
    let mut failure = None;
    for worker in workers {
        match worker.join() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => failure = Some(error),
            Err(_) => failure = Some("a load thread panicked".into()),
        }
    }
    let elapsed = started.elapsed();
    // Findings for the last acknowledged events: wait for them, within bounds.
    let expected = acked.lock().map(|a| a.len()).unwrap_or(0);
    let load_ended = Instant::now();
    let wait_until = load_ended + Duration::from_secs(10);
    while Instant::now() < wait_until {
        let found = seen.lock().map(|s| s.len()).unwrap_or(0);
        if found >= expected {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let drain = load_ended.elapsed();
    stop.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    if let Some(flood) = flood {
        let _ = flood.join();
    }
    let mut ack_times = ack_times.lock().map_err(|_| "lock")?.clone();
    ack_times.sort_by(f64::total_cmp);
    let ack_quantile = |q: f64| -> f64 {
        let index = ((ack_times.len() as f64 - 1.0) * q).round() as usize;
        ack_times.get(index).copied().unwrap_or(f64::NAN)
    };
    if let Some(error) = failure {
        return Err(error);
    }
    let acked = acked.lock().map_err(|_| "lock")?.clone();
    let seen = seen.lock().map_err(|_| "lock")?.clone();
    let mut latencies: Vec<f64> = Vec::with_capacity(seen.len());
    let mut matched = std::collections::HashSet::new();
    for (uid, at) in &seen {
        if let Some(acked_at) = acked.get(uid)
            && matched.insert(uid.clone())
        {
            latencies.push(at.saturating_duration_since(*acked_at).as_secs_f64() * 1000.0);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let quantile = |q: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let index = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies.get(index).copied().unwrap_or(f64::NAN)
    };
    let mut metrics_client = HttpClient::new(addr);
    let late_events = metrics_client
        .get("/metrics")
        .ok()
        .and_then(|r| metric(&r.text(), "seam_engine_late_events_total", ""))
        .unwrap_or(0.0) as u64;
    let acknowledged = events.load(Ordering::Relaxed);
    drop(service);
    Ok(HttpReport {
        mode: "http",
        duration_s: elapsed.as_secs_f64(),
        connections,
        batch,
        offered_rate: options.rate,
        lateness_ms: options.lateness_ms,
        events_acknowledged: acknowledged,
        events_per_sec: acknowledged as f64 / elapsed.as_secs_f64().max(1e-9),
        requests: requests.load(Ordering::Relaxed),
        busy_retries: retries.load(Ordering::Relaxed),
        triggers: acked.len() as u64,
        findings_seen: matched.len() as u64,
        findings_missing: acked.len().saturating_sub(matched.len()) as u64,
        drain_ms: round3(drain.as_secs_f64() * 1000.0),
        p50_ms: round3(quantile(0.5)),
        p99_ms: round3(quantile(0.99)),
        max_ms: round3(latencies.last().copied().unwrap_or(f64::NAN)),
        late_events,
        idle_connections: options.idle_connections,
        slow_senders: options.slow_senders,
        ack_p50_ms: round3(ack_quantile(0.5)),
        ack_p99_ms: round3(ack_quantile(0.99)),
    })
}

/// A connection to `addr` from the loopback address `127.0.1.N` (N from 1 to 50), so that a
/// flood comes from several addresses as a real one would, not from the measured sender's.
fn flood_connection(addr: SocketAddr, n: usize) -> Option<std::net::TcpStream> {
    let source = SocketAddr::from(([127, 0, 1, (n % 50 + 1) as u8], 0));
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).ok()?;
    socket.bind(&source.into()).ok()?;
    socket
        .connect_timeout(&addr.into(), Duration::from_millis(200))
        .ok()?;
    Some(socket.into())
}

/// Holds `idle` connections open against the service, opening new ones as it closes them,
/// and keeps `slow` senders trickling a byte a second, until `stop`. Loopback only: `addr` is
/// the service this benchmark started or was pointed at.
fn flood_service(addr: SocketAddr, idle: usize, slow: usize, stop: &AtomicBool) {
    use std::io::{Read, Write};
    let mut idle_streams: Vec<std::net::TcpStream> = Vec::with_capacity(idle);
    let mut slow_streams: Vec<std::net::TcpStream> = Vec::with_capacity(slow);
    let header =
        b"POST /v1/ingest/ndjson HTTP/1.1\r\nHost: seam\r\nContent-Length: 1048576\r\n\r\n";
    let mut last_trickle = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        // Drop what the service closed, then fill up again.
        idle_streams.retain_mut(|stream| {
            let mut byte = [0u8; 1];
            !matches!(stream.read(&mut byte), Ok(0))
        });
        let mut opened = 0usize;
        while idle_streams.len() < idle {
            opened += 1;
            match flood_connection(addr, opened) {
                Some(stream) => {
                    let _ = stream.set_nonblocking(true);
                    idle_streams.push(stream);
                }
                None => break,
            }
        }
        slow_streams.retain_mut(|stream| {
            let mut byte = [0u8; 1];
            !matches!(stream.read(&mut byte), Ok(0))
        });
        while slow_streams.len() < slow {
            opened += 1;
            match flood_connection(addr, opened) {
                Some(mut stream) => {
                    let _ = stream.write_all(header);
                    let _ = stream.set_nonblocking(true);
                    slow_streams.push(stream);
                }
                None => break,
            }
        }
        if last_trickle.elapsed() >= Duration::from_secs(1) {
            last_trickle = Instant::now();
            for stream in &mut slow_streams {
                let _ = stream.write_all(b" ");
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

fn run_syslog(options: &BenchOptions) -> Result<SyslogReport, String> {
    let service = start_service(options)?;
    let target = service
        .syslog_udp
        .ok_or_else(|| "seam serve did not report a syslog UDP address".to_string())?;
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("udp: {e}"))?;
    let started = Instant::now();
    let deadline = started + options.duration;
    let mut sent: u64 = 0;
    let mut line = String::with_capacity(400);
    while Instant::now() < deadline {
        // Paced against the clock: never ahead of `rate` lines per second since the start.
        if let Some(rate) = options.rate {
            let allowed = (started.elapsed().as_secs_f64() * rate as f64) as u64;
            if sent >= allowed {
                std::thread::sleep(Duration::from_micros(100));
                continue;
            }
        }
        line.clear();
        let now = crate::now_ms();
        let identity = if sent.is_multiple_of(1000) {
            TRIGGER_USER
        } else {
            BENIGN_USERS
                .get(sent as usize % BENIGN_USERS.len())
                .copied()
                .unwrap_or("alice@example.com")
        };
        line.push_str(&format!(
            "<134>1 {}.{:03}{:06} hq-ap-office events type=8021x_auth radio='1' vap='0' client_mac='3C:22:FB:{:02X}:{:02X}:{:02X}' client_ip='10.10.1.31' identity='{identity}' aid='{sent}'",
            now / 1000,
            now % 1000,
            sent % 1_000_000,
            (sent >> 16) & 0xff,
            (sent >> 8) & 0xff,
            sent & 0xff,
        ));
        if socket.send_to(line.as_bytes(), target).is_ok() {
            sent += 1;
        }
    }
    let send_elapsed = started.elapsed();
    // Let the service catch up, then read its counters.
    let mut client = HttpClient::new(service.http);
    let mut parsed = 0.0;
    let mut stable_since = Instant::now();
    let give_up = Instant::now() + Duration::from_secs(30);
    let mut text = String::new();
    while Instant::now() < give_up {
        text = client.get("/metrics").map(|r| r.text()).unwrap_or_default();
        let now_parsed = [
            "seam_events_stored_total",
            "seam_events_duplicate_total",
            "seam_records_rejected_total",
            "seam_records_skipped_total",
        ]
        .iter()
        .map(|name| metric(&text, name, "source=\"syslog\"").unwrap_or(0.0))
        .sum::<f64>();
        if now_parsed > parsed {
            parsed = now_parsed;
            stable_since = Instant::now();
        } else if stable_since.elapsed() > Duration::from_millis(700) || parsed as u64 >= sent {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let lines_parsed = parsed as u64;
    let lost = sent.saturating_sub(lines_parsed);
    let report = SyslogReport {
        mode: "syslog-udp",
        duration_s: send_elapsed.as_secs_f64(),
        offered_rate: options.rate,
        lines_sent: sent,
        send_rate: sent as f64 / send_elapsed.as_secs_f64().max(1e-9),
        lines_parsed,
        lines_per_sec: lines_parsed as f64 / send_elapsed.as_secs_f64().max(1e-9),
        lines_lost: lost,
        loss_percent: round3(lost as f64 * 100.0 / (sent.max(1)) as f64),
        dropped_by_queues: metric(&text, "seam_udp_dropped_total", "source=\"syslog\"")
            .unwrap_or(0.0) as u64,
        dropped_by_kernel: metric(&text, "seam_udp_kernel_drops", "source=\"syslog\"")
            .unwrap_or(0.0) as u64,
    };
    drop(service);
    Ok(report)
}

/// The offset of the sequence number in a NetFlow `version` header: v5 numbers flows, v9
/// datagrams, IPFIX data records.
fn sequence_offset(version: u16) -> usize {
    match version {
        5 => 16,
        9 => 12,
        _ => 8,
    }
}

fn run_flows(options: &BenchOptions, load: FlowLoad) -> Result<FlowReport, String> {
    let service = start_service(options)?;
    let target = service
        .netflow_udp
        .ok_or_else(|| "seam serve did not report a netflow UDP address".to_string())?;
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("udp: {e}"))?;
    let service_pid = service.child.as_ref().map_or(0, Child::id);
    let cpu_before = thread_cpu_by_name(service_pid);
    let per_datagram = match load.version {
        5 => load.flows_per_datagram.clamp(1, 30),
        _ => load.flows_per_datagram.clamp(1, 500),
    };
    let rate = options.rate.unwrap_or(100_000).max(1);
    // A second's worth of datagrams is made at a time, at that second's time, and numbered on
    // from the last (the generator numbers each call from zero).
    let per_chunk = usize::try_from(rate)
        .unwrap_or(usize::MAX)
        .div_ceil(per_datagram);
    let started = Instant::now();
    let deadline = started + options.duration;
    let (mut flows_sent, mut datagrams_sent) = (0u64, 0u64);
    let mut chunk: Vec<Vec<u8>> = Vec::new();
    let mut next = 0usize;
    while Instant::now() < deadline {
        // Paced against the clock: never ahead of `rate` flows per second since the start.
        let allowed = (started.elapsed().as_secs_f64() * rate as f64) as u64;
        if flows_sent >= allowed {
            std::thread::sleep(Duration::from_micros(200));
            continue;
        }
        if next >= chunk.len() {
            chunk = seam_adapters::synthetic_flow_datagrams(
                load.version,
                per_chunk,
                per_datagram,
                Ts(crate::now_ms()),
            );
            next = 0;
        }
        let Some(datagram) = chunk.get_mut(next) else {
            break;
        };
        next += 1;
        let number = match load.version {
            9 => datagrams_sent,
            _ => flows_sent,
        };
        let offset = sequence_offset(load.version);
        if let Some(slot) = datagram.get_mut(offset..offset + 4) {
            slot.copy_from_slice(&(number as u32).to_be_bytes());
        }
        if socket.send_to(datagram, target).is_ok() {
            flows_sent += per_datagram as u64;
            datagrams_sent += 1;
        }
    }
    let send_elapsed = started.elapsed();
    // Let the service catch up, then read its counters.
    let mut client = HttpClient::new(service.http);
    let label = "source=\"netflow\"";
    let mut handled = 0.0;
    let mut stable_since = Instant::now();
    let give_up = Instant::now() + Duration::from_secs(60);
    let mut text = String::new();
    let read = |text: &str, name: &str| metric(text, name, label).unwrap_or(0.0);
    while Instant::now() < give_up {
        text = client.get("/metrics").map(|r| r.text()).unwrap_or_default();
        let now_handled = [
            "seam_events_stored_total",
            "seam_events_duplicate_total",
            "seam_records_rejected_total",
            "seam_records_skipped_total",
        ]
        .iter()
        .map(|name| read(&text, name))
        .sum::<f64>();
        // Done when everything sent is accounted for, or when nothing moved for two seconds
        // with nothing left in the writer's queue (a writer waiting for the engine moves
        // nothing for a while, yet still holds batches).
        let queued = metric(&text, "seam_writer_queue_depth", "").unwrap_or(0.0);
        if now_handled > handled {
            handled = now_handled;
            stable_since = Instant::now();
        } else if handled as u64 >= flows_sent
            || (queued == 0.0 && stable_since.elapsed() > Duration::from_secs(2))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let drain = started.elapsed().saturating_sub(send_elapsed);
    let cpu_after = thread_cpu_by_name(service_pid);
    let stored = (read(&text, "seam_events_stored_total")
        + read(&text, "seam_events_duplicate_total")) as u64;
    let lost = flows_sent.saturating_sub(stored);
    // Read here rather than from the service's gauge, which is refreshed only while datagrams
    // arrive.
    let kernel = crate::syslog::kernel_udp_drops(target.port()).unwrap_or(0);
    let report = FlowReport {
        mode: "netflow-udp",
        version: load.version,
        flows_per_datagram: per_datagram,
        duration_s: send_elapsed.as_secs_f64(),
        offered_rate: Some(rate),
        flows_sent,
        datagrams_sent,
        send_rate: flows_sent as f64 / send_elapsed.as_secs_f64().max(1e-9),
        flows_stored: stored,
        flows_per_sec: stored as f64 / send_elapsed.as_secs_f64().max(1e-9),
        flows_lost: lost,
        loss_percent: round3(lost as f64 * 100.0 / flows_sent.max(1) as f64),
        datagrams_dropped_by_queues: read(&text, "seam_udp_dropped_total") as u64,
        datagrams_dropped_by_kernel: kernel,
        dead_letters: read(&text, "seam_records_rejected_total") as u64,
        skipped: read(&text, "seam_records_skipped_total") as u64,
        sequence_gaps: read(&text, "seam_sequence_gaps_total") as u64,
        drain_ms: round3(drain.as_secs_f64() * 1000.0),
        cpu_us_per_flow: cpu_after
            .iter()
            .map(|(name, after)| {
                let spent = after.saturating_sub(cpu_before.get(name).copied().unwrap_or(0));
                (
                    name.clone(),
                    round3(spent as f64 / 1000.0 / stored.max(1) as f64),
                )
            })
            .filter(|(_, us)| *us > 0.0)
            .collect(),
    };
    drop(service);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_listeners_are_read_from_the_listening_line() {
        let line = "seam serve: listening: http 127.0.0.1:4000 api 127.0.0.1:4000 netflow-udp netflow=127.0.0.1:2055";
        assert_eq!(
            listening_address(line, "netflow-udp").map(|a| a.port()),
            Some(2055)
        );
        assert_eq!(listening_address(line, "syslog-udp"), None);
    }

    #[test]
    fn the_listening_line_is_read() {
        let (http, syslog) = parse_listening(
            "seam serve: listening: http 127.0.0.1:4000 api 127.0.0.1:4000 syslog-udp syslog=127.0.0.1:5514 syslog-tcp syslog=127.0.0.1:5514",
        )
        .unwrap();
        assert_eq!(http.port(), 4000);
        assert_eq!(syslog.map(|a| a.port()), Some(5514));
        assert!(parse_listening("nothing here").is_err());
    }

    #[test]
    fn metrics_are_read_back() {
        let text = "# HELP x y\nseam_a{source=\"s\"} 3\nseam_a{source=\"t\"} 4\nseam_b 1.5\n";
        assert_eq!(metric(text, "seam_a", ""), Some(7.0));
        assert_eq!(metric(text, "seam_a", "source=\"t\""), Some(4.0));
        assert_eq!(metric(text, "seam_b", ""), Some(1.5));
        assert_eq!(metric(text, "seam_c", ""), None);
    }
}
