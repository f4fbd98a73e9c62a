#!/usr/bin/env bash
# FIX sessions' sequence numbers across a hand-over and a restart
# (docs/fix.md, "Hand-over"): a session logs on with ResetSeqNumFlag and
# orders; `nodown upgrade` replaces the node, which tells the session to
# log on again; it logs on without a reset, its numbers and the acceptor's
# continuing, orders again and resends its first order with PossDup, which
# the new process answers with the first OrderID; the node is stopped and
# started again, and the numbers still continue. Uses test/cli/lib/fix_raw.py.
#
# FIX_HANDOVER_KEEP=1 keeps the directory. Prints "fix_handover: N passed,
# N failed" last.
set -uo pipefail
cd "$(dirname "$0")/../.."

NODOWN=build/nodown
E2E=build/test/e2e_node
RAW="python3 test/cli/lib/fix_raw.py"
HOUSE_SECRET="fix-house-secret"
MEMBER_SECRET="fix-member-secret"
TIME_LIMIT_S=${FIX_HANDOVER_TIME_LIMIT_S:-60}

passed=0
failed=0
declare -A node_pid node_dir node_listen node_http node_nats node_out
members=()
work=$(mktemp -d /tmp/nodown-fix-handover-XXXXXX)

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh
# shellcheck source=test/cli/lib/nodes.sh
source test/cli/lib/nodes.sh

stop_all() {
    nodes_stop_all
}

script_frame fix_handover "$TIME_LIMIT_S" "${FIX_HANDOVER_KEEP:-0}" stop_all

fix_port=$($E2E free-port)
instrument=""

session() { # session NAME STEPS: fix_raw.py with STEPS into $work/NAME.out
    printf '%s\n' "$2" >"$work/$1.steps"
    $RAW "$fix_port" "$work/$1.steps" >"$work/$1.out" 2>"$work/$1.err"
}

has() { # has NAME PATTERN...: a line of NAME's answers holding every pattern
    local line p all
    while read -r line; do
        all=1
        for p in "${@:2}"; do [[ $line == *"$p"* ]] || all=0; done
        [ $all = 1 ] && return 0
    done <"$work/$1.out"
    return 1
}

order_id() { # order_id NAME CLORDID: the OrderIDs reported for CLORDID
    grep "35=8|" "$work/$1.out" | grep "|11=$2|" | sed -n 's/.*|37=\([0-9]*\)|.*/\1/p' | sort -u
}

logon() { # logon SEQ [141=Y]
    echo "send $1 A 49=HAND 98=0 108=30 553=${members[0]} 554=$MEMBER_SECRET ${2:-}"
}

order() { # order SEQ CLORDID [extra fields]
    echo "send $1 D 11=$2 55=$instrument 54=1 38=1 40=2 44=100 59=1" \
        "60=20260101-00:00:00.000 ${3:-}"
}

setup() {
    expect "node starts with --fix" node_start n1 "$work/n1" 1 house \
        --fix "127.0.0.1:$fix_port" || return 1
    local out
    out=$($E2E bootstrap --nodes "127.0.0.1:${node_listen[n1]}" \
        --house-secret "$HOUSE_SECRET" --members 2 --member-secret "$MEMBER_SECRET" \
        --logic 2) || { fail "bootstrap"; return 1; }
    mapfile -t members < <(echo "$out" | awk '$1 == "member" { print $2 }')
    instrument=$(echo "$out" | awk '$1 == "instrument" { print $2 }')
}

handover() {
    session before "$(logon 1 141=Y)
wait 0.5
$(order 2 first)
wait 3"  &
    local client=$!
    sleep 1.5
    local up
    up=$("$NODOWN" upgrade --data "$work/n1" --binary "$NODOWN" --json 2>"$work/upgrade.err")
    expect "nodown upgrade hands the node over" test $? -eq 0
    node_pid[n1]=$(echo "$up" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
    wait "$client"
    expect "the order is acknowledged before the hand-over" has before "35=8|" "11=first|"
    expect "the old process tells the session to log on again" has before "35=5|" "58=this node"
    local last_out
    last_out=$(grep "35=5|" "$work/before.out" | sed -n 's/.*|34=\([0-9]*\)|.*/\1/p')
    session after "$(logon 3)
wait 1
$(order 4 second)
wait 1
$(order 2 first "43=Y 122=20260101-00:00:00.000")
wait 1"
    expect "the new process takes the logon without a reset" has after "35=A|" \
        "34=$((last_out + 1))|"
    expect "an order after the hand-over is acknowledged" has after "35=8|" "11=second|"
    expect "the PossDup resend gets the first OrderID from the new process" \
        test "$(order_id after first)" = "$(order_id before first)"
    expect "no ResendRequest: the numbers continued" test "$(grep -c "35=2|" \
        "$work/after.out")" -eq 0
}

restart() {
    node_stop n1
    expect "the sequence numbers are on disk" grep -q " HAND$" "$work/n1/fix_sessions"
    expect "node starts again" node_start n1 "$work/n1" 1 --fix "127.0.0.1:$fix_port" ||
        return 1
    session restarted "$(logon 5)
wait 1
$(order 6 third)
wait 1"
    expect "after a restart the logon goes on without a reset" has restarted "35=A|"
    expect "and so do orders" has restarted "35=8|" "11=third|"
    expect "no ResendRequest after the restart" test "$(grep -c "35=2|" \
        "$work/restarted.out")" -eq 0
}

setup && handover && restart
stop_all
summary
[ "$failed" -eq 0 ]
