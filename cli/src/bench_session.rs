//! `faceseal bench --session N`: a capture session as an app runs it.
//!
//! One engine with one worker (one thread does the work), a throwaway tenant
//! key and template secret, and bursts of N consecutive pictures pushed as a
//! camera would deliver them (raw RGB, timed at 20 fps). Timed: each push
//! (the frame's whole analysis through the engine's queue) and `finish` (the
//! burst decision, embedding of the best chips, protection and sealing); the
//! latency a user waits after the last frame is that frame's push plus
//! `finish`. A burst the liveness layer refuses is timed too (it ends at the
//! decision) and counted apart.

use std::time::{Duration, Instant};

use faceseal_core::RgbFrame;
use faceseal_core::engine::{CaptureError, CaptureSessionConfig, FrameInput, RequestOptions};
use faceseal_core::input::{RawFrame, RawPixelFormat, Rotation};
use faceseal_core::metrics::median_p90;
use faceseal_core::seal::{self, ChallengeNonce, Purpose};
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
struct SessionBenchReport {
    burst_frames: usize,
    sessions: usize,
    /// Sessions the liveness layer refused (timed to the decision).
    refused: usize,
    workers: usize,
    /// One `push_frame`: queue, decode of the raw buffer, detection,
    /// texture models, cues, quality and alignment.
    push_frame: Figures,
    /// `finish` of a live burst: decision, embedding, protection, sealing.
    finish_sealed: Figures,
    /// From the last frame's arrival to the sealed envelope: its push + finish.
    last_frame_to_envelope: Figures,
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

pub fn run(args: &GlobalArgs, frames: &[RgbFrame], n: usize, rounds: usize) -> CliResult<()> {
    if n < 2 || frames.len() < n {
        return Err(message(format!(
            "--session {n} needs at least 2 frames per burst and {n} pictures"
        )));
    }
    let engine = context::throwaway_engine(args, 1, Duration::from_secs(60))?;
    let options = RequestOptions::default();
    let (mut push, mut finish, mut latency) = (Vec::new(), Vec::new(), Vec::new());
    let mut refused = 0;
    let sessions = frames.len() / n * rounds.max(1);
    let progress = Progress::new("bench", sessions as u64);
    // The first session builds the plans for the frame size: not timed.
    for round in 0..=rounds.max(1) {
        for burst in frames
            .chunks_exact(n)
            .take(if round == 0 { 1 } else { usize::MAX })
        {
            let session = engine
                .start_capture(CaptureSessionConfig::new(
                    Purpose::Verify,
                    "bench-subject",
                    "bench-consent",
                    ChallengeNonce::generate(&mut seal::os_rng()),
                ))
                .map_err(|e| message(e.to_string()))?;
            let timed = round > 0;
            let mut last = 0.0;
            for (i, frame) in burst.iter().enumerate() {
                let input = raw(frame);
                let clock = Instant::now();
                session
                    .push_frame(input, i as u64 * 50, &options)
                    .map_err(|e| message(e.to_string()))?;
                last = ms(clock);
                if timed {
                    push.push(last);
                }
            }
            let clock = Instant::now();
            let result = session.finish(&options);
            let t = ms(clock);
            if !timed {
                continue;
            }
            match result {
                Ok(outcome) => {
                    std::hint::black_box(outcome);
                    finish.push(t);
                    latency.push(last + t);
                }
                Err(CaptureError::NotLive(_) | CaptureError::NoUsableFace) => refused += 1,
                Err(e) => return Err(message(e.to_string())),
            }
            progress.tick();
        }
    }
    progress.finish();
    if finish.is_empty() {
        return Err(message("no burst was live: nothing was sealed to time"));
    }
    let report = SessionBenchReport {
        burst_frames: n,
        sessions,
        refused,
        workers: 1,
        push_frame: figures(&push),
        finish_sealed: figures(&finish),
        last_frame_to_envelope: figures(&latency),
    };
    emit(args, &report, |r| {
        format!(
            "{} capture sessions of {} frames ({} refused by liveness), one worker\n  push one frame                median {:7.2} ms   p90 {:7.2} ms\n  finish (decide, embed, seal)  median {:7.2} ms   p90 {:7.2} ms\n  last frame to envelope        median {:7.2} ms   p90 {:7.2} ms\n",
            r.sessions,
            r.burst_frames,
            r.refused,
            r.push_frame.median_ms,
            r.push_frame.p90_ms,
            r.finish_sealed.median_ms,
            r.finish_sealed.p90_ms,
            r.last_frame_to_envelope.median_ms,
            r.last_frame_to_envelope.p90_ms
        )
    })
}
