#!/usr/bin/env python3
"""The same pipeline run naively by onnxruntime in Python, for comparison with
`faceseal bench` on the same frames.

decode (Pillow) -> letterbox + RetinaFace -> two MiniFASNet crops -> aligned
chip -> dlib ResNet on the chip and its mirror, one thread, medians and 90th
percentiles per stage, and peak RSS.

Usage: scripts/bench_onnxruntime.py IMAGE_DIR MODEL_DIR [MODEL_DIR...] [--limit N] [--json]
Needs: numpy, onnxruntime, pillow.
"""
import argparse
import io
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))
from reference import MODELS, find_model, session  # noqa: E402
from reference import decode_detections as decode  # noqa: E402

CHIP = np.array([[47.549, 46.599], [100.476, 46.599], [74.013, 76.562], [50.415, 103.023], [97.610, 103.023]])


def letterbox(img, long_side=320):
    w, h = img.size
    s = long_side / max(w, h)
    rw, rh = max(1, round(w * s)), max(1, round(h * s))
    pw, ph = -(-rw // 32) * 32, -(-rh // 32) * 32
    small = np.asarray(img.resize((rw, rh), Image.BILINEAR), dtype=np.float32)[:, :, ::-1]
    t = np.zeros((ph, pw, 3), np.float32)
    t[:rh, :rw] = small - [104, 117, 123]
    idx = {"plan_w": pw, "plan_h": ph, "inv_scale_x": w / rw, "inv_scale_y": h / rh, "width": w, "height": h,
           "score_threshold": 0.6, "nms_iou": 0.4}
    return t.transpose(2, 0, 1)[None], idx


def crop(img, box, factor):
    w, h = img.size
    x, y = int(box[0]), int(box[1])
    bw, bh = int(box[2] - box[0] + 1), int(box[3] - box[1] + 1)
    s = min(factor, (h - 1) / bh, (w - 1) / bw)
    nw, nh = bw * s, bh * s
    cx, cy = bw / 2 + x, bh / 2 + y
    l, t, r, b = cx - nw / 2, cy - nh / 2, cx + nw / 2, cy + nh / 2
    if l < 0: r -= l; l = 0
    if t < 0: b -= t; t = 0
    if r > w - 1: l -= r - w + 1; r = w - 1
    if b > h - 1: t -= b - h + 1; b = h - 1
    c = img.crop((int(l), int(t), int(r) + 1, int(b) + 1)).resize((80, 80), Image.BILINEAR)
    return np.asarray(c, np.float32)[:, :, ::-1].transpose(2, 0, 1)[None].copy()


def similarity(src, dst):
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    den = (s ** 2).sum()
    a = (s * d).sum() / den
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / den
    return a, b, md[0] - (a * ms[0] - b * ms[1]), md[1] - (b * ms[0] + a * ms[1])


def align(img, landmarks):
    a, b, tx, ty = similarity(np.array(landmarks) - 0.5, CHIP)
    s2 = a * a + b * b
    ia, ib = a / s2, -b / s2
    itx, ity = -(ia * tx - ib * ty), -(ib * tx + ia * ty)
    # PIL's affine maps output to input coordinates.
    chip = img.transform((150, 150), Image.AFFINE, (ia, -ib, itx, ib, ia, ity), resample=Image.BILINEAR)
    return np.asarray(chip, np.float32).transpose(2, 0, 1)[None].copy()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("images")
    ap.add_argument("model_dirs", nargs="+")
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    s = {k: session(find_model(args.model_dirs, v)) for k, v in MODELS.items() if k != "mesh"}
    files = sorted(p for p in Path(args.images).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[: args.limit]
    blobs = [p.read_bytes() for p in files]
    stages = {k: [] for k in ("decode", "detect", "align", "liveness", "embed", "total")}
    for warm in (True, False):
        for blob in blobs[: 3] if warm else blobs:
            t = {}
            c = time.perf_counter()
            img = Image.open(io.BytesIO(blob)).convert("RGB")
            t["decode"] = time.perf_counter() - c
            c = time.perf_counter()
            tensor, idx = letterbox(img)
            loc, conf, lms = s["detector"].run(None, {"input": tensor})
            faces = decode(loc[0], conf[0], lms[0], idx)
            t["detect"] = time.perf_counter() - c
            if not faces:
                continue
            face = max(faces, key=lambda f: (f["bbox"][2] - f["bbox"][0]) * (f["bbox"][3] - f["bbox"][1]))
            c = time.perf_counter()
            chip = align(img, face["landmarks"])
            t["align"] = time.perf_counter() - c
            c = time.perf_counter()
            for i, factor in enumerate((2.7, 4.0)):
                s[f"liveness{i}"].run(None, {"input": crop(img, face["bbox"], factor)})
            t["liveness"] = time.perf_counter() - c
            c = time.perf_counter()
            s["embedder"].run(None, {"input": chip})
            s["embedder"].run(None, {"input": chip[:, :, :, ::-1].copy()})
            t["embed"] = time.perf_counter() - c
            t["total"] = sum(t.values())
            if not warm:
                for k, v in t.items():
                    stages[k].append(v * 1000)
    report = {"frames": len(stages["total"]), "onnxruntime": ort.__version__,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "stages": {}}
    for k, v in stages.items():
        report["stages"][k] = {"median_ms": float(np.median(v)), "p90_ms": float(np.percentile(v, 90, method="inverted_cdf"))}
    report["median_ms"] = report["stages"]["total"]["median_ms"]
    report["p90_ms"] = report["stages"]["total"]["p90_ms"]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"onnxruntime {ort.__version__}, {report['frames']} frames, one thread, mirror embedding on")
        for k, v in report["stages"].items():
            print(f"  {k:<9} median {v['median_ms']:7.2f} ms   p90 {v['p90_ms']:7.2f} ms")
        print(f"peak RSS {report['peak_rss_mb']:.1f} MB")


if __name__ == "__main__":
    main()
