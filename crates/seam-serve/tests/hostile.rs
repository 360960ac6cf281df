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

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};

use seam_serve::{AdapterChoice, Auth, HmacAuth, Secret, Signed, SourceConfig, Transport};

fn syslog_source(name: &str, udp: bool, tcp: bool, max_message_bytes: usize) -> SourceConfig {
    SourceConfig::new(
        name,
        AdapterChoice::SyslogAuto,
        Transport::Syslog {
            udp: udp.then(|| "127.0.0.1:0".parse().unwrap()),
            tcp: tcp.then(|| "127.0.0.1:0".parse().unwrap()),
            tls: None,
            max_message_bytes,
        },
    )
}

fn hmac_source() -> SourceConfig {
    let mut source = http_source("envoy", "envoy");
    source.auth = Auth::Hmac(HmacAuth {
        secret: Secret::new("a-long-enough-shared-secret"),
        header: "X-Envoy-Signature".into(),
        signed: Signed::Body,
        timestamp_header: None,
        nonce_header: None,
        window_ms: 300_000,
    });
    source
}

fn bearer_source() -> SourceConfig {
    let mut source = http_source("ndjson", "ndjson");
    source.auth = Auth::Bearer(Secret::new("a-long-enough-bearer-token"));
    source
}

/// One NDJSON event the bearer source takes.
fn ndjson_event(uid: &str) -> String {
    serde_json::json!({
        "uid": uid, "time": rfc3339(now_ms() - 1000), "source": "ndjson",
        "class": "device_status", "activity": "online", "asset": "hq-pacs",
    })
    .to_string()
}

fn post_bearer(client: &mut HttpClient, uid: &str) -> seam_serve::client::Response {
    client
        .post(
            "/v1/ingest/ndjson",
            &[("Authorization", "Bearer a-long-enough-bearer-token")],
            ndjson_event(uid).as_bytes(),
        )
        .unwrap()
}

/// Slow uploads used to reserve the whole body limit of the in-flight budget up front, and
/// had no body time-out: a few connections sending a byte a second made every other request
/// get 503, even without the HMAC secret. Now the budget is taken as bytes arrive, unverified
/// bodies draw on a pool of their own, and a body below the minimum rate is cut off.
#[test]
fn slow_uploads_take_no_one_elses_budget_and_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), vec![hmac_source(), bearer_source()]);
    config.http.max_inflight_bytes = 4 << 20;
    config.limits.body_grace = Duration::from_secs(1);
    config.limits.min_body_rate = 1000;
    let server = start(&config);
    let http = server.addresses().http;
    // Twenty slow senders, each announcing a megabyte and sending a byte at a time.
    let mut slow: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut stream = TcpStream::connect(http).unwrap();
            stream
                .write_all(
                    b"POST /v1/ingest/envoy HTTP/1.1\r\nHost: seam\r\nContent-Length: 1048576\r\nX-Envoy-Signature: 00\r\n\r\n{",
                )
                .unwrap();
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    for stream in &mut slow {
        let _ = stream.write_all(b" ");
    }
    let mut client = HttpClient::new(http);
    let started = Instant::now();
    let response = post_bearer(&mut client, &unique("ok"));
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(started.elapsed() < Duration::from_secs(5));
    // Past the grace, the slow senders are answered 408 and closed.
    for stream in &mut slow {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    }
    assert!(
        metric(
            server.addresses().api,
            "seam_inputs_refused_total",
            "source=\"envoy\",reason=\"slow\""
        ) >= 20.0
    );
    server.shutdown().unwrap();
}

