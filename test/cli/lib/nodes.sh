# shellcheck shell=bash
# Nodes and load clients of the scripts that start embedded nodes and
# drive them with build/test/e2e_node (faults.sh, history.sh), which
# source it after lib/common.sh. They set NODOWN, E2E, HOUSE_SECRET,
# MEMBER_SECRET, COUNT, work, and declare the arrays node_pid node_dir
# node_listen node_http node_nats node_out load_pid load_log load_out.

# node_start NAME DIR NODE_ID [house] [serve options...]: starts a node
# (the same ports as NAME's last start, else free ones) and waits for its
# ready line. "house" sets $NODOWN_HOUSE_SECRET (a first start only).
node_start() {
    local name=$1 dir=$2 id=$3
    shift 3
    local house=()
    if [ "${1:-}" = house ]; then house=("NODOWN_HOUSE_SECRET=$HOUSE_SECRET"); shift; fi
    node_dir[$name]=$dir
    node_listen[$name]=${node_listen[$name]:-$($E2E free-port)}
    node_http[$name]=${node_http[$name]:-$($E2E free-port)}
    local out=$work/$name.out.$SECONDS.$RANDOM
    node_out[$name]=$out
    : >"$out"
    env -u NODOWN_HOUSE_SECRET -u NODOWN_ADMIN_TOKEN "${house[@]}" "$NODOWN" serve \
        --data "$dir" --listen "127.0.0.1:${node_listen[$name]}" \
        --http "127.0.0.1:${node_http[$name]}" --node-id "$id" "$@" \
        >"$out" 2>>"$work/$name.err" &
    node_pid[$name]=$!
    wait_line "$out" "serving clients" "${node_pid[$name]}" 20
    node_nats[$name]=$(sed -n 's/.*, NATS \(nats:[^ ,]*\).*/\1/p' "$out")
    if [ -z "${node_nats[$name]}" ]; then
        echo "node $name did not start:"
        tail -n 5 "$work/$name.err"
        return 1
    fi
}

node_kill9() {
    kill -KILL "${node_pid[$1]}" 2>/dev/null
    wait "${node_pid[$1]}" 2>/dev/null
    unset "node_pid[$1]"
}

node_stop() {
    stop_pid "${node_pid[$1]}"
    unset "node_pid[$1]"
}

# bootstrap NODE [LOGIC]: the house's set-up through NODE, at logic version
# LOGIC (default 1); sets members=(ids), market (its id) and boot_seq, the
# stream message of its last command.
bootstrap() {
    local out
    out=$($E2E bootstrap --nodes "127.0.0.1:${node_listen[$1]}" --house-secret "$HOUSE_SECRET" \
        --members 2 --member-secret "$MEMBER_SECRET" --logic "${2:-1}") || return 1
    mapfile -t members < <(echo "$out" | awk '$1 == "member" { print $2 }')
    boot_seq=$(echo "$out" | awk '$1 == "stream_seq" { print $2 }')
    market=$(echo "$out" | awk '$1 == "market" { print $2 }')
    [ ${#members[@]} -eq 2 ] && [ -n "$boot_seq" ] && [ -n "$market" ]
}

# load_start NAME NODES ACCOUNT CLIENT_ID: a load client in the background.
load_start() {
    local name=$1
    load_log[$name]=$work/$name.log
    load_out[$name]=$work/$name.out
    : >"${load_log[$name]}"
    $E2E load --nodes "$2" --account "$3" --secret "$MEMBER_SECRET" --client-id "$4" \
        --count "$COUNT" --log "${load_log[$name]}" --market "$market" --seconds 90 \
        >"${load_out[$name]}" 2>"$work/$name.err" &
    load_pid[$name]=$!
}

lines_of() {
    wc -l < "$1" | tr -d ' '
}

# wait_lines NAME N: until load NAME has N commands acknowledged (20 s).
wait_lines() {
    local deadline=$((SECONDS + 20))
    while [ "$(lines_of "${load_log[$1]}")" -lt "$2" ] && [ $SECONDS -lt $deadline ]; do
        alive "${load_pid[$1]}" || break
        sleep 0.02
    done
    [ "$(lines_of "${load_log[$1]}")" -ge "$2" ]
}
