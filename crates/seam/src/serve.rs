//! `seam serve` and `seam bench ingest`: the long-running service and its load generator.
//! Both are thin: the settings become a `seam_serve::ServeConfig`, the estate and rules are
//! loaded here (the built-in ones by default), and `seam_serve` does the rest.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use crate::error::CliError;

/// Settings of `seam serve`; the same settings can come from `--config FILE`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// A TOML file with every setting (flags override it); see docs/serve.md.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The estate folder (default: the built-in example estate).
    #[arg(long)]
    pub estate: Option<PathBuf>,
    /// A folder of rules (default: the built-in default pack).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Where events, findings and snapshots are kept (default: seam-data/serve).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Keep events, findings and snapshots in this PostgreSQL database
    /// (`postgres://user@host:port/db`) instead; the data directory then keeps the audit log,
    /// the keys and the pull cursors.
    #[arg(long)]
    pub store: Option<String>,
    /// The HTTP listen address for ingest (default: 127.0.0.1:8787).
    #[arg(long)]
    pub http: Option<String>,
    /// A separate loopback address for the read API (findings, stream, metrics).
    #[arg(long)]
    pub api: Option<String>,
    /// Also listen for syslog on this address, UDP and TCP; each line's format (ISE, Meraki,
    /// GlobalProtect, PAN-OS, DHCP, Linux authentication, Windows events) picks its adapter.
    #[arg(long)]
    pub syslog: Option<String>,
    /// Also subscribe to uhppoted and Zigbee2MQTT topics on this broker (mqtt://host:port).
    #[arg(long)]
    pub mqtt: Option<String>,
    /// Also take NetFlow v5/v9 and IPFIX export over UDP on this address (a source `netflow`).
    #[arg(long)]
    pub netflow: Option<String>,
    /// How far behind its source's newest event an event may arrive and still be ordered, in
    /// seconds (default 0.5; sources may set their own).
    #[arg(long)]
    pub lateness: Option<f64>,
    /// How often the wall clock moves the watermark, in ms (0: only event time moves it).
    #[arg(long)]
    pub heartbeat_ms: Option<u64>,
}

/// Settings of `seam bench ingest`.
#[derive(Debug, clap::Args)]
pub struct BenchIngestArgs {
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// A running `seam serve` (its HTTP address) instead of starting one; it needs an
    /// unauthenticated `ndjson` source and the example estate.
    #[arg(long)]
    pub target: Option<String>,
    /// How long to drive load, in seconds.
    #[arg(long, default_value_t = 15)]
    pub duration: u64,
    /// Events (or syslog lines) per second to offer (default: as fast as acknowledged).
    #[arg(long)]
    pub rate: Option<u64>,
    /// Events per request.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// One event in this many triggers a finding (its latency is measured).
    #[arg(long, default_value_t = 100)]
    pub trigger_every: usize,
    /// Syslog over UDP instead of HTTP: lines parsed per second and drops.
    #[arg(long)]
    pub syslog: bool,
    /// The allowed lateness of the service started, in seconds: the finding latency is this
    /// plus the pipeline's.
    #[arg(long, default_value_t = 0.02)]
    pub lateness: f64,
    /// Idle connections held open against the service meanwhile (a flood; loopback only).
    #[arg(long, default_value_t = 0)]
    pub idle_connections: usize,
    /// Senders trickling a large body at a byte a second meanwhile.
    #[arg(long, default_value_t = 0)]
    pub slow_senders: usize,
}

