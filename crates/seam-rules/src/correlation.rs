//! Correlation windows: the per-key state of each correlation type and how events and timers
//! move it. Everything here is keyed by the caller ([`crate::state`]); a window only sees the
//! occurrences of its own key.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::document::CountOp;
use crate::meta::RuleKind;

/// Most evidence uids a finding carries: the first half and the most recent half are kept.
pub const MAX_EVIDENCE: usize = 64;
/// Most pending triggers of an absence correlation per key; the oldest is dropped beyond it.
pub const MAX_PENDING_PER_KEY: usize = 64;
/// Most events a sliding window keeps per key (and the largest `gt`/`gte` threshold).
pub const MAX_WINDOW_EVENTS: usize = 100_000;
/// Most windows awaiting their end per key, for conditions judged at window end.
const MAX_OPEN_WINDOWS: usize = 64;

/// A compiled correlation rule.
#[derive(Clone, Debug)]
pub(crate) struct Correlation {
    pub kind: RuleKind,
    pub span: i64,
    pub group_names: Vec<String>,
    pub conditions: Vec<(CountOp, u64)>,
    /// Some condition (lt, lte, eq, neq) can only be judged once the window has closed.
    pub at_window_end: bool,
    /// How many rules are listed under `rules`.
    pub members: usize,
}

impl Correlation {
    fn holds(&self, count: u64) -> bool {
        self.conditions
            .iter()
            .all(|(operator, threshold)| operator.holds(count, *threshold))
    }
}

/// What an upstream rule is to a correlation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Position in the correlation's `rules` list (the trigger, for absence).
    Member(usize),
    /// One of an absence correlation's `absent` rules.
    Absent,
}

/// One upstream match arriving at a correlation, already keyed.
#[derive(Debug)]
pub(crate) struct Occurrence<'a> {
    pub time: i64,
    pub roles: &'a [Role],
    /// value_count: the value of the counted field.
    pub value: Option<String>,
    pub evidence: Evidence<'a>,
}

/// The uids an occurrence carries, borrowed: most occurrences only cancel or count, and a
/// window copies the uids only when it keeps them.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Evidence<'a> {
    /// The single event a detection matched.
    One(&'a str),
    /// The evidence of an upstream correlation's finding.
    Many(&'a [String]),
}

impl Evidence<'_> {
    pub fn to_vec(self) -> Vec<String> {
        match self {
            Evidence::One(uid) => vec![uid.to_owned()],
            Evidence::Many(uids) => uids.to_vec(),
        }
    }
}

/// A correlation finding before the group values are attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fired {
    pub time: i64,
    pub first_time: i64,
    pub evidence: Vec<String>,
    pub count: u64,
}

/// Keeps the first occurrence of each uid, then at most [`MAX_EVIDENCE`] of them: the first
/// half and the most recent half.
pub(crate) fn bound_evidence<'a>(uids: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut unique: Vec<String> = Vec::new();
    for uid in uids {
        if seen.insert(uid.as_str()) {
            unique.push(uid.clone());
        }
    }
    if unique.len() > MAX_EVIDENCE {
        let half = MAX_EVIDENCE / 2;
        let tail_start = unique.len() - half;
        unique.drain(half..tail_start);
    }
    unique
}

/// Evidence of a window, in time order, bounded as it grows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EvidenceLog {
    items: VecDeque<(i64, Vec<String>)>,
}

impl EvidenceLog {
    fn push(&mut self, time: i64, uids: Vec<String>) {
        let at = self
            .items
            .partition_point(|(existing, _)| *existing <= time);
        self.items.insert(at, (time, uids));
        if self.items.len() > MAX_EVIDENCE {
            // Drop from the middle: the first and the most recent stay.
            self.items.remove(MAX_EVIDENCE / 2);
        }
    }

    fn prune_before(&mut self, cutoff: i64) {
        while self.items.front().is_some_and(|(time, _)| *time < cutoff) {
            self.items.pop_front();
        }
    }

    fn collect(&self) -> Vec<String> {
        bound_evidence(self.items.iter().flat_map(|(_, uids)| uids.iter()))
    }
}

