//! Geometric evidence: is the face in front of the camera flat?
//!
//! A print or a screen is a plane. However it is moved, every point on it
//! maps from one frame to the next by one homography (a plane seen by a
//! pinhole camera), so the four landmarks around the face (eyes and mouth
//! corners) fix where the fifth, the nose, must appear. A real head is not
//! flat: the nose tip stands about half an eye distance in front of the
//! eye-mouth plane, so when the head turns it moves against the homography
//! that the four others define. The size of that miss, in eye distances, is
//! the parallax.
//!
//! Without head rotation a real face shows no parallax either, so the test
//! has three outcomes: three-dimensional, flat (the four points moved out of
//! their plane but the nose followed them), or not enough movement to tell.
//! The challenge is what makes a real user move.

use serde::Serialize;

use crate::geometry::{Landmarks, Point};

/// Thresholds of the parallax test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ParallaxLimits {
    /// Nose miss, in eye distances, at and above which the face is taken as
    /// three-dimensional.
    pub min_parallax: f32,
    /// Nose miss below which a turned face is taken as flat.
    pub max_planar_parallax: f32,
    /// Anisotropy of the eye-mouth quadrilateral's motion (1 - the ratio of
    /// the singular values of its best affine map) showing that the plane
    /// turned; below it the burst did not move enough to call it flat.
    pub min_rotation: f32,
}

/// Set on the NUAA train split (bursts of 5), where the detector's landmark
/// noise is 0.02 to 0.15 eye distances on live faces and prints alike: only a
/// clearly turned plane (rotation 0.08) with the nose on it (miss under 0.02)
/// is called flat, which no live burst there was.
impl Default for ParallaxLimits {
    fn default() -> Self {
        Self {
            min_parallax: 0.08,
            max_planar_parallax: 0.02,
            min_rotation: 0.08,
        }
    }
}

/// What the landmark motion says about the face's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ParallaxVerdict {
    /// The nose moved against the eye-mouth plane.
    ThreeDimensional,
    /// The eye-mouth plane turned and the nose stayed on it: a flat face.
    Planar,
    /// Too little head rotation, or too few frames, to decide.
    InsufficientMotion,
}

/// The parallax test's measures over one burst.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ParallaxEvidence {
    /// Nose miss in eye distances: the 90th percentile over frame pairs.
    pub parallax: f32,
    /// Rotation of the eye-mouth plane: the 90th percentile over frame pairs.
    pub rotation: f32,
    /// Frame pairs measured.
    pub pairs: usize,
    pub verdict: ParallaxVerdict,
}

/// Measures parallax over every pair of frames of a burst.
pub fn measure_parallax(track: &[Landmarks], limits: &ParallaxLimits) -> ParallaxEvidence {
    let mut misses = Vec::new();
    let mut rotations = Vec::new();
    for (i, a) in track.iter().enumerate() {
        for b in &track[i + 1..] {
            if let Some((miss, rotation)) = pair_parallax(a, b) {
                misses.push(miss);
                rotations.push(rotation);
            }
        }
    }
    let parallax = percentile90(&mut misses);
    let rotation = percentile90(&mut rotations);
    let verdict = if misses.is_empty() {
        ParallaxVerdict::InsufficientMotion
    } else if parallax >= limits.min_parallax {
        ParallaxVerdict::ThreeDimensional
    } else if parallax < limits.max_planar_parallax && rotation >= limits.min_rotation {
        ParallaxVerdict::Planar
    } else {
        ParallaxVerdict::InsufficientMotion
    };
    ParallaxEvidence {
        parallax,
        rotation,
        pairs: misses.len(),
        verdict,
    }
}

/// Nearest-rank 90th percentile; 0 for no values. A percentile rather than
/// the maximum: one bad landmark fit must not make a print three-dimensional.
fn percentile90(values: &mut [f32]) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f32::total_cmp);
    let rank = ((0.9 * values.len() as f32).ceil() as usize).clamp(1, values.len());
    values[rank - 1]
}

fn quad(lm: &Landmarks) -> [Point; 4] {
    [lm.left_eye, lm.right_eye, lm.left_mouth, lm.right_mouth]
}

/// The nose miss (eye distances of `b`) and the plane's rotation between two
/// frames; `None` when a quadrilateral is degenerate.
pub(crate) fn pair_parallax(a: &Landmarks, b: &Landmarks) -> Option<(f32, f32)> {
    let eye = b.eye_distance();
    if eye.is_nan() || eye <= 1.0 {
        return None;
    }
    let h = Homography::fit(&quad(a), &quad(b))?;
    let predicted = h.apply(a.nose)?;
    let miss = predicted.distance(b.nose) / eye;
    let rotation = affine_anisotropy(&quad(a), &quad(b))?;
    (miss.is_finite() && rotation.is_finite()).then_some((miss, rotation))
}

