//! Everything together: what the HTTP layer calls on each request, at sign-in and at logout.

use seam_model::Ts;

use crate::credentials::{Credential, credential, is_state_changing};
use crate::decide::{Decision, Principal, decide};
use crate::error::{AuthError, SessionRefusal};
use crate::password::needs_rehash;
use crate::random::Random;
use crate::routes::{RouteMatch, route_match};
use crate::sessions::{NewSession, Session, SessionPolicy, Sessions, check_csrf};
use crate::throttle::{Throttle, ThrottlePolicy};
use crate::tokens::Tokens;
use crate::users::{User, UserError, Users};

/// Users, tokens, sessions and the sign-in throttle. Pure: the caller holds it (behind a
/// lock), persists what changed, and passes `now` and randomness in.
#[derive(Debug, Clone)]
pub struct Access {
    pub users: Users,
    pub tokens: Tokens,
    pub sessions: Sessions,
    pub throttle: Throttle,
}

/// The parts of a request that authentication reads.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    pub method: &'a str,
    /// The URI path (a query string after `?` is ignored).
    pub path: &'a str,
    pub authorization: Option<&'a [u8]>,
    /// Every `Cookie` header value.
    pub cookies: &'a [&'a [u8]],
    /// The [`crate::CSRF_HEADER`] value.
    pub csrf: Option<&'a [u8]>,
}

/// A request allowed through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// `None` on a public route (credentials are not read there).
    pub principal: Option<Principal>,
    /// Filter the answer to these sites when `Some`.
    pub site_scope: Option<Vec<String>>,
    /// A token whose `last_used` moved: persist its record.
    pub token_touched: Option<String>,
}

/// A request refused before its handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// A credential was presented and refused (401, 403 for CSRF, 429 throttled).
    Auth(AuthError),
    /// The route table's answer (401 without credentials, 403, 404, 405).
    Decision(Decision),
}

impl Refused {
    pub fn status(&self) -> u16 {
        match self {
            Refused::Auth(error) => error.status(),
            Refused::Decision(decision) => decision.status(),
        }
    }
}

/// The principal a credential names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub principal: Principal,
    /// A token whose `last_used` moved: persist its record.
    pub token_touched: Option<String>,
}

/// A successful sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub principal: Principal,
    /// Set the cookie with [`SessionPolicy::cookie_header`]; give the page the CSRF token.
    pub session: NewSession,
    /// The password hash was remade with the current parameters: persist the user.
    pub rehashed: bool,
}

impl Access {
    pub fn new(
        users: Users,
        tokens: Tokens,
        session_policy: SessionPolicy,
        throttle_policy: ThrottlePolicy,
    ) -> Access {
        Access {
            users,
            tokens,
            sessions: Sessions::new(session_policy),
            throttle: Throttle::new(throttle_policy),
        }
    }

    /// Decides a request: the route first (404 and 405 the same for everyone; public routes
    /// without reading credentials), then the credential, then the table.
    pub fn check_request(
        &mut self,
        request: &RequestParts<'_>,
        now: Ts,
    ) -> Result<Allowed, Refused> {
        let public = match route_match(request.method, request.path) {
            RouteMatch::Rule(rule) => rule.permission.is_none(),
            RouteMatch::MethodNotAllowed { .. } | RouteMatch::NoRoute => true,
        };
        let (principal, token_touched) = if public {
            (None, None)
        } else {
            match self.authenticate(request, now).map_err(Refused::Auth)? {
                Some(found) => (Some(found.principal), found.token_touched),
                None => (None, None),
            }
        };
        match decide(principal.as_ref(), request.method, request.path) {
            Decision::Allow { site_scope } => Ok(Allowed {
                principal,
                site_scope,
                token_touched,
            }),
            refused => Err(Refused::Decision(refused)),
        }
    }

