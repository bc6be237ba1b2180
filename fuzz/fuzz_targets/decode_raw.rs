//! Raw camera buffers with fuzzer-chosen geometry: the first bytes pick the
//! format, rotation, width, height and stride; the rest is the buffer. The
//! gate must never panic or read out of bounds, whatever the combination.
#![no_main]

use faceseal_core::input::{InputLimits, RawFrame, RawPixelFormat, Rotation, decode_raw_rotated};
use libfuzzer_sys::fuzz_target;

const HEADER: usize = 8;

fuzz_target!(|data: &[u8]| {
    let Some((head, buffer)) = data.split_first_chunk::<HEADER>() else {
        return;
    };
    let format = match head[0] % 5 {
        0 => RawPixelFormat::Rgb,
        1 => RawPixelFormat::Bgr,
        2 => RawPixelFormat::Rgba,
        3 => RawPixelFormat::Bgra,
        _ => RawPixelFormat::Nv21,
    };
    let rotation = match head[1] % 4 {
        0 => Rotation::None,
        1 => Rotation::Cw90,
        2 => Rotation::Cw180,
        _ => Rotation::Cw270,
    };
    let width = u32::from(u16::from_le_bytes([head[2], head[3]]));
    let height = u32::from(u16::from_le_bytes([head[4], head[5]]));
    // Stride as an offset from the tight row so valid frames are common,
    // with the top bit selecting an arbitrary (often huge) stride instead.
    let slack = u16::from_le_bytes([head[6], head[7]]);
    let row = width as usize * format.bytes_per_pixel();
    let stride = if slack & 0x8000 != 0 {
        usize::MAX >> (slack & 0x3F)
    } else {
        (row + usize::from(slack & 0x7FFF)).saturating_sub(8)
    };
    let raw = RawFrame {
        data: buffer,
        width,
        height,
        stride,
        format,
    };
    let limits = InputLimits::default()
        .with_max_size(1024, 1024)
        .with_max_pixels(256 * 1024)
        .with_min_size(1, 1);
    if let Ok(frame) = decode_raw_rotated(&raw, rotation, &limits) {
        let (w, h) = (frame.width(), frame.height());
        let expected = match rotation {
            Rotation::Cw90 | Rotation::Cw270 => (height, width),
            _ => (width, height),
        };
        assert_eq!((w, h), expected);
        assert!(u64::from(w) * u64::from(h) <= 256 * 1024);
        assert_eq!(frame.as_rgb().len(), w as usize * h as usize * 3);
    }
});
