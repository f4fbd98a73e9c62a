#!/usr/bin/env bash
# ACTIVATE_LOGIC never stops a node (issue 14; docs/upgrades.md), with real
# processes: node 1 on the embedded default, node 2 on node 1's nats-server
# (`serve --nats`), both on one stream.
#
#   1. An activation of a version no node runs (LOGIC_VERSION_MAX + 1) is
#      refused before publishing (REJECT_LOGIC_NOT_EVERYWHERE, stream_seq
#      0) and both nodes keep serving. (Today it is published, and both
#      nodes exit, again at every restart.) So is a deposit to account
#      4294967295 (UINT32_MAX), which every node crashed on.
#   2. Node 1 restarted with --logic-max MAX - 1 announces that in the node
#      registry: an activation of MAX through node 2 is refused, naming
#      node 1 (its id in the outcome, every node in node 2's log).
#   3. Node 1 restarted as its full build: the same activation passes and
#      both nodes apply it.
#   4. Node 1 restarted with --logic-max MAX - 1 again meets that
#      activation in the stream: it stays up, says why on stderr and in
#      /status ("stopped"), answers queries, refuses commands (exit 3 with
#      the reason) and /status goes on; 24 more messages behind it, it
#      still stops at once on SIGTERM.
#   5. Node 1 restarted as its full build applies on, to node 2's sequence.
# Prints "logic_gate.sh: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

NODOWN=${NODOWN_BIN:-$PWD/build/nodown}
E2E=$PWD/build/test/e2e_node
HOUSE_SECRET="logic gate house secret"
TIME_LIMIT_S=${LOGIC_GATE_TIME_LIMIT_S:-180}

passed=0
failed=0
declare -A node_pid node_dir node_http node_listen
work=$(mktemp -d /tmp/nodown-logic-gate-XXXXXX)

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh

stop_all() {
    [ -n "${node_pid[2]:-}" ] && stop_pid "${node_pid[2]}"
    node_pid[2]=""
    stop_embedded 1
}

node_dir[1]=$work/node1
node_dir[2]=$work/node2
script_frame logic_gate.sh "$TIME_LIMIT_S" "${LOGIC_GATE_KEEP:-0}" stop_all

MAX=$("$NODOWN" version | sed -n 's/.*logic versions [0-9]*\.\.\([0-9]*\),.*/\1/p')

# node_start N [serve options...]: starts node N (1: embedded, 2: on node
# 1's nats-server); its output in $work/nodeN.out and .err (appended).
node_start() {
    local n=$1
    shift
    [ -n "${node_listen[$n]:-}" ] || node_listen[$n]=$($E2E free-port)
    [ -n "${node_http[$n]:-}" ] || node_http[$n]=$($E2E free-port)
    local nats=()
    [ "$n" = 2 ] && nats=(--nats "$nats_url")
    env -u NODOWN_ADMIN_TOKEN NODOWN_HOUSE_SECRET="$HOUSE_SECRET" "$NODOWN" serve \
        --data "${node_dir[$n]}" --node-id "$n" --listen "127.0.0.1:${node_listen[$n]}" \
        --http "127.0.0.1:${node_http[$n]}" "${nats[@]}" "$@" \
        >>"$work/node$n.out" 2>>"$work/node$n.err" &
    node_pid[$n]=$!
    wait_line "$work/node$n.out" "node $n serving" "${node_pid[$n]}" 30 || {
        tail -n 5 "$work/node$n.err"
        return 1
    }
}

# node_restart N [serve options...]
node_restart() {
    stop_pid "${node_pid[$1]}"
    : >"$work/node$1.out"
    node_start "$@"
}

# house N COMMAND...: the house's client on node N alone; sets OUT, RC.
house() {
    local n=$1
    shift
    OUT=$("$NODOWN" client --nodes "127.0.0.1:${node_listen[$n]}" --account 0 \
        --secret "$HOUSE_SECRET" --client-id $((RANDOM + 100)) --timeout-ms 5000 --json \
        "$@" 2>&1)
    RC=$?
}

status_of() { status_json "$1"; }

# applied_to N SEQ: node N's applied_seq reaches SEQ within 20 s.
applied_to() {
    local deadline=$((SECONDS + 20)) seq
    while [ $SECONDS -lt $deadline ]; do
        seq=$(field "$(status_of "$1")" applied_seq)
        [ -n "$seq" ] && [ "$seq" -ge "$2" ] && return 0
        sleep 0.2
    done
    return 1
}

node_start 1 || { fail "node 1 starts"; summary; exit 1; }
nats_url=$(grep -o 'nats://[0-9.:]*' "$work/node1.out" | head -n 1)
node_start 2 || { fail "node 2 starts"; summary; exit 1; }

