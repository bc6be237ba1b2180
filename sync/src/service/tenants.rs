//! Tenants: creation with fresh keys, the public key bundle, key rotation and
//! retirement, API keys, and deletion by crypto-shredding.

use faceseal_protect::seal::{self, KeyId, SecurityLevel, TenantSecretKey};
use faceseal_protect::template::{IomParams, MatchThreshold, TEMPLATE_FORMAT_VERSION};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::audit_log::{insert_entry, next_entry};
use super::{Actor, Service, identifier, now};
use crate::audit::GENESIS;
use crate::db::{Stmt, Value};
use crate::error::ApiError;
use crate::keystore::WrapLabel;
use crate::random;

/// The liveness threshold the SDK ships with.
pub const DEFAULT_LIVENESS_THRESHOLD: f64 = 0.5;
/// The SDK already refuses captures that fail its quality checks; a tenant
/// may demand more margin.
pub const DEFAULT_QUALITY_THRESHOLD: f64 = 0.0;
/// Tenant ids travel in every envelope: short and plain.
const MAX_TENANT_ID: usize = 64;

pub(crate) const KIND_SEAL: &str = "seal";
pub(crate) const KIND_DATA: &str = "data";
pub(crate) const KIND_AUDIT: &str = "audit";
/// The single data key and audit key of a tenant.
pub(crate) const SINGLE_KEY_ID: &str = "1";

const API_KEY_PREFIX: &str = "fsk";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    pub tenant_id: String,
    /// The liveness level envelopes must be bound to: `basic`, `standard`
    /// (default) or `strict`.
    #[serde(default, deserialize_with = "super::present")]
    pub liveness_level: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    pub liveness_threshold: Option<f64>,
    #[serde(default, deserialize_with = "super::present")]
    pub quality_threshold: Option<f64>,
    #[serde(default, deserialize_with = "super::present")]
    pub match_threshold: Option<f64>,
    /// Failed verifications a subject may have in a window (default 5).
    #[serde(default, deserialize_with = "super::whole_number")]
    pub attempt_limit: Option<i64>,
    /// That window, in seconds (default 900).
    #[serde(default, deserialize_with = "super::whole_number")]
    pub attempt_window_secs: Option<i64>,
    /// How long a subject that used up its attempts stays locked, in
    /// seconds (default 900).
    #[serde(default, deserialize_with = "super::whole_number")]
    pub lockout_secs: Option<i64>,
}

/// Attempt-limit defaults: five failures in 15 minutes lock for 15 minutes.
pub const DEFAULT_ATTEMPT_LIMIT: i64 = 5;
pub const DEFAULT_ATTEMPT_WINDOW: i64 = 900;
pub const DEFAULT_LOCKOUT: i64 = 900;

/// A secret revealed once to its owner (an API key, a template secret):
/// wiped when dropped, hidden from `Debug`.
#[derive(Clone, Serialize)]
#[serde(transparent)]
pub struct RevealedSecret(pub String);

impl std::fmt::Debug for RevealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RevealedSecret(..)")
    }
}

impl Drop for RevealedSecret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

/// What the administrator receives when a tenant is created. The API key
/// and the template secret are shown this once and never stored in clear.
#[derive(Serialize)]
pub struct CreatedTenant {
    pub tenant_id: String,
    pub api_key: RevealedSecret,
    /// 32 random bytes, hex: the IKM of the tenant's template keys
    /// (docs/template.md), provisioned by the tenant to its devices. The
    /// server compares in the protected domain and does not keep it.
    pub template_secret: RevealedSecret,
    pub bundle: KeyBundle,
}

/// The template format devices must produce for this tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateParameters {
    pub scheme: String,
    pub format_version: u8,
    pub m: u16,
    pub q: u16,
    pub key_version: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleKey {
    pub key_id: String,
    pub public_key: String,
    pub retired: bool,
}

/// What an SDK pins: the key to seal to, and the template parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyBundle {
    pub tenant_id: String,
    /// The key new envelopes must be sealed to (hex key id).
    pub key_id: String,
    /// Its X25519 public key, hex.
    pub public_key: String,
    /// Every key that still opens envelopes, and retired ones.
    pub keys: Vec<BundleKey>,
    pub template: TemplateParameters,
    /// The liveness level devices must apply (`basic`, `standard`, `strict`).
    pub liveness_level: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct TenantSummary {
    pub tenant_id: String,
    pub created_at: i64,
    pub current_key_id: String,
}

