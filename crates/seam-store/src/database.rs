//! The SQLite side of the embedded store: findings, dead letters, unresolved events, snapshots.
//!
//! Writes between two commits share one open transaction, so a commit costs one WAL sync however
//! many rows came before it.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{Connection, ToSql, params};
use seam_model::Ts;

use crate::DocumentWrite;
use crate::{Counts, DeadLetter, FindingFilter, Snapshot, StoreError, StoredFinding, Unresolved};

mod lifecycle;
mod workspace;

pub(crate) use lifecycle::own_text;

/// Schema changes in order; `PRAGMA user_version` counts how many have run.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE findings (
         uid      TEXT PRIMARY KEY NOT NULL,
         rule     TEXT NOT NULL,
         time     INTEGER NOT NULL,
         person   TEXT,
         severity TEXT NOT NULL,
         json     TEXT NOT NULL
     );
     CREATE INDEX findings_by_time ON findings (time, uid);
     CREATE INDEX findings_by_rule ON findings (rule, time, uid);
     CREATE INDEX findings_by_person ON findings (person, time, uid);

     CREATE TABLE dead_letters (
         id       INTEGER PRIMARY KEY AUTOINCREMENT,
         source   TEXT NOT NULL,
         position TEXT NOT NULL,
         observed INTEGER NOT NULL,
         reason   TEXT NOT NULL,
         raw      BLOB NOT NULL,
         UNIQUE (source, position, raw)
     );

     CREATE TABLE unresolved (
         event_uid   TEXT PRIMARY KEY NOT NULL,
         time        INTEGER NOT NULL,
         source      TEXT NOT NULL,
         identifiers TEXT NOT NULL
     );
     CREATE INDEX unresolved_by_time ON unresolved (time, event_uid);

     CREATE TABLE snapshots (
         id           INTEGER PRIMARY KEY AUTOINCREMENT,
         created_ms   INTEGER NOT NULL,
         log_position INTEGER NOT NULL,
         state        BLOB NOT NULL
     );
     CREATE TABLE snapshot_positions (
         snapshot_id INTEGER NOT NULL REFERENCES snapshots (id),
         source      TEXT NOT NULL,
         position    TEXT NOT NULL,
         PRIMARY KEY (snapshot_id, source)
     ) WITHOUT ROWID;",
    // A protocol's own state kept beside the events (SCIM resources as provisioned).
    "CREATE TABLE documents (
         collection TEXT NOT NULL,
         id         TEXT NOT NULL,
         json       TEXT NOT NULL,
         PRIMARY KEY (collection, id)
     ) WITHOUT ROWID;",
    // Triage and cases.
    workspace::MIGRATION,
];

/// Brings the schema up to date; returns the version it ends at.
pub(crate) fn migrate(connection: &mut Connection) -> Result<i64, StoreError> {
    let supported = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    let found: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > supported {
        return Err(StoreError::SchemaTooNew { found, supported });
    }
    for (version, migration) in (1..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let transaction = connection.transaction()?;
        transaction.execute_batch(migration)?;
        transaction.pragma_update(None, "user_version", version)?;
        transaction.commit()?;
    }
    Ok(supported)
}

#[derive(Debug)]
pub(crate) struct Database {
    connection: Connection,
    /// Whether the batch transaction that [`Database::commit`] ends is open.
    in_transaction: bool,
    snapshots_kept: usize,
    /// Rows were deleted in the open batch: give their pages back after the commit.
    reclaim_after_commit: bool,
    /// Grouping, placing and the suppressions in force, for findings as they are stored.
    workspace: workspace::Cache,
}

