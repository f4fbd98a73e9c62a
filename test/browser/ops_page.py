#!/usr/bin/python3
"""Drives headless Chromium (Debian's chromium) through the DevTools protocol
against the operator's page of a running cluster (test/cli/page.sh): the
page refuses to show anything without the token, shows every node with the
figures its /status gives, and says a killed node is down within 2 s.

usage: ops_page.py --page URL --token-file F --node ID=ADMIN_URL@TOKENFILE ...
                   --kill ID=PID --artifacts DIR
Prints ok/FAIL lines and "ops_page: N passed, N failed"; exits 1 on a failure.
Needs /usr/bin/python3 with python3-websockets (Debian's, asyncio API)."""
import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import websockets

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1400,1100",
                  "--remote-debugging-port=0", "--remote-allow-origins=*"]
passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   " + name, flush=True)
    else:
        failed += 1
        print("FAIL " + name + (": " + detail if detail else ""), flush=True)


class Browser:
    """One page of a headless Chromium, spoken to over its DevTools socket."""

    def __init__(self, binary):
        self.profile = tempfile.mkdtemp(prefix="nodown-chromium-")
        self.process = subprocess.Popen(
            [binary] + CHROMIUM_FLAGS + ["--user-data-dir=" + self.profile, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.next_id = 0

    async def connect(self):
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.time() + 30
        while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
            if time.time() > deadline or self.process.poll() is not None:
                raise RuntimeError("chromium did not open its DevTools port")
            await asyncio.sleep(0.1)
        port = open(port_file).read().split()[0]
        with urllib.request.urlopen("http://127.0.0.1:%s/json/list" % port, timeout=5) as r:
            pages = [t for t in json.load(r) if t["type"] == "page"]
        self.socket = await websockets.connect(pages[0]["webSocketDebuggerUrl"],
                                               max_size=64 << 20)

    async def call(self, method, **params):
        self.next_id += 1
        await self.socket.send(json.dumps({"id": self.next_id, "method": method,
                                           "params": params}))
        while True:
            message = json.loads(await asyncio.wait_for(self.socket.recv(), 30))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(method + ": " + json.dumps(message["error"]))
                return message["result"]

    async def eval(self, expression):
        result = await self.call("Runtime.evaluate", expression=expression,
                                 returnByValue=True, awaitPromise=True)
        return result["result"].get("value")

    async def screenshot(self, path):
        shot = await self.call("Page.captureScreenshot", format="png")
        with open(path, "wb") as out:
            out.write(base64.b64decode(shot["data"]))

    def close(self):
        self.process.kill()
        self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


ROWS = """(() => [...document.querySelectorAll('#nodes tr')].map((tr) => {
  const row = {node: tr.dataset.node, up: tr.dataset.up};
  for (const td of tr.querySelectorAll('td')) row[td.dataset.field] = td.textContent;
  return row; }))()"""


async def wait_for(browser, expression, seconds):
    deadline = time.time() + seconds
    value = None
    while time.time() < deadline:
        value = await browser.eval(expression)
        if value:
            return value
        await asyncio.sleep(0.05)
    return value


def status_of(url, token_file):
    token = open(token_file).read().strip()
    request = urllib.request.Request(url + "/status",
                                     headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(request, timeout=3) as r:
        return json.load(r)


async def figures_match(browser, nodes):
    """The page's rows against each node's /status: identity, logic version,
    and the applied sequence and digest once both are read at one moment
    (the cluster is idle meanwhile, page.sh)."""
    detail = ""
    for _ in range(30):
        rows = {r["node"]: r for r in await browser.eval(ROWS)}
        statuses = {i: status_of(url, token) for i, (url, token) in nodes.items()}
        wrong = []
        for node_id, status in statuses.items():
            row = rows.get(node_id)
            if row is None:
                wrong.append("node %s not shown" % node_id)
                continue
            want = {"applied_seq": str(status["applied_seq"]),
                    "logic_version": str(status["logic_version"]),
                    "snapshot_seq": str(status["snapshot_seq"]),
                    "digest": status["digest"][:16] + " (" + str(status["digest_seq"]) + ")",
                    "lag": str(status["lag"]), "release": status["build"]["release"]}
            wrong += ["node %s %s: page %r, /status %r" % (node_id, k, row.get(k), v)
                      for k, v in want.items() if row.get(k) != v]
        if not wrong:
            return True, ""
        detail = "; ".join(wrong)
        await asyncio.sleep(0.25)
    return False, detail


async def run(args):
    nodes = {}
    for spec in args.node:
        node_id, rest = spec.split("=", 1)
        url, token_file = rest.split("@", 1)
        nodes[node_id] = (url, token_file)
    kill_id, kill_pid = args.kill.split("=")
    os.makedirs(args.artifacts, exist_ok=True)
    browser = Browser(args.chromium)
    try:
        await browser.connect()
        await browser.call("Page.enable")
        await browser.call("Page.navigate", url=args.page)
        state = await wait_for(browser, "document.getElementById('state') && "
                               "document.getElementById('state').dataset.state === 'token' && "
                               "'token'", 15)
        check("without the token the page asks for it", state == "token", str(state))
        rows = await browser.eval("document.querySelectorAll('#nodes tr').length")
        check("without the token no node is shown", rows == 0, "%s rows" % rows)
        code = await browser.eval("fetch('/cluster').then((r) => r.status)")
        check("/cluster without the token: 401", code == 401, str(code))
        token = open(args.token_file).read().strip()
        await browser.call("Page.navigate", url=args.page + "#token=" + token)
        live = await wait_for(browser, "document.getElementById('state').dataset.state === "
                              "'live' && document.querySelectorAll('#nodes tr[data-up=\"1\"]')"
                              ".length === %d" % len(nodes), 15)
        check("the page shows %d nodes up, live" % len(nodes), bool(live))
        hash_left = await browser.eval("location.hash")
        check("the token is taken out of the address bar", hash_left == "", str(hash_left))
        ok, detail = await figures_match(browser, nodes)
        check("every node's figures on the page equal its /status", ok, detail)
        leader = await browser.eval(
            "(document.querySelector('#stream td[data-field=leader]') || {}).textContent")
        status = status_of(*nodes[next(iter(nodes))])
        check("the stream leader shown is the one /status names",
              leader == status["stream_info"]["leader"], "%r" % leader)
        await asyncio.sleep(3)  # the charts gather a few points under the load
        rates = await browser.eval(
            "[...document.querySelectorAll('#nodes td[data-field=orders_per_s]')]"
            ".map((td) => td.textContent)")
        check("orders per second shown for every node", all(r != "" for r in rates), str(rates))
        shot = os.path.join(args.artifacts, "ops-page.png")
        await browser.screenshot(shot)
        check("screenshot " + shot, os.path.getsize(shot) > 10000)
        os.kill(int(kill_pid), signal.SIGKILL)
        killed_at = time.time()
        said = await wait_for(
            browser, "document.querySelector('#nodes tr[data-node=\"%s\"]').dataset.up === '0'"
            " && [...document.querySelectorAll('#alerts li')].some((li) => "
            "li.textContent.startsWith('Node %s ') && li.textContent.includes('not answering'))"
            % (kill_id, kill_id), 5)
        took = time.time() - killed_at
        check("node %s killed: the page says it is down within 2 s (%.2f s)" % (kill_id, took),
              bool(said) and took <= 2.0)
        shot = os.path.join(args.artifacts, "ops-page-node-down.png")
        await browser.screenshot(shot)
        check("screenshot " + shot, os.path.getsize(shot) > 10000)
    finally:
        browser.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--page", required=True)
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--node", action="append", required=True)
    parser.add_argument("--kill", required=True)
    parser.add_argument("--artifacts", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    try:
        asyncio.run(run(args))
    except Exception as error:  # the run's own failure, said as one
        check("the browser run", False, "%s: %s" % (type(error).__name__, error))
    print("ops_page: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
