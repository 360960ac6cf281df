//! [`PostgresStore`]: the [`Store`] contract on one PostgreSQL database.
//!
//! Writes between two commits share one open transaction (`BEGIN` on the first write, `COMMIT`
//! in [`Store::commit`]), and reads run on the same connection, so they see what was appended
//! whether committed or not, and a crash loses exactly what was not committed. One store writes
//! to a database at a time: it holds an advisory lock for as long as it is open, which is what
//! lets it hand out dense log positions from a counter of its own, and deduplicate uids by
//! looking them up before it appends (inside its transaction, so earlier uncommitted appends
//! count) instead of through a unique index, which costs too much on random uids. Once an
//! erasure has replaced a uid by its SHA-256 (`lifecycle.rs`), appends look the digests of
//! their uids up as well.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use postgres::{Client, Statement};
use seam_store::{
    AppendOutcome, Counts, DeadLetter, DocumentWrite, FindingFilter, Snapshot, Store, StoreError,
    StoredEvent, StoredFinding, Ts, Unresolved,
};
use sha2::{Digest as _, Sha256};

use crate::connection::{Failure, Target, server_error, unsigned, utf8};
use crate::limits;
use crate::schema::{self, LOCK_CLASS, WRITER_LOCK};

/// How a [`PostgresStore`] keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostgresOptions {
    /// How many snapshots to keep, newest first; at least one is always kept.
    pub snapshots_kept: usize,
}

impl Default for PostgresOptions {
    /// What the embedded store keeps.
    fn default() -> Self {
        PostgresOptions { snapshots_kept: 3 }
    }
}

/// The [`Store`] of a deployment that keeps its data in PostgreSQL: one database per store.
pub struct PostgresStore {
    target: Target,
    options: PostgresOptions,
    /// Reads take `&self` in the contract but a query needs the client mutably; the store is
    /// `Send`, not `Sync`, so a `RefCell` is enough.
    client: RefCell<Client>,
    statements: Statements,
    /// `BEGIN` was sent by a write since the last commit.
    in_transaction: bool,
    /// A read failed inside the open transaction, which the server has therefore aborted:
    /// the next write or commit must not go on as if it had not.
    read_failed: Cell<bool>,
    /// The log's end, uncommitted events included, and where it stood at the last commit.
    end: u64,
    committed_end: u64,
    /// Some event keeps only the SHA-256 of its uid (an erasure found the person in it): from
    /// then on every append also looks its uids' digests up, so that an erased uid stays a
    /// duplicate. Until then appends pay nothing for it.
    digested_uids: bool,
    /// A write failed and the open transaction was rolled back: writes are refused until
    /// [`PostgresStore::reopen`], so that no caller takes the lost rows for pending ones.
    broken: bool,
    reopens: u64,
    commits: u64,
    /// How new findings are grouped and placed, and the suppressions in force.
    pub(crate) workspace: crate::workspace::WorkspaceCache,
}

/// The statements every append or read of events runs, prepared once per connection.
pub(crate) struct Statements {
    stored_uids: Statement,
    stored_digests: Statement,
    copy_events: Statement,
    read_events: Statement,
    /// The workspace's statements, prepared on first use and kept by their SQL.
    cached: RefCell<HashMap<String, Statement>>,
}

/// The most statements kept: a list's filters combine into many texts, of which few recur.
const MAX_CACHED_STATEMENTS: usize = 512;

