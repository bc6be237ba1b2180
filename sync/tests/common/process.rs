//! A real `faceseal-sync serve` process on a scratch SQLite database, for
//! the tests that need the binary itself: a crash, its standard error.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The deployment's secrets, 256 random bits each, the same for every start.
fn secrets() -> &'static (String, String) {
    static SECRETS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    SECRETS.get_or_init(|| {
        (
            hex::encode(faceseal_sync::random::bytes::<32>()),
            hex::encode(faceseal_sync::random::bytes::<32>()),
        )
    })
}

pub fn admin_token() -> String {
    secrets().1.clone()
}

pub fn tool(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_faceseal-sync"));
    cmd.current_dir(dir)
        .env_remove("FACESEAL_SYNC_DATABASE_URL")
        .env_remove("FACESEAL_SYNC_KEK_FILE")
        .env("FACESEAL_SYNC_KEK", &secrets().0)
        .env("FACESEAL_SYNC_ADMIN_TOKEN", admin_token())
        .env("FACESEAL_SYNC_KEY_DIR", dir.join("keys"));
    cmd
}

/// Starts `serve` on `dir/sync.db`; returns the process, its address, and
/// a thread that keeps reading its standard error (so the server never
/// writes to a closed pipe) and returns it when the process ends.
pub fn serve(dir: &Path) -> (Child, std::net::SocketAddr, std::thread::JoinHandle<String>) {
    let mut child = tool(dir)
        .args(["serve", "--listen", "127.0.0.1:0", "--db", "sync.db"])
        .args(["--max-in-flight", "8", "--max-queued", "64"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut said = String::new();
    let addr = loop {
        match lines.next() {
            Some(Ok(line)) => {
                said.push_str(&line);
                said.push('\n');
                if let Some(rest) = line.strip_prefix("listening on http://") {
                    break rest.split_whitespace().next().unwrap().parse().unwrap();
                }
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("serve did not start: {said}");
            }
        }
    };
    let rest = std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            said.push_str(&line);
            said.push('\n');
        }
        said
    });
    (child, addr, rest)
}
