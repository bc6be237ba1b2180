//! Transform keys: HKDF-SHA256 from the tenant's template secret, bound to one
//! subject, one key version and one parameter set.

use hkdf::Hkdf;
use rand_core::CryptoRng;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::iom;
use super::{Embedding, IomParams, ProtectedTemplate, TemplateError, TemplatePart};

/// HKDF salt of template key derivation (format version 1).
pub(crate) const KDF_SALT: &[u8] = b"faceseal/template/v1";
/// Scheme label, the first length-prefixed field of the HKDF info.
pub(crate) const KDF_LABEL: &[u8] = b"faceseal/template/iom-grp/v1";

/// Longest subject id accepted, in bytes.
pub const MAX_SUBJECT_ID_LEN: usize = 256;

/// A tenant's template secret: the root of every transform key of the tenant.
///
/// Kept on the device (or in the tenant's key store); never leaves in a
/// template or an envelope. Rotating it, or bumping the key version, revokes
/// every template made under the old one.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct TemplateSecret {
    bytes: Zeroizing<Vec<u8>>,
}

impl TemplateSecret {
    /// Shortest accepted secret: 256 bits.
    pub const MIN_LEN: usize = 32;
    /// Longest accepted secret.
    pub const MAX_LEN: usize = 1024;

    /// Copies a secret of [`Self::MIN_LEN`] to [`Self::MAX_LEN`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TemplateError> {
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&bytes.len()) {
            return Err(TemplateError::SecretLength {
                min: Self::MIN_LEN,
                max: Self::MAX_LEN,
            });
        }
        Ok(TemplateSecret {
            bytes: Zeroizing::new(bytes.to_vec()),
        })
    }

    /// A fresh 32-byte secret.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; Self::MIN_LEN]);
        rng.fill_bytes(&mut bytes);
        TemplateSecret { bytes }
    }

    /// The secret bytes, for the caller's key store.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl std::fmt::Debug for TemplateSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TemplateSecret(<redacted>)")
    }
}

/// The transform key of one subject under one key version: it fixes the
/// projection matrices of the IoM hash functions.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct TemplateKey {
    seed: Zeroizing<[u8; 32]>,
    #[zeroize(skip)]
    params: IomParams,
    #[zeroize(skip)]
    key_version: u32,
}

impl TemplateKey {
    /// Derives the key of `subject_id` (1 to [`MAX_SUBJECT_ID_LEN`] bytes of
    /// UTF-8) under `key_version`:
    ///
    /// `seed = HKDF-SHA256(salt = "faceseal/template/v1", IKM = secret,
    /// info = LP("faceseal/template/iom-grp/v1") || LP(subject_id) ||
    /// u32be(key_version) || u16be(m) || u16be(q), L = 32)`
    /// with `LP(x) = u32be(len(x)) || x`.
    pub fn derive(
        secret: &TemplateSecret,
        subject_id: &str,
        key_version: u32,
        params: IomParams,
    ) -> Result<Self, TemplateError> {
        if subject_id.is_empty() || subject_id.len() > MAX_SUBJECT_ID_LEN {
            return Err(TemplateError::SubjectIdLength {
                max: MAX_SUBJECT_ID_LEN,
            });
        }
        let info = kdf_info(subject_id.as_bytes(), key_version, params);
        let mut seed = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(KDF_SALT), &secret.bytes)
            .expand(&info, seed.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        Ok(TemplateKey {
            seed,
            params,
            key_version,
        })
    }

    pub fn params(&self) -> IomParams {
        self.params
    }

    pub fn key_version(&self) -> u32 {
        self.key_version
    }

    /// Transforms an embedding into a protected template. The embedding is
    /// consumed and wiped when this returns, as is every intermediate value
    /// (normalised copy, projection rows, projections).
    pub fn protect(&self, embedding: Embedding) -> Result<ProtectedTemplate, TemplateError> {
        let indices = iom::hash(&self.seed, self.params, embedding.values())?;
        drop(embedding);
        Ok(ProtectedTemplate::from_parts(
            self.params,
            self.key_version,
            indices,
        ))
    }

