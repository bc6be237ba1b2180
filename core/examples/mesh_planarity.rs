//! Does the dense mesh tell a flat print from a head, out of fold?
//!
//! On the NUAA train split, each session's frames (in frame order) form
//! non-overlapping bursts of five, as the CLI's burst evaluation groups
//! them. Every frame gets the detector's largest face and its mesh; every
//! burst gets the mesh planarity statistic (median homography residual over
//! frame pairs that turned enough), the same statistic on the detector's
//! five landmarks over the same pairs, and the current parallax cue.
//!
//! A burst is refused as planar when its statistic is below a threshold
//! fitted on the other folds (a low percentile of their live bursts); the
//! figures are pooled, per fold and per attack type, leaving one person out
//! and leaving one condition (glasses + session) out.
//!
//! Usage: `cargo run --release -p faceseal-core --example mesh_planarity -- NUAA_DIR [--json]`
//! Models come from the project's `models/` and `FACESEAL_MODEL_DIR`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use faceseal_core::{Landmarks, ModelKind, ModelLocator};
use faceseal_eval::metrics::equal_error_rate;
use faceseal_vision::detect::{DetectorConfig, FaceDetector, largest_face};
use faceseal_vision::input::{InputLimits, decode_image};
use faceseal_vision::liveness::{ParallaxLimits, ParallaxVerdict, measure_parallax};
use faceseal_vision::mesh::{FaceMesh, MeshPoint, PlanarityLimits, head_pose, planarity};
use serde::Serialize;

const BURST: usize = 5;
/// Frames timed for the per-frame cost.
const TIMED_FRAMES: usize = 100;

struct Frame {
    five: Landmarks,
    mesh: Vec<MeshPoint>,
    yaw: f32,
}

struct Burst {
    live: bool,
    person: String,
    condition: String,
    attack_type: &'static str,
    /// Median residual over moving pairs: mesh, then five landmarks.
    mesh_stat: Option<f32>,
    five_stat: Option<f32>,
    moving_pairs: usize,
    max_rotation_deg: f32,
    yaw_range: f32,
    parallax_planar: bool,
    parallax_score: f32,
}

fn attack_type(position: &str) -> &'static str {
    match position {
        "00" => "held",
        "01" => "up-down rotate",
        "02" => "up-down twist",
        "03" => "left-right rotate",
        "04" => "left-right twist",
        _ => "other",
    }
}

fn median(mut v: Vec<f32>) -> Option<f32> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    Some(v[(v.len() - 1) / 2])
}

fn nearest_rank(sorted: &[f32], q: f64) -> f32 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn load_list(dir: &Path, list: &str, sub: &str) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(dir.join(list))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join(list).display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| dir.join(sub).join(l))
        .collect()
}

fn measure_burst(frames: &[&Frame], limits: &PlanarityLimits) -> (Vec<f32>, Vec<f32>, f32) {
    let mut mesh = Vec::new();
    let mut five = Vec::new();
    let mut max_rotation = 0f32;
    let to3 = |l: &Landmarks| l.to_array().map(|p| [p.x, p.y, 0.0]);
    for (i, a) in frames.iter().enumerate() {
        for b in &frames[i + 1..] {
            let Some(m) = planarity(&a.mesh, &b.mesh) else {
                continue;
            };
            max_rotation = max_rotation.max(m.rotation_deg);
            if m.rotation_deg < limits.min_rotation_deg {
                continue;
            }
            mesh.push(m.residual);
            if let Some(f) = planarity(&to3(&a.five), &to3(&b.five)) {
                five.push(f.residual);
            }
        }
    }
    (mesh, five, max_rotation)
}

#[derive(Serialize, Default, Clone)]
struct Rates {
    live: usize,
    live_refused: usize,
    attacks: usize,
    attacks_passed: usize,
    bpcer: f64,
    apcer: f64,
}

