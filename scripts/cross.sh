#!/usr/bin/env bash
# Cross builds (each target builds the models runtime cold, about 5 minutes
# on 2 cores; CI runs the two static libraries, not the emulated tests):
#   - the static library for Android (aarch64-linux-android) and iOS
#     (aarch64-apple-ios): crate type staticlib only, which needs no target
#     linker; clang assembles the runtime's arm64 kernels;
#   - the core test suite on aarch64-unknown-linux-gnu under qemu-user, which
#     runs the runtime's NEON code paths against the same golden outputs and
#     real-picture tests as x86-64.
#
# Needs FACESEAL_MODEL_DIR and FACESEAL_DATA_DIR for the test suite; installs
# what is missing (Debian: clang llvm, and for the test suite
# gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user).
# Pass target names to run only some: android ios linux.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- android ios linux

missing=()
command -v clang >/dev/null || missing+=(clang)
command -v llvm-ar >/dev/null || missing+=(llvm)
if [[ " $* " == *" linux "* ]]; then
    command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
    command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
fi
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi
rustup target add aarch64-linux-android aarch64-apple-ios aarch64-unknown-linux-gnu >/dev/null

staticlib() {
    local target=$1
    echo "== libfaceseal.a for $target"
    # CROSS_CHECK=1 builds the dependencies unoptimised: the library is then
    # only a check that everything compiles, assembles and links for the
    # target, in less than half the time; it is not the library to ship.
    local quick=()
    [ "${CROSS_CHECK:-0}" = 1 ] && quick=(--config 'profile.dev.package."*".opt-level=0')
    cargo rustc --locked "${quick[@]}" -p faceseal-ffi --lib --target "$target" --crate-type staticlib
    local lib="${CARGO_TARGET_DIR:-target}/$target/debug/libfaceseal.a"
    ls -l "$lib"
    # The C entry points are there (Mach-O names carry a leading underscore).
    local symbols
    symbols=$(llvm-nm --defined-only "$lib" 2>/dev/null | grep -cE " T _?faceseal_" || true)
    echo "$symbols faceseal_ functions defined"
    [ "$symbols" -gt 0 ]
}

for step in "$@"; do
    case $step in
    android)
        CC_aarch64_linux_android=clang \
        CFLAGS_aarch64_linux_android="--target=aarch64-linux-android21" \
        AR_aarch64_linux_android=llvm-ar \
            staticlib aarch64-linux-android
        ;;
    ios)
        # No SDK is needed to assemble the kernels, but the build scripts ask
        # xcrun for one unless SDKROOT names an existing directory: an empty
        # one will do (clang finds no system header in it, and needs none).
        sdk="$(realpath "${CARGO_TARGET_DIR:-target}")/empty-iPhoneOS.sdk"
        mkdir -p "$sdk"
        SDKROOT="$sdk" IPHONEOS_DEPLOYMENT_TARGET=13.0 CC_aarch64_apple_ios=clang \
        CFLAGS_aarch64_apple_ios="--target=arm64-apple-ios13.0" \
        AR_aarch64_apple_ios=llvm-ar \
            staticlib aarch64-apple-ios
        ;;
    linux)
        : "${FACESEAL_MODEL_DIR:?set FACESEAL_MODEL_DIR}"
        : "${FACESEAL_DATA_DIR:?set FACESEAL_DATA_DIR}"
        echo "== faceseal-protect, faceseal-vision and faceseal-core tests on aarch64-unknown-linux-gnu under qemu-user"
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu" \
        CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
            cargo test --locked -p faceseal-protect -p faceseal-vision -p faceseal-core --target aarch64-unknown-linux-gnu
        ;;
    *)
        echo "unknown step $step (android, ios, linux)" >&2
        exit 2
        ;;
    esac
done
