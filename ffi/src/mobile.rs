//! The uniffi surface for Kotlin and Swift: the engine's operations with
//! byte arrays (`ByteArray` / `Data`) for pictures and templates, and one
//! error type (`FacesealException` in Kotlin, `FacesealError` in Swift)
//! whose cases are the failures an app handles differently.

use std::sync::Arc;
use std::time::Duration;

use faceseal_core::engine::{
    CancelToken, CaptureTerms, Engine, EngineConfig, EngineError, ErrorKind, FrameInput, RawInput,
    RequestOptions, TemplateConfig, TenantConfig, TimedInput,
};
use faceseal_core::seal::{ChallengeNonce, TenantPublicKey};
use faceseal_core::template::{IomParams, MatchThreshold, ProtectedTemplate, TemplateSecret};
use faceseal_vision::input::{RawPixelFormat, Rotation};
use faceseal_vision::models::ModelLocator;
use zeroize::Zeroizing;

mod capture;

use capture::{CaptureError as CaptureFailure, SecurityLevel};

/// Why a call failed. Messages never hold a subject id, a consent
/// reference or pixel data.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
#[non_exhaustive]
pub enum FacesealError {
    /// The queue is full: try again shortly.
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Cancelled(String),
    #[error("{0}")]
    ShuttingDown(String),
    /// A count, size, key length or threshold is out of range.
    #[error("{0}")]
    InvalidArgument(String),
    /// No usable consent reference, or one for another purpose.
    #[error("{0}")]
    Consent(String),
    /// The picture was refused: format, size or raw buffer layout.
    #[error("{0}")]
    InvalidImage(String),
    #[error("{0}")]
    NoFace(String),
    #[error("{0}")]
    MultipleFaces(String),
    /// Too small, blurred, badly lit or turned away.
    #[error("{0}")]
    LowQuality(String),
    /// Liveness refused the capture.
    #[error("{0}")]
    NotLive(String),
    /// A protected template is malformed or does not fit the subject's key.
    #[error("{0}")]
    InvalidTemplate(String),
    /// The engine lacks the tenant key or template secret the call needs.
    #[error("{0}")]
    NotConfigured(String),
    /// A model is missing or not the expected file.
    #[error("{0}")]
    Model(String),
    /// A bug in the library.
    #[error("{0}")]
    Internal(String),
}

impl From<EngineError> for FacesealError {
    fn from(error: EngineError) -> Self {
        let message = error.to_string();
        match error.kind() {
            ErrorKind::Busy => Self::Busy(message),
            ErrorKind::Timeout => Self::Timeout(message),
            ErrorKind::Cancelled => Self::Cancelled(message),
            ErrorKind::ShuttingDown => Self::ShuttingDown(message),
            ErrorKind::InvalidArgument => Self::InvalidArgument(message),
            ErrorKind::Consent => Self::Consent(message),
            ErrorKind::InvalidImage => Self::InvalidImage(message),
            ErrorKind::NoFace => Self::NoFace(message),
            ErrorKind::MultipleFaces => Self::MultipleFaces(message),
            ErrorKind::LowQuality => Self::LowQuality(message),
            ErrorKind::NotLive => Self::NotLive(message),
            ErrorKind::InvalidTemplate => Self::InvalidTemplate(message),
            ErrorKind::NotConfigured => Self::NotConfigured(message),
            ErrorKind::Model => Self::Model(message),
            _ => Self::Internal(message),
        }
    }
}

fn invalid(message: &str) -> FacesealError {
    FacesealError::InvalidArgument(message.to_owned())
}

/// Pixel layout of a raw camera frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PixelFormat {
    Rgb,
    Bgr,
    Rgba,
    /// iOS `kCVPixelFormatType_32BGRA`.
    Bgra,
    /// Android camera NV21.
    Nv21,
}

/// A picture: JPEG/PNG file bytes, or a raw camera frame.
#[derive(Clone, uniffi::Enum)]
pub enum Frame {
    Encoded {
        bytes: Vec<u8>,
    },
    Raw {
        data: Vec<u8>,
        width: u32,
        height: u32,
        /// Bytes from one row to the next (of the Y plane for NV21).
        stride: u32,
        format: PixelFormat,
        /// Clockwise rotation making the frame upright: 0, 90, 180 or 270.
        rotation_degrees: i32,
    },
}

