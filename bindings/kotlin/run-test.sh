#!/usr/bin/env bash
# Compiles the generated Kotlin bindings, the tests (tests/*.kt) and the
# Android example (examples/android: it needs no Android class) with kotlinc
# (JNA from Debian's libjna-java) and runs the tests on the JVM against the
# built libfaceseal.so: EnrolVerify (one-shot calls) and CaptureSession
# (capture sessions on NUAA bursts).
#
# KOTLINC: the kotlinc to use (default: kotlinc on PATH). Needs the library
# built, FACESEAL_MODEL_DIR and FACESEAL_DATA_DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
: "${FACESEAL_MODEL_DIR:?set FACESEAL_MODEL_DIR}"
: "${FACESEAL_DATA_DIR:?set FACESEAL_DATA_DIR}"
kotlinc=${KOTLINC:-kotlinc}
jna=${JNA_JAR:-/usr/share/java/jna.jar}
lib=${CARGO_TARGET_DIR:-$root/target}/debug
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$kotlinc" -nowarn -cp "$jna" -include-runtime -d "$out/test.jar" \
    bindings/kotlin/org/faceseal/*.kt bindings/kotlin/tests/*.kt examples/android/FaceCheck.kt
for test in EnrolVerifyKt CaptureSessionKt; do
    echo "== $test"
    java -Djna.library.path="$lib" -cp "$out/test.jar:$jna" "$test" \
        "$FACESEAL_MODEL_DIR:$root/models" "$FACESEAL_DATA_DIR"
done
