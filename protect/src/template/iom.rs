//! Index-of-Max hashing with Gaussian random projections (IoM-GRP).
//!
//! The projection matrices are never stored: each row is drawn from the
//! keyed Gaussian stream, used for one dot product and wiped, so the
//! transform holds one row and one window of projections at a time.
//!
//! Hash function `j` reads its own stretch of the keystream (bytes
//! `j * q * 128 * 8` onwards), so any run of hash functions can be computed
//! apart from the others, on another core, and give the same indices.

use std::ops::Range;

use chacha20::ChaCha20;
use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use zeroize::{Zeroize, Zeroizing};

use super::{IomParams, TemplateError};
use crate::embedding::EMBEDDING_DIM;

/// Keystream bytes produced per refill.
const BLOCK_BYTES: usize = 4096;

/// A deterministic stream of standard normal variates drawn from a key.
///
/// Byte level (the contract another implementation must follow):
/// 1. the ChaCha20 keystream of RFC 8439 with the 32-byte key, a nonce of
///    twelve zero bytes and the block counter starting at 0;
/// 2. read as consecutive 64-bit little-endian words `w`;
/// 3. each word becomes `u = ((w >> 11) + 1) * 2^-53`, a binary64 in `(0, 1]`;
/// 4. Box–Muller on each pair `(u1, u2)` of consecutive uniforms:
///    `r = sqrt(-2 ln u1)`, `t = 2π u2`, yielding `r cos t` then `r sin t`.
pub(crate) struct GaussianStream {
    cipher: ChaCha20,
    block: Zeroizing<[u8; BLOCK_BYTES]>,
    pos: usize,
    spare: Option<f64>,
}

impl GaussianStream {
    pub(crate) fn new(seed: &[u8; 32]) -> Self {
        let nonce = [0u8; 12];
        GaussianStream {
            cipher: ChaCha20::new(seed.into(), &nonce.into()),
            block: Zeroizing::new([0u8; BLOCK_BYTES]),
            pos: BLOCK_BYTES,
            spare: None,
        }
    }

    /// The stream positioned at the first variate of hash function `hash`
    /// for window size `q`: every hash function draws `q * 128` variates, an
    /// even count, from as many 64-bit words, so it starts on a word with no
    /// spare variate pending.
    pub(crate) fn at_hash(seed: &[u8; 32], q: u16, hash: u16) -> Self {
        let mut stream = Self::new(seed);
        let offset = u64::from(hash) * hash_keystream_bytes(q);
        if offset > 0 {
            stream.cipher.seek(offset);
        }
        stream
    }