# 1. A version nobody runs: refused before publishing, nobody stops.
house 1 activate-logic --version $((MAX + 1))
echo "     activate $((MAX + 1)): rc $RC $OUT"
expect "activation of MAX + 1 refused" grep -q '"result":"REJECT_LOGIC_NOT_EVERYWHERE"' <<<"$OUT"
expect "and never published" grep -q '"stream_seq":0' <<<"$OUT"
sleep 1
expect "node 1 still runs" alive "${node_pid[1]}"
expect "node 2 still runs" alive "${node_pid[2]}"
house 2 query account --account 0
expect "node 2 still answers" test "$RC" -eq 0
# An account id of UINT32_MAX: builds before issue 14 crashed on it.
house 1 deposit --account 4294967295 --amount 1
echo "     deposit to account 4294967295: rc $RC $OUT"
expect "account 4294967295 refused before publishing" \
    grep -q '"result":"REJECT_ACCOUNT_UNKNOWN".*"stream_seq":0' <<<"$OUT"
sleep 1
expect "node 1 still runs after it" alive "${node_pid[1]}"

# 2. Node 1 runs one version less: node 2 refuses MAX, naming node 1.
node_restart 1 --logic-max $((MAX - 1)) || fail "node 1 restarts with --logic-max"
house 2 activate-logic --version "$MAX"
echo "     activate $MAX on node 2: rc $RC $OUT"
expect "node 2 refuses MAX" grep -q '"result":"REJECT_LOGIC_NOT_EVERYWHERE"' <<<"$OUT"
expect "naming node 1" grep -q '"id":1,' <<<"$OUT"
text=$("$NODOWN" client --nodes "127.0.0.1:${node_listen[2]}" --account 0 \
    --secret "$HOUSE_SECRET" --client-id 77 activate-logic --version "$MAX" 2>&1)
expect "the client says node 1 cannot run it" grep -q "node 1 cannot run that logic" <<<"$text"
expect "node 2's log names node 1's range" \
    grep -q "ACTIVATE_LOGIC $MAX refused, not published: node 1 runs 1..$((MAX - 1))" \
    "$work/node2.err"

# 3. Node 1 runs its whole build again: the activation passes.
node_restart 1 || fail "node 1 restarts"
house 2 activate-logic --version "$MAX"
echo "     activate $MAX on node 2: rc $RC $OUT"
expect "node 2 publishes MAX" grep -q '"result":"RESULT_OK"' <<<"$OUT"
activation_seq=$(sed -n 's/.*"stream_seq":\([0-9]*\).*/\1/p' <<<"$OUT")
expect "node 1 applies it" applied_to 1 "${activation_seq:-999999}"
expect "node 1 runs MAX" grep -q "\"logic_version\":$MAX," <<<"$(status_of 1)"

# 4. Node 1 on one version less meets it in the stream: stops applying only.
node_restart 1 --logic-max $((MAX - 1)) || fail "node 1 restarts below MAX"
sleep 2
expect "node 1 still runs after the activation" alive "${node_pid[1]}"
expect "node 1 says why on stderr" \
    grep -q "stopped applying at stream sequence $activation_seq: it activates logic version $MAX" \
    "$work/node1.err"
status=$(status_of 1)
echo "     node 1 /status: $status"
expect "/status says it stopped" grep -q "\"stopped\":\"stopped applying at stream sequence" \
    <<<"$status"
expect "/status: applied up to the message before" \
    test "$(field "$status" applied_seq)" = $((activation_seq - 1))
house 1 query account --account 0
expect "node 1 answers queries" test "$RC" -eq 0
house 1 deposit --account 0 --amount 1
echo "     a command on node 1: rc $RC $OUT"
expect "node 1 refuses commands, saying why" grep -q "stopped applying" <<<"$OUT"
sleep 1
expect "node 1 still serves /status" grep -q '"node_id":1' <<<"$(status_of 1)"

# More messages than node 1 decodes ahead (16) come after the one it
# stopped at: it still stops at once on SIGTERM.
for i in $(seq 1 24); do house 2 deposit --account 0 --amount "$i" >/dev/null; done
sleep 1
expect "node 1 still runs behind 24 more messages" alive "${node_pid[1]}"
started=$SECONDS
stop_pid "${node_pid[1]}"
echo "     node 1 stopped in $((SECONDS - started)) s"
expect "node 1 stops on SIGTERM within 5 s" test $((SECONDS - started)) -le 5

# 5. Its full build again: it applies on.
: >"$work/node1.out"
node_start 1 || fail "node 1 restarts as its full build"
seq2=$(field "$(status_of 2)" applied_seq)
expect "node 1 applies on to node 2's sequence" applied_to 1 "${seq2:-999999}"
status=$(status_of 1)
expect "node 1 runs MAX, not stopped" grep -q "\"logic_version\":$MAX,.*\"stopped\":\"\"" \
    <<<"$status"

stop_all
expect_none_left
summary
[ "$failed" -eq 0 ]
