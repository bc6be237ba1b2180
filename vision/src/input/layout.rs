//! What a structural walk of an encoded file learns without decoding pixels.

/// The facts the gate needs before it lets a decoder allocate anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Layout<'a> {
    /// Width as stored in the file (before EXIF orientation).
    pub width: u32,
    /// Height as stored in the file (before EXIF orientation).
    pub height: u32,
    /// The EXIF payload, starting at its TIFF header, if the file has one.
    pub exif: Option<&'a [u8]>,
    /// Whether the format's end marker (JPEG EOI, PNG IEND) was reached.
    /// Decoders are lenient with missing data (a truncated JPEG decodes to a
    /// half-grey picture), so truncation is judged here, on the structure.
    pub complete: bool,
}
