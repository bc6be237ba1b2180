//! Golden test: faceseal's model inputs match an independent reference
//! preprocessing, the models under tract give what onnxruntime gives on the
//! reference inputs, and faceseal's RetinaFace decoding matches an
//! independent reference decoding.
//!
//! `scripts/golden/reference.py` decodes each picture with Pillow and builds
//! every model input in numpy from the model descriptions; this test runs it,
//! compares faceseal's own inputs (the tensors the pipeline feeds the models)
//! element by element, and checks the reference against the SHA-256 recorded
//! in `golden/golden.json`, which `scripts/golden/make_golden.py` regenerates.
//!
//! Needs the models, the evaluation data and `python3` with numpy, pillow and
//! onnxruntime; fails, never skips, without them.

mod common;

use common::reference::{Bound, Difference, Reference, check_close, check_pinned, landmarks_of};
use faceseal_core::{AnalyzerConfig, FaceAnalyzer};
use faceseal_vision::align::align;
use faceseal_vision::detect::{DetectorConfig, Letterbox, largest_face};
use faceseal_vision::embed::to_rgb_tensor;
use serde_json::Value;

/// Outputs must agree to 1e-4 of their magnitude (with a floor of 1 for
/// values near zero, where a relative error means nothing).
const TOLERANCE: f64 = 1e-4;

// faceseal's inputs against the reference, on the 0..255 scale. Measured with
// the pictures of golden.json: max abs 4, 3, 3 and mean abs 0.25, 0.31, 0.34
// (detector, liveness, embedder). The bounds leave room for other pictures,
// not for another preprocessing: a swapped channel order or a transposed
// layout is off by tens of levels on average.

/// Detector input (BGR minus the mean). The JPEG decoders (the `image`
/// crate's and Pillow's libjpeg-turbo) round their inverse DCT and chroma
/// upsampling differently, and the two antialiased bilinear resizes
/// (fast_image_resize, Pillow) their fixed-point weights: a few levels on
/// some pixels, a fraction of one on average.
const DETECTOR_INPUT: Bound = Bound {
    max_abs: 8.0,
    mean_abs: 0.6,
};

/// Liveness inputs (BGR), cut from the same box: the decoder differences
/// through a plain bilinear resize, whose fixed-point rounding adds at most
/// one level.
const LIVENESS_INPUT: Bound = Bound {
    max_abs: 8.0,
    mean_abs: 0.6,
};

