#!/usr/bin/env python3
"""Regenerate core/tests/golden/golden.json.

For a few real pictures, faceseal writes the exact input tensors it feeds each
model (core/examples/dump_tensors.rs). This script runs the same tensors through
onnxruntime, decodes RetinaFace's outputs with an independent numpy
implementation (priors, variances, NMS as in the original Pytorch_Retinaface),
and stores outputs and detections for the Rust golden test to compare with.

Usage: scripts/golden/make_golden.py DATA_DIR MODEL_DIR [MODEL_DIR...]
Needs: numpy, onnxruntime.
"""
import json
import os
import subprocess
import sys
import tempfile
from math import ceil
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "core" / "tests" / "golden" / "golden.json"

# (picture relative to the data directory, detector long side)
PICTURES = [
    ("lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg", 320),
    ("nuaa/ClientRaw/0001/0001_00_00_01_0.jpg", 320),
    ("nuaa/ImposterRaw/0001/0001_00_00_01_0.jpg", 320),
    ("multiface/000_5.jpg", 640),
]
MODELS = {
    "detector": "retinaface_mnet025.onnx",
    "liveness0": "minifasnet_v2_2.7_80x80.onnx",
    "liveness1": "minifasnet_v1se_4.0_80x80.onnx",
    "embedder": "dlib_resnet_v1.onnx",
}
# Every ROW_STEP-th prior plus the best-scored ones are stored: enough to show
# the outputs agree everywhere without storing them whole.
ROW_STEP = 29
TOP_ROWS = 20


def find_model(dirs, name):
    for d in dirs:
        p = Path(d) / name
        if p.is_file():
            return str(p)
    sys.exit(f"model {name} not found in {dirs}")


def session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def priors(w, h):
    out = []
    for stride, sizes in ((8, (16, 32)), (16, (64, 128)), (32, (256, 512))):
        for i in range(ceil(h / stride)):
            for j in range(ceil(w / stride)):
                for m in sizes:
                    out.append([(j + 0.5) * stride / w, (i + 0.5) * stride / h, m / w, m / h])
    return np.array(out, dtype=np.float64)


def nms(boxes, scores, iou):
    order = scores.argsort()[::-1]
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        xx1 = np.maximum(boxes[i, 0], boxes[order[1:], 0])
        yy1 = np.maximum(boxes[i, 1], boxes[order[1:], 1])
        xx2 = np.minimum(boxes[i, 2], boxes[order[1:], 2])
        yy2 = np.minimum(boxes[i, 3], boxes[order[1:], 3])
        inter = np.maximum(0, xx2 - xx1) * np.maximum(0, yy2 - yy1)
        area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
        ovr = inter / (area(boxes[i]) + area(boxes[order[1:]]) - inter)
        order = order[1:][ovr <= iou]
    return keep


def decode(loc, conf, lms, idx):
    w, h = idx["plan_w"], idx["plan_h"]
    p = priors(w, h)
    loc, lms = loc.astype(np.float64), lms.astype(np.float64)
    centres = p[:, :2] + loc[:, :2] * 0.1 * p[:, 2:]
    sizes = p[:, 2:] * np.exp(loc[:, 2:] * 0.2)
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1) * [w, h, w, h]
    pts = np.concatenate([p[:, :2] + lms[:, 2 * k:2 * k + 2] * 0.1 * p[:, 2:] for k in range(5)], axis=1)
    pts = pts * np.tile([w, h], 5)
    scores = conf[:, 1].astype(np.float64)
    keep = scores >= idx["score_threshold"]
    boxes, pts, scores = boxes[keep], pts[keep], scores[keep]
    chosen = nms(boxes, scores, idx["nms_iou"])
    sx, sy = idx["inv_scale_x"], idx["inv_scale_y"]
    W, H = idx["width"], idx["height"]
    out = []
    for i in chosen:
        b = boxes[i] * [sx, sy, sx, sy]
        b = np.clip(b, 0, [W, H, W, H])
        lm = pts[i].reshape(5, 2) * [sx, sy]
        out.append({"bbox": [round(float(v), 3) for v in b],
                    "landmarks": [[round(float(x), 3), round(float(y), 3)] for x, y in lm],
                    "score": round(float(scores[i]), 6)})
    return out


def checksum(t):
    t = t.astype(np.float64)
    return {"len": int(t.size), "sum": float(t.sum()), "abs_sum": float(np.abs(t).sum())}


def floats(a):
    return [float(f"{v:.7g}") for v in np.asarray(a, dtype=np.float64).ravel()]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    data = Path(sys.argv[1])
    dirs = sys.argv[2:]
    sessions = {k: session(find_model(dirs, v)) for k, v in MODELS.items()}
    env = dict(os.environ, FACESEAL_MODEL_DIR=os.pathsep.join(str(Path(d).resolve()) for d in dirs))
    entries = []
    for rel, det_size in PICTURES:
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                ["cargo", "run", "-q", "-p", "faceseal-core", "--example", "dump_tensors", "--",
                 str(data / rel), tmp, str(det_size)],
                check=True, cwd=ROOT, env=env)
            idx = json.loads(Path(tmp, "index.json").read_text())
            load = lambda n: np.fromfile(Path(tmp, n), dtype="<f4")
            det_in = load("detector.f32").reshape(1, 3, idx["plan_h"], idx["plan_w"])
            loc, conf, lms = sessions["detector"].run(None, {"input": det_in})
            loc, conf, lms = loc[0], conf[0], lms[0]
            rows = sorted(set(range(0, loc.shape[0], ROW_STEP)) | set(np.argsort(-conf[:, 1])[:TOP_ROWS].tolist()))
            entry = {
                "image": rel,
                "det_size": det_size,
                "detector": {
                    "input": checksum(det_in),
                    "rows": rows,
                    "loc": floats(loc[rows]),
                    "conf": floats(conf[rows]),
                    "landmarks": floats(lms[rows]),
                },
                "detections": decode(loc, conf, lms, idx),
                "liveness": [],
            }
            for i in range(2):
                t = load(f"liveness{i}.f32").reshape(1, 3, 80, 80)
                (logits,) = sessions[f"liveness{i}"].run(None, {"input": t})
                entry["liveness"].append({"input": checksum(t), "logits": floats(logits)})
            t = load("embedder.f32").reshape(1, 3, 150, 150)
            (desc,) = sessions["embedder"].run(None, {"input": t})
            entry["embedder"] = {"input": checksum(t), "descriptor": floats(desc)}
            entries.append(entry)
            print(f"{rel}: {len(entry['detections'])} face(s)", file=sys.stderr)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc = {"generator": "scripts/golden/make_golden.py", "onnxruntime": ort.__version__, "entries": entries}
    OUT.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
