#!/usr/bin/env bash
# A 3-server, 3-node cluster upgraded from the first release to this build
# and activated under load (issue 11; docs/upgrades.md), with real
# processes:
#
#   1. The nodes run release 0.1.0, built from the project's history
#      (tools/release_build.sh); without the history, one line says so and
#      the nodes run this build capped to logic 2 (--logic-max 2, which a
#      node taking over does not keep; UPGRADE_CLUSTER_NO_HISTORY=1 forces
#      it). Two members send orders and bets.
#   2. `nodown upgrade --dir --binary build/nodown --activate 3`: every
#      node replaced (0.1.0 ones stopped and restarted, clients failing
#      over; capped ones handed over), the digests compared after each,
#      then ACTIVATE_LOGIC 3 published and applied by every node.
#   3. Again to a copy, by hand-over; then to build/test/nodown-diverge,
#      which is stopped at node-0 with the old process serving.
#   4. Every acknowledged command applied exactly once (the stream
#      checker), every node's digest the same (nodown verify), nothing left
#      running after `cluster down`.
# Prints "upgrade_cluster.sh: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

NODOWN=${NODOWN_BIN:-$PWD/build/nodown}
E2E=$PWD/build/test/e2e_node
MEMBER_SECRET="cluster upgrade member secret"
TIME_LIMIT_S=${UPGRADE_CLUSTER_TIME_LIMIT_S:-300}

passed=0
failed=0
declare -A node_pid node_dir node_http
work=$(mktemp -d /tmp/nodown-upgrade-cluster-XXXXXX)
dir=$work/c

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh

load_pids=()
stop_all() {
    for pid in "${load_pids[@]}"; do stop_pid "$pid"; done
    load_pids=()
    [ -f "$dir/cluster.txt" ] && "$NODOWN" cluster down --dir "$dir" >/dev/null 2>&1
    return 0
}
script_frame upgrade_cluster.sh "$TIME_LIMIT_S" "${UPGRADE_CLUSTER_KEEP:-0}" stop_all

# 1. The cluster on the first release, or this build capped to logic 2.
release=""
if [ "${UPGRADE_CLUSTER_NO_HISTORY:-0}" = 1 ]; then
    echo "UPGRADE_CLUSTER_NO_HISTORY=1: as a clone without history" >"$work/release.err"
else
    release=$(tools/release_build.sh 0.1.0 2>"$work/release.err")
fi
if [ -x "$release" ]; then
    echo "     nodes on release 0.1.0: $release"
    old_binary=$release
else
    echo "     NO HISTORY: $(tail -n 1 "$work/release.err"); the nodes run this build" \
        "capped to logic 2 instead"
    old_binary=$work/nodown-logic2
    printf '#!/bin/sh\nexec %s "$@" --logic-max 2\n' "$NODOWN" >"$old_binary"
    chmod +x "$old_binary"
fi
NODOWN_CLUSTER_NODE_BINARY=$old_binary "$NODOWN" cluster up --dir "$dir" --nodes 3 \
    >"$work/up.out" 2>&1
expect "a cluster of 3 servers and 3 nodes on the old build" \
    grep -q "3 nodes" "$work/up.out" || { tail -n 20 "$work/up.out"; summary; exit 1; }
house_secret=$(cat "$dir/house.secret")
nodes=$(awk '/^node /{printf "%s127.0.0.1:%s", (n++ ? "," : ""), $4}' "$dir/cluster.txt")
urls=$(awk '/^nats /{printf "%snats://127.0.0.1:%s", (n++ ? "," : ""), $4}' "$dir/cluster.txt")
for i in 0 1 2; do
    node_dir[$i]=$dir/node-$i
    node_http[$i]=$(awk -v i="$i" '$1 == "node" && $2 == i {print $5}' "$dir/cluster.txt")
done

"$E2E" bootstrap --nodes "$nodes" --house-secret "$house_secret" --members 2 \
    --member-secret "$MEMBER_SECRET" >"$work/bootstrap.out" 2>&1 ||
    { fail "bootstrap"; cat "$work/bootstrap.out"; summary; exit 1; }
