//! `FacesealCaptureSession`: a capture from the camera, frame by frame,
//! with guidance for the person and the burst liveness decision at the end.

use std::ffi::c_char;
use std::time::Duration;

use faceseal_core::engine::{
    CaptureSession, CaptureSessionConfig, DEFAULT_BURST_FRAMES, DEFAULT_SESSION_EXPIRY,
    FrameFeedback, Guidance,
};
use faceseal_core::seal::{ChallengeNonce, Purpose};
use faceseal_vision::liveness::TemporalIssue;
use faceseal_vision::liveness::{BurstDecision, BurstReason, HeadTurn, SecurityLevel};

use super::call::{FfiError, FfiResult, call, call_void, free_handle};
use super::engine::{FacesealEngine, request_options};
use super::strings::{byte_slice, in_ref, out_ptr, required_str};
use super::{FacesealBytes, FacesealFrame, FacesealRequest, FacesealStatus, faceseal_bytes_free};

/// Most refusal reasons a `FacesealBurstDecision` carries.
pub const FACESEAL_MAX_REASONS: usize = 16;

/// Values of `FacesealCaptureConfig.purpose`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacesealPurpose {
    Enrol = 1,
    Verify = 2,
}

/// Values of `FacesealCaptureConfig.level` and of the `level` argument of
/// the one-shot calls: the tenant's required security level (from its
/// bundle). 0 takes the default, `FACESEAL_SECURITY_LEVEL_STANDARD`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacesealSecurityLevel {
    Default = 0,
    Basic = 1,
    Standard = 2,
    /// Asks the person for head movements (the challenge).
    Strict = 3,
}

/// Values of `FacesealFrameFeedback.guidance`: what to tell the person in
/// front of the camera. `faceseal_guidance_instruction` gives the text.
/// New values may be added: show the text of an unknown one.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacesealGuidance {
    NoFace = 0,
    MultipleFaces = 1,
    MoveCloser = 2,
    MoveBack = 3,
    CentreFace = 4,
    HoldStill = 5,
    TooDark = 6,
    TooBright = 7,
    MoveOutOfLight = 8,
    TurnLeft = 9,
    TurnRight = 10,
    TurnUp = 11,
    TurnDown = 12,
    /// Enough good frames: call `faceseal_capture_finish`.
    Done = 13,
}

/// Values of `FacesealBurstDecision.reasons`: why a burst was refused.
/// New values may be added: treat an unknown one as a refusal.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacesealRefusalReason {
    /// Not a refusal: the burst is live.
    Live = 0,
    /// The texture models see a print or a screen.
    Passive = 1,
    /// Moiré or screen-pixel energy on the face.
    Screen = 2,
    /// Straight edges frame the face: a device or a sheet held up.
    ScreenBorder = 3,
    /// Glare on the face: a screen's glass or a glossy print.
    Glare = 4,
    /// The face moved like a plane (a photo).
    Planar = 5,
    /// Strict level: no head rotation shown, so no 3-D evidence.
    NoParallax = 6,
    /// Strict level: no challenge to check.
    ChallengeMissing = 7,
    /// The movements asked for were not made, in order, in time.
    Challenge = 8,
    /// Too few frames for a burst.
    TemporalTooFewFrames = 9,
    /// Capture times do not increase.
    TemporalTimeNotIncreasing = 10,
    /// Frames without a face.
    TemporalFaceMissing = 11,
    /// Frames with several faces.
    TemporalMultipleFaces = 12,
    /// The face jumps between frames: not one continuous capture.
    TemporalTrackBroken = 13,
    /// The same picture repeated: a replayed still.
    TemporalRepeatedFrames = 14,
    /// A reason this header does not know yet.
    Other = 255,
}

