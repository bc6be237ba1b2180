//! LFW View 2 under the split-trust scheme: every decision computed in the
//! encrypted domain (device encryption, the server's masked homomorphic
//! comparison and decryption share, the key holder's one-bit answer) and
//! checked against the plaintext decision of the same quantised encoding.
//! Embeddings stay in memory.

use std::path::Path;
use std::sync::Mutex;

use faceseal_eval::metrics::{Trial, folded_accuracy, mean_std, tar_at_far};
use faceseal_split::decision::{DecisionKey, DecisionRequest};
use faceseal_split::encoding::Quantised;
use faceseal_split::keyholder::{KeyHolder, credential_digest};
use faceseal_split::keys::{CollectivePublicKey, KeyShare, contribution};
use faceseal_split::{SplitError, device, params, server};
use serde::Serialize;

use super::lfw::{Faces, Pair, embed_pairs, read_pairs};
use crate::GlobalArgs;
use crate::context::{CliResult, analyzer, message};
use crate::output::{emit, pct};
use crate::progress::{Progress, parallel_map};

const TENANT: &str = "lfw-eval";
const CREDENTIAL: &[u8] = b"lfw evaluation server";

fn split_error(e: SplitError) -> crate::context::CliError {
    message(format!("split scheme: {e}"))
}

/// The two parties of one evaluation tenant, in this process.
struct Parties {
    par: std::sync::Arc<params::Parameters>,
    public: CollectivePublicKey,
    server_share: KeyShare,
    decision_key: DecisionKey,
    holder: Mutex<KeyHolder>,
}

fn parties() -> Result<Parties, SplitError> {
    let mut rng = rand::rng();
    let par = params::bfv()?;
    // The evaluation asks for every decision: no attempt limit.
    let mut holder = KeyHolder::in_memory(par.clone(), credential_digest(CREDENTIAL), u32::MAX);
    let seed: [u8; 32] = rand::random();
    let server_share = KeyShare::generate(&par, &mut rng);
    let ours = contribution(&server_share, &par, seed, &mut rng)?;
    let theirs = holder.create_tenant(CREDENTIAL, TENANT, seed, &mut rng)?;
    Ok(Parties {
        public: CollectivePublicKey::combine(&par, &ours, &theirs.contribution)?,
        par,
        server_share,
        decision_key: theirs.decision_key,
        holder: Mutex::new(holder),
    })
}

impl Parties {
    /// One verification end to end: `enrolled` encrypted as a device would,
    /// compared with `probe` by the server, decided by the key holder.
    fn decide(
        &self,
        subject: &str,
        enrolled: &Quantised,
        probe: &Quantised,
        threshold: i64,
    ) -> Result<bool, SplitError> {
        let mut rng = rand::rng();
        let stored = device::encrypt(&self.par, &self.public, enrolled, &mut rng)?;
        let partial = server::compare(
            &self.par,
            &self.public,
            &self.server_share,
            &stored,
            probe,
            threshold,
            &mut rng,
        )?;
        let request = DecisionRequest {
            tenant: TENANT.into(),
            subject: subject.into(),
            request_id: rand::random(),
            nonce: rand::random(),
        };
        let answer = self.holder.lock().expect("key holder lock").decide(
            CREDENTIAL,
            request.clone(),
            &partial,
        )?;
        self.decision_key.verify(&request, &answer)
    }
}

/// The integer score threshold equivalent to "distance < t" on distances
/// that are negated integer scores.
fn score_threshold(distance: f32) -> i64 {
    let range = params::threshold_range();
    if !distance.is_finite() {
        return if distance > 0.0 {
            *range.start()
        } else {
            *range.end()
        };
    }
    ((-f64::from(distance)).floor() as i64 + 1).clamp(*range.start(), *range.end())
}

#[derive(Serialize)]
struct SplitReport {
    pairs: usize,
    /// Pairs decided in the encrypted domain (two thresholds each).
    encrypted_decisions: usize,
    /// Encrypted decisions that differ from the plaintext decision of the same encoding.
    mismatches: usize,
    accuracy: f64,
    accuracy_std: f64,
    fold_accuracies: Vec<f64>,
    fold_score_thresholds: Vec<i64>,
    tar_at_far_1e3: f64,
    far_at_far_1e3_threshold: f64,
    score_threshold_at_far_1e3: i64,
    /// The same protocol on the unquantised float embeddings (plaintext).
    float_accuracy: f64,
    pictures_without_face: usize,
    seconds: f64,
}

struct PairOutcome {
    genuine: bool,
    /// None when a picture had no face (counted wrong, as in `eval lfw`).
    decisions: Option<[(bool, bool); 2]>,
}

