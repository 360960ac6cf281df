//! Hostile, broken and slow senders against the real transports on loopback: no message, clock
//! or client may stop ingest or blind detection. Each test reproduces one way a single sender
//! could stop or blind the service, and checks that it no longer can. Every loop is bounded in
//! count and time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use seam_serve::client::HttpClient;

const INACTIVE: &str = "rule=seam.inactive-person-credential";

/// A message over the size limit on a subscribed topic used to make the client drop the
/// connection; the broker sent it again on every reconnection, so all ingest stopped for good
/// (and `/readyz` stayed 503, refusing HTTP too). Now it is a dead letter, acknowledged, and
/// what follows it is read.
#[test]
fn an_oversized_mqtt_message_is_a_dead_letter_and_ingest_goes_on() {
    require_broker();
    let dir = tempfile::tempdir().unwrap();
    let base = unique("seam-test");
    let client_id = unique("seam-serve-test");
    let mut config = mqtt_config(dir.path(), &client_id, &base);
    config.sources.push(http_source("okta", "okta"));
    let server = start(&config);
    let event_id = (now_ms() % 1_000_000_000) as u64 + 11;
    let huge = "x".repeat(2 << 20);
    publish(&[
        (format!("{base}/uhppoted/gateway/events"), huge),
        (
            format!("{base}/uhppoted/gateway/events"),
            uhppote_swipe(4415, event_id, now_ms() - 1000),
        ),
    ]);
    let api = server.addresses().api;
    let found = wait_findings(api, INACTIVE, 1);
    assert_eq!(related(&found[0]), [format!("405419896-{event_id}")]);
    let letters = dead_letters(api);
    assert_eq!(letters.len(), 1, "{letters:?}");
    let reason = letters[0]["reason"].as_str().unwrap();
    assert!(reason.contains("2097152 bytes"), "{reason}");
    let ready = HttpClient::new(server.addresses().http)
        .get("/readyz")
        .unwrap();
    assert_eq!(ready.status, 200, "{}", ready.text());
    server.shutdown().unwrap();

    // After a restart the broker has nothing to send again: the letter was acknowledged.
    let server = start(&config);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(dead_letters(server.addresses().api).len(), 1);
    server.shutdown().unwrap();
}

/// With the broker unreachable, the MQTT sources are unhealthy and say so, but HTTP ingest
/// goes on: one transport's trouble never makes another refuse.
#[test]
fn an_unreachable_broker_does_not_stop_http_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let base = unique("seam-test");
    let mut config = mqtt_config(dir.path(), &unique("seam-serve-test"), &base);
    // Nothing listens on port 1 of loopback.
    config.mqtt.as_mut().unwrap().port = 1;
    config.sources.push(http_source("okta", "okta"));
    let server = seam_serve::Server::start(&config, estate(), rules()).unwrap();
    let http = server.addresses().http;
    let mut client = HttpClient::new(http);
    let deadline = Instant::now() + Duration::from_secs(10);
    let ready = loop {
        let ready = client.get("/readyz").unwrap();
        if ready.status == 200 || Instant::now() > deadline {
            break ready;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert_eq!(ready.json()["status"], "degraded");
    assert_eq!(
        ready.json()["sources"]["doors"],
        "waiting for the MQTT broker"
    );
    let one = client.get("/readyz?source=doors").unwrap();
    assert_eq!(one.status, 503, "{}", one.text());
    assert_eq!(client.get("/readyz?source=okta").unwrap().status, 200);

    let body = serde_json::json!([{
        "uuid": unique("okta"),
        "published": rfc3339(now_ms() - 1000),
        "eventType": "user.session.start",
        "actor": {"id": "00u1heidi", "alternateId": "heidi@example.com", "type": "User"},
        "client": {"ipAddress": "198.51.100.77"},
        "outcome": {"result": "SUCCESS"},
    }])
    .to_string();
    let response = client
        .post(
            "/v1/ingest/okta",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        )
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["accepted"], 1);
    server.shutdown().unwrap();
}
