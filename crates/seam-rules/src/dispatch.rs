//! Rule dispatch: which detection rules an event can possibly match, from a few fields read
//! once per event.
//!
//! For each dispatch field (the engine's `class`, `activity`, `outcome`, ...) compilation works
//! out, per rule, the values under which the rule's condition can still be true: a set the
//! field must be in (`class: physical_access`), a set it must not be in
//! (`not door_use` where `door_use` is `activity: [door_used, door_not_used]`), or no
//! constraint. Those become one bit set per literal value: the rules a value lets through. An
//! event's candidates are the intersection over the dispatch fields, visited in ascending rule
//! order, so findings come out exactly as if every rule had been tried.
//!
//! Only equality with plain literals is used (case-insensitive, as Sigma compares), and only
//! when the field holds text or nothing: any other shape (a list, a number) lets every rule
//! through. The differential tests compare this against trying every rule on every event.

use std::collections::BTreeSet;

use crate::condition::Cond;
use crate::detection::{Detection, Selection};
use crate::matcher::{Shortcut, Target};
use crate::record::{FieldRef, Record, Value};
use crate::text::fold_str;

/// Most fields dispatch reads per event; more would cost more than they save.
pub const MAX_DISPATCH_FIELDS: usize = 8;

/// The values of one field under which a condition can be true. The missing value (and any
/// text not named) is outside every `In` set and inside every `NotIn` set.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Allowed {
    Any,
    In(BTreeSet<String>),
    NotIn(BTreeSet<String>),
}

impl Allowed {
    fn admits(&self, value: Option<&str>) -> bool {
        match (self, value) {
            (Allowed::Any, _) => true,
            (Allowed::In(set), Some(value)) => set.contains(value),
            (Allowed::In(_), None) => false,
            (Allowed::NotIn(set), Some(value)) => !set.contains(value),
            (Allowed::NotIn(_), None) => true,
        }
    }

