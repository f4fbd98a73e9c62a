#!/usr/bin/env bash
# nodown's FIX 4.4 acceptor checked by a real FIX engine (issue 13;
# docs/fix_testing.md): a node on the embedded default serving FIX on
# --fix 127.0.0.1:PORT, two members as two QuickFIX sessions.
#
#   1. build/test/qf_check runs every scenario (logon, orders of every type
#      and time in force, partial fills between the two sessions, cancel,
#      replace, rejects, a disconnect and QuickFIX's resend, a PossDup
#      resend, a sequence gap, garbage and out-of-order fields); each of
#      its checks counts here.
#   2. The node still serves a native client (`nodown client query`).
#   3. `nodown upgrade --data DIR` replaces the node's process; the same
#      QuickFIX sessions (their stores kept in the scratch directory) log
#      on to the new process and continue their sequence numbers.
# Prints "fix.sh: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

NODOWN=${NODOWN_BIN:-$PWD/build/nodown}
E2E=$PWD/build/test/e2e_node
QF_CHECK=$PWD/build/test/qf_check
HOUSE_SECRET="fix test house secret"
MEMBER_SECRET="fix test member secret"
TIME_LIMIT_S=${FIX_TIME_LIMIT_S:-120}

passed=0
failed=0
declare -A node_pid node_dir node_http node_listen
work=$(mktemp -d /tmp/nodown-fix-XXXXXX)

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh

serving_pid=""
stop_all() {
    [ -n "$serving_pid" ] && kill -TERM "$serving_pid" 2>/dev/null
    local deadline=$((SECONDS + 15))
    while [ -n "$serving_pid" ] && alive "$serving_pid" && [ $SECONDS -lt $deadline ]; do
        sleep 0.1
    done
    stop_embedded 1
    return 0
}

node_dir[1]=$work/node1
script_frame fix.sh "$TIME_LIMIT_S" "${FIX_KEEP:-0}" stop_all

node_listen[1]=$($E2E free-port)
node_http[1]=$($E2E free-port)
fix_port=$($E2E free-port)
env -u NODOWN_ADMIN_TOKEN NODOWN_HOUSE_SECRET="$HOUSE_SECRET" "$NODOWN" serve \
    --data "${node_dir[1]}" --listen "127.0.0.1:${node_listen[1]}" \
    --http "127.0.0.1:${node_http[1]}" --fix "127.0.0.1:$fix_port" \
    >>"$work/node.out" 2>>"$work/node.err" &
node_pid[1]=$!
serving_pid=${node_pid[1]}
wait_line "$work/node.out" "node 1 serving" "${node_pid[1]}" 30 ||
    { fail "the node starts"; tail -n 5 "$work/node.err"; summary; exit 1; }
expect "/status carries the FIX port" test "$(field "$(status_json 1)" fix_port)" = "$fix_port"

"$E2E" bootstrap --nodes "127.0.0.1:${node_listen[1]}" --house-secret "$HOUSE_SECRET" \
    --members 2 --member-secret "$MEMBER_SECRET" >"$work/bootstrap.out" 2>&1 ||
    { fail "bootstrap"; cat "$work/bootstrap.out"; summary; exit 1; }
mapfile -t members < <(awk '$1 == "member" { print $2 }' "$work/bootstrap.out")
instrument=$(awk '$1 == "instrument" { print $2 }' "$work/bootstrap.out")
printf '%s\n' "$MEMBER_SECRET" >"$work/secret"

# qf_check SCENARIOS...: the QuickFIX client's run, its checks added to
# this script's count.
qf_check() {
    local only=()
    [ $# -gt 0 ] && only=(--only "$(IFS=,; echo "$*")")
    "$QF_CHECK" --host 127.0.0.1 --port "$fix_port" --account "${members[0]}" \
        --secret-file "$work/secret" --account2 "${members[1]}" --secret-file2 "$work/secret" \
        --instrument "$instrument" --dir "$work/qf" "${only[@]}" >"$work/qf.out" 2>"$work/qf.err"
    sed 's/^/     /' "$work/qf.out"
    local p f
    read -r p f < <(sed -n 's/^qf_check: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' \
        "$work/qf.out")
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    [ -n "${p:-}" ] || { fail "qf_check printed its closing line"; tail -n 5 "$work/qf.err"; }
}

# 1. Every scenario.
qf_check

# 2. Native clients are served as before.
member_query() {
    "$NODOWN" client --nodes "127.0.0.1:${node_listen[1]}" --account "${members[0]}" \
        --secret "$MEMBER_SECRET" --client-id $((RANDOM + 100)) --timeout-ms 5000 --json \
        query account >"$work/query.out" 2>&1
}
expect "a native client is served after the FIX run" member_query

# 3. A hand-over: the QuickFIX sessions continue on the new process.
cp "$NODOWN" "$work/nodown-b"
UP=$("$NODOWN" upgrade --data "${node_dir[1]}" --binary "$work/nodown-b" --json \
    2>"$work/upgrade.err")
URC=$?
echo "     upgrade: rc $URC $UP"
expect "nodown upgrade --data succeeds" test "$URC" -eq 0
pid_b=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' <<<"$UP")
[ -n "$pid_b" ] && serving_pid=$pid_b
expect "a new process serves the node" test -n "$pid_b" -a "$pid_b" != "${node_pid[1]}"
expect "the new process serves FIX on the same port" \
    test "$(field "$(status_json 1)" fix_port)" = "$fix_port"
qf_check continue
expect "a native client is served after the hand-over" member_query

summary
[ "$failed" -eq 0 ]
