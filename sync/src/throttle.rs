//! Failed authentications, limited per credential and per client address,
//! and refused before anything expensive: a throttled request is answered
//! `429` from memory, before its body is read, before it takes a worker
//! slot, and before any database lookup or hash.
//!
//! Per process: each instance behind a load balancer keeps its own counts
//! (a guesser spread over `n` instances gets `n` times the budget, which
//! against 256-bit secrets changes nothing; the limit is there to keep
//! guessing from costing real traffic its slots). Behind a proxy every
//! client has the proxy's address: the per-address limit then applies to
//! the proxy as a whole, so size it, or rely on the per-credential one.
//!
//! The limits protect resources, not secrets: an API key has 256 random
//! bits, so no rate of guessing finds one. A request that presents an API
//! key this instance knows to be genuine (checked from memory, one SHA-256,
//! before anything else) is therefore served even when its address or its
//! handle is over the limit: guessers sharing a client's address (behind a
//! proxy, a NAT) or knowing its handle cannot lock that client out. Wrong
//! credentials from that address still get the cheap `429`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Keys tracked at once; when full, those whose window ended are dropped,
/// and if none has, new keys are not tracked (addresses still are limited
/// by the ones already tracked).
const MAX_TRACKED: usize = 100_000;

/// How many failures a credential or an address may have per window.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleLimits {
    pub per_credential: u32,
    pub per_address: u32,
    pub window: Duration,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        ThrottleLimits {
            per_credential: 10,
            per_address: 30,
            window: Duration::from_secs(60),
        }
    }
}

/// What failures are counted against.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ThrottleKey {
    /// The public handle of an API key (`fsk_<handle>_…`) or the challenge
    /// of a capture token (`fsc_<id>_…`). The admin token has no handle:
    /// counting its failures against it would let anyone lock the
    /// administrator out, so those count against the address only.
    Credential(String),
    Address(IpAddr),
}

#[derive(Debug)]
struct Count {
    failures: u32,
    since: Instant,
}

#[derive(Debug)]
pub struct AuthThrottle {
    limits: ThrottleLimits,
    counts: Mutex<HashMap<ThrottleKey, Count>>,
    /// API keys known to be genuine: handle → SHA-256 of the secret (what
    /// the database keeps). Learned at start, when a key is issued, and when
    /// one authenticates; a key deleted since is only let past the throttle,
    /// then refused by the authentication proper.
    genuine: Mutex<HashMap<String, [u8; 32]>>,
}

impl AuthThrottle {
    pub fn new(limits: ThrottleLimits) -> AuthThrottle {
        AuthThrottle {
            limits,
            counts: Mutex::new(HashMap::new()),
            genuine: Mutex::new(HashMap::new()),
        }
    }

    /// Remembers an API key known to be genuine, by its handle and the
    /// SHA-256 of its secret.
    pub fn known_api_key(&self, handle: &str, secret_hash: [u8; 32]) {
        let mut genuine = self.genuine.lock().unwrap_or_else(|p| p.into_inner());
        if genuine.len() < MAX_TRACKED || genuine.contains_key(handle) {
            genuine.insert(handle.to_owned(), secret_hash);
        }
    }

    /// Remembers an API key that was just issued or authenticated.
    pub fn genuine_api_key(&self, api_key: &str) {
        if let Some((handle, secret)) = api_key_parts(api_key) {
            self.known_api_key(handle, Sha256::digest(secret.as_bytes()).into());
        }
    }

    /// Whether the request presents an API key known to be genuine.
    pub fn presents_genuine(&self, headers: &HeaderMap) -> bool {
        let Some((handle, secret)) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .and_then(api_key_parts)
        else {
            return false;
        };
        let Some(expected) = self
            .genuine
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(handle)
            .copied()
        else {
            return false;
        };
        let presented: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        bool::from(presented.ct_eq(&expected))
    }

    fn limit(&self, key: &ThrottleKey) -> u32 {
        match key {
            ThrottleKey::Credential(_) => self.limits.per_credential,
            ThrottleKey::Address(_) => self.limits.per_address,
        }
    }

    /// Seconds until the request's keys may try again, if any is throttled.
    pub fn retry_after(&self, keys: &[ThrottleKey]) -> Option<u64> {
        self.retry_after_at(Instant::now(), keys)
    }

