//! Time-bounded identity: which person held an identifier at an instant.
//!
//! The loader guarantees that the intervals of one identifier never overlap, so the lookup is a
//! hash probe and a binary search with exactly one answer or none.

use std::borrow::Cow;

use seam_model::Ts;
use serde::Serialize;

use crate::estate::LookupMap;
use crate::model::{PersonIdx, vocabulary};
use crate::net::{CanonicalMac, is_canonical_mac, parse_mac};

vocabulary!(
    /// What an identifier names: a badge number, an account, a device.
    IdentifierKind {
        Badge => "badge",
        Upn => "upn",
        Email => "email",
        Okta => "okta",
        Entra => "entra",
        Username => "username",
        Device => "device",
        Mac => "mac",
    }
);

/// An identifier of a person over an interval: `from` inclusive, `until` exclusive, open-ended
/// where absent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Identifier {
    pub kind: IdentifierKind,
    /// Normalized with [`normalize_identifier`].
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Ts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<Ts>,
}

impl Identifier {
    pub fn valid_at(&self, at: Ts) -> bool {
        self.from.is_none_or(|from| from <= at) && self.until.is_none_or(|until| at < until)
    }

    /// Whether the two intervals share an instant.
    pub(crate) fn overlaps(&self, other: &Identifier) -> bool {
        let starts_before_other_ends = match (self.from, other.until) {
            (Some(from), Some(until)) => from < until,
            _ => true,
        };
        let other_starts_before_end = match (other.from, self.until) {
            (Some(from), Some(until)) => from < until,
            _ => true,
        };
        starts_before_other_ends && other_starts_before_end
    }
}

/// The form in which identifiers are compared: trimmed; accounts, e-mail addresses, Entra
/// object ids and device names in lowercase; MACs as `aa:bb:cc:dd:ee:ff`. Badge numbers and
/// Okta ids keep their case. Borrows when the value is already normalized.
pub fn normalize_identifier(kind: IdentifierKind, value: &str) -> Cow<'_, str> {
    let trimmed = trim(value);
    match kind {
        IdentifierKind::Badge | IdentifierKind::Okta => Cow::Borrowed(trimmed),
        IdentifierKind::Upn
        | IdentifierKind::Email
        | IdentifierKind::Entra
        | IdentifierKind::Username
        | IdentifierKind::Device => lowercase(trimmed),
        IdentifierKind::Mac => {
            if is_canonical_mac(trimmed) {
                Cow::Borrowed(trimmed)
            } else {
                // A value that is no MAC at all cannot match a loaded one (the loader rejects
                // those), so any stable form will do.
                parse_mac(trimmed).map_or_else(|| lowercase(trimmed), Cow::Owned)
            }
        }
    }
}

/// `str::trim`, without its per-character Unicode decoding for the common value that begins
/// and ends with a visible ASCII character (this runs on every identifier of every event).
pub(crate) fn trim(value: &str) -> &str {
    let visible = |byte: Option<&u8>| byte.is_some_and(|b| b.is_ascii_graphic());
    let bytes = value.as_bytes();
    if visible(bytes.first()) && visible(bytes.last()) {
        value
    } else {
        value.trim()
    }
}

