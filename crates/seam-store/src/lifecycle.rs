//! What a store keeps about a person, and for how long: subject access, erasure and retention.
//!
//! [`Lifecycle`] extends [`Store`] without changing it. A person is found by *needles*: the
//! identifiers the caller knows them by (id, names, badge numbers, usernames, e-mail and MAC
//! addresses), matched as exact, case-sensitive byte substrings of everything stored. Erased
//! and expired events leave a tombstone at their log position, so positions never move.
//! `docs/store.md` says what each operation guarantees.

use std::fmt::Write as _;

use sha2::Digest as _;

use crate::{DeadLetter, Store, StoreError, StoredFinding, Ts, Unresolved};

/// A shorter needle would match far more than one person.
pub const MIN_NEEDLE_BYTES: usize = 3;

/// The longest tombstone reason. Every erased event's record carries it, so a long one could
/// swell a block of many small events past the decoder's limit.
pub const MAX_REASON_BYTES: usize = 256;

/// The reason written into the tombstones of events past their retention.
pub const RETENTION_REASON: &str = "retention";

/// What a finding whose uid held a needle is renamed to start with.
pub const ERASED_FINDING_UID_PREFIX: &str = "erased:";

/// Subject access, erasure and retention: the duties a store of personal data has beyond
/// [`Store`]. Implementations run [`crate::conformance::lifecycle_suite`].
///
/// Needles are validated first: each must be at least [`MIN_NEEDLE_BYTES`] long
/// ([`StoreError::NeedleTooShort`]). Besides its own bytes, a needle also matches as it
/// appears inside a JSON string, escaped once or twice (`CORP\alice` is `CORP\\alice` in a
/// normalized event and `CORP\\\\alice` in a raw JSON record kept inside one); see
/// [`Needles`]. Any other encoding (case, `\u` escapes of non-ASCII, URL or base64 encoding) is
/// a needle of its own for the caller to supply.
pub trait Lifecycle: Store {
    /// Everything stored that holds any needle, for a subject access request: at most `limit`
    /// records of each kind, and whether a kind had more. Sees uncommitted writes, like every
    /// read. An empty needle list finds nothing.
    fn subject_records(
        &self,
        needles: &[String],
        limit: usize,
    ) -> Result<SubjectRecords, StoreError>;

    /// Commits, then removes every byte of the needles from the store:
    ///
    /// - an event holding a needle becomes a tombstone at the same position, with the same
    ///   uid (or the uid's SHA-256 when the uid holds a needle; the original uid stays a
    ///   duplicate either way), time, source and class (emptied if they hold a needle), no
    ///   person, and [`tombstone_json`] of `reason` for JSON;
    /// - a finding holding one keeps its row (uid, renamed by [`erased_finding_uid`] if it
    ///   holds a needle; rule; time; severity) with no person and the tombstone for JSON;
    /// - dead letters, unresolved entries, documents and snapshots holding one are deleted.
    ///
    /// Refuses a reason holding a needle or unfit for a tombstone, and a needle that occurs in
    /// what the store writes on its own (the tombstone, its file format or schema): erasing it
    /// could not succeed, and it names no one. Durable when it returns. An erasure that fails
    /// part way (a crash, a full disk, [`StoreError::WalInUse`]) leaves a store that reads
    /// correctly; running it again completes it.
    fn erase_subject(
        &mut self,
        needles: &[String],
        reason: &str,
    ) -> Result<ErasureReport, StoreError>;

    /// Commits, then drops what is past its retention: events become tombstones (reason
    /// [`RETENTION_REASON`], uid, source and class kept, no person) at their positions;
    /// findings, dead letters and unresolved entries are deleted. With `dry_run`, only counts
    /// what would go, changing and committing nothing. Snapshots are never pruned here: the
    /// engine needs the latest, and the store keeps only a few anyway.
    fn prune(
        &mut self,
        request: &RetentionRequest,
        dry_run: bool,
    ) -> Result<RetentionReport, StoreError>;
}

/// An event that holds a needle, with its columns as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectEvent {
    pub position: u64,
    /// The uid, or `sha256:` and the uid's digest in hex for a tombstone that keeps only that.
    pub uid: String,
    pub time: Ts,
    pub observed: Ts,
    pub source: String,
    pub class: String,
    pub person: Option<String>,
    pub late: bool,
    pub json: String,
    /// A tombstone: the event's content is gone already (erased, or past its retention).
    pub erased: bool,
}

