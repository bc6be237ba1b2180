//! `faceseal detect` as a shell user meets it: the bundled models suffice,
//! quality comes with what limits it and what to do, and a picture that
//! cannot be read makes the exit status 2 with the error on stderr.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

const FACESEAL: &str = env!("CARGO_BIN_EXE_faceseal");

fn data_dir() -> PathBuf {
    match std::env::var_os("FACESEAL_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => panic!("FACESEAL_DATA_DIR is not set: point it at the evaluation data directory"),
    }
}

/// The tool with the repository's bundled models only (no liveness models).
fn bundled_only() -> Command {
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");
    let mut cmd = Command::new(FACESEAL);
    cmd.env_remove("FACESEAL_MODEL_DIR")
        .current_dir(std::env::temp_dir())
        .arg("--model-dir")
        .arg(models);
    cmd
}

#[test]
fn detect_needs_only_the_bundled_models_and_explains_quality() {
    let picture = data_dir().join("multiface/001_A.jpg");
    let out = bundled_only().arg("detect").arg(&picture).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1 face(s)"), "{text}");
    assert!(
        text.contains("quality score") && text.contains("weakest margin"),
        "{text}"
    );
    assert!(text.contains("ok: no quality issue"), "{text}");

    let out = bundled_only()
        .args(["--json", "detect"])
        .arg(&picture)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let quality = &v["images"][0]["faces"][0]["quality"];
    assert!(quality["score"].is_number(), "{v}");
    assert!(quality["limited_by"].is_string(), "{v}");
    assert_eq!(quality["issues"], Value::Array(vec![]), "{v}");
}

#[test]
fn an_unreadable_picture_is_exit_2_with_the_error_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.jpg");
    let good = data_dir().join("multiface/001_A.jpg");
    let out = bundled_only()
        .arg("detect")
        .arg(&good)
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("1 face(s)"),
        "the good picture is reported: {stdout}"
    );
    assert!(!stdout.contains("missing.jpg"), "{stdout}");
    assert!(stderr.contains("missing.jpg"), "{stderr}");

    // In JSON the error is in the one report, and the status is the same.
    let out = bundled_only()
        .args(["--json", "detect"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["images"][0]["error"].is_string(), "{v}");
}
