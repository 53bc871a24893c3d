"""Entrypoint keys of issue 18 item 2 that change what a client sees:
`http2.maxConcurrentStreams` is the SETTINGS_MAX_CONCURRENT_STREAMS portier announces on h2
(TLS) and h2c, read from the SETTINGS frame nghttp receives; `reusePort` and
`allowACMEByPass` load (portier always binds with SO_REUSEPORT and has no HTTP-01 handler, so
a router serves /.well-known/acme-challenge/ itself)."""

import re
import subprocess
import unittest

from portier_e2e import Backend, Portier, free_port, http_config, make_temp_dir, proto_request, router, service, \
    started, write_file_atomic

NET = "127.0.93"


def announced_max_streams(url):
    """SETTINGS_MAX_CONCURRENT_STREAMS of the server's SETTINGS frame as nghttp receives it."""
    out = subprocess.run(["nghttp", "-nv", "-t", "10", url], capture_output=True, text=True, timeout=20).stdout
    frames = re.split(r"\n(?=\[\s*\d+\.\d+\])", out)
    received = [f for f in frames if re.search(r"recv SETTINGS frame <length=\d+, flags=0x00", f)]
    if not received:
        raise AssertionError("no SETTINGS received from %s:\n%s" % (url, out))
    m = re.search(r"SETTINGS_MAX_CONCURRENT_STREAMS\(0x03\):(\d+)", received[0])
    return int(m.group(1)) if m else None


class EntryPointKeys(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = Backend("keys", NET + ".2")
        cls.dir = make_temp_dir()
        cls.capped, cls.default = free_port(NET + ".1"), free_port(NET + ".1")
        rule = "Host(`%s.1`)" % NET
        dynamic = write_file_atomic(cls.dir / "dynamic.yml", {"http": {
            "routers": {"k": router(rule, "keys", entry_points=("capped", "default")),
                        "k-tls": router(rule, "keys", entry_points=("capped", "default"), tls={})},
            "services": {"keys": service(cls.backend.url)}}})
        cls.portier = started(Portier(http_config({
            "capped": {"address": "%s.1:%d" % (NET, cls.capped), "http2": {"maxConcurrentStreams": 7},
                       "reusePort": True, "allowACMEByPass": True},
            "default": {"address": "%s.1:%d" % (NET, cls.default)}}, dynamic)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.backend.close()

    def test_max_concurrent_streams_is_announced(self):
        for scheme in ("http", "https"):  # h2c (prior knowledge) and h2 over TLS
            with self.subTest(scheme=scheme):
                self.assertEqual(announced_max_streams("%s://%s.1:%d/" % (scheme, NET, self.capped)), 7)
                self.assertEqual(announced_max_streams("%s://%s.1:%d/" % (scheme, NET, self.default)), 100)

    def test_acme_challenge_path_goes_to_the_router(self):
        for protocol in ("h1", "h1-tls", "h2-tls", "h2c"):
            with self.subTest(protocol=protocol):
                r = proto_request(protocol, "GET", NET + ".1", self.capped, "/.well-known/acme-challenge/token",
                                  headers={"Host": NET + ".1"})
                self.assertEqual(r.status, 200)
                self.assertEqual(r.json()["path"], "/.well-known/acme-challenge/token")


if __name__ == "__main__":
    unittest.main()
