//! The tables and the migrations that make them, applied in order when a store opens.
//!
//! Every string is kept as `bytea`, not `text`: `text` cannot hold U+0000, which a Rust string
//! (and a hostile log line) can, and `bytea` compares bytewise, as the embedded store's SQLite
//! columns do, whatever the database's collation. Read one with `convert_from(column, 'UTF8')`.
//! Unique keys that may be long (a uid can take 64 KiB) are indexed by their SHA-256, because
//! a btree entry must fit in a third of a page.

use postgres::Client;
use seam_store::StoreError;

use crate::connection::Failure;

/// Schema changes in order; `seam_schema.version` counts how many have run.
pub(crate) const MIGRATIONS: &[&str] = &[
    // Events hold their log position: dense from 0, assigned by the one writer (see the
    // writer lock in `store.rs`). Their uids are deduplicated by that writer, which looks
    // the batch's uids up inside its transaction before it appends. A hash index serves the
    // look-up for less than a unique index costs to keep on random uids (appending a million
    // on two cores: about 119,000 events a second, against 88,000 with a unique btree on the
    // uid and 55,000 on its SHA-256), and it keeps only a 4-byte hash, so any uid fits.
    "CREATE TABLE events (
         position bigint PRIMARY KEY,
         uid      bytea NOT NULL,
         time     bigint NOT NULL,
         observed bigint NOT NULL,
         source   bytea NOT NULL,
         class    bytea NOT NULL,
         person   bytea,
         late     boolean NOT NULL,
         json     bytea NOT NULL
     );
     CREATE INDEX events_by_uid ON events USING hash (uid);

     CREATE TABLE findings (
         uid      bytea NOT NULL,
         rule     bytea NOT NULL,
         time     bigint NOT NULL,
         person   bytea,
         severity bytea NOT NULL,
         json     bytea NOT NULL
     );
     CREATE UNIQUE INDEX findings_by_uid ON findings (sha256(uid));
     CREATE INDEX findings_by_time ON findings (time);
     CREATE INDEX findings_by_rule ON findings USING hash (rule);
     CREATE INDEX findings_by_person ON findings USING hash (person);

     -- A letter is named by its source, position and raw bytes, each length-prefixed so
     -- that no two triples hash the same bytes.
     CREATE TABLE dead_letters (
         id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         source   bytea NOT NULL,
         position bytea NOT NULL,
         observed bigint NOT NULL,
         reason   bytea NOT NULL,
         raw      bytea NOT NULL
     );
     CREATE UNIQUE INDEX dead_letters_by_identity ON dead_letters (
         sha256(int4send(length(source)) || source || int4send(length(position)) || position || raw)
     );
     CREATE INDEX dead_letters_by_observed ON dead_letters (observed);

     CREATE TABLE unresolved (
         event_uid   bytea NOT NULL,
         time        bigint NOT NULL,
         source      bytea NOT NULL,
         identifiers bytea NOT NULL
     );
     CREATE UNIQUE INDEX unresolved_by_event_uid ON unresolved (sha256(event_uid));
     CREATE INDEX unresolved_by_time ON unresolved (time);

     CREATE TABLE snapshots (
         id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         created_at   timestamptz NOT NULL DEFAULT now(),
         log_position bigint NOT NULL,
         state        bytea NOT NULL
     );
     CREATE TABLE snapshot_positions (
         snapshot_id bigint NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
         source      bytea NOT NULL,
         position    bytea NOT NULL
     );
     CREATE INDEX snapshot_positions_by_snapshot ON snapshot_positions (snapshot_id);

     -- A protocol's own state kept beside the events (SCIM resources as provisioned).
     CREATE TABLE documents (
         collection bytea NOT NULL,
         id         bytea NOT NULL,
         json       bytea NOT NULL
     );
     CREATE UNIQUE INDEX documents_by_key ON documents (sha256(collection), sha256(id));",
    // Erasure and retention (`lifecycle.rs`) leave a tombstone at an event's position. A uid
    // that named the erased person is replaced by its SHA-256 (`uid_digested`), which the
    // writer must still find to refuse the uid as a duplicate: the partial index holds only
    // those digests, so it costs appends nothing and answers "are there any?" at once.
    // A constant default adds the columns without rewriting the table.
    "ALTER TABLE events
         ADD COLUMN tombstone    boolean NOT NULL DEFAULT false,
         ADD COLUMN uid_digested boolean NOT NULL DEFAULT false;
     CREATE INDEX events_by_digest ON events (uid) WHERE uid_digested;",
    // The workspace (`workspace.rs`), as the embedded store's SQLite migration 3 makes it: a
    // triage row per finding with the columns lists filter on, each filter with an index
    // that ends in (time, uid) so that a page newest first is read off it in order; alerts
    // and every key of every finding in one (a later finding joins by any of them); the
    // triage log; suppressions; cases with their link index and their numbers; the chain of
    // custody. Strings are `bytea` like everywhere else: kept byte for byte, ordered bytewise.
    // Findings stored before this migration get their rows when the store opens.
    "CREATE TABLE triage (
         uid           bytea PRIMARY KEY,
         rule          bytea NOT NULL,
         time          bigint NOT NULL,
         severity_id   integer NOT NULL,
         person        bytea,
         site          bytea,
         zone          bytea,
         asset         bytea,
         alert         bytea NOT NULL,
         suppressed_by bytea,
         status        bytea NOT NULL,
         assignee      bytea,
         team          bytea,
         version       bigint NOT NULL,
         state         bytea NOT NULL,
         stored_at     bigint NOT NULL,
         text          bytea NOT NULL
     );
     CREATE INDEX triage_by_time ON triage (time, uid);
     CREATE INDEX triage_by_status ON triage (status, time, uid);
     CREATE INDEX triage_by_rule ON triage (rule, time, uid);
     CREATE INDEX triage_by_site ON triage (site, time, uid);
     CREATE INDEX triage_by_person ON triage (person, time, uid);
     CREATE INDEX triage_by_zone ON triage (zone, time, uid);
     CREATE INDEX triage_by_asset ON triage (asset, time, uid);
     CREATE INDEX triage_by_alert ON triage (alert, time, uid);
     CREATE INDEX triage_by_assignee ON triage (assignee, time, uid);
     -- What each suppression matched is counted through this; it holds only those rows.
     CREATE INDEX triage_by_suppression ON triage (suppressed_by) WHERE suppressed_by IS NOT NULL;

     CREATE TABLE alerts (
         id    bytea PRIMARY KEY,
         key   bytea NOT NULL,
         first bigint NOT NULL,
         last  bigint NOT NULL,
         site  bytea
     );
     CREATE INDEX alerts_by_last ON alerts (last, id);
     CREATE TABLE alert_keys (
         key   bytea NOT NULL,
         alert bytea NOT NULL,
         first bigint NOT NULL,
         last  bigint NOT NULL,
         PRIMARY KEY (key, alert)
     );
     CREATE INDEX alert_keys_by_last ON alert_keys (key, last);

     CREATE TABLE triage_log (
         id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         uid    bytea NOT NULL,
         at     bigint NOT NULL,
         actor  bytea NOT NULL,
         action bytea NOT NULL
     );
     CREATE INDEX triage_log_by_uid ON triage_log (uid, id);

     CREATE TABLE suppressions (
         id         bytea PRIMARY KEY,
         json       bytea NOT NULL,
         expires_at bigint NOT NULL,
         ended_at   bigint,
         ended_by   bytea
     );

     CREATE TABLE cases (
         id         bytea PRIMARY KEY,
         seq        bigint NOT NULL,
         version    bigint NOT NULL,
         status     bytea NOT NULL,
         updated_at bigint NOT NULL,
         json       bytea NOT NULL
     );
     CREATE INDEX cases_by_updated ON cases (updated_at, id);
     CREATE TABLE case_links (
         kind    bytea NOT NULL,
         value   bytea NOT NULL,
         case_id bytea NOT NULL,
         PRIMARY KEY (kind, value, case_id)
     );
     CREATE INDEX case_links_by_case ON case_links (case_id);
     -- A row, not a SEQUENCE: a number handed out in a batch that is rolled back (or lost
     -- with a crash) is handed out again, as the embedded store's is.
     CREATE TABLE case_sequence (
         id   integer PRIMARY KEY CHECK (id = 1),
         next bigint NOT NULL
     );
     INSERT INTO case_sequence (id, next) VALUES (1, 1);

     CREATE TABLE custody (
         id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         case_id bytea NOT NULL,
         sha256  bytea NOT NULL,
         at      bigint NOT NULL,
         actor   bytea NOT NULL,
         action  bytea NOT NULL
     );
     CREATE INDEX custody_by_case ON custody (case_id, id);",
    // A case's timeline reads the events of a span: events arrive close to time order, so a
    // block-range index on the time skips the rest of a long log. It is small, yet a bulk
    // replay pays for it (about a tenth: docs/performance.md). A (person, time) B-tree would
    // make a case of people forty times faster and cost a third of replay throughput: not
    // kept.
    "CREATE INDEX IF NOT EXISTS events_by_time_range ON events USING brin (time);",
];

