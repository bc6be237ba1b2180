//! How much input the gate lets through.

use super::InputError;

/// Bounds on what [`decode_image`](super::decode_image) and
/// [`decode_raw`](super::decode_raw) accept.
///
/// The defaults suit face capture: a phone photo or a kiosk camera frame fits
/// easily, while a decompression bomb or a thumbnail too small to hold a face
/// is refused before any pixel is decoded.
///
/// Width and height limits apply to the picture as it will be delivered,
/// that is after EXIF orientation or camera rotation.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputLimits {
    /// Largest encoded (JPEG/PNG) input, in bytes. Raw camera buffers are not
    /// held to it: they are already in memory, and their dimensions bound the work.
    pub max_bytes: usize,
    /// Widest accepted picture, in pixels.
    pub max_width: u32,
    /// Tallest accepted picture, in pixels.
    pub max_height: u32,
    /// Most pixels (width × height) accepted: bounds memory and decode time
    /// even when both sides are within their own limits.
    pub max_pixels: u64,
    /// Narrowest accepted picture, in pixels.
    pub min_width: u32,
    /// Shortest accepted picture, in pixels.
    pub min_height: u32,
}

impl InputLimits {
    /// 20 MiB: above any phone camera JPEG, far below what would hurt a device.
    pub const DEFAULT_MAX_BYTES: usize = 20 * 1024 * 1024;
    /// 8192 pixels a side: larger than current phone sensors.
    pub const DEFAULT_MAX_SIDE: u32 = 8192;
    /// 40 megapixels: the largest common phone photos, about 120 MB once decoded to RGB.
    pub const DEFAULT_MAX_PIXELS: u64 = 40_000_000;
    /// 32 pixels a side: below this no detector finds a face worth matching.
    pub const DEFAULT_MIN_SIDE: u32 = 32;

    pub const fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    pub const fn with_max_size(mut self, max_width: u32, max_height: u32) -> Self {
        self.max_width = max_width;
        self.max_height = max_height;
        self
    }

    pub const fn with_max_pixels(mut self, max_pixels: u64) -> Self {
        self.max_pixels = max_pixels;
        self
    }

    pub const fn with_min_size(mut self, min_width: u32, min_height: u32) -> Self {
        self.min_width = min_width;
        self.min_height = min_height;
        self
    }

    /// Checks a picture size (as delivered, upright) against these limits.
    ///
    /// Exposed so an app can validate a camera configuration once, up front,
    /// instead of discovering the refusal on every frame.
    pub fn check_dimensions(&self, width: u32, height: u32) -> Result<(), InputError> {
        if width == 0 || height == 0 {
            return Err(InputError::InvalidDimensions);
        }
        let pixels = u64::from(width) * u64::from(height);
        if width > self.max_width || height > self.max_height || pixels > self.max_pixels {
            return Err(InputError::TooLarge { width, height });
        }
        if width < self.min_width || height < self.min_height {
            return Err(InputError::TooSmall { width, height });
        }
        Ok(())
    }
}

impl Default for InputLimits {
    fn default() -> Self {
        Self {
            max_bytes: Self::DEFAULT_MAX_BYTES,
            max_width: Self::DEFAULT_MAX_SIDE,
            max_height: Self::DEFAULT_MAX_SIDE,
            max_pixels: Self::DEFAULT_MAX_PIXELS,
            min_width: Self::DEFAULT_MIN_SIDE,
            min_height: Self::DEFAULT_MIN_SIDE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_accept_a_phone_photo_and_refuse_extremes() {
        let l = InputLimits::default();
        assert_eq!(l.check_dimensions(4032, 3024), Ok(()));
        assert_eq!(
            l.check_dimensions(8192, 8192),
            Err(InputError::TooLarge {
                width: 8192,
                height: 8192
            }),
            "each side fits but the pixel count does not"
        );
        assert_eq!(
            l.check_dimensions(8193, 10),
            Err(InputError::TooLarge {
                width: 8193,
                height: 10
            })
        );
        assert_eq!(
            l.check_dimensions(31, 100),
            Err(InputError::TooSmall {
                width: 31,
                height: 100
            })
        );
        assert_eq!(
            l.check_dimensions(0, 100),
            Err(InputError::InvalidDimensions)
        );
    }

    #[test]
    fn setters_change_only_their_fields() {
        let l = InputLimits::default()
            .with_max_bytes(10)
            .with_max_size(100, 50)
            .with_max_pixels(1000)
            .with_min_size(1, 2);
        assert_eq!(
            (
                l.max_bytes,
                l.max_width,
                l.max_height,
                l.max_pixels,
                l.min_width,
                l.min_height
            ),
            (10, 100, 50, 1000, 1, 2)
        );
        assert_eq!(l.check_dimensions(40, 25), Ok(()));
        assert!(matches!(
            l.check_dimensions(40, 26),
            Err(InputError::TooLarge { .. })
        ));
    }
}
