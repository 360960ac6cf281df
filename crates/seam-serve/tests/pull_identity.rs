//! The identity providers' logs pulled into findings: the Okta System Log API (`since`, the
//! `rel="next"` link as the cursor, `X-Rate-Limit-*`) and Microsoft Graph sign-ins
//! (`$filter` on time, `@odata.nextLink`, `Retry-After`, a token from OAuth client
//! credentials). Each API is played by a small HTTP
//! server in this file, on loopback, with the paging and throttling its documentation gives;
//! a restart resumes where the last durable page ended, nothing is stored twice, and a
//! dismissed person's sign-in becomes a finding.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use seam_serve::ServeConfig;

/// What a stand-in holds and was asked.
#[derive(Default)]
struct Api {
    records: Vec<serde_json::Value>,
    requests: Vec<String>,
    /// Answer the next request with a throttle.
    throttle_next: bool,
    unauthorized: usize,
    tokens_issued: usize,
    /// Answer the next request with a server error.
    fail_next: bool,
    /// Link every page to itself (a server that repeats a page).
    repeat: bool,
}

fn query_of(target: &str) -> HashMap<String, String> {
    target
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), percent_decode(v)))
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
            out.push(
                u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap(), 16).unwrap(),
            );
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// An answer: status line, extra headers, body.
type Reply = (String, Vec<String>, String);

/// Serves requests with `answer(api, own address, target, authorization)`.
fn stand_in(
    api: Arc<Mutex<Api>>,
    answer: fn(&mut Api, SocketAddr, &str, &str) -> Reply,
) -> SocketAddr {
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
            let mut authorization = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    if name.eq_ignore_ascii_case("authorization") {
                        authorization = value.trim().to_string();
                    }
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0u8; length];
            if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
                continue;
            }
            // A token request: its form stands in for the authorization.
            if request_line.starts_with("POST ") {
                authorization = String::from_utf8_lossy(&body).into_owned();
            }
            let target = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_string();
            let (status, headers, body) = {
                let mut api = api.lock().unwrap();
                api.requests.push(target.clone());
                answer(&mut api, addr, &target, &authorization)
            };
            let mut head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for header in headers {
                head.push_str(&header);
                head.push_str("\r\n");
            }
            let _ = write!(stream, "{head}\r\n{body}");
        }
    });
    addr
}

// ------------------------------------------------------------------------------ Okta

const OKTA_TOKEN: &str = "SSWS 00okta-api-token-for-tests";
const OKTA_PAGE: usize = 2;

fn okta_event(uuid: &str, published: i64, user: &str, okta_id: &str) -> serde_json::Value {
    serde_json::json!({
        "uuid": uuid,
        "published": rfc3339(published),
        "eventType": "user.session.start",
        "displayMessage": "User login to Okta",
        "severity": "INFO",
        "version": "0",
        "actor": {"id": okta_id, "type": "User", "alternateId": user, "displayName": user},
        "client": {"ipAddress": "198.51.100.10", "geographicalContext": {"country": "Netherlands", "city": "Amsterdam"}},
        "outcome": {"result": "SUCCESS"},
        "target": []
    })
}

