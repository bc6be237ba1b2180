//! The tamper-evident audit trail: per tenant, append-only entries chained by
//! HMAC-SHA256 under the tenant's audit key.
//!
//! `mac_n = HMAC(audit key, "faceseal-sync/audit/v1" || mac_{n-1} || entry_n)`
//! with `mac_0` = 32 zero bytes and every field of the entry length-prefixed.
//! Editing, deleting or reordering an entry breaks the chain at that entry.
//! The chain head (last sequence number, and an HMAC over it and the last
//! mac) is kept in the tenant's row, so dropping the newest entries is
//! detected too; only a rollback of the whole database to an earlier state
//! is not (export the head to detect it). Entries never hold biometric data,
//! and hold the subject as a keyed digest, not its identifier.

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

pub const MAC_LEN: usize = 32;
pub const GENESIS: [u8; MAC_LEN] = [0; MAC_LEN];

/// One audit record, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    /// Seconds since the Unix epoch.
    pub at: i64,
    /// Who: `admin` or `api-key:<handle>`.
    pub actor: String,
    /// What: `enrol`, `verify`, `consent.grant`, ...
    pub operation: String,
    /// Which subject: a keyed digest of its id (see [`subject_ref`]), or empty.
    pub subject_ref: String,
    /// `ok`, `match`, `no-match`, or `refused:<reason>`.
    pub outcome: String,
    #[serde(skip)]
    pub mac: Vec<u8>,
}

fn keyed(key: &[u8]) -> HmacSha256 {
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts any key length")
}

fn put(mac: &mut HmacSha256, field: &[u8]) {
    mac.update(&(field.len() as u64).to_be_bytes());
    mac.update(field);
}

/// The mac of `entry` following `previous`.
pub fn entry_mac(key: &[u8], previous: &[u8], entry: &AuditEntry) -> [u8; MAC_LEN] {
    let mut mac = keyed(key);
    mac.update(b"faceseal-sync/audit/v1");
    put(&mut mac, previous);
    mac.update(&entry.seq.to_be_bytes());
    mac.update(&entry.at.to_be_bytes());
    for field in [
        &entry.actor,
        &entry.operation,
        &entry.subject_ref,
        &entry.outcome,
    ] {
        put(&mut mac, field.as_bytes());
    }
    mac.finalize().into_bytes().into()
}

/// The authenticated chain head kept beside the tenant.
pub fn head_mac(key: &[u8], seq: i64, last_mac: &[u8]) -> [u8; MAC_LEN] {
    let mut mac = keyed(key);
    mac.update(b"faceseal-sync/audit-head/v1");
    mac.update(&seq.to_be_bytes());
    put(&mut mac, last_mac);
    mac.finalize().into_bytes().into()
}

/// The subject as the audit trail names it: 16 bytes of an HMAC of its id
/// under the audit key. The tenant can recompute it for a subject it knows;
/// a reader of the database cannot invert it, and it is shredded with the
/// tenant's keys.
pub fn subject_ref(key: &[u8], subject_id: &str) -> String {
    let mut mac = keyed(key);
    mac.update(b"faceseal-sync/audit-subject/v1");
    put(&mut mac, subject_id.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// The result of checking a tenant's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ChainReport {
    Intact {
        entries: usize,
    },
    Broken {
        /// The sequence number at which the chain first fails (the expected
        /// one when an entry is missing).
        first_broken_seq: i64,
        reason: BreakReason,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakReason {
    /// An entry's mac does not follow from the previous one: edited or moved.
    MacMismatch,
    /// Sequence numbers skip: an entry was deleted.
    MissingEntry,
    /// The stored head does not match the last entry: entries were dropped
    /// from the end, or the head was altered.
    HeadMismatch,
}

impl std::fmt::Display for ChainReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainReport::Intact { entries } => write!(f, "audit chain intact: {entries} entries"),
            ChainReport::Broken {
                first_broken_seq,
                reason,
            } => write!(
                f,
                "audit chain BROKEN at entry {first_broken_seq}: {}",
                match reason {
                    BreakReason::MacMismatch => "entry altered or moved (mac mismatch)",
                    BreakReason::MissingEntry => "entry missing",
                    BreakReason::HeadMismatch => "newest entries missing or head altered",
                }
            ),
        }
    }
}

