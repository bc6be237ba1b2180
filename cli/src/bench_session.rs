//! `faceseal bench --session N`: a capture session as an app runs it.
//!
//! An engine per worker count asked for (`--workers 1,2`: one thread, then
//! two), each with a throwaway tenant key and template secret, and bursts of
//! N consecutive pictures pushed as a camera would deliver them (raw RGB,
//! timed at 20 fps). Every burst runs on each engine in turn, so the worker
//! counts see the same frames and the same machine load. Timed: each push
//! (the frame's whole analysis through the engine's queue) and `finish` (the
//! burst decision, embedding of the best chips, protection and sealing); the
//! latency a user waits after the last frame is that frame's push plus
//! `finish`. With more workers, `finish` embeds the chips and their mirrors
//! side by side. A burst the liveness layer refuses is timed too (it ends at
//! the decision) and counted apart.

use std::sync::Arc;
use std::time::{Duration, Instant};

use faceseal_core::RgbFrame;
use faceseal_core::engine::{
    CaptureError, CaptureSessionConfig, Engine, FrameInput, RequestOptions,
};
use faceseal_core::seal::{self, ChallengeNonce, Purpose};
use faceseal_eval::metrics::median_p90;
use faceseal_vision::input::{RawFrame, RawPixelFormat, Rotation};
use serde::Serialize;

use crate::GlobalArgs;
use crate::context::{self, CliResult, message};
use crate::output::emit;
use crate::progress::Progress;

#[derive(Serialize, Clone, Copy)]
struct Figures {
    median_ms: f64,
    p90_ms: f64,
}

#[derive(Serialize)]
struct WorkerFigures {
    workers: usize,
    /// Sessions the liveness layer refused (timed to the decision).
    refused: usize,
    /// One `push_frame`: queue, decode of the raw buffer, detection,
    /// texture models, cues, quality and alignment.
    push_frame: Figures,
    /// `finish` of a live burst: decision, embedding, protection, sealing.
    finish_sealed: Figures,
    /// From the last frame's arrival to the sealed envelope: its push + finish.
    last_frame_to_envelope: Figures,
    /// Median last-frame-to-envelope latency over the first worker count's.
    latency_ratio: f64,
}

#[derive(Serialize)]
struct SessionBenchReport {
    burst_frames: usize,
    sessions: usize,
    runs: Vec<WorkerFigures>,
}

/// What one engine's sessions measured.
#[derive(Default)]
struct Samples {
    push: Vec<f64>,
    finish: Vec<f64>,
    latency: Vec<f64>,
    refused: usize,
}

fn figures(v: &[f64]) -> Figures {
    let (median_ms, p90_ms) = median_p90(v);
    Figures { median_ms, p90_ms }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn raw(frame: &RgbFrame) -> FrameInput {
    FrameInput::raw(
        &RawFrame {
            data: frame.as_rgb(),
            width: frame.width(),
            height: frame.height(),
            stride: frame.width() as usize * 3,
            format: RawPixelFormat::Rgb,
        },
        Rotation::None,
    )
}

pub fn run(
    args: &GlobalArgs,
    frames: &[RgbFrame],
    n: usize,
    rounds: usize,
    workers: &[usize],
) -> CliResult<()> {
    if n < 2 || frames.len() < n {
        return Err(message(format!(
            "--session {n} needs at least 2 frames per burst and {n} pictures"
        )));
    }
    let engines = workers
        .iter()
        .map(|&w| context::throwaway_engine(args, w, Duration::from_secs(60)))
        .collect::<CliResult<Vec<_>>>()?;
    let mut samples: Vec<Samples> = engines.iter().map(|_| Samples::default()).collect();
    let sessions = frames.len() / n * rounds.max(1);
    let progress = Progress::new("bench", sessions as u64);
    // The first session builds the plans for the frame size: not timed.
    for round in 0..=rounds.max(1) {
        for burst in frames
            .chunks_exact(n)
            .take(if round == 0 { 1 } else { usize::MAX })
        {
            for (engine, samples) in engines.iter().zip(samples.iter_mut()) {
                let timed = session(engine, burst)?;
                if round > 0 {
                    samples.add(timed);
                }
            }
            if round > 0 {
                progress.tick();
            }
        }
    }
    progress.finish();
    let mut runs = Vec::new();
    for (&workers, samples) in workers.iter().zip(&samples) {
        if samples.finish.is_empty() {
            return Err(message("no burst was live: nothing was sealed to time"));
        }
        let latency = figures(&samples.latency);
        let first = runs.first().map_or(latency.median_ms, |r: &WorkerFigures| {
            r.last_frame_to_envelope.median_ms
        });
        runs.push(WorkerFigures {
            workers,
            refused: samples.refused,
            push_frame: figures(&samples.push),
            finish_sealed: figures(&samples.finish),
            last_frame_to_envelope: latency,
            latency_ratio: latency.median_ms / first,
        });
    }
    let report = SessionBenchReport {
        burst_frames: n,
        sessions,
        runs,
    };
    emit(args, &report, |r| {
        let mut text = format!(
            "{} capture sessions of {} frames on each engine, interleaved\n",
            r.sessions, r.burst_frames
        );
        for run in &r.runs {
            text.push_str(&format!(
                "{} worker(s) ({} refused by liveness)\n  push one frame                median {:7.2} ms   p90 {:7.2} ms\n  finish (decide, embed, seal)  median {:7.2} ms   p90 {:7.2} ms\n  last frame to envelope        median {:7.2} ms   p90 {:7.2} ms   ({:.2}x the first)\n",
                run.workers,
                run.refused,
                run.push_frame.median_ms,
                run.push_frame.p90_ms,
                run.finish_sealed.median_ms,
                run.finish_sealed.p90_ms,
                run.last_frame_to_envelope.median_ms,
                run.last_frame_to_envelope.p90_ms,
                run.latency_ratio,
            ));
        }
        text
    })
}

/// What one session measured: the last push and `finish` of a live burst,
/// or `None` for the times when liveness refused it.
struct Timed {
    pushes: Vec<f64>,
    finish: Option<f64>,
}

impl Samples {
    fn add(&mut self, timed: Timed) {
        let last = timed.pushes.last().copied().unwrap_or(0.0);
        self.push.extend(&timed.pushes);
        match timed.finish {
            Some(t) => {
                self.finish.push(t);
                self.latency.push(last + t);
            }
            None => self.refused += 1,
        }
    }
}

fn session(engine: &Arc<Engine>, burst: &[RgbFrame]) -> CliResult<Timed> {
    let options = RequestOptions::default();
    let session = engine
        .start_capture(CaptureSessionConfig::new(
            Purpose::Verify,
            "bench-subject",
            "bench-consent",
            ChallengeNonce::generate(&mut seal::os_rng()),
        ))
        .map_err(|e| message(e.to_string()))?;
    let mut pushes = Vec::with_capacity(burst.len());
    for (i, frame) in burst.iter().enumerate() {
        let input = raw(frame);
        let clock = Instant::now();
        session
            .push_frame(input, i as u64 * 50, &options)
            .map_err(|e| message(e.to_string()))?;
        pushes.push(ms(clock));
    }
    let clock = Instant::now();
    let result = session.finish(&options);
    let t = ms(clock);
    match result {
        Ok(outcome) => {
            std::hint::black_box(outcome);
            Ok(Timed {
                pushes,
                finish: Some(t),
            })
        }
        Err(CaptureError::NotLive(_) | CaptureError::NoUsableFace) => Ok(Timed {
            pushes,
            finish: None,
        }),
        Err(e) => Err(message(e.to_string())),
    }
}
