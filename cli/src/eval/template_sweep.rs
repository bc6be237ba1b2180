//! `faceseal eval template-sweep`: the trade-off between accuracy and the
//! stolen-key inversion attack across IoM parameters, on real LFW faces.
//!
//! For each `m × q`, every chosen pair is scored in the protected domain
//! under the claimed subject's key, accuracy is measured by two-fold cross
//! validation (threshold chosen on one half of the pairs, applied to the
//! other), and the first genuine pairs are attacked: the attacker holds the
//! key and picture A's template, inverts it, and presents the result against
//! picture B.

use std::path::Path;

use faceseal_core::Embedding;
use faceseal_core::analyzer::DEFAULT_MATCH_THRESHOLD;
use faceseal_core::template::{IomParams, TemplateKey};
use faceseal_eval::attack::{AttackConfig, cosine_similarity, invert};
use faceseal_eval::metrics::{Trial, accuracy_at, best_threshold};
use serde::Serialize;

use super::lfw::{Faces, Pair, embed_pairs, eval_secret, read_pairs, template_error};
use super::template::attack_config;
use crate::GlobalArgs;
use crate::context::{CliResult, analyzer, message};
use crate::output::{emit, pct};
use crate::progress::{Progress, parallel_map};

pub struct SweepArgs<'a> {
    pub root: &'a Path,
    pub pairs: usize,
    pub attack: usize,
    pub attack_iterations: usize,
    pub params: &'a [String],
    pub threads: usize,
}

#[derive(Serialize)]
struct SweepRow {
    hashes: u16,
    window: u16,
    /// Two-fold cross-validated accuracy in the protected domain.
    accuracy: f64,
    /// Threshold of best accuracy on all the pairs (protected score).
    threshold: f64,
    /// Genuine pairs accepted at that threshold.
    genuine_accept_rate: f64,
    /// Impostor pairs accepted at that threshold: what a random face achieves.
    false_accept_rate: f64,
    attacked_pairs: usize,
    /// Recovered embedding accepted against picture B by the unprotected system.
    unprotected_success: f64,
    /// Recovered embedding's template accepted against B's, same key.
    protected_success: f64,
    /// Mean cosine between the recovered embedding and picture A's.
    mean_cosine_to_original: f64,
}

#[derive(Serialize)]
struct SweepReport {
    genuine_pairs: usize,
    impostor_pairs: usize,
    /// Two-fold cross-validated accuracy of the unprotected embeddings on the same pairs.
    unprotected_accuracy: f64,
    /// Picture A itself accepted against B by the unprotected system: the
    /// ceiling of any attack.
    unprotected_baseline: f64,
    rows: Vec<SweepRow>,
}

fn parse_params(text: &str) -> CliResult<IomParams> {
    let bad = || {
        message(format!(
            "--params: expected MxQ such as 1024x8, got {text:?}"
        ))
    };
    let (m, q) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    let (m, q) = (m.parse().map_err(|_| bad())?, q.parse().map_err(|_| bad())?);
    IomParams::new(m, q).map_err(template_error)
}

/// Two-fold cross-validated accuracy. Trials come as genuine, impostor,
/// genuine, impostor…; consecutive genuine–impostor couples alternate
/// between the halves, so each half holds both kinds. Each half chooses the
/// threshold for the other.
fn two_fold_accuracy(trials: &[Trial]) -> f64 {
    let half = |h: usize| -> Vec<Trial> {
        trials
            .iter()
            .enumerate()
            .filter(|(i, _)| (i / 2) % 2 == h)
            .map(|(_, t)| *t)
            .collect()
    };
    let (first, second) = (half(0), half(1));
    let on_second = accuracy_at(&second, best_threshold(&first));
    let on_first = accuracy_at(&first, best_threshold(&second));
    (on_second * second.len() as f64 + on_first * first.len() as f64) / trials.len().max(1) as f64
}

