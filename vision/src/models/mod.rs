//! Model files: which ones, where they are found, and their integrity check.

mod error;
mod locator;
pub mod manifest;

pub use error::ModelError;
pub use locator::{LOCAL_MODEL_DIR, MODEL_DIR_ENV, ModelLocator, verify_hash};
pub use manifest::{ModelKind, ModelSpec};
