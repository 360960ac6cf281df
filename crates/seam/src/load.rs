//! Loading the estate and the rules from folders, or the built-in ones.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use seam_engine::CompiledRules;
use seam_engine::tuning::Tuning;
use seam_estate::Estate;
use seam_rules::SourceFile;

use crate::embedded;
use crate::error::CliError;

/// Maximum size of one rule file: a rule pack is text written by people.
pub const MAX_RULE_FILE_BYTES: u64 = 1 << 20;

pub fn estate(dir: Option<&Path>) -> Result<Arc<Estate>, CliError> {
    let result = match dir {
        Some(dir) => Estate::load_dir(dir),
        None => Estate::from_files(&embedded::estate_files()),
    };
    result
        .map(Arc::new)
        .map_err(|errors| estate_errors(&errors))
}

/// Every problem of an estate, one a line, as the error the command exits with.
pub fn estate_errors(errors: &[seam_estate::EstateError]) -> CliError {
    CliError::Estate(
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

pub fn rules(dir: Option<&Path>) -> Result<Arc<CompiledRules>, CliError> {
    rules_with_digest(dir).map(|(rules, _)| rules)
}

/// The rules, and a SHA-256 of the pack they came from (each file's path and text, in order,
/// and the tuning), for the audit log: a changed rule shows between two starts.
pub fn rules_with_digest(dir: Option<&Path>) -> Result<(Arc<CompiledRules>, String), CliError> {
    let pack = match dir {
        Some(dir) => read_pack(dir)?,
        None => Pack {
            files: embedded::rule_files(),
            tuning: Tuning::default(),
        },
    };
    let compiled = CompiledRules::compile(&pack.files).map_err(|errors| {
        CliError::Rules(
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    let digest = pack_digest(&pack);
    compiled
        .with_tuning(pack.tuning)
        .map(|rules| (Arc::new(rules), digest))
        .map_err(|problems| CliError::Rules(format!("{PACK_FILE}: {}", problems.join("; "))))
}

fn pack_digest(pack: &Pack) -> String {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    for file in &pack.files {
        // Lengths first, so that no two packs hash the same by moving bytes between fields.
        for part in [file.path.as_bytes(), file.text.as_bytes()] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
    }
    hasher.update(format!("{:?}", pack.tuning).as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The file that makes a rules folder a layer over others, and tunes the result.
pub const PACK_FILE: &str = "pack.toml";
/// The name of the built-in pack in `extends`.
pub const DEFAULT_PACK: &str = "default";
/// Most layers under one another.
const MAX_LAYERS: usize = 8;

/// A rule pack: its files, after layering, and its tuning.
#[derive(Debug, Default)]
pub struct Pack {
    pub files: Vec<SourceFile>,
    pub tuning: Tuning,
}

/// `pack.toml`: the layers beneath this folder, and the tuning.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PackFile {
    /// Layers beneath, lowest first: `default` (the built-in pack) or folders, relative to
    /// this one.
    #[serde(default)]
    extends: Vec<String>,
    #[serde(default)]
    disable: Vec<seam_engine::tuning::Disable>,
    #[serde(default)]
    exception: Vec<seam_engine::tuning::Exception>,
}

/// Reads a rules folder as a pack. Without a `pack.toml` the folder is the whole pack. With
/// one, the layers it `extends` come first and a file of this folder replaces the file of the
/// same name beneath (a rule is changed by copying its file and editing it); the tunings of
/// every layer add up.
pub fn read_pack(dir: &Path) -> Result<Pack, CliError> {
    let mut pack = Pack::default();
    read_layer(dir, &mut pack, &mut Vec::new())?;
    Ok(pack)
}

fn read_layer(dir: &Path, pack: &mut Pack, stack: &mut Vec<PathBuf>) -> Result<(), CliError> {
    let rules_error = |message: String| CliError::Rules(message);
    if stack.len() >= MAX_LAYERS {
        return Err(rules_error(format!(
            "{}: more than {MAX_LAYERS} layers of rule folders",
            dir.display()
        )));
    }
    let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    if stack.contains(&canonical) {
        return Err(rules_error(format!(
            "{}: the rule folders extend one another in a circle",
            dir.display()
        )));
    }
    stack.push(canonical);
    let pack_path = dir.join(PACK_FILE);
    let layer = if dir.is_dir() && pack_path.is_file() {
        let text = std::fs::read_to_string(&pack_path).map_err(|source| CliError::Io {
            path: pack_path.display().to_string(),
            source,
        })?;
        toml::from_str::<PackFile>(&text)
            .map_err(|e| rules_error(format!("{}: {e}", pack_path.display())))?
    } else {
        PackFile::default()
    };
    for base in &layer.extends {
        if base == DEFAULT_PACK {
            replace_by_name(pack, embedded::rule_files());
        } else {
            read_layer(&dir.join(base), pack, stack)?;
        }
    }
    replace_by_name(pack, read_rule_files(dir)?);
    pack.tuning.disabled.extend(layer.disable);
    pack.tuning.exceptions.extend(layer.exception);
    stack.pop();
    Ok(())
}

/// Adds a layer's files, each replacing the file of the same name beneath, in place.
fn replace_by_name(pack: &mut Pack, files: Vec<SourceFile>) {
    for file in files {
        let name = Path::new(&file.path).file_name().map(ToOwned::to_owned);
        match pack
            .files
            .iter_mut()
            .find(|known| Path::new(&known.path).file_name().map(ToOwned::to_owned) == name)
        {
            Some(slot) => *slot = file,
            None => pack.files.push(file),
        }
    }
}

/// Every `.yml`/`.yaml` file below `path` (or `path` itself), sorted, each within the size limit.
pub fn read_rule_files(path: &Path) -> Result<Vec<SourceFile>, CliError> {
    let io = |path: &Path, source| CliError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut folders = Vec::new();
    if path.is_file() {
        paths.push(path.to_path_buf());
    } else {
        folders.push(path.to_path_buf());
    }
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).map_err(|e| io(&folder, e))? {
            let path = entry.map_err(|e| io(&folder, e))?.path();
            if path.is_dir() {
                folders.push(path);
            } else if path
                .extension()
                .is_some_and(|ext| ext == "yml" || ext == "yaml")
            {
                paths.push(path);
            }
        }
    }
    paths.sort();
    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let size = std::fs::metadata(&path).map_err(|e| io(&path, e))?.len();
        if size > MAX_RULE_FILE_BYTES {
            return Err(CliError::Rules(format!(
                "{}: the file is {size} bytes, more than the limit of {MAX_RULE_FILE_BYTES}",
                path.display()
            )));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        files.push(SourceFile {
            path: path.display().to_string(),
            text,
        });
    }
    Ok(files)
}

#[cfg(test)]
mod digest_tests {
    use super::*;

    #[test]
    fn the_pack_digest_is_stable_and_changes_with_any_rule() {
        let pack = || Pack {
            files: embedded::rule_files(),
            tuning: Tuning::default(),
        };
        assert_eq!(pack_digest(&pack()), pack_digest(&pack()));
        assert_eq!(pack_digest(&pack()).len(), 64);
        let mut changed = pack();
        if let Some(file) = changed.files.first_mut() {
            file.text.push(' ');
        }
        assert_ne!(pack_digest(&changed), pack_digest(&pack()));
        let (_, digest) = rules_with_digest(None).unwrap();
        assert_eq!(digest, pack_digest(&pack()));
    }
}
