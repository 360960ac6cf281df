//! `seam audit verify`, `export` and `verify-export` as an operator and an auditor run them:
//! an intact log passes, an edited record is named, a cut tail is caught by the witness, and
//! an export proves itself with the public key alone.

// Test helpers may panic: a panic in a test is a failed assertion.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::process::{Command, Output};

use seam_audit::{AuditAction, AuditEntry, AuditLog, FileWitness};
use seam_model::Ts;

fn seam(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seam"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A log of `n` person reads an hour apart from 2026-03-02, checkpointed every 10 records
/// and at the end, witnessed in `witness`.
fn write_log(data: &Path, witness: &Path, n: i64) {
    let mut log = AuditLog::open(data).unwrap();
    log.add_witness(Box::new(FileWitness::new(witness)));
    let start = Ts::parse("2026-03-02T00:00:00Z").unwrap().millis();
    for i in 0..n {
        let now = Ts(start + i * 3_600_000);
        log.append(
            now,
            AuditEntry::new("u-analyst", AuditAction::PersonRead)
                .subject(format!("p-{i:04}"))
                .purpose("investigating a finding"),
        )
        .unwrap();
        if i % 10 == 9 {
            log.checkpoint(now).unwrap();
        }
    }
    log.close(Ts(start + n * 3_600_000)).unwrap();
}

#[test]
fn verify_passes_an_intact_log_and_names_an_edited_record() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let witness = dir.path().join("witness.log");
    write_log(&data, &witness, 30);
    let data_arg = data.to_str().unwrap();
    let out = seam(&[
        "audit",
        "verify",
        "--data-dir",
        data_arg,
        "--witness",
        witness.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("audit log intact: 30 records"),
        "{}",
        text(&out.stdout)
    );

    // Someone edits who was read in record 12.
    let segment = data.join("audit/audit-000001.log");
    let log = std::fs::read_to_string(&segment).unwrap();
    std::fs::write(&segment, log.replacen("\"p-0011\"", "\"p-9999\"", 1)).unwrap();
    let out = seam(&["audit", "verify", "--data-dir", data_arg]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("record 12"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stdout).contains("edited"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_tail_cut_after_a_witnessed_checkpoint_is_caught_by_the_witness() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let witness = dir.path().join("witness.log");
    write_log(&data, &witness, 25);
    // The last five records and the checkpoints after record 20 are removed from the data
    // directory; the witness still has them.
    let segment = data.join("audit/audit-000001.log");
    let kept: Vec<String> = std::fs::read_to_string(&segment)
        .unwrap()
        .lines()
        .take(20)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&segment, kept.concat()).unwrap();
    let checkpoints = data.join("audit/checkpoints.log");
    let kept: Vec<String> = std::fs::read_to_string(&checkpoints)
        .unwrap()
        .lines()
        .take(2)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&checkpoints, kept.concat()).unwrap();
    let data_arg = data.to_str().unwrap();
    // Without the witness the cut cannot be told from a log that ended there.
    assert!(
        seam(&["audit", "verify", "--data-dir", data_arg])
            .status
            .success()
    );
    let out = seam(&[
        "audit",
        "verify",
        "--data-dir",
        data_arg,
        "--witness",
        witness.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).to_lowercase().contains("trunc") || text(&out.stdout).contains("cut"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn an_export_proves_itself_with_the_public_key_alone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let witness = dir.path().join("witness.log");
    write_log(&data, &witness, 48);
    let export = dir.path().join("export.ndjson");
    let out = seam(&[
        "audit",
        "export",
        "--data-dir",
        data.to_str().unwrap(),
        "--from",
        "2026-03-02T10:00:00Z",
        "--to",
        "2026-03-02T20:00:00Z",
        "--out",
        export.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let key = std::fs::read_to_string(data.join("audit/signing.pub")).unwrap();
    let out = seam(&[
        "audit",
        "verify-export",
        "--key",
        key.trim(),
        export.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // With another key, the checkpoints do not verify.
    let other = "0".repeat(63) + "1";
    let out = seam(&[
        "audit",
        "verify-export",
        "--key",
        &other,
        export.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
}

/// A witness endpoint on loopback: POST appends the body (with the right bearer token), GET
/// gives back everything kept.
fn witness_server(token: &'static str) -> (String, std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/witness/seam", listener.local_addr().unwrap());
    let kept = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let held = std::sync::Arc::clone(&kept);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let (mut length, mut authorized) = (0, false);
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(value) = lower.strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
                authorized |= line.trim() == format!("Authorization: Bearer {token}");
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let answer = if !authorized {
                "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n".to_string()
            } else if request_line.starts_with("POST") {
                held.lock().unwrap().extend_from_slice(&body);
                "HTTP/1.1 204 No Content\r\n\r\n".to_string()
            } else {
                let copy = String::from_utf8(held.lock().unwrap().clone()).unwrap();
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{copy}",
                    copy.len()
                )
            };
            let _ = reader.get_mut().write_all(answer.as_bytes());
        }
    });
    (url, kept)
}

#[test]
fn an_http_witness_keeps_every_checkpoint_and_catches_a_cut_tail() {
    const TOKEN: &str = "witness-token-for-tests";
    let (url, kept) = witness_server(TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut log = AuditLog::open(&data).unwrap();
    let witness = seam_serve::HttpWitness::new(&url, Some(seam_serve::Secret::new(TOKEN))).unwrap();
    log.add_witness(Box::new(witness));
    let start = Ts::parse("2026-03-02T00:00:00Z").unwrap().millis();
    for i in 0..25 {
        let now = Ts(start + i * 60_000);
        log.append(now, AuditEntry::new("u-1", AuditAction::SignIn))
            .unwrap();
        if i % 10 == 9 {
            let done = log.checkpoint(now).unwrap();
            assert!(
                done.witness_failures.is_empty(),
                "{:?}",
                done.witness_failures
            );
        }
    }
    log.close(Ts(start + 25 * 60_000)).unwrap();
    assert_eq!(
        String::from_utf8(kept.lock().unwrap().clone())
            .unwrap()
            .lines()
            .count(),
        3
    );
    let data_arg = data.to_str().unwrap();
    let verify = |env_token: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_seam"));
        command.args(["audit", "verify", "--data-dir", data_arg, "--witness", &url]);
        match env_token {
            Some(token) => command.env("SEAM_AUDIT_WITNESS_TOKEN", token),
            None => command.env_remove("SEAM_AUDIT_WITNESS_TOKEN"),
        };
        command.output().unwrap()
    };
    let out = verify(Some(TOKEN));
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // The witness refuses a reader without its token: a clear failure, not a pass.
    assert!(!verify(None).status.success());
    // Cut the tail after the last witnessed checkpoint, local checkpoints too.
    let segment = data.join("audit/audit-000001.log");
    let kept_lines: Vec<String> = std::fs::read_to_string(&segment)
        .unwrap()
        .lines()
        .take(12)
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&segment, kept_lines.concat()).unwrap();
    std::fs::write(data.join("audit/checkpoints.log"), "").unwrap();
    let out = verify(Some(TOKEN));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
}
