#!/usr/bin/env bash
# A newcomer's first hour (issue 14), with real processes: every --help of
# every command and subcommand prints to stdout and exits 0, and `bench
# --help` names the workloads; on one node (`nodown serve`, embedded NATS)
# a market order with the default time in force fills (ioc), and the help
# says so; `account-limits` changes only the limits given; `query odds`
# shows a handicap or total line in goals and none on 1x2, takes the short
# format names and shows fractional odds on the traditional ladder; --json
# names commands as the CLI does; a second `serve` on the data directory
# in use names the node holding it and exits at once; `cluster status`
# exits 1 when a node is down; every code of docs/protocol.md's tables is
# the one the code has. Prints "newcomer.sh: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

work=$(mktemp -d /tmp/nodown-newcomer-XXXXXX)
NODE_PID=
passed=0
failed=0
NODOWN=${NODOWN_BIN:-$PWD/build/nodown}

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh

stop_all() {
    [ -n "$NODE_PID" ] && stop_pid "$NODE_PID"
    NODE_PID=
    local nats
    nats=$(nats_pid_of "$work/data") && kill -TERM "$nats" 2>/dev/null
    [ -f "$work/c/cluster.txt" ] && "$NODOWN" cluster down --dir "$work/c" >/dev/null 2>&1
    return 0
}

script_frame newcomer.sh "${NEWCOMER_TIME_LIMIT_S:-180}" "${NEWCOMER_KEEP:-0}" stop_all

# run COMMAND...: runs nodown; sets OUT, ERR and RC.
run() {
    OUT=$("$NODOWN" "$@" 2>"$work/stderr")
    RC=$?
    ERR=$(cat "$work/stderr")
}

# check NAME RC PATTERN: the last run exited RC and its stdout (its stderr
# when it failed with no stdout) matches the extended regular expression.
check() {
    local text=$OUT
    [ "$2" -ne 0 ] && [ -z "$OUT" ] && text=$ERR
    if [ "$RC" -ne "$2" ]; then
        fail "$1: exit $RC, expected $2; stdout: $OUT; stderr: $ERR"
    elif ! grep -q -E -- "$3" <<<"$text"; then
        fail "$1: '$text' does not match '$3'"
    else
        ok "$1"
    fi
}

# ---- Every --help: stdout, exit 0, nothing on stderr. ----