/// A document that holds a needle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectDocument {
    pub collection: String,
    pub id: String,
    pub json: String,
}

/// What a store holds about a subject. Each list is in the order the store lists that kind:
/// events by position, findings by (time, uid), dead letters by arrival, unresolved entries by
/// (time, event uid), documents by (collection, id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubjectRecords {
    pub events: Vec<SubjectEvent>,
    pub findings: Vec<StoredFinding>,
    /// Raw bytes exactly as kept: encode them (base64) to export them as text.
    pub dead_letters: Vec<DeadLetter>,
    pub unresolved: Vec<Unresolved>,
    pub documents: Vec<SubjectDocument>,
    /// Snapshots whose engine state or source positions hold a needle. The state is the
    /// engine's opaque bytes, so it is counted, not returned.
    pub snapshots: u64,
    /// Some kind had more than `limit` matches: its list stops at `limit`.
    pub truncated: bool,
}

/// What an erasure changed, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErasureReport {
    /// Events replaced by tombstones.
    pub events: u64,
    /// Of those, events whose uid held a needle: only its SHA-256 is kept.
    pub digested_uids: u64,
    /// Findings replaced by tombstone rows.
    pub findings: u64,
    /// Rows deleted.
    pub dead_letters: u64,
    pub unresolved: u64,
    pub documents: u64,
    pub snapshots: u64,
}

/// Retention cutoffs by data class: what happened (or arrived) before a cutoff goes. A kind
/// without a cutoff is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionRequest {
    /// Event classes (the `class` column) and the time before which events of those classes
    /// go. The caller maps its data classes (physical access, sign-ins, network) to event
    /// classes; a class may appear in one entry only.
    pub events_before: Vec<(Vec<String>, Ts)>,
    /// The cutoff for events of every class not listed.
    pub other_events_before: Option<Ts>,
    /// By the finding's time.
    pub findings_before: Option<Ts>,
    /// By when the letter arrived.
    pub dead_letters_before: Option<Ts>,
    /// By the unresolved event's time.
    pub unresolved_before: Option<Ts>,
}

impl RetentionRequest {
    /// The cutoff for events of `class`, if any.
    pub fn event_cutoff(&self, class: &str) -> Option<Ts> {
        self.events_before
            .iter()
            .find(|(classes, _)| classes.iter().any(|listed| listed == class))
            .map(|(_, before)| *before)
            .or(self.other_events_before)
    }

    /// Refuses a class listed twice: which of two cutoffs was meant is not the store's guess.
    pub fn validate(&self) -> Result<(), StoreError> {
        let mut seen = std::collections::HashSet::new();
        for (classes, _) in &self.events_before {
            for class in classes {
                if !seen.insert(class.as_str()) {
                    return Err(StoreError::InvalidRequest {
                        reason: format!("event class `{class}` has more than one retention"),
                    });
                }
            }
        }
        Ok(())
    }

    /// The latest of the event cutoffs: no event at or after it goes.
    pub fn latest_event_cutoff(&self) -> Option<Ts> {
        self.events_before
            .iter()
            .map(|(_, before)| *before)
            .chain(self.other_events_before)
            .max()
    }
}

/// What a retention run dropped, or with `dry_run`, would drop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Events tombstoned, one count per entry of [`RetentionRequest::events_before`].
    pub events: Vec<u64>,
    /// Events tombstoned under [`RetentionRequest::other_events_before`].
    pub other_events: u64,
    pub findings: u64,
    pub dead_letters: u64,
    pub unresolved: u64,
    pub dry_run: bool,
}

/// Validated needles and the forms they are searched in. A fixed-size table of the first two
/// bytes of every form makes a search one table probe per byte of text, checking whole forms
/// only where a two-byte prefix matches.
#[derive(Clone)]
pub struct Needles {
    /// Each needle, then its JSON-escaped forms where they differ: (form, needle index).
    forms: Vec<(String, usize)>,
    /// One bit per two-byte prefix of a form.
    prefixes: Box<[u64; 1024]>,
}

impl std::fmt::Debug for Needles {
    /// Needles are personal data: a debug print must not put them in a log.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Needles")
            .field("forms", &self.forms.len())
            .finish_non_exhaustive()
    }
}

