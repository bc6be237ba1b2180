//! The server's side of a split-scheme tenant: set-up with the key holder,
//! and one verification from the stored ciphertext to the verified bit.

use std::sync::Arc;

use faceseal_split::decision::{DecisionKey, DecisionRequest};
use faceseal_split::device::EncryptedTemplate;
use faceseal_split::encoding::Quantised;
use faceseal_split::keys::{CollectivePublicKey, KeyShare, contribution};
use faceseal_split::params::Parameters;
use faceseal_split::{SplitError, server};
use rand::Rng;
use thiserror::Error;

use crate::client::{ClientError, KeyHolderClient};

#[derive(Debug, Error)]
pub enum VerifyError {
    #[error(transparent)]
    KeyHolder(#[from] ClientError),
    #[error(transparent)]
    Split(#[from] SplitError),
}

impl VerifyError {
    /// The HTTP status a server answers its client with.
    pub fn http_status(&self) -> u16 {
        match self {
            // Nothing was decided and nothing is lost: the client may retry.
            VerifyError::KeyHolder(ClientError::Unavailable(_)) => 503,
            VerifyError::KeyHolder(ClientError::Refused { status: 429, .. }) => 429,
            VerifyError::KeyHolder(ClientError::Refused { status: 404, .. }) => 404,
            VerifyError::KeyHolder(_) => 502,
            VerifyError::Split(SplitError::BadSignature | SplitError::WrongRequest) => 502,
            VerifyError::Split(SplitError::Malformed(_) | SplitError::Embedding { .. }) => 400,
            VerifyError::Split(_) => 500,
        }
    }
}

/// What the server keeps for a split-scheme tenant.
pub struct ServerTenant {
    pub tenant: String,
    pub public: CollectivePublicKey,
    pub share: KeyShare,
    pub decision_key: DecisionKey,
}

impl ServerTenant {
    /// Draws the server's share and builds the collective public key with the
    /// key holder's contribution.
    pub fn create(
        par: &Arc<Parameters>,
        client: &KeyHolderClient,
        tenant: &str,
    ) -> Result<Self, VerifyError> {
        let mut rng = rand::rng();
        let seed: [u8; 32] = rng.random();
        let share = KeyShare::generate(par, &mut rng);
        let ours = contribution(&share, par, seed, &mut rng)?;
        let (theirs, decision_key) = client.create_tenant(tenant, seed)?;
        Ok(ServerTenant {
            tenant: tenant.to_owned(),
            public: CollectivePublicKey::combine(par, &ours, &theirs)?,
            share,
            decision_key,
        })
    }

    /// One verification: the masked comparison, the key holder's answer, and
    /// its check against this very request.
    pub fn verify(
        &self,
        par: &Arc<Parameters>,
        client: &KeyHolderClient,
        subject: &str,
        stored: &EncryptedTemplate,
        probe: &Quantised,
        threshold: i64,
    ) -> Result<bool, VerifyError> {
        let mut rng = rand::rng();
        let partial = server::compare(
            par,
            &self.public,
            &self.share,
            stored,
            probe,
            threshold,
            &mut rng,
        )?;
        let request = DecisionRequest {
            tenant: self.tenant.clone(),
            subject: subject.to_owned(),
            request_id: rng.random(),
            nonce: rng.random(),
        };
        let answer = client.decide(&request, &partial)?;
        Ok(self.decision_key.verify(&request, &answer)?)
    }
}
