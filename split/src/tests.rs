//! The scheme end to end with made-up templates: two parties, one collective
//! key, encrypted comparisons that decide as the plaintext does.

use std::sync::Arc;

use fhe::bfv::{BfvParameters, Ciphertext, Encoding};
use fhe_traits::{FheDecoder, FheDecrypter};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::SplitError;
use crate::decision::{DecisionKey, DecisionRequest};
use crate::device::{self, EncryptedTemplate};
use crate::encoding::{Quantised, SCORE_COEFFICIENT};
use crate::keyholder::{KeyHolder, credential_digest};
use crate::keys::{CollectivePublicKey, KeyShare, contribution};
use crate::params::{self, COMPARISON_NOISE_BITS, DIMENSION, PLAINTEXT_BITS};
use crate::{noise, server};

const CREDENTIAL: &[u8] = b"server credential for tests";

struct Setup {
    par: Arc<BfvParameters>,
    server_share: KeyShare,
    public: CollectivePublicKey,
    decision_key: DecisionKey,
    holder: KeyHolder,
}

/// Two fresh key shares and their collective public key, made without a
/// key holder (the arithmetic tests need both shares in one place).
fn two_shares(
    rng: &mut ChaCha20Rng,
) -> (Arc<BfvParameters>, KeyShare, KeyShare, CollectivePublicKey) {
    let par = params::bfv().unwrap();
    let seed: [u8; 32] = rng.random();
    let a = KeyShare::generate(&par, rng);
    let b = KeyShare::generate(&par, rng);
    let public = CollectivePublicKey::combine(
        &par,
        &contribution(&a, &par, seed, rng).unwrap(),
        &contribution(&b, &par, seed, rng).unwrap(),
    )
    .unwrap();
    (par, a, b, public)
}

fn setup(tenant: &str, limit: u32, rng: &mut ChaCha20Rng) -> Setup {
    let par = params::bfv().unwrap();
    let mut holder = KeyHolder::in_memory(par.clone(), credential_digest(CREDENTIAL), limit);
    let seed: [u8; 32] = rng.random();
    let server_share = KeyShare::generate(&par, rng);
    let ours = contribution(&server_share, &par, seed, rng).unwrap();
    let theirs = holder.create_tenant(CREDENTIAL, tenant, seed, rng).unwrap();
    let public = CollectivePublicKey::combine(&par, &ours, &theirs.contribution).unwrap();
    Setup {
        par,
        server_share,
        public,
        decision_key: theirs.decision_key,
        holder,
    }
}

/// A random unit-ish embedding, and one at a chosen cosine from it.
fn embedding(rng: &mut ChaCha20Rng) -> Vec<f32> {
    (0..DIMENSION)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect()
}

fn near(base: &[f32], noise: f32, rng: &mut ChaCha20Rng) -> Vec<f32> {
    base.iter()
        .map(|v| v + noise * rng.random_range(-1.0f32..1.0))
        .collect()
}

fn request(tenant: &str, rng: &mut ChaCha20Rng) -> DecisionRequest {
    DecisionRequest {
        tenant: tenant.into(),
        subject: "subject-1".into(),
        request_id: rng.random(),
        nonce: rng.random(),
    }
}

#[test]
fn encrypted_decisions_equal_plaintext_decisions() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut s = setup("acme", 1000, &mut rng);
    let mut decided = [0usize; 2];
    for i in 0..12 {
        let base = embedding(&mut rng);
        let enrolled = Quantised::from_embedding(&base).unwrap();
        let probe = Quantised::from_embedding(&near(&base, 0.15 * i as f32, &mut rng)).unwrap();
        let score = enrolled.score(&probe);
        // Thresholds on both sides of the score, the score itself included.
        for threshold in [score - 1, score, score + 1, 0, 9000] {
            let ct = device::encrypt(&s.par, &s.public, &enrolled, &mut rng).unwrap();
            let partial = server::compare(
                &s.par,
                &s.public,
                &s.server_share,
                &ct,
                &probe,
                threshold,
                &mut rng,
            )
            .unwrap();
            let req = request("acme", &mut rng);
            let answer = s.holder.decide(CREDENTIAL, req.clone(), &partial).unwrap();
            let accept = s.decision_key.verify(&req, &answer).unwrap();
            assert_eq!(
                accept,
                score >= threshold,
                "score {score} threshold {threshold}"
            );
            decided[usize::from(accept)] += 1;
        }
    }
    assert!(decided[0] > 5 && decided[1] > 5, "{decided:?}");
}

