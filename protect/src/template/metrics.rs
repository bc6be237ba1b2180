//! Unlinkability of protected templates: the global measure `D↔sys` of
//! Gomez-Barrero, Galbally, Rathgeb and Busch, "General Framework to Evaluate
//! Unlinkability in Biometric Template Protection Systems", IEEE TIFS 13(6),
//! 2018, pp. 1406–1420.
//!
//! The inputs are cross-key scores: the same subject's templates made under
//! two different keys (mated) and different subjects' templates under two
//! different keys (non-mated). `D↔sys` is 0 when the two score distributions
//! coincide (the keys unlink the templates) and 1 when they are disjoint
//! (every pair can be linked).

use super::{ProtectedTemplate, TemplateError};

/// The score of two templates made under different keys (tenants, subjects or
/// key versions), computed as an attacker trying to link them would: the
/// fraction of equal hash indices, ignoring the key version that
/// [`ProtectedTemplate::compare`] refuses to mix. For linkability and
/// renewability evaluation only; never a verification decision.
///
/// Fails if the templates differ in scheme or parameters.
pub fn cross_key_score(a: &ProtectedTemplate, b: &ProtectedTemplate) -> Result<f64, TemplateError> {
    if a.params() != b.params() {
        return Err(TemplateError::ParameterMismatch);
    }
    let equal = a
        .indices()
        .iter()
        .zip(b.indices())
        .filter(|(x, y)| x == y)
        .count();
    Ok(equal as f64 / a.indices().len() as f64)
}

/// `D↔sys` with `ω = 1` (equal priors) and the reference number of bins,
/// `min(⌊len(mated) / 10⌋, 100)` (at least 1).
///
/// Returns NaN if either list is empty or holds a non-finite score.
pub fn linkability_dsys(mated: &[f64], nonmated: &[f64]) -> f64 {
    let bins = (mated.len() / 10).clamp(1, 100);
    linkability_dsys_with(mated, nonmated, 1.0, bins)
}

/// `D↔sys` with an explicit prior ratio `ω = P(mated) / P(non-mated)` and
/// number of histogram bins, computed as the authors' reference code does:
///
/// 1. `bins` equal-width bins spanning the smallest to the largest score of
///    both lists (the last bin closed on the right);
/// 2. histogram densities `p_m`, `p_nm` of each list;
/// 3. per bin, `LR = p_m / p_nm` (1 where `p_nm = 0`), and the local measure
///    `D↔(s) = 2 ωLR / (1 + ωLR) − 1` where `ωLR > 1`, else 0; a bin with
///    mated but no non-mated scores gets `D↔ = 1`;
/// 4. `D↔sys = ∫ p_m(s) D↔(s) ds` by the trapezoidal rule over the bin centres.
///
/// Returns NaN if either list is empty, a score is not finite, `ω` is not
/// positive and finite, or `bins` is 0; returns 0 when every score is equal.
pub fn linkability_dsys_with(mated: &[f64], nonmated: &[f64], omega: f64, bins: usize) -> f64 {
    if mated.is_empty()
        || nonmated.is_empty()
        || bins == 0
        || !(omega.is_finite() && omega > 0.0)
        || mated.iter().chain(nonmated).any(|s| !s.is_finite())
    {
        return f64::NAN;
    }
    let (lo, hi) = mated
        .iter()
        .chain(nonmated)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &s| {
            (lo.min(s), hi.max(s))
        });
    if hi <= lo {
        return 0.0;
    }
    let width = (hi - lo) / bins as f64;
    let pm = density(mated, lo, hi, bins);
    let pnm = density(nonmated, lo, hi, bins);
    let local: Vec<f64> = pm
        .iter()
        .zip(&pnm)
        .map(|(&m, &n)| {
            if n == 0.0 {
                return if m != 0.0 { 1.0 } else { 0.0 };
            }
            let wlr = omega * m / n;
            if wlr <= 1.0 {
                0.0
            } else {
                2.0 * wlr / (1.0 + wlr) - 1.0
            }
        })
        .collect();
    // Trapezoidal rule on equally spaced bin centres.
    let f: Vec<f64> = local.iter().zip(&pm).map(|(d, p)| d * p).collect();
    f.windows(2).map(|w| 0.5 * (w[0] + w[1]) * width).sum()
}

