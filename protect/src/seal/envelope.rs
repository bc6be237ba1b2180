//! The byte layout of a sealed envelope (format version 3).
//!
//! ```text
//! offset   size  field
//! 0        4     magic "FSSE"
//! 4        1     format version = 3
//! 5        1     cipher suite = 1 (X25519, HKDF-SHA256, AES-256-GCM-SIV)
//! 6        16    key id of the recipient tenant key
//! 22       2     L = context length (u16 big-endian)
//! 24       L     context (canonical encoding, see SealContext)
//! 24+L     32    ephemeral X25519 public key
//! 56+L     n+16  AES-256-GCM-SIV ciphertext of the n-byte payload, then its tag
//! ```
//! Bytes `0 .. 56+L` (the whole clear header) are the AEAD associated data.

use super::{ContextField, KeyId, SealContext, SealError};

/// First four bytes of every envelope.
pub const ENVELOPE_MAGIC: [u8; 4] = *b"FSSE";
/// The envelope format version this build writes and reads.
pub const ENVELOPE_VERSION: u8 = 3;
/// Suite 1: X25519, HKDF-SHA256, AES-256-GCM-SIV.
pub const SUITE_X25519_HKDF_SHA256_AES256GCMSIV: u8 = 1;
/// Largest envelope accepted or produced, in bytes.
pub const MAX_ENVELOPE_LEN: usize = 16 * 1024;
/// AES-GCM-SIV tag length.
pub const TAG_LEN: usize = 16;
/// magic + version + suite + key id + context length.
pub(crate) const FIXED_HEADER_LEN: usize = 4 + 1 + 1 + KeyId::LEN + 2;
pub(crate) const EPHEMERAL_KEY_LEN: usize = 32;

/// An envelope split into its parts, context already decoded.
pub(crate) struct ParsedEnvelope<'a> {
    /// Everything before the ciphertext: the associated data.
    pub header: &'a [u8],
    pub key_id: KeyId,
    pub context: SealContext,
    pub ephemeral: [u8; 32],
    pub ciphertext: &'a [u8],
}

/// Writes the clear header: magic through the ephemeral public key.
pub(crate) fn write_header(key_id: &KeyId, context: &[u8], ephemeral: &[u8; 32]) -> Vec<u8> {
    let context_len = u16::try_from(context.len()).expect("context fields are bounded");
    let mut out = Vec::with_capacity(FIXED_HEADER_LEN + context.len() + EPHEMERAL_KEY_LEN);
    out.extend_from_slice(&ENVELOPE_MAGIC);
    out.push(ENVELOPE_VERSION);
    out.push(SUITE_X25519_HKDF_SHA256_AES256GCMSIV);
    out.extend_from_slice(key_id.as_bytes());
    out.extend_from_slice(&context_len.to_be_bytes());
    out.extend_from_slice(context);
    out.extend_from_slice(ephemeral);
    out
}

/// Splits and checks an untrusted envelope without decrypting it.
pub(crate) fn parse(bytes: &[u8]) -> Result<ParsedEnvelope<'_>, SealError> {
    if bytes.len() > MAX_ENVELOPE_LEN {
        return Err(SealError::TooLarge {
            len: bytes.len(),
            max: MAX_ENVELOPE_LEN,
        });
    }
    if bytes.len() < ENVELOPE_MAGIC.len() {
        return Err(SealError::Truncated);
    }
    if bytes[0..4] != ENVELOPE_MAGIC {
        return Err(SealError::BadMagic);
    }
    if bytes.len() < FIXED_HEADER_LEN {
        return Err(SealError::Truncated);
    }
    if bytes[4] != ENVELOPE_VERSION {
        return Err(SealError::UnsupportedVersion(bytes[4]));
    }
    if bytes[5] != SUITE_X25519_HKDF_SHA256_AES256GCMSIV {
        return Err(SealError::UnsupportedSuite(bytes[5]));
    }
    let key_id = KeyId::from_bytes(bytes[6..22].try_into().expect("16 bytes"));
    let context_len = usize::from(u16::from_be_bytes([bytes[22], bytes[23]]));
    if context_len == 0 {
        return Err(SealError::Malformed(ContextField::ContextLength));
    }
    let context_end = FIXED_HEADER_LEN + context_len;
    let header_end = context_end + EPHEMERAL_KEY_LEN;
    if bytes.len() < header_end + TAG_LEN {
        return Err(SealError::Truncated);
    }
    let context = SealContext::decode(&bytes[FIXED_HEADER_LEN..context_end])?;
    let ephemeral = bytes[context_end..header_end].try_into().expect("32 bytes");
    Ok(ParsedEnvelope {
        header: &bytes[..header_end],
        key_id,
        context,
        ephemeral,
        ciphertext: &bytes[header_end..],
    })
}
