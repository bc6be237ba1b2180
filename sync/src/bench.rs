//! `faceseal-sync bench`: a load benchmark against a real server process.
//!
//! It starts `faceseal-sync serve` on a scratch SQLite database (or on the
//! empty PostgreSQL database `--database-url` names), creates a tenant and enrols synthetic subjects
//! (random protected templates: the server cannot tell them from real ones,
//! and the benchmark needs no model), then:
//!
//! 1. drives verifications from 1, 2, 4, ... concurrent clients, each
//!    verification preceded by its own challenge request as a device does,
//!    until throughput stops growing: requests per second at saturation and
//!    p50/p99 latency of the verify requests;
//! 2. offers twice, then four times the saturated throughput at a fixed rate
//!    (open loop): accepted throughput, how many are shed with 503 and the
//!    p99 of the accepted ones, against the unloaded p99;
//! 3. enrols continuously, kills the server with SIGKILL halfway, restarts
//!    it on the same database and checks that every enrolment it had
//!    acknowledged is there;
//! 4. last, four clients send random API keys while one legitimate client
//!    verifies: wrong credentials refused per second, and what the
//!    legitimate client got meanwhile (all share the loopback address, so
//!    the address is soon over its failure limit; the legitimate client's
//!    genuine key is served nonetheless).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use faceseal_protect::seal::{self, ChallengeNonce, Purpose, SealContext, TenantPublicKey};
use faceseal_sync::client::HttpClient;
use faceseal_sync::random;
use hyper::StatusCode;
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

type AnyError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Seconds per measured phase.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Subjects enrolled before the verification phases.
    #[arg(long, default_value_t = 32)]
    subjects: usize,
    /// Largest client concurrency tried when looking for saturation.
    #[arg(long, default_value_t = 32)]
    max_clients: usize,
    /// Passed to the server.
    #[arg(long)]
    max_in_flight: Option<usize>,
    /// Passed to the server.
    #[arg(long)]
    max_queued: Option<usize>,
    /// PostgreSQL instead of a scratch SQLite file: an empty database the
    /// bench may fill (its KEK check value binds it to this run's KEK).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Print the figures as one JSON object on standard output (the
    /// progress lines go to standard error).
    #[arg(long)]
    json: bool,
}

/// Whether the progress lines go to standard error (`--json`).
static PROGRESS_TO_STDERR: AtomicBool = AtomicBool::new(false);

/// A progress line: on standard output, or standard error with `--json`.
macro_rules! say {
    ($($arg:tt)*) => {
        if PROGRESS_TO_STDERR.load(Ordering::Relaxed) {
            eprintln!($($arg)*);
        } else {
            println!($($arg)*);
        }
    };
}

/// How long a closed-loop client waits after a 503 before trying again: a
/// well-behaved device backs off (the service says one second; a short pause
/// keeps the offered load up without a busy loop on two shared cores).
const SHED_BACKOFF: Duration = Duration::from_millis(10);

const M: usize = 1024;
const Q: u8 = 8;

fn template_bytes(indices: &[u8]) -> Vec<u8> {
    let mut out = b"FSTP".to_vec();
    out.extend_from_slice(&[1, 1]);
    out.extend_from_slice(&(M as u16).to_be_bytes());
    out.extend_from_slice(&u16::from(Q).to_be_bytes());
    out.extend_from_slice(&1u32.to_be_bytes());
    out.extend_from_slice(indices);
    out
}

fn random_indices() -> Vec<u8> {
    let raw = random::bytes::<M>();
    raw.iter().map(|b| b % Q).collect()
}

