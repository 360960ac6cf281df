//! Runs the same Sigma rules over the same events through Seam's rule engine (`seam-rules`) and
//! rsigma (`rsigma-parser` + `rsigma-eval`), and reports rules loaded, matches per rule,
//! agreement on which rules matched which event, and single-thread throughput.

mod input;
mod rsigma;
mod seam;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use serde_json::{Value, json};

use crate::input::{BaseEvent, RuleFile, Stream};

/// Rule directories used when none is given: the fixtures of `seam-rules`.
const DEFAULT_RULE_DIRS: &[&str] = &[
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/seam-rules/tests/fixtures/okta"
    ),
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/seam-rules/tests/fixtures/azure"
    ),
];

const DEFAULT_EVENTS_TOTAL: usize = 1_000_000;
/// Timed runs per engine, interleaved.
const ROUNDS: usize = 2;
/// Example events listed per disagreement group.
const EXAMPLES: usize = 3;

const USAGE: &str = "usage: seam-rsigma-compare [--rules DIR]... [--events FILE]... \
[--events-total N] [--dispatch FIELD]... [--no-auto-dispatch | --no-dispatch] [--json]

  --rules DIR        Sigma rule directory (repeatable; *.yml/*.yaml, recursive).
                     Default: seam-rules' okta and azure fixtures.
  --events FILE      JSON array or JSON Lines of events, or of {\"name\", \"event\"} entries
                     (repeatable). Default: events.json in each rule directory that has one.
  --events-total N   length of the generated stream (default 1000000)
  --dispatch FIELD   let seam-rules index rules by this field's literal values, read
                     before the fields it chooses itself (repeatable)
  --no-auto-dispatch seam-rules dispatches only on the --dispatch fields (none: every
                     rule is tried on every event)
  --no-dispatch      seam-rules tries every rule on every event
                     (default: seam-rules chooses dispatch fields from the rules;
                     rsigma always uses its own candidate index)
  --json             print one JSON object instead of tables";

/// Which documents a run loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Detection rules only (correlation documents left out).
    Detection,
    /// Detection and correlation rules.
    Correlation,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Detection => "detection",
            Mode::Correlation => "correlation",
        }
    }
}

/// A rule an engine loaded.
#[derive(Debug, Clone)]
pub struct LoadedRule {
    pub id: String,
    pub title: String,
    pub path: String,
    pub correlation: bool,
}

/// Something an engine refused to load, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Failure {
    pub path: String,
    pub rule: Option<String>,
    pub reason: String,
}

#[derive(Debug)]
struct Args {
    rule_dirs: Vec<PathBuf>,
    event_files: Vec<PathBuf>,
    events_total: usize,
    json: bool,
    dispatch: Vec<String>,
    no_auto_dispatch: bool,
    no_dispatch: bool,
}

impl Args {
    /// How Seam's dispatch index gets its fields.
    fn seam_dispatch(&self) -> seam::Dispatch {
        if self.no_dispatch {
            return seam::Dispatch::default();
        }
        seam::Dispatch {
            named: self.dispatch.clone(),
            automatic: !self.no_auto_dispatch,
        }
    }

    /// The dispatch setting in words.
    fn seam_dispatch_mode(&self) -> &'static str {
        let dispatch = self.seam_dispatch();
        match (dispatch.automatic, dispatch.named.is_empty()) {
            (true, true) => "automatic",
            (true, false) => "named, then automatic",
            (false, false) => "named only",
            (false, true) => "none (every rule on every event)",
        }
    }
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args {
        rule_dirs: Vec::new(),
        event_files: Vec::new(),
        events_total: DEFAULT_EVENTS_TOTAL,
        json: false,
        dispatch: Vec::new(),
        no_auto_dispatch: false,
        no_dispatch: false,
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        let mut value = |flag: &str| {
            words
                .next()
                .ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"))
        };
        match word.as_str() {
            "--rules" => args.rule_dirs.push(PathBuf::from(value("--rules")?)),
            "--events" => args.event_files.push(PathBuf::from(value("--events")?)),
            "--events-total" => {
                let text = value("--events-total")?;
                args.events_total = text
                    .replace('_', "")
                    .parse()
                    .map_err(|error| format!("--events-total {text}: {error}"))?;
            }
            "--json" => args.json = true,
            "--dispatch" => args.dispatch.push(value("--dispatch")?),
            "--no-auto-dispatch" => args.no_auto_dispatch = true,
            "--no-dispatch" => args.no_dispatch = true,
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    if args.no_dispatch && !args.dispatch.is_empty() {
        return Err(format!(
            "--no-dispatch and --dispatch exclude each other\n\n{USAGE}"
        ));
    }
    if args.rule_dirs.is_empty() {
        args.rule_dirs = DEFAULT_RULE_DIRS
            .iter()
            .map(|dir| std::fs::canonicalize(dir).unwrap_or_else(|_| PathBuf::from(dir)))
            .collect();
    }
    if args.event_files.is_empty() {
        args.event_files = args
            .rule_dirs
            .iter()
            .map(|dir| dir.join("events.json"))
            .filter(|path| path.is_file())
            .collect();
        if args.event_files.is_empty() {
            return Err(format!(
                "no --events given and no events.json in the rule directories\n\n{USAGE}"
            ));
        }
    }
    Ok(Some(args))
}

fn main() -> ExitCode {
    match parse_args() {
        Ok(None) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Some(args)) => match run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error}");
                ExitCode::FAILURE
            }
        },
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

/// Rule ids as small integers, shared by both engines.
#[derive(Debug, Default)]
struct Ids {
    index: HashMap<String, u32>,
    names: Vec<String>,
}

impl Ids {
    fn intern(&mut self, id: &str) -> u32 {
        if let Some(&known) = self.index.get(id) {
            return known;
        }
        let next = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.index.insert(id.to_owned(), next);
        self.names.push(id.to_owned());
        next
    }

    fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("?", String::as_str)
    }
}

/// One timed pass.
#[derive(Debug)]
struct Timing {
    engine: &'static str,
    round: usize,
    seconds: f64,
    events_per_sec: f64,
    matches: u64,
}

/// Per-event match sets of one engine (rule ids, sorted, deduplicated) and per-rule counts.
#[derive(Debug)]
struct Collected {
    per_event: Vec<Vec<u32>>,
    per_rule: BTreeMap<u32, u64>,
}

impl Collected {
    fn new(events: usize) -> Self {
        Collected {
            per_event: vec![Vec::new(); events],
            per_rule: BTreeMap::new(),
        }
    }

    fn add(&mut self, event: usize, rule: u32) {
        if let Some(set) = self.per_event.get_mut(event) {
            set.push(rule);
        }
        *self.per_rule.entry(rule).or_default() += 1;
    }

    fn finish(&mut self) {
        for set in &mut self.per_event {
            set.sort_unstable();
            set.dedup();
        }
    }
}

/// A group of disagreements: one rule, one base event, one engine matching alone.
#[derive(Debug)]
struct Disagreement {
    rule: String,
    title: String,
    matched_by: &'static str,
    base_event: String,
    stream_events: u64,
    examples: Vec<usize>,
}

#[derive(Debug)]
struct RunReport {
    mode: Mode,
    /// The fields seam-rules dispatched on, in the order it reads them.
    seam_dispatch_fields: Vec<String>,
    timings: Vec<Timing>,
    /// (id, title, seam count or None if not loaded, rsigma count or None).
    per_rule: Vec<(String, String, Option<u64>, Option<u64>)>,
    rules_compared: usize,
    disagreeing_events: usize,
    disagreements: Vec<Disagreement>,
}

#[derive(Debug)]
struct EngineLoad {
    detection_rules: usize,
    correlation_rules: usize,
    failures: Vec<Failure>,
}

fn run(args: &Args) -> Result<(), String> {
    let mut files: Vec<RuleFile> = Vec::new();
    for dir in &args.rule_dirs {
        files.extend(input::rule_files(dir)?);
    }
    let mut base: Vec<BaseEvent> = Vec::new();
    for path in &args.event_files {
        base.extend(input::event_file(path)?);
    }
    if base.is_empty() {
        return Err("the event files hold no events".to_owned());
    }
    let stream = input::build_stream(&base, args.events_total);

    let (seam_detection, seam_detection_rules, seam_detection_failures) =
        seam::load(&files, Mode::Detection, &args.seam_dispatch())?;
    let (seam_full, seam_full_rules, seam_full_failures) =
        seam::load(&files, Mode::Correlation, &args.seam_dispatch())?;
    let (rsigma_rules, rsigma_loaded, rsigma_failures) = rsigma::load(&files);

    let mut seam_failures: BTreeSet<Failure> = seam_detection_failures.into_iter().collect();
    seam_failures.extend(seam_full_failures);
    let seam_load = EngineLoad {
        detection_rules: seam_detection_rules.len(),
        correlation_rules: seam_full_rules
            .iter()
            .filter(|rule| rule.correlation)
            .count(),
        failures: seam_failures.into_iter().collect(),
    };
    let rsigma_load = EngineLoad {
        detection_rules: rsigma_loaded
            .iter()
            .filter(|rule| !rule.correlation)
            .count(),
        correlation_rules: rsigma_loaded.iter().filter(|rule| rule.correlation).count(),
        failures: rsigma_failures,
    };

    let mut titles: BTreeMap<String, String> = BTreeMap::new();
    for rule in seam_full_rules
        .iter()
        .chain(&seam_detection_rules)
        .chain(&rsigma_loaded)
    {
        titles
            .entry(rule.id.clone())
            .or_insert_with(|| rule.title.clone());
    }

    let mut ids = Ids::default();
    let mut runs = Vec::new();

    // Detection rules only.
    {
        let seam_ids: Vec<u32> = seam_detection
            .ids()
            .iter()
            .map(|id| ids.intern(id))
            .collect();
        let rsigma_ids: BTreeSet<&str> = rsigma_loaded
            .iter()
            .filter(|rule| !rule.correlation)
            .map(|rule| rule.id.as_str())
            .collect();
        let mut timings = Vec::new();
        for round in 1..=ROUNDS {
            timings.push(time_seam(&seam_detection, &stream, false, round));
            timings.push(time_rsigma(&stream, round, |sink| {
                rsigma_rules.run_detection(&stream, sink);
                Ok(())
            })?);
        }
        let mut seam_found = Collected::new(stream.events.len());
        seam_detection.run(&stream, false, |event, rule| {
            if let Some(&id) = seam_ids.get(rule) {
                seam_found.add(event, id);
            }
        });
        let mut rsigma_found = Collected::new(stream.events.len());
        rsigma_rules.run_detection(&stream, |event, result| {
            let id = ids.intern(&rsigma::result_identity(result));
            rsigma_found.add(event, id);
        });
        let seam_set: BTreeSet<&str> = seam_detection_rules
            .iter()
            .map(|rule| rule.id.as_str())
            .collect();
        let mut run = compare(
            Mode::Detection,
            timings,
            (seam_set, seam_found),
            (rsigma_ids, rsigma_found),
            &mut ids,
            &titles,
            &base,
        );
        run.seam_dispatch_fields = seam_detection.dispatch_fields();
        runs.push(run);
    }

    // Detection and correlation rules, when both engines loaded a correlation.
    if seam_load.correlation_rules > 0 && rsigma_rules.has_correlations() {
        let seam_ids: Vec<u32> = seam_full.ids().iter().map(|id| ids.intern(id)).collect();
        let mut timings = Vec::new();
        for round in 1..=ROUNDS {
            timings.push(time_seam(&seam_full, &stream, true, round));
            let mut engine = rsigma_rules.correlation_engine()?;
            timings.push(time_rsigma(&stream, round, |sink| {
                rsigma::run_correlation(&mut engine, &stream, sink);
                Ok(())
            })?);
        }
        let mut seam_found = Collected::new(stream.events.len());
        seam_full.run(&stream, true, |event, rule| {
            if let Some(&id) = seam_ids.get(rule) {
                seam_found.add(event, id);
            }
        });
        let mut rsigma_found = Collected::new(stream.events.len());
        let mut engine = rsigma_rules.correlation_engine()?;
        rsigma::run_correlation(&mut engine, &stream, |event, result| {
            let id = ids.intern(&rsigma::result_identity(result));
            rsigma_found.add(event, id);
        });
        let seam_set: BTreeSet<&str> = seam_full_rules
            .iter()
            .map(|rule| rule.id.as_str())
            .collect();
        let rsigma_set: BTreeSet<&str> =
            rsigma_loaded.iter().map(|rule| rule.id.as_str()).collect();
        let mut run = compare(
            Mode::Correlation,
            timings,
            (seam_set, seam_found),
            (rsigma_set, rsigma_found),
            &mut ids,
            &titles,
            &base,
        );
        run.seam_dispatch_fields = seam_full.dispatch_fields();
        runs.push(run);
    }

    let report = Report {
        args,
        files: &files,
        base_events: base.len(),
        stream_events: stream.events.len(),
        seam: &seam_load,
        rsigma: &rsigma_load,
        runs: &runs,
    };
    if args.json {
        let text = serde_json::to_string_pretty(&report.to_json())
            .map_err(|error| format!("writing JSON: {error}"))?;
        println!("{text}");
    } else {
        report.print();
    }
    Ok(())
}

fn time_seam(
    engine: &seam::SeamEngine,
    stream: &Stream,
    correlations: bool,
    round: usize,
) -> Timing {
    let mut matches = 0_u64;
    let start = Instant::now();
    engine.run(black_box(stream), correlations, |_, _| matches += 1);
    let seconds = start.elapsed().as_secs_f64();
    timing("seam-rules", round, seconds, black_box(matches), stream)
}

fn time_rsigma(
    stream: &Stream,
    round: usize,
    body: impl FnOnce(&mut dyn FnMut(usize, &rsigma_eval::EvaluationResult)) -> Result<(), String>,
) -> Result<Timing, String> {
    let mut matches = 0_u64;
    let mut sink = |_: usize, _: &rsigma_eval::EvaluationResult| matches += 1;
    let start = Instant::now();
    body(&mut sink)?;
    let seconds = start.elapsed().as_secs_f64();
    Ok(timing("rsigma", round, seconds, black_box(matches), stream))
}

fn timing(
    engine: &'static str,
    round: usize,
    seconds: f64,
    matches: u64,
    stream: &Stream,
) -> Timing {
    let events = stream.events.len() as f64;
    Timing {
        engine,
        round,
        seconds,
        events_per_sec: if seconds > 0.0 { events / seconds } else { 0.0 },
        matches,
    }
}

/// Per-rule counts and the events where the engines' match sets differ, over the rules both
/// engines loaded.
fn compare(
    mode: Mode,
    timings: Vec<Timing>,
    (seam_rules, mut seam): (BTreeSet<&str>, Collected),
    (rsigma_rules, mut rsigma): (BTreeSet<&str>, Collected),
    ids: &mut Ids,
    titles: &BTreeMap<String, String>,
    base: &[BaseEvent],
) -> RunReport {
    seam.finish();
    rsigma.finish();
    let common: BTreeSet<u32> = seam_rules
        .intersection(&rsigma_rules)
        .map(|id| ids.intern(id))
        .collect();
    let title = |id: &str| titles.get(id).cloned().unwrap_or_default();

    let mut per_rule = Vec::new();
    for id in seam_rules.union(&rsigma_rules) {
        let index = ids.intern(id);
        let count = |loaded: &BTreeSet<&str>, found: &Collected| {
            loaded
                .contains(id)
                .then(|| found.per_rule.get(&index).copied().unwrap_or(0))
        };
        per_rule.push((
            (*id).to_owned(),
            title(id),
            count(&seam_rules, &seam),
            count(&rsigma_rules, &rsigma),
        ));
    }

    let mut groups: BTreeMap<(u32, &'static str, usize), (u64, Vec<usize>)> = BTreeMap::new();
    let mut disagreeing_events = 0;
    for (event, (ours, theirs)) in seam.per_event.iter().zip(&rsigma.per_event).enumerate() {
        let ours: BTreeSet<u32> = ours
            .iter()
            .copied()
            .filter(|id| common.contains(id))
            .collect();
        let theirs: BTreeSet<u32> = theirs
            .iter()
            .copied()
            .filter(|id| common.contains(id))
            .collect();
        if ours == theirs {
            continue;
        }
        disagreeing_events += 1;
        let base_index = event % base.len().max(1);
        let sides = [
            (ours.difference(&theirs), "seam-rules only"),
            (theirs.difference(&ours), "rsigma only"),
        ];
        for (difference, side) in sides {
            for &rule in difference {
                let entry = groups.entry((rule, side, base_index)).or_default();
                entry.0 += 1;
                if entry.1.len() < EXAMPLES {
                    entry.1.push(event);
                }
            }
        }
    }
    let disagreements = groups
        .into_iter()
        .map(
            |((rule, side, base_index), (count, examples))| Disagreement {
                rule: ids.name(rule).to_owned(),
                title: title(ids.name(rule)),
                matched_by: side,
                base_event: base
                    .get(base_index)
                    .map(|event| event.label.clone())
                    .unwrap_or_default(),
                stream_events: count,
                examples,
            },
        )
        .collect();
    RunReport {
        mode,
        seam_dispatch_fields: Vec::new(),
        timings,
        per_rule,
        rules_compared: common.len(),
        disagreeing_events,
        disagreements,
    }
}

struct Report<'a> {
    args: &'a Args,
    files: &'a [RuleFile],
    base_events: usize,
    stream_events: usize,
    seam: &'a EngineLoad,
    rsigma: &'a EngineLoad,
    runs: &'a [RunReport],
}

fn load_json(load: &EngineLoad) -> Value {
    json!({
        "detection_rules": load.detection_rules,
        "correlation_rules": load.correlation_rules,
        "failures": load.failures.iter().map(|failure| json!({
            "path": failure.path,
            "rule": failure.rule,
            "reason": failure.reason,
        })).collect::<Vec<_>>(),
    })
}

impl Report<'_> {
    fn to_json(&self) -> Value {
        json!({
            "rule_dirs": self.args.rule_dirs.iter().map(|dir| dir.display().to_string()).collect::<Vec<_>>(),
            "event_files": self.args.event_files.iter().map(|file| file.display().to_string()).collect::<Vec<_>>(),
            "rule_files": self.files.len(),
            "seam_dispatch": {
                "mode": self.args.seam_dispatch_mode(),
                "named": self.args.seam_dispatch().named,
            },
            "base_events": self.base_events,
            "stream_events": self.stream_events,
            "engines": {
                "seam-rules": load_json(self.seam),
                "rsigma": load_json(self.rsigma),
            },
            "runs": self.runs.iter().map(|run| json!({
                "mode": run.mode.name(),
                "seam_dispatch_fields": run.seam_dispatch_fields,
                "throughput": run.timings.iter().map(|timing| json!({
                    "engine": timing.engine,
                    "round": timing.round,
                    "seconds": timing.seconds,
                    "events_per_sec": timing.events_per_sec.round(),
                    "matches": timing.matches,
                })).collect::<Vec<_>>(),
                "matches_per_rule": run.per_rule.iter().map(|(id, title, ours, theirs)| json!({
                    "id": id,
                    "title": title,
                    "seam-rules": ours,
                    "rsigma": theirs,
                })).collect::<Vec<_>>(),
                "agreement": {
                    "rules_compared": run.rules_compared,
                    "events_compared": self.stream_events,
                    "disagreeing_events": run.disagreeing_events,
                    "agree": run.disagreeing_events == 0,
                    "disagreements": run.disagreements.iter().map(|found| json!({
                        "rule": found.rule,
                        "title": found.title,
                        "matched_by": found.matched_by,
                        "base_event": found.base_event,
                        "stream_events": found.stream_events,
                        "example_stream_indices": found.examples,
                    })).collect::<Vec<_>>(),
                },
            })).collect::<Vec<_>>(),
        })
    }

    fn print(&self) {
        println!("Sigma rules: seam-rules vs rsigma");
        for dir in &self.args.rule_dirs {
            println!("  rules   {}", dir.display());
        }
        for file in &self.args.event_files {
            println!("  events  {}", file.display());
        }
        let named = self.args.seam_dispatch().named;
        if named.is_empty() {
            println!("  seam-rules dispatch: {}", self.args.seam_dispatch_mode());
        } else {
            println!(
                "  seam-rules dispatch: {} ({})",
                self.args.seam_dispatch_mode(),
                named.join(", ")
            );
        }
        println!(
            "  {} rule files, {} base events, stream of {} events (single thread)",
            self.files.len(),
            self.base_events,
            self.stream_events
        );
        println!();
        println!("Rules loaded");
        println!(
            "  {:<12} {:>10} {:>12} {:>9}",
            "engine", "detection", "correlation", "failures"
        );
        for (name, load) in [("seam-rules", self.seam), ("rsigma", self.rsigma)] {
            println!(
                "  {:<12} {:>10} {:>12} {:>9}",
                name,
                load.detection_rules,
                load.correlation_rules,
                load.failures.len()
            );
        }
        for (name, load) in [("seam-rules", self.seam), ("rsigma", self.rsigma)] {
            for failure in &load.failures {
                let rule = failure
                    .rule
                    .as_ref()
                    .map(|rule| format!(" [{rule}]"))
                    .unwrap_or_default();
                println!(
                    "  {name} failed: {}{rule}: {}",
                    failure.path, failure.reason
                );
            }
        }
        for run in self.runs {
            println!();
            println!("== {} run", run.mode.name());
            if run.seam_dispatch_fields.is_empty() {
                println!("  seam-rules dispatch fields: none");
            } else {
                println!(
                    "  seam-rules dispatch fields: {}",
                    run.seam_dispatch_fields.join(", ")
                );
            }
            println!(
                "  {:<12} {:>5} {:>10} {:>14} {:>10}",
                "engine", "round", "seconds", "events/s", "matches"
            );
            for timing in &run.timings {
                println!(
                    "  {:<12} {:>5} {:>10.3} {:>14.0} {:>10}",
                    timing.engine,
                    timing.round,
                    timing.seconds,
                    timing.events_per_sec,
                    timing.matches
                );
            }
            println!();
            println!(
                "  {:<38} {:>11} {:>9}  title",
                "rule id", "seam-rules", "rsigma"
            );
            for (id, title, ours, theirs) in &run.per_rule {
                let shown = |count: &Option<u64>| {
                    count.map_or_else(|| "not loaded".to_owned(), |count| count.to_string())
                };
                println!(
                    "  {:<38} {:>11} {:>9}  {}",
                    id,
                    shown(ours),
                    shown(theirs),
                    title
                );
            }
            println!();
            if run.disagreeing_events == 0 {
                println!(
                    "  agreement: yes, on all {} events over the {} rules both engines loaded",
                    self.stream_events, run.rules_compared
                );
            } else {
                println!(
                    "  agreement: NO, {} of {} events differ over the {} rules both engines loaded",
                    run.disagreeing_events, self.stream_events, run.rules_compared
                );
                for found in &run.disagreements {
                    println!(
                        "    {} only: {} ({}) on base event {} ({} stream events, e.g. #{:?})",
                        found.matched_by.trim_end_matches(" only"),
                        found.rule,
                        found.title,
                        found.base_event,
                        found.stream_events,
                        found.examples
                    );
                }
            }
        }
    }
}
