#!/usr/bin/env bash
# The history archive (issue 12), with real processes: an embedded node
# with --archive under load from two clients (build/test/e2e_node), killed
# with -9 at seeded random points and restarted, a trading day ended (its
# file sealed) and the next one started; then a fresh node replays the
# stream from sequence 1 into an archive of its own, and the two archives
# must hold the same messages, records and day figures, row for row: no
# row lost or repeated by the kills. `nodown history` answers from the
# files alone (the node stopped), a damaged day file is named, and the
# node's /metrics show the archive's position.
#
# HISTORY_SEED picks the kill points (printed); HISTORY_KILLS (default 3)
# how many; HISTORY_KEEP=1 keeps the directory. Prints
# "history: N passed, N failed" last.
set -uo pipefail
cd "$(dirname "$0")/../.."

NODOWN=build/nodown
E2E=build/test/e2e_node
HOUSE_SECRET="history house secret"
MEMBER_SECRET="history member secret"
COUNT=${HISTORY_COUNT:-6000}
KILLS=${HISTORY_KILLS:-3}
SEED=${HISTORY_SEED:-$((RANDOM * 32768 + RANDOM))}
TIME_LIMIT_S=${HISTORY_TIME_LIMIT_S:-300}

passed=0
failed=0
declare -A node_pid node_dir node_listen node_http node_nats node_out
declare -A load_pid load_log load_out
members=()
market=""
boot_seq=""
work=$(mktemp -d /tmp/nodown-history-XXXXXX)

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh
# shellcheck source=test/cli/lib/nodes.sh
source test/cli/lib/nodes.sh

stop_all() {
    nodes_stop_all
}

script_frame history "$TIME_LIMIT_S" "${HISTORY_KEEP:-0}" stop_all
echo "     seed $SEED (HISTORY_SEED=$SEED to run these kill points again)"
RANDOM=$SEED

