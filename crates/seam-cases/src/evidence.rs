//! Evidence as a case holds it: content-addressed by SHA-256, with a display name that is
//! never used as a path (the store files evidence under its digest).

use serde::{Deserialize, Serialize};

/// The longest display name kept, in bytes.
pub const MAX_NAME_BYTES: usize = 200;

/// One piece of evidence attached to a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceRef {
    /// Lowercase hex SHA-256 of the content: its name in the evidence store.
    pub sha256: String,
    pub bytes: u64,
    /// For people only; see [`display_name`].
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub added_by: String,
    pub added_at: i64,
}

/// A file name as sent, made safe to show: the last component of any path it holds, without
/// control characters, at most [`MAX_NAME_BYTES`]. Names that are nothing but dots or empty
/// are refused rather than guessed at.
pub fn display_name(sent: &str) -> Result<String, String> {
    let last = sent.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        return Err(format!(
            "the file name `{}` names no file",
            sent.chars().take(60).collect::<String>()
        ));
    }
    let mut name = String::new();
    for c in cleaned.chars() {
        if name.len() + c.len_utf8() > MAX_NAME_BYTES {
            break;
        }
        name.push(c);
    }
    Ok(name)
}

/// Whether `text` is a lowercase hex SHA-256.
pub fn is_sha256(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A media type as sent, kept if it looks like one (`type/subtype`), else dropped.
pub fn media_type(sent: Option<&str>) -> Option<String> {
    let sent = sent?.split(';').next()?.trim();
    let (kind, sub) = sent.split_once('/')?;
    let token = |t: &str| {
        !t.is_empty()
            && t.len() <= 64
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    (token(kind) && token(sub)).then(|| sent.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_like_names_keep_only_their_last_part() {
        assert_eq!(display_name("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(display_name("C:\\Users\\x\\cctv.mp4").unwrap(), "cctv.mp4");
        assert_eq!(display_name("note\u{0}.txt").unwrap(), "note.txt");
        assert!(display_name("..").is_err());
        assert!(display_name("dir/").is_err());
        assert!(display_name("").is_err());
        assert_eq!(
            display_name(&"é".repeat(300)).unwrap().len(),
            MAX_NAME_BYTES
        );
    }

    #[test]
    fn digests_and_media_types_are_checked() {
        assert!(is_sha256(&"a".repeat(64)));
        assert!(!is_sha256(&"A".repeat(64)));
        assert!(!is_sha256("../x"));
        assert_eq!(
            media_type(Some("image/PNG; charset=x")).as_deref(),
            Some("image/png")
        );
        assert_eq!(media_type(Some("<script>")), None);
    }
}