fn lowercase(text: &str) -> Cow<'_, str> {
    if text
        .bytes()
        .all(|byte| byte.is_ascii() && !byte.is_ascii_uppercase())
    {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// One holding of an identifier by a person, with open ends as the extreme instants so that
/// a holding fits in 24 bytes: `from == i64::MIN` is an open start (every instant is at or
/// after it), `until == i64::MAX` an open end (checked as such, so even `i64::MAX` is inside).
#[derive(Clone, Copy, Debug)]
struct Holding {
    from: i64,
    until: i64,
    person: PersonIdx,
}

impl Holding {
    fn contains(&self, at: Ts) -> bool {
        self.from <= at.millis() && (self.until == i64::MAX || at.millis() < self.until)
    }
}

/// The holders of one identifier. Nearly every identifier has exactly one, kept inline so that
/// a lookup touches only the hash table's own entry.
#[derive(Clone, Debug)]
enum Holders {
    One(Holding),
    /// Sorted by start, never overlapping.
    Many(Box<[Holding]>),
}

impl Holders {
    fn at(&self, at: Ts) -> Option<PersonIdx> {
        let candidate = match self {
            Holders::One(holding) => holding,
            Holders::Many(holdings) => {
                // The last holding that started at or before `at` is the only one that can
                // contain it.
                let started = holdings.partition_point(|holding| holding.from <= at.millis());
                holdings.get(started.checked_sub(1)?)?
            }
        };
        candidate.contains(at).then_some(candidate.person)
    }
}

/// An identifier value as a table key: stored inline up to 22 bytes (badge numbers, MACs and
/// most account names), so the key compare needs no second memory access.
#[derive(Clone)]
struct KeyText(KeyRepr);

const INLINE_KEY: usize = 22;

#[derive(Clone)]
enum KeyRepr {
    Inline { len: u8, bytes: [u8; INLINE_KEY] },
    Heap(Box<str>),
}

impl KeyText {
    fn new(text: &str) -> KeyText {
        let mut bytes = [0u8; INLINE_KEY];
        match (bytes.get_mut(..text.len()), u8::try_from(text.len())) {
            (Some(target), Ok(len)) => {
                target.copy_from_slice(text.as_bytes());
                KeyText(KeyRepr::Inline { len, bytes })
            }
            _ => KeyText(KeyRepr::Heap(text.into())),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            KeyRepr::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            KeyRepr::Heap(text) => text.as_bytes(),
        }
    }
}

impl PartialEq for KeyText {
    fn eq(&self, other: &KeyText) -> bool {
        match (&self.0, &other.0) {
            // Zero-padded, so equal texts have equal arrays: a fixed-size compare, inlined.
            (
                KeyRepr::Inline { len, bytes },
                KeyRepr::Inline {
                    len: other_len,
                    bytes: other_bytes,
                },
            ) => len == other_len && bytes == other_bytes,
            _ => self.as_bytes() == other.as_bytes(),
        }
    }
}

impl Eq for KeyText {}

impl std::fmt::Debug for KeyText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        String::from_utf8_lossy(self.as_bytes()).fmt(f)
    }
}

/// Every identifier of the directory, by kind and normalized value: an open-addressing table
/// with linear probing, at most half full, whose slot holds the key and its holders
/// inline. A lookup that hits touches one slot, so one cache line (a general hash map keeps
/// its control bytes apart from its entries: two misses at scale), and a caller can prefetch
/// that line ahead of time ([`IdentityIndex::prefetch`]). Built once at load, then only read;
/// the keys come from the directory, so probes from events cannot lengthen its runs.
#[derive(Clone, Debug, Default)]
pub(crate) struct IdentityIndex {
    slots: Vec<Slot>,
    /// Slots in use, so that a directory change knows when the table must grow.
    used: usize,
}

#[derive(Clone, Debug)]
struct Slot {
    /// Low bits of the key's hash, never zero for a used slot; zero marks an empty slot.
    tag: u32,
    kind: IdentifierKind,
    key: KeyText,
    holders: Holders,
}

impl Slot {
    fn empty() -> Slot {
        Slot {
            tag: 0,
            kind: IdentifierKind::Badge,
            key: KeyText::new(""),
            holders: Holders::Many(Box::default()),
        }
    }
}

/// A table this many times the identifiers (plus one, so that it always has an empty slot).
/// Half full, a hit probes 1.5 slots on average (a slot is a cache line); 70% full saved a
/// quarter of the memory and cost about 5% of the engine's speed.
const SPARE_NUMERATOR: usize = 2;
const SPARE_DENOMINATOR: usize = 1;

