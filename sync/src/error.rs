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
    #[error("quality score below the tenant's threshold")]
    QualityTooLow,
    #[error("template parameters or key version differ from the tenant's")]
    TemplateMismatch,
    #[error("subject has no enrolled template")]
    NotEnrolled,
    #[error("the probe was made from the frames of the enrolment itself")]
    CaptureReplayed,
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
            Refusal::QualityTooLow => "quality_too_low",
            Refusal::TemplateMismatch => "template_mismatch",
            Refusal::NotEnrolled => "not_enrolled",
            Refusal::CaptureReplayed => "capture_replayed",
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
    #[error("storage error")]
    Storage(#[from] DbError),
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
            ApiError::Storage(_) | ApiError::Keys(_) | ApiError::Integrity => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        }
    }
}

/// A JSON error body `{"error": code, "message": text}`.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": code, "message": message });
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
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
