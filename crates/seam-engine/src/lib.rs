//! Seam's correlation engine: identity at event time, presence, enrichment, ordering by event
//! time with watermarks, the rules, and findings.
//!
//! Architecture Invariant: pure and deterministic. No I/O (callers read files and hand in
//! text), no wall clock (time is event time; timers fire on the watermark), no threads. The
//! same input gives byte-identical findings whatever the batch sizes and, within the allowed
//! lateness, the arrival order.

pub mod changes;
pub mod context;
pub mod coverage;
pub mod destinations;
pub mod engine;
pub mod identity;
pub mod lanes;
pub mod presence;
pub mod references;
mod reorder;
pub mod rules;
pub mod schema;
pub mod state;
pub mod testing;
pub mod tuning;

pub use engine::{
    CLOCK_SKEW_RULE, DEFAULT_MAX_CLOCK_AHEAD_MS, DEFAULT_MAX_CLOCK_BEHIND_MS, DirectoryRecord,
    Engine, EngineConfig, EngineSnapshot, Output, Processed, SnapshotError, make_finding,
};
pub use rules::CompiledRules;
pub use testing::{TestOutcome, run_rule_tests, test_event};
