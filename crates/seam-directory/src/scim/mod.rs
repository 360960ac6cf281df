//! A SCIM 2.0 service provider's core (RFC 7643, RFC 7644), with no I/O and no clock: the
//! HTTP layer parses requests, calls a [`Provider`] and sends back what it returns.
//!
//! - [`Provider`]: Users and Groups in memory. `create`, `get`, `replace` (PUT), `patch`,
//!   `delete` and `list` take the resource type, the id the caller generated, `If-Match`
//!   ([`IfMatch`], 412 on a mismatch) and the time; each change returns a [`Change`] with the
//!   response body, its ETag, the rows to persist ([`Write`]) and the users whose directory
//!   state changed. `load` and `export` rebuild from and dump the persisted rows. Discovery
//!   documents: `service_provider_config`, `resource_types`, `resource_type`, `schemas`,
//!   `schema`.
//! - [`ListQuery`]: query parameters or a `/.search` body; [`Projection`] applies
//!   `attributes`/`excludedAttributes` to single-resource responses.
//! - [`ScimError`]: the status, `scimType` and detail of a failure, and its JSON body.
//! - [`Filter`], [`PatchRequest`], [`SchemaSet`]: the grammar, PATCH and schemas underneath.
//! - [`ScimMapping`], [`map_user`], [`map_deleted_user`]: from a provisioned user to a
//!   [`seam_model::DirectoryDelta`]; [`Provider::deltas`] maps a [`Change`].
//!
//! Identity providers' known deviations are accepted: Microsoft Entra ID's capitalized
//! PATCH ops, string booleans, `manager` as an id string, its non-URN group schema and
//! `attr[type eq "…"].sub` creating the value; Okta's path-less `replace` echoing the
//! group's `id`. Choices where the RFCs leave room: `remove` of values that are not there
//! succeeds; members that name no resource are kept; group names need not be unique unless
//! configured; too many PATCH operations is `invalidValue`.

pub mod discovery;
pub mod error;
pub mod filter;
pub mod list;
pub mod mapping;
pub mod patch;
pub mod path;
pub mod provider;
pub(crate) mod resource;
pub mod schema;

pub use error::{ScimError, ScimType};
pub use filter::{CompareOp, Filter, Literal};
pub use list::{ListQuery, Projection, SortOrder};
pub use mapping::{MappingError, ScimMapping, map_deleted_user, map_user, map_user_resolving};
pub use patch::{PatchOpKind, PatchOperation, PatchRequest};
pub use path::{AttrPath, PatchPath};
pub use provider::{Change, IfMatch, Provider, ProviderConfig, Write, etag_of};
pub use schema::{ExtensionConfig, ResourceKind, SchemaError, SchemaSet};
