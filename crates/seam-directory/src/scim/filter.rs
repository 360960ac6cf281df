//! Filters (RFC 7644 §3.4.2.2): the grammar of its Figure 1, parsed into a [`Filter`], then
//! compiled against the schemas (canonical names, types, `caseExact`) and evaluated against
//! resources as JSON.
//!
//! Precedence is `not` over `and` over `or`, with parentheses to group; keywords and
//! attribute names are case-insensitive. Limits keep a hostile filter cheap: at most
//! [`MAX_FILTER_BYTES`] of text, 32 levels of nesting and 256 terms, else `invalidFilter`.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Number, Value};

use super::error::{ScimError, quote};
use super::path::{AttrPath, Target, resolve};
use super::schema::{AttrType, Attribute, ResourceKind, SchemaSet};

/// The longest filter (and PATCH path) read, in bytes.
pub const MAX_FILTER_BYTES: usize = 4096;
const MAX_DEPTH: usize = 32;
const MAX_NODES: usize = 256;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<CompareOp> {
        const ALL: [(&str, CompareOp); 9] = [
            ("eq", CompareOp::Eq),
            ("ne", CompareOp::Ne),
            ("co", CompareOp::Co),
            ("sw", CompareOp::Sw),
            ("ew", CompareOp::Ew),
            ("gt", CompareOp::Gt),
            ("ge", CompareOp::Ge),
            ("lt", CompareOp::Lt),
            ("le", CompareOp::Le),
        ];
        ALL.into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(word))
            .map(|(_, op)| op)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }

    fn is_substring(self) -> bool {
        matches!(self, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
    }
}

/// A comparison value: a JSON string, number, `true`, `false` or `null`.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    String(String),
    Number(Number),
    Bool(bool),
    Null,
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::String(text) => {
                let quoted = serde_json::to_string(text).map_err(|_| fmt::Error)?;
                f.write_str(&quoted)
            }
            Literal::Number(number) => write!(f, "{number}"),
            Literal::Bool(value) => write!(f, "{value}"),
            Literal::Null => f.write_str("null"),
        }
    }
}

/// A parsed filter, not yet checked against any schema.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// `attrPath op value`
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: Literal,
    },
    /// `attrPath pr`
    Present(AttrPath),
    Not(Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    /// `attrPath[valFilter]`: the inner filter names sub-attributes of each value.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

impl Filter {
    /// Parses a filter; an unreadable one is `invalidFilter` naming the character where
    /// reading stopped.
    pub fn parse(text: &str) -> Result<Filter, ScimError> {
        if text.len() > MAX_FILTER_BYTES {
            return Err(ScimError::invalid_filter(format!(
                "filter is longer than {MAX_FILTER_BYTES} bytes"
            )));
        }
        let mut cursor = Cursor::new(text);
        let mut parser = Parser {
            cursor: &mut cursor,
            depth: 0,
            nodes: 0,
            in_brackets: false,
        };
        let filter = parser.or()?;
        parser.cursor.skip_ws();
        match parser.cursor.peek() {
            None => Ok(filter),
            Some(c) => Err(parser.error(parser.cursor.pos, format!("unexpected `{c}`"))),
        }
    }

    /// Parses `[valFilter]` from the cursor (at the `[`), leaving it after the `]`: the
    /// filter of a PATCH path.
    pub(crate) fn parse_value_filter(cursor: &mut Cursor<'_>) -> Result<Filter, ScimError> {
        let mut parser = Parser {
            cursor,
            depth: 1,
            nodes: 0,
            in_brackets: true,
        };
        parser.expect('[')?;
        let filter = parser.or()?;
        parser.expect(']')?;
        Ok(filter)
    }

    fn precedence(&self) -> u8 {
        match self {
            Filter::Or(..) => 0,
            Filter::And(..) => 1,
            _ => 2,
        }
    }
}

/// The canonical text: keywords in lower case, strings JSON-escaped, parentheses only where
/// precedence or left-to-right grouping needs them, so that it parses back to the same tree.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = |f: &mut fmt::Formatter<'_>, child: &Filter, min: u8| {
            if child.precedence() < min {
                write!(f, "({child})")
            } else {
                write!(f, "{child}")
            }
        };
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {} {value}", op.as_str()),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::And(left, right) => {
                side(f, left, 1)?;
                f.write_str(" and ")?;
                side(f, right, 2)
            }
            Filter::Or(left, right) => {
                side(f, left, 0)?;
                f.write_str(" or ")?;
                side(f, right, 1)
            }
            Filter::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}

