//! The directory commands: a person's history with the source of each change
//! (`seam inspect directory`), and imports from systems of record (`seam directory import`).

use std::io::Write;
use std::path::Path;

use seam_estate::{DirectoryChange, Estate, Person};
use seam_model::{Event, EventClass};
use seam_store::Store;

use crate::error::CliError;

/// Events read from the log per call.
const READ_BATCH: usize = 10_000;

/// The directory as a data directory's engine last knew it: the estate's files, then every
/// directory change applied (those in the last snapshot, then those logged after it).
pub fn directory_of(estate: &Estate, store: &dyn Store) -> Result<Estate, CliError> {
    let error = |e: seam_store::StoreError| CliError::Store(e.to_string());
    let mut estate = estate.clone();
    let mut from = 0;
    if let Some(snapshot) = store.latest_snapshot().map_err(error)? {
        let state: seam_engine::EngineSnapshot = serde_json::from_slice(&snapshot.state)
            .map_err(|e| CliError::Store(format!("the engine snapshot: {e}")))?;
        for record in &state.directory {
            let _ = record.apply_to(&mut estate);
        }
        from = snapshot.log_position;
    }
    let mut later: Vec<Event> = Vec::new();
    loop {
        let (lines, next) = store.read_events(from, READ_BATCH).map_err(error)?;
        if lines.is_empty() {
            break;
        }
        for line in lines {
            // Cheap test first: most of a log is not directory changes.
            if !line.contains("\"directory\"") {
                continue;
            }
            if let Ok(event) = serde_json::from_str::<Event>(&line)
                && event.class == EventClass::Directory
            {
                later.push(event);
            }
        }
        from = next;
    }
    // The engine applies them in event-time order.
    later.sort_by(|a, b| (a.time, &a.uid).cmp(&(b.time, &b.uid)));
    for event in &later {
        let record = seam_engine::DirectoryRecord {
            at: event.time,
            source: event.source.clone(),
            delta: event.directory.as_deref().cloned(),
            places: event.places.as_deref().cloned(),
        };
        let _ = record.apply_to(&mut estate);
    }
    Ok(estate)
}

/// Writes one person's record, status over time, identifiers with their intervals and the
/// history of changes with their sources.
pub fn print_person(person: &Person, estate: &Estate, json: bool) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    if json {
        let text = serde_json::to_string_pretty(&person_json(person, estate))
            .map_err(|e| CliError::Failed(e.to_string()))?;
        return writeln!(stdout, "{text}").map_err(CliError::Output);
    }
    let mut lines = vec![format!(
        "{}  {}  ({}{}{}{})",
        person.id,
        person.name,
        person.kind.as_str(),
        person
            .department
            .as_deref()
            .map(|d| format!(", {d}"))
            .unwrap_or_default(),
        person
            .team
            .as_deref()
            .map(|t| format!(" / {t}"))
            .unwrap_or_default(),
        person
            .manager
            .as_deref()
            .map(|m| format!(", manager {m}"))
            .unwrap_or_default(),
    )];
    if !person.roles.is_empty() {
        lines.push(format!("roles: {}", person.roles.join(", ")));
    }
    if !person.clearances.is_empty() {
        let zones: Vec<&str> = person
            .clearances
            .iter()
            .map(|zone| estate.zone(*zone).id.as_str())
            .collect();
        lines.push(format!("clearances: {}", zones.join(", ")));
    }
    if let Some(window) = person.window {
        lines.push(format!("window: {} – {}", window.start, window.end));
    }
    lines.push("status:".to_owned());
    for change in &person.status {
        lines.push(format!("  {}  {}", change.since, change.status.as_str()));
    }
    lines.push("identifiers:".to_owned());
    for identifier in &person.identifiers {
        let from = identifier
            .from
            .map_or_else(|| "always".to_owned(), |from| from.to_string());
        let until = identifier
            .until
            .map_or_else(|| "open".to_owned(), |until| until.to_string());
        lines.push(format!(
            "  {:<8} {:<40} {from} – {until}",
            identifier.kind.as_str(),
            identifier.value
        ));
    }
    lines.push("history:".to_owned());
    if person.history.is_empty() {
        lines.push("  (as in the estate files; no change from a system of record)".to_owned());
    }
    for entry in &person.history {
        let reference = entry
            .source_ref
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        lines.push(format!(
            "  {}  {}{reference}: {}",
            entry.at,
            entry.source,
            entry.changes.join("; ")
        ));
        for conflict in &entry.conflicts {
            lines.push(format!("      conflict: {conflict}"));
        }
    }
    for line in lines {
        writeln!(stdout, "{line}").map_err(CliError::Output)?;
    }
    Ok(())
}

