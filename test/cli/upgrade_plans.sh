#!/usr/bin/env bash
# Seeded upgrade plans (issue 11 §5), as CockroachDB's mixed-version tests
# do: from a printed seed, a random plan over a local cluster of 3 NATS
# servers and 3 nodes (`nodown cluster up`), run with real processes under
# a paced load of two clients, then checked.
#
# A plan replaces every node once, in a random order, by hand-over to a
# copy of this build (`nodown upgrade --data D/node-I --binary COPY`).
# Before each replacement it may crash a node (kill -9, then `cluster up`
# restarts it), crash a NATS server (kill -9, `cluster up`) or restart one
# (`cluster restart --nats I`); after the last, one more such fault. One
# replacement, chosen by the seed, is first tried with a binary that exits
# 1: it must be refused and the old process serve on; then the good copy
# replaces it. ACTIVATE_LOGIC 3 (the stream starts at logic 2) is sent as
# the house before, during (while it runs) or after the last replacement.
# At the end: every load client's commands acknowledged, every
# acknowledged command applied exactly once (build/test/e2e_node check
# over the R3 stream), `nodown verify --dir` agreeing, every node at logic
# version 3.
#
# Every seed's plan is printed before it runs, with "replay with
# UPGRADE_PLANS_SEEDS=S"; the same seed gives the same plan (bash's
# $RANDOM seeded with it), though not the same timings.
#
#   UPGRADE_PLANS_SEEDS="1 2 3"  these seeds (default: 2 seeds drawn from
#                                the clock, printed)
#   UPGRADE_PLANS_COUNT=N        N seeds drawn from the clock instead
#   UPGRADE_PLANS_RATE=R         commands/s per load client (default 100)
#   UPGRADE_PLANS_KEEP=1         keep the directory (logs) afterwards
#   UPGRADE_PLANS_TIME_LIMIT_S   bound on the whole run (default 120 + 110
#                                a seed)
#
# A limitation this script works around: `nodown upgrade --data` on a node
# of a local cluster does not update its pid in D/cluster.txt (`upgrade
# --dir` does), so `cluster down` would leave the new process running and
# `cluster up` would start a second process on the directory (it exits,
# the directory being locked). After each replacement the script therefore
# writes the new pid, read from D/node-I/node.lock (the lock holder writes
# its pid there), into cluster.txt's "node I PID ..." line, and it stops
# the nodes named by their lock files too when it ends.
#
# Prints "upgrade_plans: N passed, N failed" last; exits non-zero on a
# failure. Kills only the processes it started (the clusters under its
# directory and their nodes), and leaves none behind.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

NODOWN=$PWD/build/nodown
E2E=$PWD/build/test/e2e_node
HOUSE_SECRET="upgrade plans house secret"
MEMBER_SECRET="upgrade plans member secret"
RATE=${UPGRADE_PLANS_RATE:-100}

if [ -n "${UPGRADE_PLANS_SEEDS:-}" ]; then
    read -r -a seeds <<<"$UPGRADE_PLANS_SEEDS"
else
    seeds=()
    for ((k = 0; k < ${UPGRADE_PLANS_COUNT:-2}; k++)); do
        seeds+=($((($(date +%s%N) / 1000 + k * 7919) % 1000000)))
    done
