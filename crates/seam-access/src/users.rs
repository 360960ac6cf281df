//! Local users: logins, roles, sites and password hashes, and signing in with a password.
//!
//! The store keeps each user as one JSON document in [`USERS_COLLECTION`] under its id; this
//! module holds them in memory and says which changed.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use seam_model::Ts;
use serde::{Deserialize, Serialize};

use crate::error::{AuthError, LoginRefusal};
use crate::password::{self, MAX_PASSWORD_BYTES, PasswordError, PasswordParams, SALT_BYTES};
use crate::random::{Random, RandomError, fresh_id, random_bytes};
use crate::roles::{Role, normalize_roles};
use crate::throttle::Throttle;

/// The store's collection of user documents.
pub const USERS_COLLECTION: &str = "users";
/// The longest login, in bytes.
pub const MAX_LOGIN_BYTES: usize = 64;
/// Logins and passwords longer than this are refused at sign-in before anything else.
const MAX_PRESENTED_LOGIN_BYTES: usize = 256;

/// A local user. `name` is the login; ids (`u-` and 16 hex digits) never change and are what
/// the audit log names.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// `None`: every site.
    pub sites: Option<Vec<String>>,
    /// The Argon2id PHC string; `None` for a user who signs in through the identity provider
    /// only.
    pub password_hash: Option<String>,
    pub oidc_subject: Option<String>,
    pub disabled: bool,
    pub created: Ts,
    pub password_changed: Option<Ts>,
}

impl User {
    /// The document the store keeps.
    pub fn to_document(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

// The hash is not the password, but it can be attacked offline: it stays out of logs.
impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("display_name", &self.display_name)
            .field("roles", &self.roles)
            .field("sites", &self.sites)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "redacted"),
            )
            .field("oidc_subject", &self.oidc_subject)
            .field("disabled", &self.disabled)
            .field("created", &self.created)
            .field("password_changed", &self.password_changed)
            .finish()
    }
}

/// A user to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser<'a> {
    pub name: &'a str,
    pub display_name: &'a str,
    pub roles: &'a [Role],
    pub sites: Option<&'a [String]>,
    /// Checked against the policy; `None` for a user of the identity provider only.
    pub password: Option<&'a str>,
    pub oidc_subject: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error(
        "invalid user name `{name}`: 1 to 64 letters, digits, `.`, `_`, `-` or `@`, starting with a letter or digit"
    )]
    InvalidName { name: String },
    #[error("a user named `{name}` exists already")]
    DuplicateName { name: String },
    #[error("invalid display name: at most 200 characters, no control characters")]
    InvalidDisplayName,
    #[error("no user with id `{id}`")]
    UnknownUser { id: String },
    #[error("a user needs at least one role")]
    NoRoles,
    #[error(
        "invalid site list: give at least one site (1 to 128 characters, no control characters), or none for every site"
    )]
    InvalidSites,
    #[error("the identity provider subject `{subject}` belongs to another user")]
    DuplicateSubject { subject: String },
    #[error("this would leave no enabled admin with every site")]
    LastAdmin,
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error("user document `{id}` is invalid: {reason}")]
    Document { id: String, reason: String },
}

/// The users, by id, with a case-insensitive index of logins.
#[derive(Debug, Clone)]
pub struct Users {
    params: PasswordParams,
    by_id: BTreeMap<String, User>,
    by_login: HashMap<String, String>,
    /// A hash of a password no one knows, with the current parameters: verified against when
    /// the login is unknown, so that an unknown login takes as long as a wrong password.
    dummy_hash: String,
}

fn login_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

fn valid_login(name: &str) -> bool {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|byte| byte.is_ascii_alphanumeric());
    // ASCII only: no look-alike letters from other scripts can pass for `admin`.
    first_ok
        && name.len() <= MAX_LOGIN_BYTES
        && bytes.all(|byte| byte.is_ascii_alphanumeric() || b"._-@".contains(&byte))
}

fn valid_display_name(name: &str) -> bool {
    name.chars().count() <= 200 && !name.chars().any(char::is_control)
}

fn valid_sites(sites: &[String]) -> bool {
    !sites.is_empty()
        && sites.iter().all(|site| {
            !site.is_empty() && site.chars().count() <= 128 && !site.chars().any(char::is_control)
        })
}

