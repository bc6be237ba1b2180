//! Out-of-fold figures of the burst liveness layer: every limit fitted on
//! some people (or capture conditions), every rate measured on the others.
//!
//! A limit read off the same frames it is then reported on says nothing
//! about a new person, room or light. Here each fold holds out one person
//! (or one condition: glasses and session), fits the limits on the rest by
//! the same rule that fits the shipped ones (`liveness::fit_screen_limits`), and
//! decides the held-out bursts with them. The rates quoted are pooled over
//! the held-out folds, with the mean and the worst fold beside them.

use std::collections::BTreeMap;

use faceseal_vision::liveness::ParallaxVerdict;
use faceseal_vision::liveness::{
    BurstDecision, BurstLivenessChecker, BurstReason, FrameEvidence, LivenessPolicy, SecurityLevel,
};
use faceseal_vision::liveness::{CUE_BUDGET, FoldRefusals, fit_screen_limits};
use faceseal_vision::liveness::{CueGates, ScreenLimits};
use serde::Serialize;

use super::burst::Sample;
use crate::output::pct;

/// A cue (or the fused decision) and when it refuses a burst.
pub struct Cue {
    pub name: &'static str,
    /// The gate that puts it in force, for the cues that may be left out.
    pub gate: Option<fn(&mut CueGates) -> &mut bool>,
    pub refuses: fn(&BurstDecision) -> bool,
}

pub const CUES: [Cue; 6] = [
    Cue {
        name: "passive texture",
        gate: None,
        refuses: |d| d.reasons.contains(&BurstReason::PassiveSpoof),
    },
    Cue {
        name: "screen frequency cues",
        gate: Some(|g| &mut g.frequency),
        refuses: |d| d.scores.screen.is_some_and(|s| s < 0.5),
    },
    Cue {
        name: "screen border",
        gate: Some(|g| &mut g.border),
        refuses: |d| d.scores.border.is_some_and(|s| s < 0.5),
    },
    Cue {
        name: "glare",
        gate: Some(|g| &mut g.glare),
        refuses: |d| d.scores.glare.is_some_and(|s| s < 0.5),
    },
    Cue {
        name: "parallax (planar)",
        gate: Some(|g| &mut g.planar),
        refuses: |d| d.parallax.verdict == ParallaxVerdict::Planar,
    },
    Cue {
        name: "temporal consistency",
        gate: None,
        refuses: |d| !d.temporal.consistent(),
    },
];

/// The fused decision is also reported at every level.
const LEVELS: [(&str, SecurityLevel); 3] = [
    ("fused decision, Basic", SecurityLevel::Basic),
    ("fused decision, Standard", SecurityLevel::Standard),
    ("fused decision, Strict", SecurityLevel::Strict),
];

/// One cue's out-of-fold rates under one way of folding.
#[derive(Serialize, Clone)]
pub struct CueFolds {
    pub cue: &'static str,
    /// Live bursts refused, pooled over the held-out folds.
    pub bpcer: f64,
    pub bpcer_mean: f64,
    pub bpcer_worst: f64,
    pub live_refused: usize,
    pub live: usize,
    /// Attack bursts accepted, pooled.
    pub apcer: f64,
    pub apcer_mean: f64,
    pub apcer_worst: f64,
    pub attacks_accepted: usize,
    pub attacks: usize,
    /// Live refusals fold by fold (fold name, refused, live).
    pub folds: Vec<(String, usize, usize)>,
    /// For a cue that may be left out of force: whether its live refusals
    /// stay within the cue budget.
    pub within_budget: Option<bool>,
}

/// Every cue under one way of folding.
#[derive(Serialize, Clone)]
pub struct Scheme {
    pub name: &'static str,
    pub folds: usize,
    pub cues: Vec<CueFolds>,
}

/// The cross-validation report.
#[derive(Serialize)]
pub struct CrossValReport {
    pub schemes: Vec<Scheme>,
    /// Limits fitted on the whole set by the same rule, and those shipped.
    pub fitted_limits: Option<ScreenLimits>,
    pub shipped_limits: ScreenLimits,
    /// Gates the budget allows (within budget under every scheme), and those
    /// shipped.
    pub gates_within_budget: CueGates,
    pub shipped_gates: CueGates,
}

/// What puts a sample in a fold: its person, or its condition.
type FoldKey = fn(&Sample) -> &str;

/// Per held-out fold: (live refused, live, attacks accepted, attacks).
type Tally = BTreeMap<String, [usize; 4]>;

fn live_cues<'a>(
    frames: impl Iterator<Item = (&'a Sample, &'a FrameEvidence)>,
) -> Vec<faceseal_vision::liveness::ScreenCues> {
    frames
        .filter(|(s, _)| s.live)
        .filter_map(|(_, e)| e.screen)
        .collect()
}

