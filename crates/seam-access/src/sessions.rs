//! Browser sessions, kept server-side.
//!
//! The cookie holds 32 random bytes (URL-safe base64); the table keeps only their SHA-256,
//! so a copy of the table gives no live cookie. A session ends at logout, after
//! [`SessionPolicy::idle_ms`] without a request, [`SessionPolicy::absolute_ms`] after sign-in,
//! when its user is disabled, or when the user opens one session too many (the oldest goes).
//! Each session has a CSRF token that every state-changing request made with the cookie must
//! echo in [`crate::CSRF_HEADER`].

use std::collections::HashMap;
use std::fmt;

use seam_model::Ts;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use crate::error::{AuthError, SessionRefusal};
use crate::random::{
    Random, RandomError, Secret, base64url, base64url_len, is_base64url, random_bytes, sha256_hex,
};
use crate::users::Users;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "seam_session";
const COOKIE_BYTES: usize = 32;
const COOKIE_LEN: usize = base64url_len(COOKIE_BYTES);
/// The longest CSRF header value read.
const MAX_CSRF_BYTES: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused this long ends (30 minutes).
    pub idle_ms: i64,
    /// A session this old ends however much it is used (12 hours).
    pub absolute_ms: i64,
    /// A user's sessions beyond this many end, oldest first.
    pub max_per_user: usize,
    /// All sessions beyond this many end, the longest idle first.
    pub max_sessions: usize,
}

impl Default for SessionPolicy {
    fn default() -> SessionPolicy {
        SessionPolicy {
            idle_ms: 30 * 60_000,
            absolute_ms: 12 * 3_600_000,
            max_per_user: 10,
            max_sessions: 100_000,
        }
    }
}

impl SessionPolicy {
    /// The `Set-Cookie` value that gives a browser its session: HttpOnly (no script reads
    /// it), SameSite=Strict (no other site's page sends it), Secure under TLS, and gone from
    /// the browser when the session's absolute time-out passes.
    pub fn cookie_header(&self, cookie: &Secret, secure: bool) -> String {
        let max_age = (self.absolute_ms / 1000).max(0);
        let secure = if secure { "; Secure" } else { "" };
        format!(
            "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict{secure}; Max-Age={max_age}",
            cookie.expose()
        )
    }

    /// The `Set-Cookie` value that removes the cookie at logout.
    pub fn logout_cookie_header(&self, secure: bool) -> String {
        let secure = if secure { "; Secure" } else { "" };
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict{secure}; Max-Age=0")
    }
}

/// One live session.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Lowercase hex SHA-256 of the cookie value.
    pub id_digest: String,
    pub user_id: String,
    pub created: Ts,
    pub last_seen: Ts,
    pub csrf_token: String,
}

impl Session {
    fn refusal(&self, policy: &SessionPolicy, now: Ts) -> Option<SessionRefusal> {
        let since = |then: Ts| now.millis().saturating_sub(then.millis());
        if since(self.created) >= policy.absolute_ms {
            Some(SessionRefusal::Expired)
        } else if since(self.last_seen) >= policy.idle_ms {
            Some(SessionRefusal::Idle)
        } else {
            None
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id_digest", &self.id_digest)
            .field("user_id", &self.user_id)
            .field("created", &self.created)
            .field("last_seen", &self.last_seen)
            .field("csrf_token", &"redacted")
            .finish()
    }
}

/// What [`Sessions::create`] gives the browser, once.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The cookie's value; see [`SessionPolicy::cookie_header`].
    pub cookie: Secret,
    /// For the page to send back in [`crate::CSRF_HEADER`].
    pub csrf_token: Secret,
}

/// The live sessions, by the digest of their cookie.
#[derive(Debug, Clone, Default)]
pub struct Sessions {
    policy: SessionPolicy,
    by_digest: HashMap<String, Session>,
    /// Each user's session digests, oldest first.
    by_user: HashMap<String, Vec<String>>,
}

