//! A small YAML tree with a position on every node, built from the parser's event stream.
//!
//! Building our own tree (instead of a generic YAML value) lets us report duplicate keys, bound
//! alias expansion and nesting depth, and keep the exact column of every scalar.

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use crate::error::Problem;

/// Deepest nesting accepted; rules need a handful of levels, and the bound keeps every
/// recursive walk over the tree (including `Drop`) shallow.
pub(crate) const MAX_DEPTH: usize = 64;

/// Most nodes one file may produce, aliases expanded included (guards against alias bombs).
pub(crate) const MAX_NODES: usize = 1_000_000;

/// Where a node starts: 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Position {
    pub line: u32,
    pub column: u32,
}

impl Position {
    fn from_span(span: &Span) -> Self {
        Position {
            line: to_u32(span.start.line()),
            column: to_u32(span.start.col().saturating_add(1)),
        }
    }

    /// The position `chars` characters to the right on the same line.
    pub fn shifted(self, chars: usize) -> Self {
        Position {
            line: self.line,
            column: self.column.saturating_add(to_u32(chars)),
        }
    }
}

fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub position: Position,
    pub kind: NodeKind,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum NodeKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Text),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

/// A string scalar and where its first character sits, when that is known exactly.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Text {
    pub value: String,
    /// Position of the first content character for single-line plain and quoted scalars, so
    /// errors inside the text (a condition, say) can point at the right column.
    pub content_start: Option<Position>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Key {
    pub name: String,
    pub position: Position,
    /// Where the key's first character sits, when known exactly (see [`Text`]).
    pub content_start: Option<Position>,
}

impl Key {
    /// The position of character `offset` of the key.
    pub fn position_in_text(&self, offset: usize) -> Position {
        self.content_start
            .map_or(self.position, |start| start.shifted(offset))
    }
}

impl Node {
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Int(_) => "an integer",
            NodeKind::Float(_) => "a number",
            NodeKind::Str(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(text) => Some(&text.value),
            _ => None,
        }
    }

    /// The position of character `offset` of a string scalar, or the node's own position when
    /// the scalar spans lines or uses a block style.
    pub fn position_in_text(&self, offset: usize) -> Position {
        match &self.kind {
            NodeKind::Str(Text {
                content_start: Some(start),
                ..
            }) => start.shifted(offset),
            _ => self.position,
        }
    }

    /// The scalar's text as a rule writes it (`42`, `true`, `foo`); `None` for collections.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.kind {
            NodeKind::Null => Some(String::new()),
            NodeKind::Bool(value) => Some(value.to_string()),
            NodeKind::Int(value) => Some(value.to_string()),
            NodeKind::Float(value) => Some(value.to_string()),
            NodeKind::Str(text) => Some(text.value.clone()),
            NodeKind::Seq(_) | NodeKind::Map(_) => None,
        }
    }
}

/// A YAML error with where it happened.
#[derive(Debug)]
pub(crate) struct LoadError {
    pub position: Position,
    pub problem: Problem,
}

enum Frame {
    Seq {
        position: Position,
        anchor: usize,
        items: Vec<Node>,
        /// Deepest nesting among the items (0 for scalars).
        depth: usize,
    },
    Map {
        position: Position,
        anchor: usize,
        entries: Vec<(Key, Node)>,
        pending_key: Option<Key>,
        depth: usize,
    },
}

struct Builder {
    stack: Vec<Frame>,
    /// Anchor id, node, and the node's nesting depth.
    anchors: Vec<(usize, Node, usize)>,
    documents: Vec<Node>,
    current_document: Option<Node>,
    node_count: usize,
}

