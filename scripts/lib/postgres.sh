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
    local cron=""
    [ -f "$bindir/../lib/pg_cron.so" ] && cron="-c shared_preload_libraries=pg_cron -c cron.database_name=postgres -c cron.use_background_workers=on -c max_worker_processes=16"
    pg_as_owner "$bindir/pg_ctl" -D "$PG_PRIVATE_DIR/data" -l "$PG_PRIVATE_DIR/server.log" -w \
        -o "-p $port -k $PG_PRIVATE_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200 $cron" start >/dev/null \
        || { cat "$PG_PRIVATE_DIR/server.log" >&2; return 1; }
    export PG_PRIVATE_PGDATA="$PG_PRIVATE_DIR/data"
    export PG_PRIVATE_PORT=$port
    export PIPELINE_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres"
}

pg_stop_private_cluster() {
    [ -n "${PG_PRIVATE_DIR:-}" ] || return 0
    pg_as_owner "$(pg_bindir)/pg_ctl" -D "$PG_PRIVATE_DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_PRIVATE_DIR"
    PG_PRIVATE_DIR=
}
