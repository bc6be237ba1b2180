//! The protection layer of faceseal: the embedding type, the irreversible and
//! renewable template transform, the sealed envelope that carries a template
//! off the device, consent, and the nonces that bind an operation to its
//! server challenge.
//!
//! It holds no model runtime and no image code: it is everything a server
//! needs, and the layer the device's pipeline (`faceseal-core`) builds on.
#![forbid(unsafe_code)]

pub mod consent;
pub mod embedding;
pub mod seal;
pub mod template;

pub use embedding::{EMBEDDING_DIM, Embedding};
