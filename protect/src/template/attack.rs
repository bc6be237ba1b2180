//! Inversion attack under the stolen-key model, for evaluation only.
//!
//! The attacker holds a protected template and the transform key it was made
//! with (so every projection matrix), and searches for an embedding whose
//! template agrees with it. IoM hashing does not resist this: each index is a
//! set of linear inequalities on the embedding, and enough of them pin its
//! direction down (Ghammam, Karabina, Lacharme and Thiry-Atighehchi,
//! "A Cryptanalysis of Two Cancelable Biometric Schemes Based on
//! Index-of-Max Hashing", IEEE TIFS 15, 2020). This module measures how close
//! such a search gets on real faces; it is why the transform key must be kept
//! as carefully as the template itself.
//!
//! The search is gradient ascent, on the unit sphere, of the soft-argmax
//! log-likelihood of the template's indices,
//! `L(x) = Σ_i log softmax_j(β ⟨w_ij, x⟩)[t_i]`, with `β` annealed from soft
//! to sharp; it keeps the iterate whose hard template agrees best.

use zeroize::{Zeroize, Zeroizing};

use super::iom::{GaussianStream, argmax, normalise};
use super::{ProtectedTemplate, TemplateError, TemplateKey};
use crate::embedding::{EMBEDDING_DIM, Embedding};

/// Tuning of the inversion search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttackConfig {
    /// Gradient steps.
    pub iterations: usize,
    /// Softmax sharpness at the first step.
    pub beta_start: f64,
    /// Softmax sharpness at the last step (geometric schedule in between).
    pub beta_end: f64,
    /// Angle (radians) moved by the first step; decays linearly to a tenth.
    pub step: f64,
    /// Norm given to the recovered embedding. IoM is blind to the norm, so an
    /// attacker uses the population's typical norm (about 0.5 for dlib).
    pub target_norm: f32,
}

impl Default for AttackConfig {
    fn default() -> Self {
        AttackConfig {
            iterations: 300,
            beta_start: 1.0,
            beta_end: 20.0,
            step: 0.2,
            target_norm: 0.5,
        }
    }
}

/// What the search found.
#[derive(Debug, Clone)]
pub struct InversionOutcome {
    /// The recovered embedding, scaled to [`AttackConfig::target_norm`].
    pub embedding: Embedding,
    /// Fraction of the template's indices the recovered embedding reproduces
    /// under the stolen key (its protected-domain score against the target).
    pub agreement: f64,
    /// Step at which the best iterate was found (0 = the starting point).
    pub best_iteration: usize,
}

/// All `m × q` projection rows of a key, row-major, wiped on drop.
pub(crate) struct ProjectionBank {
    m: usize,
    q: usize,
    rows: Zeroizing<Vec<f64>>,
}

impl ProjectionBank {
    pub(crate) fn from_key(key: &TemplateKey) -> Self {
        let params = key.params();
        let (m, q) = (usize::from(params.hashes()), usize::from(params.window()));
        let mut stream = GaussianStream::new(key.seed());
        let mut rows = Zeroizing::new(Vec::with_capacity(m * q * EMBEDDING_DIM));
        for _ in 0..m * q * EMBEDDING_DIM {
            rows.push(stream.next_gaussian());
        }
        ProjectionBank { m, q, rows }
    }

    fn row(&self, i: usize, j: usize) -> &[f64] {
        let start = (i * self.q + j) * EMBEDDING_DIM;
        &self.rows[start..start + EMBEDDING_DIM]
    }

    /// The template of `x` under this bank (`x` need not be normalised).
    pub(crate) fn indices(&self, x: &[f64; EMBEDDING_DIM]) -> Zeroizing<Vec<u8>> {
        let mut p = Zeroizing::new(vec![0f64; self.q]);
        let mut out = Zeroizing::new(Vec::with_capacity(self.m));
        for i in 0..self.m {
            for (j, pj) in p.iter_mut().enumerate() {
                *pj = dot(self.row(i, j), x);
            }
            out.push(argmax(&p));
        }
        out
    }
}

fn dot(a: &[f64], b: &[f64; EMBEDDING_DIM]) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| x * y).sum()
}

fn agreement(a: &[u8], b: &[u8]) -> f64 {
    let equal = a.iter().zip(b).filter(|(x, y)| x == y).count();
    equal as f64 / a.len() as f64
}

fn normalise_in_place(x: &mut [f64; EMBEDDING_DIM]) {
    let n = x.iter().map(|v| v * v).sum::<f64>().sqrt();
    if n > 0.0 {
        x.iter_mut().for_each(|v| *v /= n);
    }
}

