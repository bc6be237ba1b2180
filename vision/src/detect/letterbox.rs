//! Fitting any picture into a detector plan: scale the long side to the plan
//! size, keep the aspect ratio, pad right and bottom to a multiple of 32.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::frame::RgbFrame;

/// BGR means RetinaFace subtracts; padding gets these values so it reads as zero.
const BGR_MEAN: [f32; 3] = [104.0, 117.0, 123.0];

/// RetinaFace's coarsest stride: plan sides are multiples of it.
const ALIGN: u32 = 32;

/// How a picture maps into a plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    pub plan_w: u32,
    pub plan_h: u32,
    pub resized_w: u32,
    pub resized_h: u32,
    /// Picture pixels per plan pixel, per axis.
    pub inv_scale_x: f32,
    pub inv_scale_y: f32,
}

impl Letterbox {
    pub fn new(width: u32, height: u32, long_side: u32) -> Self {
        let scale = long_side as f64 / width.max(height) as f64;
        let resized_w = ((width as f64 * scale).round() as u32).clamp(1, long_side);
        let resized_h = ((height as f64 * scale).round() as u32).clamp(1, long_side);
        Self {
            plan_w: resized_w.div_ceil(ALIGN) * ALIGN,
            plan_h: resized_h.div_ceil(ALIGN) * ALIGN,
            resized_w,
            resized_h,
            inv_scale_x: width as f32 / resized_w as f32,
            inv_scale_y: height as f32 / resized_h as f32,
        }
    }

    /// The NCHW BGR tensor RetinaFace expects, mean-subtracted, padded with zeros.
    pub fn tensor(&self, frame: &RgbFrame) -> Vec<f32> {
        let resized;
        let pixels: &[u8] = if (frame.width(), frame.height()) == (self.resized_w, self.resized_h) {
            frame.as_rgb()
        } else {
            resized = resize(frame, self.resized_w, self.resized_h);
            &resized
        };
        let (pw, ph) = (self.plan_w as usize, self.plan_h as usize);
        let plane = pw * ph;
        let mut out = vec![0f32; 3 * plane];
        let rw = self.resized_w as usize;
        for y in 0..self.resized_h as usize {
            let row = &pixels[y * rw * 3..(y + 1) * rw * 3];
            for (x, px) in row.chunks_exact(3).enumerate() {
                let i = y * pw + x;
                out[i] = px[2] as f32 - BGR_MEAN[0];
                out[plane + i] = px[1] as f32 - BGR_MEAN[1];
                out[2 * plane + i] = px[0] as f32 - BGR_MEAN[2];
            }
        }
        out
    }
}

/// Bilinear resize (antialiased on downscale, which suits detection).
fn resize(frame: &RgbFrame, w: u32, h: u32) -> zeroize::Zeroizing<Vec<u8>> {
    let src = ImageRef::new(
        frame.width(),
        frame.height(),
        frame.as_rgb(),
        PixelType::U8x3,
    )
    .expect("RgbFrame holds width*height*3 bytes");
    let mut dst = Image::new(w, h, PixelType::U8x3);
    Resizer::new()
        .resize(
            &src,
            &mut dst,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear)),
        )
        .expect("same pixel type on both sides");
    zeroize::Zeroizing::new(dst.into_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_aspect_and_aligns_to_32() {
        let lb = Letterbox::new(640, 480, 320);
        assert_eq!((lb.resized_w, lb.resized_h), (320, 240));
        assert_eq!((lb.plan_w, lb.plan_h), (320, 256));
        assert_eq!(lb.inv_scale_x, 2.0);
        let tall = Letterbox::new(250, 1000, 640);
        assert_eq!((tall.resized_w, tall.resized_h), (160, 640));
        assert_eq!((tall.plan_w, tall.plan_h), (160, 640));
        let tiny = Letterbox::new(1, 5000, 320);
        assert_eq!(tiny.resized_w, 1);
        assert_eq!(tiny.plan_w, 32);
    }

    #[test]
    fn tensor_is_bgr_minus_mean_with_neutral_padding() {
        let frame = RgbFrame::from_rgb(2, 1, vec![10, 20, 30, 40, 50, 60]).unwrap();
        let lb = Letterbox::new(2, 1, 2);
        let t = lb.tensor(&frame);
        let plane = (lb.plan_w * lb.plan_h) as usize;
        assert_eq!(t.len(), 3 * plane);
        assert_eq!(t[0], 30.0 - 104.0); // B of pixel 0
        assert_eq!(t[plane + 1], 50.0 - 117.0); // G of pixel 1
        assert_eq!(t[2 * plane], 10.0 - 123.0); // R of pixel 0
        assert_eq!(t[2], 0.0); // padding
    }
}
