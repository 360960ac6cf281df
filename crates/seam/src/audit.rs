//! `seam audit verify|export|verify-export` and `seam bench audit`: the tamper-evident audit
//! log of `seam-audit`, for an operator and an auditor.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use seam_audit::{PublicKey, VerifyOptions};

use crate::error::CliError;

fn audit_error(e: seam_audit::AuditError) -> CliError {
    CliError::Failed(e.to_string())
}

/// A trusted key given as a file (`signing.pub` kept elsewhere) or as 64 hex digits.
fn trusted_key(key: Option<&str>) -> Result<Option<PublicKey>, CliError> {
    let Some(key) = key else { return Ok(None) };
    let path = Path::new(key);
    if path.exists() {
        PublicKey::read(path).map(Some).map_err(audit_error)
    } else {
        PublicKey::from_hex(key).map(Some).map_err(audit_error)
    }
}

/// Exit 0 when the log is intact; 1 naming the first problem otherwise (2: unreadable).
pub fn verify(
    data_dir: &Path,
    store: Option<&str>,
    witness: Option<&Path>,
    key: Option<&str>,
    json: bool,
) -> Result<ExitCode, CliError> {
    // An HTTP witness: its copy is fetched into a scratch file first.
    let fetched = match witness.and_then(Path::to_str) {
        Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
            let token = std::env::var("SEAM_AUDIT_WITNESS_TOKEN")
                .ok()
                .map(seam_serve::Secret::new);
            let copy = seam_serve::HttpWitness::new(url, token)
                .and_then(|witness| witness.fetch())
                .map_err(|e| CliError::Failed(format!("audit witness `{url}`: {e}")))?;
            let scratch =
                std::env::temp_dir().join(format!("seam-audit-witness-{}.log", std::process::id()));
            std::fs::write(&scratch, copy)
                .map_err(|e| CliError::Failed(format!("{}: {e}", scratch.display())))?;
            Some(scratch)
        }
        _ => None,
    };
    let options = VerifyOptions {
        witness: fetched.clone().or_else(|| witness.map(Path::to_path_buf)),
        trusted_key: trusted_key(key)?,
    };
    let mut storage = crate::stores::audit_storage(data_dir, store)?;
    let report = seam_audit::verify_on(&mut *storage, data_dir, &options);
    if let Some(scratch) = fetched {
        let _ = std::fs::remove_file(scratch);
    }
    let report = report.map_err(audit_error)?;
    let mut stdout = std::io::stdout().lock();
    if json {
        let value = serde_json::json!({
            "intact": report.is_intact(),
            "records": report.records,
            "last_seq": report.last_seq,
            "checkpoints": report.checkpoints,
            "witnessed": report.witnessed,
            "unprotected_records": report.unprotected_records(),
            "problems": report.problems,
        });
        writeln!(stdout, "{value}").map_err(CliError::Output)?;
    } else if let Some(problem) = report.first_problem() {
        writeln!(stdout, "audit log NOT intact: {problem}").map_err(CliError::Output)?;
        let more = report.problems.len().saturating_sub(1);
        if more > 0 {
            writeln!(stdout, "({more} more problems after it; --json lists them)")
                .map_err(CliError::Output)?;
        }
    } else {
        writeln!(
            stdout,
            "audit log intact: {} records, {} checkpoints{}; {} records after the last checkpoint",
            report.records,
            report.checkpoints,
            if witness.is_some() {
                format!(", {} witnessed", report.witnessed)
            } else {
                String::new()
            },
            report.unprotected_records()
        )
        .map_err(CliError::Output)?;
    }
    Ok(if report.is_intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Writes the records of `[from, to)` and the checkpoints that prove them.
pub fn export(
    data_dir: &Path,
    store: Option<&str>,
    from: &str,
    to: &str,
    out: Option<&Path>,
) -> Result<ExitCode, CliError> {
    let time = |flag: &str, text: &str| {
        seam_model::Ts::parse(text).map_err(|e| CliError::Failed(format!("{flag} `{text}`: {e}")))
    };
    let (from, to) = (time("--from", from)?, time("--to", to)?);
    let mut storage = crate::stores::audit_storage(data_dir, store)?;
    let summary = match out {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|e| {
                CliError::Failed(format!("cannot create `{}`: {e}", path.display()))
            })?;
            let mut writer = std::io::BufWriter::new(file);
            let summary = seam_audit::export_on(&mut *storage, data_dir, from, to, &mut writer)
                .map_err(audit_error)?;
            writer.flush().map_err(CliError::Output)?;
            summary
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            seam_audit::export_on(&mut *storage, data_dir, from, to, &mut stdout)
                .map_err(audit_error)?
        }
    };
    eprintln!(
        "exported {} records and {} checkpoints (key {})",
        summary.records,
        summary.checkpoints,
        summary.header.key_id.as_deref().unwrap_or("none")
    );
    Ok(ExitCode::SUCCESS)
}

/// Checks an export on its own, with the key the auditor trusts.
pub fn verify_export(file: &Path, key: &str) -> Result<ExitCode, CliError> {
    let Some(key) = trusted_key(Some(key))? else {
        return Err(CliError::Failed("--key is required".into()));
    };
    let reader = std::io::BufReader::new(
        std::fs::File::open(file)
            .map_err(|e| CliError::Failed(format!("cannot read `{}`: {e}", file.display())))?,
    );
    let report = seam_audit::verify_export(reader, &key).map_err(audit_error)?;
    let mut stdout = std::io::stdout().lock();
    match report.problems.first() {
        Some(problem) => {
            writeln!(stdout, "export NOT intact: {problem}").map_err(CliError::Output)?;
            Ok(ExitCode::from(1))
        }
        None => {
            writeln!(
                stdout,
                "export intact: {} records, {} checkpoints verified with key {}",
                report.records,
                report.checkpoints,
                key.key_id()
            )
            .map_err(CliError::Output)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `seam bench audit`: appends then verifies `records` records in a scratch directory.
pub fn bench(records: u64, sync_every: u64, json: bool) -> Result<ExitCode, CliError> {
    let dir = std::env::temp_dir().join(format!("seam-bench-audit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let append = seam_audit::bench_append(&dir, records, sync_every.max(1)).map_err(audit_error)?;
    let verify = seam_audit::bench_verify(&dir).map_err(audit_error)?;
    let _ = std::fs::remove_dir_all(&dir);
    let report = serde_json::json!({
        "benchmark": "audit",
        "records": append.records,
        "sync_every": append.sync_every,
        "bytes": append.bytes,
        "append_seconds": append.seconds,
        "appends_per_sec": append.records_per_second.round(),
        "verify_seconds": verify.seconds,
        "verified_per_sec": verify.records_per_second.round(),
        "intact": verify.intact,
    });
    if json {
        say!("{report}");
    } else if let Some(fields) = report.as_object() {
        for (name, value) in fields {
            say!("{name:>20}  {value}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
