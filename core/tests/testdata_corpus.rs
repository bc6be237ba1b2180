//! The `testdata/` corpus: every file is read through the public API it is
//! meant for (envelopes through `seal::parse` and `seal::open`, templates
//! through `ProtectedTemplate::from_bytes`, pictures and raw camera buffers
//! through the input gate)
//! and must give the outcome `testdata/manifest.json` states. The committed
//! files must be what the generator (`corpus/mod.rs`) makes, and the
//! independent Python reader (`tests/python/check_testdata.py`) must reach
//! the same outcomes.
//!
//! `FACESEAL_BLESS=1 cargo test --workspace --test testdata_corpus`
//! rewrites the corpus. The Python check needs `python3` with `cryptography` and `Pillow`.

mod corpus;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use faceseal_core::seal::{self, SealError, TenantSecretKey};
use faceseal_core::template::{ProtectedTemplate, TemplateError};
use faceseal_vision::input::{InputError, InputLimits, decode_image};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

fn manifest_text(vectors: &[corpus::Vector]) -> String {
    serde_json::to_string_pretty(&corpus::manifest(vectors)).unwrap() + "\n"
}

fn seal_kind(e: &SealError) -> &'static str {
    match e {
        SealError::Truncated => "truncated",
        SealError::TooLarge { .. } => "too_large",
        SealError::BadMagic => "bad_magic",
        SealError::UnsupportedVersion(_) => "unsupported_version",
        SealError::UnsupportedSuite(_) => "unsupported_suite",
        SealError::Malformed(_) => "malformed",
        SealError::KeyIdMismatch => "key_id_mismatch",
        SealError::DecryptionFailed => "decryption_failed",
        SealError::InvalidPayload(_) => "invalid_payload",
        _ => "other",
    }
}

fn template_kind(e: &TemplateError) -> &'static str {
    match e {
        TemplateError::Truncated => "truncated",
        TemplateError::BadMagic => "bad_magic",
        TemplateError::UnsupportedVersion(_) => "unsupported_version",
        TemplateError::UnsupportedScheme(_) => "unsupported_scheme",
        TemplateError::InvalidParameters => "invalid_parameters",
        TemplateError::InconsistentLength { .. } => "inconsistent_length",
        TemplateError::IndexOutOfRange => "index_out_of_range",
        _ => "other",
    }
}

fn input_kind(e: &InputError) -> &'static str {
    match e {
        InputError::Empty => "empty",
        InputError::Truncated => "truncated",
        InputError::UnsupportedFormat => "unsupported_format",
        InputError::TooManyBytes { .. } => "too_many_bytes",
        InputError::TooLarge { .. } => "too_large",
        InputError::TooSmall { .. } => "too_small",
        InputError::InvalidDimensions => "invalid_dimensions",
        InputError::Corrupt { .. } => "corrupt",
        InputError::BufferLength { .. } => "buffer_length",
        InputError::InvalidStride { .. } => "invalid_stride",
        _ => "other",
    }
}

fn key(manifest: &Value, name: &str) -> TenantSecretKey {
    let file = manifest["keys"][name]["file"].as_str().expect("key file");
    let bytes = std::fs::read(root().join(file)).expect("key reads");
    let mut raw: [u8; 32] = bytes.try_into().expect("a 32-byte key");
    TenantSecretKey::from_bytes(&mut raw)
}

