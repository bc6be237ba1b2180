//! Which format the bytes claim to be, from their magic numbers alone.
//!
//! File names and MIME types come from the caller and may lie; the first
//! bytes decide which parser is allowed to look at the rest.

use super::InputError;

/// The encoded formats the gate accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EncodedFormat {
    Jpeg,
    Png,
}

/// SOI followed by the first byte of the next marker.
const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF];
/// The PNG signature: its CR-LF and Ctrl-Z bytes also catch text-mode mangling.
pub(super) const PNG_MAGIC: &[u8] = &[0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];

/// Names the format, or refuses. Input shorter than a signature but matching
/// its start is reported as truncated, not as foreign.
pub(super) fn sniff(bytes: &[u8]) -> Result<EncodedFormat, InputError> {
    if bytes.is_empty() {
        return Err(InputError::Empty);
    }
    for (magic, format) in [
        (JPEG_MAGIC, EncodedFormat::Jpeg),
        (PNG_MAGIC, EncodedFormat::Png),
    ] {
        if bytes.starts_with(magic) {
            return Ok(format);
        }
        if magic.starts_with(bytes) {
            return Err(InputError::Truncated);
        }
    }
    Err(InputError::UnsupportedFormat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_magic_and_refuses_the_rest() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Ok(EncodedFormat::Jpeg));
        assert_eq!(sniff(PNG_MAGIC), Ok(EncodedFormat::Png));
        assert_eq!(sniff(&[]), Err(InputError::Empty));
        assert_eq!(sniff(&[0xFF, 0xD8]), Err(InputError::Truncated));
        assert_eq!(sniff(&PNG_MAGIC[..5]), Err(InputError::Truncated));
        assert_eq!(sniff(b"GIF89a"), Err(InputError::UnsupportedFormat));
        assert_eq!(sniff(b"BM"), Err(InputError::UnsupportedFormat));
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0x00]),
            Err(InputError::UnsupportedFormat)
        );
    }
}
