//! The key holder's attempt budget: failed decisions per (tenant, subject).
//! A subject whose failures reach the limit gets no more decisions until an
//! operator resets it; an accepted decision clears the count.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::SplitError;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Counts {
    /// Keyed by SHA-256 of the tenant, then of the subject: the file names nobody.
    failures: BTreeMap<String, BTreeMap<String, u32>>,
}

/// Failed attempts per subject, optionally kept in a file so that a restart
/// does not refill the budget.
#[derive(Debug)]
pub struct Budget {
    limit: u32,
    counts: Counts,
    path: Option<PathBuf>,
}

fn hash(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

impl Budget {
    pub fn in_memory(limit: u32) -> Self {
        Budget {
            limit,
            counts: Counts::default(),
            path: None,
        }
    }

    /// Loads (or starts) the budget kept at `path`.
    pub fn open(limit: u32, path: PathBuf) -> Result<Self, SplitError> {
        let counts = match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|_| SplitError::Malformed("budget file"))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Counts::default(),
            Err(e) => return Err(e.into()),
        };
        Ok(Budget {
            limit,
            counts,
            path: Some(path),
        })
    }

    /// Spends one attempt, before anything is decrypted: refused once the
    /// failures reach the limit.
    pub fn spend(&mut self, tenant: &str, subject: &str) -> Result<(), SplitError> {
        let count = self
            .counts
            .failures
            .entry(hash(tenant))
            .or_default()
            .entry(hash(subject))
            .or_default();
        if *count >= self.limit {
            return Err(SplitError::Locked);
        }
        *count += 1;
        self.save()
    }

    /// Settles a spent attempt: an accepted one gives it back and clears the count.
    pub fn settle(&mut self, tenant: &str, subject: &str, accept: bool) -> Result<(), SplitError> {
        if accept {
            if let Some(subjects) = self.counts.failures.get_mut(&hash(tenant)) {
                subjects.remove(&hash(subject));
            }
            self.save()?;
        }
        Ok(())
    }

    pub fn failures(&self, tenant: &str, subject: &str) -> u32 {
        self.counts
            .failures
            .get(&hash(tenant))
            .and_then(|s| s.get(&hash(subject)))
            .copied()
            .unwrap_or(0)
    }

    /// Forgets every count of a deleted tenant.
    pub fn forget_tenant(&mut self, tenant: &str) -> Result<(), SplitError> {
        self.counts.failures.remove(&hash(tenant));
        self.save()
    }

    fn save(&self) -> Result<(), SplitError> {
        if let Some(path) = &self.path {
            let tmp = path.with_extension("tmp");
            std::fs::write(
                &tmp,
                serde_json::to_vec(&self.counts).expect("counts serialise"),
            )?;
            std::fs::rename(tmp, path)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_lock_and_an_accept_clears() {
        let mut b = Budget::in_memory(2);
        b.spend("t", "s").unwrap();
        b.settle("t", "s", false).unwrap();
        b.spend("t", "s").unwrap();
        b.settle("t", "s", true).unwrap();
        assert_eq!(b.failures("t", "s"), 0);
        for _ in 0..2 {
            b.spend("t", "s").unwrap();
            b.settle("t", "s", false).unwrap();
        }
        assert!(matches!(b.spend("t", "s"), Err(SplitError::Locked)));
        // Another subject is unaffected.
        b.spend("t", "other").unwrap();
        b.forget_tenant("t").unwrap();
        assert_eq!(b.failures("t", "s"), 0);
    }

    #[test]
    fn the_budget_survives_a_restart() {
        let dir = std::env::temp_dir().join(format!("split-budget-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("budget.json");
        let _ = std::fs::remove_file(&path);
        let mut b = Budget::open(1, path.clone()).unwrap();
        b.spend("t", "s").unwrap();
        drop(b);
        let mut b = Budget::open(1, path).unwrap();
        assert!(matches!(b.spend("t", "s"), Err(SplitError::Locked)));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
