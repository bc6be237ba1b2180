//! A walk over PNG chunks: header size, EXIF payload, end chunk.
//!
//! PNG chunks carry their length, so the walk jumps from header to header
//! without reading pixel data or checking CRCs (the decoder does that).

use super::InputError;
use super::layout::Layout;
use super::sniff::PNG_MAGIC;

/// The PNG spec caps chunk lengths (and sides) at 2^31 - 1.
const MAX_CHUNK_LEN: u32 = i32::MAX as u32;

/// Walks a file that starts with the PNG signature (already sniffed).
pub(super) fn scan(bytes: &[u8]) -> Result<Layout<'_>, InputError> {
    let mut pos = PNG_MAGIC.len();
    let Some((ihdr_type, ihdr)) = chunk_at(bytes, pos)? else {
        return Err(InputError::Truncated);
    };
    if ihdr_type != *b"IHDR" || ihdr.len() != 13 {
        return Err(InputError::Corrupt {
            reason: "PNG does not start with a valid IHDR chunk",
        });
    }
    let width = u32::from_be_bytes([ihdr[0], ihdr[1], ihdr[2], ihdr[3]]);
    let height = u32::from_be_bytes([ihdr[4], ihdr[5], ihdr[6], ihdr[7]]);
    pos += chunk_span(ihdr.len());

    let mut exif = None;
    let mut seen_image_data = false;
    let complete = loop {
        let Some((kind, body)) = chunk_at(bytes, pos)? else {
            break false;
        };
        match &kind {
            b"IEND" => break true,
            b"IDAT" => seen_image_data = true,
            // eXIf counts only before the image data, as the PNG extensions require
            // and as the decoder reads it.
            b"eXIf" if !seen_image_data && exif.is_none() => exif = Some(body),
            _ => {}
        }
        pos += chunk_span(body.len());
    };

    Ok(Layout {
        width,
        height,
        exif,
        complete,
    })
}

/// Length, type and CRC around a body.
fn chunk_span(body_len: usize) -> usize {
    12 + body_len
}

/// A chunk's type and body.
type Chunk<'a> = ([u8; 4], &'a [u8]);

/// The chunk at `pos`, `None` if the bytes end inside it.
fn chunk_at(bytes: &[u8], pos: usize) -> Result<Option<Chunk<'_>>, InputError> {
    let Some(head) = bytes.get(pos..).and_then(|rest| rest.get(..8)) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    if len > MAX_CHUNK_LEN {
        return Err(InputError::Corrupt {
            reason: "PNG chunk length over 2^31 - 1",
        });
    }
    let kind = [head[4], head[5], head[6], head[7]];
    // `len` < 2^31 and `pos` <= bytes.len(), so on 64-bit this cannot overflow;
    // on 32-bit it is checked.
    let body_start = pos + 8;
    let Some(body_end) = usize::try_from(len)
        .ok()
        .and_then(|len| body_start.checked_add(len))
    else {
        return Ok(None);
    };
    let crc_end = body_end.checked_add(4);
    match (bytes.get(body_start..body_end), crc_end) {
        (Some(body), Some(crc_end)) if crc_end <= bytes.len() => Ok(Some((kind, body))),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::test_images;

    #[test]
    fn reads_size_and_end_of_a_real_png() {
        let png = test_images::png_rgb(&test_images::quadrants(40, 30));
        let layout = scan(&png).unwrap();
        assert_eq!(
            (layout.width, layout.height, layout.complete),
            (40, 30, true)
        );
        for cut in PNG_MAGIC.len()..png.len() {
            match scan(&png[..cut]) {
                Ok(l) => assert!(!l.complete, "cut at {cut} judged complete"),
                Err(e) => assert_eq!(e, InputError::Truncated, "cut at {cut}"),
            }
        }
    }

    #[test]
    fn refuses_a_first_chunk_other_than_ihdr() {
        let mut png = PNG_MAGIC.to_vec();
        png.extend_from_slice(&[0, 0, 0, 0]);
        png.extend_from_slice(b"IEND");
        png.extend_from_slice(&[0xAE, 0x42, 0x60, 0x82]);
        assert!(matches!(scan(&png), Err(InputError::Corrupt { .. })));
    }

    #[test]
    fn refuses_oversized_chunk_lengths() {
        let mut png = test_images::png_header(64, 64);
        png.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
        png.extend_from_slice(b"IDAT");
        assert!(matches!(scan(&png), Err(InputError::Corrupt { .. })));
    }
}
