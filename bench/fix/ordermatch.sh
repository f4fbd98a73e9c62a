#!/usr/bin/env bash
# QuickFIX's ordermatch example, the FIX benchmark's comparison, built from
# its source outside the repository (its code is QuickFIX's, not ours).
#
#   bench/fix/ordermatch.sh SRC_DIR
#       builds the example whose sources (Application.cpp, Market.cpp,
#       ordermatch.cpp, ...) are in SRC_DIR against Debian's libquickfix,
#       under /tmp, and prints the binary's path.
#   bench/fix/ordermatch.sh --config PORT SESSIONS STORE_DIR [BEGIN_STRING]
#       prints a configuration accepting BEGIN_STRING (default FIX.4.2) on
#       127.0.0.1:PORT from SenderCompIDs QF1..QFSESSIONS (qf_load's) to
#       ORDERMATCH. The example's application cracks FIX 4.2 orders only
#       (onMessage(FIX42::NewOrderSingle), at v1.15.1 and at master): a FIX
#       4.4 order is refused as an unsupported message type. So it is driven
#       as `qf_load --begin-string FIX.4.2 --no-auth --target-comp ORDERMATCH`;
#       the messages are the same tags, the same size within a few bytes.
#
# SRC_DIR comes from QuickFIX's repository at the tag matching Debian's
# library, e.g. `git --git-dir=MIRROR archive v1.15.1 examples/ordermatch |
# tar -x -C /tmp/om` then SRC_DIR=/tmp/om/examples/ordermatch.
# Run the binary with its stdin kept open and silent (it reads commands
# from stdin and spins at end of file), e.g. from a fifo held open.
set -euo pipefail

if [ "${1:-}" = --config ]; then
    port=$2 sessions=$3 store=$4 begin=${5:-FIX.4.2}
    printf '[DEFAULT]\nConnectionType=acceptor\nSocketAcceptPort=%s\n' "$port"
    printf 'SocketAcceptHost=127.0.0.1\nSocketReuseAddress=Y\nSocketNodelay=Y\n'
    printf 'FileStorePath=%s\nStartTime=00:00:00\nEndTime=00:00:00\n' "$store"
    printf 'UseDataDictionary=N\nResetOnLogon=Y\n'
    printf 'ScreenLogShowIncoming=N\nScreenLogShowOutgoing=N\nScreenLogShowEvents=N\n'
    for i in $(seq "$sessions"); do
        printf '\n[SESSION]\nBeginString=%s\nSenderCompID=ORDERMATCH\n' "$begin"
        printf 'TargetCompID=QF%s\nHeartBtInt=30\n' "$i"
    done
    exit 0
fi

src=${1:?usage: bench/fix/ordermatch.sh SRC_DIR | --config PORT SESSIONS STORE_DIR}
[ -f "$src/ordermatch.cpp" ] || { echo "ordermatch.sh: no ordermatch.cpp in $src" >&2; exit 1; }
out=/tmp/nodown-ordermatch
mkdir -p "$out"
: >"$out/config.h" # the example includes the autotools header of QuickFIX's own build
# The example's code declares dynamic exception specifications, which
# C++17 removed: built as C++11.
g++ -std=gnu++11 -O2 -w -I"$src" -I"$out" -o "$out/ordermatch" \
    "$src/Application.cpp" "$src/Market.cpp" "$src/ordermatch.cpp" -lquickfix -lpthread >&2
echo "$out/ordermatch"
