//! The directory while the service runs: edits to the estate's files take effect without a
//! restart (a broken edit keeps the running estate), as directory changes in the event log
//! that a restart replays to the same answers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use seam_estate::Estate;
use seam_serve::client::HttpClient;
use seam_serve::{AdapterChoice, ServeConfig, Server, SourceConfig, Transport};

fn copy_example_estate(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(repo().join("examples/estate")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn reload_config(data: &Path, estate: &Path) -> ServeConfig {
    let mut config = common::config(
        data,
        vec![SourceConfig::new(
            "pacs",
            AdapterChoice::One(seam_adapters::Adapter::Ndjson),
            Transport::Http,
        )],
    );
    config.estate = Some(estate.to_path_buf());
    config.directory.reload_every_ms = 100;
    config
}

fn start_with(config: &ServeConfig, estate: &Path) -> Server {
    let estate = Arc::new(Estate::load_dir(estate).unwrap());
    let server = Server::start(config, estate, rules()).unwrap();
    assert!(server.wait_ready(Duration::from_secs(20)));
    server
}

fn badge(uid: &str, at: i64, badge: &str) -> String {
    serde_json::json!({
        "uid": uid, "time": rfc3339(at), "source": "pacs", "class": "physical_access",
        "activity": "granted", "outcome": "success", "subject": {"badge": badge}, "door": "hq-main"
    })
    .to_string()
}

fn send(server: &Server, line: &str) {
    let response = HttpClient::new(server.addresses().http)
        .post(
            "/v1/ingest/pacs",
            &[("content-type", "application/x-ndjson")],
            format!("{line}\n").as_bytes(),
        )
        .unwrap();
    assert_eq!(response.status, 200, "{}", response.text());
}

#[test]
fn an_edited_directory_file_takes_effect_without_a_restart_and_a_broken_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let estate_dir = dir.path().join("estate");
    copy_example_estate(&estate_dir);
    let config = reload_config(&dir.path().join("data"), &estate_dir);
    let server = start_with(&config, &estate_dir);
    let api = server.addresses().api;

    // A broken edit: the running estate stays, the failure is counted.
    let people = estate_dir.join("people.toml");
    let original = std::fs::read_to_string(&people).unwrap();
    std::fs::write(
        &people,
        format!("{original}\n[[person]]\nid = \"broken\"\nkind = \"robot\"\n"),
    )
    .unwrap();
    wait_until("the refusal", || {
        metric(api, "seam_estate_reload_failures_total", "") >= 1.0
    });

    // Alice is dismissed in the file (and the broken entry removed): her next badge is a
    // finding, without a restart.
    let dismissed = original.replacen(
        r#"status = [{ status = "active", since = "2024-01-01T00:00:00Z" }]"#,
        r#"status = [{ status = "active", since = "2024-01-01T00:00:00Z" }, { status = "terminated", since = "2026-01-01T00:00:00Z" }]"#,
        1,
    );
    assert_ne!(dismissed, original);
    std::fs::write(&people, dismissed).unwrap();
    wait_until("the reload", || {
        metric(api, "seam_estate_reloads_total", "") >= 1.0
    });
    wait_until("the change in the log", || {
        metric(api, "seam_events_stored_total", "source=\"estate\"") >= 1.0
    });
    // After the change's time: the engine has it in event-time order.
    std::thread::sleep(Duration::from_millis(200));
    send(&server, &badge("alice-after", now_ms(), "4411"));
    let found = wait_findings(api, "rule=seam.inactive-person-credential", 1);
    assert_eq!(related(&found[0]), ["alice-after"]);
    server.shutdown().unwrap();

    // After a restart with the edited files, the replayed change gives the same answer and
    // nothing new is written for an edit already taken.
    let server = start_with(&config, &estate_dir);
    let api = server.addresses().api;
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        metric(api, "seam_events_stored_total", "source=\"estate\""),
        0.0
    );
    send(&server, &badge("alice-again", now_ms(), "4411"));
    let found = wait_findings(api, "rule=seam.inactive-person-credential", 2);
    assert_eq!(found.len(), 2);
    server.shutdown().unwrap();
}