/// The authenticated caller of a tenant-scoped route.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant_id: String,
    pub actor: Actor,
    /// For a device holding a capture token: the one challenge it may
    /// answer (see `capture`).
    pub capture: Option<String>,
}

/// Row of the tenant's settings.
pub(crate) struct TenantRow {
    pub liveness_level: SecurityLevel,
    pub liveness_threshold: f64,
    pub quality_threshold: f64,
    pub match_threshold: f64,
    pub params: IomParams,
    pub key_version: u32,
    pub attempt_limit: i64,
    pub attempt_window: i64,
    pub lockout: i64,
}

fn bounded(
    value: Option<i64>,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
    what: &'static str,
) -> Result<i64, ApiError> {
    let v = value.unwrap_or(default);
    if range.contains(&v) {
        Ok(v)
    } else {
        Err(ApiError::BadRequest(what))
    }
}

fn threshold(value: Option<f64>, default: f64) -> Result<f64, ApiError> {
    let v = value.unwrap_or(default);
    if !(0.0..=1.0).contains(&v) {
        return Err(ApiError::BadRequest("thresholds lie in [0, 1]"));
    }
    Ok(v)
}

fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

impl Service {
    /// Creates a tenant with a fresh sealing key, data key, audit key and
    /// API key.
    pub async fn create_tenant(&self, new: NewTenant) -> Result<CreatedTenant, ApiError> {
        const WHAT: &str = "tenant_id: 1 to 64 of A-Z a-z 0-9 - _ ., not . or ..";
        let tenant_id = identifier(&new.tenant_id, MAX_TENANT_ID, MAX_TENANT_ID, WHAT)?;
        if !tenant_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(ApiError::BadRequest(WHAT));
        }
        let attempt_limit = bounded(
            new.attempt_limit,
            DEFAULT_ATTEMPT_LIMIT,
            1..=1_000,
            "attempt_limit: 1 to 1000",
        )?;
        let attempt_window = bounded(
            new.attempt_window_secs,
            DEFAULT_ATTEMPT_WINDOW,
            1..=86_400 * 30,
            "attempt_window_secs: 1 to 2592000",
        )?;
        let lockout = bounded(
            new.lockout_secs,
            DEFAULT_LOCKOUT,
            1..=86_400 * 30,
            "lockout_secs: 1 to 2592000",
        )?;
        let level = match new.liveness_level.as_deref() {
            None => SecurityLevel::default(),
            Some(name) => SecurityLevel::from_name(name).ok_or(ApiError::BadRequest(
                "liveness_level is basic, standard or strict",
            ))?,
        };
        let liveness = threshold(new.liveness_threshold, DEFAULT_LIVENESS_THRESHOLD)?;
        let quality = threshold(new.quality_threshold, DEFAULT_QUALITY_THRESHOLD)?;
        let matching = MatchThreshold::new(
            new.match_threshold
                .unwrap_or(MatchThreshold::DEFAULT.value()),
        )
        .map_err(|_| ApiError::BadRequest("match_threshold lies in [0, 1]"))?
        .value();
        let at = now();
        let seal_key = TenantSecretKey::generate(&mut seal::os_rng());
        let seal_key_id = seal_key.key_id().to_string();
        let data_key = Zeroizing::new(random::bytes::<32>());
        let audit_key = Zeroizing::new(random::bytes::<32>());
        let params = IomParams::DEFAULT;
        // The tenant's first audit entry commits with the tenant.
        let (entry, head) = next_entry(
            audit_key.as_slice(),
            0,
            &GENESIS,
            &Actor::Admin,
            "tenant.create",
            String::new(),
            "ok",
        );
        let first_mac = entry.mac.clone();