/// Settings of `seam bench flows`.
#[derive(Debug, clap::Args)]
pub struct BenchFlowsArgs {
    /// The NetFlow version of the synthetic exporter: 5, 9, or 10 (IPFIX).
    #[arg(long, default_value_t = 10)]
    pub version: u16,
    /// Flows per datagram (v5 carries at most 30).
    #[arg(long, default_value_t = 30)]
    pub flows_per_datagram: usize,
    /// Flows to decode (decoding on one core, without `--udp`).
    #[arg(long, default_value_t = 3_000_000)]
    pub flows: usize,
    /// Send the datagrams over UDP to a `seam serve` started on loopback, at `--rate` flows
    /// per second for `--duration` seconds, and count what was stored and what was lost.
    #[arg(long)]
    pub udp: bool,
    /// Flows per second to offer over UDP.
    #[arg(long, default_value_t = 100_000)]
    pub rate: u64,
    /// How long to send over UDP, in seconds.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// The allowed lateness of the service started, in seconds (the synthetic flows end a
    /// second before their export).
    #[arg(long, default_value_t = 2.0)]
    pub lateness: f64,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

fn lateness_ms(seconds: f64) -> Result<i64, CliError> {
    if !seconds.is_finite() || !(0.0..=86_400.0).contains(&seconds) {
        return Err(CliError::Failed(format!(
            "--lateness {seconds}: give seconds between 0 and 86400"
        )));
    }
    Ok((seconds * 1000.0).round() as i64)
}

pub fn run(args: &ServeArgs) -> Result<ExitCode, CliError> {
    let overrides = seam_serve::Overrides {
        estate: args.estate.clone(),
        rules: args.rules.clone(),
        data_dir: args.data_dir.clone(),
        store: args.store.clone(),
        http: args.http.clone(),
        api: args.api.clone(),
        syslog: args.syslog.clone(),
        mqtt: args.mqtt.clone(),
        netflow: args.netflow.clone(),
        lateness_ms: args.lateness.map(lateness_ms).transpose()?,
        heartbeat_ms: args.heartbeat_ms,
    };
    let mut config = match &args.config {
        Some(path) => seam_serve::ServeConfig::from_file(path, &overrides),
        None => seam_serve::ServeConfig::defaults(&overrides),
    }
    .map_err(|e| CliError::Failed(format!("configuration: {e}")))?;
    let estate = crate::load::estate(config.estate.as_deref())?;
    let (rules, rules_digest) = crate::load::rules_with_digest(config.rules.as_deref())?;
    config.rules_digest = Some(rules_digest);
    let server = seam_serve::Server::start(&config, estate, rules)
        .map_err(|e| CliError::Failed(e.to_string()))?;
    server
        .run_until_signal()
        .map_err(|e| CliError::Failed(e.to_string()))?;
    Ok(ExitCode::SUCCESS)
}

pub fn bench_ingest(args: &BenchIngestArgs) -> Result<ExitCode, CliError> {
    let seam_exe = std::env::current_exe()
        .map_err(|e| CliError::Failed(format!("cannot find the seam executable: {e}")))?;
    let target = match &args.target {
        Some(text) => Some(text.parse().map_err(|_| {
            CliError::Failed(format!(
                "--target `{text}` is not an address like 127.0.0.1:8787"
            ))
        })?),
        None => None,
    };
    let options = seam_serve::bench::BenchOptions {
        seam_exe,
        target,
        duration: Duration::from_secs(args.duration.clamp(1, 600)),
        rate: args.rate.filter(|r| *r > 0),
        batch: args.batch.clamp(1, 100_000),
        connections: args.connections.clamp(1, 64),
        trigger_every: args.trigger_every.max(1),
        syslog: args.syslog,
        lateness_ms: lateness_ms(args.lateness)?,
        idle_connections: args.idle_connections.min(20_000),
        slow_senders: args.slow_senders.min(10_000),
        flows: None,
    };
    let report = seam_serve::bench::run(&options).map_err(CliError::Failed)?;
    let mut stdout = std::io::stdout().lock();
    if args.json {
        writeln!(stdout, "{report}").map_err(CliError::Output)?;
    } else if let Some(fields) = report.as_object() {
        for (name, value) in fields {
            writeln!(stdout, "{name:>22}  {value}").map_err(CliError::Output)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `seam bench flows`: decoding on one core, or with `--udp` a service on loopback under load.
pub fn bench_flows(args: &BenchFlowsArgs) -> Result<ExitCode, CliError> {
    if ![5, 9, 10].contains(&args.version) {
        return Err(CliError::Failed(format!(
            "--version {}: give 5, 9 or 10 (IPFIX)",
            args.version
        )));
    }
    if !args.udp {
        return crate::bench::flows(args.version, args.flows, args.flows_per_datagram, args.json);
    }
    let seam_exe = std::env::current_exe()
        .map_err(|e| CliError::Failed(format!("cannot find the seam executable: {e}")))?;
    let options = seam_serve::bench::BenchOptions {
        seam_exe,
        target: None,
        duration: Duration::from_secs(args.duration.clamp(1, 600)),
        rate: Some(args.rate.clamp(1, 10_000_000)),
        batch: 1,
        connections: 1,
        trigger_every: 1,
        syslog: false,
        lateness_ms: lateness_ms(args.lateness)?,
        idle_connections: 0,
        slow_senders: 0,
        flows: Some(seam_serve::bench::FlowLoad {
            version: args.version,
            flows_per_datagram: args.flows_per_datagram,
        }),
    };
    let report = seam_serve::bench::run(&options).map_err(CliError::Failed)?;
    let mut stdout = std::io::stdout().lock();
    if args.json {
        writeln!(stdout, "{report}").map_err(CliError::Output)?;
    } else if let Some(fields) = report.as_object() {
        for (name, value) in fields {
            writeln!(stdout, "{name:>28}  {value}").map_err(CliError::Output)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