/// The audit log's tables (`audit.rs`), versioned apart from the store's in
/// `seam_audit_schema`: a deployment that keeps its audit in files gets no audit tables, and
/// the store's own migrations and erasure, which rewrites every table that holds people's
/// data, never reach the audit log, which holds pseudonyms and must never be edited.
///
/// A record's row is keyed by its seq, as written; a checkpoint's and an anchor's by the order
/// it was written in. Lines are kept byte for byte, without their newline. Version 2 adds the
/// anchors that retention writes before it deletes records.
pub(crate) const AUDIT_MIGRATIONS: &[&str] = &[
    "CREATE TABLE audit_records (
         seq  bigint PRIMARY KEY,
         line bytea NOT NULL
     );
     CREATE TABLE audit_checkpoints (
         id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         line bytea NOT NULL
     );",
    "CREATE TABLE audit_anchors (
         id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         line bytea NOT NULL
     );",
];

/// Advisory locks are named by two integers: this one says "Seam", the second which lock.
pub(crate) const LOCK_CLASS: i32 = 0x5345_414d;
/// Held while migrating, so that two processes opening a new database at once do not both
/// create its tables.
const MIGRATION_LOCK: i32 = 1;
/// Held by the one store that writes to a database, for as long as it is open.
pub(crate) const WRITER_LOCK: i32 = 2;
/// Held by the one audit writer of a database, for as long as it is open: two data
/// directories pointed at one database would otherwise fork the chain.
pub(crate) const AUDIT_WRITER_LOCK: i32 = 3;

