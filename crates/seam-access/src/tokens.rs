//! API tokens for scripts and integrations.
//!
//! A token reads `seam_<id>_<secret>`: `<id>` is 16 hex digits (8 random bytes), public, and
//! finds the record without a scan; `<secret>` is 32 random bytes as URL-safe base64 (43
//! characters). It is shown once, at creation; the store keeps only the SHA-256 of the whole
//! token. A fast hash is right here, unlike for passwords: 256 random bits cannot be guessed
//! from their digest, however many digests an attacker may try per second.

use std::collections::BTreeMap;

use seam_model::Ts;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use crate::error::{AuthError, TokenRefusal};
use crate::random::{
    Random, RandomError, Secret, base64url, base64url_len, fresh_id, is_base64url, is_lower_hex,
    random_bytes, sha256_hex,
};
use crate::roles::{Role, normalize_roles};

/// The store's collection of token documents.
pub const TOKENS_COLLECTION: &str = "tokens";
pub const TOKEN_PREFIX: &str = "seam_";
const ID_HEX: usize = 16;
const SECRET_BYTES: usize = 32;
const TOKEN_LEN: usize = TOKEN_PREFIX.len() + ID_HEX + 1 + base64url_len(SECRET_BYTES);
/// `last_used` moves at most this often, so that a busy token is not written at every call.
pub const TOUCH_EVERY_MS: i64 = 60_000;

/// A token as stored: everything but the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub roles: Vec<Role>,
    /// `None`: every site.
    pub sites: Option<Vec<String>>,
    pub created: Ts,
    pub expires: Option<Ts>,
    pub revoked: Option<Ts>,
    /// To the minute ([`TOUCH_EVERY_MS`]).
    pub last_used: Option<Ts>,
    /// Lowercase hex SHA-256 of the whole token.
    pub digest: String,
}

impl TokenRecord {
    /// The document the store keeps.
    pub fn to_document(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Neither revoked nor expired at `now`.
    pub fn is_live(&self, now: Ts) -> bool {
        self.revoked.is_none() && self.expires.is_none_or(|expires| now < expires)
    }
}

/// A token to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken<'a> {
    /// What it is for (`okta event hook`, `nightly export`), for people; not unique.
    pub name: &'a str,
    pub roles: &'a [Role],
    pub sites: Option<&'a [String]>,
    pub expires: Option<Ts>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("invalid token name: 1 to 100 characters, no control characters")]
    InvalidName,
    #[error("a token needs at least one role")]
    NoRoles,
    #[error("invalid site list: give at least one site, or none for every site")]
    InvalidSites,
    #[error("the expiry `{expires}` is not in the future")]
    ExpiryPassed { expires: Ts },
    #[error("no token with id `{id}`")]
    UnknownToken { id: String },
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error("token document `{id}` is invalid: {reason}")]
    Document { id: String, reason: String },
}

/// The tokens, by id.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    by_id: BTreeMap<String, TokenRecord>,
}

/// The id of a well-formed token, or `None`: exactly 65 bytes, so anything longer is refused
/// unread. Only the shape is checked; nothing is looked up.
fn parse(presented: &str) -> Option<&str> {
    if presented.len() != TOKEN_LEN {
        return None;
    }
    let rest = presented.strip_prefix(TOKEN_PREFIX)?;
    let id = rest.get(..ID_HEX)?;
    let secret = rest.get(ID_HEX..)?.strip_prefix('_')?;
    (is_lower_hex(id) && is_base64url(secret)).then_some(id)
}

impl Tokens {
    pub fn new() -> Tokens {
        Tokens::default()
    }

