//! Why an input was refused.

/// One variant per reason the input gate refuses a picture.
///
/// Messages are written for the app developer who has to fix the caller:
/// they carry sizes and limits, never pixel data, file names or decoder
/// output (which could be long, or echo attacker-controlled bytes).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// Zero bytes were given: usually a failed read or an unset buffer.
    #[error("the image is empty (0 bytes)")]
    Empty,

    /// The data stops before the format's end marker (JPEG EOI, PNG IEND):
    /// an interrupted upload or a partial write.
    #[error("the image data ends early: the file is truncated")]
    Truncated,

    /// Neither JPEG nor PNG (judged by the magic bytes, not a file name).
    #[error("unsupported image format: only JPEG and PNG are accepted")]
    UnsupportedFormat,

    /// More encoded bytes than [`InputLimits::max_bytes`](super::InputLimits::max_bytes).
    #[error("the image is {len} bytes, over the limit of {max} bytes")]
    TooManyBytes { len: usize, max: usize },

    /// A side, or the pixel count, is over the configured limits. The size
    /// is the one the picture would have once upright.
    #[error("the image is {width}x{height} pixels, over the size limit")]
    TooLarge { width: u32, height: u32 },

    /// A side is under the configured minimum: too small to hold a usable face.
    #[error("the image is {width}x{height} pixels, under the minimum size")]
    TooSmall { width: u32, height: u32 },

    /// A raw camera buffer whose length does not fit its width, height,
    /// stride and pixel format (`expected` is the nearest acceptable length).
    #[error("the raw frame buffer is {actual} bytes, but its size and format need {expected}")]
    BufferLength { expected: usize, actual: usize },

    /// A raw camera buffer whose stride (bytes per row) is shorter than a row.
    #[error("the raw frame stride is {stride} bytes, below the {min} bytes one row needs")]
    InvalidStride { stride: usize, min: usize },

    /// A width or height of zero.
    #[error("the image has a zero width or height")]
    InvalidDimensions,

    /// The data is in a supported format but malformed.
    #[error("the image data is corrupt: {reason}")]
    Corrupt {
        /// A short, fixed description; never text taken from the input.
        reason: &'static str,
    },
}
