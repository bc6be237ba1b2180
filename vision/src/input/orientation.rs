//! Turning a stored picture upright: EXIF orientation and camera rotation.
//!
//! `image` reads the EXIF orientation tag for us, but its
//! `DynamicImage::apply_orientation` frees its intermediate copies without
//! wiping them. This does the same eight transforms in one pass into a
//! zeroized buffer.

use zeroize::Zeroizing;

use super::{InputError, buffer};

pub(super) use image::metadata::Orientation;

/// Size of the picture once `orientation` is applied to a `width` × `height` one.
pub(super) fn oriented_size(orientation: Orientation, width: u32, height: u32) -> (u32, u32) {
    if swaps_sides(orientation) {
        (height, width)
    } else {
        (width, height)
    }
}

fn swaps_sides(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// Applies `orientation` to packed RGB8 pixels, returning the new size and pixels.
pub(super) fn apply(
    orientation: Orientation,
    width: u32,
    height: u32,
    pixels: Zeroizing<Vec<u8>>,
) -> Result<(u32, u32, Zeroizing<Vec<u8>>), InputError> {
    if orientation == Orientation::NoTransforms {
        return Ok((width, height, pixels));
    }
    let (out_width, out_height) = oriented_size(orientation, width, height);
    let mut out = buffer::zeroed(pixels.len()).ok_or(InputError::TooLarge {
        width: out_width,
        height: out_height,
    })?;
    let (w, h, ow) = (width as usize, height as usize, out_width as usize);
    // Destination of source pixel (x, y); matches `image`'s transforms.
    let target: fn(usize, usize, usize, usize) -> (usize, usize) = match orientation {
        Orientation::NoTransforms => |x, y, _, _| (x, y),
        Orientation::Rotate90 => |x, y, _, h| (h - 1 - y, x),
        Orientation::Rotate180 => |x, y, w, h| (w - 1 - x, h - 1 - y),
        Orientation::Rotate270 => |x, y, w, _| (y, w - 1 - x),
        Orientation::FlipHorizontal => |x, y, w, _| (w - 1 - x, y),
        Orientation::FlipVertical => |x, y, _, h| (x, h - 1 - y),
        Orientation::Rotate90FlipH => |x, y, _, _| (y, x),
        Orientation::Rotate270FlipH => |x, y, w, h| (h - 1 - y, w - 1 - x),
    };
    for (y, row) in pixels.chunks_exact(w * 3).take(h).enumerate() {
        for (x, px) in row.chunks_exact(3).enumerate() {
            let (tx, ty) = target(x, y, w, h);
            let at = (ty * ow + tx) * 3;
            out[at..at + 3].copy_from_slice(px);
        }
    }
    Ok((out_width, out_height, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, RgbImage};

    const ALL: [Orientation; 8] = [
        Orientation::NoTransforms,
        Orientation::Rotate90,
        Orientation::Rotate180,
        Orientation::Rotate270,
        Orientation::FlipHorizontal,
        Orientation::FlipVertical,
        Orientation::Rotate90FlipH,
        Orientation::Rotate270FlipH,
    ];

    #[test]
    fn agrees_with_image_apply_orientation() {
        let (w, h) = (5u32, 3u32);
        let src: Vec<u8> = (0..w * h * 3).map(|i| i as u8).collect();
        for o in ALL {
            let mut expected =
                DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, src.clone()).unwrap());
            expected.apply_orientation(o);
            let (ow, oh, got) = apply(o, w, h, Zeroizing::new(src.clone())).unwrap();
            assert_eq!((ow, oh), (expected.width(), expected.height()), "{o:?}");
            assert_eq!((ow, oh), oriented_size(o, w, h), "{o:?}");
            assert_eq!(got.as_slice(), expected.as_bytes(), "{o:?}");
        }
    }
}
