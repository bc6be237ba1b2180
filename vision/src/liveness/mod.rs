//! Passive liveness: is the face in front of the camera a live person, or a
//! print or screen?
//!
//! This layer is deliberately separate from recognition: it takes the frame and
//! the detector's box, nothing else, and its decision has its own score and
//! threshold. An operation succeeds only when both liveness and recognition
//! pass.

//!
//! A single frame is weak evidence: the multi-frame layer ([`BurstLivenessChecker`]) fuses
//! a second of preview with temporal, geometric ([`measure_parallax`]), screen
//! ([`ScreenCues`]: frequency, [`BorderCue`], [`GlareCue`]) and challenge-response
//! ([`ChallengeSequence`]) signals under a security level ([`LivenessPolicy`]). The threat
//! model is in docs/liveness.md.

mod border;
mod burst;
mod calibration;
mod challenge;
mod crop;
mod fusion;
pub use fusion::{PassiveEvidence, ScreenEvidence};
mod glare;
mod parallax;
mod policy;
mod screen;
mod temporal;

pub use border::{BorderCue, border_cue};
pub use burst::{BurstLivenessChecker, BurstModels, FrameEvidence, TimedFrame, capture_digest};
pub use calibration::{CUE_BUDGET, CueBudget, FoldRefusals, fit_screen_limits};
pub use challenge::{
    ChallengeFailure, ChallengeLimits, ChallengeOutcome, ChallengeSequence, HeadTurn, TrackPoint,
};
pub use crop::{CROP_SIZE, CropBox, crop_box, resize_crop, to_bgr_tensor};
#[cfg(test)]
pub(crate) use glare::face_exposure;
pub use glare::{FaceExposure, GlareCue};
pub use parallax::{ParallaxEvidence, ParallaxLimits, ParallaxVerdict, measure_parallax};
pub use policy::{
    BurstDecision, BurstEvidence, BurstReason, CUE_GATES, CueGates, LivenessPolicy, MethodScores,
    SCREEN_LIMITS, ScreenLimits, SecurityLevel,
};
pub use screen::ScreenCues;
pub use temporal::{TemporalEvidence, TemporalIssue, TemporalLimits};

use serde::Serialize;
use zeroize::Zeroizing;

use crate::frame::RgbFrame;
use crate::geometry::BoundingBox;
use crate::inference::{InferenceError, OnnxNetwork, output_f32};
use crate::models::{ModelError, ModelKind};

/// The live-probability threshold shipped by default, chosen on the NUAA
/// train split (see the README's figures).
pub const DEFAULT_LIVENESS_THRESHOLD: f32 = 0.5;

/// Why liveness decided as it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LivenessReason {
    /// The fused live probability reached the threshold.
    Live,
    /// The models see a presentation attack (print or screen).
    SpoofSuspected,
    /// No usable crop around the face (box empty or outside the picture).
    NoUsableCrop,
}

/// The outcome of the liveness check on one face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LivenessDecision {
    /// Fused probability that the face is live, 0..1.
    pub score: f32,
    pub threshold: f32,
    pub live: bool,
    pub reason: LivenessReason,
    /// Live probability of each model: MiniFASNetV2 (2.7x), MiniFASNetV1SE (4.0x).
    pub per_model: [f32; 2],
}

impl LivenessDecision {
    fn refused(threshold: f32, reason: LivenessReason) -> Self {
        Self {
            score: 0.0,
            threshold,
            live: false,
            reason,
            per_model: [0.0; 2],
        }
    }
}

/// One MiniFASNet and the crop factor it was trained with.
struct View {
    network: OnnxNetwork,
    /// Kept in f64: Silent-Face computes the crop in double precision, and
    /// 2.7 widened from f32 would move crop edges by a pixel.
    factor: f64,
}

/// The MiniFASNet pair, loaded once.
pub struct LivenessChecker {
    views: [View; 2],
    threshold: f32,
}

