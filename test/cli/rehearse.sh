#!/usr/bin/env bash
# nodown rehearse (docs/upgrades.md, "Rehearsal") on a real history: a
# node on the embedded default, bootstrapped, loaded with orders and bets,
# then what logic 3 changes: a cancel of another member's order, a
# suspension of a member with an order resting, a PT ceiling lowered, and
# a COMMISSION_SET published raw (as a build without the gateway's gate
# would have).
#
#   1. If release 0.1.0 builds: rehearse with --old that binary (it has no
#      replay: its serve on a copy) before the COMMISSION_SET, which it
#      cannot decode: its final digest equals this build's.
#   2. rehearse --binary build/nodown --to 3 --at (after the bootstrap)
#      --json: equal digests at every checkpoint; the differences grouped:
#      the suspension cancels the order (value, events), COMMISSION_SET
#      accepted instead of REJECT_COMMAND_UNKNOWN, the hidden order.
#   3. A build with one apply rule changed (a deposit credits one more
#      unit), from a copy of this tree under build/: reported as diverging
#      at the first message with a deposit.
# The live stream is never written by the rehearsals: its last sequence
# is the same after them. Prints "rehearse.sh: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

NODOWN=${NODOWN_BIN:-$PWD/build/nodown}
E2E=$PWD/build/test/e2e_node
PUBLISH=$PWD/build/test/e2e_publish
HOUSE_SECRET="rehearse house secret"
MEMBER_SECRET="rehearse member secret"
TIME_LIMIT_S=${REHEARSE_TIME_LIMIT_S:-420}

passed=0
failed=0
declare -A node_pid node_dir node_http node_listen
work=$(mktemp -d /tmp/nodown-rehearse-test-XXXXXX)

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh

stop_all() { stop_embedded 1; }

node_dir[1]=$work/node1
script_frame rehearse.sh "$TIME_LIMIT_S" "${REHEARSE_KEEP:-0}" stop_all

node_listen[1]=$($E2E free-port)
node_http[1]=$($E2E free-port)
env -u NODOWN_ADMIN_TOKEN NODOWN_HOUSE_SECRET="$HOUSE_SECRET" "$NODOWN" serve \
    --data "${node_dir[1]}" --listen "127.0.0.1:${node_listen[1]}" \
    --http "127.0.0.1:${node_http[1]}" >"$work/node1.out" 2>"$work/node1.err" &
node_pid[1]=$!
wait_line "$work/node1.out" "node 1 serving" "${node_pid[1]}" 30 || {
    fail "node 1 starts"
    summary
    exit 1
}
nats_url=$(grep -o 'nats://[0-9.:]*' "$work/node1.out" | head -n 1)
nodes=127.0.0.1:${node_listen[1]}

# as ACCOUNT SECRET CLIENT_ID COMMAND...: one command; sets OUT.
as() {
    local account=$1 secret=$2 client=$3
    shift 3
    OUT=$("$NODOWN" client --nodes "$nodes" --account "$account" --secret "$secret" \
        --client-id "$client" --timeout-ms 5000 --json "$@" 2>&1)
}

boot=$($E2E bootstrap --nodes "$nodes" --house-secret "$HOUSE_SECRET" --members 3 \
    --member-secret "$MEMBER_SECRET")
expect "bootstrap" grep -q '^stream_seq' <<<"$boot" || { summary; exit 1; }
boot_seq=$(sed -n 's/^stream_seq //p' <<<"$boot")
load_pids=()
for m in 4 5; do
    timeout 60 "$E2E" load --nodes "$nodes" --account "$m" --secret "$MEMBER_SECRET" \
        --client-id "9$m" --count 60 --log "$work/load$m.log" --instrument 0 --market 0 \
        --seconds 20 >/dev/null &
    load_pids+=($!)
done
wait "${load_pids[@]}"
as 6 "$MEMBER_SECRET" 601 order --instrument 0 --side buy --tif gtc --price 995 --quantity 3
order_id=$(sed -n 's/.*"id":\([0-9]*\),.*/\1/p' <<<"$OUT")
expect "member 6 has an order resting" grep -q '"result":"RESULT_OK"' <<<"$OUT"
as 5 "$MEMBER_SECRET" 501 cancel --order "${order_id:-0}"
expect "member 5 may not cancel it" grep -q REJECT_NOT_AUTHORIZED <<<"$OUT"
as 0 "$HOUSE_SECRET" 201 pt-set --account 2 --market-type 1x2 --share 2000 --max 5000
as 0 "$HOUSE_SECRET" 202 pt-set --account 1 --market-type 1x2 --share 1000 --max 1000
as 0 "$HOUSE_SECRET" 203 account-status --account 6 --status suspended
expect "member 6 suspended" grep -q '"result":"RESULT_OK"' <<<"$OUT"
# The deposit build/test/nodown-diverge credits with one more (Makefile).
as 0 "$HOUSE_SECRET" 204 deposit --account 5 --amount 12345
odd_deposit_seq=$(sed -n 's/.*"stream_seq":\([0-9]*\).*/\1/p' <<<"$OUT")
expect "a deposit of 12345" grep -q '"result":"RESULT_OK"' <<<"$OUT"

