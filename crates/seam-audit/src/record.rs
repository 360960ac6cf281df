//! One audit record: who did what, to whose data and why, and its link in the chain.
//!
//! The hash covers the record's line as stored, not a re-encoding of its fields, so a verifier
//! needs no JSON encoder that agrees byte for byte with the writer's (see the crate docs).

use std::borrow::Cow;
use std::fmt;

use seam_model::Ts;
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};

use crate::{AuditError, hex};

/// The `prev` of the first record: SHA-256 of the ASCII text `seam-audit-v1`.
pub const GENESIS: [u8; 32] = [
    0x7b, 0x43, 0xe7, 0x33, 0x6f, 0x4d, 0x71, 0x4e, 0x19, 0xc5, 0x1b, 0xca, 0xb7, 0x4e, 0xcb, 0x1c,
    0x09, 0x27, 0x37, 0x3c, 0x14, 0xf5, 0x15, 0x79, 0x3a, 0xd4, 0x43, 0x93, 0x3d, 0xdc, 0x5e, 0x51,
];

/// The longest line a record may take, newline excluded. The writer refuses longer records and
/// a reader reports longer lines as unreadable without holding them in memory.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// What ends every record line (before its newline): `,"hash":"<64 hex digits>"}`.
const HASH_MEMBER: &[u8] = b",\"hash\":\"";
const HASH_SUFFIX_LEN: usize = HASH_MEMBER.len() + 64 + 2;

/// What was done. Written in snake case (`sign_in_failed`, `person_read`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    SignIn,
    SignInFailed,
    SignOut,
    TokenCreated,
    TokenRevoked,
    UserCreated,
    UserChanged,
    UserDisabled,
    ConfigChanged,
    RulesChanged,
    FindingChanged,
    /// A person's data was read; `subject` is their pseudonym and `purpose` the stated reason.
    PersonRead,
    /// A pseudonym was resolved to the person's name for someone.
    PersonRevealed,
    SubjectExported,
    SubjectErased,
    RetentionRun,
    AuditExported,
    DirectoryChanged,
    /// A case was opened, changed, merged or split.
    CaseChanged,
    /// A suppression was made or ended.
    SuppressionChanged,
    /// Evidence was uploaded, downloaded or exported (its chain of custody).
    EvidenceAccessed,
    Other,
}

impl AuditAction {
    pub const ALL: [AuditAction; 22] = [
        AuditAction::SignIn,
        AuditAction::SignInFailed,
        AuditAction::SignOut,
        AuditAction::TokenCreated,
        AuditAction::TokenRevoked,
        AuditAction::UserCreated,
        AuditAction::UserChanged,
        AuditAction::UserDisabled,
        AuditAction::ConfigChanged,
        AuditAction::RulesChanged,
        AuditAction::FindingChanged,
        AuditAction::PersonRead,
        AuditAction::PersonRevealed,
        AuditAction::SubjectExported,
        AuditAction::SubjectErased,
        AuditAction::RetentionRun,
        AuditAction::AuditExported,
        AuditAction::DirectoryChanged,
        AuditAction::CaseChanged,
        AuditAction::SuppressionChanged,
        AuditAction::EvidenceAccessed,
        AuditAction::Other,
    ];

    /// The name as written in records.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SignIn => "sign_in",
            AuditAction::SignInFailed => "sign_in_failed",
            AuditAction::SignOut => "sign_out",
            AuditAction::TokenCreated => "token_created",
            AuditAction::TokenRevoked => "token_revoked",
            AuditAction::UserCreated => "user_created",
            AuditAction::UserChanged => "user_changed",
            AuditAction::UserDisabled => "user_disabled",
            AuditAction::ConfigChanged => "config_changed",
            AuditAction::RulesChanged => "rules_changed",
            AuditAction::FindingChanged => "finding_changed",
            AuditAction::PersonRead => "person_read",
            AuditAction::PersonRevealed => "person_revealed",
            AuditAction::SubjectExported => "subject_exported",
            AuditAction::SubjectErased => "subject_erased",
            AuditAction::RetentionRun => "retention_run",
            AuditAction::AuditExported => "audit_exported",
            AuditAction::DirectoryChanged => "directory_changed",
            AuditAction::CaseChanged => "case_changed",
            AuditAction::SuppressionChanged => "suppression_changed",
            AuditAction::EvidenceAccessed => "evidence_accessed",
            AuditAction::Other => "other",
        }
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the caller says happened; the log adds the sequence number, time and chain.
///
/// Pseudonyms and digests only: a name written here would survive the person's erasure,
/// because the audit cannot be rewritten.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditEntry {
    /// A user id or pseudonym, a token id, or `system`.
    pub actor: String,
    pub action: AuditAction,
    /// Whose data or which object: a pseudonym or a digest, never a name.
    pub subject: Option<String>,
    /// The purpose stated for reading a person's data.
    pub purpose: Option<String>,
    /// Small structured detail (ids, digests, counts); `null` when there is none.
    pub detail: serde_json::Value,
}

