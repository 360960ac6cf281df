//! Server sign-ins and firewall flows from their vendors' formats through a transport into a
//! finding: Windows Security events (Winlogbeat JSON) over HTTP, PAN-OS TRAFFIC over syslog
//! TCP, Linux console and SSH lines over syslog UDP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::io::Write;
use std::net::{TcpStream, UdpSocket};

use common::*;
use seam_serve::client::HttpClient;
use seam_serve::{AdapterChoice, SourceConfig, Transport};

/// An hour before the last midnight UTC: after hours at every example site, and within the
/// default bounds of the receive time.
fn last_night() -> i64 {
    let now = now_ms();
    now - now.rem_euclid(86_400_000) - 3_600_000
}

fn winlogbeat(record: u64, at: i64, event_id: u32, user: &str, logon_type: u8, ip: &str) -> String {
    serde_json::json!({
        "@timestamp": rfc3339(at),
        "event": {"code": event_id.to_string(), "provider": "Microsoft-Windows-Security-Auditing"},
        "host": {"name": "hq-db1.corp.example"},
        "winlog": {
            "channel": "Security",
            "computer_name": "hq-db1.corp.example",
            "event_id": event_id.to_string(),
            "record_id": record.to_string(),
            "provider_name": "Microsoft-Windows-Security-Auditing",
            "event_data": {
                "TargetUserName": user,
                "TargetDomainName": "EXAMPLE",
                "LogonType": logon_type.to_string(),
                "IpAddress": ip,
                "Status": "0xc000006d",
                "SubStatus": "0xc000006a",
            }
        }
    })
    .to_string()
}

fn post(server: &seam_serve::Server, source: &str, body: &str) {
    let response = HttpClient::new(server.addresses().http)
        .post(
            &format!("/v1/ingest/{source}"),
            &[("content-type", "application/x-ndjson")],
            body.as_bytes(),
        )
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
}

#[test]
fn windows_sign_ins_over_http_raise_the_server_rules() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&config(dir.path(), vec![http_source("windows", "windows")]));
    let night = last_night();
    // Bob at the database server's console (an interactive logon) with nobody badged in.
    let mut lines = vec![winlogbeat(1, night, 4624, "bob", 2, "-")];
    // Twelve wrong passwords over the network from one workstation within two minutes.
    for n in 0..12 {
        lines.push(winlogbeat(
            100 + n,
            night + 600_000 + n as i64 * 10_000,
            4625,
            ["administrator", "backup", "sql"][n as usize % 3],
            3,
            "10.10.1.99",
        ));
    }
    post(&server, "windows", &(lines.join("\n") + "\n"));
    let api = server.addresses().api;
    let console = wait_findings(api, "rule=seam.server-console-no-badge", 1);
    assert_eq!(related(&console[0]), ["windows-hq-db1.corp.example-1"]);
    let burst = wait_findings(api, "rule=seam.server-signin-failure-burst", 1);
    assert!(related(&burst[0]).len() >= 10);
    assert!(dead_letters(api).is_empty());
    server.shutdown().unwrap();
}