    fn and(self, other: Allowed) -> Allowed {
        match (self, other) {
            (Allowed::Any, other) | (other, Allowed::Any) => other,
            (Allowed::In(left), Allowed::In(right)) => {
                Allowed::In(left.intersection(&right).cloned().collect())
            }
            (Allowed::In(within), Allowed::NotIn(without))
            | (Allowed::NotIn(without), Allowed::In(within)) => {
                Allowed::In(within.difference(&without).cloned().collect())
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
                Allowed::NotIn(without.difference(&within).cloned().collect())
            }
            (Allowed::NotIn(left), Allowed::NotIn(right)) => {
                Allowed::NotIn(left.intersection(&right).cloned().collect())
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

fn of_condition(condition: &Cond, selections: &[Selection], field: FieldRef) -> Constraint {
    match condition {
        Cond::Selection(index) => selections
            .get(*index)
            .map_or(Constraint::ANY, |selection| of_selection(selection, field)),
        Cond::Not(inner) => {
            let inner = of_condition(inner, selections, field);
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
                let term = of_condition(term, selections, field);
                exact &= term.exact;
                allowed = allowed.and(term.allowed);
            }
            Constraint {
                allowed,
                exact: exact && !terms.is_empty(),
            }
        }
        Cond::Or(terms) => combine_or(terms.iter(), selections, field, true),
        // At least one of the terms holds, but which ones is not exact.
        Cond::AtLeast(_, terms) => combine_or(terms.iter(), selections, field, false),
    }
}

fn combine_or<'a>(
    terms: impl Iterator<Item = &'a Cond>,
    selections: &[Selection],
    field: FieldRef,
    can_be_exact: bool,
) -> Constraint {
    let mut allowed: Option<Allowed> = None;
    let mut exact = can_be_exact;
    for term in terms {
        let term = of_condition(term, selections, field);
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
fn of_selection(selection: &Selection, field: FieldRef) -> Constraint {
    let mut allowed: Option<Allowed> = None;
    let mut exact = true;
    for branch in &selection.branches {
        let mut branch_allowed = Allowed::Any;
        // Exact when every test of the branch is a literal set on this field.
        let mut branch_exact = !branch.is_empty();
        for test in branch {
            let literals = (test.target == Target::Field(field))
                .then(|| test.required_literals())
                .flatten();
            match literals {
                Some(literals) => {
                    branch_allowed =
                        branch_allowed.and(Allowed::In(literals.into_iter().collect()));
                }
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

/// One dispatch field: for each literal any test names, an id and the rules the value lets
/// through.
#[derive(Debug)]
struct FieldIndex {
    field: FieldRef,
    /// Folded literal, the offset of its bit set in `Dispatch::bits`, and its id; sorted by
    /// length. Few per field (a vocabulary such as the event classes), so finding a value
    /// compares it with the one or two literals of its length: cheaper than hashing it.
    literals: Vec<(Box<str>, usize, u8)>,
    /// For each length, the range of `literals` that long.
    by_len: Vec<(u16, u16)>,
    /// Bit set for the missing value and for text no test names.
    other: usize,
    /// The id of the missing value and of text no test names: one past the literals.
    other_id: u8,
    /// Whether tests of this field are answered from the ids (there are few enough).
    shortcuts: bool,
    /// Bit set of the rules this field matters to: constrained by it, or testing it against
    /// literals. When none of an event's candidates is among them, the field is not read.
    relevant: usize,
}

/// What dispatch learnt of one event's dispatch fields: per field, the id of its value.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Known {
    ids: [u8; MAX_DISPATCH_FIELDS],
}

/// The value is not text (a list, a number): tests must look at it themselves.
const UNKNOWN: u8 = u8::MAX;
/// Ids are bits of a `u64`; a field with more literals gets no shortcuts.
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

/// Every literal that some test of `field` compares with, and the rules with such tests.
fn literals_of(
    field: FieldRef,
    detections: &[(usize, &Detection)],
) -> (BTreeSet<String>, BTreeSet<usize>) {
    let mut literals = BTreeSet::new();
    let mut testing = BTreeSet::new();
    for (rule, detection) in detections {
        for selection in &detection.selections {
            for test in selection.branches.iter().flatten() {
                if test.target == Target::Field(field)
                    && let Some(values) = test.required_literals()
                {
                    literals.extend(values);
                    testing.insert(*rule);
                }
            }
        }
    }
    (literals, testing)
}

impl Dispatch {
    /// `detections` are (rule index, detection) in ascending rule order; `rules` is the total
    /// number of rules.
    pub fn build(
        fields: &[FieldRef],
        rules: usize,
        detections: &[(usize, &Detection)],
    ) -> Dispatch {
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
        let mut indexes = Vec::new();
        let mut seen = BTreeSet::new();
        for &field in fields {
            if indexes.len() == MAX_DISPATCH_FIELDS {
                break;
            }
            if !seen.insert(field) {
                continue;
            }
            let constraints: Vec<(usize, Allowed)> = detections
                .iter()
                .map(|(rule, detection)| {
                    let constraint =
                        of_condition(&detection.condition, &detection.selections, field);
                    (*rule, constraint.allowed)
                })
                .collect();
            let (literals, testing) = literals_of(field, detections);
            let Ok(other_id) = u8::try_from(literals.len()) else {
                continue;
            };
            if other_id == UNKNOWN
                || (constraints
                    .iter()
                    .all(|(_, allowed)| *allowed == Allowed::Any)
                    && literals.is_empty())
            {
                // Nothing to gain from reading this field.
                continue;
            }
            let relevant = add_set(
                &mut constraints
                    .iter()
                    .filter(|(rule, allowed)| *allowed != Allowed::Any || testing.contains(rule))
                    .map(|(rule, _)| *rule),
            );
            let mut admitted = |value: Option<&str>| {
                let mut members = constraints
                    .iter()
                    .filter(|(_, allowed)| allowed.admits(value))
                    .map(|(rule, _)| *rule);
                add_set(&mut members)
            };
            let other = admitted(None);
            let mut indexed: Vec<(Box<str>, usize, u8)> = Vec::with_capacity(literals.len());
            for (literal, id) in literals.iter().zip(0u8..) {
                let offset = admitted(Some(literal));
                indexed.push((literal.as_str().into(), offset, id));
            }
            indexed.sort_by_key(|(literal, _, _)| literal.len());
            let longest = indexed.last().map_or(0, |(literal, _, _)| literal.len());
            let mut by_len = vec![(0u16, 0u16); longest + 1];
            for (position, (literal, _, _)) in (0u16..).zip(&indexed) {
                if let Some(range) = by_len.get_mut(literal.len()) {
                    if range.0 == range.1 {
                        *range = (position, position);
                    }
                    range.1 = position + 1;
                }
            }
            indexes.push(FieldIndex {
                field,
                literals: indexed,
                by_len,
                other,
                other_id,
                shortcuts: literals.len() < MAX_SHORTCUT_IDS,
                relevant,
            });
        }
        Dispatch {
            fields: indexes,
            bits,
            words,
            all,
        }
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
            let Some(literals) = test.required_literals() else {
                continue;
            };
            let mut accepted = 0u64;
            let mut complete = true;
            for literal in &literals {
                match index.find(literal) {
                    Some((_, id)) => accepted |= 1u64 << id,
                    None => complete = false,
                }
            }
            test.shortcut = complete.then_some(Shortcut { slot, accepted });
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
            let set;
            (set, *id) = match record.field(index.field) {
                None | Some(Value::Null) => (index.other, index.other_id),
                Some(Value::Str(text)) => index.lookup(text),
                Some(Value::Owned(text)) => index.lookup(&text),
                // Other shapes may still match as text or by any list element.
                Some(_) => (self.all, UNKNOWN),
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
    fn lookup(&self, text: &str) -> (usize, u8) {
        // Literals are stored folded, and most values arrive folded already.
        if let Some(found) = self.find(text) {
            return found;
        }
        let folded = text
            .bytes()
            .all(|byte| byte.is_ascii() && !byte.is_ascii_uppercase());
        let found = if folded {
            None
        } else {
            self.find(&fold_str(text))
        };
        found.unwrap_or((self.other, self.other_id))
    }

    /// The literal equal to `text` (already folded).
    fn find(&self, text: &str) -> Option<(usize, u8)> {
        self.same_length(text.len())
            .find(|(literal, _, _)| **literal == *text)
            .map(|(_, offset, id)| (*offset, *id))
    }

    fn same_length(&self, len: usize) -> impl Iterator<Item = &(Box<str>, usize, u8)> {
        let (start, end) = self.by_len.get(len).copied().unwrap_or((0, 0));
        self.literals
            .get(usize::from(start)..usize::from(end))
            .unwrap_or(&[])
            .iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(values: &[&str]) -> BTreeSet<String> {
        values.iter().map(|value| (*value).to_owned()).collect()
    }

    #[test]
    fn allowed_sets_combine_like_the_conditions_they_describe() {
        let a = Allowed::In(set(&["a", "b"]));
        let not_b = Allowed::NotIn(set(&["b", "c"]));
        assert_eq!(a.clone().and(not_b.clone()), Allowed::In(set(&["a"])));
        assert_eq!(a.clone().or(not_b.clone()), Allowed::NotIn(set(&["c"])));
        assert_eq!(
            not_b.clone().and(Allowed::NotIn(set(&["d"]))),
            Allowed::NotIn(set(&["b", "c", "d"]))
        );
        assert_eq!(
            not_b.clone().or(Allowed::NotIn(set(&["c", "d"]))),
            Allowed::NotIn(set(&["c"]))
        );
        assert_eq!(a.clone().or(Allowed::Any), Allowed::Any);
        assert_eq!(Allowed::Any.and(a.clone()), a);
        assert_eq!(a.clone().not(), Allowed::NotIn(set(&["a", "b"])));
        for value in [None, Some("a"), Some("b"), Some("c"), Some("z")] {
            assert_eq!(a.clone().not().admits(value), !a.admits(value), "{value:?}");
        }
    }
}
