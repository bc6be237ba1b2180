//! Reflection cue: glare on the glass of a screen or the gloss of a photo.
//!
//! A screen's glass or a glossy print mirrors the room's lights as patches
//! where every channel clips at once (white, saturated in all three). Skin
//! has specular highlights too, on the forehead and the nose, but small
//! ones. The cue is the share of the face box's central part that is
//! clipped white.
//!
//! Limits, stated plainly: a replay in a dim room or on a matte screen
//! shows no glare; a sweaty or oily face under strong light shows some.
//! Its limit is set on live faces only, as a budget of live refusals.

use serde::Serialize;

use crate::frame::{RgbFrame, luma};
use crate::geometry::BoundingBox;

/// A pixel is clipped white when its darkest channel is at least this.
const CLIPPED: u8 = 245;
/// The central share of the face box read (skin, not background).
const INNER: f32 = 0.8;

/// The reflection evidence of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GlareCue {
    /// Share of the face's inner box that is clipped white, 0..1.
    pub clipped_share: f32,
}

/// How the face is lit: what the quality layer turns into guidance
/// ([`crate::quality::exposure_issue`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FaceExposure {
    /// Mean luma (BT.601, 0..255) of the face's inner box.
    pub brightness: f32,
    /// Share of the face's inner box that is clipped white, 0..1.
    pub clipped_share: f32,
}

/// Reads the glare cue on the face, or `None` when the box holds no pixel.
pub fn glare_cue(frame: &RgbFrame, face: &BoundingBox) -> Option<GlareCue> {
    face_exposure(frame, face).map(|e| GlareCue {
        clipped_share: e.clipped_share,
    })
}

/// Measures the light on the face's inner box, or `None` when the box holds
/// no pixel.
pub fn face_exposure(frame: &RgbFrame, face: &BoundingBox) -> Option<FaceExposure> {
    let (fw, fh) = (face.width(), face.height());
    if !(fw >= 1.0 && fh >= 1.0) {
        return None;
    }
    let c = face.centre();
    let clamp_x = |v: f32| v.clamp(0.0, frame.width() as f32) as u32;
    let clamp_y = |v: f32| v.clamp(0.0, frame.height() as f32) as u32;
    let (x0, x1) = (
        clamp_x(c.x - 0.5 * INNER * fw),
        clamp_x(c.x + 0.5 * INNER * fw),
    );
    let (y0, y1) = (
        clamp_y(c.y - 0.5 * INNER * fh),
        clamp_y(c.y + 0.5 * INNER * fh),
    );
    let (mut clipped, mut total, mut luma_sum) = (0u64, 0u64, 0f64);
    for y in y0..y1 {
        for x in x0..x1 {
            let px = frame.pixel(x, y);
            total += 1;
            luma_sum += f64::from(luma(px));
            if px[0].min(px[1]).min(px[2]) >= CLIPPED {
                clipped += 1;
            }
        }
    }
    (total > 0).then(|| FaceExposure {
        brightness: (luma_sum / total as f64) as f32,
        clipped_share: clipped as f32 / total as f32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FACE: BoundingBox = BoundingBox::new(20.0, 20.0, 120.0, 120.0);

    #[test]
    fn a_white_patch_on_the_face_is_measured() {
        // A clipped white square of 40x40 in an inner box of 80x80: a quarter.
        let f = RgbFrame::painted(140, 140, |x, y| {
            if (50..90).contains(&x) && (50..90).contains(&y) {
                [255, 252, 250]
            } else {
                [180, 130, 110]
            }
        });
        let cue = glare_cue(&f, &FACE).unwrap();
        assert!((cue.clipped_share - 0.25).abs() < 0.01, "{cue:?}");
    }

    #[test]
    fn bright_but_coloured_skin_is_not_glare() {
        let f = RgbFrame::painted(140, 140, |_, _| [255, 220, 200]);
        assert_eq!(glare_cue(&f, &FACE).unwrap().clipped_share, 0.0);
    }

    #[test]
    fn exposure_reads_brightness_and_clipping() {
        let f = RgbFrame::painted(
            140,
            140,
            |x, _| {
                if x < 70 { [255, 255, 255] } else { [0, 0, 0] }
            },
        );
        let e = face_exposure(&f, &FACE).unwrap();
        assert!((e.clipped_share - 0.5).abs() < 0.02, "{e:?}");
        assert!((e.brightness - 127.5).abs() < 5.0, "{e:?}");
    }

    #[test]
    fn boxes_outside_the_picture_or_empty_give_no_cue() {
        let f = RgbFrame::painted(32, 32, |_, _| [255, 255, 255]);
        assert!(glare_cue(&f, &BoundingBox::new(100.0, 100.0, 200.0, 200.0)).is_none());
        assert!(glare_cue(&f, &BoundingBox::new(5.0, 5.0, 5.0, 5.0)).is_none());
        assert!(glare_cue(&f, &BoundingBox::new(f32::NAN, 5.0, 9.0, 9.0)).is_none());
    }
}