pub fn run(
    args: &GlobalArgs,
    root: &Path,
    threads: usize,
    per_fold: Option<usize>,
) -> CliResult<()> {
    let started = std::time::Instant::now();
    let mut folds = read_pairs(root)?;
    if let Some(n) = per_fold {
        // The first n/2 genuine and n/2 impostor pairs of each fold.
        for fold in &mut folds {
            let half = fold.len() / 2;
            let keep = (n / 2).min(half);
            let impostors: Vec<Pair> = fold.drain(half..).take(keep).collect();
            fold.truncate(keep);
            fold.extend(impostors);
        }
    }
    let analyzer = analyzer(args)?;
    let faces = embed_pairs(&analyzer, folds.iter().flatten(), threads)?;
    let quantise = |pair: &Pair, faces: &Faces| -> CliResult<Option<(Quantised, Quantised)>> {
        match (faces.embedding(&pair.a), faces.embedding(&pair.b)) {
            (Some(a), Some(b)) => Ok(Some((
                Quantised::from_embedding(a.values()).map_err(split_error)?,
                Quantised::from_embedding(b.values()).map_err(split_error)?,
            ))),
            _ => Ok(None),
        }
    };

    // Plaintext scores of the encoding pick the thresholds (9 folds each).
    let mut score_folds: Vec<Vec<Trial>> = Vec::with_capacity(folds.len());
    let mut float_folds: Vec<Vec<Trial>> = Vec::with_capacity(folds.len());
    for fold in &folds {
        let mut scores = Vec::with_capacity(fold.len());
        let mut floats = Vec::with_capacity(fold.len());
        for pair in fold {
            let (distance, float) = match quantise(pair, &faces)? {
                Some((a, b)) => {
                    let (ea, eb) = (
                        faces.embedding(&pair.a).expect("measured"),
                        faces.embedding(&pair.b).expect("measured"),
                    );
                    (-(a.score(&b) as f32), ea.distance(eb))
                }
                None if pair.genuine => (f32::INFINITY, f32::INFINITY),
                None => (f32::NEG_INFINITY, f32::NEG_INFINITY),
            };
            scores.push(Trial {
                distance,
                genuine: pair.genuine,
            });
            floats.push(Trial {
                distance: float,
                genuine: pair.genuine,
            });
        }
        score_folds.push(scores);
        float_folds.push(floats);
    }
    let plain = folded_accuracy(&score_folds);
    let all: Vec<Trial> = score_folds.iter().flatten().copied().collect();
    let (_, far_distance) = tar_at_far(&all, 1e-3);
    let far_threshold = score_threshold(far_distance);
    let fold_thresholds: Vec<i64> = plain
        .fold_thresholds
        .iter()
        .map(|&t| score_threshold(t))
        .collect();

    let parties = parties().map_err(split_error)?;
    let jobs: Vec<(usize, &Pair)> = folds
        .iter()
        .enumerate()
        .flat_map(|(k, fold)| fold.iter().map(move |p| (k, p)))
        .collect();
    let progress = Progress::new("lfw-split: encrypted decisions", jobs.len() as u64);
    let outcomes = parallel_map(
        &jobs,
        threads,
        &progress,
        |(k, pair)| -> CliResult<PairOutcome> {
            let decisions = match quantise(pair, &faces)? {
                Some((a, b)) => {
                    let score = a.score(&b);
                    let mut out = [(false, false); 2];
                    for (slot, threshold) in
                        [fold_thresholds[*k], far_threshold].into_iter().enumerate()
                    {
                        let encrypted = parties
                            .decide(&pair.claimed, &a, &b, threshold)
                            .map_err(split_error)?;
                        out[slot] = (encrypted, score >= threshold);
                    }
                    Some(out)
                }
                None => None,
            };
            Ok(PairOutcome {
                genuine: pair.genuine,
                decisions,
            })
        },
    );
    let outcomes: Vec<(usize, PairOutcome)> = jobs
        .iter()
        .map(|(k, _)| *k)
        .zip(outcomes)
        .map(|(k, o)| o.map(|o| (k, o)))
        .collect::<CliResult<_>>()?;

    let mut mismatches = 0;
    let mut encrypted_decisions = 0;
    let mut right = vec![(0usize, 0usize); folds.len()];
    let (mut genuine, mut genuine_accepted, mut impostor, mut impostor_accepted) = (0, 0, 0, 0);
    for (k, o) in &outcomes {
        right[*k].1 += 1;
        if o.genuine {
            genuine += 1;
        } else {
            impostor += 1;
        }
        let Some([(acc_enc, acc_plain), (far_enc, far_plain)]) = o.decisions else {
            continue;
        };
        encrypted_decisions += 2;
        mismatches += usize::from(acc_enc != acc_plain) + usize::from(far_enc != far_plain);
        right[*k].0 += usize::from(acc_enc == o.genuine);
        if far_enc {
            if o.genuine {
                genuine_accepted += 1;
            } else {
                impostor_accepted += 1;
            }
        }
    }
    let fold_accuracies: Vec<f64> = right
        .iter()
        .map(|(r, n)| *r as f64 / (*n).max(1) as f64)
        .collect();
    let (accuracy, accuracy_std) = mean_std(&fold_accuracies);
    let report = SplitReport {
        pairs: outcomes.len(),
        encrypted_decisions,
        mismatches,
        accuracy,
        accuracy_std,
        fold_accuracies,
        fold_score_thresholds: fold_thresholds,
        tar_at_far_1e3: genuine_accepted as f64 / f64::from(genuine.max(1)),
        far_at_far_1e3_threshold: impostor_accepted as f64 / f64::from(impostor.max(1)),
        score_threshold_at_far_1e3: far_threshold,
        float_accuracy: folded_accuracy(&float_folds).accuracy,
        pictures_without_face: faces.missing(),
        seconds: started.elapsed().as_secs_f64(),
    };
    emit(args, &report, |r| {
        format!(
            "LFW View 2 under the split scheme ({} pairs, {} encrypted decisions)\n\
             encrypted decisions differing from the plaintext encoding: {}\n\
             accuracy {} ± {} (float embeddings: {})\n\
             TAR at FAR 1e-3: {} (score ≥ {}, FAR measured {})\n\
             {} pictures without a face (their pairs counted wrong); {:.0} s\n",
            r.pairs,
            r.encrypted_decisions,
            r.mismatches,
            pct(r.accuracy),
            pct(r.accuracy_std),
            pct(r.float_accuracy),
            pct(r.tar_at_far_1e3),
            r.score_threshold_at_far_1e3,
            pct(r.far_at_far_1e3_threshold),
            r.pictures_without_face,
            r.seconds
        )
    })
}
