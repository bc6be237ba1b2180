//! Key management, kept apart from the application logic: every tenant
//! secret (X25519 sealing keys, the data key of templates at rest, the audit
//! key) is stored only wrapped by a [`KeyStore`].
//!
//! The default, [`KekKeyStore`], wraps with AES-256-GCM-SIV under a 32-byte
//! key-encryption key (KEK) read at start from a file or an environment
//! variable. The KEK never reaches the database or a log; a deployment with a
//! KMS or an HSM implements [`KeyStore`] over it instead.

use std::io::Write;
use std::path::{Path, PathBuf};

use aes_gcm_siv::aead::{Aead, KeyInit, Payload};
use aes_gcm_siv::{Aes256GcmSiv, Nonce};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::random;

/// The environment variable holding the KEK as 64 hex digits.
pub const KEK_ENV: &str = "FACESEAL_SYNC_KEK";
/// The environment variable naming a file that holds the KEK.
pub const KEK_FILE_ENV: &str = "FACESEAL_SYNC_KEK_FILE";

const WRAP_NONCE_LEN: usize = 12;

/// What a wrapped key is, bound into its wrapping as associated data so a
/// wrapped key cannot be moved to another tenant, kind or id.
#[derive(Debug, Clone, Copy)]
pub struct WrapLabel<'a> {
    pub tenant_id: &'a str,
    pub kind: &'a str,
    pub key_id: &'a str,
}

impl WrapLabel<'_> {
    fn aad(&self) -> Vec<u8> {
        let mut out = b"faceseal-sync/wrap/v1".to_vec();
        for field in [self.tenant_id, self.kind, self.key_id] {
            out.extend_from_slice(&(field.len() as u32).to_be_bytes());
            out.extend_from_slice(field.as_bytes());
        }
        out
    }
}

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum KeyStoreError {
    #[error("the key-encryption key is malformed: expected 64 hex digits")]
    MalformedKek,
    #[error("could not read or write the key-encryption key file: {0}")]
    KekFile(#[source] std::io::Error),
    #[error("a wrapped key could not be unwrapped (wrong key-encryption key, or altered)")]
    Unwrap,
    #[error("a key could not be wrapped")]
    Wrap,
    #[error(
        "the key-encryption key is not this database's: start with the key the database was set up with"
    )]
    WrongKek,
}

/// Wraps and unwraps tenant secrets.
pub trait KeyStore: Send + Sync {
    fn wrap(&self, label: &WrapLabel<'_>, secret: &[u8]) -> Result<Vec<u8>, KeyStoreError>;
    fn unwrap(
        &self,
        label: &WrapLabel<'_>,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeyStoreError>;
}

/// Wrapping under a key-encryption key held in memory.
pub struct KekKeyStore {
    cipher: Aes256GcmSiv,
}

/// Never prints the key.
impl std::fmt::Debug for KekKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KekKeyStore(..)")
    }
}

/// Where the KEK came from, to tell the operator (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KekSource {
    Environment,
    File(PathBuf),
    /// No KEK was configured: a new one was written to this file.
    CreatedFile(PathBuf),
}

impl KekKeyStore {
    pub fn from_bytes(kek: &[u8; 32]) -> KekKeyStore {
        KekKeyStore {
            cipher: Aes256GcmSiv::new(kek.into()),
        }
    }

    pub fn from_hex(hex_kek: &str) -> Result<KekKeyStore, KeyStoreError> {
        let mut kek = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(hex_kek.trim(), kek.as_mut_slice())
            .map_err(|_| KeyStoreError::MalformedKek)?;
        Ok(KekKeyStore::from_bytes(&kek))
    }

