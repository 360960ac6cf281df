//! The engine: orders events by event time, resolves and enriches them, runs the rules, and
//! turns matches into findings. Deterministic: no I/O, no wall clock.
//!
//! Ordering. Each source has a watermark (the newest event time it has sent, minus the allowed
//! lateness); the engine's watermark is the lowest over the active sources. Events wait in a
//! bounded reorder buffer until the watermark passes them, then are processed in (time, uid)
//! order, so any arrival order within the allowed lateness gives the same findings. Timers
//! (absence deadlines, window ends) fire only when the watermark passes them. An event older
//! than what was already released is *late*: it is still returned for storage and still
//! evaluated by single-event rules, flagged as late, but it does not touch state or windows.
//!
//! Time is defended. An event may lead the time it was received by at most
//! `max_clock_ahead_ms`. An event further ahead is handled like a late one (stored, evaluated
//! by single-event rules, flagged) and moves no watermark, so one wrong clock or one forged
//! date cannot make every other source's events late. A source whose events lead or trail
//! their receive time beyond the bounds raises one clock-skew finding with the offset, then
//! stays quiet about it for an hour of event time.

use std::collections::BTreeMap;
use std::sync::Arc;

use prefetch_index::prefetch_index;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use seam_estate::{AssetIdx, Estate, PersonIdx, ZoneKind};
use seam_model::{
    Activity, Event, EventClass, Finding, FindingParts, Medium, Outcome, Severity, Ts,
};
use seam_rules::{ChangePolicy, Input, Match, RuleKind, RuleState};

use crate::context::{EventContext, PersonFacts, Places, event_location, place_name};
use crate::identity::{prefetch_directory, resolve_in_directory};
use crate::presence::Signal;
use crate::reorder::{Directory, Queued, ReorderBuffer};
use crate::rules::CompiledRules;
use crate::state::{AssetState, Booking, Counters, Located, PersonState, WorldState, ZoneState};

/// How the engine orders and bounds its input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineConfig {
    /// How far behind its source's newest event an event may arrive and still be ordered.
    pub allowed_lateness_ms: i64,
    /// A source this far behind the newest event overall stops holding the watermark back.
    pub idle_source_ms: i64,
    /// The reorder buffer's bound; past it the oldest event is released early (and counted).
    pub max_buffered: usize,
    /// Return processed events (for storage); benchmarks turn this off.
    pub emit_events: bool,
    /// How far an event may lead its reference time (receive time, or the other sources'
    /// newest event) and still move its source's watermark.
    pub max_clock_ahead_ms: i64,
    /// How far an event may trail its receive time before its source's clock is reported as
    /// behind; per source in `source_max_delay_ms` (a source that delivers hourly exports
    /// declares an hour and more).
    pub max_clock_behind_ms: i64,
    /// Per source, how late it may deliver: the wall clock moves its part of the watermark
    /// no further than this behind (default: its lateness), and only beyond it is the source
    /// reported as behind (default there: `max_clock_behind_ms`).
    #[serde(default)]
    pub source_max_delay_ms: BTreeMap<String, i64>,
    /// Per source, how far behind its own newest event an event may arrive and still be
    /// ordered (overrides `allowed_lateness_ms`): a source that sends in order needs little,
    /// an hourly export or a cloud log delivered in batches needs more, and only the rules'
    /// watermark waits for it.
    #[serde(default)]
    pub source_lateness_ms: BTreeMap<String, i64>,
    /// Per source, the event classes its adapter can yield. A slow source whose classes are
    /// known holds back only the rules that read them (see [`crate::lanes`]).
    #[serde(default)]
    pub source_classes: BTreeMap<String, Vec<EventClass>>,
    /// Whether the pack's tuning keeps findings back (off for a rule's own tests).
    #[serde(default = "yes")]
    pub apply_tuning: bool,
}

fn yes() -> bool {
    true
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            allowed_lateness_ms: 2 * 60_000,
            idle_source_ms: 15 * 60_000,
            max_buffered: 1_000_000,
            emit_events: true,
            max_clock_ahead_ms: DEFAULT_MAX_CLOCK_AHEAD_MS,
            max_clock_behind_ms: DEFAULT_MAX_CLOCK_BEHIND_MS,
            source_max_delay_ms: BTreeMap::new(),
            source_lateness_ms: BTreeMap::new(),
            source_classes: BTreeMap::new(),
            apply_tuning: true,
        }
    }
}

/// The default bound on how far an event may lead its reference time: five minutes covers
/// the clocks of devices that are not synchronized well, and is far below the fifteen minutes
/// after which a quiet source stops holding the watermark back.
pub const DEFAULT_MAX_CLOCK_AHEAD_MS: i64 = 5 * 60_000;
/// The default bound on how far an event may trail its receive time before its source is
/// reported as running behind.
pub const DEFAULT_MAX_CLOCK_BEHIND_MS: i64 = 60 * 60_000;
/// After a clock-skew finding for a source and direction, the next comes no sooner than this
/// much later in event time: one finding per episode, not one per event.
const SKEW_REPEAT_MS: i64 = 60 * 60_000;
/// The rule id of the engine's own clock-skew findings.
pub const CLOCK_SKEW_RULE: &str = "seam-clock-skew";

/// An event after processing, for the store.
#[derive(Clone, Debug, PartialEq)]
pub struct Processed {
    pub event: Event,
    pub person: Option<String>,
    pub late: bool,
    /// Dated beyond the allowed clock skew ahead of its reference time (also `late`).
    pub ahead: bool,
    /// It carried identifiers, and none resolved to a person.
    pub unresolved: bool,
}

/// What one call produced.
#[derive(Debug, Default)]
pub struct Output {
    pub findings: Vec<Finding>,
    pub events: Vec<Processed>,
}

impl Output {
    pub fn clear(&mut self) {
        self.findings.clear();
        self.events.clear();
    }
}

/// Everything needed to continue exactly where the engine stopped.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineSnapshot {
    pub format: u32,
    pub estate_people: usize,
    pub world: WorldState,
    pub rule_state: RuleState,
    pub buffered: Vec<Event>,
    pub source_max: BTreeMap<String, Ts>,
    pub max_seen: Ts,
    pub released_through: Ts,
    pub last_released: Option<(Ts, String)>,
    pub counters: Counters,
    /// When each source's last clock-skew finding was raised, per direction.
    #[serde(default)]
    pub skew_raised: BTreeMap<String, Ts>,
    /// The fast lane's state, when the rules are split (see [`crate::lanes`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fast_lane: Option<Box<EngineSnapshot>>,
    /// The directory changes applied so far, applied again to the loaded directory on restore.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub directory: Vec<DirectoryRecord>,
    #[serde(default)]
    pub reresolve_through: Ts,
}

const SNAPSHOT_FORMAT: u32 = 1;

/// How many events ahead [`Engine::warm_ahead`] looks: far enough for a cache miss to finish
/// before that event's turn, near enough that its lines are still cached then.
const WARM_AHEAD: usize = 8;

/// How many events ahead [`Engine::warm_ahead`] prefetches the event itself.
const WARM_EVENT_AHEAD: usize = 8;

/// How many events ahead [`Engine::warm_ahead`] prefetches the names the event points to: by
/// then the event's own lines, fetched [`WARM_EVENT_AHEAD`] events before, have arrived.
const WARM_NAMES_AHEAD: usize = 3;

/// The smallest batch the reorder buffer takes over whole: a run costs two allocations and
/// is walked when looking ahead, so a smaller batch is cheaper copied into the current run.
const MIN_ADOPTED_BATCH: usize = 32;

/// How many events ahead [`Engine::push_batch`] prefetches directory slots.
const PREFETCH_AHEAD: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot is not readable: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("snapshot format {found} is not supported (expected {expected})")]
    Format { found: u32, expected: u32 },
    #[error("snapshot was taken with {found} people in the estate, the estate now has {expected}")]
    EstateChanged { found: usize, expected: usize },
}