    /// Hash functions `hashes` (a run of `0..m`, see [`IomParams::split`]) of
    /// [`Self::protect`], for making one template on several cores. The
    /// embedding is borrowed, the intermediate values wiped as in `protect`.
    pub fn protect_part(
        &self,
        embedding: &Embedding,
        hashes: std::ops::Range<u16>,
    ) -> Result<TemplatePart, TemplateError> {
        // `hash_range` refuses a range outside `0..m` (PartsMismatch).
        let indices = iom::hash_range(&self.seed, self.params, embedding.values(), hashes.clone())?;
        Ok(TemplatePart {
            params: self.params,
            key_version: self.key_version,
            hashes,
            indices,
        })
    }

    /// Joins parts made with this key's parameters and version, covering
    /// `0..m` once each in order, into the template [`Self::protect`] makes.
    pub fn assemble(
        &self,
        parts: impl IntoIterator<Item = TemplatePart>,
    ) -> Result<ProtectedTemplate, TemplateError> {
        let mut indices = Zeroizing::new(Vec::with_capacity(usize::from(self.params.hashes())));
        let mut next = 0u16;
        for part in parts {
            if part.params != self.params
                || part.key_version != self.key_version
                || part.hashes.start != next
                || part.indices.len() != part.hashes.len()
            {
                return Err(TemplateError::PartsMismatch);
            }
            indices.extend_from_slice(&part.indices);
            next = part.hashes.end;
        }
        if next != self.params.hashes() {
            return Err(TemplateError::PartsMismatch);
        }
        Ok(ProtectedTemplate::from_parts(
            self.params,
            self.key_version,
            indices,
        ))
    }

    /// The projection seed, for the stolen-key attack only.
    #[cfg(feature = "evaluation")]
    pub(crate) fn seed(&self) -> &[u8; 32] {
        &self.seed
    }
}

impl std::fmt::Debug for TemplateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateKey")
            .field("params", &self.params)
            .field("key_version", &self.key_version)
            .finish_non_exhaustive()
    }
}

fn kdf_info(subject_id: &[u8], key_version: u32, params: IomParams) -> Vec<u8> {
    let mut info = Vec::with_capacity(4 + KDF_LABEL.len() + 4 + subject_id.len() + 8);
    push_length_prefixed(&mut info, KDF_LABEL);
    push_length_prefixed(&mut info, subject_id);
    info.extend_from_slice(&key_version.to_be_bytes());
    info.extend_from_slice(&params.hashes().to_be_bytes());
    info.extend_from_slice(&params.window().to_be_bytes());
    info
}

