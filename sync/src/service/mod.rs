//! The service's operations, independent of HTTP: tenants and their keys,
//! subjects and consent, challenges, sealed enrolment and verification,
//! deletion and the audit trail. Every tenant-scoped query names the
//! caller's tenant, so an id from one tenant never reaches another's rows.

mod audit_log;
mod biometric;
mod subjects;
mod tenants;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::db::Database;
use crate::keystore::KeyStore;

pub use biometric::{Challenge, Enrolled, Verified};
pub use subjects::{ConsentRecord, ConsentRequest, SubjectView};
pub use tenants::{
    Caller, CreatedTenant, KeyBundle, NewTenant, RevealedSecret, TemplateParameters, TenantSummary,
    admin_token_hash, admin_token_matches,
};

/// Tunables of the service.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// How long a challenge stays usable, in seconds (0: never, for tests).
    pub challenge_ttl: u64,
    /// How far a device clock may run ahead of the server's, in seconds.
    pub max_clock_skew: u64,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            challenge_ttl: 120,
            max_clock_skew: 30,
        }
    }
}

/// Shared state of the service: storage, keys, configuration.
#[derive(Clone)]
pub struct Service {
    db: Arc<dyn Database>,
    keys: Arc<dyn KeyStore>,
    config: ServiceConfig,
    /// One audit append at a time per process; other instances over the
    /// same database are handled by optimistic concurrency on the chain head.
    audit_lock: Arc<tokio::sync::Mutex<()>>,
}

impl Service {
    pub fn new(db: Arc<dyn Database>, keys: Arc<dyn KeyStore>, config: ServiceConfig) -> Service {
        Service {
            db,
            keys,
            config,
            audit_lock: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    pub fn database(&self) -> &Arc<dyn Database> {
        &self.db
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Who performed an operation, as the audit trail records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Actor {
    Admin,
    ApiKey(String),
}

impl Actor {
    fn label(&self) -> String {
        match self {
            Actor::Admin => "admin".into(),
            Actor::ApiKey(handle) => format!("api-key:{handle}"),
        }
    }
}

/// Checks an identifier chosen by a client: 1 to `max` bytes, printable, no
/// white space at the ends.
fn valid_identifier(id: &str, max: usize) -> bool {
    !id.is_empty() && id.len() <= max && id.trim() == id && !id.chars().any(char::is_control)
}
