# shellcheck shell=bash
# A throw-away PostgreSQL 15 cluster for bench/pg/bench_pg.sh and
# test/cli/pg_match.sh, which source this file:
#
#   pg_cluster_start   initdb and start a server in a new directory
#                      /tmp/nodown-pg.XXXXXX, on a unix socket in that
#                      directory only (no TCP); exports PGHOST, PGPORT,
#                      PGUSER for psql and pgbench
#   pg_cluster_stop    stop that server and remove the directory; safe to
#                      call at any point, and more than once (for a trap)
#   pg_workload_script rest|cross
#                      print the pgbench script of a workload (bench_pg.sh
#                      says what they are)
#
# The server keeps PostgreSQL's default, durable settings (fsync = on,
# synchronous_commit = on, full_page_writes = on): a committed transaction
# is on disk before the client hears of it. initdb itself runs with
# --no-sync, which only skips flushing the freshly made cluster's files.
# initdb and pg_ctl refuse to run as root; as root they run as the
# postgres user (runuser), which owns the directory.
#
# Every wait is bounded: pg_ctl waits at most PG_WAIT_S seconds to start or
# stop, and a server that did not stop is then killed by the pid in its own
# postmaster.pid.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_WAIT_S=30
PG_DIR=
PG_AS_OWNER=()

# pg_cluster_start: prints why on stderr and returns 1 when it fails (the
# directory is left for pg_cluster_stop, which the caller's trap runs).
pg_cluster_start() {
    local tool
    for tool in initdb pg_ctl postgres psql pgbench; do
        if [ ! -x "$PG_BIN/$tool" ]; then
            echo "pg: $PG_BIN/$tool is missing (apt-get install postgresql-15)" >&2
            return 1
        fi
    done
    PG_DIR=$(mktemp -d /tmp/nodown-pg.XXXXXX)
    if [ "$(id -u)" -eq 0 ]; then
        if ! id postgres >/dev/null 2>&1; then
            echo "pg: running as root, and there is no postgres user to run the server" >&2
            return 1
        fi
        chown postgres: "$PG_DIR"
        PG_AS_OWNER=(runuser -u postgres --)
    fi
    if ! "${PG_AS_OWNER[@]}" "$PG_BIN/initdb" --pgdata="$PG_DIR/data" --username=nodown \
        --auth=trust --encoding=UTF8 --locale=C --no-sync >"$PG_DIR/initdb.log" 2>&1; then
        echo "pg: initdb failed:" >&2
        cat "$PG_DIR/initdb.log" >&2
        return 1
    fi
    # Only a socket in our own directory; trust is safe there, since the
    # directory is the owner's alone. Nothing else changes from the defaults.
    cat >>"$PG_DIR/data/postgresql.conf" <<EOF

# nodown bench/pg: a throw-away cluster, reachable only through this socket.
listen_addresses = ''
unix_socket_directories = '$PG_DIR'
port = 5432
EOF
    if ! "${PG_AS_OWNER[@]}" "$PG_BIN/pg_ctl" start --pgdata="$PG_DIR/data" \
        --log="$PG_DIR/server.log" --wait --timeout="$PG_WAIT_S" --silent; then
        echo "pg: the server did not start:" >&2
        tail -n 20 "$PG_DIR/server.log" >&2
        return 1
    fi
    export PGHOST=$PG_DIR PGPORT=5432 PGUSER=nodown PGDATABASE=postgres
    # Settings a caller's environment could slip in (synchronous_commit=off,
    # say) would change what is measured.
    unset PGOPTIONS PGSERVICE
}

pg_cluster_stop() {
    [ -n "$PG_DIR" ] || return 0
    local pid_file=$PG_DIR/data/postmaster.pid
    if [ -f "$pid_file" ]; then
        if ! "${PG_AS_OWNER[@]}" "$PG_BIN/pg_ctl" stop --pgdata="$PG_DIR/data" --mode=fast \
            --wait --timeout="$PG_WAIT_S" --silent; then
            local pid
            pid=$(head -n 1 "$pid_file" 2>/dev/null || true)
            # Only if that pid is still a postgres on our directory.
            if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
                grep -q -F -- "$PG_DIR/data"; then
                echo "pg: the server did not stop; killing its postmaster $pid" >&2
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
    fi
    rm -rf "$PG_DIR"
    PG_DIR=
}

# The pgbench scripts: one order a transaction, from member :client_id + 1.
# :seq counts the client's orders (pgbench keeps a client's variables from
# one transaction to the next; the caller starts it with -D seq=0), so :sent
# is bench_node.c's `sent` and :seq the client_seq. rest: buy and sell in
# turn, far apart; cross: even clients buy, odd ones sell, at one price.
# Both: two IOC orders, then two day orders.
pg_workload_script() {
    case $1 in
    rest)
        cat <<'EOF'
\set sent :seq
\set seq :seq + 1
\set side :sent % 2
\set price CASE WHEN :side = 0 THEN 9500 - :sent % 97 ELSE 10500 + :sent % 97 END
\set ioc :sent % 4 < 2
SELECT * FROM nodown_place(:client_id + 1, CASE WHEN :side = 0 THEN 'buy' ELSE 'sell' END,
    CASE WHEN :ioc THEN 'ioc' ELSE 'day' END, :price, 1, :seq);
EOF
        ;;
    cross)
        cat <<'EOF'
\set sent :seq
\set seq :seq + 1
\set side :client_id % 2
\set ioc :sent % 4 < 2
SELECT * FROM nodown_place(:client_id + 1, CASE WHEN :side = 0 THEN 'buy' ELSE 'sell' END,
    CASE WHEN :ioc THEN 'ioc' ELSE 'day' END, 10000, 1, :seq);
EOF
        ;;
    *)
        echo "pg: no workload '$1'" >&2
        return 1
        ;;
    esac
}
