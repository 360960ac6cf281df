//! One field of a selection: `field|modifier|...: value(s)` compiled into value tests.

use std::cmp::Ordering;
use std::net::IpAddr;

use crate::dispatch::Known;
use crate::error::{Located, Problem};
use crate::record::{FieldRef, Record, Schema, Value};
use crate::text::{self, GlobPiece, TextPattern, fold, parse_wildcards, with_text};
use crate::yaml::{Key, Node, NodeKind};

/// Largest compiled regex program, in bytes (the regex crate's own size measure).
pub const MAX_REGEX_SIZE: usize = 1 << 20;

/// Most `windash` variants one value may expand to.
const MAX_WINDASH_VARIANTS: usize = 625;

/// What a field test reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Field(FieldRef),
    /// The record's keyword text.
    Keywords,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

impl CompareOp {
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            CompareOp::Gt => ordering == Ordering::Greater,
            CompareOp::Gte => ordering != Ordering::Less,
            CompareOp::Lt => ordering == Ordering::Less,
            CompareOp::Lte => ordering != Ordering::Greater,
        }
    }
}

/// A number from a rule or a field; integers compare exactly, anything else as floats.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    fn compare(self, other: Number) -> Option<Ordering> {
        match (self, other) {
            (Number::Int(left), Number::Int(right)) => Some(left.cmp(&right)),
            (left, right) => left.as_f64().partial_cmp(&right.as_f64()),
        }
    }

    #[expect(
        clippy::cast_precision_loss,
        reason = "comparing an integer with a float is done in floats, as everywhere else"
    )]
    fn as_f64(self) -> f64 {
        match self {
            Number::Int(value) => value as f64,
            Number::Float(value) => value,
        }
    }

    /// Numbers written as text: only plain decimal notation (no `inf`, `nan`, hex). Dispatch
    /// reads numeric strings with this too, so that it places values as the matcher does.
    pub(crate) fn parse(text: &str) -> Option<Number> {
        let first = text.as_bytes().first()?;
        if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
            return None;
        }
        if let Ok(int) = text.parse::<i64>() {
            return Some(Number::Int(int));
        }
        let float = text.parse::<f64>().ok()?;
        float.is_finite().then_some(Number::Float(float))
    }

    fn of_value(value: &Value<'_>) -> Option<Number> {
        match value {
            Value::Int(int) => Some(Number::Int(*int)),
            Value::Float(float) => Some(Number::Float(*float)),
            Value::Str(text) => Number::parse(text),
            Value::Owned(text) => Number::parse(text),
            _ => None,
        }
    }
}

/// An IPv4 or IPv6 network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address.trim().parse().ok()?;
        let max_prefix = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix.trim().parse::<u8>().ok()?,
            None => max_prefix,
        };
        if prefix > max_prefix {
            return None;
        }
        let network = match network {
            IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) & mask32(prefix)).into()),
            IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & mask128(prefix)).into()),
        };
        Some(Cidr { network, prefix })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                u32::from(address) & mask32(self.prefix) == u32::from(network)
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                u128::from(address) & mask128(self.prefix) == u128::from(network)
            }
            // An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is the IPv4 address it maps.
            (IpAddr::V4(_), IpAddr::V6(address)) => address
                .to_ipv4_mapped()
                .is_some_and(|v4| self.contains(IpAddr::V4(v4))),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

/// One value a field is tested against.
#[derive(Clone, Debug)]
pub(crate) enum ValueTest {
    /// `null`: the field is missing, null or an empty list.
    Null,
    /// `|exists: true/false`
    Exists(bool),
    Text(TextPattern),
    /// A number written as a number: equal numerically (numeric strings included).
    Number(Number),
    /// A boolean written as a boolean: matches booleans and the strings `true`/`false`.
    Bool(bool),
    Compare(CompareOp, Number),
    Regex(Box<regex::Regex>),
    Cidr(Cidr),
    FieldRef {
        other: FieldRef,
        cased: bool,
    },
}