/// event_count / value_count with `gt`/`gte`: a sliding window that fires on the event that
/// makes the condition true.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SlidingWindow {
    /// (time, counted value) in time order.
    events: VecDeque<(i64, Option<String>)>,
    /// value_count: how many events in the window carry each value.
    values: BTreeMap<String, u64>,
    /// value_sum: the sum of the values that are whole non-negative numbers (not written when
    /// zero, so that snapshots of windows without sums stay as they were).
    #[serde(default, skip_serializing_if = "is_zero")]
    sum: u64,
    evidence: EvidenceLog,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// A value_sum's addend: a whole non-negative number (bytes, counts); anything else adds 0.
fn addend(value: &str) -> u64 {
    value.trim().parse::<u64>().unwrap_or(0)
}

impl SlidingWindow {
    /// The window's values that are whole non-negative numbers, for a mean or a median; other
    /// values are not counted (a missing number is not a zero).
    fn numbers(&self) -> Vec<u64> {
        self.events
            .iter()
            .filter_map(|(_, value)| value.as_deref()?.trim().parse::<u64>().ok())
            .collect()
    }

    fn on_occurrence(
        &mut self,
        correlation: &Correlation,
        occurrence: Occurrence<'_>,
    ) -> (Option<Fired>, u64) {
        let time = occurrence.time;
        let at = self
            .events
            .partition_point(|(existing, _)| *existing <= time);
        if let Some(value) = &occurrence.value {
            *self.values.entry(value.clone()).or_insert(0) += 1;
            self.sum = self.sum.saturating_add(addend(value));
        }
        self.events.insert(at, (time, occurrence.value));
        self.evidence.push(time, occurrence.evidence.to_vec());
        let newest = self.events.back().map_or(time, |(latest, _)| *latest);
        self.prune_before(newest.saturating_sub(correlation.span));
        let mut dropped = 0;
        while self.events.len() > MAX_WINDOW_EVENTS {
            self.pop_front();
            dropped += 1;
        }
        let count = match correlation.kind {
            RuleKind::ValueCount => u64::try_from(self.values.len()).unwrap_or(u64::MAX),
            RuleKind::ValueSum => self.sum,
            RuleKind::ValueAvg => {
                let numbers = self.numbers();
                let total: u128 = numbers.iter().map(|n| u128::from(*n)).sum();
                let len = u128::try_from(numbers.len()).unwrap_or(u128::MAX).max(1);
                u64::try_from(total / len).unwrap_or(u64::MAX)
            }
            RuleKind::ValueMedian => {
                let mut numbers = self.numbers();
                numbers.sort_unstable();
                match numbers.len() {
                    0 => 0,
                    len if len % 2 == 1 => numbers.get(len / 2).copied().unwrap_or(0),
                    len => {
                        let low = u128::from(numbers.get(len / 2 - 1).copied().unwrap_or(0));
                        let high = u128::from(numbers.get(len / 2).copied().unwrap_or(0));
                        u64::try_from((low + high) / 2).unwrap_or(u64::MAX)
                    }
                }
            }
            _ => u64::try_from(self.events.len()).unwrap_or(u64::MAX),
        };
        if !correlation.holds(count) {
            return (None, dropped);
        }
        let fired = Fired {
            time,
            first_time: self.events.front().map_or(time, |(first, _)| *first),
            evidence: self.evidence.collect(),
            count,
        };
        // The next finding needs fresh evidence.
        *self = SlidingWindow::default();
        (Some(fired), dropped)
    }

    fn pop_front(&mut self) {
        if let Some((_, Some(value))) = self.events.pop_front() {
            self.sum = self.sum.saturating_sub(addend(&value));
            if let Some(count) = self.values.get_mut(&value) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    self.values.remove(&value);
                }
            }
        }
    }

    fn prune_before(&mut self, cutoff: i64) {
        while self.events.front().is_some_and(|(time, _)| *time < cutoff) {
            self.pop_front();
        }
        self.evidence.prune_before(cutoff);
    }

    fn deadline(&self, correlation: &Correlation) -> Option<i64> {
        expiry(self.events.front()?.0, correlation.span)
    }
}

