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
    fn from_slice_checks_length() {
        assert!(Embedding::from_slice(&[0.0; 127]).is_none());
        assert!(Embedding::from_slice(&[0.0; 128]).is_some());
    }
}
