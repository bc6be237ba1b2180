//! Cross-checks the envelope format against an independent implementation:
//! `tests/python/open_envelope.py`, written from `docs/envelope.md` on top of
//! Python's `cryptography` package, must open what the Rust code seals, and
//! refuse what was altered. Also pins the worked example of the document.
//!
//! Needs `python3` with `cryptography` (>= 42); fails, never skips, without them.

use std::path::{Path, PathBuf};
use std::process::Command;

use chacha20::ChaCha20Rng;
use faceseal_core::Embedding;
use faceseal_core::seal::{
    self, ChallengeNonce, Purpose, SealContext, SealedTemplate, TenantSecretKey,
};
use faceseal_core::template::{IomParams, ProtectedTemplate, TemplateKey, TemplateSecret};
use rand_core::{Infallible, SeedableRng, TryCryptoRng, TryRng};

/// RFC 7748 section 6.1: Bob's secret key plays the tenant key ...
const TENANT_SECRET: &str = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
/// ... and Alice's the ephemeral key, so the shared secret is the RFC's.
const EPHEMERAL_SECRET: &str = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";

/// The worked example of `docs/envelope.md`.
const EXAMPLE_ENVELOPE: &str = "465353450301c55919936309765d6d9f997d554d5a730078000461636d65000c\
    7375626a6563742d30303031010010636f6e73656e742d323032342d30303100\
    0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fc5\
    c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c500\
    0000006553f1003f7851ec3f6147ae028520f0098930a754748b7ddcb43ef75a\
    0dbf3a0d26381af4eba4a98eaa9b4e6a219f40c19ac885ad1f1eb578590c714c\
    a650d2b143f10a5c5dbf67c667c87a1416614c07e4f7";

/// Hands out fixed bytes: makes the ephemeral key of the example reproducible.
struct FixedBytes(Vec<u8>);

impl TryRng for FixedBytes {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        unimplemented!("only fill_bytes is used")
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        unimplemented!("only fill_bytes is used")
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        assert!(dst.len() <= self.0.len(), "fixed bytes exhausted");
        let rest = self.0.split_off(dst.len());
        dst.copy_from_slice(&self.0);
        self.0 = rest;
        Ok(())
    }
}

impl TryCryptoRng for FixedBytes {}

fn tenant_key() -> TenantSecretKey {
    let mut bytes: [u8; 32] = hex::decode(TENANT_SECRET).unwrap().try_into().unwrap();
    TenantSecretKey::from_bytes(&mut bytes)
}

fn example_context() -> SealContext {
    let mut challenge = [0u8; 32];
    challenge
        .iter_mut()
        .enumerate()
        .for_each(|(i, b)| *b = i as u8);
    SealContext {
        tenant_id: "acme".into(),
        subject_id: "subject-0001".into(),
        purpose: Purpose::Enrol,
        consent_ref: "consent-2024-001".into(),
        challenge: ChallengeNonce::from_bytes(challenge),
        capture_digest: [0xc5; 32],
        created_at: 1_700_000_000,
        liveness_score: 0.97,
        quality_score: 0.88,
        liveness_level: faceseal_core::seal::SecurityLevel::Standard,
    }
}

fn example_template() -> ProtectedTemplate {
    let mut bytes = b"FSTP\x01\x01\x00\x08\x00\x10\x00\x00\x00\x01".to_vec();
    bytes.extend_from_slice(&[3, 1, 4, 1, 5, 9, 2, 6]);
    ProtectedTemplate::from_bytes(&bytes).unwrap()
}

fn example_envelope() -> SealedTemplate {
    let mut rng = FixedBytes(hex::decode(EPHEMERAL_SECRET).unwrap());
    seal::seal(
        &example_template(),
        tenant_key().public_key(),
        &example_context(),
        &mut rng,
    )
    .unwrap()
}

#[test]
fn worked_example_is_stable() {
    let sealed = example_envelope();
    let (context, template) = seal::open(sealed.as_bytes(), &tenant_key()).unwrap();
    assert_eq!(context, example_context());
    assert_eq!(template, example_template());
    assert_eq!(hex::encode(sealed.as_bytes()), EXAMPLE_ENVELOPE);
    // The intermediate values the document lists.
    let header = seal::parse(sealed.as_bytes()).unwrap();
    assert_eq!(
        header.key_id.to_string(),
        "c55919936309765d6d9f997d554d5a73"
    );
}

