//! Multi-frame presentation-attack detection: pictures of one capture
//! session grouped into bursts and decided by the burst liveness layer.
//!
//! Every signal is reported on its own and fused, in ISO/IEC 30107-3 terms:
//! APCER (attacks accepted, also per attack type), BPCER (bona fide
//! presentations refused), ACER, and EER over each signal's score.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use faceseal_core::FaceAnalyzer;
use faceseal_eval::metrics::{equal_error_rate, pad_rates};
use faceseal_vision::liveness::ParallaxVerdict;
use faceseal_vision::liveness::{
    BurstDecision, BurstLivenessChecker, FrameEvidence, LivenessPolicy, SecurityLevel, TimedFrame,
};
use serde::Serialize;

use crate::GlobalArgs;
use crate::context::{CliResult, analyzer, load_image, message};
use crate::output::{emit, pct};
use crate::progress::{Progress, parallel_map};

/// Frame numbers become timestamps at this interval: NUAA's webcam frames
/// are numbered at its capture rate, about 20 a second.
pub const MS_PER_FRAME_NUMBER: u64 = 50;

/// One picture and where it belongs.
#[derive(Debug, Clone)]
pub struct Sample {
    pub path: PathBuf,
    pub live: bool,
    /// The set it came from, for per-set counts.
    pub set: String,
    /// For attacks: the kind of attack (ISO/IEC 30107-3 reports APCER per type).
    pub attack_type: String,
    /// Pictures of one session form bursts together.
    pub session: String,
    pub frame_number: u64,
    /// The person shown, for folds that leave one person out.
    pub person: String,
    /// The capture condition (glasses, lighting, session), for folds that
    /// leave one condition out.
    pub condition: String,
}

/// NUAA names frames `ID_glasses_position_session_frame`: the session is
/// all but the frame number.
pub fn nuaa_session(stem: &str) -> Option<(String, u64)> {
    let parts = nuaa_fields(stem)?;
    Some((parts[..4].join("_"), parts[4].parse().ok()?))
}

/// The five fields of a NUAA file name, when it is one.
fn nuaa_fields(stem: &str) -> Option<Vec<&str>> {
    let parts: Vec<&str> = stem.split('_').collect();
    if parts.len() != 5 || !parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit())) {
        return None;
    }
    Some(parts)
}

/// Person and capture condition of a NUAA name: the person is the first
/// field; the condition is glasses and session (the lighting and place of a
/// NUAA session), the fields a new user's capture does not share.
fn nuaa_person_condition(stem: &str) -> Option<(String, String)> {
    let f = nuaa_fields(stem)?;
    Some((
        f[0].to_owned(),
        format!("glasses {} session {}", f[1], f[3]),
    ))
}

/// NUAA's position code (third field) for imposters says how the print moved.
pub fn nuaa_attack_type(stem: &str) -> String {
    let kind = match stem.split('_').nth(2) {
        Some("00") => "held",
        Some("01") => "up-down rotate",
        Some("02") => "up-down twist",
        Some("03") => "left-right rotate",
        Some("04") => "left-right twist",
        _ => "other",
    };
    format!("print ({kind})")
}

/// Samples of a generic list: a NUAA-style name gives its session, any
/// other picture belongs to its directory's session, ordered by the number
/// in its name.
pub fn samples_of(paths: &[PathBuf], live: bool, set: &str, attack_type: &str) -> Vec<Sample> {
    paths
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            let dir = p.parent().map(Path::display).map(|d| d.to_string());
            let (session, frame_number) = nuaa_session(stem).unwrap_or_else(|| {
                let digits: String = stem.chars().filter(char::is_ascii_digit).collect();
                (
                    dir.clone().unwrap_or_default(),
                    digits.parse().unwrap_or(i as u64),
                )
            });
            // Outside NUAA's naming, a set stands for one person in one place.
            let (person, condition) =
                nuaa_person_condition(stem).unwrap_or_else(|| (set.to_owned(), set.to_owned()));
            Sample {
                path: p.clone(),
                live,
                set: set.to_owned(),
                attack_type: attack_type.to_owned(),
                session: format!("{}|{session}", dir.unwrap_or_default()),
                frame_number,
                person,
                condition,
            }
        })
        .collect()
}