#[derive(Debug)]
pub struct Engine {
    estate: Arc<Estate>,
    rules: Arc<CompiledRules>,
    config: EngineConfig,
    watchers: Vec<Vec<AssetIdx>>,
    /// Per person, what rules read most (derived from the estate, not state).
    facts: Vec<PersonFacts>,
    world: WorldState,
    rule_state: RuleState,
    buffer: ReorderBuffer,
    /// Newest event time per source. Few sources, one lookup per event: a vector, checked
    /// first at the source of the previous event (inputs come in runs from one source).
    sources: Vec<(String, Ts)>,
    /// Each source's lateness, in the order of `sources` (from the configuration).
    lateness: Vec<i64>,
    /// The smallest lateness any source has.
    min_lateness: i64,
    last_source: usize,

    /// When the last clock-skew finding was raised, by `source/direction`.
    skew_raised: BTreeMap<String, Ts>,
    max_seen: Ts,
    released_through: Ts,
    last_released: Option<(Ts, String)>,
    counters: Counters,
    matches: Vec<Match>,
    /// [`Engine::push_batch`]'s answers, kept for the next batch.
    batch_directory: Vec<Directory>,
    /// By rule index, the rules whose findings this engine emits; `None`: all of them.
    emits: Option<Vec<bool>>,
    /// The fast lane, fed every source but the slow ones (see [`crate::lanes`]).
    fast: Option<Box<Engine>>,
    /// The sources the fast lane is not fed.
    slow_sources: std::collections::BTreeSet<String>,
    /// Whether this engine raises clock-skew findings (the fast lane leaves them to the main one).
    reports_skew: bool,
    /// Events at or before this time may have been looked up in the directory before a
    /// directory change that precedes them was applied: they are looked up again.
    reresolve_through: Ts,
    /// Every directory change applied, in order, so that a snapshot restores the directory.
    directory_log: Vec<DirectoryRecord>,
}

/// A directory change as the engine applied it: a person's, or edited places.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryRecord {
    pub at: Ts,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<seam_model::DirectoryDelta>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub places: Option<seam_model::EstatePlaces>,
}

impl DirectoryRecord {
    /// Applies the record to `estate` as the engine did; false when it does not apply.
    pub fn apply_to(&self, estate: &mut Estate) -> bool {
        if let Some(delta) = &self.delta {
            let change = seam_estate::DirectoryChange {
                at: self.at,
                source: &self.source,
                delta,
            };
            return estate.apply_directory(change).is_ok();
        }
        if let Some(places) = &self.places {
            return match estate.with_places_from(&places_files(places)) {
                Ok(placed) => {
                    *estate = placed;
                    true
                }
                Err(_) => false,
            };
        }
        false
    }
}

fn places_files(places: &seam_model::EstatePlaces) -> Vec<seam_estate::EstateFile> {
    places
        .files
        .iter()
        .map(|file| seam_estate::EstateFile {
            path: file.path.clone(),
            text: file.text.clone(),
        })
        .collect()
}

impl Engine {
    pub fn new(estate: Arc<Estate>, rules: Arc<CompiledRules>, config: EngineConfig) -> Engine {
        let plan = crate::lanes::plan(&rules, &config);
        let mut engine = Engine::single(Arc::clone(&estate), Arc::clone(&rules), config);
        if let Some(plan) = plan {
            let mut fast = Engine::single(
                estate,
                rules,
                crate::lanes::fast_config(&engine.config, &plan),
            );
            fast.reports_skew = false;
            engine.emits = Some(plan.fast_rules.iter().map(|fast| !fast).collect());
            fast.emits = Some(plan.fast_rules);
            engine.fast = Some(Box::new(fast));
            engine.slow_sources = plan.slow_sources;
        }
        engine
    }

    /// An engine without lanes.
    fn single(estate: Arc<Estate>, rules: Arc<CompiledRules>, config: EngineConfig) -> Engine {
        let world = WorldState {
            people: vec![PersonState::default(); estate.people().len()],
            zones: vec![ZoneState::default(); estate.zones().len()],
            assets: vec![AssetState::default(); estate.assets().len()],
            ..WorldState::default()
        };
        let watchers = watchers_by_zone(&estate);
        let facts = PersonFacts::of_estate(&estate);
        let min_lateness = config
            .source_lateness_ms
            .values()
            .copied()
            .chain([config.allowed_lateness_ms])
            .min()
            .unwrap_or(config.allowed_lateness_ms);
        Engine {
            estate,
            rules,
            config,
            watchers,
            facts,
            world,
            rule_state: RuleState::default(),
            buffer: ReorderBuffer::default(),
            sources: Vec::new(),
            lateness: Vec::new(),
            min_lateness,
            last_source: 0,

            skew_raised: BTreeMap::new(),
            max_seen: Ts::MIN,
            released_through: Ts::MIN,
            last_released: None,
            counters: Counters::default(),
            matches: Vec::new(),
            batch_directory: Vec::new(),
            emits: None,
            fast: None,
            slow_sources: std::collections::BTreeSet::new(),
            reports_skew: true,
            reresolve_through: Ts::MIN,
            directory_log: Vec::new(),
        }
    }

    /// Whether the rules are split into lanes, and which rules raise findings from the fast one.
    pub fn fast_lane_rules(&self) -> Option<Vec<&str>> {
        let fast = self.fast.as_ref()?;
        let emits = fast.emits.as_ref()?;
        Some(
            self.rules
                .set
                .rules()
                .iter()
                .zip(emits)
                .filter(|(meta, fast)| **fast && meta.generates_findings)
                .map(|(meta, _)| meta.id.as_str())
                .collect(),
        )
    }

    fn emits(&self, rule: usize) -> bool {
        self.emits
            .as_ref()
            .is_none_or(|emits| emits.get(rule).copied().unwrap_or(true))
    }

    /// Whether the fast lane reads this event.
    fn for_fast_lane(&self, event: &Event) -> bool {
        self.fast.is_some() && !self.slow_sources.contains(&event.source)
    }

    pub fn estate(&self) -> &Estate {
        &self.estate
    }

