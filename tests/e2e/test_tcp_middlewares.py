"""TCP middlewares (issue 15 item 7): ipAllowList / ipWhiteList (sourceRange) and inFlightConn
(amount) on TCP routers, from a dynamic file, with plain Python socket clients bound to chosen
loopback source addresses; the same middlewares as Docker labels through `portier check
--compose`. A refused connection is closed at once and the backend never sees it; inFlightConn
counts per client IP over both workers."""

import json
import socket
import threading
import unittest

from portier_e2e import Portier, free_port, make_temp_dir, run_cli, started, wait_until, write_file_atomic
from tcp_peers import StreamServer, exchange, lb, tcp_entry_config, tcp_router

NET = "127.0.68"
ALLOWED = NET + ".10"
WHITE = NET + ".11"
OUTSIDER = NET + ".20"
BUSY = NET + ".30"
OTHER = NET + ".31"


class EchoServer(StreamServer):
    """Answers each line with "echo:<line>"; .open counts the connections it holds now."""

    def __init__(self, ip):
        self.open = 0
        self.open_lock = threading.Lock()
        super().__init__(ip, self._echo)

    def _echo(self, conn):
        with self.open_lock:
            self.open += 1
        try:
            conn.settimeout(30)
            with conn.makefile("rb") as f:
                for line in f:
                    conn.sendall(b"echo:" + line)
        finally:
            with self.open_lock:
                self.open -= 1


def connect(address, source, timeout=5):
    s = socket.create_connection(address, timeout=timeout, source_address=(source, 0))
    s.settimeout(timeout)
    return s


def closed_at_once(address, source):
    """Connects from `source`, sends a line, and reports whether portier closed the connection
    (EOF or reset) without an answer."""
    with connect(address, source) as s:
        try:
            s.sendall(b"ping\n")
            return s.recv(4096) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True


class TcpMiddlewares(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backends = {name: EchoServer(NET + ".2") for name in ("allow", "white", "limit")}
        ip = NET + ".1"
        cls.addresses = {name: (ip, free_port(ip)) for name in cls.backends}
        cls.dir = make_temp_dir()
        dynamic = {"tcp": {
            "routers": {name: dict(tcp_router("HostSNI(`*`)", name, "tcp-" + name), middlewares=[mw])
                        for name, mw in (("allow", "office"), ("white", "legacy"), ("limit", "two"))},
            "services": {name: lb(b.address) for name, b in cls.backends.items()},
            "middlewares": {
                "office": {"ipAllowList": {"sourceRange": [ALLOWED + "/32", BUSY, "::1"]}},
                "legacy": {"ipWhiteList": {"sourceRange": [NET + ".11"]}},
                "two": {"inFlightConn": {"amount": 2}},
            }}}
        path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        config = tcp_entry_config({"tcp-" + name: "%s:%d" % a for name, a in cls.addresses.items()}, path)
        config["workers"] = 2
        cls.portier = started(Portier(config))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        for b in cls.backends.values():
            b.close()

    def test_allow_list_admits_sources_in_range(self):
        for name, source in (("allow", ALLOWED), ("allow", BUSY), ("white", WHITE)):
            with self.subTest(name=name, source=source), connect(self.addresses[name], source) as s:
                self.assertEqual(exchange(s), b"echo:ping\n")

    def test_source_outside_range_is_closed_before_the_backend(self):
        for name in ("allow", "white"):
            with self.subTest(name):
                before = self.backends[name].accepted
                for source in (OUTSIDER, OTHER):
                    self.assertTrue(closed_at_once(self.addresses[name], source), source)
                self.assertEqual(self.backends[name].accepted, before, "a refused connection reached the backend")

    def test_in_flight_conn_per_source_ip_over_both_workers(self):
        address, backend = self.addresses["limit"], self.backends["limit"]
        held = [connect(address, BUSY) for _ in range(2)]
        try:
            for s in held:
                self.assertEqual(exchange(s), b"echo:ping\n")
            before = backend.accepted
            # Each attempt comes from a new source port, so the kernel spreads them over both
            # workers: a per-worker count would let some through.
            for _ in range(6):
                self.assertTrue(closed_at_once(address, BUSY))
            self.assertEqual(backend.accepted, before, "a third connection reached the backend")
            # Another client IP has its own budget.
            with connect(address, OTHER) as s:
                self.assertEqual(exchange(s), b"echo:ping\n")
            # One closes: a new connection from the busy IP is admitted again.
            held.pop().close()

            def admitted():
                with connect(address, BUSY) as s:
                    try:
                        return exchange(s) == b"echo:ping\n"
                    except (ConnectionResetError, BrokenPipeError):
                        return False
            wait_until(admitted, what="a connection admitted after one of the two closed")
        finally:
            for s in held:
                s.close()


# TCP middlewares as Docker labels; {amount} is filled in by the test.
COMPOSE = """\
name: db
services:
  db:
    image: test/busybox:1
    network_mode: host
    labels:
      - traefik.enable=true
      - traefik.tcp.routers.db.rule=HostSNI(`*`)
      - traefik.tcp.routers.db.entrypoints=tcp-5432
      - traefik.tcp.routers.db.middlewares=office,legacy,few
      - traefik.tcp.services.db.loadbalancer.server.port=5432
      - traefik.tcp.middlewares.office.ipallowlist.sourcerange=192.0.2.0/24, 2001:db8::/32
      - traefik.tcp.middlewares.legacy.ipwhitelist.sourcerange=198.51.100.7
      - traefik.tcp.middlewares.few.inflightconn.amount={amount}
      - rediacc.service_ip=127.0.68.40
"""

CHECK_CONFIG = {
    "infra": {"public_ipv4": "127.0.68.1", "base_domain": "example.test", "http_port": 18080, "https_port": 18443},
    "providers": {"docker": {"endpoints": ["unix:///nonexistent/docker-*.sock"]}},
    "state": {"directory": "/nonexistent/state"},
}


class TcpMiddlewareLabels(unittest.TestCase):
    def check(self, amount, *extra):
        d = make_temp_dir()
        (d / "portier.yml").write_text(json.dumps(CHECK_CONFIG))
        (d / "docker-compose.yml").write_text(COMPOSE.format(amount=amount))
        return run_cli(["check", "--config", str(d / "portier.yml"), "--compose", str(d / "docker-compose.yml"),
                        *extra])

    def test_labels_decode_and_check_accepts_them(self):
        r = self.check(3, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        j = json.loads(r.stdout)
        self.assertEqual(j["errors"], [])
        mws = j["tcp"]["middlewares"]
        self.assertEqual(mws["office@docker"]["ipAllowList"]["sourceRange"], ["192.0.2.0/24", "2001:db8::/32"])
        self.assertEqual(mws["legacy@docker"]["ipWhiteList"]["sourceRange"], ["198.51.100.7"])
        self.assertEqual(mws["few@docker"]["inFlightConn"]["amount"], 3)
        self.assertEqual(j["tcp"]["routers"]["db@docker"]["middlewares"],
                         ["office@docker", "legacy@docker", "few@docker"])

    def test_bad_amount_is_reported(self):
        r = self.check(0)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("tcp.middlewares.few@docker", r.stdout)
        self.assertIn("amount must be greater than 0", r.stdout)


if __name__ == "__main__":
    unittest.main()