/// A position in filter or path text.
#[derive(Debug)]
pub(crate) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(text: &'a str) -> Cursor<'a> {
        Cursor { text, pos: 0 }
    }

    pub fn peek(&self) -> Option<char> {
        self.text.get(self.pos..)?.chars().next()
    }

    pub fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    pub fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    pub fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    /// The run of characters up to whitespace, a parenthesis, a bracket or a quote.
    pub fn word(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_whitespace() || "()[]\"".contains(c) {
                break;
            }
            self.bump();
        }
        self.text.get(start..self.pos).unwrap_or_default()
    }

    /// The 1-based character number of a byte position.
    fn character(&self, byte: usize) -> usize {
        self.text.get(..byte).map_or(0, |head| head.chars().count()) + 1
    }
}

struct Parser<'a, 'c> {
    cursor: &'c mut Cursor<'a>,
    depth: usize,
    nodes: usize,
    in_brackets: bool,
}

impl Parser<'_, '_> {
    fn error(&self, byte: usize, what: String) -> ScimError {
        ScimError::invalid_filter(format!(
            "invalid filter at character {}: {what}",
            self.cursor.character(byte)
        ))
    }

    fn count(&mut self) -> Result<(), ScimError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(ScimError::invalid_filter(format!(
                "filter has more than {MAX_NODES} terms"
            )));
        }
        Ok(())
    }

    fn enter(&mut self) -> Result<(), ScimError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ScimError::invalid_filter(format!(
                "filter is nested more than {MAX_DEPTH} levels deep"
            )));
        }
        Ok(())
    }

    fn expect(&mut self, wanted: char) -> Result<(), ScimError> {
        self.cursor.skip_ws();
        match self.cursor.peek() {
            Some(c) if c == wanted => {
                self.cursor.bump();
                Ok(())
            }
            Some(c) => {
                Err(self.error(self.cursor.pos, format!("expected `{wanted}`, found `{c}`")))
            }
            None => Err(self.error(
                self.cursor.pos,
                format!("expected `{wanted}`, found the end"),
            )),
        }
    }

    fn or(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.and()?;
        loop {
            let save = self.cursor.pos;
            self.cursor.skip_ws();
            if self.cursor.word().eq_ignore_ascii_case("or") {
                self.count()?;
                let right = self.and()?;
                left = Filter::Or(Box::new(left), Box::new(right));
            } else {
                self.cursor.pos = save;
                return Ok(left);
            }
        }
    }

    fn and(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.unary()?;
        loop {
            let save = self.cursor.pos;
            self.cursor.skip_ws();
            if matches!(self.cursor.peek(), None | Some(')') | Some(']')) {
                self.cursor.pos = save;
                return Ok(left);
            }
            let start = self.cursor.pos;
            let word = self.cursor.word();
            if word.eq_ignore_ascii_case("and") {
                self.count()?;
                let right = self.unary()?;
                left = Filter::And(Box::new(left), Box::new(right));
            } else if word.eq_ignore_ascii_case("or") {
                self.cursor.pos = save;
                return Ok(left);
            } else {
                let found = if word.is_empty() {
                    self.cursor.peek().map(String::from).unwrap_or_default()
                } else {
                    word.to_string()
                };
                return Err(self.error(
                    start,
                    format!("expected `and`, `or` or the end, found {}", quote(&found)),
                ));
            }
        }
    }

    fn unary(&mut self) -> Result<Filter, ScimError> {
        self.cursor.skip_ws();
        let start = self.cursor.pos;
        match self.cursor.peek() {
            None => Err(self.error(start, "expected an expression, found the end".into())),
            Some('(') => {
                self.cursor.bump();
                self.enter()?;
                let inner = self.or()?;
                self.expect(')')?;
                self.depth -= 1;
                Ok(inner)
            }
            Some(c) if ")[]\"".contains(c) => Err(self.error(start, format!("unexpected `{c}`"))),
            Some(_) => {
                let word = self.cursor.word();
                if word.eq_ignore_ascii_case("not") {
                    self.cursor.skip_ws();
                    if self.cursor.peek() != Some('(') {
                        return Err(self.error(self.cursor.pos, "expected `(` after `not`".into()));
                    }
                    self.cursor.bump();
                    self.enter()?;
                    self.count()?;
                    let inner = self.or()?;
                    self.expect(')')?;
                    self.depth -= 1;
                    return Ok(Filter::Not(Box::new(inner)));
                }
                let path = AttrPath::parse(word).ok_or_else(|| {
                    self.error(start, format!("{} is not an attribute path", quote(word)))
                })?;
                if self.cursor.peek() == Some('[') {
                    if self.in_brackets || path.sub.is_some() {
                        return Err(self.error(
                            self.cursor.pos,
                            "a value filter applies to an attribute, and cannot hold another"
                                .into(),
                        ));
                    }
                    self.cursor.bump();
                    self.enter()?;
                    self.count()?;
                    self.in_brackets = true;
                    let inner = self.or()?;
                    self.expect(']')?;
                    self.in_brackets = false;
                    self.depth -= 1;
                    return Ok(Filter::ValuePath {
                        path,
                        filter: Box::new(inner),
                    });
                }
                self.cursor.skip_ws();
                let op_start = self.cursor.pos;
                let op = self.cursor.word();
                if op.is_empty() {
                    return Err(self.error(
                        op_start,
                        format!("expected an operator after {}", quote(word)),
                    ));
                }
                self.count()?;
                if op.eq_ignore_ascii_case("pr") {
                    return Ok(Filter::Present(path));
                }
                let op = CompareOp::parse(op).ok_or_else(|| {
                    self.error(
                        op_start,
                        format!(
                            "unknown operator {}: expected eq, ne, co, sw, ew, gt, ge, lt, le or pr",
                            quote(op)
                        ),
                    )
                })?;
                let value = self.literal()?;
                Ok(Filter::Compare { path, op, value })
            }
        }
    }

    fn literal(&mut self) -> Result<Literal, ScimError> {
        self.cursor.skip_ws();
        let start = self.cursor.pos;
        if self.cursor.peek() == Some('"') {
            let rest = self.cursor.text.get(start..).unwrap_or_default();
            let mut escaped = false;
            let mut end = None;
            for (at, c) in rest.char_indices().skip(1) {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    end = Some(at);
                    break;
                }
            }
            let end = end.ok_or_else(|| self.error(start, "unterminated string".into()))?;
            let quoted = rest.get(..=end).unwrap_or_default();
            let text: String = serde_json::from_str(quoted)
                .map_err(|_| self.error(start, "invalid string: JSON escapes expected".into()))?;
            self.cursor.pos = start + end + 1;
            return Ok(Literal::String(text));
        }
        let word = self.cursor.word();
        if word.eq_ignore_ascii_case("true") {
            Ok(Literal::Bool(true))
        } else if word.eq_ignore_ascii_case("false") {
            Ok(Literal::Bool(false))
        } else if word.eq_ignore_ascii_case("null") {
            Ok(Literal::Null)
        } else if word.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            serde_json::from_str::<Number>(word)
                .map(Literal::Number)
                .map_err(|_| self.error(start, format!("{} is not a number", quote(word))))
        } else if word.is_empty() {
            Err(self.error(
                start,
                "expected a value: a string, number, true, false or null".into(),
            ))
        } else {
            Err(self.error(
                start,
                format!(
                    "expected a value: a string, number, true, false or null, found {}",
                    quote(word)
                ),
            ))
        }
    }
}

