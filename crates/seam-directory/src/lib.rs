//! The directory's systems of record, read as directory changes.
//!
//! - [`scim`]: a SCIM 2.0 service provider's protocol core (RFC 7643, 7644): resources,
//!   filters, PATCH, discovery documents and errors, with no I/O, and the mapping from a
//!   provisioned user to a [`seam_model::DirectoryDelta`].
//! - [`import`]: HR exports, access-control cardholder exports and LDIF, read through mapping
//!   files into directory changes.

pub mod import;
pub mod scim;
