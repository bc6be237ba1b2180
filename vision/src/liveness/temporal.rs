//! Temporal consistency of a burst: one face, followed from frame to frame,
//! in frames that a live camera produced.
//!
//! A burst spliced from several sources breaks the face track; a frame
//! injected twice (or a still picture fed as a "preview") repeats pixels
//! that a real sensor, with its noise, never repeats.

use serde::Serialize;
use zeroize::Zeroizing;

use crate::frame::RgbFrame;
use crate::geometry::BoundingBox;

/// Side of the grey face thumbnail compared between frames.
pub(crate) const THUMBNAIL: usize = 24;

/// A small grey copy of the face box, kept only to compare consecutive
/// frames. It is a face, so it is wiped on drop and never printed.
#[derive(Clone, PartialEq)]
pub(crate) struct FaceThumbnail(Zeroizing<Vec<f32>>);

impl FaceThumbnail {
    /// Bilinear samples of the box on a THUMBNAIL x THUMBNAIL grid.
    pub fn of(frame: &RgbFrame, face: &BoundingBox) -> Option<Self> {
        let short = face.width().min(face.height());
        if short.is_nan() || short < 1.0 {
            return None;
        }
        let (w, h) = (frame.width() as f32, frame.height() as f32);
        let grey = |x: u32, y: u32| frame.grey(x, y);
        let mut out = Zeroizing::new(Vec::with_capacity(THUMBNAIL * THUMBNAIL));
        for j in 0..THUMBNAIL {
            let fy =
                (face.y1 + (j as f32 + 0.5) * face.height() / THUMBNAIL as f32).clamp(0.0, h - 1.0);
            for i in 0..THUMBNAIL {
                let fx = (face.x1 + (i as f32 + 0.5) * face.width() / THUMBNAIL as f32)
                    .clamp(0.0, w - 1.0);
                let (x0, y0) = (fx.floor() as u32, fy.floor() as u32);
                let (x1, y1) = (
                    (x0 + 1).min(frame.width() - 1),
                    (y0 + 1).min(frame.height() - 1),
                );
                let (ax, ay) = (fx - x0 as f32, fy - y0 as f32);
                let top = grey(x0, y0) * (1.0 - ax) + grey(x1, y0) * ax;
                let bottom = grey(x0, y1) * (1.0 - ax) + grey(x1, y1) * ax;
                out.push(top * (1.0 - ay) + bottom * ay);
            }
        }
        Some(Self(out))
    }

    /// Wraps grey values the tests make.
    #[cfg(test)]
    fn from_grey(values: Vec<f32>) -> Option<Self> {
        (values.len() == THUMBNAIL * THUMBNAIL).then(|| Self(Zeroizing::new(values)))
    }

    /// Mean absolute difference, grey levels.
    pub fn difference(&self, other: &Self) -> f32 {
        self.0
            .iter()
            .zip(other.0.iter())
            .map(|(a, b)| (a - b).abs())
            .sum::<f32>()
            / self.0.len() as f32
    }
}

impl std::fmt::Debug for FaceThumbnail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FaceThumbnail(..)")
    }
}

/// What the temporal check needs of one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedFace {
    pub timestamp_ms: u64,
    /// Faces large enough to count (see `quality::face_count_issue`).
    pub faces: usize,
    pub bbox: Option<BoundingBox>,
    pub thumbnail: Option<FaceThumbnail>,
}

/// Limits of the temporal check.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TemporalLimits {
    pub min_frames: usize,
    /// Share of frames allowed without a face (blinks of the detector), and
    /// with more than one.
    pub max_missing_share: f32,
    /// Consecutive face boxes must overlap at least this much (IoU)...
    pub min_track_iou: f32,
    /// ...unless the face moved less than this many box widths a second.
    pub max_speed_widths_per_s: f32,
    /// Consecutive face thumbnails closer than this (mean grey levels) are
    /// the same frame again: a real sensor's noise alone exceeds it.
    pub repeat_difference: f32,
}

impl Default for TemporalLimits {
    fn default() -> Self {
        Self {
            min_frames: 3,
            max_missing_share: 0.34,
            min_track_iou: 0.2,
            max_speed_widths_per_s: 3.0,
            repeat_difference: 0.35,
        }
    }
}

/// Why a burst is not one live face over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TemporalIssue {
    TooFewFrames,
    TimeNotIncreasing,
    FaceMissing,
    MultipleFaces,
    TrackBroken,
    RepeatedFrames,
}

/// The temporal check's measures over one burst.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemporalEvidence {
    pub frames: usize,
    pub frames_with_face: usize,
    pub track_breaks: usize,
    pub repeated_frames: usize,
    /// Smallest thumbnail difference between consecutive face frames.
    pub min_frame_difference: Option<f32>,
    pub issues: Vec<TemporalIssue>,
}

impl TemporalEvidence {
    pub fn consistent(&self) -> bool {
        self.issues.is_empty()
    }
}

