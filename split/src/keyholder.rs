//! The key holder: its own key store (one share and one decision key per
//! tenant), its own credential, budget and audit trail. It never sees a
//! template ciphertext, only partial comparisons, and answers one bit.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fhe::bfv::{BfvParameters, Ciphertext, Encoding};
use fhe_traits::{DeserializeParametrized, FheDecoder, FheDecrypter};
use rand::{CryptoRng, RngCore};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::SplitError;
use crate::budget::Budget;
use crate::decision::{DecisionKey, DecisionRequest, SignedDecision};
use crate::encoding::SCORE_COEFFICIENT;
use crate::keys::{KeyShare, contribution};
use crate::params::PLAINTEXT_MODULUS;
use crate::server::PartialComparison;

/// What the server receives when a tenant is set up: the key holder's public
/// key contribution and the key that authenticates its decisions.
pub struct TenantSetup {
    pub contribution: Vec<u8>,
    pub decision_key: DecisionKey,
}

struct TenantKeys {
    share: KeyShare,
    decision_key: DecisionKey,
}

/// SHA-256 of a credential: what the key holder keeps of it.
pub fn credential_digest(credential: &[u8]) -> [u8; 32] {
    Sha256::digest(credential).into()
}

fn tenant_dir(root: &Path, tenant: &str) -> PathBuf {
    root.join("tenants").join(hex::encode(tenant.as_bytes()))
}

#[derive(Serialize)]
struct AuditEvent<'a> {
    at: u64,
    event: &'a str,
    /// SHA-256 of the tenant and of the subject: the trail names nobody.
    tenant: String,
    subject: Option<String>,
    request_id: Option<String>,
    outcome: &'a str,
}

pub struct KeyHolder {
    par: Arc<BfvParameters>,
    root: Option<PathBuf>,
    credential: [u8; 32],
    tenants: HashMap<String, TenantKeys>,
    budget: Budget,
    seen: HashSet<(String, [u8; 16])>,
    audit: Option<std::fs::File>,
}

impl KeyHolder {
    /// A key holder whose state lives in memory (tests, benches).
    pub fn in_memory(par: Arc<BfvParameters>, credential: [u8; 32], limit: u32) -> Self {
        KeyHolder {
            par,
            root: None,
            credential,
            tenants: HashMap::new(),
            budget: Budget::in_memory(limit),
            seen: HashSet::new(),
            audit: None,
        }
    }

