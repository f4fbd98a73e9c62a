#!/usr/bin/env bash
# `nodown cluster nodes` and `nodown cluster forget` (issue 14; the node
# registry of docs/upgrades.md), with real processes: `nodown cluster up`
# with one nats-server and two nodes; both nodes are listed with their
# logic range; node 2 is forgotten, and only node 1 is left; forgetting it
# again is an error that says so; `cluster down` stops everything.
# Prints "cluster_nodes.sh: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

NODOWN=${NODOWN_BIN:-$PWD/build/nodown}
TIME_LIMIT_S=${CLUSTER_NODES_TIME_LIMIT_S:-120}
passed=0
failed=0
work=$(mktemp -d /tmp/nodown-cluster-nodes-XXXXXX)

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh

stop_all() {
    [ -f "$work/c/cluster.txt" ] && "$NODOWN" cluster down --dir "$work/c" >/dev/null 2>&1
    return 0
}

script_frame cluster_nodes.sh "$TIME_LIMIT_S" "${CLUSTER_NODES_KEEP:-0}" stop_all

MAX=$("$NODOWN" version | sed -n 's/.*logic versions [0-9]*\.\.\([0-9]*\),.*/\1/p')
expect "cluster up" "$NODOWN" cluster up --dir "$work/c" --nats-servers 1 --nodes 2 \
    --house-secret "cluster nodes house secret"
out=$("$NODOWN" cluster nodes --dir "$work/c" 2>&1)
while IFS= read -r line; do echo "     $line"; done <<<"$out"
expect "node 1 listed with its range" grep -q "^node 1: logic 1\.\.$MAX, announced at" <<<"$out"
expect "node 2 listed with its range" grep -q "^node 2: logic 1\.\.$MAX, announced at" <<<"$out"
expect "forget node 2" "$NODOWN" cluster forget --dir "$work/c" --node 2
out=$("$NODOWN" cluster nodes --dir "$work/c" 2>&1)
expect "node 1 still listed" grep -q "^node 1:" <<<"$out"
expect "node 2 no longer listed" test "$(grep -c "^node 2:" <<<"$out")" = 0
out=$("$NODOWN" cluster forget --dir "$work/c" --node 2 2>&1)
rc=$?
expect "forgetting it again fails, saying why" \
    test "$rc" -eq 1 -a "$(grep -c "no entry for node 2" <<<"$out")" = 1
stop_all
expect_none_left
summary
[ "$failed" -eq 0 ]