    /// The principal a request's credential names, `None` when it presents none. A token's
    /// use is recorded (the id is returned when its record changed); a session's idle clock
    /// restarts, and a state-changing request made with it must carry its CSRF token.
    pub fn authenticate(
        &mut self,
        request: &RequestParts<'_>,
        now: Ts,
    ) -> Result<Option<Authenticated>, AuthError> {
        match credential(request.authorization, request.cookies.iter().copied())? {
            None => Ok(None),
            Some(Credential::Bearer(token)) => {
                let record = self.tokens.verify(token, now)?;
                let principal = Principal::from_token(record);
                let id = record.id.clone();
                let token_touched = self.tokens.touch(&id, now).then_some(id);
                Ok(Some(Authenticated {
                    principal,
                    token_touched,
                }))
            }
            Some(Credential::Session(cookie)) => {
                let session = self.sessions.check(cookie, now, &self.users)?;
                if is_state_changing(request.method) {
                    check_csrf(session, request.csrf)?;
                }
                let user = self
                    .users
                    .get(&session.user_id)
                    .ok_or(AuthError::InvalidSession {
                        refusal: SessionRefusal::UserDisabled,
                    })?;
                Ok(Some(Authenticated {
                    principal: Principal::from_user(user),
                    token_touched: None,
                }))
            }
        }
    }

    /// Signs in with a password from `address` and opens a session.
    pub fn login(
        &mut self,
        login: &str,
        password: &str,
        address: &str,
        now: Ts,
        random: &mut dyn Random,
    ) -> Result<SignedIn, AuthError> {
        let user = self
            .users
            .authenticate(login, password, address, now, &mut self.throttle)?;
        let principal = Principal::from_user(user);
        let stale = user
            .password_hash
            .as_deref()
            .is_some_and(|hash| needs_rehash(hash, self.users.params()));
        let session = self.sessions.create(&principal.id, now, random)?;
        // A failed rehash leaves the old hash, still valid: not worth refusing the sign-in.
        let rehashed = stale && self.users.rehash(&principal.id, password, random).is_ok();
        Ok(SignedIn {
            principal,
            session,
            rehashed,
        })
    }

    /// Ends the session of a cookie value (logout); the ended session, for the audit.
    pub fn logout(&mut self, cookie: &str) -> Option<Session> {
        self.sessions.end(cookie)
    }

    /// Disables a user and ends their sessions.
    pub fn disable_user(&mut self, id: &str) -> Result<&User, UserError> {
        self.users.disable(id)?;
        self.sessions.end_all_for(id);
        self.users
            .get(id)
            .ok_or_else(|| UserError::UnknownUser { id: id.to_string() })
    }

