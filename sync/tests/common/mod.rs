//! A real server on a loopback port over each storage backend, and the
//! device side of the protocol (challenge, seal, send).
//!
//! PostgreSQL: the tests read `FACESEAL_SYNC_TEST_DATABASE_URL` and fail
//! without it, since a backend that is never tested is not supported. A
//! developer without PostgreSQL may set `FACESEAL_SYNC_TEST_SKIP_POSTGRES=1`
//! to run the SQLite half only (a notice is printed).

#![allow(dead_code)]

pub mod process;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use faceseal_core::seal::{self, ChallengeNonce, Purpose, SealContext, TenantPublicKey};
use faceseal_sync::api::{AppState, router};
use faceseal_sync::client::{HttpClient, Reply};
use faceseal_sync::db::{Database, PostgresDatabase, PostgresOptions, SqliteDatabase};
use faceseal_sync::keystore::KekKeyStore;
use faceseal_sync::limits::LoadLimits;
use faceseal_sync::service::{Service, ServiceConfig, admin_token_hash};
use faceseal_sync::throttle::ThrottleLimits;
use hyper::StatusCode;
use serde_json::{Value, json};

pub const PG_URL_ENV: &str = "FACESEAL_SYNC_TEST_DATABASE_URL";
pub const SKIP_PG_ENV: &str = "FACESEAL_SYNC_TEST_SKIP_POSTGRES";
pub const ADMIN: &str = "test-admin-token";

/// The storage engines a test server runs on (the service's own type, so
/// that a test server gets the limits the real one would).
pub use faceseal_sync::db::Backend;

/// The backends every suite runs on.
/// How the tests connect to PostgreSQL: in `schema`, and over TLS verified
/// against the CA the service itself would read (`.ci/run` gives the test
/// cluster's own).
pub fn pg_options(schema: &str) -> PostgresOptions {
    PostgresOptions {
        schema: Some(schema.to_owned()),
        ca_file: std::env::var_os(faceseal_sync::setup::DATABASE_CA_ENV).map(Into::into),
    }
}

