//! Writes the exact input tensors faceseal feeds each model for one picture,
//! so that they can be inspected or run under a reference runtime (the golden
//! test compares the same tensors with `scripts/golden/reference.py`'s).
//!
//! Usage: `cargo run -p faceseal-core --example dump_tensors -- IMAGE OUT_DIR [DET_SIZE]`
//! Needs FACESEAL_MODEL_DIR to point at the models. The files are raw
//! little-endian f32 with a JSON index; they hold a face, so write them only
//! to a temporary directory.

use std::path::PathBuf;

use faceseal_core::{AnalyzerConfig, FaceAnalyzer, ModelLocator};
use faceseal_vision::align::align;
use faceseal_vision::detect::{DetectorConfig, Letterbox, largest_face};
use faceseal_vision::embed::to_rgb_tensor;
use faceseal_vision::input::{InputLimits, decode_image};
use faceseal_vision::liveness::{crop_box, resize_crop, to_bgr_tensor};

fn write_f32(path: &PathBuf, values: &[f32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).expect("write tensor");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, image, out] = &args[..3] else {
        eprintln!("usage: dump_tensors IMAGE OUT_DIR [DET_SIZE]");
        std::process::exit(2);
    };
    let det_size: u32 = args.get(3).map_or(320, |s| s.parse().expect("DET_SIZE"));
    let out = PathBuf::from(out);
    std::fs::create_dir_all(&out).expect("create out dir");
    let frame = decode_image(
        &std::fs::read(image).expect("read image"),
        &InputLimits::default(),
    )
    .expect("decode image");
    let config = AnalyzerConfig {
        detector: DetectorConfig {
            input_size: det_size,
            ..DetectorConfig::default()
        },
        ..AnalyzerConfig::default()
    };
    let analyzer = FaceAnalyzer::load(&ModelLocator::from_env(), config).expect("load models");

    let lb = Letterbox::new(frame.width(), frame.height(), det_size);
    write_f32(&out.join("detector.f32"), &lb.tensor(&frame));
    let faces = analyzer.detect(&frame).expect("detect");
    let face = largest_face(&faces).expect("the picture must hold a face");

    let factors = analyzer.liveness_checker().crop_factors();
    for (i, factor) in factors.iter().enumerate() {
        let crop = crop_box(frame.width(), frame.height(), &face.bbox, *factor).expect("crop");
        write_f32(
            &out.join(format!("liveness{i}.f32")),
            &to_bgr_tensor(&resize_crop(&frame, &crop)),
        );
    }
    let chip = align(&frame, &face.landmarks).expect("align");
    write_f32(&out.join("embedder.f32"), &to_rgb_tensor(chip.as_rgb()));

    let index = serde_json::json!({
        "width": frame.width(),
        "height": frame.height(),
        "det_size": det_size,
        "plan_w": lb.plan_w,
        "plan_h": lb.plan_h,
        "inv_scale_x": lb.inv_scale_x,
        "inv_scale_y": lb.inv_scale_y,
        "score_threshold": analyzer.config().detector.score_threshold,
        "nms_iou": analyzer.config().detector.nms_iou,
    });
    std::fs::write(
        out.join("index.json"),
        serde_json::to_vec_pretty(&index).unwrap(),
    )
    .unwrap();
}
