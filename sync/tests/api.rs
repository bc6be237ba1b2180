//! The API on both backends with synthetic protected templates: enrolment,
//! verification, consent, challenges, rotation, deletion, bad input and the
//! audit trail. (Real faces: `end_to_end.rs`.)

mod common;

use common::*;
use faceseal_core::seal::{self, ChallengeNonce, Purpose, TenantSecretKey};
use faceseal_sync::limits::LoadLimits;
use faceseal_sync::service::ServiceConfig;
use hyper::StatusCode;
use serde_json::json;

/// `reference` with one index in `every` changed.
fn perturbed(reference: &[u8], every: usize) -> Vec<u8> {
    reference
        .iter()
        .enumerate()
        .map(|(i, &v)| if i % every == 0 { (v + 1) % 8 } else { v })
        .collect()
}

#[tokio::test]
async fn enrol_verify_revoke_and_delete() {
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let t = s.tenant("acme", json!({})).await;
        let mut c = s.client();
        let refs = subject(&mut c, &t, "alice", &["enrol", "verify"]).await;
        let reference = indices(1);
        let r = send_sealed(
            &mut c,
            &t,
            "alice",
            Purpose::Enrol,
            &refs[0],
            &template(&reference),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{backend:?} {:?}", r.body);
        let template_id = r.json().unwrap()["template_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let view = c
            .get("/v1/subjects/alice", t.key())
            .await
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(view["template_id"], template_id.as_str());

        // Same person (10% of indices differ) matches; another does not.
        let same = send_sealed(
            &mut c,
            &t,
            "alice",
            Purpose::Verify,
            &refs[1],
            &template(&perturbed(&reference, 10)),
        )
        .await;
        assert_eq!(same.status, StatusCode::OK, "{:?}", same.body);
        let same = same.json().unwrap();
        assert_eq!(same["matched"], true, "{same}");
        assert!(same.get("score").is_none(), "a decision, never a score");
        let other = send_sealed(
            &mut c,
            &t,
            "alice",
            Purpose::Verify,
            &refs[1],
            &template(&indices(2)),
        )
        .await
        .json()
        .unwrap();
        assert_eq!(other["matched"], false, "{other}");
        assert!(other.get("score").is_none());

        // A probe carrying the digest of the enrolment's own frames is a
        // replay of that capture.
        let nonce = replace_challenge(&mut c, &t, "alice").await;
        let mut ctx = context(&t, "alice", Purpose::Enrol, &refs[0], nonce);
        ctx.capture_digest = [7; 32];
        let r = post_envelope(
            &mut c,
            &t,
            Purpose::Enrol,
            seal_payload(&t, &ctx, &template(&reference)),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
        let nonce = challenge(&mut c, &t, Purpose::Verify).await;
        let mut ctx = context(&t, "alice", Purpose::Verify, &refs[1], nonce);
        ctx.capture_digest = [7; 32];
        let r = post_envelope(
            &mut c,
            &t,
            Purpose::Verify,
            seal_payload(&t, &ctx, &template(&reference)),
        )
        .await;
        refused(&r, StatusCode::FORBIDDEN, "capture_replayed");

        // Consent for enrolment does not cover verification.
        let r = send_sealed(
            &mut c,
            &t,
            "alice",
            Purpose::Verify,
            &refs[0],
            &template(&reference),
        )
        .await;
        refused(&r, StatusCode::FORBIDDEN, "no_valid_consent");

        // Revoking consent refuses verification and deletes the template.
        let r = c
            .post_json(
                &format!("/v1/subjects/alice/consents/{}/revoke", refs[1]),
                t.key(),
                json!({}),
            )
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
        let r = send_sealed(
            &mut c,
            &t,
            "alice",
            Purpose::Verify,
            &refs[1],
            &template(&reference),
        )
        .await;
        refused(&r, StatusCode::FORBIDDEN, "no_valid_consent");
        assert_eq!(s.rows("templates").await, 0);
        let consents = c
            .get("/v1/subjects/alice/consents", t.key())
            .await
            .unwrap()
            .json()
            .unwrap();
        assert!(
            consents
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["revoked_at"].is_i64())
        );

        // Expired consent is no consent.
        let r = c
            .post_json("/v1/subjects/alice/consents", t.key(), json!({"purpose": "enrol", "text_version": "v0", "granted_at": 1_000, "expires_at": 2_000}))
            .await
            .unwrap();
        let expired = r.json().unwrap()["consent_ref"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = send_sealed(
            &mut c,
            &t,
            "alice",
            Purpose::Enrol,
            &expired,
            &template(&reference),
        )
        .await;
        refused(&r, StatusCode::FORBIDDEN, "no_valid_consent");

        // Enrol again, then delete the subject: every row goes.
        let r = send_sealed(
            &mut c,
            &t,
            "alice",
            Purpose::Enrol,
            &refs[0],
            &template(&reference),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED);
        assert_eq!(
            c.delete("/v1/subjects/alice", t.key())
                .await
                .unwrap()
                .status,
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            c.get("/v1/subjects/alice", t.key()).await.unwrap().status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(s.rows("templates").await, 0);
        assert_eq!(s.rows("consents").await, 0);
        assert_eq!(s.rows("subjects").await, 0);
        let r = send_sealed(
            &mut c,
            &t,
            "alice",
            Purpose::Verify,
            &refs[1],
            &template(&reference),
        )
        .await;
        refused(&r, StatusCode::NOT_FOUND, "unknown_subject");
        s.stop().await;
    }
}

#[tokio::test]
async fn challenges_are_single_use_fresh_and_scoped() {
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let a = s.tenant("a", json!({})).await;
        let b = s.tenant("b", json!({})).await;
        let mut c = s.client();
        let refs = subject(&mut c, &a, "s1", &["enrol"]).await;
        let payload = template(&indices(3));

        // Replayed: the same envelope twice.
        let nonce = challenge(&mut c, &a, Purpose::Enrol).await;
        let envelope = seal_payload(
            &a,
            &context(&a, "s1", Purpose::Enrol, &refs[0], nonce),
            &payload,
        );
        assert_eq!(
            post_envelope(&mut c, &a, Purpose::Enrol, envelope.clone())
                .await
                .status,
            StatusCode::CREATED
        );
        refused(
            &post_envelope(&mut c, &a, Purpose::Enrol, envelope).await,
            StatusCode::FORBIDDEN,
            "invalid_challenge",
        );

        // Never issued; issued to another tenant; issued for verification.
        let made_up = ChallengeNonce::generate(&mut seal::os_rng());
        let foreign = challenge(&mut c, &b, Purpose::Enrol).await;
        let other_purpose = challenge(&mut c, &a, Purpose::Verify).await;
        for (case, nonce) in [
            ("made up", made_up),
            ("foreign", foreign),
            ("other purpose", other_purpose),
        ] {
            let ctx = context(&a, "s1", Purpose::Enrol, &refs[0], nonce);
            let r =
                post_envelope(&mut c, &a, Purpose::Enrol, seal_payload(&a, &ctx, &payload)).await;
            assert_eq!(
                r.error_code().as_deref(),
                Some("invalid_challenge"),
                "{case}"
            );
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{case}");
        }

        // Sealed before the challenge was issued (beyond the clock skew).
        let nonce = challenge(&mut c, &a, Purpose::Enrol).await;
        let mut ctx = context(&a, "s1", Purpose::Enrol, &refs[0], nonce);
        ctx.created_at -= 3_600;
        refused(
            &post_envelope(&mut c, &a, Purpose::Enrol, seal_payload(&a, &ctx, &payload)).await,
            StatusCode::FORBIDDEN,
            "outside_time_window",
        );
        // Dated in the future.
        let nonce = challenge(&mut c, &a, Purpose::Enrol).await;
        let mut ctx = context(&a, "s1", Purpose::Enrol, &refs[0], nonce);
        ctx.created_at += 3_600;
        refused(
            &post_envelope(&mut c, &a, Purpose::Enrol, seal_payload(&a, &ctx, &payload)).await,
            StatusCode::FORBIDDEN,
            "outside_time_window",
        );
        // Every challenge an envelope used up has its decision: the ones
        // refused after the take (another purpose, outside the time window)
        // are not left "in progress".
        let undecided = s
            .service
            .database()
            .query(
                "SELECT COUNT(*) FROM challenges WHERE used_at IS NOT NULL AND outcome = ''",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(undecided[0][0].int().unwrap(), 0);
        s.stop().await;

        // Expired: a server whose challenges live zero seconds.
        let config = ServiceConfig {
            challenge_ttl: 0,
            ..ServiceConfig::default()
        };
        let s =
            TestServer::start_with(backend, config, LoadLimits::for_this_machine(backend)).await;
        let a = s.tenant("a", json!({})).await;
        let mut c = s.client();
        let refs = subject(&mut c, &a, "s1", &["enrol"]).await;
        let r = send_sealed(&mut c, &a, "s1", Purpose::Enrol, &refs[0], &payload).await;
        refused(&r, StatusCode::FORBIDDEN, "invalid_challenge");
        assert_eq!(s.rows("templates").await, 0);
        s.stop().await;
    }
}

#[tokio::test]
async fn bad_input_is_refused_clearly_and_stores_nothing() {
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let t = s
            .tenant(
                "acme",
                json!({"liveness_threshold": 0.6, "quality_threshold": 0.5}),
            )
            .await;
        let mut c = s.client();
        let refs = subject(&mut c, &t, "s1", &["enrol", "verify"]).await;
        let payload = template(&indices(4));
        let audit_before = s.rows("audit_entries").await;

        // Random bytes, empty, wrong content type.
        for len in [1usize, 7, 64, 500, 4_000] {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 % 251) as u8).collect();
            let r = post_envelope(&mut c, &t, Purpose::Enrol, junk).await;
            refused(&r, StatusCode::BAD_REQUEST, "malformed_envelope");
        }
        let r = c
            .post_octets("/v1/enrolments", t.key(), Vec::new())
            .await
            .unwrap();
        refused(&r, StatusCode::BAD_REQUEST, "bad_request");
        let r = c
            .post_json("/v1/enrolments", t.key(), json!({"envelope": "x"}))
            .await
            .unwrap();
        refused(
            &r,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        );

        // A good envelope, truncated at every length, and bit-flipped.
        let nonce = challenge(&mut c, &t, Purpose::Enrol).await;
        let good = seal_payload(
            &t,
            &context(&t, "s1", Purpose::Enrol, &refs[0], nonce),
            &payload,
        );
        for len in (1..good.len()).step_by(97).chain([good.len() - 1]) {
            let r = post_envelope(&mut c, &t, Purpose::Enrol, good[..len].to_vec()).await;
            assert!(r.status == StatusCode::BAD_REQUEST, "{len}: {:?}", r.body);
        }
        for bit in (0..good.len() * 8).step_by(211) {
            let mut flipped = good.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let r = post_envelope(&mut c, &t, Purpose::Enrol, flipped).await;
            assert!(r.status.is_client_error(), "bit {bit}: {:?}", r.body);
        }
        // Oversized: beyond the envelope format, and beyond the body limit.
        let r = post_envelope(
            &mut c,
            &t,
            Purpose::Enrol,
            vec![0x46; seal::MAX_ENVELOPE_LEN + 1],
        )
        .await;
        refused(&r, StatusCode::PAYLOAD_TOO_LARGE, "envelope_too_large");
        let r = post_envelope(&mut c, &t, Purpose::Enrol, vec![0; 1 << 20]).await;
        refused(&r, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");

        // Sealed to a key this tenant does not have.
        let stranger = TenantSecretKey::generate(&mut seal::os_rng());
        let nonce = challenge(&mut c, &t, Purpose::Enrol).await;
        let ctx = context(&t, "s1", Purpose::Enrol, &refs[0], nonce);
        let wrong_key =
            seal::seal_bytes(&payload, stranger.public_key(), &ctx, &mut seal::os_rng()).unwrap();
        refused(
            &post_envelope(&mut c, &t, Purpose::Enrol, wrong_key.into_bytes()).await,
            StatusCode::BAD_REQUEST,
            "unknown_key_id",
        );
        // Its key id relabelled to the tenant's: opens nothing.
        let mut relabelled =
            seal::seal_bytes(&payload, stranger.public_key(), &ctx, &mut seal::os_rng())
                .unwrap()
                .into_bytes();
        let mut kid = [0u8; 16];
        hex::decode_to_slice(&t.key_id, &mut kid).unwrap();
        relabelled[6..22].copy_from_slice(&kid);
        refused(
            &post_envelope(&mut c, &t, Purpose::Enrol, relabelled).await,
            StatusCode::BAD_REQUEST,
            "envelope_unopenable",
        );

        // Opened, but not a template / not the tenant's parameters.
        let r = send_sealed(
            &mut c,
            &t,
            "s1",
            Purpose::Enrol,
            &refs[0],
            b"not a template",
        )
        .await;
        refused(&r, StatusCode::BAD_REQUEST, "invalid_template");
        let mut v2 = payload.clone();
        v2[13] = 2;
        let r = send_sealed(&mut c, &t, "s1", Purpose::Enrol, &refs[0], &v2).await;
        refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "template_mismatch");

        // Scores below the tenant's thresholds; wrong purpose for the route.
        for (liveness, quality, code) in [
            (0.59f32, 0.9f32, "liveness_too_low"),
            (0.9, 0.49, "quality_too_low"),
        ] {
            let nonce = challenge(&mut c, &t, Purpose::Enrol).await;
            let mut ctx = context(&t, "s1", Purpose::Enrol, &refs[0], nonce);
            ctx.liveness_score = liveness;
            ctx.quality_score = quality;
            refused(
                &post_envelope(&mut c, &t, Purpose::Enrol, seal_payload(&t, &ctx, &payload)).await,
                StatusCode::FORBIDDEN,
                code,
            );
        }
        let nonce = challenge(&mut c, &t, Purpose::Verify).await;
        let ctx = context(&t, "s1", Purpose::Verify, &refs[1], nonce);
        refused(
            &post_envelope(&mut c, &t, Purpose::Enrol, seal_payload(&t, &ctx, &payload)).await,
            StatusCode::FORBIDDEN,
            "wrong_purpose",
        );
        // Verification before any enrolment.
        let r = send_sealed(&mut c, &t, "s1", Purpose::Verify, &refs[1], &payload).await;
        refused(&r, StatusCode::NOT_FOUND, "not_enrolled");

        // JSON: huge, malformed, unknown fields, bad values.
        let huge = json!({ "subject_id": "x".repeat(1 << 20) });
        let r = c.post_json("/v1/subjects", t.key(), huge).await.unwrap();
        refused(&r, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
        let r = c
            .post_json(
                "/v1/subjects",
                t.key(),
                json!({"subject_id": "x".repeat(300)}),
            )
            .await
            .unwrap();
        refused(&r, StatusCode::BAD_REQUEST, "bad_request");
        let r = c
            .post_json(
                "/v1/subjects",
                t.key(),
                json!({"subject_id": "a", "admin": true}),
            )
            .await
            .unwrap();
        assert!(r.status.is_client_error());
        let r = c
            .request(
                hyper::Method::POST,
                "/v1/subjects",
                t.key(),
                faceseal_sync::client::Body::Octets(b"{\"subject_id\":".to_vec()),
            )
            .await
            .unwrap();
        assert!(r.status.is_client_error());
        let r = c
            .post_json(
                "/v1/subjects/s1/consents",
                t.key(),
                json!({"purpose": "marketing", "text_version": "v1"}),
            )
            .await
            .unwrap();
        refused(&r, StatusCode::BAD_REQUEST, "bad_request");
        let r = c
            .post_json("/v1/tenants", Some(ADMIN), json!({"tenant_id": "bad id!"}))
            .await
            .unwrap();
        refused(&r, StatusCode::BAD_REQUEST, "bad_request");
        let r = c
            .post_json("/v1/tenants", Some(ADMIN), json!({"tenant_id": "acme"}))
            .await
            .unwrap();
        refused(&r, StatusCode::CONFLICT, "conflict");

        assert_eq!(s.rows("templates").await, 0, "nothing stored");
        // Refusals are audited, never stored elsewhere.
        assert!(s.rows("audit_entries").await > audit_before);
        let chain = c
            .get("/v1/audit/verify", t.key())
            .await
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(chain["status"], "intact");
        // The server is still well.
        let r = send_sealed(&mut c, &t, "s1", Purpose::Enrol, &refs[0], &payload).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        s.stop().await;
    }
}

#[tokio::test]
async fn rotated_keys_open_until_retired() {
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let t = s.tenant("acme", json!({})).await;
        let mut c = s.client();
        let refs = subject(&mut c, &t, "s1", &["enrol"]).await;
        let payload = template(&indices(5));

        let r = c
            .post_json("/v1/tenants/acme/keys/rotate", Some(ADMIN), json!({}))
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::OK);
        let bundle = r.json().unwrap();
        let new_key_id = bundle["key_id"].as_str().unwrap().to_owned();
        assert_ne!(new_key_id, t.key_id);
        assert_eq!(bundle["keys"].as_array().unwrap().len(), 2);
        let tenant_bundle = c.get("/v1/bundle", t.key()).await.unwrap().json().unwrap();
        assert_eq!(tenant_bundle, bundle);

        // Sealed to the old key: still opens.
        let r = send_sealed(&mut c, &t, "s1", Purpose::Enrol, &refs[0], &payload).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        // To the new one too.
        let rotated = Tenant {
            public_key: public_key(&bundle),
            key_id: new_key_id.clone(),
            ..t.clone()
        };
        let refs2 = subject(&mut c, &t, "s2", &["enrol"]).await;
        let r = send_sealed(&mut c, &rotated, "s2", Purpose::Enrol, &refs2[0], &payload).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

        // The current key cannot be retired; the old one can, and then is refused.
        let r = c
            .post_json(
                &format!("/v1/tenants/acme/keys/{new_key_id}/retire"),
                Some(ADMIN),
                json!({}),
            )
            .await
            .unwrap();
        refused(&r, StatusCode::BAD_REQUEST, "bad_request");
        let r = c
            .post_json(
                &format!("/v1/tenants/acme/keys/{}/retire", t.key_id),
                Some(ADMIN),
                json!({}),
            )
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
        let refs3 = subject(&mut c, &t, "s3", &["enrol"]).await;
        let r = send_sealed(&mut c, &t, "s3", Purpose::Enrol, &refs3[0], &payload).await;
        refused(&r, StatusCode::BAD_REQUEST, "unknown_key_id");
        let r = send_sealed(&mut c, &rotated, "s3", Purpose::Enrol, &refs3[0], &payload).await;
        assert_eq!(r.status, StatusCode::CREATED);
        s.stop().await;
    }
}

