//! Durability under power loss, not only under SIGKILL (which keeps the page cache): `seam
//! serve` runs under `strace`, and the order of its system calls is checked. No acknowledgement
//! (an HTTP 200 written to a socket) may precede the sync of the event-log segment that holds
//! what it acknowledges, and the directory entry of a new segment is synced before anything is
//! acknowledged. `.ci/run` installs strace; without it this test fails and says so.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use seam_serve::client::HttpClient;

/// One system call from the trace: its thread, name, first argument and result.
#[derive(Debug)]
struct Call {
    name: String,
    /// The first argument (a descriptor, or the path of an `openat`), as written.
    first: String,
    /// The rest of the line after the first argument (buffer contents, flags).
    rest: String,
    result: Option<i64>,
}

/// Reads strace's `-f` output into calls in the order they completed: a call split into
/// `<unfinished ...>` and `<... resumed>` counts where it resumed.
fn parse_trace(text: &str) -> Vec<Call> {
    let mut unfinished: HashMap<String, String> = HashMap::new();
    let mut calls = Vec::new();
    for line in text.lines() {
        let Some((pid, body)) = line.split_once(' ') else {
            continue;
        };
        let body = body.trim_start();
        let whole = if let Some(start) = body.strip_suffix(" <unfinished ...>") {
            unfinished.insert(pid.to_string(), start.to_string());
            continue;
        } else if let Some(resumed) = body.strip_prefix("<... ") {
            let Some((_, tail)) = resumed.split_once(" resumed>") else {
                continue;
            };
            match unfinished.remove(pid) {
                Some(start) => format!("{start}{tail}"),
                None => continue,
            }
        } else {
            body.to_string()
        };
        let Some((name, args)) = whole.split_once('(') else {
            continue;
        };
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let result = whole
            .rsplit_once(" = ")
            .and_then(|(_, r)| r.split_whitespace().next())
            .and_then(|r| r.parse::<i64>().ok());
        let (first, rest) = match name {
            "openat" => {
                // openat(AT_FDCWD, "path", flags…)
                let after = args.split_once(", ").map_or("", |(_, a)| a);
                let path = after
                    .strip_prefix('"')
                    .and_then(|a| a.split_once('"'))
                    .map_or("", |(p, _)| p);
                (path.to_string(), after.to_string())
            }
            _ => match args.split_once(", ") {
                Some((first, rest)) => (first.to_string(), rest.to_string()),
                None => (
                    args.trim_end_matches(|c| c != ')')
                        .trim_end_matches(')')
                        .to_string(),
                    String::new(),
                ),
            },
        };
        calls.push(Call {
            name: name.to_string(),
            first,
            rest,
            result,
        });
    }
    calls
}

/// strace and the service under it, both killed if the test fails first.
struct Traced(std::process::Child);

