//! Every kind of source driven through its real transport into a finding: HTTP (Okta event
//! hooks, Entra, NDJSON, Envoy with signatures, PACS through a mapping), syslog over UDP and
//! TCP, MQTT through the Mosquitto broker on 127.0.0.1:1883, and a watched folder.

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
use seam_serve::client::{HttpClient, sign_hmac_sha256_hex};
use seam_serve::{
    AdapterChoice, Auth, HmacAuth, Secret, ServeConfig, Signed, SourceConfig, Transport,
};

const INACTIVE: &str = "rule=seam.inactive-person-credential";

fn okta_event(uuid: &str, user: &str, published: i64) -> serde_json::Value {
    serde_json::json!({
        "uuid": uuid,
        "published": rfc3339(published),
        "eventType": "user.session.start",
        "displayMessage": "User login to Okta",
        "actor": {"id": "00u1heidi", "alternateId": user, "displayName": "Heidi Brandt", "type": "User"},
        "client": {"ipAddress": "198.51.100.77"},
        "outcome": {"result": "SUCCESS"},
    })
}

#[test]
fn okta_event_hooks_are_verified_and_their_sign_ins_become_findings() {
    let dir = tempfile::tempdir().unwrap();
    let mut source = http_source("okta", "okta");
    source.auth = Auth::Okta {
        header: "Authorization".into(),
        secret: Secret::new("hook-secret"),
    };
    let server = start(&config(dir.path(), vec![source]));
    let mut client = HttpClient::new(server.addresses().http);

    // The one-time verification, with and without the hook's secret.
    let verified = client
        .request(
            "GET",
            "/v1/ingest/okta",
            &[
                ("Authorization", "hook-secret"),
                ("X-Okta-Verification-Challenge", "c4Xq-9z"),
            ],
            b"",
        )
        .unwrap();
    assert_eq!(verified.status, 200, "{}", verified.text());
    assert_eq!(verified.json()["verification"], "c4Xq-9z");
    let refused = client
        .request(
            "GET",
            "/v1/ingest/okta",
            &[("X-Okta-Verification-Challenge", "c4Xq-9z")],
            b"",
        )
        .unwrap();
    assert_eq!(refused.status, 401);

    let uuid = unique("okta");
    let hook = serde_json::json!({
        "eventType": "com.okta.event_hook",
        "data": {"events": [okta_event(&uuid, "heidi@example.com", now_ms() - 1000)]},
    });
    let body = hook.to_string();
    let wrong = client
        .post(
            "/v1/ingest/okta",
            &[("Authorization", "not-the-secret")],
            body.as_bytes(),
        )
        .unwrap();
    assert_eq!(wrong.status, 401, "{}", wrong.text());
    let accepted = client
        .post(
            "/v1/ingest/okta",
            &[
                ("Authorization", "hook-secret"),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        )
        .unwrap();
    assert_eq!(accepted.status, 200, "{}", accepted.text());
    assert_eq!(accepted.json()["accepted"], 1);
    let found = wait_findings(server.addresses().api, INACTIVE, 1);
    assert_eq!(found.len(), 1);
    assert_eq!(related(&found[0]), [uuid]);
    assert_eq!(found[0]["unmapped"]["person_uid"], "heidi");
    server.shutdown().unwrap();
}

#[test]
fn entra_sign_ins_need_the_bearer_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut source = http_source("entra", "entra");
    source.auth = Auth::Bearer(Secret::new("s3cret-token"));
    let server = start(&config(dir.path(), vec![source]));
    let mut client = HttpClient::new(server.addresses().http);
    let id = unique("entra");
    let body = serde_json::json!({"value": [{
        "id": id,
        "createdDateTime": rfc3339(now_ms() - 2000),
        "userPrincipalName": "heidi@example.com",
        "userId": "6b1c0a52-0000-4c1e-9a00-00000000heid",
        "appDisplayName": "Office 365",
        "ipAddress": "203.0.113.40",
        "status": {"errorCode": 0},
    }]})
    .to_string();
    let missing = client
        .post("/v1/ingest/entra", &[], body.as_bytes())
        .unwrap();
    assert_eq!(missing.status, 401);
    assert!(missing.header("www-authenticate").is_some());
    let wrong = client
        .post(
            "/v1/ingest/entra",
            &[("Authorization", "Bearer guess")],
            body.as_bytes(),
        )
        .unwrap();
    assert_eq!(wrong.status, 401);
    let ok = client
        .post(
            "/v1/ingest/entra",
            &[("Authorization", "Bearer s3cret-token")],
            body.as_bytes(),
        )
        .unwrap();
    assert_eq!(ok.status, 200, "{}", ok.text());
    let found = wait_findings(server.addresses().api, INACTIVE, 1);
    assert_eq!(related(&found[0]), [id]);
    assert_eq!(
        metric(
            server.addresses().api,
            "seam_inputs_refused_total",
            "source=\"entra\",reason=\"auth\""
        ),
        2.0
    );
    server.shutdown().unwrap();
}

