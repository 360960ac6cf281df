//! Compile errors: what went wrong ([`Problem`]) and where ([`RuleError`]).

use serde::{Deserialize, Serialize};

use crate::yaml::Position;

/// One problem in a rule file, at the file, line and column of the offending node.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct RuleError {
    pub path: String,
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
    pub message: String,
}

impl RuleError {
    pub(crate) fn new(path: &str, position: Position, problem: &Problem) -> Self {
        RuleError {
            path: path.to_owned(),
            line: position.line,
            column: position.column,
            message: problem.to_string(),
        }
    }
}

/// Everything the compiler can reject, worded for the person who wrote the rule.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub(crate) enum Problem {
    #[error("yaml syntax error: {0}")]
    Syntax(String),
    #[error("file is larger than the limit of {limit} bytes")]
    FileTooLarge { limit: usize },
    #[error("too many yaml nodes (limit {limit}, aliases expanded)")]
    TooManyNodes { limit: usize },
    #[error("yaml nested deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("mapping keys must be scalars")]
    ComplexKey,
    #[error("duplicate key `{0}`")]
    DuplicateKey(String),
    #[error("unsupported yaml tag `{0}`")]
    UnsupportedTag(String),
    #[error("value `{value}` does not fit tag `{tag}`")]
    BadTaggedValue { tag: String, value: String },
    #[error("numbers must be finite")]
    NonFiniteNumber,
    #[error("a rule document must be a mapping, found {0}")]
    DocumentNotMapping(&'static str),
    #[error("`{key}` must be {expected}, found {found}")]
    WrongType {
        key: String,
        expected: &'static str,
        found: &'static str,
    },
    #[error("missing required key `{0}`")]
    MissingKey(&'static str),
    #[error("a rule needs either `detection` or `correlation`")]
    NoBody,
    #[error("a rule cannot have both `detection` and `correlation`")]
    BothBodies,
    #[error("unknown level `{0}` (expected informational, low, medium, high or critical)")]
    UnknownLevel(String),
    #[error(
        "unknown status `{0}` (expected stable, test, experimental, deprecated or unsupported)"
    )]
    UnknownStatus(String),
    #[error("unknown change policy `{0}` (expected silence or annotate)")]
    UnknownChangePolicy(String),
    #[error("unknown key `{0}` in `{1}`")]
    UnknownKey(String, &'static str),
    #[error("empty selection `{0}`")]
    EmptySelection(String),
    #[error("selection `{0}` mixes keywords and field maps")]
    MixedSelection(String),
    #[error("empty value list for `{0}`")]
    EmptyValueList(String),
    #[error("unknown modifier `{0}`")]
    UnknownModifier(String),
    #[error("unsupported modifier `{0}`: {1}")]
    UnsupportedModifier(String, &'static str),
    #[error("modifier `{0}` cannot be combined with `{1}`")]
    ConflictingModifiers(String, String),
    #[error("modifier `{modifier}` needs {expected}, found {found}")]
    ModifierValue {
        modifier: String,
        expected: &'static str,
        found: String,
    },
    #[error("unknown field `{name}`: {reason}")]
    UnknownField { name: String, reason: String },
    #[error("`{field}` is never `{value}`: it takes {known}{suggestion}")]
    UnknownWord {
        field: String,
        value: String,
        known: String,
        suggestion: String,
    },
    #[error("invalid regular expression `{pattern}`: {reason}")]
    BadRegex { pattern: String, reason: String },
    #[error("invalid cidr `{0}`")]
    BadCidr(String),
    #[error("`windash` on `{0}` expands to too many variants")]
    TooManyVariants(String),
    #[error("condition: {0}")]
    Condition(String),
    #[error("unknown rule reference `{0}`")]
    UnknownReference(String),
    #[error("rule reference cycle: {0}")]
    ReferenceCycle(String),
    #[error("correlation chain deeper than {0} rules")]
    ChainTooDeep(usize),
    #[error("duplicate rule id `{id}` (first defined at {first})")]
    DuplicateId { id: String, first: String },
    #[error("duplicate rule name `{name}` (first defined at {first})")]
    DuplicateName { name: String, first: String },
    #[error(
        "unknown correlation type `{0}` (expected event_count, value_count, value_sum, value_avg, value_median, temporal, temporal_ordered or absence)"
    )]
    UnknownCorrelationType(String),
    #[error("invalid timespan `{0}` (expected a positive number and a unit: s, m, h, d or w)")]
    BadTimespan(String),
    #[error("unknown condition operator `{0}` (expected gt, gte, lt, lte, eq or neq)")]
    UnknownOperator(String),
    #[error("{0}")]
    Invalid(String),
    #[error("invalid explanation template: {0}")]
    BadTemplate(String),
}

/// A problem and the position of the node it is about; the file path is added by the caller.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Located {
    pub position: Position,
    pub problem: Problem,
}

impl Located {
    pub fn new(position: Position, problem: Problem) -> Self {
        Located { position, problem }
    }
}
