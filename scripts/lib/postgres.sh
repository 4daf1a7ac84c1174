# Sourced by scripts: a private PostgreSQL cluster in a temporary directory on
# a free port, owned by the `postgres` user when we are root (initdb refuses
# root), stopped by an EXIT trap whatever happens.

pg_bindir() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/initdb" ] && { echo "$dir"; return; }
    done
    command -v initdb >/dev/null && { dirname "$(command -v initdb)"; return; }
    echo "error: initdb not found; install the 'postgresql' package" >&2
    return 1
}

pg_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Runs a command as the cluster's owner.
pg_as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start_private_cluster() {
    local bindir port
    bindir=$(pg_bindir)
    PG_PRIVATE_DIR=$(mktemp -d /tmp/pipeline-pg.XXXXXX)
    port=$(pg_free_port)
    [ "$(id -u)" = 0 ] && chown postgres "$PG_PRIVATE_DIR"
    trap pg_stop_private_cluster EXIT
    echo "==> private PostgreSQL in $PG_PRIVATE_DIR on port $port"
    pg_as_owner "$bindir/initdb" -D "$PG_PRIVATE_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$PG_PRIVATE_DIR/initdb.log" \
        || { cat "$PG_PRIVATE_DIR/initdb.log" >&2; return 1; }
    # pg_cron, when installed (scripts/install-deps does), so cron/pg_cron.sql can be tested; its
    # jobs run as background workers, so it needs no connection settings of its own.
    # PG_PRIVATE_PRELOAD: more libraries to preload (scripts/bench-profile: pg_stat_statements);
    # PG_PRIVATE_OPTIONS: more server options (-c name=value ...).
    local cron="" preload=${PG_PRIVATE_PRELOAD:-}
    [ -f "$bindir/../lib/pg_cron.so" ] && { preload="pg_cron${preload:+,$preload}"
        cron="-c cron.database_name=postgres -c cron.use_background_workers=on -c max_worker_processes=16"; }
    pg_as_owner "$bindir/pg_ctl" -D "$PG_PRIVATE_DIR/data" -l "$PG_PRIVATE_DIR/server.log" -w \
        -o "-p $port -k $PG_PRIVATE_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 ${preload:+-c shared_preload_libraries=$preload} $cron ${PG_PRIVATE_OPTIONS:-}" start >/dev/null \
        || { cat "$PG_PRIVATE_DIR/server.log" >&2; return 1; }
    export PG_PRIVATE_PGDATA="$PG_PRIVATE_DIR/data"
    export PG_PRIVATE_PORT=$port
    export PIPELINE_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres"
}

# Stops the cluster under directory $1 (if any) and removes the directory.
pg_remove_cluster() {
    [ -n "$1" ] || return 0
    pg_as_owner "$(pg_bindir)/pg_ctl" -D "$1/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$1"
}

pg_stop_private_cluster() {
    pg_remove_cluster "${PG_PRIVATE_DIR:-}"
    PG_PRIVATE_DIR=
}

# A second cluster for the TLS and password tests: ssl=on with a CA and a server
# certificate (for "localhost" only) made here with openssl, never committed; TCP
# accepts only TLS with a scram-sha-256 password, the unix socket trusts the tests'
# own set-up. A second CA, which signed nothing, stands for "the wrong CA".
pg_start_tls_cluster() {
    local bindir port dir
    bindir=$(pg_bindir)
    PG_TLS_DIR=$(mktemp -d /tmp/pipeline-pg-tls.XXXXXX)
    dir=$PG_TLS_DIR
    port=$(pg_free_port)
    trap 'pg_stop_tls_cluster; pg_stop_private_cluster' EXIT
    echo "==> PostgreSQL with TLS (certificates made now) in $dir on port $port"
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    {
        openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=pipeline test CA" -keyout "$dir/ca.key" -out "$dir/ca.crt"
        openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=some other CA" -keyout "$dir/other-ca.key" -out "$dir/other-ca.crt"
        openssl req "${ec[@]}" -subj "/CN=localhost" -keyout "$dir/server.key" -out "$dir/server.csr"
        printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n' >"$dir/server.ext"
        openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
            -extfile "$dir/server.ext" -out "$dir/server.crt"
    } >"$dir/openssl.log" 2>&1 || { cat "$dir/openssl.log" >&2; return 1; }
    chmod 600 "$dir/server.key"
    [ "$(id -u)" = 0 ] && chown -R postgres "$dir"
    pg_as_owner "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" \
        || { cat "$dir/initdb.log" >&2; return 1; }
    printf '%s\n' 'local all all trust' 'hostssl all all 127.0.0.1/32 scram-sha-256' \
        'host all all 127.0.0.1/32 reject' | pg_as_owner tee "$dir/data/pg_hba.conf" >/dev/null
    pg_as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "-p $port -k $dir \
        -c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on -c ssl_cert_file=$dir/server.crt \
        -c ssl_key_file=$dir/server.key -c password_encryption=scram-sha-256" start >/dev/null \
        || { cat "$dir/server.log" >&2; return 1; }
    export PIPELINE_TEST_TLS_ADMIN_URL="postgresql://postgres@/postgres?host=$dir&port=$port"
    export PIPELINE_TEST_TLS_PORT=$port
    export PIPELINE_TEST_TLS_CA="$dir/ca.crt"
    export PIPELINE_TEST_TLS_OTHER_CA="$dir/other-ca.crt"
}

pg_stop_tls_cluster() {
    pg_remove_cluster "${PG_TLS_DIR:-}"
    PG_TLS_DIR=
}
