//! Subjects and their consent records. Revoking a consent deletes the
//! subject's templates: a person who withdraws consent expects their
//! biometric data gone, not merely unused.

use faceseal_protect::seal::{MAX_CONSENT_REF_LEN, MAX_SUBJECT_ID_LEN, Purpose};
use serde::{Deserialize, Serialize};

use super::{Caller, Service, identifier, now};
use crate::db::{Stmt, Value};
use crate::error::ApiError;
use crate::random;

/// The last second of the year 9999: the latest consent time accepted.
const MAX_TIME: i64 = 253_402_300_799;

/// Characters of a consent text version as sent, and bytes once canonical.
const MAX_TEXT_VERSION_CHARS: usize = 64;
const MAX_TEXT_VERSION_BYTES: usize = 256;

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
    #[serde(default, deserialize_with = "super::whole_number")]
    pub granted_at: Option<i64>,
    /// When it lapses, if ever (omit it for never; `null` is refused).
    #[serde(default, deserialize_with = "super::whole_number")]
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

/// The consent `$3` of subject `$2` for purpose `$4`, unrevoked and
/// unexpired at `$5`: one definition for the early check and the guard.
macro_rules! live_consent {
    () => {
        "WHERE tenant_id = $1 AND subject_id = $2 AND consent_ref = $3 AND purpose = $4
           AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $5)"
    };
}