fi
TIME_LIMIT_S=${UPGRADE_PLANS_TIME_LIMIT_S:-$((120 + 110 * ${#seeds[@]}))}

passed=0
failed=0
declare -A node_pid node_dir node_http
work=$(mktemp -d /tmp/nodown-upgrade-plans-XXXXXX)
dir=""        # the cluster of the seed running
load_pids=()  # load clients running

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh

# lock_pid DIR: the process holding node directory DIR's lock, while it
# runs with this run's directory on its command line.
lock_pid() {
    local pid
    pid=$(head -n 1 "$1/node.lock" 2>/dev/null)
    [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$work" &&
        echo "$pid"
}

# Stops the loads, then every cluster of the run (`cluster down`), then any
# node process that cluster.txt does not name (a replacement's).
stop_all() {
    local pid c n
    for pid in "${load_pids[@]}"; do stop_pid "$pid"; done
    load_pids=()
    for c in "$work"/s*/c; do
        [ -f "$c/cluster.txt" ] && "$NODOWN" cluster down --dir "$c" >/dev/null 2>&1
        for n in "$c"/node-*; do
            pid=$(lock_pid "$n") || continue
            kill -TERM "$pid" 2>/dev/null
            local deadline=$((SECONDS + 15))
            while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null
        done
    done
    return 0
}

script_frame upgrade_plans "$TIME_LIMIT_S" "${UPGRADE_PLANS_KEEP:-0}" stop_all

# ---- The plan. ----

# fault_draw: one fault step, or nothing, drawn from $RANDOM.
fault_draw() {
    local kind=$((RANDOM % 4)) target=$((RANDOM % 3))
    case $kind in
    1) plan+=("crash-node $target") ;;
    2) plan+=("crash-nats $target") ;;
    3) plan+=("restart-nats $target") ;;
    esac
}

# plan_make SEED: the steps of SEED's plan into plan=(...).
plan_make() {
    RANDOM=$1
    plan=()
    local order=(0 1 2) k j t
    for ((k = 2; k > 0; k--)); do # Fisher-Yates
        j=$((RANDOM % (k + 1)))
        t=${order[k]}
        order[k]=${order[j]}
        order[j]=$t
    done
    local failing=$((RANDOM % 3)) activation=$((RANDOM % 3))
    for k in 0 1 2; do
        fault_draw
        [ "$k" = "$failing" ] && plan+=("replace-fail ${order[k]}")
        if [ "$k" = 2 ] && [ "$activation" = 0 ]; then plan+=("activate"); fi
        if [ "$k" = 2 ] && [ "$activation" = 1 ]; then
            plan+=("replace-activate ${order[k]}")
        else
            plan+=("replace ${order[k]}")
        fi
    done
    [ "$activation" = 2 ] && plan+=("activate")
    fault_draw
}

# ---- The cluster. ----

cluster_up() {
    env NODOWN_HOUSE_SECRET="$HOUSE_SECRET" "$NODOWN" cluster up --dir "$dir" \
        --nats-servers 3 --nodes 3 >>"$dir.out" 2>&1 && return
    tail -n 5 "$dir.out" | sed 's/^/     cluster up: /'
    "$NODOWN" cluster status --dir "$dir" 2>&1 | sed 's/^/     status: /'
    return 1
}

# cluster_field KIND I COLUMN: a column of cluster.txt's line for KIND I.
cluster_field() {
    awk -v k="$1" -v i="$2" -v c="$3" '$1 == k && $2 == i { print $c }' "$dir/cluster.txt"
}

# record_node_pid I: cluster.txt's pid of node I set to its lock holder's
# (see the limitation above). True when one holds it.
record_node_pid() {
    local pid
    pid=$(lock_pid "$dir/node-$1") || return 1
    awk -v i="$1" -v p="$pid" '$1 == "node" && $2 == i { $3 = p } { print }' \
        "$dir/cluster.txt" >"$dir/cluster.txt.new" && mv "$dir/cluster.txt.new" "$dir/cluster.txt"
}

node_list() {
    awk '$1 == "node" { printf "%s127.0.0.1:%s", s, $4; s = "," }' "$dir/cluster.txt"
}

nats_urls() {
    awk '$1 == "nats" { printf "%snats://127.0.0.1:%s", s, $4; s = "," }' "$dir/cluster.txt"
}

node_status() {
    curl -s -m 2 -H "Authorization: Bearer $(cat "$dir/node-$1/admin.token")" \
        "http://127.0.0.1:$(cluster_field node "$1" 5)/status"
}

# gone PID: it has exited within 15 s.
gone() {
    local deadline=$((SECONDS + 15))
    while kill -0 "$1" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    ! kill -0 "$1" 2>/dev/null
}

# ---- The steps. ----

step_crash_node() {
    local pid
    pid=$(lock_pid "$dir/node-$1") || { echo "     no process holds node-$1"; return 1; }
    kill -KILL "$pid" && gone "$pid" && cluster_up && record_node_pid "$1"
}

step_crash_nats() {
    local pid
    pid=$(cluster_field nats "$1" 3)
    [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$dir" ||
        { echo "     nats-$1 is not running"; return 1; }
    kill -KILL "$pid" && gone "$pid" && cluster_up
}

step_restart_nats() {
    "$NODOWN" cluster restart --dir "$dir" --nats "$1" >>"$dir.out" 2>&1 ||
        { tail -n 3 "$dir.out" | sed 's/^/     /'; return 1; }
}

# upgrade_node I BINARY: `nodown upgrade --data` of node I; sets URC.
upgrade_node() {
    "$NODOWN" upgrade --data "$dir/node-$1" --binary "$2" --json >"$dir.upgrade" \
        2>"$dir.upgrade.err"
    URC=$?
    echo "     upgrade node-$1 to $(basename "$2"): rc $URC"
    sed 's/^/     | /' "$dir.upgrade.err" | tail -n 4
}

step_replace() {
    local old new deadline=$((SECONDS + 10)) copy=$dir.nodown-$1-$SECONDS
    old=$(lock_pid "$dir/node-$1") || { echo "     no process holds node-$1"; return 1; }
    cp "$NODOWN" "$copy"
    upgrade_node "$1" "$copy"
    [ "$URC" = 0 ] || return 1
    new=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' "$dir.upgrade")
    # The new process writes its pid into the lock file once it holds it.
    while [ "$(lock_pid "$dir/node-$1")" != "$new" ] && [ $SECONDS -lt $deadline ]; do
        sleep 0.05
    done
    [ -n "$new" ] && [ "$new" != "$old" ] && [ "$(lock_pid "$dir/node-$1")" = "$new" ] &&
        gone "$old" && record_node_pid "$1"
}

step_replace_fail() {
    local old
    old=$(lock_pid "$dir/node-$1") || { echo "     no process holds node-$1"; return 1; }
    printf '#!/bin/sh\nexit 1\n' >"$dir.not-nodown"
    chmod +x "$dir.not-nodown"
    upgrade_node "$1" "$dir.not-nodown"
    [ "$URC" != 0 ] && [ "$(lock_pid "$dir/node-$1")" = "$old" ] &&
        [ "$(field "$(node_status "$1")" pid)" = "$old" ]
}

# step_activate: ACTIVATE_LOGIC 3 as the house through any node, tried
# again for 60 s while it is refused (a node registry not yet reachable
# after a NATS restart refuses it) or cannot be sent; a try whose answer
# was lost may have applied it, so REJECT_LOGIC_VERSION (3 is active
# already) counts as done. Writes what it did to $dir.activate.
step_activate() {
    local deadline=$((SECONDS + 60)) out try=0
    : >"$dir.activate"
    while [ $SECONDS -lt $deadline ]; do
        try=$((try + 1))
        out=$("$NODOWN" client --nodes "$(node_list)" --account 0 --secret "$HOUSE_SECRET" \
            --client-id $((900 + try)) --timeout-ms 5000 --json activate-logic --version 3 2>&1)
        echo "try $try: $out" >>"$dir.activate"
        case $out in
        *'"RESULT_OK"'* | *'"REJECT_LOGIC_VERSION"'*) return 0 ;;
        esac
        sleep 1
    done
    return 1
}

step_replace_activate() {
    step_activate &
    local activate=$!
    step_replace "$1"
    local replaced=$?
    wait "$activate"
    local activated=$?
    sed 's/^/     activation /' "$dir.activate"
    [ $replaced = 0 ] && [ $activated = 0 ]
}

run_step() {
    local what=$1 target=${2:-}
    case $what in
    crash-node) step_crash_node "$target" ;;
    crash-nats) step_crash_nats "$target" ;;
    restart-nats) step_restart_nats "$target" ;;
    replace) step_replace "$target" ;;
    replace-fail) step_replace_fail "$target" ;;
    replace-activate) step_replace_activate "$target" ;;
    activate) step_activate && sed 's/^/     activation /' "$dir.activate" ;;
    esac
}