    /// Reads the KEK from [`KEK_ENV`], else the file named by `file` or
    /// [`KEK_FILE_ENV`], else `default_file`, creating that one (owner-only)
    /// when it does not exist.
    pub fn load(
        file: Option<&Path>,
        default_file: &Path,
    ) -> Result<(KekKeyStore, KekSource), KeyStoreError> {
        if let Ok(hex_kek) = std::env::var(KEK_ENV) {
            let hex_kek = Zeroizing::new(hex_kek);
            return Ok((KekKeyStore::from_hex(&hex_kek)?, KekSource::Environment));
        }
        let configured = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os(KEK_FILE_ENV).map(PathBuf::from));
        let path = configured
            .clone()
            .unwrap_or_else(|| default_file.to_owned());
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                Ok((KekKeyStore::from_hex(&text)?, KekSource::File(path)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && configured.is_none() => {
                let kek = Zeroizing::new(random::bytes::<32>());
                write_owner_only(&path, hex::encode(kek.as_slice()).as_bytes())
                    .map_err(KeyStoreError::KekFile)?;
                Ok((KekKeyStore::from_bytes(&kek), KekSource::CreatedFile(path)))
            }
            Err(e) => Err(KeyStoreError::KekFile(e)),
        }
    }
}

/// Creates `path` readable and writable by its owner only, failing if it exists.
pub fn write_owner_only(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

impl KeyStore for KekKeyStore {
    fn wrap(&self, label: &WrapLabel<'_>, secret: &[u8]) -> Result<Vec<u8>, KeyStoreError> {
        let nonce = random::bytes::<WRAP_NONCE_LEN>();
        let aad = label.aad();
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            .map_err(|_| KeyStoreError::Wrap)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn unwrap(
        &self,
        label: &WrapLabel<'_>,
        wrapped: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeyStoreError> {
        if wrapped.len() < WRAP_NONCE_LEN {
            return Err(KeyStoreError::Unwrap);
        }
        let (nonce, sealed) = wrapped.split_at(WRAP_NONCE_LEN);
        let aad = label.aad();
        self.cipher
            .decrypt(
                &Nonce::from(<[u8; 12]>::try_from(nonce).map_err(|_| KeyStoreError::Unwrap)?),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| KeyStoreError::Unwrap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(tenant: &str) -> WrapLabel<'_> {
        WrapLabel {
            tenant_id: tenant,
            kind: "data",
            key_id: "1",
        }
    }

    #[test]
    fn wrapped_keys_unwrap_only_under_their_label_and_kek() {
        let store = KekKeyStore::from_bytes(&[7; 32]);
        let wrapped = store.wrap(&label("acme"), b"secret key bytes").unwrap();
        assert!(!wrapped.windows(6).any(|w| w == b"secret"));
        assert_eq!(
            store.unwrap(&label("acme"), &wrapped).unwrap().as_slice(),
            b"secret key bytes"
        );
        assert!(store.unwrap(&label("other"), &wrapped).is_err());
        assert!(
            KekKeyStore::from_bytes(&[8; 32])
                .unwrap(&label("acme"), &wrapped)
                .is_err()
        );
        let mut flipped = wrapped.clone();
        flipped[20] ^= 1;
        assert!(store.unwrap(&label("acme"), &flipped).is_err());
        assert!(store.unwrap(&label("acme"), &wrapped[..5]).is_err());
    }

    #[test]
    fn a_missing_default_kek_file_is_created_owner_only_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek");
        if std::env::var_os(KEK_ENV).is_none() {
            // An explicitly configured file must exist: it is never invented.
            assert!(matches!(
                KekKeyStore::load(Some(&path), &path),
                Err(KeyStoreError::KekFile(_))
            ));
            assert!(!path.exists());
        }
        let default = dir.path().join("default-kek");
        if std::env::var_os(KEK_ENV).is_none() && std::env::var_os(KEK_FILE_ENV).is_none() {
            let (a, source) = KekKeyStore::load(None, &default).unwrap();
            assert_eq!(source, KekSource::CreatedFile(default.clone()));
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(&default).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600);
            }
            let (b, source) = KekKeyStore::load(None, &default).unwrap();
            assert_eq!(source, KekSource::File(default.clone()));
            let wrapped = a.wrap(&label("t"), b"k").unwrap();
            assert_eq!(b.unwrap(&label("t"), &wrapped).unwrap().as_slice(), b"k");
        }
    }
}
