#!/usr/bin/env python3
"""Read the testdata/ corpus independently of the Rust code and check every
vector against the outcome its manifest states.

Envelopes are opened by open_envelope.py (written from docs/envelope.md);
templates are decoded here from the format table of docs/template.md;
pictures and raw camera buffers go through input_gate.py, the input gate's
documented rules written again in Python (Pillow decodes the pictures). A
valid raw buffer must give the manifest's size and the SHA-256 of its RGB
frame; a valid picture the manifest's size (and RGB hash, if one is given,
for a PNG only).

Usage: check_testdata.py TESTDATA_DIR
Prints one line per vector; exits 0 when every outcome matches, 1 otherwise,
2 on a usage error, 3 when the 'cryptography' or 'Pillow' package is missing.
"""
import hashlib
import json
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import open_envelope  # noqa: E402  (exits 3 without 'cryptography')
import input_gate  # noqa: E402  (exits 3 without 'Pillow')

TEMPLATE_MAGIC = b"FSTP"
TEMPLATE_VERSION = 1
SCHEME_IOM_GRP = 1
HEADER_LEN = 14
MAX_HASHES = 4096
MIN_WINDOW, MAX_WINDOW = 2, 256


class BadTemplate(Exception):
    def __init__(self, kind):
        super().__init__(kind)
        self.kind = kind


def decode_template(data):
    """(m, q, key version, indices), or BadTemplate with the rule it breaks."""
    if len(data) < HEADER_LEN:
        raise BadTemplate("truncated")
    if data[0:4] != TEMPLATE_MAGIC:
        raise BadTemplate("bad_magic")
    if data[4] != TEMPLATE_VERSION:
        raise BadTemplate("unsupported_version")
    if data[5] != SCHEME_IOM_GRP:
        raise BadTemplate("unsupported_scheme")
    m, q, key_version = struct.unpack(">HHI", data[6:14])
    if not (1 <= m <= MAX_HASHES and MIN_WINDOW <= q <= MAX_WINDOW):
        raise BadTemplate("invalid_parameters")
    if len(data) != HEADER_LEN + m:
        raise BadTemplate("inconsistent_length")
    indices = data[HEADER_LEN:]
    if any(i >= q for i in indices):
        raise BadTemplate("index_out_of_range")
    return m, q, key_version, indices


def envelope_outcome(entry, data, keys):
    try:
        opened = open_envelope.open_envelope(data, keys[entry["key"]])
    except open_envelope.Refused as exc:
        return exc.kind
    payload = bytes.fromhex(opened["payload"])
    try:
        decode_template(payload)
    except BadTemplate:
        return "invalid_payload"
    ctx = opened["context"]
    for field in ("tenant_id", "subject_id", "purpose"):
        if ctx[field] != entry[field]:
            return f"opened with {field} {ctx[field]!r}"
    if opened["payload"] != entry["payload"]:
        return "opened with another payload"
    return "ok"


def template_outcome(entry, data):
    try:
        m, q, key_version, _ = decode_template(data)
    except BadTemplate as exc:
        return exc.kind
    if (m, q, key_version) != (entry["hashes"], entry["window"], entry["key_version"]):
        return f"decoded as m={m} q={q} key version {key_version}"
    return "ok"


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def frame_mismatch(entry, frame, compare_hash):
    """What the decoded frame gives that the entry does not state, or None."""
    if (frame.width, frame.height) != (entry["width"], entry["height"]):
        return f"decoded as {frame.width}x{frame.height}"
    if len(frame.rgb) != frame.width * frame.height * 3:
        return f"decoded to {len(frame.rgb)} RGB bytes"
    if compare_hash and "rgb_sha256" in entry and sha256_hex(frame.rgb) != entry["rgb_sha256"]:
        return f"decoded to RGB with SHA-256 {sha256_hex(frame.rgb)}"
    return None


def raw_outcome(entry, data):
    try:
        frame = input_gate.decode_raw(data)
    except input_gate.Refused as exc:
        return exc.kind
    return frame_mismatch(entry, frame, compare_hash=True) or "ok"


def picture_outcome(entry, data):
    try:
        fmt, frame = input_gate.decode_picture(data)
    except input_gate.Refused as exc:
        return exc.kind
    # A JPEG's pixels depend on the decoder's IDCT and chroma upsampling
    # (Pillow's libjpeg and the Rust gate's decoder round differently), so
    # only its size is compared; a PNG is lossless and its hash is compared.
    return frame_mismatch(entry, frame, compare_hash=fmt == "png") or "ok"


VECTOR_TYPES = ("envelope", "template", "picture", "raw")


def vector_outcome(entry, data, keys):
    kind = entry["type"]
    if kind == "envelope":
        return envelope_outcome(entry, data, keys)
    if kind == "template":
        return template_outcome(entry, data)
    if kind == "picture":
        return picture_outcome(entry, data)
    if kind == "raw":
        return raw_outcome(entry, data)
    return f"unknown vector type {kind!r}"


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    root = Path(argv[1])
    manifest = json.loads((root / "manifest.json").read_text())
    keys = {name: (root / k["file"]).read_bytes() for name, k in manifest["keys"].items()}
    mismatches, counts = [], dict.fromkeys(VECTOR_TYPES, 0)
    for entry in manifest["vectors"]:
        got = vector_outcome(entry, (root / entry["file"]).read_bytes(), keys)
        counts[entry["type"]] = counts.get(entry["type"], 0) + 1
        status = "ok  " if got == entry["expect"] else "FAIL"
        print(f"{status} {entry['file']}: expected {entry['expect']}, got {got}")
        if got != entry["expect"]:
            mismatches.append(entry["file"])
    checked = sum(counts.values())
    by_type = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    print(f"{checked} vectors checked ({by_type}), {len(mismatches)} mismatches")
    return 1 if mismatches or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
