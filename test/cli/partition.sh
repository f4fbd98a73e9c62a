#!/usr/bin/env bash
# A network partition isolating one NATS server of three (issue 4), with
# real processes: three nats-servers, each in a network namespace of its
# own (nd-pI-<pid>, a veth on a bridge in the root namespace), one
# JetStream cluster with the stream on all three (R3); three nodown nodes
# in the root namespace on loopback for their clients, node I connected to
# server I only. See docs/testing.md and docs/cluster.md.
#
#   1. Load: client 61 on node 1, client 62 on node 2, client 63 on the
#      minority's node M only.
#   2. Partition: server M (a follower of the stream, so that the majority
#      has nothing to elect; PARTITION_LEADER=1 isolates the stream
#      leader's server instead) is cut off from the two others by
#      blackhole routes in the three namespaces (packets silently lost,
#      as on a real partition), but not from node M.
#   3. Checked during the partition: nodes 1 and 2 keep acknowledging
#      (counted); node M acknowledges nothing; `nodown client` with only
#      node M ends within a bound with exit 3 and the gateway's reason
#      ("could not store commands in the journal ... cut off ..."); a
#      query through node M is still answered (a read replica).
#   4. Heal: node M catches up (timed); every client finishes, client 63
#      by resending what had no outcome; every acknowledged command
#      applied exactly once (e2e_node check); the three nodes and the
#      checker at one digest; `nodown verify` agrees.
#
# Needs root (CAP_NET_ADMIN) for the namespaces: without it, it says SKIP
# loudly and exits 0. Adds 1 ms of latency with tc netem where the kernel
# has it. Prints "partition: N passed, N failed" last. Kills only the
# processes it started, by pid, and removes every namespace, link and
# address it made, also on failure. PARTITION_COUNT (commands of each
# majority client, default 60000), PARTITION_HOLD_S (least seconds the
# partition lasts, default 8), PARTITION_TIME_LIMIT_S (default 120, the
# watchdog), PARTITION_KEEP=1 (keep the directory).
set -uo pipefail
cd "$(dirname "$0")/../.."

NODOWN=build/nodown
E2E=build/test/e2e_node
NATS_SERVER=/usr/sbin/nats-server
HOUSE_SECRET="partition house secret"
MEMBER_SECRET="partition member secret"
COUNT=${PARTITION_COUNT:-60000}
MINORITY_COUNT=$((COUNT / 10))
HOLD_S=${PARTITION_HOLD_S:-8}
TIME_LIMIT_S=${PARTITION_TIME_LIMIT_S:-120}
REFUSAL_BOUND_MS=15000 # nodown client must give up on node M within this

passed=0
failed=0
tag=$$
declare -A node_pid node_dir node_listen node_http node_out
declare -A load_pid load_log load_out
declare -A nats_pid
namespaces=()
links=()
net=""
work=$(mktemp -d /tmp/nodown-partition-XXXXXX)

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh

now_ms() {
    date +%s%3N
}

# ---- The network: a bridge in the root namespace, a namespace per server. ----

# ns NAME COMMAND...: COMMAND in namespace NAME.
ns() {
    local name=$1
    shift
    ip netns exec "$name" "$@"
}

# A /24 of 10.0.0.0/8 from the pid that no address or route here uses yet
# (at most 32 tries): sets net to "10.A.B".
pick_net() {
    local try a b
    for try in $(seq 0 31); do
        a=$((64 + (tag + try * 7) % 128))
        b=$(((tag / 128 + try) % 250 + 1))
        if ! ip -4 addr show | grep -q " 10\.$a\.$b\." &&
            ! ip -4 route show | grep -q "^10\.$a\.$b\."; then
            net=10.$a.$b
            return 0
        fi
    done
    return 1
}