/// 2,000 idle connections used to stay open for good; at the common 1,024-descriptor limit a
/// thousand of them made valid requests time out. Now a full listener evicts the longest-idle
/// connection, and idle ones are closed after the idle time-out.
#[test]
fn idle_connection_floods_cannot_lock_out_senders() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(
        dir.path(),
        vec![bearer_source(), syslog_source("net", false, true, 8192)],
    );
    config.limits.max_connections = 100;
    config.limits.max_per_address = 1000;
    config.limits.idle_timeout = Duration::from_secs(2);
    let server = start(&config);
    let http = server.addresses().http;
    let syslog = server.addresses().syslog_tcp["net"];
    let idle_http: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(http).unwrap())
        .collect();
    let idle_syslog: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(syslog).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut client = HttpClient::new(http);
    let response = post_bearer(&mut client, &unique("ok"));
    assert_eq!(response.status, 200, "{}", response.text());
    // A syslog sender gets through too: its line becomes a dead letter (it is no known format).
    let mut sender = TcpStream::connect(syslog).unwrap();
    sender.write_all(b"<14>hello from a sender\n").unwrap();
    let api = server.addresses().api;
    let deadline = Instant::now() + Duration::from_secs(10);
    while dead_letters(api).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(dead_letters(api).len(), 1);
    assert!(
        metric(
            api,
            "seam_connections_closed_total",
            "listener=\"http\",reason=\"evicted\""
        ) >= 200.0
    );
    // The idle time-out closes what is left.
    std::thread::sleep(Duration::from_secs(3));
    let mut closed = 0;
    for mut stream in idle_http.into_iter().chain(idle_syslog) {
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut byte = [0u8; 1];
        if matches!(stream.read(&mut byte), Ok(0) | Err(_)) {
            closed += 1;
        }
    }
    assert_eq!(closed, 600);
    server.shutdown().unwrap();
}

/// A datagram over the message limit used to be cut silently; it is now a dead letter with
/// its true length. A sender outside the source's allowlist is counted and ignored.
#[test]
fn oversized_datagrams_are_dead_letters_and_allowlists_hold() {
    let dir = tempfile::tempdir().unwrap();
    let mut closed = syslog_source("closed", true, true, 1000);
    closed.allow = vec![seam_serve::Network::parse("192.0.2.0/24").unwrap()];
    let config = config(
        dir.path(),
        vec![syslog_source("net", true, false, 1000), closed],
    );
    let server = start(&config);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut datagram = b"<14>".to_vec();
    datagram.extend(std::iter::repeat_n(b'a', 4996));
    socket
        .send_to(&datagram, server.addresses().syslog_udp["net"])
        .unwrap();
    socket
        .send_to(b"<14>not allowed", server.addresses().syslog_udp["closed"])
        .unwrap();
    let mut refused = TcpStream::connect(server.addresses().syslog_tcp["closed"]).unwrap();
    let _ = refused.write_all(b"<14>not allowed either\n");
    let api = server.addresses().api;
    let deadline = Instant::now() + Duration::from_secs(10);
    while dead_letters(api).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let letters = dead_letters(api);
    assert_eq!(letters.len(), 1, "{letters:?}");
    let reason = letters[0]["reason"].as_str().unwrap();
    assert!(reason.contains("5000 bytes"), "{reason}");
    assert!(reason.contains("limit of 1000"), "{reason}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while metric(
        api,
        "seam_inputs_refused_total",
        "source=\"closed\",reason=\"address\"",
    ) < 2.0
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        metric(
            api,
            "seam_inputs_refused_total",
            "source=\"closed\",reason=\"address\""
        ),
        2.0
    );
    server.shutdown().unwrap();
}

/// One unauthenticated datagram dated six days ahead used to move the watermark six days on.
/// Now it raises one clock-skew finding and the watermark stays with the wall clock.
#[test]
fn a_forward_dated_syslog_datagram_blinds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), vec![syslog_source("net", true, false, 8192)]);
    let server = start(&config);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let ahead = now_ms() + 6 * 24 * 3_600_000;
    let line = format!(
        "<134>1 {}.000000000 hq-ap-office events type=8021x_auth radio='1' vap='0' client_mac='3C:22:FB:AA:00:01' client_ip='10.10.1.90' identity='heidi@example.com' aid='1'",
        ahead / 1000
    );
    socket
        .send_to(line.as_bytes(), server.addresses().syslog_udp["net"])
        .unwrap();
    let api = server.addresses().api;
    let skew = wait_findings(api, "rule=seam-clock-skew", 1);
    assert_eq!(skew.len(), 1);
    assert_eq!(skew[0]["evidences"][0]["data"]["direction"], "ahead");
    std::thread::sleep(Duration::from_millis(300));
    // The watermark is behind the wall clock, not six days ahead of it.
    let delay = metric(api, "seam_watermark_delay_seconds", "");
    assert!(
        delay >= 0.0,
        "the watermark is {delay} s ahead of the wall clock"
    );
    server.shutdown().unwrap();
}