/// Embedder input (RGB), aligned on the same landmarks: the decoder
/// differences, and f32 against f64 sampling positions.
const EMBEDDER_INPUT: Bound = Bound {
    max_abs: 8.0,
    mean_abs: 0.6,
};

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
fn inputs_match_reference_preprocessing_and_tract_matches_onnxruntime() {
    let golden = golden();
    let mut worst = [0f64; 4];
    let mut input_worst = [Difference::default(); 3];
    for entry in golden["entries"].as_array().unwrap() {
        let image = entry["image"].as_str().unwrap();
        let det_size = entry["det_size"].as_u64().unwrap() as u32;
        let analyzer = analyzer_for(det_size);
        let frame = common::picture(image);
        // The chip is cut at the golden file's landmarks, so that its pixels
        // do not follow the last bits of this CPU's onnxruntime.
        let chip_points = &entry["embedder"]["landmarks"];
        let reference = Reference::run_with(image, det_size, Some(chip_points));

        // Detector: faceseal's letterbox against the reference one, then
        // tract against onnxruntime on the reference input.
        let lb = Letterbox::new(
            frame.width(),
            frame.height(),
            analyzer.detector().config().input_size,
        );
        let plan = &reference.index()["plan"];
        assert_eq!(
            (lb.plan_w as u64, lb.plan_h as u64),
            (
                plan["plan_w"].as_u64().unwrap(),
                plan["plan_h"].as_u64().unwrap()
            ),
            "{image}: detector plan size"
        );
        let ours = lb.tensor(&frame);
        let theirs = reference.tensor("detector");
        check_pinned(
            &format!("{image} detector"),
            &theirs,
            &entry["detector"]["input_sha256"],
            &reference,
        );
        input_worst[0] = input_worst[0].worst(check_close(
            &format!("{image} detector"),
            &ours,
            &theirs,
            DETECTOR_INPUT,
        ));
        let raw = analyzer
            .detector()
            .run_tensor(lb.plan_w, lb.plan_h, &theirs)
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

        // faceseal's detections, from its own input, within one pixel of the
        // reference decoding of the reference input.
        let faces = analyzer.detect(&frame).unwrap();
        let expected = entry["detections"].as_array().unwrap();
        assert_eq!(faces.len(), expected.len(), "{image}: number of faces");
        for (face, want) in faces.iter().zip(expected) {
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

        // Liveness and embedder: faceseal's crops and chip from the face the
        // reference started from (the detections were compared above), so
        // that only the preprocessing is compared here.
        assert!(largest_face(&faces).is_some(), "{image}: a face");
        let (ref_box, _) = reference.face("face");
        let checker = analyzer.liveness_checker();
        for (i, want) in entry["liveness"].as_array().unwrap().iter().enumerate() {
            let (crop, ours) = checker
                .input_tensor(&frame, &ref_box, i)
                .expect("a usable crop");
            let got_crop = [crop.left, crop.top, crop.right, crop.bottom].map(u64::from);
            let want_crop: Vec<u64> = want["crop"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            assert_eq!(
                got_crop[..],
                want_crop[..],
                "{image}: liveness crop {i} against the reference"
            );
            let theirs = reference.tensor(&format!("liveness{i}"));
            check_pinned(
                &format!("{image} liveness {i}"),
                &theirs,
                &want["input_sha256"],
                &reference,
            );
            input_worst[1] = input_worst[1].worst(check_close(
                &format!("{image} liveness {i}"),
                &ours,
                &theirs,
                LIVENESS_INPUT,
            ));
            let logits: Vec<f64> = checker
                .run_tensor(i, &theirs)
                .unwrap()
                .iter()
                .map(|v| *v as f64)
                .collect();
            let err = worst_relative(&logits, &floats(&want["logits"]));
            assert!(
                err <= TOLERANCE,
                "{image}: liveness model {i} differs by {err:e}"
            );
            worst[2] = worst[2].max(err);
        }

        // Embedder: the aligned chip, as the pipeline cuts and embeds it.
        let chip = align(&frame, &landmarks_of(chip_points)).expect("alignable landmarks");
        let ours = to_rgb_tensor(chip.as_rgb());
        let theirs = reference.tensor("embedder");
        check_pinned(
            &format!("{image} embedder"),
            &theirs,
            &entry["embedder"]["input_sha256"],
            &reference,
        );
        input_worst[2] = input_worst[2].worst(check_close(
            &format!("{image} embedder"),
            &ours,
            &theirs,
            EMBEDDER_INPUT,
        ));
        let desc = analyzer.embedder().run_tensor(&theirs).unwrap();
        let got: Vec<f64> = desc.values().iter().map(|v| *v as f64).collect();
        let err = worst_relative(&got, &floats(&entry["embedder"]["descriptor"]));
        assert!(err <= TOLERANCE, "{image}: descriptor differs by {err:e}");
        worst[3] = worst[3].max(err);
    }
    eprintln!(
        "inputs against the reference (max abs / mean abs): detector {:.2} / {:.4}, liveness {:.2} / {:.4}, embedder {:.2} / {:.4}",
        input_worst[0].max_abs,
        input_worst[0].mean_abs,
        input_worst[1].max_abs,
        input_worst[1].mean_abs,
        input_worst[2].max_abs,
        input_worst[2].mean_abs
    );
    eprintln!(
        "worst relative error: detector {:.2e}, liveness {:.2e}, embedder {:.2e}; worst score difference {:.2e}",
        worst[0], worst[2], worst[3], worst[1]
    );
}
