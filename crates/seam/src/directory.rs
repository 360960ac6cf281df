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
            let _ = estate.apply_directory(DirectoryChange {
                at: record.at,
                source: &record.source,
                delta: &record.delta,
            });
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
        if let Some(delta) = &event.directory {
            let _ = estate.apply_directory(DirectoryChange {
                at: event.time,
                source: &event.source,
                delta,
            });
        }
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

fn person_json(person: &Person, estate: &Estate) -> serde_json::Value {
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
