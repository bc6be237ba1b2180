#!/usr/bin/env python3
"""The workspace's crates are the layers of the architecture
(docs/architecture.md): a crate may depend only on crates of lower layers,
and only the tools may depend on the evaluation crate. Reads `cargo metadata`;
exits 1 on an upward edge, an unknown crate or a cycle, 0 otherwise, and
prints the graph.

    scripts/check-layers.py
"""

import json
import subprocess
import sys

# Lowest first. Crates of one layer may not depend on each other unless the
# edge is listed in SAME_LAYER.
LAYERS = [
    ("protection", ["faceseal-protect"]),
    ("vision", ["faceseal-vision"]),
    ("SDK", ["faceseal-core"]),
    ("split-trust protection", ["faceseal-split"]),
    ("bindings and services", ["faceseal-ffi", "faceseal-sync", "faceseal-keyholder"]),
    ("evaluation", ["faceseal-eval"]),
    ("tools", ["faceseal-cli", "faceseal-uniffi-bindgen"]),
]
SAME_LAYER = set()
# Only these may reach the evaluation crate (normal dependencies).
EVALUATION_USERS = {"faceseal-cli"}
# What ships to users: the SDK's library and the two server processes.
SHIPPED = ["faceseal-ffi", "faceseal-sync", "faceseal-keyholder"]


def main():
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps", "--offline"],
            check=True, stdout=subprocess.PIPE, text=True,
        ).stdout
    )
    layer_of = {name: i for i, (_, names) in enumerate(LAYERS) for name in names}
    members = {p["name"]: p for p in meta["packages"]}
    failures = []
    for name in members:
        if name not in layer_of:
            failures.append(f"{name}: not placed in a layer (scripts/check-layers.py)")
    for name, pkg in sorted(members.items(), key=lambda kv: layer_of.get(kv[0], 99)):
        deps = sorted(
            d["name"] for d in pkg["dependencies"]
            if d["name"] in members and d.get("kind") in (None, "normal", "build")
        )
        print(f"{LAYERS[layer_of[name]][0] if name in layer_of else '?':<26} {name:<24} -> {', '.join(deps) or '(none)'}")
        for dep in deps:
            if name not in layer_of or dep not in layer_of:
                continue
            if layer_of[dep] > layer_of[name] or (layer_of[dep] == layer_of[name] and (name, dep) not in SAME_LAYER):
                failures.append(f"{name} -> {dep}: points up or sideways")
            if dep == "faceseal-eval" and name not in EVALUATION_USERS:
                failures.append(f"{name} -> faceseal-eval: evaluation code outside the tools")
    # Built as shipped (alone), the libraries and the server carry no
    # evaluation code: the protection crate's `evaluation` feature is off.
    for name in SHIPPED:
        tree = subprocess.run(
            ["cargo", "tree", "-p", name, "-e", "features,normal,build", "--offline", "--prefix", "none"],
            check=True, stdout=subprocess.PIPE, text=True,
        ).stdout
        if 'faceseal-protect feature "evaluation"' in tree:
            failures.append(f"{name}: built alone, it enables the evaluation code")
        else:
            print(f"{name}: built alone, no evaluation code")
    for f in failures:
        print(f"check-layers: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
