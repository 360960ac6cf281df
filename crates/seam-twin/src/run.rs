//! Runs a simulation over all its days, on several threads, and hands the events back as one
//! time-ordered file per UTC day with the ground truth.
//!
//! Days are independent (every random stream is keyed by day and person), so they are built in
//! parallel; a person's local day spills into neighbouring UTC days, so a UTC day is handed out
//! only once every local day that can reach it is done.

use std::collections::BTreeMap;
use std::sync::mpsc;

use crate::calendar::DAY_MS;
use crate::day::{DayOutput, SimSpec, simulate_day};
use crate::truth::Scenario;
use crate::twin::Twin;

/// The events of one UTC day, serialized as NDJSON lines in time order.
#[derive(Debug)]
pub struct DayFile {
    /// UTC midnight of the day, in milliseconds.
    pub day_start_ms: i64,
    pub lines: Vec<String>,
}

/// What a whole run produced besides the events.
#[derive(Debug, Default)]
pub struct RunSummary {
    pub events: u64,
    pub person_days: u64,
    pub scenarios: Vec<Scenario>,
    pub skipped: BTreeMap<String, u32>,
}

/// Simulates every day and calls `sink` with each finished UTC day, in order.
pub fn simulate<E>(
    twin: &Twin,
    spec: &SimSpec,
    threads: usize,
    mut sink: impl FnMut(DayFile) -> Result<(), E>,
) -> Result<RunSummary, E> {
    let threads = threads.clamp(1, 16);
    let mut summary = RunSummary::default();
    let mut pending: BTreeMap<i64, Vec<(i64, String)>> = BTreeMap::new();
    let mut finished: BTreeMap<u32, DayOutputLines> = BTreeMap::new();
    let mut next_day = 0u32;
    let first_utc_day = spec.start_ms.div_euclid(DAY_MS);
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::sync_channel::<DayOutputLines>(threads * 2);
        for worker in 0..threads {
            let sender = sender.clone();
            scope.spawn(move || {
                let mut day = worker as u32;
                while day < spec.days {
                    let lines = DayOutputLines::of(simulate_day(twin, spec, day));
                    if sender.send(lines).is_err() {
                        return;
                    }
                    day += threads as u32;
                }
            });
        }
        drop(sender);
        for output in receiver {
            finished.insert(output.day, output);
            while let Some(output) = finished.remove(&next_day) {
                summary.events += output.lines.len() as u64;
                summary.person_days += output.person_days;
                summary.scenarios.extend(output.scenarios);
                for kind in output.skipped {
                    *summary.skipped.entry(kind.to_string()).or_default() += 1;
                }
                for (time, line) in output.lines {
                    pending
                        .entry(time.div_euclid(DAY_MS))
                        .or_default()
                        .push((time, line));
                }
                // Local days reach at most one UTC day back and two ahead.
                let complete_before = first_utc_day + i64::from(next_day) - 1;
                while let Some(entry) = pending.first_entry() {
                    if *entry.key() >= complete_before {
                        break;
                    }
                    let (day, lines) = entry.remove_entry();
                    sink(day_file(day, lines))?;
                }
                next_day += 1;
            }
        }
        Ok(())
    })?;
    while let Some((day, lines)) = pending.pop_first() {
        sink(day_file(day, lines))?;
    }
    summary
        .scenarios
        .sort_by(|a, b| a.start.cmp(&b.start).then(a.scenario.cmp(&b.scenario)));
    Ok(summary)
}

fn day_file(day: i64, mut lines: Vec<(i64, String)>) -> DayFile {
    // Same time: the line (which starts with the uid) breaks the tie, so the order is stable.
    lines.sort_unstable();
    DayFile {
        day_start_ms: day * DAY_MS,
        lines: lines.into_iter().map(|(_, line)| line).collect(),
    }
}

/// A day's output with its events already serialized (in the worker thread).
#[derive(Debug)]
struct DayOutputLines {
    day: u32,
    lines: Vec<(i64, String)>,
    scenarios: Vec<Scenario>,
    skipped: Vec<&'static str>,
    person_days: u64,
}

impl DayOutputLines {
    fn of(output: DayOutput) -> DayOutputLines {
        let lines = output
            .events
            .iter()
            .filter_map(|event| {
                serde_json::to_string(event)
                    .ok()
                    .map(|line| (event.time.millis(), line))
            })
            .collect();
        DayOutputLines {
            day: output.day,
            lines,
            scenarios: output.scenarios,
            skipped: output.skipped,
            person_days: output.person_days,
        }
    }
}
