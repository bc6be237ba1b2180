//! One-shot captures: enrolment, verification probe and kiosk comparison
//! from frames the caller already holds, for simple kiosks.
//!
//! Each call runs a [`CaptureSession`](super::CaptureSession) over the
//! frames, in the order given, with their capture timestamps, and finishes
//! it: the same observations, the same burst decision and the same sealing
//! as a session pushed the same frames, so the one-shot calls and the
//! session can never disagree on liveness. A burst needs at least
//! [`MIN_BURST_FRAMES`] frames (the temporal, parallax and challenge checks
//! compare frames with each other): one frame fails with
//! [`CaptureError::NotEnoughFrames`] before any picture is analysed.
//!
//! The call's deadline (from its [`RequestOptions`]) covers the whole call,
//! every frame and the sealing; the session itself does not expire.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::capture::{CaptureSessionConfig, Decided, MIN_BURST_FRAMES};
use super::{CaptureError, CaptureOutcome, Engine, EngineError, FrameInput, RequestOptions};
use crate::consent::{Consent, Purpose};
use crate::liveness::{BurstDecision, SecurityLevel};
use crate::seal::ChallengeNonce;
use crate::template::{MatchThreshold, ProtectedTemplate, TemplateError};

/// A frame of a one-shot capture and the time it was captured at (any
/// monotonic clock, milliseconds; strictly increasing along the burst).
#[derive(Debug)]
pub struct TimedInput {
    pub frame: FrameInput,
    pub timestamp_ms: u64,
}

impl TimedInput {
    pub fn new(frame: FrameInput, timestamp_ms: u64) -> Self {
        Self {
            frame,
            timestamp_ms,
        }
    }
}

/// The terms of a one-shot capture: who, under which consent, with which
/// server challenge and at which of the tenant's security levels.
#[derive(Clone)]
pub struct CaptureTerms {
    pub subject_id: String,
    /// `None` fails with a consent error before any picture is looked at.
    pub consent_ref: Option<String>,
    /// The nonce the tenant's server issued for this operation (enrolments
    /// too: the server refuses an envelope under a nonce it did not issue).
    pub challenge: ChallengeNonce,
    pub level: SecurityLevel,
}

impl CaptureTerms {
    /// Terms at the default security level.
    pub fn new(
        subject_id: impl Into<String>,
        consent_ref: Option<&str>,
        challenge: ChallengeNonce,
    ) -> Self {
        Self {
            subject_id: subject_id.into(),
            consent_ref: consent_ref.map(str::to_owned),
            challenge,
            level: SecurityLevel::default(),
        }
    }

    pub fn with_level(mut self, level: SecurityLevel) -> Self {
        self.level = level;
        self
    }
}

impl std::fmt::Debug for CaptureTerms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureTerms")
            .field("level", &self.level)
            .finish_non_exhaustive()
    }
}

/// The result of an enrolment: the sealed template for the tenant's server,
/// the protected template for kiosk mode, and the burst decision.
pub type Enrolment = CaptureOutcome;

/// The outcome of a kiosk comparison of a live burst with a held template.
#[derive(Debug, Clone)]
pub struct LocalComparison {
    /// Fraction of equal hash indices between the capture and the reference.
    pub score: f64,
    pub threshold: MatchThreshold,
    /// `score >= threshold` (the burst is live, or the call failed).
    pub matched: bool,
    /// The burst decision, with every signal's evidence.
    pub decision: BurstDecision,
}

impl Engine {
    /// Enrols a subject from a burst of timed frames, sealed under the
    /// server's challenge. Not live: [`CaptureError::NotLive`] with the
    /// burst decision.
    pub fn enroll(
        self: &Arc<Self>,
        frames: Vec<TimedInput>,
        terms: &CaptureTerms,
        options: &RequestOptions,
    ) -> Result<Enrolment, CaptureError> {
        let done = self.one_shot(Purpose::Enrol, frames, terms, options, true)?;
        done.into_outcome()
    }

    /// A verification probe for the tenant's server: the burst's protected
    /// template sealed with the server's challenge.
    pub fn probe(
        self: &Arc<Self>,
        frames: Vec<TimedInput>,
        terms: &CaptureTerms,
        options: &RequestOptions,
    ) -> Result<CaptureOutcome, CaptureError> {
        let done = self.one_shot(Purpose::Verify, frames, terms, options, true)?;
        done.into_outcome()
    }

    /// Kiosk mode: compares a live burst with a protected template the
    /// caller holds, under the subject's key of the configured key version.
    /// Needs no tenant key: nothing is sealed.
    pub fn compare_local(
        self: &Arc<Self>,
        frames: Vec<TimedInput>,
        terms: &CaptureTerms,
        reference: &ProtectedTemplate,
        options: &RequestOptions,
    ) -> Result<LocalComparison, CaptureError> {
        let template = self.template()?;
        if template.params != reference.params() {
            return Err(EngineError::from(TemplateError::ParameterMismatch).into());
        }
        if template.key_version != reference.key_version() {
            return Err(EngineError::from(TemplateError::KeyVersionMismatch).into());
        }
        let threshold = self.shared.match_threshold;
        let done = self.one_shot(Purpose::Verify, frames, terms, options, false)?;
        let score = reference
            .compare(&done.template)
            .map_err(EngineError::from)?;
        Ok(LocalComparison {
            score: score.value(),
            threshold,
            matched: score.is_match(threshold),
            decision: done.decision,
        })
    }

    /// Runs one session over `frames` within one deadline.
    fn one_shot(
        self: &Arc<Self>,
        purpose: Purpose,
        frames: Vec<TimedInput>,
        terms: &CaptureTerms,
        options: &RequestOptions,
        sealing: bool,
    ) -> Result<Decided, CaptureError> {
        if frames.is_empty() {
            return Err(EngineError::NoFrames.into());
        }
        if frames.len() > self.max_frames {
            return Err(EngineError::TooManyFrames {
                given: frames.len(),
                max: self.max_frames,
            }
            .into());
        }
        let consent =
            Consent::new(terms.consent_ref.as_deref(), purpose).map_err(EngineError::from)?;
        let config = CaptureSessionConfig {
            purpose,
            subject_id: terms.subject_id.clone(),
            consent_ref: consent.reference().as_str().to_owned(),
            challenge: terms.challenge,
            level: terms.level,
            // The call's deadline bounds it instead.
            expires_after: Duration::MAX,
            burst_frames: frames.len().max(MIN_BURST_FRAMES),
        };
        let session = self.start_session(config, sealing)?;
        if frames.len() < MIN_BURST_FRAMES {
            return Err(CaptureError::NotEnoughFrames {
                given: frames.len(),
                needed: MIN_BURST_FRAMES,
            });
        }
        let deadline = options.deadline(self.default_deadline);
        for f in frames {
            session.push_frame(f.frame, f.timestamp_ms, &remaining(options, deadline)?)?;
        }
        session.finish_with(&remaining(options, deadline)?, sealing)
    }
}

/// The options of the call's next step: what is left of its deadline.
fn remaining(options: &RequestOptions, deadline: Instant) -> Result<RequestOptions, CaptureError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(EngineError::Timeout.into());
    }
    Ok(RequestOptions {
        timeout: Some(left),
        cancel: options.cancel.clone(),
    })
}