fn push_length_prefixed(out: &mut Vec<u8>, field: &[u8]) {
    let len = u32::try_from(field.len()).expect("fields are bounded far below 4 GiB");
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(field);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> TemplateSecret {
        TemplateSecret::from_bytes(&[7u8; 32]).unwrap()
    }

    #[test]
    fn secret_and_subject_limits() {
        assert!(TemplateSecret::from_bytes(&[0u8; 31]).is_err());
        assert!(TemplateSecret::from_bytes(&[0u8; 1025]).is_err());
        let s = secret();
        assert!(TemplateKey::derive(&s, "", 1, IomParams::DEFAULT).is_err());
        let long = "x".repeat(MAX_SUBJECT_ID_LEN + 1);
        assert!(TemplateKey::derive(&s, &long, 1, IomParams::DEFAULT).is_err());
        assert_eq!(format!("{s:?}"), "TemplateSecret(<redacted>)");
    }

    fn sample_embedding() -> Embedding {
        let mut values = [0f32; 128];
        for (i, v) in values.iter_mut().enumerate() {
            *v = ((i * 37) % 11) as f32 - 5.0;
        }
        Embedding::from_array(values)
    }

    #[test]
    fn parts_assemble_to_the_whole_template_and_nothing_else() {
        let params = IomParams::new(64, 8).unwrap();
        let key = TemplateKey::derive(&secret(), "s", 1, params).unwrap();
        let e = sample_embedding();
        let whole = key.protect(sample_embedding()).unwrap();
        let parts = |runs: &[std::ops::Range<u16>]| -> Vec<TemplatePart> {
            runs.iter()
                .map(|r| key.protect_part(&e, r.clone()).unwrap())
                .collect()
        };
        for n in [1, 2, 3, 64] {
            let joined = key.assemble(parts(&params.split(n))).unwrap();
            assert_eq!(joined.to_bytes(), whole.to_bytes());
        }
        let mismatch = Some(TemplateError::PartsMismatch);
        // Missing, overlapping, out of order, past the end.
        assert_eq!(
            key.assemble(parts(&[0..10, 20..64])).err(),
            mismatch.clone()
        );
        assert_eq!(
            key.assemble(parts(&[0..30, 20..64])).err(),
            mismatch.clone()
        );
        assert_eq!(
            key.assemble(parts(&[32..64, 0..32])).err(),
            mismatch.clone()
        );
        let first_half = key.protect_part(&e, 0..32).unwrap();
        assert_eq!(key.assemble([first_half]).err(), mismatch.clone());
        assert_eq!(key.protect_part(&e, 60..65).err(), mismatch.clone());
        // A part made under another key version or other parameters.
        let other_version = TemplateKey::derive(&secret(), "s", 2, params).unwrap();
        let foreign = other_version.protect_part(&e, 32..64).unwrap();
        let first = key.protect_part(&e, 0..32).unwrap();
        assert_eq!(key.assemble([first, foreign]).err(), mismatch);
        assert_eq!(
            format!("{:?}", key.protect_part(&e, 0..4).unwrap()),
            "TemplatePart(0..4, <redacted>)"
        );
    }

    #[test]
    fn info_is_length_prefixed() {
        let info = kdf_info(b"ab", 0x0102_0304, IomParams::new(512, 16).unwrap());
        let mut expected = Vec::new();
        expected.extend_from_slice(&[0, 0, 0, 28]);
        expected.extend_from_slice(b"faceseal/template/iom-grp/v1");
        expected.extend_from_slice(&[0, 0, 0, 2, b'a', b'b']);
        expected.extend_from_slice(&[1, 2, 3, 4, 0x02, 0x00, 0x00, 0x10]);
        assert_eq!(info, expected);
    }

    /// The worked example of `docs/template.md`, computed independently.
    #[test]
    fn worked_example() {
        use sha2::Digest;
        let secret = TemplateSecret::from_bytes(&[0x5a; 32]).unwrap();
        let key = TemplateKey::derive(&secret, "subject-0001", 1, IomParams::DEFAULT).unwrap();
        assert_eq!(
            hex::encode(key.seed()),
            "0b8efbbd2402caa981c45f4bcbd072369ec001ed5e762848173463b82dca4648"
        );
        let mut stream = super::iom::GaussianStream::new(key.seed());
        let first = [
            1.4071969340582657,
            -0.7230951536626428,
            1.1298692572973696,
            -0.7446660746501189,
        ];
        for expected in first {
            let z: f64 = stream.next_gaussian();
            assert!((z - expected).abs() < 1e-12, "{z} vs {expected}");
        }
        let mut values = [0f32; crate::embedding::EMBEDDING_DIM];
        for (i, v) in values.iter_mut().enumerate() {
            *v = (((i * 37) % 128) as f32 - 64.0) / 256.0;
        }
        let template = key.protect(Embedding::from_array(values)).unwrap();
        assert_eq!(
            &template.indices()[..16],
            &[3, 3, 6, 2, 3, 5, 7, 2, 4, 5, 3, 5, 0, 5, 6, 3]
        );
        assert_eq!(
            hex::encode(sha2::Sha256::digest(template.to_bytes().as_slice())),
            "fad87bbfffd01139cba31f6a0c98f815cd4c720ade1a2a06bf03ec424a58fc7c"
        );
    }

    #[test]
    fn every_input_changes_the_seed() {
        let s = secret();
        let p = IomParams::DEFAULT;
        let base = TemplateKey::derive(&s, "alice", 1, p).unwrap();
        let others = [
            TemplateKey::derive(&s, "alicf", 1, p).unwrap(),
            TemplateKey::derive(&s, "alice", 2, p).unwrap(),
            TemplateKey::derive(&s, "alice", 1, IomParams::new(512, 17).unwrap()).unwrap(),
            TemplateKey::derive(
                &TemplateSecret::from_bytes(&[8u8; 32]).unwrap(),
                "alice",
                1,
                p,
            )
            .unwrap(),
        ];
        for other in &others {
            assert_ne!(base.seed(), other.seed());
        }
        let again = TemplateKey::derive(&s, "alice", 1, p).unwrap();
        assert_eq!(base.seed(), again.seed());
    }
}