/// The terms of one capture. Zero-initialise it, then set the fields.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FacesealCaptureConfig {
    /// A `FacesealPurpose` value.
    pub purpose: u32,
    /// A `FacesealSecurityLevel` value (0: the default).
    pub level: u32,
    /// NUL-terminated UTF-8, required.
    pub subject_id: *const c_char,
    /// NUL-terminated UTF-8, required: the consent record's reference.
    pub consent_ref: *const c_char,
    /// The 32-byte nonce the tenant's server issued for this operation.
    pub challenge: *const u8,
    pub challenge_len: usize,
    /// Milliseconds the session lives; 0 takes the default (10 s).
    pub expiry_ms: u32,
    /// Frames needed before `faceseal_capture_finish` decides (2 to 60); 0
    /// takes the default (5).
    pub burst_frames: u32,
}

/// The session's answer to one frame.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct FacesealFrameFeedback {
    /// A `FacesealGuidance` value.
    pub guidance: u32,
    /// Frames pushed so far, this one included.
    pub frames: u32,
    /// Frames with one good-quality face.
    pub usable_frames: u32,
    /// Frames the burst needs.
    pub frames_needed: u32,
    /// Challenge movements shown so far, and required (0 when not asked).
    pub turns_done: u32,
    pub turns_required: u32,
    /// Zero; room for later fields without an ABI break.
    pub reserved: [u32; 8],
}

/// Per-signal scores of a burst, each mapped to 0..1 with 0.5 at its
/// threshold (higher is more live); -1 for a signal that was not read.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct FacesealBurstScores {
    pub passive: f32,
    pub screen: f32,
    pub border: f32,
    pub glare: f32,
    pub parallax: f32,
    pub challenge: f32,
    /// Zero; room for later signals.
    pub reserved: [f32; 6],
}

/// The liveness layer's decision on a burst.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct FacesealBurstDecision {
    pub live: bool,
    /// The `FacesealSecurityLevel` applied.
    pub level: u32,
    /// Fused score, 0..1.
    pub score: f32,
    /// The texture models' fused live probability over the burst, 0..1.
    pub passive_score: f32,
    pub scores: FacesealBurstScores,
    /// `FacesealRefusalReason` values; `FACESEAL_REFUSAL_REASON_LIVE` alone
    /// when live.
    pub reason_count: u32,
    pub reasons: [u32; FACESEAL_MAX_REASONS],
    /// Zero; room for later fields.
    pub reserved: [u32; 8],
}

/// What `faceseal_capture_finish` gives. Free it with
/// `faceseal_capture_result_free` (which wipes the buffers).
#[repr(C)]
#[derive(Debug)]
pub struct FacesealCaptureResult {
    /// The envelope for the tenant's server (empty when refused).
    pub sealed: FacesealBytes,
    /// The protected template, for kiosk mode (empty when refused).
    pub protected_template: FacesealBytes,
    pub decision: FacesealBurstDecision,
    /// Lowest quality score of the frames fused into the template.
    pub quality_score: f32,
    /// Zero; room for later fields.
    pub reserved: [u32; 8],
}

/// One capture in progress (opaque). Calls on one session are serialised:
/// a call made while another runs on it fails with `FACESEAL_STATUS_IN_USE`.
/// The session holds what the burst checker keeps (thumbnails, hashes and
/// the best face chips, wiped when freed), never a camera frame.
pub struct FacesealCaptureSession {
    session: CaptureSession,
}

pub(crate) fn level_from_c(level: u32) -> FfiResult<SecurityLevel> {
    Ok(match level {
        0 => SecurityLevel::default(),
        1 => SecurityLevel::Basic,
        2 => SecurityLevel::Standard,
        3 => SecurityLevel::Strict,
        _ => return Err(FfiError::invalid("level is not a FacesealSecurityLevel")),
    })
}

fn level_to_c(level: SecurityLevel) -> u32 {
    match level {
        SecurityLevel::Basic => FacesealSecurityLevel::Basic as u32,
        SecurityLevel::Strict => FacesealSecurityLevel::Strict as u32,
        _ => FacesealSecurityLevel::Standard as u32,
    }
}

