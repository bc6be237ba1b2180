//! Capture sessions: how an app enrols or verifies a person from the camera.
//!
//! A session starts from the server's challenge nonce, the tenant's security
//! level and the operation's terms (purpose, subject, consent). The app pushes
//! camera frames with their capture times as they arrive; each frame goes
//! through the engine's bounded queue (so `Busy`, `Timeout` and cancellation
//! work as for every other call) and comes back with **guidance** for the
//! person in front of the camera. `finish` runs the whole burst liveness layer
//! over the frames seen and ends with a sealed envelope, or a refusal that
//! carries the burst decision's reasons and per-signal scores.
//!
//! What a session keeps between frames is what the burst checker keeps (a
//! grey thumbnail and a hash per frame) and the aligned chips of the best few
//! frames, all wiped on drop; never a camera frame. Liveness is decided before
//! any embedding exists: the chips are embedded only once the burst is live.
//! The envelope's capture digest binds exactly the frames the decision saw.

use std::sync::{Arc, Mutex, TryLockError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use thiserror::Error;

use super::{Engine, EngineError, FrameInput, RequestOptions};
use crate::align::AlignedFace;
use crate::consent::{Consent, Purpose};
use crate::frame::RgbFrame;
use crate::liveness::capture_digest;
use crate::liveness::{
    BurstDecision, BurstLivenessChecker, ChallengeSequence, FrameEvidence, HeadTurn,
    LivenessPolicy, SecurityLevel, TimedFrame,
};
use crate::quality::{QualityIssue, assess, exposure_issue};
use crate::seal::{self, ChallengeNonce, SealContext, SealedTemplate};
use crate::template::{MAX_SUBJECT_ID_LEN, ProtectedTemplate, TemplateError};

/// How long a session lives by default: about a second of frames, with time
/// to follow a challenge.
pub const DEFAULT_SESSION_EXPIRY: Duration = Duration::from_secs(10);
/// Frames a burst needs by default before it can be decided.
pub const DEFAULT_BURST_FRAMES: usize = 5;
/// Fewest frames a burst can be decided on: the temporal, parallax and
/// challenge checks compare frames with each other.
pub const MIN_BURST_FRAMES: usize = 2;
/// Most frames one session takes: a second of a 30 fps camera, twice over.
pub const MAX_SESSION_FRAMES: usize = 60;

/// The terms of one capture.
#[derive(Clone)]
pub struct CaptureSessionConfig {
    pub purpose: Purpose,
    pub subject_id: String,
    pub consent_ref: String,
    /// The nonce the server issued for this operation.
    pub challenge: ChallengeNonce,
    /// The tenant's required level; `Strict` asks for head movements.
    pub level: SecurityLevel,
    pub expires_after: Duration,
    /// Frames needed before `finish` can decide (2 to [`MAX_SESSION_FRAMES`]).
    pub burst_frames: usize,
}

impl CaptureSessionConfig {
    /// A session at the default level, expiry and burst length.
    pub fn new(
        purpose: Purpose,
        subject_id: impl Into<String>,
        consent_ref: impl Into<String>,
        challenge: ChallengeNonce,
    ) -> Self {
        Self {
            purpose,
            subject_id: subject_id.into(),
            consent_ref: consent_ref.into(),
            challenge,
            level: SecurityLevel::default(),
            expires_after: DEFAULT_SESSION_EXPIRY,
            burst_frames: DEFAULT_BURST_FRAMES,
        }
    }

    pub fn with_level(mut self, level: SecurityLevel) -> Self {
        self.level = level;
        self
    }

    pub fn with_expiry(mut self, expires_after: Duration) -> Self {
        self.expires_after = expires_after;
        self
    }

    pub fn with_burst_frames(mut self, frames: usize) -> Self {
        self.burst_frames = frames;
        self
    }
}

impl std::fmt::Debug for CaptureSessionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureSessionConfig")
            .field("purpose", &self.purpose)
            .field("level", &self.level)
            .field("expires_after", &self.expires_after)
            .field("burst_frames", &self.burst_frames)
            .finish_non_exhaustive()
    }
}

