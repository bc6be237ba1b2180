use super::TemplateError;

/// Largest number of hash functions a template may carry; bounds the template
/// size (and so the envelope size) for any parameters a peer may send.
pub const MAX_HASHES: u16 = 4096;

/// Largest window size: an index must fit in one byte.
pub const MAX_WINDOW: u16 = 256;

/// The protection schemes a template can declare in its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TemplateScheme {
    /// Index-of-Max hashing with Gaussian random projections (Jin et al., IEEE TIFS 2018).
    IomGrp,
}

impl TemplateScheme {
    pub const fn id(self) -> u8 {
        match self {
            TemplateScheme::IomGrp => 1,
        }
    }

    pub const fn from_id(id: u8) -> Option<Self> {
        match id {
            1 => Some(TemplateScheme::IomGrp),
            _ => None,
        }
    }
}

/// Parameters of IoM-GRP hashing: `m` hash functions, each the argmax over `q`
/// Gaussian random projections.
///
/// They are written in every template header and mixed into the key
/// derivation, so templates made with different parameters never compare and
/// never share projections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IomParams {
    m: u16,
    q: u16,
}

impl IomParams {
    /// The default parameters: 1024 hashes of window 8.
    ///
    /// At a fixed cost `m·q` the separation of mated from non-mated scores
    /// grows as `q` shrinks, and at a fixed `m` it barely depends on `q`
    /// (see `docs/template.md`): 1024 × 8 separates as well as 1024 × 16 at
    /// half the cost, and better than 512 × 16 at the same cost. Unrelated
    /// faces collide at `1/q` = 12.5 %, with a standard deviation near 1 %.
    pub const DEFAULT: IomParams = IomParams { m: 1024, q: 8 };

    /// Checks `1 <= m <= MAX_HASHES` and `2 <= q <= MAX_WINDOW`.
    pub const fn new(m: u16, q: u16) -> Result<Self, TemplateError> {
        if m == 0 || m > MAX_HASHES || q < 2 || q > MAX_WINDOW {
            return Err(TemplateError::InvalidParameters);
        }
        Ok(IomParams { m, q })
    }

    /// Number of hash functions (the template payload length in bytes).
    pub const fn hashes(self) -> u16 {
        self.m
    }

    /// Number of random projections each hash function takes the argmax of.
    pub const fn window(self) -> u16 {
        self.q
    }
}

impl Default for IomParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The score at or above which two protected templates are called the same
/// person. A parameter of the deployment, calibrated per model and parameters.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct MatchThreshold(f64);

impl MatchThreshold {
    /// Threshold for [`IomParams::DEFAULT`] on the SDK's (mirror-averaged
    /// dlib ResNet) embeddings, calibrated on LFW View 2 with
    /// `faceseal eval lfw --protected`: each of the ten folds picks, on the
    /// other nine, the score threshold of best accuracy, and all ten picked
    /// 0.6851 (midway between 701 and 702 agreeing hashes out of 1024).
    /// Protected accuracy there is 98.95 % (unprotected 99.25 %). Unrelated
    /// faces score well above `1/q` under one key because dlib embeddings
    /// share a large common direction (impostor cosine is high).
    pub const DEFAULT: MatchThreshold = MatchThreshold(0.685);

    pub fn new(value: f64) -> Result<Self, TemplateError> {
        if (0.0..=1.0).contains(&value) {
            Ok(MatchThreshold(value))
        } else {
            Err(TemplateError::InvalidThreshold)
        }
    }

    pub const fn value(self) -> f64 {
        self.0
    }
}

impl Default for MatchThreshold {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_bounds() {
        assert!(IomParams::new(0, 16).is_err());
        assert!(IomParams::new(1, 1).is_err());
        assert!(IomParams::new(MAX_HASHES + 1, 16).is_err());
        assert!(IomParams::new(1, MAX_WINDOW + 1).is_err());
        assert!(IomParams::new(MAX_HASHES, MAX_WINDOW).is_ok());
        assert!(MatchThreshold::new(1.5).is_err());
        assert!(MatchThreshold::new(f64::NAN).is_err());
        assert_eq!(TemplateScheme::from_id(1), Some(TemplateScheme::IomGrp));
        assert_eq!(TemplateScheme::from_id(0), None);
    }
}
