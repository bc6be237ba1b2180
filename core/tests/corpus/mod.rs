//! The generator of the `testdata/` corpus: every vector's bytes and its
//! expectation, made deterministically from labelled test keys and a seeded
//! RNG, so that the committed files can be regenerated and checked.
//!
//! The keys are test keys made for the corpus only (SHA-256 of a public
//! label): they protect nothing.

#![allow(dead_code)]

mod raw_header;
pub use raw_header::{raw_limits, split_raw};

use chacha20::ChaCha20Rng;
use faceseal_core::seal::{
    self, ChallengeNonce, Purpose, SealContext, SecurityLevel, TenantSecretKey,
};
use faceseal_vision::input::{InputError, decode_raw_rotated};
use image::{ExtendedColorType, ImageEncoder};
use rand_core::SeedableRng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// One file of the corpus and what reading it must give.
pub struct Vector {
    /// Path below `testdata/`.
    pub file: String,
    pub bytes: Vec<u8>,
    /// The manifest entry: `file`, `type`, `expect` and what `expect` needs.
    pub entry: Value,
}

/// The label the corpus tenant key is derived from.
pub const TENANT_KEY_LABEL: &str = "faceseal testdata: tenant key (test key, protects nothing)";
/// Another tenant's key, for envelopes sealed to the wrong key.
pub const OTHER_KEY_LABEL: &str =
    "faceseal testdata: other tenant key (test key, protects nothing)";

pub fn key_bytes(label: &str) -> [u8; 32] {
    Sha256::digest(label.as_bytes()).into()
}

pub fn tenant_key(label: &str) -> TenantSecretKey {
    TenantSecretKey::from_bytes(&mut key_bytes(label))
}

/// Every vector of the corpus, keys first.
pub fn corpus() -> Vec<Vector> {
    let mut out = vec![
        key_file("keys/tenant.key", TENANT_KEY_LABEL),
        key_file("keys/other.key", OTHER_KEY_LABEL),
    ];
    out.extend(templates());
    out.extend(envelopes());
    out.extend(pictures());
    out.extend(raw_frames());
    out
}

/// The manifest listing every vector with its expectation.
pub fn manifest(vectors: &[Vector]) -> Value {
    json!({
        "about": "Test vectors made by faceseal for faceseal: envelopes, protected templates, pictures and raw camera buffers, \
                  valid ones and fail_* ones, each with the outcome reading it must give. Regenerate with \
                  FACESEAL_BLESS=1 cargo test --workspace --test testdata_corpus. The keys in keys/ \
                  are test keys made for this corpus (SHA-256 of the labels below) and protect nothing.",
        "keys": {
            "tenant": {"file": "keys/tenant.key", "label": TENANT_KEY_LABEL},
            "other": {"file": "keys/other.key", "label": OTHER_KEY_LABEL},
        },
        "vectors": vectors.iter().filter(|v| v.entry["type"] != "key").map(|v| v.entry.clone()).collect::<Vec<_>>(),
    })
}

fn key_file(file: &str, label: &str) -> Vector {
    Vector {
        file: file.into(),
        bytes: key_bytes(label).to_vec(),
        entry: json!({"file": file, "type": "key"}),
    }
}

fn ok(file: &str, kind: &str, bytes: Vec<u8>, extra: Value, why: &str) -> Vector {
    let mut entry = json!({"file": file, "type": kind, "expect": "ok", "why": why});
    if let (Some(e), Value::Object(x)) = (entry.as_object_mut(), extra) {
        e.extend(x);
    }
    Vector {
        file: file.into(),
        bytes,
        entry,
    }
}

fn fail(file: &str, kind: &str, bytes: Vec<u8>, error: &str, why: &str) -> Vector {
    Vector {
        file: file.into(),
        bytes,
        entry: json!({"file": file, "type": kind, "expect": error, "why": why}),
    }
}

// -- protected templates --------------------------------------------------------

/// A template header: magic, version, scheme, m, q, key version.
fn template_bytes(
    version: u8,
    scheme: u8,
    m: u16,
    q: u16,
    key_version: u32,
    indices: &[u8],
) -> Vec<u8> {
    let mut b = b"FSTP".to_vec();
    b.push(version);
    b.push(scheme);
    b.extend_from_slice(&m.to_be_bytes());
    b.extend_from_slice(&q.to_be_bytes());
    b.extend_from_slice(&key_version.to_be_bytes());
    b.extend_from_slice(indices);
    b
}

