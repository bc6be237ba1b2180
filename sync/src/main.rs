//! `faceseal-sync`: serve the API, manage tenants, verify audit chains, and
//! benchmark the service under load.

#![forbid(unsafe_code)]

mod bench;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use faceseal_sync::api::{AppState, router};
use faceseal_sync::audit::ChainReport;
use faceseal_sync::error::ApiError;
use faceseal_sync::keystore::KekSource;
use faceseal_sync::limits::LoadLimits;
use faceseal_sync::service::{
    KekCheck, NewTenant, Service, ServiceConfig, admin_token_hash, database_has_keys,
};
use faceseal_sync::setup::{self, AdminTokenSource, DbLocation};
use faceseal_sync::throttle::ThrottleLimits;

#[derive(Parser)]
#[command(name = "faceseal-sync", version, about = "The faceseal sync service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data and the keys are.
#[derive(Args, Clone)]
struct Storage {
    /// SQLite database file (created if missing).
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// PostgreSQL connection string instead of SQLite (or FACESEAL_SYNC_DATABASE_URL).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// PEM file of the CA that signs PostgreSQL's TLS certificate, for
    /// `sslmode=require` in the URL (or FACESEAL_SYNC_DATABASE_CA; default:
    /// the system's roots).
    #[arg(long, value_name = "PATH")]
    database_ca: Option<PathBuf>,
    /// File holding the key-encryption key, 64 hex digits (or FACESEAL_SYNC_KEK / FACESEAL_SYNC_KEK_FILE).
    #[arg(long, value_name = "PATH")]
    kek_file: Option<PathBuf>,
    /// Directory of the key-encryption key and admin token a first run on
    /// SQLite creates; never the database's directory (or FACESEAL_SYNC_KEY_DIR;
    /// default: the platform's configuration directory).
    #[arg(long, value_name = "DIR")]
    key_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        storage: Storage,
        /// File holding the admin token (or FACESEAL_SYNC_ADMIN_TOKEN).
        #[arg(long, value_name = "PATH")]
        admin_token_file: Option<PathBuf>,
        /// Requests processed at once (default: three per core with SQLite, two with PostgreSQL).
        #[arg(long)]
        max_in_flight: Option<usize>,
        /// Requests waiting for a slot before new ones get 503 (default: one per two cores with SQLite,
        /// one per core with PostgreSQL).
        #[arg(long)]
        max_queued: Option<usize>,
        /// How long a challenge stays usable, in seconds.
        #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
        challenge_ttl_secs: u64,
        /// Failed authentications one credential may have per minute.
        #[arg(long, default_value_t = ThrottleLimits::default().per_credential, value_parser = clap::value_parser!(u32).range(1..))]
        auth_failures_per_credential: u32,
        /// Failed authentications one client address may have per minute
        /// (behind a proxy, every client has the proxy's address).
        #[arg(long, default_value_t = ThrottleLimits::default().per_address, value_parser = clap::value_parser!(u32).range(1..))]
        auth_failures_per_address: u32,
    },
    /// Manage tenants directly on the database.
    Tenant {
        #[command(subcommand)]
        action: TenantAction,
    },
    /// Audit trail commands.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Load benchmark: starts its own server on a scratch database and
    /// prints verify throughput, latencies, shedding and crash recovery.
    Bench(bench::BenchArgs),
}

