//! Device capture tokens: the tenant's backend asks for a challenge naming
//! the subject and hands the device a single-use token; the device sends
//! its envelope with the token alone and learns no decision; the backend
//! reads the decision by challenge id with its API key.

mod common;

use common::*;
use faceseal_core::seal::Purpose;
use faceseal_sync::client::{Body, HttpClient, Reply};
use faceseal_sync::service::ServiceConfig;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

/// The backend's part: a challenge for `subject` and `purpose`.
async fn ask(c: &mut HttpClient, t: &Tenant, subject: &str, purpose: &str) -> Value {
    let ch = challenge_for(c, t, json!({"purpose": purpose, "subject_id": subject})).await;
    assert!(ch["capture_token"].as_str().unwrap().starts_with("fsc_"));
    ch
}

/// The device's part: seal for the challenge and send with the token only.
async fn device_sends(
    c: &mut HttpClient,
    t: &Tenant,
    ch: &Value,
    subject: &str,
    purpose: Purpose,
    consent: &str,
    payload: &[u8],
) -> Reply {
    let envelope = seal_payload(
        t,
        &context(t, subject, purpose, consent, nonce_of(ch)),
        payload,
    );
    let path = if purpose == Purpose::Enrol {
        "/v1/enrolments"
    } else {
        "/v1/verifications"
    };
    let token = format!("Capture {}", ch["capture_token"].as_str().unwrap());
    c.request_authorized(Method::POST, path, Some(&token), Body::Octets(envelope))
        .await
        .unwrap()
}

async fn status_of(c: &mut HttpClient, t: &Tenant, ch: &Value) -> Value {
    let path = format!("/v1/challenges/{}", ch["challenge_id"].as_str().unwrap());
    let r = c.get(&path, t.key()).await.unwrap();
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.json().unwrap()
}