/// Searches for an embedding that reproduces `template` under `key`.
///
/// Fails if the key's parameters or version differ from the template's.
pub fn invert(
    key: &TemplateKey,
    template: &ProtectedTemplate,
    config: &AttackConfig,
) -> Result<InversionOutcome, TemplateError> {
    if key.params() != template.params() {
        return Err(TemplateError::ParameterMismatch);
    }
    if key.key_version() != template.key_version() {
        return Err(TemplateError::KeyVersionMismatch);
    }
    let bank = ProjectionBank::from_key(key);
    let target = template.indices();
    let q = bank.q;

    // Start from the sum of the winning rows: each is, on average, tilted
    // towards the embedding that won.
    let mut x = Zeroizing::new([0f64; EMBEDDING_DIM]);
    for (i, &t) in target.iter().enumerate() {
        for (xk, wk) in x.iter_mut().zip(bank.row(i, usize::from(t))) {
            *xk += wk;
        }
    }
    normalise_in_place(&mut x);

    let mut best = x.clone();
    let mut best_agreement = agreement(&bank.indices(&x), target);
    let mut best_iteration = 0;

    let mut grad = Zeroizing::new([0f64; EMBEDDING_DIM]);
    let mut logits = Zeroizing::new(vec![0f64; q]);
    let steps = config.iterations.max(1);
    for it in 0..config.iterations {
        let frac = it as f64 / (steps.saturating_sub(1)).max(1) as f64;
        let beta = config.beta_start * (config.beta_end / config.beta_start).powf(frac);
        grad.zeroize();
        for (i, &t) in target.iter().enumerate() {
            for (j, l) in logits.iter_mut().enumerate() {
                *l = beta * dot(bank.row(i, j), &x);
            }
            let max = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let mut total = 0f64;
            for l in logits.iter_mut() {
                *l = (*l - max).exp();
                total += *l;
            }
            // d/dx log softmax[t] = β (w_t − Σ_j p_j w_j)
            for j in 0..q {
                let coeff = f64::from(u8::from(j == usize::from(t))) - logits[j] / total;
                for (g, w) in grad.iter_mut().zip(bank.row(i, j)) {
                    *g += coeff * w;
                }
            }
        }
        // Project the gradient onto the tangent plane and take a step of a
        // fixed angle along it, then return to the sphere.
        let radial = grad.iter().zip(x.iter()).map(|(g, v)| g * v).sum::<f64>();
        grad.iter_mut()
            .zip(x.iter())
            .for_each(|(g, v)| *g -= radial * v);
        let gnorm = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
        if gnorm == 0.0 || !gnorm.is_finite() {
            break;
        }
        let step = config.step * (1.0 - 0.9 * frac);
        x.iter_mut()
            .zip(grad.iter())
            .for_each(|(v, g)| *v += step * g / gnorm);
        normalise_in_place(&mut x);

        let a = agreement(&bank.indices(&x), target);
        if a > best_agreement {
            best_agreement = a;
            best.copy_from_slice(x.as_slice());
            best_iteration = it + 1;
        }
        if best_agreement == 1.0 {
            break;
        }
    }

    let mut out = [0f32; EMBEDDING_DIM];
    for (o, v) in out.iter_mut().zip(best.iter()) {
        *o = (*v * f64::from(config.target_norm)) as f32;
    }
    let embedding = Embedding::from_array(out);
    out.zeroize();
    Ok(InversionOutcome {
        embedding,
        agreement: best_agreement,
        best_iteration,
    })
}

/// Cosine similarity of two embeddings: how close an inversion came in
/// direction, the only thing IoM constrains.
pub fn cosine_similarity(a: &Embedding, b: &Embedding) -> Result<f64, TemplateError> {
    let (x, y) = (normalise(a.values())?, normalise(b.values())?);
    Ok(x.iter().zip(y.iter()).map(|(p, q)| p * q).sum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{IomParams, TemplateSecret, iom};

    fn key(m: u16) -> TemplateKey {
        let secret = TemplateSecret::from_bytes(&[0x42; 32]).unwrap();
        TemplateKey::derive(&secret, "subject-7", 3, IomParams::new(m, 16).unwrap()).unwrap()
    }

    fn embedding(seed: u8) -> Embedding {
        let mut s = GaussianStream::new(&[seed; 32]);
        let mut v = [0f32; EMBEDDING_DIM];
        v.iter_mut()
            .for_each(|x| *x = (s.next_gaussian() * 0.05) as f32);
        Embedding::from_array(v)
    }

    #[test]
    fn bank_matches_streaming_transform() {
        let k = key(64);
        let e = embedding(1);
        let bank = ProjectionBank::from_key(&k);
        let x = normalise(e.values()).unwrap();
        let streamed = iom::hash(k.seed(), k.params(), e.values()).unwrap();
        assert_eq!(bank.indices(&x).as_slice(), streamed.as_slice());
    }

    #[test]
    fn stolen_key_inversion_recovers_the_direction() {
        let k = key(256);
        let original = embedding(2);
        let template = k.protect(original.clone()).unwrap();
        let config = AttackConfig {
            iterations: 150,
            ..AttackConfig::default()
        };
        let outcome = invert(&k, &template, &config).unwrap();
        let cos = cosine_similarity(&outcome.embedding, &original).unwrap();
        assert!(outcome.agreement > 0.6, "agreement {}", outcome.agreement);
        assert!(cos > 0.9, "cosine {cos}");
        assert!((outcome.embedding.norm() - 0.5).abs() < 1e-4);
        // The recovered embedding is accepted by the protected system.
        let replay = k.protect(outcome.embedding.clone()).unwrap();
        assert!(template.compare(&replay).unwrap().value() > 0.6);
    }

    #[test]
    fn inversion_refuses_mismatched_key() {
        let k = key(64);
        let template = k.protect(embedding(3)).unwrap();
        let other = key(65);
        assert_eq!(
            invert(&other, &template, &AttackConfig::default()).unwrap_err(),
            TemplateError::ParameterMismatch
        );
    }
}
