//! `seam serve` as a process: the kill -9 test (nothing acknowledged is lost, no finding is
//! missed or repeated), a configuration file with authentication, SIGTERM, and the defaults.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use seam_serve::client::HttpClient;
use seam_store::Store;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A running `seam serve`, killed if the test fails before stopping it.
struct Serve {
    child: Child,
    http: SocketAddr,
    output: Receiver<String>,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str], cwd: &Path) -> Serve {
    serve_with_env(args, cwd, &[])
}

fn serve_with_env(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Serve {
    let mut child = Command::new(env!("CARGO_BIN_EXE_seam"))
        .arg("serve")
        .args(args)
        .envs(env.iter().copied())
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines, output) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    // Owned from here on, so that a failing test still kills it.
    let mut serve = Serve {
        child,
        http: SocketAddr::from(([127, 0, 0, 1], 0)),
        output,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = serve
            .output
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("seam serve {args:?} did not start listening"));
        if line.contains("listening:") {
            let (http, _) = seam_serve::bench::parse_listening(&line).unwrap();
            seam_serve::bench::wait_ready(http, Duration::from_secs(30)).unwrap();
            serve.http = http;
            return serve;
        }
    }
}

impl Serve {
    /// SIGTERM, then the exit status and everything it printed.
    fn terminate(mut self) -> (bool, String) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        let exit = loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                break exit;
            }
            assert!(
                Instant::now() < deadline,
                "seam serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let text: Vec<String> = self.output.try_iter().collect();
        (exit.success(), text.join("\n"))
    }
}

const KILL_CONFIG: &str = r#"
data_dir = "data"
[http]
listen = "127.0.0.1:0"
[engine]
lateness_secs = 0
heartbeat_ms = 0
snapshot_every_events = 250
[[source]]
name = "idp"
adapter = "ndjson"
"#;

const BATCH: usize = 20;