/// Consecutive, non-overlapping runs of `n` frames of each session, in
/// frame order; a session's last, shorter run is left out.
fn bursts(samples: &[Sample], n: usize) -> Vec<Vec<usize>> {
    let mut sessions: BTreeMap<(&str, bool), Vec<usize>> = BTreeMap::new();
    for (i, s) in samples.iter().enumerate() {
        sessions.entry((&s.session, s.live)).or_default().push(i);
    }
    let mut out = Vec::new();
    for (_, mut idx) in sessions {
        idx.sort_by_key(|&i| samples[i].frame_number);
        out.extend(idx.chunks_exact(n).map(<[usize]>::to_vec));
    }
    out
}

#[derive(Serialize, Clone)]
struct MethodReport {
    method: &'static str,
    threshold: f32,
    apcer: f64,
    bpcer: f64,
    acer: f64,
    eer: f64,
    n_live: usize,
    n_attack: usize,
    live_refused: usize,
    attacks_accepted: usize,
    /// APCER of each attack type: (type, accepted, total, rate).
    apcer_by_type: Vec<(String, usize, usize, f64)>,
}

#[derive(Serialize)]
struct SetReport {
    set: String,
    live: bool,
    bursts: usize,
    /// Bursts decided live by the fused decision.
    accepted: usize,
    rate_accepted: f64,
}

#[derive(Serialize)]
struct Calibration {
    /// 99th percentile of each screen cue over the live frames.
    live_moire_p99: f32,
    live_high_frequency_p99: f32,
    live_border_p99: f32,
    live_glare_p99: f32,
    /// Smallest thumbnail difference between consecutive frames, over bursts.
    live_min_frame_difference: Option<f32>,
    attack_min_frame_difference: Option<f32>,
    /// Parallax verdicts: (three-dimensional, planar, undecided) of live and attack bursts.
    live_parallax_verdicts: [usize; 3],
    attack_parallax_verdicts: [usize; 3],
}

#[derive(Serialize)]
struct BurstReport {
    burst: usize,
    level: SecurityLevel,
    policy: LivenessPolicy,
    frames: usize,
    live_bursts: usize,
    attack_bursts: usize,
    methods: Vec<MethodReport>,
    sets: Vec<SetReport>,
    calibration: Calibration,
    /// Out-of-fold figures (with `--crossval`).
    crossval: Option<super::crossval::CrossValReport>,
    /// The same bursts through capture sessions (with `--through-sessions`).
    #[serde(skip_serializing_if = "Option::is_none")]
    through_sessions: Option<super::session_check::SessionCheck>,
}

struct Scored<'a> {
    sample: &'a Sample,
    evidence: FrameEvidence,
}

fn observe(
    analyzer: &FaceAnalyzer,
    checker: &BurstLivenessChecker,
    s: &Sample,
) -> CliResult<FrameEvidence> {
    let frame = load_image(&s.path)?;
    Ok(checker.observe(
        analyzer.burst_models(),
        TimedFrame {
            frame: &frame,
            timestamp_ms: s.frame_number * MS_PER_FRAME_NUMBER,
        },
    )?)
}

