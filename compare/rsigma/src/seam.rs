//! Seam's engine (`seam-rules`) over raw JSON events: a schema that accepts any dotted field
//! name, and a record that reads those names as paths (arrays: any element).

use std::cell::{OnceCell, RefCell};
use std::collections::{BTreeMap, BTreeSet};

use seam_rules::{
    CompileOptions, DispatchChoice, FieldRef, Input, Record, RuleSet, RuleState, Schema,
    SourceFile, Value,
};

use crate::input::{RuleFile, Stream};
use crate::{Failure, LoadedRule, Mode};

/// Hands out one [`FieldRef`] per distinct dotted name.
#[derive(Debug, Default)]
struct JsonSchema {
    names: RefCell<Vec<String>>,
}

impl Schema for JsonSchema {
    fn resolve(&self, name: &str) -> Result<FieldRef, String> {
        if name.is_empty() || name.split('.').any(str::is_empty) {
            return Err("empty path segment".to_owned());
        }
        let mut names = self.names.borrow_mut();
        if let Some(index) = names.iter().position(|known| known == name) {
            return u32::try_from(index)
                .map(FieldRef)
                .map_err(|_| "too many fields".to_owned());
        }
        let index = u32::try_from(names.len()).map_err(|_| "too many fields".to_owned())?;
        names.push(name.to_owned());
        Ok(FieldRef(index))
    }
}

/// A resolved dotted name: its segments, and for each segment the rest of the name joined
/// again, so a flat key such as `"Status.errorCode"` is found without allocating.
#[derive(Debug)]
struct FieldPath {
    segments: Vec<String>,
    rests: Vec<String>,
}

impl FieldPath {
    fn new(name: &str) -> Self {
        let segments: Vec<String> = name.split('.').map(str::to_owned).collect();
        let rests = (0..segments.len())
            .map(|start| segments.get(start..).unwrap_or_default().join("."))
            .collect();
        FieldPath { segments, rests }
    }
}

/// One raw JSON event as Seam's rules read it.
struct JsonRecord<'a> {
    paths: &'a [FieldPath],
    event: &'a serde_json::Value,
    /// Every string value of the event, one per line; built only if a keyword rule asks.
    keywords: OnceCell<String>,
}

impl<'a> JsonRecord<'a> {
    fn new(paths: &'a [FieldPath], event: &'a serde_json::Value) -> Self {
        JsonRecord {
            paths,
            event,
            keywords: OnceCell::new(),
        }
    }
}

fn convert(value: &serde_json::Value) -> Value<'_> {
    match value {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(flag) => Value::Bool(*flag),
        serde_json::Value::Number(number) => match number.as_i64() {
            Some(int) => Value::Int(int),
            None => Value::Float(number.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(text) => Value::Str(text),
        serde_json::Value::Array(items) => Value::List(items.iter().map(convert).collect()),
        serde_json::Value::Object(_) => Value::Owned(value.to_string()),
    }
}

fn lookup<'v>(value: &'v serde_json::Value, path: &FieldPath, depth: usize) -> Option<Value<'v>> {
    let Some(segment) = path.segments.get(depth) else {
        return Some(convert(value));
    };
    match value {
        serde_json::Value::Object(map) => {
            // A flat key holding the rest of the dotted name wins over nesting.
            if depth + 1 < path.segments.len()
                && let Some(rest) = path.rests.get(depth)
                && let Some(direct) = map.get(rest)
            {
                return Some(convert(direct));
            }
            lookup(map.get(segment)?, path, depth + 1)
        }
        serde_json::Value::Array(items) => {
            let mut found = Vec::new();
            for item in items {
                match lookup(item, path, depth) {
                    Some(Value::List(inner)) => found.extend(inner),
                    Some(other) => found.push(other),
                    None => {}
                }
            }
            (!found.is_empty()).then_some(Value::List(found))
        }
        _ => None,
    }
}

fn push_strings(value: &serde_json::Value, out: &mut String) {
    match value {
        serde_json::Value::String(text) => {
            out.push_str(text);
            out.push('\n');
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| push_strings(item, out)),
        serde_json::Value::Object(map) => map.values().for_each(|item| push_strings(item, out)),
        _ => {}
    }
}

