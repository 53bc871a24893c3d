"""Restarts and upgrades under load (issue 19, "How it is checked"). 64 keep-alive connections
request at a fixed rate (32 curl clients over HTTP/1.1 on the cleartext entrypoint, 32 over h2
with TLS), beside a TCP
echo client (a new connection per exchange) and a UDP echo client, while portier is restarted
10 times through the socket launcher (as systemd restarts it with portier.socket), then
upgraded 10 times with `portier upgrade` (a TCP connection opened before the upgrades goes on
echoing with the first process until it closes). Nothing may fail: no refused or reset connection, no
failed request, no lost UDP reply, and every client goes on being answered after the events.
Each phase's request count and latency p99 are printed next to those of a phase without events,
for the note; latency is reported, not asserted."""
import ctypes
import json
import os
import signal
import socket
import subprocess
import threading
import time
import unittest

from backend import Backend
from portier_e2e import Portier, free_port, http_config, make_temp_dir, router, run_cli, service, wait_until, \
    write_file_atomic
from tcp_peers import StreamServer, UdpEcho, exchange, lb, tcp_router
from test_live_upgrade import alive
from test_socket_activation import listening
from test_tls import TestCA

NET = "127.0.73"
EVENTS = 10
EVENT_SPACING = 1.0  # seconds from one event's start to the next (at least)
SETTLE_SECONDS = 2   # load after the last event (and the whole steady phase: 5x that)
CLIENTS = 32        # per protocol: 64 connections in all
RATE = 20           # requests per second and client
PR_SET_CHILD_SUBREAPER = 36


def echo_lines(conn):
    """The TCP backend: echoes each line until the client closes."""
    with conn:
        data = b""
        while chunk := conn.recv(4096):
            data += chunk
            lines, _, data = data.rpartition(b"\n")
            if lines:
                conn.sendall(lines + b"\n")


class CurlLoad:
    """CLIENTS curl processes, each requesting `url` again and again on its keep-alive
    connection at RATE requests per second, as a browser would: a connection the server closes
    or ends with GOAWAY is replaced by a new one for the next request. (h2load cannot stand in:
    a GOAWAY or an idle close makes its client stop silently.) One line per request:
    `status seconds http_version`."""

    def __init__(self, workdir, name, url, resolve, extra=()):
        self.outputs = [workdir / ("%s-%d.txt" % (name, i)) for i in range(CLIENTS)]
        self.procs = []
        for out in self.outputs:
            cmd = ["stdbuf", "--output=L", "curl", "--silent", "--rate", "%d/s" % RATE, "--resolve", resolve, "--output", "/dev/null",
                   "--write-out", "%{http_code} %{time_total} %{http_version}\\n", *extra, url + "?n=[1-1000000]"]
            with open(out, "wb") as f:
                self.procs.append(subprocess.Popen(cmd, stdout=f, stderr=subprocess.DEVNULL))

    def counts(self):
        """Requests answered so far, per client (curl's output is line-buffered by stdbuf)."""
        return [out.read_bytes().count(b"\n") for out in self.outputs]

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.wait(30)

    def result(self, version):
        """The answers (with how many were not `200` over `version`) and the p99 latency."""
        answers = [line.split() for out in self.outputs for line in out.read_text().split("\n")[:-1]]
        durations = sorted(float(a[1]) for a in answers)
        return {"answered": len(answers),
                "failed": sum(1 for a in answers if a[0] != "200" or a[2] != version),
                "p99_ms": round(durations[int(len(durations) * 0.99)] * 1000, 1) if durations else None}


