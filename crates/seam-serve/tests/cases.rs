//! Triage and cases end to end, through the real router: a tailgating finding and a suspicious
//! sign-in grouped into one alert, taken into one case whose type gives both teams tasks,
//! evidence attached and downloaded, the case closed with a disposition and exported as a
//! signed bundle that `sha256sum` and `openssl` check independently; roles enforced at every
//! step, and the bad input the workspace must refuse.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use seam_access::{NewToken, OsRandom, Role, TOKENS_COLLECTION, Tokens};
use seam_model::Ts;
use seam_store::{DocumentWrite, Store, StoredFinding};

/// One request; the status and the body.
fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(content_type) = content_type {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&answer[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = answer[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = unchunk(&body);
    }
    (status, body)
}

/// A GET with extra headers; the status and the body.
fn call_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n"
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&answer[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut body = answer[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = unchunk(&body);
    }
    (status, body)
}

fn unchunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&body[..line_end]).unwrap().trim(), 16)
                .unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[line_end + 2..line_end + 2 + size]);
        body = &body[line_end + 2 + size + 2..];
    }
}

fn json(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let content_type = (method != "GET").then_some("application/json");
    let (status, bytes) = call(addr, method, path, token, content_type, body.as_bytes());
    let value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, value)
}

const T0: i64 = 1_772_438_400_000; // 2026-03-02T08:00:00Z

fn finding(
    uid: &str,
    rule: &str,
    minute: i64,
    person: &str,
    zone: Option<&str>,
    message: &str,
) -> StoredFinding {
    let mut data = serde_json::Map::new();
    data.insert("person.uid".into(), person.into());
    if let Some(zone) = zone {
        data.insert("zone.id".into(), zone.into());
    }
    let time = T0 + minute * 60_000;
    let json = serde_json::json!({
        "class_uid": 2004, "time": time, "severity_id": 4, "severity": "High",
        "message": message,
        "finding_info": {"uid": uid, "title": message, "analytic": {"uid": rule},
                         "related_events": [{"uid": format!("ev-{uid}")}]},
        "evidences": [{"user": {"uid": person, "name": "Bob Example"}, "data": data}],
        "unmapped": {"person_uid": person, "rule_kind": "detection", "count": 1},
    });
    StoredFinding {
        uid: uid.into(),
        rule: rule.into(),
        time: Ts(time),
        person: Some(person.into()),
        severity: "High".into(),
        json: json.to_string(),
    }
}

/// Tokens per (role, limited to nyc), stored as `seam token create` leaves them, and the
/// two findings.
fn seed(data: &Path) -> BTreeMap<(Role, bool), String> {
    let mut store = seam_store::EmbeddedStore::open(data).unwrap();
    let mut tokens = Tokens::new();
    let mut secrets = BTreeMap::new();
    let nyc = vec!["nyc".to_string()];
    for role in Role::ALL {
        for limited in [false, true] {
            let (_, secret) = tokens
                .create(
                    NewToken {
                        name: &format!("{role} {limited}"),
                        roles: &[role],
                        sites: limited.then_some(nyc.as_slice()),
                        expires: None,
                    },
                    Ts(now_ms()),
                    &mut OsRandom,
                )
                .unwrap();
            secrets.insert((role, limited), secret.expose().to_string());
        }
    }
    let writes: Vec<DocumentWrite> = tokens
        .iter()
        .map(|t| DocumentWrite {
            collection: TOKENS_COLLECTION.into(),
            id: t.id.clone(),
            json: Some(t.to_document().unwrap()),
        })
        .collect();
    store.write_documents(&writes).unwrap();
    store
        .append_findings(&[
            finding(
                "f-tailgate",
                "seam.tailgating-occupancy",
                0,
                "bob",
                Some("hq-lobby"),
                "two people went through the lobby door on one badge",
            ),
            finding(
                "f-signin",
                "seam.onsite-offsite-signin",
                6,
                "bob",
                None,
                "bob signed in from abroad while badged in at HQ",
            ),
        ])
        .unwrap();
    store.commit().unwrap();
    secrets
}

