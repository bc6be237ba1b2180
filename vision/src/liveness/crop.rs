//! The crops the MiniFASNet models were trained on.
//!
//! Silent-Face-Anti-Spoofing widens the detector's box by a fixed factor
//! around its centre (2.7x for V2, 4.0x for V1SE, so the models see the
//! surroundings of the face: paper edges, screen bezels, hands), keeps the
//! crop inside the picture, and resizes it to 80x80 with OpenCV's
//! `INTER_LINEAR`: plain bilinear sampling without antialiasing. A smoother
//! resize blurs away the texture the models look at.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use zeroize::Zeroizing;

use crate::frame::RgbFrame;
use crate::geometry::BoundingBox;

/// Side of the models' input.
pub const CROP_SIZE: u32 = 80;

/// An inclusive pixel rectangle of the picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropBox {
    pub left: u32,
    pub top: u32,
    pub right: u32,
    pub bottom: u32,
}

impl CropBox {
    pub fn width(&self) -> u32 {
        self.right - self.left + 1
    }

    pub fn height(&self) -> u32 {
        self.bottom - self.top + 1
    }
}

/// The crop for a face box and a widening factor, as Silent-Face computes it:
/// the box becomes integer `(x, y, w, h)`, the factor shrinks if the widened
/// box would not fit, and the box slides back inside the picture.
pub fn crop_box(frame_w: u32, frame_h: u32, face: &BoundingBox, factor: f64) -> Option<CropBox> {
    let (src_w, src_h) = (frame_w as f64, frame_h as f64);
    let x = face.x1.trunc() as f64;
    let y = face.y1.trunc() as f64;
    let box_w = (face.x2 - face.x1 + 1.0).trunc() as f64;
    let box_h = (face.y2 - face.y1 + 1.0).trunc() as f64;
    if box_w < 1.0 || box_h < 1.0 || frame_w < 2 || frame_h < 2 {
        return None;
    }
    let scale = factor.min((src_w - 1.0) / box_w).min((src_h - 1.0) / box_h);
    let (new_w, new_h) = (box_w * scale, box_h * scale);
    let (cx, cy) = (box_w / 2.0 + x, box_h / 2.0 + y);
    let (mut l, mut t) = (cx - new_w / 2.0, cy - new_h / 2.0);
    let (mut r, mut b) = (cx + new_w / 2.0, cy + new_h / 2.0);
    if l < 0.0 {
        r -= l;
        l = 0.0;
    }
    if t < 0.0 {
        b -= t;
        t = 0.0;
    }
    if r > src_w - 1.0 {
        l -= r - src_w + 1.0;
        r = src_w - 1.0;
    }
    if b > src_h - 1.0 {
        t -= b - src_h + 1.0;
        b = src_h - 1.0;
    }
    // Python's int() truncates toward zero.
    let clamp = |v: f64, max: f64| v.trunc().clamp(0.0, max) as u32;
    let crop = CropBox {
        left: clamp(l, src_w - 1.0),
        top: clamp(t, src_h - 1.0),
        right: clamp(r, src_w - 1.0),
        bottom: clamp(b, src_h - 1.0),
    };
    (crop.right >= crop.left && crop.bottom >= crop.top).then_some(crop)
}

/// Resizes the crop to 80x80 RGB with bilinear interpolation at a fixed
/// two-pixel support (no antialiasing), which samples as OpenCV's
/// `INTER_LINEAR` does.
pub fn resize_crop(frame: &RgbFrame, crop: &CropBox) -> Zeroizing<Vec<u8>> {
    // Copy the crop out first: OpenCV resizes the slice as a picture of its
    // own, replicating its border, whereas resizing with a crop window would
    // blend in pixels from outside the crop along its edges.
    let (w, h) = (crop.width() as usize, crop.height() as usize);
    let row_bytes = frame.width() as usize * 3;
    let mut cut = Zeroizing::new(Vec::with_capacity(w * h * 3));
    for y in crop.top as usize..=crop.bottom as usize {
        let start = y * row_bytes + crop.left as usize * 3;
        cut.extend_from_slice(&frame.as_rgb()[start..start + w * 3]);
    }
    let src = ImageRef::new(crop.width(), crop.height(), &cut, PixelType::U8x3)
        .expect("the cut holds width*height*3 bytes");
    let mut dst = Image::new(CROP_SIZE, CROP_SIZE, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Interpolation(FilterType::Bilinear));
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .expect("pixel types match");
    Zeroizing::new(dst.into_vec())
}