class EchoClients:
    """A TCP client (connect, one line, echo, close) and a UDP client (a datagram every 10 ms,
    each numbered) until stop(); every failure and every missing reply is counted."""

    def __init__(self, ip, tcp_port, udp_port):
        self.tcp_address, self.udp_address = (ip, tcp_port), (ip, udp_port)
        self.tcp_ok, self.tcp_failures = 0, []
        self.udp_sent, self.udp_replies = 0, set()
        self._stop = threading.Event()
        self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._udp.settimeout(0.5)
        self._threads = [threading.Thread(target=f, daemon=True) for f in (self._tcp, self._udp_send, self._udp_recv)]
        for t in self._threads:
            t.start()

    def _tcp(self):
        n = 0
        while not self._stop.is_set():
            n += 1
            line = b"exchange-%d\n" % n
            try:
                with socket.create_connection(self.tcp_address, timeout=30) as s:
                    data = exchange(s, line)
                if data != line:
                    raise AssertionError("echoed %r" % data)
                self.tcp_ok += 1
            except Exception as e:  # refused, reset, timeout, wrong echo
                self.tcp_failures.append("%s: %s" % (type(e).__name__, e))
            self._stop.wait(0.01)

    def _udp_send(self):
        while not self._stop.is_set():
            self._udp.sendto(b"%d" % self.udp_sent, self.udp_address)
            self.udp_sent += 1
            self._stop.wait(0.01)

    def _udp_recv(self):
        while True:
            try:
                data = self._udp.recv(65536)
            except socket.timeout:
                if self._stop.is_set() and len(self.udp_replies) >= self.udp_sent:
                    return
                continue
            except OSError:
                return
            self.udp_replies.add(int(data))

    def stop(self):
        self._stop.set()
        self._threads[0].join(60)
        self._threads[1].join(60)

    def udp_lost(self):
        return sorted(set(range(self.udp_sent)) - self.udp_replies)

    def close(self):
        self._udp.close()


