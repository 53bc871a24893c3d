"""Headless Chromium (Debian `chromium`) driven over the DevTools protocol, for tests of pages
served by portier: console errors, every request the page made, the page's text, screenshots.

The DevTools websocket is read by an asyncio loop (python3-websockets 10.4 has no sync client)
on a thread of its own; the test calls the blocking methods below."""

import asyncio
import base64
import json
import os
import signal
import subprocess
import threading
import urllib.request
from pathlib import Path

import websockets  # python3-websockets, installed by portier.sh

from portier_e2e import make_temp_dir, wait_until


class Chromium:
    """One headless browser with one page. Use as a context manager; the process (and its
    children, one process group) is killed by PID on exit."""

    def __init__(self):
        self.profile = make_temp_dir("portier-chromium-")
        self.console_errors = []  # texts of console errors, uncaught exceptions, error log entries
        self.requests = []        # URL of every request the page made
        self.navigations = 0      # main-frame navigations (a reload counts)
        self.proc = subprocess.Popen(
            ["chromium", "--headless=new", "--disable-gpu", "--no-sandbox", "--remote-debugging-port=0",
             "--user-data-dir=%s" % self.profile, "--no-first-run", "--no-default-browser-check",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--window-size=1280,2400", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._ws = None
        self._next_id = 0
        self._pending = {}
        try:
            self._connect()
        except BaseException:
            self.close()
            raise

    # ---- lifecycle ----
    def _connect(self):
        port_file = self.profile / "DevToolsActivePort"
        wait_until(lambda: port_file.exists() and port_file.read_text().strip(), 30, "chromium's DevTools port")
        port = int(port_file.read_text().split()[0])

        def page_url():
            with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=2) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            return pages[0]["webSocketDebuggerUrl"] if pages else None
        url = wait_until(page_url, 30, "chromium's page target")
        self._run(self._open(url))
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.call(domain + ".enable")

    def close(self):
        if self._ws is not None:
            try:
                self._run(self._ws.close(), timeout=5)
            except Exception:
                pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- protocol ----
    def _run(self, coro, timeout=30):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _open(self, url):
        self._ws = await websockets.connect(url, max_size=64 * 1024 * 1024, open_timeout=10)
        asyncio.ensure_future(self._read())

    async def _read(self):
        async for raw in self._ws:
            msg = json.loads(raw)
            if "id" in msg:
                future = self._pending.pop(msg["id"], None)
                if future is not None and not future.done():
                    future.set_result(msg)
            else:
                self._event(msg["method"], msg.get("params", {}))

    def _event(self, method, p):
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
        elif method == "Runtime.exceptionThrown":
            self.console_errors.append(json.dumps(p["exceptionDetails"])[:500])
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            self.console_errors.append("%s (%s)" % (p["entry"].get("text"), p["entry"].get("url", "")))
        elif method == "Network.requestWillBeSent":
            self.requests.append(p["request"]["url"])
        elif method == "Page.frameNavigated" and not p["frame"].get("parentId"):
            self.navigations += 1

    async def _call(self, method, params):
        self._next_id += 1
        future = self._loop.create_future()
        self._pending[self._next_id] = future
        await self._ws.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        return await future

    def call(self, method, **params):
        """One DevTools command -> its result; raises on a protocol error."""
        msg = self._run(self._call(method, params))
        if "error" in msg:
            raise AssertionError("%s: %s" % (method, msg["error"]))
        return msg.get("result", {})

    # ---- page ----
    def navigate(self, url):
        self.call("Page.navigate", url=url)
        wait_until(lambda: self.evaluate("document.readyState") == "complete", 20, "%s loaded" % url)

    def evaluate(self, expression):
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return r.get("result", {}).get("value")

    def text(self):
        return self.evaluate("document.body ? document.body.innerText : ''") or ""

    def wait_for_text(self, *needles, timeout=20.0):
        """Waits until the page's text contains every needle; returns the text."""
        def has_all():
            t = self.text()
            return t if all(n in t for n in needles) else None
        return wait_until(has_all, timeout, "page text containing %r" % (needles,))

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(base64.b64decode(data))
        return path
