//! Rule dispatch: which detection rules an event can possibly match, from a few fields read
//! once per event.
//!
//! For each dispatch field (the engine's `class`, `activity`, `outcome`, ...) compilation works
//! out, per rule, the values under which the rule's condition can still be true: a set the
//! field must be in (`class: physical_access`), a set it must not be in
//! (`not door_use` where `door_use` is `activity: [door_used, door_not_used]`), or no
//! constraint. Those become one bit set per value: the rules it lets through. An event's
//! candidates are the intersection over the dispatch fields, visited in ascending rule order, so
//! findings come out exactly as if every rule had been tried.
//!
//! Only equality with plain literals is used: text (case-insensitive, as Sigma compares) and
//! integers (`ResultType: 50057`, which the matcher compares numerically, numeric strings
//! included). The values of a field are split into *atoms*, one per text literal, one per
//! integer literal and one for everything else, such that every value falls in exactly one
//! atom and every literal test accepts whole atoms; constraints are then sets of atoms, and
//! `and`, `or` and `not` combine them exactly. Values dispatch cannot place (lists) let every
//! rule through. The differential tests compare this against trying every rule on every event.
//!
//! The fields are named by the caller, chosen automatically from the rules
//! ([`DispatchChoice::Automatic`]), or both.

use std::collections::{BTreeMap, BTreeSet};

use crate::condition::Cond;
use crate::detection::{Detection, Selection};
use crate::matcher::{Combine, FieldTest, Number, Shortcut, Target, ValueTest};
use crate::record::{FieldRef, Record, Value, Word};
use crate::text::{fold_str, with_text};

/// Most dispatch fields: room for a caller's own (the engine names eight) and for fields chosen
/// automatically. A field that matters to none of an event's remaining candidates is not read,
/// so a field only some events need costs the others next to nothing.
pub const MAX_DISPATCH_FIELDS: usize = 12;

/// How the fields rules are dispatched on are chosen (see [`crate::RuleSet::compile_with`]).
#[derive(Clone, Copy, Default)]
pub enum DispatchChoice<'a> {
    /// Only the fields named in [`crate::CompileOptions::dispatch_fields`]; none means every
    /// rule is tried on every event.
    #[default]
    Named,
    /// The named fields first, then fields chosen from the compiled detection rules: those
    /// that many rules require to equal literals, best split first, up to
    /// [`MAX_DISPATCH_FIELDS`] in all.
    Automatic,
    /// Like [`DispatchChoice::Automatic`], choosing only among the fields the function accepts
    /// (for instance those that are cheap to read).
    AutomaticAmong(&'a dyn Fn(FieldRef) -> bool),
}

impl std::fmt::Debug for DispatchChoice<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DispatchChoice::Named => formatter.write_str("Named"),
            DispatchChoice::Automatic => formatter.write_str("Automatic"),
            DispatchChoice::AutomaticAmong(_) => formatter.write_str("AutomaticAmong(..)"),
        }
    }
}

/// Smallest expected number of rules a chosen field must rule out per event to be worth
/// reading (see [`choose`]).
const MIN_GAIN: f64 = 1.0;

/// Integers of smaller magnitude are exact as floats, so the matcher's integer and float
/// comparisons agree on them; larger integer literals are not indexed.
const EXACT_INTEGERS: u64 = 1 << 53;

/// A literal a field test compares the whole value with.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Literal {
    /// Case-insensitive text, folded.
    Text(String),
    /// A number written as a number (`ResultType: 50057`) with an integer value.
    Integer(i64),
}

/// The integer a number equals, when it is one dispatch indexes.
fn integer_key(number: Number) -> Option<i64> {
    match number {
        Number::Int(int) => (int.unsigned_abs() < EXACT_INTEGERS).then_some(int),
        Number::Float(float) => {
            #[expect(clippy::cast_precision_loss, reason = "2^53 is exact as a float")]
            let limit = EXACT_INTEGERS as f64;
            // `fract` of an infinity or NaN is NaN, so those are left out here.
            #[expect(
                clippy::cast_possible_truncation,
                reason = "an integral float below 2^53 converts exactly"
            )]
            let int = float as i64;
            (float.fract() == 0.0 && float.abs() < limit).then_some(int)
        }
    }
}

/// The literal one value test compares the whole field with, if it is that simple.
fn literal_of(test: &ValueTest) -> Option<Literal> {
    if let Some(text) = test.exact_literal() {
        return Some(Literal::Text(text.to_owned()));
    }
    match test {
        ValueTest::Number(number) => integer_key(*number).map(Literal::Integer),
        _ => None,
    }
}

