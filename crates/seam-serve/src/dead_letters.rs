//! Dead letters are bounded per source: a rate, a size quota and a retention. Garbage from one
//! sender (the syslog ports take anyone) can then neither fill the disk nor push out the dead
//! letters of the other sources. Over the rate, letters are counted and one in
//! [`DeadLetterLimits::sample_every`] is kept, cut short; over the quota they are only counted.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use seam_store::DeadLetter;

use crate::metrics::Metrics;

/// The bounds on each source's dead letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadLetterLimits {
    /// Letters stored per second, on average, per source.
    pub per_second: u32,
    /// Letters stored at once above the average, per source.
    pub burst: u32,
    /// Bytes of letters (raw record and reason) one source may hold.
    pub quota_bytes: u64,
    /// Letters older than this are removed.
    pub retention: Duration,
    /// Over the rate, one letter in this many is kept as a sample.
    pub sample_every: u64,
}

impl Default for DeadLetterLimits {
    fn default() -> DeadLetterLimits {
        DeadLetterLimits {
            per_second: 100,
            burst: 1000,
            quota_bytes: 64 << 20,
            retention: Duration::from_secs(14 * 86_400),
            sample_every: 1000,
        }
    }
}

/// How many bytes of a sampled letter's raw record are kept.
const SAMPLE_BYTES: usize = 256;

#[derive(Debug)]
struct SourceGate {
    tokens: f64,
    refilled: Instant,
    stored_bytes: u64,
    over: u64,
}

/// Decides which dead letters are stored.
#[derive(Debug)]
pub(crate) struct Gate {
    limits: DeadLetterLimits,
    sources: Mutex<HashMap<String, SourceGate>>,
}

impl Gate {
    /// A gate that starts from what the store already holds per source.
    pub(crate) fn new(limits: DeadLetterLimits, stored: Vec<(String, u64)>) -> Gate {
        let now = Instant::now();
        let sources = stored
            .into_iter()
            .map(|(source, bytes)| {
                (
                    source,
                    SourceGate {
                        tokens: f64::from(limits.burst),
                        refilled: now,
                        stored_bytes: bytes,
                        over: 0,
                    },
                )
            })
            .collect();
        Gate {
            limits,
            sources: Mutex::new(sources),
        }
    }

    pub(crate) fn limits(&self) -> &DeadLetterLimits {
        &self.limits
    }

    /// Keeps the letters within their source's rate and quota, cuts the samples short, and
    /// counts the rest.
    pub(crate) fn admit(&self, letters: &mut Vec<DeadLetter>, metrics: &Metrics) {
        if letters.is_empty() {
            return;
        }
        let Ok(mut sources) = self.sources.lock() else {
            return;
        };
        let limits = self.limits;
        let now = Instant::now();
        letters.retain_mut(|letter| {
            let gate = sources
                .entry(letter.source.clone())
                .or_insert_with(|| SourceGate {
                    tokens: f64::from(limits.burst),
                    refilled: now,
                    stored_bytes: 0,
                    over: 0,
                });
            let elapsed = now.saturating_duration_since(gate.refilled).as_secs_f64();
            gate.tokens = (gate.tokens + elapsed * f64::from(limits.per_second))
                .min(f64::from(limits.burst.max(1)));
            gate.refilled = now;
            let size = (letter.raw.len() + letter.reason.len()) as u64;
            let counters = metrics.source(&letter.source);
            if gate.stored_bytes.saturating_add(size) > limits.quota_bytes {
                if let Some(counters) = counters {
                    counters
                        .dead_letters_over_quota
                        .fetch_add(1, Ordering::Relaxed);
                }
                return false;
            }
            if gate.tokens >= 1.0 {
                gate.tokens -= 1.0;
                gate.stored_bytes += size;
                return true;
            }
            gate.over += 1;
            if let Some(counters) = counters {
                counters
                    .dead_letters_over_rate
                    .fetch_add(1, Ordering::Relaxed);
            }
            if (gate.over - 1).is_multiple_of(limits.sample_every.max(1)) {
                letter.raw.truncate(SAMPLE_BYTES);
                letter.reason = format!(
                    "{} (a sample: {} dead letters of this source over its rate so far)",
                    letter.reason, gate.over
                );
                gate.stored_bytes += (letter.raw.len() + letter.reason.len()) as u64;
                return true;
            }
            false
        });
    }

    /// Forgets the bytes of pruned letters: the next count comes from the store.
    pub(crate) fn recount(&self, stored: Vec<(String, u64)>) {
        let Ok(mut sources) = self.sources.lock() else {
            return;
        };
        for gate in sources.values_mut() {
            gate.stored_bytes = 0;
        }
        for (source, bytes) in stored {
            if let Some(gate) = sources.get_mut(&source) {
                gate.stored_bytes = bytes;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seam_model::Ts;

    fn letter(source: &str, n: usize, raw: usize) -> DeadLetter {
        DeadLetter {
            source: source.into(),
            position: format!("p#{n}"),
            observed: Ts::from_millis(0),
            reason: "bad".into(),
            raw: vec![b'x'; raw],
        }
    }

    #[test]
    fn a_flood_is_sampled_and_never_takes_another_sources_room() {
        let limits = DeadLetterLimits {
            per_second: 1,
            burst: 10,
            quota_bytes: 100_000,
            sample_every: 100,
            ..DeadLetterLimits::default()
        };
        let gate = Gate::new(limits, Vec::new());
        let metrics = Metrics::new(["noisy", "quiet"]);
        let mut flood: Vec<DeadLetter> = (0..1000).map(|n| letter("noisy", n, 1000)).collect();
        gate.admit(&mut flood, &metrics);
        // The burst whole, then one sample in a hundred of the rest, cut short.
        assert_eq!(flood.len(), 10 + 10);
        assert!(flood.iter().skip(10).all(|l| l.raw.len() == SAMPLE_BYTES));
        assert!(flood[10].reason.contains("a sample"));
        let mut quiet = vec![letter("quiet", 0, 10)];
        gate.admit(&mut quiet, &metrics);
        assert_eq!(quiet.len(), 1);
        let over = metrics
            .source("noisy")
            .map(|c| c.dead_letters_over_rate.load(Ordering::Relaxed));
        assert_eq!(over, Some(990));
    }

    #[test]
    fn over_its_quota_a_source_is_only_counted() {
        let limits = DeadLetterLimits {
            quota_bytes: 2_500,
            ..DeadLetterLimits::default()
        };
        let gate = Gate::new(limits, vec![("noisy".into(), 1_000)]);
        let metrics = Metrics::new(["noisy"]);
        let mut letters: Vec<DeadLetter> = (0..5).map(|n| letter("noisy", n, 497)).collect();
        gate.admit(&mut letters, &metrics);
        assert_eq!(letters.len(), 3);
        gate.recount(Vec::new());
        let mut more = vec![letter("noisy", 9, 497)];
        gate.admit(&mut more, &metrics);
        assert_eq!(more.len(), 1);
    }
}
