#!/usr/bin/env bash
# Backup and restore, online (issue 12; docs/backup.md), with real
# processes on loopback:
#
#   1. A node on the embedded default (a snapshot every 1 MB of log)
#      serves a member placing orders and bets at a steady pace; `nodown
#      backup --node DIR` runs meanwhile. It succeeds, its manifest's
#      first line is its version, and its digest at its end sequence E is
#      the node's own (the backup asked the node). The node's longest
#      snapshot pause and batch apply while it ran are printed. `backup
#      verify` passes.
#   2. Damage: a flipped byte in one file, a truncated other file, a
#      missing manifest. verify and restore each refuse, naming the file;
#      the restore's target is left as it was (absent, or an empty
#      directory, still empty); a non-empty target is refused.
#   3. `nodown restore --data`: a new node serving it has the state at E
#      (applied E, the same digest), then takes orders.
#   4. `nodown restore --cluster`: 3 nats-servers (the stream on all 3)
#      and 3 nodes, each at E with the same digest, then orders through
#      one of them; a backup of it (`backup --dir`) verifies; `cluster down`.
# Prints "backup.sh: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

NODOWN=${NODOWN_BIN:-$PWD/build/nodown}
E2E=$PWD/build/test/e2e_node
HOUSE_SECRET="backup test house secret"
MEMBER_SECRET="backup test member secret"
TIME_LIMIT_S=${BACKUP_TIME_LIMIT_S:-240}

passed=0
failed=0
declare -A node_pid node_dir node_http node_listen
work=$(mktemp -d /tmp/nodown-backup-XXXXXX)

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh

stop_all() {
    [ -n "${load_pid:-}" ] && stop_pid "$load_pid"
    load_pid=""
    stop_embedded 1
    stop_embedded 2
    [ -f "$work/c1/cluster.txt" ] && "$NODOWN" cluster down --dir "$work/c1" >/dev/null 2>&1
    return 0
}

script_frame backup.sh "$TIME_LIMIT_S" "${BACKUP_KEEP:-0}" stop_all

# start_node N DIR [OPTIONS...]: nodown serve on DIR; waits until it serves.
start_node() {
    local n=$1 dir=$2
    shift 2
    node_dir[$n]=$dir
    node_listen[$n]=$($E2E free-port)
    node_http[$n]=$($E2E free-port)
    env -u NODOWN_ADMIN_TOKEN NODOWN_HOUSE_SECRET="$HOUSE_SECRET" "$NODOWN" serve \
        --data "$dir" --listen "127.0.0.1:${node_listen[$n]}" \
        --http "127.0.0.1:${node_http[$n]}" "$@" >>"$work/node$n.out" 2>>"$work/node$n.err" &
    node_pid[$n]=$!
    wait_line "$work/node$n.out" "serving" "${node_pid[$n]}" 30
}

# json_field JSON NAME: a flat field of a JSON line.
json_field() { echo "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p"; }

# wait_applied N SEQ: until node N's /status says applied SEQ and its
# digest is at SEQ (bounded: 20 s).
wait_applied() {
    local deadline=$((SECONDS + 20)) status
    while [ $SECONDS -lt $deadline ]; do
        status=$(status_json "$1")
        [ "$(field "$status" digest_seq)" = "$2" ] && [ "$(field "$status" applied_seq)" = "$2" ] &&
            return 0
        sleep 0.2
    done
    return 1
}

# ---- 1. A backup under load. ----
start_node 1 "$work/node1" --snapshot-mb 1 ||
    { fail "the node starts"; tail -n 5 "$work/node1.err"; summary; exit 1; }
"$E2E" bootstrap --nodes "127.0.0.1:${node_listen[1]}" --house-secret "$HOUSE_SECRET" \
    --members 2 --member-secret "$MEMBER_SECRET" >"$work/bootstrap.out" 2>&1 ||
    { fail "bootstrap"; cat "$work/bootstrap.out"; summary; exit 1; }
member=$(sed -n 's/^member //p' "$work/bootstrap.out" | head -n 1)
"$E2E" load --nodes "127.0.0.1:${node_listen[1]}" --account "$member" \
    --secret "$MEMBER_SECRET" --client-id 21 --count 60000 --rate 3000 \
    --log "$work/load.log" --instrument 0 --market 0 --seconds 60 >"$work/load.out" 2>&1 &
