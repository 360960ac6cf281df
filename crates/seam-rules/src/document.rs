//! One YAML document into a typed rule: metadata, tests, and a detection or a correlation.

use std::collections::BTreeMap;

use crate::detection::{Detection, compile_detection};
use crate::error::{Located, Problem};
use crate::explain::check_template;
use crate::meta::{ChangePolicy, Level, Logsource, RuleKind, RuleMeta, RuleTest};
use crate::record::Schema;
use crate::yaml::{Key, Node, NodeKind, Position, to_json};

/// Longest correlation window accepted.
const MAX_TIMESPAN_MS: i64 = 400 * 24 * 3_600_000;

/// Count comparisons of correlation conditions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CountOp {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Neq,
}

impl CountOp {
    pub fn holds(self, count: u64, threshold: u64) -> bool {
        match self {
            CountOp::Gt => count > threshold,
            CountOp::Gte => count >= threshold,
            CountOp::Lt => count < threshold,
            CountOp::Lte => count <= threshold,
            CountOp::Eq => count == threshold,
            CountOp::Neq => count != threshold,
        }
    }

    /// Whether the outcome can only be known once the window has closed.
    pub fn needs_window_end(self) -> bool {
        matches!(
            self,
            CountOp::Lt | CountOp::Lte | CountOp::Eq | CountOp::Neq
        )
    }
}

/// A name written in a rule, with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Named {
    pub name: String,
    pub position: Position,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Alias {
    pub name: Named,
    /// (rule reference, field name in that rule's events)
    pub fields: Vec<(Named, Named)>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct CorrelationSpec {
    pub kind: RuleKind,
    pub rules: Vec<Named>,
    pub absent: Vec<Named>,
    pub group_by: Vec<Named>,
    pub timespan_ms: i64,
    pub conditions: Vec<(CountOp, u64)>,
    pub value_field: Option<Named>,
    pub aliases: Vec<Alias>,
    pub generate: bool,
    pub position: Position,
}

#[derive(Clone, Debug)]
pub(crate) enum Body {
    Detection(Box<Detection>),
    Correlation(CorrelationSpec),
}

/// How other rules refer to a rule, known even when the rule itself has errors (so a broken
/// rule does not also produce "unknown reference" errors in the rules that use it).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Identity {
    pub id: Named,
    pub name: Option<Named>,
}

/// A document that did not compile.
#[derive(Clone, Debug)]
pub(crate) struct Rejected {
    pub problems: Vec<Located>,
    pub identity: Option<Identity>,
}

#[derive(Clone, Debug)]
pub(crate) struct ParsedRule {
    pub meta: RuleMeta,
    pub identity: Identity,
    pub body: Body,
    /// Tests with `rule` still unset.
    pub tests: Vec<RuleTest>,
}

fn wrong_type(key: &str, expected: &'static str, node: &Node) -> Located {
    Located::new(
        node.position,
        Problem::WrongType {
            key: key.to_owned(),
            expected,
            found: node.type_name(),
        },
    )
}

/// A scalar as text (numbers and booleans as written); null and collections are errors.
fn scalar(key: &str, node: &Node) -> Result<String, Located> {
    match node.kind {
        NodeKind::Null | NodeKind::Seq(_) | NodeKind::Map(_) => {
            Err(wrong_type(key, "a string", node))
        }
        _ => node
            .scalar_text()
            .ok_or_else(|| wrong_type(key, "a string", node)),
    }
}

fn named(key: &str, node: &Node) -> Result<Named, Located> {
    Ok(Named {
        name: scalar(key, node)?,
        position: node.position,
    })
}

/// A list of scalars, or one scalar standing for a list of one.
fn named_list(key: &str, node: &Node) -> Result<Vec<Named>, Located> {
    match &node.kind {
        NodeKind::Seq(items) => items.iter().map(|item| named(key, item)).collect(),
        _ => Ok(vec![named(key, node)?]),
    }
}

fn string_list(key: &str, node: &Node) -> Result<Vec<String>, Located> {
    Ok(named_list(key, node)?
        .into_iter()
        .map(|item| item.name)
        .collect())
}

fn map_entries<'a>(key: &str, node: &'a Node) -> Result<&'a [(Key, Node)], Located> {
    match &node.kind {
        NodeKind::Map(entries) => Ok(entries),
        _ => Err(wrong_type(key, "a mapping", node)),
    }
}

