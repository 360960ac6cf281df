//! The bad-input matrix, one table-driven test per transport: malformed, truncated, oversize,
//! invalid UTF-8, NUL bytes, deep nesting, out-of-range numbers and times, unknown sources and
//! wrong content types. Each row gets a clear answer (or a dead letter with its reason), and
//! the transport keeps serving: a good record after the whole table is still taken.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use common::*;
use seam_serve::client::HttpClient;
use seam_serve::{AdapterChoice, SourceConfig, Transport};

/// What the rows send: the shapes of bad input every transport must survive.
fn bad_records() -> Vec<(&'static str, Vec<u8>)> {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    vec![
        ("malformed", b"{\"uid\": \"a\", \"time\": }".to_vec()),
        ("truncated", b"{\"uid\": \"a\", \"time\": \"2026-03-0".to_vec()),
        ("invalid utf-8", b"{\"uid\": \"\xff\xfe\", \"x\": 1}".to_vec()),
        ("nul bytes", b"{\"uid\":\"a\0b\",\"time\":\"\0\"}".to_vec()),
        ("deep nesting", deep.into_bytes()),
        (
            "out-of-range number",
            b"{\"uid\":\"n\",\"time\":1e400,\"source\":\"x\",\"class\":\"device_status\",\"activity\":\"online\"}"
                .to_vec(),
        ),
        (
            "out-of-range time",
            b"{\"uid\":\"t\",\"time\":\"99999-01-01T00:00:00Z\",\"source\":\"x\",\"class\":\"device_status\",\"activity\":\"online\"}"
                .to_vec(),
        ),
        ("binary", vec![0x00, 0x01, 0x02, 0xc3, 0x28, 0xa0, 0xa1]),
    ]
}

fn good_ndjson(uid: &str) -> String {
    serde_json::json!({
        "uid": uid, "time": rfc3339(now_ms() - 1000), "source": "ndjson",
        "class": "device_status", "activity": "online", "asset": "hq-pacs",
    })
    .to_string()
}

fn healthy(http: std::net::SocketAddr) {
    let health = HttpClient::new(http).get("/healthz").unwrap();
    assert_eq!(health.status, 200);
}

#[test]
fn http_ingest_answers_every_bad_input_clearly_and_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path(), vec![http_source("ndjson", "ndjson")]);
    config.http.max_body_bytes = 1 << 20;
    let server = start(&config);
    let http = server.addresses().http;
    let mut client = HttpClient::new(http);
    // (name, path, headers, body, the status expected)
    type Row = (
        &'static str,
        &'static str,
        Vec<(&'static str, &'static str)>,
        Vec<u8>,
        u16,
    );
    let mut rows: Vec<Row> = bad_records()
        .into_iter()
        .map(|(name, body)| (name, "/v1/ingest/ndjson", Vec::new(), body, 400))
        .collect();
    rows.extend([
        (
            "oversize",
            "/v1/ingest/ndjson",
            Vec::new(),
            vec![b' '; 2 << 20],
            413,
        ),
        ("empty", "/v1/ingest/ndjson", Vec::new(), Vec::new(), 400),
        (
            "unknown source",
            "/v1/ingest/nobody",
            Vec::new(),
            b"{}".to_vec(),
            404,
        ),
        (
            "wrong content type",
            "/v1/ingest/ndjson",
            vec![("Content-Type", "application/xml")],
            b"<a/>".to_vec(),
            415,
        ),
        (
            "compressed",
            "/v1/ingest/ndjson",
            vec![("Content-Encoding", "gzip")],
            b"\x1f\x8b\x08".to_vec(),
            415,
        ),
        (
            "path traversal in the source",
            "/v1/ingest/..%2F..%2Fetc",
            Vec::new(),
            b"{}".to_vec(),
            404,
        ),
    ]);
    for (name, path, headers, body, status) in &rows {
        let response = client.post(path, headers, body).unwrap();
        assert_eq!(response.status, *status, "{name}: {}", response.text());
        let error = response.json();
        assert!(
            error["error"].is_string() || error["rejected"].is_array(),
            "{name}: the answer says why: {}",
            response.text()
        );
        healthy(http);
    }
    // Malformed headers and request lines: the connection is answered or closed, never a panic.
    for raw in [
        &b"POST /v1/ingest/ndjson HTTP/1.1\r\nContent-Length: -5\r\n\r\n"[..],
        b"POST /v1/ingest/ndjson HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
        b"GARBAGE\r\n\r\n",
        b"POST /v1/ingest/ndjson HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n",
    ] {
        let mut stream = TcpStream::connect(http).unwrap();
        stream.write_all(raw).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut answer = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stream, &mut answer);
        let text = String::from_utf8_lossy(&answer);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 4"),
            "{:?}: {text}",
            String::from_utf8_lossy(raw)
        );
        healthy(http);
    }
    let good = client
        .post(
            "/v1/ingest/ndjson",
            &[],
            good_ndjson(&unique("good")).as_bytes(),
        )
        .unwrap();
    assert_eq!(good.status, 200, "{}", good.text());
    // Each body the adapter could not read is a dead letter with its reason.
    let letters = dead_letters(server.addresses().api);
    assert!(letters.len() >= bad_records().len(), "{letters:?}");
    assert!(letters.iter().all(|l| l["reason"].is_string()));
    server.shutdown().unwrap();
}