load_pid=$!
# has_snapshot: the node has written a snapshot (every 1 MB of log).
has_snapshot() {
    local deadline=$((SECONDS + 15))
    while [ $SECONDS -lt $deadline ]; do
        [ "$(field "$(status_json 1)" snapshot_seq)" -gt 0 ] 2>/dev/null && return 0
        sleep 0.2
    done
    return 1
}
expect "the node writes a snapshot under load" has_snapshot
BK=$("$NODOWN" backup --node "${node_dir[1]}" --to "$work/b1" --json 2>"$work/backup.err")
brc=$?
echo "     backup: $BK"
sed 's/^/     | /' "$work/backup.err" | tail -n 6
expect "nodown backup under load succeeds" test "$brc" -eq 0
expect "the load was still running when it ended" alive "$load_pid"
wait "$load_pid"
load_rc=$?
load_pid=""
expect "every order of the load acknowledged" test "$load_rc" -eq 0
end_seq=$(json_field "$BK" end_seq)
digest=$(json_field "$BK" digest)
expect "the backup ends after the snapshot it holds" \
    test "$end_seq" -gt "$(json_field "$BK" snapshot_seq)"
expect "the node told its digest at E, and it is the backup's" \
    test -n "$digest" -a "$(json_field "$BK" node_digest)" = "$digest"
echo "     node's longest snapshot pause: $(json_field "$BK" node_snapshot_pause_us_max_after) us;" \
    "longest batch apply during the backup: <= $(json_field "$BK" node_apply_us_max_le) us"
expect "the manifest's first line is its version" \
    test "$(head -n 1 "$work/b1/MANIFEST")" = "nodown-backup 1"
expect "no partial directory left" test -z "$(ls -d "$work"/b1.partial-* 2>/dev/null)"
expect "backup verify passes" "$NODOWN" backup verify "$work/b1"
expect "a second backup to the same place is refused" \
    bash -c "! '$NODOWN' backup --node '${node_dir[1]}' --to '$work/b1' 2>/dev/null"

# ---- 2. Damaged backups refused, nothing written. ----
# refused NAME FILE DIR: verify and restore of DIR fail naming FILE; the
# restore's targets (absent; an empty directory) are left as they were.
refused() {
    local out
    out=$("$NODOWN" backup verify "$3" 2>&1)
    echo "$out" | head -n 2 | sed 's/^/     | /'
    expect "$1: verify fails naming $2" bash -c "! '$NODOWN' backup verify '$3' >/dev/null 2>&1" &&
        expect "$1: its message names $2" grep -q "^$2: " <<<"$out"
    rm -rf "$work/t-absent" "$work/t-empty"
    out=$("$NODOWN" restore "$3" --data "$work/t-absent" 2>&1)
    expect "$1: restore fails naming $2" grep -q "^$2: " <<<"$out"
    expect "$1: the absent target stays absent" test ! -e "$work/t-absent"
    mkdir -p "$work/t-empty"
    "$NODOWN" restore "$3" --data "$work/t-empty" >/dev/null 2>&1
    expect "$1: the empty target stays empty" test -z "$(ls -A "$work/t-empty")"
    expect "$1: nothing partial left" test -z "$(ls -d "$work"/t-*.partial-* 2>/dev/null)"
}
cp -r "$work/b1" "$work/flipped"
size=$(stat -c %s "$work/flipped/stream.ndsc.zst")
byte=$(od -An -tu1 -j $((size / 2)) -N1 "$work/flipped/stream.ndsc.zst" | tr -d ' ')
printf "\\x$(printf %02x $((byte ^ 1)))" |
    dd of="$work/flipped/stream.ndsc.zst" bs=1 seek=$((size / 2)) conv=notrunc status=none
refused "a flipped byte" stream.ndsc.zst "$work/flipped"
cp -r "$work/b1" "$work/truncated"
truncate -s -100 "$work/truncated/snapshot.ndsf.zst"
refused "a truncated file" snapshot.ndsf.zst "$work/truncated"
cp -r "$work/b1" "$work/nomanifest"
rm "$work/nomanifest/MANIFEST"
refused "no manifest" MANIFEST "$work/nomanifest"
mkdir -p "$work/t-full" && touch "$work/t-full/x"
out=$("$NODOWN" restore "$work/b1" --data "$work/t-full" 2>&1)
expect "a non-empty target is refused" grep -q "not a new or empty directory" <<<"$out"
expect "and left as it was" test "$(ls -A "$work/t-full")" = x

