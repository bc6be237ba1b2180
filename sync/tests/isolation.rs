//! Tenant isolation: every tenant-scoped route, called with another tenant's
//! key or ids, answers 404/403 (or 400 for an envelope sealed to a key the
//! caller does not have) and leaks nothing; admin routes refuse tenant keys
//! and tenant routes refuse the admin token.

mod common;

use common::*;
use faceseal_core::seal::Purpose;
use hyper::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn no_route_lets_one_tenant_reach_another() {
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let a = s.tenant("tenant-a", json!({})).await;
        let b = s.tenant("tenant-b", json!({})).await;
        let mut c = s.client();
        let a_refs = subject(&mut c, &a, "alice", &["enrol", "verify"]).await;
        let reference = template(&indices(11));
        assert_eq!(
            send_sealed(&mut c, &a, "alice", Purpose::Enrol, &a_refs[0], &reference)
                .await
                .status,
            StatusCode::CREATED
        );
        let a_audit = c.get("/v1/audit", a.key()).await.unwrap().body;

        // B names A's subject and consent in paths: not found, never A's data.
        for (method, path) in [
            (Method::GET, "/v1/subjects/alice".to_owned()),
            (Method::DELETE, "/v1/subjects/alice".to_owned()),
            (Method::GET, "/v1/subjects/alice/consents".to_owned()),
            (
                Method::POST,
                format!("/v1/subjects/alice/consents/{}/revoke", a_refs[1]),
            ),
        ] {
            let r = c
                .request(
                    method.clone(),
                    &path,
                    b.key(),
                    faceseal_sync::client::Body::Json(json!({})),
                )
                .await
                .unwrap();
            refused(&r, StatusCode::NOT_FOUND, "not_found");
            assert!(
                !String::from_utf8_lossy(&r.body).contains("alice"),
                "{path}"
            );
        }
        let r = c
            .post_json(
                "/v1/subjects/alice/consents",
                b.key(),
                json!({"purpose": "verify", "text_version": "v1"}),
            )
            .await
            .unwrap();
        refused(&r, StatusCode::NOT_FOUND, "not_found");

        // B sends an envelope sealed to A's key (a stolen capture): B has no such key.
        let nonce = challenge(&mut c, &b, Purpose::Verify).await;
        let to_a = seal_payload(
            &a,
            &context(&b, "alice", Purpose::Verify, &a_refs[1], nonce),
            &reference,
        );
        refused(
            &post_envelope(&mut c, &b, Purpose::Verify, to_a).await,
            StatusCode::BAD_REQUEST,
            "unknown_key_id",
        );
        // A's own envelope, replayed through B's key.
        let nonce = challenge(&mut c, &a, Purpose::Verify).await;
        let a_envelope = seal_payload(
            &a,
            &context(&a, "alice", Purpose::Verify, &a_refs[1], nonce),
            &reference,
        );
        refused(
            &post_envelope(&mut c, &b, Purpose::Verify, a_envelope.clone()).await,
            StatusCode::BAD_REQUEST,
            "unknown_key_id",
        );
        // Sealed to B's key but naming tenant A in its context.
        let nonce = challenge(&mut c, &b, Purpose::Verify).await;
        let mut ctx = context(&a, "alice", Purpose::Verify, &a_refs[1], nonce);
        ctx.tenant_id = a.id.clone();
        refused(
            &post_envelope(
                &mut c,
                &b,
                Purpose::Verify,
                seal_payload(&b, &ctx, &reference),
            )
            .await,
            StatusCode::FORBIDDEN,
            "tenant_mismatch",
        );
        // Sealed to B, for B, with A's challenge.
        let a_nonce = challenge(&mut c, &a, Purpose::Verify).await;
        let ctx = context(&b, "alice", Purpose::Verify, &a_refs[1], a_nonce);
        refused(
            &post_envelope(
                &mut c,
                &b,
                Purpose::Verify,
                seal_payload(&b, &ctx, &reference),
            )
            .await,
            StatusCode::FORBIDDEN,
            "invalid_challenge",
        );
        // Sealed to B, for B, naming A's subject and consent: B has no such subject.
        let r = send_sealed(&mut c, &b, "alice", Purpose::Verify, &a_refs[1], &reference).await;
        refused(&r, StatusCode::NOT_FOUND, "unknown_subject");
        // B's own "alice" is another person: A's consent reference is not hers,
        // and A's template is not hers.
        let b_refs = subject(&mut c, &b, "alice", &["verify"]).await;
        let r = send_sealed(&mut c, &b, "alice", Purpose::Verify, &a_refs[1], &reference).await;
        refused(&r, StatusCode::FORBIDDEN, "no_valid_consent");
        let r = send_sealed(&mut c, &b, "alice", Purpose::Verify, &b_refs[0], &reference).await;
        refused(&r, StatusCode::NOT_FOUND, "not_enrolled");
        let r = c
            .post_json(
                &format!("/v1/subjects/alice/consents/{}/revoke", a_refs[1]),
                b.key(),
                json!({}),
            )
            .await
            .unwrap();
        refused(&r, StatusCode::NOT_FOUND, "not_found");
        let b_consents = c
            .get("/v1/subjects/alice/consents", b.key())
            .await
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(b_consents.as_array().unwrap().len(), 1);
        assert!(!b_consents.to_string().contains(&a_refs[0]));

        // Bundles and audit trails are the caller's own.
        let b_bundle = c.get("/v1/bundle", b.key()).await.unwrap().json().unwrap();
        assert_eq!(b_bundle["tenant_id"], "tenant-b");
        assert_ne!(b_bundle["key_id"].as_str().unwrap(), a.key_id);
        let b_audit = c.get("/v1/audit", b.key()).await.unwrap().json().unwrap();
        assert!(
            b_audit["entries"]
                .as_array()
                .unwrap()
                .iter()
                .all(|e| e["operation"] != "enrol")
        );

        // Credentials: tenant keys cannot administer, the admin token is no tenant key,
        // and a forged key of the right shape is refused.
        for (method, path) in [
            (Method::GET, "/v1/tenants"),
            (Method::POST, "/v1/tenants"),
            (Method::DELETE, "/v1/tenants/tenant-a"),
            (Method::GET, "/v1/tenants/tenant-a/bundle"),
            (Method::POST, "/v1/tenants/tenant-a/keys/rotate"),
            (Method::POST, "/v1/tenants/tenant-a/api-keys"),
            (Method::GET, "/v1/tenants/tenant-a/audit/verify"),
        ] {
            let r = c
                .request(
                    method.clone(),
                    path,
                    a.key(),
                    faceseal_sync::client::Body::Json(json!({"tenant_id": "x"})),
                )
                .await
                .unwrap();
            refused(&r, StatusCode::UNAUTHORIZED, "unauthorized");
            let r = c
                .request(method, path, None, faceseal_sync::client::Body::Empty)
                .await
                .unwrap();
            refused(&r, StatusCode::UNAUTHORIZED, "unauthorized");
        }
        let forged = format!("{}0", &a.api_key[..a.api_key.len() - 1]);
        let forged = if forged == a.api_key {
            format!("{}1", &a.api_key[..a.api_key.len() - 1])
        } else {
            forged
        };
        for key in [
            Some(ADMIN),
            Some(forged.as_str()),
            Some("fsk_x_y"),
            Some(""),
            None,
        ] {
            for (method, path) in [
                (Method::GET, "/v1/bundle"),
                (Method::POST, "/v1/subjects"),
                (Method::GET, "/v1/subjects/alice"),
                (Method::DELETE, "/v1/subjects/alice"),
                (Method::GET, "/v1/subjects/alice/consents"),
                (Method::POST, "/v1/subjects/alice/consents"),
                (Method::POST, "/v1/challenges"),
                (Method::POST, "/v1/enrolments"),
                (Method::POST, "/v1/verifications"),
                (Method::GET, "/v1/audit"),
                (Method::GET, "/v1/audit/verify"),
            ] {
                let r = c
                    .request(
                        method,
                        path,
                        key,
                        faceseal_sync::client::Body::Json(json!({})),
                    )
                    .await
                    .unwrap();
                refused(&r, StatusCode::UNAUTHORIZED, "unauthorized");
            }
        }

        // After all that, A's data is intact and A's audit unchanged.
        let r = send_sealed(&mut c, &a, "alice", Purpose::Verify, &a_refs[1], &reference).await;
        assert_eq!(r.json().unwrap()["matched"], true);
        assert!(
            c.get("/v1/audit", a.key())
                .await
                .unwrap()
                .body
                .starts_with(&a_audit[..a_audit.len() - 2])
        );
        assert_eq!(
            c.get("/v1/audit/verify", a.key())
                .await
                .unwrap()
                .json()
                .unwrap()["status"],
            "intact"
        );
        // A key issued later for B is B's too.
        let r = c
            .post_json("/v1/tenants/tenant-b/api-keys", Some(ADMIN), json!({}))
            .await
            .unwrap();
        let b2 = r.json().unwrap()["api_key"].as_str().unwrap().to_owned();
        let b_alice = c.get("/v1/subjects/alice", Some(&b2)).await.unwrap();
        assert_eq!(b_alice.status, StatusCode::OK);
        assert_eq!(
            b_alice.json().unwrap()["enrolled"],
            false,
            "B's alice, not A's"
        );
        s.stop().await;
    }
}
