//! [`Lifecycle`] on PostgreSQL: subject access, erasure and retention, with the embedded
//! store's semantics (the shared lifecycle suite checks them).
//!
//! Needles are matched on the server (`matching.rs`). An erased or expired event stays at its
//! position as a row with `tombstone` set; a uid that named the person is replaced by its
//! SHA-256 (`uid_digested`), which appends still look up. Each erasure and each retention run
//! is one transaction. Waiting for older transactions needs PostgreSQL 13 (`xid8`).
//!
//! An `UPDATE` or `DELETE` leaves the old row version in the table's pages, and `VACUUM` only
//! marks its space free: the bytes stay until a later row overwrites them. So an erasure then
//! rewrites every table that holds people's data (`VACUUM FULL`), which copies the live rows
//! into new files and drops the old ones, indexes and TOAST included. `erase_subject` below
//! says what stays beyond the store's reach.

use std::time::{Duration, Instant};

use postgres::error::SqlState;
use postgres::{Client, GenericClient, Row, Transaction};
use seam_store::{
    DeadLetter, ERASED_FINDING_UID_PREFIX, ErasureReport, Lifecycle, Needles, RETENTION_REASON,
    RetentionReport, RetentionRequest, Store as _, StoreError, StoredFinding, SubjectDocument,
    SubjectEvent, SubjectRecords, Ts, Unresolved, erased_finding_uid, tombstone_json,
};

use crate::connection::{Failure, unsigned, utf8};
use crate::matching::NeedleParams;
use crate::store::{PostgresStore, to_limit};
use crate::workspace::WORKSPACE_TABLES;

/// The columns of each table that may hold a needle: every `bytea` column.
const EVENT_COLUMNS: [&str; 5] = ["uid", "source", "class", "person", "json"];
const FINDING_COLUMNS: [&str; 5] = ["uid", "rule", "person", "severity", "json"];
const DEAD_LETTER_COLUMNS: [&str; 4] = ["source", "position", "reason", "raw"];
const UNRESOLVED_COLUMNS: [&str; 3] = ["event_uid", "source", "identifiers"];
const DOCUMENT_COLUMNS: [&str; 3] = ["collection", "id", "json"];
const SNAPSHOT_COLUMNS: [&str; 1] = ["state"];
const SNAPSHOT_POSITION_COLUMNS: [&str; 2] = ["source", "position"];

/// The store's tables that hold people's data, with the columns that do: with the
/// workspace's ([`WORKSPACE_TABLES`]), what an erasure rewrites and whose statistics it must
/// not leave behind.
const STORE_TABLES: [(&str, &[&str]); 7] = [
    ("events", &EVENT_COLUMNS),
    ("findings", &FINDING_COLUMNS),
    ("dead_letters", &DEAD_LETTER_COLUMNS),
    ("unresolved", &UNRESOLVED_COLUMNS),
    ("documents", &DOCUMENT_COLUMNS),
    ("snapshots", &SNAPSHOT_COLUMNS),
    ("snapshot_positions", &SNAPSHOT_POSITION_COLUMNS),
];

/// Every table that holds people's data, with the columns that do.
fn personal_tables() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
    STORE_TABLES.into_iter().chain(WORKSPACE_TABLES)
}

/// How long the rewrite waits for older transactions to end, and then for another
/// connection's lock on a table, before it gives up, as the embedded store waits for SQLite's.
const REWRITE_WAIT: Duration = Duration::from_secs(5);
/// How often it looks whether they have.
const REWRITE_POLL: Duration = Duration::from_millis(50);

/// The row kinds retention deletes, with the time column their cutoff applies to.
const EXPIRING_ROWS: [(&str, &str); 3] = [
    ("findings", "time"),
    ("dead_letters", "observed"),
    ("unresolved", "time"),
];

impl Lifecycle for PostgresStore {
    fn subject_records(
        &self,
        needles: &[String],
        limit: usize,
    ) -> Result<SubjectRecords, StoreError> {
        let needles = Needles::new(needles)?;
        if needles.is_empty() {
            return Ok(SubjectRecords::default());
        }
        let params = NeedleParams::new(&needles);
        self.read("find a subject's records in", |client, _| {
            subject_rows(client, &params, limit)
        })
    }

