//! The check that an envelope answers the challenge it claims to: a sealed
//! capture replayed later names the nonce it was made under, not the fresh
//! one the verifier issued, and is refused.
//!
//! The sync service makes this check against the nonces it issued; this is
//! the same rule for a device or kiosk that verifies locally.

use zeroize::Zeroizing;

use super::{ChallengeNonce, SealContext, SealError, TenantSecretKey, open_bytes};

/// Why an envelope was refused as an answer to a challenge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChallengeCheckError {
    #[error(transparent)]
    Seal(#[from] SealError),
    /// Authentic, but made for another challenge: replayed or stale.
    #[error("envelope answers a different challenge (replayed or stale capture)")]
    ChallengeMismatch,
}

/// Opens an envelope and accepts it only if it was sealed under `expected`.
/// The nonce comparison is constant-time and happens after authentication,
/// so an altered nonce fails as a decryption error first.
pub fn open_for_challenge(
    envelope: &[u8],
    key: &TenantSecretKey,
    expected: &ChallengeNonce,
) -> Result<(SealContext, Zeroizing<Vec<u8>>), ChallengeCheckError> {
    let (context, payload) = open_bytes(envelope, key)?;
    if context.challenge != *expected {
        return Err(ChallengeCheckError::ChallengeMismatch);
    }
    Ok((context, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::{Purpose, os_rng, seal_bytes};

    fn context(challenge: ChallengeNonce) -> SealContext {
        SealContext {
            tenant_id: "tenant".into(),
            subject_id: "subject".into(),
            purpose: Purpose::Verify,
            consent_ref: "consent".into(),
            challenge,
            capture_digest: [7; 32],
            created_at: 1_700_000_000,
            liveness_score: 0.9,
            quality_score: 0.8,
            liveness_level: crate::seal::SecurityLevel::Standard,
        }
    }

    #[test]
    fn an_envelope_under_an_old_nonce_is_refused() {
        let mut rng = os_rng();
        let key = TenantSecretKey::generate(&mut rng);
        let old = ChallengeNonce::generate(&mut rng);
        let fresh = ChallengeNonce::generate(&mut rng);
        let sealed = seal_bytes(b"probe", key.public_key(), &context(old), &mut rng).unwrap();
        assert_eq!(
            open_for_challenge(sealed.as_bytes(), &key, &fresh).unwrap_err(),
            ChallengeCheckError::ChallengeMismatch
        );
        let (ctx, payload) = open_for_challenge(sealed.as_bytes(), &key, &old).unwrap();
        assert_eq!(ctx.challenge, old);
        assert_eq!(payload.as_slice(), b"probe");
    }

    #[test]
    fn a_nonce_edited_in_the_clear_header_fails_authentication() {
        let mut rng = os_rng();
        let key = TenantSecretKey::generate(&mut rng);
        let old = ChallengeNonce::from_bytes([1; 32]);
        let fresh = ChallengeNonce::from_bytes([2; 32]);
        let sealed = seal_bytes(b"probe", key.public_key(), &context(old), &mut rng).unwrap();
        let mut bytes = sealed.into_bytes();
        let at = bytes
            .windows(32)
            .position(|w| w == old.as_bytes())
            .expect("nonce in header");
        bytes[at..at + 32].copy_from_slice(fresh.as_bytes());
        assert_eq!(
            open_for_challenge(&bytes, &key, &fresh).unwrap_err(),
            ChallengeCheckError::Seal(SealError::DecryptionFailed)
        );
    }
}