# net_up: bridge ndb<pid> (NET.254) and, for I in 1..3, namespace
# nd-pI-<pid> with NET.I on a veth whose other end is on the bridge.
net_up() {
    pick_net || { echo "     no free 10.x.y.0/24 for the test"; return 1; }
    local bridge=ndb$tag i name
    ip link add "$bridge" type bridge || return 1
    links+=("$bridge")
    ip addr add "$net.254/24" dev "$bridge" && ip link set "$bridge" up || return 1
    for i in 1 2 3; do
        name=nd-p$i-$tag
        ip netns add "$name" || return 1
        namespaces+=("$name")
        ip link add "ndv${tag}r$i" type veth peer name "ndv${tag}s$i" || return 1
        links+=("ndv${tag}r$i")
        ip link set "ndv${tag}s$i" netns "$name" &&
            ip link set "ndv${tag}r$i" master "$bridge" &&
            ip link set "ndv${tag}r$i" up &&
            ns "$name" ip link set lo up &&
            ns "$name" ip addr add "$net.$i/24" dev "ndv${tag}s$i" &&
            ns "$name" ip link set "ndv${tag}s$i" up || return 1
        # A little latency where the kernel has netem (not everywhere).
        ns "$name" tc qdisc add dev "ndv${tag}s$i" root netem delay 1ms 2>/dev/null &&
            netem=1
    done
    [ "${netem:-0}" = 1 ] && echo "     tc netem: 1 ms each way on every server's link" ||
        echo "     tc netem not available here (sch_netem): no added latency"
}

# net_down: removes every namespace and link made, whatever state they are in.
net_down() {
    local name
    for name in "${namespaces[@]}"; do ip netns del "$name" 2>/dev/null; done
    for name in "${links[@]}"; do
        ip link show "$name" >/dev/null 2>&1 && ip link del "$name" 2>/dev/null
    done
    namespaces=()
    links=()
}

# partition M: server M and the two others drop each other's packets
# (blackhole routes on both sides); node M, in the root namespace, still
# reaches server M. heal M: removes them.
partition() {
    local m=$1 i
    for i in 1 2 3; do
        [ "$i" = "$m" ] && continue
        ns "nd-p$m-$tag" ip route add blackhole "$net.$i/32" || return 1
        ns "nd-p$i-$tag" ip route add blackhole "$net.$m/32" || return 1
    done
}

heal() {
    local m=$1 i rv=0
    for i in 1 2 3; do
        [ "$i" = "$m" ] && continue
        ns "nd-p$m-$tag" ip route del blackhole "$net.$i/32" || rv=1
        ns "nd-p$i-$tag" ip route del blackhole "$net.$m/32" || rv=1
    done
    return $rv
}

# ---- The servers and the nodes. ----

# nats_config I: server I's configuration, as `nodown cluster up` writes
# it (src/cli/cluster.c) on the namespace's address, plus no_advertise,
# which keeps every node on the one server it was given. (Pings do not
# find a dead route here: a server pings only an idle connection, and the
# Raft traffic keeps a route busy; the write deadline, 10 s, drops it.)
nats_config() {
    local i=$1 j routes="" sep=""
    # Every server's route, its own included: the JetStream meta group's
    # size is taken from their number (src/cli/cluster.c).
    for j in 1 2 3; do
        routes+="$sep\"nats-route://$net.$j:6222\""
        sep=", "
    done
    mkdir -p "$work/nats-$i"
    cat >"$work/nats-$i/nats.conf" <<EOF
# Written by test/cli/partition.sh.
server_name: "nats-$i"
listen: "$net.$i:4222"
http: "$net.$i:8222"
jetstream { store_dir: "$work/nats-$i/jetstream" }
cluster {
  name: "nodown"
  listen: "$net.$i:6222"
  no_advertise: true
  routes: [ $routes ]
}
EOF
}

# nats_start I: server I in its namespace (ip netns exec, called directly,
# runs it in place: $! is the server's pid); waits until its monitoring
# port answers, which also shows that the root namespace reaches it.
nats_start() {
    local i=$1
    nats_config "$i"
    ip netns exec "nd-p$i-$tag" "$NATS_SERVER" -c "$work/nats-$i/nats.conf" \
        >>"$work/nats-$i/log" 2>&1 &
    nats_pid[$i]=$!
    local deadline=$((SECONDS + 10))
    while ! curl -s -m 1 "http://$net.$i:8222/varz" >/dev/null && [ $SECONDS -lt $deadline ]
    do
        alive "${nats_pid[$i]}" || break
        sleep 0.1
    done
    curl -s -m 1 "http://$net.$i:8222/varz" >/dev/null
}

