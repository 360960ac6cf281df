//! Ground truth: what the simulation did on purpose, so findings can be scored against it.

use serde::{Deserialize, Serialize};

/// One injected attack (or campaign) and the events it made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// Unique within a run: `s<day>-<n>`.
    pub scenario: String,
    /// What kind of attack: the default rule it is meant for, or a campaign's name.
    pub kind: String,
    /// The rules expected to see it (any one is a detection).
    pub rules: Vec<String>,
    /// Whose credentials or devices were used.
    pub people: Vec<String>,
    /// When the first and last of its events happened (RFC 3339).
    pub start: seam_model::Ts,
    pub end: seam_model::Ts,
    /// The uids of every event the attack made.
    pub events: Vec<String>,
    /// Whether it is a multi-stage campaign crossing domains.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub campaign: bool,
}

/// What a run produced, written beside the events as `sim.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub seed: u64,
    pub people: usize,
    pub sites: usize,
    pub days: u32,
    pub start: seam_model::Ts,
    /// People simulated per day (employees and contractors), times days: the denominator of
    /// false positives per 1,000 person-days.
    pub person_days: u64,
    pub events: u64,
    pub scenarios: usize,
    /// Benign look-alikes labelled in `lookalikes.jsonl`.
    #[serde(default)]
    pub lookalikes: usize,
    /// Attack kinds that found no victim meeting their preconditions, with how often.
    #[serde(default)]
    pub skipped: Vec<(String, u32)>,
}