    /// Sets a user's password and ends their sessions (the page that changed it signs in
    /// again).
    pub fn set_password(
        &mut self,
        id: &str,
        password: &str,
        now: Ts,
        random: &mut dyn Random,
    ) -> Result<&User, UserError> {
        self.users.set_password(id, password, now, random)?;
        self.sessions.end_all_for(id);
        self.users
            .get(id)
            .ok_or_else(|| UserError::UnknownUser { id: id.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TokenRefusal;
    use crate::password::PasswordParams;
    use crate::random::testing::SeededRandom;
    use crate::roles::Role;
    use crate::tokens::NewToken;
    use crate::users::NewUser;

    const T0: Ts = Ts::from_secs(1_770_000_000);

    fn access() -> (Access, String) {
        let mut users = Users::new(PasswordParams::FOR_TESTS).unwrap();
        let mut random = SeededRandom(40);
        let id = users
            .add(
                NewUser {
                    name: "guard",
                    display_name: "Guard",
                    roles: &[Role::GsocOperator],
                    sites: Some(&["hq".to_string()]),
                    password: Some("correct horse battery"),
                    oidc_subject: None,
                },
                T0,
                &mut random,
            )
            .unwrap()
            .id
            .clone();
        let access = Access::new(
            users,
            Tokens::new(),
            SessionPolicy::default(),
            ThrottlePolicy::default(),
        );
        (access, id)
    }

    fn request<'a>(method: &'a str, path: &'a str, cookies: &'a [&'a [u8]]) -> RequestParts<'a> {
        RequestParts {
            method,
            path,
            authorization: None,
            cookies,
            csrf: None,
        }
    }

    #[test]
    fn a_browser_session_from_sign_in_to_logout() {
        let (mut access, id) = access();
        let mut random = SeededRandom(41);
        let signed_in = access
            .login(
                "guard",
                "correct horse battery",
                "10.0.0.1",
                T0,
                &mut random,
            )
            .unwrap();
        assert_eq!(signed_in.principal.id, id);
        assert!(!signed_in.rehashed);
        let cookie = format!("seam_session={}", signed_in.session.cookie.expose());
        let cookies = [cookie.as_bytes()];

        let allowed = access
            .check_request(&request("GET", "/v1/findings", &cookies), T0)
            .unwrap();
        assert_eq!(allowed.site_scope, Some(vec!["hq".to_string()]));
        assert_eq!(allowed.principal.unwrap().id, id);

        // The guard's role does not read users.
        let refused = access.check_request(&request("GET", "/v1/users", &cookies), T0);
        assert_eq!(refused.unwrap_err(), Refused::Decision(Decision::Forbidden));

        // A state-changing request needs the CSRF token.
        let logout = request("POST", "/v1/logout", &cookies);
        assert_eq!(
            access.check_request(&logout, T0),
            Err(Refused::Auth(AuthError::Csrf))
        );
        let csrf = signed_in.session.csrf_token.expose().as_bytes();
        let logout = RequestParts {
            csrf: Some(csrf),
            ..logout
        };
        assert!(access.check_request(&logout, T0).is_ok());
        assert!(access.logout(signed_in.session.cookie.expose()).is_some());
        let after = access.check_request(&request("GET", "/v1/me", &cookies), T0);
        assert_eq!(
            after,
            Err(Refused::Auth(AuthError::InvalidSession {
                refusal: SessionRefusal::Unknown
            }))
        );
        assert_eq!(after.unwrap_err().status(), 401);
    }

    #[test]
    fn disabling_a_user_ends_their_live_session() {
        let (mut access, id) = access();
        let mut users_admin = SeededRandom(42);
        access
            .users
            .add(
                NewUser {
                    name: "root",
                    display_name: "Root",
                    roles: &[Role::Admin],
                    sites: None,
                    password: None,
                    oidc_subject: None,
                },
                T0,
                &mut users_admin,
            )
            .unwrap();
        let signed_in = access
            .login(
                "guard",
                "correct horse battery",
                "10.0.0.1",
                T0,
                &mut users_admin,
            )
            .unwrap();
        let cookie = format!("seam_session={}", signed_in.session.cookie.expose());
        let cookies = [cookie.as_bytes()];
        assert!(
            access
                .check_request(&request("GET", "/v1/me", &cookies), T0)
                .is_ok()
        );
        access.disable_user(&id).unwrap();
        assert_eq!(access.sessions.len(), 0);
        let refused = access.check_request(&request("GET", "/v1/me", &cookies), T0);
        assert_eq!(refused.unwrap_err().status(), 401);
        let again = access.login(
            "guard",
            "correct horse battery",
            "10.0.0.1",
            T0,
            &mut users_admin,
        );
        assert_eq!(
            again.unwrap_err().to_string(),
            "wrong user name or password"
        );
    }

    #[test]
    fn role_changes_apply_at_the_next_request_and_a_new_password_ends_sessions() {
        let (mut access, id) = access();
        let mut random = SeededRandom(45);
        let signed_in = access
            .login(
                "guard",
                "correct horse battery",
                "10.0.0.1",
                T0,
                &mut random,
            )
            .unwrap();
        let cookie = format!("seam_session={}", signed_in.session.cookie.expose());
        let cookies = [cookie.as_bytes()];
        let stream = request("GET", "/v1/findings/stream", &cookies);
        assert!(access.check_request(&stream, T0).is_ok());
        access.users.set_roles(&id, &[Role::Investigator]).unwrap();
        assert_eq!(
            access.check_request(&stream, T0),
            Err(Refused::Decision(Decision::Forbidden))
        );
        access
            .set_password(&id, "another long password", T0, &mut random)
            .unwrap();
        let me = request("GET", "/v1/me", &cookies);
        assert_eq!(access.check_request(&me, T0).unwrap_err().status(), 401);
    }

    #[test]
    fn tokens_on_requests() {
        let (mut access, _) = access();
        let mut random = SeededRandom(43);
        let (record, secret) = access
            .tokens
            .create(
                NewToken {
                    name: "okta hook",
                    roles: &[Role::Integration],
                    sites: None,
                    expires: None,
                },
                T0,
                &mut random,
            )
            .unwrap();
        let id = record.id.clone();
        let header = format!("Bearer {}", secret.expose());
        let ingest = RequestParts {
            authorization: Some(header.as_bytes()),
            ..request("POST", "/v1/ingest/okta", &[])
        };
        let allowed = access.check_request(&ingest, T0).unwrap();
        assert_eq!(allowed.token_touched, Some(id.clone()));
        let allowed = access.check_request(&ingest, T0.plus_millis(1)).unwrap();
        assert_eq!(allowed.token_touched, None);
        // No CSRF token needed: browsers do not attach bearer tokens by themselves.
        assert!(allowed.principal.is_some());
        let findings = RequestParts {
            path: "/v1/findings",
            method: "GET",
            ..ingest
        };
        assert_eq!(
            access.check_request(&findings, T0),
            Err(Refused::Decision(Decision::Forbidden))
        );
        access.tokens.revoke(&id, T0).unwrap();
        assert_eq!(
            access.check_request(&ingest, T0),
            Err(Refused::Auth(AuthError::InvalidToken {
                refusal: TokenRefusal::Revoked
            }))
        );
    }

    #[test]
    fn public_and_unknown_routes_do_not_read_credentials() {
        let (mut access, _) = access();
        let junk = RequestParts {
            authorization: Some(b"Basic junk"),
            ..request("GET", "/healthz", &[])
        };
        assert!(access.check_request(&junk, T0).is_ok());
        let unknown = RequestParts {
            path: "/v1/nothing",
            ..junk
        };
        assert_eq!(
            access.check_request(&unknown, T0),
            Err(Refused::Decision(Decision::NoRoute))
        );
        let findings = RequestParts {
            path: "/v1/findings",
            ..junk
        };
        assert_eq!(
            access.check_request(&findings, T0),
            Err(Refused::Auth(AuthError::MalformedCredentials))
        );
        let anonymous = request("GET", "/v1/findings", &[]);
        assert_eq!(
            access.check_request(&anonymous, T0),
            Err(Refused::Decision(Decision::Unauthenticated))
        );
    }

    #[test]
    fn stale_hashes_are_remade_at_sign_in() {
        let (access, id) = access();
        let documents = access
            .users
            .iter()
            .map(|user| (user.id.clone(), user.to_document().unwrap()));
        let stronger = PasswordParams {
            memory_kib: 128,
            ..PasswordParams::FOR_TESTS
        };
        let users = Users::load(stronger, documents).unwrap();
        let mut access = Access::new(
            users,
            Tokens::new(),
            SessionPolicy::default(),
            ThrottlePolicy::default(),
        );
        let mut random = SeededRandom(44);
        let signed_in = access
            .login(
                "guard",
                "correct horse battery",
                "10.0.0.1",
                T0,
                &mut random,
            )
            .unwrap();
        assert!(signed_in.rehashed);
        let hash = access
            .users
            .get(&id)
            .unwrap()
            .password_hash
            .clone()
            .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=128,t=1,p=1$"), "{hash}");
        let again = access
            .login(
                "guard",
                "correct horse battery",
                "10.0.0.1",
                T0,
                &mut random,
            )
            .unwrap();
        assert!(!again.rehashed);
    }
}