# node_start I [house]: node I on server I only, free loopback ports;
# waits (40 s: the first one waits for the cluster's JetStream leader to
# create the stream) for its ready line.
node_start() {
    local i=$1 house=()
    [ "${2:-}" = house ] && house=("NODOWN_HOUSE_SECRET=$HOUSE_SECRET")
    node_dir[$i]=$work/node-$i
    node_listen[$i]=${node_listen[$i]:-$($E2E free-port)}
    node_http[$i]=${node_http[$i]:-$($E2E free-port)}
    node_out[$i]=$work/node-$i.out
    : >"${node_out[$i]}"
    env -u NODOWN_HOUSE_SECRET -u NODOWN_ADMIN_TOKEN "${house[@]}" "$NODOWN" serve \
        --data "${node_dir[$i]}" --nats "nats://$net.$i:4222" --replicas 3 \
        --listen "127.0.0.1:${node_listen[$i]}" --http "127.0.0.1:${node_http[$i]}" \
        --node-id "$i" >"${node_out[$i]}" 2>>"$work/node-$i.err" &
    node_pid[$i]=$!
    wait_line "${node_out[$i]}" "serving clients" "${node_pid[$i]}" 40 ||
        { tail -n 5 "$work/node-$i.err"; return 1; }
}

applied_seq() {
    field "$(status_json "$1")" applied_seq
}

