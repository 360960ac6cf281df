//! Differential test of rule dispatch: random detection rules over a few fields (text and
//! integer literal sets, negations, quantifiers, wildcards) and random events (text in any
//! case, missing and null fields, lists, numbers, numeric strings) must fire exactly the same
//! rules with dispatch, on named or automatically chosen fields, as when every rule is tried on
//! every event.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test, helpers included"
)]

mod common;

use common::{JsonSchema, Runner, source};
use proptest::prelude::*;
use seam_rules::{CompileOptions, DispatchChoice, FieldRef, RuleSet, SourceFile};
use serde_json::json;

/// Compiles with automatic dispatch and no named fields.
fn compile_automatic<S: seam_rules::Schema>(
    files: &[SourceFile],
    schema: &S,
) -> Result<RuleSet, Vec<seam_rules::RuleError>> {
    RuleSet::compile_with(
        files,
        schema,
        &CompileOptions::default(),
        DispatchChoice::Automatic,
    )
}

const FIELDS: [&str; 3] = ["a", "b", "c"];
/// Rule values as written in YAML: text (quoted or not, any case, a wildcard) and numbers,
/// which the matcher compares numerically (`5` equals `"5"`, `"05"`, `5.0`, `"5e0"`).
const WORDS: [&str; 11] = [
    "'x'", "'y'", "'z'", "'X'", "'w*'", "5", "'5'", "7", "5.0", "'05'", "-0",
];

