//! Border cue: the straight edges of a phone, tablet, monitor or sheet of
//! paper framing the face.
//!
//! A replayed or printed face is shown on a flat object with straight
//! edges, and unless the attacker fills the whole view with it, two of its
//! opposite edges (left and right, or top and bottom) frame the face. A
//! live face has a background that may hold a straight line on one side
//! (a door frame, a shelf) but rarely a matching one on the opposite side.
//!
//! The cue is a small Hough transform on the grey picture around the face:
//! every strong edge pixel votes for the near-vertical (or near-horizontal)
//! lines through it, within ±[`MAX_TILT_DEG`] of the axis; a line's support
//! is the share of the region's height (width) its votes cover. The cue is
//! the weaker side's best support, for the better of the two pairs of
//! sides: 1.0 for an unbroken frame around the face, near 0 for none.
//!
//! Limits, stated plainly: an attacker who fills the camera's view with the
//! screen, or tilts it further than the search, leaves no frame to find;
//! a face cropped tight by the camera shows no background at all.

use serde::Serialize;

use crate::frame::RgbFrame;
use crate::geometry::BoundingBox;

/// How far around the face the edges are sought, in face widths (heights)
/// on each side.
const MARGIN: f32 = 1.5;
/// The region is sampled to at most this many pixels on its long side.
const MAX_SIDE: u32 = 160;
/// Tilt searched either side of the axes, degrees, and the step.
pub(crate) const MAX_TILT_DEG: f32 = 10.0;
const TILT_STEP_DEG: f32 = 2.5;
/// Grey-level difference between neighbours that makes an edge pixel.
const EDGE: f32 = 24.0;
/// A line must lie this far outside the face box (share of its size), so
/// the face's own outline does not count.
const CLEARANCE: f32 = 0.05;

/// The border evidence of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BorderCue {
    /// min(support left, support right) or the same for top and bottom,
    /// whichever pair is stronger: 0..1.
    pub support: f32,
}

/// Grey picture of the region around the face, sampled on a regular grid.
struct Region {
    grey: Vec<f32>,
    w: usize,
    h: usize,
    /// The face box in region-grid coordinates.
    face: BoundingBox,
}

fn region(frame: &RgbFrame, face: &BoundingBox) -> Option<Region> {
    let (fw, fh) = (face.width(), face.height());
    if !(fw >= 8.0 && fh >= 8.0) {
        return None;
    }
    let (iw, ih) = (frame.width() as f32, frame.height() as f32);
    let x0 = (face.x1 - MARGIN * fw).max(0.0).floor();
    let y0 = (face.y1 - MARGIN * fh).max(0.0).floor();
    let x1 = (face.x2 + MARGIN * fw).min(iw).ceil();
    let y1 = (face.y2 + MARGIN * fh).min(ih).ceil();
    if x1 - x0 < 8.0 || y1 - y0 < 8.0 {
        return None;
    }
    let step = ((x1 - x0).max(y1 - y0) / MAX_SIDE as f32).max(1.0);
    let w = ((x1 - x0) / step) as usize;
    let h = ((y1 - y0) / step) as usize;
    let mut grey = Vec::with_capacity(w * h);
    for j in 0..h {
        let y = ((y0 + (j as f32 + 0.5) * step) as u32).min(frame.height() - 1);
        for i in 0..w {
            let x = ((x0 + (i as f32 + 0.5) * step) as u32).min(frame.width() - 1);
            grey.push(frame.grey(x, y));
        }
    }
    let to_grid = |v: f32, origin: f32| (v - origin) / step;
    Some(Region {
        grey,
        w,
        h,
        face: BoundingBox::new(
            to_grid(face.x1, x0),
            to_grid(face.y1, y0),
            to_grid(face.x2, x0),
            to_grid(face.y2, y0),
        ),
    })
}

