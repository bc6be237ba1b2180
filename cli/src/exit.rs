//! Exit codes and the one shape of every error: a script tells a decision
//! against the person from a mistake in its own call from a server that
//! could not answer, without parsing text.

use std::process::ExitCode;

use serde::Serialize;

use crate::context::CliError;

/// The documented exit codes (see `faceseal --help` and the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done: enrolled, matched, or the command's work succeeded.
    Success = 0,
    /// A decision against: not matched, refused by the server, not live.
    Against = 1,
    /// Usage or input: bad arguments, unreadable frames, missing models.
    Usage = 2,
    /// The server could not be reached, failed, or refused a backend call.
    Server = 3,
    /// An internal failure of the on-device engine.
    Internal = 4,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// An error as printed: a stable code, a message, and its exit code.
/// Messages never carry a subject id or a consent reference.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    #[serde(rename = "error")]
    pub code: String,
    pub message: String,
    #[serde(skip)]
    pub exit: Exit,
}

impl Failure {
    pub fn new(exit: Exit, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            exit,
        }
    }

    pub fn usage(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, code, message)
    }

    /// Prints the error on stderr, as JSON when the caller asked for JSON.
    pub fn report(&self, json: bool) -> ExitCode {
        if json {
            let text = serde_json::to_string(self).unwrap_or_else(|_| {
                r#"{"error":"internal","message":"unprintable error"}"#.to_owned()
            });
            eprintln!("{text}");
        } else {
            eprintln!("faceseal: {}", self.message);
        }
        self.exit.into()
    }
}

impl From<CliError> for Failure {
    fn from(error: CliError) -> Self {
        let (exit, code) = match &error {
            CliError::Message(_) => (Exit::Usage, "invalid_input"),
            CliError::Image { .. } => (Exit::Usage, "invalid_image"),
            CliError::Io { .. } => (Exit::Usage, "unreadable_input"),
            CliError::Model(_) => (Exit::Usage, "model"),
            CliError::Pipeline(faceseal_core::PipelineError::Model(_)) => (Exit::Usage, "model"),
            CliError::Pipeline(faceseal_core::PipelineError::Input(_)) => {
                (Exit::Usage, "invalid_image")
            }
            CliError::Pipeline(_) | CliError::Inference(_) | CliError::Json(_) => {
                (Exit::Internal, "internal")
            }
        };
        Failure::new(exit, code, format!("{error:#}"))
    }
}
