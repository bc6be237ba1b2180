#!/usr/bin/env bash
# Every test of the project: formatting, lints, unit, property, golden and
# end-to-end tests against the real models and evaluation pictures.
#
# Needs FACESEAL_MODEL_DIR (directories holding the liveness models; the
# bundled models/ is searched too) and FACESEAL_DATA_DIR (the evaluation data).
set -euo pipefail
cd "$(dirname "$0")/.."

: "${FACESEAL_MODEL_DIR:?set FACESEAL_MODEL_DIR to the directory holding the liveness models}"
: "${FACESEAL_DATA_DIR:?set FACESEAL_DATA_DIR to the evaluation data directory}"
export FACESEAL_MODEL_DIR FACESEAL_DATA_DIR

python3 -c "import cryptography" 2>/dev/null || python3 -m pip install --quiet cryptography

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
# The bindings use the library the tests built (same feature resolution).
cargo build --workspace --all-targets --locked --quiet
echo "== generated header and bindings are current"
scripts/gen-bindings.sh --check
echo "== C API: enrol and verify, every error path, with AddressSanitizer and LeakSanitizer (.so and .a)"
ffi/tests/c/run.sh
echo "== Kotlin bindings on the JVM"
bindings/kotlin/run-test.sh
echo "== Swift bindings and examples parse"
python3 bindings/swift/check_syntax.py bindings/swift
python3 bindings/swift/check_syntax.py examples/ios
