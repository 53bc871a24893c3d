"""HTTP/1.1 connection handling (SPEC 5): keep-alive, pipelining, chunked bodies in both
directions, Expect: 100-continue."""

import hashlib
import http.client
import os
import re
import socket
import threading
import time
import unittest

from portier_e2e import ProxyTest, big_body, router, service

NET = "127.0.24"


class Connection(ProxyTest, unittest.TestCase):
    IP = NET + ".1"
    BACKENDS = [("conn", NET + ".2")]

    @classmethod
    def dynamic(cls):
        return {"http": {
            "routers": {"conn": router("Host(`conn.test`)", "conn")},
            "services": {"conn": service(cls.b["conn"].url)},
        }}

    def test_keep_alive(self):
        conn = http.client.HTTPConnection(self.IP, self.port, timeout=5)
        try:
            socks = []
            for i in range(3):
                conn.request("GET", "/ka/%d" % i, headers={"Host": "conn.test"})
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
                self.assertNotEqual((r.getheader("Connection") or "").lower(), "close")
                socks.append(conn.sock)
            self.assertIs(socks[0], socks[1])
            self.assertIs(socks[1], socks[2])
        finally:
            conn.close()

    def test_connection_close_is_honoured(self):
        with self.raw() as c:
            c.send(b"GET /close HTTP/1.1\r\nHost: conn.test\r\nConnection: close\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertTrue(c.is_closed(), "connection left open after Connection: close")

    def test_connections_whose_request_comes_late_are_answered(self):
        # Regression: the first-byte peek of a fresh connection closed it when its readiness
        # wait completed before any byte was queued (recv gave EAGAIN). That happens when the
        # client closes its previous connection first and reconnects at once (h2load --h1 -H
        # 'Connection: close'): the spurious wake-up left such clients with an EOF.
        outcomes, lock = {}, threading.Lock()
        request = b"GET /late HTTP/1.1\r\nHost: conn.test\r\nConnection: close\r\n\r\n"

        def one():
            with socket.create_connection((self.IP, self.port), timeout=5) as s:
                time.sleep(0.001)
                s.sendall(request)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = s.recv(65536)
                    if not chunk:
                        return data.split(b"\r\n", 1)[0] or b"EOF before any response"
                    data += chunk
                head, body = data.split(b"\r\n\r\n", 1)
                length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
                while len(body) < length:
                    chunk = s.recv(65536)
                    if not chunk:
                        return b"EOF inside the body"
                    body += chunk
                return head.split(b"\r\n", 1)[0]  # closed by us first, as h2load does

        def client():
            for _ in range(150):
                try:
                    key = one()
                except OSError as e:
                    key = repr(e).encode()
                with lock:
                    outcomes[key] = outcomes.get(key, 0) + 1

        threads = [threading.Thread(target=client) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        self.assertEqual(outcomes, {b"HTTP/1.1 200 OK": 2400})

    def test_http10_without_keep_alive_closes(self):
        with self.raw() as c:
            c.send(b"GET /old HTTP/1.0\r\nHost: conn.test\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json()["path"], "/old")
            self.assertTrue(c.is_closed())

    def test_pipelining_answers_in_order(self):
        with self.raw() as c:
            c.send(b"GET /slow/300 HTTP/1.1\r\nHost: conn.test\r\n\r\n"
                   b"GET /one HTTP/1.1\r\nHost: conn.test\r\n\r\n"
                   b"POST /two HTTP/1.1\r\nHost: conn.test\r\nContent-Length: 3\r\n\r\nabc")
            paths = []
            for _ in range(3):
                r = c.read_response()
                self.assertEqual(r.status, 200, r)
                paths.append(r.json()["path"])
            self.assertEqual(paths, ["/slow/300", "/one", "/two"])

    def test_chunked_request_body_forwarded_intact(self):
        body = os.urandom(1 << 20)
        with self.raw() as c:
            c.send(b"POST /upload HTTP/1.1\r\nHost: conn.test\r\nTransfer-Encoding: chunked\r\n\r\n")
            i, sizes = 0, [1, 7, 4096, 65536, 100000, 3]
            while i < len(body):
                n = sizes[i % len(sizes)]
                piece = body[i:i + n]
                c.send(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece))
                i += n
            c.send(b"0\r\n\r\n")
            r = c.read_response()
        self.assertEqual(r.status, 200, r)
        got = r.json()
        self.assertEqual(got["body_len"], len(body))
        self.assertEqual(got["body_sha256"], hashlib.sha256(body).hexdigest())

    def test_large_content_length_body(self):
        body = os.urandom(3 << 20)
        r = self.get("/upload-cl", host="conn.test", method="PUT", body=body, timeout=20)
        self.assertEqual(r.json()["body_sha256"], hashlib.sha256(body).hexdigest())

    def test_chunked_response_body(self):
        n = 5 * 1024 * 1024 + 17
        r = self.get("/big/%d" % n, host="conn.test", timeout=20)
        self.assertEqual(r.status, 200)
        self.assertEqual(len(r.body), n)
        self.assertEqual(r.body, big_body(n))

    def test_response_is_streamed(self):
        # The backend sends "first", then waits for the gate that we open only after "first"
        # arrived through the proxy: a buffering proxy would time out here.
        gate = self.b["conn"].gate("stream")
        with self.raw(timeout=8) as c:
            c.send(b"GET /gate/stream HTTP/1.1\r\nHost: conn.test\r\n\r\n")
            status, _, headers = c.read_head()
            self.assertEqual(status, 200)
            chunked = any(k.lower() == "transfer-encoding" and "chunked" in v.lower() for k, v in headers)
            got = b""
            while len(got) < 6:
                got += c.read_chunk() if chunked else c._take(6)
            self.assertEqual(got, b"first\n")
            gate.set()
            if chunked:
                while True:
                    piece = c.read_chunk()
                    if not piece:
                        break
                    got += piece
            else:
                got += c.read_until_close()
            self.assertEqual(got, b"first\nsecond\n")

    def test_expect_100_continue(self):
        with self.raw() as c:
            c.send(b"POST /expect HTTP/1.1\r\nHost: conn.test\r\nContent-Length: 5\r\n"
                   b"Expect: 100-continue\r\n\r\n")
            status, _, _ = c.read_head()
            self.assertEqual(status, 100)
            c.send(b"hello")
            r = c.read_response(skip_1xx=True)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["body_len"], 5)
            self.assertEqual(r.json()["body_sha256"], hashlib.sha256(b"hello").hexdigest())

    def test_head_response_has_no_body(self):
        with self.raw() as c:
            c.send(b"HEAD /h HTTP/1.1\r\nHost: conn.test\r\n\r\nGET /after-head HTTP/1.1\r\nHost: conn.test\r\n\r\n")
            r = c.read_response(method="HEAD")
            self.assertEqual(r.status, 200)
            r = c.read_response()
            self.assertEqual(r.json()["path"], "/after-head")

    def test_upstream_connections_are_reused(self):
        # One client connection stays on one worker, whose upstream pool must be reused.
        backend = self.b["conn"]
        conn = http.client.HTTPConnection(self.IP, self.port, timeout=5)
        try:
            def get(path):
                conn.request("GET", path, headers={"Host": "conn.test"})
                r = conn.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
            get("/warm")
            before = backend.connections
            for i in range(10):
                get("/reuse/%d" % i)
            self.assertEqual(backend.connections, before, "upstream connections were not reused")
        finally:
            conn.close()


if __name__ == "__main__":
    unittest.main()
