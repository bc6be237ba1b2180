//! Appending to and checking a tenant's audit chain (see [`crate::audit`]).

use super::tenants::{KIND_AUDIT, SINGLE_KEY_ID};
use super::{Actor, Service, now};
use crate::audit::{self, AuditEntry, ChainReport};
use crate::db::{DbError, Stmt};
use crate::error::ApiError;

/// Attempts before giving up when other instances keep appending first.
const APPEND_ATTEMPTS: usize = 32;

impl Service {
    async fn audit_key(&self, tenant_id: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, ApiError> {
        self.required_key(tenant_id, KIND_AUDIT, SINGLE_KEY_ID)
            .await
    }

    /// The stored chain state: entries, mac of the last one, authenticated head.
    async fn chain_head(&self, tenant_id: &str) -> Result<(i64, Vec<u8>, Vec<u8>), ApiError> {
        let rows = self
            .db
            .query(
                "SELECT audit_seq, audit_last_mac, audit_head FROM tenants WHERE tenant_id = $1",
                vec![tenant_id.into()],
            )
            .await?;
        let row = rows.first().ok_or(ApiError::NotFound)?;
        Ok((row[0].int()?, row[1].blob()?, row[2].blob()?))
    }

    /// Appends one entry to the tenant's chain.
    pub(crate) async fn audit(
        &self,
        tenant_id: &str,
        actor: &Actor,
        operation: &str,
        subject_id: Option<&str>,
        outcome: &str,
    ) -> Result<(), ApiError> {
        self.audit_with(tenant_id, actor, operation, subject_id, outcome, Vec::new())
            .await
    }

    /// Appends one entry in the same transaction as `with`: the operation
    /// and its record commit together or not at all.
    ///
    /// The chain head's update comes first, so every audited change of a
    /// tenant takes the tenant's row lock before anything else: on
    /// PostgreSQL, changes of one tenant run one after another, and the
    /// guards in `with` see everything committed before them.
    pub(crate) async fn audit_with(
        &self,
        tenant_id: &str,
        actor: &Actor,
        operation: &str,
        subject_id: Option<&str>,
        outcome: &str,
        with: Vec<Stmt>,
    ) -> Result<(), ApiError> {
        let key = self.audit_key(tenant_id).await?;
        let subject_ref = subject_id.map_or_else(String::new, |s| audit::subject_ref(&key, s));
        // Where the engine queues batches in call order (SQLite's writer),
        // the head each append leaves is kept here and the next append
        // chains on it at once: appends queue one after another under this
        // lock and commit together in one group, instead of one commit each.
        // Elsewhere the lock is held across the commit.
        let pipelined = self.db.queues_batches_in_call_order();
        let mut heads = self.audit_lock.lock().await;
        let mut attempt = 0;
        loop {
            let (seq, last_mac) = match heads.get(tenant_id) {
                Some(head) if pipelined => head.clone(),
                _ => {
                    let (seq, last_mac, _) = self.chain_head(tenant_id).await?;
                    (seq, last_mac)
                }
            };
            let (entry, head) = next_entry(
                &key,
                seq,
                &last_mac,
                actor,
                operation,
                subject_ref.clone(),
                outcome,
            );
            let left = (entry.seq, entry.mac.clone());
            // The head is matched by sequence number and mac: a cached head
            // of a tenant deleted and created again under the same id does
            // not match its new chain.
            let mut stmts = vec![Stmt::expect_one(
                "UPDATE tenants SET audit_seq = $2, audit_last_mac = $3, audit_head = $4
                 WHERE tenant_id = $1 AND audit_seq = $5 AND audit_last_mac = $6",
                vec![
                    tenant_id.into(),
                    entry.seq.into(),
                    entry.mac.clone().into(),
                    head.as_slice().into(),
                    seq.into(),
                    last_mac.into(),
                ],
            )];
            stmts.extend(with.iter().cloned());
            stmts.push(insert_entry(tenant_id, entry));
            let pending = self.db.batch(stmts);
            let failure = if pipelined {
                heads.insert(tenant_id.to_owned(), left);
                drop(heads);
                match pending.await {
                    Ok(_) => return Ok(()),
                    Err(e) => {
                        // Appends queued after this one chained on a head
                        // that was never committed and fail too. Forget the
                        // head, and let everything queued settle (an empty
                        // batch is answered after them) before the next try
                        // reads the committed one.
                        heads = self.audit_lock.lock().await;
                        heads.remove(tenant_id);
                        let _ = self.db.batch(Vec::new()).await;
                        e
                    }
                }
            } else {
                match pending.await {
                    Ok(_) => return Ok(()),
                    Err(e) => e,
                }
            };
            attempt += 1;
            if !matches!(failure, DbError::Conflict) || attempt == APPEND_ATTEMPTS {
                return Err(failure.into());
            }
        }
    }

    /// Records a refused request without a write per refusal: the first
    /// refusal of a kind (tenant, operation, reason) in a window is written
    /// at once; later ones in that window are only counted, and the count
    /// rides on the next entry of that kind (`refused:<code>;repeated=<n>`).
    /// A flood of bad envelopes thus costs one audit row per kind per
    /// window. Counts not yet written are lost if the process dies.
    pub(crate) async fn audit_refused(
        &self,
        tenant_id: &str,
        actor: &Actor,
        operation: &str,
        subject_id: Option<&str>,
        code: &str,
    ) -> Result<(), ApiError> {
        let Some(repeated) = self.refusals.admit(tenant_id, operation, code) else {
            return Ok(());
        };
        let outcome = if repeated == 0 {
            format!("refused:{code}")
        } else {
            format!("refused:{code};repeated={repeated}")
        };
        self.audit(tenant_id, actor, operation, subject_id, &outcome)
            .await
    }

    /// Up to `limit` entries after sequence number `after`, in order.
    pub async fn audit_page(
        &self,
        tenant_id: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, ApiError> {
        self.chain_head(tenant_id).await?;
        let rows = self
            .db
            .query(
                "SELECT seq, at, actor, operation, subject_ref, outcome, mac FROM audit_entries
                 WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                vec![tenant_id.into(), after.into(), limit.into()],
            )
            .await?;
        read_entries(&rows)
    }

    /// The tenant's entries in sequence order.
    pub async fn audit_entries(&self, tenant_id: &str) -> Result<Vec<AuditEntry>, ApiError> {
        let rows = self
            .db
            .query_bulk(
                "SELECT seq, at, actor, operation, subject_ref, outcome, mac FROM audit_entries
                 WHERE tenant_id = $1 ORDER BY seq",
                vec![tenant_id.into()],
            )
            .await?;
        read_entries(&rows)
    }

    /// Checks the tenant's chain and reports the first broken link.
    pub async fn verify_audit(&self, tenant_id: &str) -> Result<ChainReport, ApiError> {
        let (head_seq, _, head) = self.chain_head(tenant_id).await?;
        let key = self.audit_key(tenant_id).await?;
        let entries = self.audit_entries(tenant_id).await?;
        // A MAC per entry over the whole chain: CPU work of no fixed size,
        // kept off the runtime's threads.
        tokio::task::spawn_blocking(move || audit::verify_chain(&key, &entries, head_seq, &head))
            .await
            .map_err(|_| ApiError::Storage(crate::db::DbError::WorkerGone))
    }
}

fn read_entries(rows: &[crate::db::Row]) -> Result<Vec<AuditEntry>, ApiError> {
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                seq: r[0].int()?,
                at: r[1].int()?,
                actor: r[2].text()?,
                operation: r[3].text()?,
                subject_ref: r[4].text()?,
                outcome: r[5].text()?,
                mac: r[6].blob()?,
            })
        })
        .collect()
}