impl Needles {
    /// Refuses a needle shorter than [`MIN_NEEDLE_BYTES`].
    pub fn new(needles: &[String]) -> Result<Needles, StoreError> {
        let mut forms: Vec<(String, usize)> = Vec::new();
        for (index, needle) in needles.iter().enumerate() {
            if needle.len() < MIN_NEEDLE_BYTES {
                return Err(StoreError::NeedleTooShort {
                    index,
                    bytes: needle.len(),
                    minimum: MIN_NEEDLE_BYTES,
                });
            }
            let once = json_escaped(needle);
            let twice = json_escaped(&once);
            for form in [needle.clone(), once, twice] {
                if !forms.iter().any(|(known, _)| *known == form) {
                    forms.push((form, index));
                }
            }
        }
        let mut prefixes = Box::new([0u64; 1024]);
        for (form, _) in &forms {
            if let [first, second, ..] = form.as_bytes() {
                let key = prefix_key(*first, *second);
                if let Some(word) = prefixes.get_mut(key / 64) {
                    *word |= 1 << (key % 64);
                }
            }
        }
        Ok(Needles { forms, prefixes })
    }

    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// Every form searched: each needle as given, then escaped once and twice for JSON.
    pub fn forms(&self) -> impl Iterator<Item = &str> {
        self.forms.iter().map(|(form, _)| form.as_str())
    }

    /// Whether any form of any needle occurs in `haystack`.
    pub fn found_in(&self, haystack: &[u8]) -> bool {
        self.first_in(haystack).is_some()
    }

    /// The index (in the caller's list) of a needle that occurs in `haystack`.
    fn first_in(&self, haystack: &[u8]) -> Option<usize> {
        for (offset, pair) in haystack.windows(2).enumerate() {
            let [first, second] = pair else { continue };
            let key = prefix_key(*first, *second);
            let word = self.prefixes.get(key / 64).copied().unwrap_or(0);
            if word & (1 << (key % 64)) == 0 {
                continue;
            }
            let rest = haystack.get(offset..).unwrap_or_default();
            if let Some((_, index)) = self
                .forms
                .iter()
                .find(|(form, _)| rest.starts_with(form.as_bytes()))
            {
                return Some(*index);
            }
        }
        None
    }

    /// Refuses needles that occur in text the store writes on its own (`what` names it): such
    /// a needle names no one, and no erasure could remove it. The message gives the needle's
    /// index, not the needle, which is personal data.
    pub fn refuse_in(&self, text: &str, what: &str) -> Result<(), StoreError> {
        match self.first_in(text.as_bytes()) {
            Some(index) => Err(StoreError::InvalidRequest {
                reason: format!(
                    "needle {index} occurs in {what}, which the store writes on its own: it \
                     names no one in particular and cannot be erased"
                ),
            }),
            None => Ok(()),
        }
    }
}

fn prefix_key(first: u8, second: u8) -> usize {
    usize::from(first) << 8 | usize::from(second)
}

/// `text` as it appears between the quotes of a JSON string written by serde_json: quotes,
/// backslashes and control characters escaped, everything else as is.
pub fn json_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            '\u{8}' => escaped.push_str("\\b"),
            '\u{c}' => escaped.push_str("\\f"),
            control if u32::from(control) < 0x20 => {
                let _ = write!(escaped, "\\u{:04x}", u32::from(control));
            }
            other => escaped.push(other),
        }
    }
    escaped
}

/// The JSON an erased event or finding keeps: `{"erased":true,"reason":...}`. Refuses a reason
/// longer than [`MAX_REASON_BYTES`] or with control characters.
pub fn tombstone_json(reason: &str) -> Result<String, StoreError> {
    if reason.len() > MAX_REASON_BYTES {
        return Err(StoreError::InvalidRequest {
            reason: format!(
                "a tombstone reason is at most {MAX_REASON_BYTES} bytes, not {}",
                reason.len()
            ),
        });
    }
    if reason.chars().any(char::is_control) {
        return Err(StoreError::InvalidRequest {
            reason: "a tombstone reason must not hold control characters".to_owned(),
        });
    }
    Ok(format!(
        r#"{{"erased":true,"reason":"{}"}}"#,
        json_escaped(reason)
    ))
}

