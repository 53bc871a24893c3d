"""The compress middleware (issue 16 item 1) over each of PROTOCOLS, with real decoders: curl
fetches the coded body as sent, and `gzip`, `brotli` and `zstd` decode it back to the
backend's bytes (sha256 compared); `curl --compressed` reads it as a browser would. Covered:
negotiation by q-value and preference order, defaultEncoding, bodies with a length, chunked and
close-delimited, what is never compressed (small, already encoded, excluded types, HEAD, 206,
no Accept-Encoding), Vary, a 100 MB streamed body with bounded memory, and the label form."""

import hashlib
import os
import subprocess
import tempfile
import unittest

from backend import big_body
from portier_e2e import (PROTOCOLS, Backend, Portier, check_compose, both_sides, free_port, http_config, make_temp_dir,
                         service, started, write_file_atomic)

NET = "127.0.91"
DECODERS = {"gzip": ["gzip", "-dc"], "br": ["brotli", "-dc"], "zstd": ["zstd", "-dcq"]}
CURL_PROTOCOL = {"h1": ("http", ["--http1.1"]), "h1-tls": ("https", ["--http1.1"]),
                 "h2-tls": ("https", ["--http2"]), "h2c": ("http", ["--http2-prior-knowledge"])}


def sha(data):
    return hashlib.sha256(data).hexdigest()


class Fetched:
    def __init__(self, status, headers, body, version):
        self.status, self.headers, self.body, self.version = status, headers, body, version

    def header(self, name):
        """The field's values joined with ", " (as a list field reads), "" when absent."""
        return ", ".join(v for k, v in self.headers if k.lower() == name.lower())


def curl(protocol, ip, port, host, path, accept=None, extra=()):
    """One request with curl over `protocol`; the body as sent on the wire (not decoded)."""
    scheme, flags = CURL_PROTOCOL[protocol]
    with tempfile.TemporaryDirectory(prefix="portier-compress-") as tmp:
        head_path, body_path = os.path.join(tmp, "head"), os.path.join(tmp, "body")
        args = ["curl", "-sS", "-k", *flags, "-D", head_path, "-o", body_path, "-w", "%{http_version}",
                "--max-time", "60", "-H", "Host: " + host, *extra]
        if accept is not None:  # curl sends a field with an empty value as "Name;"
            args += ["-H", "Accept-Encoding: " + accept if accept else "Accept-Encoding;"]
        args.append("%s://%s:%d%s" % (scheme, ip, port, path))
        out = subprocess.run(args, capture_output=True, timeout=90)
        if out.returncode != 0:
            raise AssertionError("curl %s failed: %s" % (protocol, out.stderr.decode(errors="replace")))
        with open(head_path, "rb") as f:
            blocks = [b for b in f.read().decode("latin-1").replace("\r\n", "\n").split("\n\n")
                      if b.startswith("HTTP/")]
        lines = blocks[-1].split("\n")
        headers = [(n.strip(), v.strip()) for n, _, v in (l.partition(":") for l in lines[1:] if ":" in l)]
        with open(body_path, "rb") as f:
            body = f.read()
    return Fetched(int(lines[0].split()[1]), headers, body, out.stdout.decode().strip())