#[test]
fn pacs_exports_are_read_through_their_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&config(
        dir.path(),
        vec![http_source("pacs-sia", "pacs-sia")],
    ));
    let mut client = HttpClient::new(server.addresses().http);
    // Badge 4415 was never collected from a dismissed employee.
    let csv = format!(
        "Time,Account,Code,Point,User,Text\n{},4711,DG,hq-main-r1,4415,Access granted\n{},4711,DG,hq-main-r1,4411,Access granted\n",
        rfc3339(now_ms() - 3000),
        rfc3339(now_ms() - 2000),
    );
    let response = client
        .post(
            "/v1/ingest/pacs-sia",
            &[("Content-Type", "text/csv")],
            csv.as_bytes(),
        )
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json()["accepted"], 2);
    let found = wait_findings(server.addresses().api, INACTIVE, 1);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["unmapped"]["person_uid"], "erin");
    server.shutdown().unwrap();
}

#[test]
fn envoy_webhooks_are_signed_fresh_and_used_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut source = http_source("envoy", "envoy");
    source.auth = Auth::Hmac(HmacAuth {
        secret: Secret::new("whsec-envoy"),
        header: "X-Envoy-Signature".into(),
        signed: Signed::TimestampDotBody,
        timestamp_header: Some("X-Envoy-Timestamp".into()),
        nonce_header: Some("X-Envoy-Nonce".into()),
        window_ms: 300_000,
    });
    let server = start(&config(dir.path(), vec![source]));
    let mut client = HttpClient::new(server.addresses().http);
    let entry = unique("ent");
    let body = envoy_body(&entry, now_ms() - 1000);
    let send = |client: &mut HttpClient, stamp: &str, nonce: &str, signature: &str| {
        client
            .post(
                "/v1/ingest/envoy",
                &[
                    ("X-Envoy-Timestamp", stamp),
                    ("X-Envoy-Nonce", nonce),
                    ("X-Envoy-Signature", signature),
                ],
                body.as_bytes(),
            )
            .unwrap()
    };
    let stamp = (now_ms() / 1000).to_string();
    let sign =
        |stamp: &str| sign_hmac_sha256_hex(b"whsec-envoy", format!("{stamp}.{body}").as_bytes());
    let ok = send(&mut client, &stamp, "n-1", &sign(&stamp));
    assert_eq!(ok.status, 200, "{}", ok.text());
    let found = wait_findings(server.addresses().api, "rule=test.visitor-signed-in", 1);
    assert_eq!(related(&found[0]), [format!("{entry}-check_in")]);

    // The same nonce again, even correctly signed, is a replay.
    let replayed = send(&mut client, &stamp, "n-1", &sign(&stamp));
    assert_eq!(replayed.status, 403);
    assert!(
        replayed.text().contains("already used"),
        "{}",
        replayed.text()
    );
    // A signature of another body.
    let forged = send(
        &mut client,
        &stamp,
        "n-2",
        &sign_hmac_sha256_hex(b"whsec-envoy", b"other"),
    );
    assert_eq!(forged.status, 403);
    assert!(
        forged.text().contains("does not match"),
        "{}",
        forged.text()
    );
    // An old request, correctly signed.
    let old = ((now_ms() - 3_600_000) / 1000).to_string();
    let stale = send(&mut client, &old, "n-3", &sign(&old));
    assert_eq!(stale.status, 403);
    assert!(stale.text().contains("outside"), "{}", stale.text());
    // No signature at all.
    let unsigned = client
        .post("/v1/ingest/envoy", &[], body.as_bytes())
        .unwrap();
    assert_eq!(unsigned.status, 401);
    server.shutdown().unwrap();
}