# nodes_at SEQ I...: waits (20 s) until every node shows applied_seq,
# stream_last_seq and digest_seq SEQ; prints "SEQ DIGEST" per node.
nodes_at() {
    local want=$1 deadline=$((SECONDS + 20)) lines
    shift
    while :; do
        local i json seq all=1
        lines=""
        for i in "$@"; do
            json=$(status_json "$i")
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

# The stream's leader and the JetStream meta leader, as server 1 sees
# them (its monitoring port): "nats-I" each, or empty.
stream_leader() {
    curl -s -m 2 "http://$net.1:8222/jsz?streams=true" | tr -d ' \n' |
        sed -n 's/.*"name":"NODOWN".*"cluster":{[^}]*"leader":"\(nats-[0-9]\)".*/\1/p'
}

meta_leader() {
    curl -s -m 2 "http://$net.1:8222/jsz" | tr -d ' \n' |
        sed -n 's/.*"meta_cluster":{[^}]*"leader":"\(nats-[0-9]\)".*/\1/p'
}

bootstrap() {
    local out
    out=$($E2E bootstrap --nodes "127.0.0.1:${node_listen[1]}" --house-secret "$HOUSE_SECRET" \
        --members 3 --member-secret "$MEMBER_SECRET" --logic 2) || return 1
    mapfile -t members < <(echo "$out" | awk '$1 == "member" { print $2 }')
    boot_seq=$(echo "$out" | awk '$1 == "stream_seq" { print $2 }')
    market=$(echo "$out" | awk '$1 == "market" { print $2 }')
    instrument=$(echo "$out" | awk '$1 == "instrument" { print $2 }')
    [ ${#members[@]} -eq 3 ] && [ -n "$boot_seq" ] && [ -n "$market" ] && [ -n "$instrument" ]
}

# load_start NAME NODE ACCOUNT CLIENT_ID COUNT [RATE]: a load client on one
# node, sending at most RATE commands a second if given.
load_start() {
    local name=$1
    load_log[$name]=$work/$name.log
    load_out[$name]=$work/$name.out
    : >"${load_log[$name]}"
    $E2E load --nodes "127.0.0.1:${node_listen[$2]}" --account "$3" --secret "$MEMBER_SECRET" \
        --client-id "$4" --count "$5" --log "${load_log[$name]}" --market "$market" \
        --seconds 90 ${6:+--rate "$6"} >"${load_out[$name]}" 2>"$work/$name.err" &
    load_pid[$name]=$!
}

lines_of() {
    wc -l <"$1" | tr -d ' '
}

acked() {
    lines_of "${load_log[$1]}"
}

# wait_acked NAME N: until load NAME has N commands acknowledged (30 s).
wait_acked() {
    local deadline=$((SECONDS + 30))
    while [ "$(acked "$1")" -lt "$2" ] && [ $SECONDS -lt $deadline ]; do
        alive "${load_pid[$1]}" || break
        sleep 0.05
    done
    [ "$(acked "$1")" -ge "$2" ]
}

# load_finish NAME COUNT MIN_CONNECTIONS.
load_finish() {
    local name=$1 rv=0
    wait "${load_pid[$name]}" || rv=$?
    unset "load_pid[$name]"
    local summary connections
    summary=$(cat "${load_out[$name]}")
    connections=$(echo "$summary" | sed -n 's/.*ms, \([0-9]*\) connections.*/\1/p')
    echo "     $summary"
    [ $rv -eq 0 ] && [ "$(acked "$name")" -eq "$2" ] && [ "${connections:-0}" -ge "$3" ] ||
        { tail -n 5 "$work/$name.err"; return 1; }
}

# check LOAD...: the exactly-once check over the whole stream, read from
# the three servers; sets check_digest and check_seq.
check() {
    local args=() name out
    for name in "$@"; do args+=(--log "${load_log[$name]}"); done
    out=$($E2E check --nats "nats://$net.1:4222,nats://$net.2:4222,nats://$net.3:4222" \
        --replicas 3 "${args[@]}")
    local rv=$?
    echo "$out" | sed 's/^/     /'
    check_digest=$(echo "$out" | awk '$1 == "digest" { print $2 }')
    check_seq=$(echo "$out" | awk '$1 == "digest" { print $4 }')
    return $rv
}

stop_all() {
    local name
    for name in "${!load_pid[@]}"; do stop_pid "${load_pid[$name]}"; done
    load_pid=()
    for name in "${!node_pid[@]}"; do stop_pid "${node_pid[$name]}"; done
    node_pid=()
    for name in "${!nats_pid[@]}"; do stop_pid "${nats_pid[$name]}"; done
    nats_pid=()
}

# Everything this script started: processes, then the network.
stop_all_and_net_down() {
    stop_all
    net_down
}

script_frame partition "$TIME_LIMIT_S" "${PARTITION_KEEP:-0}" stop_all_and_net_down

# ---- The scenario. ----

# refuse M: one order through node M alone, with nodown client; sets
# refusal_ms and refusal_text, and holds when it ended with exit 3 and
# the gateway's reason within REFUSAL_BOUND_MS.
refuse() {
    local m=$1 start rv
    start=$(now_ms)
    refusal_text=$(NODOWN_SECRET=$MEMBER_SECRET timeout 30 "$NODOWN" client \
        --nodes "127.0.0.1:${node_listen[$m]}" --account "${members[2]}" --client-id 71 \
        order --instrument "$instrument" --side buy --tif gtc --price 1000 --quantity 1 \
        2>&1 >/dev/null)
    rv=$?
    refusal_ms=$(($(now_ms) - start))
    echo "$refusal_text" | fold -w 96 | sed 's/^/     | /'
    [ $rv = 3 ] && [ $refusal_ms -le $REFUSAL_BOUND_MS ] &&
        grep -q "could not store commands in the journal" <<<"$refusal_text" &&
        grep -q "cut off from the others" <<<"$refusal_text" &&
        grep -q "may or may not have been applied" <<<"$refusal_text"
}

# majority_writes I: one order through node I alone, acknowledged.
majority_writes() {
    NODOWN_SECRET=$MEMBER_SECRET "$NODOWN" client --nodes "127.0.0.1:${node_listen[$1]}" \
        --account "${members[2]}" --client-id "8$1" --timeout-ms 5000 order \
        --instrument "$instrument" --side sell --tif gtc --price 1001 --quantity 1 >/dev/null
}

# A query through node M during the partition: answered from its state.
minority_reads() {
    NODOWN_SECRET=$MEMBER_SECRET "$NODOWN" client --nodes "127.0.0.1:${node_listen[$1]}" \
        --account "${members[2]}" --client-id 72 --timeout-ms 5000 query account >/dev/null
}

main() {
    if [ ! -x "$NODOWN" ] || [ ! -x "$E2E" ] || [ ! -x "$NATS_SERVER" ]; then
        fail "needs $NODOWN, $E2E (make all build/test/e2e_node) and $NATS_SERVER"
        return
    fi
    local probe=nd-probe-$tag why
    if ! why=$(ip netns add "$probe" 2>&1); then
        echo "SKIP partition: cannot create network namespaces here ($why): this test needs"
        echo "SKIP partition: root (CAP_NET_ADMIN); the partition of issue 4 was NOT tested"
        return
    fi
    ip netns del "$probe"
    expect "network: bridge, three namespaces with a veth each" net_up || return
    echo "     servers on $net.1-3, nodes on 127.0.0.1, bridge $net.254 (ndb$tag)"
    local i
    for i in 1 2 3; do
        expect "nats-$i starts in nd-p$i-$tag" nats_start "$i" || return
    done
    # A JetStream cluster of 2.10 servers started together sometimes never
    # places an R3 stream ("no suitable peers for placement", an open
    # fault of cluster formation, docs/cluster.md): the servers are
    # restarted once, in turn, and the node tried again, saying so.
    if node_start 1 house; then
        ok "node 1 starts on nats-1 (creates the R3 stream)"
    else
        echo "     node 1 did not start: the servers are restarted once"
        tail -n 3 "$work/node-1.err" | sed 's/^/     | /'
        stop_pid "${node_pid[1]}"
        for i in 1 2 3; do stop_pid "${nats_pid[$i]}"; done
        for i in 1 2 3; do nats_start "$i"; done
        expect "node 1 starts on nats-1 (creates the R3 stream), the servers restarted" \
            node_start 1 house || return
    fi
    expect "node 2 starts on nats-2" node_start 2 || return
    expect "node 3 starts on nats-3" node_start 3 || return
    expect "bootstrap through node 1, logic version 2" bootstrap || return
    expect "the three nodes have applied the bootstrap (stream $boot_seq)" \
        eval 'nodes_at "$boot_seq" 1 2 3 >/dev/null'
    local leader meta m
    leader=$(stream_leader)
    meta=$(meta_leader)
    # The minority: a follower's server, neither stream nor meta leader if
    # there is one (PARTITION_LEADER=1: the stream leader's).
    m=3
    if [ "${PARTITION_LEADER:-0}" = 1 ]; then
        m=${leader#nats-}
    else
        for i in 3 2 1; do
            if [ "nats-$i" != "$leader" ] && [ "nats-$i" != "$meta" ]; then m=$i; break; fi
        done
    fi
    local a b
    a=$(( m % 3 + 1 ))
    b=$(( (m + 1) % 3 + 1 ))
    echo "     stream leader ${leader:-?}, meta leader ${meta:-?}: isolating nats-$m"
    run_partition "$m" "$a" "$b"
}

run_partition() {
    local m=$1 a=$2 b=$3
    load_start c61 "$a" "${members[0]}" 61 "$COUNT"
    load_start c62 "$b" "${members[1]}" 62 "$COUNT"
    # Paced, so that it is still sending when the cut comes (unpaced, it
    # once finished its 6 000 commands before the partition was in place).
    load_start c63 "$m" "${members[2]}" 63 "$MINORITY_COUNT" $((MINORITY_COUNT / 6))
    expect "load on the three nodes (clients 61, 62 on nodes $a, $b; 63 on node $m)" \
        eval 'wait_acked c61 2000 && wait_acked c62 2000 && wait_acked c63 500'
    local start_a start_b start_m cut_ms
    start_a=$(acked c61)
    start_b=$(acked c62)
    expect "partition: nats-$m cut off from nats-$a and nats-$b (node $m still reaches it)" \
        partition "$m" || return
    cut_ms=$(now_ms)
    # Outcomes of batches stored just before the cut may still come: the
    # minority's count starts 3 s in.
    sleep 3
    start_m=$(acked c63)
    refuse "$m"
    local refused=$?
    expect "a write through node $m alone: exit 3 with the reason, in $refusal_ms ms" \
        test $refused = 0
    local first_refusal
    first_refusal=$(grep -m 1 "commands not stored" "$work/node-$m.err" | cut -c1-160)
    echo "     node $m's log: $first_refusal"
    expect "a query through node $m is still answered (read replica)" minority_reads "$m"
    while [ $(($(now_ms) - cut_ms)) -lt $((HOLD_S * 1000)) ]; do sleep 0.1; done
    local during_a during_b during_m held_ms
    during_a=$(($(acked c61) - start_a))
    during_b=$(($(acked c62) - start_b))
    during_m=$(($(acked c63) - start_m))
    held_ms=$(($(now_ms) - cut_ms))
    expect "the majority kept accepting: $during_a + $during_b commands acknowledged in\
 $held_ms ms of partition" test "$during_a" -ge 500 -a "$during_b" -ge 500
    expect "node $m acknowledged nothing ($during_m) from 3 s into the partition" \
        test "$during_m" = 0
    expect "still partitioned, one more write through node $a and one through node $b: ok" \
        eval 'majority_writes "$a" && majority_writes "$b"'
    held_ms=$(($(now_ms) - cut_ms))
    local majority_seq heal_ms
    majority_seq=$(applied_seq "$a")
    expect "heal after $held_ms ms: the blackhole routes removed" heal "$m"
    heal_ms=$(now_ms)
    local deadline=$((SECONDS + 30)) seq_m=0
    while [ "${seq_m:-0}" -lt "$majority_seq" ] && [ $SECONDS -lt $deadline ]; do
        sleep 0.05
        seq_m=$(applied_seq "$m")
    done
    expect "node $m caught up to the majority's sequence at healing ($majority_seq) in\
 $(($(now_ms) - heal_ms)) ms" test "${seq_m:-0}" -ge "$majority_seq"
    # The healing may cost the majority an election (the isolated server
    # comes back with a higher Raft term): a write now shows how long.
    local write_ms
    write_ms=$(now_ms)
    majority_writes "$a" 2>/dev/null || majority_writes "$a"
    expect "after the healing, a write through node $a: ok in $(($(now_ms) - write_ms)) ms" \
        test $? = 0
    expect "client 61 (node $a) finishes" load_finish c61 "$COUNT" 1
    expect "client 62 (node $b) finishes" load_finish c62 "$COUNT" 1
    expect "client 63 (node $m) finishes after the healing, having resent" \
        load_finish c63 "$MINORITY_COUNT" 2
    expect "every acknowledged command applied exactly once" check c61 c62 c63
    local states
    states=$(nodes_at "$check_seq" 1 2 3)
    expect "the three nodes and the checker: one state" same_state "$states"
    local out
    out=$("$NODOWN" verify --timeout 20 --node "${node_http[1]}:${node_dir[1]}/admin.token" \
        --node "${node_http[2]}:${node_dir[2]}/admin.token" \
        --node "${node_http[3]}:${node_dir[3]}/admin.token" 2>&1)
    local rv=$?
    expect "nodown verify: the three nodes agree" test $rv = 0
    [ $rv = 0 ] || echo "$out" | sed 's/^/     /'
}

main
stop_all_and_net_down
sleep 0.2
expect_none_left
expect "no namespace or link left behind" \
    eval '! ip netns list | grep -q -- "-$tag\b" && ! ip link show | grep -q "nd[bv]$tag"'
summary
[ "$failed" -eq 0 ]
