//! Challenges, sealed enrolment and sealed verification: where envelopes are
//! opened and every bound field is checked before anything is stored or
//! compared.

use faceseal_core::seal::{self, ChallengeNonce, Purpose};
use faceseal_core::template::{ProtectedTemplate, compare};
use serde::Serialize;
use subtle::ConstantTimeEq;

use super::subjects::purpose_name;
use super::tenants::{KIND_DATA, SINGLE_KEY_ID, TenantRow};
use super::{Caller, Service, now};
use crate::at_rest::{self, TemplateSlot};
use crate::db::{Stmt, Value};
use crate::error::{ApiError, Refusal};
use crate::random;
use crate::sealed::{self, Expectation, OpenedEnvelope};

#[derive(Debug, Clone, Serialize)]
pub struct Challenge {
    /// 32 bytes, hex: bind it into the envelope as the challenge nonce.
    pub nonce: String,
    pub purpose: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Enrolled {
    pub subject_id: String,
    pub template_id: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    pub subject_id: String,
    pub matched: bool,
    pub score: f64,
    pub threshold: f64,
}

impl Service {
    /// Issues a single-use challenge for `purpose`.
    pub async fn issue_challenge(
        &self,
        caller: &Caller,
        purpose: Purpose,
    ) -> Result<Challenge, ApiError> {
        let nonce = ChallengeNonce::generate(&mut seal::os_rng());
        let at = now();
        let expires_at = at + self.config.challenge_ttl as i64;
        self.db
            .batch(vec![
                // Expired challenges are useless; clear them as we go.
                Stmt::new(
                    "DELETE FROM challenges WHERE tenant_id = ?1 AND expires_at < ?2",
                    vec![caller.tenant_id.as_str().into(), at.into()],
                ),
                Stmt::new(
                    "INSERT INTO challenges (tenant_id, nonce, purpose, issued_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    vec![
                        caller.tenant_id.as_str().into(),
                        nonce.as_bytes().as_slice().into(),
                        purpose_name(purpose).into(),
                        at.into(),
                        expires_at.into(),
                    ],
                ),
            ])
            .await?;
        Ok(Challenge {
            nonce: hex::encode(nonce.as_bytes()),
            purpose: purpose_name(purpose).into(),
            expires_at,
        })
    }

    /// Consumes the challenge bound in an envelope: single use, unexpired,
    /// this tenant's, this purpose; the envelope not older than it.
    async fn consume_challenge(
        &self,
        tenant_id: &str,
        opened: &OpenedEnvelope,
    ) -> Result<(), ApiError> {
        let rows = self
            .db
            .query(
                "DELETE FROM challenges WHERE tenant_id = ?1 AND nonce = ?2
                 RETURNING purpose, issued_at, expires_at",
                vec![
                    tenant_id.into(),
                    opened.context.challenge.as_bytes().as_slice().into(),
                ],
            )
            .await?;
        let row = rows.first().ok_or(Refusal::InvalidChallenge)?;
        let at = now();
        if row[0].text()? != purpose_name(opened.context.purpose) || row[2].int()? <= at {
            return Err(Refusal::InvalidChallenge.into());
        }
        let skew = self.config.max_clock_skew as i64;
        let created = i64::try_from(opened.context.created_at).unwrap_or(i64::MAX);
        if created < row[1].int()? - skew {
            return Err(Refusal::OutsideTimeWindow.into());
        }
        Ok(())
    }

    /// Opens the envelope and runs every check common to both routes.
    async fn admit(
        &self,
        caller: &Caller,
        envelope: &[u8],
        purpose: Purpose,
    ) -> Result<(OpenedEnvelope, TenantRow), ApiError> {
        let header = seal::parse(envelope).map_err(|_| {
            if envelope.len() > seal::MAX_ENVELOPE_LEN {
                Refusal::EnvelopeTooLarge
            } else {
                Refusal::MalformedEnvelope
            }
        })?;
        let key = self.sealing_key(&caller.tenant_id, &header.key_id).await?;
        let opened = sealed::open_envelope(
            envelope,
            |_| key,
            &Expectation {
                tenant_id: &caller.tenant_id,
                purpose,
                now: now().max(0) as u64,
                max_clock_skew: self.config.max_clock_skew,
            },
        )?;
        self.consume_challenge(&caller.tenant_id, &opened).await?;
        let ctx = &opened.context;
        match self.subject(caller, &ctx.subject_id).await {
            Ok(_) => {}
            Err(ApiError::NotFound) => return Err(Refusal::UnknownSubject.into()),
            // A storage failure is not a refusal of the subject.
            Err(e) => return Err(e),
        }
        if !self
            .consent_is_valid(
                &caller.tenant_id,
                &ctx.subject_id,
                &ctx.consent_ref,
                purpose,
            )
            .await?
        {
            return Err(Refusal::NoValidConsent.into());
        }
        let tenant = self.tenant_row(&caller.tenant_id).await?;
        if f64::from(ctx.liveness_score) < tenant.liveness_threshold {
            return Err(Refusal::LivenessTooLow.into());
        }
        if f64::from(ctx.quality_score) < tenant.quality_threshold {
            return Err(Refusal::QualityTooLow.into());
        }
        if opened.template.params() != tenant.params
            || opened.template.key_version() != tenant.key_version
        {
            return Err(Refusal::TemplateMismatch.into());
        }
        Ok((opened, tenant))
    }

