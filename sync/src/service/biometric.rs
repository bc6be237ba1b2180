//! Challenges, sealed enrolment and sealed verification: where envelopes are
//! opened and every bound field is checked before anything is stored or
//! compared. Verification answers a decision, never a score: a score is a
//! gradient an attacker climbs to forge a template.

use faceseal_protect::seal::{self, ChallengeNonce, Purpose};
use faceseal_protect::template::{ProtectedTemplate, compare};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use super::subjects::{purpose_name, subject_guard};
use super::tenants::{KIND_DATA, RevealedSecret, SINGLE_KEY_ID, TenantRow};
use super::{Caller, Service, now};
use crate::at_rest::{self, TemplateSlot};
use crate::db::{Stmt, Value};
use crate::error::{ApiError, Refusal};
use crate::random;
use crate::sealed::{self, Expectation, OpenedEnvelope};

/// What the tenant's backend asks for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    /// `enrol` or `verify`.
    pub purpose: String,
    /// The subject the capture is for. With it, the answer carries a
    /// capture token for the device, and only an envelope for this subject
    /// answers the challenge.
    #[serde(default, deserialize_with = "super::present")]
    pub subject_id: Option<String>,
    /// Enrolment only: the enrolment replaces the subject's template.
    #[serde(default)]
    pub replace: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Challenge {
    /// Reads the decision: `GET /v1/challenges/{challenge_id}`.
    pub challenge_id: String,
    /// 32 bytes, hex: bind it into the envelope as the challenge nonce.
    pub nonce: String,
    pub purpose: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_id: Option<String>,
    pub replace: bool,
    pub expires_at: i64,
    /// For the device, once: `Authorization: Capture <token>` on the
    /// enrolment or verification of this challenge, and nothing else.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture_token: Option<RevealedSecret>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Enrolled {
    pub challenge_id: String,
    pub subject_id: String,
    pub template_id: String,
    /// Whether an earlier template was replaced.
    pub replaced: bool,
}

/// A decision and the policy that made it; never the score.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    pub challenge_id: String,
    pub subject_id: String,
    pub matched: bool,
    /// The tenant's match threshold the decision applied.
    pub threshold: f64,
}

/// What a device answering with a capture token is told: that its envelope
/// was taken and decided. The decision goes to the tenant's backend
/// (`GET /v1/challenges/{id}`), so a device can neither learn it from the
/// service nor forge it.
#[derive(Debug, Clone, Serialize)]
pub struct EnvelopeReply {
    pub challenge_id: String,
    pub status: &'static str,
}

/// A challenge as its tenant's backend reads it.
#[derive(Debug, Clone, Serialize)]
pub struct ChallengeStatus {
    pub challenge_id: String,
    pub purpose: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_id: Option<String>,
    pub replace: bool,
    /// `pending`, `expired`, `in_progress` (taken, not yet decided) or
    /// `decided`.
    pub status: &'static str,
    /// Once decided: `enrolled`, `replaced`, `match`, `no-match` or
    /// `refused:<code>`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Once a verification is decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<bool>,
    pub expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<i64>,
}

/// A challenge taken by an envelope.
pub(crate) struct TakenChallenge {
    pub challenge_id: String,
    pub replace: bool,
}

/// An envelope that passed every check that needs no lock.
struct Admitted {
    opened: OpenedEnvelope,
    tenant: TenantRow,
}