        let mut stmts = vec![Stmt::new(
            "INSERT INTO tenants (tenant_id, created_at, liveness_threshold, quality_threshold,
               match_threshold, template_m, template_q, template_key_version, current_seal_key,
               audit_seq, audit_last_mac, audit_head, attempt_limit, attempt_window, lockout,
               liveness_level)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, 1, $9, $10, $11, $12, $13, $14)",
            vec![
                tenant_id.as_str().into(),
                at.into(),
                liveness.into(),
                quality.into(),
                matching.into(),
                i64::from(params.hashes()).into(),
                i64::from(params.window()).into(),
                seal_key_id.as_str().into(),
                first_mac.into(),
                head.as_slice().into(),
                attempt_limit.into(),
                attempt_window.into(),
                lockout.into(),
                level.name().into(),
            ],
        )];
        stmts.push(insert_entry(&tenant_id, entry));
        stmts.push(self.key_row(
            &tenant_id,
            KIND_SEAL,
            &seal_key_id,
            Some(&seal_key),
            seal_key.to_bytes().as_slice(),
            at,
        )?);
        stmts.push(self.key_row(
            &tenant_id,
            KIND_DATA,
            SINGLE_KEY_ID,
            None,
            data_key.as_slice(),
            at,
        )?);
        stmts.push(self.key_row(
            &tenant_id,
            KIND_AUDIT,
            SINGLE_KEY_ID,
            None,
            audit_key.as_slice(),
            at,
        )?);
        let (api_key, api_stmt) = new_api_key(&tenant_id, at);
        stmts.push(api_stmt);
        match self.db.batch(stmts).await {
            Ok(_) => {}
            Err(crate::db::DbError::Conflict) => return Err(ApiError::Conflict),
            Err(e) => return Err(e.into()),
        }
        let template_secret = RevealedSecret(hex::encode(random::bytes::<32>()));
        Ok(CreatedTenant {
            bundle: self.bundle(&tenant_id).await?,
            tenant_id,
            api_key,
            template_secret,
        })
    }

    fn key_row(
        &self,
        tenant_id: &str,
        kind: &'static str,
        key_id: &str,
        public: Option<&TenantSecretKey>,
        secret: &[u8],
        at: i64,
    ) -> Result<Stmt, ApiError> {
        let wrapped = self.keys.wrap(
            &WrapLabel {
                tenant_id,
                kind,
                key_id,
            },
            secret,
        )?;
        Ok(Stmt::new(
            "INSERT INTO tenant_keys (tenant_id, kind, key_id, public_key, wrapped, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                tenant_id.into(),
                kind.into(),
                key_id.into(),
                // Empty, not NULL, for keys without a public half: a NULL
                // parameter is an integer column's (see db).
                Value::Blob(public.map_or_else(Vec::new, |k| k.public_key().to_bytes().to_vec())),
                wrapped.into(),
                at.into(),
            ],
        ))
    }

    pub async fn list_tenants(&self) -> Result<Vec<TenantSummary>, ApiError> {
        let rows = self
            .db
            .query_bulk(
                "SELECT tenant_id, created_at, current_seal_key FROM tenants ORDER BY tenant_id",
                vec![],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(TenantSummary {
                    tenant_id: r[0].text()?,
                    created_at: r[1].int()?,
                    current_key_id: r[2].text()?,
                })
            })
            .collect()
    }

    pub(crate) async fn tenant_row(&self, tenant_id: &str) -> Result<TenantRow, ApiError> {
        let rows = self
            .db
            .query(
                "SELECT liveness_threshold, quality_threshold, match_threshold, template_m,
                        template_q, template_key_version, attempt_limit, attempt_window, lockout,
                        liveness_level
                 FROM tenants WHERE tenant_id = $1",
                vec![tenant_id.into()],
            )
            .await?;
        let r = rows.first().ok_or(ApiError::NotFound)?;
        let params = IomParams::new(
            u16::try_from(r[3].int()?).map_err(|_| ApiError::Integrity)?,
            u16::try_from(r[4].int()?).map_err(|_| ApiError::Integrity)?,
        )
        .map_err(|_| ApiError::Integrity)?;
        Ok(TenantRow {
            liveness_level: SecurityLevel::from_name(&r[9].text()?).ok_or(ApiError::Integrity)?,
            liveness_threshold: r[0].real()?,
            quality_threshold: r[1].real()?,
            match_threshold: r[2].real()?,
            params,
            key_version: u32::try_from(r[5].int()?).map_err(|_| ApiError::Integrity)?,
            attempt_limit: r[6].int()?,
            attempt_window: r[7].int()?,
            lockout: r[8].int()?,
        })
    }

    /// The tenant's public key bundle.
    pub async fn bundle(&self, tenant_id: &str) -> Result<KeyBundle, ApiError> {
        let tenant = self.tenant_row(tenant_id).await?;
        let current = self
            .db
            .query(
                "SELECT current_seal_key FROM tenants WHERE tenant_id = $1",
                vec![tenant_id.into()],
            )
            .await?;
        let current = current.first().ok_or(ApiError::NotFound)?[0].text()?;
        let rows = self
            .db
            .query(
                "SELECT key_id, public_key, retired_at FROM tenant_keys
                 WHERE tenant_id = $1 AND kind = 'seal' ORDER BY created_at, key_id",
                vec![tenant_id.into()],
            )
            .await?;
        let mut keys = Vec::with_capacity(rows.len());
        for r in &rows {
            keys.push(BundleKey {
                key_id: r[0].text()?,
                public_key: hex::encode(r[1].blob()?),
                retired: r[2].opt_int()?.is_some(),
            });
        }
        let Some(public_key) = keys
            .iter()
            .find(|k| k.key_id == current)
            .map(|k| k.public_key.clone())
        else {
            return Err(self.missing_key(tenant_id).await);
        };
        Ok(KeyBundle {
            tenant_id: tenant_id.to_owned(),
            key_id: current,
            public_key,
            keys,
            liveness_level: tenant.liveness_level.name(),
            template: TemplateParameters {
                scheme: "iom-grp".into(),
                format_version: TEMPLATE_FORMAT_VERSION,
                m: tenant.params.hashes(),
                q: tenant.params.window(),
                key_version: tenant.key_version,
            },
        })
    }

    /// A new sealing key becomes current; older ones still open envelopes
    /// until retired.
    pub async fn rotate_tenant_key(&self, tenant_id: &str) -> Result<KeyBundle, ApiError> {
        self.tenant_row(tenant_id).await?;
        let at = now();
        let key = TenantSecretKey::generate(&mut seal::os_rng());
        let key_id = key.key_id().to_string();
        let insert = self.key_row(
            tenant_id,
            KIND_SEAL,
            &key_id,
            Some(&key),
            key.to_bytes().as_slice(),
            at,
        )?;
        self.audit_with(
            tenant_id,
            &Actor::Admin,
            "key.rotate",
            None,
            "ok",
            vec![
                insert,
                Stmt::new(
                    "UPDATE tenants SET current_seal_key = $2 WHERE tenant_id = $1",
                    vec![tenant_id.into(), key_id.as_str().into()],
                ),
            ],
        )
        .await?;
        self.bundle(tenant_id).await
    }

    /// Stops a (non-current) sealing key from opening anything; its wrapped
    /// secret is destroyed.
    pub async fn retire_tenant_key(&self, tenant_id: &str, key_id: &str) -> Result<(), ApiError> {
        let rows = self
            .db
            .query(
                "SELECT current_seal_key FROM tenants WHERE tenant_id = $1",
                vec![tenant_id.into()],
            )
            .await?;
        let current = rows.first().ok_or(ApiError::NotFound)?[0].text()?;
        if current == key_id {
            return Err(ApiError::BadRequest(
                "the current key cannot be retired: rotate first",
            ));
        }
        self.audit_with(
            tenant_id,
            &Actor::Admin,
            "key.retire",
            None,
            "ok",
            vec![Stmt::guard(
                "not_found",
                "UPDATE tenant_keys SET retired_at = $3, wrapped = $4
                 WHERE tenant_id = $1 AND kind = 'seal' AND key_id = $2 AND retired_at IS NULL
                   AND key_id <> (SELECT current_seal_key FROM tenants WHERE tenant_id = $1)",
                vec![
                    tenant_id.into(),
                    key_id.into(),
                    now().into(),
                    Vec::new().into(),
                ],
            )],
        )
        .await?;
        self.db.purge_deleted().await?;
        Ok(())
    }

    /// Deletes a tenant in one transaction: its row is locked first (every
    /// audited change of the tenant waits for it, then finds no tenant),
    /// then its wrapped keys and API keys (crypto-shredding: from then on
    /// nothing of the tenant can be opened, even from a backup), then every
    /// row. A reader that looked the tenant up before the deletion and its
    /// keys after it is told the tenant is gone, not an internal error
    /// (see [`Service::missing_key`]).
    pub async fn delete_tenant(&self, tenant_id: &str) -> Result<(), ApiError> {
        let mut stmts = vec![Stmt::guard(
            "not_found",
            "UPDATE tenants SET audit_seq = audit_seq WHERE tenant_id = $1",
            vec![tenant_id.into()],
        )];
        for sql in [
            "DELETE FROM tenant_keys WHERE tenant_id = $1",
            "DELETE FROM api_keys WHERE tenant_id = $1",
            "DELETE FROM templates WHERE tenant_id = $1",
            "DELETE FROM consents WHERE tenant_id = $1",
            "DELETE FROM challenges WHERE tenant_id = $1",
            "DELETE FROM subject_attempts WHERE tenant_id = $1",
            "DELETE FROM subjects WHERE tenant_id = $1",
            "DELETE FROM audit_entries WHERE tenant_id = $1",
            "DELETE FROM tenants WHERE tenant_id = $1",
        ] {
            stmts.push(Stmt::new(sql, vec![tenant_id.into()]));
        }
        self.db.batch(stmts).await?;
        self.db.purge_deleted().await?;
        Ok(())
    }

    /// Issues an additional API key for a tenant (the old ones stay valid
    /// until the tenant is deleted).
    pub async fn issue_api_key(&self, tenant_id: &str) -> Result<RevealedSecret, ApiError> {
        self.tenant_row(tenant_id).await?;
        let (key, stmt) = new_api_key(tenant_id, now());
        self.audit_with(
            tenant_id,
            &Actor::Admin,
            "api-key.issue",
            None,
            "ok",
            vec![stmt],
        )
        .await?;
        Ok(key)
    }

    /// Resolves an API key (`fsk_<handle>_<secret>`) to its tenant. The
    /// handle finds the row; the secret's hash is compared in constant time.
    pub async fn authenticate(&self, presented: &str) -> Result<Caller, ApiError> {
        let (handle, secret) = parse_api_key(presented).ok_or(ApiError::Unauthorized)?;
        let rows = self
            .db
            .query(
                "SELECT tenant_id, secret_hash FROM api_keys WHERE handle = $1",
                vec![handle.into()],
            )
            .await?;
        let presented_hash = hash_secret(secret);
        let Some(row) = rows.first() else {
            return Err(ApiError::Unauthorized);
        };
        let stored = row[1].blob()?;
        if !bool::from(presented_hash.as_slice().ct_eq(stored.as_slice())) {
            return Err(ApiError::Unauthorized);
        }
        Ok(Caller {
            tenant_id: row[0].text()?,
            actor: Actor::ApiKey(handle.to_owned()),
            capture: None,
        })
    }

    /// Every API key's handle and the SHA-256 of its secret (what the
    /// throttle needs to know genuine keys from memory).
    pub async fn api_key_hashes(&self) -> Result<Vec<(String, [u8; 32])>, ApiError> {
        let rows = self
            .db
            .query_bulk("SELECT handle, secret_hash FROM api_keys", vec![])
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            if let Ok(hash) = <[u8; 32]>::try_from(r[1].blob()?) {
                out.push((r[0].text()?, hash));
            }
        }
        Ok(out)
    }

    /// Unwraps one of the tenant's keys; `None` if it does not exist or is
    /// retired.
    pub(crate) async fn tenant_key(
        &self,
        tenant_id: &str,
        kind: &'static str,
        key_id: &str,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, ApiError> {
        let rows = self
            .db
            .query(
                "SELECT wrapped FROM tenant_keys
                 WHERE tenant_id = $1 AND kind = $2 AND key_id = $3 AND retired_at IS NULL",
                vec![tenant_id.into(), kind.into(), key_id.into()],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let label = WrapLabel {
            tenant_id,
            kind,
            key_id,
        };
        Ok(Some(self.keys.unwrap(&label, &row[0].blob()?)?))
    }

    /// A key the tenant must have (its data key, its audit key).
    pub(crate) async fn required_key(
        &self,
        tenant_id: &str,
        kind: &'static str,
        key_id: &str,
    ) -> Result<Zeroizing<Vec<u8>>, ApiError> {
        match self.tenant_key(tenant_id, kind, key_id).await? {
            Some(key) => Ok(key),
            None => Err(self.missing_key(tenant_id).await),
        }
    }

    /// What a missing key means: the tenant was deleted while the request
    /// ran (its credentials are dead: 401), or the database lost a key it
    /// must have (integrity).
    pub(crate) async fn missing_key(&self, tenant_id: &str) -> ApiError {
        match self.tenant_row(tenant_id).await {
            Err(ApiError::NotFound) => ApiError::Unauthorized,
            Err(e) => e,
            Ok(_) => ApiError::Integrity,
        }
    }

    /// The tenant's X25519 secret for `key_id`, if usable.
    pub(crate) async fn sealing_key(
        &self,
        tenant_id: &str,
        key_id: &KeyId,
    ) -> Result<Option<TenantSecretKey>, ApiError> {
        let Some(bytes) = self
            .tenant_key(tenant_id, KIND_SEAL, &key_id.to_string())
            .await?
        else {
            return Ok(None);
        };
        let mut secret = Zeroizing::new(
            <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| ApiError::Integrity)?,
        );
        let key = TenantSecretKey::from_bytes(&mut secret);
        // A wrapped key filed under another id is corruption, not a key.
        if key.key_id() != *key_id {
            return Err(ApiError::Integrity);
        }
        Ok(Some(key))
    }
}

