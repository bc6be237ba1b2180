//! Sampling of refused requests for the audit trail: one entry per kind of
//! refusal per window, with the number of refusals of that kind the previous
//! entry did not cover. Keeps a flood of bad envelopes from becoming a flood
//! of audit rows while still recording that, how often, and why.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long one entry stands for the refusals of its kind that follow it.
pub const REFUSAL_WINDOW: Duration = Duration::from_secs(60);
/// Kinds tracked at once; beyond that, kinds whose window ended are dropped.
const MAX_KINDS: usize = 10_000;

#[derive(Debug)]
struct Kind {
    written_at: Instant,
    /// Refusals since the last written entry, not written themselves.
    unwritten: u64,
}

/// Shared by the service's clones; one per process.
#[derive(Debug, Default)]
pub struct RefusalSampler {
    kinds: Mutex<HashMap<(String, String, String), Kind>>,
}

impl RefusalSampler {
    /// `Some(n)`: write an entry now, standing also for `n` earlier
    /// refusals of this kind that were not written. `None`: counted only.
    pub fn admit(&self, tenant_id: &str, operation: &str, code: &str) -> Option<u64> {
        self.admit_at(Instant::now(), tenant_id, operation, code)
    }

    fn admit_at(&self, now: Instant, tenant_id: &str, operation: &str, code: &str) -> Option<u64> {
        let mut kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        let key = (tenant_id.to_owned(), operation.to_owned(), code.to_owned());
        if let Some(kind) = kinds.get_mut(&key) {
            if now.duration_since(kind.written_at) < REFUSAL_WINDOW {
                kind.unwritten += 1;
                return None;
            }
            let unwritten = kind.unwritten;
            *kind = Kind {
                written_at: now,
                unwritten: 0,
            };
            return Some(unwritten);
        }
        if kinds.len() >= MAX_KINDS {
            kinds.retain(|_, k| now.duration_since(k.written_at) < REFUSAL_WINDOW);
        }
        kinds.insert(
            key,
            Kind {
                written_at: now,
                unwritten: 0,
            },
        );
        Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_kind_per_window_carrying_the_count() {
        let s = RefusalSampler::default();
        let t0 = Instant::now();
        assert_eq!(s.admit_at(t0, "a", "enrol", "malformed_envelope"), Some(0));
        for _ in 0..1_000 {
            assert_eq!(s.admit_at(t0, "a", "enrol", "malformed_envelope"), None);
        }
        // Another kind, another tenant: their own entries.
        assert_eq!(s.admit_at(t0, "a", "enrol", "invalid_challenge"), Some(0));
        assert_eq!(s.admit_at(t0, "b", "enrol", "malformed_envelope"), Some(0));
        let later = t0 + REFUSAL_WINDOW;
        assert_eq!(
            s.admit_at(later, "a", "enrol", "malformed_envelope"),
            Some(1_000)
        );
        assert_eq!(s.admit_at(later, "a", "enrol", "malformed_envelope"), None);
    }
}
