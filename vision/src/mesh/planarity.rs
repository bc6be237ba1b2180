//! Is the face a plane? A homography test over dense landmarks.
//!
//! Every point of a flat picture moved rigidly in front of a pinhole camera
//! maps from one frame to the next by a single homography. A real head that
//! turns does not: the nose, the cheeks and the face's outline sit at
//! different depths and slide against each other. So the homography fitted
//! (least squares, normalised DLT) between two frames' landmarks leaves a
//! residual near the landmark noise for a print and a larger one for a head.
//!
//! Without rotation a head maps by a homography too, so each pair also
//! measures how far the face turned, from the mesh's own 3-D points; pairs
//! that barely turned say nothing and are left out of the statistic, which
//! keeps "did not move" apart from "moved, and is flat".

use serde::Serialize;

use super::linalg::symmetric_eigen;

/// One landmark: `x`, `y` in pixels, `z` depth in the same scale (0 for a
/// detector's 2-D landmarks).
pub type MeshPoint = [f32; 3];

/// What one pair of frames says.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PlanarityPair {
    /// RMS distance between the second frame's points and the first frame's
    /// mapped by the best homography, in units of the second frame's point
    /// spread (RMS distance of its 2-D points from their centroid).
    pub residual: f32,
    /// Angle, in degrees, of the best rotation between the two frames' 3-D
    /// point sets once centred and scaled alike.
    pub rotation_deg: f32,
}

/// Limits of the burst test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PlanarityLimits {
    /// Pairs whose 3-D rotation is below this (degrees) are not used.
    pub min_rotation_deg: f32,
    /// A burst whose statistic is below this is called planar.
    pub max_planar_residual: f32,
}

/// From the NUAA train split (bursts of 5, `examples/mesh_planarity.rs`):
/// the live bursts' 1st percentile of the statistic is 0.007 on every
/// leave-one-person-out training set, so below that a burst is called
/// planar. Out of fold that refuses about 1% of live bursts but only 4% of
/// prints: the cue is measured, not adopted, and these limits are what the
/// figures were taken with.
impl Default for PlanarityLimits {
    fn default() -> Self {
        Self {
            min_rotation_deg: 2.0,
            max_planar_residual: 0.007,
        }
    }
}

/// What the dense landmarks say about the face's shape over a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PlanarityVerdict {
    /// The face turned and its landmarks moved as one plane.
    Planar,
    /// The face turned and its landmarks did not move as one plane.
    NotPlanar,
    /// No pair of frames turned enough to tell.
    InsufficientMotion,
}

/// The burst statistic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PlanarityEvidence {
    /// Median residual over the pairs that turned enough (0 if none).
    pub residual: f32,
    /// 90th percentile of the same residuals.
    pub residual_p90: f32,
    /// Largest rotation between any two frames, degrees.
    pub max_rotation_deg: f32,
    /// Pairs that turned enough and were measured.
    pub moving_pairs: usize,
    /// All pairs that could be measured.
    pub pairs: usize,
    pub verdict: PlanarityVerdict,
}

/// Residual and rotation between two frames' landmarks (same points, same
/// order). `None` for fewer than five points, or points without spread.
pub fn planarity(points_a: &[MeshPoint], points_b: &[MeshPoint]) -> Option<PlanarityPair> {
    if points_a.len() != points_b.len() || points_a.len() < 5 {
        return None;
    }
    let residual = homography_residual(points_a, points_b)?;
    let rotation_deg = rotation_angle(points_a, points_b)?.to_degrees() as f32;
    Some(PlanarityPair {
        residual: residual as f32,
        rotation_deg,
    })
}

/// Measures every pair of a burst's frames and decides.
pub fn burst_planarity(frames: &[&[MeshPoint]], limits: &PlanarityLimits) -> PlanarityEvidence {
    let mut moving = Vec::new();
    let mut pairs = 0;
    let mut max_rotation = 0f32;
    for (i, a) in frames.iter().enumerate() {
        for b in &frames[i + 1..] {
            let Some(pair) = planarity(a, b) else {
                continue;
            };
            pairs += 1;
            max_rotation = max_rotation.max(pair.rotation_deg);
            if pair.rotation_deg >= limits.min_rotation_deg {
                moving.push(pair.residual);
            }
        }
    }
    moving.sort_by(f32::total_cmp);
    let residual = nearest_rank(&moving, 0.5);
    let verdict = if moving.is_empty() {
        PlanarityVerdict::InsufficientMotion
    } else if residual < limits.max_planar_residual {
        PlanarityVerdict::Planar
    } else {
        PlanarityVerdict::NotPlanar
    };
    PlanarityEvidence {
        residual,
        residual_p90: nearest_rank(&moving, 0.9),
        max_rotation_deg: max_rotation,
        moving_pairs: moving.len(),
        pairs,
        verdict,
    }
}

