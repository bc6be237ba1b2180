//! Capture quality: is this face good enough to enrol or verify?
//!
//! Every check has its own reason code, so an app can tell the user what to
//! fix ("move closer", "more light") instead of a bare refusal.

use serde::Serialize;

use crate::align::{AlignedFace, CHIP_SIZE, chip_transform};
use crate::detect::DetectedFace;
use crate::frame::luma;
use crate::geometry::{Landmarks, Point};

/// Why a face is not good enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum QualityIssue {
    NoFace,
    MultipleFaces,
    FaceTooSmall,
    FaceCutOff,
    Blurry,
    TooDark,
    TooBright,
    /// Light glares on the face: a lamp or the sun on it, or a reflection.
    HarshLight,
    HeadTurned,
    HeadTilted,
    HeadPitched,
}

impl QualityIssue {
    /// A short instruction for the person in front of the camera.
    pub fn advice(self) -> &'static str {
        match self {
            QualityIssue::NoFace => "no face found: face the camera",
            QualityIssue::MultipleFaces => "more than one face: only one person in view",
            QualityIssue::FaceTooSmall => "face too small: move closer",
            QualityIssue::FaceCutOff => "face cut off: centre your face in the frame",
            QualityIssue::Blurry => "image blurred: hold still",
            QualityIssue::TooDark => "too dark: find more light",
            QualityIssue::TooBright => "too bright: avoid direct light",
            QualityIssue::HarshLight => "light glares on your face: move out of the light",
            QualityIssue::HeadTurned => "head turned: look straight at the camera",
            QualityIssue::HeadTilted => "head tilted: hold your head upright",
            QualityIssue::HeadPitched => "head tipped up or down: look straight ahead",
        }
    }
}

/// Limits the quality checks apply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityThresholds {
    /// Minimum short side of the face box, picture pixels.
    pub min_face_size: f32,
    /// Minimum variance of the Laplacian on the grey chip.
    pub min_sharpness: f32,
    /// Accepted mean brightness of the chip's centre (0..255).
    pub min_brightness: f32,
    pub max_brightness: f32,
    /// Largest share of the face clipped white before the person is asked to
    /// move out of the light (guidance during a capture).
    pub max_clipped_share: f32,
    /// Largest accepted head angles, degrees (estimates from five landmarks).
    pub max_yaw: f32,
    pub max_pitch: f32,
    pub max_roll: f32,
}

impl Default for QualityThresholds {
    fn default() -> Self {
        Self {
            min_face_size: 60.0,
            min_sharpness: 20.0,
            // A dim webcam's live faces sit at 40 to 45 on the chip centre
            // (NUAA's darker sessions) and embed well; below 30 the face is
            // lost in sensor noise.
            min_brightness: 30.0,
            max_brightness: 215.0,
            max_clipped_share: 0.05,
            max_yaw: 30.0,
            max_pitch: 25.0,
            max_roll: 30.0,
        }
    }
}

/// Head pose estimated from the five landmarks, degrees.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct PoseEstimate {
    /// Positive when the nose points to the picture's right.
    pub yaw: f32,
    /// Positive when the head tips down.
    pub pitch: f32,
    /// Positive when the eye line turns clockwise in the picture.
    pub roll: f32,
}

/// Ratio of the nose's depth in front of the eye-mouth plane to the eye
/// distance, for an average adult face (anthropometric tables put the nose
/// tip about half an inter-ocular distance forward).
const NOSE_DEPTH_RATIO: f32 = 0.55;

/// Where the nose sits between the eye line and the mouth line in the frontal
/// reference chip.
const FRONTAL_NOSE_HEIGHT: f32 = (76.562 - 46.599) / (103.023 - 46.599);

