//! [`PostgresAuditStorage`]: the audit log's record and checkpoint lines as rows of
//! `audit_records` and `audit_checkpoints`, for a deployment whose store is PostgreSQL.
//!
//! The lines are the files' lines byte for byte (without their newline), so the chain, the
//! checkpoints and what verify finds are the same; the signing key and the writer's lock stay
//! in the data directory ([`seam_audit::AuditLog::open_on`]), away from the data they vouch
//! for. The storage has a connection of its own: the event store's open transaction must not
//! hold back the audit, nor its rollback take audit records with it. Appends are buffered and
//! written by binary `COPY`, each batch its own transaction, so a sync is a commit; reads page
//! through a cursor, so a log of millions of rows is never held in memory.

use std::io;
use std::ops::ControlFlow;
use std::path::PathBuf;

use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::{Client, IsolationLevel};
use seam_audit::{
    Anchor, AnchorLine, AuditError, AuditRecord, AuditStorage, Checkpoint, CheckpointLine,
    LinePlace, MAX_LINE_BYTES, StoredAnchors, StoredCheckpoints, StoredLine, WriterStart,
};
use seam_store::StoreError;

use crate::connection::Target;
use crate::schema::{self, AUDIT_WRITER_LOCK, LOCK_CLASS};

/// The table of records: what a problem in it names as its file.
pub const AUDIT_RECORDS_TABLE: &str = "audit_records";
/// The table of checkpoints.
pub const AUDIT_CHECKPOINTS_TABLE: &str = "audit_checkpoints";
/// The table of anchors, written by retention before it deletes records.
pub const AUDIT_ANCHORS_TABLE: &str = "audit_anchors";

/// Buffered bytes of records before they are written without waiting for a sync: a caller
/// that syncs seldom must not grow the buffer without end.
const WRITE_BUFFER: usize = 1024 * 1024;
/// Rows fetched at a time when reading the log.
const READ_PAGE: i32 = 10_000;

/// The binary COPY row of a record.
const RECORD_COLUMNS: [Type; 2] = [Type::INT8, Type::BYTEA];

/// The audit log's lines in one PostgreSQL database.
pub struct PostgresAuditStorage {
    target: Target,
    client: Client,
    /// Records appended since the last write: seq and line without its newline.
    pending: Vec<(i64, Vec<u8>)>,
    pending_bytes: usize,
}

impl std::fmt::Debug for PostgresAuditStorage {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PostgresAuditStorage")
            .field("location", &self.target.name)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

/// Connects to the database `url` names (`postgres://user@host:port/db`) and creates or
/// migrates the audit tables: the storage to give [`seam_audit::AuditLog::open_on`],
/// [`seam_audit::verify_on`] or [`seam_audit::export_on`].
pub fn audit_storage(url: &str) -> Result<Box<dyn AuditStorage>, AuditError> {
    Ok(Box::new(PostgresAuditStorage::open(url)?))
}

impl PostgresAuditStorage {
    /// See [`audit_storage`].
    pub fn open(url: &str) -> Result<PostgresAuditStorage, AuditError> {
        let target = Target::parse(url).map_err(|error| store_error(error, "<connection>"))?;
        let mut client = target
            .connect()
            .map_err(|error| store_error(error, &target.name))?;
        // A sync promises durability whatever the server's or the role's default: a session
        // setting, so the event store's connection keeps its own.
        client
            .batch_execute("SET synchronous_commit = on")
            .map_err(server_error("configure the session on", &target))?;
        schema::migrate_audit(&mut client, &target.name)
            .map_err(|error| store_error(error, &target.name))?;
        Ok(PostgresAuditStorage {
            target,
            client,
            pending: Vec::new(),
            pending_bytes: 0,
        })
    }

    /// Writes the buffered records in one transaction (a `COPY` commits as it ends).
    fn write_pending(&mut self) -> Result<(), AuditError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let result = copy_records(&mut self.client, &self.pending);
        // Written or not, the rows are no longer the writer's to retry: after an error the
        // log stops until reopened, and reopening reads what the database has.
        self.pending.clear();
        self.pending_bytes = 0;
        result.map_err(server_error("append audit records to", &self.target))
    }

    /// The last record's seq and stored hash; a last row that is not a record is refused
    /// (rows are written whole, so it was put there, and verify will say so).
    fn read_head(&mut self) -> Result<Option<(u64, [u8; 32])>, AuditError> {
        let row = self
            .client
            .query_opt(
                "SELECT seq, line FROM audit_records ORDER BY seq DESC LIMIT 1",
                &[],
            )
            .map_err(server_error("read the audit head of", &self.target))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (key, line): (i64, Vec<u8>) = row
            .try_get(0)
            .and_then(|key| Ok((key, row.try_get(1)?)))
            .map_err(server_error("read the audit head of", &self.target))?;
        let record = AuditRecord::from_line(&line).map_err(|error| AuditError::BadRecord {
            reason: format!(
                "the last row of {AUDIT_RECORDS_TABLE} (seq {key}) in {} is not a record ({error}): verify the log",
                self.target.name
            ),
        })?;
        Ok(Some((record.seq, record.hash)))
    }