    /// Commits, then changes every row holding a needle in one transaction. Then it samples
    /// the tables' statistics again (`ANALYZE`: an earlier one, autovacuum's say, may have
    /// copied the person's values into `pg_statistic`), and rewrites the tables and
    /// `pg_statistic` (`VACUUM FULL`) so that no old version of a changed row stays in their
    /// pages. The rewrite takes each table's exclusive lock in turn, so other connections
    /// reading the store wait for it, and needs room on the server's disk for a copy of the
    /// largest table (the events, about 5 s for a million of them on a development machine).
    ///
    /// A row version stays in the rewritten table while some transaction might still read it,
    /// so the rewrite first waits, up to 5 s, for every transaction that began before it to
    /// end: in any database of the server if it has written (its id holds the horizon back
    /// everywhere), in this one if it only reads. Past that, or when a table stays locked
    /// past 5 s, the erasure fails with [`StoreError::WalInUse`]; the rows are erased by then,
    /// and running it again once that transaction has ended completes it. Readers are seen
    /// only where the store's role may see their activity (its own role's, or every one with
    /// `pg_read_all_stats`). `pg_statistic` is rewritten only when the role owns the database
    /// (the server skips it, warning, for any other role); then it keeps the old statistics in
    /// its free space until they are overwritten, as it does while a logical replication slot
    /// holds the catalog's horizon back.
    ///
    /// Beyond the database's tables, and the store's reach: the server's write-ahead log (and
    /// archived WAL) holds every change, the erased values too, until it is recycled; backups
    /// and replicas hold what they copied (a replica applies the erasure and the rewrite, but
    /// keeps its own WAL); the file system keeps the old files' blocks until they are reused;
    /// a server that logs statements with their parameters logs the needles.
    fn erase_subject(
        &mut self,
        needles: &[String],
        reason: &str,
    ) -> Result<ErasureReport, StoreError> {
        let needles = Needles::new(needles)?;
        let tombstone = tombstone_json(reason)?;
        needles.refuse_in(&tombstone, "the tombstone an erasure writes")?;
        needles.refuse_in(ERASED_FINDING_UID_PREFIX, "the uid of an erased finding")?;
        if needles.is_empty() {
            return Ok(ErasureReport::default());
        }
        self.commit()?;
        let params = NeedleParams::new(&needles);
        let report = self.own_transaction("erase a subject from", |transaction| {
            erase_rows(transaction, &needles, &params, &tombstone)
        })?;
        // A suppression may have been scrubbed.
        self.workspace.forget_suppressions();
        if report.digested_uids > 0 {
            self.note_digested_uids();
        }
        self.rewrite_personal_tables()?;
        Ok(report)
    }

    /// Expired rows are replaced or deleted in one transaction, then `VACUUM` marks their
    /// space free at once rather than at autovacuum's next pass. Unlike an erasure, this does
    /// not rewrite the tables: their bytes stay in that free space until new rows overwrite
    /// it, which a daily run over a large table could not afford to avoid.
    fn prune(
        &mut self,
        request: &RetentionRequest,
        dry_run: bool,
    ) -> Result<RetentionReport, StoreError> {
        request.validate()?;
        let cutoffs = Cutoffs::of(request)?;
        if dry_run {
            let report = self.read("count what retention would remove from", |client, _| {
                expire(client, &cutoffs, None)
            })?;
            return Ok(RetentionReport {
                dry_run: true,
                ..report
            });
        }
        self.commit()?;
        let tombstone = tombstone_json(RETENTION_REASON)?;
        let report = self.own_transaction("remove expired data from", |transaction| {
            expire(transaction, &cutoffs, Some(&tombstone))
        })?;
        let mut changed = Vec::new();
        if report.events.iter().sum::<u64>() + report.other_events > 0 {
            changed.push("events");
        }
        for ((table, _), removed) in
            EXPIRING_ROWS
                .iter()
                .zip([report.findings, report.dead_letters, report.unresolved])
        {
            if removed > 0 {
                changed.push(table);
            }
        }
        if !changed.is_empty() {
            self.outside_transaction("reclaim the space of expired rows in", |client| {
                Ok(client.batch_execute(&format!("VACUUM {}", changed.join(", ")))?)
            })?;
        }
        Ok(report)
    }
}

