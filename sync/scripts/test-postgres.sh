#!/usr/bin/env bash
# Starts (or reuses) a throwaway PostgreSQL cluster on 127.0.0.1 for the sync
# service's tests, installing the Debian package if needed, and prints the
# connection URL to put in FACESEAL_SYNC_TEST_DATABASE_URL. Idempotent, quiet.
#
#   export FACESEAL_SYNC_TEST_DATABASE_URL=$(sync/scripts/test-postgres.sh)
#   sync/scripts/test-postgres.sh stop      # when done
set -euo pipefail

dir=${FACESEAL_TEST_PG_DIR:-${TMPDIR:-/tmp}/faceseal-sync-test-pg}
port=${FACESEAL_TEST_PG_PORT:-5433}

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null 2>&1
    else
        echo "PostgreSQL server binaries missing: apt-get install postgresql" >&2
        exit 1
    fi
fi
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

# The server refuses to run as root: use the postgres account then.
as_owner=()
if [ "$(id -u)" = 0 ]; then
    as_owner=(runuser -u postgres --)
fi
if [ "${1:-start}" = stop ]; then
    if [ -f "$dir/PG_VERSION" ]; then
        "${as_owner[@]}" "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true
    fi
    exit 0
fi
if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    "${as_owner[@]}" "$bin/initdb" -D "$dir" -A trust -U faceseal >/dev/null
fi
if ! "${as_owner[@]}" "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
fi
echo "postgresql://faceseal@127.0.0.1:$port/postgres"