    fn next_word(&mut self) -> u64 {
        if self.pos == BLOCK_BYTES {
            self.block.zeroize();
            self.cipher.apply_keystream(self.block.as_mut());
            self.pos = 0;
        }
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.block[self.pos..self.pos + 8]);
        self.pos += 8;
        let w = u64::from_le_bytes(word);
        word.zeroize();
        w
    }

    fn next_uniform(&mut self) -> f64 {
        // 53 random bits, shifted into (0, 1] so that ln never sees zero.
        ((self.next_word() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub(crate) fn next_gaussian(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        let u1 = self.next_uniform();
        let u2 = self.next_uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let t = std::f64::consts::TAU * u2;
        self.spare = Some(r * t.sin());
        r * t.cos()
    }
}

impl Drop for GaussianStream {
    fn drop(&mut self) {
        if let Some(z) = self.spare.as_mut() {
            z.zeroize();
        }
        // The cipher state and the block wipe themselves on drop.
    }
}

/// The embedding scaled to unit Euclidean norm, in binary64.
pub(crate) fn normalise(
    values: &[f32; EMBEDDING_DIM],
) -> Result<Zeroizing<[f64; EMBEDDING_DIM]>, TemplateError> {
    let mut x = Zeroizing::new([0f64; EMBEDDING_DIM]);
    let mut sum_sq = 0f64;
    for (o, &v) in x.iter_mut().zip(values.iter()) {
        if !v.is_finite() {
            return Err(TemplateError::DegenerateEmbedding);
        }
        *o = f64::from(v);
        sum_sq += *o * *o;
    }
    let mut norm = sum_sq.sqrt();
    sum_sq.zeroize();
    if norm == 0.0 || !norm.is_finite() {
        return Err(TemplateError::DegenerateEmbedding);
    }
    for o in x.iter_mut() {
        *o /= norm;
    }
    norm.zeroize();
    Ok(x)
}

/// Keystream bytes one hash function reads: `q` rows of 128 variates, one
/// 64-bit word per variate.
pub(crate) fn hash_keystream_bytes(q: u16) -> u64 {
    u64::from(q) * EMBEDDING_DIM as u64 * 8
}

/// Runs the `m` hash functions on an embedding; returns the `m` indices.
pub(crate) fn hash(
    seed: &[u8; 32],
    params: IomParams,
    values: &[f32; EMBEDDING_DIM],
) -> Result<Zeroizing<Vec<u8>>, TemplateError> {
    hash_range(seed, params, values, 0..params.hashes())
}

/// Runs hash functions `hashes` (a part of `0..m`) on an embedding; returns
/// their indices in order.
pub(crate) fn hash_range(
    seed: &[u8; 32],
    params: IomParams,
    values: &[f32; EMBEDDING_DIM],
    hashes: Range<u16>,
) -> Result<Zeroizing<Vec<u8>>, TemplateError> {
    if hashes.start > hashes.end || hashes.end > params.hashes() {
        return Err(TemplateError::PartsMismatch);
    }
    let x = normalise(values)?;
    let q = usize::from(params.window());
    let mut stream = GaussianStream::at_hash(seed, params.window(), hashes.start);
    let mut row = Zeroizing::new([0f64; EMBEDDING_DIM]);
    let mut projections = Zeroizing::new(vec![0f64; q]);
    let mut indices = Zeroizing::new(Vec::with_capacity(hashes.len()));
    for _ in hashes {
        for p in projections.iter_mut() {
            for w in row.iter_mut() {
                *w = stream.next_gaussian();
            }
            *p = dot(&row, &x);
        }
        indices.push(argmax(&projections));
    }
    Ok(indices)
}

/// Sum of products in index order, one rounding per multiply and per add.
pub(crate) fn dot(a: &[f64; EMBEDDING_DIM], b: &[f64; EMBEDDING_DIM]) -> f64 {
    let mut acc = 0f64;
    for (x, y) in a.iter().zip(b.iter()) {
        acc += x * y;
    }
    acc
}

/// Index of the largest value; the lowest index wins a tie.
pub(crate) fn argmax(values: &[f64]) -> u8 {
    let mut best = 0usize;
    for (j, v) in values.iter().enumerate().skip(1) {
        if *v > values[best] {
            best = j;
        }
    }
    u8::try_from(best).expect("window size is at most 256")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_stream_moments() {
        let mut s = GaussianStream::new(&[3u8; 32]);
        let n = 200_000;
        let (mut sum, mut sum_sq) = (0f64, 0f64);
        for _ in 0..n {
            let z = s.next_gaussian();
            sum += z;
            sum_sq += z * z;
        }
        let mean = sum / f64::from(n);
        let var = sum_sq / f64::from(n) - mean * mean;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
    }

    #[test]
    fn gaussian_stream_reads_the_rfc8439_keystream() {
        // RFC 8439 appendix A.1, test vector #1: key, nonce and block
        // counter all zero; the keystream starts 76 b8 e0 ad a0 f1 3d 90.
        let mut s = GaussianStream::new(&[0u8; 32]);
        assert_eq!(
            s.next_word(),
            u64::from_le_bytes([0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90])
        );
    }

    #[test]
    fn a_stream_seeked_to_a_hash_reads_on_from_there() {
        let seed = [9u8; 32];
        for q in [1u16, 3, 8] {
            let mut whole = GaussianStream::new(&seed);
            let per_hash = usize::from(q) * EMBEDDING_DIM;
            for _ in 0..5 * per_hash {
                whole.next_gaussian();
            }
            let mut seeked = GaussianStream::at_hash(&seed, q, 5);
            for _ in 0..3 * per_hash {
                assert_eq!(
                    whole.next_gaussian().to_bits(),
                    seeked.next_gaussian().to_bits()
                );
            }
        }
    }

    #[test]
    fn ranges_of_hashes_concatenate_to_the_whole() {
        let params = IomParams::new(40, 5).unwrap();
        let mut values = [0f32; EMBEDDING_DIM];
        for (i, v) in values.iter_mut().enumerate() {
            *v = (i as f32 * 0.37).sin();
        }
        let seed = [4u8; 32];
        let whole = hash(&seed, params, &values).unwrap();
        let mut joined = Vec::new();
        for r in [0..7, 7..7, 7..31, 31..40] {
            joined.extend_from_slice(&hash_range(&seed, params, &values, r).unwrap());
        }
        assert_eq!(&joined[..], &whole[..]);
        assert!(hash_range(&seed, params, &values, 30..41).is_err());
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = 9..3;
        assert!(hash_range(&seed, params, &values, backwards).is_err());
    }

    #[test]
    fn argmax_takes_lowest_index_on_ties() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), 1);
        assert_eq!(argmax(&[5.0, 5.0]), 0);
    }

    #[test]
    fn normalise_rejects_degenerate() {
        assert!(normalise(&[0f32; EMBEDDING_DIM]).is_err());
        let mut v = [0.1f32; EMBEDDING_DIM];
        v[3] = f32::NAN;
        assert!(normalise(&v).is_err());
        v[3] = f32::INFINITY;
        assert!(normalise(&v).is_err());
    }
}