class UpgradeUnderLoad(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)
        cls.dir = make_temp_dir()
        cls.backend = Backend("app", NET + ".2")
        cls.tcp_echo = StreamServer(NET + ".3", echo_lines)
        cls.udp_echo = UdpEcho(NET + ".4")
        ca = TestCA(cls.dir)
        cls.ca_cert = str(ca.ca_cert)
        cert, key = ca.leaf("app", "app.test")
        cls.sockets = {"web": listening(socket.SOCK_STREAM, NET + ".1"),
                       "websecure": listening(socket.SOCK_STREAM, NET + ".1"),
                       "echo": listening(socket.SOCK_STREAM, NET + ".1"),
                       "dgram": listening(socket.SOCK_DGRAM, NET + ".1")}
        cls.ports = {name: s.getsockname()[1] for name, s in cls.sockets.items()}
        tcp_ep, udp_ep = "tcp-%d" % cls.ports["echo"], "udp-%d" % cls.ports["dgram"]
        dynamic = {
            "http": {"routers": {"app": router("PathPrefix(`/`)", "app"),
                                 "app-tls": router("Host(`app.test`)", "app", entry_points=("websecure",), tls={})},
                     "services": {"app": service(cls.backend.url)}},
            "tls": {"certificates": [{"certFile": cert, "keyFile": key}]},
            "tcp": {"routers": {"echo": tcp_router("HostSNI(`*`)", "echo", tcp_ep)},
                    "services": {"echo": lb(cls.tcp_echo.address)}},
            "udp": {"routers": {"echo": {"entryPoints": [udp_ep], "service": "echo"}},
                    "services": {"echo": lb(cls.udp_echo.address)}},
        }
        path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        address = lambda name, suffix="": "%s:%d%s" % (NET + ".1", cls.ports[name], suffix)
        # graceTimeOut 30 s: the long-lived TCP connection outlives a phase (the default is 10 s).
        tcp_entry = {"address": address("echo"), "transport": {"lifeCycle": {"graceTimeOut": "30s"}}}
        cfg = http_config({"web": address("web"), "websecure": address("websecure"), tcp_ep: tcp_entry,
                           udp_ep: {"address": address("dgram", "/udp"), "udp": {"timeout": "1s"}}}, path)
        cls.portier = Portier(cfg, inherit=list(cls.sockets.items()))
        cls.portier.start()
        cls.pid = cls.portier.proc.pid

    @classmethod
    def tearDownClass(cls):
        if alive(cls.pid) and cls.pid != cls.portier.proc.pid:
            os.kill(cls.pid, signal.SIGTERM)
            os.waitpid(cls.pid, 0)
        cls.portier.__exit__(None, None, None)
        for s in cls.sockets.values():
            s.close()
        cls.backend.close()
        cls.tcp_echo.close()
        cls.udp_echo.close()

    def restart(self):
        self.assertEqual(self.portier.stop(), 0)
        self.portier.start()
        self.__class__.pid = self.portier.proc.pid

    def upgrade(self):
        """Upgrades once; the old process drains on its own (reaped by wait_drained)."""
        r = run_cli(["upgrade", "--config", str(self.portier.config_path)], timeout=60)
        self.assertEqual(r.returncode, 0, "upgrade: %s %s" % (r.stdout, r.stderr))
        self.draining.append(self.__class__.pid)
        self.__class__.pid = json.loads(r.stdout.split(": ", 2)[-1])["pid"]

    def wait_drained(self):
        """Every process an upgrade replaced has exited 0."""
        for pid in self.draining:
            if pid == self.portier.proc.pid:
                self.assertEqual(self.portier.wait_exit(30), 0)
            else:
                _, status = os.waitpid(pid, 0)
                self.assertEqual(os.waitstatus_to_exitcode(status), 0, "process %d" % pid)

    def phase(self, name, event):
        """Runs the load while EVENTS calls of `event` happen EVENT_SPACING apart, then for
        SETTLE_SECONDS more (without `event`: 5 x SETTLE_SECONDS); asserts that nothing failed
        and that every client was answered again after the last event. Prints the figures."""
        web, secure = self.ports["web"], self.ports["websecure"]
        loads = {"h1": CurlLoad(self.dir, name + "-h1", "http://app.test:%d/" % web, "app.test:%d:%s" % (web, NET + ".1"),
                                ["--http1.1"]),
                 "h2": CurlLoad(self.dir, name + "-h2", "https://app.test:%d/" % secure,
                                "app.test:%d:%s" % (secure, NET + ".1"), ["--http2", "--cacert", self.ca_cert])}
        versions = {"h1": "1.1", "h2": "2"}
        echo = EchoClients(NET + ".1", self.ports["echo"], self.ports["dgram"])
        took = []
        try:
            for i in range(EVENTS if event else 0):
                # Spacing the events (the load is what must not notice them).
                time.sleep(max(0.0, EVENT_SPACING - (took[-1] if took else 0.0)))
                t = time.monotonic()
                event()
                took.append(time.monotonic() - t)
            at_events_end = {proto: load.counts() for proto, load in loads.items()}
            time.sleep(SETTLE_SECONDS if event else 5 * SETTLE_SECONDS)  # the load goes on
        finally:
            for load in loads.values():
                load.stop()
            echo.stop()
        try:
            wait_until(lambda: not echo.udp_lost(), timeout=10, what="%s: every UDP reply" % name)
        except AssertionError:
            pass  # reported with the counts below
        figures = {proto: load.result(versions[proto]) for proto, load in loads.items()}
        if took:
            figures["event_ms"] = {"max": round(max(took) * 1000), "mean": round(sum(took) / len(took) * 1000)}
        figures["tcp"] = {"exchanges": echo.tcp_ok, "failed": len(echo.tcp_failures)}
        figures["udp"] = {"sent": echo.udp_sent, "lost": len(echo.udp_lost())}
        print("%s: %s" % (name, json.dumps(figures)), flush=True)
        for proto, load in loads.items():
            self.assertEqual(figures[proto]["failed"], 0, "%s %s: %s" % (name, proto, figures[proto]))
            after = [end - before for before, end in zip(at_events_end[proto], load.counts())]
            self.assertGreater(min(after), 0, "%s %s: a client got no answer after the events: %s" % (name, proto, after))
        self.assertEqual(echo.tcp_failures, [], "%s: TCP exchanges failed" % name)
        self.assertGreater(echo.tcp_ok, 0)
        self.assertEqual(echo.udp_lost(), [], "%s: UDP replies lost" % name)
        echo.close()
        return figures

    def test_restarts_and_upgrades_under_load(self):
        self.phase("steady", None)
        self.phase("restarts", self.restart)
        self.draining = []
        # A long-lived TCP connection stays with the process it started on, through the upgrades.
        with socket.create_connection((NET + ".1", self.ports["echo"]), timeout=10) as long_lived:
            self.assertEqual(exchange(long_lived, b"before\n"), b"before\n")
            self.phase("upgrades", self.upgrade)
            self.assertEqual(exchange(long_lived, b"after the upgrades\n"), b"after the upgrades\n")
        self.wait_drained()
        self.assertEqual(self.portier.logs().count("this one drains"), EVENTS)


if __name__ == "__main__":
    unittest.main()
