//! Head pose from the mesh's 3-D points, for the head-turn challenge.
//!
//! As `@vladmandic/human` (`src/face/angles.ts`) does, the face's axes come
//! from four points of the MediaPipe topology: forehead top to chin gives
//! "down", the cheeks give "right", their cross product the face normal. The
//! angles are read off that frame in camera axes (x right, y down, z away
//! from the camera, as the mesh's coordinates are).

use serde::Serialize;

use super::planarity::MeshPoint;

/// MediaPipe face-mesh indices used for the pose.
pub(crate) const FOREHEAD_TOP: usize = 10;
pub(crate) const CHIN: usize = 152;
/// The subject's right cheek (the picture's left for a frontal face).
pub(crate) const RIGHT_CHEEK: usize = 234;
pub(crate) const LEFT_CHEEK: usize = 454;

/// Head orientation in degrees; 0, 0, 0 faces the camera upright.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HeadPose {
    /// Positive when the face turns toward the picture's right.
    pub yaw: f32,
    /// Positive when the face tilts up.
    pub pitch: f32,
    /// Positive when the face leans clockwise in the picture.
    pub roll: f32,
}

type V = [f64; 3];

fn sub(a: V, b: V) -> V {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn cross(a: V, b: V) -> V {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn unit(v: V) -> Option<V> {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    (n > 1e-9).then(|| [v[0] / n, v[1] / n, v[2] / n])
}

/// The pose of a 468-point mesh (picture pixels, depth in the same scale);
/// `None` when the mesh is too short or degenerate.
pub fn head_pose(mesh: &[MeshPoint]) -> Option<HeadPose> {
    let p = |i: usize| mesh.get(i).map(|q| q.map(f64::from));
    let down = unit(sub(p(CHIN)?, p(FOREHEAD_TOP)?))?;
    let right = unit(sub(p(LEFT_CHEEK)?, p(RIGHT_CHEEK)?))?;
    // The face normal, pointing away from the camera for a frontal face.
    let back = unit(cross(right, down))?;
    // "Right" made exactly perpendicular to the other two.
    let right = cross(down, back);
    let facing = back.map(|v| -v);
    let yaw = facing[0].atan2(-facing[2]);
    let pitch = (-facing[1]).atan2((facing[0] * facing[0] + facing[2] * facing[2]).sqrt());
    let roll = right[1].atan2(right[0]);
    Some(HeadPose {
        yaw: yaw.to_degrees() as f32,
        pitch: pitch.to_degrees() as f32,
        roll: roll.to_degrees() as f32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mesh holding only the four pose points of a frontal face of unit
    /// size, rotated by `yaw` about the vertical, then `pitch`, then `roll`.
    fn mesh(yaw: f64, pitch: f64, roll: f64) -> Vec<MeshPoint> {
        let mut pts = vec![[0.0f32; 3]; 468];
        let base: [(usize, V); 4] = [
            (FOREHEAD_TOP, [0.0, -1.0, 0.2]),
            (CHIN, [0.0, 1.0, 0.2]),
            (RIGHT_CHEEK, [-0.8, 0.0, 0.4]),
            (LEFT_CHEEK, [0.8, 0.0, 0.4]),
        ];
        for (i, v) in base {
            // Yaw: the facing direction (0, 0, -1) turns toward +x.
            let (s, c) = yaw.to_radians().sin_cos();
            let v = [c * v[0] - s * v[2], v[1], s * v[0] + c * v[2]];
            // Pitch: facing turns toward -y (up).
            let (s, c) = pitch.to_radians().sin_cos();
            let v = [v[0], c * v[1] + s * v[2], -s * v[1] + c * v[2]];
            // Roll: clockwise in the picture (y down).
            let (s, c) = roll.to_radians().sin_cos();
            let v = [c * v[0] - s * v[1], s * v[0] + c * v[1], v[2]];
            pts[i] = [
                (300.0 + 100.0 * v[0]) as f32,
                (200.0 + 100.0 * v[1]) as f32,
                (100.0 * v[2]) as f32,
            ];
        }
        pts
    }

    #[test]
    fn frontal_face_has_no_rotation() {
        let pose = head_pose(&mesh(0.0, 0.0, 0.0)).unwrap();
        assert!(pose.yaw.abs() < 1e-3 && pose.pitch.abs() < 1e-3 && pose.roll.abs() < 1e-3);
    }

    #[test]
    fn each_angle_is_recovered_with_its_sign() {
        for (yaw, pitch, roll) in [(20.0, 0.0, 0.0), (0.0, -15.0, 0.0), (0.0, 0.0, 10.0)] {
            let pose = head_pose(&mesh(yaw, pitch, roll)).unwrap();
            assert!(
                (pose.yaw as f64 - yaw).abs() < 0.01,
                "{pose:?} for yaw {yaw}"
            );
            assert!(
                (pose.pitch as f64 - pitch).abs() < 0.01,
                "{pose:?} for pitch {pitch}"
            );
            assert!(
                (pose.roll as f64 - roll).abs() < 0.01,
                "{pose:?} for roll {roll}"
            );
        }
    }

    #[test]
    fn short_or_collapsed_meshes_have_no_pose() {
        assert!(head_pose(&[[0.0; 3]; 10]).is_none());
        assert!(head_pose(&vec![[1.0; 3]; 468]).is_none());
    }
}
