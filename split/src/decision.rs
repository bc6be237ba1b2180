//! The key holder's answer: one bit bound to the request it answers,
//! authenticated with HMAC-SHA256 under a per-tenant key the server holds to
//! verify it.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::SplitError;

type HmacSha256 = Hmac<Sha256>;

/// What a decision is about. The server draws `request_id` and `nonce`
/// afresh for every verification and keeps them until the answer arrives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRequest {
    pub tenant: String,
    pub subject: String,
    #[serde(with = "hex::serde")]
    pub request_id: [u8; 16],
    #[serde(with = "hex::serde")]
    pub nonce: [u8; 32],
}

/// The key holder's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedDecision {
    pub request: DecisionRequest,
    pub accept: bool,
    #[serde(with = "hex::serde")]
    pub tag: [u8; 32],
}

/// The per-tenant key that authenticates decisions, wiped on drop.
#[derive(Clone)]
pub struct DecisionKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for DecisionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecisionKey(..)")
    }
}

impl DecisionKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        DecisionKey(Zeroizing::new(bytes))
    }

    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.0.clone()
    }

    fn mac(&self, request: &DecisionRequest, accept: bool) -> HmacSha256 {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(self.0.as_ref())
            .expect("HMAC takes any key length");
        mac.update(b"faceseal-split decision v1");
        for field in [request.tenant.as_bytes(), request.subject.as_bytes()] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field);
        }
        mac.update(&request.request_id);
        mac.update(&request.nonce);
        mac.update(&[u8::from(accept)]);
        mac
    }

    /// The key holder's side.
    pub fn sign(&self, request: DecisionRequest, accept: bool) -> SignedDecision {
        let tag = self.mac(&request, accept).finalize().into_bytes().into();
        SignedDecision {
            request,
            accept,
            tag,
        }
    }

    /// The server's side: the decision, if `answer` authenticates and answers
    /// exactly `expected` (same tenant, subject, request id and nonce).
    pub fn verify(
        &self,
        expected: &DecisionRequest,
        answer: &SignedDecision,
    ) -> Result<bool, SplitError> {
        self.mac(&answer.request, answer.accept)
            .verify_slice(&answer.tag)
            .map_err(|_| SplitError::BadSignature)?;
        if &answer.request != expected {
            return Err(SplitError::WrongRequest);
        }
        Ok(answer.accept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(tenant: &str, nonce: u8) -> DecisionRequest {
        DecisionRequest {
            tenant: tenant.into(),
            subject: "alice".into(),
            request_id: [1; 16],
            nonce: [nonce; 32],
        }
    }

    #[test]
    fn a_decision_verifies_for_its_own_request_only() {
        let key = DecisionKey::from_bytes([7; 32]);
        let answer = key.sign(request("acme", 1), true);
        assert!(key.verify(&request("acme", 1), &answer).unwrap());
        // A replayed answer to an earlier request: another nonce.
        assert!(matches!(
            key.verify(&request("acme", 2), &answer),
            Err(SplitError::WrongRequest)
        ));
        // Another tenant's answer.
        assert!(matches!(
            key.verify(&request("other", 1), &answer),
            Err(SplitError::WrongRequest)
        ));
    }

    #[test]
    fn a_flipped_bit_or_another_key_is_refused() {
        let key = DecisionKey::from_bytes([7; 32]);
        let mut answer = key.sign(request("acme", 1), false);
        answer.accept = true;
        assert!(matches!(
            key.verify(&request("acme", 1), &answer),
            Err(SplitError::BadSignature)
        ));
        let other = DecisionKey::from_bytes([8; 32]).sign(request("acme", 1), true);
        assert!(matches!(
            key.verify(&request("acme", 1), &other),
            Err(SplitError::BadSignature)
        ));
    }
}