#[derive(Subcommand)]
enum TenantAction {
    /// Create a tenant; prints its API key and template secret once.
    Create {
        tenant_id: String,
        /// Liveness level envelopes must be bound to: basic, standard (default) or strict.
        #[arg(long, value_name = "LEVEL")]
        liveness_level: Option<String>,
        #[arg(long)]
        liveness_threshold: Option<f64>,
        #[arg(long)]
        quality_threshold: Option<f64>,
        #[arg(long)]
        match_threshold: Option<f64>,
        /// Failed verifications a subject may have in a window (default 5).
        #[arg(long)]
        attempt_limit: Option<i64>,
        /// That window, in seconds (default 900).
        #[arg(long)]
        attempt_window_secs: Option<i64>,
        /// How long a subject stays locked after using its attempts, in seconds (default 900).
        #[arg(long)]
        lockout_secs: Option<i64>,
        #[command(flatten)]
        storage: Storage,
    },
    /// List tenants.
    List {
        #[command(flatten)]
        storage: Storage,
    },
    /// Make a new sealing key current (older ones open until retired).
    Rotate {
        tenant_id: String,
        #[command(flatten)]
        storage: Storage,
    },
    /// Delete a tenant: keys destroyed first, then every row.
    Delete {
        tenant_id: String,
        #[command(flatten)]
        storage: Storage,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Check a tenant's audit chain; exits 1 and names the first broken link if it is broken.
    Verify {
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        storage: Storage,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("faceseal-sync: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("faceseal-sync: {e}");
            ExitCode::FAILURE
        }
    }
}

type AnyError = Box<dyn std::error::Error + Send + Sync>;

/// A bind failure that says what to do, not only what the system said.
fn listen_error(listen: std::net::SocketAddr, e: std::io::Error) -> AnyError {
    match e.kind() {
        std::io::ErrorKind::AddrInUse => format!(
            "cannot listen on {listen}: the address is in use (another faceseal-sync, or another \
             program, listens there); stop it or choose another address with --listen"
        )
        .into(),
        std::io::ErrorKind::PermissionDenied => format!(
            "cannot listen on {listen}: permission denied (ports below 1024 need privileges); \
             choose another address with --listen"
        )
        .into(),
        _ => format!("cannot listen on {listen}: {e}").into(),
    }
}

async fn open(
    storage: &Storage,
    announce: bool,
    config: ServiceConfig,
) -> Result<(Service, DbLocation), AnyError> {
    let location = DbLocation::resolve(
        storage.db.clone(),
        storage.database_url.clone(),
        storage.database_ca.clone(),
    );
    let key_dir = setup::key_dir(storage.key_dir.as_deref());
    setup::preflight(&location, storage.kek_file.as_deref(), &key_dir)?;
    let db = setup::open_database(&location).await?;
    let has_keys = database_has_keys(db.as_ref()).await?;
    let (kek, source) =
        setup::load_kek(&location, storage.kek_file.as_deref(), &key_dir, has_keys)?;
    if announce || matches!(source, KekSource::CreatedFile(_)) {
        match &source {
            KekSource::Environment => eprintln!(
                "key-encryption key: from {}",
                faceseal_sync::keystore::KEK_ENV
            ),
            KekSource::File(p) => eprintln!("key-encryption key: {}", p.display()),
            KekSource::CreatedFile(p) => eprintln!(
                "key-encryption key: none configured, created {} (owner-only). Keep it out of the database's backups: a backup holding both can open every tenant, even one deleted since. Back it up apart: without it nothing can be opened.",
                p.display()
            ),
        }
    }
    let service = Service::new(db, Arc::new(kek), config);
    // A KEK that is not the database's opens nothing: refuse to serve.
    let check = service.check_kek().await.map_err(|e| -> AnyError {
        match e {
            // Say which key is wrong, not just "key store error".
            ApiError::Keys(k) => Box::new(k),
            other => Box::new(other),
        }
    })?;
    if check == KekCheck::Bound && announce {
        eprintln!("key-encryption key: bound to this database (checked at every start)");
    }
    Ok((service, location))
}

/// The access log (one event per request, see `faceseal_sync::observe`) on
/// standard error; `FACESEAL_SYNC_LOG` filters it like `RUST_LOG` (default
/// `info`; `faceseal_sync::access=off` silences the access log).
fn init_access_log() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FACESEAL_SYNC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

async fn run(cli: Cli) -> Result<ExitCode, AnyError> {
    match cli.command {
        Command::Serve {
            listen,
            storage,
            admin_token_file,
            max_in_flight,
            max_queued,
            challenge_ttl_secs,
            auth_failures_per_credential,
            auth_failures_per_address,
        } => {
            let config = ServiceConfig {
                challenge_ttl: challenge_ttl_secs,
                ..ServiceConfig::default()
            };
            init_access_log();
            let (service, location) = open(&storage, true, config).await?;
            let (token, source) = setup::load_admin_token(
                &location,
                admin_token_file.as_deref(),
                &setup::key_dir(storage.key_dir.as_deref()),
            )?;
            eprintln!("database: {}", location.describe());
            match &source {
                AdminTokenSource::Environment => {
                    eprintln!("admin token: from {}", setup::ADMIN_TOKEN_ENV)
                }
                AdminTokenSource::File(p) => eprintln!("admin token: {}", p.display()),
                AdminTokenSource::CreatedFile(p) => {
                    eprintln!("admin token: created {} (owner-only)", p.display())
                }
            }
            let mut limits = LoadLimits::for_this_machine(location.backend());
            limits.max_in_flight = max_in_flight.unwrap_or(limits.max_in_flight);
            limits.max_queued = max_queued.unwrap_or(limits.max_queued);
            let throttle = ThrottleLimits {
                per_credential: auth_failures_per_credential,
                per_address: auth_failures_per_address,
                ..ThrottleLimits::default()
            };
            let known = service.api_key_hashes().await?;
            let state = AppState::with_throttle(service, Some(admin_token_hash(&token)), throttle);
            for (handle, secret_hash) in known {
                state.throttle.known_api_key(&handle, secret_hash);
            }
            drop(token);
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| listen_error(listen, e))?;
            eprintln!(
                "listening on http://{} (API under /v1, description at /v1/openapi.json)",
                listener.local_addr()?
            );
            eprintln!(
                "create a tenant: faceseal-sync tenant create <name>{}   or   curl -H \"Authorization: Bearer $(cat <admin token file>)\" -H 'content-type: application/json' -d '{{\"tenant_id\":\"<name>\"}}' http://{}/v1/tenants",
                match &location {
                    DbLocation::Sqlite(p) => format!(" --db {}", p.display()),
                    DbLocation::Postgres { .. } => " --database-url <url>".into(),
                },
                listener.local_addr()?
            );
            faceseal_sync::server::serve(
                listener,
                router(state, limits),
                faceseal_sync::server::shutdown_signal(),
            )
            .await?;
            eprintln!("stopped");
            Ok(ExitCode::SUCCESS)
        }
        Command::Tenant { action } => tenant(action).await,
        Command::Audit {
            action: AuditAction::Verify { tenant, storage },
        } => {
            let (service, _) = open(&storage, false, ServiceConfig::default()).await?;
            let report = service.verify_audit(&tenant).await?;
            println!("{report}");
            Ok(match report {
                ChainReport::Intact { .. } => ExitCode::SUCCESS,
                ChainReport::Broken { .. } => ExitCode::from(1),
            })
        }
        Command::Bench(args) => bench::run(args).await,
    }
}

