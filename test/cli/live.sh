#!/usr/bin/env bash
# The live feed (docs/live.md) with real processes and a real WebSocket
# client (test/live/live_client.py, on Debian's python3-websockets): node A
# (embedded NATS) and node B on A's stream, both with --feed; the market
# simulator trades on A while a client of A's feed rebuilds the book and
# the odds from its messages, stops half-way and continues on B's feed from
# its last sequence; a client that never reads is cut off with a reason;
# afterwards both rebuilt books equal `query book` on their node at the
# same sequence, the odds equal `query odds` in each of the six formats,
# and a market suspended, reopened and settled is seen doing so.
# Prints "live.sh: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

NODOWN=build/nodown
E2E=build/test/e2e_node
HOUSE_SECRET="live house secret"
MEMBER_SECRET="live member secret"
COUNT=0
TIME_LIMIT_S=${LIVE_TIME_LIMIT_S:-240}
PY=/usr/bin/python3
CLIENT=test/live/live_client.py

passed=0
failed=0
declare -A node_pid node_dir node_listen node_http node_nats node_out
declare -A load_pid load_log load_out
work=$(mktemp -d /tmp/nodown-live-XXXXXX)
sim_pid=""

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh
# shellcheck source=test/cli/lib/nodes.sh
source test/cli/lib/nodes.sh

stop_all() {
    [ -n "$sim_pid" ] && stop_pid "$sim_pid"
    sim_pid=""
    nodes_stop_all
}

script_frame live.sh "$TIME_LIMIT_S" "${LIVE_KEEP:-0}" stop_all