impl PoseEstimate {
    /// A coarse estimate: roll from the eye line, yaw and pitch from how far the
    /// nose is displaced from where a frontal face has it.
    pub fn from_landmarks(lm: &Landmarks) -> Option<Self> {
        let dx = lm.right_eye.x - lm.left_eye.x;
        let dy = lm.right_eye.y - lm.left_eye.y;
        let roll = dy.atan2(dx).to_degrees();
        // Undo roll and scale with the chip transform, then read the nose.
        let t = chip_transform(lm)?;
        let c = lm
            .to_array()
            .map(|p| t.apply(Point::new(p.x - 0.5, p.y - 0.5)));
        let (le, re, nose, lm_, rm) = (c[0], c[1], c[2], c[3], c[4]);
        let eyes = le.midpoint(re);
        let mouth = lm_.midpoint(rm);
        let eye_dist = le.distance(re).max(1e-3);
        let axis_x = 0.5 * (eyes.x + mouth.x);
        let yaw = ((nose.x - axis_x) / eye_dist / NOSE_DEPTH_RATIO)
            .atan()
            .to_degrees();
        let span = (mouth.y - eyes.y).max(1e-3);
        let height = (nose.y - eyes.y) / span;
        let pitch = ((height - FRONTAL_NOSE_HEIGHT) * span / eye_dist / NOSE_DEPTH_RATIO)
            .atan()
            .to_degrees();
        Some(Self { yaw, pitch, roll })
    }
}

/// The measured quality of one face, with every failed check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QualityReport {
    pub face_size: f32,
    pub sharpness: f32,
    pub brightness: f32,
    pub pose: PoseEstimate,
    pub issues: Vec<QualityIssue>,
    /// 0..1: 1 when every measure is comfortably inside its limits, 0 at a
    /// limit; the margin of the measure closest to its limit.
    pub score: f32,
    /// The measure that sets the score: the first to improve.
    pub limited_by: QualityMeasure,
}

/// One measure of the quality score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityMeasure {
    FaceSize,
    Sharpness,
    Yaw,
    Pitch,
    Brightness,
}

impl QualityMeasure {
    /// What raises this measure's margin.
    pub fn advice(self) -> &'static str {
        match self {
            QualityMeasure::FaceSize => "a larger face (move closer) raises it",
            QualityMeasure::Sharpness => "a sharper picture (hold still, focus) raises it",
            QualityMeasure::Yaw => "facing the camera straight on raises it",
            QualityMeasure::Pitch => "holding the head level raises it",
            QualityMeasure::Brightness => "more even light on the face raises it",
        }
    }
}

impl QualityReport {
    pub fn passed(&self) -> bool {
        self.issues.is_empty()
    }
}

/// Checks one detected face and its aligned chip.
pub fn assess(
    face: &DetectedFace,
    chip: &AlignedFace,
    frame_size: (u32, u32),
    limits: &QualityThresholds,
) -> QualityReport {
    let mut issues = Vec::new();
    let face_size = face.bbox.width().min(face.bbox.height());
    if face_size < limits.min_face_size {
        issues.push(QualityIssue::FaceTooSmall);
    }
    let (w, h) = (frame_size.0 as f32, frame_size.1 as f32);
    let inside = face
        .landmarks
        .to_array()
        .iter()
        .all(|p| p.x >= 0.0 && p.y >= 0.0 && p.x < w && p.y < h);
    if !inside {
        issues.push(QualityIssue::FaceCutOff);
    }
    let grey = grey_chip(chip);
    let sharpness = laplacian_variance(&grey);
    if sharpness < limits.min_sharpness {
        issues.push(QualityIssue::Blurry);
    }
    let brightness = centre_brightness(&grey);
    if brightness < limits.min_brightness {
        issues.push(QualityIssue::TooDark);
    }
    if brightness > limits.max_brightness {
        issues.push(QualityIssue::TooBright);
    }
    let pose = PoseEstimate::from_landmarks(&face.landmarks).unwrap_or_default();
    if pose.yaw.abs() > limits.max_yaw {
        issues.push(QualityIssue::HeadTurned);
    }
    if pose.pitch.abs() > limits.max_pitch {
        issues.push(QualityIssue::HeadPitched);
    }
    if pose.roll.abs() > limits.max_roll {
        issues.push(QualityIssue::HeadTilted);
    }
    let margins = [
        face_size / (2.0 * limits.min_face_size),
        sharpness / (2.0 * limits.min_sharpness),
        1.0 - pose.yaw.abs() / limits.max_yaw,
        1.0 - pose.pitch.abs() / limits.max_pitch,
        1.0 - (2.0 * brightness - limits.min_brightness - limits.max_brightness).abs()
            / (limits.max_brightness - limits.min_brightness),
    ];
    const MEASURES: [QualityMeasure; 5] = [
        QualityMeasure::FaceSize,
        QualityMeasure::Sharpness,
        QualityMeasure::Yaw,
        QualityMeasure::Pitch,
        QualityMeasure::Brightness,
    ];
    let (score, limited_by) = margins
        .iter()
        .map(|m| {
            if m.is_finite() {
                m.clamp(0.0, 1.0)
            } else {
                0.0
            }
        })
        .zip(MEASURES)
        .fold((1.0f32, QualityMeasure::FaceSize), |best, (m, which)| {
            if m < best.0 { (m, which) } else { best }
        });
    QualityReport {
        limited_by,
        face_size,
        sharpness,
        brightness,
        pose,
        issues,
        score,
    }
}

