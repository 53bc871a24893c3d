"""h2c upstreams (SPEC 5, issue 4): portier forwards HTTP/1.1 and HTTP/2 clients to a real
cleartext HTTP/2 server with prior knowledge (nghttpd --no-tls, package nghttp2-server):
bodies intact both ways, trailers passed on, one pooled upstream connection reused."""

import hashlib
import os
import subprocess
import unittest

from portier_e2e import (ProxyTest, RawClient, _live_procs, _set_pdeathsig, free_port, make_temp_dir,
                         router, service, wait_until)

NET = "127.0.48"
H2C_IP = NET + ".2"


def sha(data):
    return hashlib.sha256(data).hexdigest()


class UpstreamH2c(ProxyTest, unittest.TestCase):
    IP = NET + ".1"

    @classmethod
    def setUpClass(cls):
        cls.docs = make_temp_dir()
        cls.big = os.urandom(1 << 20)
        (cls.docs / "big.bin").write_bytes(cls.big)
        (cls.docs / "hello.txt").write_bytes(b"hello h2c\n")
        cls.h2c_port = free_port(H2C_IP)
        cls.h2c_log = cls.docs.parent / (cls.docs.name + "-nghttpd.log")
        log = open(cls.h2c_log, "wb")
        cls.nghttpd = subprocess.Popen(
            ["nghttpd", "--no-tls", "-a", H2C_IP, "-d", str(cls.docs), "--echo-upload",
             "--trailer", "grpc-status: 0", str(cls.h2c_port)],
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=_set_pdeathsig)
        _live_procs.append(cls.nghttpd)
        log.close()
        wait_until(cls.h2c_listening, what="nghttpd listening")
        super().setUpClass()

    @classmethod
    def h2c_listening(cls):
        import socket
        with socket.create_connection((H2C_IP, cls.h2c_port), timeout=1):
            return True

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.nghttpd.kill()
        cls.nghttpd.wait(5)

    @classmethod
    def dynamic(cls):
        url = "h2c://%s:%d" % (H2C_IP, cls.h2c_port)
        hc = {"interval": "100ms", "timeout": "1s"}
        return {"http": {
            "routers": {"h2c": router("Host(`h2c.test`)", "h2c"),
                        "hc-ok": router("Host(`hc-ok.test`)", "hc-ok"),
                        "hc-bad": router("Host(`hc-bad.test`)", "hc-bad")},
            "services": {"h2c": service(url),
                         "hc-ok": service(url, healthCheck=dict(hc, path="/hello.txt")),
                         "hc-bad": service(url, healthCheck=dict(hc, path="/missing"))},
        }}

    def upstream_connections(self):
        """Local ports of the established TCP connections to nghttpd (portier's side)."""
        out = subprocess.run(["ss", "-Htn", "state", "established", "dst", "%s:%d" % (H2C_IP, self.h2c_port)],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0, out.stderr)
        return {line.split()[-2] for line in out.stdout.splitlines() if line.strip()}

    def curl(self, path, *args, http2=False):
        cmd = ["curl", "-sS", "-H", "Host: h2c.test", "-o", "-", "-w", "\n%{http_code} %{http_version}"]
        if http2:
            cmd.append("--http2-prior-knowledge")
        out = subprocess.run([*cmd, *args, self.url(path)], capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        body, _, tail = out.stdout.rpartition(b"\n")
        code, version = tail.decode().split()
        return int(code), version, body

    def test_http1_client_download(self):
        code, version, body = self.curl("/big.bin")
        self.assertEqual((code, version), (200, "1.1"))
        self.assertEqual(sha(body), sha(self.big))

    def test_http2_client_download(self):
        code, version, body = self.curl("/big.bin", http2=True)
        self.assertEqual((code, version), (200, "2"))
        self.assertEqual(sha(body), sha(self.big))

    def test_uploads_reach_the_server_intact(self):
        upload = self.docs.parent / (self.docs.name + "-upload.bin")
        upload.write_bytes(self.big)
        for args in ((), ("-H", "Transfer-Encoding: chunked"), ("--http2-prior-knowledge",)):
            code, _, body = self.curl("/echo", "--data-binary", "@%s" % upload, *args)
            self.assertEqual(code, 200, args)
            self.assertEqual(sha(body), sha(self.big), args)  # nghttpd --echo-upload

    def test_not_found_and_head(self):
        self.assertEqual(self.curl("/missing")[0], 404)
        code, _, body = self.curl("/hello.txt", "-I")
        self.assertEqual(code, 200)
        self.assertIn(b"content-length: 10", body.lower())

    def test_trailers_reach_an_http1_client(self):
        with RawClient(self.IP, self.port) as c:
            c.send(b"POST /echo HTTP/1.1\r\nHost: h2c.test\r\nContent-Length: 5\r\n\r\nabcde")
            status, _, header_list = c.read_head()
            headers = {k.lower(): v for k, v in header_list}
            self.assertEqual(status, 200)
            self.assertEqual(headers.get("transfer-encoding"), "chunked")
            size = int(c._take_until(b"\r\n"), 16)
            self.assertEqual(c._take(size + 2), b"abcde\r\n")
            self.assertEqual(c._take_until(b"\r\n"), b"0\r\n")
            self.assertIn(b"grpc-status: 0\r\n", c._take_until(b"\r\n\r\n"))

    def test_trailers_reach_an_http2_client(self):
        body = self.docs.parent / (self.docs.name + "-small.txt")
        body.write_bytes(b"abcde")
        out = subprocess.run(["nghttp", "-v", "-H", ":authority: h2c.test", "-d", str(body), self.url("/echo")],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        log = out.stdout
        self.assertIn("abcde", log)
        # A trailing HEADERS frame ends the stream and carries grpc-status.
        self.assertRegex(log, r"recv \(stream_id=\d+\) grpc-status: 0")
        trailer = log.rindex("recv HEADERS frame")
        self.assertLess(log.index("recv DATA frame"), trailer)
        self.assertIn("END_STREAM", log[trailer:])

    def test_health_checks_speak_h2c(self):
        # nghttpd answers a plain HTTP/1.1 GET with no HTTP response: healthy means h2c was used.
        wait_until(lambda: self.get("/hello.txt", host="hc-bad.test").status == 503, what="404 health path: down")
        r = self.get("/hello.txt", host="hc-ok.test")
        self.assertEqual((r.status, r.body), (200, b"hello h2c\n"))
        self.assertIn("hc-bad", self.portier.logs())

    def test_requests_reuse_one_upstream_connection(self):
        with RawClient(self.IP, self.port) as c:  # one client connection: one worker, one pool
            c.send(b"GET /hello.txt HTTP/1.1\r\nHost: h2c.test\r\n\r\n")
            self.assertEqual(c.read_response().body, b"hello h2c\n")
            before = self.upstream_connections()
            self.assertTrue(before)
            for _ in range(5):
                c.send(b"GET /hello.txt HTTP/1.1\r\nHost: h2c.test\r\n\r\n")
                r = c.read_response()
                self.assertEqual((r.status, r.body), (200, b"hello h2c\n"))
            # The pooled connection is still there, and every new one is a health check's
            # (hc-ok/hc-bad probe the same nghttpd every 100 ms and close): none stays open.
            after = self.upstream_connections()
            self.assertTrue(before & after, (before, after))
            new = after - before
            wait_until(lambda: not (self.upstream_connections() & new), 5, "no new upstream connection kept")


if __name__ == "__main__":
    unittest.main()
