//! `faceseal bench`: per-stage latency of the whole pipeline on one thread,
//! and peak memory.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use faceseal_eval::metrics::median_p90;
use faceseal_vision::detect::largest_face;
use faceseal_vision::input::{InputLimits, decode_image};
use serde::Serialize;

use crate::GlobalArgs;
use crate::context::{CliResult, analyzer_with, config, message, read_bytes};
use crate::images::resolve;
use crate::output::emit;
use crate::progress::Progress;

#[derive(Args)]
pub struct BenchArgs {
    /// Pictures to run (directories are walked): camera frames, ideally 640x480.
    #[arg(long, required = true)]
    images: Vec<PathBuf>,
    /// Use at most this many pictures.
    #[arg(long, default_value_t = 200)]
    limit: usize,
    /// Passes over the pictures.
    #[arg(long, default_value_t = 1)]
    rounds: usize,
    /// Time the multi-frame liveness decision on bursts of N consecutive
    /// pictures instead of the single-frame pipeline.
    #[arg(long, value_name = "N")]
    burst: Option<usize>,
    /// Time capture sessions of N consecutive pictures through the engine
    /// (one worker): each frame pushed, and from the last frame to the
    /// sealed envelope.
    #[arg(long, value_name = "N", conflicts_with = "burst")]
    session: Option<usize>,
    /// With --session: the engine's worker counts to compare, each burst
    /// run on every one in turn (for example 1,2).
    #[arg(long, value_delimiter = ',', default_value = "1", requires = "session",
          value_parser = clap::value_parser!(u64).range(1..=16))]
    workers: Vec<u64>,
}

const STAGES: [&str; 6] = ["decode", "detect", "align", "liveness", "embed", "total"];

#[derive(Serialize, Clone, Copy)]
struct StageFigures {
    median_ms: f64,
    p90_ms: f64,
}

#[derive(Serialize)]
struct BenchReport {
    frames: usize,
    /// Frames where no face was found (timed up to detection only).
    frames_without_face: usize,
    median_ms: f64,
    p90_ms: f64,
    stages: std::collections::BTreeMap<&'static str, StageFigures>,
    rss_after_load_mb: f64,
    peak_rss_mb: f64,
    threads: usize,
    mirror_embedding: bool,
}

pub fn run(args: &GlobalArgs, bench: &BenchArgs) -> CliResult<()> {
    let mut paths = Vec::new();
    for p in &bench.images {
        paths.extend(resolve(p, None)?);
    }
    paths.truncate(bench.limit);
    if paths.is_empty() {
        return Err(message("no pictures to benchmark"));
    }
    // File reading is not part of the pipeline: hold the encoded bytes in memory.
    let files: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| read_bytes(p))
        .collect::<CliResult<_>>()?;
    let analyzer = analyzer_with(args, config(args))?;
    let limits = InputLimits::default();
    // Build the plans before timing: optimisation is a one-off cost per shape.
    for bytes in &files {
        if let Ok(frame) = decode_image(bytes, &limits) {
            analyzer.warm_up(frame.width(), frame.height())?;
        }
    }
    let rss_after_load_mb = memory::current_rss_mb();
    if let Some(n) = bench.session {
        let frames: Vec<_> = files
            .iter()
            .filter_map(|b| decode_image(b, &limits).ok())
            .collect();
        drop(analyzer);
        let workers: Vec<usize> = bench.workers.iter().map(|&w| w as usize).collect();
        return crate::bench_session::run(args, &frames, n, bench.rounds, &workers);
    }
    if let Some(n) = bench.burst {
        let frames: Vec<_> = files
            .iter()
            .filter_map(|b| decode_image(b, &limits).ok())
            .collect();
        return crate::bench_burst::run(args, &analyzer, &frames, n, bench.rounds);
    }

    let mut times: Vec<Vec<f64>> = vec![Vec::new(); STAGES.len()];
    let mut without_face = 0;
    let progress = Progress::new("bench", (files.len() * bench.rounds) as u64);
    for _ in 0..bench.rounds {
        for bytes in &files {
            let mut t = [0f64; 6];
            let clock = Instant::now();
            let frame = match decode_image(bytes, &limits) {
                Ok(f) => f,
                Err(_) => continue,
            };
            t[0] = ms(clock);
            let clock = Instant::now();
            let faces = analyzer.detect(&frame)?;
            t[1] = ms(clock);
            let Some(&face) = largest_face(&faces) else {
                without_face += 1;
                progress.tick();
                continue;
            };
            let clock = Instant::now();
            let chip = analyzer.align(&frame, &face)?;
            t[2] = ms(clock);
            let clock = Instant::now();
            let live = analyzer.liveness(&frame, &face)?;
            t[3] = ms(clock);
            let clock = Instant::now();
            let embedding = if args.no_mirror {
                analyzer.embedder().embed(&chip)?
            } else {
                analyzer.embedder().embed_with_mirror(&chip)?
            };
            t[4] = ms(clock);
            std::hint::black_box((live, embedding));
            t[5] = t[..5].iter().sum();
            for (all, v) in times.iter_mut().zip(t) {
                all.push(v);
            }
            progress.tick();
        }
    }
    progress.finish();
    let stages = STAGES
        .iter()
        .zip(&times)
        .map(|(name, v)| {
            let (median_ms, p90_ms) = median_p90(v);
            (*name, StageFigures { median_ms, p90_ms })
        })
        .collect::<std::collections::BTreeMap<_, _>>();
    let total = stages["total"];
    let report = BenchReport {
        frames: times[5].len(),
        frames_without_face: without_face,
        median_ms: total.median_ms,
        p90_ms: total.p90_ms,
        stages,
        rss_after_load_mb,
        peak_rss_mb: memory::peak_rss_mb(),
        threads: 1,
        mirror_embedding: !args.no_mirror,
    };
    emit(args, &report, |r| {
        let mut out = format!(
            "{} frames with a face ({} without), one thread, mirror embedding {}\n",
            r.frames,
            r.frames_without_face,
            if r.mirror_embedding { "on" } else { "off" }
        );
        for name in STAGES {
            let s = r.stages[name];
            out.push_str(&format!(
                "  {name:<9} median {:7.2} ms   p90 {:7.2} ms\n",
                s.median_ms, s.p90_ms
            ));
        }
        out.push_str(&format!(
            "RSS after loading models {:.1} MB, peak {:.1} MB\n",
            r.rss_after_load_mb, r.peak_rss_mb
        ));
        out
    })
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// Resident memory as the kernel reports it (Linux); 0 where unavailable.
mod memory {
    fn status_kb(field: &str) -> Option<f64> {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    pub fn peak_rss_mb() -> f64 {
        status_kb("VmHWM:").map_or(0.0, |kb| kb / 1024.0)
    }

    pub fn current_rss_mb() -> f64 {
        status_kb("VmRSS:").map_or(0.0, |kb| kb / 1024.0)
    }
}
