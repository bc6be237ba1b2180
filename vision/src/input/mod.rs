//! The input gate: untrusted picture bytes in, a validated upright
//! [`RgbFrame`](crate::frame::RgbFrame) out.
//!
//! Everything downstream (detection, liveness, recognition) is expensive and
//! assumes sane pixels, so this layer refuses early and cheaply: byte and
//! pixel limits and the format's magic bytes are checked, and the container
//! structure is walked to read the header size and find truncation, before
//! a decoder allocates anything. Each refusal has its own [`InputError`]
//! variant so an app can tell its user what to fix.
//!
//! Accepted: JPEG and PNG ([`decode_image`], EXIF orientation applied) and
//! raw camera buffers with an explicit stride ([`decode_raw`],
//! [`decode_raw_rotated`]). Nothing here panics on any input; a fuzz target
//! and property tests hold it to that.
//!
//! Intermediate pixel buffers are wiped when freed. Decoders' own internal
//! buffers (the JPEG decoder's copy of the input, its coefficient planes) are
//! outside our reach.

mod buffer;
mod encoded;
mod error;
mod jpeg_markers;
mod layout;
mod limits;
mod orientation;
mod png_chunks;
mod raw;
mod samples;
mod sniff;
#[cfg(test)]
mod test_images;
mod yuv;

pub use encoded::decode_image;
pub use error::InputError;
pub use limits::InputLimits;
pub use raw::{RawFrame, RawPixelFormat, Rotation, decode_raw, decode_raw_rotated};
