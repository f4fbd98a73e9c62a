#!/usr/bin/env bash
# PostgreSQL 15 doing nodown's order matching in PL/pgSQL (bench/pg/match.sql),
# driven by pgbench, for the comparison of issue 3 (docs/benchmarks.md).
#
# Starts a throw-away cluster under /tmp (bench/pg/pg_lib.sh: a unix socket
# only, PostgreSQL's durable defaults, fsync and synchronous_commit on, so an
# order is on disk before its client hears the outcome), and runs two
# workloads, each in a fresh database with match.sql loaded and one account
# a client. Each pgbench client is one member sending one order per
# transaction (autocommit), the next as soon as the last is answered:
#
#   rest   as bench/bench_node.c's clients: orders alternate buy and sell,
#          two IOC then two day orders, quantity 1, buys at 9500 - n % 97
#          and sells at 10500 + n % 97 ticks for the client's n-th order, so
#          nothing crosses: IOC orders are cancelled, day orders rest;
#   cross  the same, but even clients only buy and odd ones only sell, all
#          at 10000 ticks: orders meet resting ones of other members, trade,
#          and the remainder of day orders rests.
#
# Prints the orders per second of each (pgbench's tps, connections
# excluded); with --json one object:
#   {"pg_version", "clients", "seconds", "orders_per_s_rest",
#    "orders_per_s_cross", "trades"}   (trades: made in the cross workload)
# The server is stopped and its directory removed on every way out,
# Ctrl-C included. Every wait is bounded in time.
set -euo pipefail
cd "$(dirname "$0")/../.."

usage() {
    cat <<'EOF'
usage: bench/pg/bench_pg.sh [--clients N] [--seconds S] [--json]

PostgreSQL 15 doing nodown's order matching in PL/pgSQL (bench/pg/match.sql),
driven by pgbench on a throw-away cluster under /tmp, two workloads:
"rest" (bench_node's orders, nothing crosses) and "cross" (trades).

  --clients N   pgbench clients, one member each, 2..64 (default 8)
  --seconds S   length of each workload, 1..60 (default 5)
  --json        print one JSON object only
  --help        this text
EOF
}

clients=8
seconds=5
json=0
while [ $# -gt 0 ]; do
    case $1 in
    --clients | --seconds)
        if [ $# -lt 2 ]; then
            echo "bench_pg: $1 needs a value" >&2
            exit 2
        fi
        if [ "$1" = --clients ]; then clients=$2; else seconds=$2; fi
        shift 2
        ;;
    --json) json=1 && shift ;;
    --help | -h) usage && exit 0 ;;
    *) usage >&2 && exit 2 ;;
    esac
done
if ! [[ $clients =~ ^[0-9]+$ ]] || [ "$clients" -lt 2 ] || [ "$clients" -gt 64 ]; then
    echo "bench_pg: --clients '$clients': a whole number from 2 to 64" >&2
    exit 2
fi
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ] || [ "$seconds" -gt 60 ]; then
    echo "bench_pg: --seconds '$seconds': a whole number from 1 to 60" >&2
    exit 2
fi

# shellcheck source=bench/pg/pg_lib.sh
. bench/pg/pg_lib.sh
trap pg_cluster_stop EXIT
trap 'exit 130' INT TERM
pg_cluster_start

# sql DATABASE SQL...: one psql run, stopping at the first error.
sql() {
    local database=$1
    shift
    timeout --foreground 60 "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$database" "$@"
}

pg_workload_script rest >"$PG_DIR/rest.pgbench"
pg_workload_script cross >"$PG_DIR/cross.pgbench"

threads=$(nproc)
[ "$threads" -gt "$clients" ] && threads=$clients

# run WORKLOAD: a fresh database, then pgbench; sets TPS, ORDERS, TRADES,
# LATENCY_MS.
run() {
    local workload=$1 database=bench_$1
    sql postgres -c "create database $database"
    sql "$database" -f bench/pg/match.sql
    sql "$database" -c "insert into accounts (account_id, cash_minor)
                        select g, 1000000000000 from generate_series(1, $clients) g"
    sql "$database" -c "vacuum analyze" -c "checkpoint"
    local out=$PG_DIR/$workload.out
    if ! timeout --foreground --kill-after=10 $((seconds + 60)) "$PG_BIN/pgbench" -n -M prepared \
        -c "$clients" -j "$threads" -T "$seconds" -D seq=0 -f "$PG_DIR/$workload.pgbench" \
        "$database" >"$out" 2>&1; then
        echo "bench_pg: pgbench ($workload) failed:" >&2
        tail -n 20 "$out" >&2
        return 1
    fi
    TPS=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$out")
    LATENCY_MS=$(sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p' "$out")
    local processed failed
    processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\)$/\1/p' "$out")
    failed=$(sed -n 's/^number of failed transactions: \([0-9]*\) .*/\1/p' "$out")
    ORDERS=$(sql "$database" -c "select count(*) from orders")
    TRADES=$(sql "$database" -c "select count(*) from trades")
    # Every transaction placed one new order (a resend would have been
    # counted without doing the work).
    if [ -z "$TPS" ] || [ "${failed:-1}" != 0 ] || [ "$processed" != "$ORDERS" ]; then
        echo "bench_pg: $workload: tps '$TPS', $processed transactions, $ORDERS orders," \
            "'${failed:-?}' failed:" >&2
        cat "$out" >&2
        return 1
    fi
}

pg_version=$(sql postgres -c "show server_version")
durability=$(sql postgres -c "select 'fsync ' || current_setting('fsync') ||
    ', synchronous_commit ' || current_setting('synchronous_commit')")
run rest
rest_tps=$TPS rest_orders=$ORDERS rest_trades=$TRADES rest_latency_ms=$LATENCY_MS
if [ "$rest_trades" -ne 0 ]; then
    echo "bench_pg: the rest workload traded ($rest_trades trades)" >&2
    exit 1
fi
run cross

if [ "$json" -eq 1 ]; then
    printf '{"pg_version": "%s", "clients": %d, "seconds": %d, "orders_per_s_rest": %.0f, ' \
        "$pg_version" "$clients" "$seconds" "$rest_tps"
    printf '"orders_per_s_cross": %.0f, "trades": %d}\n' "$TPS" "$TRADES"
else
    echo "PostgreSQL $pg_version, $durability; $clients clients, $seconds s a workload"
    printf 'rest:  %7.0f orders/s (%d orders, %d trades, latency avg %s ms)\n' \
        "$rest_tps" "$rest_orders" "$rest_trades" "$rest_latency_ms"
    printf 'cross: %7.0f orders/s (%d orders, %d trades, latency avg %s ms)\n' \
        "$TPS" "$ORDERS" "$TRADES" "$LATENCY_MS"
fi
