//! Content-addressed evidence files: `<dir>/<first two hex>/<sha256>`.
//!
//! A file's only name is the SHA-256 of its bytes: a name a user sent is never part of a
//! path (cases keep it for display, see `seam_cases::evidence`). An upload streams into a
//! temporary file inside the store directory, is synced, and is renamed into place only
//! once complete, so a crash leaves at most a stray temporary file, never a half-written
//! piece of evidence under a digest. A read recomputes the digest and refuses bytes that no
//! longer match it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use seam_cases::evidence::is_sha256;
use sha2::{Digest, Sha256};

/// The prefix of an upload's temporary file in the store directory; digests never start
/// with a dot, so these never collide with stored evidence or its folders.
const TEMP_PREFIX: &str = ".upload-";

/// Why evidence could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("could not {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the evidence is larger than the limit of {max_bytes} bytes")]
    TooLarge { max_bytes: u64 },
    #[error("the evidence is empty")]
    Empty,
    #[error("this upload failed earlier and takes no more bytes")]
    Aborted,
    #[error("`{digest}` is not a lowercase hex SHA-256")]
    BadDigest { digest: String },
    #[error("no evidence `{sha256}` in the store")]
    NotFound { sha256: String },
    #[error("the evidence stored as `{sha256}` is corrupt: its bytes hash to `{found}`")]
    Corrupt { sha256: String, found: String },
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> EvidenceError {
    let path = path.to_path_buf();
    move |source| EvidenceError::Io {
        action,
        path,
        source,
    }
}

/// Lowercase hex of a digest.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What [`Upload::finish`] stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Lowercase hex SHA-256: the evidence's name in the store.
    pub sha256: String,
    pub bytes: u64,
    /// Whether the store did not hold these bytes already.
    pub new: bool,
}

/// A directory of evidence files named by their SHA-256.
#[derive(Debug, Clone)]
pub struct EvidenceStore {
    dir: PathBuf,
}