    /// Tokens from the store's documents (id, JSON).
    pub fn load(
        documents: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Tokens, TokenError> {
        let mut tokens = Tokens::new();
        for (id, json) in documents {
            let document_error = |reason: String| TokenError::Document {
                id: id.chars().take(64).collect(),
                reason,
            };
            let record: TokenRecord =
                serde_json::from_str(&json).map_err(|error| document_error(error.to_string()))?;
            if record.id != id {
                return Err(document_error(format!("it holds token `{}`", record.id)));
            }
            if record.id.len() != ID_HEX || !is_lower_hex(&record.id) {
                return Err(document_error(
                    "the id is not 16 lowercase hex digits".into(),
                ));
            }
            if record.digest.len() != 64 || !is_lower_hex(&record.digest) {
                return Err(document_error(
                    "the digest is not 64 lowercase hex digits".into(),
                ));
            }
            tokens.by_id.insert(id, record);
        }
        Ok(tokens)
    }

    /// Creates a token. The secret is returned once, here, and kept nowhere.
    pub fn create(
        &mut self,
        new: NewToken<'_>,
        now: Ts,
        random: &mut dyn Random,
    ) -> Result<(&TokenRecord, Secret), TokenError> {
        let name_ok = !new.name.is_empty()
            && new.name.chars().count() <= 100
            && !new.name.chars().any(char::is_control);
        if !name_ok {
            return Err(TokenError::InvalidName);
        }
        let roles = normalize_roles(new.roles);
        if roles.is_empty() {
            return Err(TokenError::NoRoles);
        }
        let sites = match new.sites {
            None => None,
            Some(sites) => {
                let valid = !sites.is_empty()
                    && sites.iter().all(|site| {
                        !site.is_empty()
                            && site.chars().count() <= 128
                            && !site.chars().any(char::is_control)
                    });
                if !valid {
                    return Err(TokenError::InvalidSites);
                }
                let mut sites = sites.to_vec();
                sites.sort();
                sites.dedup();
                Some(sites)
            }
        };
        if let Some(expires) = new.expires
            && expires <= now
        {
            return Err(TokenError::ExpiryPassed { expires });
        }
        let id = fresh_id(random, "", |id| self.by_id.contains_key(id))?;
        let secret = base64url(&random_bytes::<SECRET_BYTES>(random)?);
        let token = Secret::new(format!("{TOKEN_PREFIX}{id}_{secret}"));
        let record = TokenRecord {
            id: id.clone(),
            name: new.name.to_string(),
            roles,
            sites,
            created: now,
            expires: new.expires,
            revoked: None,
            last_used: None,
            digest: sha256_hex(token.expose().as_bytes()),
        };
        Ok((self.by_id.entry(id).or_insert(record), token))
    }

    /// The live token `presented` is, or [`AuthError::InvalidToken`]: one message whether it
    /// is malformed, unknown, wrong, revoked or expired (the reason rides along for the audit).
    pub fn verify(&self, presented: &str, now: Ts) -> Result<&TokenRecord, AuthError> {
        let refuse = |refusal| AuthError::InvalidToken { refusal };
        let id = parse(presented).ok_or(refuse(TokenRefusal::Malformed))?;
        let record = self.by_id.get(id).ok_or(refuse(TokenRefusal::Unknown))?;
        let digest = sha256_hex(presented.as_bytes());
        if !bool::from(digest.as_bytes().ct_eq(record.digest.as_bytes())) {
            return Err(refuse(TokenRefusal::Mismatch));
        }
        // Only the secret's holder learns that a token was revoked or has expired.
        if record.revoked.is_some() {
            return Err(refuse(TokenRefusal::Revoked));
        }
        if record.expires.is_some_and(|expires| now >= expires) {
            return Err(refuse(TokenRefusal::Expired));
        }
        Ok(record)
    }

    /// Whether [`Tokens::touch`] would move `last_used`.
    pub fn touch_due(record: &TokenRecord, now: Ts) -> bool {
        record
            .last_used
            .is_none_or(|last| now.millis().saturating_sub(last.millis()) >= TOUCH_EVERY_MS)
    }

    /// Records a use at `now`, at most once a minute; `true` when the record changed and is
    /// worth persisting.
    pub fn touch(&mut self, id: &str, now: Ts) -> bool {
        match self.by_id.get_mut(id) {
            Some(record) if Tokens::touch_due(record, now) => {
                record.last_used = Some(now);
                true
            }
            _ => false,
        }
    }

    /// Revokes a token, refused from the next call. Revoking twice keeps the first time.
    pub fn revoke(&mut self, id: &str, now: Ts) -> Result<&TokenRecord, TokenError> {
        let record = self
            .by_id
            .get_mut(id)
            .ok_or_else(|| TokenError::UnknownToken {
                id: id.chars().take(64).collect(),
            })?;
        record.revoked.get_or_insert(now);
        Ok(record)
    }

    pub fn get(&self, id: &str) -> Option<&TokenRecord> {
        self.by_id.get(id)
    }

    /// Every token, revoked and expired ones too, by id.
    pub fn iter(&self) -> impl Iterator<Item = &TokenRecord> {
        self.by_id.values()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::random::testing::{BrokenRandom, SeededRandom};

    const T0: Ts = Ts::from_secs(1_770_000_000);

    fn new_token<'a>(roles: &'a [Role]) -> NewToken<'a> {
        NewToken {
            name: "okta event hook",
            roles,
            sites: None,
            expires: None,
        }
    }