impl Database {
    pub(crate) fn open(path: &Path, snapshots_kept: usize) -> Result<Database, StoreError> {
        let mut connection = Connection::open(path)?;
        // FULL: in WAL mode only FULL syncs the WAL on commit, and commit promises durability.
        // Incremental auto-vacuum lets the pages freed by old snapshots and pruned dead letters
        // go back to the file system; it takes effect only on a database created with it (it
        // is set before the first table). The WAL file is cut back to 64 MiB after each
        // checkpoint instead of keeping its largest size.
        connection.execute_batch(
            "PRAGMA auto_vacuum = INCREMENTAL;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             PRAGMA busy_timeout = 5000;
             PRAGMA journal_size_limit = 67108864;",
        )?;
        migrate(&mut connection)?;
        let mut database = Database {
            connection,
            in_transaction: false,
            snapshots_kept: snapshots_kept.max(1),
            reclaim_after_commit: false,
            workspace: workspace::Cache::default(),
        };
        database.index_missing()?;
        Ok(database)
    }

    fn begin(&mut self) -> Result<(), StoreError> {
        if !self.in_transaction {
            self.connection.execute_batch("BEGIN")?;
            self.in_transaction = true;
        }
        Ok(())
    }

    pub(crate) fn commit(&mut self) -> Result<(), StoreError> {
        if self.in_transaction {
            self.connection.execute_batch("COMMIT")?;
            self.in_transaction = false;
        }
        if self.reclaim_after_commit {
            self.reclaim_after_commit = false;
            self.reclaim()?;
        }
        Ok(())
    }

    /// After a failed write: ends whatever transaction is left (SQLite may already have rolled
    /// it back), so the next batch starts clean. Uncommitted rows are lost, as in a crash.
    pub(crate) fn recover(&mut self) -> Result<(), StoreError> {
        if !self.connection.is_autocommit() {
            self.connection.execute_batch("ROLLBACK")?;
        }
        self.in_transaction = false;
        self.reclaim_after_commit = false;
        Ok(())
    }

    /// Runs `write` inside the batch transaction; a failure undoes that call's rows only.
    fn batch<T>(
        &mut self,
        write: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.begin()?;
        self.connection.execute_batch("SAVEPOINT call")?;
        match write(&self.connection) {
            Ok(value) => {
                self.connection.execute_batch("RELEASE call")?;
                Ok(value)
            }
            Err(error) => {
                // The call's error matters more than a failed rollback, which leaves the
                // savepoint for the next commit to resolve.
                let _ = self
                    .connection
                    .execute_batch("ROLLBACK TO call; RELEASE call");
                Err(error)
            }
        }
    }