/// The literals a field test requires the field to equal (any one of them), or `None` when
/// the test is not that simple. `|all` is indexed for text only: there every value must hold,
/// so the field must be in each value's set.
fn literals_of_test(test: &FieldTest) -> Option<Vec<Literal>> {
    match &test.combine {
        Combine::AnyOf(tests) => tests.iter().map(literal_of).collect(),
        Combine::AllOf(_) => test
            .required_literals()
            .map(|texts| texts.into_iter().map(Literal::Text).collect()),
    }
}

/// The tests of `field` against literals in one detection.
fn literal_tests(
    detection: &Detection,
    field: FieldRef,
) -> impl Iterator<Item = (&FieldTest, Vec<Literal>)> {
    detection
        .selections
        .iter()
        .flat_map(|selection| selection.branches.iter().flatten())
        .filter(move |test| test.target == Target::Field(field))
        .filter_map(|test| literals_of_test(test).map(|literals| (test, literals)))
}

/// The values of one field told apart by dispatch. Atom `i < texts.len()` holds the values
/// whose text folds to `texts[i]`; the next `integers.len()` atoms the other values equal to
/// an integer literal; the last, [`Atoms::other`], everything else, the missing value
/// included.
#[derive(Clone, Debug)]
struct Atoms {
    /// Folded text literals, ascending, each with the integer atom its text reads as (`"50057"`
    /// equals `50057`), if that integer is a literal too.
    texts: Vec<(String, Option<usize>)>,
    /// Integer literals, ascending.
    integers: Vec<i64>,
}

impl Atoms {
    fn new(literals: &BTreeSet<Literal>) -> Atoms {
        let mut texts = Vec::new();
        let mut integers = Vec::new();
        for literal in literals {
            match literal {
                Literal::Text(text) => texts.push(text.clone()),
                Literal::Integer(int) => integers.push(*int),
            }
        }
        let first_integer = texts.len();
        let texts = texts
            .into_iter()
            .map(|text| {
                let reads_as = Number::parse(&text)
                    .and_then(integer_key)
                    .and_then(|int| integers.binary_search(&int).ok())
                    .map(|position| first_integer + position);
                (text, reads_as)
            })
            .collect();
        Atoms { texts, integers }
    }

    /// The atom of every value no literal names.
    fn other(&self) -> usize {
        self.texts.len() + self.integers.len()
    }

    /// Adds the atoms whose values equal `literal` as the matcher compares; `false` when the
    /// literal is not one of the field's.
    fn of_literal(&self, literal: &Literal, atoms: &mut BTreeSet<usize>) -> bool {
        match literal {
            Literal::Text(text) => {
                let Ok(position) = self
                    .texts
                    .binary_search_by(|(known, _)| known.as_str().cmp(text))
                else {
                    return false;
                };
                atoms.insert(position);
            }
            Literal::Integer(int) => {
                let Ok(position) = self.integers.binary_search(int) else {
                    return false;
                };
                let atom = self.texts.len() + position;
                atoms.insert(atom);
                // Texts that read as this number equal it too.
                atoms.extend(
                    self.texts
                        .iter()
                        .enumerate()
                        .filter(|(_, (_, reads_as))| *reads_as == Some(atom))
                        .map(|(text_atom, _)| text_atom),
                );
            }
        }
        true
    }

    /// The atoms a field test accepts, or `None` when it is not a test against literals (or
    /// names one the atoms were not built from).
    fn of_test(&self, test: &FieldTest) -> Option<BTreeSet<usize>> {
        let mut atoms = BTreeSet::new();
        for literal in literals_of_test(test)? {
            if !self.of_literal(&literal, &mut atoms) {
                return None;
            }
        }
        Some(atoms)
    }
}

/// The atoms of one field under which a condition can be true. The `other` atom is never in
/// a set, so it is outside every `In` and inside every `NotIn`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Allowed {
    Any,
    In(BTreeSet<usize>),
    NotIn(BTreeSet<usize>),
}

impl Allowed {
    fn admits(&self, atom: usize) -> bool {
        match self {
            Allowed::Any => true,
            Allowed::In(set) => set.contains(&atom),
            Allowed::NotIn(set) => !set.contains(&atom),
        }
    }

    fn and(self, other: Allowed) -> Allowed {
        match (self, other) {
            (Allowed::Any, other) | (other, Allowed::Any) => other,
            (Allowed::In(left), Allowed::In(right)) => {
                Allowed::In(left.intersection(&right).copied().collect())
            }
            (Allowed::In(within), Allowed::NotIn(without))
            | (Allowed::NotIn(without), Allowed::In(within)) => {
                Allowed::In(within.difference(&without).copied().collect())
            }
            (Allowed::NotIn(mut left), Allowed::NotIn(right)) => {
                left.extend(right);
                Allowed::NotIn(left)
            }
        }
    }

