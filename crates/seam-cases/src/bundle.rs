//! The signed export bundle of a case, and its independent check.
//!
//! A bundle is a set of files under relative paths plus four files of its own:
//!
//! - `manifest.json`: the format, the case, when it was sealed, every file with its size and
//!   SHA-256, and the signing key (hex);
//! - `manifest.sig`: the raw 64-byte Ed25519 signature over the exact bytes of `manifest.json`;
//! - `public-key.pem`: the same key as an SPKI PEM, for tools that know nothing of Seam;
//! - `SHA256SUMS`: every other file's digest in the `sha256sum -c` format.
//!
//! So a recipient can check a bundle without Seam:
//!
//! ```text
//! sha256sum -c SHA256SUMS
//! openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in manifest.json -sigfile manifest.sig
//! ```
//!
//! [`verify`] does both and more: it parses the manifest strictly, refuses files the manifest
//! does not list, and checks the signature against a key the caller trusts when given one.
//! [`render_html`] writes the case's human-readable report, usually one of the bundle's files.
//!
//! Pure: no I/O and no clock; the caller writes the files and says when it sealed them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::case::{Case, TaskStatus};
use crate::facts::FindingFacts;
use crate::timeline::{Entry, EntryKind};
use crate::triage::Team;

/// The format a manifest names, and the only one [`verify`] reads.
pub const FORMAT: &str = "seam-case-bundle/1";
/// The signed list of files.
pub const MANIFEST: &str = "manifest.json";
/// The Ed25519 signature over [`MANIFEST`]'s bytes.
pub const SIGNATURE: &str = "manifest.sig";
/// The signing key as an SPKI PEM.
pub const PUBLIC_KEY: &str = "public-key.pem";
/// The `sha256sum -c` list of every other file.
pub const SUMS: &str = "SHA256SUMS";
/// The bundle's own files: no caller's file may take these names.
pub const RESERVED: [&str; 4] = [MANIFEST, SIGNATURE, PUBLIC_KEY, SUMS];

/// The most files a bundle holds, the bundle's own included.
pub const MAX_FILES: usize = 100_000;
/// The longest path, in bytes.
pub const MAX_PATH_BYTES: usize = 1024;
/// The longest component of a path, in bytes (most file systems' limit).
pub const MAX_COMPONENT_BYTES: usize = 255;

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE { SEQUENCE { OID
/// 1.3.101.112 }, BIT STRING (no unused bits) }, followed by the 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// One file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// Relative, `/`-separated; see [`check_path`].
    pub path: String,
    pub bytes: Vec<u8>,
}

/// One file as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListedFile {
    pub path: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Lowercase hex SHA-256 of its content.
    pub sha256: String,
}

/// `manifest.json`, as written and as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    format: String,
    case_id: String,
    /// When the bundle was sealed, wall time in ms.
    created_at: i64,
    files: Vec<ListedFile>,
    /// The Ed25519 public key that signed it, lowercase hex.
    public_key: String,
}

/// Which key a bundle's signature was checked with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// The key the caller trusts: the bundle is authentic.
    Trusted,
    /// The key the bundle names itself: the bundle is intact, but anyone could have made it.
    Embedded,
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeySource::Trusted => "trusted",
            KeySource::Embedded => "bundle's own",
        })
    }
}

/// What a bundle that passed [`verify`] says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub case_id: String,
    /// When it was sealed, wall time in ms.
    pub created_at_ms: i64,
    /// The files it lists, in its order (the bundle's own four are not listed).
    pub files: Vec<ListedFile>,
    /// The key that signed it, lowercase hex.
    pub public_key: String,
    /// Whether that key is one the caller trusts or only the one the bundle names.
    pub key: KeySource,
}

/// Why a bundle could not be sealed or did not verify. Each names the file at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("the path `{path}` is not allowed in a bundle: {reason}")]
    BadPath { path: String, reason: &'static str },
    #[error("the path `{path}` is reserved for the bundle's own files")]
    ReservedPath { path: String },
    #[error("the path `{path}` appears twice in the bundle")]
    DuplicatePath { path: String },
    #[error("the path `{path}` is both a file and the folder of `{other}`")]
    PathConflict { path: String, other: String },
    #[error("the bundle holds more than {MAX_FILES} files")]
    TooManyFiles,
    #[error("the case id `{case_id}` cannot name a bundle: {reason}")]
    BadCaseId { case_id: String, reason: String },
    #[error("the manifest could not be written: {reason}")]
    Encode { reason: String },
    #[error("the bundle has no `{path}`")]
    MissingFile { path: String },
    #[error("`{path}` is in the bundle but not in its manifest")]
    UnlistedFile { path: String },
    #[error("`{path}` is {found} bytes, the manifest says {expected}")]
    SizeMismatch {
        path: String,
        expected: u64,
        found: u64,
    },
    #[error("`{path}` has SHA-256 {found}, the manifest says {expected}")]
    DigestMismatch {
        path: String,
        expected: String,
        found: String,
    },
    #[error("`{path}` is not a valid manifest: {reason}")]
    BadManifest { path: String, reason: String },
    #[error("`{path}` is {bytes} bytes, not a 64-byte Ed25519 signature")]
    MalformedSignature { path: String, bytes: usize },
    #[error("`{path}` is not a valid signature of `manifest.json` by the {key} key")]
    BadSignature { path: String, key: KeySource },
    #[error("`{path}` names the key {manifest_key}, not the trusted key {trusted_key}")]
    UntrustedKey {
        path: String,
        manifest_key: String,
        trusted_key: String,
    },
    #[error("`{path}` does not hold the key `manifest.json` names")]
    PublicKeyMismatch { path: String },
    #[error("`{path}` does not list the bundle's files and digests")]
    SumsMismatch { path: String },
}

