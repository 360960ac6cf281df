//! `seam sim` and `seam eval`: the digital twin's command line.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use seam_estate::{Estate, EstateFile};
use seam_model::Finding;
use seam_twin::world::{self, WorldSpec};
use seam_twin::{Manifest, Scenario, SimSpec, Twin};

use crate::error::CliError;

/// What `seam sim` is asked for.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Employees and contractors to generate (ignored with --estate).
    #[arg(long, default_value_t = 1000)]
    pub people: usize,
    /// Sites to generate (at most 24; a decommissioned site is always added).
    #[arg(long, default_value_t = 2)]
    pub sites: usize,
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The first day, as YYYY-MM-DD (default 2026-03-02, a Monday).
    #[arg(long)]
    pub start: Option<String>,
    /// Simulate the people of an existing estate instead of generating one.
    #[arg(long)]
    pub estate: Option<PathBuf>,
    /// Attacks of each kind over the run (default: one per 20,000 person-days, at least 1;
    /// 0 for benign traffic only).
    #[arg(long)]
    pub attacks: Option<u32>,
    /// Output folder: estate/, events/, truth.jsonl and sim.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// `ndjson`: Seam's normalized events, one file per UTC day; `vendor`: each source's
    /// own format (Okta JSON, Meraki/ISE/GlobalProtect/dhcpd syslog, PACS and Envoy JSON),
    /// one file per source, for `seam replay ADAPTER=FILE`.
    #[arg(long, default_value = "ndjson")]
    pub format: String,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
    move |source| CliError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The default number of attacks of each kind: enough to measure recall on a big run, at
/// least one of each on a small one.
fn default_attacks(people: usize, days: u32) -> u32 {
    let person_days = people as u64 * u64::from(days);
    u32::try_from((person_days / 20_000).clamp(1, 50)).unwrap_or(1)
}