/// A template of the largest l1 norm its l2 bound allows: equal magnitudes,
/// random signs.
fn flat(rng: &mut ChaCha20Rng) -> Quantised {
    let v: Vec<f32> = (0..DIMENSION)
        .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
        .collect();
    Quantised::from_embedding(&v).unwrap()
}

#[test]
fn the_noise_stays_within_its_bound_and_leaves_budget() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let (par, a, b, public) = two_shares(&mut rng);
    let mut worst_noise = f64::MIN;
    let mut least_budget = f64::MAX;
    for round in 0..3 {
        let enrolled = if round == 0 {
            flat(&mut rng)
        } else {
            Quantised::from_embedding(&embedding(&mut rng)).unwrap()
        };
        let probe = flat(&mut rng);
        let ct = device::encrypt(&par, &public, &enrolled, &mut rng).unwrap();
        let fresh = noise::measure(&ct.ciphertext(&par).unwrap(), &[&a, &b]).unwrap();
        let masked = server::masked_comparison(
            &par,
            &public,
            &ct.ciphertext(&par).unwrap(),
            &probe,
            0,
            &mut rng,
        )
        .unwrap();
        let before = noise::measure(&masked, &[&a, &b]).unwrap();
        assert!(before.noise_bits > fresh.noise_bits);
        worst_noise = worst_noise.max(before.noise_bits);
        let released = server::release(&par, &a, masked, &mut rng).unwrap();
        // After the server's share the ciphertext decrypts under b alone.
        let after = noise::measure(&released, &[&b]).unwrap();
        least_budget = least_budget.min(after.budget_bits);
        assert!(
            after.noise_bits > before.noise_bits + 30.0,
            "flooding dominates"
        );
    }
    assert!(
        worst_noise < f64::from(COMPARISON_NOISE_BITS),
        "comparison noise 2^{worst_noise:.1} above its bound"
    );
    assert!(least_budget > 1.0, "budget {least_budget:.1} bits");
}

#[test]
fn one_share_decrypts_nothing() {
    // The stolen-everything attacker: the server's share, every stored
    // ciphertext and the collective public key (the IoM template secret is
    // not used by this scheme and gives nothing more).
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let (par, server_share, holder_share, public) = two_shares(&mut rng);
    let template = Quantised::from_embedding(&embedding(&mut rng)).unwrap();
    let stored = device::encrypt(&par, &public, &template, &mut rng).unwrap();
    let ct = stored.ciphertext(&par).unwrap();

    let decode = |share: &KeyShare, ct: &Ciphertext| -> Vec<i64> {
        let pt = share.secret_key(&par).unwrap().try_decrypt(ct).unwrap();
        Vec::<i64>::try_decode(&pt, Encoding::poly()).unwrap()
    };
    let agree = |values: &[i64]| {
        values[..DIMENSION]
            .iter()
            .zip(template.values())
            .filter(|(a, b)| a == b)
            .count()
    };
    // Either share alone yields values spread over the whole plaintext space,
    // unrelated to the template: agreements at chance level (128 / 2^30).
    for share in [&server_share, &holder_share] {
        let values = decode(share, &ct);
        assert_eq!(agree(&values), 0);
        let large = values[..DIMENSION]
            .iter()
            .filter(|v| v.unsigned_abs() > 1 << (PLAINTEXT_BITS - 4))
            .count();
        assert!(large > DIMENSION / 2, "{large} large values");
    }
    // The control: both shares together do decrypt (so the test can fail).
    let both = server::release(&par, &server_share, ct, &mut rng).unwrap();
    assert_eq!(agree(&decode(&holder_share, &both)), DIMENSION);

    // An offline comparison decrypted with the server's share gives a "bit"
    // unrelated to the truth.
    let probe = Quantised::from_embedding(&embedding(&mut rng)).unwrap();
    let mut agreements = 0;
    let trials = 40;
    for i in 0..trials {
        let threshold = if i % 2 == 0 { -15000 } else { 15000 };
        let masked = server::masked_comparison(
            &par,
            &public,
            &stored.ciphertext(&par).unwrap(),
            &probe,
            threshold,
            &mut rng,
        )
        .unwrap();
        let values = decode(&server_share, &masked);
        let guess = values[SCORE_COEFFICIENT] >= 0;
        agreements += usize::from(guess == (template.score(&probe) >= threshold));
    }
    // Chance is 20 of 40; the truth would be 40.
    assert!((8..=32).contains(&agreements), "{agreements} of {trials}");
}

