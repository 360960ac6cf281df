//! Differential test of rule dispatch: random detection rules over a few fields (literal sets,
//! negations, quantifiers, wildcards) and random events (text in any case, missing and null
//! fields, lists, numbers) must fire exactly the same rules with dispatch as when every rule
//! is tried on every event.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test, helpers included"
)]

mod common;

use common::{JsonSchema, Runner, source};
use proptest::prelude::*;
use seam_rules::{CompileOptions, RuleSet};
use serde_json::json;

const FIELDS: [&str; 3] = ["a", "b", "c"];
const WORDS: [&str; 5] = ["x", "y", "z", "X", "w*"];

/// One field test of a selection: field, modifier (none or `contains`), and its values.
fn field_test(field: usize) -> impl Strategy<Value = String> {
    (
        Just(field),
        any::<bool>(),
        proptest::collection::vec(0usize..5, 1..3),
        0u8..8,
    )
        .prop_map(|(field, contains, values, shape)| {
            let values: Vec<String> = values
                .iter()
                .map(|value| format!("'{}'", WORDS[*value]))
                .collect();
            match shape {
                0 => format!("{}|exists: true", FIELDS[field]),
                1 => format!("{}: null", FIELDS[field]),
                2 => format!("{}|all: [{}]", FIELDS[field], values.join(", ")),
                _ if contains => format!("{}|contains: [{}]", FIELDS[field], values.join(", ")),
                _ => format!("{}: [{}]", FIELDS[field], values.join(", ")),
            }
        })
}

/// A branch: a test on some of the fields (a mapping cannot name a field twice).
fn branch() -> impl Strategy<Value = Vec<String>> {
    (
        proptest::option::of(field_test(0)),
        proptest::option::of(field_test(1)),
        proptest::option::of(field_test(2)),
        field_test(0),
    )
        .prop_map(|(a, b, c, fallback)| {
            let tests: Vec<String> = [a, b, c].into_iter().flatten().collect();
            if tests.is_empty() {
                vec![fallback]
            } else {
                tests
            }
        })
}

/// A selection: one map, or a list of maps (any of them).
fn selection() -> impl Strategy<Value = Vec<Vec<String>>> {
    proptest::collection::vec(branch(), 1..3)
}

fn condition() -> impl Strategy<Value = String> {
    let leaf = (0usize..3).prop_map(|index| format!("s{index}"));
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|term| format!("not {term}")),
            (inner.clone(), inner.clone())
                .prop_map(|(left, right)| format!("({left} and {right})")),
            (inner.clone(), inner).prop_map(|(left, right)| format!("({left} or {right})")),
            Just("1 of s*".to_owned()),
            Just("all of them".to_owned()),
        ]
    })
}

fn rule_text(index: usize, selections: &[Vec<Vec<String>>], condition: &str) -> String {
    let mut text = format!("title: r{index}\nid: r{index}\ndetection:\n");
    for (number, branches) in selections.iter().enumerate() {
        text.push_str(&format!("    s{number}:\n"));
        for branch in branches {
            for (position, test) in branch.iter().enumerate() {
                let bullet = if position == 0 { "- " } else { "  " };
                text.push_str(&format!("        {bullet}{test}\n"));
            }
        }
    }
    text.push_str(&format!("    condition: {condition}\n"));
    text
}

fn value(choice: u8) -> Option<serde_json::Value> {
    match choice {
        0 => None,
        1 => Some(serde_json::Value::Null),
        2 => Some(json!("x")),
        3 => Some(json!("Y")),
        4 => Some(json!("z")),
        5 => Some(json!("wat")),
        6 => Some(json!(["x", "y"])),
        7 => Some(json!(5)),
        _ => Some(json!("other")),
    }
}

fn fired(rules: &RuleSet, schema: &JsonSchema, events: &[[u8; 3]]) -> Vec<String> {
    let mut runner = Runner::new(rules, schema);
    for (time, choices) in (0i64..).zip(events) {
        let mut event = serde_json::Map::new();
        for (field, choice) in FIELDS.iter().zip(choices) {
            if let Some(value) = value(*choice) {
                event.insert((*field).to_owned(), value);
            }
        }
        runner.event(time, serde_json::Value::Object(event));
    }
    runner
        .matches
        .iter()
        .map(|found| format!("{}@{}", rules.rules()[found.rule].id, found.time))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn dispatch_fires_what_trying_every_rule_fires(
        rules in proptest::collection::vec(
            (proptest::collection::vec(selection(), 3..=3), condition()),
            1..6,
        ),
        events in proptest::collection::vec(proptest::array::uniform3(0u8..9), 1..30),
    ) {
        let text: Vec<String> = rules
            .iter()
            .enumerate()
            .map(|(index, (selections, condition))| rule_text(index, selections, condition))
            .collect();
        let files = source(&text.join("---\n"));
        let plain_schema = JsonSchema::default();
        let plain = RuleSet::compile(&files, &plain_schema, &CompileOptions::default()).unwrap();
        let schema = JsonSchema::default();
        let options = CompileOptions {
            dispatch_fields: vec![schema.field("a"), schema.field("b"), schema.field("c")],
        };
        let dispatched = RuleSet::compile(&files, &schema, &options).unwrap();
        prop_assert_eq!(
            fired(&dispatched, &schema, &events),
            fired(&plain, &plain_schema, &events)
        );
    }
}

/// The generator above does produce rules that fire and rules that do not, so the property
/// compares something.
#[test]
fn generated_rules_fire_sometimes() {
    let text = rule_text(
        0,
        &[
            vec![vec!["a: ['x', 'y']".to_owned()]],
            vec![vec!["b|contains: ['z']".to_owned()]],
            vec![vec!["c: null".to_owned()]],
        ],
        "(s0 and not s1) or s2",
    );
    let schema = JsonSchema::default();
    let options = CompileOptions {
        dispatch_fields: vec![schema.field("a"), schema.field("b"), schema.field("c")],
    };
    let rules = RuleSet::compile(&source(&text), &schema, &options).unwrap();
    let found = fired(
        &rules,
        &schema,
        &[[2, 4, 2], [3, 0, 5], [8, 8, 8], [0, 0, 1]],
    );
    assert_eq!(found, vec!["r0@1", "r0@3"]);
}
