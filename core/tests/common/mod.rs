//! Where the integration tests find real models and pictures.
//!
//! Tests that depend on model behaviour run the real models on real pictures.
//! They fail, loudly, when those are not configured: a skipped liveness test
//! would hide exactly the regressions it exists to catch.

#![allow(dead_code)]

pub mod reference;

use std::path::PathBuf;

use faceseal_core::{AnalyzerConfig, FaceAnalyzer, ModelLocator, RgbFrame};
use faceseal_vision::input::{InputLimits, decode_image};

/// Directory of the evaluation data (LFW, NUAA, ...), from `FACESEAL_DATA_DIR`.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("FACESEAL_DATA_DIR") {
        Some(d) => PathBuf::from(d),
        None => panic!(
            "FACESEAL_DATA_DIR is not set: point it at the evaluation data directory (see README.md, Testing)"
        ),
    }
}

/// The models: the project's own `models/` plus `FACESEAL_MODEL_DIR`.
pub fn locator() -> ModelLocator {
    let bundled = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");
    let locator = ModelLocator::new().with_env_dirs().with_dir(bundled);
    assert!(
        std::env::var_os(faceseal_vision::models::MODEL_DIR_ENV).is_some(),
        "FACESEAL_MODEL_DIR is not set: the liveness models are found there (see README.md, Testing)"
    );
    locator
}

pub fn analyzer() -> FaceAnalyzer {
    analyzer_with(AnalyzerConfig::default())
}

pub fn analyzer_with(config: AnalyzerConfig) -> FaceAnalyzer {
    FaceAnalyzer::load(&locator(), config).expect("models load")
}

pub fn picture(relative: &str) -> RgbFrame {
    let path = data_dir().join(relative);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    decode_image(&bytes, &InputLimits::default()).expect("picture decodes")
}

/// The first `n` frames of a NUAA session (`prefix`: id, glasses, position,
/// session) in a split list, in frame order: each picture's path below the
/// data directory and its capture time (NUAA numbers its webcam frames at
/// about 20 a second).
pub fn nuaa_session(list: &str, dir: &str, prefix: &str, n: usize) -> Vec<(String, u64)> {
    let root = data_dir().join("nuaa");
    let text = std::fs::read_to_string(root.join(list)).expect("split list");
    let mut frames: Vec<(String, u64)> = text
        .lines()
        .filter(|l| l.split('/').nth(1).is_some_and(|f| f.starts_with(prefix)))
        .map(|l| {
            let number: u64 = l
                .trim_end_matches(".jpg")
                .rsplit('_')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            (format!("nuaa/{dir}/{l}"), number * 50)
        })
        .collect();
    frames.sort_by_key(|f| f.1);
    assert!(frames.len() >= n, "{prefix}: {} frames", frames.len());
    frames.truncate(n);
    frames
}