impl ValueTest {
    pub fn matches<R: Record + ?Sized>(&self, value: Option<&Value<'_>>, record: &R) -> bool {
        match self {
            ValueTest::Null => !is_present(value),
            ValueTest::Exists(wanted) => is_present(value) == *wanted,
            _ => value.is_some_and(|value| self.matches_present(value, record)),
        }
    }

    fn matches_present<R: Record + ?Sized>(&self, value: &Value<'_>, record: &R) -> bool {
        if let Value::List(items) = value {
            return items.iter().any(|item| self.matches_present(item, record));
        }
        match self {
            ValueTest::Null | ValueTest::Exists(_) => false,
            ValueTest::Text(pattern) => {
                with_text(value, |text| pattern.matches(text)) == Some(true)
            }
            ValueTest::Number(wanted) => Number::of_value(value)
                .and_then(|number| number.compare(*wanted))
                .is_some_and(|ordering| ordering == Ordering::Equal),
            ValueTest::Bool(wanted) => match value {
                Value::Bool(actual) => actual == wanted,
                Value::Str(_) | Value::Owned(_) => {
                    let wanted_text = if *wanted { "true" } else { "false" };
                    with_text(value, |text| text::equals_folded(text, wanted_text)) == Some(true)
                }
                _ => false,
            },
            ValueTest::Compare(operator, wanted) => Number::of_value(value)
                .and_then(|number| number.compare(*wanted))
                .is_some_and(|ordering| operator.holds(ordering)),
            ValueTest::Regex(regex) => with_text(value, |text| regex.is_match(text)) == Some(true),
            ValueTest::Cidr(cidr) => match value {
                Value::Ip(address) => cidr.contains(*address),
                Value::Str(text) => text.parse().is_ok_and(|address| cidr.contains(address)),
                Value::Owned(text) => text.parse().is_ok_and(|address| cidr.contains(address)),
                _ => false,
            },
            ValueTest::FieldRef { other, cased } => record
                .field(*other)
                .is_some_and(|other_value| values_equal(value, &other_value, *cased)),
        }
    }

    /// The literal this test requires the whole field to equal, if it is that simple.
    pub fn exact_literal(&self) -> Option<&str> {
        match self {
            ValueTest::Text(TextPattern {
                shape: text::Shape::Exact(literal),
                cased: false,
            }) => Some(literal),
            _ => None,
        }
    }
}

fn is_present(value: Option<&Value<'_>>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::List(items)) => items.iter().any(|item| is_present(Some(item))),
        Some(_) => true,
    }
}

fn values_equal(left: &Value<'_>, right: &Value<'_>, cased: bool) -> bool {
    if let Value::List(items) = right {
        return items.iter().any(|item| values_equal(left, item, cased));
    }
    if let (Some(left_number), Some(right_number)) = (numeric(left), numeric(right)) {
        return left_number.compare(right_number) == Some(Ordering::Equal);
    }
    with_text(left, |left_text| {
        with_text(right, |right_text| {
            if cased {
                left_text == right_text
            } else {
                left_text.chars().map(fold).eq(right_text.chars().map(fold))
            }
        })
    })
    .flatten()
        == Some(true)
}

/// Numbers only for values that are numbers (not numeric strings): `"007"` and `7` differ as
/// field references, as they would in the source system.
fn numeric(value: &Value<'_>) -> Option<Number> {
    match value {
        Value::Int(int) => Some(Number::Int(*int)),
        Value::Float(float) => Some(Number::Float(*float)),
        _ => None,
    }
}

/// How the tests of one field combine.
#[derive(Clone, Debug)]
pub(crate) enum Combine {
    /// Any one value matches (the default for a list of values).
    AnyOf(Vec<ValueTest>),
    /// `|all`: every value matches; each value may have several variants (`windash`).
    AllOf(Vec<Vec<ValueTest>>),
}

