//! The key holder's HTTP service.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use faceseal_split::SplitError;
use faceseal_split::keyholder::KeyHolder;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::frame;

/// Largest request body: a partial comparison is about 200 KB.
pub const MAX_BODY: usize = 1 << 20;

#[derive(Clone)]
struct AppState {
    holder: Arc<Mutex<KeyHolder>>,
}

#[derive(Deserialize)]
struct CreateTenant {
    crp_seed: String,
}

#[derive(Serialize, Deserialize)]
pub struct TenantCreated {
    pub contribution: String,
    pub decision_key: String,
}

/// The HTTP status of each refusal; the body names the reason in one word.
pub fn status_of(e: &SplitError) -> (StatusCode, &'static str) {
    match e {
        SplitError::Unauthorised => (StatusCode::UNAUTHORIZED, "unauthorised"),
        SplitError::UnknownTenant => (StatusCode::NOT_FOUND, "unknown_tenant"),
        SplitError::Replayed => (StatusCode::CONFLICT, "replayed"),
        SplitError::Locked => (StatusCode::TOO_MANY_REQUESTS, "locked"),
        SplitError::Malformed(_) | SplitError::Embedding { .. } | SplitError::CrpMismatch => {
            (StatusCode::BAD_REQUEST, "malformed")
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

fn refuse(e: SplitError) -> Response {
    let (status, reason) = status_of(&e);
    (status, reason).into_response()
}

fn bearer(headers: &HeaderMap) -> Zeroizing<Vec<u8>> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    Zeroizing::new(value.as_bytes().to_vec())
}

/// Runs `work` on the key holder off the async workers (decryption takes
/// milliseconds).
async fn with_holder<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&mut KeyHolder) -> Result<T, SplitError> + Send + 'static,
) -> Result<T, SplitError> {
    let holder = state.holder.clone();
    tokio::task::spawn_blocking(move || {
        let mut holder = holder.lock().unwrap_or_else(|p| p.into_inner());
        work(&mut holder)
    })
    .await
    .unwrap_or(Err(SplitError::Malformed("key holder task")))
}

async fn create_tenant(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Json(body): Json<CreateTenant>,
) -> Response {
    let Ok(seed) = hex::decode(&body.crp_seed)
        .ok()
        .and_then(|s| <[u8; 32]>::try_from(s).ok())
        .ok_or(())
    else {
        return refuse(SplitError::Malformed("crp seed"));
    };
    let credential = bearer(&headers);
    match with_holder(&state, move |h| {
        h.create_tenant(&credential, &tenant, seed, &mut rand::rng())
    })
    .await
    {
        Ok(setup) => Json(TenantCreated {
            contribution: hex::encode(&setup.contribution),
            decision_key: hex::encode(setup.decision_key.to_bytes().as_ref()),
        })
        .into_response(),
        Err(e) => refuse(e),
    }
}

async fn delete_tenant(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let credential = bearer(&headers);
    match with_holder(&state, move |h| h.delete_tenant(&credential, &tenant)).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => refuse(e),
    }
}

async fn decide(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some((request, partial)) = frame::decode(&body) else {
        return refuse(SplitError::Malformed("decision request"));
    };
    let credential = bearer(&headers);
    match with_holder(&state, move |h| h.decide(&credential, request, &partial)).await {
        Ok(answer) => Json(answer).into_response(),
        Err(e) => refuse(e),
    }
}

pub fn router(holder: KeyHolder) -> Router {
    let state = AppState {
        holder: Arc::new(Mutex::new(holder)),
    };
    Router::new()
        .route("/v1/health", get(|| async { "ok" }))
        .route(
            "/v1/tenants/{tenant}",
            post(create_tenant).delete(delete_tenant),
        )
        .route("/v1/decide", post(decide))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}
