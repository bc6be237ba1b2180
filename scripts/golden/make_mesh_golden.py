#!/usr/bin/env python3
"""Regenerate core/tests/golden/mesh_golden.json.

For a few real pictures, faceseal writes the exact face-mesh input tensor it
builds (core/examples/mesh_tensor.rs: detector, square crop, resize). This
script runs that tensor through onnxruntime and stores the outputs, with the
tensor's sums so the Rust test can tell that it rebuilt the same input.

Usage: scripts/golden/make_mesh_golden.py DATA_DIR
Needs: numpy, onnxruntime.
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "core" / "tests" / "golden" / "mesh_golden.json"
MODEL = ROOT / "models" / "facemesh.onnx"
PICTURES = [
    "lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg",
    "nuaa/ClientRaw/0001/0001_00_00_01_0.jpg",
    "nuaa/ImposterRaw/0001/0001_00_00_01_0.jpg",
]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    data = Path(sys.argv[1])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(MODEL), opts, providers=["CPUExecutionProvider"])
    entries = []
    with tempfile.TemporaryDirectory() as tmp:
        for picture in PICTURES:
            out = Path(tmp) / "mesh.f32"
            subprocess.run(["cargo", "run", "-q", "--release", "-p", "faceseal-core", "--example", "mesh_tensor", "--",
                            str(data / picture), str(out)], check=True, cwd=ROOT)
            x = np.fromfile(out, dtype="<f4").reshape(1, 3, 192, 192)
            mesh, flag, _ = sess.run(["mesh", "face_flag", "contours"], {"input": x})
            entries.append({
                "image": picture,
                "input": {"len": int(x.size), "sum": float(x.astype(np.float64).sum()),
                          "abs_sum": float(np.abs(x.astype(np.float64)).sum())},
                "mesh": [float(v) for v in mesh.ravel()],
                "face_flag": float(flag.ravel()[0]),
            })
    doc = {"model": MODEL.name, "runtime": f"onnxruntime {ort.__version__}", "entries": entries}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
