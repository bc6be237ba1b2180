//! Template protection: a keyed, many-to-one, renewable transform of a face
//! embedding into a cancelable template, compared only in the protected domain.
//!
//! The scheme is Index-of-Max hashing with Gaussian random projections
//! (IoM-GRP) of Jin, Hwang, Lai, Kim and Teoh, "Ranking-Based Locality
//! Sensitive Hashing-Enabled Cancelable Biometrics: Index-of-Max Hashing",
//! IEEE TIFS 13(2), 2018. Each of `m` hash functions projects the normalised
//! embedding on `q` Gaussian random vectors and keeps only the index of the
//! largest projection; the template is those `m` indices, and the score of
//! two templates is the fraction of equal indices.
//!
//! The projections come from a [`TemplateKey`] derived with HKDF-SHA256 from
//! the tenant's [`TemplateSecret`], the subject id and a key version, so a
//! face enrolled under two tenants or two key versions gives unlinkable
//! templates, and bumping the version revokes a template. The byte-level
//! algorithm, parameters and residual risks are in `docs/template.md`.
//!
//! ```
//! use faceseal_protect::Embedding;
//! use faceseal_protect::template::{IomParams, MatchThreshold, TemplateKey, TemplateSecret};
//!
//! let secret = TemplateSecret::from_bytes(&[0x5a; 32]).unwrap();
//! let key = TemplateKey::derive(&secret, "subject-1", 1, IomParams::DEFAULT).unwrap();
//! let mut values = [0.0f32; 128];
//! values.iter_mut().enumerate().for_each(|(i, v)| *v = ((i * 7919) % 13) as f32 - 6.0);
//! let enrolled = key.protect(Embedding::from_array(values)).unwrap();
//! let probe = key.protect(Embedding::from_array(values)).unwrap();
//! let score = enrolled.compare(&probe).unwrap();
//! assert!(score.is_match(MatchThreshold::DEFAULT));
//! ```

#[cfg(feature = "evaluation")]
pub mod attack;
mod error;
mod format;
mod iom;
mod key;
#[cfg(feature = "evaluation")]
pub mod metrics;
mod params;
mod parts;

pub use error::TemplateError;
pub use format::{
    MAX_TEMPLATE_LEN, ProtectedTemplate, TEMPLATE_FORMAT_VERSION, TEMPLATE_HEADER_LEN,
    TEMPLATE_MAGIC, TemplateScore, compare,
};
pub use key::{MAX_SUBJECT_ID_LEN, TemplateKey, TemplateSecret};
#[cfg(feature = "evaluation")]
pub use metrics::{cross_key_score, linkability_dsys, linkability_dsys_with};
pub use params::{IomParams, MAX_HASHES, MAX_WINDOW, MatchThreshold, TemplateScheme};
pub use parts::TemplatePart;

use crate::embedding::Embedding;