/// Nearest-rank quantile of sorted values; 0 for none.
fn nearest_rank(sorted: &[f32], q: f32) -> f32 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f32).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Hartley's normalisation: the similarity that moves the points' centroid
/// to the origin and their mean distance from it to sqrt(2), so that the DLT
/// is well conditioned whatever the pixel scale. Also returns the RMS
/// distance from the centroid, the unit the residual is given in.
fn normalisation(points: &[MeshPoint]) -> Option<([[f64; 3]; 3], f64)> {
    let n = points.len() as f64;
    let cx = points.iter().map(|p| p[0] as f64).sum::<f64>() / n;
    let cy = points.iter().map(|p| p[1] as f64).sum::<f64>() / n;
    let dist = |p: &MeshPoint| ((p[0] as f64 - cx).powi(2) + (p[1] as f64 - cy).powi(2)).sqrt();
    let mean = points.iter().map(dist).sum::<f64>() / n;
    let rms = (points.iter().map(|p| dist(p).powi(2)).sum::<f64>() / n).sqrt();
    if mean.is_nan() || mean <= 1e-9 {
        return None;
    }
    let s = std::f64::consts::SQRT_2 / mean;
    Some(([[s, 0.0, -s * cx], [0.0, s, -s * cy], [0.0, 0.0, 1.0]], rms))
}

fn apply(t: &[[f64; 3]; 3], p: &MeshPoint) -> Option<(f64, f64)> {
    let (x, y) = (p[0] as f64, p[1] as f64);
    let w = t[2][0] * x + t[2][1] * y + t[2][2];
    if w.abs() < 1e-12 {
        return None;
    }
    Some((
        (t[0][0] * x + t[0][1] * y + t[0][2]) / w,
        (t[1][0] * x + t[1][1] * y + t[1][2]) / w,
    ))
}

/// The homography from `a` to `b` by normalised DLT (the least-squares null
/// vector of the stacked constraints), and the RMS transfer error in units
/// of `b`'s spread. The error is measured in normalised coordinates, whose
/// scale is `b`'s spread up to the fixed ratio recorded by `normalisation`.
fn homography_residual(a: &[MeshPoint], b: &[MeshPoint]) -> Option<f64> {
    let (ta, _) = normalisation(a)?;
    let (tb, rms_b) = normalisation(b)?;
    let mut ata = [[0f64; 9]; 9];
    let mut na = Vec::with_capacity(a.len());
    let mut nb = Vec::with_capacity(b.len());
    for (pa, pb) in a.iter().zip(b) {
        let (x, y) = apply(&ta, pa)?;
        let (u, v) = apply(&tb, pb)?;
        na.push((x, y));
        nb.push((u, v));
        let rows = [
            [-x, -y, -1.0, 0.0, 0.0, 0.0, u * x, u * y, u],
            [0.0, 0.0, 0.0, -x, -y, -1.0, v * x, v * y, v],
        ];
        for row in &rows {
            for i in 0..9 {
                for j in 0..9 {
                    ata[i][j] += row[i] * row[j];
                }
            }
        }
    }
    let (_, vectors) = symmetric_eigen(ata);
    let h = vectors[0];
    let hn = [[h[0], h[1], h[2]], [h[3], h[4], h[5]], [h[6], h[7], h[8]]];
    // Normalised units are sqrt(2)/mean-distance; convert to RMS-spread units.
    let scale_b = tb[0][0];
    let mut sum = 0.0;
    for ((x, y), (u, v)) in na.iter().zip(&nb) {
        let w = hn[2][0] * x + hn[2][1] * y + hn[2][2];
        if w.abs() < 1e-12 {
            return None;
        }
        let px = (hn[0][0] * x + hn[0][1] * y + hn[0][2]) / w;
        let py = (hn[1][0] * x + hn[1][1] * y + hn[1][2]) / w;
        sum += (px - u).powi(2) + (py - v).powi(2);
    }
    let rms_normalised = (sum / na.len() as f64).sqrt();
    Some(rms_normalised / scale_b / rms_b)
}