/// Reads the border cue around `face`, or `None` for a degenerate box or a
/// region too small to hold a line.
pub fn border_cue(frame: &RgbFrame, face: &BoundingBox) -> Option<BorderCue> {
    let r = region(frame, face)?;
    let vertical = side_support(&r, Axis::Vertical);
    let horizontal = side_support(&r, Axis::Horizontal);
    Some(BorderCue {
        support: vertical.max(horizontal),
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Axis {
    /// Lines running up and down (left and right edges).
    Vertical,
    /// Lines running across (top and bottom edges).
    Horizontal,
}

/// The weaker of the two sides' best line support along `axis`.
fn side_support(r: &Region, axis: Axis) -> f32 {
    // Work in (along, across) coordinates: for vertical lines "along" is y
    // and "across" is x.
    let (len_along, len_across) = match axis {
        Axis::Vertical => (r.h, r.w),
        Axis::Horizontal => (r.w, r.h),
    };
    let at = |along: usize, across: usize| match axis {
        Axis::Vertical => r.grey[along * r.w + across],
        Axis::Horizontal => r.grey[across * r.w + along],
    };
    let (face_lo, face_hi, face_mid) = match axis {
        Axis::Vertical => (r.face.x1, r.face.x2, 0.5 * (r.face.y1 + r.face.y2)),
        Axis::Horizontal => (r.face.y1, r.face.y2, 0.5 * (r.face.x1 + r.face.x2)),
    };
    let clearance = CLEARANCE * (face_hi - face_lo);
    let tilts: Vec<f32> = {
        let n = (MAX_TILT_DEG / TILT_STEP_DEG).round() as i32;
        (-n..=n)
            .map(|k| (k as f32 * TILT_STEP_DEG).to_radians().tan())
            .collect()
    };
    // votes[tilt][across bin]: how many rows (along positions) hold an edge
    // on that line; each along position votes at most once per line.
    let mut votes = vec![vec![0u32; len_across]; tilts.len()];
    let mut last_vote = vec![vec![usize::MAX; len_across]; tilts.len()];
    for along in 1..len_along.saturating_sub(1) {
        for across in 1..len_across.saturating_sub(1) {
            // An edge across the line's direction, stronger than any edge
            // along it.
            let d_across = at(along, across + 1) - at(along, across - 1);
            let d_along = at(along + 1, across) - at(along - 1, across);
            if d_across.abs() < EDGE || d_across.abs() < 2.0 * d_along.abs() {
                continue;
            }
            for (t, tan) in tilts.iter().enumerate() {
                // The line's position where it crosses the face's middle.
                let at_mid = across as f32 - (along as f32 - face_mid) * tan;
                let bin = at_mid.round();
                if bin < 0.0 || bin >= len_across as f32 {
                    continue;
                }
                let bin = bin as usize;
                if last_vote[t][bin] != along {
                    last_vote[t][bin] = along;
                    votes[t][bin] += 1;
                }
            }
        }
    }
    let span = len_along.saturating_sub(2).max(1) as f32;
    let (mut low_side, mut high_side) = (0f32, 0f32);
    for t in &votes {
        for (bin, &v) in t.iter().enumerate() {
            let support = v as f32 / span;
            let x = bin as f32;
            if x < face_lo - clearance {
                low_side = low_side.max(support);
            } else if x > face_hi + clearance {
                high_side = high_side.max(support);
            }
        }
    }
    low_side.min(high_side).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grey picture painted by `paint`.
    fn picture(w: u32, h: u32, paint: impl Fn(u32, u32) -> u8) -> RgbFrame {
        RgbFrame::painted(w, h, |x, y| [paint(x, y); 3])
    }

    const FACE: BoundingBox = BoundingBox::new(260.0, 180.0, 380.0, 300.0);

    #[test]
    fn a_frame_around_the_face_gives_full_support() {
        // A bright rectangle (a screen) from x 150..490, y 60..420 on dark.
        let f = picture(640, 480, |x, y| {
            if (150..490).contains(&x) && (60..420).contains(&y) {
                200
            } else {
                30
            }
        });
        let cue = border_cue(&f, &FACE).unwrap();
        assert!(cue.support > 0.5, "{cue:?}");
    }

    #[test]
    fn a_tilted_frame_is_found_too() {
        let tan = 6f32.to_radians().tan();
        let f = picture(640, 480, |x, y| {
            let shift = (y as f32 - 240.0) * tan;
            let xs = x as f32 - shift;
            if (150.0..490.0).contains(&xs) {
                200
            } else {
                30
            }
        });
        let cue = border_cue(&f, &FACE).unwrap();
        assert!(cue.support > 0.5, "{cue:?}");
    }

    #[test]
    fn one_line_on_one_side_is_not_a_frame() {
        // A door frame on the left only.
        let f = picture(640, 480, |x, _| if x < 150 { 200 } else { 30 });
        let cue = border_cue(&f, &FACE).unwrap();
        assert!(cue.support < 0.1, "{cue:?}");
    }

    #[test]
    fn a_plain_background_has_no_border() {
        let f = picture(640, 480, |x, y| ((x * 7 + y * 3) % 9) as u8 + 100);
        assert!(border_cue(&f, &FACE).unwrap().support < 0.1);
    }

    #[test]
    fn the_face_outline_itself_does_not_count() {
        // A bright face box on dark: its own edges are inside the clearance.
        let f = picture(640, 480, |x, y| {
            if (260..380).contains(&x) && (180..300).contains(&y) {
                200
            } else {
                30
            }
        });
        assert!(border_cue(&f, &FACE).unwrap().support < 0.1);
    }

    #[test]
    fn degenerate_boxes_give_no_cue() {
        let f = picture(64, 64, |_, _| 100);
        assert!(border_cue(&f, &BoundingBox::new(10.0, 10.0, 12.0, 12.0)).is_none());
        assert!(border_cue(&f, &BoundingBox::new(f32::NAN, 0.0, 10.0, 10.0)).is_none());
    }
}
