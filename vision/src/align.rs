//! Alignment: a least-squares similarity transform from the five detected
//! landmarks onto fixed points of a 150x150 chip, then resampling the chip.
//!
//! The target points come from dlib's mean face shape with 0.25 padding, the
//! framing the dlib ResNet was trained on.

use zeroize::Zeroizing;

use crate::frame::RgbFrame;
use crate::geometry::{Landmarks, Point};

/// Side of the chip the embedding network takes.
pub const CHIP_SIZE: u32 = 150;

/// Where the five landmarks go in the chip (pixel-centre coordinates).
pub const CHIP_LANDMARKS: [[f32; 2]; 5] = [
    [47.549, 46.599],
    [100.476, 46.599],
    [74.013, 76.562],
    [50.415, 103.023],
    [97.610, 103.023],
];

/// `dst = [a -b; b a] * src + [tx, ty]`: rotation, uniform scale, shift.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    pub a: f32,
    pub b: f32,
    pub tx: f32,
    pub ty: f32,
}

impl Similarity {
    /// The least-squares similarity mapping `src` onto `dst` (Umeyama 1991,
    /// restricted to proper rotations, in closed form for 2-D).
    pub fn fit(src: &[Point], dst: &[Point]) -> Option<Self> {
        if src.len() != dst.len() || src.len() < 2 {
            return None;
        }
        let n = src.len() as f64;
        let mean = |ps: &[Point]| {
            let (sx, sy) = ps
                .iter()
                .fold((0f64, 0f64), |(x, y), p| (x + p.x as f64, y + p.y as f64));
            (sx / n, sy / n)
        };
        let (msx, msy) = mean(src);
        let (mdx, mdy) = mean(dst);
        let (mut num_a, mut num_b, mut den) = (0f64, 0f64, 0f64);
        for (s, d) in src.iter().zip(dst) {
            let (sx, sy) = (s.x as f64 - msx, s.y as f64 - msy);
            let (dx, dy) = (d.x as f64 - mdx, d.y as f64 - mdy);
            num_a += sx * dx + sy * dy;
            num_b += sx * dy - sy * dx;
            den += sx * sx + sy * sy;
        }
        if den <= f64::EPSILON || !den.is_finite() {
            return None;
        }
        let (a, b) = (num_a / den, num_b / den);
        let tx = mdx - (a * msx - b * msy);
        let ty = mdy - (b * msx + a * msy);
        let t = Self {
            a: a as f32,
            b: b as f32,
            tx: tx as f32,
            ty: ty as f32,
        };
        (t.scale() > 0.0 && [t.a, t.b, t.tx, t.ty].iter().all(|v| v.is_finite())).then_some(t)
    }

    pub fn apply(&self, p: Point) -> Point {
        Point::new(
            self.a * p.x - self.b * p.y + self.tx,
            self.b * p.x + self.a * p.y + self.ty,
        )
    }

    pub fn inverse(&self) -> Self {
        let s2 = self.a * self.a + self.b * self.b;
        let (a, b) = (self.a / s2, -self.b / s2);
        Self {
            a,
            b,
            tx: -(a * self.tx - b * self.ty),
            ty: -(b * self.tx + a * self.ty),
        }
    }

    pub fn scale(&self) -> f32 {
        (self.a * self.a + self.b * self.b).sqrt()
    }
}

/// A 150x150 RGB face chip, wiped on drop.
pub struct AlignedFace {
    pixels: Zeroizing<Vec<u8>>,
}

impl AlignedFace {
    /// Packed RGB, 150 * 3 bytes a row.
    pub fn as_rgb(&self) -> &[u8] {
        &self.pixels
    }

    /// The chip flipped left to right. The chip landmarks are symmetric about
    /// the vertical centre line, so the mirror is itself an aligned face.
    pub fn mirrored(&self) -> AlignedFace {
        let side = CHIP_SIZE as usize;
        let mut out = Zeroizing::new(vec![0u8; self.pixels.len()]);
        for y in 0..side {
            for x in 0..side {
                let s = (y * side + x) * 3;
                let d = (y * side + (side - 1 - x)) * 3;
                out[d..d + 3].copy_from_slice(&self.pixels[s..s + 3]);
            }
        }
        AlignedFace { pixels: out }
    }
}

