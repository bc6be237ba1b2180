#![forbid(unsafe_code)]

pub mod embedding;
pub mod frame;

pub use embedding::{EMBEDDING_DIM, Embedding};
pub use frame::RgbFrame;
