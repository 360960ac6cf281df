//! Imports from HR, access control and LDAP exports.