/// Parses every document of `text`. Empty documents are skipped.
pub(crate) fn load_documents(text: &str) -> Result<Vec<Node>, LoadError> {
    let mut builder = Builder {
        stack: Vec::new(),
        anchors: Vec::new(),
        documents: Vec::new(),
        current_document: None,
        node_count: 0,
    };
    let parser = Parser::new_from_str(text);
    for item in parser {
        let (event, span) = match item {
            Ok(pair) => pair,
            Err(scan_error) => {
                let marker = scan_error.marker();
                return Err(LoadError {
                    position: Position {
                        line: to_u32(marker.line()),
                        column: to_u32(marker.col().saturating_add(1)),
                    },
                    problem: Problem::Syntax(scan_error.info().to_owned()),
                });
            }
        };
        let position = Position::from_span(&span);
        match event {
            Event::Nothing | Event::StreamStart | Event::DocumentStart(_) => {}
            Event::StreamEnd => break,
            Event::DocumentEnd => {
                if let Some(document) = builder.current_document.take()
                    && document.kind != NodeKind::Null
                {
                    builder.documents.push(document);
                }
                builder.anchors.clear();
            }
            Event::Alias(anchor) => {
                let Some((node, depth)) = builder
                    .anchors
                    .iter()
                    .rev()
                    .find(|(id, _, _)| *id == anchor)
                    .map(|(_, node, depth)| (node.clone(), *depth))
                else {
                    return Err(LoadError {
                        position,
                        problem: Problem::Syntax("unknown alias".to_owned()),
                    });
                };
                builder.count_nodes(count_nodes(&node), position)?;
                builder.add(node, depth, position)?;
            }
            Event::Scalar(value, style, anchor, tag) => {
                builder.count_nodes(1, position)?;
                let node = scalar_node(value, style, tag.as_deref(), &span)
                    .map_err(|problem| LoadError { position, problem })?;
                if anchor != 0 {
                    builder.anchors.push((anchor, node.clone(), 0));
                }
                builder.add(node, 0, position)?;
            }
            Event::SequenceStart(anchor, _tag) => {
                builder.count_nodes(1, position)?;
                builder.push(
                    Frame::Seq {
                        position,
                        anchor,
                        items: Vec::new(),
                        depth: 0,
                    },
                    position,
                )?;
            }
            Event::MappingStart(anchor, _tag) => {
                builder.count_nodes(1, position)?;
                builder.push(
                    Frame::Map {
                        position,
                        anchor,
                        entries: Vec::new(),
                        pending_key: None,
                        depth: 0,
                    },
                    position,
                )?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = builder.stack.pop() else {
                    continue;
                };
                let (node, anchor, depth) = match frame {
                    Frame::Seq {
                        position,
                        anchor,
                        items,
                        depth,
                    } => (
                        Node {
                            position,
                            kind: NodeKind::Seq(items),
                        },
                        anchor,
                        depth + 1,
                    ),
                    Frame::Map {
                        position,
                        anchor,
                        entries,
                        depth,
                        ..
                    } => (
                        Node {
                            position,
                            kind: NodeKind::Map(entries),
                        },
                        anchor,
                        depth + 1,
                    ),
                };
                if anchor != 0 {
                    builder.anchors.push((anchor, node.clone(), depth));
                }
                let node_position = node.position;
                builder.add(node, depth, node_position)?;
            }
        }
    }
    if let Some(document) = builder.current_document.take()
        && document.kind != NodeKind::Null
    {
        builder.documents.push(document);
    }
    Ok(builder.documents)
}

impl Builder {
    fn count_nodes(&mut self, added: usize, position: Position) -> Result<(), LoadError> {
        self.node_count = self.node_count.saturating_add(added);
        if self.node_count > MAX_NODES {
            return Err(LoadError {
                position,
                problem: Problem::TooManyNodes { limit: MAX_NODES },
            });
        }
        Ok(())
    }

