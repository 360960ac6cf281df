//! SCIM 2.0 provisioning through the running service: the independent compliance checker
//! (`scim2-tester`, through `scim2-cli`, from PyPI) passes against it; request sequences
//! shaped as Okta's and Microsoft Entra ID's documentation shows them provision people who
//! then resolve in the engine (a deactivated user's sign-in is a finding); bad requests get
//! SCIM's error shape and change nothing; resources survive a restart.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use seam_serve::client::HttpClient;
use seam_serve::{
    AdapterChoice, ScimSettings, Secret, ServeConfig, Server, SourceConfig, Transport,
};
use serde_json::{Value, json};

const TOKEN: &str = "scim-bearer-token-for-tests-0123456789";

fn scim_config(data: &Path, mapping: Option<PathBuf>) -> ServeConfig {
    let mut config = common::config(
        data,
        vec![SourceConfig::new(
            "okta",
            AdapterChoice::One(seam_adapters::Adapter::Okta),
            Transport::Http,
        )],
    );
    config.directory.scim = Some(ScimSettings {
        token: Secret::new(TOKEN),
        mapping,
        base_url: None,
    });
    config
}

/// One SCIM request; the answer's status and JSON body (`Null` when empty).
fn call(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    call_with(addr, method, path, body, &[])
}

fn call_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
    extra: &[(&str, &str)],
) -> (u16, Value) {
    let auth = format!("Bearer {TOKEN}");
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/scim+json"),
    ];
    headers.extend_from_slice(extra);
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let response = HttpClient::new(addr)
        .request(
            method,
            &format!("/scim/v2{path}"),
            &headers,
            body.as_bytes(),
        )
        .unwrap();
    let value = if response.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&response.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", response.text()))
    };
    (response.status, value)
}

/// The `scim2` command of `scim2-cli`: `SEAM_SCIM2`, else the one `.ci/run` installs, else
/// the one on the PATH.
fn scim2() -> PathBuf {
    if let Some(path) = std::env::var_os("SEAM_SCIM2") {
        return PathBuf::from(path);
    }
    let installed = repo().join(".ci/venv/bin/scim2");
    if installed.exists() {
        return installed;
    }
    PathBuf::from("scim2")
}

#[test]
fn the_scim_compliance_checker_passes_against_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&scim_config(dir.path(), None));
    let url = format!("http://{}/scim/v2", server.addresses().http);
    let output = std::process::Command::new(scim2())
        .args(["--url", &url, "test"])
        // The token through the environment, as scim2-cli advises: never on a command line.
        .env("SCIM_CLI_HEADERS", format!("Authorization: Bearer {TOKEN}"))
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "the SCIM compliance checker `scim2` (pip install scim2-cli scim2-tester; .ci/run installs it) could not run: {e}"
            )
        });
    let report = String::from_utf8_lossy(&output.stdout);
    let failures: Vec<&str> = report
        .lines()
        .filter(|line| line.starts_with("ERROR") || line.starts_with("CRITICAL"))
        .collect();
    assert!(
        output.status.success() && failures.is_empty(),
        "the checker failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        report.lines().filter(|l| l.starts_with("SUCCESS")).count() > 100,
        "{report}"
    );
    server.shutdown().unwrap();
}

fn okta_sign_in(uuid: &str, at: i64, user: &str) -> String {
    json!({
        "uuid": uuid, "published": rfc3339(at), "eventType": "user.session.start",
        "displayMessage": "User login to Okta", "severity": "INFO", "version": "0",
        "actor": {"id": "00u9dana", "type": "User", "alternateId": user, "displayName": "Dana Smith"},
        "client": {"ipAddress": "198.51.100.10"},
        "outcome": {"result": "SUCCESS"}, "target": []
    })
    .to_string()
}

