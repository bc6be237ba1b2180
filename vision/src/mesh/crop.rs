//! The crop the face-mesh model expects, and the way back to the picture.
//!
//! `@vladmandic/human` (`src/face/blazeface.ts`, `facemeshutil.ts`) widens
//! the detector's box 1.4x about its centre, makes it square on its longer
//! side with corners rounded to whole pixels, and samples it to 192x192 RGB
//! in [0, 1] with TensorFlow's `cropAndResize`: bilinear, no antialiasing,
//! black outside the picture. The model then gives points in that crop's
//! pixels, depth in the same scale, which map back linearly.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::frame::RgbFrame;
use crate::geometry::BoundingBox;

/// Side of the model's input.
pub const MESH_INPUT_SIZE: u32 = 192;

/// How much the detector's box is widened (the package's `detector.scale`).
pub const MESH_CROP_SCALE: f32 = 1.4;

/// Crops larger than this many pixels a side are refused: a box that large
/// is not a face from a camera, and the square canvas would be costly.
const MAX_CROP_SIDE: i64 = 8192;

/// A square region of the picture, in whole pixels; it may reach past the
/// picture's edges, where it is black.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MeshCrop {
    pub left: i64,
    pub top: i64,
    pub side: u32,
}

impl MeshCrop {
    /// The square crop around a detector box, as the package computes it.
    pub fn around(face: &BoundingBox) -> Option<Self> {
        let (w, h) = (face.width(), face.height());
        if !w.is_finite() || !h.is_finite() || w <= 0.0 || h <= 0.0 {
            return None;
        }
        let c = face.centre();
        let half = MESH_CROP_SCALE * w.max(h) / 2.0;
        let left = (c.x - half).round() as i64;
        let top = (c.y - half).round() as i64;
        let right = (c.x + half).round() as i64;
        let side = right - left;
        (1..=MAX_CROP_SIDE).contains(&side).then_some(Self {
            left,
            top,
            side: side as u32,
        })
    }

    /// A point of the model's 192x192 input, in picture pixels; depth is
    /// scaled alike.
    pub fn to_picture(&self, p: [f32; 3]) -> [f32; 3] {
        let s = self.side as f32 / MESH_INPUT_SIZE as f32;
        [
            self.left as f32 + p[0] * s,
            self.top as f32 + p[1] * s,
            p[2] * s,
        ]
    }
}

/// The model input for a crop: RGB in [0, 1], NCHW.
pub fn crop_tensor(frame: &RgbFrame, crop: &MeshCrop) -> Zeroizing<Vec<f32>> {
    let rgb = resize_crop(frame, crop);
    let plane = (MESH_INPUT_SIZE * MESH_INPUT_SIZE) as usize;
    let mut out = Zeroizing::new(vec![0f32; 3 * plane]);
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        for (c, v) in px.iter().enumerate() {
            out[c * plane + i] = *v as f32 / 255.0;
        }
    }
    out
}

/// The crop copied onto a black square canvas (so that parts past the
/// picture's edge are black, as `cropAndResize` extrapolates them) and
/// sampled to 192x192 bilinearly without antialiasing.
fn resize_crop(frame: &RgbFrame, crop: &MeshCrop) -> Zeroizing<Vec<u8>> {
    let side = crop.side as usize;
    let mut canvas = Zeroizing::new(vec![0u8; side * side * 3]);
    let (fw, fh) = (frame.width() as i64, frame.height() as i64);
    let x0 = crop.left.max(0);
    let x1 = (crop.left + side as i64).min(fw);
    if x1 > x0 {
        let row_bytes = fw as usize * 3;
        for y in crop.top.max(0)..(crop.top + side as i64).min(fh) {
            let src = y as usize * row_bytes + x0 as usize * 3;
            let len = (x1 - x0) as usize * 3;
            let dst = (y - crop.top) as usize * side * 3 + (x0 - crop.left) as usize * 3;
            canvas[dst..dst + len].copy_from_slice(&frame.as_rgb()[src..src + len]);
        }
    }
    let src = ImageRef::new(crop.side, crop.side, &canvas, PixelType::U8x3)
        .expect("the canvas holds side*side*3 bytes");
    let mut dst = Image::new(MESH_INPUT_SIZE, MESH_INPUT_SIZE, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Interpolation(FilterType::Bilinear));
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .expect("pixel types match");
    Zeroizing::new(dst.into_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_is_square_widened_and_centred() {
        let c = MeshCrop::around(&BoundingBox::new(100.0, 50.0, 200.0, 180.0)).unwrap();
        // Longer side 130, widened to 182, centred on (150, 115).
        assert_eq!(
            c,
            MeshCrop {
                left: 59,
                top: 24,
                side: 182
            }
        );
        let p = c.to_picture([96.0, 96.0, 19.2]);
        assert!(
            (p[0] - 150.0).abs() < 0.01 && (p[1] - 115.0).abs() < 0.01,
            "{p:?}"
        );
        assert!((p[2] - 18.2).abs() < 0.01, "{p:?}");
        assert!(MeshCrop::around(&BoundingBox::new(5.0, 5.0, 5.0, 9.0)).is_none());
    }

    #[test]
    fn outside_the_picture_is_black_and_inside_is_kept() {
        let frame = RgbFrame::from_rgb(64, 64, vec![200; 64 * 64 * 3]).unwrap();
        // A crop whose left half lies outside the picture.
        let crop = MeshCrop {
            left: -64,
            top: 0,
            side: 128,
        };
        let t = crop_tensor(&frame, &crop);
        let plane = (MESH_INPUT_SIZE * MESH_INPUT_SIZE) as usize;
        assert_eq!(t.len(), 3 * plane);
        let at = |x: usize, y: usize| t[y * MESH_INPUT_SIZE as usize + x];
        assert_eq!(at(10, 10), 0.0);
        assert!((at(150, 10) - 200.0 / 255.0).abs() < 1e-6);
        assert!(at(150, 180) == 0.0, "rows below the picture are black");
    }
}
