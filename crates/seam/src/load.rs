//! Loading the estate and the rules from folders, or the built-in ones.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use seam_engine::CompiledRules;
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
    let files = match dir {
        Some(dir) => read_rule_files(dir)?,
        None => embedded::rule_files(),
    };
    CompiledRules::compile(&files)
        .map(Arc::new)
        .map_err(|errors| {
            CliError::Rules(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })
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