#[tokio::test]
async fn a_deleted_tenant_leaves_no_key_and_its_envelopes_stay_sealed() {
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let t = s.tenant("acme", json!({})).await;
        let keep = s.tenant("other", json!({})).await;
        let mut c = s.client();
        let refs = subject(&mut c, &t, "s1", &["enrol", "verify"]).await;
        let payload = template(&indices(6));
        assert_eq!(
            send_sealed(&mut c, &t, "s1", Purpose::Enrol, &refs[0], &payload)
                .await
                .status,
            StatusCode::CREATED
        );
        // An envelope a device sealed but had not sent yet.
        let nonce = challenge(&mut c, &t, Purpose::Verify).await;
        let pending = seal_payload(
            &t,
            &context(&t, "s1", Purpose::Verify, &refs[1], nonce),
            &payload,
        );

        let keys_before = s.rows("tenant_keys").await;
        let r = c.delete("/v1/tenants/acme", Some(ADMIN)).await.unwrap();
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
        assert_eq!(
            s.rows("tenant_keys").await,
            keys_before - 3,
            "only the other tenant's keys remain"
        );
        assert_eq!(s.rows("templates").await, 0);
        assert_eq!(s.rows("subjects").await, 0);
        assert_eq!(s.rows("consents").await, 0);
        assert_eq!(s.rows("api_keys").await, 1);
        // The old API key is dead.
        refused(
            &c.get("/v1/bundle", t.key()).await.unwrap(),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        // A new tenant of the same name gets new keys: the old envelope stays sealed.
        let reborn = s.tenant("acme", json!({})).await;
        assert_ne!(reborn.key_id, t.key_id);
        refused(
            &post_envelope(&mut c, &reborn, Purpose::Verify, pending).await,
            StatusCode::BAD_REQUEST,
            "unknown_key_id",
        );
        // The other tenant is untouched.
        assert_eq!(
            c.get("/v1/audit/verify", keep.key())
                .await
                .unwrap()
                .json()
                .unwrap()["status"],
            "intact"
        );
        refused(
            &c.delete("/v1/tenants/nobody", Some(ADMIN)).await.unwrap(),
            StatusCode::NOT_FOUND,
            "not_found",
        );
        s.stop().await;
    }
}