/// Brings the schema up to date in one transaction; returns the version it ends at. A schema
/// newer than this build knows is refused, changing nothing.
pub(crate) fn migrate(client: &mut Client, target: &str) -> Result<i64, StoreError> {
    apply(client, target, "seam_schema", MIGRATIONS)
}

/// Brings the audit log's tables up to date, as [`migrate`] does the store's.
pub(crate) fn migrate_audit(client: &mut Client, target: &str) -> Result<i64, StoreError> {
    apply(client, target, "seam_audit_schema", AUDIT_MIGRATIONS)
}

/// Runs the `migrations` that `version_table` (a constant name) says have not run yet.
fn apply(
    client: &mut Client,
    target: &str,
    version_table: &str,
    migrations: &[&str],
) -> Result<i64, StoreError> {
    let supported = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
    let mut step = || -> Result<Result<i64, StoreError>, Failure> {
        let mut transaction = client.transaction()?;
        transaction.execute(
            "SELECT pg_advisory_xact_lock($1, $2)",
            &[&LOCK_CLASS, &MIGRATION_LOCK],
        )?;
        transaction.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {version_table} (version integer NOT NULL);
             INSERT INTO {version_table} (version)
                 SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM {version_table});"
        ))?;
        let found: i32 = transaction
            .query_one(&format!("SELECT max(version) FROM {version_table}"), &[])?
            .try_get(0)?;
        let found = i64::from(found);
        if found > supported {
            // Rolled back on drop: the newer build's schema stays as it was.
            return Ok(Err(StoreError::SchemaTooNew { found, supported }));
        }
        for (version, migration) in (1_i32..)
            .zip(migrations)
            .skip(usize::try_from(found).unwrap_or(0))
        {
            transaction.batch_execute(migration)?;
            transaction.execute(
                &format!("UPDATE {version_table} SET version = $1"),
                &[&version],
            )?;
        }
        transaction.commit()?;
        Ok(Ok(supported))
    };
    step().map_err(|failure| failure.into_store_error("migrate the schema of", target))?
}