/// Where a filter's attribute names are looked up.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Scope<'s> {
    /// A resource of a type; `lenient` takes unknown attributes as case-insensitive strings
    /// instead of refusing them.
    Resource {
        set: &'s SchemaSet,
        kind: ResourceKind,
        lenient: bool,
    },
    /// The values of a complex attribute, inside `[…]`.
    Element(&'s Attribute),
    /// The values of an attribute no schema defines.
    Untyped,
}

/// A comparison value in the form the attribute's type compares.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Operand {
    /// Folded to lower case unless the attribute is `caseExact`.
    Text(String),
    Bool(bool),
    Number(Number),
    Time(jiff::Timestamp),
    Null,
}

/// A filter checked against the schemas, ready to evaluate.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Compiled {
    Compare {
        target: Target,
        op: CompareOp,
        operand: Operand,
    },
    Present(Target),
    Not(Box<Compiled>),
    And(Box<Compiled>, Box<Compiled>),
    Or(Box<Compiled>, Box<Compiled>),
    Any {
        target: Target,
        filter: Box<Compiled>,
    },
}

impl Compiled {
    /// Checks every path and comparison of `filter` (unknown attributes, `gt` on a boolean,
    /// a string compared with a number: `invalidFilter`).
    pub fn new(filter: &Filter, scope: Scope<'_>) -> Result<Compiled, ScimError> {
        Ok(match filter {
            Filter::Compare { path, op, value } => {
                let (mut target, attr) = locate(scope, path)?;
                if target.ty == AttrType::Complex {
                    // RFC 7643 §2.4: a complex value without a sub-attribute named compares by
                    // its `value` (`emails co "example.com"`).
                    let value_sub = attr.and_then(|attr| attr.sub("value")).ok_or_else(|| {
                        ScimError::invalid_filter(format!(
                            "{} is complex: compare one of its sub-attributes",
                            quote(&path.to_string())
                        ))
                    })?;
                    target.sub = Some(value_sub.name.clone());
                    target.ty = value_sub.ty;
                    target.case_exact = value_sub.case_exact;
                }
                let operand = operand(&target, *op, value, path)?;
                Compiled::Compare {
                    target,
                    op: *op,
                    operand,
                }
            }
            Filter::Present(path) => Compiled::Present(locate(scope, path)?.0),
            Filter::Not(inner) => Compiled::Not(Box::new(Compiled::new(inner, scope)?)),
            Filter::And(left, right) => Compiled::And(
                Box::new(Compiled::new(left, scope)?),
                Box::new(Compiled::new(right, scope)?),
            ),
            Filter::Or(left, right) => Compiled::Or(
                Box::new(Compiled::new(left, scope)?),
                Box::new(Compiled::new(right, scope)?),
            ),
            Filter::ValuePath { path, filter } => {
                let (target, attr) = locate(scope, path)?;
                let inner_scope = match attr {
                    Some(attr) if attr.ty == AttrType::Complex && target.sub.is_none() => {
                        Scope::Element(attr)
                    }
                    Some(_) => {
                        return Err(ScimError::invalid_filter(format!(
                            "{} is not a complex attribute: `[…]` selects values of complex attributes",
                            quote(&path.to_string())
                        )));
                    }
                    None => Scope::Untyped,
                };
                Compiled::Any {
                    target,
                    filter: Box::new(Compiled::new(filter, inner_scope)?),
                }
            }
        })
    }

