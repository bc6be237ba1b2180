//! The whole product path through the command-line tool alone, against a
//! real `faceseal-sync` process on a loopback port with a fresh SQLite
//! database: subject, consents, enrolment of a NUAA live burst, verification
//! of another burst of the same person, a print attack refused on the
//! device, a second enrolment refused, and bad input as exit 2 in JSON.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const FACESEAL: &str = env!("CARGO_BIN_EXE_faceseal");

/// `faceseal-sync`, built beside `faceseal` by `cargo test --workspace`.
fn sync_binary() -> PathBuf {
    let dir = Path::new(FACESEAL)
        .parent()
        .expect("the binary's directory");
    let path = dir.join(format!("faceseal-sync{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: run `cargo build -p faceseal-sync` first (cargo test --workspace builds it)",
        path.display()
    );
    path
}

fn data_dir() -> PathBuf {
    match std::env::var_os("FACESEAL_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => panic!("FACESEAL_DATA_DIR is not set: point it at the evaluation data directory"),
    }
}

/// `faceseal-sync ARGS --db --key-dir` in `dir`, with a home of its own
/// there and none of the caller's configuration.
fn sync_tool(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(sync_binary());
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
    cmd.env("HOME", dir)
        .args(args)
        .arg("--db")
        .arg(dir.join("sync.db"))
        .arg("--key-dir")
        .arg(dir.join("keys"));
    cmd
}

/// A serving process, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Server {
    let mut cmd = sync_tool(dir, &["serve", "--listen", "127.0.0.1:0"]);
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("faceseal-sync starts");
    let stderr = child.stderr.take().unwrap();
    let mut server = Server {
        child,
        url: String::new(),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads the address, then drains the log so the server never blocks on it.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("listening on http://") {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("faceseal-sync printed its address within 30 s");
    server.url = format!("http://{addr}");
    server
}

struct Tenant {
    api_key: String,
    template_secret: String,
}

fn create_tenant(dir: &Path) -> Tenant {
    let out = sync_tool(dir, &["tenant", "create", "acme"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("tenant create prints JSON");
    Tenant {
        api_key: v["api_key"].as_str().unwrap().to_owned(),
        template_secret: v["template_secret"].as_str().unwrap().to_owned(),
    }
}

/// The tool with the tenant's credentials in its environment, as a
/// newcomer's shell would have them.
fn faceseal(server: &Server, tenant: &Tenant, args: &[&str]) -> Output {
    let started = Instant::now();
    let out = Command::new(FACESEAL)
        .env("FACESEAL_SERVER", &server.url)
        .env("FACESEAL_API_KEY", &tenant.api_key)
        .env("FACESEAL_TEMPLATE_SECRET", &tenant.template_secret)
        .args(args)
        .output()
        .unwrap();
    eprintln!(
        "faceseal {} -> {:?} in {:.1} s",
        args.iter().find(|a| !a.starts_with('-')).unwrap_or(&""),
        out.status.code(),
        started.elapsed().as_secs_f64()
    );
    out
}

const SUBJECT: &str = "subject-0003";

/// `faceseal [--json] enrol|verify --subject SUBJECT --consent REF FRAMES...`.
fn capture(
    server: &Server,
    tenant: &Tenant,
    json: bool,
    command: &str,
    consent: &str,
    frames: &[&str],
) -> Output {
    let mut args = Vec::new();
    if json {
        args.push("--json");
    }
    args.extend([command, "--subject", SUBJECT, "--consent", consent]);
    args.extend(frames);
    faceseal(server, tenant, &args)
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Frames `range` of a NUAA train session in frame-number order.
fn burst(list: &str, dir: &str, prefix: &str, range: std::ops::Range<usize>) -> Vec<PathBuf> {
    let root = data_dir().join("nuaa");
    let text = std::fs::read_to_string(root.join(list)).expect("NUAA split list");
    let mut frames: Vec<(u64, PathBuf)> = text
        .lines()
        .filter(|l| l.split('/').nth(1).is_some_and(|f| f.starts_with(prefix)))
        .map(|l| {
            let n = l.trim_end_matches(".jpg").rsplit('_').next().unwrap();
            (n.parse().unwrap(), root.join(dir).join(l))
        })
        .collect();
    frames.sort();
    assert!(
        frames.len() >= range.end,
        "{prefix}: {} frames",
        frames.len()
    );
    frames[range].iter().map(|f| f.1.clone()).collect()
}

fn strs(paths: &[PathBuf]) -> Vec<&str> {
    paths.iter().map(|p| p.to_str().unwrap()).collect()
}

// Unix: the enrolment directory holds symbolic links to the data set.
#[cfg(unix)]
#[test]
fn enrol_verify_and_refusals_through_the_cli_against_a_real_server() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let tenant = create_tenant(dir.path());
    let server = serve(dir.path());

    let out = faceseal(&server, &tenant, &["subject", "create", SUBJECT]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), SUBJECT);
    let mut refs = Vec::new();
    for purpose in ["enrol", "verify"] {
        let out = faceseal(
            &server,
            &tenant,
            &[
                "consent",
                "grant",
                "--subject",
                SUBJECT,
                "--purpose",
                purpose,
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let r = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(!r.is_empty() && !r.contains(' '), "{r}");
        refs.push(r);
    }

    // Enrolment from a directory of the session's first five frames
    // (symbolic links: the data stays where it is).
    let enrol_frames = burst("clientraw_train.txt", "ClientRaw", "0003_01_00_01", 0..5);
    let frames_dir = dir.path().join("enrol-frames");
    std::fs::create_dir(&frames_dir).unwrap();
    for f in &enrol_frames {
        std::os::unix::fs::symlink(f, frames_dir.join(f.file_name().unwrap())).unwrap();
    }
    let out = capture(
        &server,
        &tenant,
        true,
        "enrol",
        &refs[0],
        &[frames_dir.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let enrolled = json(&out);
    assert_eq!(enrolled["outcome"], "enrolled", "{enrolled}");
    assert_eq!(enrolled["status"], "decided");
    assert_eq!(enrolled["receipt"], "decided");
    assert_eq!(enrolled["liveness"]["live"], true);
    let files: Vec<&str> = enrolled["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = enrol_frames
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, expected, "frames pushed in frame-number order");
    assert_eq!(enrolled["frames"][4]["guidance"], "done", "{enrolled}");

    // Another burst of the same person, as files, in human text.
    let same = burst("clientraw_train.txt", "ClientRaw", "0003_01_00_01", 5..10);
    let out = capture(&server, &tenant, false, "verify", &refs[1], &strs(&same));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(text.contains("decision: match, matched true"), "{text}");
    assert_eq!(
        text.matches("\nframe ").count(),
        5,
        "guidance per frame: {text}"
    );

    // A printed photo: refused on the device, with its reasons; nothing sent.
    let print = burst(
        "imposterraw_train.txt",
        "ImposterRaw",
        "0003_01_00_01",
        0..5,
    );
    let out = capture(&server, &tenant, true, "verify", &refs[1], &strs(&print));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let refused = json(&out);
    assert_eq!(refused["posted"], false, "{refused}");
    assert_eq!(refused["outcome"], "not_live");
    assert_eq!(refused["liveness"]["live"], false);
    assert!(
        !refused["liveness"]["reasons"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{refused}"
    );
    assert!(refused["liveness"]["scores"]["passive"].is_number());
    // Human text shows the reasons and the per-signal scores.
    let out = capture(&server, &tenant, false, "verify", &refs[1], &strs(&print));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("NOT LIVE") && text.contains("signals: passive"),
        "{text}"
    );
    assert!(text.contains("nothing was sent"), "{text}");

    // A second plain enrolment of the same subject.
    let out = capture(&server, &tenant, true, "enrol", &refs[0], &strs(&same));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let again = json(&out);
    assert_eq!(again["refusal"]["error"], "already_enrolled", "{again}");
    assert_eq!(again["outcome"], "refused:already_enrolled", "{again}");

    // A wrong API key is a server refusal (exit 3), in the one error shape.
    let out = Command::new(FACESEAL)
        .args(["--json", "subject", "create", "--server", &server.url])
        .args(["--api-key", "fsk_nope_nope", "someone"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let err: Value = serde_json::from_slice(&out.stderr).expect("JSON error on stderr");
    assert!(
        err["error"].is_string() && err["message"].is_string(),
        "{err}"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("someone"));

    eprintln!("whole flow: {:.1} s", started.elapsed().as_secs_f64());
}

/// Runs the tool and reads its JSON error: the exit code and the error.
fn json_error(args: &[&std::ffi::OsStr]) -> (Option<i32>, Value) {
    let out = Command::new(FACESEAL).args(args).output().unwrap();
    assert!(out.stdout.is_empty(), "{out:?}");
    let err: Value = serde_json::from_slice(&out.stderr)
        .unwrap_or_else(|e| panic!("{e}: not a JSON error: {out:?}"));
    assert!(err["message"].is_string(), "{err}");
    (out.status.code(), err)
}

#[test]
fn bad_input_is_exit_2_with_a_json_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-frames");
    let frame = dir.path().join("f_1.jpg");
    std::fs::write(&frame, b"not a picture").unwrap();
    let base = [
        "--json",
        "enrol",
        "--server",
        "http://127.0.0.1:9",
        "--api-key",
        "fsk_x_y",
        "--template-secret",
        "00",
        "--subject",
        "s",
        "--consent",
        "c",
    ];
    let with = |extra: &[&std::ffi::OsStr]| {
        let mut args: Vec<&std::ffi::OsStr> = base.iter().map(std::ffi::OsStr::new).collect();
        args.extend(extra);
        json_error(&args)
    };

    let (code, err) = with(&[missing.as_os_str()]);
    assert_eq!(
        (code, &err["error"]),
        (Some(2), &"missing_frames".into()),
        "{err}"
    );

    let (code, err) = with(&["--fps".as_ref(), "0".as_ref(), dir.path().as_os_str()]);
    assert_eq!(
        (code, &err["error"]),
        (Some(2), &"invalid_fps".into()),
        "{err}"
    );

    // A clap usage error is in the same shape under --json.
    let (code, err) = with(&["--fps".as_ref(), "many".as_ref(), frame.as_os_str()]);
    assert_eq!((code, &err["error"]), (Some(2), &"usage".into()), "{err}");

    // The frames are read before any request; then no server listening is exit 3.
    let (code, err) = with(&[frame.as_os_str()]);
    assert_eq!((code, &err["error"]), (Some(3), &"network".into()), "{err}");
}