/// Checks `entries` (in stored sequence order) against the stored head.
pub fn verify_chain(key: &[u8], entries: &[AuditEntry], head_seq: i64, head: &[u8]) -> ChainReport {
    let mut previous = GENESIS.to_vec();
    for (i, entry) in entries.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if entry.seq != expected_seq {
            return ChainReport::Broken {
                first_broken_seq: expected_seq,
                reason: BreakReason::MissingEntry,
            };
        }
        let mac = entry_mac(key, &previous, entry);
        if !bool::from(mac.ct_eq(entry.mac.as_slice())) {
            return ChainReport::Broken {
                first_broken_seq: entry.seq,
                reason: BreakReason::MacMismatch,
            };
        }
        previous = mac.to_vec();
    }
    let last_seq = entries.len() as i64;
    let expected_head = head_mac(key, last_seq, &previous);
    if head_seq != last_seq || !bool::from(expected_head.ct_eq(head)) {
        return ChainReport::Broken {
            first_broken_seq: last_seq + 1,
            reason: BreakReason::HeadMismatch,
        };
    }
    ChainReport::Intact {
        entries: entries.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = &[3; 32];

    fn chain(n: i64) -> (Vec<AuditEntry>, Vec<u8>) {
        let mut previous = GENESIS.to_vec();
        let mut entries = Vec::new();
        for seq in 1..=n {
            let mut e = AuditEntry {
                seq,
                at: 1_700_000_000 + seq,
                actor: "admin".into(),
                operation: format!("op{seq}"),
                subject_ref: subject_ref(KEY, "s"),
                outcome: "ok".into(),
                mac: Vec::new(),
            };
            e.mac = entry_mac(KEY, &previous, &e).to_vec();
            previous = e.mac.clone();
            entries.push(e);
        }
        let head = head_mac(KEY, n, &previous).to_vec();
        (entries, head)
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let (entries, head) = chain(5);
        assert_eq!(
            verify_chain(KEY, &entries, 5, &head),
            ChainReport::Intact { entries: 5 }
        );
        let (empty, head0) = chain(0);
        assert_eq!(
            verify_chain(KEY, &empty, 0, &head0),
            ChainReport::Intact { entries: 0 }
        );
    }

    #[test]
    fn edits_deletions_reorderings_and_truncations_are_located() {
        let (entries, head) = chain(5);
        let broken = |entries: &[AuditEntry], head_seq| verify_chain(KEY, entries, head_seq, &head);

        let mut edited = entries.clone();
        edited[2].outcome = "refused:consent".into();
        assert_eq!(
            broken(&edited, 5),
            ChainReport::Broken {
                first_broken_seq: 3,
                reason: BreakReason::MacMismatch
            }
        );

        let mut deleted = entries.clone();
        deleted.remove(1);
        assert_eq!(
            broken(&deleted, 5),
            ChainReport::Broken {
                first_broken_seq: 2,
                reason: BreakReason::MissingEntry
            }
        );

        // Swap the contents of entries 2 and 3, keeping their sequence numbers.
        let mut reordered = entries.clone();
        reordered.swap(1, 2);
        reordered[1].seq = 2;
        reordered[2].seq = 3;
        assert_eq!(
            broken(&reordered, 5),
            ChainReport::Broken {
                first_broken_seq: 2,
                reason: BreakReason::MacMismatch
            }
        );

        let truncated = &entries[..4];
        assert_eq!(
            broken(truncated, 5),
            ChainReport::Broken {
                first_broken_seq: 5,
                reason: BreakReason::HeadMismatch
            }
        );
        // Rewinding the head's counter without the key does not help.
        assert!(matches!(
            broken(truncated, 4),
            ChainReport::Broken {
                reason: BreakReason::HeadMismatch,
                ..
            }
        ));
        // Another tenant's key verifies nothing.
        assert!(matches!(
            verify_chain(&[4; 32], &entries, 5, &head),
            ChainReport::Broken {
                first_broken_seq: 1,
                ..
            }
        ));
    }
}
