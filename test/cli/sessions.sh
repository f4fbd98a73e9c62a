#!/usr/bin/env bash
# Session bounds and one-time secrets against a real node and nats-server
# (issue 14; docs/protocol.md "Session bounds" and "Secrets"):
#
#   1. /status reports the sessions in use and the table's size, and
#      /metrics the two gauges. (Today: neither exists.)
#   2. After ACTIVATE_LOGIC 3, one member opening 100 client ids, more than
#      its quota of 64, holds at most 64 places: in use stays at 64 plus
#      the house's and the agent's. (Today: every client id stays.)
#   3. Every other account still acts: the house and the agent, each with
#      a client id it never used.
#   4. The member's first client id, evicted, logs on again and acts:
#      LOGON_OK gives it the account's horizon to number above.
#   5. The agent resets the member's secret: the member may do nothing but
#      set its own (REJECT_SECRET_CHANGE_REQUIRED), then acts again.
# Prints "sessions.sh: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

NODOWN=${NODOWN_BIN:-$PWD/build/nodown}
E2E=$PWD/build/test/e2e_node
HOUSE_SECRET="sessions house secret"
AGENT_SECRET="sessions agent secret"
MEMBER_SECRET="sessions member secret"
CLIENT_IDS=${SESSIONS_CLIENT_IDS:-100}
TIME_LIMIT_S=${SESSIONS_TIME_LIMIT_S:-240}

passed=0
failed=0
declare -A node_pid node_dir node_http node_listen
work=$(mktemp -d /tmp/nodown-sessions-XXXXXX)

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh

stop_all() { stop_embedded 1; }

node_dir[1]=$work/node1
script_frame sessions.sh "$TIME_LIMIT_S" "${SESSIONS_KEEP:-0}" stop_all

node_listen[1]=$($E2E free-port)
node_http[1]=$($E2E free-port)
env -u NODOWN_ADMIN_TOKEN NODOWN_HOUSE_SECRET="$HOUSE_SECRET" "$NODOWN" serve \
    --data "${node_dir[1]}" --node-id 1 --listen "127.0.0.1:${node_listen[1]}" \
    --http "127.0.0.1:${node_http[1]}" >"$work/node1.out" 2>"$work/node1.err" &
node_pid[1]=$!
if ! wait_line "$work/node1.out" "node 1 serving" "${node_pid[1]}" 30; then
    tail -n 5 "$work/node1.err"
    fail "the node starts"
    summary
    exit 1
fi

# as ACCOUNT SECRET CLIENT_ID COMMAND...: one client command; sets OUT, RC.
as() {
    local account=$1 secret=$2 client_id=$3
    shift 3
    OUT=$("$NODOWN" client --nodes "127.0.0.1:${node_listen[1]}" --account "$account" \
        --secret "$secret" --client-id "$client_id" --timeout-ms 5000 "$@" 2>&1)
    RC=$?
}

house() { as 0 "$HOUSE_SECRET" 1 "$@"; }

# answered NAME RC PATTERN: the last command exited RC with PATTERN in its output.
answered() {
    if [ "$RC" -eq "$2" ] && grep -qE -- "$3" <<<"$OUT"; then
        ok "$1"
    else
        fail "$1: exit $RC: $OUT"
    fi
}

metrics_text() {
    curl -s -m 2 -H "Authorization: Bearer $(cat "${node_dir[1]}/admin.token")" \
        "http://127.0.0.1:${node_http[1]}/metrics"
}

# sessions_in_use: /status's sessions.in_use, once the node has refreshed it.
sessions_in_use() {
    sleep 1.2 # /status is rendered once a second
    status_json 1 | sed -n 's/.*"sessions":{"in_use":\([0-9]*\).*/\1/p'
}

# ---- A tree: super 1, master 2, agent 3, member 4; secrets set by the
# house before logic 3, so they are the accounts' own. ----
house account-create --parent 0 --kind super --credit 100000000
answered "create super" 0 'account 1'
house account-create --parent 1 --kind master --credit 100000000
house account-create --parent 2 --kind agent --credit 100000000
house account-create --parent 3 --kind member
answered "create member" 0 'account 4'
house account-secret --account 3 --secret "$AGENT_SECRET"
house account-secret --account 4 --secret "$MEMBER_SECRET"
answered "member secret" 0 'ok'

status=$(status_json 1)
expect "/status reports sessions in use and the table's size" \
    grep -qE '"sessions":\{"in_use":[0-9]+,"max":65536,"per_account_max":64\}' <<<"$status"
metrics=$(metrics_text)
expect "/metrics has nodown_state_sessions" grep -qE '^nodown_state_sessions [0-9]+$' <<<"$metrics"
expect "/metrics has nodown_state_sessions_max" \
    grep -qE '^nodown_state_sessions_max 65536$' <<<"$metrics"

house activate-logic --version 3
answered "activate logic 3" 0 'ok'

# ---- One member, many client ids. ----
refused=0
for client_id in $(seq 1000 $((1000 + CLIENT_IDS - 1))); do
    as 4 "$MEMBER_SECRET" "$client_id" cancel --order 999999
    [ "$RC" -eq 1 ] && grep -q REJECT_ORDER_UNKNOWN <<<"$OUT" || refused=$((refused + 1))
done
expect "every one of $CLIENT_IDS client ids got its answer" test "$refused" -eq 0
in_use=$(sessions_in_use)
echo "     sessions in use after $CLIENT_IDS member client ids: $in_use"
# The member's 64 and the house's two (client 0 set its secret at the
# first start, client 1 the rest); the agent has none yet.
expect "the member holds at most its quota" test "${in_use:-999}" -le 66

house_new=$((RANDOM + 5000))
as 0 "$HOUSE_SECRET" "$house_new" deposit --account 4 --amount 100
answered "the house acts with a new client id" 0 'ok'
as 3 "$AGENT_SECRET" 7 account-limits --account 4 --quantity-max 1000
answered "the agent acts with a new client id" 0 'ok'

# Client id 1000 was the member's least recently used: evicted, it logs
# on again above the horizon and goes on.
as 4 "$MEMBER_SECRET" 1000 cancel --order 999999
answered "an evicted client id logs on again and acts" 1 'REJECT_ORDER_UNKNOWN'

# ---- Commission rates, from logic 3 (docs/sportsbook.md). ----
house commission-set --account 1 --market-type handicap --rate 80
answered "commission-set from logic 3" 0 'commission-set: ok, account 1, rate_bp 80'
as 3 "$AGENT_SECRET" 7 commission-set --account 4 --market-type handicap --rate 10
answered "a rate above the parent's names the parent's" 1 "at most 0 bp: the parent's own rate"

# ---- One-time secret. ----
as 3 "$AGENT_SECRET" 7 account-secret --account 4 --secret "member secret by agent"
answered "the agent resets the member's secret" 0 'ok'
as 4 "member secret by agent" 1001 cancel --order 999999
answered "a reset secret allows nothing else" 1 'REJECT_SECRET_CHANGE_REQUIRED'
as 4 "member secret by agent" 1001 account-secret --account 4 --secret "$MEMBER_SECRET"
answered "the member sets its own" 0 'ok'
as 4 "$MEMBER_SECRET" 1001 cancel --order 999999
answered "then the member acts again" 1 'REJECT_ORDER_UNKNOWN'

expect "the node is still up" alive "${node_pid[1]}"
stop_all
expect_none_left
summary
[ "$failed" -eq 0 ]
