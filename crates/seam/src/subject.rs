//! A data subject's rights and retention, on a data directory (with the service stopped: the
//! store has one writer):
//!
//! - `seam subject export`: everything Seam holds about one person, as one JSON bundle (a
//!   subject access request);
//! - `seam subject erase`: every byte of the person's names and identifiers gone from the
//!   data directory, findings about them kept as tombstones;
//! - `seam retention [--dry-run]`: what is past its retention goes (or is only counted).
//!
//! A person is found by every spelling of them Seam knows: the id, the name, every
//! identifier they ever held (the estate's files with the directory's later changes), in the
//! case and separator variants vendors write them in. Each run is recorded in the audit log
//! under the person's pseudonym, never their name.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use base64::Engine as _;
use seam_audit::{AuditAction, AuditEntry};
use seam_estate::{IdentifierKind, Person};
use seam_store::{Lifecycle, Store};

use crate::error::CliError;
use crate::wall_clock as now;

/// Records of each kind in an export at most.
const EXPORT_LIMIT: usize = 1_000_000;

fn failed(e: impl std::fmt::Display) -> CliError {
    CliError::Failed(e.to_string())
}

fn store_error(e: seam_store::StoreError) -> CliError {
    CliError::Store(e.to_string())
}

/// The person as the directory knows them now, and every spelling to search for.
fn find_person(
    store: &dyn Store,
    estate_dir: Option<&Path>,
    person: &str,
) -> Result<(Person, serde_json::Value, Vec<String>), CliError> {
    let estate = crate::load::estate(estate_dir)?;
    let directory = crate::directory::directory_of(&estate, store)?;
    let Some(index) = directory.person_idx(person) else {
        return Err(CliError::Failed(format!(
            "no person `{person}` in the directory (the estate's files and the changes since)"
        )));
    };
    let found = directory.person(index).clone();
    let record = crate::directory::person_json(&found, &directory);
    let needles = needles_of(&found);
    Ok((found, record, needles))
}

/// Every spelling of a person Seam could have stored: the id, the name (also as
/// `Last, First`), and each identifier as written and in the variants sources use (case;
/// a MAC address with colons, hyphens, dots or no separator). Shorter than three bytes
/// would match everyone and is left out.
pub fn needles_of(person: &Person) -> Vec<String> {
    let mut needles = vec![person.id.clone(), person.name.clone()];
    let words: Vec<&str> = person.name.split_whitespace().collect();
    if let [first @ .., last] = words.as_slice()
        && !first.is_empty()
    {
        needles.push(format!("{last}, {}", first.join(" ")));
    }
    for identifier in &person.identifiers {
        let value = identifier.value.as_str();
        needles.push(value.to_string());
        needles.push(value.to_uppercase());
        needles.push(value.to_lowercase());
        if identifier.kind == IdentifierKind::Mac {
            let hex: String = value.chars().filter(char::is_ascii_hexdigit).collect();
            let pairs: Vec<String> = hex
                .as_bytes()
                .chunks(2)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            let quads: Vec<String> = hex
                .as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            for spelled in [pairs.join(":"), pairs.join("-"), quads.join("."), hex] {
                needles.push(spelled.to_lowercase());
                needles.push(spelled.to_uppercase());
            }
        }
    }
    needles.retain(|needle| needle.len() >= seam_store::MIN_NEEDLE_BYTES);
    needles.sort();
    needles.dedup();
    needles
}

/// The pseudonym the audit log names the person by.
fn pseudonym(data_dir: &Path, person: &str) -> Result<String, CliError> {
    let key = seam_serve::pseudonym_key(data_dir).map_err(CliError::Failed)?;
    Ok(seam_access::Pseudonyms::new(&key).of(person))
}

/// The store a subject command reads: `--store URL`, else the data directory's own.
fn open(data_dir: &Path, store: Option<&str>) -> Result<Box<dyn Lifecycle>, CliError> {
    crate::stores::StoreLocation::from_args(
        Some(data_dir.to_path_buf()),
        store.map(str::to_string),
    )?
    .ok_or_else(|| CliError::Failed("no store".into()))?
    .open_lifecycle()
}