impl PostgresStore {
    /// Leaves no old version of a changed row in the pages of a table that holds people's
    /// data, nor in the planner's statistics.
    fn rewrite_personal_tables(&mut self) -> Result<(), StoreError> {
        let rewritten = self.outside_transaction("rewrite the tables of", |client| {
            client.batch_execute(&format!("SET lock_timeout = {}", REWRITE_WAIT.as_millis()))?;
            let rewritten = rewrite(client);
            // The session goes on writing events, which must wait for locks as long as it takes.
            let reset = client.batch_execute("RESET lock_timeout");
            let rewritten = rewritten?;
            reset?;
            Ok(rewritten)
        })?;
        if rewritten {
            Ok(())
        } else {
            Err(StoreError::WalInUse)
        }
    }
}

/// Samples the statistics again, waits for older transactions to end, and rewrites the
/// tables; false if it gave up waiting for them or for a lock.
fn rewrite(client: &mut Client) -> Result<bool, Failure> {
    if !lock_in_time(sample_statistics_again(client))? {
        return Ok(false);
    }
    // Every transaction up to here, those that replaced rows and statistics included, has an
    // id below this one.
    let boundary: String = client
        .query_one("SELECT pg_snapshot_xmax(pg_current_snapshot())::text", &[])?
        .try_get(0)?;
    let waited_since = Instant::now();
    while older_transactions_run(client, &boundary)? {
        if waited_since.elapsed() >= REWRITE_WAIT {
            return Ok(false);
        }
        std::thread::sleep(REWRITE_POLL);
    }
    let tables: Vec<&str> = personal_tables().map(|(table, _)| table).collect();
    // VACUUM cannot run in a transaction block, nor therefore in a query string of several
    // statements: it is the only statement of its call. For any role but a superuser or the
    // database's owner, the server skips pg_statistic with a warning.
    lock_in_time(client.batch_execute(&format!(
        "VACUUM FULL {}, pg_catalog.pg_statistic",
        tables.join(", ")
    )))
}

/// `ANALYZE`s the tables that hold people's data, so that the statistics the planner keeps
/// of their columns are sampled from what is left.
fn sample_statistics_again(client: &mut Client) -> Result<(), postgres::Error> {
    let tables: Vec<&str> = personal_tables().map(|(table, _)| table).collect();
    client.batch_execute(&format!("ANALYZE {}", tables.join(", ")))?;
    // ANALYZE of an empty table keeps the statistics it had, sampled from rows since erased.
    // Changing a column's type drops them, and to its own type costs nothing on an empty table.
    for (table, columns) in personal_tables() {
        let stale: bool = client
            .query_one(
                &format!(
                    "SELECT NOT EXISTS (SELECT 1 FROM {table})
                        AND EXISTS (SELECT 1 FROM pg_stats
                                    WHERE schemaname = current_schema() AND tablename = $1)"
                ),
                &[&table],
            )?
            .try_get(0)?;
        if stale {
            let alterations: Vec<String> = columns
                .iter()
                .map(|column| format!("ALTER COLUMN {column} TYPE bytea"))
                .collect();
            client.batch_execute(&format!("ALTER TABLE {table} {}", alterations.join(", ")))?;
        }
    }
    Ok(())
}