help_ok() { # help_ok WORDS...: `nodown WORDS --help`
    run "$@" --help
    if [ "$RC" -eq 0 ] && [ -n "$OUT" ] && [ -z "$ERR" ] && grep -q '^usage: ' <<<"$OUT"; then
        passed=$((passed + 1))
    else
        fail "nodown $* --help: exit $RC, stdout $(wc -l <<<"$OUT") lines, stderr '$ERR'"
    fi
}
run --help
commands=$(awk '/^commands:/ { on = 1; next } on && NF == 0 { on = 0 }
    on { print ($1 == "bench" ? $1 " " $2 : $1) }' <<<"$OUT")
commands+=$'\nbench'
while read -r words; do
    # shellcheck disable=SC2086
    help_ok $words
done <<<"$commands"
run cluster --help
subcommands=$(sed -n 's/^ *\(usage:\)\{0,1\} *nodown cluster \([a-z-]*\).*/\2/p' <<<"$OUT")
[ "$(wc -l <<<"$subcommands")" -ge 8 ] && ok "cluster subcommands listed" ||
    fail "cluster subcommands: $subcommands"
while read -r sub; do help_ok cluster "$sub"; done <<<"$subcommands"
run client --help
client_commands=$(awk '/^commands:/ { on = 1; next } on && NF == 0 { on = 0 }
    on { print ($1 == "query" ? $1 " " $2 : $1) }' <<<"$OUT")
while read -r words; do
    # shellcheck disable=SC2086
    help_ok client $words
done <<<"$client_commands"
ok "walked $(wc -l <<<"$commands") commands, $(wc -l <<<"$subcommands") cluster and \
$(wc -l <<<"$client_commands") client subcommands"
run bench --help
check "bench --help lists the workloads" 0 'liquibook.*' && grep -q 'mix' <<<"$OUT" ||
    fail "bench --help does not name the mix workload"
run client order --help
check "order --help: a market order is ioc by default" 0 'a market order: ioc.fok, default ioc'

# ---- Every code in docs/protocol.md's tables is the code's. ----

python3 test/cli/lib/protocol_codes.py docs/protocol.md src/core/result.h \
    src/codec/frame.h >"$work/codes" 2>&1
RC=$? OUT=$(cat "$work/codes") ERR=
check "docs/protocol.md's codes are the code's" 0 '^protocol codes: [0-9]+ results, [0-9]+ errors'

# ---- One node. ----

NODOWN_HOUSE_SECRET=newcomer-house-secret "$NODOWN" serve --data "$work/data" \
    --listen 127.0.0.1:0 --http 127.0.0.1:0 >"$work/serve.out" 2>"$work/serve.err" &
NODE_PID=$!
if ! wait_line "$work/serve.out" "serving clients" "$NODE_PID" 30; then
    fail "the node did not start: $(cat "$work/serve.out" "$work/serve.err")"
    stop_all
    summary
    exit 1
fi
PORT=$(sed -n 's/.*serving clients on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$work/serve.out")
export NODOWN_NODES=127.0.0.1:$PORT
HOUSE=(client --account 0 --secret newcomer-house-secret)
MEMBER=(client --account 5 --secret newcomer-member-secret)
SELLER=(client --account 6 --secret newcomer-seller-secret)

# A second serve on the same data: it names the node and exits at once.
start=$SECONDS
timeout 20 "$NODOWN" serve --data "$work/data" --listen 127.0.0.1:0 --http 127.0.0.1:0 \
    >"$work/second.out" 2>"$work/second.err"
RC=$? OUT= ERR=$(cat "$work/second.err")
check "a second serve on a data directory in use" 1 \
    "data directory .* is in use by nodown serve, pid $NODE_PID"
[ $((SECONDS - start)) -le 3 ] && ok "the second serve exits at once" ||
    fail "the second serve took $((SECONDS - start)) s"

setup() { # setup NAME COMMAND...: a step of the setup, which must succeed
    local name=$1
    shift
    run "$@"
    check "$name" 0 ': ok'
}
setup "operator" "${HOUSE[@]}" account-create --parent 0 --kind operator
setup "super" "${HOUSE[@]}" account-create --parent 0 --kind super --credit 100000000
setup "master" "${HOUSE[@]}" account-create --parent 2 --kind master --credit 100000000
setup "agent" "${HOUSE[@]}" account-create --parent 3 --kind agent --credit 100000000
setup "member" "${HOUSE[@]}" account-create --parent 4 --kind member
setup "seller" "${HOUSE[@]}" account-create --parent 4 --kind member
setup "member secret" "${HOUSE[@]}" account-secret --account 5 --secret newcomer-member-secret
setup "seller secret" "${HOUSE[@]}" account-secret --account 6 --secret newcomer-seller-secret
setup "deposit" "${HOUSE[@]}" deposit --account 5 --amount 1000000
setup "instrument" "${HOUSE[@]}" instrument-create --symbol ACME --tick-size 1 --lot-size 1 \
    --reference 1000 --band-bp 1000
setup "grant" "${HOUSE[@]}" position-grant --account 6 --instrument 0 --quantity 100
setup "day" "${HOUSE[@]}" day-start --date 20260105
setup "an offer" "${SELLER[@]}" order --instrument 0 --side sell --price 1000 --quantity 10

# ---- A market order with the default time in force. ----

run "${MEMBER[@]}" order --instrument 0 --side buy --type market --quantity 4
check "a market order, default tif" 0 '^order: ok, order [0-9]+, filled 4 '
run "${MEMBER[@]}" order --instrument 0 --side buy --type market --tif day --quantity 1
check "a market order that rests is refused at once" 2 "--tif 'day': a market order is ioc or fok"

# ---- --json names commands as the CLI does. ----

run "${MEMBER[@]}" --json order --instrument 0 --side buy --type market --quantity 1
check "--json order" 0 '^\{"command":"order",'
run "${HOUSE[@]}" --json deposit --account 5 --amount 1
check "--json deposit" 0 '^\{"command":"deposit",'

# ---- account-limits changes only the limits given. ----

setup "all four limits" "${HOUSE[@]}" account-limits --account 5 --quantity-max 1000 \
    --notional-max 70000 --stake-max 50000 --exposure-limit 90000
setup "one limit" "${HOUSE[@]}" account-limits --account 5 --stake-max 40000
run "${HOUSE[@]}" query account --account 5
check "the others kept" 0 'limits quantity 1000 notional 70000 stake 40000 exposure 90000;'
setup "one to no limit" "${HOUSE[@]}" account-limits --account 5 --quantity-max 0
run "${HOUSE[@]}" query account --account 5
check "0 is no limit, the others kept" 0 \
    'limits quantity 0 notional 70000 stake 40000 exposure 90000;'
run "${HOUSE[@]}" account-limits --account 5 --stake-max -1
check "a negative limit" 2 "--stake-max '-1': out of range"

# ---- query odds: lines in goals, short format names, the ladder. ----

setup "event" "${HOUSE[@]}" event-create --ref 14
setup "1x2" "${HOUSE[@]}" market-create --event 0 --type 1x2 --odds 2.0,3.4,3.8 \
    --stake-min 100 --stake-max 100000
setup "handicap" "${HOUSE[@]}" market-create --event 0 --type handicap --line -0.25 \
    --odds 1.91,1.83 --stake-min 100 --stake-max 100000
setup "total" "${HOUSE[@]}" market-create --event 0 --type over-under --line 2.5 \
    --odds 1.8,2.0 --stake-min 100 --stake-max 100000
run "${MEMBER[@]}" query odds --market 0 --format hk
check "1x2: no line; hk" 0 '^market 0 1x2 open, hongkong: 1.00 2.40 2.80$'
run "${MEMBER[@]}" query odds --market 1
check "handicap line in goals" 0 '^market 1 handicap open, line -0.25, decimal: 1.91 1.83$'
run "${MEMBER[@]}" query odds --market 2 --format us
check "total line in goals; us" 0 '^market 2 over-under open, line 2.5, american: -125 \+100$'
for format in dec decimal hk hongkong malay indo indonesian us american frac fractional; do
    run "${MEMBER[@]}" query odds --market 1 --format "$format"
    [ "$RC" -eq 0 ] && passed=$((passed + 1)) || fail "--format $format: $ERR"
done
run "${MEMBER[@]}" query odds --market 1 --format frac
check "exact fractions" 0 'fractional: 91/100 83/100$'
run "${MEMBER[@]}" query odds --market 1 --format frac --ladder
check "the ladder" 0 'fractional \(ladder\): 10/11 5/6$'
run "${MEMBER[@]}" --json query odds --market 1 --format frac --ladder
check "the ladder, json" 0 '"line":-0.25,"ladder":true,.*"text":"10/11".*"text":"5/6"'
run "${MEMBER[@]}" query odds --market 1 --format hk --ladder
check "the ladder is fractional" 2 'the ladder is for fractional odds'
run "${MEMBER[@]}" query odds --market 1 --format klingon
check "an unknown format" 2 "--format 'klingon': not one of decimal \(dec\)"

stop_pid "$NODE_PID"
NODE_PID=

# ---- cluster status exits 1 when a node is down. ----

run cluster up --dir "$work/c" --nats-servers 1 --nodes 1 --house-secret newcomer-house-secret
check "cluster up" 0 '^cluster up in '
run cluster status --dir "$work/c"
check "cluster status, all up" 0 '^node-0 .* up '
node_pid=$(sed -n 's/^node-0 *pid \([0-9]*\) .*/\1/p' <<<"$OUT")
if [ -n "$node_pid" ] && tr '\0' ' ' <"/proc/$node_pid/cmdline" | grep -q -- "$work"; then
    kill -TERM "$node_pid"
    for _ in $(seq 1 100); do alive "$node_pid" || break; sleep 0.1; done
fi
run cluster status --dir "$work/c"
check "cluster status, a node down" 1 '^node-0 .* DOWN '
grep -q '1 down' <<<"$ERR" && ok "it says how many are down" || fail "stderr: $ERR"
run cluster status --dir "$work/c" --json
check "cluster status --json, a node down" 1 '"down":1\}$'

stop_all
expect_none_left
summary
[ "$failed" -eq 0 ]