fn normalize_sites(sites: Option<&[String]>) -> Result<Option<Vec<String>>, UserError> {
    match sites {
        None => Ok(None),
        Some(sites) if valid_sites(sites) => {
            let mut sites = sites.to_vec();
            sites.sort();
            sites.dedup();
            Ok(Some(sites))
        }
        Some(_) => Err(UserError::InvalidSites),
    }
}

fn is_full_admin(user: &User) -> bool {
    !user.disabled && user.sites.is_none() && user.roles.contains(&Role::Admin)
}

impl Users {
    /// An empty set of users hashing new passwords with `params`. Makes one hash (the dummy
    /// one), so it takes as long as a sign-in.
    pub fn new(params: PasswordParams) -> Result<Users, PasswordError> {
        let dummy_hash = password::hash_password(
            params,
            "seam: no user has this password",
            &[0x5e; SALT_BYTES],
        )?;
        Ok(Users {
            params,
            by_id: BTreeMap::new(),
            by_login: HashMap::new(),
            dummy_hash,
        })
    }

    /// Users from the store's documents (id, JSON), as [`Users::new`] then each added.
    pub fn load(
        params: PasswordParams,
        documents: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Users, UserError> {
        let mut users = Users::new(params)?;
        for (id, json) in documents {
            let document_error = |reason: String| UserError::Document {
                id: id.chars().take(64).collect(),
                reason,
            };
            let user: User =
                serde_json::from_str(&json).map_err(|error| document_error(error.to_string()))?;
            if user.id != id {
                return Err(document_error(format!("it holds user `{}`", user.id)));
            }
            if !valid_login(&user.name) {
                return Err(document_error(format!("invalid name `{}`", user.name)));
            }
            let key = login_key(&user.name);
            if users.by_login.contains_key(&key) {
                return Err(document_error(format!("name `{}` is taken", user.name)));
            }
            users.by_login.insert(key, user.id.clone());
            users.by_id.insert(user.id.clone(), user);
        }
        Ok(users)
    }

    pub fn params(&self) -> PasswordParams {
        self.params
    }

    pub fn get(&self, id: &str) -> Option<&User> {
        self.by_id.get(id)
    }

    /// The user with this login, ignoring ASCII case.
    pub fn by_name(&self, name: &str) -> Option<&User> {
        self.by_login
            .get(&login_key(name))
            .and_then(|id| self.by_id.get(id))
    }

    pub fn by_oidc_subject(&self, subject: &str) -> Option<&User> {
        self.by_id
            .values()
            .find(|user| user.oidc_subject.as_deref() == Some(subject))
    }

    /// Every user, by id.
    pub fn iter(&self) -> impl Iterator<Item = &User> {
        self.by_id.values()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Whether an enabled admin with every site exists (the service needs one to be run).
    pub fn has_admin(&self) -> bool {
        self.by_id.values().any(is_full_admin)
    }

    /// Adds a user. The first admin is made this way from the command line, with a password
    /// typed there: there is no default one.
    pub fn add(
        &mut self,
        new: NewUser<'_>,
        now: Ts,
        random: &mut dyn Random,
    ) -> Result<&User, UserError> {
        if !valid_login(new.name) {
            return Err(UserError::InvalidName {
                name: new.name.chars().take(64).collect(),
            });
        }
        let key = login_key(new.name);
        if self.by_login.contains_key(&key) {
            return Err(UserError::DuplicateName {
                name: new.name.to_string(),
            });
        }
        if !valid_display_name(new.display_name) {
            return Err(UserError::InvalidDisplayName);
        }
        let roles = normalize_roles(new.roles);
        if roles.is_empty() {
            return Err(UserError::NoRoles);
        }
        let sites = normalize_sites(new.sites)?;
        if let Some(subject) = new.oidc_subject
            && self.by_oidc_subject(subject).is_some()
        {
            return Err(UserError::DuplicateSubject {
                subject: subject.to_string(),
            });
        }
        let password_hash = match new.password {
            Some(password) => {
                password::check_policy(new.name, password)?;
                let salt = random_bytes::<SALT_BYTES>(random)?;
                Some(password::hash_password(self.params, password, &salt)?)
            }
            None => None,
        };
        let id = self.new_id(random)?;
        let user = User {
            id: id.clone(),
            name: new.name.to_string(),
            display_name: new.display_name.to_string(),
            roles,
            sites,
            password_changed: password_hash.as_ref().map(|_| now),
            password_hash,
            oidc_subject: new.oidc_subject.map(str::to_string),
            disabled: false,
            created: now,
        };
        self.by_login.insert(key, id.clone());
        Ok(self.by_id.entry(id).or_insert(user))
    }

    fn new_id(&self, random: &mut dyn Random) -> Result<String, RandomError> {
        fresh_id(random, "u-", |id| self.by_id.contains_key(id))
    }

    fn require(&self, id: &str) -> Result<&User, UserError> {
        self.by_id.get(id).ok_or_else(|| UserError::UnknownUser {
            id: id.chars().take(64).collect(),
        })
    }

    fn user_mut(&mut self, id: &str) -> Result<&mut User, UserError> {
        self.by_id
            .get_mut(id)
            .ok_or_else(|| UserError::UnknownUser {
                id: id.chars().take(64).collect(),
            })
    }

    /// Refuses a change to `id` that would leave no enabled admin with every site.
    fn keep_an_admin(&self, id: &str, after: impl Fn(&User) -> User) -> Result<(), UserError> {
        let remains = self.by_id.values().any(|user| {
            if user.id == id {
                is_full_admin(&after(user))
            } else {
                is_full_admin(user)
            }
        });
        let had = self.has_admin();
        if had && !remains {
            Err(UserError::LastAdmin)
        } else {
            Ok(())
        }
    }

    /// Disables a user: password sign-ins fail and live sessions are refused from the next
    /// request ([`crate::Access::disable_user`] also ends them).
    pub fn disable(&mut self, id: &str) -> Result<&User, UserError> {
        self.require(id)?;
        self.keep_an_admin(id, |user| User {
            disabled: true,
            ..user.clone()
        })?;
        let user = self.user_mut(id)?;
        user.disabled = true;
        Ok(user)
    }

    pub fn enable(&mut self, id: &str) -> Result<&User, UserError> {
        let user = self.user_mut(id)?;
        user.disabled = false;
        Ok(user)
    }

    /// Sets a password, checked against the policy.
    pub fn set_password(
        &mut self,
        id: &str,
        password: &str,
        now: Ts,
        random: &mut dyn Random,
    ) -> Result<&User, UserError> {
        let params = self.params;
        let name = self.require(id)?.name.clone();
        password::check_policy(&name, password)?;
        let salt = random_bytes::<SALT_BYTES>(random)?;
        let hash = password::hash_password(params, password, &salt)?;
        let user = self.user_mut(id)?;
        user.password_hash = Some(hash);
        user.password_changed = Some(now);
        Ok(user)
    }

    /// Stores a new hash of a password just verified, made with the current parameters (see
    /// [`password::needs_rehash`]); no policy check and no change of `password_changed`.
    pub fn rehash(
        &mut self,
        id: &str,
        password: &str,
        random: &mut dyn Random,
    ) -> Result<&User, UserError> {
        let params = self.params;
        let salt = random_bytes::<SALT_BYTES>(random)?;
        let hash = password::hash_password(params, password, &salt)?;
        let user = self.user_mut(id)?;
        user.password_hash = Some(hash);
        Ok(user)
    }

    pub fn set_roles(&mut self, id: &str, roles: &[Role]) -> Result<&User, UserError> {
        let roles = normalize_roles(roles);
        if roles.is_empty() {
            return Err(UserError::NoRoles);
        }
        self.require(id)?;
        self.keep_an_admin(id, |user| User {
            roles: roles.clone(),
            ..user.clone()
        })?;
        let user = self.user_mut(id)?;
        user.roles = roles;
        Ok(user)
    }

    /// Limits a user to some sites, or with `None` to every site.
    pub fn set_sites(&mut self, id: &str, sites: Option<&[String]>) -> Result<&User, UserError> {
        let sites = normalize_sites(sites)?;
        self.require(id)?;
        self.keep_an_admin(id, |user| User {
            sites: sites.clone(),
            ..user.clone()
        })?;
        let user = self.user_mut(id)?;
        user.sites = sites;
        Ok(user)
    }

    pub fn set_display_name(&mut self, id: &str, display_name: &str) -> Result<&User, UserError> {
        if !valid_display_name(display_name) {
            return Err(UserError::InvalidDisplayName);
        }
        let user = self.user_mut(id)?;
        user.display_name = display_name.to_string();
        Ok(user)
    }

    /// Signs in with a login (any ASCII case) and password from `address` (see
    /// [`crate::address_key`]).
    ///
    /// Unknown user, wrong password, disabled user and a user without a password all give
    /// [`AuthError::InvalidCredentials`] with the same message, after the same work: the
    /// password is verified against a dummy hash when there is no real one. Each counts as a
    /// failure in the throttle; a throttled attempt is refused before any of it.
    pub fn authenticate(
        &self,
        login: &str,
        password: &str,
        address: &str,
        now: Ts,
        throttle: &mut Throttle,
    ) -> Result<&User, AuthError> {
        throttle.check(login, address, now)?;
        let refuse = |throttle: &mut Throttle, refusal| {
            throttle.failure(login, address, now);
            Err(AuthError::InvalidCredentials { refusal })
        };
        // Not a function of which users exist, so no timing to hide.
        if login.len() > MAX_PRESENTED_LOGIN_BYTES || password.len() > MAX_PASSWORD_BYTES {
            return refuse(throttle, LoginRefusal::Oversized);
        }
        let user = self.by_name(login);
        let hash = user
            .and_then(|user| user.password_hash.as_deref())
            .unwrap_or(&self.dummy_hash);
        let matches = password::verify_password(hash, password);
        match user {
            None => refuse(throttle, LoginRefusal::UnknownUser),
            Some(user) if user.password_hash.is_none() => {
                refuse(throttle, LoginRefusal::NoPassword)
            }
            Some(_) if !matches => refuse(throttle, LoginRefusal::WrongPassword),
            Some(user) if user.disabled => refuse(throttle, LoginRefusal::Disabled),
            Some(user) => {
                throttle.success(login);
                Ok(user)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::testing::{BrokenRandom, SeededRandom};

    pub(crate) const T0: Ts = Ts::from_secs(1_770_000_000);

    fn users() -> Users {
        Users::new(PasswordParams::FOR_TESTS).unwrap()
    }

    fn new_user<'a>(name: &'a str, roles: &'a [Role], password: Option<&'a str>) -> NewUser<'a> {
        NewUser {
            name,
            display_name: "Someone",
            roles,
            sites: None,
            password,
            oidc_subject: None,
        }
    }

    #[test]
    fn one_generic_error_for_unknown_wrong_and_disabled() {
        let mut users = users();
        let mut random = SeededRandom(1);
        let admin = new_user("root", &[Role::Admin], Some("a long admin password"));
        users.add(admin, T0, &mut random).unwrap();
        let alice = new_user("Alice", &[Role::SocAnalyst], Some("correct horse battery"));
        let alice_id = users.add(alice, T0, &mut random).unwrap().id.clone();
        let oidc = NewUser {
            oidc_subject: Some("00u1"),
            ..new_user("bob", &[Role::Auditor], None)
        };
        users.add(oidc, T0, &mut random).unwrap();
        let mut throttle = Throttle::default();

        let ok = users.authenticate(
            "alice",
            "correct horse battery",
            "10.0.0.1",
            T0,
            &mut throttle,
        );
        assert_eq!(ok.unwrap().id, alice_id);
        let ok = users.authenticate(
            "ALICE",
            "correct horse battery",
            "10.0.0.1",
            T0,
            &mut throttle,
        );
        assert_eq!(ok.unwrap().id, alice_id);

        let mut refusals = Vec::new();
        for (login, password) in [
            ("nobody", "correct horse battery"),
            ("alice", "wrong horse battery"),
            ("bob", "anything at all"),
            ("alice", &"x".repeat(2000)),
        ] {
            let error = users
                .authenticate(login, password, "10.0.0.2", T0, &mut throttle)
                .unwrap_err();
            assert_eq!(error.to_string(), "wrong user name or password");
            assert_eq!(error.status(), 401);
            refusals.push(error.reason());
        }
        assert_eq!(
            refusals,
            ["unknown_user", "wrong_password", "no_password", "oversized"]
        );

        users.disable(&alice_id).unwrap();
        let error = users
            .authenticate(
                "alice",
                "correct horse battery",
                "10.0.0.3",
                T0,
                &mut throttle,
            )
            .unwrap_err();
        assert_eq!(
            error,
            AuthError::InvalidCredentials {
                refusal: LoginRefusal::Disabled
            }
        );
        assert_eq!(error.to_string(), "wrong user name or password");
        users.enable(&alice_id).unwrap();
        assert!(
            users
                .authenticate(
                    "alice",
                    "correct horse battery",
                    "10.0.0.3",
                    T0,
                    &mut throttle
                )
                .is_ok()
        );
    }

    #[test]
    fn throttled_sign_ins_are_refused_before_the_password_is_checked() {
        let mut users = users();
        let mut random = SeededRandom(2);
        let alice = new_user("alice", &[Role::SocAnalyst], Some("correct horse battery"));
        users.add(alice, T0, &mut random).unwrap();
        let mut throttle = Throttle::default();
        for _ in 0..5 {
            let error =
                users.authenticate("alice", "guess guess guess", "10.0.0.1", T0, &mut throttle);
            assert!(matches!(error, Err(AuthError::InvalidCredentials { .. })));
        }
        let error = users
            .authenticate(
                "alice",
                "correct horse battery",
                "10.0.0.9",
                T0,
                &mut throttle,
            )
            .unwrap_err();
        assert_eq!(
            error,
            AuthError::Throttled {
                retry_after_secs: 60
            }
        );
        assert_eq!(error.status(), 429);
        // Unknown logins are throttled the same way.
        for _ in 0..5 {
            let _ = users.authenticate(
                "mallory",
                "guess guess guess",
                "10.0.0.1",
                T0,
                &mut throttle,
            );
        }
        let error = users.authenticate("mallory", "x", "10.0.0.9", T0, &mut throttle);
        assert_eq!(
            error.unwrap_err(),
            AuthError::Throttled {
                retry_after_secs: 60
            }
        );
        let later = T0.plus_millis(60_000);
        assert!(
            users
                .authenticate(
                    "alice",
                    "correct horse battery",
                    "10.0.0.9",
                    later,
                    &mut throttle
                )
                .is_ok()
        );
    }

    #[test]
    fn adding_users() {
        let mut users = users();
        let mut random = SeededRandom(3);
        let added = users
            .add(
                NewUser {
                    sites: Some(&["hq".into(), "depot".into(), "hq".into()]),
                    ..new_user(
                        "Alice.Martin@example.com",
                        &[Role::GsocOperator, Role::Auditor, Role::GsocOperator],
                        Some("correct horse battery"),
                    )
                },
                T0,
                &mut random,
            )
            .unwrap()
            .clone();
        assert!(added.id.starts_with("u-") && added.id.len() == 18);
        assert_eq!(added.roles, [Role::GsocOperator, Role::Auditor]);
        assert_eq!(
            added.sites,
            Some(vec!["depot".to_string(), "hq".to_string()])
        );
        assert_eq!(added.password_changed, Some(T0));
        assert!(
            added
                .password_hash
                .as_deref()
                .unwrap()
                .starts_with("$argon2id$")
        );
        assert!(
            !format!("{added:?}").contains("argon2"),
            "the hash stays out of Debug"
        );

        let duplicate = users.add(
            new_user("alice.martin@EXAMPLE.com", &[Role::Auditor], None),
            T0,
            &mut random,
        );
        assert_eq!(
            duplicate.unwrap_err().to_string(),
            "a user named `alice.martin@EXAMPLE.com` exists already"
        );
        for bad in ["", ".alice", "al ice", "аdmin", "a\u{0}", &"a".repeat(65)] {
            let error = users.add(new_user(bad, &[Role::Auditor], None), T0, &mut random);
            assert!(
                matches!(error, Err(UserError::InvalidName { .. })),
                "{bad:?}"
            );
        }
        let no_roles = users.add(new_user("carol", &[], None), T0, &mut random);
        assert_eq!(no_roles.unwrap_err(), UserError::NoRoles);
        let no_sites = users.add(
            NewUser {
                sites: Some(&[]),
                ..new_user("carol", &[Role::Auditor], None)
            },
            T0,
            &mut random,
        );
        assert_eq!(no_sites.unwrap_err(), UserError::InvalidSites);
        let weak = users.add(
            new_user("carol", &[Role::Auditor], Some("carol")),
            T0,
            &mut random,
        );
        assert_eq!(
            weak.unwrap_err(),
            UserError::Password(PasswordError::TooShort)
        );
        let same = users.add(
            new_user("carol.carolsen", &[Role::Auditor], Some("Carol.Carolsen")),
            T0,
            &mut random,
        );
        assert_eq!(
            same.unwrap_err(),
            UserError::Password(PasswordError::SameAsLogin)
        );
        let broken = users.add(
            new_user("carol", &[Role::Auditor], Some("correct horse battery")),
            T0,
            &mut BrokenRandom,
        );
        assert!(matches!(broken, Err(UserError::Random(_))));
        assert_eq!(users.len(), 1, "nothing is added by a refused call");
    }

    #[test]
    fn the_last_admin_stays() {
        let mut users = users();
        let mut random = SeededRandom(4);
        let root = users
            .add(
                new_user("root", &[Role::Admin], Some("a long admin password")),
                T0,
                &mut random,
            )
            .unwrap()
            .id
            .clone();
        assert!(users.has_admin());
        assert_eq!(users.disable(&root).unwrap_err(), UserError::LastAdmin);
        assert_eq!(
            users.set_roles(&root, &[Role::Auditor]).unwrap_err(),
            UserError::LastAdmin
        );
        let one_site = ["hq".to_string()];
        assert_eq!(
            users.set_sites(&root, Some(&one_site)).unwrap_err(),
            UserError::LastAdmin
        );
        let second = users
            .add(new_user("root2", &[Role::Admin], None), T0, &mut random)
            .unwrap()
            .id
            .clone();
        users.disable(&root).unwrap();
        assert_eq!(users.disable(&second).unwrap_err(), UserError::LastAdmin);
        assert_eq!(
            users.set_roles(&second, &[]).unwrap_err(),
            UserError::NoRoles
        );
        assert!(matches!(
            users.disable("u-0"),
            Err(UserError::UnknownUser { .. })
        ));
    }

    #[test]
    fn documents_round_trip() {
        let mut users = users();
        let mut random = SeededRandom(5);
        let id = users
            .add(
                new_user("alice", &[Role::SocAnalyst], Some("correct horse battery")),
                T0,
                &mut random,
            )
            .unwrap()
            .id
            .clone();
        users
            .add(new_user("bob", &[Role::Auditor], None), T0, &mut random)
            .unwrap();
        let documents: Vec<(String, String)> = users
            .iter()
            .map(|user| (user.id.clone(), user.to_document().unwrap()))
            .collect();
        let loaded = Users::load(PasswordParams::FOR_TESTS, documents.clone()).unwrap();
        assert_eq!(
            loaded.iter().collect::<Vec<_>>(),
            users.iter().collect::<Vec<_>>()
        );
        let mut throttle = Throttle::default();
        let signed_in = loaded.authenticate(
            "alice",
            "correct horse battery",
            "10.0.0.1",
            T0,
            &mut throttle,
        );
        assert_eq!(signed_in.unwrap().id, id);
        let json = users.get(&id).unwrap().to_document().unwrap();
        assert!(json.contains(r#""roles":["soc-analyst"]"#), "{json}");

        let wrong_id = vec![("u-other".to_string(), documents[0].1.clone())];
        let error = Users::load(PasswordParams::FOR_TESTS, wrong_id).unwrap_err();
        assert!(matches!(error, UserError::Document { .. }));
        let twice = vec![
            documents[0].clone(),
            (documents[0].0.clone(), documents[0].1.clone()),
        ];
        assert!(Users::load(PasswordParams::FOR_TESTS, twice).is_err());
        let garbage = vec![("u-1".to_string(), "{".to_string())];
        assert!(Users::load(PasswordParams::FOR_TESTS, garbage).is_err());
    }

    #[test]
    fn changing_a_password() {
        let mut users = users();
        let mut random = SeededRandom(6);
        let id = users
            .add(
                new_user("alice", &[Role::SocAnalyst], None),
                T0,
                &mut random,
            )
            .unwrap()
            .id
            .clone();
        let later = T0.plus_millis(1000);
        let error = users
            .set_password(&id, "alice", later, &mut random)
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "password is too short: at least 12 characters"
        );
        users
            .set_password(&id, "a new long password", later, &mut random)
            .unwrap();
        assert_eq!(users.get(&id).unwrap().password_changed, Some(later));
        let mut throttle = Throttle::default();
        assert!(
            users
                .authenticate("alice", "a new long password", "a", later, &mut throttle)
                .is_ok()
        );
        assert!(!password::needs_rehash(
            users.get(&id).unwrap().password_hash.as_deref().unwrap(),
            PasswordParams::FOR_TESTS
        ));
    }
}