/// A 32-byte challenge from C.
///
/// # Safety
/// `challenge` is NULL or points to `len` readable bytes.
pub(crate) unsafe fn challenge_from_c(
    challenge: *const u8,
    len: usize,
) -> FfiResult<ChallengeNonce> {
    // SAFETY: forwarded from this function's contract.
    let bytes = unsafe { byte_slice(challenge, len, "challenge") }?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| FfiError::invalid("challenge must be 32 bytes"))?;
    Ok(ChallengeNonce::from_bytes(bytes))
}

fn guidance_code(g: Guidance) -> FacesealGuidance {
    match g {
        Guidance::NoFace => FacesealGuidance::NoFace,
        Guidance::MultipleFaces => FacesealGuidance::MultipleFaces,
        Guidance::MoveCloser => FacesealGuidance::MoveCloser,
        Guidance::MoveBack => FacesealGuidance::MoveBack,
        Guidance::CentreFace => FacesealGuidance::CentreFace,
        Guidance::TooDark => FacesealGuidance::TooDark,
        Guidance::TooBright => FacesealGuidance::TooBright,
        Guidance::MoveOutOfLight => FacesealGuidance::MoveOutOfLight,
        Guidance::Turn(HeadTurn::Left) => FacesealGuidance::TurnLeft,
        Guidance::Turn(HeadTurn::Right) => FacesealGuidance::TurnRight,
        Guidance::Turn(HeadTurn::Up) => FacesealGuidance::TurnUp,
        Guidance::Turn(HeadTurn::Down) => FacesealGuidance::TurnDown,
        Guidance::Done => FacesealGuidance::Done,
        _ => FacesealGuidance::HoldStill,
    }
}

/// The core guidance of a code, for its text.
fn guidance_of(code: u32) -> Option<Guidance> {
    Some(match code {
        0 => Guidance::NoFace,
        1 => Guidance::MultipleFaces,
        2 => Guidance::MoveCloser,
        3 => Guidance::MoveBack,
        4 => Guidance::CentreFace,
        5 => Guidance::HoldStill,
        6 => Guidance::TooDark,
        7 => Guidance::TooBright,
        8 => Guidance::MoveOutOfLight,
        9 => Guidance::Turn(HeadTurn::Left),
        10 => Guidance::Turn(HeadTurn::Right),
        11 => Guidance::Turn(HeadTurn::Up),
        12 => Guidance::Turn(HeadTurn::Down),
        13 => Guidance::Done,
        _ => return None,
    })
}

/// Static NUL-terminated names of the guidance codes, by value.
const GUIDANCE_NAMES: [&str; 14] = [
    "no_face\0",
    "multiple_faces\0",
    "move_closer\0",
    "move_back\0",
    "centre_face\0",
    "hold_still\0",
    "too_dark\0",
    "too_bright\0",
    "move_out_of_light\0",
    "turn_left\0",
    "turn_right\0",
    "turn_up\0",
    "turn_down\0",
    "done\0",
];

/// Static NUL-terminated instructions of the guidance codes, by value.
const GUIDANCE_TEXT: [&str; 14] = [
    "no face found: face the camera\0",
    "more than one face: only one person in view\0",
    "move closer\0",
    "move back a little\0",
    "centre your face in the frame\0",
    "hold still\0",
    "too dark: find more light\0",
    "too bright: avoid direct light\0",
    "light glares on your face: move out of the light\0",
    "turn your head to your left\0",
    "turn your head to your right\0",
    "tilt your head up\0",
    "tilt your head down\0",
    "done\0",
];

fn reason_code(r: &BurstReason) -> FacesealRefusalReason {
    use FacesealRefusalReason as R;
    match r {
        BurstReason::Live => R::Live,
        BurstReason::PassiveSpoof => R::Passive,
        BurstReason::ScreenCues => R::Screen,
        BurstReason::ScreenBorder => R::ScreenBorder,
        BurstReason::Glare => R::Glare,
        BurstReason::PlanarFace => R::Planar,
        BurstReason::NoParallax => R::NoParallax,
        BurstReason::ChallengeMissing => R::ChallengeMissing,
        BurstReason::ChallengeFailed => R::Challenge,
        BurstReason::Temporal(t) => match t {
            TemporalIssue::TooFewFrames => R::TemporalTooFewFrames,
            TemporalIssue::TimeNotIncreasing => R::TemporalTimeNotIncreasing,
            TemporalIssue::FaceMissing => R::TemporalFaceMissing,
            TemporalIssue::MultipleFaces => R::TemporalMultipleFaces,
            TemporalIssue::TrackBroken => R::TemporalTrackBroken,
            TemporalIssue::RepeatedFrames => R::TemporalRepeatedFrames,
            _ => R::Other,
        },
        _ => R::Other,
    }
}