/// Runs the Python opener; `Ok(json)` on success, `Err(stderr)` if it refused.
fn python_open(
    dir: &Path,
    name: &str,
    envelope: &[u8],
    secret: &[u8; 32],
) -> Result<serde_json::Value, String> {
    let envelope_path = dir.join(format!("{name}.envelope"));
    let key_path = dir.join(format!("{name}.key"));
    std::fs::write(&envelope_path, envelope).unwrap();
    std::fs::write(&key_path, secret).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/open_envelope.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(&envelope_path)
        .arg(&key_path)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}): the envelope cross-check needs python3 with the 'cryptography' package")
        });
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    match output.status.code() {
        Some(0) => Ok(serde_json::from_slice(&output.stdout).expect("JSON from open_envelope.py")),
        Some(1) => Err(stderr),
        Some(3) => {
            panic!("python3 lacks the 'cryptography' package (pip install cryptography): {stderr}")
        }
        other => panic!("open_envelope.py failed ({other:?}): {stderr}"),
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("faceseal-envelope-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn check_opened(
    json: &serde_json::Value,
    context: &SealContext,
    key: &TenantSecretKey,
    payload: &[u8],
) {
    assert_eq!(json["key_id"], key.key_id().to_string());
    assert_eq!(json["payload"], hex::encode(payload));
    let c = &json["context"];
    assert_eq!(c["tenant_id"], context.tenant_id.as_str());
    assert_eq!(c["subject_id"], context.subject_id.as_str());
    let purpose = match context.purpose {
        Purpose::Enrol => "enrol",
        _ => "verify",
    };
    assert_eq!(c["purpose"], purpose);
    assert_eq!(c["consent_ref"], context.consent_ref.as_str());
    assert_eq!(c["challenge"], hex::encode(context.challenge.as_bytes()));
    assert_eq!(c["capture_digest"], hex::encode(context.capture_digest));
    assert_eq!(c["created_at"], context.created_at);
    assert_eq!(
        c["liveness_score_bits"],
        hex::encode(context.liveness_score.to_be_bytes())
    );
    assert_eq!(
        c["quality_score_bits"],
        hex::encode(context.quality_score.to_be_bytes())
    );
    assert_eq!(c["liveness_level"], context.liveness_level.name());
}

#[test]
fn python_opens_what_rust_seals() {
    let dir = TempDir::new();
    let key = tenant_key();
    let secret = *key.to_bytes();

    // The worked example of the specification.
    let sealed = example_envelope();
    let json = python_open(&dir.0, "example", sealed.as_bytes(), &secret).unwrap();
    check_opened(
        &json,
        &example_context(),
        &key,
        &example_template().to_bytes(),
    );

    // A real template of the default parameters, verify purpose, random ephemeral key.
    let template_secret = TemplateSecret::from_bytes(&[0x33; 32]).unwrap();
    let template_key =
        TemplateKey::derive(&template_secret, "subject-0001", 4, IomParams::DEFAULT).unwrap();
    let mut values = [0f32; 128];
    values
        .iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = ((i as f32) * 0.37).sin() * 0.05);
    let template = template_key.protect(Embedding::from_array(values)).unwrap();
    let mut context = example_context();
    context.purpose = Purpose::Verify;
    context.tenant_id = "tenant-é".into();
    context.liveness_score = 0.0;
    context.quality_score = 1.0;
    let mut rng = ChaCha20Rng::from_seed([9; 32]);
    let sealed = seal::seal(&template, key.public_key(), &context, &mut rng).unwrap();
    let json = python_open(&dir.0, "real", sealed.as_bytes(), &secret).unwrap();
    check_opened(&json, &context, &key, &template.to_bytes());

    // Altered header, context, ephemeral key or ciphertext: refused there too.
    let bytes = sealed.as_bytes();
    let context_len = usize::from(u16::from_be_bytes([bytes[22], bytes[23]]));
    for (i, at) in [
        7,
        24 + 3,
        24 + context_len + 5,
        bytes.len() - 20,
        bytes.len() - 1,
    ]
    .into_iter()
    .enumerate()
    {
        let mut altered = bytes.to_vec();
        altered[at] ^= 0x04;
        let refused = python_open(&dir.0, &format!("altered-{i}"), &altered, &secret);
        assert!(
            refused.is_err(),
            "python opened an envelope altered at byte {at}"
        );
    }

    // Another tenant's key: refused.
    let other = TenantSecretKey::generate(&mut rng);
    assert!(python_open(&dir.0, "other", sealed.as_bytes(), &other.to_bytes()).is_err());
}
