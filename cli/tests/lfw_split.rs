//! The split-trust scheme on real faces: a slice of LFW View 2 (20 pairs of
//! each fold, 200 in all) decided in the encrypted domain, through the
//! command-line tool. Every encrypted decision must be the plaintext decision
//! of the same encoding; the full 6,000 pairs are `faceseal eval lfw-split`.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn data_dir() -> PathBuf {
    PathBuf::from(std::env::var_os("FACESEAL_DATA_DIR").expect(
        "set FACESEAL_DATA_DIR to the evaluation data directory (it holds lfw/): \
         this test decides real LFW pairs in the encrypted domain",
    ))
}

#[test]
fn encrypted_decisions_on_lfw_equal_the_plaintext_decisions() {
    let out = Command::new(env!("CARGO_BIN_EXE_faceseal"))
        .args(["--json", "eval", "lfw-split", "--per-fold", "20", "--data"])
        .arg(data_dir().join("lfw"))
        .output()
        .expect("run faceseal");
    assert!(
        out.status.success(),
        "faceseal eval lfw-split failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["pairs"], 200, "{report}");
    let decided = report["encrypted_decisions"].as_u64().unwrap();
    // Two thresholds per pair with a face on both pictures.
    assert!(decided >= 2 * 190, "{report}");
    assert_eq!(report["mismatches"], 0, "{report}");
    // Real faces separate: the encrypted decisions are far from chance.
    assert!(report["accuracy"].as_f64().unwrap() > 0.85, "{report}");
}
