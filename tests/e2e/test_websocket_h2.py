"""WebSocket over HTTP/2 (RFC 8441 extended CONNECT) through portier to an HTTP/1.1 backend.

No common command-line client speaks RFC 8441 (curl and nghttp do not; python3-websockets has no
HTTP/2), so the client is the hyper-h2 protocol library (Debian python3-h2) over a plain socket
(h2c prior knowledge) or TLS with ALPN h2; the WebSocket frames are made with backend.ws_frame.
"""

import socket
import ssl
import time
import unittest

import h2.settings

from h2_client import H2Client
from portier_e2e import ProxyTest, router, service, ws_accept, ws_frame  # noqa: F401

NET = "127.0.68"


def websocket_headers(authority, path="/ws", scheme="http"):
    return [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", scheme), (":path", path),
            (":authority", authority), ("sec-websocket-version", "13"), ("origin", "http://" + authority)]


class WebSocketOverH2(ProxyTest, unittest.TestCase):
    IP = NET + ".1"
    BACKENDS = [("ws", NET + ".2")]

    @classmethod
    def dynamic(cls):
        return {"http": {
            "routers": {"ws": router("Host(`ws.test`)", "ws"), "ws-tls": router("Host(`ws.test`)", "ws", tls={})},
            "services": {"ws": service(cls.b["ws"].url)},
        }}

    def h2c(self, validate=True):
        return H2Client(socket.create_connection((self.IP, self.port), timeout=5), validate)

    def h2_tls(self):
        ctx = ssl._create_unverified_context()
        ctx.set_alpn_protocols(["h2"])
        sock = ctx.wrap_socket(socket.create_connection((self.IP, self.port), timeout=5), server_hostname="ws.test")
        self.assertEqual(sock.selected_alpn_protocol(), "h2")
        return H2Client(sock)

    def open_ws(self, client, scheme="http"):
        sid = client.request(websocket_headers("ws.test", scheme=scheme))
        client.wait(lambda: sid in client.headers or sid in client.reset, "the CONNECT response")
        self.assertEqual(client.headers.get(sid, {}).get(":status"), "200", (client.headers, client.reset))
        return sid

    def test_settings_enable_connect_protocol(self):
        client = self.h2c()
        self.assertEqual(client.remote_settings.get(h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL), 1)

    def test_echo_text_and_large_binary_both_ways(self):
        client = self.h2c()
        sid = self.open_ws(client)
        self.assertNotIn("sec-websocket-accept", client.headers[sid])
        client.send(sid, ws_frame(0x1, b"hello over h2", mask=True))
        self.assertEqual(client.take(sid, len(ws_frame(0x1, b"hello over h2")), "the echo"),
                         ws_frame(0x1, b"hello over h2"))
        # Larger than every flow-control window on the way: both directions must reopen them.
        big = bytes(range(256)) * 4096  # 1 MiB
        client.send(sid, ws_frame(0x2, big, mask=True))
        echo = client.take(sid, len(ws_frame(0x2, big)), "the 1 MiB echo")
        self.assertEqual(echo, ws_frame(0x2, big))

    def test_backend_sees_an_http11_upgrade(self):
        client = self.h2c()
        self.open_ws(client)
        seen = self.b["ws"].requests[-1]
        self.assertEqual((seen["method"], seen["path"], seen["version"]), ("GET", "/ws", "HTTP/1.1"))
        h = seen["headers"]
        self.assertEqual(h["upgrade"].lower(), "websocket")
        self.assertIn("upgrade", h["connection"].lower())
        self.assertEqual(len(h["sec-websocket-key"]), 24)  # base64 of 16 random bytes
        self.assertEqual(h["sec-websocket-version"], "13")
        self.assertEqual(h["host"], "ws.test")
        self.assertEqual(h["x-forwarded-proto"], "ws")
        self.assertEqual(h["origin"], "http://ws.test")

    def test_close_ends_the_stream(self):
        client = self.h2c()
        sid = self.open_ws(client)
        client.send(sid, ws_frame(0x8, b"\x03\xe8bye", mask=True))
        client.wait(lambda: sid in client.ended, "END_STREAM after the backend closed")
        self.assertEqual(client.data[sid], ws_frame(0x8, b"\x03\xe8bye"))

    def test_two_tunnels_on_one_connection_and_over_tls(self):
        for client, scheme in ((self.h2c(), "http"), (self.h2_tls(), "https")):
            a, b = self.open_ws(client, scheme), self.open_ws(client, scheme)
            client.send(b, ws_frame(0x1, b"to b", mask=True))
            client.send(a, ws_frame(0x1, b"to a", mask=True))
            self.assertEqual(client.take(a, 6, "echo on a"), ws_frame(0x1, b"to a"))
            self.assertEqual(client.take(b, 6, "echo on b"), ws_frame(0x1, b"to b"))
        self.assertEqual(self.b["ws"].requests[-1]["headers"]["x-forwarded-proto"], "wss")

    def test_other_connect_is_still_501(self):
        client = self.h2c(validate=False)  # hyper-h2 would insist on :path, which CONNECT has not
        sid = client.request([(":method", "CONNECT"), (":authority", "ws.test:443")])
        client.wait(lambda: sid in client.headers or sid in client.reset, "the CONNECT answer")
        self.assertEqual(client.headers[sid][":status"], "501")

    def test_backend_refusal_is_relayed(self):
        client = self.h2c()
        sid = client.request(websocket_headers("ws.test", path="/status/403"))
        client.wait(lambda: sid in client.ended or sid in client.reset, "the refusal")
        self.assertEqual(client.headers[sid][":status"], "403")


class IdleTunnelOverH2(ProxyTest, unittest.TestCase):
    """The entrypoint's idleTimeout ends an RFC 8441 tunnel in which nothing moved for that long."""
    IP = NET + ".3"
    BACKENDS = [("ws", NET + ".4")]
    WEB = {"transport": {"respondingTimeouts": {"idleTimeout": "1s"}}}

    @classmethod
    def dynamic(cls):
        return {"http": {"routers": {"ws": router("Host(`ws.test`)", "ws")},
                         "services": {"ws": service(cls.b["ws"].url)}}}

    def test_idle_tunnel_is_reset_after_the_idle_timeout(self):
        client = H2Client(socket.create_connection((self.IP, self.port), timeout=5))
        sid = client.request(websocket_headers("ws.test"))
        client.wait(lambda: sid in client.headers or sid in client.reset, "the CONNECT response")
        self.assertEqual(client.headers.get(sid, {}).get(":status"), "200", (client.headers, client.reset))
        start = time.monotonic()
        while time.monotonic() - start < 2.0:  # traffic keeps it open past the idle timeout
            client.send(sid, ws_frame(0x1, b"tick", mask=True))
            self.assertEqual(client.take(sid, len(ws_frame(0x1, b"tick")), "the echo"), ws_frame(0x1, b"tick"))
            quiet = time.monotonic()  # the last byte moved
            client.pump(0.25)
            self.assertNotIn(sid, client.reset)
        client.wait(lambda: sid in client.reset or sid in client.ended, "the idle tunnel's end", timeout=5)
        self.assertGreater(time.monotonic() - quiet, 0.75)


if __name__ == "__main__":
    unittest.main()
