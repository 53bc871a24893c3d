"""Slow clients (issue 14 item 5): a connection whose first request head is not complete within
the entrypoint's headerTimeout (entryPoints.NAME.portier.headerTimeout, portier's key; 10 s by
default) counted from accept, TLS handshake included, is closed, while other clients are served.
HTTP/2: the preface and first HEADERS must arrive in that time. Over HTTP/1.1, HTTPS, h2 and
h2c, with a short headerTimeout so that the default (10 s) would fail the bounds."""

import socket
import ssl
import time
import unittest

from portier_e2e import (PROTOCOLS, Backend, Portier, is_tls, proto_request, free_port, http_config,
                         make_temp_dir, router, service, started, write_file_atomic)

NET = "127.0.70"
HEADER_TIMEOUT = 2.0
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"  # an empty SETTINGS frame


def open_slow(ip, port, protocol):
    """A connection that starts its first request and never finishes it."""
    sock = socket.create_connection((ip, port), timeout=10)
    if is_tls(protocol):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"] if protocol == "h2-tls" else ["http/1.1"])
        sock = ctx.wrap_socket(sock, server_hostname="slow.test")
    if protocol.startswith("h2"):
        sock.sendall(PREFACE + SETTINGS)  # and no HEADERS
    else:
        sock.sendall(b"GET /slow HTTP/1.1\r\nHost: slow.test\r\nX-Part: ")  # no end of head
    return sock


def closed_after(sock, start, limit):
    """Seconds from `start` until portier closes `sock` (what it sends before is collected),
    or None if it is still open at start + limit."""
    got = b""
    while True:
        left = start + limit - time.monotonic()
        if left <= 0:
            return None, got
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError) as e:
            if isinstance(e, (socket.timeout, TimeoutError)):
                return None, got
            return time.monotonic() - start, got
        if not data:
            return time.monotonic() - start, got
        got += data


class SlowClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = Backend("slow", NET + ".2")
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        dynamic = {"http": {"routers": {"plain": router("Host(`slow.test`)", "a"),
                                        "tls": router("Host(`slow.test`)", "a", tls={})},
                            "services": {"a": service(cls.backend.url)}}}
        path = write_file_atomic(make_temp_dir() / "dynamic.yml", dynamic)
        cls.portier = started(Portier(http_config({"web": {
            "address": "%s:%d" % (cls.ip, cls.port),
            "portier": {"headerTimeout": "%ds" % HEADER_TIMEOUT}}}, path)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.backend.close()

    def test_an_unfinished_request_head_is_closed_at_the_header_timeout(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                start = time.monotonic()
                slow = open_slow(self.ip, self.port, protocol)
                try:
                    # Another client is served while the slow one waits.
                    r = proto_request(protocol, "GET", self.ip, self.port, "/meanwhile", headers={"Host": "slow.test"})
                    self.assertEqual(r.status, 200, r)
                    after, got = closed_after(slow, start, HEADER_TIMEOUT + 5)
                finally:
                    slow.close()
                self.assertIsNotNone(after, "still open %.0f s after the headerTimeout" % 5)
                self.assertGreaterEqual(after, HEADER_TIMEOUT - 0.3)
                self.assertLess(after, HEADER_TIMEOUT + 2)
                if protocol in ("h1", "h1-tls"):
                    self.assertTrue(got.startswith(b"HTTP/1.1 408 "), got[:100])

    def test_a_silent_connection_is_closed_at_the_header_timeout(self):
        start = time.monotonic()
        with socket.create_connection((self.ip, self.port), timeout=10) as silent:
            after, got = closed_after(silent, start, HEADER_TIMEOUT + 5)
        self.assertIsNotNone(after, "a connection that sent nothing is still open")
        self.assertLess(after, HEADER_TIMEOUT + 2)
        self.assertEqual(got, b"")

    def test_keep_alive_connections_wait_the_idle_timeout_not_the_header_timeout(self):
        # After a complete first request, the wait for the next one is idleTimeout (180 s).
        with socket.create_connection((self.ip, self.port), timeout=10) as c:
            c.sendall(b"GET /first HTTP/1.1\r\nHost: slow.test\r\n\r\n")
            start = time.monotonic()
            after, got = closed_after(c, start, HEADER_TIMEOUT + 1.5)
            self.assertIsNone(after, "closed %.1f s after a complete exchange" % (after or 0))
            self.assertIn(b"HTTP/1.1 200 ", got)
            c.sendall(b"GET /second HTTP/1.1\r\nHost: slow.test\r\n\r\n")
            c.settimeout(10)
            self.assertIn(b"HTTP/1.1 200 ", c.recv(65536))


if __name__ == "__main__":
    unittest.main()
