//! What a caller hands the engine: frames it owns, and per-request options.

use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::queue::CancelToken;
use crate::frame::RgbFrame;
use crate::input::{
    InputError, InputLimits, RawFrame, RawPixelFormat, Rotation, decode_image, decode_raw_rotated,
};

/// One picture, as it arrives from a file or a camera. Its bytes are a face:
/// they are wiped when the request is done.
pub enum FrameInput {
    /// JPEG or PNG bytes (EXIF orientation is applied).
    Encoded(Zeroizing<Vec<u8>>),
    /// A raw camera buffer.
    Raw(RawInput),
}

/// A raw camera buffer and how to read it (see [`RawFrame`]).
pub struct RawInput {
    pub data: Zeroizing<Vec<u8>>,
    pub width: u32,
    pub height: u32,
    /// Bytes from one row to the next (of the Y plane for NV21).
    pub stride: usize,
    pub format: RawPixelFormat,
    /// Clockwise rotation that makes the frame upright.
    pub rotation: Rotation,
}

impl FrameInput {
    /// Copies encoded bytes.
    pub fn encoded(bytes: &[u8]) -> Self {
        Self::Encoded(Zeroizing::new(bytes.to_vec()))
    }

    /// Copies a raw camera buffer.
    pub fn raw(frame: &RawFrame<'_>, rotation: Rotation) -> Self {
        Self::Raw(RawInput {
            data: Zeroizing::new(frame.data.to_vec()),
            width: frame.width,
            height: frame.height,
            stride: frame.stride,
            format: frame.format,
            rotation,
        })
    }

    /// Bytes held, for the engine's bound on a request's size.
    pub fn len(&self) -> usize {
        match self {
            Self::Encoded(bytes) => bytes.len(),
            Self::Raw(raw) => raw.data.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Through the input gate.
    pub fn decode(&self, limits: &InputLimits) -> Result<RgbFrame, InputError> {
        match self {
            Self::Encoded(bytes) => decode_image(bytes, limits),
            Self::Raw(raw) => decode_raw_rotated(
                &RawFrame {
                    data: &raw.data,
                    width: raw.width,
                    height: raw.height,
                    stride: raw.stride,
                    format: raw.format,
                },
                raw.rotation,
                limits,
            ),
        }
    }
}

/// Pixels are a face: `Debug` shows sizes only.
impl std::fmt::Debug for FrameInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Encoded(bytes) => write!(f, "FrameInput::Encoded({} bytes)", bytes.len()),
            Self::Raw(raw) => f
                .debug_struct("FrameInput::Raw")
                .field("len", &raw.data.len())
                .field("width", &raw.width)
                .field("height", &raw.height)
                .field("stride", &raw.stride)
                .field("format", &raw.format)
                .field("rotation", &raw.rotation)
                .finish(),
        }
    }
}

/// Deadline and cancellation of one request.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// From the call; `None` takes the engine's default.
    pub timeout: Option<Duration>,
    /// Fired from another thread to abandon the request.
    pub cancel: Option<CancelToken>,
}

impl RequestOptions {
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            timeout: Some(timeout),
            cancel: None,
        }
    }

    pub(super) fn deadline(&self, default: Duration) -> Instant {
        let now = Instant::now();
        let timeout = self.timeout.unwrap_or(default);
        // A timeout too large to add is as good as none.
        now.checked_add(timeout)
            .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600))
    }
}