    /// The last checkpoint line that is a checkpoint.
    fn read_last_checkpoint(&mut self) -> Result<Option<Checkpoint>, AuditError> {
        let rows = self
            .client
            .query("SELECT line FROM audit_checkpoints ORDER BY id DESC", &[])
            .map_err(server_error("read the audit checkpoints of", &self.target))?;
        for row in rows {
            let line: Vec<u8> = row
                .try_get(0)
                .map_err(server_error("read the audit checkpoints of", &self.target))?;
            if let Ok(checkpoint) = Checkpoint::from_line(&line) {
                return Ok(Some(checkpoint));
            }
        }
        Ok(None)
    }
}

impl AuditStorage for PostgresAuditStorage {
    fn describe(&self) -> String {
        self.target.name.clone()
    }

    fn open_writer(&mut self) -> Result<WriterStart, AuditError> {
        let locked: bool = self
            .client
            .query_one(
                "SELECT pg_try_advisory_lock($1, $2)",
                &[&LOCK_CLASS, &AUDIT_WRITER_LOCK],
            )
            .and_then(|row| row.try_get(0))
            .map_err(server_error("lock the audit log of", &self.target))?;
        if !locked {
            return Err(AuditError::Locked {
                path: PathBuf::from(&self.target.name),
            });
        }
        Ok(WriterStart {
            head: self.read_head()?,
            last_checkpoint: self.read_last_checkpoint()?,
            // Rows are written whole: there is no torn tail to cut.
            recovered: Vec::new(),
        })
    }

    fn append_record(&mut self, seq: u64, line: &[u8]) -> Result<(), AuditError> {
        let key = i64::try_from(seq).map_err(|_| AuditError::SequenceExhausted)?;
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        self.pending_bytes += line.len();
        self.pending.push((key, line.to_vec()));
        if self.pending_bytes >= WRITE_BUFFER {
            self.write_pending()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), AuditError> {
        self.write_pending()
    }

    fn sync(&mut self) -> Result<(), AuditError> {
        self.write_pending()
    }

    fn append_checkpoint(&mut self, line: &[u8]) -> Result<(), AuditError> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        self.client
            .execute("INSERT INTO audit_checkpoints (line) VALUES ($1)", &[&line])
            .map(drop)
            .map_err(server_error("append an audit checkpoint to", &self.target))
    }

    fn read_checkpoints(&mut self) -> Result<StoredCheckpoints, AuditError> {
        let rows = self
            .client
            .query("SELECT id, line FROM audit_checkpoints ORDER BY id", &[])
            .map_err(server_error("read the audit checkpoints of", &self.target))?;
        let mut lines: Vec<CheckpointLine> = Vec::with_capacity(rows.len());
        for row in rows {
            let (id, line): (i64, &[u8]) = row
                .try_get(0)
                .and_then(|id| Ok((id, row.try_get(1)?)))
                .map_err(server_error("read the audit checkpoints of", &self.target))?;
            let parsed = if line.len() > MAX_LINE_BYTES {
                Err("the line is too long to be a checkpoint".to_string())
            } else {
                Checkpoint::from_line(line).map_err(|error| error.to_string())
            };
            lines.push((u64::try_from(id).unwrap_or(0), parsed));
        }
        Ok(StoredCheckpoints {
            name: AUDIT_CHECKPOINTS_TABLE.to_string(),
            lines,
        })
    }