    fn or(self, other: Allowed) -> Allowed {
        match (self, other) {
            (Allowed::Any, _) | (_, Allowed::Any) => Allowed::Any,
            (Allowed::In(mut left), Allowed::In(right)) => {
                left.extend(right);
                Allowed::In(left)
            }
            (Allowed::In(within), Allowed::NotIn(without))
            | (Allowed::NotIn(without), Allowed::In(within)) => {
                Allowed::NotIn(without.difference(&within).copied().collect())
            }
            (Allowed::NotIn(left), Allowed::NotIn(right)) => {
                Allowed::NotIn(left.intersection(&right).copied().collect())
            }
        }
    }

    fn not(self) -> Allowed {
        match self {
            // `Any` as an exact description would be "always true"; never produced as exact.
            Allowed::Any => Allowed::Any,
            Allowed::In(set) => Allowed::NotIn(set),
            Allowed::NotIn(set) => Allowed::In(set),
        }
    }

    /// The share of a field's `atoms` atoms (the `other` one included) this lets through.
    #[expect(
        clippy::cast_precision_loss,
        reason = "atom counts are below 256: exact as floats"
    )]
    fn share(&self, atoms: usize) -> f64 {
        let atoms = atoms.max(1) as f64;
        match self {
            Allowed::Any => 1.0,
            Allowed::In(set) => set.len() as f64 / atoms,
            Allowed::NotIn(set) => 1.0 - set.len() as f64 / atoms,
        }
    }
}

/// What a condition says about one field: values under which it can hold, and whether that
/// is exact (the condition holds precisely for those values, whatever the other fields), which
/// is what lets `not` be turned into a constraint.
#[derive(Clone, Debug)]
struct Constraint {
    allowed: Allowed,
    exact: bool,
}

impl Constraint {
    const ANY: Constraint = Constraint {
        allowed: Allowed::Any,
        exact: false,
    };
}

/// Where constraints on one field are worked out: the field and its atoms.
#[derive(Clone, Copy)]
struct Scope<'a> {
    field: FieldRef,
    atoms: &'a Atoms,
}

fn of_condition(condition: &Cond, selections: &[Selection], scope: Scope<'_>) -> Constraint {
    match condition {
        Cond::Selection(index) => selections
            .get(*index)
            .map_or(Constraint::ANY, |selection| of_selection(selection, scope)),
        Cond::Not(inner) => {
            let inner = of_condition(inner, selections, scope);
            if inner.exact {
                Constraint {
                    allowed: inner.allowed.not(),
                    exact: true,
                }
            } else {
                Constraint::ANY
            }
        }
        Cond::And(terms) => {
            let mut allowed = Allowed::Any;
            let mut exact = true;
            for term in terms {
                let term = of_condition(term, selections, scope);
                exact &= term.exact;
                allowed = allowed.and(term.allowed);
            }
            Constraint {
                allowed,
                exact: exact && !terms.is_empty(),
            }
        }
        Cond::Or(terms) => combine_or(terms.iter(), selections, scope, true),
        // At least one of the terms holds, but which ones is not exact.
        Cond::AtLeast(_, terms) => combine_or(terms.iter(), selections, scope, false),
    }
}

fn combine_or<'a>(
    terms: impl Iterator<Item = &'a Cond>,
    selections: &[Selection],
    scope: Scope<'_>,
    can_be_exact: bool,
) -> Constraint {
    let mut allowed: Option<Allowed> = None;
    let mut exact = can_be_exact;
    for term in terms {
        let term = of_condition(term, selections, scope);
        exact &= term.exact;
        allowed = Some(match allowed {
            None => term.allowed,
            Some(previous) => previous.or(term.allowed),
        });
    }
    match allowed {
        Some(allowed) => Constraint { allowed, exact },
        None => Constraint::ANY,
    }
}

/// A selection holds if any branch holds; a branch if all its field tests do.
fn of_selection(selection: &Selection, scope: Scope<'_>) -> Constraint {
    let mut allowed: Option<Allowed> = None;
    let mut exact = true;
    for branch in &selection.branches {
        let mut branch_allowed = Allowed::Any;
        // Exact when every test of the branch is a literal set on this field.
        let mut branch_exact = !branch.is_empty();
        for test in branch {
            let atoms = (test.target == Target::Field(scope.field))
                .then(|| scope.atoms.of_test(test))
                .flatten();
            match atoms {
                Some(atoms) => branch_allowed = branch_allowed.and(Allowed::In(atoms)),
                None => branch_exact = false,
            }
        }
        exact &= branch_exact;
        allowed = Some(match allowed {
            None => branch_allowed,
            Some(previous) => previous.or(branch_allowed),
        });
    }
    match allowed {
        Some(allowed) => Constraint { allowed, exact },
        None => Constraint::ANY,
    }
}

