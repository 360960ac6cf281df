//! Why a request was not authenticated.
//!
//! The messages are what a client may see: one per kind of credential, the same for a wrong,
//! unknown, malformed, expired or revoked one, so that an answer tells nothing about which
//! users, tokens or sessions exist. The precise reason travels beside it for the audit log
//! and metrics, never to the client.

use crate::random::RandomError;

/// A refused credential. Show clients the `Display` text and [`AuthError::status`]; record
/// the refusal's reason (`as_str`) in the audit, never the credential itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Unknown user, wrong password or disabled user: one message for all three.
    #[error("wrong user name or password")]
    InvalidCredentials { refusal: LoginRefusal },
    /// Too many failed sign-ins for the account or from the address.
    #[error("too many failed sign-ins: try again in {retry_after_secs} s")]
    Throttled { retry_after_secs: u64 },
    #[error("invalid token")]
    InvalidToken { refusal: TokenRefusal },
    #[error("no valid session: sign in again")]
    InvalidSession { refusal: SessionRefusal },
    /// An `Authorization` or `Cookie` header that does not parse.
    #[error("malformed credentials")]
    MalformedCredentials,
    /// A state-changing request made with a session cookie lacked the session's CSRF token.
    #[error("missing or wrong csrf token")]
    Csrf,
    /// Nothing secret could be made; the request is not the client's fault.
    #[error(transparent)]
    Random(#[from] RandomError),
}

impl AuthError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::Throttled { .. } => 429,
            AuthError::Csrf => 403,
            AuthError::Random(_) => 503,
            AuthError::InvalidCredentials { .. }
            | AuthError::InvalidToken { .. }
            | AuthError::InvalidSession { .. }
            | AuthError::MalformedCredentials => 401,
        }
    }

    /// The reason in a word, for the audit log and metrics (never shown to the client).
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::InvalidCredentials { refusal } => refusal.as_str(),
            AuthError::Throttled { .. } => "throttled",
            AuthError::InvalidToken { refusal } => refusal.as_str(),
            AuthError::InvalidSession { refusal } => refusal.as_str(),
            AuthError::MalformedCredentials => "malformed_header",
            AuthError::Csrf => "csrf",
            AuthError::Random(_) => "randomness",
        }
    }
}

/// Why a sign-in with a password failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoginRefusal {
    /// No user has that login. The login typed may be a password typed in the wrong field:
    /// do not record it.
    UnknownUser,
    WrongPassword,
    Disabled,
    /// The user signs in through the identity provider only.
    NoPassword,
    /// A login or password over the size limits.
    Oversized,
}

impl LoginRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            LoginRefusal::UnknownUser => "unknown_user",
            LoginRefusal::WrongPassword => "wrong_password",
            LoginRefusal::Disabled => "user_disabled",
            LoginRefusal::NoPassword => "no_password",
            LoginRefusal::Oversized => "oversized",
        }
    }
}

/// Why an API token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenRefusal {
    Malformed,
    Unknown,
    /// The id exists but the secret is wrong.
    Mismatch,
    Revoked,
    Expired,
}

impl TokenRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenRefusal::Malformed => "token_malformed",
            TokenRefusal::Unknown => "token_unknown",
            TokenRefusal::Mismatch => "token_mismatch",
            TokenRefusal::Revoked => "token_revoked",
            TokenRefusal::Expired => "token_expired",
        }
    }
}

/// Why a session cookie was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionRefusal {
    Malformed,
    /// Never issued, ended by logout, or evicted.
    Unknown,
    Idle,
    Expired,
    /// The user was disabled or removed while the session was live.
    UserDisabled,
}

impl SessionRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionRefusal::Malformed => "session_malformed",
            SessionRefusal::Unknown => "session_unknown",
            SessionRefusal::Idle => "session_idle",
            SessionRefusal::Expired => "session_expired",
            SessionRefusal::UserDisabled => "session_user_disabled",
        }
    }
}
