#!/usr/bin/env bash
# The operator's page (docs/page.md) in a real browser: `nodown cluster up`
# (3 nats-servers, 3 nodes, each node told of the others by --peers), the
# market simulator trading for a few seconds, then headless Chromium
# (Debian's chromium, driven over its DevTools socket by
# test/browser/ops_page.py) loads node 1's /ops: without the token it shows
# nothing and /cluster answers 401; with it, every node's figures equal its
# /status, the stream leader is /status's; node 3 is killed with -9 and the
# page says so within 2 s. Screenshots are kept in build/test-artifacts/.
# Prints "page.sh: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

NODOWN=${NODOWN_BIN:-$PWD/build/nodown}
TIME_LIMIT_S=${PAGE_TIME_LIMIT_S:-150}
ARTIFACTS=${PAGE_ARTIFACTS:-$PWD/build/test-artifacts}
passed=0
failed=0
work=$(mktemp -d /tmp/nodown-page-XXXXXX)
sim_pid=""

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh

stop_all() {
    [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
    [ -f "$work/c/cluster.txt" ] && "$NODOWN" cluster down --dir "$work/c" >/dev/null 2>&1
    return 0
}

script_frame page.sh "$TIME_LIMIT_S" "${PAGE_KEEP:-0}" stop_all

if [ ! -x /usr/bin/chromium ] || ! /usr/bin/python3 -c 'import websockets' 2>/dev/null; then
    expect "chromium and python3-websockets are installed (tools/deps.sh)" false
    summary
    exit 1
fi
expect "cluster up: 3 NATS servers, 3 nodes" "$NODOWN" cluster up --dir "$work/c" \
    --nats-servers 3 --nodes 3 --house-secret "page test house secret"
# Up once every node answers (`cluster status` exits 0).
for _ in $(seq 1 100); do
    status=$("$NODOWN" cluster status --dir "$work/c" --json 2>/dev/null) && break
    sleep 0.2
done
expect "every node answers" "$NODOWN" cluster status --dir "$work/c"
# node_field I FIELD: node-I's pid or client address from `cluster status`.
node_field() {
    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["nodes"][int(sys.argv[1])][sys.argv[2]])' \
        "$1" "$2" <<<"$status"
}
nodes=()
listens=()
for i in 0 1 2; do
    http=$(sed -n 's|.*admin on http://\([0-9.:]*\)/status.*|\1|p' "$work/c/node-$i/log" | tail -n 1)
    nodes+=(--node "$((i + 1))=http://$http@$work/c/node-$i/admin.token")
    listens+=("$(node_field "$i" listen)")
    [ "$i" = 0 ] && page_url="http://$http/ops"
done
kill_pid=$(node_field 2 pid)
expect "every node's admin address found" test "${#nodes[@]}" = 6 -a -n "$kill_pid"

NODOWN_HOUSE_SECRET="page test house secret" "$NODOWN" simulate \
    --nodes "$(IFS=,; echo "${listens[*]}")" --seconds 8 >"$work/sim.out" 2>&1 &
sim_pid=$!
/usr/bin/python3 test/browser/ops_page.py --page "$page_url" \
    --token-file "$work/c/node-0/admin.token" "${nodes[@]}" --kill "3=$kill_pid" \
    --artifacts "$ARTIFACTS" >"$work/browser.out" 2>&1
while IFS= read -r line; do
    case $line in
    "ok   "*) passed=$((passed + 1)); echo "$line" ;;
    "FAIL "*) failed=$((failed + 1)); echo "$line" ;;
    esac
done <"$work/browser.out"
expect "the browser run ended with its closing line" grep -q "^ops_page: .* passed" \
    "$work/browser.out"
wait "$sim_pid" 2>/dev/null
sim_pid=""
stop_all
expect_none_left
summary
[ "$failed" -eq 0 ]
