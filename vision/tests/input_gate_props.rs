//! Property tests for the input gate: whatever the bytes or raw-frame
//! parameters, it answers with a frame within the limits or a typed refusal,
//! and never panics.
#![cfg(feature = "input")]

use std::io::Cursor;

use faceseal_vision::RgbFrame;
use faceseal_vision::input::{
    InputError, InputLimits, RawFrame, RawPixelFormat, Rotation, decode_image, decode_raw_rotated,
};
use image::{DynamicImage, ImageFormat, RgbImage};
use proptest::prelude::*;

/// Small limits so that generated inputs hit both sides of each bound.
fn limits() -> InputLimits {
    InputLimits::default()
        .with_max_bytes(64 * 1024)
        .with_max_size(48, 40)
        .with_max_pixels(1500)
        .with_min_size(2, 3)
}

fn assert_within(frame: &RgbFrame, limits: &InputLimits) {
    let (w, h) = (frame.width(), frame.height());
    assert!(w >= limits.min_width && w <= limits.max_width, "width {w}");
    assert!(
        h >= limits.min_height && h <= limits.max_height,
        "height {h}"
    );
    assert!(u64::from(w) * u64::from(h) <= limits.max_pixels);
    assert_eq!(frame.as_rgb().len(), w as usize * h as usize * 3);
}

/// A valid small JPEG or PNG to mutate: random bytes alone rarely get past
/// the magic-number check.
fn seed_image(width: u32, height: u32, png: bool) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 4) as u8, 99])
    });
    let mut out = Cursor::new(Vec::new());
    let format = if png {
        ImageFormat::Png
    } else {
        ImageFormat::Jpeg
    };
    DynamicImage::ImageRgb8(img)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

fn format() -> impl Strategy<Value = RawPixelFormat> {
    prop_oneof![
        Just(RawPixelFormat::Rgb),
        Just(RawPixelFormat::Bgr),
        Just(RawPixelFormat::Rgba),
        Just(RawPixelFormat::Bgra),
        Just(RawPixelFormat::Nv21),
    ]
}

fn rotation() -> impl Strategy<Value = Rotation> {
    prop_oneof![
        Just(Rotation::None),
        Just(Rotation::Cw90),
        Just(Rotation::Cw180),
        Just(Rotation::Cw270),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(frame) = decode_image(&bytes, &limits()) {
            assert_within(&frame, &limits());
        }
    }

    #[test]
    fn arbitrary_bytes_behind_valid_magic_never_panic(
        png in any::<bool>(),
        tail in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut bytes = if png {
            vec![0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n']
        } else {
            vec![0xFF, 0xD8, 0xFF]
        };
        bytes.extend_from_slice(&tail);
        if let Ok(frame) = decode_image(&bytes, &limits()) {
            assert_within(&frame, &limits());
        }
    }

    #[test]
    fn mutated_images_never_panic(
        width in 1u32..60,
        height in 1u32..60,
        png in any::<bool>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = seed_image(width, height, png);
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        match decode_image(&bytes, &limits()) {
            Ok(frame) => assert_within(&frame, &limits()),
            Err(InputError::Empty) => prop_assert!(bytes.is_empty()),
            Err(_) => {}
        }
    }

    #[test]
    fn valid_images_decode_iff_within_limits(width in 1u32..60, height in 1u32..60, png in any::<bool>()) {
        let bytes = seed_image(width, height, png);
        let expected = limits().check_dimensions(width, height);
        match decode_image(&bytes, &limits()) {
            Ok(frame) => {
                prop_assert_eq!(expected, Ok(()));
                prop_assert_eq!((frame.width(), frame.height()), (width, height));
            }
            Err(e) => prop_assert_eq!(expected, Err(e)),
        }
    }

    #[test]
    fn raw_frames_never_panic(
        width in 0u32..40,
        height in 0u32..40,
        stride_slack in -4i64..12,
        huge_stride in any::<bool>(),
        len_slack in -16i64..16,
        format in format(),
        rotation in rotation(),
        fill in any::<u8>(),
    ) {
        let bpp = format.bytes_per_pixel() as i64;
        let row = i64::from(width) * bpp;
        let stride = if huge_stride { usize::MAX - 7 } else { (row + stride_slack).max(0) as usize };
        let rows = match format {
            RawPixelFormat::Nv21 => i64::from(height) + (i64::from(height) + 1) / 2,
            _ => i64::from(height),
        };
        let nominal = (stride as i64).saturating_mul(rows).clamp(0, 1 << 16);
        let len = (nominal + len_slack).max(0) as usize;
        let data = vec![fill; len];
        let raw = RawFrame { data: &data, width, height, stride, format };
        let limits = limits();
        if let Ok(frame) = decode_raw_rotated(&raw, rotation, &limits) {
            assert_within(&frame, &limits);
            let swapped = matches!(rotation, Rotation::Cw90 | Rotation::Cw270);
            let expected = if swapped { (height, width) } else { (width, height) };
            prop_assert_eq!((frame.width(), frame.height()), expected);
        }
    }
}