# feed_url NAME: ws://HOST:PORT/ of the node's feed, from its start line.
feed_url() {
    sed -n 's|^nodown: live feed on \(ws://[^ ]*\) .*|\1|p' "${node_out[$1]}" | tail -n 1
}
applied_seq() {
    curl -s -m 2 -H "Authorization: Bearer $(cat "${node_dir[$1]}/admin.token")" \
        "http://127.0.0.1:${node_http[$1]}/status" |
        sed -n 's/.*"applied_seq":\([0-9]*\).*/\1/p'
}
# house NAME ARGS...: a command or query as the house, on node NAME.
house() {
    local name=$1
    shift
    "$NODOWN" client --nodes "127.0.0.1:${node_listen[$name]}" --account 0 \
        --secret "$HOUSE_SECRET" --client-id 77 "$@"
}
# caught_up NAME SEQ: waits until node NAME applied SEQ.
caught_up() {
    local i
    for i in $(seq 1 100); do
        [ "$(applied_seq "$1")" -ge "$2" ] 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
field() { $PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

expect "node A starts with --feed" node_start A "$work/a" 1 house --feed 127.0.0.1:0
expect "node B starts on A's stream with --feed" \
    node_start B "$work/b" 2 --nats "${node_nats[A]}" --feed 127.0.0.1:0
url_a=$(feed_url A)
url_b=$(feed_url B)
if ! expect "both feeds listen ($url_a, $url_b)" test -n "$url_a" -a -n "$url_b"; then
    stop_all
    summary
    exit 1
fi

NODOWN_HOUSE_SECRET=$HOUSE_SECRET "$NODOWN" simulate --nodes "127.0.0.1:${node_listen[A]}" \
    --seconds 10 >"$work/sim.out" 2>&1 &
sim_pid=$!
sleep 1
$PY $CLIENT slow --url "$url_a" --instruments 0 --markets 0 --wait 8 >"$work/slow.out" 2>&1 &
slow_pid=$!
# A's client: four seconds, then it goes; B's continues from its sequence.
$PY $CLIENT collect --url "$url_a" --instruments 0 1 --markets 0 1 --stop-after 4 \
    --out "$work/a1.json"
expect "A's client got a snapshot first" test "$(field "$work/a1.json" 'd["resume"]')" = snapshot
last=$(field "$work/a1.json" 'd["synced"]')
expect "A's client saw the book change ($(field "$work/a1.json" 'd["book_messages"]') book, $(field "$work/a1.json" 'd["trades"]') trades up to $last)" \
    test "$(field "$work/a1.json" 'd["trades"] > 0 and d["book_messages"] > 1')" = True
$PY $CLIENT collect --url "$url_b" --instruments 0 1 --markets 0 1 --since "$last" \
    --start-from "$work/a1.json" --until-file "$work/until" --out "$work/b1.json" &
b_pid=$!
wait "$sim_pid"
sim_pid=""
end=$(applied_seq A)
caught_up B "$end"
echo "$end" >"$work/until"
wait "$b_pid"
expect "B continues A's client from $last: a continuation" \
    test "$(field "$work/b1.json" 'd["resume"]')" = continuation
expect "B's client is synced at $end, its sequences never went back" \
    test "$(field "$work/b1.json" 'd["synced"] >= '"$end"' and d["monotonic"]')" = True
book_json() {
    house "$1" --json query book --instrument "$2" --depth 10 | $PY -c '
import json,sys; b=json.load(sys.stdin)
print(json.dumps({"bids":[[l["price_ticks"],l["quantity"]] for l in b.get("bids",[])],
                  "asks":[[l["price_ticks"],l["quantity"]] for l in b.get("asks",[])]}))'
}
fed=$(field "$work/b1.json" 'json.dumps(d["books"]["0"])' 2>/dev/null)
expect "the book rebuilt from A's then B's messages equals query book on B at $end" \
    test "$fed" = "$(book_json B 0)" -a -n "$fed"
wait "$slow_pid"
expect "a client that never reads is cut off with a reason: $(cat "$work/slow.out")" \
    grep -q "^closed 1008: too slow" "$work/slow.out"

# Odds in every format, and a market's life: suspended, open, settled.
for format in decimal hongkong malay indonesian american fractional; do
    $PY $CLIENT collect --url "$url_a" --markets 0 --format "$format" --until-file "$work/until" \
        --out "$work/odds-$format.json"
    want=$(house A --json query odds --market 0 --format "$format" |
           $PY -c 'import json,sys; print(json.dumps([p["text"] for p in json.load(sys.stdin)["prices"]]))')
    got=$(field "$work/odds-$format.json" 'json.dumps(d["odds"]["0"]["odds"])')
    expect "odds in $format equal query odds: $got" test "$got" = "$want"
done
rm -f "$work/until"
# A market of its own (the simulator settles its own now and then).
event=$(house A event-create --ref 4242 | sed -n 's/.*event \([0-9]*\).*/\1/p')
life=$(house A market-create --event "$event" --type 1x2 --odds 2.10,3.30,3.60 --stake-min 1 \
    --stake-max 100000 | sed -n 's/.*market \([0-9]*\).*/\1/p')
expect "the house opens market $life" test -n "$life"
$PY $CLIENT collect --url "$url_b" --markets "$life" --format american \
    --until-file "$work/until" --out "$work/life.json" &
life_pid=$!
sleep 1
expect "the house suspends market $life" house A market-status --market "$life" --status suspended
expect "and reopens it" house A market-status --market "$life" --status open
expect "and suspends it again" house A market-status --market "$life" --status suspended
expect "and settles it" house A market-settle --market "$life" --results win,lose,lose
end=$(applied_seq A)
caught_up B "$end"
echo "$end" >"$work/until"
wait "$life_pid"
expect "B's client saw open, suspended, open, suspended, settled: $(field "$work/life.json" 'd["statuses"].get("'"$life"'")')" \
    test "$(field "$work/life.json" 'd["statuses"]["'"$life"'"]')" = \
    "['open', 'suspended', 'open', 'suspended', 'settled']"
expect "and the results: $(field "$work/life.json" 'd["odds"]["'"$life"'"]["results"]')" \
    test "$(field "$work/life.json" 'd["odds"]["'"$life"'"]["results"]')" = "['win', 'lose', 'lose']"
# A hand-over: the new process listens on the same feed port (SO_REUSEPORT)
# and a client that reconnects with its last sequence continues.
last=$(field "$work/b1.json" 'd["synced"]')
old_pid=${node_pid[A]}
cp "$NODOWN" "$work/nodown-copy"
expect "node A is handed over to a new process (nodown upgrade --data)" \
    "$NODOWN" upgrade --data "$work/a" --binary "$work/nodown-copy" --timeout-s 60
new_pid=$(curl -s -m 2 -H "Authorization: Bearer $(cat "$work/a/admin.token")" \
    "http://127.0.0.1:${node_http[A]}/status" | sed -n 's/.*"pid":\([0-9]*\).*/\1/p')
# The old process stays as the embedded NATS server's keeper: stopped last.
[ -n "$new_pid" ] && node_pid[A]=$new_pid && node_pid[A_keeper]=$old_pid
expect "a new process ($new_pid) serves A" \
    test -n "$new_pid" -a "$new_pid" != "$old_pid"
feed_port=${url_a%/}
feed_port=${feed_port##*:}
# It listens once it has taken over, when the old process let go.
for _ in $(seq 1 50); do
    status=$(curl -s -m 2 -H "Authorization: Bearer $(cat "$work/a/admin.token")" \
        "http://127.0.0.1:${node_http[A]}/status")
    grep -q "\"feed_port\":$feed_port," <<<"$status" && break
    sleep 0.1
done
expect "the new process's feed is on the same port, $feed_port" \
    test "$(sed -n 's/.*"feed_port":\([0-9]*\).*/\1/p' <<<"$status")" = "$feed_port"
echo "$(applied_seq A)" >"$work/until"
$PY $CLIENT collect --url "$url_a" --instruments 0 --markets 0 --since "$last" \
    --start-from "$work/b1.json" --until-file "$work/until" --out "$work/after.json"
# The new process's feed starts at its take-over: a continuation from
# before it is a fresh snapshot, with the reason.
expect "a client back on A's feed port from $last: $(field "$work/after.json" 'd["resume"] + ": " + d["reason"]')" \
    test "$(field "$work/after.json" 'd["resume"]')" != None
expect "its book equals query book on the new process" \
    test "$(field "$work/after.json" 'json.dumps(d["books"]["0"])')" = "$(book_json A 0)"
stop_all
expect_none_left
summary
[ "$failed" -eq 0 ]
