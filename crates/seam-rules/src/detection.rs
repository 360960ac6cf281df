//! The `detection` block of a Sigma rule: named selections and a condition over them.

use crate::condition::{self, Cond};
use crate::dispatch::Known;
use crate::error::{Located, Problem};
use crate::matcher::{Combine, FieldTest, Target, compile_field_test, compile_keyword};
use crate::record::{Record, Schema};
use crate::yaml::{Node, NodeKind};

/// A selection: any branch matches when all its field tests match.
#[derive(Clone, Debug)]
pub(crate) struct Selection {
    pub branches: Vec<Vec<FieldTest>>,
}

impl Selection {
    fn matches<R: Record + ?Sized>(&self, record: &R, known: Option<&Known>) -> bool {
        self.branches
            .iter()
            .any(|branch| branch.iter().all(|test| test.matches_known(record, known)))
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Detection {
    pub selections: Vec<Selection>,
    pub condition: Cond,
}

impl Detection {
    /// Whether the record matches; `known` is what dispatch has classified of this record's
    /// dispatch fields, if it has.
    pub fn matches<R: Record + ?Sized>(&self, record: &R, known: Option<&Known>) -> bool {
        self.condition.evaluate(&mut |index| {
            self.selections
                .get(index)
                .is_some_and(|selection| selection.matches(record, known))
        })
    }
}

/// Compiles a `detection` mapping.
pub(crate) fn compile_detection(
    node: &Node,
    schema: &dyn Schema,
) -> Result<Detection, Vec<Located>> {
    let NodeKind::Map(entries) = &node.kind else {
        return Err(vec![Located::new(
            node.position,
            Problem::WrongType {
                key: "detection".to_owned(),
                expected: "a mapping",
                found: node.type_name(),
            },
        )]);
    };
    let mut errors = Vec::new();
    let mut names = Vec::new();
    let mut selections = Vec::new();
    let mut condition_node = None;
    for (key, value) in entries {
        match key.name.as_str() {
            "condition" => condition_node = Some(value),
            "timeframe" => errors.push(Located::new(
                key.position,
                Problem::Invalid(
                    "`timeframe` belongs to the old aggregation syntax: write a correlation rule"
                        .to_owned(),
                ),
            )),
            name => match compile_selection(name, value, schema) {
                Ok(selection) => {
                    names.push(name.to_owned());
                    selections.push(selection);
                }
                Err(mut problems) => {
                    // Keep the name so the condition does not also report it as unknown.
                    names.push(name.to_owned());
                    selections.push(Selection {
                        branches: Vec::new(),
                    });
                    errors.append(&mut problems);
                }
            },
        }
    }
    let condition = match condition_node {
        None => {
            errors.push(Located::new(
                node.position,
                Problem::MissingKey("detection.condition"),
            ));
            None
        }
        Some(value) => match compile_condition(value, &names) {
            Ok(condition) => Some(condition),
            Err(problem) => {
                errors.push(problem);
                None
            }
        },
    };
    match condition {
        Some(condition) if errors.is_empty() => Ok(Detection {
            selections,
            condition,
        }),
        _ => Err(errors),
    }
}

fn compile_condition(node: &Node, names: &[String]) -> Result<Cond, Located> {
    let parse_one = |node: &Node| -> Result<Cond, Located> {
        let Some(text) = node.as_str() else {
            return Err(Located::new(
                node.position,
                Problem::WrongType {
                    key: "condition".to_owned(),
                    expected: "a string",
                    found: node.type_name(),
                },
            ));
        };
        condition::parse(text, names).map_err(|error| {
            Located::new(
                node.position_in_text(error.offset),
                Problem::Condition(error.message),
            )
        })
    };
    match &node.kind {
        // Sigma: a list of conditions means any of them.
        NodeKind::Seq(items) if !items.is_empty() => {
            let mut terms = Vec::with_capacity(items.len());
            for item in items {
                terms.push(parse_one(item)?);
            }
            Ok(if terms.len() == 1 {
                terms.remove(0)
            } else {
                Cond::Or(terms)
            })
        }
        _ => parse_one(node),
    }
}

fn compile_selection(
    name: &str,
    node: &Node,
    schema: &dyn Schema,
) -> Result<Selection, Vec<Located>> {
    match &node.kind {
        NodeKind::Map(entries) => {
            if entries.is_empty() {
                return Err(vec![Located::new(
                    node.position,
                    Problem::EmptySelection(name.to_owned()),
                )]);
            }
            Ok(Selection {
                branches: vec![compile_branch(entries, schema)?],
            })
        }
        NodeKind::Seq(items) => {
            if items.is_empty() {
                return Err(vec![Located::new(
                    node.position,
                    Problem::EmptySelection(name.to_owned()),
                )]);
            }
            let maps = items
                .iter()
                .filter(|item| matches!(item.kind, NodeKind::Map(_)))
                .count();
            if maps == items.len() {
                let mut branches = Vec::with_capacity(items.len());
                let mut errors = Vec::new();
                for item in items {
                    if let NodeKind::Map(entries) = &item.kind {
                        if entries.is_empty() {
                            errors.push(Located::new(
                                item.position,
                                Problem::EmptySelection(name.to_owned()),
                            ));
                            continue;
                        }
                        match compile_branch(entries, schema) {
                            Ok(branch) => branches.push(branch),
                            Err(mut problems) => errors.append(&mut problems),
                        }
                    }
                }
                if errors.is_empty() {
                    Ok(Selection { branches })
                } else {
                    Err(errors)
                }
            } else if maps == 0 {
                let mut tests = Vec::with_capacity(items.len());
                for item in items {
                    tests.push(compile_keyword(item).map_err(|problem| vec![problem])?);
                }
                Ok(keyword_selection(tests))
            } else {
                Err(vec![Located::new(
                    node.position,
                    Problem::MixedSelection(name.to_owned()),
                )])
            }
        }
        NodeKind::Str(_) | NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Bool(_) => {
            let test = compile_keyword(node).map_err(|problem| vec![problem])?;
            Ok(keyword_selection(vec![test]))
        }
        NodeKind::Null => Err(vec![Located::new(
            node.position,
            Problem::EmptySelection(name.to_owned()),
        )]),
    }
}

fn keyword_selection(tests: Vec<crate::matcher::ValueTest>) -> Selection {
    Selection {
        branches: vec![vec![FieldTest {
            target: Target::Keywords,
            combine: Combine::AnyOf(tests),
            shortcut: None,
        }]],
    }
}

fn compile_branch(
    entries: &[(crate::yaml::Key, Node)],
    schema: &dyn Schema,
) -> Result<Vec<FieldTest>, Vec<Located>> {
    let mut tests = Vec::with_capacity(entries.len());
    let mut errors = Vec::new();
    for (key, value) in entries {
        match compile_field_test(key, value, schema) {
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
