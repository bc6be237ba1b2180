#![forbid(unsafe_code)]
#![doc = include_str!("../README.md")]

// The protection layer, re-exported: the SDK's results are templates and
// sealed envelopes, so its users need these types with it.
pub use faceseal_protect::{consent, embedding, seal, template};
// The vision layer, under the paths the SDK's own modules use; users reach it
// as `faceseal_vision`, and the SDK re-exports at its root only the types its
// API takes and returns.
use faceseal_vision::{align, detect, embed, frame, input, liveness, models, quality};

pub mod analyzer;
pub mod engine;
pub mod enrolment;

pub use faceseal_protect::embedding::{EMBEDDING_DIM, Embedding};
pub use faceseal_vision::{
    BoundingBox, InferenceError, Landmarks, ModelError, ModelKind, ModelLocator, Point, RgbFrame,
};

pub use analyzer::{AnalyzerConfig, FaceAnalysis, FaceAnalyzer, MatchDecision, PipelineError};