/// The outcome of reading one vector: "ok" (after checking what it gave
/// against the entry) or the kind of error.
fn outcome(manifest: &Value, entry: &Value, bytes: &[u8]) -> String {
    let file = entry["file"].as_str().unwrap();
    match entry["type"].as_str().unwrap() {
        "envelope" => {
            let key = key(manifest, entry["key"].as_str().expect("envelope key"));
            let parsed = seal::parse(bytes);
            match seal::open(bytes, &key) {
                Ok((context, template)) => {
                    let header = parsed.expect("an envelope that opens parses");
                    assert_eq!(header.context, context, "{file}: clear and opened context");
                    assert_eq!(hex::encode(template.to_bytes()), entry["payload"], "{file}");
                    assert_eq!(context.tenant_id, entry["tenant_id"].as_str().unwrap());
                    assert_eq!(context.subject_id, entry["subject_id"].as_str().unwrap());
                    let purpose = format!("{:?}", context.purpose).to_lowercase();
                    assert_eq!(purpose, entry["purpose"].as_str().unwrap(), "{file}");
                    "ok".into()
                }
                Err(e) => {
                    // Whatever fails to parse must fail to open the same way.
                    if let Err(p) = parsed {
                        assert_eq!(p, e, "{file}: parse and open disagree");
                    }
                    seal_kind(&e).into()
                }
            }
        }
        "template" => match ProtectedTemplate::from_bytes(bytes) {
            Ok(t) => {
                assert_eq!(
                    t.params().hashes(),
                    entry["hashes"].as_u64().unwrap() as u16
                );
                assert_eq!(
                    t.params().window(),
                    entry["window"].as_u64().unwrap() as u16
                );
                assert_eq!(
                    u64::from(t.key_version()),
                    entry["key_version"].as_u64().unwrap()
                );
                assert_eq!(t.to_bytes().as_slice(), bytes, "{file}: re-encodes");
                "ok".into()
            }
            Err(e) => template_kind(&e).into(),
        },
        "picture" => match decode_image(bytes, &InputLimits::default()) {
            Ok(frame) => {
                assert_eq!(
                    u64::from(frame.width()),
                    entry["width"].as_u64().unwrap(),
                    "{file}"
                );
                assert_eq!(
                    u64::from(frame.height()),
                    entry["height"].as_u64().unwrap(),
                    "{file}"
                );
                "ok".into()
            }
            Err(e) => input_kind(&e).into(),
        },
        "raw" => match corpus::read_raw(bytes) {
            Ok(rgb) => {
                let (w, h) = (
                    entry["width"].as_u64().unwrap(),
                    entry["height"].as_u64().unwrap(),
                );
                assert_eq!(rgb.len() as u64, w * h * 3, "{file}: frame size");
                assert_eq!(
                    hex::encode(Sha256::digest(&rgb)),
                    entry["rgb_sha256"].as_str().unwrap(),
                    "{file}: the decoded pixels"
                );
                "ok".into()
            }
            Err(e) => input_kind(&e).into(),
        },
        other => panic!("{file}: unknown vector type {other}"),
    }
}

fn files_under(dir: &Path, base: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("testdata reads") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, base, out);
        } else {
            let rel = path
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(rel);
        }
    }
}

#[test]
fn every_vector_gives_its_stated_outcome() {
    let vectors = corpus::corpus();
    let dir = root();
    if std::env::var_os("FACESEAL_BLESS").is_some_and(|v| v == "1") {
        for folder in ["envelope", "template", "picture", "raw", "keys"] {
            let _ = std::fs::remove_dir_all(dir.join(folder));
        }
        for v in &vectors {
            let path = dir.join(&v.file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, &v.bytes).unwrap();
        }
        std::fs::write(dir.join("manifest.json"), manifest_text(&vectors)).unwrap();
    }

    // The committed corpus is exactly what the generator makes.
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("testdata/manifest.json");
    assert_eq!(
        text,
        manifest_text(&vectors),
        "testdata/manifest.json is not what the generator makes (FACESEAL_BLESS=1 regenerates it)"
    );
    let mut on_disk = BTreeSet::new();
    files_under(&dir, &dir, &mut on_disk);
    let mut expected: BTreeSet<String> = vectors.iter().map(|v| v.file.clone()).collect();
    expected.insert("manifest.json".into());
    expected.insert("README.md".into());
    assert_eq!(
        on_disk, expected,
        "files in testdata/ against the generator's list"
    );
    for v in &vectors {
        let bytes = std::fs::read(dir.join(&v.file)).unwrap();
        assert!(bytes == v.bytes, "{}: not what the generator makes", v.file);
    }

    // Every file, read back from disk, gives the outcome the manifest states.
    let manifest: Value = serde_json::from_str(&text).unwrap();
    let mut failures = Vec::new();
    let mut counted = 0;
    for entry in manifest["vectors"].as_array().unwrap() {
        let file = entry["file"].as_str().unwrap();
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let got = outcome(&manifest, entry, &bytes);
        let want = entry["expect"].as_str().unwrap();
        if got != want {
            failures.push(format!("{file}: expected {want}, got {got}"));
        }
        counted += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let fails = manifest["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["expect"] != "ok")
        .count();
    assert!(
        counted > 30 && fails > 20,
        "{counted} vectors, {fails} failing ones"
    );
}

#[test]
fn python_reader_gives_the_same_outcomes() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/check_testdata.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(root())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}): the corpus check needs python3 with 'cryptography' and 'Pillow'")
        });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    match out.status.code() {
        Some(0) => eprintln!("{stdout}"),
        Some(3) => {
            panic!(
                "python3 lacks a package the corpus check needs (pip install cryptography pillow): {stderr}"
            )
        }
        other => panic!("check_testdata.py ({other:?}):\n{stdout}\n{stderr}"),
    }
}
