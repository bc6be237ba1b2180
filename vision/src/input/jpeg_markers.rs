//! A walk over JPEG marker segments: frame size, EXIF payload, end marker.
//!
//! This only follows segment lengths and scans entropy-coded data for the
//! next marker; it never decodes. It costs one pass over the bytes and no
//! allocation, so a lying header or a cut-off upload is refused before the
//! decoder sees it.

use super::InputError;
use super::layout::Layout;

/// End of image.
const EOI: u8 = 0xD9;
/// Start of scan: entropy-coded data follows its header.
const SOS: u8 = 0xDA;
/// Application segment 1, where EXIF lives.
const APP1: u8 = 0xE1;
/// The identifier that opens an EXIF APP1 payload (XMP also uses APP1).
const EXIF_ID: &[u8] = b"Exif\0\0";

/// More scans than any real encoder writes (progressive files use about ten).
/// Each scan makes a progressive decoder revisit the whole picture, so a file
/// of thousands of tiny scans would cost far more than its size suggests.
const MAX_SCANS: usize = 128;

/// Walks a file that starts with SOI (already sniffed).
pub(super) fn scan(bytes: &[u8]) -> Result<Layout<'_>, InputError> {
    let mut size: Option<(u32, u32)> = None;
    let mut exif = None;
    let mut scans = 0usize;
    let mut pos = 2; // after SOI

    let complete = loop {
        // Tolerate junk between segments, as libjpeg does: look for the next 0xFF.
        let Some(ff) = find_ff(bytes, pos) else {
            break false;
        };
        pos = ff;
        // Any number of 0xFF fill bytes may precede a marker code.
        while bytes.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let Some(&marker) = bytes.get(pos) else {
            break false;
        };
        pos += 1;

        match marker {
            EOI => break true,
            // Standalone markers (TEM, RSTn, a stray SOI) and a stuffed 0xFF00 outside
            // a scan carry no length: keep walking.
            0x00 | 0x01 | 0xD0..=0xD8 => continue,
            _ => {}
        }

        let Some(len_bytes) = bytes.get(pos..pos + 2) else {
            break false;
        };
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        if len < 2 {
            return Err(InputError::Corrupt {
                reason: "JPEG segment length below 2",
            });
        }
        let end = pos + len;
        let Some(body) = bytes.get(pos + 2..end) else {
            break false;
        };

        if is_start_of_frame(marker) && size.is_none() {
            // Body: precision (1), height (2), width (2), components...
            if body.len() < 6 {
                return Err(InputError::Corrupt {
                    reason: "JPEG frame header too short",
                });
            }
            let height = u16::from_be_bytes([body[1], body[2]]);
            let width = u16::from_be_bytes([body[3], body[4]]);
            size = Some((u32::from(width), u32::from(height)));
        } else if marker == APP1 && exif.is_none() {
            exif = body.strip_prefix(EXIF_ID);
        }
        pos = end;

        if marker == SOS {
            scans += 1;
            if scans > MAX_SCANS {
                return Err(InputError::Corrupt {
                    reason: "too many JPEG scans",
                });
            }
            match skip_entropy_coded(bytes, pos) {
                Some(next_marker) => pos = next_marker,
                None => break false,
            }
        }
    };

    match size {
        Some((width, height)) => Ok(Layout {
            width,
            height,
            exif,
            complete,
        }),
        None if complete => Err(InputError::Corrupt {
            reason: "JPEG has no frame header",
        }),
        None => Err(InputError::Truncated),
    }
}

/// SOF0..SOF15, minus DHT (C4), JPG (C8) and DAC (CC) which share the range.
fn is_start_of_frame(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

fn find_ff(bytes: &[u8], from: usize) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|&b| b == 0xFF)
        .map(|i| from + i)
}

/// Returns the offset of the 0xFF that starts the first real marker after
/// entropy-coded data, or `None` if the data runs out first. Inside a scan
/// 0xFF00 is an escaped data byte and RSTn markers belong to the scan.
fn skip_entropy_coded(bytes: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        let ff = find_ff(bytes, pos)?;
        match *bytes.get(ff + 1)? {
            0x00 | 0xD0..=0xD7 => pos = ff + 2,
            0xFF => pos = ff + 1,
            _ => return Some(ff),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::test_images;

    #[test]
    fn reads_size_and_end_of_a_real_jpeg() {
        let jpeg = test_images::jpeg(&test_images::quadrants(40, 30));
        let layout = scan(&jpeg).unwrap();
        assert_eq!((layout.width, layout.height), (40, 30));
        assert!(layout.complete);
        assert_eq!(layout.exif, None);
    }

    #[test]
    fn finds_exif_and_sees_every_truncation() {
        let jpeg = test_images::jpeg_with_orientation(&test_images::quadrants(40, 30), 6, false);
        let layout = scan(&jpeg).unwrap();
        assert!(layout.exif.unwrap().starts_with(b"II*\0"));
        for cut in 3..jpeg.len() {
            match scan(&jpeg[..cut]) {
                Ok(l) => assert!(!l.complete, "cut at {cut} judged complete"),
                Err(e) => assert_eq!(e, InputError::Truncated, "cut at {cut}"),
            }
        }
    }

    #[test]
    fn refuses_a_scan_bomb() {
        let mut jpeg = vec![0xFF, 0xD8];
        jpeg.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8, 0, 40, 0, 40, 1, 1, 0x11, 0]);
        for _ in 0..=MAX_SCANS {
            jpeg.extend_from_slice(&[0xFF, SOS, 0, 8, 1, 1, 0, 0, 63, 0, 0x12]);
        }
        jpeg.extend_from_slice(&[0xFF, EOI]);
        assert!(matches!(scan(&jpeg), Err(InputError::Corrupt { .. })));
    }

    #[test]
    fn reports_zero_length_segments_as_corrupt() {
        assert!(matches!(
            scan(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 1]),
            Err(InputError::Corrupt { .. })
        ));
        assert!(matches!(
            scan(&[0xFF, 0xD8, 0xFF, EOI]),
            Err(InputError::Corrupt { .. })
        ));
    }
}