# ---- The load and the checks. ----

# load_start ACCOUNT CLIENT_ID NODES LOG: a paced client in the background.
load_start() {
    "$E2E" load --nodes "$3" --account "$1" --secret "$MEMBER_SECRET" --client-id "$2" \
        --count "$load_count" --rate "$RATE" --log "$4" --market "$market" --seconds 170 \
        >"$4.out" 2>"$4.err" &
    load_pids+=($!)
}

loads_finish() {
    local pid rv=0 log
    for pid in "${load_pids[@]}"; do wait "$pid" || rv=1; done
    load_pids=()
    for log in "$dir".load-*.log; do
        echo "     $(cat "$log.out")"
        [ "$(wc -l <"$log")" -eq "$load_count" ] || { rv=1; tail -n 3 "$log.err"; }
    done
    return $rv
}

check_once() {
    local logs=() log
    for log in "$dir".load-*.log; do logs+=(--log "$log"); done
    "$E2E" check --nats "$(nats_urls)" --replicas 3 "${logs[@]}" >"$dir.check" 2>&1
    local rv=$?
    tail -n 2 "$dir.check" | sed 's/^/     /'
    return $rv
}

all_at_logic_3() {
    local i
    for i in 0 1 2; do
        [ "$(field "$(node_status "$i")" logic_version)" = 3 ] ||
            { echo "     node-$i: $(field "$(node_status "$i")" logic_version)"; return 1; }
    done
}