    fn append_anchor(&mut self, line: &[u8]) -> Result<(), AuditError> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        self.client
            .execute("INSERT INTO audit_anchors (line) VALUES ($1)", &[&line])
            .map(drop)
            .map_err(server_error("append an audit anchor to", &self.target))
    }

    fn read_anchors(&mut self) -> Result<StoredAnchors, AuditError> {
        let rows = self
            .client
            .query("SELECT id, line FROM audit_anchors ORDER BY id", &[])
            .map_err(server_error("read the audit anchors of", &self.target))?;
        let mut lines: Vec<AnchorLine> = Vec::with_capacity(rows.len());
        for row in rows {
            let (id, line): (i64, &[u8]) = row
                .try_get(0)
                .and_then(|id| Ok((id, row.try_get(1)?)))
                .map_err(server_error("read the audit anchors of", &self.target))?;
            let parsed = if line.len() > MAX_LINE_BYTES {
                Err("the line is too long to be an anchor".to_string())
            } else {
                Anchor::from_line(line).map_err(|error| error.to_string())
            };
            lines.push((u64::try_from(id).unwrap_or(0), parsed));
        }
        Ok(StoredAnchors {
            name: AUDIT_ANCHORS_TABLE.to_string(),
            lines,
        })
    }

    /// Any row but the last: the record at or before `through` and its hash.
    fn prune_point(&mut self, through: u64) -> Result<Option<(u64, [u8; 32])>, AuditError> {
        let through = i64::try_from(through).unwrap_or(i64::MAX);
        let row = self
            .client
            .query_opt(
                "SELECT seq, line FROM audit_records
                 WHERE seq <= $1 AND seq < (SELECT max(seq) FROM audit_records)
                 ORDER BY seq DESC LIMIT 1",
                &[&through],
            )
            .map_err(server_error("read the audit records of", &self.target))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let (key, line): (i64, Vec<u8>) = row
            .try_get(0)
            .and_then(|key| Ok((key, row.try_get(1)?)))
            .map_err(server_error("read the audit records of", &self.target))?;
        let record = AuditRecord::from_line(&line).map_err(|error| AuditError::BadRecord {
            reason: format!(
                "the row of {AUDIT_RECORDS_TABLE} with seq {key} in {} is not a record ({error}): verify the log",
                self.target.name
            ),
        })?;
        Ok(Some((record.seq, record.hash)))
    }

    /// Deletes the rows up to `through` in one transaction: all of them or none.
    fn drop_records_through(&mut self, through: u64) -> Result<u64, AuditError> {
        let through = i64::try_from(through).unwrap_or(i64::MAX);
        self.client
            .execute("DELETE FROM audit_records WHERE seq <= $1", &[&through])
            .map_err(server_error("delete audit records of", &self.target))
    }

    fn read_records(
        &mut self,
        visit: &mut dyn FnMut(&LinePlace<'_>, StoredLine<'_>) -> ControlFlow<()>,
    ) -> Result<usize, AuditError> {
        let target = &self.target;
        let read_error = server_error("read the audit records of", target);
        // One snapshot for every page, so that the pages join up while a writer appends.
        let mut transaction = self
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(server_error("read the audit records of", target))?;
        let portal = transaction
            .bind("SELECT seq, line FROM audit_records ORDER BY seq", &[])
            .map_err(server_error("read the audit records of", target))?;
        let mut offset = 0u64;
        loop {
            let rows = transaction
                .query_portal(&portal, READ_PAGE)
                .map_err(server_error("read the audit records of", target))?;
            let fetched = rows.len();
            for row in &rows {
                let (key, line): (i64, &[u8]) = row
                    .try_get(0)
                    .and_then(|key| Ok((key, row.try_get(1)?)))
                    .map_err(server_error("read the audit records of", target))?;
                let end = offset + line.len() as u64 + 1;
                let place = LinePlace {
                    unit: AUDIT_RECORDS_TABLE,
                    number: u64::try_from(key).unwrap_or(0),
                    start: offset,
                    end,
                    may_be_torn: false,
                };
                offset = end;
                let line = if line.len() > MAX_LINE_BYTES {
                    StoredLine::TooLong
                } else {
                    StoredLine::Complete(line)
                };
                if visit(&place, line).is_break() {
                    return transaction.commit().map(|()| 1).map_err(read_error);
                }
            }
            if fetched < usize::try_from(READ_PAGE).unwrap_or(usize::MAX) {
                break;
            }
        }
        transaction.commit().map(|()| 1).map_err(read_error)
    }
}

fn copy_records(client: &mut Client, rows: &[(i64, Vec<u8>)]) -> Result<(), postgres::Error> {
    let sink = client.copy_in("COPY audit_records (seq, line) FROM STDIN (FORMAT binary)")?;
    let mut writer = BinaryCopyInWriter::new(sink, &RECORD_COLUMNS);
    for (seq, line) in rows {
        writer.write(&[seq, line])?;
    }
    writer.finish().map(drop)
}

/// A server's failure as the audit reports I/O: the action, the server named without its
/// password, and the client's error (with the server's message) as the source.
fn server_error(
    action: &'static str,
    target: &Target,
) -> impl FnOnce(postgres::Error) -> AuditError {
    let path = PathBuf::from(&target.name);
    move |error| {
        let kind = if error.is_closed() {
            io::ErrorKind::ConnectionAborted
        } else {
            io::ErrorKind::Other
        };
        AuditError::Io {
            action,
            path,
            source: io::Error::new(kind, error),
        }
    }
}

/// A failure of the store's shared connection and migration code, as the audit reports it.
fn store_error(error: StoreError, target: &str) -> AuditError {
    match error {
        StoreError::Io {
            action,
            path,
            source,
        } => AuditError::Io {
            action,
            path,
            source,
        },
        other => AuditError::Io {
            action: "open the audit tables of",
            path: PathBuf::from(target),
            source: io::Error::other(other.to_string()),
        },
    }
}