/// Splits an untrusted `fsk_<handle>_<secret>` into handle and secret.
fn parse_api_key(presented: &str) -> Option<(&str, &str)> {
    split_token(presented, API_KEY_PREFIX)
}

/// Splits an untrusted `<prefix>_<id>_<secret>` (an API key, a capture
/// token) into id and secret; the id must be 32 hex digits, the secret 64.
pub(crate) fn split_token<'a>(presented: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let mut parts = presented.splitn(3, '_');
    if parts.next() != Some(prefix) {
        return None;
    }
    let (Some(id), Some(secret)) = (parts.next(), parts.next()) else {
        return None;
    };
    let hex_of = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex_of(id, 32) && hex_of(secret, 64)).then_some((id, secret))
}

fn new_api_key(tenant_id: &str, at: i64) -> (RevealedSecret, Stmt) {
    let handle = random::id();
    let secret = Zeroizing::new(hex::encode(random::bytes::<32>()));
    let stmt = Stmt::new(
        "INSERT INTO api_keys (handle, tenant_id, secret_hash, created_at) VALUES ($1, $2, $3, $4)",
        vec![
            handle.as_str().into(),
            tenant_id.into(),
            hash_secret(&secret).to_vec().into(),
            at.into(),
        ],
    );
    (
        RevealedSecret(format!("{API_KEY_PREFIX}_{handle}_{}", secret.as_str())),
        stmt,
    )
}

