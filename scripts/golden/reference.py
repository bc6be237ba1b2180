#!/usr/bin/env python3
"""An independent reference of faceseal's preprocessing, for the golden tests.

Written from the model descriptions (models/manifest.json, models/README.md)
and the upstream projects they name, not from faceseal's Rust code: Pillow
decodes the picture, numpy does every crop, resize and colour conversion,
onnxruntime runs the detector whose boxes and landmarks the crops start from.

As a program it writes the reference input tensors for one picture:

    reference.py [--chip-landmarks JSON] DATA_DIR IMAGE DET_SIZE OUT_DIR MODEL_DIR [MODEL_DIR...]

The embedder's chip is cut at the face's landmarks rounded to 1/1000 pixel,
or at the five [x, y] points of --chip-landmarks: the golden test passes the
points the golden file was made with, because onnxruntime's landmarks differ
in their last bits from one CPU to another (AVX2 and AVX-512 kernels), and
the chip's pixels, rounded to whole values, would follow them.

OUT_DIR gets raw little-endian float32 files `detector.f32`, `liveness0.f32`,
`liveness1.f32`, `embedder.f32`, `mesh.f32` (the mesh crop from the detector
at its default size, 320) and `index.json` (shapes, the faces the crops start
from, the crop boxes, SHA-256 of each tensor). The tensors hold a face: write them only to a
temporary directory. `core/tests/golden.rs` and `core/tests/mesh_golden.rs`
run this to compare faceseal's own tensors with these element by element;
`make_golden.py` and `make_mesh_golden.py` import it.

Needs: numpy, pillow, onnxruntime.
"""
import hashlib
import json
import sys
from math import ceil, floor
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[2]

MODELS = {
    "detector": "retinaface_mnet025.onnx",
    "liveness0": "minifasnet_v2_2.7_80x80.onnx",
    "liveness1": "minifasnet_v1se_4.0_80x80.onnx",
    "embedder": "dlib_resnet_v1.onnx",
    "mesh": "facemesh.onnx",
}

# RetinaFace (biubug6/Pytorch_Retinaface): BGR minus these means.
DETECTOR_MEAN_BGR = (104.0, 117.0, 123.0)
DETECTOR_STRIDE_ALIGN = 32
SCORE_THRESHOLD = 0.9
NMS_IOU = 0.4
# Silent-Face-Anti-Spoofing: the two views' widening factors and input side.
LIVENESS_FACTORS = (2.7, 4.0)
LIVENESS_SIZE = 80
# dlib's 150x150 chip with padding 0.25: where the five points land.
CHIP_SIZE = 150
CHIP_POINTS = np.array([
    [47.549, 46.599],
    [100.476, 46.599],
    [74.013, 76.562],
    [50.415, 103.023],
    [97.610, 103.023],
])
# At most this many picture pixels per chip pixel before samples are averaged.
CHIP_SAMPLE_SPACING = 1.5
CHIP_MAX_SUBSAMPLES = 8
# @vladmandic/human's face mesh crop.
MESH_SCALE = 1.4
MESH_SIZE = 192
MESH_DET_SIZE = 320


def round_half_away(x):
    """Rounding as C and Rust do it (Python's round() goes to even)."""
    return floor(x + 0.5) if x >= 0 else -floor(-x + 0.5)


def find_model(dirs, name):
    for d in [*dirs, ROOT / "models"]:
        p = Path(d) / name
        if p.is_file():
            return str(p)
    sys.exit(f"model {name} not found in {dirs}")


