//! The engine on real pictures: multi-frame enrolment sealed to the tenant,
//! probes with the server's challenge, local comparison, raw camera frames,
//! every refusal, and the queue's busy, timeout and cancel answers under
//! real model work.

mod common;

use std::sync::Arc;
use std::time::Duration;

use faceseal_core::engine::{
    CancelToken, Engine, EngineConfig, EngineError, ErrorKind, FrameInput, RequestOptions,
    TemplateConfig,
};
use faceseal_core::input::{RawFrame, RawPixelFormat, Rotation};
use faceseal_core::seal::{self, ChallengeNonce, Purpose, TenantSecretKey};
use faceseal_core::template::TemplateSecret;

const ENROL_A: &str = "lfw/images/Tony_Blair/Tony_Blair_0018.jpg";
const ENROL_B: &str = "lfw/images/Tony_Blair/Tony_Blair_0064.jpg";
const SAME_PERSON: &str = "lfw/images/Tony_Blair/Tony_Blair_0032.jpg";
const OTHER_PERSON: &str = "lfw/images/Abdullah_Gul/Abdullah_Gul_0001.jpg";
const PRINTED_PHOTO: &str = "screen_replay/silent_face_samples/image_F1.jpg";
const SUBJECT: &str = "subject-0042";

fn file(relative: &str) -> FrameInput {
    let path = common::data_dir().join(relative);
    FrameInput::encoded(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn engine_with(tenant: &TenantSecretKey, workers: usize, depth: usize) -> Engine {
    let config = EngineConfig::new(common::locator())
        .with_tenant("acme", tenant.public_key().clone())
        .with_template(TemplateConfig::new(
            TemplateSecret::from_bytes(&[0x5a; 32]).unwrap(),
            1,
        ))
        .with_queue(workers, depth)
        .with_default_deadline(RESULT_DEADLINE);
    Engine::new(config).expect("engine starts")
}

/// These tests check results, not timing (the queue's unit tests and
/// `hurried` below check deadlines): under an emulator or a sanitizer the
/// first request, which plans the networks, takes far longer than the
/// production default allows.
const RESULT_DEADLINE: Duration = Duration::from_secs(600);

fn opts() -> RequestOptions {
    RequestOptions::default()
}

#[test]
fn enrol_from_two_frames_then_verify_locally_and_by_probe() {
    let tenant = TenantSecretKey::generate(&mut seal::os_rng());
    let engine = engine_with(&tenant, 1, 4);

    let enrolled = engine
        .enroll(
            vec![file(ENROL_A), file(ENROL_B)],
            SUBJECT,
            Some("consent-2024-0042"),
            &opts(),
        )
        .expect("two live, good-quality frames");
    assert!(enrolled.liveness.live);
    let (context, template) = seal::open(enrolled.sealed.as_bytes(), &tenant).unwrap();
    assert_eq!(template, enrolled.template);
    assert_eq!(context.subject_id, SUBJECT);
    assert_eq!(context.purpose, Purpose::Enrol);
    assert_eq!(context.consent_ref, "consent-2024-0042");
    assert_eq!(context.liveness_score, enrolled.liveness.score);
    assert_eq!(context.quality_score, enrolled.quality_score);

    let compare = |path: &str| {
        engine
            .compare_local(
                vec![file(path)],
                SUBJECT,
                Some("c-2"),
                &enrolled.template,
                &opts(),
            )
            .unwrap()
    };
    let same = compare(SAME_PERSON);
    let other = compare(OTHER_PERSON);
    assert!(same.matched, "{same:?}");
    assert!(!other.matched, "{other:?}");
    assert!(other.score < same.score);

    // The server's view: a probe sealed with its challenge, compared with
    // the enrolled template after opening.
    let challenge = ChallengeNonce::generate(&mut seal::os_rng());
    let sealed = engine
        .probe(
            vec![file(SAME_PERSON)],
            SUBJECT,
            Some("c-3"),
            challenge,
            &opts(),
        )
        .unwrap();
    let (context, probe) = seal::open(sealed.as_bytes(), &tenant).unwrap();
    assert_eq!(context.purpose, Purpose::Verify);
    assert_eq!(context.challenge, challenge);
    let score = enrolled.template.compare(&probe).unwrap();
    assert!(
        (score.value() - same.score).abs() < 1e-9,
        "same capture, same score"
    );
}

#[test]
fn one_bad_frame_fails_the_whole_capture() {
    let tenant = TenantSecretKey::generate(&mut seal::os_rng());
    let engine = engine_with(&tenant, 1, 4);
    let kind = |frames: Vec<FrameInput>| {
        engine
            .enroll(frames, SUBJECT, Some("c"), &opts())
            .unwrap_err()
            .kind()
    };
    assert_eq!(
        kind(vec![file(ENROL_A), file(PRINTED_PHOTO)]),
        ErrorKind::NotLive
    );
    let blank = vec![0u8; 96 * 96 * 3];
    let blank = FrameInput::raw(
        &RawFrame {
            data: &blank,
            width: 96,
            height: 96,
            stride: 96 * 3,
            format: RawPixelFormat::Rgb,
        },
        Rotation::None,
    );
    assert_eq!(kind(vec![file(ENROL_A), blank]), ErrorKind::NoFace);
    assert_eq!(
        kind(vec![FrameInput::encoded(b"not a picture")]),
        ErrorKind::InvalidImage
    );
    assert!(matches!(
        engine.enroll(vec![], SUBJECT, Some("c"), &opts()),
        Err(EngineError::NoFrames)
    ));
    let many = (0..9).map(|_| FrameInput::encoded(b"x")).collect();
    assert!(matches!(
        engine.enroll(many, SUBJECT, Some("c"), &opts()),
        Err(EngineError::TooManyFrames { given: 9, max: 8 })
    ));
    // Consent is checked before the request is queued.
    for consent in [None, Some(" ")] {
        let err = engine
            .enroll(vec![file(ENROL_A)], SUBJECT, consent, &opts())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Consent);
        assert!(!err.to_string().contains(SUBJECT));
    }
}

#[test]
fn detection_and_liveness_on_camera_frames() {
    let tenant = TenantSecretKey::generate(&mut seal::os_rng());
    let engine = engine_with(&tenant, 1, 4);
    let picture = common::picture(ENROL_A);
    let (w, h) = (picture.width(), picture.height());
    // A BGRA camera buffer with padded rows, delivered rotated by 90 degrees
    // counter-clockwise (so it needs a 90-degree clockwise turn).
    let stride = w as usize * 4 + 64;
    let mut bgra = vec![0u8; stride * h as usize];
    for y in 0..h {
        for x in 0..w {
            let [r, g, b] = picture.pixel(x, y);
            let o = y as usize * stride + x as usize * 4;
            bgra[o..o + 4].copy_from_slice(&[b, g, r, 255]);
        }
    }
    let upright = |rotation| {
        FrameInput::raw(
            &RawFrame {
                data: &bgra,
                width: w,
                height: h,
                stride,
                format: RawPixelFormat::Bgra,
            },
            rotation,
        )
    };
    let from_file = engine.detect(file(ENROL_A), &opts()).unwrap();
    let from_camera = engine.detect(upright(Rotation::None), &opts()).unwrap();
    assert_eq!(from_file.len(), from_camera.len());
    assert!((from_file[0].bbox.x1 - from_camera[0].bbox.x1).abs() < 1.0);
    let live = engine
        .check_liveness(upright(Rotation::None), &opts())
        .unwrap();
    assert!(live.live, "{live:?}");
    let attack = engine.check_liveness(file(PRINTED_PHOTO), &opts()).unwrap();
    assert!(!attack.live, "{attack:?}");
    // A frame the gate refuses: its buffer is one byte short.
    let short = FrameInput::raw(
        &RawFrame {
            data: &bgra[..bgra.len() - stride + w as usize * 4 - 1],
            width: w,
            height: h,
            stride,
            format: RawPixelFormat::Bgra,
        },
        Rotation::None,
    );
    assert_eq!(
        engine.detect(short, &opts()).unwrap_err().kind(),
        ErrorKind::InvalidImage
    );
}

#[test]
fn busy_timeout_and_cancel_under_real_work() {
    let tenant = TenantSecretKey::generate(&mut seal::os_rng());
    let engine = Arc::new(engine_with(&tenant, 1, 1));
    let picture = std::fs::read(common::data_dir().join(ENROL_A)).unwrap();

    // Eight callers at once against one worker and one queue place: each
    // gets a result or Busy, and some get Busy.
    let (mut ok, mut busy) = (0, 0);
    for _ in 0..20 {
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let engine = Arc::clone(&engine);
                    let picture = &picture;
                    scope.spawn(move || engine.detect(FrameInput::encoded(picture), &opts()))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for result in results {
            match result {
                Ok(faces) => {
                    assert!(!faces.is_empty());
                    ok += 1;
                }
                Err(EngineError::Busy) => busy += 1,
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        if busy > 0 {
            break;
        }
    }
    assert!(ok > 0 && busy > 0, "ok {ok}, busy {busy}");

    // A deadline shorter than any analysis.
    let hurried = RequestOptions::with_timeout(Duration::from_millis(1));
    assert!(matches!(
        engine.enroll(
            vec![FrameInput::encoded(&picture), FrameInput::encoded(&picture)],
            SUBJECT,
            Some("c"),
            &hurried
        ),
        Err(EngineError::Timeout)
    ));

    // Cancelled from another thread while running.
    let token = CancelToken::new();
    let cancelling = RequestOptions {
        timeout: None,
        cancel: Some(token.clone()),
    };
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(5));
        token.cancel();
    });
    let frames = (0..8).map(|_| FrameInput::encoded(&picture)).collect();
    let result = engine.enroll(frames, SUBJECT, Some("c"), &cancelling);
    canceller.join().unwrap();
    assert!(matches!(result, Err(EngineError::Cancelled)), "{result:?}");
    // The engine still serves requests afterwards.
    assert!(
        engine
            .detect(FrameInput::encoded(&picture), &opts())
            .is_ok()
    );
}

#[test]
fn operations_need_their_configuration() {
    let engine =
        Engine::new(EngineConfig::new(common::locator()).with_default_deadline(RESULT_DEADLINE))
            .unwrap();
    assert_eq!(
        engine
            .detect(file(ENROL_A), &opts())
            .map(|faces| faces.len())
            .unwrap(),
        1
    );
    let err = engine
        .enroll(vec![file(ENROL_A)], SUBJECT, Some("c"), &opts())
        .unwrap_err();
    assert!(matches!(err, EngineError::NotConfigured(_)), "{err:?}");
}