/// Normalised histogram (integrates to 1 over `[lo, hi]`), numpy-style bins.
fn density(scores: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<f64> {
    let mut counts = vec![0usize; bins];
    let width = (hi - lo) / bins as f64;
    for &s in scores {
        let b = if s >= hi {
            bins - 1
        } else {
            (((s - lo) / width) as usize).min(bins - 1)
        };
        counts[b] += 1;
    }
    let total = scores.len() as f64 * width;
    counts.into_iter().map(|c| c as f64 / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic spread of `n` points over `[a, b)`.
    fn spread(n: usize, a: f64, b: f64) -> Vec<f64> {
        (0..n)
            .map(|i| a + (b - a) * ((i as f64 * 0.618_034) % 1.0))
            .collect()
    }

    #[test]
    fn identical_distributions_are_unlinkable() {
        let s = spread(2000, 0.0, 0.2);
        let d = linkability_dsys(&s, &s);
        assert!(d.abs() < 1e-12, "{d}");
    }

    #[test]
    fn disjoint_distributions_are_fully_linkable() {
        let mated = spread(2000, 0.8, 1.0);
        let nonmated = spread(2000, 0.0, 0.2);
        let d = linkability_dsys(&mated, &nonmated);
        // The trapezoid over bin centres drops half of each end bin.
        assert!(d > 0.97 && d <= 1.0, "{d}");
    }

    #[test]
    fn partial_overlap_is_in_between() {
        let mated = spread(2000, 0.1, 0.3);
        let nonmated = spread(2000, 0.0, 0.2);
        let d = linkability_dsys(&mated, &nonmated);
        assert!(d > 0.3 && d < 0.7, "{d}");
    }

    #[test]
    fn matches_reference_on_a_small_case() {
        // Computed by hand with the reference algorithm: 2 bins over [0, 1];
        // mated densities (0.5, 1.5), non-mated (1.5, 0.5); LR = (1/3, 3);
        // D = (0, 0.5); trapz over centres 0.25, 0.75 of (0, 0.75) = 0.1875.
        let mated = [0.2, 0.6, 0.8, 1.0];
        let nonmated = [0.0, 0.1, 0.3, 0.9];
        let d = linkability_dsys_with(&mated, &nonmated, 1.0, 2);
        assert!((d - 0.1875).abs() < 1e-12, "{d}");
    }

    #[test]
    fn cross_key_score_ignores_the_key_version_only() {
        use crate::Embedding;
        use crate::template::{IomParams, TemplateKey, TemplateSecret};
        let secret = TemplateSecret::from_bytes(&[3u8; 32]).unwrap();
        let params = IomParams::new(64, 8).unwrap();
        let mut values = [0f32; crate::EMBEDDING_DIM];
        values
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = (i % 7) as f32 - 3.0);
        let v1 = TemplateKey::derive(&secret, "s", 1, params).unwrap();
        let t1 = v1.protect(Embedding::from_array(values)).unwrap();
        assert_eq!(cross_key_score(&t1, &t1).unwrap(), 1.0);
        let v2 = TemplateKey::derive(&secret, "s", 2, params).unwrap();
        let t2 = v2.protect(Embedding::from_array(values)).unwrap();
        assert!(cross_key_score(&t1, &t2).unwrap() < 1.0);
        let other = TemplateKey::derive(&secret, "s", 1, IomParams::new(64, 9).unwrap()).unwrap();
        let t3 = other.protect(Embedding::from_array(values)).unwrap();
        assert_eq!(
            cross_key_score(&t1, &t3),
            Err(TemplateError::ParameterMismatch)
        );
    }

    #[test]
    fn degenerate_inputs() {
        assert!(linkability_dsys(&[], &[0.1]).is_nan());
        assert!(linkability_dsys(&[0.1], &[f64::NAN]).is_nan());
        assert!(linkability_dsys_with(&[0.1], &[0.2], 0.0, 3).is_nan());
        assert_eq!(linkability_dsys(&[0.5; 20], &[0.5; 20]), 0.0);
    }
}
