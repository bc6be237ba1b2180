//! LFW View 2: 6,000 pairs in 10 folds of 300 genuine and 300 impostor pairs.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use faceseal_core::metrics::{FoldedAccuracy, Trial, folded_accuracy, tar_at_far};
use faceseal_core::{Embedding, FaceAnalyzer};
use serde::Serialize;

use crate::GlobalArgs;
use crate::context::{CliResult, analyzer, load_image, message};
use crate::output::{emit, pct};
use crate::progress::{Progress, parallel_map};

/// Where a face is looked for again, less strictly, when the normal
/// threshold finds none: every LFW picture is known to hold its subject.
const RETRY_THRESHOLD: f32 = 0.1;

struct Pair {
    a: PathBuf,
    b: PathBuf,
    genuine: bool,
}

fn image_path(root: &Path, name: &str, number: &str) -> CliResult<PathBuf> {
    let n: u32 = number
        .parse()
        .map_err(|_| message(format!("pairs.txt: bad image number {number:?}")))?;
    Ok(root
        .join("images")
        .join(name)
        .join(format!("{name}_{n:04}.jpg")))
}

/// Parses pairs.txt: a header "folds pairs-per-half", then per fold the
/// genuine lines "name n1 n2" and the impostor lines "name1 n1 name2 n2".
fn read_pairs(root: &Path) -> CliResult<Vec<Vec<Pair>>> {
    let path = root.join("pairs.txt");
    let text = std::fs::read_to_string(&path).map_err(|source| crate::context::CliError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<usize> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    let [folds, per_half] = header[..] else {
        return Err(message(
            "pairs.txt: the first line must give folds and pairs per half",
        ));
    };
    let mut out = Vec::with_capacity(folds);
    for _ in 0..folds {
        let mut fold = Vec::with_capacity(2 * per_half);
        for genuine in [true, false] {
            for _ in 0..per_half {
                let line = lines
                    .next()
                    .ok_or_else(|| message("pairs.txt ends early"))?;
                let f: Vec<&str> = line.split_whitespace().collect();
                let pair = match (genuine, f.as_slice()) {
                    (true, [name, n1, n2]) => Pair {
                        a: image_path(root, name, n1)?,
                        b: image_path(root, name, n2)?,
                        genuine,
                    },
                    (false, [name1, n1, name2, n2]) => Pair {
                        a: image_path(root, name1, n1)?,
                        b: image_path(root, name2, n2)?,
                        genuine,
                    },
                    _ => return Err(message(format!("pairs.txt: unexpected line {line:?}"))),
                };
                fold.push(pair);
            }
        }
        out.push(fold);
    }
    Ok(out)
}

/// The outcome for one picture.
enum Face {
    Found(Embedding),
    /// Found only when looking again at a low threshold.
    FoundOnRetry(Embedding),
    Missing,
}

/// The face of interest: LFW centres its subject, so take the detection
/// nearest the picture's centre.
fn central_face(analyzer: &FaceAnalyzer, path: &Path) -> CliResult<Face> {
    let frame = load_image(path)?;
    let centre = faceseal_core::Point::new(frame.width() as f32 / 2.0, frame.height() as f32 / 2.0);
    let pick = |faces: Vec<faceseal_core::detect::DetectedFace>| {
        faces.into_iter().min_by(|a, b| {
            a.bbox
                .centre()
                .distance(centre)
                .total_cmp(&b.bbox.centre().distance(centre))
        })
    };
    if let Some(face) = pick(analyzer.detect(&frame)?) {
        return Ok(Face::Found(analyzer.embed(&frame, &face)?));
    }
    let retry = analyzer
        .detector()
        .detect_with_threshold(&frame, RETRY_THRESHOLD)?;
    Ok(match pick(retry) {
        Some(face) => Face::FoundOnRetry(analyzer.embed(&frame, &face)?),
        None => Face::Missing,
    })
}

#[derive(Serialize)]
struct LfwReport {
    accuracy: f64,
    accuracy_std: f64,
    tar_at_far_1e3: f64,
    threshold_at_far_1e3: f32,
    /// Mean of the thresholds chosen on the training folds.
    threshold: f32,
    fold_accuracies: Vec<f64>,
    n_pairs: usize,
    n_images: usize,
    /// Pictures where no face was found even on the second look; their pairs
    /// are counted as wrong.
    failures_to_detect: usize,
    /// Pictures whose face was found only on the second, less strict look.
    found_on_retry: usize,
}

pub fn run(args: &GlobalArgs, root: &Path, threads: usize) -> CliResult<()> {
    let folds = read_pairs(root)?;
    let analyzer = analyzer(args)?;
    let unique: Vec<PathBuf> = folds
        .iter()
        .flatten()
        .flat_map(|p| [p.a.clone(), p.b.clone()])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let progress = Progress::new("lfw: embedding pictures", unique.len() as u64);
    let results = parallel_map(&unique, threads, &progress, |p| central_face(&analyzer, p));
    let mut faces: HashMap<&Path, Face> = HashMap::new();
    for (path, r) in unique.iter().zip(results) {
        faces.insert(path.as_path(), r?);
    }
    let missing = faces
        .values()
        .filter(|f| matches!(f, Face::Missing))
        .count();
    let retried = faces
        .values()
        .filter(|f| matches!(f, Face::FoundOnRetry(_)))
        .count();
    let embedding = |p: &Path| match &faces[p] {
        Face::Found(e) | Face::FoundOnRetry(e) => Some(e),
        Face::Missing => None,
    };
    let trial_folds: Vec<Vec<Trial>> = folds
        .iter()
        .map(|fold| {
            fold.iter()
                .map(|pair| {
                    let distance = match (embedding(&pair.a), embedding(&pair.b)) {
                        (Some(a), Some(b)) => a.distance(b),
                        // A pair we could not measure is always decided wrongly.
                        _ if pair.genuine => f32::INFINITY,
                        _ => f32::NEG_INFINITY,
                    };
                    Trial {
                        distance,
                        genuine: pair.genuine,
                    }
                })
                .collect()
        })
        .collect();
    let FoldedAccuracy {
        accuracy,
        accuracy_std,
        fold_accuracies,
        fold_thresholds,
    } = folded_accuracy(&trial_folds);
    let all: Vec<Trial> = trial_folds.iter().flatten().copied().collect();
    let (tar, tar_threshold) = tar_at_far(&all, 1e-3);
    let report = LfwReport {
        accuracy,
        accuracy_std,
        tar_at_far_1e3: tar,
        threshold_at_far_1e3: tar_threshold,
        threshold: fold_thresholds.iter().sum::<f32>() / fold_thresholds.len().max(1) as f32,
        fold_accuracies,
        n_pairs: all.len(),
        n_images: unique.len(),
        failures_to_detect: missing,
        found_on_retry: retried,
    };
    emit(args, &report, |r| {
        format!(
            "LFW View 2, 10-fold: accuracy {} ± {}\nTAR at FAR 1e-3: {} (distance < {:.4})\nmean threshold {:.4}\n{} pairs over {} pictures; {} found only on a second look, {} without a face (their pairs counted wrong)\n",
            pct(r.accuracy),
            pct(r.accuracy_std),
            pct(r.tar_at_far_1e3),
            r.threshold_at_far_1e3,
            r.threshold,
            r.n_pairs,
            r.n_images,
            r.found_on_retry,
            r.failures_to_detect
        )
    })
}
