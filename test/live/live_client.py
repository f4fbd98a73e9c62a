#!/usr/bin/python3
"""A client of nodown's live feed (docs/live.md) for test/cli/live.sh, on
Debian's python3-websockets: a real WebSocket client.

collect: subscribes, applies every message to its own books and odds, and
  stops once a "synced" message reaches the sequence written in UNTIL_FILE
  (or after --stop-after seconds); writes what it rebuilt as JSON to OUT.
slow: subscribes over a socket with a tiny receive buffer and never reads;
  after --wait seconds reads what came and prints the close code and reason.
"""
import argparse
import asyncio
import json
import os
import socket
import struct
import sys
import time

import websockets


def apply(state, message):
    kind = message["type"]
    seq = message.get("seq", 0)
    if kind in ("book", "odds", "trade", "synced"):
        if seq < state["last_seq"]:
            state["monotonic"] = False
        state["last_seq"] = max(state["last_seq"], seq)
    if kind == "subscribed":
        state["resume"] = message["resume"]
        state["reason"] = message["reason"]
    elif kind == "book":
        state["books"][str(message["instrument"])] = {"bids": message["bids"],
                                                      "asks": message["asks"]}
        state["book_messages"] += 1
    elif kind == "odds":
        market = str(message["market"])
        state["odds"][market] = {"status": message["status"], "odds": message["odds"],
                                 "results": message.get("results")}
        statuses = state["statuses"].setdefault(market, [])
        if not statuses or statuses[-1] != message["status"]:
            statuses.append(message["status"])
    elif kind == "trade":
        state["trades"] += 1
    elif kind == "synced":
        state["synced"] = seq
    elif kind == "error":
        state["errors"].append(message["message"])


async def collect(args):
    state = {"resume": None, "reason": None, "books": {}, "odds": {}, "statuses": {},
             "trades": 0, "book_messages": 0, "synced": 0, "last_seq": 0, "monotonic": True,
             "errors": []}
    if args.start_from:
        with open(args.start_from) as f:
            before = json.load(f)
        state["books"], state["odds"] = before["books"], before["odds"]
    request = {"op": "subscribe", "instruments": args.instruments, "markets": args.markets,
               "depth": args.depth, "odds_format": args.format}
    if args.since is not None:
        request["since"] = args.since
    started = time.time()
    async with websockets.connect(args.url, max_size=1 << 20) as ws:
        await ws.send(json.dumps(request))
        while time.time() - started < args.timeout:
            if args.stop_after and time.time() - started >= args.stop_after:
                break
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
                apply(state, message)
            except asyncio.TimeoutError:
                pass
            until = None
            if args.until_file and os.path.exists(args.until_file):
                text = open(args.until_file).read().strip()
                until = int(text) if text else None
            if until is not None and state["synced"] >= until:
                break
    state["seconds"] = round(time.time() - started, 3)
    with open(args.out, "w") as f:
        json.dump(state, f)


def slow(args):
    host, port = args.url[len("ws://"):].rstrip("/").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.connect((host, int(port)))
    sock.sendall(("GET / HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                  "\r\n" % (host, port)).encode())
    payload = json.dumps({"op": "subscribe", "instruments": args.instruments,
                          "markets": args.markets, "depth": 10}).encode()
    mask = b"\x01\x02\x03\x04"
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(bytes([0x81, 0x80 | 126]) + struct.pack(">H", len(payload)) + mask + masked)
    time.sleep(args.wait)
    sock.settimeout(5)
    data = b""
    try:
        while True:
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        print("no close: the connection is still open")
        return 1
    at = data.find(b"\r\n\r\n") + 4
    while at + 2 <= len(data):
        opcode, length = data[at] & 0x0F, data[at + 1] & 0x7F
        at += 2
        if length == 126:
            length = struct.unpack(">H", data[at:at + 2])[0]
            at += 2
        elif length == 127:
            length = struct.unpack(">Q", data[at:at + 8])[0]
            at += 8
        if opcode == 8:
            code = struct.unpack(">H", data[at:at + 2])[0]
            print("closed %d: %s" % (code, data[at + 2:at + length].decode()))
            return 0
        at += length
    print("closed without a close frame (%d bytes read)" % len(data))
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["collect", "slow"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--instruments", type=int, nargs="*", default=[])
    parser.add_argument("--markets", type=int, nargs="*", default=[])
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--format", default="decimal")
    parser.add_argument("--since", type=int)
    parser.add_argument("--start-from")
    parser.add_argument("--until-file")
    parser.add_argument("--stop-after", type=float, default=0)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--wait", type=float, default=12)
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.mode == "slow":
        sys.exit(slow(args))
    asyncio.run(collect(args))


if __name__ == "__main__":
    main()