impl Record for JsonRecord<'_> {
    fn field(&self, field: FieldRef) -> Option<Value<'_>> {
        let path = self.paths.get(field.0 as usize)?;
        lookup(self.event, path, 0)
    }

    fn keyword_text(&self) -> Option<&str> {
        Some(self.keywords.get_or_init(|| {
            let mut text = String::new();
            push_strings(self.event, &mut text);
            text
        }))
    }
}

/// Line ranges `[from, to)` (0-based) of the YAML documents of a file, split at `---` lines.
fn documents(lines: &[&str]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut start = 0;
    for (index, line) in lines.iter().enumerate() {
        if line.trim_end() == "---" && index > start {
            found.push((start, index));
            start = index;
        }
    }
    found.push((start, lines.len()));
    found
}

/// Replaces the documents `blank` picks (with their `---` line) by empty lines, so the other
/// documents keep their line numbers.
fn blank_documents(text: &str, mut blank: impl FnMut(usize, &[&str]) -> bool) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::with_capacity(text.len());
    for (number, (from, to)) in documents(&lines).into_iter().enumerate() {
        let part = lines.get(from..to).unwrap_or_default();
        let hide = blank(number, part);
        for line in part {
            if !hide {
                out.push_str(line);
            }
            out.push('\n');
        }
    }
    out
}

/// Blanks every document with a top-level `correlation:` key, so only detection rules remain.
fn strip_correlations(text: &str) -> String {
    blank_documents(text, |_, part| {
        part.iter().any(|line| line.starts_with("correlation:"))
    })
}

/// The document holding 1-based `line`, and its title if it has one.
fn document_at(text: &str, line: u32) -> Option<(usize, Option<String>)> {
    let lines: Vec<&str> = text.lines().collect();
    let index = usize::try_from(line).ok()?.checked_sub(1)?;
    documents(&lines)
        .into_iter()
        .enumerate()
        .find(|(_, (from, to))| (*from..*to).contains(&index))
        .map(|(number, (from, to))| {
            let title = lines
                .get(from..to)
                .unwrap_or_default()
                .iter()
                .find_map(|line| line.strip_prefix("title:"))
                .map(|title| title.trim().trim_matches(['\'', '"']).to_owned());
            (number, title)
        })
}

/// How Seam's rule dispatch index gets its fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dispatch {
    /// Fields named on the command line, read first.
    pub named: Vec<String>,
    /// Let seam-rules add fields it chooses from the rules.
    pub automatic: bool,
}

/// A compiled Seam rule set and the field paths its schema handed out.
#[derive(Debug)]
pub struct SeamEngine {
    rules: RuleSet,
    names: Vec<String>,
    paths: Vec<FieldPath>,
}

