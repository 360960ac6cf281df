//! The store the service writes to: the embedded store in the data directory, or PostgreSQL
//! (`--store postgres://…`). Either way the data directory keeps the installation's own files:
//! the audit log and its keys, the pseudonym key, pull cursors.

use std::path::Path;

use seam_store::{EmbeddedStore, Lifecycle, StoreError, Workspace};

/// What the writer, the engine thread and the handlers need of a store beyond the contract:
/// starting again after a failed write, and telling whether a write is durable yet.
pub(crate) trait ServiceStore: Lifecycle + Workspace + Send + std::fmt::Debug {
    /// Forgets what was not committed and reads the store again (reconnects), after a failed
    /// write.
    fn reopen(&mut self) -> Result<(), StoreError>;
    /// (reopens, commits): rows written at `(r, c)` are durable once the mark is `(r, c')`
    /// with `c' > c`; if `r` moved first, they were lost with the failed write.
    fn durability_mark(&self) -> (u64, u64);
    /// The directory whose free space bounds what the store can take, if it is local.
    fn local_directory(&self) -> Option<&Path>;
    /// The store as its workspace alone (for the functions shared with the command line).
    fn as_workspace(&self) -> &dyn Workspace;
    /// The store as store and workspace (for the functions shared with the command line).
    fn as_workspace_store(&self) -> &dyn seam_store::workspace::WorkspaceStore;
    fn as_workspace_store_mut(&mut self) -> &mut dyn seam_store::workspace::WorkspaceStore;
}

impl ServiceStore for EmbeddedStore {
    fn reopen(&mut self) -> Result<(), StoreError> {
        EmbeddedStore::reopen(self)
    }

    fn durability_mark(&self) -> (u64, u64) {
        EmbeddedStore::durability_mark(self)
    }

    fn local_directory(&self) -> Option<&Path> {
        Some(self.directory())
    }

    fn as_workspace(&self) -> &dyn Workspace {
        self
    }

    fn as_workspace_store(&self) -> &dyn seam_store::workspace::WorkspaceStore {
        self
    }

    fn as_workspace_store_mut(&mut self) -> &mut dyn seam_store::workspace::WorkspaceStore {
        self
    }
}

impl ServiceStore for seam_postgres::PostgresStore {
    fn reopen(&mut self) -> Result<(), StoreError> {
        seam_postgres::PostgresStore::reopen(self)
    }

    fn durability_mark(&self) -> (u64, u64) {
        seam_postgres::PostgresStore::durability_mark(self)
    }

    fn local_directory(&self) -> Option<&Path> {
        None
    }

    fn as_workspace(&self) -> &dyn Workspace {
        self
    }

    fn as_workspace_store(&self) -> &dyn seam_store::workspace::WorkspaceStore {
        self
    }

    fn as_workspace_store_mut(&mut self) -> &mut dyn seam_store::workspace::WorkspaceStore {
        self
    }
}

/// The store a configuration names, opened.
pub(crate) fn open(config: &crate::config::ServeConfig) -> Result<Box<dyn ServiceStore>, String> {
    match &config.store_url {
        Some(url) => open_postgres(url),
        None => {
            let store =
                EmbeddedStore::open(&config.data_dir).map_err(|e| crate::writer::error_text(&e))?;
            if let Some(recovery) = store.tail_recovery() {
                eprintln!("seam serve: the event log had a torn tail after a crash: {recovery:?}");
            }
            Ok(Box::new(store))
        }
    }
}

fn open_postgres(url: &str) -> Result<Box<dyn ServiceStore>, String> {
    let store =
        seam_postgres::PostgresStore::open(url).map_err(|e| crate::writer::error_text(&e))?;
    Ok(Box::new(store))
}