    pub fn rules(&self) -> &CompiledRules {
        &self.rules
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn world(&self) -> &WorldState {
        &self.world
    }

    /// The engine's watermark: everything at or before it has been processed (by every lane).
    pub fn watermark(&self) -> Ts {
        match &self.fast {
            Some(fast) => self.released_through.min(fast.watermark()),
            None => self.released_through,
        }
    }

    pub fn buffered(&self) -> usize {
        self.buffer.len() + self.fast.as_ref().map_or(0, |fast| fast.buffered())
    }

    /// Takes one event; whatever it releases lands in `out`.
    pub fn push(&mut self, event: Event, out: &mut Output) {
        let lane = self.for_fast_lane(&event).then(|| event.clone());
        let directory = resolve_in_directory(&self.estate, &event);
        self.push_resolved(Queued { event, directory }, out);
        self.feed_fast_lane(lane.into_iter(), out);
    }

    /// Hands the fast lane its events, and the newest time seen from any source: at the end
    /// of input, or when its own sources fall quiet, it moves on as the main engine does.
    fn feed_fast_lane(&mut self, events: impl Iterator<Item = Event>, out: &mut Output) {
        let newest = self.max_seen;
        let Some(fast) = &mut self.fast else {
            return;
        };
        for event in events {
            fast.push(event, out);
        }
        if newest > fast.max_seen {
            fast.max_seen = newest;
            let watermark = fast.current_watermark();
            if watermark > fast.released_through {
                fast.release_through(watermark, out);
            }
        }
    }

    /// Takes a batch of events, as a parser hands them over, and leaves `events` empty for
    /// reuse. The same as pushing them one by one, only faster: their identifiers are first
    /// looked up in the directory together, so that the lookups' cache misses overlap instead
    /// of following one another.
    pub fn push_batch(&mut self, events: &mut Vec<Event>, out: &mut Output) {
        if self.fast.is_some() {
            let mut lane: Vec<Event> = events
                .iter()
                .filter(|event| self.for_fast_lane(event))
                .cloned()
                .collect();
            self.push_batch_here(events, out);
            if let Some(fast) = &mut self.fast {
                fast.push_batch(&mut lane, out);
            }
            self.feed_fast_lane(std::iter::empty(), out);
            return;
        }
        self.push_batch_here(events, out);
    }

    /// [`Engine::push_batch`] for this engine alone.
    fn push_batch_here(&mut self, events: &mut Vec<Event>, out: &mut Output) {
        let estate = &*self.estate;
        let mut directory = std::mem::take(&mut self.batch_directory);
        directory.clear();
        directory.extend(events.iter().enumerate().map(|(position, event)| {
            if let Some(ahead) = events.get(position + PREFETCH_AHEAD) {
                prefetch_directory(estate, ahead);
                // Its source name is compared on arrival.
                prefetch_index(ahead.source.as_bytes(), 0);
            }
            resolve_in_directory(estate, event)
        }));
        if self.can_adopt(events) {
            for event in events.iter() {
                let ahead = self.note_arrival(event);
                debug_assert!(!ahead, "an adopted batch has no event ahead");
            }
            self.buffer.adopt(events, &mut directory);
            let watermark = self.current_watermark();
            if watermark > self.released_through {
                self.release_through(watermark, out);
            }
        } else {
            for (event, directory) in events.drain(..).zip(directory.drain(..)) {
                self.push_resolved(Queued { event, directory }, out);
            }
        }
        self.batch_directory = directory;
    }

    /// Whether pushing `events` one by one would only append each to the reorder buffer and
    /// release what the watermark passes, so that the buffer may take the batch over whole and
    /// release once at its end, with the same result:
    ///
    /// - they are in (time, uid) order, none earlier than what waits in order or has been
    ///   seen, and later than what has been released: as the watermark is at least the
    ///   smallest lateness behind the newest event seen, and that lateness is above zero, no
    ///   event of the batch would have been late when its turn to arrive came;
    /// - the buffer's bound cannot be reached, so no event would have been released early;
    /// - the watermark only rises along such a batch, so releasing through its final value
    ///   processes the same events in the same order, and timers fire before each event due
    ///   after them either way.
    fn can_adopt(&self, events: &[Event]) -> bool {
        events.len() >= MIN_ADOPTED_BATCH
            && self.min_lateness > 0
            && self.buffer.len().saturating_add(events.len()) <= self.config.max_buffered
            && events.first().is_some_and(|first| {
                first.time > self.released_through && first.time >= self.max_seen
            })
            && self.buffer.can_adopt(events)
            // Reference times only rise along the batch: an event within the bounds now is
            // within them at its turn.
            && events
                .iter()
                .all(|event| !self.is_ahead(event) && self.behind_by(event).is_none())
    }

    /// Whether an event leads its reference time by more than the allowed skew.
    ///
    /// Only events with a receive time are checked: in a file replayed without one, a quiet
    /// weekend or a source whose export covers a later period cannot be told from a wrong
    /// clock, and the file is the operator's own.
    fn is_ahead(&self, event: &Event) -> bool {
        let Some(observed) = event.observed else {
            return false;
        };
        event.time > observed.plus_millis(self.config.max_clock_ahead_ms.max(0))
    }

    /// How far an event trails its receive time beyond what its source may, if it does.
    fn behind_by(&self, event: &Event) -> Option<i64> {
        let observed = event.observed?;
        let trail = observed.millis().saturating_sub(event.time.millis());
        if trail <= self.config.max_clock_behind_ms {
            // The common case, decided without looking the source up.
            if self.config.source_max_delay_ms.is_empty() {
                return None;
            }
        }
        let bound = self
            .config
            .source_max_delay_ms
            .get(&event.source)
            .copied()
            .unwrap_or(self.config.max_clock_behind_ms);
        (trail > bound.max(0)).then_some(trail)
    }

    /// Counts an arrival and, unless it is dated beyond the allowed skew ahead of its
    /// reference time, moves its source's newest time and the newest time seen. Returns
    /// whether it is ahead.
    fn note_arrival(&mut self, event: &Event) -> bool {
        self.counters.events_in += 1;
        if self.is_ahead(event) {
            self.counters.ahead += 1;
            return true;
        }
        let known = match self.sources.get(self.last_source) {
            Some((name, _)) if *name == event.source => Some(self.last_source),
            _ => self
                .sources
                .iter()
                .position(|(name, _)| *name == event.source),
        };
        match known.and_then(|index| {
            self.last_source = index;
            self.sources.get_mut(index).map(|(_, max)| max)
        }) {
            Some(max) => *max = (*max).max(event.time),
            None => {
                self.last_source = self.sources.len();
                self.sources.push((event.source.clone(), event.time));
                self.lateness.push(self.lateness_of(&event.source));
            }
        }
        self.max_seen = self.max_seen.max(event.time);
        false
    }

    /// Raises a clock-skew finding for the event's source, unless one was raised for it in the
    /// same direction within the last hour of event time.
    fn report_skew(&mut self, event: &Event, offset_ms: i64, out: &mut Output) {
        let direction = if offset_ms > 0 { "ahead" } else { "behind" };
        let at = event.observed.unwrap_or(event.time);
        let key = format!("{}/{direction}", event.source);
        if let Some(last) = self.skew_raised.get(&key)
            && at.millis().saturating_sub(last.millis()) < SKEW_REPEAT_MS
            && at >= *last
        {
            return;
        }
        self.skew_raised.insert(key, at);
        if !self.reports_skew {
            return;
        }
        out.findings.push(clock_skew_finding(event, at, offset_ms));
        self.counters.findings += 1;
    }

    fn push_resolved(&mut self, queued: Queued, out: &mut Output) {
        if self.note_arrival(&queued.event) {
            let offset = match queued.event.observed {
                Some(observed) => queued.event.time.millis().saturating_sub(observed.millis()),
                None => 0,
            };
            self.report_skew(&queued.event, offset.max(1), out);
            self.process_owned(queued, true, out);
            return;
        }
        if let Some(trail) = self.behind_by(&queued.event) {
            self.report_skew(&queued.event, -trail.max(1), out);
        }
        if queued.event.time <= self.released_through {
            self.counters.late += 1;
            self.process_owned(queued, true, out);
            return;
        }
        self.buffer.push(queued);
        let watermark = self.current_watermark();
        if watermark > self.released_through {
            self.release_through(watermark, out);
        }
        while self.buffer.len() > self.config.max_buffered {
            let Some(oldest) = self.buffer.pop() else {
                break;
            };
            self.counters.forced_releases += 1;
            let time = oldest.event.time;
            self.process_owned(oldest, false, out);
            self.released_through = self.released_through.max(time);
        }
    }

    /// End of input: processes everything buffered and fires timers up to the newest event
    /// time. Timers beyond it stay pending: a window that has not closed in event time has not
    /// closed, however the input ended.
    pub fn flush(&mut self, out: &mut Output) {
        if let Some(fast) = &mut self.fast {
            fast.flush(out);
        }
        // An event can wait at the very instant released through: a forced release (the
        // buffer's bound) moves `released_through` to the time of the event it pushed out,
        // and another of that instant may still wait behind it.
        if self.max_seen > self.released_through || self.buffer.len() > 0 {
            self.release_through(self.max_seen.max(self.released_through), out);
        }
    }

    /// Moves the watermark to `watermark` as if every source had reached it (a heartbeat).
    pub fn advance_to(&mut self, watermark: Ts, out: &mut Output) {
        if let Some(fast) = &mut self.fast {
            fast.advance_to(watermark, out);
        }
        if watermark > self.released_through {
            self.max_seen = self.max_seen.max(watermark);
            self.release_through(watermark, out);
        }
    }

    /// The wall clock has reached `now` (a heartbeat, written in the log so that a replay
    /// does the same): each source that has sent is taken to have delivered everything up to
    /// its maximum delay before `now`, or its lateness behind its newest event, whichever is
    /// later, and a source with a declared delay that has not sent yet up to that delay; the
    /// watermark moves to the lowest of those. A source that delivers in order holds it back
    /// by its small lateness; one declared slow, by its delay (so its late events are still
    /// correlated in order, and every rule waits for them).
    pub fn clock(&mut self, now: Ts, out: &mut Output) {
        if let Some(fast) = &mut self.fast {
            fast.clock(now, out);
        }
        let mut lowest: Option<Ts> = None;
        for ((name, max), lateness) in self.sources.iter().zip(&self.lateness) {
            let delay = self
                .config
                .source_max_delay_ms
                .get(name)
                .copied()
                .unwrap_or(*lateness);
            let bound = max.minus_millis(*lateness).max(now.minus_millis(delay));
            lowest = Some(lowest.map_or(bound, |l| l.min(bound)));
        }
        // A source declared slow is waited for before it first sends (after a restart, say):
        // what it delivers late is still within its delay.
        for (name, delay) in &self.config.source_max_delay_ms {
            if !self.sources.iter().any(|(seen, _)| seen == name) {
                let bound = now.minus_millis(*delay);
                lowest = Some(lowest.map_or(bound, |l| l.min(bound)));
            }
        }
        let watermark = lowest.unwrap_or_else(|| now.minus_millis(self.config.allowed_lateness_ms));
        self.advance_to(watermark, out);
    }

    fn lateness_of(&self, source: &str) -> i64 {
        self.config
            .source_lateness_ms
            .get(source)
            .copied()
            .unwrap_or(self.config.allowed_lateness_ms)
    }

    fn current_watermark(&self) -> Ts {
        let idle_before = self.max_seen.minus_millis(self.config.idle_source_ms);
        if self.config.source_lateness_ms.is_empty() && self.config.source_max_delay_ms.is_empty() {
            // Every source has the same lateness: the lowest newest time decides.
            let lowest_active = self
                .sources
                .iter()
                .map(|(_, max)| max)
                .filter(|max| **max >= idle_before)
                .min()
                .copied();
            return lowest_active
                .unwrap_or(self.max_seen)
                .minus_millis(self.config.allowed_lateness_ms);
        }
        // As [`Engine::clock`] does with the wall clock, with the newest event seen standing
        // for it: a source declared slow holds the watermark by its delay, also while quiet
        // (it is not idle within its delay) and before it first sends.
        let mut lowest: Option<Ts> = None;
        for ((name, max), lateness) in self.sources.iter().zip(&self.lateness) {
            let delay = self.config.source_max_delay_ms.get(name).copied();
            let idle_before = match delay {
                Some(delay) => idle_before.min(self.max_seen.minus_millis(delay)),
                None => idle_before,
            };
            if *max < idle_before {
                continue;
            }
            let mut bound = max.minus_millis(*lateness);
            if let Some(delay) = delay {
                bound = bound.max(self.max_seen.minus_millis(delay));
            }
            lowest = Some(lowest.map_or(bound, |l| l.min(bound)));
        }
        for (name, delay) in &self.config.source_max_delay_ms {
            if !self.sources.iter().any(|(seen, _)| seen == name) {
                let bound = self.max_seen.minus_millis(*delay);
                lowest = Some(lowest.map_or(bound, |l| l.min(bound)));
            }
        }
        lowest.unwrap_or_else(|| self.max_seen.minus_millis(self.config.allowed_lateness_ms))
    }

    fn release_through(&mut self, watermark: Ts, out: &mut Output) {
        // Events are processed where they wait, and leave the queue only when they are returned.
        let mut buffer = std::mem::take(&mut self.buffer);
        while let Some((event, directory)) = buffer.next().filter(|(e, _)| e.time <= watermark) {
            self.warm_ahead(&buffer);
            // A repeat of this event can only be one already waiting: an arrival at its instant
            // after this release is late, and late events are not checked for repeats.
            let may_follow = !buffer.only_next_at(event.time);
            let processed = self.process(event, directory, false, may_follow, out);
            if self.config.emit_events {
                if let (Some(queued), Some(processed)) = (buffer.pop(), processed) {
                    self.hand_over(queued.event, processed, false, out);
                }
            } else {
                buffer.drop_next();
            }
        }
        self.buffer = buffer;
        self.released_through = watermark;
        let Engine {
            rules,
            rule_state,
            matches,
            ..
        } = self;
        rules.set.advance(rule_state, watermark.millis(), matches);
        self.emit_matches(None, out);
    }

    /// Asks the CPU to start loading what the event a few places ahead will read (its
    /// person's facts and state), so that those cache misses are over by its turn instead of
    /// stalling it. A prefetch is a hint: it changes no value and never faults.
    fn warm_ahead(&self, buffer: &ReorderBuffer) {
        // The event itself, further ahead: all of its ~700 bytes, which have left the caches
        // while it waited. Its names are read only a few events later, once it has arrived:
        // following its pointers now would wait for the very lines being fetched.
        if let Some((_, event)) = buffer.ahead(WARM_EVENT_AHEAD) {
            prefetch_event(event);
        }
        if let Some((_, event)) = buffer.ahead(WARM_NAMES_AHEAD) {
            // The names its places are looked up by, and its uid, kept as evidence.
            for name in [&event.door, &event.ap, &event.resource]
                .into_iter()
                .flatten()
            {
                prefetch_index(name.as_bytes(), 0);
            }
            prefetch_index(event.uid.as_bytes(), 0);
        }
        let Some((Some((person, _)), _)) = buffer.ahead(WARM_AHEAD) else {
            return;
        };
        prefetch_index(&self.facts, person.index());
        if let Some(state) = self.world.people.get(person.index()) {
            // Taking a field's address reads nothing; the record spans several cache lines.
            prefetch_index(std::slice::from_ref(&state.presence), 0);
            prefetch_index(std::slice::from_ref(&state.last_location), 0);
            prefetch_index(std::slice::from_ref(&state.site_grants), 0);
            prefetch_index(std::slice::from_ref(&state.bookings), 0);
        }
    }

    /// Processes an event it owns and, when events are returned, hands it over.
    fn process_owned(&mut self, queued: Queued, late: bool, out: &mut Output) {
        let Queued { event, directory } = queued;
        if let Some(processed) = self.process(&event, directory, late, true, out)
            && self.config.emit_events
        {
            self.hand_over(event, processed, late, out);
        }
    }

    /// Returns a processed event for storage, with the person it resolved to.
    fn hand_over(
        &self,
        event: Event,
        (person, unresolved): (Option<PersonIdx>, bool),
        late: bool,
        out: &mut Output,
    ) {
        let person = person.map(|p| self.estate.person(p).id.clone());
        // Nothing a late event does moves a reference time, so this is the answer it had.
        let ahead = late && self.is_ahead(&event);
        out.events.push(Processed {
            event,
            person,
            late,
            ahead,
            unresolved,
        });
    }

    /// Evaluates one event and, unless it is late, applies it. Returns the person it resolved
    /// to and whether it is unresolved, or `None` for a repeat that was dropped.
    fn process(
        &mut self,
        event: &Event,
        directory: Directory,
        late: bool,
        same_instant_may_follow: bool,
        out: &mut Output,
    ) -> Option<(Option<PersonIdx>, bool)> {
        if !late {
            let is_repeat = |(time, uid): &(Ts, String)| *time == event.time && *uid == event.uid;
            if self.last_released.as_ref().is_some_and(is_repeat) {
                self.counters.duplicates += 1;
                return None;
            }
            // Timers due strictly before this event fire first, so findings come out in time order.
            let Engine {
                rules,
                rule_state,
                matches,
                ..
            } = self;
            rules
                .set
                .advance(rule_state, event.time.millis().saturating_sub(1), matches);
            self.emit_matches(None, out);
            // Reuse the buffer: this runs once per event. The uid is copied only when another
            // event of the same instant may follow (copying it reads the event's cold uid).
            match &mut self.last_released {
                Some((time, uid)) => {
                    *time = event.time;
                    uid.clear();
                    if same_instant_may_follow {
                        uid.push_str(&event.uid);
                    }
                }
                None => self.last_released = Some((event.time, event.uid.clone())),
            }
        }
        self.counters.events_processed += 1;
        // Looked up when it arrived; a directory change applied since may answer otherwise.
        let directory = if event.time <= self.reresolve_through {
            resolve_in_directory(&self.estate, event)
        } else {
            directory
        };
        let resolved =
            directory.or_else(|| self.world.identity.resolve_learned(&self.estate, event));
        let person = resolved.map(|(person, _)| person);
        // Copied now, so that the cache miss overlaps with resolving the places.
        let facts = person.and_then(|p| self.facts.get(p.index())).copied();
        let unresolved = person.is_none() && !event.subject.is_empty();
        if unresolved {
            self.counters.unresolved += 1;
        }
        let places =
            Places::of(&self.estate, event).with_leased_asset(&self.estate, &self.world, event);
        if places.unknown != 0 {
            self.world.unknown.note(&self.estate, event, places.unknown);
        }
        {
            let Engine {
                estate,
                rules,
                world,
                rule_state,
                matches,
                watchers,
                counters,
                emits,
                config,
                ..
            } = self;
            let context = EventContext::new(
                estate,
                &rules.schema,
                world,
                watchers,
                event,
                person,
                places,
            )
            .with_facts(facts);
            let input = Input {
                time: event.time.millis(),
                uid: &event.uid,
                record: &context,
                late,
            };
            rules.set.on_event(rule_state, &input, matches);
            for matched in matches.drain(..) {
                if emits
                    .as_ref()
                    .is_some_and(|emits| !emits.get(matched.rule).copied().unwrap_or(true))
                {
                    continue;
                }
                let silenced = rules
                    .set
                    .rules()
                    .get(matched.rule)
                    .is_some_and(|meta| meta.change == ChangePolicy::Silence)
                    && context.approved_change().is_some();
                if silenced {
                    counters.silenced_by_change += 1;
                    continue;
                }
                if config.apply_tuning
                    && kept_back(
                        &rules.tuning,
                        rules,
                        estate,
                        &matched,
                        Some((person, &context.places)),
                    )
                {
                    counters.kept_back_by_tuning += 1;
                    continue;
                }
                out.findings
                    .push(make_finding(rules, estate, &matched, Some(&context)));
                counters.findings += 1;
            }
        }
        if !late {
            // A fixed machine signing in (802.1X machine authentication, a workstation's own
            // account) says where the machine is, never where its owner is.
            let by_machine = resolved.is_some_and(|(_, by)| {
                crate::identity::is_device_evidence(by)
                    && fixed_device(&self.estate, event, &places)
            });
            self.apply(event, person, &places, !by_machine);
        }
        // A change ticket is context, not a step in anyone's movements: it counts even when it
        // arrives late (a change system is polled minutes after the fact), newest update wins.
        if let Some(change) = &event.change
            && event.class == EventClass::ChangeRequest
        {
            let changes = &mut self.world.changes;
            changes.record(&self.estate, event.activity, change, event.time);
            changes.prune(self.released_through.max(event.time));
        }
        // A directory change takes effect at its time, late or not: a system of record is
        // not a step in anyone's movements, and its word must not be lost.
        if let Some(delta) = &event.directory
            && event.class == EventClass::Directory
            && let Some(changed) = self.apply_directory(event.time, &event.source, delta)
        {
            return Some((Some(changed), false));
        }
        if let Some(places) = &event.places
            && event.class == EventClass::Directory
        {
            self.apply_places(event.time, &event.source, places);
        }
        Some((person, unresolved))
    }

    /// Applies one directory change to this engine's directory; returns the person changed.
    fn apply_directory(
        &mut self,
        at: Ts,
        source: &str,
        delta: &seam_model::DirectoryDelta,
    ) -> Option<PersonIdx> {
        let estate = Arc::make_mut(&mut self.estate);
        let change = seam_estate::DirectoryChange { at, source, delta };
        if estate.apply_directory(change).is_err() {
            self.counters.directory_refused += 1;
            return None;
        }
        self.counters.directory_changes += 1;
        self.directory_log.push(DirectoryRecord {
            at,
            source: source.to_owned(),
            delta: Some(delta.clone()),
            places: None,
        });
        let person = self.estate.person_idx(delta.person.trim())?;
        self.refresh_person(person);
        // Whatever waits was looked up against the directory before this change.
        self.reresolve_through = self.reresolve_through.max(self.max_seen);
        Some(person)
    }

    /// Takes edited places: existing ones keep their positions (the state indexed by them
    /// stays), new ones are appended; an edit that removes or moves a place is refused and
    /// counted (it needs a restart).
    fn apply_places(&mut self, at: Ts, source: &str, places: &seam_model::EstatePlaces) {
        let placed = match self.estate.with_places_from(&places_files(places)) {
            Ok(placed) => placed,
            Err(_) => {
                self.counters.directory_refused += 1;
                return;
            }
        };
        self.estate = Arc::new(placed);
        self.counters.directory_changes += 1;
        self.directory_log.push(DirectoryRecord {
            at,
            source: source.to_owned(),
            delta: None,
            places: Some(places.clone()),
        });
        let estate = &*self.estate;
        if self.world.zones.len() < estate.zones().len() {
            self.world
                .zones
                .resize(estate.zones().len(), ZoneState::default());
        }
        if self.world.assets.len() < estate.assets().len() {
            self.world
                .assets
                .resize(estate.assets().len(), AssetState::default());
        }
        self.watchers = watchers_by_zone(estate);
        self.reresolve_through = self.reresolve_through.max(self.max_seen);
    }

    /// Sizes the per-person state to the directory and takes a changed person's facts again.
    fn refresh_person(&mut self, person: PersonIdx) {
        let people = self.estate.people().len();
        if self.world.people.len() < people {
            self.world.people.resize(people, PersonState::default());
        }
        if self.facts.len() < people {
            self.facts
                .resize(people, PersonFacts::of(self.estate.person(person)));
        }
        if let Some(facts) = self.facts.get_mut(person.index()) {
            *facts = PersonFacts::of(self.estate.person(person));
        }
    }

    fn emit_matches(&mut self, context: Option<&EventContext<'_>>, out: &mut Output) {
        let mut matches = std::mem::take(&mut self.matches);
        for matched in matches.drain(..) {
            if !self.emits(matched.rule) {
                continue;
            }
            let about = context.map(|c| (c.person, &c.places));
            if self.config.apply_tuning
                && kept_back(
                    &self.rules.tuning,
                    &self.rules,
                    &self.estate,
                    &matched,
                    about,
                )
            {
                self.counters.kept_back_by_tuning += 1;
                continue;
            }
            out.findings
                .push(make_finding(&self.rules, &self.estate, &matched, context));
            self.counters.findings += 1;
        }
        self.matches = matches;
    }

    /// Updates presence, identity and device state from one in-order event.
    fn apply(
        &mut self,
        event: &Event,
        person: Option<PersonIdx>,
        places: &Places,
        places_person: bool,
    ) {
        let estate = &*self.estate;
        self.world.identity.learn(event, person);
        let at = event.time;
        let success = event.outcome != Outcome::Failure;
        match (event.class, event.activity) {
            (EventClass::Occupancy, Activity::Count) => {
                if let (Some(zone), Some(count)) = (places.zone, event.count)
                    && let Some(state) = self.world.zones.get_mut(zone.index())
                {
                    state.last_count = Some(count);
                    state.last_count_at = Some(at);
                }
            }
            (EventClass::PhysicalAccess, Activity::DoorUsed | Activity::DoorNotUsed) => {
                // The door reports passages: a grant nobody walks through would show. A forced
                // or held-open alarm proves a position switch, not that passages are logged
                // (systems that keep card reads only still raise those alarms).
                if let Some(door) = places.door {
                    self.world.door_signals.insert(door.0, at);
                }
            }
            (EventClass::DeviceStatus, activity) => {
                if let Some(state) = places
                    .asset
                    .and_then(|a| self.world.assets.get_mut(a.index()))
                {
                    match activity {
                        Activity::Offline => state.offline_since = Some(at),
                        Activity::Online => state.offline_since = None,
                        Activity::ConfigChange => state.config_changed_at = Some(at),
                        _ => {}
                    }
                }
            }
            (EventClass::DeviceInventory, _) | (EventClass::NetworkSession, Activity::Connect) => {
                if let Some(compliant) = event.compliant {
                    let subject = &event.subject;
                    if let Some(mac) = subject.mac.as_deref() {
                        let mac = seam_estate::normalize_identifier(
                            seam_estate::IdentifierKind::Mac,
                            mac,
                        );
                        self.world.posture.insert(mac.into_owned(), compliant);
                    }
                    if let Some(device) = subject.device.as_deref() {
                        self.world.posture.insert(device.to_string(), compliant);
                    }
                }
            }
            (EventClass::NetworkActivity, _) => {
                learn_destination(estate, &mut self.world, event, places);
            }
            _ => {}
        }
        let Some(person) = person.filter(|_| places_person) else {
            return;
        };
        let Some(state) = self.world.people.get_mut(person.index()) else {
            return;
        };
        let before_zone = state.presence.zone;
        match (event.class, event.activity) {
            (EventClass::PhysicalAccess, Activity::Granted | Activity::DoorUsed) => {
                if let Some(door) = places.door.map(|d| estate.door(d)) {
                    if let Some(inside) = state.inside_apb_zone
                        && door.from == Some(inside)
                    {
                        state.inside_apb_zone = None;
                    }
                    match door.to {
                        Some(zone) => {
                            let site = estate.zone(zone).site;
                            state
                                .presence
                                .place(at, Some(site), Some(zone), Signal::Badge);
                            if estate.zone(zone).anti_passback {
                                state.inside_apb_zone = Some(zone);
                            }
                            if event.activity == Activity::Granted {
                                state.remember_grant(site, at);
                                state.badged_into = Some(zone);
                            }
                        }
                        None => {
                            if event.activity == Activity::Granted {
                                state.badged_into = None;
                            }
                            state.presence.place(at, None, None, Signal::BadgeExit);
                        }
                    }
                }
            }
            (EventClass::NetworkSession, Activity::Connect) if success => match event.medium {
                Some(Medium::Wifi) | Some(Medium::Wired) => {
                    if let Some(zone) = places.zone {
                        let signal = if event.medium == Some(Medium::Wifi) {
                            Signal::Wifi
                        } else {
                            Signal::Wired
                        };
                        state
                            .presence
                            .place(at, Some(estate.zone(zone).site), Some(zone), signal);
                    }
                }
                // A VPN session from a site's own egress says nothing about being away.
                Some(Medium::Vpn) if places.source_site(estate).is_none() => {
                    state.presence.place(at, None, None, Signal::Vpn);
                }
                Some(Medium::Vpn) | None => {}
            },
            (EventClass::NetworkSession, Activity::Disconnect) => match event.medium {
                Some(Medium::Wifi) | Some(Medium::Wired) => {
                    if let Some(zone) = places.zone {
                        state.presence.left_network(at, estate.zone(zone).site);
                    }
                }
                Some(Medium::Vpn) => state.presence.vpn_ended(at),
                None => {}
            },
            (EventClass::Authentication, Activity::Logon) if success => {
                if let Some(site) = places.source_site(estate) {
                    state
                        .presence
                        .place(at, Some(site), None, Signal::SiteSignIn);
                }
            }
            (EventClass::Booking, Activity::Booked) => {
                if let Some(zone) = places.zone {
                    let end = event.until.unwrap_or(at.plus_millis(3_600_000));
                    state.add_booking(Booking {
                        start: at,
                        end,
                        zone,
                    });
                }
            }
            (EventClass::Booking, Activity::Cancelled) => {
                state
                    .bookings
                    .retain(|b| !(Some(b.zone) == places.zone && b.start == at));
            }
            _ => {}
        }
        let locating = match event.class {
            EventClass::PhysicalAccess => {
                matches!(event.activity, Activity::Granted | Activity::DoorUsed)
            }
            EventClass::NetworkSession | EventClass::Authentication => success,
            _ => false,
        };
        if locating && let Some((lat, lon, site)) = event_location(estate, event, places) {
            let label = if site.is_some() {
                String::new()
            } else {
                place_name(estate, event, site, lat, lon)
            };
            state.last_location = Some(Located {
                lat,
                lon,
                at,
                site,
                label,
            });
        }
        let after_zone = state.presence.zone;
        if before_zone != after_zone {
            self.world.move_placed(person, before_zone, after_zone);
        }
    }

    /// Captures the whole state. Restoring it and feeding the rest of the input gives the same
    /// findings as never having stopped.
    pub fn snapshot(&self) -> EngineSnapshot {
        let mut buffered: Vec<Event> = self.buffer.iter().cloned().collect();
        buffered.sort_by(|a, b| (a.time, &a.uid).cmp(&(b.time, &b.uid)));
        EngineSnapshot {
            buffered,
            fast_lane: self.fast.as_ref().map(|fast| Box::new(fast.snapshot())),
            ..self.snapshot_without_buffer()
        }
    }

    pub fn snapshot_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.snapshot()).unwrap_or_default()
    }

    /// The state without the events waiting in the reorder buffer, for a caller that keeps
    /// them itself (the service's event log): its size is bounded by the state, not by the
    /// traffic. After [`Engine::restore_bytes`], the caller hands the waiting events back with
    /// [`Engine::push_resumed`], from a position at or before the oldest of them.
    pub fn snapshot_bytes_without_buffer(&self) -> Vec<u8> {
        let snapshot = self.snapshot_without_buffer();
        serde_json::to_vec(&snapshot).unwrap_or_default()
    }

    fn snapshot_without_buffer(&self) -> EngineSnapshot {
        EngineSnapshot {
            format: SNAPSHOT_FORMAT,
            estate_people: self.estate.people().len(),
            world: self.world.clone(),
            rule_state: self.rule_state.clone(),
            buffered: Vec::new(),
            source_max: self.sources.iter().cloned().collect(),
            max_seen: self.max_seen,
            released_through: self.released_through,
            last_released: self.last_released.clone(),
            counters: self.counters.clone(),
            skew_raised: self.skew_raised.clone(),
            fast_lane: self
                .fast
                .as_ref()
                .map(|fast| Box::new(fast.snapshot_without_buffer())),
            directory: self.directory_log.clone(),
            reresolve_through: self.reresolve_through,
        }
    }

    /// The oldest time waiting in the reorder buffer.
    pub fn oldest_buffered(&self) -> Option<Ts> {
        let own = self.buffer.next().map(|(event, _)| event.time);
        let fast = self.fast.as_ref().and_then(|fast| fast.oldest_buffered());
        own.into_iter().chain(fast).min()
    }

    /// Hands back an event that arrived before a snapshot taken without the buffer: one the
    /// engine had already processed (released, late, or dated ahead) is skipped; one that was
    /// waiting waits again. Counters are not counted twice.
    pub fn push_resumed(&mut self, event: Event, out: &mut Output) {
        if self.for_fast_lane(&event)
            && let Some(fast) = &mut self.fast
        {
            fast.push_resumed(event.clone(), out);
        }
        if event.time <= self.released_through || self.is_ahead(&event) {
            return;
        }
        self.counters.events_in = self.counters.events_in.saturating_sub(1);
        let directory = resolve_in_directory(&self.estate, &event);
        self.push_resolved(Queued { event, directory }, out);
        self.feed_fast_lane(std::iter::empty(), out);
    }

    pub fn restore(&mut self, snapshot: EngineSnapshot) -> Result<(), SnapshotError> {
        if snapshot.format != SNAPSHOT_FORMAT {
            return Err(SnapshotError::Format {
                found: snapshot.format,
                expected: SNAPSHOT_FORMAT,
            });
        }
        if !snapshot.directory.is_empty() {
            let estate = Arc::make_mut(&mut self.estate);
            for record in &snapshot.directory {
                // Only what applied was kept: it applies again.
                let _ = record.apply_to(estate);
            }
            self.facts = PersonFacts::of_estate(&self.estate);
            self.watchers = watchers_by_zone(&self.estate);
        }
        self.directory_log = snapshot.directory;
        self.reresolve_through = snapshot.reresolve_through;
        let people = self.estate.people().len();
        if snapshot.estate_people != people || snapshot.world.people.len() != people {
            return Err(SnapshotError::EstateChanged {
                found: snapshot.estate_people,
                expected: people,
            });
        }
        self.world = snapshot.world;
        self.world.reindex_placed();
        self.rule_state = snapshot.rule_state;
        self.buffer = ReorderBuffer::default();
        for event in snapshot.buffered {
            let directory = resolve_in_directory(&self.estate, &event);
            self.buffer.push(Queued { event, directory });
        }
        self.sources = snapshot.source_max.into_iter().collect();
        self.lateness = self
            .sources
            .iter()
            .map(|(name, _)| self.lateness_of(name))
            .collect();
        self.last_source = 0;
        self.skew_raised = snapshot.skew_raised;
        self.max_seen = snapshot.max_seen;
        self.released_through = snapshot.released_through;
        self.last_released = snapshot.last_released;
        self.counters = snapshot.counters;
        // A lane's state restores with it; a snapshot from before the rules were split leaves
        // the fast lane fresh (what it raises again has the same ids, and stores keep one).
        if let (Some(fast), Some(lane)) = (&mut self.fast, snapshot.fast_lane) {
            fast.restore(*lane)?;
        }
        Ok(())
    }

    pub fn restore_bytes(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
        let snapshot: EngineSnapshot = serde_json::from_slice(bytes)?;
        self.restore(snapshot)
    }

    /// Approximate bytes of keyed state (people, zones, assets, bindings), for benchmarks.
    pub fn state_size_estimate(&self) -> usize {
        use std::mem::size_of;
        let people: usize = self
            .world
            .people
            .iter()
            .map(|p| {
                size_of::<PersonState>()
                    + p.bookings.capacity() * size_of::<Booking>()
                    + p.last_location.as_ref().map_or(0, |l| l.label.capacity())
            })
            .sum();
        let zones: usize = self
            .world
            .zones
            .iter()
            .map(|z| size_of::<ZoneState>() + z.placed.len() * 16)
            .sum();
        people
            + zones
            + self.world.assets.len() * size_of::<AssetState>()
            + self.world.identity.len() * 96
    }

    /// Drops identity bindings that ended long ago; call now and then (by event time).
    pub fn prune(&mut self) {
        let horizon = self.released_through.minus_millis(24 * 3_600_000);
        self.world.identity.prune(horizon);
        if let Some(fast) = &mut self.fast {
            fast.prune();
        }
    }
}