impl AuditEntry {
    pub fn new(actor: impl Into<String>, action: AuditAction) -> AuditEntry {
        AuditEntry {
            actor: actor.into(),
            action,
            subject: None,
            purpose: None,
            detail: serde_json::Value::Null,
        }
    }

    pub fn subject(mut self, subject: impl Into<String>) -> AuditEntry {
        self.subject = Some(subject.into());
        self
    }

    pub fn purpose(mut self, purpose: impl Into<String>) -> AuditEntry {
        self.purpose = Some(purpose.into());
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> AuditEntry {
        self.detail = detail;
        self
    }
}

/// A record as stored: one JSON object per line, its members in this order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRecord {
    /// 1 for the first record, then one more for each.
    pub seq: u64,
    /// When it happened, as the caller said.
    pub time: Ts,
    pub actor: String,
    pub action: AuditAction,
    pub subject: Option<String>,
    pub purpose: Option<String>,
    pub detail: serde_json::Value,
    /// The previous record's `hash`, or [`GENESIS`] for the first.
    #[serde(with = "crate::hex::array")]
    pub prev: [u8; 32],
    /// SHA-256 of the line's bytes before `,"hash":"`.
    #[serde(with = "crate::hex::array")]
    pub hash: [u8; 32],
}

/// The members a hash covers, borrowed, in their fixed order.
#[derive(Serialize)]
pub(crate) struct Body<'a> {
    pub(crate) seq: u64,
    pub(crate) time: Ts,
    pub(crate) actor: &'a str,
    pub(crate) action: AuditAction,
    pub(crate) subject: Option<&'a str>,
    pub(crate) purpose: Option<&'a str>,
    pub(crate) detail: &'a serde_json::Value,
    #[serde(with = "crate::hex::array")]
    pub(crate) prev: [u8; 32],
}

impl<'a> Body<'a> {
    pub(crate) fn of_entry(seq: u64, time: Ts, entry: &'a AuditEntry, prev: [u8; 32]) -> Body<'a> {
        Body {
            seq,
            time,
            actor: &entry.actor,
            action: entry.action,
            subject: entry.subject.as_deref(),
            purpose: entry.purpose.as_deref(),
            detail: &entry.detail,
            prev,
        }
    }
}

/// Writes `body`'s line (newline included) into `out`, replacing its content, and returns
/// the hash, which the line ends with.
pub(crate) fn encode_line(body: &Body<'_>, out: &mut Vec<u8>) -> Result<[u8; 32], AuditError> {
    out.clear();
    serde_json::to_writer(&mut *out, body).map_err(|source| AuditError::Encode { source })?;
    // serde_json closes the object with `}`; the hash member goes before it.
    let closing = out.pop();
    debug_assert_eq!(closing, Some(b'}'));
    let hash: [u8; 32] = Sha256::digest(out.as_slice()).into();
    out.extend_from_slice(HASH_MEMBER);
    hex::encode_into(&hash, out);
    out.extend_from_slice(b"\"}\n");
    Ok(hash)
}

impl AuditRecord {
    fn body(&self) -> Body<'_> {
        Body {
            seq: self.seq,
            time: self.time,
            actor: &self.actor,
            action: self.action,
            subject: self.subject.as_deref(),
            purpose: self.purpose.as_deref(),
            detail: &self.detail,
            prev: self.prev,
        }
    }