/// Rates of one method from (score, live, attack type) triples.
fn method(name: &'static str, threshold: f32, scored: &[(f32, bool, &str)]) -> MethodReport {
    let live: Vec<f32> = scored.iter().filter(|s| s.1).map(|s| s.0).collect();
    let attack: Vec<f32> = scored.iter().filter(|s| !s.1).map(|s| s.0).collect();
    let r = pad_rates(&live, &attack, threshold);
    let eer = if live.is_empty() || attack.is_empty() {
        f64::NAN
    } else {
        equal_error_rate(&live, &attack).0
    };
    let mut by_type: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for &(score, is_live, kind) in scored {
        if !is_live {
            let e = by_type.entry(kind).or_default();
            e.1 += 1;
            if score >= threshold {
                e.0 += 1;
            }
        }
    }
    MethodReport {
        method: name,
        threshold,
        apcer: r.apcer,
        bpcer: r.bpcer,
        acer: r.acer,
        eer,
        n_live: live.len(),
        n_attack: attack.len(),
        live_refused: live.iter().filter(|&&s| s < threshold).count(),
        attacks_accepted: attack.iter().filter(|&&s| s >= threshold).count(),
        apcer_by_type: by_type
            .into_iter()
            .map(|(k, (a, t))| (k.to_owned(), a, t, a as f64 / t.max(1) as f64))
            .collect(),
    }
}

fn p99(mut v: Vec<f32>) -> f32 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f32::total_cmp);
    v[((0.99 * v.len() as f32).ceil() as usize).clamp(1, v.len()) - 1]
}

fn verdict_counts<'a>(decisions: impl Iterator<Item = &'a BurstDecision>) -> [usize; 3] {
    let mut c = [0; 3];
    for d in decisions {
        c[match d.parallax.verdict {
            ParallaxVerdict::ThreeDimensional => 0,
            ParallaxVerdict::Planar => 1,
            _ => 2,
        }] += 1;
    }
    c
}

/// How a burst evaluation runs.
pub struct BurstEval<'a> {
    /// Frames per burst.
    pub n: usize,
    pub level: SecurityLevel,
    pub threads: usize,
    /// Leave-one-person-out and leave-one-condition-out figures.
    pub crossval: bool,
    /// Writes every frame's evidence there, one JSON object a line.
    pub frames_out: Option<&'a Path>,
    /// Runs every burst again through the SDK's capture sessions and
    /// compares the decisions.
    pub through_sessions: bool,
}

/// One frame's evidence as written by `--frames-out`.
#[derive(Serialize)]
struct FrameRecord<'a> {
    path: String,
    live: bool,
    person: &'a str,
    condition: &'a str,
    session: &'a str,
    attack_type: &'a str,
    frame_number: u64,
    faces: usize,
    passive: Option<f32>,
    screen: Option<faceseal_vision::liveness::ScreenCues>,
    face: Option<faceseal_vision::detect::DetectedFace>,
}

fn write_frames(path: &Path, frames: &BTreeMap<usize, Scored>) -> CliResult<()> {
    let mut out = String::new();
    for s in frames.values() {
        let e = &s.evidence;
        let record = FrameRecord {
            path: s.sample.path.display().to_string(),
            live: s.sample.live,
            person: &s.sample.person,
            condition: &s.sample.condition,
            session: &s.sample.session,
            attack_type: &s.sample.attack_type,
            frame_number: s.sample.frame_number,
            faces: e.faces,
            passive: e.passive,
            screen: e.screen,
            face: e.face,
        };
        out.push_str(&serde_json::to_string(&record)?);
        out.push('\n');
    }
    std::fs::write(path, out).map_err(|source| crate::context::CliError::Io {
        path: path.display().to_string(),
        source,
    })
}

