//! Seam's PostgreSQL store: the second implementation of [`seam_store::Store`], for
//! deployments that keep their data in a PostgreSQL server rather than a local directory.
//!
//! [`PostgresStore`] keeps one store in one database: events with their dense log positions,
//! findings, dead letters, unresolved events, snapshots and documents, with the embedded
//! store's semantics (the shared conformance suite checks them) and its size limits. Writes
//! between commits share one transaction; bulk appends stream through binary `COPY`. One store
//! writes to a database at a time (an advisory lock, [`seam_store::StoreError::Locked`] for
//! the next). The client is the synchronous `postgres` crate, without TLS for now.
//!
//! It implements [`seam_store::Lifecycle`] too (subject access, erasure, retention), which the
//! shared lifecycle suite checks: erased and expired events stay at their positions as
//! tombstone rows, and an erasure rewrites the tables so that no old row version keeps the
//! person (what it cannot reach is listed on `erase_subject` in that implementation).
//!
//! It implements [`seam_store::Workspace`] too (triage, alerts, suppressions, cases, the chain
//! of custody), which the shared workspace suite checks: every new finding gets its triage
//! row in the transaction that stores it, and an erasure reaches the workspace's tables.
//!
//! [`PostgresAuditStorage`] keeps the audit log's lines ([`seam_audit`]) in the same database,
//! on a connection of its own, for [`seam_audit::AuditLog::open_on`] and
//! [`seam_audit::verify_on`]; the signing key stays in the data directory.
//!
//! [`create_database`], [`drop_database`] and [`ScratchDatabase`] give tests a database each;
//! [`bench_append`] measures the event path for `seam bench`.

mod admin;
mod audit;
mod bench;
mod connection;
mod lifecycle;
mod limits;
mod matching;
mod schema;
mod store;
mod workspace;

pub use admin::{
    DEFAULT_TEST_SERVER, ScratchDatabase, TEST_SERVER_VARIABLE, create_database, database_url,
    drop_database, test_server_url,
};
pub use audit::{
    AUDIT_ANCHORS_TABLE, AUDIT_CHECKPOINTS_TABLE, AUDIT_RECORDS_TABLE, PostgresAuditStorage,
    audit_storage,
};
pub use bench::{BenchFigures, bench_append};
pub use store::{PostgresOptions, PostgresStore};