impl IdentityIndex {
    /// Builds the index from identifiers already checked not to overlap.
    pub(crate) fn new<'a>(
        holdings: impl IntoIterator<Item = (PersonIdx, &'a Identifier)>,
    ) -> IdentityIndex {
        let mut grouped: LookupMap<(IdentifierKind, &'a str), Vec<Holding>> = LookupMap::default();
        for (person, identifier) in holdings {
            let holding = Holding {
                from: identifier.from.map_or(i64::MIN, Ts::millis),
                until: identifier.until.map_or(i64::MAX, Ts::millis),
                person,
            };
            grouped
                .entry((identifier.kind, identifier.value.as_str()))
                .or_default()
                .push(holding);
        }
        let wanted = grouped.len() * SPARE_NUMERATOR / SPARE_DENOMINATOR + 1;
        let mut index = IdentityIndex {
            slots: vec![Slot::empty(); wanted],
            used: 0,
        };
        // Inserted in a fixed order, so that the layout does not depend on the map's.
        let mut entries: Vec<_> = grouped.into_iter().collect();
        entries.sort_by(|left, right| left.0.cmp(&right.0));
        for ((kind, value), mut holdings) in entries {
            // An open start is the earliest instant, so it sorts first, as it should.
            holdings.sort_by_key(|holding| holding.from);
            let holders = match holdings.as_slice() {
                [only] => Holders::One(*only),
                _ => Holders::Many(holdings.into_boxed_slice()),
            };
            index.insert(kind, value, holders);
        }
        index
    }

    fn insert(&mut self, kind: IdentifierKind, value: &str, holders: Holders) {
        let hash = key_hash(kind, value.as_bytes());
        let mut position = self.home(hash);
        // The table is never more than half full, so an empty slot is always reached.
        while let Some(slot) = self.slots.get_mut(position) {
            if slot.tag == 0 {
                *slot = Slot {
                    tag: tag_of(hash),
                    kind,
                    key: KeyText::new(value),
                    holders,
                };
                self.used += 1;
                return;
            }
            position = self.after(position);
        }
    }

    /// The slot where the probe for `hash` starts: the hash scaled to the table's length
    /// (multiply and shift, so the length need not be a power of two, and a million people do
    /// not get a table twice the size they need).
    fn home(&self, hash: u64) -> usize {
        ((u128::from(hash) * self.slots.len() as u128) >> 64) as usize
    }

    fn after(&self, position: usize) -> usize {
        if position + 1 >= self.slots.len() {
            0
        } else {
            position + 1
        }
    }

    fn find(&self, kind: IdentifierKind, value: &str) -> Option<&Holders> {
        let hash = key_hash(kind, value.as_bytes());
        let tag = tag_of(hash);
        let key = KeyText::new(value);
        let mut position = self.home(hash);
        loop {
            let slot = self.slots.get(position)?;
            if slot.tag == 0 {
                return None;
            }
            if slot.tag == tag && slot.kind == kind && slot.key == key {
                return Some(&slot.holders);
            }
            position = self.after(position);
        }
    }

    pub(crate) fn resolve(&self, kind: IdentifierKind, value: &str, at: Ts) -> Option<PersonIdx> {
        let holders = if kind == IdentifierKind::Mac {
            // Spares the allocation for MACs written in another notation, which are common.
            self.find(kind, CanonicalMac::parse(value)?.as_str())?
        } else {
            self.find(kind, &normalize_identifier(kind, value))?
        };
        holders.at(at)
    }

    /// The people who hold or held a normalized identifier, each once, in no particular order.
    pub(crate) fn holders_of(&self, kind: IdentifierKind, value: &str) -> Vec<PersonIdx> {
        let mut people: Vec<PersonIdx> = match self.find(kind, value) {
            Some(Holders::One(holding)) => vec![holding.person],
            Some(Holders::Many(holdings)) => holdings.iter().map(|h| h.person).collect(),
            None => Vec::new(),
        };
        people.sort_unstable();
        people.dedup();
        people
    }

    /// Sets the holdings of one normalized identifier (a directory change), adding the key
    /// if it is new and growing the table to stay at most half full. The holdings must not
    /// overlap; an empty list leaves the key with no holder.
    pub(crate) fn set_holdings<'a>(
        &mut self,
        kind: IdentifierKind,
        value: &str,
        holdings: impl IntoIterator<Item = (PersonIdx, &'a Identifier)>,
    ) {
        let mut holdings: Vec<Holding> = holdings
            .into_iter()
            .map(|(person, identifier)| Holding {
                from: identifier.from.map_or(i64::MIN, Ts::millis),
                until: identifier.until.map_or(i64::MAX, Ts::millis),
                person,
            })
            .collect();
        holdings.sort_by_key(|holding| holding.from);
        let holders = match holdings.as_slice() {
            [only] => Holders::One(*only),
            _ => Holders::Many(holdings.into_boxed_slice()),
        };
        if let Some(slot) = self.find_mut(kind, value) {
            slot.holders = holders;
            return;
        }
        if (self.used + 1) * SPARE_NUMERATOR / SPARE_DENOMINATOR >= self.slots.len() {
            self.grow();
        }
        self.insert(kind, value, holders);
    }

    fn find_mut(&mut self, kind: IdentifierKind, value: &str) -> Option<&mut Slot> {
        let hash = key_hash(kind, value.as_bytes());
        let tag = tag_of(hash);
        let key = KeyText::new(value);
        let mut position = self.home(hash);
        loop {
            let slot = self.slots.get(position)?;
            if slot.tag == 0 {
                return None;
            }
            if slot.tag == tag && slot.kind == kind && slot.key == key {
                return self.slots.get_mut(position);
            }
            position = self.after(position);
        }
    }

    /// Doubles the table and places every key again (the slot depends on the length).
    fn grow(&mut self) {
        let wanted = (self.used + 1) * 2 * SPARE_NUMERATOR / SPARE_DENOMINATOR + 1;
        let old = std::mem::replace(&mut self.slots, vec![Slot::empty(); wanted]);
        self.used = 0;
        for slot in old.into_iter().filter(|slot| slot.tag != 0) {
            let value = String::from_utf8_lossy(slot.key.as_bytes()).into_owned();
            self.insert(slot.kind, &value, slot.holders);
        }
    }

    /// Starts loading the slot where a lookup of `value` begins, for a lookup soon after.
    pub(crate) fn prefetch(&self, kind: IdentifierKind, value: &str) {
        if self.slots.is_empty() {
            return;
        }
        let hash = if kind == IdentifierKind::Mac {
            match CanonicalMac::parse(value) {
                Some(mac) => key_hash(kind, mac.as_str().as_bytes()),
                None => return,
            }
        } else {
            key_hash(kind, normalize_identifier(kind, value).as_bytes())
        };
        prefetch_index::prefetch_index(&self.slots, self.home(hash));
    }
}

fn key_hash(kind: IdentifierKind, value: &[u8]) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = foldhash::fast::FixedState::default().build_hasher();
    hasher.write_u8(kind as u8);
    hasher.write(value);
    hasher.finish()
}