/// Parses and (for detections) compiles one document.
pub(crate) fn parse_document(
    node: &Node,
    path: &str,
    schema: &dyn Schema,
) -> Result<ParsedRule, Rejected> {
    let NodeKind::Map(entries) = &node.kind else {
        return Err(Rejected {
            problems: vec![Located::new(
                node.position,
                Problem::DocumentNotMapping(node.type_name()),
            )],
            identity: None,
        });
    };
    let mut errors: Vec<Located> = Vec::new();
    let mut collect = |result: Result<(), Located>| {
        if let Err(problem) = result {
            errors.push(problem);
        }
    };
    let mut meta = RuleMeta {
        id: String::new(),
        title: String::new(),
        name: None,
        description: None,
        author: None,
        level: None,
        status: None,
        date: None,
        modified: None,
        tags: Vec::new(),
        references: Vec::new(),
        falsepositives: Vec::new(),
        fields: Vec::new(),
        logsource: Logsource::default(),
        explanation: None,
        kind: RuleKind::Detection,
        generates_findings: true,
        group_by: Vec::new(),
        timespan_ms: None,
        sources: Vec::new(),
        change: ChangePolicy::default(),
        custom: BTreeMap::new(),
        path: path.to_owned(),
        line: node.position.line,
    };
    let mut id_position = None;
    let mut name_position = None;
    let mut title_seen = false;
    let mut detection_node = None;
    let mut correlation_node = None;
    let mut tests_node = None;
    for (key, value) in entries {
        let key_name = key.name.as_str();
        match key_name {
            "title" => collect(scalar(key_name, value).map(|title| {
                meta.title = title;
                title_seen = true;
            })),
            "id" => collect(scalar(key_name, value).map(|id| {
                meta.id = id;
                id_position = Some(value.position);
            })),
            "name" => collect(scalar(key_name, value).map(|name| {
                meta.name = Some(name);
                name_position = Some(value.position);
            })),
            "description" => {
                collect(scalar(key_name, value).map(|text| meta.description = Some(text)))
            }
            "author" => collect(scalar(key_name, value).map(|text| meta.author = Some(text))),
            "date" => collect(scalar(key_name, value).map(|text| meta.date = Some(text))),
            "modified" => collect(scalar(key_name, value).map(|text| meta.modified = Some(text))),
            "status" => collect(scalar(key_name, value).and_then(|status| {
                if matches!(
                    status.as_str(),
                    "stable" | "test" | "experimental" | "deprecated" | "unsupported"
                ) {
                    meta.status = Some(status);
                    Ok(())
                } else {
                    Err(Located::new(value.position, Problem::UnknownStatus(status)))
                }
            })),
            "level" => {
                collect(
                    scalar(key_name, value).and_then(|level| match Level::parse(&level) {
                        Some(parsed) => {
                            meta.level = Some(parsed);
                            Ok(())
                        }
                        None => Err(Located::new(value.position, Problem::UnknownLevel(level))),
                    }),
                )
            }
            "tags" => collect(string_list(key_name, value).map(|list| meta.tags = list)),
            "references" => {
                collect(string_list(key_name, value).map(|list| meta.references = list))
            }
            "falsepositives" => {
                collect(string_list(key_name, value).map(|list| meta.falsepositives = list));
            }
            "fields" => collect(string_list(key_name, value).map(|list| meta.fields = list)),
            "logsource" => {
                collect(parse_logsource(value).map(|logsource| meta.logsource = logsource))
            }
            "explanation" => collect(scalar(key_name, value).and_then(|template| {
                check_template(&template)
                    .map_err(|reason| Located::new(value.position, Problem::BadTemplate(reason)))?;
                meta.explanation = Some(template);
                Ok(())
            })),
            "change" => {
                collect(scalar(key_name, value).and_then(|policy| {
                    match ChangePolicy::parse(&policy) {
                        Some(parsed) => {
                            meta.change = parsed;
                            Ok(())
                        }
                        None => Err(Located::new(
                            value.position,
                            Problem::UnknownChangePolicy(policy),
                        )),
                    }
                }))
            }
            "detection" => detection_node = Some(value),
            "correlation" => correlation_node = Some(value),
            "tests" => tests_node = Some(value),
            // Sigma lets rule writers add their own attributes: keep them as metadata.
            _ => collect(
                to_json(value)
                    .map(|json| {
                        meta.custom.insert(key.name.clone(), json);
                    })
                    .map_err(|error| Located::new(error.position, error.problem)),
            ),
        }
    }
    if !title_seen {
        errors.push(Located::new(node.position, Problem::MissingKey("title")));
    }
    let Some(id_position) = id_position else {
        errors.push(Located::new(node.position, Problem::MissingKey("id")));
        return Err(Rejected {
            problems: errors,
            identity: None,
        });
    };
    let identity = Identity {
        id: Named {
            name: meta.id.clone(),
            position: id_position,
        },
        name: meta
            .name
            .clone()
            .zip(name_position)
            .map(|(name, position)| Named { name, position }),
    };
    let body = match (detection_node, correlation_node) {
        (Some(_), Some(correlation)) => {
            errors.push(Located::new(correlation.position, Problem::BothBodies));
            None
        }
        (None, None) => {
            errors.push(Located::new(node.position, Problem::NoBody));
            None
        }
        (Some(detection), None) => match compile_detection(detection, schema) {
            Ok(compiled) => Some(Body::Detection(Box::new(compiled))),
            Err(mut problems) => {
                errors.append(&mut problems);
                None
            }
        },
        (None, Some(correlation)) => match parse_correlation(correlation) {
            Ok(spec) => {
                meta.kind = spec.kind;
                meta.group_by = spec
                    .group_by
                    .iter()
                    .map(|named| named.name.clone())
                    .collect();
                meta.timespan_ms = Some(spec.timespan_ms);
                Some(Body::Correlation(spec))
            }
            Err(mut problems) => {
                errors.append(&mut problems);
                None
            }
        },
    };
    let tests = match tests_node {
        None => Vec::new(),
        Some(tests_node) => match parse_tests(tests_node, path) {
            Ok(tests) => tests,
            Err(mut problems) => {
                errors.append(&mut problems);
                Vec::new()
            }
        },
    };
    match body {
        Some(body) if errors.is_empty() => Ok(ParsedRule {
            meta,
            identity,
            body,
            tests,
        }),
        _ => Err(Rejected {
            problems: errors,
            identity: Some(identity),
        }),
    }
}

