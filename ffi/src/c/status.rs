//! Status codes of every fallible C function.

use faceseal_core::engine::{EngineError, ErrorKind};

/// What a C function did. `FACESEAL_STATUS_OK` is zero; every other value
/// has a message in `faceseal_last_error_message()`. New codes may be added
/// at the end: treat an unknown one as an error.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacesealStatus {
    Ok = 0,
    /// A required pointer argument was NULL.
    NullPointer = 1,
    /// An argument is out of range: a count, a size, a threshold, a key length.
    InvalidArgument = 2,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = 3,
    /// The queue is full: try again shortly.
    Busy = 4,
    /// The request's deadline passed.
    Timeout = 5,
    /// The request was cancelled.
    Cancelled = 6,
    /// The engine is being freed.
    ShuttingDown = 7,
    /// No usable consent reference, or one for another purpose.
    Consent = 8,
    /// The picture was refused: format, size, or a raw buffer that does not
    /// fit its width, height, stride and format.
    InvalidImage = 9,
    NoFace = 10,
    MultipleFaces = 11,
    /// The face is too small, blurred, badly lit or turned away.
    LowQuality = 12,
    /// Liveness refused the capture.
    NotLive = 13,
    /// A protected template is malformed, or does not fit the subject's key.
    InvalidTemplate = 14,
    /// The engine lacks a tenant key or template secret the call needs.
    NotConfigured = 15,
    /// A model file is missing or not the expected one.
    Model = 16,
    /// A bug in the library; the message says more.
    Internal = 17,
    /// A panic was caught at the boundary: a bug in the library.
    Panic = 18,
}

impl From<ErrorKind> for FacesealStatus {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Busy => Self::Busy,
            ErrorKind::Timeout => Self::Timeout,
            ErrorKind::Cancelled => Self::Cancelled,
            ErrorKind::ShuttingDown => Self::ShuttingDown,
            ErrorKind::InvalidArgument => Self::InvalidArgument,
            ErrorKind::Consent => Self::Consent,
            ErrorKind::InvalidImage => Self::InvalidImage,
            ErrorKind::NoFace => Self::NoFace,
            ErrorKind::MultipleFaces => Self::MultipleFaces,
            ErrorKind::LowQuality => Self::LowQuality,
            ErrorKind::NotLive => Self::NotLive,
            ErrorKind::InvalidTemplate => Self::InvalidTemplate,
            ErrorKind::NotConfigured => Self::NotConfigured,
            ErrorKind::Model => Self::Model,
            _ => Self::Internal,
        }
    }
}

impl From<&EngineError> for FacesealStatus {
    fn from(error: &EngineError) -> Self {
        error.kind().into()
    }
}
