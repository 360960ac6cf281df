//! A sealed bundle checks out with tools that know nothing of Seam: `sha256sum -c SHA256SUMS`
//! and `openssl pkeyutl -verify -rawin` over `manifest.json` with `public-key.pem`, exactly as
//! the bundle's recipient would run them. And both catch a flipped byte.
//!
//! Both tools must be installed: a missing one fails the test rather than skipping it, since a
//! skipped test would say nothing about what a recipient can check.
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "the helpers are test code too: a panic there fails the test"
)]

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use ed25519_dalek::SigningKey;
use seam_cases::bundle::{self, BundleFile};

/// A fixed seed: the bundle, and so every digest and the signature, are the same each run.
const SEED: [u8; 32] = *b"seam-bundle-openssl-test-seed-01";

fn sealed() -> Vec<BundleFile> {
    let files = vec![
        BundleFile {
            path: "report.html".into(),
            bytes: b"<!DOCTYPE html><html><body>Case C-7</body></html>\n".to_vec(),
        },
        BundleFile {
            path: "case.json".into(),
            bytes: br#"{"id":"C-7","title":"Tailgate then sign-in"}"#.to_vec(),
        },
        BundleFile {
            path: "evidence/0123abcd-cctv.mp4".into(),
            bytes: (0..=255u8).cycle().take(5_000).collect(),
        },
    ];
    bundle::seal(
        files,
        "C-7",
        1_700_000_000_000,
        &SigningKey::from_bytes(&SEED),
    )
    .unwrap()
}

fn write(dir: &Path, files: &[BundleFile]) {
    for file in files {
        let path = dir.join(&file.path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, &file.bytes).unwrap();
    }
}

/// Runs a tool in `dir`; a tool that is not installed fails the test, loudly.
fn run(dir: &Path, program: &str, args: &[&str]) -> Output {
    match Command::new(program).args(args).current_dir(dir).output() {
        Ok(output) => output,
        Err(error) => panic!(
            "`{program}` could not be run ({error}): this test needs `sha256sum` (coreutils) \
             and `openssl` (3.0 or later) installed, and fails rather than skip without them"
        ),
    }
}

fn sha256sum_check(dir: &Path) -> Output {
    run(dir, "sha256sum", &["-c", "--strict", bundle::SUMS])
}

fn openssl_verify(dir: &Path) -> Output {
    run(
        dir,
        "openssl",
        &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            bundle::PUBLIC_KEY,
            "-rawin",
            "-in",
            bundle::MANIFEST,
            "-sigfile",
            bundle::SIGNATURE,
        ],
    )
}

fn describe(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn flip_a_byte(path: &Path, at: usize) {
    let mut bytes = fs::read(path).unwrap();
    let byte = bytes.get_mut(at).unwrap();
    *byte ^= 0x01;
    fs::write(path, bytes).unwrap();
}

#[test]
fn sha256sum_and_openssl_accept_a_sealed_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let files = sealed();
    assert!(bundle::verify(&files, None).is_ok());
    write(dir.path(), &files);

    let sums = sha256sum_check(dir.path());
    assert!(
        sums.status.success(),
        "sha256sum -c failed:\n{}",
        describe(&sums)
    );
    let listed = String::from_utf8_lossy(&sums.stdout);
    for file in &files {
        if file.path != bundle::SUMS {
            assert!(
                listed.contains(&format!("{}: OK", file.path)),
                "sha256sum did not check `{}`:\n{}",
                file.path,
                describe(&sums)
            );
        }
    }

    let signature = openssl_verify(dir.path());
    assert!(
        signature.status.success(),
        "openssl pkeyutl -verify failed:\n{}",
        describe(&signature)
    );
    assert!(
        String::from_utf8_lossy(&signature.stdout).contains("Signature Verified Successfully"),
        "{}",
        describe(&signature)
    );
}

#[test]
fn sha256sum_catches_a_flipped_byte_in_a_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &sealed());
    flip_a_byte(&dir.path().join("evidence/0123abcd-cctv.mp4"), 4_321);
    let sums = sha256sum_check(dir.path());
    assert!(
        !sums.status.success(),
        "sha256sum -c passed:\n{}",
        describe(&sums)
    );
    assert!(
        String::from_utf8_lossy(&sums.stdout).contains("evidence/0123abcd-cctv.mp4: FAILED"),
        "{}",
        describe(&sums)
    );
    // The signature over the manifest still holds: the manifest itself is untouched.
    assert!(openssl_verify(dir.path()).status.success());
}

#[test]
fn openssl_catches_a_flipped_byte_in_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &sealed());
    flip_a_byte(&dir.path().join(bundle::MANIFEST), 20);
    let signature = openssl_verify(dir.path());
    assert!(
        !signature.status.success(),
        "openssl pkeyutl -verify passed an altered manifest:\n{}",
        describe(&signature)
    );
}
