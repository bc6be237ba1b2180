//! The key schedule: X25519 → HKDF-SHA256 → AES-256-GCM-SIV key and nonce.

use aes_gcm_siv::aead::{AeadInOut, KeyInit};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey, SharedSecret, StaticSecret};
use zeroize::Zeroizing;

use super::SealError;

/// HKDF info of suite 1. The salt is `ephemeral public key || recipient public key`.
pub(crate) const HKDF_INFO: &[u8] = b"faceseal/seal/v1 X25519 HKDF-SHA256 AES-256-GCM-SIV";

/// AEAD key and nonce of one envelope; wiped on drop.
pub(crate) struct MessageKey {
    okm: Zeroizing<[u8; 44]>,
}

impl MessageKey {
    fn key(&self) -> &[u8] {
        &self.okm[..32]
    }

    fn nonce(&self) -> Nonce {
        let mut n = [0u8; 12];
        n.copy_from_slice(&self.okm[32..44]);
        Nonce::from(n)
    }
}

/// HKDF-SHA256 (RFC 5869): extract with `salt`, expand with `info` into `okm`.
pub(crate) fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8], okm: &mut [u8]) {
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, okm)
        .expect("output length is at most 255 hash lengths");
}

/// `okm = HKDF-SHA256(salt = E || R, IKM = X25519 shared secret, info, 44)`:
/// the first 32 bytes are the AES-256-GCM-SIV key, the last 12 the nonce.
pub(crate) fn message_key(
    shared: &SharedSecret,
    ephemeral: &[u8; 32],
    recipient: &[u8; 32],
) -> MessageKey {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral);
    salt[32..].copy_from_slice(recipient);
    let mut okm = Zeroizing::new([0u8; 44]);
    hkdf_sha256(&salt, shared.as_bytes(), HKDF_INFO, okm.as_mut());
    MessageKey { okm }
}

/// The recipient side of X25519; refuses a non-contributory result (a
/// low-order ephemeral key yields the all-zero secret).
pub(crate) fn recipient_shared_secret(
    secret: &StaticSecret,
    ephemeral: &[u8; 32],
) -> Result<SharedSecret, SealError> {
    let shared = secret.diffie_hellman(&PublicKey::from(*ephemeral));
    if !shared.was_contributory() {
        return Err(SealError::DecryptionFailed);
    }
    Ok(shared)
}

fn cipher(key: &MessageKey) -> Aes256GcmSiv {
    Aes256GcmSiv::new_from_slice(key.key()).expect("32-byte key")
}

/// Encrypts `buffer` in place and appends the tag.
pub(crate) fn aead_seal(key: &MessageKey, aad: &[u8], buffer: &mut Vec<u8>) {
    cipher(key)
        .encrypt_in_place(&key.nonce(), aad, buffer)
        .expect("a Vec grows as needed");
}

/// Checks the tag and decrypts `buffer` (ciphertext then tag) in place.
pub(crate) fn aead_open(
    key: &MessageKey,
    aad: &[u8],
    buffer: &mut Vec<u8>,
) -> Result<(), SealError> {
    cipher(key)
        .decrypt_in_place(&key.nonce(), aad, buffer)
        .map_err(|_| SealError::DecryptionFailed)
}

#[cfg(test)]
impl MessageKey {
    pub(crate) fn from_parts(key: &[u8; 32], nonce: &[u8; 12]) -> MessageKey {
        let mut okm = Zeroizing::new([0u8; 44]);
        okm[..32].copy_from_slice(key);
        okm[32..].copy_from_slice(nonce);
        MessageKey { okm }
    }
}
