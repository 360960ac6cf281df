//! All mutable correlation state, keyed by (rule, group values), with one timer per key.
//!
//! Every correlation arrival looks its key up here, so the representation is built for that:
//!
//! - A key is one byte string: the rule index (big-endian) and then each group value, escaped
//!   and terminated (see [`push_group_value`]). The encoding preserves the order of
//!   `(rule, [values])`, so sorting encoded keys sorts keys the way findings must be ordered.
//!   Callers encode into a reused buffer; short keys are stored inline, without allocation.
//! - Keys map to slots of a slab through a hash map with a per-process random seed (group
//!   values come from events, so an attacker chooses them; a fixed seed would let crafted
//!   values collide). Nothing that leaves this module depends on the map's iteration order:
//!   snapshots are written sorted by key, and timers are ordered by key bytes.
//! - Timers live in a binary heap of `(deadline, rule, slot)`. A key has one entry there, its
//!   *anchor*, at or before its deadline: when a window slides its deadline later (the usual
//!   move) nothing is pushed, and when the anchor surfaces early it is pushed again at the
//!   key's current deadline. Entries of keys that went away, or moved earlier, are stale and
//!   skipped. "Is anything due?" is one look at the top of the heap.
//!
//! The serialized form is the one this state has always had (a list of `[key, entry]` pairs
//! with the group as a list of strings, and the list of timers), written in sorted order, so
//! snapshots are byte-deterministic and older snapshots restore unchanged. (Absence windows
//! now forget an absent-rule match as soon as the watermark passes it, so a snapshot may hold
//! less than an older version wrote for the same input; the findings are the same.)

use std::borrow::Borrow;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{Hash, Hasher};

use foldhash::fast::RandomState;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::correlation::{Correlation, Window};

/// Heap entries beyond this many plus twice the live timers trigger a rebuild of the heap.
const HEAP_SLACK: usize = 1024;

/// Correlation state for one [`crate::RuleSet`]: windows keyed by (rule, group key) and their
/// timers. Serialize it to snapshot; a restored state continues exactly where it stopped.
/// A state belongs to the rule set that produced it (keys hold rule indices).
#[derive(Clone, Debug, Default)]
pub struct RuleState {
    /// Encoded key -> slot in `slots`.
    index: HashMap<KeyBytes, u32, RandomState>,
    slots: Vec<Option<Slot>>,
    /// Free positions in `slots`, reused last-freed first.
    free: Vec<u32>,
    /// Registered deadlines, possibly with stale entries (see the module documentation).
    timers: BinaryHeap<Reverse<TimerRef>>,
    /// Timers popped from the heap and not yet handed out: one (deadline, rule), sorted by key
    /// bytes descending, so the next one is at the end.
    ready: Vec<TimerRef>,
    /// How many slots have a timer registered.
    live_timers: usize,
    pub(crate) watermark: Option<i64>,
    /// Items the per-key bounds dropped (oldest pending absences, overflowing windows).
    pub(crate) dropped: u64,
    /// Reused buffer for encoding keys; holds nothing between calls.
    pub(crate) scratch: Vec<u8>,
    /// Reused buffer for dispatch's candidate set; holds nothing between calls.
    pub(crate) dispatch_scratch: Vec<u64>,
    /// Absent-rule matches of absence correlations for keys that held no state.
    pub(crate) lone_absents: LoneAbsents,
}

/// Absent-rule matches of absence correlations for keys with no state, until the watermark
/// passes them. Such a match cancels only a trigger of its key at or before its own time, so
/// once the watermark is past it, it can cancel nothing; an engine advances the watermark
/// before each event, so these are the matches of the last instant or so. Instead of opening
/// a key with a timer to close it a millisecond later (most badge grants do this, for "Wi-Fi
/// without a badge"), the match waits here, and a key opened meanwhile takes it in first.
/// Keys are kept back to back, without an allocation each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LoneAbsents {
    bytes: Vec<u8>,
    /// (start in `bytes`, length, time), in arrival order.
    spans: Vec<(usize, usize, i64)>,
}

