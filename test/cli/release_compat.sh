#!/usr/bin/env bash
# The working tree's build goes on from the first release's data
# (docs/upgrades.md, "Releases"), with real processes:
#
#   1. tools/release_build.sh builds release 0.1.0 from the project's
#      history (or, in a clone without it, says so in one line: then the
#      "old" node is this build with --logic-max 2, the first release's
#      logic versions).
#   2. The old binary serves on the embedded default (nats-server as
#      tools/deps.sh installs it) and its own client sends it business at
#      logic 1, ACTIVATE_LOGIC 2 and more (test/cli/lib/release.sh), with a
#      snapshot after every message at first. Its digest is noted, and it
#      stops.
#   3. This build serves on the same data directory: it loads the old
#      snapshot, reads the old stream, and its /status shows the old
#      node's sequence and digest; it says what it is ("build" of /status,
#      as `nodown version --json`); a client sees the old accounts and
#      orders; new commands apply on top, and a restart from its own
#      snapshot (format 1 still, at logic 2) reaches the same digest.
# The reverse (an old binary on a new node's data) is not a promise.
# Prints "release_compat.sh: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

NODOWN=${NODOWN_BIN:-$PWD/build/nodown}
TIME_LIMIT_S=${RELEASE_COMPAT_TIME_LIMIT_S:-180}
house_secret="release compat house secret"

passed=0
failed=0
work=$(mktemp -d /tmp/nodown-release-compat-XXXXXX)
data=$work/data
release_pid=

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh
# shellcheck source=test/cli/lib/release.sh
source test/cli/lib/release.sh

stop_all() {
    [ -n "$release_pid" ] && stop_pid "$release_pid"
    release_pid=""
    local pid
    pid=$(nats_pid_of "$data") && kill -TERM "$pid" 2>/dev/null
    return 0
}
script_frame release_compat.sh "$TIME_LIMIT_S" "${RELEASE_COMPAT_KEEP:-0}" stop_all

# 1. The first release's binary, or this one capped to its logic.
# RELEASE_COMPAT_NO_HISTORY=1 takes the path of a clone without history.
if [ "${RELEASE_COMPAT_NO_HISTORY:-0}" = 1 ]; then
    echo "release_build: history not used (RELEASE_COMPAT_NO_HISTORY=1)" >"$work/release_build.err"
    rc=3
else
    old=$(tools/release_build.sh 0.1.0 2>"$work/release_build.err")
    rc=$?
fi
old_options=()
if [ $rc -eq 3 ]; then
    echo "     $(cat "$work/release_build.err")"
    old=$NODOWN
    old_options=(--logic-max 2)
elif [ $rc -ne 0 ]; then
    cat "$work/release_build.err"
    fail "release 0.1.0 builds"
    summary
    exit 1
else
    ok "release 0.1.0 built from the history: $old"
fi

# 2. The old node's business.
expect "the old node starts" release_serve old "$old" "$data" --snapshot-mb 0.00001 \
    "${old_options[@]}" || { summary; exit 1; }
expect "the old node takes part A (logic 1)" release_business_a "$old" || tail -n 3 "$work/client.out"
stop_pid "$release_pid"
expect "the old node restarts" release_serve old "$old" "$data" "${old_options[@]}" || {
    summary
    exit 1
}
expect "the old node takes part B (logic 2)" release_business_b "$old" || tail -n 3 "$work/client.out"
old_state=$(release_settled "$data")
echo "     old node: $old_state"
expect "the old node settles" test -n "$old_state"
expect "the old node wrote snapshots" test -n "$(ls "$data/snapshots")"
stop_pid "$release_pid"
release_pid=""

# 3. This build on the old data.
expect "this build starts on the old data" release_serve new "$NODOWN" "$data" \
    --snapshot-mb 0.00001 || {
    summary
    exit 1
}
new_state=$(release_settled "$data")
echo "     this build: $new_state"
expect "this build reaches the old node's sequence and digest" test "$new_state" = "$old_state"
status=$(release_status "$data")
expect "its /status says what it runs" grep -q '"build":{"release":"[0-9.]*","commit":' <<<"$status"
expect "the same as nodown version --json" grep -qF "\"build\":$("$NODOWN" version --json)" \
    <<<"$status"
c=(release_client "$NODOWN" 0 "$house_secret" --json)
"${c[@]}" query account --account 5
expect "the client sees the old account" grep -q '"balance_minor":' <<<"$(tail -n 1 "$work/client.out")"
release_client "$NODOWN" 5 "member five secret" --json query order --order 1
expect "and the old resting order, replaced" grep -q '"price_ticks":995' \
    <<<"$(tail -n 1 "$work/client.out")"
expect "new commands apply on top" \
    release_client "$NODOWN" 5 "member five secret" order --instrument 0 --side buy \
    --tif gtc --price 980 --quantity 2
expect "a deposit too" "${c[@]}" deposit --account 5 --amount 100
top=$(release_settled "$data")
echo "     this build, on top: $top"
expect "the state moved on" test -n "$top" -a "$top" != "$old_state"
sleep 1 # a snapshot is written by a child
newest=$(find "$data/snapshots" -name 'snapshot-*.ndsf' | sort | tail -n 1)
echo "     its newest snapshot: $newest"
# The state's format at offset 32 + 4: 1 below logic 3, which release 0.1.0 reads.
expect "which it wrote in snapshot format 1 (logic 2)" \
    test "$(od -An -tu4 -j36 -N4 "$newest" | tr -d ' ')" = 1
stop_pid "$release_pid"
release_pid=""
expect "this build restarts from its own snapshot" release_serve new "$NODOWN" "$data" ||
    { summary; exit 1; }
expect "to the same digest" test "$(release_settled "$data")" = "$top"
stop_all
expect_none_left
summary
[ "$failed" -eq 0 ]
