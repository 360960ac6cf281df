//! The SQLite side of subject access, erasure and retention.
//!
//! Rows are matched in Rust, byte for byte, with the same [`Needles`] as the event log: SQL's
//! `instr` counts characters in text and bytes in blobs, and knows nothing of escaped forms.
//! Erasing statements run with `secure_delete`, which overwrites deleted content with zeros;
//! then [`Database::scrub`] checkpoints and truncates the WAL and rebuilds the file with
//! `VACUUM`, so neither the WAL nor a free page nor the free space inside a page keeps an old
//! copy of a row, whoever deleted it.

use rusqlite::types::ValueRef;
use rusqlite::{Row, params};

use super::{Database, MIGRATIONS};
use crate::lifecycle::{Needles, SubjectDocument, erased_finding_uid};
use crate::{DeadLetter, StoreError, StoredFinding, Ts, Unresolved};

/// Text SQLite writes into every database file on its own, besides the schema.
const SQLITE_OWN_TEXT: &[&str] = &["SQLite format 3", "sqlite_sequence", "sqlite_autoindex_"];

/// The SQLite rows that hold a needle, at most `limit` of each kind.
#[derive(Debug, Default)]
pub(crate) struct SubjectRows {
    pub(crate) findings: Vec<StoredFinding>,
    pub(crate) dead_letters: Vec<DeadLetter>,
    pub(crate) unresolved: Vec<Unresolved>,
    pub(crate) documents: Vec<SubjectDocument>,
    pub(crate) snapshots: u64,
    pub(crate) truncated: bool,
}

/// What an erasure changed in SQLite.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ErasedRows {
    pub(crate) findings: u64,
    pub(crate) dead_letters: u64,
    pub(crate) unresolved: u64,
    pub(crate) documents: u64,
    pub(crate) snapshots: u64,
}

/// What retention removed (or would remove) from SQLite.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PrunedRows {
    pub(crate) findings: u64,
    pub(crate) dead_letters: u64,
    pub(crate) unresolved: u64,
}

/// The keys of the rows an erasure changes.
#[derive(Debug, Default)]
struct Matches {
    /// (uid, rule, severity) of each finding.
    findings: Vec<(String, String, String)>,
    dead_letters: Vec<i64>,
    unresolved: Vec<String>,
    documents: Vec<(String, String)>,
    snapshots: Vec<i64>,
}

/// The text the database holds whatever it stores: its schema and SQLite's own names.
pub(crate) fn own_text() -> String {
    let mut text = MIGRATIONS.join("\n");
    for own in SQLITE_OWN_TEXT {
        text.push('\n');
        text.push_str(own);
    }
    text
}

