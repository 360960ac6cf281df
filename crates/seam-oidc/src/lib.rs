//! Seam's OpenID Connect relying party: sign-in through an identity provider.
//!
//! Pure: no I/O and no clock. Every function takes `now`, randomness comes through
//! [`Random`] ([`OsRandom`] in production), and the HTTP requests to the provider are made by
//! the caller, which hands the answers' bodies back here.
//!
//! # A sign-in, as a service runs it
//!
//! 1. At start-up (and again when it fails): fetch
//!    [`ProviderMetadata::discovery_url`], read it with [`ProviderMetadata::parse`]; fetch
//!    its `jwks_uri`, read it with [`Jwks::parse`]. [`OidcClient::new`] checks the
//!    configuration once.
//! 2. `GET /v1/oidc/login`: [`begin_login`] gives the provider's URL and a
//!    [`PendingLogin`]; keep it in [`PendingLogins`], and redirect the browser (302). Bind the
//!    sign-in to the browser too: a short-lived cookie holding the state, `HttpOnly`,
//!    `SameSite=Lax` (the provider's redirect back is a cross-site navigation, which `Strict`
//!    cookies do not follow), scoped to the callback's path.
//! 3. `GET /v1/oidc/callback?code=…&state=…`: [`AuthorizationResponse::parse`] the query;
//!    check the state equals the cookie's; [`PendingLogins::take`] it (one use); POST the
//!    [`token_request`] to the token endpoint and read the body with
//!    [`parse_token_response`]; [`verify_id_token`] with [`OidcClient::expectations`]. On
//!    [`OidcError::UnknownKey`], fetch the JWKS again, once, and verify again.
//! 4. The [`VerifiedIdentity`] names the user (link by issuer and subject, never by user
//!    name or email), the Seam role names to parse, and the sites. Make the session; send the
//!    browser to the pending sign-in's `return_to`.
//!
//! Every refusal is an [`OidcError`] with a message for the log, a word for metrics
//! ([`OidcError::reason`]) and an HTTP status ([`OidcError::status`]).

mod client;
mod encoding;
mod error;
mod id_token;
mod jwks;
mod login;
mod metadata;
mod random;
#[cfg(test)]
mod testing;
mod token;

pub use client::{
    ClaimMapping, ClientAuth, ClientSecret, DEFAULT_CLOCK_LEEWAY_MS, DEFAULT_MAX_LOGIN_AGE_MS,
    DEFAULT_SCOPES, OidcClient, OidcConfig,
};
pub use error::OidcError;
pub use id_token::{IdTokenExpectations, MAX_ID_TOKEN_BYTES, VerifiedIdentity, verify_id_token};
pub use jwks::{Alg, Jwk, Jwks, MAX_JWKS_BYTES, MAX_JWKS_KEYS, UnknownAlg};
pub use login::{
    AuthorizationResponse, DEFAULT_PENDING_CAPACITY, MAX_CALLBACK_QUERY_BYTES, MAX_RETURN_TO_BYTES,
    PendingLogin, PendingLogins, begin_login,
};
pub use metadata::{MAX_DISCOVERY_BYTES, ProviderMetadata};
pub use random::{OsRandom, Random, RandomError};
pub use token::{
    MAX_TOKEN_RESPONSE_BYTES, TokenRequest, TokenResponse, parse_token_response, token_request,
};
