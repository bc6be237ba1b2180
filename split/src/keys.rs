//! Key shares and the collective public key.
//!
//! Each party draws its own BFV secret key share and publishes the public key
//! it gives alone, (-a s_i + e_i, a), where `a` is the common reference
//! polynomial both derive from a public seed. The collective public key is
//! (sum of the first parts, a): its secret, s_server + s_keyholder, exists
//! nowhere.

use std::sync::Arc;

use fhe::bfv::{BfvParameters, Ciphertext, PublicKey, SecretKey};
use fhe::mbfv::{Aggregate, CommonRandomPoly, PublicKeyShare};
use fhe::proto::bfv::{Ciphertext as CiphertextProto, PublicKey as PublicKeyProto};
use fhe_traits::{DeserializeParametrized, Serialize};
use prost::Message;
use rand::{CryptoRng, RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use zeroize::Zeroizing;

use crate::SplitError;

/// One party's secret key share, kept as fhe's serialised secret key in
/// memory that is wiped on drop.
pub struct KeyShare {
    bytes: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyShare(..)")
    }
}

impl KeyShare {
    /// Draws a fresh share.
    pub fn generate<R: RngCore + CryptoRng>(par: &Arc<BfvParameters>, rng: &mut R) -> Self {
        let sk = SecretKey::random(par, rng);
        KeyShare {
            bytes: Zeroizing::new(sk.to_bytes()),
        }
    }

    /// Restores a share from [`KeyShare::to_bytes`], checking it parses.
    pub fn from_bytes(bytes: &[u8], par: &Arc<BfvParameters>) -> Result<Self, SplitError> {
        let share = KeyShare {
            bytes: Zeroizing::new(bytes.to_vec()),
        };
        share.secret_key(par)?;
        Ok(share)
    }

    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        self.bytes.clone()
    }

    /// The share as fhe's secret key (fhe wipes its coefficients on drop).
    pub fn secret_key(&self, par: &Arc<BfvParameters>) -> Result<SecretKey, SplitError> {
        SecretKey::from_bytes(&self.bytes, par).map_err(|_| SplitError::Malformed("key share"))
    }

    /// The share's coefficients (for noise measurement with every share).
    pub(crate) fn coefficients(&self) -> Result<Zeroizing<Vec<i64>>, SplitError> {
        let proto = fhe::proto::bfv::SecretKey::decode(self.bytes.as_slice())
            .map_err(|_| SplitError::Malformed("key share"))?;
        Ok(Zeroizing::new(proto.coeffs.clone()))
    }
}

/// The all-zero secret key: the output key of a decryption share.
pub(crate) fn zero_key(par: &Arc<BfvParameters>) -> Result<SecretKey, SplitError> {
    let proto = fhe::proto::bfv::SecretKey {
        coeffs: vec![0; par.degree()],
    };
    Ok(SecretKey::from_bytes(&proto.encode_to_vec(), par)?)
}

/// The common reference polynomial derived from a public seed.
pub fn common_polynomial(
    par: &Arc<BfvParameters>,
    seed: [u8; 32],
) -> Result<CommonRandomPoly, SplitError> {
    let mut rng = ChaCha20Rng::from_seed(seed);
    Ok(CommonRandomPoly::new(par, &mut rng)?)
}

/// The public key a party's share gives alone: its contribution to the
/// collective key.
pub fn contribution<R: RngCore + CryptoRng>(
    share: &KeyShare,
    par: &Arc<BfvParameters>,
    seed: [u8; 32],
    rng: &mut R,
) -> Result<Vec<u8>, SplitError> {
    let sk = share.secret_key(par)?;
    let pk_share = PublicKeyShare::new(&sk, common_polynomial(par, seed)?, rng)?;
    let pk: PublicKey = PublicKey::from_shares([pk_share])?;
    Ok(pk.to_bytes())
}

fn public_key_ciphertext(bytes: &[u8], par: &Arc<BfvParameters>) -> Result<Ciphertext, SplitError> {
    let proto = PublicKeyProto::decode(bytes).map_err(|_| SplitError::Malformed("public key"))?;
    let c = proto.c.ok_or(SplitError::Malformed("public key"))?;
    Ok(Ciphertext::from_bytes(&c.encode_to_vec(), par)?)
}

/// The tenant's collective public key: everything a device needs.
#[derive(Clone)]
pub struct CollectivePublicKey {
    key: PublicKey,
    bytes: Vec<u8>,
}

impl CollectivePublicKey {
    /// Combines the two parties' contributions, which must share the same
    /// common reference polynomial.
    pub fn combine(
        par: &Arc<BfvParameters>,
        server: &[u8],
        key_holder: &[u8],
    ) -> Result<Self, SplitError> {
        let a = public_key_ciphertext(server, par)?;
        let b = public_key_ciphertext(key_holder, par)?;
        if a.len() != 2 || b.len() != 2 || a[1] != b[1] {
            return Err(SplitError::CrpMismatch);
        }
        let joint = Ciphertext::new(vec![&a[0] + &b[0], a[1].clone()], par)?;
        let proto = PublicKeyProto {
            c: Some(
                CiphertextProto::decode(joint.to_bytes().as_slice())
                    .map_err(|_| SplitError::Malformed("public key"))?,
            ),
        };
        Self::from_bytes(&proto.encode_to_vec(), par)
    }

    pub fn from_bytes(bytes: &[u8], par: &Arc<BfvParameters>) -> Result<Self, SplitError> {
        let key =
            PublicKey::from_bytes(bytes, par).map_err(|_| SplitError::Malformed("public key"))?;
        Ok(CollectivePublicKey {
            key,
            bytes: bytes.to_vec(),
        })
    }

    pub fn to_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn key(&self) -> &PublicKey {
        &self.key
    }
}
