"""HTTP/2 towards clients (SPEC 5, 11): h2c with prior knowledge on a cleartext entrypoint,
with real clients (curl, nghttp, h2load) through the real binary to an HTTP/1.1 backend."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import unittest

from portier_e2e import ProxyTest, big_body, make_temp_dir, router, service

NET = "127.0.42"


def run(cmd, timeout=60, input=None):
    return subprocess.run(cmd, capture_output=True, timeout=timeout, input=input)


class Http2Cleartext(ProxyTest, unittest.TestCase):
    IP = NET + ".1"
    BACKENDS = [("h2", NET + ".2")]

    @classmethod
    def dynamic(cls):
        return {"http": {
            "routers": {"h2": router("Host(`h2.test`)", "h2")},
            "services": {"h2": service(cls.b["h2"].url)},
        }}

    def curl(self, path, *args, host="h2.test"):
        """curl with h2c prior knowledge: (status, http_version, body bytes)."""
        out = run(["curl", "-sS", "--http2-prior-knowledge", "-H", "Host: " + host, "-o", "-",
                   "-w", "\n%{http_code} %{http_version}", *args, self.url(path)])
        self.assertEqual(out.returncode, 0, out.stderr)
        body, _, tail = out.stdout.rpartition(b"\n")
        code, version = tail.decode().split()
        return int(code), version, body

    def test_curl_prior_knowledge_get(self):
        code, version, body = self.curl("/hello?x=1")
        self.assertEqual((code, version), (200, "2"))
        info = json.loads(body)
        self.assertEqual(info["backend"], "h2")
        self.assertEqual(info["target"], "/hello?x=1")
        self.assertEqual(info["version"], "HTTP/1.1")  # upstreams speak HTTP/1.1
        self.assertEqual(info["headers"]["host"], "h2.test")
        self.assertEqual(info["headers"]["x-forwarded-proto"], "http")
        self.assertEqual(info["headers"]["x-forwarded-for"], "127.0.0.1")

    def test_unknown_host_is_404(self):
        code, version, body = self.curl("/", host="nobody.test")
        self.assertEqual((code, version), (404, "2"))
        self.assertEqual(body, b"404 page not found\n")

    def test_upload_and_download_bodies(self):
        payload = os.urandom(3 << 20)
        path = make_temp_dir() / "upload.bin"
        path.write_bytes(payload)
        code, _, body = self.curl("/upload", "--data-binary", "@" + str(path))
        self.assertEqual(code, 200)
        info = json.loads(body)
        self.assertEqual(info["body_len"], len(payload))
        self.assertEqual(info["body_sha256"], hashlib.sha256(payload).hexdigest())
        self.assertFalse(info["chunked"])  # curl sends Content-Length: forwarded as such
        code, _, body = self.curl("/big/%d" % (5 << 20))
        self.assertEqual(code, 200)
        self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(big_body(5 << 20)).hexdigest())

    def test_nghttp_verbose_exchange(self):
        out = run(["nghttp", "-v", "-H", ":authority: h2.test", self.url("/nghttp")])
        self.assertEqual(out.returncode, 0, out.stderr)
        text = out.stdout.decode(errors="replace")
        self.assertIn("recv SETTINGS frame", text)
        self.assertIn("(niv=", text)
        self.assertRegex(text, r"SETTINGS_MAX_CONCURRENT_STREAMS\(0x03\):100")
        self.assertIn(":status: 200", text)
        self.assertNotRegex(text, r"(?m)^\s*connection:")
        self.assertIn('"backend": "h2"', text)

    def test_h2load_without_errors(self):
        out = run(["h2load", "-c4", "-m32", "-n2000", "-H", ":authority: h2.test", self.url("/load")],
                  timeout=120)
        text = out.stdout.decode(errors="replace")
        self.assertEqual(out.returncode, 0, text + out.stderr.decode(errors="replace"))
        m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                      r"(\d+) errored, (\d+) timeout", text)
        self.assertIsNotNone(m, text)
        total, started, done, ok, failed, errored, timeout = map(int, m.groups())
        self.assertEqual((done, ok, failed, errored, timeout), (2000, 2000, 0, 0, 0), text)
        self.assertIn("2000 2xx", text)

    def test_http11_still_served_on_the_same_entrypoint(self):
        r = self.get("/plain", host="h2.test")
        self.assertBackend(r, "h2")
        self.assertEqual(r.json()["path"], "/plain")


class Http2Tls(ProxyTest, unittest.TestCase):
    """HTTP/2 over TLS, negotiated with ALPN "h2" (default certificate, self-signed)."""
    IP = NET + ".3"
    BACKENDS = [("tls", NET + ".4")]

    @classmethod
    def dynamic(cls):
        return {"http": {
            "routers": {"tls": router("Host(`h2.test`)", "tls", tls={})},
            "services": {"tls": service(cls.b["tls"].url)},
        }}

    def https(self, path):
        return "https://h2.test:%d%s" % (self.port, path)

    def resolve(self):
        return "h2.test:%d:%s" % (self.port, self.IP)

    def test_curl_negotiates_h2(self):
        out = run(["curl", "-sS", "-k", "--http2", "--resolve", self.resolve(), "-o", "-",
                   "-w", "\n%{http_code} %{http_version}", self.https("/secure")])
        self.assertEqual(out.returncode, 0, out.stderr)
        body, _, tail = out.stdout.rpartition(b"\n")
        self.assertEqual(tail.decode().split(), ["200", "2"])
        info = json.loads(body)
        self.assertEqual(info["path"], "/secure")
        self.assertEqual(info["headers"]["x-forwarded-proto"], "https")

    # Regression: the request may already sit in the TLS stream's buffers after the handshake.
    def test_curl_http11_over_tls_still_works(self):
        out = run(["curl", "-sS", "-k", "--http1.1", "--resolve", self.resolve(), "-o", "/dev/null",
                   "-w", "%{http_code} %{http_version}", self.https("/one")])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.decode().split(), ["200", "1.1"])

    def test_nghttp_over_tls(self):
        out = run(["nghttp", "-v", "-H", ":authority: h2.test", "https://%s:%d/tls-nghttp" % (self.IP, self.port)])
        self.assertEqual(out.returncode, 0, out.stderr)
        text = out.stdout.decode(errors="replace")
        self.assertIn("negotiated protocol: h2", text)
        self.assertIn(":status: 200", text)

    def test_h2load_over_tls(self):
        out = run(["h2load", "-c2", "-m16", "-n500", "-H", ":authority: h2.test",
                   "https://%s:%d/tls-load" % (self.IP, self.port)], timeout=120)
        text = out.stdout.decode(errors="replace")
        self.assertIn("500 succeeded, 0 failed, 0 errored, 0 timeout", text)


if __name__ == "__main__":
    for tool in ("curl", "nghttp", "h2load"):
        if not shutil.which(tool):
            raise SystemExit("missing client: %s (package curl / nghttp2-client)" % tool)
    unittest.main()
