#!/usr/bin/env bash
# tools/nats_release.sh VERSION: a nats-server binary of another release
# than the one installed, for the upgrade tests and the drill, which start
# a cluster on an old server and replace it (docs/upgrades.md, "NATS
# servers"). The binary is taken from Debian's package of that version,
# never installed:
#
#   build/nats-VERSION/nats-server   the binary (this path on stdout)
#
# 2.9.10 is Debian 12's (bookworm); the one installed as
# /usr/sbin/nats-server is Debian 13's 2.10.27 (tools/deps.sh). apt-get
# download fetches the .deb from the archives apt knows (apt-get update
# first when it does not know the version), and dpkg-deb -x unpacks it in
# build/nats-VERSION/pkg. A binary already there is reused.
#
# Exit: 0 the binary is there (and runs); 2 bad usage; 3 the package
# cannot be had (no archive with that version, no network): one line on
# stderr says so, and the caller skips what needs it, saying so.
set -euo pipefail
cd "$(dirname "$0")/.."

version=${1:-}
if ! [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    echo "usage: tools/nats_release.sh VERSION (a nats-server release Debian packages: 2.9.10)" >&2
    exit 2
fi
out=build/nats-$version
binary=$out/nats-server
# The binary says its version: "nats-server: v2.9.10".
runs() {
    "$1" --version 2>/dev/null | grep -qF "v$version"
}
if [ -x "$binary" ] && runs "$binary"; then
    echo "$PWD/$binary"
    exit 0
fi

skip() {
    echo "nats_release: cannot get nats-server $version from Debian's archives: $1" >&2
    exit 3
}
mkdir -p "$out"
rm -rf "$out/pkg" "$out"/*.deb
# apt-get download writes into the current directory.
download() {
    (cd "$out" && apt-get download -q "nats-server=$version*" >download.log 2>&1)
}
if ! download; then
    apt-get update -q >"$out/update.log" 2>&1 || skip "apt-get update failed (see $out/update.log)"
    download || skip "apt-get download nats-server=$version* failed (see $out/download.log)"
fi
deb=$(find "$out" -maxdepth 1 -name "nats-server_${version}*.deb" | head -n 1)
[ -n "$deb" ] || skip "no nats-server_${version}*.deb was downloaded"
dpkg-deb -x "$deb" "$out/pkg" || skip "dpkg-deb -x $deb failed"
[ -x "$out/pkg/usr/sbin/nats-server" ] || skip "$deb holds no usr/sbin/nats-server"
cp "$out/pkg/usr/sbin/nats-server" "$binary.new"
mv "$binary.new" "$binary"
runs "$binary" || skip "$binary does not run or is not version $version"
echo "$PWD/$binary"
