//! Golden test for the face mesh: faceseal's mesh input matches an
//! independent reference preprocessing (`scripts/golden/reference.py`: Pillow
//! decoding, the reference detector, the package's square box and TensorFlow's
//! `crop_and_resize` in numpy), element by element, and tract gives what
//! onnxruntime gives on the reference input. `scripts/golden/make_mesh_golden.py`
//! regenerates `golden/mesh_golden.json`, which keeps the outputs and the
//! reference input's SHA-256.
//!
//! Needs the evaluation data and `python3` with numpy, pillow and onnxruntime.

mod common;

use std::path::PathBuf;

use common::reference::{Bound, Reference, check_close, check_pinned};
use faceseal_core::{ModelKind, ModelLocator};
use faceseal_vision::detect::{DetectorConfig, FaceDetector, largest_face};
use faceseal_vision::mesh::{FaceMesh, MESH_POINTS, MeshCrop, crop_tensor};
use serde_json::Value;

/// Mesh coordinates (crop pixels, 0..192) and the face probability must
/// agree to 1e-4 of their magnitude, with a floor of 1 for values near zero.
const TOLERANCE: f64 = 1e-4;

/// The mesh input (RGB / 255), cut from the same box. Besides the JPEG
/// decoders' rounding (a few levels), faceseal samples the square crop on
/// pixel centres (`(d + 0.5) * side / 192 - 0.5`, OpenCV's grid) over a
/// black canvas, where `crop_and_resize` samples from the corners with the
/// box scaled by `(size - 1) / size` of the picture and reads no black inside
/// the picture: up to about half a pixel apart, and, where the crop leaves the
/// picture, a whole edge row blended with black. Measured with the pictures
/// of mesh_golden.json: max abs 0.02 (LFW, crop inside the picture), 0.32
/// and 0.68 (NUAA, crops past the top edge); mean abs 0.0019 to 0.0062. The
/// mean bound is the discriminating one: a swapped channel order is off by
/// about 0.1 on average.
const MESH_INPUT: Bound = Bound {
    max_abs: 0.75,
    mean_abs: 0.012,
};

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
        // faceseal's crop from the box the reference started from, so that
        // only the preprocessing is compared.
        let reference = Reference::run(image, DetectorConfig::default().input_size);
        let (ref_box, _) = reference.face("mesh_face");
        let crop = MeshCrop::around(&ref_box).expect("crop");
        let tensor = crop_tensor(&frame, &crop);
        let want_crop: Vec<i64> = entry["crop"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert_eq!(
            [crop.left, crop.top, crop.side as i64],
            want_crop[..],
            "{image}: mesh crop against the reference"
        );
        let theirs = reference.tensor("mesh");
        check_pinned(image, &theirs, &entry["input_sha256"], &reference);
        check_close(image, &tensor, &theirs, MESH_INPUT);

        let raw = mesh.run_tensor(&theirs).expect("mesh runs");
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
        assert_eq!(Some(full.crop), MeshCrop::around(&face.bbox));
        assert!(face.bbox.contains(faceseal_core::Point::new(
            full.points[1][0],
            full.points[1][1]
        )));
    }
    assert!(worst <= TOLERANCE, "worst relative error {worst:.2e}");
}
