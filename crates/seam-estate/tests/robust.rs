//! Untrusted text never panics the loader: random edits of the example estate either load or
//! come back as located problems.

use proptest::prelude::*;
use seam_estate::{Estate, EstateFile};

const FILES: [(&str, &str); 4] = [
    (
        "assets.toml",
        include_str!("../../../examples/estate/assets.toml"),
    ),
    (
        "networks.toml",
        include_str!("../../../examples/estate/networks.toml"),
    ),
    (
        "people.toml",
        include_str!("../../../examples/estate/people.toml"),
    ),
    (
        "sites.toml",
        include_str!("../../../examples/estate/sites.toml"),
    ),
];

/// Snippets that are likely to make a file interesting rather than merely unparsable.
const SNIPPETS: [&str; 12] = [
    "\"",
    "]",
    "[[zone]]\n",
    "= 3\n",
    "\"hq\"",
    "\"outside\"",
    "é",
    "\n",
    "2026-03-02T09:00:00Z",
    "{ kind = \"mac\", value = \"zz\" },",
    "0.0.0.0/0",
    "\u{0}",
];

/// One edit: at a fraction of the text, delete some characters and insert a snippet.
fn edit(text: &str, at: f64, delete: usize, snippet: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let position = ((chars.len() as f64) * at) as usize;
    let mut edited: String = chars.iter().take(position).collect();
    edited.push_str(snippet);
    edited.extend(chars.iter().skip(position + delete));
    edited
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn edited_estates_load_or_report(
        edits in proptest::collection::vec((0..FILES.len(), 0.0f64..1.0, 0usize..12, 0..SNIPPETS.len()), 1..4),
    ) {
        let mut files: Vec<EstateFile> = FILES
            .iter()
            .map(|(name, text)| EstateFile { path: (*name).to_owned(), text: (*text).to_owned() })
            .collect();
        for (file, at, delete, snippet) in edits {
            if let (Some(target), Some(snippet)) = (files.get_mut(file), SNIPPETS.get(snippet)) {
                target.text = edit(&target.text, at, delete, snippet);
            }
        }
        match Estate::from_files(&files) {
            Ok(estate) => prop_assert!(!estate.sites().is_empty() || !estate.people().is_empty()),
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for error in &errors {
                    // Every problem names one of the files and a position in it.
                    let position = error.location.position;
                    prop_assert!(FILES.iter().any(|(name, _)| error.location.path == *name), "{error}");
                    prop_assert!(position.is_some_and(|p| p.line >= 1 && p.column >= 1), "{error}");
                }
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = Estate::from_files(&[EstateFile { path: "any.toml".into(), text }]);
    }
}