/// The small valid template the envelopes carry: m = 8 hashes, window q = 16.
pub fn small_template() -> Vec<u8> {
    template_bytes(1, 1, 8, 16, 1, &[3, 1, 4, 1, 5, 9, 2, 6])
}

fn templates() -> Vec<Vector> {
    let t = "template";
    let small = small_template();
    let indices: Vec<u8> = (0..1024u32).map(|i| ((i * 7 + 3) % 8) as u8).collect();
    let default = template_bytes(1, 1, 1024, 8, 4, &indices);
    let with = |at: usize, value: u8| {
        let mut b = small.clone();
        b[at] = value;
        b
    };
    let mut longer = small.clone();
    longer.push(0);
    vec![
        ok(
            "template/valid_m8_q16.fstp",
            t,
            small.clone(),
            json!({"hashes": 8, "window": 16, "key_version": 1}),
            "the smallest template the envelopes carry",
        ),
        ok(
            "template/valid_default_params.fstp",
            t,
            default,
            json!({"hashes": 1024, "window": 8, "key_version": 4}),
            "the default parameters (m = 1024, q = 8)",
        ),
        fail(
            "template/fail_truncated_header.fstp",
            t,
            small[..10].to_vec(),
            "truncated",
            "10 bytes, shorter than the 14-byte header",
        ),
        fail(
            "template/fail_empty.fstp",
            t,
            Vec::new(),
            "truncated",
            "no bytes at all",
        ),
        fail(
            "template/fail_bad_magic.fstp",
            t,
            with(0, b'X'),
            "bad_magic",
            "starts XSTP",
        ),
        fail(
            "template/fail_bad_version.fstp",
            t,
            with(4, 2),
            "unsupported_version",
            "format version 2",
        ),
        fail(
            "template/fail_bad_scheme.fstp",
            t,
            with(5, 7),
            "unsupported_scheme",
            "scheme 7",
        ),
        fail(
            "template/fail_zero_hashes.fstp",
            t,
            template_bytes(1, 1, 0, 16, 1, &[]),
            "invalid_parameters",
            "m = 0 hashes",
        ),
        fail(
            "template/fail_oversized_window.fstp",
            t,
            template_bytes(1, 1, 8, 0xffff, 1, &[0; 8]),
            "invalid_parameters",
            "window q = 65535",
        ),
        fail(
            "template/fail_trailing_byte.fstp",
            t,
            longer,
            "inconsistent_length",
            "one byte more than m indices",
        ),
        fail(
            "template/fail_missing_index.fstp",
            t,
            small[..small.len() - 1].to_vec(),
            "inconsistent_length",
            "one index short",
        ),
        fail(
            "template/fail_index_out_of_window.fstp",
            t,
            with(14, 16),
            "index_out_of_range",
            "an index equal to q",
        ),
    ]
}

// -- envelopes --------------------------------------------------------------------

fn context(purpose: Purpose) -> SealContext {
    let mut challenge = [0u8; 32];
    challenge
        .iter_mut()
        .enumerate()
        .for_each(|(i, b)| *b = 0xa0 ^ i as u8);
    SealContext {
        tenant_id: "tenant-testdata".into(),
        subject_id: "subject-0042".into(),
        purpose,
        consent_ref: "consent-testdata-1".into(),
        challenge: ChallengeNonce::from_bytes(challenge),
        capture_digest: [0x5c; 32],
        created_at: 1_750_000_000,
        liveness_score: 0.93,
        quality_score: 0.81,
        liveness_level: SecurityLevel::Standard,
    }
}

fn sealed(payload: &[u8], key: &TenantSecretKey, ctx: &SealContext, seed: u8) -> Vec<u8> {
    let mut rng = ChaCha20Rng::from_seed([seed; 32]);
    seal::seal_bytes(payload, key.public_key(), ctx, &mut rng)
        .expect("the corpus contexts are valid")
        .into_bytes()
}

fn purpose_name(p: Purpose) -> &'static str {
    match p {
        Purpose::Enrol => "enrol",
        _ => "verify",
    }
}

fn opened(ctx: &SealContext, payload: &[u8]) -> Value {
    json!({
        "key": "tenant",
        "payload": hex::encode(payload),
        "tenant_id": ctx.tenant_id,
        "subject_id": ctx.subject_id,
        "purpose": purpose_name(ctx.purpose),
    })
}

fn refused(file: &str, bytes: Vec<u8>, error: &str, why: &str) -> Vector {
    let mut v = fail(file, "envelope", bytes, error, why);
    v.entry["key"] = json!("tenant");
    v
}