/// When state at `time` can no longer matter: no event at or after the watermark can reach it.
fn expiry(time: i64, span: i64) -> Option<i64> {
    Some(time.saturating_add(span).saturating_add(1))
}

/// When an absent-rule match at `time` can no longer cancel anything: triggers it cancels are
/// at or before it, and once the watermark is past it no such trigger is expected.
fn absent_expiry(time: i64) -> i64 {
    time.saturating_add(1)
}

/// event_count / value_count with a condition judged at window end (lt, lte, eq, neq): the
/// first event opens a window of `timespan`; a timer at its end decides.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ClosingWindows {
    windows: VecDeque<ClosingWindow>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct ClosingWindow {
    start: i64,
    end: i64,
    count: u64,
    values: BTreeSet<String>,
    evidence: EvidenceLog,
}

impl ClosingWindows {
    fn on_occurrence(&mut self, correlation: &Correlation, occurrence: Occurrence<'_>) -> u64 {
        let time = occurrence.time;
        let mut dropped = 0;
        let open = self
            .windows
            .iter()
            .rposition(|window| window.start <= time && time <= window.end);
        let index = match open {
            Some(index) => index,
            None => {
                let mut at = self.windows.partition_point(|window| window.start <= time);
                if self.windows.len() >= MAX_OPEN_WINDOWS {
                    // Full: the oldest window gives way, unless the new one would be the oldest.
                    if at == 0 {
                        return 1;
                    }
                    self.windows.pop_front();
                    dropped += 1;
                    at -= 1;
                }
                self.windows.insert(
                    at,
                    ClosingWindow {
                        start: time,
                        end: time.saturating_add(correlation.span),
                        ..ClosingWindow::default()
                    },
                );
                at
            }
        };
        if let Some(window) = self.windows.get_mut(index) {
            window.count = window.count.saturating_add(1);
            if let Some(value) = occurrence.value
                && (window.values.len() < MAX_WINDOW_EVENTS || window.values.contains(&value))
            {
                window.values.insert(value);
            }
            window.evidence.push(time, occurrence.evidence.to_vec());
        }
        dropped
    }

    fn on_timer(&mut self, correlation: &Correlation, deadline: i64) -> Vec<Fired> {
        let mut fired = Vec::new();
        while let Some(window) = self.windows.front() {
            if window.end > deadline {
                break;
            }
            let Some(window) = self.windows.pop_front() else {
                break;
            };
            let count = if correlation.kind == RuleKind::ValueCount {
                u64::try_from(window.values.len()).unwrap_or(u64::MAX)
            } else {
                window.count
            };
            if correlation.holds(count) {
                fired.push(Fired {
                    time: window.end,
                    first_time: window.start,
                    evidence: window.evidence.collect(),
                    count,
                });
            }
        }
        fired
    }

    fn deadline(&self) -> Option<i64> {
        self.windows.iter().map(|window| window.end).min()
    }
}

/// temporal: every listed rule (or as many as the condition asks) matched for the key within
/// the timespan, in any order. Keeps each rule's latest match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TemporalWindow {
    latest: Vec<Option<(i64, Vec<String>)>>,
}

impl TemporalWindow {
    fn on_occurrence(
        &mut self,
        correlation: &Correlation,
        occurrence: Occurrence<'_>,
    ) -> Option<Fired> {
        let time = occurrence.time;
        for role in occurrence.roles {
            if let Role::Member(index) = role
                && let Some(slot) = self.latest.get_mut(*index)
                && slot.as_ref().is_none_or(|(existing, _)| *existing <= time)
            {
                *slot = Some((time, occurrence.evidence.to_vec()));
            }
        }
        let newest = self
            .latest
            .iter()
            .flatten()
            .map(|(time, _)| *time)
            .max()
            .unwrap_or(time);
        self.prune_before(newest.saturating_sub(correlation.span));
        let present = self.latest.iter().flatten().count();
        let satisfied = if correlation.conditions.is_empty() {
            present == correlation.members
        } else {
            correlation.holds(u64::try_from(present).unwrap_or(u64::MAX))
        };
        if !satisfied {
            return None;
        }
        let mut matched: Vec<&(i64, Vec<String>)> = self.latest.iter().flatten().collect();
        matched.sort_by_key(|(time, _)| *time);
        let fired = Fired {
            time,
            first_time: matched.first().map_or(time, |(first, _)| *first),
            evidence: bound_evidence(matched.iter().flat_map(|(_, uids)| uids.iter())),
            count: u64::try_from(present).unwrap_or(u64::MAX),
        };
        for slot in &mut self.latest {
            *slot = None;
        }
        Some(fired)
    }