/// What dispatch on one field would do: its atoms, and the rules it matters to.
#[derive(Debug)]
struct Plan {
    field: FieldRef,
    atoms: Atoms,
    /// Rules the field constrains, ascending, with the atoms under which each can match;
    /// every other rule can match under any value.
    constrained: Vec<(usize, Allowed)>,
    /// Rules that test the field against literals (their tests may take shortcuts).
    testing: BTreeSet<usize>,
}

impl Plan {
    /// `None` when reading the field would gain nothing, or it has too many literals.
    fn new(field: FieldRef, detections: &[(usize, &Detection)]) -> Option<Plan> {
        let mut literals = BTreeSet::new();
        let mut testing = BTreeSet::new();
        for (rule, detection) in detections {
            for (_, found) in literal_tests(detection, field) {
                literals.extend(found);
                testing.insert(*rule);
            }
        }
        // Atom ids are `u8`, with `UNKNOWN` kept apart: at most 254 literals and `other`.
        if literals.is_empty() || literals.len() >= usize::from(UNKNOWN) {
            return None;
        }
        let atoms = Atoms::new(&literals);
        let scope = Scope {
            field,
            atoms: &atoms,
        };
        // A rule with no literal test of the field can match under any value of it.
        let constrained = detections
            .iter()
            .filter(|(rule, _)| testing.contains(rule))
            .map(|(rule, detection)| {
                let constraint = of_condition(&detection.condition, &detection.selections, scope);
                (*rule, constraint.allowed)
            })
            .filter(|(_, allowed)| *allowed != Allowed::Any)
            .collect();
        Some(Plan {
            field,
            atoms,
            constrained,
            testing,
        })
    }

    /// Number of atoms, `other` included.
    fn atom_count(&self) -> usize {
        self.atoms.other() + 1
    }
}

/// The dispatch fields: the named ones (in order, duplicates and useless ones left out), then
/// with `automatic` those chosen from the rules, up to [`MAX_DISPATCH_FIELDS`].
///
/// The choice is greedy. Each rule has an estimated chance of still being a candidate after
/// the fields chosen so far, taking every atom of a field as equally likely (for a rule that
/// requires one of 2 values of a field with 10 literals, 2 in 11). The next field is the one
/// that rules out most rules in expectation (the sum over rules of that chance times the share
/// of the field's atoms that rule the rule out); ties go to the field more rules are
/// constrained by, then the lower field handle. Choice stops when the best field would rule
/// out less than [`MIN_GAIN`] rules per event.
fn choose(
    named: &[FieldRef],
    automatic: Option<&dyn Fn(FieldRef) -> bool>,
    rules: usize,
    detections: &[(usize, &Detection)],
) -> Vec<Plan> {
    let mut chosen: Vec<Plan> = Vec::new();
    let mut seen = BTreeSet::new();
    for &field in named {
        if chosen.len() == MAX_DISPATCH_FIELDS {
            return chosen;
        }
        if seen.insert(field)
            && let Some(plan) = Plan::new(field, detections)
        {
            chosen.push(plan);
        }
    }
    let Some(eligible) = automatic else {
        return chosen;
    };
    let mut fields = BTreeSet::new();
    for (_, detection) in detections {
        for test in detection
            .selections
            .iter()
            .flat_map(|selection| selection.branches.iter().flatten())
        {
            if let Target::Field(field) = test.target
                && !seen.contains(&field)
                && literals_of_test(test).is_some()
            {
                fields.insert(field);
            }
        }
    }
    let mut candidates: BTreeMap<FieldRef, Plan> = fields
        .into_iter()
        .filter(|field| eligible(*field))
        .filter_map(|field| Some((field, Plan::new(field, detections)?)))
        .filter(|(_, plan)| !plan.constrained.is_empty())
        .collect();
    let mut survival = vec![1.0_f64; rules];
    let narrow = |survival: &mut Vec<f64>, plan: &Plan| {
        for (rule, allowed) in &plan.constrained {
            if let Some(chance) = survival.get_mut(*rule) {
                *chance *= allowed.share(plan.atom_count());
            }
        }
    };
    for plan in &chosen {
        narrow(&mut survival, plan);
    }
    while chosen.len() < MAX_DISPATCH_FIELDS {
        let gain = |plan: &Plan| -> f64 {
            plan.constrained
                .iter()
                .map(|(rule, allowed)| {
                    survival.get(*rule).copied().unwrap_or(0.0)
                        * (1.0 - allowed.share(plan.atom_count()))
                })
                .sum()
        };
        // Ascending field order, and only a strictly better field replaces the best so far:
        // ties go to the lower handle.
        let mut best: Option<(f64, usize, FieldRef)> = None;
        for (field, plan) in &candidates {
            let score = (gain(plan), plan.constrained.len());
            let better = best.is_none_or(|(best_gain, best_count, _)| {
                score.0 > best_gain || (score.0 == best_gain && score.1 > best_count)
            });
            if better {
                best = Some((score.0, score.1, *field));
            }
        }
        let Some((best_gain, _, field)) = best else {
            break;
        };
        if best_gain < MIN_GAIN {
            break;
        }
        let Some(plan) = candidates.remove(&field) else {
            break;
        };
        narrow(&mut survival, &plan);
        chosen.push(plan);
    }
    chosen
}

