//! Runs every rule's own test cases through the real engine (`seam rules test`).

use std::sync::Arc;

use seam_estate::Estate;
use seam_model::Event;

use crate::engine::{Engine, EngineConfig, Output};
use crate::rules::CompiledRules;

/// The result of one test case.
#[derive(Clone, Debug, PartialEq)]
pub struct TestOutcome {
    pub rule_id: String,
    pub name: String,
    pub location: String,
    pub expected: usize,
    pub found: usize,
    /// Why the case could not run (a malformed test event), if so.
    pub error: Option<String>,
}

impl TestOutcome {
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.expected == self.found
    }
}

/// Test events may leave out `uid` and `source`; they are numbered and named `test`.
pub fn test_event(index: usize, value: &serde_json::Value) -> Result<Event, String> {
    let mut value = value.clone();
    let object = value
        .as_object_mut()
        .ok_or_else(|| format!("event {} is not a mapping", index + 1))?;
    object
        .entry("uid")
        .or_insert_with(|| serde_json::Value::String(format!("test-{:04}", index + 1)));
    object
        .entry("source")
        .or_insert_with(|| serde_json::Value::String("test".into()));
    let event: Event =
        serde_json::from_value(value).map_err(|e| format!("event {}: {e}", index + 1))?;
    event
        .validate()
        .map_err(|e| format!("event {}: {e}", index + 1))?;
    Ok(event)
}

pub fn run_rule_tests(estate: &Arc<Estate>, rules: &Arc<CompiledRules>) -> Vec<TestOutcome> {
    let mut outcomes = Vec::new();
    for test in rules.set.tests() {
        let rule_id = rules
            .set
            .rules()
            .get(test.rule)
            .map(|r| r.id.clone())
            .unwrap_or_default();
        let mut outcome = TestOutcome {
            rule_id: rule_id.clone(),
            name: test.name.clone(),
            location: format!("{}:{}", test.path, test.line),
            expected: test.expect,
            found: 0,
            error: None,
        };
        let events: Result<Vec<Event>, String> = test
            .events
            .iter()
            .enumerate()
            .map(|(index, value)| test_event(index, value))
            .collect();
        match events {
            Err(error) => outcome.error = Some(error),
            Ok(events) => {
                // A rule's own tests check the rule, whatever the pack's tuning does with it.
                let config = EngineConfig {
                    emit_events: false,
                    apply_tuning: false,
                    ..EngineConfig::default()
                };
                let mut engine = Engine::new(Arc::clone(estate), Arc::clone(rules), config);
                let mut out = Output::default();
                for event in events {
                    engine.push(event, &mut out);
                }
                engine.flush(&mut out);
                outcome.found = out
                    .findings
                    .iter()
                    .filter(|f| f.rule_id() == rule_id)
                    .count();
            }
        }
        outcomes.push(outcome);
    }
    outcomes
}
