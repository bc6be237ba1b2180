#!/usr/bin/env bash
# The product path on real frames, from the shell: starts a throwaway
# faceseal-sync (embedded SQLite in a temporary directory, on a free loopback
# port), makes a tenant, a subject and its consents, enrols a NUAA live burst
# through a capture session, then verifies another burst of the same person,
# a burst of another person and a printed-photo attack, printing each
# decision. Everything is removed at the end.
#
# Needs FACESEAL_MODEL_DIR (the liveness models) and FACESEAL_DATA_DIR (the
# evaluation data, for its NUAA frames); FACESEAL_BIN, when set, names a
# directory holding faceseal and faceseal-sync already built. Exit status 0 when the four
# decisions are the expected ones, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."

: "${FACESEAL_MODEL_DIR:?set FACESEAL_MODEL_DIR to the directory holding the liveness models}"
: "${FACESEAL_DATA_DIR:?set FACESEAL_DATA_DIR to the evaluation data directory}"
export FACESEAL_MODEL_DIR="$FACESEAL_MODEL_DIR:$PWD/models"
nuaa=$FACESEAL_DATA_DIR/nuaa

if [ -n "${FACESEAL_BIN:-}" ]; then
    # Already built (`cargo build --workspace --all-targets` puts both here).
    bin=$FACESEAL_BIN
else
    echo "== building faceseal and faceseal-sync (a first build takes a while; later ones are quick)"
    cargo build --locked --quiet -p faceseal-cli -p faceseal-sync
    bin=${CARGO_TARGET_DIR:-target}/debug
fi
for tool in faceseal faceseal-sync; do
    [ -x "$bin/$tool" ] || { echo "demo.sh: no $bin/$tool" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/faceseal-demo.XXXXXX")
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
# The service's files stay in the temporary directory, none of the caller's
# configuration is used.
sync_env=(env -u FACESEAL_SYNC_KEK -u FACESEAL_SYNC_KEK_FILE -u FACESEAL_SYNC_ADMIN_TOKEN
    -u FACESEAL_SYNC_DATABASE_URL -u FACESEAL_SYNC_KEY_DIR HOME="$work")
storage=(--db "$work/sync.db" --key-dir "$work/keys")

# Five frames of one NUAA session, in frame-number order: LIST FOLDER SESSION FIRST
frames() {
    grep "/$3_" "$nuaa/$1" | awk -F_ '{ n = $NF; sub(/\.jpg$/, "", n); print n "\t" $0 }' |
        sort -n | cut -f2 | sed -n "$(($4 + 1)),$(($4 + 5))p" | sed "s|^|$nuaa/$2/|"
}

echo "== a throwaway faceseal-sync"
# The match threshold is LFW's operating point at a false-accept rate of 1e-3
# in the protected domain (`faceseal eval lfw --protected`, fitted on LFW, never
# on NUAA): at the default, LFW's equal-error point, the embedder takes most
# pairs of NUAA's nine people for one person (README.md, "Figures").
match_threshold=0.717
tenant=$("${sync_env[@]}" "$bin/faceseal-sync" tenant create demo "${storage[@]}" \
    --liveness-level standard --match-threshold $match_threshold 2>/dev/null)
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
FACESEAL_API_KEY=$(field "$tenant" api_key)
FACESEAL_TEMPLATE_SECRET=$(field "$tenant" template_secret)
export FACESEAL_API_KEY FACESEAL_TEMPLATE_SECRET
"${sync_env[@]}" "$bin/faceseal-sync" serve --listen 127.0.0.1:0 "${storage[@]}" \
    >/dev/null 2>"$work/serve.log" &
server_pid=$!
for _ in $(seq 300); do
    FACESEAL_SERVER=$(sed -n 's|^listening on \(http://[^ ]*\).*|\1|p' "$work/serve.log" 2>/dev/null || true)
    [ -n "$FACESEAL_SERVER" ] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
    sleep 0.1
done
export FACESEAL_SERVER
echo "tenant 'demo': Standard liveness level, match threshold $match_threshold; serving on $FACESEAL_SERVER"

subject=person-0004
"$bin/faceseal" subject create "$subject" >/dev/null
enrol_consent=$("$bin/faceseal" consent grant --subject "$subject" --purpose enrol)
verify_consent=$("$bin/faceseal" consent grant --subject "$subject" --purpose verify)
echo "subject $subject, with consents to enrol and to verify"

failures=0
# TITLE EXPECTED-EXIT COMMAND LIST FOLDER SESSION FIRST
step() {
    local title=$1 want=$2 command=$3 consent
    shift 3
    [ "$command" = enrol ] && consent=$enrol_consent || consent=$verify_consent
    echo
    echo "== $title"
    mapfile -t burst < <(frames "$@")
    local code=0
    "$bin/faceseal" "$command" --subject "$subject" --consent "$consent" "${burst[@]}" || code=$?
    if [ "$code" = "$want" ]; then
        echo "-> as expected (exit $code)"
    else
        echo "-> UNEXPECTED: exit $code, expected $want"
        failures=$((failures + 1))
    fi
}
step "enrol: a live burst of person 0004 (NUAA session 0004_01_00_01, frames 1-5)" 0 \
    enrol clientraw_train.txt ClientRaw 0004_01_00_01 0
step "verify: another burst of the same person (frames 6-10)" 0 \
    verify clientraw_train.txt ClientRaw 0004_01_00_01 5
# Persons 0004 and 0005 are the live NUAA pair the embedder keeps furthest
# apart; across NUAA's people most pairs it does not tell apart at this
# threshold (scripts/nuaa_cross_person.py, tests/e2e/run.py).
step "verify: a burst of another person (NUAA person 0005)" 1 \
    verify clientraw_train.txt ClientRaw 0005_00_00_02 0
step "verify: a printed photo of person 0004 held to the camera" 1 \
    verify imposterraw_train.txt ImposterRaw 0004_01_00_01 0

echo
if [ "$failures" = 0 ]; then
    echo "all four decisions as expected"
else
    echo "$failures decision(s) not as expected"
    exit 1
fi