/// Checks a burst's frames, in capture order.
pub fn check_temporal(frames: &[TrackedFace], limits: &TemporalLimits) -> TemporalEvidence {
    let mut issues = Vec::new();
    if frames.len() < limits.min_frames {
        issues.push(TemporalIssue::TooFewFrames);
    }
    if frames
        .windows(2)
        .any(|w| w[1].timestamp_ms <= w[0].timestamp_ms)
    {
        issues.push(TemporalIssue::TimeNotIncreasing);
    }
    let with_face: Vec<&TrackedFace> = frames.iter().filter(|f| f.bbox.is_some()).collect();
    let missing = frames.len() - with_face.len();
    if missing as f32 > limits.max_missing_share * frames.len() as f32 {
        issues.push(TemporalIssue::FaceMissing);
    }
    // A second face in a frame or two is usually a detector false positive
    // (NUAA's live frames have some); in many it is a second person.
    let crowded = frames.iter().filter(|f| f.faces > 1).count();
    if crowded as f32 > limits.max_missing_share * frames.len() as f32 {
        issues.push(TemporalIssue::MultipleFaces);
    }
    let (mut breaks, mut repeats) = (0, 0);
    let mut min_diff: Option<f32> = None;
    for w in with_face.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (Some(ba), Some(bb)) = (a.bbox, b.bbox) else {
            continue;
        };
        let dt = (b.timestamp_ms.saturating_sub(a.timestamp_ms)) as f32 / 1000.0;
        let width = ba.width().max(1.0);
        let speed = ba.centre().distance(bb.centre()) / width / dt.max(1e-3);
        let scale = (bb.width() / width).max(width / bb.width().max(1.0));
        if ba.iou(&bb) < limits.min_track_iou
            && (speed > limits.max_speed_widths_per_s || scale > 1.5)
        {
            breaks += 1;
        }
        if let (Some(ta), Some(tb)) = (&a.thumbnail, &b.thumbnail) {
            let d = ta.difference(tb);
            min_diff = Some(min_diff.map_or(d, |m| m.min(d)));
            if d < limits.repeat_difference {
                repeats += 1;
            }
        }
    }
    if breaks > 0 {
        issues.push(TemporalIssue::TrackBroken);
    }
    if repeats > 0 {
        issues.push(TemporalIssue::RepeatedFrames);
    }
    TemporalEvidence {
        frames: frames.len(),
        frames_with_face: with_face.len(),
        track_breaks: breaks,
        repeated_frames: repeats,
        min_frame_difference: min_diff,
        issues,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A noisy thumbnail: a gradient plus deterministic per-frame noise of
    /// about two grey levels, as a webcam's sensor gives.
    fn thumb(seed: u32) -> FaceThumbnail {
        let v = (0..THUMBNAIL * THUMBNAIL)
            .map(|i| {
                let n = ((i as u32).wrapping_mul(2_654_435_761) ^ seed.wrapping_mul(40_503)) % 5;
                100.0 + (i % THUMBNAIL) as f32 + n as f32
            })
            .collect();
        FaceThumbnail::from_grey(v).unwrap()
    }

    fn face(t: u64, x: f32, seed: u32) -> TrackedFace {
        TrackedFace {
            timestamp_ms: t,
            faces: 1,
            bbox: Some(BoundingBox::new(x, 100.0, x + 150.0, 280.0)),
            thumbnail: Some(thumb(seed)),
        }
    }

    #[test]
    fn a_steady_noisy_track_is_consistent() {
        let frames: Vec<_> = (0..10)
            .map(|i| face(i * 66, 200.0 + i as f32 * 3.0, i as u32))
            .collect();
        let e = check_temporal(&frames, &TemporalLimits::default());
        assert!(e.consistent(), "{e:?}");
        assert!(e.min_frame_difference.unwrap() > 0.35);
    }

    #[test]
    fn a_repeated_frame_is_caught() {
        let mut frames: Vec<_> = (0..6).map(|i| face(i * 66, 200.0, i as u32)).collect();
        frames[3].thumbnail = frames[2].thumbnail.clone();
        let e = check_temporal(&frames, &TemporalLimits::default());
        assert_eq!(e.issues, vec![TemporalIssue::RepeatedFrames]);
        assert_eq!(e.repeated_frames, 1);
    }

    #[test]
    fn a_jump_to_another_face_breaks_the_track() {
        let mut frames: Vec<_> = (0..6).map(|i| face(i * 66, 100.0, i as u32)).collect();
        frames[4] = face(4 * 66, 420.0, 4);
        frames[5] = face(5 * 66, 420.0, 5);
        let e = check_temporal(&frames, &TemporalLimits::default());
        assert_eq!(e.issues, vec![TemporalIssue::TrackBroken]);
    }

    #[test]
    fn missing_faces_few_frames_and_time_order() {
        let mut frames: Vec<_> = (0..6).map(|i| face(i * 66, 100.0, i as u32)).collect();
        for f in &mut frames[..3] {
            f.bbox = None;
        }
        let e = check_temporal(&frames, &TemporalLimits::default());
        assert!(e.issues.contains(&TemporalIssue::FaceMissing), "{e:?}");
        let two = check_temporal(&frames[4..], &TemporalLimits::default());
        assert!(two.issues.contains(&TemporalIssue::TooFewFrames));
        let mut swapped: Vec<_> = (0..4).map(|i| face(i * 66, 100.0, i as u32)).collect();
        swapped.swap(1, 2);
        let e = check_temporal(&swapped, &TemporalLimits::default());
        assert!(e.issues.contains(&TemporalIssue::TimeNotIncreasing));
        let mut two_people: Vec<_> = (0..4).map(|i| face(i * 66, 100.0, i as u32)).collect();
        two_people[1].faces = 2;
        let e = check_temporal(&two_people, &TemporalLimits::default());
        assert!(
            e.consistent(),
            "one crowded frame in four is tolerated: {e:?}"
        );
        two_people[2].faces = 2;
        let e = check_temporal(&two_people, &TemporalLimits::default());
        assert!(e.issues.contains(&TemporalIssue::MultipleFaces));
    }
}