#[test]
fn through_the_key_holder_one_bit_per_attempt_until_locked() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let limit = 3;
    let mut s = setup("acme", limit, &mut rng);
    let victim = Quantised::from_embedding(&embedding(&mut rng)).unwrap();
    let stored = device::encrypt(&s.par, &s.public, &victim, &mut rng).unwrap();
    let attacker = Quantised::from_embedding(&embedding(&mut rng)).unwrap();
    let threshold = 8000;
    assert!(victim.score(&attacker) < threshold);
    for attempt in 1..=limit {
        let partial = server::compare(
            &s.par,
            &s.public,
            &s.server_share,
            &stored,
            &attacker,
            threshold,
            &mut rng,
        )
        .unwrap();
        let req = request("acme", &mut rng);
        let answer = s.holder.decide(CREDENTIAL, req.clone(), &partial).unwrap();
        assert!(!s.decision_key.verify(&req, &answer).unwrap());
        assert_eq!(s.holder.failures("acme", "subject-1"), attempt);
    }
    let partial = server::compare(
        &s.par,
        &s.public,
        &s.server_share,
        &stored,
        &victim,
        threshold,
        &mut rng,
    )
    .unwrap();
    // Locked: even the genuine template gets no answer now.
    assert!(matches!(
        s.holder
            .decide(CREDENTIAL, request("acme", &mut rng), &partial),
        Err(SplitError::Locked)
    ));
}

#[test]
fn replays_other_tenants_and_strangers_are_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let mut s = setup("acme", 10, &mut rng);
    let other = s
        .holder
        .create_tenant(CREDENTIAL, "globex", rng.random(), &mut rng)
        .unwrap();
    let t = Quantised::from_embedding(&embedding(&mut rng)).unwrap();
    let stored = device::encrypt(&s.par, &s.public, &t, &mut rng).unwrap();
    let partial = server::compare(
        &s.par,
        &s.public,
        &s.server_share,
        &stored,
        &t,
        8000,
        &mut rng,
    )
    .unwrap();
    let req = request("acme", &mut rng);
    assert!(matches!(
        s.holder.decide(b"wrong credential", req.clone(), &partial),
        Err(SplitError::Unauthorised)
    ));
    let answer = s.holder.decide(CREDENTIAL, req.clone(), &partial).unwrap();
    assert!(s.decision_key.verify(&req, &answer).unwrap());
    // The same request again.
    assert!(matches!(
        s.holder.decide(CREDENTIAL, req.clone(), &partial),
        Err(SplitError::Replayed)
    ));
    // The old answer offered for a new request.
    let fresh = request("acme", &mut rng);
    assert!(s.decision_key.verify(&fresh, &answer).is_err());
    // Another tenant's answer, authenticated with that tenant's key.
    let mut req_other = req.clone();
    req_other.tenant = "globex".into();
    req_other.request_id = rng.random();
    let answer_other = s.holder.decide(CREDENTIAL, req_other, &partial).unwrap();
    assert!(s.decision_key.verify(&req, &answer_other).is_err());
    assert!(other.decision_key.verify(&req, &answer_other).is_err());
}