    async fn data_key(&self, tenant_id: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, ApiError> {
        self.tenant_key(tenant_id, KIND_DATA, SINGLE_KEY_ID)
            .await?
            .ok_or(ApiError::Integrity)
    }

    /// Stores the template of a sealed enrolment envelope, re-encrypted under
    /// the tenant's data key; replaces the subject's previous template. The
    /// template and its audit entry commit together.
    pub async fn enrol(&self, caller: &Caller, envelope: &[u8]) -> Result<Enrolled, ApiError> {
        let admitted = self.admit(caller, envelope, Purpose::Enrol).await;
        let (opened, _) = match admitted {
            Ok(ok) => ok,
            Err(e) => return Err(self.audit_refusal(caller, "enrol", envelope, e).await),
        };
        let ctx = &opened.context;
        let template_id = random::id();
        let data_key = self.data_key(&caller.tenant_id).await?;
        let slot = TemplateSlot {
            tenant_id: &caller.tenant_id,
            subject_id: &ctx.subject_id,
            template_id: &template_id,
        };
        let (nonce, ciphertext) = at_rest::encrypt(&data_key, &slot, &opened.template.to_bytes())
            .map_err(|_| ApiError::Integrity)?;
        let store = Stmt::new(
            "INSERT INTO templates (tenant_id, subject_id, template_id, key_version, nonce,
                                    ciphertext, consent_ref, created_at, capture_digest)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (tenant_id, subject_id) DO UPDATE SET
               template_id = excluded.template_id, key_version = excluded.key_version,
               nonce = excluded.nonce, ciphertext = excluded.ciphertext,
               consent_ref = excluded.consent_ref, created_at = excluded.created_at,
               capture_digest = excluded.capture_digest",
            vec![
                caller.tenant_id.as_str().into(),
                ctx.subject_id.as_str().into(),
                template_id.as_str().into(),
                i64::from(opened.template.key_version()).into(),
                nonce.as_slice().into(),
                ciphertext.into(),
                ctx.consent_ref.as_str().into(),
                now().into(),
                ctx.capture_digest.as_slice().into(),
            ],
        );
        self.audit_with(
            &caller.tenant_id,
            &caller.actor,
            "enrol",
            Some(&ctx.subject_id),
            "ok",
            vec![store],
        )
        .await?;
        Ok(Enrolled {
            subject_id: ctx.subject_id.clone(),
            template_id,
        })
    }

    /// Compares a sealed probe with the subject's stored template in the
    /// protected domain. Both templates live only in wiped-on-drop memory.
    pub async fn verify(&self, caller: &Caller, envelope: &[u8]) -> Result<Verified, ApiError> {
        let result = self.verify_admitted(caller, envelope).await;
        match result {
            Ok(v) => {
                let outcome = if v.matched { "match" } else { "no-match" };
                self.audit(
                    &caller.tenant_id,
                    &caller.actor,
                    "verify",
                    Some(&v.subject_id),
                    outcome,
                )
                .await?;
                Ok(v)
            }
            Err(e) => Err(self.audit_refusal(caller, "verify", envelope, e).await),
        }
    }

    async fn verify_admitted(
        &self,
        caller: &Caller,
        envelope: &[u8],
    ) -> Result<Verified, ApiError> {
        let (opened, tenant) = self.admit(caller, envelope, Purpose::Verify).await?;
        let subject_id = opened.context.subject_id.clone();
        let rows = self
            .db
            .query(
                "SELECT template_id, nonce, ciphertext, capture_digest FROM templates
                 WHERE tenant_id = ?1 AND subject_id = ?2",
                vec![caller.tenant_id.as_str().into(), subject_id.as_str().into()],
            )
            .await?;
        let row = rows.first().ok_or(Refusal::NotEnrolled)?;
        // A probe made from the very frames of the enrolment is a replay of
        // that capture, not a new presentation of the face.
        if bool::from(
            row[3]
                .blob()?
                .as_slice()
                .ct_eq(&opened.context.capture_digest),
        ) {
            return Err(Refusal::CaptureReplayed.into());
        }
        let template_id = row[0].text()?;
        let data_key = self.data_key(&caller.tenant_id).await?;
        let slot = TemplateSlot {
            tenant_id: &caller.tenant_id,
            subject_id: &subject_id,
            template_id: &template_id,
        };
        let plain = at_rest::decrypt(&data_key, &slot, &row[1].blob()?, &row[2].blob()?)
            .map_err(|_| ApiError::Integrity)?;
        let reference = ProtectedTemplate::from_bytes(&plain).map_err(|_| ApiError::Integrity)?;
        drop(plain);
        let score = compare(&reference, &opened.template).map_err(|_| Refusal::TemplateMismatch)?;
        drop(reference);
        drop(opened);
        Ok(Verified {
            subject_id,
            matched: score.value() >= tenant.match_threshold,
            score: score.value(),
            threshold: tenant.match_threshold,
        })
    }

    /// Records a refused biometric request (the subject as the clear header
    /// names it, when it parses) and hands the error back.
    async fn audit_refusal(
        &self,
        caller: &Caller,
        operation: &str,
        envelope: &[u8],
        error: ApiError,
    ) -> ApiError {
        let ApiError::Refused(refusal) = &error else {
            return error;
        };
        let subject = seal::parse(envelope).ok().map(|h| h.context.subject_id);
        let outcome = format!("refused:{}", refusal.code());
        if let Err(e) = self
            .audit(
                &caller.tenant_id,
                &caller.actor,
                operation,
                subject.as_deref(),
                &outcome,
            )
            .await
        {
            return e;
        }
        error
    }

    /// Number of stored templates of a tenant (for operators and tests).
    pub async fn template_count(&self, tenant_id: &str) -> Result<i64, ApiError> {
        let rows = self
            .db
            .query(
                "SELECT COUNT(*) FROM templates WHERE tenant_id = ?1",
                vec![Value::from(tenant_id)],
            )
            .await?;
        Ok(rows.first().map_or(Ok(0), |r| r[0].int())?)
    }
}
