//! `seam`: the command line of Seam.

/// Prints a line to stdout. A closed stdout (`seam sim ... | head`) ends the output quietly
/// instead of panicking as `println!` does; output that matters (findings) is written with its
/// errors checked.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// As [`say!`], without the newline.
macro_rules! say_inline {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}

/// mimalloc rather than the system allocator: the engine frees several small strings per event
/// in the order they were made, which the system allocator handles slowly.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod access;
mod audit;
mod bench;
mod cases;
mod demo;
mod directory;
mod embedded;
mod error;
mod feed;
mod input;
mod load;
mod pipeline;
mod report;
mod serve;
mod stores;
mod subject;
mod twin;
mod workspace_bench;

use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliError;

/// The wall clock, read only at the command line's edge: an import, a user or a token is
/// stamped when it is made.
pub(crate) fn wall_clock() -> seam_model::Ts {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    seam_model::Ts(ms)
}

/// Seam correlates physical-security and cybersecurity events per person, in event time.
#[derive(Debug, Parser)]
#[command(name = "seam", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay a scripted day at the example estate through every default rule.
    Demo {
        /// Only process and report; do not start the dashboard (there is none yet, so this is
        /// what `seam demo` does either way).
        #[arg(long)]
        no_serve: bool,
        /// Where the demo's store goes; emptied first if it holds an earlier demo.
        #[arg(long, default_value = "seam-data/demo")]
        data_dir: PathBuf,
        /// Also write the findings here as NDJSON.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Process files in batch: normalized NDJSON, or vendor formats as `ADAPTER=FILE`
    /// (`okta=signins.jsonl`, `pacs-sia=export.csv`); findings as NDJSON.
    Replay {
        #[arg(long)]
        estate: PathBuf,
        /// A folder of rules (default: the built-in default pack).
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Write findings here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Store events, findings and snapshots here, and resume from its last snapshot.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Or in this PostgreSQL database (`postgres://user@host:port/db`).
        #[arg(long, conflicts_with = "data_dir")]
        store: Option<String>,
        /// How late an event may arrive and still be ordered, in seconds.
        #[arg(long, default_value_t = 120)]
        lateness: i64,
        /// Merge the inputs by event time instead of reading them one after another (the
        /// default when any input is in a vendor format: one file per source).
        #[arg(long)]
        merge: bool,
        /// The time zone of vendor records written in local time without an offset.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// When the vendor files were received (RFC 3339): syslog stamps without a year take
        /// the year nearest it. Default: each file's modification time.
        #[arg(long)]
        received: Option<String>,
        /// A `seam serve` configuration file: an input `SOURCE=FILE` naming one of its sources
        /// is read as the service reads that source (its adapter, PACS mapping, Zigbee2MQTT
        /// zones, time zone, name).
        #[arg(long)]
        config: Option<PathBuf>,
        /// `FILE` (normalized NDJSON), `ADAPTER=FILE`, or `SOURCE=FILE` with `--config`.
        #[arg(required = true)]
        inputs: Vec<String>,
    },
    /// Validate an estate and rules; exit 2 with file:line and the reason when they are not valid.
    Check {
        #[arg(long)]
        estate: PathBuf,
        #[arg(long)]
        rules: Option<PathBuf>,
        /// The time zone of vendor records written in local time without an offset.
        #[arg(long, default_value = "UTC")]
        timezone: String,
        /// Sample exports (`ADAPTER=FILE` or normalized NDJSON): every reader, door, access
        /// point, switch port, asset, zone and site they name that the estate does not know
        /// is listed, with the nearest known name.
        inputs: Vec<String>,
    },
    /// List what a data directory holds: findings, unresolved events or dead letters.
    Inspect {
        #[arg(long)]
        data_dir: PathBuf,
        #[command(subcommand)]
        what: InspectWhat,
    },
    /// Local users of the service (with the service stopped: it reads them at start).
    User {
        /// A PostgreSQL store (`postgres://…`) holding the users; the data directory keeps the
        /// audit log.
        #[arg(long, global = true)]
        store: Option<String>,
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens for scripts and integrations (with the service stopped).
    Token {
        /// A PostgreSQL store (`postgres://…`) holding the tokens.
        #[arg(long, global = true)]
        store: Option<String>,
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// A person's data: export everything held about them, or erase them (with the service
    /// stopped).
    Subject {
        #[command(subcommand)]
        command: SubjectCommand,
    },
    /// Drop what is past its retention (`[retention]` of a `seam serve` configuration), or
    /// with `--dry-run` say what would go (with the service stopped; it also runs it hourly).
    Retention {
        #[arg(long)]
        data_dir: PathBuf,
        /// The `seam serve` configuration whose `[retention]` applies.
        #[arg(long)]
        config: PathBuf,
        /// A PostgreSQL store (`postgres://…`) holding the data.
        #[arg(long)]
        store: Option<String>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Findings and their triage: list, acknowledge, assign, close (against a running
    /// service with `--url URL --token TOKEN`, or a store with `--data-dir DIR`).
    Findings {
        #[command(flatten)]
        target: cases::TargetArgs,
        #[command(subcommand)]
        command: cases::FindingsCommand,
    },
    /// Shared cases: create, add, list, show, export (against a service or a store).
    Case {
        #[command(flatten)]
        target: cases::TargetArgs,
        #[command(subcommand)]
        command: cases::CaseCommand,
    },
    /// The report leadership asks for, over a period: findings by domain, response times per
    /// team, cases, access hygiene, space use, rules and their false positives.
    Report {
        #[arg(long)]
        data_dir: PathBuf,
        /// A PostgreSQL store (`postgres://…`) holding the data.
        #[arg(long)]
        store: Option<String>,
        /// The estate folder (default: the built-in example estate).
        #[arg(long)]
        estate: Option<PathBuf>,
        /// A `[[case_type]]` file replacing the shipped procedures.
        #[arg(long)]
        procedures: Option<PathBuf>,
        /// The first day (`2026-03-01`) or an RFC 3339 time.
        #[arg(long)]
        from: String,
        /// The day after the last (exclusive), or an RFC 3339 time.
        #[arg(long)]
        to: String,
        #[arg(long, default_value = "html", value_parser = ["html", "json", "csv"])]
        format: String,
        /// Write here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The tamper-evident audit log: verify it, export a period for an auditor.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// The directory's systems of record.
    Directory {
        #[command(subcommand)]
        command: DirectoryCommand,
    },
    /// Rule commands.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Run as a service: ingest over HTTP, syslog and MQTT, correlate, serve findings.
    Serve {
        #[command(flatten)]
        args: serve::ServeArgs,
    },
    /// Generate a synthetic estate, a workforce's days of events and labelled attacks.
    Sim {
        #[command(flatten)]
        args: twin::SimArgs,
    },
    /// Score findings against a simulation's ground truth: recall, precision, false positives.
    Eval {
        #[command(flatten)]
        args: twin::EvalArgs,
    },
    /// Tabletop: attack paths across the estate, scripted exercises, the estate as a picture.
    Twin {
        #[command(subcommand)]
        command: TwinCommand,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
enum InspectWhat {
    /// Findings as OCSF JSON, one per line, in time order.
    Findings {
        #[arg(long)]
        rule: Option<String>,
        #[arg(long)]
        person: Option<String>,
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Events whose identifiers resolved to no one.
    Unresolved {
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Rejected input with the reason.
    DeadLetters {
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Doors, readers, access points, switch ports, assets, zones and sites that events named
    /// and the estate does not know (as of the last snapshot).
    Unknown {
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// One person as the directory holds them now: status over time, identifiers with their
    /// intervals, and every change from a system of record with its source.
    Directory {
        #[arg(long)]
        person: String,
        /// The estate folder the store was run with (default: the built-in example estate).
        #[arg(long)]
        estate: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum SubjectCommand {
    /// Everything held about one person, as one JSON bundle on standard output (a subject
    /// access request); recorded in the audit log.
    Export {
        #[arg(long)]
        data_dir: PathBuf,
        /// The estate folder (default: the built-in example estate).
        #[arg(long)]
        estate: Option<PathBuf>,
        /// The person's id.
        #[arg(long)]
        person: String,
        /// A PostgreSQL store (`postgres://…`) holding the data; the data directory keeps the
        /// audit log and the pseudonym key.
        #[arg(long)]
        store: Option<String>,
        /// Why (the request's reference), for the audit log.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Remove every byte of one person's names and identifiers from the data directory;
    /// findings about them stay as tombstones. Export first: this cannot be undone.
    Erase {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        estate: Option<PathBuf>,
        #[arg(long)]
        person: String,
        /// A PostgreSQL store (`postgres://…`) holding the data.
        #[arg(long)]
        store: Option<String>,
        /// Why (the request's reference, such as a ticket number): kept in every tombstone
        /// and in the audit log, so it must not name the person.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from standard input (never a default).
    Add {
        #[arg(long)]
        data_dir: PathBuf,
        /// The login.
        #[arg(long)]
        name: String,
        #[arg(long)]
        display_name: Option<String>,
        /// admin, soc-analyst, gsoc-operator, investigator, auditor, integration (repeat or
        /// separate with commas).
        #[arg(long, required = true)]
        role: Vec<String>,
        /// The sites the user sees (default: all).
        #[arg(long)]
        site: Vec<String>,
    },
    List {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    Disable {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        name: String,
    },
    /// Set a user's password, read from standard input.
    Passwd {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token; it is printed once, on standard output, and stored only as a digest.
    Create {
        #[arg(long)]
        data_dir: PathBuf,
        /// What it is for.
        #[arg(long)]
        name: String,
        #[arg(long, required = true)]
        role: Vec<String>,
        #[arg(long)]
        site: Vec<String>,
        /// When it stops working, RFC 3339.
        #[arg(long)]
        expires: Option<String>,
    },
    List {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    Revoke {
        #[arg(long)]
        data_dir: PathBuf,
        /// The token's id (16 hex digits, as `list` shows).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check every record's hash and link, every checkpoint's signature, and with a witness
    /// that nothing it saw was cut; exit 0 when intact, 1 naming the first bad record.
    Verify {
        #[arg(long)]
        data_dir: PathBuf,
        /// A witness file the service copied its checkpoints to, or an HTTP witness's URL
        /// (its bearer token, if it wants one, in `SEAM_AUDIT_WITNESS_TOKEN`).
        #[arg(long)]
        witness: Option<PathBuf>,
        /// The public key to trust (a file, or 64 hex digits) instead of the data directory's.
        #[arg(long)]
        key: Option<String>,
        /// The records are in this PostgreSQL store (`postgres://…`), the key in the data
        /// directory.
        #[arg(long)]
        store: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The records of a period and the checkpoints that prove them, as NDJSON.
    Export {
        #[arg(long)]
        data_dir: PathBuf,
        /// The records are in this PostgreSQL store (`postgres://…`).
        #[arg(long)]
        store: Option<String>,
        /// RFC 3339, inclusive.
        #[arg(long)]
        from: String,
        /// RFC 3339, exclusive.
        #[arg(long)]
        to: String,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check an export on its own with the public key the auditor trusts.
    VerifyExport {
        #[arg(long)]
        key: String,
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum DirectoryCommand {
    /// Read an HR, cardholder (PACS) or LDIF export through a mapping file into directory
    /// changes, checked against the directory; written whole or not at all.
    Import {
        /// The mapping file (docs/directory.md).
        #[arg(long)]
        mapping: PathBuf,
        /// The estate folder (default: the built-in example estate).
        #[arg(long)]
        estate: Option<PathBuf>,
        /// Append the changes to this store (no `seam serve` running on it); its changes so
        /// far are part of the check.
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Write the changes as NDJSON events here (`-` for standard output), for `seam
        /// replay` or to POST to a running service's `ndjson` source.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The source the changes carry, as precedence names it (default: `hr-import`,
        /// `pacs-import` or `ldap-import`).
        #[arg(long)]
        source: Option<String>,
        /// The import time, RFC 3339 (default: now); nothing takes effect before it.
        #[arg(long)]
        at: Option<String>,
        /// Show what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The summary as one JSON object (on standard error).
        #[arg(long)]
        json: bool,
        /// The export.
        input: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum TwinCommand {
    /// Attack paths from a zone (or outside) to an asset or zone, and which rules see each step.
    Paths {
        /// The estate folder (default: the built-in example estate).
        #[arg(long)]
        estate: Option<PathBuf>,
        /// A folder of rules (default: the built-in default pack).
        #[arg(long)]
        rules: Option<PathBuf>,
        /// `outside` or a zone id.
        #[arg(long)]
        from: String,
        /// An asset, zone or network id.
        #[arg(long)]
        to: String,
        /// What the attacker holds: `badge:ID,password:UPN`.
        #[arg(long, default_value = "")]
        with: String,
        /// When the attack happens (RFC 3339; default 2026-03-02T21:00:00Z, a Monday night).
        #[arg(long)]
        at: Option<String>,
        /// How many paths to show, shortest first.
        #[arg(long, default_value_t = 3)]
        limit: usize,
        /// Also draw the estate with the shortest path as SVG.
        #[arg(long)]
        svg: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Run a scripted scenario (YAML or JSON) through the real engine, step by step.
    Exercise {
        scenario: PathBuf,
        #[arg(long)]
        estate: Option<PathBuf>,
        #[arg(long)]
        rules: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Draw the estate as SVG.
    Picture {
        #[arg(long)]
        estate: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// List the rules of a pack: where each comes from, and where tuning switches it off or
    /// excepts something, with the reason, the owner and the expiry.
    List {
        /// A folder of rules (default: the built-in default pack).
        dir: Option<PathBuf>,
    },
    /// Run every rule's own test cases through the engine.
    Test {
        /// A folder of rules (default: the built-in default pack).
        dir: Option<PathBuf>,
        /// The estate the test events refer to (default: the built-in example estate).
        #[arg(long)]
        estate: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// The engine alone, on pre-normalized events, with the full default rule pack.
    Engine {
        #[arg(long, default_value_t = 100_000)]
        people: usize,
        /// Events to process (default: 20 per person, at most 5,000,000).
        #[arg(long)]
        events: Option<usize>,
        /// A folder of rules (default: the built-in default pack).
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Build every event before the clock starts (gigabytes for millions of events), rather
        /// than a batch at a time as a parser hands them over.
        #[arg(long)]
        prebuilt: bool,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// A load generator against a local `seam serve`: acknowledged events per second and the
    /// latency from acknowledgement to finding.
    Ingest {
        #[command(flatten)]
        args: serve::BenchIngestArgs,
    },
    /// Flow export: NetFlow v5, v9 or IPFIX datagrams from a synthetic exporter decoded on one
    /// core; with `--udp`, sent to a local `seam serve` at a rate, counting what was lost.
    Flows {
        #[command(flatten)]
        args: serve::BenchFlowsArgs,
    },
    /// One adapter's parse rate on one core: the records of FILE (one per line), repeated,
    /// parsed in batches of 1,000 lines as a syslog listener hands them over.
    Adapter {
        /// The adapter (`okta`, `linux-auth`, `globalprotect`, …).
        name: String,
        /// Sample records, one per line.
        file: PathBuf,
        /// Records to parse.
        #[arg(long, default_value_t = 1_000_000)]
        records: usize,
        #[arg(long)]
        json: bool,
    },
    /// Directory changes (SCIM provisioning, imports) applied by the engine: changes per
    /// CPU-second at a directory of `--people`.
    Directory {
        #[arg(long, default_value_t = 100_000)]
        people: usize,
        #[arg(long, default_value_t = 100_000)]
        changes: usize,
        #[arg(long)]
        json: bool,
    },
    /// SCIM provisioning against a service started on loopback: a full resync of `--users`
    /// (creates), then a PATCH each, answered once durable.
    Scim {
        #[arg(long, default_value_t = 10_000)]
        users: usize,
        #[arg(long, default_value_t = 8)]
        connections: usize,
        #[arg(long)]
        json: bool,
    },
    /// What authentication costs the HTTP edge: ingest throughput and a findings query's
    /// latency without credentials and with API tokens, two services on loopback measured in
    /// interleaved rounds.
    Auth {
        #[arg(long, default_value_t = 7)]
        rounds: usize,
        /// Ingest requests (100 events each) and findings queries per round.
        #[arg(long, default_value_t = 300)]
        requests: usize,
        #[arg(long)]
        json: bool,
    },
    /// The audit log: appends (synced every `--sync-every`) and verification, per second.
    Audit {
        #[arg(long, default_value_t = 1_000_000)]
        records: u64,
        #[arg(long, default_value_t = 1_000)]
        sync_every: u64,
        #[arg(long)]
        json: bool,
    },
    /// Triage lists at scale: a store of `--findings` findings, then pages of 50 under every
    /// filter in interleaved rounds (p50, p99, worst). The embedded store in `--data-dir`
    /// (kept between runs); `--store postgres://…` makes a scratch database on that server.
    Workspace {
        #[arg(long, default_value_t = 1_000_000)]
        findings: usize,
        #[arg(long, default_value = "seam-data/bench-workspace")]
        data_dir: PathBuf,
        #[arg(long)]
        store: Option<String>,
        #[arg(long, default_value_t = 200)]
        rounds: usize,
        #[arg(long)]
        json: bool,
    },
    /// A case timeline on an existing store (`seam sim` then `seam replay --data-dir`): the
    /// `--people` people with the most findings over the last `--days` days.
    Timeline {
        #[arg(long)]
        data_dir: PathBuf,
        #[arg(long)]
        store: Option<String>,
        #[arg(long, default_value_t = 10)]
        people: usize,
        #[arg(long, default_value_t = 7)]
        days: i64,
        #[arg(long, default_value_t = 20)]
        rounds: usize,
        #[arg(long)]
        json: bool,
    },
    /// `seam replay` end to end: NDJSON parsing, engine, findings.
    Replay {
        #[arg(long, default_value_t = 10_000)]
        people: usize,
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(1))
        }
    }
}

fn run(command: Command) -> Result<ExitCode, CliError> {
    match command {
        Command::Demo {
            no_serve: _,
            data_dir,
            out,
        } => demo::run(&data_dir, out.as_deref()),
        Command::Replay {
            estate,
            rules,
            out,
            data_dir,
            store,
            lateness,
            merge,
            timezone,
            received,
            config,
            inputs,
        } => replay(
            &estate,
            rules.as_deref(),
            out.as_deref(),
            stores::StoreLocation::from_args(data_dir, store)?,
            lateness,
            ReplayInputs {
                specs: &inputs,
                merge,
                timezone: &timezone,
                received: received.as_deref(),
                config: config.as_deref(),
            },
        ),
        Command::Check {
            estate,
            rules,
            timezone,
            inputs,
        } => check(&estate, rules.as_deref(), &timezone, &inputs),
        Command::Serve { args } => serve::run(&args),
        Command::Twin { command } => match command {
            TwinCommand::Paths {
                estate,
                rules,
                from,
                to,
                with,
                at,
                limit,
                svg,
                json,
            } => twin::paths(&twin::PathsArgs {
                estate,
                rules,
                from,
                to,
                with,
                at,
                limit,
                svg,
                json,
            }),
            TwinCommand::Exercise {
                scenario,
                estate,
                rules,
                json,
            } => twin::exercise(&scenario, estate.as_deref(), rules.as_deref(), json),
            TwinCommand::Picture { estate, out } => twin::picture(estate.as_deref(), &out),
        },
        Command::Bench {
            command: BenchCommand::Ingest { args },
        } => serve::bench_ingest(&args),
        Command::Bench {
            command: BenchCommand::Flows { args },
        } => serve::bench_flows(&args),
        Command::Bench {
            command:
                BenchCommand::Directory {
                    people,
                    changes,
                    json,
                },
        } => bench::directory(people, changes, json),
        Command::Bench {
            command:
                BenchCommand::Scim {
                    users,
                    connections,
                    json,
                },
        } => bench::scim(users, connections, json),
        Command::Bench {
            command:
                BenchCommand::Auth {
                    rounds,
                    requests,
                    json,
                },
        } => bench::auth(rounds, requests, json),
        Command::Sim { args } => twin::sim(&args),
        Command::Eval { args } => twin::eval(&args),
        Command::Inspect { data_dir, what } => inspect(&data_dir, what),
        Command::User { store, command } => {
            let store = store.as_deref();
            match command {
                UserCommand::Add {
                    data_dir,
                    name,
                    display_name,
                    role,
                    site,
                } => access::user_add(
                    &data_dir,
                    store,
                    &name,
                    display_name.as_deref(),
                    &role,
                    &site,
                ),
                UserCommand::List { data_dir, json } => access::user_list(&data_dir, store, json),
                UserCommand::Disable { data_dir, name } => {
                    access::user_disable(&data_dir, store, &name)
                }
                UserCommand::Passwd { data_dir, name } => {
                    access::user_passwd(&data_dir, store, &name)
                }
            }
        }
        Command::Token { store, command } => {
            let store = store.as_deref();
            match command {
                TokenCommand::Create {
                    data_dir,
                    name,
                    role,
                    site,
                    expires,
                } => {
                    access::token_create(&data_dir, store, &name, &role, &site, expires.as_deref())
                }
                TokenCommand::List { data_dir, json } => access::token_list(&data_dir, store, json),
                TokenCommand::Revoke { data_dir, id } => {
                    access::token_revoke(&data_dir, store, &id)
                }
            }
        }
        Command::Subject { command } => match command {
            SubjectCommand::Export {
                data_dir,
                estate,
                person,
                store,
                reason,
            } => subject::export(
                &data_dir,
                store.as_deref(),
                estate.as_deref(),
                &person,
                reason.as_deref(),
            ),
            SubjectCommand::Erase {
                data_dir,
                estate,
                person,
                store,
                reason,
            } => subject::erase(
                &data_dir,
                store.as_deref(),
                estate.as_deref(),
                &person,
                &reason,
            ),
        },
        Command::Retention {
            data_dir,
            config,
            store,
            dry_run,
            json,
        } => {
            let config = seam_serve::ServeConfig::from_file(&config, &Default::default())
                .map_err(|e| CliError::Failed(e.to_string()))?;
            let store = store.or_else(|| config.store_url.clone());
            subject::retention(&data_dir, store.as_deref(), &config, dry_run, json)
        }
        Command::Findings { target, command } => {
            cases::findings(&target, command).map(|()| ExitCode::SUCCESS)
        }
        Command::Case { target, command } => {
            cases::case(&target, &seam_cases::Procedures::default(), command)
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Report {
            data_dir,
            store,
            estate,
            procedures,
            from,
            to,
            format,
            out,
        } => report::run(&report::ReportArgs {
            data_dir,
            store,
            estate,
            procedures,
            from,
            to,
            format,
            out,
        })
        .map(|()| ExitCode::SUCCESS),
        Command::Audit { command } => match command {
            AuditCommand::Verify {
                data_dir,
                witness,
                key,
                store,
                json,
            } => audit::verify(
                &data_dir,
                store.as_deref(),
                witness.as_deref(),
                key.as_deref(),
                json,
            ),
            AuditCommand::Export {
                data_dir,
                store,
                from,
                to,
                out,
            } => audit::export(&data_dir, store.as_deref(), &from, &to, out.as_deref()),
            AuditCommand::VerifyExport { key, file } => audit::verify_export(&file, &key),
        },
        Command::Bench {
            command:
                BenchCommand::Workspace {
                    findings,
                    data_dir,
                    store,
                    rounds,
                    json,
                },
        } => workspace_bench::workspace(&workspace_bench::WorkspaceArgs {
            findings,
            store,
            data_dir,
            rounds,
            json,
        })
        .map(|()| ExitCode::SUCCESS),
        Command::Bench {
            command:
                BenchCommand::Timeline {
                    data_dir,
                    store,
                    people,
                    days,
                    rounds,
                    json,
                },
        } => workspace_bench::timeline(&workspace_bench::TimelineArgs {
            data_dir,
            store,
            people,
            days,
            rounds,
            json,
        })
        .map(|()| ExitCode::SUCCESS),
        Command::Bench {
            command:
                BenchCommand::Audit {
                    records,
                    sync_every,
                    json,
                },
        } => audit::bench(records, sync_every, json),
        Command::Directory {
            command:
                DirectoryCommand::Import {
                    mapping,
                    estate,
                    data_dir,
                    out,
                    source,
                    at,
                    dry_run,
                    json,
                    input,
                },
        } => {
            let at = at
                .map(|text| {
                    seam_model::Ts::parse(&text)
                        .map_err(|e| CliError::Failed(format!("--at `{text}`: {e}")))
                })
                .transpose()?;
            if out.is_none() && data_dir.is_none() && !dry_run {
                return Err(CliError::Failed(
                    "say where the changes go: --out FILE (or -), --data-dir DIR, or --dry-run"
                        .into(),
                ));
            }
            directory::import(&directory::ImportArgs {
                mapping: &mapping,
                input: &input,
                estate: estate.as_deref(),
                data_dir: data_dir.as_deref(),
                out: out.as_deref(),
                source: source.as_deref(),
                at,
                dry_run,
                json,
            })
        }
        Command::Rules {
            command: RulesCommand::Test { dir, estate },
        } => rules_test(dir.as_deref(), estate.as_deref()),
        Command::Rules {
            command: RulesCommand::List { dir },
        } => rules_list(dir.as_deref()),
        Command::Bench {
            command:
                BenchCommand::Engine {
                    people,
                    events,
                    rules,
                    prebuilt,
                    json,
                },
        } => {
            let events = events.unwrap_or_else(|| people.saturating_mul(20).min(5_000_000));
            bench::engine(people, events, rules.as_deref(), prebuilt, json)
        }
        Command::Bench {
            command:
                BenchCommand::Replay {
                    people,
                    events,
                    json,
                },
        } => bench::replay(people, events, json),
        Command::Bench {
            command:
                BenchCommand::Adapter {
                    name,
                    file,
                    records,
                    json,
                },
        } => bench::adapter(&name, &file, records, json),
    }
}

/// When a file was last written, as event time.
fn modified_time(path: &str) -> Option<seam_model::Ts> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(since.as_millis()).ok().map(seam_model::Ts)
}

/// Opens `FILE`, `ADAPTER=FILE` and (with a service configuration) `SOURCE=FILE` inputs; also
/// says whether any is in a vendor format.
fn open_inputs(
    specs: &[String],
    timezone: &jiff::tz::TimeZone,
    received: Option<seam_model::Ts>,
    config: Option<&seam_serve::ServeConfig>,
) -> Result<(Vec<pipeline::Input>, bool), CliError> {
    let mut readers = Vec::with_capacity(specs.len());
    let mut any_vendor = false;
    for spec in specs {
        let (adapter, path) = input_spec(spec);
        let source = adapter.and_then(|name| {
            config.and_then(|config| config.sources.iter().find(|s| s.name == name))
        });
        let format = match (adapter, source) {
            (Some(_), Some(source)) => {
                any_vendor = true;
                let seam_serve::AdapterChoice::One(adapter) = &source.adapter else {
                    return Err(CliError::Failed(format!(
                        "`{spec}`: source `{}` tells syslog formats apart line by line; replay a file with its adapter's name (`linux-auth=FILE`, `ise=FILE`, …)",
                        source.name
                    )));
                };
                let received = received.or_else(|| modified_time(path));
                let mut context = source
                    .context(received.unwrap_or(seam_model::Ts(0)))
                    .map_err(|e| CliError::Failed(format!("`{spec}`: {e}")))?;
                if source.timezone.is_none() {
                    context.timezone = timezone.clone();
                }
                // A file's records are taken at their own times, as for any vendor input.
                context.max_ahead_ms = i64::MAX;
                context.max_behind_ms = i64::MAX;
                input::Format::Vendor {
                    adapter: adapter.clone(),
                    context,
                    header: None,
                }
            }
            (Some(name), None) => {
                any_vendor = true;
                let adapter = seam_adapters::Adapter::from_name(name)
                    .map_err(|e| CliError::Failed(format!("`{spec}`: {e}")))?;
                let limit = seam_adapters::MAX_BATCH_BYTES;
                // A binary capture is read whole: one over the limit is refused before
                // anything is read, rather than after the other inputs.
                if !adapter.is_line_format()
                    && let Ok(metadata) = std::fs::metadata(path)
                    && metadata.len() > limit as u64
                {
                    return Err(CliError::Failed(format!(
                        "`{spec}`: the {name} adapter reads a file whole, up to {} MiB, and this one is {} bytes; split it (for a pcap capture: `editcap -c 100000 IN OUT`)",
                        limit >> 20,
                        metadata.len()
                    )));
                }
                // Year-less stamps take the year nearest the receive time: the one given, or
                // when the file was last written (an export ends about then), never 1970.
                let received = received.or_else(|| modified_time(path));
                input::Format::vendor(adapter, timezone.clone(), received)
            }
            (None, _) => input::Format::Ndjson,
        };
        let file = std::fs::File::open(path).map_err(|e| CliError::Io {
            path: path.to_string(),
            source: e,
        })?;
        readers.push(pipeline::Input {
            name: path.to_string(),
            reader: Box::new(std::io::BufReader::with_capacity(1 << 16, file)),
            format,
        });
    }
    Ok((readers, any_vendor))
}

/// What `seam replay` reads and how.
struct ReplayInputs<'a> {
    specs: &'a [String],
    merge: bool,
    timezone: &'a str,
    received: Option<&'a str>,
    config: Option<&'a std::path::Path>,
}

/// Splits `ADAPTER=FILE` (an adapter name has no `=` and no path separator); anything else is a
/// normalized NDJSON file.
fn input_spec(spec: &str) -> (Option<&str>, &str) {
    match spec.split_once('=') {
        Some((adapter, path)) if !adapter.is_empty() && !adapter.contains(['/', '\\', '.']) => {
            (Some(adapter), path)
        }
        _ => (None, spec),
    }
}

fn replay(
    estate: &std::path::Path,
    rules: Option<&std::path::Path>,
    out: Option<&std::path::Path>,
    store: Option<stores::StoreLocation>,
    lateness_secs: i64,
    inputs: ReplayInputs<'_>,
) -> Result<ExitCode, CliError> {
    let estate = load::estate(Some(estate))?;
    let rules = load::rules(rules)?;
    let timezone = seam_adapters::timezone(inputs.timezone)
        .map_err(|e| CliError::Failed(format!("--timezone: {e}")))?;
    let received = match inputs.received {
        Some(text) => Some(
            seam_model::Ts::parse(text)
                .map_err(|e| CliError::Failed(format!("--received `{text}`: {e}")))?,
        ),
        None => None,
    };
    let config = match inputs.config {
        Some(path) => Some(
            seam_serve::ServeConfig::from_file(path, &seam_serve::Overrides::default())
                .map_err(|e| CliError::Failed(e.to_string()))?,
        ),
        None => None,
    };
    let (readers, any_vendor) = open_inputs(inputs.specs, &timezone, received, config.as_ref())?;
    let stdout_is_terminal = std::io::stdout().is_terminal();
    let writer: Box<dyn Write> = match out {
        Some(path) => Box::new(std::fs::File::create(path).map_err(|e| CliError::Io {
            path: path.display().to_string(),
            source: e,
        })?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut writer = BufWriter::with_capacity(1 << 16, writer);
    let config = seam_engine::EngineConfig {
        allowed_lateness_ms: lateness_secs.saturating_mul(1000).max(0),
        ..seam_engine::EngineConfig::default()
    };
    let options = pipeline::Options {
        estate,
        rules,
        store,
        progress: stdout_is_terminal && out.is_some(),
        config,
        batch: pipeline::DEFAULT_BATCH,
        merge: inputs.merge || any_vendor,
    };
    let summary = pipeline::run(readers, &options, &mut |finding| {
        serde_json::to_writer(&mut writer, finding).map_err(|e| CliError::Output(e.into()))?;
        writer.write_all(b"\n").map_err(CliError::Output)
    })?;
    writer.flush().map_err(CliError::Output)?;
    let rate = summary.events as f64 / summary.elapsed.as_secs_f64().max(1e-9);
    eprintln!(
        "{} events ({} late, {} dated beyond the clock bounds, {} unresolved, {} duplicates, {} skipped as already processed), {} rejected, {} findings in {:.2}s ({:.0} events/s)",
        summary.events,
        summary.late,
        summary.ahead,
        summary.unresolved,
        summary.duplicates,
        summary.skipped_lines,
        summary.dead_letters,
        summary.findings,
        summary.elapsed.as_secs_f64(),
        rate
    );
    print_unknown(&summary.unknown, 10, &mut |text| eprintln!("{text}"));
    if summary.silenced_by_change > 0 {
        eprintln!(
            "{} matches not raised: an approved change covered them",
            summary.silenced_by_change
        );
    }
    if summary.kept_back_by_tuning > 0 {
        eprintln!(
            "{} findings kept back by the pack's tuning (`seam rules list` shows what and why)",
            summary.kept_back_by_tuning
        );
    }
    let skipped: u64 = summary.skipped_records.values().sum();
    if skipped > 0 {
        eprintln!("{skipped} records skipped (parsed, nothing Seam uses):");
        for ((input, reason), count) in &summary.skipped_records {
            eprintln!("  {input}: {count} {reason}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The names the estate does not know, by kind, most-used first (at most `limit` per kind):
/// every event that names one gets no place, and place-based rules are blind to it.
fn print_unknown(
    unknown: &seam_engine::references::UnknownReferences,
    limit: usize,
    out: &mut dyn FnMut(String),
) {
    let (names, events) = unknown.totals();
    if names == 0 && unknown.not_kept == 0 {
        return;
    }
    out(format!(
        "{events} events name {names} things the estate does not know (they get no place; add them to the estate):"
    ));
    for (kind, seen) in &unknown.by_kind {
        let mut sorted: Vec<_> = seen.iter().collect();
        sorted.sort_by(|a, b| b.1.events.cmp(&a.1.events).then(a.0.cmp(b.0)));
        for (name, seen) in sorted.iter().take(limit) {
            out(format!(
                "  {kind} `{name}`: {} events from {}, {} to {}",
                seen.events, seen.source, seen.first, seen.last
            ));
        }
        if sorted.len() > limit {
            out(format!(
                "  … and {} more {kind} names",
                sorted.len() - limit
            ));
        }
    }
    if unknown.not_kept > 0 {
        out(format!(
            "  {} more references, to names past the first {}",
            unknown.not_kept,
            seam_engine::references::MAX_UNKNOWN_NAMES
        ));
    }
}

fn inspect(data_dir: &std::path::Path, what: InspectWhat) -> Result<ExitCode, CliError> {
    use seam_store::Store;
    if !data_dir.join("seam.db").exists() {
        return Err(CliError::Failed(format!(
            "`{}` holds no Seam store",
            data_dir.display()
        )));
    }
    let store =
        seam_store::EmbeddedStore::open(data_dir).map_err(|e| CliError::Store(e.to_string()))?;
    let error = |e: seam_store::StoreError| CliError::Store(e.to_string());
    let mut stdout = std::io::stdout().lock();
    let mut line = |text: String| writeln!(stdout, "{text}").map_err(CliError::Output);
    match what {
        InspectWhat::Findings {
            rule,
            person,
            limit,
        } => {
            let filter = seam_store::FindingFilter {
                rule,
                person,
                limit,
                ..seam_store::FindingFilter::default()
            };
            for finding in store.findings(&filter).map_err(error)? {
                line(finding.json)?;
            }
        }
        InspectWhat::Unresolved { limit } => {
            for item in store.unresolved(limit).map_err(error)? {
                line(format!(
                    "{}  {}  {}  {}",
                    item.time, item.source, item.event_uid, item.identifiers
                ))?;
            }
        }
        InspectWhat::Unknown { limit } => {
            let Some(snapshot) = store.latest_snapshot().map_err(error)? else {
                line("no engine snapshot yet: nothing has been processed".to_string())?;
                return Ok(ExitCode::SUCCESS);
            };
            let state: seam_engine::EngineSnapshot = serde_json::from_slice(&snapshot.state)
                .map_err(|e| CliError::Store(format!("the engine snapshot: {e}")))?;
            let mut lines = Vec::new();
            print_unknown(&state.world.unknown, limit, &mut |text| lines.push(text));
            if lines.is_empty() {
                lines.push("every place the events named is in the estate".to_string());
            }
            for text in lines {
                line(text)?;
            }
        }
        InspectWhat::Directory {
            person,
            estate,
            json,
        } => {
            drop(store);
            directory::inspect(data_dir, estate.as_deref(), &person, json)?;
        }
        InspectWhat::DeadLetters { limit } => {
            for letter in store.dead_letters(limit).map_err(error)? {
                let raw: String = String::from_utf8_lossy(&letter.raw)
                    .chars()
                    .take(200)
                    .collect();
                line(format!(
                    "{}:{}: {}\n    {raw}",
                    letter.source, letter.position, letter.reason
                ))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn check(
    estate: &std::path::Path,
    rules: Option<&std::path::Path>,
    timezone: &str,
    inputs: &[String],
) -> Result<ExitCode, CliError> {
    let estate = load::estate(Some(estate))?;
    let rules = load::rules(rules)?;
    let untested: Vec<&str> = rules
        .set
        .rules()
        .iter()
        .enumerate()
        .filter(|(index, rule)| {
            rule.generates_findings && !rules.set.tests().iter().any(|t| t.rule == *index)
        })
        .map(|(_, rule)| rule.id.as_str())
        .collect();
    say!(
        "ok: {} sites, {} zones, {} doors, {} people; {} rules",
        estate.sites().len(),
        estate.zones().len(),
        estate.doors().len(),
        estate.people().len(),
        rules.set.rules().len()
    );
    if !untested.is_empty() {
        say!("warning: rules without test cases: {}", untested.join(", "));
    }
    say!("coverage (what the estate declares; signals that report while running arm more):");
    for line in seam_engine::coverage::report(&estate) {
        let why = if line.why.is_empty() {
            String::new()
        } else {
            format!(": {}", line.why)
        };
        say!(
            "  {:<8} {:<42} {:<5} {} of {}{why}",
            line.state.as_str(),
            line.rule,
            line.site,
            line.armed,
            line.of
        );
    }
    if inputs.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let timezone = seam_adapters::timezone(timezone)
        .map_err(|e| CliError::Failed(format!("--timezone: {e}")))?;
    let (readers, _) = open_inputs(inputs, &timezone, None, None)?;
    let (mut feed, _) = feed::Feed::new(readers, false, &|_| 0)?;
    // (kind, name) → (records naming it, the first input that did)
    let mut unknown: std::collections::BTreeMap<
        (seam_engine::references::Reference, String),
        (u64, String),
    > = std::collections::BTreeMap::new();
    let mut events = 0u64;
    while let Some((input, line)) = feed.next()? {
        let input::Line::Event(event) = line else {
            continue;
        };
        events += 1;
        for (kind, name) in seam_engine::references::unknown_references(&estate, &event) {
            let entry = unknown
                .entry((kind, name.to_string()))
                .or_insert_with(|| (0, input.to_string()));
            entry.0 += 1;
        }
    }
    if unknown.is_empty() {
        say!("ok: the {events} events of the samples name nothing the estate does not know");
        return Ok(ExitCode::SUCCESS);
    }
    for ((kind, name), (count, input)) in &unknown {
        let known = kind.known(&estate);
        say!(
            "{input}: unknown {} `{name}` in {count} record{}{}",
            kind.as_str(),
            if *count == 1 { "" } else { "s" },
            seam_model::text::did_you_mean(name, known.iter().map(String::as_str))
        );
    }
    say!(
        "{} unknown to the estate: their events get no place, and place-based rules cannot see them",
        match unknown.len() {
            1 => "1 name in the samples is".to_string(),
            n => format!("{n} names in the samples are"),
        }
    );
    Ok(ExitCode::from(2))
}

fn rules_list(dir: Option<&std::path::Path>) -> Result<ExitCode, CliError> {
    let rules = load::rules(dir)?;
    let tuning = &rules.tuning;
    let mut off_somewhere = 0usize;
    let mut shown = 0usize;
    for meta in rules.set.rules().iter().filter(|m| m.generates_findings) {
        shown += 1;
        let level = meta.level.map_or("-", |level| level.as_str());
        say!("{:<44} {:<13} {}", meta.id, level, meta.path);
        for disable in tuning.disabled.iter().filter(|d| d.rule == meta.id) {
            off_somewhere += 1;
            let where_ = if disable.sites.is_empty() {
                "everywhere".to_string()
            } else {
                format!("at {}", disable.sites.join(", "))
            };
            say!(
                "    off {where_}: {} (owner {})",
                disable.reason,
                disable.owner
            );
        }
        for exception in tuning.exceptions.iter().filter(|e| e.rule == meta.id) {
            let about: Vec<String> = [
                ("person", &exception.person),
                ("asset", &exception.asset),
                ("zone", &exception.zone),
                ("site", &exception.site),
            ]
            .iter()
            .filter_map(|(kind, value)| value.as_ref().map(|v| format!("{kind} {v}")))
            .collect();
            // The wall clock is read here, at the edge, to tell a person what has lapsed.
            let lapsed = exception.expires.millis() <= jiff::Timestamp::now().as_millisecond();
            say!(
                "    except {} until {}{}: {} (owner {})",
                about.join(", "),
                exception.expires,
                if lapsed { " (expired)" } else { "" },
                exception.reason,
                exception.owner
            );
        }
    }
    say!(
        "{shown} rules; {off_somewhere} switched off somewhere; {} exceptions",
        tuning.exceptions.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn rules_test(
    dir: Option<&std::path::Path>,
    estate: Option<&std::path::Path>,
) -> Result<ExitCode, CliError> {
    let estate = load::estate(estate)?;
    let rules = load::rules(dir)?;
    let outcomes = seam_engine::run_rule_tests(&estate, &rules);
    let mut failed = 0usize;
    for outcome in &outcomes {
        if outcome.passed() {
            say!("ok     {}: {}", outcome.rule_id, outcome.name);
        } else {
            failed += 1;
            match &outcome.error {
                Some(error) => say!(
                    "FAILED {}: {} ({}): {error}",
                    outcome.rule_id,
                    outcome.name,
                    outcome.location
                ),
                None => say!(
                    "FAILED {}: {} ({}): expected {} findings, found {}",
                    outcome.rule_id,
                    outcome.name,
                    outcome.location,
                    outcome.expected,
                    outcome.found
                ),
            }
        }
    }
    let missing: Vec<&str> = rules
        .set
        .rules()
        .iter()
        .enumerate()
        .filter(|(index, rule)| {
            let tests: Vec<_> = outcomes
                .iter()
                .zip(rules.set.tests())
                .filter(|(_, t)| t.rule == *index)
                .collect();
            rule.generates_findings
                && !(tests.iter().any(|(o, _)| o.expected > 0)
                    && tests.iter().any(|(o, _)| o.expected == 0))
        })
        .map(|(_, rule)| rule.id.as_str())
        .collect();
    for rule in &missing {
        say!("FAILED {rule}: needs at least one positive and one negative test case");
    }
    let passed = outcomes.len() - failed;
    say!("{passed} passed, {} failed", failed + missing.len());
    Ok(if failed + missing.len() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