pub fn backends() -> Vec<Backend> {
    if std::env::var_os(PG_URL_ENV).is_some() {
        return vec![Backend::Sqlite, Backend::Postgres];
    }
    if std::env::var(SKIP_PG_ENV).as_deref() == Ok("1") {
        eprintln!("NOTICE: {SKIP_PG_ENV}=1: the PostgreSQL backend is NOT tested in this run");
        return vec![Backend::Sqlite];
    }
    panic!(
        "{PG_URL_ENV} is not set: the PostgreSQL backend must be tested (.ci/run starts one); \
         set {SKIP_PG_ENV}=1 to test SQLite only"
    );
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub service: Service,
    pub backend: Backend,
    /// The SQLite file, to inspect its bytes.
    pub db_path: Option<PathBuf>,
    /// The key-encryption key, hex, for the command-line tool.
    pub kek_hex: String,
    kek: [u8; 32],
    schema: String,
    config: ServiceConfig,
    limits: LoadLimits,
    throttle: ThrottleLimits,
    _dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        TestServer::start_with(
            backend,
            ServiceConfig::default(),
            LoadLimits::for_this_machine(backend),
        )
        .await
    }

    pub async fn start_with(
        backend: Backend,
        config: ServiceConfig,
        limits: LoadLimits,
    ) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let kek = faceseal_sync::random::bytes::<32>();
        let schema = format!("t_{}", faceseal_sync::random::id());
        TestServer::launch(
            backend,
            config,
            limits,
            dir,
            kek,
            schema,
            generous_throttle(),
        )
        .await
    }

    /// Another server over the same database and KEK (a second instance
    /// behind the load balancer, for PostgreSQL).
    pub async fn sibling(&self) -> TestServer {
        TestServer::launch(
            self.backend,
            self.config.clone(),
            self.limits,
            tempfile::tempdir().unwrap(),
            self.kek,
            self.schema.clone(),
            self.throttle,
        )
        .await
    }

    pub async fn start_throttled(backend: Backend, throttle: ThrottleLimits) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let kek = faceseal_sync::random::bytes::<32>();
        let schema = format!("t_{}", faceseal_sync::random::id());
        TestServer::launch(
            backend,
            ServiceConfig::default(),
            LoadLimits::for_this_machine(backend),
            dir,
            kek,
            schema,
            throttle,
        )
        .await
    }

    async fn launch(
        backend: Backend,
        config: ServiceConfig,
        limits: LoadLimits,
        dir: tempfile::TempDir,
        kek: [u8; 32],
        schema: String,
        throttle: ThrottleLimits,
    ) -> TestServer {
        let (db, db_path): (Arc<dyn Database>, _) = match backend {
            Backend::Sqlite => {
                let path = dir.path().join("sync.db");
                (Arc::new(SqliteDatabase::open(&path).unwrap()), Some(path))
            }
            Backend::Postgres => {
                let url = std::env::var(PG_URL_ENV).unwrap();
                (
                    Arc::new(
                        PostgresDatabase::connect(&url, pg_options(&schema))
                            .await
                            .unwrap(),
                    ),
                    None,
                )
            }
        };
        let keys = Arc::new(KekKeyStore::from_bytes(&kek));
        let service = Service::new(db, keys, config.clone());
        service.check_kek().await.unwrap();
        let state =
            AppState::with_throttle(service.clone(), Some(admin_token_hash(ADMIN)), throttle);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let app = router(state, limits);
        let task = tokio::spawn(async move {
            faceseal_sync::server::serve(listener, app, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestServer {
            addr,
            service,
            backend,
            db_path,
            kek_hex: hex::encode(kek),
            kek,
            schema,
            config,
            limits,
            throttle,
            _dir: dir,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Asks for a graceful shutdown and returns once the server has drained.
    pub async fn shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    /// Shuts down gracefully and starts a new server over the same data.
    pub async fn restart(mut self) -> TestServer {
        self.shutdown().await;
        let dir = std::mem::replace(&mut self._dir, tempfile::tempdir().unwrap());
        TestServer::launch(
            self.backend,
            self.config.clone(),
            self.limits,
            dir,
            self.kek,
            self.schema.clone(),
            self.throttle,
        )
        .await
    }

    pub fn client(&self) -> HttpClient {
        HttpClient::new(self.addr)
    }

    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    /// Creates a tenant through the admin API.
    pub async fn tenant(&self, id: &str, extra: Value) -> Tenant {
        let mut body = json!({ "tenant_id": id });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let reply = self
            .client()
            .post_json("/v1/tenants", Some(ADMIN), body)
            .await
            .unwrap();
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        let v = reply.json().unwrap();
        Tenant {
            id: id.to_owned(),
            api_key: v["api_key"].as_str().unwrap().to_owned(),
            template_secret: v["template_secret"].as_str().unwrap().to_owned(),
            public_key: public_key(&v["bundle"]),
            key_id: v["bundle"]["key_id"].as_str().unwrap().to_owned(),
        }
    }

    /// Number of rows in `table` (whole database).
    pub async fn rows(&self, table: &'static str) -> i64 {
        let sql: &'static str = match table {
            "templates" => "SELECT COUNT(*) FROM templates",
            "tenant_keys" => "SELECT COUNT(*) FROM tenant_keys",
            "consents" => "SELECT COUNT(*) FROM consents",
            "subjects" => "SELECT COUNT(*) FROM subjects",
            "api_keys" => "SELECT COUNT(*) FROM api_keys",
            "audit_entries" => "SELECT COUNT(*) FROM audit_entries",
            "challenges" => "SELECT COUNT(*) FROM challenges",
            "subject_attempts" => "SELECT COUNT(*) FROM subject_attempts",
            _ => panic!("unknown table"),
        };
        self.service.database().query(sql, vec![]).await.unwrap()[0][0]
            .int()
            .unwrap()
    }
}

/// The suites make many deliberate authentication failures from one
/// address; only the throttle's own test runs with the real limits.
pub fn generous_throttle() -> ThrottleLimits {
    ThrottleLimits {
        per_credential: 1_000_000,
        per_address: 1_000_000,
        ..ThrottleLimits::default()
    }
}

pub fn public_key(bundle: &Value) -> TenantPublicKey {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(bundle["public_key"].as_str().unwrap(), &mut bytes).unwrap();
    TenantPublicKey::from_bytes(bytes)
}

#[derive(Debug, Clone)]
pub struct Tenant {
    pub id: String,
    pub api_key: String,
    pub template_secret: String,
    pub public_key: TenantPublicKey,
    pub key_id: String,
}

impl Tenant {
    pub fn key(&self) -> Option<&str> {
        Some(&self.api_key)
    }
}

/// Creates a subject and grants consent for `purposes`; returns the refs.
pub async fn subject(
    c: &mut HttpClient,
    t: &Tenant,
    subject: &str,
    purposes: &[&str],
) -> Vec<String> {
    let r = c
        .post_json("/v1/subjects", t.key(), json!({ "subject_id": subject }))
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let mut refs = Vec::new();
    for p in purposes {
        let r = c
            .post_json(
                &format!("/v1/subjects/{subject}/consents"),
                t.key(),
                json!({ "purpose": p, "text_version": "2026-01" }),
            )
            .await
            .unwrap();
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        refs.push(
            r.json().unwrap()["consent_ref"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    refs
}

pub async fn challenge(c: &mut HttpClient, t: &Tenant, purpose: Purpose) -> ChallengeNonce {
    let name = if purpose == Purpose::Enrol {
        "enrol"
    } else {
        "verify"
    };
    let r = c
        .post_json("/v1/challenges", t.key(), json!({ "purpose": name }))
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let mut nonce = [0u8; 32];
    hex::decode_to_slice(r.json().unwrap()["nonce"].as_str().unwrap(), &mut nonce).unwrap();
    ChallengeNonce::from_bytes(nonce)
}

/// Issues a challenge from a JSON request and returns the whole answer.
pub async fn challenge_for(c: &mut HttpClient, t: &Tenant, request: Value) -> Value {
    let r = c
        .post_json("/v1/challenges", t.key(), request)
        .await
        .unwrap();
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.json().unwrap()
}

/// The nonce of a challenge answer.
pub fn nonce_of(challenge: &Value) -> ChallengeNonce {
    let mut nonce = [0u8; 32];
    hex::decode_to_slice(challenge["nonce"].as_str().unwrap(), &mut nonce).unwrap();
    ChallengeNonce::from_bytes(nonce)
}

/// A challenge whose enrolment replaces the subject's template.
pub async fn replace_challenge(c: &mut HttpClient, t: &Tenant, subject: &str) -> ChallengeNonce {
    nonce_of(
        &challenge_for(
            c,
            t,
            json!({"purpose": "enrol", "subject_id": subject, "replace": true}),
        )
        .await,
    )
}

/// The context a device binds, with good scores and the current time.
pub fn context(
    t: &Tenant,
    subject: &str,
    purpose: Purpose,
    consent: &str,
    challenge: ChallengeNonce,
) -> SealContext {
    SealContext {
        tenant_id: t.id.clone(),
        subject_id: subject.to_owned(),
        purpose,
        consent_ref: consent.to_owned(),
        challenge,
        capture_digest: faceseal_sync::random::bytes::<32>(),
        created_at: faceseal_sync::service::now() as u64,
        liveness_score: 0.97,
        quality_score: 0.8,
        liveness_level: faceseal_core::seal::SecurityLevel::Standard,
    }
}

/// A protected template of the default parameters, key version 1.
pub fn template(indices: &[u8]) -> Vec<u8> {
    assert_eq!(indices.len(), 1024);
    let mut out = vec![
        b'F', b'S', b'T', b'P', 1, 1, 0x04, 0x00, 0x00, 0x08, 0, 0, 0, 1,
    ];
    out.extend_from_slice(indices);
    out
}

/// Deterministic pseudo-random indices in 0..8 from a seed.
pub fn indices(seed: u64) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 8) as u8
        })
        .collect()
}

pub fn seal_payload(t: &Tenant, ctx: &SealContext, payload: &[u8]) -> Vec<u8> {
    seal::seal_bytes(payload, &t.public_key, ctx, &mut seal::os_rng())
        .unwrap()
        .into_bytes()
}

/// Challenge, seal and send: the device side of enrolment or verification.
pub async fn send_sealed(
    c: &mut HttpClient,
    t: &Tenant,
    subject: &str,
    purpose: Purpose,
    consent: &str,
    payload: &[u8],
) -> Reply {
    let nonce = challenge(c, t, purpose).await;
    let envelope = seal_payload(t, &context(t, subject, purpose, consent, nonce), payload);
    post_envelope(c, t, purpose, envelope).await
}

pub async fn post_envelope(
    c: &mut HttpClient,
    t: &Tenant,
    purpose: Purpose,
    envelope: Vec<u8>,
) -> Reply {
    let path = if purpose == Purpose::Enrol {
        "/v1/enrolments"
    } else {
        "/v1/verifications"
    };
    c.post_octets(path, t.key(), envelope).await.unwrap()
}

/// Asserts a refusal with the given status and error code.
#[track_caller]
pub fn refused(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(
        reply.error_code().as_deref(),
        Some(code),
        "{:?}",
        reply.body
    );
}