/// Pixels are a face: `Debug` shows sizes only.
impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Frame::Encoded { bytes } => write!(f, "Frame::Encoded({} bytes)", bytes.len()),
            Frame::Raw {
                data,
                width,
                height,
                ..
            } => write!(f, "Frame::Raw({} bytes, {width}x{height})", data.len()),
        }
    }
}

impl Frame {
    /// Moves the frame's bytes into the engine's input, which wipes them
    /// when the request is done. A frame refused here is wiped at once.
    fn into_input(self) -> Result<FrameInput, FacesealError> {
        match self {
            Frame::Encoded { bytes } => Ok(FrameInput::Encoded(Zeroizing::new(bytes))),
            Frame::Raw {
                data,
                width,
                height,
                stride,
                format,
                rotation_degrees,
            } => {
                let data = Zeroizing::new(data);
                let rotation = Rotation::from_degrees(rotation_degrees)
                    .ok_or_else(|| invalid("rotation must be a multiple of 90 degrees"))?;
                let format = match format {
                    PixelFormat::Rgb => RawPixelFormat::Rgb,
                    PixelFormat::Bgr => RawPixelFormat::Bgr,
                    PixelFormat::Rgba => RawPixelFormat::Rgba,
                    PixelFormat::Bgra => RawPixelFormat::Bgra,
                    PixelFormat::Nv21 => RawPixelFormat::Nv21,
                };
                Ok(FrameInput::Raw(RawInput {
                    data,
                    width,
                    height,
                    stride: stride as usize,
                    format,
                    rotation,
                }))
            }
        }
    }
}

/// How to build a [`FaceEngine`].
#[derive(uniffi::Record)]
pub struct EngineSettings {
    /// Directories searched for model files, in order.
    pub model_dirs: Vec<String>,
    /// The tenant sealed templates are encrypted to (needed by enrol and probe).
    pub tenant_id: Option<String>,
    /// The tenant's 32-byte X25519 public key.
    pub tenant_public_key: Option<Vec<u8>>,
    /// The tenant's template secret, 32 to 1024 bytes (needed by every capture).
    pub template_secret: Option<Vec<u8>>,
    pub key_version: u32,
    /// The bundle's template parameters (`template.m`, `template.q`); `None`
    /// takes the defaults (1024 hashes of window 8).
    #[uniffi(default = None)]
    pub template_m: Option<u16>,
    #[uniffi(default = None)]
    pub template_q: Option<u16>,
    /// Worker threads; 0 takes the default (1).
    pub workers: u32,
    /// Requests that may wait; 0 takes the default (4).
    pub queue_depth: u32,
    /// Deadline of each call in milliseconds; 0 takes the default (10 s).
    pub timeout_ms: u32,
    /// Live probability a face needs; `None` takes the default.
    pub liveness_threshold: Option<f32>,
    /// Protected-domain score a local comparison needs; `None` takes the default.
    pub match_threshold: Option<f64>,
}

/// Secrets: `Debug` shows which settings are present, never their values.
impl std::fmt::Debug for EngineSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineSettings")
            .field("model_dirs", &self.model_dirs)
            .field("tenant_public_key", &self.tenant_public_key.is_some())
            .field("template_secret", &self.template_secret.is_some())
            .field("key_version", &self.key_version)
            .finish_non_exhaustive()
    }
}