    /// The hash the writer would give these fields (what `hash` should be).
    pub fn compute_hash(&self) -> Result<[u8; 32], AuditError> {
        encode_line(&self.body(), &mut Vec::new())
    }

    /// The record's line as the writer writes it, with the stored `hash` and a newline.
    pub fn to_line(&self) -> Result<Vec<u8>, AuditError> {
        let mut line = Vec::new();
        encode_line(&self.body(), &mut line)?;
        // Swap in the stored hash: a record whose hash is wrong is written as it is.
        line.truncate(line.len().saturating_sub(HASH_SUFFIX_LEN + 1));
        line.extend_from_slice(HASH_MEMBER);
        hex::encode_into(&self.hash, &mut line);
        line.extend_from_slice(b"\"}\n");
        Ok(line)
    }

    /// Reads one record line (with or without its newline). Checks the form, not the hash.
    pub fn from_line(line: &[u8]) -> Result<AuditRecord, AuditError> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let (_, stored) = split_hash(line).map_err(|reason| AuditError::BadRecord { reason })?;
        let record: AuditRecord =
            serde_json::from_slice(line).map_err(|error| AuditError::BadRecord {
                reason: error.to_string(),
            })?;
        if record.hash != stored {
            return Err(AuditError::BadRecord {
                reason: "the hash member is not the last".to_string(),
            });
        }
        Ok(record)
    }
}

/// Splits a line into the bytes its hash covers and the stored hash.
fn split_hash(line: &[u8]) -> Result<(&[u8], [u8; 32]), String> {
    let malformed = || "the line does not end with `,\"hash\":\"<64 lowercase hex digits>\"}`";
    let cut = line
        .len()
        .checked_sub(HASH_SUFFIX_LEN)
        .ok_or_else(malformed)?;
    let (hashed, suffix) = line.split_at_checked(cut).ok_or_else(malformed)?;
    let digits = suffix
        .strip_prefix(HASH_MEMBER)
        .and_then(|rest| rest.strip_suffix(b"\"}"))
        .ok_or_else(malformed)?;
    let stored = hex::decode::<32>(digits).ok_or_else(malformed)?;
    Ok((hashed, stored))
}

/// What a verifier needs from one line, read without copying its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LineFacts {
    pub(crate) seq: u64,
    pub(crate) time: Ts,
    pub(crate) prev: [u8; 32],
    /// The hash the line carries.
    pub(crate) stored: [u8; 32],
    /// The hash of the bytes it covers.
    pub(crate) computed: [u8; 32],
}

/// A string whose text is not needed: checked to be a string, never allocated.
struct AnyStr;

impl<'de> Deserialize<'de> for AnyStr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AnyStr, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = AnyStr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<AnyStr, E> {
                Ok(AnyStr)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

/// The record's members as a verifier reads them: every member checked for its type, only
/// the chain's kept.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Strict {
    seq: u64,
    time: Ts,
    #[expect(dead_code, reason = "read to check its type")]
    actor: AnyStr,
    #[expect(dead_code, reason = "read to check it is a known action")]
    action: AuditAction,
    #[expect(dead_code, reason = "read to check its type")]
    subject: Option<AnyStr>,
    #[expect(dead_code, reason = "read to check its type")]
    purpose: Option<AnyStr>,
    #[expect(dead_code, reason = "any JSON value")]
    detail: IgnoredAny,
    #[serde(with = "crate::hex::array")]
    prev: [u8; 32],
    #[serde(with = "crate::hex::array")]
    hash: [u8; 32],
}

