//! Pictures from C: encoded files or raw camera buffers, copied into the request.

use faceseal_core::engine::{FrameInput, TimedInput};
use faceseal_vision::input::{RawFrame, RawPixelFormat, Rotation};

use super::call::{FfiError, FfiResult};
use super::strings::byte_slice;

/// Values of `FacesealFrame.format`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FacesealPixelFormat {
    /// JPEG or PNG file bytes; width, height, stride and rotation are ignored
    /// (EXIF orientation is applied).
    Encoded = 0,
    /// 3 bytes a pixel: red, green, blue.
    Rgb = 1,
    /// 3 bytes a pixel: blue, green, red.
    Bgr = 2,
    /// 4 bytes a pixel: red, green, blue, alpha (ignored).
    Rgba = 3,
    /// 4 bytes a pixel: blue, green, red, alpha (iOS 32BGRA).
    Bgra = 4,
    /// Android NV21: a Y plane, then interleaved V,U at half resolution,
    /// both with `stride` bytes a row.
    Nv21 = 5,
}

/// One picture. The library copies the bytes during the call: the caller may
/// reuse the buffer as soon as the call returns.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FacesealFrame {
    /// `len` bytes of picture data.
    pub data: *const u8,
    pub len: usize,
    /// A `FacesealPixelFormat` value (a plain integer, so that an unknown
    /// value from C is an error rather than undefined behaviour).
    pub format: u32,
    /// Raw frames: size in pixels as stored, before rotation.
    pub width: u32,
    pub height: u32,
    /// Raw frames: bytes from one row to the next (of the Y plane for NV21).
    pub stride: u32,
    /// Raw frames: clockwise rotation making the frame upright: 0, 90, 180 or 270.
    pub rotation_degrees: i32,
    /// When the frame was captured, in milliseconds of any monotonic clock:
    /// strictly increasing along a burst (capture sessions and the one-shot
    /// enrol, probe and comparison). Ignored by detection and liveness checks.
    pub timestamp_ms: u64,
}

impl FacesealFrame {
    /// Copies the picture into an owned request input.
    ///
    /// # Safety
    /// `data` is NULL or points to `len` readable bytes for the call.
    pub(crate) unsafe fn copy_input(&self, index: usize) -> FfiResult<FrameInput> {
        let name = format!("frames[{index}].data");
        // SAFETY: forwarded from this function's contract.
        let data = unsafe { byte_slice(self.data, self.len, &name) }?;
        let format = match self.format {
            0 => return Ok(FrameInput::encoded(data)),
            1 => RawPixelFormat::Rgb,
            2 => RawPixelFormat::Bgr,
            3 => RawPixelFormat::Rgba,
            4 => RawPixelFormat::Bgra,
            5 => RawPixelFormat::Nv21,
            other => {
                return Err(FfiError::invalid(format!(
                    "frames[{index}].format {other} is not a FacesealPixelFormat"
                )));
            }
        };
        let rotation = Rotation::from_degrees(self.rotation_degrees).ok_or_else(|| {
            FfiError::invalid(format!(
                "frames[{index}].rotation_degrees must be a multiple of 90"
            ))
        })?;
        let raw = RawFrame {
            data,
            width: self.width,
            height: self.height,
            stride: self.stride as usize,
            format,
        };
        Ok(FrameInput::raw(&raw, rotation))
    }
}

/// Copies `count` timed frames from a C array (the one-shot captures),
/// refusing more than `max` before copying any.
///
/// # Safety
/// As [`frames_from_c`].
pub(crate) unsafe fn timed_frames_from_c(
    frames: *const FacesealFrame,
    count: usize,
    max: usize,
) -> FfiResult<Vec<TimedInput>> {
    // SAFETY: forwarded from this function's contract.
    let inputs = unsafe { frames_from_c(frames, count, max) }?;
    // SAFETY: checked above: not NULL and `count` valid frames.
    let frames = unsafe { std::slice::from_raw_parts(frames, count) };
    Ok(inputs
        .into_iter()
        .zip(frames)
        .map(|(input, f)| TimedInput::new(input, f.timestamp_ms))
        .collect())
}

/// Copies `count` frames from a C array, refusing more than `max` before
/// copying any.
///
/// # Safety
/// `frames` is NULL or points to `count` valid `FacesealFrame`s whose data
/// pointers are valid for the call.
pub(crate) unsafe fn frames_from_c(
    frames: *const FacesealFrame,
    count: usize,
    max: usize,
) -> FfiResult<Vec<FrameInput>> {
    if frames.is_null() {
        return Err(FfiError::null("frames"));
    }
    if count == 0 {
        return Err(FfiError::invalid("frame_count must be at least 1"));
    }
    if count > max {
        return Err(FfiError::invalid(format!(
            "{count} frames given, at most {max} accepted"
        )));
    }
    // SAFETY: not NULL, and `count` valid frames by the contract (count is
    // at most `max`, a small number, so the size fits an isize).
    let frames = unsafe { std::slice::from_raw_parts(frames, count) };
    frames
        .iter()
        .enumerate()
        // SAFETY: each frame's data pointer is valid by the contract.
        .map(|(index, frame)| unsafe { frame.copy_input(index) })
        .collect()
}
