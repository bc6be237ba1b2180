//! `faceseal bench --burst N`: latency of the multi-frame liveness decision.
//!
//! Frames are observed as they arrive (detection, texture models, pose,
//! frequency cues), so what the user waits for after the last frame is that
//! frame's observation plus the fusion. Both are timed on one thread, with
//! the frames already decoded as a camera delivers them.

use std::time::Instant;

use faceseal_core::RgbFrame;
use faceseal_eval::metrics::median_p90;
use faceseal_vision::liveness::{BurstLivenessChecker, TimedFrame};
use serde::Serialize;

use crate::GlobalArgs;
use crate::context::{CliResult, message};
use crate::output::emit;

#[derive(Serialize, Clone, Copy)]
struct Figures {
    median_ms: f64,
    p90_ms: f64,
}

#[derive(Serialize)]
struct BurstBenchReport {
    burst_frames: usize,
    bursts: usize,
    threads: usize,
    /// Observation of one frame (detect, two texture models, cues).
    observe_frame: Figures,
    /// Fusion of a whole burst's observations.
    decide: Figures,
    /// From the last frame's arrival to the decision: its observation + fusion.
    latency_after_last_frame: Figures,
}

fn figures(v: &[f64]) -> Figures {
    let (median_ms, p90_ms) = median_p90(v);
    Figures { median_ms, p90_ms }
}

pub fn run(
    args: &GlobalArgs,
    analyzer: &faceseal_core::FaceAnalyzer,
    frames: &[RgbFrame],
    n: usize,
    rounds: usize,
) -> CliResult<()> {
    if n < 2 || frames.len() < n {
        return Err(message(format!(
            "--burst {n} needs at least 2 frames per burst and {n} pictures"
        )));
    }
    let checker = BurstLivenessChecker::default();
    let (mut observe, mut decide, mut latency) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        for burst in frames.chunks_exact(n) {
            let mut evidence = Vec::with_capacity(n);
            let mut last = 0.0;
            for (i, frame) in burst.iter().enumerate() {
                let clock = Instant::now();
                evidence.push(checker.observe(
                    analyzer.burst_models(),
                    TimedFrame {
                        frame,
                        timestamp_ms: i as u64 * 33,
                    },
                )?);
                last = ms(clock);
                observe.push(last);
            }
            let clock = Instant::now();
            let decision = checker.decide(&evidence, None);
            let d = ms(clock);
            std::hint::black_box(decision);
            decide.push(d);
            latency.push(last + d);
        }
    }
    let report = BurstBenchReport {
        burst_frames: n,
        bursts: decide.len(),
        threads: 1,
        observe_frame: figures(&observe),
        decide: figures(&decide),
        latency_after_last_frame: figures(&latency),
    };
    emit(args, &report, |r| {
        format!(
            "{} bursts of {} frames, one thread\n  observe one frame        median {:7.2} ms   p90 {:7.2} ms\n  fuse the burst           median {:7.2} ms   p90 {:7.2} ms\n  after the last frame     median {:7.2} ms   p90 {:7.2} ms\n",
            r.bursts,
            r.burst_frames,
            r.observe_frame.median_ms,
            r.observe_frame.p90_ms,
            r.decide.median_ms,
            r.decide.p90_ms,
            r.latency_after_last_frame.median_ms,
            r.latency_after_last_frame.p90_ms
        )
    })
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}
