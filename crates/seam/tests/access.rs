//! `seam user` and `seam token` as an administrator runs them: the first admin with a
//! password from standard input, never a default; tokens shown once and stored as digests;
//! every change in the audit log.

// Test helpers may panic: a panic in a test is a failed assertion.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn seam(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_seam"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn users_and_tokens_are_managed_from_the_command_line_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let password = "correct horse battery staple";
    let out = seam(
        &[
            "user",
            "add",
            "--data-dir",
            data,
            "--name",
            "admin",
            "--role",
            "admin",
        ],
        &format!("{password}\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A weak password, a taken name, an unknown role: refused, nothing stored.
    let weak = seam(
        &[
            "user",
            "add",
            "--data-dir",
            data,
            "--name",
            "ops",
            "--role",
            "gsoc-operator",
        ],
        "short\n",
    );
    assert!(!weak.status.success());
    assert!(
        text(&weak.stderr).contains("at least 12"),
        "{}",
        text(&weak.stderr)
    );
    let taken = seam(
        &[
            "user",
            "add",
            "--data-dir",
            data,
            "--name",
            "ADMIN",
            "--role",
            "auditor",
        ],
        &format!("{password}\n"),
    );
    assert!(!taken.status.success());
    let unknown = seam(
        &[
            "user",
            "add",
            "--data-dir",
            data,
            "--name",
            "x",
            "--role",
            "superuser",
        ],
        &format!("{password}\n"),
    );
    assert!(!unknown.status.success());
    let listed = seam(&["user", "list", "--data-dir", data, "--json"], "");
    let listed = text(&listed.stdout);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(
        !listed.contains("argon2") && !listed.contains(password),
        "{listed}"
    );

    let created = seam(
        &[
            "token",
            "create",
            "--data-dir",
            data,
            "--name",
            "okta event hook",
            "--role",
            "integration",
        ],
        "",
    );
    assert!(created.status.success(), "{}", text(&created.stderr));
    let secret = text(&created.stdout).trim().to_string();
    assert!(secret.starts_with("seam_"), "{secret}");
    let id = secret.split('_').nth(1).unwrap().to_string();
    let listed = text(&seam(&["token", "list", "--data-dir", data, "--json"], "").stdout);
    assert!(
        listed.contains(&id) && !listed.contains(&secret),
        "{listed}"
    );
    assert!(listed.contains("\"live\":true"), "{listed}");
    assert!(
        seam(&["token", "revoke", "--data-dir", data, &id], "")
            .status
            .success()
    );
    let listed = text(&seam(&["token", "list", "--data-dir", data, "--json"], "").stdout);
    assert!(listed.contains("\"live\":false"), "{listed}");

    // The store keeps the token as a digest only.
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(&secret),
            "{} holds the token",
            entry.display()
        );
    }
    let verified = seam(&["audit", "verify", "--data-dir", data], "");
    assert!(verified.status.success(), "{}", text(&verified.stdout));
    assert!(
        text(&verified.stdout).contains("3 records"),
        "{}",
        text(&verified.stdout)
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
