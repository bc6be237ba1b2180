#!/usr/bin/env bash
# Builds the C device program of the end-to-end suite (tests/e2e/device.c)
# to OUT, against include/faceseal.h and the static library, with the
# warnings the suite requires. Needs the library built
# (cargo build -p faceseal-ffi); the target directory is CARGO_TARGET_DIR,
# or target/ at the repository's root.
#
#   tests/e2e/build-c-device.sh OUT
set -euo pipefail
out=${1:?usage: build-c-device.sh OUT}
root=$(cd "$(dirname "$0")/../.." && pwd)
lib=${CARGO_TARGET_DIR:-$root/target}/debug/libfaceseal.a
[ -f "$lib" ] || { echo "$lib not built: run cargo build -p faceseal-ffi" >&2; exit 1; }
cc -std=c11 -Wall -Wextra -Werror -I"$root/include" "$root/tests/e2e/device.c" "$lib" \
    -lpthread -ldl -lm -o "$out"