/// One `field|modifiers: values` entry of a selection.
#[derive(Clone, Debug)]
pub(crate) struct FieldTest {
    pub target: Target,
    pub combine: Combine,
    /// Set by dispatch for a test of a dispatch field against plain literals: the answer is
    /// then read from the values dispatch has already classified (see [`crate::dispatch`]).
    pub shortcut: Option<Shortcut>,
}

/// A test answered from the dispatch classification: the field in dispatch slot `slot` must
/// have one of the literal ids in `accepted` (a bit per id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Shortcut {
    pub slot: usize,
    pub accepted: u64,
}

impl FieldTest {
    /// Like [`FieldTest::matches`], using what dispatch already knows of this event's fields.
    pub fn matches_known<R: Record + ?Sized>(&self, record: &R, known: Option<&Known>) -> bool {
        if let (Some(shortcut), Some(known)) = (self.shortcut, known)
            && let Some(answer) = known.answer(shortcut)
        {
            return answer;
        }
        self.matches(record)
    }

    pub fn matches<R: Record + ?Sized>(&self, record: &R) -> bool {
        match self.target {
            Target::Keywords => match record.keyword_text() {
                Some(text) => self.check(Some(&Value::Str(text)), record),
                None => false,
            },
            Target::Field(field) => {
                let value = record.field(field);
                self.check(value.as_ref(), record)
            }
        }
    }

    fn check<R: Record + ?Sized>(&self, value: Option<&Value<'_>>, record: &R) -> bool {
        match &self.combine {
            Combine::AnyOf(tests) => tests.iter().any(|test| test.matches(value, record)),
            Combine::AllOf(groups) => groups
                .iter()
                .all(|variants| variants.iter().any(|test| test.matches(value, record))),
        }
    }

