//! The server side of a verification: the homomorphic comparison, its mask,
//! the server's decryption share and the noise flooding. The server never
//! decrypts anything.

use std::sync::Arc;

use fhe::bfv::{BfvParameters, Ciphertext, Encoding, Plaintext};
use fhe::mbfv::{Aggregate, SecretKeySwitchShare};
use fhe_math::rq::{Poly, Representation, traits::TryConvertFrom};
use fhe_traits::{FheEncoder, FheEncrypter, Serialize};
use num_bigint::BigUint;
use rand::{CryptoRng, Rng, RngCore};
use zeroize::Zeroizing;

use crate::SplitError;
use crate::device::EncryptedTemplate;
use crate::encoding::{Quantised, SCORE_COEFFICIENT};
use crate::keys::{CollectivePublicKey, KeyShare, zero_key};
use crate::params::{self, FLOOD_BITS, MASK_BITS, PLAINTEXT_MODULUS};

/// What the server sends the key holder: the masked comparison after the
/// server's decryption share, with flooded noise. It decrypts under the key
/// holder's share alone, to a plaintext whose coefficient
/// [`SCORE_COEFFICIENT`] is r (score - threshold) + r', 0 <= r' < r, and whose
/// other coefficients are uniformly random.
#[derive(Clone)]
pub struct PartialComparison(Vec<u8>);

impl PartialComparison {
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        PartialComparison(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Encrypted inner product of the stored template and the probe, masked:
/// the plaintext is r (score - threshold) + r' at [`SCORE_COEFFICIENT`] and
/// uniform noise elsewhere; re-randomised by a fresh encryption.
pub(crate) fn masked_comparison<R: RngCore + CryptoRng>(
    par: &Arc<BfvParameters>,
    key: &CollectivePublicKey,
    enrolled: &Ciphertext,
    probe: &Quantised,
    threshold: i64,
    rng: &mut R,
) -> Result<Ciphertext, SplitError> {
    if !params::threshold_range().contains(&threshold) {
        return Err(SplitError::Malformed("threshold"));
    }
    let r: i64 = rng.random_range((1i64 << (MASK_BITS - 1))..(1i64 << MASK_BITS));
    let r_offset: i64 = rng.random_range(0..r);

    // r times the reversed probe, as a ring element with small (centred)
    // coefficients: multiplying by it grows the noise by its norm only.
    let ctx = par.context_at_level(0)?;
    let coefficients = probe.probe_coefficients(r);
    let mut factor = Zeroizing::new(Poly::try_convert_from(
        coefficients.as_slice(),
        ctx,
        false,
        Representation::PowerBasis,
    )?);
    factor.change_representation(Representation::Ntt);
    let product: Vec<Poly> = enrolled
        .iter()
        .map(|c| {
            let mut c = c.clone();
            c.change_representation(Representation::Ntt);
            c *= factor.as_ref();
            c
        })
        .collect();
    let product = Ciphertext::new(product, par)?;

    // The mask: uniform values everywhere but the score coefficient, which
    // gets r' - r * threshold; encrypted afresh so that the result is also
    // re-randomised.
    let t = PLAINTEXT_MODULUS;
    let mut mask: Zeroizing<Vec<u64>> =
        Zeroizing::new((0..par.degree()).map(|_| rng.random_range(0..t)).collect());
    mask[SCORE_COEFFICIENT] = (r_offset - r * threshold).rem_euclid(t as i64) as u64;
    let mask = Plaintext::try_encode(mask.as_slice(), Encoding::poly(), par)?;
    let mask = key.key().try_encrypt(&mask, rng)?;
    Ok(&product + &mask)
}

/// Applies the server's decryption share (output key zero, so the result
/// decrypts under the key holder's share alone) and floods the noise with a
/// uniform term in [-2^FLOOD_BITS, 2^FLOOD_BITS).
pub(crate) fn release<R: RngCore + CryptoRng>(
    par: &Arc<BfvParameters>,
    share: &KeyShare,
    masked: Ciphertext,
    rng: &mut R,
) -> Result<Ciphertext, SplitError> {
    let sk = share.secret_key(par)?;
    let zero = zero_key(par)?;
    let switch = SecretKeySwitchShare::new(&sk, &zero, Arc::new(masked), rng)?;
    let partial = Ciphertext::from_shares([switch])?;
    let flood = flooding_noise(par, rng)?;
    Ok(Ciphertext::new(
        vec![&partial[0] + &flood, partial[1].clone()],
        par,
    )?)
}

fn flooding_noise<R: RngCore + CryptoRng>(
    par: &Arc<BfvParameters>,
    rng: &mut R,
) -> Result<Poly, SplitError> {
    let ctx = par.context_at_level(0)?;
    let q = ctx.modulus().clone();
    let bound = BigUint::from(1u8) << FLOOD_BITS;
    let span_bits = FLOOD_BITS + 1;
    let coefficients: Vec<BigUint> = (0..par.degree())
        .map(|_| {
            let mut bytes = [0u8; 16];
            rng.fill_bytes(&mut bytes);
            let v = BigUint::from(u128::from_le_bytes(bytes) & ((1u128 << span_bits) - 1));
            // v - bound, in [-2^FLOOD_BITS, 2^FLOOD_BITS), lifted mod Q.
            (&q + v - &bound) % &q
        })
        .collect();
    let mut poly = Poly::try_convert_from(
        coefficients.as_slice(),
        ctx,
        false,
        Representation::PowerBasis,
    )?;
    poly.change_representation(Representation::Ntt);
    Ok(poly)
}

/// The whole server side of one verification: compare, mask, share, flood.
pub fn compare<R: RngCore + CryptoRng>(
    par: &Arc<BfvParameters>,
    key: &CollectivePublicKey,
    share: &KeyShare,
    enrolled: &EncryptedTemplate,
    probe: &Quantised,
    threshold: i64,
    rng: &mut R,
) -> Result<PartialComparison, SplitError> {
    let enrolled = enrolled.ciphertext(par)?;
    let masked = masked_comparison(par, key, &enrolled, probe, threshold, rng)?;
    Ok(PartialComparison(
        release(par, share, masked, rng)?.to_bytes(),
    ))
}
