//! The parameters of the scheme, fixed for every tenant.
//!
//! BFV: ring degree N = 4096 and the three ciphertext moduli fhe 0.1.1 lists
//! for 128-bit security at that degree (36 + 36 + 37 = 109 bits), the bound of
//! the HomomorphicEncryption.org standard for N = 4096 at 128-bit classical
//! security (log Q <= 109). The plaintext modulus t = 2^30 holds the masked
//! comparison with room to spare; the remaining noise budget is measured by
//! [`crate::noise`] and printed by the bench.

use std::sync::Arc;

use fhe::bfv::BfvParametersBuilder;

pub use fhe::bfv::BfvParameters as Parameters;

use crate::SplitError;

/// Ring degree.
pub const DEGREE: usize = 4096;
/// Ciphertext moduli, 109 bits in all.
pub const MODULI: [u64; 3] = [0xffffee001, 0xffffc4001, 0x1ffffe0001];
/// log2 of the plaintext modulus.
pub const PLAINTEXT_BITS: u32 = 30;
/// Plaintext modulus.
pub const PLAINTEXT_MODULUS: u64 = 1 << PLAINTEXT_BITS;

/// Values per template (the embedding dimension).
pub const DIMENSION: usize = faceseal_protect::EMBEDDING_DIM;
/// An L2-normalised embedding is multiplied by this and rounded, so an inner
/// product of two templates lies within +-(SCALE + sqrt(DIMENSION)/2)^2.
pub const SCALE: f32 = 128.0;
/// Each quantised value is clamped to +-this (it fits an i8).
pub const MAX_VALUE: i64 = 127;
/// Bound on |score - threshold| for any two templates and any threshold in
/// [`threshold_range`]: 2^16.
pub const SCORE_SPAN_BITS: u32 = 16;

/// The mask multiplier r is drawn in [2^(MASK_BITS-1), 2^MASK_BITS).
pub const MASK_BITS: u32 = 12;
/// Statistical security of the noise flooding, in bits: the flooding noise is
/// at least 2^FLOOD_MARGIN_BITS times the bound on the comparison's noise.
pub const FLOOD_MARGIN_BITS: u32 = 40;
/// Bound (log2) on the noise of a masked comparison before flooding, checked by
/// the tests against the measured noise.
pub const COMPARISON_NOISE_BITS: u32 = 34;
/// Flooding noise is uniform in [-2^FLOOD_BITS, 2^FLOOD_BITS).
pub const FLOOD_BITS: u32 = COMPARISON_NOISE_BITS + FLOOD_MARGIN_BITS;

/// The range an integer score threshold must lie in.
pub fn threshold_range() -> std::ops::RangeInclusive<i64> {
    let bound = ((SCALE as f64 + (DIMENSION as f64).sqrt() / 2.0).powi(2)).ceil() as i64;
    -bound..=bound
}

/// The BFV parameters.
pub fn bfv() -> Result<Arc<Parameters>, SplitError> {
    Ok(BfvParametersBuilder::new()
        .set_degree(DEGREE)
        .set_moduli(&MODULI)
        .set_plaintext_modulus(PLAINTEXT_MODULUS)
        .build_arc()?)
}

/// log2 of Q, rounded up: 109.
pub const LOG_Q: u32 = {
    let mut bits = 0;
    let mut i = 0;
    while i < MODULI.len() {
        bits += 64 - MODULI[i].leading_zeros();
        i += 1;
    }
    bits
};

// |r (s - theta) + r'| < 2^(MASK_BITS + SCORE_SPAN_BITS) must stay below t/2.
const _: () = assert!(MASK_BITS + SCORE_SPAN_BITS < PLAINTEXT_BITS - 1);
// Flooding plus comparison noise must stay below Delta / 2 = Q / 2t.
const _: () = assert!(FLOOD_BITS + 1 < LOG_Q - 1 - PLAINTEXT_BITS - 1);
// The HomomorphicEncryption.org bound for N = 4096 at 128-bit security.
const _: () = assert!(DEGREE == 4096 && LOG_Q <= 109);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_and_thresholds_fit_the_span() {
        let span = 1i64 << SCORE_SPAN_BITS;
        let bound = *threshold_range().end();
        assert!(2 * bound < span, "scores and thresholds exceed the span");
        assert_eq!(bfv().unwrap().degree(), DEGREE);
    }
}
