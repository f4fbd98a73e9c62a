#!/usr/bin/env bash
# The fault tests of issue 3, with real processes: `build/nodown serve`
# nodes, their nats-servers, and load clients (build/test/e2e_node, which
# uses the C client library), all on 127.0.0.1 with free ports, under a
# temporary directory. See docs/testing.md.
#
#   (a) kill -9 a node under load, restart it on the same data and ports:
#       the clients ride it out, every acknowledged command is applied
#       exactly once, and the node's digest equals a fresh node's that
#       replayed the stream from sequence 1 (and the checker's own replay).
#   (b) kill -9 the nats-server of the embedded default under load: the
#       node reports it, restarts it, and nothing acknowledged is lost or
#       doubled.
#   (c) two nodes on one stream; the clients are on the second when it is
#       killed: they fail over to the first, resend, and nothing is
#       doubled; the second, restarted, catches up to the same digest.
#   (d) `nodown cluster up`: three nats-servers in one JetStream cluster
#       (the stream on all three) and three nodes, the clients spread over
#       them. Under load: kill -9 the stream leader's server (a follower's
#       with FAULTS_FOLLOWER_KILL=1: see docs/cluster.md), then a node,
#       then a planned restart of the leader's server (`cluster restart`),
#       then kill -9 another server, each brought back by `cluster up`;
#       every acknowledged command applied exactly once, all nodes one
#       state, `nodown verify` agreeing (and naming a node that does not).
#
# Prints "faults: N passed, N failed" last; exits non-zero on a failure.
# Kills only the processes it started (and, when a node died, the
# nats-server that node started on this script's directory), and leaves
# none behind. FAULTS_COUNT (commands per client, default 15000) and
# FAULTS_KILL_AT (acknowledged commands before a kill, default 2000) size
# the load; FAULTS_TIME_LIMIT_S (default 600) bounds the whole run, which
# takes about 2 to 5 minutes; FAULTS_SCENARIOS (default "a b c d e") picks
# scenarios;
# FAULTS_KEEP=1 keeps the directory (logs) afterwards.
set -uo pipefail
cd "$(dirname "$0")/../.."

NODOWN=build/nodown
E2E=build/test/e2e_node
HOUSE_SECRET="faults house secret"
MEMBER_SECRET="faults member secret"
COUNT=${FAULTS_COUNT:-15000}
KILL_AT=${FAULTS_KILL_AT:-2000}
TIME_LIMIT_S=${FAULTS_TIME_LIMIT_S:-600}

passed=0
failed=0
# The pids this script started and has not reaped yet, by name.
declare -A node_pid node_dir node_listen node_http node_nats node_out
declare -A load_pid load_log load_out
work=$(mktemp -d /tmp/nodown-faults-XXXXXX)

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh
# shellcheck source=test/cli/lib/nodes.sh
source test/cli/lib/nodes.sh

# quiet COMMAND...: COMMAND without its output.
quiet() {
    "$@" >/dev/null
}

# Stops every process of ours still running: load clients, nodes, a
# nats-server a node killed with -9 may have left on its directory, and
# scenario (d)'s cluster.
stop_all() {
    [ -f "$work/d/cluster.txt" ] && "$NODOWN" cluster down --dir "$work/d" >/dev/null
    [ -f "$work/e/cluster.txt" ] && "$NODOWN" cluster down --dir "$work/e" >/dev/null
    nodes_stop_all
}

script_frame faults "$TIME_LIMIT_S" "${FAULTS_KEEP:-0}" stop_all




# nodes_at SEQ NAME...: waits (20 s) until every node's /status shows
# applied_seq SEQ, the stream's last sequence, and its digest as of SEQ
# (/status is rendered once a second and the digest computed when the node
# is idle, so a node caught up a moment ago may still show an older,
# equally consistent, state: hence the known SEQ); prints "SEQ DIGEST" per
# node.
nodes_at() {
    local want=$1 deadline=$((SECONDS + 20)) lines
    shift
    while :; do
        local name json seq all=1
        lines=""
        for name in "$@"; do
            json=$(status_json "$name")
            seq=$(field "$json" applied_seq)
            [ "$seq" = "$want" ] && [ "$(field "$json" stream_last_seq)" = "$want" ] &&
                [ "$(field "$json" digest_seq)" = "$want" ] || all=0
            lines+="$seq $(field "$json" digest)"$'\n'
        done
        if [ $all = 1 ] || [ $SECONDS -ge $deadline ]; then break; fi
        sleep 0.2
    done
    printf '%s' "$lines"
    [ $all = 1 ]
}