/// SIGTERM used to wait 30 s for one slow client, so a 30-second orchestrator grace period
/// killed the service before its final snapshot. The drain is now bounded (10 s by default).
#[test]
fn the_drain_on_shutdown_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), vec![bearer_source()]);
    config.limits.drain = Duration::from_secs(1);
    config.limits.body_grace = Duration::from_secs(60);
    config.limits.idle_timeout = Duration::from_secs(60);
    let server = start(&config);
    let mut slow = TcpStream::connect(server.addresses().http).unwrap();
    slow.write_all(
        b"POST /v1/ingest/ndjson HTTP/1.1\r\nHost: seam\r\nAuthorization: Bearer a-long-enough-bearer-token\r\nContent-Length: 1000\r\n\r\n{",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    server.shutdown().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopping took {:?}",
        started.elapsed()
    );
    // The final snapshot was written: a restart finds the store intact and ready.
    start(&config).shutdown().unwrap();
}

fn hmac_envoy(signed: Signed, timestamp: bool, nonce: bool) -> SourceConfig {
    let mut source = http_source("envoy", "envoy");
    source.auth = Auth::Hmac(HmacAuth {
        secret: Secret::new("whsec-envoy-0123456789"),
        header: "X-Envoy-Signature".into(),
        signed,
        timestamp_header: timestamp.then(|| "X-Envoy-Timestamp".into()),
        nonce_header: nonce.then(|| "X-Envoy-Nonce".into()),
        window_ms: 300_000,
    });
    source
}

fn send_signed(
    client: &mut HttpClient,
    headers: &[(&str, &str)],
    body: &str,
) -> seam_serve::client::Response {
    client
        .post("/v1/ingest/envoy", headers, body.as_bytes())
        .unwrap()
}

/// A captured request used to replay with a fresh nonce (the nonce was not signed), and a
/// body-only signature replayed forever. The signature is now a replay key of its own within
/// the window, a form that signs the nonce exists, and body-only signatures are remembered.
#[test]
fn captured_signed_requests_cannot_be_replayed() {
    use seam_serve::client::sign_hmac_sha256_hex as sign;
    let secret = b"whsec-envoy-0123456789";
    // The timestamp signed, the nonce not: a new nonce does not make a new request.
    let dir = tempfile::tempdir().unwrap();
    let server = start(&config(
        dir.path(),
        vec![hmac_envoy(Signed::TimestampDotBody, true, true)],
    ));
    let mut client = HttpClient::new(server.addresses().http);
    let body = envoy_body(&unique("ent"), now_ms() - 1000);
    let stamp = (now_ms() / 1000).to_string();
    let signature = sign(secret, format!("{stamp}.{body}").as_bytes());
    let first = [
        ("X-Envoy-Timestamp", stamp.as_str()),
        ("X-Envoy-Nonce", "n-1"),
        ("X-Envoy-Signature", signature.as_str()),
    ];
    let ok = send_signed(&mut client, &first, &body);
    assert_eq!(ok.status, 200, "{}", ok.text());
    let again = [
        ("X-Envoy-Timestamp", stamp.as_str()),
        ("X-Envoy-Nonce", "n-2-fresh"),
        ("X-Envoy-Signature", signature.as_str()),
    ];
    let replayed = send_signed(&mut client, &again, &body);
    assert_eq!(replayed.status, 403, "{}", replayed.text());
    assert!(
        replayed.text().contains("already used"),
        "{}",
        replayed.text()
    );
    server.shutdown().unwrap();

    // The nonce signed too: changing it breaks the signature.
    let dir = tempfile::tempdir().unwrap();
    let server = start(&config(
        dir.path(),
        vec![hmac_envoy(Signed::TimestampNonceBody, true, true)],
    ));
    let mut client = HttpClient::new(server.addresses().http);
    let body = envoy_body(&unique("ent"), now_ms() - 1000);
    let signature = sign(secret, format!("{stamp}.n-1.{body}").as_bytes());
    let good = [
        ("X-Envoy-Timestamp", stamp.as_str()),
        ("X-Envoy-Nonce", "n-1"),
        ("X-Envoy-Signature", signature.as_str()),
    ];
    assert_eq!(send_signed(&mut client, &good, &body).status, 200);
    let renonced = [
        ("X-Envoy-Timestamp", stamp.as_str()),
        ("X-Envoy-Nonce", "n-2"),
        ("X-Envoy-Signature", signature.as_str()),
    ];
    let refused = send_signed(&mut client, &renonced, &body);
    assert_eq!(refused.status, 403);
    assert!(
        refused.text().contains("does not match"),
        "{}",
        refused.text()
    );
    server.shutdown().unwrap();

    // Body only: the same signed body twice is a replay.
    let dir = tempfile::tempdir().unwrap();
    let server = start(&config(
        dir.path(),
        vec![hmac_envoy(Signed::Body, false, false)],
    ));
    let mut client = HttpClient::new(server.addresses().http);
    let body = envoy_body(&unique("ent"), now_ms() - 1000);
    let signature = sign(secret, body.as_bytes());
    let headers = [("X-Envoy-Signature", signature.as_str())];
    assert_eq!(send_signed(&mut client, &headers, &body).status, 200);
    let replayed = send_signed(&mut client, &headers, &body);
    assert_eq!(replayed.status, 403, "{}", replayed.text());
    server.shutdown().unwrap();
}

