//! Costs of authentication, for `seam bench access`. The only place this crate reads a
//! clock, and a monotonic one: times given to the code measured are synthetic.

use std::hint::black_box;
use std::time::Instant;

use seam_model::Ts;

use crate::access::{Access, RequestParts};
use crate::decide::decide;
use crate::password::{PasswordParams, verify_password};
use crate::random::{OsRandom, Random};
use crate::roles::Role;
use crate::sessions::SessionPolicy;
use crate::throttle::ThrottlePolicy;
use crate::tokens::{NewToken, Tokens};
use crate::users::{NewUser, Users};

/// What [`bench_access`] measured: mean times per call.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessCosts {
    pub params: PasswordParams,
    /// One password verification (a sign-in), in milliseconds.
    pub password_verify_ms: f64,
    /// [`crate::Tokens::verify`] of a good token, in nanoseconds.
    pub token_verify_ns: f64,
    /// [`crate::Sessions::check`] of a good cookie, in nanoseconds.
    pub session_check_ns: f64,
    /// [`crate::decide`] on `GET /scim/v2/{kind}/{id}` (the longest route match), in
    /// nanoseconds.
    pub decide_ns: f64,
    /// [`Access::check_request`] of `POST /v1/ingest/{source}` with a bearer token: all an
    /// ingest request pays, in nanoseconds.
    pub ingest_request_ns: f64,
    /// The same for `GET /v1/findings` with a session cookie.
    pub findings_request_ns: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("benchmark setup failed: {reason}")]
pub struct BenchError {
    pub reason: String,
}

fn setup_error(error: impl std::fmt::Display) -> BenchError {
    BenchError {
        reason: error.to_string(),
    }
}

fn mean_ns(iterations: u32, mut call: impl FnMut()) -> f64 {
    let started = Instant::now();
    for _ in 0..iterations {
        call();
    }
    started.elapsed().as_secs_f64() * 1e9 / f64::from(iterations.max(1))
}

/// Measures sign-in (`sign_ins` password verifications with `params`) and the per-request
/// costs (`iterations` calls each) against 1,000 tokens and 1,000 sessions.
pub fn bench_access(
    params: PasswordParams,
    sign_ins: u32,
    iterations: u32,
) -> Result<AccessCosts, BenchError> {
    let now = Ts::from_secs(1_772_442_900);
    let mut random = OsRandom;
    let random: &mut dyn Random = &mut random;
    let mut users = Users::new(params).map_err(setup_error)?;
    let new_user = NewUser {
        name: "analyst",
        display_name: "Analyst",
        roles: &[Role::SocAnalyst],
        sites: None,
        password: Some("correct horse battery staple"),
        oidc_subject: None,
    };
    let user_id = users
        .add(new_user, now, random)
        .map_err(setup_error)?
        .id
        .clone();
    let hash = users
        .get(&user_id)
        .and_then(|user| user.password_hash.clone())
        .unwrap_or_default();
    let started = Instant::now();
    for _ in 0..sign_ins {
        black_box(verify_password(
            &hash,
            black_box("correct horse battery staple"),
        ));
    }
    let password_verify_ms = started.elapsed().as_secs_f64() * 1e3 / f64::from(sign_ins.max(1));

    let mut access = Access::new(
        users,
        Tokens::new(),
        SessionPolicy::default(),
        ThrottlePolicy::default(),
    );
    let mut token = None;
    for n in 0..1000 {
        let new = NewToken {
            name: "ingest",
            roles: &[Role::Integration],
            sites: None,
            expires: None,
        };
        let (_, secret) = access
            .tokens
            .create(new, now, random)
            .map_err(setup_error)?;
        if n == 500 {
            token = Some(secret);
        }
    }
    let token = token.ok_or_else(|| setup_error("no token"))?;
    let mut cookie = None;
    for n in 0..1000 {
        let session = access
            .sessions
            .create(&user_id, now, random)
            .map_err(setup_error)?;
        if n == 999 {
            cookie = Some(session.cookie);
        }
    }
    let cookie = cookie.ok_or_else(|| setup_error("no session"))?;

    let token_verify_ns = mean_ns(iterations, || {
        black_box(access.tokens.verify(black_box(token.expose()), now).is_ok());
    });
    let users = access.users.clone();
    let session_check_ns = mean_ns(iterations, || {
        black_box(
            access
                .sessions
                .check(black_box(cookie.expose()), now, &users)
                .is_ok(),
        );
    });
    let decide_ns = mean_ns(iterations, || {
        black_box(decide(
            None,
            "GET",
            black_box("/scim/v2/Users/2819c223-7f76-453a"),
        ));
    });
    let authorization = format!("Bearer {}", token.expose());
    let ingest = RequestParts {
        method: "POST",
        path: "/v1/ingest/okta",
        authorization: Some(authorization.as_bytes()),
        cookies: &[],
        csrf: None,
    };
    let ingest_request_ns = mean_ns(iterations, || {
        black_box(access.check_request(black_box(&ingest), now).is_ok());
    });
    let cookie_header = format!("theme=dark; seam_session={}", cookie.expose());
    let cookies = [cookie_header.as_bytes()];
    let findings = RequestParts {
        method: "GET",
        path: "/v1/findings",
        authorization: None,
        cookies: &cookies,
        csrf: None,
    };
    let findings_request_ns = mean_ns(iterations, || {
        black_box(access.check_request(black_box(&findings), now).is_ok());
    });
    Ok(AccessCosts {
        params,
        password_verify_ms,
        token_verify_ns,
        session_check_ns,
        decide_ns,
        ingest_request_ns,
        findings_request_ns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs() {
        let costs = bench_access(PasswordParams::FOR_TESTS, 2, 10).unwrap();
        assert!(costs.password_verify_ms > 0.0);
        assert!(costs.ingest_request_ns > 0.0 && costs.findings_request_ns > 0.0);
    }
}
