//! The server's blocking client to the key holder.

use std::time::Duration;

use faceseal_split::decision::{DecisionKey, DecisionRequest, SignedDecision};
use faceseal_split::server::PartialComparison;
use thiserror::Error;
use zeroize::Zeroizing;

use crate::frame;
use crate::service::TenantCreated;

#[derive(Debug, Error)]
pub enum ClientError {
    /// No answer: the key holder is down or unreachable. Nothing was decided.
    #[error("the key holder is unavailable: {0}")]
    Unavailable(String),
    /// The key holder answered with a refusal (its one-word reason).
    #[error("the key holder refused ({status}): {reason}")]
    Refused { status: u16, reason: String },
    #[error("the key holder's answer is malformed")]
    Malformed,
}

pub struct KeyHolderClient {
    base: String,
    credential: Zeroizing<String>,
    agent: ureq::Agent,
}

impl KeyHolderClient {
    /// `base` like `http://127.0.0.1:7411`.
    pub fn new(base: &str, credential: &str, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        KeyHolderClient {
            base: base.trim_end_matches('/').to_owned(),
            credential: Zeroizing::new(credential.to_owned()),
            agent,
        }
    }

    fn auth(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("Bearer {}", self.credential.as_str()))
    }

    fn read(
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Vec<u8>, ClientError> {
        let mut response = response.map_err(|e| ClientError::Unavailable(e.to_string()))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(|e| ClientError::Unavailable(e.to_string()))?;
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(ClientError::Refused {
                status,
                reason: String::from_utf8_lossy(&body).into_owned(),
            })
        }
    }

    pub fn health(&self) -> Result<(), ClientError> {
        Self::read(self.agent.get(format!("{}/v1/health", self.base)).call()).map(drop)
    }

    /// Asks for the tenant's share: its public key contribution and decision key.
    pub fn create_tenant(
        &self,
        tenant: &str,
        crp_seed: [u8; 32],
    ) -> Result<(Vec<u8>, DecisionKey), ClientError> {
        let body = serde_json::json!({ "crp_seed": hex::encode(crp_seed) }).to_string();
        let answer = Self::read(
            self.agent
                .post(format!("{}/v1/tenants/{}", self.base, path_segment(tenant)))
                .header("authorization", self.auth().as_str())
                .header("content-type", "application/json")
                .send(body.as_bytes()),
        )?;
        let created: TenantCreated =
            serde_json::from_slice(&answer).map_err(|_| ClientError::Malformed)?;
        let contribution = hex::decode(created.contribution).map_err(|_| ClientError::Malformed)?;
        let key =
            Zeroizing::new(hex::decode(created.decision_key).map_err(|_| ClientError::Malformed)?);
        let key: [u8; 32] = key
            .as_slice()
            .try_into()
            .map_err(|_| ClientError::Malformed)?;
        Ok((contribution, DecisionKey::from_bytes(key)))
    }

    pub fn delete_tenant(&self, tenant: &str) -> Result<(), ClientError> {
        Self::read(
            self.agent
                .delete(format!("{}/v1/tenants/{}", self.base, path_segment(tenant)))
                .header("authorization", self.auth().as_str())
                .call(),
        )
        .map(drop)
    }

    /// Sends one decision request; the answer is not yet verified.
    pub fn decide(
        &self,
        request: &DecisionRequest,
        partial: &PartialComparison,
    ) -> Result<SignedDecision, ClientError> {
        let answer = Self::read(
            self.agent
                .post(format!("{}/v1/decide", self.base))
                .header("authorization", self.auth().as_str())
                .header("content-type", "application/octet-stream")
                .send(&frame::encode(request, partial)[..]),
        )?;
        serde_json::from_slice(&answer).map_err(|_| ClientError::Malformed)
    }
}

/// Percent-encodes a tenant id for a URL path segment.
fn path_segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
