//! The template encoding: the quantised embedding, packed into polynomial
//! coefficients so that one ciphertext-by-plaintext product yields the inner
//! product in a single coefficient.
//!
//! The enrolled template y is placed as y_0 + y_1 X + ... + y_{d-1} X^{d-1}
//! and the probe x reversed, x_{d-1} + ... + x_0 X^{d-1}; coefficient d-1 of
//! their product (degrees stay below 2d - 1 < N, so nothing wraps) is
//! sum_i x_i y_i.

use zeroize::{Zeroize, Zeroizing};

use crate::SplitError;
use crate::params::{DEGREE, DIMENSION, MAX_VALUE, SCALE};

/// The coefficient of a product that holds the inner product.
pub const SCORE_COEFFICIENT: usize = DIMENSION - 1;

/// A quantised template: DIMENSION integers in [-127, 127], wiped on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, zeroize::ZeroizeOnDrop)]
pub struct Quantised(Vec<i64>);

impl std::fmt::Debug for Quantised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Quantised({} values)", self.0.len())
    }
}

impl Quantised {
    /// Normalises `embedding` to unit length, scales by [`SCALE`], rounds and clamps.
    pub fn from_embedding(embedding: &[f32]) -> Result<Self, SplitError> {
        let bad = SplitError::Embedding {
            expected: DIMENSION,
            actual: embedding.len(),
        };
        if embedding.len() != DIMENSION || embedding.iter().any(|v| !v.is_finite()) {
            return Err(bad);
        }
        let norm = embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm <= f32::EPSILON {
            return Err(bad);
        }
        Ok(Quantised(
            embedding
                .iter()
                .map(|v| ((v / norm * SCALE).round() as i64).clamp(-MAX_VALUE, MAX_VALUE))
                .collect(),
        ))
    }

    /// From the integer values (as carried in a sealed probe).
    pub fn from_values(values: Vec<i64>) -> Result<Self, SplitError> {
        let values = Quantised(values);
        let norm2: i64 = values.0.iter().map(|v| v * v).sum();
        if values.0.len() != DIMENSION
            || values.0.iter().any(|v| v.abs() > MAX_VALUE)
            || norm2 > max_norm_squared()
        {
            return Err(SplitError::Malformed("quantised template"));
        }
        Ok(values)
    }

    pub fn values(&self) -> &[i64] {
        &self.0
    }

    /// One byte per value, for the sealed probe.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.0.iter().map(|v| *v as i8 as u8).collect())
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SplitError> {
        Self::from_values(bytes.iter().map(|b| *b as i8 as i64).collect())
    }

    /// The plaintext score: the integer inner product the encrypted
    /// comparison computes.
    pub fn score(&self, other: &Quantised) -> i64 {
        self.0.iter().zip(&other.0).map(|(a, b)| a * b).sum()
    }

    /// Coefficients of the enrolled side (length N).
    pub(crate) fn enrolled_coefficients(&self) -> Zeroizing<Vec<i64>> {
        let mut c = Zeroizing::new(vec![0i64; DEGREE]);
        c[..DIMENSION].copy_from_slice(&self.0);
        c
    }

    /// Coefficients of the probe side, reversed and multiplied by `factor`
    /// (length N, centred integers).
    pub(crate) fn probe_coefficients(&self, factor: i64) -> Zeroizing<Vec<i64>> {
        let mut c = Zeroizing::new(vec![0i64; DEGREE]);
        for (i, v) in self.0.iter().enumerate() {
            c[DIMENSION - 1 - i] = v * factor;
        }
        c
    }
}

/// The largest squared norm of a quantised template: (SCALE + sqrt(d)/2)^2,
/// rounding included. The server refuses larger probes, which keeps every
/// score (Cauchy-Schwarz) and the comparison's noise within their bounds.
pub fn max_norm_squared() -> i64 {
    (f64::from(SCALE) + (DIMENSION as f64).sqrt() / 2.0)
        .powi(2)
        .floor() as i64
}

/// The integer threshold equivalent to accepting a Euclidean distance of at
/// most `distance` between unit embeddings (d^2 = 2 - 2 cos).
pub fn threshold_for_distance(distance: f32) -> i64 {
    let cos = 1.0 - f64::from(distance).powi(2) / 2.0;
    (cos * f64::from(SCALE) * f64::from(SCALE)).ceil() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn embedding(seed: u32) -> Vec<f32> {
        (0..DIMENSION)
            .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 - 500.0)
            .collect()
    }

    #[test]
    fn quantised_self_score_is_near_scale_squared() {
        let q = Quantised::from_embedding(&embedding(7)).unwrap();
        let s = q.score(&q) as f32;
        assert!((s - SCALE * SCALE).abs() < 0.05 * SCALE * SCALE, "{s}");
    }

    #[test]
    fn bytes_round_trip_and_bad_input_is_refused() {
        let q = Quantised::from_embedding(&embedding(3)).unwrap();
        assert_eq!(Quantised::from_bytes(&q.to_bytes()).unwrap(), q);
        assert!(Quantised::from_embedding(&[1.0; 3]).is_err());
        assert!(Quantised::from_embedding(&vec![0.0; DIMENSION]).is_err());
        assert!(Quantised::from_values(vec![128; DIMENSION]).is_err());
        assert!(Quantised::from_values(vec![127; DIMENSION]).is_err());
    }

    #[test]
    fn the_probe_is_reversed_and_scaled() {
        let q = Quantised::from_embedding(&embedding(5)).unwrap();
        let p = q.probe_coefficients(3);
        assert_eq!(p[DIMENSION - 1], 3 * q.values()[0]);
        assert_eq!(p[0], 3 * q.values()[DIMENSION - 1]);
        assert!(p[DIMENSION..].iter().all(|v| *v == 0));
    }

    #[test]
    fn threshold_matches_the_distance() {
        assert_eq!(threshold_for_distance(0.0), 16384);
        assert_eq!(threshold_for_distance(1.0), 8192);
    }
}
