//! One template computed in parts, on several cores.
//!
//! Each hash function of the transform draws its projections from its own
//! stretch of the keyed stream, so the `m` hash functions split into runs
//! that can be computed apart ([`TemplateKey::protect_part`]) and joined in
//! order ([`TemplateKey::assemble`]) into exactly the template
//! [`TemplateKey::protect`] makes.
//!
//! ```
//! use faceseal_protect::Embedding;
//! use faceseal_protect::template::{TemplateKey, TemplateSecret, IomParams};
//!
//! let secret = TemplateSecret::from_bytes(&[0x5a; 32]).unwrap();
//! let key = TemplateKey::derive(&secret, "subject-1", 1, IomParams::DEFAULT).unwrap();
//! let mut values = [0.0f32; 128];
//! values.iter_mut().enumerate().for_each(|(i, v)| *v = ((i * 7919) % 13) as f32 - 6.0);
//! let embedding = Embedding::from_array(values);
//! let parts = std::thread::scope(|s| {
//!     let handles: Vec<_> = key
//!         .params()
//!         .split(2)
//!         .into_iter()
//!         .map(|hashes| s.spawn(|| key.protect_part(&embedding, hashes)))
//!         .collect();
//!     handles.into_iter().map(|h| h.join().unwrap()).collect::<Result<Vec<_>, _>>()
//! })
//! .unwrap();
//! assert_eq!(
//!     key.assemble(parts).unwrap().to_bytes(),
//!     key.protect(embedding).unwrap().to_bytes()
//! );
//! ```

use std::ops::Range;

use zeroize::Zeroizing;

use super::IomParams;

/// The indices of a run of a template's hash functions, wiped on drop.
pub struct TemplatePart {
    pub(crate) params: IomParams,
    pub(crate) key_version: u32,
    pub(crate) hashes: Range<u16>,
    pub(crate) indices: Zeroizing<Vec<u8>>,
}

impl TemplatePart {
    /// Which hash functions of `0..m` this part holds.
    pub fn hashes(&self) -> Range<u16> {
        self.hashes.clone()
    }
}

impl std::fmt::Debug for TemplatePart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TemplatePart({:?}, <redacted>)", self.hashes)
    }
}

impl IomParams {
    /// `0..m` cut into `parts` consecutive runs of near equal length (at
    /// most `m` runs, at least one; none empty).
    pub fn split(self, parts: usize) -> Vec<Range<u16>> {
        let m = usize::from(self.hashes());
        let parts = parts.clamp(1, m);
        (0..parts)
            .map(|i| {
                let bound = |k: usize| u16::try_from(k * m / parts).expect("at most m");
                bound(i)..bound(i + 1)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_covers_every_hash_once_in_order() {
        for (m, parts) in [(1024, 2), (1024, 3), (7, 7), (7, 100), (5, 0), (1, 1)] {
            let params = IomParams::new(m, 8).unwrap();
            let runs = params.split(parts);
            assert_eq!(runs.len(), parts.clamp(1, usize::from(m)));
            assert_eq!(runs[0].start, 0);
            assert_eq!(runs.last().unwrap().end, m);
            for pair in runs.windows(2) {
                assert_eq!(pair[0].end, pair[1].start);
            }
            assert!(runs.iter().all(|r| !r.is_empty()));
        }
    }
}
