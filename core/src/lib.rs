#![forbid(unsafe_code)]
#![doc = include_str!("../README.md")]

pub mod frame;
pub mod geometry;
pub mod models;

// The protection layer, re-exported under the paths the SDK has always used.
pub use faceseal_protect::{consent, embedding, seal, template};

#[cfg(feature = "input")]
pub mod input;

#[cfg(feature = "pipeline")]
pub mod align;
#[cfg(feature = "pipeline")]
pub mod analyzer;
#[cfg(feature = "pipeline")]
pub mod detect;
#[cfg(feature = "pipeline")]
pub mod embed;
#[cfg(feature = "pipeline")]
pub mod engine;
#[cfg(feature = "pipeline")]
pub mod enrolment;
#[cfg(feature = "pipeline")]
mod inference;
#[cfg(feature = "pipeline")]
pub mod liveness;
#[cfg(feature = "pipeline")]
pub mod mesh;
#[cfg(feature = "pipeline")]
pub mod quality;

pub use embedding::{EMBEDDING_DIM, Embedding};
pub use frame::RgbFrame;
pub use geometry::{BoundingBox, Landmarks, Point};
pub use models::{ModelError, ModelKind, ModelLocator};

#[cfg(feature = "pipeline")]
pub use analyzer::{AnalyzerConfig, FaceAnalysis, FaceAnalyzer, MatchDecision, PipelineError};
#[cfg(feature = "pipeline")]
pub use inference::InferenceError;