impl Rates {
    fn finish(mut self) -> Self {
        self.bpcer = self.live_refused as f64 / self.live.max(1) as f64;
        self.apcer = self.attacks_passed as f64 / self.attacks.max(1) as f64;
        self
    }
    fn summary(&self) -> String {
        format!(
            "BPCER {} ({}/{}) APCER {} ({}/{})",
            pct(self.bpcer),
            self.live_refused,
            self.live,
            pct(self.apcer),
            self.attacks_passed,
            self.attacks
        )
    }
    fn add(&mut self, o: &Rates) {
        self.live += o.live;
        self.live_refused += o.live_refused;
        self.attacks += o.attacks;
        self.attacks_passed += o.attacks_passed;
    }
}

#[derive(Serialize)]
struct FoldedReport {
    cue: &'static str,
    protocol: &'static str,
    rule: String,
    pooled: Rates,
    mean_bpcer: f64,
    mean_apcer: f64,
    worst_bpcer: f64,
    worst_apcer: f64,
    folds: Vec<(String, f32, Rates)>,
    /// Pooled APCER per attack type: (type, passed, total).
    apcer_by_type: Vec<(String, usize, usize)>,
}

/// A burst is refused (called planar) when it turned enough and its
/// statistic is below the threshold.
fn refused(stat: Option<f32>, threshold: f32) -> bool {
    stat.is_some_and(|s| s < threshold)
}

fn folded(
    bursts: &[Burst],
    cue: &'static str,
    stat: &dyn Fn(&Burst) -> Option<f32>,
    protocol: &'static str,
    key: &dyn Fn(&Burst) -> String,
    q: f64,
) -> FoldedReport {
    let keys: std::collections::BTreeSet<String> = bursts.iter().map(key).collect();
    let mut folds = Vec::new();
    let mut pooled = Rates::default();
    let mut by_type: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for k in keys {
        let mut train: Vec<f32> = bursts
            .iter()
            .filter(|b| key(b) != k && b.live)
            .filter_map(stat)
            .collect();
        train.sort_by(f32::total_cmp);
        // No live training burst turned: nothing can be refused.
        let threshold = if train.is_empty() {
            f32::NEG_INFINITY
        } else {
            nearest_rank(&train, q)
        };
        let mut r = Rates::default();
        for b in bursts.iter().filter(|b| key(b) == k) {
            let refuse = refused(stat(b), threshold);
            if b.live {
                r.live += 1;
                r.live_refused += usize::from(refuse);
            } else {
                r.attacks += 1;
                r.attacks_passed += usize::from(!refuse);
                let e = by_type.entry(b.attack_type.to_owned()).or_default();
                e.0 += usize::from(!refuse);
                e.1 += 1;
            }
        }
        pooled.add(&r);
        folds.push((k, threshold, r.finish()));
    }
    let live_folds: Vec<&Rates> = folds.iter().map(|f| &f.2).filter(|r| r.live > 0).collect();
    let attack_folds: Vec<&Rates> = folds
        .iter()
        .map(|f| &f.2)
        .filter(|r| r.attacks > 0)
        .collect();
    FoldedReport {
        cue,
        protocol,
        rule: format!(
            "threshold = live p{} of the training folds",
            (q * 100.0).round()
        ),
        pooled: pooled.finish(),
        mean_bpcer: live_folds.iter().map(|r| r.bpcer).sum::<f64>()
            / live_folds.len().max(1) as f64,
        mean_apcer: attack_folds.iter().map(|r| r.apcer).sum::<f64>()
            / attack_folds.len().max(1) as f64,
        worst_bpcer: live_folds.iter().map(|r| r.bpcer).fold(0.0, f64::max),
        worst_apcer: attack_folds.iter().map(|r| r.apcer).fold(0.0, f64::max),
        folds,
        apcer_by_type: by_type.into_iter().map(|(t, (p, n))| (t, p, n)).collect(),
    }
}

/// The current parallax cue's own verdict, per protocol fold (it has fixed
/// limits, so nothing is fitted).
fn parallax_rates(bursts: &[Burst]) -> (Rates, Vec<(String, usize, usize)>) {
    let mut r = Rates::default();
    let mut by_type: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for b in bursts {
        if b.live {
            r.live += 1;
            r.live_refused += usize::from(b.parallax_planar);
        } else {
            r.attacks += 1;
            r.attacks_passed += usize::from(!b.parallax_planar);
            let e = by_type.entry(b.attack_type.to_owned()).or_default();
            e.0 += usize::from(!b.parallax_planar);
            e.1 += 1;
        }
    }
    (
        r.finish(),
        by_type.into_iter().map(|(t, (p, n))| (t, p, n)).collect(),
    )
}

