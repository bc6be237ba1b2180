//! NV21 (Android camera) to RGB, BT.601 limited ("video") range.
//!
//! Android's camera NV21 output is BT.601 with luma in 16..=235 and chroma in
//! 16..=240. The conversion is the usual 8-bit fixed-point one (coefficients
//! scaled by 256, rounded):
//!
//! ```text
//! R = (298·(Y−16)             + 409·(V−128) + 128) >> 8
//! G = (298·(Y−16) − 100·(U−128) − 208·(V−128) + 128) >> 8
//! B = (298·(Y−16) + 516·(U−128)               + 128) >> 8
//! ```
//!
//! each clamped to 0..=255. A full-range (JPEG/JFIF) source converted with it
//! comes out slightly too contrasted, not wrong enough to hide a face.

/// One YUV sample to RGB.
pub(super) fn bt601_limited_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = 298 * (i32::from(y) - 16);
    let d = i32::from(u) - 128;
    let e = i32::from(v) - 128;
    let clamp = |x: i32| ((x + 128) >> 8).clamp(0, 255) as u8;
    [
        clamp(c + 409 * e),
        clamp(c - 100 * d - 208 * e),
        clamp(c + 516 * d),
    ]
}

/// Converts an NV21 picture already checked to hold `height` rows of
/// `stride` luma bytes followed by `ceil(height / 2)` rows of interleaved
/// V,U pairs (the last row of each plane may stop after its pixels).
/// Odd widths and heights reuse the last chroma pair and row.
pub(super) fn nv21_to_rgb(data: &[u8], width: usize, height: usize, stride: usize, out: &mut [u8]) {
    let chroma_plane = stride * height;
    let chroma_row_len = width.div_ceil(2) * 2;
    for (row, out_row) in out.chunks_exact_mut(width * 3).take(height).enumerate() {
        let luma = &data[row * stride..][..width];
        let chroma = &data[chroma_plane + (row / 2) * stride..][..chroma_row_len];
        for (x, (px, &y)) in out_row.chunks_exact_mut(3).zip(luma).enumerate() {
            let pair = (x / 2) * 2;
            px.copy_from_slice(&bt601_limited_to_rgb(y, chroma[pair + 1], chroma[pair]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_range_primaries_and_greys() {
        // BT.601 studio-range codes for the primaries and black/white.
        assert_eq!(bt601_limited_to_rgb(16, 128, 128), [0, 0, 0]);
        assert_eq!(bt601_limited_to_rgb(235, 128, 128), [255, 255, 255]);
        let close =
            |got: [u8; 3], want: [u8; 3]| got.iter().zip(want).all(|(&g, w)| g.abs_diff(w) <= 2);
        assert!(close(bt601_limited_to_rgb(81, 90, 240), [255, 0, 0]));
        assert!(close(bt601_limited_to_rgb(145, 54, 34), [0, 255, 0]));
        assert!(close(bt601_limited_to_rgb(41, 240, 110), [0, 0, 255]));
        assert!(close(bt601_limited_to_rgb(126, 128, 128), [128, 128, 128]));
    }
}
