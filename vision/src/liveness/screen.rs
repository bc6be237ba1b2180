//! Cues of a replay on a screen (or a print): frequency, border, glare.
//!
//! A screen is a grid of pixels. Filmed by a camera whose sensor is another
//! grid, the two beat against each other: moiré, a periodic pattern that puts
//! isolated peaks into the picture's spectrum where skin has a smooth,
//! falling one. A screen or a print also adds its own fine structure (pixel
//! grid, halftone) to the high frequencies.
//!
//! Both cues are read on the centre of the face box at the camera's own
//! resolution: resizing first would filter away exactly the pattern sought.
//! They are weak, camera-dependent signals (a sharp webcam sees more
//! moiré than a soft phone camera), which is why their threshold is set on
//! live faces only, as a budget of live frames allowed to fail.

use serde::Serialize;
use zeroize::Zeroizing;

use super::border::border_cue;
use super::glare::glare_cue;
use crate::frame::RgbFrame;
use crate::geometry::BoundingBox;

/// Side of the square patch analysed, pixels.
pub(crate) const PATCH: usize = 64;

/// The cues of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScreenCues {
    /// log10 of the strongest spectral peak over the median of its own
    /// frequency ring, in the mid and high band: high for moiré.
    pub moire: f32,
    /// Share of the spectrum's energy above a quarter of the sampling rate.
    pub high_frequency: f32,
    /// Straight edges framing the face on two opposite sides, 0..1 (see
    /// [`super::BorderCue`]); 0 when no background is in view.
    pub border: f32,
    /// Share of the face that is clipped white (see [`super::GlareCue`]).
    pub glare: f32,
}

/// Reads the cues on the face box and around it, or `None` when the box is
/// too small to hold a meaningful frequency patch.
pub fn screen_cues(frame: &RgbFrame, face: &BoundingBox) -> Option<ScreenCues> {
    let patch = face_patch(frame, face)?;
    let power = power_spectrum(&patch);
    let (moire, high_frequency) = cues_from_spectrum(&power);
    Some(ScreenCues {
        moire,
        high_frequency,
        border: border_cue(frame, face).map_or(0.0, |c| c.support),
        glare: glare_cue(frame, face).map_or(0.0, |c| c.clipped_share),
    })
}

/// The centre 60% of the face box (skin, not background), sampled into a
/// PATCH x PATCH grey patch at the largest whole-pixel stride that fits (on a
/// small face the patch reaches the box's edges); no smoothing.
fn face_patch(frame: &RgbFrame, face: &BoundingBox) -> Option<Zeroizing<Vec<f32>>> {
    // Below PATCH pixels the patch would be mostly background.
    let short = face.width().min(face.height());
    if short.is_nan() || short < PATCH as f32 {
        return None;
    }
    let side = 0.6 * face.width().min(face.height());
    let stride = ((side / PATCH as f32).floor() as u32).max(1);
    let span = stride as f32 * PATCH as f32;
    let c = face.centre();
    let x0 = (c.x - span / 2.0).round().max(0.0) as u32;
    let y0 = (c.y - span / 2.0).round().max(0.0) as u32;
    let (w, h) = (frame.width(), frame.height());
    let mut out = Zeroizing::new(Vec::with_capacity(PATCH * PATCH));
    for j in 0..PATCH as u32 {
        let y = (y0 + j * stride).min(h - 1);
        for i in 0..PATCH as u32 {
            let x = (x0 + i * stride).min(w - 1);
            out.push(frame.grey(x, y));
        }
    }
    Some(out)
}

/// |DFT|² of the mean-removed, Hann-windowed patch (separable DFT, rows then
/// columns), in natural bin order.
fn power_spectrum(patch: &[f32]) -> Vec<f32> {
    let n = PATCH;
    let mean = patch.iter().sum::<f32>() / patch.len() as f32;
    let hann: Vec<f32> = (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / n as f32).cos())
        .collect();
    let (cos, sin): (Vec<f32>, Vec<f32>) = (0..n)
        .map(|k| {
            let a = 2.0 * std::f32::consts::PI * k as f32 / n as f32;
            (a.cos(), a.sin())
        })
        .unzip();
    // Rows: real input to complex.
    let mut re = vec![0f32; n * n];
    let mut im = vec![0f32; n * n];
    for y in 0..n {
        let row: Vec<f32> = (0..n)
            .map(|x| (patch[y * n + x] - mean) * hann[x] * hann[y])
            .collect();
        for u in 0..n {
            let (mut a, mut b) = (0f32, 0f32);
            for (x, v) in row.iter().enumerate() {
                let k = (u * x) % n;
                a += v * cos[k];
                b -= v * sin[k];
            }
            re[y * n + u] = a;
            im[y * n + u] = b;
        }
    }
    // Columns: complex to complex.
    let mut power = vec![0f32; n * n];
    for u in 0..n {
        for v in 0..n {
            let (mut a, mut b) = (0f32, 0f32);
            for y in 0..n {
                let k = (v * y) % n;
                let (c, s) = (cos[k], sin[k]);
                let (r, i) = (re[y * n + u], im[y * n + u]);
                a += r * c + i * s;
                b += i * c - r * s;
            }
            power[v * n + u] = a * a + b * b;
        }
    }
    power
}

