//! The runtime every binding goes through: one [`Engine`] owns the loaded
//! models, the keys and the thresholds, and runs the heavy work on a fixed
//! number of worker threads behind a bounded queue.
//!
//! Why a queue: a kiosk or a phone has a few cores, and face analysis keeps
//! one busy for tens of milliseconds. Letting every caller run the models at
//! once would slow all of them past any useful deadline; instead, requests
//! wait in a short queue, a full queue answers [`EngineError::Busy`] at once
//! (graceful degradation), and no caller waits past its deadline.
//!
//! Every operation checks its cheap arguments (frame count, consent, subject
//! id, configuration) on the caller's thread before it takes a place in the
//! queue, copies what it needs into the request (bounded by
//! [`EngineConfig::max_frames`] and the input limits), and returns when its
//! result is ready, its deadline passes ([`EngineError::Timeout`]) or its
//! [`CancelToken`] fires ([`EngineError::Cancelled`]).
//!
//! ```no_run
//! use faceseal_core::engine::{Engine, EngineConfig, FrameInput, RequestOptions, TemplateConfig};
//! use faceseal_core::seal::{self, TenantSecretKey};
//! use faceseal_core::template::TemplateSecret;
//! # fn demo(jpeg_1: &[u8], jpeg_2: &[u8], later: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
//! let tenant = TenantSecretKey::generate(&mut seal::os_rng());
//! let config = EngineConfig::new(faceseal_core::ModelLocator::from_env())
//!     .with_tenant("acme", tenant.public_key().clone())
//!     .with_template(TemplateConfig::new(TemplateSecret::from_bytes(&[0x5a; 32])?, 1));
//! let engine = Engine::new(config)?;
//! let options = RequestOptions::default();
//! let frames = vec![FrameInput::encoded(jpeg_1), FrameInput::encoded(jpeg_2)];
//! let enrolled = engine.enroll(frames, "subject-1", Some("consent-1"), &options)?;
//! // `enrolled.sealed` goes to the tenant's server; kiosk mode keeps the template.
//! let result = engine.compare_local(
//!     vec![FrameInput::encoded(later)], "subject-1", Some("consent-2"), &enrolled.template, &options,
//! )?;
//! println!("matched: {}", result.matched);
//! # Ok(()) }
//! ```

mod capture;
mod config;
mod error;
mod queue;
mod request;

pub use capture::{
    CaptureError, CaptureOutcome, CaptureSession, CaptureSessionConfig, DEFAULT_BURST_FRAMES,
    DEFAULT_SESSION_EXPIRY, FrameFeedback, Guidance, MAX_SESSION_FRAMES,
};
pub use config::{EngineConfig, TemplateConfig, TenantConfig};
pub use error::{EngineError, ErrorKind};
pub use queue::{CancelToken, JobControl, QueueError, WorkQueue};
pub use request::{FrameInput, RawInput, RequestOptions};

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::analyzer::{FaceAnalyzer, PipelineError};
use crate::consent::{Consent, Purpose};
use crate::detect::{DetectedFace, largest_face};
use crate::enrolment::{self, CaptureOptions, CaptureRequest, LocalMatch, ProtectedCapture};
use crate::frame::RgbFrame;
use crate::input::InputLimits;
use crate::liveness::LivenessDecision;
use crate::quality::{QualityIssue, face_count_issue};
use crate::seal::{self, ChallengeNonce, SealedTemplate};
use crate::template::{
    MAX_SUBJECT_ID_LEN, MatchThreshold, ProtectedTemplate, TemplateError, TemplateKey,
};

/// The result of an enrolment: the sealed template for the tenant's server
/// and the protected template itself, for kiosk mode (stored on a card, say,
/// and compared with [`Engine::compare_local`]).
#[derive(Debug)]
pub struct Enrolment {
    pub sealed: SealedTemplate,
    pub template: ProtectedTemplate,
    /// The weakest liveness decision among the frames.
    pub liveness: LivenessDecision,
    /// The lowest quality score among the frames fused.
    pub quality_score: f32,
}

/// Models, keys and configuration, shared by the workers.
struct Shared {
    analyzer: FaceAnalyzer,
    limits: InputLimits,
    tenant: Option<TenantConfig>,
    template: Option<TemplateConfig>,
    match_threshold: MatchThreshold,
    capture: CaptureOptions,
}

