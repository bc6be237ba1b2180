//! Raw camera buffers (packed RGB/BGR/RGBA/BGRA, NV21) to an upright [`RgbFrame`].
//!
//! Camera APIs hand over rows padded to an alignment, so the stride is always
//! explicit; the buffer length is checked against width, height, stride and
//! format before a byte is read, with checked arithmetic, because these
//! numbers usually arrive through an FFI boundary.

use super::orientation::{self, Orientation};
use super::{InputError, InputLimits, buffer, yuv};
use crate::frame::RgbFrame;

/// Pixel layout of a raw camera buffer.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawPixelFormat {
    /// 3 bytes a pixel: red, green, blue.
    Rgb,
    /// 3 bytes a pixel: blue, green, red (OpenCV, many Windows cameras).
    Bgr,
    /// 4 bytes a pixel: red, green, blue, alpha (alpha ignored).
    Rgba,
    /// 4 bytes a pixel: blue, green, red, alpha (iOS `kCVPixelFormatType_32BGRA`).
    Bgra,
    /// Android's default camera format: a full-resolution Y plane, then a
    /// half-resolution plane of interleaved V,U pairs, both with the same
    /// stride. Converted as BT.601 limited range.
    Nv21,
}

impl RawPixelFormat {
    /// Bytes per pixel in the first (for NV21, the luma) plane.
    pub const fn bytes_per_pixel(self) -> usize {
        match self {
            Self::Rgb | Self::Bgr => 3,
            Self::Rgba | Self::Bgra => 4,
            Self::Nv21 => 1,
        }
    }
}

/// A borrowed raw camera buffer and how to read it.
#[derive(Clone, Copy)]
pub struct RawFrame<'a> {
    pub data: &'a [u8],
    pub width: u32,
    pub height: u32,
    /// Bytes from the start of one row to the next (of the Y plane for NV21).
    pub stride: usize,
    pub format: RawPixelFormat,
}

impl std::fmt::Debug for RawFrame<'_> {
    // Never print pixels: they are a face.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawFrame")
            .field("len", &self.data.len())
            .field("width", &self.width)
            .field("height", &self.height)
            .field("stride", &self.stride)
            .field("format", &self.format)
            .finish()
    }
}

/// Clockwise rotation that makes a camera buffer upright: the sensor
/// orientation combined with how the device is held (Android
/// `CameraCharacteristics.SENSOR_ORIENTATION`, iOS `AVCaptureConnection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rotation {
    #[default]
    None,
    Cw90,
    Cw180,
    Cw270,
}

impl Rotation {
    /// From degrees clockwise; any multiple of 90, negative or above 360, is
    /// accepted. `None` for other angles.
    pub const fn from_degrees(degrees: i32) -> Option<Self> {
        match degrees.rem_euclid(360) {
            0 => Some(Self::None),
            90 => Some(Self::Cw90),
            180 => Some(Self::Cw180),
            270 => Some(Self::Cw270),
            _ => None,
        }
    }

    fn orientation(self) -> Orientation {
        match self {
            Self::None => Orientation::NoTransforms,
            Self::Cw90 => Orientation::Rotate90,
            Self::Cw180 => Orientation::Rotate180,
            Self::Cw270 => Orientation::Rotate270,
        }
    }
}

/// Converts a raw camera buffer, as it is, to RGB. Same as
/// [`decode_raw_rotated`] with [`Rotation::None`].
pub fn decode_raw(frame: &RawFrame<'_>, limits: &InputLimits) -> Result<RgbFrame, InputError> {
    decode_raw_rotated(frame, Rotation::None, limits)
}