/// Static NUL-terminated names of the refusal reasons.
fn reason_name(code: u32) -> &'static str {
    match code {
        0 => "live\0",
        1 => "passive_spoof\0",
        2 => "screen_cues\0",
        3 => "screen_border\0",
        4 => "glare\0",
        5 => "planar_face\0",
        6 => "no_parallax\0",
        7 => "challenge_missing\0",
        8 => "challenge_failed\0",
        9 => "temporal_too_few_frames\0",
        10 => "temporal_time_not_increasing\0",
        11 => "temporal_face_missing\0",
        12 => "temporal_multiple_faces\0",
        13 => "temporal_track_broken\0",
        14 => "temporal_repeated_frames\0",
        _ => "other\0",
    }
}

pub(crate) fn decision_to_c(d: &BurstDecision) -> FacesealBurstDecision {
    let opt = |v: Option<f32>| v.unwrap_or(-1.0);
    let mut reasons = [0u32; FACESEAL_MAX_REASONS];
    let mut count = 0;
    for (slot, r) in reasons.iter_mut().zip(&d.reasons) {
        *slot = reason_code(r) as u32;
        count += 1;
    }
    FacesealBurstDecision {
        live: d.live,
        level: level_to_c(d.level),
        score: d.score,
        passive_score: d.passive.score,
        scores: FacesealBurstScores {
            passive: d.scores.passive,
            screen: opt(d.scores.screen),
            border: opt(d.scores.border),
            glare: opt(d.scores.glare),
            parallax: d.scores.parallax,
            challenge: opt(d.scores.challenge),
            reserved: [0.0; 6],
        },
        reason_count: count,
        reasons,
        reserved: [0; 8],
    }
}

fn feedback_to_c(f: &FrameFeedback) -> FacesealFrameFeedback {
    let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    FacesealFrameFeedback {
        guidance: guidance_code(f.guidance) as u32,
        frames: n(f.frames),
        usable_frames: n(f.usable_frames),
        frames_needed: n(f.frames_needed),
        turns_done: n(f.turns_done),
        turns_required: n(f.turns_required),
        reserved: [0; 8],
    }
}

/// Starts a capture session on `engine`. The cheap checks (consent, subject
/// id, challenge length, keys) happen here, before any frame. The session
/// keeps the engine's workers alive until it is freed.
///
/// # Safety
/// `engine` NULL or live; `config` NULL or valid, with its strings NULL or
/// NUL-terminated and its challenge NULL or `challenge_len` readable bytes;
/// `out_session` NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_capture_new(
    engine: *const FacesealEngine,
    config: *const FacesealCaptureConfig,
    out_session: *mut *mut FacesealCaptureSession,
) -> FacesealStatus {
    call(|| {
        // SAFETY: pointers as the function contract says.
        let (engine, config, out) = unsafe {
            (
                in_ref(engine, "engine")?,
                in_ref(config, "config")?,
                out_ptr(out_session, "out_session")?,
            )
        };
        let purpose = match config.purpose {
            1 => Purpose::Enrol,
            2 => Purpose::Verify,
            _ => return Err(FfiError::invalid("purpose is not a FacesealPurpose")),
        };
        // SAFETY: the config's pointers as the function contract says.
        let (subject_id, consent_ref, challenge) = unsafe {
            (
                required_str(config.subject_id, "subject_id")?,
                required_str(config.consent_ref, "consent_ref")?,
                challenge_from_c(config.challenge, config.challenge_len)?,
            )
        };
        let expiry = match config.expiry_ms {
            0 => DEFAULT_SESSION_EXPIRY,
            ms => Duration::from_millis(u64::from(ms)),
        };
        let burst_frames = match config.burst_frames {
            0 => DEFAULT_BURST_FRAMES,
            n => n as usize,
        };
        let session_config = CaptureSessionConfig::new(purpose, subject_id, consent_ref, challenge)
            .with_level(level_from_c(config.level)?)
            .with_expiry(expiry)
            .with_burst_frames(burst_frames);
        let session = engine.engine.start_capture(session_config)?;
        *out = Box::into_raw(Box::new(FacesealCaptureSession { session }));
        Ok(())
    })
}

