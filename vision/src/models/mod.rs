//! Model files: which ones, where they are found, and their integrity check.

mod error;
mod locator;
pub mod manifest;

pub use error::ModelError;
pub(crate) use locator::verify_hash;
pub use locator::{LOCAL_MODEL_DIR, MODEL_DIR_ENV, ModelLocator};
pub use manifest::{ModelKind, ModelSpec};
