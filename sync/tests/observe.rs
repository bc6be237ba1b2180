//! What an operator sees: the access log of a real `serve` process names
//! route templates and outcomes, never a subject id, a consent reference, a
//! credential or a key; `GET /metrics` counts by route and outcome, shed
//! requests included, and answers the admin token only.

mod common;

use std::process::Command;
use std::time::Duration;

use common::process::{admin_token, serve};
use common::{ADMIN, Backend, TestServer};
use faceseal_sync::client::HttpClient;
use faceseal_sync::limits::LoadLimits;
use faceseal_sync::service::ServiceConfig;
use hyper::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_access_log_holds_no_identifier_credential_or_key() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, stderr) = serve(dir.path());
    let mut c = HttpClient::new(addr);
    let admin = admin_token();
    let r = c
        .post_json("/v1/tenants", Some(&admin), json!({ "tenant_id": "acme" }))
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::CREATED);
    let created = r.json().unwrap();
    let api_key = created["api_key"].as_str().unwrap().to_owned();
    let template_secret = created["template_secret"].as_str().unwrap().to_owned();
    let subject = "zoe-subject-4b1d7e";
    let key = Some(api_key.as_str());
    let r = c
        .post_json("/v1/subjects", key, json!({ "subject_id": subject }))
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::CREATED);
    let r = c
        .post_json(
            &format!("/v1/subjects/{subject}/consents"),
            key,
            json!({ "purpose": "verify", "text_version": "v1" }),
        )
        .await
        .unwrap();
    let consent = r.json().unwrap()["consent_ref"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in [
        format!("/v1/subjects/{subject}"),
        format!("/v1/subjects/{subject}/consents"),
        "/v1/subjects/nobody-9c2e".to_owned(),
    ] {
        c.get(&path, key).await.unwrap();
    }
    let r = c
        .post_json(
            "/v1/challenges",
            key,
            json!({ "purpose": "verify", "subject_id": subject }),
        )
        .await
        .unwrap();
    let capture = r.json().unwrap()["capture_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = c
        .request_authorized(
            hyper::Method::POST,
            "/v1/verifications",
            Some(&format!("Capture {capture}")),
            faceseal_sync::client::Body::Octets(vec![0u8; 40]),
        )
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c
        .post_json(
            &format!("/v1/subjects/{subject}/consents/{consent}/revoke"),
            key,
            json!({}),
        )
        .await
        .unwrap();
    assert!(r.status.is_success(), "{:?}", r.body);
    // The key with its last character changed (never to itself).
    let last = if api_key.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &api_key[..api_key.len() - 1]);
    let r = c.get("/v1/bundle", Some(&wrong)).await.unwrap();
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap();
    let log = stderr.join().unwrap();

    let access: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("faceseal_sync::access"))
        .collect();
    assert!(access.len() >= 10, "one event per request: {log}");
    for expected in [
        "method=POST route=/v1/subjects status=201 outcome=ok",
        "method=GET route=/v1/subjects/{subject_id} status=200 outcome=ok",
        "method=GET route=/v1/subjects/{subject_id} status=404 outcome=refused",
        "method=POST route=/v1/verifications status=400 outcome=refused",
        "method=POST route=/v1/subjects/{subject_id}/consents/{consent_ref}/revoke status=204",
        "method=GET route=/v1/bundle status=401 outcome=unauthorized",
    ] {
        assert!(
            access.iter().any(|l| l.contains(expected)),
            "{expected} in {access:#?}"
        );
    }
    for secret in [
        subject,
        "nobody-9c2e",
        &consent,
        &api_key,
        &api_key[4..36],
        &wrong,
        &capture,
        &template_secret,
        &admin,
    ] {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
}

#[tokio::test]
async fn metrics_count_shed_requests_and_answer_the_admin_only() {
    let limits = LoadLimits {
        max_in_flight: 1,
        max_queued: 0,
        ..LoadLimits::for_this_machine(Backend::Sqlite)
    };
    let s = TestServer::start_with(Backend::Sqlite, ServiceConfig::default(), limits).await;
    let t = s.tenant("acme", json!({})).await;
    let mut shed = 0usize;
    let mut answered = 0usize;
    for _ in 0..20 {
        let calls: Vec<_> = (0..16)
            .map(|_| {
                let (addr, key) = (s.addr, t.api_key.clone());
                tokio::spawn(async move {
                    HttpClient::new(addr)
                        .post_json("/v1/challenges", Some(&key), json!({ "purpose": "verify" }))
                        .await
                        .unwrap()
                })
            })
            .collect();
        for call in calls {
            let r = call.await.unwrap();
            answered += 1;
            if r.status == StatusCode::SERVICE_UNAVAILABLE {
                assert_eq!(r.error_code().as_deref(), Some("busy"));
                shed += 1;
            } else {
                assert_eq!(r.status, StatusCode::CREATED);
            }
        }
        if shed > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(shed > 0, "one slot, no queue, 16 at once: some are shed");

    let mut c = s.client();
    let r = c.get("/metrics", None).await.unwrap();
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = c.get("/metrics", Some(&t.api_key)).await.unwrap();
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "a tenant key is no admin"
    );
    let r = c.get("/metrics", Some(ADMIN)).await.unwrap();
    assert_eq!(r.status, StatusCode::OK);
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    let value = |series: &str| -> usize {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or(0)
    };
    assert_eq!(value("faceseal_sync_shed_total "), shed, "{text}");
    assert_eq!(
        value(
            "faceseal_sync_requests_total{method=\"POST\",route=\"/v1/challenges\",outcome=\"shed\"} "
        ),
        shed,
        "{text}"
    );
    assert_eq!(
        value(
            "faceseal_sync_requests_total{method=\"POST\",route=\"/v1/challenges\",outcome=\"ok\"} "
        ),
        answered - shed,
        "{text}"
    );
    assert!(text.contains("faceseal_sync_request_duration_seconds_bucket"));
    assert!(text.contains("faceseal_sync_in_flight 0"), "{text}");
    assert!(text.contains("faceseal_sync_queued 0"), "{text}");
    assert!(
        text.contains("outcome=\"unauthorized\""),
        "the refused scrapes are counted too: {text}"
    );
    s.stop().await;
}
