//! Test support: a schema that maps dotted names to paths in raw JSON events (arrays: any
//! element), and helpers to compile rules and run events through them.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test, helpers included"
)]
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::cell::RefCell;
use std::collections::BTreeSet;

use seam_rules::{
    CompileOptions, FieldRef, Input, Match, Record, RuleError, RuleSet, RuleState, Schema,
    SourceFile, Value, Word,
};

/// Resolves any well-formed dotted name (or only `allowed` ones) to a path.
#[derive(Debug, Default)]
pub struct JsonSchema {
    names: RefCell<Vec<String>>,
    allowed: Option<BTreeSet<String>>,
    /// A vocabulary every field has (see [`Schema::vocabulary`]), if any.
    vocabulary: Option<Vec<String>>,
}

impl JsonSchema {
    pub fn only(names: &[&str]) -> Self {
        JsonSchema {
            names: RefCell::default(),
            allowed: Some(names.iter().map(|name| (*name).to_owned()).collect()),
            vocabulary: None,
        }
    }

    /// Every field has `words` as its vocabulary, and records report a string value that is
    /// one of them as its position.
    pub fn with_vocabulary(words: &[&str]) -> Self {
        JsonSchema {
            vocabulary: Some(words.iter().map(|word| (*word).to_owned()).collect()),
            ..JsonSchema::default()
        }
    }

    pub fn vocabulary(&self) -> Option<Vec<String>> {
        self.vocabulary.clone()
    }

    pub fn paths(&self) -> Vec<String> {
        self.names.borrow().clone()
    }

    pub fn field(&self, name: &str) -> FieldRef {
        self.resolve(name).unwrap()
    }
}

impl Schema for JsonSchema {
    fn resolve(&self, name: &str) -> Result<FieldRef, String> {
        if name.split('.').any(str::is_empty) {
            return Err("empty path segment".to_owned());
        }
        if let Some(allowed) = &self.allowed
            && !allowed.contains(name)
        {
            return Err("not in the schema".to_owned());
        }
        let mut names = self.names.borrow_mut();
        if let Some(index) = names.iter().position(|known| known == name) {
            return Ok(FieldRef(index as u32));
        }
        names.push(name.to_owned());
        Ok(FieldRef((names.len() - 1) as u32))
    }

    fn vocabulary(&self, _field: FieldRef) -> Option<Vec<String>> {
        self.vocabulary.clone()
    }
}

/// A raw JSON event read through resolved paths.
pub struct JsonRecord<'a> {
    pub paths: &'a [String],
    pub event: &'a serde_json::Value,
    pub keywords: Option<String>,
    /// The schema's vocabulary: a string value in it is reported as a word.
    pub vocabulary: Option<&'a [String]>,
}

impl<'a> JsonRecord<'a> {
    pub fn new(paths: &'a [String], event: &'a serde_json::Value) -> Self {
        JsonRecord {
            paths,
            event,
            keywords: event
                .get("_keywords")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
            vocabulary: None,
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
        serde_json::Value::String(text) => match text.strip_prefix("ip:") {
            // Lets tests hand out typed addresses.
            Some(address) => Value::Ip(address.parse().unwrap()),
            None => Value::Str(text),
        },
        serde_json::Value::Array(items) => Value::List(items.iter().map(convert).collect()),
        serde_json::Value::Object(_) => Value::Owned(value.to_string()),
    }
}

fn lookup<'v>(value: &'v serde_json::Value, segments: &[&str]) -> Option<Value<'v>> {
    let Some((first, rest)) = segments.split_first() else {
        return Some(convert(value));
    };
    match value {
        serde_json::Value::Object(map) => {
            let joined = segments.join(".");
            if let Some(direct) = map.get(&joined) {
                return Some(convert(direct));
            }
            lookup(map.get(*first)?, rest)
        }
        serde_json::Value::Array(items) => {
            let mut found = Vec::new();
            for item in items {
                match lookup(item, segments) {
                    Some(Value::List(inner)) => found.extend(inner),
                    Some(other) => found.push(other),
                    None => {}
                }
            }
            if found.is_empty() {
                None
            } else {
                Some(Value::List(found))
            }
        }
        _ => None,
    }
}

