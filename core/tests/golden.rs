//! Golden test: the models under tract give what onnxruntime gives on the same
//! input tensors, and faceseal's RetinaFace decoding matches an independent
//! reference decoding. `scripts/golden/make_golden.py` regenerates
//! `golden/golden.json`.

mod common;

use faceseal_core::align::align;
use faceseal_core::detect::{DetectorConfig, Letterbox, largest_face};
use faceseal_core::embed::to_rgb_tensor;
use faceseal_core::liveness::{crop_box, resize_crop, to_bgr_tensor};
use faceseal_core::{AnalyzerConfig, FaceAnalyzer};
use serde_json::Value;

/// Outputs must agree to 1e-4 of their magnitude (with a floor of 1 for
/// values near zero, where a relative error means nothing).
const TOLERANCE: f64 = 1e-4;

fn golden() -> Value {
    let text = include_str!("golden/golden.json");
    serde_json::from_str(text).expect("golden.json parses")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// Largest error relative to max(|expected|, 1).
fn worst_relative(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs() / w.abs().max(1.0))
        .fold(0.0, f64::max)
}

/// The tensor faceseal builds must be the one the reference ran on.
fn check_input(name: &str, tensor: &[f32], expected: &Value) {
    let sum: f64 = tensor.iter().map(|v| *v as f64).sum();
    let abs_sum: f64 = tensor.iter().map(|v| v.abs() as f64).sum();
    assert_eq!(
        tensor.len() as u64,
        expected["len"].as_u64().unwrap(),
        "{name}: input length"
    );
    let want_abs = expected["abs_sum"].as_f64().unwrap();
    assert!(
        (abs_sum - want_abs).abs() <= 1e-6 * want_abs.max(1.0)
            && (sum - expected["sum"].as_f64().unwrap()).abs() <= 1e-6 * want_abs.max(1.0),
        "{name}: input tensor differs from the golden one (decoder or preprocessing changed; regenerate)"
    );
}

fn analyzer_for(det_size: u32) -> FaceAnalyzer {
    common::analyzer_with(AnalyzerConfig {
        detector: DetectorConfig {
            input_size: det_size,
            ..DetectorConfig::default()
        },
        ..AnalyzerConfig::default()
    })
}

#[test]
fn tract_matches_onnxruntime_and_reference_decoding() {
    let golden = golden();
    let mut worst = [0f64; 4];
    for entry in golden["entries"].as_array().unwrap() {
        let image = entry["image"].as_str().unwrap();
        let det_size = entry["det_size"].as_u64().unwrap() as u32;
        let analyzer = analyzer_for(det_size);
        let frame = common::picture(image);

        // Detector raw outputs on the stored rows.
        let lb = Letterbox::new(frame.width(), frame.height(), det_size);
        let tensor = lb.tensor(&frame);
        check_input(image, &tensor, &entry["detector"]["input"]);
        let raw = analyzer
            .detector()
            .run_tensor(lb.plan_w, lb.plan_h, &tensor)
            .unwrap();
        let rows: Vec<usize> = entry["detector"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_u64().unwrap() as usize)
            .collect();
        for (k, (name, width)) in [("loc", 4), ("conf", 2), ("landmarks", 10)]
            .into_iter()
            .enumerate()
        {
            let got: Vec<f64> = rows
                .iter()
                .flat_map(|&r| raw[k][r * width..(r + 1) * width].iter().map(|v| *v as f64))
                .collect();
            let err = worst_relative(&got, &floats(&entry["detector"][name]));
            assert!(
                err <= TOLERANCE,
                "{image}: detector {name} differs by {err:e}"
            );
            worst[0] = worst[0].max(err);
        }

        // Decoded detections within one pixel of the reference decoding.
        let faces = analyzer.detect(&frame).unwrap();
        let reference = entry["detections"].as_array().unwrap();
        assert_eq!(faces.len(), reference.len(), "{image}: number of faces");
        for (face, want) in faces.iter().zip(reference) {
            let b = floats(&want["bbox"]);
            let got = [face.bbox.x1, face.bbox.y1, face.bbox.x2, face.bbox.y2];
            for (g, w) in got.iter().zip(&b) {
                assert!(
                    (*g as f64 - w).abs() <= 1.0,
                    "{image}: box {got:?} vs {b:?}"
                );
            }
            for (p, w) in face
                .landmarks
                .to_array()
                .iter()
                .zip(want["landmarks"].as_array().unwrap())
            {
                let w = floats(w);
                assert!(
                    (p.x as f64 - w[0]).abs() <= 1.0 && (p.y as f64 - w[1]).abs() <= 1.0,
                    "{image}: landmark {p:?} vs {w:?}"
                );
            }
            worst[1] = worst[1].max((face.score as f64 - want["score"].as_f64().unwrap()).abs());
        }

        // Liveness logits on the exact crops.
        let face = largest_face(&faces).expect("a face");
        let checker = analyzer.liveness_checker();
        for (i, factor) in checker.crop_factors().iter().enumerate() {
            let crop = crop_box(frame.width(), frame.height(), &face.bbox, *factor).unwrap();
            let t = to_bgr_tensor(&resize_crop(&frame, &crop));
            check_input(image, &t, &entry["liveness"][i]["input"]);
            let logits: Vec<f64> = checker
                .run_tensor(i, &t)
                .unwrap()
                .iter()
                .map(|v| *v as f64)
                .collect();
            let err = worst_relative(&logits, &floats(&entry["liveness"][i]["logits"]));
            assert!(
                err <= TOLERANCE,
                "{image}: liveness model {i} differs by {err:e}"
            );
            worst[2] = worst[2].max(err);
        }

        // Embedding of the aligned chip.
        let chip = align(&frame, &face.landmarks).unwrap();
        let t = to_rgb_tensor(chip.as_rgb());
        check_input(image, &t, &entry["embedder"]["input"]);
        let desc = analyzer.embedder().run_tensor(&t).unwrap();
        let got: Vec<f64> = desc.values().iter().map(|v| *v as f64).collect();
        let err = worst_relative(&got, &floats(&entry["embedder"]["descriptor"]));
        assert!(err <= TOLERANCE, "{image}: descriptor differs by {err:e}");
        worst[3] = worst[3].max(err);
    }
    eprintln!(
        "worst relative error: detector {:.2e}, liveness {:.2e}, embedder {:.2e}; worst score difference {:.2e}",
        worst[0], worst[2], worst[3], worst[1]
    );
}