/// Tampers with the stored audit trail as someone with write access to the
/// database (but not the keys) would.
#[tokio::test]
async fn audit_tampering_is_detected_at_the_first_broken_link() {
    use faceseal_sync::db::{Stmt, Value};
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let mut c = s.client();
        let mut tenants = Vec::new();
        for name in ["edit", "delete", "reorder", "truncate"] {
            let t = s.tenant(name, json!({})).await;
            for i in 0..3 {
                subject(&mut c, &t, &format!("s{i}"), &["enrol"]).await;
            }
            // 1 tenant.create + 3 x (subject.create + consent.grant) = 7 entries.
            assert_eq!(
                c.get("/v1/audit/verify", t.key())
                    .await
                    .unwrap()
                    .json()
                    .unwrap(),
                json!({"status": "intact", "entries": 7})
            );
            let entries = c.get("/v1/audit", t.key()).await.unwrap().json().unwrap();
            assert_eq!(entries["entries"].as_array().unwrap().len(), 7);
            assert!(
                !entries.to_string().contains("s1"),
                "subjects appear as keyed digests only"
            );
            tenants.push(t);
        }
        let db = s.service.database();
        let tenant = |name: &str| Value::from(name);
        db.batch(vec![Stmt::new("UPDATE audit_entries SET outcome = 'refused:no_valid_consent' WHERE tenant_id = $1 AND seq = 3", vec![tenant("edit")])]).await.unwrap();
        db.batch(vec![Stmt::new(
            "DELETE FROM audit_entries WHERE tenant_id = $1 AND seq = 4",
            vec![tenant("delete")],
        )])
        .await
        .unwrap();
        db.batch(vec![
            Stmt::new(
                "UPDATE audit_entries SET seq = -1 WHERE tenant_id = $1 AND seq = 5",
                vec![tenant("reorder")],
            ),
            Stmt::new(
                "UPDATE audit_entries SET seq = 5 WHERE tenant_id = $1 AND seq = 6",
                vec![tenant("reorder")],
            ),
            Stmt::new(
                "UPDATE audit_entries SET seq = 6 WHERE tenant_id = $1 AND seq = -1",
                vec![tenant("reorder")],
            ),
        ])
        .await
        .unwrap();
        db.batch(vec![Stmt::new(
            "DELETE FROM audit_entries WHERE tenant_id = $1 AND seq = 7",
            vec![tenant("truncate")],
        )])
        .await
        .unwrap();

        let expected = [
            (
                "edit",
                json!({"status": "broken", "first_broken_seq": 3, "reason": "mac_mismatch"}),
            ),
            (
                "delete",
                json!({"status": "broken", "first_broken_seq": 4, "reason": "missing_entry"}),
            ),
            (
                "reorder",
                json!({"status": "broken", "first_broken_seq": 5, "reason": "mac_mismatch"}),
            ),
            (
                "truncate",
                json!({"status": "broken", "first_broken_seq": 7, "reason": "head_mismatch"}),
            ),
        ];
        for (t, (name, report)) in tenants.iter().zip(expected.iter()) {
            assert_eq!(
                &c.get("/v1/audit/verify", t.key())
                    .await
                    .unwrap()
                    .json()
                    .unwrap(),
                report,
                "{name}"
            );
            assert_eq!(
                &c.get(&format!("/v1/tenants/{name}/audit/verify"), Some(ADMIN))
                    .await
                    .unwrap()
                    .json()
                    .unwrap(),
                report
            );
        }

        // The command-line tool says the same, with a failing exit status.
        if let Some(path) = &s.db_path {
            for (name, seq) in [("edit", 3), ("delete", 4), ("reorder", 5), ("truncate", 7)] {
                let out = std::process::Command::new(env!("CARGO_BIN_EXE_faceseal-sync"))
                    .args(["audit", "verify", "--tenant", name, "--db"])
                    .arg(path)
                    .env("FACESEAL_SYNC_KEK", &s.kek_hex)
                    .env_remove("FACESEAL_SYNC_DATABASE_URL")
                    .output()
                    .unwrap();
                let stdout = String::from_utf8_lossy(&out.stdout);
                assert_eq!(
                    out.status.code(),
                    Some(1),
                    "{name}: {stdout} {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(
                    stdout.contains(&format!("BROKEN at entry {seq}")),
                    "{name}: {stdout}"
                );
            }
            let t = s.tenant("clean", json!({})).await;
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_faceseal-sync"))
                .args(["audit", "verify", "--tenant", &t.id, "--db"])
                .arg(path)
                .env("FACESEAL_SYNC_KEK", &s.kek_hex)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            );
            assert!(String::from_utf8_lossy(&out.stdout).contains("intact: 1 entries"));
        }
        s.stop().await;
    }
}

