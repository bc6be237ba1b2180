//! Face detection: RetinaFace MobileNet-0.25, boxes and five landmarks in the
//! picture's own pixel coordinates.

mod decode;
mod letterbox;
mod priors;

pub(crate) use decode::{RawDetection, RawOutputs, decode};
pub use letterbox::Letterbox;
pub(crate) use priors::{prior_count, priors};

use serde::Serialize;

use crate::frame::RgbFrame;
use crate::geometry::{BoundingBox, Landmarks, Point};
use crate::inference::{InferenceError, OnnxNetwork, output_f32, softmax_pairs};
use crate::models::{ModelError, ModelKind};

/// Detector settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorConfig {
    /// The picture's long side is scaled to this many pixels before detection.
    /// 320 suits camera frames where the face fills a good part of the view;
    /// 640 finds small faces in group photos at about five times the cost.
    pub input_size: u32,
    /// Minimum face probability. The default, 0.9, keeps every LFW face
    /// while refusing all but one of 114 pictures without a human face
    /// (a capuchin monkey at 0.98); 0.6 let four through.
    pub score_threshold: f32,
    /// Boxes overlapping a better one by more than this are dropped.
    pub nms_iou: f32,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            input_size: 320,
            score_threshold: 0.9,
            nms_iou: 0.4,
        }
    }
}

/// One detected face, in picture coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DetectedFace {
    pub bbox: BoundingBox,
    pub landmarks: Landmarks,
    pub score: f32,
}

/// The face with the largest box: the one nearest the camera, which is the
/// subject when a picture holds several faces.
pub fn largest_face(faces: &[DetectedFace]) -> Option<&DetectedFace> {
    faces
        .iter()
        .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
}

/// The network's face/background scores, one pair per anchor.
const CONF_OUTPUT: usize = 1;

/// RetinaFace, loaded once; optimised plans are cached per input shape.
pub struct FaceDetector {
    network: OnnxNetwork,
    config: DetectorConfig,
}

impl FaceDetector {
    /// Parses the (hash-checked) detector model.
    pub fn new(model_bytes: &[u8], config: DetectorConfig) -> Result<Self, ModelError> {
        crate::models::verify_hash(ModelKind::Detector, model_bytes)?;
        Ok(Self {
            // The anchors' softmax is faster here than inside the plan.
            network: OnnxNetwork::parse(ModelKind::Detector, model_bytes)?
                .with_logits_output(CONF_OUTPUT),
            config,
        })
    }

    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// Builds the plan for a picture size ahead of time, so the first real
    /// frame does not pay for optimisation.
    pub fn warm_up(&self, width: u32, height: u32) -> Result<(), ModelError> {
        let lb = Letterbox::new(width, height, self.config.input_size);
        self.network
            .plan([1, 3, lb.plan_h as usize, lb.plan_w as usize])
            .map(|_| ())
    }

    /// Faces in the frame, most confident first.
    pub fn detect(&self, frame: &RgbFrame) -> Result<Vec<DetectedFace>, InferenceError> {
        self.detect_with_threshold(frame, self.config.score_threshold)
    }

    /// As [`detect`](Self::detect) with another score threshold, for callers
    /// that look again, less strictly, where a face is known to be.
    pub fn detect_with_threshold(
        &self,
        frame: &RgbFrame,
        score_threshold: f32,
    ) -> Result<Vec<DetectedFace>, InferenceError> {
        let lb = Letterbox::new(frame.width(), frame.height(), self.config.input_size);
        let raw = self.raw_outputs(frame, &lb)?;
        let priors = priors(lb.plan_w, lb.plan_h);
        let outs = RawOutputs {
            loc: &raw[0],
            conf: &raw[1],
            landmarks: &raw[2],
        };
        let found = decode(
            &outs,
            &priors,
            lb.plan_w as f32,
            lb.plan_h as f32,
            score_threshold,
            self.config.nms_iou,
        );
        Ok(found
            .into_iter()
            .map(|d| to_picture(d, &lb, frame))
            .filter(|f| f.bbox.area() > 0.0)
            .collect())
    }

    /// The network's three outputs (`loc`, `conf`, `landmarks`) for a frame,
    /// flattened.
    fn raw_outputs(
        &self,
        frame: &RgbFrame,
        lb: &Letterbox,
    ) -> Result<[Vec<f32>; 3], InferenceError> {
        let tensor = lb.tensor(frame);
        self.run_tensor(lb.plan_w, lb.plan_h, &tensor)
    }

    /// Runs the network on a prepared `[1, 3, h, w]` tensor.
    pub fn run_tensor(
        &self,
        plan_w: u32,
        plan_h: u32,
        tensor: &[f32],
    ) -> Result<[Vec<f32>; 3], InferenceError> {
        let shape = [1, 3, plan_h as usize, plan_w as usize];
        let outputs = self.network.run(shape, tensor)?;
        let n = prior_count(plan_w, plan_h);
        let file = self.network.file();
        let mut conf = output_f32(&outputs, CONF_OUTPUT, n * 2, file)?;
        softmax_pairs(&mut conf);
        Ok([
            output_f32(&outputs, 0, n * 4, file)?,
            conf,
            output_f32(&outputs, 2, n * 10, file)?,
        ])
    }
}

/// Maps a detection from plan pixels back to the picture, clipping the box.
fn to_picture(d: RawDetection, lb: &Letterbox, frame: &RgbFrame) -> DetectedFace {
    let (sx, sy) = (lb.inv_scale_x, lb.inv_scale_y);
    let (w, h) = (frame.width() as f32, frame.height() as f32);
    let bbox = BoundingBox::new(
        (d.bbox.x1 * sx).clamp(0.0, w),
        (d.bbox.y1 * sy).clamp(0.0, h),
        (d.bbox.x2 * sx).clamp(0.0, w),
        (d.bbox.y2 * sy).clamp(0.0, h),
    );
    let lm = d
        .landmarks
        .to_array()
        .map(|p| Point::new(p.x * sx, p.y * sy));
    DetectedFace {
        bbox,
        landmarks: Landmarks::from_array(lm),
        score: d.score,
    }
}