/// Snapshots used to serialize the whole reorder buffer, raw records included: memory doubled
/// at snapshot time and the database grew sixteen times the log. They now hold the state and
/// the log position the waiting events start at; a restart reads those again from the log.
#[test]
fn snapshots_leave_waiting_events_in_the_log_and_a_restart_takes_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), vec![http_source("ndjson", "ndjson")]);
    // The event waits: a long lateness, and no heartbeat to move the watermark.
    config.engine.lateness_ms = 3_600_000;
    config.engine.heartbeat_ms = 0;
    config.engine.snapshot_every_ms = 100;
    let server = start(&config);
    let uid = unique("waiting");
    let event = serde_json::json!({
        "uid": uid, "time": rfc3339(now_ms() - 1000), "source": "ndjson",
        "class": "physical_access", "activity": "granted",
        "subject": {"badge": "4415"}, "door": "hq-main",
    })
    .to_string();
    let response = HttpClient::new(server.addresses().http)
        .post("/v1/ingest/ndjson", &[], event.as_bytes())
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    std::thread::sleep(Duration::from_millis(400));
    server.shutdown().unwrap();
    {
        use seam_store::Store;
        let store = seam_store::EmbeddedStore::open(dir.path()).unwrap();
        let snapshot = store.latest_snapshot().unwrap().unwrap();
        let text = String::from_utf8_lossy(&snapshot.state);
        assert!(!text.contains(&uid), "the waiting event is in the snapshot");
        assert!(
            snapshot.positions.contains_key("resume"),
            "{:?}",
            snapshot.positions
        );
    }
    // Restarted with the watermark moving, the event is released and its finding made.
    config.engine.lateness_ms = 0;
    config.engine.heartbeat_ms = 100;
    let server = start(&config);
    let found = wait_findings(server.addresses().api, INACTIVE, 1);
    assert_eq!(related(&found[0]), [uid]);
    server.shutdown().unwrap();
}

/// A tmpfs of a few MiB mounted for one test, unmounted when dropped (the tests run as root
/// in CI; without the right to mount, the test fails and says why).
struct SmallDisk {
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk");
        std::fs::create_dir_all(&path).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(&path)
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "the disk-full test mounts a small tmpfs and needs root (or CAP_SYS_ADMIN) to do so"
        );
        SmallDisk { path, _dir: dir }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}

