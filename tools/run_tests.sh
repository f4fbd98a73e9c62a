#!/usr/bin/env bash
# Runs every test of `make test` and prints one closing line,
#     tests: N passed, N failed
# adding up the "N passed, N failed" line each test binary prints.
# Environment: FUZZ_COMMANDS (default 2000000) sizes the property runs;
# NODOWN_SOAK=1 runs them ten times longer.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
fuzz_commands=${FUZZ_COMMANDS:-2000000}
if [ "${NODOWN_SOAK:-0}" = 1 ]; then
    fuzz_commands=$((fuzz_commands * 10))
fi
seed=${FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}

# run NAME COMMAND...: runs one test binary, adds up its closing line.
run() {
    local name=$1
    shift
    local out
    out=$(mktemp)
    local start=$SECONDS
    "$@" >"$out" 2>&1
    local rc=$?
    local line
    line=$(grep -E '^[^ ]+: [0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
    if [ -z "$line" ]; then
        echo "FAIL $name: exit $rc, no closing line"
        tail -n 20 "$out"
        failed=$((failed + 1))
    else
        local p f
        p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
        f=$(echo "$line" | sed -E 's/.*passed, ([0-9]+) failed/\1/')
        passed=$((passed + p))
        failed=$((failed + f))
        if [ "$f" -ne 0 ] || [ "$rc" -ne 0 ]; then
            [ "$f" -eq 0 ] && failed=$((failed + 1))
            echo "FAIL $name ($((SECONDS - start)) s): $line"
            grep -v -E '^[^ ]+: [0-9]+ passed' "$out" | tail -n 30
        else
            echo "ok   $name ($((SECONDS - start)) s): $p passed"
        fi
    fi
    rm -f "$out"
}

for binary in build/test/test_*; do
    run "$(basename "$binary")" "$binary"
done
for binary in build/san/test/test_*; do
    run "asan+ubsan $(basename "$binary")" "$binary"
done

echo "property tests: seed $seed (replay with FUZZ_SEED=$seed make test)"
# The same log through three builds (gcc -O2, gcc with ASan+UBSan, clang
# -O2): each must pass, and all must end with the same state digest.
digests=$(mktemp)
for build in build/test build/san/test build/clang/test; do
    run "$build/fuzz_engine seed $seed" bash -c "set -o pipefail; $build/fuzz_engine \
        --seed $seed --commands $fuzz_commands | tee /dev/stderr | \
        sed -n 's/.*digest \([0-9a-f]*\)$/\1/p' >> $digests"
done
if [ "$(sort -u "$digests" | wc -l)" -eq 1 ] && [ "$(wc -l < "$digests")" -eq 3 ]; then
    echo "ok   one log, three builds, one digest: $(head -n 1 "$digests")"
    passed=$((passed + 1))
else
    echo "FAIL one log, three builds: digests differ:"
    cat "$digests"
    failed=$((failed + 1))
fi
rm -f "$digests"

# The frame decoder's fuzz run, both builds (NODOWN_SOAK=1: ten times longer).
frame_cases=200000
[ "${NODOWN_SOAK:-0}" = 1 ] && frame_cases=2000000
run "fuzz_frame seed $seed" build/test/fuzz_frame --seed "$seed" --cases "$frame_cases"
run "asan+ubsan fuzz_frame seed $seed" build/san/test/fuzz_frame --seed "$seed" \
    --cases "$frame_cases"

# The FIX codec's fuzz run, both builds, as long as the frame decoder's.
run "fuzz_fix seed $seed" build/test/fuzz_fix --seed "$seed" --cases "$frame_cases"
run "asan+ubsan fuzz_fix seed $seed" build/san/test/fuzz_fix --seed "$seed" \
    --cases "$frame_cases"

# The replica layer's simulation: stream delivery with repeats and gaps,
# snapshots, torn files and crashes, thousands of seeds from the run's seed
# (NODOWN_SOAK=1: ten times as many).
sim_seeds=3000
sim_san_seeds=200
if [ "${NODOWN_SOAK:-0}" = 1 ]; then
    sim_seeds=$((sim_seeds * 10))
    sim_san_seeds=$((sim_san_seeds * 10))
fi
run "fuzz_replica seeds $seed.." build/test/fuzz_replica --seed "$seed" --seeds "$sim_seeds"
run "asan+ubsan fuzz_replica seeds $seed.." build/san/test/fuzz_replica --seed "$seed" \
    --seeds "$sim_san_seeds"

for script in test/cli/*.sh; do
    [ -e "$script" ] || continue
    run "$(basename "$script")" bash "$script"
done

run tidy tools/tidy.sh

echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