    /// Whether `resource` (or, inside `[…]`, one value of a complex attribute) matches.
    pub fn matches(&self, resource: &Map<String, Value>) -> bool {
        match self {
            Compiled::Compare {
                target,
                op,
                operand,
            } => {
                let values = target.values(resource);
                match operand {
                    Operand::Null => match op {
                        CompareOp::Eq => values.is_empty(),
                        _ => !values.is_empty(),
                    },
                    _ => values
                        .into_iter()
                        .any(|value| compare(value, *op, operand, target.case_exact)),
                }
            }
            Compiled::Present(target) => target.values(resource).into_iter().any(is_present),
            Compiled::Not(inner) => !inner.matches(resource),
            Compiled::And(left, right) => left.matches(resource) && right.matches(resource),
            Compiled::Or(left, right) => left.matches(resource) || right.matches(resource),
            Compiled::Any { target, filter } => match target.top(resource) {
                Some(Value::Array(items)) => items
                    .iter()
                    .any(|item| item.as_object().is_some_and(|item| filter.matches(item))),
                Some(item) => item.as_object().is_some_and(|item| filter.matches(item)),
                None => false,
            },
        }
    }

    /// Whether any attribute the filter reads satisfies `test`.
    pub fn reads(&self, test: &dyn Fn(&Target) -> bool) -> bool {
        match self {
            Compiled::Compare { target, .. } | Compiled::Present(target) => test(target),
            Compiled::Not(inner) => inner.reads(test),
            Compiled::And(left, right) | Compiled::Or(left, right) => {
                left.reads(test) || right.reads(test)
            }
            // The inner filter's names are relative to the attribute: the attribute is read.
            Compiled::Any { target, .. } => test(target),
        }
    }
}

fn locate<'s>(
    scope: Scope<'s>,
    path: &AttrPath,
) -> Result<(Target, Option<&'s Attribute>), ScimError> {
    let unknown = || {
        ScimError::invalid_filter(format!(
            "unknown attribute {} in filter",
            quote(&path.to_string())
        ))
    };
    match scope {
        Scope::Resource { set, kind, lenient } => match resolve(set, kind, path) {
            Some(resolved) => Ok((Target::from_resolved(&resolved), Some(resolved.leaf()))),
            None if lenient => Ok((Target::untyped(path), None)),
            None => Err(unknown()),
        },
        Scope::Element(attr) => {
            if path.urn.is_some() || path.sub.is_some() {
                return Err(unknown());
            }
            let sub = attr.sub(&path.name).ok_or_else(unknown)?;
            Ok((
                Target {
                    urn: None,
                    name: sub.name.clone(),
                    sub: None,
                    ty: sub.ty,
                    case_exact: sub.case_exact,
                    multi_valued: sub.multi_valued,
                    known: true,
                },
                Some(sub),
            ))
        }
        Scope::Untyped => Ok((Target::untyped(path), None)),
    }
}

