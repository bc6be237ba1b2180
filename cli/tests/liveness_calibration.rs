//! The shipped liveness limits and gates are what the calibration rule gives
//! on the NUAA train split, and the out-of-fold figures hold: run through the
//! command-line tool, as `scripts/evaluate.sh` does. The same bursts run
//! through the SDK's capture sessions are decided exactly as evaluated.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn data_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("FACESEAL_DATA_DIR").expect(
        "set FACESEAL_DATA_DIR to the evaluation data directory (it holds nuaa/): \
         this test checks the shipped liveness limits against real frames",
    ))
}

fn eval_nuaa_train_bursts() -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_faceseal"))
        .args([
            "--json",
            "eval",
            "nuaa",
            "--split",
            "train",
            "--burst",
            "5",
            "--through-sessions",
            "--data",
        ])
        .arg(data_dir().join("nuaa"))
        .output()
        .expect("run faceseal");
    assert!(
        out.status.success(),
        "faceseal eval nuaa failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report")
}

#[test]
fn shipped_limits_and_gates_are_the_rule_applied_to_the_train_split() {
    let report = eval_nuaa_train_bursts();
    // What apps run (capture sessions) is what is measured.
    let sessions = &report["through_sessions"];
    assert!(sessions["bursts"].as_u64().unwrap() >= 150, "{sessions}");
    assert_eq!(sessions["identical"], sessions["bursts"], "{sessions}");
    assert_eq!(
        sessions["sealed"].as_u64().unwrap() + sessions["refused"].as_u64().unwrap(),
        sessions["bursts"].as_u64().unwrap(),
        "{sessions}"
    );
    let cv = &report["crossval"];
    for limit in ["max_moire", "max_high_frequency", "max_border", "max_glare"] {
        let fitted = cv["fitted_limits"][limit].as_f64().unwrap();
        let shipped = cv["shipped_limits"][limit].as_f64().unwrap();
        assert!(
            (fitted - shipped).abs() <= 0.01 * fitted.abs().max(1e-6),
            "{limit}: fitted {fitted}, shipped {shipped}"
        );
    }
    assert_eq!(
        cv["gates_within_budget"], cv["shipped_gates"],
        "a cue is in force exactly where its out-of-fold live refusals stay within budget"
    );
    for scheme in cv["schemes"].as_array().unwrap() {
        let fused = scheme["cues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["cue"] == "fused decision, Standard")
            .unwrap();
        assert_eq!(
            fused["attacks_accepted"], 0,
            "{}: a print burst was accepted out of fold",
            scheme["name"]
        );
        assert!(fused["live"].as_u64().unwrap() >= 80, "{fused}");
    }
}