#[tokio::test]
async fn slow_clients_get_a_timeout_and_hold_no_worker() {
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let limits = LoadLimits {
        body_timeout: Duration::from_millis(300),
        max_in_flight: 1,
        max_queued: 0,
        ..LoadLimits::for_this_machine(Backend::Sqlite)
    };
    let s = TestServer::start_with(Backend::Sqlite, ServiceConfig::default(), limits).await;
    let t = s.tenant("acme", json!({})).await;
    // A body that never finishes arriving: 408, and the only slot stays free.
    let mut slow = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let head = format!(
        "POST /v1/enrolments HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/octet-stream\r\ncontent-length: 1000\r\n\r\nFSSE",
        t.api_key
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let mut c = s.client();
    assert_eq!(
        c.get("/v1/bundle", t.key()).await.unwrap().status,
        StatusCode::OK
    );
    let mut answer = vec![0u8; 1024];
    let n = slow.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    // Headers that never finish: the connection is closed by the server.
    let mut slower = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    slower
        .write_all(b"GET /v1/health HTTP/1.1\r\nhost:")
        .await
        .unwrap();
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(30), slower.read(&mut buf))
        .await
        .expect("closed by the header deadline")
        .unwrap_or(0);
    assert!(n == 0 || String::from_utf8_lossy(&buf[..n]).contains("408"));
    assert_eq!(s.rows("templates").await, 0);
    s.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let s = TestServer::start(Backend::Sqlite).await;
    let doc = s
        .client()
        .get("/v1/openapi.json", None)
        .await
        .unwrap()
        .json()
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let source = include_str!("../src/api/mod.rs");
    let mut routes = 0;
    for line in source.lines() {
        if let Some(rest) = line
            .trim()
            .strip_prefix(".route(\"")
            .or_else(|| line.trim().strip_prefix("\"/v1"))
        {
            let path = if line.trim().starts_with('"') {
                format!("/v1{}", rest.split('"').next().unwrap())
            } else {
                rest.split('"').next().unwrap().to_owned()
            };
            assert!(paths.contains_key(&path), "{path} is not in openapi.json");
            routes += 1;
        }
    }
    assert!(routes >= 17, "found {routes} routes");
    s.stop().await;
}

