//! Subjects and their consent records. Revoking a consent deletes the
//! subject's templates: a person who withdraws consent expects their
//! biometric data gone, not merely unused.

use faceseal_core::seal::{MAX_CONSENT_REF_LEN, MAX_SUBJECT_ID_LEN, Purpose};
use serde::{Deserialize, Serialize};

use super::{Caller, Service, now, valid_identifier};
use crate::db::{DbError, Stmt, execute};
use crate::error::ApiError;
use crate::random;

const MAX_TEXT_VERSION: usize = 64;

#[derive(Debug, Clone, Serialize)]
pub struct SubjectView {
    pub subject_id: String,
    pub created_at: i64,
    pub enrolled: bool,
    pub template_id: Option<String>,
}

/// A consent grant as the tenant's system of record sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    /// `enrol` or `verify`.
    pub purpose: String,
    /// The version of the consent text the subject agreed to.
    pub text_version: String,
    /// When consent was given (seconds since the epoch); defaults to now.
    pub granted_at: Option<i64>,
    /// When it lapses, if ever.
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsentRecord {
    /// The reference devices bind into their envelopes.
    pub consent_ref: String,
    pub subject_id: String,
    pub purpose: String,
    pub text_version: String,
    pub granted_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub(crate) fn purpose_name(p: Purpose) -> &'static str {
    match p {
        Purpose::Enrol => "enrol",
        Purpose::Verify => "verify",
        _ => "unknown",
    }
}

fn parse_purpose(s: &str) -> Result<Purpose, ApiError> {
    match s {
        "enrol" => Ok(Purpose::Enrol),
        "verify" => Ok(Purpose::Verify),
        _ => Err(ApiError::BadRequest("purpose is enrol or verify")),
    }
}

pub(crate) fn check_subject_id(subject_id: &str) -> Result<(), ApiError> {
    if valid_identifier(subject_id, MAX_SUBJECT_ID_LEN) {
        Ok(())
    } else {
        Err(ApiError::BadRequest(
            "subject_id: 1 to 256 bytes, no control characters",
        ))
    }
}

impl Service {
    pub async fn create_subject(
        &self,
        caller: &Caller,
        subject_id: &str,
    ) -> Result<SubjectView, ApiError> {
        check_subject_id(subject_id)?;
        let at = now();
        match execute(
            self.db.as_ref(),
            "INSERT INTO subjects (tenant_id, subject_id, created_at) VALUES (?1, ?2, ?3)",
            vec![
                caller.tenant_id.as_str().into(),
                subject_id.into(),
                at.into(),
            ],
        )
        .await
        {
            Ok(_) => {}
            Err(DbError::Conflict) => return Err(ApiError::Conflict),
            Err(e) => return Err(e.into()),
        }
        self.audit(
            &caller.tenant_id,
            &caller.actor,
            "subject.create",
            Some(subject_id),
            "ok",
        )
        .await?;
        Ok(SubjectView {
            subject_id: subject_id.to_owned(),
            created_at: at,
            enrolled: false,
            template_id: None,
        })
    }

    pub async fn subject(
        &self,
        caller: &Caller,
        subject_id: &str,
    ) -> Result<SubjectView, ApiError> {
        let rows = self
            .db
            .query(
                "SELECT s.created_at, t.template_id FROM subjects s
                 LEFT JOIN templates t ON t.tenant_id = s.tenant_id AND t.subject_id = s.subject_id
                 WHERE s.tenant_id = ?1 AND s.subject_id = ?2",
                vec![caller.tenant_id.as_str().into(), subject_id.into()],
            )
            .await?;
        let row = rows.first().ok_or(ApiError::NotFound)?;
        let template_id = match &row[1] {
            crate::db::Value::Null => None,
            v => Some(v.text()?),
        };
        Ok(SubjectView {
            subject_id: subject_id.to_owned(),
            created_at: row[0].int()?,
            enrolled: template_id.is_some(),
            template_id,
        })
    }

    /// Hard delete: templates, consent records and the subject row, then the
    /// engine is asked to purge the freed space.
    pub async fn delete_subject(&self, caller: &Caller, subject_id: &str) -> Result<(), ApiError> {
        let tenant: crate::db::Value = caller.tenant_id.as_str().into();
        let subject: crate::db::Value = subject_id.into();
        let counts = self
            .db
            .batch(vec![
                Stmt::new(
                    "DELETE FROM templates WHERE tenant_id = ?1 AND subject_id = ?2",
                    vec![tenant.clone(), subject.clone()],
                ),
                Stmt::new(
                    "DELETE FROM consents WHERE tenant_id = ?1 AND subject_id = ?2",
                    vec![tenant.clone(), subject.clone()],
                ),
                Stmt::new(
                    "DELETE FROM subjects WHERE tenant_id = ?1 AND subject_id = ?2",
                    vec![tenant, subject],
                ),
            ])
            .await?;
        if counts[2] == 0 {
            return Err(ApiError::NotFound);
        }
        self.db.purge_deleted().await?;
        self.audit(
            &caller.tenant_id,
            &caller.actor,
            "subject.delete",
            Some(subject_id),
            "ok",
        )
        .await
    }