pub fn person_json(person: &Person, estate: &Estate) -> serde_json::Value {
    let clearances: Vec<&str> = person
        .clearances
        .iter()
        .map(|zone| estate.zone(*zone).id.as_str())
        .collect();
    serde_json::json!({
        "id": person.id,
        "name": person.name,
        "kind": person.kind.as_str(),
        "department": person.department,
        "team": person.team,
        "manager": person.manager,
        "roles": person.roles,
        "clearances": clearances,
        "window": person.window,
        "status": person.status,
        "identifiers": person.identifiers,
        "history": person.history,
    })
}

/// `seam inspect directory --person ID`.
pub fn inspect(
    data_dir: &Path,
    estate_dir: Option<&Path>,
    person: &str,
    json: bool,
) -> Result<(), CliError> {
    let store =
        seam_store::EmbeddedStore::open(data_dir).map_err(|e| CliError::Store(e.to_string()))?;
    let estate = crate::load::estate(estate_dir)?;
    let directory = directory_of(&estate, &store)?;
    let Some(index) = directory.person_idx(person) else {
        return Err(CliError::Failed(format!(
            "no person `{person}` in the directory"
        )));
    };
    print_person(directory.person(index), &directory, json)
}

/// Where `seam directory import` puts what it read.
#[derive(Debug)]
pub struct ImportArgs<'a> {
    pub mapping: &'a Path,
    pub input: &'a Path,
    pub estate: Option<&'a Path>,
    /// Append to this store (one commit), for the next `seam serve` or replay.
    pub data_dir: Option<&'a Path>,
    /// Write the changes as NDJSON events here (`-`: standard output).
    pub out: Option<&'a Path>,
    /// The source name the changes carry (default: `<mapping's source>-import`).
    pub source: Option<&'a str>,
    /// The import time (default: now).
    pub at: Option<seam_model::Ts>,
    pub dry_run: bool,
    pub json: bool,
}

