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
setsid build/nodown serve --data "$data" --listen "$listen" --http "$http" &
node=$!
stop() {
    kill -TERM "$node" 2>/dev/null || true
    wait "$node" 2>/dev/null || true
}
trap stop EXIT
trap 'exit 0' INT TERM

# Ready when the client port accepts a connection (at most 20 s).
for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/${listen%:*}/${listen##*:}") 2>/dev/null; then
        break
    fi
    kill -0 "$node" 2>/dev/null || { echo "make run: the node did not start" >&2; exit 1; }
    sleep 0.1
done
echo
echo "log on as the house (its secret is the one of the data directory's first run):"
echo "  build/nodown client --nodes $listen --account 0 --secret '$NODOWN_HOUSE_SECRET'" \
    "query account"
echo "status:  curl -H \"Authorization: Bearer \$(cat $data/admin.token)\" http://$http/status"
echo "metrics: curl -H \"Authorization: Bearer \$(cat $data/admin.token)\" http://$http/metrics"
echo "Ctrl-C stops the simulator and the node."
echo
build/nodown simulate --nodes "$listen"