/// Prefetches the lines of an event: twenty of its fields, spread so that each 64-byte stretch
/// of its current layout holds one. Should the compiler lay it out otherwise, a line left out
/// costs a cache miss, never a wrong value.
fn prefetch_event(event: &Event) {
    fn line<T>(field: &T) {
        prefetch_index(std::slice::from_ref(field), 0);
    }
    line(&event.uid);
    line(&event.time);
    line(&event.observed);
    line(&event.source);
    line(&event.reason);
    line(&event.subject.badge);
    line(&event.subject.idp_id);
    line(&event.subject.mac);
    line(&event.subject.ip);
    line(&event.src.ip);
    line(&event.src.city);
    line(&event.src.lon);
    line(&event.dst.host);
    line(&event.site);
    line(&event.door);
    line(&event.ap);
    line(&event.asset);
    line(&event.resource);
    line(&event.count);
    line(&event.raw);
}

/// Learns where an asset sends data (see [`crate::destinations`]); traffic to the estate's
/// own addresses is not learned. The owner is there when at the asset's site, not in a zone
/// where nobody sits at a desk, or on the VPN.
fn learn_destination(estate: &Estate, world: &mut WorldState, event: &Event, places: &Places) {
    let (Some(asset), Some(ip)) = (places.asset, event.dst.ip) else {
        return;
    };
    let bytes = event.bytes_out.unwrap_or(0);
    let internal = estate.network_for_ip(ip).is_some()
        || estate.site_for_egress(ip).is_some()
        || estate.asset_by_ip(ip).is_some();
    if bytes == 0 || internal {
        return;
    }
    let site = estate.zone(estate.asset(asset).zone).site;
    // At the machine's site and not somewhere one does not sit at a desk (a meeting, the
    // cafe, a classified area), or working on it over the VPN.
    let at_a_desk = |zone: Option<seam_estate::ZoneIdx>| {
        zone.is_none_or(|zone| {
            !matches!(
                estate.zone(zone).kind,
                ZoneKind::Meeting
                    | ZoneKind::ServerRoom
                    | ZoneKind::Classified
                    | ZoneKind::Common
                    | ZoneKind::Restricted
                    | ZoneKind::Parking
            )
        })
    };
    let owner_there = estate.asset(asset).owner.is_some_and(|owner| {
        world
            .people
            .get(owner.index())
            .and_then(|state| state.presence.view(event.time))
            .is_some_and(|view| {
                (view.site == Some(site) && at_a_desk(view.zone)) || view.signal == Signal::Vpn
            })
    });
    world
        .destinations
        .entry(asset.0)
        .or_default()
        .learn(ip, event.time, bytes, owner_there);
}