    /// The set of literals the field must equal (case-insensitively) for this test to match,
    /// or `None` when the test is not that simple.
    pub fn required_literals(&self) -> Option<Vec<String>> {
        match &self.combine {
            Combine::AnyOf(tests) => tests
                .iter()
                .map(|test| test.exact_literal().map(str::to_owned))
                .collect(),
            Combine::AllOf(groups) => {
                // Every group must hold, so the field must be in each group's set.
                let mut required: Option<Vec<String>> = None;
                for variants in groups {
                    let set: Vec<String> = variants
                        .iter()
                        .map(|test| test.exact_literal().map(str::to_owned))
                        .collect::<Option<_>>()?;
                    required = Some(match required {
                        None => set,
                        Some(previous) => {
                            previous.into_iter().filter(|v| set.contains(v)).collect()
                        }
                    });
                }
                required
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Position {
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Utf16 {
    LittleEndian,
    BigEndian,
    WithByteOrderMark,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Base64 {
    Plain,
    Offset,
}

/// The modifiers of one field, checked for conflicts.
#[derive(Debug, Default)]
struct Modifiers {
    position: Option<Position>,
    position_name: Option<String>,
    all: bool,
    cased: bool,
    windash: bool,
    base64: Option<Base64>,
    utf16: Option<Utf16>,
    regex: bool,
    regex_flags: RegexFlags,
    cidr: bool,
    compare: Option<CompareOp>,
    exists: bool,
    fieldref: bool,
    /// The first "special" modifier seen (they exclude one another), for conflict messages.
    special: Option<String>,
    /// The first string-shaping modifier seen, for conflict messages.
    shaping: Option<String>,
}

#[derive(Debug, Default, Clone, Copy)]
struct RegexFlags {
    case_insensitive: bool,
    multi_line: bool,
    dot_all: bool,
}

impl Modifiers {
    fn parse(key: &Key, parts: &[&str]) -> Result<Modifiers, Located> {
        let mut modifiers = Modifiers::default();
        // Offsets of each modifier inside the key, so errors point at the modifier itself.
        let mut offset = 0;
        let mut offsets = Vec::with_capacity(parts.len());
        for part in parts {
            offsets.push(offset);
            offset += part.chars().count() + 1;
        }
        for (index, name) in parts.iter().enumerate().skip(1) {
            let position = key.position_in_text(offsets.get(index).copied().unwrap_or(0));
            modifiers
                .add(name)
                .map_err(|problem| Located::new(position, problem))?;
        }
        let shaping = modifiers.shaping.clone();
        if let (Some(special), Some(shaping)) = (&modifiers.special, &shaping) {
            let allowed = modifiers.fieldref && shaping == "cased";
            if !allowed {
                return Err(Located::new(
                    key.position,
                    Problem::ConflictingModifiers(special.clone(), shaping.clone()),
                ));
            }
        }
        let flags = modifiers.regex_flags;
        if !modifiers.regex && (flags.case_insensitive || flags.multi_line || flags.dot_all) {
            return Err(Located::new(
                key.position,
                Problem::Invalid("modifiers `i`, `m` and `s` need `re`".to_owned()),
            ));
        }
        if modifiers.utf16.is_some() && modifiers.base64.is_none() {
            return Err(Located::new(
                key.position,
                Problem::Invalid(
                    "`wide`, `utf16`, `utf16le` and `utf16be` need `base64` or `base64offset`"
                        .to_owned(),
                ),
            ));
        }
        Ok(modifiers)
    }

    fn add(&mut self, name: &str) -> Result<(), Problem> {
        let conflict = |first: &Option<String>| -> Result<(), Problem> {
            match first {
                Some(first) => Err(Problem::ConflictingModifiers(
                    first.clone(),
                    name.to_owned(),
                )),
                None => Ok(()),
            }
        };
        match name {
            "all" => self.all = true,
            "contains" | "startswith" | "endswith" => {
                conflict(&self.position_name)?;
                self.position_name = Some(name.to_owned());
                self.position = Some(match name {
                    "contains" => Position::Contains,
                    "startswith" => Position::StartsWith,
                    _ => Position::EndsWith,
                });
                self.shaping.get_or_insert_with(|| name.to_owned());
            }
            "cased" => {
                self.cased = true;
                self.shaping.get_or_insert_with(|| name.to_owned());
            }
            "windash" => {
                self.windash = true;
                self.shaping.get_or_insert_with(|| name.to_owned());
            }
            "base64" | "base64offset" => {
                if self.base64.is_some() {
                    return Err(Problem::ConflictingModifiers(
                        "base64".to_owned(),
                        name.to_owned(),
                    ));
                }
                self.base64 = Some(if name == "base64" {
                    Base64::Plain
                } else {
                    Base64::Offset
                });
                self.shaping.get_or_insert_with(|| name.to_owned());
            }
            "wide" | "utf16le" | "utf16be" | "utf16" => {
                self.utf16 = Some(match name {
                    "utf16be" => Utf16::BigEndian,
                    "utf16" => Utf16::WithByteOrderMark,
                    _ => Utf16::LittleEndian,
                });
                self.shaping.get_or_insert_with(|| name.to_owned());
            }
            "i" => self.regex_flags.case_insensitive = true,
            "m" => self.regex_flags.multi_line = true,
            "s" => self.regex_flags.dot_all = true,
            "re" | "cidr" | "gt" | "gte" | "lt" | "lte" | "exists" | "fieldref" => {
                conflict(&self.special)?;
                self.special = Some(name.to_owned());
                match name {
                    "re" => self.regex = true,
                    "cidr" => self.cidr = true,
                    "exists" => self.exists = true,
                    "fieldref" => self.fieldref = true,
                    "gt" => self.compare = Some(CompareOp::Gt),
                    "gte" => self.compare = Some(CompareOp::Gte),
                    "lt" => self.compare = Some(CompareOp::Lt),
                    _ => self.compare = Some(CompareOp::Lte),
                }
            }
            "expand" => {
                return Err(Problem::UnsupportedModifier(
                    name.to_owned(),
                    "placeholders are not supported",
                ));
            }
            "minute" | "hour" | "day" | "week" | "month" | "year" => {
                return Err(Problem::UnsupportedModifier(
                    name.to_owned(),
                    "time-part modifiers are not supported",
                ));
            }
            _ => return Err(Problem::UnknownModifier(name.to_owned())),
        }
        Ok(())
    }
}

/// Compiles `field|modifiers: value(s)`; an empty field name means the keyword text.
pub(crate) fn compile_field_test(
    key: &Key,
    value: &Node,
    schema: &dyn Schema,
) -> Result<FieldTest, Located> {
    let parts: Vec<&str> = key.name.split('|').collect();
    let field_name = parts.first().copied().unwrap_or_default();
    let modifiers = Modifiers::parse(key, &parts)?;
    let target = if field_name.is_empty() {
        Target::Keywords
    } else {
        let field = schema.resolve(field_name).map_err(|reason| {
            Located::new(
                key.position,
                Problem::UnknownField {
                    name: field_name.to_owned(),
                    reason,
                },
            )
        })?;
        Target::Field(field)
    };
    let value_nodes: Vec<&Node> = match &value.kind {
        NodeKind::Seq(items) => {
            if items.is_empty() {
                return Err(Located::new(
                    value.position,
                    Problem::EmptyValueList(key.name.clone()),
                ));
            }
            items.iter().collect()
        }
        NodeKind::Map(_) => {
            return Err(Located::new(
                value.position,
                Problem::WrongType {
                    key: key.name.clone(),
                    expected: "a value or a list of values",
                    found: value.type_name(),
                },
            ));
        }
        _ => vec![value],
    };
    if modifiers.exists && value_nodes.len() != 1 {
        return Err(Located::new(
            value.position,
            Problem::ModifierValue {
                modifier: "exists".to_owned(),
                expected: "a single boolean",
                found: "a list".to_owned(),
            },
        ));
    }
    if let Target::Field(field) = target {
        check_words(field, field_name, &value_nodes, &modifiers, schema)?;
    }
    let mut groups = Vec::with_capacity(value_nodes.len());
    for node in value_nodes {
        groups.push(compile_value(node, &modifiers, target, &key.name, schema)?);
    }
    let combine = if modifiers.all {
        Combine::AllOf(groups)
    } else {
        Combine::AnyOf(groups.into_iter().flatten().collect())
    };
    Ok(FieldTest {
        target,
        combine,
        shortcut: None,
    })
}

/// A field with a closed vocabulary (the event classes, the activities) compared for equality
/// with a word it never takes can never match: a misspelling (`physical_acess`) is an error at
/// load, with the known words and the nearest one. Patterns and other modifiers are left alone.
fn check_words(
    field: FieldRef,
    field_name: &str,
    values: &[&Node],
    modifiers: &Modifiers,
    schema: &dyn Schema,
) -> Result<(), Located> {
    let plain = modifiers.position.is_none()
        && !modifiers.regex
        && !modifiers.cidr
        && modifiers.compare.is_none()
        && !modifiers.exists
        && !modifiers.fieldref
        && modifiers.special.is_none()
        && modifiers.shaping.is_none();
    if !plain {
        return Ok(());
    }
    let Some(vocabulary) = schema.vocabulary(field) else {
        return Ok(());
    };
    for node in values {
        let NodeKind::Str(text) = &node.kind else {
            continue;
        };
        let value = text.value.as_str();
        if value.contains(['*', '?']) || vocabulary.iter().any(|w| w.eq_ignore_ascii_case(value)) {
            continue;
        }
        return Err(Located::new(
            node.position,
            Problem::UnknownWord {
                field: field_name.to_owned(),
                value: value.to_owned(),
                known: vocabulary.join(", "),
                suggestion: seam_model::text::did_you_mean(
                    value,
                    vocabulary.iter().map(String::as_str),
                ),
            },
        ));
    }
    Ok(())
}

/// A keyword selection entry: a bare string searched in the record's keyword text.
pub(crate) fn compile_keyword(node: &Node) -> Result<ValueTest, Located> {
    let Some(text) = node.scalar_text().filter(|_| node.kind != NodeKind::Null) else {
        return Err(Located::new(
            node.position,
            Problem::WrongType {
                key: "keywords".to_owned(),
                expected: "a string",
                found: node.type_name(),
            },
        ));
    };
    let mut pieces = parse_wildcards(&text);
    surround(&mut pieces, Position::Contains);
    Ok(ValueTest::Text(TextPattern::new(pieces, false)))
}

fn modifier_value_error(modifier: &str, expected: &'static str, node: &Node) -> Located {
    Located::new(
        node.position,
        Problem::ModifierValue {
            modifier: modifier.to_owned(),
            expected,
            found: node.type_name().to_owned(),
        },
    )
}

fn compile_value(
    node: &Node,
    modifiers: &Modifiers,
    target: Target,
    key_name: &str,
    schema: &dyn Schema,
) -> Result<Vec<ValueTest>, Located> {
    if matches!(node.kind, NodeKind::Seq(_) | NodeKind::Map(_)) {
        return Err(Located::new(
            node.position,
            Problem::WrongType {
                key: key_name.to_owned(),
                expected: "a scalar value",
                found: node.type_name(),
            },
        ));
    }
    if modifiers.exists {
        return match node.kind {
            NodeKind::Bool(wanted) => Ok(vec![ValueTest::Exists(wanted)]),
            _ => Err(modifier_value_error("exists", "true or false", node)),
        };
    }
    if let Some(operator) = modifiers.compare {
        let number = match &node.kind {
            NodeKind::Int(int) => Some(Number::Int(*int)),
            NodeKind::Float(float) if float.is_finite() => Some(Number::Float(*float)),
            NodeKind::Str(text) => Number::parse(&text.value),
            _ => None,
        };
        let name = modifiers.special.as_deref().unwrap_or("gt");
        return match number {
            Some(number) => Ok(vec![ValueTest::Compare(operator, number)]),
            None => Err(modifier_value_error(name, "a number", node)),
        };
    }
    let Some(text) = node.scalar_text().filter(|_| node.kind != NodeKind::Null) else {
        if modifiers.special.is_some() || modifiers.shaping.is_some() {
            let name = modifiers
                .special
                .clone()
                .or_else(|| modifiers.shaping.clone())
                .unwrap_or_default();
            return Err(Located::new(
                node.position,
                Problem::ModifierValue {
                    modifier: name,
                    expected: "a value",
                    found: "null".to_owned(),
                },
            ));
        }
        return Ok(vec![ValueTest::Null]);
    };
    if modifiers.regex {
        let flags = modifiers.regex_flags;
        let regex = regex::RegexBuilder::new(&text)
            .case_insensitive(flags.case_insensitive)
            .multi_line(flags.multi_line)
            .dot_matches_new_line(flags.dot_all)
            .size_limit(MAX_REGEX_SIZE)
            .dfa_size_limit(MAX_REGEX_SIZE)
            .build()
            .map_err(|error| {
                Located::new(
                    node.position,
                    Problem::BadRegex {
                        pattern: text.clone(),
                        reason: error
                            .to_string()
                            .lines()
                            .last()
                            .unwrap_or_default()
                            .to_owned(),
                    },
                )
            })?;
        return Ok(vec![ValueTest::Regex(Box::new(regex))]);
    }
    if modifiers.cidr {
        return match Cidr::parse(&text) {
            Some(cidr) => Ok(vec![ValueTest::Cidr(cidr)]),
            None => Err(Located::new(node.position, Problem::BadCidr(text))),
        };
    }
    if modifiers.fieldref {
        let other = schema.resolve(&text).map_err(|reason| {
            Located::new(
                node.position,
                Problem::UnknownField {
                    name: text.clone(),
                    reason,
                },
            )
        })?;
        return Ok(vec![ValueTest::FieldRef {
            other,
            cased: modifiers.cased,
        }]);
    }
    let unshaped = modifiers.shaping.is_none() && target != Target::Keywords;
    if unshaped {
        match node.kind {
            NodeKind::Int(int) => return Ok(vec![ValueTest::Number(Number::Int(int))]),
            NodeKind::Float(float) => return Ok(vec![ValueTest::Number(Number::Float(float))]),
            NodeKind::Bool(value) => return Ok(vec![ValueTest::Bool(value)]),
            _ => {}
        }
    }
    let variants = if modifiers.windash {
        windash_variants(&text)
            .ok_or_else(|| Located::new(node.position, Problem::TooManyVariants(text.clone())))?
    } else {
        vec![text]
    };
    // Keyword text is searched, not compared whole.
    let position = match (modifiers.position, target) {
        (None, Target::Keywords) => Some(Position::Contains),
        (position, _) => position,
    };
    let mut tests = Vec::new();
    for variant in variants {
        match modifiers.base64 {
            Some(mode) => {
                let bytes = encode_text(&variant, modifiers.utf16);
                let encodings = match mode {
                    Base64::Plain => vec![base64_encode(&bytes)],
                    Base64::Offset => base64_offsets(&bytes),
                };
                for encoded in encodings {
                    // Base64 is case-sensitive: matching it folded would invent matches.
                    let mut pieces: Vec<GlobPiece> = encoded.chars().map(GlobPiece::Char).collect();
                    if let Some(position) = position {
                        surround(&mut pieces, position);
                    }
                    tests.push(ValueTest::Text(TextPattern::new(pieces, true)));
                }
            }
            None => {
                let mut pieces = parse_wildcards(&variant);
                if let Some(position) = position {
                    surround(&mut pieces, position);
                }
                tests.push(ValueTest::Text(TextPattern::new(pieces, modifiers.cased)));
            }
        }
    }
    Ok(tests)
}

fn surround(pieces: &mut Vec<GlobPiece>, position: Position) {
    if matches!(position, Position::Contains | Position::EndsWith)
        && pieces.first() != Some(&GlobPiece::Many)
    {
        pieces.insert(0, GlobPiece::Many);
    }
    if matches!(position, Position::Contains | Position::StartsWith)
        && pieces.last() != Some(&GlobPiece::Many)
    {
        pieces.push(GlobPiece::Many);
    }
}

/// Every spelling of a Windows command-line switch: a `-` or `/` that starts a word may also
/// be written with `/`, `-` or one of the Unicode dashes.
fn windash_variants(text: &str) -> Option<Vec<String>> {
    const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];
    let characters: Vec<char> = text.chars().collect();
    let is_word = |character: Option<&char>| {
        character.is_some_and(|character| character.is_alphanumeric() || *character == '_')
    };
    let switch_positions: Vec<usize> = characters
        .iter()
        .enumerate()
        .filter(|(index, character)| {
            matches!(character, '-' | '/')
                && !is_word(
                    index
                        .checked_sub(1)
                        .and_then(|previous| characters.get(previous)),
                )
                && is_word(characters.get(index + 1))
        })
        .map(|(index, _)| index)
        .collect();
    let count = DASHES
        .len()
        .checked_pow(u32::try_from(switch_positions.len()).ok()?)?;
    if count > MAX_WINDASH_VARIANTS {
        return None;
    }
    let mut variants = Vec::with_capacity(count);
    for mut combination in 0..count {
        let mut variant = characters.clone();
        for position in &switch_positions {
            if let (Some(slot), Some(dash)) = (
                variant.get_mut(*position),
                DASHES.get(combination % DASHES.len()),
            ) {
                *slot = *dash;
            }
            combination /= DASHES.len();
        }
        variants.push(variant.into_iter().collect());
    }
    Some(variants)
}

fn encode_text(text: &str, utf16: Option<Utf16>) -> Vec<u8> {
    match utf16 {
        None => text.as_bytes().to_vec(),
        Some(Utf16::LittleEndian) => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        Some(Utf16::BigEndian) => text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        Some(Utf16::WithByteOrderMark) => [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect(),
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let symbol =
        |index: u32| char::from(ALPHABET.get((index & 63) as usize).copied().unwrap_or(b'='));
    let mut encoded = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let byte = |index: usize| u32::from(chunk.get(index).copied().unwrap_or(0));
        let triple = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        encoded.push(symbol(triple >> 18));
        encoded.push(symbol(triple >> 12));
        encoded.push(if chunk.len() > 1 {
            symbol(triple >> 6)
        } else {
            '='
        });
        encoded.push(if chunk.len() > 2 { symbol(triple) } else { '=' });
    }
    encoded
}

/// The three encodings of `bytes` at byte offsets 0, 1 and 2 inside a longer base64 text,
/// trimmed to the characters that do not depend on the surrounding bytes.
fn base64_offsets(bytes: &[u8]) -> Vec<String> {
    const START_TRIM: [usize; 3] = [0, 2, 3];
    const END_TRIM: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|shift| {
            let mut shifted = vec![b' '; shift];
            shifted.extend_from_slice(bytes);
            let encoded = base64_encode(&shifted);
            let start = START_TRIM.get(shift).copied().unwrap_or(0);
            let end_trim = END_TRIM
                .get((bytes.len() + shift) % 3)
                .copied()
                .unwrap_or(0);
            let end = encoded.len().saturating_sub(end_trim);
            encoded
                .get(start..end.max(start))
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_usual_encoding() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn base64_offsets_are_found_inside_longer_encodings() {
        let needle = b"http://";
        let variants = base64_offsets(needle);
        for prefix in ["", "a", "ab", "abc", "abcd"] {
            for suffix in ["", "x", "xy", "xyz"] {
                let mut whole = prefix.as_bytes().to_vec();
                whole.extend_from_slice(needle);
                whole.extend_from_slice(suffix.as_bytes());
                let encoded = base64_encode(&whole);
                assert!(
                    variants
                        .iter()
                        .any(|variant| encoded.contains(variant.as_str())),
                    "{prefix}|{suffix}: {encoded} vs {variants:?}"
                );
            }
        }
    }

    #[test]
    fn windash_expands_switches_only() {
        let variants = windash_variants("net user -add /y x-y").unwrap();
        assert_eq!(variants.len(), 25);
        assert!(variants.contains(&"net user /add -y x-y".to_owned()));
        assert!(variants.contains(&"net user \u{2013}add \u{2015}y x-y".to_owned()));
        assert!(variants.iter().all(|variant| variant.ends_with("x-y")));
        assert!(windash_variants("-a -b -c -d -e").is_none());
    }

    #[test]
    fn cidr_parsing_and_containment() {
        let net = Cidr::parse("10.1.0.0/16").unwrap();
        assert!(net.contains("10.1.200.3".parse().unwrap()));
        assert!(!net.contains("10.2.0.1".parse().unwrap()));
        assert!(net.contains("::ffff:10.1.0.9".parse().unwrap()));
        let host = Cidr::parse("192.168.1.7").unwrap();
        assert!(host.contains("192.168.1.7".parse().unwrap()));
        assert!(!host.contains("192.168.1.8".parse().unwrap()));
        let v6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("2001:db9::5".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        let everything = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(everything.contains("8.8.8.8".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("10.0.0/8").is_none());
        assert!(Cidr::parse("nonsense").is_none());
    }

    #[test]
    fn numbers_parse_only_in_decimal_notation() {
        assert_eq!(Number::parse("42"), Some(Number::Int(42)));
        assert_eq!(Number::parse("-1.5"), Some(Number::Float(-1.5)));
        assert_eq!(Number::parse("inf"), None);
        assert_eq!(Number::parse("NaN"), None);
        assert_eq!(Number::parse(""), None);
        assert_eq!(Number::parse("12abc"), None);
    }
}
