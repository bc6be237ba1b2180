//! Challenge-response liveness: the person turns their head in a short random
//! sequence of directions that nobody could know before the challenge nonce
//! was issued, so a recording made earlier does not follow it.
//!
//! The sequence is derived from the [`ChallengeNonce`] the sync service issues
//! (or one drawn locally when offline), deterministically:
//!
//! ```text
//! digest = SHA-256("faceseal/liveness/challenge/v1" || nonce)
//! step 0 = [Left, Right, Up, Down][digest[0] % 4]
//! step k = the (digest[k] % 3)-th of the three directions other than step k-1
//! ```
//!
//! Both sides can therefore recompute the sequence from the nonce alone; the
//! nonce travels in the sealed envelope, which binds the capture to it. The
//! modulo bias (256 is not a multiple of 3) moves each choice's probability
//! by under 0.4 percentage points, which does not help a replay: the nonce is
//! fresh per operation and the replayed envelope names the old one.
//!
//! The check reads the head pose from the five landmarks ([`PoseEstimate`]):
//! for a print or a screen moved in front of the camera the nose stays on the
//! eye-mouth plane, so its estimated yaw and pitch barely change whatever the
//! plane does. A flat attack can only follow the sequence by showing a video
//! of a face turning on cue, which needs the attacker to render it live.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::geometry::Landmarks;
use crate::quality::PoseEstimate;
use faceseal_protect::seal::ChallengeNonce;

/// Domain label of the sequence derivation; bump the version to change it.
pub(crate) const CHALLENGE_DOMAIN: &[u8] = b"faceseal/liveness/challenge/v1";

/// A head movement the person is asked to make, in the person's own terms
/// (their left, as a mirror-preview app shows it). Frames are the camera's
/// own, unmirrored: turning to one's own left moves the nose toward the
/// picture's right, which the pose estimate reads as positive yaw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadTurn {
    Left,
    Right,
    Up,
    Down,
}

impl HeadTurn {
    pub const ALL: [HeadTurn; 4] = [
        HeadTurn::Left,
        HeadTurn::Right,
        HeadTurn::Up,
        HeadTurn::Down,
    ];

    /// The instruction to show.
    pub fn instruction(self) -> &'static str {
        match self {
            HeadTurn::Left => "turn your head to your left",
            HeadTurn::Right => "turn your head to your right",
            HeadTurn::Up => "tilt your head up",
            HeadTurn::Down => "tilt your head down",
        }
    }
}

/// The instructions of one challenge, derived from its nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeSequence {
    nonce: ChallengeNonce,
    steps: Vec<HeadTurn>,
}

impl ChallengeSequence {
    /// Number of movements asked for: three directions out of four, no two in
    /// a row the same, gives 4·3·3 = 36 sequences; a random guess at the
    /// order passes one time in 36, and it is one signal among several.
    pub(crate) const STEPS: usize = 3;

    /// The sequence of a nonce (see the module documentation).
    pub fn derive(nonce: &ChallengeNonce) -> Self {
        let digest: [u8; 32] = Sha256::new()
            .chain_update(CHALLENGE_DOMAIN)
            .chain_update(nonce.as_bytes())
            .finalize()
            .into();
        let mut steps = Vec::with_capacity(Self::STEPS);
        steps.push(HeadTurn::ALL[usize::from(digest[0] % 4)]);
        for &byte in &digest[1..Self::STEPS] {
            let previous = steps[steps.len() - 1];
            let others: Vec<HeadTurn> = HeadTurn::ALL
                .into_iter()
                .filter(|d| *d != previous)
                .collect();
            steps.push(others[usize::from(byte % 3)]);
        }
        Self {
            nonce: *nonce,
            steps,
        }
    }

    /// A challenge from a locally drawn nonce, for offline operation.
    pub fn local<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self::derive(&ChallengeNonce::generate(rng))
    }

    pub fn nonce(&self) -> &ChallengeNonce {
        &self.nonce
    }

    pub fn steps(&self) -> &[HeadTurn] {
        &self.steps
    }
}

/// How far and how fast the head must move.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ChallengeLimits {
    /// Yaw change from the starting pose that counts as a left/right turn, degrees.
    pub yaw_degrees: f32,
    /// Pitch change that counts as up/down, degrees. Lower than yaw: the
    /// landmark estimate of pitch moves about half as much for the same tilt.
    pub pitch_degrees: f32,
    /// The whole sequence must be done within this time of the first frame.
    pub time_limit_ms: u64,
    /// Frames averaged for the starting pose.
    pub baseline_frames: usize,
}