#[derive(Serialize)]
struct Separation {
    cue: &'static str,
    /// EER over bursts that turned enough (score: the statistic).
    eer_moving: f64,
    live_moving: usize,
    attacks_moving: usize,
    /// Per attack type: (type, EER of that type's moving bursts vs live, n).
    eer_by_type: Vec<(String, f64, usize)>,
}

fn separation(
    bursts: &[Burst],
    cue: &'static str,
    stat: &dyn Fn(&Burst) -> Option<f32>,
) -> Separation {
    let live: Vec<f32> = bursts.iter().filter(|b| b.live).filter_map(stat).collect();
    let attacks: Vec<f32> = bursts.iter().filter(|b| !b.live).filter_map(stat).collect();
    let types: std::collections::BTreeSet<&str> = bursts
        .iter()
        .filter(|b| !b.live)
        .map(|b| b.attack_type)
        .collect();
    let eer_by_type = types
        .into_iter()
        .map(|t| {
            let a: Vec<f32> = bursts
                .iter()
                .filter(|b| !b.live && b.attack_type == t)
                .filter_map(stat)
                .collect();
            (t.to_owned(), equal_error_rate(&live, &a).0, a.len())
        })
        .collect();
    Separation {
        cue,
        eer_moving: equal_error_rate(&live, &attacks).0,
        live_moving: live.len(),
        attacks_moving: attacks.len(),
        eer_by_type,
    }
}

#[derive(Serialize)]
struct ClassSummary {
    class: String,
    bursts: usize,
    moving: usize,
    median_mesh_stat: Option<f32>,
    median_five_stat: Option<f32>,
    median_max_rotation_deg: Option<f32>,
    median_yaw_range_deg: Option<f32>,
    parallax_planar: usize,
}

#[derive(Serialize)]
struct Report {
    frames: usize,
    frames_with_face: usize,
    bursts: usize,
    min_rotation_deg: f32,
    detector_ms_median: f64,
    mesh_ms_median: f64,
    min_mesh_face_score: f32,
    classes: Vec<ClassSummary>,
    separation: Vec<Separation>,
    out_of_fold: Vec<FoldedReport>,
    parallax_cue: Rates,
    parallax_cue_by_type: Vec<(String, usize, usize)>,
    parallax_cue_eer: f64,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let Some(dir) = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
    else {
        eprintln!("usage: mesh_planarity NUAA_DIR [--json]");
        std::process::exit(2);
    };
    let bundled = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");
    let locator = ModelLocator::from_env().with_dir(bundled);
    let detector = FaceDetector::new(
        &locator.read(ModelKind::Detector).expect("detector model"),
        DetectorConfig::default(),
    )
    .expect("detector loads");
    let mesher = FaceMesh::load(&locator).expect("mesh model loads");
    mesher.warm_up().expect("mesh plan");

    let mut samples: Vec<(PathBuf, bool)> = Vec::new();
    samples.extend(
        load_list(&dir, "clientraw_train.txt", "ClientRaw")
            .into_iter()
            .map(|p| (p, true)),
    );
    samples.extend(
        load_list(&dir, "imposterraw_train.txt", "ImposterRaw")
            .into_iter()
            .map(|p| (p, false)),
    );

    // Sessions: (live, all fields but the frame number) -> (frame, sample).
    let mut sessions: BTreeMap<(bool, String), Vec<(u64, usize)>> = BTreeMap::new();
    for (i, (p, live)) in samples.iter().enumerate() {
        let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let parts: Vec<&str> = stem.split('_').collect();
        if parts.len() != 5 {
            continue;
        }
        let frame: u64 = parts[4].parse().unwrap_or(0);
        sessions
            .entry((*live, parts[..4].join("_")))
            .or_default()
            .push((frame, i));
    }

