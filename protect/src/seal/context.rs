//! The operation context bound to a sealed template, and its canonical
//! encoding (fixed field order, length-prefixed strings, big-endian integers).

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;

use super::{ContextField, SealError};

/// Longest tenant id, in bytes of UTF-8.
pub const MAX_TENANT_ID_LEN: usize = 128;
/// Longest subject id, in bytes of UTF-8 (the template's limit).
pub const MAX_SUBJECT_ID_LEN: usize = crate::template::MAX_SUBJECT_ID_LEN;
/// Longest consent reference, in bytes of UTF-8.
pub const MAX_CONSENT_REF_LEN: usize = 256;

/// What the sealed template is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Purpose {
    /// A reference template to be stored.
    Enrol,
    /// A probe to be compared with the stored reference, then discarded.
    Verify,
}

impl Purpose {
    pub const fn code(self) -> u8 {
        match self {
            Purpose::Enrol => 1,
            Purpose::Verify => 2,
        }
    }

    pub const fn from_code(code: u8) -> Option<Purpose> {
        match code {
            1 => Some(Purpose::Enrol),
            2 => Some(Purpose::Verify),
            _ => None,
        }
    }
}

/// How much evidence of life an operation demands: the tenant requires one,
/// the device binds the one it applied into the envelope, and the server
/// refuses an envelope bound to a lower one. Ordered: `Basic < Standard <
/// Strict`. What each level checks is in `faceseal_vision::liveness::LivenessPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SecurityLevel {
    Basic,
    #[default]
    Standard,
    Strict,
}

impl SecurityLevel {
    pub const fn code(self) -> u8 {
        match self {
            SecurityLevel::Basic => 1,
            SecurityLevel::Standard => 2,
            SecurityLevel::Strict => 3,
        }
    }

    pub const fn from_code(code: u8) -> Option<SecurityLevel> {
        match code {
            1 => Some(SecurityLevel::Basic),
            2 => Some(SecurityLevel::Standard),
            3 => Some(SecurityLevel::Strict),
            _ => None,
        }
    }

    /// The lower-case name used in JSON and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            SecurityLevel::Basic => "basic",
            SecurityLevel::Standard => "standard",
            SecurityLevel::Strict => "strict",
        }
    }

    pub fn from_name(name: &str) -> Option<SecurityLevel> {
        [
            SecurityLevel::Basic,
            SecurityLevel::Standard,
            SecurityLevel::Strict,
        ]
        .into_iter()
        .find(|l| l.name() == name)
    }
}

/// The server's single-use challenge, echoed in the envelope against replay.
#[derive(Clone, Copy, Eq)]
pub struct ChallengeNonce([u8; 32]);

impl ChallengeNonce {
    pub const LEN: usize = 32;

    pub const fn from_bytes(bytes: [u8; 32]) -> ChallengeNonce {
        ChallengeNonce(bytes)
    }

    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> ChallengeNonce {
        let mut bytes = [0u8; 32];
        rng.fill_bytes(&mut bytes);
        ChallengeNonce(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// Compared in constant time: the server matches it against issued nonces.
impl PartialEq for ChallengeNonce {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for ChallengeNonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChallengeNonce({})", hex::encode(self.0))
    }
}

/// Everything the server must check before it trusts a sealed template. It
/// travels in clear in the envelope header and is authenticated as
/// associated data: readable by anyone on the path, alterable by no one.
#[derive(Clone, PartialEq)]
pub struct SealContext {
    /// 1 to [`MAX_TENANT_ID_LEN`] bytes of UTF-8.
    pub tenant_id: String,
    /// 1 to [`MAX_SUBJECT_ID_LEN`] bytes of UTF-8.
    pub subject_id: String,
    pub purpose: Purpose,
    /// The consent record this operation relies on: 1 to
    /// [`MAX_CONSENT_REF_LEN`] bytes of UTF-8.
    pub consent_ref: String,
    pub challenge: ChallengeNonce,
    /// SHA-256 digest of the captured frame sequence
    /// (`faceseal_vision::frame::sequence_digest`): ties the envelope to the exact
    /// frames the liveness decision saw, so a server can refuse a capture it
    /// has already received.
    pub capture_digest: [u8; 32],
    /// Creation time, seconds since the Unix epoch (UTC).
    pub created_at: u64,
    /// Liveness score of the capture: finite (a negative zero is written as zero).
    pub liveness_score: f32,
    /// Quality score of the capture: finite (a negative zero is written as zero).
    pub quality_score: f32,
    /// The liveness level the device applied to the capture.
    pub liveness_level: SecurityLevel,
}

/// Identifiers are personal data: `Debug` shows their lengths only.
impl std::fmt::Debug for SealContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealContext")
            .field("tenant_id_len", &self.tenant_id.len())
            .field("subject_id_len", &self.subject_id.len())
            .field("purpose", &self.purpose)
            .field("consent_ref_len", &self.consent_ref.len())
            .field("created_at", &self.created_at)
            .field("liveness_score", &self.liveness_score)
            .field("quality_score", &self.quality_score)
            .field("liveness_level", &self.liveness_level)
            .finish_non_exhaustive()
    }
}

