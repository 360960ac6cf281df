//! Runs a simulation over all its days, on several threads, and hands the events back as one
//! time-ordered file per UTC day with the ground truth.
//!
//! Days are independent (every random stream is keyed by day and person), so they are built in
//! parallel; a person's local day spills into neighbouring UTC days, so a UTC day is handed out
//! only once every local day that can reach it is done.

use std::collections::BTreeMap;
use std::sync::mpsc;

use crate::calendar::DAY_MS;
use seam_model::Event;

use crate::day::{DayOutput, SimSpec, simulate_day};
use crate::truth::Scenario;
use crate::twin::Twin;

/// How each event is written: which output stream it goes to, as what bytes.
pub trait Render: Sync {
    /// The streams' names; the first is Seam's NDJSON.
    fn streams(&self) -> Vec<String>;
    /// Appends the event's record, newline included, and says to which stream it belongs and,
    /// when whoever reads the record back will see another uid, that uid.
    fn render(&self, event: &Event, out: &mut Vec<u8>) -> (usize, Option<String>);
}

/// Everything as Seam's normalized NDJSON.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ndjson;

impl Render for Ndjson {
    fn streams(&self) -> Vec<String> {
        vec!["seam".to_string()]
    }

    fn render(&self, event: &Event, out: &mut Vec<u8>) -> (usize, Option<String>) {
        crate::json::write_event(out, event);
        out.push(b'\n');
        (0, None)
    }
}

/// The events of one UTC day, in time order, one byte stream per output stream.
#[derive(Debug)]
pub struct DayFile {
    /// UTC midnight of the day, in milliseconds.
    pub day_start_ms: i64,
    /// Per stream (see [`Render::streams`]): lines, each ending in `\n`.
    pub streams: Vec<Vec<u8>>,
    pub events: usize,
}

impl DayFile {
    /// The first stream: Seam NDJSON.
    pub fn ndjson(&self) -> &[u8] {
        self.streams.first().map_or(&[], Vec::as_slice)
    }

    /// The first stream's lines, without their newlines.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        std::str::from_utf8(self.ndjson()).unwrap_or("").lines()
    }
}

/// What a whole run produced besides the events.
#[derive(Debug, Default)]
pub struct RunSummary {
    pub events: u64,
    pub person_days: u64,
    pub scenarios: Vec<Scenario>,
    /// Benign look-alikes, labelled by family (see [`crate::day::DayOutput::lookalikes`]).
    pub lookalikes: Vec<Scenario>,
    pub skipped: BTreeMap<String, u32>,
}

/// Where one serialized event sits: its time, the simulated day whose buffer holds it, its
/// byte range there, and its stream.
type Slot = (i64, u32, u32, u32, u8);

/// Simulates every day as Seam NDJSON and calls `sink` with each finished UTC day, in order.
pub fn simulate<E>(
    twin: &Twin,
    spec: &SimSpec,
    threads: usize,
    sink: impl FnMut(DayFile) -> Result<(), E>,
) -> Result<RunSummary, E> {
    simulate_with(twin, spec, threads, &Ndjson, sink)
}

/// Simulates every day, writing events with `render`, and calls `sink` with each finished UTC
/// day, in order. The ground truth names events by the uids their readers will see.
pub fn simulate_with<E>(
    twin: &Twin,
    spec: &SimSpec,
    threads: usize,
    render: &dyn Render,
    mut sink: impl FnMut(DayFile) -> Result<(), E>,
) -> Result<RunSummary, E> {
    let stream_count = render.streams().len();
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
                    let lines = DayOutputLines::of(simulate_day(twin, spec, day), render);
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
                summary.lookalikes.extend(output.lookalikes);
                for kind in output.skipped {
                    *summary.skipped.entry(kind.to_string()).or_default() += 1;
                }
                for (time, start, len, stream) in output.slots {
                    pending
                        .entry(time.div_euclid(DAY_MS))
                        .or_default()
                        .push((time, output.day, start, len, stream));
                }
                buffers.insert(output.day, output.buffer);
                // Local days reach at most one UTC day back and two ahead.
                let complete_before = first_utc_day + i64::from(next_day) - 1;
                while let Some(entry) = pending.first_entry() {
                    if *entry.key() >= complete_before {
                        break;
                    }
                    let (day, slots) = entry.remove_entry();
                    sink(day_file(day, slots, &buffers, stream_count))?;
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
        sink(day_file(day, slots, &buffers, stream_count))?;
    }
    summary
        .scenarios
        .sort_by(|a, b| a.start.cmp(&b.start).then(a.scenario.cmp(&b.scenario)));
    summary
        .lookalikes
        .sort_by(|a, b| a.start.cmp(&b.start).then(a.scenario.cmp(&b.scenario)));
    Ok(summary)
}

fn day_file(
    day: i64,
    mut slots: Vec<Slot>,
    buffers: &BTreeMap<u32, Vec<u8>>,
    stream_count: usize,
) -> DayFile {
    // Same time: the simulated day and the position break the tie, so the order is stable.
    slots.sort_unstable();
    let mut streams = vec![Vec::new(); stream_count.max(1)];
    for (_, source, start, len, stream) in &slots {
        let start = *start as usize;
        if let (Some(line), Some(out)) = (
            buffers
                .get(source)
                .and_then(|b| b.get(start..start + *len as usize)),
            streams.get_mut(usize::from(*stream)),
        ) {
            out.extend_from_slice(line);
        }
    }
    DayFile {
        day_start_ms: day * DAY_MS,
        streams,
        events: slots.len(),
    }
}

/// A day's output with its events already serialized (in the worker thread) into one buffer.
#[derive(Debug)]
struct DayOutputLines {
    day: u32,
    buffer: Vec<u8>,
    /// (time, start, length, stream) of each line, newline included.
    slots: Vec<(i64, u32, u32, u8)>,
    scenarios: Vec<Scenario>,
    lookalikes: Vec<Scenario>,
    skipped: Vec<&'static str>,
    person_days: u64,
}

impl DayOutputLines {
    fn of(mut output: DayOutput, render: &dyn Render) -> DayOutputLines {
        let mut buffer = Vec::with_capacity(output.events.len() * 280);
        let mut slots = Vec::with_capacity(output.events.len());
        let truth: std::collections::HashSet<&str> = output
            .scenarios
            .iter()
            .chain(&output.lookalikes)
            .flat_map(|s| s.events.iter().map(String::as_str))
            .collect();
        let mut renamed: std::collections::HashMap<String, String> =
            std::collections::HashMap::new();
        for event in &output.events {
            let start = buffer.len();
            let (stream, uid) = render.render(event, &mut buffer);
            let (Ok(offset), Ok(len), Ok(stream)) = (
                u32::try_from(start),
                u32::try_from(buffer.len() - start),
                u8::try_from(stream),
            ) else {
                buffer.truncate(start);
                continue;
            };
            if let Some(uid) = uid
                && truth.contains(event.uid.as_str())
            {
                renamed.insert(event.uid.clone(), uid);
            }
            slots.push((event.time.millis(), offset, len, stream));
        }
        if !renamed.is_empty() {
            for scenario in output.scenarios.iter_mut().chain(&mut output.lookalikes) {
                for uid in &mut scenario.events {
                    if let Some(new) = renamed.get(uid.as_str()) {
                        uid.clone_from(new);
                    }
                }
            }
        }
        DayOutputLines {
            day: output.day,
            buffer,
            slots,
            scenarios: output.scenarios,
            lookalikes: output.lookalikes,
            skipped: output.skipped,
            person_days: output.person_days,
        }
    }
}
