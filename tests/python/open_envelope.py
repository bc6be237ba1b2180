#!/usr/bin/env python3
"""Open a faceseal sealed envelope (format version 3) independently of the Rust code.

Written from docs/envelope.md alone, on top of the `cryptography` package
(X25519, HKDF-SHA256, AES-256-GCM-SIV), so that the Rust implementation and the
specification are checked against each other.

Usage: open_envelope.py ENVELOPE_FILE SECRET_KEY_FILE

ENVELOPE_FILE holds the raw envelope bytes; SECRET_KEY_FILE the tenant's
32-byte X25519 secret key (raw). On success prints one JSON object with the
clear context and the decrypted payload (hex) and exits 0. Exit codes:
1 = the envelope is refused, 2 = usage error, 3 = a dependency is missing.
"""

import hashlib
import json
import struct
import sys

try:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric.x25519 import (
        X25519PrivateKey,
        X25519PublicKey,
    )
    from cryptography.hazmat.primitives.ciphers.aead import AESGCMSIV
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
except ImportError as exc:  # pragma: no cover - depends on the machine
    sys.stderr.write(
        "open_envelope.py needs the Python 'cryptography' package (>= 42, with "
        f"AESGCMSIV): pip install cryptography ({exc})\n"
    )
    sys.exit(3)

MAGIC = b"FSSE"
VERSION = 3
LEVELS = {1: "basic", 2: "standard", 3: "strict"}
SUITE = 1
MAX_ENVELOPE_LEN = 16 * 1024
TAG_LEN = 16
KEY_ID_LABEL = b"faceseal/seal/v1/key-id"
HKDF_INFO = b"faceseal/seal/v1 X25519 HKDF-SHA256 AES-256-GCM-SIV"
PURPOSES = {1: "enrol", 2: "verify"}
LIMITS = {"tenant_id": 128, "subject_id": 256, "consent_ref": 256}


class Refused(Exception):
    """Why an envelope is refused: `kind` names the rule (the same names as
    testdata/manifest.json), the message says where."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n, what):
        if self.pos + n > len(self.data):
            raise Refused("malformed", f"context truncated in {what}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def string(self, what):
        (n,) = struct.unpack(">H", self.take(2, what))
        if n == 0 or n > LIMITS[what]:
            raise Refused("malformed", f"bad length of {what}")
        try:
            return self.take(n, what).decode("utf-8")
        except UnicodeDecodeError:
            raise Refused("malformed", f"{what} is not UTF-8")

    def score(self, what):
        raw = self.take(4, what)
        (value,) = struct.unpack(">f", raw)
        if value != value or value in (float("inf"), float("-inf")) or raw == b"\x80\0\0\0":
            raise Refused("malformed", f"non-canonical {what}")
        return raw.hex()


def decode_context(data):
    r = Reader(data)
    ctx = {
        "tenant_id": r.string("tenant_id"),
        "subject_id": r.string("subject_id"),
    }
    purpose = r.take(1, "purpose")[0]
    if purpose not in PURPOSES:
        raise Refused("malformed", "unknown purpose")
    ctx["purpose"] = PURPOSES[purpose]
    ctx["consent_ref"] = r.string("consent_ref")
    ctx["challenge"] = r.take(32, "challenge").hex()
    ctx["capture_digest"] = r.take(32, "capture_digest").hex()
    (ctx["created_at"],) = struct.unpack(">Q", r.take(8, "created_at"))
    ctx["liveness_score_bits"] = r.score("liveness_score")
    ctx["quality_score_bits"] = r.score("quality_score")
    level = r.take(1, "liveness_level")[0]
    if level not in LEVELS:
        raise Refused("malformed", "unknown liveness level")
    ctx["liveness_level"] = LEVELS[level]
    if r.pos != len(data):
        raise Refused("malformed", "trailing context bytes")
    return ctx


def open_envelope(envelope, secret_key):
    if len(envelope) > MAX_ENVELOPE_LEN:
        raise Refused("too_large", "too large")
    if len(envelope) < 24:
        raise Refused("truncated", "shorter than the fixed header")
    if envelope[0:4] != MAGIC:
        raise Refused("bad_magic", "bad magic")
    if envelope[4] != VERSION:
        raise Refused("unsupported_version", f"unsupported version {envelope[4]}")
    if envelope[5] != SUITE:
        raise Refused("unsupported_suite", f"unsupported suite {envelope[5]}")
    key_id = envelope[6:22]
    (context_len,) = struct.unpack(">H", envelope[22:24])
    context_end = 24 + context_len
    header_end = context_end + 32
    if context_len == 0 or len(envelope) < header_end + TAG_LEN:
        raise Refused("truncated", "shorter than its context length, ephemeral key and tag")
    context = decode_context(envelope[24:context_end])
    ephemeral = envelope[context_end:header_end]
    aad = envelope[:header_end]
    ciphertext = envelope[header_end:]

    private = X25519PrivateKey.from_private_bytes(secret_key)
    recipient = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    if hashlib.sha256(KEY_ID_LABEL + recipient).digest()[:16] != key_id:
        raise Refused("key_id_mismatch", "sealed to another key")
    try:
        # cryptography refuses an all-zero (non-contributory) shared secret.
        shared = private.exchange(X25519PublicKey.from_public_bytes(ephemeral))
    except ValueError:
        raise Refused("decryption_failed", "weak ephemeral key")
    okm = HKDF(
        algorithm=hashes.SHA256(),
        length=44,
        salt=ephemeral + recipient,
        info=HKDF_INFO,
    ).derive(shared)
    key, nonce = okm[:32], okm[32:]
    try:
        payload = AESGCMSIV(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise Refused("decryption_failed", "decryption failed")
    return {"key_id": key_id.hex(), "context": context, "payload": payload.hex()}


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1], "rb") as f:
        envelope = f.read()
    with open(argv[2], "rb") as f:
        secret_key = f.read()
    if len(secret_key) != 32:
        sys.stderr.write("secret key file must hold 32 raw bytes\n")
        return 2
    try:
        result = open_envelope(envelope, secret_key)
    except Refused as exc:
        sys.stderr.write(f"refused ({exc.kind}): {exc}\n")
        return 1
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