    /// A key holder whose key store, budget and audit trail live under `root`.
    pub fn open(
        par: Arc<BfvParameters>,
        root: PathBuf,
        credential: [u8; 32],
        limit: u32,
    ) -> Result<Self, SplitError> {
        std::fs::create_dir_all(root.join("tenants"))?;
        let mut tenants = HashMap::new();
        for entry in std::fs::read_dir(root.join("tenants"))? {
            let dir = entry?.path();
            let name = dir
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| hex::decode(n).ok())
                .and_then(|n| String::from_utf8(n).ok())
                .ok_or(SplitError::Malformed("key store entry"))?;
            let share = Zeroizing::new(std::fs::read(dir.join("share.bin"))?);
            let mut key = Zeroizing::new(std::fs::read(dir.join("decision.key"))?);
            let key_bytes: [u8; 32] = key
                .as_slice()
                .try_into()
                .map_err(|_| SplitError::Malformed("decision key"))?;
            key.zeroize();
            tenants.insert(
                name,
                TenantKeys {
                    share: KeyShare::from_bytes(&share, &par)?,
                    decision_key: DecisionKey::from_bytes(key_bytes),
                },
            );
        }
        let budget = Budget::open(limit, root.join("budget.json"))?;
        let audit = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(root.join("audit.jsonl"))?;
        Ok(KeyHolder {
            par,
            root: Some(root),
            credential,
            tenants,
            budget,
            seen: HashSet::new(),
            audit: Some(audit),
        })
    }

    fn authorise(&self, credential: &[u8]) -> Result<(), SplitError> {
        if bool::from(credential_digest(credential).ct_eq(&self.credential)) {
            Ok(())
        } else {
            Err(SplitError::Unauthorised)
        }
    }

    /// Appends one event to the audit trail; nothing is answered if its
    /// event cannot be written.
    fn record(
        &mut self,
        event: &str,
        tenant: &str,
        request: Option<&DecisionRequest>,
        outcome: &str,
    ) -> Result<(), SplitError> {
        let Some(file) = self.audit.as_mut() else {
            return Ok(());
        };
        let hash = |s: &str| hex::encode(Sha256::digest(s.as_bytes()));
        let line = AuditEvent {
            at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            event,
            tenant: hash(tenant),
            subject: request.map(|r| hash(&r.subject)),
            request_id: request.map(|r| hex::encode(r.request_id)),
            outcome,
        };
        let mut text = serde_json::to_vec(&line).expect("audit events serialise");
        text.push(b'\n');
        file.write_all(&text)?;
        file.flush()?;
        Ok(())
    }

    /// Draws the tenant's share and decision key and returns the public part.
    pub fn create_tenant<R: RngCore + CryptoRng>(
        &mut self,
        credential: &[u8],
        tenant: &str,
        crp_seed: [u8; 32],
        rng: &mut R,
    ) -> Result<TenantSetup, SplitError> {
        self.authorise(credential)?;
        if self.tenants.contains_key(tenant) {
            return Err(SplitError::Malformed("tenant exists"));
        }
        let share = KeyShare::generate(&self.par, rng);
        let mut key = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(key.as_mut());
        let decision_key = DecisionKey::from_bytes(*key);
        let contribution = contribution(&share, &self.par, crp_seed, rng)?;
        if let Some(root) = &self.root {
            let dir = tenant_dir(root, tenant);
            std::fs::create_dir_all(&dir)?;
            write_secret(&dir.join("share.bin"), &share.to_bytes())?;
            write_secret(&dir.join("decision.key"), key.as_ref())?;
        }
        self.tenants.insert(
            tenant.to_owned(),
            TenantKeys {
                share,
                decision_key: decision_key.clone(),
            },
        );
        self.record("create_tenant", tenant, None, "ok")?;
        Ok(TenantSetup {
            contribution,
            decision_key,
        })
    }

    /// Destroys the tenant's share and decision key (overwritten, then removed).
    pub fn delete_tenant(&mut self, credential: &[u8], tenant: &str) -> Result<(), SplitError> {
        self.authorise(credential)?;
        self.tenants
            .remove(tenant)
            .ok_or(SplitError::UnknownTenant)?;
        if let Some(root) = &self.root {
            let dir = tenant_dir(root, tenant);
            for name in ["share.bin", "decision.key"] {
                let path = dir.join(name);
                if let Ok(meta) = std::fs::metadata(&path) {
                    std::fs::write(&path, vec![0u8; meta.len() as usize])?;
                }
            }
            std::fs::remove_dir_all(dir)?;
        }
        self.budget.forget_tenant(tenant)?;
        self.seen.retain(|(t, _)| t != tenant);
        self.record("delete_tenant", tenant, None, "ok")?;
        Ok(())
    }

    pub fn has_tenant(&self, tenant: &str) -> bool {
        self.tenants.contains_key(tenant)
    }

    /// Checks the request, spends one attempt, finishes the decryption and
    /// answers the sign of the masked comparison, authenticated.
    pub fn decide(
        &mut self,
        credential: &[u8],
        request: DecisionRequest,
        partial: &PartialComparison,
    ) -> Result<SignedDecision, SplitError> {
        if let Err(e) = self.authorise(credential) {
            self.record("decide", &request.tenant, Some(&request), "unauthorised")?;
            return Err(e);
        }
        if !self.tenants.contains_key(&request.tenant) {
            return Err(SplitError::UnknownTenant);
        }
        if !self
            .seen
            .insert((request.tenant.clone(), request.request_id))
        {
            self.record("decide", &request.tenant, Some(&request), "replayed")?;
            return Err(SplitError::Replayed);
        }
        if let Err(e) = self.budget.spend(&request.tenant, &request.subject) {
            self.record("decide", &request.tenant, Some(&request), "locked")?;
            return Err(e);
        }
        let keys = &self.tenants[&request.tenant];
        let accept = decrypt_sign(&self.par, &keys.share, partial)?;
        let answer = keys.decision_key.sign(request.clone(), accept);
        self.budget
            .settle(&request.tenant, &request.subject, accept)?;
        self.record(
            "decide",
            &request.tenant,
            Some(&request),
            if accept { "accept" } else { "reject" },
        )?;
        Ok(answer)
    }

    /// Failed attempts counted for a subject.
    pub fn failures(&self, tenant: &str, subject: &str) -> u32 {
        self.budget.failures(tenant, subject)
    }
}

fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), SplitError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)?;
    Ok(())
}

/// Finishes the decryption with the key holder's share and reads the sign of
/// the score coefficient (non-negative: accept).
pub(crate) fn decrypt_sign(
    par: &Arc<BfvParameters>,
    share: &KeyShare,
    partial: &PartialComparison,
) -> Result<bool, SplitError> {
    let ct = Ciphertext::from_bytes(partial.as_bytes(), par)
        .map_err(|_| SplitError::Malformed("partial comparison"))?;
    if ct.len() != 2 {
        return Err(SplitError::Malformed("partial comparison"));
    }
    let sk = share.secret_key(par)?;
    let pt = sk.try_decrypt(&ct)?;
    let values = Zeroizing::new(Vec::<u64>::try_decode(&pt, Encoding::poly())?);
    Ok(values[SCORE_COEFFICIENT] < PLAINTEXT_MODULUS / 2)
}
