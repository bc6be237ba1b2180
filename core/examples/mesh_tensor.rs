//! Writes the exact input tensor faceseal feeds the face-mesh model for the
//! largest face of a picture, so that it can be inspected or run under a
//! reference runtime (`core/tests/mesh_golden.rs` compares the same tensor with
//! `scripts/golden/reference.py`'s).
//!
//! Usage: `cargo run -p faceseal-core --example mesh_tensor -- IMAGE OUT.f32`
//! The file is raw little-endian f32 and holds a face: write it only to a
//! temporary directory.

use std::path::PathBuf;

use faceseal_core::{ModelKind, ModelLocator};
use faceseal_vision::detect::{DetectorConfig, FaceDetector, largest_face};
use faceseal_vision::input::{InputLimits, decode_image};
use faceseal_vision::mesh::{MeshCrop, crop_tensor};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, image, out] = &args[..] else {
        eprintln!("usage: mesh_tensor IMAGE OUT.f32");
        std::process::exit(2);
    };
    let bundled = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models");
    let locator = ModelLocator::from_env().with_dir(bundled);
    let detector = FaceDetector::new(
        &locator.read(ModelKind::Detector).expect("detector model"),
        DetectorConfig::default(),
    )
    .expect("detector loads");
    let frame = decode_image(
        &std::fs::read(image).expect("read image"),
        &InputLimits::default(),
    )
    .expect("decode image");
    let faces = detector.detect(&frame).expect("detect");
    let face = largest_face(&faces).expect("the picture must hold a face");
    let crop = MeshCrop::around(&face.bbox).expect("crop");
    let tensor = crop_tensor(&frame, &crop);
    let bytes: Vec<u8> = tensor.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(out, bytes).expect("write tensor");
}
