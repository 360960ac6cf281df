//! Password hashes (Argon2id, PHC strings) and the password policy.
//!
//! Parameters follow OWASP's Password Storage Cheat Sheet: Argon2id with 19 MiB of memory,
//! 2 passes and 1 lane (`m=19456,t=2,p=1`), 16 bytes of salt and a 32-byte output. The
//! parameters are stored in each hash, so raising them later leaves old hashes verifiable;
//! [`needs_rehash`] says when a sign-in should store a new one.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// The least number of characters (not bytes) a password must have. Length, not composition
/// rules: NIST SP 800-63B.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The most bytes a password may have, so that hashing cost stays bounded.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Bytes of salt in every hash.
pub const SALT_BYTES: usize = 16;

/// Argon2id's cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl PasswordParams {
    /// OWASP's recommendation: `m=19456,t=2,p=1`, about 20-30 ms per hash on a server core.
    pub const PRODUCTION: PasswordParams = PasswordParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// As cheap as Argon2 allows, for tests only: hashes are still real Argon2id.
    pub const FOR_TESTS: PasswordParams = PasswordParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    fn argon2(self) -> Result<Argon2<'static>, PasswordError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|error| PasswordError::Hash {
                reason: error.to_string(),
            })?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

impl Default for PasswordParams {
    fn default() -> PasswordParams {
        PasswordParams::PRODUCTION
    }
}

/// A password refused by the policy, or a hash that could not be made. No message contains
/// the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password is too short: at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("password is too long: at most {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    #[error("password must not be the user name")]
    SameAsLogin,
    #[error("password hashing failed: {reason}")]
    Hash { reason: String },
}

/// The password policy: at least [`MIN_PASSWORD_CHARS`] characters, at most
/// [`MAX_PASSWORD_BYTES`] bytes, and not the login (ignoring case and surrounding spaces).
pub fn check_policy(login: &str, password: &str) -> Result<(), PasswordError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    if password.trim().eq_ignore_ascii_case(login.trim()) {
        return Err(PasswordError::SameAsLogin);
    }
    Ok(())
}

/// The PHC string of `password` under `params` and `salt`:
/// `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`. The policy is the caller's (see
/// [`check_policy`]); this only refuses what cannot be hashed.
pub fn hash_password(
    params: PasswordParams,
    password: &str,
    salt: &[u8; SALT_BYTES],
) -> Result<String, PasswordError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    let hash_error = |error: argon2::password_hash::Error| PasswordError::Hash {
        reason: error.to_string(),
    };
    let salt = SaltString::encode_b64(salt).map_err(hash_error)?;
    let hash = params
        .argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(hash_error)?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `phc`, compared in constant time by the argon2
/// crate. Anything but a well-formed Argon2id hash never matches.
pub fn verify_password(phc: &str, password: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    if parsed.algorithm != Algorithm::Argon2id.ident() {
        return false;
    }
    // The verifier takes the cost parameters from the hash itself.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// Whether a stored hash was made with other parameters than `params` (or is not Argon2id),
/// so that the next successful sign-in should store a new one.
pub fn needs_rehash(phc: &str, params: PasswordParams) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return true;
    };
    let Ok(stored) = Params::try_from(&parsed) else {
        return true;
    };
    parsed.algorithm != Algorithm::Argon2id.ident()
        || parsed.version != Some(Version::V0x13.into())
        || stored.m_cost() != params.memory_kib
        || stored.t_cost() != params.iterations
        || stored.p_cost() != params.parallelism
}

#[cfg(test)]
mod tests {
    use super::*;

    const SALT: [u8; SALT_BYTES] = *b"0123456789abcdef";

    #[test]
    fn hashes_are_phc_argon2id_and_verify() {
        let phc = hash_password(PasswordParams::FOR_TESTS, "correct horse battery", &SALT).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert!(verify_password(&phc, "correct horse battery"));
        assert!(!verify_password(&phc, "correct horse batterY"));
        assert!(!verify_password(&phc, ""));
        // Deterministic for a salt: the salt is what makes two hashes differ.
        assert_eq!(
            phc,
            hash_password(PasswordParams::FOR_TESTS, "correct horse battery", &SALT).unwrap()
        );
        let other = hash_password(PasswordParams::FOR_TESTS, "correct horse battery", &[7; 16]);
        assert_ne!(phc, other.unwrap());
    }

    #[test]
    fn production_parameters_are_owasps() {
        let phc =
            hash_password(PasswordParams::PRODUCTION, "correct horse battery", &SALT).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password(&phc, "correct horse battery"));
        assert!(!needs_rehash(&phc, PasswordParams::PRODUCTION));
        assert!(needs_rehash(&phc, PasswordParams::FOR_TESTS));
    }

    #[test]
    fn other_algorithms_and_garbage_never_verify() {
        let phc = hash_password(PasswordParams::FOR_TESTS, "correct horse battery", &SALT).unwrap();
        let argon2i = phc.replacen("$argon2id$", "$argon2i$", 1);
        assert!(!verify_password(&argon2i, "correct horse battery"));
        assert!(needs_rehash(&argon2i, PasswordParams::FOR_TESTS));
        for garbage in [
            "",
            "$",
            "plain",
            "$argon2id$v=19$m=64,t=1,p=1$$",
            "$argon2id$",
        ] {
            assert!(!verify_password(garbage, ""), "{garbage:?}");
            assert!(needs_rehash(garbage, PasswordParams::FOR_TESTS));
        }
        let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
        assert!(!verify_password(&phc, &long));
        assert_eq!(
            hash_password(PasswordParams::FOR_TESTS, &long, &SALT),
            Err(PasswordError::TooLong)
        );
    }

    #[test]
    fn policy() {
        assert_eq!(check_policy("alice", "short"), Err(PasswordError::TooShort));
        assert_eq!(
            check_policy("alice", "elevenchars"),
            Err(PasswordError::TooShort)
        );
        assert_eq!(check_policy("alice", "twelve chars"), Ok(()));
        // Characters, not bytes: twelve accented letters pass, eleven do not.
        assert_eq!(check_policy("alice", &"é".repeat(12)), Ok(()));
        assert_eq!(
            check_policy("alice", &"é".repeat(11)),
            Err(PasswordError::TooShort)
        );
        assert_eq!(check_policy("alice", &"x".repeat(1024)), Ok(()));
        assert_eq!(
            check_policy("alice", &"x".repeat(1025)),
            Err(PasswordError::TooLong)
        );
        assert_eq!(
            check_policy("alice.martin", "Alice.Martin"),
            Err(PasswordError::SameAsLogin)
        );
        assert_eq!(
            check_policy("alice.martin", " alice.martin "),
            Err(PasswordError::SameAsLogin)
        );
        let secret = "hunter2-hunter2";
        for error in [
            PasswordError::TooShort,
            PasswordError::TooLong,
            PasswordError::SameAsLogin,
        ] {
            assert!(!error.to_string().contains(secret));
        }
        assert_eq!(
            PasswordError::TooShort.to_string(),
            "password is too short: at least 12 characters"
        );
    }
}
