//! The face pipeline in one object: detection, alignment, quality, liveness
//! and embedding, with every model loaded once.

use serde::Serialize;

use crate::align::{AlignedFace, align};
use crate::detect::{DetectedFace, DetectorConfig, FaceDetector};
use crate::embed::FaceEmbedder;
use crate::embedding::Embedding;
use crate::frame::RgbFrame;
use crate::input::InputError;
use crate::liveness::{BurstModels, DEFAULT_LIVENESS_THRESHOLD, LivenessChecker, LivenessDecision};
use crate::models::{ModelError, ModelKind, ModelLocator};
use crate::quality::{QualityIssue, QualityReport, QualityThresholds, assess, face_count_issue};
use faceseal_vision::InferenceError;

/// Same person when the Euclidean distance of two (mirror-averaged)
/// descriptors is below this. Chosen on LFW View 2 (see the README).
pub const DEFAULT_MATCH_THRESHOLD: f32 = 0.6;

/// Why an analysis did not produce a result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Inference(#[from] InferenceError),
    #[error("no face found")]
    NoFace,
    #[error("{count} faces found where exactly one is required")]
    MultipleFaces { count: usize },
    #[error("the face's landmarks are degenerate and cannot be aligned")]
    Unalignable,
    #[error("face quality too low: {}", describe(&.0.issues))]
    Quality(Box<QualityReport>),
    #[error("liveness check failed: live score {:.3} below threshold {:.3}", .0.score, .0.threshold)]
    NotLive(Box<LivenessDecision>),
}

fn describe(issues: &[QualityIssue]) -> String {
    issues
        .iter()
        .map(|i| i.advice())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Thresholds and settings of an analyzer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalyzerConfig {
    pub detector: DetectorConfig,
    pub quality: QualityThresholds,
    pub liveness_threshold: f32,
    pub match_threshold: f32,
    /// Average the descriptors of the chip and its mirror image.
    pub mirror_embedding: bool,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        Self {
            detector: DetectorConfig::default(),
            quality: QualityThresholds::default(),
            liveness_threshold: DEFAULT_LIVENESS_THRESHOLD,
            match_threshold: DEFAULT_MATCH_THRESHOLD,
            mirror_embedding: true,
        }
    }
}

/// Everything known about the one face of a frame that passed every gate.
#[derive(Debug)]
pub struct FaceAnalysis {
    pub face: DetectedFace,
    pub quality: QualityReport,
    pub liveness: LivenessDecision,
    pub embedding: Embedding,
}

/// The result of comparing two embeddings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MatchDecision {
    pub distance: f32,
    pub threshold: f32,
    pub same_person: bool,
}

/// All four models and the configuration. `Send + Sync`: share one behind an
/// `Arc` rather than loading models per call.
pub struct FaceAnalyzer {
    detector: FaceDetector,
    liveness: LivenessChecker,
    embedder: FaceEmbedder,
    config: AnalyzerConfig,
}

impl FaceAnalyzer {
    /// Loads and hash-checks every model from the locator.
    pub fn load(models: &ModelLocator, config: AnalyzerConfig) -> Result<Self, ModelError> {
        let detector = FaceDetector::new(&models.read(ModelKind::Detector)?, config.detector)?;
        let liveness = LivenessChecker::new(
            &models.read(ModelKind::LivenessV2)?,
            &models.read(ModelKind::LivenessV1Se)?,
            config.liveness_threshold,
        )?;
        let embedder = FaceEmbedder::new(&models.read(ModelKind::Embedder)?)?;
        Ok(Self {
            detector,
            liveness,
            embedder,
            config,
        })
    }

    pub fn config(&self) -> &AnalyzerConfig {
        &self.config
    }

    pub fn detector(&self) -> &FaceDetector {
        &self.detector
    }

    pub fn liveness_checker(&self) -> &LivenessChecker {
        &self.liveness
    }

    pub fn embedder(&self) -> &FaceEmbedder {
        &self.embedder
    }

