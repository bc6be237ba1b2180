//! Turning RetinaFace's raw outputs into face boxes and landmarks.

use super::priors::Prior;
use crate::geometry::{BoundingBox, Landmarks, Point};

/// Variances RetinaFace was trained with: centres and landmarks, sizes.
const VARIANCE: [f32; 2] = [0.1, 0.2];

/// A decoded face in plan pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawDetection {
    pub bbox: BoundingBox,
    pub landmarks: Landmarks,
    pub score: f32,
}

/// The network's three outputs for one image, flattened row-major.
pub struct RawOutputs<'a> {
    /// `[N, 4]` box offsets.
    pub loc: &'a [f32],
    /// `[N, 2]` background / face probabilities (softmax applied by the graph).
    pub conf: &'a [f32],
    /// `[N, 10]` landmark offsets.
    pub landmarks: &'a [f32],
}

/// Decodes every prior whose face score reaches `threshold`, then keeps the
/// best of overlapping boxes (greedy NMS at `nms_iou`), best first.
pub fn decode(
    out: &RawOutputs<'_>,
    priors: &[Prior],
    plan_w: f32,
    plan_h: f32,
    threshold: f32,
    nms_iou: f32,
) -> Vec<RawDetection> {
    let n = priors.len();
    debug_assert_eq!(out.loc.len(), n * 4);
    debug_assert_eq!(out.conf.len(), n * 2);
    debug_assert_eq!(out.landmarks.len(), n * 10);
    let mut found: Vec<RawDetection> = priors
        .iter()
        .enumerate()
        .filter(|(i, _)| out.conf[i * 2 + 1] >= threshold)
        .map(|(i, p)| decode_one(out, i, p, plan_w, plan_h))
        .filter(|d| d.bbox.area() > 0.0 && d.score.is_finite())
        .collect();
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    non_max_suppression(found, nms_iou)
}

fn decode_one(out: &RawOutputs<'_>, i: usize, p: &Prior, w: f32, h: f32) -> RawDetection {
    let l = &out.loc[i * 4..i * 4 + 4];
    let cx = p.cx + l[0] * VARIANCE[0] * p.w;
    let cy = p.cy + l[1] * VARIANCE[0] * p.h;
    let bw = p.w * (l[2] * VARIANCE[1]).exp();
    let bh = p.h * (l[3] * VARIANCE[1]).exp();
    let bbox = BoundingBox::new(
        (cx - bw / 2.0) * w,
        (cy - bh / 2.0) * h,
        (cx + bw / 2.0) * w,
        (cy + bh / 2.0) * h,
    );
    let lm = &out.landmarks[i * 10..i * 10 + 10];
    let point = |k: usize| {
        Point::new(
            (p.cx + lm[2 * k] * VARIANCE[0] * p.w) * w,
            (p.cy + lm[2 * k + 1] * VARIANCE[0] * p.h) * h,
        )
    };
    RawDetection {
        bbox,
        landmarks: Landmarks::from_array([point(0), point(1), point(2), point(3), point(4)]),
        score: out.conf[i * 2 + 1],
    }
}

/// Greedy NMS over detections sorted best first.
pub(crate) fn non_max_suppression(sorted: Vec<RawDetection>, iou: f32) -> Vec<RawDetection> {
    let mut kept: Vec<RawDetection> = Vec::new();
    for d in sorted {
        if kept.iter().all(|k| k.bbox.iou(&d.bbox) <= iou) {
            kept.push(d);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_prior() -> Prior {
        Prior {
            cx: 0.5,
            cy: 0.5,
            w: 0.25,
            h: 0.25,
        }
    }

    #[test]
    fn zero_offsets_give_the_prior_box() {
        let outs = RawOutputs {
            loc: &[0.0; 4],
            conf: &[0.1, 0.9],
            landmarks: &[0.0; 10],
        };
        let d = decode(&outs, &[one_prior()], 100.0, 200.0, 0.5, 0.4);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].bbox, BoundingBox::new(37.5, 75.0, 62.5, 125.0));
        assert_eq!(d[0].landmarks.nose, Point::new(50.0, 100.0));
        assert_eq!(d[0].score, 0.9);
    }

    #[test]
    fn offsets_use_the_variances() {
        let outs = RawOutputs {
            loc: &[1.0, -1.0, 0.0, 5.0],
            conf: &[0.0, 1.0],
            landmarks: &[2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        };
        let d = decode(&outs, &[one_prior()], 100.0, 100.0, 0.5, 0.4)[0];
        // centre moves by 0.1 * 0.25 of the plan; height grows by exp(1).
        assert!((d.bbox.centre().x - 52.5).abs() < 1e-4);
        assert!((d.bbox.centre().y - 47.5).abs() < 1e-4);
        assert!((d.bbox.height() - 25.0 * 1f32.exp()).abs() < 1e-3);
        assert!((d.landmarks.left_eye.x - 55.0).abs() < 1e-4);
    }

    #[test]
    fn below_threshold_is_dropped() {
        let outs = RawOutputs {
            loc: &[0.0; 4],
            conf: &[0.6, 0.4],
            landmarks: &[0.0; 10],
        };
        assert!(decode(&outs, &[one_prior()], 100.0, 100.0, 0.5, 0.4).is_empty());
    }

    #[test]
    fn nms_keeps_best_of_overlapping() {
        let det = |x: f32, s: f32| RawDetection {
            bbox: BoundingBox::new(x, 0.0, x + 10.0, 10.0),
            landmarks: Landmarks::default(),
            score: s,
        };
        let kept = non_max_suppression(vec![det(0.0, 0.9), det(1.0, 0.8), det(20.0, 0.7)], 0.4);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].score, 0.9);
        assert_eq!(kept[1].score, 0.7);
    }
}