# ---- 3. Restored into a new node. ----
RS=$("$NODOWN" restore "$work/b1" --data "$work/node2" --json 2>"$work/restore.err")
echo "     restore: $RS"
expect "nodown restore --data succeeds" test $? -eq 0
start_node 2 "$work/node2" || fail "the restored node starts"
expect "the restored node holds the state at E, with the source's digest" \
    wait_applied 2 "$end_seq"
expect "its digest is the backup's" test "$(field "$(status_json 2)" digest)" = "$digest"
expect "it takes orders" "$E2E" load --nodes "127.0.0.1:${node_listen[2]}" --account "$member" \
    --secret "$MEMBER_SECRET" --client-id 22 --count 200 --rate 400 --log "$work/load2.log" \
    --instrument 0 --market 0 --seconds 20
# goes_on: node 2 applies past E (its /status is renewed once a second).
goes_on() {
    local deadline=$((SECONDS + 10))
    while [ $SECONDS -lt $deadline ]; do
        [ "$(field "$(status_json 2)" applied_seq)" -gt "$end_seq" ] && return 0
        sleep 0.2
    done
    return 1
}
expect "its stream goes on after E" goes_on
stop_embedded 2
stop_embedded 1

# ---- 4. Restored into a new 3-server cluster. ----
RC=$("$NODOWN" restore "$work/b1" --cluster "$work/c1" --json 2>"$work/restore-cluster.err")
rrc=$?
echo "     restore --cluster: $RC"
expect "nodown restore --cluster succeeds" test "$rrc" -eq 0 ||
    sed 's/^/     | /' "$work/restore-cluster.err" | tail -n 8
cluster_at_e() {
    local deadline=$((SECONDS + 30)) out
    while [ $SECONDS -lt $deadline ]; do
        out=$("$NODOWN" cluster status --dir "$work/c1" 2>/dev/null)
        [ "$(grep -c "applied $end_seq .*digest $digest at $end_seq" <<<"$out")" = 3 ] && return 0
        sleep 0.5
    done
    echo "$out" | sed 's/^/     | /'
    return 1
}
expect "its 3 nodes hold the state at E with the source's digest" cluster_at_e
expect "its stream is on 3 servers" \
    grep -q "stream NODOWN: last seq $end_seq.*nats-.*nats-" \
    <<<"$("$NODOWN" cluster status --dir "$work/c1" 2>/dev/null)"
cluster_listen=$("$NODOWN" cluster status --dir "$work/c1" 2>/dev/null |
    sed -n 's/^node-0 .* up *\(127.0.0.1:[0-9]*\).*/\1/p')
expect "the cluster takes orders" "$E2E" load --nodes "$cluster_listen" --account "$member" \
    --secret "$MEMBER_SECRET" --client-id 23 --count 200 --rate 400 \
    --log "$work/load3.log" --instrument 0 --market 0 --seconds 20
# cluster_past_e: node-0's /status shows the orders (renewed once a second).
cluster_past_e() {
    local deadline=$((SECONDS + 10)) applied
    while [ $SECONDS -lt $deadline ]; do
        applied=$("$NODOWN" cluster status --dir "$work/c1" 2>/dev/null |
            sed -n 's/^node-0 .* applied \([0-9]*\).*/\1/p')
        [ "${applied:-0}" -gt "$end_seq" ] && return 0
        sleep 0.2
    done
    return 1
}
expect "the cluster's node 0 applied them" cluster_past_e
expect "a backup of the restored cluster (--dir) succeeds" \
    "$NODOWN" backup --dir "$work/c1" --to "$work/b2" --json
expect "it ends after the first backup's end" \
    test "$(sed -n 's/^end_seq //p' "$work/b2/MANIFEST")" -gt "$end_seq"
expect "and verifies" "$NODOWN" backup verify "$work/b2"
expect "cluster down" "$NODOWN" cluster down --dir "$work/c1"

stop_all
expect_none_left
summary
[ "$failed" -eq 0 ]