/// Whether the pack's tuning keeps a match back: its rule switched off at the site, or an
/// exception for what it is about. What it is about comes from the match's group values
/// (`person.uid`, `asset.id`, `zone.id`, `site.id`), then from the event that completed it.
fn kept_back(
    tuning: &crate::tuning::Tuning,
    rules: &CompiledRules,
    estate: &Estate,
    matched: &Match,
    about: Option<(Option<PersonIdx>, &Places)>,
) -> bool {
    if tuning.is_empty() {
        return false;
    }
    let Some(meta) = rules.set.rules().get(matched.rule) else {
        return false;
    };
    let group = |name: &str| {
        matched
            .group
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let places = about.map(|(_, places)| places);
    let scope = crate::tuning::Scope {
        person: group("person.uid").or_else(|| {
            about
                .and_then(|(person, _)| person)
                .map(|p| estate.person(p).id.as_str())
        }),
        asset: group("asset.id").or_else(|| {
            places
                .and_then(|p| p.asset)
                .map(|a| estate.asset(a).id.as_str())
        }),
        zone: group("zone.id").or_else(|| {
            places
                .and_then(|p| p.zone)
                .map(|z| estate.zone(z).id.as_str())
        }),
        site: group("site.id").or_else(|| {
            places
                .and_then(|p| p.site)
                .map(|s| estate.site(s).id.as_str())
                .or_else(|| {
                    group("zone.id")
                        .and_then(|z| estate.zone_idx(z))
                        .map(|z| estate.site(estate.zone(z).site).id.as_str())
                })
        }),
    };
    tuning
        .keeps_back(&meta.id, Ts(matched.time), &scope)
        .is_some()
}

/// For each zone, the assets in it or covering it.
fn watchers_by_zone(estate: &Estate) -> Vec<Vec<AssetIdx>> {
    let mut watchers = vec![Vec::new(); estate.zones().len()];
    for asset in estate.assets() {
        let Some(idx) = estate.asset_idx(&asset.id) else {
            continue;
        };
        let watching = asset
            .covers
            .iter()
            .copied()
            .chain(std::iter::once(asset.zone));
        for zone in watching {
            if let Some(list) = watchers.get_mut(zone.index())
                && !list.contains(&idx)
            {
                list.push(idx);
            }
        }
    }
    watchers
}

/// Whether the device an event names (by name, host name or MAC, or the asset it resolved to)
/// is one that stays put: a workstation, a server, a controller. Laptops and phones travel
/// with their owners, and a device the estate does not describe is taken as one that may.
fn fixed_device(estate: &Estate, event: &Event, places: &Places) -> bool {
    use seam_estate::AssetKind;
    let named = event
        .subject
        .device
        .as_deref()
        .and_then(|d| estate.asset_by_name(d))
        .or_else(|| {
            event
                .subject
                .mac
                .as_deref()
                .and_then(|mac| estate.asset_by_mac(mac))
        })
        .or(places.asset);
    named.is_some_and(|asset| {
        !matches!(
            estate.asset(asset).kind,
            AssetKind::Laptop | AssetKind::Phone | AssetKind::Other
        )
    })
}

/// Dresses a match as an OCSF finding with a stable id and a plain explanation.
pub fn make_finding(
    rules: &CompiledRules,
    estate: &Estate,
    matched: &Match,
    context: Option<&EventContext<'_>>,
) -> Finding {
    let meta = rules.set.rules().get(matched.rule);
    let text = |value: Option<&String>| value.map(String::as_str).unwrap_or_default().to_string();
    let rule_id = meta.map_or("unknown", |m| m.id.as_str());
    let title = meta.map_or("unknown rule", |m| m.title.as_str());
    let description = text(meta.and_then(|m| m.description.as_ref()));
    let author = text(meta.and_then(|m| m.author.as_ref()));
    let level = meta
        .and_then(|m| m.level)
        .map_or("informational", |level| level.as_str());
    let tags = meta.map(|m| m.tags.clone()).unwrap_or_default();
    let template = meta.and_then(|m| m.explanation.as_deref());
    let kind = meta.map_or(RuleKind::Detection, |m| m.kind);
    let group_value = |name: &str| {
        matched
            .group
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let person_uid = group_value("person.uid").or_else(|| {
        (kind == RuleKind::Detection || matched.group.is_empty())
            .then(|| {
                context
                    .and_then(|c| c.person)
                    .map(|p| estate.person(p).id.clone())
            })
            .flatten()
    });
    let person_name = person_uid
        .as_deref()
        .and_then(|uid| estate.person_idx(uid))
        .map(|p| estate.person(p).name.clone());
    let explanation = match template {
        Some(template) => seam_rules::render_explanation(template, |name| {
            group_value(name).or_else(|| match name {
                "person.uid" => person_uid.clone(),
                "person.name" => person_name.clone(),
                "match.count" => Some(matched.count.to_string()),
                _ => context.and_then(|c| c.text_of(name)),
            })
        }),
        None => format!("{title} ({} matching events)", matched.count),
    };
    // An approved change covering the matched activity is named; rules that it silences never
    // get here (see `Engine::process`).
    let change = context
        .and_then(EventContext::approved_change)
        .map(str::to_string);
    let explanation = match &change {
        Some(number) => format!("{explanation} (during approved change {number})"),
        None => explanation,
    };
    let uid = finding_uid(rule_id, matched.time, &matched.group, &matched.evidence);
    Finding::new(FindingParts {
        uid,
        rule_id: rule_id.to_string(),
        rule_title: title.to_string(),
        rule_description: description,
        rule_author: author,
        rule_kind: rule_kind_name(kind).to_string(),
        tags,
        severity: Severity::from_level(level),
        time: Ts(matched.time),
        first_seen: Ts(matched.first_time),
        person_uid,
        person_name,
        group: matched.group.clone(),
        evidence: matched.evidence.clone(),
        explanation,
        late: matched.late,
        count: matched.count,
        change,
    })
}

/// A finding's id: a digest of its rule, time, group and evidence, so that a replay that
/// finds the same thing again makes the same id (and stores deduplicate it).
fn finding_uid(
    rule_id: &str,
    time: i64,
    group: &[(String, String)],
    evidence: &[String],
) -> String {
    let mut digest = Sha256::new();
    digest.update(rule_id.as_bytes());
    digest.update([0]);
    digest.update(time.to_le_bytes());
    for (name, value) in group {
        digest.update(name.as_bytes());
        digest.update([0]);
        digest.update(value.as_bytes());
        digest.update([0]);
    }
    for uid in evidence {
        digest.update(uid.as_bytes());
        digest.update([0]);
    }
    digest
        .finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The engine's own finding for a source whose clock leads (`offset_ms` > 0) or trails its
/// reference time beyond the bounds, raised at the reference time `at`.
fn clock_skew_finding(event: &Event, at: Ts, offset_ms: i64) -> Finding {
    let (direction, title) = if offset_ms > 0 {
        ("ahead", "A source's clock runs ahead")
    } else {
        ("behind", "A source's clock runs behind or it delivers late")
    };
    let offset = describe_offset(offset_ms.unsigned_abs());
    let explanation = if offset_ms > 0 {
        format!(
            "Source `{}` sent event `{}` dated {offset} ahead of the time it was received: it was kept and checked by single-event rules, but it moves no watermark, so it cannot make other sources' events late. Check the sender's clock (NTP) and time zone.",
            event.source, event.uid
        )
    } else {
        format!(
            "Source `{}` sent event `{}` dated {offset} before it was received, more than the source may deliver late. Check the sender's clock and time zone, or declare how late this source delivers.",
            event.source, event.uid
        )
    };
    let group = vec![
        ("source".to_string(), event.source.clone()),
        ("direction".to_string(), direction.to_string()),
        ("offset_ms".to_string(), offset_ms.to_string()),
    ];
    let evidence = vec![event.uid.clone()];
    let uid = finding_uid(CLOCK_SKEW_RULE, at.millis(), &group, &evidence);
    Finding::new(FindingParts {
        uid,
        rule_id: CLOCK_SKEW_RULE.to_string(),
        rule_title: title.to_string(),
        rule_description: "An event's time lies outside what its source's clock and delivery allow; a wrong clock, a wrong time zone, or a forged date.".to_string(),
        rule_author: "Seam".to_string(),
        rule_kind: "detection".to_string(),
        tags: vec!["seam.health".to_string(), "attack.t1070.006".to_string()],
        severity: Severity::from_level("medium"),
        time: at,
        first_seen: at,
        person_uid: None,
        person_name: None,
        group,
        evidence,
        explanation,
        late: false,
        count: 1,
        change: None,
    })
}

/// An offset in words: `6 d 0 h`, `12 min 5 s`, `850 ms`.
fn describe_offset(ms: u64) -> String {
    let seconds = ms / 1000;
    if seconds >= 86_400 {
        format!("{} d {} h", seconds / 86_400, seconds % 86_400 / 3600)
    } else if seconds >= 3600 {
        format!("{} h {} min", seconds / 3600, seconds % 3600 / 60)
    } else if seconds >= 60 {
        format!("{} min {} s", seconds / 60, seconds % 60)
    } else if seconds > 0 {
        format!("{seconds} s")
    } else {
        format!("{ms} ms")
    }
}

fn rule_kind_name(kind: RuleKind) -> &'static str {
    match kind {
        RuleKind::Detection => "detection",
        RuleKind::EventCount => "event_count",
        RuleKind::ValueCount => "value_count",
        RuleKind::ValueSum => "value_sum",
        RuleKind::ValueAvg => "value_avg",
        RuleKind::ValueMedian => "value_median",
        RuleKind::Temporal => "temporal",
        RuleKind::TemporalOrdered => "temporal_ordered",
        RuleKind::Absence => "absence",
    }
}
