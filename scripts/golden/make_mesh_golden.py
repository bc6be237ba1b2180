#!/usr/bin/env python3
"""Regenerate core/tests/golden/mesh_golden.json.

For a few real pictures, the independent reference preprocessing
(reference.py: Pillow decoding, the reference detector, the package's square
box and TensorFlow's crop_and_resize in numpy) builds the face-mesh input;
this script runs it through onnxruntime and stores the outputs, the crop and
the SHA-256 of the input (never the input itself: it holds a face).
core/tests/mesh_golden.rs compares faceseal's own input with the reference
one element by element and tract's outputs with these.

Usage: scripts/golden/make_mesh_golden.py DATA_DIR [MODEL_DIR...]
  e.g. scripts/golden/make_mesh_golden.py "$FACESEAL_DATA_DIR"
Needs: numpy, pillow, onnxruntime.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "core" / "tests" / "golden" / "mesh_golden.json"
PICTURES = [
    "lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg",
    "nuaa/ClientRaw/0001/0001_00_00_01_0.jpg",
    "nuaa/ImposterRaw/0001/0001_00_00_01_0.jpg",
]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    data = Path(sys.argv[1])
    sessions = reference.sessions_for(sys.argv[2:], ("detector", "mesh"))
    entries = []
    for picture in PICTURES:
        ref = reference.reference(sessions, data / picture, reference.MESH_DET_SIZE)
        x = ref["tensors"]["mesh"]
        mesh, flag, _ = sessions["mesh"].run(["mesh", "face_flag", "contours"], {"input": x})
        entries.append({
            "image": picture,
            "crop": ref["mesh_crop"],
            "input_sha256": reference.sha256(x),
            "mesh": [float(v) for v in mesh.ravel()],
            "face_flag": float(flag.ravel()[0]),
        })
    doc = {"model": reference.MODELS["mesh"], "versions": reference.versions(), "entries": entries}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
