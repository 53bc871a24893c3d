"""WebSocket (and other Upgrade) requests are tunnelled (SPEC 5)."""

import asyncio
import base64
import os
import unittest

from portier_e2e import ProxyTest, read_ws_frame, router, service, ws_accept, ws_frame

NET = "127.0.25"

import websockets  # python3-websockets (Debian 12: 10.4, asyncio API), installed by portier.sh


class WebSocket(ProxyTest, unittest.TestCase):
    IP = NET + ".1"
    BACKENDS = [("ws", NET + ".2")]

    @classmethod
    def dynamic(cls):
        return {"http": {
            "routers": {"ws": router("Host(`ws.test`) || Host(`%s`)" % cls.IP, "ws")},
            "services": {"ws": service(cls.b["ws"].url)},
        }}

    def upgrade(self, c, key):
        c.send(("GET /ws HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
        status, _, header_list = c.read_head()
        return status, {k.lower(): v for k, v in header_list}

    def test_raw_upgrade_and_echo(self):
        key = base64.b64encode(os.urandom(16)).decode()
        with self.raw() as c:
            status, h = self.upgrade(c, key)
            self.assertEqual(status, 101)
            self.assertEqual(h["upgrade"].lower(), "websocket")
            self.assertEqual(h["sec-websocket-accept"], ws_accept(key))
            self.assertIn("upgrade", h["connection"].lower())
            rfile = _BufferedReader(c)
            big = os.urandom(70000)  # 64-bit length form
            for opcode, payload in ((0x1, "hello".encode()), (0x2, big), (0x2, b"")):
                c.send(ws_frame(opcode, payload, mask=True))
                fin, op, echoed = read_ws_frame(rfile)
                self.assertTrue(fin)
                self.assertEqual(op, opcode)
                self.assertEqual(echoed, payload)
            c.send(ws_frame(0x9, b"ping!", mask=True))
            self.assertEqual(read_ws_frame(rfile)[1:], (0xA, b"ping!"))
            c.send(ws_frame(0x8, b"\x03\xe8bye", mask=True))
            self.assertEqual(read_ws_frame(rfile)[1:], (0x8, b"\x03\xe8bye"))
            self.assertTrue(c.is_closed(), "tunnel not closed after the backend closed")
        seen = self.b["ws"].requests[-1]["headers"]
        self.assertEqual(seen["upgrade"].lower(), "websocket")
        self.assertIn("upgrade", seen["connection"].lower())
        self.assertEqual(seen["sec-websocket-key"], key)

    def test_plain_requests_still_work_on_the_route(self):
        r = self.get("/not-ws", host="ws.test")
        self.assertBackend(r, "ws")
        self.assertNotIn("upgrade", r.json()["headers"])

    def test_websockets_library_client(self):
        async def talk():
            uri = "ws://%s:%d/ws" % (self.IP, self.port)
            async with websockets.connect(uri, open_timeout=5) as ws:
                out = []
                for msg in ("one", "two", b"\x00\x01binary"):
                    await ws.send(msg)
                    out.append(await asyncio.wait_for(ws.recv(), 5))
                return out
        self.assertEqual(asyncio.run(talk()), ["one", "two", b"\x00\x01binary"])


class _BufferedReader:
    """read(n) over a RawClient, for read_ws_frame."""

    def __init__(self, client):
        self.c = client

    def read(self, n):
        try:
            return self.c._take(n)
        except ConnectionError:
            out, self.c.buf = self.c.buf, b""
            return out


if __name__ == "__main__":
    unittest.main()
