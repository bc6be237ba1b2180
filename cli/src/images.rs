//! Finding pictures: directories are walked recursively, list files read.

use std::path::{Path, PathBuf};

use crate::context::{CliError, CliResult};

const EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

pub fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Every picture below `dir`, sorted for reproducible runs.
pub fn walk(dir: &Path) -> CliResult<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| CliError::Io {
            path: d.display().to_string(),
            source,
        })?;
        for entry in entries {
            let path = entry
                .map_err(|source| CliError::Io {
                    path: d.display().to_string(),
                    source,
                })?
                .path();
            if path.is_dir() {
                stack.push(path);
            } else if is_image(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A directory (walked), a picture, or a text file listing pictures one per
/// line (relative lines resolved against `base`, or the list's folder).
pub fn resolve(arg: &Path, base: Option<&Path>) -> CliResult<Vec<PathBuf>> {
    if arg.is_dir() {
        return walk(arg);
    }
    if is_image(arg) {
        return Ok(vec![arg.to_path_buf()]);
    }
    let text = std::fs::read_to_string(arg).map_err(|source| CliError::Io {
        path: arg.display().to_string(),
        source,
    })?;
    let root = base
        .map(Path::to_path_buf)
        .unwrap_or_else(|| arg.parent().unwrap_or(Path::new(".")).to_path_buf());
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| root.join(l))
        .collect())
}