/// `seam subject export`: one JSON bundle on standard output.
pub fn export(
    data_dir: &Path,
    store_url: Option<&str>,
    estate_dir: Option<&Path>,
    person: &str,
    reason: Option<&str>,
) -> Result<ExitCode, CliError> {
    let store = open(data_dir, store_url)?;
    let (found, record, needles) = find_person(&*store, estate_dir, person)?;
    let records = store
        .subject_records(&needles, EXPORT_LIMIT)
        .map_err(store_error)?;
    let pseudonym = pseudonym(data_dir, &found.id)?;
    let events: Vec<serde_json::Value> = records
        .events
        .iter()
        .map(|event| {
            serde_json::json!({
                "position": event.position,
                "uid": event.uid,
                "time": event.time,
                "source": event.source,
                "class": event.class,
                "erased": event.erased,
                "event": serde_json::from_str::<serde_json::Value>(&event.json)
                    .unwrap_or_else(|_| serde_json::Value::String(event.json.clone())),
            })
        })
        .collect();
    let findings: Vec<serde_json::Value> = records
        .findings
        .iter()
        .map(|finding| {
            serde_json::from_str(&finding.json)
                .unwrap_or_else(|_| serde_json::Value::String(finding.json.clone()))
        })
        .collect();
    let dead_letters: Vec<serde_json::Value> = records
        .dead_letters
        .iter()
        .map(|letter| {
            serde_json::json!({
                "source": letter.source,
                "position": letter.position,
                "observed": letter.observed,
                "reason": letter.reason,
                "raw_base64": base64::engine::general_purpose::STANDARD.encode(&letter.raw),
            })
        })
        .collect();
    let unresolved: Vec<serde_json::Value> = records
        .unresolved
        .iter()
        .map(|item| {
            serde_json::json!({
                "event_uid": item.event_uid,
                "time": item.time,
                "source": item.source,
                "identifiers": item.identifiers,
            })
        })
        .collect();
    let documents: Vec<serde_json::Value> = records
        .documents
        .iter()
        .map(|document| {
            serde_json::json!({
                "collection": document.collection,
                "id": document.id,
                "document": serde_json::from_str::<serde_json::Value>(&document.json)
                    .unwrap_or_else(|_| serde_json::Value::String(document.json.clone())),
            })
        })
        .collect();
    let bundle = serde_json::json!({
        "format": "seam-subject-export/1",
        "generated": now(),
        "person": record,
        "pseudonym": pseudonym,
        "searched_for": needles.len(),
        "truncated": records.truncated,
        "events": events,
        "findings": findings,
        "dead_letters": dead_letters,
        "unresolved": unresolved,
        "documents": documents,
        "snapshots_naming_them": records.snapshots,
    });
    drop(store);
    let mut entry = AuditEntry::new("cli", AuditAction::SubjectExported)
        .subject(&pseudonym)
        .detail(serde_json::json!({
            "events": events.len(),
            "findings": findings.len(),
            "dead_letters": dead_letters.len(),
            "unresolved": unresolved.len(),
            "documents": documents.len(),
        }));
    if let Some(reason) = reason {
        entry = entry.purpose(reason);
    }
    crate::stores::record(data_dir, store_url, entry)?;
    let text = serde_json::to_string_pretty(&bundle).map_err(failed)?;
    writeln!(std::io::stdout().lock(), "{text}").map_err(CliError::Output)?;
    Ok(ExitCode::SUCCESS)
}

