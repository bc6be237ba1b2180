use thiserror::Error;

use crate::template::TemplateError;

/// Why an envelope could not be sealed, parsed or opened.
///
/// Messages name the failing rule or field, never its value: an envelope
/// carries tenant and subject ids, which must not reach logs through errors.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SealError {
    /// Fewer bytes than the fields announced so far require.
    #[error("envelope is truncated")]
    Truncated,
    /// More bytes than any envelope may have; nothing was parsed.
    #[error("envelope of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge { len: usize, max: usize },
    /// The bytes do not start with the envelope magic.
    #[error("not a sealed template (bad magic)")]
    BadMagic,
    /// An envelope format version this build does not know.
    #[error("unsupported envelope version {0}")]
    UnsupportedVersion(u8),
    /// A cipher suite this build does not know.
    #[error("unsupported envelope cipher suite {0}")]
    UnsupportedSuite(u8),
    /// A field of a received envelope breaks the format.
    #[error("malformed envelope field: {0}")]
    Malformed(ContextField),
    /// A field of a context to be sealed breaks the format's rules.
    #[error("invalid seal context field: {0}")]
    InvalidContext(ContextField),
    /// The envelope was sealed to another key than the one offered.
    #[error("envelope was sealed to a different key")]
    KeyIdMismatch,
    /// The recipient public key is a low-order point (no shared secret).
    #[error("recipient public key is not a valid X25519 key")]
    InvalidRecipientKey,
    /// Authentication failed: wrong key, or the envelope was altered.
    #[error("envelope failed to decrypt (wrong key or altered envelope)")]
    DecryptionFailed,
    /// The envelope opened, but its plaintext is not a valid template.
    #[error("sealed payload is not a valid template")]
    InvalidPayload(#[source] TemplateError),
}

/// The envelope field a [`SealError::Malformed`] or
/// [`SealError::InvalidContext`] refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContextField {
    ContextLength,
    TenantId,
    SubjectId,
    Purpose,
    ConsentRef,
    Challenge,
    CaptureDigest,
    CreatedAt,
    LivenessScore,
    QualityScore,
    LivenessLevel,
    TrailingBytes,
}

impl std::fmt::Display for ContextField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ContextField::ContextLength => "context length",
            ContextField::TenantId => "tenant id",
            ContextField::SubjectId => "subject id",
            ContextField::Purpose => "purpose",
            ContextField::ConsentRef => "consent reference",
            ContextField::Challenge => "challenge nonce",
            ContextField::CaptureDigest => "capture digest",
            ContextField::CreatedAt => "creation time",
            ContextField::LivenessLevel => "liveness level",
            ContextField::LivenessScore => "liveness score",
            ContextField::QualityScore => "quality score",
            ContextField::TrailingBytes => "trailing context bytes",
        })
    }
}
