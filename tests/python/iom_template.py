#!/usr/bin/env python3
"""Compute a faceseal protected template (IoM-GRP, format version 1) independently.

Written from docs/template.md alone, on top of the `cryptography` package
(HKDF-SHA256 and the ChaCha20 keystream) and Python's binary64 floats, so that
the Rust implementation and the specification are checked against each other.

Usage: iom_template.py REQUEST_JSON

REQUEST_JSON holds {"secret": hex, "subject_id": str, "key_version": int,
"m": int, "q": int, "embedding_f32_bits": [128 hex strings of IEEE-754 binary32
bits, big-endian]}. Prints the encoded template as hex. Exit code 3 if a
dependency is missing.
"""

import json
import math
import struct
import sys

try:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
except ImportError as exc:  # pragma: no cover - depends on the machine
    sys.stderr.write(f"iom_template.py needs the Python 'cryptography' package ({exc})\n")
    sys.exit(3)

KDF_SALT = b"faceseal/template/v1"
KDF_LABEL = b"faceseal/template/iom-grp/v1"
DIM = 128


def lp(field):
    return struct.pack(">I", len(field)) + field


def derive_seed(secret, subject_id, key_version, m, q):
    info = lp(KDF_LABEL) + lp(subject_id.encode("utf-8"))
    info += struct.pack(">IHH", key_version, m, q)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=KDF_SALT, info=info).derive(secret)


class Gaussians:
    """RFC 8439 ChaCha20 keystream (zero nonce, counter 0) -> Box-Muller."""

    def __init__(self, seed):
        # cryptography's ChaCha20 takes a 16-byte "nonce": the 32-bit
        # little-endian block counter followed by the 96-bit RFC 8439 nonce.
        cipher = Cipher(algorithms.ChaCha20(seed, b"\0" * 16), mode=None)
        self.encryptor = cipher.encryptor()
        self.buffer = b""
        self.pos = 0
        self.spare = None

    def word(self):
        if self.pos == len(self.buffer):
            self.buffer = self.encryptor.update(b"\0" * 4096)
            self.pos = 0
        (w,) = struct.unpack_from("<Q", self.buffer, self.pos)
        self.pos += 8
        return w

    def uniform(self):
        return float((self.word() >> 11) + 1) * (1.0 / float(1 << 53))

    def next(self):
        if self.spare is not None:
            z, self.spare = self.spare, None
            return z
        u1 = self.uniform()
        u2 = self.uniform()
        r = math.sqrt(-2.0 * math.log(u1))
        t = 2.0 * math.pi * u2
        self.spare = r * math.sin(t)
        return r * math.cos(t)


def protect(seed, m, q, values):
    total = 0.0
    for v in values:
        total += v * v
    norm = math.sqrt(total)
    x = [v / norm for v in values]
    g = Gaussians(seed)
    indices = []
    for _ in range(m):
        best, best_j = None, 0
        for j in range(q):
            acc = 0.0
            for k in range(DIM):
                acc += g.next() * x[k]
            if best is None or acc > best:
                best, best_j = acc, j
        indices.append(best_j)
    return indices


def main(argv):
    if len(argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1]) as f:
        req = json.load(f)
    values = [struct.unpack(">f", bytes.fromhex(b))[0] for b in req["embedding_f32_bits"]]
    assert len(values) == DIM
    m, q, version = req["m"], req["q"], req["key_version"]
    seed = derive_seed(bytes.fromhex(req["secret"]), req["subject_id"], version, m, q)
    indices = protect(seed, m, q, values)
    out = b"FSTP" + bytes([1, 1]) + struct.pack(">HHI", m, q, version) + bytes(indices)
    print(out.hex())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