/// What to tell the person in front of the camera after a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "guidance", content = "turn")]
#[non_exhaustive]
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
    /// The challenge's next movement.
    Turn(HeadTurn),
    /// Enough good frames: the app may call `finish`.
    Done,
}

impl Guidance {
    /// A short instruction to show or speak.
    pub fn instruction(self) -> &'static str {
        match self {
            Guidance::NoFace => "no face found: face the camera",
            Guidance::MultipleFaces => "more than one face: only one person in view",
            Guidance::MoveCloser => "move closer",
            Guidance::MoveBack => "move back a little",
            Guidance::CentreFace => "centre your face in the frame",
            Guidance::HoldStill => "hold still",
            Guidance::TooDark => "too dark: find more light",
            Guidance::TooBright => "too bright: avoid direct light",
            Guidance::MoveOutOfLight => "light glares on your face: move out of the light",
            Guidance::Turn(t) => t.instruction(),
            Guidance::Done => "done",
        }
    }
}

/// The session's answer to one frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FrameFeedback {
    pub guidance: Guidance,
    /// Frames pushed so far, this one included.
    pub frames: usize,
    /// Frames with one good-quality face (the template is made from the best).
    pub usable_frames: usize,
    /// Frames the burst needs.
    pub frames_needed: usize,
    /// Challenge movements shown so far, and required (0 when not asked).
    pub turns_done: usize,
    pub turns_required: usize,
}

/// The end of a live capture.
#[derive(Debug)]
pub struct CaptureOutcome {
    /// For the tenant's server.
    pub sealed: SealedTemplate,
    /// For kiosk mode (a card, say).
    pub template: ProtectedTemplate,
    /// The burst decision, with every signal's evidence.
    pub decision: BurstDecision,
    /// The lowest quality score of the frames fused into the template.
    pub quality_score: f32,
}

/// Why a session call failed. Messages never name the subject or the consent.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The engine refused or failed the frame's work (busy, timeout, bad
    /// image, missing configuration...).
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("the session has finished")]
    Finished,
    #[error("the session has expired")]
    Expired,
    #[error("another call is using the session")]
    InUse,
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
    TooManyFrames { max: usize },
    #[error("not enough frames to decide: {given} of {needed}")]
    NotEnoughFrames { given: usize, needed: usize },
    #[error("no frame had one face of good enough quality to make a template")]
    NoUsableFace,
    /// The liveness layer refused the burst; the decision says why.
    #[error("liveness refused the capture")]
    NotLive(Box<BurstDecision>),
    #[error("invalid session configuration: {0}")]
    InvalidConfig(&'static str),
}

/// One capture in progress. `Send + Sync`; calls on one session are
/// serialised, and a call made while another runs gets [`CaptureError::InUse`].
pub struct CaptureSession {
    engine: Arc<Engine>,
    config: CaptureSessionConfig,
    checker: BurstLivenessChecker,
    challenge: Option<ChallengeSequence>,
    started: Instant,
    state: Mutex<State>,
}

impl std::fmt::Debug for CaptureSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureSession")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A chip kept for the template, with its quality score.
struct Candidate {
    quality: f32,
    chip: AlignedFace,
}

#[derive(Default)]
struct State {
    evidence: Vec<FrameEvidence>,
    candidates: Vec<Candidate>,
    size: Option<(u32, u32)>,
    finished: bool,
}

/// What a worker returns for one frame.
struct Observed {
    evidence: FrameEvidence,
    candidate: Option<Candidate>,
    /// The exposure problem of the face, then its quality issues, in the
    /// order the person should fix them.
    issues: Vec<QualityIssue>,
    size: (u32, u32),
}

impl Engine {
    /// Starts a capture session. Cheap checks (consent, subject id, keys,
    /// configuration) happen here, before any frame.
    pub fn start_capture(
        self: &Arc<Self>,
        config: CaptureSessionConfig,
    ) -> Result<CaptureSession, CaptureError> {
        self.start_session(config, true)
    }