impl Record for JsonRecord<'_> {
    fn field(&self, field: FieldRef) -> Option<Value<'_>> {
        let path = self.paths.get(field.0 as usize)?;
        let segments: Vec<&str> = path.split('.').collect();
        lookup(self.event, &segments)
    }

    fn keyword_text(&self) -> Option<&str> {
        self.keywords.as_deref()
    }

    fn word(&self, field: FieldRef) -> Word {
        let Some(vocabulary) = self.vocabulary else {
            return Word::Unknown;
        };
        match self.field(field) {
            None => Word::Missing,
            Some(Value::Str(text)) => vocabulary
                .iter()
                .position(|word| word == text)
                .map_or(Word::Unknown, |position| Word::At(position as u16)),
            Some(_) => Word::Unknown,
        }
    }
}

pub fn source(text: &str) -> Vec<SourceFile> {
    vec![SourceFile {
        path: "rules.yml".to_owned(),
        text: text.to_owned(),
    }]
}

/// Compiles one file of rules with a permissive schema.
pub fn compile(text: &str) -> (RuleSet, JsonSchema) {
    let schema = JsonSchema::default();
    let rules = match RuleSet::compile(&source(text), &schema, &CompileOptions::default()) {
        Ok(rules) => rules,
        Err(errors) => panic!("compile failed: {errors:#?}"),
    };
    (rules, schema)
}

/// The compile errors of one file, as `line:column: message` strings.
pub fn compile_errors(text: &str) -> Vec<String> {
    compile_errors_with(text, &JsonSchema::default())
}

pub fn compile_errors_with(text: &str, schema: &JsonSchema) -> Vec<String> {
    match RuleSet::compile(&source(text), schema, &CompileOptions::default()) {
        Ok(_) => panic!("expected compile errors"),
        Err(errors) => errors.iter().map(display_without_path).collect(),
    }
}

fn display_without_path(error: &RuleError) -> String {
    format!("{}:{}: {}", error.line, error.column, error.message)
}

/// Drives a rule set over JSON events and watermarks, collecting every match.
pub struct Runner<'a> {
    pub vocabulary: Option<Vec<String>>,
    pub rules: &'a RuleSet,
    pub paths: Vec<String>,
    pub state: RuleState,
    pub matches: Vec<Match>,
    next_uid: u64,
}

impl<'a> Runner<'a> {
    pub fn new(rules: &'a RuleSet, schema: &JsonSchema) -> Self {
        Runner {
            vocabulary: schema.vocabulary(),
            rules,
            paths: schema.paths(),
            state: RuleState::default(),
            matches: Vec::new(),
            next_uid: 0,
        }
    }

    /// Feeds one event; its uid is `e<N>` in arrival order. Returns this event's matches.
    pub fn event(&mut self, time: i64, event: serde_json::Value) -> Vec<Match> {
        self.event_with(time, event, false)
    }

    pub fn event_with(&mut self, time: i64, event: serde_json::Value, late: bool) -> Vec<Match> {
        let uid = format!("e{}", self.next_uid);
        self.next_uid += 1;
        let mut record = JsonRecord::new(&self.paths, &event);
        record.vocabulary = self.vocabulary.as_deref();
        let mut out = Vec::new();
        self.rules.on_event(
            &mut self.state,
            &Input {
                time,
                uid: &uid,
                record: &record,
                late,
            },
            &mut out,
        );
        self.matches.extend(out.iter().cloned());
        out
    }

    pub fn advance(&mut self, watermark: i64) -> Vec<Match> {
        let mut out = Vec::new();
        self.rules.advance(&mut self.state, watermark, &mut out);
        self.matches.extend(out.iter().cloned());
        out
    }

    /// Rule ids of the matches so far, in order.
    pub fn fired_ids(&self) -> Vec<String> {
        self.matches
            .iter()
            .map(|found| self.rules.rules()[found.rule].id.clone())
            .collect()
    }
}

/// Whether rule `id` (the only rule that can fire) matches one event.
pub fn matches_event(rules: &RuleSet, schema: &JsonSchema, event: serde_json::Value) -> bool {
    let mut runner = Runner::new(rules, schema);
    !runner.event(0, event).is_empty()
}
