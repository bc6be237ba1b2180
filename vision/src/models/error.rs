use std::path::PathBuf;

/// Why a model could not be made ready.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    #[error(
        "model file {file} not found (looked in: {}); {how_to_obtain}",
        display_dirs(searched)
    )]
    Missing {
        file: &'static str,
        searched: Vec<PathBuf>,
        how_to_obtain: &'static str,
    },
    #[error("model file {file} could not be read: {source}")]
    Unreadable {
        file: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("model file {file} is not the expected file: sha256 {actual}, expected {expected}")]
    HashMismatch {
        file: &'static str,
        expected: &'static str,
        actual: String,
    },
    #[error("model file {file} could not be prepared for inference: {reason}")]
    Invalid { file: &'static str, reason: String },
}

fn display_dirs(dirs: &[PathBuf]) -> String {
    if dirs.is_empty() {
        return "no model directory configured; set FACESEAL_MODEL_DIR or pass one".to_owned();
    }
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