    /// A session that seals (`seals`, needing the tenant's key) or only makes
    /// the protected template (a local comparison).
    pub(super) fn start_session(
        self: &Arc<Self>,
        config: CaptureSessionConfig,
        seals: bool,
    ) -> Result<CaptureSession, CaptureError> {
        Consent::new(Some(&config.consent_ref), config.purpose).map_err(EngineError::from)?;
        if config.subject_id.is_empty() || config.subject_id.len() > MAX_SUBJECT_ID_LEN {
            return Err(EngineError::from(TemplateError::SubjectIdLength {
                max: MAX_SUBJECT_ID_LEN,
            })
            .into());
        }
        if !(MIN_BURST_FRAMES..=MAX_SESSION_FRAMES).contains(&config.burst_frames) {
            return Err(CaptureError::InvalidConfig("burst_frames must be 2 to 60"));
        }
        if config.expires_after.is_zero() {
            return Err(CaptureError::InvalidConfig("expiry must be positive"));
        }
        self.template()?;
        if seals {
            self.tenant()?;
        }
        let challenge = (config.level == SecurityLevel::Strict)
            .then(|| ChallengeSequence::derive(&config.challenge));
        Ok(CaptureSession {
            engine: Arc::clone(self),
            checker: BurstLivenessChecker::new(LivenessPolicy::for_level(config.level)),
            config,
            challenge,
            started: Instant::now(),
            state: Mutex::new(State::default()),
        })
    }
}