#[test]
fn ndjson_bad_records_are_dead_letters_and_their_neighbours_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&config(dir.path(), vec![http_source("ndjson", "ndjson")]));
    let api = server.addresses().api;
    let mut client = HttpClient::new(server.addresses().http);
    let now = now_ms();
    let good = |uid: &str, user: &str, at: i64| {
        format!(
            "{{\"uid\":\"{uid}\",\"time\":\"{}\",\"source\":\"ndjson\",\"class\":\"authentication\",\"activity\":\"logon\",\"outcome\":\"success\",\"subject\":{{\"user\":\"{user}\"}}}}",
            rfc3339(at)
        )
    };
    let first = unique("nd-a");
    let second = unique("nd-b");
    let future = unique("nd-future");
    let body = [
        good(&first, "heidi@example.com", now - 3000),
        "{\"uid\": not json".to_string(),
        good(&future, "heidi@example.com", now + 365 * 86_400_000),
        good(&second, "alice@example.com", now - 2000),
    ]
    .join("\n");
    let response = client
        .post(
            "/v1/ingest/ndjson",
            &[("Content-Type", "application/x-ndjson")],
            body.as_bytes(),
        )
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    let report = response.json();
    assert_eq!(report["accepted"], 2);
    let rejected: Vec<u64> = report["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(rejected, [2, 3]);
    assert!(
        report["rejected"][1]["reason"]
            .as_str()
            .unwrap()
            .contains("after"),
        "{report}"
    );
    let found = wait_findings(api, INACTIVE, 1);
    assert_eq!(related(&found[0]), [first]);
    let letters = dead_letters(api);
    assert_eq!(letters.len(), 2, "{letters:?}");
    assert_eq!(letters[0]["raw"], "{\"uid\": not json");
    assert!(letters[1]["raw"].as_str().unwrap().contains(&future));

    // The same body again: nothing new is stored, and no finding is repeated.
    let again = client
        .post("/v1/ingest/ndjson", &[], body.as_bytes())
        .unwrap();
    assert_eq!(again.json()["accepted"], 2);
    assert_eq!(again.json()["duplicates"], 2);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(metric(api, "seam_findings_total", ""), 1.0);
    assert_eq!(
        metric(api, "seam_events_stored_total", "source=\"ndjson\""),
        2.0
    );
    assert_eq!(
        dead_letters(api).len(),
        2,
        "a retried body adds no dead letters"
    );

    // Nothing readable at all: 400 with the reasons, and still dead letters.
    let hopeless = client
        .post("/v1/ingest/ndjson", &[], b"garbage\nmore garbage\n")
        .unwrap();
    assert_eq!(hopeless.status, 400);
    assert_eq!(hopeless.json()["rejected"].as_array().unwrap().len(), 2);
    assert_eq!(dead_letters(api).len(), 4);
    server.shutdown().unwrap();
}