/// A probe close to `reference`: one index in ten redrawn.
fn probe_of(reference: &[u8]) -> Vec<u8> {
    let noise = random::bytes::<M>();
    reference
        .iter()
        .zip(noise.iter())
        .map(|(&r, &n)| if n < 26 { n % Q } else { r })
        .collect()
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

struct Setup {
    exe: PathBuf,
    db: PathBuf,
    admin_token: String,
    kek: String,
    args: BenchArgs,
}

impl Setup {
    async fn start(&self) -> Result<Server, AnyError> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut cmd = Command::new(&self.exe);
        cmd.arg("serve").arg("--listen").arg(addr.to_string());
        match &self.args.database_url {
            Some(url) => cmd.arg("--database-url").arg(url),
            None => cmd.arg("--db").arg(&self.db),
        };
        cmd.env_remove("FACESEAL_SYNC_DATABASE_URL")
            .env("FACESEAL_SYNC_ADMIN_TOKEN", &self.admin_token)
            .env("FACESEAL_SYNC_KEK", &self.kek)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(n) = self.args.max_in_flight {
            cmd.arg("--max-in-flight").arg(n.to_string());
        }
        if let Some(n) = self.args.max_queued {
            cmd.arg("--max-queued").arg(n.to_string());
        }
        let child = cmd.spawn()?;
        let started = Instant::now();
        loop {
            let mut c = HttpClient::new(addr);
            if let Ok(r) = c.get("/v1/health", None).await
                && r.status == StatusCode::OK
            {
                return Ok(Server { child, addr });
            }
            if started.elapsed() > Duration::from_secs(20) {
                return Err("the server did not start".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The tenant the benchmark works as.
#[derive(Clone)]
struct Tenant {
    id: String,
    api_key: String,
    public_key: TenantPublicKey,
}

async fn must(
    reply: faceseal_sync::client::Reply,
    want: StatusCode,
) -> Result<serde_json::Value, AnyError> {
    if reply.status != want {
        return Err(format!("expected {want}, got {} {:?}", reply.status, reply.body).into());
    }
    Ok(reply.json().unwrap_or(serde_json::Value::Null))
}

fn text(v: &serde_json::Value, field: &str) -> Result<String, AnyError> {
    v[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("missing {field}").into())
}

/// Creates a subject with consents for both purposes; returns the consent refs.
async fn subject_with_consents(
    c: &mut HttpClient,
    t: &Tenant,
    subject: &str,
) -> Result<(String, String), AnyError> {
    let key = Some(t.api_key.as_str());
    must(
        c.post_json(
            "/v1/subjects",
            key,
            serde_json::json!({"subject_id": subject}),
        )
        .await?,
        StatusCode::CREATED,
    )
    .await?;
    let path = format!("/v1/subjects/{subject}/consents");
    let mut refs = Vec::with_capacity(2);
    for purpose in ["enrol", "verify"] {
        let body = serde_json::json!({"purpose": purpose, "text_version": "v1"});
        let consent = must(c.post_json(&path, key, body).await?, StatusCode::CREATED).await?;
        refs.push(text(&consent, "consent_ref")?);
    }
    let verify = refs.pop().unwrap_or_default();
    Ok((refs.pop().unwrap_or_default(), verify))
}

/// Gets a challenge and seals `indices` for it. `Ok(None)` when shed.
async fn sealed(
    c: &mut HttpClient,
    t: &Tenant,
    subject: &str,
    consent: &str,
    purpose: Purpose,
    indices: &[u8],
) -> Result<Option<Vec<u8>>, AnyError> {
    let name = if purpose == Purpose::Enrol {
        "enrol"
    } else {
        "verify"
    };
    let reply = c
        .post_json(
            "/v1/challenges",
            Some(&t.api_key),
            serde_json::json!({"purpose": name}),
        )
        .await?;
    if reply.status == StatusCode::SERVICE_UNAVAILABLE {
        return Ok(None);
    }
    let challenge = must(reply, StatusCode::CREATED).await?;
    let mut nonce = [0u8; 32];
    hex::decode_to_slice(text(&challenge, "nonce")?, &mut nonce)?;
    let context = SealContext {
        tenant_id: t.id.clone(),
        subject_id: subject.to_owned(),
        purpose,
        consent_ref: consent.to_owned(),
        challenge: ChallengeNonce::from_bytes(nonce),
        // Synthetic templates: a digest of the template stands in for the frames'.
        capture_digest: Sha256::digest(indices).into(),
        created_at: faceseal_sync::service::now() as u64,
        liveness_score: 0.99,
        quality_score: 0.9,
        liveness_level: faceseal_protect::seal::SecurityLevel::Standard,
    };
    let envelope = seal::seal_bytes(
        &template_bytes(indices),
        &t.public_key,
        &context,
        &mut seal::os_rng(),
    )?;
    Ok(Some(envelope.into_bytes()))
}

struct Enrolled {
    subject: String,
    verify_consent: String,
    indices: Vec<u8>,
}

#[derive(Default)]
struct PhaseResult {
    latencies: Vec<Duration>,
    shed: usize,
    other_errors: usize,
    elapsed: Duration,
}

impl PhaseResult {
    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let mut v = self.latencies.clone();
        v.sort();
        let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
        v[rank - 1]
    }
    fn rps(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn verify_phase(
    addr: SocketAddr,
    t: &Tenant,
    subjects: &Arc<Vec<Enrolled>>,
    clients: usize,
    seconds: u64,
) -> Result<PhaseResult, AnyError> {
    let result = Arc::new(Mutex::new(PhaseResult::default()));
    let start = Instant::now();
    let end = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for w in 0..clients {
        let (t, subjects, result) = (t.clone(), Arc::clone(subjects), Arc::clone(&result));
        tasks.push(tokio::spawn(async move {
            let mut c = HttpClient::new(addr);
            let mut i = w;
            let mut local = PhaseResult::default();
            while Instant::now() < end {
                let s = &subjects[i % subjects.len()];
                i += clients;
                let envelope = match sealed(
                    &mut c,
                    &t,
                    &s.subject,
                    &s.verify_consent,
                    Purpose::Verify,
                    &probe_of(&s.indices),
                )
                .await
                {
                    Ok(Some(e)) => e,
                    Ok(None) => {
                        local.shed += 1;
                        tokio::time::sleep(SHED_BACKOFF).await;
                        continue;
                    }
                    Err(_) => {
                        local.other_errors += 1;
                        continue;
                    }
                };
                let sent = Instant::now();
                match c
                    .post_octets("/v1/verifications", Some(&t.api_key), envelope)
                    .await
                {
                    Ok(r) if r.status == StatusCode::OK => local.latencies.push(sent.elapsed()),
                    Ok(r) if r.status == StatusCode::SERVICE_UNAVAILABLE => {
                        local.shed += 1;
                        tokio::time::sleep(SHED_BACKOFF).await;
                    }
                    _ => local.other_errors += 1,
                }
            }
            let mut r = result.lock().await;
            r.latencies.extend(local.latencies);
            r.shed += local.shed;
            r.other_errors += local.other_errors;
        }));
    }
    for task in tasks {
        task.await?;
    }
    let mut r = std::mem::take(&mut *result.lock().await);
    r.elapsed = start.elapsed();
    Ok(r)
}

/// Offers verifications at a fixed rate, whatever the answers (open loop):
/// the load a crowd of devices puts on the service, which does not slow down
/// because the service does.
async fn open_loop_phase(
    addr: SocketAddr,
    t: &Tenant,
    subjects: &Arc<Vec<Enrolled>>,
    rate: f64,
    seconds: u64,
) -> Result<PhaseResult, AnyError> {
    let result = Arc::new(Mutex::new(PhaseResult::default()));
    let idle: Arc<Mutex<Vec<HttpClient>>> = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    let mut i = 0usize;
    while start.elapsed() < Duration::from_secs(seconds) {
        ticker.tick().await;
        i += 1;
        let (t, subjects, result, idle) = (
            t.clone(),
            Arc::clone(subjects),
            Arc::clone(&result),
            Arc::clone(&idle),
        );
        tasks.push(tokio::spawn(async move {
            let mut c = idle
                .lock()
                .await
                .pop()
                .unwrap_or_else(|| HttpClient::new(addr));
            let s = &subjects[i % subjects.len()];
            let outcome = match sealed(
                &mut c,
                &t,
                &s.subject,
                &s.verify_consent,
                Purpose::Verify,
                &probe_of(&s.indices),
            )
            .await
            {
                Ok(Some(envelope)) => {
                    let sent = Instant::now();
                    match c
                        .post_octets("/v1/verifications", Some(&t.api_key), envelope)
                        .await
                    {
                        Ok(r) if r.status == StatusCode::OK => Ok(sent.elapsed()),
                        Ok(r) if r.status == StatusCode::SERVICE_UNAVAILABLE => Err(true),
                        _ => Err(false),
                    }
                }
                Ok(None) => Err(true),
                Err(_) => Err(false),
            };
            idle.lock().await.push(c);
            let mut r = result.lock().await;
            match outcome {
                Ok(latency) => r.latencies.push(latency),
                Err(true) => r.shed += 1,
                Err(false) => r.other_errors += 1,
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let mut r = std::mem::take(&mut *result.lock().await);
    r.elapsed = start.elapsed();
    Ok(r)
}

fn put(
    figures: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
    value: impl Into<serde_json::Value>,
) {
    figures.insert(key.to_owned(), value.into());
}

/// A phase's throughput, latencies and refusals, under `name_`.
fn phase_figures(
    figures: &mut serde_json::Map<String, serde_json::Value>,
    name: &str,
    r: &PhaseResult,
) {
    put(figures, &format!("{name}_per_s"), r.rps());
    put(figures, &format!("{name}_p50_ms"), ms(r.percentile(0.5)));
    put(figures, &format!("{name}_p99_ms"), ms(r.percentile(0.99)));
    put(figures, &format!("{name}_shed"), r.shed);
    put(figures, &format!("{name}_other_errors"), r.other_errors);
}

fn report(label: &str, clients: usize, r: &PhaseResult) {
    say!(
        "{label:<14} clients {clients:>3}: {:>7.1} verify/s  p50 {:>7.2} ms  p99 {:>7.2} ms  accepted {:>6}  shed(503) {:>6}  other errors {}",
        r.rps(),
        ms(r.percentile(0.5)),
        ms(r.percentile(0.99)),
        r.latencies.len(),
        r.shed,
        r.other_errors
    );
}

pub async fn run(args: BenchArgs) -> Result<ExitCode, AnyError> {
    let dir = std::env::temp_dir().join(format!("faceseal-sync-bench-{}", random::id()));
    std::fs::create_dir_all(&dir)?;
    let setup = Setup {
        exe: std::env::current_exe()?,
        db: dir.join("bench.db"),
        admin_token: hex::encode(random::bytes::<32>()),
        kek: hex::encode(random::bytes::<32>()),
        args: args.clone(),
    };
    let outcome = run_in(&setup, &args).await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

async fn run_in(setup: &Setup, args: &BenchArgs) -> Result<ExitCode, AnyError> {
    PROGRESS_TO_STDERR.store(args.json, Ordering::Relaxed);
    let mut figures = serde_json::Map::new();
    // What the server applies when the bench passes no limit of its own.
    let postgres = args.database_url.is_some();
    let defaults = faceseal_sync::limits::LoadLimits::for_this_machine(if postgres {
        faceseal_sync::db::Backend::Postgres
    } else {
        faceseal_sync::db::Backend::Sqlite
    });
    put(
        &mut figures,
        "backend",
        if postgres { "postgresql" } else { "sqlite" },
    );
    put(&mut figures, "seconds_per_phase", args.seconds);
    put(
        &mut figures,
        "max_in_flight",
        args.max_in_flight.unwrap_or(defaults.max_in_flight),
    );
    put(
        &mut figures,
        "max_queued",
        args.max_queued.unwrap_or(defaults.max_queued),
    );
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    say!(
        "faceseal-sync bench: {cores} cores, {}, client and server on this machine; {} s per phase",
        if postgres { "PostgreSQL" } else { "SQLite" },
        args.seconds
    );
    let mut server = setup.start().await?;
    let addr = server.addr;
    let mut c = HttpClient::new(addr);
    let created = must(
        c.post_json(
            "/v1/tenants",
            Some(&setup.admin_token),
            serde_json::json!({"tenant_id": "bench"}),
        )
        .await?,
        StatusCode::CREATED,
    )
    .await?;
    let mut public = [0u8; 32];
    hex::decode_to_slice(text(&created["bundle"], "public_key")?, &mut public)?;
    let tenant = Tenant {
        id: "bench".into(),
        api_key: text(&created, "api_key")?,
        public_key: TenantPublicKey::from_bytes(public),
    };
    let mut subjects = Vec::new();
    for i in 0..args.subjects {
        let subject = format!("bench-subject-{i}");
        let (enrol_consent, verify_consent) =
            subject_with_consents(&mut c, &tenant, &subject).await?;
        let indices = random_indices();
        let envelope = sealed(
            &mut c,
            &tenant,
            &subject,
            &enrol_consent,
            Purpose::Enrol,
            &indices,
        )
        .await?
        .ok_or("shed while setting up")?;
        must(
            c.post_octets("/v1/enrolments", Some(&tenant.api_key), envelope)
                .await?,
            StatusCode::CREATED,
        )
        .await?;
        subjects.push(Enrolled {
            subject,
            verify_consent,
            indices,
        });
    }
    let subjects = Arc::new(subjects);

    let unloaded = verify_phase(addr, &tenant, &subjects, 1, args.seconds).await?;
    report("unloaded", 1, &unloaded);
    phase_figures(&mut figures, "unloaded", &unloaded);
    let unloaded_p99 = unloaded.percentile(0.99);
    // Client counts grow by about half each step (doubling overshot the
    // server's admission limit and made the saturation found depend on
    // where the steps fell); the search ends after two steps in a row that
    // gain less than 2%.
    let mut best = (1usize, unloaded);
    let mut clients = 2;
    let mut flat_steps = 0;
    while clients <= args.max_clients && flat_steps < 2 {
        let r = verify_phase(addr, &tenant, &subjects, clients, args.seconds).await?;
        report("ramp", clients, &r);
        if r.rps() > best.1.rps() * 1.02 {
            flat_steps = 0;
        } else {
            flat_steps += 1;
        }
        if r.rps() > best.1.rps() {
            best = (clients, r);
        }
        clients = (clients + clients / 2).max(clients + 1);
    }
    let (saturating, saturated) = best;
    phase_figures(&mut figures, "saturation", &saturated);
    put(&mut figures, "saturation_clients", saturating);
    say!(
        "saturation: {:.1} verify/s with {saturating} clients, p50 {:.2} ms, p99 {:.2} ms",
        saturated.rps(),
        ms(saturated.percentile(0.5)),
        ms(saturated.percentile(0.99))
    );
    for factor in [2.0, 4.0] {
        let offered = factor * saturated.rps();
        let overload = open_loop_phase(addr, &tenant, &subjects, offered, args.seconds).await?;
        say!(
            "{factor}x saturation: {offered:.0} verifications/s offered (open loop): {:.1} verify/s accepted ({:.0}% of saturation)  p50 {:.2} ms  p99 {:.2} ms  shed(503) {}  other errors {}",
            overload.rps(),
            100.0 * overload.rps() / saturated.rps().max(1e-9),
            ms(overload.percentile(0.5)),
            ms(overload.percentile(0.99)),
            overload.shed,
            overload.other_errors
        );
        let ratio = ms(overload.percentile(0.99)) / ms(unloaded_p99).max(1e-9);
        let name = format!("overload_{factor}x");
        phase_figures(&mut figures, &name, &overload);
        put(&mut figures, &format!("{name}_offered_per_s"), offered);
        put(
            &mut figures,
            &format!("{name}_accepted_pct"),
            100.0 * overload.rps() / saturated.rps().max(1e-9),
        );
        put(&mut figures, &format!("{name}_p99_ratio"), ratio);
        say!(
            "at {factor}x saturation: {} of {} requests shed with 503; p99 of accepted verifies {:.2} ms = {:.2}x the unloaded p99 ({:.2} ms)",
            overload.shed,
            overload.shed + overload.latencies.len(),
            ms(overload.percentile(0.99)),
            ratio,
            ms(unloaded_p99)
        );
    }

    // Crash recovery under enrolment load.
    let acknowledged = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..saturating.max(2) {
        let (tenant, acknowledged, stop) =
            (tenant.clone(), Arc::clone(&acknowledged), Arc::clone(&stop));
        tasks.push(tokio::spawn(async move {
            let mut c = HttpClient::new(addr);
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let subject = format!("crash-{w}-{n}");
                let Ok((enrol_consent, _)) = subject_with_consents(&mut c, &tenant, &subject).await
                else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let Ok(Some(envelope)) = sealed(
                    &mut c,
                    &tenant,
                    &subject,
                    &enrol_consent,
                    Purpose::Enrol,
                    &random_indices(),
                )
                .await
                else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                if let Ok(r) = c
                    .post_octets("/v1/enrolments", Some(&tenant.api_key), envelope)
                    .await
                    && r.status == StatusCode::CREATED
                    && let Ok(v) = r.json()
                    && let Some(id) = v["template_id"].as_str()
                {
                    acknowledged.lock().await.push((subject, id.to_owned()));
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.seconds / 2 + 1)).await;
    server.child.kill()?;
    server.child.wait()?;
    let killed_at = acknowledged.lock().await.len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    let mut server = setup.start().await?;
    let mut c = HttpClient::new(server.addr);
    let acknowledged = acknowledged.lock().await.clone();
    let mut lost = 0;
    for (subject, template_id) in &acknowledged {
        let r = c
            .get(&format!("/v1/subjects/{subject}"), Some(&tenant.api_key))
            .await?;
        let found = r.status == StatusCode::OK
            && r.json()
                .ok()
                .and_then(|v| v["template_id"].as_str().map(str::to_owned))
                .as_deref()
                == Some(template_id.as_str());
        if !found {
            lost += 1;
        }
    }
    say!(
        "kill -9 mid-load: {} enrolments acknowledged ({killed_at} before the kill), {lost} missing after restart",
        acknowledged.len()
    );
    let chain = must(
        c.get("/v1/audit/verify", Some(&tenant.api_key)).await?,
        StatusCode::OK,
    )
    .await?;
    say!("audit chain after the crash: {chain}");
    put(&mut figures, "crash_acknowledged", acknowledged.len());
    put(&mut figures, "crash_missing", lost);
    put(
        &mut figures,
        "crash_chain_entries",
        chain["entries"].clone(),
    );
    put(&mut figures, "crash_chain_status", chain["status"].clone());

    // Last (the guessers' CPU and the address they lock would disturb the
    // phases after it): wrong credentials from four clients while one
    // legitimate client verifies. All of them share 127.0.0.1, as clients
    // behind one proxy share its address.
    let addr = server.addr;
    let guessing = Arc::new(AtomicBool::new(true));
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let guess_started = Instant::now();
    let guessers: Vec<_> = (0..4)
        .map(|_| {
            let (guessing, refused) = (Arc::clone(&guessing), Arc::clone(&refused));
            tokio::spawn(async move {
                let mut c = HttpClient::new(addr);
                while guessing.load(Ordering::Relaxed) {
                    let guess = format!(
                        "fsk_{}_{}",
                        hex::encode(random::bytes::<16>()),
                        hex::encode(random::bytes::<32>())
                    );
                    match c.get("/v1/bundle", Some(&guess)).await {
                        Ok(r)
                            if r.status == StatusCode::UNAUTHORIZED
                                || r.status == StatusCode::TOO_MANY_REQUESTS =>
                        {
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(_) => {}
                        Err(_) => c = HttpClient::new(addr),
                    }
                }
            })
        })
        .collect();
    let legitimate = verify_phase(addr, &tenant, &subjects, 1, args.seconds).await?;
    guessing.store(false, Ordering::Relaxed);
    for g in guessers {
        let _ = g.await;
    }
    let refused = refused.load(Ordering::Relaxed) as f64 / guess_started.elapsed().as_secs_f64();
    say!(
        "wrong credentials: {refused:.0} refused/s (4 guessing clients, 401 then 429 from memory); meanwhile one legitimate client: {:.1} verify/s  p50 {:.2} ms  p99 {:.2} ms  shed(503) {}  other errors {}",
        legitimate.rps(),
        ms(legitimate.percentile(0.5)),
        ms(legitimate.percentile(0.99)),
        legitimate.shed,
        legitimate.other_errors
    );

    put(&mut figures, "wrong_credentials_refused_per_s", refused);
    phase_figures(&mut figures, "legitimate", &legitimate);

    server.child.kill()?;
    server.child.wait()?;
    if args.json {
        println!("{}", serde_json::Value::Object(figures));
    }
    Ok(if lost == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
