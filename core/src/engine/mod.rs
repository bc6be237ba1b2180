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
//! use faceseal_core::engine::{
//!     CaptureTerms, Engine, EngineConfig, FrameInput, RequestOptions, TemplateConfig, TimedInput,
//! };
//! use faceseal_core::seal::{self, ChallengeNonce, TenantSecretKey};
//! use faceseal_core::template::TemplateSecret;
//! # fn demo(
//! #     nonce: [u8; 32], jpeg_1: &[u8], jpeg_2: &[u8], later_1: &[u8], later_2: &[u8],
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! let tenant = TenantSecretKey::generate(&mut seal::os_rng());
//! let config = EngineConfig::new(faceseal_core::ModelLocator::from_env())
//!     .with_tenant("acme", tenant.public_key().clone())
//!     .with_template(TemplateConfig::new(TemplateSecret::from_bytes(&[0x5a; 32])?, 1));
//! let engine = Engine::new(config)?;
//! let engine = std::sync::Arc::new(engine);
//! let options = RequestOptions::default();
//! // The nonce comes from the tenant's server (`POST /v1/challenges`).
//! let terms = CaptureTerms::new("subject-1", Some("consent-1"), ChallengeNonce::from_bytes(nonce));
//! // A burst: frames with their capture times, 50 ms apart.
//! let frames = vec![
//!     TimedInput::new(FrameInput::encoded(jpeg_1), 0),
//!     TimedInput::new(FrameInput::encoded(jpeg_2), 50),
//! ];
//! let enrolled = engine.enroll(frames, &terms, &options)?;
//! // `enrolled.sealed` goes to the tenant's server; kiosk mode keeps the template.
//! let later = vec![
//!     TimedInput::new(FrameInput::encoded(later_1), 0),
//!     TimedInput::new(FrameInput::encoded(later_2), 50),
//! ];
//! let result = engine.compare_local(later, &terms, &enrolled.template, &options)?;
//! println!("matched: {}", result.matched);
//! # Ok(()) }
//! ```

mod capture;
mod config;
mod error;
mod oneshot;
mod queue;
mod request;

pub use capture::{
    CaptureError, CaptureOutcome, CaptureSession, CaptureSessionConfig, DEFAULT_BURST_FRAMES,
    DEFAULT_SESSION_EXPIRY, FrameFeedback, Guidance, MAX_SESSION_FRAMES, MIN_BURST_FRAMES,
};
pub use config::{
    EngineConfig, MAX_QUEUE_DEPTH, MAX_REQUEST_FRAMES, MAX_WORKERS, TemplateConfig, TenantConfig,
};
pub use error::{EngineError, ErrorKind};
pub use oneshot::{CaptureTerms, Enrolment, LocalComparison, TimedInput};
pub use queue::{CancelToken, QueueError};
pub(crate) use queue::{JobControl, WorkQueue};
pub use request::{FrameInput, RawInput, RequestOptions};

use std::sync::Arc;
use std::time::Duration;

use crate::align::AlignedFace;
use crate::analyzer::{FaceAnalyzer, PipelineError};
use crate::detect::{DetectedFace, largest_face};
use crate::embedding::Embedding;
use crate::enrolment::CaptureOptions;
use crate::frame::RgbFrame;
use crate::input::InputLimits;
use crate::liveness::LivenessDecision;
use crate::quality::{QualityIssue, face_count_issue};
use crate::template::{MatchThreshold, ProtectedTemplate, TemplateKey};

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
        config.validate()?;
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

    /// Most frames one request may carry.
    pub fn max_frames(&self) -> usize {
        self.max_frames
    }

    /// Requests waiting for a worker now.
    pub fn queued(&self) -> usize {
        self.queue.queued()
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

    /// The protected template of `subject_id` from a fused embedding. The
    /// transform's hash functions are cut into one part per worker
    /// ([`TemplateKey::protect_part`]), run on as many workers as are free
    /// at once like [`Self::embed_chips`], and joined: the template is the
    /// one [`TemplateKey::protect`] makes, whatever the number of workers.
    fn protect_embedding(
        &self,
        options: &RequestOptions,
        subject_id: &str,
        fused: Embedding,
    ) -> Result<ProtectedTemplate, EngineError> {
        let config = self
            .shared
            .template
            .as_ref()
            .ok_or(EngineError::NotConfigured("template secret"))?;
        let key = Arc::new(TemplateKey::derive(
            &config.secret,
            subject_id,
            config.key_version,
            config.params,
        )?);
        // Shared by the parts, wiped when the last of them drops it.
        let embedding = Arc::new(fused);
        let jobs = config
            .params
            .split(self.queue.worker_count())
            .into_iter()
            .map(|hashes| {
                let (key, embedding) = (Arc::clone(&key), Arc::clone(&embedding));
                move || key.protect_part(&embedding, hashes)
            })
            .collect();
        let parts = self.run_jobs(options, jobs)?;
        Ok(key.assemble(parts)?)
    }

    /// The fused embedding of a live burst's best chips. Each chip, and its
    /// mirror when the analyzer embeds mirrors, is a job of its own, run on
    /// as many workers as are free at once: with two workers a burst's
    /// embeddings take about half the time they take on one. The values are
    /// those of [`FaceAnalyzer::embed_chip`] chip by chip, then
    /// [`Embedding::fuse`], whatever the number of workers.
    fn embed_chips(
        &self,
        options: &RequestOptions,
        chips: Vec<AlignedFace>,
    ) -> Result<Embedding, EngineError> {
        let mirror = self.shared.analyzer.config().mirror_embedding;
        let mut views = Vec::with_capacity(chips.len() * 2);
        for chip in chips {
            let mirrored = mirror.then(|| chip.mirrored());
            views.push(chip);
            views.extend(mirrored);
        }
        let jobs = views
            .into_iter()
            .map(|view| {
                let shared = Arc::clone(&self.shared);
                move || shared.analyzer.embed_view(&view)
            })
            .collect();
        let embedded: Vec<Embedding> = self.run_jobs(options, jobs)?;
        let per_chip: Vec<Embedding> = if mirror {
            embedded
                .chunks_exact(2)
                .map(|pair| Embedding::mean(&pair[0], &pair[1]))
                .collect()
        } else {
            embedded
        };
        let refs: Vec<&Embedding> = per_chip.iter().collect();
        Ok(Embedding::fuse(&refs).ok_or(crate::template::TemplateError::DegenerateEmbedding)?)
    }

    /// Runs independent jobs of one request at once, on as many workers as
    /// are free, within the request's deadline and cancel token; the results
    /// in the jobs' order, or the first failure.
    fn run_jobs<T, E, F>(
        &self,
        options: &RequestOptions,
        jobs: Vec<F>,
    ) -> Result<Vec<T>, EngineError>
    where
        T: Send + 'static,
        E: Send + 'static,
        EngineError: From<E>,
        F: FnOnce() -> Result<T, E> + Send + 'static,
    {
        let deadline = options.deadline(self.default_deadline);
        let cancel = options.cancel.clone().unwrap_or_default();
        let jobs = jobs
            .into_iter()
            .map(|job| {
                move |control: &JobControl| {
                    control.check()?;
                    Ok(job())
                }
            })
            .collect();
        let results = self.queue.run_split(deadline, &cancel, jobs)?;
        Ok(results.into_iter().collect::<Result<Vec<T>, E>>()?)
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

fn decode(
    shared: &Shared,
    frame: &FrameInput,
    control: &JobControl,
) -> Result<RgbFrame, EngineError> {
    control.check()?;
    Ok(frame.decode(&shared.limits)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrolment;
    use crate::template::TemplateError;

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