/// One dispatch field: its atoms, and for each the id and the rules it lets through.
#[derive(Debug)]
struct FieldIndex {
    field: FieldRef,
    /// Text literals (folded), each with the offset of its bit set in `Dispatch::bits`, its
    /// atom id and the id of the integer atom it reads as; sorted by length. Few per field (a
    /// vocabulary such as the event classes), so finding a value compares it with the one or
    /// two literals of its length: cheaper than hashing it.
    texts: Vec<(Box<str>, usize, u8, Option<u8>)>,
    /// For each length, the range of `texts` that long.
    by_len: Vec<(u16, u16)>,
    /// Integer literals, ascending, with the offset of their bit set and their atom id.
    integers: Vec<(i64, usize, u8)>,
    /// Bit set for the values no literal names (the missing value included).
    other: usize,
    /// The atom id of those values: one past the literals.
    other_id: u8,
    /// The atoms, to translate tests into shortcuts.
    atoms: Atoms,
    /// Whether tests of this field are answered from the ids (there are few enough).
    shortcuts: bool,
    /// For a field with a vocabulary, the bit set and atom id of each of its texts, by
    /// position: a record that reports the field as a [`Word`] is placed without reading it.
    by_word: Vec<(usize, u8)>,
    /// Bit set of the rules this field matters to: constrained by it, or testing it against
    /// literals. When none of an event's candidates is among them, the field is not read.
    relevant: usize,
}

/// What dispatch learnt of one event's dispatch fields: per field, the atom id of its value.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Known {
    ids: [u8; MAX_DISPATCH_FIELDS],
}

/// The value was not placed (a list, or a field not read): tests must look at it themselves.
const UNKNOWN: u8 = u8::MAX;
/// Ids are bits of a `u64`; a field with more atoms gets no shortcuts.
const MAX_SHORTCUT_IDS: usize = 64;

impl Known {
    /// The answer of a shortcut test, or `None` when the value must be looked at.
    pub fn answer(&self, shortcut: Shortcut) -> Option<bool> {
        let id = *self.ids.get(shortcut.slot)?;
        if id == UNKNOWN {
            return None;
        }
        Some(shortcut.accepted.checked_shr(u32::from(id)).unwrap_or(0) & 1 == 1)
    }
}

/// The compiled dispatch: bit sets over rule indices, `words` 64-bit words each.
#[derive(Debug)]
pub(crate) struct Dispatch {
    fields: Vec<FieldIndex>,
    bits: Vec<u64>,
    words: usize,
    /// Offset of the set of every detection rule (for values dispatch cannot judge).
    all: usize,
}