pub fn run(args: &GlobalArgs, samples: &[Sample], opts: &BurstEval) -> CliResult<()> {
    let (n, level, threads) = (opts.n, opts.level, opts.threads);
    if n < 2 {
        return Err(message("--burst needs at least 2 frames"));
    }
    let analyzer = analyzer(args)?;
    let checker = BurstLivenessChecker::new(LivenessPolicy::for_level(level));
    let groups = bursts(samples, n);
    let used: Vec<usize> = groups.iter().flatten().copied().collect();
    let used_samples: Vec<&Sample> = used.iter().map(|&i| &samples[i]).collect();
    let progress = Progress::new("burst liveness: frames", used.len() as u64);
    let observed = parallel_map(&used_samples, threads, &progress, |s| {
        observe(&analyzer, &checker, s)
    });
    progress.finish();
    let mut by_index: BTreeMap<usize, Scored> = BTreeMap::new();
    for (&i, e) in used.iter().zip(observed) {
        by_index.insert(
            i,
            Scored {
                sample: &samples[i],
                evidence: e?,
            },
        );
    }
    if let Some(path) = opts.frames_out {
        write_frames(path, &by_index)?;
    }
    let decided: Vec<(&Sample, BurstDecision)> = groups
        .iter()
        .map(|g| {
            let ev: Vec<FrameEvidence> = g.iter().map(|i| by_index[i].evidence.clone()).collect();
            (&samples[g[0]], checker.decide(&ev, None))
        })
        .collect();

    let single: Vec<(f32, bool, &str)> = by_index
        .values()
        .map(|s| {
            (
                s.evidence.passive.unwrap_or(0.0),
                s.sample.live,
                s.sample.attack_type.as_str(),
            )
        })
        .collect();
    let per_burst = |f: &dyn Fn(&BurstDecision) -> f32| -> Vec<(f32, bool, &str)> {
        decided
            .iter()
            .map(|(s, d)| (f(d), s.live, s.attack_type.as_str()))
            .collect()
    };
    let policy = checker.policy();
    let methods = vec![
        method("MiniFASNet, single frame", 0.5, &single),
        method(
            "passive texture, burst",
            policy.passive_threshold,
            &per_burst(&|d| d.passive.score),
        ),
        method(
            "screen frequency cues",
            0.5,
            &per_burst(&|d| d.scores.screen.unwrap_or(1.0)),
        ),
        method(
            "screen border",
            0.5,
            &per_burst(&|d| d.scores.border.unwrap_or(1.0)),
        ),
        method("glare", 0.5, &per_burst(&|d| d.scores.glare.unwrap_or(1.0))),
        method(
            "parallax (refuses planar)",
            0.5,
            &per_burst(&|d| {
                if d.parallax.verdict == ParallaxVerdict::Planar {
                    0.0
                } else {
                    1.0
                }
            }),
        ),
        method(
            "temporal consistency",
            0.5,
            &per_burst(&|d| f32::from(u8::from(d.temporal.consistent()))),
        ),
        method("fused decision", 0.5, &per_burst(&|d| d.score)),
    ];
    let mut sets: BTreeMap<(String, bool), (usize, usize)> = BTreeMap::new();
    for (s, d) in &decided {
        let e = sets.entry((s.set.clone(), s.live)).or_default();
        e.0 += 1;
        e.1 += usize::from(d.live);
    }
    let live_frames = || by_index.values().filter(|s| s.sample.live);
    let min_diff = |live: bool| {
        decided
            .iter()
            .filter(|(s, _)| s.live == live)
            .filter_map(|(_, d)| d.temporal.min_frame_difference)
            .min_by(f32::total_cmp)
    };
    let crossval = opts.crossval.then(|| {
        let frames: BTreeMap<usize, FrameEvidence> = by_index
            .iter()
            .map(|(&i, s)| (i, s.evidence.clone()))
            .collect();
        super::crossval::run(samples, &frames, &groups, checker.policy())
    });
    let through_sessions = if opts.through_sessions {
        let expected: Vec<BurstDecision> = decided.iter().map(|(_, d)| d.clone()).collect();
        Some(super::session_check::run(
            args, samples, &groups, &expected, level, threads,
        )?)
    } else {
        None
    };
    let report = BurstReport {
        through_sessions,
        burst: n,
        level,
        policy: *policy,
        frames: used.len(),
        live_bursts: decided.iter().filter(|(s, _)| s.live).count(),
        attack_bursts: decided.iter().filter(|(s, _)| !s.live).count(),
        methods,
        sets: sets
            .into_iter()
            .map(|((set, live), (bursts, accepted))| SetReport {
                set,
                live,
                bursts,
                accepted,
                rate_accepted: accepted as f64 / bursts.max(1) as f64,
            })
            .collect(),
        calibration: Calibration {
            live_moire_p99: p99(live_frames()
                .filter_map(|s| s.evidence.screen.map(|c| c.moire))
                .collect()),
            live_high_frequency_p99: p99(live_frames()
                .filter_map(|s| s.evidence.screen.map(|c| c.high_frequency))
                .collect()),
            live_border_p99: p99(live_frames()
                .filter_map(|s| s.evidence.screen.map(|c| c.border))
                .collect()),
            live_glare_p99: p99(live_frames()
                .filter_map(|s| s.evidence.screen.map(|c| c.glare))
                .collect()),
            live_min_frame_difference: min_diff(true),
            attack_min_frame_difference: min_diff(false),
            live_parallax_verdicts: verdict_counts(
                decided.iter().filter(|(s, _)| s.live).map(|(_, d)| d),
            ),
            attack_parallax_verdicts: verdict_counts(
                decided.iter().filter(|(s, _)| !s.live).map(|(_, d)| d),
            ),
        },
        crossval,
    };
    emit(args, &report, human)
}

