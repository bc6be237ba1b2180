//! Face embeddings: the raw output of the recognition network.
//!
//! An embedding is the most sensitive thing the SDK holds: it identifies a
//! person and cannot be changed. It lives only in memory that is wiped on
//! drop, never has a `Debug` that prints its values, and is turned into a
//! protected template as soon as possible.

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Dimension of the dlib ResNet descriptor.
pub const EMBEDDING_DIM: usize = 128;

/// A face descriptor, wiped from memory when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Embedding {
    values: Box<[f32; EMBEDDING_DIM]>,
}

impl Embedding {
    /// Takes ownership of descriptor values.
    pub fn from_array(values: [f32; EMBEDDING_DIM]) -> Self {
        Self {
            values: Box::new(values),
        }
    }

    /// Copies a slice of exactly [`EMBEDDING_DIM`] values.
    pub fn from_slice(values: &[f32]) -> Option<Self> {
        let mut boxed = Box::new([0f32; EMBEDDING_DIM]);
        if values.len() != EMBEDDING_DIM {
            return None;
        }
        boxed.copy_from_slice(values);
        Some(Self { values: boxed })
    }

    pub fn values(&self) -> &[f32; EMBEDDING_DIM] {
        &self.values
    }

    /// Euclidean distance; dlib's rule calls two faces the same person below about 0.6.
    pub fn distance(&self, other: &Embedding) -> f32 {
        self.values
            .iter()
            .zip(other.values.iter())
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>()
            .sqrt()
    }

    /// The element-wise mean of two embeddings (used to fuse a face with its mirror image).
    pub fn mean(a: &Embedding, b: &Embedding) -> Embedding {
        let mut out = Box::new([0f32; EMBEDDING_DIM]);
        for (o, (x, y)) in out.iter_mut().zip(a.values.iter().zip(b.values.iter())) {
            *o = 0.5 * (x + y);
        }
        Embedding { values: out }
    }

    pub fn norm(&self) -> f32 {
        self.values.iter().map(|v| v * v).sum::<f32>().sqrt()
    }

    /// Fuses the descriptors of several captures of one face: the mean of
    /// the unit-length descriptors, so that no capture weighs more for having
    /// a longer vector. A single descriptor is returned unchanged (the
    /// template transform normalises anyway). `None` when `items` is empty
    /// or a descriptor is zero or not finite.
    pub fn fuse(items: &[&Embedding]) -> Option<Embedding> {
        match items {
            [] => None,
            [one] => Some((*one).clone()),
            many => {
                let mut out = Box::new([0f32; EMBEDDING_DIM]);
                for item in many {
                    let norm = item.norm();
                    if !norm.is_finite() || norm == 0.0 {
                        return None;
                    }
                    for (o, v) in out.iter_mut().zip(item.values.iter()) {
                        *o += v / norm;
                    }
                }
                let count = many.len() as f32;
                out.iter_mut().for_each(|o| *o /= count);
                Some(Embedding { values: out })
            }
        }
    }
}

impl std::fmt::Debug for Embedding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Embedding(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_and_mean() {
        let mut a = [0f32; EMBEDDING_DIM];
        let mut b = [0f32; EMBEDDING_DIM];
        a[0] = 3.0;
        b[1] = 4.0;
        let (a, b) = (Embedding::from_array(a), Embedding::from_array(b));
        assert!((a.distance(&b) - 5.0).abs() < 1e-6);
        let m = Embedding::mean(&a, &b);
        assert_eq!(m.values()[0], 1.5);
        assert_eq!(m.values()[1], 2.0);
        assert_eq!(format!("{a:?}"), "Embedding(<redacted>)");
    }

    #[test]
    fn fusion_averages_unit_vectors() {
        let mut a = [0f32; EMBEDDING_DIM];
        let mut b = [0f32; EMBEDDING_DIM];
        a[0] = 10.0;
        b[1] = 0.5;
        let (a, b) = (Embedding::from_array(a), Embedding::from_array(b));
        let fused = Embedding::fuse(&[&a, &b]).unwrap();
        assert!((fused.values()[0] - 0.5).abs() < 1e-6);
        assert!((fused.values()[1] - 0.5).abs() < 1e-6);
        assert_eq!(Embedding::fuse(&[&a]).unwrap().values(), a.values());
        assert!(Embedding::fuse(&[]).is_none());
        let zero = Embedding::from_array([0f32; EMBEDDING_DIM]);
        assert!(Embedding::fuse(&[&a, &zero]).is_none());
    }

    #[test]
    fn from_slice_checks_length() {
        assert!(Embedding::from_slice(&[0.0; 127]).is_none());
        assert!(Embedding::from_slice(&[0.0; 128]).is_some());
    }
}