pub fn sim(args: &SimArgs) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    let start_ms = match &args.start {
        Some(text) => seam_twin::calendar::parse_start(text).ok_or_else(|| {
            CliError::Failed(format!(
                "--start `{text}`: expected a date such as 2026-03-02"
            ))
        })?,
        None => seam_twin::calendar::DEFAULT_START_MS,
    };
    let estate_dir = args.out.join("estate");
    let events_dir = args.out.join("events");
    for dir in [&estate_dir, &events_dir] {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(io_error(dir))?;
        }
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    // The estate: generated, or copied from the one given so the output stands on its own.
    let files: Vec<EstateFile> = match &args.estate {
        Some(dir) => read_estate_files(dir)?,
        None => world::generate(&WorldSpec {
            people: args.people,
            sites: args.sites,
            days: args.days,
            seed: args.seed,
            start_ms,
        }),
    };
    for file in &files {
        let path = estate_dir.join(&file.path);
        std::fs::write(&path, &file.text).map_err(io_error(&path))?;
    }
    let estate = Estate::from_files(&files).map_err(|errors| {
        CliError::Estate(
            errors
                .iter()
                .take(10)
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    let twin = Twin::of(&estate);
    let estate_ready = Instant::now();
    let people = twin.people.len();
    let spec = SimSpec {
        seed: args.seed,
        days: args.days,
        start_ms,
        attacks_per_kind: args
            .attacks
            .unwrap_or_else(|| default_attacks(people, args.days)),
    };
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
    });
    let vendor = match args.format.as_str() {
        "ndjson" => false,
        "vendor" => true,
        other => {
            return Err(CliError::Failed(format!(
                "--format `{other}`: expected ndjson or vendor"
            )));
        }
    };
    let mut replay_inputs: Vec<String> = Vec::new();
    let summary = if vendor {
        // One file per source format for the whole run, as each source would export it.
        let files = seam_twin::vendor::FILE_STREAMS;
        let mut writers = Vec::with_capacity(files.len());
        for (name, extension) in files {
            let path = events_dir.join(format!("{name}.{extension}"));
            let handle = std::fs::File::create(&path).map_err(io_error(&path))?;
            let mut writer = BufWriter::with_capacity(1 << 20, handle);
            if let Some(header) = seam_twin::vendor::header(name) {
                writer.write_all(header).map_err(io_error(&path))?;
                writer.write_all(b"\n").map_err(io_error(&path))?;
            }
            writers.push((path, writer, 0u64));
        }
        let quirks = seam_twin::vendor::Quirks::of_seed(args.seed);
        eprintln!(
            "vendor quirks of this seed: the Okta clock {:+} s off, {} records in a thousand delivered twice",
            quirks.okta_skew_ms / 1000,
            quirks.duplicates_per_mille
        );
        let render = seam_twin::vendor::VendorFiles::with_quirks(quirks);
        let summary = seam_twin::simulate_with(&twin, &spec, threads, &render, |file| {
            for (bytes, (path, writer, written)) in file.streams.iter().zip(writers.iter_mut()) {
                writer.write_all(bytes).map_err(io_error(path))?;
                *written += bytes.len() as u64;
            }
            Ok::<_, CliError>(())
        })?;
        for ((name, _), (path, mut writer, written)) in files.iter().zip(writers) {
            writer.flush().map_err(io_error(&path))?;
            if written == 0 {
                std::fs::remove_file(&path).map_err(io_error(&path))?;
            } else if *name == "ndjson" {
                replay_inputs.push(path.display().to_string());
            } else {
                replay_inputs.push(format!("{name}={}", path.display()));
            }
        }
        summary
    } else {
        replay_inputs.push(format!("{}/*.ndjson", events_dir.display()));
        seam_twin::simulate(&twin, &spec, threads, |file| {
            let date = seam_twin::calendar::utc_date(file.day_start_ms);
            let path = events_dir.join(format!("{date}.ndjson"));
            let handle = std::fs::File::create(&path).map_err(io_error(&path))?;
            let mut writer = BufWriter::with_capacity(1 << 20, handle);
            writer.write_all(file.ndjson()).map_err(io_error(&path))?;
            writer.flush().map_err(io_error(&path))
        })?
    };
    let truth_path = args.out.join("truth.jsonl");
    let mut truth =
        BufWriter::new(std::fs::File::create(&truth_path).map_err(io_error(&truth_path))?);
    for scenario in &summary.scenarios {
        let line = serde_json::to_string(scenario).map_err(|e| CliError::Failed(e.to_string()))?;
        writeln!(truth, "{line}").map_err(io_error(&truth_path))?;
    }
    truth.flush().map_err(io_error(&truth_path))?;
    let lookalikes_path = args.out.join(LOOKALIKES_FILE);
    let mut lookalikes = BufWriter::new(
        std::fs::File::create(&lookalikes_path).map_err(io_error(&lookalikes_path))?,
    );
    for lookalike in &summary.lookalikes {
        let line = serde_json::to_string(lookalike).map_err(|e| CliError::Failed(e.to_string()))?;
        writeln!(lookalikes, "{line}").map_err(io_error(&lookalikes_path))?;
    }
    lookalikes.flush().map_err(io_error(&lookalikes_path))?;
    let manifest = Manifest {
        seed: args.seed,
        people,
        sites: twin.sites.len(),
        days: args.days,
        start: seam_model::Ts(start_ms),
        person_days: summary.person_days,
        events: summary.events,
        scenarios: summary.scenarios.len(),
        lookalikes: summary.lookalikes.len(),
        skipped: summary.skipped.clone().into_iter().collect(),
    };
    let manifest_path = args.out.join("sim.json");
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| CliError::Failed(e.to_string()))?;
    std::fs::write(&manifest_path, text + "\n").map_err(io_error(&manifest_path))?;
    let seconds = started.elapsed().as_secs_f64();
    let simulating = estate_ready.elapsed().as_secs_f64();
    say!(
        "{} people at {} sites, {} days (seed {}): {} events, {} labelled attacks, in {:.1} s ({:.0} events/s; the estate {:.1} s, the days {:.1} s at {:.0} events/s)",
        people,
        twin.sites.len(),
        args.days,
        args.seed,
        summary.events,
        summary.scenarios.len(),
        seconds,
        summary.events as f64 / seconds.max(1e-9),
        seconds - simulating,
        simulating,
        summary.events as f64 / simulating.max(1e-9)
    );
    for (kind, count) in &summary.skipped {
        say!("  skipped {count} x {kind}: no victim whose day fits");
    }
    say!("estate: {}", estate_dir.display());
    say!("events: {}", events_dir.display());
    say!("truth:  {}", truth_path.display());
    say!(
        "replay: seam replay --estate {} --out {} {}",
        estate_dir.display(),
        args.out.join("findings.ndjson").display(),
        replay_inputs.join(" ")
    );
    Ok(ExitCode::SUCCESS)
}