/// `seam subject erase`.
pub fn erase(
    data_dir: &Path,
    store_url: Option<&str>,
    estate_dir: Option<&Path>,
    person: &str,
    reason: &str,
) -> Result<ExitCode, CliError> {
    let mut store = open(data_dir, store_url)?;
    let (found, _, needles) = find_person(&*store, estate_dir, person)?;
    let pseudonym = pseudonym(data_dir, &found.id)?;
    let report = store.erase_subject(&needles, reason).map_err(store_error)?;
    drop(store);
    crate::stores::record(
        data_dir,
        store_url,
        AuditEntry::new("cli", AuditAction::SubjectErased)
            .subject(&pseudonym)
            .purpose(reason)
            .detail(serde_json::json!({
                "events": report.events,
                "findings": report.findings,
                "dead_letters": report.dead_letters,
                "unresolved": report.unresolved,
                "documents": report.documents,
                "snapshots": report.snapshots,
            })),
    )?;
    let mut stdout = std::io::stdout().lock();
    writeln!(
        stdout,
        "erased {pseudonym}: {} events and {} findings kept as tombstones; {} dead letters, {} unresolved entries, {} documents and {} snapshots removed",
        report.events,
        report.findings,
        report.dead_letters,
        report.unresolved,
        report.documents,
        report.snapshots
    )
    .map_err(CliError::Output)?;
    writeln!(
        stdout,
        "the estate's own files are not in the data directory: remove `{}` from them too, or the next start names them again",
        found.id
    )
    .map_err(CliError::Output)?;
    Ok(ExitCode::SUCCESS)
}

/// The audit log's records past `[retention] audit_days`, dropped behind a signed anchor
/// published to the configured witnesses (none dropped when one refuses); how many went.
fn prune_audit(
    data_dir: &Path,
    store_url: Option<&str>,
    config: &seam_serve::ServeConfig,
) -> Result<Option<u64>, CliError> {
    let Some(cutoff) = config.retention.audit_cutoff(now()) else {
        return Ok(None);
    };
    let mut log =
        seam_audit::AuditLog::open_on(data_dir, crate::stores::audit_storage(data_dir, store_url)?)
            .map_err(failed)?;
    if let Some(witness) = &config.audit.witness {
        log.add_witness(Box::new(seam_audit::FileWitness::new(witness)));
    }
    if let Some(url) = &config.audit.witness_url {
        let witness = seam_serve::HttpWitness::new(url, config.audit.witness_token.clone())
            .map_err(CliError::Failed)?;
        log.add_witness(Box::new(witness));
    }
    let report = log.prune_before(cutoff, now()).map_err(failed)?;
    log.close(now()).map_err(failed)?;
    for failure in &report.witness_failures {
        eprintln!(
            "an audit witness did not take the anchor; no audit record was dropped: {failure:?}"
        );
    }
    Ok(Some(report.dropped))
}

/// `seam retention`: prunes (or with `dry_run` counts) what `settings` says is past its time.
pub fn retention(
    data_dir: &Path,
    store_url: Option<&str>,
    config: &seam_serve::ServeConfig,
    dry_run: bool,
    json: bool,
) -> Result<ExitCode, CliError> {
    let settings = &config.retention;
    let request = settings.request(now());
    let location = match store_url {
        Some(url) => crate::stores::StoreLocation::Postgres(url.to_string()),
        None => crate::stores::StoreLocation::Directory(data_dir.to_path_buf()),
    };
    let mut store = crate::cases::open_workspace(&location)?;
    let report = store.prune(&request, dry_run).map_err(store_error)?;
    let mut summary = seam_serve::retention_summary(settings, &report);
    if settings.prunes_workspace() {
        let evidence = seam_store::evidence::EvidenceStore::open(&data_dir.join("evidence"))
            .map_err(|e| CliError::Failed(e.to_string()))?;
        let (pruned, files) =
            seam_serve::prune_workspace(&mut *store, &evidence, settings, now(), dry_run)
                .map_err(CliError::Failed)?;
        seam_serve::workspace_summary(&mut summary, settings, &pruned, files);
    }
    drop(store);
    if !dry_run {
        let audit = prune_audit(data_dir, store_url, config)?;
        if let (Some(dropped), Some(map)) = (audit, summary.as_object_mut()) {
            map.insert("audit_records".into(), dropped.into());
        }
        crate::stores::record(
            data_dir,
            store_url,
            AuditEntry::new("cli", AuditAction::RetentionRun).detail(summary.clone()),
        )?;
    }
    let mut stdout = std::io::stdout().lock();
    if json {
        writeln!(stdout, "{summary}").map_err(CliError::Output)?;
    } else {
        let verb = if dry_run { "would go" } else { "gone" };
        writeln!(stdout, "retention ({verb}):").map_err(CliError::Output)?;
        if let Some(map) = summary.as_object() {
            for (what, count) in map {
                writeln!(stdout, "  {what:<20} {count}").map_err(CliError::Output)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
