"""A raw FIX 4.4 client for test/cli/fix_acceptor.sh: sends what the
script says, byte for byte when asked to send it broken, and prints what
the acceptor answers, one message a line with | for SOH.

    fix_raw.py PORT SCRIPT_FILE

Each line of SCRIPT_FILE is one step:
    send SEQ TYPE TAG=VALUE...   a well-formed message (49, 56, 34, 52 added)
    raw TEXT                     bytes as they are (| is SOH, ~ is the
                                 checksum of what comes before it)
    wait SECONDS                 reads for that long and prints each message
The sender is taken from the first send's 49=... field, NODOWN is the
target. Exits 0; the script checks what was printed.
"""
import socket
import sys
import time

SOH = "\x01"


def checksum(text):
    return "%03d" % (sum(text.encode("latin-1")) % 256)


def message(sender, seq, kind, fields):
    body = "35=%s|49=%s|56=NODOWN|34=%s|52=20260101-00:00:00.000|" % (kind, sender, seq)
    body += "".join(f + "|" for f in fields)
    body = body.replace("|", SOH)
    head = "8=FIX.4.4" + SOH + "9=%d" % len(body.encode("latin-1")) + SOH
    text = head + body
    return text + "10=" + checksum(text) + SOH


def raw(text):
    text = text.replace("|", SOH)
    if "~" in text:
        before, after = text.split("~", 1)
        text = before + checksum(before) + after
    return text


def read_for(sock, seconds, pending):
    end = time.time() + seconds
    while time.time() < end:
        sock.settimeout(max(0.01, end - time.time()))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        except OSError:
            print("closed")
            return pending, False
        if not data:
            print("closed")
            return pending, False
        pending += data.decode("latin-1")
        while True:
            at = pending.find(SOH + "10=")
            if at < 0 or len(pending) < at + 8:
                break
            print(pending[: at + 8].replace(SOH, "|"))
            pending = pending[at + 8:]
    return pending, True


def main():
    port = int(sys.argv[1])
    steps = open(sys.argv[2]).read().splitlines()
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sender = "RAW"
    pending = ""
    open_ = True
    for step in steps:
        words = [w for w in step.split(" ") if w]
        if words[0] == "send":
            for f in words[3:]:
                if f.startswith("49="):
                    sender = f[3:]
            fields = [f for f in words[3:] if not f.startswith("49=")]
            data = message(sender, words[1], words[2], fields)
        elif words[0] == "raw":
            data = raw(step[4:])
        elif words[0] == "wait":
            pending, open_ = read_for(sock, float(words[1]), pending)
            continue
        else:
            continue
        if open_:
            try:
                sock.sendall(data.encode("latin-1"))
            except OSError:
                open_ = False
    sock.close()


main()
