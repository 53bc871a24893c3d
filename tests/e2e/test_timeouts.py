"""entryPoints.NAME.transport.respondingTimeouts (Traefik semantics): readTimeout bounds the
reading of a whole request (head and body) over HTTP/1.1, HTTPS and h2c; writeTimeout bounds
the response from the end of the request head (the connection, or the HTTP/2 stream, is cut);
idleTimeout also closes an upgraded (WebSocket) tunnel in which nothing moved for that long."""

import base64
import os
import socket
import ssl
import struct
import subprocess
import time
import unittest

from portier_e2e import (PROTOCOLS, Backend, Portier, RawClient, proto_request, free_port, http_config, make_temp_dir, read_ws_frame, router,
                         service, started, write_file_atomic, ws_frame)

NET = "127.0.63"
READ_TIMEOUT = 2.0
IDLE_TIMEOUT = 1.0


class RespondingTimeouts(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = Backend("t", NET + ".2")
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        routers = {}
        for name, mws in (("stream", []), ("buffered", ["buffer"])):
            for tls in (False, True):
                routers[name + ("-tls" if tls else "")] = router(
                    "Host(`%s.test`)" % name, "a", middlewares=mws, tls={} if tls else None)
        dynamic = {"http": {"routers": routers, "middlewares": {"buffer": {"buffering": {}}},
                            "services": {"a": service(cls.a.url)}}}
        path = write_file_atomic(make_temp_dir() / "dynamic.yml", dynamic)
        cls.portier = started(Portier(http_config({"web": {
            "address": "%s:%d" % (cls.ip, cls.port),
            "transport": {"respondingTimeouts": {"readTimeout": "%ds" % READ_TIMEOUT,
                                                 "idleTimeout": "%ds" % IDLE_TIMEOUT}}}}, path)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.a.close()

    def half_body_closed_after(self, sock):
        """Sends a head announcing 100 bytes and 50 of them, then nothing: seconds until portier
        closes the connection (None if it stays open for 3 s past the readTimeout)."""
        start = time.monotonic()
        deadline = start + READ_TIMEOUT + 3
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
                return time.monotonic() - start
            except (socket.timeout, TimeoutError):
                return None
            if not data:
                return time.monotonic() - start
        return None

    def request_head(self, host):
        return (b"POST /half HTTP/1.1\r\nHost: %s\r\nContent-Length: 100\r\n\r\n" % host.encode()) + b"x" * 50

    def test_half_a_body_is_cut_at_the_read_timeout_over_http1(self):
        for host in ("stream.test", "buffered.test"):
            for tls in (False, True):
                with self.subTest(host=host, tls=tls):
                    raw = socket.create_connection((self.ip, self.port), timeout=5)
                    sock = raw
                    if tls:
                        ctx = ssl._create_unverified_context()
                        sock = ctx.wrap_socket(raw, server_hostname=host)
                    try:
                        sock.sendall(self.request_head(host))
                        elapsed = self.half_body_closed_after(sock)
                    finally:
                        sock.close()
                    self.assertIsNotNone(elapsed, "connection still open 3 s after the readTimeout")
                    self.assertGreater(elapsed, READ_TIMEOUT - 0.5)
                    self.assertLess(elapsed, READ_TIMEOUT + 1.5)
        self.assertNotIn("/half", self.a.paths())

    def test_half_a_body_is_cut_at_the_read_timeout_over_h2c(self):
        # A raw h2c client (curl blocks on its upload source and would not read the answer).
        for host in ("stream.test", "buffered.test"):
            with self.subTest(host=host):
                elapsed, body, ended = h2c_stalled_upload(self.ip, self.port, host)
                self.assertIsNotNone(elapsed, "no answer 3 s past the readTimeout")
                self.assertEqual(body, b"Request Timeout\n")  # the 408's body
                self.assertTrue(ended)
                self.assertGreater(elapsed, READ_TIMEOUT - 0.5)
                self.assertLess(elapsed, READ_TIMEOUT + 1.5)
        self.assertNotIn("/half", self.a.paths())

    def test_a_complete_request_is_not_affected(self):
        with RawClient(self.ip, self.port) as c:
            c.send(b"POST /whole HTTP/1.1\r\nHost: buffered.test\r\nContent-Length: 3\r\n\r\nabc")
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json()["body_len"], 3)

    def test_idle_websocket_is_closed_after_the_idle_timeout(self):
        key = base64.b64encode(os.urandom(16)).decode()
        with RawClient(self.ip, self.port) as c:
            c.send(("GET /ws HTTP/1.1\r\nHost: stream.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
            status, _, _ = c.read_head()
            self.assertEqual(status, 101)
            # Traffic keeps it open past the idle timeout...
            start = time.monotonic()
            while time.monotonic() - start < IDLE_TIMEOUT * 2:
                c.send(ws_frame(0x1, b"tick", mask=True))
                self.assertEqual(read_ws_frame(_Reader(c))[2], b"tick")
                quiet = time.monotonic()  # the last byte moved
                self.assertFalse(c.is_closed(timeout=IDLE_TIMEOUT / 4))
            # ... silence closes it.
            self.assertTrue(c.is_closed(timeout=IDLE_TIMEOUT + 3), "idle tunnel still open")
            self.assertGreater(time.monotonic() - quiet, IDLE_TIMEOUT * 0.75)


class WriteTimeout(unittest.TestCase):
    WRITE_TIMEOUT = 1.0

    @classmethod
    def setUpClass(cls):
        cls.a = Backend("w", NET + ".3")
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        dynamic = {"http": {"routers": {"w": router("Host(`w.test`)", "a"), "w-tls": router("Host(`w.test`)", "a", tls={})},
                            "services": {"a": service(cls.a.url)}}}
        path = write_file_atomic(make_temp_dir() / "dynamic.yml", dynamic)
        cls.portier = started(Portier(http_config({"web": {
            "address": "%s:%d" % (cls.ip, cls.port),
            "transport": {"respondingTimeouts": {"writeTimeout": "%ds" % cls.WRITE_TIMEOUT}}}}, path)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.a.close()

    def test_a_response_in_time_is_served(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = proto_request(protocol, "GET", self.ip, self.port, "/slow/100", headers={"Host": "w.test"})
                self.assertEqual(r.status, 200, r)

    def test_a_response_later_than_the_write_timeout_is_cut_over_http1(self):
        sock = socket.create_connection((self.ip, self.port), timeout=8)
        try:
            sock.sendall(b"GET /slow/2500 HTTP/1.1\r\nHost: w.test\r\n\r\n")
            start = time.monotonic()
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                data = b""
            elapsed = time.monotonic() - start
        finally:
            sock.close()
        self.assertEqual(data, b"", "a response was sent after the writeTimeout")
        self.assertLess(elapsed, 5)

    def test_a_response_later_than_the_write_timeout_is_cut_over_http2(self):
        for protocol, flag, scheme in (("h2c", "--http2-prior-knowledge", "http"), ("h2-tls", "--http2", "https")):
            with self.subTest(protocol):
                out = subprocess.run(["curl", "-sS", "-k", flag, "-o", "/dev/null", "-w", "%{http_code}",
                                      "-H", "Host: w.test", "--max-time", "8",
                                      "%s://%s:%d/slow/2500" % (scheme, self.ip, self.port)],
                                     capture_output=True, timeout=15)
                self.assertEqual(out.stdout.decode(), "000", out.stderr)
                self.assertNotEqual(out.returncode, 0)


def _frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def _literal(name, value):
    """HPACK literal header field without indexing, new name, no Huffman (short strings)."""
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def h2c_stalled_upload(ip, port, host):
    """Opens stream 1 with a POST, sends 50 bytes of DATA and never ends it. Returns (seconds
    until the stream ended or was reset, DATA received on it, whether the response ended with
    END_STREAM), or (None, ...) when nothing ended it within READ_TIMEOUT + 3 s."""
    sock = socket.create_connection((ip, port), timeout=5)
    try:
        block = b"".join(_literal(n, v) for n, v in ((b":method", b"POST"), (b":scheme", b"http"),
                                                      (b":path", b"/half"), (b":authority", host.encode())))
        sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + _frame(4, 0, 0) + _frame(1, 0x4, 1, block)
                     + _frame(0, 0, 1, b"x" * 50))
        start = time.monotonic()
        deadline = start + READ_TIMEOUT + 3
        buf, body, ended = b"", b"", False
        while time.monotonic() < deadline:
            while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
                length, kind, flags = int.from_bytes(buf[:3], "big"), buf[3], buf[4]
                stream = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
                payload, buf = buf[9:9 + length], buf[9 + length:]
                if kind == 4 and not flags & 1:
                    sock.sendall(_frame(4, 1, 0))  # SETTINGS ACK
                if stream != 1:
                    continue
                if kind == 0:
                    body += payload
                if kind in (0, 1) and flags & 1:
                    ended = True
                    return time.monotonic() - start, body, ended
                if kind == 3:  # RST_STREAM
                    return time.monotonic() - start, body, ended
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = sock.recv(65536)
            except (socket.timeout, TimeoutError):
                break
            if not data:
                break
            buf += data
        return None, body, ended
    finally:
        sock.close()


class _Reader:
    """A file-like read(n) over a RawClient for read_ws_frame."""

    def __init__(self, client):
        self.c = client

    def read(self, n):
        return self.c._take(n)


if __name__ == "__main__":
    unittest.main()