impl Dispatch {
    /// `detections` are (rule index, detection) in ascending rule order; `rules` is the total
    /// number of rules; `vocabulary` gives a field's closed set of texts, if it has one.
    /// `None` when no field is worth reading: every rule is then tried.
    pub fn build(
        named: &[FieldRef],
        choice: DispatchChoice<'_>,
        rules: usize,
        detections: &[(usize, &Detection)],
        vocabulary: &dyn Fn(FieldRef) -> Option<Vec<String>>,
    ) -> Option<Dispatch> {
        let any_field = |_: FieldRef| true;
        let automatic: Option<&dyn Fn(FieldRef) -> bool> = match choice {
            DispatchChoice::Named => None,
            DispatchChoice::Automatic => Some(&any_field),
            DispatchChoice::AutomaticAmong(eligible) => Some(eligible),
        };
        let plans = choose(named, automatic, rules, detections);
        if plans.is_empty() {
            return None;
        }
        let words = rules.div_ceil(64).max(1);
        let mut bits: Vec<u64> = Vec::new();
        let mut add_set = |members: &mut dyn Iterator<Item = usize>| {
            let offset = bits.len();
            bits.resize(offset + words, 0);
            for rule in members {
                if let Some(word) = bits.get_mut(offset + rule / 64) {
                    *word |= 1 << (rule % 64);
                }
            }
            offset
        };
        let all = add_set(&mut detections.iter().map(|(rule, _)| *rule));
        let mut fields = Vec::with_capacity(plans.len());
        for plan in plans {
            let relevant = add_set(
                &mut plan
                    .constrained
                    .iter()
                    .map(|(rule, _)| *rule)
                    .chain(plan.testing.iter().copied())
                    .collect::<BTreeSet<usize>>()
                    .into_iter(),
            );
            // Every rule but the constrained ones that rule the atom out.
            let mut admitted = |atom: usize| {
                let excluded: BTreeSet<usize> = plan
                    .constrained
                    .iter()
                    .filter(|(_, allowed)| !allowed.admits(atom))
                    .map(|(rule, _)| *rule)
                    .collect();
                add_set(
                    &mut detections
                        .iter()
                        .map(|(rule, _)| *rule)
                        .filter(|rule| !excluded.contains(rule)),
                )
            };
            let id = |atom: usize| u8::try_from(atom).unwrap_or(UNKNOWN);
            let mut texts: Vec<(Box<str>, usize, u8, Option<u8>)> =
                Vec::with_capacity(plan.atoms.texts.len());
            for (atom, (text, reads_as)) in plan.atoms.texts.iter().enumerate() {
                let offset = admitted(atom);
                texts.push((text.as_str().into(), offset, id(atom), reads_as.map(id)));
            }
            let first_integer = plan.atoms.texts.len();
            let mut integers = Vec::with_capacity(plan.atoms.integers.len());
            for (position, int) in plan.atoms.integers.iter().enumerate() {
                let atom = first_integer + position;
                integers.push((*int, admitted(atom), id(atom)));
            }
            let other_atom = plan.atoms.other();
            let other = admitted(other_atom);
            texts.sort_by_key(|(text, _, _, _)| text.len());
            let longest = texts.last().map_or(0, |(text, _, _, _)| text.len());
            let mut by_len = vec![(0u16, 0u16); longest + 1];
            for (position, (text, _, _, _)) in (0u16..).zip(&texts) {
                if let Some(range) = by_len.get_mut(text.len()) {
                    if range.0 == range.1 {
                        *range = (position, position);
                    }
                    range.1 = position + 1;
                }
            }
            let mut index = FieldIndex {
                field: plan.field,
                texts,
                by_len,
                integers,
                other,
                other_id: id(other_atom),
                shortcuts: other_atom < MAX_SHORTCUT_IDS,
                by_word: Vec::new(),
                atoms: plan.atoms,
                relevant,
            };
            // Each text placed now exactly as `candidates` would place it when read.
            index.by_word = vocabulary(plan.field)
                .filter(|words| u16::try_from(words.len()).is_ok())
                .unwrap_or_default()
                .iter()
                .map(|word| index.classify(&Value::Str(word)).unwrap_or((all, UNKNOWN)))
                .collect();
            fields.push(index);
        }
        Some(Dispatch {
            fields,
            bits,
            words,
            all,
        })
    }

    /// The dispatch fields, in the order they are read.
    pub fn fields(&self) -> Vec<FieldRef> {
        self.fields.iter().map(|index| index.field).collect()
    }

    /// Whether dispatch lets `rule` through for an event whose `field` is `value`; `None`
    /// when `field` is not a dispatch field.
    pub fn admits(&self, rule: usize, field: FieldRef, value: &str) -> Option<bool> {
        let index = self.fields.iter().find(|index| index.field == field)?;
        let (offset, _) = index.classify(&Value::Str(value))?;
        let word = self.set(offset).get(rule / 64)?;
        Some(word >> (rule % 64) & 1 == 1)
    }

    /// Lets the tests of `detection` on dispatch fields answer from [`Known`].
    pub fn install_shortcuts(&self, detection: &mut Detection) {
        for test in detection
            .selections
            .iter_mut()
            .flat_map(|selection| selection.branches.iter_mut().flatten())
        {
            let Target::Field(field) = test.target else {
                continue;
            };
            let Some((slot, index)) = self
                .fields
                .iter()
                .enumerate()
                .find(|(_, index)| index.field == field && index.shortcuts)
            else {
                continue;
            };
            test.shortcut = index.atoms.of_test(test).map(|atoms| Shortcut {
                slot,
                accepted: atoms
                    .into_iter()
                    .fold(0u64, |accepted, atom| accepted | 1u64 << atom),
            });
        }
    }

