//! Why an engine request produced no result, and a flat classification of
//! it for the bindings' status codes.

use super::queue::QueueError;
use crate::analyzer::PipelineError;
use crate::consent::ConsentError;
use crate::enrolment::EnrolmentError;
use crate::input::InputError;
use crate::models::ModelError;
use crate::seal::SealError;
use crate::template::TemplateError;

/// Why an [`Engine`](super::Engine) call failed.
///
/// Messages never carry a subject id, a consent reference or pixel data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The queue is full: the device is under load, try again shortly.
    #[error("busy: too many requests are waiting, try again")]
    Busy,
    /// The deadline passed before the result was ready.
    #[error("the request's deadline passed")]
    Timeout,
    /// The request was cancelled by its caller.
    #[error("the request was cancelled")]
    Cancelled,
    /// The engine is being dropped.
    #[error("the engine is shutting down")]
    ShuttingDown,
    /// A request without a frame.
    #[error("no frame given")]
    NoFrames,
    /// More frames than the engine takes in one request.
    #[error("{given} frames given, at most {max} accepted")]
    TooManyFrames { given: usize, max: usize },
    /// The operation needs configuration the engine was built without.
    #[error("the engine has no {0} configured")]
    NotConfigured(&'static str),
    /// The configuration itself is unusable.
    #[error("invalid engine configuration: {0}")]
    InvalidConfig(&'static str),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Enrolment(#[from] EnrolmentError),
    #[error(transparent)]
    Consent(#[from] ConsentError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The worker threads could not be started.
    #[error("could not start the engine's worker threads")]
    Spawn(#[source] std::io::Error),
    /// A bug: a job panicked (the worker survived it).
    #[error("internal error")]
    Internal,
}

impl From<QueueError> for EngineError {
    fn from(error: QueueError) -> Self {
        match error {
            QueueError::Busy => Self::Busy,
            QueueError::Timeout => Self::Timeout,
            QueueError::Cancelled => Self::Cancelled,
            QueueError::ShuttingDown => Self::ShuttingDown,
            _ => Self::Internal,
        }
    }
}

/// The failure classes a caller acts on differently: what the C status codes
/// and the Kotlin/Swift exception types are made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Retry later.
    Busy,
    Timeout,
    Cancelled,
    ShuttingDown,
    /// A bad argument: frame count, subject id, threshold, secret length.
    InvalidArgument,
    /// No usable consent reference, or one for another purpose.
    Consent,
    /// The picture was refused by the input gate (format, size, buffer length).
    InvalidImage,
    NoFace,
    MultipleFaces,
    /// The face is too small, blurred, badly lit or turned away.
    LowQuality,
    /// Liveness refused the capture: a presentation attack is suspected.
    NotLive,
    /// A protected template is malformed, or does not fit the key.
    InvalidTemplate,
    /// The engine lacks a tenant key or template secret.
    NotConfigured,
    /// A model is missing or unusable.
    Model,
    /// A bug or an inference failure.
    Internal,
}

impl EngineError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Busy => ErrorKind::Busy,
            Self::Timeout => ErrorKind::Timeout,
            Self::Cancelled => ErrorKind::Cancelled,
            Self::ShuttingDown => ErrorKind::ShuttingDown,
            Self::NoFrames | Self::TooManyFrames { .. } => ErrorKind::InvalidArgument,
            Self::NotConfigured(_) => ErrorKind::NotConfigured,
            // A threshold, count or size out of range is the caller's argument.
            Self::InvalidConfig(_) => ErrorKind::InvalidArgument,
            Self::Input(_) => ErrorKind::InvalidImage,
            Self::Pipeline(e) => pipeline_kind(e),
            Self::Enrolment(e) => match e {
                EnrolmentError::Consent(_) => ErrorKind::Consent,
                EnrolmentError::Template(e) => template_kind(e),
                EnrolmentError::Capture(e) => pipeline_kind(e),
                EnrolmentError::Seal(_) => ErrorKind::InvalidArgument,
                EnrolmentError::NoFrames => ErrorKind::InvalidArgument,
            },
            Self::Consent(_) => ErrorKind::Consent,
            Self::Template(e) => template_kind(e),
            Self::Seal(_) => ErrorKind::InvalidArgument,
            Self::Model(_) => ErrorKind::Model,
            Self::Spawn(_) | Self::Internal => ErrorKind::Internal,
        }
    }
}

fn pipeline_kind(error: &PipelineError) -> ErrorKind {
    match error {
        PipelineError::Input(_) => ErrorKind::InvalidImage,
        PipelineError::Model(_) => ErrorKind::Model,
        PipelineError::NoFace => ErrorKind::NoFace,
        PipelineError::MultipleFaces { .. } => ErrorKind::MultipleFaces,
        PipelineError::Unalignable | PipelineError::Quality(_) => ErrorKind::LowQuality,
        PipelineError::NotLive(_) => ErrorKind::NotLive,
        _ => ErrorKind::Internal,
    }
}

fn template_kind(error: &TemplateError) -> ErrorKind {
    match error {
        TemplateError::SubjectIdLength { .. }
        | TemplateError::SecretLength { .. }
        | TemplateError::InvalidParameters
        | TemplateError::InvalidThreshold => ErrorKind::InvalidArgument,
        TemplateError::DegenerateEmbedding => ErrorKind::Internal,
        _ => ErrorKind::InvalidTemplate,
    }
}
