# Shell helpers shared by the end-to-end scripts of test/cli/ (sourced, not
# run: tools/run_tests.sh runs test/cli/*.sh only). They use the caller's
# passed/failed counters, its directory $work, node_dir/node_http arrays,
# check_seq and check_digest.

ok() {
    echo "ok   $1"
    passed=$((passed + 1))
}

fail() {
    echo "FAIL $1"
    failed=$((failed + 1))
}

# expect NAME COMMAND...: a check that passes when COMMAND succeeds; its
# status is COMMAND's, so that "expect ... || return" ends a scenario at
# its first failure instead of running on into timeouts.
expect() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else fail "$name"; return 1; fi
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

# The nats-server running on DIR/nats/nats.conf (the layout of the embedded
# default's, docs/journal.md), if it runs: the pid in DIR/nats/nats.pid,
# only while its command line names that config (a process that has
# exited, even unreaped, has none).
nats_pid_of() {
    local dir=$1 pid
    pid=$(cat "$dir/nats/nats.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline" |
        grep -qF -- "$dir/nats/nats.conf" && echo "$pid"
}

# stop_embedded N: node N, then the nats-server it supervises under its
# data directory (the embedded default's), if either runs.
stop_embedded() {
    [ -n "${node_pid[$1]:-}" ] && stop_pid "${node_pid[$1]}"
    node_pid[$1]=""
    local pid
    pid=$(nats_pid_of "${node_dir[$1]}") && kill -TERM "$pid" 2>/dev/null
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

# script_frame NAME TIME_LIMIT_S KEEP STOP: the frame each script runs in.
# STOP is the script's function that stops everything it started (it may
# run twice). On exit, STOP runs and $work is removed, unless KEEP is 1. A
# watchdog sends the script SIGTERM after TIME_LIMIT_S seconds, so that a
# hang still ends the run; that, like Ctrl-C, counts as a failure, and the
# closing line is printed before the script exits.
script_frame() {
    script_name=$1
    script_keep=$3
    script_stop=$4
    trap script_cleanup EXIT
    trap "fail 'interrupted, or over the time limit of $2 s'; summary; exit 1" TERM INT
    (
        trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
        sleep "$2" &
        sleeper=$!
        wait "$sleeper" && kill -TERM $$
    ) 2>/dev/null &
    watchdog=$!
}

script_cleanup() {
    "$script_stop"
    kill -TERM "$watchdog" 2>/dev/null # stopped, it stops its sleep too
    wait "$watchdog" 2>/dev/null
    if [ "$script_keep" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}

# summary: the closing line, which tools/run_tests.sh adds up.
summary() {
    echo "     $script_name took $SECONDS s"
    echo "$script_name: $passed passed, $failed failed"
}

# wait_line FILE TEXT PID SECONDS: waits until FILE has a line with TEXT,
# giving up when PID has exited or after SECONDS; true when it has.
wait_line() {
    local deadline=$((SECONDS + $4))
    while ! grep -qF -- "$2" "$1" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
        alive "$3" || break
        sleep 0.05
    done
    grep -qF -- "$2" "$1" 2>/dev/null
}

# expect_none_left: the check that nothing of the run outlives it: no
# process whose command line names $work (each one a script starts does).
expect_none_left() {
    local cmdline text left=""
    for cmdline in /proc/[0-9]*/cmdline; do
        text=$(tr '\0' ' ' 2>/dev/null <"$cmdline") || continue
        [[ $text == *"$work"* ]] && left+="${cmdline%/cmdline}: $text"$'\n'
    done
    expect "no process left behind" test -z "$left"
    if [ -n "$left" ]; then echo "$left"; fi
}
