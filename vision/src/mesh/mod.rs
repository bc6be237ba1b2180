//! Dense face mesh: MediaPipe's 468 landmarks with depth, for geometry the
//! detector's five points cannot give.
//!
//! The network ([`FaceMesh`]) runs on a square crop around the detector's
//! box ([`crop`]) and returns points in picture pixels. The geometry is
//! model-free: [`planarity`] tests whether the landmarks of two frames move
//! as one plane (a print) or not (a head), and [`pose`] reads yaw, pitch and
//! roll off the mesh for the head-turn challenge.

pub mod crop;
mod linalg;
pub mod planarity;
pub mod pose;

pub use crop::{MESH_CROP_SCALE, MESH_INPUT_SIZE, MeshCrop, crop_tensor};
pub use planarity::{
    MeshPoint, PlanarityEvidence, PlanarityLimits, PlanarityPair, PlanarityVerdict,
    burst_planarity, planarity,
};
pub use pose::{HeadPose, head_pose};

use serde::Serialize;

use crate::detect::DetectedFace;
use crate::frame::RgbFrame;
use crate::inference::{InferenceError, OnnxNetwork, output_f32};
use crate::models::{ModelError, ModelKind, ModelLocator};

/// Landmarks in MediaPipe's face-mesh topology.
pub const MESH_POINTS: usize = 468;

const SHAPE: [usize; 4] = [1, 3, MESH_INPUT_SIZE as usize, MESH_INPUT_SIZE as usize];
/// The graph's outputs, in order: `mesh` [1, 1404], `face_flag` [1, 1].
const MESH_OUTPUT: usize = 0;
const FLAG_OUTPUT: usize = 1;

/// Why the mesh of a face could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MeshError {
    #[error("the face box is empty or too large to crop for the mesh")]
    NoUsableCrop,
    #[error(transparent)]
    Inference(#[from] InferenceError),
}

/// The mesh of one face.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeshLandmarks {
    /// 468 points: `x`, `y` in picture pixels, `z` depth relative to the
    /// face's centre in the same pixel scale (negative is nearer the camera).
    pub points: Vec<MeshPoint>,
    /// The model's face-presence probability for the crop, 0..1.
    pub face_score: f32,
    /// The crop the model saw.
    pub crop: MeshCrop,
}

/// The raw outputs on one input tensor, in the 192x192 crop's pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct RawMesh {
    pub points: Vec<MeshPoint>,
    pub face_score: f32,
}

/// The face-mesh network, loaded once.
pub struct FaceMesh {
    network: OnnxNetwork,
}

impl FaceMesh {
    /// Reads and hash-checks `facemesh.onnx` (bundled in `models/`).
    pub fn load(models: &ModelLocator) -> Result<Self, ModelError> {
        Self::new(&models.read(ModelKind::FaceMesh)?)
    }

    /// Parses the (hash-checked) model bytes.
    pub fn new(model_bytes: &[u8]) -> Result<Self, ModelError> {
        crate::models::verify_hash(ModelKind::FaceMesh, model_bytes)?;
        Ok(Self {
            network: OnnxNetwork::parse(ModelKind::FaceMesh, model_bytes)?,
        })
    }

    /// Builds the plan ahead of the first face.
    pub fn warm_up(&self) -> Result<(), ModelError> {
        self.network.plan(SHAPE).map(|_| ())
    }

    /// The 468 landmarks of a detected face, in picture coordinates.
    pub fn landmarks(
        &self,
        frame: &RgbFrame,
        face: &DetectedFace,
    ) -> Result<MeshLandmarks, MeshError> {
        let crop = MeshCrop::around(&face.bbox).ok_or(MeshError::NoUsableCrop)?;
        let raw = self.run_tensor(&crop_tensor(frame, &crop))?;
        Ok(MeshLandmarks {
            points: raw.points.iter().map(|&p| crop.to_picture(p)).collect(),
            face_score: raw.face_score,
            crop,
        })
    }

    /// Runs the network on a prepared `[1, 3, 192, 192]` tensor (RGB in
    /// [0, 1]); exposed for golden tests against a reference runtime.
    pub fn run_tensor(&self, tensor: &[f32]) -> Result<RawMesh, InferenceError> {
        let out = self.network.run(SHAPE, tensor)?;
        let file = self.network.file();
        let flat = output_f32(&out, MESH_OUTPUT, 3 * MESH_POINTS, file)?;
        let face_score = output_f32(&out, FLAG_OUTPUT, 1, file)?[0];
        Ok(RawMesh {
            points: flat.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect(),
            face_score,
        })
    }
}