/// Enrolments in flight when a graceful shutdown starts either complete (and
/// are there after a restart) or are refused; none acknowledged is lost.
#[tokio::test]
async fn graceful_shutdown_loses_no_acknowledged_enrolment() {
    for backend in backends() {
        let mut s = TestServer::start(backend).await;
        let t = s.tenant("acme", json!({})).await;
        let mut c = s.client();
        let mut envelopes = Vec::new();
        for i in 0..12 {
            let id = format!("s{i}");
            let refs = subject(&mut c, &t, &id, &["enrol"]).await;
            let nonce = challenge(&mut c, &t, Purpose::Enrol).await;
            let ctx = context(&t, &id, Purpose::Enrol, &refs[0], nonce);
            envelopes.push((id, seal_payload(&t, &ctx, &template(&indices(i)))));
        }
        let addr = s.addr;
        let mut sends = Vec::new();
        for (id, envelope) in envelopes {
            let key = t.api_key.clone();
            sends.push(tokio::spawn(async move {
                let mut c = faceseal_sync::client::HttpClient::new(addr);
                let r = c.post_octets("/v1/enrolments", Some(&key), envelope).await;
                (id, r.ok().map(|r| (r.status, r.json().ok())))
            }));
        }
        // Shut down once the first enrolment is acknowledged, with the
        // others in flight or still connecting.
        let mut acknowledged = Vec::new();
        let mut sends = sends.into_iter();
        let record =
            |acknowledged: &mut Vec<(String, String)>,
             (id, outcome): (String, Option<(StatusCode, Option<serde_json::Value>)>)| {
                if let Some((StatusCode::CREATED, Some(body))) = outcome {
                    acknowledged.push((id, body["template_id"].as_str().unwrap().to_owned()));
                }
            };
        record(&mut acknowledged, sends.next().unwrap().await.unwrap());
        assert_eq!(acknowledged.len(), 1, "{backend:?}");
        s.shutdown().await;
        for send in sends {
            record(&mut acknowledged, send.await.unwrap());
        }
        let s = s.restart().await;
        let mut c = s.client();
        for (id, template_id) in &acknowledged {
            let view = c
                .get(&format!("/v1/subjects/{id}"), t.key())
                .await
                .unwrap()
                .json()
                .unwrap();
            assert_eq!(
                view["template_id"].as_str(),
                Some(template_id.as_str()),
                "{backend:?} {id}"
            );
        }
        // Committed but not acknowledged is allowed (the client retries);
        // acknowledged but not committed is not.
        assert!(s.rows("templates").await >= acknowledged.len() as i64);
        assert_eq!(
            c.get("/v1/audit/verify", t.key())
                .await
                .unwrap()
                .json()
                .unwrap()["status"],
            "intact"
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn an_envelope_bound_to_a_lower_liveness_level_is_refused_before_storing() {
    use faceseal_core::seal::SecurityLevel;
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let t = s.tenant("acme", json!({})).await;
        let strict = s.tenant("vault", json!({"liveness_level": "strict"})).await;
        let mut c = s.client();
        // The bundle publishes the level devices must apply.
        for (tenant, level) in [(&t, "standard"), (&strict, "strict")] {
            let r = c.get("/v1/bundle", tenant.key()).await.unwrap();
            assert_eq!(r.json().unwrap()["liveness_level"], level, "{:?}", r.body);
        }
        let r = s
            .client()
            .post_json(
                "/v1/tenants",
                Some(ADMIN),
                json!({"tenant_id": "x", "liveness_level": "lenient"}),
            )
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);

        let payload = template(&indices(7));
        for (tenant, bound, accepted) in [
            (&t, SecurityLevel::Basic, false),
            (&strict, SecurityLevel::Standard, false),
            (&t, SecurityLevel::Standard, true),
            (&strict, SecurityLevel::Strict, true),
        ] {
            let refs = subject(&mut c, tenant, &format!("s-{}", bound.name()), &["enrol"]).await;
            let templates_before = s.rows("templates").await;
            let nonce = challenge(&mut c, tenant, Purpose::Enrol).await;
            let mut ctx = context(
                tenant,
                &format!("s-{}", bound.name()),
                Purpose::Enrol,
                &refs[0],
                nonce,
            );
            ctx.liveness_level = bound;
            let r = post_envelope(
                &mut c,
                tenant,
                Purpose::Enrol,
                seal_payload(tenant, &ctx, &payload),
            )
            .await;
            if accepted {
                assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
                assert_eq!(s.rows("templates").await, templates_before + 1);
            } else {
                refused(&r, StatusCode::FORBIDDEN, "liveness_level_too_low");
                assert_eq!(s.rows("templates").await, templates_before);
            }
        }
        s.stop().await;
    }
}
