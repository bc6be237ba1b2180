//! Credentials: the admin token for tenant management, a tenant API key for
//! everything tenant-scoped. Both as `Authorization: Bearer <secret>`.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::AppState;
use crate::error::ApiError;
use crate::service::{Caller, admin_token_matches};

fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// Proof that the request carries the admin token.
pub struct Admin;

impl<S> FromRequestParts<S> for Admin
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let (Some(expected), Some(token)) = (state.admin_token_hash, bearer(parts)) else {
            return Err(ApiError::Unauthorized);
        };
        if admin_token_matches(&expected, token) {
            Ok(Admin)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

/// The tenant whose API key the request carries.
pub struct TenantCaller(pub Caller);

impl<S> FromRequestParts<S> for TenantCaller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
        Ok(TenantCaller(state.service.authenticate(token).await?))
    }
}