/// Converts a raw camera buffer to RGB and rotates it upright.
///
/// Checks, in order: non-zero size, the rotated size against `limits`, the
/// stride against one row, and the buffer length. The length may stop right
/// after the last pixel of the last row (as camera HALs often deliver it) or
/// include that row's padding; anything shorter or longer is refused, since a
/// longer buffer usually means the caller has the size or format wrong.
/// `limits.max_bytes` does not apply: the buffer is already in memory.
///
/// Never panics, whatever the parameters.
pub fn decode_raw_rotated(
    frame: &RawFrame<'_>,
    rotation: Rotation,
    limits: &InputLimits,
) -> Result<RgbFrame, InputError> {
    let (width, height) = (frame.width, frame.height);
    if width == 0 || height == 0 {
        return Err(InputError::InvalidDimensions);
    }
    let orientation = rotation.orientation();
    let (out_width, out_height) = orientation::oriented_size(orientation, width, height);
    limits.check_dimensions(out_width, out_height)?;
    check_geometry(frame)?;

    let (w, h) = (width as usize, height as usize);
    let too_large = || InputError::TooLarge {
        width: out_width,
        height: out_height,
    };
    let len = w
        .checked_mul(h)
        .and_then(|p| p.checked_mul(3))
        .ok_or_else(too_large)?;
    let mut rgb = buffer::zeroed(len).ok_or_else(too_large)?;
    match frame.format {
        RawPixelFormat::Nv21 => yuv::nv21_to_rgb(frame.data, w, h, frame.stride, &mut rgb),
        _ => packed_to_rgb(frame, &mut rgb),
    }

    let (width, height, mut rgb) = orientation::apply(orientation, width, height, rgb)?;
    RgbFrame::from_rgb(width, height, std::mem::take(&mut *rgb))
        .ok_or(InputError::InvalidDimensions)
}

/// Packed 3- or 4-byte pixels to RGB, row by row, skipping the padding.
fn packed_to_rgb(frame: &RawFrame<'_>, out: &mut [u8]) {
    let (w, stride) = (frame.width as usize, frame.stride);
    let bpp = frame.format.bytes_per_pixel();
    let swap_red_blue = matches!(frame.format, RawPixelFormat::Bgr | RawPixelFormat::Bgra);
    for (y, out_row) in out.chunks_exact_mut(w * 3).enumerate() {
        let row = &frame.data[y * stride..][..w * bpp];
        for (s, d) in row.chunks_exact(bpp).zip(out_row.chunks_exact_mut(3)) {
            if swap_red_blue {
                d.copy_from_slice(&[s[2], s[1], s[0]]);
            } else {
                d.copy_from_slice(&s[..3]);
            }
        }
    }
}

