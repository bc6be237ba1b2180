//! The split scheme's costs. Times are wall-clock medians on this machine,
//! printed, never asserted.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;
use faceseal_keyholder::client::KeyHolderClient;
use faceseal_keyholder::verifier::ServerTenant;
use faceseal_protect::seal::{
    ChallengeNonce, Purpose, SealContext, SecurityLevel, TenantSecretKey,
};
use faceseal_split::decision::DecisionRequest;
use faceseal_split::device::{self, SealedEnrolment};
use faceseal_split::encoding::Quantised;
use faceseal_split::keyholder::{KeyHolder, credential_digest};
use faceseal_split::keys::{CollectivePublicKey, KeyShare, contribution};
use faceseal_split::{noise, params, server};
use rand::Rng;
use serde::Serialize;

#[derive(Args)]
pub struct BenchArgs {
    /// Timed repetitions of each step.
    #[arg(long, default_value_t = 50)]
    rounds: usize,
    /// Verifications against the key holder process, per client thread.
    #[arg(long, default_value_t = 100)]
    verifications: usize,
    /// Client threads verifying concurrently.
    #[arg(long, default_value_t = 2)]
    clients: usize,
}

#[derive(Serialize)]
struct Report {
    ring_degree: usize,
    log_q: u32,
    plaintext_bits: u32,
    encrypted_template_bytes: usize,
    enrolment_envelope_bytes: usize,
    partial_comparison_bytes: usize,
    device_encrypt_ms: f64,
    server_compare_ms: f64,
    key_holder_decide_ms: f64,
    noise_bits_before_flooding: f64,
    budget_bits_after_flooding: f64,
    loopback_verifications: usize,
    loopback_clients: usize,
    loopback_verifications_per_s: f64,
    loopback_median_ms: f64,
}

