#![forbid(unsafe_code)]
//! `faceseal`: the command-line face of the SDK: detect, liveness, compare,
//! evaluate on public data sets, benchmark.

mod bench;
mod bench_burst;
mod context;
mod eval;
mod faces;
mod images;
mod output;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "faceseal",
    version,
    about = "On-device face detection, liveness and recognition"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
pub struct GlobalArgs {
    /// Directory holding model files; repeat to search several. Searched before
    /// FACESEAL_MODEL_DIR, then ./models.
    #[arg(long = "model-dir", global = true, value_name = "DIR")]
    pub model_dirs: Vec<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Long side, in pixels, that pictures are scaled to for detection.
    #[arg(long, global = true, default_value_t = 320, value_name = "PIXELS")]
    pub det_size: u32,
    /// Minimum face probability of the detector.
    #[arg(long, global = true, value_name = "P")]
    pub det_threshold: Option<f32>,
    /// Live-probability threshold of the liveness layer.
    #[arg(long, global = true, value_name = "P")]
    pub liveness_threshold: Option<f32>,
    /// Embed the aligned chip alone, without averaging in its mirror image
    /// (half the embedding time, a little less accuracy).
    #[arg(long, global = true)]
    pub no_mirror: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Faces with boxes, landmarks, scores and quality.
    Detect {
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// Live probability and decision per face.
    Liveness {
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// Distance between the main faces of two pictures, liveness of both, decision.
    Compare { image_a: PathBuf, image_b: PathBuf },
    /// Accuracy on public data sets.
    #[command(subcommand)]
    Eval(eval::EvalCommand),
    /// Per-stage latency on one thread, and peak memory.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Detect { images } => faces::detect(&cli.global, &images),
        Command::Liveness { images } => faces::liveness(&cli.global, &images),
        Command::Compare { image_a, image_b } => faces::compare(&cli.global, &image_a, &image_b),
        Command::Eval(cmd) => eval::run(&cli.global, cmd),
        Command::Bench(args) => bench::run(&cli.global, &args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("faceseal: {e:#}");
            ExitCode::FAILURE
        }
    }
}