    /// The detector and the liveness pair, as the burst checker takes them.
    pub fn burst_models(&self) -> BurstModels<'_> {
        BurstModels {
            detector: &self.detector,
            liveness: &self.liveness,
        }
    }

    /// Builds the optimised plans for frames of this size now.
    pub fn warm_up(&self, width: u32, height: u32) -> Result<(), ModelError> {
        self.detector.warm_up(width, height)?;
        self.liveness.warm_up()?;
        self.embedder.warm_up()
    }

    /// Every face in the frame, most confident first.
    pub fn detect(&self, frame: &RgbFrame) -> Result<Vec<DetectedFace>, PipelineError> {
        Ok(self.detector.detect(frame)?)
    }

    /// The aligned 150x150 chip of a face.
    pub fn align(
        &self,
        frame: &RgbFrame,
        face: &DetectedFace,
    ) -> Result<AlignedFace, PipelineError> {
        align(frame, &face.landmarks).ok_or(PipelineError::Unalignable)
    }

    /// Quality of one detected face.
    pub fn quality(
        &self,
        frame: &RgbFrame,
        face: &DetectedFace,
    ) -> Result<QualityReport, PipelineError> {
        let chip = self.align(frame, face)?;
        Ok(assess(
            face,
            &chip,
            (frame.width(), frame.height()),
            &self.config.quality,
        ))
    }

    /// Liveness of one detected face; uses the frame and the box only.
    pub fn liveness(
        &self,
        frame: &RgbFrame,
        face: &DetectedFace,
    ) -> Result<LivenessDecision, PipelineError> {
        Ok(self.liveness.check(frame, &face.bbox)?)
    }

    /// The embedding of one detected face.
    pub fn embed(&self, frame: &RgbFrame, face: &DetectedFace) -> Result<Embedding, PipelineError> {
        let chip = self.align(frame, face)?;
        self.embed_chip(&chip)
    }

    pub(crate) fn embed_chip(&self, chip: &AlignedFace) -> Result<Embedding, PipelineError> {
        Ok(if self.config.mirror_embedding {
            self.embedder.embed_with_mirror(chip)?
        } else {
            self.embedder.embed(chip)?
        })
    }

    /// The embedding of one view of a chip, never mirrored: the engine runs
    /// a chip and its mirror as two jobs and averages them as
    /// [`Self::embed_chip`] does.
    pub(crate) fn embed_view(&self, chip: &AlignedFace) -> Result<Embedding, PipelineError> {
        Ok(self.embedder.embed(chip)?)
    }

    /// The strict path for enrolment and verification: exactly one face, good
    /// quality, live; only then is the face embedded. Liveness is decided
    /// before any embedding exists, so an attack never reaches recognition.
    pub fn analyze_single(&self, frame: &RgbFrame) -> Result<FaceAnalysis, PipelineError> {
        let faces = self.detect(frame)?;
        match face_count_issue(&faces, &self.config.quality) {
            Some(QualityIssue::NoFace) => return Err(PipelineError::NoFace),
            Some(QualityIssue::MultipleFaces) => {
                return Err(PipelineError::MultipleFaces { count: faces.len() });
            }
            _ => {}
        }
        let face = faces[0];
        let chip = self.align(frame, &face)?;
        let quality = assess(
            &face,
            &chip,
            (frame.width(), frame.height()),
            &self.config.quality,
        );
        if !quality.passed() {
            return Err(PipelineError::Quality(Box::new(quality)));
        }
        let liveness = self.liveness.check(frame, &face.bbox)?;
        if !liveness.live {
            return Err(PipelineError::NotLive(Box::new(liveness)));
        }
        let embedding = self.embed_chip(&chip)?;
        Ok(FaceAnalysis {
            face,
            quality,
            liveness,
            embedding,
        })
    }

    /// Compares two embeddings at the configured threshold.
    pub fn compare(&self, a: &Embedding, b: &Embedding) -> MatchDecision {
        let distance = a.distance(b);
        MatchDecision {
            distance,
            threshold: self.config.match_threshold,
            same_person: distance < self.config.match_threshold,
        }
    }
}
