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
