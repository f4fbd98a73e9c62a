#!/usr/bin/env bash
# Installs the Debian packages that building and testing nodown need, when
# any is missing. Called first by `make run` and `make test`, so both work
# alone on a fresh Debian 12 machine. Needs root (or sudo) only when
# something is missing.
set -euo pipefail

packages=(build-essential clang libclang-rt-14-dev libxxhash-dev nats-server libnats-dev
          libmicrohttpd-dev libssl-dev curl postgresql-15)

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
