//! `--through-sessions`: the evaluated bursts again, through the SDK's
//! capture sessions, to show that what apps run is what is measured.
//!
//! Every burst is pushed, frame by frame with its timestamp, into a capture
//! session of an engine keyed for a throwaway tenant, at the evaluation's
//! level; the session's burst decision (from its sealed outcome or its
//! refusal) is compared, field for field, with the decision the evaluation
//! made on the same frames.

use std::sync::Arc;
use std::time::Duration;

use faceseal_core::engine::{
    CaptureError, CaptureSessionConfig, Engine, FrameInput, RequestOptions,
};
use faceseal_core::seal::{self, ChallengeNonce, Purpose};
use faceseal_vision::liveness::{BurstDecision, SecurityLevel};
use serde::Serialize;

use super::burst::{MS_PER_FRAME_NUMBER, Sample};
use crate::GlobalArgs;
use crate::context::{self, CliResult, message, read_bytes};
use crate::progress::{Progress, parallel_map};

/// Files are read on a loaded machine, not delivered by a camera.
const SESSION_EXPIRY: Duration = Duration::from_secs(120);

#[derive(Serialize)]
pub struct SessionCheck {
    pub bursts: usize,
    /// Bursts whose session decision equals the evaluation's in every field.
    pub identical: usize,
    /// Of those, live bursts that ended sealed, and refused ones.
    pub sealed: usize,
    pub refused: usize,
    /// Live bursts the session could not make a template from (no frame of
    /// good enough quality): their decision is not returned.
    pub live_without_template: usize,
    /// First bursts that differ (session name), if any.
    pub differing: Vec<String>,
}

enum Ended {
    Decided {
        sealed: bool,
        decision: Box<BurstDecision>,
    },
    NoUsableFace,
}

fn through_session(
    engine: &Arc<Engine>,
    level: SecurityLevel,
    frames: &[&Sample],
) -> CliResult<Ended> {
    let config = CaptureSessionConfig::new(
        Purpose::Verify,
        "eval-subject",
        "eval-consent",
        ChallengeNonce::generate(&mut seal::os_rng()),
    )
    .with_level(level)
    .with_expiry(SESSION_EXPIRY)
    .with_burst_frames(frames.len());
    let fail = |e: CaptureError| message(format!("capture session: {e}"));
    let session = engine.start_capture(config).map_err(fail)?;
    let options = RequestOptions::default();
    for s in frames {
        let bytes = read_bytes(&s.path)?;
        session
            .push_frame(
                FrameInput::encoded(&bytes),
                s.frame_number * MS_PER_FRAME_NUMBER,
                &options,
            )
            .map_err(|e| message(format!("{}: {e}", s.path.display())))?;
    }
    match session.finish(&options) {
        Ok(outcome) => Ok(Ended::Decided {
            sealed: true,
            decision: Box::new(outcome.decision),
        }),
        Err(CaptureError::NotLive(decision)) => Ok(Ended::Decided {
            sealed: false,
            decision,
        }),
        Err(CaptureError::NoUsableFace) => Ok(Ended::NoUsableFace),
        Err(e) => Err(fail(e)),
    }
}

/// Runs every burst (`groups` of indices into `samples`) through a session
/// and compares with `expected`, the evaluation's decision of each.
pub fn run(
    args: &GlobalArgs,
    samples: &[Sample],
    groups: &[Vec<usize>],
    expected: &[BurstDecision],
    level: SecurityLevel,
    threads: usize,
) -> CliResult<SessionCheck> {
    let engine = context::throwaway_engine(args, threads, SESSION_EXPIRY)?;
    let progress = Progress::new("capture sessions", groups.len() as u64);
    let ended = parallel_map(groups, threads, &progress, |g| {
        let frames: Vec<&Sample> = g.iter().map(|&i| &samples[i]).collect();
        through_session(&engine, level, &frames)
    });
    progress.finish();
    let mut check = SessionCheck {
        bursts: groups.len(),
        identical: 0,
        sealed: 0,
        refused: 0,
        live_without_template: 0,
        differing: Vec::new(),
    };
    for ((g, ended), want) in groups.iter().zip(ended).zip(expected) {
        match ended? {
            Ended::Decided { sealed, decision } if *decision == *want && sealed == want.live => {
                check.identical += 1;
                if sealed {
                    check.sealed += 1;
                } else {
                    check.refused += 1;
                }
            }
            Ended::NoUsableFace if want.live => check.live_without_template += 1,
            _ => {
                if check.differing.len() < 10 {
                    check.differing.push(samples[g[0]].session.clone());
                }
            }
        }
    }
    Ok(check)
}
