#!/usr/bin/env python3
"""Regenerate core/tests/golden/golden.json.

For a few real pictures, the independent reference preprocessing
(reference.py: Pillow decoding, numpy letterbox, crops and alignment) builds
every model's input; this script runs those inputs through onnxruntime,
decodes RetinaFace's outputs with an independent numpy implementation (priors,
variances, NMS as in the original Pytorch_Retinaface), and stores the outputs,
the detections, the liveness crops and the SHA-256 of every reference input
(never the inputs themselves: they hold a face). core/tests/golden.rs compares
faceseal's own inputs with the reference ones element by element and tract's
outputs with these.

Usage: scripts/golden/make_golden.py DATA_DIR MODEL_DIR [MODEL_DIR...]
  e.g. scripts/golden/make_golden.py "$FACESEAL_DATA_DIR" "$FACESEAL_MODEL_DIR"
Needs: numpy, pillow, onnxruntime.
"""
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "core" / "tests" / "golden" / "golden.json"

# (picture relative to the data directory, detector long side)
PICTURES = [
    ("lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg", 320),
    ("nuaa/ClientRaw/0001/0001_00_00_01_0.jpg", 320),
    ("nuaa/ImposterRaw/0001/0001_00_00_01_0.jpg", 320),
    ("multiface/000_5.jpg", 640),
]
# Every ROW_STEP-th prior plus the best-scored ones are stored: enough to show
# the outputs agree everywhere without storing them whole.
ROW_STEP = 29
TOP_ROWS = 20


def floats(a):
    return [float(f"{v:.7g}") for v in np.asarray(a, dtype=np.float64).ravel()]


def rounded(face):
    return {"bbox": [round(v, 3) for v in face["bbox"]],
            "landmarks": [[round(x, 3), round(y, 3)] for x, y in face["landmarks"]],
            "score": round(face["score"], 6)}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    data = Path(sys.argv[1])
    sessions = reference.sessions_for(sys.argv[2:])
    entries = []
    for rel, det_size in PICTURES:
        ref = reference.reference(sessions, data / rel, det_size)
        t = ref["tensors"]
        loc, conf, lms = ref["raw"]
        rows = sorted(set(range(0, loc.shape[0], ROW_STEP)) | set(np.argsort(-conf[:, 1])[:TOP_ROWS].tolist()))
        entry = {
            "image": rel,
            "det_size": det_size,
            "detector": {
                "input_sha256": reference.sha256(t["detector"]),
                "rows": rows,
                "loc": floats(loc[rows]),
                "conf": floats(conf[rows]),
                "landmarks": floats(lms[rows]),
            },
            "detections": [rounded(f) for f in ref["faces"]],
            "liveness": [],
        }
        for i in range(2):
            (logits,) = sessions[f"liveness{i}"].run(None, {"input": t[f"liveness{i}"]})
            entry["liveness"].append({"crop": ref["liveness_crops"][i],
                                      "input_sha256": reference.sha256(t[f"liveness{i}"]),
                                      "logits": floats(logits)})
        (desc,) = sessions["embedder"].run(None, {"input": t["embedder"]})
        entry["embedder"] = {"landmarks": ref["chip_landmarks"],
                             "input_sha256": reference.sha256(t["embedder"]), "descriptor": floats(desc)}
        entries.append(entry)
        print(f"{rel}: {len(entry['detections'])} face(s)", file=sys.stderr)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc = {"generator": "scripts/golden/make_golden.py", "versions": reference.versions(), "entries": entries}
    OUT.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