/// Whether a statement succeeded, false if it gave up waiting for a lock.
fn lock_in_time(result: Result<(), postgres::Error>) -> Result<bool, Failure> {
    match result {
        Ok(()) => Ok(true),
        Err(error) if error.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Whether something that began before the transaction id `boundary` may still read row
/// versions replaced before it, which `VACUUM FULL` would then keep: a transaction with an
/// id below it, in any database (prepared ones too), which every snapshot's horizon waits for;
/// a session of this database whose snapshot is older; a replication slot that holds the
/// horizon for a standby.
fn older_transactions_run(client: &mut Client, boundary: &str) -> Result<bool, Failure> {
    Ok(client
        .query_one(
            "SELECT pg_snapshot_xmin(pg_current_snapshot()) < $1::text::xid8
                 OR EXISTS (
                     SELECT 1 FROM pg_stat_activity
                     WHERE pid <> pg_backend_pid()
                       AND (datname = current_database() OR datid IS NULL)
                       AND age(backend_xmin) > age($1::text::xid8::xid)
                       -- A lazy VACUUM's snapshot holds no horizon back.
                       AND NOT (backend_type = 'autovacuum worker'
                                AND query LIKE 'autovacuum: VACUUM %'
                                AND query NOT LIKE 'autovacuum: VACUUM ANALYZE %'))
                 OR EXISTS (
                     SELECT 1 FROM pg_replication_slots
                     WHERE age(xmin) > age($1::text::xid8::xid))",
            &[&boundary],
        )?
        .try_get(0)?)
}

/// SQL true for an event row holding a needle. A digested uid is the hash of one, not one.
fn event_holds(params: &NeedleParams) -> String {
    let [uid, others @ ..] = EVENT_COLUMNS;
    format!(
        "((NOT uid_digested AND {}) OR {})",
        params.held_by(uid),
        params.held_by_any(&others)
    )
}

/// SQL true for the snapshot `alias` whose state or any source position holds a needle.
fn snapshot_holds(params: &NeedleParams, alias: &str) -> String {
    let state = SNAPSHOT_COLUMNS.map(|column| format!("{alias}.{column}"));
    let positions = SNAPSHOT_POSITION_COLUMNS.map(|column| format!("p.{column}"));
    format!(
        "({} OR EXISTS (SELECT 1 FROM snapshot_positions p
                        WHERE p.snapshot_id = {alias}.id AND {}))",
        params.held_by_any(&state.each_ref().map(String::as_str)),
        params.held_by_any(&positions.each_ref().map(String::as_str))
    )
}

/// The first `limit` of `rows`, which were fetched one past it; notes whether there were more.
fn first(rows: Vec<Row>, limit: usize, truncated: &mut bool) -> impl Iterator<Item = Row> {
    *truncated |= rows.len() > limit;
    rows.into_iter().take(limit)
}