impl Service {
    /// Issues a single-use challenge, with a capture token when it names
    /// its subject.
    pub async fn issue_challenge(
        &self,
        caller: &Caller,
        request: ChallengeRequest,
    ) -> Result<Challenge, ApiError> {
        let purpose = match request.purpose.as_str() {
            "enrol" => Purpose::Enrol,
            "verify" => Purpose::Verify,
            _ => return Err(ApiError::BadRequest("purpose is enrol or verify")),
        };
        if request.replace && purpose != Purpose::Enrol {
            return Err(ApiError::BadRequest("replace applies to enrolment only"));
        }
        let subject_id = match &request.subject_id {
            Some(raw) => Some(super::subjects::subject_id(raw)?),
            None => None,
        };
        let nonce = ChallengeNonce::generate(&mut seal::os_rng());
        let challenge_id = random::id();
        let (capture_token, token_hash) = match &subject_id {
            Some(_) => {
                let (token, hash) = super::capture::new_token(&challenge_id);
                (Some(token), hash.to_vec())
            }
            None => (None, Vec::new()),
        };
        let at = now();
        let expires_at = at + self.config.challenge_ttl as i64;
        // Deferred: a challenge a power loss forgets is refused as unknown,
        // and nothing was decided with it; handing one out need not wait
        // for the disk (unless it shares a group with a durable change).
        self.db
            .batch_deferred(vec![
                // Past their retention, challenges and their decisions go.
                Stmt::new(
                    PURGE_CHALLENGES,
                    vec![
                        caller.tenant_id.as_str().into(),
                        (at - self.config.challenge_retention as i64).into(),
                    ],
                ),
                Stmt::new(
                    "INSERT INTO challenges (tenant_id, challenge_id, nonce, purpose,
                       replace_template, subject_id, token_hash, issued_at, expires_at, outcome)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, '')",
                    vec![
                        caller.tenant_id.as_str().into(),
                        challenge_id.as_str().into(),
                        nonce.as_bytes().as_slice().into(),
                        purpose_name(purpose).into(),
                        i64::from(request.replace).into(),
                        subject_id.clone().unwrap_or_default().into(),
                        token_hash.into(),
                        at.into(),
                        expires_at.into(),
                    ],
                ),
            ])
            .await?;
        Ok(Challenge {
            challenge_id,
            nonce: hex::encode(nonce.as_bytes()),
            purpose: purpose_name(purpose).into(),
            subject_id,
            replace: request.replace,
            expires_at,
            capture_token,
        })
    }

    /// A challenge of the caller's tenant and what became of it.
    pub async fn challenge_status(
        &self,
        caller: &Caller,
        challenge_id: &str,
    ) -> Result<ChallengeStatus, ApiError> {
        let rows = self
            .db
            .query(
                "SELECT purpose, subject_id, replace_template, expires_at, used_at, outcome,
                        decided_at
                 FROM challenges WHERE tenant_id = $1 AND challenge_id = $2",
                vec![caller.tenant_id.as_str().into(), challenge_id.into()],
            )
            .await?;
        let r = rows.first().ok_or(ApiError::NotFound)?;
        let expires_at = r[3].int()?;
        let outcome = r[5].text()?;
        let status = match (r[4].opt_int()?, outcome.is_empty()) {
            (None, _) if expires_at <= now() => "expired",
            (None, _) => "pending",
            (Some(_), true) => "in_progress",
            (Some(_), false) => "decided",
        };
        let subject_id = r[1].text()?;
        Ok(ChallengeStatus {
            challenge_id: challenge_id.to_owned(),
            purpose: r[0].text()?,
            subject_id: (!subject_id.is_empty()).then_some(subject_id),
            replace: r[2].int()? != 0,
            status,
            matched: match outcome.as_str() {
                "match" => Some(true),
                "no-match" | "no-match;locked" => Some(false),
                _ => None,
            },
            outcome: (!outcome.is_empty()).then_some(outcome),
            expires_at,
            decided_at: r[6].opt_int()?,
        })
    }

    /// Takes the challenge bound in an envelope: single use, unexpired,
    /// this tenant's, this purpose, this subject if it names one, the
    /// capture token's own if the caller holds one; the envelope not older
    /// than it.
    async fn take_challenge(
        &self,
        caller: &Caller,
        opened: &OpenedEnvelope,
    ) -> Result<TakenChallenge, (Option<String>, ApiError)> {
        let at = now();
        // Deferred: nothing is answered on the strength of the take alone.
        // Every answer about this challenge (its decision, a refusal of it)
        // commits durably first, and that commit makes the take durable
        // too. Only a request that ends in an internal error may leave its
        // take deferred: after a power loss that challenge is unused again,
        // and nothing was decided with it.
        let rows = self
            .db
            .write_returning_deferred(
                "UPDATE challenges SET used_at = $3
                 WHERE tenant_id = $1 AND nonce = $2 AND used_at IS NULL
                   AND (CAST($4 AS TEXT) = '' OR challenge_id = $4)
                 RETURNING challenge_id, purpose, issued_at, expires_at, subject_id,
                           replace_template",
                vec![
                    caller.tenant_id.as_str().into(),
                    opened.context.challenge.as_bytes().as_slice().into(),
                    at.into(),
                    caller.capture.clone().unwrap_or_default().into(),
                ],
            )
            .await
            .map_err(|e| (None, e.into()))?;
        let row = rows
            .first()
            .ok_or((None, ApiError::from(Refusal::InvalidChallenge)))?;
        let challenge_id = row[0].text().map_err(|e| (None, e.into()))?;
        // From here on the challenge is used up: a refusal is recorded as
        // its decision (durably, which makes the take durable too).
        let check = || -> Result<bool, ApiError> {
            let subject = row[4].text()?;
            if row[1].text()? != purpose_name(opened.context.purpose)
                || row[3].int()? <= at
                || (!subject.is_empty() && subject != opened.context.subject_id)
            {
                return Err(Refusal::InvalidChallenge.into());
            }
            let skew = self.config.max_clock_skew as i64;
            let created = i64::try_from(opened.context.created_at).unwrap_or(i64::MAX);
            if created < row[2].int()? - skew {
                return Err(Refusal::OutsideTimeWindow.into());
            }
            Ok(row[5].int()? != 0)
        };
        match check() {
            Ok(replace) => Ok(TakenChallenge {
                challenge_id,
                replace,
            }),
            Err(e) => Err((Some(challenge_id), e)),
        }
    }

    /// Opens the envelope and runs the checks that need only the envelope,
    /// the tenant's keys and the clock.
    async fn open_for(
        &self,
        caller: &Caller,
        envelope: &[u8],
        purpose: Purpose,
    ) -> Result<OpenedEnvelope, ApiError> {
        let header = seal::parse(envelope).map_err(|_| {
            if envelope.len() > seal::MAX_ENVELOPE_LEN {
                Refusal::EnvelopeTooLarge
            } else {
                Refusal::MalformedEnvelope
            }
        })?;
        let key = self.sealing_key(&caller.tenant_id, &header.key_id).await?;
        Ok(sealed::open_envelope(
            envelope,
            |_| key,
            &Expectation {
                tenant_id: &caller.tenant_id,
                purpose,
                now: now().max(0) as u64,
                max_clock_skew: self.config.max_clock_skew,
            },
        )?)
    }

    /// The checks after the challenge is taken. Subject and consent are
    /// checked here for a clear early answer, and again, under lock, in the
    /// transaction that stores anything.
    async fn admit(
        &self,
        caller: &Caller,
        opened: OpenedEnvelope,
        purpose: Purpose,
    ) -> Result<Admitted, ApiError> {
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
        if ctx.liveness_level < tenant.liveness_level {
            return Err(Refusal::LivenessLevelTooLow.into());
        }
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
        Ok(Admitted { opened, tenant })
    }

    async fn data_key(&self, tenant_id: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, ApiError> {
        self.required_key(tenant_id, KIND_DATA, SINGLE_KEY_ID).await
    }

    /// Opens the envelope and takes its challenge; then `decide` runs the
    /// rest. Every refusal is audited (sampled) and, once the challenge is
    /// taken, recorded as its decision.
    async fn answer<T, F, Fut>(
        &self,
        caller: &Caller,
        envelope: &[u8],
        purpose: Purpose,
        decide: F,
    ) -> Result<T, ApiError>
    where
        F: FnOnce(OpenedEnvelope, TakenChallenge) -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiError>>,
    {
        let operation = purpose_name(purpose);
        let opened = match self.open_for(caller, envelope, purpose).await {
            Ok(o) => o,
            Err(e) => return Err(self.refused(caller, operation, envelope, None, e).await),
        };
        let taken = match self.take_challenge(caller, &opened).await {
            Ok(t) => t,
            Err((id, e)) => {
                return Err(self
                    .refused(caller, operation, envelope, id.as_deref(), e)
                    .await);
            }
        };
        let challenge_id = taken.challenge_id.clone();
        match decide(opened, taken).await {
            Ok(v) => Ok(v),
            Err(e) => Err(self
                .refused(caller, operation, envelope, Some(&challenge_id), e)
                .await),
        }
    }

    /// Stores the template of a sealed enrolment envelope, re-encrypted under
    /// the tenant's data key. A subject has one template: a plain enrolment
    /// of an enrolled subject is refused (`already_enrolled`), and only a
    /// challenge issued with `replace` replaces it. The subject and consent
    /// checks, the template, the challenge's decision and the audit entry
    /// commit in one transaction.
    pub async fn enrol(&self, caller: &Caller, envelope: &[u8]) -> Result<Enrolled, ApiError> {
        self.answer(
            caller,
            envelope,
            Purpose::Enrol,
            |opened, taken| async move {
                let Admitted { opened, .. } = self.admit(caller, opened, Purpose::Enrol).await?;
                let ctx = &opened.context;
                let template_id = random::id();
                let data_key = self.data_key(&caller.tenant_id).await?;
                let slot = TemplateSlot {
                    tenant_id: &caller.tenant_id,
                    subject_id: &ctx.subject_id,
                    template_id: &template_id,
                };
                let (nonce, ciphertext) =
                    at_rest::encrypt(&data_key, &slot, &opened.template.to_bytes())
                        .map_err(|_| ApiError::Integrity)?;
                let params = vec![
                    caller.tenant_id.as_str().into(),
                    ctx.subject_id.as_str().into(),
                    template_id.as_str().into(),
                    i64::from(opened.template.key_version()).into(),
                    nonce.as_slice().into(),
                    ciphertext.into(),
                    ctx.consent_ref.as_str().into(),
                    now().into(),
                    ctx.capture_digest.as_slice().into(),
                ];
                let store = if taken.replace {
                    Stmt::guard(
                        "not_enrolled",
                        "UPDATE templates SET template_id = $3, key_version = $4, nonce = $5,
                       ciphertext = $6, consent_ref = $7, created_at = $8, capture_digest = $9
                     WHERE tenant_id = $1 AND subject_id = $2",
                        params,
                    )
                } else {
                    Stmt::guard(
                        "already_enrolled",
                        "INSERT INTO templates (tenant_id, subject_id, template_id, key_version,
                       nonce, ciphertext, consent_ref, created_at, capture_digest)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                     ON CONFLICT (tenant_id, subject_id) DO NOTHING",
                        params,
                    )
                };
                let (operation, outcome) = if taken.replace {
                    ("enrol.replace", "replaced")
                } else {
                    ("enrol", "enrolled")
                };
                self.audit_with(
                    &caller.tenant_id,
                    &caller.actor,
                    operation,
                    Some(&ctx.subject_id),
                    "ok",
                    vec![
                        subject_guard("unknown_subject", &caller.tenant_id, &ctx.subject_id),
                        Service::consent_guard(
                            &caller.tenant_id,
                            &ctx.subject_id,
                            &ctx.consent_ref,
                            Purpose::Enrol,
                        ),
                        store,
                        decision(&caller.tenant_id, &taken.challenge_id, outcome),
                    ],
                )
                .await?;
                Ok(Enrolled {
                    challenge_id: taken.challenge_id,
                    subject_id: ctx.subject_id.clone(),
                    template_id,
                    replaced: taken.replace,
                })
            },
        )
        .await
    }

    /// Compares a sealed probe with the subject's stored template in the
    /// protected domain, within the subject's attempt budget. Both
    /// templates live only in wiped-on-drop memory.
    pub async fn verify(&self, caller: &Caller, envelope: &[u8]) -> Result<Verified, ApiError> {
        self.answer(
            caller,
            envelope,
            Purpose::Verify,
            |opened, taken| async move {
                let Admitted { opened, tenant } =
                    self.admit(caller, opened, Purpose::Verify).await?;
                let subject_id = opened.context.subject_id.clone();
                let reference = self
                    .reference_template(caller, &subject_id, &opened)
                    .await?;
                let charged = self
                    .charge_attempt(&caller.tenant_id, &subject_id, &tenant)
                    .await?;
                let score =
                    compare(&reference, &opened.template).map_err(|_| Refusal::TemplateMismatch)?;
                drop(reference);
                drop(opened);
                let matched = score.value() >= tenant.match_threshold;
                let locks = !matched && charged >= tenant.attempt_limit;
                let outcome = match (matched, locks) {
                    (true, _) => "match",
                    (false, false) => "no-match",
                    (false, true) => "no-match;locked",
                };
                self.audit_with(
                    &caller.tenant_id,
                    &caller.actor,
                    "verify",
                    Some(&subject_id),
                    outcome,
                    vec![
                        self.settle_attempt(&caller.tenant_id, &subject_id, matched, &tenant),
                        decision(&caller.tenant_id, &taken.challenge_id, outcome),
                    ],
                )
                .await?;
                Ok(Verified {
                    challenge_id: taken.challenge_id,
                    subject_id,
                    matched,
                    threshold: tenant.match_threshold,
                })
            },
        )
        .await
    }

    /// The subject's stored template, decrypted into wiped-on-drop memory;
    /// refuses a probe made from the very frames of the enrolment (a replay
    /// of that capture, not a new presentation of the face).
    async fn reference_template(
        &self,
        caller: &Caller,
        subject_id: &str,
        opened: &OpenedEnvelope,
    ) -> Result<ProtectedTemplate, ApiError> {
        let rows = self
            .db
            .query(
                "SELECT template_id, nonce, ciphertext, capture_digest FROM templates
                 WHERE tenant_id = $1 AND subject_id = $2",
                vec![caller.tenant_id.as_str().into(), subject_id.into()],
            )
            .await?;
        let row = rows.first().ok_or(Refusal::NotEnrolled)?;
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
            subject_id,
            template_id: &template_id,
        };
        let plain = at_rest::decrypt(&data_key, &slot, &row[1].blob()?, &row[2].blob()?)
            .map_err(|_| ApiError::Integrity)?;
        ProtectedTemplate::from_bytes(&plain).map_err(|_| ApiError::Integrity)
    }

    /// Records a refused biometric request (sampled, see
    /// [`Service::audit_refused`]; the subject as the clear header names
    /// it, when it parses) and, once a challenge was taken, as that
    /// challenge's decision; hands the error back.
    async fn refused(
        &self,
        caller: &Caller,
        operation: &str,
        envelope: &[u8],
        challenge_id: Option<&str>,
        error: ApiError,
    ) -> ApiError {
        let code = match &error {
            ApiError::Refused(refusal) => refusal.code(),
            ApiError::SubjectLocked { .. } => "subject_locked",
            _ => return error,
        };
        let subject = seal::parse(envelope).ok().map(|h| h.context.subject_id);
        if let Some(id) = challenge_id {
            let outcome = format!("refused:{code}");
            if let Err(e) = self
                .db
                .batch(vec![decision(&caller.tenant_id, id, &outcome)])
                .await
            {
                return e.into();
            }
        }
        if let Err(e) = self
            .audit_refused(
                &caller.tenant_id,
                &caller.actor,
                operation,
                subject.as_deref(),
                code,
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
            .query_bulk(
                "SELECT COUNT(*) FROM templates WHERE tenant_id = $1",
                vec![Value::from(tenant_id)],
            )
            .await?;
        Ok(rows.first().map_or(Ok(0), |r| r[0].int())?)
    }
}

/// Deletes a tenant's challenges that expired before `$2`. It runs with
/// every new challenge, so it must visit only the rows it deletes (index
/// `challenges_purge`, checked by a test), never every retained challenge.
pub(crate) const PURGE_CHALLENGES: &str =
    "DELETE FROM challenges WHERE tenant_id = $1 AND expires_at < $2";

/// Records what became of a challenge.
fn decision(tenant_id: &str, challenge_id: &str, outcome: &str) -> Stmt {
    Stmt::new(
        "UPDATE challenges SET outcome = $3, decided_at = $4
         WHERE tenant_id = $1 AND challenge_id = $2",
        vec![
            tenant_id.into(),
            challenge_id.into(),
            outcome.into(),
            now().into(),
        ],
    )
}
