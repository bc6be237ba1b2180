//! The device side: encrypt a template under the collective public key and
//! seal it with its context. Public values only.

use std::sync::Arc;

use faceseal_protect::seal::{self, SealContext, SealError, TenantPublicKey, TenantSecretKey};
use fhe::bfv::{BfvParameters, Ciphertext, Encoding, Plaintext};
use fhe_traits::{DeserializeParametrized, FheEncoder, FheEncrypter, Serialize};
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::SplitError;
use crate::encoding::Quantised;
use crate::keys::CollectivePublicKey;

/// A template encrypted under a tenant's collective public key (fhe's
/// serialised ciphertext).
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptedTemplate(Vec<u8>);

impl std::fmt::Debug for EncryptedTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptedTemplate({} bytes)", self.0.len())
    }
}

impl EncryptedTemplate {
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        EncryptedTemplate(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub(crate) fn ciphertext(&self, par: &Arc<BfvParameters>) -> Result<Ciphertext, SplitError> {
        let ct = Ciphertext::from_bytes(&self.0, par)
            .map_err(|_| SplitError::Malformed("encrypted template"))?;
        if ct.len() != 2 || ct[0].ctx() != par.context_at_level(0)? {
            return Err(SplitError::Malformed("encrypted template"));
        }
        Ok(ct)
    }
}

/// Encrypts an enrolment template.
pub fn encrypt<R: RngCore + CryptoRng>(
    par: &Arc<BfvParameters>,
    key: &CollectivePublicKey,
    template: &Quantised,
    rng: &mut R,
) -> Result<EncryptedTemplate, SplitError> {
    let coefficients = template.enrolled_coefficients();
    let pt = Plaintext::try_encode(coefficients.as_slice(), Encoding::poly(), par)?;
    let ct = key.key().try_encrypt(&pt, rng)?;
    Ok(EncryptedTemplate(ct.to_bytes()))
}

/// An enrolment envelope: the standard sealed envelope (context bound as
/// associated data) carries the SHA-256 digest of the encrypted template,
/// which travels beside it (too large for the envelope's 16 KiB limit).
#[derive(Debug, Clone)]
pub struct SealedEnrolment {
    pub envelope: seal::SealedTemplate,
    pub template: EncryptedTemplate,
}

fn digest(template: &EncryptedTemplate) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"faceseal-split enrolment v1")
        .chain_update(template.as_bytes())
        .finalize()
        .into()
}

impl SealedEnrolment {
    pub fn seal<R: rand_core::CryptoRng + ?Sized>(
        template: EncryptedTemplate,
        recipient: &TenantPublicKey,
        context: &SealContext,
        rng: &mut R,
    ) -> Result<Self, SealError> {
        let envelope = seal::seal_bytes(&digest(&template), recipient, context, rng)?;
        Ok(SealedEnrolment { envelope, template })
    }

    /// Opens the envelope and checks the template is the one it binds.
    pub fn open(
        &self,
        key: &TenantSecretKey,
    ) -> Result<(SealContext, &EncryptedTemplate), SplitError> {
        let (context, bound) = seal::open_bytes(self.envelope.as_bytes(), key)
            .map_err(|_| SplitError::Malformed("enrolment envelope"))?;
        if bound.len() != 32 || !bool::from(bound.ct_eq(&digest(&self.template))) {
            return Err(SplitError::Malformed("enrolment envelope"));
        }
        Ok((context, &self.template))
    }

    /// Bytes on the wire: envelope length (4 bytes, big endian), envelope, template.
    pub fn to_bytes(&self) -> Vec<u8> {
        let e = self.envelope.as_bytes();
        let mut out = Vec::with_capacity(4 + e.len() + self.template.0.len());
        out.extend_from_slice(&(e.len() as u32).to_be_bytes());
        out.extend_from_slice(e);
        out.extend_from_slice(&self.template.0);
        out
    }
}

/// The probe of a verification, sealed as a standard envelope (one byte per value).
///
/// The server opens it and sees the quantised embedding: this is why the
/// split scheme is not offered through the SDK's product path (no raw
/// embedding may leave a device) until the probe is encrypted as well
/// (`docs/protection.md`, residual risk 1).
pub fn seal_probe<R: rand_core::CryptoRng + ?Sized>(
    probe: &Quantised,
    recipient: &TenantPublicKey,
    context: &SealContext,
    rng: &mut R,
) -> Result<seal::SealedTemplate, SealError> {
    seal::seal_bytes(&probe.to_bytes(), recipient, context, rng)
}
