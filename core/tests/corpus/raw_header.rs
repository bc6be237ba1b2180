//! The 8-byte header of a raw camera buffer, as the `decode_raw` fuzz target
//! and the `testdata/raw/` vectors lay it out (shared by both, with the
//! limits they read under): format (0 RGB, 1 BGR, 2 RGBA, 3 BGRA, 4 NV21,
//! taken modulo 5), rotation (quarter turns clockwise, modulo 4), width,
//! height and stride slack as little-endian u16. The stride is the tight row
//! (width times bytes per pixel) plus the slack, minus 8, so that valid
//! frames are common; with the slack's top bit set it is
//! `usize::MAX >> (slack & 63)`.

use faceseal_vision::input::{InputLimits, RawFrame, RawPixelFormat, Rotation};

pub const RAW_HEADER: usize = 8;

/// The frame and rotation `bytes` describe; `None` when shorter than the header.
pub fn split_raw(bytes: &[u8]) -> Option<(RawFrame<'_>, Rotation)> {
    let (head, data) = bytes.split_first_chunk::<RAW_HEADER>()?;
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
    let word = |i: usize| u16::from_le_bytes([head[i], head[i + 1]]);
    let (width, height, slack) = (u32::from(word(2)), u32::from(word(4)), word(6));
    let row = width as usize * format.bytes_per_pixel();
    let stride = if slack & 0x8000 != 0 {
        usize::MAX >> (slack & 0x3F)
    } else {
        (row + usize::from(slack & 0x7FFF)).saturating_sub(8)
    };
    let frame = RawFrame {
        data,
        width,
        height,
        stride,
        format,
    };
    Some((frame, rotation))
}

/// The limits raw buffers are read under: up to 1024 x 1024 and 256 Ki
/// pixels, sides from 1.
pub fn raw_limits() -> InputLimits {
    InputLimits::default()
        .with_max_size(1024, 1024)
        .with_max_pixels(256 * 1024)
        .with_min_size(1, 1)
}