/// The JSON of a tombstone retention leaves.
pub(crate) fn retention_tombstone() -> String {
    format!(r#"{{"erased":true,"reason":"{RETENTION_REASON}"}}"#)
}

/// The uid a finding tombstone takes when its uid held a needle: [`ERASED_FINDING_UID_PREFIX`]
/// and the hex SHA-256 of the uid. Hex digits can spell a short needle by chance (one in about
/// seventy for a three-digit one), so the uid is hashed again with a counter until no needle
/// shows; `None` if none of many attempts is clean, and then the row is deleted instead.
pub fn erased_finding_uid(uid: &str, needles: &Needles) -> Option<String> {
    (0u32..64).find_map(|attempt| {
        let mut hasher = sha2::Sha256::new();
        hasher.update(uid.as_bytes());
        if attempt > 0 {
            hasher.update(attempt.to_le_bytes());
        }
        let renamed = format!(
            "{ERASED_FINDING_UID_PREFIX}{}",
            hex(&hasher.finalize().into())
        );
        (!needles.found_in(renamed.as_bytes())).then_some(renamed)
    })
}

/// Lowercase hex of a SHA-256 digest.
pub(crate) fn hex(digest: &[u8; 32]) -> String {
    let mut text = String::with_capacity(64);
    for byte in digest {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needles(list: &[&str]) -> Needles {
        Needles::new(&list.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn needles_match_exact_bytes_and_their_json_escaped_forms() {
        let set = needles(&["alice", r"CORP\bob", "4411"]);
        assert!(set.found_in(b"x alice y"));
        assert!(!set.found_in(b"Alice"), "case-sensitive");
        assert!(set.found_in(br#"{"user":"CORP\\bob"}"#), "escaped once");
        assert!(
            set.found_in(br#""raw":"{\"user\":\"CORP\\\\bob\"}""#),
            "twice"
        );
        assert!(set.found_in(b"badge 4411"));
        assert!(set.found_in(b"4411"), "at the very end");
        assert!(!set.found_in(b"441"));
        assert!(!set.found_in(b""));
        assert!(!needles(&[]).found_in(b"anything"));
        assert_eq!(set.forms().count(), 5);
    }

    #[test]
    fn short_needles_are_refused_by_index() {
        let error = Needles::new(&["alice".to_owned(), "ab".to_owned()]).unwrap_err();
        assert!(
            matches!(
                error,
                StoreError::NeedleTooShort {
                    index: 1,
                    bytes: 2,
                    minimum: 3
                }
            ),
            "{error:?}"
        );
        assert!(!format!("{:?}", needles(&["secret-name"])).contains("secret"));
    }

    #[test]
    fn json_escaping_follows_serde_json() {
        assert_eq!(json_escaped("a\"b\\c\n\u{1}é"), "a\\\"b\\\\c\\n\\u0001é");
    }

    #[test]
    fn tombstones_refuse_unfit_reasons() {
        assert_eq!(
            tombstone_json("GDPR \"art. 17\"").unwrap(),
            r#"{"erased":true,"reason":"GDPR \"art. 17\""}"#
        );
        assert!(tombstone_json("line\nbreak").is_err());
        assert!(tombstone_json(&"x".repeat(MAX_REASON_BYTES + 1)).is_err());
        assert!(
            needles(&["erased"])
                .refuse_in(&tombstone_json("r").unwrap(), "the tombstone")
                .is_err()
        );
    }

    #[test]
    fn an_erased_finding_uid_never_spells_a_needle() {
        let plain = erased_finding_uid("f-alice-1", &needles(&["alice"])).unwrap();
        assert!(plain.starts_with(ERASED_FINDING_UID_PREFIX));
        assert_eq!(plain.len(), ERASED_FINDING_UID_PREFIX.len() + 64);
        // Every three-digit hex needle a first digest holds is avoided by hashing again.
        let first = plain.trim_start_matches(ERASED_FINDING_UID_PREFIX);
        let spelled: Vec<String> = (0..first.len() - 2)
            .map(|at| first[at..at + 3].to_owned())
            .collect();
        let set = Needles::new(&spelled).unwrap();
        let renamed = erased_finding_uid("f-alice-1", &set).unwrap();
        assert!(!set.found_in(renamed.as_bytes()));
    }
}