fn parse_logsource(node: &Node) -> Result<Logsource, Located> {
    let mut logsource = Logsource::default();
    for (key, value) in map_entries("logsource", node)? {
        let text = scalar(&format!("logsource.{}", key.name), value)?;
        match key.name.as_str() {
            "category" => logsource.category = Some(text),
            "product" => logsource.product = Some(text),
            "service" => logsource.service = Some(text),
            "definition" => logsource.definition = Some(text),
            // Other logsource attributes are custom; nothing in Seam reads them.
            _ => {}
        }
    }
    Ok(logsource)
}

fn parse_tests(node: &Node, path: &str) -> Result<Vec<RuleTest>, Vec<Located>> {
    let NodeKind::Seq(items) = &node.kind else {
        return Err(vec![wrong_type("tests", "a list", node)]);
    };
    let mut tests = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for item in items {
        match parse_test(item, path) {
            Ok(test) => tests.push(test),
            Err(problem) => errors.push(problem),
        }
    }
    if errors.is_empty() {
        Ok(tests)
    } else {
        Err(errors)
    }
}

fn parse_test(node: &Node, path: &str) -> Result<RuleTest, Located> {
    let mut name = None;
    let mut expect = None;
    let mut events = None;
    for (key, value) in map_entries("tests[]", node)? {
        match key.name.as_str() {
            "name" => name = Some(scalar("name", value)?),
            "expect" => match value.kind {
                NodeKind::Int(count) if count >= 0 => {
                    expect = Some(usize::try_from(count).unwrap_or(usize::MAX));
                }
                _ => return Err(wrong_type("expect", "a count (0 or more)", value)),
            },
            "events" => {
                let NodeKind::Seq(items) = &value.kind else {
                    return Err(wrong_type("events", "a list", value));
                };
                let converted: Result<Vec<_>, _> = items.iter().map(to_json).collect();
                events =
                    Some(converted.map_err(|error| Located::new(error.position, error.problem))?);
            }
            other => {
                return Err(Located::new(
                    key.position,
                    Problem::UnknownKey(other.to_owned(), "tests"),
                ));
            }
        }
    }
    Ok(RuleTest {
        rule: 0,
        name: name
            .ok_or_else(|| Located::new(node.position, Problem::MissingKey("tests[].name")))?,
        expect: expect
            .ok_or_else(|| Located::new(node.position, Problem::MissingKey("tests[].expect")))?,
        events: events
            .ok_or_else(|| Located::new(node.position, Problem::MissingKey("tests[].events")))?,
        path: path.to_owned(),
        line: node.position.line,
    })
}

