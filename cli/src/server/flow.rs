//! `faceseal enrol` and `faceseal verify`: the backend's and the device's
//! parts of one capture, in the order a product runs them. The backend
//! (API key) fetches the bundle and asks for a challenge naming the subject;
//! the device (capture token only) captures, seals and posts; the backend
//! reads the decision by challenge id.

use faceseal_core::engine::FrameFeedback;
use faceseal_core::seal::{ChallengeNonce, Purpose, SecurityLevel};
use faceseal_vision::liveness::BurstDecision;
use serde::Serialize;

use super::CaptureArgs;
use super::api::{Posted, SyncClient};
use super::device::{self, Captured, Terms};
use super::frames::{self, Frame};
use crate::GlobalArgs;
use crate::exit::{Exit, Failure};

#[derive(Serialize)]
struct FrameReport {
    file: String,
    timestamp_ms: u64,
    guidance: String,
    instruction: &'static str,
    usable_frames: usize,
    frames_needed: usize,
}

#[derive(Serialize)]
struct Refusal {
    status: u16,
    error: String,
    message: String,
}

#[derive(Serialize)]
struct Report {
    command: &'static str,
    subject_id: String,
    challenge_id: String,
    frames: Vec<FrameReport>,
    liveness: BurstDecision,
    quality_score: Option<f32>,
    /// Whether an envelope left the device.
    posted: bool,
    /// What the device was told: `decided`, never the decision.
    receipt: Option<String>,
    /// The server's refusal of the envelope, when it refused it.
    refusal: Option<Refusal>,
    /// The challenge's state and outcome as the backend reads them;
    /// `not_live` when the device refused the burst.
    status: Option<String>,
    outcome: String,
    matched: Option<bool>,
}

pub fn run(global: &GlobalArgs, purpose: Purpose, args: &CaptureArgs) -> Result<Exit, Failure> {
    let (name, route) = match purpose {
        Purpose::Verify => ("verify", "/v1/verifications"),
        _ => ("enrol", "/v1/enrolments"),
    };
    if args.replace && purpose != Purpose::Enrol {
        return Err(Failure::usage("usage", "--replace is for enrolment only"));
    }
    // Input first: nothing goes to the server for a burst that cannot be read.
    let burst = frames::burst(&args.frames, args.fps)?;
    let client = SyncClient::new(&args.server.server, &args.server.api_key)?;
    let bundle = client.bundle()?;
    let level = SecurityLevel::from_name(&bundle.liveness_level).ok_or_else(|| {
        Failure::new(
            Exit::Server,
            "bad_reply",
            "the bundle names an unknown liveness level",
        )
    })?;
    // Models load before the challenge is issued, so its lifetime is spent
    // on the capture alone.
    let engine = device::engine(global, &bundle, &args.template_secret)?;
    let challenge = client.challenge(name, &args.subject, args.replace)?;
    let nonce = device::hex32(&challenge.nonce)
        .map(ChallengeNonce::from_bytes)
        .ok_or_else(|| {
            Failure::new(
                Exit::Server,
                "bad_reply",
                "the challenge nonce is not 32 bytes of hex",
            )
        })?;
    let token = challenge.capture_token.clone().ok_or_else(|| {
        Failure::new(
            Exit::Server,
            "bad_reply",
            "the challenge came without a capture token",
        )
    })?;
    if !global.json {
        println!(
            "{name}: challenge {} (expires at {}), key {}, liveness level {}, {} frames at {} fps",
            challenge.challenge_id,
            challenge.expires_at,
            bundle.key_id,
            level.name(),
            burst.len(),
            args.fps
        );
    }

    let terms = Terms {
        purpose,
        subject_id: &args.subject,
        consent_ref: &args.consent,
        nonce,
        level,
    };
    let mut reports = Vec::with_capacity(burst.len());
    let captured = device::capture(&engine, &terms, &burst, |frame, feedback| {
        let report = frame_report(frame, feedback);
        if !global.json {
            println!(
                "frame {}/{} {} at {} ms: {} ({} usable of {} needed)",
                feedback.frames,
                burst.len(),
                report.file,
                report.timestamp_ms,
                report.instruction,
                report.usable_frames,
                report.frames_needed
            );
        }
        reports.push(report);
    })?;

    let mut report = Report {
        command: name,
        subject_id: args.subject.clone(),
        challenge_id: challenge.challenge_id.clone(),
        frames: reports,
        liveness: match &captured {
            Captured::Sealed(o) => o.decision.clone(),
            Captured::NotLive(d) => (**d).clone(),
        },
        quality_score: None,
        posted: false,
        receipt: None,
        refusal: None,
        status: None,
        outcome: "not_live".into(),
        matched: None,
    };
    if let Captured::Sealed(outcome) = &captured {
        report.quality_score = Some(outcome.quality_score);
        report.posted = true;
        match client.post_envelope(route, &token, outcome.sealed.as_bytes())? {
            Posted::Receipt { status } => report.receipt = Some(status),
            Posted::Refused {
                status,
                code,
                message,
            } => {
                report.refusal = Some(Refusal {
                    status,
                    error: code,
                    message,
                })
            }
        }
        let decided = client.challenge_status(&challenge.challenge_id)?;
        report.outcome = decided
            .outcome
            .clone()
            .unwrap_or_else(|| match &report.refusal {
                Some(r) => format!("refused:{}", r.error),
                None => decided.status.clone(),
            });
        report.status = Some(decided.status);
        report.matched = decided.matched;
    }
    let success = match purpose {
        Purpose::Verify => report.matched == Some(true),
        _ => matches!(report.outcome.as_str(), "enrolled" | "replaced"),
    };
    if global.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| Failure::new(
                Exit::Internal,
                "internal",
                e.to_string()
            ))?
        );
    } else {
        print!("{}", human(&report));
    }
    Ok(if success {
        Exit::Success
    } else {
        Exit::Against
    })
}