impl Statements {
    /// `sql` prepared on this connection, once.
    pub(crate) fn cached(&self, client: &mut Client, sql: &str) -> Result<Statement, Failure> {
        if let Some(statement) = self.cached.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = client.prepare(sql)?;
        let mut cached = self.cached.borrow_mut();
        if cached.len() >= MAX_CACHED_STATEMENTS {
            cached.clear();
        }
        cached.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PostgresStore")
            .field("location", &self.target.name)
            .field("end", &self.end)
            .field("in_transaction", &self.in_transaction)
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

/// The binary COPY row of an event, column by column.
const EVENT_COLUMNS: [Type; 9] = [
    Type::INT8,  // position
    Type::BYTEA, // uid
    Type::INT8,  // time
    Type::INT8,  // observed
    Type::BYTEA, // source
    Type::BYTEA, // class
    Type::BYTEA, // person
    Type::BOOL,  // late
    Type::BYTEA, // json
];

impl PostgresStore {
    /// Opens the store in the database `url` names (`postgres://user@host:port/db`), creating
    /// or migrating its tables, with the default options.
    pub fn open(url: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::open_with(url, PostgresOptions::default())
    }

    /// Opens the store. Fails with [`StoreError::Locked`] while another store has the same
    /// database open, and with [`StoreError::SchemaTooNew`] if a newer build migrated it.
    pub fn open_with(url: &str, options: PostgresOptions) -> Result<PostgresStore, StoreError> {
        let target = Target::parse(url)?;
        let (client, statements, log) = connect_writer(&target)?;
        let mut store = PostgresStore {
            target,
            options: PostgresOptions {
                snapshots_kept: options.snapshots_kept.max(1),
            },
            client: RefCell::new(client),
            statements,
            in_transaction: false,
            read_failed: Cell::new(false),
            end: log.end,
            committed_end: log.end,
            digested_uids: log.digested_uids,
            broken: false,
            reopens: 0,
            commits: 0,
            workspace: crate::workspace::WorkspaceCache::default(),
        };
        store.index_missing()?;
        Ok(store)
    }

    /// The database, as `postgres://user@host:port/db` (never with a password).
    pub fn location(&self) -> &str {
        &self.target.name
    }

    /// After a failed write: forgets what was not committed and reads the store again, as a
    /// restart would, reconnecting if the connection is gone. Fails while the server cannot be
    /// reached, and writes are refused until a reopen succeeds.
    pub fn reopen(&mut self) -> Result<(), StoreError> {
        let client = self.client.get_mut();
        // Outside a transaction ROLLBACK only warns: it doubles as a check that the
        // connection (and with it the writer lock) is still there.
        let alive = !client.is_closed() && client.batch_execute("ROLLBACK").is_ok();
        // What was not committed is gone now, rolled back here or with the connection.
        self.in_transaction = false;
        self.read_failed.set(false);
        self.end = self.committed_end;
        self.broken = true;
        self.workspace.forget_suppressions();
        let log = if alive {
            read_log_state(client).map_err(|failure| {
                failure.into_store_error("read the event log of", &self.target.name)
            })?
        } else {
            let (client, statements, log) = connect_writer(&self.target)?;
            *self.client.get_mut() = client;
            self.statements = statements;
            log
        };
        self.end = log.end;
        self.committed_end = log.end;
        self.digested_uids = log.digested_uids;
        self.broken = false;
        self.reopens += 1;
        Ok(())
    }

    /// Where the store stands: (reopens, commits), as [`seam_store::EmbeddedStore`] reports
    /// it. Rows written when the mark was `(r, c)` are durable once the mark is `(r, c')` with
    /// `c' > c`; if the first number has changed first, they were lost with a failed write and
    /// must be written again.
    pub fn durability_mark(&self) -> (u64, u64) {
        (self.reopens, self.commits)
    }

    /// Runs a write inside the open transaction, beginning it if need be. A failure rolls the
    /// whole transaction back (PostgreSQL has aborted it anyway) and breaks the store until
    /// [`PostgresStore::reopen`].
    pub(crate) fn write<T>(
        &mut self,
        action: &'static str,
        work: impl FnOnce(&mut Client, &Statements) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        if self.broken {
            return Err(StoreError::Broken);
        }
        if self.read_failed.take() {
            self.abandon();
            return Err(StoreError::Broken);
        }
        let client = self.client.get_mut();
        let result = if self.in_transaction {
            Ok(())
        } else {
            client.batch_execute("BEGIN").map_err(Failure::from)
        }
        .and_then(|()| {
            self.in_transaction = true;
            work(client, &self.statements)
        });
        result.map_err(|failure| {
            self.abandon();
            failure.into_store_error(action, &self.target.name)
        })
    }

    /// Drops the open transaction after a failure: what it held is lost, as in a crash.
    fn abandon(&mut self) {
        self.broken = true;
        // An added or ended suppression may have been rolled back with the rest.
        self.workspace.forget_suppressions();
        if self.in_transaction {
            // If this fails too, the connection is gone, and the server rolls back itself.
            let _ = self.client.get_mut().batch_execute("ROLLBACK");
            self.in_transaction = false;
        }
        self.end = self.committed_end;
    }

    /// Runs a read on the connection, inside the open transaction if there is one.
    pub(crate) fn read<T>(
        &self,
        action: &'static str,
        work: impl FnOnce(&mut Client, &Statements) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        let mut client = self.client.try_borrow_mut().map_err(|_| StoreError::Io {
            action,
            path: PathBuf::from(&self.target.name),
            source: std::io::Error::other("the connection is in use by another call"),
        })?;
        work(&mut client, &self.statements).map_err(|failure| {
            if self.in_transaction && matches!(failure, Failure::Server(_)) {
                self.read_failed.set(true);
            }
            failure.into_store_error(action, &self.target.name)
        })
    }

    /// Runs `work` in a transaction of its own, outside the batch; the caller commits first.
    pub(crate) fn own_transaction<T>(
        &mut self,
        action: &'static str,
        work: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        let client = self.client.get_mut();
        let run = || -> Result<T, Failure> {
            let mut transaction = client.transaction()?;
            let value = work(&mut transaction)?;
            transaction.commit()?;
            Ok(value)
        };
        run().map_err(|failure| failure.into_store_error(action, &self.target.name))
    }

    /// Runs `work` on the connection outside any transaction, as `VACUUM` must run; the caller
    /// commits first.
    pub(crate) fn outside_transaction<T>(
        &mut self,
        action: &'static str,
        work: impl FnOnce(&mut Client) -> Result<T, Failure>,
    ) -> Result<T, StoreError> {
        work(self.client.get_mut())
            .map_err(|failure| failure.into_store_error(action, &self.target.name))
    }

    /// Called once an erasure replaced a uid by its digest, and committed.
    pub(crate) fn note_digested_uids(&mut self) {
        self.digested_uids = true;
    }

    fn snapshots_up_to(&self, limit: usize) -> Result<Vec<Snapshot>, StoreError> {
        self.read("read the snapshots of", |client, _| {
            let rows = client.query(
                "SELECT id, log_position, state FROM snapshots ORDER BY id DESC LIMIT $1",
                &[&to_limit(limit)],
            )?;
            let mut ids = Vec::with_capacity(rows.len());
            let mut snapshots = Vec::with_capacity(rows.len());
            for row in rows {
                ids.push(row.try_get::<_, i64>(0)?);
                snapshots.push(Snapshot {
                    positions: BTreeMap::new(),
                    log_position: unsigned(row.try_get(1)?, "snapshot log position")?,
                    state: row.try_get(2)?,
                });
            }
            if ids.is_empty() {
                return Ok(snapshots);
            }
            let mut positions: HashMap<i64, BTreeMap<String, String>> = HashMap::new();
            for row in client.query(
                "SELECT snapshot_id, source, position FROM snapshot_positions
                 WHERE snapshot_id = ANY($1)",
                &[&ids],
            )? {
                positions.entry(row.try_get(0)?).or_default().insert(
                    utf8(row.try_get(1)?, "snapshot_positions.source")?,
                    utf8(row.try_get(2)?, "snapshot_positions.position")?,
                );
            }
            for (id, snapshot) in ids.iter().zip(&mut snapshots) {
                snapshot.positions = positions.remove(id).unwrap_or_default();
            }
            Ok(snapshots)
        })
    }
}

/// What the writer must know of the stored log when it connects.
struct LogState {
    /// The position after the last stored event: positions are dense from 0.
    end: u64,
    digested_uids: bool,
}

/// Connects, takes the writer lock, migrates, and reads where the log ends.
fn connect_writer(target: &Target) -> Result<(Client, Statements, LogState), StoreError> {
    let mut client = target.connect()?;
    // The lock before the migration: a store still open on this database may be an older
    // build, whose schema must not change under it.
    let locked: bool = client
        .query_one(
            "SELECT pg_try_advisory_lock($1, $2)",
            &[&LOCK_CLASS, &WRITER_LOCK],
        )
        .and_then(|row| row.try_get(0))
        .map_err(|error| server_error("lock", &target.name, error))?;
    if !locked {
        return Err(StoreError::Locked {
            directory: PathBuf::from(&target.name),
        });
    }
    // `commit` promises durability: where the server or the role acknowledges commits before
    // their WAL is flushed, this session flushes anyway. The other levels (`local`, and those
    // that also wait for a standby) flush and are left as they are.
    let synchronous_commit: String = client
        .query_one("SHOW synchronous_commit", &[])
        .and_then(|row| row.try_get(0))
        .map_err(|error| server_error("read the settings of", &target.name, error))?;
    if synchronous_commit == "off" {
        client
            .batch_execute("SET synchronous_commit = on")
            .map_err(|error| server_error("configure the session on", &target.name, error))?;
    }
    schema::migrate(&mut client, &target.name)?;
    let statements = prepare(&mut client)
        .map_err(|error| server_error("prepare statements on", &target.name, error))?;
    let log = read_log_state(&mut client)
        .map_err(|failure| failure.into_store_error("read the event log of", &target.name))?;
    Ok((client, statements, log))
}

fn prepare(client: &mut Client) -> Result<Statements, postgres::Error> {
    Ok(Statements {
        // The batch's uids already stored, found through the hash index on uid. A digest
        // could spell a uid by chance; it is not that uid.
        stored_uids: client
            .prepare("SELECT uid FROM events WHERE uid = ANY ($1::bytea[]) AND NOT uid_digested")?,
        // The digests of the batch's uids that erasures kept, through the partial index.
        stored_digests: client
            .prepare("SELECT uid FROM events WHERE uid = ANY ($1::bytea[]) AND uid_digested")?,
        copy_events: client.prepare(
            "COPY events (position, uid, time, observed, source, class, person, late, json)
             FROM STDIN (FORMAT binary)",
        )?,
        read_events: client.prepare(
            "SELECT json FROM events WHERE position >= $1 AND position < $2 ORDER BY position",
        )?,
        cached: RefCell::new(HashMap::new()),
    })
}

fn read_log_state(client: &mut Client) -> Result<LogState, Failure> {
    // Whether any uid is digested, asked so that only the partial index can answer it: as
    // `EXISTS`, a table without statistics yet (just migrated) was scanned whole.
    let row = client.query_one(
        "SELECT coalesce(max(position) + 1, 0),
                (SELECT uid FROM events WHERE uid_digested ORDER BY uid LIMIT 1) IS NOT NULL
         FROM events",
        &[],
    )?;
    Ok(LogState {
        end: unsigned(row.try_get(0)?, "event log position")?,
        digested_uids: row.try_get(1)?,
    })
}

/// Streams `events` into the events table with binary COPY, the first at `position`.
fn copy_events(
    client: &mut Client,
    copy: &Statement,
    mut position: i64,
    events: &[&StoredEvent<'_>],
) -> Result<(), Failure> {
    let mut writer = BinaryCopyInWriter::new(client.copy_in(copy)?, &EVENT_COLUMNS);
    for event in events {
        writer.write(&[
            &position,
            &event.uid.as_bytes(),
            &event.time.millis(),
            &event.observed.millis(),
            &event.source.as_bytes(),
            &event.class.as_bytes(),
            &event.person.map(str::as_bytes),
            &event.late,
            &event.json.as_bytes(),
        ])?;
        position += 1;
    }
    writer.finish()?;
    Ok(())
}

/// Those of `candidates` whose SHA-256 an erasure kept in place of the uid.
fn erased_uids(
    client: &mut Client,
    stored_digests: &Statement,
    candidates: &[&[u8]],
) -> Result<Vec<Vec<u8>>, Failure> {
    let mut by_digest: HashMap<[u8; 32], &[u8]> = HashMap::with_capacity(candidates.len());
    for uid in candidates {
        by_digest.insert(Sha256::digest(uid).into(), uid);
    }
    let digests: Vec<&[u8]> = by_digest.keys().map(<[u8; 32]>::as_slice).collect();
    let mut erased = Vec::new();
    for row in client.query(stored_digests, &[&digests])? {
        let digest: Vec<u8> = row.try_get(0)?;
        let uid = <[u8; 32]>::try_from(digest.as_slice())
            .ok()
            .and_then(|digest| by_digest.get(&digest));
        if let Some(uid) = uid {
            erased.push(uid.to_vec());
        }
    }
    Ok(erased)
}

fn to_sql_integer(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange { value })
}

/// SQL limits are signed; anything past `i64::MAX` means no limit anyway.
pub(crate) fn to_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn bytes_of(texts: impl Iterator<Item = impl AsRef<str>>) -> Vec<Vec<u8>> {
    texts
        .map(|text| text.as_ref().as_bytes().to_vec())
        .collect()
}

impl Store for PostgresStore {
    fn append_events(&mut self, events: &[StoredEvent<'_>]) -> Result<AppendOutcome, StoreError> {
        if self.broken {
            return Err(StoreError::Broken);
        }
        // The whole batch or nothing: every event is checked before anything is sent.
        for event in events {
            limits::check(event)?;
        }
        if events.is_empty() {
            return Ok(AppendOutcome::default());
        }
        let first_position = to_sql_integer(self.end)?;
        let digested_uids = self.digested_uids;
        let outcome = self.write("append events to", |client, statements| {
            let candidates: Vec<&[u8]> = events.iter().map(|event| event.uid.as_bytes()).collect();
            let mut stored = client
                .query(&statements.stored_uids, &[&candidates])?
                .into_iter()
                .map(|row| row.try_get::<_, Vec<u8>>(0))
                .collect::<Result<HashSet<Vec<u8>>, _>>()?;
            if digested_uids {
                stored.extend(erased_uids(
                    client,
                    &statements.stored_digests,
                    &candidates,
                )?);
            }
            let mut outcome = AppendOutcome::default();
            let mut seen: HashSet<&str> = HashSet::with_capacity(events.len());
            let mut fresh = Vec::with_capacity(events.len());
            for (index, event) in events.iter().enumerate() {
                // Stored before, or earlier in this batch: the first copy of a uid stays.
                if stored.contains(event.uid.as_bytes()) || !seen.insert(event.uid) {
                    outcome.duplicates += 1;
                    outcome.duplicate_indices.push(index);
                } else {
                    fresh.push(event);
                }
            }
            if !fresh.is_empty() {
                copy_events(client, &statements.copy_events, first_position, &fresh)?;
            }
            outcome.inserted = fresh.len();
            Ok(outcome)
        })?;
        self.end += outcome.inserted as u64;
        Ok(outcome)
    }

    fn append_findings(&mut self, findings: &[StoredFinding]) -> Result<usize, StoreError> {
        if findings.is_empty() {
            return Ok(0);
        }
        let uids = bytes_of(findings.iter().map(|finding| &finding.uid));
        let rules = bytes_of(findings.iter().map(|finding| &finding.rule));
        let times: Vec<i64> = findings
            .iter()
            .map(|finding| finding.time.millis())
            .collect();
        let persons: Vec<Option<&[u8]>> = findings
            .iter()
            .map(|finding| finding.person.as_deref().map(str::as_bytes))
            .collect();
        let severities = bytes_of(findings.iter().map(|finding| &finding.severity));
        let jsons = bytes_of(findings.iter().map(|finding| &finding.json));
        let indexing = self.indexing()?;
        self.write("append findings to", |client, statements| {
            // In the given order, so that of two with one uid the first is kept. RETURNING
            // names the rows inserted, which are the findings that were new: those get their
            // triage rows in the same transaction, a duplicate keeps the one it has.
            let inserted = client.query(
                "INSERT INTO findings (uid, rule, time, person, severity, json)
                 SELECT uid, rule, time, person, severity, json
                 FROM unnest($1::bytea[], $2::bytea[], $3::int8[], $4::bytea[], $5::bytea[],
                             $6::bytea[])
                      WITH ORDINALITY AS batch (uid, rule, time, person, severity, json, ordinal)
                 ORDER BY ordinal
                 ON CONFLICT DO NOTHING
                 RETURNING uid",
                &[&uids, &rules, &times, &persons, &severities, &jsons],
            )?;
            let inserted = inserted
                .into_iter()
                .map(|row| row.try_get::<_, Vec<u8>>(0))
                .collect::<Result<HashSet<Vec<u8>>, _>>()?;
            let mut indexed: HashSet<&[u8]> = HashSet::with_capacity(inserted.len());
            let fresh: Vec<&StoredFinding> = findings
                .iter()
                .filter(|finding| {
                    let uid = finding.uid.as_bytes();
                    // The first of a uid is the one inserted.
                    inserted.contains(uid) && indexed.insert(uid)
                })
                .collect();
            crate::workspace::index_findings(client, statements, &indexing, &fresh)?;
            Ok(fresh.len())
        })
        .inspect(|&indexed| {
            self.workspace.triaged_since_analyze = self
                .workspace
                .triaged_since_analyze
                .saturating_add(u64::try_from(indexed).unwrap_or(0));
        })
    }

    fn add_dead_letters(&mut self, letters: &[DeadLetter]) -> Result<(), StoreError> {
        if letters.is_empty() {
            return Ok(());
        }
        let sources = bytes_of(letters.iter().map(|letter| &letter.source));
        let positions = bytes_of(letters.iter().map(|letter| &letter.position));
        let observed: Vec<i64> = letters
            .iter()
            .map(|letter| letter.observed.millis())
            .collect();
        let reasons = bytes_of(letters.iter().map(|letter| &letter.reason));
        let raws: Vec<&[u8]> = letters.iter().map(|letter| letter.raw.as_slice()).collect();
        self.write("add dead letters to", |client, _| {
            // In the given order: a letter's id is the order letters are listed in.
            client.execute(
                "INSERT INTO dead_letters (source, position, observed, reason, raw)
                 SELECT source, position, observed, reason, raw
                 FROM unnest($1::bytea[], $2::bytea[], $3::int8[], $4::bytea[], $5::bytea[])
                      WITH ORDINALITY AS batch (source, position, observed, reason, raw, ordinal)
                 ORDER BY ordinal
                 ON CONFLICT DO NOTHING",
                &[&sources, &positions, &observed, &reasons, &raws],
            )?;
            Ok(())
        })
    }

    fn add_unresolved(&mut self, items: &[Unresolved]) -> Result<(), StoreError> {
        if items.is_empty() {
            return Ok(());
        }
        let uids = bytes_of(items.iter().map(|item| &item.event_uid));
        let times: Vec<i64> = items.iter().map(|item| item.time.millis()).collect();
        let sources = bytes_of(items.iter().map(|item| &item.source));
        let identifiers = bytes_of(items.iter().map(|item| &item.identifiers));
        self.write("add unresolved events to", |client, _| {
            client.execute(
                "INSERT INTO unresolved (event_uid, time, source, identifiers)
                 SELECT event_uid, time, source, identifiers
                 FROM unnest($1::bytea[], $2::int8[], $3::bytea[], $4::bytea[])
                      WITH ORDINALITY AS batch (event_uid, time, source, identifiers, ordinal)
                 ORDER BY ordinal
                 ON CONFLICT DO NOTHING",
                &[&uids, &times, &sources, &identifiers],
            )?;
            Ok(())
        })
    }

    fn write_documents(&mut self, writes: &[DocumentWrite]) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        self.write("write documents to", |client, _| {
            let put = client.prepare(
                "INSERT INTO documents (collection, id, json) VALUES ($1, $2, $3)
                 ON CONFLICT ((sha256(collection)), (sha256(id)))
                 DO UPDATE SET json = excluded.json",
            )?;
            let delete = client.prepare(
                "DELETE FROM documents
                 WHERE sha256(collection) = sha256($1) AND sha256(id) = sha256($2)
                   AND collection = $1 AND id = $2",
            )?;
            // One at a time, in order: a later write to the same document wins.
            for write in writes {
                let collection = write.collection.as_bytes();
                let id = write.id.as_bytes();
                match &write.json {
                    Some(json) => client.execute(&put, &[&collection, &id, &json.as_bytes()])?,
                    None => client.execute(&delete, &[&collection, &id])?,
                };
            }
            Ok(())
        })
    }

    fn documents(&self, collection: &str) -> Result<Vec<(String, String)>, StoreError> {
        self.read("read documents from", |client, _| {
            let collection = collection.as_bytes();
            client
                .query(
                    "SELECT id, json FROM documents
                     WHERE sha256(collection) = sha256($1) AND collection = $1
                     ORDER BY id",
                    &[&collection],
                )?
                .into_iter()
                .map(|row| {
                    Ok((
                        utf8(row.try_get(0)?, "documents.id")?,
                        utf8(row.try_get(1)?, "documents.json")?,
                    ))
                })
                .collect()
        })
    }

    /// `COMMIT`s the open transaction: its WAL is flushed to disk before this returns (the
    /// session turns `synchronous_commit` back on where the server has it off).
    fn commit(&mut self) -> Result<(), StoreError> {
        if self.broken {
            return Err(StoreError::Broken);
        }
        if self.read_failed.take() {
            // COMMIT of an aborted transaction rolls it back and reports success: never send it.
            self.abandon();
            return Err(StoreError::Broken);
        }
        if self.in_transaction {
            let result = self.client.get_mut().batch_execute("COMMIT");
            self.in_transaction = false;
            if let Err(error) = result {
                // Rolled back, or lost with the connection: either way not known to be durable.
                self.broken = true;
                self.end = self.committed_end;
                return Err(server_error("commit to", &self.target.name, error));
            }
        }
        self.committed_end = self.end;
        self.commits += 1;
        if self.workspace.statistics_stale() {
            let cache = &mut self.workspace;
            let total = cache.triaged_at_analyze + cache.triaged_since_analyze;
            // Outside any transaction; a failure only leaves the statistics as they were.
            let analyzed = self
                .client
                .get_mut()
                .batch_execute("ANALYZE triage, alerts, alert_keys");
            if analyzed.is_ok() {
                cache.triaged_at_analyze = total;
                cache.triaged_since_analyze = 0;
            }
        }
        Ok(())
    }

    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
        if snapshot.log_position > self.end {
            // Replay would start past the log's end: a snapshot of events never stored.
            return Err(StoreError::InvalidPosition {
                position: snapshot.log_position,
                end: self.end,
            });
        }
        let log_position = to_sql_integer(snapshot.log_position)?;
        self.commit()?;
        let kept = to_limit(self.options.snapshots_kept);
        let sources = bytes_of(snapshot.positions.keys());
        let positions = bytes_of(snapshot.positions.values());
        self.own_transaction("save a snapshot to", |transaction| {
            let id: i64 = transaction
                .query_one(
                    "INSERT INTO snapshots (log_position, state) VALUES ($1, $2) RETURNING id",
                    &[&log_position, &snapshot.state],
                )?
                .try_get(0)?;
            transaction.execute(
                "INSERT INTO snapshot_positions (snapshot_id, source, position)
                 SELECT $1, source, position FROM unnest($2::bytea[], $3::bytea[])
                     AS batch (source, position)",
                &[&id, &sources, &positions],
            )?;
            // Their positions go with them (ON DELETE CASCADE).
            transaction.execute(
                "DELETE FROM snapshots
                 WHERE id NOT IN (SELECT id FROM snapshots ORDER BY id DESC LIMIT $1)",
                &[&kept],
            )?;
            Ok(())
        })
    }

    fn latest_snapshot(&self) -> Result<Option<Snapshot>, StoreError> {
        Ok(self.snapshots_up_to(1)?.into_iter().next())
    }

    fn snapshots(&self) -> Result<Vec<Snapshot>, StoreError> {
        self.snapshots_up_to(usize::MAX)
    }

    fn findings(&self, filter: &FindingFilter) -> Result<Vec<StoredFinding>, StoreError> {
        let rule = filter.rule.as_deref().map(str::as_bytes);
        let person = filter.person.as_deref().map(str::as_bytes);
        let since = filter.since.map(Ts::millis);
        let until = filter.until.map(Ts::millis);
        let limit = to_limit(filter.limit);
        let mut sql =
            String::from("SELECT uid, rule, time, person, severity, json FROM findings WHERE true");
        let mut values: Vec<&(dyn ToSql + Sync)> = Vec::new();
        let conditions: [(&str, Option<&(dyn ToSql + Sync)>); 4] = [
            ("rule =", rule.as_ref().map(|value| value as _)),
            ("person =", person.as_ref().map(|value| value as _)),
            ("time >=", since.as_ref().map(|value| value as _)),
            ("time <", until.as_ref().map(|value| value as _)),
        ];
        for (condition, value) in conditions {
            if let Some(value) = value {
                values.push(value);
                sql.push_str(&format!(" AND {condition} ${}", values.len()));
            }
        }
        values.push(&limit);
        sql.push_str(&format!(" ORDER BY time, uid LIMIT ${}", values.len()));
        self.read("read findings from", |client, _| {
            client
                .query(&sql, &values)?
                .into_iter()
                .map(|row| {
                    let person: Option<Vec<u8>> = row.try_get(3)?;
                    Ok(StoredFinding {
                        uid: utf8(row.try_get(0)?, "findings.uid")?,
                        rule: utf8(row.try_get(1)?, "findings.rule")?,
                        time: Ts::from_millis(row.try_get(2)?),
                        person: person
                            .map(|person| utf8(person, "findings.person"))
                            .transpose()?,
                        severity: utf8(row.try_get(4)?, "findings.severity")?,
                        json: utf8(row.try_get(5)?, "findings.json")?,
                    })
                })
                .collect()
        })
    }

    fn dead_letters(&self, limit: usize) -> Result<Vec<DeadLetter>, StoreError> {
        self.read("read dead letters from", |client, _| {
            client
                .query(
                    "SELECT source, position, observed, reason, raw FROM dead_letters
                     ORDER BY id LIMIT $1",
                    &[&to_limit(limit)],
                )?
                .into_iter()
                .map(|row| {
                    Ok(DeadLetter {
                        source: utf8(row.try_get(0)?, "dead_letters.source")?,
                        position: utf8(row.try_get(1)?, "dead_letters.position")?,
                        observed: Ts::from_millis(row.try_get(2)?),
                        reason: utf8(row.try_get(3)?, "dead_letters.reason")?,
                        raw: row.try_get(4)?,
                    })
                })
                .collect()
        })
    }

    /// Bytes, as documented: the embedded store's SQLite `LENGTH` counts the reason in
    /// characters, which is the same for the ASCII reasons Seam writes.
    fn dead_letter_bytes(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.read("measure the dead letters of", |client, _| {
            client
                .query(
                    "SELECT source, sum(length(raw)::bigint + length(reason))::bigint
                     FROM dead_letters GROUP BY source ORDER BY source",
                    &[],
                )?
                .into_iter()
                .map(|row| {
                    Ok((
                        utf8(row.try_get(0)?, "dead_letters.source")?,
                        unsigned(row.try_get(1)?, "dead letter size")?,
                    ))
                })
                .collect()
        })
    }

    fn prune_dead_letters(&mut self, before: Ts) -> Result<u64, StoreError> {
        self.write("prune the dead letters of", |client, _| {
            Ok(client.execute(
                "DELETE FROM dead_letters WHERE observed < $1",
                &[&before.millis()],
            )?)
        })
    }

    fn unresolved(&self, limit: usize) -> Result<Vec<Unresolved>, StoreError> {
        self.read("read unresolved events from", |client, _| {
            client
                .query(
                    "SELECT event_uid, time, source, identifiers FROM unresolved
                     ORDER BY time, event_uid LIMIT $1",
                    &[&to_limit(limit)],
                )?
                .into_iter()
                .map(|row| {
                    Ok(Unresolved {
                        event_uid: utf8(row.try_get(0)?, "unresolved.event_uid")?,
                        time: Ts::from_millis(row.try_get(1)?),
                        source: utf8(row.try_get(2)?, "unresolved.source")?,
                        identifiers: utf8(row.try_get(3)?, "unresolved.identifiers")?,
                    })
                })
                .collect()
        })
    }

    fn counts(&self) -> Result<Counts, StoreError> {
        self.read("count the rows of", |client, _| {
            let row = client.query_one(
                "SELECT (SELECT count(*) FROM findings),
                        (SELECT count(*) FROM dead_letters),
                        (SELECT count(*) FROM unresolved)",
                &[],
            )?;
            Ok(Counts {
                events: self.end,
                findings: unsigned(row.try_get(0)?, "count")?,
                dead_letters: unsigned(row.try_get(1)?, "count")?,
                unresolved: unsigned(row.try_get(2)?, "count")?,
            })
        })
    }

    fn read_events(
        &self,
        from_log_position: u64,
        limit: usize,
    ) -> Result<(Vec<String>, u64), StoreError> {
        let end = self.end;
        if from_log_position > end {
            return Err(StoreError::InvalidPosition {
                position: from_log_position,
                end,
            });
        }
        let until = from_log_position
            .saturating_add(u64::try_from(limit).unwrap_or(u64::MAX))
            .min(end);
        if until == from_log_position {
            return Ok((Vec::new(), from_log_position));
        }
        let (from, to) = (to_sql_integer(from_log_position)?, to_sql_integer(until)?);
        let events = self.read("read events from", |client, statements| {
            let rows = client.query(&statements.read_events, &[&from, &to])?;
            if rows.len() as u64 != until - from_log_position {
                // Positions are dense: a gap is a table changed behind the store's back.
                return Err(Failure::Invalid {
                    what: "event log: positions are missing",
                });
            }
            rows.into_iter()
                .map(|row| utf8(row.try_get(0)?, "events.json"))
                .collect::<Result<Vec<String>, Failure>>()
        })?;
        Ok((events, until))
    }

    fn log_position(&self) -> Result<u64, StoreError> {
        Ok(self.end)
    }
}