/// Checks one path a caller gives: relative, `/`-separated, each component made of
/// `A-Z a-z 0-9 . _ -` and not only dots, no empty component, not too long.
pub fn check_path(path: &str) -> Result<(), BundleError> {
    let bad = |reason: &'static str| {
        Err(BundleError::BadPath {
            path: path.to_string(),
            reason,
        })
    };
    if path.is_empty() {
        return bad("it is empty");
    }
    if path.len() > MAX_PATH_BYTES {
        return bad("it is longer than 1024 bytes");
    }
    if path.starts_with('/') {
        return bad("it is absolute");
    }
    for component in path.split('/') {
        if component.is_empty() {
            return bad("it has an empty component");
        }
        if component.len() > MAX_COMPONENT_BYTES {
            return bad("a component is longer than 255 bytes");
        }
        if component == ".." {
            return bad("it climbs out with `..`");
        }
        if component.bytes().all(|b| b == b'.') {
            return bad("a component is only dots");
        }
        if !component
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        {
            return bad("it holds a character other than A-Z a-z 0-9 . _ -");
        }
    }
    Ok(())
}

/// Checks a set of paths: each valid, none reserved, none twice (letter case aside, so the
/// bundle unpacks the same on a case-insensitive file system), none both a file and a folder.
fn check_paths<'a>(paths: impl IntoIterator<Item = &'a str>) -> Result<(), BundleError> {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for reserved in RESERVED {
        seen.insert(reserved.to_ascii_lowercase(), reserved);
    }
    for path in paths {
        check_path(path)?;
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(path)) {
            return Err(BundleError::ReservedPath {
                path: path.to_string(),
            });
        }
        if seen.insert(path.to_ascii_lowercase(), path).is_some() {
            return Err(BundleError::DuplicatePath {
                path: path.to_string(),
            });
        }
    }
    // A path that is the folder of another (`a` and `a/b`): the paths under `a/` sort
    // together, from the first at or after `a/`.
    for (folded, path) in &seen {
        let folder = format!("{folded}/");
        if let Some((_, other)) = seen
            .range(folder.clone()..)
            .next()
            .filter(|(key, _)| key.starts_with(&folder))
        {
            return Err(BundleError::PathConflict {
                path: (*path).to_string(),
                other: (*other).to_string(),
            });
        }
    }
    Ok(())
}

/// Lowercase hex of some bytes.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        for nibble in [byte >> 4, byte & 0x0f] {
            text.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    text
}

/// The 32 bytes of a lowercase hex key, or `None`.
fn unhex_key(text: &str) -> Option<[u8; 32]> {
    if !crate::evidence::is_sha256(text) {
        return None;
    }
    let bytes: Vec<u8> = text
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect::<Option<_>>()?;
    bytes.try_into().ok()
}

/// Lowercase hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Standard base64 (RFC 4648, with padding).
/// Standard base64 with padding (RFC 4648), for PEM and for bundles carried in JSON.
pub fn base64(bytes: &[u8]) -> String {
    fn sextet(value: u8) -> char {
        char::from(match value & 0x3f {
            v @ 0..=25 => b'A' + v,
            v @ 26..=51 => b'a' + (v - 26),
            v @ 52..=61 => b'0' + (v - 52),
            62 => b'+',
            _ => b'/',
        })
    }
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let (a, b, c, len) = match *chunk {
            [a, b, c] => (a, b, c, 3),
            [a, b] => (a, b, 0, 2),
            [a] => (a, 0, 0, 1),
            _ => continue,
        };
        text.push(sextet(a >> 2));
        text.push(sextet((a << 4) | (b >> 4)));
        text.push(if len > 1 {
            sextet((b << 2) | (c >> 6))
        } else {
            '='
        });
        text.push(if len > 2 { sextet(c) } else { '=' });
    }
    text
}

/// An Ed25519 public key as an SPKI PEM, as `openssl pkey -pubout` writes it.
pub fn public_key_pem(key: &VerifyingKey) -> String {
    let mut der = Vec::with_capacity(ED25519_SPKI_PREFIX.len() + 32);
    der.extend_from_slice(&ED25519_SPKI_PREFIX);
    der.extend_from_slice(key.as_bytes());
    // 44 DER bytes are 60 base64 characters: one line, under PEM's 64.
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64(&der)
    )
}

/// The `SHA256SUMS` of a bundle: the listed files in the manifest's order, then the bundle's
/// own files other than itself.
fn sums(listed: &[ListedFile], own: &[(&str, &[u8])]) -> String {
    let mut text = String::new();
    for file in listed {
        text.push_str(&format!("{}  {}\n", file.sha256, file.path));
    }
    for (path, bytes) in own {
        text.push_str(&format!("{}  {path}\n", sha256_hex(bytes)));
    }
    text
}

