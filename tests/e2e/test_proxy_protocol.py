"""entryPoints.NAME.proxyProtocol (issue 18): HAProxy in front of portier sends PROXY v1
(`send-proxy`) and v2 (`send-proxy-v2`) headers; the client address they carry is what the
backend's X-Forwarded-For / X-Real-Ip, a ClientIP rule, an ipAllowList and the access log see,
over each of PROTOCOLS, and what a TCP router's ClientIP sees on a tcp-* entrypoint. As in
Traefik (go-proxyproto's IGNORE policy), a sender outside trustedIPs is served with its own
address, its header read and dropped; `insecure` trusts every sender; a connection without a
header is served as usual; a malformed header, or one that does not arrive within the
entrypoint's headerTimeout, closes the connection."""

import json
import socket
import time
import unittest

from portier_e2e import (PROTOCOLS, Backend, Portier, free_port, http_config, make_temp_dir, proto_request, router,
                         service, started, wait_until, write_file_atomic, both_sides)
from tcp_peers import StreamServer, connect_quietly, exchange, lb, spawn, stop, tcp_router

NET = "127.0.91"
PORTIER = NET + ".1"
TRUSTED = NET + ".5"    # HAProxy's source address towards portier for trusted frontends
UNTRUSTED = NET + ".6"  # and for the others
CLIENT = NET + ".50"    # the client of HAProxy that the tests expect portier to see
OTHER = NET + ".51"     # a client the ClientIP rules and allow lists do not admit


def read_to_eof(sock):
    """All `sock` receives until the peer closes; a reset counts as a close."""
    out = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return out
        if not chunk:
            return out
        out += chunk


