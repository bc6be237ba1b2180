//! Detection: recall where faces are, false positives where none are.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::GlobalArgs;
use crate::context::{CliResult, analyzer, load_image, message, read_bytes};
use crate::images::resolve;
use crate::output::{emit, pct};
use crate::progress::{Progress, parallel_map};

#[derive(Deserialize)]
struct CountAnnotation {
    file: String,
    n_faces: usize,
}

#[derive(Serialize)]
struct CountResult {
    file: String,
    expected: usize,
    found: usize,
}

#[derive(Serialize)]
struct DetectReport {
    n_pos: usize,
    recall: f64,
    missed: Vec<PathBuf>,
    n_neg: usize,
    false_positive_rate: f64,
    false_positive_images: Vec<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exact_counts: Option<usize>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    counts: Vec<CountResult>,
}

pub fn run(
    args: &GlobalArgs,
    pos: &[PathBuf],
    neg: &[PathBuf],
    counts: Option<&Path>,
    threads: usize,
) -> CliResult<()> {
    if pos.is_empty() && neg.is_empty() && counts.is_none() {
        return Err(message("give --pos, --neg or --counts"));
    }
    let analyzer = analyzer(args)?;
    let count_faces = |label: &str, paths: &[PathBuf]| -> CliResult<Vec<usize>> {
        let progress = Progress::new(label, paths.len() as u64);
        parallel_map(paths, threads, &progress, |p| -> CliResult<usize> {
            Ok(analyzer.detect(&load_image(p)?)?.len())
        })
        .into_iter()
        .collect()
    };
    let mut pos_paths = Vec::new();
    for p in pos {
        pos_paths.extend(resolve(p, None)?);
    }
    let mut neg_paths = Vec::new();
    for p in neg {
        neg_paths.extend(resolve(p, None)?);
    }
    let pos_counts = count_faces("detect: pictures with faces", &pos_paths)?;
    let neg_counts = count_faces("detect: pictures without faces", &neg_paths)?;
    let missed: Vec<PathBuf> = pos_paths
        .iter()
        .zip(&pos_counts)
        .filter(|(_, n)| **n == 0)
        .map(|(p, _)| p.clone())
        .collect();
    let fps: Vec<PathBuf> = neg_paths
        .iter()
        .zip(&neg_counts)
        .filter(|(_, n)| **n > 0)
        .map(|(p, _)| p.clone())
        .collect();
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };

    let mut count_results = Vec::new();
    if let Some(file) = counts {
        let annotations: Vec<CountAnnotation> = serde_json::from_slice(&read_bytes(file)?)?;
        let dir = file.parent().unwrap_or(Path::new("."));
        let paths: Vec<PathBuf> = annotations.iter().map(|a| dir.join(&a.file)).collect();
        let found = count_faces("detect: face counts", &paths)?;
        for (a, n) in annotations.into_iter().zip(found) {
            count_results.push(CountResult {
                file: a.file,
                expected: a.n_faces,
                found: n,
            });
        }
    }
    let report = DetectReport {
        n_pos: pos_paths.len(),
        recall: ratio(pos_paths.len() - missed.len(), pos_paths.len()),
        missed,
        n_neg: neg_paths.len(),
        false_positive_rate: ratio(fps.len(), neg_paths.len()),
        false_positive_images: fps,
        exact_counts: counts.map(|_| {
            count_results
                .iter()
                .filter(|c| c.expected == c.found)
                .count()
        }),
        counts: count_results,
    };
    emit(args, &report, |r| {
        let mut out = String::new();
        if r.n_pos > 0 {
            out.push_str(&format!(
                "recall {} ({} of {} pictures with a face missed)\n",
                pct(r.recall),
                r.missed.len(),
                r.n_pos
            ));
        }
        if r.n_neg > 0 {
            out.push_str(&format!(
                "false-positive pictures {} ({} of {})\n",
                pct(r.false_positive_rate),
                r.false_positive_images.len(),
                r.n_neg
            ));
        }
        for p in &r.false_positive_images {
            out.push_str(&format!("  false positive: {}\n", p.display()));
        }
        if let Some(exact) = r.exact_counts {
            out.push_str(&format!(
                "exact face count on {exact} of {} pictures\n",
                r.counts.len()
            ));
            for c in &r.counts {
                out.push_str(&format!(
                    "  {}: expected {}, found {}\n",
                    c.file, c.expected, c.found
                ));
            }
        }
        out
    })
}