fn live_consent_params(
    tenant_id: &str,
    subject_id: &str,
    consent_ref: &str,
    purpose: Purpose,
) -> Vec<Value> {
    vec![
        tenant_id.into(),
        subject_id.into(),
        consent_ref.into(),
        purpose_name(purpose).into(),
        now().into(),
    ]
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

/// Characters a subject id may have as sent (the OpenAPI `maxLength`); its
/// canonical form must also fit the envelope's [`MAX_SUBJECT_ID_LEN`] bytes.
pub const MAX_SUBJECT_ID_CHARS: usize = 64;

/// A subject id as stored: canonical, 1 to 64 characters, at most 256 bytes.
pub(crate) fn subject_id(raw: &str) -> Result<String, ApiError> {
    identifier(
        raw,
        MAX_SUBJECT_ID_CHARS,
        MAX_SUBJECT_ID_LEN,
        "subject_id: 1 to 64 characters (256 bytes), no control, bidi or invisible characters, not . or ..",
    )
}

/// Locks the subject's row inside a transaction (no engine-neutral `SELECT
/// ... FOR UPDATE`: an update that changes nothing takes the same lock), and
/// fails the transaction with `tag` if the subject does not exist.
pub(crate) fn subject_guard(tag: &'static str, tenant_id: &str, subject_id: &str) -> Stmt {
    Stmt::guard(
        tag,
        "UPDATE subjects SET created_at = created_at WHERE tenant_id = $1 AND subject_id = $2",
        vec![tenant_id.into(), subject_id.into()],
    )
}

impl Service {
    pub async fn create_subject(
        &self,
        caller: &Caller,
        subject_id: &str,
    ) -> Result<SubjectView, ApiError> {
        let subject_id = self::subject_id(subject_id)?;
        let at = now();
        self.audit_with(
            &caller.tenant_id,
            &caller.actor,
            "subject.create",
            Some(&subject_id),
            "ok",
            vec![Stmt::guard(
                "conflict",
                "INSERT INTO subjects (tenant_id, subject_id, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant_id, subject_id) DO NOTHING",
                vec![
                    caller.tenant_id.as_str().into(),
                    subject_id.as_str().into(),
                    at.into(),
                ],
            )],
        )
        .await?;
        Ok(SubjectView {
            subject_id,
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
        // Ids are stored canonical; one that cannot be is no subject's.
        let subject_id = self::subject_id(subject_id).map_err(|_| ApiError::NotFound)?;
        let rows = self
            .db
            .query(
                "SELECT s.created_at, t.template_id FROM subjects s
                 LEFT JOIN templates t ON t.tenant_id = s.tenant_id AND t.subject_id = s.subject_id
                 WHERE s.tenant_id = $1 AND s.subject_id = $2",
                vec![caller.tenant_id.as_str().into(), subject_id.as_str().into()],
            )
            .await?;
        let row = rows.first().ok_or(ApiError::NotFound)?;
        let template_id = match &row[1] {
            crate::db::Value::Null => None,
            v => Some(v.text()?),
        };
        Ok(SubjectView {
            subject_id,
            created_at: row[0].int()?,
            enrolled: template_id.is_some(),
            template_id,
        })
    }

    /// Hard delete: consent records, templates, attempt counters and the
    /// subject row with its audit entry in one transaction, then the engine
    /// is asked to purge the freed space. The subject's row is locked first,
    /// so an enrolment racing the deletion either commits before it (and its
    /// template is deleted) or finds no subject.
    pub async fn delete_subject(&self, caller: &Caller, subject_id: &str) -> Result<(), ApiError> {
        let subject_id = self::subject_id(subject_id).map_err(|_| ApiError::NotFound)?;
        let params =
            || -> Vec<Value> { vec![caller.tenant_id.as_str().into(), subject_id.as_str().into()] };
        let mut stmts = vec![subject_guard("not_found", &caller.tenant_id, &subject_id)];
        for sql in [
            "DELETE FROM consents WHERE tenant_id = $1 AND subject_id = $2",
            "DELETE FROM templates WHERE tenant_id = $1 AND subject_id = $2",
            "DELETE FROM subject_attempts WHERE tenant_id = $1 AND subject_id = $2",
            "DELETE FROM subjects WHERE tenant_id = $1 AND subject_id = $2",
        ] {
            stmts.push(Stmt::new(sql, params()));
        }
        self.audit_with(
            &caller.tenant_id,
            &caller.actor,
            "subject.delete",
            Some(&subject_id),
            "ok",
            stmts,
        )
        .await?;
        self.db.purge_deleted().await?;
        Ok(())
    }

    pub async fn grant_consent(
        &self,
        caller: &Caller,
        subject_id: &str,
        request: ConsentRequest,
    ) -> Result<ConsentRecord, ApiError> {
        let purpose = parse_purpose(&request.purpose)?;
        let text_version = identifier(
            &request.text_version,
            MAX_TEXT_VERSION_CHARS,
            MAX_TEXT_VERSION_BYTES,
            "text_version: 1 to 64 characters, no control, bidi or invisible characters",
        )?;
        let at = now();
        let granted_at = request.granted_at.unwrap_or(at);
        if [Some(granted_at), request.expires_at]
            .into_iter()
            .flatten()
            .any(|t| !(0..=MAX_TIME).contains(&t))
        {
            return Err(ApiError::BadRequest(
                "granted_at and expires_at: seconds since the epoch, 0 to 253402300799",
            ));
        }
        if granted_at > at + self.config.max_clock_skew as i64 {
            return Err(ApiError::BadRequest("granted_at lies in the future"));
        }
        if request.expires_at.is_some_and(|e| e <= granted_at) {
            return Err(ApiError::BadRequest("expires_at must follow granted_at"));
        }
        let subject_id = self::subject_id(subject_id).map_err(|_| ApiError::NotFound)?;
        let consent_ref = format!("consent-{}", random::id());
        debug_assert!(consent_ref.len() <= MAX_CONSENT_REF_LEN);
        self.audit_with(
            &caller.tenant_id,
            &caller.actor,
            "consent.grant",
            Some(&subject_id),
            "ok",
            vec![
                subject_guard("not_found", &caller.tenant_id, &subject_id),
                Stmt::new(
                    "INSERT INTO consents (tenant_id, consent_ref, subject_id, purpose,
                                           text_version, granted_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    vec![
                        caller.tenant_id.as_str().into(),
                        consent_ref.as_str().into(),
                        subject_id.as_str().into(),
                        purpose_name(purpose).into(),
                        text_version.as_str().into(),
                        granted_at.into(),
                        request.expires_at.into(),
                    ],
                ),
            ],
        )
        .await?;
        Ok(ConsentRecord {
            consent_ref,
            subject_id,
            purpose: purpose_name(purpose).into(),
            text_version,
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
        let subject_id = self.subject(caller, subject_id).await?.subject_id;
        let subject_id = subject_id.as_str();
        // A subject's consents have no count limit (revoked ones stay on
        // record): a bulk read, off the runtime's threads.
        let rows = self
            .db
            .query_bulk(
                "SELECT consent_ref, purpose, text_version, granted_at, expires_at, revoked_at
                 FROM consents WHERE tenant_id = $1 AND subject_id = $2
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

    /// Revokes a consent and deletes the subject's templates, with its audit
    /// entry, atomically. The consent's row is updated first, so an
    /// enrolment racing the revocation either commits before it (and its
    /// template is deleted here) or finds the consent revoked.
    pub async fn revoke_consent(
        &self,
        caller: &Caller,
        subject_id: &str,
        consent_ref: &str,
    ) -> Result<(), ApiError> {
        let subject_id = self::subject_id(subject_id).map_err(|_| ApiError::NotFound)?;
        let tenant: Value = caller.tenant_id.as_str().into();
        self.audit_with(
            &caller.tenant_id,
            &caller.actor,
            "consent.revoke",
            Some(&subject_id),
            "ok",
            vec![
                Stmt::guard(
                    "not_found",
                    "UPDATE consents SET revoked_at = $4
                     WHERE tenant_id = $1 AND subject_id = $2 AND consent_ref = $3
                       AND revoked_at IS NULL",
                    vec![
                        tenant.clone(),
                        subject_id.as_str().into(),
                        consent_ref.into(),
                        now().into(),
                    ],
                ),
                Stmt::new(
                    "DELETE FROM templates WHERE tenant_id = $1 AND subject_id = $2",
                    vec![tenant, subject_id.as_str().into()],
                ),
            ],
        )
        .await?;
        self.db.purge_deleted().await?;
        Ok(())
    }

    /// Inside an enrolment's transaction: locks the consent's row and fails
    /// the transaction with `no_valid_consent` unless it is a live consent
    /// of this subject for `purpose`.
    pub(crate) fn consent_guard(
        tenant_id: &str,
        subject_id: &str,
        consent_ref: &str,
        purpose: Purpose,
    ) -> Stmt {
        Stmt::guard(
            "no_valid_consent",
            concat!(
                "UPDATE consents SET granted_at = granted_at ",
                live_consent!()
            ),
            live_consent_params(tenant_id, subject_id, consent_ref, purpose),
        )
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
                concat!("SELECT 1 FROM consents ", live_consent!()),
                live_consent_params(tenant_id, subject_id, consent_ref, purpose),
            )
            .await?;
        Ok(!rows.is_empty())
    }
}
