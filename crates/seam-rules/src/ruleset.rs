//! Compiling all rule files into one [`RuleSet`], and running events and timers through it.

use std::collections::BTreeMap;

use crate::correlation::{Correlation, Evidence, MAX_WINDOW_EVENTS, Occurrence, Role, Window};
use crate::detection::Detection;
use crate::dispatch::{Dispatch, DispatchChoice, Known};
use crate::document::{
    Body, CorrelationSpec, CountOp, Identity, Named, ParsedRule, parse_document,
};
use crate::error::{Problem, RuleError};
use crate::meta::{Match, RuleKind, RuleMeta, RuleTest};
use crate::record::{FieldRef, Input, Record, Schema, Value};
use crate::state::{RuleState, push_group_value, start_key};
use crate::text::{value_to_string, with_text};
use crate::yaml::{self, Position};

/// Largest rule file accepted.
pub const MAX_FILE_BYTES: usize = 1 << 20;
/// Longest chain of correlations built on correlations.
pub const MAX_CHAIN_DEPTH: usize = 16;

/// A rule file's path (for messages) and text; the caller does the file I/O.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompileOptions {
    /// Index detection rules by the literal values they require of (or exclude from) these
    /// fields (the engine's `class`, `activity`, ...), so an event is tested only against
    /// rules that can match it. At most [`crate::MAX_DISPATCH_FIELDS`] are used; none means
    /// every rule is tried on every event, unless [`RuleSet::compile_with`] is asked to choose
    /// fields itself ([`DispatchChoice::Automatic`]).
    pub dispatch_fields: Vec<FieldRef>,
}

/// All rules, compiled once; immutable and shareable across threads.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<RuleMeta>,
    tests: Vec<RuleTest>,
    compiled: Vec<Compiled>,
    /// Indices of detection rules, ascending.
    detections: Vec<usize>,
    dispatch: Option<Dispatch>,
    /// For each rule, the correlations that read its matches, by ascending correlation index.
    consumers: Vec<Vec<Consumer>>,
}

#[derive(Debug)]
enum Compiled {
    Detection(Box<Detection>),
    Correlation(Box<Correlation>),
}

/// How a correlation reads the matches of one upstream rule.
#[derive(Debug)]
struct Consumer {
    correlation: usize,
    roles: Vec<Role>,
    group: Vec<GroupSource>,
    value: Option<GroupSource>,
}

#[derive(Debug, Clone, Copy)]
enum GroupSource {
    /// A field of the event (upstream is a detection rule).
    Field(FieldRef),
    /// A group value of the upstream correlation's match, by position.
    Upstream(usize),
}

struct Compiler<'a> {
    parsed: Vec<ParsedRule>,
    /// Every document's identity in file order, with its index in `parsed` (`None` for
    /// documents that did not compile).
    identities: Vec<(String, Identity, Option<usize>)>,
    schema: &'a dyn Schema,
    errors: Vec<RuleError>,
}

impl Compiler<'_> {
    fn error(&mut self, rule: usize, position: Position, problem: &Problem) {
        let path = self
            .parsed
            .get(rule)
            .map(|parsed| parsed.meta.path.clone())
            .unwrap_or_default();
        self.errors.push(RuleError::new(&path, position, problem));
    }
}

impl RuleSet {
    /// Parses, validates and compiles every document of every file, reporting all errors.
    /// Dispatch uses only the fields `options` names ([`DispatchChoice::Named`]).
    pub fn compile(
        files: &[SourceFile],
        schema: &dyn Schema,
        options: &CompileOptions,
    ) -> Result<RuleSet, Vec<RuleError>> {
        RuleSet::compile_with(files, schema, options, DispatchChoice::Named)
    }