    pub async fn grant_consent(
        &self,
        caller: &Caller,
        subject_id: &str,
        request: ConsentRequest,
    ) -> Result<ConsentRecord, ApiError> {
        let purpose = parse_purpose(&request.purpose)?;
        if !valid_identifier(&request.text_version, MAX_TEXT_VERSION) {
            return Err(ApiError::BadRequest("text_version: 1 to 64 bytes"));
        }
        let at = now();
        let granted_at = request.granted_at.unwrap_or(at);
        if granted_at > at + self.config.max_clock_skew as i64 {
            return Err(ApiError::BadRequest("granted_at lies in the future"));
        }
        if request.expires_at.is_some_and(|e| e <= granted_at) {
            return Err(ApiError::BadRequest("expires_at must follow granted_at"));
        }
        self.subject(caller, subject_id).await?;
        let consent_ref = format!("consent-{}", random::id());
        debug_assert!(consent_ref.len() <= MAX_CONSENT_REF_LEN);
        execute(
            self.db.as_ref(),
            "INSERT INTO consents (tenant_id, consent_ref, subject_id, purpose, text_version,
                                   granted_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            vec![
                caller.tenant_id.as_str().into(),
                consent_ref.as_str().into(),
                subject_id.into(),
                purpose_name(purpose).into(),
                request.text_version.as_str().into(),
                granted_at.into(),
                request.expires_at.into(),
            ],
        )
        .await?;
        self.audit(
            &caller.tenant_id,
            &caller.actor,
            "consent.grant",
            Some(subject_id),
            "ok",
        )
        .await?;
        Ok(ConsentRecord {
            consent_ref,
            subject_id: subject_id.to_owned(),
            purpose: purpose_name(purpose).into(),
            text_version: request.text_version,
            granted_at,
            expires_at: request.expires_at,
            revoked_at: None,
        })
    }

    pub async fn list_consents(
        &self,
        caller: &Caller,
        subject_id: &str,
    ) -> Result<Vec<ConsentRecord>, ApiError> {
        self.subject(caller, subject_id).await?;
        let rows = self
            .db
            .query(
                "SELECT consent_ref, purpose, text_version, granted_at, expires_at, revoked_at
                 FROM consents WHERE tenant_id = ?1 AND subject_id = ?2
                 ORDER BY granted_at, consent_ref",
                vec![caller.tenant_id.as_str().into(), subject_id.into()],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ConsentRecord {
                    consent_ref: r[0].text()?,
                    subject_id: subject_id.to_owned(),
                    purpose: r[1].text()?,
                    text_version: r[2].text()?,
                    granted_at: r[3].int()?,
                    expires_at: r[4].opt_int()?,
                    revoked_at: r[5].opt_int()?,
                })
            })
            .collect()
    }

    /// Revokes a consent and deletes the subject's templates, atomically.
    pub async fn revoke_consent(
        &self,
        caller: &Caller,
        subject_id: &str,
        consent_ref: &str,
    ) -> Result<(), ApiError> {
        let tenant: crate::db::Value = caller.tenant_id.as_str().into();
        let counts = self
            .db
            .batch(vec![
                Stmt::new(
                    "UPDATE consents SET revoked_at = ?4
                     WHERE tenant_id = ?1 AND subject_id = ?2 AND consent_ref = ?3
                       AND revoked_at IS NULL",
                    vec![
                        tenant.clone(),
                        subject_id.into(),
                        consent_ref.into(),
                        now().into(),
                    ],
                ),
                Stmt::new(
                    "DELETE FROM templates WHERE tenant_id = ?1 AND subject_id = ?2
                     AND EXISTS (SELECT 1 FROM consents WHERE tenant_id = ?1 AND subject_id = ?2
                                 AND consent_ref = ?3)",
                    vec![tenant, subject_id.into(), consent_ref.into()],
                ),
            ])
            .await?;
        if counts[0] == 0 {
            return Err(ApiError::NotFound);
        }
        self.db.purge_deleted().await?;
        self.audit(
            &caller.tenant_id,
            &caller.actor,
            "consent.revoke",
            Some(subject_id),
            "ok",
        )
        .await
    }

    /// Whether `consent_ref` is a live consent of this subject for `purpose`.
    pub(crate) async fn consent_is_valid(
        &self,
        tenant_id: &str,
        subject_id: &str,
        consent_ref: &str,
        purpose: Purpose,
    ) -> Result<bool, ApiError> {
        let rows = self
            .db
            .query(
                "SELECT 1 FROM consents
                 WHERE tenant_id = ?1 AND subject_id = ?2 AND consent_ref = ?3 AND purpose = ?4
                   AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?5)",
                vec![
                    tenant_id.into(),
                    subject_id.into(),
                    consent_ref.into(),
                    purpose_name(purpose).into(),
                    now().into(),
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }
}
