#!/usr/bin/env bash
# Proves that no client sees an acknowledgement before nats-server has
# synced the batch that holds it, with real processes (issue 10; see
# docs/testing.md and docs/journal.md, "Durability").
#
# Three runs, each on a fresh store: a nats-server of our own (loopback, a
# free port, JetStream's sync_interval set) runs under strace, which
# records with wall-clock times every write to the stream's block files
# and every fsync/fdatasync; a node (`nodown serve --nats`) runs on it, and
# three load clients (build/test/e2e_node load) send their commands,
# logging for each acknowledgement its stream sequence and the wall-clock
# nanosecond it arrived. build/test/e2e_sync_check then finds, for every
# acknowledgement, the write that stored its batch and the first sync of
# that file after it, and counts those that came before the sync returned.
#
#   always  sync_interval: always. No acknowledgement may precede its
#           batch's sync: the check must pass.
#   50ms    sync_interval: 50ms. The file is synced during the run, but
#           after the acknowledgements: the same check must report
#           violations (a negative control: the order is what counts).
#   2m      sync_interval: 2m, so no sync during the run: violations too
#           (the plain negative control).
#
# Every run also passes e2e_node check (every acknowledged command applied
# exactly once, at the stream sequence its client was given). Before the
# runs, the checker must give a hand-made trace's known answer. Prints
# "durability: N passed, N failed" last; exits non-zero on a failure. Kills
# only the processes it started, by pid, and leaves none behind. Without
# a strace that can trace (no ptrace here), it says SKIP and exits 0.
# DURABILITY_COUNT (commands per client, default 2000),
# DURABILITY_TIME_LIMIT_S (the watchdog, default 100), DURABILITY_KEEP=1
# (keep the directory: traces, logs).
set -uo pipefail
cd "$(dirname "$0")/../.."

NODOWN=build/nodown
E2E=build/test/e2e_node
SYNC_CHECK=build/test/e2e_sync_check
NATS_SERVER=/usr/sbin/nats-server
HOUSE_SECRET="durability house secret"
MEMBER_SECRET="durability member secret"
COUNT=${DURABILITY_COUNT:-2000}
CLIENTS=3
TIME_LIMIT_S=${DURABILITY_TIME_LIMIT_S:-100}
# Only the calls that write or sync; --seccomp-bpf stops nats-server at
# these alone. Times in ns (wall clock at entry, and each call's duration);
# -y names each descriptor's file, -xx spells every byte \xNN (paths too),
# -s is far above a batch's largest stored record (BATCH_SIZE_MAX 320 KiB).
STRACE_OPTIONS=(-f --seccomp-bpf --timestamps=unix,ns --syscall-times=ns -y -xx -s 1048576
    -e trace=write,pwrite64,fsync,fdatasync)

passed=0
failed=0
# What this script started and has not reaped yet.
strace_pid=""
dir=""
node_pid=""
declare -A load_pid
work=$(mktemp -d /tmp/nodown-durability-XXXXXX)

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh

# Stops the loads, the node, then the nats-server, whose exit ends strace
# (which is only signalled if it has not ended 15 s later).
stop_all() {
    local name pid deadline=$((SECONDS + 15))
    for name in "${!load_pid[@]}"; do stop_pid "${load_pid[$name]}"; done
    load_pid=()
    [ -n "$node_pid" ] && stop_pid "$node_pid"
    node_pid=""
    if [ -n "$strace_pid" ]; then
        pid=$(nats_pid_of "$dir") && kill -TERM "$pid" 2>/dev/null
        while alive "$strace_pid" && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
        stop_pid "$strace_pid"
    fi
    strace_pid=""
}

script_frame durability "$TIME_LIMIT_S" "${DURABILITY_KEEP:-0}" stop_all

# nats_start SYNC_INTERVAL: our own nats-server under strace, its files
# in $dir/nats as the embedded default lays them out (the store a fresh
# one); sets nats_url once it is ready.
nats_start() {
    local port nats=$dir/nats
    port=$($E2E free-port) || return 1
    mkdir -p "$nats"
    cat >"$nats/nats.conf" <<EOF
server_name: "durability-$$"
listen: "127.0.0.1:$port"
pid_file: "$nats/nats.pid"
jetstream {
    store_dir: "$nats"
    max_memory_store: 64MB
    sync_interval: $1
}
EOF
    strace "${STRACE_OPTIONS[@]}" -o "$dir/strace.txt" "$NATS_SERVER" -c "$nats/nats.conf" \
        >"$nats/nats.log" 2>&1 &
    strace_pid=$!
    nats_url=nats://127.0.0.1:$port
    wait_line "$nats/nats.log" "Server is ready" "$strace_pid" 20 &&
        nats_pid_of "$dir" >/dev/null || { tail -n 5 "$nats/nats.log"; return 1; }
}

