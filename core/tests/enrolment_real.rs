//! Enrolment and local 1:1 verification on real pictures: consent is checked
//! before any biometric processing, the same person matches in the protected
//! domain, another person does not, and a capture that is not live fails
//! whatever it would have scored.

mod common;

use faceseal_core::consent::ConsentError;
use faceseal_core::enrolment::{self, CaptureRequest, EnrolmentError};
use faceseal_core::seal::{self, ChallengeNonce, Purpose, TenantSecretKey};
use faceseal_core::template::{IomParams, MatchThreshold, TemplateKey, TemplateSecret};
use faceseal_core::{AnalyzerConfig, PipelineError, RgbFrame};

const ENROLLED: &str = "lfw/images/Tony_Blair/Tony_Blair_0018.jpg";
const SAME_PERSON: &str = "lfw/images/Tony_Blair/Tony_Blair_0032.jpg";
const OTHER_PERSON: &str = "lfw/images/Hans_Blix/Hans_Blix_0008.jpg";
const SUBJECT: &str = "subject-0042";

fn secret() -> TemplateSecret {
    TemplateSecret::from_bytes(&[0x5a; 32]).unwrap()
}

fn request(consent_ref: Option<&str>, purpose: Purpose) -> CaptureRequest<'_> {
    CaptureRequest {
        subject_id: SUBJECT,
        consent_ref,
        purpose,
    }
}

fn key() -> TemplateKey {
    TemplateKey::derive(&secret(), SUBJECT, 1, IomParams::DEFAULT).unwrap()
}

#[test]
fn missing_consent_is_refused_before_any_biometric_processing() {
    let analyzer = common::analyzer();
    // A blank frame: with consent, the pipeline would run and find no face;
    // without, the consent error comes first, so no model ran.
    let blank = RgbFrame::from_rgb(64, 64, vec![0; 64 * 64 * 3]).unwrap();
    assert!(matches!(
        enrolment::enrol(
            &analyzer,
            &blank,
            &secret(),
            1,
            &request(Some("c-1"), Purpose::Enrol)
        ),
        Err(EnrolmentError::Capture(PipelineError::NoFace))
    ));
    for consent in [None, Some(""), Some("   ")] {
        let err = enrolment::enrol(
            &analyzer,
            &blank,
            &secret(),
            1,
            &request(consent, Purpose::Enrol),
        )
        .unwrap_err();
        assert!(
            matches!(err, EnrolmentError::Consent(ConsentError::Missing)),
            "{err:?}"
        );
        let err = enrolment::verify_local(
            &analyzer,
            &blank,
            &dummy_reference(),
            &key(),
            consent,
            MatchThreshold::DEFAULT,
        )
        .unwrap_err();
        assert!(
            matches!(err, EnrolmentError::Consent(ConsentError::Missing)),
            "{err:?}"
        );
    }
    // Consent given for verification does not cover enrolment.
    let err = enrolment::enrol(
        &analyzer,
        &blank,
        &secret(),
        1,
        &request(Some("c-1"), Purpose::Verify),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        EnrolmentError::Consent(ConsentError::WrongPurpose { .. })
    ));
    assert!(!err.to_string().contains(SUBJECT));
}

/// Some template of the right key, to be compared against.
fn dummy_reference() -> faceseal_core::template::ProtectedTemplate {
    let mut values = [0f32; faceseal_core::EMBEDDING_DIM];
    values[0] = 1.0;
    key()
        .protect(faceseal_core::Embedding::from_array(values))
        .unwrap()
}

#[test]
fn enrol_seal_and_verify_locally() {
    let analyzer = common::analyzer();
    let enrolled = enrolment::enrol(
        &analyzer,
        &common::picture(ENROLLED),
        &secret(),
        1,
        &request(Some("consent-2024-0042"), Purpose::Enrol),
    )
    .expect("a live, good-quality face");
    assert!(enrolled.liveness().live);
    assert!(!format!("{enrolled:?}").contains(SUBJECT));

    // Sealed with the capture's context, and opened by the tenant.
    let mut rng = seal::os_rng();
    let tenant = TenantSecretKey::generate(&mut rng);
    let challenge = ChallengeNonce::generate(&mut rng);
    let sealed = enrolled
        .seal(
            "acme",
            tenant.public_key(),
            challenge,
            1_700_000_000,
            &mut rng,
        )
        .unwrap();
    let (context, template) = seal::open(sealed.as_bytes(), &tenant).unwrap();
    assert_eq!(&template, enrolled.template());
    assert_eq!(context.subject_id, SUBJECT);
    assert_eq!(context.purpose, Purpose::Enrol);
    assert_eq!(context.consent_ref, "consent-2024-0042");
    assert_eq!(context.challenge, challenge);
    assert_eq!(context.liveness_score, enrolled.liveness().score);
    assert_eq!(context.quality_score, enrolled.quality_score());

    let verify = |path: &str| {
        enrolment::verify_local(
            &analyzer,
            &common::picture(path),
            enrolled.template(),
            &key(),
            Some("consent-2024-0043"),
            MatchThreshold::DEFAULT,
        )
        .unwrap()
    };
    let same = verify(SAME_PERSON);
    assert!(same.matched, "{same:?}");
    assert!(same.liveness.live);
    let other = verify(OTHER_PERSON);
    assert!(!other.matched, "{other:?}");
    assert!(other.score < same.score);

    // A key of another version does not fit the reference: refused before
    // the capture is analysed.
    let v2 = TemplateKey::derive(&secret(), SUBJECT, 2, IomParams::DEFAULT).unwrap();
    assert!(matches!(
        enrolment::verify_local(
            &analyzer,
            &common::picture(SAME_PERSON),
            enrolled.template(),
            &v2,
            Some("c"),
            MatchThreshold::DEFAULT
        ),
        Err(EnrolmentError::Template(_))
    ));
}

#[test]
fn liveness_failure_fails_verification_whatever_the_score() {
    // Enrol with the shipped liveness threshold, then verify the same
    // person's matching picture with a liveness layer that refuses it: the
    // operation fails with the liveness decision instead of a match.
    let analyzer = common::analyzer();
    let enrolled = enrolment::enrol(
        &analyzer,
        &common::picture(ENROLLED),
        &secret(),
        1,
        &request(Some("c-1"), Purpose::Enrol),
    )
    .unwrap();
    let strict = common::analyzer_with(AnalyzerConfig {
        liveness_threshold: 1.1,
        ..AnalyzerConfig::default()
    });
    let err = enrolment::verify_local(
        &strict,
        &common::picture(SAME_PERSON),
        enrolled.template(),
        &key(),
        Some("c-2"),
        MatchThreshold::DEFAULT,
    )
    .unwrap_err();
    let decision = err.liveness_failure().expect("refused as not live");
    assert!(!decision.live);

    // A printed photo is refused as well.
    let err = enrolment::verify_local(
        &analyzer,
        &common::picture("screen_replay/silent_face_samples/image_F1.jpg"),
        enrolled.template(),
        &key(),
        Some("c-3"),
        MatchThreshold::DEFAULT,
    )
    .unwrap_err();
    assert!(err.liveness_failure().is_some(), "{err:?}");
}
