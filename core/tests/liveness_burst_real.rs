//! The burst liveness layer on real NUAA webcam sequences (train split):
//! live sessions pass, printed-photo sessions are refused, a frame injected
//! twice and a challenge nobody answered are refused.

mod common;

use faceseal_core::seal::ChallengeNonce;
use faceseal_core::{FaceAnalyzer, RgbFrame};
use faceseal_vision::liveness::ChallengeFailure;
use faceseal_vision::liveness::TemporalIssue;
use faceseal_vision::liveness::capture_digest;
use faceseal_vision::liveness::{
    BurstLivenessChecker, BurstReason, ChallengeSequence, FrameEvidence, LivenessPolicy,
    SecurityLevel, TimedFrame,
};

/// The first `n` frames of a session in the train list, in frame order.
fn session(list: &str, dir: &str, prefix: &str, n: usize) -> Vec<(RgbFrame, u64)> {
    common::nuaa_session(list, dir, prefix, n)
        .into_iter()
        .map(|(rel, t)| (common::picture(&rel), t))
        .collect()
}

fn observe(
    analyzer: &FaceAnalyzer,
    checker: &BurstLivenessChecker,
    frames: &[(RgbFrame, u64)],
) -> Vec<FrameEvidence> {
    frames
        .iter()
        .map(|(frame, t)| {
            checker
                .observe(
                    analyzer.burst_models(),
                    TimedFrame {
                        frame,
                        timestamp_ms: *t,
                    },
                )
                .unwrap()
        })
        .collect()
}

#[test]
fn live_sessions_pass_and_print_sessions_are_refused() {
    let analyzer = common::analyzer();
    let checker = BurstLivenessChecker::default();
    for prefix in ["0003_01_00_01", "0004_01_00_01"] {
        let frames = session("clientraw_train.txt", "ClientRaw", prefix, 5);
        let d = checker.decide(&observe(&analyzer, &checker, &frames), None);
        assert!(d.live, "{prefix}: {d:?}");
        assert!(d.passive.score >= checker.policy().passive_threshold);
    }
    for prefix in ["0003_01_00_01", "0005_00_01_02"] {
        let frames = session("imposterraw_train.txt", "ImposterRaw", prefix, 5);
        let d = checker.decide(&observe(&analyzer, &checker, &frames), None);
        assert!(!d.live, "{prefix}: {d:?}");
        assert!(d.reasons.contains(&BurstReason::PassiveSpoof), "{d:?}");
    }
}

#[test]
fn the_capture_digest_matches_the_frame_sequence_digest() {
    let analyzer = common::analyzer();
    let checker = BurstLivenessChecker::default();
    let frames = session("clientraw_train.txt", "ClientRaw", "0004_01_00_01", 3);
    let evidence = observe(&analyzer, &checker, &frames);
    let refs: Vec<&RgbFrame> = frames.iter().map(|(f, _)| f).collect();
    assert_eq!(
        capture_digest(&evidence),
        faceseal_vision::frame::sequence_digest(&refs)
    );
    assert_ne!(
        capture_digest(&evidence[..2]),
        faceseal_vision::frame::sequence_digest(&refs)
    );
}

#[test]
fn a_frame_injected_twice_is_refused() {
    let analyzer = common::analyzer();
    let checker = BurstLivenessChecker::default();
    let frames = session("clientraw_train.txt", "ClientRaw", "0003_01_00_01", 4);
    let mut evidence = observe(&analyzer, &checker, &frames);
    let mut copy = evidence[1].clone();
    copy.timestamp_ms += 33;
    evidence.insert(2, copy);
    let d = checker.decide(&evidence, None);
    assert!(!d.live);
    assert!(
        d.reasons
            .contains(&BurstReason::Temporal(TemporalIssue::RepeatedFrames)),
        "{d:?}"
    );
}

#[test]
fn a_live_face_that_ignores_the_challenge_is_refused_at_strict() {
    let analyzer = common::analyzer();
    let checker = BurstLivenessChecker::new(LivenessPolicy::for_level(SecurityLevel::Strict));
    let frames = session("clientraw_train.txt", "ClientRaw", "0003_01_00_01", 5);
    let evidence = observe(&analyzer, &checker, &frames);
    let challenge = ChallengeSequence::derive(&ChallengeNonce::from_bytes([42; 32]));
    let d = checker.decide(&evidence, Some(&challenge));
    assert!(!d.live);
    let outcome = d.challenge.as_ref().unwrap();
    assert!(!outcome.passed);
    assert!(
        matches!(
            outcome.failure,
            Some(ChallengeFailure::Incomplete { .. } | ChallengeFailure::WrongDirection { .. })
        ),
        "{outcome:?}"
    );
    assert!(d.reasons.contains(&BurstReason::ChallengeFailed));
    // Without a challenge, Strict refuses for want of one.
    let d = checker.decide(&evidence, None);
    assert!(d.reasons.contains(&BurstReason::ChallengeMissing));
}

/// Session prefixes (subject_glasses_lighting_session) of a split list, in order.
fn sessions(list: &str, count: usize) -> Vec<String> {
    let root = common::data_dir().join("nuaa");
    let text = std::fs::read_to_string(root.join(list)).expect("split list");
    let mut prefixes: Vec<String> = text
        .lines()
        .filter_map(|l| l.split('/').nth(1))
        .map(|f| f.splitn(5, '_').take(4).collect::<Vec<_>>().join("_"))
        .collect();
    prefixes.sort();
    prefixes.dedup();
    // Spread the choice over the whole list (several people and lightings).
    let step = (prefixes.len() / count).max(1);
    prefixes.into_iter().step_by(step).take(count).collect()
}

#[test]
fn the_border_cue_finds_the_edges_of_held_photos_not_the_room_behind_live_faces() {
    use faceseal_vision::liveness::SCREEN_LIMITS;
    use faceseal_vision::liveness::border_cue;
    let analyzer = common::analyzer();
    let flagged = |list: &str, dir: &str| {
        let mut framed = 0;
        let mut seen = 0;
        for prefix in sessions(list, 10) {
            for (frame, _) in session(list, dir, &prefix, 2) {
                let faces = analyzer.detect(&frame).unwrap();
                let face = faceseal_vision::detect::largest_face(&faces).expect("a face");
                seen += 1;
                if border_cue(&frame, &face.bbox).unwrap().support > SCREEN_LIMITS.max_border {
                    framed += 1;
                }
            }
        }
        (framed, seen)
    };
    let live = flagged("clientraw_train.txt", "ClientRaw");
    let print = flagged("imposterraw_train.txt", "ImposterRaw");
    eprintln!("framed: live {live:?}, print {print:?}");
    // The limit is the live frames' 99th percentile: few live frames pass it;
    // the edges of a hand-held photo do on a good share of print frames.
    assert!(live.0 * 10 <= live.1, "live {live:?}");
    assert!(print.0 * 4 >= print.1, "print {print:?}");
}
