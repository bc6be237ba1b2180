//! Evaluation code for faceseal's command-line tool, kept out of the SDK's
//! libraries and the server: verification and presentation-attack metrics,
//! and the stolen-key inversion of protected templates with the
//! protected-domain measures (cross-key score, linkability).
#![forbid(unsafe_code)]

pub mod metrics;

/// The stolen-key inversion of an IoM template (`docs/template.md`).
pub use faceseal_protect::template::attack;
/// Protected-domain measures: cross-key score and linkability.
pub use faceseal_protect::template::metrics as template_metrics;