    fn prune_before(&mut self, cutoff: i64) {
        for slot in &mut self.latest {
            if slot.as_ref().is_some_and(|(time, _)| *time < cutoff) {
                *slot = None;
            }
        }
    }

    fn deadline(&self, correlation: &Correlation) -> Option<i64> {
        let oldest = self.latest.iter().flatten().map(|(time, _)| *time).min()?;
        expiry(oldest, correlation.span)
    }
}

/// temporal_ordered: the listed rules in order, each at or after the previous, all within the
/// timespan. For each step it keeps the partial sequence with the latest start, which is the
/// one with the most time left.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OrderedWindow {
    chains: Vec<Option<Chain>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Chain {
    start: i64,
    last: i64,
    evidence: Vec<(i64, Vec<String>)>,
}

impl OrderedWindow {
    fn on_occurrence(
        &mut self,
        correlation: &Correlation,
        occurrence: Occurrence<'_>,
    ) -> Option<Fired> {
        let time = occurrence.time;
        let cutoff = time.saturating_sub(correlation.span);
        self.prune_before(cutoff);
        let mut steps: Vec<usize> = occurrence
            .roles
            .iter()
            .filter_map(|role| match role {
                Role::Member(index) => Some(*index),
                Role::Absent => None,
            })
            .collect();
        // Later steps first, so one event never fills two steps of the same sequence.
        steps.sort_unstable_by(|left, right| right.cmp(left));
        for step in steps {
            let candidate = if step == 0 {
                Chain {
                    start: time,
                    last: time,
                    evidence: vec![(time, occurrence.evidence.to_vec())],
                }
            } else {
                match self.chains.get(step - 1) {
                    Some(Some(previous)) if previous.last <= time && previous.start >= cutoff => {
                        let mut extended = previous.clone();
                        extended.last = time;
                        extended.evidence.push((time, occurrence.evidence.to_vec()));
                        extended
                    }
                    _ => continue,
                }
            };
            if step + 1 == correlation.members {
                let fired = Fired {
                    time,
                    first_time: candidate.start,
                    evidence: bound_evidence(
                        candidate.evidence.iter().flat_map(|(_, uids)| uids.iter()),
                    ),
                    count: u64::try_from(correlation.members).unwrap_or(u64::MAX),
                };
                for chain in &mut self.chains {
                    *chain = None;
                }
                return Some(fired);
            }
            if let Some(slot) = self.chains.get_mut(step)
                && slot
                    .as_ref()
                    .is_none_or(|existing| existing.start <= candidate.start)
            {
                *slot = Some(candidate);
            }
        }
        None
    }

    fn prune_before(&mut self, cutoff: i64) {
        for chain in &mut self.chains {
            if chain.as_ref().is_some_and(|chain| chain.start < cutoff) {
                *chain = None;
            }
        }
    }

    fn deadline(&self, correlation: &Correlation) -> Option<i64> {
        let oldest = self
            .chains
            .iter()
            .flatten()
            .map(|chain| chain.start)
            .min()?;
        expiry(oldest, correlation.span)
    }
}

