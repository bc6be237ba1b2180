//! Credentials: the admin token for tenant management (`Bearer`), a tenant
//! API key for everything tenant-scoped (`Bearer fsk_…`), and, on the
//! enrolment and verification routes only, a device's capture token
//! (`Capture fsc_…`). Every failure is counted by the throttle
//! ([`crate::throttle`]), which refuses further tries before they cost
//! anything.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;

use super::AppState;
use crate::error::ApiError;
use crate::service::{Caller, admin_token_matches};
use crate::throttle::keys_of;

fn credential<'a>(parts: &'a Parts, scheme: &str) -> Option<&'a str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix(scheme)?
        .strip_prefix(' ')
}

/// Counts the failure against the request's credential and address, and
/// hands the error back.
fn failed(state: &AppState, parts: &Parts, error: ApiError) -> ApiError {
    if matches!(error, ApiError::Unauthorized) {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        state.throttle.failed(&keys_of(&parts.headers, peer));
    }
    error
}

/// Authenticates an API key; a genuine one is remembered by the throttle,
/// which then serves it even when its address is over the failure limit.
async fn authenticated(state: &AppState, api_key: &str) -> Result<Caller, ApiError> {
    let caller = state.service.authenticate(api_key).await?;
    state.throttle.genuine_api_key(api_key);
    Ok(caller)
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
        let matches = match (state.admin_token_hash, credential(parts, "Bearer")) {
            (Some(expected), Some(token)) => admin_token_matches(&expected, token),
            _ => false,
        };
        if matches {
            Ok(Admin)
        } else {
            Err(failed(&state, parts, ApiError::Unauthorized))
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
        let result = match credential(parts, "Bearer") {
            Some(token) => authenticated(&state, token).await,
            None => Err(ApiError::Unauthorized),
        };
        result
            .map(TenantCaller)
            .map_err(|e| failed(&state, parts, e))
    }
}

/// Who may send an envelope: the tenant's backend with its API key, or a
/// device with the capture token of one challenge.
pub struct EnvelopeCaller(pub Caller);

impl<S> FromRequestParts<S> for EnvelopeCaller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let result = match (credential(parts, "Capture"), credential(parts, "Bearer")) {
            (Some(token), _) => state.service.authenticate_capture(token).await,
            (None, Some(key)) => authenticated(&state, key).await,
            (None, None) => Err(ApiError::Unauthorized),
        };
        result
            .map(EnvelopeCaller)
            .map_err(|e| failed(&state, parts, e))
    }
}