class ProxyProtocol(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = make_temp_dir()
        cls.backend = Backend("pp", NET + ".2")
        cls.echo = StreamServer(NET + ".3", lambda conn: conn.sendall(b"echo:" + conn.recv(100)))
        cls.web_port, cls.insecure_port, cls.tcp_port = (free_port(PORTIER) for _ in range(3))
        cls.access_path = cls.dir / "access.log"
        routers = {}
        routers.update(both_sides("pp", "pp.test", "pp"))
        routers.update(both_sides("allow", "allow.test", "pp", middlewares=["only-client"]))
        for name, tls in (("ip", None), ("ip-tls", {})):
            routers[name] = router("Host(`ip.test`) && ClientIP(`%s`)" % CLIENT, "pp", tls=tls,
                                   entry_points=("web", "ins"))
        routers["pp-ins"] = router("Host(`pp.test`)", "pp", entry_points=("ins",))
        routers["pp-ins-tls"] = router("Host(`pp.test`)", "pp", entry_points=("ins",), tls={})
        dynamic = {
            "http": {"routers": routers, "services": {"pp": service(cls.backend.url)},
                     "middlewares": {"only-client": {"ipAllowList": {"sourceRange": [CLIENT]}}}},
            "tcp": {"routers": {"echo": tcp_router("HostSNI(`*`) && ClientIP(`%s`)" % CLIENT, "echo", "tcp-pp")},
                    "services": {"echo": lb(cls.echo.address)}},
        }
        dynamic_path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        trusted = {"trustedIPs": [TRUSTED, "10.0.0.0/8"]}
        eps = {"web": {"address": "%s:%d" % (PORTIER, cls.web_port), "proxyProtocol": trusted,
                       "portier": {"headerTimeout": "1s"}},
               "ins": {"address": "%s:%d" % (PORTIER, cls.insecure_port), "proxyProtocol": {"insecure": True}},
               "tcp-pp": {"address": "%s:%d" % (PORTIER, cls.tcp_port), "proxyProtocol": trusted}}
        cls.portier = started(Portier(http_config(eps, dynamic_path, accessLog={
            "filePath": str(cls.access_path), "format": "json"})))
        cls.haproxy = None
        cls.fronts = {}
        cls.start_haproxy()

    @classmethod
    def start_haproxy(cls):
        """One HAProxy frontend per (name, bind ip, portier port, server options, source ip)."""
        lines = ["global", "  log stderr format raw local0 warning", "defaults", "  mode tcp",
                 "  timeout connect 5s", "  timeout client 30s", "  timeout server 30s"]
        for name, bind_ip, port, options, source in (
                ("v1", TRUSTED, cls.web_port, "send-proxy", TRUSTED),
                ("v2", TRUSTED, cls.web_port, "send-proxy-v2", TRUSTED),
                ("untrusted", UNTRUSTED, cls.web_port, "send-proxy", UNTRUSTED),
                ("insecure", UNTRUSTED, cls.insecure_port, "send-proxy-v2", UNTRUSTED),
                ("tcp-v1", TRUSTED, cls.tcp_port, "send-proxy", TRUSTED),
                ("tcp-v2", TRUSTED, cls.tcp_port, "send-proxy-v2", TRUSTED)):
            front = free_port(bind_ip)
            cls.fronts[name] = (bind_ip, front)
            lines += ["frontend fe-%s" % name, "  bind %s:%d" % (bind_ip, front), "  default_backend be-%s" % name,
                      "backend be-%s" % name, "  server s %s:%d %s source %s" % (PORTIER, port, options, source)]
        cfg = cls.dir / "haproxy.cfg"
        cfg.write_text("\n".join(lines) + "\n")
        cls.haproxy = spawn(["haproxy", "-db", "-f", str(cfg)], cls.dir / "haproxy.log")
        for ip, port in cls.fronts.values():
            wait_until(lambda: cls.haproxy.poll() is None and connect_quietly(ip, port), timeout=10,
                       what="haproxy listening on %s:%d (%s)" % (ip, port, (cls.dir / "haproxy.log").read_text()))

    @classmethod
    def tearDownClass(cls):
        stop(cls.haproxy)
        cls.portier.__exit__(None, None, None)
        cls.echo.close()
        cls.backend.close()

    def via(self, front, protocol, host, source_ip=CLIENT):
        ip, port = self.fronts[front]
        return proto_request(protocol, "GET", ip, port, "/", headers={"Host": host}, source_ip=source_ip)

    def seen_client(self, front, protocol):
        r = self.via(front, protocol, "pp.test")
        self.assertEqual(r.status, 200, r.body)
        h = r.json()["headers"]
        self.assertEqual(h["x-forwarded-for"], h["x-real-ip"])
        return h["x-forwarded-for"]

    def test_forwarded_headers_name_the_client_of_the_header(self):
        for front in ("v1", "v2"):
            for protocol in PROTOCOLS:
                with self.subTest(front=front, protocol=protocol):
                    self.assertEqual(self.seen_client(front, protocol), CLIENT)

    def test_client_ip_rule_and_allow_list_see_the_client_of_the_header(self):
        for front in ("v1", "v2"):
            for protocol in PROTOCOLS:
                with self.subTest(front=front, protocol=protocol):
                    self.assertEqual(self.via(front, protocol, "ip.test").status, 200)
                    self.assertEqual(self.via(front, protocol, "ip.test", source_ip=OTHER).status, 404)
                    self.assertEqual(self.via(front, protocol, "allow.test").status, 200)
                    self.assertEqual(self.via(front, protocol, "allow.test", source_ip=OTHER).status, 403)

    def test_untrusted_sender_is_served_with_its_own_address(self):
        # Traefik: "IP is not in trusted IPs list, ignoring ProxyProtocol Headers" (IGNORE):
        # the header is consumed, the connection served as coming from HAProxy itself.
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                self.assertEqual(self.seen_client("untrusted", protocol), UNTRUSTED)
                self.assertEqual(self.via("untrusted", protocol, "ip.test").status, 404)

    def test_insecure_trusts_every_sender(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                self.assertEqual(self.seen_client("insecure", protocol), CLIENT)
                self.assertEqual(self.via("insecure", protocol, "ip.test").status, 200)

    def test_connection_without_header_is_served(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                r = proto_request(protocol, "GET", PORTIER, self.web_port, "/", headers={"Host": "pp.test"},
                                  source_ip=CLIENT)
                self.assertEqual(r.json()["headers"]["x-forwarded-for"], CLIENT)

    def test_access_log_records_the_client_of_the_header(self):
        self.assertEqual(self.via("v2", "h1", "pp.test", source_ip=OTHER).status, 200)

        def logged():
            text = self.access_path.read_text() if self.access_path.exists() else ""
            lines = [json.loads(line) for line in text.splitlines() if line.strip()]
            return [e for e in lines if e.get("ClientAddr", "").startswith(OTHER + ":")]
        wait_until(logged, timeout=10, what="an access log line from %s" % OTHER)
        self.assertEqual(logged()[0]["ClientHost"], OTHER)

    def test_tcp_router_client_ip_sees_the_client_of_the_header(self):
        for front in ("tcp-v1", "tcp-v2"):
            with self.subTest(front=front):
                ip, port = self.fronts[front]
                with socket.create_connection((ip, port), timeout=10, source_address=(CLIENT, 0)) as s:
                    self.assertEqual(exchange(s, b"ping\n"), b"echo:ping\n")
                with socket.create_connection((ip, port), timeout=10, source_address=(OTHER, 0)) as s:
                    s.sendall(b"ping\n")
                    self.assertEqual(read_to_eof(s), b"")  # no route for this client: closed

    def raw(self, data, source_ip=TRUSTED):
        """Sends `data` straight to the `web` entrypoint and returns all it answers until EOF."""
        with socket.create_connection((PORTIER, self.web_port), timeout=10, source_address=(source_ip, 0)) as s:
            s.sendall(data)
            return read_to_eof(s)

    def test_header_sent_by_hand_and_its_segments(self):
        request = b"GET / HTTP/1.1\r\nHost: pp.test\r\nConnection: close\r\n\r\n"
        answer = self.raw(b"PROXY TCP6 2001:db8::9 2001:db8::1 4000 80\r\n" + request)
        self.assertIn(b'"x-forwarded-for": "2001:db8::9"', answer)
        with socket.create_connection((PORTIER, self.web_port), timeout=10, source_address=(TRUSTED, 0)) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # one segment per piece
            for piece in (b"PRO", b"XY TCP4 203.0.113.9 ", b"203.0.113.1 4000 80\r", b"\n" + request):
                s.sendall(piece)
            answer = read_to_eof(s)
        self.assertIn(b'"x-forwarded-for": "203.0.113.9"', answer)

    def test_malformed_header_closes_the_connection(self):
        request = b"GET / HTTP/1.1\r\nHost: pp.test\r\n\r\n"
        for bad in (b"PROXY TCP4 203.0.113.9 203.0.113.1 4000 99999\r\n",
                    b"PROXY TCP4 not-an-address 203.0.113.1 4000 80\r\n",
                    b"\r\n\r\n\x00\r\nQUIT\n\x31\x11\x00\x0c" + bytes(12)):
            with self.subTest(bad=bad):
                self.assertEqual(self.raw(bad + request), b"")

    def test_header_must_arrive_within_header_timeout(self):
        start = time.monotonic()
        self.assertEqual(self.raw(b"PROXY TCP4 203.0.113.9 "), b"")
        self.assertLess(time.monotonic() - start, 5)  # headerTimeout is 1s


if __name__ == "__main__":
    unittest.main()