/// `/api/v1/logs`: `since` and ascending order on the first request, then `after=N` links.
fn okta_answer(api: &mut Api, addr: SocketAddr, target: &str, authorization: &str) -> Reply {
    if authorization != OKTA_TOKEN {
        api.unauthorized += 1;
        return (
            "401 Unauthorized".into(),
            vec![],
            r#"{"errorCode":"E0000011"}"#.into(),
        );
    }
    let reset = (now_ms() / 1000) + 1;
    if std::mem::take(&mut api.throttle_next) {
        return (
            "429 Too Many Requests".into(),
            vec![
                "X-Rate-Limit-Limit: 60".into(),
                "X-Rate-Limit-Remaining: 0".into(),
                format!("X-Rate-Limit-Reset: {reset}"),
            ],
            r#"{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."}"#.into(),
        );
    }
    if std::mem::take(&mut api.fail_next) {
        return (
            "500 Internal Server Error".into(),
            vec![],
            r#"{"errorCode":"E0000009","errorSummary":"Internal Server Error"}"#.into(),
        );
    }
    let query = query_of(target);
    assert_eq!(
        query.get("sortOrder").map(String::as_str),
        Some("ASCENDING"),
        "{target}"
    );
    let start = match (query.get("after"), query.get("since")) {
        (Some(after), _) => after.parse::<usize>().unwrap(),
        (None, Some(since)) => {
            let since = seam_model::Ts::parse(since).unwrap().millis();
            api.records
                .iter()
                .position(|r| {
                    seam_model::Ts::parse(r["published"].as_str().unwrap())
                        .unwrap()
                        .millis()
                        >= since
                })
                .unwrap_or(api.records.len())
        }
        _ => panic!("neither since nor after: {target}"),
    };
    let limit: usize = query["limit"].parse().unwrap();
    let page: Vec<serde_json::Value> = api
        .records
        .iter()
        .skip(start)
        .take(limit)
        .cloned()
        .collect();
    let after = if api.repeat {
        start
    } else {
        start + page.len()
    };
    (
        "200 OK".into(),
        vec![
            format!("Link: <http://{addr}{target}>; rel=\"self\""),
            format!(
                "Link: <http://{addr}/api/v1/logs?after={after}&sortOrder=ASCENDING&limit={limit}>; rel=\"next\""
            ),
            "X-Rate-Limit-Limit: 60".into(),
            "X-Rate-Limit-Remaining: 59".into(),
            format!("X-Rate-Limit-Reset: {reset}"),
        ],
        serde_json::Value::Array(page).to_string(),
    )
}

fn config(dir: &std::path::Path, sources: &str) -> ServeConfig {
    let text = format!(
        r#"
data_dir = "data"
[http]
listen = "127.0.0.1:0"
[engine]
lateness_secs = 0
heartbeat_ms = 100
min_free_disk_mb = 1
{sources}
"#
    );
    ServeConfig::from_toml("serve.toml", &text, dir).unwrap()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_okta_system_log_is_polled_by_its_next_link_and_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let api = Arc::new(Mutex::new(Api::default()));
    let addr = stand_in(Arc::clone(&api), okta_answer);
    let now = now_ms();
    {
        let mut api = api.lock().unwrap();
        // Two days ago: before the first pull's `since`, never asked for.
        api.records.push(okta_event(
            "old-1",
            now - 2 * 86_400_000,
            "alice@example.com",
            "00u1alice",
        ));
        for i in 0..4 {
            api.records.push(okta_event(
                &format!("ok-{i}"),
                now - 3_600_000 + i * 1_000,
                "alice@example.com",
                "00u1alice",
            ));
        }
        // Erin left in February; her Okta account still signs in.
        api.records.push(okta_event(
            "erin-1",
            now - 3_000_000,
            "erin@example.com",
            "00u1erin",
        ));
        api.throttle_next = true;
    }
    let sources = format!(
        r#"
[[source]]
name = "okta"
adapter = "okta"
transport = "pull"
url = "http://{addr}/api/v1/logs"
every_secs = 1
page_size = {OKTA_PAGE}
credentials = {{ kind = "ssws", secret = "{}" }}
"#,
        OKTA_TOKEN.trim_start_matches("SSWS ")
    );
    let config = config(dir.path(), &sources);
    let server = start(&config);
    let api_addr = server.addresses().api;
    wait_until("every recent record", || {
        metric(api_addr, "seam_events_stored_total", "source=\"okta\"") >= 5.0
    });
    // The throttle was waited out (a failed pull), then paged by two from `since` (the
    // record of two days ago at position 0 was never asked for).
    assert!(metric(api_addr, "seam_pull_failures_total", "source=\"okta\"") >= 1.0);
    let found = wait_findings(api_addr, "rule=seam.inactive-person-credential", 1);
    assert_eq!(related(&found[0]), ["erin-1"]);
    {
        let api = api.lock().unwrap();
        assert!(api.requests[0].contains("since="), "{:?}", api.requests);
        assert!(
            api.requests.iter().any(|r| r.contains("after=3")),
            "{:?}",
            api.requests
        );
    }
    server.shutdown().unwrap();

    // After a restart: the saved next link, not `since` again; only what is new is stored.
    {
        let mut api = api.lock().unwrap();
        api.requests.clear();
        api.records.push(okta_event(
            "new-1",
            now_ms(),
            "alice@example.com",
            "00u1alice",
        ));
    }
    let server = start(&config);
    let api_addr = server.addresses().api;
    wait_until("the new record", || {
        metric(api_addr, "seam_events_stored_total", "source=\"okta\"") >= 1.0
    });
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(
        metric(api_addr, "seam_events_stored_total", "source=\"okta\""),
        1.0
    );
    let requests = api.lock().unwrap().requests.clone();
    assert!(requests[0].contains("after="), "{requests:?}");
    assert!(
        !requests.iter().any(|r| r.contains("since=")),
        "{requests:?}"
    );
    assert_eq!(api.lock().unwrap().unauthorized, 0);
    server.shutdown().unwrap();
}

