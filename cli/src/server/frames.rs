//! The burst to push: a directory of frames or several files, in capture
//! order, with capture times from the frame rate.

use std::path::{Path, PathBuf};

use crate::exit::Failure;

/// Picture files a directory's listing keeps.
const EXTENSIONS: [&str; 3] = ["jpg", "jpeg", "png"];

/// One frame to push: its file and its capture time.
#[derive(Debug, Clone)]
pub struct Frame {
    pub path: PathBuf,
    pub timestamp_ms: u64,
}

/// The frames of `inputs` (one directory, or files in the order given),
/// timed at `fps` from 0 ms.
pub fn burst(inputs: &[PathBuf], fps: u32) -> Result<Vec<Frame>, Failure> {
    if fps == 0 {
        return Err(Failure::usage("invalid_fps", "--fps must be at least 1"));
    }
    let paths = match inputs {
        [dir] if dir.is_dir() => list(dir)?,
        _ => {
            for p in inputs {
                if !p.is_file() {
                    return Err(Failure::usage(
                        "missing_frames",
                        format!("{}: no such frame file or directory", p.display()),
                    ));
                }
            }
            inputs.to_vec()
        }
    };
    if paths.is_empty() {
        return Err(Failure::usage("missing_frames", "no frames given"));
    }
    Ok(paths
        .into_iter()
        .enumerate()
        .map(|(i, path)| Frame {
            path,
            timestamp_ms: i as u64 * 1000 / u64::from(fps),
        })
        .collect())
}

/// A directory's pictures sorted by the number in their names (frame 10
/// after frame 9, which a plain name sort gets wrong), then by name.
fn list(dir: &Path) -> Result<Vec<PathBuf>, Failure> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Failure::usage("missing_frames", format!("{}: {e}", dir.display())))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    paths.sort_by_cached_key(|p| {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        (frame_number(p), name)
    });
    if paths.is_empty() {
        return Err(Failure::usage(
            "missing_frames",
            format!("{}: no .jpg, .jpeg or .png frames", dir.display()),
        ));
    }
    Ok(paths)
}

/// The last run of digits in the file's stem: `0003_01_00_01_12.jpg` is 12.
fn frame_number(path: &Path) -> Option<u64> {
    let stem = path.file_stem()?.to_str()?;
    let end = stem.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start = stem[..end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    stem[start..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_sort_by_their_number_and_time_from_the_rate() {
        let dir = tempfile::tempdir().unwrap();
        for n in [10, 2, 1] {
            std::fs::write(dir.path().join(format!("a_01_{n}.jpg")), b"x").unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        let frames = burst(&[dir.path().to_owned()], 20).unwrap();
        let names: Vec<_> = frames
            .iter()
            .map(|f| f.path.file_name().unwrap().to_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["a_01_1.jpg", "a_01_2.jpg", "a_01_10.jpg"]);
        let times: Vec<_> = frames.iter().map(|f| f.timestamp_ms).collect();
        assert_eq!(times, [0, 50, 100]);
    }

    #[test]
    fn a_missing_directory_and_a_zero_rate_are_usage_errors() {
        let err = burst(&["/nonexistent/frames".into()], 20).unwrap_err();
        assert_eq!(err.code, "missing_frames");
        let err = burst(&["x".into()], 0).unwrap_err();
        assert_eq!(err.code, "invalid_fps");
    }
}
