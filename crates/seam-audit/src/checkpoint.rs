//! Signed checkpoints: "the record at `seq` has hash `hash`", signed with the audit key at
//! `time`. A checkpoint vouches for every record up to `seq`, because each links to the one
//! before.

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use ed25519_dalek::Signature;
use seam_model::Ts;
use serde::{Deserialize, Serialize};

use crate::files::{LineReader, StoredLine};
use crate::key::{AuditKey, PublicKey};
use crate::{AuditError, hex, io_error};

/// The checkpoint file in the audit directory: one checkpoint per line, as JSON.
pub const CHECKPOINT_FILE: &str = "checkpoints.log";

/// One signed checkpoint; also its JSON line, members in this order.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// The last record it covers (0 for an empty log, whose hash is the genesis value).
    pub seq: u64,
    /// That record's hash.
    #[serde(with = "crate::hex::array")]
    pub hash: [u8; 32],
    /// When it was signed, as the caller said.
    pub time: Ts,
    /// The signer's [`PublicKey::key_id`].
    pub key_id: String,
    /// Ed25519 over [`checkpoint_message`].
    #[serde(with = "crate::hex::array")]
    pub signature: [u8; 64],
}

impl fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checkpoint")
            .field("seq", &self.seq)
            .field("hash", &hex::encode(&self.hash))
            .field("time", &self.time)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// The signed message: `seam-audit-checkpoint-v1\n<seq>\n<hash as 64 lowercase hex>\n<time>`,
/// with `seq` and `time` (milliseconds since the Unix epoch, possibly negative) in decimal
/// ASCII and no trailing newline.
pub fn checkpoint_message(seq: u64, hash: &[u8; 32], time: Ts) -> Vec<u8> {
    format!(
        "seam-audit-checkpoint-v1\n{seq}\n{}\n{}",
        hex::encode(hash),
        time.millis()
    )
    .into_bytes()
}

/// Why a checkpoint is not vouched for by a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckpointFault {
    /// It names another signer.
    OtherKey,
    /// It names this key but the signature does not verify.
    BadSignature,
}

impl Checkpoint {
    pub fn sign(key: &AuditKey, seq: u64, hash: [u8; 32], time: Ts) -> Checkpoint {
        Checkpoint {
            seq,
            hash,
            time,
            key_id: key.public_key().key_id(),
            signature: key.sign(&checkpoint_message(seq, &hash, time)),
        }
    }

    /// Whether `key` signed this checkpoint (strict verification: no malleable signatures).
    pub fn check(&self, key: &PublicKey) -> Result<(), CheckpointFault> {
        if self.key_id != key.key_id() {
            return Err(CheckpointFault::OtherKey);
        }
        let signature = Signature::from_bytes(&self.signature);
        key.verifying()
            .verify_strict(
                &checkpoint_message(self.seq, &self.hash, self.time),
                &signature,
            )
            .map_err(|_| CheckpointFault::BadSignature)
    }

    /// Its line, newline included.
    pub fn to_line(&self) -> Result<Vec<u8>, AuditError> {
        let mut line = serde_json::to_vec(self).map_err(|source| AuditError::Encode { source })?;
        line.push(b'\n');
        Ok(line)
    }

    /// Reads one line (with or without its newline).
    pub fn from_line(line: &[u8]) -> Result<Checkpoint, serde_json::Error> {
        serde_json::from_slice(line.strip_suffix(b"\n").unwrap_or(line))
    }
}

/// A line of a checkpoint file: its number (from 1; a row's key in a table) and the
/// checkpoint, or why it is not one.
pub type CheckpointLine = (u64, Result<Checkpoint, String>);

/// Reads a checkpoint file (`checkpoints.log` or a witness file) whole; a missing file is
/// `None`. Lines are bounded like record lines, so a garbage file cannot exhaust memory.
pub(crate) fn read_checkpoint_file(path: &Path) -> Result<Option<Vec<CheckpointLine>>, AuditError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error("open", path)(error)),
    };
    let mut reader = LineReader::new(BufReader::new(file));
    let mut lines = Vec::new();
    while let Some(line) = reader.next_line().map_err(io_error("read", path))? {
        let parsed = match line {
            StoredLine::Complete(bytes) => {
                Checkpoint::from_line(bytes).map_err(|error| error.to_string())
            }
            StoredLine::Unterminated(_) => {
                Err("the last line has no newline (a write cut short)".to_string())
            }
            StoredLine::TooLong => Err("the line is too long to be a checkpoint".to_string()),
        };
        let number = reader.line_number();
        lines.push((number, parsed));
    }
    Ok(Some(lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_as_documented() {
        let message = checkpoint_message(42, &[0xab; 32], Ts::from_millis(-5));
        let expected = format!("seam-audit-checkpoint-v1\n42\n{}\n-5", "ab".repeat(32));
        assert_eq!(message, expected.into_bytes());
    }

    #[test]
    fn signs_and_checks_and_names_the_fault() {
        let key = AuditKey::from_seed(&[1; 32]);
        let other = AuditKey::from_seed(&[2; 32]);
        let checkpoint = Checkpoint::sign(&key, 10, [7; 32], Ts::from_secs(100));
        assert_eq!(checkpoint.check(&key.public_key()), Ok(()));
        assert_eq!(
            checkpoint.check(&other.public_key()),
            Err(CheckpointFault::OtherKey)
        );

        let mut moved = checkpoint.clone();
        moved.seq = 11;
        assert_eq!(
            moved.check(&key.public_key()),
            Err(CheckpointFault::BadSignature)
        );

        let mut relabelled = Checkpoint::sign(&other, 10, [7; 32], Ts::from_secs(100));
        relabelled.key_id = key.public_key().key_id();
        assert_eq!(
            relabelled.check(&key.public_key()),
            Err(CheckpointFault::BadSignature)
        );

        let line = checkpoint.to_line().unwrap();
        assert_eq!(Checkpoint::from_line(&line).unwrap(), checkpoint);
        assert!(line.starts_with(b"{\"seq\":10,\"hash\":\""));
    }
}