def session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def decode(path):
    """The upright picture as an HxWx3 uint8 RGB array."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


# -- detector -----------------------------------------------------------------

def letterbox(rgb, long_side):
    """Long side scaled to `long_side` (Pillow's bilinear filter, which widens
    on downscale), right and bottom padded to a multiple of 32 with the mean
    colour, as BGR minus the mean in NCHW."""
    h, w = rgb.shape[:2]
    scale = long_side / max(w, h)
    rw = min(max(round_half_away(w * scale), 1), long_side)
    rh = min(max(round_half_away(h * scale), 1), long_side)
    if (rw, rh) != (w, h):
        rgb = np.asarray(Image.fromarray(rgb).resize((rw, rh), Image.BILINEAR))
    pw = ceil(rw / DETECTOR_STRIDE_ALIGN) * DETECTOR_STRIDE_ALIGN
    ph = ceil(rh / DETECTOR_STRIDE_ALIGN) * DETECTOR_STRIDE_ALIGN
    t = np.zeros((1, 3, ph, pw), dtype=np.float32)
    bgr = rgb[:, :, ::-1].astype(np.float32) - np.array(DETECTOR_MEAN_BGR, dtype=np.float32)
    t[0, :, :rh, :rw] = bgr.transpose(2, 0, 1)
    plan = {"plan_w": pw, "plan_h": ph, "inv_scale_x": w / rw, "inv_scale_y": h / rh,
            "width": w, "height": h}
    return t, plan


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


def decode_detections(loc, conf, lms, plan):
    """Pytorch_Retinaface's decoding: priors, variances 0.1 and 0.2, NMS."""
    w, h = plan["plan_w"], plan["plan_h"]
    p = priors(w, h)
    loc, lms = loc.astype(np.float64), lms.astype(np.float64)
    centres = p[:, :2] + loc[:, :2] * 0.1 * p[:, 2:]
    sizes = p[:, 2:] * np.exp(loc[:, 2:] * 0.2)
    boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1) * [w, h, w, h]
    pts = np.concatenate([p[:, :2] + lms[:, 2 * k:2 * k + 2] * 0.1 * p[:, 2:] for k in range(5)], axis=1)
    pts = pts * np.tile([w, h], 5)
    scores = conf[:, 1].astype(np.float64)
    keep = scores >= SCORE_THRESHOLD
    boxes, pts, scores = boxes[keep], pts[keep], scores[keep]
    sx, sy = plan["inv_scale_x"], plan["inv_scale_y"]
    W, H = plan["width"], plan["height"]
    out = []
    for i in nms(boxes, scores, NMS_IOU):
        b = np.clip(boxes[i] * [sx, sy, sx, sy], 0, [W, H, W, H])
        if (b[2] - b[0]) * (b[3] - b[1]) <= 0:
            continue
        out.append({"bbox": [float(v) for v in b],
                    "landmarks": [[float(x), float(y)] for x, y in pts[i].reshape(5, 2) * [sx, sy]],
                    "score": float(scores[i])})
    return out


def largest(faces):
    area = lambda f: (f["bbox"][2] - f["bbox"][0]) * (f["bbox"][3] - f["bbox"][1])
    return max(faces, key=area) if faces else None


# -- liveness -----------------------------------------------------------------

def silent_face_box(src_w, src_h, bbox, scale):
    """Silent-Face-Anti-Spoofing's CropImage._get_new_box on its integer
    (x, y, w, h) box; returns (left, top, right, bottom), inclusive."""
    x, y = int(bbox[0]), int(bbox[1])
    box_w, box_h = int(bbox[2] - bbox[0] + 1), int(bbox[3] - bbox[1] + 1)
    scale = min((src_h - 1) / box_h, min((src_w - 1) / box_w, scale))
    new_w, new_h = box_w * scale, box_h * scale
    cx, cy = box_w / 2 + x, box_h / 2 + y
    l, t, r, b = cx - new_w / 2, cy - new_h / 2, cx + new_w / 2, cy + new_h / 2
    if l < 0:
        r -= l
        l = 0
    if t < 0:
        b -= t
        t = 0
    if r > src_w - 1:
        l -= r - src_w + 1
        r = src_w - 1
    if b > src_h - 1:
        t -= b - src_h + 1
        b = src_h - 1
    return int(l), int(t), int(r), int(b)


def opencv_linear(img, out_w, out_h):
    """cv2.resize(..., INTER_LINEAR) on uint8: source coordinate
    (d + 0.5) * scale - 0.5, clamped to the edge, no antialiasing."""
    h, w = img.shape[:2]

    def axis(n_out, n_in):
        f = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
        i0 = np.floor(f)
        frac = f - i0
        frac[i0 < 0] = 0
        i0[i0 < 0] = 0
        over = i0 >= n_in - 1
        i0[over] = n_in - 1
        frac[over] = 0
        i0 = i0.astype(int)
        return i0, np.minimum(i0 + 1, n_in - 1), frac

    y0, y1, fy = axis(out_h, h)
    x0, x1, fx = axis(out_w, w)
    src = img.astype(np.float64)
    top = src[y0][:, x0] * (1 - fx)[None, :, None] + src[y0][:, x1] * fx[None, :, None]
    bot = src[y1][:, x0] * (1 - fx)[None, :, None] + src[y1][:, x1] * fx[None, :, None]
    out = top * (1 - fy)[:, None, None] + bot * fy[:, None, None]
    return np.clip(np.floor(out + 0.5), 0, 255).astype(np.uint8)