    /// Like [`RuleSet::compile`], with `dispatch` saying how the dispatch fields are chosen:
    /// [`DispatchChoice::Automatic`] adds fields chosen from the rules to the named ones.
    /// Findings are the same under every choice; only the work differs.
    pub fn compile_with(
        files: &[SourceFile],
        schema: &dyn Schema,
        options: &CompileOptions,
        dispatch: DispatchChoice<'_>,
    ) -> Result<RuleSet, Vec<RuleError>> {
        let mut compiler = Compiler {
            parsed: Vec::new(),
            identities: Vec::new(),
            schema,
            errors: Vec::new(),
        };
        compiler.load(files);
        let sources = compiler.resolve_references();
        let order = compiler.check_cycles(&sources);
        let mut consumers: Vec<Vec<Consumer>> =
            (0..compiler.parsed.len()).map(|_| Vec::new()).collect();
        let mut compiled = Vec::with_capacity(compiler.parsed.len());
        for index in 0..compiler.parsed.len() {
            compiled.push(compiler.compile_rule(index, &sources, &mut consumers));
        }
        if let Some(order) = &order {
            compiler.check_depth(order, &sources);
        }
        if !compiler.errors.is_empty() {
            let mut errors = compiler.errors;
            let file_order: BTreeMap<&str, usize> = files
                .iter()
                .enumerate()
                .rev()
                .map(|(index, file)| (file.path.as_str(), index))
                .collect();
            errors.sort_by_key(|error| {
                (
                    file_order
                        .get(error.path.as_str())
                        .copied()
                        .unwrap_or(usize::MAX),
                    error.line,
                    error.column,
                )
            });
            errors.dedup();
            return Err(errors);
        }
        // With no errors every rule compiled; anything else would shift rule indices.
        let Some(compiled) = compiled.into_iter().collect::<Option<Vec<Compiled>>>() else {
            return Err(vec![RuleError::new(
                "",
                Position::default(),
                &Problem::Invalid("internal error: a rule failed without a reason".to_owned()),
            )]);
        };
        let mut rules = Vec::with_capacity(compiler.parsed.len());
        let mut tests = Vec::new();
        let generate_flags = generation(&compiler.parsed, &sources);
        for (index, parsed) in compiler.parsed.into_iter().enumerate() {
            let mut meta = parsed.meta;
            meta.generates_findings = generate_flags.get(index).copied().unwrap_or(true);
            meta.sources = sources.get(index).cloned().unwrap_or_default();
            for mut test in parsed.tests {
                test.rule = index;
                tests.push(test);
            }
            rules.push(meta);
        }
        for list in &mut consumers {
            list.sort_by_key(|consumer| consumer.correlation);
        }
        let detections: Vec<usize> = compiled
            .iter()
            .enumerate()
            .filter(|(_, rule)| matches!(rule, Compiled::Detection(_)))
            .map(|(index, _)| index)
            .collect();
        let indexed: Vec<(usize, &Detection)> = compiled
            .iter()
            .enumerate()
            .filter_map(|(index, rule)| match rule {
                Compiled::Detection(detection) => Some((index, &**detection)),
                Compiled::Correlation(_) => None,
            })
            .collect();
        let dispatch = Dispatch::build(
            &options.dispatch_fields,
            dispatch,
            compiled.len(),
            &indexed,
            &|field| schema.vocabulary(field),
        );
        let mut compiled = compiled;
        if let Some(dispatch) = &dispatch {
            for rule in &mut compiled {
                if let Compiled::Detection(detection) = rule {
                    dispatch.install_shortcuts(detection);
                }
            }
        }
        Ok(RuleSet {
            rules,
            tests,
            compiled,
            detections,
            dispatch,
            consumers,
        })
    }

    /// The fields detection rules are dispatched on, in the order they are read: the named
    /// ones that some rule tests against literals, then any chosen automatically. Empty when
    /// every rule is tried on every event.
    pub fn dispatch_fields(&self) -> Vec<FieldRef> {
        self.dispatch
            .as_ref()
            .map(Dispatch::fields)
            .unwrap_or_default()
    }

    /// Compiled rules, indexed by [`Match::rule`].
    pub fn rules(&self) -> &[RuleMeta] {
        &self.rules
    }

    /// Every rule's own test cases.
    pub fn tests(&self) -> &[RuleTest] {
        &self.tests
    }

    /// The fields a rule reads from the events it is evaluated on: a detection rule's tested
    /// fields; a correlation's group-by and value fields (read from its upstream rules'
    /// events). Keyword searches read no named field.
    pub fn fields_read(&self, rule: usize) -> Vec<FieldRef> {
        let mut fields = Vec::new();
        match self.compiled.get(rule) {
            Some(Compiled::Detection(detection)) => {
                for test in detection
                    .selections
                    .iter()
                    .flat_map(|selection| selection.branches.iter().flatten())
                {
                    if let crate::matcher::Target::Field(field) = test.target {
                        fields.push(field);
                    }
                }
            }
            Some(Compiled::Correlation(_)) => {
                for consumer in self.consumers.iter().flatten() {
                    if consumer.correlation != rule {
                        continue;
                    }
                    for source in consumer.group.iter().chain(&consumer.value) {
                        if let GroupSource::Field(field) = source {
                            fields.push(*field);
                        }
                    }
                }
            }
            None => {}
        }
        fields.sort_unstable_by_key(|field| field.0);
        fields.dedup();
        fields
    }