def decode(coding, data):
    out = subprocess.run(DECODERS[coding], input=data, capture_output=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError("%s could not decode: %s" % (coding, out.stderr.decode(errors="replace")))
    return out.stdout


class Compress(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = Backend("app", NET + ".2")
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        routers = {}
        for name in ("all", "zstd-first", "default", "no-images", "only-json", "tiny"):
            routers.update(both_sides(name, name + ".test", "app", [name]))
        routers.update(both_sides("capped", "capped.test", "app", ["all", "capped"]))
        middlewares = {
            "all": {"compress": {}},
            "zstd-first": {"compress": {"encodings": ["zstd", "br", "gzip"]}},
            "default": {"compress": {"defaultEncoding": "br"}},
            "no-images": {"compress": {"excludedContentTypes": ["image/png", "text/event-stream"]}},
            "only-json": {"compress": {"includedContentTypes": ["application/json"]}},
            "tiny": {"compress": {"minResponseBodyBytes": 10}},
            "capped": {"buffering": {"maxResponseBodyBytes": 100000}},
        }
        path = write_file_atomic(make_temp_dir() / "dynamic.yml", {"http": {
            "routers": routers, "middlewares": middlewares, "services": {"app": service(cls.backend.url)}}})
        cls.portier = started(Portier(http_config({"web": "%s:%d" % (cls.ip, cls.port)}, path)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.backend.close()

    def get(self, protocol, host, path, accept=None, extra=()):
        r = curl(protocol, self.ip, self.port, host, path, accept, extra)
        self.assertEqual(r.version, "1.1" if protocol.startswith("h1") else "2")
        return r

    def assert_coded(self, r, coding, expected):
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-encoding"), coding)
        self.assertEqual(r.header("content-length"), "")
        self.assertIn("Accept-Encoding", r.header("vary"))
        self.assertLess(len(r.body), len(expected))
        self.assertEqual(sha(decode(coding, r.body)), sha(expected))

    def assert_plain(self, r, expected=None):
        self.assertEqual(r.header("content-encoding"), "")
        if expected is not None:
            self.assertEqual(sha(r.body), sha(expected))

    def test_each_coding_round_trips_for_each_framing(self):
        # /sized: Content-Length; /big: chunked; /close: ended by the upstream's close.
        for protocol in PROTOCOLS:
            for coding in ("gzip", "br", "zstd"):
                for path, n in (("/sized/", 200000), ("/big/", 300000), ("/close/", 50000)):
                    with self.subTest(protocol=protocol, coding=coding, path=path):
                        r = self.get(protocol, "all.test", "%s%d" % (path, n), accept=coding)
                        self.assert_coded(r, coding, big_body(n))

    def test_max_response_body_bytes_cuts_a_compressed_body(self):
        # buffering.maxResponseBodyBytes counts the upstream's payload of a body a filter
        # transforms: under it the body is whole; over it, the response is cut short on every
        # protocol (HTTP/1.1 closes before the last chunk, HTTP/2 resets the stream), never
        # completed with a truncated body.
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                self.assert_coded(self.get(protocol, "capped.test", "/big/50000", accept="gzip"),
                                  "gzip", big_body(50000))
                scheme, flags = CURL_PROTOCOL[protocol]
                out = subprocess.run(
                    ["curl", "-sS", "-k", *flags, "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "60",
                     "-H", "Host: capped.test", "-H", "Accept-Encoding: gzip",
                     "%s://%s:%d/big/400000" % (scheme, self.ip, self.port)],
                    capture_output=True, timeout=90)
                # Cut, with or without the head: over HTTP/2 the stream's reset may overtake the
                # HEADERS still queued in nghttp2, and then curl saw no status ("000").
                self.assertIn(out.stdout.decode(), ("200", "000"))
                self.assertNotEqual(out.returncode, 0, "a body over the limit completed")

    def test_negotiation(self):
        cases = [  # (host, Accept-Encoding, chosen coding or "" for none)
            ("all.test", "gzip, deflate, br, zstd", "gzip"),  # equal q: the configured order
            ("zstd-first.test", "gzip, deflate, br, zstd", "zstd"),
            ("all.test", "gzip;q=0.5, br;q=0.8, zstd;q=0.1", "br"),
            ("all.test", "gzip;q=0, br;q=0", ""),
            ("all.test", "deflate, compress", ""),
            ("all.test", "identity", ""),
            ("all.test", "*", "gzip"),
            ("default.test", "*", "br"),
            ("all.test", None, ""),  # no Accept-Encoding: no coding
            ("default.test", None, "br"),  # ... unless defaultEncoding is set
            ("default.test", "", ""),  # an empty field: no coding
        ]
        body = big_body(20000)
        for protocol in PROTOCOLS:
            for host, accept, coding in cases:
                with self.subTest(protocol=protocol, host=host, accept=accept):
                    r = self.get(protocol, host, "/sized/20000", accept=accept)
                    if coding:
                        self.assert_coded(r, coding, body)
                    else:
                        self.assert_plain(r, body)

    def test_responses_left_alone(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol, case="under minResponseBodyBytes"):
                r = self.get(protocol, "all.test", "/sized/1000", accept="gzip")
                self.assert_plain(r, big_body(1000))
                self.assertEqual(r.header("content-length"), "1000")
                self.assertIn("Accept-Encoding", r.header("vary"))
            with self.subTest(protocol=protocol, case="minResponseBodyBytes: 10"):
                self.assert_coded(self.get(protocol, "tiny.test", "/sized/1000", accept="gzip"), "gzip",
                                  big_body(1000))
            with self.subTest(protocol=protocol, case="already encoded"):
                r = self.get(protocol, "all.test", "/sized/5000?set-header=Content-Encoding:x-own", accept="gzip")
                self.assertEqual(r.header("content-encoding"), "x-own")
                self.assertEqual(sha(r.body), sha(big_body(5000)))
            with self.subTest(protocol=protocol, case="excluded type"):
                r = self.get(protocol, "no-images.test", "/sized/5000?set-header=Content-Type:image/png",
                             accept="gzip")
                self.assert_plain(r, big_body(5000))
                self.assert_coded(self.get(protocol, "no-images.test", "/sized/5000", accept="gzip"), "gzip",
                                  big_body(5000))
            with self.subTest(protocol=protocol, case="application/grpc is always excluded"):
                r = self.get(protocol, "all.test", "/sized/5000?set-header=Content-Type:application/grpc",
                             accept="gzip")
                self.assert_plain(r, big_body(5000))
            with self.subTest(protocol=protocol, case="includedContentTypes"):
                r = self.get(protocol, "only-json.test", "/sized/5000", accept="gzip")  # octet-stream
                self.assert_plain(r, big_body(5000))
                for content_type in ("application/json", "Application/JSON;+charset=utf-8"):
                    # a pattern without parameters matches the type with any
                    r = self.get(protocol, "only-json.test", "/sized/5000?set-header=Content-Type:" + content_type,
                                 accept="gzip")
                    self.assert_coded(r, "gzip", big_body(5000))
            with self.subTest(protocol=protocol, case="206 and Content-Range"):
                r = self.get(protocol, "all.test", "/status/206?set-header=Content-Range:bytes+0-9/100"
                             + "&pad=" + "x" * 2000, accept="gzip")
                self.assertEqual(r.status, 206)
                self.assertEqual(r.header("content-encoding"), "")
            with self.subTest(protocol=protocol, case="HEAD"):
                r = self.get(protocol, "all.test", "/sized/5000", accept="gzip", extra=["--head"])
                self.assertEqual(r.header("content-encoding"), "")
                self.assertEqual(r.header("vary"), "")

    def test_curl_compressed_reads_it_as_a_browser(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                scheme, flags = CURL_PROTOCOL[protocol]
                out = subprocess.run(["curl", "-sS", "-k", *flags, "--compressed", "-H", "Host: all.test",
                                      "-w", "\n%{size_download}", "%s://%s:%d/big/400000" % (scheme, self.ip, self.port)],
                                     capture_output=True, timeout=60)
                self.assertEqual(out.returncode, 0, out.stderr)
                body, _, wire = out.stdout.rpartition(b"\n")
                self.assertEqual(sha(body), sha(big_body(400000)))
                self.assertLess(int(wire), 400000 // 10)  # what crossed the wire was coded

    def test_a_100_mb_body_streams_in_bounded_memory(self):
        n = 100 * 1024 * 1024
        expected = sha(big_body(n))
        for protocol in ("h1", "h2c"):
            with self.subTest(protocol=protocol):
                r = self.get(protocol, "all.test", "/big/%d" % n, accept="zstd")
                self.assertEqual(r.header("content-encoding"), "zstd")
                self.assertEqual(sha(decode("zstd", r.body)), expected)
        # Peak resident memory of the whole process after 200 MB went through: a body held
        # whole would show here. (Not under ASan, whose quarantine keeps freed memory.)
        if os.environ.get("PORTIER_E2E_SANITIZED"):
            return
        with open("/proc/%d/status" % self.portier.proc.pid) as f:
            peak_kb = int(next(l for l in f if l.startswith("VmHWM:")).split()[1])
        self.assertLess(peak_kb, 64 * 1024, "peak RSS %d KiB" % peak_kb)

    def test_labels(self):
        code, doc = check_compose(NET + ".1", """\
name: shrink
services:
  web:
    image: test/busybox:1
    network_mode: host
    labels:
      - traefik.enable=true
      - traefik.http.routers.web.rule=Host(`web.example.test`)
      - traefik.http.routers.web.middlewares=squeeze
      - traefik.http.services.web.loadbalancer.server.port=8080
      - traefik.http.middlewares.squeeze.compress.encodings=zstd,gzip
      - traefik.http.middlewares.squeeze.compress.defaultencoding=gzip
      - traefik.http.middlewares.squeeze.compress.excludedcontenttypes=text/event-stream
      - traefik.http.middlewares.squeeze.compress.minresponsebodybytes=2048
      - traefik.http.routers.bad.rule=Host(`bad.example.test`)
      - traefik.http.routers.bad.middlewares=bad
      - traefik.http.middlewares.bad.compress.encodings=gzip,deflate
""")
        self.assertEqual(doc["http"]["middlewares"]["squeeze@docker"]["compress"], {
            "encodings": ["zstd", "gzip"], "defaultEncoding": "gzip",
            "excludedContentTypes": ["text/event-stream"], "minResponseBodyBytes": 2048})
        self.assertEqual(code, 1, doc)
        self.assertIn('compress.encodings: "deflate" is not supported (gzip, br, zstd)',
                      [e["message"] for e in doc["errors"]])


if __name__ == "__main__":
    unittest.main()
