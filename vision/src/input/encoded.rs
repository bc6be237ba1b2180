//! JPEG and PNG bytes to an upright [`RgbFrame`].
//!
//! Order matters: everything that can refuse cheaply (length, magic bytes,
//! header size, truncation) runs before a decoder is built, and the decoder
//! is then fenced by `image::Limits` sized from the header already checked.

use std::io::Cursor;

use image::codecs::jpeg::JpegDecoder;
use image::codecs::png::PngDecoder;
use image::error::ImageError;
use image::{ColorType, ImageDecoder};
use zeroize::Zeroizing;

use super::orientation::{self, Orientation};
use super::sniff::{EncodedFormat, sniff};
use super::{InputError, InputLimits, buffer, jpeg_markers, png_chunks, samples};
use crate::frame::RgbFrame;

/// Room for what a decoder allocates besides the pixels (PNG text and ICC
/// chunks, Huffman tables): generous for real files, small next to a bomb.
const METADATA_ALLOWANCE: u64 = 16 * 1024 * 1024;

/// The most bytes a pixel takes in any layout JPEG or PNG decode to (RGBA, 16 bits).
const MAX_BYTES_PER_PIXEL: u64 = 8;

/// Decodes an untrusted JPEG or PNG into an upright RGB frame.
///
/// Refusals come in order of cost: empty or oversized input, unknown format,
/// a header size outside `limits` (checked on the upright size, before any
/// pixel is decoded), a missing end marker, and only then decoder errors.
/// EXIF orientation (all eight values, in JPEG APP1 or PNG eXIf) is applied;
/// grey, alpha and 16-bit pictures become 8-bit RGB.
///
/// Never panics, whatever the bytes.
pub fn decode_image(bytes: &[u8], limits: &InputLimits) -> Result<RgbFrame, InputError> {
    if bytes.is_empty() {
        return Err(InputError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(InputError::TooManyBytes {
            len: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let format = sniff(bytes)?;
    let layout = match format {
        EncodedFormat::Jpeg => jpeg_markers::scan(bytes)?,
        EncodedFormat::Png => png_chunks::scan(bytes)?,
    };
    let orientation = layout
        .exif
        .and_then(Orientation::from_exif_chunk)
        .unwrap_or(Orientation::NoTransforms);
    let (width, height) = orientation::oriented_size(orientation, layout.width, layout.height);
    limits.check_dimensions(width, height)?;
    if !layout.complete {
        return Err(InputError::Truncated);
    }

    // Allocation failures deep in decoding are reported with the size the
    // caller knows: the upright one, as for the header check above.
    let upright = |error| match error {
        InputError::TooLarge { .. } => InputError::TooLarge { width, height },
        other => other,
    };
    let (width, height, mut rgb) =
        decode_pixels(bytes, format, layout.width, layout.height, orientation).map_err(upright)?;
    // Moving the Vec out leaves an empty one behind; `from_rgb` takes over wiping.
    RgbFrame::from_rgb(width, height, std::mem::take(&mut *rgb)).ok_or(InputError::Corrupt {
        reason: "decoded size disagrees with the header",
    })
}

/// Decodes a structurally complete file whose stored size passed the limits,
/// and returns upright packed RGB8.
fn decode_pixels(
    bytes: &[u8],
    format: EncodedFormat,
    width: u32,
    height: u32,
    orientation: Orientation,
) -> Result<(u32, u32, Zeroizing<Vec<u8>>), InputError> {
    let fence = decoder_limits(width, height);
    let (color, samples) = match format {
        EncodedFormat::Jpeg => {
            let decoder = JpegDecoder::new(Cursor::new(bytes)).map_err(refusal(width, height))?;
            read_samples(decoder, fence, width, height)?
        }
        EncodedFormat::Png => {
            let decoder = PngDecoder::with_limits(Cursor::new(bytes), fence.clone())
                .map_err(refusal(width, height))?;
            read_samples(decoder, fence, width, height)?
        }
    };
    let rgb = samples::to_rgb8(color, samples, width, height)?;
    orientation::apply(orientation, width, height, rgb)
}

/// `image::Limits` that let the decoder produce exactly the header's size and
/// allocate little beyond it: a second wall should our walk and the decoder
/// ever disagree about the header.
fn decoder_limits(width: u32, height: u32) -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc =
        Some(u64::from(width) * u64::from(height) * MAX_BYTES_PER_PIXEL + METADATA_ALLOWANCE);
    limits
}

/// Runs the decoder into a zeroized buffer, after checking it agrees with
/// the header walk.
fn read_samples(
    mut decoder: impl ImageDecoder,
    fence: image::Limits,
    width: u32,
    height: u32,
) -> Result<(ColorType, Zeroizing<Vec<u8>>), InputError> {
    let on_error = refusal(width, height);
    if decoder.dimensions() != (width, height) {
        return Err(InputError::Corrupt {
            reason: "decoder and header disagree on the size",
        });
    }
    decoder.set_limits(fence).map_err(&on_error)?;
    let color = decoder.color_type();
    let len = usize::try_from(decoder.total_bytes())
        .ok()
        .filter(|&len| len as u64 <= u64::from(width) * u64::from(height) * MAX_BYTES_PER_PIXEL)
        .ok_or(InputError::TooLarge { width, height })?;
    let mut samples = buffer::zeroed(len).ok_or(InputError::TooLarge { width, height })?;
    decoder.read_image(&mut samples).map_err(&on_error)?;
    Ok((color, samples))
}

/// Maps decoder errors to refusals without keeping their text, which can be
/// long and can quote the input.
fn refusal(width: u32, height: u32) -> impl Fn(ImageError) -> InputError {
    move |error| match error {
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            InputError::Truncated
        }
        ImageError::Limits(_) => InputError::TooLarge { width, height },
        ImageError::Unsupported(_) => InputError::UnsupportedFormat,
        ImageError::Decoding(_) => InputError::Corrupt {
            reason: "the decoder rejected the data",
        },
        _ => InputError::Corrupt {
            reason: "the image could not be decoded",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::test_images;

    fn permissive() -> InputLimits {
        InputLimits::default().with_min_size(1, 1)
    }

    #[test]
    fn decodes_jpeg_and_png_to_the_same_picture() {
        let img = test_images::quadrants(64, 48);
        for bytes in [test_images::jpeg(&img), test_images::png_rgb(&img)] {
            let frame = decode_image(&bytes, &InputLimits::default()).unwrap();
            assert_eq!((frame.width(), frame.height()), (64, 48));
            test_images::assert_upright(&frame);
        }
    }

    #[test]
    fn refuses_empty_and_oversized_input() {
        assert_eq!(
            decode_image(&[], &InputLimits::default()).unwrap_err(),
            InputError::Empty
        );
        let png = test_images::png_rgb(&test_images::quadrants(64, 48));
        let limits = InputLimits::default().with_max_bytes(png.len() - 1);
        assert_eq!(
            decode_image(&png, &limits).unwrap_err(),
            InputError::TooManyBytes {
                len: png.len(),
                max: png.len() - 1
            }
        );
    }

    #[test]
    fn refuses_random_bytes() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for len in [1usize, 7, 100, 4096] {
            let noise: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            assert_eq!(
                decode_image(&noise, &InputLimits::default()).unwrap_err(),
                InputError::UnsupportedFormat
            );
        }
        // Right magic, garbage after it.
        let mut fake_jpeg = vec![0xFF, 0xD8, 0xFF];
        fake_jpeg.extend(std::iter::repeat_n(0x5A, 1000));
        assert!(decode_image(&fake_jpeg, &InputLimits::default()).is_err());
    }

    #[test]
    fn refuses_truncated_jpeg_and_png() {
        let img = test_images::quadrants(64, 48);
        for bytes in [test_images::jpeg(&img), test_images::png_rgb(&img)] {
            for keep in [bytes.len() - 1, bytes.len() - 2, bytes.len() / 2, 40, 12] {
                assert_eq!(
                    decode_image(&bytes[..keep], &InputLimits::default()).unwrap_err(),
                    InputError::Truncated,
                    "kept {keep} of {} bytes",
                    bytes.len()
                );
            }
        }
    }

    #[test]
    fn keeps_jpeg_trailing_bytes_after_the_end_marker() {
        // Some cameras append data after EOI; the picture itself is whole.
        let mut jpeg = test_images::jpeg(&test_images::quadrants(64, 48));
        jpeg.extend_from_slice(b"trailer");
        assert!(decode_image(&jpeg, &InputLimits::default()).is_ok());
    }

    #[test]
    fn one_pixel_image_is_too_small_by_default_and_fine_when_allowed() {
        let img = test_images::quadrants(1, 1);
        for bytes in [test_images::jpeg(&img), test_images::png_rgb(&img)] {
            assert_eq!(
                decode_image(&bytes, &InputLimits::default()).unwrap_err(),
                InputError::TooSmall {
                    width: 1,
                    height: 1
                }
            );
            let frame = decode_image(&bytes, &permissive()).unwrap();
            assert_eq!((frame.width(), frame.height()), (1, 1));
        }
    }

    #[test]
    fn refuses_huge_header_claims_before_decoding() {
        let png = test_images::png_header(100_000, 100_000);
        let mut jpeg = vec![0xFF, 0xD8];
        jpeg.extend_from_slice(&[0xFF, 0xC0, 0, 17, 8, 0xFF, 0xFF, 0xFF, 0xFF, 3]);
        jpeg.extend_from_slice(&[1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]);
        for (bytes, side) in [(png, 100_000), (jpeg, 65_535)] {
            let start = std::time::Instant::now();
            assert_eq!(
                decode_image(&bytes, &InputLimits::default()).unwrap_err(),
                InputError::TooLarge {
                    width: side,
                    height: side
                }
            );
            // Decoding 10^10 pixels would take minutes or abort; refusing takes microseconds.
            assert!(start.elapsed() < std::time::Duration::from_secs(1));
        }
    }

    #[test]
    fn refuses_a_complete_file_over_the_pixel_limit() {
        let png = test_images::png_rgb(&test_images::quadrants(64, 48));
        let limits = InputLimits::default().with_max_pixels(64 * 48 - 1);
        assert_eq!(
            decode_image(&png, &limits).unwrap_err(),
            InputError::TooLarge {
                width: 64,
                height: 48
            }
        );
    }

    #[test]
    fn grey_rgba_and_16_bit_png_become_rgb() {
        let img = test_images::quadrants(40, 40);
        for color in [
            ColorType::L8,
            ColorType::Rgba8,
            ColorType::Rgb16,
            ColorType::La16,
        ] {
            let png = test_images::png(&img, color);
            let frame = decode_image(&png, &InputLimits::default()).unwrap();
            assert_eq!((frame.width(), frame.height()), (40, 40), "{color:?}");
            if color == ColorType::Rgb16 || color == ColorType::Rgba8 {
                test_images::assert_upright(&frame);
            } else {
                let [r, g, b] = frame.pixel(5, 5);
                assert!(r == g && g == b, "{color:?} should be grey");
            }
        }
    }

    #[test]
    fn applies_each_exif_orientation() {
        let upright = test_images::quadrants(64, 48);
        for exif in 1..=8u8 {
            for big_endian in [false, true] {
                let stored = test_images::stored_for_orientation(&upright, exif);
                let jpeg = test_images::jpeg_with_orientation(&stored, exif, big_endian);
                let frame = decode_image(&jpeg, &InputLimits::default()).unwrap();
                assert_eq!(
                    (frame.width(), frame.height()),
                    (64, 48),
                    "orientation {exif}"
                );
                test_images::assert_upright(&frame);
            }
        }
    }

    #[test]
    fn applies_png_exif_orientation() {
        let upright = test_images::quadrants(64, 48);
        let stored = test_images::stored_for_orientation(&upright, 6);
        let png = test_images::png_with_orientation(&stored, 6);
        let frame = decode_image(&png, &InputLimits::default()).unwrap();
        assert_eq!((frame.width(), frame.height()), (64, 48));
        test_images::assert_upright(&frame);
    }

    #[test]
    fn checks_limits_on_the_upright_size() {
        // Stored 48x64 with orientation 6 is delivered 64x48.
        let upright = test_images::quadrants(64, 48);
        let stored = test_images::stored_for_orientation(&upright, 6);
        let jpeg = test_images::jpeg_with_orientation(&stored, 6, false);
        let wide_only = InputLimits::default().with_max_size(64, 48);
        assert!(decode_image(&jpeg, &wide_only).is_ok());
        let tall_only = InputLimits::default().with_max_size(48, 64);
        assert_eq!(
            decode_image(&jpeg, &tall_only).unwrap_err(),
            InputError::TooLarge {
                width: 64,
                height: 48
            }
        );
    }

    #[test]
    fn corrupt_data_is_an_error_not_a_panic() {
        let png = test_images::png_rgb(&test_images::quadrants(64, 48));
        let mut bad_crc = png.clone();
        let idat = png.windows(4).position(|w| w == b"IDAT").unwrap();
        bad_crc[idat + 6] ^= 0xFF;
        assert!(matches!(
            decode_image(&bad_crc, &InputLimits::default()),
            Err(InputError::Corrupt { .. })
        ));
        let jpeg = test_images::jpeg(&test_images::quadrants(64, 48));
        for i in (2..jpeg.len()).step_by(7) {
            let mut flipped = jpeg.clone();
            flipped[i] ^= 0x55;
            let _ = decode_image(&flipped, &InputLimits::default());
        }
    }

    #[test]
    fn messages_are_readable() {
        assert_eq!(
            InputError::TooLarge {
                width: 100_000,
                height: 100_000
            }
            .to_string(),
            "the image is 100000x100000 pixels, over the size limit"
        );
        assert_eq!(
            InputError::UnsupportedFormat.to_string(),
            "unsupported image format: only JPEG and PNG are accepted"
        );
    }
}