def liveness_tensor(rgb, bbox, factor):
    h, w = rgb.shape[:2]
    l, t, r, b = silent_face_box(w, h, bbox, factor)
    crop = opencv_linear(rgb[t:b + 1, l:r + 1], LIVENESS_SIZE, LIVENESS_SIZE)
    tensor = crop[:, :, ::-1].astype(np.float32).transpose(2, 0, 1)[None]
    return np.ascontiguousarray(tensor), [l, t, r, b]


# -- embedder -----------------------------------------------------------------

def similarity(src, dst):
    """Least-squares x' = a x - b y + tx, y' = b x + a y + ty, by lstsq."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst):
        rows += [[x, -y, 1, 0], [y, x, 0, 1]]
        rhs += [u, v]
    (a, b, tx, ty), *_ = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)
    return np.array([[a, -b, tx], [b, a, ty], [0, 0, 1]])


def bilinear_black(img, xs, ys):
    """Bilinear samples at pixel-index coordinates, black outside the picture."""
    h, w = img.shape[:2]
    pad = np.zeros((h + 2, w + 2, 3), dtype=np.float64)
    pad[1:-1, 1:-1] = img
    inside = (xs > -1) & (ys > -1) & (xs < w) & (ys < h)
    xs = np.where(inside, xs, 0) + 1
    ys = np.where(inside, ys, 0) + 1
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = (xs - x0)[..., None], (ys - y0)[..., None]
    x1, y1 = np.minimum(x0 + 1, w + 1), np.minimum(y0 + 1, h + 1)
    top = pad[y0, x0] * (1 - fx) + pad[y0, x1] * fx
    bot = pad[y1, x0] * (1 - fx) + pad[y1, x1] * fx
    return np.where(inside[..., None], top * (1 - fy) + bot * fy, 0)


def chip(rgb, landmarks):
    """The 150x150 chip: the similarity from the landmarks (moved to
    pixel-centre coordinates) onto dlib's points; each chip pixel averages
    sub x sub bilinear samples, sub = ceil(picture pixels per chip pixel / 1.5)."""
    to_chip = similarity(np.asarray(landmarks) - 0.5, CHIP_POINTS)
    to_src = np.linalg.inv(to_chip)
    scale = np.hypot(to_chip[0, 0], to_chip[1, 0])
    sub = int(min(max(ceil((1 / scale) / CHIP_SAMPLE_SPACING), 1), CHIP_MAX_SUBSAMPLES))
    offsets = (np.arange(sub) + 0.5) / sub - 0.5
    grid = np.arange(CHIP_SIZE)
    acc = np.zeros((CHIP_SIZE, CHIP_SIZE, 3))
    for dv in offsets:
        for du in offsets:
            u, v = np.meshgrid(grid + du, grid + dv)
            xs = to_src[0, 0] * u + to_src[0, 1] * v + to_src[0, 2]
            ys = to_src[1, 0] * u + to_src[1, 1] * v + to_src[1, 2]
            acc += bilinear_black(rgb, xs, ys)
    out = np.clip(np.floor(acc / (sub * sub) + 0.5), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(out.astype(np.float32).transpose(2, 0, 1)[None])


# -- face mesh ----------------------------------------------------------------

def mesh_box(bbox):
    """The package's square box: widened 1.4x about the centre, longer side,
    corners rounded to whole pixels; returns (left, top, side)."""
    x1, y1, x2, y2 = bbox
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half = MESH_SCALE * max(x2 - x1, y2 - y1) / 2
    left, top = round_half_away(cx - half), round_half_away(cy - half)
    return left, top, round_half_away(cx + half) - left


def mesh_tensor(rgb, bbox):
    """TensorFlow's crop_and_resize of the square box (bilinear, no
    antialiasing, black outside the picture), RGB / 255, NCHW."""
    h, w = rgb.shape[:2]
    left, top, side = mesh_box(bbox)
    # crop_and_resize with the box normalised by the picture size samples
    # y = y1 * (h - 1) + i * (y2 - y1) * (h - 1) / (size - 1).
    y1, y2 = top / h, (top + side) / h
    x1, x2 = left / w, (left + side) / w
    i = np.arange(MESH_SIZE)
    ys = y1 * (h - 1) + i * (y2 - y1) * (h - 1) / (MESH_SIZE - 1)
    xs = x1 * (w - 1) + i * (x2 - x1) * (w - 1) / (MESH_SIZE - 1)
    gx, gy = np.meshgrid(xs, ys)
    # crop_and_resize gives 0 where a coordinate leaves [0, size - 1].
    inside = (gx >= 0) & (gy >= 0) & (gx <= w - 1) & (gy <= h - 1)
    vals = bilinear_black(rgb, np.clip(gx, 0, w - 1), np.clip(gy, 0, h - 1))
    vals = np.where(inside[..., None], vals, 0)
    t = (vals / 255.0).astype(np.float32).transpose(2, 0, 1)[None]
    return np.ascontiguousarray(t), [left, top, side]


# -- the whole reference ----------------------------------------------------------

def sha256(t):
    return hashlib.sha256(np.ascontiguousarray(t, dtype="<f4").tobytes()).hexdigest()


def chip_points(landmarks):
    """The landmarks the chip is cut at: rounded to 1/1000 pixel, as the
    golden file stores them."""
    return [[round(float(x), 3), round(float(y), 3)] for x, y in landmarks]


def reference(sessions, picture, det_size, chip_landmarks=None):
    """Every model's reference input for one picture, with the detector's raw
    outputs and the detections the crops start from. The chip is cut at
    `chip_landmarks`, by default the largest face's (chip_points)."""
    rgb = decode(picture)
    det_in, plan = letterbox(rgb, det_size)
    loc, conf, lms = (o[0] for o in sessions["detector"].run(None, {"input": det_in}))
    faces = decode_detections(loc, conf, lms, plan)
    face = largest(faces)
    if face is None:
        sys.exit(f"{picture}: the reference detector finds no face")
    tensors = {"detector": det_in}
    crops = []
    for i, factor in enumerate(LIVENESS_FACTORS):
        tensors[f"liveness{i}"], box = liveness_tensor(rgb, face["bbox"], factor)
        crops.append(box)
    if chip_landmarks is None:
        chip_landmarks = chip_points(face["landmarks"])
    tensors["embedder"] = chip(rgb, chip_landmarks)
    # The mesh starts from the detector at its default size.
    if det_size == MESH_DET_SIZE:
        mesh_face = face
    else:
        mesh_in, mesh_plan = letterbox(rgb, MESH_DET_SIZE)
        outs = (o[0] for o in sessions["detector"].run(None, {"input": mesh_in}))
        mesh_face = largest(decode_detections(*outs, mesh_plan))
    tensors["mesh"], mesh_crop = mesh_tensor(rgb, mesh_face["bbox"])
    return {
        "tensors": tensors,
        "raw": (loc, conf, lms),
        "faces": faces,
        "plan": plan,
        "face": face,
        "liveness_crops": crops,
        "mesh_face": mesh_face,
        "mesh_crop": mesh_crop,
        "chip_landmarks": chip_landmarks,
    }


