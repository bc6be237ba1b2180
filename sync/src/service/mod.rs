//! The service's operations, independent of HTTP: tenants and their keys,
//! subjects and consent, challenges, sealed enrolment and verification,
//! deletion and the audit trail. Every tenant-scoped query names the
//! caller's tenant, so an id from one tenant never reaches another's rows.

mod attempts;
mod audit_log;
pub(crate) mod biometric;
mod capture;
mod kek_check;
mod refusals;
mod subjects;
mod tenants;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::db::Database;
use crate::keystore::KeyStore;

pub use biometric::{
    Challenge, ChallengeRequest, ChallengeStatus, Enrolled, EnvelopeReply, Verified,
};
pub use capture::parse_token as parse_capture_token;
pub use kek_check::{KekCheck, database_has_keys};
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
    /// How long a used or expired challenge (and its decision) stays
    /// readable by the tenant's backend, in seconds.
    pub challenge_retention: u64,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            challenge_ttl: 120,
            max_clock_skew: 30,
            challenge_retention: 3_600,
        }
    }
}

/// A tenant's audit chain head: the sequence number and mac of its last entry.
type ChainHead = (i64, Vec<u8>);

/// Shared state of the service: storage, keys, configuration.
#[derive(Clone)]
pub struct Service {
    db: Arc<dyn Database>,
    keys: Arc<dyn KeyStore>,
    config: ServiceConfig,
    /// One audit append at a time per process, and the chain head each
    /// tenant's last append left (see [`Service::audit_with`]); other
    /// instances over the same database are handled by optimistic
    /// concurrency on the chain head.
    audit_lock: Arc<tokio::sync::Mutex<HashMap<String, ChainHead>>>,
    refusals: Arc<refusals::RefusalSampler>,
}

impl Service {
    pub fn new(db: Arc<dyn Database>, keys: Arc<dyn KeyStore>, config: ServiceConfig) -> Service {
        Service {
            db,
            keys,
            config,
            audit_lock: Arc::new(tokio::sync::Mutex::new(HashMap::new())),
            refusals: Arc::new(refusals::RefusalSampler::default()),
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
    /// A device presenting the capture token of this challenge.
    Capture(String),
}

impl Actor {
    fn label(&self) -> String {
        match self {
            Actor::Admin => "admin".into(),
            Actor::ApiKey(handle) => format!("api-key:{handle}"),
            Actor::Capture(challenge_id) => format!("capture:{challenge_id}"),
        }
    }
}

/// The canonical form of an identifier chosen by a client, or `BadRequest`
/// with `what` (see [`crate::ident`]).
fn identifier(
    id: &str,
    max_chars: usize,
    max_bytes: usize,
    what: &'static str,
) -> Result<String, crate::error::ApiError> {
    crate::ident::canonical(id, max_chars, max_bytes)
        .ok_or(crate::error::ApiError::BadRequest(what))
}

/// A field that may be omitted but, when present, holds a value: `null` is
/// a client bug (for `expires_at` it would read as "never"), refused like
/// any other wrong type (`422`).
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// An optional integer as JSON Schema reads `integer`: any number with no
/// fractional part (`900` or `900.0`) within 64 bits, a fractional one only
/// where it is exact (below 2^53); `null` is refused.
pub(crate) fn whole_number<'de, D>(d: D) -> Result<Option<i64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize as _;
    use serde::de::Error;
    match serde_json::Number::deserialize(d)? {
        n if n.is_i64() => Ok(n.as_i64()),
        n => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 => Ok(Some(f as i64)),
            _ => Err(D::Error::custom("not a 64-bit integer")),
        },
    }
}