/// absence (Seam extension): a trigger not followed, for the same key, by any absent rule with
/// a time in `[trigger, trigger + timespan]`. Judged only by the timer at the deadline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AbsenceWindow {
    pending: VecDeque<Pending>,
    /// Times of recent absent-rule matches, so a trigger that arrives after its cancelling
    /// event is still cancelled. An absent match at `a` cancels only triggers at or before
    /// `a`, and no event earlier than the watermark is expected, so it is kept until the
    /// watermark passes `a` (see [`absent_expiry`]): a person's badge at one site leaves no
    /// state behind for the next ten minutes just in case.
    absent_times: VecDeque<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Pending {
    time: i64,
    deadline: i64,
    evidence: Vec<String>,
}

impl AbsenceWindow {
    fn on_occurrence(&mut self, correlation: &Correlation, occurrence: Occurrence<'_>) -> u64 {
        let time = occurrence.time;
        let mut dropped = 0;
        if occurrence.roles.contains(&Role::Absent) {
            self.pending
                .retain(|pending| !(pending.time <= time && time <= pending.deadline));
            let at = self
                .absent_times
                .partition_point(|existing| *existing <= time);
            self.absent_times.insert(at, time);
            if self.absent_times.len() > MAX_PENDING_PER_KEY {
                self.absent_times.pop_front();
            }
        }
        let is_trigger = occurrence
            .roles
            .iter()
            .any(|role| matches!(role, Role::Member(_)));
        if is_trigger {
            let deadline = time.saturating_add(correlation.span);
            let cancelled = self
                .absent_times
                .iter()
                .any(|absent| time <= *absent && *absent <= deadline);
            if !cancelled {
                let at = self.pending.partition_point(|pending| pending.time <= time);
                self.pending.insert(
                    at,
                    Pending {
                        time,
                        deadline,
                        evidence: occurrence.evidence.to_vec(),
                    },
                );
                if self.pending.len() > MAX_PENDING_PER_KEY {
                    self.pending.pop_front();
                    dropped += 1;
                }
            }
        }
        dropped
    }

    fn on_timer(&mut self, deadline: i64) -> Vec<Fired> {
        let mut fired = Vec::new();
        while self
            .pending
            .front()
            .is_some_and(|pending| pending.deadline <= deadline)
        {
            if let Some(pending) = self.pending.pop_front() {
                fired.push(Fired {
                    time: pending.deadline,
                    first_time: pending.time,
                    evidence: bound_evidence(pending.evidence.iter()),
                    count: 1,
                });
            }
        }
        while self
            .absent_times
            .front()
            .is_some_and(|absent| absent_expiry(*absent) <= deadline)
        {
            self.absent_times.pop_front();
        }
        fired
    }

    fn deadline(&self) -> Option<i64> {
        let pending = self.pending.iter().map(|pending| pending.deadline).min();
        let absent = self
            .absent_times
            .front()
            .map(|absent| absent_expiry(*absent));
        match (pending, absent) {
            (Some(left), Some(right)) => Some(left.min(right)),
            (left, right) => left.or(right),
        }
    }
}

/// The state of one correlation for one key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Window {
    Sliding(SlidingWindow),
    Closing(ClosingWindows),
    Temporal(TemporalWindow),
    Ordered(OrderedWindow),
    Absence(AbsenceWindow),
}

impl Window {
    pub fn new(correlation: &Correlation) -> Window {
        match correlation.kind {
            RuleKind::EventCount | RuleKind::ValueCount if correlation.at_window_end => {
                Window::Closing(ClosingWindows::default())
            }
            RuleKind::Temporal => Window::Temporal(TemporalWindow {
                latest: vec![None; correlation.members],
            }),
            RuleKind::TemporalOrdered => Window::Ordered(OrderedWindow {
                chains: vec![None; correlation.members],
            }),
            RuleKind::Absence => Window::Absence(AbsenceWindow::default()),
            RuleKind::EventCount
            | RuleKind::ValueCount
            | RuleKind::ValueSum
            | RuleKind::ValueAvg
            | RuleKind::ValueMedian
            | RuleKind::Detection => Window::Sliding(SlidingWindow::default()),
        }
    }