/// The model input: BGR, raw 0..255, NCHW.
pub fn to_bgr_tensor(rgb: &[u8]) -> Zeroizing<Vec<f32>> {
    let plane = (CROP_SIZE * CROP_SIZE) as usize;
    let mut out = Zeroizing::new(vec![0f32; 3 * plane]);
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        out[i] = px[2] as f32;
        out[plane + i] = px[1] as f32;
        out[2 * plane + i] = px[0] as f32;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OpenCV's `INTER_LINEAR` for 8-bit pictures, written out plainly:
    /// source coordinate `(d + 0.5) * scale - 0.5`, clamped at the borders.
    fn opencv_linear(frame: &RgbFrame, c: &CropBox, out: u32) -> Vec<u8> {
        let (sw, sh) = (c.width() as f64, c.height() as f64);
        let (scale_x, scale_y) = (sw / out as f64, sh / out as f64);
        let coord = |d: u32, scale: f64, len: f64| {
            let f = (d as f64 + 0.5) * scale - 0.5;
            let mut s = f.floor();
            let mut frac = f - s;
            if s < 0.0 {
                s = 0.0;
                frac = 0.0;
            }
            if s >= len - 1.0 {
                s = len - 1.0;
                frac = 0.0;
            }
            (s as u32, frac)
        };
        let mut v = Vec::new();
        for dy in 0..out {
            let (sy, fy) = coord(dy, scale_y, sh);
            for dx in 0..out {
                let (sx, fx) = coord(dx, scale_x, sw);
                let (x0, y0) = (c.left + sx, c.top + sy);
                let x1 = (x0 + 1).min(c.right);
                let y1 = (y0 + 1).min(c.bottom);
                for ch in 0..3 {
                    let p = |x, y| frame.pixel(x, y)[ch] as f64;
                    let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
                    let bot = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
                    v.push((top * (1.0 - fy) + bot * fy).round() as u8);
                }
            }
        }
        v
    }

    fn noisy_frame(w: u32, h: u32) -> RgbFrame {
        let mut state = 0x9e37_79b9u32;
        let px = (0..w * h * 3)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state >> 24) as u8
            })
            .collect();
        RgbFrame::from_rgb(w, h, px).unwrap()
    }

    #[test]
    fn resize_samples_like_opencv_linear() {
        let frame = noisy_frame(640, 480);
        for crop in [
            CropBox {
                left: 100,
                top: 50,
                right: 369,
                bottom: 319,
            }, // 270 -> 80, downscale
            CropBox {
                left: 0,
                top: 0,
                right: 59,
                bottom: 39,
            }, // upscale
            CropBox {
                left: 300,
                top: 200,
                right: 639,
                bottom: 479,
            },
        ] {
            let ours = resize_crop(&frame, &crop);
            let reference = opencv_linear(&frame, &crop, CROP_SIZE);
            let worst = ours
                .iter()
                .zip(&reference)
                .map(|(a, b)| (*a as i32 - *b as i32).abs())
                .max()
                .unwrap();
            // Fixed-point rounding may differ by one level; an antialiasing
            // filter on noise would differ by tens.
            assert!(worst <= 1, "max difference {worst} for {crop:?}");
        }
    }

    #[test]
    fn crop_box_matches_silent_face_arithmetic() {
        // Face 100x100 at (270, 190) in 640x480, factor 2.7: 270x270 centred.
        let c = crop_box(640, 480, &BoundingBox::new(270.0, 190.0, 369.0, 289.0), 2.7).unwrap();
        assert_eq!(
            c,
            CropBox {
                left: 185,
                top: 105,
                right: 455,
                bottom: 375
            }
        );
        // A 150-pixel face at factor 4.0 does not fit vertically: the
        // factor drops to 479/150 and the crop spans the full height.
        let c = crop_box(640, 480, &BoundingBox::new(245.0, 165.0, 394.0, 314.0), 4.0).unwrap();
        assert_eq!((c.top, c.bottom), (0, 479));
        assert_eq!((c.left, c.right), (80, 559));
        // Near the left edge the crop slides right.
        let c = crop_box(640, 480, &BoundingBox::new(0.0, 190.0, 99.0, 289.0), 2.7).unwrap();
        assert_eq!(c.left, 0);
        assert_eq!(c.right, 270);
    }

    #[test]
    fn degenerate_boxes_have_no_crop() {
        assert!(crop_box(640, 480, &BoundingBox::new(5.0, 5.0, 3.0, 3.0), 2.7).is_none());
        assert!(crop_box(1, 1, &BoundingBox::new(0.0, 0.0, 1.0, 1.0), 2.7).is_none());
    }
}