impl Default for ChallengeLimits {
    fn default() -> Self {
        Self {
            yaw_degrees: 15.0,
            pitch_degrees: 10.0,
            time_limit_ms: 6_000,
            baseline_frames: 2,
        }
    }
}

/// One analysed frame of a burst as the challenge sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackPoint {
    pub timestamp_ms: u64,
    pub landmarks: Landmarks,
}

/// Why a burst did not answer its challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[non_exhaustive]
pub enum ChallengeFailure {
    /// Not enough frames with a face to read a movement.
    TooFewFrames,
    /// Timestamps that do not increase: frames replayed or reordered.
    TimeNotIncreasing,
    /// Two consecutive frames with bit-identical landmarks: a camera never
    /// delivers that, a frame injected twice does.
    RepeatedFrame { index: usize },
    /// A movement other than the one asked for, before it.
    WrongDirection {
        step: usize,
        expected: HeadTurn,
        seen: HeadTurn,
    },
    /// The burst ended before every movement was seen.
    Incomplete { completed: usize },
    /// Every movement was seen, but too late.
    TooSlow { elapsed_ms: u64, limit_ms: u64 },
}

/// The answer to one challenge.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChallengeOutcome {
    pub passed: bool,
    /// Movements seen in the right order.
    pub completed: usize,
    pub required: usize,
    /// From the first frame to the frame that completed the last movement.
    pub elapsed_ms: Option<u64>,
    pub failure: Option<ChallengeFailure>,
    /// Score for fusion: the share of movements done in order, 1 when passed.
    pub score: f32,
}

impl ChallengeOutcome {
    fn failed(seq: &ChallengeSequence, completed: usize, failure: ChallengeFailure) -> Self {
        Self {
            passed: false,
            completed,
            required: seq.steps.len(),
            elapsed_ms: None,
            failure: Some(failure),
            score: completed as f32 / seq.steps.len().max(1) as f32 * 0.5,
        }
    }
}

/// The direction a pose change shows, if it is past a threshold: the one
/// furthest past its own threshold.
fn dominant_turn(yaw: f32, pitch: f32, limits: &ChallengeLimits) -> Option<HeadTurn> {
    let candidates = [
        (HeadTurn::Left, yaw / limits.yaw_degrees),
        (HeadTurn::Right, -yaw / limits.yaw_degrees),
        (HeadTurn::Down, pitch / limits.pitch_degrees),
        (HeadTurn::Up, -pitch / limits.pitch_degrees),
    ];
    candidates
        .into_iter()
        .filter(|(_, r)| *r >= 1.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(d, _)| d)
}

