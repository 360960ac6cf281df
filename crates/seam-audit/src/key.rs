//! The audit's Ed25519 key: made from the operating system's randomness on first use, kept in
//! the audit directory, its public half written beside it for the operator to copy elsewhere.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{AuditError, hex, io_error};

/// The signing key file: the 32-byte Ed25519 seed (RFC 8032 private key), raw, mode 0600.
pub const SIGNING_KEY_FILE: &str = "signing.key";
/// The public key file: 64 lowercase hex digits and a newline.
pub const PUBLIC_KEY_FILE: &str = "signing.pub";

/// An Ed25519 public key that checkpoints are checked with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    key: VerifyingKey,
}

impl PublicKey {
    /// From the 32 bytes of a compressed Edwards point; refuses bytes that are not a point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<PublicKey, AuditError> {
        VerifyingKey::from_bytes(bytes)
            .map(|key| PublicKey { key })
            .map_err(|_| AuditError::PublicKey {
                reason: "not an ed25519 public key".to_string(),
            })
    }

    /// From 64 lowercase hex digits (surrounding whitespace ignored), as in `signing.pub`.
    pub fn from_hex(text: &str) -> Result<PublicKey, AuditError> {
        let bytes =
            hex::decode::<32>(text.trim().as_bytes()).ok_or_else(|| AuditError::PublicKey {
                reason: "expected 64 lowercase hex digits".to_string(),
            })?;
        PublicKey::from_bytes(&bytes)
    }

    /// Reads a public key file such as `signing.pub`.
    pub fn read(path: &Path) -> Result<PublicKey, AuditError> {
        let text = fs::read_to_string(path).map_err(io_error("read", path))?;
        PublicKey::from_hex(&text).map_err(|error| match error {
            AuditError::PublicKey { reason } => AuditError::PublicKeyFile {
                path: path.to_path_buf(),
                reason,
            },
            other => other,
        })
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.key.as_bytes())
    }

    /// The first 8 bytes of SHA-256 of the public key, as 16 hex digits: what checkpoints
    /// name their signer by.
    pub fn key_id(&self) -> String {
        let digest = Sha256::digest(self.key.as_bytes());
        hex::encode(digest.get(..8).unwrap_or_default())
    }

    pub(crate) fn verifying(&self) -> &VerifyingKey {
        &self.key
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_hex())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Whether [`AuditKey::load_or_create`] found a key or made one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyOrigin {
    Loaded,
    /// Made now: the operator should keep `signing.pub` somewhere outside the data directory.
    Created,
}

/// The signing key. Its secret never leaves this type (not even through `Debug`).
pub struct AuditKey {
    signing: SigningKey,
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuditKey({})", self.public_key().key_id())
    }
}

impl AuditKey {
    /// Loads `signing.key` from the audit directory, or makes one (and `signing.pub`) there.
    /// A `signing.pub` that does not match the key is refused: it means one of them was
    /// replaced, which the operator must look into before anything is signed.
    pub fn load_or_create(audit_dir: &Path) -> Result<(AuditKey, KeyOrigin), AuditError> {
        let key_path = audit_dir.join(SIGNING_KEY_FILE);
        let (key, origin) = if key_path.exists() {
            (AuditKey::load(&key_path)?, KeyOrigin::Loaded)
        } else {
            (AuditKey::create(audit_dir, &key_path)?, KeyOrigin::Created)
        };
        let public = key.public_key();
        let pub_path = audit_dir.join(PUBLIC_KEY_FILE);
        if pub_path.exists() {
            let found = PublicKey::read(&pub_path)?;
            if found != public {
                return Err(AuditError::PublicKeyMismatch {
                    path: pub_path,
                    found: found.key_id(),
                    expected: public.key_id(),
                });
            }
        } else {
            write_new_file(
                audit_dir,
                &pub_path,
                format!("{}\n", public.to_hex()).as_bytes(),
                false,
            )?;
        }
        Ok((key, origin))
    }