    pub(crate) fn append_findings(
        &mut self,
        findings: &[StoredFinding],
    ) -> Result<usize, StoreError> {
        self.batch(|connection| {
            let mut statement = connection.prepare_cached(
                "INSERT OR IGNORE INTO findings (uid, rule, time, person, severity, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut inserted = Vec::new();
            for finding in findings {
                if statement.execute(params![
                    finding.uid,
                    finding.rule,
                    finding.time.millis(),
                    finding.person,
                    finding.severity,
                    finding.json
                ])? > 0
                {
                    inserted.push(finding.clone());
                }
            }
            Ok(inserted)
        })
        .and_then(|inserted| {
            // Each new finding gets its triage row (alert, suppression) in the same batch.
            self.index_findings(&inserted)?;
            Ok(inserted.len())
        })
    }

    pub(crate) fn add_dead_letters(&mut self, letters: &[DeadLetter]) -> Result<(), StoreError> {
        self.batch(|connection| {
            let mut statement = connection.prepare_cached(
                "INSERT OR IGNORE INTO dead_letters (source, position, observed, reason, raw)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for letter in letters {
                statement.execute(params![
                    letter.source,
                    letter.position,
                    letter.observed.millis(),
                    letter.reason,
                    letter.raw
                ])?;
            }
            Ok(())
        })
    }

    /// Writes documents (`Some` json) and removes them (`None`), in the open batch.
    pub(crate) fn write_documents(&mut self, writes: &[DocumentWrite]) -> Result<(), StoreError> {
        self.batch(|connection| {
            let mut put = connection.prepare_cached(
                "INSERT INTO documents (collection, id, json) VALUES (?1, ?2, ?3)
                 ON CONFLICT (collection, id) DO UPDATE SET json = excluded.json",
            )?;
            let mut delete = connection
                .prepare_cached("DELETE FROM documents WHERE collection = ?1 AND id = ?2")?;
            for write in writes {
                match &write.json {
                    Some(json) => put.execute(params![write.collection, write.id, json])?,
                    None => delete.execute(params![write.collection, write.id])?,
                };
            }
            Ok(())
        })
    }

    /// Every document of a collection, by id.
    pub(crate) fn documents(&self, collection: &str) -> Result<Vec<(String, String)>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached("SELECT id, json FROM documents WHERE collection = ?1 ORDER BY id")?;
        let rows =
            statement.query_map(params![collection], |row| Ok((row.get(0)?, row.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Bytes each source's dead letters hold (raw record and reason).
    pub(crate) fn dead_letter_bytes(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT source, SUM(LENGTH(raw) + LENGTH(reason)) FROM dead_letters GROUP BY source ORDER BY source",
        )?;
        let rows = statement.query_map([], |row| {
            let bytes: i64 = row.get(1)?;
            Ok((row.get::<_, String>(0)?, u64::try_from(bytes).unwrap_or(0)))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Removes the dead letters received before `before`; returns how many.
    pub(crate) fn prune_dead_letters(&mut self, before: Ts) -> Result<u64, StoreError> {
        self.reclaim_after_commit = true;
        self.batch(|connection| {
            let removed = connection.execute(
                "DELETE FROM dead_letters WHERE observed < ?1",
                params![before.millis()],
            )?;
            Ok(u64::try_from(removed).unwrap_or(0))
        })
    }

    pub(crate) fn add_unresolved(&mut self, items: &[Unresolved]) -> Result<(), StoreError> {
        self.batch(|connection| {
            let mut statement = connection.prepare_cached(
                "INSERT OR IGNORE INTO unresolved (event_uid, time, source, identifiers)
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for item in items {
                statement.execute(params![
                    item.event_uid,
                    item.time.millis(),
                    item.source,
                    item.identifiers
                ])?;
            }
            Ok(())
        })
    }

    /// Saves the snapshot and drops all but the newest few, in a transaction of its own.
    /// The caller commits first.
    pub(crate) fn save_snapshot(
        &mut self,
        snapshot: &Snapshot,
        created_ms: i64,
    ) -> Result<(), StoreError> {
        self.commit()?;
        let log_position = to_sql_integer(snapshot.log_position)?;
        let kept = i64::try_from(self.snapshots_kept).unwrap_or(i64::MAX);
        let transaction = self.connection.transaction()?;
        transaction.execute(
            "INSERT INTO snapshots (created_ms, log_position, state) VALUES (?1, ?2, ?3)",
            params![created_ms, log_position, snapshot.state],
        )?;
        let id = transaction.last_insert_rowid();
        {
            let mut statement = transaction
                .prepare_cached("INSERT INTO snapshot_positions (snapshot_id, source, position) VALUES (?1, ?2, ?3)")?;
            for (source, position) in &snapshot.positions {
                statement.execute(params![id, source, position])?;
            }
        }
        transaction.execute(
            "DELETE FROM snapshot_positions WHERE snapshot_id NOT IN
                 (SELECT id FROM snapshots ORDER BY id DESC LIMIT ?1)",
            params![kept],
        )?;
        transaction.execute(
            "DELETE FROM snapshots WHERE id NOT IN (SELECT id FROM snapshots ORDER BY id DESC LIMIT ?1)",
            params![kept],
        )?;
        transaction.commit()?;
        self.reclaim()?;
        Ok(())
    }

    /// Gives the free pages back to the file system (where the database was created with
    /// incremental auto-vacuum), so that old snapshots do not keep the file at its largest.
    pub(crate) fn reclaim(&mut self) -> Result<(), StoreError> {
        // The pragma frees one page per step: it must be stepped to its end.
        let mut statement = self.connection.prepare("PRAGMA incremental_vacuum")?;
        let mut rows = statement.query([])?;
        while rows.next()?.is_some() {}
        Ok(())
    }

    pub(crate) fn snapshots(&self, limit: usize) -> Result<Vec<Snapshot>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT id, log_position, state FROM snapshots ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = statement.query_map(params![to_limit(limit)], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        let mut positions_statement = self
            .connection
            .prepare_cached("SELECT source, position FROM snapshot_positions WHERE snapshot_id = ?1 ORDER BY source")?;
        let mut snapshots = Vec::new();
        for row in rows {
            let (id, log_position, state) = row?;
            let positions = positions_statement
                .query_map(params![id], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })?
                .collect::<Result<BTreeMap<_, _>, _>>()?;
            snapshots.push(Snapshot {
                positions,
                log_position: u64::try_from(log_position).unwrap_or(0),
                state,
            });
        }
        Ok(snapshots)
    }

    pub(crate) fn latest_snapshot(&self) -> Result<Option<Snapshot>, StoreError> {
        Ok(self.snapshots(1)?.into_iter().next())
    }

    pub(crate) fn findings(
        &self,
        filter: &FindingFilter,
    ) -> Result<Vec<StoredFinding>, StoreError> {
        let mut sql = String::from(
            "SELECT uid, rule, time, person, severity, json FROM findings WHERE 1 = 1",
        );
        let mut values: Vec<&dyn ToSql> = Vec::new();
        let since = filter.since.map(Ts::millis);
        let until = filter.until.map(Ts::millis);
        if let Some(rule) = &filter.rule {
            sql.push_str(" AND rule = ?");
            values.push(rule);
        }
        if let Some(person) = &filter.person {
            sql.push_str(" AND person = ?");
            values.push(person);
        }
        if let Some(since) = &since {
            sql.push_str(" AND time >= ?");
            values.push(since);
        }
        if let Some(until) = &until {
            sql.push_str(" AND time < ?");
            values.push(until);
        }
        sql.push_str(" ORDER BY time, uid LIMIT ?");
        let limit = to_limit(filter.limit);
        values.push(&limit);
        let mut statement = self.connection.prepare_cached(&sql)?;
        let rows = statement.query_map(values.as_slice(), |row| {
            Ok(StoredFinding {
                uid: row.get(0)?,
                rule: row.get(1)?,
                time: Ts::from_millis(row.get(2)?),
                person: row.get(3)?,
                severity: row.get(4)?,
                json: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(crate) fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT source, position, observed, reason, raw FROM dead_letters ORDER BY id LIMIT ?1",
        )?;
        let rows = statement.query_map(params![to_limit(limit)], |row| {
            Ok(DeadLetter {
                source: row.get(0)?,
                position: row.get(1)?,
                observed: Ts::from_millis(row.get(2)?),
                reason: row.get(3)?,
                raw: row.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub(crate) fn unresolved(&self, limit: usize) -> Result<Vec<Unresolved>, StoreError> {
        let mut statement = self.connection.prepare_cached(
            "SELECT event_uid, time, source, identifiers FROM unresolved ORDER BY time, event_uid LIMIT ?1",
        )?;
        let rows = statement.query_map(params![to_limit(limit)], |row| {
            Ok(Unresolved {
                event_uid: row.get(0)?,
                time: Ts::from_millis(row.get(1)?),
                source: row.get(2)?,
                identifiers: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The counts of the SQLite tables; the caller fills in the events.
    pub(crate) fn counts(&self) -> Result<Counts, StoreError> {
        let count = |table: &str| -> Result<u64, StoreError> {
            let count: i64 =
                self.connection
                    .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                        row.get(0)
                    })?;
            Ok(u64::try_from(count).unwrap_or(0))
        };
        Ok(Counts {
            events: 0,
            findings: count("findings")?,
            dead_letters: count("dead_letters")?,
            unresolved: count("unresolved")?,
        })
    }

    #[cfg(test)]
    fn user_version(&self) -> i64 {
        self.connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap_or(-1)
    }

    #[cfg(test)]
    fn snapshot_position_rows(&self) -> i64 {
        self.connection
            .query_row("SELECT count(*) FROM snapshot_positions", [], |row| {
                row.get(0)
            })
            .unwrap_or(-1)
    }
}

fn to_sql_integer(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange { value })
}

/// SQLite limits are signed; anything past `i64::MAX` means no limit anyway.
fn to_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_is_migrated_to_the_latest_version() {
        let directory = tempfile::tempdir().unwrap();
        let database = Database::open(&directory.path().join("seam.db"), 3).unwrap();
        assert_eq!(database.user_version(), MIGRATIONS.len() as i64);
        drop(database);
        // Opening again runs no migration twice.
        let database = Database::open(&directory.path().join("seam.db"), 3).unwrap();
        assert_eq!(database.user_version(), MIGRATIONS.len() as i64);
    }

    #[test]
    fn a_database_from_a_newer_build_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("seam.db");
        let connection = Connection::open(&path).unwrap();
        connection.pragma_update(None, "user_version", 99).unwrap();
        drop(connection);
        let error = Database::open(&path, 3).unwrap_err();
        assert!(
            matches!(error, StoreError::SchemaTooNew { found: 99, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn old_snapshots_give_their_space_back() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("seam.db");
        let mut database = Database::open(&path, 2).unwrap();
        let state = vec![b'x'; 1 << 20];
        for round in 0..30u64 {
            database
                .save_snapshot(
                    &Snapshot {
                        positions: BTreeMap::new(),
                        log_position: round,
                        state: state.clone(),
                    },
                    0,
                )
                .unwrap();
        }
        // Small snapshots follow: the large ones are dropped, and their pages leave the file.
        for round in 30..32u64 {
            database
                .save_snapshot(
                    &Snapshot {
                        positions: BTreeMap::new(),
                        log_position: round,
                        state: b"small".to_vec(),
                    },
                    0,
                )
                .unwrap();
        }
        database
            .connection
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size < 256 << 10, "the database holds {size} bytes");
    }

    #[test]
    fn pruned_snapshots_take_their_positions_with_them() {
        let directory = tempfile::tempdir().unwrap();
        let mut database = Database::open(&directory.path().join("seam.db"), 2).unwrap();
        for round in 0..5u64 {
            let positions = BTreeMap::from([
                ("a".to_owned(), round.to_string()),
                ("b".to_owned(), "x".to_owned()),
            ]);
            database
                .save_snapshot(
                    &Snapshot {
                        positions,
                        log_position: round,
                        state: vec![],
                    },
                    0,
                )
                .unwrap();
        }
        assert_eq!(database.snapshots(10).unwrap().len(), 2);
        assert_eq!(database.snapshot_position_rows(), 4);
    }

    #[test]
    fn a_failed_call_undoes_only_its_own_rows() {
        let directory = tempfile::tempdir().unwrap();
        let mut database = Database::open(&directory.path().join("seam.db"), 3).unwrap();
        let finding = |uid: &str| StoredFinding {
            uid: uid.to_owned(),
            rule: "r".to_owned(),
            time: Ts::from_millis(1),
            person: None,
            severity: "high".to_owned(),
            json: "{}".to_owned(),
        };
        assert_eq!(database.append_findings(&[finding("a")]).unwrap(), 1);
        let result = database.batch(|connection| {
            connection.execute("INSERT INTO findings (uid, rule, time, severity, json) VALUES ('b', 'r', 1, 'x', '{}')", [])?;
            Err::<(), _>(StoreError::Broken)
        });
        assert!(result.is_err());
        database.commit().unwrap();
        let uids: Vec<String> = database
            .findings(&FindingFilter::default())
            .unwrap()
            .into_iter()
            .map(|f| f.uid)
            .collect();
        assert_eq!(uids, ["a"]);
    }
}