/// Analyses one camera frame, captured at `frame->timestamp_ms`, and writes
/// what the person should do next to `out_feedback`. Frames must come in
/// increasing time and keep one size; the frame's bytes are copied.
///
/// # Safety
/// `session` NULL or live; `frame` NULL or valid with its data; `request`
/// NULL or valid; `out_feedback` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_capture_push_frame(
    session: *const FacesealCaptureSession,
    frame: *const FacesealFrame,
    request: *const FacesealRequest,
    out_feedback: *mut FacesealFrameFeedback,
) -> FacesealStatus {
    call(|| {
        // SAFETY: pointers as the function contract says.
        let (session, frame, options, out) = unsafe {
            (
                in_ref(session, "session")?,
                in_ref(frame, "frame")?,
                request_options(request),
                out_ptr(out_feedback, "out_feedback")?,
            )
        };
        // SAFETY: the frame's data pointer as the function contract says.
        let input = unsafe { frame.copy_input(0) }?;
        let feedback = session
            .session
            .push_frame(input, frame.timestamp_ms, &options)?;
        *out = feedback_to_c(&feedback);
        Ok(())
    })
}

/// Decides the burst. Live: writes the sealed envelope, the protected
/// template and the decision to `out_result` and returns
/// `FACESEAL_STATUS_OK`. Refused by the liveness layer: returns
/// `FACESEAL_STATUS_NOT_LIVE` and, unlike other failures, writes
/// `out_result` too, with empty buffers and the decision's reasons and
/// scores. The session is over after either (`FACESEAL_STATUS_FINISHED`
/// from then on). Free the result with `faceseal_capture_result_free`.
///
/// # Safety
/// `session` NULL or live; `request` NULL or valid; `out_result` NULL or
/// valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_capture_finish(
    session: *const FacesealCaptureSession,
    request: *const FacesealRequest,
    out_result: *mut FacesealCaptureResult,
) -> FacesealStatus {
    call(|| {
        // SAFETY: pointers as the function contract says.
        let (session, options, out) = unsafe {
            (
                in_ref(session, "session")?,
                request_options(request),
                out_ptr(out_result, "out_result")?,
            )
        };
        match session.session.finish(&options) {
            Ok(outcome) => {
                *out = FacesealCaptureResult {
                    sealed: FacesealBytes::from_vec(outcome.sealed.into_bytes()),
                    protected_template: FacesealBytes::from_vec(
                        outcome.template.to_bytes().to_vec(),
                    ),
                    decision: decision_to_c(&outcome.decision),
                    quality_score: outcome.quality_score,
                    reserved: [0; 8],
                };
                Ok(())
            }
            Err(faceseal_core::engine::CaptureError::NotLive(decision)) => {
                *out = FacesealCaptureResult {
                    sealed: FacesealBytes::empty(),
                    protected_template: FacesealBytes::empty(),
                    decision: decision_to_c(&decision),
                    quality_score: 0.0,
                    reserved: [0; 8],
                };
                Err(FfiError::new(
                    FacesealStatus::NotLive,
                    "liveness refused the capture: see the result's reasons",
                ))
            }
            Err(e) => Err(e.into()),
        }
    })
}