fn frame_report(frame: &Frame, feedback: &FrameFeedback) -> FrameReport {
    let code = serde_json::to_value(feedback.guidance)
        .ok()
        .and_then(|v| v["guidance"].as_str().map(str::to_owned))
        .unwrap_or_default();
    FrameReport {
        file: frame
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        timestamp_ms: frame.timestamp_ms,
        guidance: code,
        instruction: feedback.guidance.instruction(),
        usable_frames: feedback.usable_frames,
        frames_needed: feedback.frames_needed,
    }
}

fn human(r: &Report) -> String {
    let d = &r.liveness;
    let reasons: Vec<String> = d
        .reasons
        .iter()
        .map(|x| {
            serde_json::to_value(x)
                .ok()
                .and_then(|v| match (&v["reason"], &v["detail"]) {
                    (serde_json::Value::String(s), serde_json::Value::Null) => Some(s.clone()),
                    (serde_json::Value::String(s), d) => Some(format!("{s}({d})")),
                    _ => None,
                })
                .unwrap_or_else(|| format!("{x:?}"))
        })
        .collect();
    let opt = |v: Option<f32>| v.map_or("-".to_owned(), |v| format!("{v:.3}"));
    let s = &d.scores;
    let mut out = format!(
        "liveness: {} (score {:.3}; reasons: {})\n  signals: passive {:.3}, screen {}, border {}, glare {}, parallax {:.3}, challenge {}\n",
        if d.live { "live" } else { "NOT LIVE" },
        d.score,
        reasons.join(", "),
        s.passive,
        opt(s.screen),
        opt(s.border),
        opt(s.glare),
        s.parallax,
        opt(s.challenge),
    );
    if !r.posted {
        out.push_str("refused on the device: the burst is not live; nothing was sent\n");
        return out;
    }
    if let Some(q) = r.quality_score {
        out.push_str(&format!("quality: {q:.3}\n"));
    }
    match &r.refusal {
        Some(f) => out.push_str(&format!(
            "server refused the envelope: {} {} ({})\n",
            f.status, f.error, f.message
        )),
        None => out.push_str("envelope sent with the capture token\n"),
    }
    out.push_str(&format!(
        "decision: {}{} (challenge {}, {})\n",
        r.outcome,
        r.matched
            .map_or(String::new(), |m| format!(", matched {m}")),
        r.challenge_id,
        r.status.as_deref().unwrap_or("-"),
    ));
    out
}