    /// Calls `visit` with every rule the record may match, in ascending order, and what
    /// dispatch learnt of the record's fields. `scratch` is a reused buffer.
    ///
    /// Fields are read in order, narrowing the candidates as they go; a field that matters to
    /// none of the remaining candidates is not read at all (a door sensor's event needs its
    /// class and activity, not the person's kind).
    pub fn candidates<R: Record + ?Sized>(
        &self,
        record: &R,
        scratch: &mut Vec<u64>,
        mut visit: impl FnMut(usize, &Known),
    ) {
        let words = self.words;
        scratch.clear();
        scratch.extend_from_slice(self.set(self.all));
        let mut known = Known {
            ids: [UNKNOWN; MAX_DISPATCH_FIELDS],
        };
        for (id, index) in known.ids.iter_mut().zip(&self.fields) {
            let relevant = self.set(index.relevant);
            if scratch
                .iter()
                .zip(relevant)
                .all(|(left, right)| left & right == 0)
            {
                continue;
            }
            let placed = match record.word(index.field) {
                Word::Missing => Some((index.other, index.other_id)),
                Word::At(word) => index.by_word.get(usize::from(word)).copied(),
                Word::Unknown => None,
            };
            let set;
            (set, *id) = match placed {
                Some(placed) => placed,
                None => match record.field(index.field) {
                    None => (index.other, index.other_id),
                    Some(value) => index.classify(&value).unwrap_or((self.all, UNKNOWN)),
                },
            };
            for (candidates, admitted) in scratch.iter_mut().zip(self.set(set)) {
                *candidates &= admitted;
            }
        }
        for word in 0..words {
            let mut candidates = scratch.get(word).copied().unwrap_or(0);
            while candidates != 0 {
                let bit = candidates.trailing_zeros() as usize;
                visit(word * 64 + bit, &known);
                candidates &= candidates - 1;
            }
        }
    }

    /// The bit set at `offset`.
    fn set(&self, offset: usize) -> &[u64] {
        self.bits.get(offset..offset + self.words).unwrap_or(&[])
    }
}

impl FieldIndex {
    /// The bit set and atom id of a value, or `None` when dispatch cannot place it (a list:
    /// any element may match).
    ///
    /// A value's atom follows from how the matcher compares it: with text literals through
    /// its text (numbers and addresses in their usual notation, `true`/`false`), with integer
    /// literals through its number (numbers as they are, numeric strings parsed).
    fn classify(&self, value: &Value<'_>) -> Option<(usize, u8)> {
        match value {
            Value::Null => Some((self.other, self.other_id)),
            Value::Str(text) => self.of_text(text, || Number::parse(text)),
            Value::Owned(text) => self.of_text(text, || Number::parse(text)),
            Value::Int(int) => self.of_scalar(value, Some(Number::Int(*int))),
            Value::Float(float) => self.of_scalar(value, Some(Number::Float(*float))),
            Value::Bool(_) | Value::Ip(_) => self.of_scalar(value, None),
            Value::List(_) => None,
        }
    }

    /// A value that is not text, with the number the matcher reads it as.
    fn of_scalar(&self, value: &Value<'_>, number: Option<Number>) -> Option<(usize, u8)> {
        if self.texts.is_empty() {
            return Some(self.integer(number).unwrap_or((self.other, self.other_id)));
        }
        with_text(value, |text| self.of_text(text, || number)).flatten()
    }

    /// A value with this text, reading as `number` (computed only if integers are indexed).
    fn of_text(&self, text: &str, number: impl FnOnce() -> Option<Number>) -> Option<(usize, u8)> {
        let found = self.lookup(text);
        if self.integers.is_empty() {
            return Some(found.map_or((self.other, self.other_id), |(offset, id, _)| (offset, id)));
        }
        let integer = self.integer(number());
        match found {
            // The text's atom holds the values reading as the number its literal reads as;
            // any other would be outside every atom (it cannot happen: text decides the
            // number), so it is left unplaced.
            Some((offset, id, reads_as)) => {
                (reads_as == integer.map(|(_, id)| id)).then_some((offset, id))
            }
            None => Some(integer.unwrap_or((self.other, self.other_id))),
        }
    }

    /// The bit set and atom id of the integer literal `number` equals, if any.
    fn integer(&self, number: Option<Number>) -> Option<(usize, u8)> {
        let int = integer_key(number?)?;
        let position = self
            .integers
            .binary_search_by_key(&int, |(known, _, _)| *known)
            .ok()?;
        self.integers
            .get(position)
            .map(|(_, offset, id)| (*offset, *id))
    }

    /// The text literal `text` folds to: its bit set, atom id and integer atom.
    fn lookup(&self, text: &str) -> Option<(usize, u8, Option<u8>)> {
        // Literals are stored folded, and most values arrive folded already.
        if let Some(found) = self.find(text) {
            return Some(found);
        }
        let folded = text
            .bytes()
            .all(|byte| byte.is_ascii() && !byte.is_ascii_uppercase());
        if folded {
            None
        } else {
            self.find(&fold_str(text))
        }
    }

