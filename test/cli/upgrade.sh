#!/usr/bin/env bash
# A single node on the embedded default upgraded in place under load
# (issue 11; docs/upgrades.md, "Hand-over"), with real processes:
#
#   1. A node serves a member sending orders and bets at a steady pace.
#      `nodown upgrade --data DIR --binary COPY` starts the copy beside it;
#      the copy catches up and takes the client port, the admin port, the
#      session and the nats-server. The client never reconnects, every
#      command is acknowledged and applied exactly once (the stream
#      checker), the node's digest is the checker's, the nats-server is the
#      same process (kept by the old one, now its keeper). The longest gap
#      between two acknowledgements is printed (benchmarks judge it).
#   2. Upgraded again, from the new process to another copy: the keeper is
#      passed on.
#   3. A binary that cannot take over (one that says no release) and a
#      build whose state differs (build/test/nodown-diverge credits a
#      deposit of 12345 with one more): each upgrade fails, says why, and
#      the node serving goes on serving the same session.
#   4. The node stopped: its nats-server stops with it (through the
#      keeper), nothing is left running.
# Prints "upgrade.sh: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

NODOWN=${NODOWN_BIN:-$PWD/build/nodown}
E2E=$PWD/build/test/e2e_node
DIVERGE=$PWD/build/test/nodown-diverge
HOUSE_SECRET="upgrade test house secret"
MEMBER_SECRET="upgrade test member secret"
TIME_LIMIT_S=${UPGRADE_TIME_LIMIT_S:-240}

passed=0
failed=0
declare -A node_pid node_dir node_http node_listen
work=$(mktemp -d /tmp/nodown-upgrade-XXXXXX)

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh

# The node's process changes at each upgrade; the ones before it are the
# keeper (a child of this script) and processes that exited.
serving_pid=""
stop_all() {
    [ -n "$serving_pid" ] && kill -TERM "$serving_pid" 2>/dev/null
    local deadline=$((SECONDS + 15))
    while [ -n "$serving_pid" ] && alive "$serving_pid" && [ $SECONDS -lt $deadline ]; do
        sleep 0.1
    done
    stop_embedded 1
    [ -n "${load_pid:-}" ] && stop_pid "$load_pid"
    return 0
}

node_dir[1]=$work/node1
script_frame upgrade.sh "$TIME_LIMIT_S" "${UPGRADE_KEEP:-0}" stop_all

node_listen[1]=$($E2E free-port)
node_http[1]=$($E2E free-port)
env -u NODOWN_ADMIN_TOKEN NODOWN_HOUSE_SECRET="$HOUSE_SECRET" "$NODOWN" serve \
    --data "${node_dir[1]}" --listen "127.0.0.1:${node_listen[1]}" \
    --http "127.0.0.1:${node_http[1]}" >>"$work/node.out" 2>>"$work/node.err" &
node_pid[1]=$!
serving_pid=${node_pid[1]}
wait_line "$work/node.out" "node 1 serving" "${node_pid[1]}" 30 ||
    { fail "the node starts"; tail -n 5 "$work/node.err"; summary; exit 1; }
nats_url=$(grep -o 'nats://[0-9.:]*' "$work/node.out" | head -n 1)
nats_before=$(nats_pid_of "${node_dir[1]}")

"$E2E" bootstrap --nodes "127.0.0.1:${node_listen[1]}" --house-secret "$HOUSE_SECRET" \
    --members 2 --member-secret "$MEMBER_SECRET" >"$work/bootstrap.out" 2>&1 ||
    { fail "bootstrap"; cat "$work/bootstrap.out"; summary; exit 1; }
member=$(sed -n 's/^member //p' "$work/bootstrap.out" | head -n 1)

house() {
    OUT=$("$NODOWN" client --nodes "127.0.0.1:${node_listen[1]}" --account 0 \
        --secret "$HOUSE_SECRET" --client-id $((RANDOM + 100)) --timeout-ms 5000 --json \
        "$@" 2>&1)
    RC=$?
}

# The status field NAME of the node serving now.
status_field() { field "$(status_json 1)" "$1"; }

# upgrade BINARY: `nodown upgrade --data` to BINARY; sets UP (its JSON), URC.
upgrade() {
    UP=$("$NODOWN" upgrade --data "${node_dir[1]}" --binary "$1" --json 2>"$work/upgrade.err")
    URC=$?
    echo "     upgrade to $(basename "$1"): rc $URC $UP"
    sed 's/^/     | /' "$work/upgrade.err" | tail -n 8
}