    /// Whether detection rule `rule` can match an event whose `field` is `value`, as far as
    /// the rule's tests of that field with plain literals tell (dispatch's answer); `true`
    /// when they do not tell, and for correlations (ask of their upstream rules).
    pub fn may_match_value(&self, rule: usize, field: FieldRef, value: &str) -> bool {
        match (&self.dispatch, self.compiled.get(rule)) {
            (Some(dispatch), Some(Compiled::Detection(_))) => {
                dispatch.admits(rule, field, value).unwrap_or(true)
            }
            _ => true,
        }
    }

    /// Index of the rule with this id.
    pub fn rule_index(&self, id: &str) -> Option<usize> {
        self.rules.iter().position(|rule| rule.id == id)
    }

    /// Runs one event through every rule that can match it; findings go to `out` in rule
    /// order (a correlation's finding right after the match that completed it). Allocates
    /// nothing when no rule matches.
    pub fn on_event<R: Record + ?Sized>(
        &self,
        state: &mut RuleState,
        input: &Input<'_, R>,
        out: &mut Vec<Match>,
    ) {
        match &self.dispatch {
            Some(dispatch) => {
                let mut scratch = std::mem::take(&mut state.dispatch_scratch);
                dispatch.candidates(input.record, &mut scratch, |rule, known| {
                    self.run_detection(rule, state, input, Some(known), out);
                });
                state.dispatch_scratch = scratch;
            }
            None => {
                for &rule in &self.detections {
                    self.run_detection(rule, state, input, None, out);
                }
            }
        }
    }

    /// Fires every timer with a deadline at or before `watermark` (window ends, absence
    /// deadlines, expiry of state that can no longer matter), in (deadline, rule, group key)
    /// order. Returns at once when nothing is due.
    pub fn advance(&self, state: &mut RuleState, watermark: i64, out: &mut Vec<Match>) {
        state.watermark = Some(
            state
                .watermark
                .map_or(watermark, |seen| seen.max(watermark)),
        );
        // A held absent-rule match at `a` can cancel nothing once the watermark passes `a`.
        state.lone_absents.forget_before(watermark);
        while let Some(timer) = state.pop_due(watermark) {
            let rule = timer.rule as usize;
            let slot = timer.slot;
            let Some(correlation) = self.correlation(rule) else {
                state.remove(slot);
                continue;
            };
            let Some(entry) = state.entry_mut(slot) else {
                continue;
            };
            if !entry.window.fits(correlation) {
                // State from other rules (a foreign snapshot): drop it.
                state.remove(slot);
                continue;
            }
            state.clear_timer(slot);
            let Some(entry) = state.entry_mut(slot) else {
                continue;
            };
            let fired = entry.window.on_timer(correlation, timer.deadline);
            let group = if fired.is_empty() {
                Vec::new()
            } else {
                state.group_values(slot)
            };
            state.reschedule(slot, correlation);
            // Every timer must move its key forward, or the loop would not end.
            if state
                .timer_of(slot)
                .is_some_and(|next| next <= timer.deadline)
            {
                state.remove(slot);
            }
            for finding in fired {
                self.emit(state, rule, group.clone(), finding, out);
            }
        }
    }

    /// The earliest pending deadline, so the caller knows when `advance` has work. A key whose
    /// deadline moved may still be reported at its older, earlier deadline: a lower bound.
    pub fn next_deadline(&self, state: &RuleState) -> Option<i64> {
        state.earliest_deadline()
    }

    fn correlation(&self, rule: usize) -> Option<&Correlation> {
        match self.compiled.get(rule) {
            Some(Compiled::Correlation(correlation)) => Some(correlation),
            _ => None,
        }
    }

