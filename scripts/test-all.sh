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

# Python: the envelope opener (cryptography), the golden tests' independent
# preprocessing (numpy, pillow, onnxruntime) and the Swift parse (tree-sitter).
python3 -c "import cryptography, numpy, PIL, onnxruntime, tree_sitter, tree_sitter_swift" 2>/dev/null ||
    python3 -m pip install --quiet cryptography numpy pillow onnxruntime tree-sitter tree-sitter-swift

# The bindings' tests: valgrind (optional checker of the C API test), JNA and kotlinc for Kotlin.
missing=()
command -v valgrind >/dev/null || missing+=(valgrind)
[ -f /usr/share/java/jna.jar ] || missing+=(libjna-java)
command -v java >/dev/null || missing+=(default-jdk-headless)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi
kotlin_home=${XDG_CACHE_HOME:-$HOME/.cache}/faceseal-kotlin
if [ -z "${KOTLINC:-}" ] && [ ! -x "$kotlin_home/node_modules/kotlin-compiler/bin/kotlinc" ]; then
    mkdir -p "$kotlin_home"
    (cd "$kotlin_home" && npm install --silent --no-audit --no-fund kotlin-compiler@2.4.20 >/dev/null)
fi
export KOTLINC=${KOTLINC:-$kotlin_home/node_modules/kotlin-compiler/bin/kotlinc}

# The sync service's tests run on PostgreSQL too, against a real server
# (installed from the Debian package if missing); they fail without it.
if [ -z "${FACESEAL_SYNC_TEST_DATABASE_URL:-}" ] && [ "${FACESEAL_SYNC_TEST_SKIP_POSTGRES:-}" != 1 ]; then
    FACESEAL_SYNC_TEST_DATABASE_URL=$(sync/scripts/test-postgres.sh)
    # Its connections are TLS, verified against the cluster's own CA: the
    # service reads the CA file from FACESEAL_SYNC_DATABASE_CA, as do the
    # tests that connect in process.
    FACESEAL_SYNC_DATABASE_CA=$(sync/scripts/test-postgres.sh ca)
    export FACESEAL_SYNC_TEST_DATABASE_URL FACESEAL_SYNC_DATABASE_CA
    trap 'sync/scripts/test-postgres.sh stop' EXIT
fi


# Each step is announced with the minutes and seconds since the start.
step() { printf '== [%d:%02d] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }
step "the figure tables of README.md and docs/ are the rendering of figures.json"
python3 scripts/figures.py check
step "the crate graph follows the layers (docs/architecture.md)"
python3 scripts/check-layers.py
step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "cargo test"
cargo test --workspace --locked
step "the sync service's OpenAPI document against a live server (schemathesis)"
sync/tests/schemathesis/run.sh
# The bindings use the library the tests built (same feature resolution).
cargo build --workspace --all-targets --locked --quiet
step "generated header and bindings are current"
scripts/gen-bindings.sh --check
step "C API: enrol and verify, every error path, with AddressSanitizer and LeakSanitizer (.so and .a)"
ffi/tests/c/run.sh
step "Kotlin bindings on the JVM"
bindings/kotlin/run-test.sh
step "Swift bindings and examples parse"
python3 bindings/swift/check_syntax.py bindings/swift
python3 bindings/swift/check_syntax.py examples/ios
step "end to end: real faceseal-sync processes (SQLite, PostgreSQL) driven through the C ABI, Kotlin on the JVM and the CLI"
python3 tests/e2e/run.py
step "all tests passed"
