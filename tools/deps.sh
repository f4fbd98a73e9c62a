#!/usr/bin/env bash
# Installs the Debian packages that building and testing nodown need, when
# any is missing. Called first by `make run` and `make test`, so both work
# alone on a fresh Debian 12 machine. Needs root (or sudo) only when
# something is missing.
#
# nats-server comes from Debian 13's archive, version 2.10.27, pinned: 2.10
# is the first with `sync_interval: always` (an acknowledgement means the
# batch is on disk) and with replicated duplicates numbered alike on every
# server (docs/journal.md). Its binary needs only libc6 >= 2.34 and adduser,
# both in Debian 12. An apt pin lets that one package, and nothing else,
# come from Debian 13: every other package stays Debian 12's.
set -euo pipefail

NATS_VERSION=2.10.27-1+b2
packages=(build-essential clang libclang-rt-14-dev libxxhash-dev libnats-dev
          libmicrohttpd-dev libssl-dev curl postgresql-15 strace libsqlite3-dev sqlite3
          libzstd-dev libpq-dev libwebsockets-dev libquickfix-dev g++ xxd chromium python3-websockets)

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
nats_installed=$(dpkg-query -W -f='${Version}' nats-server 2>/dev/null || true)
[ ${#missing[@]} -eq 0 ] && [ "$nats_installed" = "$NATS_VERSION" ] && exit 0

# Debian 13 ("trixie") as a source that apt never prefers (priority 1), but
# for nats-server, which is taken from it.
sources=/etc/apt/sources.list.d/nodown-trixie.sources
pin=/etc/apt/preferences.d/nodown-nats-server
updated=0
if [ "$nats_installed" != "$NATS_VERSION" ] && [ ! -f "$sources" ]; then
    echo "deps: adding Debian 13's archive for nats-server $NATS_VERSION only ($pin)" >&2
    $sudo tee "$sources" >/dev/null <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    $sudo tee "$pin" >/dev/null <<'PIN'
# nodown: only nats-server comes from Debian 13 (tools/deps.sh).
Package: *
Pin: release n=trixie
Pin-Priority: 1

Package: nats-server
Pin: release n=trixie
Pin-Priority: 990
PIN
fi

if [ ${#missing[@]} -ne 0 ]; then
    echo "deps: installing ${missing[*]}" >&2
    $sudo apt-get update -qq
    updated=1
    $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "$nats_installed" != "$NATS_VERSION" ]; then
    echo "deps: installing nats-server $NATS_VERSION from Debian 13 (was: ${nats_installed:-none})" >&2
    [ "$updated" = 1 ] || $sudo apt-get update -qq
    if ! $sudo apt-get install -y -qq --allow-downgrades "nats-server=$NATS_VERSION" >/dev/null; then
        echo "deps: could not install nats-server $NATS_VERSION from Debian 13's archive" >&2
        echo "deps: (see $sources and $pin); nodown needs nats-server 2.10 or newer" >&2
        exit 1
    fi
fi
