//! A data subject's rights from the command line, on a data directory the demo filled:
//! `seam subject export` gives everything about one person; `seam subject erase` leaves no
//! byte of their names or identifiers in any file of the data directory, keeps findings as
//! tombstones and the audit log intact; `seam retention --dry-run` counts without changing.

// Test helpers may panic: a panic in a test is a failed assertion.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::process::{Command, Output};

use seam_store::Store;

fn seam(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seam"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// Erin (who left in February, her badge uncollected) in the demo estate: her names and
/// identifiers, as the sources write them.
const ERIN: &[&str] = &["Erin Walsh", "erin@example.com", "00u1erin", "\"erin\""];

#[test]
fn a_person_is_exported_then_erased_from_every_file_and_the_audit_still_holds() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    let out = dir.path().join("findings.ndjson");
    ok(&seam(&[
        "demo",
        "--data-dir",
        data_arg,
        "--out",
        out.to_str().unwrap(),
    ]));
    // The demo holds Erin: her badge opened a door after she left.
    let mut before = Vec::new();
    files(&data, &mut before);
    let held = |needle: &str| {
        let store = seam_store::EmbeddedStore::open(&data).unwrap();
        let (lines, _) = store.read_events(0, usize::MAX).unwrap();
        let findings = store
            .findings(&seam_store::FindingFilter::default())
            .unwrap();
        lines.iter().any(|line| line.contains(needle))
            || findings.iter().any(|f| f.json.contains(needle))
    };
    assert!(
        held("Erin Walsh") || held("\"erin\""),
        "the demo never names Erin"
    );

    let export = ok(&seam(&[
        "subject",
        "export",
        "--data-dir",
        data_arg,
        "--person",
        "erin",
        "--reason",
        "SAR-2026-114",
    ]));
    let bundle: serde_json::Value = serde_json::from_str(&export).unwrap();
    assert_eq!(bundle["person"]["id"], "erin");
    let events = bundle["events"].as_array().unwrap().len();
    let findings = bundle["findings"].as_array().unwrap().len();
    assert!(
        events > 0 && findings > 0,
        "{events} events, {findings} findings"
    );
    let pseudonym = bundle["pseudonym"].as_str().unwrap().to_string();

    let erased = ok(&seam(&[
        "subject",
        "erase",
        "--data-dir",
        data_arg,
        "--person",
        "erin",
        "--reason",
        "SAR-2026-114",
    ]));
    assert!(erased.contains(&pseudonym), "{erased}");

    // No file of the data directory holds a byte of her, nor does any record read back.
    let mut after = Vec::new();
    files(&data, &mut after);
    for path in &after {
        let bytes = std::fs::read(path).unwrap();
        for needle in ERIN {
            assert!(
                !contains(&bytes, needle),
                "{} still holds {needle}",
                path.display()
            );
        }
    }
    let store = seam_store::EmbeddedStore::open(&data).unwrap();
    let (lines, _) = store.read_events(0, usize::MAX).unwrap();
    for line in &lines {
        for needle in ERIN {
            assert!(!line.contains(needle), "{line}");
        }
    }
    // Her findings are tombstones: counted, not gone.
    let stored = store
        .findings(&seam_store::FindingFilter::default())
        .unwrap();
    let tombstones = stored
        .iter()
        .filter(|f| f.json.contains("\"erased\":true"))
        .count();
    assert!(tombstones >= findings, "{tombstones} < {findings}");
    drop(store);

    // The audit log still verifies, and names her only by pseudonym.
    ok(&seam(&["audit", "verify", "--data-dir", data_arg]));
    let mut audit = String::new();
    for path in &after {
        if path.starts_with(data.join("audit")) {
            audit.push_str(&String::from_utf8_lossy(&std::fs::read(path).unwrap()));
        }
    }
    assert!(audit.contains("subject_exported") && audit.contains("subject_erased"));
    assert!(audit.contains(&pseudonym));

    // A second export finds nothing more of her.
    let again = ok(&seam(&[
        "subject",
        "export",
        "--data-dir",
        data_arg,
        "--person",
        "erin",
    ]));
    let again: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert!(
        again["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["erased"] == true),
        "{again}"
    );
}

#[test]
fn retention_dry_run_counts_and_changes_nothing_then_the_run_prunes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    let out = dir.path().join("findings.ndjson");
    ok(&seam(&[
        "demo",
        "--data-dir",
        data_arg,
        "--out",
        out.to_str().unwrap(),
    ]));
    let config = dir.path().join("seam.toml");
    std::fs::write(
        &config,
        "[retention]\nphysical_days = 1\nsign_in_days = 1\nfindings_days = 1\n",
    )
    .unwrap();
    let count = || {
        let store = seam_store::EmbeddedStore::open(&data).unwrap();
        let (lines, _) = store.read_events(0, usize::MAX).unwrap();
        lines
            .iter()
            .filter(|l| l.contains("\"erased\":true"))
            .count()
    };
    let args = |dry: bool| {
        let mut args = vec![
            "retention",
            "--data-dir",
            data_arg,
            "--config",
            config.to_str().unwrap(),
            "--json",
        ];
        if dry {
            args.push("--dry-run");
        }
        args.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let run = |dry: bool| {
        let args = args(dry);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let text = ok(&seam(&refs));
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    };
    // The demo's day is in the past: all of it is past a one-day retention.
    let dry = run(true);
    assert!(dry["physical_events"].as_u64().unwrap() > 0, "{dry}");
    assert_eq!(count(), 0);
    let done = run(false);
    assert_eq!(done, dry);
    assert_eq!(
        count() as u64,
        dry["physical_events"].as_u64().unwrap() + dry["sign_in_events"].as_u64().unwrap()
    );
    ok(&seam(&["audit", "verify", "--data-dir", data_arg]));
}
