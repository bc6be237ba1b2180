//! Load shedding: at most `max_in_flight` requests run at once and at most
//! `max_queued` wait for a slot; any request beyond that is answered `503`
//! with `Retry-After` at once, instead of slowing every caller down. The body
//! is received, within its own deadline and size limit, before the request
//! takes a slot (slow clients get `408`, oversized bodies `413`); the work
//! then has a deadline of its own (`503` when it passes).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use tokio::sync::Semaphore;

use crate::db::Backend;
use crate::error::error_response;
use crate::observe::Metrics;

/// The load limits of a server.
#[derive(Debug, Clone, Copy)]
pub struct LoadLimits {
    pub max_in_flight: usize,
    pub max_queued: usize,
    /// Deadline of one request, from admission to response.
    pub request_timeout: Duration,
    /// Deadline for receiving a request body, before the request takes a
    /// slot: a slow client holds a connection, never a worker.
    pub body_timeout: Duration,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// What `Retry-After` tells a shed client, in seconds.
    pub retry_after_secs: u32,
}

impl LoadLimits {
    /// Sized for this machine and the storage `backend`. A request spends
    /// much of its time waiting, not computing: for its changes to reach
    /// the writer thread and for the group's fsync (SQLite), or for the
    /// database server (PostgreSQL).
    ///
    /// - SQLite: three requests per core in flight, one waiting per two
    ///   cores. With fewer in flight the cores sat idle at saturation
    ///   (`faceseal-sync bench`, 2 cores, client beside the server: about
    ///   1,850 verifications/s at two per core, 2,000 to 2,250 at three,
    ///   2,600 at four); four per core accepted about 60% of the saturated
    ///   rate under four times that load, against about 80% at three.
    /// - PostgreSQL: two per core in flight, one per core waiting. The
    ///   database server shares the cores and saturates at three or four
    ///   clients; three per core added only waiting (a p99 under overload
    ///   of about 5.5 times the unloaded one, against about 2.4 at two).
    pub fn for_this_machine(backend: Backend) -> LoadLimits {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        let (max_in_flight, max_queued) = match backend {
            Backend::Sqlite => (3 * cores, cores.div_ceil(2)),
            Backend::Postgres => (2 * cores, cores),
        };
        LoadLimits {
            max_in_flight,
            max_queued,
            request_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(5),
            max_body_bytes: crate::api::MAX_BODY_BYTES,
            retry_after_secs: 1,
        }
    }
}

/// Shared state of the load-shedding middleware.
pub struct LoadShedder {
    limits: LoadLimits,
    slots: Semaphore,
    /// Requests admitted (running or waiting for a slot).
    admitted: AtomicUsize,
    /// Where the queue depth and the slots in use are published.
    metrics: Arc<Metrics>,
}

impl LoadShedder {
    pub fn new(limits: LoadLimits) -> LoadShedder {
        LoadShedder::with_metrics(limits, Arc::new(Metrics::new()))
    }

    pub fn with_metrics(limits: LoadLimits, metrics: Arc<Metrics>) -> LoadShedder {
        LoadShedder {
            slots: Semaphore::new(limits.max_in_flight.max(1)),
            admitted: AtomicUsize::new(0),
            limits,
            metrics,
        }
    }
}

/// Adds `delta` to a gauge now and takes it back when dropped, however the
/// request ends (answered, timed out, or its connection gone).
struct Gauged<'a> {
    metrics: &'a Metrics,
    apply: fn(&Metrics, i64),
}

impl<'a> Gauged<'a> {
    fn new(metrics: &'a Metrics, apply: fn(&Metrics, i64)) -> Gauged<'a> {
        apply(metrics, 1);
        Gauged { metrics, apply }
    }
}

impl Drop for Gauged<'_> {
    fn drop(&mut self) {
        (self.apply)(self.metrics, -1);
    }
}

/// Decrements the admitted count however the request ends.
struct Admission<'a>(&'a AtomicUsize);