impl EngineSettings {
    fn into_config(self) -> Result<EngineConfig, FacesealError> {
        let models = self
            .model_dirs
            .into_iter()
            .fold(ModelLocator::new(), |locator, dir| locator.with_dir(dir));
        let mut config = EngineConfig::new(models);
        match (self.tenant_id, self.tenant_public_key) {
            (Some(tenant_id), Some(key)) => {
                let key: [u8; 32] = key
                    .try_into()
                    .map_err(|_| invalid("tenant public key must be 32 bytes"))?;
                config.tenant = Some(TenantConfig {
                    tenant_id,
                    public_key: TenantPublicKey::from_bytes(key),
                });
            }
            (None, None) => {}
            _ => return Err(invalid("tenant id and public key go together")),
        }
        if let Some(mut secret) = self.template_secret {
            let parsed = TemplateSecret::from_bytes(&secret);
            zeroize::Zeroize::zeroize(&mut secret);
            let secret = parsed.map_err(|e| FacesealError::InvalidArgument(e.to_string()))?;
            let mut template = TemplateConfig::new(secret, self.key_version);
            if self.template_m.is_some() || self.template_q.is_some() {
                let default = IomParams::DEFAULT;
                template.params = IomParams::new(
                    self.template_m.unwrap_or(default.hashes()),
                    self.template_q.unwrap_or(default.window()),
                )
                .map_err(EngineError::from)?;
            }
            config.template = Some(template);
        }
        if self.workers > 0 {
            config.workers = self.workers as usize;
        }
        if self.queue_depth > 0 {
            config.queue_depth = self.queue_depth as usize;
        }
        if self.timeout_ms > 0 {
            config.default_deadline = Duration::from_millis(u64::from(self.timeout_ms));
        }
        // Ranges are the core's to check (`Engine::new` refuses 0 and NaN).
        if let Some(threshold) = self.liveness_threshold {
            config.analyzer.liveness_threshold = threshold;
        }
        if let Some(threshold) = self.match_threshold {
            config.match_threshold = MatchThreshold::new(threshold)
                .map_err(|e| FacesealError::InvalidArgument(e.to_string()))?;
        }
        Ok(config)
    }
}

/// A detected face, in picture pixels.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FaceBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
    pub score: f32,
}

/// A liveness decision.
#[derive(Debug, Clone, uniffi::Record)]
pub struct Liveness {
    pub score: f32,
    pub threshold: f32,
    pub live: bool,
}

/// An enrolment: the envelope for the tenant's server and the protected
/// template for kiosk mode.
#[derive(Clone, uniffi::Record)]
pub struct SealedEnrolment {
    pub sealed: Vec<u8>,
    pub template: Vec<u8>,
    pub liveness_score: f32,
    pub quality_score: f32,
}

impl std::fmt::Debug for SealedEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedEnrolment")
            .field("sealed_len", &self.sealed.len())
            .field("template_len", &self.template.len())
            .finish_non_exhaustive()
    }
}

/// The outcome of a local comparison.
#[derive(Debug, Clone, uniffi::Record)]
pub struct LocalMatch {
    pub score: f64,
    pub threshold: f64,
    pub matched: bool,
    pub liveness_score: f32,
}

/// Cancels calls from another thread.
#[derive(Debug, Default, uniffi::Object)]
pub struct CancelHandle {
    token: CancelToken,
}

#[uniffi::export]
impl CancelHandle {
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Every call using this handle returns `Cancelled` at once. Permanent.
    pub fn cancel(&self) {
        self.token.cancel();
    }
}

/// The SDK: models loaded once, calls served by a bounded queue. Share one.
#[derive(Debug, uniffi::Object)]
pub struct FaceEngine {
    engine: Arc<Engine>,
}

fn options(cancel: Option<Arc<CancelHandle>>) -> RequestOptions {
    RequestOptions {
        timeout: None,
        cancel: cancel.map(|c| c.token.clone()),
    }
}

/// A frame of a one-shot burst with its capture time (milliseconds of any
/// monotonic clock, increasing along the burst).
#[derive(Clone, uniffi::Record)]
pub struct TimedFrame {
    pub frame: Frame,
    pub timestamp_ms: u64,
}

impl std::fmt::Debug for TimedFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimedFrame")
            .field("timestamp_ms", &self.timestamp_ms)
            .finish_non_exhaustive()
    }
}

/// Converts every frame, even after one is refused, so each frame's bytes
/// end up wiped.
fn inputs(frames: Vec<TimedFrame>) -> Result<Vec<TimedInput>, FacesealError> {
    let mut converted = Vec::with_capacity(frames.len());
    let mut refused = None;
    for f in frames {
        match f.frame.into_input() {
            Ok(input) => converted.push(TimedInput::new(input, f.timestamp_ms)),
            Err(e) => {
                refused.get_or_insert(e);
            }
        }
    }
    refused.map_or(Ok(converted), Err)
}

/// The one-shot terms: the burst is decided at the tenant's level.
fn terms(
    subject_id: String,
    consent_ref: &str,
    challenge: Vec<u8>,
    level: SecurityLevel,
) -> Result<CaptureTerms, FacesealError> {
    let challenge: [u8; 32] = challenge
        .try_into()
        .map_err(|_| invalid("challenge must be 32 bytes"))?;
    Ok(CaptureTerms::new(
        subject_id,
        Some(consent_ref),
        ChallengeNonce::from_bytes(challenge),
    )
    .with_level(level.into()))
}

