//! Witnesses: places outside the data directory that keep a copy of every checkpoint, so that
//! whoever can rewrite the data directory cannot also rewrite what was vouched for.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::anchor::Anchor;
use crate::checkpoint::Checkpoint;
use crate::{AuditError, io_error};

/// Somewhere a checkpoint is copied to. Called synchronously from the thread that owns the
/// log, once per checkpoint; a failure is reported to the caller and does not stop the log
/// (the next checkpoint covers everything this one did).
pub trait Witness {
    /// What to call it in messages: a path or a URL, never a credential.
    fn describe(&self) -> String;

    /// Keeps the checkpoint durably before returning `Ok`.
    fn publish(&mut self, checkpoint: &Checkpoint) -> Result<(), AuditError>;

    /// Keeps an anchor (written before records are pruned) durably before returning `Ok`.
    /// A witness that cannot refuses, and then [`AuditLog::prune_before`](crate::AuditLog::prune_before)
    /// drops nothing: records may go only once every witness knows where the log now starts.
    fn publish_anchor(&mut self, _anchor: &Anchor) -> Result<(), AuditError> {
        Err(AuditError::Witness {
            witness: self.describe(),
            reason: "this witness does not take anchors".to_string(),
        })
    }
}

/// A file witness: appends each checkpoint as a line (the format of `checkpoints.log`) and
/// syncs it. One file per audit log.
#[derive(Debug)]
pub struct FileWitness {
    path: PathBuf,
    file: Option<File>,
}

impl FileWitness {
    pub fn new(path: impl Into<PathBuf>) -> FileWitness {
        FileWitness {
            path: path.into(),
            file: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Witness for FileWitness {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn publish(&mut self, checkpoint: &Checkpoint) -> Result<(), AuditError> {
        let line = checkpoint.to_line()?;
        self.append(&line)
    }

    /// Appends the anchor as `{"anchor":{…}}`, a line verify tells from a checkpoint.
    fn publish_anchor(&mut self, anchor: &Anchor) -> Result<(), AuditError> {
        let line = anchor.to_wrapped_line()?;
        self.append(&line)
    }
}

impl FileWitness {
    fn append(&mut self, line: &[u8]) -> Result<(), AuditError> {
        let file = match self.file.as_mut() {
            Some(file) => file,
            None => self.file.insert(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)
                    .map_err(io_error("open", &self.path))?,
            ),
        };
        let written = file.write_all(line).and_then(|()| file.sync_data());
        if let Err(error) = written {
            // Reopened next time: the handle may be on a file that was replaced or unmounted.
            self.file = None;
            return Err(io_error("write", &self.path)(error));
        }
        Ok(())
    }
}

/// Refuses a witness path inside the data directory, where it would witness nothing. Both
/// paths are resolved (symbolic links followed) as far as they exist.
pub fn check_witness_outside(witness: &Path, data_dir: &Path) -> Result<(), AuditError> {
    let data_dir = data_dir
        .canonicalize()
        .map_err(io_error("resolve", data_dir))?;
    let resolved = resolve_existing_prefix(witness)?;
    if resolved.starts_with(&data_dir) {
        return Err(AuditError::WitnessInsideDataDir {
            witness: witness.to_path_buf(),
            data_dir,
        });
    }
    Ok(())
}

/// The path with its longest existing ancestor canonicalized (the file itself may not exist yet).
fn resolve_existing_prefix(path: &Path) -> Result<PathBuf, AuditError> {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(io_error("resolve", path))?
            .join(path)
    };
    let mut rest = Vec::new();
    let mut existing = absolute.as_path();
    loop {
        if let Ok(resolved) = existing.canonicalize() {
            let mut full = resolved;
            full.extend(rest.iter().rev());
            return Ok(full);
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => return Ok(absolute),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::AuditKey;
    use seam_model::Ts;

    #[test]
    fn appends_one_line_per_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("witness.log");
        let mut witness = FileWitness::new(&path);
        let key = AuditKey::from_seed(&[4; 32]);
        let first = Checkpoint::sign(&key, 1, [1; 32], Ts::from_secs(1));
        let second = Checkpoint::sign(&key, 2, [2; 32], Ts::from_secs(2));
        witness.publish(&first).unwrap();
        witness.publish(&second).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<_> = text
            .lines()
            .map(|l| Checkpoint::from_line(l.as_bytes()).unwrap())
            .collect();
        assert_eq!(lines, vec![first, second]);
        assert_eq!(witness.describe(), path.display().to_string());
    }

    #[test]
    fn a_witness_inside_the_data_directory_is_refused() {
        let data = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let inside = data.path().join("audit").join("witness.log");
        assert!(matches!(
            check_witness_outside(&inside, data.path()),
            Err(AuditError::WitnessInsideDataDir { .. })
        ));
        assert!(check_witness_outside(&outside.path().join("w.log"), data.path()).is_ok());
    }
}
