//! `seam demo`: the scripted day at the example estate, through every default rule.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use seam_model::Finding;

use crate::embedded;
use crate::error::CliError;
use crate::load;
use crate::pipeline;

/// Marks a data directory as the demo's, so that a rerun may empty it and nothing else.
const MARKER: &str = ".seam-demo";

/// How the findings compare with the scripted attacks.
#[derive(Debug, Default)]
pub struct DemoReport {
    /// Findings per rule id, for rules that produce findings.
    pub per_rule: BTreeMap<String, usize>,
    /// Scripted attacks whose rule did not fire on them.
    pub missed: Vec<String>,
    /// Findings that belong to no scripted attack: (rule id, explanation).
    pub unexpected: Vec<(String, String)>,
}

/// Compares findings with `expected.json` (rule id -> the uids of the attack's events).
pub fn evaluate(
    findings: &[Finding],
    expected_json: &str,
    rule_ids: &[String],
) -> Result<DemoReport, CliError> {
    let expected: BTreeMap<String, BTreeSet<String>> = serde_json::from_str(expected_json)
        .map_err(|e| CliError::Failed(format!("examples/demo/expected.json: {e}")))?;
    let mut report = DemoReport::default();
    for rule in rule_ids {
        report.per_rule.insert(rule.clone(), 0);
    }
    let mut hit: BTreeSet<&str> = BTreeSet::new();
    for finding in findings {
        let rule = finding.rule_id();
        *report.per_rule.entry(rule.to_string()).or_default() += 1;
        let scripted = expected.get(rule).is_some_and(|uids| {
            finding
                .finding_info
                .related_events
                .iter()
                .any(|event| uids.contains(&event.uid))
        });
        if scripted {
            hit.insert(rule);
        } else {
            report
                .unexpected
                .push((rule.to_string(), finding.message.clone()));
        }
    }
    report.missed = expected
        .keys()
        .filter(|rule| !hit.contains(rule.as_str()))
        .cloned()
        .collect();
    Ok(report)
}

fn prepare(data_dir: &Path) -> Result<(), CliError> {
    let io = |source| CliError::Io {
        path: data_dir.display().to_string(),
        source,
    };
    if data_dir.exists() {
        let is_empty = std::fs::read_dir(data_dir).map_err(io)?.next().is_none();
        if !is_empty && !data_dir.join(MARKER).exists() {
            return Err(CliError::Failed(format!(
                "`{}` holds something other than an earlier demo; choose another --data-dir",
                data_dir.display()
            )));
        }
        std::fs::remove_dir_all(data_dir).map_err(io)?;
    }
    std::fs::create_dir_all(data_dir).map_err(io)?;
    std::fs::write(
        data_dir.join(MARKER),
        b"seam demo data; `seam demo` empties this folder\n",
    )
    .map_err(io)
}

pub fn run(data_dir: &Path, out: Option<&Path>) -> Result<ExitCode, CliError> {
    prepare(data_dir)?;
    let estate = load::estate(None)?;
    let rules = load::rules(None)?;
    let rule_ids: Vec<String> = rules
        .set
        .rules()
        .iter()
        .filter(|r| r.generates_findings)
        .map(|r| r.id.clone())
        .collect();
    let titles: BTreeMap<String, String> = rules
        .set
        .rules()
        .iter()
        .map(|r| (r.id.clone(), r.title.clone()))
        .collect();
    let options = pipeline::Options {
        estate,
        rules,
        store: Some(crate::stores::StoreLocation::Directory(
            data_dir.to_path_buf(),
        )),
        progress: false,
        config: seam_engine::EngineConfig::default(),
        batch: pipeline::DEFAULT_BATCH,
        merge: false,
    };
    let input = pipeline::Input::ndjson(
        "examples/demo/day.ndjson",
        Box::new(std::io::Cursor::new(embedded::DEMO_DAY.as_bytes())),
    );
    let mut findings = Vec::new();
    let summary = pipeline::run(vec![input], &options, &mut |finding| {
        findings.push(finding.clone());
        Ok(())
    })?;
    let report = evaluate(&findings, embedded::DEMO_EXPECTED, &rule_ids)?;

    let mut stdout = std::io::stdout().lock();
    let mut print = |line: String| writeln!(stdout, "{line}").map_err(CliError::Output);
    print("Seam demo: Monday 2026-03-02 at the example estate (Amsterdam headquarters, New York office)".into())?;
    print(String::new())?;
    print(format!(
        "{:<42} {:>8}  {}",
        "rule", "findings", "what it caught"
    ))?;
    print(format!("{:-<42} {:->8}  {:-<50}", "", "", ""))?;
    for (rule, count) in &report.per_rule {
        let title = titles.get(rule).map(String::as_str).unwrap_or("");
        print(format!("{rule:<42} {count:>8}  {title}"))?;
    }
    print(String::new())?;
    for finding in &findings {
        print(format!(
            "{}  {:<9} {}",
            finding.time_dt, finding.severity, finding.message
        ))?;
    }
    print(String::new())?;
    let fired = report.per_rule.values().filter(|count| **count > 0).count();
    print(format!(
        "{} events, {} findings; {fired} of {} rules fired; {} scripted attacks missed; {} findings outside the scripted attacks",
        summary.events,
        summary.findings,
        report.per_rule.len(),
        report.missed.len(),
        report.unexpected.len()
    ))?;
    for rule in &report.missed {
        print(format!("missed: {rule}"))?;
    }
    for (rule, message) in &report.unexpected {
        print(format!("unexpected: {rule}: {message}"))?;
    }
    print(format!(
        "stored in {}: events (events/), findings, dead letters, unresolved events and the engine snapshot (seam.db)",
        data_dir.display()
    ))?;
    if let Some(path) = out {
        let mut file =
            std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| CliError::Io {
                path: path.display().to_string(),
                source: e,
            })?);
        for finding in &findings {
            serde_json::to_writer(&mut file, finding).map_err(|e| CliError::Output(e.into()))?;
            file.write_all(b"\n").map_err(CliError::Output)?;
        }
        file.flush().map_err(CliError::Output)?;
        print(format!("findings written to {}", path.display()))?;
    }
    print(String::new())?;
    simulated_day(data_dir, &mut print)?;
    let clean =
        report.missed.is_empty() && report.unexpected.is_empty() && fired == report.per_rule.len();
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The size of the demo's simulated day.
const SIM_PEOPLE: usize = 500;
const SIM_SITES: usize = 2;
const SIM_SEED: u64 = 2026;

