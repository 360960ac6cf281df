//! SCIM 2.0 service provider core.