impl CaptureSession {
    /// The challenge's movements, in order, when the level asks for them.
    pub fn challenge_steps(&self) -> &[HeadTurn] {
        self.challenge.as_ref().map_or(&[], |c| c.steps())
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>, CaptureError> {
        let state = match self.state.try_lock() {
            Ok(s) => s,
            Err(TryLockError::WouldBlock) => return Err(CaptureError::InUse),
            // A panic while holding the lock leaves nothing half-written
            // that matters: the session is over.
            Err(TryLockError::Poisoned(_)) => return Err(CaptureError::Finished),
        };
        if state.finished {
            return Err(CaptureError::Finished);
        }
        Ok(state)
    }

    fn check_expiry(&self, state: &mut State) -> Result<(), CaptureError> {
        if self.started.elapsed() > self.config.expires_after {
            wipe(state);
            return Err(CaptureError::Expired);
        }
        Ok(())
    }

    /// Analyses one camera frame, captured at `timestamp_ms` (any monotonic
    /// clock, milliseconds), and says what the person should do next.
    pub fn push_frame(
        &self,
        frame: FrameInput,
        timestamp_ms: u64,
        options: &RequestOptions,
    ) -> Result<FrameFeedback, CaptureError> {
        let mut state = self.lock()?;
        self.check_expiry(&mut state)?;
        if state.evidence.len() >= MAX_SESSION_FRAMES {
            return Err(CaptureError::TooManyFrames {
                max: MAX_SESSION_FRAMES,
            });
        }
        if let Some(last) = state.evidence.last().map(|e| e.timestamp_ms)
            && timestamp_ms <= last
        {
            return Err(CaptureError::FrameOutOfOrder {
                given: timestamp_ms,
                last,
            });
        }
        let checker = self.checker;
        let observed = self.engine.submit(options, move |shared, control| {
            let frame = super::decode(shared, &frame, control)?;
            control.check()?;
            Ok(observe(&shared.analyzer, &checker, &frame, timestamp_ms)?)
        })?;
        if let Some((w, h)) = state.size
            && (w, h) != observed.size
        {
            return Err(CaptureError::FrameSizeChanged {
                width: observed.size.0,
                height: observed.size.1,
                expected_width: w,
                expected_height: h,
            });
        }
        state.size = Some(observed.size);
        state.evidence.push(observed.evidence);
        if let Some(c) = observed.candidate {
            let best = self.engine.shared.capture.best_frames.max(1);
            state.candidates.push(c);
            state
                .candidates
                .sort_by(|a, b| b.quality.total_cmp(&a.quality));
            state.candidates.truncate(best);
        }
        let usable = state
            .evidence
            .iter()
            .filter(|e| e.face.is_some() && e.faces == 1)
            .count();
        let (turns_done, turns_required) = self.challenge_progress(&state.evidence);
        let last = state.evidence.last().expect("just pushed");
        let guidance =
            guidance(last, &observed.issues, observed.size).unwrap_or_else(|| {
                match self.challenge.as_ref() {
                    Some(c) if turns_done < turns_required => Guidance::Turn(c.steps()[turns_done]),
                    _ if state.evidence.len() < self.config.burst_frames
                        || state.candidates.is_empty() =>
                    {
                        Guidance::HoldStill
                    }
                    _ => Guidance::Done,
                }
            });
        Ok(FrameFeedback {
            guidance,
            frames: state.evidence.len(),
            usable_frames: usable,
            frames_needed: self.config.burst_frames,
            turns_done,
            turns_required,
        })
    }

    fn challenge_progress(&self, evidence: &[FrameEvidence]) -> (usize, usize) {
        let Some(c) = &self.challenge else {
            return (0, 0);
        };
        let d = self.checker.decide(evidence, Some(c));
        d.challenge
            .map_or((0, c.steps().len()), |o| (o.completed, o.required))
    }

    /// Decides the burst and, when it is live, makes the protected template
    /// from the best frames and seals it with the session's challenge. The
    /// session is over after a decision, live or not.
    pub fn finish(&self, options: &RequestOptions) -> Result<CaptureOutcome, CaptureError> {
        self.finish_with(options, true)?.into_outcome()
    }

    /// The burst decision and the protected template, sealed when `sealing`.
    pub(super) fn finish_with(
        &self,
        options: &RequestOptions,
        sealing: bool,
    ) -> Result<Decided, CaptureError> {
        let mut state = self.lock()?;
        self.check_expiry(&mut state)?;
        if state.evidence.len() < self.config.burst_frames {
            return Err(CaptureError::NotEnoughFrames {
                given: state.evidence.len(),
                needed: self.config.burst_frames,
            });
        }
        let decision = self
            .checker
            .decide(&state.evidence, self.challenge.as_ref());
        if !decision.live {
            wipe(&mut state);
            return Err(CaptureError::NotLive(Box::new(decision)));
        }
        if state.candidates.is_empty() {
            wipe(&mut state);
            return Err(CaptureError::NoUsableFace);
        }
        let chips = std::mem::take(&mut state.candidates);
        let digest = capture_digest(&state.evidence);
        let request = SealRequest {
            subject_id: self.config.subject_id.clone(),
            consent_ref: self.config.consent_ref.clone(),
            purpose: self.config.purpose,
            challenge: self.config.challenge,
            digest,
            liveness_score: decision.score,
            level: self.config.level,
        };
        wipe(&mut state);
        let quality_score = chips
            .iter()
            .map(|c| c.quality)
            .fold(f32::INFINITY, f32::min);
        let fused = self
            .engine
            .embed_chips(options, chips.into_iter().map(|c| c.chip).collect())?;
        let template = self
            .engine
            .protect_embedding(options, &request.subject_id, fused)?;
        let (sealed, template) = if sealing {
            self.engine.submit(options, move |shared, control| {
                control.check()?;
                let sealed = seal_template(shared, &template, quality_score, &request)?;
                Ok((Some(sealed), template))
            })?
        } else {
            (None, template)
        };
        Ok(Decided {
            sealed,
            template,
            decision,
            quality_score,
        })
    }
}

/// A live burst's template, sealed or not.
pub(super) struct Decided {
    pub(super) sealed: Option<SealedTemplate>,
    pub(super) template: ProtectedTemplate,
    pub(super) decision: BurstDecision,
    pub(super) quality_score: f32,
}

impl Decided {
    /// The outcome of a sealed finish (`finish_with(_, true)` always seals).
    pub(super) fn into_outcome(self) -> Result<CaptureOutcome, CaptureError> {
        let sealed = self
            .sealed
            .ok_or(CaptureError::Engine(EngineError::Internal))?;
        Ok(CaptureOutcome {
            sealed,
            template: self.template,
            decision: self.decision,
            quality_score: self.quality_score,
        })
    }
}

/// Marks the session over and drops what it kept (the chips and thumbnails
/// wipe themselves on drop).
fn wipe(state: &mut State) {
    state.finished = true;
    state.evidence.clear();
    state.candidates.clear();
}

/// The burst observation of a frame, and its chip when the face is good
/// enough for the template.
fn observe(
    analyzer: &crate::FaceAnalyzer,
    checker: &BurstLivenessChecker,
    frame: &RgbFrame,
    timestamp_ms: u64,
) -> Result<Observed, crate::PipelineError> {
    let size = (frame.width(), frame.height());
    let evidence = checker.observe(
        analyzer.burst_models(),
        TimedFrame {
            frame,
            timestamp_ms,
        },
    )?;
    let limits = &analyzer.config().quality;
    let mut issues: Vec<QualityIssue> = evidence
        .exposure
        .as_ref()
        .and_then(|x| exposure_issue(x, limits))
        .into_iter()
        .collect();
    let mut candidate = None;
    if let (Some(face), 1) = (evidence.face, evidence.faces)
        && let Ok(chip) = analyzer.align(frame, &face)
    {
        let report = assess(&face, &chip, size, limits);
        if report.passed() {
            candidate = Some(Candidate {
                quality: report.score,
                chip,
            });
        }
        issues.extend(report.issues);
    }
    Ok(Observed {
        evidence,
        candidate,
        issues,
        size,
    })
}

/// The first thing the person should fix, if any.
fn guidance(e: &FrameEvidence, issues: &[QualityIssue], size: (u32, u32)) -> Option<Guidance> {
    let Some(face) = e.face else {
        return Some(Guidance::NoFace);
    };
    if e.faces > 1 {
        return Some(Guidance::MultipleFaces);
    }
    let short_side = size.0.min(size.1) as f32;
    let face_side = face.bbox.width().min(face.bbox.height());
    if face_side > 0.8 * short_side {
        return Some(Guidance::MoveBack);
    }
    let c = face.bbox.centre();
    let (dx, dy) = (
        (c.x / size.0 as f32 - 0.5).abs(),
        (c.y / size.1 as f32 - 0.5).abs(),
    );
    if dx > 0.25 || dy > 0.25 {
        return Some(Guidance::CentreFace);
    }
    issues.iter().find_map(|i| match i {
        QualityIssue::FaceTooSmall => Some(Guidance::MoveCloser),
        QualityIssue::FaceCutOff => Some(Guidance::CentreFace),
        QualityIssue::Blurry => Some(Guidance::HoldStill),
        QualityIssue::TooDark => Some(Guidance::TooDark),
        QualityIssue::TooBright => Some(Guidance::TooBright),
        QualityIssue::HarshLight => Some(Guidance::MoveOutOfLight),
        _ => None,
    })
}

/// What sealing needs, owned by the queued job.
struct SealRequest {
    subject_id: String,
    consent_ref: String,
    purpose: Purpose,
    challenge: ChallengeNonce,
    digest: [u8; 32],
    liveness_score: f32,
    level: SecurityLevel,
}

fn seal_template(
    shared: &super::Shared,
    template: &ProtectedTemplate,
    quality_score: f32,
    request: &SealRequest,
) -> Result<SealedTemplate, EngineError> {
    let tenant = shared
        .tenant
        .as_ref()
        .ok_or(EngineError::NotConfigured("tenant public key"))?;
    let context = SealContext {
        tenant_id: tenant.tenant_id.clone(),
        subject_id: request.subject_id.clone(),
        purpose: request.purpose,
        consent_ref: request.consent_ref.clone(),
        challenge: request.challenge,
        capture_digest: request.digest,
        created_at: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        liveness_score: request.liveness_score,
        quality_score,
        liveness_level: request.level,
    };
    Ok(seal::seal(
        template,
        &tenant.public_key,
        &context,
        &mut seal::os_rng(),
    )?)
}