fn subject_rows(
    client: &mut Client,
    params: &NeedleParams,
    limit: usize,
) -> Result<SubjectRecords, Failure> {
    // One past the limit tells whether a kind had more.
    let fetch = to_limit(limit).saturating_add(1);
    let values = params.with(&[&fetch]);
    let limit_param = format!("${}", params.next());
    let mut found = SubjectRecords::default();

    let rows = client.query(
        &format!(
            "SELECT position,
                    CASE WHEN uid_digested
                         THEN convert_to('sha256:' || encode(uid, 'hex'), 'UTF8')
                         ELSE uid END,
                    time, observed, source, class, person, late, json, tombstone
             FROM events WHERE {} ORDER BY position LIMIT {limit_param}",
            event_holds(params)
        ),
        &values,
    )?;
    for row in first(rows, limit, &mut found.truncated) {
        let person: Option<Vec<u8>> = row.try_get(6)?;
        found.events.push(SubjectEvent {
            position: unsigned(row.try_get(0)?, "event log position")?,
            uid: utf8(row.try_get(1)?, "events.uid")?,
            time: Ts::from_millis(row.try_get(2)?),
            observed: Ts::from_millis(row.try_get(3)?),
            source: utf8(row.try_get(4)?, "events.source")?,
            class: utf8(row.try_get(5)?, "events.class")?,
            person: person
                .map(|person| utf8(person, "events.person"))
                .transpose()?,
            late: row.try_get(7)?,
            json: utf8(row.try_get(8)?, "events.json")?,
            erased: row.try_get(9)?,
        });
    }

    let rows = client.query(
        &format!(
            "SELECT uid, rule, time, person, severity, json FROM findings
             WHERE {} ORDER BY time, uid LIMIT {limit_param}",
            params.held_by_any(&FINDING_COLUMNS)
        ),
        &values,
    )?;
    for row in first(rows, limit, &mut found.truncated) {
        let person: Option<Vec<u8>> = row.try_get(3)?;
        found.findings.push(StoredFinding {
            uid: utf8(row.try_get(0)?, "findings.uid")?,
            rule: utf8(row.try_get(1)?, "findings.rule")?,
            time: Ts::from_millis(row.try_get(2)?),
            person: person
                .map(|person| utf8(person, "findings.person"))
                .transpose()?,
            severity: utf8(row.try_get(4)?, "findings.severity")?,
            json: utf8(row.try_get(5)?, "findings.json")?,
        });
    }

    let rows = client.query(
        &format!(
            "SELECT source, position, observed, reason, raw FROM dead_letters
             WHERE {} ORDER BY id LIMIT {limit_param}",
            params.held_by_any(&DEAD_LETTER_COLUMNS)
        ),
        &values,
    )?;
    for row in first(rows, limit, &mut found.truncated) {
        found.dead_letters.push(DeadLetter {
            source: utf8(row.try_get(0)?, "dead_letters.source")?,
            position: utf8(row.try_get(1)?, "dead_letters.position")?,
            observed: Ts::from_millis(row.try_get(2)?),
            reason: utf8(row.try_get(3)?, "dead_letters.reason")?,
            raw: row.try_get(4)?,
        });
    }

    let rows = client.query(
        &format!(
            "SELECT event_uid, time, source, identifiers FROM unresolved
             WHERE {} ORDER BY time, event_uid LIMIT {limit_param}",
            params.held_by_any(&UNRESOLVED_COLUMNS)
        ),
        &values,
    )?;
    for row in first(rows, limit, &mut found.truncated) {
        found.unresolved.push(Unresolved {
            event_uid: utf8(row.try_get(0)?, "unresolved.event_uid")?,
            time: Ts::from_millis(row.try_get(1)?),
            source: utf8(row.try_get(2)?, "unresolved.source")?,
            identifiers: utf8(row.try_get(3)?, "unresolved.identifiers")?,
        });
    }

    let rows = client.query(
        &format!(
            "SELECT collection, id, json FROM documents
             WHERE {} ORDER BY collection, id LIMIT {limit_param}",
            params.held_by_any(&DOCUMENT_COLUMNS)
        ),
        &values,
    )?;
    for row in first(rows, limit, &mut found.truncated) {
        found.documents.push(SubjectDocument {
            collection: utf8(row.try_get(0)?, "documents.collection")?,
            id: utf8(row.try_get(1)?, "documents.id")?,
            json: utf8(row.try_get(2)?, "documents.json")?,
        });
    }

    let snapshots: i64 = client
        .query_one(
            &format!(
                "SELECT count(*) FROM snapshots s WHERE {}",
                snapshot_holds(params, "s")
            ),
            &params.with(&[]),
        )?
        .try_get(0)?;
    found.snapshots = unsigned(snapshots, "count")?;
    Ok(found)
}

