#!/usr/bin/env bash
# Starts (or reuses) a throwaway PostgreSQL cluster on 127.0.0.1 for the sync
# service's tests, installing the Debian package if needed, and prints the
# connection URL to put in FACESEAL_SYNC_TEST_DATABASE_URL. Idempotent, quiet.
# The cluster also serves TLS, with a certificate for 127.0.0.1 from a CA
# made for it; `ca` prints that CA's file, for FACESEAL_SYNC_DATABASE_CA (the
# service verifies the server against it, and so do the tests).
#
#   export FACESEAL_SYNC_TEST_DATABASE_URL=$(sync/scripts/test-postgres.sh)
#   export FACESEAL_SYNC_DATABASE_CA=$(sync/scripts/test-postgres.sh ca)
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
if [ "${1:-start}" = ca ]; then
    echo "$dir/tls/ca.crt"
    exit 0
fi
if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    "${as_owner[@]}" "$bin/initdb" -D "$dir" -A trust -U faceseal >/dev/null
fi
# A CA of the test cluster's own, and the server's certificate for
# 127.0.0.1 signed by it.
tls=$dir/tls
if [ ! -f "$tls/server.crt" ]; then
    if ! command -v openssl >/dev/null; then
        if [ "$(id -u)" = 0 ]; then
            (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl) >/dev/null 2>&1
        else
            echo "openssl missing: apt-get install openssl" >&2
            exit 1
        fi
    fi
    mkdir -p "$tls"
    (
        cd "$tls"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
            -subj "/CN=faceseal test CA" -keyout ca.key -out ca.crt 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -subj "/CN=127.0.0.1" -keyout server.key -out server.csr 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >server.ext
        openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
            -extfile server.ext -out server.crt 2>/dev/null
        chmod 600 server.key ca.key
    )
    [ "$(id -u)" = 0 ] && chown -R postgres "$tls"
fi
if ! "${as_owner[@]}" "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    "${as_owner[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on -c ssl_cert_file=$tls/server.crt -c ssl_key_file=$tls/server.key" start >/dev/null
fi
echo "postgresql://faceseal@127.0.0.1:$port/postgres"
