//! The HTTP/JSON API under `/v1`, described by `openapi.json` (served at
//! `/v1/openapi.json`).

mod admin;
mod auth;
mod extract;
mod tenant;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::limits::{LoadLimits, LoadShedder};
use crate::observe::Metrics;
use crate::service::Service;
use crate::throttle::{AuthThrottle, ThrottleLimits};

/// The OpenAPI 3.1 description of the API.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// Largest request body: an envelope is at most 16 KiB; JSON bodies are tiny.
pub const MAX_BODY_BYTES: usize = 32 * 1024;

/// State shared by the handlers.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    /// SHA-256 of the admin token; `None` disables the admin routes.
    pub admin_token_hash: Option<[u8; 32]>,
    /// Failed authentications per credential and per client address.
    pub throttle: Arc<AuthThrottle>,
    /// Request counts, latencies, shedding, queue depth (`GET /metrics`).
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(service: Service, admin_token_hash: Option<[u8; 32]>) -> AppState {
        AppState::with_throttle(service, admin_token_hash, ThrottleLimits::default())
    }

    pub fn with_throttle(
        service: Service,
        admin_token_hash: Option<[u8; 32]>,
        limits: ThrottleLimits,
    ) -> AppState {
        AppState {
            service,
            admin_token_hash,
            throttle: Arc::new(AuthThrottle::new(limits)),
            metrics: Arc::new(Metrics::new()),
        }
    }
}

/// The whole API with its limits: body size, request deadline, bounded
/// concurrency with a short queue, and immediate 503 when saturated.
pub fn router(state: AppState, limits: LoadLimits) -> Router {
    let shedder = Arc::new(LoadShedder::with_metrics(
        limits,
        Arc::clone(&state.metrics),
    ));
    // Outside the shedder: a saturated service is when its metrics matter.
    let metrics = Router::new().route("/metrics", get(metrics));
    Router::new()
        .route("/v1/health", get(|| async { "ok" }))
        .route("/v1/openapi.json", get(openapi))
        .route(
            "/v1/tenants",
            post(admin::create_tenant).get(admin::list_tenants),
        )
        .route(
            "/v1/tenants/{tenant_id}",
            axum::routing::delete(admin::delete_tenant),
        )
        .route("/v1/tenants/{tenant_id}/bundle", get(admin::bundle))
        .route("/v1/tenants/{tenant_id}/keys/rotate", post(admin::rotate))
        .route(
            "/v1/tenants/{tenant_id}/keys/{key_id}/retire",
            post(admin::retire),
        )
        .route(
            "/v1/tenants/{tenant_id}/api-keys",
            post(admin::issue_api_key),
        )
        .route(
            "/v1/tenants/{tenant_id}/audit/verify",
            get(admin::verify_audit),
        )
        .route("/v1/bundle", get(tenant::bundle))
        .route("/v1/subjects", post(tenant::create_subject))
        .route(
            "/v1/subjects/{subject_id}",
            get(tenant::subject).delete(tenant::delete_subject),
        )
        .route(
            "/v1/subjects/{subject_id}/consents",
            post(tenant::grant_consent).get(tenant::list_consents),
        )
        .route(
            "/v1/subjects/{subject_id}/consents/{consent_ref}/revoke",
            post(tenant::revoke_consent),
        )
        .route("/v1/challenges", post(tenant::challenge))
        .route(
            "/v1/challenges/{challenge_id}",
            get(tenant::challenge_status),
        )
        .route("/v1/enrolments", post(tenant::enrol))
        .route("/v1/verifications", post(tenant::verify))
        .route("/v1/audit", get(tenant::audit_entries))
        .route("/v1/audit/verify", get(tenant::verify_audit))
        .fallback(|| async {
            crate::error::error_response(StatusCode::NOT_FOUND, "not_found", "no such route")
        })
        .method_not_allowed_fallback(|| async {
            crate::error::error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take this method",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            shedder,
            crate::limits::shed_load,
        ))
        .merge(metrics)
        // A throttled credential or address is refused before its body is
        // read or it takes a slot.
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state.throttle),
            refuse_throttled,
        ))
        // A panic is a 500 like any other internal failure, logged and
        // counted by the layer around it.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        // Every answer is logged and counted, refusals included.
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state.metrics),
            crate::observe::observe,
        ))
        // Outermost: no layer prints a credential, even by mistake.
        .layer(
            tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer::new([
                header::AUTHORIZATION,
            ]),
        )
        .with_state(state)
}

/// The answer to a request whose handler panicked: the panic's message
/// stays out of it (it could quote data), as for every internal error.
fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    crate::error::error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "internal error",
    )
}

/// `GET /metrics`, for the admin token: Prometheus scrapes it with
/// `authorization: {credentials_file: …}`.
async fn metrics(
    _: auth::Admin,
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    crate::observe::exposition(&state.metrics)
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// Refuses, from memory, a request whose credential or address has used
/// up its failed authentications, unless it presents an API key known to be
/// genuine.
async fn refuse_throttled(
    axum::extract::State(throttle): axum::extract::State<Arc<AuthThrottle>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0);
    let keys = crate::throttle::keys_of(request.headers(), peer);
    match throttle.retry_after(&keys) {
        // A genuine API key is served whatever others sent from its address
        // or under its handle: guessing one is hopeless, and the limit is
        // there to keep guessers from costing real clients their slots.
        Some(retry_after) if !throttle.presents_genuine(request.headers()) => {
            crate::error::ApiError::TooManyFailures { retry_after }.into_response()
        }
        _ => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_panicking_handler_is_answered_with_the_api_error_and_its_message_stays_out() {
        let app: Router = Router::new()
            .route(
                "/boom",
                get(|| async {
                    panic!("subject alice-secret");
                    #[allow(unreachable_code)]
                    ""
                }),
            )
            .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked));
        let response = app
            .oneshot(
                axum::extract::Request::get("/boom")
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"], "internal");
        assert!(!body.to_string().contains("alice"));
    }
}
