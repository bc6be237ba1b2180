//! Capture sessions on real NUAA webcam bursts: a live burst enrols, another
//! burst of the same person matches it and ranks above other people's, a
//! printed photo is refused with the burst decision's reasons, and every
//! misuse of a session is a typed error, never a panic.

mod common;

use std::sync::Arc;
use std::time::Duration;

use faceseal_core::engine::{
    CaptureError, CaptureSessionConfig, Engine, EngineConfig, FrameInput, Guidance, RequestOptions,
    TemplateConfig,
};
use faceseal_core::seal::{self, ChallengeNonce, Purpose, TenantSecretKey};
use faceseal_core::template::{MatchThreshold, TemplateSecret};
use faceseal_vision::frame::sequence_digest;
use faceseal_vision::liveness::{BurstReason, SecurityLevel};

fn burst(list: &str, dir: &str, prefix: &str, n: usize) -> Vec<(String, u64)> {
    common::nuaa_session(list, dir, prefix, n)
}

fn bytes(relative: &str) -> Vec<u8> {
    let path = common::data_dir().join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn engine(tenant: &TenantSecretKey) -> Arc<Engine> {
    let config = EngineConfig::new(common::locator())
        .with_tenant("acme", tenant.public_key().clone())
        .with_template(TemplateConfig::new(
            TemplateSecret::from_bytes(&[0x5a; 32]).unwrap(),
            1,
        ))
        .with_queue(1, 4)
        .with_default_deadline(Duration::from_secs(600));
    Arc::new(Engine::new(config).expect("engine starts"))
}

fn opts() -> RequestOptions {
    RequestOptions::default()
}

fn session(
    engine: &Arc<Engine>,
    purpose: Purpose,
    nonce: ChallengeNonce,
) -> faceseal_core::engine::CaptureSession {
    engine
        .start_capture(CaptureSessionConfig::new(
            purpose,
            "subject-0003",
            "consent-2026-0003",
            nonce,
        ))
        .expect("session starts")
}

/// Pushes a burst through a new session and finishes it.
fn capture(
    engine: &Arc<Engine>,
    purpose: Purpose,
    frames: &[(String, u64)],
) -> (
    Result<faceseal_core::engine::CaptureOutcome, CaptureError>,
    ChallengeNonce,
    Vec<Guidance>,
) {
    let nonce = ChallengeNonce::generate(&mut seal::os_rng());
    let s = session(engine, purpose, nonce);
    let mut guidance = Vec::new();
    for (path, t) in frames {
        let feedback = s
            .push_frame(FrameInput::encoded(&bytes(path)), *t, &opts())
            .expect("frame accepted");
        guidance.push(feedback.guidance);
    }
    (s.finish(&opts()), nonce, guidance)
}

#[test]
fn a_live_burst_enrols_and_the_same_person_matches_best() {
    let tenant = TenantSecretKey::generate(&mut seal::os_rng());
    let engine = engine(&tenant);
    let enrol_frames = burst("clientraw_train.txt", "ClientRaw", "0003_01_00_01", 5);
    let (outcome, nonce, guidance) = capture(&engine, Purpose::Enrol, &enrol_frames);
    let enrolled = outcome.expect("a live burst enrols");
    assert!(enrolled.decision.live, "{:?}", enrolled.decision);
    assert_eq!(guidance.last(), Some(&Guidance::Done), "{guidance:?}");

    let (context, template) = seal::open(enrolled.sealed.as_bytes(), &tenant).unwrap();
    assert_eq!(template, enrolled.template);
    assert_eq!(context.purpose, Purpose::Enrol);
    assert_eq!(context.challenge, nonce);
    assert_eq!(context.liveness_score, enrolled.decision.score);
    // The digest binds exactly the frames the liveness decision saw.
    let decoded: Vec<faceseal_core::RgbFrame> = enrol_frames
        .iter()
        .map(|(p, _)| common::picture(p))
        .collect();
    assert_eq!(
        context.capture_digest,
        sequence_digest(&decoded.iter().collect::<Vec<_>>())
    );

    let same = burst("clientraw_train.txt", "ClientRaw", "0003_01_00_01", 10);
    let (probe, _, _) = capture(&engine, Purpose::Verify, &same[5..]);
    let probe = probe.expect("another live burst of the same person");
    let same_score = enrolled.template.compare(&probe.template).unwrap();
    assert!(
        same_score.is_match(MatchThreshold::DEFAULT),
        "{}",
        same_score.value()
    );

    for prefix in [
        "0004_01_00_01",
        "0006_00_00_01",
        "0007_00_00_01",
        "0009_01_00_01",
    ] {
        let other = burst("clientraw_train.txt", "ClientRaw", prefix, 5);
        let (other, _, _) = capture(&engine, Purpose::Verify, &other);
        let other = other.expect("another person's live burst");
        let score = enrolled.template.compare(&other.template).unwrap();
        // Ranked below the same person's burst. Not asserted: below the
        // match threshold. On NUAA's dim webcam faces the threshold taken on
        // LFW does not separate these people (docs/liveness.md, README).
        assert!(
            score.value() < same_score.value(),
            "{prefix}: {} against the same person's {}",
            score.value(),
            same_score.value()
        );
    }
}

#[test]
fn a_print_attack_is_refused_with_its_reasons() {
    let tenant = TenantSecretKey::generate(&mut seal::os_rng());
    let engine = engine(&tenant);
    let frames = burst("imposterraw_train.txt", "ImposterRaw", "0003_01_00_01", 5);
    match capture(&engine, Purpose::Enrol, &frames).0 {
        Err(CaptureError::NotLive(d)) => {
            assert!(!d.live);
            assert!(d.reasons.contains(&BurstReason::PassiveSpoof), "{d:?}");
            assert!(d.score < 0.5);
        }
        other => panic!("a print burst must be refused: {other:?}"),
    }
}

#[test]
fn misuse_of_a_session_is_a_typed_error() {
    let tenant = TenantSecretKey::generate(&mut seal::os_rng());
    let engine = engine(&tenant);
    let frames = burst("clientraw_train.txt", "ClientRaw", "0004_01_00_01", 5);
    let frame = |i: usize| FrameInput::encoded(&bytes(&frames[i].0));
    let nonce = ChallengeNonce::generate(&mut seal::os_rng());

    // Finish with no frame.
    let s = session(&engine, Purpose::Enrol, nonce);
    assert!(matches!(
        s.finish(&opts()),
        Err(CaptureError::NotEnoughFrames { given: 0, .. })
    ));
    // Frames out of order, and a frame of another size mid-burst.
    s.push_frame(frame(0), 1000, &opts()).unwrap();
    assert!(matches!(
        s.push_frame(frame(1), 1000, &opts()),
        Err(CaptureError::FrameOutOfOrder { .. })
    ));
    let small = bytes("lfw/images/Tony_Blair/Tony_Blair_0018.jpg");
    assert!(matches!(
        s.push_frame(FrameInput::encoded(&small), 1100, &opts()),
        Err(CaptureError::FrameSizeChanged { .. })
    ));
    // Garbage is the engine's typed refusal, and the session goes on.
    assert!(matches!(
        s.push_frame(FrameInput::encoded(b"not a picture"), 1200, &opts()),
        Err(CaptureError::Engine(_))
    ));
    for i in 1..5 {
        s.push_frame(frame(i), 1000 + 50 * i as u64 + 300, &opts())
            .unwrap();
    }
    s.finish(&opts()).expect("a live burst");
    // Used after finish.
    assert!(matches!(
        s.push_frame(frame(0), 9000, &opts()),
        Err(CaptureError::Finished)
    ));
    assert!(matches!(s.finish(&opts()), Err(CaptureError::Finished)));

    // Used after expiry.
    let s = engine
        .start_capture(
            CaptureSessionConfig::new(Purpose::Enrol, "subject-0004", "consent-1", nonce)
                .with_expiry(Duration::from_millis(1)),
        )
        .unwrap();
    std::thread::sleep(Duration::from_millis(5));
    assert!(matches!(
        s.push_frame(frame(0), 0, &opts()),
        Err(CaptureError::Expired)
    ));
    assert!(matches!(s.finish(&opts()), Err(CaptureError::Finished)));

    // Pushed from two threads at once: each call is served or told the
    // session is in use, never both at once and never a panic.
    let s = Arc::new(session(&engine, Purpose::Enrol, nonce));
    let mut in_use = 0;
    for round in 0..10u64 {
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let handles: Vec<_> = (0..2u64)
            .map(|k| {
                let (s, barrier) = (Arc::clone(&s), Arc::clone(&barrier));
                let input = frame(k as usize);
                std::thread::spawn(move || {
                    barrier.wait();
                    s.push_frame(input, 10_000 * (round + 1) + 100 * k, &opts())
                })
            })
            .collect();
        for h in handles {
            match h.join().expect("no panic") {
                Ok(_) | Err(CaptureError::FrameOutOfOrder { .. }) => {}
                Err(CaptureError::InUse) => in_use += 1,
                Err(e) => panic!("unexpected: {e:?}"),
            }
        }
        if in_use > 0 {
            break;
        }
    }
    assert!(
        in_use > 0,
        "two pushes at once were never told the session was in use"
    );

    // Strict asks for head movements and says which.
    let s = engine
        .start_capture(
            CaptureSessionConfig::new(Purpose::Verify, "subject-0004", "consent-1", nonce)
                .with_level(SecurityLevel::Strict),
        )
        .unwrap();
    assert_eq!(s.challenge_steps().len(), 3);
    let first = s.push_frame(frame(0), 0, &opts()).unwrap();
    assert_eq!(first.turns_required, 3);
    assert!(matches!(
        first.guidance,
        Guidance::Turn(_) | Guidance::HoldStill
    ));
}
