//! Boxes and landmarks in image pixel coordinates.
//!
//! Coordinates are continuous: pixel (i, j) covers `[i, i+1) x [j, j+1)`, so
//! its centre is at `(i + 0.5, j + 0.5)`.

use serde::{Deserialize, Serialize};

/// A point in image coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub const fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }

    pub fn distance(self, other: Point) -> f32 {
        ((self.x - other.x).powi(2) + (self.y - other.y).powi(2)).sqrt()
    }

    pub fn midpoint(self, other: Point) -> Point {
        Point::new(0.5 * (self.x + other.x), 0.5 * (self.y + other.y))
    }
}

/// An axis-aligned box, `(x1, y1)` top left and `(x2, y2)` bottom right.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct BoundingBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl BoundingBox {
    pub const fn new(x1: f32, y1: f32, x2: f32, y2: f32) -> Self {
        Self { x1, y1, x2, y2 }
    }

    pub fn width(&self) -> f32 {
        (self.x2 - self.x1).max(0.0)
    }

    pub fn height(&self) -> f32 {
        (self.y2 - self.y1).max(0.0)
    }

    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }

    pub fn centre(&self) -> Point {
        Point::new(0.5 * (self.x1 + self.x2), 0.5 * (self.y1 + self.y2))
    }

    /// Intersection over union; 0 for boxes that do not touch or have no area.
    pub fn iou(&self, other: &BoundingBox) -> f32 {
        let iw = (self.x2.min(other.x2) - self.x1.max(other.x1)).max(0.0);
        let ih = (self.y2.min(other.y2) - self.y1.max(other.y1)).max(0.0);
        let inter = iw * ih;
        let union = self.area() + other.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }

    pub fn contains(&self, p: Point) -> bool {
        p.x >= self.x1 && p.x <= self.x2 && p.y >= self.y1 && p.y <= self.y2
    }
}

/// The five facial landmarks RetinaFace predicts, as seen in the image
/// ("left" is the image's left, which is the person's right).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Landmarks {
    pub left_eye: Point,
    pub right_eye: Point,
    pub nose: Point,
    pub left_mouth: Point,
    pub right_mouth: Point,
}

impl Landmarks {
    pub fn from_array(p: [Point; 5]) -> Self {
        Self {
            left_eye: p[0],
            right_eye: p[1],
            nose: p[2],
            left_mouth: p[3],
            right_mouth: p[4],
        }
    }

    /// In the model's order: left eye, right eye, nose, left mouth, right mouth.
    pub fn to_array(&self) -> [Point; 5] {
        [
            self.left_eye,
            self.right_eye,
            self.nose,
            self.left_mouth,
            self.right_mouth,
        ]
    }

    pub fn eye_distance(&self) -> f32 {
        self.left_eye.distance(self.right_eye)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_known_boxes() {
        let a = BoundingBox::new(0.0, 0.0, 2.0, 2.0);
        let b = BoundingBox::new(1.0, 0.0, 3.0, 2.0);
        assert!((a.iou(&b) - 2.0 / 6.0).abs() < 1e-6);
        assert_eq!(a.iou(&BoundingBox::new(5.0, 5.0, 6.0, 6.0)), 0.0);
        assert_eq!(a.iou(&a), 1.0);
        let empty = BoundingBox::new(1.0, 1.0, 1.0, 1.0);
        assert_eq!(empty.iou(&empty), 0.0);
    }
}