impl SealContext {
    /// The canonical encoding, after checking every field.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, SealError> {
        let invalid = SealError::InvalidContext;
        let mut out = Vec::with_capacity(
            2 + self.tenant_id.len()
                + 2
                + self.subject_id.len()
                + 1
                + 2
                + self.consent_ref.len()
                + 32
                + 32
                + 8
                + 4
                + 4
                + 1,
        );
        put_str(&mut out, &self.tenant_id, MAX_TENANT_ID_LEN)
            .ok_or(invalid(ContextField::TenantId))?;
        put_str(&mut out, &self.subject_id, MAX_SUBJECT_ID_LEN)
            .ok_or(invalid(ContextField::SubjectId))?;
        out.push(self.purpose.code());
        put_str(&mut out, &self.consent_ref, MAX_CONSENT_REF_LEN)
            .ok_or(invalid(ContextField::ConsentRef))?;
        out.extend_from_slice(&self.challenge.0);
        out.extend_from_slice(&self.capture_digest);
        out.extend_from_slice(&self.created_at.to_be_bytes());
        out.extend_from_slice(
            &score_bits(self.liveness_score)
                .ok_or(invalid(ContextField::LivenessScore))?
                .to_be_bytes(),
        );
        out.extend_from_slice(
            &score_bits(self.quality_score)
                .ok_or(invalid(ContextField::QualityScore))?
                .to_be_bytes(),
        );
        out.push(self.liveness_level.code());
        Ok(out)
    }

    /// Decodes exactly `bytes`; rejects anything [`Self::encode`] would not write.
    pub(crate) fn decode(bytes: &[u8]) -> Result<SealContext, SealError> {
        let mut r = Reader { bytes };
        let tenant_id = r.string(MAX_TENANT_ID_LEN, ContextField::TenantId)?;
        let subject_id = r.string(MAX_SUBJECT_ID_LEN, ContextField::SubjectId)?;
        let purpose = Purpose::from_code(r.take::<1>(ContextField::Purpose)?[0])
            .ok_or(SealError::Malformed(ContextField::Purpose))?;
        let consent_ref = r.string(MAX_CONSENT_REF_LEN, ContextField::ConsentRef)?;
        let challenge = ChallengeNonce(r.take::<32>(ContextField::Challenge)?);
        let capture_digest = r.take::<32>(ContextField::CaptureDigest)?;
        let created_at = u64::from_be_bytes(r.take::<8>(ContextField::CreatedAt)?);
        let liveness_score = r.score(ContextField::LivenessScore)?;
        let quality_score = r.score(ContextField::QualityScore)?;
        let liveness_level = SecurityLevel::from_code(r.take::<1>(ContextField::LivenessLevel)?[0])
            .ok_or(SealError::Malformed(ContextField::LivenessLevel))?;
        if !r.bytes.is_empty() {
            return Err(SealError::Malformed(ContextField::TrailingBytes));
        }
        Ok(SealContext {
            tenant_id,
            subject_id,
            purpose,
            consent_ref,
            challenge,
            capture_digest,
            created_at,
            liveness_score,
            quality_score,
            liveness_level,
        })
    }
}