/// Signed frequency of a bin index, in bins.
fn signed(k: usize) -> i32 {
    let n = PATCH as i32;
    let k = k as i32;
    if k > n / 2 { k - n } else { k }
}

/// (moiré, high-frequency share) of a patch's power spectrum.
fn cues_from_spectrum(power: &[f32]) -> (f32, f32) {
    let n = PATCH;
    // Bins by ring (integer radius), skipping the axes (edge leakage from
    // the patch border and straight hair or glasses lines) and the JPEG block
    // harmonics (multiples of n/8), which every compressed frame has.
    let block = (n / 8) as i32;
    let mut rings: Vec<Vec<f32>> = vec![Vec::new(); n / 2 + 1];
    let (mut total, mut high) = (0f64, 0f64);
    for v in 0..n {
        for u in 0..n {
            let (fu, fv) = (signed(u), signed(v));
            let r = ((fu * fu + fv * fv) as f32).sqrt();
            let p = power[v * n + u];
            if r >= 1.0 && r <= (n / 2) as f32 {
                total += f64::from(p);
                if r >= n as f32 / 4.0 {
                    high += f64::from(p);
                }
            }
            let on_grid = fu % block == 0 || fv % block == 0;
            let ring = r.round() as usize;
            if !on_grid && ring < rings.len() {
                rings[ring].push(p);
            }
        }
    }
    let (lo, hi) = (n * 8 / 100, n * 45 / 100);
    let mut moire = 0f32;
    for ring in rings.iter_mut().take(hi + 1).skip(lo) {
        if ring.len() < 8 {
            continue;
        }
        ring.sort_by(f32::total_cmp);
        let median = ring[ring.len() / 2].max(1e-6);
        let peak = ring[ring.len() - 1];
        moire = moire.max((peak / median).log10());
    }
    let high_frequency = if total > 0.0 {
        (high / total) as f32
    } else {
        0.0
    };
    (moire, high_frequency)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_of(f: impl Fn(u32, u32) -> f32) -> RgbFrame {
        let (w, h) = (200u32, 200u32);
        let mut px = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                let v = f(x, y).clamp(0.0, 255.0) as u8;
                px.extend([v, v, v]);
            }
        }
        RgbFrame::from_rgb(w, h, px).unwrap()
    }

    /// A smooth shaded blob with a little deterministic noise: skin-like.
    fn smooth(x: u32, y: u32) -> f32 {
        let (dx, dy) = (x as f32 - 100.0, y as f32 - 100.0);
        // A hash, not a modulus of a linear form: that would be periodic.
        let mut h = x.wrapping_mul(0x9E37_79B9) ^ y.wrapping_mul(0x85EB_CA6B);
        h ^= h >> 15;
        h = h.wrapping_mul(0x2C1B_3C6D);
        h ^= h >> 12;
        let noise = (h % 17) as f32 * 0.3;
        150.0 - 0.002 * (dx * dx + dy * dy) + noise
    }

    #[test]
    fn a_fine_periodic_pattern_reads_as_moire_and_high_frequency() {
        let face = BoundingBox::new(0.0, 0.0, 200.0, 200.0);
        let skin = screen_cues(&frame_of(smooth), &face).unwrap();
        let grid = screen_cues(
            &frame_of(|x, y| smooth(x, y) + 30.0 * (2.2 * x as f32 + 1.4 * y as f32).sin()),
            &face,
        )
        .unwrap();
        assert!(grid.moire > skin.moire + 1.0, "{skin:?} {grid:?}");
        assert!(
            grid.high_frequency > skin.high_frequency,
            "{skin:?} {grid:?}"
        );
    }

    #[test]
    fn a_small_face_gives_no_cue() {
        let face = BoundingBox::new(0.0, 0.0, 40.0, 40.0);
        assert!(screen_cues(&frame_of(smooth), &face).is_none());
    }
}
