//! Tenant-scoped routes, behind the tenant's API key. Every operation runs
//! as the key's tenant: ids in paths and envelopes are looked up within it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use faceseal_core::seal::Purpose;
use serde::Deserialize;

use super::AppState;
use super::auth::TenantCaller;
use crate::audit::{AuditEntry, ChainReport};
use crate::error::ApiError;
use crate::service::{
    Challenge, ConsentRecord, ConsentRequest, Enrolled, KeyBundle, SubjectView, Verified,
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
    Json(new): Json<NewSubject>,
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
    Path(subject_id): Path<String>,
) -> Result<Json<SubjectView>, ApiError> {
    Ok(Json(state.service.subject(&caller, &subject_id).await?))
}

pub async fn delete_subject(
    TenantCaller(caller): TenantCaller,
    State(state): State<AppState>,
    Path(subject_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.service.delete_subject(&caller, &subject_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn grant_consent(
    TenantCaller(caller): TenantCaller,
    State(state): State<AppState>,
    Path(subject_id): Path<String>,
    Json(request): Json<ConsentRequest>,
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
    Path(subject_id): Path<String>,
) -> Result<Json<Vec<ConsentRecord>>, ApiError> {
    Ok(Json(
        state.service.list_consents(&caller, &subject_id).await?,
    ))
}

pub async fn revoke_consent(
    TenantCaller(caller): TenantCaller,
    State(state): State<AppState>,
    Path((subject_id, consent_ref)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .service
        .revoke_consent(&caller, &subject_id, &consent_ref)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    purpose: String,
}

pub async fn challenge(
    TenantCaller(caller): TenantCaller,
    State(state): State<AppState>,
    Json(request): Json<ChallengeRequest>,
) -> Result<(StatusCode, Json<Challenge>), ApiError> {
    let purpose = match request.purpose.as_str() {
        "enrol" => Purpose::Enrol,
        "verify" => Purpose::Verify,
        _ => return Err(ApiError::BadRequest("purpose is enrol or verify")),
    };
    let challenge = state.service.issue_challenge(&caller, purpose).await?;
    Ok((StatusCode::CREATED, Json(challenge)))
}

/// Envelopes travel as raw bytes.
fn envelope_body(headers: &HeaderMap, body: &Bytes) -> Result<(), ApiError> {
    let octets = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/octet-stream"));
    if !octets {
        return Err(ApiError::BadRequest(
            "send the envelope as application/octet-stream",
        ));
    }
    if body.is_empty() {
        return Err(ApiError::BadRequest("empty envelope"));
    }
    Ok(())
}

pub async fn enrol(
    TenantCaller(caller): TenantCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Enrolled>), ApiError> {
    envelope_body(&headers, &body)?;
    let enrolled = state.service.enrol(&caller, &body).await?;
    Ok((StatusCode::CREATED, Json(enrolled)))
}

pub async fn verify(
    TenantCaller(caller): TenantCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Verified>, ApiError> {
    envelope_body(&headers, &body)?;
    Ok(Json(state.service.verify(&caller, &body).await?))
}

pub async fn audit_entries(
    TenantCaller(caller): TenantCaller,
    State(state): State<AppState>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    Ok(Json(state.service.audit_entries(&caller.tenant_id).await?))
}

pub async fn verify_audit(
    TenantCaller(caller): TenantCaller,
    State(state): State<AppState>,
) -> Result<Json<ChainReport>, ApiError> {
    Ok(Json(state.service.verify_audit(&caller.tenant_id).await?))
}