async fn tenant(action: TenantAction) -> Result<ExitCode, AnyError> {
    match action {
        TenantAction::Create {
            tenant_id,
            liveness_level,
            liveness_threshold,
            quality_threshold,
            match_threshold,
            attempt_limit,
            attempt_window_secs,
            lockout_secs,
            storage,
        } => {
            let (service, _) = open(&storage, false, ServiceConfig::default()).await?;
            let created = service
                .create_tenant(NewTenant {
                    tenant_id,
                    liveness_level,
                    liveness_threshold,
                    quality_threshold,
                    match_threshold,
                    attempt_limit,
                    attempt_window_secs,
                    lockout_secs,
                })
                .await?;
            println!("{}", serde_json::to_string_pretty(&created)?);
            eprintln!("the api_key and template_secret are shown once: store them now.");
        }
        TenantAction::List { storage } => {
            let (service, _) = open(&storage, false, ServiceConfig::default()).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&service.list_tenants().await?)?
            );
        }
        TenantAction::Rotate { tenant_id, storage } => {
            let (service, _) = open(&storage, false, ServiceConfig::default()).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&service.rotate_tenant_key(&tenant_id).await?)?
            );
        }
        TenantAction::Delete { tenant_id, storage } => {
            let (service, _) = open(&storage, false, ServiceConfig::default()).await?;
            service.delete_tenant(&tenant_id).await?;
            println!("tenant deleted: keys destroyed, rows removed");
        }
    }
    Ok(ExitCode::SUCCESS)
}
