//! Sigma compatibility: rules written in the style of the public Okta System Log and Azure
//! sign-in rules load unchanged and match raw vendor JSON through a schema that maps field
//! names to paths (arrays: any element).

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test, helpers included"
)]

mod common;

use std::path::Path;

use common::{JsonSchema, Runner};
use seam_rules::{CompileOptions, RuleSet, SourceFile};

fn load_rules(product: &str) -> Vec<SourceFile> {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(product);
    let mut paths: Vec<_> = std::fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "yml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| SourceFile {
            path: path.display().to_string(),
            text: std::fs::read_to_string(&path).unwrap(),
        })
        .collect()
}

fn load_events(product: &str) -> Vec<serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(product)
        .join("events.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs every fixture event one second apart and checks which rules fired on each.
fn check_product(product: &str, logsource_product: &str, rule_count: usize) {
    let schema = JsonSchema::default();
    let rules = RuleSet::compile(&load_rules(product), &schema, &CompileOptions::default())
        .unwrap_or_else(|errors| panic!("{errors:#?}"));
    assert_eq!(rules.rules().len(), rule_count);
    for meta in rules.rules() {
        if !meta.kind.is_correlation() {
            assert_eq!(meta.logsource.product.as_deref(), Some(logsource_product));
        }
    }
    let mut runner = Runner::new(&rules, &schema);
    let mut fired_anything = std::collections::BTreeSet::new();
    for (index, case) in load_events(product).iter().enumerate() {
        let found = runner.event(index as i64 * 1_000, case["event"].clone());
        let fired: Vec<&str> = found
            .iter()
            .map(|found| rules.rules()[found.rule].id.as_str())
            .collect();
        let expected: Vec<&str> = case["expect"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap())
            .collect();
        assert_eq!(fired, expected, "case `{}`", case["name"]);
        fired_anything.extend(fired.into_iter().map(str::to_owned));
    }
    for meta in rules.rules() {
        if meta.generates_findings {
            assert!(
                fired_anything.contains(&meta.id),
                "no fixture fires `{}`",
                meta.title
            );
        }
    }
}

#[test]
fn okta_rules_match_okta_system_log_events() {
    check_product("okta", "okta", 6);
}

#[test]
fn azure_rules_match_azure_sign_in_events() {
    check_product("azure", "azure", 4);
}

#[test]
fn okta_spray_finding_carries_its_group_and_evidence() {
    let schema = JsonSchema::default();
    let rules = RuleSet::compile(&load_rules("okta"), &schema, &CompileOptions::default()).unwrap();
    let mut runner = Runner::new(&rules, &schema);
    for (index, case) in load_events("okta").iter().enumerate() {
        runner.event(index as i64 * 1_000, case["event"].clone());
    }
    let spray = runner
        .matches
        .iter()
        .find(|found| rules.rules()[found.rule].kind == seam_rules::RuleKind::ValueCount)
        .unwrap();
    assert_eq!(
        spray.group,
        vec![("client.ipAddress".to_owned(), "192.0.2.7".to_owned())]
    );
    assert_eq!(spray.count, 3);
    assert_eq!(spray.evidence, vec!["e8", "e9", "e11", "e12"]);
}