#[tokio::test]
async fn a_device_enrols_and_verifies_with_a_capture_token_and_the_backend_reads_the_decision() {
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let t = s.tenant("acme", json!({})).await;
        let mut c = s.client();
        let mut device = s.client();
        let refs = subject(&mut c, &t, "alice", &["enrol", "verify"]).await;
        let reference = indices(81);

        let ch = ask(&mut c, &t, "alice", "enrol").await;
        assert_eq!(status_of(&mut c, &t, &ch).await["status"], "pending");
        let r = device_sends(
            &mut device,
            &t,
            &ch,
            "alice",
            Purpose::Enrol,
            &refs[0],
            &template(&reference),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{backend:?} {:?}", r.body);
        assert_eq!(
            r.json().unwrap(),
            json!({"challenge_id": ch["challenge_id"], "status": "decided"})
        );
        let st = status_of(&mut c, &t, &ch).await;
        assert_eq!(
            (st["status"].as_str(), st["outcome"].as_str()),
            (Some("decided"), Some("enrolled"))
        );

        for (probe, matched) in [(reference.clone(), true), (indices(82), false)] {
            let ch = ask(&mut c, &t, "alice", "verify").await;
            let r = device_sends(
                &mut device,
                &t,
                &ch,
                "alice",
                Purpose::Verify,
                &refs[1],
                &template(&probe),
            )
            .await;
            assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
            let told = r.json().unwrap();
            assert!(
                told.get("matched").is_none(),
                "the device learns no decision: {told}"
            );
            assert_eq!(status_of(&mut c, &t, &ch).await["matched"], matched);
        }
        // Refusals are decisions too.
        let ch = ask(&mut c, &t, "alice", "verify").await;
        let r = device_sends(
            &mut device,
            &t,
            &ch,
            "alice",
            Purpose::Verify,
            &refs[0],
            &template(&reference),
        )
        .await;
        refused(&r, StatusCode::FORBIDDEN, "no_valid_consent");
        assert_eq!(
            status_of(&mut c, &t, &ch).await["outcome"],
            "refused:no_valid_consent"
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn a_capture_token_answers_its_own_challenge_once_and_nothing_else() {
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let t = s.tenant("acme", json!({})).await;
        let mut c = s.client();
        let mut device = s.client();
        let alice = subject(&mut c, &t, "alice", &["enrol", "verify"]).await;
        let bob = subject(&mut c, &t, "bob", &["enrol"]).await;
        let payload = template(&indices(83));

        // Another subject: refused, and nothing stored for bob.
        let ch = ask(&mut c, &t, "alice", "enrol").await;
        let r = device_sends(
            &mut device,
            &t,
            &ch,
            "bob",
            Purpose::Enrol,
            &bob[0],
            &payload,
        )
        .await;
        refused(&r, StatusCode::FORBIDDEN, "invalid_challenge");
        assert_eq!(s.rows("templates").await, 0);
        // Another purpose: an enrolment token on the verification route.
        let ch = ask(&mut c, &t, "alice", "enrol").await;
        let r = device_sends(
            &mut device,
            &t,
            &ch,
            "alice",
            Purpose::Verify,
            &alice[1],
            &payload,
        )
        .await;
        refused(&r, StatusCode::FORBIDDEN, "invalid_challenge");
        // Another challenge's nonce: refused, and that challenge stays usable.
        let mine = ask(&mut c, &t, "alice", "enrol").await;
        let other = ask(&mut c, &t, "alice", "enrol").await;
        let envelope = seal_payload(
            &t,
            &context(&t, "alice", Purpose::Enrol, &alice[0], nonce_of(&other)),
            &payload,
        );
        let token = format!("Capture {}", mine["capture_token"].as_str().unwrap());
        let r = device
            .request_authorized(
                Method::POST,
                "/v1/enrolments",
                Some(&token),
                Body::Octets(envelope),
            )
            .await
            .unwrap();
        refused(&r, StatusCode::FORBIDDEN, "invalid_challenge");
        assert_eq!(status_of(&mut c, &t, &other).await["status"], "pending");

        // Reused: the first use succeeds, the second is no credential at all.
        let ch = ask(&mut c, &t, "alice", "enrol").await;
        let r = device_sends(
            &mut device,
            &t,
            &ch,
            "alice",
            Purpose::Enrol,
            &alice[0],
            &payload,
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let r = device_sends(
            &mut device,
            &t,
            &ch,
            "alice",
            Purpose::Enrol,
            &alice[0],
            &payload,
        )
        .await;
        refused(&r, StatusCode::UNAUTHORIZED, "unauthorized");

        // The token opens no other route, as Capture or as Bearer.
        let ch = ask(&mut c, &t, "alice", "verify").await;
        let token = ch["capture_token"].as_str().unwrap();
        let status_path = format!("/v1/challenges/{}", ch["challenge_id"].as_str().unwrap());
        for (method, path) in [
            (Method::GET, "/v1/bundle"),
            (Method::GET, "/v1/subjects/alice"),
            (Method::DELETE, "/v1/subjects/alice"),
            (Method::POST, "/v1/challenges"),
            (Method::GET, status_path.as_str()),
            (Method::GET, "/v1/audit"),
            (Method::GET, "/v1/tenants"),
        ] {
            for auth in [format!("Capture {token}"), format!("Bearer {token}")] {
                let r = device
                    .request_authorized(
                        method.clone(),
                        path,
                        Some(&auth),
                        Body::Json(json!({"purpose": "verify"})),
                    )
                    .await
                    .unwrap();
                refused(&r, StatusCode::UNAUTHORIZED, "unauthorized");
            }
        }
        // A forged token for a real challenge.
        let forged = format!(
            "Capture fsc_{}_{}",
            ch["challenge_id"].as_str().unwrap(),
            "00".repeat(32)
        );
        let r = device
            .request_authorized(
                Method::POST,
                "/v1/verifications",
                Some(&forged),
                Body::Octets(vec![1; 64]),
            )
            .await
            .unwrap();
        refused(&r, StatusCode::UNAUTHORIZED, "unauthorized");
        // Another tenant cannot read this tenant's challenge.
        let other_tenant = s.tenant("other", json!({})).await;
        let r = c.get(&status_path, other_tenant.key()).await.unwrap();
        refused(&r, StatusCode::NOT_FOUND, "not_found");
        s.stop().await;

        // Expired: challenges that live zero seconds.
        let config = ServiceConfig {
            challenge_ttl: 0,
            ..ServiceConfig::default()
        };
        let s = TestServer::start_with(
            backend,
            config,
            faceseal_sync::limits::LoadLimits::for_this_machine(backend),
        )
        .await;
        let t = s.tenant("acme", json!({})).await;
        let mut c = s.client();
        let refs = subject(&mut c, &t, "alice", &["enrol"]).await;
        let ch = ask(&mut c, &t, "alice", "enrol").await;
        let r = device_sends(&mut c, &t, &ch, "alice", Purpose::Enrol, &refs[0], &payload).await;
        refused(&r, StatusCode::UNAUTHORIZED, "unauthorized");
        assert_eq!(status_of(&mut c, &t, &ch).await["status"], "expired");
        s.stop().await;
    }
}