/// Changes every row holding a needle, as [`Lifecycle::erase_subject`] says; returns what it
/// changed.
fn erase_rows(
    transaction: &mut Transaction<'_>,
    needles: &Needles,
    params: &NeedleParams,
    tombstone: &str,
) -> Result<ErasureReport, Failure> {
    let mut report = ErasureReport::default();
    let tombstone_bytes = tombstone.as_bytes();

    // Which columns named the person is decided on the row as it was: the UPDATE's RETURNING
    // sees only the new one.
    let row = transaction.query_one(
        &format!(
            "WITH matched AS (
                 SELECT position,
                        NOT uid_digested AND {uid} AS uid_named,
                        {source} AS source_named,
                        {class} AS class_named
                 FROM events WHERE {row}
             ), erased AS (
                 UPDATE events SET
                     uid = CASE WHEN matched.uid_named THEN sha256(events.uid)
                                ELSE events.uid END,
                     uid_digested = events.uid_digested OR matched.uid_named,
                     source = CASE WHEN matched.source_named THEN ''::bytea
                                   ELSE events.source END,
                     class = CASE WHEN matched.class_named THEN ''::bytea
                                  ELSE events.class END,
                     person = NULL,
                     json = ${tombstone},
                     tombstone = true
                 FROM matched
                 WHERE events.position = matched.position
                 RETURNING matched.uid_named
             )
             SELECT count(*), count(*) FILTER (WHERE uid_named) FROM erased",
            uid = params.held_by("uid"),
            source = params.held_by("source"),
            class = params.held_by("class"),
            row = event_holds(params),
            tombstone = params.next(),
        ),
        &params.with(&[&tombstone_bytes]),
    )?;
    report.events = unsigned(row.try_get(0)?, "count")?;
    report.digested_uids = unsigned(row.try_get(1)?, "count")?;

    // A finding's new uid comes from `erased_finding_uid`, in Rust: one row at a time.
    let matched = transaction.query(
        &format!(
            "SELECT uid, rule, severity FROM findings WHERE {}",
            params.held_by_any(&FINDING_COLUMNS)
        ),
        &params.with(&[]),
    )?;
    // The workspace first, while the findings' uids are as its rows have them.
    let erased_uids = matched
        .iter()
        .map(|row| row.try_get::<_, Vec<u8>>(0))
        .collect::<Result<Vec<_>, _>>()?;
    crate::workspace::erase_subject(transaction, needles, params, &erased_uids)?;
    if !matched.is_empty() {
        let replace = transaction.prepare(
            "UPDATE findings SET uid = $1, rule = $2, person = NULL, severity = $3, json = $4
             WHERE sha256(uid) = sha256($5) AND uid = $5",
        )?;
        let delete = transaction
            .prepare("DELETE FROM findings WHERE sha256(uid) = sha256($1) AND uid = $1")?;
        for row in matched {
            let uid = utf8(row.try_get(0)?, "findings.uid")?;
            let rule = utf8(row.try_get(1)?, "findings.rule")?;
            let severity = utf8(row.try_get(2)?, "findings.severity")?;
            let kept_uid = if needles.found_in(uid.as_bytes()) {
                erased_finding_uid(&uid, needles)
            } else {
                Some(uid.clone())
            };
            match kept_uid {
                Some(kept_uid) => transaction.execute(
                    &replace,
                    &[
                        &kept_uid.as_bytes(),
                        &cleaned(needles, &rule),
                        &cleaned(needles, &severity),
                        &tombstone_bytes,
                        &uid.as_bytes(),
                    ],
                )?,
                // Every digest tried spelled a needle: the row cannot stay.
                None => transaction.execute(&delete, &[&uid.as_bytes()])?,
            };
            report.findings += 1;
        }
    }

    let deletions: [(&str, &[&str], &mut u64); 3] = [
        (
            "dead_letters",
            &DEAD_LETTER_COLUMNS,
            &mut report.dead_letters,
        ),
        ("unresolved", &UNRESOLVED_COLUMNS, &mut report.unresolved),
        ("documents", &DOCUMENT_COLUMNS, &mut report.documents),
    ];
    for (table, columns, count) in deletions {
        *count = transaction.execute(
            &format!("DELETE FROM {table} WHERE {}", params.held_by_any(columns)),
            &params.with(&[]),
        )?;
    }
    // Their source positions go with them (ON DELETE CASCADE).
    report.snapshots = transaction.execute(
        &format!(
            "DELETE FROM snapshots s WHERE {}",
            snapshot_holds(params, "s")
        ),
        &params.with(&[]),
    )?;
    Ok(report)
}

/// `text` as bytes, or none if it holds a needle.
fn cleaned<'t>(needles: &Needles, text: &'t str) -> &'t [u8] {
    if needles.found_in(text.as_bytes()) {
        &[]
    } else {
        text.as_bytes()
    }
}

/// A [`RetentionRequest`] as query parameters.
struct Cutoffs {
    /// Every listed class, the request entry that lists it and that entry's cutoff (ms).
    classes: Vec<Vec<u8>>,
    entries: Vec<i32>,
    befores: Vec<i64>,
    entry_count: usize,
    other_before: Option<i64>,
    /// No event at or after it expires; `None` when no event does.
    latest: Option<i64>,
    rows_before: [Option<i64>; 3],
}