    let mut frames: Vec<Option<Frame>> = Vec::with_capacity(samples.len());
    let (mut det_ms, mut mesh_ms) = (Vec::new(), Vec::new());
    let mut min_face_score = f32::INFINITY;
    for (n, (path, _)) in samples.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let picture = decode_image(&bytes, &InputLimits::default()).expect("decodes");
        let t0 = Instant::now();
        let faces = detector.detect(&picture).expect("detect");
        let t1 = Instant::now();
        let Some(face) = largest_face(&faces) else {
            frames.push(None);
            continue;
        };
        let mesh = mesher.landmarks(&picture, face).expect("mesh");
        let t2 = Instant::now();
        if det_ms.len() < TIMED_FRAMES {
            det_ms.push((t1 - t0).as_secs_f64() * 1e3);
            mesh_ms.push((t2 - t1).as_secs_f64() * 1e3);
        }
        min_face_score = min_face_score.min(mesh.face_score);
        let yaw = head_pose(&mesh.points).map_or(0.0, |p| p.yaw);
        frames.push(Some(Frame {
            five: face.landmarks,
            mesh: mesh.points,
            yaw,
        }));
        if !json && n % 100 == 0 {
            eprintln!("{n}/{} frames", samples.len());
        }
    }

    let limits = PlanarityLimits::default();
    let mut bursts = Vec::new();
    for ((live, session), mut members) in sessions {
        members.sort();
        let fields: Vec<&str> = session.split('_').collect();
        for chunk in members.chunks_exact(BURST) {
            let got: Vec<&Frame> = chunk
                .iter()
                .filter_map(|&(_, i)| frames[i].as_ref())
                .collect();
            if got.len() < 2 {
                continue;
            }
            let (mesh, five, max_rotation) = measure_burst(&got, &limits);
            let track: Vec<Landmarks> = got.iter().map(|f| f.five).collect();
            let parallax = measure_parallax(&track, &ParallaxLimits::default());
            let yaws = got.iter().map(|f| f.yaw);
            let yaw_range = yaws.clone().fold(f32::MIN, f32::max) - yaws.fold(f32::MAX, f32::min);
            bursts.push(Burst {
                live,
                person: fields[0].to_owned(),
                condition: format!("glasses {} session {}", fields[1], fields[3]),
                attack_type: if live { "live" } else { attack_type(fields[2]) },
                moving_pairs: mesh.len(),
                mesh_stat: median(mesh),
                five_stat: median(five),
                max_rotation_deg: max_rotation,
                yaw_range,
                parallax_planar: parallax.verdict == ParallaxVerdict::Planar,
                parallax_score: parallax.parallax,
            });
        }
    }

    let mesh_stat = |b: &Burst| b.mesh_stat;
    let five_stat = |b: &Burst| b.five_stat;
    let person = |b: &Burst| b.person.clone();
    let condition = |b: &Burst| b.condition.clone();
    let mut out_of_fold = Vec::new();
    for q in [0.01, 0.05] {
        for (protocol, key) in [
            ("leave one person out", &person as &dyn Fn(&Burst) -> String),
            ("leave one condition out", &condition),
        ] {
            out_of_fold.push(folded(
                &bursts,
                "mesh (468 points)",
                &mesh_stat,
                protocol,
                key,
                q,
            ));
            out_of_fold.push(folded(
                &bursts,
                "five landmarks",
                &five_stat,
                protocol,
                key,
                q,
            ));
        }
    }
    let classes = [
        "live",
        "held",
        "up-down rotate",
        "up-down twist",
        "left-right rotate",
        "left-right twist",
    ]
    .iter()
    .map(|&c| {
        let of: Vec<&Burst> = bursts.iter().filter(|b| b.attack_type == c).collect();
        ClassSummary {
            class: c.to_owned(),
            bursts: of.len(),
            moving: of.iter().filter(|b| b.moving_pairs > 0).count(),
            median_mesh_stat: median(of.iter().filter_map(|b| b.mesh_stat).collect()),
            median_five_stat: median(of.iter().filter_map(|b| b.five_stat).collect()),
            median_max_rotation_deg: median(of.iter().map(|b| b.max_rotation_deg).collect()),
            median_yaw_range_deg: median(of.iter().map(|b| b.yaw_range).collect()),
            parallax_planar: of.iter().filter(|b| b.parallax_planar).count(),
        }
    })
    .collect();
    let (parallax_cue, parallax_cue_by_type) = parallax_rates(&bursts);
    let live_p: Vec<f32> = bursts
        .iter()
        .filter(|b| b.live)
        .map(|b| b.parallax_score)
        .collect();
    let spoof_p: Vec<f32> = bursts
        .iter()
        .filter(|b| !b.live)
        .map(|b| b.parallax_score)
        .collect();
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let report = Report {
        frames: samples.len(),
        frames_with_face: frames.iter().filter(|f| f.is_some()).count(),
        bursts: bursts.len(),
        min_rotation_deg: limits.min_rotation_deg,
        detector_ms_median: med(&mut det_ms),
        mesh_ms_median: med(&mut mesh_ms),
        min_mesh_face_score: min_face_score,
        classes,
        separation: vec![
            separation(&bursts, "mesh (468 points)", &mesh_stat),
            separation(&bursts, "five landmarks", &five_stat),
        ],
        out_of_fold,
        parallax_cue,
        parallax_cue_by_type,
        parallax_cue_eer: equal_error_rate(&live_p, &spoof_p).0,
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("serialises")
        );
    } else {
        print_text(&report);
    }
}

