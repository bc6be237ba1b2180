#!/usr/bin/env bash
# Builds every fuzz target with cargo-fuzz and runs each for a bounded time,
# seeded from the matching testdata/ folder. Any crash, leak or timeout found
# makes the script exit non-zero; the failing input is kept under
# fuzz/artifacts/TARGET/.
#
#   fuzz/run.sh                 every target, FUZZ_SECONDS (default 20) each
#   fuzz/run.sh open_envelope   one target
#
# FUZZ_SANITIZER (default address; none builds faster) and FUZZ_TARGET_DIR
# are passed to cargo-fuzz; keep the target directory between CI runs to
# skip the build.
#
# Toolchain: cargo-fuzz passes -Z flags, so it needs nightly. Uses the
# installed nightly, else installs a minimal one, else falls back to the
# stable toolchain with RUSTC_BOOTSTRAP=1 (FUZZ_TOOLCHAIN=stable forces that).
# Installs cargo-fuzz if `cargo fuzz` is missing. Builds in fuzz/target (or
# FUZZ_TARGET_DIR), apart from the main build. Seeds are copied to a
# temporary corpus: testdata/ is never written.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=${FUZZ_SECONDS:-20}
target_dir=${FUZZ_TARGET_DIR:-$root/fuzz/target}

# Each target and the testdata folder its seeds come from (none: no seeds).
declare -A seeds=(
    [decode_image]=picture
    [decode_raw]=raw
    [open_envelope]=envelope
    [sync_open_envelope]=envelope
    [template_from_bytes]=template
)

start=$SECONDS
toolchain=()
if [ "${FUZZ_TOOLCHAIN:-}" = stable ]; then
    export RUSTC_BOOTSTRAP=1
elif rustup run nightly rustc --version >/dev/null 2>&1; then
    toolchain=(+nightly)
elif rustup toolchain install nightly --profile minimal >/dev/null 2>&1; then
    toolchain=(+nightly)
else
    echo "== no nightly toolchain: building with stable and RUSTC_BOOTSTRAP=1"
    export RUSTC_BOOTSTRAP=1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked --quiet
fi
echo "== toolchain: $(cargo "${toolchain[@]}" --version)${RUSTC_BOOTSTRAP:+ (RUSTC_BOOTSTRAP=1)}, $(cargo fuzz --version)"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo "${toolchain[@]}" fuzz list)
fi
for t in "${targets[@]}"; do
    [ -n "${seeds[$t]+set}" ] || { echo "fuzz/run.sh: no seed folder named for target $t" >&2; exit 2; }
done

build=(--release --debug-assertions --sanitizer "${FUZZ_SANITIZER:-address}" --target-dir "$target_dir")
echo "== building ${#targets[@]} target(s) in $target_dir"
if [ $# -eq 0 ]; then
    cargo "${toolchain[@]}" fuzz build "${build[@]}"
else
    for t in "${targets[@]}"; do cargo "${toolchain[@]}" fuzz build "${build[@]}" "$t"; done
fi
echo "== built after $((SECONDS - start)) s"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for t in "${targets[@]}"; do
    corpus="$work/$t"
    mkdir -p "$corpus"
    folder=${seeds[$t]}
    if [ "$folder" != none ]; then
        cp "testdata/$folder"/* "$corpus"/
    fi
    echo "== $t: $(ls "$corpus" | wc -l) seed(s) from testdata/$folder, ${seconds} s"
    t0=$SECONDS
    if (cargo "${toolchain[@]}" fuzz run "${build[@]}" "$t" "$corpus" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$work/$t.log" 2>&1); then
        echo "   ok in $((SECONDS - t0)) s: $(grep -E '^stat::number_of_executed_units' "$work/$t.log" | awk '{print $2}') runs"
    else
        echo "   FAILED ($t): last lines of its log:"
        tail -n 30 "$work/$t.log"
        failed+=("$t")
    fi
done

echo "== fuzzing took $((SECONDS - start)) s in all"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz targets that failed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