/// One field test of a selection: field, modifier (none or `contains`), and its values.
fn field_test(field: usize) -> impl Strategy<Value = String> {
    (
        Just(field),
        any::<bool>(),
        proptest::collection::vec(0usize..WORDS.len(), 1..3),
        0u8..8,
    )
        .prop_map(|(field, contains, values, shape)| {
            let values: Vec<String> = values
                .iter()
                .map(|value| WORDS[*value].to_owned())
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

/// Event values: every shape a field can hold, numbers and numeric strings included.
const VALUES: u8 = 22;

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
        8 => Some(json!("5")),
        9 => Some(json!("05")),
        10 => Some(json!(5.0)),
        11 => Some(json!("5.0")),
        12 => Some(json!("+5")),
        13 => Some(json!("5e0")),
        14 => Some(json!(7)),
        15 => Some(json!(" 5")),
        16 => Some(json!(5.5)),
        17 => Some(json!(true)),
        18 => Some(json!("-0")),
        19 => Some(json!(0)),
        20 => Some(json!([5, "z"])),
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

/// Every way of choosing dispatch fields, each compiled with its own schema.
fn compile_all_ways(files: &[SourceFile]) -> Vec<(String, RuleSet, JsonSchema)> {
    let mut compiled = Vec::new();
    let plain_schema = JsonSchema::default();
    let plain = RuleSet::compile(files, &plain_schema, &CompileOptions::default()).unwrap();
    compiled.push(("none".to_owned(), plain, plain_schema));
    let schema = JsonSchema::default();
    let options = CompileOptions {
        dispatch_fields: vec![schema.field("a"), schema.field("b"), schema.field("c")],
    };
    let named = RuleSet::compile(files, &schema, &options).unwrap();
    compiled.push(("named a, b, c".to_owned(), named, schema));
    let schema = JsonSchema::default();
    let automatic = compile_automatic(files, &schema).unwrap();
    compiled.push(("automatic".to_owned(), automatic, schema));
    let schema = JsonSchema::default();
    let options = CompileOptions {
        dispatch_fields: vec![schema.field("c")],
    };
    let b = schema.field("b");
    let only_b = move |field: FieldRef| field == b;
    let among = RuleSet::compile_with(
        files,
        &schema,
        &options,
        DispatchChoice::AutomaticAmong(&only_b),
    )
    .unwrap();
    compiled.push(("named c, automatic among b".to_owned(), among, schema));
    // Records that report string values as words of a vocabulary: the words are placed when
    // the rules compile, so they must land where reading the value would have put it (case,
    // numeric strings and all).
    let schema = JsonSchema::with_vocabulary(&[
        "x", "Y", "X", "z", "wat", "5", "05", "5.0", "+5", "5e0", " 5", "-0", "other", "w",
    ]);
    let options = CompileOptions {
        dispatch_fields: vec![schema.field("a")],
    };
    let words = RuleSet::compile_with(files, &schema, &options, DispatchChoice::Automatic).unwrap();
    compiled.push(("automatic, values as words".to_owned(), words, schema));
    compiled
}

fn rules_text(rules: &[(Vec<Vec<Vec<String>>>, String)]) -> String {
    let text: Vec<String> = rules
        .iter()
        .enumerate()
        .map(|(index, (selections, condition))| rule_text(index, selections, condition))
        .collect();
    text.join("---\n")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn dispatch_fires_what_trying_every_rule_fires(
        rules in proptest::collection::vec(
            (proptest::collection::vec(selection(), 3..=3), condition()),
            1..16,
        ),
        events in proptest::collection::vec(proptest::array::uniform3(0u8..VALUES), 1..40),
    ) {
        let files = source(&rules_text(&rules));
        let compiled = compile_all_ways(&files);
        let (_, plain, plain_schema) = &compiled[0];
        let expected = fired(plain, plain_schema, &events);
        for (name, rules, schema) in &compiled[1..] {
            prop_assert_eq!(&fired(rules, schema, &events), &expected, "{}", name);
        }
    }

    #[test]
    fn automatic_choice_is_deterministic(
        rules in proptest::collection::vec(
            (proptest::collection::vec(selection(), 3..=3), condition()),
            1..16,
        ),
    ) {
        let files = source(&rules_text(&rules));
        let choose = || {
            let schema = JsonSchema::default();
            let rules = compile_automatic(&files, &schema)
            .unwrap();
            let paths = schema.paths();
            rules
                .dispatch_fields()
                .iter()
                .map(|field| paths[field.0 as usize].clone())
                .collect::<Vec<_>>()
        };
        let first = choose();
        prop_assert!(first.len() <= seam_rules::MAX_DISPATCH_FIELDS);
        prop_assert_eq!(first, choose());
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
        &[[2, 4, 2], [3, 0, 5], [21, 21, 21], [0, 0, 1]],
    );
    assert_eq!(found, vec!["r0@1", "r0@3"]);
}

/// Names of the fields a rule set dispatches on.
fn dispatch_names(rules: &RuleSet, schema: &JsonSchema) -> Vec<String> {
    let paths = schema.paths();
    rules
        .dispatch_fields()
        .iter()
        .map(|field| paths[field.0 as usize].clone())
        .collect()
}

/// Rule ids fired per event, one line per event.
fn fired_per_event(
    rules: &RuleSet,
    schema: &JsonSchema,
    events: &[serde_json::Value],
) -> Vec<String> {
    let mut runner = Runner::new(rules, schema);
    (0i64..)
        .zip(events)
        .map(|(time, event)| {
            let found = runner.event(time, event.clone());
            let ids: Vec<&str> = found
                .iter()
                .map(|found| rules.rules()[found.rule].id.as_str())
                .collect();
            ids.join(" ")
        })
        .collect()
}

const INTEGER_RULES: &str = "\
title: int
id: int
detection:
    s:
        ResultType: 50057
    condition: s
---
title: text
id: text
detection:
    s:
        ResultType: '50057'
    condition: s
---
title: float
id: float
detection:
    s:
        ResultType: 50057.0
    condition: s
---
title: neither
id: neither
detection:
    s:
        ResultType: [50057, 0]
    condition: not s
---
title: other
id: other
detection:
    s:
        ResultType: [53003, 'x']
    condition: s
---
title: all
id: all
detection:
    s:
        ResultType|all: ['50057', '50057']
    condition: s
";

#[test]
fn integer_literals_dispatch_exactly_as_the_matcher_compares() {
    let events: Vec<serde_json::Value> = [
        json!(50057),
        json!("50057"),
        json!(50057.0),
        json!("050057"),
        json!("+50057"),
        json!("5.0057e4"),
        json!("50057.0"),
        json!("50057.5"),
        json!(" 50057"),
        json!(0),
        json!("-0"),
        json!(-0.0),
        json!(53003),
        json!("X"),
        json!(true),
        json!([1, 50057]),
        serde_json::Value::Null,
    ]
    .into_iter()
    .map(|value| json!({ "ResultType": value }))
    .chain([json!({})])
    .collect();
    let files = source(INTEGER_RULES);
    let plain_schema = JsonSchema::default();
    let plain = RuleSet::compile(&files, &plain_schema, &CompileOptions::default()).unwrap();
    let expected = fired_per_event(&plain, &plain_schema, &events);
    assert_eq!(
        expected,
        vec![
            "int text float all", // 50057: also equal to the text `50057`
            "int text float all",
            "int text float all", // 50057.0 reads as `50057`
            "int float",          // a numeric string equal as a number, not as text
            "int float",
            "int float",
            "int float",
            "neither",
            "neither", // a leading space is not a number
            "",
            "",
            "",
            "neither other",
            "neither other",
            "neither",
            "int text float all", // any element of a list
            "neither",
            "neither",
        ]
    );
    let schema = JsonSchema::default();
    let options = CompileOptions {
        dispatch_fields: vec![schema.field("ResultType")],
    };
    let named = RuleSet::compile(&files, &schema, &options).unwrap();
    assert_eq!(dispatch_names(&named, &schema), vec!["ResultType"]);
    assert_eq!(fired_per_event(&named, &schema, &events), expected);
    let schema = JsonSchema::default();
    let automatic = compile_automatic(&files, &schema).unwrap();
    assert_eq!(dispatch_names(&automatic, &schema), vec!["ResultType"]);
    assert_eq!(fired_per_event(&automatic, &schema, &events), expected);
}

/// Rules in the style of the Okta System Log and Azure sign-in rules: most name an `eventType`,
/// the Azure ones a `ResultType` (an integer); a few test other fields.
fn vendor_rules() -> String {
    let mut text = Vec::new();
    for (index, event_type) in [
        "user.session.start",
        "user.mfa.factor.deactivate",
        "system.api_token.create",
        "policy.lifecycle.update",
        "user.account.lock",
        "application.lifecycle.delete",
    ]
    .iter()
    .enumerate()
    {
        text.push(format!(
            "title: okta {index}\nid: okta-{index}\ndetection:\n    s:\n        eventType: {event_type}\n    condition: s\n"
        ));
    }
    for (index, result) in [50053, 50057, 53003, 500121].iter().enumerate() {
        text.push(format!(
            "title: azure {index}\nid: azure-{index}\ndetection:\n    s:\n        ResultType: {result}\n        ResultDescription|contains: fail\n    condition: s\n"
        ));
    }
    text.push(
        "title: status\nid: status\ndetection:\n    s:\n        Status: Success\n        userAgent|contains: BAV2ROPC\n    condition: s\n".to_owned(),
    );
    text.join("---\n")
}

#[test]
fn automatic_choice_takes_the_fields_that_split_the_rules_best() {
    let files = source(&vendor_rules());
    let schema = JsonSchema::default();
    let rules = compile_automatic(&files, &schema).unwrap();
    // `Status` constrains one rule of the eleven: not worth reading on every event.
    assert_eq!(
        dispatch_names(&rules, &schema),
        vec!["eventType", "ResultType"]
    );

    // Named fields come first; automatic choice adds to them.
    let schema = JsonSchema::default();
    let options = CompileOptions {
        dispatch_fields: vec![schema.field("Status")],
    };
    let rules =
        RuleSet::compile_with(&files, &schema, &options, DispatchChoice::Automatic).unwrap();
    assert_eq!(
        dispatch_names(&rules, &schema),
        vec!["Status", "eventType", "ResultType"]
    );

    // Only fields the caller accepts are chosen.
    let schema = JsonSchema::default();
    let result_type = schema.field("ResultType");
    let eligible = move |field: FieldRef| field == result_type;
    let rules = RuleSet::compile_with(
        &files,
        &schema,
        &CompileOptions::default(),
        DispatchChoice::AutomaticAmong(&eligible),
    )
    .unwrap();
    assert_eq!(dispatch_names(&rules, &schema), vec!["ResultType"]);

    // Without automatic choice nothing is dispatched unless named.
    let schema = JsonSchema::default();
    let rules = RuleSet::compile(&files, &schema, &CompileOptions::default()).unwrap();
    assert!(rules.dispatch_fields().is_empty());
}

#[test]
fn automatic_dispatch_fires_what_trying_every_rule_fires_on_vendor_events() {
    let files = source(&vendor_rules());
    let mut events = Vec::new();
    for event_type in [
        "user.session.start",
        "USER.SESSION.START",
        "user.session.end",
        "system.api_token.create",
    ] {
        events.push(json!({"eventType": event_type}));
    }
    for result in [
        json!(50057),
        json!("50057"),
        json!("500121"),
        json!(500121.0),
        json!(0),
        json!("0"),
        json!("53003.0"),
    ] {
        for description in ["Failure", "ok"] {
            events.push(json!({"ResultType": result, "ResultDescription": description}));
        }
    }
    events.push(json!({"Status": "success", "userAgent": "x BAV2ROPC"}));
    events.push(json!({"Status": {"errorCode": 0}, "userAgent": "BAV2ROPC"}));
    events.push(json!({"eventType": ["user.account.lock", "x"]}));
    let plain_schema = JsonSchema::default();
    let plain = RuleSet::compile(&files, &plain_schema, &CompileOptions::default()).unwrap();
    let expected = fired_per_event(&plain, &plain_schema, &events);
    assert!(expected.iter().filter(|ids| !ids.is_empty()).count() >= 8);
    let schema = JsonSchema::default();
    let automatic = compile_automatic(&files, &schema).unwrap();
    assert_eq!(fired_per_event(&automatic, &schema, &events), expected);
}

#[test]
fn automatic_dispatch_fires_what_trying_every_rule_fires_on_the_sigma_fixtures() {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for product in ["okta", "azure"] {
        let mut paths: Vec<_> = std::fs::read_dir(directory.join(product))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|extension| extension == "yml"))
            .collect();
        paths.sort();
        let files: Vec<SourceFile> = paths
            .iter()
            .map(|path| SourceFile {
                path: path.display().to_string(),
                text: std::fs::read_to_string(path).unwrap(),
            })
            .collect();
        let cases: Vec<serde_json::Value> = serde_json::from_str(
            &std::fs::read_to_string(directory.join(product).join("events.json")).unwrap(),
        )
        .unwrap();
        let events: Vec<serde_json::Value> =
            cases.iter().map(|case| case["event"].clone()).collect();
        let plain_schema = JsonSchema::default();
        let plain = RuleSet::compile(&files, &plain_schema, &CompileOptions::default()).unwrap();
        let schema = JsonSchema::default();
        let automatic = compile_automatic(&files, &schema).unwrap();
        assert_eq!(
            fired_per_event(&automatic, &schema, &events),
            fired_per_event(&plain, &plain_schema, &events),
            "{product}"
        );
    }
}
