//! Tenant-scoped routes, behind the tenant's API key (and, for envelopes,
//! a device's capture token). Every operation runs as the credential's
//! tenant: ids in paths and envelopes are looked up within it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::{EnvelopeCaller, TenantCaller};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use crate::audit::{AuditEntry, ChainReport};
use crate::error::ApiError;
use crate::service::{
    Caller, Challenge, ChallengeRequest, ChallengeStatus, ConsentRecord, ConsentRequest,
    EnvelopeReply, KeyBundle, SubjectView,
};

pub async fn bundle(
    TenantCaller(caller): TenantCaller,
    State(state): State<AppState>,
) -> Result<Json<KeyBundle>, ApiError> {
    Ok(Json(state.service.bundle(&caller.tenant_id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSubject {
    subject_id: String,
}

pub async fn create_subject(
    TenantCaller(caller): TenantCaller,
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewSubject>,
) -> Result<(StatusCode, Json<SubjectView>), ApiError> {
    let view = state
        .service
        .create_subject(&caller, &new.subject_id)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

pub async fn subject(
    TenantCaller(caller): TenantCaller,
    State(state): State<AppState>,
    ApiPath(subject_id): ApiPath<String>,
) -> Result<Json<SubjectView>, ApiError> {
    Ok(Json(state.service.subject(&caller, &subject_id).await?))
}

pub async fn delete_subject(
    TenantCaller(caller): TenantCaller,
    State(state): State<AppState>,
    ApiPath(subject_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.service.delete_subject(&caller, &subject_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn grant_consent(
    TenantCaller(caller): TenantCaller,
    State(state): State<AppState>,
    ApiPath(subject_id): ApiPath<String>,
    ApiJson(request): ApiJson<ConsentRequest>,
) -> Result<(StatusCode, Json<ConsentRecord>), ApiError> {
    let record = state
        .service
        .grant_consent(&caller, &subject_id, request)
        .await?;
    Ok((StatusCode::CREATED, Json(record)))
}

pub async fn list_consents(
    TenantCaller(caller): TenantCaller,
    State(state): State<AppState>,
    ApiPath(subject_id): ApiPath<String>,
) -> Result<Json<Vec<ConsentRecord>>, ApiError> {
    Ok(Json(
        state.service.list_consents(&caller, &subject_id).await?,
    ))
}

pub async fn revoke_consent(
    TenantCaller(caller): TenantCaller,
    State(state): State<AppState>,
    ApiPath((subject_id, consent_ref)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .service
        .revoke_consent(&caller, &subject_id, &consent_ref)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn challenge(
    TenantCaller(caller): TenantCaller,
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ChallengeRequest>,
) -> Result<(StatusCode, Json<Challenge>), ApiError> {
    let challenge = state.service.issue_challenge(&caller, request).await?;
    Ok((StatusCode::CREATED, Json(challenge)))
}

pub async fn challenge_status(
    TenantCaller(caller): TenantCaller,
    State(state): State<AppState>,
    ApiPath(challenge_id): ApiPath<String>,
) -> Result<Json<ChallengeStatus>, ApiError> {
    Ok(Json(
        state
            .service
            .challenge_status(&caller, &challenge_id)
            .await?,
    ))
}

/// Envelopes travel as raw bytes.
fn envelope_body(headers: &HeaderMap, body: &Bytes) -> Result<(), ApiError> {
    let octets = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/octet-stream"));
    if !octets {
        return Err(ApiError::Rejected {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
            message: "send the envelope as application/octet-stream",
        });
    }
    if body.is_empty() {
        return Err(ApiError::BadRequest("empty envelope"));
    }
    Ok(())
}

/// The backend gets the decision; a device only the receipt.
fn reply<T: Serialize>(
    caller: &Caller,
    status: StatusCode,
    challenge_id: String,
    full: T,
) -> Response {
    match caller.capture {
        Some(_) => (
            status,
            Json(EnvelopeReply {
                challenge_id,
                status: "decided",
            }),
        )
            .into_response(),
        None => (status, Json(full)).into_response(),
    }
}

pub async fn enrol(
    EnvelopeCaller(caller): EnvelopeCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    envelope_body(&headers, &body)?;
    let enrolled = state.service.enrol(&caller, &body).await?;
    let id = enrolled.challenge_id.clone();
    Ok(reply(&caller, StatusCode::CREATED, id, enrolled))
}

pub async fn verify(
    EnvelopeCaller(caller): EnvelopeCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    envelope_body(&headers, &body)?;
    let verified = state.service.verify(&caller, &body).await?;
    let id = verified.challenge_id.clone();
    Ok(reply(&caller, StatusCode::OK, id, verified))
}

/// Largest page of audit entries.
pub const MAX_AUDIT_PAGE: i64 = 1_000;
const DEFAULT_AUDIT_PAGE: i64 = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries after this sequence number (default: from the first).
    #[serde(default)]
    after: i64,
    #[serde(default)]
    limit: Option<i64>,
}

#[derive(Serialize)]
pub struct AuditPage {
    entries: Vec<AuditEntry>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_after: Option<i64>,
}

pub async fn audit_entries(
    TenantCaller(caller): TenantCaller,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_AUDIT_PAGE);
    if !(1..=MAX_AUDIT_PAGE).contains(&limit) || query.after < 0 {
        return Err(ApiError::BadRequest("limit: 1 to 1000; after: 0 or more"));
    }
    let entries = state
        .service
        .audit_page(&caller.tenant_id, query.after, limit)
        .await?;
    let next_after = (entries.len() as i64 == limit)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    Ok(Json(AuditPage {
        entries,
        next_after,
    }))
}

pub async fn verify_audit(
    TenantCaller(caller): TenantCaller,
    State(state): State<AppState>,
) -> Result<Json<ChainReport>, ApiError> {
    Ok(Json(state.service.verify_audit(&caller.tenant_id).await?))
}
