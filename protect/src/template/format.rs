//! The protected template and its byte format.

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{IomParams, MAX_HASHES, MatchThreshold, TemplateError, TemplateScheme};

/// First four bytes of every encoded template.
pub const TEMPLATE_MAGIC: [u8; 4] = *b"FSTP";
/// The template format version this build writes and reads.
pub const TEMPLATE_FORMAT_VERSION: u8 = 1;
/// magic (4) + version (1) + scheme (1) + m (2) + q (2) + key version (4).
pub const TEMPLATE_HEADER_LEN: usize = 14;
/// Longest valid encoded template.
pub const MAX_TEMPLATE_LEN: usize = TEMPLATE_HEADER_LEN + MAX_HASHES as usize;

/// A cancelable face template: the indices of the IoM hash functions of one
/// subject's transform key, plus the header needed to compare it.
///
/// It holds no key and cannot be compared with a template of another key
/// version or other parameters. Wiped on drop: it is still biometric data.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ProtectedTemplate {
    #[zeroize(skip)]
    params: IomParams,
    #[zeroize(skip)]
    key_version: u32,
    indices: Zeroizing<Vec<u8>>,
}

impl ProtectedTemplate {
    pub(crate) fn from_parts(
        params: IomParams,
        key_version: u32,
        indices: Zeroizing<Vec<u8>>,
    ) -> Self {
        debug_assert_eq!(indices.len(), usize::from(params.hashes()));
        ProtectedTemplate {
            params,
            key_version,
            indices,
        }
    }

    pub fn scheme(&self) -> TemplateScheme {
        TemplateScheme::IomGrp
    }

    pub fn params(&self) -> IomParams {
        self.params
    }

    pub fn key_version(&self) -> u32 {
        self.key_version
    }

    /// The hash indices, each below the window size.
    pub fn indices(&self) -> &[u8] {
        &self.indices
    }

    /// Length of [`Self::to_bytes`]: fixed by the parameters.
    pub fn encoded_len(&self) -> usize {
        TEMPLATE_HEADER_LEN + self.indices.len()
    }

    /// The version 1 encoding: header then one byte per hash index.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(self.encoded_len()));
        out.extend_from_slice(&TEMPLATE_MAGIC);
        out.push(TEMPLATE_FORMAT_VERSION);
        out.push(self.scheme().id());
        out.extend_from_slice(&self.params.hashes().to_be_bytes());
        out.extend_from_slice(&self.params.window().to_be_bytes());
        out.extend_from_slice(&self.key_version.to_be_bytes());
        out.extend_from_slice(&self.indices);
        out
    }

    /// Decodes and validates an encoded template (untrusted bytes welcome).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TemplateError> {
        if bytes.len() < TEMPLATE_HEADER_LEN {
            return Err(TemplateError::Truncated);
        }
        if bytes[0..4] != TEMPLATE_MAGIC {
            return Err(TemplateError::BadMagic);
        }
        if bytes[4] != TEMPLATE_FORMAT_VERSION {
            return Err(TemplateError::UnsupportedVersion(bytes[4]));
        }
        if TemplateScheme::from_id(bytes[5]) != Some(TemplateScheme::IomGrp) {
            return Err(TemplateError::UnsupportedScheme(bytes[5]));
        }
        let m = u16::from_be_bytes([bytes[6], bytes[7]]);
        let q = u16::from_be_bytes([bytes[8], bytes[9]]);
        let params = IomParams::new(m, q)?;
        let key_version = u32::from_be_bytes([bytes[10], bytes[11], bytes[12], bytes[13]]);
        let expected = TEMPLATE_HEADER_LEN + usize::from(m);
        if bytes.len() != expected {
            return Err(TemplateError::InconsistentLength {
                expected,
                actual: bytes.len(),
            });
        }
        let payload = &bytes[TEMPLATE_HEADER_LEN..];
        if payload.iter().any(|&i| u16::from(i) >= q) {
            return Err(TemplateError::IndexOutOfRange);
        }
        Ok(ProtectedTemplate {
            params,
            key_version,
            indices: Zeroizing::new(payload.to_vec()),
        })
    }

    /// Same as [`compare`].
    pub fn compare(&self, other: &ProtectedTemplate) -> Result<TemplateScore, TemplateError> {
        compare(self, other)
    }
}