/// Compiles the files; files with errors are reported and left out, the rest loaded.
/// With neither named fields nor automatic choice, every rule is tried on every event.
pub fn load(
    files: &[RuleFile],
    mode: Mode,
    dispatch: &Dispatch,
) -> Result<(SeamEngine, Vec<LoadedRule>, Vec<Failure>), String> {
    let mut active: Vec<SourceFile> = files
        .iter()
        .map(|file| SourceFile {
            path: file.path.clone(),
            text: match mode {
                Mode::Detection => strip_correlations(&file.text),
                Mode::Correlation => file.text.clone(),
            },
        })
        .collect();
    let mut failures = Vec::new();
    loop {
        let schema = JsonSchema::default();
        let options = CompileOptions {
            dispatch_fields: dispatch
                .named
                .iter()
                .map(|name| {
                    schema
                        .resolve(name)
                        .map_err(|reason| format!("--dispatch {name}: {reason}"))
                })
                .collect::<Result<_, _>>()?,
        };
        let choice = if dispatch.automatic {
            DispatchChoice::Automatic
        } else {
            DispatchChoice::Named
        };
        match RuleSet::compile_with(&active, &schema, &options, choice) {
            Ok(rules) => {
                let loaded = rules
                    .rules()
                    .iter()
                    .map(|meta| LoadedRule {
                        id: meta.id.clone(),
                        title: meta.title.clone(),
                        path: meta.path.clone(),
                        correlation: meta.kind.is_correlation(),
                    })
                    .collect();
                let names = schema.names.borrow().clone();
                let paths = names.iter().map(|name| FieldPath::new(name)).collect();
                return Ok((
                    SeamEngine {
                        rules,
                        names,
                        paths,
                    },
                    loaded,
                    failures,
                ));
            }
            Err(errors) => {
                // Blank each document with an error (a whole file if the error has no line)
                // and compile the rest again.
                let mut blank: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
                let mut drop_files: BTreeSet<String> = BTreeSet::new();
                for error in &errors {
                    let Some(file) = active.iter().find(|file| file.path == error.path) else {
                        continue;
                    };
                    let document = document_at(&file.text, error.line);
                    failures.push(Failure {
                        path: error.path.clone(),
                        rule: document.as_ref().and_then(|(_, title)| title.clone()),
                        reason: format!("{}:{}: {}", error.line, error.column, error.message),
                    });
                    match document {
                        Some((number, _)) => {
                            blank.entry(error.path.clone()).or_default().insert(number);
                        }
                        None => {
                            drop_files.insert(error.path.clone());
                        }
                    }
                }
                if blank.is_empty() && drop_files.is_empty() {
                    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    return Err(format!(
                        "seam-rules: compile failed without naming a file: {}",
                        text.join("; ")
                    ));
                }
                let before = active.len();
                active.retain(|file| !drop_files.contains(&file.path));
                let mut changed = active.len() != before;
                for file in &mut active {
                    if let Some(numbers) = blank.get(&file.path) {
                        let text =
                            blank_documents(&file.text, |number, _| numbers.contains(&number));
                        changed |= text != file.text;
                        file.text = text;
                    }
                }
                if !changed {
                    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    return Err(format!(
                        "seam-rules: cannot isolate the failing documents: {}",
                        text.join("; ")
                    ));
                }
            }
        }
    }
}

impl SeamEngine {
    /// Runs the whole stream through a fresh state, calling `sink(event index, rule index)` for
    /// every finding. With correlations the watermark follows each event's time.
    pub fn run(&self, stream: &Stream, correlations: bool, mut sink: impl FnMut(usize, usize)) {
        let mut state = RuleState::default();
        let mut out = Vec::new();
        let events = stream
            .events
            .iter()
            .zip(&stream.uids)
            .zip(&stream.times_secs);
        for (index, ((event, uid), time)) in events.enumerate() {
            let record = JsonRecord::new(&self.paths, event);
            let time_ms = time.saturating_mul(1000);
            self.rules.on_event(
                &mut state,
                &Input {
                    time: time_ms,
                    uid,
                    record: &record,
                    late: false,
                },
                &mut out,
            );
            if correlations {
                self.rules.advance(&mut state, time_ms, &mut out);
            }
            for found in out.drain(..) {
                sink(index, found.rule);
            }
        }
    }

    /// The fields the rule set is dispatched on, in the order they are read.
    pub fn dispatch_fields(&self) -> Vec<String> {
        self.rules
            .dispatch_fields()
            .iter()
            .map(|field| {
                self.names
                    .get(field.0 as usize)
                    .cloned()
                    .unwrap_or_else(|| format!("#{}", field.0))
            })
            .collect()
    }

    /// Rule ids by rule index.
    pub fn ids(&self) -> Vec<String> {
        self.rules
            .rules()
            .iter()
            .map(|meta| meta.id.clone())
            .collect()
    }
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]
mod tests {
    use super::*;

    #[test]
    fn strips_correlation_documents_keeping_lines() {
        let text =
            "title: a\ndetection: x\n---\ntitle: b\ncorrelation:\n  type: x\n---\ntitle: c\n";
        let stripped = strip_correlations(text);
        assert_eq!(stripped, "title: a\ndetection: x\n\n\n\n\n---\ntitle: c\n");
    }

    #[test]
    fn flat_keys_and_arrays_resolve() {
        let event = serde_json::json!({
            "Status.errorCode": 7,
            "target": [{"displayName": "A"}, {"displayName": "B"}],
        });
        let paths = vec![
            FieldPath::new("Status.errorCode"),
            FieldPath::new("target.displayName"),
        ];
        let record = JsonRecord::new(&paths, &event);
        assert_eq!(record.field(FieldRef(0)), Some(Value::Int(7)));
        assert_eq!(
            record.field(FieldRef(1)),
            Some(Value::List(vec![Value::Str("A"), Value::Str("B")]))
        );
    }
}
