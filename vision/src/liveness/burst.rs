//! Multi-frame liveness: a burst of camera frames (about a second of
//! preview) in, one decision with every signal's evidence out.
//!
//! Frames are observed one at a time as the camera delivers them
//! ([`BurstLivenessChecker::observe`]: detection, texture models, pose,
//! frequency cues, a thumbnail), so when the last frame arrives only its own
//! analysis and the cheap fusion remain ([`BurstLivenessChecker::decide`]).
//! The observations hold no frame: the pixels can be dropped at once.

use sha2::{Digest, Sha256};

use crate::InferenceError;
use crate::detect::{DetectedFace, FaceDetector, largest_face};
use crate::frame::RgbFrame;

/// Share of the main face's box area from which another face competes.
const COMPETING_FACE_AREA: f32 = 0.25;

use super::LivenessChecker;
use super::challenge::{ChallengeSequence, TrackPoint, verify_challenge};
use super::fusion::{fuse_passive, fuse_screen};
use super::glare::{FaceExposure, face_exposure};
use super::parallax::measure_parallax;
use super::policy::{BurstDecision, BurstEvidence, LivenessPolicy, decide};
use super::screen::{ScreenCues, screen_cues};
use super::temporal::{FaceThumbnail, TrackedFace, check_temporal};

/// A camera frame and when it was captured (milliseconds on any monotonic
/// clock: only differences are used).
#[derive(Debug, Clone, Copy)]
pub struct TimedFrame<'a> {
    pub frame: &'a RgbFrame,
    pub timestamp_ms: u64,
}

/// What one frame contributed to a burst.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameEvidence {
    pub timestamp_ms: u64,
    /// Faces large enough to compete with the main one.
    pub faces: usize,
    /// The main (largest) face, if any.
    pub face: Option<DetectedFace>,
    /// Live probability of the MiniFASNet pair on the main face.
    pub passive: Option<f32>,
    pub screen: Option<ScreenCues>,
    /// How the main face is lit: guidance for the person
    /// ([`crate::quality::exposure_issue`]), never a reason to refuse.
    pub exposure: Option<FaceExposure>,
    /// A small grey copy of the face, compared with the next frame's.
    pub(crate) thumbnail: Option<FaceThumbnail>,
    /// Width, height and SHA-256 of the frame's RGB bytes: enough to compute
    /// the capture digest after the pixels are gone.
    pub frame_hash: (u32, u32, [u8; 32]),
}

/// The digest of the burst's frames, in order: equal to
/// `frame::sequence_digest` over the same frames (checked by a test), but
/// computed from each frame's hash so no frame has to be kept.
pub fn capture_digest(frames: &[FrameEvidence]) -> [u8; 32] {
    let mut outer = Sha256::new();
    outer.update(b"faceseal/capture/v1");
    outer.update(
        u32::try_from(frames.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    for f in frames {
        let (w, h, hash) = &f.frame_hash;
        outer.update(w.to_be_bytes());
        outer.update(h.to_be_bytes());
        outer.update(hash);
    }
    outer.finalize().into()
}

/// The models a burst is observed with: the detector and the passive
/// liveness pair, nothing of recognition.
#[derive(Clone, Copy)]
pub struct BurstModels<'a> {
    pub detector: &'a FaceDetector,
    pub liveness: &'a LivenessChecker,
}

/// The multi-frame liveness layer at one policy.
#[derive(Debug, Clone, Copy, Default)]
pub struct BurstLivenessChecker {
    policy: LivenessPolicy,
}

impl BurstLivenessChecker {
    pub fn new(policy: LivenessPolicy) -> Self {
        Self { policy }
    }

    pub fn policy(&self) -> &LivenessPolicy {
        &self.policy
    }

    /// Analyses one frame of a burst.
    pub fn observe(
        &self,
        models: BurstModels<'_>,
        frame: TimedFrame<'_>,
    ) -> Result<FrameEvidence, InferenceError> {
        let faces = models.detector.detect(frame.frame)?;
        let frame_hash = (
            frame.frame.width(),
            frame.frame.height(),
            Sha256::digest(frame.frame.as_rgb()).into(),
        );
        let Some(&face) = largest_face(&faces) else {
            return Ok(FrameEvidence {
                frame_hash,
                timestamp_ms: frame.timestamp_ms,
                faces: 0,
                face: None,
                passive: None,
                screen: None,
                exposure: None,
                thumbnail: None,
            });
        };
        // Faces at least a quarter of the main one's area compete with it;
        // a small face in the background (a poster, a passer-by) does not
        // make the subject's track ambiguous.
        let counted = faces
            .iter()
            .filter(|f| f.bbox.area() >= COMPETING_FACE_AREA * face.bbox.area())
            .count();
        let passive = models.liveness.check(frame.frame, &face.bbox)?;
        Ok(FrameEvidence {
            timestamp_ms: frame.timestamp_ms,
            faces: counted,
            face: Some(face),
            passive: (passive.reason != super::LivenessReason::NoUsableCrop)
                .then_some(passive.score),
            screen: screen_cues(frame.frame, &face.bbox),
            exposure: face_exposure(frame.frame, &face.bbox),
            thumbnail: FaceThumbnail::of(frame.frame, &face.bbox),
            frame_hash,
        })
    }

    /// Fuses a burst's observations (in capture order) into the decision.
    /// With a challenge, the burst must also answer it. Seal the result with
    /// the challenge's nonce and [`capture_digest`] of the same observations
    /// in the envelope's context, so the capture cannot be replayed.
    pub fn decide(
        &self,
        frames: &[FrameEvidence],
        challenge: Option<&ChallengeSequence>,
    ) -> BurstDecision {
        let p = &self.policy;
        let passive_scores: Vec<f32> = frames.iter().filter_map(|f| f.passive).collect();
        let cues: Vec<ScreenCues> = frames.iter().filter_map(|f| f.screen).collect();
        let track: Vec<TrackPoint> = frames
            .iter()
            .filter_map(|f| {
                f.face.map(|face| TrackPoint {
                    timestamp_ms: f.timestamp_ms,
                    landmarks: face.landmarks,
                })
            })
            .collect();
        let landmarks: Vec<_> = track.iter().map(|t| t.landmarks).collect();
        let tracked: Vec<TrackedFace> = frames
            .iter()
            .map(|f| TrackedFace {
                timestamp_ms: f.timestamp_ms,
                faces: f.faces,
                bbox: f.face.map(|x| x.bbox),
                thumbnail: f.thumbnail.clone(),
            })
            .collect();
        let evidence = BurstEvidence {
            passive: fuse_passive(&passive_scores, p.confident_spoof),
            screen: fuse_screen(&cues),
            parallax: measure_parallax(&landmarks, &p.parallax),
            challenge: challenge.map(|c| verify_challenge(c, &track, &p.challenge)),
            temporal: check_temporal(&tracked, &p.temporal),
        };
        decide(evidence, p)
    }

    /// Observes every frame, then decides: the whole burst at once, for
    /// callers that buffered it.
    pub fn evaluate(
        &self,
        models: BurstModels<'_>,
        frames: &[TimedFrame<'_>],
        challenge: Option<&ChallengeSequence>,
    ) -> Result<BurstDecision, InferenceError> {
        let observed = frames
            .iter()
            .map(|f| self.observe(models, *f))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.decide(&observed, challenge))
    }
}