    fn run_detection<R: Record + ?Sized>(
        &self,
        rule: usize,
        state: &mut RuleState,
        input: &Input<'_, R>,
        known: Option<&Known>,
        out: &mut Vec<Match>,
    ) {
        let Some(Compiled::Detection(detection)) = self.compiled.get(rule) else {
            return;
        };
        if !detection.matches(input.record, known) {
            return;
        }
        if self
            .rules
            .get(rule)
            .is_some_and(|meta| meta.generates_findings)
        {
            out.push(Match {
                rule,
                time: input.time,
                first_time: input.time,
                group: Vec::new(),
                evidence: vec![input.uid.to_owned()],
                count: 1,
                late: input.late,
            });
        }
        if input.late {
            // Late events would corrupt windows that have already moved on.
            return;
        }
        // The key is encoded into the state's reused buffer: no allocation per arrival.
        let mut key = std::mem::take(&mut state.scratch);
        for consumer in self.consumers.get(rule).map_or(&[][..], Vec::as_slice) {
            start_key(&mut key, consumer.correlation);
            // An event without a group value has no key to count under.
            let complete = consumer.group.iter().all(|source| match source {
                GroupSource::Field(field) => input
                    .record
                    .field(*field)
                    .is_some_and(|value| push_value(&mut key, &value)),
                GroupSource::Upstream(_) => false,
            });
            if !complete {
                continue;
            }
            let value = match &consumer.value {
                Some(GroupSource::Field(field)) => {
                    match input
                        .record
                        .field(*field)
                        .as_ref()
                        .and_then(value_to_string)
                    {
                        Some(value) => Some(value),
                        None => continue,
                    }
                }
                Some(GroupSource::Upstream(_)) => continue,
                None => None,
            };
            self.feed(
                state,
                consumer,
                &key,
                input.time,
                value,
                Evidence::One(input.uid),
                out,
            );
        }
        state.scratch = key;
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one arrival, passed borrowed so the hot path allocates nothing"
    )]
    fn feed(
        &self,
        state: &mut RuleState,
        consumer: &Consumer,
        key: &[u8],
        time: i64,
        value: Option<String>,
        evidence: Evidence<'_>,
        out: &mut Vec<Match>,
    ) {
        let Some(correlation) = self.correlation(consumer.correlation) else {
            return;
        };
        let mut held_absents = Vec::new();
        let existing = state.slot_of(key);
        if correlation.kind == RuleKind::Absence && existing.is_none() {
            // See `LoneAbsents`: an absent-rule match for a key without state waits apart.
            if consumer.roles.iter().all(|role| *role == Role::Absent) {
                state.lone_absents.push(key, time);
                return;
            }
            held_absents = state.lone_absents.take(key);
        }
        let slot = match existing {
            Some(slot) => slot,
            None => state.slot_for(key, || Window::new(correlation)),
        };
        let Some(entry) = state.entry_mut(slot) else {
            return;
        };
        if !entry.window.fits(correlation) {
            entry.window = Window::new(correlation);
        }
        let mut held_dropped = 0;
        for absent in held_absents {
            let (_, dropped) = entry.window.on_occurrence(
                correlation,
                Occurrence {
                    time: absent,
                    roles: &[Role::Absent],
                    value: None,
                    evidence: Evidence::Many(&[]),
                },
            );
            held_dropped += dropped;
        }
        state.dropped = state.dropped.saturating_add(held_dropped);
        let Some(entry) = state.entry_mut(slot) else {
            return;
        };
        let (fired, dropped) = entry.window.on_occurrence(
            correlation,
            Occurrence {
                time,
                roles: &consumer.roles,
                value,
                evidence,
            },
        );
        state.dropped = state.dropped.saturating_add(dropped);
        let group = fired.as_ref().map(|_| state.group_values(slot));
        state.reschedule(slot, correlation);
        if let (Some(finding), Some(group)) = (fired, group) {
            self.emit(state, consumer.correlation, group, finding, out);
        }
    }

    /// Outputs a correlation's finding (if it generates findings) and passes it on to the
    /// correlations chained on it.
    fn emit(
        &self,
        state: &mut RuleState,
        rule: usize,
        group_values: Vec<String>,
        finding: crate::correlation::Fired,
        out: &mut Vec<Match>,
    ) {
        let Some(correlation) = self.correlation(rule) else {
            return;
        };
        let found = Match {
            rule,
            time: finding.time,
            first_time: finding.first_time,
            group: correlation
                .group_names
                .iter()
                .cloned()
                .zip(group_values)
                .collect(),
            evidence: finding.evidence,
            count: finding.count,
            late: false,
        };
        // Upstream findings come before the downstream ones they cause.
        if self
            .rules
            .get(rule)
            .is_some_and(|meta| meta.generates_findings)
        {
            out.push(found.clone());
        }
        // Findings of correlations are rare: a fresh buffer here keeps the recursion simple.
        let mut key = Vec::new();
        for consumer in self.consumers.get(rule).map_or(&[][..], Vec::as_slice) {
            let read = |source: &GroupSource| match source {
                GroupSource::Upstream(position) => {
                    found.group.get(*position).map(|(_, value)| value.as_str())
                }
                GroupSource::Field(_) => None,
            };
            start_key(&mut key, consumer.correlation);
            let complete = consumer.group.iter().all(|source| match read(source) {
                Some(value) => {
                    push_group_value(&mut key, value);
                    true
                }
                None => false,
            });
            if !complete {
                continue;
            }
            let value = match &consumer.value {
                Some(source) => match read(source) {
                    Some(value) => Some(value.to_owned()),
                    None => continue,
                },
                None => None,
            };
            self.feed(
                state,
                consumer,
                &key,
                found.time,
                value,
                Evidence::Many(&found.evidence),
                out,
            );
        }
    }
}