# run_seed SEED: the plan of SEED, from a new cluster to its checks.
run_seed() {
    local seed=$1 start=$SECONDS k members
    plan_make "$seed"
    echo "---- seed $seed: ${#plan[@]} steps: $(IFS=';'; echo "${plan[*]}" | sed 's/;/; /g')"
    echo "     replay with UPGRADE_PLANS_SEEDS=$seed bash test/cli/upgrade_plans.sh"
    mkdir -p "$work/s$seed"
    dir=$work/s$seed/c
    expect "seed $seed: cluster up, 3 NATS servers and 3 nodes" cluster_up || return 1
    local boot
    boot=$("$E2E" bootstrap --nodes "$(node_list)" --house-secret "$HOUSE_SECRET" --members 2 \
        --member-secret "$MEMBER_SECRET" --logic 2 2>&1)
    mapfile -t members < <(awk '$1 == "member" { print $2 }' <<<"$boot")
    market=$(awk '$1 == "market" { print $2 }' <<<"$boot")
    expect "seed $seed: bootstrap at logic version 2" test "${#members[@]}" = 2 || return 1
    local n0 n1 n2
    n0=127.0.0.1:$(cluster_field node 0 4)
    n1=127.0.0.1:$(cluster_field node 1 4)
    n2=127.0.0.1:$(cluster_field node 2 4)
    # Enough commands to outlast the plan: a step takes 1-7 s (a crash and
    # `cluster up` the longest), so 5 s a step and 6 to start.
    load_count=$((RATE * (6 + 5 * ${#plan[@]})))
    load_start "${members[0]}" 31 "$n0,$n1,$n2" "$dir.load-1.log"
    load_start "${members[1]}" 32 "$n2,$n1,$n0" "$dir.load-2.log"
    sleep 2
    local completed=1
    for ((k = 0; k < ${#plan[@]}; k++)); do
        # shellcheck disable=SC2086
        expect "seed $seed step $((k + 1)): ${plan[k]}" run_step ${plan[k]} ||
            { echo "     replay with UPGRADE_PLANS_SEEDS=$seed"; completed=0; break; }
    done
    local unloaded=0
    for k in "${load_pids[@]}"; do alive "$k" || unloaded=1; done
    [ $unloaded = 1 ] && echo "     (a load client ended before the plan did)"
    expect "seed $seed: every load client's commands acknowledged" loads_finish
    expect "seed $seed: every acknowledged command applied exactly once" check_once
    expect "seed $seed: nodown verify --dir: the nodes' digests equal" \
        eval '"$NODOWN" verify --dir "$dir" --timeout 20 >"$dir.verify" 2>&1 ||
              { sed "s/^/     /" "$dir.verify"; false; }'
    # Only a plan that ran to its end has activated logic version 3.
    [ $completed = 1 ] && expect "seed $seed: every node at logic version 3" all_at_logic_3
    expect "seed $seed: cluster down" eval '"$NODOWN" cluster down --dir "$dir" >/dev/null'
    local left=""
    for k in 0 1 2; do lock_pid "$dir/node-$k" >/dev/null && left+=" node-$k"; done
    expect "seed $seed: no node left running after cluster down" test -z "$left"
    echo "     seed $seed took $((SECONDS - start)) s"
}

echo "     seeds: ${seeds[*]}"
failed_seeds=()
for seed in "${seeds[@]}"; do
    before=$failed
    run_seed "$seed"
    if [ "$failed" -gt "$before" ]; then
        echo "     seed $seed FAILED: replay with UPGRADE_PLANS_SEEDS=$seed"
        failed_seeds+=("$seed")
    fi
    stop_all
done
expect_none_left
# Again at the end: the test runner keeps only a failed script's last lines.
[ ${#failed_seeds[@]} -gt 0 ] &&
    echo "     failed seeds: ${failed_seeds[*]}: replay with UPGRADE_PLANS_SEEDS=\"${failed_seeds[*]}\""
summary
[ "$failed" -eq 0 ]