/// The digest of a well-formed cookie value, or `None`.
fn cookie_digest(cookie: &str) -> Option<String> {
    (cookie.len() == COOKIE_LEN && is_base64url(cookie)).then(|| sha256_hex(cookie.as_bytes()))
}

impl Sessions {
    pub fn new(policy: SessionPolicy) -> Sessions {
        Sessions {
            policy,
            ..Sessions::default()
        }
    }

    pub fn policy(&self) -> &SessionPolicy {
        &self.policy
    }

    /// Sessions kept across a restart (if the caller keeps them), dropping those over.
    pub fn restore(policy: SessionPolicy, sessions: Vec<Session>, now: Ts) -> Sessions {
        let mut restored = Sessions::new(policy);
        let mut sessions = sessions;
        sessions.sort_by_key(|session| session.created);
        for session in sessions {
            if session.refusal(&policy, now).is_none() {
                restored.insert(session, now);
            }
        }
        restored
    }

    /// Opens a session for `user_id` (the caller has just authenticated them).
    pub fn create(
        &mut self,
        user_id: &str,
        now: Ts,
        random: &mut dyn Random,
    ) -> Result<NewSession, RandomError> {
        let cookie = base64url(&random_bytes::<COOKIE_BYTES>(random)?);
        let csrf_token = base64url(&random_bytes::<32>(random)?);
        let id_digest = sha256_hex(cookie.as_bytes());
        let session = Session {
            id_digest,
            user_id: user_id.to_string(),
            created: now,
            last_seen: now,
            csrf_token: csrf_token.clone(),
        };
        self.insert(session, now);
        Ok(NewSession {
            cookie: Secret::new(cookie),
            csrf_token: Secret::new(csrf_token),
        })
    }