/// Seals a bundle: checks the paths, then appends `manifest.json`, `manifest.sig`,
/// `public-key.pem` and `SHA256SUMS` to `files`, in that order.
pub fn seal(
    mut files: Vec<BundleFile>,
    case_id: &str,
    created_at_ms: i64,
    key: &SigningKey,
) -> Result<Vec<BundleFile>, BundleError> {
    crate::check_id("the case id", case_id).map_err(|reason| BundleError::BadCaseId {
        case_id: case_id.to_string(),
        reason,
    })?;
    if files.len() > MAX_FILES - RESERVED.len() {
        return Err(BundleError::TooManyFiles);
    }
    check_paths(files.iter().map(|f| f.path.as_str()))?;
    let verifying = key.verifying_key();
    let manifest = Manifest {
        format: FORMAT.to_string(),
        case_id: case_id.to_string(),
        created_at: created_at_ms,
        files: files
            .iter()
            .map(|f| ListedFile {
                path: f.path.clone(),
                bytes: f.bytes.len() as u64,
                sha256: sha256_hex(&f.bytes),
            })
            .collect(),
        public_key: hex(verifying.as_bytes()),
    };
    let mut manifest_bytes =
        serde_json::to_vec_pretty(&manifest).map_err(|error| BundleError::Encode {
            reason: error.to_string(),
        })?;
    manifest_bytes.push(b'\n');
    let signature = key.sign(&manifest_bytes).to_bytes().to_vec();
    let pem = public_key_pem(&verifying).into_bytes();
    let sums = sums(
        &manifest.files,
        &[
            (MANIFEST, &manifest_bytes),
            (SIGNATURE, &signature),
            (PUBLIC_KEY, &pem),
        ],
    )
    .into_bytes();
    for (path, bytes) in [
        (MANIFEST, manifest_bytes),
        (SIGNATURE, signature),
        (PUBLIC_KEY, pem),
        (SUMS, sums),
    ] {
        files.push(BundleFile {
            path: path.to_string(),
            bytes,
        });
    }
    Ok(files)
}

fn bad_manifest(reason: impl Into<String>) -> BundleError {
    BundleError::BadManifest {
        path: MANIFEST.to_string(),
        reason: reason.into(),
    }
}

/// Reads `manifest.json` strictly: no unknown or repeated field, this format, valid paths
/// and digests, a valid key.
fn parse_manifest(bytes: &[u8]) -> Result<(Manifest, VerifyingKey), BundleError> {
    let manifest: Manifest =
        serde_json::from_slice(bytes).map_err(|error| bad_manifest(error.to_string()))?;
    if manifest.format != FORMAT {
        return Err(bad_manifest(format!(
            "its format is `{}`, not `{FORMAT}`",
            manifest.format
        )));
    }
    crate::check_id("the case id", &manifest.case_id).map_err(bad_manifest)?;
    if manifest.files.len() > MAX_FILES - RESERVED.len() {
        return Err(bad_manifest(format!(
            "it lists more than {MAX_FILES} files"
        )));
    }
    check_paths(manifest.files.iter().map(|f| f.path.as_str()))
        .map_err(|error| bad_manifest(error.to_string()))?;
    if let Some(file) = manifest
        .files
        .iter()
        .find(|f| !crate::evidence::is_sha256(&f.sha256))
    {
        return Err(bad_manifest(format!(
            "the digest of `{}` is not lowercase hex SHA-256",
            file.path
        )));
    }
    let key = unhex_key(&manifest.public_key)
        .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok())
        .ok_or_else(|| bad_manifest("its public key is not a lowercase hex Ed25519 key"))?;
    Ok((manifest, key))
}

