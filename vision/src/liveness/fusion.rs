//! Per-frame scores of a burst fused into one per signal.
//!
//! The mean is the wrong fusion for an attack detector: an attacker who gets
//! nine frames through and shows one frame of bezel loses nothing, and one
//! lucky live frame lifts a spoof burst. The rule here is the median (robust
//! to a few outliers either way), except that when at least a fifth of the
//! frames are *confident* spoofs the burst takes the score of that fifth
//! (the 20th percentile): a few confident spoof frames weigh, a few live
//! frames do not rescue.

use serde::Serialize;

use super::screen::ScreenCues;

/// The texture models' evidence over a burst.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PassiveEvidence {
    pub frames: usize,
    pub median: f32,
    /// 20th percentile (nearest rank) of the per-frame live scores.
    pub low_quantile: f32,
    /// Frames scoring below the confident-spoof level.
    pub confident_spoof_frames: usize,
    /// The fused live score (see the module documentation).
    pub score: f32,
}

/// Share of frames whose agreement on "spoof" overrides the median.
pub(crate) const SPOOF_QUORUM: f32 = 0.2;

/// Fuses per-frame live probabilities; frames without a face carry no score.
pub fn fuse_passive(scores: &[f32], confident_spoof: f32) -> PassiveEvidence {
    if scores.is_empty() {
        return PassiveEvidence {
            frames: 0,
            median: 0.0,
            low_quantile: 0.0,
            confident_spoof_frames: 0,
            score: 0.0,
        };
    }
    let mut s = scores.to_vec();
    s.sort_by(f32::total_cmp);
    let n = s.len();
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    };
    let rank = ((SPOOF_QUORUM * n as f32).ceil() as usize).clamp(1, n);
    let low_quantile = s[rank - 1];
    let confident_spoof_frames = s.iter().filter(|&&v| v < confident_spoof).count();
    let score = if low_quantile < confident_spoof {
        low_quantile
    } else {
        median
    };
    PassiveEvidence {
        frames: n,
        median,
        low_quantile,
        confident_spoof_frames,
        score,
    }
}

/// The screen cues over a burst: medians, so one frame of a glint, a
/// patterned shirt in the patch or a passing door frame does not decide.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScreenEvidence {
    pub frames: usize,
    pub moire: f32,
    pub high_frequency: f32,
    pub border: f32,
    pub glare: f32,
}

pub fn fuse_screen(cues: &[ScreenCues]) -> Option<ScreenEvidence> {
    if cues.is_empty() {
        return None;
    }
    let median = |f: fn(&ScreenCues) -> f32| {
        let mut v: Vec<f32> = cues.iter().map(f).collect();
        v.sort_by(f32::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            0.5 * (v[n / 2 - 1] + v[n / 2])
        }
    };
    Some(ScreenEvidence {
        frames: cues.len(),
        moire: median(|c| c.moire),
        high_frequency: median(|c| c.high_frequency),
        border: median(|c| c.border),
        glare: median(|c| c.glare),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_resists_a_lucky_live_frame() {
        let e = fuse_passive(&[0.1, 0.2, 0.15, 0.9, 0.12], 0.02);
        assert!(e.score < 0.2, "{e:?}");
    }

    #[test]
    fn a_few_confident_spoof_frames_weigh() {
        // Eight live-looking frames, two confident spoofs: the mean (0.72)
        // and the median (0.9) would pass; the fusion does not.
        let scores = [0.9, 0.92, 0.88, 0.9, 0.001, 0.91, 0.9, 0.005, 0.89, 0.9];
        let e = fuse_passive(&scores, 0.02);
        assert_eq!(e.confident_spoof_frames, 2);
        assert!(e.score < 0.02, "{e:?}");
        // One confident spoof frame in ten is below the quorum: an outlier.
        let mut one = scores;
        one[7] = 0.9;
        let e = fuse_passive(&one, 0.02);
        assert!(e.score > 0.85, "{e:?}");
    }

    proptest::proptest! {
        /// Compared with the single-frame threshold, the fused score never
        /// lets a burst through unless at least half its frames would pass
        /// on their own: the burst is never more permissive than its frames.
        #[test]
        fn a_passing_burst_has_a_majority_of_passing_frames(
            scores in proptest::collection::vec(0.0f32..=1.0, 1..30),
            threshold in 0.05f32..0.95,
        ) {
            let e = fuse_passive(&scores, CONFIDENT_SPOOF_FOR_TESTS);
            if e.score >= threshold {
                let passing = scores.iter().filter(|&&s| s >= threshold).count();
                proptest::prop_assert!(2 * passing >= scores.len(), "{scores:?} {e:?}");
            }
        }
    }

    const CONFIDENT_SPOOF_FOR_TESTS: f32 = 0.02;

    #[test]
    fn empty_bursts_score_zero() {
        assert_eq!(fuse_passive(&[], 0.02).score, 0.0);
        assert!(fuse_screen(&[]).is_none());
        let s = fuse_screen(&[
            ScreenCues {
                moire: 1.0,
                high_frequency: 0.1,
                border: 0.0,
                glare: 0.0,
            },
            ScreenCues {
                moire: 3.0,
                high_frequency: 0.3,
                border: 0.9,
                glare: 0.2,
            },
            ScreenCues {
                moire: 1.2,
                high_frequency: 0.2,
                border: 0.1,
                glare: 0.01,
            },
        ])
        .unwrap();
        assert_eq!((s.moire, s.high_frequency), (1.2, 0.2));
        assert_eq!((s.border, s.glare), (0.1, 0.01));
    }
}