/// The exposure problem of a face, if any, as guidance: too dark, too
/// bright, or light glaring on it. Exposure is something the person can fix;
/// the liveness layer never refuses a face for it.
pub fn exposure_issue(
    exposure: &crate::liveness::FaceExposure,
    limits: &QualityThresholds,
) -> Option<QualityIssue> {
    if exposure.brightness < limits.min_brightness {
        Some(QualityIssue::TooDark)
    } else if exposure.brightness > limits.max_brightness {
        Some(QualityIssue::TooBright)
    } else if exposure.clipped_share > limits.max_clipped_share {
        Some(QualityIssue::HarshLight)
    } else {
        None
    }
}

/// The issue, if any, with the number of faces where exactly one is needed.
/// Faces smaller than the size limit are background and do not count.
pub fn face_count_issue(
    faces: &[DetectedFace],
    limits: &QualityThresholds,
) -> Option<QualityIssue> {
    let relevant = faces
        .iter()
        .filter(|f| f.bbox.width().min(f.bbox.height()) >= limits.min_face_size)
        .count();
    match (faces.len(), relevant) {
        (0, _) => Some(QualityIssue::NoFace),
        (_, 0) => Some(QualityIssue::FaceTooSmall),
        (_, 1) => None,
        _ => Some(QualityIssue::MultipleFaces),
    }
}

fn grey_chip(chip: &AlignedFace) -> Vec<f32> {
    chip.as_rgb()
        .chunks_exact(3)
        .map(|p| luma([p[0], p[1], p[2]]))
        .collect()
}

/// Variance of the 4-neighbour Laplacian: low when edges are soft.
fn laplacian_variance(grey: &[f32]) -> f32 {
    let s = CHIP_SIZE as usize;
    let mut values = Vec::with_capacity((s - 2) * (s - 2));
    for y in 1..s - 1 {
        for x in 1..s - 1 {
            let c = grey[y * s + x];
            values.push(
                grey[(y - 1) * s + x]
                    + grey[(y + 1) * s + x]
                    + grey[y * s + x - 1]
                    + grey[y * s + x + 1]
                    - 4.0 * c,
            );
        }
    }
    let n = values.len() as f32;
    let mean = values.iter().sum::<f32>() / n;
    values.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n
}