#[test]
fn an_hr_export_dropped_in_a_watched_folder_is_applied_whole_or_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("hr-spool");
    std::fs::create_dir_all(&spool).unwrap();
    let fixtures = repo().join("crates/seam-directory/tests/fixtures/import");
    let config_text = format!(
        r#"
data_dir = "data"
[http]
listen = "127.0.0.1:0"
[engine]
lateness_secs = 0
heartbeat_ms = 100
min_free_disk_mb = 1

[[source]]
name = "hr"
adapter = "directory-import"
mapping = "{}"
transport = "directory"
path = "{}"
poll_ms = 50
settle_ms = 50

[[source]]
name = "pacs"
adapter = "ndjson"
"#,
        fixtures.join("hr.toml").display(),
        spool.display()
    );
    let config = ServeConfig::from_toml("serve.toml", &config_text, dir.path()).unwrap();
    let server = start(&config);
    let api = server.addresses().api;

    // A broken export first: one worker at a site the estate lacks. Nothing of it applies.
    let csv = std::fs::read_to_string(fixtures.join("hr.csv")).unwrap();
    std::fs::write(
        spool.join("broken.csv"),
        csv.replacen(",hq\n", ",atlantis\n", 1),
    )
    .unwrap();
    wait_until("the refusal", || spool.join("done/broken.csv").exists());
    let letters = dead_letters(api);
    assert!(
        letters.iter().any(|l| l["reason"]
            .as_str()
            .unwrap_or("")
            .contains("unknown site `atlantis`")),
        "{letters:?}"
    );
    assert!(
        letters
            .iter()
            .any(|l| l["reason"].as_str().unwrap_or("").contains("refused whole"))
    );
    assert_eq!(
        metric(api, "seam_events_stored_total", "source=\"hr\""),
        0.0
    );

    // The good export: Ivan's last day (in March) has passed, so HR terminates him from the
    // import on; every worker's change is stored.
    std::fs::write(spool.join("workers.csv"), &csv).unwrap();
    wait_until("the import", || {
        metric(api, "seam_events_stored_total", "source=\"hr\"") >= 10.0
    });
    std::thread::sleep(Duration::from_millis(300));
    send(&server, &badge("ivan-badge", now_ms(), "4418"));
    let found = wait_findings(api, "rule=seam.inactive-person-credential", 1);
    assert_eq!(related(&found[0]), ["ivan-badge"]);
    server.shutdown().unwrap();
}

fn reader_badge(uid: &str, at: i64, badge: &str, reader: &str) -> String {
    serde_json::json!({
        "uid": uid, "time": rfc3339(at), "source": "pacs", "class": "physical_access",
        "activity": "granted", "outcome": "success", "subject": {"badge": badge}, "reader": reader
    })
    .to_string()
}

#[test]
fn a_door_added_to_the_estate_files_is_known_without_a_restart_and_a_removed_one_waits() {
    let dir = tempfile::tempdir().unwrap();
    let estate_dir = dir.path().join("estate");
    copy_example_estate(&estate_dir);
    let config = reload_config(&dir.path().join("data"), &estate_dir);
    let server = start_with(&config, &estate_dir);
    let api = server.addresses().api;

    // A reader the estate does not know yet: its badge has no place, so no place-based rule.
    send(
        &server,
        &reader_badge("before", now_ms(), "4414", "r-old-side"),
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(wait_findings(api, "rule=seam.decommissioned-site-badge", 1).is_empty());

    // The side door of the old warehouse is added to the file, with its reader.
    let sites = estate_dir.join("sites.toml");
    let original = std::fs::read_to_string(&sites).unwrap();
    std::fs::write(
        &sites,
        format!(
            "{original}\n[[door]]\nid = \"old-side\"\nsite = \"old\"\nfrom = \"outside\"\nto = \"old-floor\"\nreaders = [\"r-old-side\"]\n"
        ),
    )
    .unwrap();
    wait_until("the reload", || {
        metric(api, "seam_estate_reloads_total", "") >= 1.0
    });
    std::thread::sleep(Duration::from_millis(300));
    send(
        &server,
        &reader_badge("after", now_ms(), "4414", "r-old-side"),
    );
    let found = wait_findings(api, "rule=seam.decommissioned-site-badge", 1);
    assert_eq!(related(&found[0]), ["after"], "{found:?}");
    server.shutdown().unwrap();

    // A restart on the edited files gives the same answer; then removing a door waits for
    // the next start (the running state is indexed by the places).
    let server = start_with(&config, &estate_dir);
    let api = server.addresses().api;
    send(
        &server,
        &reader_badge("again", now_ms(), "4414", "r-old-side"),
    );
    assert_eq!(
        wait_findings(api, "rule=seam.decommissioned-site-badge", 2).len(),
        2
    );
    let without_main = std::fs::read_to_string(&sites).unwrap().replacen(
        "id = \"old-main\"",
        "id = \"old-main-renamed\"",
        1,
    );
    std::fs::write(&sites, without_main).unwrap();
    wait_until("the reload", || {
        metric(api, "seam_estate_reloads_total", "") >= 1.0
    });
    assert_eq!(
        metric(api, "seam_events_stored_total", "source=\"estate\""),
        0.0
    );
    server.shutdown().unwrap();
}
