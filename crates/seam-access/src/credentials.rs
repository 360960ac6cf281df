//! Reading credentials from request headers: strict, bounded, pure string work.

use crate::error::AuthError;
use crate::sessions::SESSION_COOKIE;

/// The longest `Authorization` header read.
pub const MAX_AUTHORIZATION_BYTES: usize = 4096;
/// The longest `Cookie` header read.
pub const MAX_COOKIE_BYTES: usize = 8192;
/// The header a page echoes its session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The credential a request presents.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Credential<'a> {
    /// An API token from `Authorization: Bearer <token>`.
    Bearer(&'a str),
    /// A session cookie's value.
    Session(&'a str),
}

// Credentials stay out of logs even through `{:?}`.
impl std::fmt::Debug for Credential<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Bearer(_) => f.write_str("Bearer(redacted)"),
            Credential::Session(_) => f.write_str("Session(redacted)"),
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header value: the scheme in any case,
/// exactly one space, then an RFC 6750 `b64token` (letters, digits, `-._~+/`, then `=`s), all
/// within [`MAX_AUTHORIZATION_BYTES`]. Anything else is [`AuthError::MalformedCredentials`].
pub fn bearer_token(header: &[u8]) -> Result<&str, AuthError> {
    if header.len() > MAX_AUTHORIZATION_BYTES {
        return Err(AuthError::MalformedCredentials);
    }
    let (scheme, token) = header
        .split_at_checked(7)
        .ok_or(AuthError::MalformedCredentials)?;
    if !scheme.eq_ignore_ascii_case(b"bearer ") {
        return Err(AuthError::MalformedCredentials);
    }
    let body_len = token
        .iter()
        .position(|&byte| byte == b'=')
        .unwrap_or(token.len());
    let (body, padding) = token.split_at_checked(body_len).unwrap_or((token, &[]));
    let body_ok = !body.is_empty()
        && body
            .iter()
            .all(|&byte| byte.is_ascii_alphanumeric() || b"-._~+/".contains(&byte));
    if !body_ok || !padding.iter().all(|&byte| byte == b'=') {
        return Err(AuthError::MalformedCredentials);
    }
    std::str::from_utf8(token).map_err(|_| AuthError::MalformedCredentials)
}

/// The value of the [`SESSION_COOKIE`] in a `Cookie` header value, if there is one. A
/// header over [`MAX_COOKIE_BYTES`], or holding the session cookie twice (a cookie planted
/// from a sibling domain besides ours), is [`AuthError::MalformedCredentials`]. Other cookies
/// are skipped unread, whatever bytes they hold.
pub fn session_cookie(header: &[u8]) -> Result<Option<&str>, AuthError> {
    if header.len() > MAX_COOKIE_BYTES {
        return Err(AuthError::MalformedCredentials);
    }
    let mut found = None;
    for pair in header.split(|&byte| byte == b';') {
        let pair = pair.trim_ascii();
        let Some((name, value)) = pair
            .iter()
            .position(|&byte| byte == b'=')
            .and_then(|at| pair.split_at_checked(at))
        else {
            continue;
        };
        if name.trim_ascii() != SESSION_COOKIE.as_bytes() {
            continue;
        }
        if found.is_some() {
            return Err(AuthError::MalformedCredentials);
        }
        let value = value.get(1..).unwrap_or_default().trim_ascii();
        // The session module checks the exact shape; this only keeps the bytes printable.
        let value = std::str::from_utf8(value).map_err(|_| AuthError::MalformedCredentials)?;
        if value.bytes().any(|byte| !byte.is_ascii_graphic()) {
            return Err(AuthError::MalformedCredentials);
        }
        found = Some(value);
    }
    Ok(found)
}

/// The credential a request presents: a bearer token when there is an `Authorization`
/// header (a cookie beside it is then ignored), else the session cookie from the `Cookie`
/// headers, else none. `cookies` are every `Cookie` header value (HTTP/2 may split them).
pub fn credential<'a>(
    authorization: Option<&'a [u8]>,
    cookies: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Option<Credential<'a>>, AuthError> {
    if let Some(header) = authorization {
        return bearer_token(header).map(|token| Some(Credential::Bearer(token)));
    }
    let mut found = None;
    let mut total = 0usize;
    for header in cookies {
        total = total.saturating_add(header.len());
        if total > MAX_COOKIE_BYTES {
            return Err(AuthError::MalformedCredentials);
        }
        if let Some(value) = session_cookie(header)? {
            if found.is_some() {
                return Err(AuthError::MalformedCredentials);
            }
            found = Some(Credential::Session(value));
        }
    }
    Ok(found)
}