    fn retry_after_at(&self, now: Instant, keys: &[ThrottleKey]) -> Option<u64> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        keys.iter()
            .filter_map(|k| {
                let c = counts.get(k)?;
                let left = self
                    .limits
                    .window
                    .checked_sub(now.duration_since(c.since))?;
                (c.failures >= self.limit(k)).then(|| left.as_secs().max(1))
            })
            .max()
    }

    /// Counts one failed authentication against each key.
    pub fn failed(&self, keys: &[ThrottleKey]) {
        self.failed_at(Instant::now(), keys);
    }

    fn failed_at(&self, now: Instant, keys: &[ThrottleKey]) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        for key in keys {
            if counts.len() >= MAX_TRACKED && !counts.contains_key(key) {
                let window = self.limits.window;
                counts.retain(|_, c| now.duration_since(c.since) < window);
                if counts.len() >= MAX_TRACKED {
                    continue;
                }
            }
            let count = counts.entry(key.clone()).or_insert(Count {
                failures: 0,
                since: now,
            });
            if now.duration_since(count.since) >= self.limits.window {
                *count = Count {
                    failures: 0,
                    since: now,
                };
            }
            count.failures += 1;
            if count.failures == self.limit(key) {
                // For the operator; never the credential itself.
                match key {
                    ThrottleKey::Address(ip) => eprintln!(
                        "faceseal-sync: authentication failures from {ip} throttled for {} s",
                        self.limits.window.as_secs()
                    ),
                    ThrottleKey::Credential(_) => eprintln!(
                        "faceseal-sync: authentication failures for one credential throttled for {} s",
                        self.limits.window.as_secs()
                    ),
                }
            }
        }
    }
}

/// The handle and secret of `fsk_<handle>_<secret>`.
fn api_key_parts(api_key: &str) -> Option<(&str, &str)> {
    let mut parts = api_key.strip_prefix("fsk_")?.splitn(2, '_');
    Some((parts.next()?, parts.next()?))
}

/// The keys of a request: its credential's handle, if it has one, and the
/// client's address, if known.
pub fn keys_of(headers: &HeaderMap, peer: Option<SocketAddr>) -> Vec<ThrottleKey> {
    let mut keys = Vec::with_capacity(2);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let handle = authorization
        .strip_prefix("Bearer fsk_")
        .map(|rest| ("fsk", rest))
        .or_else(|| {
            authorization
                .strip_prefix("Capture fsc_")
                .map(|rest| ("fsc", rest))
        });
    if let Some((kind, rest)) = handle {
        let id = rest.split('_').next().unwrap_or("");
        if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
            keys.push(ThrottleKey::Credential(format!(
                "{kind}:{}",
                id.to_ascii_lowercase()
            )));
        }
    }
    if let Some(peer) = peer {
        keys.push(ThrottleKey::Address(peer.ip()));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_throttled_after_its_budget_until_its_window_ends() {
        let t = AuthThrottle::new(ThrottleLimits {
            per_credential: 3,
            per_address: 5,
            window: Duration::from_secs(60),
        });
        let t0 = Instant::now();
        let cred = [ThrottleKey::Credential("fsk:00".into())];
        let addr = [ThrottleKey::Address("127.0.0.1".parse().unwrap())];
        for _ in 0..2 {
            t.failed_at(t0, &cred);
        }
        assert_eq!(t.retry_after_at(t0, &cred), None);
        t.failed_at(t0, &cred);
        assert_eq!(t.retry_after_at(t0, &cred), Some(60));
        assert_eq!(t.retry_after_at(t0, &addr), None, "keys are separate");
        let later = t0 + Duration::from_secs(61);
        assert_eq!(t.retry_after_at(later, &cred), None);
        t.failed_at(later, &cred);
        assert_eq!(t.retry_after_at(later, &cred), None, "a new window");
    }

    #[test]
    fn only_a_genuine_api_key_is_known() {
        let t = AuthThrottle::new(ThrottleLimits::default());
        let handle = "ab".repeat(16);
        let key = format!("fsk_{handle}_{}", "01".repeat(32));
        let presenting = |credential: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, credential.parse().unwrap());
            t.presents_genuine(&h)
        };
        assert!(!presenting(&format!("Bearer {key}")), "not learned yet");
        t.genuine_api_key(&key);
        assert!(presenting(&format!("Bearer {key}")));
        assert!(!presenting(&format!(
            "Bearer fsk_{handle}_{}",
            "02".repeat(32)
        )));
        assert!(!presenting(&format!(
            "Bearer fsk_{}_{}",
            "cd".repeat(16),
            "01".repeat(32)
        )));
        assert!(!presenting(&format!("Capture {key}")));
        assert!(!presenting("Bearer admin"));
    }

    #[test]
    fn keys_come_from_the_handle_and_the_address() {
        let mut h = HeaderMap::new();
        let handle = "ab".repeat(16);
        h.insert(
            header::AUTHORIZATION,
            format!("Bearer fsk_{handle}_{}", "00".repeat(32))
                .parse()
                .unwrap(),
        );
        let peer: SocketAddr = "127.0.0.9:4000".parse().unwrap();
        assert_eq!(
            keys_of(&h, Some(peer)),
            vec![
                ThrottleKey::Credential(format!("fsk:{handle}")),
                ThrottleKey::Address(peer.ip())
            ]
        );
        h.insert(header::AUTHORIZATION, "Bearer admin".parse().unwrap());
        assert_eq!(keys_of(&h, None), vec![]);
    }
}
