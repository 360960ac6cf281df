//! The `seam` command as a user runs it: exit codes, messages and output files.

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

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn demo_fires_every_rule_on_its_attack_and_matches_the_golden_findings() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("findings.ndjson");
    let run = seam(&[
        "demo",
        "--no-serve",
        "--data-dir",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = text(&run.stdout);
    assert!(run.status.success(), "{stdout}{}", text(&run.stderr));
    assert!(stdout.contains("25 of 25 rules fired; 0 scripted attacks missed; 0 findings outside the scripted attacks"), "{stdout}");
    // The second part: a simulated Monday at a generated estate, scored against its truth.
    assert!(stdout.contains("Simulated Monday: "), "{stdout}");
    assert!(stdout.contains("recall "), "{stdout}");
    assert!(data.join("simulated/estate/people.toml").exists());
    assert!(data.join("seam.db").exists());

    // What was stored can be listed: findings per rule, and the events nobody could be found for.
    let listed = seam(&[
        "inspect",
        "--data-dir",
        data.to_str().unwrap(),
        "findings",
        "--rule",
        "seam.anti-passback",
    ]);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert_eq!(text(&listed.stdout).lines().count(), 1);
    let unresolved = seam(&[
        "inspect",
        "--data-dir",
        data.to_str().unwrap(),
        "unresolved",
    ]);
    assert!(
        text(&unresolved.stdout).contains("b8:27:eb:12:34:56"),
        "{}",
        text(&unresolved.stdout)
    );

    // Byte-identical to the checked-in findings: ids, times, explanations, evidence.
    let golden_path = repo().join("crates/seam/tests/golden/demo-findings.ndjson");
    let found = std::fs::read_to_string(&out).unwrap();
    if std::env::var_os("SEAM_UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden_path, &found).unwrap();
    }
    let golden = std::fs::read_to_string(&golden_path).unwrap();
    assert_eq!(
        found, golden,
        "demo findings changed; rerun with SEAM_UPDATE_GOLDEN=1 if intended"
    );

    // Every finding is an OCSF Detection Finding with the fields consumers rely on.
    for line in found.lines() {
        let finding: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(finding["class_uid"], 2004);
        assert!(
            finding["finding_info"]["analytic"]["uid"]
                .as_str()
                .unwrap()
                .starts_with("seam.")
        );
        assert_eq!(finding["finding_info"]["uid"].as_str().unwrap().len(), 32);
        assert!(finding["time"].is_i64());
        assert!(
            !finding["finding_info"]["related_events"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        assert!(
            !finding["message"].as_str().unwrap().contains('?'),
            "{}",
            finding["message"]
        );
    }
}

#[test]
fn demo_refuses_to_empty_a_folder_that_is_not_a_demo() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("precious.txt"), "keep me").unwrap();
    let run = seam(&["demo", "--data-dir", dir.path().to_str().unwrap()]);
    assert!(!run.status.success());
    assert!(text(&run.stderr).contains("holds something other than an earlier demo"));
    assert!(dir.path().join("precious.txt").exists());
}

#[test]
fn replay_writes_findings_and_reports_bad_lines_by_number() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("day.ndjson");
    let day = std::fs::read_to_string(repo().join("examples/demo/day.ndjson")).unwrap();
    std::fs::write(&input, format!("{day}{{\"uid\": \"broken\"\n")).unwrap();
    let estate = repo().join("examples/estate");
    let run = seam(&[
        "replay",
        "--estate",
        estate.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    let broken_line = day.lines().count() + 1;
    assert!(
        stderr.contains(&format!("day.ndjson:{broken_line}: rejected: ")),
        "{stderr}"
    );
    assert!(stderr.contains("1 rejected, 26 findings"), "{stderr}");
    assert_eq!(text(&run.stdout).lines().count(), 26);
}

#[test]
fn check_accepts_the_example_and_rejects_a_broken_estate_with_file_and_line() {
    let ok = seam(&[
        "check",
        "--estate",
        repo().join("examples/estate").to_str().unwrap(),
    ]);
    assert!(ok.status.success(), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).starts_with("ok: 3 sites"));

    let dir = tempfile::tempdir().unwrap();
    for name in ["sites.toml", "networks.toml", "assets.toml", "people.toml"] {
        std::fs::copy(
            repo().join("examples/estate").join(name),
            dir.path().join(name),
        )
        .unwrap();
    }
    let sites = std::fs::read_to_string(dir.path().join("sites.toml")).unwrap();
    std::fs::write(
        dir.path().join("sites.toml"),
        sites.replacen("to = \"hq-server\"", "to = \"hq-srvr\"", 1),
    )
    .unwrap();
    let broken = seam(&["check", "--estate", dir.path().to_str().unwrap()]);
    assert_eq!(broken.status.code(), Some(2));
    let stderr = text(&broken.stderr);
    assert!(stderr.contains("sites.toml:"), "{stderr}");
    assert!(stderr.contains("hq-srvr"), "{stderr}");
}

#[test]
fn check_rejects_a_broken_rule_with_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yml"),
        "title: bad\nid: test.bad\ndetection:\n  selection:\n    presence.on_sight: true\n  condition: selection\n",
    )
    .unwrap();
    let run = seam(&[
        "check",
        "--estate",
        repo().join("examples/estate").to_str().unwrap(),
        "--rules",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = text(&run.stderr);
    assert!(stderr.contains("bad.yml:5:"), "{stderr}");
    assert!(stderr.contains("presence.on_sight"), "{stderr}");
}

#[test]
fn rules_test_passes_the_default_pack_and_fails_a_wrong_expectation() {
    let ok = seam(&["rules", "test"]);
    assert!(ok.status.success(), "{}", text(&ok.stdout));
    assert!(text(&ok.stdout).contains(" passed, 0 failed"));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("wrong.yml"),
        r#"title: visitor badge
id: test.visitor-badge
detection:
  selection:
    person.kind: visitor
  condition: selection
tests:
  - name: a visitor badge
    expect: 1
    events:
      - {time: "2026-03-02T09:30:00Z", class: physical_access, activity: granted, subject: {badge: V-100}, door: hq-main}
  - name: claims an employee is a visitor
    expect: 1
    events:
      - {time: "2026-03-02T09:30:00Z", class: physical_access, activity: granted, subject: {badge: "4411"}, door: hq-main}
"#,
    )
    .unwrap();
    let failing = seam(&["rules", "test", dir.path().to_str().unwrap()]);
    assert!(!failing.status.success());
    let stdout = text(&failing.stdout);
    assert!(
        stdout.contains("FAILED test.visitor-badge: claims an employee is a visitor"),
        "{stdout}"
    );
    assert!(stdout.contains("expected 1 findings, found 0"), "{stdout}");
    assert!(
        stdout.contains("needs at least one positive and one negative test case"),
        "{stdout}"
    );
}

