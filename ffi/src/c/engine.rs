//! `FacesealEngine`: the engine's operations for C.

use std::ffi::c_char;
use std::time::Duration;

use std::sync::Arc;

use faceseal_core::engine::{
    CancelToken, CaptureError, CaptureTerms, Engine, RequestOptions, TimedInput,
};
use faceseal_core::template::ProtectedTemplate;

use super::call::{FfiError, FfiResult, call, free_handle};
use super::capture::{FacesealBurstDecision, challenge_from_c, decision_to_c, level_from_c};
use super::frame::{frames_from_c, timed_frames_from_c};
use super::strings::{byte_slice, in_ref, optional_str, out_ptr, required_str};
use super::{FacesealBytes, FacesealConfig, FacesealFrame, FacesealStatus};

/// The loaded models, keys and worker threads (opaque). Thread-safe: one
/// engine may serve calls from many threads at once. Free it with
/// `faceseal_engine_free` once no call is running on it.
pub struct FacesealEngine {
    pub(crate) engine: Arc<Engine>,
}

/// Lets one thread cancel requests running on others (opaque).
pub struct FacesealCancelToken {
    token: CancelToken,
}

/// Per-call options; pass NULL for the defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FacesealRequest {
    /// The call's deadline in milliseconds from now; 0 takes the engine's default.
    pub timeout_ms: u32,
    /// NULL, or a token whose `faceseal_cancel_token_cancel` abandons the call.
    pub cancel: *const FacesealCancelToken,
}

/// One detected face, in picture pixels.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct FacesealFace {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
    /// Detector confidence, 0 to 1.
    pub score: f32,
    /// Left eye, right eye, nose, left and right mouth corners (as the
    /// detector names them), as x, y pairs.
    pub landmarks: [f32; 10],
}

/// The liveness decision on one face.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct FacesealLiveness {
    /// Probability that the face is live, 0 to 1.
    pub score: f32,
    pub threshold: f32,
    pub live: bool,
}

/// The outcome of a local comparison.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct FacesealMatch {
    /// Fraction of equal hashes between the capture and the reference, 0 to 1.
    pub score: f64,
    pub threshold: f64,
    /// `score >= threshold` (a burst that is not live fails the call).
    pub matched: bool,
    /// The burst's fused liveness score.
    pub liveness_score: f32,
}

/// Loads the models and starts the workers. Fails with
/// `FACESEAL_STATUS_MODEL` when a model is missing or not the expected file.
///
/// # Safety
/// `config` is NULL or a live configuration; `out_engine` is NULL or valid
/// for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_engine_new(
    config: *const FacesealConfig,
    out_engine: *mut *mut FacesealEngine,
) -> FacesealStatus {
    call(|| {
        // SAFETY: pointers as the function contract says.
        let (config, out) = unsafe {
            (
                in_ref(config, "config")?,
                out_ptr(out_engine, "out_engine")?,
            )
        };
        let engine = Arc::new(Engine::new(config.inner.clone())?);
        *out = Box::into_raw(Box::new(FacesealEngine { engine }));
        Ok(())
    })
}

/// Stops the workers (requests still waiting fail with
/// `FACESEAL_STATUS_SHUTTING_DOWN`), waits for them and frees the engine.
/// NULL is accepted.
///
/// # Safety
/// `engine` is NULL or a pointer from `faceseal_engine_new`, not yet freed,
/// and no other thread is inside a call on it.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_engine_free(engine: *mut FacesealEngine) {
    // SAFETY: NULL or a pointer from faceseal_engine_new, freed once (function
    // contract).
    unsafe { free_handle(engine) };
}

/// Creates a cancel token.
///
/// # Safety
/// `out_token` is NULL or valid for writing a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_cancel_token_new(
    out_token: *mut *mut FacesealCancelToken,
) -> FacesealStatus {
    call(|| {
        // SAFETY: NULL or valid for writes by the function contract.
        let out = unsafe { out_ptr(out_token, "out_token") }?;
        *out = Box::into_raw(Box::new(FacesealCancelToken {
            token: CancelToken::new(),
        }));
        Ok(())
    })
}