#[test]
fn an_okta_shaped_provisioning_sequence_provisions_and_deactivates_a_person() {
    let dir = tempfile::tempdir().unwrap();
    let config = scim_config(dir.path(), None);
    let server = start(&config);
    let http = server.addresses().http;
    let api = server.addresses().api;

    // Okta first looks the user up by userName, then creates it.
    let (status, found) = call(
        http,
        "GET",
        "/Users?filter=userName%20eq%20%22dana%40example.com%22&startIndex=1&count=100",
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(found["totalResults"], 0);
    let (status, created) = call(
        http,
        "POST",
        "/Users",
        Some(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "dana@example.com",
            "name": {"givenName": "Dana", "familyName": "Smith"},
            "emails": [{"primary": true, "value": "dana@example.com", "type": "work"}],
            "displayName": "Dana Smith",
            "locale": "en-US",
            "externalId": "00u9dana",
            "groups": [],
            "password": "t1meMa$heen",
            "active": true
        })),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert!(
        created.get("password").is_none(),
        "a password is never returned"
    );
    // Okta reads it back, then pushes a profile change with PUT.
    let (status, read) = call(http, "GET", &format!("/Users/{id}"), None);
    assert_eq!(status, 200);
    assert_eq!(read["userName"], "dana@example.com");
    let mut profile = read.clone();
    profile["name"]["familyName"] = json!("Smith-Jones");
    profile["displayName"] = json!("Dana Smith-Jones");
    let (status, replaced) = call(http, "PUT", &format!("/Users/{id}"), Some(&profile));
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["displayName"], "Dana Smith-Jones");

    // Group push: a group, then a member added and removed as Okta sends them.
    let (status, group) = call(
        http,
        "POST",
        "/Groups",
        Some(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering",
            "members": []
        })),
    );
    assert_eq!(status, 201, "{group}");
    let group_id = group["id"].as_str().unwrap().to_string();
    let (status, patched) = call(
        http,
        "PATCH",
        &format!("/Groups/{group_id}"),
        Some(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": id, "display": "dana@example.com"}]}]
        })),
    );
    assert!(status == 200 || status == 204, "{patched}");
    let (_, user) = call(http, "GET", &format!("/Users/{id}"), None);
    assert_eq!(user["groups"][0]["value"], group_id.as_str());

    // Dana signs in while active: no finding. Okta then deactivates her.
    let signed_in = |uuid: &str| {
        let response = HttpClient::new(http)
            .post(
                "/v1/ingest/okta",
                &[("content-type", "application/json")],
                okta_sign_in(uuid, now_ms(), "dana@example.com").as_bytes(),
            )
            .unwrap();
        assert_eq!(response.status, 200, "{}", response.text());
    };
    signed_in("dana-active");
    let (status, deactivated) = call(
        http,
        "PATCH",
        &format!("/Users/{id}"),
        Some(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": false}}]
        })),
    );
    assert_eq!(status, 200, "{deactivated}");
    assert_eq!(deactivated["active"], false);
    std::thread::sleep(Duration::from_millis(50));
    signed_in("dana-after");
    let found = wait_findings(api, "rule=seam.inactive-person-credential", 1);
    assert_eq!(related(&found[0]), ["dana-after"], "{found:?}");
    assert!(metric(api, "seam_events_stored_total", "source=\"scim\"") >= 3.0);
    server.shutdown().unwrap();

    // After a restart the resources are as they were, ETag and all.
    let server = start(&config);
    let (status, again) = call(
        server.addresses().http,
        "GET",
        &format!("/Users/{id}"),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(again, deactivated);
    server.shutdown().unwrap();

    // Every change is in the audit log, under a digest of the person, never her name; the log
    // verifies, checkpointed at each shutdown.
    let report = seam_audit::verify(dir.path(), &seam_audit::VerifyOptions::default()).unwrap();
    assert!(report.is_intact(), "{:?}", report.problems);
    assert!(report.checkpoints >= 2 && report.unprotected_records() == 0);
    let log = std::fs::read_to_string(dir.path().join("audit/audit-000001.log")).unwrap();
    let scim_records = log
        .lines()
        .filter(|l| l.contains("\"directory_changed\""))
        .count();
    assert!(scim_records >= 5, "{log}");
    assert!(
        !log.contains("dana@example.com") && !log.contains("Dana"),
        "{log}"
    );
}

