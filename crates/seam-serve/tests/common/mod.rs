//! What the service tests share: the example estate and rule pack from the repository, a
//! service on loopback ports chosen by the system, and waiting for findings.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use seam_engine::CompiledRules;
use seam_estate::Estate;
use seam_rules::SourceFile;
use seam_serve::client::HttpClient;
use seam_serve::{
    AdapterChoice, EngineSettings, HttpConfig, ServeConfig, Server, SourceConfig, Transport,
};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn estate() -> Arc<Estate> {
    Arc::new(Estate::load_dir(&repo().join("examples/estate")).expect("example estate"))
}

/// A rule for the tests only: every visitor sign-in (Envoy) is a finding.
pub const VISITOR_RULE: &str = r#"
title: Visitor signed in
id: test.visitor-signed-in
status: test
level: low
author: Seam tests
logsource: {product: seam}
detection:
  signed_in:
    class: visitor
    activity: check_in
  condition: signed_in
explanation: "{subject.user} signed in"
"#;

/// The default rule pack plus the test rule.
pub fn rules() -> Arc<CompiledRules> {
    let mut files: Vec<SourceFile> = std::fs::read_dir(repo().join("rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .map(|p| SourceFile {
            path: p.display().to_string(),
            text: std::fs::read_to_string(&p).unwrap(),
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files.push(SourceFile {
        path: "test/visitor.yml".into(),
        text: VISITOR_RULE.into(),
    });
    Arc::new(CompiledRules::compile(&files).unwrap_or_else(|e| panic!("rules: {e:?}")))
}

pub fn http_source(name: &str, adapter: &str) -> SourceConfig {
    SourceConfig::new(
        name,
        AdapterChoice::One(seam_adapters::Adapter::from_name(adapter).unwrap()),
        Transport::Http,
    )
}

/// A configuration on loopback port 0 with a quick watermark: no lateness, heartbeats every
/// 100 ms (the tests' events carry the current time).
pub fn config(data_dir: &Path, mut sources: Vec<SourceConfig>) -> ServeConfig {
    // The tests' cloud sources send in order too: no lateness of their own.
    for source in &mut sources {
        source.lateness_ms = None;
    }
    ServeConfig {
        data_dir: data_dir.to_path_buf(),
        store_url: None,
        file_digest: None,
        rules_digest: None,
        estate: None,
        rules: None,
        http: HttpConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            api: None,
            tls: None,
            max_body_bytes: 1 << 20,
            max_inflight_bytes: 64 << 20,
        },
        engine: EngineSettings {
            lateness_ms: 0,
            heartbeat_ms: 100,
            // The tests' data is small; a machine with little free space still runs them.
            min_free_disk_bytes: 1 << 20,
            ..EngineSettings::default()
        },
        mqtt: None,
        sources,
        limits: seam_serve::ConnectionLimits::default(),
        dead_letters: seam_serve::DeadLetterLimits::default(),
        directory: Default::default(),
        audit: Default::default(),
        access: Default::default(),
        retention: Default::default(),
        cases: Default::default(),
    }
}

pub fn start(config: &ServeConfig) -> Server {
    let server = Server::start(config, estate(), rules()).expect("the service starts");
    assert!(
        server.wait_ready(Duration::from_secs(20)),
        "the service did not become ready"
    );
    server
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// RFC 3339 (UTC, ms) of `ms` since the epoch.
pub fn rfc3339(ms: i64) -> String {
    seam_model::Ts(ms).to_string()
}

/// Polls `/v1/findings?{query}` until at least `n` are listed (or 15 s pass); returns them.
pub fn wait_findings(api: SocketAddr, query: &str, n: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut client = HttpClient::new(api);
    loop {
        let response = client.get(&format!("/v1/findings?{query}")).unwrap();
        assert_eq!(response.status, 200, "{}", response.text());
        let found = response.json()["findings"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if found.len() >= n || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The uids of the events a finding rests on.
pub fn related(finding: &serde_json::Value) -> Vec<String> {
    finding["finding_info"]["related_events"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["uid"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Dead letters listed by the API.
pub fn dead_letters(api: SocketAddr) -> Vec<serde_json::Value> {
    let response = HttpClient::new(api)
        .get("/v1/dead-letters?limit=1000")
        .unwrap();
    assert_eq!(response.status, 200);
    response.json()["dead_letters"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// A value of `/metrics`.
pub fn metric(api: SocketAddr, name: &str, labels: &str) -> f64 {
    let text = HttpClient::new(api).get("/metrics").unwrap().text();
    seam_serve::bench::metric(&text, name, labels).unwrap_or(0.0)
}

/// A name no other test run uses (MQTT topics and client ids share one broker).
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

pub fn require_broker() {
    if TcpStream::connect_timeout(&"127.0.0.1:1883".parse().unwrap(), Duration::from_secs(2))
        .is_err()
    {
        panic!(
            "the MQTT tests need Mosquitto on 127.0.0.1:1883 (Debian: apt-get install mosquitto, then start it); it is not reachable"
        );
    }
}

/// Publishes with QoS 1 and waits for the broker's PUBACKs.
pub fn publish(messages: &[(String, String)]) {
    let bytes: Vec<(String, Vec<u8>)> = messages
        .iter()
        .map(|(topic, payload)| (topic.clone(), payload.clone().into_bytes()))
        .collect();
    publish_bytes(&bytes);
}

/// Publishes any bytes with QoS 1 and waits for the broker's PUBACKs.
pub fn publish_bytes(messages: &[(String, Vec<u8>)]) {
    let mut options = rumqttc::MqttOptions::new(unique("seam-test-pub"), "127.0.0.1", 1883);
    options.set_keep_alive(Duration::from_secs(5));
    // Large enough for the oversized messages of the hostile-sender tests.
    options.set_max_packet_size(8 << 20, 8 << 20);
    let (client, mut connection) = rumqttc::Client::new(options, 64);
    for (topic, payload) in messages {
        client
            .publish(
                topic.clone(),
                rumqttc::QoS::AtLeastOnce,
                false,
                payload.clone(),
            )
            .unwrap();
    }
    let mut acked = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while acked < messages.len() {
        assert!(
            Instant::now() < deadline,
            "the broker did not acknowledge the test's messages"
        );
        match connection.recv_timeout(Duration::from_secs(1)) {
            Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_)))) => acked += 1,
            Ok(Err(error)) => panic!("mqtt publish: {error}"),
            _ => {}
        }
    }
    let _ = client.disconnect();
}

pub fn mqtt_config(dir: &std::path::Path, client_id: &str, base: &str) -> ServeConfig {
    let mut zones = seam_adapters::ZoneMap::new();
    zones.insert("hq-server-radar".into(), "hq-server".into());
    let mut doors = SourceConfig::new(
        "doors",
        AdapterChoice::One(seam_adapters::Adapter::Uhppote),
        Transport::Mqtt {
            topics: vec![format!("{base}/uhppoted/gateway/events/#")],
        },
    );
    doors.timezone = Some("UTC".into());
    let sensors = SourceConfig::new(
        "sensors",
        AdapterChoice::One(seam_adapters::Adapter::Zigbee2Mqtt(zones)),
        Transport::Mqtt {
            topics: vec![format!("{base}-z2m/#")],
        },
    );
    let mut config = config(dir, vec![doors, sensors]);
    config.mqtt = Some(seam_serve::MqttConfig {
        host: "127.0.0.1".into(),
        port: 1883,
        client_id: client_id.into(),
        username: None,
        password: None,
        tls: None,
        allow_plaintext_credentials: false,
    });
    config
}

pub fn uhppote_swipe(card: u32, event_id: u64, at_ms: i64) -> String {
    let at = seam_model::Ts(at_ms).to_timestamp().unwrap();
    serde_json::json!({"message": {"event": {
        "access-granted": true,
        "card-number": card,
        "device-id": 405419896,
        "direction": 1,
        "door-id": 1,
        "event-id": event_id,
        "event-reason": 1,
        "event-reason-text": "swipe",
        "event-type": 1,
        "timestamp": at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
    }}})
    .to_string()
}

/// An Envoy visitor sign-in webhook body.
pub fn envoy_body(entry: &str, at: i64) -> String {
    serde_json::json!({
        "meta": {"event": "entry_sign_in"},
        "payload": {"id": entry, "type": "entries", "attributes": {
            "full-name": "Grace Liu",
            "email": "grace@visitor.example.org",
            "signed-in-at": rfc3339(at),
            "host-email": "alice@example.com",
        }},
    })
    .to_string()
}
