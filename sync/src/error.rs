//! What the API answers when it refuses: a status and a stable reason code,
//! with a message that never names a subject, a consent or a key.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use thiserror::Error;

use crate::db::DbError;
use crate::keystore::KeyStoreError;

/// Why a biometric request was refused after it was understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Refusal {
    #[error("envelope is not a well-formed sealed envelope")]
    MalformedEnvelope,
    #[error("envelope is larger than the format allows")]
    EnvelopeTooLarge,
    #[error("envelope is sealed to a key this tenant does not have, or a retired one")]
    UnknownKeyId,
    #[error("envelope could not be opened")]
    EnvelopeUnopenable,
    #[error("envelope payload is not a valid protected template")]
    InvalidTemplate,
    #[error("envelope was sealed for another tenant")]
    TenantMismatch,
    #[error("envelope was sealed for another purpose than this route's")]
    WrongPurpose,
    #[error("envelope creation time is outside the accepted window")]
    OutsideTimeWindow,
    #[error("challenge unknown, already used, expired, or issued for another purpose")]
    InvalidChallenge,
    #[error("subject unknown")]
    UnknownSubject,
    #[error("no valid consent for this purpose")]
    NoValidConsent,
    #[error("liveness score below the tenant's threshold")]
    LivenessTooLow,
    #[error("the capture's liveness level is below the tenant's")]
    LivenessLevelTooLow,
    #[error("quality score below the tenant's threshold")]
    QualityTooLow,
    #[error("template parameters or key version differ from the tenant's")]
    TemplateMismatch,
    #[error("subject has no enrolled template")]
    NotEnrolled,
    #[error("the probe was made from the frames of the enrolment itself")]
    CaptureReplayed,
    #[error("subject is already enrolled; replacing a template needs a replacement challenge")]
    AlreadyEnrolled,
}

impl Refusal {
    /// The stable code clients switch on.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::MalformedEnvelope => "malformed_envelope",
            Refusal::EnvelopeTooLarge => "envelope_too_large",
            Refusal::UnknownKeyId => "unknown_key_id",
            Refusal::EnvelopeUnopenable => "envelope_unopenable",
            Refusal::InvalidTemplate => "invalid_template",
            Refusal::TenantMismatch => "tenant_mismatch",
            Refusal::WrongPurpose => "wrong_purpose",
            Refusal::OutsideTimeWindow => "outside_time_window",
            Refusal::InvalidChallenge => "invalid_challenge",
            Refusal::UnknownSubject => "unknown_subject",
            Refusal::NoValidConsent => "no_valid_consent",
            Refusal::LivenessTooLow => "liveness_too_low",
            Refusal::LivenessLevelTooLow => "liveness_level_too_low",
            Refusal::QualityTooLow => "quality_too_low",
            Refusal::TemplateMismatch => "template_mismatch",
            Refusal::NotEnrolled => "not_enrolled",
            Refusal::CaptureReplayed => "capture_replayed",
            Refusal::AlreadyEnrolled => "already_enrolled",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Refusal::MalformedEnvelope
            | Refusal::UnknownKeyId
            | Refusal::EnvelopeUnopenable
            | Refusal::InvalidTemplate => StatusCode::BAD_REQUEST,
            Refusal::EnvelopeTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::UnknownSubject | Refusal::NotEnrolled => StatusCode::NOT_FOUND,
            Refusal::TemplateMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            Refusal::AlreadyEnrolled => StatusCode::CONFLICT,
            _ => StatusCode::FORBIDDEN,
        }
    }
}

/// Every error a handler returns.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("{0}")]
    Refused(#[from] Refusal),
    #[error("missing or invalid credentials")]
    Unauthorized,
    #[error("not found")]
    NotFound,
    #[error("already exists")]
    Conflict,
    #[error("invalid request: {0}")]
    BadRequest(&'static str),
    /// A request the HTTP layer could not take apart (JSON syntax, media
    /// type, path decoding), with its own status and code.
    #[error("{message}")]
    Rejected {
        status: StatusCode,
        code: &'static str,
        message: &'static str,
    },
    #[error("too many failed verifications: the subject is locked for a while")]
    SubjectLocked { retry_after: u64 },
    #[error("too many failed authentications from this client or for this credential")]
    TooManyFailures { retry_after: u64 },
    #[error("storage error")]
    Storage(DbError),
    #[error("key store error")]
    Keys(#[from] KeyStoreError),
    #[error("stored data failed its integrity check")]
    Integrity,
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Refused(r) => (r.status(), r.code()),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict => (StatusCode::CONFLICT, "conflict"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Rejected { status, code, .. } => (*status, code),
            ApiError::SubjectLocked { .. } => (StatusCode::TOO_MANY_REQUESTS, "subject_locked"),
            ApiError::TooManyFailures { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_auth_failures")
            }
            ApiError::Storage(_) | ApiError::Keys(_) | ApiError::Integrity => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        }
    }
}

/// A JSON error body `{"error": code, "message": text}`.
pub fn error_response(status: StatusCode, code: &'static str, message: &str) -> Response {
    let body = serde_json::json!({ "error": code, "message": message });
    let mut response = (status, axum::Json(body)).into_response();
    response
        .extensions_mut()
        .insert(crate::observe::ErrorCode(code));
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// A guard that failed inside a transaction is the refusal it stands for
/// (see [`crate::db::Stmt::guard`]); any other storage error is internal.
impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::GuardFailed(tag) => match tag {
                "unknown_subject" => Refusal::UnknownSubject.into(),
                "no_valid_consent" => Refusal::NoValidConsent.into(),
                "already_enrolled" => Refusal::AlreadyEnrolled.into(),
                "not_enrolled" => Refusal::NotEnrolled.into(),
                "not_found" => ApiError::NotFound,
                "conflict" => ApiError::Conflict,
                _ => ApiError::Storage(e),
            },
            e => ApiError::Storage(e),
        }
    }
}

/// Adds `Retry-After` to a response.
pub fn with_retry_after(mut response: Response, seconds: u64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::SubjectLocked { retry_after } | ApiError::TooManyFailures { retry_after } =
            self
        {
            return with_retry_after(error_response(status, code, &self.to_string()), retry_after);
        }
        if status.is_server_error() {
            // For the operator: engine messages hold no parameter values
            // (they are bound, never interpolated), and key errors no key.
            match &self {
                ApiError::Storage(e) => eprintln!("faceseal-sync: storage error: {e}"),
                ApiError::Keys(e) => eprintln!("faceseal-sync: key store error: {e}"),
                other => eprintln!("faceseal-sync: {other}"),
            }
            return error_response(status, code, "internal error");
        }
        error_response(status, code, &self.to_string())
    }
}
