//! Enrolment and local 1:1 verification: the SDK's biometric operations, from
//! a camera frame to a protected template, behind the consent check.
//!
//! Order of every operation, cheapest and most decisive first:
//! 1. consent reference and purpose (no picture is looked at without them);
//! 2. subject id and template key (no face is analysed for a key that cannot
//!    be derived or does not fit the reference template);
//! 3. the strict single-face path of [`FaceAnalyzer::analyze_single`]: one
//!    face, quality, liveness, and only then the embedding; a liveness failure
//!    fails the operation, whatever the face would have scored;
//! 4. the template transform, which consumes and wipes the embedding.
//!
//! ```no_run
//! use faceseal_core::enrolment::{self, CaptureRequest};
//! use faceseal_core::seal::{ChallengeNonce, Purpose, TenantSecretKey};
//! use faceseal_core::template::{IomParams, MatchThreshold, TemplateKey, TemplateSecret};
//! # fn demo(analyzer: &faceseal_core::FaceAnalyzer, frame: &faceseal_core::RgbFrame,
//! #         later: &faceseal_core::RgbFrame) -> Result<(), Box<dyn std::error::Error>> {
//! let secret = TemplateSecret::from_bytes(&[0x5a; 32])?;
//! let request = CaptureRequest {
//!     subject_id: "subject-1",
//!     consent_ref: Some("consent-2024-001"),
//!     purpose: Purpose::Enrol,
//! };
//! let capture = enrolment::capture(analyzer, frame, &secret, 1, &request)?;
//! // Server mode: seal to the tenant and send.
//! let mut rng = faceseal_core::seal::os_rng();
//! let tenant = TenantSecretKey::generate(&mut rng);
//! let challenge = ChallengeNonce::generate(&mut rng);
//! let _sealed = capture.seal("acme", tenant.public_key(), challenge, 1_700_000_000, &mut rng)?;
//! // Kiosk mode: keep the template (e.g. on a card) and verify locally later.
//! let key = TemplateKey::derive(&secret, "subject-1", 1, IomParams::DEFAULT)?;
//! let result = enrolment::verify_local(
//!     analyzer, later, capture.template(), &key, Some("consent-2024-002"), MatchThreshold::DEFAULT,
//! )?;
//! println!("matched: {}", result.matched);
//! # Ok(()) }
//! ```

use rand_core::CryptoRng;
use thiserror::Error;

use crate::analyzer::{FaceAnalysis, FaceAnalyzer, PipelineError};
use crate::consent::{Consent, ConsentError, ConsentReference, Purpose};
use crate::embedding::Embedding;
use crate::frame::{RgbFrame, sequence_digest};
use crate::liveness::LivenessDecision;
use crate::seal::{self, ChallengeNonce, SealContext, SealError, SealedTemplate, TenantPublicKey};
use crate::template::{
    IomParams, MatchThreshold, ProtectedTemplate, TemplateError, TemplateKey, TemplateSecret,
};

/// Why an enrolment or a verification did not produce a result.
///
/// Messages name the failing step, never the subject or the consent reference.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EnrolmentError {
    /// Refused before any biometric processing.
    #[error(transparent)]
    Consent(#[from] ConsentError),
    /// The subject id, the key or the reference template is unusable
    /// (checked before any biometric processing).
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// The capture was refused: no face, several faces, low quality, or
    /// not live ([`PipelineError::NotLive`]).
    #[error(transparent)]
    Capture(#[from] PipelineError),
    /// The protected template could not be sealed.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// An operation was given no frame to analyse.
    #[error("no frame given")]
    NoFrames,
}

impl EnrolmentError {
    /// The liveness decision, when the capture was refused as not live.
    pub fn liveness_failure(&self) -> Option<&LivenessDecision> {
        match self {
            EnrolmentError::Capture(PipelineError::NotLive(decision)) => Some(decision),
            _ => None,
        }
    }
}

/// Who is captured, under which consent, for what.
#[derive(Clone, Copy)]
pub struct CaptureRequest<'a> {
    /// 1 to 256 bytes of UTF-8; selects the subject's template key.
    pub subject_id: &'a str,
    /// The consent record relied on; `None` (or blank) refuses the operation.
    pub consent_ref: Option<&'a str>,
    /// [`Purpose::Enrol`] for a reference to store, [`Purpose::Verify`] for a
    /// probe to send for comparison.
    pub purpose: Purpose,
}

/// Identifiers are personal data: `Debug` shows their lengths only.
impl std::fmt::Debug for CaptureRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureRequest")
            .field("subject_id_len", &self.subject_id.len())
            .field("consent_ref_given", &self.consent_ref.is_some())
            .field("purpose", &self.purpose)
            .finish()
    }
}