    fn push(&mut self, frame: Frame, position: Position) -> Result<(), LoadError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(LoadError {
                position,
                problem: Problem::TooDeep { limit: MAX_DEPTH },
            });
        }
        self.stack.push(frame);
        Ok(())
    }

    /// Adds a finished node of nesting `depth` to the open collection (or as the document).
    fn add(&mut self, node: Node, depth: usize, position: Position) -> Result<(), LoadError> {
        // Aliases can graft deep trees anywhere, so the bound is checked on every addition.
        if self.stack.len() + depth > MAX_DEPTH {
            return Err(LoadError {
                position,
                problem: Problem::TooDeep { limit: MAX_DEPTH },
            });
        }
        match self.stack.last_mut() {
            None => {
                self.current_document = Some(node);
                Ok(())
            }
            Some(Frame::Seq {
                items,
                depth: frame_depth,
                ..
            }) => {
                *frame_depth = (*frame_depth).max(depth);
                items.push(node);
                Ok(())
            }
            Some(Frame::Map {
                entries,
                pending_key,
                depth: frame_depth,
                ..
            }) => match pending_key.take() {
                Some(key) => {
                    *frame_depth = (*frame_depth).max(depth);
                    entries.push((key, node));
                    Ok(())
                }
                None => {
                    let Some(name) = node.scalar_text() else {
                        return Err(LoadError {
                            position,
                            problem: Problem::ComplexKey,
                        });
                    };
                    if entries.iter().any(|(existing, _)| existing.name == name) {
                        return Err(LoadError {
                            position,
                            problem: Problem::DuplicateKey(name),
                        });
                    }
                    let content_start = match &node.kind {
                        NodeKind::Str(text) => text.content_start,
                        _ => Some(node.position),
                    };
                    *pending_key = Some(Key {
                        name,
                        position: node.position,
                        content_start,
                    });
                    Ok(())
                }
            },
        }
    }
}

fn count_nodes(node: &Node) -> usize {
    match &node.kind {
        NodeKind::Seq(items) => items.iter().map(count_nodes).fold(1, usize::saturating_add),
        NodeKind::Map(entries) => entries
            .iter()
            .map(|(_, value)| count_nodes(value))
            .fold(1, usize::saturating_add),
        _ => 1,
    }
}

fn scalar_node(
    value: Cow<'_, str>,
    style: ScalarStyle,
    tag: Option<&Tag>,
    span: &Span,
) -> Result<Node, Problem> {
    let position = Position::from_span(span);
    let single_line = span.start.line() == span.end.line() && !value.contains('\n');
    let content_start = match style {
        ScalarStyle::Plain if single_line => Some(position),
        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted if single_line => {
            Some(position.shifted(1))
        }
        _ => None,
    };
    let text = |value: Cow<'_, str>| {
        NodeKind::Str(Text {
            value: value.into_owned(),
            content_start,
        })
    };
    let kind = match tag {
        Some(tag) if tag.is_yaml_core_schema() => match tag.suffix.as_str() {
            "str" => text(value),
            "null" | "bool" | "int" | "float" => {
                let resolved = resolve_plain(&value);
                let fits = matches!(
                    (tag.suffix.as_str(), &resolved),
                    ("null", Some(NodeKind::Null))
                        | ("bool", Some(NodeKind::Bool(_)))
                        | ("int", Some(NodeKind::Int(_)))
                        | ("float", Some(NodeKind::Float(_)) | Some(NodeKind::Int(_)))
                );
                match resolved {
                    Some(NodeKind::Int(int)) if fits && tag.suffix == "float" =>
                    {
                        #[expect(clippy::cast_precision_loss, reason = "YAML asked for a float")]
                        NodeKind::Float(int as f64)
                    }
                    Some(kind) if fits => kind,
                    _ => {
                        return Err(Problem::BadTaggedValue {
                            tag: format!("!!{}", tag.suffix),
                            value: value.into_owned(),
                        });
                    }
                }
            }
            other => return Err(Problem::UnsupportedTag(format!("!!{other}"))),
        },
        Some(tag) => return Err(Problem::UnsupportedTag(tag.to_string())),
        None if style == ScalarStyle::Plain => match resolve_plain(&value) {
            Some(kind) => kind,
            None => text(value),
        },
        None => text(value),
    };
    Ok(Node { position, kind })
}

