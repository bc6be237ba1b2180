//! Capture tokens: what a device holds instead of the tenant's API key. The
//! tenant's backend asks for a challenge naming the subject and gets, once,
//! a token `fsc_<challenge id>_<secret>`; the device presents it as
//! `Authorization: Capture <token>` with its envelope. It answers that one
//! challenge (its subject, its purpose, its nonce), once, before the
//! challenge expires, and opens no other route. The server keeps only a
//! SHA-256 of the secret (256 random bits: a fast hash is enough).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::tenants::RevealedSecret;
use super::{Actor, Caller, Service, now};
use crate::error::ApiError;
use crate::random;

const CAPTURE_TOKEN_PREFIX: &str = "fsc";

/// A new token for `challenge_id` and the hash to store.
pub(crate) fn new_token(challenge_id: &str) -> (RevealedSecret, [u8; 32]) {
    let secret = Zeroizing::new(hex::encode(random::bytes::<32>()));
    let hash = Sha256::digest(secret.as_bytes()).into();
    (
        RevealedSecret(format!(
            "{CAPTURE_TOKEN_PREFIX}_{challenge_id}_{}",
            secret.as_str()
        )),
        hash,
    )
}

/// Splits an untrusted `fsc_<challenge id>_<secret>`: 32 and 64 hex digits.
pub fn parse_token(presented: &str) -> Option<(&str, &str)> {
    super::tenants::split_token(presented, CAPTURE_TOKEN_PREFIX)
}

impl Service {
    /// Resolves a capture token to the device's caller: the challenge's
    /// tenant, allowed that challenge only. Unknown, used, expired or wrong
    /// tokens are all `Unauthorized`.
    pub async fn authenticate_capture(&self, presented: &str) -> Result<Caller, ApiError> {
        let (challenge_id, secret) = parse_token(presented).ok_or(ApiError::Unauthorized)?;
        let rows = self
            .db
            .query(
                "SELECT tenant_id, token_hash, expires_at, used_at FROM challenges
                 WHERE challenge_id = $1",
                vec![challenge_id.into()],
            )
            .await?;
        let presented_hash: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let Some(row) = rows.first() else {
            return Err(ApiError::Unauthorized);
        };
        let stored = row[1].blob()?;
        let genuine = stored.len() == 32 && bool::from(presented_hash.as_slice().ct_eq(&stored));
        if !genuine || row[2].int()? <= now() || row[3].opt_int()?.is_some() {
            return Err(ApiError::Unauthorized);
        }
        Ok(Caller {
            tenant_id: row[0].text()?,
            actor: Actor::Capture(challenge_id.to_owned()),
            capture: Some(challenge_id.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse_back_to_their_challenge_and_nothing_else_does() {
        let id = random::id();
        let (token, hash) = new_token(&id);
        let (parsed_id, secret) = parse_token(&token.0).unwrap();
        assert_eq!(parsed_id, id);
        assert_eq!(<[u8; 32]>::from(Sha256::digest(secret.as_bytes())), hash);
        assert!(parse_token(&token.0[..token.0.len() - 1]).is_none());
        assert!(parse_token(&token.0.replacen("fsc", "fsk", 1)).is_none());
    }
}