impl EvidenceStore {
    /// Opens the store in `dir` (usually `DATA_DIR/evidence`), creating the directory.
    pub fn open(dir: &Path) -> Result<EvidenceStore, EvidenceError> {
        fs::create_dir_all(dir).map_err(io_error("create the evidence directory", dir))?;
        Ok(EvidenceStore {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory the store lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where evidence with this digest lives, or why the digest cannot name any.
    fn path_of(&self, sha256: &str) -> Result<PathBuf, EvidenceError> {
        let folder = sha256.get(..2).filter(|_| is_sha256(sha256));
        match folder {
            Some(folder) => Ok(self.dir.join(folder).join(sha256)),
            None => Err(EvidenceError::BadDigest {
                digest: sha256.chars().take(80).collect(),
            }),
        }
    }

    /// Whether the store holds evidence under `sha256` (not checked: see
    /// [`EvidenceStore::read_checked`]). `false` for anything that is not a digest.
    pub fn contains(&self, sha256: &str) -> bool {
        self.path_of(sha256).is_ok_and(|path| path.is_file())
    }

    /// Removes (or with `dry_run` counts) every evidence file whose digest is not in `kept`:
    /// retention's last step, once the cases that held it are gone. Files that are not
    /// evidence (an upload under way) are left alone.
    pub fn remove_unreferenced(
        &self,
        kept: &std::collections::BTreeSet<String>,
        dry_run: bool,
    ) -> Result<u64, EvidenceError> {
        let mut removed = 0;
        let folders = fs::read_dir(&self.dir).map_err(io_error("list", &self.dir))?;
        for folder in folders {
            let folder = folder.map_err(io_error("list", &self.dir))?.path();
            if !folder.is_dir() {
                continue;
            }
            for file in fs::read_dir(&folder).map_err(io_error("list", &folder))? {
                let path = file.map_err(io_error("list", &folder))?.path();
                let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                if !is_sha256(name) || kept.contains(name) {
                    continue;
                }
                // A file stored in the last hour may belong to an upload whose case is being
                // saved right now.
                let recent = fs::metadata(&path)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|at| at.elapsed().ok())
                    .is_none_or(|age| age < std::time::Duration::from_secs(3600));
                if recent {
                    continue;
                }
                if !dry_run {
                    fs::remove_file(&path).map_err(io_error("remove", &path))?;
                }
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Starts an upload of at most `max_bytes` bytes.
    pub fn begin(&self, max_bytes: u64) -> Result<Upload, EvidenceError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        loop {
            let temp = self.dir.join(format!(
                "{TEMP_PREFIX}{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            match OpenOptions::new().write(true).create_new(true).open(&temp) {
                Ok(file) => {
                    return Ok(Upload {
                        dir: self.dir.clone(),
                        temp: Some(temp),
                        file: Some(file),
                        hasher: Sha256::new(),
                        bytes: 0,
                        max_bytes,
                    });
                }
                // Left by an earlier process with the same id: take the next number.
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(error) => return Err(io_error("create an upload file", &temp)(error)),
            }
        }
    }

    /// The bytes stored under `sha256`, checked against it: a file that is larger than
    /// `max_bytes` is refused, and one whose bytes no longer hash to its name is
    /// [`EvidenceError::Corrupt`], never returned.
    pub fn read_checked(&self, sha256: &str, max_bytes: u64) -> Result<Vec<u8>, EvidenceError> {
        let path = self.path_of(sha256)?;
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(EvidenceError::NotFound {
                    sha256: sha256.to_string(),
                });
            }
            Err(error) => return Err(io_error("open the evidence file", &path)(error)),
        };
        let length = file
            .metadata()
            .map_err(io_error("read the size of the evidence file", &path))?
            .len();
        if length > max_bytes {
            return Err(EvidenceError::TooLarge { max_bytes });
        }
        // The file may grow after the size was read: read one byte past the limit at most.
        let mut bytes = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
        file.take(max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(io_error("read the evidence file", &path))?;
        if bytes.len() as u64 > max_bytes {
            return Err(EvidenceError::TooLarge { max_bytes });
        }
        let found = hex(&Sha256::digest(&bytes));
        if found != sha256 {
            return Err(EvidenceError::Corrupt {
                sha256: sha256.to_string(),
                found,
            });
        }
        Ok(bytes)
    }
}

/// Whether the file at `path` holds bytes that hash to `sha256`.
fn holds(path: &Path, sha256: &str) -> Result<bool, EvidenceError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(io_error("open the evidence file", path)(error)),
    };
    let mut hasher = Sha256::new();
    io::copy(&mut file, &mut hasher).map_err(io_error("read the evidence file", path))?;
    Ok(hex(&hasher.finalize()) == sha256)
}

/// Makes a directory's entries (a new file's name) durable.
fn sync_dir(dir: &Path) -> Result<(), EvidenceError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("sync the directory", dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// An upload in progress: bytes go to a temporary file in the store directory, and become
/// evidence only at [`Upload::finish`]. Dropped unfinished, it removes its temporary file.
#[derive(Debug)]
pub struct Upload {
    dir: PathBuf,
    /// `None` once renamed into place or removed.
    temp: Option<PathBuf>,
    /// `None` once the upload failed.
    file: Option<File>,
    hasher: Sha256,
    bytes: u64,
    max_bytes: u64,
}

impl Upload {
    /// Bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Appends a chunk. Past `max_bytes` in total, the upload fails with
    /// [`EvidenceError::TooLarge`], its temporary file is removed, and it takes no more.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), EvidenceError> {
        let Some(file) = self.file.as_mut() else {
            return Err(EvidenceError::Aborted);
        };
        let total = self.bytes.saturating_add(chunk.len() as u64);
        if total > self.max_bytes {
            self.discard();
            return Err(EvidenceError::TooLarge {
                max_bytes: self.max_bytes,
            });
        }
        if let Err(error) = file.write_all(chunk) {
            let path = self.temp.clone().unwrap_or_default();
            self.discard();
            return Err(io_error("write the upload file", &path)(error));
        }
        self.hasher.update(chunk);
        self.bytes = total;
        Ok(())
    }

    /// Syncs the bytes and files them under their digest. When the store holds them
    /// already, the upload is dropped and `new` is `false`; a stored copy that no longer
    /// matches its digest is replaced by the upload.
    pub fn finish(mut self) -> Result<Stored, EvidenceError> {
        let (Some(file), Some(temp)) = (self.file.take(), self.temp.clone()) else {
            return Err(EvidenceError::Aborted);
        };
        if self.bytes == 0 {
            return Err(EvidenceError::Empty);
        }
        file.sync_all()
            .map_err(io_error("sync the upload file", &temp))?;
        drop(file);
        let sha256 = hex(&std::mem::take(&mut self.hasher).finalize());
        let folder_name = sha256.get(..2).unwrap_or_default();
        let folder = self.dir.join(folder_name);
        let target = folder.join(&sha256);
        let stored = |new| Stored {
            sha256: sha256.clone(),
            bytes: self.bytes,
            new,
        };
        if holds(&target, &sha256)? {
            return Ok(stored(false));
        }
        fs::create_dir_all(&folder).map_err(io_error("create the evidence folder", &folder))?;
        fs::rename(&temp, &target).map_err(io_error("move the upload into place", &target))?;
        self.temp = None;
        sync_dir(&folder)?;
        sync_dir(&self.dir)?;
        Ok(stored(true))
    }

    /// Closes and removes the temporary file; the upload takes no more bytes.
    fn discard(&mut self) {
        self.file = None;
        if let Some(temp) = self.temp.take() {
            // Nothing more to do if it cannot be removed: it is named as an upload, never
            // as evidence, and a later clean-up can take it.
            let _ = fs::remove_file(temp);
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        self.discard();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, EvidenceStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::open(&dir.path().join("evidence")).unwrap();
        (dir, store)
    }

    fn upload(store: &EvidenceStore, chunks: &[&[u8]], max_bytes: u64) -> Stored {
        let mut upload = store.begin(max_bytes).unwrap();
        for chunk in chunks {
            upload.write(chunk).unwrap();
        }
        upload.finish().unwrap()
    }

    /// Every file under the store directory, relative, sorted.
    fn files(store: &EvidenceStore) -> Vec<String> {
        fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else {
                    out.push(
                        path.strip_prefix(root)
                            .unwrap()
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
            }
        }
        let mut out = Vec::new();
        walk(store.dir(), store.dir(), &mut out);
        out.sort();
        out
    }

    const HELLO_SHA256: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn an_upload_round_trips_under_its_digest() {
        let (_dir, store) = store();
        let stored = upload(&store, &[b"he", b"", b"llo"], 5);
        assert_eq!(
            stored,
            Stored {
                sha256: HELLO_SHA256.into(),
                bytes: 5,
                new: true
            }
        );
        assert_eq!(files(&store), [format!("2c/{HELLO_SHA256}")]);
        assert!(store.contains(HELLO_SHA256));
        assert_eq!(store.read_checked(HELLO_SHA256, 5).unwrap(), b"hello");
        assert!(matches!(
            store.read_checked(HELLO_SHA256, 4),
            Err(EvidenceError::TooLarge { max_bytes: 4 })
        ));
    }

    #[test]
    fn an_empty_upload_is_refused_and_leaves_nothing() {
        let (_dir, store) = store();
        let upload = store.begin(10).unwrap();
        assert!(matches!(upload.finish(), Err(EvidenceError::Empty)));
        assert!(files(&store).is_empty());
    }

    #[test]
    fn a_too_large_upload_fails_at_once_and_leaves_nothing() {
        let (_dir, store) = store();
        let mut upload = store.begin(4).unwrap();
        upload.write(b"abc").unwrap();
        assert_eq!(files(&store).len(), 1, "the temporary file");
        assert!(matches!(
            upload.write(b"de"),
            Err(EvidenceError::TooLarge { max_bytes: 4 })
        ));
        assert!(files(&store).is_empty());
        assert!(matches!(upload.write(b"x"), Err(EvidenceError::Aborted)));
        assert!(matches!(upload.finish(), Err(EvidenceError::Aborted)));
        assert!(files(&store).is_empty());
    }

    #[test]
    fn a_dropped_upload_removes_its_temporary_file() {
        let (_dir, store) = store();
        let mut upload = store.begin(100).unwrap();
        upload.write(b"half of it").unwrap();
        assert_eq!(files(&store).len(), 1);
        drop(upload);
        assert!(files(&store).is_empty());
    }

    #[test]
    fn the_same_bytes_twice_are_stored_once() {
        let (_dir, store) = store();
        assert!(upload(&store, &[b"hello"], 100).new);
        let again = upload(&store, &[b"hel", b"lo"], 100);
        assert!(!again.new);
        assert_eq!(again.sha256, HELLO_SHA256);
        assert_eq!(files(&store), [format!("2c/{HELLO_SHA256}")]);
    }

    #[test]
    fn a_corrupted_file_is_refused_then_repaired_by_a_new_upload() {
        let (_dir, store) = store();
        upload(&store, &[b"hello"], 100);
        let path = store.dir().join("2c").join(HELLO_SHA256);
        fs::write(&path, b"jello").unwrap();
        assert!(matches!(
            store.read_checked(HELLO_SHA256, 100),
            Err(EvidenceError::Corrupt { sha256, found })
                if sha256 == HELLO_SHA256 && found != HELLO_SHA256
        ));
        assert!(upload(&store, &[b"hello"], 100).new);
        assert_eq!(store.read_checked(HELLO_SHA256, 100).unwrap(), b"hello");
        assert_eq!(files(&store), [format!("2c/{HELLO_SHA256}")]);
    }

    #[test]
    fn absent_evidence_is_not_found() {
        let (_dir, store) = store();
        let absent = "0".repeat(64);
        assert!(!store.contains(&absent));
        assert!(matches!(
            store.read_checked(&absent, 100),
            Err(EvidenceError::NotFound { sha256 }) if sha256 == absent
        ));
    }

    #[test]
    fn only_digests_name_evidence() {
        let (dir, store) = store();
        fs::write(dir.path().join("secret"), b"not evidence").unwrap();
        upload(&store, &[b"hello"], 100);
        for digest in [
            "../../etc/passwd".to_string(),
            "../secret".to_string(),
            HELLO_SHA256.to_uppercase(),
            format!("{HELLO_SHA256}0"),
            HELLO_SHA256[..63].to_string(),
            format!("2c/{}", &HELLO_SHA256[3..]),
            String::new(),
            "é".repeat(32),
        ] {
            assert!(!store.contains(&digest), "{digest}");
            assert!(
                matches!(
                    store.read_checked(&digest, 100),
                    Err(EvidenceError::BadDigest { .. })
                ),
                "{digest}"
            );
        }
    }

    #[test]
    fn unreferenced_evidence_goes_and_the_rest_stays() {
        let dir = tempfile::tempdir().unwrap();
        let store = EvidenceStore::open(dir.path()).unwrap();
        let put = |bytes: &[u8]| {
            let mut upload = store.begin(1024).unwrap();
            upload.write(bytes).unwrap();
            upload.finish().unwrap().sha256
        };
        let kept = put(b"kept");
        let gone = put(b"gone");
        let keep = std::collections::BTreeSet::from([kept.clone()]);
        assert_eq!(
            store.remove_unreferenced(&keep, false).unwrap(),
            0,
            "a file of the last hour may be an upload under way"
        );
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        for digest in [&kept, &gone] {
            let path = dir.path().join(&digest[..2]).join(digest);
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        assert_eq!(store.remove_unreferenced(&keep, true).unwrap(), 1);
        assert!(store.contains(&gone), "a dry run removes nothing");
        assert_eq!(store.remove_unreferenced(&keep, false).unwrap(), 1);
        assert!(store.contains(&kept) && !store.contains(&gone));
    }
}