members=$(sed -n 's/^member //p' "$work/bootstrap.out" | tr '\n' ' ')
for m in $members; do
    "$E2E" load --nodes "$nodes" --account "$m" --secret "$MEMBER_SECRET" \
        --client-id "5$m" --count 24000 --rate 400 --log "$work/load$m.log" \
        --instrument 0 --market 0 --seconds 150 >"$work/load$m.out" 2>&1 &
    load_pids+=($!)
done
sleep 3

# upgrade ARGS...: `nodown upgrade --dir` with ARGS; UP its JSON, URC.
upgrade() {
    UP=$("$NODOWN" upgrade --dir "$dir" --json "$@" 2>"$work/upgrade.err")
    URC=$?
    echo "     upgrade $*: rc $URC"
    grep -E "^upgrade: " "$work/upgrade.err" | sed 's/^/     | /' | tail -n 12
    echo "     $UP" | cut -c1-600
}

# 2. To this build, then logic 3.
upgrade --binary "$NODOWN" --activate 3
expect "the upgrade from the old build succeeds" test "$URC" -eq 0
expect "every node replaced" test "$(grep -o '"ok":true' <<<"$UP" | wc -l)" -eq 3
expect "logic 3 activated" grep -q '"activate":{"version":3,"result":"RESULT_OK"' <<<"$UP"
# runs_logic N V: node-N's /status says logic version V within 10 s (it
# is rendered once a second).
runs_logic() {
    local deadline=$((SECONDS + 10))
    until grep -q "\"logic_version\":$2," <<<"$(status_json "$1")"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}
for i in 0 1 2; do
    expect "node-$i runs logic 3" runs_logic "$i" 3
done

# 3. By hand-over to a copy; then a build that diverges, refused.
cp "$NODOWN" "$work/nodown-copy"
upgrade --binary "$work/nodown-copy"
expect "the second upgrade succeeds" test "$URC" -eq 0
expect "by hand-over" test "$(grep -o '"method":"hand-over"' <<<"$UP" | wc -l)" -eq 3
"$NODOWN" client --nodes "$nodes" --account 0 --secret "$house_secret" --client-id 4242 \
    --timeout-ms 5000 deposit --account "${members%% *}" --amount 12345 >/dev/null 2>&1
expect "a deposit of 12345 (the diverging build credits one more)" test $? -eq 0
upgrade --binary "$PWD/build/test/nodown-diverge"
expect "a diverging build is stopped" test "$URC" -ne 0
expect "at node-0, its state differing" grep -q "the states differ" "$work/upgrade.err"
pid0=$(awk '$1 == "node" && $2 == 0 {print $3}' "$dir/cluster.txt")
expect "node-0's process of the copy serves on" \
    grep -q "nodown-copy" <<<"$(tr '\0' ' ' <"/proc/$pid0/cmdline" 2>/dev/null)"

# 4. The load's end, exactly once, one state.
load_rc=0
for pid in "${load_pids[@]}"; do wait "$pid" || load_rc=1; done
load_pids=()
cat "$work"/load*.out
expect "every command acknowledged" test "$load_rc" -eq 0
for log in "$work"/load*.log; do
    gap=$(awk '{ if (last) { g = $11 - last; if (g > max) max = g } last = $11 }
        END { print int(max / 1000000) }' "$log")
    echo "     longest gap between two acknowledgements, $(basename "$log"): $gap ms (paced at 400/s)"
done
"$E2E" check --nats "$urls" --replicas 3 --log "$work/load${members%% *}.log" \
    $(for m in ${members#* }; do echo --log "$work/load$m.log"; done) >"$work/check.out" 2>&1
check_rc=$?
tail -n 2 "$work/check.out"
expect "every acknowledged command applied exactly once" test "$check_rc" -eq 0
"$NODOWN" verify --dir "$dir" >"$work/verify.out" 2>&1
verify_rc=$?
sed 's/^/     /' "$work/verify.out"
expect "every node's state the same" test "$verify_rc" -eq 0

"$NODOWN" cluster down --dir "$dir" >/dev/null 2>&1
expect_none_left
summary
[ "$failed" -eq 0 ]
