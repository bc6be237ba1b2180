//! Capture sessions for Kotlin and Swift: `engine.startCapture(config)`
//! gives a `CaptureSession`; the app pushes each camera frame with its
//! capture time and shows the guidance it gets back, then `finish` gives the
//! sealed envelope or a typed refusal carrying the burst decision's reasons
//! and scores. Every rule lives in the core session; this module converts.

use std::sync::Arc;
use std::time::Duration;

use faceseal_core::PipelineError;
use faceseal_core::engine::{
    self as core, CaptureSessionConfig, EngineError, FrameFeedback as CoreFeedback,
    Guidance as CoreGuidance,
};
use faceseal_core::enrolment::EnrolmentError;
use faceseal_core::seal::{ChallengeNonce, Purpose};
use faceseal_vision::liveness::TemporalIssue;
use faceseal_vision::liveness::{
    BurstDecision, BurstReason, HeadTurn as CoreTurn, SecurityLevel as CoreLevel,
};
use faceseal_vision::quality::QualityIssue as CoreQualityIssue;

use super::{CancelHandle, FaceEngine, Frame, options};

/// What a capture is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CapturePurpose {
    /// A reference template for the server to store.
    Enrol,
    /// A probe for the server to compare with the reference.
    Verify,
}

/// The tenant's required liveness level (from its bundle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SecurityLevel {
    Basic,
    Standard,
    /// Asks for head movements ([`CaptureSession::challenge_steps`]).
    Strict,
}

impl From<SecurityLevel> for CoreLevel {
    fn from(level: SecurityLevel) -> Self {
        match level {
            SecurityLevel::Basic => CoreLevel::Basic,
            SecurityLevel::Standard => CoreLevel::Standard,
            SecurityLevel::Strict => CoreLevel::Strict,
        }
    }
}

fn level_of(level: CoreLevel) -> SecurityLevel {
    match level {
        CoreLevel::Basic => SecurityLevel::Basic,
        CoreLevel::Strict => SecurityLevel::Strict,
        _ => SecurityLevel::Standard,
    }
}

/// The terms of one capture.
#[derive(Clone, uniffi::Record)]
pub struct CaptureConfig {
    pub purpose: CapturePurpose,
    pub subject_id: String,
    pub consent_ref: String,
    /// The 32-byte nonce the server issued for this operation.
    pub challenge: Vec<u8>,
    pub level: SecurityLevel,
    /// The session's lifetime in milliseconds.
    #[uniffi(default = 10000)]
    pub expiry_ms: u64,
    /// Frames the burst needs before `finish` can decide.
    #[uniffi(default = 5)]
    pub burst_frames: u32,
}

/// The subject and consent link to a person: `Debug` shows the terms only.
impl std::fmt::Debug for CaptureConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureConfig")
            .field("purpose", &self.purpose)
            .field("level", &self.level)
            .field("expiry_ms", &self.expiry_ms)
            .field("burst_frames", &self.burst_frames)
            .finish_non_exhaustive()
    }
}

/// A head movement the challenge asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum HeadTurn {
    Left,
    Right,
    Up,
    Down,
}

fn turn_of(turn: CoreTurn) -> HeadTurn {
    match turn {
        CoreTurn::Left => HeadTurn::Left,
        CoreTurn::Right => HeadTurn::Right,
        CoreTurn::Up => HeadTurn::Up,
        CoreTurn::Down => HeadTurn::Down,
    }
}

/// What to tell the person in front of the camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Guidance {
    NoFace,
    MultipleFaces,
    MoveCloser,
    MoveBack,
    CentreFace,
    HoldStill,
    TooDark,
    TooBright,
    MoveOutOfLight,
    TurnLeft,
    TurnRight,
    TurnUp,
    TurnDown,
    /// Enough good frames: call `finish`.
    Done,
    /// Guidance newer than these bindings: show the feedback's instruction.
    Other,
}

