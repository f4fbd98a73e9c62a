#!/usr/bin/env bash
# make run: one node on its embedded default (a supervised local
# nats-server) and the market simulator driving it, until Ctrl-C; then
# both stop cleanly. The state stays in $NODOWN_DATA (default
# /tmp/nodown-run), so a second `make run` restarts from it.
set -euo pipefail
cd "$(dirname "$0")/.."

data=${NODOWN_DATA:-/tmp/nodown-run}
listen=${NODOWN_LISTEN:-127.0.0.1:7400}
http=${NODOWN_HTTP:-127.0.0.1:7480}
# The demo's house secret (at least 12 characters, as a node asks of every
# new secret); it is set on the first start of a data directory only.
export NODOWN_HOUSE_SECRET=${NODOWN_HOUSE_SECRET:-nodown-demo-house}

# Its own session: Ctrl-C stops the simulator first, then this script
# stops the node, so no command is cut off half way.
# Its stdout goes to $data.node.out: its "serving clients" line comes once it
# has caught up with the stream, while its port opens before (a simulator
# logging on to a node still replaying a kept state saw that state
# half-built, its sessions' last sequences behind, and stopped).
out=$data.node.out
: >"$out"
setsid build/nodown serve --data "$data" --listen "$listen" --http "$http" --archive >>"$out" &
node=$!
stop() {
    kill -TERM "$node" 2>/dev/null || true
    wait "$node" 2>/dev/null || true
}
trap stop EXIT
trap 'exit 0' INT TERM

# Ready when it says it serves (at most 60 s: a long kept stream to replay).
for _ in $(seq 600); do
    grep -q "serving clients" "$out" && break
    kill -0 "$node" 2>/dev/null || { echo "make run: the node did not start" >&2; exit 1; }
    sleep 0.1
done
cat "$out"
grep -q "serving clients" "$out" || { echo "make run: the node is not serving after 60 s" >&2; exit 1; }
echo
echo "log on as the house (its secret is the one of the data directory's first run):"
echo "  build/nodown client --nodes $listen --account 0 --secret '$NODOWN_HOUSE_SECRET'" \
    "query account"
echo "status:  curl -H \"Authorization: Bearer \$(cat $data/admin.token)\" http://$http/status"
echo "metrics: curl -H \"Authorization: Bearer \$(cat $data/admin.token)\" http://$http/metrics"
echo "history: build/nodown history --data $data statement 0   (nodown history --help)"
echo "Ctrl-C stops the simulator and the node."
echo
build/nodown simulate --nodes "$listen"