/// The slot's tag: the hash's low bits, with one bit set so that it is never the empty mark.
fn tag_of(hash: u64) -> u32 {
    // The low bits: the high ones choose the slot, so neighbours share them.
    (hash as u32) | 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identifier(from: Option<i64>, until: Option<i64>) -> Identifier {
        Identifier {
            kind: IdentifierKind::Badge,
            value: "4411".into(),
            from: from.map(Ts),
            until: until.map(Ts),
        }
    }

    #[test]
    fn normalization_by_kind() {
        assert_eq!(
            normalize_identifier(IdentifierKind::Upn, " Alice@Example.COM "),
            "alice@example.com"
        );
        assert_eq!(
            normalize_identifier(IdentifierKind::Mac, "3C-22-FB-00-00-01"),
            "3c:22:fb:00:00:01"
        );
        assert_eq!(
            normalize_identifier(IdentifierKind::Okta, " 00u1Alice "),
            "00u1Alice"
        );
        assert_eq!(
            normalize_identifier(IdentifierKind::Badge, "4411\n"),
            "4411"
        );
        assert_eq!(normalize_identifier(IdentifierKind::Username, "ÅSA"), "åsa");
        assert!(matches!(
            normalize_identifier(IdentifierKind::Email, "bob@example.com"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(
            normalize_identifier(IdentifierKind::Mac, "3c:22:fb:00:00:01"),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            normalize_identifier(IdentifierKind::Mac, "Not-A-Mac"),
            "not-a-mac"
        );
    }

    #[test]
    fn intervals_are_half_open() {
        let held = identifier(Some(10), Some(20));
        assert!(!held.valid_at(Ts(9)));
        assert!(held.valid_at(Ts(10)));
        assert!(held.valid_at(Ts(19)));
        assert!(!held.valid_at(Ts(20)));
        assert!(identifier(None, None).valid_at(Ts(i64::MIN)));
    }

    #[test]
    fn overlap_is_symmetric_and_touching_is_not_overlap() {
        let cases = [
            (
                identifier(Some(10), Some(20)),
                identifier(Some(20), Some(30)),
                false,
            ),
            (
                identifier(Some(10), Some(21)),
                identifier(Some(20), Some(30)),
                true,
            ),
            (
                identifier(None, Some(20)),
                identifier(Some(20), None),
                false,
            ),
            (identifier(None, None), identifier(Some(5), Some(6)), true),
            (identifier(Some(10), None), identifier(None, Some(11)), true),
        ];
        for (left, right, expected) in cases {
            assert_eq!(left.overlaps(&right), expected, "{left:?} {right:?}");
            assert_eq!(right.overlaps(&left), expected, "{right:?} {left:?}");
        }
    }

    #[test]
    fn resolve_picks_the_holder_of_the_instant() {
        let first = identifier(None, Some(100));
        let second = identifier(Some(150), None);
        let index = IdentityIndex::new([(PersonIdx(0), &first), (PersonIdx(1), &second)]);
        assert_eq!(
            index.resolve(IdentifierKind::Badge, "4411", Ts(99)),
            Some(PersonIdx(0))
        );
        assert_eq!(index.resolve(IdentifierKind::Badge, "4411", Ts(100)), None);
        assert_eq!(
            index.resolve(IdentifierKind::Badge, " 4411 ", Ts(150)),
            Some(PersonIdx(1))
        );
        assert_eq!(index.resolve(IdentifierKind::Badge, "4412", Ts(150)), None);
        assert_eq!(index.resolve(IdentifierKind::Upn, "4411", Ts(150)), None);
    }

    #[test]
    fn a_single_holder_and_long_values_resolve_like_many() {
        let open = identifier(None, None);
        let index = IdentityIndex::new([(PersonIdx(3), &open)]);
        for at in [i64::MIN, 0, i64::MAX] {
            assert_eq!(
                index.resolve(IdentifierKind::Badge, "4411", Ts(at)),
                Some(PersonIdx(3))
            );
        }
        let bounded = identifier(Some(10), Some(20));
        let index = IdentityIndex::new([(PersonIdx(1), &bounded)]);
        assert_eq!(index.resolve(IdentifierKind::Badge, "4411", Ts(9)), None);
        assert_eq!(
            index.resolve(IdentifierKind::Badge, "4411", Ts(19)),
            Some(PersonIdx(1))
        );
        assert_eq!(index.resolve(IdentifierKind::Badge, "4411", Ts(20)), None);
        let long = Identifier {
            kind: IdentifierKind::Upn,
            value: "a.rather.long.account.name@example.com".into(),
            from: None,
            until: None,
        };
        let index = IdentityIndex::new([(PersonIdx(2), &long)]);
        assert_eq!(
            index.resolve(
                IdentifierKind::Upn,
                "A.Rather.Long.Account.Name@example.com",
                Ts(0)
            ),
            Some(PersonIdx(2))
        );
        assert_eq!(index.resolve(IdentifierKind::Upn, "a.rather", Ts(0)), None);
    }

    proptest::proptest! {
        /// The table answers as a scan of every identifier would, for present and absent values.
        #[test]
        fn the_table_agrees_with_a_scan(
            held in proptest::collection::vec((0u8..3, 0u16..300, 0u32..40, proptest::option::of(0i64..100), 1i64..50), 0..400),
            probes in proptest::collection::vec((0u8..3, 0u16..320, -10i64..200), 1..200),
        ) {
            let kinds = [IdentifierKind::Badge, IdentifierKind::Upn, IdentifierKind::Mac];
            let mac = |n: u16| format!("02:00:00:00:{:02x}:{:02x}", n >> 8, n & 0xff);
            let value = |kind: IdentifierKind, n: u16| match kind {
                IdentifierKind::Mac => mac(n),
                IdentifierKind::Upn => format!("user{n}@example.com"),
                _ => format!("{n}"),
            };
            // One interval per (kind, value), so that no two overlap, as the loader guarantees.
            let mut seen = std::collections::BTreeSet::new();
            let identifiers: Vec<(PersonIdx, Identifier)> = held
                .iter()
                .filter(|(kind, n, ..)| seen.insert((*kind, *n)))
                .map(|&(kind, n, person, from, length)| {
                    let kind = kinds[usize::from(kind)];
                    (PersonIdx(person), Identifier {
                        kind,
                        value: value(kind, n),
                        from: from.map(Ts),
                        until: from.map(|from| Ts(from + length)),
                    })
                })
                .collect();
            let index = IdentityIndex::new(identifiers.iter().map(|(p, i)| (*p, i)));
            for (kind, n, at) in probes {
                let kind = kinds[usize::from(kind)];
                let text = value(kind, n);
                let expected = identifiers
                    .iter()
                    .find(|(_, i)| i.kind == kind && i.value == text && i.valid_at(Ts(at)))
                    .map(|(p, _)| *p);
                let shown = match kind {
                    IdentifierKind::Upn => text.to_uppercase(),
                    IdentifierKind::Mac => text.replace(':', "-"),
                    _ => text.clone(),
                };
                proptest::prop_assert_eq!(index.resolve(kind, &shown, Ts(at)), expected);
                index.prefetch(kind, &shown);
            }
        }
    }
}
