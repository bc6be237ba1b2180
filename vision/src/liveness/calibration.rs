//! How the liveness layer's limits are fitted, and when a cue may refuse.
//!
//! Both rules are code, not a table of numbers, so the evaluation tool can
//! apply them fold by fold (fit on some people or conditions, measure on the
//! others) and the limits that ship are the same rule applied to the whole
//! calibration set. A limit is fitted on live captures only: it is a budget
//! of live refusals, set without looking at any attack.

use serde::Serialize;

use super::policy::ScreenLimits;
use super::screen::ScreenCues;

/// Each screen-cue limit is this quantile of the cue over live frames, so
/// about 1% of live frames exceed it; a burst takes the median of its frames,
/// which exceeds the limit far less often.
pub(crate) const LIVE_FRAME_QUANTILE: f32 = 0.99;

/// The `q`-quantile (nearest rank) of `values`, or `None` when there are none
/// or one is not a number.
pub fn quantile(values: &[f32], q: f32) -> Option<f32> {
    if values.is_empty() || values.iter().any(|v| v.is_nan()) {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f32::total_cmp);
    let rank = ((q.clamp(0.0, 1.0) * v.len() as f32).ceil() as usize).clamp(1, v.len());
    Some(v[rank - 1])
}

/// Fits the screen-cue limits on the cues of live frames: each limit is the
/// [`LIVE_FRAME_QUANTILE`] of its cue. `None` when there is no live frame.
pub fn fit_screen_limits(live: &[ScreenCues]) -> Option<ScreenLimits> {
    let of = |f: fn(&ScreenCues) -> f32| {
        let v: Vec<f32> = live.iter().map(f).collect();
        quantile(&v, LIVE_FRAME_QUANTILE)
    };
    Some(ScreenLimits {
        max_moire: of(|c| c.moire)?,
        max_high_frequency: of(|c| c.high_frequency)?,
        max_border: of(|c| c.border)?,
        max_glare: of(|c| c.glare)?,
    })
}

/// Live bursts of one held-out fold and how many a cue refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct FoldRefusals {
    pub refused: usize,
    pub live: usize,
}

impl FoldRefusals {
    pub fn rate(self) -> f64 {
        if self.live == 0 {
            0.0
        } else {
            self.refused as f64 / self.live as f64
        }
    }
}

/// How many genuine people a cue may turn away, out of fold, to be allowed to
/// refuse at all.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CueBudget {
    /// Share of all held-out live bursts refused, pooled over the folds.
    pub max_pooled: f64,
    /// Share of any one fold's live bursts refused.
    pub max_fold: f64,
}

/// About 1% of live bursts pooled (on NUAA's 81 live train bursts: at most
/// one), and no fold (one person, about 9 bursts; one condition, about 20)
/// with more than one refusal in eight.
pub const CUE_BUDGET: CueBudget = CueBudget {
    max_pooled: 0.0125,
    max_fold: 0.125,
};

impl CueBudget {
    /// Whether a cue with these out-of-fold live refusals stays within the
    /// budget.
    pub fn holds(&self, folds: &[FoldRefusals]) -> bool {
        let refused: usize = folds.iter().map(|f| f.refused).sum();
        let live: usize = folds.iter().map(|f| f.live).sum();
        let pooled = FoldRefusals { refused, live }.rate();
        pooled <= self.max_pooled && folds.iter().all(|f| f.rate() <= self.max_fold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_is_nearest_rank() {
        let v: Vec<f32> = (1..=100).map(|i| i as f32).collect();
        assert_eq!(quantile(&v, 0.99), Some(99.0));
        assert_eq!(quantile(&v, 1.0), Some(100.0));
        assert_eq!(quantile(&v, 0.0), Some(1.0));
        assert_eq!(quantile(&[3.0], 0.99), Some(3.0));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[1.0, f32::NAN], 0.5), None);
    }

    #[test]
    fn limits_are_the_live_quantile_of_each_cue() {
        let live: Vec<ScreenCues> = (0..200)
            .map(|i| ScreenCues {
                moire: i as f32,
                high_frequency: 0.001 * i as f32,
                border: 0.0,
                glare: if i == 0 { 1.0 } else { 0.0 },
            })
            .collect();
        let l = fit_screen_limits(&live).unwrap();
        assert_eq!(l.max_moire, 197.0);
        assert!((l.max_high_frequency - 0.197).abs() < 1e-6);
        assert_eq!(l.max_border, 0.0);
        // One outlier frame in 200 does not set the limit.
        assert_eq!(l.max_glare, 0.0);
        assert!(fit_screen_limits(&[]).is_none());
    }

    #[test]
    fn a_cue_holds_only_within_both_budgets() {
        let f = |refused, live| FoldRefusals { refused, live };
        let b = CUE_BUDGET;
        assert!(b.holds(&[f(0, 9); 9]));
        // One refusal in 81 is within budget; two are not.
        let mut folds = [f(0, 9); 9];
        folds[0] = f(1, 9);
        assert!(b.holds(&folds));
        folds[1] = f(1, 9);
        assert!(!b.holds(&folds));
        // A single fold far above the budget fails it, whatever the pool.
        let mut wide = vec![f(0, 100); 10];
        wide.push(f(2, 4));
        assert!(!b.holds(&wide));
        assert_eq!(f(0, 0).rate(), 0.0);
    }
}
