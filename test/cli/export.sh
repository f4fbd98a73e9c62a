#!/usr/bin/env bash
# The PostgreSQL export, exactly once, with real processes (docs/export.md):
#
#   A throw-away PostgreSQL 15 (bench/pg/pg_lib.sh) with three databases.
#   Node N on the embedded default exports into "node" (serve --export-pg,
#   and --archive: two consumers of one feed);
#   a standalone exporter X (nodown export --from N's directory) into
#   "standalone". Two members load N with orders and bets while, in turn:
#     1. X is killed with -9 five times at random points, and restarted;
#        then handed over to a copy of the binary (nodown upgrade --data);
#     2. PostgreSQL is stopped for 3 s and started again: N says so on
#        stderr, its export_lag in /metrics grows, and it goes on; X,
#        killed and started meanwhile, waits for PostgreSQL and goes on;
#     3. logic 2, then logic 3 is activated (the export's schema 2 comes in
#        at the activation's sequence), and a commission rate is set;
#     4. N is handed over to a copy of the binary (nodown upgrade --data).
#   After the load a market is settled (settlements, commissions). Then
#   a fresh exporter from sequence 0 into "fresh" is the replay: every
#   table of "node" and of "standalone" must equal "fresh" row for row
#   (ordered dumps compared byte for byte, and counts), all three at the
#   stream's last sequence and at schema 2 since the same sequence; and
#   the counts match the load logs (accepted bets, accepted orders).
# Prints "export.sh: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

NODOWN=${NODOWN_BIN:-$PWD/build/nodown}
E2E=$PWD/build/test/e2e_node
HOUSE_SECRET="export test house secret"
MEMBER_SECRET="export test member secret"
TIME_LIMIT_S=${EXPORT_TIME_LIMIT_S:-180}
PG_DOWN_S=${EXPORT_PG_DOWN_S:-3} # 15 or more: the ring fills and the node's apply waits
TABLES="messages orders trades bets settlements balances account_changes commissions"

passed=0
failed=0
declare -A node_pid node_dir node_http node_listen
work=$(mktemp -d /tmp/nodown-export-XXXXXX)
# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh
# shellcheck source=bench/pg/pg_lib.sh
source bench/pg/pg_lib.sh

serving_pid=""
x_pid=""
f_pid=""
load_pids=()
stop_all() {
    local pid
    for pid in "${load_pids[@]}" $x_pid $f_pid; do stop_pid "$pid"; done
    load_pids=()
    x_pid=""
    f_pid=""
    [ -n "$serving_pid" ] && kill -TERM "$serving_pid" 2>/dev/null
    local deadline=$((SECONDS + 15))
    while [ -n "$serving_pid" ] && alive "$serving_pid" && [ $SECONDS -lt $deadline ]; do
        sleep 0.1
    done
    serving_pid=""
    stop_embedded 1
    pg_cluster_stop
    return 0
}
node_dir[1]=$work/node
script_frame export.sh "$TIME_LIMIT_S" "${EXPORT_KEEP:-0}" stop_all

url() { echo "postgresql:///$1?host=$PGHOST&port=$PGPORT&user=$PGUSER"; }
sql() { timeout 20 "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$2" 2>&1; }
position() { sql "$1" "SELECT last_seq FROM export_position" 2>/dev/null; }

pg_cluster_start || { fail "PostgreSQL 15 starts"; summary; exit 1; }
for db in node standalone fresh; do sql postgres "CREATE DATABASE $db" >/dev/null; done

node_listen[1]=$($E2E free-port)
node_http[1]=$($E2E free-port)
env -u NODOWN_ADMIN_TOKEN NODOWN_HOUSE_SECRET="$HOUSE_SECRET" "$NODOWN" serve \
    --data "${node_dir[1]}" --listen "127.0.0.1:${node_listen[1]}" \
    --http "127.0.0.1:${node_http[1]}" --snapshot-mb 0.25 --export-pg "$(url node)" --archive \
    >>"$work/node.out" 2>>"$work/node.err" &
node_pid[1]=$!
serving_pid=${node_pid[1]}
wait_line "$work/node.out" "node 1 serving" "${node_pid[1]}" 30 ||
    { fail "the node starts"; tail -n 5 "$work/node.err"; summary; exit 1; }
"$E2E" bootstrap --nodes "127.0.0.1:${node_listen[1]}" --house-secret "$HOUSE_SECRET" \
    --members 2 --member-secret "$MEMBER_SECRET" >"$work/bootstrap.out" 2>&1 ||
    { fail "bootstrap"; cat "$work/bootstrap.out"; summary; exit 1; }
mapfile -t members < <(sed -n 's/^member //p' "$work/bootstrap.out")