/// A live, good-quality capture turned into a protected template. The
/// embedding it came from is already wiped.
pub struct ProtectedCapture {
    template: ProtectedTemplate,
    subject_id: String,
    consent: Consent,
    liveness: LivenessDecision,
    quality_score: f32,
    capture_digest: [u8; 32],
}

impl ProtectedCapture {
    pub fn template(&self) -> &ProtectedTemplate {
        &self.template
    }

    pub fn into_template(self) -> ProtectedTemplate {
        self.template
    }

    pub fn purpose(&self) -> Purpose {
        self.consent.purpose()
    }

    pub fn consent_reference(&self) -> &ConsentReference {
        self.consent.reference()
    }

    pub fn liveness(&self) -> &LivenessDecision {
        &self.liveness
    }

    pub fn quality_score(&self) -> f32 {
        self.quality_score
    }

    /// [`crate::frame::sequence_digest`] of the frame(s) captured.
    pub fn capture_digest(&self) -> &[u8; 32] {
        &self.capture_digest
    }

    /// Seals the template to the tenant, binding subject, purpose, consent
    /// reference, the server's challenge, the digest of the captured frames,
    /// the time and the capture's liveness and quality scores as associated
    /// data.
    pub fn seal<R: CryptoRng + ?Sized>(
        &self,
        tenant_id: &str,
        recipient: &TenantPublicKey,
        challenge: ChallengeNonce,
        created_at: u64,
        rng: &mut R,
    ) -> Result<SealedTemplate, EnrolmentError> {
        let context = SealContext {
            tenant_id: tenant_id.to_owned(),
            subject_id: self.subject_id.clone(),
            purpose: self.consent.purpose(),
            consent_ref: self.consent.reference().as_str().to_owned(),
            challenge,
            capture_digest: self.capture_digest,
            created_at,
            liveness_score: self.liveness.score,
            quality_score: self.quality_score,
            // Decided frame by frame by the texture models alone: the lowest
            // level. A tenant that requires more refuses it; capture sessions
            // bind the level their burst decision applied.
            liveness_level: seal::SecurityLevel::Basic,
        };
        Ok(seal::seal(&self.template, recipient, &context, rng)?)
    }
}

impl std::fmt::Debug for ProtectedCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProtectedCapture")
            .field("template", &self.template)
            .field("purpose", &self.consent.purpose())
            .field("liveness", &self.liveness)
            .field("quality_score", &self.quality_score)
            .finish_non_exhaustive()
    }
}

/// How the frames of one capture become one template.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaptureOptions {
    /// Parameters of the template transform.
    pub params: IomParams,
    /// Most frames whose descriptors are fused, best quality first: a few
    /// good frames average out noise, more would let poorer ones in.
    pub best_frames: usize,
}

impl CaptureOptions {
    pub const DEFAULT: CaptureOptions = CaptureOptions {
        params: IomParams::DEFAULT,
        best_frames: 3,
    };
}

impl Default for CaptureOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Captures one face for `request.purpose` and protects it under the
/// subject's key (`secret`, `request.subject_id`, `key_version`, default
/// parameters).
pub fn capture(
    analyzer: &FaceAnalyzer,
    frame: &RgbFrame,
    secret: &TemplateSecret,
    key_version: u32,
    request: &CaptureRequest<'_>,
) -> Result<ProtectedCapture, EnrolmentError> {
    capture_frames(
        analyzer,
        std::slice::from_ref(frame),
        secret,
        key_version,
        request,
        &CaptureOptions::DEFAULT,
    )
}

/// [`capture`] from one or several frames of the same person: every frame
/// must hold one live face of good quality, or the whole capture fails; the
/// descriptors of the best `options.best_frames` frames (by quality score)
/// are fused into one (the mean of the unit descriptors) before the transform.
pub fn capture_frames(
    analyzer: &FaceAnalyzer,
    frames: &[RgbFrame],
    secret: &TemplateSecret,
    key_version: u32,
    request: &CaptureRequest<'_>,
    options: &CaptureOptions,
) -> Result<ProtectedCapture, EnrolmentError> {
    let consent = Consent::new(request.consent_ref, request.purpose)?;
    let key = TemplateKey::derive(secret, request.subject_id, key_version, options.params)?;
    let fused = analyze_frames(analyzer, frames, options.best_frames)?;
    let template = key.protect(fused.embedding)?;
    Ok(ProtectedCapture {
        template,
        subject_id: request.subject_id.to_owned(),
        consent,
        liveness: fused.liveness,
        quality_score: fused.quality_score,
        capture_digest: sequence_digest(&frames.iter().collect::<Vec<_>>()),
    })
}

