//! The independent reference preprocessing of `scripts/golden/reference.py`,
//! run on one picture, and element-wise comparison of faceseal's own model
//! inputs with it.
//!
//! The reference tensors hold a face: they live in a temporary directory that
//! is removed when the [`Reference`] is dropped, and are never stored in the
//! repository (the golden files keep only their SHA-256).

use std::path::{Path, PathBuf};
use std::process::Command;

use faceseal_core::{BoundingBox, Landmarks, Point};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The reference inputs of every model for one picture.
pub struct Reference {
    dir: PathBuf,
    index: Value,
}

impl Reference {
    /// Runs the reference script on a picture of the data directory, with the
    /// detector's long side `det_size`. Needs `python3` with numpy, pillow and
    /// onnxruntime; fails, never skips, without them.
    pub fn run(image: &str, det_size: u32) -> Self {
        Self::run_with(image, det_size, None)
    }

    /// As [`Self::run`], with the embedder's chip cut at `chip_landmarks`
    /// (the golden file's points) rather than at the reference detector's.
    pub fn run_with(image: &str, det_size: u32, chip_landmarks: Option<&Value>) -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let dir = std::env::temp_dir().join(format!(
            "faceseal-golden-{}-{}",
            std::process::id(),
            image.replace(['/', '.'], "_")
        ));
        let mut command = Command::new("python3");
        command.arg(root.join("scripts/golden/reference.py"));
        if let Some(points) = chip_landmarks {
            command.arg("--chip-landmarks").arg(points.to_string());
        }
        command
            .arg(super::data_dir())
            .arg(image)
            .arg(det_size.to_string())
            .arg(&dir);
        if let Some(dirs) = std::env::var_os(faceseal_vision::models::MODEL_DIR_ENV) {
            command.args(std::env::split_paths(&dirs));
        }
        command.arg(root.join("models"));
        let out = command
            .output()
            .expect("python3 runs (the reference needs numpy, pillow and onnxruntime)");
        assert!(
            out.status.success(),
            "reference preprocessing failed for {image}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(dir.join("index.json")).expect("reference index");
        let index = serde_json::from_str(&text).expect("reference index parses");
        Self { dir, index }
    }

    /// What the script wrote besides the tensors: the plan, the crops, the
    /// library versions.
    pub fn index(&self) -> &Value {
        &self.index
    }

    /// One reference tensor (`detector`, `liveness0`, `liveness1`, `embedder`,
    /// `mesh`), flattened in NCHW order.
    pub fn tensor(&self, name: &str) -> Vec<f32> {
        let bytes = std::fs::read(self.dir.join(format!("{name}.f32"))).expect("reference tensor");
        bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// SHA-256 of a tensor's little-endian f32 bytes, as the script computes it.
pub fn sha256(tensor: &[f32]) -> String {
    let mut hash = Sha256::new();
    for v in tensor {
        hash.update(v.to_le_bytes());
    }
    hex::encode(hash.finalize())
}

/// How far faceseal's input may be from the reference, element by element.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    /// Largest absolute difference of any element.
    pub max_abs: f64,
    /// Mean absolute difference over all elements.
    pub mean_abs: f64,
}

/// The differences measured between two tensors.
#[derive(Debug, Clone, Copy, Default)]
pub struct Difference {
    pub max_abs: f64,
    pub mean_abs: f64,
}

impl Difference {
    pub fn between(ours: &[f32], reference: &[f32]) -> Self {
        assert_eq!(ours.len(), reference.len(), "tensor lengths");
        let (mut max_abs, mut sum) = (0f64, 0f64);
        for (a, b) in ours.iter().zip(reference) {
            let d = (*a as f64 - *b as f64).abs();
            max_abs = max_abs.max(d);
            sum += d;
        }
        Self {
            max_abs,
            mean_abs: sum / ours.len().max(1) as f64,
        }
    }

    pub fn worst(self, other: Self) -> Self {
        Self {
            max_abs: self.max_abs.max(other.max_abs),
            mean_abs: self.mean_abs.max(other.mean_abs),
        }
    }
}

/// Asserts that faceseal's input is within `bound` of the reference input.
pub fn check_close(what: &str, ours: &[f32], reference: &[f32], bound: Bound) -> Difference {
    let d = Difference::between(ours, reference);
    eprintln!(
        "{what}: max abs {:.4}, mean abs {:.5}",
        d.max_abs, d.mean_abs
    );
    assert!(
        d.max_abs <= bound.max_abs && d.mean_abs <= bound.mean_abs,
        "{what}: input differs from the reference preprocessing: max abs {:.4} (bound {}), mean abs {:.4} (bound {})",
        d.max_abs,
        bound.max_abs,
        d.mean_abs,
        bound.mean_abs
    );
    d
}

/// Asserts that the reference gave the tensor `golden` holds the hash of,
/// the one the stored model outputs were computed on.
pub fn check_pinned(what: &str, tensor: &[f32], golden: &Value, reference: &Reference) {
    let want = golden.as_str().expect("sha256 in the golden file");
    assert_eq!(
        sha256(tensor),
        want,
        "{what}: the reference preprocessing no longer gives the tensor the golden outputs were computed on \
         (library versions now: {}); regenerate the golden file",
        reference.index()["versions"]
    );
}

impl Reference {
    /// A face the reference crops start from (`face`: the largest face at the
    /// detector size asked for; `mesh_face`: the largest at 320), so that
    /// faceseal's crops can be compared on the same box and landmarks.
    pub fn face(&self, which: &str) -> (BoundingBox, Landmarks) {
        let face = &self.index[which];
        (bbox_of(&face["bbox"]), landmarks_of(&face["landmarks"]))
    }
}

fn number(x: &Value) -> f32 {
    x.as_f64().expect("number") as f32
}

/// A box as the reference and the golden files write it, `[x1, y1, x2, y2]`.
pub fn bbox_of(v: &Value) -> BoundingBox {
    let b: Vec<f32> = v.as_array().expect("a box").iter().map(number).collect();
    BoundingBox::new(b[0], b[1], b[2], b[3])
}

/// Five `[x, y]` points as the reference and the golden files write them.
pub fn landmarks_of(v: &Value) -> Landmarks {
    let points: Vec<Point> = v
        .as_array()
        .expect("landmarks")
        .iter()
        .map(|p| Point::new(number(&p[0]), number(&p[1])))
        .collect();
    Landmarks::from_array(points.try_into().expect("five landmarks"))
}