impl std::fmt::Debug for AlignedFace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AlignedFace(150x150, <redacted>)")
    }
}

/// The transform from picture coordinates to chip pixel centres.
pub fn chip_transform(landmarks: &Landmarks) -> Option<Similarity> {
    // Landmarks are continuous coordinates; the chip points are pixel-centre
    // indices, so move the source onto the same convention first.
    let src = landmarks
        .to_array()
        .map(|p| Point::new(p.x - 0.5, p.y - 0.5));
    let dst = CHIP_LANDMARKS.map(|[x, y]| Point::new(x, y));
    Similarity::fit(&src, &dst)
}

/// Cuts the aligned chip out of the frame. Returns `None` for degenerate
/// landmarks (all in one point). Outside the frame the chip is black.
///
/// Each chip pixel is the mean of `sub x sub` bilinear samples of the frame
/// (one when the face is not shrunk much). Rows of samples are taken in turn,
/// each pixel summing its samples in the same order as a per-pixel loop would,
/// so the chip does not depend on how the loops are arranged.
pub fn align(frame: &RgbFrame, landmarks: &Landmarks) -> Option<AlignedFace> {
    let to_chip = chip_transform(landmarks)?;
    let to_src = to_chip.inverse();
    // Picture pixels per chip pixel. When a big face shrinks a lot, average
    // several samples per chip pixel so the chip is not aliased.
    let step = 1.0 / to_chip.scale();
    let sub = (step / 1.5).ceil().clamp(1.0, 8.0) as usize;
    let side = CHIP_SIZE as usize;
    // Sample offsets inside a chip pixel, in chip pixel units.
    let offsets: Vec<f32> = (0..sub).map(|s| (s as f32 + 0.5) / sub as f32).collect();
    let sampler = Sampler::new(frame);
    let mut out = Zeroizing::new(vec![0u8; side * side * 3]);
    let mut sums = Zeroizing::new(vec![[0f32; 3]; side]);
    let inv = 1.0 / (sub * sub) as f32;
    for v in 0..side {
        sums.fill([0.0; 3]);
        for &dv in &offsets {
            let cv = v as f32 + dv - 0.5;
            // `to_src.apply(cu, cv)` with the `cv` products taken once a row.
            let (bcv, acv) = (to_src.b * cv, to_src.a * cv);
            for (u, sum) in sums.iter_mut().enumerate() {
                for &du in &offsets {
                    let cu = u as f32 + du - 0.5;
                    let x = to_src.a * cu - bcv + to_src.tx;
                    let y = to_src.b * cu + acv + to_src.ty;
                    let px = sampler.bilinear(x, y);
                    for c in 0..3 {
                        sum[c] += px[c];
                    }
                }
            }
        }
        let row = &mut out[v * side * 3..(v + 1) * side * 3];
        for (o, sum) in row.chunks_exact_mut(3).zip(sums.iter()) {
            for c in 0..3 {
                o[c] = round_to_byte(sum[c] * inv);
            }
        }
    }
    Some(AlignedFace { pixels: out })
}

/// `x.floor()` for `x > -1`, without the library call `floor` is on x86-64
/// without SSE4.1: truncation is the floor of a non-negative number.
#[inline]
fn floor_above_minus_one(x: f32) -> i64 {
    if x >= 0.0 { x as i64 } else { -1 }
}

/// `v.round().clamp(0.0, 255.0) as u8` (halves away from zero) without the
/// library call: for `v >= 0` the fraction `v - trunc(v)` is exact.
#[inline]
fn round_to_byte(v: f32) -> u8 {
    if v.is_nan() || v <= 0.0 {
        return 0;
    }
    if v >= 255.0 {
        return 255;
    }
    let whole = v as u32;
    let up = u32::from(v - whole as f32 >= 0.5);
    (whole + up).min(255) as u8
}

/// Bilinear sampling of one frame at pixel-index coordinates; black outside.
struct Sampler<'a> {
    pixels: &'a [u8],
    width: i64,
    height: i64,
    stride: usize,
}

