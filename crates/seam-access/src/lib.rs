//! Users, roles, tokens and sessions: who is asking, and whether they may.
//!
//! Pure: no I/O and no clock. Every function takes `now`, randomness comes through
//! [`Random`] ([`OsRandom`] in production), and whatever changed is returned for the caller
//! to persist (users and tokens as JSON documents, [`USERS_COLLECTION`] and
//! [`TOKENS_COLLECTION`]).
//!
//! - [`Users`]: local users with Argon2id password hashes ([`password`]), one generic error for
//!   every failed sign-in, throttled per account and per address ([`Throttle`]).
//! - [`Tokens`]: API tokens `seam_<id>_<secret>`, shown once, stored as SHA-256 digests, with
//!   roles, sites, expiry, revocation and last use.
//! - [`Sessions`]: browser sessions behind an HttpOnly, SameSite=Strict cookie, with idle and
//!   absolute time-outs and a CSRF token.
//! - [`decide`]: one decision per request from one route table, [`ROUTES`], and one permission
//!   table, [`permissions_of`]. [`Access::check_request`] runs the whole of it.
//! - [`Pseudonyms`]: keyed pseudonyms for people.
//! - [`bench_access`]: what each of these costs, for `seam bench`.
//!
//! # Roles and permissions
//!
//! The admin holds every permission. Where a route needs a permission, a principal holding it
//! through any of its roles may call it. A principal limited to some sites sees only their
//! data on routes marked *filtered*, and is refused routes marked *all sites only*, whose data
//! cannot be split by site (a site-limited admin cannot manage users: it could grant itself
//! every site).
//!
//! Names are for those who act on people: the GSOC operator (a guard needs to know who is at
//! the door) and the investigator see them (`see-names`); analysts see pseudonyms and may
//! reveal one person's name for a while with a stated reason (`reveal-names`, audited);
//! auditors see pseudonyms only. Integration is the
//! machines' role: events in, directory provisioning in (SCIM is the directory's ingest), and
//! the metrics for a scraper; it reads no finding, event, person or audit record.
//!
//! | permission | admin | soc-analyst | gsoc-operator | investigator | auditor | integration |
//! |---|:-:|:-:|:-:|:-:|:-:|:-:|
//! | `own-account` | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ |
//! | `ingest-events` | ✓ | | | | | ✓ |
//! | `provision-directory` | ✓ | | | | | ✓ |
//! | `read-metrics` | ✓ | ✓ | ✓ | | ✓ | ✓ |
//! | `read-findings` | ✓ | ✓ | ✓ | ✓ | ✓ | |
//! | `stream-findings` | ✓ | ✓ | ✓ | | | |
//! | `triage-findings` | ✓ | ✓ | ✓ | ✓ | | |
//! | `read-events` | ✓ | ✓ | ✓ | ✓ | | |
//! | `read-dead-letters` | ✓ | ✓ | | | | |
//! | `read-people` | ✓ | ✓ | ✓ | ✓ | | |
//! | `see-names` | ✓ | | ✓ | ✓ | | |
//! | `reveal-names` | ✓ | ✓ | ✓ | ✓ | | |
//! | `read-estate` | ✓ | ✓ | ✓ | ✓ | ✓ | |
//! | `read-rules` | ✓ | ✓ | ✓ | ✓ | ✓ | |
//! | `manage-rules` | ✓ | ✓ | | | | |
//! | `read-cases` | ✓ | ✓ | ✓ | ✓ | ✓ | |
//! | `manage-cases` | ✓ | ✓ | ✓ | ✓ | | |
//! | `propose-responses` | ✓ | ✓ | ✓ | ✓ | | |
//! | `approve-responses` | ✓ | ✓ | ✓ | | | |
//! | `read-audit` | ✓ | | | | ✓ | |
//! | `export-audit` | ✓ | | | | ✓ | |
//! | `read-users` | ✓ | | | | ✓ | |
//! | `manage-users` | ✓ | | | | | |
//! | `read-tokens` | ✓ | | | | ✓ | |
//! | `manage-tokens` | ✓ | | | | | |
//! | `read-config` | ✓ | | | | ✓ | |
//! | `manage-config` | ✓ | | | | | |
//! | `export-subject` | ✓ | | | | | |
//! | `erase-subject` | ✓ | | | | | |
//!
//! # Routes
//!
//! Answers: 401 without credentials or with refused ones, 403 when the roles or sites do not
//! allow the route (and for a missing CSRF token), 429 while sign-ins are throttled. A path no
//! route has is 404 and a wrong method 405, the same for everyone, so neither says what exists.
//!
//! | method | path | permission | sites | what |
//! |---|---|---|---|---|
//! | GET | `/healthz` | public | — | liveness |
//! | GET | `/readyz` | public | — | readiness |
//! | POST | `/v1/login` | public | — | sign in with a password; sets the session cookie |
//! | GET | `/v1/oidc/login` | public | — | sign in through the identity provider (redirects there) |
//! | GET | `/v1/oidc/callback` | public | — | the identity provider's answer; sets the session cookie |
//! | POST | `/v1/logout` | `own-account` | — | end the session |
//! | GET | `/v1/me` | `own-account` | — | who am I: roles, sites, CSRF token |
//! | POST | `/v1/ingest/{source}` | `ingest-events` | — | push events |
//! | GET | `/v1/ingest/{source}` | `ingest-events` | — | Okta's one-time verification challenge |
//! | GET | `/v1/findings` | `read-findings` | filtered | query findings |
//! | GET | `/v1/findings/stream` | `stream-findings` | filtered | live findings (server-sent events) |
//! | GET | `/v1/findings/{uid}` | `read-findings` | filtered | one finding with its triage log, alert and cases |
//! | POST | `/v1/findings/{uid}/triage` | `triage-findings` | filtered | acknowledge, start, close, reopen, assign or comment on a finding |
//! | POST | `/v1/findings/{uid}/detach` | `triage-findings` | filtered | take a finding out of its alert |
//! | POST | `/v1/triage` | `triage-findings` | filtered | one triage act on many findings |
//! | GET | `/v1/alerts` | `read-findings` | filtered | findings grouped by person, zone or asset |
//! | GET | `/v1/alerts/{id}` | `read-findings` | filtered | one alert and its findings |
//! | POST | `/v1/alerts/{id}/split` | `triage-findings` | filtered | split findings off an alert |
//! | GET | `/v1/suppressions` | `read-findings` | filtered | suppression rules, ended ones too |
//! | POST | `/v1/suppressions` | `triage-findings` | filtered | suppress matching findings until an expiry, with a reason |
//! | DELETE | `/v1/suppressions/{id}` | `triage-findings` | filtered | end a suppression |
//! | GET | `/v1/cases` | `read-cases` | filtered | list cases |
//! | POST | `/v1/cases` | `manage-cases` | filtered | open a case from findings, alerts or by hand |
//! | GET | `/v1/cases/{id}` | `read-cases` | filtered | one case with its tasks, notes, evidence and chain of custody |
//! | PATCH | `/v1/cases/{id}` | `manage-cases` | filtered | change a case at a version |
//! | POST | `/v1/cases/{id}/merge` | `manage-cases` | filtered | merge another case into this one |
//! | POST | `/v1/cases/{id}/split` | `manage-cases` | filtered | split links off into a new case |
//! | POST | `/v1/cases/{id}/evidence` | `manage-cases` | filtered | upload evidence (streamed, digested, size-limited) |
//! | GET | `/v1/cases/{id}/evidence/{sha256}` | `read-cases` | filtered | download evidence, its digest checked |
//! | GET | `/v1/cases/{id}/timeline` | `read-cases` | filtered | a case's events, findings and actions in time order |
//! | GET | `/v1/cases/{id}/links` | `read-cases` | filtered | a case's entities and what connects them |
//! | GET | `/v1/cases/{id}/export` | `read-cases` | filtered | the signed export bundle |
//! | GET | `/v1/reports` | `read-findings` | all sites only | the leadership report for a period (json, csv, html) |
//! | GET | `/v1/people/{id}/360` | `read-people` | filtered | one person across both worlds: identifiers, status, presence, timeline, findings, cases |
//! | POST | `/v1/people/{id}/reveal` | `reveal-names` | filtered | reveal the name behind a pseudonym for a while, with a reason |
//! | GET | `/v1/dead-letters` | `read-dead-letters` | all sites only | rejected records |
//! | GET | `/metrics` | `read-metrics` | all sites only | Prometheus metrics |
//! | GET | `/v1/users` | `read-users` | all sites only | list users |
//! | POST | `/v1/users` | `manage-users` | all sites only | add a user |
//! | PATCH | `/v1/users/{id}` | `manage-users` | all sites only | change or disable a user |
//! | GET | `/v1/tokens` | `read-tokens` | all sites only | list API tokens |
//! | POST | `/v1/tokens` | `manage-tokens` | all sites only | create an API token |
//! | DELETE | `/v1/tokens/{id}` | `manage-tokens` | all sites only | revoke an API token |
//! | GET | `/v1/audit/verify` | `read-audit` | all sites only | verify the audit log |
//! | GET | `/v1/audit/export` | `export-audit` | all sites only | export the audit log |
//! | GET | `/scim/v2/ServiceProviderConfig` | `provision-directory` | all sites only | SCIM discovery |
//! | GET | `/scim/v2/ResourceTypes` | `provision-directory` | all sites only | SCIM discovery |
//! | GET | `/scim/v2/ResourceTypes/{name}` | `provision-directory` | all sites only | SCIM discovery |
//! | GET | `/scim/v2/Schemas` | `provision-directory` | all sites only | SCIM discovery |
//! | GET | `/scim/v2/Schemas/{urn}` | `provision-directory` | all sites only | SCIM discovery |
//! | GET | `/scim/v2/{kind}` | `provision-directory` | all sites only | SCIM list users or groups |
//! | POST | `/scim/v2/{kind}` | `provision-directory` | all sites only | SCIM create |
//! | GET | `/scim/v2/{kind}/{id}` | `provision-directory` | all sites only | SCIM read |
//! | PUT | `/scim/v2/{kind}/{id}` | `provision-directory` | all sites only | SCIM replace |
//! | PATCH | `/scim/v2/{kind}/{id}` | `provision-directory` | all sites only | SCIM patch |
//! | DELETE | `/scim/v2/{kind}/{id}` | `provision-directory` | all sites only | SCIM delete |
//! | POST | `/scim/v2/{kind}/{id}` | `provision-directory` | all sites only | SCIM search |

