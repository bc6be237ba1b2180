//! `detect`, `liveness` and `compare`: looking at individual pictures.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use faceseal_core::{FaceAnalyzer, MatchDecision, ModelKind, PipelineError, RgbFrame};
use faceseal_vision::align::align;
use faceseal_vision::detect::{DetectedFace, FaceDetector, largest_face};
use faceseal_vision::liveness::LivenessDecision;
use faceseal_vision::quality::{QualityMeasure, QualityReport, assess};
use serde::Serialize;

use crate::GlobalArgs;
use crate::context::{CliResult, analyzer, config, load_image, locator, message};
use crate::exit::Exit;
use crate::output::emit;

#[derive(Serialize)]
struct FaceReport {
    #[serde(flatten)]
    face: DetectedFace,
    #[serde(skip_serializing_if = "Option::is_none")]
    quality: Option<QualityReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    liveness: Option<LivenessDecision>,
}

#[derive(Serialize)]
struct ImageReport {
    path: PathBuf,
    width: u32,
    height: u32,
    faces: Vec<FaceReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct ImagesReport {
    images: Vec<ImageReport>,
}

/// Runs `detect` on every picture and `per_face` on each face found; a
/// picture that cannot be read or analysed is reported, not fatal.
fn report_images(
    paths: &[PathBuf],
    detect: impl Fn(&RgbFrame) -> CliResult<Vec<DetectedFace>>,
    per_face: impl Fn(&RgbFrame, &DetectedFace) -> CliResult<FaceReport>,
) -> CliResult<ImagesReport> {
    let mut images = Vec::with_capacity(paths.len());
    for path in paths {
        let mut report = ImageReport {
            path: path.clone(),
            width: 0,
            height: 0,
            faces: Vec::new(),
            error: None,
        };
        let outcome = load_image(path).and_then(|frame| {
            report.width = frame.width();
            report.height = frame.height();
            let faces = detect(&frame)?;
            faces
                .iter()
                .map(|f| per_face(&frame, f))
                .collect::<CliResult<Vec<_>>>()
        });
        match outcome {
            Ok(faces) => report.faces = faces,
            Err(e) => report.error = Some(e.to_string()),
        }
        images.push(report);
    }
    Ok(ImagesReport { images })
}

fn measure_name(m: QualityMeasure) -> &'static str {
    match m {
        QualityMeasure::FaceSize => "face size",
        QualityMeasure::Sharpness => "sharpness",
        QualityMeasure::Yaw => "yaw",
        QualityMeasure::Pitch => "pitch",
        QualityMeasure::Brightness => "brightness",
    }
}

fn face_line(out: &mut String, i: usize, f: &DetectedFace) {
    let b = f.bbox;
    let _ = write!(
        out,
        "  face {i}: score {:.3}, box ({:.0}, {:.0})-({:.0}, {:.0})",
        f.score, b.x1, b.y1, b.x2, b.y2
    );
}

/// The exit code of a run over pictures: input errors (on stderr in text,
/// in the JSON report otherwise) make it 2.
fn outcome(args: &GlobalArgs, report: &ImagesReport) -> Exit {
    let mut failed = false;
    for img in &report.images {
        if let Some(e) = &img.error {
            failed = true;
            if !args.json {
                eprintln!("error: {e}");
            }
        }
    }
    if failed { Exit::Usage } else { Exit::Success }
}

/// Detection and quality need the detector alone (bundled): the liveness
/// and embedding models are not loaded.
pub fn detect(args: &GlobalArgs, paths: &[PathBuf]) -> CliResult<Exit> {
    let config = config(args);
    let detector = FaceDetector::new(&locator(args).read(ModelKind::Detector)?, config.detector)?;
    let report = report_images(
        paths,
        |frame| Ok(detector.detect(frame).map_err(PipelineError::from)?),
        |frame, face| {
            let chip = align(frame, &face.landmarks).ok_or(PipelineError::Unalignable)?;
            let size = (frame.width(), frame.height());
            Ok(FaceReport {
                face: *face,
                quality: Some(assess(face, &chip, size, &config.quality)),
                liveness: None,
            })
        },
    )?;
    emit(args, &report, |r| {
        let mut out = String::new();
        for img in &r.images {
            if img.error.is_some() {
                continue;
            }
            let _ = writeln!(
                out,
                "{} ({}x{}): {} face(s)",
                img.path.display(),
                img.width,
                img.height,
                img.faces.len()
            );
            for (i, f) in img.faces.iter().enumerate() {
                face_line(&mut out, i, &f.face);
                let lm = f.face.landmarks;
                let _ = write!(
                    out,
                    "\n    landmarks: eyes ({:.0}, {:.0}) ({:.0}, {:.0}), nose ({:.0}, {:.0}), mouth ({:.0}, {:.0}) ({:.0}, {:.0})",
                    lm.left_eye.x,
                    lm.left_eye.y,
                    lm.right_eye.x,
                    lm.right_eye.y,
                    lm.nose.x,
                    lm.nose.y,
                    lm.left_mouth.x,
                    lm.left_mouth.y,
                    lm.right_mouth.x,
                    lm.right_mouth.y
                );
                if let Some(q) = &f.quality {
                    let _ = write!(
                        out,
                        "\n    measures: size {:.0}px, sharpness {:.0}, brightness {:.0}, yaw {:.0}°, pitch {:.0}°, roll {:.0}°",
                        q.face_size,
                        q.sharpness,
                        q.brightness,
                        q.pose.yaw,
                        q.pose.pitch,
                        q.pose.roll
                    );
                    let _ = write!(
                        out,
                        "\n    quality score {:.2} of 1 (its weakest margin: {}; {})",
                        q.score,
                        measure_name(q.limited_by),
                        q.limited_by.advice()
                    );
                    if q.issues.is_empty() {
                        out.push_str("\n    ok: no quality issue, good enough to enrol or verify");
                    }
                    for issue in &q.issues {
                        let _ = write!(out, "\n    ! {}", issue.advice());
                    }
                }
                out.push('\n');
            }
        }
        out
    })?;
    Ok(outcome(args, &report))
}

