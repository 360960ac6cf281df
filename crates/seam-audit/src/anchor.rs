//! Signed anchors: "the records up to `seq` were dropped by retention, and the record at `seq`
//! had hash `hash`", signed with the audit key at `time`. The chain of the records kept starts
//! from an anchor instead of the genesis value.

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use ed25519_dalek::Signature;
use seam_model::Ts;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, CheckpointFault, CheckpointLine};
use crate::files::{LineReader, StoredLine};
use crate::key::{AuditKey, PublicKey};
use crate::{AuditError, hex, io_error};

/// The anchor file in the audit directory: one anchor per line, as JSON.
pub const ANCHOR_FILE: &str = "anchors.log";

/// One signed anchor; also its JSON line in `anchors.log` (or its table), members in this
/// order. In a witness file or an export it is wrapped: `{"anchor":{…}}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Anchor {
    /// The last record dropped.
    pub seq: u64,
    /// That record's hash: the `prev` of the first record kept.
    #[serde(with = "crate::hex::array")]
    pub hash: [u8; 32],
    /// When it was signed, as the caller said.
    pub time: Ts,
    /// The signer's [`PublicKey::key_id`].
    pub key_id: String,
    /// Ed25519 over [`anchor_message`].
    #[serde(with = "crate::hex::array")]
    pub signature: [u8; 64],
}

impl fmt::Debug for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Anchor")
            .field("seq", &self.seq)
            .field("hash", &hex::encode(&self.hash))
            .field("time", &self.time)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// The signed message: `seam-audit-anchor-v1\n<seq>\n<hash as 64 lowercase hex>\n<time>`, as
/// [`checkpoint_message`](crate::checkpoint_message) but in its own domain, so that no
/// checkpoint's signature is an anchor's.
pub fn anchor_message(seq: u64, hash: &[u8; 32], time: Ts) -> Vec<u8> {
    format!(
        "seam-audit-anchor-v1\n{seq}\n{}\n{}",
        hex::encode(hash),
        time.millis()
    )
    .into_bytes()
}

/// An anchor's line in a witness file or an export.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WrappedAnchor {
    pub(crate) anchor: Anchor,
}

/// How a wrapped anchor's line starts.
pub(crate) const WRAPPED_PREFIX: &[u8] = b"{\"anchor\":";

impl Anchor {
    pub fn sign(key: &AuditKey, seq: u64, hash: [u8; 32], time: Ts) -> Anchor {
        Anchor {
            seq,
            hash,
            time,
            key_id: key.public_key().key_id(),
            signature: key.sign(&anchor_message(seq, &hash, time)),
        }
    }

    /// Whether `key` signed this anchor (strictly, as checkpoints).
    pub fn check(&self, key: &PublicKey) -> Result<(), CheckpointFault> {
        if self.key_id != key.key_id() {
            return Err(CheckpointFault::OtherKey);
        }
        let signature = Signature::from_bytes(&self.signature);
        key.verifying()
            .verify_strict(&anchor_message(self.seq, &self.hash, self.time), &signature)
            .map_err(|_| CheckpointFault::BadSignature)
    }

    /// Its line in `anchors.log`, newline included.
    pub fn to_line(&self) -> Result<Vec<u8>, AuditError> {
        let mut line = serde_json::to_vec(self).map_err(|source| AuditError::Encode { source })?;
        line.push(b'\n');
        Ok(line)
    }

    /// Its wrapped line, `{"anchor":{…}}`, for a witness file or an export, newline included.
    pub fn to_wrapped_line(&self) -> Result<Vec<u8>, AuditError> {
        let mut line = serde_json::to_vec(&WrappedAnchor {
            anchor: self.clone(),
        })
        .map_err(|source| AuditError::Encode { source })?;
        line.push(b'\n');
        Ok(line)
    }

    /// Reads one line of `anchors.log` (with or without its newline).
    pub fn from_line(line: &[u8]) -> Result<Anchor, serde_json::Error> {
        serde_json::from_slice(line.strip_suffix(b"\n").unwrap_or(line))
    }

    /// Reads one wrapped line (with or without its newline).
    pub fn from_wrapped_line(line: &[u8]) -> Result<Anchor, serde_json::Error> {
        serde_json::from_slice::<WrappedAnchor>(line.strip_suffix(b"\n").unwrap_or(line))
            .map(|w| w.anchor)
    }
}