mod access;
mod bench;
mod credentials;
mod decide;
mod error;
pub mod password;
mod permissions;
mod pseudonym;
mod random;
mod roles;
mod routes;
mod sessions;
mod tables;
mod throttle;
mod tokens;
mod users;

pub use access::{Access, Allowed, Authenticated, Refused, RequestParts, SignedIn};
pub use bench::{AccessCosts, BenchError, bench_access};
pub use credentials::{
    CSRF_HEADER, Credential, MAX_AUTHORIZATION_BYTES, MAX_COOKIE_BYTES, bearer_token, credential,
    is_state_changing, session_cookie,
};
pub use decide::{Decision, Principal, PrincipalKind, decide};
pub use error::{AuthError, LoginRefusal, SessionRefusal, TokenRefusal};
pub use password::{PasswordError, PasswordParams};
pub use permissions::{Permission, allows, permissions_of};
pub use pseudonym::{PSEUDONYM_KEY_BYTES, Pseudonyms, generate_pseudonym_key};
pub use random::{OsRandom, Random, RandomError, Secret};
pub use roles::{Role, UnknownRole};
pub use routes::{ROUTES, RouteMatch, RouteRule, SiteScope, route_match, rule_for};
pub use sessions::{NewSession, SESSION_COOKIE, Session, SessionPolicy, Sessions, check_csrf};
pub use tables::{permission_table, route_table};
pub use throttle::{Throttle, ThrottlePolicy, address_key};
pub use tokens::{NewToken, TOKENS_COLLECTION, TOUCH_EVERY_MS, TokenError, TokenRecord, Tokens};
pub use users::{MAX_LOGIN_BYTES, NewUser, USERS_COLLECTION, User, UserError, Users};
