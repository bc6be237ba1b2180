//! Decoded samples of any layout JPEG and PNG produce, to packed RGB8.

use image::ColorType;
use zeroize::Zeroizing;

use super::{InputError, buffer};

/// Converts `samples` (as `image` decoders emit them: native-endian for 16
/// bits) to packed RGB8.
///
/// Grey is replicated to three channels; alpha is dropped, because camera and
/// photo pictures of faces are opaque and compositing onto an arbitrary
/// background would invent pixels; 16-bit samples are rounded to 8 bits.
pub(super) fn to_rgb8(
    color: ColorType,
    samples: Zeroizing<Vec<u8>>,
    width: u32,
    height: u32,
) -> Result<Zeroizing<Vec<u8>>, InputError> {
    let pixels = (width as usize)
        .checked_mul(height as usize)
        .ok_or(InputError::TooLarge { width, height })?;
    let bytes_per_pixel = usize::from(color.bytes_per_pixel());
    if pixels.checked_mul(bytes_per_pixel) != Some(samples.len()) {
        return Err(InputError::Corrupt {
            reason: "decoded size disagrees with the header",
        });
    }
    if color == ColorType::Rgb8 {
        return Ok(samples);
    }
    let convert: fn(&[u8], &mut [u8]) = match color {
        ColorType::L8 | ColorType::La8 => |s, d| d.fill(s[0]),
        ColorType::Rgba8 => |s, d| d.copy_from_slice(&s[..3]),
        ColorType::L16 | ColorType::La16 => |s, d| d.fill(narrow(s[0], s[1])),
        ColorType::Rgb16 | ColorType::Rgba16 => |s, d| {
            for (c, out) in d.iter_mut().enumerate() {
                *out = narrow(s[2 * c], s[2 * c + 1]);
            }
        },
        _ => return Err(InputError::UnsupportedFormat),
    };
    let mut rgb = buffer::zeroed(pixels * 3).ok_or(InputError::TooLarge { width, height })?;
    for (s, d) in samples
        .chunks_exact(bytes_per_pixel)
        .zip(rgb.chunks_exact_mut(3))
    {
        convert(s, d);
    }
    Ok(rgb)
}

/// A native-endian 16-bit sample to 8 bits, rounded (65535 → 255, 32896 → 128).
fn narrow(a: u8, b: u8) -> u8 {
    let v = u32::from(u16::from_ne_bytes([a, b]));
    ((v * 255 + 32767) / 65535) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z(v: Vec<u8>) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(v)
    }

    #[test]
    fn converts_each_layout() {
        assert_eq!(
            *to_rgb8(ColorType::L8, z(vec![7]), 1, 1).unwrap(),
            vec![7, 7, 7]
        );
        assert_eq!(
            *to_rgb8(ColorType::La8, z(vec![7, 0]), 1, 1).unwrap(),
            vec![7, 7, 7]
        );
        assert_eq!(
            *to_rgb8(ColorType::Rgba8, z(vec![1, 2, 3, 4]), 1, 1).unwrap(),
            vec![1, 2, 3]
        );
        let white16 = 65535u16.to_ne_bytes();
        let mid16 = 32896u16.to_ne_bytes();
        let mut rgba16 = Vec::new();
        for s in [white16, mid16, [0, 0], white16] {
            rgba16.extend_from_slice(&s);
        }
        assert_eq!(
            *to_rgb8(ColorType::Rgba16, z(rgba16), 1, 1).unwrap(),
            vec![255, 128, 0]
        );
        let mut la16 = mid16.to_vec();
        la16.extend_from_slice(&[0, 0]);
        assert_eq!(
            *to_rgb8(ColorType::La16, z(la16), 1, 1).unwrap(),
            vec![128; 3]
        );
    }

    #[test]
    fn refuses_a_length_that_disagrees_with_the_size() {
        assert!(matches!(
            to_rgb8(ColorType::Rgb8, z(vec![0; 5]), 1, 2),
            Err(InputError::Corrupt { .. })
        ));
    }
}
