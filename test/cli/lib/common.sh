# Shell helpers shared by the end-to-end scripts of test/cli/ (sourced, not
# run: tools/run_tests.sh runs test/cli/*.sh only). They use the caller's
# passed/failed counters, node_dir/node_http arrays, check_seq and
# check_digest.

ok() {
    echo "ok   $1"
    passed=$((passed + 1))
}

fail() {
    echo "FAIL $1"
    failed=$((failed + 1))
}

# expect NAME COMMAND...: a check that passes when COMMAND succeeds.
expect() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else fail "$name"; fi
}

# alive PID: running (an exited child not reaped yet, a zombie, is not).
alive() {
    local state
    state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# stop_pid PID: SIGTERM, up to 15 s, then SIGKILL; reaps it. Only for
# children of this script not reaped yet (so the pid is still theirs).
stop_pid() {
    local pid=$1 deadline=$((SECONDS + 15))
    kill -TERM "$pid" 2>/dev/null
    while alive "$pid" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

status_json() {
    curl -s -m 2 -H "Authorization: Bearer $(cat "${node_dir[$1]}/admin.token")" \
        "http://127.0.0.1:${node_http[$1]}/status"
}

# field JSON NAME: the value of a flat field of /status.
field() {
    echo "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p"
}

# same_state "SEQ DIGEST" lines...: all equal to the checker's replay.
same_state() {
    local line
    while read -r line; do
        echo "     node: $line; replay: $check_seq $check_digest"
        [ "$line" = "$check_seq $check_digest" ] || return 1
    done <<<"$1"
    [ -n "$check_digest" ]
}