/// `seam directory import`: reads an export through its mapping, checks every change against
/// the directory, and writes them all or nothing.
pub fn import(args: &ImportArgs<'_>) -> Result<std::process::ExitCode, CliError> {
    use seam_directory::import::{ImportMapping, ImportOptions};
    let read = |path: &Path| {
        std::fs::read_to_string(path)
            .map_err(|e| CliError::Failed(format!("cannot read `{}`: {e}", path.display())))
    };
    let mapping_text = read(args.mapping)?;
    let mapping = ImportMapping::from_toml(&mapping_text).map_err(|errors| {
        CliError::Failed(
            errors
                .iter()
                .map(|e| format!("{}:{e}", args.mapping.display()))
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    let text = read(args.input)?;
    let at = args.at.unwrap_or_else(crate::wall_clock);
    let outcome = seam_directory::import::import(&mapping, &text, &ImportOptions::at(at))
        .map_err(|e| CliError::Failed(format!("{}:{e}", args.input.display())))?;
    let input = args.input.display().to_string();
    let mut problems: Vec<String> = outcome
        .errors
        .iter()
        .map(|e| format!("{input}:{e}"))
        .collect();
    for warning in &outcome.warnings {
        eprintln!("warning: {input}:{warning}");
    }
    let source = args
        .source
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{}-import", mapping.source().as_str()));

    // Every change checked against the directory as it stands (the estate, and the store's
    // changes when there is one), applied to a copy: a change the directory refuses fails
    // the import before anything is written.
    let estate = crate::load::estate(args.estate)?;
    let mut directory = match args.data_dir {
        Some(dir) if dir.join("seam.db").exists() => {
            let store =
                seam_store::EmbeddedStore::open(dir).map_err(|e| CliError::Store(e.to_string()))?;
            directory_of(&estate, &store)?
        }
        _ => (*estate).clone(),
    };
    let mut reports = Vec::new();
    for (delta, line) in outcome.deltas.iter().zip(&outcome.lines) {
        match directory.apply_directory(DirectoryChange {
            at,
            source: &source,
            delta,
        }) {
            Ok(report) => reports.push(report),
            Err(e) => problems.push(format!("{input}:{line}: {e}")),
        }
    }
    let changed = reports
        .iter()
        .filter(|r| !r.changes.is_empty() || !r.conflicts.is_empty())
        .count();
    if args.json {
        let summary = serde_json::json!({
            "rows": outcome.rows,
            "changes": outcome.deltas.len(),
            "people_changed": changed,
            "skipped": outcome.skipped,
            "warnings": outcome.warnings,
            "errors": problems,
            "reports": reports,
            "written": problems.is_empty() && !args.dry_run,
        });
        eprintln!("{summary}");
    } else {
        for report in reports
            .iter()
            .filter(|r| !r.changes.is_empty() || !r.conflicts.is_empty())
        {
            let mut text = format!("{}: {}", report.person, report.changes.join("; "));
            for conflict in &report.conflicts {
                text.push_str(&format!("\n    conflict: {conflict}"));
            }
            eprintln!("{text}");
        }
        eprintln!(
            "{} rows: {} changes ({changed} people changed), {} skipped, {} warnings, {} errors",
            outcome.rows,
            outcome.deltas.len(),
            outcome.skipped.len(),
            outcome.warnings.len(),
            problems.len()
        );
    }
    if !problems.is_empty() {
        for problem in &problems {
            eprintln!("error: {problem}");
        }
        eprintln!("nothing was written: an import is applied whole or not at all");
        return Ok(std::process::ExitCode::from(2));
    }
    if args.dry_run {
        eprintln!("dry run: nothing was written");
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let events = import_events(&outcome.deltas, &source, at);
    if let Some(out) = args.out {
        let mut text = String::new();
        for event in &events {
            text.push_str(
                &serde_json::to_string(event).map_err(|e| CliError::Failed(e.to_string()))?,
            );
            text.push('\n');
        }
        if out == Path::new("-") {
            std::io::stdout()
                .lock()
                .write_all(text.as_bytes())
                .map_err(CliError::Output)?;
        } else {
            // Whole or nothing: written beside, then renamed over.
            let partial = out.with_extension("partial");
            std::fs::write(&partial, text)
                .and_then(|()| std::fs::rename(&partial, out))
                .map_err(|e| CliError::Failed(format!("cannot write `{}`: {e}", out.display())))?;
        }
    }
    if let Some(dir) = args.data_dir {
        append(dir, &events)?;
        eprintln!(
            "{} changes written to `{}`; the next `seam serve` on it applies them",
            events.len(),
            dir.display()
        );
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// The changes as events of class `directory`, at the import time, with uids that name the
/// import and the change (so that running the same import twice stores it once).
fn import_events(
    deltas: &[seam_model::DirectoryDelta],
    source: &str,
    at: seam_model::Ts,
) -> Vec<Event> {
    use seam_model::Activity;
    deltas
        .iter()
        .enumerate()
        .map(|(index, delta)| {
            let activity = match delta.status.as_deref() {
                Some("terminated") => Activity::PersonDeleted,
                Some("suspended") => Activity::PersonDisabled,
                _ => Activity::PersonUpdated,
            };
            let uid = format!("{source}-{}-{index}", at.millis());
            let mut event = Event::new(uid, at, source, EventClass::Directory, activity);
            event.observed = Some(at);
            event.directory = Some(Box::new(delta.clone()));
            event
        })
        .collect()
}

/// Appends the events to a data directory's log in one commit.
fn append(dir: &Path, events: &[Event]) -> Result<(), CliError> {
    let error = |e: seam_store::StoreError| CliError::Store(e.to_string());
    let mut store = seam_store::EmbeddedStore::open(dir).map_err(error)?;
    let jsons: Vec<String> = events
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<_, _>>()
        .map_err(|e| CliError::Failed(e.to_string()))?;
    let stored: Vec<seam_store::StoredEvent<'_>> = events
        .iter()
        .zip(&jsons)
        .map(|(event, json)| seam_store::StoredEvent {
            uid: &event.uid,
            time: event.time,
            observed: event.observed_time(),
            source: &event.source,
            class: event.class.as_str(),
            person: event.directory.as_ref().map(|d| d.person.as_str()),
            late: false,
            json,
        })
        .collect();
    store.append_events(&stored).map_err(error)?;
    store.commit().map_err(error)
}