fn guidance_of(guidance: CoreGuidance) -> Guidance {
    match guidance {
        CoreGuidance::NoFace => Guidance::NoFace,
        CoreGuidance::MultipleFaces => Guidance::MultipleFaces,
        CoreGuidance::MoveCloser => Guidance::MoveCloser,
        CoreGuidance::MoveBack => Guidance::MoveBack,
        CoreGuidance::CentreFace => Guidance::CentreFace,
        CoreGuidance::HoldStill => Guidance::HoldStill,
        CoreGuidance::TooDark => Guidance::TooDark,
        CoreGuidance::TooBright => Guidance::TooBright,
        CoreGuidance::MoveOutOfLight => Guidance::MoveOutOfLight,
        CoreGuidance::Turn(CoreTurn::Left) => Guidance::TurnLeft,
        CoreGuidance::Turn(CoreTurn::Right) => Guidance::TurnRight,
        CoreGuidance::Turn(CoreTurn::Up) => Guidance::TurnUp,
        CoreGuidance::Turn(CoreTurn::Down) => Guidance::TurnDown,
        CoreGuidance::Done => Guidance::Done,
        _ => Guidance::Other,
    }
}

/// The session's answer to one frame.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FrameFeedback {
    pub guidance: Guidance,
    /// A short instruction to show or speak (English).
    pub instruction: String,
    /// Frames pushed so far, this one included.
    pub frames: u32,
    /// Frames with one good face.
    pub usable: u32,
    /// Frames the burst needs.
    pub needed: u32,
    /// Challenge movements made so far, and required (0 when not asked).
    pub turns_done: u32,
    pub turns_required: u32,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl From<CoreFeedback> for FrameFeedback {
    fn from(f: CoreFeedback) -> Self {
        Self {
            guidance: guidance_of(f.guidance),
            instruction: f.guidance.instruction().to_owned(),
            frames: count(f.frames),
            usable: count(f.usable_frames),
            needed: count(f.frames_needed),
            turns_done: count(f.turns_done),
            turns_required: count(f.turns_required),
        }
    }
}

/// Why the liveness layer refused a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RefusalReason {
    /// The texture models see a print or a screen.
    PassiveSpoof,
    /// Moiré or screen-pixel energy on the face.
    ScreenCues,
    /// Straight edges frame the face: a device or a sheet held up.
    ScreenBorder,
    /// Glare on the face: the glass of a screen or a glossy print.
    Glare,
    /// The face moved like a plane.
    PlanarFace,
    /// `Strict`: no head rotation shown.
    NoParallax,
    /// `Strict`: no challenge to check.
    ChallengeMissing,
    /// The movements asked for were not made, in order, in time.
    ChallengeFailed,
    /// Too few frames for the temporal check.
    TemporalTooFewFrames,
    /// Capture times do not increase.
    TemporalTimeNotIncreasing,
    /// Frames without the face.
    TemporalFaceMissing,
    /// Frames with more than one face.
    TemporalMultipleFaces,
    /// The face jumped between frames.
    TemporalTrackBroken,
    /// The same picture several times.
    TemporalRepeatedFrames,
    /// A reason newer than these bindings.
    Other,
}

fn reason_of(reason: BurstReason) -> Option<RefusalReason> {
    Some(match reason {
        BurstReason::Live => return None,
        BurstReason::PassiveSpoof => RefusalReason::PassiveSpoof,
        BurstReason::ScreenCues => RefusalReason::ScreenCues,
        BurstReason::ScreenBorder => RefusalReason::ScreenBorder,
        BurstReason::Glare => RefusalReason::Glare,
        BurstReason::PlanarFace => RefusalReason::PlanarFace,
        BurstReason::NoParallax => RefusalReason::NoParallax,
        BurstReason::ChallengeMissing => RefusalReason::ChallengeMissing,
        BurstReason::ChallengeFailed => RefusalReason::ChallengeFailed,
        BurstReason::Temporal(issue) => match issue {
            TemporalIssue::TooFewFrames => RefusalReason::TemporalTooFewFrames,
            TemporalIssue::TimeNotIncreasing => RefusalReason::TemporalTimeNotIncreasing,
            TemporalIssue::FaceMissing => RefusalReason::TemporalFaceMissing,
            TemporalIssue::MultipleFaces => RefusalReason::TemporalMultipleFaces,
            TemporalIssue::TrackBroken => RefusalReason::TemporalTrackBroken,
            TemporalIssue::RepeatedFrames => RefusalReason::TemporalRepeatedFrames,
            _ => RefusalReason::Other,
        },
        _ => RefusalReason::Other,
    })
}

