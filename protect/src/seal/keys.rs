//! Tenant key pairs (X25519) and their key ids.

use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{ZeroizeOnDrop, Zeroizing};

/// Domain label of key-id derivation.
const KEY_ID_LABEL: &[u8] = b"faceseal/seal/v1/key-id";

/// Identifies a tenant public key: the first 16 bytes of
/// `SHA-256("faceseal/seal/v1/key-id" || public key)`.
///
/// Carried in clear in every envelope so that the server picks the right
/// secret key before trying to open it (and can refuse retired keys).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId([u8; 16]);

impl KeyId {
    pub const LEN: usize = 16;

    pub fn of_public_key(public: &[u8; 32]) -> KeyId {
        let digest = Sha256::new()
            .chain_update(KEY_ID_LABEL)
            .chain_update(public)
            .finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        KeyId(id)
    }

    pub const fn from_bytes(bytes: [u8; 16]) -> KeyId {
        KeyId(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    pub(crate) fn ct_eq(&self, other: &KeyId) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Debug for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A tenant's public sealing key, as shipped to devices.
#[derive(Clone, PartialEq, Eq)]
pub struct TenantPublicKey {
    key: PublicKey,
    id: KeyId,
}

impl TenantPublicKey {
    pub fn from_bytes(bytes: [u8; 32]) -> TenantPublicKey {
        TenantPublicKey {
            key: PublicKey::from(bytes),
            id: KeyId::of_public_key(&bytes),
        }
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub fn key_id(&self) -> KeyId {
        self.id
    }

    pub(crate) fn x25519(&self) -> &PublicKey {
        &self.key
    }
}

impl std::fmt::Debug for TenantPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantPublicKey")
            .field("key_id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A tenant's secret sealing key, held by the server only. Wiped on drop;
/// its `Debug` shows the key id alone.
pub struct TenantSecretKey {
    secret: StaticSecret,
    public: TenantPublicKey,
}

impl TenantSecretKey {
    /// A fresh key pair.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> TenantSecretKey {
        Self::from_secret(StaticSecret::random_from_rng(rng))
    }

    /// Restores a key from its 32 secret bytes (an X25519 scalar, clamped on
    /// use as RFC 7748 says). The caller's array is wiped.
    pub fn from_bytes(bytes: &mut [u8; 32]) -> TenantSecretKey {
        let secret = StaticSecret::from(*bytes);
        zeroize::Zeroize::zeroize(bytes);
        Self::from_secret(secret)
    }

    fn from_secret(secret: StaticSecret) -> TenantSecretKey {
        let public = PublicKey::from(&secret).to_bytes();
        TenantSecretKey {
            secret,
            public: TenantPublicKey::from_bytes(public),
        }
    }

    /// The secret bytes, for the caller's (wrapped) key store.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    pub fn public_key(&self) -> &TenantPublicKey {
        &self.public
    }

    pub fn key_id(&self) -> KeyId {
        self.public.id
    }

    pub(crate) fn x25519(&self) -> &StaticSecret {
        &self.secret
    }
}

/// `StaticSecret` wipes itself on drop; the public half is not secret.
impl ZeroizeOnDrop for TenantSecretKey {}

impl std::fmt::Debug for TenantSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantSecretKey")
            .field("key_id", &self.public.id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secret_bytes() {
        let mut bytes = [0x11u8; 32];
        let sk = TenantSecretKey::from_bytes(&mut bytes);
        assert_eq!(bytes, [0u8; 32], "caller's copy is wiped");
        let shown = format!("{sk:?}");
        assert!(!shown.contains("11, 11") && !shown.contains("1111111111"));
        assert!(shown.contains(&sk.key_id().to_string()));
        assert_eq!(*sk.to_bytes(), [0x11u8; 32]);
    }

    #[test]
    fn key_id_follows_the_public_key() {
        let mut a = [1u8; 32];
        let mut b = [2u8; 32];
        let (a, b) = (
            TenantSecretKey::from_bytes(&mut a),
            TenantSecretKey::from_bytes(&mut b),
        );
        assert_ne!(a.key_id(), b.key_id());
        let public = TenantPublicKey::from_bytes(a.public_key().to_bytes());
        assert_eq!(public.key_id(), a.key_id());
        assert!(public.key_id().ct_eq(&a.key_id()));
    }
}