// ------------------------------------------------------------------------------ Graph

const GRAPH_TOKEN: &str = "Bearer graph-access-token-for-tests";
const CLIENT_SECRET: &str = "client-secret/with+reserved=chars";

fn sign_in(id: &str, created: i64, upn: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "createdDateTime": rfc3339(created),
        "userDisplayName": upn,
        "userPrincipalName": upn,
        "userId": format!("00000000-0000-0000-0000-{:0>12}", id.len()),
        "appDisplayName": "Office 365 Exchange Online",
        "ipAddress": "198.51.100.20",
        "clientAppUsed": "Browser",
        "isInteractive": true,
        "status": {"errorCode": 0, "failureReason": null},
        "location": {"city": "Amsterdam", "countryOrRegion": "NL"}
    })
}

/// `/v1.0/auditLogs/signIns`: `$filter=createdDateTime ge T`, `$top`, then `$skiptoken` links.
fn graph_answer(api: &mut Api, addr: SocketAddr, target: &str, authorization: &str) -> Reply {
    if target == "/tenant-id/oauth2/v2.0/token" {
        // RFC 6749 §4.4: the client credentials, form-encoded.
        let form = query_of(&format!("?{authorization}"));
        let granted = form.get("grant_type").map(String::as_str) == Some("client_credentials")
            && form.get("client_id").map(String::as_str) == Some("seam-app")
            && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET)
            && form.get("scope").map(String::as_str)
                == Some("https://graph.microsoft.com/.default");
        if !granted {
            api.unauthorized += 1;
            return (
                "401 Unauthorized".into(),
                vec![],
                r#"{"error":"invalid_client"}"#.into(),
            );
        }
        api.tokens_issued += 1;
        return (
            "200 OK".into(),
            vec![],
            format!(
                r#"{{"token_type":"Bearer","expires_in":3599,"access_token":"{}"}}"#,
                GRAPH_TOKEN.trim_start_matches("Bearer ")
            ),
        );
    }
    if authorization != GRAPH_TOKEN {
        api.unauthorized += 1;
        return (
            "401 Unauthorized".into(),
            vec![],
            r#"{"error":{"code":"InvalidAuthenticationToken"}}"#.into(),
        );
    }
    if std::mem::take(&mut api.throttle_next) {
        return (
            "429 Too Many Requests".into(),
            vec!["Retry-After: 1".into()],
            r#"{"error":{"code":"TooManyRequests"}}"#.into(),
        );
    }
    let query = query_of(target);
    let (start, top) = match query.get("$skiptoken") {
        Some(token) => {
            let (start, top) = token.split_once('-').unwrap();
            (
                start.parse::<usize>().unwrap(),
                top.parse::<usize>().unwrap(),
            )
        }
        None => {
            let filter = &query["$filter"];
            let since = filter.strip_prefix("createdDateTime ge ").expect(filter);
            let since = seam_model::Ts::parse(since).unwrap().millis();
            let start = api
                .records
                .iter()
                .position(|r| {
                    seam_model::Ts::parse(r["createdDateTime"].as_str().unwrap())
                        .unwrap()
                        .millis()
                        >= since
                })
                .unwrap_or(api.records.len());
            (start, query["$top"].parse::<usize>().unwrap())
        }
    };
    let page: Vec<serde_json::Value> = api.records.iter().skip(start).take(top).cloned().collect();
    let after = start + page.len();
    let mut body = serde_json::json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
        "value": page,
    });
    if after < api.records.len() {
        body["@odata.nextLink"] =
            format!("http://{addr}/v1.0/auditLogs/signIns?$top={top}&$skiptoken={after}-{top}")
                .into();
    }
    ("200 OK".into(), vec![], body.to_string())
}

