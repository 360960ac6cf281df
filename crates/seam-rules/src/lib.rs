//! Seam's rule language: Sigma detection and correlation rules in YAML, with Seam's
//! extensions (absence, explanations, per-rule tests), compiled once into a pure,
//! deterministic runtime. Events are read through [`Record`], so any event type plugs in.
//!
//! The specification is `docs/rules.md`.

mod condition;
mod correlation;
mod detection;
mod dispatch;
mod document;
mod error;
mod explain;
mod matcher;
mod meta;
mod record;
mod ruleset;
mod state;
mod text;
mod yaml;

pub use correlation::{MAX_EVIDENCE, MAX_PENDING_PER_KEY, MAX_WINDOW_EVENTS};
pub use dispatch::{DispatchChoice, MAX_DISPATCH_FIELDS};
pub use error::RuleError;
pub use explain::render_explanation;
pub use matcher::MAX_REGEX_SIZE;
pub use meta::{ChangePolicy, Level, Logsource, Match, RuleKind, RuleMeta, RuleTest};
pub use record::{FieldRef, Input, Record, Schema, Value, Word};
pub use ruleset::{CompileOptions, MAX_CHAIN_DEPTH, MAX_FILE_BYTES, RuleSet, SourceFile};
pub use state::RuleState;
pub use yaml::yaml_to_json;
