//! `seam findings`, `seam case` and `seam report` on a store, embedded and PostgreSQL (the
//! real server; fails loudly without it): the demo day replayed, its findings triaged, a case
//! opened, linked, shown and exported as a bundle that `sha256sum` and `openssl` verify, and
//! the report in its three formats with the figures the triage made.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::process::{Command, Output};

fn seam(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seam"))
        .args(args)
        .env("USER", "tester")
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let run = seam(args);
    assert!(
        run.status.success(),
        "seam {args:?}: {}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8_lossy(&run.stdout).into_owned()
}

fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The demo day replayed into the store `store_args` names.
fn replay(store_args: &[&str]) {
    let estate = repo().join("examples/estate");
    let day = repo().join("examples/demo/day.ndjson");
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut args = vec![
        "replay",
        "--estate",
        estate.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ];
    args.extend_from_slice(store_args);
    args.push(day.to_str().unwrap());
    ok(&args);
}

fn walk(store_args: &[&str], data_dir: &Path) {
    let with = |args: &[&str]| -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(store_args.iter().map(|s| s.to_string()));
        all
    };
    let run = |args: &[&str]| -> String {
        let all = with(args);
        ok(&all.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let listed: serde_json::Value =
        serde_json::from_str(&run(&["findings", "list", "--json", "--limit", "100"])).unwrap();
    let findings = listed["findings"].as_array().unwrap();
    assert!(findings.len() >= 20, "{listed}");
    let uid = |rule: &str| -> String {
        findings
            .iter()
            .find(|f| f["finding_info"]["analytic"]["uid"] == rule)
            .unwrap_or_else(|| panic!("no {rule} finding"))["finding_info"]["uid"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let forced = uid("seam.controller-down-door-forced");
    let console = uid("seam.server-console-no-badge");
    let exfil = uid("seam.exfil-unusual-destination");

    run(&["findings", "ack", &forced, &console]);
    run(&[
        "findings", "assign", &forced, "--to", "ann", "--team", "physical",
    ]);
    run(&[
        "findings",
        "close",
        &exfil,
        "--disposition",
        "false_positive",
        "--reason",
        "backup job",
    ]);
    // A second acknowledgement is refused, and says why.
    let again = seam(
        &with(&["findings", "ack", &forced])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("cannot be acknowledged"));
    let acked: serde_json::Value = serde_json::from_str(&run(&[
        "findings",
        "list",
        "--json",
        "--status",
        "acknowledged",
    ]))
    .unwrap();
    assert_eq!(acked["count"], 2, "{acked}");

    let created = run(&[
        "case",
        "create",
        "--title",
        "Forced server-room door, then a console sign-in",
        "--finding",
        &forced,
        "--json",
    ]);
    let case: serde_json::Value = serde_json::from_str(&created).unwrap();
    assert_eq!(case["kind"], "physical-intrusion", "{case}");
    let id = case["id"].as_str().unwrap().to_string();
    run(&["case", "add", &id, "--finding", &console]);
    let shown: serde_json::Value =
        serde_json::from_str(&run(&["case", "show", &id, "--json"])).unwrap();
    assert_eq!(
        shown["links"]["findings"].as_array().unwrap().len(),
        2,
        "{shown}"
    );
    assert_eq!(shown["version"], 2);
    let listed = run(&["case", "list"]);
    assert!(listed.contains(&id), "{listed}");
    let missing = seam(
        &with(&["case", "show", "C-404"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(!missing.status.success());

    let out = tempfile::tempdir().unwrap();
    let bundle = out.path().join("bundle");
    run(&["case", "export", &id, "--out", bundle.to_str().unwrap()]);
    let sums = Command::new("sha256sum")
        .args(["-c", "--strict", "SHA256SUMS"])
        .current_dir(&bundle)
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
        .current_dir(&bundle)
        .output()
        .expect("openssl must be installed");
    assert!(
        signature.status.success(),
        "{}",
        String::from_utf8_lossy(&signature.stderr)
    );
    let timeline = std::fs::read_to_string(bundle.join("timeline.json")).unwrap();
    assert!(
        timeline.contains("\"event\""),
        "the span's events are on the timeline"
    );

    // The report sees the triage.
    let report: serde_json::Value = serde_json::from_str(&run(&[
        "report",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-04",
        "--format",
        "json",
    ]))
    .unwrap();
    assert!(
        report["findings"]["total"].as_u64().unwrap() >= 20,
        "{report}"
    );
    assert!(report["findings"]["cross_domain"].as_u64().unwrap() > 0);
    let exfil_rule = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "seam.exfil-unusual-destination")
        .unwrap();
    assert_eq!(exfil_rule["false_positive"], 1, "{exfil_rule}");
    assert_eq!(
        report["cases"]["opened"], 0,
        "the case was opened today, not in March"
    );
    let since_march: serde_json::Value = serde_json::from_str(&run(&[
        "report",
        "--from",
        "2026-03-01",
        "--to",
        "2100-01-01",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(
        since_march["cases"]["opened"], 1,
        "{}",
        since_march["cases"]
    );
    let csv = run(&[
        "report",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-04",
        "--format",
        "csv",
    ]);
    assert!(csv.starts_with("section,"), "{csv}");
    let html = run(&["report", "--from", "2026-03-01", "--to", "2026-03-04"]);
    assert!(
        html.contains("<html") && !html.contains("<script"),
        "{html}"
    );
    assert!(
        std::fs::read_dir(data_dir.join("audit")).unwrap().count() > 0,
        "the acts are audited"
    );
}

#[test]
fn findings_cases_and_reports_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    replay(&["--data-dir", data.to_str().unwrap()]);
    walk(&["--data-dir", data.to_str().unwrap()], &data);
}

#[test]
fn findings_cases_and_reports_on_postgres() {
    let admin = seam_postgres::test_server_url();
    let database =
        seam_postgres::ScratchDatabase::create(&admin, "seam_cases_cli").unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is needed at {admin} (set SEAM_TEST_POSTGRES; .ci/run starts it): {e}"
            )
        });
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    replay(&["--store", database.url()]);
    walk(
        &[
            "--data-dir",
            data.to_str().unwrap(),
            "--store",
            database.url(),
        ],
        &data,
    );
}

/// Reports count cross-domain findings by their rule's `seam.domain.*` tag: every shipped rule
/// that raises findings declares one.
#[test]
fn every_shipped_rule_declares_its_domain() {
    for entry in std::fs::read_dir(repo().join("rules")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for document in text.split("\n---") {
            let Some(id) = document.lines().find_map(|line| line.strip_prefix("id: ")) else {
                continue;
            };
            if id.contains(".helper.") {
                continue;
            }
            let tags = document
                .lines()
                .find(|line| line.starts_with("tags:"))
                .unwrap_or_default();
            let declared = ["physical", "cyber", "cross-domain"]
                .iter()
                .filter(|d| tags.contains(&format!("seam.domain.{d}")))
                .count();
            assert_eq!(
                declared,
                1,
                "{id} in {} declares {declared} domains",
                path.display()
            );
        }
    }
}
