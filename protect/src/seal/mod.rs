//! Sealing: public-key encryption of a protected template to the tenant's
//! X25519 key, with the operation's context bound as associated data.
//!
//! The construction is spelled out rather than taken from RFC 9180 (HPKE),
//! because the AEAD of choice is AES-256-GCM-SIV (RFC 8452), which HPKE does
//! not register; its shape is HPKE's base mode all the same:
//!
//! 1. a fresh ephemeral X25519 key pair `(e, E)` per envelope (RFC 7748);
//! 2. `shared = X25519(e, R)` with the tenant public key `R`, refused if all zero;
//! 3. `okm = HKDF-SHA256(salt = E || R, IKM = shared,
//!    info = "faceseal/seal/v1 X25519 HKDF-SHA256 AES-256-GCM-SIV", L = 44)`
//!    (RFC 5869): key = `okm[0..32]`, nonce = `okm[32..44]`;
//! 4. AES-256-GCM-SIV over the payload, with the whole clear header (magic,
//!    version, suite, key id, context, `E`) as associated data.
//!
//! Why GCM-SIV: key and nonce are fresh per envelope, so nonce reuse needs the
//! device's RNG to repeat an ephemeral key; should it ever do so, GCM-SIV only
//! reveals that two identical messages were sealed, where AES-GCM would leak
//! its authentication key and allow forgeries. Binding both public keys in the
//! salt ties the AEAD key to this recipient and this ephemeral key, as HPKE's
//! `kem_context` does. The byte format is in `docs/envelope.md`.
//!
//! ```
//! use faceseal_protect::seal::{self, ChallengeNonce, Purpose, SealContext, TenantSecretKey};
//!
//! let mut rng = seal::os_rng();
//! let tenant = TenantSecretKey::generate(&mut rng);
//! let context = SealContext {
//!     tenant_id: "acme".into(),
//!     subject_id: "subject-1".into(),
//!     purpose: Purpose::Enrol,
//!     consent_ref: "consent-42".into(),
//!     challenge: ChallengeNonce::generate(&mut rng),
//!     capture_digest: [0; 32], // frame::sequence_digest of the captured frames
//!     created_at: 1_700_000_000,
//!     liveness_score: 0.97,
//!     quality_score: 0.88,
//!     liveness_level: faceseal_protect::seal::SecurityLevel::Standard,
//! };
//! let sealed = seal::seal_bytes(b"template bytes", tenant.public_key(), &context, &mut rng).unwrap();
//! // The server reads the clear header first, then opens with the named key.
//! let header = seal::parse(sealed.as_bytes()).unwrap();
//! assert_eq!(header.key_id, tenant.key_id());
//! let (opened, payload) = seal::open_bytes(sealed.as_bytes(), &tenant).unwrap();
//! assert_eq!(opened, context);
//! assert_eq!(payload.as_slice(), b"template bytes");
//! ```

mod context;
mod envelope;
mod error;
mod keys;
mod protocol;
mod replay;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod vectors;

pub use context::{
    ChallengeNonce, MAX_CONSENT_REF_LEN, MAX_SUBJECT_ID_LEN, MAX_TENANT_ID_LEN, Purpose,
    SealContext, SecurityLevel,
};
pub use envelope::{
    ENVELOPE_MAGIC, ENVELOPE_VERSION, MAX_ENVELOPE_LEN, SUITE_X25519_HKDF_SHA256_AES256GCMSIV,
    TAG_LEN,
};
pub use error::{ContextField, SealError};
pub use keys::{KeyId, TenantPublicKey, TenantSecretKey};
pub use replay::{ChallengeCheckError, open_for_challenge};

use rand_core::CryptoRng;
use x25519_dalek::{EphemeralSecret, PublicKey};
use zeroize::Zeroizing;

use crate::template::ProtectedTemplate;

/// A sealed envelope, ready to send. Not secret, but its clear header holds
/// identifiers, so `Debug` shows its length only.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedTemplate(Vec<u8>);

impl SealedTemplate {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl AsRef<[u8]> for SealedTemplate {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SealedTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedTemplate({} bytes)", self.0.len())
    }
}

