//! The service as a whole: the read API and its live stream, health and metrics, and a
//! graceful restart that resumes from the snapshot without replaying or repeating anything.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::Duration;

use common::*;
use seam_serve::client::{EventStream, HttpClient};
use seam_store::Store;

fn sign_in(uid: &str, user: &str, at: i64) -> String {
    format!(
        "{{\"uid\":\"{uid}\",\"time\":\"{}\",\"source\":\"ndjson\",\"class\":\"authentication\",\"activity\":\"logon\",\"outcome\":\"success\",\"subject\":{{\"user\":\"{user}\"}}}}\n",
        rfc3339(at)
    )
}

#[test]
fn findings_are_listed_filtered_and_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&config(dir.path(), vec![http_source("ndjson", "ndjson")]));
    let api = server.addresses().api;
    let mut stream = EventStream::open(
        api,
        "/v1/findings/stream?rule=seam.inactive-person-credential",
        Duration::from_secs(10),
    )
    .unwrap();
    let mut client = HttpClient::new(server.addresses().http);
    let base = now_ms() - 60_000;
    let mut body = String::new();
    for i in 0..5 {
        body.push_str(&sign_in(
            &format!("s-{i}"),
            "heidi@example.com",
            base + i * 1000,
        ));
    }
    // Erin was dismissed: her account too.
    body.push_str(&sign_in("s-erin", "erin@example.com", base + 10_000));
    let response = client
        .post("/v1/ingest/ndjson", &[], body.as_bytes())
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());

    let first = stream.next_event().unwrap();
    assert_eq!(first.event, "finding");
    let finding: serde_json::Value = serde_json::from_str(&first.data).unwrap();
    assert_eq!(first.id, finding["finding_info"]["uid"].as_str().unwrap());
    assert_eq!(finding["class_uid"], 2004);

    let all = wait_findings(api, "limit=100", 6);
    assert_eq!(all.len(), 6);
    assert_eq!(wait_findings(api, "person=erin", 1).len(), 1);
    assert_eq!(wait_findings(api, "person=heidi&limit=2", 2).len(), 2);
    let since = rfc3339(base + 2000);
    let until = base + 4000;
    let window = wait_findings(api, &format!("since={since}&until={until}"), 2);
    assert_eq!(window.len(), 2, "{window:?}");
    assert_eq!(wait_findings(api, "rule=seam.no-such-rule", 0).len(), 0);
    server.shutdown().unwrap();
}

#[test]
fn health_readiness_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&config(dir.path(), vec![http_source("ndjson", "ndjson")]));
    let mut client = HttpClient::new(server.addresses().http);
    assert_eq!(client.get("/healthz").unwrap().status, 200);
    let ready = client.get("/readyz").unwrap();
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["status"], "ready");
    let body = sign_in("m-1", "heidi@example.com", now_ms() - 1000);
    client
        .post("/v1/ingest/ndjson", &[], body.as_bytes())
        .unwrap();
    wait_findings(server.addresses().api, "", 1);
    let metrics = client.get("/metrics").unwrap();
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = metrics.text();
    for series in [
        "seam_events_stored_total{source=\"ndjson\"} 1",
        "seam_findings_total{rule=\"seam.inactive-person-credential\"} 1",
        "seam_engine_events_total 1",
        "# TYPE seam_watermark_delay_seconds gauge",
        "seam_engine_lag_events ",
        "seam_writer_queue_depth 0",
        "seam_udp_dropped_total",
    ] {
        assert!(text.contains(series), "no `{series}` in\n{text}");
    }
    server.shutdown().unwrap();
}

#[test]
fn a_graceful_restart_resumes_from_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), vec![http_source("ndjson", "ndjson")]);
    let base = now_ms() - 120_000;
    let server = start(&config);
    let mut client = HttpClient::new(server.addresses().http);
    let mut body = String::new();
    for i in 0..5 {
        body.push_str(&sign_in(
            &format!("r-{i}"),
            "heidi@example.com",
            base + i * 1000,
        ));
    }
    assert_eq!(
        client
            .post("/v1/ingest/ndjson", &[], body.as_bytes())
            .unwrap()
            .status,
        200
    );
    assert_eq!(wait_findings(server.addresses().api, "", 5).len(), 5);
    server.shutdown().unwrap();

    let server = start(&config);
    let api = server.addresses().api;
    // Nothing was replayed: the snapshot taken at the stop covers the whole log.
    assert_eq!(metric(api, "seam_engine_events_total", ""), 0.0);
    assert_eq!(metric(api, "seam_findings_total", ""), 0.0);
    let mut client = HttpClient::new(server.addresses().http);
    // The old events again (a sender retrying) and new ones.
    let mut more = body.clone();
    for i in 5..8 {
        more.push_str(&sign_in(
            &format!("r-{i}"),
            "heidi@example.com",
            base + i * 1000,
        ));
    }
    let response = client
        .post("/v1/ingest/ndjson", &[], more.as_bytes())
        .unwrap();
    assert_eq!(response.json()["duplicates"], 5);
    assert_eq!(wait_findings(api, "", 8).len(), 8);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(metric(api, "seam_findings_total", ""), 3.0);
    server.shutdown().unwrap();

    // The store holds every event once, heartbeats aside.
    let store = seam_store::EmbeddedStore::open(dir.path()).unwrap();
    let (records, _) = store.read_events(0, 10_000).unwrap();
    let events: Vec<&String> = records
        .iter()
        .filter(|r| !r.starts_with("{\"heartbeat\"") && !r.starts_with("{\"clock\""))
        .collect();
    assert_eq!(events.len(), 8);
    assert_eq!(store.counts().unwrap().findings, 8);
    let snapshot = store.latest_snapshot().unwrap().unwrap();
    assert_eq!(snapshot.log_position, store.log_position().unwrap());
}

#[test]
fn a_second_service_on_the_same_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), vec![http_source("ndjson", "ndjson")]);
    let server = start(&config);
    let error = seam_serve::Server::start(&config, estate(), rules()).unwrap_err();
    assert!(error.to_string().contains("already open"), "{error}");
    server.shutdown().unwrap();
}