    /// Whether this state belongs to `correlation` (a restored snapshot may not).
    pub fn fits(&self, correlation: &Correlation) -> bool {
        match self {
            Window::Sliding(_) => {
                (matches!(
                    correlation.kind,
                    RuleKind::EventCount | RuleKind::ValueCount
                ) || correlation.kind.is_value_statistic())
                    && !correlation.at_window_end
            }
            Window::Closing(_) => {
                matches!(
                    correlation.kind,
                    RuleKind::EventCount | RuleKind::ValueCount
                ) && correlation.at_window_end
            }
            Window::Temporal(window) => {
                correlation.kind == RuleKind::Temporal && window.latest.len() == correlation.members
            }
            Window::Ordered(window) => {
                correlation.kind == RuleKind::TemporalOrdered
                    && window.chains.len() == correlation.members
            }
            Window::Absence(_) => correlation.kind == RuleKind::Absence,
        }
    }

    /// Applies one occurrence; returns a finding if it completes one, and how many pending
    /// items the bounds dropped.
    pub fn on_occurrence(
        &mut self,
        correlation: &Correlation,
        occurrence: Occurrence<'_>,
    ) -> (Option<Fired>, u64) {
        match self {
            Window::Sliding(window) => window.on_occurrence(correlation, occurrence),
            Window::Closing(window) => (None, window.on_occurrence(correlation, occurrence)),
            Window::Temporal(window) => (window.on_occurrence(correlation, occurrence), 0),
            Window::Ordered(window) => (window.on_occurrence(correlation, occurrence), 0),
            Window::Absence(window) => (None, window.on_occurrence(correlation, occurrence)),
        }
    }

    /// Runs the timer due at `deadline`: judges closed windows, fires absences and drops state
    /// that can no longer matter.
    pub fn on_timer(&mut self, correlation: &Correlation, deadline: i64) -> Vec<Fired> {
        let cutoff = deadline.saturating_sub(correlation.span);
        match self {
            Window::Sliding(window) => {
                window.prune_before(cutoff);
                Vec::new()
            }
            Window::Closing(window) => window.on_timer(correlation, deadline),
            Window::Temporal(window) => {
                window.prune_before(cutoff);
                Vec::new()
            }
            Window::Ordered(window) => {
                window.prune_before(cutoff);
                Vec::new()
            }
            Window::Absence(window) => window.on_timer(deadline),
        }
    }

    pub fn deadline(&self, correlation: &Correlation) -> Option<i64> {
        match self {
            Window::Sliding(window) => window.deadline(correlation),
            Window::Closing(window) => window.deadline(),
            Window::Temporal(window) => window.deadline(correlation),
            Window::Ordered(window) => window.deadline(correlation),
            Window::Absence(window) => window.deadline(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Window::Sliding(window) => window.events.is_empty(),
            Window::Closing(window) => window.windows.is_empty(),
            Window::Temporal(window) => window.latest.iter().all(Option::is_none),
            Window::Ordered(window) => window.chains.iter().all(Option::is_none),
            Window::Absence(window) => window.pending.is_empty() && window.absent_times.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_keeps_first_and_latest() {
        let uids: Vec<String> = (0..100).map(|index| format!("e{index}")).collect();
        let bounded = bound_evidence(uids.iter());
        assert_eq!(bounded.len(), MAX_EVIDENCE);
        assert_eq!(bounded[0], "e0");
        assert_eq!(bounded[31], "e31");
        assert_eq!(bounded[32], "e68");
        assert_eq!(bounded[63], "e99");
        let repeated = ["a".to_owned(), "b".to_owned(), "a".to_owned()];
        assert_eq!(bound_evidence(repeated.iter()), vec!["a", "b"]);
    }

    #[test]
    fn evidence_log_stays_bounded_and_ordered() {
        let mut log = EvidenceLog::default();
        for time in (0..200).rev() {
            log.push(time, vec![format!("e{time}")]);
        }
        let collected = log.collect();
        assert!(collected.len() <= MAX_EVIDENCE);
        let times: Vec<i64> = log.items.iter().map(|(time, _)| *time).collect();
        let mut sorted = times.clone();
        sorted.sort_unstable();
        assert_eq!(times, sorted);
    }
}