/// Wipes and frees the buffers of a result and empties it. NULL, and a
/// result already freed, are accepted.
///
/// # Safety
/// `result` NULL or a result filled by `faceseal_capture_finish` (or
/// zero-initialised) and not changed since.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_capture_result_free(result: *mut FacesealCaptureResult) {
    call_void(|| {
        // SAFETY: NULL or valid and exclusive by the function contract.
        let Some(result) = (unsafe { result.as_mut() }) else {
            return;
        };
        // SAFETY: both buffers were filled by this library (or are empty).
        unsafe {
            faceseal_bytes_free(&mut result.sealed);
            faceseal_bytes_free(&mut result.protected_template);
        }
        result.decision = FacesealBurstDecision::default();
        result.quality_score = 0.0;
    });
}

/// Frees a session and wipes what it kept (NULL is accepted).
///
/// # Safety
/// `session` NULL or a pointer from `faceseal_capture_new`, not yet freed,
/// with no call running on it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_capture_free(session: *mut FacesealCaptureSession) {
    // SAFETY: NULL or from faceseal_capture_new, freed once (function contract).
    unsafe { free_handle(session) };
}

/// The instruction to show or speak for a `FacesealGuidance` value: a
/// static NUL-terminated string (never free it); "" for an unknown value.
#[unsafe(no_mangle)]
pub extern "C" fn faceseal_guidance_instruction(guidance: u32) -> *const c_char {
    let text = guidance_of(guidance).map_or("\0", |g| GUIDANCE_TEXT[guidance_code(g) as usize]);
    text.as_ptr().cast()
}

/// The snake_case name of a `FacesealGuidance` value ("hold_still",
/// "turn_left"...), static; "unknown" for an unknown value.
#[unsafe(no_mangle)]
pub extern "C" fn faceseal_guidance_name(guidance: u32) -> *const c_char {
    let name = GUIDANCE_NAMES
        .get(guidance as usize)
        .copied()
        .unwrap_or("unknown\0");
    name.as_ptr().cast()
}

/// The snake_case name of a `FacesealRefusalReason` value ("passive_spoof",
/// "planar_face"...), static; "other" for an unknown value.
#[unsafe(no_mangle)]
pub extern "C" fn faceseal_refusal_reason_name(reason: u32) -> *const c_char {
    reason_name(reason).as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn text(p: *const c_char) -> &'static str {
        // SAFETY: the functions return static NUL-terminated strings.
        unsafe { CStr::from_ptr(p) }.to_str().unwrap()
    }

    #[test]
    fn every_guidance_code_has_the_cores_text_and_a_name() {
        for code in 0..14 {
            let g = guidance_of(code).unwrap();
            assert_eq!(guidance_code(g) as u32, code);
            assert_eq!(text(faceseal_guidance_instruction(code)), g.instruction());
            assert!(!text(faceseal_guidance_name(code)).is_empty());
        }
        assert_eq!(text(faceseal_guidance_instruction(99)), "");
        assert_eq!(text(faceseal_guidance_name(99)), "unknown");
    }

    #[test]
    fn every_reason_has_its_own_code_and_name() {
        let temporal = [
            TemporalIssue::TooFewFrames,
            TemporalIssue::TimeNotIncreasing,
            TemporalIssue::FaceMissing,
            TemporalIssue::MultipleFaces,
            TemporalIssue::TrackBroken,
            TemporalIssue::RepeatedFrames,
        ];
        let mut all = vec![
            BurstReason::Live,
            BurstReason::PassiveSpoof,
            BurstReason::ScreenCues,
            BurstReason::ScreenBorder,
            BurstReason::Glare,
            BurstReason::PlanarFace,
            BurstReason::NoParallax,
            BurstReason::ChallengeMissing,
            BurstReason::ChallengeFailed,
        ];
        all.extend(temporal.map(BurstReason::Temporal));
        let codes: std::collections::BTreeSet<u32> =
            all.iter().map(|r| reason_code(r) as u32).collect();
        assert_eq!(codes.len(), all.len());
        assert!(!codes.contains(&(FacesealRefusalReason::Other as u32)));
        let names: std::collections::BTreeSet<&str> = codes
            .iter()
            .map(|c| text(faceseal_refusal_reason_name(*c)))
            .collect();
        assert_eq!(names.len(), all.len());
    }
}
