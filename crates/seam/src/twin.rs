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
#[derive(Debug)]
pub struct SimArgs {
    pub people: usize,
    pub sites: usize,
    pub days: u32,
    pub seed: u64,
    pub start: Option<String>,
    pub estate: Option<PathBuf>,
    pub attacks: Option<u32>,
    pub out: PathBuf,
    pub threads: Option<usize>,
    pub quiet: bool,
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
    let summary = seam_twin::simulate(&twin, &spec, threads, |file| {
        let date = seam_twin::calendar::utc_date(file.day_start_ms);
        let path = events_dir.join(format!("{date}.ndjson"));
        let handle = std::fs::File::create(&path).map_err(io_error(&path))?;
        let mut writer = BufWriter::with_capacity(1 << 20, handle);
        for line in &file.lines {
            writer.write_all(line.as_bytes()).map_err(io_error(&path))?;
            writer.write_all(b"\n").map_err(io_error(&path))?;
        }
        writer.flush().map_err(io_error(&path))
    })?;
    let truth_path = args.out.join("truth.jsonl");
    let mut truth =
        BufWriter::new(std::fs::File::create(&truth_path).map_err(io_error(&truth_path))?);
    for scenario in &summary.scenarios {
        let line = serde_json::to_string(scenario).map_err(|e| CliError::Failed(e.to_string()))?;
        writeln!(truth, "{line}").map_err(io_error(&truth_path))?;
    }
    truth.flush().map_err(io_error(&truth_path))?;
    let manifest = Manifest {
        seed: args.seed,
        people,
        sites: twin.sites.len(),
        days: args.days,
        start: seam_model::Ts(start_ms),
        person_days: summary.person_days,
        events: summary.events,
        scenarios: summary.scenarios.len(),
        skipped: summary.skipped.clone().into_iter().collect(),
    };
    let manifest_path = args.out.join("sim.json");
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| CliError::Failed(e.to_string()))?;
    std::fs::write(&manifest_path, text + "\n").map_err(io_error(&manifest_path))?;
    let seconds = started.elapsed().as_secs_f64();
    if !args.quiet {
        println!(
            "{} people at {} sites, {} days (seed {}): {} events, {} labelled attacks, in {:.1} s ({:.0} events/s)",
            people,
            twin.sites.len(),
            args.days,
            args.seed,
            summary.events,
            summary.scenarios.len(),
            seconds,
            summary.events as f64 / seconds.max(1e-9)
        );
        for (kind, count) in &summary.skipped {
            println!("  skipped {count} x {kind}: no victim whose day fits");
        }
        println!("estate: {}", estate_dir.display());
        println!("events: {}", events_dir.display());
        println!("truth:  {}", truth_path.display());
        println!(
            "replay: seam replay --estate {} --out {} {}/*.ndjson",
            estate_dir.display(),
            args.out.join("findings.ndjson").display(),
            events_dir.display()
        );
    }
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

#[derive(Debug)]
pub struct EvalArgs {
    pub truth: PathBuf,
    pub findings: PathBuf,
    pub person_days: Option<u64>,
    pub json: bool,
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
    let report = seam_twin::eval::evaluate(&scenarios, &findings, person_days);
    if args.json {
        let text = serde_json::to_string(&report).map_err(|e| CliError::Failed(e.to_string()))?;
        println!("{text}");
    } else {
        print!("{}", report.table());
    }
    if let Some(path) = &args.html {
        std::fs::write(path, seam_twin::report::html(&report)).map_err(io_error(path))?;
        if !args.json {
            println!("report: {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