/// Checks a bundle: the manifest's signature (with `trusted` if given, else with the key the
/// manifest names), that `public-key.pem` and `SHA256SUMS` agree with it, that every listed
/// file is present with its size and digest, and that nothing else is present.
pub fn verify(
    files: &[BundleFile],
    trusted: Option<&VerifyingKey>,
) -> Result<Verified, BundleError> {
    if files.len() > MAX_FILES {
        return Err(BundleError::TooManyFiles);
    }
    let mut by_path: BTreeMap<&str, &[u8]> = BTreeMap::new();
    for file in files {
        if by_path
            .insert(file.path.as_str(), file.bytes.as_slice())
            .is_some()
        {
            return Err(BundleError::DuplicatePath {
                path: file.path.clone(),
            });
        }
    }
    let own = |path: &str| {
        by_path
            .get(path)
            .copied()
            .ok_or_else(|| BundleError::MissingFile {
                path: path.to_string(),
            })
    };
    let manifest_bytes = own(MANIFEST)?;
    let signature_bytes = own(SIGNATURE)?;
    let pem = own(PUBLIC_KEY)?;
    let sums_bytes = own(SUMS)?;

    let (manifest, manifest_key) = parse_manifest(manifest_bytes)?;
    let signature = <[u8; 64]>::try_from(signature_bytes)
        .map(|bytes| Signature::from_bytes(&bytes))
        .map_err(|_| BundleError::MalformedSignature {
            path: SIGNATURE.to_string(),
            bytes: signature_bytes.len(),
        })?;
    let (key, source) = match trusted {
        Some(trusted) => (trusted, KeySource::Trusted),
        None => (&manifest_key, KeySource::Embedded),
    };
    key.verify_strict(manifest_bytes, &signature)
        .map_err(|_| BundleError::BadSignature {
            path: SIGNATURE.to_string(),
            key: source,
        })?;
    if key != &manifest_key {
        return Err(BundleError::UntrustedKey {
            path: MANIFEST.to_string(),
            manifest_key: manifest.public_key.clone(),
            trusted_key: hex(key.as_bytes()),
        });
    }
    if pem != public_key_pem(&manifest_key).as_bytes() {
        return Err(BundleError::PublicKeyMismatch {
            path: PUBLIC_KEY.to_string(),
        });
    }

    for listed in &manifest.files {
        let bytes = by_path
            .get(listed.path.as_str())
            .ok_or_else(|| BundleError::MissingFile {
                path: listed.path.clone(),
            })?;
        let found = bytes.len() as u64;
        if found != listed.bytes {
            return Err(BundleError::SizeMismatch {
                path: listed.path.clone(),
                expected: listed.bytes,
                found,
            });
        }
        let digest = sha256_hex(bytes);
        if digest != listed.sha256 {
            return Err(BundleError::DigestMismatch {
                path: listed.path.clone(),
                expected: listed.sha256.clone(),
                found: digest,
            });
        }
    }
    let listed: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    if let Some(extra) = files
        .iter()
        .find(|f| !listed.contains(f.path.as_str()) && !RESERVED.contains(&f.path.as_str()))
    {
        return Err(BundleError::UnlistedFile {
            path: extra.path.clone(),
        });
    }

    let expected_sums = sums(
        &manifest.files,
        &[
            (MANIFEST, manifest_bytes),
            (SIGNATURE, signature_bytes),
            (PUBLIC_KEY, pem),
        ],
    );
    if sums_bytes != expected_sums.as_bytes() {
        return Err(BundleError::SumsMismatch {
            path: SUMS.to_string(),
        });
    }

    Ok(Verified {
        case_id: manifest.case_id,
        created_at_ms: manifest.created_at,
        files: manifest.files,
        public_key: manifest.public_key,
        key: source,
    })
}

pub use crate::html::escape;

/// A wall or event time (ms since the Unix epoch) as UTC, `2024-05-01 09:30:00.250Z`.
pub fn format_time(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (hour, minute, second, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1_000 % 60,
        in_day % 1_000,
    );
    if milli == 0 {
        format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}Z")
    } else {
        format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}.{milli:03}Z")
    }
}

