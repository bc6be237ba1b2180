//! `faceseal-keyholder serve`: the key holder process.
//! `faceseal-keyholder bench`: the split scheme's costs, with a key holder
//! process on loopback.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use faceseal_keyholder::service;
use faceseal_split::keyholder::{KeyHolder, credential_digest};
use faceseal_split::params;
use zeroize::Zeroizing;

mod bench;

#[derive(Parser)]
#[command(
    version,
    about = "The key holder of faceseal's split-trust template protection"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve decisions over HTTP. Prints "listening on ADDR" once ready.
    ///
    /// Example: faceseal-keyholder serve --dir /var/lib/faceseal-keyholder
    /// --credential-file /etc/faceseal-keyholder/server.credential
    Serve {
        /// The key store: one share and one decision key per tenant, the
        /// attempt budget and the audit trail (audit.jsonl).
        #[arg(long)]
        dir: PathBuf,
        /// Address to listen on (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:7411")]
        listen: SocketAddr,
        /// File holding the credential the sync service presents; only its
        /// SHA-256 is kept in memory.
        #[arg(long)]
        credential_file: PathBuf,
        /// Failed decisions per subject before it is locked.
        #[arg(long, default_value_t = 5)]
        attempts: u32,
    },
    /// Print the costs: envelope size, device encryption, server and key
    /// holder time per verification, noise budget, and verifications per
    /// second against a key holder process on loopback.
    Bench(bench::BenchArgs),
}

fn serve(
    dir: PathBuf,
    listen: SocketAddr,
    credential_file: PathBuf,
    attempts: u32,
) -> Result<(), String> {
    let credential = Zeroizing::new(
        std::fs::read(&credential_file).map_err(|e| format!("credential file: {e}"))?,
    );
    let credential = credential.trim_ascii();
    if credential.len() < 16 {
        return Err("the credential must be at least 16 bytes".into());
    }
    let par = params::bfv().map_err(|e| e.to_string())?;
    let holder = KeyHolder::open(par, dir, credential_digest(credential), attempts)
        .map_err(|e| format!("key store: {e}"))?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("listen on {listen}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("listening on {addr}");
        let _ = std::io::stdout().flush();
        axum::serve(listener, service::router(holder))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| e.to_string())
    })
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Serve {
            dir,
            listen,
            credential_file,
            attempts,
        } => serve(dir, listen, credential_file, attempts),
        Command::Bench(args) => bench::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("faceseal-keyholder: {e}");
            ExitCode::FAILURE
        }
    }
}
