//! LFW View 2: 6,000 pairs in 10 folds of 300 genuine and 300 impostor pairs.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use faceseal_core::template::{
    IomParams, ProtectedTemplate, TemplateError, TemplateKey, TemplateSecret,
};
use faceseal_core::{Embedding, FaceAnalyzer};
use faceseal_eval::metrics::{FoldedAccuracy, Trial, folded_accuracy, tar_at_far};
use serde::Serialize;

use crate::GlobalArgs;
use crate::context::{CliError, CliResult, analyzer, load_image, message};
use crate::output::{emit, pct};
use crate::progress::{Progress, parallel_map};

/// Where a face is looked for again, less strictly, when the normal
/// threshold finds none: every LFW picture is known to hold its subject.
const RETRY_THRESHOLD: f32 = 0.1;

pub(super) struct Pair {
    pub(super) a: PathBuf,
    pub(super) b: PathBuf,
    pub(super) genuine: bool,
    /// The person of the first picture: the identity a probe is claimed to
    /// be, whose template key transforms both sides in the protected domain.
    pub(super) claimed: String,
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
pub(super) fn read_pairs(root: &Path) -> CliResult<Vec<Vec<Pair>>> {
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
                        claimed: (*name).to_owned(),
                    },
                    (false, [name1, n1, name2, n2]) => Pair {
                        a: image_path(root, name1, n1)?,
                        b: image_path(root, name2, n2)?,
                        genuine,
                        claimed: (*name1).to_owned(),
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
pub(super) enum Face {
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
    let pick = |faces: Vec<faceseal_vision::detect::DetectedFace>| {
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

/// The embeddings of a set of pictures, held in (zeroized) memory only.
pub(super) struct Faces {
    by_path: HashMap<PathBuf, Face>,
}

impl Faces {
    /// The embedding of a picture, if a face was found in it.
    pub(super) fn embedding(&self, path: &Path) -> Option<&Embedding> {
        match self.by_path.get(path)? {
            Face::Found(e) | Face::FoundOnRetry(e) => Some(e),
            Face::Missing => None,
        }
    }

    fn count(&self, pred: impl Fn(&Face) -> bool) -> usize {
        self.by_path.values().filter(|f| pred(f)).count()
    }

    pub(super) fn missing(&self) -> usize {
        self.count(|f| matches!(f, Face::Missing))
    }

    pub(super) fn found_on_retry(&self) -> usize {
        self.count(|f| matches!(f, Face::FoundOnRetry(_)))
    }

    pub(super) fn len(&self) -> usize {
        self.by_path.len()
    }
}

/// Embeds the central face of every picture the pairs name, in parallel.
pub(super) fn embed_pairs<'a>(
    analyzer: &FaceAnalyzer,
    pairs: impl IntoIterator<Item = &'a Pair>,
    threads: usize,
) -> CliResult<Faces> {
    let unique: Vec<PathBuf> = pairs
        .into_iter()
        .flat_map(|p| [p.a.clone(), p.b.clone()])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let progress = Progress::new("lfw: embedding pictures", unique.len() as u64);
    let results = parallel_map(&unique, threads, &progress, |p| central_face(analyzer, p));
    let mut by_path = HashMap::with_capacity(unique.len());
    for (path, r) in unique.into_iter().zip(results) {
        by_path.insert(path, r?);
    }
    Ok(Faces { by_path })
}

/// The tenant template secret of the protected evaluation. Fixed, so that the
/// figures reproduce exactly; any secret gives the same statistics.
pub(super) fn eval_secret(label: u8) -> TemplateSecret {
    TemplateSecret::from_bytes(&[label; 32]).expect("32 bytes is a valid secret length")
}

pub(super) fn template_error(e: TemplateError) -> CliError {
    message(format!("template: {e}"))
}

/// The template of `embedding` under the key of `subject` (tenant `secret`,
/// key version `version`, default parameters). The copy handed to the
/// transform is wiped by it.
pub(super) fn protect(
    secret: &TemplateSecret,
    subject: &str,
    version: u32,
    embedding: &Embedding,
) -> CliResult<ProtectedTemplate> {
    let key = TemplateKey::derive(secret, subject, version, IomParams::DEFAULT)
        .map_err(template_error)?;
    key.protect(embedding.clone()).map_err(template_error)
}

/// A pair we could not measure is always decided wrongly.
fn unmeasured(pair: &Pair) -> f32 {
    if pair.genuine {
        f32::INFINITY
    } else {
        f32::NEG_INFINITY
    }
}

fn unprotected_trials(folds: &[Vec<Pair>], faces: &Faces) -> Vec<Vec<Trial>> {
    folds
        .iter()
        .map(|fold| {
            fold.iter()
                .map(|pair| {
                    let distance = match (faces.embedding(&pair.a), faces.embedding(&pair.b)) {
                        (Some(a), Some(b)) => a.distance(b),
                        _ => unmeasured(pair),
                    };
                    Trial {
                        distance,
                        genuine: pair.genuine,
                    }
                })
                .collect()
        })
        .collect()
}

/// Protected-domain trials: both pictures of a pair are transformed with the
/// key of the claimed subject (the first picture's person), for genuine and
/// impostor pairs alike, as a verification would. The metrics work on
/// distances (lower = more alike), so a trial carries `1 - score`.
fn protected_trials(
    folds: &[Vec<Pair>],
    faces: &Faces,
    threads: usize,
) -> CliResult<Vec<Vec<Trial>>> {
    let secret = eval_secret(0xa1);
    let pairs: Vec<&Pair> = folds.iter().flatten().collect();
    let progress = Progress::new("lfw: protecting pairs", pairs.len() as u64);
    let results = parallel_map(&pairs, threads, &progress, |pair| -> CliResult<Trial> {
        let distance = match (faces.embedding(&pair.a), faces.embedding(&pair.b)) {
            (Some(a), Some(b)) => {
                let ta = protect(&secret, &pair.claimed, 1, a)?;
                let tb = protect(&secret, &pair.claimed, 1, b)?;
                1.0 - ta.compare(&tb).map_err(template_error)?.value() as f32
            }
            _ => unmeasured(pair),
        };
        Ok(Trial {
            distance,
            genuine: pair.genuine,
        })
    });
    let mut flat = results.into_iter();
    folds
        .iter()
        .map(|fold| {
            fold.iter()
                .map(|_| flat.next().expect("one result per pair"))
                .collect::<CliResult<Vec<Trial>>>()
        })
        .collect()
}

#[derive(Serialize)]
struct ProtectedReport {
    accuracy: f64,
    accuracy_std: f64,
    tar_at_far_1e3: f64,
    /// Protected score (fraction of equal hash indices) at or above which a
    /// pair is accepted at FAR 1e-3.
    score_threshold_at_far_1e3: f64,
    /// Mean of the score thresholds chosen on the training folds.
    score_threshold: f64,
    fold_score_thresholds: Vec<f64>,
    fold_accuracies: Vec<f64>,
    hashes: u16,
    window: u16,
    /// Unprotected minus protected accuracy, in percentage points.
    accuracy_cost_points: f64,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    protected: Option<ProtectedReport>,
}

/// A score threshold from a threshold on `1 - score`.
fn score_of(distance_threshold: f32) -> f64 {
    1.0 - f64::from(distance_threshold)
}

pub fn run(args: &GlobalArgs, root: &Path, threads: usize, protected: bool) -> CliResult<()> {
    let folds = read_pairs(root)?;
    let analyzer = analyzer(args)?;
    let faces = embed_pairs(&analyzer, folds.iter().flatten(), threads)?;
    let trial_folds = unprotected_trials(&folds, &faces);
    let FoldedAccuracy {
        accuracy,
        accuracy_std,
        fold_accuracies,
        fold_thresholds,
    } = folded_accuracy(&trial_folds);
    let all: Vec<Trial> = trial_folds.iter().flatten().copied().collect();
    let (tar, tar_threshold) = tar_at_far(&all, 1e-3);
    let protected = if protected {
        let p_folds = protected_trials(&folds, &faces, threads)?;
        let folded = folded_accuracy(&p_folds);
        let p_all: Vec<Trial> = p_folds.iter().flatten().copied().collect();
        let (p_tar, p_threshold) = tar_at_far(&p_all, 1e-3);
        let fold_score_thresholds: Vec<f64> = folded
            .fold_thresholds
            .iter()
            .map(|&t| score_of(t))
            .collect();
        Some(ProtectedReport {
            accuracy: folded.accuracy,
            accuracy_std: folded.accuracy_std,
            tar_at_far_1e3: p_tar,
            score_threshold_at_far_1e3: score_of(p_threshold),
            score_threshold: fold_score_thresholds.iter().sum::<f64>()
                / fold_score_thresholds.len().max(1) as f64,
            fold_score_thresholds,
            fold_accuracies: folded.fold_accuracies,
            hashes: IomParams::DEFAULT.hashes(),
            window: IomParams::DEFAULT.window(),
            accuracy_cost_points: 100.0 * (accuracy - folded.accuracy),
        })
    } else {
        None
    };
    let report = LfwReport {
        accuracy,
        accuracy_std,
        tar_at_far_1e3: tar,
        threshold_at_far_1e3: tar_threshold,
        threshold: fold_thresholds.iter().sum::<f32>() / fold_thresholds.len().max(1) as f32,
        fold_accuracies,
        n_pairs: all.len(),
        n_images: faces.len(),
        failures_to_detect: faces.missing(),
        found_on_retry: faces.found_on_retry(),
        protected,
    };
    emit(args, &report, |r| {
        let mut out = format!(
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
        );
        if let Some(p) = &r.protected {
            out.push_str(&format!(
                "protected (IoM-GRP m = {}, q = {}, key of the claimed subject):\n  accuracy {} ± {} ({:+.2} points against unprotected)\n  TAR at FAR 1e-3: {} (score ≥ {:.4})\n  mean score threshold {:.4} (folds: {})\n",
                p.hashes,
                p.window,
                pct(p.accuracy),
                pct(p.accuracy_std),
                -p.accuracy_cost_points,
                pct(p.tar_at_far_1e3),
                p.score_threshold_at_far_1e3,
                p.score_threshold,
                p.fold_score_thresholds
                    .iter()
                    .map(|t| format!("{t:.4}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        out
    })
}
