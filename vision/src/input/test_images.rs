//! Pictures the tests make for themselves: encoded with `image`, with
//! hand-written EXIF and PNG chunks where a test needs them.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{ColorType, DynamicImage, ImageFormat, Rgb, RgbImage};

use crate::frame::RgbFrame;

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const WHITE: [u8; 3] = [255, 255, 255];

/// Red, green / blue, white quadrants: every one of the eight orientations
/// puts a different colour in the top-left corner or swaps the sides.
pub fn quadrants(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let right = x >= width / 2 && width > 1;
        let bottom = y >= height / 2 && height > 1;
        Rgb(match (right, bottom) {
            (false, false) => RED,
            (true, false) => GREEN,
            (false, true) => BLUE,
            (true, true) => WHITE,
        })
    })
}

/// Asserts the frame shows [`quadrants`] the right way up (JPEG tolerance).
pub fn assert_upright(frame: &RgbFrame) {
    let (w, h) = (frame.width(), frame.height());
    for (x, y, want) in [
        (w / 4, h / 4, RED),
        (3 * w / 4, h / 4, GREEN),
        (w / 4, 3 * h / 4, BLUE),
        (3 * w / 4, 3 * h / 4, WHITE),
    ] {
        let got = frame.pixel(x, y);
        assert!(
            got.iter().zip(want).all(|(&g, w)| g.abs_diff(w) < 40),
            "at ({x}, {y}) got {got:?}, want {want:?}"
        );
    }
}

pub fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 95)
        .encode_image(img)
        .unwrap();
    out
}

pub fn png_rgb(img: &RgbImage) -> Vec<u8> {
    png(img, ColorType::Rgb8)
}

/// PNG in the given sample layout.
pub fn png(img: &RgbImage, color: ColorType) -> Vec<u8> {
    let rgb = DynamicImage::ImageRgb8(img.clone());
    let converted = match color {
        ColorType::L8 => DynamicImage::ImageLuma8(rgb.to_luma8()),
        ColorType::La16 => DynamicImage::ImageLumaA16(rgb.to_luma_alpha16()),
        ColorType::Rgba8 => DynamicImage::ImageRgba8(rgb.to_rgba8()),
        ColorType::Rgb16 => DynamicImage::ImageRgb16(rgb.to_rgb16()),
        _ => rgb,
    };
    let mut out = Cursor::new(Vec::new());
    converted.write_to(&mut out, ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A PNG signature and IHDR claiming `width` x `height`, and nothing else.
pub fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no interlace
    let mut out = super::sniff::PNG_MAGIC.to_vec();
    out.extend_from_slice(&png_chunk(b"IHDR", &ihdr));
    out
}

fn png_chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    let crc = crc32(&out[4..]);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A TIFF header and one IFD with a single Orientation (0x0112) entry.
pub(crate) fn exif_tiff(orientation: u8, big_endian: bool) -> Vec<u8> {
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut tiff = if big_endian {
        b"MM".to_vec()
    } else {
        b"II".to_vec()
    };
    tiff.extend_from_slice(&u16b(42));
    tiff.extend_from_slice(&u32b(8)); // IFD0 right after the header
    tiff.extend_from_slice(&u16b(1)); // one entry
    tiff.extend_from_slice(&u16b(0x0112)); // Orientation
    tiff.extend_from_slice(&u16b(3)); // SHORT
    tiff.extend_from_slice(&u32b(1)); // count
    tiff.extend_from_slice(&u16b(u16::from(orientation)));
    tiff.extend_from_slice(&[0, 0]); // value padding
    tiff.extend_from_slice(&u32b(0)); // no next IFD
    tiff
}

/// JPEG of `stored` with an APP1 EXIF segment right after SOI.
pub fn jpeg_with_orientation(stored: &RgbImage, orientation: u8, big_endian: bool) -> Vec<u8> {
    let plain = jpeg(stored);
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend_from_slice(&exif_tiff(orientation, big_endian));
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&plain[2..]);
    out
}

/// PNG of `stored` with an eXIf chunk right after IHDR.
pub fn png_with_orientation(stored: &RgbImage, orientation: u8) -> Vec<u8> {
    let plain = png_rgb(stored);
    let after_ihdr = 8 + 12 + 13;
    let mut out = plain[..after_ihdr].to_vec();
    out.extend_from_slice(&png_chunk(b"eXIf", &exif_tiff(orientation, true)));
    out.extend_from_slice(&plain[after_ihdr..]);
    out
}

/// What a camera stores so that applying EXIF `orientation` shows `upright`.
pub fn stored_for_orientation(upright: &RgbImage, orientation: u8) -> RgbImage {
    // Every orientation is its own inverse except the two quarter turns.
    let inverse = match orientation {
        6 => 8,
        8 => 6,
        o => o,
    };
    let mut img = DynamicImage::ImageRgb8(upright.clone());
    img.apply_orientation(Orientation::from_exif(inverse).unwrap());
    img.to_rgb8()
}
