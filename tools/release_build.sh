#!/usr/bin/env bash
# tools/release_build.sh REL: builds release REL's nodown from the
# project's own history, for the tests that run an old binary against the
# working tree's (test/cli/release_compat.sh, the upgrade tests).
#
#   build/release-REL/src     a detached `git worktree` of REL's commit
#   build/release-REL/nodown  its binary (prints this path on stdout)
#
# The releases and their commits are listed in docs/upgrades.md; this
# script knows the ones it can build. A binary already built is reused.
#
# Exit: 0 built (or reused); 2 bad usage or an unknown release; 3 this
# clone does not hold the release's commit (a shallow CI clone): one line
# on stderr says so, and the caller runs the current build capped to the
# release's logic versions instead (`nodown serve --logic-max`); 1 the
# build failed (its output is in build/release-REL/make.log).
set -euo pipefail
cd "$(dirname "$0")/.."

release=${1:-}
case "$release" in
0.1.0) commit=ca00b8f44a8342df36bd61606653dffdf12184bc ;;
*)
    echo "usage: tools/release_build.sh REL (a release of docs/upgrades.md: 0.1.0)" >&2
    exit 2
    ;;
esac

out=build/release-$release
binary=$out/nodown
if [ -x "$binary" ]; then
    echo "$PWD/$binary"
    exit 0
fi
if ! git cat-file -e "$commit^{commit}" 2>/dev/null; then
    echo "release_build: this clone has no commit $commit (release $release; shallow?):" \
        "using the current build capped to its logic versions instead" >&2
    exit 3
fi

mkdir -p "$out"
# A worktree whose directory `make clean` removed is pruned first.
git worktree prune
if [ ! -e "$out/src/.git" ]; then
    rm -rf "$out/src"
    git worktree add --detach "$out/src" "$commit" >/dev/null 2>&1 || {
        echo "release_build: git worktree add $out/src $commit failed" >&2
        exit 1
    }
fi
# The release's own Makefile; its binary is build/nodown under its tree.
# Its dependencies are today's (tools/deps.sh): it builds with them as is.
if ! make -C "$out/src" build/nodown >"$out/make.log" 2>&1; then
    echo "release_build: building release $release failed; see $out/make.log" >&2
    tail -n 5 "$out/make.log" >&2
    exit 1
fi
cp "$out/src/build/nodown" "$binary.new"
mv "$binary.new" "$binary"
echo "$PWD/$binary"