impl LivenessChecker {
    /// Parses both models (hash-checked) with a live-probability threshold.
    pub fn new(v2_bytes: &[u8], v1se_bytes: &[u8], threshold: f32) -> Result<Self, ModelError> {
        let view = |kind: ModelKind, bytes: &[u8], factor: f64| -> Result<View, ModelError> {
            crate::models::verify_hash(kind, bytes)?;
            Ok(View {
                network: OnnxNetwork::parse(kind, bytes)?,
                factor,
            })
        };
        Ok(Self {
            views: [
                view(ModelKind::LivenessV2, v2_bytes, 2.7)?,
                view(ModelKind::LivenessV1Se, v1se_bytes, 4.0)?,
            ],
            threshold,
        })
    }

    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Builds both plans now rather than on the first frame.
    pub fn warm_up(&self) -> Result<(), ModelError> {
        for v in &self.views {
            v.network.plan(SHAPE)?;
        }
        Ok(())
    }

    /// Scores the face inside `face_box` and decides against the threshold.
    pub fn check(
        &self,
        frame: &RgbFrame,
        face_box: &BoundingBox,
    ) -> Result<LivenessDecision, InferenceError> {
        let mut per_model = [0f32; 2];
        for (slot, (model, view)) in per_model.iter_mut().zip(self.views.iter().enumerate()) {
            let Some((_, tensor)) = self.input_tensor(frame, face_box, model) else {
                return Ok(LivenessDecision::refused(
                    self.threshold,
                    LivenessReason::NoUsableCrop,
                ));
            };
            let logits = self.logits(view, &tensor)?;
            *slot = softmax3(logits)[1];
        }
        let score = 0.5 * (per_model[0] + per_model[1]);
        let live = score >= self.threshold;
        Ok(LivenessDecision {
            score,
            threshold: self.threshold,
            live,
            reason: if live {
                LivenessReason::Live
            } else {
                LivenessReason::SpoofSuspected
            },
            per_model,
        })
    }

    /// The crop and the input tensor [`check`](Self::check) feeds one model
    /// (0 = V2, 1 = V1SE); `None` where the face has no usable crop. Exposed
    /// for the golden tests, which compare it with a reference preprocessing.
    #[doc(hidden)]
    pub fn input_tensor(
        &self,
        frame: &RgbFrame,
        face_box: &BoundingBox,
        model: usize,
    ) -> Option<(CropBox, Zeroizing<Vec<f32>>)> {
        let view = &self.views[model.min(1)];
        let crop = crop_box(frame.width(), frame.height(), face_box, view.factor)?;
        Some((crop, to_bgr_tensor(&resize_crop(frame, &crop))))
    }

    /// Raw logits of one model (0 = V2, 1 = V1SE) on a prepared BGR tensor;
    /// exposed for golden tests against a reference runtime.
    pub fn run_tensor(&self, model: usize, tensor: &[f32]) -> Result<[f32; 3], InferenceError> {
        self.logits(&self.views[model.min(1)], tensor)
    }

    /// The crop factors of the two models, in model order.
    pub fn crop_factors(&self) -> [f64; 2] {
        [self.views[0].factor, self.views[1].factor]
    }

    fn logits(&self, view: &View, tensor: &[f32]) -> Result<[f32; 3], InferenceError> {
        let out = view.network.run(SHAPE, tensor)?;
        let v = output_f32(&out, 0, 3, view.network.file())?;
        Ok([v[0], v[1], v[2]])
    }
}

const SHAPE: [usize; 4] = [1, 3, CROP_SIZE as usize, CROP_SIZE as usize];

/// Numerically stable softmax over three logits.
pub(crate) fn softmax3(logits: [f32; 3]) -> [f32; 3] {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e = logits.map(|l| (l - max).exp());
    let sum: f32 = e.iter().sum();
    e.map(|v| v / sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_is_stable_and_sums_to_one() {
        let p = softmax3([1000.0, 1001.0, 999.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[1] > p[0] && p[0] > p[2]);
        let q = softmax3([0.0, 0.0, 0.0]);
        assert!((q[1] - 1.0 / 3.0).abs() < 1e-6);
    }
}