impl LoneAbsents {
    pub(crate) fn push(&mut self, key: &[u8], time: i64) {
        self.spans.push((self.bytes.len(), key.len(), time));
        self.bytes.extend_from_slice(key);
    }

    /// Forgets the matches before `time` (the watermark): they can cancel nothing any more.
    pub(crate) fn forget_before(&mut self, time: i64) {
        if self.spans.iter().any(|(_, _, at)| *at < time) {
            self.retain(|_, at| at >= time);
        }
    }

    /// Takes out the times of the matches held for `key`.
    pub(crate) fn take(&mut self, key: &[u8]) -> Vec<i64> {
        let times: Vec<i64> = self
            .iter()
            .filter(|(held, _)| *held == key)
            .map(|(_, at)| at)
            .collect();
        if !times.is_empty() {
            self.retain(|held, _| held != key);
        }
        times
    }

    fn retain(&mut self, keep: impl Fn(&[u8], i64) -> bool) {
        let kept: Vec<(Vec<u8>, i64)> = self
            .iter()
            .filter(|(key, at)| keep(key, *at))
            .map(|(key, at)| (key.to_vec(), at))
            .collect();
        self.bytes.clear();
        self.spans.clear();
        for (key, at) in kept {
            self.push(&key, at);
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], i64)> {
        self.spans.iter().map(|(start, len, at)| {
            let key = self.bytes.get(*start..start + len).unwrap_or_default();
            (key, *at)
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

#[derive(Clone, Debug)]
struct Slot {
    key: KeyBytes,
    entry: KeyEntry,
    /// The deadline of this key's entry in the heap, at or before `entry.timer`; other heap
    /// entries for this slot are stale. A key whose deadline moves later keeps its entry, and
    /// moves it when it comes up: one heap operation per deadline reached, not per change.
    anchor: Option<i64>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeyEntry {
    /// The deadline currently registered in the timers for this key.
    pub timer: Option<i64>,
    pub window: Window,
}

/// A timer as the heap holds it; ordered by deadline, then rule, then slot (the slot only
/// breaks ties inside the heap; keys of one deadline and rule are ordered by their bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TimerRef {
    pub deadline: i64,
    pub rule: u32,
    pub slot: u32,
}

impl RuleState {
    /// Keys holding state; 0 when nothing is pending.
    pub fn key_count(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty() && self.lone_absents.is_empty()
    }

    /// How many items the per-key bounds have dropped since this state was created.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The highest watermark `advance` has seen.
    pub fn watermark(&self) -> Option<i64> {
        self.watermark
    }

    /// The earliest deadline registered, possibly one that has since moved: a lower bound on
    /// when there is work, exact when nothing moved.
    pub(crate) fn earliest_deadline(&self) -> Option<i64> {
        let heap = self.timers.peek().map(|Reverse(timer)| timer.deadline);
        let ready = self.ready.last().map(|timer| timer.deadline);
        match (heap, ready) {
            (Some(left), Some(right)) => Some(left.min(right)),
            (left, right) => left.or(right),
        }
    }

    /// The slot of `key` (an encoded key), if it holds state.
    pub(crate) fn slot_of(&self, key: &[u8]) -> Option<u32> {
        self.index.get(key).copied()
    }

    /// The slot of `key` (an encoded key), created with `make` if it holds nothing yet.
    pub(crate) fn slot_for(&mut self, key: &[u8], make: impl FnOnce() -> Window) -> u32 {
        if let Some(&slot) = self.index.get(key) {
            return slot;
        }
        let key = KeyBytes::new(key);
        let entry = KeyEntry {
            timer: None,
            window: make(),
        };
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                let next = u32::try_from(self.slots.len()).unwrap_or(u32::MAX);
                self.slots.push(None);
                next
            }
        };
        if let Some(place) = self.slots.get_mut(slot as usize) {
            *place = Some(Slot {
                key: key.clone(),
                entry,
                anchor: None,
            });
        }
        self.index.insert(key, slot);
        slot
    }

    pub(crate) fn entry_mut(&mut self, slot: u32) -> Option<&mut KeyEntry> {
        self.slots
            .get_mut(slot as usize)
            .and_then(Option::as_mut)
            .map(|slot| &mut slot.entry)
    }

    /// The deadline registered for `slot`, if it holds state and has one.
    pub(crate) fn timer_of(&self, slot: u32) -> Option<i64> {
        self.slot(slot).and_then(|slot| slot.entry.timer)
    }

    /// The group values of the key in `slot`.
    pub(crate) fn group_values(&self, slot: u32) -> Vec<String> {
        self.slot(slot)
            .map(|slot| decode_group(slot.key.group_bytes()))
            .unwrap_or_default()
    }

    fn slot(&self, slot: u32) -> Option<&Slot> {
        self.slots.get(slot as usize).and_then(Option::as_ref)
    }

    /// Keeps the timers in step with the entry of `slot` after it changed, and deletes the key
    /// once it holds nothing.
    pub(crate) fn reschedule(&mut self, slot: u32, correlation: &Correlation) {
        let Some(place) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        let empty = place.entry.window.is_empty();
        let wanted = if empty {
            None
        } else {
            place.entry.window.deadline(correlation)
        };
        match (place.entry.timer, wanted) {
            (None, Some(_)) => self.live_timers += 1,
            (Some(_), None) => self.live_timers = self.live_timers.saturating_sub(1),
            _ => {}
        }
        place.entry.timer = wanted;
        if let Some(deadline) = wanted
            && place.anchor.is_none_or(|anchor| deadline < anchor)
        {
            self.push_anchor(slot, deadline);
        }
        if empty {
            self.remove(slot);
        }
    }

    /// Makes `deadline` the heap entry of `slot`.
    fn push_anchor(&mut self, slot: u32, deadline: i64) {
        let Some(place) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        place.anchor = Some(deadline);
        let rule = place.key.rule();
        self.timers.push(Reverse(TimerRef {
            deadline,
            rule,
            slot,
        }));
        self.compact_timers();
    }

    /// Forgets the key in `slot` and its timer.
    pub(crate) fn remove(&mut self, slot: u32) {
        let Some(place) = self.slots.get_mut(slot as usize) else {
            return;
        };
        let Some(removed) = place.take() else {
            return;
        };
        if removed.entry.timer.is_some() {
            self.live_timers = self.live_timers.saturating_sub(1);
        }
        self.index.remove(removed.key.as_bytes());
        self.free.push(slot);
    }

    /// Marks the timer of `slot` as fired: the key has no registered deadline until
    /// [`RuleState::reschedule`] gives it one.
    pub(crate) fn clear_timer(&mut self, slot: u32) {
        if let Some(entry) = self.entry_mut(slot)
            && entry.timer.take().is_some()
        {
            self.live_timers = self.live_timers.saturating_sub(1);
        }
    }

    /// The next registered timer at or before `watermark`, in (deadline, rule, key) order.
    /// Entries whose key moved on or went away are skipped.
    pub(crate) fn pop_due(&mut self, watermark: i64) -> Option<TimerRef> {
        loop {
            if let Some(next) = self.ready.last().copied() {
                // Handling a timer can register another at the same or an earlier point (a
                // chained correlation); it must come first, so merge and sort again.
                let jumped = self.timers.peek().is_some_and(|Reverse(top)| {
                    (top.deadline, top.rule) <= (next.deadline, next.rule)
                });
                if !jumped && next.deadline <= watermark {
                    self.ready.pop();
                    if self.is_live(next) {
                        return Some(next);
                    }
                    continue;
                }
                for held in std::mem::take(&mut self.ready) {
                    if self.is_live(held) {
                        self.push_anchor(held.slot, held.deadline);
                    }
                }
            }
            let Reverse(first) = *self.timers.peek()?;
            if first.deadline > watermark {
                return None;
            }
            while let Some(Reverse(timer)) = self.timers.peek().copied() {
                if (timer.deadline, timer.rule) != (first.deadline, first.rule) {
                    break;
                }
                self.timers.pop();
                let Some(place) = self
                    .slots
                    .get_mut(timer.slot as usize)
                    .and_then(Option::as_mut)
                else {
                    continue;
                };
                if place.anchor != Some(timer.deadline) || place.key.rule() != timer.rule {
                    continue;
                }
                place.anchor = None;
                match place.entry.timer {
                    Some(deadline) if deadline == timer.deadline => self.ready.push(timer),
                    // The window moved its deadline later since: follow it.
                    Some(deadline) => self.push_anchor(timer.slot, deadline),
                    None => {}
                }
            }
            // Descending by key bytes: the smallest key is handed out first, from the end.
            let slots = &self.slots;
            let key_of = |timer: &TimerRef| {
                slots
                    .get(timer.slot as usize)
                    .and_then(Option::as_ref)
                    .map(|slot| slot.key.as_bytes())
            };
            self.ready
                .sort_by(|left, right| key_of(right).cmp(&key_of(left)));
        }
    }

    /// Whether `timer` is the deadline currently registered for its key.
    fn is_live(&self, timer: TimerRef) -> bool {
        self.slot(timer.slot).is_some_and(|slot| {
            slot.entry.timer == Some(timer.deadline) && slot.key.rule() == timer.rule
        })
    }

    /// Rebuilds the heap from the live timers once stale entries outnumber them, so that keys
    /// moving their deadline often cannot grow it without bound.
    fn compact_timers(&mut self) {
        if self.timers.len() <= self.live_timers.saturating_mul(2) + HEAP_SLACK {
            return;
        }
        let mut live = Vec::with_capacity(self.live_timers);
        for (place, slot) in self.slots.iter_mut().zip(0u32..) {
            let Some(place) = place.as_mut() else {
                continue;
            };
            place.anchor = place.entry.timer;
            if let Some(deadline) = place.entry.timer {
                live.push(Reverse(TimerRef {
                    deadline,
                    rule: place.key.rule(),
                    slot,
                }));
            }
        }
        // Timers held for handing out are anchored again when they are merged back.
        for held in &self.ready {
            if let Some(place) = self
                .slots
                .get_mut(held.slot as usize)
                .and_then(Option::as_mut)
            {
                place.anchor = None;
            }
        }
        live.retain(|Reverse(timer)| !self.ready.iter().any(|held| held.slot == timer.slot));
        self.timers = BinaryHeap::from(live);
    }

    /// Every key and entry, sorted by key: the canonical view for snapshots and equality.
    fn sorted_entries(&self) -> Vec<(&KeyBytes, &KeyEntry)> {
        let mut entries: Vec<(&KeyBytes, &KeyEntry)> = self
            .slots
            .iter()
            .flatten()
            .map(|slot| (&slot.key, &slot.entry))
            .collect();
        entries.sort_by(|left, right| left.0.as_bytes().cmp(right.0.as_bytes()));
        entries
    }

    /// Heap entries, stale ones included; for tests of the compaction bound.
    #[cfg(test)]
    fn heap_len(&self) -> usize {
        self.timers.len()
    }
}

impl PartialEq for RuleState {
    /// Equal when they hold the same keys, windows and timers, however they are laid out.
    fn eq(&self, other: &RuleState) -> bool {
        self.watermark == other.watermark
            && self.dropped == other.dropped
            && self.lone_absents == other.lone_absents
            && self.sorted_entries() == other.sorted_entries()
    }
}

/// Appends the rule's prefix to an empty key buffer.
pub(crate) fn start_key(buffer: &mut Vec<u8>, rule: usize) {
    buffer.clear();
    buffer.extend_from_slice(&u32::try_from(rule).unwrap_or(u32::MAX).to_be_bytes());
}

/// Appends one group value: its bytes with `0x00` written as `0x00 0xFF`, then `0x00 0x00`.
/// Byte order of encoded keys is then the order of the value lists (a value sorts before any
/// longer value it is a prefix of), and the encoding decodes back unambiguously.
pub(crate) fn push_group_value(buffer: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    if bytes.contains(&0) {
        for &byte in bytes {
            buffer.push(byte);
            if byte == 0 {
                buffer.push(0xFF);
            }
        }
    } else {
        buffer.extend_from_slice(bytes);
    }
    buffer.extend_from_slice(&[0, 0]);
}

fn decode_group(mut bytes: &[u8]) -> Vec<String> {
    let mut values = Vec::new();
    let mut current = Vec::new();
    while let Some((&byte, rest)) = bytes.split_first() {
        bytes = rest;
        if byte != 0 {
            current.push(byte);
            continue;
        }
        match bytes.split_first() {
            Some((0xFF, rest)) => {
                current.push(0);
                bytes = rest;
            }
            Some((_, rest)) => {
                values.push(String::from_utf8_lossy(&current).into_owned());
                current.clear();
                bytes = rest;
            }
            None => break,
        }
    }
    values
}

/// Bytes of an encoded key; keys of up to [`INLINE`] bytes (most: a rule and one or two ids)
/// are kept without a heap allocation.
#[derive(Clone)]
pub(crate) struct KeyBytes(Repr);

const INLINE: usize = 30;

#[derive(Clone)]
enum Repr {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl KeyBytes {
    fn new(key: &[u8]) -> KeyBytes {
        let mut bytes = [0u8; INLINE];
        match (bytes.get_mut(..key.len()), u8::try_from(key.len())) {
            (Some(target), Ok(len)) => {
                target.copy_from_slice(key);
                KeyBytes(Repr::Inline { len, bytes })
            }
            _ => KeyBytes(Repr::Heap(key.into())),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            Repr::Heap(bytes) => bytes,
        }
    }

    fn rule(&self) -> u32 {
        let bytes = self.as_bytes();
        match bytes.first_chunk::<4>() {
            Some(prefix) => u32::from_be_bytes(*prefix),
            None => u32::MAX,
        }
    }

    fn group_bytes(&self) -> &[u8] {
        self.as_bytes().get(4..).unwrap_or_default()
    }
}

impl PartialEq for KeyBytes {
    fn eq(&self, other: &KeyBytes) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for KeyBytes {}

impl Hash for KeyBytes {
    // Must hash as the `[u8]` it borrows as, so that lookups by slice find it.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl Borrow<[u8]> for KeyBytes {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("rule", &self.rule())
            .field("group", &decode_group(self.group_bytes()))
            .finish()
    }
}

// The serialized form: exactly what earlier versions wrote with derived impls.

#[derive(Serialize, Deserialize)]
struct WireKey {
    rule: usize,
    group: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct WireTimer {
    deadline: i64,
    rule: usize,
    group: Vec<String>,
}

#[derive(Serialize)]
struct WireOut<'a> {
    keys: Vec<(WireKey, &'a KeyEntry)>,
    timers: Vec<WireTimer>,
    watermark: Option<i64>,
    dropped: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    lone_absents: Vec<(WireKey, i64)>,
}

#[derive(Deserialize)]
struct WireIn {
    keys: Vec<(WireKey, KeyEntry)>,
    /// Derived from the entries on restore; read only so that the format is checked.
    #[serde(rename = "timers")]
    _timers: Vec<WireTimer>,
    watermark: Option<i64>,
    dropped: u64,
    #[serde(default)]
    lone_absents: Vec<(WireKey, i64)>,
}

impl Serialize for RuleState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let entries = self.sorted_entries();
        let mut keys = Vec::with_capacity(entries.len());
        let mut timers = Vec::new();
        for (key, entry) in entries {
            let rule = key.rule() as usize;
            let group = decode_group(key.group_bytes());
            if let Some(deadline) = entry.timer {
                timers.push(WireTimer {
                    deadline,
                    rule,
                    group: group.clone(),
                });
            }
            keys.push((WireKey { rule, group }, entry));
        }
        timers.sort_by(|left, right| {
            (left.deadline, left.rule, &left.group).cmp(&(right.deadline, right.rule, &right.group))
        });
        let lone_absents = self
            .lone_absents
            .iter()
            .map(|(key, at)| {
                let rule = key
                    .first_chunk::<4>()
                    .map_or(usize::MAX, |prefix| u32::from_be_bytes(*prefix) as usize);
                let group = decode_group(key.get(4..).unwrap_or_default());
                (WireKey { rule, group }, at)
            })
            .collect();
        WireOut {
            keys,
            timers,
            watermark: self.watermark,
            dropped: self.dropped,
            lone_absents,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RuleState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RuleState, D::Error> {
        let wire = WireIn::deserialize(deserializer)?;
        let mut state = RuleState {
            watermark: wire.watermark,
            dropped: wire.dropped,
            ..RuleState::default()
        };
        let mut buffer = Vec::new();
        for (key, entry) in wire.keys {
            start_key(&mut buffer, key.rule);
            for value in &key.group {
                push_group_value(&mut buffer, value);
            }
            state.restore_entry(&buffer, entry);
        }
        for (key, at) in wire.lone_absents {
            start_key(&mut buffer, key.rule);
            for value in &key.group {
                push_group_value(&mut buffer, value);
            }
            state.lone_absents.push(&buffer, at);
        }
        Ok(state)
    }
}

impl RuleState {
    /// Puts back one entry of a snapshot with the timer it had; a repeated key (possible only
    /// in a hand-made snapshot) replaces the earlier one.
    fn restore_entry(&mut self, key: &[u8], entry: KeyEntry) {
        if let Some(&slot) = self.index.get(key) {
            self.remove(slot);
        }
        let timer = entry.timer;
        let slot = self.slot_for(key, || entry.window);
        if let Some(place) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) {
            place.entry.timer = timer;
        }
        if let Some(deadline) = timer {
            self.live_timers += 1;
            self.push_anchor(slot, deadline);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlation::{Evidence, Occurrence, Role};

    fn encode(rule: usize, values: &[&str]) -> Vec<u8> {
        let mut buffer = Vec::new();
        start_key(&mut buffer, rule);
        for value in values {
            push_group_value(&mut buffer, value);
        }
        buffer
    }

    #[test]
    fn encoded_keys_sort_as_rule_then_value_lists() {
        let keys: Vec<(usize, Vec<&str>)> = vec![
            (0, vec!["", "b"]),
            (0, vec!["a", ""]),
            (0, vec!["a", "b"]),
            (0, vec!["a\0", "a"]),
            (0, vec!["a\0b", "a"]),
            (0, vec!["ab", ""]),
            (1, vec![""]),
            (1, vec!["\0"]),
            (1, vec!["\u{1}"]),
            (300, vec!["z"]),
        ];
        for (left, right) in keys.iter().zip(keys.iter().skip(1)) {
            assert!(left < right, "{left:?} {right:?}");
            assert!(
                encode(left.0, &left.1) < encode(right.0, &right.1),
                "{left:?} {right:?}"
            );
        }
    }

    #[test]
    fn group_values_decode_back() {
        for values in [
            vec![],
            vec![""],
            vec!["a\0b", "", "ünï"],
            vec!["\0\0", "\u{ff}"],
        ] {
            let key = KeyBytes::new(&encode(7, &values));
            assert_eq!(key.rule(), 7);
            assert_eq!(decode_group(key.group_bytes()), values);
        }
        let long = "x".repeat(100);
        let key = KeyBytes::new(&encode(2, &[&long]));
        assert!(matches!(key.0, Repr::Heap(_)));
        assert_eq!(decode_group(key.group_bytes()), vec![long]);
    }

    #[test]
    fn stale_timers_never_grow_the_heap_without_bound() {
        let correlation = Correlation {
            kind: crate::meta::RuleKind::Absence,
            span: 10,
            group_names: vec!["k".to_owned()],
            conditions: Vec::new(),
            at_window_end: false,
            members: 1,
        };
        let mut state = RuleState::default();
        let slot = state.slot_for(&encode(0, &["k"]), || Window::new(&correlation));
        for time in 0..100_000 {
            let entry = state.entry_mut(slot).unwrap();
            let occurrence = Occurrence {
                time,
                roles: &[Role::Absent],
                value: None,
                evidence: Evidence::One("e"),
            };
            entry.window.on_occurrence(&correlation, occurrence);
            state.reschedule(slot, &correlation);
        }
        assert!(
            state.heap_len() <= 2 + HEAP_SLACK + 1,
            "{}",
            state.heap_len()
        );
        let registered = state.timer_of(slot).unwrap();
        assert_eq!(state.pop_due(registered - 1), None);
        assert_eq!(
            state.pop_due(i64::MAX).map(|timer| timer.deadline),
            Some(registered)
        );
        assert_eq!(state.pop_due(i64::MAX), None);
    }
}