fn syslog(name: &str) -> SourceConfig {
    SourceConfig::new(
        name,
        AdapterChoice::SyslogAuto,
        Transport::Syslog {
            udp: Some("127.0.0.1:0".parse().unwrap()),
            tcp: Some("127.0.0.1:0".parse().unwrap()),
            tls: None,
            max_message_bytes: 8192,
        },
    )
}

fn wait_dead_letters(api: std::net::SocketAddr, at_least: usize) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let letters = dead_letters(api);
        if letters.len() >= at_least || Instant::now() > deadline {
            return letters;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn syslog_over_udp_and_tcp_dead_letters_every_bad_input_and_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&config(dir.path(), vec![syslog("net")]));
    let udp = server.addresses().syslog_udp["net"];
    let tcp = server.addresses().syslog_tcp["net"];
    let api = server.addresses().api;
    let mut rows: Vec<(&str, Vec<u8>)> = bad_records()
        .into_iter()
        .filter(|(name, _)| *name != "deep nesting")
        .collect();
    rows.extend([
        ("oversize", vec![b'a'; 20_000]),
        (
            "truncated meraki",
            b"<134>1 1772437980.118204551 hq-ap-office events type=8021x_auth client_mac='3C:2"
                .to_vec(),
        ),
        (
            "meraki with an absurd time",
            b"<134>1 99999999999999999999.1 hq-ap-office events type=association".to_vec(),
        ),
    ]);
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for (_, datagram) in &rows {
        socket.send_to(datagram, udp).unwrap();
    }
    let over_udp = wait_dead_letters(api, rows.len());
    assert_eq!(over_udp.len(), rows.len(), "{over_udp:?}");
    // Over TCP, newline framing, then a frame whose octet count is absurd, then a cut frame.
    let mut stream = TcpStream::connect(tcp).unwrap();
    for (name, record) in &rows {
        let mut line: Vec<u8> = record
            .iter()
            .map(|b| if *b == b'\n' { b' ' } else { *b })
            .collect();
        line.push(b'\n');
        stream
            .write_all(&line)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    stream.write_all(b"99999999999 <14>x\n").unwrap();
    stream.write_all(b"120 <14>cut short").unwrap();
    drop(stream);
    let letters = wait_dead_letters(api, 2 * rows.len() + 1);
    assert!(letters.len() > 2 * rows.len(), "{}", letters.len());
    assert!(letters.iter().all(|l| l["reason"].is_string()));
    // Both listeners still take a good line.
    let good = format!(
        "<134>1 {}.000000000 hq-ap-office events type=8021x_auth radio='1' vap='0' client_mac='3C:22:FB:AA:00:09' client_ip='10.10.1.90' identity='heidi@example.com' aid='1'",
        (now_ms() - 1000) / 1000
    );
    socket.send_to(good.as_bytes(), udp).unwrap();
    let mut stream = TcpStream::connect(tcp).unwrap();
    stream.write_all(format!("{good}\n").as_bytes()).unwrap();
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(15);
    while metric(api, "seam_events_stored_total", "source=\"net\"") < 1.0 {
        assert!(Instant::now() < deadline, "the good lines were not taken");
        std::thread::sleep(Duration::from_millis(50));
    }
    healthy(server.addresses().http);
    server.shutdown().unwrap();
}