#[test]
fn bench_engine_prints_one_json_object() {
    let run = seam(&[
        "bench", "engine", "--people", "300", "--events", "3000", "--json",
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let report: serde_json::Value = serde_json::from_str(text(&run.stdout).trim()).unwrap();
    assert_eq!(report["events"], 3000);
    assert!(report["events_per_sec"].as_f64().unwrap() > 0.0);
    assert!(report["rss_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn bench_adapter_counts_every_record_it_parses() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../seam-adapters/tests/fixtures/linux-auth.log")
        .display()
        .to_string();
    let run = seam(&[
        "bench",
        "adapter",
        "linux-auth",
        &fixture,
        "--records",
        "2000",
        "--json",
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let report: serde_json::Value = serde_json::from_str(text(&run.stdout).trim()).unwrap();
    let records = report["records"].as_u64().unwrap();
    let counted = report["events"].as_u64().unwrap()
        + report["rejected"].as_u64().unwrap()
        + report["skipped"].as_u64().unwrap();
    assert_eq!(counted, records);
    assert!(report["records_per_cpu_sec"].as_f64().unwrap() > 0.0);
    let unknown = seam(&["bench", "adapter", "nosuch", &fixture]);
    assert!(!unknown.status.success());
}

#[test]
fn bench_flows_decodes_every_version_and_loses_nothing_over_udp_at_a_low_rate() {
    for version in ["5", "9", "10"] {
        let run = seam(&[
            "bench",
            "flows",
            "--version",
            version,
            "--flows",
            "30000",
            "--json",
        ]);
        assert!(run.status.success(), "{}", text(&run.stderr));
        let report: serde_json::Value = serde_json::from_str(text(&run.stdout).trim()).unwrap();
        assert!(report["flows"].as_u64().unwrap() >= 30_000, "{report}");
        assert!(report["flows_per_cpu_sec"].as_f64().unwrap() > 0.0);
    }
    let wrong = seam(&["bench", "flows", "--version", "7"]);
    assert!(!wrong.status.success());
    assert!(text(&wrong.stderr).contains("give 5, 9 or 10"));

    // Over UDP to a seam serve on loopback, briefly and slowly (a debug build).
    let run = seam(&[
        "bench",
        "flows",
        "--udp",
        "--version",
        "9",
        "--rate",
        "3000",
        "--duration",
        "2",
        "--json",
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let report: serde_json::Value = serde_json::from_str(text(&run.stdout).trim()).unwrap();
    let sent = report["flows_sent"].as_u64().unwrap();
    assert!(sent >= 3000, "{report}");
    assert_eq!(report["flows_stored"].as_u64(), Some(sent), "{report}");
    assert_eq!(report["flows_lost"], 0, "{report}");
    assert_eq!(report["dead_letters"], 0, "{report}");
    assert_eq!(report["sequence_gaps"], 0, "{report}");
}

#[test]
fn sim_replay_and_eval_score_the_labelled_attacks() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sim");
    let run = seam(&[
        "sim",
        "--people",
        "400",
        "--sites",
        "2",
        "--days",
        "3",
        "--seed",
        "11",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let check = seam(&["check", "--estate", out.join("estate").to_str().unwrap()]);
    assert!(check.status.success(), "{}", text(&check.stderr));
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(out.join("events"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    inputs.sort();
    let findings = out.join("findings.ndjson");
    let mut args = vec![
        "replay".to_string(),
        "--estate".into(),
        out.join("estate").display().to_string(),
        "--out".into(),
        findings.display().to_string(),
    ];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let replay = seam(&args);
    assert!(replay.status.success(), "{}", text(&replay.stderr));
    let html = dir.path().join("report.html");
    let eval = seam(&[
        "eval",
        "--truth",
        out.join("truth.jsonl").to_str().unwrap(),
        "--findings",
        findings.to_str().unwrap(),
        "--json",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(eval.status.success(), "{}", text(&eval.stderr));
    let report: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    for key in ["recall", "precision", "fp_per_1000_person_days"] {
        assert!(report[key].is_number(), "{key} in {report}");
    }
    assert!(report["scenarios"].as_u64().unwrap() >= 20);
    assert!(report["recall"].as_f64().unwrap() >= 0.9, "{report}");
    assert!(std::fs::read_to_string(&html).unwrap().contains("<svg"));
}

#[test]
fn sim_is_deterministic_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let read_all = |root: &Path| {
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("events"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let mut all: Vec<u8> = files
            .iter()
            .flat_map(|f| std::fs::read(f).unwrap())
            .collect();
        all.extend(std::fs::read(root.join("truth.jsonl")).unwrap());
        all.extend(std::fs::read(root.join("estate/people.toml")).unwrap());
        all
    };
    let mut outputs = Vec::new();
    for (name, threads) in [("a", "1"), ("b", "2")] {
        let out = dir.path().join(name);
        let run = seam(&[
            "sim",
            "--people",
            "150",
            "--days",
            "2",
            "--seed",
            "4",
            "--threads",
            threads,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(run.status.success(), "{}", text(&run.stderr));
        outputs.push(read_all(&out));
    }
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn twin_exercise_reports_each_step_and_the_blind_spots() {
    let scenario = repo().join("examples/exercises/stolen-badge-phished-password.yaml");
    let run = seam(&["twin", "exercise", scenario.to_str().unwrap(), "--json"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["attack_steps"], 6);
    // The stolen badge at the doors is not seen (its owner is at home, nearby): a blind spot
    // the exercise is there to show. Everything after it is.
    assert_eq!(report["blind_spots"], serde_json::json!([4, 5]));
    assert_eq!(report["seen"], 4);
    let signin = &report["steps"][6];
    let rules: Vec<&str> = signin["seen_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| pair[0].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"seam.onsite-offsite-signin"), "{rules:?}");
    assert!(!signin["responses"].as_array().unwrap().is_empty());

    // A broken scenario names the step.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    std::fs::write(
        &broken,
        "start: 2026-03-02T08:00:00Z\nsteps:\n  - do: badge\n",
    )
    .unwrap();
    let run = seam(&["twin", "exercise", broken.to_str().unwrap()]);
    assert!(!run.status.success());
    assert!(
        text(&run.stderr).contains("step 1: `badge` is required"),
        "{}",
        text(&run.stderr)
    );
}

#[test]
fn twin_paths_lists_the_steps_with_the_rules_that_see_them_and_draws_the_estate() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("path.svg");
    let run = seam(&[
        "twin",
        "paths",
        "--from",
        "outside",
        "--to",
        "hq-db1",
        "--with",
        "badge:4412,password:bob",
        "--json",
        "--svg",
        svg.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let steps = report["paths"][0]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 5);
    // Doors into the lobby and the office are ordinary; the server room at night followed by a
    // privileged sign-in is what the default pack catches.
    assert_eq!(steps[0]["seen_by"], serde_json::json!([]));
    assert_eq!(
        steps[4]["seen_by"],
        serde_json::json!(["seam.after-hours-server-room-privileged"])
    );
    let picture = std::fs::read_to_string(&svg).unwrap();
    assert!(picture.contains("hq-server") && picture.contains("door hot"));

    let run = seam(&["twin", "paths", "--from", "outside", "--to", "nowhere"]);
    assert!(!run.status.success());
    assert!(text(&run.stderr).contains("--to `nowhere`"));
}

#[test]
fn replay_reads_vendor_formats_merged_by_time_and_dead_letters_their_bad_records() {
    let fixtures = repo().join("crates/seam-adapters/tests/fixtures");
    let spec = |adapter: &str, file: &str| format!("{adapter}={}", fixtures.join(file).display());
    let estate = repo().join("examples/estate");
    let run = seam(&[
        "replay",
        "--estate",
        estate.to_str().unwrap(),
        &spec("okta", "okta.jsonl"),
        &spec("pacs-report-csv", "pacs-report-csv.csv"),
        &spec("dhcp", "dhcp.log"),
        &spec("meraki", "meraki.log"),
    ]);
    let stderr = text(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    // Each fixture has a broken record in the middle; it is reported by file and line.
    assert!(
        stderr.contains("pacs-report-csv.csv:10: rejected"),
        "{stderr}"
    );
    assert!(stderr.contains("dhcp.log:11: rejected"), "{stderr}");
    let findings = text(&run.stdout);
    assert!(findings.lines().count() >= 1, "{stderr}");

    let run = seam(&[
        "replay",
        "--estate",
        estate.to_str().unwrap(),
        "nosuch=x.log",
    ]);
    assert!(!run.status.success());
    assert!(
        text(&run.stderr).contains("unknown"),
        "{}",
        text(&run.stderr)
    );
}

/// The flows of a replayed input, from the store: (source, source address, destination,
/// port, bytes, time).
fn stored_flows(data: &Path) -> Vec<(String, String, String, u64, u64, String)> {
    let store = seam_store::EmbeddedStore::open(data).unwrap();
    let (records, _) = seam_store::Store::read_events(&store, 0, 1000).unwrap();
    records
        .iter()
        .map(|r| serde_json::from_str::<serde_json::Value>(r).unwrap())
        .filter(|e| e["class"] == "network_activity")
        .map(|e| {
            (
                e["source"].as_str().unwrap().to_string(),
                e["src"]["ip"].as_str().unwrap().to_string(),
                e["dst"]["ip"].as_str().unwrap().to_string(),
                e["dst"]["port"].as_u64().unwrap_or(0),
                e["bytes_out"].as_u64().unwrap_or(0),
                e["time"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn replay_reads_a_netflow_capture_whole_and_nfdump_csv_behind_its_header() {
    let fixtures = repo().join("crates/seam-adapters/tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let estate = repo().join("examples/estate");
    let netflow = format!("netflow={}", fixtures.join("netflow.pcap").display());
    let nfdump = format!("nfdump={}", fixtures.join("nfdump.csv").display());
    let args = [
        "replay",
        "--estate",
        estate.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        &netflow,
        &nfdump,
    ];
    let run = seam(&args);
    let stderr = text(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    // The capture's bad packets are numbered by packet; the CSV's bad rows by line.
    assert!(
        stderr.contains("netflow.pcap:7: rejected: fragmented"),
        "{stderr}"
    );
    assert!(
        stderr.contains("nfdump.csv:7: rejected: invalid source address"),
        "{stderr}"
    );
    assert!(
        stderr.contains("12 events (") && stderr.contains(" 9 rejected"),
        "{stderr}"
    );
    let flows = stored_flows(&data);
    assert_eq!(
        flows.iter().filter(|f| f.0 == "netflow").count(),
        7,
        "{flows:?}"
    );
    assert_eq!(
        flows.iter().filter(|f| f.0 == "nfdump").count(),
        5,
        "{flows:?}"
    );
    assert!(
        flows.contains(&(
            "nfdump".into(),
            "10.10.1.21".into(),
            "52.1.2.3".into(),
            443,
            95_000,
            "2026-03-02T10:20:30.000Z".into()
        )),
        "{flows:?}"
    );

    // Again on the same data: the capture was read whole, so it is skipped whole.
    let again = seam(&args);
    let stderr = text(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(stderr.contains("0 events ("), "{stderr}");
    assert_eq!(stored_flows(&data).len(), 12);

    // A capture over the adapters' input limit is refused before anything is read.
    let big = dir.path().join("big.pcap");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(17 << 20)
        .unwrap();
    let run = seam(&[
        "replay",
        "--estate",
        estate.to_str().unwrap(),
        &format!("netflow={}", big.display()),
    ]);
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("reads a file whole, up to 16 MiB") && stderr.contains("split it"),
        "{stderr}"
    );
}

#[test]
fn a_simulation_in_vendor_formats_replays_through_the_adapters_to_the_same_findings() {
    let dir = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    for format in ["ndjson", "vendor"] {
        let out = dir.path().join(format);
        let run = seam(&[
            "sim",
            "--people",
            "300",
            "--days",
            "2",
            "--seed",
            "9",
            "--format",
            format,
            "--out",
            out.to_str().unwrap(),
        ]);
        let stdout = text(&run.stdout);
        assert!(run.status.success(), "{}", text(&run.stderr));
        // The sim prints the replay command; run exactly its inputs.
        let command = stdout
            .lines()
            .find_map(|line| line.strip_prefix("replay: seam "))
            .unwrap();
        let mut args: Vec<String> = Vec::new();
        for word in command.split(' ') {
            if word.ends_with("*.ndjson") {
                let folder = Path::new(word).parent().unwrap();
                let mut files: Vec<String> = std::fs::read_dir(folder)
                    .unwrap()
                    .map(|e| e.unwrap().path().display().to_string())
                    .collect();
                files.sort();
                args.extend(files);
            } else {
                args.push(word.to_string());
            }
        }
        if format == "vendor" {
            assert!(args.iter().any(|a| a.starts_with("okta=")), "{args:?}");
            assert!(args.iter().any(|a| a.starts_with("meraki=")), "{args:?}");
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let replay = seam(&args);
        assert!(replay.status.success(), "{}", text(&replay.stderr));
        let eval = seam(&[
            "eval",
            "--truth",
            out.join("truth.jsonl").to_str().unwrap(),
            "--findings",
            out.join("findings.ndjson").to_str().unwrap(),
            "--json",
        ]);
        assert!(eval.status.success(), "{}", text(&eval.stderr));
        let report: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
        reports.push((
            report["findings"].clone(),
            report["detected"].clone(),
            report["scenarios"].clone(),
        ));
    }
    assert_eq!(reports[0], reports[1]);
}

#[test]
fn check_lists_what_sample_exports_name_that_the_estate_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    std::fs::write(
        &log,
        "<38>Mar  2 22:14:05 hq-db2 sshd[1]: Accepted password for bob from 10.10.1.22 port 4 ssh2\n<38>Mar  2 22:14:06 hq-db1 sshd[2]: Accepted password for bob from 10.10.1.22 port 5 ssh2\n",
    )
    .unwrap();
    let estate = repo().join("examples/estate").display().to_string();
    let input = format!("linux-auth={}", log.display());
    let run = seam(&["check", "--estate", &estate, &input]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run.stdout));
    let out = text(&run.stdout);
    assert!(
        out.contains("unknown asset `hq-db2` in 1 record; did you mean `hq-db1`?"),
        "{out}"
    );
    let known = dir.path().join("known.log");
    std::fs::write(
        &known,
        "<38>Mar  2 22:14:06 hq-db1 sshd[2]: Accepted password for bob from 10.10.1.22 port 5 ssh2\n",
    )
    .unwrap();
    let input = format!("linux-auth={}", known.display());
    let run = seam(&["check", "--estate", &estate, &input]);
    assert!(run.status.success(), "{}", text(&run.stdout));
}

#[test]
fn year_less_syslog_stamps_take_the_year_of_the_receive_time_never_1970() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    std::fs::write(
        &log,
        "<38>Mar  2 22:14:05 db01 sshd[4121]: Accepted password for bob from 10.10.1.22 port 40110 ssh2\n",
    )
    .unwrap();
    let estate = repo().join("examples/estate").display().to_string();
    let years = |extra: &[&str]| {
        let data = dir.path().join(format!("data-{}", extra.len()));
        let mut args = vec!["replay", "--estate", &estate, "--data-dir"];
        let data_text = data.display().to_string();
        args.push(&data_text);
        args.extend_from_slice(extra);
        let input = format!("linux-auth={}", log.display());
        args.push(&input);
        let run = seam(&args);
        assert!(run.status.success(), "{}", text(&run.stderr));
        let store = seam_store::EmbeddedStore::open(&data).unwrap();
        let (records, _) = seam_store::Store::read_events(&store, 0, 10).unwrap();
        records
            .iter()
            .map(|r| serde_json::from_str::<serde_json::Value>(r).unwrap()["time"].to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        years(&["--received", "2025-03-05T00:00:00Z"]),
        ["\"2025-03-02T22:14:05.000Z\""]
    );
    // Without it, the file's modification time (now): this year or the last, never 1970.
    let times = years(&[]);
    assert_eq!(times.len(), 1);
    assert!(!times[0].contains("1970"), "{times:?}");
}

#[test]
fn places_the_estate_does_not_know_are_counted_by_replay_and_listed_by_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("day.ndjson");
    let events = [
        r#"{"uid":"a","time":"2026-03-02T09:00:00Z","source":"pacs-hq","class":"physical_access","activity":"granted","subject":{"badge":"4412"},"door":"hq-side-door"}"#,
        r#"{"uid":"b","time":"2026-03-02T09:05:00Z","source":"pacs-hq","class":"physical_access","activity":"granted","subject":{"badge":"4411"},"door":"hq-side-door"}"#,
        r#"{"uid":"c","time":"2026-03-02T09:06:00Z","source":"ise","class":"network_session","activity":"connect","outcome":"success","medium":"wifi","subject":{"mac":"3c:22:fb:00:00:01"},"ap":"70-3A-0E-11-22-31:CorpWiFi"}"#,
        r#"{"uid":"d","time":"2026-03-02T09:07:00Z","source":"ise","class":"network_session","activity":"connect","outcome":"success","medium":"wired","subject":{"mac":"3c:22:fb:00:00:02"},"switch_port":"hq-sw9:Gi1/0/1"}"#,
    ];
    std::fs::write(&input, events.join("\n") + "\n").unwrap();
    let data = dir.path().join("data");
    let estate = repo().join("examples/estate");
    let run = seam(&[
        "replay",
        "--estate",
        estate.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    let stderr = text(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    // The access point is known by its radio's BSSID; the door and the switch are not known.
    assert!(
        stderr.contains("3 events name 2 things the estate does not know"),
        "{stderr}"
    );
    assert!(
        stderr.contains("door `hq-side-door`: 2 events from pacs-hq"),
        "{stderr}"
    );
    assert!(
        stderr.contains("switch port `hq-sw9:Gi1/0/1`: 1 events"),
        "{stderr}"
    );
    let listed = seam(&["inspect", "--data-dir", data.to_str().unwrap(), "unknown"]);
    let stdout = text(&listed.stdout);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert!(stdout.contains("door `hq-side-door`: 2 events"), "{stdout}");
}

#[test]
fn replay_reads_an_export_as_the_service_configuration_says() {
    let dir = tempfile::tempdir().unwrap();
    // A site's own PACS mapping (a copy of the built-in report one, renamed) and a local zone.
    let mapping =
        std::fs::read_to_string(repo().join("crates/seam-adapters/mappings/report-csv.toml"))
            .unwrap()
            .replace("name = \"report-csv\"", "name = \"hq-console\"");
    std::fs::write(dir.path().join("hq-console.toml"), mapping).unwrap();
    std::fs::write(
        dir.path().join("serve.toml"),
        "[[source]]\nname = \"pacs-hq\"\nadapter = \"pacs\"\nmapping = \"hq-console.toml\"\ntransport = \"directory\"\npath = \"inbox\"\ntimezone = \"Europe/Amsterdam\"\n",
    )
    .unwrap();
    let export = dir.path().join("export.csv");
    std::fs::write(
        &export,
        "\"Event Time\",\"Event Type\",\"Card Number\",\"Cardholder\",\"Door\",\"Reader\",\"Site\"\n\"03/02/2026 08:40:00 AM\",\"Access Granted\",\"4415\",\"Walsh, Erin\",\"hq-main\",\"hq-main-r1\",\"hq\"\n",
    )
    .unwrap();
    let estate = repo().join("examples/estate");
    let run = seam(&[
        "replay",
        "--estate",
        estate.to_str().unwrap(),
        "--config",
        dir.path().join("serve.toml").to_str().unwrap(),
        &format!("pacs-hq={}", export.display()),
    ]);
    let stderr = text(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    // Erin is terminated: her badge at 08:40 Amsterdam time (07:40 UTC) is a finding, and the
    // event is the configured source's.
    let findings: Vec<serde_json::Value> = text(&run.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let erin = findings
        .iter()
        .find(|f| f["finding_info"]["analytic"]["uid"] == "seam.inactive-person-credential")
        .unwrap_or_else(|| panic!("{stderr}\n{findings:?}"));
    assert_eq!(erin["time_dt"], "2026-03-02T07:40:00.000Z");
    // Without the configuration, `pacs-hq` is no adapter Seam knows.
    let without = seam(&[
        "replay",
        "--estate",
        estate.to_str().unwrap(),
        &format!("pacs-hq={}", export.display()),
    ]);
    assert!(!without.status.success());
    assert!(
        text(&without.stderr).contains("unknown PACS mapping `hq`"),
        "{}",
        text(&without.stderr)
    );
}

#[test]
fn check_prints_where_the_place_based_rules_are_armed_partial_or_blind() {
    let estate = repo().join("examples/estate");
    let run = seam(&["check", "--estate", estate.to_str().unwrap()]);
    let stdout = text(&run.stdout);
    assert!(run.status.success(), "{stdout}{}", text(&run.stderr));
    assert!(
        stdout.contains("partial  seam.badge-granted-nobody-entered          hq    6 of 8: no position switch or sensor declared at hq-meet-door, hq-cafe-door"),
        "{stdout}"
    );
    assert!(
        stdout.contains("blind    seam.badge-granted-nobody-entered          nyc   0 of 2"),
        "{stdout}"
    );
    assert!(
        stdout.contains("n/a      seam.tailgating-occupancy                  nyc"),
        "{stdout}"
    );
    // The zones entered by badge alone, where an exit without an entry can be told.
    assert!(
        stdout.contains("armed    seam.exit-without-entry                    hq    2 of 2"),
        "{stdout}"
    );
}

/// A site's own folder layers over the default pack: it replaces a rule file by name, switches
/// a rule off at one site and excepts one asset until a date, each with a reason and an owner;
/// `seam rules list` shows it all, and replay counts what tuning kept back.
#[test]
fn a_rules_folder_layers_over_the_default_pack_and_tunes_it() {
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("site-rules");
    std::fs::create_dir(&pack).unwrap();
    std::fs::write(
        pack.join("pack.toml"),
        r#"
extends = ["default"]

[[disable]]
rule = "seam.badge-granted-nobody-entered"
sites = ["hq"]
reason = "the lobby doors log card reads only"
owner = "facilities@example.com"

[[exception]]
rule = "seam.exfil-owner-elsewhere"
asset = "hq-ws-dan"
reason = "a research upload agreed with the security office"
owner = "secops@example.com"
expires = "2026-04-01T00:00:00Z"
"#,
    )
    .unwrap();
    // The same file name as the default pack's: it replaces that rule.
    let original =
        std::fs::read_to_string(repo().join("rules/decommissioned-site-badge.yml")).unwrap();
    std::fs::write(
        pack.join("decommissioned-site-badge.yml"),
        original.replace("level: high", "level: critical"),
    )
    .unwrap();

    let listed = seam(&["rules", "list", pack.to_str().unwrap()]);
    let stdout = text(&listed.stdout);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    assert!(
        stdout.contains(
            "off at hq: the lobby doors log card reads only (owner facilities@example.com)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("except asset hq-ws-dan until 2026-04-01T00:00:00.000Z"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 switched off somewhere; 1 exceptions"),
        "{stdout}"
    );
    let replaced = stdout
        .lines()
        .find(|line| line.starts_with("seam.decommissioned-site-badge"))
        .unwrap();
    assert!(
        replaced.contains("critical") && replaced.contains("site-rules"),
        "{replaced}"
    );

    let day = repo().join("examples/demo/day.ndjson");
    let estate = repo().join("examples/estate");
    let run = seam(&[
        "replay",
        "--estate",
        estate.to_str().unwrap(),
        "--rules",
        pack.to_str().unwrap(),
        day.to_str().unwrap(),
    ]);
    let stderr = text(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("2 findings kept back by the pack's tuning"),
        "{stderr}"
    );
    let findings = text(&run.stdout);
    assert!(!findings.contains("seam.badge-granted-nobody-entered"));
    assert!(!findings.contains("\"seam.exfil-owner-elsewhere\""));
    assert!(findings.contains("seam.decommissioned-site-badge"));

    // An entry without an owner, or naming a rule the pack lacks, is refused.
    std::fs::write(
        pack.join("pack.toml"),
        "extends = [\"default\"]\n[[disable]]\nrule = \"seam.no-such-rule\"\nreason = \"x\"\nowner = \"\"\n",
    )
    .unwrap();
    let refused = seam(&["rules", "list", pack.to_str().unwrap()]);
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("no rule `seam.no-such-rule`"), "{stderr}");
    assert!(
        stderr.contains("a reason and an owner are required"),
        "{stderr}"
    );
}