/// "type passed/total" for each attack type.
fn passed_by_type(by_type: &[(String, usize, usize)]) -> String {
    let parts: Vec<String> = by_type
        .iter()
        .map(|(t, p, n)| format!("{t} {p}/{n}"))
        .collect();
    parts.join(", ")
}

fn pct(v: f64) -> String {
    format!("{:.1}%", 100.0 * v)
}

fn print_text(r: &Report) {
    println!(
        "NUAA train: {} frames ({} with a face), {} bursts of {BURST}; pairs used when the mesh turned >= {} deg",
        r.frames, r.frames_with_face, r.bursts, r.min_rotation_deg
    );
    println!(
        "per frame (release, one thread, median of {TIMED_FRAMES}): detector {:.1} ms, mesh {:.1} ms (crop + network + mapping); lowest mesh face score {:.3}",
        r.detector_ms_median, r.mesh_ms_median, r.min_mesh_face_score
    );
    println!(
        "\nclass               bursts moving  mesh-stat  five-stat  max-rot  yaw-range  parallax-planar"
    );
    for c in &r.classes {
        let f = |v: Option<f32>| v.map_or("-".to_owned(), |v| format!("{v:.4}"));
        let d = |v: Option<f32>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
        println!(
            "{:<19} {:>6} {:>6} {:>10} {:>10} {:>8} {:>10} {:>8}",
            c.class,
            c.bursts,
            c.moving,
            f(c.median_mesh_stat),
            f(c.median_five_stat),
            d(c.median_max_rotation_deg),
            d(c.median_yaw_range_deg),
            c.parallax_planar
        );
    }
    println!("\nseparation (EER over bursts that turned, statistic as the live score):");
    for s in &r.separation {
        let by: Vec<String> = s
            .eer_by_type
            .iter()
            .map(|(t, e, n)| format!("{t} {} (n={n})", pct(*e)))
            .collect();
        println!(
            "  {:<18} EER {} (live {}, prints {}); per type: {}",
            s.cue,
            pct(s.eer_moving),
            s.live_moving,
            s.attacks_moving,
            by.join(", ")
        );
    }
    println!(
        "  current parallax cue score: EER {} over all bursts",
        pct(r.parallax_cue_eer)
    );
    println!(
        "\nout of fold (refused = turned and statistic below the threshold fitted on the other folds):"
    );
    for f in &r.out_of_fold {
        println!(
            "  {:<18} {:<24} {}: pooled {}; mean BPCER {} APCER {}; worst BPCER {} APCER {}; prints passed by type: {}",
            f.cue,
            f.protocol,
            f.rule,
            f.pooled.summary(),
            pct(f.mean_bpcer),
            pct(f.mean_apcer),
            pct(f.worst_bpcer),
            pct(f.worst_apcer),
            passed_by_type(&f.apcer_by_type)
        );
    }
    println!(
        "  current parallax cue (fixed limits): {}; prints passed by type: {}",
        r.parallax_cue.summary(),
        passed_by_type(&r.parallax_cue_by_type)
    );
}