/// [`capture`] for enrolment: refuses a request whose purpose is not
/// [`Purpose::Enrol`].
pub fn enrol(
    analyzer: &FaceAnalyzer,
    frame: &RgbFrame,
    secret: &TemplateSecret,
    key_version: u32,
    request: &CaptureRequest<'_>,
) -> Result<ProtectedCapture, EnrolmentError> {
    enrol_frames(
        analyzer,
        std::slice::from_ref(frame),
        secret,
        key_version,
        request,
        &CaptureOptions::DEFAULT,
    )
}

/// [`capture_frames`] for enrolment: refuses a request whose purpose is not
/// [`Purpose::Enrol`].
pub fn enrol_frames(
    analyzer: &FaceAnalyzer,
    frames: &[RgbFrame],
    secret: &TemplateSecret,
    key_version: u32,
    request: &CaptureRequest<'_>,
    options: &CaptureOptions,
) -> Result<ProtectedCapture, EnrolmentError> {
    Consent::new(request.consent_ref, request.purpose)?.require(Purpose::Enrol)?;
    capture_frames(analyzer, frames, secret, key_version, request, options)
}

/// Several frames analysed and fused: one descriptor, and the weakest
/// liveness and quality scores among the frames used, so that the scores
/// sealed with a template never flatter it.
struct FusedCapture {
    embedding: Embedding,
    liveness: LivenessDecision,
    quality_score: f32,
}

fn analyze_frames(
    analyzer: &FaceAnalyzer,
    frames: &[RgbFrame],
    best_frames: usize,
) -> Result<FusedCapture, EnrolmentError> {
    if frames.is_empty() {
        return Err(EnrolmentError::NoFrames);
    }
    let mut analyses = frames
        .iter()
        .map(|frame| analyzer.analyze_single(frame))
        .collect::<Result<Vec<FaceAnalysis>, PipelineError>>()?;
    let liveness = analyses
        .iter()
        .map(|a| a.liveness)
        .min_by(|a, b| a.score.total_cmp(&b.score))
        .expect("at least one frame");
    analyses.sort_by(|a, b| b.quality.score.total_cmp(&a.quality.score));
    analyses.truncate(best_frames.max(1));
    let quality_score = analyses
        .iter()
        .map(|a| a.quality.score)
        .fold(f32::INFINITY, f32::min);
    let embeddings = analyses.iter().map(|a| &a.embedding).collect::<Vec<_>>();
    let embedding = Embedding::fuse(&embeddings).ok_or(TemplateError::DegenerateEmbedding)?;
    Ok(FusedCapture {
        embedding,
        liveness,
        quality_score,
    })
}

/// The outcome of a local 1:1 verification.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalMatch {
    /// Fraction of equal hash indices between the fresh capture and the reference.
    pub score: f64,
    pub threshold: MatchThreshold,
    /// The decision: live and `score >= threshold`.
    pub matched: bool,
    pub liveness: LivenessDecision,
}

/// Kiosk mode: compares a fresh capture with a protected template the caller
/// holds (read from a card, say), without any server. `key` is the claimed
/// subject's template key under the reference's key version; consent for
/// [`Purpose::Verify`] is required.
///
/// A capture that is not live fails with [`PipelineError::NotLive`] (see
/// [`EnrolmentError::liveness_failure`]) and is never compared.
pub fn verify_local(
    analyzer: &FaceAnalyzer,
    frame: &RgbFrame,
    reference: &ProtectedTemplate,
    key: &TemplateKey,
    consent_ref: Option<&str>,
    threshold: MatchThreshold,
) -> Result<LocalMatch, EnrolmentError> {
    verify_local_frames(
        analyzer,
        std::slice::from_ref(frame),
        reference,
        key,
        consent_ref,
        threshold,
        1,
    )
}

/// [`verify_local`] from one or several frames, fused as
/// [`capture_frames`] fuses them (`best_frames` at most); every frame must
/// be live and of good quality.
pub fn verify_local_frames(
    analyzer: &FaceAnalyzer,
    frames: &[RgbFrame],
    reference: &ProtectedTemplate,
    key: &TemplateKey,
    consent_ref: Option<&str>,
    threshold: MatchThreshold,
    best_frames: usize,
) -> Result<LocalMatch, EnrolmentError> {
    Consent::new(consent_ref, Purpose::Verify)?;
    if key.params() != reference.params() {
        return Err(TemplateError::ParameterMismatch.into());
    }
    if key.key_version() != reference.key_version() {
        return Err(TemplateError::KeyVersionMismatch.into());
    }
    let fused = analyze_frames(analyzer, frames, best_frames)?;
    let liveness = fused.liveness;
    let probe = key.protect(fused.embedding)?;
    let score = reference.compare(&probe)?;
    Ok(LocalMatch {
        score: score.value(),
        threshold,
        matched: liveness.live && score.is_match(threshold),
        liveness,
    })
}