#[test]
fn mqtt_dead_letters_every_bad_message_acknowledges_it_and_keeps_serving() {
    require_broker();
    let dir = tempfile::tempdir().unwrap();
    let base = unique("seam-test");
    let server = start(&mqtt_config(dir.path(), &unique("seam-serve-test"), &base));
    let topic = format!("{base}/uhppoted/gateway/events");
    let rows = bad_records();
    let messages: Vec<(String, Vec<u8>)> = rows
        .iter()
        .map(|(_, payload)| (topic.clone(), payload.clone()))
        .collect();
    publish_bytes(&messages);
    let api = server.addresses().api;
    let letters = wait_dead_letters(api, rows.len());
    assert_eq!(letters.len(), rows.len(), "{letters:?}");
    let event_id = (now_ms() % 1_000_000_000) as u64 + 31;
    publish(&[(topic, uhppote_swipe(4415, event_id, now_ms() - 1000))]);
    let found = wait_findings(api, "rule=seam.inactive-person-credential", 1);
    assert_eq!(related(&found[0]), [format!("405419896-{event_id}")]);
    server.shutdown().unwrap();
}

/// An IPFIX message (observation domain 0) around `sets`.
fn ipfix(sequence: u32, sets: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = sets.concat();
    let mut message = vec![0, 10];
    message.extend_from_slice(&((16 + body.len()) as u16).to_be_bytes());
    message.extend_from_slice(&((now_ms() / 1000) as u32).to_be_bytes());
    message.extend_from_slice(&sequence.to_be_bytes());
    message.extend_from_slice(&0u32.to_be_bytes());
    message.extend_from_slice(&body);
    message
}

/// A set (IPFIX) or flowset (v9): id, length, contents.
fn flow_set(id: u16, contents: &[u8]) -> Vec<u8> {
    let mut set = id.to_be_bytes().to_vec();
    set.extend_from_slice(&((4 + contents.len()) as u16).to_be_bytes());
    set.extend_from_slice(contents);
    set
}

/// A template record: its id, then each field's element id and length.
fn template(id: u16, fields: &[(u16, u16)]) -> Vec<u8> {
    let mut record = id.to_be_bytes().to_vec();
    record.extend_from_slice(&(fields.len() as u16).to_be_bytes());
    for (element, length) in fields {
        record.extend_from_slice(&element.to_be_bytes());
        record.extend_from_slice(&length.to_be_bytes());
    }
    record
}

/// A v9 datagram: header (one flowset counted), then `sets`.
fn v9(sets: &[Vec<u8>]) -> Vec<u8> {
    let mut datagram = vec![0, 9, 0, 1];
    datagram.extend_from_slice(&1_000_000u32.to_be_bytes());
    datagram.extend_from_slice(&((now_ms() / 1000) as u32).to_be_bytes());
    datagram.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]);
    datagram.extend_from_slice(&sets.concat());
    datagram
}

