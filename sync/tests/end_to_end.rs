//! Device to service and back, on real faces: the SDK enrols from real LFW
//! pictures through the full pipeline (detection, quality, liveness,
//! embedding, protected template), seals to the tenant's bundle with a
//! server challenge, and the service stores, compares, forgets and shreds.
//!
//! Needs `FACESEAL_MODEL_DIR` (liveness models) and `FACESEAL_DATA_DIR`
//! (the evaluation pictures), and fails loudly without them.

mod common;

use std::path::PathBuf;

use common::*;
use faceseal_core::enrolment::{self, CaptureRequest, ProtectedCapture};
use faceseal_core::seal::{self, Purpose};
use faceseal_core::template::TemplateSecret;
use faceseal_core::{AnalyzerConfig, FaceAnalyzer, ModelLocator, RgbFrame};
use faceseal_sync::client::HttpClient;
use faceseal_sync::db::Value;
use faceseal_vision::input::{InputLimits, decode_image};
use hyper::StatusCode;
use serde_json::json;

const ENROLLED: &str = "lfw/images/Tony_Blair/Tony_Blair_0018.jpg";
const SAME_PERSON: &str = "lfw/images/Tony_Blair/Tony_Blair_0032.jpg";
/// Far from the enrolled face (raw distance 1.03 against a threshold of 0.6),
/// so that no random tenant key makes it match. Hans Blix (0.68) matched in
/// about one run in ten, each run drawing a new template secret.
const OTHER_PERSON: &str = "lfw/images/Choi_Yun-yong/Choi_Yun-yong_0001.jpg";

fn analyzer() -> FaceAnalyzer {
    assert!(
        std::env::var_os("FACESEAL_MODEL_DIR").is_some(),
        "FACESEAL_MODEL_DIR is not set: the liveness models are found there"
    );
    let bundled = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");
    let locator = ModelLocator::new().with_env_dirs().with_dir(bundled);
    FaceAnalyzer::load(&locator, AnalyzerConfig::default()).expect("models load")
}

fn picture(relative: &str) -> RgbFrame {
    let dir = std::env::var_os("FACESEAL_DATA_DIR")
        .expect("FACESEAL_DATA_DIR is not set: point it at the evaluation data");
    let path = PathBuf::from(dir).join(relative);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    decode_image(&bytes, &InputLimits::default()).expect("picture decodes")
}

/// The device: capture with the tenant's template secret, then seal to the
/// pinned bundle with a fresh challenge.
struct Device<'a> {
    analyzer: &'a FaceAnalyzer,
    secret: TemplateSecret,
}

impl Device<'_> {
    fn capture(
        &self,
        picture_path: &str,
        subject: &str,
        consent: &str,
        purpose: Purpose,
    ) -> ProtectedCapture {
        let request = CaptureRequest {
            subject_id: subject,
            consent_ref: Some(consent),
            purpose,
        };
        enrolment::capture(
            self.analyzer,
            &picture(picture_path),
            &self.secret,
            1,
            &request,
        )
        .expect("a live, good-quality face")
    }

    async fn seal(&self, c: &mut HttpClient, t: &Tenant, capture: &ProtectedCapture) -> Vec<u8> {
        let nonce = challenge(c, t, capture.purpose()).await;
        capture
            .seal(
                &t.id,
                &t.public_key,
                nonce,
                faceseal_sync::service::now() as u64,
                &mut seal::os_rng(),
            )
            .unwrap()
            .into_bytes()
    }
}

impl Device<'_> {
    /// Seals with a fresh challenge and sends to the route of the capture's purpose.
    async fn send(
        &self,
        c: &mut HttpClient,
        t: &Tenant,
        capture: &ProtectedCapture,
    ) -> faceseal_sync::client::Reply {
        let envelope = self.seal(c, t, capture).await;
        post_envelope(c, t, capture.purpose(), envelope).await
    }
}