/// Checks that the frames follow the sequence, in order, within the limit.
///
/// The starting pose is the mean of the first `baseline_frames` frames, so
/// a person who does not face the camera squarely is measured from where
/// they start. A direction other than the expected one (or the one just
/// completed, still held) fails at once: trying every direction in turn is
/// not an answer.
pub fn verify_challenge(
    sequence: &ChallengeSequence,
    track: &[TrackPoint],
    limits: &ChallengeLimits,
) -> ChallengeOutcome {
    let baseline_n = limits.baseline_frames.max(1);
    if track.len() <= baseline_n {
        return ChallengeOutcome::failed(sequence, 0, ChallengeFailure::TooFewFrames);
    }
    for (i, w) in track.windows(2).enumerate() {
        if w[1].timestamp_ms <= w[0].timestamp_ms {
            return ChallengeOutcome::failed(sequence, 0, ChallengeFailure::TimeNotIncreasing);
        }
        if w[1].landmarks == w[0].landmarks {
            return ChallengeOutcome::failed(
                sequence,
                0,
                ChallengeFailure::RepeatedFrame { index: i + 1 },
            );
        }
    }
    let poses: Vec<Option<PoseEstimate>> = track
        .iter()
        .map(|p| PoseEstimate::from_landmarks(&p.landmarks))
        .collect();
    let base: Vec<PoseEstimate> = poses[..baseline_n].iter().flatten().copied().collect();
    if base.is_empty() {
        return ChallengeOutcome::failed(sequence, 0, ChallengeFailure::TooFewFrames);
    }
    let n = base.len() as f32;
    let (yaw0, pitch0) = (
        base.iter().map(|p| p.yaw).sum::<f32>() / n,
        base.iter().map(|p| p.pitch).sum::<f32>() / n,
    );
    let start = track[0].timestamp_ms;
    let steps = sequence.steps();
    let mut done = 0usize;
    for (point, pose) in track.iter().zip(&poses).skip(baseline_n) {
        let Some(pose) = pose else { continue };
        let Some(turn) = dominant_turn(pose.yaw - yaw0, pose.pitch - pitch0, limits) else {
            continue;
        };
        if turn == steps[done] {
            done += 1;
            if done == steps.len() {
                let elapsed_ms = point.timestamp_ms - start;
                if elapsed_ms > limits.time_limit_ms {
                    let mut out = ChallengeOutcome::failed(
                        sequence,
                        done,
                        ChallengeFailure::TooSlow {
                            elapsed_ms,
                            limit_ms: limits.time_limit_ms,
                        },
                    );
                    out.elapsed_ms = Some(elapsed_ms);
                    return out;
                }
                return ChallengeOutcome {
                    passed: true,
                    completed: done,
                    required: steps.len(),
                    elapsed_ms: Some(elapsed_ms),
                    failure: None,
                    score: 1.0,
                };
            }
        } else if done == 0 || turn != steps[done - 1] {
            return ChallengeOutcome::failed(
                sequence,
                done,
                ChallengeFailure::WrongDirection {
                    step: done,
                    expected: steps[done],
                    seen: turn,
                },
            );
        }
    }
    ChallengeOutcome::failed(
        sequence,
        done,
        ChallengeFailure::Incomplete { completed: done },
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::align::CHIP_LANDMARKS;
    use crate::geometry::Point;

    /// Landmarks of a synthetic head: the frontal chip's points placed on a
    /// 3-D face (nose in front of the eye-mouth plane), rotated by yaw and
    /// pitch and projected orthographically, plus a little deterministic
    /// jitter so no two frames are identical.
    pub(crate) fn head(yaw_deg: f32, pitch_deg: f32, jitter: u32) -> Landmarks {
        let centre = Point::new(74.0, 75.0);
        let eye = 52.9;
        let (sy, cy) = yaw_deg.to_radians().sin_cos();
        let (sp, cp) = pitch_deg.to_radians().sin_cos();
        let pts = std::array::from_fn(|i| {
            let [x, y] = CHIP_LANDMARKS[i];
            let (x, y) = (x - centre.x, y - centre.y);
            // Index 2 is the nose tip, in front of the eye-mouth plane.
            let z = if i == 2 { 0.55 * eye } else { 0.0 };
            // Yaw about the vertical axis, then pitch about the horizontal one.
            let (x1, z1) = (x * cy + z * sy, -x * sy + z * cy);
            let y2 = y * cp + z1 * sp;
            let j = ((jitter * 7919) % 13) as f32 * 0.01;
            Point::new(2.0 * x1 + 320.0 + j, 2.0 * y2 + 240.0 - j)
        });
        Landmarks::from_array(pts)
    }

    fn pose_of(turn: HeadTurn) -> (f32, f32) {
        match turn {
            HeadTurn::Left => (25.0, 0.0),
            HeadTurn::Right => (-25.0, 0.0),
            HeadTurn::Up => (0.0, -20.0),
            HeadTurn::Down => (0.0, 20.0),
        }
    }

    /// A track that looks ahead, then makes each movement in `turns`,
    /// returning to the front in between, one frame every `step_ms`.
    pub(crate) fn track_following(turns: &[HeadTurn], step_ms: u64) -> Vec<TrackPoint> {
        let mut poses = vec![(0.0, 0.0), (0.0, 0.0), (0.0, 0.0)];
        for &t in turns {
            let (y, p) = pose_of(t);
            poses.extend([(y * 0.5, p * 0.5), (y, p), (y * 0.5, p * 0.5), (0.0, 0.0)]);
        }
        poses
            .into_iter()
            .enumerate()
            .map(|(i, (y, p))| TrackPoint {
                timestamp_ms: 1_000 + i as u64 * step_ms,
                landmarks: head(y, p, i as u32),
            })
            .collect()
    }

    fn nonce(b: u8) -> ChallengeNonce {
        ChallengeNonce::from_bytes([b; 32])
    }

    #[test]
    fn synthetic_head_reads_as_the_pose_it_was_given() {
        let p = PoseEstimate::from_landmarks(&head(25.0, 0.0, 0)).unwrap();
        assert!(p.yaw > 15.0, "{p:?}");
        let p = PoseEstimate::from_landmarks(&head(0.0, 20.0, 0)).unwrap();
        assert!(p.pitch > 10.0 && p.yaw.abs() < 3.0, "{p:?}");
        let p = PoseEstimate::from_landmarks(&head(0.0, -20.0, 0)).unwrap();
        assert!(p.pitch < -10.0, "{p:?}");
    }

    #[test]
    fn derivation_is_deterministic_and_never_repeats_a_step() {
        let a = ChallengeSequence::derive(&nonce(1));
        assert_eq!(a, ChallengeSequence::derive(&nonce(1)));
        assert_eq!(a.steps().len(), ChallengeSequence::STEPS);
        let mut distinct = std::collections::HashSet::new();
        for b in 0..=255u8 {
            let s = ChallengeSequence::derive(&nonce(b));
            assert!(s.steps().windows(2).all(|w| w[0] != w[1]), "{s:?}");
            distinct.insert(s.steps().to_vec());
        }
        // 36 sequences exist; 256 nonces reach nearly all of them.
        assert!(distinct.len() >= 30, "{}", distinct.len());
    }

    #[test]
    fn derivation_matches_its_documented_rule() {
        // Recomputed by hand from the rule in the module documentation.
        let digest: [u8; 32] = Sha256::digest([CHALLENGE_DOMAIN, &[7u8; 32]].concat()).into();
        let first = HeadTurn::ALL[usize::from(digest[0] % 4)];
        let s = ChallengeSequence::derive(&nonce(7));
        assert_eq!(s.steps()[0], first);
        let others: Vec<_> = HeadTurn::ALL.into_iter().filter(|d| *d != first).collect();
        assert_eq!(s.steps()[1], others[usize::from(digest[1] % 3)]);
    }

    #[test]
    fn a_track_following_the_sequence_passes() {
        for b in [1u8, 2, 3, 40, 99] {
            let seq = ChallengeSequence::derive(&nonce(b));
            let out = verify_challenge(
                &seq,
                &track_following(seq.steps(), 100),
                &ChallengeLimits::default(),
            );
            assert!(out.passed, "{seq:?} {out:?}");
            assert_eq!(out.completed, 3);
            assert_eq!(out.score, 1.0);
        }
    }

    #[test]
    fn a_track_following_another_sequence_fails() {
        let seq = ChallengeSequence::derive(&nonce(1));
        let other = (0..=255u8)
            .map(|b| ChallengeSequence::derive(&nonce(b)))
            .find(|s| s.steps()[0] != seq.steps()[0])
            .unwrap();
        let out = verify_challenge(
            &seq,
            &track_following(other.steps(), 100),
            &ChallengeLimits::default(),
        );
        assert!(!out.passed);
        assert!(
            matches!(
                out.failure,
                Some(ChallengeFailure::WrongDirection { step: 0, .. })
            ),
            "{out:?}"
        );
    }

    #[test]
    fn the_right_moves_in_the_wrong_order_fail() {
        let seq = ChallengeSequence::derive(&nonce(3));
        let mut reversed = seq.steps().to_vec();
        reversed.reverse();
        let out = verify_challenge(
            &seq,
            &track_following(&reversed, 100),
            &ChallengeLimits::default(),
        );
        assert!(!out.passed, "{out:?}");
    }

    #[test]
    fn a_still_face_is_incomplete() {
        let seq = ChallengeSequence::derive(&nonce(5));
        let still: Vec<TrackPoint> = (0..20)
            .map(|i| TrackPoint {
                timestamp_ms: i * 50,
                landmarks: head(0.0, 0.0, i as u32),
            })
            .collect();
        let out = verify_challenge(&seq, &still, &ChallengeLimits::default());
        assert_eq!(
            out.failure,
            Some(ChallengeFailure::Incomplete { completed: 0 })
        );
    }

    #[test]
    fn a_slow_answer_fails() {
        let seq = ChallengeSequence::derive(&nonce(9));
        // 15 frames, 600 ms apart: 8.4 s to the last movement.
        let out = verify_challenge(
            &seq,
            &track_following(seq.steps(), 600),
            &ChallengeLimits::default(),
        );
        assert!(
            matches!(out.failure, Some(ChallengeFailure::TooSlow { .. })),
            "{out:?}"
        );
        assert!(!out.passed);
    }

    #[test]
    fn repeated_or_reordered_frames_fail() {
        let seq = ChallengeSequence::derive(&nonce(11));
        let good = track_following(seq.steps(), 100);
        let mut repeated = good.clone();
        let mut copy = repeated[5];
        copy.timestamp_ms += 1;
        repeated.insert(6, copy);
        for p in &mut repeated[7..] {
            p.timestamp_ms += 1;
        }
        let out = verify_challenge(&seq, &repeated, &ChallengeLimits::default());
        assert_eq!(
            out.failure,
            Some(ChallengeFailure::RepeatedFrame { index: 6 })
        );
        let mut reordered = good;
        reordered.swap(4, 5);
        let out = verify_challenge(&seq, &reordered, &ChallengeLimits::default());
        assert_eq!(out.failure, Some(ChallengeFailure::TimeNotIncreasing));
    }
}
