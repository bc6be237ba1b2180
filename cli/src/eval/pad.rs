//! Presentation-attack detection: live pictures against attack pictures.

use std::path::{Path, PathBuf};

use faceseal_core::FaceAnalyzer;
use faceseal_eval::metrics::{equal_error_rate, pad_rates};
use faceseal_vision::detect::largest_face;
use serde::Serialize;

use super::Split;
use super::burst::{BurstEval, Sample, samples_of};
use crate::GlobalArgs;
use crate::context::{CliResult, analyzer, load_image};
use crate::images::resolve;
use crate::output::{emit, pct};
use crate::progress::{Progress, parallel_map};

/// The live score of a picture's largest face; `None` when there is no face.
fn live_score(analyzer: &FaceAnalyzer, path: &Path) -> CliResult<Option<f32>> {
    let frame = load_image(path)?;
    let faces = analyzer.detect(&frame)?;
    let Some(face) = largest_face(&faces) else {
        return Ok(None);
    };
    Ok(Some(analyzer.liveness(&frame, face)?.score))
}

#[derive(Serialize)]
struct PadReport {
    threshold: f32,
    apcer: f64,
    bpcer: f64,
    acer: f64,
    eer: f64,
    eer_threshold: f32,
    n_live: usize,
    n_spoof: usize,
    /// Pictures without a detected face: the operation fails, so a live one
    /// counts as refused and an attack as stopped.
    n_live_no_face: usize,
    n_spoof_no_face: usize,
}

fn evaluate(
    args: &GlobalArgs,
    live: &[PathBuf],
    spoof: &[PathBuf],
    threads: usize,
) -> CliResult<()> {
    let analyzer = analyzer(args)?;
    let score_all = |label: &str, paths: &[PathBuf]| -> CliResult<(Vec<f32>, usize)> {
        let progress = Progress::new(label, paths.len() as u64);
        let scores = parallel_map(paths, threads, &progress, |p| live_score(&analyzer, p));
        let mut out = Vec::with_capacity(paths.len());
        let mut missing = 0;
        for s in scores {
            match s? {
                Some(v) => out.push(v),
                None => {
                    missing += 1;
                    out.push(0.0);
                }
            }
        }
        Ok((out, missing))
    };
    let (live_scores, live_missing) = score_all("liveness: live pictures", live)?;
    let (spoof_scores, spoof_missing) = score_all("liveness: attack pictures", spoof)?;
    let threshold = analyzer.liveness_checker().threshold();
    let rates = pad_rates(&live_scores, &spoof_scores, threshold);
    let (eer, eer_threshold) = equal_error_rate(&live_scores, &spoof_scores);
    let report = PadReport {
        threshold,
        apcer: rates.apcer,
        bpcer: rates.bpcer,
        acer: rates.acer,
        eer,
        eer_threshold,
        n_live: live.len(),
        n_spoof: spoof.len(),
        n_live_no_face: live_missing,
        n_spoof_no_face: spoof_missing,
    };
    emit(args, &report, |r| {
        format!(
            "threshold {:.2}: APCER {} (attacks accepted), BPCER {} (live refused), ACER {}\nEER {} at threshold {:.3}\n{} live pictures ({} without a face), {} attack pictures ({} without a face)\n",
            r.threshold,
            pct(r.apcer),
            pct(r.bpcer),
            pct(r.acer),
            pct(r.eer),
            r.eer_threshold,
            r.n_live,
            r.n_live_no_face,
            r.n_spoof,
            r.n_spoof_no_face
        )
    })
}

fn gather(args: &[PathBuf]) -> CliResult<Vec<PathBuf>> {
    let mut out = Vec::new();
    for a in args {
        out.extend(resolve(a, None)?);
    }
    Ok(out)
}

/// A set's name for reports: the last two components of its path.
fn set_name(p: &Path) -> String {
    let parts: Vec<_> = p.components().rev().take(2).collect();
    parts
        .iter()
        .rev()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

pub fn run_lists(
    args: &GlobalArgs,
    live: &[PathBuf],
    spoof: &[PathBuf],
    threads: usize,
    burst: Option<&BurstEval>,
) -> CliResult<()> {
    let Some(opts) = burst else {
        return evaluate(args, &gather(live)?, &gather(spoof)?, threads);
    };
    // Each --spoof argument is one attack type; each argument is one set.
    let mut samples: Vec<Sample> = Vec::new();
    for (args_of, is_live) in [(live, true), (spoof, false)] {
        for a in args_of {
            let name = set_name(a);
            samples.extend(samples_of(&resolve(a, None)?, is_live, &name, &name));
        }
    }
    super::burst::run(args, &samples, opts)
}

/// NUAA: `clientraw_<split>.txt` lists live frames under `ClientRaw/`,
/// `imposterraw_<split>.txt` printed-photo attacks under `ImposterRaw/`.
pub fn run_nuaa(
    args: &GlobalArgs,
    root: &Path,
    split: Split,
    threads: usize,
    burst: Option<&BurstEval>,
) -> CliResult<()> {
    let live = resolve(
        &root.join(format!("clientraw_{}.txt", split.name())),
        Some(&root.join("ClientRaw")),
    )?;
    let spoof = resolve(
        &root.join(format!("imposterraw_{}.txt", split.name())),
        Some(&root.join("ImposterRaw")),
    )?;
    let Some(opts) = burst else {
        return evaluate(args, &live, &spoof, threads);
    };
    let mut samples = samples_of(&live, true, "ClientRaw", "");
    for s in samples_of(&spoof, false, "ImposterRaw", "") {
        let stem = s
            .path
            .file_stem()
            .and_then(|x| x.to_str())
            .unwrap_or_default();
        let attack_type = super::burst::nuaa_attack_type(stem);
        samples.push(Sample { attack_type, ..s });
    }
    super::burst::run(args, &samples, opts)
}