fn median_ms(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn time<T>(rounds: usize, mut f: impl FnMut() -> T) -> f64 {
    median_ms(
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

fn template(rng: &mut impl Rng) -> Quantised {
    let v: Vec<f32> = (0..params::DIMENSION)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    Quantised::from_embedding(&v).expect("a random embedding quantises")
}

struct KeyHolderProcess {
    child: Child,
    dir: std::path::PathBuf,
}

impl Drop for KeyHolderProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn spawn_key_holder(credential: &str) -> Result<(KeyHolderProcess, String), String> {
    let dir = std::env::temp_dir().join(format!("faceseal-keyholder-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let credential_file = dir.join("credential");
    std::fs::write(&credential_file, credential).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--attempts",
            "1000000",
            "--dir",
        ])
        .arg(dir.join("store"))
        .arg("--credential-file")
        .arg(&credential_file)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or_else(|| format!("unexpected key holder output {line:?}"))?
        .to_owned();
    Ok((KeyHolderProcess { child, dir }, format!("http://{addr}")))
}

pub fn run(args: &BenchArgs) -> Result<(), String> {
    let err = |e: faceseal_split::SplitError| e.to_string();
    let mut rng = rand::rng();
    let par = params::bfv().map_err(err)?;
    let rounds = args.rounds.max(1);

    // In-process parties for the per-step timings.
    let credential = "bench credential, loopback only";
    let mut holder = KeyHolder::in_memory(
        par.clone(),
        credential_digest(credential.as_bytes()),
        u32::MAX,
    );
    let seed: [u8; 32] = rng.random();
    let share = KeyShare::generate(&par, &mut rng);
    let ours = contribution(&share, &par, seed, &mut rng).map_err(err)?;
    let theirs = holder
        .create_tenant(credential.as_bytes(), "bench", seed, &mut rng)
        .map_err(err)?;
    let public = CollectivePublicKey::combine(&par, &ours, &theirs.contribution).map_err(err)?;
    let enrolled = template(&mut rng);
    let probe = template(&mut rng);
    let threshold = 8000;

    let stored = device::encrypt(&par, &public, &enrolled, &mut rng).map_err(err)?;
    let device_encrypt_ms = time(rounds, || {
        device::encrypt(&par, &public, &enrolled, &mut rand::rng())
    });
    let sealing = TenantSecretKey::generate(&mut faceseal_protect::seal::os_rng());
    let context = SealContext {
        tenant_id: "bench".into(),
        subject_id: "subject".into(),
        purpose: Purpose::Enrol,
        consent_ref: "consent-1".into(),
        challenge: ChallengeNonce::generate(&mut faceseal_protect::seal::os_rng()),
        capture_digest: [0; 32],
        created_at: 0,
        liveness_score: 0.9,
        quality_score: 0.9,
        liveness_level: SecurityLevel::Standard,
    };
    let envelope = SealedEnrolment::seal(
        stored.clone(),
        sealing.public_key(),
        &context,
        &mut faceseal_protect::seal::os_rng(),
    )
    .map_err(|e| e.to_string())?;

    let partial = server::compare(&par, &public, &share, &stored, &probe, threshold, &mut rng)
        .map_err(err)?;
    let server_compare_ms = time(rounds, || {
        server::compare(
            &par,
            &public,
            &share,
            &stored,
            &probe,
            threshold,
            &mut rand::rng(),
        )
    });
    let key_holder_decide_ms = median_ms(
        (0..rounds)
            .map(|_| {
                let partial = server::compare(
                    &par,
                    &public,
                    &share,
                    &stored,
                    &probe,
                    threshold,
                    &mut rand::rng(),
                )
                .expect("compare");
                let request = DecisionRequest {
                    tenant: "bench".into(),
                    subject: "subject".into(),
                    request_id: rand::random(),
                    nonce: rand::random(),
                };
                let t = Instant::now();
                let answer = holder.decide(credential.as_bytes(), request, &partial);
                let ms = t.elapsed().as_secs_f64() * 1e3;
                answer.expect("decide");
                ms
            })
            .collect(),
    );
    let (before, after) = noise::measure_comparison(&enrolled, &probe, threshold).map_err(err)?;

    // Both processes on loopback: this one as the server, a child as the key holder.
    let (_process, base) = spawn_key_holder(credential)?;
    let client = KeyHolderClient::new(&base, credential, Duration::from_secs(10));
    let tenant = ServerTenant::create(&par, &client, "bench").map_err(|e| e.to_string())?;
    let stored = device::encrypt(&par, &tenant.public, &enrolled, &mut rng).map_err(err)?;
    let clients = args.clients.max(1);
    let started = Instant::now();
    let latencies: Vec<f64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let (tenant, client, stored, probe, par) =
                    (&tenant, &client, &stored, &probe, &par);
                scope.spawn(move || {
                    (0..args.verifications)
                        .map(|i| {
                            let t = Instant::now();
                            tenant
                                .verify(
                                    par,
                                    client,
                                    &format!("subject-{c}-{i}"),
                                    stored,
                                    probe,
                                    threshold,
                                )
                                .expect("verification over loopback");
                            t.elapsed().as_secs_f64() * 1e3
                        })
                        .collect::<Vec<f64>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("client thread"))
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();

    let report = Report {
        ring_degree: params::DEGREE,
        log_q: params::LOG_Q,
        plaintext_bits: params::PLAINTEXT_BITS,
        encrypted_template_bytes: stored.as_bytes().len(),
        enrolment_envelope_bytes: envelope.to_bytes().len(),
        partial_comparison_bytes: partial.as_bytes().len(),
        device_encrypt_ms,
        server_compare_ms,
        key_holder_decide_ms,
        noise_bits_before_flooding: before.noise_bits,
        budget_bits_after_flooding: after.budget_bits,
        loopback_verifications: latencies.len(),
        loopback_clients: clients,
        loopback_verifications_per_s: latencies.len() as f64 / elapsed,
        loopback_median_ms: median_ms(latencies),
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
    );
    Ok(())
}
