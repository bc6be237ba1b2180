//! `faceseal eval template`: unlinkability, renewability and the stolen-key
//! inversion attack of protected templates, on real LFW faces.
//!
//! Pictures and pairs come from LFW View 2 (`pairs.txt`): its genuine pairs
//! give mated comparisons (two pictures of one person), its impostor pairs
//! non-mated ones. Every subject's template is made with that subject's own
//! key, as a deployment would.

use std::path::Path;

use faceseal_core::analyzer::DEFAULT_MATCH_THRESHOLD;
use faceseal_core::template::{IomParams, MatchThreshold, ProtectedTemplate, TemplateKey};
use faceseal_eval::attack::{AttackConfig, cosine_similarity, invert};
use faceseal_eval::template_metrics::{cross_key_score, linkability_dsys};
use serde::Serialize;

use super::lfw::{Faces, Pair, embed_pairs, eval_secret, protect, read_pairs, template_error};
use crate::GlobalArgs;
use crate::context::{CliResult, analyzer};
use crate::output::{emit, pct};
use crate::progress::{Progress, parallel_map};

/// Tenant secrets of the evaluation: fixed, so that figures reproduce.
const TENANT_1: u8 = 0xa1;
const TENANT_2: u8 = 0xb2;
/// Key versions: the one in use and the one after a re-keying.
const OLD_VERSION: u32 = 1;
const NEW_VERSION: u32 = 2;

pub struct TemplateEvalArgs<'a> {
    pub root: &'a Path,
    /// Genuine and impostor pairs used (each), taken in file order.
    pub pairs: usize,
    /// Genuine pairs attacked with the stolen-key inversion (0: none).
    pub attack: usize,
    pub attack_iterations: usize,
    pub threads: usize,
}