/// Angle (radians) of the rotation that best aligns `a`'s 3-D points with
/// `b`'s once both are centred and scaled to unit RMS radius (Horn's
/// quaternion method: the largest eigenvector of a 4x4 symmetric matrix).
fn rotation_angle(a: &[MeshPoint], b: &[MeshPoint]) -> Option<f64> {
    let centred = |pts: &[MeshPoint]| -> Option<Vec<[f64; 3]>> {
        let n = pts.len() as f64;
        let mut c = [0f64; 3];
        for p in pts {
            for k in 0..3 {
                c[k] += p[k] as f64 / n;
            }
        }
        let out: Vec<[f64; 3]> = pts
            .iter()
            .map(|p| [p[0] as f64 - c[0], p[1] as f64 - c[1], p[2] as f64 - c[2]])
            .collect();
        let r = (out
            .iter()
            .map(|q| q.iter().map(|v| v * v).sum::<f64>())
            .sum::<f64>()
            / n)
            .sqrt();
        (r > 1e-9).then(|| out.iter().map(|q| q.map(|v| v / r)).collect())
    };
    let (pa, pb) = (centred(a)?, centred(b)?);
    let mut m = [[0f64; 3]; 3];
    for (p, q) in pa.iter().zip(&pb) {
        for i in 0..3 {
            for j in 0..3 {
                m[i][j] += p[i] * q[j];
            }
        }
    }
    let [[sxx, sxy, sxz], [syx, syy, syz], [szx, szy, szz]] = m;
    let n = [
        [sxx + syy + szz, syz - szy, szx - sxz, sxy - syx],
        [syz - szy, sxx - syy - szz, sxy + syx, szx + sxz],
        [szx - sxz, sxy + syx, -sxx + syy - szz, syz + szy],
        [sxy - syx, szx + sxz, syz + szy, -sxx - syy + szz],
    ];
    let (_, vectors) = symmetric_eigen(n);
    let q = vectors[3];
    Some(2.0 * q[0].abs().min(1.0).acos())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator, so the tests need no crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
        fn range(&mut self, lo: f64, hi: f64) -> f64 {
            lo + (hi - lo) * self.next()
        }
    }

    /// 468 points on a face-like surface, unit radius: a dome with a nose.
    fn face_points(rng: &mut Rng) -> Vec<[f64; 3]> {
        (0..468)
            .map(|_| {
                let (x, y) = (rng.range(-1.0, 1.0), rng.range(-1.2, 1.2));
                let dome = 0.5 * (1.0 - (x * x + y * y / 1.44)).max(0.0);
                let nose = 0.4 * (-(x * x + y * y) / 0.05).exp();
                [x, y, -(dome + nose)]
            })
            .collect()
    }

    fn rotate_y(p: [f64; 3], deg: f64) -> [f64; 3] {
        let (s, c) = deg.to_radians().sin_cos();
        [c * p[0] + s * p[2], p[1], -s * p[0] + c * p[2]]
    }

    /// Pinhole camera 8 face radii away, 200 px per radius, centred at
    /// (320, 240); the landmark's z is kept in pixels as the mesh gives it.
    fn project(p: [f64; 3]) -> MeshPoint {
        let depth = 8.0 + p[2];
        let f = 200.0 * 8.0;
        [
            (320.0 + f * p[0] / depth) as f32,
            (240.0 + f * p[1] / depth) as f32,
            (200.0 * p[2]) as f32,
        ]
    }

    #[test]
    fn a_plane_under_a_homography_leaves_no_residual() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        for _ in 0..5 {
            let a: Vec<MeshPoint> = (0..468)
                .map(|_| {
                    [
                        rng.range(200.0, 440.0) as f32,
                        rng.range(120.0, 360.0) as f32,
                        0.0,
                    ]
                })
                .collect();
            let h = [
                [
                    rng.range(0.9, 1.1),
                    rng.range(-0.1, 0.1),
                    rng.range(-20.0, 20.0),
                ],
                [
                    rng.range(-0.1, 0.1),
                    rng.range(0.9, 1.1),
                    rng.range(-20.0, 20.0),
                ],
                [rng.range(-2e-4, 2e-4), rng.range(-2e-4, 2e-4), 1.0],
            ];
            let b: Vec<MeshPoint> = a
                .iter()
                .map(|p| {
                    let (x, y) = apply(&h, p).unwrap();
                    [x as f32, y as f32, 0.0]
                })
                .collect();
            let pair = planarity(&a, &b).unwrap();
            assert!(pair.residual < 1e-5, "{pair:?}");
        }
    }

    #[test]
    fn a_head_turning_fifteen_degrees_leaves_a_clear_residual() {
        let mut rng = Rng(0x0dd_ba11_cafe_f00d);
        let face = face_points(&mut rng);
        let a: Vec<MeshPoint> = face.iter().map(|&p| project(p)).collect();
        let b: Vec<MeshPoint> = face.iter().map(|&p| project(rotate_y(p, 15.0))).collect();
        let head = planarity(&a, &b).unwrap();
        assert!(head.residual > 0.01, "{head:?}");
        assert!((head.rotation_deg - 15.0).abs() < 0.5, "{head:?}");

        // The same turn of a flat picture of that face: planar.
        let flat: Vec<[f64; 3]> = face.iter().map(|p| [p[0], p[1], 0.0]).collect();
        let a: Vec<MeshPoint> = flat.iter().map(|&p| project(p)).collect();
        let b: Vec<MeshPoint> = flat.iter().map(|&p| project(rotate_y(p, 15.0))).collect();
        let print = planarity(&a, &b).unwrap();
        assert!(print.residual < 1e-5, "{print:?}");
        assert!(head.residual > 1000.0 * print.residual.max(1e-7));
    }

    #[test]
    fn a_burst_without_rotation_is_insufficient_motion() {
        let mut rng = Rng(42);
        let face = face_points(&mut rng);
        // The head slides and comes closer, but does not turn.
        let frames: Vec<Vec<MeshPoint>> = (0..5)
            .map(|k| {
                face.iter()
                    .map(|&p| {
                        let q = project(p);
                        let s = 1.0 + 0.02 * k as f32;
                        [q[0] * s + 3.0 * k as f32, q[1] * s, q[2] * s]
                    })
                    .collect()
            })
            .collect();
        let refs: Vec<&[MeshPoint]> = frames.iter().map(Vec::as_slice).collect();
        let e = burst_planarity(&refs, &PlanarityLimits::default());
        assert_eq!(e.verdict, PlanarityVerdict::InsufficientMotion, "{e:?}");
        assert_eq!(e.pairs, 10);
        assert!(e.max_rotation_deg < 0.5, "{e:?}");
    }

    #[test]
    fn a_turning_print_is_planar_and_a_turning_head_is_not() {
        let mut rng = Rng(7);
        let face = face_points(&mut rng);
        let flat: Vec<[f64; 3]> = face.iter().map(|p| [p[0], p[1], 0.0]).collect();
        let burst = |pts: &[[f64; 3]]| -> Vec<Vec<MeshPoint>> {
            (0..5)
                .map(|k| {
                    pts.iter()
                        .map(|&p| project(rotate_y(p, 4.0 * k as f64)))
                        .collect()
                })
                .collect()
        };
        let limits = PlanarityLimits::default();
        let print = burst(&flat);
        let refs: Vec<&[MeshPoint]> = print.iter().map(Vec::as_slice).collect();
        assert_eq!(
            burst_planarity(&refs, &limits).verdict,
            PlanarityVerdict::Planar
        );
        let head = burst(&face);
        let refs: Vec<&[MeshPoint]> = head.iter().map(Vec::as_slice).collect();
        let e = burst_planarity(&refs, &limits);
        assert_eq!(e.verdict, PlanarityVerdict::NotPlanar, "{e:?}");
        assert_eq!(e.moving_pairs, 10);
    }

    #[test]
    fn too_few_or_degenerate_points_are_refused() {
        let p = [[1.0, 2.0, 0.0]; 5];
        assert!(planarity(&p, &p).is_none());
        assert!(planarity(&p[..4], &p[..4]).is_none());
    }
}
