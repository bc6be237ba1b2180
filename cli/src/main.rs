#![forbid(unsafe_code)]
//! `faceseal`: the command-line face of the SDK: detect, liveness, compare,
//! evaluate on public data sets, benchmark, and enrol and verify against a
//! faceseal-sync server.

mod bench;
mod bench_burst;
mod bench_session;
mod context;
mod eval;
mod exit;
mod faces;
mod images;
mod output;
mod progress;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use faceseal_core::seal::Purpose;

use exit::{Exit, Failure};

const AFTER_HELP: &str = "\
Exit codes:
  0  success: enrolled, matched, or the command's work done
  1  a decision against: not matched, refused by the server, not live on the device
  2  usage or input: bad arguments, unreadable frames, missing models
  3  server or network: unreachable, failed, or a backend call refused
  4  internal failure of the on-device engine
Errors go to stderr; with --json as {\"error\": code, \"message\": text}.

Example (enrol, then verify, against a server):
  export FACESEAL_API_KEY=fsk_... FACESEAL_TEMPLATE_SECRET=<hex>
  faceseal subject create --server http://127.0.0.1:8080 alice
  REF=$(faceseal consent grant --server http://127.0.0.1:8080 --subject alice --purpose enrol)
  faceseal enrol --server http://127.0.0.1:8080 --subject alice --consent \"$REF\" frames/";

#[derive(Parser)]
#[command(
    name = "faceseal",
    version,
    about = "On-device face detection, liveness and recognition",
    after_help = AFTER_HELP
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
    #[command(after_help = "\
Needs only the bundled detector (models/). Quality: a score from 0 (a
measure at its limit) to 1, the measure that sets it, and advice for
every failed check. Exit: 0 every picture read, 2 a picture could not be
read (its error on stderr, or in the JSON report).

Example:
  faceseal detect photo.jpg
  faceseal --json --det-size 640 detect group.jpg")]
    Detect {
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// Live probability and decision per face.
    #[command(after_help = "\
One picture, texture models alone (threshold 0.5 by default): the burst
decision a capture session makes is stronger; see `faceseal eval nuaa
--burst`. Exit: 0 every picture read, 2 a picture could not be read.

Example:
  FACESEAL_MODEL_DIR=/path/to/liveness-models faceseal liveness photo.jpg")]
    Liveness {
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// Distance between the main faces of two pictures, liveness of both, decision.
    #[command(after_help = "\
The descriptor distance is compared with 0.6 (LFW's equal-error point).

Example:
  faceseal compare --json a.jpg b.jpg")]
    Compare { image_a: PathBuf, image_b: PathBuf },
    /// Accuracy on public data sets.
    #[command(subcommand)]
    Eval(eval::EvalCommand),
    /// Per-stage latency on one thread, and peak memory.
    #[command(after_help = "\
Build with --release for figures worth quoting; compare only with a
reference run on the same machine in the same session.

Example:
  faceseal bench --images frames/ --limit 200
  faceseal bench --images frames/ --limit 150 --session 5 --workers 1,2")]
    Bench(bench::BenchArgs),
    /// Enrol a subject from a burst of frames against a server.
    #[command(after_help = "\
The tool acts as the tenant's backend (API key: bundle, challenge, decision)
and as the device (capture token only: capture, seal, post). Guidance is
printed per frame. A burst refused as not live on the device sends nothing.
Exit: 0 enrolled, 1 refused or not live, 2 usage/input, 3 server/network,\n4 internal.

Example:
  faceseal enrol --server http://127.0.0.1:8080 --api-key fsk_... \\
    --template-secret <hex> --subject alice --consent <ref> frames/")]
    Enrol(server::CaptureArgs),
    /// Verify a subject from a burst of frames against a server.
    #[command(after_help = "\
As enrol, against the subject's enrolled template.
Exit: 0 matched, 1 not matched, refused or not live, 2 usage/input,\n3 server/network, 4 internal.

Example:
  faceseal verify --server http://127.0.0.1:8080 --subject alice --consent <ref> \\
    --fps 20 f1.jpg f2.jpg f3.jpg f4.jpg f5.jpg")]
    Verify(server::CaptureArgs),
    /// Subjects on a server.
    #[command(subcommand)]
    Subject(server::SubjectCommand),
    /// Consent records on a server.
    #[command(subcommand)]
    Consent(server::ConsentCommand),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let json = cli.global.json;
    let global = &cli.global;
    let done = |r: CliResult| r.map(|()| Exit::Success).map_err(Failure::from);
    let result = match cli.command {
        Command::Detect { images } => faces::detect(global, &images).map_err(Failure::from),
        Command::Liveness { images } => faces::liveness(global, &images).map_err(Failure::from),
        Command::Compare { image_a, image_b } => done(faces::compare(global, &image_a, &image_b)),
        Command::Eval(cmd) => done(eval::run(global, cmd)),
        Command::Bench(args) => done(bench::run(global, &args)),
        Command::Enrol(args) => server::capture(global, Purpose::Enrol, &args),
        Command::Verify(args) => server::capture(global, Purpose::Verify, &args),
        Command::Subject(cmd) => server::subject(global, &cmd),
        Command::Consent(cmd) => server::consent(global, &cmd),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(failure) => failure.report(json),
    }
}

type CliResult = context::CliResult<()>;

/// Clap's own errors, in the one error shape when `--json` is on the line
/// (it cannot be parsed then, so it is looked for).
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
        || !std::env::args_os().any(|a| a == "--json")
    {
        e.exit();
    }
    let message = e.kind().as_str().map_or_else(
        || e.to_string().lines().next().unwrap_or_default().to_owned(),
        |kind| {
            let first = e.to_string();
            let first = first.lines().next().unwrap_or(kind);
            first.trim_start_matches("error: ").to_owned()
        },
    );
    Failure::usage("usage", message).report(true)
}