/// The clear part of an envelope, read without any key.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvelopeHeader {
    /// The tenant key the envelope was sealed to.
    pub key_id: KeyId,
    /// The authenticated context: trust it only after [`open`] succeeds.
    pub context: SealContext,
}

/// The operating system's CSPRNG, for sealing and key generation.
///
/// Panics if the operating system cannot provide randomness: sealing without
/// it would be worse than not sealing.
pub fn os_rng() -> impl CryptoRng {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// Seals a protected template to `recipient`, binding `context`.
pub fn seal<R: CryptoRng + ?Sized>(
    template: &ProtectedTemplate,
    recipient: &TenantPublicKey,
    context: &SealContext,
    rng: &mut R,
) -> Result<SealedTemplate, SealError> {
    seal_bytes(&template.to_bytes(), recipient, context, rng)
}

/// Seals arbitrary payload bytes (the lower layer of [`seal`]).
pub fn seal_bytes<R: CryptoRng + ?Sized>(
    payload: &[u8],
    recipient: &TenantPublicKey,
    context: &SealContext,
    rng: &mut R,
) -> Result<SealedTemplate, SealError> {
    let context = context.encode()?;
    let len = envelope::FIXED_HEADER_LEN
        + context.len()
        + envelope::EPHEMERAL_KEY_LEN
        + payload.len()
        + TAG_LEN;
    if len > MAX_ENVELOPE_LEN {
        return Err(SealError::TooLarge {
            len,
            max: MAX_ENVELOPE_LEN,
        });
    }
    let ephemeral_secret = EphemeralSecret::random_from_rng(rng);
    let ephemeral = PublicKey::from(&ephemeral_secret).to_bytes();
    let shared = ephemeral_secret.diffie_hellman(recipient.x25519());
    if !shared.was_contributory() {
        return Err(SealError::InvalidRecipientKey);
    }
    let key = protocol::message_key(&shared, &ephemeral, &recipient.to_bytes());
    drop(shared);

    let mut out = envelope::write_header(&recipient.key_id(), &context, &ephemeral);
    let mut body = Zeroizing::new(Vec::with_capacity(payload.len() + TAG_LEN));
    body.extend_from_slice(payload);
    protocol::aead_seal(&key, &out, &mut body);
    out.extend_from_slice(&body);
    debug_assert_eq!(out.len(), len);
    Ok(SealedTemplate(out))
}

/// Reads the clear header of an untrusted envelope without decrypting it, so
/// the server can pick (or refuse) the key it names and check the context's
/// shape. Nothing in it is authentic until [`open`] succeeds.
pub fn parse(envelope: &[u8]) -> Result<EnvelopeHeader, SealError> {
    let parsed = envelope::parse(envelope)?;
    Ok(EnvelopeHeader {
        key_id: parsed.key_id,
        context: parsed.context,
    })
}

/// Opens an envelope holding a protected template.
pub fn open(
    envelope: &[u8],
    key: &TenantSecretKey,
) -> Result<(SealContext, ProtectedTemplate), SealError> {
    let (context, payload) = open_bytes(envelope, key)?;
    let template = ProtectedTemplate::from_bytes(&payload).map_err(SealError::InvalidPayload)?;
    Ok((context, template))
}

/// Opens an envelope and returns its payload bytes (the lower layer of [`open`]).
pub fn open_bytes(
    envelope: &[u8],
    key: &TenantSecretKey,
) -> Result<(SealContext, Zeroizing<Vec<u8>>), SealError> {
    let parsed = envelope::parse(envelope)?;
    if !parsed.key_id.ct_eq(&key.key_id()) {
        return Err(SealError::KeyIdMismatch);
    }
    let shared = protocol::recipient_shared_secret(key.x25519(), &parsed.ephemeral)?;
    let message_key =
        protocol::message_key(&shared, &parsed.ephemeral, &key.public_key().to_bytes());
    drop(shared);
    let mut body = Zeroizing::new(parsed.ciphertext.to_vec());
    protocol::aead_open(&message_key, parsed.header, &mut body)?;
    Ok((parsed.context, body))
}
