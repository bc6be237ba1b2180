use chacha20::ChaCha20Rng;
use proptest::prelude::*;
use rand_core::SeedableRng;

use super::context::tests::sample as sample_context;
use super::envelope::{EPHEMERAL_KEY_LEN, FIXED_HEADER_LEN};
use super::*;
use crate::template::{IomParams, ProtectedTemplate, TemplateError};

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

fn tenant(seed: u8) -> TenantSecretKey {
    TenantSecretKey::generate(&mut rng(seed))
}

fn small_template() -> ProtectedTemplate {
    let mut bytes = vec![b'F', b'S', b'T', b'P', 1, 1, 0, 8, 0, 16, 0, 0, 0, 1];
    bytes.extend_from_slice(&[3, 1, 4, 1, 5, 9, 2, 6]);
    ProtectedTemplate::from_bytes(&bytes).unwrap()
}

/// Offsets of the parts of an envelope: (context end, header end).
fn layout(envelope: &[u8]) -> (usize, usize) {
    let context_len = usize::from(u16::from_be_bytes([envelope[22], envelope[23]]));
    let context_end = FIXED_HEADER_LEN + context_len;
    (context_end, context_end + EPHEMERAL_KEY_LEN)
}

#[test]
fn round_trip() {
    let sk = tenant(1);
    let template = small_template();
    let context = sample_context();
    let sealed = seal(&template, sk.public_key(), &context, &mut rng(2)).unwrap();
    let (opened_context, opened) = open(sealed.as_bytes(), &sk).unwrap();
    assert_eq!(opened_context, context);
    assert_eq!(opened, template);
    let header = parse(sealed.as_bytes()).unwrap();
    assert_eq!(header.key_id, sk.key_id());
    assert_eq!(header.context, context);
    assert_eq!(
        format!("{sealed:?}"),
        format!("SealedTemplate({} bytes)", sealed.len())
    );
}

#[test]
fn round_trip_of_a_real_template_size() {
    let sk = tenant(1);
    let mut bytes = vec![b'F', b'S', b'T', b'P', 1, 1, 0x04, 0x00, 0, 8, 0, 0, 0, 7];
    bytes.extend((0..1024).map(|i| (i % 8) as u8));
    let template = ProtectedTemplate::from_bytes(&bytes).unwrap();
    assert_eq!(template.params(), IomParams::DEFAULT);
    let mut context = sample_context();
    context.purpose = Purpose::Verify;
    let sealed = seal(&template, sk.public_key(), &context, &mut rng(3)).unwrap();
    assert_eq!(
        sealed.len(),
        24 + context.encode().unwrap().len() + 32 + 1038 + 16
    );
    let (c, t) = open(sealed.as_bytes(), &sk).unwrap();
    assert_eq!((c, t), (context, template));
}

#[test]
fn fresh_ephemeral_key_per_envelope() {
    let sk = tenant(1);
    let mut r = rng(4);
    let a = seal(
        &small_template(),
        sk.public_key(),
        &sample_context(),
        &mut r,
    )
    .unwrap();
    let b = seal(
        &small_template(),
        sk.public_key(),
        &sample_context(),
        &mut r,
    )
    .unwrap();
    assert_ne!(a, b);
    let (_, header_end) = layout(a.as_bytes());
    assert_ne!(a.as_bytes()[header_end..], b.as_bytes()[header_end..]);
}

#[test]
fn every_flipped_bit_fails_to_open() {
    let sk = tenant(1);
    let sealed = seal(
        &small_template(),
        sk.public_key(),
        &sample_context(),
        &mut rng(5),
    )
    .unwrap();
    let bytes = sealed.as_bytes();
    let (context_end, header_end) = layout(bytes);
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut altered = bytes.to_vec();
            altered[i] ^= 1 << bit;
            let err = open(&altered, &sk).expect_err("altered envelope opened");
            match i {
                0..4 => assert_eq!(err, SealError::BadMagic),
                4 => assert!(matches!(err, SealError::UnsupportedVersion(_))),
                5 => assert!(matches!(err, SealError::UnsupportedSuite(_))),
                6..22 => assert_eq!(err, SealError::KeyIdMismatch),
                22..24 => assert!(matches!(
                    err,
                    SealError::Truncated | SealError::Malformed(_) | SealError::DecryptionFailed
                )),
                // A context that still parses fails authentication.
                _ if i < context_end => assert!(matches!(
                    err,
                    SealError::Malformed(_) | SealError::DecryptionFailed
                )),
                _ if i < header_end => assert_eq!(err, SealError::DecryptionFailed),
                _ => assert_eq!(err, SealError::DecryptionFailed),
            }
        }
    }
}