/// Mean brightness of the chip's central half, where the face is.
fn centre_brightness(grey: &[f32]) -> f32 {
    let s = CHIP_SIZE as usize;
    let (lo, hi) = (s / 4, 3 * s / 4);
    let mut sum = 0f32;
    for y in lo..hi {
        sum += grey[y * s + lo..y * s + hi].iter().sum::<f32>();
    }
    sum / ((hi - lo) * (hi - lo)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::align::CHIP_LANDMARKS;
    use crate::frame::RgbFrame;
    use crate::geometry::BoundingBox;
    use crate::liveness::face_exposure;

    #[test]
    fn exposure_is_guidance_for_the_person() {
        let face = BoundingBox::new(20.0, 20.0, 120.0, 120.0);
        let limits = QualityThresholds::default();
        let issue = |f: RgbFrame| exposure_issue(&face_exposure(&f, &face).unwrap(), &limits);
        // A live face under a lamp: skin tones with clipped white highlights
        // on a tenth of it.
        let lamp = RgbFrame::painted(140, 140, |x, y| {
            if (60..80).contains(&x) && (30..110).contains(&y) {
                [255, 255, 255]
            } else {
                [200, 150, 130]
            }
        });
        assert_eq!(issue(lamp), Some(QualityIssue::HarshLight));
        assert_eq!(
            issue(RgbFrame::painted(140, 140, |_, _| [20, 15, 12])),
            Some(QualityIssue::TooDark)
        );
        assert_eq!(
            issue(RgbFrame::painted(140, 140, |_, _| [240, 235, 230])),
            Some(QualityIssue::TooBright)
        );
        assert_eq!(
            issue(RgbFrame::painted(140, 140, |_, _| [180, 130, 110])),
            None
        );
        assert!(
            QualityIssue::HarshLight
                .advice()
                .contains("out of the light")
        );
    }

    fn frontal(scale: f32, dx: f32, dy: f32) -> Landmarks {
        Landmarks::from_array(
            CHIP_LANDMARKS.map(|[x, y]| Point::new(x * scale + dx, y * scale + dy)),
        )
    }

    #[test]
    fn frontal_face_has_no_pose() {
        let p = PoseEstimate::from_landmarks(&frontal(2.0, 10.0, 30.0)).unwrap();
        assert!(
            p.yaw.abs() < 0.5 && p.pitch.abs() < 0.5 && p.roll.abs() < 0.01,
            "{p:?}"
        );
    }

    #[test]
    fn nose_to_the_side_reads_as_yaw_and_eye_slope_as_roll() {
        let mut lm = frontal(2.0, 0.0, 0.0);
        lm.nose.x += 40.0;
        let p = PoseEstimate::from_landmarks(&lm).unwrap();
        assert!(p.yaw > 20.0, "{p:?}");
        let mut tilted = frontal(2.0, 0.0, 0.0);
        tilted.right_eye.y += 60.0;
        assert!(PoseEstimate::from_landmarks(&tilted).unwrap().roll > 20.0);
    }

    #[test]
    fn face_count_ignores_small_background_faces() {
        let face = |side: f32| DetectedFace {
            bbox: crate::geometry::BoundingBox::new(0.0, 0.0, side, side),
            landmarks: Landmarks::default(),
            score: 0.9,
        };
        let t = QualityThresholds::default();
        assert_eq!(face_count_issue(&[], &t), Some(QualityIssue::NoFace));
        assert_eq!(face_count_issue(&[face(100.0), face(20.0)], &t), None);
        assert_eq!(
            face_count_issue(&[face(100.0), face(90.0)], &t),
            Some(QualityIssue::MultipleFaces)
        );
        assert_eq!(
            face_count_issue(&[face(20.0)], &t),
            Some(QualityIssue::FaceTooSmall)
        );
    }

    #[test]
    fn sharpness_separates_flat_from_textured() {
        let s = CHIP_SIZE as usize;
        let flat = vec![128f32; s * s];
        let checker: Vec<f32> = (0..s * s)
            .map(|i| {
                if (i / s + i % s).is_multiple_of(2) {
                    0.0
                } else {
                    255.0
                }
            })
            .collect();
        assert_eq!(laplacian_variance(&flat), 0.0);
        assert!(laplacian_variance(&checker) > 1000.0);
        assert_eq!(centre_brightness(&flat), 128.0);
    }
}
