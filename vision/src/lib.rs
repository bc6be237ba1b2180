#![forbid(unsafe_code)]
#![warn(unnameable_types)]
#![doc = include_str!("../README.md")]

pub mod frame;
pub mod geometry;
pub mod models;

#[cfg(feature = "input")]
pub mod input;

#[cfg(feature = "pipeline")]
pub mod align;
#[cfg(feature = "pipeline")]
pub mod detect;
#[cfg(feature = "pipeline")]
pub mod embed;
#[cfg(feature = "pipeline")]
mod inference;
#[cfg(feature = "pipeline")]
pub mod liveness;
#[cfg(feature = "pipeline")]
pub mod mesh;
#[cfg(feature = "pipeline")]
pub mod quality;

pub use faceseal_protect::embedding::{EMBEDDING_DIM, Embedding};
pub use frame::RgbFrame;
pub use geometry::{BoundingBox, Landmarks, Point};
pub use models::{ModelError, ModelKind, ModelLocator};

#[cfg(feature = "pipeline")]
pub use inference::InferenceError;