/// Byte offsets of an envelope: the context starts at 24; the ephemeral key
/// follows it, then the ciphertext and its 16-byte tag.
fn context_end(envelope: &[u8]) -> usize {
    24 + usize::from(u16::from_be_bytes([envelope[22], envelope[23]]))
}

/// The envelope with its clear context replaced (length field updated).
fn with_context(envelope: &[u8], context: &[u8]) -> Vec<u8> {
    let end = context_end(envelope);
    let mut b = envelope[..22].to_vec();
    b.extend_from_slice(&(context.len() as u16).to_be_bytes());
    b.extend_from_slice(context);
    b.extend_from_slice(&envelope[end..]);
    b
}

fn envelopes() -> Vec<Vector> {
    let e = "envelope";
    let tenant = tenant_key(TENANT_KEY_LABEL);
    let other = tenant_key(OTHER_KEY_LABEL);
    let template = small_template();
    let enrol = context(Purpose::Enrol);
    let verify = context(Purpose::Verify);
    let good = sealed(&template, &tenant, &enrol, 1);
    let ctx_end = context_end(&good);
    let ctx = good[24..ctx_end].to_vec();
    let flip = |at: usize, mask: u8| {
        let mut b = good.clone();
        b[at] ^= mask;
        b
    };
    let set = |at: usize, value: u8| {
        let mut b = good.clone();
        b[at] = value;
        b
    };
    // The subject id's last byte changed: same lengths, other associated data.
    let mut other_subject = ctx.clone();
    let subject_last = 2 + enrol.tenant_id.len() + 2 + enrol.subject_id.len() - 1;
    other_subject[subject_last] = b'3';
    // A tenant id one byte over its limit of 128.
    let mut long_tenant = (129u16).to_be_bytes().to_vec();
    long_tenant.extend_from_slice(&[b'a'; 129]);
    long_tenant.extend_from_slice(&ctx[2 + enrol.tenant_id.len()..]);
    let mut trailing = ctx.clone();
    trailing.push(0);
    let mut bad_purpose = ctx.clone();
    bad_purpose[2 + enrol.tenant_id.len() + 2 + enrol.subject_id.len()] = 9;
    let mut huge_context_len = good.clone();
    huge_context_len[22..24].copy_from_slice(&[0xff, 0xff]);
    let mut too_large = good.clone();
    too_large.resize(seal::MAX_ENVELOPE_LEN + 1, 0);
    vec![
        ok(
            "envelope/valid_enrol.fsse",
            e,
            good.clone(),
            opened(&enrol, &template),
            "a template sealed for enrolment",
        ),
        ok(
            "envelope/valid_verify.fsse",
            e,
            sealed(&template, &tenant, &verify, 2),
            opened(&verify, &template),
            "a template sealed for verification",
        ),
        refused(
            "envelope/fail_truncated_header.fsse",
            good[..20].to_vec(),
            "truncated",
            "20 bytes, inside the fixed header",
        ),
        refused(
            "envelope/fail_truncated_tag.fsse",
            good[..ctx_end + 32 + 10].to_vec(),
            "truncated",
            "ends 10 bytes after the ephemeral key, short of a tag",
        ),
        refused(
            "envelope/fail_context_length_past_end.fsse",
            huge_context_len,
            "truncated",
            "the context length says 65535 bytes",
        ),
        refused(
            "envelope/fail_bad_magic.fsse",
            flip(0, 0x20),
            "bad_magic",
            "starts fSSE",
        ),
        refused(
            "envelope/fail_bad_version.fsse",
            set(4, 2),
            "unsupported_version",
            "format version 2",
        ),
        refused(
            "envelope/fail_bad_suite.fsse",
            set(5, 9),
            "unsupported_suite",
            "cipher suite 9",
        ),
        refused(
            "envelope/fail_oversized_tenant_id.fsse",
            with_context(&good, &long_tenant),
            "malformed",
            "a 129-byte tenant id (limit 128)",
        ),
        refused(
            "envelope/fail_bad_purpose.fsse",
            with_context(&good, &bad_purpose),
            "malformed",
            "purpose byte 9",
        ),
        refused(
            "envelope/fail_trailing_context_byte.fsse",
            with_context(&good, &trailing),
            "malformed",
            "a byte after the last context field",
        ),
        refused(
            "envelope/fail_too_large.fsse",
            too_large,
            "too_large",
            "one byte over 16 KiB",
        ),
        refused(
            "envelope/fail_other_key.fsse",
            sealed(&template, &other, &enrol, 3),
            "key_id_mismatch",
            "sealed to another tenant's key",
        ),
        refused(
            "envelope/fail_flipped_tag_byte.fsse",
            flip(good.len() - 1, 0x01),
            "decryption_failed",
            "the tag's last byte flipped",
        ),
        refused(
            "envelope/fail_flipped_ciphertext_byte.fsse",
            flip(ctx_end + 32, 0x80),
            "decryption_failed",
            "the first ciphertext byte flipped",
        ),
        refused(
            "envelope/fail_flipped_ephemeral_key_byte.fsse",
            flip(ctx_end + 5, 0x04),
            "decryption_failed",
            "a byte of the ephemeral key flipped",
        ),
        refused(
            "envelope/fail_wrong_associated_data.fsse",
            with_context(&good, &other_subject),
            "decryption_failed",
            "the subject id changed after sealing (same length): the associated data no longer matches",
        ),
        refused(
            "envelope/fail_payload_not_template.fsse",
            sealed(b"not a template", &tenant, &enrol, 4),
            "invalid_payload",
            "opens, but the payload is not a protected template",
        ),
    ]
}