/// Appends a field's value to a key as its group value would read (see `value_to_string`:
/// text as is, lists joined with commas); `false` when it has none (null, an empty list).
fn push_value(key: &mut Vec<u8>, value: &Value<'_>) -> bool {
    match value {
        Value::Str(text) => {
            push_group_value(key, text);
            true
        }
        Value::Owned(text) => {
            push_group_value(key, text);
            true
        }
        Value::List(_) => match value_to_string(value) {
            Some(text) => {
                push_group_value(key, &text);
                true
            }
            None => false,
        },
        other => with_text(other, |text| push_group_value(key, text)).is_some(),
    }
}

/// Sigma: a rule referenced by correlations generates its own findings only if one of them
/// says `generate: true`; rules nobody references always do.
fn generation(parsed: &[ParsedRule], sources: &[Vec<usize>]) -> Vec<bool> {
    let mut referenced = vec![false; parsed.len()];
    let mut generate = vec![false; parsed.len()];
    for (index, rule) in parsed.iter().enumerate() {
        let Body::Correlation(spec) = &rule.body else {
            continue;
        };
        for &source in sources.get(index).map_or(&[][..], Vec::as_slice) {
            if let Some(flag) = referenced.get_mut(source) {
                *flag = true;
            }
            if spec.generate
                && let Some(flag) = generate.get_mut(source)
            {
                *flag = true;
            }
        }
    }
    referenced
        .iter()
        .zip(&generate)
        .map(|(referenced, generate)| !referenced || *generate)
        .collect()
}