/// The database file and its write-ahead log, as they are on disk.
fn disk_bytes(s: &TestServer) -> Vec<u8> {
    let path = s.db_path.as_ref().unwrap();
    let mut bytes = std::fs::read(path).unwrap();
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    if let Ok(w) = std::fs::read(wal) {
        bytes.extend_from_slice(&w);
    }
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn real_faces_enrol_verify_revoke_delete_and_shred() {
    let analyzer = analyzer();
    for backend in backends() {
        let s = TestServer::start(backend).await;
        let mut c = s.client();
        // Single LFW photographs, decided frame by frame: the one-shot
        // enrolment binds the Basic level, which this tenant accepts.
        let t = s.tenant("clinic", json!({"liveness_level": "basic"})).await;
        let mut secret = [0u8; 32];
        hex::decode_to_slice(&t.template_secret, &mut secret).unwrap();
        let device = Device {
            analyzer: &analyzer,
            secret: TemplateSecret::from_bytes(&secret).unwrap(),
        };
        let subject_id = format!("patient-{}", faceseal_sync::random::id());
        let refs = subject(&mut c, &t, &subject_id, &["enrol", "verify"]).await;

        // Enrol from a real picture.
        let enrolled = device.capture(ENROLLED, &subject_id, &refs[0], Purpose::Enrol);
        let envelope = device.seal(&mut c, &t, &enrolled).await;
        let r = post_envelope(&mut c, &t, Purpose::Enrol, envelope).await;
        assert_eq!(r.status, StatusCode::CREATED, "{backend:?}: {:?}", r.body);
        let template_bytes = enrolled.template().to_bytes();
        if backend == Backend::Sqlite {
            // Stored re-encrypted: the template's indices are nowhere on disk.
            assert!(!contains(&disk_bytes(&s), &template_bytes[14..78]));
        }

        // Same person matches; another person claiming the identity does not.
        let probe = device.capture(SAME_PERSON, &subject_id, &refs[1], Purpose::Verify);
        let r = device.send(&mut c, &t, &probe).await;
        let same = r.json().unwrap();
        assert_eq!(same["matched"], true, "{backend:?}: {same}");
        let impostor = device.capture(OTHER_PERSON, &subject_id, &refs[1], Purpose::Verify);
        let r = device.send(&mut c, &t, &impostor).await;
        let other = r.json().unwrap();
        assert_eq!(other["matched"], false, "{backend:?}: {other}");
        // Decisions only: a score would be a gradient to climb.
        assert!(same.get("score").is_none() && other.get("score").is_none());

        // Consent revoked: refused, and the template is gone.
        let r = c
            .post_json(
                &format!("/v1/subjects/{subject_id}/consents/{}/revoke", refs[1]),
                t.key(),
                json!({}),
            )
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        let r = device.send(&mut c, &t, &probe).await;
        refused(&r, StatusCode::FORBIDDEN, "no_valid_consent");
        assert_eq!(s.rows("templates").await, 0);

        // Enrol again, then delete the subject: gone from the database file.
        let r = device.send(&mut c, &t, &enrolled).await;
        assert_eq!(r.status, StatusCode::CREATED);
        if backend == Backend::Sqlite {
            // The check below can fail: before deletion, the id is on disk.
            assert!(contains(&disk_bytes(&s), subject_id.as_bytes()));
        }
        let r = c
            .delete(&format!("/v1/subjects/{subject_id}"), t.key())
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        assert_eq!(s.rows("templates").await, 0);
        assert_eq!(s.rows("subjects").await, 0);
        if backend == Backend::Sqlite {
            let disk = disk_bytes(&s);
            assert!(
                !contains(&disk, subject_id.as_bytes()),
                "subject id left on disk"
            );
            for r in &refs {
                assert!(
                    !contains(&disk, r.as_bytes()),
                    "consent reference left on disk"
                );
            }
        }

        // Tenant deleted: its wrapped keys are destroyed and its envelopes
        // can no longer be opened by anyone holding the database.
        let second = format!("patient-{}", faceseal_sync::random::id());
        let refs = subject(&mut c, &t, &second, &["enrol"]).await;
        let capture = device.capture(ENROLLED, &second, &refs[0], Purpose::Enrol);
        let unsent = device.seal(&mut c, &t, &capture).await;
        let wrapped: Vec<Vec<u8>> = s
            .service
            .database()
            .query(
                "SELECT wrapped FROM tenant_keys WHERE tenant_id = $1",
                vec![Value::from("clinic")],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r[0].blob().unwrap())
            .collect();
        assert_eq!(wrapped.len(), 3);
        if backend == Backend::Sqlite {
            let disk = disk_bytes(&s);
            assert!(
                wrapped.iter().all(|w| contains(&disk, w)),
                "wrapped keys are on disk before deletion"
            );
        }
        let r = c.delete("/v1/tenants/clinic", Some(ADMIN)).await.unwrap();
        assert_eq!(r.status, StatusCode::NO_CONTENT);
        let left = s
            .service
            .database()
            .query(
                "SELECT COUNT(*) FROM tenant_keys WHERE tenant_id = $1",
                vec![Value::from("clinic")],
            )
            .await
            .unwrap();
        assert_eq!(left[0][0].int().unwrap(), 0);
        if backend == Backend::Sqlite {
            let disk = disk_bytes(&s);
            for w in &wrapped {
                assert!(!contains(&disk, w), "a wrapped tenant key is left on disk");
            }
        }
        let reborn = s.tenant("clinic", json!({"liveness_level": "basic"})).await;
        refused(
            &post_envelope(&mut c, &reborn, Purpose::Enrol, unsent).await,
            StatusCode::BAD_REQUEST,
            "unknown_key_id",
        );
        s.stop().await;
    }
}