impl Drop for Traced {
    fn drop(&mut self) {
        let _ = Command::new("pkill")
            .args(["-KILL", "-P", &self.0.id().to_string()])
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn no_acknowledgement_precedes_the_sync_of_what_it_acknowledges() {
    let strace = Command::new("strace").arg("-V").output();
    assert!(
        strace.is_ok_and(|o| o.status.success()),
        "this test needs strace (Debian: apt-get install strace; .ci/run installs it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let trace = dir.path().join("trace");
    let child = Command::new("strace")
        .args(["-f", "-s", "48", "-o"])
        .arg(&trace)
        .args([
            "-e",
            "trace=openat,close,write,writev,sendto,pwrite64,fsync,fdatasync",
        ])
        .arg(env!("CARGO_BIN_EXE_seam"))
        .args(["serve", "--http", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut traced = Traced(child);
    let stderr = traced.0.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let http = loop {
        assert!(Instant::now() < deadline, "seam serve did not start");
        let line = lines.next().unwrap().unwrap();
        if line.contains("listening:") {
            break seam_serve::bench::parse_listening(&line).unwrap().0;
        }
    };
    std::thread::spawn(move || for _ in lines {});
    seam_serve::bench::wait_ready(http, Duration::from_secs(60)).unwrap();
    let mut client = HttpClient::new(http);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    for n in 0..3 {
        let event = serde_json::json!({
            "uid": format!("durable-{n}"), "time": seam_model::Ts(now - 1000).to_string(),
            "source": "ndjson",
            "class": "device_status", "activity": "online", "asset": "hq-pacs",
        })
        .to_string();
        let response = client
            .post("/v1/ingest/ndjson", &[], event.as_bytes())
            .unwrap();
        assert_eq!(response.status, 200, "{}", response.text());
    }
    // SIGTERM to the service (strace's child), not to strace, which would only detach.
    let _ = Command::new("pkill")
        .args(["-TERM", "-P", &traced.0.id().to_string()])
        .status();
    let _ = traced.0.wait();
    let text = std::fs::read_to_string(&trace).unwrap();
    check_order(&parse_trace(&text), &data.join("events"));
}

/// Walks the calls keeping which descriptor is which file, and checks the two orders.
fn check_order(calls: &[Call], events_dir: &Path) {
    let events_dir = events_dir.display().to_string();
    // Descriptor → path, while open.
    let mut open: HashMap<String, String> = HashMap::new();
    // Per segment path: written since its last sync?
    let mut unsynced_segments: HashMap<String, bool> = HashMap::new();
    let mut created_segments = 0;
    let mut directory_synced_after_create = false;
    let mut acknowledgements = 0;
    let mut segment_writes = 0;
    let mut segment_syncs = 0;
    for call in calls {
        match call.name.as_str() {
            "openat" => {
                if let Some(fd) = call.result.filter(|fd| *fd >= 0) {
                    open.insert(fd.to_string(), call.first.clone());
                    if call.first.starts_with(&events_dir)
                        && call.first.ends_with(".log")
                        && call.rest.contains("O_CREAT")
                    {
                        created_segments += 1;
                        directory_synced_after_create = false;
                    }
                }
            }
            "close" => {
                open.remove(&call.first);
            }
            "write" | "writev" | "pwrite64" | "sendto" => {
                let path = open.get(&call.first).cloned().unwrap_or_default();
                if path.starts_with(&events_dir) && path.ends_with(".log") {
                    segment_writes += 1;
                    unsynced_segments.insert(path, true);
                } else if call.rest.starts_with("\"HTTP/1.1 200") {
                    acknowledgements += 1;
                    let unsynced: Vec<&String> = unsynced_segments
                        .iter()
                        .filter(|(_, dirty)| **dirty)
                        .map(|(path, _)| path)
                        .collect();
                    assert!(
                        unsynced.is_empty(),
                        "an acknowledgement was written while {unsynced:?} had unsynced writes"
                    );
                    assert!(
                        created_segments == 0 || directory_synced_after_create,
                        "an acknowledgement was written before the new segment's directory entry was synced"
                    );
                }
            }
            "fsync" | "fdatasync" if call.result == Some(0) => {
                let path = open.get(&call.first).cloned().unwrap_or_default();
                if path == events_dir || path == format!("{events_dir}/") {
                    directory_synced_after_create = true;
                }
                if let Some(dirty) = unsynced_segments.get_mut(&path) {
                    segment_syncs += 1;
                    *dirty = false;
                }
            }
            _ => {}
        }
    }
    assert!(
        acknowledgements >= 3,
        "the trace shows {acknowledgements} acknowledgements; expected the test's three"
    );
    // The check means something only if the trace saw the log being written and synced.
    assert!(
        segment_writes >= 3 && segment_syncs >= 3,
        "the trace shows {segment_writes} writes to the log and {segment_syncs} syncs"
    );
    assert!(
        created_segments >= 1,
        "the trace shows no segment created under {events_dir}"
    );
}