pub fn liveness(args: &GlobalArgs, paths: &[PathBuf]) -> CliResult<Exit> {
    let a = analyzer(args)?;
    let report = report_images(
        paths,
        |frame| Ok(a.detect(frame)?),
        |frame, face| {
            Ok(FaceReport {
                face: *face,
                quality: None,
                liveness: Some(a.liveness(frame, face)?),
            })
        },
    )?;
    emit(args, &report, |r| {
        let mut out = String::new();
        for img in &r.images {
            if img.error.is_some() {
                continue;
            }
            let _ = writeln!(out, "{}: {} face(s)", img.path.display(), img.faces.len());
            for (i, f) in img.faces.iter().enumerate() {
                face_line(&mut out, i, &f.face);
                if let Some(l) = &f.liveness {
                    let _ = write!(
                        out,
                        "\n    live probability {:.3} (threshold {:.2}): {}",
                        l.score,
                        l.threshold,
                        if l.live { "LIVE" } else { "SPOOF SUSPECTED" }
                    );
                }
                out.push('\n');
            }
        }
        out
    })?;
    Ok(outcome(args, &report))
}

#[derive(Serialize)]
struct Side {
    path: PathBuf,
    face: DetectedFace,
    liveness: LivenessDecision,
}

#[derive(Serialize)]
struct CompareReport {
    a: Side,
    b: Side,
    #[serde(rename = "match")]
    decision: MatchDecision,
    /// Same person and both faces live: what an application may act on.
    accepted: bool,
}

/// The largest face of a picture.
fn main_face(analyzer: &FaceAnalyzer, frame: &RgbFrame, path: &Path) -> CliResult<DetectedFace> {
    largest_face(&analyzer.detect(frame)?)
        .copied()
        .ok_or_else(|| message(format!("{}: no face found", path.display())))
}

pub fn compare(args: &GlobalArgs, a: &Path, b: &Path) -> CliResult<()> {
    let analyzer = analyzer(args)?;
    let mut sides = Vec::new();
    let mut embeddings = Vec::new();
    for path in [a, b] {
        let frame = load_image(path)?;
        let face = main_face(&analyzer, &frame, path)?;
        let liveness = analyzer.liveness(&frame, &face)?;
        embeddings.push(analyzer.embed(&frame, &face)?);
        sides.push(Side {
            path: path.to_path_buf(),
            face,
            liveness,
        });
    }
    let decision = analyzer.compare(&embeddings[0], &embeddings[1]);
    let b = sides.pop().expect("two sides");
    let a = sides.pop().expect("two sides");
    let accepted = decision.same_person && a.liveness.live && b.liveness.live;
    let report = CompareReport {
        a,
        b,
        decision,
        accepted,
    };
    emit(args, &report, |r| {
        let side = |s: &Side| {
            format!(
                "{}: live probability {:.3} ({})\n",
                s.path.display(),
                s.liveness.score,
                if s.liveness.live {
                    "live"
                } else {
                    "spoof suspected"
                }
            )
        };
        format!(
            "{}{}distance {:.4} (threshold {:.2}): {}\ndecision: {}\n",
            side(&r.a),
            side(&r.b),
            r.decision.distance,
            r.decision.threshold,
            if r.decision.same_person {
                "same person"
            } else {
                "different people"
            },
            if r.accepted { "ACCEPT" } else { "REJECT" }
        )
    })
}