/// Cancels every call that uses the token, from any thread: they return
/// `FACESEAL_STATUS_CANCELLED` at once. Permanent.
///
/// # Safety
/// `token` is NULL or a live token.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_cancel_token_cancel(
    token: *const FacesealCancelToken,
) -> FacesealStatus {
    call(|| {
        // SAFETY: NULL or live by the function contract.
        unsafe { in_ref(token, "token") }?.token.cancel();
        Ok(())
    })
}

/// Frees a token (NULL is accepted).
///
/// # Safety
/// `token` is NULL or a pointer from `faceseal_cancel_token_new`, not yet
/// freed, and no call using it is running.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_cancel_token_free(token: *mut FacesealCancelToken) {
    // SAFETY: NULL or a pointer from faceseal_cancel_token_new, freed once (function
    // contract).
    unsafe { free_handle(token) };
}

/// Reads the optional per-call options.
///
/// # Safety
/// `request` is NULL or points to a valid `FacesealRequest` whose `cancel`
/// is NULL or a live token.
pub(crate) unsafe fn request_options(request: *const FacesealRequest) -> RequestOptions {
    // SAFETY: NULL or valid by the contract.
    let Some(request) = (unsafe { request.as_ref() }) else {
        return RequestOptions::default();
    };
    RequestOptions {
        timeout: (request.timeout_ms > 0)
            .then(|| Duration::from_millis(u64::from(request.timeout_ms))),
        // SAFETY: NULL or a live token by the contract.
        cancel: unsafe { request.cancel.as_ref() }.map(|t| t.token.clone()),
    }
}

/// Finds the faces in a frame, most confident first. Writes at most
/// `capacity` faces to `out_faces` and the number found (which may be larger)
/// to `out_count`. `out_faces` may be NULL when `capacity` is 0.
///
/// # Safety
/// `engine` is NULL or live; `frame` NULL or valid with its data; `request`
/// NULL or valid; `out_faces` NULL or valid for `capacity` writes;
/// `out_count` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_engine_detect(
    engine: *const FacesealEngine,
    frame: *const FacesealFrame,
    request: *const FacesealRequest,
    out_faces: *mut FacesealFace,
    capacity: usize,
    out_count: *mut usize,
) -> FacesealStatus {
    call(|| {
        // SAFETY: pointers as the function contract says.
        let (engine, frames, options, out_count) = unsafe {
            (
                in_ref(engine, "engine")?,
                frames_from_c(frame, 1, 1)?,
                request_options(request),
                out_ptr(out_count, "out_count")?,
            )
        };
        if out_faces.is_null() && capacity > 0 {
            return Err(FfiError::null("out_faces"));
        }
        let frame = frames.into_iter().next().expect("one frame");
        let faces = engine.engine.detect(frame, &options)?;
        for (i, face) in faces.iter().take(capacity).enumerate() {
            let l = &face.landmarks;
            let points = [l.left_eye, l.right_eye, l.nose, l.left_mouth, l.right_mouth];
            let mut landmarks = [0f32; 10];
            for (pair, point) in landmarks.chunks_exact_mut(2).zip(points) {
                pair[0] = point.x;
                pair[1] = point.y;
            }
            let out = FacesealFace {
                x1: face.bbox.x1,
                y1: face.bbox.y1,
                x2: face.bbox.x2,
                y2: face.bbox.y2,
                score: face.score,
                landmarks,
            };
            // SAFETY: not NULL (capacity > 0 here) and valid for `capacity`
            // writes by the contract; i < capacity.
            unsafe { out_faces.add(i).write(out) };
        }
        *out_count = faces.len();
        Ok(())
    })
}

/// The liveness of the one face in the frame.
///
/// # Safety
/// `engine` NULL or live; `frame` NULL or valid with its data; `request`
/// NULL or valid; `out_liveness` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_engine_check_liveness(
    engine: *const FacesealEngine,
    frame: *const FacesealFrame,
    request: *const FacesealRequest,
    out_liveness: *mut FacesealLiveness,
) -> FacesealStatus {
    call(|| {
        // SAFETY: pointers as the function contract says.
        let (engine, frames, options, out) = unsafe {
            (
                in_ref(engine, "engine")?,
                frames_from_c(frame, 1, 1)?,
                request_options(request),
                out_ptr(out_liveness, "out_liveness")?,
            )
        };
        let frame = frames.into_iter().next().expect("one frame");
        let decision = engine.engine.check_liveness(frame, &options)?;
        *out = FacesealLiveness {
            score: decision.score,
            threshold: decision.threshold,
            live: decision.live,
        };
        Ok(())
    })
}