fn parse_timespan(node: &Node) -> Result<i64, Located> {
    let bad = || {
        Located::new(
            node.position,
            Problem::BadTimespan(node.scalar_text().unwrap_or_default()),
        )
    };
    let text = node.as_str().ok_or_else(bad)?;
    let digits_end = text
        .char_indices()
        .find(|(_, character)| !character.is_ascii_digit())
        .map_or(text.len(), |(index, _)| index);
    let (digits, unit) = text.split_at(digits_end);
    let amount: i64 = digits.parse().map_err(|_| bad())?;
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return Err(bad()),
    };
    let total = amount.checked_mul(unit_ms).ok_or_else(bad)?;
    if total <= 0 || total > MAX_TIMESPAN_MS {
        return Err(bad());
    }
    Ok(total)
}

fn parse_correlation(node: &Node) -> Result<CorrelationSpec, Vec<Located>> {
    let entries = map_entries("correlation", node).map_err(|problem| vec![problem])?;
    let mut errors = Vec::new();
    let mut kind = None;
    let mut rules = Vec::new();
    let mut absent = Vec::new();
    let mut group_by = Vec::new();
    let mut timespan = None;
    let mut conditions = Vec::new();
    let mut condition_seen = None;
    let mut value_field = None;
    let mut aliases = Vec::new();
    let mut generate = false;
    for (key, value) in entries {
        let result: Result<(), Located> = match key.name.as_str() {
            "type" => scalar("type", value).and_then(|text| {
                kind = Some(match text.as_str() {
                    "event_count" => RuleKind::EventCount,
                    "value_count" => RuleKind::ValueCount,
                    "value_sum" => RuleKind::ValueSum,
                    "value_avg" => RuleKind::ValueAvg,
                    "value_median" => RuleKind::ValueMedian,
                    "temporal" => RuleKind::Temporal,
                    "temporal_ordered" => RuleKind::TemporalOrdered,
                    "absence" => RuleKind::Absence,
                    _ => {
                        return Err(Located::new(
                            value.position,
                            Problem::UnknownCorrelationType(text),
                        ));
                    }
                });
                Ok(())
            }),
            "rules" => named_list("rules", value).map(|list| rules = list),
            "absent" => named_list("absent", value).map(|list| absent = list),
            "group-by" => named_list("group-by", value).map(|list| group_by = list),
            "timespan" => parse_timespan(value).map(|ms| timespan = Some(ms)),
            "condition" => {
                condition_seen = Some(value.position);
                parse_count_condition(value).map(|(parsed, field)| {
                    conditions = parsed;
                    value_field = field;
                })
            }
            "aliases" => parse_aliases(value).map(|list| aliases = list),
            "generate" => match value.kind {
                NodeKind::Bool(flag) => {
                    generate = flag;
                    Ok(())
                }
                _ => Err(wrong_type("generate", "true or false", value)),
            },
            other => Err(Located::new(
                key.position,
                Problem::UnknownKey(other.to_owned(), "correlation"),
            )),
        };
        if let Err(problem) = result {
            errors.push(problem);
        }
    }
    let position = node.position;
    let invalid = |position: Position, message: &str| {
        Located::new(position, Problem::Invalid(message.to_owned()))
    };
    let type_seen = entries.iter().any(|(key, _)| key.name == "type");
    let Some(kind) = kind else {
        if !type_seen {
            errors.push(Located::new(
                position,
                Problem::MissingKey("correlation.type"),
            ));
        }
        return Err(errors);
    };
    let timespan_seen = entries.iter().any(|(key, _)| key.name == "timespan");
    let Some(timespan_ms) = timespan else {
        if !timespan_seen {
            errors.push(Located::new(
                position,
                Problem::MissingKey("correlation.timespan"),
            ));
        }
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    if rules.is_empty() {
        errors.push(Located::new(
            position,
            Problem::MissingKey("correlation.rules"),
        ));
    }
    let condition_position = condition_seen.unwrap_or(position);
    match kind {
        RuleKind::EventCount
        | RuleKind::ValueCount
        | RuleKind::ValueSum
        | RuleKind::ValueAvg
        | RuleKind::ValueMedian => {
            if conditions.is_empty() {
                errors.push(Located::new(
                    position,
                    Problem::MissingKey("correlation.condition"),
                ));
            }
            if kind == RuleKind::ValueCount && value_field.is_none() {
                errors.push(invalid(
                    condition_position,
                    "a value_count condition needs `field`",
                ));
            }
            if kind.is_value_statistic() {
                let name = match kind {
                    RuleKind::ValueAvg => "value_avg",
                    RuleKind::ValueMedian => "value_median",
                    _ => "value_sum",
                };
                if value_field.is_none() {
                    errors.push(invalid(
                        condition_position,
                        &format!("a {name} condition needs `field`, the number it is about"),
                    ));
                }
                // Judged as each event arrives, on the window so far: only a lower bound can
                // be asked of it (an upper bound would hold on the first small value).
                if conditions
                    .iter()
                    .any(|(operator, _)| operator.needs_window_end())
                {
                    errors.push(invalid(
                        condition_position,
                        &format!("a {name} condition takes `gt` or `gte`"),
                    ));
                }
            }
            if kind == RuleKind::EventCount && value_field.is_some() {
                errors.push(invalid(
                    condition_position,
                    "`field` is only used by value_count conditions",
                ));
            }
        }
        RuleKind::Temporal => {
            if rules.len() < 2 {
                errors.push(invalid(position, "temporal needs at least two rules"));
            }
            if value_field.is_some()
                || conditions
                    .iter()
                    .any(|(operator, _)| !matches!(operator, CountOp::Gt | CountOp::Gte))
            {
                errors.push(invalid(
                    condition_position,
                    "a temporal condition counts matched rules with `gt` or `gte` only",
                ));
            }
        }
        RuleKind::TemporalOrdered | RuleKind::Absence => {
            if condition_seen.is_some() {
                errors.push(invalid(
                    condition_position,
                    "this correlation type takes no condition",
                ));
            }
            if kind == RuleKind::TemporalOrdered && rules.len() < 2 {
                errors.push(invalid(
                    position,
                    "temporal_ordered needs at least two rules",
                ));
            }
        }
        RuleKind::Detection => {}
    }
    if kind == RuleKind::Absence && absent.is_empty() {
        errors.push(Located::new(
            position,
            Problem::MissingKey("correlation.absent"),
        ));
    }
    if kind != RuleKind::Absence && !absent.is_empty() {
        errors.push(invalid(
            position,
            "`absent` is only used by absence correlations",
        ));
    }
    if errors.is_empty() {
        Ok(CorrelationSpec {
            kind,
            rules,
            absent,
            group_by,
            timespan_ms,
            conditions,
            value_field,
            aliases,
            generate,
            position,
        })
    } else {
        Err(errors)
    }
}

/// Count comparisons and, for value_count, the counted field.
type CountCondition = (Vec<(CountOp, u64)>, Option<Named>);

fn parse_count_condition(node: &Node) -> Result<CountCondition, Located> {
    let mut conditions = Vec::new();
    let mut field = None;
    for (key, value) in map_entries("condition", node)? {
        let operator = match key.name.as_str() {
            "field" => {
                field = Some(named("field", value)?);
                continue;
            }
            "gt" => CountOp::Gt,
            "gte" => CountOp::Gte,
            "lt" => CountOp::Lt,
            "lte" => CountOp::Lte,
            "eq" => CountOp::Eq,
            "neq" => CountOp::Neq,
            other => {
                return Err(Located::new(
                    key.position,
                    Problem::UnknownOperator(other.to_owned()),
                ));
            }
        };
        let threshold = match value.kind {
            NodeKind::Int(threshold) if threshold >= 0 => u64::try_from(threshold).unwrap_or(0),
            _ => return Err(wrong_type(&key.name, "a count (0 or more)", value)),
        };
        conditions.push((operator, threshold));
    }
    if conditions.is_empty() {
        return Err(Located::new(
            node.position,
            Problem::Invalid("a condition needs one of gt, gte, lt, lte, eq or neq".to_owned()),
        ));
    }
    Ok((conditions, field))
}

fn parse_aliases(node: &Node) -> Result<Vec<Alias>, Located> {
    let mut aliases = Vec::new();
    for (key, value) in map_entries("aliases", node)? {
        let mut fields = Vec::new();
        for (rule_key, field_node) in map_entries(&format!("aliases.{}", key.name), value)? {
            fields.push((
                Named {
                    name: rule_key.name.clone(),
                    position: rule_key.position,
                },
                named(
                    &format!("aliases.{}.{}", key.name, rule_key.name),
                    field_node,
                )?,
            ));
        }
        aliases.push(Alias {
            name: Named {
                name: key.name.clone(),
                position: key.position,
            },
            fields,
        });
    }
    Ok(aliases)
}
