//! `seam directory import` and `seam inspect directory` as a user runs them: an HR export's
//! leaver becomes a finding the day after her last day, a bad row refuses the whole import,
//! and history answers old questions the same after a badge moves on.

// Test helpers may panic: a panic in a test is a failed assertion.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn seam(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seam"))
        .args(args)
        .output()
        .unwrap()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../seam-directory/tests/fixtures/import")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn an_hr_leaver_badging_the_day_after_her_last_day_is_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let changes = dir.path().join("hr-changes.ndjson");
    // Ivan's last day is 2026-03-13 (New York); the export is read on the 10th.
    let out = seam(&[
        "directory",
        "import",
        "--mapping",
        path(&fixtures().join("hr.toml")),
        "--at",
        "2026-03-10T00:00:00Z",
        "--out",
        path(&changes),
        path(&fixtures().join("hr.csv")),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("ivan: "),
        "the summary names each change: {}",
        text(&out.stderr)
    );
    let events = dir.path().join("badges.ndjson");
    std::fs::write(
        &events,
        [
            // On his last day: allowed. The day after: his badge still opens the door.
            r#"{"uid":"b1","time":"2026-03-13T14:00:00Z","source":"pacs","class":"physical_access","activity":"granted","outcome":"success","subject":{"badge":"4418"},"door":"nyc-main"}"#,
            r#"{"uid":"b2","time":"2026-03-16T14:00:00Z","source":"pacs","class":"physical_access","activity":"granted","outcome":"success","subject":{"badge":"4418"},"door":"nyc-main"}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let findings = dir.path().join("findings.ndjson");
    let out = seam(&[
        "replay",
        "--estate",
        path(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/estate")),
        "--merge",
        "--out",
        path(&findings),
        path(&changes),
        path(&events),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let found: Vec<serde_json::Value> = std::fs::read_to_string(&findings)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|f: &serde_json::Value| {
            f["finding_info"]["analytic"]["uid"] == "seam.inactive-person-credential"
        })
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["finding_info"]["related_events"][0]["uid"], "b2");
}

#[test]
fn a_row_the_directory_refuses_fails_the_whole_import_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("hr.csv");
    let original = std::fs::read_to_string(fixtures().join("hr.csv")).unwrap();
    // A worker at a site the estate does not have.
    let broken = original.replacen(",hq\n", ",atlantis\n", 1);
    assert_ne!(broken, original);
    std::fs::write(&csv, broken).unwrap();
    let changes = dir.path().join("changes.ndjson");
    let data = dir.path().join("data");
    let out = seam(&[
        "directory",
        "import",
        "--mapping",
        path(&fixtures().join("hr.toml")),
        "--out",
        path(&changes),
        "--data-dir",
        path(&data),
        path(&csv),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("hr.csv:2: unknown site `atlantis`"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!changes.exists());
    assert!(!data.join("seam.db").exists());
}

#[test]
fn imports_into_a_store_keep_history_that_inspect_shows_with_sources() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let estate = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/estate");
    for (mapping, input, at) in [
        ("hr.toml", "hr.csv", "2026-03-10T00:00:00Z"),
        (
            "cardholders.toml",
            "cardholders.csv",
            "2026-03-11T00:00:00Z",
        ),
    ] {
        let out = seam(&[
            "directory",
            "import",
            "--mapping",
            path(&fixtures().join(mapping)),
            "--estate",
            path(&estate),
            "--at",
            at,
            "--data-dir",
            path(&data),
            path(&fixtures().join(input)),
        ]);
        assert!(out.status.success(), "{mapping}: {}", text(&out.stderr));
    }
    // Running the same import again stores nothing new (the changes' uids repeat).
    let again = seam(&[
        "directory",
        "import",
        "--mapping",
        path(&fixtures().join("hr.toml")),
        "--estate",
        path(&estate),
        "--at",
        "2026-03-10T00:00:00Z",
        "--data-dir",
        path(&data),
        path(&fixtures().join("hr.csv")),
    ]);
    assert!(again.status.success(), "{}", text(&again.stderr));

    let out = seam(&[
        "inspect",
        "--data-dir",
        path(&data),
        "directory",
        "--estate",
        path(&estate),
        "--person",
        "heidi",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("hr-import (E1008)"), "{shown}");
    // Her card was reported lost at the cardholder import: it was hers until then.
    assert!(
        shown.contains("pacs-import (heidi): badge 4417 ended"),
        "{shown}"
    );
    assert!(
        shown
            .contains("4417                                     always – 2026-03-11T00:00:00.000Z"),
        "{shown}"
    );

    let out = seam(&[
        "inspect",
        "--data-dir",
        path(&data),
        "directory",
        "--estate",
        path(&estate),
        "--person",
        "heidi",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let person: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(person["department"], "Finance");
    let history = person["history"].as_array().unwrap();
    let sources: Vec<&str> = history
        .iter()
        .map(|h| h["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, ["hr-import", "pacs-import"], "{history:?}");
}
