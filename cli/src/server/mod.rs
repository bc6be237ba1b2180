//! Enrolment and verification against a faceseal-sync server, and the
//! records they need (subjects, consents), from the shell.

mod api;
mod device;
mod flow;
mod frames;
mod records;

use std::path::PathBuf;

use clap::{Args, Subcommand};

pub use flow::run as capture;
pub use records::{consent, subject};

/// Where the server is and the tenant's API key.
#[derive(Args, Clone)]
pub struct ServerArgs {
    /// The sync service's base URL, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "FACESEAL_SERVER", value_name = "URL")]
    pub server: String,
    /// The tenant's API key (fsk_...).
    #[arg(
        long,
        env = "FACESEAL_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub api_key: String,
}

/// `faceseal enrol` and `faceseal verify`.
#[derive(Args)]
pub struct CaptureArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The tenant's template secret, hex, as printed once at tenant creation.
    #[arg(
        long,
        env = "FACESEAL_TEMPLATE_SECRET",
        hide_env_values = true,
        value_name = "HEX"
    )]
    pub template_secret: String,
    /// The subject's id, as given to `faceseal subject create`.
    #[arg(long, value_name = "ID")]
    pub subject: String,
    /// The consent reference `faceseal consent grant` printed for this purpose.
    #[arg(long, value_name = "REF")]
    pub consent: String,
    /// Frame rate of the burst: frame i is timed at i*1000/FPS ms.
    #[arg(long, default_value_t = 20, value_name = "FPS")]
    pub fps: u32,
    /// Enrolment only: replace the subject's template.
    #[arg(long)]
    pub replace: bool,
    /// One directory of frames (sorted by the number in their names), or
    /// several frame files in capture order.
    #[arg(required = true, value_name = "FRAMES")]
    pub frames: Vec<PathBuf>,
}

#[derive(Subcommand)]
pub enum SubjectCommand {
    /// Create a subject; prints its id.
    #[command(after_help = "\
Exit: 0 created, 3 refused by the server (the subject exists, a bad key) or unreachable.

Example:
  faceseal subject create --server http://127.0.0.1:8080 --api-key fsk_... alice")]
    Create {
        #[command(flatten)]
        server: ServerArgs,
        /// The new subject's id.
        #[arg(value_name = "ID")]
        id: String,
    },
}

#[derive(Subcommand)]
pub enum ConsentCommand {
    /// Record a subject's consent; prints the consent reference alone.
    #[command(after_help = "\
Exit: 0 recorded, 3 refused by the server (unknown subject, a bad key) or unreachable.

Example:
  ref=$(faceseal consent grant --server http://127.0.0.1:8080 --subject alice --purpose enrol)")]
    Grant {
        #[command(flatten)]
        server: ServerArgs,
        /// The subject's id.
        #[arg(long, value_name = "ID")]
        subject: String,
        /// What the consent is for.
        #[arg(long, value_parser = ["enrol", "verify"])]
        purpose: String,
        /// Version of the consent text the person agreed to.
        #[arg(long, default_value = "1", value_name = "V")]
        text_version: String,
    },
}