/// The SDK's runtime. `Send + Sync`: one per process, shared by reference
/// or behind an `Arc`. Dropping it answers waiting requests with
/// [`EngineError::ShuttingDown`] and joins its workers.
pub struct Engine {
    queue: WorkQueue,
    shared: Arc<Shared>,
    default_deadline: Duration,
    max_frames: usize,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("queued", &self.queue.queued())
            .field("default_deadline", &self.default_deadline)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Loads and checks every model once, and starts the workers.
    pub fn new(config: EngineConfig) -> Result<Self, EngineError> {
        if config.max_frames == 0 || config.best_frames == 0 {
            return Err(EngineError::InvalidConfig(
                "max_frames and best_frames must be at least 1",
            ));
        }
        if let Some(tenant) = &config.tenant
            && (tenant.tenant_id.is_empty() || tenant.tenant_id.len() > seal::MAX_TENANT_ID_LEN)
        {
            return Err(EngineError::InvalidConfig(
                "tenant id must be 1 to 128 bytes",
            ));
        }
        let analyzer = FaceAnalyzer::load(&config.models, config.analyzer)?;
        let params = config
            .template
            .as_ref()
            .map_or(CaptureOptions::DEFAULT.params, |t| t.params);
        let shared = Arc::new(Shared {
            analyzer,
            limits: config.input_limits,
            tenant: config.tenant,
            template: config.template,
            match_threshold: config.match_threshold,
            capture: CaptureOptions {
                params,
                best_frames: config.best_frames,
            },
        });
        let queue = WorkQueue::new(config.workers, config.queue_depth, "faceseal-worker")
            .map_err(EngineError::Spawn)?;
        Ok(Engine {
            queue,
            shared,
            default_deadline: config.default_deadline,
            max_frames: config.max_frames,
        })
    }

    /// Every face in the frame, most confident first.
    pub fn detect(
        &self,
        frame: FrameInput,
        options: &RequestOptions,
    ) -> Result<Vec<DetectedFace>, EngineError> {
        self.submit(options, move |shared, control| {
            let frame = decode(shared, &frame, control)?;
            Ok(shared.analyzer.detect(&frame)?)
        })
    }

    /// Liveness of the one face of the frame (background faces too small to
    /// matter are ignored; several large faces are refused).
    pub fn check_liveness(
        &self,
        frame: FrameInput,
        options: &RequestOptions,
    ) -> Result<LivenessDecision, EngineError> {
        self.submit(options, move |shared, control| {
            let frame = decode(shared, &frame, control)?;
            let faces = shared.analyzer.detect(&frame)?;
            match face_count_issue(&faces, &shared.analyzer.config().quality) {
                Some(QualityIssue::NoFace) => Err(PipelineError::NoFace.into()),
                Some(QualityIssue::MultipleFaces) => {
                    Err(PipelineError::MultipleFaces { count: faces.len() }.into())
                }
                _ => {
                    let face = largest_face(&faces).ok_or(PipelineError::NoFace)?;
                    Ok(shared.analyzer.liveness(&frame, face)?)
                }
            }
        })
    }

    /// Enrols a subject from one or several frames of their face: every frame
    /// must be live and of good quality; the best ones are fused into one
    /// protected template, sealed to the tenant with a nonce made here.
    pub fn enroll(
        &self,
        frames: Vec<FrameInput>,
        subject_id: &str,
        consent_ref: Option<&str>,
        options: &RequestOptions,
    ) -> Result<Enrolment, EngineError> {
        let challenge = ChallengeNonce::generate(&mut seal::os_rng());
        let request = self.capture_request(&frames, subject_id, consent_ref, Purpose::Enrol)?;
        self.tenant()?;
        self.submit(options, move |shared, control| {
            let capture = capture(shared, &frames, &request, control)?;
            let sealed = seal_capture(shared, &capture, challenge)?;
            Ok(Enrolment {
                sealed,
                liveness: *capture.liveness(),
                quality_score: capture.quality_score(),
                template: capture.into_template(),
            })
        })
    }

    /// A verification probe for the tenant's server: the frames' protected
    /// template sealed with the server's `challenge`.
    pub fn probe(
        &self,
        frames: Vec<FrameInput>,
        subject_id: &str,
        consent_ref: Option<&str>,
        challenge: ChallengeNonce,
        options: &RequestOptions,
    ) -> Result<SealedTemplate, EngineError> {
        let request = self.capture_request(&frames, subject_id, consent_ref, Purpose::Verify)?;
        self.tenant()?;
        self.submit(options, move |shared, control| {
            let capture = capture(shared, &frames, &request, control)?;
            seal_capture(shared, &capture, challenge)
        })
    }

    /// Kiosk mode: compares the frames with a protected template the caller
    /// holds, under the subject's key of the configured key version.
    pub fn compare_local(
        &self,
        frames: Vec<FrameInput>,
        subject_id: &str,
        consent_ref: Option<&str>,
        reference: &ProtectedTemplate,
        options: &RequestOptions,
    ) -> Result<LocalMatch, EngineError> {
        let request = self.capture_request(&frames, subject_id, consent_ref, Purpose::Verify)?;
        let template = self.template()?;
        let key = TemplateKey::derive(
            &template.secret,
            &request.subject_id,
            template.key_version,
            template.params,
        )?;
        let reference = reference.clone();
        self.submit(options, move |shared, control| {
            let frames = decode_all(shared, &frames, control)?;
            control.check()?;
            Ok(enrolment::verify_local_frames(
                &shared.analyzer,
                &frames,
                &reference,
                &key,
                Some(&request.consent_ref),
                shared.match_threshold,
                shared.capture.best_frames,
            )?)
        })
    }

    /// Most frames one request may carry.
    pub fn max_frames(&self) -> usize {
        self.max_frames
    }