/// Resolves a plain scalar by the YAML 1.2 core schema; `None` means "a string".
fn resolve_plain(value: &str) -> Option<NodeKind> {
    match value {
        "" | "~" | "null" | "Null" | "NULL" => return Some(NodeKind::Null),
        "true" | "True" | "TRUE" => return Some(NodeKind::Bool(true)),
        "false" | "False" | "FALSE" => return Some(NodeKind::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(NodeKind::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(NodeKind::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Some(NodeKind::Float(f64::NAN)),
        _ => {}
    }
    if let Some(hex) = value.strip_prefix("0x") {
        if !hex.is_empty() && hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return i64::from_str_radix(hex, 16).ok().map(NodeKind::Int);
        }
        return None;
    }
    if let Some(octal) = value.strip_prefix("0o") {
        if !octal.is_empty() && octal.bytes().all(|byte| (b'0'..=b'7').contains(&byte)) {
            return i64::from_str_radix(octal, 8).ok().map(NodeKind::Int);
        }
        return None;
    }
    let unsigned = value
        .strip_prefix('-')
        .or_else(|| value.strip_prefix('+'))
        .unwrap_or(value);
    if !unsigned.is_empty() && unsigned.bytes().all(|byte| byte.is_ascii_digit()) {
        // An integer too large for i64 stays a float, as other YAML loaders do.
        return match value.parse::<i64>() {
            Ok(int) => Some(NodeKind::Int(int)),
            Err(_) => value.parse::<f64>().ok().map(NodeKind::Float),
        };
    }
    if is_core_float(unsigned) {
        return value.parse::<f64>().ok().map(NodeKind::Float);
    }
    None
}

/// `(\.[0-9]+ | [0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, the core schema's float form.
fn is_core_float(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut index = 0;
    let digits = |index: &mut usize| {
        let start = *index;
        while bytes.get(*index).is_some_and(u8::is_ascii_digit) {
            *index += 1;
        }
        *index - start
    };
    let integer_digits = digits(&mut index);
    let mut fraction_digits = 0;
    if bytes.get(index) == Some(&b'.') {
        index += 1;
        fraction_digits = digits(&mut index);
    }
    if integer_digits == 0 && fraction_digits == 0 {
        return false;
    }
    if matches!(bytes.get(index), Some(b'e' | b'E')) {
        index += 1;
        if matches!(bytes.get(index), Some(b'+' | b'-')) {
            index += 1;
        }
        if digits(&mut index) == 0 {
            return false;
        }
    }
    index == bytes.len()
}

/// Converts a node to JSON faithfully: strings stay strings, integers integers, and so on.
pub(crate) fn to_json(node: &Node) -> Result<serde_json::Value, LoadError> {
    Ok(match &node.kind {
        NodeKind::Null => serde_json::Value::Null,
        NodeKind::Bool(value) => serde_json::Value::Bool(*value),
        NodeKind::Int(value) => serde_json::Value::from(*value),
        NodeKind::Float(value) => match serde_json::Number::from_f64(*value) {
            Some(number) => serde_json::Value::Number(number),
            None => {
                return Err(LoadError {
                    position: node.position,
                    problem: Problem::NonFiniteNumber,
                });
            }
        },
        NodeKind::Str(text) => serde_json::Value::String(text.value.clone()),
        NodeKind::Seq(items) => {
            serde_json::Value::Array(items.iter().map(to_json).collect::<Result<Vec<_>, _>>()?)
        }
        NodeKind::Map(entries) => {
            let mut object = serde_json::Map::new();
            for (key, value) in entries {
                object.insert(key.name.clone(), to_json(value)?);
            }
            serde_json::Value::Object(object)
        }
    })
}

/// Reads the first YAML document of `text` as JSON, with the same limits as rule files (size,
/// depth, aliases); an error reads `line:column: what is wrong`. For other YAML inputs of Seam,
/// such as tabletop scenarios.
pub fn yaml_to_json(text: &str) -> Result<serde_json::Value, String> {
    if text.len() > crate::ruleset::MAX_FILE_BYTES {
        return Err(format!(
            "1:1: {}",
            Problem::FileTooLarge {
                limit: crate::ruleset::MAX_FILE_BYTES
            }
        ));
    }
    let located = |error: LoadError| {
        format!(
            "{}:{}: {}",
            error.position.line, error.position.column, error.problem
        )
    };
    let documents = load_documents(text).map_err(located)?;
    match documents.first() {
        Some(document) => to_json(document).map_err(located),
        None => Ok(serde_json::Value::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_one(text: &str) -> Node {
        let mut documents = load_documents(text).unwrap();
        assert_eq!(documents.len(), 1);
        documents.remove(0)
    }

    fn entries(node: &Node) -> &[(Key, Node)] {
        match &node.kind {
            NodeKind::Map(entries) => entries,
            other => panic!("not a map: {other:?}"),
        }
    }

    #[test]
    fn scalars_follow_the_core_schema() {
        let node = load_one(
            "a: 1\nb: '1'\nc: true\nd: 'true'\ne: ~\nf: 1.5\ng: 0x1F\nh: 2023-04-03\ni: -7\nj: 1e3\n",
        );
        let kinds: Vec<_> = entries(&node).iter().map(|(_, v)| v.kind.clone()).collect();
        assert_eq!(kinds[0], NodeKind::Int(1));
        assert!(matches!(&kinds[1], NodeKind::Str(t) if t.value == "1"));
        assert_eq!(kinds[2], NodeKind::Bool(true));
        assert!(matches!(&kinds[3], NodeKind::Str(t) if t.value == "true"));
        assert_eq!(kinds[4], NodeKind::Null);
        assert_eq!(kinds[5], NodeKind::Float(1.5));
        assert_eq!(kinds[6], NodeKind::Int(31));
        assert!(matches!(&kinds[7], NodeKind::Str(t) if t.value == "2023-04-03"));
        assert_eq!(kinds[8], NodeKind::Int(-7));
        assert_eq!(kinds[9], NodeKind::Float(1000.0));
    }

    #[test]
    fn positions_are_one_based_and_point_at_content() {
        let node = load_one("top:\n  key: 'value'\n");
        let (key, value) = &entries(&node)[0];
        assert_eq!(key.position, Position { line: 1, column: 1 });
        let (inner_key, inner_value) = &entries(value)[0];
        assert_eq!(inner_key.position, Position { line: 2, column: 3 });
        assert_eq!(inner_value.position, Position { line: 2, column: 8 });
        assert_eq!(
            inner_value.position_in_text(2),
            Position {
                line: 2,
                column: 11
            }
        );
    }

    #[test]
    fn several_documents_and_empty_ones() {
        let documents = load_documents("a: 1\n---\n---\nb: 2\n").unwrap();
        assert_eq!(documents.len(), 2);
        assert_eq!(documents[1].position.line, 4);
    }

    #[test]
    fn duplicate_keys_are_rejected_at_the_second_key() {
        let error = load_documents("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(error.position, Position { line: 3, column: 1 });
        assert!(matches!(error.problem, Problem::DuplicateKey(ref k) if k == "a"));
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let error = load_documents("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(matches!(error.problem, Problem::Syntax(_)));
        assert!(error.position.line >= 1);
    }

    #[test]
    fn aliases_expand_and_bombs_are_bounded() {
        let node = load_one("a: &x [1, 2]\nb: *x\n");
        assert_eq!(entries(&node)[1].1, entries(&node)[0].1);
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..9 {
            let previous = format!("*a{}", level - 1);
            let items = vec![previous; 10].join(", ");
            bomb.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        let error = load_documents(&bomb).unwrap_err();
        assert!(matches!(error.problem, Problem::TooManyNodes { .. }));
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let error = load_documents(&deep).unwrap_err();
        assert!(matches!(error.problem, Problem::TooDeep { .. }));
    }

    #[test]
    fn aliases_cannot_build_deep_trees() {
        let mut text = format!("a0: &a0 {}x{}\n", "[".repeat(40), "]".repeat(40));
        for level in 1..50 {
            text.push_str(&format!(
                "a{level}: &a{level} {}*a{}{}\n",
                "[".repeat(40),
                level - 1,
                "]".repeat(40)
            ));
        }
        let error = load_documents(&text).unwrap_err();
        assert!(matches!(error.problem, Problem::TooDeep { .. }));
    }

    #[test]
    fn json_conversion_is_faithful() {
        let node = load_one("{s: '1', i: 1, f: 1.5, b: true, n: null, l: [a, {k: v}]}");
        let json = to_json(&node).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"s": "1", "i": 1, "f": 1.5, "b": true, "n": null, "l": ["a", {"k": "v"}]})
        );
    }
}