/// The second part of the demo: a simulated Monday at a generated estate of realistic size,
/// with one labelled attack of every kind, scored against its ground truth.
fn simulated_day(
    data_dir: &Path,
    print: &mut dyn FnMut(String) -> Result<(), CliError>,
) -> Result<(), CliError> {
    use seam_twin::world::{WorldSpec, generate};
    let started = std::time::Instant::now();
    let start_ms = seam_twin::calendar::DEFAULT_START_MS;
    let files = generate(&WorldSpec {
        people: SIM_PEOPLE,
        sites: SIM_SITES,
        days: 1,
        seed: SIM_SEED,
        start_ms,
    });
    let estate =
        seam_estate::Estate::from_files(&files).map_err(|errors| load::estate_errors(&errors))?;
    let twin = seam_twin::Twin::of(&estate);
    let spec = seam_twin::SimSpec {
        seed: SIM_SEED,
        days: 1,
        start_ms,
        attacks_per_kind: 1,
    };
    let mut ndjson = Vec::new();
    let summary = seam_twin::simulate(&twin, &spec, 2, |file| {
        ndjson.extend_from_slice(file.ndjson());
        Ok::<_, CliError>(())
    })?;
    let sim_dir = data_dir.join("simulated");
    let estate_dir = sim_dir.join("estate");
    std::fs::create_dir_all(&estate_dir).map_err(|e| CliError::Io {
        path: estate_dir.display().to_string(),
        source: e,
    })?;
    for file in &files {
        let path = estate_dir.join(&file.path);
        std::fs::write(&path, &file.text).map_err(|e| CliError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
    }
    let options = pipeline::Options {
        estate: std::sync::Arc::new(estate),
        rules: load::rules(None)?,
        store: Some(crate::stores::StoreLocation::Directory(sim_dir.clone())),
        progress: false,
        config: seam_engine::EngineConfig::default(),
        batch: pipeline::DEFAULT_BATCH,
        merge: false,
    };
    let input = pipeline::Input::ndjson("simulated day", Box::new(std::io::Cursor::new(ndjson)));
    let mut findings = Vec::new();
    let processed = pipeline::run(vec![input], &options, &mut |finding| {
        findings.push(finding.clone());
        Ok(())
    })?;
    let report = seam_twin::eval::evaluate(&summary.scenarios, &findings, summary.person_days);
    print(format!(
        "Simulated Monday: {} people at {} generated sites, {} events with {} labelled attacks (`seam sim`)",
        twin.people.len(),
        twin.sites.len(),
        processed.events,
        report.scenarios
    ))?;
    print(String::new())?;
    for line in report.table().lines() {
        print(line.to_string())?;
    }
    print(format!(
        "simulated and processed in {:.1} s; stored in {}",
        started.elapsed().as_secs_f64(),
        sim_dir.display()
    ))?;
    Ok(())
}
