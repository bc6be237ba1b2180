#!/usr/bin/env bash
# The C API test: compiles faceseal_test.c with -Wall -Wextra -Werror -std=c11
# against include/faceseal.h, links it once to libfaceseal.so and once to
# libfaceseal.a, and runs both with AddressSanitizer and LeakSanitizer (any
# invalid access in the C code, or any leak of memory allocated on either
# side of the boundary, fails the run). Then builds examples/kiosk.c the same
# way and runs it on real pictures.
#
# CHECKER=valgrind runs under valgrind instead (uninstrumented binaries;
# planning the models under valgrind takes many minutes), CHECKER=none with
# neither. Needs the library built (scripts/test-all.sh builds the workspace
# first), FACESEAL_MODEL_DIR and FACESEAL_DATA_DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
: "${FACESEAL_MODEL_DIR:?set FACESEAL_MODEL_DIR}"
: "${FACESEAL_DATA_DIR:?set FACESEAL_DATA_DIR}"
lib=${CARGO_TARGET_DIR:-$root/target}/debug
[ -f "$lib/libfaceseal.so" ] && [ -f "$lib/libfaceseal.a" ] || {
    echo "libfaceseal.so/.a not built in $lib: run cargo build --workspace --all-targets" >&2
    exit 1
}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

checker=${CHECKER:-asan}
cflags=(-Wall -Wextra -Werror -std=c11 -g -I"$root/include")
if [ "$checker" = asan ]; then
    cflags+=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
fi
# What a Rust static library needs from the system (rustc --print native-static-libs).
static_libs=(-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc)

gcc "${cflags[@]}" ffi/tests/c/faceseal_test.c -o "$out/test_shared" \
    -L"$lib" -lfaceseal -Wl,-rpath,"$lib" -lpthread
gcc "${cflags[@]}" ffi/tests/c/faceseal_test.c -o "$out/test_static" \
    "$lib/libfaceseal.a" "${static_libs[@]}"
gcc "${cflags[@]}" examples/kiosk.c -o "$out/kiosk" "$lib/libfaceseal.a" "${static_libs[@]}"
if ldd "$out/test_static" | grep -q libfaceseal; then
    echo "test_static links libfaceseal dynamically" >&2
    exit 1
fi

run=()
case "$checker" in
    valgrind)
        run=(valgrind --quiet --fair-sched=yes --error-exitcode=1 --leak-check=full
             --suppressions="$root/ffi/tests/c/valgrind.supp"
             --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect) ;;
    asan)
        export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=1
        export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ;;
    none) ;;
    *) echo "CHECKER must be asan, valgrind or none" >&2; exit 2 ;;
esac
for variant in shared static; do
    echo "-- faceseal_test linked to libfaceseal.$([ $variant = shared ] && echo so || echo a), checker: $checker"
    "${run[@]}" "$out/test_$variant" "$root/models" "$FACESEAL_DATA_DIR"
done

echo "-- examples/kiosk.c"
# A NUAA live burst (the first five frames of one recording, as the tests
# pick them), the RFC 7748 test public key, and a fresh nonce.
nuaa=$FACESEAL_DATA_DIR/nuaa
mapfile -t burst < <(grep '/0003_01_00_01_' "$nuaa/clientraw_train.txt" | sort -t_ -k5 -n | head -5 |
    sed "s|^|$nuaa/ClientRaw/|")
nonce=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
FACESEAL_MODEL_DIR="$FACESEAL_MODEL_DIR:$root/models" "${run[@]}" "$out/kiosk" enrol acme \
    8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a \
    5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a 1 1024 8 standard "$nonce" \
    visitor-0001 consent-kiosk-0001 "$out/envelope.bin" "${burst[@]}"
[ "$(head -c 4 "$out/envelope.bin")" = FSSE ] || { echo "kiosk wrote no envelope" >&2; exit 1; }