fn read_estate_files(dir: &Path) -> Result<Vec<EstateFile>, CliError> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_error(dir))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok(EstateFile { path: name, text })
        })
        .collect()
}

/// Reads a JSON-lines file of `T`, with the line number in any error.
fn read_lines<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, CliError> {
    let file = std::fs::File::open(path).map_err(io_error(path))?;
    let mut out = Vec::new();
    for (number, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io_error(path))?;
        if line.trim().is_empty() {
            continue;
        }
        let value = serde_json::from_str(&line).map_err(|error| {
            CliError::Failed(format!("{}:{}: {error}", path.display(), number + 1))
        })?;
        out.push(value);
    }
    Ok(out)
}

/// The simulator's labelled benign look-alikes, beside `truth.jsonl`.
const LOOKALIKES_FILE: &str = "lookalikes.jsonl";

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The simulation's truth.jsonl (sim.json beside it gives the person-days).
    #[arg(long)]
    pub truth: PathBuf,
    /// Findings as NDJSON, as `seam replay --out` writes them.
    #[arg(long)]
    pub findings: PathBuf,
    /// Person-days of benign traffic (default: from sim.json beside the truth).
    #[arg(long)]
    pub person_days: Option<u64>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write an HTML report with plots.
    #[arg(long)]
    pub html: Option<PathBuf>,
}