# 1. Release 0.1.0 as the old binary, where it can be built.
release=$(tools/release_build.sh 0.1.0 2>/dev/null)
if [ -x "$release" ]; then
    report=$("$NODOWN" rehearse --from "${node_dir[1]}" --binary "$NODOWN" --old "$release" \
        --to 3 --at $((boot_seq + 1)) --json)
    echo "     with release 0.1.0 as old: $(grep -o '"same_logic":{[^}]*}' <<<"$report")"
    expect "0.1.0 ran as a node (no replay)" grep -q '"mode":"serve","ok":true' <<<"$report"
    expect "its final digest equals this build's" \
        grep -q '"compared":true,"equal":true,"checkpoints_equal":1' <<<"$report"
else
    echo "     release 0.1.0 not built here: skipped"
fi

# The COMMISSION_SET, raw: the gateway would refuse it before logic 3.
commission=$("$PUBLISH" --nats "$nats_url" --sender 0 --client-id 777 --account 1 --rate-bp 50)
expect "a COMMISSION_SET published raw" grep -q '^stream_seq' <<<"$commission"
sleep 1
last_before=$(field "$(status_json 1)" stream_last_seq)

# 2. The rehearsal of this build against itself, with logic 3 after the bootstrap.
report=$("$NODOWN" rehearse --from "${node_dir[1]}" --binary "$NODOWN" --to 3 \
    --at $((boot_seq + 1)) --checkpoint-every 10 --work "$work/rehearsal" --json)
rc=$?
echo "$report" | sed 's/^/     /'
expect "rehearse exits 0" test "$rc" -eq 0
expect "equal digests old/new at the same logic" \
    grep -q '"compared":true,"equal":true' <<<"$report"
expect "the activation migrated" grep -q '"version":3,"seq":'$((boot_seq + 1))',"result":"RESULT_OK"' \
    <<<"$report"
expect "the suspension now cancels the order" grep -q \
    '"command":"account-set-status","before":"RESULT_OK","after":"RESULT_OK","differs":"value,events"' \
    <<<"$report"
expect "COMMISSION_SET accepted, not REJECT_COMMAND_UNKNOWN" grep -q \
    '"command":"commission-set","before":"REJECT_COMMAND_UNKNOWN","after":"RESULT_OK"' <<<"$report"
expect "the other member's order is hidden" grep -q \
    '"command":"order-cancel","before":"REJECT_NOT_AUTHORIZED","after":"REJECT_ORDER_UNKNOWN"' \
    <<<"$report"
text=$("$NODOWN" rehearse --from "${node_dir[1]}" --binary "$NODOWN" --at $((boot_seq + 1)))
expect "the text report says so too" grep -q "commission-set .*REJECT_COMMAND_UNKNOWN -> RESULT_OK" \
    <<<"$text"
last_after=$(field "$(status_json 1)" stream_last_seq)
echo "     the live stream's last sequence: $last_before before, $last_after after"
expect "the live stream is untouched" test "$last_after" = \
    "$last_before"

# 3. A build whose deposit rule differs (build/test/nodown-diverge credits a
# deposit of 12345 with one more) diverges at that deposit's message.
report=$("$NODOWN" rehearse --from "${node_dir[1]}" --binary "$PWD/build/test/nodown-diverge" \
    --checkpoint-every 7 --json)
rc=$?
echo "     diverging build: $(grep -o '"same_logic":{[^}]*}' <<<"$report")," \
    "the deposit of 12345 at $odd_deposit_seq"
expect "the changed build is reported as diverging (exit 1)" test "$rc" -eq 1
expect "at the message of that deposit" \
    grep -q "\"equal\":false,.*\"divergence_seq\":${odd_deposit_seq:-x}}" <<<"$report"

stop_all
expect_none_left
summary
[ "$failed" -eq 0 ]