fn optional_time(ms: Option<i64>) -> String {
    ms.map(format_time).unwrap_or_else(|| "—".to_string())
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:72rem;\
padding:0 1rem;color:#1b1f24;line-height:1.4}\
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;\
border-bottom:1px solid #d0d7de;padding-bottom:.2rem}h3{font-size:1rem}\
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.9rem}\
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}\
th{background:#f6f8fa}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}\
dt{font-weight:600}dd{margin:0}.mono{font-family:ui-monospace,monospace;word-break:break-all}\
.note{white-space:pre-wrap}.none{color:#57606a;font-style:italic}\
@media print{body{margin:0;max-width:none}}";

/// A table with a header row; `mono` columns in a fixed-width font.
fn table(out: &mut String, headers: &[&str], rows: &[Vec<String>], mono: &[usize]) {
    crate::html::table(out, headers, rows, &|column| {
        mono.contains(&column).then_some("mono")
    });
}

fn list_or_none(items: &BTreeSet<String>) -> String {
    if items.is_empty() {
        "—".to_string()
    } else {
        items.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// One finding's row: time, rule, severity, message, read leniently from its OCSF JSON.
fn finding_row(finding: &Value) -> Vec<String> {
    match FindingFacts::from_value(finding) {
        Some(facts) => {
            let message = if facts.message.is_empty() {
                facts.title
            } else {
                facts.message
            };
            vec![
                format_time(facts.time),
                facts.rule,
                facts.severity,
                message,
                facts.uid,
            ]
        }
        None => {
            let text = |key: &str| {
                finding
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            vec![
                finding
                    .get("time")
                    .and_then(Value::as_i64)
                    .map(format_time)
                    .unwrap_or_default(),
                String::new(),
                text("severity"),
                text("message"),
                String::new(),
            ]
        }
    }
}

/// The case's report as one self-contained HTML page: no script, no external resource, the
/// style inline, every text escaped.
pub fn render_html(case: &Case, timeline: &[Entry], findings: &[Value]) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'\">\n",
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!(
        "<title>Case {}: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&case.id),
        escape(&case.title)
    ));
    out.push_str(&format!(
        "<h1>Case {}: {}</h1>\n",
        escape(&case.id),
        escape(&case.title)
    ));

    let mut summary: Vec<(&str, String)> = vec![
        ("Status", case.status.as_str().to_string()),
        ("Severity", case.severity.as_str().to_string()),
        ("Type", case.kind.clone().unwrap_or_else(|| "—".to_string())),
        (
            "Owner",
            case.owner.clone().unwrap_or_else(|| "—".to_string()),
        ),
        (
            "Disposition",
            case.disposition
                .map(|d| d.as_str().to_string())
                .unwrap_or_else(|| "—".to_string()),
        ),
        ("Sites", list_or_none(&case.sites)),
        (
            "Opened",
            format!("{} by {}", format_time(case.created_at), case.created_by),
        ),
        ("Last changed", format_time(case.updated_at)),
        ("Acknowledged", optional_time(case.acknowledged_at)),
        ("Closed", optional_time(case.closed_at)),
        (
            "Events span",
            case.span
                .map(|(from, to)| format!("{} to {}", format_time(from), format_time(to)))
                .unwrap_or_else(|| "—".to_string()),
        ),
        ("Version", case.version.to_string()),
    ];
    if let Some(into) = &case.merged_into {
        summary.push(("Merged into", into.clone()));
    }
    out.push_str("<dl>\n");
    for (label, value) in summary {
        out.push_str(&format!(
            "<dt>{}</dt><dd>{}</dd>\n",
            escape(label),
            escape(&value)
        ));
    }
    out.push_str("</dl>\n");

    out.push_str("<h2>Linked entities</h2>\n");
    let links = &case.links;
    let linked: Vec<Vec<String>> = [
        ("Findings", &links.findings),
        ("Events", &links.events),
        ("People", &links.people),
        ("Assets", &links.assets),
        ("Zones", &links.zones),
    ]
    .into_iter()
    .filter(|(_, set)| !set.is_empty())
    .map(|(what, set)| vec![what.to_string(), list_or_none(set)])
    .collect();
    table(&mut out, &["Kind", "Identifiers"], &linked, &[1]);

    out.push_str("<h2>Tasks</h2>\n");
    for team in [Team::Physical, Team::Cyber] {
        out.push_str(&format!("<h3>{} team</h3>\n", escape(team.as_str())));
        let rows: Vec<Vec<String>> = case
            .tasks
            .iter()
            .filter(|t| t.team == team)
            .map(|t| {
                vec![
                    t.id.to_string(),
                    t.title.clone(),
                    optional_time(t.due_at),
                    match t.status {
                        TaskStatus::Open => "open".to_string(),
                        TaskStatus::Done => "done".to_string(),
                    },
                    t.done_by.clone().unwrap_or_else(|| "—".to_string()),
                    optional_time(t.done_at),
                ]
            })
            .collect();
        table(
            &mut out,
            &["#", "Task", "Due", "Status", "Done by", "Done at"],
            &rows,
            &[],
        );
    }

    out.push_str("<h2>Notes</h2>\n");
    if case.notes.is_empty() {
        out.push_str("<p class=\"none\">None.</p>\n");
    }
    for note in &case.notes {
        out.push_str(&format!(
            "<h3>{} — {}</h3>\n<p class=\"note\">{}</p>\n",
            escape(&format_time(note.at)),
            escape(&note.by),
            escape(&note.text)
        ));
    }

    out.push_str("<h2>Evidence</h2>\n");
    let evidence: Vec<Vec<String>> = case
        .evidence
        .iter()
        .map(|e| {
            vec![
                e.name.clone(),
                e.bytes.to_string(),
                e.sha256.clone(),
                e.media_type.clone().unwrap_or_default(),
                format!("{} by {}", format_time(e.added_at), e.added_by),
            ]
        })
        .collect();
    table(
        &mut out,
        &["Name", "Bytes", "SHA-256", "Media type", "Added"],
        &evidence,
        &[2],
    );

    out.push_str("<h2>Findings</h2>\n");
    let rows: Vec<Vec<String>> = findings.iter().map(finding_row).collect();
    table(
        &mut out,
        &["Time", "Rule", "Severity", "Message", "Uid"],
        &rows,
        &[4],
    );

    out.push_str("<h2>Timeline</h2>\n");
    let rows: Vec<Vec<String>> = timeline
        .iter()
        .map(|e| {
            vec![
                format_time(e.time),
                match e.kind {
                    EntryKind::Event => "event".to_string(),
                    EntryKind::Finding => "finding".to_string(),
                    EntryKind::Action => "action".to_string(),
                },
                e.label.clone(),
                e.summary.clone(),
                e.person.clone().unwrap_or_default(),
                e.uid.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(
        &mut out,
        &["Time (UTC)", "Kind", "What", "Summary", "Person", "Uid"],
        &rows,
        &[5],
    );

    out.push_str("</body>\n</html>\n");
    out
}

/// The files of a case's bundle before sealing: the case, its timeline and findings as JSON,
/// the readable report, and each piece of evidence under its digest (`evidence` as
/// (sha256, content), each checked by the caller on reading).
pub fn case_files(
    case: &serde_json::Value,
    timeline: &[Entry],
    findings: &[serde_json::Value],
    evidence: Vec<(String, Vec<u8>)>,
) -> Vec<BundleFile> {
    let shown: Option<Case> = serde_json::from_value(case.clone()).ok();
    let mut files = vec![
        BundleFile {
            path: "case.json".into(),
            bytes: serde_json::to_vec_pretty(case).unwrap_or_default(),
        },
        BundleFile {
            path: "timeline.json".into(),
            bytes: serde_json::to_vec_pretty(timeline).unwrap_or_default(),
        },
        BundleFile {
            path: "findings.json".into(),
            bytes: serde_json::to_vec_pretty(findings).unwrap_or_default(),
        },
    ];
    if let Some(shown) = shown {
        files.push(BundleFile {
            path: "report.html".into(),
            bytes: render_html(&shown, timeline, findings).into_bytes(),
        });
    }
    for (sha256, bytes) in evidence {
        files.push(BundleFile {
            path: format!("evidence/{sha256}"),
            bytes,
        });
    }
    files
}

/// Decodes standard base64 (padding optional), as bundles carried in JSON are sent.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut buffer = 0u32;
    let mut bits = 0u32;
    for byte in text.trim_end_matches('=').bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err("not base64".to_string()),
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).unwrap_or(0));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_round_trips() {
        for bytes in [
            &b""[..],
            b"f",
            b"fo",
            b"foo",
            b"foob",
            &[0u8, 255, 128, 7, 9],
        ] {
            assert_eq!(super::base64_decode(&super::base64(bytes)).unwrap(), bytes);
        }
        assert!(super::base64_decode("a*b").is_err());
    }

    use super::*;
    use crate::case::{CaseChange, CaseDraft, Links};
    use crate::evidence::EvidenceRef;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn file(path: &str, bytes: &[u8]) -> BundleFile {
        BundleFile {
            path: path.into(),
            bytes: bytes.to_vec(),
        }
    }

    fn sealed() -> Vec<BundleFile> {
        seal(
            vec![
                file("report.html", b"<html></html>"),
                file("evidence/cctv.mp4", b"\x00\x01frames"),
                file("case.json", b"{}"),
            ],
            "C-1",
            1_700_000_000_000,
            &key(7),
        )
        .unwrap()
    }

    fn bytes_of<'a>(files: &'a mut [BundleFile], path: &str) -> &'a mut Vec<u8> {
        &mut files.iter_mut().find(|f| f.path == path).unwrap().bytes
    }

    #[test]
    fn a_sealed_bundle_verifies_with_its_own_key_and_the_trusted_one() {
        let files = sealed();
        let paths: Vec<_> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "report.html",
                "evidence/cctv.mp4",
                "case.json",
                MANIFEST,
                SIGNATURE,
                PUBLIC_KEY,
                SUMS
            ]
        );
        let verified = verify(&files, None).unwrap();
        assert_eq!(verified.key, KeySource::Embedded);
        assert_eq!(verified.case_id, "C-1");
        assert_eq!(verified.created_at_ms, 1_700_000_000_000);
        assert_eq!(verified.files.len(), 3);
        assert_eq!(verified.files[1].bytes, 8);
        assert_eq!(verified.public_key, hex(key(7).verifying_key().as_bytes()));
        let trusted = key(7).verifying_key();
        assert_eq!(
            verify(&files, Some(&trusted)).unwrap().key,
            KeySource::Trusted
        );
        // Sealing is deterministic: Ed25519 signatures are.
        assert_eq!(files, sealed());
    }

    #[test]
    fn the_sums_file_is_in_the_sha256sum_format() {
        let mut files = sealed();
        let sums = String::from_utf8(bytes_of(&mut files, SUMS).clone()).unwrap();
        let lines: Vec<_> = sums.lines().collect();
        assert_eq!(lines.len(), 6);
        assert_eq!(
            lines[0],
            format!("{}  report.html", sha256_hex(b"<html></html>"))
        );
        assert!(lines[3].ends_with("  manifest.json"));
        assert!(lines[5].ends_with("  public-key.pem"));
        assert!(sums.ends_with('\n'));
    }

    #[test]
    fn the_public_key_is_an_spki_pem() {
        // RFC 8410's example key.
        let bytes: [u8; 32] = [
            0x19, 0xbf, 0x44, 0x09, 0x69, 0x84, 0xcd, 0xfe, 0x85, 0x41, 0xba, 0xc1, 0x67, 0xdc,
            0x3b, 0x96, 0xc8, 0x50, 0x86, 0xaa, 0x30, 0xb6, 0xb6, 0xcb, 0x0c, 0x5c, 0x38, 0xad,
            0x70, 0x31, 0x66, 0xe1,
        ];
        let key = VerifyingKey::from_bytes(&bytes).unwrap();
        assert_eq!(
            public_key_pem(&key),
            "-----BEGIN PUBLIC KEY-----\n\
             MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n\
             -----END PUBLIC KEY-----\n"
        );
    }

    #[test]
    fn base64_matches_rfc_4648() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn a_changed_byte_fails_with_the_digest_of_that_file() {
        let mut files = sealed();
        bytes_of(&mut files, "case.json")[0] ^= 1;
        assert!(matches!(
            verify(&files, None),
            Err(BundleError::DigestMismatch { path, .. }) if path == "case.json"
        ));
        let mut files = sealed();
        bytes_of(&mut files, "case.json").push(b' ');
        assert!(matches!(
            verify(&files, None),
            Err(BundleError::SizeMismatch { path, expected: 2, found: 3 }) if path == "case.json"
        ));
    }

    #[test]
    fn a_missing_file_fails_naming_it() {
        for missing in ["evidence/cctv.mp4", MANIFEST, SIGNATURE, PUBLIC_KEY, SUMS] {
            let mut files = sealed();
            files.retain(|f| f.path != missing);
            assert_eq!(
                verify(&files, None),
                Err(BundleError::MissingFile {
                    path: missing.into()
                }),
                "{missing}"
            );
        }
    }

    #[test]
    fn an_extra_or_repeated_file_fails() {
        let mut files = sealed();
        files.push(file("evidence/planted.exe", b"MZ"));
        assert_eq!(
            verify(&files, None),
            Err(BundleError::UnlistedFile {
                path: "evidence/planted.exe".into()
            })
        );
        let mut files = sealed();
        files.push(file("case.json", b"{}"));
        assert_eq!(
            verify(&files, None),
            Err(BundleError::DuplicatePath {
                path: "case.json".into()
            })
        );
    }

    #[test]
    fn a_changed_manifest_fails_its_signature() {
        let mut files = sealed();
        let manifest = bytes_of(&mut files, MANIFEST);
        let text = String::from_utf8(manifest.clone()).unwrap();
        *manifest = text.replace("\"C-1\"", "\"C-2\"").into_bytes();
        assert_eq!(
            verify(&files, None),
            Err(BundleError::BadSignature {
                path: SIGNATURE.into(),
                key: KeySource::Embedded
            })
        );
        // Re-signed by someone else with their key named: intact, but not from the trusted key.
        let forged = seal(
            vec![file("case.json", b"{\"forged\":true}")],
            "C-1",
            0,
            &key(9),
        )
        .unwrap();
        assert_eq!(verify(&forged, None).unwrap().key, KeySource::Embedded);
        let trusted = key(7).verifying_key();
        assert_eq!(
            verify(&forged, Some(&trusted)),
            Err(BundleError::BadSignature {
                path: SIGNATURE.into(),
                key: KeySource::Trusted
            })
        );
    }

    #[test]
    fn a_wrong_trusted_key_fails() {
        let files = sealed();
        let wrong = key(8).verifying_key();
        assert_eq!(
            verify(&files, Some(&wrong)),
            Err(BundleError::BadSignature {
                path: SIGNATURE.into(),
                key: KeySource::Trusted
            })
        );
    }

    #[test]
    fn a_malformed_signature_pem_or_sums_fails_naming_the_file() {
        let mut files = sealed();
        bytes_of(&mut files, SIGNATURE).pop();
        assert_eq!(
            verify(&files, None),
            Err(BundleError::MalformedSignature {
                path: SIGNATURE.into(),
                bytes: 63
            })
        );
        let mut files = sealed();
        *bytes_of(&mut files, PUBLIC_KEY) = public_key_pem(&key(8).verifying_key()).into_bytes();
        assert_eq!(
            verify(&files, None),
            Err(BundleError::PublicKeyMismatch {
                path: PUBLIC_KEY.into()
            })
        );
        let mut files = sealed();
        bytes_of(&mut files, SUMS).push(b'\n');
        assert_eq!(
            verify(&files, None),
            Err(BundleError::SumsMismatch { path: SUMS.into() })
        );
    }

    #[test]
    fn a_manifest_is_parsed_strictly() {
        let signed = |manifest: &str| {
            let bytes = manifest.as_bytes().to_vec();
            let signature = key(7).sign(&bytes).to_bytes().to_vec();
            vec![
                file(MANIFEST, &bytes),
                file(SIGNATURE, &signature),
                file(
                    PUBLIC_KEY,
                    public_key_pem(&key(7).verifying_key()).as_bytes(),
                ),
                file(SUMS, b""),
            ]
        };
        let public_key = hex(key(7).verifying_key().as_bytes());
        let digest = sha256_hex(b"");
        for manifest in [
            "not json".to_string(),
            format!(
                r#"{{"format":"seam-case-bundle/2","case_id":"C-1","created_at":0,"files":[],"public_key":"{public_key}"}}"#
            ),
            format!(
                r#"{{"format":"{FORMAT}","case_id":"C-1","created_at":0,"files":[],"public_key":"{public_key}","extra":1}}"#
            ),
            format!(
                r#"{{"format":"{FORMAT}","case_id":"C-1","case_id":"C-2","created_at":0,"files":[],"public_key":"{public_key}"}}"#
            ),
            format!(
                r#"{{"format":"{FORMAT}","case_id":"C-1","created_at":0,"files":[{{"path":"../x","bytes":0,"sha256":"{digest}"}}],"public_key":"{public_key}"}}"#
            ),
            format!(
                r#"{{"format":"{FORMAT}","case_id":"C-1","created_at":0,"files":[{{"path":"x","bytes":0,"sha256":"{}"}}],"public_key":"{public_key}"}}"#,
                digest.to_uppercase()
            ),
            format!(
                r#"{{"format":"{FORMAT}","case_id":"C-1","created_at":0,"files":[],"public_key":"{}"}}"#,
                public_key.to_uppercase()
            ),
        ] {
            assert!(
                matches!(verify(&signed(&manifest), None), Err(BundleError::BadManifest { path, .. }) if path == MANIFEST),
                "{manifest}"
            );
        }
        // Signed by the trusted key, but naming another: refused, not taken at its word.
        let other_key = hex(key(8).verifying_key().as_bytes());
        let naming_another = format!(
            r#"{{"format":"{FORMAT}","case_id":"C-1","created_at":0,"files":[],"public_key":"{other_key}"}}"#
        );
        let trusted = key(7).verifying_key();
        assert!(matches!(
            verify(&signed(&naming_another), Some(&trusted)),
            Err(BundleError::UntrustedKey { path, manifest_key, .. })
                if path == MANIFEST && manifest_key == other_key
        ));
    }

    #[test]
    fn bad_paths_are_refused_when_sealing() {
        let seal_paths = |paths: &[&str]| {
            seal(
                paths.iter().map(|p| file(p, b"x")).collect(),
                "C-1",
                0,
                &key(7),
            )
        };
        for path in [
            "../x", "/abs", "a//b", "", "a/", "./a", "a/../b", "a\\b", "a b", "é", "...",
        ] {
            assert!(
                matches!(seal_paths(&[path]), Err(BundleError::BadPath { path: p, .. }) if p == path),
                "{path:?}"
            );
        }
        assert_eq!(
            seal_paths(&["a", "b", "a"]),
            Err(BundleError::DuplicatePath { path: "a".into() })
        );
        assert_eq!(
            seal_paths(&["Report.html", "report.HTML"]),
            Err(BundleError::DuplicatePath {
                path: "report.HTML".into()
            })
        );
        for reserved in ["manifest.json", "SHA256SUMS", "sha256sums"] {
            assert_eq!(
                seal_paths(&[reserved]),
                Err(BundleError::ReservedPath {
                    path: reserved.into()
                })
            );
        }
        assert_eq!(
            seal_paths(&["a", "a-b", "a/c"]),
            Err(BundleError::PathConflict {
                path: "a".into(),
                other: "a/c".into()
            })
        );
        assert!(matches!(
            seal_paths(&["manifest.json/x"]),
            Err(BundleError::PathConflict { .. })
        ));
        assert!(seal_paths(&["evidence/manifest.json", "a.b_c-D/9"]).is_ok());
        assert!(matches!(
            seal(Vec::new(), "C 1", 0, &key(7)),
            Err(BundleError::BadCaseId { .. })
        ));
    }

    #[test]
    fn escape_neutralizes_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert(\"x\")</script> & 'y'"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(escape("bell\u{7}\nnext"), "bell\u{fffd}\nnext");
    }

    #[test]
    fn times_are_shown_in_utc() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00Z");
        assert_eq!(format_time(1_700_000_000_250), "2023-11-14 22:13:20.250Z");
        assert_eq!(format_time(951_782_400_000), "2000-02-29 00:00:00Z");
        assert_eq!(format_time(-1), "1969-12-31 23:59:59.999Z");
    }

    #[test]
    fn the_report_holds_the_case_and_escapes_every_text() {
        let mut links = Links::default();
        links.people.insert("bob<b>".into());
        let case = Case::open(
            "C-1".into(),
            CaseDraft {
                title: "Tailgate <script>alert(1)</script>".into(),
                links,
                ..CaseDraft::default()
            },
            Vec::new(),
            "ann",
            1_700_000_000_000,
        )
        .unwrap()
        .apply(
            &CaseChange::AddTask {
                team: Team::Cyber,
                title: "Check the \"ports\"".into(),
                due_at: Some(1_700_000_360_000),
            },
            "ann",
            1_700_000_001_000,
        )
        .unwrap()
        .apply(
            &CaseChange::Note {
                text: "saw them at the door's camera".into(),
            },
            "ann",
            1_700_000_002_000,
        )
        .unwrap()
        .attach(
            EvidenceRef {
                sha256: "a".repeat(64),
                bytes: 1234,
                name: "cctv<1>.mp4".into(),
                media_type: Some("video/mp4".into()),
                added_by: "ann".into(),
                added_at: 1_700_000_003_000,
            },
            1_700_000_003_000,
        )
        .unwrap();
        let finding = serde_json::json!({
            "time": 1_699_999_999_000_i64,
            "severity": "High",
            "message": "badge then <img src=x onerror=alert(1)>",
            "finding_info": {"uid": "f-1", "title": "t", "analytic": {"uid": "seam.tailgating"}},
        });
        let timeline = crate::timeline::merge(&case, Vec::new(), Vec::new());
        let html = render_html(&case, &timeline, &[finding, serde_json::json!({"x": 1})]);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("src=\"http") && !html.contains("href="));
        for expected in [
            "Tailgate &lt;script&gt;alert(1)&lt;/script&gt;",
            "bob&lt;b&gt;",
            "Check the &quot;ports&quot;",
            "2023-11-14 22:19:20Z",
            "saw them at the door&#39;s camera",
            "cctv&lt;1&gt;.mp4",
            "1234",
            &"a".repeat(64),
            "seam.tailgating",
            "badge then &lt;img src=x onerror=alert(1)&gt;",
            "opened the case",
            "<h3>cyber team</h3>",
            "<h3>physical team</h3>",
            "open",
        ] {
            assert!(html.contains(expected), "missing {expected:?} in\n{html}");
        }
    }
}