    fn insert(&mut self, session: Session, now: Ts) {
        let per_user = self.policy.max_per_user.max(1);
        let oldest_of_user: Vec<String> = match self.by_user.get(&session.user_id) {
            Some(digests) if digests.len() >= per_user => digests
                .iter()
                .take(digests.len() + 1 - per_user)
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        for digest in oldest_of_user {
            self.remove(&digest);
        }
        if self.by_digest.len() >= self.policy.max_sessions.max(1) {
            self.purge(now);
        }
        while self.by_digest.len() >= self.policy.max_sessions.max(1) {
            let idlest = self
                .by_digest
                .values()
                .min_by_key(|session| session.last_seen)
                .map(|session| session.id_digest.clone());
            match idlest {
                Some(digest) => self.remove(&digest),
                None => break,
            };
        }
        self.by_user
            .entry(session.user_id.clone())
            .or_default()
            .push(session.id_digest.clone());
        self.by_digest.insert(session.id_digest.clone(), session);
    }

    fn remove(&mut self, digest: &str) -> Option<Session> {
        let session = self.by_digest.remove(digest)?;
        if let Some(digests) = self.by_user.get_mut(&session.user_id) {
            digests.retain(|other| other != digest);
            if digests.is_empty() {
                self.by_user.remove(&session.user_id);
            }
        }
        Some(session)
    }

    /// The live session a cookie value opens, its idle clock restarted; or
    /// [`AuthError::InvalidSession`] (one message for every reason). A session found over
    /// its time-outs, or whose user is disabled or gone, ends here.
    pub fn check(&mut self, cookie: &str, now: Ts, users: &Users) -> Result<&Session, AuthError> {
        let refuse = |refusal| AuthError::InvalidSession { refusal };
        let digest = cookie_digest(cookie).ok_or(refuse(SessionRefusal::Malformed))?;
        // Looked up by digest: the timing of the lookup depends on the digest, which the
        // client cannot steer bit by bit, not on the cookie.
        let session = self
            .by_digest
            .get(&digest)
            .ok_or(refuse(SessionRefusal::Unknown))?;
        let refusal = session.refusal(&self.policy, now).or_else(|| {
            let active = users
                .get(&session.user_id)
                .is_some_and(|user| !user.disabled);
            (!active).then_some(SessionRefusal::UserDisabled)
        });
        if let Some(refusal) = refusal {
            self.remove(&digest);
            return Err(refuse(refusal));
        }
        let session = self
            .by_digest
            .get_mut(&digest)
            .ok_or(refuse(SessionRefusal::Unknown))?;
        session.last_seen = session.last_seen.max(now);
        Ok(session)
    }

    /// Ends the session a cookie value opens (logout); the ended session, if there was one.
    pub fn end(&mut self, cookie: &str) -> Option<Session> {
        self.remove(&cookie_digest(cookie)?)
    }

    /// Ends every session of a user (disabled, password changed); how many.
    pub fn end_all_for(&mut self, user_id: &str) -> usize {
        let digests = self.by_user.remove(user_id).unwrap_or_default();
        digests
            .iter()
            .filter(|digest| self.by_digest.remove(digest.as_str()).is_some())
            .count()
    }

    /// Ends every session over its time-outs; how many. The caller may call it now and then
    /// to free memory: [`Sessions::check`] refuses them anyway.
    pub fn purge(&mut self, now: Ts) -> usize {
        let over: Vec<String> = self
            .by_digest
            .values()
            .filter(|session| session.refusal(&self.policy, now).is_some())
            .map(|session| session.id_digest.clone())
            .collect();
        for digest in &over {
            self.remove(digest);
        }
        over.len()
    }

    /// A user's live sessions, oldest first.
    pub fn of_user(&self, user_id: &str) -> impl Iterator<Item = &Session> {
        self.by_user
            .get(user_id)
            .into_iter()
            .flatten()
            .filter_map(|digest| self.by_digest.get(digest))
    }

    /// Every session, for a caller that keeps them across restarts.
    pub fn iter(&self) -> impl Iterator<Item = &Session> {
        self.by_digest.values()
    }

    pub fn len(&self) -> usize {
        self.by_digest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }
}

/// Whether `header` (the [`crate::CSRF_HEADER`] value) is the session's CSRF token,
/// compared in constant time.
pub fn check_csrf(session: &Session, header: Option<&[u8]>) -> Result<(), AuthError> {
    let Some(header) = header.filter(|header| header.len() <= MAX_CSRF_BYTES) else {
        return Err(AuthError::Csrf);
    };
    if bool::from(header.ct_eq(session.csrf_token.as_bytes())) {
        Ok(())
    } else {
        Err(AuthError::Csrf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::password::PasswordParams;
    use crate::random::testing::SeededRandom;
    use crate::roles::Role;
    use crate::users::NewUser;

    const T0: Ts = Ts::from_secs(1_770_000_000);
    const MINUTE: i64 = 60_000;

    fn users_with(names: &[&str]) -> (Users, Vec<String>) {
        let mut users = Users::new(PasswordParams::FOR_TESTS).unwrap();
        let mut random = SeededRandom(20);
        let ids = names
            .iter()
            .map(|name| {
                let new = NewUser {
                    name,
                    display_name: name,
                    roles: &[Role::Admin],
                    sites: None,
                    password: None,
                    oidc_subject: None,
                };
                users.add(new, T0, &mut random).unwrap().id.clone()
            })
            .collect();
        (users, ids)
    }

    fn refusal(result: Result<&Session, AuthError>) -> SessionRefusal {
        match result {
            Err(AuthError::InvalidSession { refusal }) => refusal,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn idle_and_absolute_time_outs() {
        let (users, ids) = users_with(&["alice"]);
        let mut sessions = Sessions::default();
        let mut random = SeededRandom(21);
        let new = sessions.create(&ids[0], T0, &mut random).unwrap();
        let cookie = new.cookie.expose();
        assert_eq!(cookie.len(), 43);
        assert_eq!(sessions.check(cookie, T0, &users).unwrap().user_id, ids[0]);
        // Used every 29 minutes, it lives until the absolute time-out.
        let mut now = T0;
        while now < T0.plus_millis(12 * 60 * MINUTE - 29 * MINUTE) {
            now = now.plus_millis(29 * MINUTE);
            assert!(sessions.check(cookie, now, &users).is_ok(), "{now}");
        }
        let end = T0.plus_millis(12 * 60 * MINUTE);
        assert_eq!(
            refusal(sessions.check(cookie, end, &users)),
            SessionRefusal::Expired
        );
        assert_eq!(
            refusal(sessions.check(cookie, end, &users)),
            SessionRefusal::Unknown
        );

        let new = sessions.create(&ids[0], T0, &mut random).unwrap();
        let cookie = new.cookie.expose();
        assert!(
            sessions
                .check(cookie, T0.plus_millis(30 * MINUTE - 1), &users)
                .is_ok()
        );
        let idle = T0.plus_millis(60 * MINUTE - 1);
        assert_eq!(
            refusal(sessions.check(cookie, idle, &users)),
            SessionRefusal::Idle
        );
        assert!(sessions.is_empty());
    }

    #[test]
    fn logout_and_disabled_users_end_sessions_at_once() {
        let (mut users, ids) = users_with(&["alice", "bob"]);
        let mut sessions = Sessions::default();
        let mut random = SeededRandom(22);
        let alice1 = sessions.create(&ids[0], T0, &mut random).unwrap();
        let alice2 = sessions.create(&ids[0], T0, &mut random).unwrap();
        let bob = sessions.create(&ids[1], T0, &mut random).unwrap();

        let ended = sessions.end(alice1.cookie.expose()).unwrap();
        assert_eq!(ended.user_id, ids[0]);
        assert_eq!(
            refusal(sessions.check(alice1.cookie.expose(), T0, &users)),
            SessionRefusal::Unknown
        );
        assert!(sessions.end(alice1.cookie.expose()).is_none());

        // Disabled with a live session: refused at the very next request, even before the
        // sessions are ended.
        users.disable(&ids[0]).unwrap();
        assert_eq!(
            refusal(sessions.check(alice2.cookie.expose(), T0, &users)),
            SessionRefusal::UserDisabled
        );
        assert!(sessions.check(bob.cookie.expose(), T0, &users).is_ok());
        assert_eq!(sessions.end_all_for(&ids[1]), 1);
        assert_eq!(
            refusal(sessions.check(bob.cookie.expose(), T0, &users)),
            SessionRefusal::Unknown
        );
        assert!(sessions.is_empty());
    }

    #[test]
    fn tampered_truncated_and_oversized_cookies() {
        let (users, ids) = users_with(&["alice"]);
        let mut sessions = Sessions::default();
        let mut random = SeededRandom(23);
        let new = sessions.create(&ids[0], T0, &mut random).unwrap();
        let good = new.cookie.expose();
        let mut flipped = good.to_string();
        let first = if good.starts_with('A') { "B" } else { "A" };
        flipped.replace_range(..1, first);
        let cases = [
            (flipped, SessionRefusal::Unknown),
            (good[..42].to_string(), SessionRefusal::Malformed),
            (format!("{good}A"), SessionRefusal::Malformed),
            (good.repeat(200), SessionRefusal::Malformed),
            (format!("{}=", &good[..42]), SessionRefusal::Malformed),
            (format!("{}é", &good[..41]), SessionRefusal::Malformed),
            (String::new(), SessionRefusal::Malformed),
        ];
        for (cookie, expected) in cases {
            let error = sessions.check(&cookie, T0, &users).unwrap_err();
            assert_eq!(error.to_string(), "no valid session: sign in again");
            assert_eq!(refusal(Err(error)), expected, "{cookie:?}");
        }
        assert!(sessions.check(good, T0, &users).is_ok());
    }

    #[test]
    fn csrf() {
        let (users, ids) = users_with(&["alice"]);
        let mut sessions = Sessions::default();
        let mut random = SeededRandom(24);
        let new = sessions.create(&ids[0], T0, &mut random).unwrap();
        let session = sessions.check(new.cookie.expose(), T0, &users).unwrap();
        let token = new.csrf_token.expose().as_bytes();
        assert_eq!(check_csrf(session, Some(token)), Ok(()));
        assert_eq!(check_csrf(session, None), Err(AuthError::Csrf));
        assert_eq!(check_csrf(session, Some(b"")), Err(AuthError::Csrf));
        assert_eq!(check_csrf(session, Some(&token[1..])), Err(AuthError::Csrf));
        let mut wrong = token.to_vec();
        wrong[0] ^= 1;
        assert_eq!(check_csrf(session, Some(&wrong)), Err(AuthError::Csrf));
        assert_eq!(
            check_csrf(session, Some(&[b'a'; 4096])),
            Err(AuthError::Csrf)
        );
        assert_eq!(AuthError::Csrf.status(), 403);
        assert!(!format!("{session:?}").contains(new.csrf_token.expose()));
    }

    #[test]
    fn bounded_per_user_and_overall() {
        let (users, ids) = users_with(&["alice", "bob"]);
        let mut sessions = Sessions::new(SessionPolicy {
            max_per_user: 3,
            max_sessions: 5,
            ..SessionPolicy::default()
        });
        let mut random = SeededRandom(25);
        let alice: Vec<NewSession> = (0..4)
            .map(|i| {
                sessions
                    .create(&ids[0], T0.plus_millis(i), &mut random)
                    .unwrap()
            })
            .collect();
        assert_eq!(sessions.len(), 3);
        assert!(
            sessions
                .check(alice[0].cookie.expose(), T0, &users)
                .is_err(),
            "oldest ended"
        );
        for new in &alice[1..] {
            assert!(
                sessions
                    .check(new.cookie.expose(), T0.plus_millis(10), &users)
                    .is_ok()
            );
        }
        // Bob's sessions push the total over five: the longest idle goes.
        for i in 0..3 {
            sessions
                .create(&ids[1], T0.plus_millis(20 + i), &mut random)
                .unwrap();
        }
        assert_eq!(sessions.len(), 5);
        assert_eq!(sessions.of_user(&ids[0]).count(), 2);
        assert_eq!(sessions.of_user(&ids[1]).count(), 3);
    }

    #[test]
    fn cookie_headers() {
        let policy = SessionPolicy::default();
        let cookie = Secret::new("abc".into());
        assert_eq!(
            policy.cookie_header(&cookie, true),
            "seam_session=abc; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=43200"
        );
        assert_eq!(
            policy.cookie_header(&cookie, false),
            "seam_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200"
        );
        assert_eq!(
            policy.logout_cookie_header(true),
            "seam_session=; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=0"
        );
    }

    #[test]
    fn restored_sessions_keep_their_clocks() {
        let (users, ids) = users_with(&["alice"]);
        let mut sessions = Sessions::default();
        let mut random = SeededRandom(26);
        let live = sessions.create(&ids[0], T0, &mut random).unwrap();
        let json = serde_json::to_string(&sessions.iter().cloned().collect::<Vec<_>>()).unwrap();
        assert!(!json.contains(live.cookie.expose()));
        let kept: Vec<Session> = serde_json::from_str(&json).unwrap();
        let later = T0.plus_millis(10 * MINUTE);
        let mut restored = Sessions::restore(SessionPolicy::default(), kept.clone(), later);
        assert!(restored.check(live.cookie.expose(), later, &users).is_ok());
        let too_late = T0.plus_millis(31 * MINUTE);
        assert!(Sessions::restore(SessionPolicy::default(), kept, too_late).is_empty());
    }
}
