#!/usr/bin/env bash
# Compiles the generated Kotlin bindings and tests/EnrolVerify.kt with kotlinc
# (JNA from Debian's libjna-java) and runs the test on the JVM against the
# built libfaceseal.so.
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
    bindings/kotlin/org/faceseal/*.kt bindings/kotlin/tests/EnrolVerify.kt
java -Djna.library.path="$lib" -cp "$out/test.jar:$jna" EnrolVerifyKt \
    "$FACESEAL_MODEL_DIR:$root/models" "$FACESEAL_DATA_DIR"