/// Stride and length checks; on success every row the conversion reads is in bounds.
fn check_geometry(frame: &RawFrame<'_>) -> Result<(), InputError> {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let stride = frame.stride;
    let actual = frame.data.len();
    // NV21 chroma rows hold whole V,U pairs, so an odd width needs one more byte.
    let min_stride = match frame.format {
        RawPixelFormat::Nv21 => w.checked_add(w % 2),
        format => w.checked_mul(format.bytes_per_pixel()),
    }
    .ok_or(InputError::InvalidStride {
        stride,
        min: usize::MAX,
    })?;
    if stride < min_stride {
        return Err(InputError::InvalidStride {
            stride,
            min: min_stride,
        });
    }
    // Rows of the last plane, and all rows before it.
    let rows = match frame.format {
        RawPixelFormat::Nv21 => h.checked_add(h.div_ceil(2)),
        _ => Some(h),
    };
    let unrepresentable = InputError::BufferLength {
        expected: usize::MAX,
        actual,
    };
    let full = rows
        .and_then(|rows| rows.checked_mul(stride))
        .ok_or(unrepresentable)?;
    // The last row need not carry its padding.
    let tight = full - (stride - min_stride);
    if actual < tight {
        return Err(InputError::BufferLength {
            expected: tight,
            actual,
        });
    }
    if actual > full {
        return Err(InputError::BufferLength {
            expected: full,
            actual,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permissive() -> InputLimits {
        InputLimits::default().with_min_size(1, 1)
    }

    fn frame(
        data: &[u8],
        width: u32,
        height: u32,
        stride: usize,
        format: RawPixelFormat,
    ) -> RawFrame<'_> {
        RawFrame {
            data,
            width,
            height,
            stride,
            format,
        }
    }

    #[test]
    fn packed_formats_with_padding() {
        // 2x2, one pad byte per row.
        let rgb = [1, 2, 3, 4, 5, 6, 0, 7, 8, 9, 10, 11, 12, 0];
        let f = decode_raw(&frame(&rgb, 2, 2, 7, RawPixelFormat::Rgb), &permissive()).unwrap();
        assert_eq!(f.as_rgb(), &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        // Last row without its padding is accepted too.
        let f = decode_raw(
            &frame(&rgb[..13], 2, 2, 7, RawPixelFormat::Bgr),
            &permissive(),
        )
        .unwrap();
        assert_eq!(f.as_rgb(), &[3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10]);
        let bgra = [1, 2, 3, 255, 4, 5, 6, 255];
        let f = decode_raw(&frame(&bgra, 2, 1, 8, RawPixelFormat::Bgra), &permissive()).unwrap();
        assert_eq!(f.as_rgb(), &[3, 2, 1, 6, 5, 4]);
        let f = decode_raw(&frame(&bgra, 1, 2, 4, RawPixelFormat::Rgba), &permissive()).unwrap();
        assert_eq!(f.as_rgb(), &[1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn refuses_bad_stride_and_wrong_length() {
        let data = [0u8; 64];
        assert_eq!(
            decode_raw(&frame(&data, 4, 4, 11, RawPixelFormat::Rgb), &permissive()).unwrap_err(),
            InputError::InvalidStride {
                stride: 11,
                min: 12
            }
        );
        assert_eq!(
            decode_raw(&frame(&data, 3, 2, 3, RawPixelFormat::Nv21), &permissive()).unwrap_err(),
            InputError::InvalidStride { stride: 3, min: 4 }
        );
        assert_eq!(
            decode_raw(
                &frame(&data[..47], 4, 4, 12, RawPixelFormat::Rgb),
                &permissive()
            )
            .unwrap_err(),
            InputError::BufferLength {
                expected: 48,
                actual: 47
            }
        );
        assert_eq!(
            decode_raw(
                &frame(&data[..49], 4, 4, 12, RawPixelFormat::Rgb),
                &permissive()
            )
            .unwrap_err(),
            InputError::BufferLength {
                expected: 48,
                actual: 49
            }
        );
        // NV21 4x4: 16 luma + 8 chroma bytes.
        assert_eq!(
            decode_raw(
                &frame(&data[..23], 4, 4, 4, RawPixelFormat::Nv21),
                &permissive()
            )
            .unwrap_err(),
            InputError::BufferLength {
                expected: 24,
                actual: 23
            }
        );
        assert!(
            decode_raw(
                &frame(&data[..24], 4, 4, 4, RawPixelFormat::Nv21),
                &permissive()
            )
            .is_ok()
        );
    }

    #[test]
    fn refuses_overflowing_and_empty_geometry() {
        let data = [0u8; 16];
        assert_eq!(
            decode_raw(&frame(&data, 0, 4, 4, RawPixelFormat::Rgb), &permissive()).unwrap_err(),
            InputError::InvalidDimensions
        );
        let huge = InputLimits::default()
            .with_min_size(1, 1)
            .with_max_size(u32::MAX, u32::MAX)
            .with_max_pixels(u64::MAX);
        assert!(matches!(
            decode_raw(&frame(&data, 4, 4, usize::MAX, RawPixelFormat::Nv21), &huge).unwrap_err(),
            InputError::BufferLength {
                expected: usize::MAX,
                ..
            }
        ));
        assert!(matches!(
            decode_raw(
                &frame(&data, u32::MAX, u32::MAX, usize::MAX, RawPixelFormat::Rgba),
                &huge
            ),
            Err(InputError::BufferLength { .. } | InputError::InvalidStride { .. })
        ));
        assert_eq!(
            decode_raw(
                &frame(&data, 9000, 1, 27000, RawPixelFormat::Rgb),
                &permissive()
            )
            .unwrap_err(),
            InputError::TooLarge {
                width: 9000,
                height: 1
            }
        );
    }

    /// NV21 of one colour, with row padding and odd sizes.
    fn nv21_solid(width: usize, height: usize, stride: usize, yuv: (u8, u8, u8)) -> Vec<u8> {
        let mut data = vec![0xEE; stride * (height + height.div_ceil(2))];
        for row in 0..height {
            data[row * stride..][..width].fill(yuv.0);
        }
        for row in 0..height.div_ceil(2) {
            let chroma = &mut data[stride * height + row * stride..][..width.div_ceil(2) * 2];
            for pair in chroma.chunks_exact_mut(2) {
                pair.copy_from_slice(&[yuv.2, yuv.1]); // V first
            }
        }
        data
    }

    #[test]
    fn nv21_known_colours() {
        let cases = [
            ((81, 90, 240), [255, 0, 0]),
            ((145, 54, 34), [0, 255, 0]),
            ((41, 240, 110), [0, 0, 255]),
            ((126, 128, 128), [128, 128, 128]),
            // A skin tone: BT.601 limited of RGB (224, 172, 150).
            ((175, 111, 152), [224, 172, 150]),
        ];
        for ((y, u, v), want) in cases {
            for (w, h, stride) in [(4, 4, 4), (6, 4, 8), (5, 3, 6)] {
                let data = nv21_solid(w, h, stride, (y, u, v));
                let f = decode_raw(
                    &frame(&data, w as u32, h as u32, stride, RawPixelFormat::Nv21),
                    &permissive(),
                )
                .unwrap();
                for px in f.as_rgb().chunks_exact(3) {
                    for (got, want) in px.iter().zip(want) {
                        assert!(
                            got.abs_diff(want) <= 3,
                            "{y},{u},{v} gave {px:?}, want {want:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn nv21_uses_each_chroma_pair_for_its_2x2_block() {
        // 4x2: left pair red chroma, right pair blue chroma.
        let mut data = vec![81, 81, 41, 41, 81, 81, 41, 41];
        data.extend_from_slice(&[240, 90, 110, 240]);
        let f = decode_raw(&frame(&data, 4, 2, 4, RawPixelFormat::Nv21), &permissive()).unwrap();
        assert!(f.pixel(1, 1)[0] > 240 && f.pixel(1, 1)[2] < 15);
        assert!(f.pixel(2, 0)[2] > 240 && f.pixel(2, 0)[0] < 15);
    }

    #[test]
    fn rotates_upright() {
        // 2x1 RGB: A B. Rotated 90° clockwise it becomes 1x2: A over B.
        let data = [1, 1, 1, 2, 2, 2];
        let raw = frame(&data, 2, 1, 6, RawPixelFormat::Rgb);
        let f = decode_raw_rotated(&raw, Rotation::Cw90, &permissive()).unwrap();
        assert_eq!((f.width(), f.height(), f.as_rgb()), (1, 2, &data[..]));
        let f = decode_raw_rotated(&raw, Rotation::Cw270, &permissive()).unwrap();
        assert_eq!(
            (f.width(), f.height(), f.as_rgb()),
            (1, 2, &[2, 2, 2, 1, 1, 1][..])
        );
        let f = decode_raw_rotated(&raw, Rotation::Cw180, &permissive()).unwrap();
        assert_eq!(
            (f.width(), f.height(), f.as_rgb()),
            (2, 1, &[2, 2, 2, 1, 1, 1][..])
        );
        // Limits apply to the rotated size.
        let wide = InputLimits::default().with_min_size(2, 1);
        assert!(decode_raw(&raw, &wide).is_ok());
        assert_eq!(
            decode_raw_rotated(&raw, Rotation::Cw90, &wide).unwrap_err(),
            InputError::TooSmall {
                width: 1,
                height: 2
            }
        );
    }

    #[test]
    fn rotation_from_degrees() {
        assert_eq!(Rotation::from_degrees(0), Some(Rotation::None));
        assert_eq!(Rotation::from_degrees(90), Some(Rotation::Cw90));
        assert_eq!(Rotation::from_degrees(-90), Some(Rotation::Cw270));
        assert_eq!(Rotation::from_degrees(540), Some(Rotation::Cw180));
        assert_eq!(Rotation::from_degrees(45), None);
    }

    #[test]
    fn debug_never_prints_pixels() {
        let data = [42u8; 12];
        let s = format!("{:?}", frame(&data, 2, 2, 6, RawPixelFormat::Rgb));
        assert!(!s.contains("42"), "{s}");
    }
}