impl Drop for Admission<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn busy(retry_after: u32) -> Response {
    let mut response = error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "busy",
        "the service is saturated; retry later",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

/// Whether a request starts a new verification or enrolment (a new
/// challenge) rather than finishing one whose client already holds a
/// challenge. New work is shed first: it may use only half of the queue, so
/// under overload the envelopes of challenges already handed out still find
/// room, and the work spent issuing those challenges is not wasted.
fn starts_new_work(request: &Request) -> bool {
    request.method() == axum::http::Method::POST
        && request
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .is_some_and(|p| p.as_str() == "/v1/challenges")
}

/// The middleware.
pub async fn shed_load(
    State(shedder): State<Arc<LoadShedder>>,
    request: Request,
    next: Next,
) -> Response {
    let limits = shedder.limits;
    let (parts, body) = request.into_parts();
    let body = match tokio::time::timeout(
        limits.body_timeout,
        axum::body::to_bytes(body, limits.max_body_bytes),
    )
    .await
    {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the request body is too large or was cut off",
            );
        }
        Err(_) => {
            return error_response(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                "the request body did not arrive in time",
            );
        }
    };
    let request = Request::from_parts(parts, axum::body::Body::from(body));
    let capacity = if starts_new_work(&request) {
        limits.max_in_flight + limits.max_queued / 2
    } else {
        limits.max_in_flight + limits.max_queued
    };
    if shedder.admitted.fetch_add(1, Ordering::AcqRel) >= capacity {
        shedder.admitted.fetch_sub(1, Ordering::AcqRel);
        return busy(limits.retry_after_secs);
    }
    let _admission = Admission(&shedder.admitted);
    let deadline = tokio::time::Instant::now() + limits.request_timeout;
    let waiting = Gauged::new(&shedder.metrics, Metrics::queued);
    let Ok(Ok(_permit)) = tokio::time::timeout_at(deadline, shedder.slots.acquire()).await else {
        return busy(limits.retry_after_secs);
    };
    drop(waiting);
    let _running = Gauged::new(&shedder.metrics, Metrics::in_flight);
    match tokio::time::timeout_at(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request could not be completed in time; retry later",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use tokio::sync::{Notify, mpsc};
    use tower::ServiceExt;

    /// A router whose handler signals its start and then waits to be released.
    fn blocking_router(
        shedder: Arc<LoadShedder>,
    ) -> (Router, mpsc::UnboundedReceiver<()>, Arc<Notify>) {
        let (started_tx, started) = mpsc::unbounded_channel();
        let release = Arc::new(Notify::new());
        let gate = Arc::clone(&release);
        let router = Router::new()
            .route(
                "/",
                get(move || {
                    let (started_tx, gate) = (started_tx.clone(), Arc::clone(&gate));
                    async move {
                        let _ = started_tx.send(());
                        gate.notified().await;
                        "done"
                    }
                }),
            )
            .layer(axum::middleware::from_fn_with_state(shedder, shed_load));
        (router, started, release)
    }

    fn request() -> Request {
        Request::builder().uri("/").body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn beyond_the_slots_and_the_queue_requests_are_shed_at_once() {
        let limits = LoadLimits {
            max_in_flight: 1,
            max_queued: 1,
            ..LoadLimits::for_this_machine(Backend::Sqlite)
        };
        let shedder = Arc::new(LoadShedder::new(limits));
        let (router, mut started, release) = blocking_router(Arc::clone(&shedder));
        let first = tokio::spawn(router.clone().oneshot(request()));
        started.recv().await.unwrap();
        // Second: queued behind the first (not yet started).
        let second = tokio::spawn(router.clone().oneshot(request()));
        while shedder.admitted.load(Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        // Third: no slot, no room in the queue: 503 with Retry-After, without waiting.
        let third = router.clone().oneshot(request()).await.unwrap();
        assert_eq!(third.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(third.headers()[header::RETRY_AFTER], "1");
        release.notify_one();
        assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::OK);
        started.recv().await.unwrap();
        release.notify_one();
        assert_eq!(second.await.unwrap().unwrap().status(), StatusCode::OK);
        // Capacity is back.
        let again = tokio::spawn(router.clone().oneshot(request()));
        started.recv().await.unwrap();
        release.notify_one();
        assert_eq!(again.await.unwrap().unwrap().status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn new_challenges_are_shed_before_envelopes_of_issued_ones() {
        let limits = LoadLimits {
            max_in_flight: 1,
            max_queued: 2,
            ..LoadLimits::for_this_machine(Backend::Sqlite)
        };
        let shedder = Arc::new(LoadShedder::new(limits));
        let (started_tx, mut started) = mpsc::unbounded_channel();
        let release = Arc::new(Notify::new());
        let handler = {
            let release = Arc::clone(&release);
            move || {
                let (started_tx, release) = (started_tx.clone(), Arc::clone(&release));
                async move {
                    let _ = started_tx.send(());
                    release.notified().await;
                    "done"
                }
            }
        };
        let router = Router::new()
            .route("/v1/challenges", axum::routing::post(handler.clone()))
            .route("/v1/verifications", axum::routing::post(handler))
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&shedder),
                shed_load,
            ));
        let post = |path: &str| {
            Request::builder()
                .method("POST")
                .uri(path)
                .body(Body::empty())
                .unwrap()
        };
        // One challenge runs, one waits: the half of the queue new work may use.
        let running = tokio::spawn(router.clone().oneshot(post("/v1/challenges")));
        started.recv().await.unwrap();
        let waiting = tokio::spawn(router.clone().oneshot(post("/v1/challenges")));
        while shedder.admitted.load(Ordering::Acquire) < 2 {
            tokio::task::yield_now().await;
        }
        let shed = router
            .clone()
            .oneshot(post("/v1/challenges"))
            .await
            .unwrap();
        assert_eq!(shed.status(), StatusCode::SERVICE_UNAVAILABLE);
        // A verification still finds room.
        let verification = tokio::spawn(router.clone().oneshot(post("/v1/verifications")));
        while shedder.admitted.load(Ordering::Acquire) < 3 {
            tokio::task::yield_now().await;
        }
        // Each release lets the next admitted request start.
        for _ in 0..2 {
            release.notify_one();
            started.recv().await.unwrap();
        }
        release.notify_one();
        assert_eq!(running.await.unwrap().unwrap().status(), StatusCode::OK);
        assert_eq!(waiting.await.unwrap().unwrap().status(), StatusCode::OK);
        assert_eq!(
            verification.await.unwrap().unwrap().status(),
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn oversized_bodies_are_refused_before_taking_a_slot() {
        let limits = LoadLimits {
            max_in_flight: 1,
            max_queued: 0,
            max_body_bytes: 16,
            ..LoadLimits::for_this_machine(Backend::Sqlite)
        };
        let (router, _started, _release) = blocking_router(Arc::new(LoadShedder::new(limits)));
        let big = Request::builder()
            .uri("/")
            .body(Body::from(vec![0u8; 17]))
            .unwrap();
        let response = router.oneshot(big).await.unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