/// How many times the service is killed: once in CI; the long variant outside it sets
/// `SEAM_KILL9_ROUNDS` (`SEAM_KILL9_ROUNDS=100 cargo test -p seam --test serve_cli kill_9`).
fn kill_rounds() -> usize {
    std::env::var("SEAM_KILL9_ROUNDS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, 10_000)
}

/// The events sent: 2,400 for one kill, 2,400 more for every two further kills.
fn total_events() -> usize {
    2400 * kill_rounds().div_ceil(2).max(1)
}

/// The test's event stream: sign-ins one second apart (so the log is in time order), every
/// tenth by a suspended person (a single-event finding), the others by people whose sign-ins
/// alternate between Amsterdam and New York (impossible travel: findings that need the
/// per-person state carried across the crash). Ivan and Judy sign in only every 600 events,
/// half a cycle apart: the replay after a crash (at most a snapshot interval, 250 events, plus
/// a batch) never holds both of their previous sign-ins, so their next ones come out right only
/// if the state was restored from the snapshot.
fn event(i: usize, start_ms: i64) -> String {
    let at = seam_model::Ts(start_ms + i as i64 * 1000);
    let (user, turn) = match i % 600 {
        5 => ("ivan@example.com", i / 600),
        305 => ("judy@example.com", i / 600),
        _ if i.is_multiple_of(10) => ("heidi@example.com", 0),
        _ => (
            [
                "alice@example.com",
                "bob@example.com",
                "carol@example.com",
                "dan@example.com",
            ][i % 4],
            i / 4,
        ),
    };
    let (city, lat, lon) = if turn % 2 == 0 {
        ("New York", 40.71, -74.01)
    } else {
        ("Amsterdam", 52.37, 4.90)
    };
    format!(
        "{{\"uid\":\"k-{i}\",\"time\":\"{at}\",\"source\":\"idp\",\"class\":\"authentication\",\"activity\":\"logon\",\"outcome\":\"success\",\"subject\":{{\"user\":\"{user}\"}},\"src\":{{\"ip\":\"192.0.2.{}\",\"city\":\"{city}\",\"lat\":{lat},\"lon\":{lon}}}}}",
        i % 250 + 1
    )
}

fn body(batch: usize, start_ms: i64) -> String {
    (batch * BATCH..(batch + 1) * BATCH)
        .map(|i| event(i, start_ms) + "\n")
        .collect()
}

/// Sends batches from `first` on, in order, each retried while the service is busy; records
/// acknowledged uids. Returns the first batch not acknowledged (the service went away).
fn send(
    http: SocketAddr,
    first: usize,
    start_ms: i64,
    acked: &Mutex<Vec<String>>,
    acked_batches: &AtomicUsize,
) -> usize {
    let mut client = HttpClient::new(http).with_timeout(Duration::from_secs(10));
    for batch in first..total_events() / BATCH {
        let text = body(batch, start_ms);
        let mut tries = 0;
        loop {
            match client.post("/v1/ingest/idp", &[], text.as_bytes()) {
                Ok(response) if response.status == 200 => {
                    assert_eq!(
                        response.json()["accepted"],
                        BATCH as u64,
                        "{}",
                        response.text()
                    );
                    let mut acked = acked.lock().unwrap();
                    for i in batch * BATCH..(batch + 1) * BATCH {
                        acked.push(format!("k-{i}"));
                    }
                    acked_batches.fetch_add(1, Ordering::SeqCst);
                    break;
                }
                Ok(response) if response.status == 503 && tries < 200 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok(response) => panic!("ingest answered {}: {}", response.status, response.text()),
                Err(_) => return batch,
            }
        }
    }
    total_events() / BATCH
}

#[test]
fn kill_9_loses_nothing_acknowledged_and_misses_or_repeats_no_finding() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("serve.toml"), KILL_CONFIG).unwrap();
    let args = ["--config", "serve.toml"];
    let start_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 3 * 3_600_000;
    let acked = Arc::new(Mutex::new(Vec::new()));
    let acked_batches = Arc::new(AtomicUsize::new(0));

    // Sustained ingest, killed with SIGKILL in the middle of it, as many times as asked;
    // each restart resends from the first batch not acknowledged.
    let batches = total_events() / BATCH;
    let mut resume_at = 0;
    for round in 0..kill_rounds() {
        let mut run = serve(&args, dir.path());
        let sender = {
            let (http, acked, acked_batches) =
                (run.http, Arc::clone(&acked), Arc::clone(&acked_batches));
            let from = resume_at;
            std::thread::spawn(move || send(http, from, start_ms, &acked, &acked_batches))
        };
        // The first kill comes after 47 batches (as it always has); the next ones after a
        // varying few, never after the last batch.
        let kill_after = if round == 0 { 47 } else { 3 + (round * 7) % 11 };
        let target = (resume_at + kill_after).min(batches - 1);
        let deadline = Instant::now() + Duration::from_secs(30);
        while acked_batches.load(Ordering::SeqCst) < target {
            assert!(Instant::now() < deadline, "ingest is too slow");
            std::thread::sleep(Duration::from_millis(1));
        }
        run.child.kill().unwrap(); // SIGKILL
        run.child.wait().unwrap();
        resume_at = sender.join().unwrap();
        assert!(resume_at < batches, "the kill came after the last batch");
        assert!(acked.lock().unwrap().len() >= target * BATCH);
    }

    // The last run on the same data: the sender resends from its first unacknowledged batch.
    let last = serve(&args, dir.path());
    let finished = send(last.http, resume_at, start_ms, &acked, &acked_batches);
    assert_eq!(finished, batches);
    let (stopped, output) = last.terminate();
    assert!(stopped, "{output}");

    // Every event is in the log exactly once, and every acknowledged one among them.
    let store = seam_store::EmbeddedStore::open(&dir.path().join("data")).unwrap();
    let mut records = Vec::new();
    let mut position = 0;
    loop {
        let (batch, next) = store.read_events(position, 10_000).unwrap();
        if batch.is_empty() {
            break;
        }
        records.extend(batch);
        position = next;
    }
    let events: Vec<seam_model::Event> = records
        .iter()
        .filter(|r| !r.starts_with("{\"heartbeat\"") && !r.starts_with("{\"clock\""))
        .map(|r| serde_json::from_str(r).unwrap())
        .collect();
    let mut copies: BTreeMap<&str, usize> = BTreeMap::new();
    for event in &events {
        *copies.entry(event.uid.as_str()).or_default() += 1;
    }
    assert_eq!(events.len(), total_events(), "events stored");
    assert!(copies.values().all(|n| *n == 1));
    for uid in acked.lock().unwrap().iter() {
        assert_eq!(
            copies.get(uid.as_str()),
            Some(&1),
            "acknowledged {uid} is not stored once"
        );
    }

    // The stored findings are exactly those of one clean run over the same log.
    let estate = Arc::new(seam_estate::Estate::load_dir(&repo().join("examples/estate")).unwrap());
    let mut rule_files: Vec<seam_rules::SourceFile> = std::fs::read_dir(repo().join("rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .map(|p| seam_rules::SourceFile {
            path: p.display().to_string(),
            text: std::fs::read_to_string(&p).unwrap(),
        })
        .collect();
    rule_files.sort_by(|a, b| a.path.cmp(&b.path));
    let rules = Arc::new(seam_engine::CompiledRules::compile(&rule_files).unwrap());
    let mut engine = seam_engine::Engine::new(
        estate,
        rules,
        seam_engine::EngineConfig {
            allowed_lateness_ms: 0,
            ..seam_engine::EngineConfig::default()
        },
    );
    let mut out = seam_engine::Output::default();
    for event in events {
        engine.push(event, &mut out);
    }
    let expected: BTreeSet<String> = out.findings.iter().map(|f| f.uid().to_string()).collect();
    let stored: BTreeSet<String> = store
        .findings(&seam_store::FindingFilter::default())
        .unwrap()
        .into_iter()
        .map(|f| f.uid)
        .collect();
    assert_eq!(
        expected.len(),
        out.findings.len(),
        "a clean run repeats no finding"
    );
    let rules_found: BTreeSet<String> = out
        .findings
        .iter()
        .map(|f| f.rule_id().to_string())
        .collect();
    assert!(
        rules_found.contains("seam.impossible-travel"),
        "{rules_found:?}"
    );
    assert!(
        rules_found.contains("seam.inactive-person-credential"),
        "{rules_found:?}"
    );
    let missed: Vec<&String> = expected.difference(&stored).collect();
    let extra: Vec<&String> = stored.difference(&expected).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "missed {missed:?}, extra {extra:?}"
    );
}