fn operand(
    target: &Target,
    op: CompareOp,
    literal: &Literal,
    path: &AttrPath,
) -> Result<Operand, ScimError> {
    let name = quote(&path.to_string());
    let refuse = |why: String| Err(ScimError::invalid_filter(why));
    if *literal == Literal::Null {
        return match op {
            CompareOp::Eq | CompareOp::Ne => Ok(Operand::Null),
            _ => refuse(format!("{name}: only `eq` and `ne` compare with null")),
        };
    }
    if !target.known {
        return Ok(match literal {
            Literal::String(text) => Operand::Text(fold(text, target.case_exact).into_owned()),
            Literal::Number(number) => Operand::Number(number.clone()),
            Literal::Bool(value) => Operand::Bool(*value),
            Literal::Null => Operand::Null,
        });
    }
    match target.ty {
        AttrType::Boolean => {
            if op != CompareOp::Eq && op != CompareOp::Ne {
                return refuse(format!("{name} is boolean: only `eq`, `ne` and `pr` apply"));
            }
            match literal {
                Literal::Bool(value) => Ok(Operand::Bool(*value)),
                Literal::String(text) => match parse_bool(text) {
                    Some(value) => Ok(Operand::Bool(value)),
                    None => refuse(format!("{name} is boolean: compare it with true or false")),
                },
                _ => refuse(format!("{name} is boolean: compare it with true or false")),
            }
        }
        AttrType::Integer | AttrType::Decimal => match literal {
            Literal::Number(number) if !op.is_substring() => Ok(Operand::Number(number.clone())),
            Literal::Number(_) => refuse(format!(
                "{name} is a number: `co`, `sw` and `ew` apply to strings"
            )),
            _ => refuse(format!("{name} is a number: compare it with a number")),
        },
        AttrType::Binary if op.is_ordering() => refuse(format!(
            "{name} is binary: `gt`, `ge`, `lt` and `le` do not apply"
        )),
        AttrType::Complex => refuse(format!("{name} is complex: name a sub-attribute")),
        AttrType::DateTime if !op.is_substring() => match literal {
            Literal::String(text) => match text.trim().parse::<jiff::Timestamp>() {
                Ok(time) => Ok(Operand::Time(time)),
                Err(_) => refuse(format!(
                    "{name} is a dateTime: {} is not one (RFC 3339, such as `2026-03-02T09:15:00Z`)",
                    quote(text)
                )),
            },
            _ => refuse(format!("{name} is a dateTime: compare it with a string")),
        },
        _ => match literal {
            Literal::String(text) => Ok(Operand::Text(fold(text, target.case_exact).into_owned())),
            _ => refuse(format!("{name} is a string: compare it with a string")),
        },
    }
}

/// A string as compared: itself if case-exact, else in lower case.
pub(crate) fn fold(text: &str, case_exact: bool) -> Cow<'_, str> {
    if case_exact || !text.chars().any(char::is_uppercase) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// `true`/`false` as JSON, or as the strings Microsoft Entra ID sends (`"True"`).
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn compare(value: &Value, op: CompareOp, operand: &Operand, case_exact: bool) -> bool {
    let ordered = |ordering: Option<Ordering>| {
        ordering.is_some_and(|ordering| match op {
            CompareOp::Eq => ordering == Ordering::Equal,
            CompareOp::Ne => ordering != Ordering::Equal,
            CompareOp::Gt => ordering == Ordering::Greater,
            CompareOp::Ge => ordering != Ordering::Less,
            CompareOp::Lt => ordering == Ordering::Less,
            CompareOp::Le => ordering != Ordering::Greater,
            CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
        })
    };
    match operand {
        Operand::Text(wanted) => {
            let Some(text) = value.as_str() else {
                return false;
            };
            let text = fold(text, case_exact);
            match op {
                CompareOp::Co => text.contains(wanted.as_str()),
                CompareOp::Sw => text.starts_with(wanted.as_str()),
                CompareOp::Ew => text.ends_with(wanted.as_str()),
                _ => ordered(Some(text.as_ref().cmp(wanted.as_str()))),
            }
        }
        Operand::Bool(wanted) => {
            let actual = match value {
                Value::Bool(actual) => Some(*actual),
                Value::String(text) => parse_bool(text),
                _ => None,
            };
            ordered(actual.map(|actual| actual.cmp(wanted)))
        }
        Operand::Number(wanted) => {
            ordered(value.as_number().and_then(|n| compare_numbers(n, wanted)))
        }
        Operand::Time(wanted) => ordered(
            value
                .as_str()
                .and_then(|text| text.trim().parse::<jiff::Timestamp>().ok())
                .map(|time| time.cmp(wanted)),
        ),
        Operand::Null => false,
    }
}