#[test]
fn refusals_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(
        dir.path(),
        vec![
            http_source("ndjson", "ndjson"),
            SourceConfig::new(
                "net",
                AdapterChoice::SyslogAuto,
                Transport::Syslog {
                    udp: Some("127.0.0.1:0".parse().unwrap()),
                    tcp: None,
                    tls: None,
                    max_message_bytes: 8192,
                },
            ),
        ],
    );
    config.http.max_body_bytes = 64 * 1024;
    let server = start(&config);
    let mut client = HttpClient::new(server.addresses().http);
    let big = vec![b' '; 100 * 1024];
    let too_large = client.post("/v1/ingest/ndjson", &[], &big).unwrap();
    assert_eq!(too_large.status, 413, "{}", too_large.text());
    assert!(
        too_large.json()["error"]
            .as_str()
            .unwrap()
            .contains("limit")
    );
    let form = client
        .post(
            "/v1/ingest/ndjson",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            b"a=1",
        )
        .unwrap();
    assert_eq!(form.status, 415);
    let gzip = client
        .post(
            "/v1/ingest/ndjson",
            &[("Content-Encoding", "gzip")],
            b"\x1f\x8b",
        )
        .unwrap();
    assert_eq!(gzip.status, 415);
    let empty = client.post("/v1/ingest/ndjson", &[], b"  \n").unwrap();
    assert_eq!(empty.status, 400);
    let unknown = client.post("/v1/ingest/nope", &[], b"{}").unwrap();
    assert_eq!(unknown.status, 404);
    let not_http = client.post("/v1/ingest/net", &[], b"{}").unwrap();
    assert_eq!(not_http.status, 404);
    let get = client.get("/v1/ingest/ndjson").unwrap();
    assert_eq!(get.status, 405);
    let bad_query = client.get("/v1/findings?order=desc").unwrap();
    assert_eq!(bad_query.status, 400);
    assert!(
        bad_query.json()["error"]
            .as_str()
            .unwrap()
            .contains("unknown parameter")
    );
    server.shutdown().unwrap();
}

fn meraki_line(identity: &str, mac_tail: u32, at_ms: i64) -> String {
    format!(
        "<134>1 {}.{:03}000000 hq-ap-office events type=8021x_auth radio='1' vap='0' client_mac='3C:22:FB:AA:{:02X}:{:02X}' client_ip='10.10.1.90' identity='{identity}' aid='{mac_tail}'",
        at_ms / 1000,
        at_ms % 1000,
        (mac_tail >> 8) & 0xff,
        mac_tail & 0xff,
    )
}

#[test]
fn syslog_over_udp() {
    let dir = tempfile::tempdir().unwrap();
    let source = SourceConfig::new(
        "meraki",
        AdapterChoice::One(seam_adapters::Adapter::Meraki),
        Transport::Syslog {
            udp: Some("127.0.0.1:0".parse().unwrap()),
            tcp: None,
            tls: None,
            max_message_bytes: 8192,
        },
    );
    let server = start(&config(dir.path(), vec![source]));
    let target = server.addresses().syslog_udp["meraki"];
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let now = now_ms();
    socket
        .send_to(
            meraki_line("alice@example.com", 1, now - 3000).as_bytes(),
            target,
        )
        .unwrap();
    socket
        .send_to(b"<134>1 this is not a meraki line", target)
        .unwrap();
    socket
        .send_to(
            format!("{}\n", meraki_line("heidi@example.com", 2, now - 2000)).as_bytes(),
            target,
        )
        .unwrap();
    let found = wait_findings(server.addresses().api, INACTIVE, 1);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["unmapped"]["person_uid"], "heidi");
    let api = server.addresses().api;
    let deadline = Instant::now() + Duration::from_secs(5);
    while metric(api, "seam_records_rejected_total", "source=\"meraki\"") < 1.0
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        metric(api, "seam_events_stored_total", "source=\"meraki\""),
        2.0
    );
    assert_eq!(
        metric(api, "seam_records_rejected_total", "source=\"meraki\""),
        1.0
    );
    assert_eq!(
        metric(api, "seam_udp_dropped_total", "source=\"meraki\""),
        0.0
    );
    server.shutdown().unwrap();
}

