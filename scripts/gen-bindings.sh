#!/usr/bin/env bash
# Regenerates every generated source of the bindings from the code:
#   include/faceseal.h          cbindgen, from ffi/src/c (ffi/cbindgen.toml)
#   bindings/kotlin/org/faceseal uniffi, from the built library's metadata
#   bindings/swift/Sources      uniffi, likewise
# `--check` regenerates into a temporary directory instead and fails, with a
# diff, when the checked-in sources differ (CI runs this).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
check=${1:-}
target=${CARGO_TARGET_DIR:-$root/target}

# The tests' build (same feature resolution, so nothing is compiled twice)
# makes libfaceseal.so and the uniffi-bindgen tool.
cargo build --locked --workspace --all-targets --quiet
lib=$target/debug/libfaceseal.so
bindgen=$target/debug/uniffi-bindgen

if [ "$check" = --check ]; then
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    cargo test --locked --quiet --workspace --test header
else
    out=$root
    FACESEAL_BLESS=1 cargo test --locked --quiet --workspace --test header
fi

rm -rf "$out/bindings/kotlin/org" "$out/bindings/swift/Sources"
"$bindgen" generate --library "$lib" --language kotlin --no-format \
    --out-dir "$out/bindings/kotlin" >/dev/null
"$bindgen" generate --library "$lib" --language swift --no-format \
    --out-dir "$out/bindings/swift/Sources/Faceseal" >/dev/null
# The C half of the Swift bindings is a module of its own.
mkdir -p "$out/bindings/swift/Sources/FacesealFFI/include"
mv "$out/bindings/swift/Sources/Faceseal/FacesealFFI.h" \
    "$out/bindings/swift/Sources/FacesealFFI/include/FacesealFFI.h"
mv "$out/bindings/swift/Sources/Faceseal/FacesealFFI.modulemap" \
    "$out/bindings/swift/Sources/FacesealFFI/include/module.modulemap"

if [ "$check" = --check ]; then
    stale=0
    for dir in bindings/kotlin/org bindings/swift/Sources; do
        diff -ru "$dir" "$out/$dir" || stale=1
    done
    if [ $stale != 0 ]; then
        echo "the generated bindings are stale: run scripts/gen-bindings.sh and commit the result" >&2
        exit 1
    fi
    echo "bindings are current"
fi