#[test]
fn netflow_dead_letters_every_bad_datagram_bounds_template_floods_and_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let source = SourceConfig::new(
        "flows",
        AdapterChoice::One(seam_adapters::Adapter::Netflow),
        Transport::Netflow {
            udp: "127.0.0.1:0".parse().unwrap(),
            limits: seam_adapters::FlowLimits {
                templates_per_exporter: 32,
                exporters: 4,
                ..seam_adapters::FlowLimits::default()
            },
        },
    );
    let server = start(&config(dir.path(), vec![source]));
    let target = server.addresses().netflow_udp["flows"];
    let api = server.addresses().api;
    let two_fields = [(8, 4), (12, 4)];
    let mut v5_cut = vec![0, 5, 0, 30];
    v5_cut.extend_from_slice(&[0; 20 + 48]);
    let rows: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("one byte", vec![0]),
        (
            "syslog, not flow export",
            b"<134>1 this is not a flow".to_vec(),
        ),
        ("NetFlow v7", [&[0u8, 7][..], &[0; 22]].concat()),
        ("v5 counting 30 flows, carrying 1", v5_cut),
        ("v9 header cut short", vec![0, 9, 0, 1, 0, 0, 0, 0, 0, 0]),
        (
            "IPFIX longer than what arrived",
            [&[0u8, 10, 1, 244][..], &[0; 26]].concat(),
        ),
        (
            "a set overrunning the message",
            ipfix(0, &[[&[1u8, 0, 3, 232][..], &[0; 20]].concat()]),
        ),
        (
            "IPFIX data before its template",
            ipfix(0, &[flow_set(300, &[10, 0, 0, 1, 10, 0, 0, 2])]),
        ),
        (
            "v9 data before its template",
            v9(&[flow_set(256, &[10, 0, 0, 1, 10, 0, 0, 2])]),
        ),
        (
            "fields longer than a set can hold",
            ipfix(
                0,
                &[flow_set(2, &template(400, &[(82, 65_000), (83, 65_000)]))],
            ),
        ),
        (
            "a template of 600 fields",
            ipfix(0, &[flow_set(2, &template(401, &[(8, 4); 600]))]),
        ),
        (
            "a reserved template id",
            ipfix(0, &[flow_set(2, &template(5, &two_fields))]),
        ),
        ("a reserved set id", ipfix(0, &[flow_set(100, &[0; 8])])),
    ];
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for (_, datagram) in &rows {
        socket.send_to(datagram, target).unwrap();
    }
    let letters = wait_dead_letters(api, rows.len());
    assert!(letters.len() >= rows.len(), "{letters:#?}");
    assert!(letters.iter().all(|l| l["reason"].is_string()));
    assert!(metric(api, "seam_records_rejected_total", "source=\"flows\"") >= rows.len() as f64);
    assert!(
        metric(
            api,
            "seam_flow_sets_without_template_total",
            "source=\"flows\""
        ) >= 2.0
    );
    assert!(
        metric(
            api,
            "seam_flow_template_events_total",
            "source=\"flows\",kind=\"rejected\""
        ) >= 3.0
    );

    // A flood of templates: 100 messages of 100 templates each, from one exporter; then
    // templates from eight exporters (loopback addresses) against a limit of four.
    let flood: Vec<Vec<u8>> = (0..100u16)
        .map(|message| {
            let records: Vec<u8> = (0..100u16)
                .flat_map(|n| template(1000 + message * 100 + n, &two_fields))
                .collect();
            ipfix(0, &[flow_set(2, &records)])
        })
        .collect();
    for datagram in &flood {
        socket.send_to(datagram, target).unwrap();
    }
    for exporter in 2..10u8 {
        let other = UdpSocket::bind((std::net::Ipv4Addr::new(127, 0, 0, exporter), 0)).unwrap();
        other
            .send_to(
                &ipfix(0, &[flow_set(2, &template(256, &two_fields))]),
                target,
            )
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    let learned = "source=\"flows\",kind=\"learned\"";
    while metric(api, "seam_flow_template_events_total", learned) < 10_008.0 {
        assert!(
            Instant::now() < deadline,
            "the flood was not read: {} templates learned",
            metric(api, "seam_flow_template_events_total", learned)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Kept: at most 32 per exporter, for at most four exporters.
    assert!(metric(api, "seam_flow_templates", "source=\"flows\"") <= 4.0 * 32.0);
    assert!(metric(api, "seam_flow_exporters", "source=\"flows\"") <= 4.0);
    assert!(
        metric(
            api,
            "seam_flow_template_events_total",
            "source=\"flows\",kind=\"evicted\""
        ) >= 10_000.0 - 32.0
    );
    assert!(metric(api, "seam_flow_exporters_evicted_total", "source=\"flows\"") >= 4.0);

    // A well-formed export still arrives: its template, then its flows.
    for datagram in seam_adapters::synthetic_flow_datagrams(10, 2, 5, seam_model::Ts(now_ms())) {
        socket.send_to(&datagram, target).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(15);
    while metric(api, "seam_events_stored_total", "source=\"flows\"") < 10.0 {
        assert!(Instant::now() < deadline, "the good flows were not taken");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        metric(api, "seam_events_stored_total", "source=\"flows\""),
        10.0
    );
    healthy(server.addresses().http);
    server.shutdown().unwrap();
}
