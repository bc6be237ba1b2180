//! Evaluation measures for verification and presentation-attack detection.
//!
//! Vocabulary follows ISO/IEC 30107-3: APCER is the share of attack
//! presentations accepted as live, BPCER the share of bona fide (live)
//! presentations refused, ACER their mean.

use serde::Serialize;

/// One verification trial: a distance (lower is more alike) and the truth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trial {
    pub distance: f32,
    pub genuine: bool,
}

/// Accuracy when a pair counts as "same" below `threshold`.
pub fn accuracy_at(trials: &[Trial], threshold: f32) -> f64 {
    if trials.is_empty() {
        return 0.0;
    }
    let right = trials
        .iter()
        .filter(|t| (t.distance < threshold) == t.genuine)
        .count();
    right as f64 / trials.len() as f64
}

/// The threshold that maximises accuracy on `trials` (midpoint between
/// neighbouring distinct distances, so it does not sit on a sample).
pub fn best_threshold(trials: &[Trial]) -> f32 {
    let mut d: Vec<f32> = trials
        .iter()
        .map(|t| t.distance)
        .filter(|d| d.is_finite())
        .collect();
    d.sort_by(f32::total_cmp);
    d.dedup();
    if d.is_empty() {
        return 0.0;
    }
    let mut candidates = vec![d[0] - 1e-3];
    candidates.extend(d.windows(2).map(|w| 0.5 * (w[0] + w[1])));
    candidates.push(d[d.len() - 1] + 1e-3);
    // Sweep in sorted order keeping counts, rather than recounting per candidate.
    let mut sorted: Vec<Trial> = trials.to_vec();
    sorted.sort_by(|a, b| a.distance.total_cmp(&b.distance));
    let total_impostor = sorted.iter().filter(|t| !t.genuine).count();
    let (mut best_t, mut best_right) = (candidates[0], total_impostor);
    let (mut genuine_below, mut impostor_below, mut i) = (0usize, 0usize, 0usize);
    for &c in &candidates {
        while i < sorted.len() && sorted[i].distance < c {
            if sorted[i].genuine {
                genuine_below += 1;
            } else {
                impostor_below += 1;
            }
            i += 1;
        }
        let right = genuine_below + (total_impostor - impostor_below);
        if right > best_right {
            best_right = right;
            best_t = c;
        }
    }
    best_t
}

/// The k-fold protocol of LFW View 2: for each fold, pick the threshold on the
/// other folds and measure accuracy on this one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FoldedAccuracy {
    pub accuracy: f64,
    /// Population standard deviation over folds.
    pub accuracy_std: f64,
    pub fold_accuracies: Vec<f64>,
    pub fold_thresholds: Vec<f32>,
}

pub fn folded_accuracy(folds: &[Vec<Trial>]) -> FoldedAccuracy {
    let mut accs = Vec::with_capacity(folds.len());
    let mut thresholds = Vec::with_capacity(folds.len());
    for (k, test) in folds.iter().enumerate() {
        let train: Vec<Trial> = folds
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != k)
            .flat_map(|(_, f)| f.iter().copied())
            .collect();
        let t = best_threshold(&train);
        thresholds.push(t);
        accs.push(accuracy_at(test, t));
    }
    let (mean, std) = mean_std(&accs);
    FoldedAccuracy {
        accuracy: mean,
        accuracy_std: std,
        fold_accuracies: accs,
        fold_thresholds: thresholds,
    }
}

pub fn mean_std(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// True accept rate at the loosest threshold whose false accept rate does not
/// exceed `far`. Returns `(tar, threshold)`.
pub fn tar_at_far(trials: &[Trial], far: f64) -> (f64, f32) {
    let mut impostor: Vec<f32> = trials
        .iter()
        .filter(|t| !t.genuine)
        .map(|t| t.distance)
        .collect();
    let genuine: Vec<f32> = trials
        .iter()
        .filter(|t| t.genuine)
        .map(|t| t.distance)
        .collect();
    if impostor.is_empty() || genuine.is_empty() {
        return (0.0, 0.0);
    }
    impostor.sort_by(f32::total_cmp);
    // Accepting below t lets through the impostors with distance < t; allow
    // at most floor(far * n) of them.
    let allowed = (far * impostor.len() as f64).floor() as usize;
    let threshold = impostor[allowed.min(impostor.len() - 1)];
    let threshold = if allowed >= impostor.len() {
        f32::INFINITY
    } else {
        threshold
    };
    let accepted = genuine.iter().filter(|&&d| d < threshold).count();
    (accepted as f64 / genuine.len() as f64, threshold)
}

/// Presentation-attack detection error rates at one threshold on the live score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PadRates {
    pub apcer: f64,
    pub bpcer: f64,
    pub acer: f64,
}