    fn refusal(result: Result<&TokenRecord, AuthError>) -> TokenRefusal {
        match result {
            Err(AuthError::InvalidToken { refusal }) => refusal,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn create_verify_revoke() {
        let mut tokens = Tokens::new();
        let mut random = SeededRandom(7);
        let (record, secret) = tokens
            .create(new_token(&[Role::Integration]), T0, &mut random)
            .unwrap();
        let record = record.clone();
        let text = secret.expose();
        assert_eq!(text.len(), 65);
        assert_eq!(text, format!("seam_{}_{}", record.id, &text[22..]));
        assert_eq!(record.digest, sha256_hex(text.as_bytes()));
        assert!(!record.to_document().unwrap().contains(&text[22..]));
        assert!(!format!("{secret:?}").contains(&text[22..]));

        assert_eq!(tokens.verify(text, T0).unwrap(), &record);
        // Another token with the same id but a different secret.
        let mut forged = text.to_string();
        let last = if forged.ends_with('A') { "B" } else { "A" };
        forged.replace_range(64.., last);
        assert_eq!(refusal(tokens.verify(&forged, T0)), TokenRefusal::Mismatch);
        let unknown = format!("seam_0000000000000000_{}", &text[22..]);
        assert_eq!(refusal(tokens.verify(&unknown, T0)), TokenRefusal::Unknown);

        tokens.revoke(&record.id, T0.plus_millis(5)).unwrap();
        tokens.revoke(&record.id, T0.plus_millis(9)).unwrap();
        assert_eq!(
            tokens.get(&record.id).unwrap().revoked,
            Some(T0.plus_millis(5))
        );
        let error = tokens.verify(text, T0.plus_millis(6)).unwrap_err();
        assert_eq!(error.to_string(), "invalid token");
        assert_eq!(error.reason(), "token_revoked");
        assert!(matches!(
            tokens.revoke("ffffffffffffffff", T0),
            Err(TokenError::UnknownToken { .. })
        ));
    }

    #[test]
    fn expiry() {
        let mut tokens = Tokens::new();
        let mut random = SeededRandom(8);
        let expires = T0.plus_millis(3_600_000);
        let (_, secret) = tokens
            .create(
                NewToken {
                    expires: Some(expires),
                    ..new_token(&[Role::Auditor])
                },
                T0,
                &mut random,
            )
            .unwrap();
        assert!(
            tokens
                .verify(secret.expose(), expires.minus_millis(1))
                .is_ok()
        );
        assert_eq!(
            refusal(tokens.verify(secret.expose(), expires)),
            TokenRefusal::Expired
        );
        let past = tokens.create(
            NewToken {
                expires: Some(T0),
                ..new_token(&[Role::Auditor])
            },
            T0,
            &mut random,
        );
        assert!(matches!(past, Err(TokenError::ExpiryPassed { .. })));
    }

    #[test]
    fn last_use_moves_once_a_minute() {
        let mut tokens = Tokens::new();
        let mut random = SeededRandom(9);
        let id = tokens
            .create(new_token(&[Role::Integration]), T0, &mut random)
            .unwrap()
            .0
            .id
            .clone();
        assert!(tokens.touch(&id, T0));
        assert!(!tokens.touch(&id, T0.plus_millis(59_999)));
        assert_eq!(tokens.get(&id).unwrap().last_used, Some(T0));
        assert!(tokens.touch(&id, T0.plus_millis(60_000)));
        assert!(!tokens.touch("nope", T0));
    }

    #[test]
    fn creation_is_checked() {
        let mut tokens = Tokens::new();
        let mut random = SeededRandom(10);
        let no_roles = tokens.create(new_token(&[]), T0, &mut random);
        assert_eq!(no_roles.unwrap_err(), TokenError::NoRoles);
        for name in ["", "a\nb", &"x".repeat(101)] {
            let bad = tokens.create(
                NewToken {
                    name,
                    ..new_token(&[Role::Auditor])
                },
                T0,
                &mut random,
            );
            assert_eq!(bad.unwrap_err(), TokenError::InvalidName);
        }
        let empty_sites = tokens.create(
            NewToken {
                sites: Some(&[]),
                ..new_token(&[Role::Auditor])
            },
            T0,
            &mut random,
        );
        assert_eq!(empty_sites.unwrap_err(), TokenError::InvalidSites);
        let broken = tokens.create(new_token(&[Role::Auditor]), T0, &mut BrokenRandom);
        assert!(matches!(broken, Err(TokenError::Random(_))));
        assert!(tokens.is_empty());
    }

    #[test]
    fn malformed_tokens_get_the_generic_error() {
        let mut tokens = Tokens::new();
        let mut random = SeededRandom(11);
        let (_, secret) = tokens
            .create(new_token(&[Role::Admin]), T0, &mut random)
            .unwrap();
        let good = secret.expose();
        let cases = [
            String::new(),
            "seam_".into(),
            good[..64].to_string(),
            format!("{good}A"),
            good.replacen("seam_", "SEAM_", 1),
            good.replacen("seam_", "seam-", 1),
            good.to_uppercase(),
            format!("{}={}", &good[..21], &good[22..]),
            format!("{}+", &good[..64]),
            format!(" {}", &good[1..]),
            format!("{}é", &good[..63]),
            "x".repeat(10_000),
        ];
        for case in cases {
            let error = tokens.verify(&case, T0).unwrap_err();
            assert_eq!(error.to_string(), "invalid token", "{case:?}");
            assert_eq!(error.status(), 401);
        }
    }

    #[test]
    fn documents_round_trip() {
        let mut tokens = Tokens::new();
        let mut random = SeededRandom(12);
        let (_, secret) = tokens
            .create(new_token(&[Role::Integration]), T0, &mut random)
            .unwrap();
        let documents: Vec<(String, String)> = tokens
            .iter()
            .map(|record| (record.id.clone(), record.to_document().unwrap()))
            .collect();
        let loaded = Tokens::load(documents.clone()).unwrap();
        assert!(loaded.verify(secret.expose(), T0).is_ok());
        let renamed = vec![("0123456789abcdef".to_string(), documents[0].1.clone())];
        assert!(matches!(
            Tokens::load(renamed),
            Err(TokenError::Document { .. })
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_verify(text in any::<String>(), tail in "[A-Za-z0-9_-]{43}") {
            let mut tokens = Tokens::new();
            let mut random = SeededRandom(13);
            let (record, _) = tokens.create(new_token(&[Role::Admin]), T0, &mut random).unwrap();
            let id = record.id.clone();
            prop_assert!(tokens.verify(&text, T0).is_err());
            // Well-formed, with the right id: only the secret can be wrong.
            let shaped = format!("seam_{id}_{tail}");
            prop_assert!(tokens.verify(&shaped, T0).is_err());
        }
    }
}