#[test]
fn syslog_over_tcp_with_both_framings_and_several_formats() {
    let dir = tempfile::tempdir().unwrap();
    let source = SourceConfig::new(
        "net",
        AdapterChoice::SyslogAuto,
        Transport::Syslog {
            udp: None,
            tcp: Some("127.0.0.1:0".parse().unwrap()),
            tls: None,
            max_message_bytes: 8192,
        },
    );
    let server = start(&config(dir.path(), vec![source]));
    let target = server.addresses().syslog_tcp["net"];
    let at = seam_model::Ts(now_ms() - 5000).to_timestamp().unwrap();
    let stamp = at.strftime("%Y-%m-%d %H:%M:%S%.3f +00:00").to_string();
    let bsd = at.strftime("%b %e %H:%M:%S").to_string();
    // ISE (RFC 3164 header), octet-counted.
    let ise = format!(
        "<181>{bsd} ise01.example.com CISE_Passed_Authentications 0000099001 1 0 {stamp} 0000990101 5200 NOTICE Passed-Authentication: Authentication succeeded, Device IP Address=10.10.0.2, NetworkDeviceName=hq-sw1, User-Name=heidi@example.com, NAS-Port-Type=Ethernet, NAS-Port-Id=GigabitEthernet1/0/9, Calling-Station-ID=3C-22-FB-00-09-09, RadiusFlowType=Wired802_1x"
    );
    // DHCP (RFC 3164) and Meraki (RFC 5424), newline-framed, and one garbage line.
    let dhcp = format!(
        "<30>{bsd} dhcp1 dhcpd[812]: DHCPACK on 10.10.1.77 to 3c:22:fb:00:09:09 (heidi-laptop) via eth1"
    );
    let meraki = meraki_line("heidi@example.com", 7, now_ms() - 4000);
    let mut stream = TcpStream::connect(target).unwrap();
    let mut payload = format!("{} {ise}", ise.len()).into_bytes();
    payload.extend_from_slice(format!("{dhcp}\nnot syslog\n{meraki}\n").as_bytes());
    // In pieces, to cross frame boundaries.
    for piece in payload.chunks(37) {
        stream.write_all(piece).unwrap();
        stream.flush().unwrap();
    }
    drop(stream);
    let found = wait_findings(server.addresses().api, INACTIVE, 2);
    assert_eq!(found.len(), 2, "{found:?}");
    let api = server.addresses().api;
    assert_eq!(
        metric(api, "seam_events_stored_total", "source=\"net\""),
        3.0
    );
    assert_eq!(
        metric(api, "seam_records_rejected_total", "source=\"net\""),
        1.0
    );
    server.shutdown().unwrap();
}

