//! The rsigma engine (`rsigma-parser` + `rsigma-eval`) over raw JSON events.

use rsigma_eval::{
    CorrelationAction, CorrelationConfig, CorrelationEngine, Engine, EvaluationResult, JsonEvent,
};
use rsigma_parser::{CorrelationRule, SigmaCollection, SigmaRule, parse_sigma_yaml};

use crate::input::{RuleFile, Stream};
use crate::{Failure, LoadedRule};

/// Parsed rules that compiled, and parsed correlations that were accepted.
pub struct RsigmaRules {
    rules: Vec<SigmaRule>,
    correlations: Vec<CorrelationRule>,
    /// The detection engine, rules already loaded.
    detection: Engine,
}

impl std::fmt::Debug for RsigmaRules {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RsigmaRules")
            .field("rules", &self.rules.len())
            .field("correlations", &self.correlations.len())
            .finish_non_exhaustive()
    }
}

/// One line: rsigma's parse errors span several lines.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A rule's identity in reports: its id, else its title.
fn identity(id: Option<&String>, title: &str) -> String {
    id.cloned().unwrap_or_else(|| title.to_owned())
}

/// The correlation engine's settings for the comparison: referenced rules report nothing of
/// their own (Sigma's `generate: false`), a window restarts after firing (as in Seam), and time
/// is what the caller passes.
fn correlation_config() -> CorrelationConfig {
    CorrelationConfig {
        emit_detections: false,
        action_on_match: CorrelationAction::Reset,
        ..CorrelationConfig::default()
    }
}

/// Parses every file and compiles every rule; reports what failed and why.
pub fn load(files: &[RuleFile]) -> (RsigmaRules, Vec<LoadedRule>, Vec<Failure>) {
    let mut failures = Vec::new();
    let mut parsed: Vec<(String, SigmaRule)> = Vec::new();
    let mut correlations: Vec<(String, CorrelationRule)> = Vec::new();
    for file in files {
        match parse_sigma_yaml(&file.text) {
            Ok(collection) => {
                for error in collection.errors {
                    failures.push(Failure {
                        path: file.path.clone(),
                        rule: None,
                        reason: one_line(&format!("parse: {error}")),
                    });
                }
                if !collection.filters.is_empty() {
                    failures.push(Failure {
                        path: file.path.clone(),
                        rule: None,
                        reason: format!(
                            "{} filter document(s) not used by this comparison",
                            collection.filters.len()
                        ),
                    });
                }
                parsed.extend(
                    collection
                        .rules
                        .into_iter()
                        .map(|rule| (file.path.clone(), rule)),
                );
                correlations.extend(
                    collection
                        .correlations
                        .into_iter()
                        .map(|rule| (file.path.clone(), rule)),
                );
            }
            Err(error) => failures.push(Failure {
                path: file.path.clone(),
                rule: None,
                reason: one_line(&format!("parse: {error}")),
            }),
        }
    }

    let mut detection = Engine::new();
    let errors = detection.add_rules(parsed.iter().map(|(_, rule)| rule));
    let mut failed = vec![false; parsed.len()];
    for (index, error) in errors {
        if let Some(flag) = failed.get_mut(index) {
            *flag = true;
        }
        if let Some((path, rule)) = parsed.get(index) {
            failures.push(Failure {
                path: path.clone(),
                rule: Some(identity(rule.id.as_ref(), &rule.title)),
                reason: one_line(&format!("compile: {error}")),
            });
        }
    }
    let mut loaded = Vec::new();
    let mut rules = Vec::new();
    for ((path, rule), failed) in parsed.into_iter().zip(failed) {
        if failed {
            continue;
        }
        loaded.push(LoadedRule {
            id: identity(rule.id.as_ref(), &rule.title),
            title: rule.title.clone(),
            path,
            correlation: false,
        });
        rules.push(rule);
    }

    // A correlation is kept if a correlation engine accepts it together with every rule.
    let mut accepted = Vec::new();
    for (path, correlation) in correlations {
        let mut trial = accepted.clone();
        trial.push(correlation.clone());
        match build_correlation_engine(&rules, &trial) {
            Ok(_) => {
                loaded.push(LoadedRule {
                    id: identity(correlation.id.as_ref(), &correlation.title),
                    title: correlation.title.clone(),
                    path,
                    correlation: true,
                });
                accepted.push(correlation);
            }
            Err(reason) => failures.push(Failure {
                path,
                rule: Some(identity(correlation.id.as_ref(), &correlation.title)),
                reason: one_line(&reason),
            }),
        }
    }
    (
        RsigmaRules {
            rules,
            correlations: accepted,
            detection,
        },
        loaded,
        failures,
    )
}

fn build_correlation_engine(
    rules: &[SigmaRule],
    correlations: &[CorrelationRule],
) -> Result<CorrelationEngine, String> {
    let mut collection = SigmaCollection::new();
    collection.rules = rules.to_vec();
    collection.correlations = correlations.to_vec();
    let mut engine = CorrelationEngine::new(correlation_config());
    engine
        .add_collection(&collection)
        .map_err(|error| format!("correlation engine: {error}"))?;
    Ok(engine)
}

impl RsigmaRules {
    /// A fresh correlation engine holding every loaded rule and correlation.
    pub fn correlation_engine(&self) -> Result<CorrelationEngine, String> {
        build_correlation_engine(&self.rules, &self.correlations)
    }

    /// Runs the stream through the stateless detection engine, calling
    /// `sink(event index, result)` for every result.
    pub fn run_detection(&self, stream: &Stream, mut sink: impl FnMut(usize, &EvaluationResult)) {
        for (index, event) in stream.events.iter().enumerate() {
            let results = self.detection.evaluate(&JsonEvent::borrow(event));
            for result in &results {
                sink(index, result);
            }
        }
    }

    pub fn has_correlations(&self) -> bool {
        !self.correlations.is_empty()
    }
}

/// Runs the stream through a correlation engine, each event at its stream time.
pub fn run_correlation(
    engine: &mut CorrelationEngine,
    stream: &Stream,
    mut sink: impl FnMut(usize, &EvaluationResult),
) {
    for (index, (event, time)) in stream.events.iter().zip(&stream.times_secs).enumerate() {
        let results = engine.process_event_at(&JsonEvent::borrow(event), *time);
        for result in &results {
            sink(index, result);
        }
    }
}

/// The identity of a result's rule, as [`load`] reports it.
pub fn result_identity(result: &EvaluationResult) -> String {
    identity(result.header.rule_id.as_ref(), &result.header.rule_title)
}