/// The arguments every one-shot capture shares.
struct Capture<'a> {
    engine: &'a Arc<Engine>,
    frames: Vec<TimedInput>,
    terms: CaptureTerms,
    options: RequestOptions,
}

/// Reads the arguments every one-shot capture shares.
///
/// # Safety
/// As the capture functions' contracts say.
#[allow(clippy::too_many_arguments)]
unsafe fn capture_args<'a>(
    engine: *const FacesealEngine,
    frames: *const FacesealFrame,
    frame_count: usize,
    subject_id: *const c_char,
    consent_ref: *const c_char,
    challenge: *const u8,
    challenge_len: usize,
    level: u32,
    request: *const FacesealRequest,
) -> FfiResult<Capture<'a>> {
    // SAFETY: pointers as the contract says.
    unsafe {
        let engine = &in_ref(engine, "engine")?.engine;
        let subject_id = required_str(subject_id, "subject_id")?;
        let consent_ref = optional_str(consent_ref, "consent_ref")?;
        let challenge = challenge_from_c(challenge, challenge_len)?;
        let terms =
            CaptureTerms::new(subject_id, consent_ref, challenge).with_level(level_from_c(level)?);
        Ok(Capture {
            frames: timed_frames_from_c(frames, frame_count, engine.max_frames())?,
            terms,
            options: request_options(request),
            engine,
        })
    }
}

/// Enrols a subject from a burst of `frame_count` timed frames (2 to 8,
/// `timestamp_ms` increasing) through the same burst liveness decision as
/// a capture session, sealed with the server's 32-byte `challenge` (from
/// `POST /v1/challenges`) at the tenant's `level` (a
/// `FacesealSecurityLevel`). Writes the envelope to `out_sealed` and,
/// unless `out_template` is NULL, the protected template for local
/// comparison to `out_template`; free both with `faceseal_bytes_free`.
/// `out_decision` (may be NULL) receives the burst decision on success and
/// on `FACESEAL_STATUS_NOT_LIVE`. One frame fails with
/// `FACESEAL_STATUS_NOT_ENOUGH_FRAMES`; a NULL `consent_ref` with
/// `FACESEAL_STATUS_CONSENT` before any picture is looked at.
///
/// # Safety
/// `engine` NULL or live; `frames` NULL or `frame_count` valid frames with
/// their data; strings NULL or NUL-terminated; `challenge` NULL or
/// `challenge_len` readable bytes; `request` NULL or valid; `out_sealed`,
/// `out_template` and `out_decision` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_engine_enroll(
    engine: *const FacesealEngine,
    frames: *const FacesealFrame,
    frame_count: usize,
    subject_id: *const c_char,
    consent_ref: *const c_char,
    challenge: *const u8,
    challenge_len: usize,
    level: u32,
    request: *const FacesealRequest,
    out_sealed: *mut FacesealBytes,
    out_template: *mut FacesealBytes,
    out_decision: *mut FacesealBurstDecision,
) -> FacesealStatus {
    call(|| {
        // SAFETY: pointers as the function contract says.
        let (args, out_sealed) = unsafe {
            (
                capture_args(
                    engine,
                    frames,
                    frame_count,
                    subject_id,
                    consent_ref,
                    challenge,
                    challenge_len,
                    level,
                    request,
                )?,
                out_ptr(out_sealed, "out_sealed")?,
            )
        };
        // SAFETY: NULL or valid for a write by the contract.
        let (out_template, mut out_decision) =
            unsafe { (out_template.as_mut(), out_decision.as_mut()) };
        let enrolment = args
            .engine
            .enroll(args.frames, &args.terms, &args.options)
            .map_err(|e| refusal(e, out_decision.as_deref_mut()))?;
        *out_sealed = FacesealBytes::from_vec(enrolment.sealed.into_bytes());
        if let Some(out) = out_template {
            *out = FacesealBytes::from_vec(enrolment.template.to_bytes().to_vec());
        }
        if let Some(out) = out_decision {
            *out = decision_to_c(&enrolment.decision);
        }
        Ok(())
    })
}