#[test]
fn mqtt_door_controllers_and_occupancy_sensors() {
    require_broker();
    let dir = tempfile::tempdir().unwrap();
    let base = unique("seam-test");
    let server = start(&mqtt_config(dir.path(), &unique("seam-serve-test"), &base));
    let event_id = (now_ms() % 1_000_000_000) as u64;
    publish(&[
        (
            format!("{base}/uhppoted/gateway/events"),
            uhppote_swipe(4415, event_id, now_ms() - 2000),
        ),
        // Two people in the server room, and nobody badged in.
        (
            format!("{base}-z2m/hq-server-radar"),
            "{\"presence\":true,\"people\":2}".into(),
        ),
        (format!("{base}-z2m/hq-server-radar"), "not json".into()),
    ]);
    let api = server.addresses().api;
    let badge = wait_findings(api, INACTIVE, 1);
    assert_eq!(related(&badge[0]), [format!("405419896-{event_id}")]);
    let tailgating = wait_findings(api, "rule=seam.tailgating-occupancy", 1);
    assert_eq!(tailgating.len(), 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    while dead_letters(api).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(dead_letters(api)[0]["raw"], "not json");
    server.shutdown().unwrap();
}

#[test]
fn mqtt_messages_published_while_stopped_arrive_after_a_restart() {
    require_broker();
    let dir = tempfile::tempdir().unwrap();
    let base = unique("seam-test");
    let client_id = unique("seam-serve-test");
    let config = mqtt_config(dir.path(), &client_id, &base);
    // The first run subscribes; the broker keeps the session (clean session off).
    start(&config).shutdown().unwrap();
    let event_id = (now_ms() % 1_000_000_000) as u64 + 7;
    publish(&[(
        format!("{base}/uhppoted/gateway/events"),
        uhppote_swipe(4415, event_id, now_ms() - 1000),
    )]);
    let server = start(&config);
    let found = wait_findings(server.addresses().api, INACTIVE, 1);
    assert_eq!(related(&found[0]), [format!("405419896-{event_id}")]);
    server.shutdown().unwrap();
}

#[test]
fn a_watched_folder_with_a_site_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(
        dir.path().join("hq.toml"),
        r#"
name = "hq"
format = "csv"
[csv]
header = true
[time]
field = "When"
format = "epoch_ms"
[fields]
code = "What"
badge = "Card"
door = "Door"
[codes]
"Access Granted" = "granted"
"#,
    )
    .unwrap();
    let text = r#"
data_dir = "data"
[http]
listen = "127.0.0.1:0"
[engine]
lateness_secs = 0
heartbeat_ms = 100
[[source]]
name = "pacs-hq"
adapter = "pacs"
mapping = "hq.toml"
transport = "directory"
path = "inbox"
poll_ms = 50
settle_ms = 100
"#;
    let config = ServeConfig::from_toml("serve.toml", text, dir.path()).unwrap();
    let server = start(&config);
    let rows = format!(
        "When,What,Card,Door\n{},Access Granted,4415,hq-main\n{},Access Granted,4411,hq-main\n{},Access Granted,4417,\n",
        now_ms() - 3000,
        now_ms() - 2500,
        now_ms() - 2000
    );
    // Written under a hidden name, then renamed: the watcher skips hidden files.
    std::fs::write(inbox.join(".export.csv"), &rows).unwrap();
    std::fs::rename(inbox.join(".export.csv"), inbox.join("export.csv")).unwrap();
    let found = wait_findings(server.addresses().api, INACTIVE, 2);
    let mut people: Vec<String> = found
        .iter()
        .map(|f| f["unmapped"]["person_uid"].as_str().unwrap().to_string())
        .collect();
    people.sort();
    assert_eq!(people, ["erin", "heidi"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while inbox.join("export.csv").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!inbox.join("export.csv").exists());
    assert!(inbox.join("done/export.csv").exists());
    server.shutdown().unwrap();
}

#[test]
fn server_sign_ins_over_syslog_are_read_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&config(
        dir.path(),
        vec![SourceConfig::new(
            "net",
            AdapterChoice::SyslogAuto,
            Transport::Syslog {
                udp: Some("127.0.0.1:0".parse().unwrap()),
                tcp: None,
                tls: None,
                max_message_bytes: 8192,
            },
        )],
    ));
    let stamp = seam_model::Ts(now_ms() - 2000)
        .to_timestamp()
        .unwrap()
        .strftime("%b %e %H:%M:%S")
        .to_string();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for line in [
        format!(
            "<38>{stamp} db01 sshd[4121]: Accepted publickey for alice from 192.0.2.44 port 51234 ssh2"
        ),
        format!(
            "<85>{stamp} db01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id"
        ),
    ] {
        socket
            .send_to(line.as_bytes(), server.addresses().syslog_udp["net"])
            .unwrap();
    }
    let api = server.addresses().api;
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(api, "seam_events_stored_total", "source=\"net\"") < 2.0 {
        assert!(Instant::now() < deadline, "the sign-ins were not stored");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(dead_letters(api).is_empty());
    server.shutdown().unwrap();
}
