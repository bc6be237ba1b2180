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
        self.tenant_key(tenant_id, KIND_AUDIT, SINGLE_KEY_ID)
            .await?
            .ok_or(ApiError::Integrity)
    }

    /// The stored chain state: entries, mac of the last one, authenticated head.
    async fn chain_head(&self, tenant_id: &str) -> Result<(i64, Vec<u8>, Vec<u8>), ApiError> {
        let rows = self
            .db
            .query(
                "SELECT audit_seq, audit_last_mac, audit_head FROM tenants WHERE tenant_id = ?1",
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
        let _serialised = self.audit_lock.lock().await;
        for _ in 0..APPEND_ATTEMPTS {
            let (seq, last_mac, _) = self.chain_head(tenant_id).await?;
            let mut entry = AuditEntry {
                seq: seq + 1,
                at: now(),
                actor: actor.label(),
                operation: operation.to_owned(),
                subject_ref: subject_ref.clone(),
                outcome: outcome.to_owned(),
                mac: Vec::new(),
            };
            let mac = audit::entry_mac(&key, &last_mac, &entry);
            entry.mac = mac.to_vec();
            let head = audit::head_mac(&key, entry.seq, &mac);
            let mut stmts = with.clone();
            stmts.push(Stmt::expect_one(
                "UPDATE tenants SET audit_seq = ?2, audit_last_mac = ?3, audit_head = ?4
                 WHERE tenant_id = ?1 AND audit_seq = ?5",
                vec![
                    tenant_id.into(),
                    entry.seq.into(),
                    mac.as_slice().into(),
                    head.as_slice().into(),
                    seq.into(),
                ],
            ));
            stmts.push(Stmt::new(
                "INSERT INTO audit_entries (tenant_id, seq, at, actor, operation, subject_ref,
                                            outcome, mac)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
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
            ));
            match self.db.batch(stmts).await {
                Ok(_) => return Ok(()),
                Err(DbError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(DbError::Conflict.into())
    }

    /// The tenant's entries in sequence order.
    pub async fn audit_entries(&self, tenant_id: &str) -> Result<Vec<AuditEntry>, ApiError> {
        let rows = self
            .db
            .query(
                "SELECT seq, at, actor, operation, subject_ref, outcome, mac FROM audit_entries
                 WHERE tenant_id = ?1 ORDER BY seq",
                vec![tenant_id.into()],
            )
            .await?;
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

    /// Checks the tenant's chain and reports the first broken link.
    pub async fn verify_audit(&self, tenant_id: &str) -> Result<ChainReport, ApiError> {
        let (head_seq, _, head) = self.chain_head(tenant_id).await?;
        let key = self.audit_key(tenant_id).await?;
        let entries = self.audit_entries(tenant_id).await?;
        Ok(audit::verify_chain(&key, &entries, head_seq, &head))
    }
}
