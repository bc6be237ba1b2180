//! `faceseal eval`: accuracy on public data sets.

mod burst;
mod crossval;
mod detect;
mod lfw;
mod lfw_split;
mod pad;
mod session_check;
mod template;
mod template_sweep;

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};

use crate::GlobalArgs;
use crate::context::CliResult;

#[derive(Subcommand)]
pub enum EvalCommand {
    /// LFW View 2, 10-fold: accuracy (mean, std), TAR at FAR 1e-3, failures to detect.
    Lfw {
        /// The LFW folder holding pairs.txt and images/.
        #[arg(long)]
        data: PathBuf,
        /// Also score every pair in the protected domain (both pictures
        /// transformed with the claimed subject's template key).
        #[arg(long)]
        protected: bool,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// LFW View 2, 10-fold, with every decision computed in the encrypted
    /// domain of the split-trust scheme (BFV template, masked homomorphic
    /// comparison, key holder's one-bit answer), checked against the
    /// plaintext decision of the same encoding; accuracy and TAR at FAR 1e-3.
    LfwSplit {
        /// The LFW folder holding pairs.txt and images/.
        #[arg(long)]
        data: PathBuf,
        /// Use only the first N/2 genuine and N/2 impostor pairs of each fold.
        #[arg(long, value_name = "N")]
        per_fold: Option<usize>,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Protected templates on LFW: unlinkability (D↔sys) across tenants and
    /// key versions, renewability, and the stolen-key inversion attack.
    Template {
        /// The LFW folder holding pairs.txt and images/.
        #[arg(long)]
        data: PathBuf,
        /// Genuine and impostor pairs used, each (in file order).
        #[arg(long, default_value_t = 1000)]
        pairs: usize,
        /// Genuine pairs attacked by inversion with the stolen key (0: no attack).
        #[arg(long, default_value_t = 0, value_name = "N")]
        attack: usize,
        /// Gradient steps of each inversion.
        #[arg(long, default_value_t = 300)]
        attack_iterations: usize,
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Accuracy against the stolen-key inversion attack for several IoM
    /// parameter choices (two-fold cross-validated accuracy, attack success).
    TemplateSweep {
        /// The LFW folder holding pairs.txt and images/.
        #[arg(long)]
        data: PathBuf,
        /// Genuine and impostor pairs used, each (in file order).
        #[arg(long, default_value_t = 1000)]
        pairs: usize,
        /// Genuine pairs attacked for each parameter choice.
        #[arg(long, default_value_t = 100, value_name = "N")]
        attack: usize,
        /// Gradient steps of each inversion.
        #[arg(long, default_value_t = 300)]
        attack_iterations: usize,
        /// Parameter choices, `MxQ` (hashes x window), comma separated.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "1024x8,256x8,64x8,32x8,16x8"
        )]
        params: Vec<String>,
        #[arg(long)]
        threads: Option<usize>,
    },
    /// APCER, BPCER, ACER at the shipped threshold, and EER.
    Liveness {
        /// Live (bona fide) pictures: directories, pictures or list files.
        #[arg(long, required = true)]
        live: Vec<PathBuf>,
        /// Attack pictures: directories, pictures or list files.
        #[arg(long, required = true)]
        spoof: Vec<PathBuf>,
        /// Group pictures of one session into bursts of N frames and report
        /// every liveness signal and the fused multi-frame decision.
        #[arg(long, value_name = "N")]
        burst: Option<usize>,
        /// Security level of the burst decision.
        #[arg(long, value_enum, default_value_t = Level::Standard)]
        level: Level,
        /// With --burst: also leave one person (set) out and one condition
        /// out, fitting every limit on the other folds.
        #[arg(long)]
        crossval: bool,
        /// With --burst: write every frame's evidence to FILE, one JSON
        /// object a line.
        #[arg(long, value_name = "FILE")]
        frames_out: Option<PathBuf>,
        /// With --burst: run every burst again through the SDK's capture
        /// sessions and compare each decision with the evaluation's.
        #[arg(long)]
        through_sessions: bool,
        #[arg(long)]
        threads: Option<usize>,
    },
    /// `eval liveness` over the NUAA Photograph Imposter lists of one split.
    Nuaa {
        /// The NUAA folder holding ClientRaw/, ImposterRaw/ and the split lists.
        #[arg(long)]
        data: PathBuf,
        #[arg(long, value_enum)]
        split: Split,
        /// Group pictures of one session into bursts of N frames and report
        /// every liveness signal and the fused multi-frame decision.
        #[arg(long, value_name = "N")]
        burst: Option<usize>,
        /// Security level of the burst decision.
        #[arg(long, value_enum, default_value_t = Level::Standard)]
        level: Level,
        /// With --burst: skip the leave-one-person-out and
        /// leave-one-condition-out figures (on by default).
        #[arg(long)]
        no_crossval: bool,
        /// With --burst: write every frame's evidence to FILE, one JSON
        /// object a line.
        #[arg(long, value_name = "FILE")]
        frames_out: Option<PathBuf>,
        /// With --burst: run every burst again through the SDK's capture
        /// sessions and compare each decision with the evaluation's.
        #[arg(long)]
        through_sessions: bool,
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Detection recall on pictures with a face, false positives on pictures without.
    Detect {
        /// Pictures that each hold at least one face.
        #[arg(long)]
        pos: Vec<PathBuf>,
        /// Pictures that hold no human face.
        #[arg(long)]
        neg: Vec<PathBuf>,
        /// A JSON list of {"file", "n_faces"} beside the pictures it names:
        /// reports exact face counts.
        #[arg(long)]
        counts: Option<PathBuf>,
        #[arg(long)]
        threads: Option<usize>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Split {
    Train,
    Test,
}

/// Security levels of the burst liveness decision.
#[derive(Clone, Copy, ValueEnum)]
pub enum Level {
    Basic,
    Standard,
    Strict,
}

impl Level {
    fn core(self) -> faceseal_vision::liveness::SecurityLevel {
        use faceseal_vision::liveness::SecurityLevel;
        match self {
            Level::Basic => SecurityLevel::Basic,
            Level::Standard => SecurityLevel::Standard,
            Level::Strict => SecurityLevel::Strict,
        }
    }
}

impl Split {
    fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

pub fn run(args: &GlobalArgs, cmd: EvalCommand) -> CliResult<()> {
    let threads = |t: Option<usize>| t.unwrap_or_else(crate::progress::default_threads);
    match cmd {
        EvalCommand::Lfw {
            data,
            protected,
            threads: t,
        } => lfw::run(args, &data, threads(t), protected),
        EvalCommand::LfwSplit {
            data,
            per_fold,
            threads: t,
        } => lfw_split::run(args, &data, threads(t), per_fold),
        EvalCommand::Template {
            data,
            pairs,
            attack,
            attack_iterations,
            threads: t,
        } => template::run(
            args,
            &template::TemplateEvalArgs {
                root: &data,
                pairs,
                attack,
                attack_iterations,
                threads: threads(t),
            },
        ),
        EvalCommand::TemplateSweep {
            data,
            pairs,
            attack,
            attack_iterations,
            params,
            threads: t,
        } => template_sweep::run(
            args,
            &template_sweep::SweepArgs {
                root: &data,
                pairs,
                attack,
                attack_iterations,
                params: &params,
                threads: threads(t),
            },
        ),
        EvalCommand::Liveness {
            live,
            spoof,
            burst,
            level,
            crossval,
            frames_out,
            through_sessions,
            threads: t,
        } => {
            let t = threads(t);
            let opts = burst_eval(burst, level, t, crossval, frames_out.as_deref()).map(|o| {
                burst::BurstEval {
                    through_sessions,
                    ..o
                }
            });
            pad::run_lists(args, &live, &spoof, t, opts.as_ref())
        }
        EvalCommand::Nuaa {
            data,
            split,
            burst,
            level,
            no_crossval,
            frames_out,
            through_sessions,
            threads: t,
        } => {
            let t = threads(t);
            let opts = burst_eval(burst, level, t, !no_crossval, frames_out.as_deref()).map(|o| {
                burst::BurstEval {
                    through_sessions,
                    ..o
                }
            });
            pad::run_nuaa(args, &data, split, t, opts.as_ref())
        }
        EvalCommand::Detect {
            pos,
            neg,
            counts,
            threads: t,
        } => detect::run(args, &pos, &neg, counts.as_deref(), threads(t)),
    }
}

fn burst_eval(
    burst: Option<usize>,
    level: Level,
    threads: usize,
    crossval: bool,
    frames_out: Option<&std::path::Path>,
) -> Option<burst::BurstEval<'_>> {
    burst.map(|n| burst::BurstEval {
        n,
        level: level.core(),
        threads,
        crossval,
        frames_out,
        through_sessions: false,
    })
}
