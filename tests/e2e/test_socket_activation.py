"""systemd socket activation (issue 19, items 1 and 4): portier serves the listening sockets it
inherits through LISTEN_FDS/LISTEN_FDNAMES instead of binding its own, so a restart refuses no
connection: while no process runs, the kernel queues connections (and datagrams) on the sockets
the launcher keeps open, as systemd does, and the next process answers them.

The test process plays systemd: it binds the sockets once and starts every portier through
listen_fds_launcher.py. Each restart is a SIGTERM, the exit, then a new start; meanwhile two
clients request without pause on fresh connections, a third sends UDP datagrams, and a TLS
client connects while no process runs and must get the file provider's certificate (stored
certificates are loaded before the first accept)."""
import socket
import ssl
import threading
import time
import unittest

from portier_e2e import Portier, free_port, http_config, make_temp_dir, router, service, wait_until, write_file_atomic
from backend import Backend
from tcp_peers import UdpEcho
from test_tls import TestCA

NET = "127.0.71"
RESTARTS = 5


def listening(kind, ip):
    sock = socket.socket(socket.AF_INET, kind)
    sock.bind((ip, 0))
    if kind == socket.SOCK_STREAM:
        sock.listen(1024)
    return sock


class Load:
    """Clients that request `url` on a new connection each time until stop(); every failure is kept."""

    def __init__(self, ip, port, threads=2):
        self.ip, self.port = ip, port
        self.ok = 0
        self.failures = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for t in self._threads:
            t.start()

    def _one(self):
        with socket.create_connection((self.ip, self.port), timeout=30) as s:
            s.sendall(b"GET /load HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        status = data.split(b"\r\n", 1)[0]
        if not status.startswith(b"HTTP/1.1 200"):
            raise AssertionError("answered %r" % status)

    def _run(self):
        while not self._stop.is_set():
            try:
                self._one()
                with self._lock:
                    self.ok += 1
            except Exception as e:  # every kind of failure counts: refused, reset, bad status
                with self._lock:
                    self.failures.append("%s: %s" % (type(e).__name__, e))

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(60)


class SocketActivation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = make_temp_dir()
        cls.backend = Backend("app", NET + ".2")
        cls.echo = UdpEcho(NET + ".3")
        ca = TestCA(cls.dir)
        cls.ca_cert = ca.ca_cert
        cert, key = ca.leaf("app", "app.test")
        cls.web = listening(socket.SOCK_STREAM, NET + ".1")
        cls.websecure = listening(socket.SOCK_STREAM, NET + ".1")
        cls.udp = listening(socket.SOCK_DGRAM, NET + ".1")
        web_port, secure_port, udp_port = (s.getsockname()[1] for s in (cls.web, cls.websecure, cls.udp))
        cls.udp_port = udp_port
        dynamic = {
            "http": {"routers": {"app": router("Host(`app.test`)", "app"),
                                 "app-tls": router("Host(`app.test`)", "app", entry_points=("websecure",), tls={})},
                     "services": {"app": service(cls.backend.url)}},
            "udp": {"routers": {"echo": {"entryPoints": ["udp-%d" % udp_port], "service": "echo"}},
                    "services": {"echo": {"loadBalancer": {"servers": [{"address": cls.echo.address}]}}}},
            "tls": {"certificates": [{"certFile": cert, "keyFile": key}]},
        }
        path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        cfg = http_config({"web": "%s:%d" % (NET + ".1", web_port), "websecure": "%s:%d" % (NET + ".1", secure_port),
                           "udp-%d" % udp_port: "%s:%d/udp" % (NET + ".1", udp_port)}, path)
        cls.portier = Portier(cfg, inherit=[("web", cls.web), ("websecure", cls.websecure), ("dns", cls.udp)])

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        for s in (cls.web, cls.websecure, cls.udp):
            s.close()
        cls.backend.close()
        cls.echo.close()

    def tls_certificate_cn(self, result):
        ctx = ssl.create_default_context(cafile=self.ca_cert)
        try:
            with socket.create_connection(self.websecure.getsockname(), timeout=30) as raw:
                with ctx.wrap_socket(raw, server_hostname="app.test") as tls:
                    result["cn"] = dict(x[0] for x in tls.getpeercert()["subject"])["commonName"]
        except Exception as e:
            result["error"] = "%s: %s" % (type(e).__name__, e)

    def udp_round_trip_across(self, restart):
        """Sends a datagram while no portier runs; the reply must come once `restart` started one."""
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.settimeout(20)
        try:
            client.sendto(b"queued-datagram", (NET + ".1", self.udp_port))
            restart()
            data, _ = client.recvfrom(65536)
            self.assertEqual(data, b"queued-datagram")
        finally:
            client.close()

    def test_restarts_refuse_nothing(self):
        self.portier.start()
        self.assertIn("serving inherited socket web", self.portier.logs())
        load = Load(NET + ".1", self.web.getsockname()[1])
        try:
            wait_until(lambda: load.ok >= 20, timeout=20, what="requests before the first restart")
            for i in range(RESTARTS):
                before = load.ok
                self.assertEqual(self.portier.stop(), 0, "restart %d: exit code" % i)
                tls_result = {}
                tls_client = threading.Thread(target=self.tls_certificate_cn, args=(tls_result,))
                tls_client.start()  # queued in the backlog: no process accepts now
                self.udp_round_trip_across(lambda: self.portier.start())
                tls_client.join(30)
                self.assertEqual(tls_result.get("cn"), "app.test", "restart %d: %s" % (i, tls_result))
                wait_until(lambda: load.ok >= before + 20, timeout=20, what="requests after restart %d" % i)
        finally:
            load.stop()
        self.assertEqual(load.failures, [], "requests failed across %d restarts" % RESTARTS)
        self.assertGreater(load.ok, 20 * (RESTARTS + 1))
        self.assertEqual(self.portier.logs().count("serving inherited socket websecure"), RESTARTS + 1)
        self.assertNotIn("matches no entrypoint", self.portier.logs())

    def test_an_unmatched_inherited_socket_is_reported(self):
        stray = listening(socket.SOCK_STREAM, NET + ".9")
        try:
            cfg = http_config({"web": "%s:%d" % (NET + ".4", free_port(NET + ".4"))})
            with Portier(cfg, inherit=[("stray", stray)]) as other:
                other.start()
                self.assertIn("inherited socket stray (%s:%d/tcp) matches no entrypoint address"
                              % (NET + ".9", stray.getsockname()[1]), other.logs())
        finally:
            stray.close()

if __name__ == "__main__":
    unittest.main()