/// Rates when a presentation is called live at `score >= threshold`.
pub fn pad_rates(live_scores: &[f32], spoof_scores: &[f32], threshold: f32) -> PadRates {
    let rate = |v: &[f32], f: &dyn Fn(f32) -> bool| {
        if v.is_empty() {
            0.0
        } else {
            v.iter().filter(|&&s| f(s)).count() as f64 / v.len() as f64
        }
    };
    let apcer = rate(spoof_scores, &|s| s >= threshold);
    let bpcer = rate(live_scores, &|s| s < threshold);
    PadRates {
        apcer,
        bpcer,
        acer: 0.5 * (apcer + bpcer),
    }
}

/// Equal error rate: the point where APCER and BPCER cross, and the threshold
/// there. Sweeps every observed score.
pub fn equal_error_rate(live_scores: &[f32], spoof_scores: &[f32]) -> (f64, f32) {
    let mut candidates: Vec<f32> = live_scores.iter().chain(spoof_scores).copied().collect();
    candidates.push(f32::INFINITY);
    candidates.sort_by(f32::total_cmp);
    candidates.dedup();
    let mut best = (f64::INFINITY, 1.0f64, 0.0f32);
    for t in candidates {
        let r = pad_rates(live_scores, spoof_scores, t);
        let gap = (r.apcer - r.bpcer).abs();
        if gap < best.0 {
            best = (gap, 0.5 * (r.apcer + r.bpcer), t);
        }
    }
    (best.1, best.2)
}

/// Median and 90th percentile (nearest rank) of a sample.
pub fn median_p90(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (0.0, 0.0);
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = |q: f64| v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        0.5 * (v[v.len() / 2 - 1] + v[v.len() / 2])
    };
    (median, rank(0.9))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(distance: f32, genuine: bool) -> Trial {
        Trial { distance, genuine }
    }

    #[test]
    fn separable_trials_reach_full_accuracy() {
        let trials = [t(0.2, true), t(0.3, true), t(0.7, false), t(0.9, false)];
        let th = best_threshold(&trials);
        assert!(th > 0.3 && th < 0.7, "{th}");
        assert_eq!(accuracy_at(&trials, th), 1.0);
    }

    #[test]
    fn best_threshold_handles_overlap() {
        let trials = [t(0.2, true), t(0.5, false), t(0.6, true), t(0.9, false)];
        assert_eq!(accuracy_at(&trials, best_threshold(&trials)), 0.75);
    }

    #[test]
    fn folds_use_other_folds_threshold() {
        let fold = vec![t(0.1, true), t(0.9, false)];
        let r = folded_accuracy(&[fold.clone(), fold.clone(), fold]);
        assert_eq!(r.accuracy, 1.0);
        assert_eq!(r.accuracy_std, 0.0);
        assert_eq!(r.fold_accuracies.len(), 3);
    }

    #[test]
    fn tar_at_far_counts_allowed_impostors() {
        let mut trials: Vec<Trial> = (0..1000)
            .map(|i| t(0.5 + i as f32 / 1000.0, false))
            .collect();
        trials.extend([t(0.4, true), t(0.5005, true), t(0.502, true), t(1.0, true)]);
        // One impostor allowed: threshold is the second smallest impostor.
        let (tar, th) = tar_at_far(&trials, 1e-3);
        assert_eq!(th, 0.501);
        assert_eq!(tar, 0.5);
    }

    #[test]
    fn pad_rates_and_eer() {
        let live = [0.9, 0.8, 0.3, 0.95];
        let spoof = [0.1, 0.2, 0.6, 0.05];
        let r = pad_rates(&live, &spoof, 0.5);
        assert_eq!(r.apcer, 0.25);
        assert_eq!(r.bpcer, 0.25);
        assert_eq!(r.acer, 0.25);
        let (eer, _) = equal_error_rate(&live, &spoof);
        assert!((eer - 0.25).abs() < 1e-9);
        let (perfect, th) = equal_error_rate(&[0.9], &[0.1]);
        assert_eq!(perfect, 0.0);
        assert!(th > 0.1 && th <= 0.9);
    }

    #[test]
    fn percentiles() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(median_p90(&v), (5.5, 9.0));
        assert_eq!(median_p90(&[]), (0.0, 0.0));
    }
}
