#!/usr/bin/env bash
# Cross builds, for release checks (each target builds the models runtime
# cold, about 10 minutes or more on 2 cores, so CI does not run this):
#   - the static library for Android (aarch64-linux-android) and iOS
#     (aarch64-apple-ios): crate type staticlib only, which needs no target
#     linker; clang assembles the runtime's arm64 kernels;
#   - the core test suite on aarch64-unknown-linux-gnu under qemu-user, which
#     runs the runtime's NEON code paths against the same golden outputs and
#     real-picture tests as x86-64.
#
# Needs FACESEAL_MODEL_DIR and FACESEAL_DATA_DIR for the test suite, and
# (Debian) gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user clang.
# Pass target names to run only some: android ios linux.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- android ios linux

missing=()
command -v clang >/dev/null || missing+=(clang)
command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
fi
rustup target add aarch64-linux-android aarch64-apple-ios aarch64-unknown-linux-gnu >/dev/null

staticlib() {
    local target=$1
    echo "== libfaceseal.a for $target"
    cargo rustc --locked -p faceseal-ffi --lib --target "$target" --crate-type staticlib
    ls -l "${CARGO_TARGET_DIR:-target}/$target/debug/libfaceseal.a"
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
        # No SDK is needed to assemble the kernels; SDKROOT keeps the build
        # scripts from asking xcrun for one.
        SDKROOT=/ CC_aarch64_apple_ios=clang \
        CFLAGS_aarch64_apple_ios="--target=arm64-apple-ios13.0" \
        AR_aarch64_apple_ios=llvm-ar \
            staticlib aarch64-apple-ios
        ;;
    linux)
        : "${FACESEAL_MODEL_DIR:?set FACESEAL_MODEL_DIR}"
        : "${FACESEAL_DATA_DIR:?set FACESEAL_DATA_DIR}"
        echo "== faceseal-core tests on aarch64-unknown-linux-gnu under qemu-user"
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc \
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L /usr/aarch64-linux-gnu" \
        CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
            cargo test --locked -p faceseal-core --target aarch64-unknown-linux-gnu
        ;;
    *)
        echo "unknown step $step (android, ios, linux)" >&2
        exit 2
        ;;
    esac
done