impl Compiler<'_> {
    /// Parses every document of every file, compiling detections on the way.
    fn load(&mut self, files: &[SourceFile]) {
        for file in files {
            if file.text.len() > MAX_FILE_BYTES {
                self.errors.push(RuleError::new(
                    &file.path,
                    Position { line: 1, column: 1 },
                    &Problem::FileTooLarge {
                        limit: MAX_FILE_BYTES,
                    },
                ));
                continue;
            }
            let documents = match yaml::load_documents(&file.text) {
                Ok(documents) => documents,
                Err(error) => {
                    self.errors
                        .push(RuleError::new(&file.path, error.position, &error.problem));
                    continue;
                }
            };
            for document in &documents {
                match parse_document(document, &file.path, self.schema) {
                    Ok(rule) => {
                        self.identities.push((
                            file.path.clone(),
                            rule.identity.clone(),
                            Some(self.parsed.len()),
                        ));
                        self.parsed.push(rule);
                    }
                    Err(rejected) => {
                        if let Some(identity) = rejected.identity {
                            self.identities.push((file.path.clone(), identity, None));
                        }
                        self.errors.extend(rejected.problems.iter().map(|located| {
                            RuleError::new(&file.path, located.position, &located.problem)
                        }));
                    }
                }
            }
        }
    }

    /// Checks ids and names are unique and resolves every correlation's references; returns
    /// each rule's sources (members then absent rules, as written).
    fn resolve_references(&mut self) -> Vec<Vec<usize>> {
        // Identity index -> first definition; references resolve to `Some(rule)` or, for a
        // rule that did not compile, to `None` (its errors are reported already).
        let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
        let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
        let mut problems = Vec::new();
        let mut duplicates = Vec::new();
        for (entry, (path, identity, _)) in self.identities.iter().enumerate() {
            let first_location = |first: usize, named: fn(&Identity) -> Option<&Named>| {
                self.identities
                    .get(first)
                    .and_then(|(first_path, first_identity, _)| {
                        named(first_identity).map(|at| {
                            format!("{first_path}:{}:{}", at.position.line, at.position.column)
                        })
                    })
                    .unwrap_or_default()
            };
            match by_id.get(&identity.id.name) {
                Some(&first) => duplicates.push((
                    path.clone(),
                    identity.id.position,
                    Problem::DuplicateId {
                        id: identity.id.name.clone(),
                        first: first_location(first, |identity| Some(&identity.id)),
                    },
                )),
                None => {
                    by_id.insert(identity.id.name.clone(), entry);
                }
            }
            if let Some(name) = &identity.name {
                match by_name.get(&name.name) {
                    Some(&first) => duplicates.push((
                        path.clone(),
                        name.position,
                        Problem::DuplicateName {
                            name: name.name.clone(),
                            first: first_location(first, |identity| identity.name.as_ref()),
                        },
                    )),
                    None => {
                        by_name.insert(name.name.clone(), entry);
                    }
                }
            }
        }
        for (path, position, problem) in duplicates {
            self.errors.push(RuleError::new(&path, position, &problem));
        }
        let target_of = |entry: usize| self.identities.get(entry).and_then(|(_, _, rule)| *rule);
        let mut sources = vec![Vec::new(); self.parsed.len()];
        for (index, rule) in self.parsed.iter().enumerate() {
            let Body::Correlation(spec) = &rule.body else {
                continue;
            };
            let mut resolved = Vec::new();
            for reference in spec.rules.iter().chain(&spec.absent) {
                // Sigma correlations reference rules by name; ids work too.
                match by_name
                    .get(&reference.name)
                    .or_else(|| by_id.get(&reference.name))
                {
                    Some(&entry) => {
                        if let Some(target) = target_of(entry) {
                            resolved.push(target);
                        }
                    }
                    None => problems.push((
                        index,
                        reference.position,
                        Problem::UnknownReference(reference.name.clone()),
                    )),
                }
            }
            if let Some(list) = sources.get_mut(index) {
                *list = resolved;
            }
        }
        for (rule, position, problem) in problems {
            self.error(rule, position, &problem);
        }
        sources
    }

    /// Reports reference cycles; returns the rules in dependency order (sources first) when
    /// there are none.
    fn check_cycles(&mut self, sources: &[Vec<usize>]) -> Option<Vec<usize>> {
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        let mut marks = vec![Mark::New; self.parsed.len()];
        let mut order = Vec::with_capacity(self.parsed.len());
        let mut cycles = Vec::new();
        for root in 0..self.parsed.len() {
            if marks.get(root) != Some(&Mark::New) {
                continue;
            }
            // Iterative depth-first search: (rule, next source to visit).
            let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
            if let Some(mark) = marks.get_mut(root) {
                *mark = Mark::Open;
            }
            while let Some(&(rule, next)) = stack.last() {
                let edges = sources.get(rule).map_or(&[][..], Vec::as_slice);
                match edges.get(next) {
                    Some(&target) => {
                        if let Some(top) = stack.last_mut() {
                            top.1 += 1;
                        }
                        match marks.get(target) {
                            Some(Mark::New) => {
                                if let Some(mark) = marks.get_mut(target) {
                                    *mark = Mark::Open;
                                }
                                stack.push((target, 0));
                            }
                            Some(Mark::Open) => {
                                let start = stack
                                    .iter()
                                    .position(|(open, _)| *open == target)
                                    .unwrap_or(0);
                                let mut path: Vec<usize> =
                                    stack.iter().skip(start).map(|(open, _)| *open).collect();
                                path.push(target);
                                cycles.push((rule, next, path));
                            }
                            _ => {}
                        }
                    }
                    None => {
                        if let Some(mark) = marks.get_mut(rule) {
                            *mark = Mark::Done;
                        }
                        order.push(rule);
                        stack.pop();
                    }
                }
            }
        }
        if cycles.is_empty() {
            return Some(order);
        }
        for (rule, edge, path) in cycles {
            let position = self.reference_position(rule, edge);
            let names: Vec<String> = path
                .iter()
                .filter_map(|index| {
                    self.parsed
                        .get(*index)
                        .map(|parsed| display_name(&parsed.meta))
                })
                .collect();
            self.error(rule, position, &Problem::ReferenceCycle(names.join(" -> ")));
        }
        None
    }

    fn reference_position(&self, rule: usize, edge: usize) -> Position {
        match self.parsed.get(rule).map(|parsed| &parsed.body) {
            Some(Body::Correlation(spec)) => spec
                .rules
                .iter()
                .chain(&spec.absent)
                .nth(edge)
                .map_or(spec.position, |named| named.position),
            _ => Position::default(),
        }
    }

    fn check_depth(&mut self, order: &[usize], sources: &[Vec<usize>]) {
        let mut depth = vec![0usize; self.parsed.len()];
        for &rule in order {
            if !matches!(
                self.parsed.get(rule).map(|parsed| &parsed.body),
                Some(Body::Correlation(_))
            ) {
                continue;
            }
            let deepest = sources
                .get(rule)
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .filter_map(|source| depth.get(*source).copied())
                .max()
                .unwrap_or(0);
            let own = deepest + 1;
            if let Some(slot) = depth.get_mut(rule) {
                *slot = own;
            }
            if own > MAX_CHAIN_DEPTH {
                let position = match self.parsed.get(rule).map(|parsed| &parsed.body) {
                    Some(Body::Correlation(spec)) => spec.position,
                    _ => Position::default(),
                };
                self.error(rule, position, &Problem::ChainTooDeep(MAX_CHAIN_DEPTH));
            }
        }
    }

    /// Compiles rule `index`, registering correlations with the rules they read.
    fn compile_rule(
        &mut self,
        index: usize,
        sources: &[Vec<usize>],
        consumers: &mut [Vec<Consumer>],
    ) -> Option<Compiled> {
        let body = self.parsed.get(index).map(|parsed| parsed.body.clone())?;
        match body {
            Body::Detection(detection) => Some(Compiled::Detection(detection)),
            Body::Correlation(spec) => {
                let resolved = sources.get(index).cloned().unwrap_or_default();
                if resolved.len() != spec.rules.len() + spec.absent.len() {
                    // Some reference did not resolve; already reported.
                    return None;
                }
                self.compile_correlation(index, &spec, &resolved, consumers)
                    .map(|correlation| Compiled::Correlation(Box::new(correlation)))
            }
        }
    }

    fn compile_correlation(
        &mut self,
        index: usize,
        spec: &CorrelationSpec,
        resolved: &[usize],
        consumers: &mut [Vec<Consumer>],
    ) -> Option<Correlation> {
        let errors_before = self.errors.len();
        let (members, absent) = resolved.split_at(spec.rules.len());
        // Repeats only make sense as steps of a sequence.
        if spec.kind != RuleKind::TemporalOrdered {
            for (position, member) in members.iter().enumerate() {
                if members
                    .get(..position)
                    .is_some_and(|before| before.contains(member))
                {
                    let at = spec
                        .rules
                        .get(position)
                        .map_or(spec.position, |named| named.position);
                    self.error(index, at, &Problem::Invalid("rule listed twice".to_owned()));
                }
            }
        }
        for (position, target) in absent.iter().enumerate() {
            if members.contains(target) {
                let at = spec
                    .absent
                    .get(position)
                    .map_or(spec.position, |named| named.position);
                self.error(
                    index,
                    at,
                    &Problem::Invalid("a rule cannot be both a trigger and absent".to_owned()),
                );
            }
        }
        let thresholds_ok = self.check_thresholds(index, spec);
        // Aliases: alias name -> [(source rule, field)].
        let mut aliases: BTreeMap<&str, Vec<(usize, &Named)>> = BTreeMap::new();
        for alias in &spec.aliases {
            let used = spec
                .group_by
                .iter()
                .any(|named| named.name == alias.name.name)
                || spec
                    .value_field
                    .as_ref()
                    .is_some_and(|named| named.name == alias.name.name);
            if !used {
                self.error(
                    index,
                    alias.name.position,
                    &Problem::Invalid(format!(
                        "alias `{}` is not used by `group-by` or the condition's `field`",
                        alias.name.name
                    )),
                );
            }
            for (reference, field) in &alias.fields {
                let target = spec
                    .rules
                    .iter()
                    .chain(&spec.absent)
                    .zip(resolved)
                    .find(|(named, _)| named.name == reference.name)
                    .map(|(_, target)| *target)
                    .or_else(|| {
                        // The alias may name the rule by its id or name even if `rules` used the other.
                        resolved.iter().copied().find(|target| {
                            self.parsed.get(*target).is_some_and(|parsed| {
                                parsed.meta.id == reference.name
                                    || parsed.meta.name.as_deref() == Some(reference.name.as_str())
                            })
                        })
                    });
                match target {
                    Some(target) => aliases
                        .entry(alias.name.name.as_str())
                        .or_default()
                        .push((target, field)),
                    None => self.error(
                        index,
                        reference.position,
                        &Problem::Invalid(format!(
                            "alias refers to `{}`, which this correlation does not use",
                            reference.name
                        )),
                    ),
                }
            }
        }
        // One consumer per distinct source rule.
        let mut distinct: Vec<usize> = Vec::new();
        for target in resolved {
            if !distinct.contains(target) {
                distinct.push(*target);
            }
        }
        let mut new_consumers = Vec::new();
        for source in distinct {
            let mut roles: Vec<Role> = members
                .iter()
                .enumerate()
                .filter(|(_, member)| **member == source)
                .map(|(position, _)| Role::Member(position))
                .collect();
            if absent.contains(&source) {
                roles.push(Role::Absent);
            }
            let mut group = Vec::with_capacity(spec.group_by.len());
            for named in &spec.group_by {
                if let Some(group_source) = self.group_source(index, source, named, &aliases) {
                    group.push(group_source);
                }
            }
            let value = match &spec.value_field {
                Some(named) if roles.iter().any(|role| matches!(role, Role::Member(_))) => {
                    self.group_source(index, source, named, &aliases)
                }
                _ => None,
            };
            new_consumers.push((
                source,
                Consumer {
                    correlation: index,
                    roles,
                    group,
                    value,
                },
            ));
        }
        if self.errors.len() != errors_before || !thresholds_ok {
            return None;
        }
        for (source, consumer) in new_consumers {
            if let Some(list) = consumers.get_mut(source) {
                list.push(consumer);
            }
        }
        let at_window_end = matches!(spec.kind, RuleKind::EventCount | RuleKind::ValueCount)
            && spec
                .conditions
                .iter()
                .any(|(operator, _)| operator.needs_window_end());
        Some(Correlation {
            kind: spec.kind,
            span: spec.timespan_ms,
            group_names: spec
                .group_by
                .iter()
                .map(|named| named.name.clone())
                .collect(),
            conditions: spec.conditions.clone(),
            at_window_end,
            members: spec.rules.len(),
        })
    }

    fn check_thresholds(&mut self, index: usize, spec: &CorrelationSpec) -> bool {
        let mut ok = true;
        let limit = u64::try_from(MAX_WINDOW_EVENTS).unwrap_or(u64::MAX);
        for (operator, threshold) in &spec.conditions {
            let reach = match operator {
                CountOp::Gt => threshold.saturating_add(1),
                CountOp::Gte => *threshold,
                _ => continue,
            };
            let members = u64::try_from(spec.rules.len()).unwrap_or(u64::MAX);
            let problem = if spec.kind == RuleKind::Temporal && reach > members {
                Some(format!(
                    "the condition needs more rules than the {members} listed"
                ))
            } else if reach > limit && !spec.kind.is_value_statistic() {
                // A sum's, mean's or median's threshold is in the field's unit (bytes), not in
                // events.
                Some(format!("thresholds above {limit} events are not supported"))
            } else {
                None
            };
            if let Some(message) = problem {
                self.error(index, spec.position, &Problem::Invalid(message));
                ok = false;
            }
        }
        ok
    }

    /// Where a correlation finds the value of `named` (a group-by name or the counted field)
    /// in the matches of `source`.
    fn group_source(
        &mut self,
        index: usize,
        source: usize,
        named: &Named,
        aliases: &BTreeMap<&str, Vec<(usize, &Named)>>,
    ) -> Option<GroupSource> {
        let (field_name, position) = aliases
            .get(named.name.as_str())
            .and_then(|fields| fields.iter().find(|(target, _)| *target == source))
            .map_or((named.name.as_str(), named.position), |(_, field)| {
                (field.name.as_str(), field.position)
            });
        let field_name = field_name.to_owned();
        let upstream = self.parsed.get(source)?;
        match &upstream.body {
            Body::Detection(_) => match self.schema.resolve(&field_name) {
                Ok(field) => Some(GroupSource::Field(field)),
                Err(reason) => {
                    self.error(
                        index,
                        position,
                        &Problem::UnknownField {
                            name: field_name,
                            reason,
                        },
                    );
                    None
                }
            },
            Body::Correlation(upstream_spec) => {
                match upstream_spec
                    .group_by
                    .iter()
                    .position(|group| group.name == field_name)
                {
                    Some(position_in_group) => Some(GroupSource::Upstream(position_in_group)),
                    None => {
                        let upstream_name = display_name(&upstream.meta);
                        self.error(
                            index,
                            position,
                            &Problem::Invalid(format!(
                                "rule `{upstream_name}` does not group by `{field_name}`"
                            )),
                        );
                        None
                    }
                }
            }
        }
    }
}

fn display_name(meta: &RuleMeta) -> String {
    meta.name.clone().unwrap_or_else(|| meta.id.clone())
}