house() {
    OUT=$("$NODOWN" client --nodes "127.0.0.1:${node_listen[1]}" --account 0 \
        --secret "$HOUSE_SECRET" --client-id $((RANDOM + 100)) --timeout-ms 5000 \
        "$@" 2>&1)
    RC=$?
}
metric() { # metric NAME: the node's /metrics value of NAME
    curl -s -m 2 -H "Authorization: Bearer $(cat "${node_dir[1]}/admin.token")" \
        "http://127.0.0.1:${node_http[1]}/metrics" | sed -n "s/^nodown_$1 \([0-9]*\).*/\1/p"
}

# The standalone exporter X (DIR, DB, LOG): started, serving within 30 s.
x_http=$($E2E free-port)
start_exporter() {
    "$NODOWN" export --pg "$(url "$2")" --data "$1" --from "${node_dir[1]}" \
        --http "127.0.0.1:$x_http" --snapshot-mb 0.25 >>"$3.out" 2>>"$3.err" &
    START_PID=$!
    wait_line "$3.out" "serving clients" "$START_PID" 30
}
expect "the standalone exporter starts" start_exporter "$work/x" standalone "$work/x"
x_pid=$START_PID
x_listen=$(sed -n 's/.*serving clients on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/x.out" | head -n 1)
OUT=$("$NODOWN" client --nodes "127.0.0.1:$x_listen" --account 0 --secret "$HOUSE_SECRET" \
    --timeout-ms 5000 deposit --account 0 --amount 1 2>&1)
RC=$?
echo "     a deposit sent to the exporter: rc $RC, $OUT"
expect "the exporter refuses commands" test "$RC" -ne 0 -a -n "$(grep 'only exports' <<<"$OUT")"

for i in 0 1; do
    "$E2E" load --nodes "127.0.0.1:${node_listen[1]}" --account "${members[$i]}" \
        --secret "$MEMBER_SECRET" --client-id $((31 + i)) --count 45000 --rate 1500 \
        --log "$work/load$i.log" --instrument 0 --market 0 --seconds 90 \
        >"$work/load$i.out" 2>&1 &
    load_pids+=($!)
done
sleep 2

# 1. kill -9 the standalone exporter at random points, five times.
kills=0
for round in 1 2 3 4 5; do
    sleep "0.$((RANDOM % 9 + 1))"
    kill -KILL "$x_pid" 2>/dev/null && kills=$((kills + 1))
    wait "$x_pid" 2>/dev/null
    echo "     kill -9 of the exporter $round at its position $(position standalone)"
    start_exporter "$work/x" standalone "$work/x" || { fail "restart $round"; break; }
    x_pid=$START_PID
done
expect "the exporter was killed 5 times under load and came back each time" \
    test "$kills" -eq 5
lags=""
for i in 1 2 3 4 5; do lags+=" $(metric export_lag)"; sleep 0.2; done
echo "     the node's export_lag under load (messages), every 0.2 s:$lags"

# The standalone exporter handed over to a copy of the binary, as a node is.
cp "$NODOWN" "$work/nodown-copy"
UP=$("$NODOWN" upgrade --data "$work/x" --binary "$work/nodown-copy" --json \
    2>"$work/upgrade-x.err")
expect "the standalone exporter is handed over under load" test $? -eq 0
new_pid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' <<<"$UP")
[ -n "$new_pid" ] && wait "$x_pid" 2>/dev/null && x_pid=$new_pid

# 2. PostgreSQL stopped for 3 s under load, then started again.
lag_before=$(metric export_lag)
"${PG_AS_OWNER[@]}" "$PG_BIN/pg_ctl" stop --pgdata="$PG_DIR/data" --mode=fast --wait \
    --timeout=30 --silent
# The exporter killed while PostgreSQL is down: it starts, waits for it.
kill -KILL "$x_pid" 2>/dev/null
wait "$x_pid" 2>/dev/null
: >"$work/x2.out"
"$NODOWN" export --pg "$(url standalone)" --data "$work/x" --from "${node_dir[1]}" \
    --http "127.0.0.1:$x_http" --snapshot-mb 0.25 >>"$work/x2.out" 2>>"$work/x.err" &
x_pid=$!
sleep "$PG_DOWN_S"
lag_down=$(metric export_lag)
echo "     export_lag before the stop $lag_before, after $PG_DOWN_S s without PostgreSQL" \
    "$lag_down; the apply loop waited $(metric feed_stall_us) us for the feed"
expect "export_lag grows while PostgreSQL is down" test "${lag_down:-0}" -gt "${lag_before:-0}"
"${PG_AS_OWNER[@]}" "$PG_BIN/pg_ctl" start --pgdata="$PG_DIR/data" --log="$PG_DIR/server.log" \
    --wait --timeout=30 --silent
expect "the node says on stderr that the export waits for PostgreSQL" \
    grep -q "export to PostgreSQL: commit: .*trying again" "$work/node.err"
expect "an exporter started while PostgreSQL was down serves once it is back" \
    wait_line "$work/x2.out" "serving clients" "$x_pid" 30
expect "and it said that it waits for PostgreSQL" \
    grep -q "export: waiting for PostgreSQL\|export: cannot connect" "$work/x.err"

# 3. Logic 2, then 3 (the export's schema 2), and a commission rate.
house activate-logic --version 2
expect "logic 2 activated under load" test "$RC" -eq 0
house activate-logic --version 3
expect "logic 3 activated under load" test "$RC" -eq 0
house commission-set --account 1 --market-type 1x2 --rate 100
expect "a commission rate set (logic 3)" test "$RC" -eq 0

# 4. The node handed over to a copy of the binary, under load.
UP=$("$NODOWN" upgrade --data "${node_dir[1]}" --binary "$work/nodown-copy" --json \
    2>"$work/upgrade.err")
expect "the node is handed over under load" test $? -eq 0
new_pid=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' <<<"$UP")
[ -n "$new_pid" ] && serving_pid=$new_pid

load_ok=0
for pid in "${load_pids[@]}"; do wait "$pid" && load_ok=$((load_ok + 1)); done
load_pids=()
expect "both loads finished, every command acknowledged" test "$load_ok" -eq 2
house market-settle --market 0 --results win,lose,lose
expect "the market settled" test "$RC" -eq 0

# Every exporter at the stream's last sequence (the node's applied one).
status_seq() { field "$(status_json 1)" applied_seq; }
wait_position() { # wait_position DB SEQ: within 60 s
    local deadline=$((SECONDS + 60))
    while [ "$(position "$1")" != "$2" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    [ "$(position "$1")" = "$2" ]
}
sleep 1
last=$(status_seq)
echo "     the stream's last sequence: $last"
expect "the node's export reaches it" wait_position node "$last"
expect "the standalone exporter reaches it" wait_position standalone "$last"
stop_pid "$x_pid"
x_pid=""

# The replay: a fresh exporter from sequence 0.
expect "a fresh exporter starts" start_exporter "$work/f" fresh "$work/f"
f_pid=$START_PID
expect "the fresh export reaches the last sequence" wait_position fresh "$last"
stop_pid "$f_pid"
f_pid=""

# dump DB TABLE: the table's rows in key order.
dump() { sql "$1" "COPY (SELECT * FROM $2 ORDER BY 1, 2) TO STDOUT" >"$work/$1.$2"; }
for table in $TABLES; do
    for db in node standalone fresh; do dump "$db" "$table"; done
    rows=$(wc -l <"$work/fresh.$table")
    echo "     $table: $rows rows in the replay"
    expect "$table: the node's export equals the replay, row for row" \
        cmp -s "$work/node.$table" "$work/fresh.$table"
    expect "$table: the standalone export equals the replay, row for row" \
        cmp -s "$work/standalone.$table" "$work/fresh.$table"
done
for table in messages orders trades bets balances; do
    expect "$table: the replay has rows" test "$(wc -l <"$work/fresh.$table")" -gt 0
done
expect "settlements and commissions were exported" \
    test "$(wc -l <"$work/fresh.settlements")" -gt 0 -a "$(wc -l <"$work/fresh.commissions")" -gt 0
schema=$(sql fresh "SELECT schema_version, schema_seq FROM export_position")
for db in node standalone; do
    expect "$db: schema 2 since the same sequence as the replay ($schema)" \
        test "$(sql "$db" "SELECT schema_version, schema_seq FROM export_position")" = "$schema"
done
expect "the tables say their schema version" \
    test "$(sql node "SELECT obj_description('orders'::regclass)")" = "nodown export schema 2"

# Counts against the load logs (account client_id client_seq result type ...;
# one line per command, a resend answered with its first outcome included).
bets_acked=$(cat "$work"/load[01].log | awk '$4 == 0 && $5 == 22' | wc -l)
bets_rows=$(sql fresh "SELECT count(*) FROM bets WHERE account_id IN (${members[0]}, ${members[1]})")
echo "     accepted bets: $bets_acked in the load logs, $bets_rows in bets"
expect "one bets row per accepted bet" test "$bets_acked" = "$bets_rows"
orders_acked=$(cat "$work"/load[01].log | awk '$4 == 0 && $5 == 14' | wc -l)
orders_rows=$(sql fresh "SELECT count(DISTINCT order_id) FROM orders")
echo "     accepted orders: $orders_acked in the load logs, $orders_rows in orders"
expect "every accepted order in orders" test "$orders_acked" = "$orders_rows"

stop_all
expect_none_left
summary
[ "$failed" -eq 0 ]