/// Whether a request with this method changes state, and so needs the CSRF token when made
/// with a session cookie. Anything but `GET`, `HEAD` and `OPTIONS` (methods unknown to us
/// included) counts as changing.
pub fn is_state_changing(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn bearer_headers() {
        let token = "seam_0123456789abcdef_abc-DEF_123";
        assert_eq!(
            bearer_token(format!("Bearer {token}").as_bytes()),
            Ok(token)
        );
        assert_eq!(
            bearer_token(format!("bearer {token}").as_bytes()),
            Ok(token)
        );
        assert_eq!(bearer_token(b"BEARER abc=="), Ok("abc=="));
        assert_eq!(bearer_token(b"Bearer a.b~c+d/e"), Ok("a.b~c+d/e"));
        let long = format!("Bearer {}", "a".repeat(MAX_AUTHORIZATION_BYTES - 7));
        assert!(bearer_token(long.as_bytes()).is_ok());
        let too_long = format!("Bearer {}", "a".repeat(MAX_AUTHORIZATION_BYTES - 6));
        for bad in [
            b"".as_slice(),
            b"Bearer",
            b"Bearer ",
            b"Bearer  abc",
            b"Bearer abc ",
            b"Bearer\tabc",
            b"Bearer abc\r\n",
            b"Bearer a\x00c",
            b"Bearer ab=c",
            b"Bearer ===",
            b"Bearer abc def",
            b"Basic YWxhZGRpbjpvcGVuc2VzYW1l",
            b"Bearerabc",
            b"Bearer \xff\xfe",
            b"Token abc",
            too_long.as_bytes(),
        ] {
            assert_eq!(
                bearer_token(bad),
                Err(AuthError::MalformedCredentials),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn cookie_headers() {
        assert_eq!(session_cookie(b"seam_session=abc"), Ok(Some("abc")));
        assert_eq!(
            session_cookie(b"theme=dark; seam_session=abc; lang=fr"),
            Ok(Some("abc"))
        );
        assert_eq!(
            session_cookie(b"theme=dark;seam_session=abc"),
            Ok(Some("abc"))
        );
        assert_eq!(session_cookie(b"theme=dark"), Ok(None));
        assert_eq!(session_cookie(b""), Ok(None));
        assert_eq!(
            session_cookie(b"x_seam_session=abc; seam_sessionx=1"),
            Ok(None)
        );
        assert_eq!(
            session_cookie(b"other=\xff\xfe; seam_session=abc"),
            Ok(Some("abc"))
        );
        assert_eq!(session_cookie(b"seam_session="), Ok(Some("")));
        for bad in [
            b"seam_session=a; seam_session=b".as_slice(),
            b"seam_session=a\x01b",
            b"seam_session=\xff",
            b"seam_session=a b",
        ] {
            assert_eq!(
                session_cookie(bad),
                Err(AuthError::MalformedCredentials),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let huge = format!("seam_session=abc; pad={}", "x".repeat(MAX_COOKIE_BYTES));
        assert_eq!(
            session_cookie(huge.as_bytes()),
            Err(AuthError::MalformedCredentials)
        );
    }

    #[test]
    fn which_credential() {
        let cookie = b"seam_session=abc".as_slice();
        assert_eq!(
            credential(Some(b"Bearer tok"), [cookie]),
            Ok(Some(Credential::Bearer("tok")))
        );
        assert_eq!(
            credential(None, [cookie]),
            Ok(Some(Credential::Session("abc")))
        );
        assert_eq!(
            credential(None, [b"a=1".as_slice(), cookie]),
            Ok(Some(Credential::Session("abc")))
        );
        assert_eq!(
            credential(None, [cookie, cookie]),
            Err(AuthError::MalformedCredentials)
        );
        assert_eq!(credential(None, []), Ok(None));
        assert_eq!(
            credential(Some(b"Basic x"), [cookie]),
            Err(AuthError::MalformedCredentials)
        );
        assert_eq!(
            format!("{:?}", Credential::Bearer("secret")),
            "Bearer(redacted)"
        );
        assert!(
            is_state_changing("POST")
                && is_state_changing("DELETE")
                && is_state_changing("PROPFIND")
        );
        assert!(
            !is_state_changing("GET")
                && !is_state_changing("HEAD")
                && !is_state_changing("OPTIONS")
        );
    }

    proptest! {
        #[test]
        fn arbitrary_headers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(token) = bearer_token(&bytes) {
                prop_assert!(token.bytes().all(|byte| byte.is_ascii_graphic()));
            }
            if let Ok(Some(value)) = session_cookie(&bytes) {
                prop_assert!(value.bytes().all(|byte| byte.is_ascii_graphic()));
            }
        }
    }
}