    /// Requests waiting for a worker now.
    pub fn queued(&self) -> usize {
        self.queue.queued()
    }

    /// The cheap checks of a capture, done before it takes a place in the
    /// queue, and the request's owned copy of its identifiers.
    fn capture_request(
        &self,
        frames: &[FrameInput],
        subject_id: &str,
        consent_ref: Option<&str>,
        purpose: Purpose,
    ) -> Result<OwnedRequest, EngineError> {
        if frames.is_empty() {
            return Err(EngineError::NoFrames);
        }
        if frames.len() > self.max_frames {
            return Err(EngineError::TooManyFrames {
                given: frames.len(),
                max: self.max_frames,
            });
        }
        let consent = Consent::new(consent_ref, purpose)?;
        if subject_id.is_empty() || subject_id.len() > MAX_SUBJECT_ID_LEN {
            return Err(TemplateError::SubjectIdLength {
                max: MAX_SUBJECT_ID_LEN,
            }
            .into());
        }
        self.template()?;
        Ok(OwnedRequest {
            subject_id: subject_id.to_owned(),
            consent_ref: consent.reference().as_str().to_owned(),
            purpose,
        })
    }

    fn template(&self) -> Result<&TemplateConfig, EngineError> {
        self.shared
            .template
            .as_ref()
            .ok_or(EngineError::NotConfigured("template secret"))
    }

    fn tenant(&self) -> Result<&TenantConfig, EngineError> {
        self.shared
            .tenant
            .as_ref()
            .ok_or(EngineError::NotConfigured("tenant public key"))
    }

    /// Runs `work` on a worker within the request's deadline.
    fn submit<T, F>(&self, options: &RequestOptions, work: F) -> Result<T, EngineError>
    where
        T: Send + 'static,
        F: FnOnce(&Shared, &JobControl) -> Result<T, EngineError> + Send + 'static,
    {
        let deadline = options.deadline(self.default_deadline);
        let cancel = options.cancel.clone().unwrap_or_default();
        let shared = Arc::clone(&self.shared);
        self.queue
            .run(deadline, &cancel, move |control| Ok(work(&shared, control)))?
    }
}

/// A capture's identifiers, owned by the queued request.
struct OwnedRequest {
    subject_id: String,
    consent_ref: String,
    purpose: Purpose,
}

fn decode(
    shared: &Shared,
    frame: &FrameInput,
    control: &JobControl,
) -> Result<RgbFrame, EngineError> {
    control.check()?;
    Ok(frame.decode(&shared.limits)?)
}

fn decode_all(
    shared: &Shared,
    frames: &[FrameInput],
    control: &JobControl,
) -> Result<Vec<RgbFrame>, EngineError> {
    frames.iter().map(|f| decode(shared, f, control)).collect()
}

fn capture(
    shared: &Shared,
    frames: &[FrameInput],
    request: &OwnedRequest,
    control: &JobControl,
) -> Result<ProtectedCapture, EngineError> {
    let template = shared
        .template
        .as_ref()
        .ok_or(EngineError::NotConfigured("template secret"))?;
    let frames = decode_all(shared, frames, control)?;
    control.check()?;
    let request = CaptureRequest {
        subject_id: &request.subject_id,
        consent_ref: Some(&request.consent_ref),
        purpose: request.purpose,
    };
    let capture = if request.purpose == Purpose::Enrol {
        enrolment::enrol_frames
    } else {
        enrolment::capture_frames
    };
    Ok(capture(
        &shared.analyzer,
        &frames,
        &template.secret,
        template.key_version,
        &request,
        &shared.capture,
    )?)
}

fn seal_capture(
    shared: &Shared,
    capture: &ProtectedCapture,
    challenge: ChallengeNonce,
) -> Result<SealedTemplate, EngineError> {
    let tenant = shared
        .tenant
        .as_ref()
        .ok_or(EngineError::NotConfigured("tenant public key"))?;
    let created_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(capture.seal(
        &tenant.tenant_id,
        &tenant.public_key,
        challenge,
        created_at,
        &mut seal::os_rng(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn engine_is_send_and_sync() {
        assert_send_sync::<Engine>();
        assert_send_sync::<CancelToken>();
    }

    #[test]
    fn errors_classify_for_the_bindings() {
        assert_eq!(EngineError::Busy.kind(), ErrorKind::Busy);
        assert_eq!(
            EngineError::from(QueueError::Timeout).kind(),
            ErrorKind::Timeout
        );
        assert_eq!(
            EngineError::from(PipelineError::NoFace).kind(),
            ErrorKind::NoFace
        );
        assert_eq!(
            EngineError::from(enrolment::EnrolmentError::Consent(
                crate::consent::ConsentError::Missing
            ))
            .kind(),
            ErrorKind::Consent
        );
        assert_eq!(
            EngineError::from(TemplateError::BadMagic).kind(),
            ErrorKind::InvalidTemplate
        );
        assert_eq!(
            EngineError::from(crate::input::InputError::Empty).kind(),
            ErrorKind::InvalidImage
        );
    }
}
