//! Every kind of bad input gives its own typed error: nothing panics, nothing
//! reaches a model.

mod common;

use faceseal_vision::input::{
    InputError, InputLimits, RawFrame, RawPixelFormat, decode_image, decode_raw,
};
use faceseal_vision::models::{ModelError, ModelKind, ModelLocator};

fn real_jpeg() -> Vec<u8> {
    let path = common::data_dir().join("lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg");
    std::fs::read(path).expect("LFW picture")
}

#[test]
fn empty_input() {
    assert_eq!(
        decode_image(&[], &InputLimits::default()).unwrap_err(),
        InputError::Empty
    );
}

#[test]
fn truncated_jpeg() {
    let jpeg = real_jpeg();
    for cut in [2, 100, jpeg.len() / 2, jpeg.len() - 2] {
        let err = decode_image(&jpeg[..cut], &InputLimits::default()).unwrap_err();
        assert_eq!(err, InputError::Truncated, "cut at {cut}");
    }
}

#[test]
fn one_pixel_picture_is_too_small() {
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        &[1, 2, 3],
        1,
        1,
        image::ExtendedColorType::Rgb8,
    )
    .unwrap();
    assert_eq!(
        decode_image(&png, &InputLimits::default()).unwrap_err(),
        InputError::TooSmall {
            width: 1,
            height: 1
        }
    );
}

#[test]
fn huge_header_is_refused_before_decoding() {
    // A real JPEG whose SOF0 frame header claims 65000 x 65000: refused from
    // the header alone (a PNG claiming 100000 x 100000 is covered by the
    // input module's own tests).
    let mut jpeg = real_jpeg();
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline JPEG");
    jpeg[sof + 5..sof + 7].copy_from_slice(&65000u16.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&65000u16.to_be_bytes());
    let started = std::time::Instant::now();
    let err = decode_image(&jpeg, &InputLimits::default()).unwrap_err();
    assert_eq!(
        err,
        InputError::TooLarge {
            width: 65000,
            height: 65000
        }
    );
    // Not a timing assertion on speed, only that no multi-gigabyte decode ran.
    assert!(started.elapsed().as_secs() < 5);
}

#[test]
fn random_bytes_are_an_unsupported_format() {
    let mut state = 0x1234_5678u32;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 24) as u8
        })
        .collect();
    assert_eq!(
        decode_image(&bytes, &InputLimits::default()).unwrap_err(),
        InputError::UnsupportedFormat
    );
}

#[test]
fn raw_buffer_of_the_wrong_length() {
    let data = vec![0u8; 640 * 480 * 3 - 1];
    let frame = RawFrame {
        data: &data,
        width: 640,
        height: 480,
        stride: 640 * 3,
        format: RawPixelFormat::Rgb,
    };
    assert!(matches!(
        decode_raw(&frame, &InputLimits::default()).unwrap_err(),
        InputError::BufferLength { actual, .. } if actual == data.len()
    ));
    let nv21 = vec![0u8; 640 * 480];
    let frame = RawFrame {
        data: &nv21,
        width: 640,
        height: 480,
        stride: 640,
        format: RawPixelFormat::Nv21,
    };
    assert!(matches!(
        decode_raw(&frame, &InputLimits::default()).unwrap_err(),
        InputError::BufferLength { .. }
    ));
}

#[test]
fn model_file_with_one_byte_changed() {
    let dir = std::env::temp_dir().join(format!("faceseal-tampered-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let original = common::locator()
        .read(ModelKind::Detector)
        .expect("detector model");
    let mut tampered = original.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x01;
    std::fs::write(dir.join("retinaface_mnet025.onnx"), &tampered).unwrap();
    let err = ModelLocator::new()
        .with_dir(&dir)
        .read(ModelKind::Detector)
        .unwrap_err();
    std::fs::remove_dir_all(&dir).ok();
    match err {
        ModelError::HashMismatch {
            file,
            expected,
            actual,
        } => {
            assert_eq!(file, "retinaface_mnet025.onnx");
            assert_eq!(expected, ModelKind::Detector.spec().sha256);
            assert_ne!(actual, expected);
        }
        other => panic!("expected HashMismatch, got {other:?}"),
    }
    // The same bytes handed over in memory are refused the same way.
    let err = faceseal_vision::detect::FaceDetector::new(&tampered, Default::default())
        .err()
        .unwrap();
    assert!(matches!(err, ModelError::HashMismatch { .. }));
}

#[test]
fn missing_liveness_model_is_named() {
    let dir = std::env::temp_dir().join(format!("faceseal-partial-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let locator = ModelLocator::new().with_dir(&dir).with_bytes(
        ModelKind::Detector,
        common::locator().read(ModelKind::Detector).unwrap(),
    );
    let err = faceseal_core::FaceAnalyzer::load(&locator, Default::default())
        .err()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        matches!(
            err,
            ModelError::Missing {
                file: "minifasnet_v2_2.7_80x80.onnx",
                ..
            }
        ),
        "{err}"
    );
}
