//! The template scheme on synthetic faces: identities are random directions in
//! the embedding space, captures are noisy copies of them. Checks that the
//! protected domain keeps the accuracy of the unprotected one, that templates
//! of one face under two keys cannot be linked (D↔sys of Gomez-Barrero et al.),
//! and that the measure itself sees linkable templates when there are some.

use chacha20::ChaCha20Rng;
use faceseal_core::Embedding;
use faceseal_core::template::{
    IomParams, MatchThreshold, ProtectedTemplate, TemplateError, TemplateKey, TemplateSecret,
};
use faceseal_eval::template_metrics::linkability_dsys;
use rand_core::{Rng, SeedableRng};

const DIM: usize = 128;

struct Faces {
    rng: ChaCha20Rng,
}

impl Faces {
    fn new(seed: u8) -> Faces {
        Faces {
            rng: ChaCha20Rng::from_seed([seed; 32]),
        }
    }

    fn gaussian(&mut self) -> f64 {
        let u1 = ((self.rng.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64;
        let u2 = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// A unit identity direction.
    fn identity(&mut self) -> [f64; DIM] {
        let mut c = [0f64; DIM];
        c.iter_mut().for_each(|v| *v = self.gaussian());
        let n = c.iter().map(|v| v * v).sum::<f64>().sqrt();
        c.iter_mut().for_each(|v| *v /= n);
        c
    }

    /// A capture of an identity: direction plus isotropic noise, scaled to the
    /// norm of a dlib descriptor (about 0.5).
    fn capture(&mut self, identity: &[f64; DIM], noise: f64) -> [f64; DIM] {
        let mut x = *identity;
        x.iter_mut().for_each(|v| *v += noise * self.gaussian());
        let n = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        x.iter_mut().for_each(|v| *v *= 0.5 / n);
        x
    }
}

fn embedding(x: &[f64; DIM]) -> Embedding {
    let mut v = [0f32; DIM];
    v.iter_mut().zip(x).for_each(|(o, i)| *o = *i as f32);
    Embedding::from_array(v)
}

fn cosine(a: &[f64; DIM], b: &[f64; DIM]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|v| v * v).sum::<f64>().sqrt();
    let nb = b.iter().map(|v| v * v).sum::<f64>().sqrt();
    dot / (na * nb)
}

/// Equal error rate of similarity scores (higher = same person).
fn eer(genuine: &[f64], impostor: &[f64]) -> f64 {
    let mut thresholds: Vec<f64> = genuine.iter().chain(impostor).copied().collect();
    thresholds.sort_by(f64::total_cmp);
    thresholds
        .iter()
        .map(|&t| {
            let frr = genuine.iter().filter(|&&s| s < t).count() as f64 / genuine.len() as f64;
            let far = impostor.iter().filter(|&&s| s >= t).count() as f64 / impostor.len() as f64;
            (frr.max(far), (frr - far).abs())
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(e, _)| e)
        .unwrap()
}

/// Sensitivity index: distance of the means over the pooled standard deviation.
fn d_prime(genuine: &[f64], impostor: &[f64]) -> f64 {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let var = |v: &[f64]| {
        let m = mean(v);
        v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64
    };
    (mean(genuine) - mean(impostor)) / ((var(genuine) + var(impostor)) / 2.0).sqrt()
}

fn key(secret: &TemplateSecret, subject: usize, version: u32) -> TemplateKey {
    TemplateKey::derive(
        secret,
        &format!("subject-{subject}"),
        version,
        IomParams::DEFAULT,
    )
    .unwrap()
}

#[test]
fn protected_domain_preserves_accuracy() {
    let mut faces = Faces::new(1);
    let secret = TemplateSecret::from_bytes(&[0x11; 32]).unwrap();
    let n = 24;
    let noise = 0.16; // genuine cosine about 0.25, impostor cosine about 0 ± 0.09
    let ids: Vec<_> = (0..n).map(|_| faces.identity()).collect();
    let captures: Vec<Vec<[f64; DIM]>> = ids
        .iter()
        .map(|c| (0..3).map(|_| faces.capture(c, noise)).collect())
        .collect();

    let (mut raw_genuine, mut raw_impostor) = (Vec::new(), Vec::new());
    let (mut prot_genuine, mut prot_impostor) = (Vec::new(), Vec::new());
    for a in 0..n {
        // Verification of claimed subject `a`: every probe goes through a's key.
        let k = key(&secret, a, 1);
        let reference = k.protect(embedding(&captures[a][0])).unwrap();
        for probe in &captures[a][1..] {
            raw_genuine.push(cosine(&captures[a][0], probe));
            let t = k.protect(embedding(probe)).unwrap();
            prot_genuine.push(reference.compare(&t).unwrap().value());
        }
        for b in (1..=8).map(|d| (a + d) % n) {
            let probe = &captures[b][0];
            raw_impostor.push(cosine(&captures[a][0], probe));
            let t = k.protect(embedding(probe)).unwrap();
            prot_impostor.push(reference.compare(&t).unwrap().value());
        }
    }
    // The separation of the two score distributions is kept; the EER, noisy
    // on so few pairs, stays close.
    let raw_eer = eer(&raw_genuine, &raw_impostor);
    let prot_eer = eer(&prot_genuine, &prot_impostor);
    let raw_d = d_prime(&raw_genuine, &raw_impostor);
    let prot_d = d_prime(&prot_genuine, &prot_impostor);
    eprintln!(
        "unprotected EER {raw_eer:.3} d' {raw_d:.2}; protected EER {prot_eer:.3} d' {prot_d:.2}"
    );
    assert!(
        prot_d >= 0.9 * raw_d,
        "protected d' {prot_d} vs unprotected {raw_d}"
    );
    assert!(
        prot_eer <= raw_eer + 0.06,
        "protected EER {prot_eer} vs {raw_eer}"
    );

    // Impostor scores sit at chance (1/q) and below the default threshold.
    let mean_impostor = prot_impostor.iter().sum::<f64>() / prot_impostor.len() as f64;
    assert!((mean_impostor - 1.0 / 8.0).abs() < 0.01, "{mean_impostor}");
    let false_accepts = prot_impostor
        .iter()
        .filter(|&&s| s >= MatchThreshold::DEFAULT.value())
        .count();
    assert_eq!(false_accepts, 0);
}

#[test]
fn templates_under_two_keys_are_unlinkable_and_renewable() {
    let mut faces = Faces::new(2);
    let tenant_a = TemplateSecret::from_bytes(&[0x21; 32]).unwrap();
    let tenant_b = TemplateSecret::from_bytes(&[0x22; 32]).unwrap();
    let n = 60;
    let noise = 0.06; // well-separated identities: anything linkable would show
    let ids: Vec<_> = (0..n).map(|_| faces.identity()).collect();
    let protect_all = |secret: &TemplateSecret, version: u32, faces: &mut Faces| {
        ids.iter()
            .enumerate()
            .map(|(i, c)| {
                key(secret, i, version)
                    .protect(embedding(&faces.capture(c, noise)))
                    .unwrap()
            })
            .collect::<Vec<ProtectedTemplate>>()
    };
    let under_a = protect_all(&tenant_a, 1, &mut faces);
    let under_b = protect_all(&tenant_b, 1, &mut faces);
    let renewed = protect_all(&tenant_a, 2, &mut faces);

    // The linking attacker compares the indices whatever the headers say.
    let cross = |x: &[ProtectedTemplate], y: &[ProtectedTemplate]| {
        let mut mated = Vec::new();
        let mut nonmated = Vec::new();
        for (i, a) in x.iter().enumerate() {
            for (j, b) in y.iter().enumerate() {
                let equal = a
                    .indices()
                    .iter()
                    .zip(b.indices())
                    .filter(|(p, q)| p == q)
                    .count();
                let s = equal as f64 / a.indices().len() as f64;
                if i == j {
                    mated.push(s)
                } else {
                    nonmated.push(s)
                }
            }
        }
        (mated, nonmated)
    };

    // Two tenants: same face, independent keys.
    let (mated, nonmated) = cross(&under_a, &under_b);
    let dsys = linkability_dsys(&mated, &nonmated);
    eprintln!("D<->sys across tenants {dsys:.3}");
    assert!(
        dsys < 0.15,
        "templates across tenants are linkable: D↔sys = {dsys}"
    );
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!((mean(&mated) - mean(&nonmated)).abs() < 0.01);

    // Key version 2 of the same tenant: the old template is revoked, and the
    // new one cannot be linked to it.
    let (mated, nonmated) = cross(&under_a, &renewed);
    let dsys = linkability_dsys(&mated, &nonmated);
    eprintln!("D<->sys across key versions {dsys:.3}");
    assert!(
        dsys < 0.15,
        "renewed templates are linkable: D↔sys = {dsys}"
    );

    // The measure has power: under one key, the same faces are linkable. (The
    // reference estimator integrates over bin centres, so mated scores piled
    // in the top bin count half: fully separated lists give well below 1.)
    let mut faces = Faces::new(3);
    let second: Vec<ProtectedTemplate> = ids
        .iter()
        .enumerate()
        .map(|(i, c)| {
            key(&tenant_a, i, 1)
                .protect(embedding(&faces.capture(c, noise)))
                .unwrap()
        })
        .collect();
    let (mated, nonmated) = cross(&under_a, &second);
    let dsys = linkability_dsys(&mated, &nonmated);
    eprintln!("D<->sys under one key {dsys:.3}");
    assert!(dsys > 0.6, "{dsys}");
}

#[test]
fn templates_of_different_versions_do_not_compare() {
    let secret = TemplateSecret::from_bytes(&[0x31; 32]).unwrap();
    let mut faces = Faces::new(4);
    let id = faces.identity();
    let x = faces.capture(&id, 0.05);
    let v1 = key(&secret, 0, 1).protect(embedding(&x)).unwrap();
    let v2 = key(&secret, 0, 2).protect(embedding(&x)).unwrap();
    assert_eq!(
        v1.compare(&v2).unwrap_err(),
        TemplateError::KeyVersionMismatch
    );
    // Deterministic: the same capture under the same key gives the same template.
    assert_eq!(key(&secret, 0, 1).protect(embedding(&x)).unwrap(), v1);
    assert_eq!(v1.to_bytes().len(), 14 + 1024);
}