/// Runs both schemes. `frames` maps a sample index to its evidence;
/// `bursts` are sample indices in capture order.
pub fn run(
    samples: &[Sample],
    frames: &BTreeMap<usize, FrameEvidence>,
    bursts: &[Vec<usize>],
    base: &LivenessPolicy,
) -> CrossValReport {
    let schemes: [(&'static str, FoldKey); 2] = [
        ("leave one person out", |s| &s.person),
        ("leave one condition out", |s| &s.condition),
    ];
    let mut out = Vec::new();
    for (name, key) in schemes {
        let mut tallies: Vec<Tally> = vec![Tally::new(); CUES.len() + LEVELS.len()];
        let fold_names: std::collections::BTreeSet<&str> =
            bursts.iter().map(|b| key(&samples[b[0]])).collect();
        for fold in &fold_names {
            let training = frames
                .iter()
                .filter(|(i, _)| key(&samples[**i]) != *fold)
                .map(|(i, e)| (&samples[*i], e));
            let mut policy = *base;
            if let Some(limits) = fit_screen_limits(&live_cues(training)) {
                policy.screen = limits;
            }
            let checker = BurstLivenessChecker::new(policy);
            let at_levels: Vec<BurstLivenessChecker> = LEVELS
                .iter()
                .map(|&(_, level)| BurstLivenessChecker::new(LivenessPolicy { level, ..policy }))
                .collect();
            for b in bursts.iter().filter(|b| key(&samples[b[0]]) == *fold) {
                let ev: Vec<FrameEvidence> = b.iter().map(|i| frames[i].clone()).collect();
                let d = checker.decide(&ev, None);
                let mut refusals: Vec<bool> = CUES.iter().map(|c| (c.refuses)(&d)).collect();
                refusals.extend(at_levels.iter().map(|c| !c.decide(&ev, None).live));
                let live = samples[b[0]].live;
                for (refused, tally) in refusals.into_iter().zip(&mut tallies) {
                    let t = tally.entry((*fold).to_owned()).or_default();
                    if live {
                        t[0] += usize::from(refused);
                        t[1] += 1;
                    } else {
                        t[2] += usize::from(!refused);
                        t[3] += 1;
                    }
                }
            }
        }
        let names = CUES
            .iter()
            .map(|c| (c.name, c.gate.is_some()))
            .chain(LEVELS.iter().map(|&(name, _)| (name, false)));
        let cues = names
            .zip(&tallies)
            .map(|((name, gated), t)| summarise(name, gated, t))
            .collect();
        out.push(Scheme {
            name,
            folds: fold_names.len(),
            cues,
        });
    }
    let mut gates_within_budget = base.gates;
    for (i, cue) in CUES.iter().enumerate() {
        if let Some(gate) = cue.gate {
            *gate(&mut gates_within_budget) =
                out.iter().all(|s| s.cues[i].within_budget == Some(true));
        }
    }
    let all = frames.iter().map(|(i, e)| (&samples[*i], e));
    CrossValReport {
        schemes: out,
        fitted_limits: fit_screen_limits(&live_cues(all)),
        shipped_limits: base.screen,
        gates_within_budget,
        shipped_gates: base.gates,
    }
}

fn summarise(cue: &'static str, gated: bool, t: &Tally) -> CueFolds {
    let sum = |k: usize| t.values().map(|v| v[k]).sum::<usize>();
    let rate = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let live_rates: Vec<f64> = t
        .values()
        .filter(|v| v[1] > 0)
        .map(|v| rate(v[0], v[1]))
        .collect();
    let attack_rates: Vec<f64> = t
        .values()
        .filter(|v| v[3] > 0)
        .map(|v| rate(v[2], v[3]))
        .collect();
    let mean = |v: &[f64]| {
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    let worst = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let refusals: Vec<FoldRefusals> = t
        .values()
        .map(|v| FoldRefusals {
            refused: v[0],
            live: v[1],
        })
        .collect();
    CueFolds {
        cue,
        bpcer: rate(sum(0), sum(1)),
        bpcer_mean: mean(&live_rates),
        bpcer_worst: worst(&live_rates),
        live_refused: sum(0),
        live: sum(1),
        apcer: rate(sum(2), sum(3)),
        apcer_mean: mean(&attack_rates),
        apcer_worst: worst(&attack_rates),
        attacks_accepted: sum(2),
        attacks: sum(3),
        folds: t.iter().map(|(k, v)| (k.clone(), v[0], v[1])).collect(),
        within_budget: gated.then(|| CUE_BUDGET.holds(&refusals)),
    }
}

/// The report as text.
pub fn human(r: &CrossValReport) -> String {
    let mut out = String::from(
        "out of fold (limits fitted on the other folds; rates pooled, mean and worst fold):\n",
    );
    for s in &r.schemes {
        out.push_str(&format!("  {} ({} folds)\n", s.name, s.folds));
        out.push_str(&format!(
            "    {:<24} {:>22} {:>8} {:>8} {:>22} {:>8} {:>8}  {}\n",
            "cue", "BPCER", "mean", "worst", "APCER", "mean", "worst", "live budget"
        ));
        for c in &s.cues {
            out.push_str(&format!(
                "    {:<24} {:>9} ({:>4}/{:<4}) {:>8} {:>8} {:>9} ({:>4}/{:<4}) {:>8} {:>8}  {}\n",
                c.cue,
                pct(c.bpcer),
                c.live_refused,
                c.live,
                pct(c.bpcer_mean),
                pct(c.bpcer_worst),
                pct(c.apcer),
                c.attacks_accepted,
                c.attacks,
                pct(c.apcer_mean),
                pct(c.apcer_worst),
                match c.within_budget {
                    Some(true) => "within",
                    Some(false) => "over: not in force",
                    None => "-",
                }
            ));
        }
    }
    if let Some(l) = &r.fitted_limits {
        out.push_str(&format!(
            "  limits fitted on every fold: moire {:.3}, high frequency {:.4}, border {:.3}, glare {:.4}\n",
            l.max_moire, l.max_high_frequency, l.max_border, l.max_glare
        ));
    }
    let l = &r.shipped_limits;
    out.push_str(&format!(
        "  limits shipped:              moire {:.3}, high frequency {:.4}, border {:.3}, glare {:.4}\n",
        l.max_moire, l.max_high_frequency, l.max_border, l.max_glare
    ));
    let g = |g: &CueGates| {
        format!(
            "frequency {}, border {}, glare {}, planar {}",
            g.frequency, g.border, g.glare, g.planar
        )
    };
    out.push_str(&format!(
        "  gates within budget: {}\n  gates shipped:       {}\n",
        g(&r.gates_within_budget),
        g(&r.shipped_gates)
    ));
    out
}