/// Whether any text or blob column of `row` from `columns` holds a needle.
pub(super) fn row_holds(
    row: &Row<'_>,
    columns: std::ops::Range<usize>,
    needles: &Needles,
) -> rusqlite::Result<bool> {
    for column in columns {
        if let ValueRef::Text(bytes) | ValueRef::Blob(bytes) = row.get_ref(column)?
            && needles.found_in(bytes)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Pushes `item` unless `list` is full, in which case it says so.
fn push_limited<T>(list: &mut Vec<T>, item: T, limit: usize, truncated: &mut bool) {
    if list.len() < limit {
        list.push(item);
    } else {
        *truncated = true;
    }
}

impl Database {
    /// Every row holding a needle, at most `limit` of each kind; sees the open batch.
    pub(crate) fn subject_rows(
        &self,
        needles: &Needles,
        limit: usize,
    ) -> Result<SubjectRows, StoreError> {
        let mut found = SubjectRows::default();
        if needles.is_empty() {
            return Ok(found);
        }
        let connection = &self.connection;
        let mut statement = connection.prepare(
            "SELECT uid, rule, time, person, severity, json FROM findings ORDER BY time, uid",
        )?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            if row_holds(row, 0..6, needles)? {
                let finding = StoredFinding {
                    uid: row.get(0)?,
                    rule: row.get(1)?,
                    time: Ts::from_millis(row.get(2)?),
                    person: row.get(3)?,
                    severity: row.get(4)?,
                    json: row.get(5)?,
                };
                push_limited(&mut found.findings, finding, limit, &mut found.truncated);
            }
        }
        let mut statement = connection.prepare(
            "SELECT source, position, observed, reason, raw FROM dead_letters ORDER BY id",
        )?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            if row_holds(row, 0..5, needles)? {
                let letter = DeadLetter {
                    source: row.get(0)?,
                    position: row.get(1)?,
                    observed: Ts::from_millis(row.get(2)?),
                    reason: row.get(3)?,
                    raw: row.get(4)?,
                };
                push_limited(&mut found.dead_letters, letter, limit, &mut found.truncated);
            }
        }
        let mut statement = connection.prepare(
            "SELECT event_uid, time, source, identifiers FROM unresolved ORDER BY time, event_uid",
        )?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            if row_holds(row, 0..4, needles)? {
                let item = Unresolved {
                    event_uid: row.get(0)?,
                    time: Ts::from_millis(row.get(1)?),
                    source: row.get(2)?,
                    identifiers: row.get(3)?,
                };
                push_limited(&mut found.unresolved, item, limit, &mut found.truncated);
            }
        }
        let mut statement = connection
            .prepare("SELECT collection, id, json FROM documents ORDER BY collection, id")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            if row_holds(row, 0..3, needles)? {
                let document = SubjectDocument {
                    collection: row.get(0)?,
                    id: row.get(1)?,
                    json: row.get(2)?,
                };
                push_limited(&mut found.documents, document, limit, &mut found.truncated);
            }
        }
        found.snapshots = self.matching_snapshots(needles)?.len() as u64;
        Ok(found)
    }

    /// The ids of the snapshots whose state or source positions hold a needle. The engine's
    /// state is its own serialized bytes, searched as they are.
    fn matching_snapshots(&self, needles: &Needles) -> Result<Vec<i64>, StoreError> {
        let mut kept = std::collections::BTreeSet::new();
        let mut matching = std::collections::BTreeSet::new();
        let mut statement = self.connection.prepare("SELECT id, state FROM snapshots")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let id: i64 = row.get(0)?;
            kept.insert(id);
            if row_holds(row, 1..2, needles)? {
                matching.insert(id);
            }
        }
        let mut statement = self
            .connection
            .prepare("SELECT snapshot_id, source, position FROM snapshot_positions")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            if row_holds(row, 1..3, needles)? {
                matching.insert(row.get(0)?);
            }
        }
        Ok(matching.intersection(&kept).copied().collect())
    }

    fn matches(&self, needles: &Needles) -> Result<Matches, StoreError> {
        let mut found = Matches::default();
        let connection = &self.connection;
        let mut statement =
            connection.prepare("SELECT uid, rule, time, person, severity, json FROM findings")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            if row_holds(row, 0..6, needles)? {
                found.findings.push((row.get(0)?, row.get(1)?, row.get(4)?));
            }
        }
        let mut statement = connection
            .prepare("SELECT id, source, position, observed, reason, raw FROM dead_letters")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            if row_holds(row, 1..6, needles)? {
                found.dead_letters.push(row.get(0)?);
            }
        }
        let mut statement =
            connection.prepare("SELECT event_uid, time, source, identifiers FROM unresolved")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            if row_holds(row, 0..4, needles)? {
                found.unresolved.push(row.get(0)?);
            }
        }
        let mut statement = connection.prepare("SELECT collection, id, json FROM documents")?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            if row_holds(row, 0..3, needles)? {
                found.documents.push((row.get(0)?, row.get(1)?));
            }
        }
        found.snapshots = self.matching_snapshots(needles)?;
        Ok(found)
    }

    /// Commits the open batch, then in one transaction with `secure_delete` on: findings
    /// holding a needle become tombstone rows with `tombstone` for JSON (a needle in the uid
    /// renames it, one in the rule or severity empties it), and the other rows holding one are
    /// deleted. Call [`Database::scrub`] after it.
    pub(crate) fn erase_subject(
        &mut self,
        needles: &Needles,
        tombstone: &str,
    ) -> Result<ErasedRows, StoreError> {
        self.commit()?;
        let mut erased = ErasedRows::default();
        if needles.is_empty() {
            return Ok(erased);
        }
        let found = self.matches(needles)?;
        let cleaned = |text: String| {
            if needles.found_in(text.as_bytes()) {
                String::new()
            } else {
                text
            }
        };
        self.securely(|connection| {
            let transaction = connection.unchecked_transaction()?;
            let finding_uids: Vec<String> = found
                .findings
                .iter()
                .map(|(uid, _, _)| uid.clone())
                .collect();
            super::workspace::erase_subject(&transaction, needles, &finding_uids)?;
            for (uid, rule, severity) in found.findings {
                let renamed = if needles.found_in(uid.as_bytes()) {
                    erased_finding_uid(&uid, needles)
                } else {
                    Some(uid.clone())
                };
                match renamed {
                    Some(renamed) => transaction.execute(
                        "UPDATE findings SET uid = ?1, rule = ?2, person = NULL, severity = ?3,
                             json = ?4
                         WHERE uid = ?5",
                        params![renamed, cleaned(rule), cleaned(severity), tombstone, uid],
                    )?,
                    None => {
                        transaction.execute("DELETE FROM findings WHERE uid = ?1", params![uid])?
                    }
                };
                erased.findings += 1;
            }
            for id in found.dead_letters {
                erased.dead_letters += count(
                    transaction.execute("DELETE FROM dead_letters WHERE id = ?1", params![id])?,
                );
            }
            for uid in found.unresolved {
                erased.unresolved += count(
                    transaction
                        .execute("DELETE FROM unresolved WHERE event_uid = ?1", params![uid])?,
                );
            }
            for (collection, id) in found.documents {
                erased.documents += count(transaction.execute(
                    "DELETE FROM documents WHERE collection = ?1 AND id = ?2",
                    params![collection, id],
                )?);
            }
            for id in found.snapshots {
                transaction.execute(
                    "DELETE FROM snapshot_positions WHERE snapshot_id = ?1",
                    params![id],
                )?;
                erased.snapshots +=
                    count(transaction.execute("DELETE FROM snapshots WHERE id = ?1", params![id])?);
            }
            transaction.commit()?;
            Ok(())
        })?;
        Ok(erased)
    }

    /// Leaves no copy of deleted content in the files: moves the WAL into the database and
    /// truncates it, rebuilds the database from its live rows (`VACUUM`, which also drops free
    /// pages and the free space inside pages that rows deleted earlier, without
    /// `secure_delete`, left behind), and truncates the WAL that rebuild went through.
    pub(crate) fn scrub(&mut self) -> Result<(), StoreError> {
        self.commit()?;
        self.checkpoint_truncate()?;
        self.connection.execute_batch("VACUUM")?;
        self.checkpoint_truncate()
    }

    /// Copies the WAL into the database and truncates it to nothing. Fails if another
    /// connection's read keeps the WAL in use (someone has the database open beside the store).
    fn checkpoint_truncate(&mut self) -> Result<(), StoreError> {
        let busy: i64 =
            self.connection
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
        if busy != 0 {
            return Err(StoreError::WalInUse);
        }
        Ok(())
    }

    /// Deletes (or with `dry_run` counts) the rows past their retention. Deleting commits the
    /// open batch first and runs with `secure_delete`, then gives the pages back and truncates
    /// the WAL.
    pub(crate) fn prune(
        &mut self,
        findings_before: Option<Ts>,
        dead_letters_before: Option<Ts>,
        unresolved_before: Option<Ts>,
        dry_run: bool,
    ) -> Result<PrunedRows, StoreError> {
        let targets = [
            ("findings", "time", findings_before),
            ("dead_letters", "observed", dead_letters_before),
            ("unresolved", "time", unresolved_before),
        ];
        let mut counts = [0u64; 3];
        if dry_run {
            for ((table, column, before), slot) in targets.iter().zip(&mut counts) {
                if let Some(before) = before {
                    let found: i64 = self.connection.query_row(
                        &format!("SELECT count(*) FROM {table} WHERE {column} < ?1"),
                        params![before.millis()],
                        |row| row.get(0),
                    )?;
                    *slot = u64::try_from(found).unwrap_or(0);
                }
            }
        } else if targets.iter().any(|(_, _, before)| before.is_some()) {
            self.commit()?;
            self.securely(|connection| {
                let transaction = connection.unchecked_transaction()?;
                for ((table, column, before), slot) in targets.iter().zip(&mut counts) {
                    if let Some(before) = before {
                        *slot = count(transaction.execute(
                            &format!("DELETE FROM {table} WHERE {column} < ?1"),
                            params![before.millis()],
                        )?);
                    }
                }
                transaction.commit()?;
                Ok(())
            })?;
            self.reclaim()?;
            self.checkpoint_truncate()?;
        }
        let [findings, dead_letters, unresolved] = counts;
        Ok(PrunedRows {
            findings,
            dead_letters,
            unresolved,
        })
    }

    /// Runs `write` with `secure_delete` on, and turns it off again whatever happened:
    /// ordinary deletes (old snapshots above all) need not pay for zeroing their pages.
    pub(super) fn securely(
        &mut self,
        write: impl FnOnce(&rusqlite::Connection) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.connection.execute_batch("PRAGMA secure_delete = ON")?;
        let result = write(&self.connection);
        let restored = self.connection.execute_batch("PRAGMA secure_delete = OFF");
        result?;
        restored?;
        Ok(())
    }
}

fn count(changed: usize) -> u64 {
    u64::try_from(changed).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_is_part_of_the_own_text() {
        let text = own_text();
        assert!(text.contains("CREATE TABLE findings"));
        assert!(text.contains("sqlite_sequence"));
    }
}
