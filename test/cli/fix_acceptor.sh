#!/usr/bin/env bash
# The FIX 4.4 acceptor (docs/fix.md) against a raw socket client
# (test/cli/lib/fix_raw.py): an embedded node with --fix, set up by
# build/test/e2e_node bootstrap; a session logs on, orders, and resends an
# order with PossDup(43=Y), which is answered with the first outcome (the
# same OrderID), never applied twice; a wrong secret gets a Logout with a
# reason; an unknown MsgType a Reject; a bad CheckSum is ignored or
# ends the session with a reason; a
# MsgSeqNum too high a ResendRequest; a bad BodyLength and garbage end
# the session with a reason, while another session logged on meanwhile
# goes on ordering, and the node keeps running; a fill between two
# members' sessions is reported to both, the resting one unasked.
#
# FIX_ACCEPTOR_KEEP=1 keeps the directory. Prints "fix_acceptor: N passed,
# N failed" last.
set -uo pipefail
cd "$(dirname "$0")/../.."

NODOWN=build/nodown
E2E=build/test/e2e_node
RAW="python3 test/cli/lib/fix_raw.py"
HOUSE_SECRET="fix-house-secret"
MEMBER_SECRET="fix-member-secret"
COUNT=0
TIME_LIMIT_S=${FIX_ACCEPTOR_TIME_LIMIT_S:-60}

passed=0
failed=0
declare -A node_pid node_dir node_listen node_http node_nats node_out
declare -A load_pid load_log load_out
members=()
market=""
boot_seq=""
work=$(mktemp -d /tmp/nodown-fix-acceptor-XXXXXX)

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh
# shellcheck source=test/cli/lib/nodes.sh
source test/cli/lib/nodes.sh

stop_all() {
    nodes_stop_all
}

script_frame fix_acceptor "$TIME_LIMIT_S" "${FIX_ACCEPTOR_KEEP:-0}" stop_all

fix_port=$($E2E free-port)
instrument=""
reference=""

# session NAME STEPS: runs fix_raw.py with STEPS (a here-document) into
# $work/NAME.out.
session() {
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

logon() { # logon SENDER [SECRET [MEMBER INDEX]]
    echo "send 1 A 49=$1 98=0 108=30 141=Y 553=${members[${3:-0}]} 554=${2:-$MEMBER_SECRET}"
}

order() { # order SEQ CLORDID [extra fields]
    echo "send $1 D 11=$2 55=$instrument 54=1 38=1 40=2 44=$((reference - 100)) 59=1" \
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
    reference=$(sed -n 's/.*E2E_REFERENCE_TICKS \([0-9]*\).*/\1/p' test/e2e/e2e_node.c | head -1)
    expect "the ready line names the FIX port" grep -q "\"fix_port\":$fix_port" \
        "${node_out[n1]}"
}

orders_and_possdup() {
    session good "$(logon GOOD)
wait 0.5
$(order 2 first)
wait 1
$(order 2 first "43=Y 122=20260101-00:00:00.000")
wait 1
send 3 1 112=T1
wait 0.5
send 9 1 112=T3
wait 0.5"
    expect "a good logon is answered by Logon" has good "35=A|"
    expect "an order is acknowledged: ExecutionReport new" has good "35=8|" "11=first|" "39=0|"
    local ids
    ids=$(grep "35=8|" "$work/good.out" | grep "11=first|" | sed -n 's/.*|37=\([0-9]*\)|.*/\1/p' |
        sort -u | wc -l)
    expect "its PossDup resend answered with the same OrderID, not applied again" \
        test "$(grep -c "35=8|.*11=first|" "$work/good.out")" -ge 2 -a "$ids" = 1
    expect "a TestRequest is answered by a Heartbeat with its id" has good "35=0|" "112=T1|"
    expect "a MsgSeqNum too high gets a ResendRequest" has good "35=2|"
    session checksum "$(logon CHECKSUM)
wait 0.5
raw 8=FIX.4.4|9=5|35=0|10=000|
wait 0.5
send 2 1 112=T2
wait 0.5"
    expect "a bad CheckSum is ignored or ends the session with a reason" \
        grep -q "112=T2|\|35=5|.*58=CheckSum" "$work/checksum.out"
}

bad_input() {
    session wrong "$(logon WRONG not-the-secret)
wait 2"
    expect "a wrong secret gets a Logout with a reason" has wrong "35=5|" "58="
    session unknown "$(logon UNKNOWN)
wait 0.5
send 2 ZZ
wait 0.5
send 3 D 55=1
wait 0.5"
    expect "an unknown MsgType gets a Reject" has unknown "35=3|" "373=11|"
    expect "a NewOrderSingle without ClOrdID gets a Reject" has unknown "35=3|" "371=11|"
    session other "$(logon OTHER)
wait 2.5
$(order 2 other)
wait 1" &
    local other=$!
    sleep 0.5
    session length "$(logon LENGTH)
wait 0.5
raw 8=FIX.4.4|9=10|35=0|49=LENGTH|56=NODOWN|34=2|52=20260101-00:00:00.000|10=~|
wait 1"
    expect "a wrong BodyLength ends the session with a reason" has length "35=5|" "58="
    session garbage "raw hello, this is not FIX at all|||
wait 1"
    expect "garbage gets a Logout or the socket closed" \
        grep -q "35=5|\|closed" "$work/garbage.out"
    wait "$other"
    expect "another session meanwhile orders as before" has other "35=8|" "11=other|"
    expect "the node still runs" alive "${node_pid[n1]}"
}

# A buy rests on one session; a sell of another member's session fills it:
# both are told by an ExecutionReport, the resting one unasked.
fills() {
    session rest "$(logon REST)
wait 0.5
send 2 D 11=rest 55=$instrument 54=1 38=2 40=2 44=$reference 59=1 60=20260101-00:00:00.000
wait 3" &
    local rest=$!
    sleep 1.5
    session hit "$(logon HIT "$MEMBER_SECRET" 1)
wait 0.5
send 2 D 11=hit 55=$instrument 54=2 38=1 40=2 44=$reference 59=3 60=20260101-00:00:00.000
wait 1"
    wait "$rest"
    expect "the aggressor's order is reported filled" has hit "35=8|" "11=hit|" "39=2|"
    expect "the resting order's session is told of its partial fill" \
        has rest "35=8|" "11=rest|" "39=1|" "32=1|"
}

setup && orders_and_possdup && bad_input && fills
stop_all
summary
[ "$failed" -eq 0 ]
