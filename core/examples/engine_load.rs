//! Load benchmark of the engine: many concurrent callers against a small
//! queue. Every call must end in a result, `Busy` or `Timeout`, within its
//! deadline (the run fails if one returns later); the figures are
//! throughput and latency percentiles.
//!
//! ```text
//! cargo run -p faceseal-core --example engine_load -- PICTURE [CALLERS] [SECONDS] [DEADLINE_MS]
//! ```
//! with 1 worker and a queue of 4 (the engine's defaults). Models come from
//! `FACESEAL_MODEL_DIR` and the bundled `models/`. Callers that get `Busy`
//! wait 10 ms and try again, as an app would.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use faceseal_core::ModelLocator;
use faceseal_core::engine::{Engine, EngineConfig, EngineError, FrameInput, RequestOptions};

#[derive(Default)]
struct Tally {
    ok: Vec<Duration>,
    busy: Vec<Duration>,
    timeout: Vec<Duration>,
    other: usize,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let picture = args
        .first()
        .ok_or("usage: engine_load PICTURE [CALLERS] [SECONDS] [DEADLINE_MS]")?;
    let callers: usize = args.get(1).map_or(Ok(64), |s| s.parse())?;
    let seconds: u64 = args.get(2).map_or(Ok(20), |s| s.parse())?;
    let deadline = Duration::from_millis(args.get(3).map_or(Ok(1000), |s| s.parse())?);

    let bundled = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");
    let config = EngineConfig::new(ModelLocator::from_env().with_dir(bundled))
        .with_queue(1, 4)
        .with_default_deadline(deadline);
    let engine = Arc::new(Engine::new(config)?);
    let bytes = Arc::new(std::fs::read(picture)?);
    // Warm up: the first call builds the optimised plans.
    let patient = RequestOptions::with_timeout(Duration::from_secs(120));
    engine.check_liveness(FrameInput::encoded(&bytes), &patient)?;

    let start = Instant::now();
    let stop = start + Duration::from_secs(seconds);
    let handles: Vec<_> = (0..callers)
        .map(|_| {
            let engine = Arc::clone(&engine);
            let bytes = Arc::clone(&bytes);
            std::thread::spawn(move || {
                let mut tally = Tally::default();
                while Instant::now() < stop {
                    let t = Instant::now();
                    let result = engine
                        .check_liveness(FrameInput::encoded(&bytes), &RequestOptions::default());
                    let elapsed = t.elapsed();
                    match result {
                        Ok(_) => tally.ok.push(elapsed),
                        Err(EngineError::Busy) => {
                            tally.busy.push(elapsed);
                            std::thread::sleep(Duration::from_millis(10));
                        }
                        Err(EngineError::Timeout) => tally.timeout.push(elapsed),
                        Err(_) => tally.other += 1,
                    }
                }
                tally
            })
        })
        .collect();
    let mut all = Tally::default();
    for handle in handles {
        let t = handle.join().map_err(|_| "a caller thread panicked")?;
        all.ok.extend(t.ok);
        all.busy.extend(t.busy);
        all.timeout.extend(t.timeout);
        all.other += t.other;
    }
    let wall = start.elapsed().as_secs_f64();
    let mut every: Vec<Duration> = all
        .ok
        .iter()
        .chain(&all.busy)
        .chain(&all.timeout)
        .copied()
        .collect();
    all.ok.sort();
    all.busy.sort();
    every.sort();
    println!(
        "engine load: 1 worker, queue depth 4, {callers} callers, {seconds} s, deadline {} ms, check_liveness on one picture",
        deadline.as_millis()
    );
    println!(
        "results: {} ok, {} busy, {} timeout, {} other errors",
        all.ok.len(),
        all.busy.len(),
        all.timeout.len(),
        all.other
    );
    println!("throughput: {:.1} results/s", all.ok.len() as f64 / wall);
    println!(
        "latency of results:   p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(percentile(&all.ok, 0.50)),
        ms(percentile(&all.ok, 0.99)),
        ms(all.ok.last().copied())
    );
    println!(
        "latency of busy:      p50 {:.3} ms, p99 {:.3} ms",
        ms(percentile(&all.busy, 0.50)),
        ms(percentile(&all.busy, 0.99))
    );
    let max = every.last().copied().unwrap_or_default();
    println!(
        "latency of all calls: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (deadline {} ms)",
        ms(percentile(&every, 0.50)),
        ms(percentile(&every, 0.99)),
        ms(Some(max)),
        deadline.as_millis()
    );
    let late = every.iter().filter(|d| **d > deadline).count();
    println!("calls returning after their deadline: {late}");
    if all.other > 0 || late > 0 {
        return Err(format!(
            "FAILED: {} other errors, {late} late calls, max latency {max:?}",
            all.other
        )
        .into());
    }
    Ok(())
}

fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    Some(sorted[index])
}

fn ms(d: Option<Duration>) -> f64 {
    d.map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}