pub fn eval(args: &EvalArgs) -> Result<ExitCode, CliError> {
    let scenarios: Vec<Scenario> = read_lines(&args.truth)?;
    let findings: Vec<Finding> = read_lines(&args.findings)?;
    let person_days = match args.person_days {
        Some(days) => days,
        None => {
            let manifest_path = args
                .truth
                .parent()
                .unwrap_or(Path::new("."))
                .join("sim.json");
            let text = std::fs::read_to_string(&manifest_path).map_err(|source| {
                CliError::Failed(format!(
                    "cannot read {} for the number of person-days ({source}); pass --person-days",
                    manifest_path.display()
                ))
            })?;
            let manifest: Manifest = serde_json::from_str(&text).map_err(|error| {
                CliError::Failed(format!("{}: {error}", manifest_path.display()))
            })?;
            manifest.person_days
        }
    };
    let mut report = seam_twin::eval::evaluate(&scenarios, &findings, person_days);
    // Benign look-alikes, labelled by the simulator beside its truth.
    let lookalikes_path = args
        .truth
        .parent()
        .unwrap_or(Path::new("."))
        .join(LOOKALIKES_FILE);
    if lookalikes_path.is_file() {
        let lookalikes: Vec<Scenario> = read_lines(&lookalikes_path)?;
        report.lookalikes =
            seam_twin::eval::evaluate_lookalikes(&lookalikes, &scenarios, &findings);
    }
    if args.json {
        let text = serde_json::to_string(&report).map_err(|e| CliError::Failed(e.to_string()))?;
        say!("{text}");
    } else {
        say_inline!("{}", report.table());
    }
    if let Some(path) = &args.html {
        std::fs::write(path, seam_twin::report::html(&report)).map_err(io_error(path))?;
        if !args.json {
            say!("report: {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What `seam twin paths` is asked for.
#[derive(Debug)]
pub struct PathsArgs {
    pub estate: Option<PathBuf>,
    pub rules: Option<PathBuf>,
    pub from: String,
    pub to: String,
    pub with: String,
    pub at: Option<String>,
    pub limit: usize,
    pub svg: Option<PathBuf>,
    pub json: bool,
}

/// A Monday night at the example estate: after hours everywhere.
const DEFAULT_TABLETOP_TIME: &str = "2026-03-02T21:00:00Z";

/// Runs events through a fresh engine and returns its findings.
fn run_engine(
    estate: &std::sync::Arc<Estate>,
    rules: &std::sync::Arc<seam_engine::CompiledRules>,
    events: Vec<seam_model::Event>,
) -> Vec<Finding> {
    let mut engine = seam_engine::Engine::new(
        std::sync::Arc::clone(estate),
        std::sync::Arc::clone(rules),
        seam_engine::EngineConfig::default(),
    );
    let mut out = seam_engine::Output::default();
    for event in events {
        engine.push(event, &mut out);
    }
    engine.flush(&mut out);
    out.findings
}

pub fn paths(args: &PathsArgs) -> Result<ExitCode, CliError> {
    let estate = crate::load::estate(args.estate.as_deref())?;
    let rules = crate::load::rules(args.rules.as_deref())?;
    let at_text = args.at.as_deref().unwrap_or(DEFAULT_TABLETOP_TIME);
    let at = seam_model::Ts::parse(at_text).map_err(|e| CliError::Failed(e.to_string()))?;
    let credentials = seam_twin::paths::Credentials::parse(&estate, &args.with, at)
        .map_err(|e| CliError::Failed(format!("--with: {e}")))?;
    let graph = seam_twin::paths::Graph::new(&estate, credentials, at);
    let unknown = |what: &str, id: &str| {
        CliError::Failed(format!(
            "{what} `{id}` is not `outside` or a zone, asset or network of the estate"
        ))
    };
    let from = graph
        .node(&args.from)
        .ok_or_else(|| unknown("--from", &args.from))?;
    let to = graph
        .node(&args.to)
        .ok_or_else(|| unknown("--to", &args.to))?;
    let found = graph.paths(from, to, args.limit.max(1));
    let mut reports = Vec::new();
    let mut text = String::new();
    for (number, path) in found.iter().enumerate() {
        let groups = graph.events(path, at);
        let findings = run_engine(&estate, &rules, groups.iter().flatten().cloned().collect());
        let mut steps = Vec::new();
        text.push_str(&format!(
            "path {} ({} steps)\n",
            number + 1,
            path.steps.len()
        ));
        for (step, events) in path.steps.iter().zip(&groups) {
            let mut seen: Vec<String> = findings
                .iter()
                .filter(|f| {
                    f.finding_info
                        .related_events
                        .iter()
                        .any(|r| events.iter().any(|e| e.uid == r.uid))
                })
                .map(|f| f.finding_info.analytic.uid.clone())
                .collect();
            seen.dedup();
            let verdict = if seen.is_empty() {
                "BLIND SPOT: no rule sees this".to_string()
            } else {
                format!("seen by {}", seen.join(", "))
            };
            text.push_str(&format!("  - {:<60} {verdict}\n", step.text));
            steps.push(serde_json::json!({"step": step, "seen_by": seen}));
        }
        reports.push(serde_json::json!({"steps": steps}));
    }
    if found.is_empty() {
        text.push_str(&format!("no path from {} to {}\n", args.from, args.to));
    }
    if args.json {
        let value =
            serde_json::json!({"from": args.from, "to": args.to, "at": at, "paths": reports});
        say!("{value}");
    } else {
        say_inline!("{text}");
    }
    if let Some(path) = &args.svg {
        let picture = seam_twin::picture::svg(&estate, found.first());
        std::fs::write(path, picture).map_err(io_error(path))?;
        if !args.json {
            say!("picture: {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a scenario file: JSON, or YAML through the rule language's YAML reader.
fn read_scenario(path: &Path) -> Result<serde_json::Value, CliError> {
    let text = std::fs::read_to_string(path).map_err(io_error(path))?;
    if text.len() > 4 << 20 {
        return Err(CliError::Failed(format!(
            "{}: larger than 4 MiB",
            path.display()
        )));
    }
    let is_json = path.extension().is_some_and(|ext| ext == "json");
    if is_json {
        return serde_json::from_str(&text)
            .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())));
    }
    seam_rules::yaml_to_json(&text).map_err(|e| CliError::Failed(format!("{}:{e}", path.display())))
}

pub fn exercise(
    scenario: &Path,
    estate: Option<&Path>,
    rules: Option<&Path>,
    json: bool,
) -> Result<ExitCode, CliError> {
    let value = read_scenario(scenario)?;
    let parsed = seam_twin::exercise::Scenario::from_value(&value)
        .map_err(|e| CliError::Failed(format!("{}: {e}", scenario.display())))?;
    let estate = crate::load::estate(estate)?;
    let rules = crate::load::rules(rules)?;
    let findings = run_engine(&estate, &rules, parsed.events());
    let report = seam_twin::exercise::report(&parsed, &findings);
    if json {
        let text = serde_json::to_string(&report).map_err(|e| CliError::Failed(e.to_string()))?;
        say!("{text}");
    } else {
        say_inline!("{}", report.table());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn picture(estate: Option<&Path>, out: &Path) -> Result<ExitCode, CliError> {
    let estate = crate::load::estate(estate)?;
    std::fs::write(out, seam_twin::picture::svg(&estate, None)).map_err(io_error(out))?;
    say!("picture: {}", out.display());
    Ok(ExitCode::SUCCESS)
}
