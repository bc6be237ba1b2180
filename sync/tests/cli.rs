//! The command-line tool as an operator meets it: a first run with no
//! configuration, tenant management, audit verification, and `serve`
//! starting, saying where everything is, and stopping cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn tool(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_faceseal-sync"));
    cmd.current_dir(dir);
    for var in [
        "FACESEAL_SYNC_KEK",
        "FACESEAL_SYNC_KEK_FILE",
        "FACESEAL_SYNC_ADMIN_TOKEN",
        "FACESEAL_SYNC_DATABASE_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn run(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = tool(dir).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn first_run_tenant_lifecycle_and_audit_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = run(dir.path(), &["tenant", "create", "acme"]);
    assert!(ok, "{stderr}");
    assert!(stderr.contains("created ./faceseal-sync.kek"), "{stderr}");
    let created: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(created["api_key"].as_str().unwrap().starts_with("fsk_"));
    assert_eq!(created["template_secret"].as_str().unwrap().len(), 64);
    let kek = dir.path().join("faceseal-sync.kek");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&kek).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // The KEK never reaches the database.
    let kek_hex = std::fs::read_to_string(&kek).unwrap();
    let db = std::fs::read(dir.path().join("faceseal-sync.db")).unwrap();
    let wal = std::fs::read(dir.path().join("faceseal-sync.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(!bytes.windows(64).any(|w| w == kek_hex.trim().as_bytes()));
    }

    let (ok, stdout, _) = run(dir.path(), &["tenant", "list"]);
    assert!(ok && stdout.contains("\"acme\""), "{stdout}");
    let (ok, stdout, _) = run(dir.path(), &["tenant", "rotate", "acme"]);
    assert!(ok);
    let bundle: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_ne!(bundle["key_id"], created["bundle"]["key_id"]);
    assert_eq!(bundle["keys"].as_array().unwrap().len(), 2);
    let (ok, stdout, _) = run(dir.path(), &["audit", "verify", "--tenant", "acme"]);
    assert!(ok && stdout.contains("intact: 2 entries"), "{stdout}");
    let (ok, _, _) = run(dir.path(), &["tenant", "create", "acme"]);
    assert!(!ok, "a second tenant of the same name");
    let (ok, _, stderr) = run(dir.path(), &["tenant", "delete", "acme"]);
    assert!(ok, "{stderr}");
    let (ok, _, _) = run(dir.path(), &["audit", "verify", "--tenant", "acme"]);
    assert!(!ok, "a deleted tenant has no chain");

    // Another KEK opens nothing of this database.
    let (ok, _, _) = run(dir.path(), &["tenant", "create", "beta"]);
    assert!(ok);
    let out = tool(dir.path())
        .args(["audit", "verify", "--tenant", "beta"])
        .env("FACESEAL_SYNC_KEK", "11".repeat(32))
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn serve_says_where_everything_is_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tool(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut said = String::new();
    let addr = loop {
        let line = lines.next().expect("serve printed its address").unwrap();
        said.push_str(&line);
        said.push('\n');
        if let Some(rest) = line.strip_prefix("listening on http://") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let line = lines.next().unwrap().unwrap();
    said.push_str(&line);
    assert!(
        said.contains("key-encryption key: none configured, created"),
        "{said}"
    );
    assert!(said.contains("admin token: created"), "{said}");
    assert!(
        said.contains("database: SQLite file faceseal-sync.db"),
        "{said}"
    );
    assert!(
        said.contains("create a tenant: faceseal-sync tenant create"),
        "{said}"
    );
    let token = std::fs::read_to_string(dir.path().join("faceseal-sync.admin-token")).unwrap();
    assert!(
        !said.contains(token.trim()),
        "the admin token is never printed"
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut c = faceseal_sync::client::HttpClient::new(addr.parse().unwrap());
        let r = c.get("/v1/health", None).await.unwrap();
        assert_eq!(r.status, hyper::StatusCode::OK);
        let r = c.get("/v1/tenants", Some(token.trim())).await.unwrap();
        assert_eq!(r.status, hyper::StatusCode::OK);
    });
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful exit on SIGTERM: {exit:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l == "stopped"), "{rest:?}");
}