fn put_str(out: &mut Vec<u8>, s: &str, max: usize) -> Option<()> {
    if s.is_empty() || s.len() > max {
        return None;
    }
    out.extend_from_slice(&u16::try_from(s.len()).ok()?.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
    Some(())
}

/// IEEE-754 binary32 bits of a finite score, negative zero made positive.
fn score_bits(score: f32) -> Option<u32> {
    if !score.is_finite() {
        return None;
    }
    Some(if score == 0.0 { 0 } else { score.to_bits() })
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self, field: ContextField) -> Result<[u8; N], SealError> {
        if self.bytes.len() < N {
            return Err(SealError::Malformed(field));
        }
        let (head, rest) = self.bytes.split_at(N);
        self.bytes = rest;
        Ok(head.try_into().expect("split at N"))
    }

    fn string(&mut self, max: usize, field: ContextField) -> Result<String, SealError> {
        let len = usize::from(u16::from_be_bytes(self.take::<2>(field)?));
        if len == 0 || len > max || self.bytes.len() < len {
            return Err(SealError::Malformed(field));
        }
        let (head, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        String::from_utf8(head.to_vec()).map_err(|_| SealError::Malformed(field))
    }

    fn score(&mut self, field: ContextField) -> Result<f32, SealError> {
        let bits = u32::from_be_bytes(self.take::<4>(field)?);
        let score = f32::from_bits(bits);
        if score_bits(score) != Some(bits) {
            return Err(SealError::Malformed(field));
        }
        Ok(score)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> SealContext {
        SealContext {
            tenant_id: "acme".into(),
            subject_id: "s-1".into(),
            purpose: Purpose::Enrol,
            consent_ref: "c-9".into(),
            challenge: ChallengeNonce::from_bytes([0xab; 32]),
            capture_digest: [0xcd; 32],
            created_at: 1_700_000_000,
            liveness_score: 0.75,
            quality_score: 0.5,
            liveness_level: SecurityLevel::Standard,
        }
    }

    #[test]
    fn security_levels_are_ordered_and_round_trip() {
        use SecurityLevel::*;
        assert!(Basic < Standard && Standard < Strict);
        assert_eq!(SecurityLevel::default(), Standard);
        for l in [Basic, Standard, Strict] {
            assert_eq!(SecurityLevel::from_code(l.code()), Some(l));
            assert_eq!(SecurityLevel::from_name(l.name()), Some(l));
        }
        assert_eq!(SecurityLevel::from_code(0), None);
        assert_eq!(SecurityLevel::from_name("STRICT"), None);
    }

    #[test]
    fn canonical_layout() {
        let bytes = sample().encode().unwrap();
        let mut expected = vec![0, 4];
        expected.extend_from_slice(b"acme");
        expected.extend_from_slice(&[0, 3]);
        expected.extend_from_slice(b"s-1");
        expected.push(1);
        expected.extend_from_slice(&[0, 3]);
        expected.extend_from_slice(b"c-9");
        expected.extend_from_slice(&[0xab; 32]);
        expected.extend_from_slice(&[0xcd; 32]);
        expected.extend_from_slice(&1_700_000_000u64.to_be_bytes());
        expected.extend_from_slice(&[0x3f, 0x40, 0, 0, 0x3f, 0, 0, 0]);
        expected.push(2); // Standard
        assert_eq!(bytes, expected);
        assert_eq!(SealContext::decode(&bytes).unwrap(), sample());
    }

    type Mutation = (fn(&mut SealContext), ContextField);

    #[test]
    fn encode_rejects_invalid_fields() {
        let cases: [Mutation; 6] = [
            (|c| c.tenant_id.clear(), ContextField::TenantId),
            (
                |c| c.subject_id = "x".repeat(MAX_SUBJECT_ID_LEN + 1),
                ContextField::SubjectId,
            ),
            (|c| c.consent_ref.clear(), ContextField::ConsentRef),
            (|c| c.liveness_score = f32::NAN, ContextField::LivenessScore),
            (
                |c| c.quality_score = f32::INFINITY,
                ContextField::QualityScore,
            ),
            (
                |c| c.tenant_id = "t".repeat(MAX_TENANT_ID_LEN + 1),
                ContextField::TenantId,
            ),
        ];
        for (mutate, field) in cases {
            let mut c = sample();
            mutate(&mut c);
            assert_eq!(c.encode(), Err(SealError::InvalidContext(field)));
        }
        let mut c = sample();
        c.quality_score = -0.0;
        let bytes = c.encode().unwrap();
        assert_eq!(&bytes[bytes.len() - 5..bytes.len() - 1], &[0, 0, 0, 0]);
    }

    #[test]
    fn decode_rejects_non_canonical() {
        let good = sample().encode().unwrap();
        let mut b = good.clone();
        b.push(0);
        assert_eq!(
            SealContext::decode(&b),
            Err(SealError::Malformed(ContextField::TrailingBytes))
        );
        let mut b = good.clone();
        let n = b.len();
        b[n - 5] = 0x80; // -0.0 quality
        b[n - 4..n - 1].fill(0);
        assert_eq!(
            SealContext::decode(&b),
            Err(SealError::Malformed(ContextField::QualityScore))
        );
        for level in [0u8, 4, 0xff] {
            let mut b = good.clone();
            *b.last_mut().unwrap() = level;
            assert_eq!(
                SealContext::decode(&b),
                Err(SealError::Malformed(ContextField::LivenessLevel))
            );
        }
        let mut b = good.clone();
        b.pop();
        assert_eq!(
            SealContext::decode(&b),
            Err(SealError::Malformed(ContextField::LivenessLevel))
        );
        let mut b = good.clone();
        b[2] = 0xff; // invalid UTF-8 in the tenant id
        assert_eq!(
            SealContext::decode(&b),
            Err(SealError::Malformed(ContextField::TenantId))
        );
        let mut b = good.clone();
        b[11] = 3; // purpose
        assert_eq!(
            SealContext::decode(&b),
            Err(SealError::Malformed(ContextField::Purpose))
        );
        let mut b = good.clone();
        b[0..2].copy_from_slice(&[0, 0]);
        assert_eq!(
            SealContext::decode(&b),
            Err(SealError::Malformed(ContextField::TenantId))
        );
        assert!(SealContext::decode(&good[..good.len() - 1]).is_err());
        let shown = format!("{:?}", sample());
        assert!(!shown.contains("acme") && !shown.contains("s-1") && !shown.contains("c-9"));
    }
}