#[test]
fn an_entra_shaped_sequence_updates_an_existing_person_through_a_mapping() {
    let dir = tempfile::tempdir().unwrap();
    // Entra sends the on-premises login as externalId: the directory's person id here.
    let mapping = dir.path().join("scim-mapping.toml");
    std::fs::write(
        &mapping,
        r#"
person_id = "externalId"
[[identifier]]
kind = "upn"
from = "userName"
[[identifier]]
kind = "entra"
from = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"
[[group]]
name = "Server Room Access"
clearances = ["hq-server"]
"#,
    )
    .unwrap();
    let server = start(&scim_config(dir.path(), Some(mapping)));
    let http = server.addresses().http;

    let (status, created) = call(
        http,
        "POST",
        "/Users",
        Some(&json!({
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
            ],
            "externalId": "carol",
            "userName": "carol@example.com",
            "active": true,
            "displayName": "Carol Diaz",
            "emails": [{"primary": true, "type": "work", "value": "carol@example.com"}],
            "meta": {"resourceType": "User"},
            "name": {"formatted": "Carol Diaz", "familyName": "Diaz", "givenName": "Carol"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "6b1c0a52-0003-4c1e-9a00-0000000ca201",
                "department": "Analytics"
            }
        })),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    // Entra's PATCH: capitalized ops, a string boolean, a filtered path that creates a value.
    let (status, patched) = call(
        http,
        "PATCH",
        &format!("/Users/{id}"),
        Some(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Replace", "path": "active", "value": "True"},
                {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+31 20 555 0100"},
                {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Risk"}
            ]
        })),
    );
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["phoneNumbers"][0]["value"], "+31 20 555 0100");
    // Entra puts her in a group that grants the server room.
    let (status, group) = call(
        http,
        "POST",
        "/Groups",
        Some(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Server Room Access",
            "members": [{"value": id}]
        })),
    );
    assert_eq!(status, 201, "{group}");
    // Entra removes members with a value array.
    let group_id = group["id"].as_str().unwrap().to_string();
    let (status, _) = call(
        http,
        "PATCH",
        &format!("/Groups/{group_id}"),
        Some(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Remove", "path": "members", "value": [{"value": id}]}]
        })),
    );
    assert!(status == 200 || status == 204);
    let (status, _) = call(http, "DELETE", &format!("/Users/{id}"), None);
    assert_eq!(status, 204);
    let (status, gone) = call(http, "GET", &format!("/Users/{id}"), None);
    assert_eq!(status, 404);
    assert_eq!(
        gone["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    // Every change became a directory change for `carol`: create, patch, two group
    // changes and the deletion.
    let api = server.addresses().api;
    assert!(metric(api, "seam_events_stored_total", "source=\"scim\"") >= 5.0);
    // Deprovisioned by Entra, Carol's Okta account still signs in: a finding.
    std::thread::sleep(Duration::from_millis(50));
    let mut sign_in: Value =
        serde_json::from_str(&okta_sign_in("carol-after", now_ms(), "carol@example.com")).unwrap();
    sign_in["actor"]["id"] = json!("00u1carol");
    let response = HttpClient::new(http)
        .post(
            "/v1/ingest/okta",
            &[("content-type", "application/json")],
            sign_in.to_string().as_bytes(),
        )
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
    let found = wait_findings(api, "rule=seam.inactive-person-credential", 1);
    assert_eq!(related(&found[0]), ["carol-after"], "{found:?}");
    server.shutdown().unwrap();

    // The history of carol, through the command line's view of the store.
    let store = seam_store::EmbeddedStore::open(dir.path()).unwrap();
    let (lines, _) = seam_store::Store::read_events(&store, 0, 10_000).unwrap();
    let carol: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["class"] == "directory" && e["directory"]["person"] == "carol")
        .collect();
    assert!(carol.len() >= 4, "{carol:?} of {lines:?}");
    assert_eq!(carol.last().unwrap()["activity"], "person_deleted");
    assert_eq!(carol.last().unwrap()["directory"]["status"], "terminated");
    assert!(
        carol.iter().any(|e| e["directory"]["clearances"]
            .as_array()
            .is_some_and(|c| c.contains(&json!("hq-server")))),
        "{carol:?}"
    );
}