/// Share of genuine and of impostor trials accepted at a distance threshold.
fn accept_rates(trials: &[Trial], threshold: f32) -> (f64, f64) {
    let rate = |genuine: bool| {
        let of_kind: Vec<&Trial> = trials.iter().filter(|t| t.genuine == genuine).collect();
        of_kind.iter().filter(|t| t.distance < threshold).count() as f64
            / of_kind.len().max(1) as f64
    };
    (rate(true), rate(false))
}

fn key_for(pair: &Pair, params: IomParams) -> CliResult<TemplateKey> {
    TemplateKey::derive(&eval_secret(0xa1), &pair.claimed, 1, params).map_err(template_error)
}

fn protected_trial(faces: &Faces, pair: &Pair, params: IomParams) -> CliResult<Option<Trial>> {
    let (Some(a), Some(b)) = (faces.embedding(&pair.a), faces.embedding(&pair.b)) else {
        return Ok(None);
    };
    let key = key_for(pair, params)?;
    let ta = key.protect(a.clone()).map_err(template_error)?;
    let tb = key.protect(b.clone()).map_err(template_error)?;
    let score = ta.compare(&tb).map_err(template_error)?.value();
    Ok(Some(Trial {
        distance: (1.0 - score) as f32,
        genuine: pair.genuine,
    }))
}

struct Attacked {
    unprotected: bool,
    protected: bool,
    cosine: f64,
}

fn attack(
    faces: &Faces,
    pair: &Pair,
    params: IomParams,
    config: &AttackConfig,
    threshold: f64,
) -> CliResult<Option<Attacked>> {
    let (Some(a), Some(b)) = (faces.embedding(&pair.a), faces.embedding(&pair.b)) else {
        return Ok(None);
    };
    let key = key_for(pair, params)?;
    let stolen = key.protect(a.clone()).map_err(template_error)?;
    let recovered: Embedding = invert(&key, &stolen, config)
        .map_err(template_error)?
        .embedding;
    let replayed = key.protect(recovered.clone()).map_err(template_error)?;
    let tb = key.protect(b.clone()).map_err(template_error)?;
    Ok(Some(Attacked {
        unprotected: recovered.distance(b) < DEFAULT_MATCH_THRESHOLD,
        protected: replayed.compare(&tb).map_err(template_error)?.value() >= threshold,
        cosine: cosine_similarity(&recovered, a).map_err(template_error)?,
    }))
}