pub(crate) fn compare_numbers(left: &Number, right: &Number) -> Option<Ordering> {
    match (left.as_i64(), right.as_i64()) {
        (Some(left), Some(right)) => Some(left.cmp(&right)),
        _ => left.as_f64()?.partial_cmp(&right.as_f64()?),
    }
}

/// RFC 7644 §3.4.2.2 `pr`: a non-empty value, or a complex value with a non-empty node.
fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(members) => members.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::ScimType;
    use crate::scim::schema::ENTERPRISE_URN;
    use proptest::prelude::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_URN],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "BJ-42",
            "userName": "Bjensen@Example.com",
            "name": {"familyName": "Jensen", "givenName": "Barbara"},
            "title": "Tour Guide",
            "userType": "Employee",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"},
            ],
            "meta": {
                "resourceType": "User",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34Z",
            },
            ENTERPRISE_URN: {"employeeNumber": "701984", "manager": {"value": "26118915"}},
        })
    }

    fn compile(text: &str) -> Result<Compiled, ScimError> {
        let set = SchemaSet::default();
        let filter = Filter::parse(text)?;
        Compiled::new(
            &filter,
            Scope::Resource {
                set: &set,
                kind: ResourceKind::User,
                lenient: false,
            },
        )
    }

    fn matches(text: &str) -> bool {
        compile(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .matches(user().as_object().unwrap())
    }

    #[test]
    fn every_operator() {
        assert!(matches("userName eq \"bjensen@example.com\""));
        assert!(!matches("userName ne \"bjensen@example.com\""));
        assert!(matches("title co \"our\""));
        assert!(matches("title sw \"tour\""));
        assert!(matches("title ew \"GUIDE\""));
        assert!(!matches("title sw \"guide\""));
        assert!(matches("title gt \"Tour\""));
        assert!(matches("title ge \"tour guide\""));
        assert!(matches("title lt \"zebra\""));
        assert!(matches("title le \"tour guide\""));
        assert!(!matches("title lt \"a\""));
        assert!(matches("title pr"));
        assert!(!matches("nickName pr"));
        assert!(matches("name pr"));
        assert!(matches("active eq true"));
        assert!(!matches("active ne true"));
        assert!(matches("active eq \"True\""));
    }

    #[test]
    fn keywords_and_names_ignore_case() {
        assert!(matches("USERNAME EQ \"BJENSEN@example.com\""));
        assert!(matches("Title Pr AND NOT (nickName PR)"));
        assert!(matches("active EQ TRUE"));
    }

    #[test]
    fn case_exact_attributes_compare_exactly() {
        assert!(matches("externalId eq \"BJ-42\""));
        assert!(!matches("externalId eq \"bj-42\""));
        assert!(matches("id eq \"2819c223-7f76-453a-919d-413861904646\""));
        assert!(!matches("id eq \"2819C223-7F76-453A-919D-413861904646\""));
        assert!(matches("meta.resourceType eq \"User\""));
    }

    #[test]
    fn precedence_and_grouping() {
        // `and` binds tighter than `or`: true or (false and false).
        assert!(matches("title pr or nickName pr and locale pr"));
        assert!(!matches("(title pr or nickName pr) and locale pr"));
        assert!(matches("not (nickName pr) and title pr"));
        assert!(!matches("not (title pr and active eq true)"));
        assert_eq!(
            Filter::parse("a pr or b pr and c pr").unwrap().to_string(),
            "a pr or b pr and c pr"
        );
        assert!(matches!(
            Filter::parse("a pr or b pr and c pr").unwrap(),
            Filter::Or(_, right) if matches!(*right, Filter::And(..))
        ));
        assert!(matches!(
            Filter::parse("a pr and b pr or c pr").unwrap(),
            Filter::Or(left, _) if matches!(*left, Filter::And(..))
        ));
    }

    #[test]
    fn multi_valued_and_value_paths() {
        assert!(matches("emails.value eq \"babs@jensen.org\""));
        assert!(matches("emails co \"jensen.org\""));
        assert!(matches("emails.type eq \"work\""));
        assert!(matches(
            "emails[type eq \"work\" and value co \"@example.com\"]"
        ));
        assert!(!matches(
            "emails[type eq \"home\" and value co \"@example.com\"]"
        ));
        assert!(matches("emails[primary eq true]"));
        assert!(!matches("emails[primary eq true and type eq \"home\"]"));
        assert!(matches(
            "userType eq \"Employee\" and (emails co \"example.com\" or emails.value co \"example.org\")"
        ));
        assert!(matches(
            "emails[type eq \"work\" and value co \"@example.com\"] or ims[type eq \"xmpp\" and value co \"@foo.com\"]"
        ));
        assert!(matches("emails[not (type eq \"other\")]"));
    }

    #[test]
    fn urn_paths() {
        assert!(matches(
            "urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"bjensen\""
        ));
        assert!(matches(&format!(
            "{ENTERPRISE_URN}:employeeNumber eq \"701984\""
        )));
        assert!(matches(&format!(
            "{ENTERPRISE_URN}:manager.value eq \"26118915\""
        )));
        assert!(matches("employeeNumber eq \"701984\""));
        assert!(matches(&format!("schemas eq \"{ENTERPRISE_URN}\"")));
        assert!(matches("name.familyName co \"ens\""));
    }

    #[test]
    fn date_times_compare_as_instants() {
        assert!(matches("meta.lastModified gt \"2011-05-13T04:42:33Z\""));
        assert!(matches(
            "meta.lastModified eq \"2011-05-13T06:42:34+02:00\""
        ));
        assert!(!matches("meta.lastModified lt \"2011-05-13T04:42:34Z\""));
        assert!(matches("meta.created le \"2010-01-23T04:56:22.000Z\""));
        let error = compile("meta.created gt \"yesterday\"").unwrap_err();
        assert_eq!(error.scim_type(), Some(ScimType::InvalidFilter));
    }

    #[test]
    fn nulls() {
        assert!(matches("nickName eq null"));
        assert!(!matches("title eq null"));
        assert!(matches("title ne null"));
        assert!(compile("title gt null").is_err());
    }

    #[test]
    fn refuses_mismatched_comparisons() {
        for text in [
            "active gt true",
            "active co \"t\"",
            "userName eq 5",
            "active eq 1",
            "name eq \"x\"",
            "x509Certificates.value gt \"a\"",
            "nope eq \"x\"",
            "name.nope pr",
            "emails[nope eq \"x\"]",
            "userName[value eq \"x\"]",
        ] {
            let error = compile(text).unwrap_err();
            assert_eq!(error.scim_type(), Some(ScimType::InvalidFilter), "{text}");
            assert_eq!(error.status(), 400);
        }
    }

    #[test]
    fn syntax_errors_name_the_position() {
        let cases = [
            ("userName eq", "character 12"),
            ("userName foo \"x\"", "character 10"),
            ("userName eq \"x", "character 13"),
            ("(userName pr", "character 13"),
            ("userName pr)", "character 12"),
            ("userName pr title pr", "character 13"),
            ("not userName pr", "character 5"),
            ("emails[type eq \"work\"", "character 22"),
            ("emails[type[x pr]]", "character 12"),
            ("", "character 1"),
            ("userName eq 01", "character 13"),
        ];
        for (text, position) in cases {
            let error = Filter::parse(text).unwrap_err();
            assert_eq!(error.scim_type(), Some(ScimType::InvalidFilter), "{text}");
            assert!(
                error.detail().contains(position),
                "{text}: {}",
                error.detail()
            );
        }
    }

    #[test]
    fn literals() {
        let parse = |text: &str| match Filter::parse(text).unwrap() {
            Filter::Compare { value, .. } => value,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            parse(r#"a eq "O'Malley \"x\" \u00e9\n""#),
            Literal::String("O'Malley \"x\" é\n".into())
        );
        assert_eq!(
            parse("a eq -1.5e3"),
            Literal::Number(Number::from_f64(-1500.0).unwrap())
        );
        assert_eq!(parse("a eq 42"), Literal::Number(42.into()));
        assert_eq!(parse("a eq false"), Literal::Bool(false));
        assert_eq!(parse("a eq null"), Literal::Null);
    }

    #[test]
    fn limits() {
        let long = format!("userName eq \"{}\"", "x".repeat(MAX_FILTER_BYTES));
        assert!(Filter::parse(&long).unwrap_err().detail().contains("4096"));
        let deep = format!("{}title pr{}", "(".repeat(33), ")".repeat(33));
        assert!(
            Filter::parse(&deep)
                .unwrap_err()
                .detail()
                .contains("32 levels")
        );
        let fine = format!("{}title pr{}", "(".repeat(32), ")".repeat(32));
        assert!(Filter::parse(&fine).is_ok());
        let nots = format!("{}title pr{}", "not (".repeat(40), ")".repeat(40));
        assert!(Filter::parse(&nots).is_err());
        let wide = vec!["title pr"; 129].join(" or ");
        assert!(
            Filter::parse(&wide)
                .unwrap_err()
                .detail()
                .contains("256 terms")
        );
        let ok = vec!["title pr"; 128].join(" or ");
        assert!(Filter::parse(&ok).is_ok());
    }

    #[test]
    fn displays_canonically() {
        let text =
            "USERNAME Eq \"x\" AND (title pr OR not(active eq true)) and emails[type eq \"work\"]";
        assert_eq!(
            Filter::parse(text).unwrap().to_string(),
            "USERNAME eq \"x\" and (title pr or not (active eq true)) and emails[type eq \"work\"]"
        );
    }

    fn arb_path() -> impl Strategy<Value = AttrPath> {
        prop_oneof![
            Just("userName"),
            Just("name.familyName"),
            Just("emails.value"),
            Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"),
            Just("meta.lastModified"),
            Just("$ref"),
        ]
        .prop_map(|text| AttrPath::parse(text).unwrap())
    }

    fn arb_literal() -> impl Strategy<Value = Literal> {
        prop_oneof![
            any::<String>().prop_map(Literal::String),
            any::<i64>().prop_map(|n| Literal::Number(n.into())),
            any::<bool>().prop_map(Literal::Bool),
            Just(Literal::Null),
        ]
    }

    fn arb_op() -> impl Strategy<Value = CompareOp> {
        prop_oneof![
            Just(CompareOp::Eq),
            Just(CompareOp::Ne),
            Just(CompareOp::Co),
            Just(CompareOp::Sw),
            Just(CompareOp::Ew),
            Just(CompareOp::Gt),
            Just(CompareOp::Ge),
            Just(CompareOp::Lt),
            Just(CompareOp::Le),
        ]
    }

    fn arb_simple() -> impl Strategy<Value = Filter> {
        let leaf =
            prop_oneof![
                (arb_path(), arb_op(), arb_literal())
                    .prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
                arb_path().prop_map(Filter::Present),
            ];
        leaf.prop_recursive(3, 16, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|f| Filter::Not(Box::new(f))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            ]
        })
    }

    fn arb_filter() -> impl Strategy<Value = Filter> {
        let value_path = arb_simple().prop_map(|inner| Filter::ValuePath {
            path: AttrPath::parse("emails").unwrap(),
            filter: Box::new(inner),
        });
        prop_oneof![arb_simple(), value_path].prop_recursive(2, 8, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            ]
        })
    }

    proptest! {
        #[test]
        fn parser_never_panics(text in ".{0,300}") {
            let _ = Filter::parse(&text);
        }

        #[test]
        fn parser_never_panics_on_filter_like_text(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("("), Just(")"), Just("["), Just("]"), Just(" and "), Just(" or "),
                    Just("not"), Just(" "), Just("userName"), Just("emails"), Just(".value"),
                    Just(" eq "), Just(" pr"), Just("\"x\\\""), Just("\""), Just("1e9"),
                    Just("urn:a:b:"), Just("é"), Just("true"),
                ],
                0..60,
            )
        ) {
            let text = parts.concat();
            if let Ok(filter) = Filter::parse(&text) {
                let set = SchemaSet::default();
                let scope = Scope::Resource { set: &set, kind: ResourceKind::User, lenient: true };
                if let Ok(compiled) = Compiled::new(&filter, scope) {
                    let _ = compiled.matches(user().as_object().unwrap());
                }
            }
        }

        #[test]
        fn display_round_trips(filter in arb_filter()) {
            let text = filter.to_string();
            prop_assert_eq!(Filter::parse(&text), Ok(filter), "{}", text);
        }
    }
}