# node_kill9_all NAME: kill -9, and until its nats-server (parent-death
# signal) is gone too.
node_kill9_all() {
    local dir=${node_dir[$1]} deadline=$((SECONDS + 10))
    node_kill9 "$1"
    while [ -n "$(nats_pid_of "$dir")" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
}

house() {
    "$NODOWN" client --nodes "127.0.0.1:${node_listen[A]}" --account 0 \
        --secret "$HOUSE_SECRET" --client-id 77 "$@" >>"$work/house.out" 2>&1
}

# archive_dump DIR: every message, its records and the day figures of the
# archive under DIR, one line each, in order (the postings are grouped by
# transaction, which differs between two writers: `nodown history` checks
# them below).
archive_dump() {
    local file
    for file in "$1"/history/day-*.db "$1"/history/current.db; do
        [ -f "$file" ] || continue
        echo "file ${file##*/}"
        sqlite3 "file:$file?mode=ro" \
            "SELECT m.seq, m.time_ns, m.command_count, m.event_count, hex(r.commands),
                    hex(r.events), hex(r.balances)
               FROM messages m JOIN message_records r ON r.seq = m.seq ORDER BY m.seq;
             SELECT * FROM account_day ORDER BY account;
             SELECT account, parent, kind, status FROM accounts ORDER BY account;
             SELECT 'gap', * FROM gaps;"
    done
}

# ---- Under load, killed and restarted. ----
expect "node A starts (embedded NATS, --archive)" node_start A "$work/a" 1 house --archive --snapshot-mb 0.25 ||
    { summary; exit 1; }
expect "bootstrap through A" bootstrap A || { summary; exit 1; }
load_start l1 "127.0.0.1:${node_listen[A]}" "${members[0]}" 11
load_start l2 "127.0.0.1:${node_listen[A]}" "${members[1]}" 12
for kill in $(seq "$KILLS"); do
    at=$((kill * COUNT / (KILLS + 2) + RANDOM % (COUNT / (KILLS + 2))))
    wait_lines l1 "$at"
    node_kill9_all A
    expect "kill -9 of A under load, $kill of $KILLS (client 11 at $(lines_of "${load_log[l1]}"))" \
        test "$(lines_of "${load_log[l1]}")" -lt "$COUNT"
    sleep 0.$((RANDOM % 5))
    expect "A restarts on its data and archive" node_start A "$work/a" 1 --archive --snapshot-mb 0.25
done
# A hand-over under load: the new process archives from where the old
# one stopped (docs/history.md, "Hand-over").
cp "$NODOWN" "$work/nodown-b"
up=$("$NODOWN" upgrade --data "$work/a" --binary "$work/nodown-b" --json 2>"$work/upgrade.err")
expect "a hand-over of A under load (nodown upgrade --data, the same build)" \
    eval '[ $? = 0 ] || { tail -n 5 "$work/upgrade.err"; false; }'
old_pid=${node_pid[A]}
deadline=$((SECONDS + 10))
new_pid=""
while [ -z "$new_pid" ] || [ "$new_pid" = "$old_pid" ]; do
    [ $SECONDS -lt $deadline ] || break
    new_pid=$(status_json A | grep -o '"pid":[0-9]*' | head -n 1 | cut -d: -f2)
    sleep 0.2
done
expect "the new process ($new_pid) serves A" test -n "$new_pid" -a "$new_pid" != "$old_pid"
node_pid[A]=$new_pid
: "$up"
expect "client 11 rides out the kills" wait "${load_pid[l1]}"
expect "client 12 rides out the kills" wait "${load_pid[l2]}"
unset "load_pid[l1]" "load_pid[l2]"
expect "every acknowledged command applied exactly once" \
    sh -c "$E2E check --nats '${node_nats[A]}' --log '${load_log[l1]}' --log '${load_log[l2]}' \
        >'$work/check.out'"

# ---- A day ends: its file is sealed; the next day writes a new one. ----
expect "the house ends the day 2026-01-02" house day-end --date 20260102
expect "and starts 2026-01-05" house day-start --date 20260105
expect "a deposit on the new day" house deposit --account "${members[0]}" --amount 1234
metrics=$(curl -s -m 2 -H "Authorization: Bearer $(cat "$work/a/admin.token")" \
    "http://127.0.0.1:${node_http[A]}/metrics")
expect "/metrics has the archive's position and lag" \
    eval 'echo "$metrics" | grep -q "^nodown_archive_seq [1-9]" &&
          echo "$metrics" | grep -q "^nodown_archive_lag "'
expect "/status has the archive's position, lag and no error" \
    eval 'status_json A | grep -q "\"archive\":{\"seq\":[1-9][0-9]*,\"lag\":[0-9]*,.*\"error\":\"\"}"'
sleep 1.5 # the writer commits within a second of being idle
stop_pid "${node_pid[A]}"
unset "node_pid[A]"
day_file=$work/a/history/day-20260102.db
expect "the day's file is sealed: day-20260102.db, read-only" \
    eval '[ -f "$day_file" ] && [ "$(stat -c %a "$day_file")" = 444 ]'
expect "and a new day's file is open (current.db)" test -f "$work/a/history/current.db"
files=$("$NODOWN" history --data "$work/a" files)
echo "$files" | sed 's/^/     /'
expect "history files: the sealed day's checksum matches" \
    eval 'echo "$files" | grep -q "day-20260102.db .* ok "'

# ---- A fresh node replays the stream into its own archive. ----
expect "node A restarts (its stream for a fresh node)" node_start A "$work/a" 1 --archive
expect "fresh node F replays the stream from 1 into its archive" \
    node_start F "$work/f" 2 --nats "${node_nats[A]}" --archive
last=$(sqlite3 "file:$work/a/history/current.db?mode=ro" \
    "SELECT value FROM meta WHERE key = 'last_seq'")
deadline=$((SECONDS + 30))
until [ "$(sqlite3 "file:$work/f/history/current.db?mode=ro" \
        "SELECT value FROM meta WHERE key = 'last_seq'" 2>/dev/null)" = "$last" ] ||
    [ $SECONDS -ge $deadline ]; do sleep 0.2; done
stop_pid "${node_pid[F]}"
stop_pid "${node_pid[A]}"
unset "node_pid[F]" "node_pid[A]"
archive_dump "$work/a" >"$work/a.dump"
archive_dump "$work/f" >"$work/f.dump"
messages=$(grep -c "^[0-9]*|" "$work/a.dump")
expect "A's archive (killed $KILLS times) equals F's (one run): $messages messages and records" \
    cmp -s "$work/a.dump" "$work/f.dump"
expect "neither has a gap" eval '! grep -q "^gap" "$work/a.dump" "$work/f.dump"'
for question in "statement ${members[0]}" "statement ${members[1]}" "statement 0" \
    "market $market" "downline 0" "order 3" "trades 0"; do
    # shellcheck disable=SC2086
    "$NODOWN" history --data "$work/a" $question --json >"$work/a.answer" 2>/dev/null
    # shellcheck disable=SC2086
    "$NODOWN" history --data "$work/f" $question --json >"$work/f.answer" 2>/dev/null
    expect "history $question: the same $(lines_of "$work/a.answer") rows from both" \
        eval 'cmp -s "$work/a.answer" "$work/f.answer" && [ -s "$work/a.answer" ]'
done
acknowledged=$(awk '$4 == "ok" || $4 == 0' "${load_log[l1]}" | wc -l)
placed=$("$NODOWN" history --data "$work/a" statement "${members[0]}" --json |
    grep -c '"row":"command".*"client_id":11,.*"duplicate":0' || true)
expect "member ${members[0]}'s statement has each of client 11's $COUNT commands once ($placed)" \
    test "$placed" = "$COUNT"
: "$acknowledged"

# ---- Damage is named. ----
cp "$day_file" "$work/copy.db" && chmod 644 "$work/copy.db"
mkdir -p "$work/damaged/history"
cp "$work/copy.db" "$work/damaged/history/day-20260102.db"
cp "$day_file.xxh3" "$work/damaged/history/day-20260102.db.xxh3"
# flip_byte FILE OFFSET: the byte at OFFSET inverted (never the same value).
flip_byte() {
    local byte
    byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "\\$(printf %o $((byte ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
flip_byte "$work/damaged/history/day-20260102.db" 100000
out=$("$NODOWN" history --archive "$work/damaged/history" files 2>&1)
rv=$?
echo "$out" | sed 's/^/     /'
expect "a flipped byte in a closed day's file: named, exit 1" \
    eval '[ $rv = 1 ] && echo "$out" | grep -q "day-20260102.db .*DAMAGED"'
expect "history --help" eval '"$NODOWN" history --help | grep -q "statement ACCOUNT"'
expect "an unknown question is refused" \
    eval '! "$NODOWN" history --data "$work/a" balance 1 2>/dev/null'
expect_none_left
summary
[ "$failed" -eq 0 ]
