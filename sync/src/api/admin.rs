//! Tenant management, behind the admin token.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::AppState;
use super::auth::Admin;
use super::extract::{ApiJson, ApiPath};
use crate::audit::ChainReport;
use crate::error::ApiError;
use crate::service::{CreatedTenant, KeyBundle, NewTenant, RevealedSecret, TenantSummary};

pub async fn create_tenant(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(new): ApiJson<NewTenant>,
) -> Result<(StatusCode, Json<CreatedTenant>), ApiError> {
    let created = state.service.create_tenant(new).await?;
    state.throttle.genuine_api_key(&created.api_key.0);
    Ok((StatusCode::CREATED, Json(created)))
}

pub async fn list_tenants(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<Vec<TenantSummary>>, ApiError> {
    Ok(Json(state.service.list_tenants().await?))
}

pub async fn delete_tenant(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(tenant_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.service.delete_tenant(&tenant_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn bundle(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(tenant_id): ApiPath<String>,
) -> Result<Json<KeyBundle>, ApiError> {
    Ok(Json(state.service.bundle(&tenant_id).await?))
}

pub async fn rotate(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(tenant_id): ApiPath<String>,
) -> Result<Json<KeyBundle>, ApiError> {
    Ok(Json(state.service.rotate_tenant_key(&tenant_id).await?))
}

pub async fn retire(
    _: Admin,
    State(state): State<AppState>,
    ApiPath((tenant_id, key_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.service.retire_tenant_key(&tenant_id, &key_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn issue_api_key(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(tenant_id): ApiPath<String>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let key: RevealedSecret = state.service.issue_api_key(&tenant_id).await?;
    state.throttle.genuine_api_key(&key.0);
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "api_key": key })),
    ))
}

pub async fn verify_audit(
    _: Admin,
    State(state): State<AppState>,
    ApiPath(tenant_id): ApiPath<String>,
) -> Result<Json<ChainReport>, ApiError> {
    Ok(Json(state.service.verify_audit(&tenant_id).await?))
}
