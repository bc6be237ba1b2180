//! Golden test for the face mesh: tract gives what onnxruntime gives on the
//! same input tensors, built from real pictures by faceseal's own detector
//! and crop. `scripts/golden/make_mesh_golden.py` regenerates
//! `golden/mesh_golden.json`.

mod common;

use std::path::PathBuf;

use faceseal_core::detect::{DetectorConfig, FaceDetector, largest_face};
use faceseal_core::mesh::{FaceMesh, MESH_POINTS, MeshCrop, crop_tensor};
use faceseal_core::{ModelKind, ModelLocator};
use serde_json::Value;

/// Mesh coordinates (crop pixels, 0..192) and the face probability must
/// agree to 1e-4 of their magnitude, with a floor of 1 for values near zero.
const TOLERANCE: f64 = 1e-4;

fn bundled() -> ModelLocator {
    ModelLocator::new().with_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models"))
}

#[test]
fn tract_mesh_matches_onnxruntime() {
    let golden: Value =
        serde_json::from_str(include_str!("golden/mesh_golden.json")).expect("golden parses");
    let models = bundled();
    let detector = FaceDetector::new(
        &models.read(ModelKind::Detector).expect("detector"),
        DetectorConfig::default(),
    )
    .expect("detector loads");
    let mesh = FaceMesh::load(&models).expect("mesh loads");
    let mut worst = 0f64;
    for entry in golden["entries"].as_array().expect("entries") {
        let image = entry["image"].as_str().unwrap();
        let frame = common::picture(image);
        let faces = detector.detect(&frame).expect("detect");
        let face = largest_face(&faces).expect("a face");
        let crop = MeshCrop::around(&face.bbox).expect("crop");
        let tensor = crop_tensor(&frame, &crop);

        let want = &entry["input"];
        let sum: f64 = tensor.iter().map(|v| *v as f64).sum();
        let abs_sum: f64 = tensor.iter().map(|v| v.abs() as f64).sum();
        assert_eq!(tensor.len() as u64, want["len"].as_u64().unwrap());
        let scale = want["abs_sum"].as_f64().unwrap().max(1.0);
        assert!(
            (abs_sum - want["abs_sum"].as_f64().unwrap()).abs() <= 1e-6 * scale
                && (sum - want["sum"].as_f64().unwrap()).abs() <= 1e-6 * scale,
            "{image}: input tensor differs from the golden one (detector or crop changed; regenerate)"
        );

        let raw = mesh.run_tensor(&tensor).expect("mesh runs");
        let expected: Vec<f64> = entry["mesh"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(raw.points.len(), MESH_POINTS);
        assert_eq!(expected.len(), 3 * MESH_POINTS);
        let got = raw.points.iter().flatten().map(|v| *v as f64);
        let mut err = got
            .zip(&expected)
            .map(|(g, w)| (g - w).abs() / w.abs().max(1.0))
            .fold(0.0, f64::max);
        let flag = entry["face_flag"].as_f64().unwrap();
        err = err.max((raw.face_score as f64 - flag).abs());
        eprintln!(
            "{image}: worst relative error {err:.2e}, face score {}",
            raw.face_score
        );
        worst = worst.max(err);

        // And the full path maps those same points into the picture.
        let full = mesh.landmarks(&frame, face).expect("landmarks");
        assert_eq!(full.crop, crop);
        assert!(face.bbox.contains(faceseal_core::Point::new(
            full.points[1][0],
            full.points[1][1]
        )));
    }
    assert!(worst <= TOLERANCE, "worst relative error {worst:.2e}");
}
