//! What can go wrong in a store.

use std::path::PathBuf;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("cannot {action} `{path}`")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("store directory `{directory}` is already open elsewhere")]
    Locked { directory: PathBuf },
    #[error("database operation failed")]
    Database(#[from] rusqlite::Error),
    #[error(
        "database schema version {found} is newer than version {supported} known to this build"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("event log segment `{path}` is corrupt at byte {offset}: {reason}")]
    CorruptSegment {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error("log position {position} is not the start of an event (the log ends at {end})")]
    InvalidPosition { position: u64, end: u64 },
    #[error("event `{uid}` has a {field} of {bytes} bytes, more than the limit of {limit}")]
    FieldTooLong {
        uid: String,
        field: &'static str,
        bytes: usize,
        limit: usize,
    },
    #[error("event `{uid}` is {bytes} bytes, more than the limit of {limit}")]
    EventTooLarge {
        uid: String,
        bytes: usize,
        limit: usize,
    },
    #[error("value {value} does not fit the database's 64-bit signed integers")]
    OutOfRange { value: u64 },
    #[error("the event log failed to write earlier and may be missing data; reopen the store")]
    Broken,
    /// Says which needle by its index in the caller's list: the needle is personal data.
    #[error(
        "subject needle {index} is {bytes} bytes long; a needle needs at least {minimum}, or it \
         matches far more than one person"
    )]
    NeedleTooShort {
        index: usize,
        bytes: usize,
        minimum: usize,
    },
    #[error("{what} not found")]
    NotFound { what: String },
    /// A write named a version that is no longer current.
    #[error("conflict: {reason}")]
    Conflict { reason: String },
    /// A write the workspace's rules do not allow (an illegal move, a bad value).
    #[error("refused: {reason}")]
    Refused { reason: String },
    #[error("invalid request: {reason}")]
    InvalidRequest { reason: String },
    /// Erasure and retention must empty the WAL, and another connection's read kept it in use.
    #[error(
        "another connection to the database keeps its write-ahead log in use; close it and run \
         the operation again"
    )]
    WalInUse,
}

impl StoreError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io {
            action,
            path,
            source,
        }
    }
}