impl Cutoffs {
    fn of(request: &RetentionRequest) -> Result<Cutoffs, StoreError> {
        let mut cutoffs = Cutoffs {
            classes: Vec::new(),
            entries: Vec::new(),
            befores: Vec::new(),
            entry_count: request.events_before.len(),
            other_before: request.other_events_before.map(Ts::millis),
            latest: request.latest_event_cutoff().map(Ts::millis),
            rows_before: [
                request.findings_before.map(Ts::millis),
                request.dead_letters_before.map(Ts::millis),
                request.unresolved_before.map(Ts::millis),
            ],
        };
        for (entry, (classes, before)) in request.events_before.iter().enumerate() {
            let entry = i32::try_from(entry).map_err(|_| StoreError::InvalidRequest {
                reason: "too many event retention entries".to_owned(),
            })?;
            for class in classes {
                cutoffs.classes.push(class.as_bytes().to_vec());
                cutoffs.entries.push(entry);
                cutoffs.befores.push(before.millis());
            }
        }
        Ok(cutoffs)
    }
}

/// Tombstones the expired events with `tombstone` and deletes the expired rows, or with
/// `None` only counts them.
fn expire(
    client: &mut impl GenericClient,
    cutoffs: &Cutoffs,
    tombstone: Option<&str>,
) -> Result<RetentionReport, Failure> {
    let mut report = RetentionReport {
        events: vec![0; cutoffs.entry_count],
        ..RetentionReport::default()
    };
    if let Some(latest) = cutoffs.latest {
        // A class listed in the request has its entry's cutoff, any other the cutoff for other
        // classes (none if NULL); `validate` has made sure a class is listed once.
        let cutoff_table = "cutoffs AS (SELECT * FROM unnest($1::bytea[], $2::int4[], $3::int8[])
                                    AS listed (class, entry, before))";
        let expired = "NOT events.tombstone AND events.time < $5
             AND events.time < coalesce(
                 (SELECT before FROM cutoffs WHERE cutoffs.class = events.class), $4)";
        let sql = match tombstone {
            None => format!(
                "WITH {cutoff_table}
                 SELECT cutoffs.entry, count(*)
                 FROM events LEFT JOIN cutoffs ON cutoffs.class = events.class
                 WHERE {expired}
                 GROUP BY cutoffs.entry"
            ),
            Some(_) => format!(
                "WITH {cutoff_table}, expired AS (
                     UPDATE events SET person = NULL, json = $6, tombstone = true
                     WHERE {expired}
                     RETURNING events.class
                 )
                 SELECT cutoffs.entry, count(*)
                 FROM expired LEFT JOIN cutoffs ON cutoffs.class = expired.class
                 GROUP BY cutoffs.entry"
            ),
        };
        let tombstone_bytes = tombstone.map(str::as_bytes);
        let rows = match tombstone_bytes {
            None => client.query(
                &sql,
                &[
                    &cutoffs.classes,
                    &cutoffs.entries,
                    &cutoffs.befores,
                    &cutoffs.other_before,
                    &latest,
                ],
            )?,
            Some(tombstone) => client.query(
                &sql,
                &[
                    &cutoffs.classes,
                    &cutoffs.entries,
                    &cutoffs.befores,
                    &cutoffs.other_before,
                    &latest,
                    &tombstone,
                ],
            )?,
        };
        for row in rows {
            let entry: Option<i32> = row.try_get(0)?;
            let count = unsigned(row.try_get(1)?, "count")?;
            let slot = entry
                .and_then(|entry| usize::try_from(entry).ok())
                .and_then(|entry| report.events.get_mut(entry));
            match slot {
                Some(slot) => *slot += count,
                None => report.other_events += count,
            }
        }
    }
    let counts = [
        &mut report.findings,
        &mut report.dead_letters,
        &mut report.unresolved,
    ];
    for (((table, column), before), count) in
        EXPIRING_ROWS.iter().zip(cutoffs.rows_before).zip(counts)
    {
        let Some(before) = before else { continue };
        *count = match tombstone {
            None => unsigned(
                client
                    .query_one(
                        &format!("SELECT count(*) FROM {table} WHERE {column} < $1"),
                        &[&before],
                    )?
                    .try_get(0)?,
                "count",
            )?,
            Some(_) => client.execute(
                &format!("DELETE FROM {table} WHERE {column} < $1"),
                &[&before],
            )?,
        };
    }
    Ok(report)
}
