//! The decoded picture every later stage works on.

use zeroize::Zeroizing;

/// An 8-bit RGB picture, rows packed without padding (`width * 3` bytes a row).
///
/// The pixels are wiped from memory when the frame is dropped: a camera frame
/// is biometric data and must not linger in freed memory.
pub struct RgbFrame {
    width: u32,
    height: u32,
    pixels: Zeroizing<Vec<u8>>,
}

impl RgbFrame {
    /// Wraps packed RGB pixels. Returns `None` when the length is not
    /// `width * height * 3` or a side is zero.
    pub fn from_rgb(width: u32, height: u32, pixels: Vec<u8>) -> Option<Self> {
        let pixels = Zeroizing::new(pixels);
        let expected = (width as usize)
            .checked_mul(height as usize)?
            .checked_mul(3)?;
        if width == 0 || height == 0 || pixels.len() != expected {
            return None;
        }
        Some(Self {
            width,
            height,
            pixels,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// Packed RGB bytes, `width * 3` per row.
    pub fn as_rgb(&self) -> &[u8] {
        &self.pixels
    }

    /// The pixel at (x, y) as `[r, g, b]`. Panics outside the frame.
    #[inline]
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]]
    }

    /// The grey level (BT.601 luma) of the pixel at (x, y). Panics outside
    /// the frame.
    #[inline]
    pub fn grey(&self, x: u32, y: u32) -> f32 {
        luma(self.pixel(x, y))
    }

    /// A test picture with each pixel from `paint(x, y)`.
    #[cfg(test)]
    pub(crate) fn painted(width: u32, height: u32, paint: impl Fn(u32, u32) -> [u8; 3]) -> Self {
        let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
        for y in 0..height {
            for x in 0..width {
                pixels.extend_from_slice(&paint(x, y));
            }
        }
        Self::from_rgb(width, height, pixels).expect("sized to fit")
    }
}

/// The grey level (BT.601 luma, 0..255) of an RGB pixel.
#[inline]
pub fn luma([r, g, b]: [u8; 3]) -> f32 {
    0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b)
}

impl std::fmt::Debug for RgbFrame {
    // Never print pixels: they are a face.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RgbFrame")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

/// Domain label of [`sequence_digest`] (19 ASCII bytes).
const SEQUENCE_DIGEST_LABEL: &[u8] = b"faceseal/capture/v1";

/// SHA-256 digest of a sequence of frames, in order:
///
/// ```text
/// SHA-256( "faceseal/capture/v1" || u32be(n)
///          || for each frame: u32be(width) || u32be(height) || SHA-256(RGB bytes) )
/// ```
///
/// It names the exact pixels a capture was made from without revealing them,
/// so that the sealed envelope can bind them: a server that has seen a
/// digest before knows the same frames are being presented again.
pub fn sequence_digest(frames: &[&RgbFrame]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut outer = Sha256::new();
    outer.update(SEQUENCE_DIGEST_LABEL);
    outer.update(
        u32::try_from(frames.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    for frame in frames {
        outer.update(frame.width.to_be_bytes());
        outer.update(frame.height.to_be_bytes());
        outer.update(Sha256::digest(frame.as_rgb()));
    }
    outer.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_digest_follows_its_definition() {
        use sha2::{Digest, Sha256};
        let a = RgbFrame::from_rgb(2, 1, vec![1, 2, 3, 4, 5, 6]).unwrap();
        let b = RgbFrame::from_rgb(1, 2, vec![1, 2, 3, 4, 5, 6]).unwrap();
        let mut manual = Vec::new();
        manual.extend_from_slice(b"faceseal/capture/v1");
        manual.extend_from_slice(&[0, 0, 0, 2]);
        manual.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 1]);
        manual.extend_from_slice(&Sha256::digest([1, 2, 3, 4, 5, 6]));
        manual.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
        manual.extend_from_slice(&Sha256::digest([1, 2, 3, 4, 5, 6]));
        let expected: [u8; 32] = Sha256::digest(&manual).into();
        assert_eq!(sequence_digest(&[&a, &b]), expected);
        // Same pixels, other shape, or other order: another digest.
        assert_ne!(sequence_digest(&[&b, &a]), expected);
        assert_ne!(sequence_digest(&[&a]), sequence_digest(&[&b]));
    }

    #[test]
    fn refuses_wrong_length_and_empty_sides() {
        assert!(RgbFrame::from_rgb(2, 2, vec![0; 12]).is_some());
        assert!(RgbFrame::from_rgb(2, 2, vec![0; 11]).is_none());
        assert!(RgbFrame::from_rgb(0, 2, vec![]).is_none());
        assert!(RgbFrame::from_rgb(u32::MAX, u32::MAX, vec![]).is_none());
    }

    #[test]
    fn pixel_reads_row_major_rgb() {
        let f = RgbFrame::from_rgb(2, 1, vec![1, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(f.pixel(1, 0), [4, 5, 6]);
        assert_eq!(format!("{f:?}"), "RgbFrame { width: 2, height: 1, .. }");
    }
}