#[test]
fn a_tailgate_and_a_sign_in_are_worked_as_one_case_by_both_teams() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = seed(dir.path());
    let mut config = common::config(dir.path(), vec![http_source("pacs", "uhppote")]);
    config.cases.max_evidence_bytes = 4096;
    let server = start(&config);
    let addr = server.addresses().http;
    let token = |role: Role| tokens[&(role, false)].as_str();
    let analyst = token(Role::SocAnalyst);
    let guard = token(Role::GsocOperator);
    let investigator = token(Role::Investigator);
    let auditor = token(Role::Auditor);
    let integration = token(Role::Integration);
    let nyc_guard = tokens[&(Role::GsocOperator, true)].as_str();

    // Triage: both findings, grouped into one alert by their person.
    let (status, listed) = json(addr, "GET", "/v1/findings?status=new", analyst, "");
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["count"], 2, "{listed}");
    let alert = listed["findings"][0]["triage"]["alert"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(listed["findings"][1]["triage"]["alert"], alert.as_str());
    assert!(
        !listed.to_string().contains("Bob Example"),
        "an analyst sees a pseudonym: {listed}"
    );
    let (status, alerts) = json(addr, "GET", "/v1/alerts", analyst, "");
    assert_eq!(status, 200);
    assert_eq!(alerts["alerts"][0]["count"], 2, "{alerts}");
    assert_eq!(json(addr, "GET", "/v1/alerts", integration, "").0, 403);
    // A guard limited to nyc sees none of HQ's findings.
    let (_, elsewhere) = json(addr, "GET", "/v1/findings", nyc_guard, "");
    assert_eq!(elsewhere["count"], 0, "{elsewhere}");

    let ack = r#"{"action":"acknowledge","version":1}"#;
    assert_eq!(
        json(addr, "POST", "/v1/findings/f-tailgate/triage", auditor, ack).0,
        403
    );
    let (status, acked) = json(addr, "POST", "/v1/findings/f-tailgate/triage", analyst, ack);
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["triage"]["status"], "acknowledged");
    // The same version again is stale; acknowledging twice is illegal.
    assert_eq!(
        json(addr, "POST", "/v1/findings/f-tailgate/triage", analyst, ack).0,
        409
    );
    let again = r#"{"action":"acknowledge"}"#;
    assert_eq!(
        json(
            addr,
            "POST",
            "/v1/findings/f-tailgate/triage",
            analyst,
            again
        )
        .0,
        409
    );
    assert_eq!(
        json(addr, "POST", "/v1/findings/no-such/triage", analyst, again).0,
        404
    );
    assert_eq!(
        json(
            addr,
            "POST",
            "/v1/findings/f-tailgate/triage",
            analyst,
            r#"{"action":"explode"}"#
        )
        .0,
        400
    );

    // One case from the alert; its type comes from the first finding (a tailgate).
    let open = format!(
        r#"{{"title":"Tailgate at the lobby, then a sign-in from abroad","alerts":["{alert}"]}}"#
    );
    assert_eq!(json(addr, "POST", "/v1/cases", auditor, &open).0, 403);
    assert_eq!(json(addr, "POST", "/v1/cases", integration, &open).0, 403);
    let (status, case) = json(addr, "POST", "/v1/cases", guard, &open);
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_str().unwrap().to_string();
    assert_eq!(case["kind"], "physical-intrusion");
    let teams: Vec<&str> = case["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["team"].as_str().unwrap())
        .collect();
    assert!(
        teams.contains(&"physical") && teams.contains(&"cyber"),
        "{case}"
    );
    assert_eq!(case["links"]["findings"].as_array().unwrap().len(), 2);
    assert_eq!(case["sites"], serde_json::json!(["hq"]));
    assert!(case["targets"]["acknowledge_by"].as_i64().is_some());
    let path = format!("/v1/cases/{id}");
    assert_eq!(
        json(addr, "GET", &path, nyc_guard, "").0,
        404,
        "another site's case"
    );
    assert_eq!(json(addr, "GET", &path, integration, "").0, 403);
    assert_eq!(json(addr, "GET", "/v1/cases/C-999", guard, "").0, 404);
    let (status, found) = json(addr, "GET", "/v1/findings/f-signin", analyst, "");
    assert_eq!(status, 200);
    assert_eq!(found["cases"], serde_json::json!([id]));

    // Evidence: streamed, digested, named for display only; the same content once.
    let upload = format!("/v1/cases/{id}/evidence?name=..%2F..%2Fetc%2Flobby-cctv.txt&version=1");
    let content = b"camera 4, 08:00:03: two people, one badge";
    assert_eq!(
        call(addr, "POST", &upload, auditor, Some("text/plain"), content).0,
        403
    );
    let (status, stored) = call(
        addr,
        "POST",
        &upload,
        investigator,
        Some("text/plain"),
        content,
    );
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&stored));
    let stored: serde_json::Value = serde_json::from_slice(&stored).unwrap();
    let sha256 = stored["sha256"].as_str().unwrap().to_string();
    let version = stored["version"].as_u64().unwrap();
    let again = format!("/v1/cases/{id}/evidence?name=copy.txt");
    assert_eq!(
        call(addr, "POST", &again, investigator, None, content).0,
        409,
        "the same evidence twice"
    );
    assert_eq!(
        call(addr, "POST", &again, investigator, None, b"").0,
        400,
        "empty"
    );
    assert_eq!(
        call(addr, "POST", &again, investigator, None, &[7u8; 5000]).0,
        413,
        "too large"
    );
    let dots = format!("/v1/cases/{id}/evidence?name=..");
    assert_eq!(
        call(addr, "POST", &dots, investigator, None, b"x").0,
        400,
        "no file name"
    );
    let stale = format!("/v1/cases/{id}/evidence?name=b.txt&version=1");
    assert_eq!(
        call(addr, "POST", &stale, investigator, None, b"other").0,
        409,
        "a stale version"
    );
    let (status, downloaded) = call(
        addr,
        "GET",
        &format!("/v1/cases/{id}/evidence/{sha256}"),
        auditor,
        None,
        b"",
    );
    assert_eq!(status, 200);
    assert_eq!(downloaded, content);
    assert_eq!(
        call(
            addr,
            "GET",
            &format!("/v1/cases/{id}/evidence/..%2F..%2Fseam.db"),
            auditor,
            None,
            b""
        )
        .0,
        400
    );

    // Both teams work their tasks; a stale write is refused, never merged.
    let (_, read) = json(addr, "GET", &path, guard, "");
    assert_eq!(read["version"].as_u64(), Some(version));
    assert_eq!(read["evidence"][0]["name"], "lobby-cctv.txt");
    assert_eq!(read["custody"].as_array().unwrap().len(), 2, "{read}");
    let complete = |task: u64, version: u64| {
        format!(
            r#"{{"version":{version},"changes":[{{"change":"complete_task","task":{task}}},{{"change":"note","text":"done: task {task}"}}]}}"#
        )
    };
    assert_eq!(
        json(addr, "PATCH", &path, auditor, &complete(1, version)).0,
        403
    );
    let (status, after) = json(addr, "PATCH", &path, guard, &complete(1, version));
    assert_eq!(status, 200, "{after}");
    assert_eq!(
        json(addr, "PATCH", &path, analyst, &complete(2, version)).0,
        409,
        "stale"
    );
    let version = after["version"].as_u64().unwrap();
    let (status, after) = json(addr, "PATCH", &path, analyst, &complete(2, version));
    assert_eq!(status, 200, "{after}");
    let version = after["version"].as_u64().unwrap();
    let merge_self =
        format!(r#"{{"source":"{id}","version":{version},"source_version":{version}}}"#);
    assert_eq!(
        json(addr, "POST", &format!("{path}/merge"), guard, &merge_self).0,
        409
    );
    let no_disposition =
        format!(r#"{{"version":{version},"changes":[{{"change":"status","status":"closed"}}]}}"#);
    assert_eq!(json(addr, "PATCH", &path, guard, &no_disposition).0, 400);
    for uid in ["f-tailgate", "f-signin"] {
        let close =
            r#"{"action":"close","disposition":"true_positive","reason":"confirmed on camera"}"#;
        let (status, closed) = json(
            addr,
            "POST",
            &format!("/v1/findings/{uid}/triage"),
            analyst,
            close,
        );
        assert_eq!(status, 200, "{closed}");
    }
    let close = format!(
        r#"{{"version":{version},"changes":[{{"change":"status","status":"closed","disposition":"true_positive"}}]}}"#
    );
    let (status, closed) = json(addr, "PATCH", &path, guard, &close);
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["disposition"], "true_positive");

    // The timeline and the link view.
    let (status, timeline) = json(addr, "GET", &format!("{path}/timeline"), investigator, "");
    assert_eq!(status, 200, "{timeline}");
    let kinds: Vec<&str> = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"finding") && kinds.contains(&"action"),
        "{timeline}"
    );
    let (status, links) = json(addr, "GET", &format!("{path}/links"), investigator, "");
    assert_eq!(status, 200);
    assert!(links["nodes"].as_array().unwrap().len() >= 4, "{links}");

    // Suppressions over the API: scoped, reasoned, expiring, audited; ended, still listed.
    let tomorrow = now_ms() + 86_400_000;
    let suppress = format!(
        r#"{{"rule":"seam.tailgating-occupancy","zone":"hq-lobby","reason":"turnstile under repair","expires_at":{tomorrow}}}"#
    );
    assert_eq!(
        json(addr, "POST", "/v1/suppressions", auditor, &suppress).0,
        403
    );
    let everywhere = format!(
        r#"{{"rule":"seam.tailgating-occupancy","reason":"noisy","expires_at":{tomorrow}}}"#
    );
    assert_eq!(
        json(addr, "POST", "/v1/suppressions", analyst, &everywhere).0,
        400,
        "no scope"
    );
    let elsewhere = format!(r#"{{"site":"hq","reason":"not my site","expires_at":{tomorrow}}}"#);
    assert_eq!(
        json(addr, "POST", "/v1/suppressions", nyc_guard, &elsewhere).0,
        403
    );
    let (status, made) = json(addr, "POST", "/v1/suppressions", analyst, &suppress);
    assert_eq!(status, 201, "{made}");
    let sup = made["id"].as_str().unwrap().to_string();
    let (_, listed) = json(addr, "GET", "/v1/suppressions", analyst, "");
    assert_eq!(listed["suppressions"][0]["id"], sup.as_str(), "{listed}");
    assert_eq!(listed["suppressions"][0]["active"], true);
    let end = format!("/v1/suppressions/{sup}");
    assert_eq!(json(addr, "DELETE", &end, analyst, "").0, 200);
    assert_eq!(
        json(addr, "DELETE", &end, analyst, "").0,
        409,
        "ended already"
    );
    let (_, listed) = json(addr, "GET", "/v1/suppressions", analyst, "");
    assert_eq!(listed["suppressions"][0]["active"], false);

    // Identity 360: the person across both worlds, with a stated purpose only.
    assert_eq!(
        json(addr, "GET", "/v1/people/bob/360", guard, "").0,
        400,
        "no purpose"
    );
    let purpose_call = |token: &str| {
        let (status, bytes) = call_with(
            addr,
            "GET",
            "/v1/people/bob/360",
            token,
            &[("X-Seam-Purpose", "case review: lobby tailgate")],
        );
        (
            status,
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default(),
        )
    };
    let (status, person) = purpose_call(guard);
    assert_eq!(status, 200, "{person}");
    assert_eq!(person["person"]["name"], "Bob Tanaka");
    assert_eq!(person["cases"][0]["id"], id.as_str());
    assert_eq!(
        person["open_findings"].as_array().unwrap().len(),
        0,
        "both closed"
    );
    assert!(
        person["identifiers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["value"].is_string())
    );
    let (status, masked) = purpose_call(analyst);
    assert_eq!(status, 200);
    assert!(!masked.to_string().contains("Bob Tanaka"), "{masked}");
    assert!(
        masked["identifiers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["value"].is_null())
    );
    assert_eq!(purpose_call(auditor).0, 403);
    assert_eq!(purpose_call(nyc_guard).0, 404, "another site's person");

    // The bundle, checked by tools that know nothing of Seam.
    assert_eq!(
        json(addr, "GET", &format!("{path}/export"), integration, "").0,
        403
    );
    let (status, bundle) = json(addr, "GET", &format!("{path}/export"), auditor, "");
    assert_eq!(status, 200);
    let out = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for file in bundle["files"].as_array().unwrap() {
        let relative = file["path"].as_str().unwrap();
        let bytes = base64_decode(file["base64"].as_str().unwrap());
        let target = out.path().join(relative);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, &bytes).unwrap();
        files.push(seam_cases::bundle::BundleFile {
            path: relative.to_string(),
            bytes,
        });
    }
    assert!(out.path().join(format!("evidence/{sha256}")).exists());
    let report = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(report.contains("Tailgate at the lobby"), "{report}");
    let sums = Command::new("sha256sum")
        .args(["-c", "--strict", "SHA256SUMS"])
        .current_dir(out.path())
        .output()
        .expect("sha256sum must be installed");
    assert!(
        sums.status.success(),
        "{}",
        String::from_utf8_lossy(&sums.stdout)
    );
    let signature = Command::new("openssl")
        .args([
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "public-key.pem",
            "-rawin",
            "-in",
            "manifest.json",
            "-sigfile",
            "manifest.sig",
        ])
        .current_dir(out.path())
        .output()
        .expect("openssl must be installed");
    assert!(
        signature.status.success(),
        "{}",
        String::from_utf8_lossy(&signature.stderr)
    );
    let key = seam_serve::export_key(dir.path()).unwrap();
    let verified = seam_cases::bundle::verify(&files, Some(&key.verifying_key())).unwrap();
    assert_eq!(verified.case_id, id);

    // Every step is in the audit log.
    server.shutdown().unwrap();
    let mut audit = String::new();
    for entry in std::fs::read_dir(dir.path().join("audit")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "log") {
            audit.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    for action in [
        "case_changed",
        "evidence_accessed",
        "finding_changed",
        "person_read",
    ] {
        assert!(audit.contains(action), "no {action} in the audit log");
    }
    assert!(
        !audit.contains("Bob Example"),
        "names never reach the audit log"
    );
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in text.bytes().filter(|b| *b != b'=') {
        let value = ALPHABET.iter().position(|a| *a == byte).unwrap() as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}
