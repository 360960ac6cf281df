//! The directory watcher for PACS exports (and any file-based source). Polls the folder; a
//! file is read once its size and modification time have held still for the settle time, made
//! durable whole, and only then moved to `done/`. A crash between the two reads the file again
//! on restart, which adds nothing: events are deduplicated by uid, dead letters by position.
//! A file over the input limit is moved to `failed/` with a dead letter.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use seam_model::Ts;
use seam_store::DeadLetter;

use crate::ingest;
use crate::server::Shared;

pub(crate) async fn run(
    shared: Arc<Shared>,
    index: usize,
    folder: PathBuf,
    poll_ms: u64,
    settle_ms: u64,
) {
    let name = shared
        .sources
        .get(index)
        .map(|s| s.config.name.clone())
        .unwrap_or_default();
    for sub in ["done", "failed"] {
        if let Err(error) = tokio::fs::create_dir_all(folder.join(sub)).await {
            eprintln!(
                "seam serve: source `{name}`: cannot create `{}`: {error}",
                folder.join(sub).display()
            );
        }
    }
    let mut seen: HashMap<PathBuf, (u64, Option<SystemTime>, Instant)> = HashMap::new();
    let settle = Duration::from_millis(settle_ms);
    let mut warned = false;
    loop {
        tokio::select! {
            _ = crate::listen::stopped(shared.shutdown.clone()) => break,
            _ = tokio::time::sleep(Duration::from_millis(poll_ms)) => {}
        }
        let files = match list(&folder).await {
            Ok(files) => {
                warned = false;
                files
            }
            Err(error) => {
                if !warned {
                    eprintln!(
                        "seam serve: source `{name}`: cannot list `{}`: {error}",
                        folder.display()
                    );
                    warned = true;
                }
                continue;
            }
        };
        seen.retain(|path, _| files.iter().any(|(p, _, _)| p == path));
        for (path, size, modified) in files {
            if *shared.shutdown.borrow() {
                break;
            }
            let now = Instant::now();
            let entry = seen.entry(path.clone()).or_insert((size, modified, now));
            if entry.0 != size || entry.1 != modified {
                *entry = (size, modified, now);
            }
            if now.duration_since(entry.2) < settle {
                continue;
            }
            if process(&shared, index, &name, &folder, &path, size).await {
                seen.remove(&path);
            }
        }
    }
}

/// Regular, visible files directly in the folder, by name.
async fn list(folder: &Path) -> std::io::Result<Vec<(PathBuf, u64, Option<SystemTime>)>> {
    let mut entries = tokio::fs::read_dir(folder).await?;
    let mut files = Vec::new();
    while let Some(entry) = entries.next_entry().await? {
        let file_name = entry.file_name();
        if file_name.to_string_lossy().starts_with('.') {
            continue;
        }
        let Ok(meta) = entry.metadata().await else {
            continue;
        };
        if meta.is_file() {
            files.push((entry.path(), meta.len(), meta.modified().ok()));
        }
    }
    files.sort();
    Ok(files)
}

/// Reads, stores and moves one file; true when it is done with (moved away).
async fn process(
    shared: &Shared,
    index: usize,
    name: &str,
    folder: &Path,
    path: &Path,
    size: u64,
) -> bool {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let origin = format!("file:{file_name}");
    let now = Ts(crate::now_ms());
    let limit = seam_adapters::MAX_BATCH_BYTES as u64;
    if size > limit {
        let letter = DeadLetter {
            source: name.to_string(),
            position: origin.clone(),
            observed: now,
            reason: format!("the file is {size} bytes, more than the limit of {limit}; split it"),
            raw: Vec::new(),
        };
        let job = crate::writer::Job {
            events: Vec::new(),
            jsons: Vec::new(),
            dead_letters: vec![letter],
            documents: Box::default(),
            reply: None,
            source: index,
        };
        let prepared = ingest::Prepared {
            job,
            skipped: 0,
            rejected: Vec::new(),
        };
        if ingest::submit_patiently(shared, prepared).await.is_ok() {
            return move_to(folder, "failed", path, &file_name).await;
        }
        return false;
    }
    let bytes = match tokio::fs::read(path).await {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!(
                "seam serve: source `{name}`: cannot read `{}`: {error}",
                path.display()
            );
            return false;
        }
    };
    let prepared = match ingest::prepare(shared, index, &bytes, None, &origin, now) {
        Ok(prepared) => prepared,
        Err(_) => return false,
    };
    match ingest::submit_patiently(shared, prepared).await {
        Ok(report) => {
            if !report.rejected.is_empty() {
                eprintln!(
                    "seam serve: source `{name}`: `{file_name}`: {} events, {} records rejected (see the dead letters)",
                    report.accepted,
                    report.rejected.len()
                );
            }
            move_to(folder, "done", path, &file_name).await
        }
        Err(_) => false,
    }
}

async fn move_to(folder: &Path, sub: &str, path: &Path, file_name: &str) -> bool {
    let mut target = folder.join(sub).join(file_name);
    let mut n = 1;
    while tokio::fs::try_exists(&target).await.unwrap_or(false) && n < 10_000 {
        target = folder.join(sub).join(format!("{file_name}.{n}"));
        n += 1;
    }
    match tokio::fs::rename(path, &target).await {
        Ok(()) => true,
        Err(error) => {
            eprintln!(
                "seam serve: cannot move `{}` to `{}`: {error}",
                path.display(),
                target.display()
            );
            false
        }
    }
}
