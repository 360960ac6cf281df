//! Edits to the estate's files while the service runs.
//!
//! The folder is checked every few seconds (names, sizes and modification times of its
//! `*.toml` files). When it changed, it is loaded whole: a broken folder keeps the running
//! estate, and says where it is broken (once per distinct set of errors). A folder that loads
//! becomes directory changes, the people who differ from the last load, written to the event
//! log as events of the internal source `estate` and applied by the engine in event-time order
//! like SCIM's or an import's, so a replay of the log gives the same answers. Sites, zones,
//! doors and the other places are fixed for the engine's life: a change to them is reported
//! and waits for a restart.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use seam_estate::Estate;
use seam_model::{Activity, Event, EventClass, Ts};

use crate::ingest;
use crate::server::Shared;

/// What identifies the folder's contents cheaply: each file's name, size and mtime.
type Fingerprint = Vec<(String, u64, Option<SystemTime>)>;

fn fingerprint(dir: &Path) -> Fingerprint {
    let mut files: Fingerprint = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.path().extension().is_some_and(|e| e == "toml"))
                .filter_map(|entry| {
                    let meta = entry.metadata().ok()?;
                    Some((
                        entry.file_name().to_string_lossy().into_owned(),
                        meta.len(),
                        meta.modified().ok(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Watches `dir` until the service stops; `loaded` is the estate the service started with.
pub(crate) async fn run(
    shared: Arc<Shared>,
    source: usize,
    dir: PathBuf,
    every: Duration,
    loaded: Arc<Estate>,
) {
    let mut last = loaded;
    // Empty: the first check loads the folder and compares it with the estate the service
    // started with, so that an edit made while the service was starting is not missed.
    let mut seen: Fingerprint = Vec::new();
    let mut last_errors = String::new();
    loop {
        tokio::select! {
            _ = crate::listen::stopped(shared.shutdown.clone()) => return,
            _ = tokio::time::sleep(every) => {}
        }
        let now = fingerprint(&dir);
        if now == seen {
            continue;
        }
        let folder = dir.clone();
        let loaded = tokio::task::spawn_blocking(move || Estate::load_dir(&folder)).await;
        let estate = match loaded {
            Ok(Ok(estate)) => estate,
            Ok(Err(errors)) => {
                shared
                    .metrics
                    .estate_reload_failures
                    .fetch_add(1, Ordering::Relaxed);
                let text = errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n  ");
                shared.audit.record(
                    crate::audit::system(seam_audit::AuditAction::ConfigChanged).detail(
                        serde_json::json!({"estate": dir.display().to_string(), "taken": false, "errors": errors.len()}),
                    ),
                );
                if text != last_errors {
                    eprintln!(
                        "seam serve: the estate folder `{}` has errors; the running estate is kept:\n  {text}",
                        dir.display()
                    );
                    last_errors = text;
                }
                // Asked again when the files change again.
                seen = now;
                continue;
            }
            Err(_) => continue,
        };
        last_errors.clear();
        let at = Ts(crate::now_ms());
        let mut places_event = None;
        let places_changed = places_differ(&last, &estate);
        if places_changed {
            match places_of(&dir, &last) {
                Ok(places) => places_event = Some(places_event_of(&shared, source, at, places)),
                Err(reason) => eprintln!(
                    "seam serve: the estate's places changed in `{}`, but {reason}: they take effect at the next start; people's changes take effect now",
                    dir.display()
                ),
            }
        }
        let deltas = seam_estate::people_changes(&last, &estate);
        let changed = deltas.len();
        if changed == 0 && !places_changed {
            // The same estate (the first check, or an edit that changed nothing).
            last = Arc::new(estate);
            seen = now;
            continue;
        }
        if !deltas.is_empty() || places_event.is_some() {
            let events: Vec<Event> = deltas
                .into_iter()
                .map(|delta| directory_event(&shared, source, at, &last, delta))
                .chain(places_event)
                .collect();
            let count = events.len();
            let batch = seam_adapters::Batch {
                events,
                ..seam_adapters::Batch::default()
            };
            let prepared = ingest::prepare_parsed(
                &shared,
                source,
                batch,
                ingest::Received {
                    inputs: 1,
                    bytes: 0,
                },
                at,
                &|index| format!("estate#{index}"),
            );
            if let Err(error) = ingest::submit_patiently(&shared, prepared).await {
                eprintln!("seam serve: the estate's directory changes were not stored: {error}");
                // Not seen: tried again at the next check.
                continue;
            }
            eprintln!(
                "seam serve: the estate folder changed: {count} people's directory changes applied"
            );
        }
        shared
            .metrics
            .estate_reloads
            .fetch_add(1, Ordering::Relaxed);
        shared.audit.record(
            crate::audit::system(seam_audit::AuditAction::ConfigChanged).detail(
                serde_json::json!({
                    "estate": dir.display().to_string(),
                    "taken": true,
                    "people_changed": changed,
                }),
            ),
        );
        last = Arc::new(estate);
        seen = now;
    }
}

/// The folder's files without their people (who change through directory changes), checked
/// to keep every existing place at its position.
fn places_of(dir: &Path, last: &Estate) -> Result<seam_model::EstatePlaces, String> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list the folder: {e}"))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    names.sort();
    let mut files = Vec::with_capacity(names.len());
    for path in names {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let mut table: toml::Table =
            toml::from_str(&text).map_err(|e| format!("`{}`: {e}", path.display()))?;
        table.remove("person");
        let text = toml::to_string(&table).map_err(|e| format!("`{}`: {e}", path.display()))?;
        files.push(seam_model::PlacesFile {
            path: path.display().to_string(),
            text,
        });
    }
    let estate_files: Vec<seam_estate::EstateFile> = files
        .iter()
        .map(|f| seam_estate::EstateFile {
            path: f.path.clone(),
            text: f.text.clone(),
        })
        .collect();
    last.with_places_from(&estate_files)
        .map_err(|e| e.to_string())?;
    Ok(seam_model::EstatePlaces { files })
}

fn places_event_of(
    shared: &Shared,
    source: usize,
    at: Ts,
    places: seam_model::EstatePlaces,
) -> Event {
    let name = shared.sources.get(source).map_or_else(
        || crate::config::ESTATE_SOURCE.to_owned(),
        |s| s.config.name.clone(),
    );
    // After the people's changes of the same edit (uids sort by text at one instant).
    let uid = format!("estate-{}-~places", at.millis());
    let mut event = Event::new(
        uid,
        at,
        name,
        EventClass::Directory,
        Activity::PlacesChanged,
    );
    event.observed = Some(at);
    event.places = Some(Box::new(places));
    event
}

/// One delta as an event of the internal source, its uid a digest of what it says and when.
fn directory_event(
    shared: &Shared,
    source: usize,
    at: Ts,
    last: &Estate,
    delta: seam_model::DirectoryDelta,
) -> Event {
    use sha2::{Digest, Sha256};
    let name = shared.sources.get(source).map_or_else(
        || crate::config::ESTATE_SOURCE.to_owned(),
        |s| s.config.name.clone(),
    );
    let activity = if last.person_idx(&delta.person).is_none() {
        Activity::PersonCreated
    } else if delta.status.as_deref() == Some("terminated") {
        Activity::PersonDeleted
    } else {
        Activity::PersonUpdated
    };
    let digest = Sha256::digest(serde_json::to_vec(&delta).unwrap_or_default());
    let uid = format!(
        "estate-{}-{}",
        at.millis(),
        digest
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let mut event = Event::new(uid, at, name, EventClass::Directory, activity);
    event.observed = Some(at);
    event.directory = Some(Box::new(delta));
    event
}

/// Whether anything but the people differs between two loads.
fn places_differ(old: &Estate, new: &Estate) -> bool {
    fn json<T: serde::Serialize>(items: &T) -> String {
        serde_json::to_string(items).unwrap_or_default()
    }
    json(&old.sites()) != json(&new.sites())
        || json(&old.zones()) != json(&new.zones())
        || json(&old.doors()) != json(&new.doors())
        || json(&old.aps()) != json(&new.aps())
        || json(&old.switch_ports()) != json(&new.switch_ports())
        || json(&old.networks()) != json(&new.networks())
        || json(&old.assets()) != json(&new.assets())
        || json(&old.resources()) != json(&new.resources())
}
