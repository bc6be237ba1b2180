//! Opening a sealed envelope received from a device, and the checks that need
//! nothing but the envelope, the tenant's keys and the clock. The checks that
//! need the database (challenge, consent, thresholds) follow in
//! [`crate::service`]. Kept free of I/O so it can be fuzzed.

use faceseal_protect::seal::{self, KeyId, Purpose, SealContext, SealError, TenantSecretKey};
use faceseal_protect::template::ProtectedTemplate;

use crate::error::Refusal;

/// What the server expects of an envelope on this route, for this caller.
#[derive(Debug, Clone, Copy)]
pub struct Expectation<'a> {
    /// The authenticated caller's tenant.
    pub tenant_id: &'a str,
    /// The route's purpose: enrolment or verification.
    pub purpose: Purpose,
    /// Now, seconds since the Unix epoch.
    pub now: u64,
    /// How far in the future a device clock may be.
    pub max_clock_skew: u64,
}

/// An opened envelope whose tenant and purpose are the expected ones.
pub struct OpenedEnvelope {
    pub key_id: KeyId,
    pub context: SealContext,
    /// Zeroized on drop.
    pub template: ProtectedTemplate,
}

/// Opens `envelope` with the tenant key it names, as found by `key_for`
/// (which returns `None` for an unknown or retired key id), then checks
/// tenant, purpose and that the creation time is not in the future.
pub fn open_envelope(
    envelope: &[u8],
    key_for: impl FnOnce(&KeyId) -> Option<TenantSecretKey>,
    expect: &Expectation<'_>,
) -> Result<OpenedEnvelope, Refusal> {
    let header = seal::parse(envelope).map_err(malformed)?;
    let key = key_for(&header.key_id).ok_or(Refusal::UnknownKeyId)?;
    let (context, template) = seal::open(envelope, &key).map_err(malformed)?;
    if context.tenant_id != expect.tenant_id {
        return Err(Refusal::TenantMismatch);
    }
    if context.purpose != expect.purpose {
        return Err(Refusal::WrongPurpose);
    }
    if context.created_at > expect.now.saturating_add(expect.max_clock_skew) {
        return Err(Refusal::OutsideTimeWindow);
    }
    Ok(OpenedEnvelope {
        key_id: header.key_id,
        context,
        template,
    })
}

fn malformed(e: SealError) -> Refusal {
    match e {
        SealError::TooLarge { .. } => Refusal::EnvelopeTooLarge,
        SealError::DecryptionFailed | SealError::KeyIdMismatch => Refusal::EnvelopeUnopenable,
        SealError::InvalidPayload(_) => Refusal::InvalidTemplate,
        _ => Refusal::MalformedEnvelope,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faceseal_protect::seal::ChallengeNonce;
    use proptest::prelude::*;

    fn template() -> ProtectedTemplate {
        let mut bytes = vec![b'F', b'S', b'T', b'P', 1, 1, 0, 8, 0, 16, 0, 0, 0, 1];
        bytes.extend_from_slice(&[3, 1, 4, 1, 5, 9, 2, 6]);
        ProtectedTemplate::from_bytes(&bytes).unwrap()
    }

    fn context(tenant: &str, purpose: Purpose) -> SealContext {
        SealContext {
            tenant_id: tenant.into(),
            subject_id: "s".into(),
            purpose,
            consent_ref: "c".into(),
            challenge: ChallengeNonce::from_bytes([1; 32]),
            capture_digest: [2; 32],
            created_at: 1_000,
            liveness_score: 0.9,
            quality_score: 0.9,
            liveness_level: faceseal_protect::seal::SecurityLevel::Standard,
        }
    }

    fn expect(purpose: Purpose) -> Expectation<'static> {
        Expectation {
            tenant_id: "acme",
            purpose,
            now: 1_000,
            max_clock_skew: 30,
        }
    }

    fn key() -> TenantSecretKey {
        TenantSecretKey::from_bytes(&mut [0x42; 32])
    }

    fn sealed(ctx: &SealContext) -> Vec<u8> {
        seal::seal(&template(), key().public_key(), ctx, &mut seal::os_rng())
            .unwrap()
            .into_bytes()
    }

    fn lookup(id: &KeyId) -> Option<TenantSecretKey> {
        (id == &key().key_id()).then(key)
    }

    fn refusal(r: Result<OpenedEnvelope, Refusal>) -> Refusal {
        match r {
            Ok(_) => panic!("accepted"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_good_envelope_opens_and_every_bound_field_is_checked() {
        let good = sealed(&context("acme", Purpose::Enrol));
        let opened = open_envelope(&good, lookup, &expect(Purpose::Enrol)).unwrap();
        assert_eq!(opened.template, template());
        assert_eq!(
            refusal(open_envelope(&good, lookup, &expect(Purpose::Verify))),
            Refusal::WrongPurpose
        );
        let foreign = sealed(&context("evil", Purpose::Enrol));
        assert_eq!(
            refusal(open_envelope(&foreign, lookup, &expect(Purpose::Enrol))),
            Refusal::TenantMismatch
        );
        let mut future = context("acme", Purpose::Enrol);
        future.created_at = 1_031;
        assert_eq!(
            refusal(open_envelope(
                &sealed(&future),
                lookup,
                &expect(Purpose::Enrol)
            )),
            Refusal::OutsideTimeWindow
        );
        assert_eq!(
            refusal(open_envelope(&good, |_| None, &expect(Purpose::Enrol))),
            Refusal::UnknownKeyId
        );
    }

    #[test]
    fn truncated_flipped_and_oversized_envelopes_are_refused() {
        let good = sealed(&context("acme", Purpose::Enrol));
        for len in 0..good.len() {
            assert!(open_envelope(&good[..len], lookup, &expect(Purpose::Enrol)).is_err());
        }
        for bit in 0..good.len() * 8 {
            let mut flipped = good.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(open_envelope(&flipped, lookup, &expect(Purpose::Enrol)).is_err());
        }
        let huge = vec![0u8; seal::MAX_ENVELOPE_LEN + 1];
        assert_eq!(
            refusal(open_envelope(&huge, lookup, &expect(Purpose::Enrol))),
            Refusal::EnvelopeTooLarge
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_open(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            prop_assert!(open_envelope(&bytes, lookup, &expect(Purpose::Enrol)).is_err());
        }

        #[test]
        fn arbitrary_bytes_after_a_valid_header_never_open(
            tail in proptest::collection::vec(any::<u8>(), 0..200), cut in 0usize..200,
        ) {
            let good = sealed(&context("acme", Purpose::Enrol));
            let mut bytes = good[..good.len().saturating_sub(cut).max(1)].to_vec();
            bytes.extend_from_slice(&tail);
            prop_assume!(bytes != good);
            prop_assert!(open_envelope(&bytes, lookup, &expect(Purpose::Enrol)).is_err());
        }
    }
}