/// Per-signal scores of a burst, 0 to 1 with each signal's pass mark at 0.5.
#[derive(Debug, Clone, uniffi::Record)]
pub struct BurstScores {
    /// The burst's fused score: the smallest signal in force.
    pub score: f32,
    pub passive: f32,
    /// Frequency cues; absent when no face was big enough to read them (and
    /// then border and glare are absent too).
    pub screen: Option<f32>,
    pub border: Option<f32>,
    pub glare: Option<f32>,
    pub parallax: f32,
    /// Present when the level asked for a challenge.
    pub challenge: Option<f32>,
}

/// The liveness layer's decision over the burst.
#[derive(Debug, Clone, uniffi::Record)]
pub struct BurstSummary {
    pub live: bool,
    pub level: SecurityLevel,
    /// Empty when live.
    pub reasons: Vec<RefusalReason>,
    pub scores: BurstScores,
}

fn scores_of(d: &BurstDecision) -> BurstScores {
    BurstScores {
        score: d.score,
        passive: d.scores.passive,
        screen: d.scores.screen,
        border: d.scores.border,
        glare: d.scores.glare,
        parallax: d.scores.parallax,
        challenge: d.scores.challenge,
    }
}

fn summary_of(d: &BurstDecision) -> BurstSummary {
    BurstSummary {
        live: d.live,
        level: level_of(d.level),
        reasons: d.reasons.iter().filter_map(|r| reason_of(*r)).collect(),
        scores: scores_of(d),
    }
}

/// A live capture, sealed.
#[derive(Clone, uniffi::Record)]
pub struct CaptureResult {
    /// The envelope for the tenant's server.
    pub sealed: Vec<u8>,
    /// The protected template, for kiosk mode.
    pub template: Vec<u8>,
    pub decision: BurstSummary,
    /// The lowest quality score of the frames the template was made from.
    pub quality_score: f32,
}

impl std::fmt::Debug for CaptureResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureResult")
            .field("sealed_len", &self.sealed.len())
            .field("template_len", &self.template.len())
            .field("decision", &self.decision)
            .finish_non_exhaustive()
    }
}

/// Why a face was not good enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum QualityIssue {
    NoFace,
    MultipleFaces,
    FaceTooSmall,
    FaceCutOff,
    Blurry,
    TooDark,
    TooBright,
    HarshLight,
    HeadTurned,
    HeadTilted,
    HeadPitched,
    Other,
}

fn quality_of(issue: CoreQualityIssue) -> QualityIssue {
    match issue {
        CoreQualityIssue::NoFace => QualityIssue::NoFace,
        CoreQualityIssue::MultipleFaces => QualityIssue::MultipleFaces,
        CoreQualityIssue::FaceTooSmall => QualityIssue::FaceTooSmall,
        CoreQualityIssue::FaceCutOff => QualityIssue::FaceCutOff,
        CoreQualityIssue::Blurry => QualityIssue::Blurry,
        CoreQualityIssue::TooDark => QualityIssue::TooDark,
        CoreQualityIssue::TooBright => QualityIssue::TooBright,
        CoreQualityIssue::HarshLight => QualityIssue::HarshLight,
        CoreQualityIssue::HeadTurned => QualityIssue::HeadTurned,
        CoreQualityIssue::HeadTilted => QualityIssue::HeadTilted,
        CoreQualityIssue::HeadPitched => QualityIssue::HeadPitched,
        _ => QualityIssue::Other,
    }
}