/// A plane-to-plane projective map, row-major 3x3 with h33 = 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Homography([f64; 9]);

impl Homography {
    /// The exact homography through four correspondences (direct linear
    /// transform), in coordinates centred and scaled for conditioning.
    pub fn fit(src: &[Point; 4], dst: &[Point; 4]) -> Option<Self> {
        let (ns, ts) = Normaliser::of(src)?;
        let (nd, td) = Normaliser::of(dst)?;
        let mut m = [[0f64; 9]; 8];
        for k in 0..4 {
            let (x, y) = ts[k];
            let (u, v) = td[k];
            m[2 * k] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
            m[2 * k + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
        }
        let h = solve8(m)?;
        let hn = [h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1.0];
        // Undo the normalisations: H = Nd^-1 * Hn * Ns.
        let ns_m = ns.matrix();
        let nd_inv = nd.inverse_matrix();
        let full = mul3(&nd_inv, &mul3(&hn, &ns_m));
        let scale = full[8];
        if scale.abs() < 1e-12 {
            return None;
        }
        Some(Self(full.map(|v| v / scale)))
    }

    /// Where the map sends `p`; `None` at the line at infinity.
    pub fn apply(&self, p: Point) -> Option<Point> {
        let h = &self.0;
        let (x, y) = (f64::from(p.x), f64::from(p.y));
        let w = h[6] * x + h[7] * y + h[8];
        if w.abs() < 1e-12 {
            return None;
        }
        Some(Point::new(
            ((h[0] * x + h[1] * y + h[2]) / w) as f32,
            ((h[3] * x + h[4] * y + h[5]) / w) as f32,
        ))
    }
}

/// Centres points on their centroid and scales their mean distance to √2.
#[derive(Debug, Clone, Copy)]
struct Normaliser {
    cx: f64,
    cy: f64,
    s: f64,
}

impl Normaliser {
    fn of(points: &[Point; 4]) -> Option<(Self, [(f64, f64); 4])> {
        let cx = points.iter().map(|p| f64::from(p.x)).sum::<f64>() / 4.0;
        let cy = points.iter().map(|p| f64::from(p.y)).sum::<f64>() / 4.0;
        let mean = points
            .iter()
            .map(|p| (f64::from(p.x) - cx).hypot(f64::from(p.y) - cy))
            .sum::<f64>()
            / 4.0;
        if mean.is_nan() || mean <= 1e-9 {
            return None;
        }
        let n = Self {
            cx,
            cy,
            s: std::f64::consts::SQRT_2 / mean,
        };
        Some((
            n,
            points.map(|p| ((f64::from(p.x) - cx) * n.s, (f64::from(p.y) - cy) * n.s)),
        ))
    }

    fn matrix(&self) -> [f64; 9] {
        [
            self.s,
            0.0,
            -self.s * self.cx,
            0.0,
            self.s,
            -self.s * self.cy,
            0.0,
            0.0,
            1.0,
        ]
    }

