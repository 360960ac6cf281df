//! Where a command's store is: a data directory (the embedded store) or a PostgreSQL database
//! (`--store postgres://…`). The data directory keeps what is the installation's own either
//! way: the audit log, its signing key, the pseudonym key.

use std::path::PathBuf;

use seam_store::Store;

use crate::error::CliError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    Directory(PathBuf),
    /// A `postgres://` or `postgresql://` URL.
    Postgres(String),
}

impl StoreLocation {
    /// The store a command names: `--store URL` when given, else `--data-dir DIR`.
    pub fn from_args(
        data_dir: Option<PathBuf>,
        store: Option<String>,
    ) -> Result<Option<StoreLocation>, CliError> {
        match store {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Ok(Some(StoreLocation::Postgres(url)))
            }
            Some(other) => Err(CliError::Failed(format!(
                "--store `{}`: give a postgres:// URL (or --data-dir for the embedded store)",
                other.chars().take(64).collect::<String>()
            ))),
            None => Ok(data_dir.map(StoreLocation::Directory)),
        }
    }

    /// The store with its subject access, erasure and retention.
    pub fn open_lifecycle(&self) -> Result<Box<dyn seam_store::Lifecycle>, CliError> {
        let error = |e: seam_store::StoreError| CliError::Store(e.to_string());
        Ok(match self {
            StoreLocation::Directory(dir) => {
                Box::new(seam_store::EmbeddedStore::open(dir).map_err(error)?)
            }
            StoreLocation::Postgres(url) => {
                Box::new(seam_postgres::PostgresStore::open(url).map_err(error)?)
            }
        })
    }

    pub fn open(&self) -> Result<Box<dyn Store>, CliError> {
        let error = |e: seam_store::StoreError| CliError::Store(e.to_string());
        Ok(match self {
            StoreLocation::Directory(dir) => {
                Box::new(seam_store::EmbeddedStore::open(dir).map_err(error)?)
            }
            StoreLocation::Postgres(url) => {
                Box::new(seam_postgres::PostgresStore::open(url).map_err(error)?)
            }
        })
    }
}

/// Where the audit log's records are: the PostgreSQL store's tables with `--store URL`, else
/// the data directory's files. The signing key is the data directory's either way.
pub fn audit_storage(
    data_dir: &std::path::Path,
    store: Option<&str>,
) -> Result<Box<dyn seam_audit::AuditStorage>, CliError> {
    match store {
        Some(url) => seam_postgres::audit_storage(url)
            .map_err(|e| CliError::Failed(format!("the audit log: {e}"))),
        None => Ok(Box::new(seam_audit::FileStorage::new(data_dir))),
    }
}

/// Records one act in the audit log (with the service stopped: the log has one writer).
pub fn record(
    data_dir: &std::path::Path,
    store: Option<&str>,
    entry: seam_audit::AuditEntry,
) -> Result<(), CliError> {
    let failed = |e: seam_audit::AuditError| CliError::Failed(e.to_string());
    let mut log =
        seam_audit::AuditLog::open_on(data_dir, audit_storage(data_dir, store)?).map_err(failed)?;
    log.append(crate::wall_clock(), entry).map_err(failed)?;
    log.close(crate::wall_clock()).map_err(failed)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_wins_and_only_postgres_is_taken() {
        let dir = Some(PathBuf::from("d"));
        assert_eq!(
            StoreLocation::from_args(dir.clone(), None).unwrap(),
            Some(StoreLocation::Directory(PathBuf::from("d")))
        );
        assert_eq!(
            StoreLocation::from_args(dir.clone(), Some("postgres://u@h/db".into())).unwrap(),
            Some(StoreLocation::Postgres("postgres://u@h/db".into()))
        );
        assert!(StoreLocation::from_args(dir, Some("mysql://x".into())).is_err());
        assert_eq!(StoreLocation::from_args(None, None).unwrap(), None);
    }
}