/// Reads a record line (newline excluded) for verification. The error is why it is not a
/// record, for the report.
pub(crate) fn read_line(line: &[u8]) -> Result<LineFacts, Cow<'static, str>> {
    let (hashed, stored) = split_hash(line).map_err(Cow::Owned)?;
    let strict: Strict =
        serde_json::from_slice(line).map_err(|error| Cow::Owned(error.to_string()))?;
    if strict.hash != stored {
        return Err(Cow::Borrowed("the hash member is not the last"));
    }
    Ok(LineFacts {
        seq: strict.seq,
        time: strict.time,
        prev: strict.prev,
        stored,
        computed: Sha256::digest(hashed).into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AuditEntry {
        AuditEntry::new("u-7f3a", AuditAction::PersonRead)
            .subject("p-3c9e1d")
            .purpose("investigating finding f-12")
            .detail(serde_json::json!({"finding": "f-12", "fields": ["badge", "zone"]}))
    }

    #[test]
    fn genesis_is_the_digest_of_its_label() {
        let digest: [u8; 32] = Sha256::digest(b"seam-audit-v1").into();
        assert_eq!(digest, GENESIS);
    }

    #[test]
    fn action_names_match_their_serde_names() {
        for action in AuditAction::ALL {
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(json, format!("\"{}\"", action.as_str()));
        }
    }

    /// The documented rule, applied by hand: SHA-256 of the bytes before `,"hash":"`.
    #[test]
    fn the_hash_covers_the_line_before_the_hash_member() {
        let entry = sample();
        let mut line = Vec::new();
        let hash = encode_line(
            &Body::of_entry(7, Ts::from_secs(1_772_442_900), &entry, GENESIS),
            &mut line,
        )
        .unwrap();
        let text = String::from_utf8(line.clone()).unwrap();
        assert_eq!(
            text,
            format!(
                "{{\"seq\":7,\"time\":\"2026-03-02T09:15:00.000Z\",\"actor\":\"u-7f3a\",\
                 \"action\":\"person_read\",\"subject\":\"p-3c9e1d\",\
                 \"purpose\":\"investigating finding f-12\",\
                 \"detail\":{{\"fields\":[\"badge\",\"zone\"],\"finding\":\"f-12\"}},\
                 \"prev\":\"{}\",\"hash\":\"{}\"}}\n",
                hex::encode(&GENESIS),
                hex::encode(&hash)
            )
        );
        let cut = text.find(",\"hash\":\"").unwrap();
        let by_hand: [u8; 32] = Sha256::digest(&text.as_bytes()[..cut]).into();
        assert_eq!(by_hand, hash);

        let facts = read_line(&line[..line.len() - 1]).unwrap();
        assert_eq!(facts.seq, 7);
        assert_eq!(facts.stored, hash);
        assert_eq!(facts.computed, hash);
        assert_eq!(facts.prev, GENESIS);
    }

    #[test]
    fn records_round_trip_through_their_line() {
        let entry = sample();
        let mut line = Vec::new();
        let hash = encode_line(
            &Body::of_entry(1, Ts::from_secs(5), &entry, GENESIS),
            &mut line,
        )
        .unwrap();
        let record = AuditRecord::from_line(&line).unwrap();
        assert_eq!(record.hash, hash);
        assert_eq!(record.actor, "u-7f3a");
        assert_eq!(record.compute_hash().unwrap(), hash);
        assert_eq!(record.to_line().unwrap(), line);

        let mut edited = record.clone();
        edited.actor = "u-0000".to_string();
        assert_ne!(edited.compute_hash().unwrap(), hash);
        // The stored hash is written as it is, so the edit shows.
        let edited_line = edited.to_line().unwrap();
        let facts = read_line(&edited_line[..edited_line.len() - 1]).unwrap();
        assert_ne!(facts.stored, facts.computed);
    }

    #[test]
    fn malformed_lines_are_refused_with_a_reason() {
        for line in [
            &b""[..],
            b"{}",
            b"not json at all, not json at all, not json at all, not json at all, not json at all",
            b"{\"seq\":1,\"hash\":\"00\"}",
        ] {
            assert!(
                read_line(line).is_err(),
                "{}",
                String::from_utf8_lossy(line)
            );
            assert!(AuditRecord::from_line(line).is_err());
        }
        // Upper-case hex is another spelling of the same digest: refused.
        let entry = sample();
        let mut line = Vec::new();
        encode_line(
            &Body::of_entry(1, Ts::from_secs(5), &entry, GENESIS),
            &mut line,
        )
        .unwrap();
        let upper = String::from_utf8(line).unwrap().trim_end().to_string();
        let at = upper.rfind(":\"").unwrap() + 2;
        let upper = format!("{}{}", &upper[..at], upper[at..].to_uppercase());
        assert!(read_line(upper.as_bytes()).is_err());
    }
}