    /// A key from a known seed, for tests and tools; the log itself loads or creates its own.
    pub fn from_seed(seed: &[u8; 32]) -> AuditKey {
        AuditKey {
            signing: SigningKey::from_bytes(seed),
        }
    }

    fn load(path: &Path) -> Result<AuditKey, AuditError> {
        let bytes = Zeroizing::new(fs::read(path).map_err(io_error("read", path))?);
        let seed: &[u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| AuditError::KeyFile {
                path: path.to_path_buf(),
                reason: format!("expected a 32-byte seed, found {} bytes", bytes.len()),
            })?;
        Ok(AuditKey::from_seed(seed))
    }

    fn create(audit_dir: &Path, path: &Path) -> Result<AuditKey, AuditError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(seed.as_mut_slice()).map_err(|error| AuditError::Randomness {
            reason: error.to_string(),
        })?;
        write_new_file(audit_dir, path, seed.as_slice(), true)?;
        Ok(AuditKey::from_seed(&seed))
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            key: self.signing.verifying_key(),
        }
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

/// Writes a file whole or not at all: into a temporary name, synced, then renamed, and the
/// directory synced, so a crash never leaves half a key.
fn write_new_file(dir: &Path, path: &Path, bytes: &[u8], secret: bool) -> Result<(), AuditError> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    // A leftover from a crash mid-write holds nothing that was ever used.
    match fs::remove_file(&temporary) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(io_error("remove", &temporary)(error)),
    }
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options
        .open(&temporary)
        .map_err(io_error("create", &temporary))?;
    file.write_all(bytes)
        .map_err(io_error("write", &temporary))?;
    file.sync_all().map_err(io_error("sync", &temporary))?;
    drop(file);
    fs::rename(&temporary, path).map_err(io_error("rename", &temporary))?;
    sync_dir(dir)
}

/// Makes a directory's entries (a created or renamed file) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), AuditError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(io_error("sync", dir))?;
    #[cfg(not(unix))]
    let _ = (dir, File::open);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_once_then_loads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let (first, origin) = AuditKey::load_or_create(dir.path()).unwrap();
        assert_eq!(origin, KeyOrigin::Created);
        let (again, origin) = AuditKey::load_or_create(dir.path()).unwrap();
        assert_eq!(origin, KeyOrigin::Loaded);
        assert_eq!(first.public_key(), again.public_key());

        assert_eq!(
            fs::read(dir.path().join(SIGNING_KEY_FILE)).unwrap().len(),
            32
        );
        let text = fs::read_to_string(dir.path().join(PUBLIC_KEY_FILE)).unwrap();
        assert_eq!(text, format!("{}\n", first.public_key().to_hex()));
        assert_eq!(first.public_key().key_id().len(), 16);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(SIGNING_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_replaced_public_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        AuditKey::load_or_create(dir.path()).unwrap();
        let other = AuditKey::from_seed(&[9; 32]).public_key();
        fs::write(dir.path().join(PUBLIC_KEY_FILE), other.to_hex()).unwrap();
        let error = AuditKey::load_or_create(dir.path()).unwrap_err();
        assert!(
            matches!(error, AuditError::PublicKeyMismatch { .. }),
            "{error}"
        );
    }

    #[test]
    fn a_short_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(SIGNING_KEY_FILE), [1u8; 31]).unwrap();
        let error = AuditKey::load_or_create(dir.path()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("expected a 32-byte seed, found 31 bytes"),
            "{error}"
        );
    }

    #[test]
    fn public_keys_read_from_hex_and_refuse_other_text() {
        let public = AuditKey::from_seed(&[3; 32]).public_key();
        assert_eq!(
            PublicKey::from_hex(&format!(" {}\n", public.to_hex())).unwrap(),
            public
        );
        assert!(PublicKey::from_hex("abc").is_err());
        assert!(PublicKey::from_hex(&public.to_hex().to_uppercase()).is_err());
    }
}