/// Why a session call failed (`CaptureException` in Kotlin,
/// `CaptureError` in Swift). Each case carries what the app needs to act;
/// texts never hold a subject id, a consent reference or pixel data.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The liveness layer refused the burst. The session is over.
    #[error("liveness refused the capture: {reasons:?}")]
    NotLive {
        reasons: Vec<RefusalReason>,
        scores: BurstScores,
    },
    #[error("frame timestamps must increase (got {given} ms after {last} ms)")]
    FrameOutOfOrder { given: u64, last: u64 },
    #[error(
        "frame size changed mid-burst ({width}x{height}, expected {expected_width}x{expected_height})"
    )]
    FrameSizeChanged {
        width: u32,
        height: u32,
        expected_width: u32,
        expected_height: u32,
    },
    #[error("the session takes at most {max} frames")]
    TooManyFrames { max: u32 },
    #[error("not enough frames to decide: {given} of {needed}")]
    NotEnoughFrames { given: u32, needed: u32 },
    #[error("the session has finished")]
    Finished,
    #[error("the session has expired")]
    Expired,
    /// Another thread is in a call on this session.
    #[error("another call is using the session")]
    InUse,
    /// No frame had one face good enough for a template. The session is over.
    #[error("no frame had one face of good enough quality")]
    NoUsableFace,
    /// The engine's queue is full: try the frame again shortly.
    #[error("busy: try again")]
    Busy,
    #[error("the call's deadline passed")]
    Timeout,
    #[error("the call was cancelled")]
    Cancelled,
    #[error("the engine is shutting down")]
    ShuttingDown,
    /// The picture was refused: format, size or raw buffer layout.
    #[error("{detail}")]
    InvalidImage { detail: String },
    /// A face too poor for the call, with what is wrong, most urgent first.
    #[error("face quality too low: {issues:?}")]
    LowQuality { issues: Vec<QualityIssue> },
    /// No usable consent reference, or one for another purpose.
    #[error("{detail}")]
    Consent { detail: String },
    /// A subject id, challenge, expiry or burst length out of range.
    #[error("{detail}")]
    InvalidArgument { detail: String },
    /// A protected template that is malformed or does not fit the key.
    #[error("{detail}")]
    InvalidTemplate { detail: String },
    /// The engine lacks the tenant key or template secret sessions need.
    #[error("{detail}")]
    NotConfigured { detail: String },
    #[error("{detail}")]
    Model { detail: String },
    /// A bug in the library.
    #[error("{detail}")]
    Internal { detail: String },
}

impl From<core::CaptureError> for CaptureError {
    fn from(error: core::CaptureError) -> Self {
        use core::CaptureError as E;
        match error {
            E::Engine(e) => e.into(),
            E::Finished => Self::Finished,
            E::Expired => Self::Expired,
            E::InUse => Self::InUse,
            E::FrameOutOfOrder { given, last } => Self::FrameOutOfOrder { given, last },
            E::FrameSizeChanged {
                width,
                height,
                expected_width,
                expected_height,
            } => Self::FrameSizeChanged {
                width,
                height,
                expected_width,
                expected_height,
            },
            E::TooManyFrames { max } => Self::TooManyFrames { max: count(max) },
            E::NotEnoughFrames { given, needed } => Self::NotEnoughFrames {
                given: count(given),
                needed: count(needed),
            },
            E::NoUsableFace => Self::NoUsableFace,
            E::NotLive(d) => {
                let summary = summary_of(&d);
                Self::NotLive {
                    reasons: summary.reasons,
                    scores: summary.scores,
                }
            }
            E::InvalidConfig(detail) => Self::InvalidArgument {
                detail: detail.to_owned(),
            },
            other => Self::Internal {
                detail: other.to_string(),
            },
        }
    }
}

/// The quality report inside an engine error, if it is one.
fn quality_issues(error: &EngineError) -> Option<Vec<QualityIssue>> {
    let pipeline = match error {
        EngineError::Pipeline(p) | EngineError::Enrolment(EnrolmentError::Capture(p)) => p,
        _ => return None,
    };
    match pipeline {
        PipelineError::Quality(report) => {
            Some(report.issues.iter().map(|i| quality_of(*i)).collect())
        }
        _ => None,
    }
}

