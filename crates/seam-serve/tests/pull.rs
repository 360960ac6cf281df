//! ServiceNow change requests pulled on a schedule into the engine: the first pull asks for
//! what is open, later ones for what changed since the newest update made durable, a restart
//! resumes from there, and an approved change silences the rule that respects it. The Table
//! API is played by a small HTTP server in this file (Seam has no ServiceNow instance to call);
//! it answers with the API's envelope, paging and time format.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use seam_serve::ServeConfig;
use seam_serve::client::HttpClient;

/// The change records the stand-in holds, and the queries it was asked.
#[derive(Default)]
struct Table {
    records: Vec<serde_json::Value>,
    queries: Vec<String>,
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// Serves `GET /api/now/table/change_request` with Basic credentials `seam:secret-password`.
fn stand_in(table: Arc<Mutex<Table>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut authorized = false;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                // base64("seam:secret-password")
                if line
                    .eq_ignore_ascii_case("authorization: Basic c2VhbTpzZWNyZXQtcGFzc3dvcmQ=\r\n")
                {
                    authorized = true;
                }
            }
            let target = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_string();
            let (status, body) = if !authorized {
                (
                    "401 Unauthorized",
                    r#"{"error":{"message":"User Not Authenticated"}}"#.to_string(),
                )
            } else {
                let query: std::collections::HashMap<String, String> = target
                    .split_once('?')
                    .map(|(_, q)| q)
                    .unwrap_or("")
                    .split('&')
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(k, v)| (k.to_string(), percent_decode(v)))
                    .collect();
                let mut table = table.lock().unwrap();
                let filter = query["sysparm_query"].clone();
                table.queries.push(filter.clone());
                let condition = filter.split('^').next().unwrap();
                let (field, bound) = condition.split_once(">=").unwrap();
                let mut selected: Vec<serde_json::Value> = table
                    .records
                    .iter()
                    .filter(|r| r[field]["value"].as_str().unwrap() >= bound)
                    .cloned()
                    .collect();
                selected
                    .sort_by_key(|r| r["sys_updated_on"]["value"].as_str().unwrap().to_string());
                let limit: usize = query["sysparm_limit"].parse().unwrap();
                let offset: usize = query["sysparm_offset"].parse().unwrap();
                let page: Vec<_> = selected.into_iter().skip(offset).take(limit).collect();
                ("200 OK", serde_json::json!({ "result": page }).to_string())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

/// `YYYY-MM-DD HH:MM:SS` in UTC, as the Table API writes values.
fn table_time(ms: i64) -> String {
    rfc3339(ms)[..19].replacen('T', " ", 1)
}

fn change(
    number: &str,
    assignee: &str,
    updated: i64,
    window: (i64, i64),
    state: &str,
) -> serde_json::Value {
    let value = |v: String| serde_json::json!({ "display_value": v, "value": v });
    serde_json::json!({
        "sys_id": format!("{:0>32}", number.trim_start_matches("CHG")),
        "number": number,
        "state": value(state.to_string()),
        "approval": value("approved".to_string()),
        "start_date": value(table_time(window.0)),
        "end_date": value(table_time(window.1)),
        "cmdb_ci": value("hq-db1".to_string()),
        "assigned_to.user_name": assignee,
        "sys_updated_on": value(table_time(updated)),
    })
}

fn serve_config(dir: &std::path::Path, table: SocketAddr, password: &str) -> ServeConfig {
    let text = format!(
        r#"
data_dir = "data"
[http]
listen = "127.0.0.1:0"
[engine]
lateness_secs = 0
heartbeat_ms = 100
min_free_disk_mb = 1

[[source]]
name = "servicenow"
adapter = "servicenow"
transport = "pull"
url = "http://{table}/api/now/table/change_request"
every_secs = 1
page_size = 2
credentials = {{ kind = "basic", user = "seam", secret = "{password}" }}

[[source]]
name = "servers"
adapter = "ndjson"
"#
    );
    ServeConfig::from_toml("serve.toml", &text, dir).unwrap()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A console sign-in at hq-db1 (its server room, after hours: an hour before midnight UTC).
fn console_signin(uid: &str, user: &str, at: i64) -> String {
    serde_json::json!({
        "uid": uid, "time": rfc3339(at), "source": "servers", "class": "authentication",
        "activity": "logon", "outcome": "success", "app": "pam:login",
        "subject": {"user": user}, "asset": "hq-db1"
    })
    .to_string()
}

#[test]
fn changes_are_pulled_incrementally_resume_after_a_restart_and_silence_covered_work() {
    let dir = tempfile::tempdir().unwrap();
    let table = Arc::new(Mutex::new(Table::default()));
    let addr = stand_in(Arc::clone(&table));
    let now = now_ms();
    let midnight = now - now.rem_euclid(86_400_000);
    // The latest 23:00 UTC at least ten minutes past: the pull asks for changes that ended
    // within a day, so yesterday's window would be too old after 23:30.
    let night = if midnight + 23 * 3_600_000 <= now - 600_000 {
        midnight + 23 * 3_600_000
    } else {
        midnight - 3_600_000
    };
    let window = (night - 1_800_000, night + 1_800_000);
    {
        let mut table = table.lock().unwrap();
        // Three records: more than a page of two, so the pull pages.
        table
            .records
            .push(change("CHG0000001", "bob", now - 7_200_000, window, "-2"));
        table
            .records
            .push(change("CHG0000002", "carol", now - 7_100_000, window, "-3"));
        table.records.push(change(
            "CHG0000003",
            "frank",
            now - 7_000_000,
            (now - 40 * 86_400_000, now - 39 * 86_400_000),
            "3",
        ));
    }

    // Wrong credentials: the source is reported, the service stays up.
    let wrong = serve_config(dir.path(), addr, "wrong-password-here");
    // Not `start`: a source that cannot pull keeps the service from being wholly ready.
    let server = seam_serve::Server::start(&wrong, estate(), rules()).unwrap();
    let api = server.addresses().api;
    wait_until("a failed pull", || {
        metric(api, "seam_pull_failures_total", "source=\"servicenow\"") >= 1.0
    });
    let ready = HttpClient::new(api)
        .get("/readyz?source=servicenow")
        .unwrap();
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert_eq!(HttpClient::new(api).get("/readyz").unwrap().status, 200);
    server.shutdown().unwrap();
    table.lock().unwrap().queries.clear();

    let config = serve_config(dir.path(), addr, "secret-password");
    let server = start(&config);
    let api = server.addresses().api;
    wait_until("the changes stored", || {
        metric(api, "seam_events_stored_total", "source=\"servicenow\"") >= 2.0
    });
    {
        let table = table.lock().unwrap();
        // The first pull asks for what is open, by planned end; paged by two.
        assert!(
            table.queries[0].starts_with("end_date>="),
            "{:?}",
            table.queries
        );
        assert!(
            table.queries[1].starts_with("end_date>="),
            "{:?}",
            table.queries
        );
    }
    // Then only what changed since the newest update (the boundary read again, stored once).
    let cursor = table_time(now - 7_100_000);
    wait_until("an incremental pull", || {
        table
            .lock()
            .unwrap()
            .queries
            .iter()
            .any(|q| q == &format!("sys_updated_on>={cursor}^ORDERBYsys_updated_on"))
    });
    // The closed change updated after the cursor comes with it; pulled again and again, each
    // update is stored once.
    wait_until("the closed change", || {
        metric(api, "seam_events_stored_total", "source=\"servicenow\"") >= 3.0
    });
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(
        metric(api, "seam_events_stored_total", "source=\"servicenow\""),
        3.0
    );

    // Bob works on hq-db1 inside his approved change: silenced. Dan has no change: a finding.
    let body = format!(
        "{}\n{}\n",
        console_signin("bob-console", "bob", night),
        console_signin("dan-console", "dan", night + 60_000)
    );
    let response = HttpClient::new(server.addresses().http)
        .post(
            "/v1/ingest/servers",
            &[("content-type", "application/x-ndjson")],
            body.as_bytes(),
        )
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    let found = wait_findings(api, "rule=seam.server-console-no-badge", 1);
    std::thread::sleep(Duration::from_millis(500));
    let found_again = wait_findings(api, "rule=seam.server-console-no-badge", 1);
    assert_eq!(found.len(), 1);
    assert_eq!(found_again.len(), 1);
    assert_eq!(related(&found[0]), ["dan-console"]);

    // A new update after a restart: the saved cursor is used, not the first pull's query.
    server.shutdown().unwrap();
    table.lock().unwrap().queries.clear();
    table
        .lock()
        .unwrap()
        .records
        .push(change("CHG0000004", "dan", now - 1_000, window, "-1"));
    let server = start(&config);
    let api = server.addresses().api;
    wait_until("the new change", || {
        metric(api, "seam_events_stored_total", "source=\"servicenow\"") >= 1.0
    });
    let queries = table.lock().unwrap().queries.clone();
    assert!(queries[0].starts_with("sys_updated_on>="), "{queries:?}");
    server.shutdown().unwrap();
}
