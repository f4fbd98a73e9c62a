#!/usr/bin/env bash
# The project's mechanical style rules (STYLE.md): no line over 100
# columns, no function over 70 lines, no malloc in src/core. Prints one
# closing line like a test binary, so run_tests.sh counts each rule.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
check() { # check NAME OUTPUT
    if [ -z "$2" ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "tidy: $1:"
        echo "$2" | head -n 20
    fi
}

files=$(git ls-files -co --exclude-standard 'src/*.c' 'src/*.h' 'test/*.c' 'test/*.h' \
    'bench/*.c' | sort -u)

long_lines=$(for f in $files; do
    awk -v f="$f" 'length($0) > 100 { print f ":" FNR ": " length($0) " columns" }' "$f"
done)
check "lines over 100 columns" "$long_lines"

# A function body runs from a "{" in column 0 to the next "}" in column 0.
long_functions=$(for f in $files; do
    awk -v f="$f" '/^\{/ { start = FNR } /^\}/ && start { if (FNR - start - 1 > 70)
        print f ":" start ": function of " FNR - start - 1 " lines"; start = 0 }' "$f"
done)
check "functions over 70 lines" "$long_functions"

core_malloc=$(grep -nE '\b(malloc|calloc|realloc|free)\(' src/core/*.c src/core/*.h || true)
check "malloc in src/core" "$core_malloc"

echo "tidy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
