//! Status codes of every fallible C function.

use faceseal_core::engine::{CaptureError, EngineError, ErrorKind};

/// What a C function did. `FACESEAL_STATUS_OK` is zero; every other value
/// has a message in `faceseal_last_error_message()`. New codes may be added
/// at the end: treat an unknown one as an error.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacesealStatus {
    Ok = 0,
    /// A required pointer argument was NULL.
    NullPointer = 1,
    /// An argument is out of range: a count, a size, a threshold, a key length.
    InvalidArgument = 2,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = 3,
    /// The queue is full: try again shortly.
    Busy = 4,
    /// The request's deadline passed.
    Timeout = 5,
    /// The request was cancelled.
    Cancelled = 6,
    /// The engine is being freed.
    ShuttingDown = 7,
    /// No usable consent reference, or one for another purpose.
    Consent = 8,
    /// The picture was refused: format, size, or a raw buffer that does not
    /// fit its width, height, stride and format.
    InvalidImage = 9,
    NoFace = 10,
    MultipleFaces = 11,
    /// The face is too small, blurred, badly lit or turned away.
    LowQuality = 12,
    /// Liveness refused the capture.
    NotLive = 13,
    /// A protected template is malformed, or does not fit the subject's key.
    InvalidTemplate = 14,
    /// The engine lacks a tenant key or template secret the call needs.
    NotConfigured = 15,
    /// A model file is missing or not the expected one.
    Model = 16,
    /// A bug in the library; the message says more.
    Internal = 17,
    /// A panic was caught at the boundary: a bug in the library.
    Panic = 18,
    /// Another call is running on the same capture session.
    InUse = 19,
    /// The capture session has finished (decided, refused or failed for good).
    Finished = 20,
    /// The capture session has expired.
    Expired = 21,
    /// A frame's timestamp is not after the previous frame's.
    FrameOutOfOrder = 22,
    /// A frame's size differs from the burst's first frame.
    FrameSizeChanged = 23,
    /// Too few frames to decide a burst (at least 2, or the session's
    /// `burst_frames`).
    NotEnoughFrames = 24,
    /// No frame had one face of good enough quality for a template.
    NoUsableFace = 25,
}

impl FacesealStatus {
    /// The status's snake_case name, NUL-terminated.
    fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok\0",
            Self::NullPointer => "null_pointer\0",
            Self::InvalidArgument => "invalid_argument\0",
            Self::InvalidUtf8 => "invalid_utf8\0",
            Self::Busy => "busy\0",
            Self::Timeout => "timeout\0",
            Self::Cancelled => "cancelled\0",
            Self::ShuttingDown => "shutting_down\0",
            Self::Consent => "consent\0",
            Self::InvalidImage => "invalid_image\0",
            Self::NoFace => "no_face\0",
            Self::MultipleFaces => "multiple_faces\0",
            Self::LowQuality => "low_quality\0",
            Self::NotLive => "not_live\0",
            Self::InvalidTemplate => "invalid_template\0",
            Self::NotConfigured => "not_configured\0",
            Self::Model => "model\0",
            Self::Internal => "internal\0",
            Self::Panic => "panic\0",
            Self::InUse => "in_use\0",
            Self::Finished => "finished\0",
            Self::Expired => "expired\0",
            Self::FrameOutOfOrder => "frame_out_of_order\0",
            Self::FrameSizeChanged => "frame_size_changed\0",
            Self::NotEnoughFrames => "not_enough_frames\0",
            Self::NoUsableFace => "no_usable_face\0",
        }
    }
}

/// The snake_case name of a status value ("not_live", "frame_out_of_order"...),
/// a static NUL-terminated string; "unknown" for a value this library does
/// not define.
#[unsafe(no_mangle)]
pub extern "C" fn faceseal_status_name(status: u32) -> *const std::ffi::c_char {
    const ALL: [FacesealStatus; 26] = [
        FacesealStatus::Ok,
        FacesealStatus::NullPointer,
        FacesealStatus::InvalidArgument,
        FacesealStatus::InvalidUtf8,
        FacesealStatus::Busy,
        FacesealStatus::Timeout,
        FacesealStatus::Cancelled,
        FacesealStatus::ShuttingDown,
        FacesealStatus::Consent,
        FacesealStatus::InvalidImage,
        FacesealStatus::NoFace,
        FacesealStatus::MultipleFaces,
        FacesealStatus::LowQuality,
        FacesealStatus::NotLive,
        FacesealStatus::InvalidTemplate,
        FacesealStatus::NotConfigured,
        FacesealStatus::Model,
        FacesealStatus::Internal,
        FacesealStatus::Panic,
        FacesealStatus::InUse,
        FacesealStatus::Finished,
        FacesealStatus::Expired,
        FacesealStatus::FrameOutOfOrder,
        FacesealStatus::FrameSizeChanged,
        FacesealStatus::NotEnoughFrames,
        FacesealStatus::NoUsableFace,
    ];
    let name = ALL
        .iter()
        .find(|s| **s as u32 == status)
        .map_or("unknown\0", |s| s.name());
    name.as_ptr().cast()
}

impl From<ErrorKind> for FacesealStatus {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::Busy => Self::Busy,
            ErrorKind::Timeout => Self::Timeout,
            ErrorKind::Cancelled => Self::Cancelled,
            ErrorKind::ShuttingDown => Self::ShuttingDown,
            ErrorKind::InvalidArgument => Self::InvalidArgument,
            ErrorKind::Consent => Self::Consent,
            ErrorKind::InvalidImage => Self::InvalidImage,
            ErrorKind::NoFace => Self::NoFace,
            ErrorKind::MultipleFaces => Self::MultipleFaces,
            ErrorKind::LowQuality => Self::LowQuality,
            ErrorKind::NotLive => Self::NotLive,
            ErrorKind::InvalidTemplate => Self::InvalidTemplate,
            ErrorKind::NotConfigured => Self::NotConfigured,
            ErrorKind::Model => Self::Model,
            _ => Self::Internal,
        }
    }
}

impl From<&EngineError> for FacesealStatus {
    fn from(error: &EngineError) -> Self {
        error.kind().into()
    }
}

impl From<&CaptureError> for FacesealStatus {
    fn from(error: &CaptureError) -> Self {
        match error {
            CaptureError::Engine(e) => e.into(),
            CaptureError::Finished => Self::Finished,
            CaptureError::Expired => Self::Expired,
            CaptureError::InUse => Self::InUse,
            CaptureError::FrameOutOfOrder { .. } => Self::FrameOutOfOrder,
            CaptureError::FrameSizeChanged { .. } => Self::FrameSizeChanged,
            CaptureError::NotEnoughFrames { .. } => Self::NotEnoughFrames,
            CaptureError::NoUsableFace => Self::NoUsableFace,
            CaptureError::NotLive(_) => Self::NotLive,
            CaptureError::TooManyFrames { .. } | CaptureError::InvalidConfig(_) => {
                Self::InvalidArgument
            }
            _ => Self::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_name() {
        for code in 0..26u32 {
            // SAFETY: a static NUL-terminated string.
            let name = unsafe { std::ffi::CStr::from_ptr(faceseal_status_name(code)) };
            assert_ne!(name.to_str().unwrap(), "unknown", "{code}");
        }
        // SAFETY: as above.
        let name = unsafe { std::ffi::CStr::from_ptr(faceseal_status_name(26)) };
        assert_eq!(name.to_str().unwrap(), "unknown");
    }
}