impl<'a> Sampler<'a> {
    fn new(frame: &'a RgbFrame) -> Self {
        Sampler {
            pixels: frame.as_rgb(),
            width: i64::from(frame.width()),
            height: i64::from(frame.height()),
            stride: frame.width() as usize * 3,
        }
    }

    #[inline]
    fn bilinear(&self, x: f32, y: f32) -> [f32; 3] {
        let (w, h) = (self.width, self.height);
        if !(x > -1.0 && y > -1.0 && x < w as f32 && y < h as f32) {
            return [0.0; 3];
        }
        let (x0, y0) = (floor_above_minus_one(x), floor_above_minus_one(y));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        if x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h {
            // Inside the frame, the common case: read the 2x2 block directly.
            let top_at = y0 as usize * self.stride + x0 as usize * 3;
            let top: &[u8; 6] = self.pixels[top_at..top_at + 6]
                .try_into()
                .expect("six bytes");
            let bottom: &[u8; 6] = self.pixels[top_at + self.stride..top_at + self.stride + 6]
                .try_into()
                .expect("six bytes");
            let mut out = [0f32; 3];
            for c in 0..3 {
                let t = top[c] as f32 + (top[c + 3] as f32 - top[c] as f32) * fx;
                let b = bottom[c] as f32 + (bottom[c + 3] as f32 - bottom[c] as f32) * fx;
                out[c] = t + (b - t) * fy;
            }
            return out;
        }
        let get = |xi: i64, yi: i64| -> [f32; 3] {
            if xi < 0 || yi < 0 || xi >= w || yi >= h {
                [0.0; 3]
            } else {
                let at = yi as usize * self.stride + xi as usize * 3;
                let p = &self.pixels[at..at + 3];
                [p[0] as f32, p[1] as f32, p[2] as f32]
            }
        };
        let (p00, p10, p01, p11) = (
            get(x0, y0),
            get(x0 + 1, y0),
            get(x0, y0 + 1),
            get(x0 + 1, y0 + 1),
        );
        let mut out = [0f32; 3];
        for c in 0..3 {
            let top = p00[c] + (p10[c] - p00[c]) * fx;
            let bottom = p01[c] + (p11[c] - p01[c]) * fx;
            out[c] = top + (bottom - top) * fy;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chip_points() -> Vec<Point> {
        CHIP_LANDMARKS
            .iter()
            .map(|&[x, y]| Point::new(x, y))
            .collect()
    }

    #[test]
    fn fit_recovers_a_known_similarity() {
        let truth = Similarity {
            a: 0.8,
            b: -0.3,
            tx: 12.0,
            ty: -4.0,
        };
        let src = chip_points();
        let dst: Vec<Point> = src.iter().map(|&p| truth.apply(p)).collect();
        let t = Similarity::fit(&src, &dst).unwrap();
        for (got, want) in [
            (t.a, truth.a),
            (t.b, truth.b),
            (t.tx, truth.tx),
            (t.ty, truth.ty),
        ] {
            assert!((got - want).abs() < 1e-4, "{got} vs {want}");
        }
        let back = t.inverse().apply(t.apply(Point::new(3.0, 7.0)));
        assert!((back.x - 3.0).abs() < 1e-4 && (back.y - 7.0).abs() < 1e-4);
    }

    /// The chip computed pixel by pixel, the way `align` was first written:
    /// the rearranged loops must give the same bytes.
    fn align_per_pixel(frame: &RgbFrame, landmarks: &Landmarks) -> Option<Vec<u8>> {
        let to_chip = chip_transform(landmarks)?;
        let to_src = to_chip.inverse();
        let step = 1.0 / to_chip.scale();
        let sub = (step / 1.5).ceil().clamp(1.0, 8.0) as usize;
        let side = CHIP_SIZE as usize;
        let sampler = Sampler::new(frame);
        let mut out = vec![0u8; side * side * 3];
        let inv = 1.0 / (sub * sub) as f32;
        for v in 0..side {
            for u in 0..side {
                let mut acc = [0f32; 3];
                for sv in 0..sub {
                    for su in 0..sub {
                        let cu = u as f32 + (su as f32 + 0.5) / sub as f32 - 0.5;
                        let cv = v as f32 + (sv as f32 + 0.5) / sub as f32 - 0.5;
                        let p = to_src.apply(Point::new(cu, cv));
                        let px = sampler.bilinear(p.x, p.y);
                        for c in 0..3 {
                            acc[c] += px[c];
                        }
                    }
                }
                let o = (v * side + u) * 3;
                for c in 0..3 {
                    out[o + c] = (acc[c] * inv).round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        Some(out)
    }

    #[test]
    fn rearranged_loops_give_the_per_pixel_chip() {
        // A textured frame, faces of several sizes and angles, some reaching
        // past the edges (the black border and the edge samples).
        let (w, h) = (640u32, 480u32);
        let mut px = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                let v = (x * 7 + y * 13 + (x * y) % 17) as u8;
                px.extend_from_slice(&[v, v.wrapping_mul(3), 255 - v]);
            }
        }
        let frame = RgbFrame::from_rgb(w, h, px).unwrap();
        for (scale, angle, cx, cy) in [
            (0.6f32, 0.0f32, 320.0f32, 240.0f32),
            (2.0, 0.3, 300.0, 220.0),
            (4.5, -0.5, 330.0, 250.0),
            (9.0, 1.2, 320.0, 240.0),
            (3.0, 0.1, 20.0, 460.0),
        ] {
            let (c, s) = (angle.cos(), angle.sin());
            let lm = Landmarks::from_array(CHIP_LANDMARKS.map(|[x, y]| {
                let (dx, dy) = ((x - 75.0) * scale, (y - 75.0) * scale);
                Point::new(cx + c * dx - s * dy, cy + s * dx + c * dy)
            }));
            let chip = align(&frame, &lm).unwrap();
            assert_eq!(chip.as_rgb(), &align_per_pixel(&frame, &lm).unwrap()[..]);
        }
    }

    #[test]
    fn the_shortcuts_agree_with_floor_and_round() {
        for k in 1..1000 {
            let x = -(k as f32) / 1000.0;
            assert_eq!(floor_above_minus_one(x), x.floor() as i64, "{x}");
            assert_eq!(round_to_byte(x), 0);
        }
        // Every 7919th float from 0 to 300.
        let mut x = 0f32;
        while x < 300.0 {
            assert_eq!(floor_above_minus_one(x), x.floor() as i64, "{x}");
            assert_eq!(round_to_byte(x), x.round().clamp(0.0, 255.0) as u8, "{x}");
            x = f32::from_bits(x.to_bits() + 7919);
        }
        for v in [
            0.0f32,
            0.5,
            1.5,
            2.5,
            0.499_999_97,
            254.5,
            254.499_98,
            255.0,
            256.0,
            -0.4,
        ] {
            assert_eq!(round_to_byte(v), v.round().clamp(0.0, 255.0) as u8, "{v}");
        }
    }

    #[test]
    fn degenerate_points_are_refused() {
        let same = vec![Point::new(1.0, 1.0); 5];
        assert!(Similarity::fit(&same, &chip_points()).is_none());
        assert!(Similarity::fit(&chip_points()[..1], &chip_points()[..1]).is_none());
    }

    #[test]
    fn chip_puts_landmarks_where_they_belong() {
        // A frame whose pixel value encodes its x coordinate; landmarks at
        // twice the chip positions: the chip samples every other column.
        let (w, h) = (300u32, 300u32);
        let mut px = Vec::with_capacity((w * h * 3) as usize);
        for _y in 0..h {
            for x in 0..w {
                let v = (x / 2).min(255) as u8;
                px.extend_from_slice(&[v, v, v]);
            }
        }
        let frame = RgbFrame::from_rgb(w, h, px).unwrap();
        let lm = Landmarks::from_array(
            CHIP_LANDMARKS.map(|[x, y]| Point::new((x + 0.5) * 2.0, (y + 0.5) * 2.0)),
        );
        let chip = align(&frame, &lm).unwrap();
        let at = |u: usize, v: usize| chip.as_rgb()[(v * 150 + u) * 3];
        assert!((at(10, 75) as i32 - 10).abs() <= 1, "{}", at(10, 75));
        assert!((at(140, 20) as i32 - 140).abs() <= 1, "{}", at(140, 20));
        let m = chip.mirrored();
        assert_eq!(m.as_rgb()[(75 * 150 + 139) * 3], at(10, 75));
    }
}