# load_finish NAME MIN_CONNECTIONS: waits for it; it must have every
# command acknowledged, having connected at least MIN_CONNECTIONS times.
load_finish() {
    local name=$1 rv=0
    wait "${load_pid[$name]}" || rv=$?
    unset "load_pid[$name]"
    local summary connections
    summary=$(cat "${load_out[$name]}")
    connections=$(echo "$summary" | sed -n 's/.*ms, \([0-9]*\) connections.*/\1/p')
    echo "     $summary"
    [ $rv -eq 0 ] && [ "$(lines_of "${load_log[$name]}")" -eq "$COUNT" ] &&
        [ "${connections:-0}" -ge "$2" ] || { tail -n 5 "$work/$name.err"; return 1; }
}

# check NATS_URL LOAD...: the exactly-once check over the whole stream;
# sets check_digest and check_seq.
check() {
    local url=$1 args=() name out
    shift
    for name in "$@"; do args+=(--log "${load_log[$name]}"); done
    out=$($E2E check --nats "$url" --replicas "${check_replicas:-1}" "${args[@]}" \
        ${FAULTS_VERBOSE:+--verbose})
    local rv=$?
    echo "$out" | sed 's/^/     /'
    check_digest=$(echo "$out" | awk '$1 == "digest" { print $2 }')
    check_seq=$(echo "$out" | awk '$1 == "digest" { print $4 }')
    return $rv
}

# doctored_check NATS_URL LOAD...: the checker must catch a log with one
# acknowledgement dropped (client_seq 100) and one id changed (200).
doctored_check() {
    local url=$1 log=${load_log[$2]}
    awk '$3 == 100 { next } $3 == 200 { $6 = $6 + 1 } { print }' "$log" >"$log.doctored"
    local out
    out=$($E2E check --nats "$url" --log "$log.doctored" --log "${load_log[$3]}" 2>&1) &&
        return 1
    echo "$out" | grep "^check: account" | sed 's/^/     /'
    echo "$out" | grep -q "seq 100: applied but never acknowledged" &&
        echo "$out" | grep -q "seq 200: acknowledged with an outcome other than the one applied"
}