/// The person a picture shows: its folder's name.
fn person(path: &Path) -> String {
    path.parent()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Scores of one pair under the keys the evaluation compares.
struct PairScores {
    genuine: bool,
    /// A under (tenant 1, its subject, v1) against B under (tenant 2, its subject, v1).
    cross_tenant: f64,
    /// A under (tenant 1, v1) against B under (tenant 1, v2), each its own subject.
    cross_version: f64,
    /// A and B both under the claimed subject's key (tenant 1, v1): verification.
    same_key: f64,
    /// Genuine pairs only: A under v1 against A itself under v2 (re-enrolment
    /// of the very same capture after re-keying).
    renewal_same_capture: Option<f64>,
}

fn score_pair(faces: &Faces, pair: &Pair) -> CliResult<Option<PairScores>> {
    let (Some(a), Some(b)) = (faces.embedding(&pair.a), faces.embedding(&pair.b)) else {
        return Ok(None);
    };
    let (t1, t2) = (eval_secret(TENANT_1), eval_secret(TENANT_2));
    let p = &pair.claimed;
    let q = person(&pair.b);
    let a_v1 = protect(&t1, p, OLD_VERSION, a)?;
    let b_tenant2 = protect(&t2, &q, OLD_VERSION, b)?;
    let b_v2 = protect(&t1, &q, NEW_VERSION, b)?;
    let b_claimed = protect(&t1, p, OLD_VERSION, b)?;
    let renewal_same_capture = if pair.genuine {
        let a_v2 = protect(&t1, p, NEW_VERSION, a)?;
        Some(cross_key_score(&a_v1, &a_v2).map_err(template_error)?)
    } else {
        None
    };
    Ok(Some(PairScores {
        genuine: pair.genuine,
        cross_tenant: cross_key_score(&a_v1, &b_tenant2).map_err(template_error)?,
        cross_version: cross_key_score(&a_v1, &b_v2).map_err(template_error)?,
        same_key: a_v1.compare(&b_claimed).map_err(template_error)?.value(),
        renewal_same_capture,
    }))
}

/// Distribution summary of a list of scores.
#[derive(Serialize)]
struct ScoreSummary {
    n: usize,
    mean: f64,
    p5: f64,
    p50: f64,
    p95: f64,
    max: f64,
    /// Share of scores at or above the protected match threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    share_matching: Option<f64>,
}

fn summary(scores: &[f64], threshold: Option<f64>) -> ScoreSummary {
    let mut v = scores.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = |q: f64| {
        if v.is_empty() {
            f64::NAN
        } else {
            v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
        }
    };
    ScoreSummary {
        n: v.len(),
        mean: v.iter().sum::<f64>() / v.len().max(1) as f64,
        p5: rank(0.05),
        p50: rank(0.5),
        p95: rank(0.95),
        max: v.last().copied().unwrap_or(f64::NAN),
        share_matching: threshold
            .map(|t| v.iter().filter(|&&s| s >= t).count() as f64 / v.len().max(1) as f64),
    }
}

#[derive(Serialize)]
struct Linkability {
    /// Global linkability `D↔sys` (Gomez-Barrero et al., 2018), ω = 1.
    dsys: f64,
    mated: ScoreSummary,
    non_mated: ScoreSummary,
}

fn linkability(scores: &[PairScores], pick: fn(&PairScores) -> f64, threshold: f64) -> Linkability {
    let mated: Vec<f64> = scores.iter().filter(|s| s.genuine).map(pick).collect();
    let non_mated: Vec<f64> = scores.iter().filter(|s| !s.genuine).map(pick).collect();
    Linkability {
        dsys: linkability_dsys(&mated, &non_mated),
        mated: summary(&mated, Some(threshold)),
        non_mated: summary(&non_mated, Some(threshold)),
    }
}

#[derive(Serialize)]
struct Renewability {
    /// The same capture enrolled under the old and the new key version.
    same_capture: ScoreSummary,
    /// Another capture of the same person under the new key version against
    /// the old template (the cross-version mated scores).
    other_capture: ScoreSummary,
}

#[derive(Serialize)]
struct AttackReport {
    pairs: usize,
    iterations: usize,
    beta_start: f64,
    beta_end: f64,
    step: f64,
    /// Norm given to the recovered embedding: the mean norm of the embedded faces.
    target_norm: f32,
    /// Unprotected system: recovered embedding against picture B, Euclidean
    /// distance below this.
    system_distance_threshold: f32,
    /// Protected system: score threshold.
    protected_score_threshold: f64,
    /// Share of recovered embeddings accepted against picture B (another
    /// capture of the same person) by the unprotected system.
    unprotected_success: f64,
    /// The same for the original picture A's embedding (the best an attacker
    /// could do with the face itself).
    unprotected_baseline: f64,
    /// Share of recovered embeddings whose template, re-made under the stolen
    /// key, matches picture B's protected template.
    protected_success: f64,
    /// The same for picture A's own template (genuine acceptance).
    protected_baseline: f64,
    /// Agreement of the recovered embedding's template with the attacked one.
    agreement: ScoreSummary,
    /// Cosine between the recovered embedding and picture A's embedding.
    cosine_to_original: ScoreSummary,
    /// Euclidean distance between the recovered embedding and picture A's.
    distance_to_original: ScoreSummary,
}

struct AttackOutcome {
    accepted_unprotected: bool,
    baseline_unprotected: bool,
    accepted_protected: bool,
    baseline_protected: bool,
    agreement: f64,
    cosine: f64,
    distance: f64,
}

fn attack_pair(
    faces: &Faces,
    pair: &Pair,
    config: &AttackConfig,
    threshold: MatchThreshold,
) -> CliResult<Option<AttackOutcome>> {
    let (Some(a), Some(b)) = (faces.embedding(&pair.a), faces.embedding(&pair.b)) else {
        return Ok(None);
    };
    let secret = eval_secret(TENANT_1);
    // The stolen key: the subject's transform key, hence every projection.
    let key = TemplateKey::derive(&secret, &pair.claimed, OLD_VERSION, IomParams::DEFAULT)
        .map_err(template_error)?;
    let stolen: ProtectedTemplate = key.protect(a.clone()).map_err(template_error)?;
    let outcome = invert(&key, &stolen, config).map_err(template_error)?;
    let recovered = outcome.embedding;
    let b_template = key.protect(b.clone()).map_err(template_error)?;
    let replayed = key.protect(recovered.clone()).map_err(template_error)?;
    Ok(Some(AttackOutcome {
        accepted_unprotected: recovered.distance(b) < DEFAULT_MATCH_THRESHOLD,
        baseline_unprotected: a.distance(b) < DEFAULT_MATCH_THRESHOLD,
        accepted_protected: replayed
            .compare(&b_template)
            .map_err(template_error)?
            .is_match(threshold),
        baseline_protected: stolen
            .compare(&b_template)
            .map_err(template_error)?
            .is_match(threshold),
        agreement: outcome.agreement,
        cosine: cosine_similarity(&recovered, a).map_err(template_error)?,
        distance: f64::from(recovered.distance(a)),
    }))
}

#[derive(Serialize)]
struct TemplateReport {
    hashes: u16,
    window: u16,
    protected_score_threshold: f64,
    genuine_pairs: usize,
    impostor_pairs: usize,
    /// Pairs left out because a picture had no face.
    unmeasured_pairs: usize,
    /// Same subject key (verification): linkable by design.
    same_key: Linkability,
    cross_tenant: Linkability,
    cross_version: Linkability,
    /// `D↔sys` of two samples of one distribution: the cross-version against
    /// the cross-tenant non-mated scores (both different people under
    /// independent keys). The estimator's small-sample floor; a true 0 would
    /// need infinitely many scores.
    null_control_dsys: f64,
    renewability: Renewability,
    #[serde(skip_serializing_if = "Option::is_none")]
    attack: Option<AttackReport>,
}

/// The inversion's settings, with the norm an attacker would give the
/// recovered vector: the mean norm of the embedded faces (IoM ignores norms,
/// and the population's typical norm is public knowledge).
pub(super) fn attack_config(faces: &Faces, pairs: &[&Pair], iterations: usize) -> AttackConfig {
    let norms: Vec<f32> = pairs
        .iter()
        .flat_map(|p| [faces.embedding(&p.a), faces.embedding(&p.b)])
        .flatten()
        .map(|e| e.norm())
        .collect();
    AttackConfig {
        iterations,
        target_norm: norms.iter().sum::<f32>() / norms.len().max(1) as f32,
        ..AttackConfig::default()
    }
}

fn non_mated(scores: &[PairScores], pick: fn(&PairScores) -> f64) -> Vec<f64> {
    scores.iter().filter(|s| !s.genuine).map(pick).collect()
}

fn share(outcomes: &[AttackOutcome], f: fn(&AttackOutcome) -> bool) -> f64 {
    outcomes.iter().filter(|o| f(o)).count() as f64 / outcomes.len().max(1) as f64
}

pub fn run(global: &GlobalArgs, args: &TemplateEvalArgs) -> CliResult<()> {
    let folds = read_pairs(args.root)?;
    let genuine: Vec<&Pair> = folds.iter().flatten().filter(|p| p.genuine).collect();
    let impostor: Vec<&Pair> = folds.iter().flatten().filter(|p| !p.genuine).collect();
    let chosen: Vec<&Pair> = genuine
        .iter()
        .take(args.pairs)
        .chain(impostor.iter().take(args.pairs))
        .copied()
        .collect();
    let analyzer = analyzer(global)?;
    let faces = embed_pairs(&analyzer, chosen.iter().copied(), args.threads)?;
    let threshold = MatchThreshold::DEFAULT;

    let progress = Progress::new("template: protecting pairs", chosen.len() as u64);
    let scored = parallel_map(&chosen, args.threads, &progress, |p| score_pair(&faces, p));
    let mut scores = Vec::with_capacity(chosen.len());
    for s in scored {
        scores.extend(s?);
    }
    let t = threshold.value();
    let renewal: Vec<f64> = scores
        .iter()
        .filter_map(|s| s.renewal_same_capture)
        .collect();
    let cross_version_mated: Vec<f64> = scores
        .iter()
        .filter(|s| s.genuine)
        .map(|s| s.cross_version)
        .collect();

    let attack = if args.attack > 0 {
        let config = attack_config(&faces, &chosen, args.attack_iterations);
        let targets: Vec<&Pair> = genuine.iter().take(args.attack).copied().collect();
        let progress = Progress::new("template: inverting templates", targets.len() as u64);
        let results = parallel_map(&targets, args.threads, &progress, |p| {
            attack_pair(&faces, p, &config, threshold)
        });
        let mut outcomes = Vec::with_capacity(targets.len());
        for r in results {
            outcomes.extend(r?);
        }
        let pick = |f: fn(&AttackOutcome) -> f64| -> Vec<f64> { outcomes.iter().map(f).collect() };
        Some(AttackReport {
            pairs: outcomes.len(),
            iterations: config.iterations,
            beta_start: config.beta_start,
            beta_end: config.beta_end,
            step: config.step,
            target_norm: config.target_norm,
            system_distance_threshold: DEFAULT_MATCH_THRESHOLD,
            protected_score_threshold: t,
            unprotected_success: share(&outcomes, |o| o.accepted_unprotected),
            unprotected_baseline: share(&outcomes, |o| o.baseline_unprotected),
            protected_success: share(&outcomes, |o| o.accepted_protected),
            protected_baseline: share(&outcomes, |o| o.baseline_protected),
            agreement: summary(&pick(|o| o.agreement), Some(t)),
            cosine_to_original: summary(&pick(|o| o.cosine), None),
            distance_to_original: summary(&pick(|o| o.distance), None),
        })
    } else {
        None
    };

    let report = TemplateReport {
        hashes: IomParams::DEFAULT.hashes(),
        window: IomParams::DEFAULT.window(),
        protected_score_threshold: t,
        genuine_pairs: scores.iter().filter(|s| s.genuine).count(),
        impostor_pairs: scores.iter().filter(|s| !s.genuine).count(),
        unmeasured_pairs: chosen.len() - scores.len(),
        same_key: linkability(&scores, |s| s.same_key, t),
        cross_tenant: linkability(&scores, |s| s.cross_tenant, t),
        cross_version: linkability(&scores, |s| s.cross_version, t),
        null_control_dsys: linkability_dsys(
            &non_mated(&scores, |s| s.cross_version),
            &non_mated(&scores, |s| s.cross_tenant),
        ),
        renewability: Renewability {
            same_capture: summary(&renewal, Some(t)),
            other_capture: summary(&cross_version_mated, Some(t)),
        },
        attack,
    };
    emit(global, &report, human)
}

fn line(s: &ScoreSummary) -> String {
    let mut out = format!(
        "mean {:.4}, p5 {:.4}, median {:.4}, p95 {:.4}, max {:.4}",
        s.mean, s.p5, s.p50, s.p95, s.max
    );
    if let Some(share) = s.share_matching {
        out.push_str(&format!("; {} at or above the threshold", pct(share)));
    }
    out.push_str(&format!(" (n = {})", s.n));
    out
}

fn human(r: &TemplateReport) -> String {
    let link = |name: &str, l: &Linkability| {
        format!(
            "{name}: D↔sys {:.4}\n  mated     {}\n  non-mated {}\n",
            l.dsys,
            line(&l.mated),
            line(&l.non_mated)
        )
    };
    let mut out = format!(
        "protected templates on LFW (IoM-GRP m = {}, q = {}, match at score ≥ {:.4}); {} genuine and {} impostor pairs, {} without a face left out\n",
        r.hashes,
        r.window,
        r.protected_score_threshold,
        r.genuine_pairs,
        r.impostor_pairs,
        r.unmeasured_pairs
    );
    out.push_str(&link(
        "same key (verification, linkable by design)",
        &r.same_key,
    ));
    out.push_str(&link("cross-tenant (two tenant secrets)", &r.cross_tenant));
    out.push_str(&link(
        "cross-version (key versions 1 and 2)",
        &r.cross_version,
    ));
    out.push_str(&format!(
        "null control (two samples of non-mated cross-key scores): D↔sys {:.4}, the estimator's floor at this sample size\n",
        r.null_control_dsys
    ));
    out.push_str(&format!(
        "renewability, old template against new:\n  same capture  {}\n  other capture {}\n",
        line(&r.renewability.same_capture),
        line(&r.renewability.other_capture)
    ));
    if let Some(a) = &r.attack {
        out.push_str(&format!(
            "stolen-key inversion on {} genuine pairs ({} gradient steps, β {} → {}, step {} rad, norm {:.3}):\n  unprotected system (distance < {}): recovered accepted against the other picture {} (the original picture itself: {})\n  protected system (score ≥ {:.4}, same key): recovered accepted {} (the original template: {})\n  agreement with the attacked template: {}\n  cosine to the original embedding:     {}\n  distance to the original embedding:   {}\n",
            a.pairs,
            a.iterations,
            a.beta_start,
            a.beta_end,
            a.step,
            a.target_norm,
            a.system_distance_threshold,
            pct(a.unprotected_success),
            pct(a.unprotected_baseline),
            a.protected_score_threshold,
            pct(a.protected_success),
            pct(a.protected_baseline),
            line(&a.agreement),
            line(&a.cosine_to_original),
            line(&a.distance_to_original)
        ));
    }
    out
}