# 1. In place, under load.
"$E2E" load --nodes "127.0.0.1:${node_listen[1]}" --account "$member" \
    --secret "$MEMBER_SECRET" --client-id 21 --count 16000 --rate 2000 \
    --log "$work/load.log" --instrument 0 --market 0 --seconds 90 >"$work/load.out" 2>&1 &
load_pid=$!
sleep 3
cp "$NODOWN" "$work/nodown-a"
upgrade "$work/nodown-a"
expect "nodown upgrade --data succeeds" test "$URC" -eq 0
pid_a=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' <<<"$UP")
expect "a new process serves the node" test -n "$pid_a" -a "$pid_a" != "${node_pid[1]}"
[ -n "$pid_a" ] && serving_pid=$pid_a
expect "its session was handed over" grep -q '"sessions":[1-9]' <<<"$UP"
expect "/status names the new process" test "$(status_field pid)" = "$pid_a"
expect "the nats-server is the same process" test "$(nats_pid_of "${node_dir[1]}")" = "$nats_before"
expect "the old process keeps it (nats-keeper)" \
    grep -q "nats-keeper" <<<"$(tr '\0' ' ' <"/proc/${node_pid[1]}/cmdline" 2>/dev/null)"
wait "$load_pid"
load_rc=$?
load_pid=""
cat "$work/load.out"
expect "every command acknowledged" test "$load_rc" -eq 0
expect "the client never reconnected" grep -q ", 1 connections," "$work/load.out"
gap=$(awk '{ if (last) { g = $11 - last; if (g > max) max = g } last = $11 } END { print int(max / 1000000) }' \
    "$work/load.log")
echo "     longest gap between two acknowledgements: $gap ms (paced at 2000/s)"

check() {
    "$E2E" check --nats "$nats_url" --log "$work/load.log" >"$work/check.out" 2>&1
    local rc=$?
    tail -n 2 "$work/check.out"
    check_seq=$(sed -n 's/.*applied_seq \([0-9]*\).*/\1/p' "$work/check.out")
    check_digest=$(sed -n 's/.*digest \([0-9a-f]*\).*/\1/p' "$work/check.out")
    return $rc
}
expect "every acknowledged command applied exactly once" check
sleep 1.5 # the node's digest is taken when it is idle
expect "the node's state is the checker's" \
    same_state "$(status_field digest_seq) $(status_field digest)"

# 2. Again: the keeper passes on.
cp "$NODOWN" "$work/nodown-b"
upgrade "$work/nodown-b"
expect "a second upgrade succeeds" test "$URC" -eq 0
pid_b=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' <<<"$UP")
[ -n "$pid_b" ] && serving_pid=$pid_b
gone() { # gone PID: it has exited within 10 s (not our child: init reaps it)
    local deadline=$((SECONDS + 10))
    while kill -0 "$1" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    ! kill -0 "$1" 2>/dev/null
}
expect "process a has stopped" gone "${pid_a:-1}"
expect "the nats-server is still the same" test "$(nats_pid_of "${node_dir[1]}")" = "$nats_before"
house query account --account 0
expect "the node answers after it" test "$RC" -eq 0

# 3. Upgrades that must fail, the node serving on.
printf '#!/bin/sh\nexit 1\n' >"$work/not-nodown"
chmod +x "$work/not-nodown"
upgrade "$work/not-nodown"
expect "a binary that says no release is refused" test "$URC" -ne 0
expect "and says why" grep -q "did not say its release" "$work/upgrade.err"
house deposit --account "$member" --amount 12345
expect "a deposit of 12345" test "$RC" -eq 0
upgrade "$DIVERGE"
expect "a build whose state differs is stopped" test "$URC" -ne 0
expect "saying the states differ" grep -q "the states differ at stream sequence" \
    "$work/upgrade.err"
expect "the same process serves on" test "$(status_field pid)" = "$pid_b"
house query account --account "$member"
expect "and answers" test "$RC" -eq 0

# 4. Stopped: the nats-server with it, through the keeper.
kill -TERM "$pid_b"
expect "the node stops" gone "$pid_b"
expect "its nats-server stops with it" gone "$nats_before"
serving_pid=""
wait "${node_pid[1]}" 2>/dev/null
node_pid[1]=""
expect_none_left
summary
[ "$failed" -eq 0 ]
