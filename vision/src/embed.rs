//! Recognition: the dlib ResNet descriptor of an aligned face chip.

use crate::align::{AlignedFace, CHIP_SIZE};
use crate::inference::{InferenceError, OnnxNetwork, output_f32};
use crate::models::{ModelError, ModelKind};
use faceseal_protect::embedding::{EMBEDDING_DIM, Embedding};

const SHAPE: [usize; 4] = [1, 3, CHIP_SIZE as usize, CHIP_SIZE as usize];

/// The embedding network, loaded once.
pub struct FaceEmbedder {
    network: OnnxNetwork,
}

impl FaceEmbedder {
    pub fn new(model_bytes: &[u8]) -> Result<Self, ModelError> {
        crate::models::verify_hash(ModelKind::Embedder, model_bytes)?;
        Ok(Self {
            network: OnnxNetwork::parse(ModelKind::Embedder, model_bytes)?,
        })
    }

    pub fn warm_up(&self) -> Result<(), ModelError> {
        self.network.plan(SHAPE).map(|_| ())
    }

    /// The descriptor of one chip.
    pub fn embed(&self, chip: &AlignedFace) -> Result<Embedding, InferenceError> {
        let tensor = to_rgb_tensor(chip.as_rgb());
        self.run_tensor(&tensor)
    }

    /// The mean descriptor of the chip and its mirror image. Averaging the two
    /// views cancels part of the noise of one view (test-time augmentation);
    /// it costs a second network run.
    pub fn embed_with_mirror(&self, chip: &AlignedFace) -> Result<Embedding, InferenceError> {
        let direct = self.embed(chip)?;
        let mirrored = self.embed(&chip.mirrored())?;
        Ok(Embedding::mean(&direct, &mirrored))
    }

    /// Runs the network on a prepared `[1, 3, 150, 150]` RGB tensor.
    pub fn run_tensor(&self, tensor: &[f32]) -> Result<Embedding, InferenceError> {
        let out = self.network.run(SHAPE, tensor)?;
        // The copy is wiped when dropped, the network's input and output
        // tensors by `run`: only the Embedding survives.
        let values =
            zeroize::Zeroizing::new(output_f32(&out, 0, EMBEDDING_DIM, self.network.file())?);
        Ok(Embedding::from_slice(&values).expect("length checked above"))
    }
}

/// The network input: RGB 0..255 floats, NCHW; the graph normalises itself.
pub fn to_rgb_tensor(rgb: &[u8]) -> zeroize::Zeroizing<Vec<f32>> {
    let plane = (CHIP_SIZE * CHIP_SIZE) as usize;
    let mut out = zeroize::Zeroizing::new(vec![0f32; 3 * plane]);
    for (i, px) in rgb.chunks_exact(3).enumerate() {
        out[i] = px[0] as f32;
        out[plane + i] = px[1] as f32;
        out[2 * plane + i] = px[2] as f32;
    }
    out
}