#[test]
fn the_key_store_survives_a_restart_and_deletion_destroys_the_share() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let par = params::bfv().unwrap();
    let dir = std::env::temp_dir().join(format!("split-keystore-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let digest = credential_digest(CREDENTIAL);
    let seed: [u8; 32] = rng.random();
    let server_share = KeyShare::generate(&par, &mut rng);
    let mut holder = KeyHolder::open(par.clone(), dir.clone(), digest, 5).unwrap();
    let setup = holder
        .create_tenant(CREDENTIAL, "acme", seed, &mut rng)
        .unwrap();
    let public = CollectivePublicKey::combine(
        &par,
        &contribution(&server_share, &par, seed, &mut rng).unwrap(),
        &setup.contribution,
    )
    .unwrap();
    drop(holder);

    let mut holder = KeyHolder::open(par.clone(), dir.clone(), digest, 5).unwrap();
    let t = Quantised::from_embedding(&embedding(&mut rng)).unwrap();
    let stored: EncryptedTemplate = device::encrypt(&par, &public, &t, &mut rng).unwrap();
    let partial =
        server::compare(&par, &public, &server_share, &stored, &t, 8000, &mut rng).unwrap();
    let req = request("acme", &mut rng);
    let answer = holder.decide(CREDENTIAL, req.clone(), &partial).unwrap();
    assert!(setup.decision_key.verify(&req, &answer).unwrap());
    let audit = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap();
    assert!(audit.contains("\"accept\"") && !audit.contains("subject-1"));

    holder.delete_tenant(CREDENTIAL, "acme").unwrap();
    assert!(!holder.has_tenant("acme"));
    assert!(
        std::fs::read_dir(dir.join("tenants"))
            .unwrap()
            .next()
            .is_none()
    );
    assert!(matches!(
        holder.decide(CREDENTIAL, request("acme", &mut rng), &partial),
        Err(SplitError::UnknownTenant)
    ));
    drop(holder);
    let holder = KeyHolder::open(par, dir.clone(), digest, 5).unwrap();
    assert!(!holder.has_tenant("acme"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_ciphertext_from_bytes_must_be_a_fresh_template() {
    let par = params::bfv().unwrap();
    assert!(
        EncryptedTemplate::from_bytes(vec![1, 2, 3])
            .ciphertext(&par)
            .is_err()
    );
}

#[test]
fn the_enrolment_envelope_binds_its_ciphertext_and_context() {
    use faceseal_protect::seal::{
        ChallengeNonce, Purpose, SealContext, SecurityLevel, TenantSecretKey, os_rng,
    };
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let (par, _, _, public) = two_shares(&mut rng);
    let sealing = TenantSecretKey::generate(&mut os_rng());
    let context = SealContext {
        tenant_id: "acme".into(),
        subject_id: "subject-1".into(),
        purpose: Purpose::Enrol,
        consent_ref: "consent-1".into(),
        challenge: ChallengeNonce::generate(&mut os_rng()),
        capture_digest: [3; 32],
        created_at: 1_700_000_000,
        liveness_score: 0.9,
        quality_score: 0.8,
        liveness_level: SecurityLevel::Standard,
    };
    let one = device::encrypt(&par, &public, &template_of(&mut rng), &mut rng).unwrap();
    let other = device::encrypt(&par, &public, &template_of(&mut rng), &mut rng).unwrap();
    let sealed =
        device::SealedEnrolment::seal(one.clone(), sealing.public_key(), &context, &mut os_rng())
            .unwrap();
    let (opened, template) = sealed.open(&sealing).unwrap();
    assert_eq!(opened, context);
    assert_eq!(template, &one);
    // Another ciphertext beside the same envelope is refused.
    let swapped = device::SealedEnrolment {
        envelope: sealed.envelope.clone(),
        template: other,
    };
    assert!(swapped.open(&sealing).is_err());
    // Another tenant's sealing key opens nothing.
    assert!(
        sealed
            .open(&TenantSecretKey::generate(&mut os_rng()))
            .is_err()
    );
}

fn template_of(rng: &mut ChaCha20Rng) -> Quantised {
    Quantised::from_embedding(&embedding(rng)).unwrap()
}
