//! How the rules see the caller's events: field handles, values and records.

use serde::{Deserialize, Serialize};

/// Opaque handle for a field, issued by the caller's [`Schema`] at compile time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FieldRef(pub u32);

/// The caller resolves every field name a rule uses, once, at compile time.
pub trait Schema {
    /// `Err(reason)` for an unknown or invalid name; the compiler turns it into an error at the
    /// field's file:line:column.
    fn resolve(&self, name: &str) -> Result<FieldRef, String>;

    /// The closed set of texts a field can take, when it has one (an enumeration such as the
    /// event classes). Records may then report the field's value as a position in it
    /// ([`Record::word`]), which dispatch reads without comparing text.
    fn vocabulary(&self, _field: FieldRef) -> Option<Vec<String>> {
        None
    }
}

/// A field with a vocabulary, as one record has it (see [`Record::word`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Word {
    /// The field is missing: [`Record::field`] would give `None`.
    Missing,
    /// The field is the vocabulary's text at this position: [`Record::field`] would give it
    /// as [`Value::Str`].
    At(u16),
    /// The record does not say: read the field with [`Record::field`].
    Unknown,
}

/// A field's value as the matcher sees it. `None` from [`Record::field`] means "missing".
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
    /// A computed value.
    Owned(String),
    Ip(std::net::IpAddr),
    /// A multi-valued field: a test matches if any element matches.
    List(Vec<Value<'a>>),
}

/// One event as the rules read it.
pub trait Record {
    fn field(&self, field: FieldRef) -> Option<Value<'_>>;

    /// A field with a vocabulary ([`Schema::vocabulary`]) as a position in it. Must agree
    /// with [`Record::field`]; the default, [`Word::Unknown`], always does.
    fn word(&self, _field: FieldRef) -> Word {
        Word::Unknown
    }

    /// Text searched by keyword selections (a list of bare strings); `None` = no keyword search.
    fn keyword_text(&self) -> Option<&str> {
        None
    }
}

/// One event presented to the rules.
#[derive(Debug)]
pub struct Input<'a, R: Record + ?Sized> {
    /// Event time, milliseconds since the Unix epoch.
    pub time: i64,
    /// The event's stable id, kept as evidence.
    pub uid: &'a str,
    pub record: &'a R,
    /// Later than the allowed lateness: only single-event rules see it.
    pub late: bool,
}