# node_start: a node on our nats-server; sets listen.
node_start() {
    listen=$($E2E free-port)
    local http
    http=$($E2E free-port)
    env -u NODOWN_ADMIN_TOKEN NODOWN_HOUSE_SECRET="$HOUSE_SECRET" "$NODOWN" serve \
        --data "$dir/node" --nats "$nats_url" --listen "127.0.0.1:$listen" \
        --http "127.0.0.1:$http" >"$dir/node.out" 2>"$dir/node.err" &
    node_pid=$!
    wait_line "$dir/node.out" "serving clients" "$node_pid" 20 ||
        { tail -n 5 "$dir/node.err"; return 1; }
}

# load: the bootstrap, then CLIENTS members' loads at once; all must end
# with every command acknowledged.
load() {
    local out members market i rv=0
    out=$($E2E bootstrap --nodes "127.0.0.1:$listen" --house-secret "$HOUSE_SECRET" \
        --members "$CLIENTS" --member-secret "$MEMBER_SECRET") || return 1
    mapfile -t members < <(echo "$out" | awk '$1 == "member" { print $2 }')
    market=$(echo "$out" | awk '$1 == "market" { print $2 }')
    [ ${#members[@]} -eq "$CLIENTS" ] || return 1
    logs=()
    for i in $(seq 1 "$CLIENTS"); do
        logs+=(--log "$dir/load$i.log")
        $E2E load --nodes "127.0.0.1:$listen" --account "${members[$((i - 1))]}" \
            --secret "$MEMBER_SECRET" --client-id "$((70 + i))" --count "$COUNT" \
            --log "$dir/load$i.log" --market "$market" --seconds 40 \
            >"$dir/load$i.out" 2>"$dir/load$i.err" &
        load_pid[$i]=$!
    done
    for i in $(seq 1 "$CLIENTS"); do
        wait "${load_pid[$i]}" || rv=1
        unset "load_pid[$i]"
        echo "     $(cat "$dir/load$i.out")"
        [ "$(wc -l < "$dir/load$i.log")" -eq "$COUNT" ] || rv=1
    done
    return $rv
}

# exactly_once: e2e_node check over the stream and the logs.
exactly_once() {
    local out
    out=$($E2E check --nats "$nats_url" "${logs[@]}") || { echo "$out"; return 1; }
    echo "$out" | sed 's/^/     /'
}

# sync_check: e2e_sync_check over the trace and the logs; sets sync_rv and
# violations.
sync_check() {
    local out
    out=$($SYNC_CHECK --trace "$dir/strace.txt" "${logs[@]}" 2>&1)
    sync_rv=$?
    echo "$out" | sed 's/^/     /'
    violations=$(echo "$out" | awk '$1 == "acknowledgements" && $3 == "violations" { print $4 }')
}

# hex_le VALUE SIZE: VALUE in SIZE bytes, little endian, as strace -xx
# spells them; hex_text TEXT: TEXT so.
hex_le() {
    local i
    for ((i = 0; i < $2; i++)); do printf '\\x%02x' $((($1 >> (8 * i)) & 255)); done
}
hex_text() {
    local i
    for ((i = 0; i < ${#1}; i++)); do printf '\\x%02x' "'${1:i:1}"; done
}

# record SEQ: a stored message as nats-server writes it, 31 bytes: its
# length (headers flag set), sequence, time, subject length, subject "a",
# no headers or payload, and an 8-byte hash.
record() {
    echo "$(hex_le $((31 | 0x80000000)) 4)$(hex_le "$1" 8)$(hex_le 7 8)$(hex_le 1 2)$(hex_text a)$(
        hex_le 0 8)"
}

# made_up_check: e2e_sync_check on a trace written here, whose answer is
# known. Block file 1.blk gets records 1 and 2 in one write, then an fsync
# printed in two lines (another thread's call between them) that returns
# at .000012; record 3 in two writes, the second returning at .000017, an
# fsync by another thread that entered before that (so it does not count),
# an fdatasync returning at .000025; record 4, never synced. The clients
# had: 1 at .000013 (holds), 2 at .000011 (does not), 3 at .000019 (does
# not: only the fdatasync counts) and .000026 (holds), 4 (does not). Then
# two traces the checker must refuse: a write not at the file's end, and a
# record cut short by strace's -s.
made_up_check() {
    local blk other three out rv
    blk="7<$(hex_text /x/streams/NODOWN/msgs/1.blk)>"
    other="3<$(hex_text /x/nats.log)>"
    three=$(record 3)
    cat >"$work/made-up.trace" <<TRACE
10 100.000000000 pwrite64($blk, "$(record 1)$(record 2)", 62, 0) = 62 <0.000001000>
10 100.000002000 fsync($blk <unfinished ...>
11 100.000003000 write($other, "$(hex_text A)", 1) = 1 <0.000000100>
10 100.000012000 <... fsync resumed>) = 0 <0.000010000>
10 100.000014000 pwrite64($blk, "${three:0:40}", 10, 62) = 10 <0.000001000>
10 100.000016000 pwrite64($blk, "${three:40}", 21, 72) = 21 <0.000001000>
11 100.000016500 fsync($blk) = 0 <0.000001000>
10 100.000020000 fdatasync($blk) = 0 <0.000005000>
10 100.000030000 pwrite64($blk, "$(record 4)", 31, 93) = 31 <0.000001000>
10 100.000031000 +++ exited with 0 +++
TRACE
    local t=100000000 # ms of the acknowledgements' times, whose ns follow
    printf '%s\n' "4 71 1 0 14 1 0 0 1 $t 100000013000" "4 71 2 0 14 2 0 0 2 $t 100000011000" \
        "4 71 3 0 14 3 0 0 3 $t 100000019000" "4 71 4 0 14 4 0 0 3 $t 100000026000" \
        "4 71 5 0 14 5 0 0 4 $t 100000040000" >"$work/made-up.log"
    out=$($SYNC_CHECK --trace "$work/made-up.trace" --log "$work/made-up.log" 2>&1)
    rv=$?
    echo "$out" | sed 's/^/     /'
    [ $rv = 1 ] &&
        echo "$out" | grep -qx "trace: 4 records in 4 writes, 3 fsync/fdatasync, 1 block file" &&
        echo "$out" | grep -qx "acknowledgements 5 violations 3 errors 0" &&
        echo "$out" | grep -q "^violation: client 71 seq 2 (stream sequence 2) " &&
        echo "$out" | grep -q "^violation: client 71 seq 3 (stream sequence 3) " &&
        echo "$out" | grep -q "^violation: client 71 seq 5 (stream sequence 4) .*no sync" ||
        return 1
    sed '5s/, 62) = 10/, 61) = 10/' "$work/made-up.trace" >"$work/gap.trace"
    out=$($SYNC_CHECK --trace "$work/gap.trace" --log "$work/made-up.log" 2>&1)
    rv=$?
    echo "$out" | grep "not at the end" | sed 's/^/     /'
    [ $rv = 2 ] && echo "$out" | grep -q "a write at offset 61, not at the end (62)" || return 1
    sed '9s/", 31, 93)/"..., 31, 93)/' "$work/made-up.trace" >"$work/cut.trace"
    out=$($SYNC_CHECK --trace "$work/cut.trace" --log "$work/made-up.log" 2>&1)
    rv=$?
    echo "$out" | grep "cut short" | sed 's/^/     /'
    [ $rv = 2 ] && echo "$out" | grep -q "a write cut short by strace"
}

# caught: the last sync_check found violations, and nothing else wrong.
caught() {
    [ "$sync_rv" = 1 ] && [ "${violations:-0}" -gt 0 ]
}

# run NAME SYNC_INTERVAL: one run on a fresh store, up to the checks.
run() {
    local name=$1 start=$SECONDS
    dir=$work/$name
    mkdir -p "$dir"
    expect "($name) nats-server with sync_interval: $2 starts under strace" nats_start "$2" ||
        return 1
    expect "($name) a node starts on it" node_start || return 1
    expect "($name) $CLIENTS clients have their $COUNT commands each acknowledged" load ||
        return 1
    expect "($name) every acknowledged command applied exactly once" exactly_once
    stop_all
    expect "($name) nats-server and strace stopped" test -z "$(nats_pid_of "$dir")"
    echo "     ($name) $(grep -c . "$dir/strace.txt") trace lines; took $((SECONDS - start)) s"
    sync_check
}

if [ ! -x "$NODOWN" ] || [ ! -x "$E2E" ] || [ ! -x "$SYNC_CHECK" ]; then
    fail "build $NODOWN, $E2E and $SYNC_CHECK first (make all build/test/e2e_node\
 build/test/e2e_sync_check)"
elif ! why=$(strace -f --seccomp-bpf -o /dev/null true 2>&1); then
    echo "SKIP durability: strace cannot trace here ($why): the durability of"
    echo "SKIP durability: acknowledgements (issue 10) was NOT tested"
else
    expect "the checker gives a made-up trace's known answer, and refuses broken ones" \
        made_up_check
    if run always always; then
        expect "(always) every acknowledgement came after its batch's sync had returned" \
            test "$sync_rv" = 0
    fi
    # The negative controls: the same check on the same load must fail.
    if run 50ms 50ms; then
        expect "(50ms) ${violations:-no} acknowledgements came before their batch's sync,\
 though the file is synced every 50 ms" caught
    fi
    if run 2m 2m; then
        expect "(2m) ${violations:-no} acknowledgements came before their batch's sync (there\
 is none during the run)" caught
    fi
fi

# Nothing of ours may outlive the run (strace, nats-servers, nodes and
# clients all name this run's directory).
stop_all
sleep 0.2
expect_none_left
summary
[ "$failed" -eq 0 ]