fn collect<T>(results: Vec<CliResult<Option<T>>>) -> CliResult<Vec<T>> {
    let mut out = Vec::with_capacity(results.len());
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

pub fn run(global: &GlobalArgs, args: &SweepArgs) -> CliResult<()> {
    let params: Vec<IomParams> = args
        .params
        .iter()
        .map(|p| parse_params(p))
        .collect::<CliResult<_>>()?;
    let folds = read_pairs(args.root)?;
    let genuine: Vec<&Pair> = folds.iter().flatten().filter(|p| p.genuine).collect();
    let impostor: Vec<&Pair> = folds.iter().flatten().filter(|p| !p.genuine).collect();
    // Interleave genuine and impostor pairs so that both halves of the
    // two-fold split hold both kinds.
    let chosen: Vec<&Pair> = genuine
        .iter()
        .zip(&impostor)
        .take(args.pairs)
        .flat_map(|(g, i)| [*g, *i])
        .collect();
    let analyzer = analyzer(global)?;
    let faces = embed_pairs(&analyzer, chosen.iter().copied(), args.threads)?;

    let plain: Vec<Trial> = chosen
        .iter()
        .filter_map(|p| match (faces.embedding(&p.a), faces.embedding(&p.b)) {
            (Some(a), Some(b)) => Some(Trial {
                distance: a.distance(b),
                genuine: p.genuine,
            }),
            _ => None,
        })
        .collect();
    let targets: Vec<&Pair> = genuine.iter().take(args.attack).copied().collect();
    let config = attack_config(&faces, &chosen, args.attack_iterations);
    let baseline = targets
        .iter()
        .filter(|p| match (faces.embedding(&p.a), faces.embedding(&p.b)) {
            (Some(a), Some(b)) => a.distance(b) < DEFAULT_MATCH_THRESHOLD,
            _ => false,
        })
        .count() as f64
        / targets.len().max(1) as f64;

    let mut rows = Vec::with_capacity(params.len());
    for p in params {
        let label = format!("sweep {}x{}", p.hashes(), p.window());
        let progress = Progress::new(&format!("{label}: scoring"), chosen.len() as u64);
        let trials = collect(parallel_map(&chosen, args.threads, &progress, |pair| {
            protected_trial(&faces, pair, p)
        }))?;
        let distance_threshold = best_threshold(&trials);
        let threshold = 1.0 - f64::from(distance_threshold);
        let (genuine_accept_rate, false_accept_rate) = accept_rates(&trials, distance_threshold);
        let progress = Progress::new(&format!("{label}: inverting"), targets.len() as u64);
        let attacked = collect(parallel_map(&targets, args.threads, &progress, |pair| {
            attack(&faces, pair, p, &config, threshold)
        }))?;
        let n = attacked.len().max(1) as f64;
        rows.push(SweepRow {
            hashes: p.hashes(),
            window: p.window(),
            accuracy: two_fold_accuracy(&trials),
            threshold,
            genuine_accept_rate,
            false_accept_rate,
            attacked_pairs: attacked.len(),
            unprotected_success: attacked.iter().filter(|a| a.unprotected).count() as f64 / n,
            protected_success: attacked.iter().filter(|a| a.protected).count() as f64 / n,
            mean_cosine_to_original: attacked.iter().map(|a| a.cosine).sum::<f64>() / n,
        });
    }
    let report = SweepReport {
        genuine_pairs: plain.iter().filter(|t| t.genuine).count(),
        impostor_pairs: plain.iter().filter(|t| !t.genuine).count(),
        unprotected_accuracy: two_fold_accuracy(&plain),
        unprotected_baseline: baseline,
        rows,
    };
    emit(global, &report, human)
}

fn human(r: &SweepReport) -> String {
    let mut out = format!(
        "IoM parameters against the stolen-key inversion, {} genuine and {} impostor LFW pairs\n\
         unprotected: accuracy {} (two-fold); picture A accepted against B: {}\n\
         {:>6} {:>4} {:>9} {:>9} {:>8} {:>8} {:>8} {:>22} {:>20} {:>8}\n",
        r.genuine_pairs,
        r.impostor_pairs,
        pct(r.unprotected_accuracy),
        pct(r.unprotected_baseline),
        "m",
        "q",
        "accuracy",
        "threshold",
        "GAR",
        "FAR",
        "attacked",
        "accepted (unprotected)",
        "accepted (protected)",
        "cosine",
    );
    for row in &r.rows {
        out.push_str(&format!(
            "{:>6} {:>4} {:>9} {:>9.4} {:>8} {:>8} {:>8} {:>22} {:>20} {:>8.4}\n",
            row.hashes,
            row.window,
            pct(row.accuracy),
            row.threshold,
            pct(row.genuine_accept_rate),
            pct(row.false_accept_rate),
            row.attacked_pairs,
            pct(row.unprotected_success),
            pct(row.protected_success),
            row.mean_cosine_to_original
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_hold_both_kinds() {
        // Genuine and impostor alternate, separable at 0.5: each half must
        // find that threshold, which it cannot if it holds one kind only.
        let trials: Vec<Trial> = (0..40)
            .map(|i| {
                let genuine = i % 2 == 0;
                let base = if genuine { 0.3 } else { 0.7 };
                Trial {
                    distance: base + i as f32 * 1e-3,
                    genuine,
                }
            })
            .collect();
        assert_eq!(two_fold_accuracy(&trials), 1.0);
        assert_eq!(accept_rates(&trials, 0.5), (1.0, 0.0));
    }
}