/// The entry following `(seq, last_mac)`, with its mac, and the new head.
pub(crate) fn next_entry(
    key: &[u8],
    seq: i64,
    last_mac: &[u8],
    actor: &Actor,
    operation: &str,
    subject_ref: String,
    outcome: &str,
) -> (AuditEntry, [u8; audit::MAC_LEN]) {
    let mut entry = AuditEntry {
        seq: seq + 1,
        at: now(),
        actor: actor.label(),
        operation: operation.to_owned(),
        subject_ref,
        outcome: outcome.to_owned(),
        mac: Vec::new(),
    };
    let mac = audit::entry_mac(key, last_mac, &entry);
    entry.mac = mac.to_vec();
    let head = audit::head_mac(key, entry.seq, &mac);
    (entry, head)
}

pub(crate) fn insert_entry(tenant_id: &str, entry: AuditEntry) -> Stmt {
    Stmt::new(
        "INSERT INTO audit_entries (tenant_id, seq, at, actor, operation, subject_ref,
                                    outcome, mac)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vec![
            tenant_id.into(),
            entry.seq.into(),
            entry.at.into(),
            entry.actor.into(),
            entry.operation.into(),
            entry.subject_ref.into(),
            entry.outcome.into(),
            entry.mac.into(),
        ],
    )
}
