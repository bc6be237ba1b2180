//! The device's part: an engine holding the tenant's public key and template
//! secret, and a capture session over the burst that ends sealed or refused.

use std::sync::Arc;
use std::time::Duration;

use faceseal_core::engine::{
    CaptureError, CaptureOutcome, CaptureSessionConfig, Engine, EngineConfig, FrameFeedback,
    FrameInput, RequestOptions, TemplateConfig,
};
use faceseal_core::seal::{ChallengeNonce, Purpose, SecurityLevel, TenantPublicKey};
use faceseal_core::template::{IomParams, TemplateSecret};
use faceseal_vision::liveness::BurstDecision;
use zeroize::Zeroizing;

use super::api::Bundle;
use super::frames::Frame;
use crate::GlobalArgs;
use crate::context;
use crate::exit::{Exit, Failure};

/// Frames come from files, possibly on a loaded machine, not from a camera
/// at its rate: the session gets a minute instead of the SDK's 10 s. The
/// server's challenge lifetime still bounds the whole capture.
const SESSION_EXPIRY: Duration = Duration::from_secs(60);
/// Per request (one frame, or the final embedding and sealing).
const REQUEST_DEADLINE: Duration = Duration::from_secs(60);

/// The engine for one tenant, from its bundle and the template secret (hex).
pub fn engine(
    args: &GlobalArgs,
    bundle: &Bundle,
    template_secret_hex: &str,
) -> Result<Arc<Engine>, Failure> {
    let secret = template_secret(template_secret_hex)?;
    let public_key = hex32(&bundle.public_key).ok_or_else(|| {
        Failure::new(
            Exit::Server,
            "bad_reply",
            "the bundle's public key is not 32 bytes of hex",
        )
    })?;
    let params = IomParams::new(bundle.template.m, bundle.template.q).map_err(|e| {
        Failure::new(
            Exit::Server,
            "bad_reply",
            format!("the bundle's template parameters: {e}"),
        )
    })?;
    let mut config = EngineConfig::new(context::locator(args))
        .with_tenant(
            bundle.tenant_id.clone(),
            TenantPublicKey::from_bytes(public_key),
        )
        .with_template(TemplateConfig {
            secret,
            key_version: bundle.template.key_version,
            params,
        })
        .with_default_deadline(REQUEST_DEADLINE);
    config.analyzer = context::config(args);
    Engine::new(config)
        .map(Arc::new)
        .map_err(|e| Failure::usage("model", format!("the engine could not start: {e}")))
}

fn template_secret(text: &str) -> Result<TemplateSecret, Failure> {
    let bad = || {
        Failure::usage(
            "invalid_template_secret",
            "the template secret must be the hex string printed at tenant creation",
        )
    };
    let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| bad())?);
    TemplateSecret::from_bytes(&bytes).map_err(|_| bad())
}

pub fn hex32(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

/// The terms of one capture.
pub struct Terms<'a> {
    pub purpose: Purpose,
    pub subject_id: &'a str,
    pub consent_ref: &'a str,
    pub nonce: ChallengeNonce,
    /// The tenant's required liveness level, from its bundle.
    pub level: SecurityLevel,
}

/// How a capture ended on the device.
pub enum Captured {
    Sealed(Box<CaptureOutcome>),
    NotLive(Box<BurstDecision>),
}

/// Pushes every frame, calling `on_frame` with each one's feedback, then
/// finishes the session.
pub fn capture(
    engine: &Arc<Engine>,
    terms: &Terms<'_>,
    frames: &[Frame],
    mut on_frame: impl FnMut(&Frame, &FrameFeedback),
) -> Result<Captured, Failure> {
    let session = engine
        .start_capture(
            CaptureSessionConfig::new(
                terms.purpose,
                terms.subject_id,
                terms.consent_ref,
                terms.nonce,
            )
            .with_expiry(SESSION_EXPIRY)
            .with_level(terms.level),
        )
        .map_err(capture_failure)?;
    let options = RequestOptions::default();
    for frame in frames {
        let bytes = context::read_bytes(&frame.path)?;
        let feedback = session
            .push_frame(FrameInput::encoded(&bytes), frame.timestamp_ms, &options)
            .map_err(|e| {
                let mut f = capture_failure(e);
                f.message = format!("{}: {}", frame.path.display(), f.message);
                f
            })?;
        on_frame(frame, &feedback);
    }
    match session.finish(&options) {
        Ok(outcome) => Ok(Captured::Sealed(Box::new(outcome))),
        Err(CaptureError::NotLive(decision)) => Ok(Captured::NotLive(decision)),
        Err(e) => Err(capture_failure(e)),
    }
}

/// A capture error as a usage/input error, or internal when the engine
/// itself failed. Its messages never name the subject or the consent.
fn capture_failure(error: CaptureError) -> Failure {
    use faceseal_core::engine::ErrorKind;
    let (exit, code) = match &error {
        CaptureError::NotEnoughFrames { .. } => (Exit::Usage, "not_enough_frames"),
        CaptureError::NoUsableFace => (Exit::Usage, "no_usable_face"),
        CaptureError::FrameSizeChanged { .. } => (Exit::Usage, "frame_size_changed"),
        CaptureError::TooManyFrames { .. } => (Exit::Usage, "too_many_frames"),
        CaptureError::Expired => (Exit::Usage, "session_expired"),
        CaptureError::Engine(e) => match e.kind() {
            ErrorKind::InvalidImage => (Exit::Usage, "invalid_image"),
            ErrorKind::InvalidArgument => (Exit::Usage, "invalid_input"),
            ErrorKind::Consent => (Exit::Usage, "invalid_consent"),
            ErrorKind::Model => (Exit::Usage, "model"),
            ErrorKind::NotConfigured => (Exit::Usage, "not_configured"),
            _ => (Exit::Internal, "internal"),
        },
        _ => (Exit::Internal, "internal"),
    };
    Failure::new(exit, code, error.to_string())
}
