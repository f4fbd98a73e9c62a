#!/usr/bin/env bash
# End-to-end test of `nodown client` (src/cli/client_cmd.c) against a real
# node: starts `build/nodown serve` in a temporary directory on free
# loopback ports with the house's secret set, builds a tree of accounts as
# the house, trades and bets as members, reads every query type, and checks
# the exact answers, the exit codes (0 done, 1 rejected, 2 bad usage,
# 3 no answer), the JSON, and that SIGTERM stops the node with exit 0.
# The node (and, if it had to be killed, its nats-server) is stopped on
# every path out of the script. Prints "client.sh: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."

NODOWN=${NODOWN_BIN:-$PWD/build/nodown} # NODOWN_BIN: another build, say one with ASan
DIR=$(mktemp -d /tmp/nodown-client-test.XXXXXX)
NODE_PID=
passed=0
failed=0

cleanup() {
    if [ -n "$NODE_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
        kill -TERM "$NODE_PID" 2>/dev/null
        for _ in $(seq 1 100); do
            kill -0 "$NODE_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$NODE_PID" 2>/dev/null
        # A killed node leaves its nats-server: stop it if it is ours.
        local nats_pid
        nats_pid=$(cat "$DIR/data/nats/nats.pid" 2>/dev/null)
        if [ -n "$nats_pid" ] && tr '\0' ' ' < "/proc/$nats_pid/cmdline" 2>/dev/null |
            grep -q -- "$DIR"; then
            kill -TERM "$nats_pid" 2>/dev/null
        fi
    fi
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

pass() { passed=$((passed + 1)); }
fail() {
    failed=$((failed + 1))
    echo "FAIL: $*"
}

# run [client options...] COMMAND...: runs the client; sets OUT, ERR, RC.
run() {
    OUT=$("$NODOWN" client "$@" 2>"$DIR/stderr")
    RC=$?
    ERR=$(cat "$DIR/stderr")
}

# expect NAME RC PATTERN: the last run exited RC and its stdout (or, when
# it failed, its stderr) matches the extended regular expression PATTERN.
expect() {
    local name=$1 rc=$2 pattern=$3 text=$OUT
    [ "$rc" -ne 0 ] && [ -z "$OUT" ] && text=$ERR
    if [ "$RC" -ne "$rc" ]; then
        fail "$name: exit $RC, expected $rc; stdout: $OUT; stderr: $ERR"
    elif ! grep -q -E -- "$pattern" <<<"$text"; then
        fail "$name: '$text' does not match '$pattern'"
    else
        pass
    fi
}

# json_field FIELD: the field of the JSON object on OUT (fails on bad JSON).
json_field() {
    python3 -c 'import json,sys; v=json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v))' "$1" <<<"$OUT"
}

# expect_json NAME FIELD VALUE: OUT parses as JSON and FIELD equals VALUE
# (in JSON: 5, "RESULT_OK", true, [1,2]).
expect_json() {
    local got
    if ! got=$(json_field "$2" 2>&1); then
        fail "$1: not JSON with $2: $OUT ($got)"
    elif [ "$got" != "$3" ]; then
        fail "$1: $2 is $got, expected $3 (in $OUT)"
    else
        pass
    fi
}

# ---- A house secret under the minimum: the node refuses it, naming the
# minimum, before publishing anything. ----

NODOWN_HOUSE_SECRET=short "$NODOWN" serve --data "$DIR/short" --listen 127.0.0.1:0 \
    --http 127.0.0.1:0 >"$DIR/short.out" 2>"$DIR/short.err" &
short_pid=$!
for _ in $(seq 1 300); do
    kill -0 "$short_pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$short_pid" 2>/dev/null; then
    kill -TERM "$short_pid"
    wait "$short_pid"
    fail "a short house secret: the node kept running"
else
    wait "$short_pid"
    RC=$? OUT= ERR=$(cat "$DIR/short.err")
    expect "a short house secret is refused" 1 \
        'NODOWN_HOUSE_SECRET: a new secret is at least 12 bytes long \(this one is 5\)'
fi
# wait_for PATTERN FILE PID TENTHS: until FILE has a line matching PATTERN,
# PID has exited, or TENTHS tenths of a second have passed.
wait_for() {
    for _ in $(seq 1 "$4"); do
        grep -q -- "$1" "$2" && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# ---- Start the node. ----

NODOWN_HOUSE_SECRET=house-secret "$NODOWN" serve --data "$DIR/data" --listen 127.0.0.1:0 \
    --http 127.0.0.1:0 >"$DIR/serve.out" 2>"$DIR/serve.err" &
NODE_PID=$!
wait_for 'serving clients' "$DIR/serve.out" "$NODE_PID" 200
PORT=$(sed -n 's/.*serving clients on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$DIR/serve.out")
if [ -z "$PORT" ]; then
    echo "the node did not start:"
    cat "$DIR/serve.out" "$DIR/serve.err"
    echo "client.sh: 0 passed, 1 failed"
    exit 1
fi
export NODOWN_NODES=127.0.0.1:$PORT
unset NODOWN_SECRET
HOUSE=(--account 0 --secret house-secret)
MEMBER=(--account 5 --secret member-secret)
MEMBER2=(--account 6 --secret member2-secret)

# ---- Usage: exit 2 before any connection; --help everywhere. ----

run --help
expect "client --help" 0 '^usage: nodown client'
commands=$(awk '/^commands:/ { on = 1; next } on && NF == 0 { on = 0 }
    on { print ($1 == "query" ? $1 " " $2 : $1) }' <<<"$OUT")
[ "$(wc -l <<<"$commands")" -eq 32 ] && pass || fail "32 commands listed: $commands"
while read -r command; do
    # shellcheck disable=SC2086
    run $command --help
    expect "$command --help" 0 "^usage: nodown client \[global options\] $command"
done <<<"$commands"
run "${HOUSE[@]}" frobnicate
expect "unknown command" 2 "unknown command 'frobnicate'"
run "${MEMBER[@]}" order --instrument 0 --side up --quantity 1 --price 1
expect "bad side" 2 "--side 'up': not one of buy\|sell"
run "${MEMBER[@]}" order --instrument 0 --side buy --quantity 1
expect "limit order without price" 2 "a limit order needs --price"
run "${MEMBER[@]}" order --instrument 0 --side buy --price 1000
expect "missing quantity" 2 "--quantity N is required"
run "${MEMBER[@]}" order --instrument zero --side buy --price 1000 --quantity 1
expect "bad number" 2 "--instrument 'zero': not a whole number"
run "${MEMBER[@]}" bet --market 0 --selection 0 --odds 1.0001 --stake 5
expect "bad odds" 2 "--odds '1.0001': decimal odds"
run "${HOUSE[@]}" account-secret --account 5 --secret eleven-char
expect "a short new secret" 2 '--secret: a new secret is at least 12 bytes long \(this one is 11\)'
run --secret x query account
expect "no account" 2 "--account ID is required"
run --account 0 query account
expect "no secret" 2 "no secret"
run --account 0 --bogus 1 query account
expect "unknown global option" 2 "unknown option '--bogus'"

# ---- The house builds the tree (the house is an operator). ----

run "${HOUSE[@]}" account-create --parent 0 --kind operator
expect "create operator" 0 '^account-create: ok, account 1 '
run "${HOUSE[@]}" account-create --parent 0 --kind super --credit 100000000
expect "create super" 0 '^account-create: ok, account 2 '
run "${HOUSE[@]}" account-create --parent 2 --kind master --credit 100000000
expect "create master" 0 '^account-create: ok, account 3 '
run "${HOUSE[@]}" account-create --parent 3 --kind agent --credit 100000000
expect "create agent" 0 '^account-create: ok, account 4 '
run "${HOUSE[@]}" --json account-create --parent 4 --kind member
expect_json "create member (json)" id 5
expect_json "create member (json) result" result '"RESULT_OK"'
seq_first=$(json_field client_seq)
run "${HOUSE[@]}" --json account-create --parent 4 --kind member
expect_json "create member2 (json)" id 6
# Each invocation numbers its command after the last one applied.
expect_json "sequence follows across invocations" client_seq "$((seq_first + 1))"
run "${HOUSE[@]}" account-create --parent 4 --kind house
expect "a second house is rejected" 1 'rejected: account kind not allowed here'
expect "the kinds a parent takes" 1 'KIND\): account 4 is an agent, which takes member$'
run "${HOUSE[@]}" account-secret --account 5 --secret member-secret
expect "member secret" 0 '^account-secret: ok, account 5 '
run "${HOUSE[@]}" account-secret --account 6 --secret member2-secret
expect "member2 secret" 0 '^account-secret: ok, account 6 '
run "${HOUSE[@]}" deposit --account 5 --amount 1000000
expect "deposit" 0 '^deposit: ok, account 5, balance 1000000 '
run "${HOUSE[@]}" withdraw --account 5 --amount 1
expect "withdraw" 0 '^withdraw: ok, account 5, balance 999999 '
run "${HOUSE[@]}" deposit --account 5 --amount 1
expect "deposit back" 0 'balance 1000000 '

# Read your writes: a query asked at the next stream sequence waits for it.
seq=$(sed -n 's/.*stream_seq \([0-9]*\))$/\1/p' <<<"$OUT")
"$NODOWN" client "${HOUSE[@]}" --at-least $((seq + 1)) query account --account 5 \
    >"$DIR/later.out" 2>"$DIR/later.err" &
later=$!
sleep 0.3
run "${HOUSE[@]}" deposit --account 5 --amount 7
wait "$later"
later_rc=$?
if [ "$later_rc" = 0 ] && grep -q "balance 1000007" "$DIR/later.out" &&
    grep -qE "as of stream sequence $((seq + 1))$" "$DIR/later.err"; then
    pass
else
    fail "query --at-least $((seq + 1)): exit $later_rc, $(cat "$DIR/later.out" "$DIR/later.err")"
fi
run "${HOUSE[@]}" withdraw --account 5 --amount 7
expect "withdraw the 7 again" 0 'balance 1000000 '
run "${HOUSE[@]}" instrument-create --symbol ACME --tick-size 1 --lot-size 1 --reference 1000 \
    --band-bp 1000
expect "instrument" 0 '^instrument-create: ok, instrument 0 '
run "${HOUSE[@]}" position-grant --account 6 --instrument 0 --quantity 100
expect "grant" 0 '^position-grant: ok, account 6, position 100 '
run "${HOUSE[@]}" day-start --date 20260105
expect "day start" 0 '^day-start: ok, date 20260105 '
run "${MEMBER[@]}" account-create --parent 4 --kind member
expect "a member creates nothing" 1 'not authorized'

# ---- A member trades: place, replace, cancel, and a fill. ----

run "${MEMBER[@]}" --json order --instrument 0 --side buy --tif gtc --price 990 --quantity 10 \
    --client-order-id 77
expect_json "order (json)" result '"RESULT_OK"'
expect_json "order filled nothing" value 0
order_id=$(json_field id)
run "${MEMBER[@]}" query book --instrument 0
expect "book with the bid" 0 '^instrument 0 open, last 0: bids 990x10; asks none$'
run "${MEMBER[@]}" --json query account
expect_json "reserve of the bid" reserved_minor 9900
expect_json "balance before fills" balance_minor 1000000
run "${MEMBER[@]}" replace --order "$order_id" --price 995 --quantity 8
expect "replace" 0 "^replace: ok, order $order_id, filled 0 "
run "${MEMBER[@]}" query order --order "$order_id"
expect "order after replace" 0 \
    "^order $order_id: account 5 buy 8 at 995 on instrument 0, filled 0, gtc, client order id 77$"
run "${MEMBER[@]}" --json query order --order "$order_id"
expect_json "order json price" price_ticks 995
run "${MEMBER2[@]}" query order --order "$order_id"
expect "another member's order" 1 'rejected: not authorized'
run "${MEMBER[@]}" cancel --order "$order_id"
expect "cancel" 0 "^cancel: ok, order $order_id, cancelled 8 "
# A finished order is still told, as it ended (before: unknown).
run "${MEMBER[@]}" query order --order "$order_id"
expect "cancelled order's final state" 0 \
    "^order $order_id: account 5 buy at 995 on instrument 0, cancelled, filled 0, client order id 77$"
run "${MEMBER[@]}" --json query order --order "$order_id"
expect_json "cancelled order (json)" done '"cancelled"'
run "${MEMBER[@]}" cancel --order "$order_id"
expect "cancel twice" 1 'REJECT_ORDER_UNKNOWN'
run "${MEMBER2[@]}" order --instrument 0 --side sell --price 1000 --quantity 20
expect "member2 offers" 0 '^order: ok, order [0-9]+, filled 0 '
run "${MEMBER[@]}" order --instrument 0 --side buy --tif ioc --price 1000 --quantity 5
expect "member buys" 0 '^order: ok, order [0-9]+, filled 5 '
run "${MEMBER[@]}" query positions
expect "member's position" 0 '^account 5 positions: instrument 0 5 \(0 reserved\)$'
run "${MEMBER2[@]}" --json query positions
expect_json "member2's position" positions \
    '[{"instrument_id": 0, "quantity": 95, "quantity_reserved": 15}]'
run "${MEMBER[@]}" --json query book --instrument 0 --depth 1
expect_json "book json" asks '[{"price_ticks": 1000, "quantity": 15}]'
expect_json "book json last" last_price_ticks 1000
run "${MEMBER[@]}" order --instrument 0 --side buy --price 5000 --quantity 1
expect "price outside the band" 1 \
    "order rejected: price outside the day's band \(REJECT_PRICE_OUTSIDE_BAND\)"
run "${MEMBER[@]}" --json order --instrument 0 --side buy --price 5000 --quantity 1
[ "$RC" -eq 1 ] && pass || fail "json reject exits $RC"
expect_json "json reject" result '"REJECT_PRICE_OUTSIDE_BAND"'
expect_json "json reject text" text "\"price outside the day's band\""

# ---- Reading rights. ----

run "${MEMBER2[@]}" query account --account 5
expect "a sibling may not read" 1 'query account rejected: not authorized'
run "${MEMBER[@]}" query account --account 4
expect "a member may not read its agent" 1 'REJECT_NOT_AUTHORIZED'
run "${HOUSE[@]}" --json query account --account 5
expect_json "the house reads the member" balance_minor 995000
run "${HOUSE[@]}" query account --account 99
expect "unknown account" 1 'REJECT_ACCOUNT_UNKNOWN'

# ---- Fixed odds: an event, a market, a bet, odds, exposure, settlement. ----

run "${HOUSE[@]}" event-create --ref 4242
expect "event" 0 '^event-create: ok, event 0 '
run "${HOUSE[@]}" market-create --event 0 --type 1x2 --odds 2.0,3.4,3.8 --stake-min 100 \
    --stake-max 100000
expect "market" 0 '^market-create: ok, market 0 '
# One price and one result per selection, refused before anything is sent
# (before, a surplus price was dropped and a missing result settled as a
# loss).
run "${HOUSE[@]}" market-create --event 0 --type handicap --line -0.5 --odds 1.91,1.95,3.0 \
    --stake-min 100 --stake-max 100000
expect "a surplus price" 2 "--odds '1.91,1.95,3.0': 3 given, a handicap market needs 2"
run "${MEMBER[@]}" bet --market 0 --selection 0 --odds 2.0 --stake 1000
expect "bet" 0 '^bet: ok, bet [0-9]+, odds 2.000 '
run "${MEMBER[@]}" bet --market 0 --selection 0 --odds 2.5 --stake 1000
expect "bet at odds not offered" 1 'REJECT_ODDS_CHANGED\): selection 0 is at 2.000 now$'
run "${MEMBER[@]}" --json query account
expect_json "stake held" stake_open_minor 1000
expect_json "available" available_minor 994000
run "${MEMBER[@]}" query odds --market 0 --format hongkong
expect "odds in Hong Kong format" 0 '^market 0 1x2 open, hongkong: 1.00 2.40 2.80$'
run "${MEMBER[@]}" --json query odds --market 0 --format fractional
expect_json "odds json" prices.1.text '"12/5"'
run "${HOUSE[@]}" query exposure --market 0
expect "the house's exposure" 0 "^account 0 on market 0: worst 1000; selection 0 pays 1000 \
keeps 1000, selection 1 pays 0 keeps 0, selection 2 pays 0 keeps 0\$"
run "${MEMBER[@]}" query exposure --account 0 --market 0
expect "a member may not read the house's exposure" 1 'REJECT_NOT_AUTHORIZED'
run "${HOUSE[@]}" market-odds --market 0 --odds 1.9,3.5
expect "too few prices" 2 '^nodown client market-odds: --odds: 2 given, market 0 is 1x2 and needs 3'
run "${HOUSE[@]}" market-settle --market 0 --results win,lose
expect "too few results" 2 \
    '^nodown client market-settle: --results: 2 given, market 0 is 1x2 and needs 3'
run "${HOUSE[@]}" market-odds --market 0 --odds 1.9,3.5,4.0
expect "new odds" 0 '^market-odds: ok, market 0 '
run "${HOUSE[@]}" market-status --market 0 --status suspended
expect "suspend market" 0 '^market-status: ok, market 0, status suspended '
run "${HOUSE[@]}" market-settle --market 0 --results win,lose,lose
expect "settle" 0 '^market-settle: ok, market 0, bets 1 '
run "${MEMBER[@]}" --json query account
expect_json "the bet won" balance_minor 996000
expect_json "no stake left" stake_open_minor 0

# ---- The rest of the commands, as the house. ----

run "${HOUSE[@]}" pt-set --account 2 --market-type 1x2 --share 2000 --max 5000
expect "pt-set" 0 '^pt-set: ok, account 2, share_bp 2000 '
run "${HOUSE[@]}" commission-set --account 2 --market-type 1x2 --rate 50
expect "commission-set before logic 3" 1 \
    'REJECT_LOGIC_NOT_ACTIVE\): it needs logic version 3 \(activate-logic\)'
run "${HOUSE[@]}" account-limits --account 5 --quantity-max 1000 --stake-max 50000
expect "account-limits" 0 '^account-limits: ok, account 5 '
run "${HOUSE[@]}" --json query account --account 5
expect_json "limits set" order_quantity_max 1000
expect_json "limits set: unset ones keep theirs" order_notional_max_minor 0
run "${HOUSE[@]}" account-credit --account 5 --credit 5000
expect "account-credit" 0 '^account-credit: ok, account 5, credit 5000 '
run "${HOUSE[@]}" instrument-reference --instrument 0 --price 1010
expect "instrument-reference" 0 '^instrument-reference: ok, instrument 0, reference 1010 '
run "${HOUSE[@]}" instrument-phase --instrument 0 --phase halted
expect "instrument-phase" 0 '^instrument-phase: ok, instrument 0, phase halted '
run "${HOUSE[@]}" pt-override --event 0 --share 100
expect "pt-override is for PT levels" 1 'REJECT_NOT_AUTHORIZED'
run "${HOUSE[@]}" account-status --account 6 --status suspended
expect "account-status" 0 '^account-status: ok, account 6 '
run "${MEMBER2[@]}" order --instrument 0 --side sell --price 1000 --quantity 1
expect "a suspended member may not trade" 1 'REJECT_SENDER_INACTIVE'
run "${HOUSE[@]}" day-end --date 20260105
expect "day-end" 0 '^day-end: ok, date 20260105 '
run "${HOUSE[@]}" activate-logic --version 1
expect "activate-logic" 1 'REJECT_LOGIC_VERSION'

# ---- Answers that say what would help. ----

run "${HOUSE[@]}" day-end --date 20260105
expect "day-end between days" 1 'REJECT_DAY_STATE\): the trading day has not started'
run "${HOUSE[@]}" instrument-phase --instrument 0 --phase open
expect "a phase between days" 1 'the trading day has not started \(day-start first\)$'
run "${HOUSE[@]}" day-start --date 20260106
expect "next day" 0 '^day-start: ok, date 20260106 '
run "${HOUSE[@]}" day-start --date 20260107
expect "day-start twice" 1 'the trading day has already started'
run "${HOUSE[@]}" day-end --date 20260105
expect "a wrong day-end date" 1 'REJECT_DATE_INVALID\): not the current trading date$'
run "${HOUSE[@]}" pt-set --account 5 --market-type 1x2 --share 100 --max 100
expect "pt-set on a member" 1 'account 5 is not a position-taking level'
run "${HOUSE[@]}" deposit --account 5 --amount 99999999999999999999
expect "an amount beyond 64 bits" 2 "--amount '99999999999999999999': too large"
run "${HOUSE[@]}" deposit --account 5 --amount 4503599627370497
expect "an amount above the maximum" 1 \
    'REJECT_AMOUNT_INVALID\): 4503599627370497 is too large: at most 4503599627370496$'
# A replace's outcome: what it filled, and the order's total apart
# (before: the total, as if the replace had filled it all).
run "${HOUSE[@]}" account-status --account 6 --status active
expect "member2 active again" 0 '^account-status: ok'
run "${MEMBER[@]}" --json order --instrument 0 --side buy --tif gtc --price 990 --quantity 10
expect_json "a bid to fill" value 0
fill_id=$(json_field id)
run "${MEMBER2[@]}" order --instrument 0 --side sell --tif ioc --price 990 --quantity 3
expect "a part fill" 0 '^order: ok, order [0-9]+, filled 3 '
run "${MEMBER2[@]}" order --instrument 0 --side sell --price 1000 --quantity 20
expect "an offer" 0 '^order: ok, order [0-9]+, filled 0 '
run "${MEMBER[@]}" replace --order "$fill_id" --price 1000 --quantity 7
expect "replace fills" 0 "^replace: ok, order $fill_id, filled 7 \(10 in all\) "
run "${MEMBER[@]}" query order --order "$fill_id"
expect "filled order's final state" 0 "^order $fill_id: account 5 buy at 1000 on instrument 0, filled, filled 10,"
run "${HOUSE[@]}" day-end --date 20260106
expect "the day ends" 0 '^day-end: ok, date 20260106 '

# ---- No answer: exit 3. ----

run --account 5 --secret wrong query account
expect "wrong secret" 3 'cannot log on as account 5'
run --nodes 127.0.0.1:1 "${HOUSE[@]}" query account
expect "no node" 3 'cannot log on'

# ---- nodown simulate: twice on one node (make run on a kept state). ----
# The second run finds the first one's day open and its date taken; its
# members must still trade. The first runs 20 s: members buy and sell and
# are topped up, so at most 3 % of its actions are rejected (the old
# simulator's sellers ran dry: 12 % after 20 s, 80 % later). Its member
# logon line works pasted as it is; the second run goes on with the
# house's session of the first (its client id is fixed).

for round in 1 2; do
    seconds=$([ "$round" = 1 ] && echo 20 || echo 2)
    out=$("$NODOWN" simulate --nodes "$NODOWN_NODES" --house-secret house-secret \
        --seconds "$seconds" 2>&1)
    filled=$(sed -n 's/^simulate: [0-9]* orders (\([0-9]*\) filled).*/\1/p' <<<"$out" | tail -1)
    if [ -n "$filled" ] && [ "$filled" -gt 0 ] &&
        grep -q '^simulate: done: ' <<<"$out"; then
        pass
    else
        fail "simulate round $round: no order filled: $out"
    fi
    if [ "$round" = 1 ]; then
        read -r actions rejects < <(awk '$1 == "simulate:" && $3 == "orders" {
            a = $2 + $6 + $8 + $11; r = $14 } END { print a, r }' <<<"$out")
        if [ -n "$actions" ] && [ "$actions" -gt 0 ] && [ $((rejects * 100)) -le $((actions * 3)) ]
        then
            pass
        else
            fail "simulate: $rejects rejects of $actions actions (at most 3 %): $(tail -3 <<<"$out")"
        fi
        line=$(sed -n 's/^  nodown client \(.*--secret member-secret-0 query account\)$/\1/p' \
            <<<"$out")
        # shellcheck disable=SC2086
        [ -n "$line" ] && "$NODOWN" client $line >/dev/null 2>&1 && pass ||
            fail "simulate's member logon line '$line' does not work: $(head -5 <<<"$out")"
    else
        house_seq=$(sed -n "s/^simulate: the house's session, client id 1000, goes on after \
client_seq \([0-9]*\)$/\1/p" <<<"$out")
        [ -n "$house_seq" ] && [ "$house_seq" -gt 0 ] && pass ||
            fail "simulate's second run opened a new house session: $(head -3 <<<"$out")"
    fi
done

# ---- /metrics: every applied batch is counted, with its size and time. ----
# (The histograms move as batches apply, the counters once a second.)

HTTP_PORT=$(sed -n 's|.*admin on http://127\.0\.0\.1:\([0-9]*\)/status.*|\1|p' "$DIR/serve.out")
METRICS=$(curl -s -m 5 -H "Authorization: Bearer $(cat "$DIR/data/admin.token")" \
    "http://127.0.0.1:$HTTP_PORT/metrics")
metric() { awk -v name="$1" '$1 == name { print $2 }' <<<"$METRICS"; }
batches=$(metric nodown_batches_applied_total)
if [ -n "$batches" ] && [ "$batches" -gt 0 ] &&
    [ "$(metric nodown_batch_commands_count)" -ge "$batches" ] &&
    [ "$(metric nodown_apply_latency_us_count)" = "$(metric nodown_batch_commands_count)" ] &&
    [ "$(metric nodown_batch_commands_sum)" -ge "$(metric nodown_commands_applied_total)" ]; then
    pass
else
    fail "metrics: batches $batches, histograms $(metric nodown_batch_commands_count)" \
        "$(metric nodown_apply_latency_us_count), commands $(metric nodown_batch_commands_sum)" \
        "of $(metric nodown_commands_applied_total)"
fi

# ---- Stop the node: SIGTERM, exit 0. ----

kill -TERM "$NODE_PID"
node_rc=124
for _ in $(seq 1 150); do
    if ! kill -0 "$NODE_PID" 2>/dev/null; then
        wait "$NODE_PID"
        node_rc=$?
        break
    fi
    sleep 0.1
done
if [ "$node_rc" -eq 0 ]; then
    pass
    NODE_PID=
else
    fail "the node exited $node_rc after SIGTERM (124: still running)"
    cat "$DIR/serve.err"
fi

# ---- make run (tools/run.sh) says how to log on as the house. ----
# Its ready-to-paste line logs on; Ctrl-C (SIGINT to its process group)
# stops the simulator and then the node. Only with the default build.

if [ -z "${NODOWN_BIN:-}" ]; then
    run_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
    NODOWN_DATA=$DIR/run NODOWN_LISTEN=127.0.0.1:$run_port NODOWN_HTTP=127.0.0.1:0 \
        setsid tools/run.sh >"$DIR/run.out" 2>&1 &
    RUN_PID=$!
    wait_for '^simulate: [0-9]* orders' "$DIR/run.out" "$RUN_PID" 300
    line=$(sed -n "s/^  build\/nodown client \(.*--account 0 .*query account\)$/\1/p" \
        "$DIR/run.out")
    # The line quotes the secret as a shell would read it.
    if [ -n "$line" ] && eval "\"\$NODOWN\" client $line" >/dev/null 2>&1; then
        pass
    else
        fail "make run's house logon line '$line' does not work: $(head -12 "$DIR/run.out")"
    fi
    kill -INT -- "-$RUN_PID" 2>/dev/null
    for _ in $(seq 1 150); do
        kill -0 "$RUN_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$RUN_PID" 2>/dev/null; then
        fail "make run did not stop on SIGINT"
        kill -KILL -- "-$RUN_PID" 2>/dev/null
    fi
fi

echo "client.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
