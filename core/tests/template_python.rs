//! Cross-checks the template transform against an independent implementation:
//! `tests/python/iom_template.py`, written from `docs/template.md`, must compute
//! byte for byte the template the Rust code makes.
//!
//! Needs `python3` with `cryptography`; fails, never skips, without them.

use std::path::Path;
use std::process::Command;

use faceseal_core::Embedding;
use faceseal_core::template::{IomParams, TemplateKey, TemplateSecret};

fn python_template(request: &serde_json::Value, name: u32) -> String {
    let dir = std::env::temp_dir();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let path = dir.join(format!(
        "faceseal-iom-{}-{nanos}-{name}.json",
        std::process::id()
    ));
    std::fs::write(&path, request.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/python/iom_template.py");
    let output = Command::new("python3").arg(&script).arg(&path).output();
    let _ = std::fs::remove_file(&path);
    let output = output.unwrap_or_else(|e| {
        panic!("cannot run python3 ({e}): the template cross-check needs python3 with the 'cryptography' package")
    });
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => String::from_utf8(output.stdout).unwrap().trim().to_owned(),
        Some(3) => {
            panic!("python3 lacks the 'cryptography' package (pip install cryptography): {stderr}")
        }
        other => panic!("iom_template.py failed ({other:?}): {stderr}"),
    }
}

fn check(secret: &[u8], subject: &str, version: u32, params: IomParams, values: [f32; 128]) {
    let request = serde_json::json!({
        "secret": hex::encode(secret),
        "subject_id": subject,
        "key_version": version,
        "m": params.hashes(),
        "q": params.window(),
        "embedding_f32_bits": values.iter().map(|v| hex::encode(v.to_be_bytes())).collect::<Vec<_>>(),
    });
    let expected = python_template(&request, version);
    let key = TemplateKey::derive(
        &TemplateSecret::from_bytes(secret).unwrap(),
        subject,
        version,
        params,
    )
    .unwrap();
    let template = key.protect(Embedding::from_array(values)).unwrap();
    assert_eq!(hex::encode(template.to_bytes().as_slice()), expected);
}

#[test]
fn python_reproduces_the_template() {
    let mut a = [0f32; 128];
    a.iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = ((i as f32) * 0.731).sin() * 0.07 - 0.01);
    check(&[0x5a; 32], "subject-0001", 1, IomParams::DEFAULT, a);

    let mut b = [0f32; 128];
    b.iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = ((i * i) % 17) as f32 * 0.013 - 0.1);
    let secret: Vec<u8> = (0u8..48).collect();
    check(
        &secret,
        "tenant-é/subject",
        7,
        IomParams::new(96, 32).unwrap(),
        b,
    );
}
