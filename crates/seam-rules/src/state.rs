//! All mutable correlation state, keyed by (rule, group values), with one timer per key.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::correlation::{Correlation, Window};

/// Correlation state for one [`crate::RuleSet`]: windows keyed by (rule, group key) and their
/// timers. Serialize it to snapshot; a restored state continues exactly where it stopped.
/// A state belongs to the rule set that produced it (keys hold rule indices).
#[derive(Serialize, Deserialize, Default, Clone, Debug, PartialEq)]
pub struct RuleState {
    #[serde(with = "pairs")]
    pub(crate) keys: BTreeMap<StateKey, KeyEntry>,
    /// Ordered as `advance` must emit: deadline, then rule index, then group key.
    pub(crate) timers: BTreeSet<Timer>,
    pub(crate) watermark: Option<i64>,
    /// Items the per-key bounds dropped (oldest pending absences, overflowing windows).
    pub(crate) dropped: u64,
}

impl RuleState {
    /// Keys holding state; 0 when nothing is pending.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// How many items the per-key bounds have dropped since this state was created.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The highest watermark `advance` has seen.
    pub fn watermark(&self) -> Option<i64> {
        self.watermark
    }

    /// Keeps `timers` in step with the entry of `key` after it changed, and deletes the key
    /// once it holds nothing.
    pub(crate) fn reschedule(&mut self, key: &StateKey, correlation: &Correlation) {
        let RuleState { keys, timers, .. } = self;
        let Some(entry) = keys.get_mut(key) else {
            return;
        };
        let wanted = if entry.window.is_empty() {
            None
        } else {
            entry.window.deadline(correlation)
        };
        if wanted != entry.timer {
            if let Some(old) = entry.timer {
                timers.remove(&Timer {
                    deadline: old,
                    rule: key.rule,
                    group: key.group.clone(),
                });
            }
            if let Some(deadline) = wanted {
                timers.insert(Timer {
                    deadline,
                    rule: key.rule,
                    group: key.group.clone(),
                });
            }
            entry.timer = wanted;
        }
        if entry.window.is_empty() {
            keys.remove(key);
        }
    }

    /// Forgets `key` and its timer.
    pub(crate) fn remove(&mut self, key: &StateKey) {
        if let Some(entry) = self.keys.remove(key)
            && let Some(deadline) = entry.timer
        {
            self.timers.remove(&Timer {
                deadline,
                rule: key.rule,
                group: key.group.clone(),
            });
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct StateKey {
    pub rule: usize,
    pub group: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeyEntry {
    /// The deadline currently registered in `RuleState::timers` for this key.
    pub timer: Option<i64>,
    pub window: Window,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Timer {
    pub deadline: i64,
    pub rule: usize,
    pub group: Vec<String>,
}

/// A map with structured keys, written as a list of `[key, value]` pairs (JSON object keys
/// must be strings).
mod pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(deserializer: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        let entries: Vec<(K, V)> = Vec::deserialize(deserializer)?;
        Ok(entries.into_iter().collect())
    }
}