    fn inverse_matrix(&self) -> [f64; 9] {
        let i = 1.0 / self.s;
        [i, 0.0, self.cx, 0.0, i, self.cy, 0.0, 0.0, 1.0]
    }
}

fn mul3(a: &[f64; 9], b: &[f64; 9]) -> [f64; 9] {
    std::array::from_fn(|k| {
        let (r, c) = (k / 3, k % 3);
        (0..3).map(|j| a[r * 3 + j] * b[j * 3 + c]).sum()
    })
}

/// Gaussian elimination with partial pivoting on an 8x8 system whose last
/// column is the right-hand side.
fn solve8(mut m: [[f64; 9]; 8]) -> Option<[f64; 8]> {
    for col in 0..8 {
        let pivot = (col..8).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[pivot][col].abs() < 1e-10 {
            return None;
        }
        m.swap(col, pivot);
        for row in 0..8 {
            if row != col {
                let f = m[row][col] / m[col][col];
                let pivot_row = m[col];
                for (v, p) in m[row][col..].iter_mut().zip(&pivot_row[col..]) {
                    *v -= f * p;
                }
            }
        }
    }
    Some(std::array::from_fn(|i| m[i][8] / m[i][i]))
}

/// 1 - σmin/σmax of the linear part of the least-squares affine map between
/// the quadrilaterals: 0 for a pure similarity (moving, scaling, rolling in
/// the picture), growing as the plane turns away from the camera.
fn affine_anisotropy(src: &[Point; 4], dst: &[Point; 4]) -> Option<f32> {
    let (_, s) = Normaliser::of(src)?;
    let (_, d) = Normaliser::of(dst)?;
    // Centred coordinates: the affine map's linear part is (SᵀS)⁻¹SᵀD.
    let (mut sxx, mut sxy, mut syy) = (0f64, 0f64, 0f64);
    let (mut xu, mut yu, mut xv, mut yv) = (0f64, 0f64, 0f64, 0f64);
    for k in 0..4 {
        let ((x, y), (u, v)) = (s[k], d[k]);
        sxx += x * x;
        sxy += x * y;
        syy += y * y;
        xu += x * u;
        yu += y * u;
        xv += x * v;
        yv += y * v;
    }
    let det = sxx * syy - sxy * sxy;
    if det.abs() < 1e-12 {
        return None;
    }
    let a = (syy * xu - sxy * yu) / det;
    let b = (sxx * yu - sxy * xu) / det;
    let c = (syy * xv - sxy * yv) / det;
    let d2 = (sxx * yv - sxy * xv) / det;
    // Singular values of [[a, b], [c, d]].
    let t = a * a + b * b + c * c + d2 * d2;
    let det_l = (a * d2 - b * c).abs();
    let root = (t * t - 4.0 * det_l * det_l).max(0.0).sqrt();
    let smax = ((t + root) / 2.0).sqrt();
    let smin = ((t - root) / 2.0).max(0.0).sqrt();
    if smax < 1e-12 {
        return None;
    }
    Some((1.0 - smin / smax) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::liveness::challenge::tests::head;

    /// A flat face (the nose on the eye-mouth plane) turned by yaw and pitch,
    /// seen in perspective from `distance` chip units away.
    fn flat_face(yaw: f32, pitch: f32) -> Landmarks {
        let front = head(0.0, 0.0, 0);
        let c = Point::new(320.0, 240.0);
        let (sy, cy) = yaw.to_radians().sin_cos();
        let (sp, cp) = pitch.to_radians().sin_cos();
        let f = 800.0;
        let map = |p: Point| {
            let (x, y) = (p.x - c.x, p.y - c.y);
            let (x1, z1) = (x * cy, -x * sy);
            let (y2, z2) = (y * cp + z1 * sp, -y * sp + z1 * cp);
            let w = f / (f + z2);
            Point::new(c.x + x1 * w, c.y + y2 * w)
        };
        Landmarks::from_array(front.to_array().map(map))
    }

    #[test]
    fn homography_through_four_points_maps_them_exactly() {
        let src = [
            Point::new(0.0, 0.0),
            Point::new(10.0, 0.0),
            Point::new(0.0, 10.0),
            Point::new(12.0, 11.0),
        ];
        let dst = [
            Point::new(5.0, 3.0),
            Point::new(16.0, 4.0),
            Point::new(4.0, 14.0),
            Point::new(19.0, 17.0),
        ];
        let h = Homography::fit(&src, &dst).unwrap();
        for (s, d) in src.iter().zip(&dst) {
            assert!(h.apply(*s).unwrap().distance(*d) < 1e-3);
        }
        let collinear = [Point::new(0.0, 0.0); 4];
        assert!(Homography::fit(&collinear, &dst).is_none());
    }

    #[test]
    fn a_turning_head_shows_parallax() {
        let track: Vec<Landmarks> = [-20.0, -10.0, 0.0, 10.0, 20.0]
            .iter()
            .enumerate()
            .map(|(i, &y)| head(y, 0.0, i as u32))
            .collect();
        let e = measure_parallax(&track, &ParallaxLimits::default());
        assert_eq!(e.verdict, ParallaxVerdict::ThreeDimensional, "{e:?}");
        assert!(e.parallax > 0.15, "{e:?}");
    }

    #[test]
    fn a_turning_print_is_planar() {
        let track: Vec<Landmarks> = [(-30.0, 0.0), (0.0, 0.0), (30.0, 10.0), (10.0, -25.0)]
            .iter()
            .map(|&(y, p)| flat_face(y, p))
            .collect();
        let e = measure_parallax(&track, &ParallaxLimits::default());
        assert!(e.parallax < 0.01, "{e:?}");
        assert_eq!(e.verdict, ParallaxVerdict::Planar, "{e:?}");
    }

    #[test]
    fn a_still_face_is_undecided() {
        let track: Vec<Landmarks> = (0..5).map(|i| head(0.0, 0.0, i)).collect();
        let e = measure_parallax(&track, &ParallaxLimits::default());
        assert_eq!(e.verdict, ParallaxVerdict::InsufficientMotion, "{e:?}");
        let one = measure_parallax(&track[..1], &ParallaxLimits::default());
        assert_eq!(one.pairs, 0);
        assert_eq!(one.verdict, ParallaxVerdict::InsufficientMotion);
    }
}