// -- pictures ---------------------------------------------------------------------

fn gradient(w: u32, h: u32) -> Vec<u8> {
    (0..h)
        .flat_map(|y| (0..w).flat_map(move |x| [(x * 255 / w) as u8, (y * 255 / h) as u8, 128]))
        .collect()
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(&gradient(w, h), w, h, ExtendedColorType::Rgb8)
        .expect("png encodes");
    out
}

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .write_image(&gradient(w, h), w, h, ExtendedColorType::Rgb8)
        .expect("jpeg encodes");
    out
}

/// The PNG with its IHDR size replaced (CRC recomputed, so only the size is wrong).
fn png_with_size(png: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut b = png.to_vec();
    b[16..20].copy_from_slice(&w.to_be_bytes());
    b[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&b[12..29]);
    b[29..33].copy_from_slice(&crc.to_be_bytes());
    b
}

/// The JPEG with its first SOF size replaced.
fn jpeg_with_size(jpeg: &[u8], w: u16, h: u16) -> Vec<u8> {
    let mut b = jpeg.to_vec();
    let sof = b
        .windows(2)
        .position(|m| m == [0xff, 0xc0])
        .expect("a baseline SOF0 marker");
    b[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    b[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    b
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn pictures() -> Vec<Vector> {
    let p = "picture";
    let good_png = png(48, 40);
    let good_jpeg = jpeg(48, 40);
    let size = |w: u32, h: u32| json!({"width": w, "height": h});
    let mut png_magic = good_png.clone();
    png_magic[1] = b'Q';
    vec![
        ok(
            "picture/valid_48x40.png",
            p,
            good_png.clone(),
            size(48, 40),
            "an RGB gradient",
        ),
        ok(
            "picture/valid_48x40.jpg",
            p,
            good_jpeg.clone(),
            size(48, 40),
            "the same gradient, baseline JPEG",
        ),
        fail("picture/fail_empty.png", p, Vec::new(), "empty", "no bytes"),
        fail(
            "picture/fail_truncated.png",
            p,
            good_png[..good_png.len() / 2].to_vec(),
            "truncated",
            "the first half of the PNG",
        ),
        fail(
            "picture/fail_truncated.jpg",
            p,
            good_jpeg[..good_jpeg.len() / 2].to_vec(),
            "truncated",
            "the first half of the JPEG",
        ),
        fail(
            "picture/fail_wrong_magic.png",
            p,
            png_magic,
            "unsupported_format",
            "the PNG signature's second byte changed",
        ),
        fail(
            "picture/fail_not_an_image.txt",
            p,
            b"faceseal test vector: plain text, not a picture\n".to_vec(),
            "unsupported_format",
            "text",
        ),
        fail(
            "picture/fail_oversized_header.png",
            p,
            png_with_size(&good_png, 100_000, 100_000),
            "too_large",
            "IHDR claims 100000x100000",
        ),
        fail(
            "picture/fail_oversized_header.jpg",
            p,
            jpeg_with_size(&good_jpeg, 60_000, 60_000),
            "too_large",
            "SOF claims 60000x60000",
        ),
        fail(
            "picture/fail_too_small.png",
            p,
            png(16, 16),
            "too_small",
            "16x16, under the 32-pixel minimum side",
        ),
        fail(
            "picture/fail_zero_width.png",
            p,
            png_with_size(&good_png, 0, 40),
            "invalid_dimensions",
            "IHDR width 0",
        ),
    ]
}

// -- raw camera buffers -------------------------------------------------------------

/// Reads a raw vector as the `decode_raw` fuzz target does; returns the RGB frame.
pub fn read_raw(bytes: &[u8]) -> Result<Vec<u8>, InputError> {
    let (raw, rotation) = split_raw(bytes).expect("a raw vector holds its header");
    decode_raw_rotated(&raw, rotation, &raw_limits()).map(|f| f.as_rgb().to_vec())
}

fn raw_header(format: u8, rotation: u8, w: u16, h: u16, slack: u16) -> Vec<u8> {
    let mut out = vec![format, rotation];
    for v in [w, h, slack] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// A raw vector: the header, then `len` bytes of a repeating pattern.
fn raw(format: u8, rotation: u8, w: u16, h: u16, slack: u16, len: usize) -> Vec<u8> {
    let mut out = raw_header(format, rotation, w, h, slack);
    out.extend((0..len).map(|i| ((i * 37 + i / 7) % 251) as u8));
    out
}

fn raw_ok(file: &str, bytes: Vec<u8>, width: u32, height: u32, why: &str) -> Vector {
    let rgb = read_raw(&bytes).expect("a valid raw vector decodes");
    let extra = json!({
        "width": width,
        "height": height,
        "rgb_sha256": hex::encode(Sha256::digest(&rgb)),
    });
    ok(file, "raw", bytes, extra, why)
}

fn raw_frames() -> Vec<Vector> {
    let r = "raw";
    vec![
        raw_ok(
            "raw/valid_rgb_33x32.raw",
            raw(0, 0, 33, 32, 8, 33 * 3 * 32),
            33,
            32,
            "RGB, tight rows, odd width",
        ),
        raw_ok(
            "raw/valid_bgr_32x33_cw90.raw",
            raw(1, 1, 32, 33, 12, (32 * 3 + 4) * 33),
            33,
            32,
            "BGR, rows padded by 4 bytes, turned a quarter clockwise",
        ),
        raw_ok(
            "raw/valid_rgba_20x12_cw180_last_row_tight.raw",
            raw(2, 2, 20, 12, 16, (20 * 4 + 8) * 12 - 8),
            20,
            12,
            "RGBA, rows padded by 8 bytes but the last, turned half a turn",
        ),
        raw_ok(
            "raw/valid_bgra_16x16_cw270.raw",
            raw(3, 3, 16, 16, 8, 16 * 4 * 16),
            16,
            16,
            "BGRA, tight rows, turned three quarters clockwise",
        ),
        raw_ok(
            "raw/valid_nv21_33x32.raw",
            raw(4, 0, 33, 32, 9, 34 * (32 + 16)),
            33,
            32,
            "NV21, odd width: rows of 34 bytes hold the last V,U pair",
        ),
        raw_ok(
            "raw/valid_nv21_32x31_cw90.raw",
            raw(4, 1, 32, 31, 8, 32 * (31 + 16)),
            31,
            32,
            "NV21, odd height (16 chroma rows), turned a quarter clockwise",
        ),
        fail(
            "raw/fail_zero_width.raw",
            r,
            raw(0, 0, 0, 32, 8, 0),
            "invalid_dimensions",
            "width 0",
        ),
        fail(
            "raw/fail_too_large.raw",
            r,
            raw(0, 0, 2000, 2, 8, 2000 * 3 * 2),
            "too_large",
            "2000 pixels wide, over the reader's 1024",
        ),
        fail(
            "raw/fail_stride_under_row.raw",
            r,
            raw(2, 0, 16, 16, 4, 16 * 4 * 16),
            "invalid_stride",
            "a stride 4 bytes short of the RGBA row",
        ),
        fail(
            "raw/fail_buffer_one_byte_short.raw",
            r,
            raw(0, 0, 33, 32, 8, 33 * 3 * 32 - 1),
            "buffer_length",
            "one byte less than 32 tight rows",
        ),
        fail(
            "raw/fail_buffer_one_byte_long.raw",
            r,
            raw(1, 0, 32, 33, 12, (32 * 3 + 4) * 33 + 1),
            "buffer_length",
            "one byte more than 33 padded rows",
        ),
        fail(
            "raw/fail_nv21_without_chroma.raw",
            r,
            raw(4, 0, 32, 32, 8, 32 * 32),
            "buffer_length",
            "the luma plane alone",
        ),
        fail(
            "raw/fail_huge_stride.raw",
            r,
            raw(0, 0, 16, 16, 0x8000 | 1, 16 * 3 * 16),
            "buffer_length",
            "a stride of half the address space: the size it implies overflows",
        ),
    ]
}
