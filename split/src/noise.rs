//! Noise measurement with every share of the secret key: for tests and the
//! bench only, since no deployed party holds every share.

use fhe::bfv::Ciphertext;
use fhe_math::rq::{Poly, Representation, traits::TryConvertFrom};
use num_bigint::BigUint;

use crate::SplitError;
use crate::keys::KeyShare;

/// The invariant noise budget of `ct` in bits, log2(Q) - log2(|t v mod Q|) - 1
/// where v = c0 + c1 s with s the sum of `shares`: decryption is correct while
/// it stays positive.
pub fn measure(ct: &Ciphertext, shares: &[&KeyShare]) -> Result<Noise, SplitError> {
    if ct.len() != 2 {
        return Err(SplitError::Malformed("ciphertext"));
    }
    let ctx = ct[0].ctx().clone();
    let mut s = Poly::zero(&ctx, Representation::PowerBasis);
    for share in shares {
        let c = share.coefficients()?;
        s += &Poly::try_convert_from(c.as_slice(), &ctx, false, Representation::PowerBasis)?;
    }
    s.change_representation(Representation::Ntt);
    let mut v = &ct[1] * &s;
    v += &ct[0];
    v.change_representation(Representation::PowerBasis);
    let q = ctx.modulus().clone();
    let t = BigUint::from(crate::params::PLAINTEXT_MODULUS);
    let max = Vec::<BigUint>::from(&v)
        .into_iter()
        .map(|c| {
            let x = (c * &t) % &q;
            let y = &q - &x;
            if x < y { x } else { y }
        })
        .max()
        .unwrap_or_default();
    let log = |b: &BigUint| -> f64 {
        let bits = b.bits();
        if bits == 0 {
            return 0.0;
        }
        let shift = bits.saturating_sub(52);
        let top = (b >> shift).to_u64_digits().first().copied().unwrap_or(0) as f64;
        top.log2() + shift as f64
    };
    Ok(Noise {
        budget_bits: log(&q) - log(&max) - 1.0,
        noise_bits: log(&max) - log(&t),
    })
}

/// A ciphertext's noise, measured.
#[derive(Debug, Clone, Copy)]
pub struct Noise {
    /// Bits of noise budget left: decryption is correct while positive.
    pub budget_bits: f64,
    /// log2 of the noise's largest coefficient.
    pub noise_bits: f64,
}

/// The noise of one masked comparison of `enrolled` with `probe`, measured
/// with two shares drawn here for the purpose: before the server's share and
/// flooding (under both shares), and after (under the second share alone).
pub fn measure_comparison(
    enrolled: &crate::encoding::Quantised,
    probe: &crate::encoding::Quantised,
    threshold: i64,
) -> Result<(Noise, Noise), SplitError> {
    use rand::Rng;
    let mut rng = rand::rng();
    let par = crate::params::bfv()?;
    let seed: [u8; 32] = rng.random();
    let a = KeyShare::generate(&par, &mut rng);
    let b = KeyShare::generate(&par, &mut rng);
    let public = crate::keys::CollectivePublicKey::combine(
        &par,
        &crate::keys::contribution(&a, &par, seed, &mut rng)?,
        &crate::keys::contribution(&b, &par, seed, &mut rng)?,
    )?;
    let ct = crate::device::encrypt(&par, &public, enrolled, &mut rng)?.ciphertext(&par)?;
    let masked = crate::server::masked_comparison(&par, &public, &ct, probe, threshold, &mut rng)?;
    let before = measure(&masked, &[&a, &b])?;
    let released = crate::server::release(&par, &a, masked, &mut rng)?;
    Ok((before, measure(&released, &[&b])?))
}
