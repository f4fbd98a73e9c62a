#!/usr/bin/env bash
# tools/release_fixtures.sh: makes test/fixtures/release-0.1.0/, the real
# stream and snapshots of the first release that test_versions.c decodes
# with the working tree's build (docs/upgrades.md, "Formats").
#
# It builds release 0.1.0 (tools/release_build.sh), runs it as a node on
# the embedded default, and sends it test/cli/lib/release.sh's business
# through its own client: part A at logic version 1 with a snapshot after
# every message (one is skipped while the last is still being written),
# then part B (ACTIVATE_LOGIC 2 and on) without, then one deposit with
# snapshots again. It keeps the newest snapshot after A and at the end,
# the whole stream (e2e_node dump) and the node's own digests:
#
#   snapshot-<seq>.ndsf  the node's snapshot files, as it wrote them
#   stream.bin           every stream message (format: e2e_node dump)
#   digests.txt          "SEQ DIGEST" from the node's /status, per part
#
# Needs `make build/test/e2e_node`. Run it again only to replace them.
set -euo pipefail
cd "$(dirname "$0")/.."

old=$(tools/release_build.sh 0.1.0)
out=test/fixtures/release-0.1.0
work=$(mktemp -d /tmp/nodown-release-fixtures-XXXXXX)
house_secret="release fixtures house secret"
data=$work/data
release_pid=
trap '[ -n "$release_pid" ] && kill -TERM "$release_pid" 2>/dev/null; sleep 1; rm -rf "$work"' \
    EXIT
# shellcheck source=test/cli/lib/release.sh
source test/cli/lib/release.sh

stop() {
    kill -TERM "$release_pid"
    wait "$release_pid" || true
    release_pid=
}
fail() {
    echo "release_fixtures: $1" >&2
    tail -n 5 "$work/client.out" "$work"/*.err >&2
    exit 1
}

mkdir -p "$out"
rm -f "$out"/snapshot-*.ndsf "$out/stream.bin" "$out/digests.txt"
release_serve old "$old" "$data" --snapshot-mb 0.00001 || fail "the node did not start"
release_business_a "$old" || fail "part A was refused"
a=$(release_settled "$data") || fail "part A did not settle"
sleep 1 # the snapshot of the last message is written by a child
stop
newest() { find "$data/snapshots" -name 'snapshot-*.ndsf' | sort | tail -n 1; }
cp "$(newest)" "$out/"
release_serve old "$old" "$data" || fail "the node did not restart"
release_business_b "$old" || fail "part B was refused"
stop
release_serve old "$old" "$data" --snapshot-mb 0.00001 || fail "the node did not restart"
release_client "$old" 0 "$house_secret" deposit --account 6 --amount 25 || fail "the deposit"
end=$(release_settled "$data") || fail "the end did not settle"
sleep 1
nats=$(grep -o 'nats://[0-9.:]*' "$work/old.out" | tail -n 1)
build/test/e2e_node dump --nats "$nats" --out "$out/stream.bin" || fail "the dump"
stop
cp "$(newest)" "$out/"
printf '%s\n%s\n' "$a" "$end" >"$out/digests.txt"
ls -l "$out"
cat "$out/digests.txt"