/// Wrong credentials must not be told apart from a wrong admin token by timing.
pub fn admin_token_matches(expected_hash: &[u8; 32], presented: &str) -> bool {
    bool::from(hash_secret(presented).ct_eq(expected_hash))
}

/// The hash the service keeps of the admin token.
pub fn admin_token_hash(token: &str) -> [u8; 32] {
    hash_secret(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn issued_api_keys_parse_back_to_their_handle() {
        let (key, stmt) = new_api_key("acme", 0);
        let (handle, secret) = parse_api_key(&key.0).unwrap();
        assert_eq!(stmt.params[0], Value::from(handle));
        assert_eq!(stmt.params[2], Value::from(hash_secret(secret).to_vec()));
        assert!(parse_api_key(&key.0[..key.0.len() - 1]).is_none());
        assert!(parse_api_key(&key.0.replacen("fsk", "fsx", 1)).is_none());
        assert!(parse_api_key(&format!("{}_", key.0)).is_none());
    }

    proptest! {
        #[test]
        fn arbitrary_credentials_never_panic_and_rarely_parse(s in ".{0,200}") {
            if let Some((handle, secret)) = parse_api_key(&s) {
                prop_assert_eq!(&s, &format!("fsk_{handle}_{secret}"));
            }
        }
    }
}