/// A line of an anchor file: its number (from 1; a row's key in a table) and the anchor, or
/// why it is not one.
pub type AnchorLine = (u64, Result<Anchor, String>);

fn open_optional(path: &Path) -> Result<Option<File>, AuditError> {
    match File::open(path) {
        Ok(file) => Ok(Some(file)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(io_error("open", path)(error)),
    }
}

fn parsed<T>(
    line: StoredLine<'_>,
    read: impl FnOnce(&[u8]) -> Result<T, serde_json::Error>,
    what: &str,
) -> Result<T, String> {
    match line {
        StoredLine::Complete(bytes) => read(bytes).map_err(|error| error.to_string()),
        StoredLine::Unterminated(_) => {
            Err("the last line has no newline (a write cut short)".to_string())
        }
        StoredLine::TooLong => Err(format!("the line is too long to be {what}")),
    }
}

/// Reads `anchors.log` whole; a missing file is `None`.
pub(crate) fn read_anchor_file(path: &Path) -> Result<Option<Vec<AnchorLine>>, AuditError> {
    let Some(file) = open_optional(path)? else {
        return Ok(None);
    };
    let mut reader = LineReader::new(BufReader::new(file));
    let mut lines = Vec::new();
    while let Some(line) = reader.next_line().map_err(io_error("read", path))? {
        let anchor = parsed(line, Anchor::from_line, "an anchor");
        lines.push((reader.line_number(), anchor));
    }
    Ok(Some(lines))
}

/// A witness file's checkpoint lines and anchor lines.
pub(crate) type WitnessLines = (Vec<CheckpointLine>, Vec<AnchorLine>);

/// Reads a witness file whole: its checkpoint lines and its wrapped anchor lines, each
/// numbered by its line in the file; a missing file is `None`.
pub(crate) fn read_witness_file(path: &Path) -> Result<Option<WitnessLines>, AuditError> {
    let Some(file) = open_optional(path)? else {
        return Ok(None);
    };
    let mut reader = LineReader::new(BufReader::new(file));
    let mut checkpoints = Vec::new();
    let mut anchors = Vec::new();
    while let Some(line) = reader.next_line().map_err(io_error("read", path))? {
        let wrapped =
            matches!(line, StoredLine::Complete(bytes) if bytes.starts_with(WRAPPED_PREFIX));
        if wrapped {
            let anchor = parsed(line, Anchor::from_wrapped_line, "an anchor");
            anchors.push((reader.line_number(), anchor));
        } else {
            let checkpoint = parsed(line, Checkpoint::from_line, "a checkpoint");
            checkpoints.push((reader.line_number(), checkpoint));
        }
    }
    Ok(Some((checkpoints, anchors)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_as_documented_and_apart_from_checkpoints() {
        let message = anchor_message(42, &[0xab; 32], Ts::from_millis(-5));
        let expected = format!("seam-audit-anchor-v1\n42\n{}\n-5", "ab".repeat(32));
        assert_eq!(message, expected.into_bytes());
        let key = AuditKey::from_seed(&[1; 32]);
        let checkpoint = Checkpoint::sign(&key, 10, [7; 32], Ts::from_secs(100));
        let as_anchor = Anchor {
            seq: checkpoint.seq,
            hash: checkpoint.hash,
            time: checkpoint.time,
            key_id: checkpoint.key_id.clone(),
            signature: checkpoint.signature,
        };
        assert_eq!(
            as_anchor.check(&key.public_key()),
            Err(CheckpointFault::BadSignature)
        );
    }

    #[test]
    fn signs_checks_and_round_trips() {
        let key = AuditKey::from_seed(&[1; 32]);
        let other = AuditKey::from_seed(&[2; 32]);
        let anchor = Anchor::sign(&key, 10, [7; 32], Ts::from_secs(100));
        assert_eq!(anchor.check(&key.public_key()), Ok(()));
        assert_eq!(
            anchor.check(&other.public_key()),
            Err(CheckpointFault::OtherKey)
        );
        let line = anchor.to_line().unwrap();
        assert!(line.starts_with(b"{\"seq\":10,\"hash\":\""));
        assert_eq!(Anchor::from_line(&line).unwrap(), anchor);
        let wrapped = anchor.to_wrapped_line().unwrap();
        assert!(wrapped.starts_with(WRAPPED_PREFIX));
        assert_eq!(Anchor::from_wrapped_line(&wrapped).unwrap(), anchor);
    }
}
