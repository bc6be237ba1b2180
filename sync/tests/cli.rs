//! The command-line tool as an operator meets it: a first run with no
//! configuration, tenant management, audit verification, and `serve`
//! starting, saying where everything is, and stopping cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

/// The tool in `dir`, with no configuration, and a home of its own there
/// (the default key directory is under it).
fn tool(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_faceseal-sync"));
    cmd.current_dir(dir);
    for var in [
        "FACESEAL_SYNC_KEK",
        "FACESEAL_SYNC_KEK_FILE",
        "FACESEAL_SYNC_ADMIN_TOKEN",
        "FACESEAL_SYNC_DATABASE_URL",
        "FACESEAL_SYNC_KEY_DIR",
        "XDG_CONFIG_HOME",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", dir.join("home"));
    cmd
}

/// Where a first run puts its secrets with that home.
fn key_dir(dir: &Path) -> std::path::PathBuf {
    dir.join("home/.config/faceseal-sync")
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
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
    let kek = key_dir(dir.path()).join("faceseal-sync.kek");
    assert!(
        stderr.contains(&format!("created {}", kek.display())),
        "{stderr}"
    );
    assert!(stderr.contains("out of the database's backups"), "{stderr}");
    let created: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(created["api_key"].as_str().unwrap().starts_with("fsk_"));
    assert_eq!(created["template_secret"].as_str().unwrap().len(), 64);
    // Nothing secret beside the database; everything owner-only.
    assert!(!dir.path().join("faceseal-sync.kek").exists());
    #[cfg(unix)]
    {
        assert_eq!(mode(&kek), 0o600);
        assert_eq!(mode(&key_dir(dir.path())), 0o700);
        for file in [
            "faceseal-sync.db",
            "faceseal-sync.db-wal",
            "faceseal-sync.db-shm",
        ] {
            let path = dir.path().join(file);
            if path.exists() {
                assert_eq!(mode(&path), 0o600, "{file}");
            }
        }
        assert_eq!(mode(&dir.path().join("faceseal-sync.db")), 0o600);
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
    let token =
        std::fs::read_to_string(key_dir(dir.path()).join("faceseal-sync.admin-token")).unwrap();
    assert!(!dir.path().join("faceseal-sync.admin-token").exists());
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

/// Finding 4: started on an existing database with another KEK, the
/// service served 500s after committing rows. Now it refuses to start.
#[test]
fn another_kek_on_an_existing_database_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = run(dir.path(), &["tenant", "create", "acme"]);
    assert!(ok, "{stderr}");
    for args in [
        &["serve", "--listen", "127.0.0.1:0"][..],
        &["tenant", "create", "beta"][..],
        &["tenant", "list"][..],
    ] {
        let out = tool(dir.path())
            .args(args)
            .env("FACESEAL_SYNC_KEK", "11".repeat(32))
            .env("FACESEAL_SYNC_ADMIN_TOKEN", "ab12".repeat(16))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains("not this database's"), "{args:?}: {stderr}");
    }
    // Nothing was written under the wrong key.
    let (ok, stdout, _) = run(dir.path(), &["tenant", "list"]);
    assert!(
        ok && stdout.contains("acme") && !stdout.contains("beta"),
        "{stdout}"
    );
}

#[test]
fn postgres_needs_an_explicit_kek_and_admin_token() {
    let dir = tempfile::tempdir().unwrap();
    let url = "postgresql://nobody@127.0.0.1:1/none";
    let out = tool(dir.path())
        .args(["serve", "--database-url", url])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("same key-encryption key"));
    let out = tool(dir.path())
        .args(["serve", "--database-url", url])
        .env("FACESEAL_SYNC_KEK", "22".repeat(32))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("same admin token") || stderr.contains("PostgreSQL"),
        "{stderr}"
    );
    assert!(
        !key_dir(dir.path()).exists(),
        "nothing created for PostgreSQL"
    );
}

#[test]
fn weak_admin_tokens_and_keys_beside_the_database_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for token in ["x", "test-admin-token", &"a".repeat(100)] {
        let out = tool(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("FACESEAL_SYNC_ADMIN_TOKEN", token)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{token}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("too weak"));
    }
    let out = tool(dir.path())
        .args([
            "tenant",
            "list",
            "--db",
            "data/sync.db",
            "--key-dir",
            "data",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("database's directory"));
}

/// An older version kept the KEK beside the database. The new binary must
/// not invent another one for a database that already holds wrapped keys.
#[test]
fn a_database_with_keys_gets_no_new_kek() {
    let dir = tempfile::tempdir().unwrap();
    let old_kek = dir.path().join("faceseal-sync.kek");
    std::fs::write(&old_kek, "33".repeat(32)).unwrap();
    let (ok, _, stderr) = run(
        dir.path(),
        &[
            "tenant",
            "create",
            "acme",
            "--kek-file",
            "faceseal-sync.kek",
        ],
    );
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = run(dir.path(), &["tenant", "list"]);
    assert!(!ok);
    assert!(stderr.contains("already holds wrapped keys"), "{stderr}");
    assert!(!key_dir(dir.path()).join("faceseal-sync.kek").exists());
    let (ok, stdout, _) = run(
        dir.path(),
        &["tenant", "list", "--kek-file", "faceseal-sync.kek"],
    );
    assert!(ok && stdout.contains("acme"));
}

#[test]
fn serving_on_an_address_in_use_says_so_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (ok, _, stderr) = run(dir.path(), &["serve", "--listen", &addr]);
    assert!(!ok, "a second server on a used address must not start");
    assert!(stderr.contains("in use"), "{stderr}");
    assert!(stderr.contains("--listen"), "{stderr}");
    drop(taken);
}

#[test]
fn bench_json_holds_every_figure_the_readme_renders() {
    // The figures of sync/README.md are rendered from this output
    // (scripts/figures.py sync-bench-runs); a short run checks its shape and
    // that the crash phase lost nothing, not its speed.
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = run(
        dir.path(),
        &[
            "bench",
            "--seconds",
            "1",
            "--subjects",
            "2",
            "--max-clients",
            "2",
            "--json",
        ],
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("saturation:"),
        "progress goes to stderr: {stderr}"
    );
    let figures: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    for key in [
        "unloaded_per_s",
        "unloaded_p99_ms",
        "saturation_per_s",
        "overload_2x_accepted_pct",
        "overload_2x_p99_ratio",
        "overload_4x_accepted_pct",
        "overload_4x_p99_ratio",
        "wrong_credentials_refused_per_s",
        "legitimate_per_s",
        "legitimate_p99_ms",
    ] {
        let value = figures[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key}: {figures}"));
        assert!(value.is_finite() && value >= 0.0, "{key} = {value}");
    }
    assert!(figures["saturation_per_s"].as_f64().unwrap() > 0.0);
    assert_eq!(figures["backend"], "sqlite");
    assert_eq!(figures["crash_missing"], 0);
    assert_eq!(figures["crash_chain_status"], "intact");
}
