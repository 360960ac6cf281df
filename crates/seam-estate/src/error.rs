//! What can be wrong with an estate, and where.

use std::fmt;

use serde::Serialize;

/// The kinds of entity, named as their tables in the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Site,
    Zone,
    Door,
    Ap,
    SwitchPort,
    Network,
    Asset,
    Resource,
    Person,
}

impl EntityKind {
    pub const ALL: [EntityKind; 9] = [
        EntityKind::Site,
        EntityKind::Zone,
        EntityKind::Door,
        EntityKind::Ap,
        EntityKind::SwitchPort,
        EntityKind::Network,
        EntityKind::Asset,
        EntityKind::Resource,
        EntityKind::Person,
    ];

    /// The table name: `[[switch_port]]` holds switch ports.
    pub const fn as_str(self) -> &'static str {
        match self {
            EntityKind::Site => "site",
            EntityKind::Zone => "zone",
            EntityKind::Door => "door",
            EntityKind::Ap => "ap",
            EntityKind::SwitchPort => "switch_port",
            EntityKind::Network => "network",
            EntityKind::Asset => "asset",
            EntityKind::Resource => "resource",
            EntityKind::Person => "person",
        }
    }

    pub fn parse(table: &str) -> Option<EntityKind> {
        EntityKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == table)
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A place in a file: 1-based line and column (in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// Where a problem is: a file, and the position in it when there is one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    pub path: String,
    pub position: Option<Position>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(Position { line, column }) => write!(f, "{}:{line}:{column}", self.path),
            None => f.write_str(&self.path),
        }
    }
}

/// One problem in an estate, with its place: `path:line:column: what is wrong: what was expected`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{location}: {problem}")]
pub struct EstateError {
    pub location: Location,
    pub problem: Problem,
}

/// What is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    #[error("cannot read: {message}")]
    Read { message: String },

    #[error("no `*.toml` files: expected the estate's files in this folder")]
    NoFiles,

    #[error("invalid TOML: {message}")]
    Syntax { message: String },

    #[error(
        "unknown table `{name}`: expected one of `site`, `zone`, `door`, `ap`, `switch_port`, \
         `network`, `asset`, `resource`, `person`"
    )]
    UnknownTable { name: String },

    #[error("`{name}` is not an array of tables: expected `[[{name}]]` entries")]
    NotArrayOfTables { name: String },

    /// A missing field, an unknown key or a wrong type, as found while reading one entry.
    #[error("invalid {entity}: {message}")]
    Invalid { entity: EntityKind, message: String },

    #[error(
        "duplicate {entity} id `{id}`: expected each id once, and it is already defined at {first}"
    )]
    DuplicateId {
        entity: EntityKind,
        id: String,
        first: Location,
    },

    #[error("unknown {target} `{value}` in {entity} `{id}`: expected {expected}")]
    UnknownReference {
        target: EntityKind,
        value: String,
        entity: EntityKind,
        id: String,
        expected: String,
    },

    #[error(
        "{target} `{value}` in {entity} `{id}` belongs to site `{actual_site}`: expected {expected}"
    )]
    SiteMismatch {
        target: EntityKind,
        value: String,
        entity: EntityKind,
        id: String,
        actual_site: String,
        expected: String,
    },

    /// A value that does not parse: a CIDR, a time zone, a time, a clock time, a day, a MAC.
    #[error("invalid {what} `{value}` in {entity} `{id}`: expected {expected}")]
    InvalidValue {
        what: String,
        value: String,
        entity: EntityKind,
        id: String,
        expected: String,
    },

    /// A value that must name one thing only (a reader, an address, a prefix) named twice.
    #[error(
        "{what} `{value}` of {entity} `{id}` is already used by {other_entity} `{other_id}`: \
         expected each {what} on one {other_entity} only"
    )]
    Taken {
        what: String,
        value: String,
        entity: EntityKind,
        id: String,
        other_entity: EntityKind,
        other_id: String,
    },

    #[error(
        "{kind} `{value}` of person `{person}` overlaps with the same {kind} of person `{other}` \
         at {other_location}: expected one holder at a time"
    )]
    IdentifierOverlap {
        kind: String,
        value: String,
        person: String,
        other: String,
        other_location: Location,
    },

    #[error("empty {what} in {entity} `{id}`: expected `{start}` before `{end}`")]
    EmptyInterval {
        what: String,
        entity: EntityKind,
        id: String,
        start: String,
        end: String,
    },

    #[error(
        "status of person `{person}` out of order: `{since}` is not after `{previous}`: \
         expected entries oldest first"
    )]
    StatusOutOfOrder {
        person: String,
        since: String,
        previous: String,
    },

    /// Values that parse but do not agree with each other.
    #[error("{message} in {entity} `{id}`: expected {expected}")]
    Inconsistent {
        message: String,
        entity: EntityKind,
        id: String,
        expected: String,
    },

    #[error("too many {entity} entries: expected at most {max}")]
    TooMany { entity: EntityKind, max: u32 },
}