def sessions_for(dirs, names=tuple(MODELS)):
    return {k: session(find_model(dirs, MODELS[k])) for k in names}


def versions():
    import PIL
    return {"numpy": np.__version__, "pillow": PIL.__version__, "onnxruntime": ort.__version__}


def main():
    args = sys.argv[1:]
    chip_landmarks = None
    if args[:1] == ["--chip-landmarks"] and len(args) > 1:
        chip_landmarks = json.loads(args[1])
        args = args[2:]
    if len(args) < 5:
        sys.exit(__doc__)
    data, image, det_size, out = Path(args[0]), args[1], int(args[2]), Path(args[3])
    ref = reference(sessions_for(args[4:], ("detector",)), data / image, det_size, chip_landmarks)
    out.mkdir(parents=True, exist_ok=True)
    index = {"versions": versions(), "plan": ref["plan"], "face": ref["face"],
             "liveness_crops": ref["liveness_crops"], "mesh_face": ref["mesh_face"],
             "mesh_crop": ref["mesh_crop"], "chip_landmarks": ref["chip_landmarks"], "tensors": {}}
    for name, t in ref["tensors"].items():
        np.ascontiguousarray(t, dtype="<f4").tofile(out / f"{name}.f32")
        index["tensors"][name] = {"shape": list(t.shape), "sha256": sha256(t)}
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")


if __name__ == "__main__":
    main()