/// A PAN-OS TRAFFIC `end` record: `bytes_sent` from `from` to an outside address.
fn traffic_end(at: i64, from: &str, user: &str, bytes_sent: u64, sequence: u64) -> String {
    let when = seam_model::Ts(at)
        .to_timestamp()
        .unwrap()
        .strftime("%Y/%m/%d %H:%M:%S")
        .to_string();
    let mut fields: Vec<String> = vec![String::new(); 116];
    let set = |fields: &mut Vec<String>, at: usize, value: &str| fields[at] = value.to_string();
    set(&mut fields, 0, "1");
    set(&mut fields, 1, &when);
    set(&mut fields, 2, "013201009876");
    set(&mut fields, 3, "TRAFFIC");
    set(&mut fields, 4, "end");
    set(&mut fields, 5, "2561");
    set(&mut fields, 6, &when);
    set(&mut fields, 7, from);
    set(&mut fields, 8, "185.220.101.50");
    set(&mut fields, 11, "outbound-web");
    set(&mut fields, 12, user);
    set(&mut fields, 14, "ssl");
    set(&mut fields, 15, "vsys1");
    set(&mut fields, 16, "corp");
    set(&mut fields, 17, "internet");
    set(&mut fields, 21, &when);
    set(&mut fields, 22, "300999");
    set(&mut fields, 23, "1");
    set(&mut fields, 24, "50444");
    set(&mut fields, 25, "443");
    set(&mut fields, 28, "0x400053");
    set(&mut fields, 29, "tcp");
    set(&mut fields, 30, "allow");
    set(&mut fields, 31, &(bytes_sent + 40_000).to_string());
    set(&mut fields, 32, &bytes_sent.to_string());
    set(&mut fields, 33, "40000");
    set(&mut fields, 34, "500000");
    set(&mut fields, 35, &when);
    set(&mut fields, 36, "300");
    set(&mut fields, 39, &sequence.to_string());
    set(&mut fields, 40, "0x8000000000000000");
    format!("<14>{when} pa-fw01 {}\n", fields.join(","))
}

#[test]
fn a_panos_upload_over_syslog_tcp_while_the_owner_is_in_the_classified_area() {
    let dir = tempfile::tempdir().unwrap();
    let firewall = SourceConfig::new(
        "firewall",
        AdapterChoice::One(seam_adapters::Adapter::from_name("panos").unwrap()),
        Transport::Syslog {
            udp: None,
            tcp: Some("127.0.0.1:0".parse().unwrap()),
            tls: None,
            max_message_bytes: 8192,
        },
    );
    let server = start(&config(
        dir.path(),
        vec![http_source("badges", "ndjson"), firewall],
    ));
    let at = now_ms() - 60_000;
    // Dan (badge 4414) goes into the classified area; 700 MB leave his workstation.
    post(
        &server,
        "badges",
        &format!(
            "{}\n",
            serde_json::json!({
                "uid": "dan-in", "time": rfc3339(at), "source": "badges",
                "class": "physical_access", "activity": "granted",
                "subject": {"badge": "4414"}, "door": "hq-classified-in"
            })
        ),
    );
    let mut stream = TcpStream::connect(server.addresses().syslog_tcp["firewall"]).unwrap();
    stream
        .write_all(
            traffic_end(
                at + 30_000,
                "10.10.1.24",
                "example\\dan",
                734_003_200,
                7_700_501,
            )
            .as_bytes(),
        )
        .unwrap();
    stream.flush().unwrap();
    let found = wait_findings(server.addresses().api, "rule=seam.exfil-owner-elsewhere", 1);
    assert_eq!(related(&found[0]), ["panos-013201009876-traffic-7700501"]);
    drop(stream);
    server.shutdown().unwrap();
}

#[test]
fn a_console_sign_in_line_over_syslog_udp_raises_the_console_rule() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&config(
        dir.path(),
        vec![SourceConfig::new(
            "servers",
            AdapterChoice::SyslogAuto,
            Transport::Syslog {
                udp: Some("127.0.0.1:0".parse().unwrap()),
                tcp: None,
                tls: None,
                max_message_bytes: 8192,
            },
        )],
    ));
    let stamp = rfc3339(last_night());
    let line = format!(
        "<86>{stamp} hq-db1 login[812]: pam_unix(login:session): session opened for user dan(uid=1004) by LOGIN(uid=0)"
    );
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(line.as_bytes(), server.addresses().syslog_udp["servers"])
        .unwrap();
    let found = wait_findings(
        server.addresses().api,
        "rule=seam.server-console-no-badge",
        1,
    );
    assert_eq!(
        found[0]["evidences"][0]["user"]["uid"].as_str(),
        Some("dan"),
        "{}",
        found[0]
    );
    server.shutdown().unwrap();
}