/// A capture error for C; a liveness refusal also writes its decision.
fn refusal(error: CaptureError, out: Option<&mut FacesealBurstDecision>) -> FfiError {
    if let (CaptureError::NotLive(d), Some(out)) = (&error, out) {
        *out = decision_to_c(d);
    }
    error.into()
}

/// A verification probe for the tenant's server: a burst as for
/// `faceseal_engine_enroll`, its protected template sealed with the
/// server's 32-byte `challenge`, written to `out_sealed` (free with
/// `faceseal_bytes_free`). `out_decision` as for `faceseal_engine_enroll`.
///
/// # Safety
/// As `faceseal_engine_enroll`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_engine_probe(
    engine: *const FacesealEngine,
    frames: *const FacesealFrame,
    frame_count: usize,
    subject_id: *const c_char,
    consent_ref: *const c_char,
    challenge: *const u8,
    challenge_len: usize,
    level: u32,
    request: *const FacesealRequest,
    out_sealed: *mut FacesealBytes,
    out_decision: *mut FacesealBurstDecision,
) -> FacesealStatus {
    call(|| {
        // SAFETY: pointers as the function contract says.
        let (args, out) = unsafe {
            (
                capture_args(
                    engine,
                    frames,
                    frame_count,
                    subject_id,
                    consent_ref,
                    challenge,
                    challenge_len,
                    level,
                    request,
                )?,
                out_ptr(out_sealed, "out_sealed")?,
            )
        };
        // SAFETY: NULL or valid for a write by the contract.
        let mut out_decision = unsafe { out_decision.as_mut() };
        let probe = args
            .engine
            .probe(args.frames, &args.terms, &args.options)
            .map_err(|e| refusal(e, out_decision.as_deref_mut()))?;
        *out = FacesealBytes::from_vec(probe.sealed.into_bytes());
        if let Some(out) = out_decision {
            *out = decision_to_c(&probe.decision);
        }
        Ok(())
    })
}

/// Kiosk mode: compares a live burst (as for `faceseal_engine_enroll`)
/// with a protected template from it (`template`, `template_len` bytes)
/// under the subject's key, and writes the decision to `out_match`. Needs
/// no tenant key; `challenge` (32 bytes, any fresh random bytes in kiosk
/// mode) seeds the strict level's head movements.
///
/// # Safety
/// As `faceseal_engine_enroll`; `template` NULL or `template_len` readable
/// bytes; `out_match` NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faceseal_engine_compare_local(
    engine: *const FacesealEngine,
    frames: *const FacesealFrame,
    frame_count: usize,
    subject_id: *const c_char,
    consent_ref: *const c_char,
    challenge: *const u8,
    challenge_len: usize,
    level: u32,
    template: *const u8,
    template_len: usize,
    request: *const FacesealRequest,
    out_match: *mut FacesealMatch,
) -> FacesealStatus {
    call(|| {
        // SAFETY: pointers as the function contract says.
        let (args, template, out) = unsafe {
            (
                capture_args(
                    engine,
                    frames,
                    frame_count,
                    subject_id,
                    consent_ref,
                    challenge,
                    challenge_len,
                    level,
                    request,
                )?,
                byte_slice(template, template_len, "template")?,
                out_ptr(out_match, "out_match")?,
            )
        };
        let reference = ProtectedTemplate::from_bytes(template)
            .map_err(|e| FfiError::from(faceseal_core::engine::EngineError::from(e)))?;
        let result =
            args.engine
                .compare_local(args.frames, &args.terms, &reference, &args.options)?;
        *out = FacesealMatch {
            score: result.score,
            threshold: result.threshold.value(),
            matched: result.matched,
            liveness_score: result.decision.score,
        };
        Ok(())
    })
}