#[test]
fn truncated_and_oversized_envelopes() {
    let sk = tenant(1);
    let sealed = seal(
        &small_template(),
        sk.public_key(),
        &sample_context(),
        &mut rng(6),
    )
    .unwrap();
    let bytes = sealed.as_bytes();
    let (_, header_end) = layout(bytes);
    for len in 0..bytes.len() {
        let err = open(&bytes[..len], &sk).expect_err("truncated envelope opened");
        if len < header_end + TAG_LEN {
            assert_eq!(err, SealError::Truncated, "length {len}");
            assert_eq!(parse(&bytes[..len]).unwrap_err(), SealError::Truncated);
        } else {
            assert_eq!(err, SealError::DecryptionFailed, "length {len}");
        }
    }
    let mut long = bytes.to_vec();
    long.resize(MAX_ENVELOPE_LEN + 1, 0);
    assert_eq!(
        open(&long, &sk).unwrap_err(),
        SealError::TooLarge {
            len: MAX_ENVELOPE_LEN + 1,
            max: MAX_ENVELOPE_LEN
        }
    );
    let mut extra = bytes.to_vec();
    extra.push(0);
    assert_eq!(open(&extra, &sk).unwrap_err(), SealError::DecryptionFailed);
    let payload = vec![0u8; MAX_ENVELOPE_LEN];
    assert!(matches!(
        seal_bytes(&payload, sk.public_key(), &sample_context(), &mut rng(7)),
        Err(SealError::TooLarge { .. })
    ));
}

#[test]
fn wrong_key_is_refused() {
    let right = tenant(1);
    let wrong = tenant(2);
    let sealed = seal(
        &small_template(),
        right.public_key(),
        &sample_context(),
        &mut rng(8),
    )
    .unwrap();
    assert_eq!(
        open(sealed.as_bytes(), &wrong).unwrap_err(),
        SealError::KeyIdMismatch
    );
    // Relabelled to the wrong key's id: the key id is bound, and the key is wrong.
    let mut relabelled = sealed.into_bytes();
    relabelled[6..22].copy_from_slice(wrong.key_id().as_bytes());
    assert_eq!(
        open(&relabelled, &wrong).unwrap_err(),
        SealError::DecryptionFailed
    );
}

#[test]
fn weak_keys_are_refused() {
    let low_order = TenantPublicKey::from_bytes([0u8; 32]);
    assert_eq!(
        seal(
            &small_template(),
            &low_order,
            &sample_context(),
            &mut rng(9)
        )
        .unwrap_err(),
        SealError::InvalidRecipientKey
    );
    let sk = tenant(1);
    let sealed = seal(
        &small_template(),
        sk.public_key(),
        &sample_context(),
        &mut rng(9),
    )
    .unwrap();
    let mut bytes = sealed.into_bytes();
    let (context_end, header_end) = layout(&bytes);
    bytes[context_end..header_end].fill(0);
    assert_eq!(open(&bytes, &sk).unwrap_err(), SealError::DecryptionFailed);
}

#[test]
fn invalid_context_is_refused_at_seal_time() {
    let sk = tenant(1);
    let mut context = sample_context();
    context.subject_id.clear();
    assert_eq!(
        seal(&small_template(), sk.public_key(), &context, &mut rng(10)).unwrap_err(),
        SealError::InvalidContext(ContextField::SubjectId)
    );
}

#[test]
fn non_template_payload_is_a_typed_error() {
    let sk = tenant(1);
    let sealed = seal_bytes(
        b"not a template",
        sk.public_key(),
        &sample_context(),
        &mut rng(11),
    )
    .unwrap();
    assert_eq!(
        open(sealed.as_bytes(), &sk).unwrap_err(),
        SealError::InvalidPayload(TemplateError::BadMagic)
    );
    let (_, payload) = open_bytes(sealed.as_bytes(), &sk).unwrap();
    assert_eq!(payload.as_slice(), b"not a template");
}

#[test]
fn errors_never_print_identifiers() {
    let mut context = sample_context();
    context.tenant_id = "tenant-secret-name".into();
    context.subject_id = "jane.doe@example.org".into();
    let sk = tenant(1);
    let sealed = seal(&small_template(), sk.public_key(), &context, &mut rng(12)).unwrap();
    let mut altered = sealed.into_bytes();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    let err = open(&altered, &sk).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("jane") && !shown.contains("tenant-secret"));
    let header = parse(&altered).unwrap();
    let shown = format!("{header:?}");
    assert!(!shown.contains("jane") && !shown.contains("tenant-secret"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let sk = tenant(1);
        let _ = parse(&bytes);
        prop_assert!(open(&bytes, &sk).is_err());
        let _ = ProtectedTemplate::from_bytes(&bytes);
    }

    #[test]
    fn arbitrary_bytes_behind_a_valid_prefix_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..200),
        cut in 0usize..120,
    ) {
        let sk = tenant(1);
        let sealed = seal(&small_template(), sk.public_key(), &sample_context(), &mut rng(13)).unwrap();
        let mut bytes = sealed.as_bytes()[..cut.min(sealed.len())].to_vec();
        bytes.extend_from_slice(&tail);
        let _ = parse(&bytes);
        prop_assert!(open(&bytes, &sk).is_err());
        let mut t = small_template().to_bytes().to_vec();
        t.truncate(cut.min(t.len()));
        t.extend_from_slice(&tail);
        let _ = ProtectedTemplate::from_bytes(&t);
    }
}
