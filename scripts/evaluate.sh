#!/usr/bin/env bash
# The main job: build the command-line tool and measure faceseal on the
# evaluation data: LFW verification, detection, liveness on the NUAA train
# split, and per-stage speed. Measures every figure of figures.json that
# `scripts/figures.py list` marks `main`, checks them against the committed
# file, and prints a one-run speed comparison with onnxruntime.
#
# Needs FACESEAL_MODEL_DIR and FACESEAL_DATA_DIR, as scripts/test-all.sh.
# PROFILE=release gives the speed figures of an optimised build (a second,
# slower build); the default reuses the test build.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${FACESEAL_MODEL_DIR:?set FACESEAL_MODEL_DIR to the directory holding the liveness models}"
: "${FACESEAL_DATA_DIR:?set FACESEAL_DATA_DIR to the evaluation data directory}"
export FACESEAL_MODEL_DIR
data=$FACESEAL_DATA_DIR
profile=${PROFILE:-dev}

# Build what the tests build (every target, dev-dependencies included):
# the same feature resolution means the test build's artifacts are reused
# instead of compiling tract a second time.
cargo build --locked --profile "$profile" --workspace --all-targets
dir=${CARGO_TARGET_DIR:-target}/$([ "$profile" = dev ] && echo debug || echo "$profile")
faceseal="$dir/faceseal"

step() { echo; echo "== $*"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Every figure of the main evaluation, measured afresh into a scratch
# figures file (each command and its values are printed as it goes), then
# compared with the committed figures.json: an accuracy figure that moved
# beyond its tolerance fails the job. Speed figures are printed only.
step "scripts/figures.py run --main"
FACESEAL_BIN=$dir FACESEAL_BUILD="$([ "$profile" = dev ] && echo test || echo "$profile") build" \
  python3 scripts/figures.py run --main --into "$tmp/figures.json"
step "scripts/figures.py check --against the fresh figures"
python3 scripts/figures.py check --against "$tmp/figures.json"
step "faceseal bench --images $data/nuaa/ClientRaw --limit 200 ($profile build), against onnxruntime on the same frames"
"$faceseal" bench --images "$data/nuaa/ClientRaw" --limit 200 --json > "$tmp/faceseal.json"
python3 scripts/bench_onnxruntime.py "$data/nuaa/ClientRaw" ${FACESEAL_MODEL_DIR//:/ } --limit 200 --json > "$tmp/onnxruntime.json"
python3 - "$tmp/faceseal.json" "$tmp/onnxruntime.json" <<'PY'
import json, sys
ours, ort = (json.load(open(p)) for p in sys.argv[1:3])
print(f"{'stage':<9} {'faceseal':>10} {'onnxruntime':>12}   (median ms, one thread)")
for stage in ("decode", "detect", "align", "liveness", "embed", "total"):
    print(f"{stage:<9} {ours['stages'][stage]['median_ms']:10.2f} {ort['stages'][stage]['median_ms']:12.2f}")
print(f"ratio faceseal/onnxruntime (total median): {ours['median_ms'] / ort['median_ms']:.2f}")
print(f"peak RSS: faceseal {ours['peak_rss_mb']:.1f} MB, onnxruntime {ort['peak_rss_mb']:.1f} MB")
PY