#[uniffi::export]
impl FaceEngine {
    /// Loads the models and starts the workers.
    #[uniffi::constructor]
    pub fn new(settings: EngineSettings) -> Result<Arc<Self>, FacesealError> {
        let engine = Arc::new(Engine::new(settings.into_config()?)?);
        Ok(Arc::new(Self { engine }))
    }

    /// Every face in the frame, most confident first.
    #[uniffi::method(default(cancel = None))]
    pub fn detect(
        &self,
        frame: Frame,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<Vec<FaceBox>, FacesealError> {
        let faces = self.engine.detect(frame.into_input()?, &options(cancel))?;
        Ok(faces
            .iter()
            .map(|f| FaceBox {
                x1: f.bbox.x1,
                y1: f.bbox.y1,
                x2: f.bbox.x2,
                y2: f.bbox.y2,
                score: f.score,
            })
            .collect())
    }

    /// Liveness of the one face in the frame.
    #[uniffi::method(default(cancel = None))]
    pub fn check_liveness(
        &self,
        frame: Frame,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<Liveness, FacesealError> {
        let decision = self
            .engine
            .check_liveness(frame.into_input()?, &options(cancel))?;
        Ok(Liveness {
            score: decision.score,
            threshold: decision.threshold,
            live: decision.live,
        })
    }

    /// Enrols a subject from a burst of timed frames (at least 2), sealed
    /// with the server's 32-byte challenge; the burst liveness layer decides.
    #[uniffi::method(default(cancel = None))]
    pub fn enroll(
        &self,
        frames: Vec<TimedFrame>,
        subject_id: String,
        consent_ref: String,
        challenge: Vec<u8>,
        level: SecurityLevel,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<SealedEnrolment, CaptureFailure> {
        let terms = terms(subject_id, &consent_ref, challenge, level)?;
        let enrolment = self
            .engine
            .enroll(inputs(frames)?, &terms, &options(cancel))
            .map_err(CaptureFailure::from)?;
        Ok(SealedEnrolment {
            template: enrolment.template.to_bytes().to_vec(),
            sealed: enrolment.sealed.into_bytes(),
            liveness_score: enrolment.decision.score,
            quality_score: enrolment.quality_score,
        })
    }

    /// A verification probe from a burst, sealed with the server's 32-byte challenge.
    #[uniffi::method(default(cancel = None))]
    pub fn probe(
        &self,
        frames: Vec<TimedFrame>,
        subject_id: String,
        consent_ref: String,
        challenge: Vec<u8>,
        level: SecurityLevel,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<Vec<u8>, CaptureFailure> {
        let terms = terms(subject_id, &consent_ref, challenge, level)?;
        let probe = self
            .engine
            .probe(inputs(frames)?, &terms, &options(cancel))
            .map_err(CaptureFailure::from)?;
        Ok(probe.sealed.into_bytes())
    }

    /// Kiosk mode: compares a live burst with a template from [`Self::enroll`].
    /// `challenge` (32 bytes) seeds the `Strict` level's head movements.
    #[uniffi::method(default(cancel = None))]
    // The arguments of the core call, flat, as Kotlin and Swift callers pass them.
    #[allow(clippy::too_many_arguments)]
    pub fn compare_local(
        &self,
        frames: Vec<TimedFrame>,
        subject_id: String,
        consent_ref: String,
        challenge: Vec<u8>,
        level: SecurityLevel,
        template: Vec<u8>,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<LocalMatch, CaptureFailure> {
        let terms = terms(subject_id, &consent_ref, challenge, level)?;
        let reference = ProtectedTemplate::from_bytes(&template)
            .map_err(|e| CaptureFailure::from(EngineError::from(e)))?;
        let result = self
            .engine
            .compare_local(inputs(frames)?, &terms, &reference, &options(cancel))
            .map_err(CaptureFailure::from)?;
        Ok(LocalMatch {
            score: result.score,
            threshold: result.threshold.value(),
            matched: result.matched,
            liveness_score: result.decision.score,
        })
    }
}

/// The library version.
#[uniffi::export]
pub fn library_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