#[test]
fn bad_requests_get_scims_error_shape_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&scim_config(dir.path(), None));
    let http = server.addresses().http;
    let api = server.addresses().api;
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "eve@example.com",
        "active": true
    });
    let (status, created) = call(http, "POST", "/Users", Some(&user));
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap().to_string();
    let stored = metric(api, "seam_events_stored_total", "source=\"scim\"");

    let error = |status: u16, body: &Value, scim_type: Option<&str>| {
        assert_eq!(
            body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "{body}"
        );
        assert_eq!(body["status"], status.to_string(), "{body}");
        if let Some(scim_type) = scim_type {
            assert_eq!(body["scimType"], scim_type, "{body}");
        }
    };
    // No token, a wrong token.
    let response = HttpClient::new(http).get("/scim/v2/Users").unwrap();
    assert_eq!(response.status, 401);
    let response = HttpClient::new(http)
        .request(
            "GET",
            "/scim/v2/Users",
            &[("authorization", "Bearer wrong")],
            b"",
        )
        .unwrap();
    assert_eq!(response.status, 401);
    // A duplicate userName (case differs).
    let mut duplicate = user.clone();
    duplicate["userName"] = json!("EVE@example.com");
    let (status, body) = call(http, "POST", "/Users", Some(&duplicate));
    assert_eq!(status, 409);
    error(409, &body, Some("uniqueness"));
    // An unknown schema, a wrong type.
    let (status, body) = call(
        http,
        "POST",
        "/Users",
        Some(&json!({"schemas": ["urn:example:unknown"], "userName": "x"})),
    );
    assert_eq!(status, 400);
    error(400, &body, None);
    let (status, body) = call(
        http,
        "POST",
        "/Users",
        Some(
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": ["x"]}),
        ),
    );
    assert_eq!(status, 400);
    error(400, &body, None);
    // A PATCH whose second operation's path does not exist: the first is not applied either.
    let (status, body) = call(
        http,
        "PATCH",
        &format!("/Users/{id}"),
        Some(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": "displayName", "value": "Changed"},
                {"op": "replace", "path": "noSuchAttribute", "value": "x"}
            ]
        })),
    );
    assert_eq!(status, 400, "{body}");
    error(400, &body, None);
    let (_, unchanged) = call(http, "GET", &format!("/Users/{id}"), None);
    assert!(unchanged.get("displayName").is_none(), "{unchanged}");
    // A filter that does not parse, one too deep.
    let (status, body) = call(http, "GET", "/Users?filter=userName%20eq", None);
    assert_eq!(status, 400);
    error(400, &body, Some("invalidFilter"));
    let deep = format!("{}userName pr{}", "(".repeat(100), ")".repeat(100));
    let (status, body) = call(
        http,
        "GET",
        &format!(
            "/Users?filter={}",
            deep.replace(' ', "%20")
                .replace('(', "%28")
                .replace(')', "%29")
        ),
        None,
    );
    assert_eq!(status, 400);
    error(400, &body, Some("invalidFilter"));
    // A stale ETag.
    let (status, body) = call_with(
        http,
        "PUT",
        &format!("/Users/{id}"),
        Some(&user),
        &[("if-match", "W/\"stale\"")],
    );
    assert_eq!(status, 412);
    error(412, &body, None);
    // Not JSON.
    let response = HttpClient::new(http)
        .request(
            "POST",
            "/scim/v2/Users",
            &[
                ("authorization", &format!("Bearer {TOKEN}")),
                ("content-type", "application/scim+json"),
            ],
            b"{not json",
        )
        .unwrap();
    assert_eq!(response.status, 400);
    // Nothing of these reached the directory.
    assert_eq!(
        metric(api, "seam_events_stored_total", "source=\"scim\""),
        stored
    );
    server.shutdown().unwrap();
}

#[test]
fn the_reserved_internal_sources_cannot_be_configured_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = scim_config(dir.path(), None);
    config.sources.push(SourceConfig::new(
        "scim",
        AdapterChoice::One(seam_adapters::Adapter::Ndjson),
        Transport::Http,
    ));
    let error = Server::start(&config, estate(), rules())
        .map(|_| ())
        .unwrap_err();
    assert!(error.to_string().contains("reserved"), "{error}");
}
