//! Finding model files and checking that they are the ones we expect.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::ModelError;
use super::manifest::ModelKind;

/// Environment variable holding model directories, separated like `PATH`.
pub const MODEL_DIR_ENV: &str = "FACESEAL_MODEL_DIR";
/// The directory searched after [`MODEL_DIR_ENV`]'s, relative to the
/// working directory: where the repository keeps its bundled models.
pub const LOCAL_MODEL_DIR: &str = "models";

/// Where model bytes come from: directories searched in order, and bytes handed
/// over directly (a mobile app ships models as assets and reads them itself).
///
/// Whatever the source, every model is checked against its pinned SHA-256
/// before it is parsed.
#[derive(Default, Clone)]
pub struct ModelLocator {
    dirs: Vec<PathBuf>,
    in_memory: HashMap<ModelKind, Vec<u8>>,
}

impl std::fmt::Debug for ModelLocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelLocator")
            .field("dirs", &self.dirs)
            .field("in_memory", &self.in_memory.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ModelLocator {
    pub fn new() -> Self {
        Self::default()
    }

    /// A locator over the directories named by [`MODEL_DIR_ENV`], if set.
    pub fn from_env() -> Self {
        Self::new().with_env_dirs()
    }

    /// Adds a directory to search (after those already added).
    pub fn with_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dirs.push(dir.into());
        self
    }

    /// The search every front end uses by default: the directories named by
    /// [`MODEL_DIR_ENV`], then [`LOCAL_MODEL_DIR`] (relative to the working
    /// directory), as `models/README.md` says.
    pub fn with_default_dirs(self) -> Self {
        self.with_env_dirs().with_dir(LOCAL_MODEL_DIR)
    }

    /// Adds the directories named by [`MODEL_DIR_ENV`].
    pub fn with_env_dirs(mut self) -> Self {
        if let Some(value) = std::env::var_os(MODEL_DIR_ENV) {
            self.dirs
                .extend(std::env::split_paths(&value).filter(|p| !p.as_os_str().is_empty()));
        }
        self
    }

    /// Supplies a model's bytes directly; they take precedence over directories.
    pub fn with_bytes(mut self, kind: ModelKind, bytes: Vec<u8>) -> Self {
        self.in_memory.insert(kind, bytes);
        self
    }

    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// Reads a model and checks its hash.
    pub fn read(&self, kind: ModelKind) -> Result<Vec<u8>, ModelError> {
        let spec = kind.spec();
        if let Some(bytes) = self.in_memory.get(&kind) {
            verify_hash(kind, bytes)?;
            return Ok(bytes.clone());
        }
        let path = self.find(kind).ok_or_else(|| ModelError::Missing {
            file: spec.file_name,
            searched: self.dirs.clone(),
            how_to_obtain: spec.how_to_obtain,
        })?;
        let bytes = std::fs::read(&path).map_err(|source| ModelError::Unreadable {
            file: spec.file_name,
            source,
        })?;
        verify_hash(kind, &bytes)?;
        Ok(bytes)
    }

    /// The first directory holding the model's file, if any.
    pub fn find(&self, kind: ModelKind) -> Option<PathBuf> {
        let name = kind.spec().file_name;
        self.dirs
            .iter()
            .map(|d| d.join(name))
            .find(|p| Path::is_file(p))
    }
}

/// Refuses bytes whose SHA-256 differs from the pinned one.
pub fn verify_hash(kind: ModelKind, bytes: &[u8]) -> Result<(), ModelError> {
    let spec = kind.spec();
    let actual = hex::encode(Sha256::digest(bytes));
    if actual != spec.sha256 {
        return Err(ModelError::HashMismatch {
            file: spec.file_name,
            expected: spec.sha256,
            actual,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_model_names_file_and_directories() {
        let dir = std::env::temp_dir().join("faceseal-no-models-here");
        let err = ModelLocator::new()
            .with_dir(&dir)
            .read(ModelKind::LivenessV2)
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ModelError::Missing { .. }));
        assert!(text.contains("minifasnet_v2_2.7_80x80.onnx"), "{text}");
        assert!(text.contains("faceseal-no-models-here"), "{text}");
        assert!(text.contains("Silent-Face-Anti-Spoofing"), "{text}");
    }

    #[test]
    fn no_directory_says_how_to_configure() {
        let err = ModelLocator::new().read(ModelKind::Detector).unwrap_err();
        assert!(err.to_string().contains(MODEL_DIR_ENV));
    }

    #[test]
    fn in_memory_bytes_are_hash_checked() {
        let err = ModelLocator::new()
            .with_bytes(ModelKind::Embedder, b"not a model".to_vec())
            .read(ModelKind::Embedder)
            .unwrap_err();
        assert!(matches!(
            err,
            ModelError::HashMismatch {
                file: "dlib_resnet_v1.onnx",
                ..
            }
        ));
    }
}