/// A full disk used to break the service for good: it refused everything until a restart,
/// and the restart needed the space of a whole snapshot. It now refuses to acknowledge while
/// the disk is full and takes input again by itself once there is room.
#[test]
fn a_full_disk_refuses_input_and_the_service_resumes_by_itself() {
    let disk = SmallDisk::mount(8);
    let data = disk.path.join("data");
    let config = config(&data, vec![http_source("ndjson", "ndjson")]);
    let server = start(&config);
    let mut client = HttpClient::new(server.addresses().http);
    let post = |client: &mut HttpClient, uid: &str| {
        let event = serde_json::json!({
            "uid": uid, "time": rfc3339(now_ms() - 1000), "source": "ndjson",
            "class": "physical_access", "activity": "granted",
            "subject": {"badge": "4415"}, "door": "hq-main",
        })
        .to_string();
        client.post("/v1/ingest/ndjson", &[], event.as_bytes())
    };
    let before = unique("before");
    assert_eq!(post(&mut client, &before).unwrap().status, 200);

    // Fill the disk to the last byte.
    let filler = disk.path.join("filler");
    {
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        let _ = file.sync_all();
    }
    // Input is refused, never acknowledged, and readiness says why.
    let mut refused = false;
    for round in 0..200 {
        let big: String = (0..50)
            .map(|n| {
                serde_json::json!({
                    "uid": format!("full-{round}-{n}"), "time": rfc3339(now_ms() - 1000),
                    "source": "ndjson", "class": "device_status", "activity": "online",
                    "asset": "hq-pacs", "note": "x".repeat(2000),
                })
                .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n");
        match client.post("/v1/ingest/ndjson", &[], big.as_bytes()) {
            Ok(response) if response.status == 200 => {}
            _ => {
                refused = true;
                break;
            }
        }
    }
    assert!(refused, "the service acknowledged input on a full disk");
    let ready = HttpClient::new(server.addresses().http)
        .get("/readyz")
        .unwrap();
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert!(ready.text().contains("disk"), "{}", ready.text());

    // Room again: ready by itself, and input is taken and correlated.
    std::fs::remove_file(&filler).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut probe = HttpClient::new(server.addresses().http);
    while probe.get("/readyz").map(|r| r.status).unwrap_or(0) != 200 {
        assert!(
            Instant::now() < deadline,
            "the service did not become ready again"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut client = HttpClient::new(server.addresses().http);
    let after = unique("after");
    let response = post(&mut client, &after).unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    let found = wait_findings(server.addresses().api, INACTIVE, 2);
    let related: Vec<String> = found.iter().flat_map(related).collect();
    assert!(
        related.contains(&before) && related.contains(&after),
        "{related:?}"
    );
    server.shutdown().unwrap();
}

/// An HTTP source takes requests only from its allowlist, like a syslog source.
#[test]
fn an_http_source_takes_only_its_allowlisted_senders() {
    let dir = tempfile::tempdir().unwrap();
    let mut closed = bearer_source();
    closed.allow = vec![seam_serve::Network::parse("192.0.2.0/24").unwrap()];
    let mut open = http_source("okta", "okta");
    open.allow = vec![seam_serve::Network::parse("127.0.0.0/8").unwrap()];
    let server = start(&config(dir.path(), vec![closed, open]));
    let mut client = HttpClient::new(server.addresses().http);
    let refused = post_bearer(&mut client, &unique("refused"));
    assert_eq!(refused.status, 403, "{}", refused.text());
    let taken = client
        .post(
            "/v1/ingest/okta",
            &[("Content-Type", "application/json")],
            b"[]",
        )
        .unwrap();
    assert_ne!(taken.status, 403, "{}", taken.text());
    assert_eq!(
        metric(
            server.addresses().api,
            "seam_inputs_refused_total",
            "source=\"ndjson\",reason=\"address\""
        ),
        1.0
    );
    server.shutdown().unwrap();
}

/// An hour-old badge and a foreign sign-in used to be answered "accepted" and never
/// correlated: the badge came late, behind the watermark. A source that declares how late it
/// delivers is waited for, so its events are correlated as if they had come on time.
#[test]
fn a_late_export_from_a_source_that_declares_its_delay_is_correlated() {
    let run = |declared: bool| -> usize {
        let dir = tempfile::tempdir().unwrap();
        let mut export = http_source("pacs-export", "ndjson");
        let idp = http_source("idp", "ndjson");
        if declared {
            export.max_delay_ms = Some(2 * 3_600_000);
        }
        let server = start(&config(dir.path(), vec![export, idp]));
        let mut client = HttpClient::new(server.addresses().http);
        let now = now_ms();
        // The sign-in from abroad comes first, live.
        let signin = serde_json::json!({
            "uid": unique("signin"), "time": rfc3339(now - 10 * 60_000), "source": "idp",
            "class": "authentication", "activity": "logon", "outcome": "success",
            "subject": {"user": "alice@example.com"},
            "src": {"ip": "185.220.101.7", "country": "Romania"},
        });
        let response = client
            .post("/v1/ingest/idp", &[], signin.to_string().as_bytes())
            .unwrap();
        assert_eq!(response.status, 200, "{}", response.text());
        std::thread::sleep(Duration::from_millis(500));
        // Then the export, with Alice's badge from half an hour ago.
        let export = [
            serde_json::json!({
                "uid": unique("badge"), "time": rfc3339(now - 30 * 60_000), "source": "pacs-export",
                "class": "physical_access", "activity": "granted",
                "subject": {"badge": "4411"}, "door": "hq-main",
            }),
            serde_json::json!({
                "uid": unique("tail"), "time": rfc3339(now - 1000), "source": "pacs-export",
                "class": "device_status", "activity": "online", "asset": "hq-pacs",
            }),
        ]
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n");
        let response = client
            .post("/v1/ingest/pacs-export", &[], export.as_bytes())
            .unwrap();
        assert_eq!(response.status, 200, "{}", response.text());
        let found = if declared {
            wait_findings(server.addresses().api, "rule=seam.onsite-offsite-signin", 1).len()
        } else {
            std::thread::sleep(Duration::from_millis(1500));
            let response = HttpClient::new(server.addresses().api)
                .get("/v1/findings?rule=seam.onsite-offsite-signin")
                .unwrap();
            response.json()["findings"].as_array().map_or(0, Vec::len)
        };
        server.shutdown().unwrap();
        found
    };
    assert_eq!(run(true), 1);
    // Undeclared, the badge is late: stored and counted, but it places no one.
    assert_eq!(run(false), 0);
}

/// A broker keeps a finite queue for a persistent session and drops the rest silently while
/// Seam is down. Controllers number their events: the numbers missing are counted, also
/// across a restart (the last numbers are kept in the snapshot).
#[test]
fn messages_lost_upstream_are_counted_from_the_controllers_numbers() {
    require_broker();
    let dir = tempfile::tempdir().unwrap();
    let base = unique("seam-test");
    let config = mqtt_config(dir.path(), &unique("seam-serve-test"), &base);
    let topic = format!("{base}/uhppoted/gateway/events");
    let first = (now_ms() % 1_000_000_000) as u64 * 10;
    let server = start(&config);
    publish(&[
        (topic.clone(), uhppote_swipe(4411, first, now_ms() - 3000)),
        (
            topic.clone(),
            uhppote_swipe(4411, first + 1, now_ms() - 2000),
        ),
    ]);
    let api = server.addresses().api;
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(api, "seam_events_stored_total", "source=\"doors\"") < 2.0 {
        assert!(
            Instant::now() < deadline,
            "the first events were not stored"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        metric(api, "seam_sequence_gaps_total", "source=\"doors\""),
        0.0
    );
    server.shutdown().unwrap();
    // Down: the controller's events 2 to 4 are lost on the way; 5 arrives.
    publish(&[(
        topic.clone(),
        uhppote_swipe(4411, first + 5, now_ms() - 1000),
    )]);
    let server = start(&config);
    let api = server.addresses().api;
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(api, "seam_events_stored_total", "source=\"doors\"") < 1.0 {
        assert!(
            Instant::now() < deadline,
            "the event after the restart was not stored"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        metric(api, "seam_sequence_gaps_total", "source=\"doors\""),
        3.0
    );
    server.shutdown().unwrap();
}

/// A cloud sign-in log allowed two minutes holds back only the rules that read it: a badge at
/// a closed site is reported within a heartbeat, not two minutes later, while the sign-in log
/// is connected and sending.
#[test]
fn a_slow_source_holds_back_only_the_rules_that_read_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(
        dir.path(),
        vec![http_source("okta", "okta"), http_source("pacs", "ndjson")],
    );
    for source in &mut config.sources {
        if source.name == "okta" {
            source.lateness_ms = Some(120_000);
        }
    }
    let server = start(&config);
    let mut client = HttpClient::new(server.addresses().http);
    let now = now_ms();
    // The sign-in log is live: its newest record is a second old.
    let mut record: serde_json::Value = serde_json::from_str(
        include_str!("../../seam-adapters/tests/fixtures/okta.jsonl")
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    record["published"] = rfc3339(now - 1000).into();
    record["uuid"] = unique("okta").into();
    let response = client
        .post("/v1/ingest/okta", &[], record.to_string().as_bytes())
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    let badge = serde_json::json!({
        "uid": unique("badge"), "time": rfc3339(now_ms()), "source": "pacs",
        "class": "physical_access", "activity": "granted",
        "subject": {"badge": "4411"}, "door": "old-main",
    });
    let response = client
        .post("/v1/ingest/pacs", &[], badge.to_string().as_bytes())
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    // `wait_findings` gives up after 15 s; the sign-in log's lateness alone is 120 s.
    let started = Instant::now();
    let found = wait_findings(
        server.addresses().api,
        "rule=seam.decommissioned-site-badge",
        1,
    );
    assert_eq!(found.len(), 1, "no finding within {:?}", started.elapsed());
    server.shutdown().unwrap();
}
