//! What the caller sees of compiled rules and what they produce.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Level> {
        match text {
            "informational" => Some(Level::Informational),
            "low" => Some(Level::Low),
            "medium" => Some(Level::Medium),
            "high" => Some(Level::High),
            "critical" => Some(Level::Critical),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// A single-event Sigma detection.
    Detection,
    EventCount,
    ValueCount,
    /// The sum of a numeric field over the window (Sigma's `value_sum`).
    ValueSum,
    /// The mean of a numeric field over the window (Sigma's `value_avg`).
    ValueAvg,
    /// The median of a numeric field over the window (Sigma's `value_median`).
    ValueMedian,
    Temporal,
    TemporalOrdered,
    /// Seam extension: a trigger not followed by any of the `absent` rules in time.
    Absence,
}

impl RuleKind {
    pub fn is_correlation(self) -> bool {
        self != RuleKind::Detection
    }

    /// A statistic of a numeric field over a sliding window (sum, mean, median).
    pub fn is_value_statistic(self) -> bool {
        matches!(
            self,
            RuleKind::ValueSum | RuleKind::ValueAvg | RuleKind::ValueMedian
        )
    }
}

/// The `logsource` of a Sigma rule, kept as metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logsource {
    pub category: Option<String>,
    pub product: Option<String>,
    pub service: Option<String>,
    pub definition: Option<String>,
}

/// What an approved change request covering a match does to the finding (the `change:` key).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangePolicy {
    /// The finding is raised and names the change (the default): an analyst sees that the
    /// work was planned, and judges.
    #[default]
    Annotate,
    /// No finding: the work was approved, by these people, on these items, at this time.
    Silence,
}

impl ChangePolicy {
    pub(crate) fn parse(text: &str) -> Option<ChangePolicy> {
        match text {
            "annotate" => Some(ChangePolicy::Annotate),
            "silence" => Some(ChangePolicy::Silence),
            _ => None,
        }
    }
}

/// One compiled rule's description; `Match::rule` indexes [`crate::RuleSet::rules`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleMeta {
    pub id: String,
    pub title: String,
    /// The name other rules reference it by.
    pub name: Option<String>,
    pub description: Option<String>,
    pub author: Option<String>,
    pub level: Option<Level>,
    /// stable, test, experimental, deprecated or unsupported.
    pub status: Option<String>,
    pub date: Option<String>,
    pub modified: Option<String>,
    pub tags: Vec<String>,
    pub references: Vec<String>,
    pub falsepositives: Vec<String>,
    pub fields: Vec<String>,
    pub logsource: Logsource,
    /// Seam extension: a plain-language template with `{field}` placeholders.
    pub explanation: Option<String>,
    pub kind: RuleKind,
    /// False for rules that only feed correlations (Sigma's default for referenced rules).
    pub generates_findings: bool,
    /// Correlations: the group-by names, in order.
    pub group_by: Vec<String>,
    /// Correlations: the window length in milliseconds.
    pub timespan_ms: Option<i64>,
    /// Correlations: the rules they read, as indices into `RuleSet::rules` (triggers and
    /// absent rules included, in the order written).
    pub sources: Vec<usize>,
    /// Seam extension (`change:`): what an approved change covering the matched event does.
    #[serde(default)]
    pub change: ChangePolicy,
    /// Top-level keys Sigma leaves to the rule writer, as JSON.
    pub custom: BTreeMap<String, serde_json::Value>,
    pub path: String,
    /// Line of the rule's document.
    pub line: u32,
}

/// One of a rule's own test cases (Seam extension); the engine runs them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleTest {
    /// Index into `RuleSet::rules`.
    pub rule: usize,
    pub name: String,
    /// How many findings of this rule the events must produce.
    pub expect: usize,
    /// Normalized events as the engine reads them, converted faithfully from YAML.
    pub events: Vec<serde_json::Value>,
    pub path: String,
    pub line: u32,
}

/// A finding of one rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Match {
    /// Index into `RuleSet::rules`.
    pub rule: usize,
    /// The completing event's time, or the deadline for findings fired by a timer.
    pub time: i64,
    /// The earliest event time that contributed.
    pub first_time: i64,
    /// Group-by name and value, in group-by order; empty for single-event rules.
    pub group: Vec<(String, String)>,
    /// Event uids, oldest first; at most 64 (the first and the most recent are kept).
    pub evidence: Vec<String>,
    /// Events (or distinct values, or rules) that made it fire.
    pub count: u64,
    /// From an event later than the allowed lateness.
    pub late: bool,
}
