#!/usr/bin/env bash
# Builds the Kotlin device program of the end-to-end suite (tests/e2e/Device.kt,
# against the generated bindings and JNA, as bindings/kotlin/run-test.sh does)
# and writes OUT: an executable script that runs it on the JVM with the
# arguments it is given (see Device.kt for them), and OUT.jar beside it.
#
# usage: tests/e2e/build-kotlin-device.sh OUT [LIB_DIR]
#   LIB_DIR: the directory of the built libfaceseal.so (default: the cargo
#   target's debug directory); the wrapper takes FACESEAL_LIB_DIR instead
#   when it is set at run time.
# KOTLINC: the kotlinc to use (default: kotlinc on PATH); JNA_JAR: JNA's jar
# (default: Debian's libjna-java).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: build-kotlin-device.sh OUT [LIB_DIR]}
lib=${2:-${CARGO_TARGET_DIR:-$root/target}/debug}
kotlinc=${KOTLINC:-kotlinc}
jna=${JNA_JAR:-/usr/share/java/jna.jar}
[ -f "$lib/libfaceseal.so" ] || { echo "no libfaceseal.so in $lib: build -p faceseal-ffi first" >&2; exit 1; }
[ -f "$jna" ] || { echo "no JNA jar at $jna: set JNA_JAR" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
lib=$(cd "$lib" && pwd)
jna=$(cd "$(dirname "$jna")" && pwd)/$(basename "$jna")

"$kotlinc" -nowarn -cp "$jna" -include-runtime -d "$out.jar" \
    "$root"/bindings/kotlin/org/faceseal/*.kt "$root/tests/e2e/Device.kt"

cat >"$out" <<WRAPPER
#!/bin/sh
# The Kotlin device program (built by tests/e2e/build-kotlin-device.sh).
exec java -Djna.library.path="\${FACESEAL_LIB_DIR:-$lib}" -cp "$out.jar:$jna" DeviceKt "\$@"
WRAPPER
chmod +x "$out"
