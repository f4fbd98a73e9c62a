#!/usr/bin/env bash
# The drill's short form (`nodown drill --short --json`, docs/upgrades.md
# "The drill"): a local cluster of 3 NATS servers on nats-server 2.9.10, 3
# nodes and a DR node on release 0.1.0 (or the fallbacks the drill names
# when either cannot be had), 4 members of 2 masters' agents under load
# while the masters and agents change PT and credit; the servers upgraded,
# the nodes upgraded, the history rehearsed, ACTIVATE_LOGIC 3, commissions
# set, the market settled. Checked from its JSON: nothing acknowledged lost
# or duplicated (e2e_node check), every node's digest equal (nodown
# verify), every step present and done, nothing left running. The longest
# acknowledgement gap of each step is printed, not bounded: this 2-core
# machine is too noisy for a tight bound (docs/upgrades.md has the figures).
#
# DRILL_SEED picks the load's choices (default: the clock; printed).
# DRILL_TIME_LIMIT_S (default 720) bounds the run. Prints
# "drill.sh: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

NODOWN=${NODOWN_BIN:-$PWD/build/nodown}
TIME_LIMIT_S=${DRILL_TIME_LIMIT_S:-720}
SEED=${DRILL_SEED:-$(date +%s)}
passed=0
failed=0
work=$(mktemp -d /tmp/nodown-drill-test-XXXXXX)
drill_pid=""

# shellcheck source=test/cli/lib/common.sh
source test/cli/lib/common.sh

stop_all() {
    # The drill stops its cluster itself; after a time-out or an interrupt
    # it may not have got there.
    [ -n "$drill_pid" ] && stop_pid "$drill_pid"
    drill_pid=""
    [ -f "$work/drill/cluster/cluster.txt" ] &&
        "$NODOWN" cluster down --dir "$work/drill/cluster" >/dev/null 2>&1
    return 0
}

script_frame drill.sh "$TIME_LIMIT_S" "${DRILL_KEEP:-0}" stop_all

# json EXPRESSION: prints a Python expression over the report (d).
json() {
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$work/drill.json" "$1"
}

# holds EXPRESSION: true when the expression over the report is.
holds() {
    [ "$(json "($1)")" = True ]
}

echo "     seed $SEED"
"$NODOWN" drill --short --json --seed "$SEED" --dir "$work/drill" >"$work/drill.json" \
    2>"$work/drill.err" &
drill_pid=$!
wait "$drill_pid"
rv=$?
drill_pid=""
grep -E "^(nodown drill|drill):" "$work/drill.err" | sed 's/^/     /'
if ! expect "the drill's report is one JSON object" holds '"steps" in d'; then
    tail -n 20 "$work/drill.err"
    summary
    exit 1
fi
echo "     from $(json 'd["from"]') to $(json 'd["to"]'); fallbacks: $(json 'd["fallback"]')"
expect "nodown drill exits 0 ($rv), its report says ok" \
    eval '[ "$rv" = 0 ] && holds "d[\"ok\"]"'
expect "orders and bets acknowledged: $(json 'd["load"]["orders"]["accepted"]') orders, \
$(json 'd["load"]["bets"]["accepted"]') bets" \
    holds 'd["load"]["orders"]["accepted"] > 0 and d["load"]["bets"]["accepted"] > 0'
expect "e2e_node check: $(json 'd["check"]["acknowledged"]') acknowledged, \
$(json 'd["check"]["lost"]') lost, $(json 'd["check"]["duplicated"]') duplicated" \
    holds 'd["check"]["ran"] and d["check"]["exit"] == 0 and d["check"]["lost"] == 0 and
d["check"]["duplicated"] == 0 and d["check"]["errors"] == 0'
expect "nodown verify: digests equal on $(json 'd["verify"]["agree"]') of \
$(json 'd["verify"]["nodes"]') nodes, and the checker's" \
    holds 'd["verify"]["digests_equal"] and d["verify"]["agree"] == d["verify"]["nodes"] == 4
and d["verify"]["same_as_check"]'
expect "every step done: steady, 4 servers, 4 nodes, rehearsal, activation, commission" \
    holds '[s["step"] for s in d["steps"] if s["ok"]].count("nats") >= 4 and
[s["step"] for s in d["steps"] if s["ok"]].count("node") == 4 and
all(s["ok"] for s in d["steps"] if s["step"] != "nats") and
{"steady", "rehearsal", "activation", "commission", "load"} <= {s["step"] for s in d["steps"]}'
expect "ACTIVATE_LOGIC 3 applied, commissions set, the market settled" \
    holds 'd["activation"]["result"] == "RESULT_OK" and d["commission"]["set"] > 0 and
d["commission"]["rejected"] == 0 and d["settle"]["result"] == "RESULT_OK"'
expect "the rehearsal: old and new agree at the same logic" \
    holds 'd["rehearsal"]["same_logic"]["equal"]'
expect "nothing of the cluster outlived its cluster down" holds 'd["left_behind"] == 0'
# The figures, printed: the longest gap any member saw in each step.
json '"\n".join("     %-10s %-20s %6d ms, longest ack gap %5d ms%s" % (s["step"], s["name"],
s["ms"], s["ack_gap_ms"], " (" + s["method"] + ")" if "method" in s else "")
for s in d["steps"])'
echo "     upgrade $(json 'd["upgrade_ms"]') ms; runs of the NATS upgrade:" \
    "$(json 'd["nats_attempts"]'); the migration in the rehearsal" \
    "$(json '((d["rehearsal"] or {}).get("replays", {}).get("activated", {})
              .get("activation", {}).get("migration_us"))') us"
stop_all
expect_none_left
summary
[ "$failed" -eq 0 ]
