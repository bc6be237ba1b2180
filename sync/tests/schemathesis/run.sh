#!/usr/bin/env bash
# The served OpenAPI document against a live `faceseal-sync serve`: a real
# server on a scratch SQLite database, one tenant, and schemathesis with
# every check on, once with the admin token (tenant administration) and
# once with the tenant's API key (everything else). Any failure fails.
#
# FACESEAL_SYNC_BIN: the binary (default: the debug build under
# CARGO_TARGET_DIR or target/). SCHEMATHESIS_MAX_EXAMPLES: cases per
# operation and phase (default 250: about a minute on two cores).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
bin=${FACESEAL_SYNC_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/faceseal-sync}
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-250}
[ -x "$bin" ] || { echo "no faceseal-sync binary at $bin (cargo build -p faceseal-sync)" >&2; exit 1; }

python3 -c "import schemathesis" 2>/dev/null || python3 -m pip install --quiet schemathesis

work=$(mktemp -d)
server=
cleanup() {
    local status=$?
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT

# schemathesis sends wrong credentials on purpose, thousands of times: the
# failed-authentication limits are raised so that it keeps reaching the routes.
: >"$work/serve.log"
"$bin" serve --listen 127.0.0.1:0 --db "$work/sync.db" --key-dir "$work/keys" \
    --auth-failures-per-credential 1000000 --auth-failures-per-address 1000000 \
    2>"$work/serve.log" &
server=$!
addr=
for _ in $(seq 100); do
    addr=$(sed -n 's|^listening on http://\([^ ]*\).*|\1|p' "$work/serve.log")
    [ -n "$addr" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
    sleep 0.1
done
[ -n "$addr" ] || { echo "the server did not start" >&2; cat "$work/serve.log" >&2; exit 1; }
base="http://$addr"
admin=$(cat "$work/keys/faceseal-sync.admin-token")

api_key=$(python3 - "$base" "$admin" <<'PY'
import json, sys, urllib.request
base, admin = sys.argv[1], sys.argv[2]
request = urllib.request.Request(
    base + "/v1/tenants",
    data=json.dumps({"tenant_id": "acme"}).encode(),
    headers={"Authorization": "Bearer " + admin, "Content-Type": "application/json"},
)
print(json.load(urllib.request.urlopen(request))["api_key"])
PY
)

run() {
    local name=$1; shift
    echo "== schemathesis ($name)"
    schemathesis --config-file "$here/schemathesis.toml" run "$base/v1/openapi.json" \
        --checks all \
        --max-examples "$max_examples" \
        --seed 1 \
        --workers 1 \
        --no-color \
        --generation-database none \
        --report junit --report-junit-path "$work/$name.xml" \
        "$@"
}
# schemathesis keeps its replay cache in the working directory: keep it in the scratch one.
cd "$work"
status=0
run tenant -H "Authorization: Bearer $api_key" --exclude-path-regex '^/(v1/tenants|metrics)' || status=1
run admin -H "Authorization: Bearer $admin" --include-path-regex '^/(v1/tenants|metrics)' || status=1
exit $status