#[test]
fn a_configuration_file_with_authentication_and_a_graceful_stop() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("serve.toml"),
        r#"
data_dir = "state"
[http]
listen = "127.0.0.1:0"
[engine]
lateness_secs = 0
[[source]]
name = "idp"
adapter = "ndjson"
auth = { kind = "bearer", secret_env = "SEAM_TEST_IDP_TOKEN" }
"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_seam"));
    // A missing secret is named, never shown.
    let output = child
        .args(["serve", "--config", "serve.toml"])
        .current_dir(dir.path())
        .env_remove("SEAM_TEST_IDP_TOKEN")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("SEAM_TEST_IDP_TOKEN"));

    let server = serve_with_env(
        &["--config", "serve.toml"],
        dir.path(),
        &[("SEAM_TEST_IDP_TOKEN", "idp-token-1-0123456789")],
    );
    let mut client = HttpClient::new(server.http);
    let now = seam_model::Ts(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
            - 1000,
    );
    let body = format!(
        "{{\"uid\":\"cfg-1\",\"time\":\"{now}\",\"source\":\"idp\",\"class\":\"authentication\",\"activity\":\"logon\",\"outcome\":\"success\",\"subject\":{{\"user\":\"heidi@example.com\"}}}}"
    );
    let refused = client.post("/v1/ingest/idp", &[], body.as_bytes()).unwrap();
    assert_eq!(refused.status, 401);
    let ok = client
        .post(
            "/v1/ingest/idp",
            &[("Authorization", "Bearer idp-token-1-0123456789")],
            body.as_bytes(),
        )
        .unwrap();
    assert_eq!(ok.status, 200, "{}", ok.text());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = client.get("/v1/findings").unwrap().json();
        if found["count"] == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "no finding");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (stopped, output) = server.terminate();
    assert!(stopped, "{output}");
    assert!(
        output.contains("SIGTERM") && output.contains("stopped"),
        "{output}"
    );
    assert!(
        !output.contains("idp-token-1-0123456789"),
        "the secret was printed: {output}"
    );
    assert!(dir.path().join("state/seam.db").exists());
}

#[test]
fn defaults_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    // No configuration: the example estate, the data in ./seam-data/serve.
    let server = serve(&["--http", "127.0.0.1:0"], dir.path());
    let mut client = HttpClient::new(server.http);
    assert_eq!(client.get("/readyz").unwrap().status, 200);
    let (stopped, output) = server.terminate();
    assert!(stopped, "{output}");
    assert!(dir.path().join("seam-data/serve/seam.db").exists());

    // Without `[access] required`, the API is never served off loopback.
    std::fs::write(
        dir.path().join("open.toml"),
        "[http]\nlisten = \"0.0.0.0:0\"\n[[source]]\nname = \"idp\"\nadapter = \"ndjson\"\nauth = { kind = \"bearer\", secret = \"x-0123456789abcdef\" }\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_seam"))
        .args(["serve", "--config", "open.toml"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("refusing to serve the API on 0.0.0.0:0 without authentication"),
        "{text}"
    );
    // Unauthenticated ingest off loopback is refused too.
    let output = Command::new(env!("CARGO_BIN_EXE_seam"))
        .args(["serve", "--http", "0.0.0.0:0", "--api", "127.0.0.1:0"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("has no authentication"));
}