/// Similarity of two templates in the protected domain: the fraction of hash
/// functions whose indices agree. Both must share scheme, parameters and key
/// version; the count runs in time independent of the indices.
pub fn compare(
    a: &ProtectedTemplate,
    b: &ProtectedTemplate,
) -> Result<TemplateScore, TemplateError> {
    if a.params != b.params {
        return Err(TemplateError::ParameterMismatch);
    }
    if a.key_version != b.key_version {
        return Err(TemplateError::KeyVersionMismatch);
    }
    let equal: u32 = a
        .indices
        .iter()
        .zip(b.indices.iter())
        .map(|(x, y)| u32::from(x.ct_eq(y).unwrap_u8()))
        .sum();
    Ok(TemplateScore(
        f64::from(equal) / f64::from(a.params.hashes()),
    ))
}

impl PartialEq for ProtectedTemplate {
    fn eq(&self, other: &Self) -> bool {
        self.params == other.params
            && self.key_version == other.key_version
            && bool::from(self.indices.as_slice().ct_eq(other.indices.as_slice()))
    }
}

impl Eq for ProtectedTemplate {}

impl std::fmt::Debug for ProtectedTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProtectedTemplate")
            .field("scheme", &self.scheme())
            .field("params", &self.params)
            .field("key_version", &self.key_version)
            .finish_non_exhaustive()
    }
}

/// The fraction of agreeing hash indices, in `0.0..=1.0`. Unrelated faces
/// score near `1/q`; the same face under the same key scores high.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct TemplateScore(f64);

impl TemplateScore {
    pub fn value(self) -> f64 {
        self.0
    }

    /// The decision: at or above the threshold.
    pub fn is_match(self, threshold: MatchThreshold) -> bool {
        self.0 >= threshold.value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(m: u16, q: u16, fill: u8) -> ProtectedTemplate {
        ProtectedTemplate::from_parts(
            IomParams::new(m, q).unwrap(),
            9,
            Zeroizing::new(vec![fill; usize::from(m)]),
        )
    }

    #[test]
    fn encoding_layout_and_round_trip() {
        let t = template(3, 16, 5);
        let bytes = t.to_bytes();
        assert_eq!(
            bytes.as_slice(),
            &[
                b'F', b'S', b'T', b'P', 1, 1, 0, 3, 0, 16, 0, 0, 0, 9, 5, 5, 5
            ]
        );
        assert_eq!(ProtectedTemplate::from_bytes(&bytes).unwrap(), t);
        assert_eq!(bytes.len(), t.encoded_len());
    }

    #[test]
    fn typed_decoding_errors() {
        let good = template(4, 16, 1).to_bytes().to_vec();
        assert_eq!(
            ProtectedTemplate::from_bytes(&good[..13]),
            Err(TemplateError::Truncated)
        );
        let mut b = good.clone();
        b[0] = b'X';
        assert_eq!(
            ProtectedTemplate::from_bytes(&b),
            Err(TemplateError::BadMagic)
        );
        let mut b = good.clone();
        b[4] = 2;
        assert_eq!(
            ProtectedTemplate::from_bytes(&b),
            Err(TemplateError::UnsupportedVersion(2))
        );
        let mut b = good.clone();
        b[5] = 7;
        assert_eq!(
            ProtectedTemplate::from_bytes(&b),
            Err(TemplateError::UnsupportedScheme(7))
        );
        let mut b = good.clone();
        b[9] = 1;
        assert_eq!(
            ProtectedTemplate::from_bytes(&b),
            Err(TemplateError::InvalidParameters)
        );
        let mut b = good.clone();
        b.push(0);
        assert_eq!(
            ProtectedTemplate::from_bytes(&b),
            Err(TemplateError::InconsistentLength {
                expected: 18,
                actual: 19
            })
        );
        assert!(matches!(
            ProtectedTemplate::from_bytes(&good[..17]),
            Err(TemplateError::InconsistentLength { .. })
        ));
        let mut b = good.clone();
        b[15] = 16;
        assert_eq!(
            ProtectedTemplate::from_bytes(&b),
            Err(TemplateError::IndexOutOfRange)
        );
    }

    #[test]
    fn compare_refuses_mismatches() {
        let a = template(4, 16, 1);
        let mut b = template(4, 16, 1);
        b.indices[0] = 2;
        assert_eq!(compare(&a, &b).unwrap().value(), 0.75);
        assert!(compare(&a, &a).unwrap().is_match(MatchThreshold::DEFAULT));
        assert_eq!(
            compare(&a, &template(4, 17, 1)),
            Err(TemplateError::ParameterMismatch)
        );
        assert_eq!(
            compare(&a, &template(5, 16, 1)),
            Err(TemplateError::ParameterMismatch)
        );
        let mut c = template(4, 16, 1);
        c.key_version = 10;
        assert_eq!(compare(&a, &c), Err(TemplateError::KeyVersionMismatch));
        assert!(!format!("{a:?}").contains("indices"));
    }
}