    /// The literal equal to `text` (already folded).
    fn find(&self, text: &str) -> Option<(usize, u8, Option<u8>)> {
        let (start, end) = self.by_len.get(text.len()).copied().unwrap_or((0, 0));
        self.texts
            .get(usize::from(start)..usize::from(end))
            .unwrap_or(&[])
            .iter()
            .find(|(literal, _, _, _)| **literal == *text)
            .map(|(_, offset, id, reads_as)| (*offset, *id, *reads_as))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(atoms: &[usize]) -> BTreeSet<usize> {
        atoms.iter().copied().collect()
    }

    #[test]
    fn allowed_sets_combine_like_the_conditions_they_describe() {
        let a = Allowed::In(set(&[0, 1]));
        let not_b = Allowed::NotIn(set(&[1, 2]));
        assert_eq!(a.clone().and(not_b.clone()), Allowed::In(set(&[0])));
        assert_eq!(a.clone().or(not_b.clone()), Allowed::NotIn(set(&[2])));
        assert_eq!(
            not_b.clone().and(Allowed::NotIn(set(&[3]))),
            Allowed::NotIn(set(&[1, 2, 3]))
        );
        assert_eq!(
            not_b.clone().or(Allowed::NotIn(set(&[2, 3]))),
            Allowed::NotIn(set(&[2]))
        );
        assert_eq!(a.clone().or(Allowed::Any), Allowed::Any);
        assert_eq!(Allowed::Any.and(a.clone()), a);
        assert_eq!(a.clone().not(), Allowed::NotIn(set(&[0, 1])));
        for atom in 0..5 {
            assert_eq!(a.clone().not().admits(atom), !a.admits(atom), "{atom}");
        }
    }

    #[test]
    fn integers_are_indexed_only_where_integer_and_float_comparison_agree() {
        assert_eq!(integer_key(Number::Int(50057)), Some(50057));
        assert_eq!(integer_key(Number::Int(-3)), Some(-3));
        assert_eq!(integer_key(Number::Float(50057.0)), Some(50057));
        assert_eq!(integer_key(Number::Float(-0.0)), Some(0));
        assert_eq!(integer_key(Number::Float(0.5)), None);
        assert_eq!(integer_key(Number::Float(f64::NAN)), None);
        assert_eq!(integer_key(Number::Float(f64::INFINITY)), None);
        assert_eq!(integer_key(Number::Int(1 << 53)), None);
        assert_eq!(integer_key(Number::Int((1 << 53) - 1)), Some((1 << 53) - 1));
        assert_eq!(integer_key(Number::Float(9_007_199_254_740_992.0)), None);
    }

    #[test]
    fn numeric_strings_read_as_the_matcher_reads_them() {
        let key = |text: &str| Number::parse(text).and_then(integer_key);
        assert_eq!(key("50057"), Some(50057));
        assert_eq!(key("+50057"), Some(50057));
        assert_eq!(key("050057"), Some(50057));
        assert_eq!(key("50057.0"), Some(50057));
        assert_eq!(key("5.0057e4"), Some(50057));
        assert_eq!(key("5.0057E4"), Some(50057));
        assert_eq!(key("-0"), Some(0));
        assert_eq!(key("50057.5"), None);
        assert_eq!(key(" 50057"), None);
        assert_eq!(key("50057 "), None);
        assert_eq!(key("inf"), None);
        assert_eq!(key("-inf"), None);
        assert_eq!(key("NaN"), None);
        assert_eq!(key("0x10"), None);
        assert_eq!(key("10.0.0.1"), None);
        assert_eq!(key(""), None);
    }

    #[test]
    fn a_text_literal_that_reads_as_an_integer_literal_shares_its_values() {
        let literals: BTreeSet<Literal> = [
            Literal::Text("050057".to_owned()),
            Literal::Text("50057".to_owned()),
            Literal::Text("x".to_owned()),
            Literal::Integer(50057),
            Literal::Integer(7),
        ]
        .into_iter()
        .collect();
        let atoms = Atoms::new(&literals);
        // Texts first (ascending), then integers, then `other`.
        assert_eq!(atoms.other(), 5);
        let mut of_integer = BTreeSet::new();
        assert!(atoms.of_literal(&Literal::Integer(50057), &mut of_integer));
        // 50057 itself, and both texts reading as it.
        assert_eq!(of_integer, set(&[0, 1, 4]));
        let mut of_text = BTreeSet::new();
        assert!(atoms.of_literal(&Literal::Text("50057".to_owned()), &mut of_text));
        assert_eq!(of_text, set(&[1]));
        assert!(!atoms.of_literal(&Literal::Integer(8), &mut of_text));
    }
}
