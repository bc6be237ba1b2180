//! What an operator sees of the traffic: one access-log event per request
//! (`tracing`, target `faceseal_sync::access`) and Prometheus metrics.
//!
//! Both hold the route **template** (`/v1/subjects/{subject_id}`), never the
//! path: a path carries subject ids and consent references. Neither holds a
//! header, a query or a body, so no credential, token or key reaches them.
//! An event has the method, the route, the status, the outcome (a closed
//! set, below) and the latency; nothing else.

use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// The error code of a refusal, set on the response by
/// [`crate::error::error_response`]: how the outcome is told apart without
/// reading the body.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

/// How a request ended, as logged and counted.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx and 3xx.
    Ok,
    /// 401: no valid credential.
    Unauthorized,
    /// 429 `too_many_auth_failures`: refused from memory, before any work.
    RateLimited,
    /// 429 `subject_locked`: the subject's attempt budget is spent.
    Locked,
    /// 503 `busy`: no slot and no room in the queue.
    Shed,
    /// 408 or 503 `timeout`: the body or the work did not finish in time.
    Timeout,
    /// Any other 4xx: the request was refused for what it asked.
    Refused,
    /// 5xx other than shedding.
    Error,
}

impl Outcome {
    pub fn of(status: StatusCode, code: Option<&str>) -> Outcome {
        match (status.as_u16(), code) {
            (200..=399, _) => Outcome::Ok,
            (401, _) => Outcome::Unauthorized,
            (429, Some("subject_locked")) => Outcome::Locked,
            (429, _) => Outcome::RateLimited,
            (503, Some("busy")) => Outcome::Shed,
            (408, _) | (503, Some("timeout")) => Outcome::Timeout,
            (400..=499, _) => Outcome::Refused,
            _ => Outcome::Error,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Unauthorized => "unauthorized",
            Outcome::RateLimited => "rate_limited",
            Outcome::Locked => "locked",
            Outcome::Shed => "shed",
            Outcome::Timeout => "timeout",
            Outcome::Refused => "refused",
            Outcome::Error => "error",
        }
    }
}

impl EncodeLabelValue for Outcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    outcome: Outcome,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

/// The service's metrics, shared by every request.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    shed: Counter,
    rate_limited: Counter,
    in_flight: Gauge<i64, AtomicI64>,
    queued: Gauge<i64, AtomicI64>,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms to about 4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("faceseal_sync");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: Family<RouteLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        let shed = Counter::default();
        let rate_limited = Counter::default();
        let in_flight = Gauge::<i64, AtomicI64>::default();
        let queued = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "requests",
            "Requests answered, by method, route template and outcome",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from the request's arrival to its answer, by method and route template",
            latency.clone(),
        );
        registry.register(
            "shed",
            "Requests answered 503 busy: no slot and no room in the queue",
            shed.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused 429 for too many failed authentications, before any work",
            rate_limited.clone(),
        );
        registry.register(
            "in_flight",
            "Requests holding a worker slot",
            in_flight.clone(),
        );
        registry.register(
            "queued",
            "Requests admitted and waiting for a worker slot",
            queued.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            shed,
            rate_limited,
            in_flight,
            queued,
        }
    }

    /// A request took a worker slot (`+1`) or gave it back (`-1`).
    pub fn in_flight(&self, delta: i64) {
        self.in_flight.inc_by(delta);
    }

    /// A request started (`+1`) or stopped (`-1`) waiting for a slot.
    pub fn queued(&self, delta: i64) {
        self.queued.inc_by(delta);
    }

    fn record(&self, method: &str, route: &str, outcome: Outcome, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                outcome,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(seconds);
        match outcome {
            Outcome::Shed => {
                self.shed.inc();
            }
            Outcome::RateLimited => {
                self.rate_limited.inc();
            }
            _ => {}
        }
    }

    /// The Prometheus text exposition (OpenMetrics).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The route template of a request, or `unmatched` (a path no route has:
/// never the path itself).
fn route_of(request: &Request) -> String {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned())
}

/// The middleware: times the request, then logs and counts how it ended.
pub async fn observe(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = route_of(&request);
    let response = next.run(request).await;
    let status = response.status();
    let outcome = Outcome::of(
        status,
        response.extensions().get::<ErrorCode>().map(|c| c.0),
    );
    let elapsed = started.elapsed();
    metrics.record(&method, &route, outcome, elapsed.as_secs_f64());
    tracing::info!(
        target: "faceseal_sync::access",
        method = %method,
        route = %route,
        status = status.as_u16(),
        outcome = %outcome.as_str(),
        latency_us = elapsed.as_micros() as u64,
    );
    response
}

/// `GET /metrics`: the exposition, for the admin token only (the caller has
/// been authenticated by the handler's extractor).
pub fn exposition(metrics: &Metrics) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_status_and_code() {
        assert_eq!(Outcome::of(StatusCode::OK, None), Outcome::Ok);
        assert_eq!(
            Outcome::of(StatusCode::SERVICE_UNAVAILABLE, Some("busy")),
            Outcome::Shed
        );
        assert_eq!(
            Outcome::of(StatusCode::SERVICE_UNAVAILABLE, Some("timeout")),
            Outcome::Timeout
        );
        assert_eq!(
            Outcome::of(
                StatusCode::TOO_MANY_REQUESTS,
                Some("too_many_auth_failures")
            ),
            Outcome::RateLimited
        );
        assert_eq!(
            Outcome::of(StatusCode::TOO_MANY_REQUESTS, Some("subject_locked")),
            Outcome::Locked
        );
        assert_eq!(
            Outcome::of(StatusCode::BAD_REQUEST, Some("malformed_envelope")),
            Outcome::Refused
        );
        assert_eq!(
            Outcome::of(StatusCode::INTERNAL_SERVER_ERROR, Some("internal")),
            Outcome::Error
        );
    }

    #[test]
    fn the_exposition_counts_by_route_template_and_outcome() {
        let m = Metrics::new();
        m.record("POST", "/v1/verifications", Outcome::Shed, 0.001);
        m.record("POST", "/v1/verifications", Outcome::Ok, 0.002);
        let text = m.encode();
        assert!(
            text.contains(
                "faceseal_sync_requests_total{method=\"POST\",route=\"/v1/verifications\",outcome=\"shed\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("faceseal_sync_shed_total 1"), "{text}");
        assert!(
            text.contains("faceseal_sync_rate_limited_total 0"),
            "{text}"
        );
    }
}