# ---- (a) kill -9 the node under load, restart it. ----
scenario_a() {
    local dir=$work/a start=$SECONDS
    expect "(a) node A starts (embedded NATS)" node_start A "$dir" 1 house || return
    expect "(a) bootstrap through A" bootstrap A || return
    local old_nats
    old_nats=$(nats_pid_of "$dir")
    load_start a1 "127.0.0.1:${node_listen[A]}" "${members[0]}" 11
    load_start a2 "127.0.0.1:${node_listen[A]}" "${members[1]}" 12
    wait_lines a1 "$KILL_AT"
    node_kill9 A
    local at_kill
    at_kill=$(lines_of "${load_log[a1]}")
    expect "(a) node A killed -9 under load ($at_kill of $COUNT acknowledged)" \
        test "$at_kill" -ge "$KILL_AT" -a "$at_kill" -lt "$COUNT"
    local deadline=$((SECONDS + 10))
    while [ -n "$(nats_pid_of "$dir")" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
    expect "(a) A's nats-server (${old_nats:-none}) exits with it (parent-death signal)" \
        eval '[ -n "$old_nats" ] && [ -z "$(nats_pid_of "$dir")" ]'
    sleep 0.5 # the clients meet a dead port for a while
    node_start A "$dir" 1 || { fail "(a) node A restarts"; return; }
    ok "(a) node A restarts on the same data and ports"
    expect "(a) client 11 rides out the restart" load_finish a1 2
    expect "(a) client 12 rides out the restart" load_finish a2 2
    expect "(a) every acknowledged command applied exactly once" \
        check "${node_nats[A]}" a1 a2
    expect "(a) the checker fails a doctored log" doctored_check "${node_nats[A]}" a1 a2
    expect "(a) a fresh node F starts on A's stream" \
        node_start F "$work/f" 2 --nats "${node_nats[A]}" || return
    local states
    states=$(nodes_at "$check_seq" A F)
    expect "(a) A, a fresh node replaying from 1, and the checker: one state" \
        same_state "$states"
    node_stop F
    node_stop A
    echo "     (a) took $((SECONDS - start)) s"
}

# ---- (b) kill -9 the embedded nats-server under load. ----
scenario_b() {
    local dir=$work/b start=$SECONDS
    expect "(b) node B starts (embedded NATS)" node_start B "$dir" 1 house || return
    expect "(b) bootstrap through B" bootstrap B || return
    load_start b1 "127.0.0.1:${node_listen[B]}" "${members[0]}" 21
    load_start b2 "127.0.0.1:${node_listen[B]}" "${members[1]}" 22
    wait_lines b1 "$KILL_AT"
    local nats
    nats=$(nats_pid_of "$dir")
    expect "(b) B's nats-server runs (pid ${nats:-none})" test -n "$nats" || return
    kill -KILL "$nats"
    local at_kill killed_ms
    at_kill=$(lines_of "${load_log[b1]}")
    killed_ms=$(date +%s%3N)
    local deadline=$((SECONDS + 20))
    while ! grep -q "exited (killed by signal 9); restarting it" "$work/B.err" &&
        [ $SECONDS -lt $deadline ]; do sleep 0.02; done
    expect "(b) B reports the kill, $(($(date +%s%3N) - killed_ms)) ms after it ($at_kill of\
 $COUNT acknowledged then)" \
        grep -q "nats-server on ${node_nats[B]} exited (killed by signal 9); restarting it" \
        "$work/B.err"
    grep "nats-server" "$work/B.err" | sed 's/^/     /'
    expect "(b) client 21 goes on" load_finish b1 1
    expect "(b) client 22 goes on" load_finish b2 1
    local json new_nats
    json=$(status_json B)
    new_nats=$(nats_pid_of "$dir")
    expect "(b) B restarted its nats-server (restarts 1, pid ${new_nats:-none})" \
        test "$(field "$json" restarts)" = 1 -a -n "$new_nats" -a "$new_nats" != "$nats"
    expect "(b) nothing acknowledged lost, nothing doubled" check "${node_nats[B]}" b1 b2
    local states
    states=$(nodes_at "$check_seq" B)
    expect "(b) B and the checker: one state" same_state "$states"
    node_stop B
    expect "(b) B's nats-server stops with it" eval '[ -z "$(nats_pid_of "$dir")" ]'
    echo "     (b) took $((SECONDS - start)) s"
}

# ---- (c) two nodes on one stream; the clients' node dies. ----
scenario_c() {
    local start=$SECONDS
    expect "(c) node P starts (embedded NATS)" node_start P "$work/p" 1 house || return
    expect "(c) node Q starts on P's stream" \
        node_start Q "$work/q" 2 --nats "${node_nats[P]}" || return
    # Logic version 2: each client keeps 32 commands in flight, all resent
    # on failover.
    expect "(c) bootstrap through P, logic version 2" bootstrap P 2 || return
    expect "(c) Q has applied the bootstrap (stream $boot_seq)" quiet nodes_at "$boot_seq" P Q
    local nodes="127.0.0.1:${node_listen[Q]},127.0.0.1:${node_listen[P]}"
    load_start c1 "$nodes" "${members[0]}" 31
    load_start c2 "$nodes" "${members[1]}" 32
    wait_lines c1 "$KILL_AT"
    node_kill9 Q
    local at_kill
    at_kill=$(lines_of "${load_log[c1]}")
    expect "(c) node Q killed -9 under load ($at_kill of $COUNT acknowledged)" \
        test "$at_kill" -ge "$KILL_AT" -a "$at_kill" -lt "$COUNT"
    expect "(c) client 31 fails over from Q to P" load_finish c1 2
    expect "(c) client 32 fails over from Q to P" load_finish c2 2
    expect "(c) resent commands not doubled" check "${node_nats[P]}" c1 c2
    expect "(c) node Q restarts on its data" \
        node_start Q "$work/q" 2 --nats "${node_nats[P]}" || return
    local states
    states=$(nodes_at "$check_seq" P Q)
    expect "(c) P, Q restarted, and the checker: one state" same_state "$states"
    node_stop Q
    node_stop P
    echo "     (c) took $((SECONDS - start)) s"
}

# ---- (d) a NATS cluster of three and three nodes. ----

# cluster_pid KIND INDEX: the pid `nodown cluster up` recorded, only while
# that process runs with this run's directory on its command line.
cluster_pid() {
    local pid
    pid=$(awk -v k="$1" -v i="$2" '$1 == k && $2 == i { print $3 }' "$cdir/cluster.txt")
    [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" | grep -qF -- "$cdir" &&
        echo "$pid"
}

# The directory of the cluster the helpers below act on: (d)'s, then (e)'s.
cdir=$work/d

# cluster_up [NODES [OPTIONS...]]: nodown cluster up (3 servers, NODES
# nodes, default 3; a snapshot every 100 KB of log, so that a new node has
# one to join from).
cluster_up() {
    local nodes=${1:-3}
    [ $# -gt 0 ] && shift
    env NODOWN_HOUSE_SECRET="$HOUSE_SECRET" "$NODOWN" cluster up --dir "$cdir" \
        --nats-servers 3 --nodes "$nodes" --snapshot-mb 0.1 "$@" >>"$cdir.out" 2>&1 && return
    cluster_diagnose
    return 1
}

# cluster_diagnose: what a failed `cluster up` said, and the servers' and
# nodes' last words, for a run that cannot be kept (CI).
cluster_diagnose() {
    local log
    tail -n 5 "$cdir.out" 2>/dev/null | sed 's/^/     cluster up: /'
    "$NODOWN" cluster status --dir "$cdir" 2>&1 | sed 's/^/     status: /'
    for log in "$cdir"/nats-*/log "$cdir"/node-*/log; do
        [ -f "$log" ] || continue
        grep -iE "error|warn|leader|stream|registry|refused" "$log" | tail -n 4 |
            sed "s|^|     ${log#"$cdir"/}: |"
    done
}

# The ports of cluster node I, as node D<I> for the helpers above.
cluster_node() {
    node_dir[D$1]=$cdir/node-$1
    node_listen[D$1]=$(awk -v i="$1" '$1 == "node" && $2 == i { print $4 }' "$cdir/cluster.txt")
    node_http[D$1]=$(awk -v i="$1" '$1 == "node" && $2 == i { print $5 }' "$cdir/cluster.txt")
}

# kill9_cluster KIND INDEX: kill -9 one of the cluster's processes.
kill9_cluster() {
    local pid
    pid=$(cluster_pid "$1" "$2") && kill -KILL "$pid"
}

# ack_gap_ms FROM_MS TO_MS LOG...: the longest time between two
# acknowledgements of the load logs (their last field, wall-clock ms) in
# [FROM_MS, TO_MS], the window's edges counting as acknowledgements.
ack_gap_ms() {
    local from=$1 to=$2
    shift 2
    awk -v from="$from" -v to="$to" '$10 >= from && $10 <= to { print $10 }' "$@" |
        sort -n | awk -v from="$from" -v to="$to" '
            BEGIN { last = from; gap = 0 }
            { if ($1 - last > gap) gap = $1 - last; last = $1 }
            END { if (to - last > gap) gap = to - last; print gap }'
}

# The index of the nats-server leading the stream now.
stream_leader() {
    "$NODOWN" cluster status --dir "$cdir" | sed -n 's/.* leader nats-\([0-9]\);.*/\1/p'
}

scenario_d() {
    local dir=$work/d start=$SECONDS i
    cdir=$dir
    # Eight times the load: it must outlast five faults and a join.
    local COUNT=$((COUNT * 8))
    expect "(d) nodown cluster up: 3 NATS servers (R3 stream), 3 nodes" cluster_up || return
    for i in 0 1 2; do cluster_node "$i"; done
    local urls
    urls=$(awk '$1 == "nats" { printf "%snats://127.0.0.1:%s", s, $4; s = "," }' \
        "$dir/cluster.txt")
    expect "(d) bootstrap through node 0, logic version 2" bootstrap D0 2 || return
    local d_boot=$boot_seq
    # A node of another stream with the same history but its own house
    # secret (another salt): at the same sequence, another state.
    expect "(d) node X starts (embedded NATS, a stream of its own)" \
        node_start X "$work/x" 9 house || return
    expect "(d) bootstrap through X, logic version 2" bootstrap X 2 || return
    # The cluster's stream keeps a batch its gateway sent twice (no
    # duplicate window on a cluster, src/replica/journal.h), X's does not:
    # X is brought to the same sequence with deposits.
    local x_seq=$boot_seq
    while [ "$x_seq" -lt "$d_boot" ]; do
        "$NODOWN" client --nodes "127.0.0.1:${node_listen[X]}" --account 0 \
            --secret "$HOUSE_SECRET" --client-id 77 deposit --account 0 --amount 1 >/dev/null
        x_seq=$((x_seq + 1))
    done
    expect "(d) X is at the cluster's sequence ($d_boot)" \
        eval '[ "$boot_seq" -le "$d_boot" ] && nodes_at "$d_boot" X >/dev/null'
    local out
    out=$("$NODOWN" verify --dir "$dir" --node "${node_http[X]}:${node_dir[X]}/admin.token" \
        --timeout 20)
    local rv=$?
    echo "$out" | sed 's/^/     /'
    expect "(d) nodown verify names X as diverging, and fails" \
        eval '[ $rv = 1 ] && grep -q "127.0.0.1:${node_http[X]} *DIVERGES" <<<"$out"'
    node_stop X # (its bootstrap gave the same member ids as the cluster's)
    local l0=127.0.0.1:${node_listen[D0]} l1=127.0.0.1:${node_listen[D1]}
    local l2=127.0.0.1:${node_listen[D2]}
    load_start d1 "$l1,$l2,$l0" "${members[0]}" 41
    load_start d2 "$l2,$l0,$l1" "${members[1]}" 42
    wait_lines d1 "$KILL_AT"
    local leader victim
    leader=$(stream_leader)
    # kill -9 of the stream leader's server: under nats-server 2.9.10 a
    # node then once in about ten runs applied a message at a sequence the
    # stream later held with other contents; 2.10 numbers replicated
    # duplicates alike on every copy (docs/cluster.md). The journal audit
    # after the leader moves, and the checker below, would catch it.
    # FAULTS_FOLLOWER_KILL=1 kills a follower's server instead.
    victim=$leader
    [ "${FAULTS_FOLLOWER_KILL:-0}" = 1 ] && victim=$(((${leader:-0} + 2) % 3))
    expect "(d) kill -9 nats-$victim (the stream leader is nats-${leader:-?}) under load" \
        kill9_cluster nats "$victim"
    expect "(d) the load goes on" wait_lines d1 $((KILL_AT * 2))
    expect "(d) cluster up brings nats-$victim back" cluster_up
    local verified verified_rc
    verified=$("$NODOWN" verify --dir "$dir" --timeout 20 2>&1)
    verified_rc=$?
    expect "(d) nodown verify under load: the three nodes agree" test "$verified_rc" = 0
    [ "$verified_rc" = 0 ] || echo "$verified" | sed 's/^/     /'
    expect "(d) kill -9 node 1 under load" eval 'alive "${load_pid[d1]}" && kill9_cluster node 1'
    expect "(d) the load goes on" wait_lines d1 $((KILL_AT * 3))
    expect "(d) cluster up brings node 1 back" cluster_up
    local join_start
    join_start=$(date +%s%3N)
    expect "(d) a fourth node added under load (cluster up --nodes 4)" cluster_up 4
    cluster_node 3
    local deadline=$((SECONDS + 20))
    while ! grep -q "joined: caught up" "$dir/node-3/log" && [ $SECONDS -lt $deadline ]; do
        sleep 0.05
    done
    local joined gap
    joined=$(grep "joined" "$dir/node-3/log")
    echo "$joined" | sed 's/^/     /'
    expect "(d) it joined from node 0's snapshot, not from the stream's start" \
        grep -q "joined from 127.0.0.1:${node_http[D0]}: snapshot at stream sequence" \
        "$dir/node-3/log"
    gap=$(ack_gap_ms "$join_start" "$(date +%s%3N)" "${load_log[d1]}" "${load_log[d2]}")
    echo "     longest time without an acknowledgement while node 3 joined: ${gap} ms"
    expect "(d) the join paused no one (no 1 s without an acknowledgement)" \
        test "${gap:-99999}" -lt 1000
    leader=$(stream_leader)
    local moved
    moved=$("$NODOWN" cluster restart --dir "$dir" --nats "${leader:-9}" 2>&1)
    expect "(d) a planned restart of nats-${leader:-?}, the stream leader's server, under load" \
        eval '[ $? = 0 ] && [ "$(stream_leader)" != "$leader" ]'
    echo "$moved" | sed 's/^/     /'
    expect "(d) the load goes on" wait_lines d1 $((KILL_AT * 4))
    # The leader's server again (a follower's with FAULTS_FOLLOWER_KILL=1).
    local other
    other=$(stream_leader)
    [ "${FAULTS_FOLLOWER_KILL:-0}" = 1 ] && other=$(((${other:-0} + 1) % 3))
    expect "(d) kill -9 nats-$other under load" kill9_cluster nats "$other"
    expect "(d) the load goes on" wait_lines d1 $((KILL_AT * 5))
    expect "(d) cluster up brings nats-$other back" cluster_up
    expect "(d) client 41 (first on node 1) finishes" load_finish d1 2
    expect "(d) client 42 finishes" load_finish d2 1
    check_replicas=3
    expect "(d) every acknowledged command applied exactly once" check "$urls" d1 d2 ||
        cluster_diagnose
    check_replicas=1
    local states
    states=$(nodes_at "$check_seq" D0 D1 D2 D3)
    expect "(d) four nodes and the checker: one state" same_state "$states"
    expect "(d) nodown verify at rest: the four nodes agree" \
        quiet "$NODOWN" verify --dir "$dir" --timeout 20
    local audits
    audits=$(cat "$dir"/node-*/log | grep -c "journal audit ok")
    # Each node reads back what it applied when the stream's leader moves.
    expect "(d) journal audits after leader moves: $audits, none differing" \
        eval '[ "$audits" -gt 0 ] && ! grep -q "journal audit DIFFERS" "$dir"/node-*/log'
    local trimmed
    trimmed=$("$NODOWN" cluster trim --dir "$dir" 2>&1)
    echo "$trimmed" | sed 's/^/     /'
    expect "(d) nodown cluster trim removes what no node needs" \
        grep -qE "stream trimmed below sequence [0-9]+ .*: [1-9][0-9]* messages removed" \
        <<<"$trimmed"
    expect "(d) kill -9 node 2 after the trim" kill9_cluster node 2
    expect "(d) cluster up brings it back from its own snapshot" cluster_up 4
    states=$(nodes_at "$check_seq" D0 D1 D2 D3)
    expect "(d) after the trim, four nodes and the checker: still one state" \
        same_state "$states"
    expect "(d) nodown cluster down" quiet "$NODOWN" cluster down --dir "$dir"
    echo "     (d) took $((SECONDS - start)) s"
}

# ---- (e) the disaster-recovery site. ----

scenario_e() {
    local dir=$work/e start=$SECONDS
    cdir=$dir
    local COUNT=$((COUNT * 2))
    expect "(e) nodown cluster up --dr: 3 NATS servers, 2 nodes, a DR site (server, mirror, node)" \
        cluster_up 2 --dr || return
    cluster_node 0
    cluster_node 1
    node_dir[DR]=$dir/dr-node
    node_listen[DR]=$(awk '$1 == "drnode" { print $4 }' "$dir/cluster.txt")
    node_http[DR]=$(awk '$1 == "drnode" { print $5 }' "$dir/cluster.txt")
    expect "(e) bootstrap through node 0, logic version 2" bootstrap D0 2 || return
    local refused
    refused=$("$NODOWN" client --nodes "127.0.0.1:${node_listen[DR]}" --account "${members[0]}" \
        --secret "$MEMBER_SECRET" --client-id 90 --timeout-ms 3000 withdraw \
        --account "${members[0]}" --amount 1 2>&1)
    echo "$refused" | sed 's/^/     /'
    expect "(e) the DR node refuses commands before its promotion, saying why" \
        grep -q "disaster-recovery site" <<<"$refused"
    local l0=127.0.0.1:${node_listen[D0]} l1=127.0.0.1:${node_listen[D1]}
    local ldr=127.0.0.1:${node_listen[DR]}
    # The DR node is last in each client's list: the clients move there
    # when the primary is gone, and stay refused until the promotion.
    load_start e1 "$l0,$l1,$ldr" "${members[0]}" 51
    load_start e2 "$l1,$l0,$ldr" "${members[1]}" 52
    wait_lines e1 "$KILL_AT"
    local verified
    verified=$("$NODOWN" verify --dir "$dir" --timeout 20 2>&1)
    expect "(e) under load, the DR node (following the mirror) agrees with the primary's" \
        eval '[ $? = 0 ] && grep -q "dr-node .*ok" <<<"$verified"'
    echo "$verified" | sed 's/^/     /'
    wait_lines e1 $((KILL_AT * 2))
    local i pid
    for i in 0 1 2; do
        pid=$(cluster_pid nats "$i") && kill -KILL "$pid"
    done
    expect "(e) the disaster: kill -9 of all three primary NATS servers under load" \
        eval '! cluster_pid nats 0 && ! cluster_pid nats 1 && ! cluster_pid nats 2'
    local promoted last
    promoted=$("$NODOWN" promote --dir "$dir" --json 2>&1)
    echo "     $promoted"
    last=$(echo "$promoted" | sed -n 's/.*"last_seq":\([0-9]*\).*/\1/p')
    expect "(e) nodown promote: the DR site is primary, its last sequence printed" \
        test -n "$last"
    expect "(e) client 51 finishes on the DR site" load_finish e1 2
    expect "(e) client 52 finishes on the DR site" load_finish e2 2
    local drurl
    drurl=nats://127.0.0.1:$(awk '$1 == "drnats" { print $4 }' "$dir/cluster.txt")
    local out
    out=$($E2E check --nats "$drurl" --lost-above "${last:-0}" --log "${load_log[e1]}" \
        --log "${load_log[e2]}")
    local rv=$?
    echo "$out" | sed 's/^/     /'
    check_digest=$(echo "$out" | awk '$1 == "digest" { print $2 }')
    check_seq=$(echo "$out" | awk '$1 == "digest" { print $4 }')
    # Those the old primary acknowledged after the DR site's last sequence
    # are lost (counted in the output), not an error.
    expect "(e) exactly once on the DR site: every acknowledged command it holds applied once" \
        test "$rv" = 0
    local states
    states=$(nodes_at "$check_seq" DR)
    expect "(e) the DR node and the checker's replay of the promoted stream: one state" \
        same_state "$states"
    expect "(e) nodown verify on the DR site" \
        quiet "$NODOWN" verify --node "${node_http[DR]}:$dir/dr-node/admin.token" --timeout 20
    expect "(e) kill -9 the DR node after the promotion" kill9_cluster drnode 0
    expect "(e) cluster up brings it back (and the old primary's servers, which it ignores)" \
        cluster_up 2 --dr
    states=$(nodes_at "$check_seq" DR)
    expect "(e) the restarted DR node follows the promoted stream to the same state" \
        same_state "$states"
    expect "(e) nodown cluster down" quiet "$NODOWN" cluster down --dir "$dir"
    echo "     (e) took $((SECONDS - start)) s"
}

if [ ! -x "$NODOWN" ] || [ ! -x "$E2E" ]; then
    fail "build $NODOWN and $E2E first (make all build/test/e2e_node)"
else
    for scenario in ${FAULTS_SCENARIOS:-a b c d e}; do "scenario_$scenario"; done
fi

# Nothing of ours may outlive the run: no process names this run's
# directory (the nodes and their nats-servers all do).
stop_all
sleep 0.2
expect_none_left
summary
[ "$failed" -eq 0 ]
