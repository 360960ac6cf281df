//! Throughput measurements for `seam bench audit`. The only place this crate reads a clock,
//! and a monotonic one: times in the records are synthetic.

use std::path::Path;
use std::time::Instant;

use seam_model::Ts;

use crate::AuditError;
use crate::log::AuditLog;
use crate::record::{AuditAction, AuditEntry};
use crate::verify::{VerifyOptions, verify};

/// What [`bench_append`] measured.
#[derive(Clone, Debug, PartialEq)]
pub struct AppendStats {
    pub records: u64,
    /// Records between syncs.
    pub sync_every: u64,
    /// Bytes in the segments afterwards.
    pub bytes: u64,
    pub seconds: f64,
    pub records_per_second: f64,
}

/// Appends `records` typical records (a person read with subject, purpose and a small
/// detail, about 420 bytes a line) to a new audit log in `data_dir`, syncing every
/// `sync_every` and checkpointing at the end, and times it all. `data_dir` should be empty:
/// the records go after any already there.
pub fn bench_append(
    data_dir: &Path,
    records: u64,
    sync_every: u64,
) -> Result<AppendStats, AuditError> {
    let sync_every = sync_every.max(1);
    let start_time = Ts::from_secs(1_772_442_900);
    let started = Instant::now();
    let mut log = AuditLog::open(data_dir)?;
    for n in 0..records {
        let entry = AuditEntry::new(format!("u-{:08x}", n % 97), AuditAction::PersonRead)
            .subject(format!("p-{:016x}", n.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
            .purpose("investigating a tailgating finding at the north entrance")
            .detail(serde_json::json!({
                "finding": format!("f-{:012x}", n / 10),
                "fields": ["badge", "zone", "presence"],
            }));
        let millis = i64::try_from(n).unwrap_or(i64::MAX).saturating_mul(10);
        log.append(start_time.plus_millis(millis), entry)?;
        if (n + 1) % sync_every == 0 {
            log.sync()?;
        }
    }
    let millis = i64::try_from(records)
        .unwrap_or(i64::MAX)
        .saturating_mul(10);
    log.close(start_time.plus_millis(millis))?;
    let seconds = started.elapsed().as_secs_f64();
    let bytes = segment_bytes(data_dir)?;
    Ok(AppendStats {
        records,
        sync_every,
        bytes,
        seconds,
        records_per_second: rate(records, seconds),
    })
}

/// What [`bench_verify`] measured.
#[derive(Clone, Debug, PartialEq)]
pub struct VerifyStats {
    pub records: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub records_per_second: f64,
    pub intact: bool,
}

/// Verifies the audit log in `data_dir` (say, one [`bench_append`] wrote) and times it.
pub fn bench_verify(data_dir: &Path) -> Result<VerifyStats, AuditError> {
    let started = Instant::now();
    let report = verify(data_dir, &VerifyOptions::default())?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(VerifyStats {
        records: report.records,
        bytes: segment_bytes(data_dir)?,
        seconds,
        records_per_second: rate(report.records, seconds),
        intact: report.is_intact(),
    })
}

fn rate(records: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        records as f64 / seconds
    } else {
        0.0
    }
}

fn segment_bytes(data_dir: &Path) -> Result<u64, AuditError> {
    let segments = crate::files::list_segments(&crate::files::audit_dir(data_dir))?;
    let mut total = 0;
    for segment in segments {
        total += std::fs::metadata(&segment.path)
            .map_err(crate::io_error("read", &segment.path))?
            .len();
    }
    Ok(total)
}
