#!/usr/bin/env python3
"""Read the testdata/ corpus independently of the Rust code and check every
envelope and protected template against the outcome its manifest states.

Envelopes are opened by open_envelope.py (written from docs/envelope.md);
templates are decoded here from the format table of docs/template.md. The
pictures and raw camera buffers are the Rust input gate's and are only counted.

Usage: check_testdata.py TESTDATA_DIR
Prints one line per vector; exits 0 when every outcome matches, 1 otherwise,
2 on a usage error, 3 when the 'cryptography' package is missing.
"""
import json
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import open_envelope  # noqa: E402  (exits 3 without 'cryptography')

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


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    root = Path(argv[1])
    manifest = json.loads((root / "manifest.json").read_text())
    keys = {name: (root / k["file"]).read_bytes() for name, k in manifest["keys"].items()}
    mismatches, checked, skipped = [], 0, 0
    for entry in manifest["vectors"]:
        data = (root / entry["file"]).read_bytes()
        if entry["type"] == "envelope":
            got = envelope_outcome(entry, data, keys)
        elif entry["type"] == "template":
            got = template_outcome(entry, data)
        else:
            skipped += 1
            continue
        checked += 1
        status = "ok  " if got == entry["expect"] else "FAIL"
        print(f"{status} {entry['file']}: expected {entry['expect']}, got {got}")
        if got != entry["expect"]:
            mismatches.append(entry["file"])
    print(f"{checked} envelopes and templates checked, {len(mismatches)} mismatches; {skipped} pictures and raw buffers left to the Rust input gate")
    return 1 if mismatches or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