fn human(r: &BurstReport) -> String {
    let mut out = format!(
        "bursts of {} frames, level {:?}: {} live bursts, {} attack bursts ({} frames)\n",
        r.burst, r.level, r.live_bursts, r.attack_bursts, r.frames
    );
    out.push_str(
        "with the shipped policy (its limits were fitted on the NUAA train split: on that split these rates are in sample)\n",
    );
    out.push_str(&format!(
        "{:<28} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
        "method", "threshold", "APCER", "BPCER", "ACER", "EER", "refused"
    ));
    for m in &r.methods {
        out.push_str(&format!(
            "{:<28} {:>9.3} {:>9} {:>9} {:>9} {:>9} {:>4}/{:<4}\n",
            m.method,
            m.threshold,
            pct(m.apcer),
            pct(m.bpcer),
            pct(m.acer),
            if m.eer.is_nan() {
                "-".into()
            } else {
                pct(m.eer)
            },
            m.live_refused,
            m.n_live
        ));
        for (kind, accepted, total, rate) in &m.apcer_by_type {
            out.push_str(&format!(
                "    APCER {kind}: {accepted}/{total} ({})\n",
                pct(*rate)
            ));
        }
    }
    out.push_str("per set, fused decision:\n");
    for s in &r.sets {
        out.push_str(&format!(
            "  {:<40} {:<6} {:>4} bursts, {:>4} accepted as live ({}), {:>4} refused ({})\n",
            s.set,
            if s.live { "live" } else { "attack" },
            s.bursts,
            s.accepted,
            pct(s.rate_accepted),
            s.bursts - s.accepted,
            pct(1.0 - s.rate_accepted)
        ));
    }
    let c = &r.calibration;
    out.push_str(&format!(
        "calibration: live-frame p99 moire {:.3}, high-frequency {:.3}, border {:.3}, glare {:.4}; smallest consecutive-frame difference live {:?}, attack {:?}\n  parallax verdicts (3-D, planar, undecided): live {:?}, attack {:?}\n",
        c.live_moire_p99,
        c.live_high_frequency_p99,
        c.live_border_p99,
        c.live_glare_p99,
        c.live_min_frame_difference,
        c.attack_min_frame_difference,
        c.live_parallax_verdicts,
        c.attack_parallax_verdicts
    ));
    if let Some(sc) = &r.through_sessions {
        out.push_str(&format!(
            "through capture sessions (the SDK's path): {} of {} bursts decided identically ({} sealed, {} refused as not live); {} live without a usable face for the template; differing: {}\n",
            sc.identical,
            sc.bursts,
            sc.sealed,
            sc.refused,
            sc.live_without_template,
            if sc.differing.is_empty() { "none".to_owned() } else { sc.differing.join(", ") }
        ));
    }
    if let Some(cv) = &r.crossval {
        out.push_str(&super::crossval::human(cv));
    }
    out
}
