//! Protected templates at rest: AES-256-GCM-SIV under the tenant's data key,
//! with tenant, subject and template id as associated data, so a stored
//! ciphertext cannot be moved to another subject or tenant row.

use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::random;

pub const DATA_KEY_LEN: usize = 32;
pub const NONCE_LEN: usize = 12;

#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum AtRestError {
    #[error("stored template could not be decrypted (altered, moved, or wrong key)")]
    Decrypt,
    #[error("data key has the wrong length")]
    KeyLength,
}

/// Where a stored template belongs.
#[derive(Debug, Clone, Copy)]
pub struct TemplateSlot<'a> {
    pub tenant_id: &'a str,
    pub subject_id: &'a str,
    pub template_id: &'a str,
}

impl TemplateSlot<'_> {
    fn aad(&self) -> Vec<u8> {
        let mut out = b"faceseal-sync/template/v1".to_vec();
        for field in [self.tenant_id, self.subject_id, self.template_id] {
            out.extend_from_slice(&(field.len() as u32).to_be_bytes());
            out.extend_from_slice(field.as_bytes());
        }
        out
    }
}

fn cipher(data_key: &[u8]) -> Result<Aes256GcmSiv, AtRestError> {
    Aes256GcmSiv::new_from_slice(data_key).map_err(|_| AtRestError::KeyLength)
}

/// Encrypts encoded template bytes; returns `(nonce, ciphertext)`.
pub fn encrypt(
    data_key: &[u8],
    slot: &TemplateSlot<'_>,
    template: &[u8],
) -> Result<([u8; NONCE_LEN], Vec<u8>), AtRestError> {
    let nonce = random::bytes::<NONCE_LEN>();
    let aad = slot.aad();
    let ciphertext = cipher(data_key)?
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: template,
                aad: &aad,
            },
        )
        .map_err(|_| AtRestError::Decrypt)?;
    Ok((nonce, ciphertext))
}

/// Decrypts a stored template into wiped-on-drop memory.
pub fn decrypt(
    data_key: &[u8],
    slot: &TemplateSlot<'_>,
    nonce: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, AtRestError> {
    if nonce.len() != NONCE_LEN {
        return Err(AtRestError::Decrypt);
    }
    let aad = slot.aad();
    cipher(data_key)?
        .decrypt(
            &Nonce::from(<[u8; 12]>::try_from(nonce).map_err(|_| AtRestError::Decrypt)?),
            Payload {
                msg: ciphertext,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| AtRestError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_template_opens_only_in_its_own_slot() {
        let key = [9u8; 32];
        let slot = TemplateSlot {
            tenant_id: "acme",
            subject_id: "s1",
            template_id: "t1",
        };
        let (nonce, ct) = encrypt(&key, &slot, b"FSTP template").unwrap();
        assert_eq!(
            decrypt(&key, &slot, &nonce, &ct).unwrap().as_slice(),
            b"FSTP template"
        );
        for other in [
            TemplateSlot {
                subject_id: "s2",
                ..slot
            },
            TemplateSlot {
                tenant_id: "evil",
                ..slot
            },
            TemplateSlot {
                template_id: "t2",
                ..slot
            },
        ] {
            assert_eq!(
                decrypt(&key, &other, &nonce, &ct),
                Err(AtRestError::Decrypt)
            );
        }
        assert_eq!(
            decrypt(&[8u8; 32], &slot, &nonce, &ct),
            Err(AtRestError::Decrypt)
        );
        let mut flipped = ct.clone();
        flipped[0] ^= 0x80;
        assert_eq!(
            decrypt(&key, &slot, &nonce, &flipped),
            Err(AtRestError::Decrypt)
        );
    }
}