#[test]
fn graph_sign_ins_are_pulled_by_time_and_next_link_and_throttling_is_waited_out() {
    let dir = tempfile::tempdir().unwrap();
    let api = Arc::new(Mutex::new(Api::default()));
    let addr = stand_in(Arc::clone(&api), graph_answer);
    let now = now_ms();
    {
        let mut api = api.lock().unwrap();
        for i in 0..5 {
            api.records.push(sign_in(
                &format!("si-{i}"),
                now - 3_600_000 + i * 1_000,
                "alice@example.com",
            ));
        }
        api.records
            .push(sign_in("erin-si", now - 3_000_000, "erin@example.com"));
        api.throttle_next = true;
    }
    let sources = format!(
        r#"
[[source]]
name = "entra"
adapter = "entra"
transport = "pull"
url = "http://{addr}/v1.0/auditLogs/signIns"
every_secs = 1
page_size = 2
credentials = {{ kind = "oauth-client", token_url = "http://{addr}/tenant-id/oauth2/v2.0/token", client_id = "seam-app", secret = "{CLIENT_SECRET}" }}
"#
    );
    let config = config(dir.path(), &sources);
    let server = start(&config);
    let api_addr = server.addresses().api;
    wait_until("every sign-in", || {
        metric(api_addr, "seam_events_stored_total", "source=\"entra\"") >= 6.0
    });
    assert!(metric(api_addr, "seam_pull_failures_total", "source=\"entra\"") >= 1.0);
    let found = wait_findings(api_addr, "rule=seam.inactive-person-credential", 1);
    assert_eq!(related(&found[0]), ["erin-si"]);
    // Later pulls ask from the newest time seen: the boundary again, stored once.
    let newest = rfc3339(now - 3_000_000);
    let newest = format!("{}Z", &newest[..19]);
    wait_until("an incremental pull", || {
        api.lock().unwrap().requests.iter().any(|r| {
            query_of(r)
                .get("$filter")
                .is_some_and(|f| f == &format!("createdDateTime ge {newest}"))
        })
    });
    std::thread::sleep(Duration::from_millis(1_500));
    assert_eq!(
        metric(api_addr, "seam_events_stored_total", "source=\"entra\""),
        6.0
    );
    assert_eq!(api.lock().unwrap().unauthorized, 0);
    server.shutdown().unwrap();
}

#[test]
fn a_server_error_is_retried_and_a_repeating_page_stops_the_pull_without_a_loop() {
    let dir = tempfile::tempdir().unwrap();
    let api = Arc::new(Mutex::new(Api::default()));
    let addr = stand_in(Arc::clone(&api), okta_answer);
    let now = now_ms();
    {
        let mut api = api.lock().unwrap();
        for i in 0..3 {
            api.records.push(okta_event(
                &format!("r-{i}"),
                now - 3_600_000 + i * 1_000,
                "alice@example.com",
                "00u1alice",
            ));
        }
        api.fail_next = true;
    }
    let sources = format!(
        r#"
[[source]]
name = "okta"
adapter = "okta"
transport = "pull"
url = "http://{addr}/api/v1/logs"
every_secs = 1
page_size = {OKTA_PAGE}
credentials = {{ kind = "ssws", secret = "{}" }}
"#,
        OKTA_TOKEN.trim_start_matches("SSWS ")
    );
    let config = config(dir.path(), &sources);
    let server = start(&config);
    let api_addr = server.addresses().api;
    // The 500 is a failed pull; the next one pages through everything.
    wait_until("every record", || {
        metric(api_addr, "seam_events_stored_total", "source=\"okta\"") >= 3.0
    });
    let failures = metric(api_addr, "seam_pull_failures_total", "source=\"okta\"");
    assert!(failures >= 1.0);
    // Now the server links each page to itself: the pull stops as failed instead of asking
    // the same page forever, and stores nothing twice.
    api.lock().unwrap().repeat = true;
    api.lock().unwrap().records.push(okta_event(
        "r-new",
        now_ms(),
        "alice@example.com",
        "00u1alice",
    ));
    wait_until("a repeated page refused", || {
        metric(api_addr, "seam_pull_failures_total", "source=\"okta\"") > failures
    });
    let requests = api.lock().unwrap().requests.len();
    std::thread::sleep(Duration::from_millis(1_200));
    // About one pull a second, each of a page or two: not a loop.
    assert!(api.lock().unwrap().requests.len() < requests + 10);
    assert_eq!(
        metric(api_addr, "seam_events_stored_total", "source=\"okta\""),
        4.0
    );
    server.shutdown().unwrap();
}
