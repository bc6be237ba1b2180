use thiserror::Error;

/// Why a template could not be made, decoded or compared.
///
/// Messages name the failing rule, never a subject, a tenant or a value that
/// came from the template itself.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// The tenant template secret is shorter or longer than allowed.
    #[error("template secret must be {min} to {max} bytes")]
    SecretLength { min: usize, max: usize },
    /// The subject id is empty or longer than allowed.
    #[error("subject id must be 1 to {max} bytes")]
    SubjectIdLength { max: usize },
    /// The number of hash functions or the window size is outside the supported range.
    #[error("template parameters out of range")]
    InvalidParameters,
    /// The embedding holds a NaN or an infinity, or is the zero vector.
    #[error("embedding is not finite or has zero norm")]
    DegenerateEmbedding,
    /// Fewer bytes than a template header.
    #[error("template bytes are truncated")]
    Truncated,
    /// The bytes do not start with the template magic.
    #[error("not a protected template (bad magic)")]
    BadMagic,
    /// A template format version this build does not know.
    #[error("unsupported template format version {0}")]
    UnsupportedVersion(u8),
    /// A protection scheme this build does not know.
    #[error("unsupported template scheme {0}")]
    UnsupportedScheme(u8),
    /// The payload length does not match the parameters in the header.
    #[error("template length {actual} does not match its parameters (expected {expected})")]
    InconsistentLength { expected: usize, actual: usize },
    /// A hash index is not below the window size.
    #[error("template hash index out of range")]
    IndexOutOfRange,
    /// The two templates were made with different schemes or parameters.
    #[error("templates use different schemes or parameters")]
    ParameterMismatch,
    /// The two templates were made under different key versions.
    #[error("templates use different key versions")]
    KeyVersionMismatch,
    /// Template parts that do not cover the hash functions once each, in
    /// order, under one key version and one parameter set; or a part asked
    /// for outside `0..m`.
    #[error("template parts do not cover the hash functions in order")]
    PartsMismatch,
    /// A decision threshold outside `0.0..=1.0`.
    #[error("match threshold must lie within 0 and 1")]
    InvalidThreshold,
}
