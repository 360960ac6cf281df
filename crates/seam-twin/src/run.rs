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

/// The events of one UTC day as NDJSON, in time order.
#[derive(Debug)]
pub struct DayFile {
    /// UTC midnight of the day, in milliseconds.
    pub day_start_ms: i64,
    /// Lines, each ending in `\n`.
    pub ndjson: Vec<u8>,
    pub events: usize,
}

impl DayFile {
    /// The lines, without their newlines.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        std::str::from_utf8(&self.ndjson).unwrap_or("").lines()
    }
}

/// What a whole run produced besides the events.
#[derive(Debug, Default)]
pub struct RunSummary {
    pub events: u64,
    pub person_days: u64,
    pub scenarios: Vec<Scenario>,
    pub skipped: BTreeMap<String, u32>,
}

/// Where one serialized event sits: its time, the simulated day whose buffer holds it, and its
/// byte range there.
type Slot = (i64, u32, u32, u32);

/// Simulates every day and calls `sink` with each finished UTC day, in order.
pub fn simulate<E>(
    twin: &Twin,
    spec: &SimSpec,
    threads: usize,
    mut sink: impl FnMut(DayFile) -> Result<(), E>,
) -> Result<RunSummary, E> {
    let threads = threads.clamp(1, 16);
    let mut summary = RunSummary::default();
    // Serialized events wait here, by UTC day, until no later simulated day can add to it.
    let mut pending: BTreeMap<i64, Vec<Slot>> = BTreeMap::new();
    let mut buffers: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
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
                summary.events += output.slots.len() as u64;
                summary.person_days += output.person_days;
                summary.scenarios.extend(output.scenarios);
                for kind in output.skipped {
                    *summary.skipped.entry(kind.to_string()).or_default() += 1;
                }
                for (time, start, len) in output.slots {
                    pending
                        .entry(time.div_euclid(DAY_MS))
                        .or_default()
                        .push((time, output.day, start, len));
                }
                buffers.insert(output.day, output.buffer);
                // Local days reach at most one UTC day back and two ahead.
                let complete_before = first_utc_day + i64::from(next_day) - 1;
                while let Some(entry) = pending.first_entry() {
                    if *entry.key() >= complete_before {
                        break;
                    }
                    let (day, slots) = entry.remove_entry();
                    sink(day_file(day, slots, &buffers))?;
                }
                // A simulated day's buffer is no longer needed once the UTC day after it is out.
                let oldest_pending = pending.keys().next().copied().unwrap_or(i64::MAX);
                buffers.retain(|day, _| first_utc_day + i64::from(*day) + 2 > oldest_pending);
                next_day += 1;
            }
        }
        Ok(())
    })?;
    while let Some((day, slots)) = pending.pop_first() {
        sink(day_file(day, slots, &buffers))?;
    }
    summary
        .scenarios
        .sort_by(|a, b| a.start.cmp(&b.start).then(a.scenario.cmp(&b.scenario)));
    Ok(summary)
}

fn day_file(day: i64, mut slots: Vec<Slot>, buffers: &BTreeMap<u32, Vec<u8>>) -> DayFile {
    // Same time: the simulated day and the position break the tie, so the order is stable.
    slots.sort_unstable();
    let size: usize = slots.iter().map(|(_, _, _, len)| *len as usize).sum();
    let mut ndjson = Vec::with_capacity(size);
    for (_, source, start, len) in &slots {
        let start = *start as usize;
        if let Some(line) = buffers
            .get(source)
            .and_then(|b| b.get(start..start + *len as usize))
        {
            ndjson.extend_from_slice(line);
        }
    }
    DayFile {
        day_start_ms: day * DAY_MS,
        ndjson,
        events: slots.len(),
    }
}

/// A day's output with its events already serialized (in the worker thread) into one buffer.
#[derive(Debug)]
struct DayOutputLines {
    day: u32,
    buffer: Vec<u8>,
    /// (time, start, length) of each line, newline included.
    slots: Vec<(i64, u32, u32)>,
    scenarios: Vec<Scenario>,
    skipped: Vec<&'static str>,
    person_days: u64,
}

impl DayOutputLines {
    fn of(output: DayOutput) -> DayOutputLines {
        let mut buffer = Vec::with_capacity(output.events.len() * 280);
        let mut slots = Vec::with_capacity(output.events.len());
        for event in &output.events {
            let start = buffer.len();
            crate::json::write_event(&mut buffer, event);
            buffer.push(b'\n');
            let (Ok(offset), Ok(len)) = (u32::try_from(start), u32::try_from(buffer.len() - start))
            else {
                buffer.truncate(start);
                continue;
            };
            slots.push((event.time.millis(), offset, len));
        }
        DayOutputLines {
            day: output.day,
            buffer,
            slots,
            scenarios: output.scenarios,
            skipped: output.skipped,
            person_days: output.person_days,
        }
    }
}