impl From<EngineError> for CaptureError {
    fn from(error: EngineError) -> Self {
        use faceseal_core::engine::ErrorKind as K;
        if let Some(issues) = quality_issues(&error) {
            return Self::LowQuality { issues };
        }
        let detail = error.to_string();
        match error.kind() {
            K::Busy => Self::Busy,
            K::Timeout => Self::Timeout,
            K::Cancelled => Self::Cancelled,
            K::ShuttingDown => Self::ShuttingDown,
            K::InvalidImage => Self::InvalidImage { detail },
            K::Consent => Self::Consent { detail },
            K::InvalidArgument => Self::InvalidArgument { detail },
            K::InvalidTemplate => Self::InvalidTemplate { detail },
            K::NotConfigured => Self::NotConfigured { detail },
            K::Model => Self::Model { detail },
            _ => Self::Internal { detail },
        }
    }
}

impl From<super::FacesealError> for CaptureError {
    fn from(error: super::FacesealError) -> Self {
        use super::FacesealError as F;
        match error {
            F::InvalidImage(detail) => Self::InvalidImage { detail },
            F::InvalidArgument(detail) => Self::InvalidArgument { detail },
            other => Self::Internal {
                detail: other.to_string(),
            },
        }
    }
}

/// One capture in progress: push frames as the camera delivers them, then
/// finish. Safe to share between threads; a call made while another runs on
/// the same session fails with `InUse`.
#[derive(Debug, uniffi::Object)]
pub struct CaptureSession {
    session: core::CaptureSession,
}

#[uniffi::export]
impl FaceEngine {
    /// Starts a capture session. Consent, subject id, keys and the
    /// configuration are checked here, before any frame.
    pub fn start_capture(
        &self,
        config: CaptureConfig,
    ) -> Result<Arc<CaptureSession>, CaptureError> {
        CaptureSession::new(self, config)
    }
}

impl CaptureSession {
    fn new(engine: &FaceEngine, config: CaptureConfig) -> Result<Arc<Self>, CaptureError> {
        let challenge: [u8; 32] =
            config
                .challenge
                .try_into()
                .map_err(|_| CaptureError::InvalidArgument {
                    detail: "challenge must be 32 bytes".to_owned(),
                })?;
        let purpose = match config.purpose {
            CapturePurpose::Enrol => Purpose::Enrol,
            CapturePurpose::Verify => Purpose::Verify,
        };
        let core_config = CaptureSessionConfig::new(
            purpose,
            config.subject_id,
            config.consent_ref,
            ChallengeNonce::from_bytes(challenge),
        )
        .with_level(config.level.into())
        .with_expiry(Duration::from_millis(config.expiry_ms))
        .with_burst_frames(usize::try_from(config.burst_frames).unwrap_or(usize::MAX));
        let session = engine.engine.start_capture(core_config)?;
        Ok(Arc::new(Self { session }))
    }
}

#[uniffi::export]
impl CaptureSession {
    /// Analyses one camera frame captured at `timestamp_ms` (any monotonic
    /// clock, milliseconds) and says what the person should do next.
    #[uniffi::method(default(cancel = None))]
    pub fn push_frame(
        &self,
        frame: Frame,
        timestamp_ms: u64,
        cancel: Option<Arc<CancelHandle>>,
    ) -> Result<FrameFeedback, CaptureError> {
        let input = frame.into_input()?;
        let feedback = self
            .session
            .push_frame(input, timestamp_ms, &options(cancel))?;
        Ok(feedback.into())
    }

    /// Decides the burst and, when it is live, seals the template made from
    /// its best frames with the session's challenge. The session is over
    /// after a decision, live or not.
    #[uniffi::method(default(cancel = None))]
    pub fn finish(&self, cancel: Option<Arc<CancelHandle>>) -> Result<CaptureResult, CaptureError> {
        let outcome = self.session.finish(&options(cancel))?;
        Ok(CaptureResult {
            template: outcome.template.to_bytes().to_vec(),
            sealed: outcome.sealed.into_bytes(),
            decision: summary_of(&outcome.decision),
            quality_score: outcome.quality_score,
        })
    }

    /// The head movements the challenge asks for, in order (empty below
    /// `Strict`): show them as the feedback's guidance asks.
    pub fn challenge_steps(&self) -> Vec<HeadTurn> {
        self.session
            .challenge_steps()
            .iter()
            .map(|t| turn_of(*t))
            .collect()
    }
}
