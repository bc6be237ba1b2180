//! Attempt limits per subject: after `attempt_limit` failed verifications
//! within `attempt_window` seconds the subject is locked for `lockout`
//! seconds (the tenant's settings); a match resets the count.
//!
//! The state is a row in the database, so every instance over one database
//! shares it, and it changes only through single-statement upserts, so two
//! verifications racing each other cannot both take the last attempt. An
//! attempt is charged *before* the comparison: at most `attempt_limit`
//! comparisons run per window however many are sent at once.

use super::tenants::TenantRow;
use super::{Service, now};
use crate::db::Stmt;
use crate::error::ApiError;

impl Service {
    /// Takes one attempt from the subject's budget and returns the number
    /// charged in the current window, or refuses with `SubjectLocked`.
    pub(crate) async fn charge_attempt(
        &self,
        tenant_id: &str,
        subject_id: &str,
        tenant: &TenantRow,
    ) -> Result<i64, ApiError> {
        let at = now();
        // Deferred, as the challenge's take: the comparison's answer is
        // given only after the verification's decision commits durably, and
        // that commit makes the charge durable too.
        let rows = self
            .db
            .write_returning_deferred(
                "INSERT INTO subject_attempts (tenant_id, subject_id, failures, window_start,
                                               locked_until)
                 VALUES ($1, $2, 1, $3, 0)
                 ON CONFLICT (tenant_id, subject_id) DO UPDATE SET
                   failures = CASE WHEN subject_attempts.window_start + $4 <= $3 THEN 1
                                   ELSE subject_attempts.failures + 1 END,
                   window_start = CASE WHEN subject_attempts.window_start + $4 <= $3 THEN $3
                                       ELSE subject_attempts.window_start END
                 WHERE subject_attempts.locked_until <= $3
                   AND (subject_attempts.window_start + $4 <= $3
                        OR subject_attempts.failures < $5)
                 RETURNING failures",
                vec![
                    tenant_id.into(),
                    subject_id.into(),
                    at.into(),
                    tenant.attempt_window.into(),
                    tenant.attempt_limit.into(),
                ],
            )
            .await?;
        if let Some(row) = rows.first() {
            return Ok(row[0].int()?);
        }
        // Locked, or the last attempts are being compared right now.
        let rows = self
            .db
            .query(
                "SELECT locked_until, window_start FROM subject_attempts
                 WHERE tenant_id = $1 AND subject_id = $2",
                vec![tenant_id.into(), subject_id.into()],
            )
            .await?;
        let retry_at = rows
            .first()
            .map_or(Ok(at + 1), |r| -> Result<i64, ApiError> {
                let locked_until = r[0].int()?;
                Ok(if locked_until > at {
                    locked_until
                } else {
                    r[1].int()? + tenant.attempt_window
                })
            })?;
        Err(ApiError::SubjectLocked {
            retry_after: u64::try_from(retry_at - at).unwrap_or(1).max(1),
        })
    }

    /// The statement that settles a charged attempt, to commit with the
    /// verification's audit entry: a match clears the count; a failure that
    /// used the last attempt locks the subject and starts a new window.
    pub(crate) fn settle_attempt(
        &self,
        tenant_id: &str,
        subject_id: &str,
        matched: bool,
        tenant: &TenantRow,
    ) -> Stmt {
        if matched {
            return Stmt::new(
                "UPDATE subject_attempts SET failures = 0, locked_until = 0
                 WHERE tenant_id = $1 AND subject_id = $2",
                vec![tenant_id.into(), subject_id.into()],
            );
        }
        let at = now();
        Stmt::new(
            "UPDATE subject_attempts SET
               locked_until = CASE WHEN failures >= $3 THEN $4 ELSE locked_until END,
               window_start = CASE WHEN failures >= $3 THEN $5 ELSE window_start END,
               failures = CASE WHEN failures >= $3 THEN 0 ELSE failures END
             WHERE tenant_id = $1 AND subject_id = $2",
            vec![
                tenant_id.into(),
                subject_id.into(),
                tenant.attempt_limit.into(),
                (at + tenant.lockout).into(),
                at.into(),
            ],
        )
    }
}
