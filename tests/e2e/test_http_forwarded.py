"""Forwarded and hop-by-hop headers as the backend receives them (SPEC 5), over each of
PROTOCOLS (the forwarding headers are the pipeline's, whatever the client spoke)."""

import unittest

from portier_e2e import PROTOCOLS, ProxyTest, free_port, http_request, is_tls, proto_request, router, service

NET = "127.0.23"
CLIENT = NET + ".50"
TRUSTED_PORT = free_port(NET + ".1")


class Forwarded(ProxyTest, unittest.TestCase):
    IP = NET + ".1"
    BACKENDS = [("fwd", NET + ".2")]
    EXTRA_ENTRYPOINTS = {"trusted": {"address": "%s.1:%d" % (NET, TRUSTED_PORT),
                                     "forwardedHeaders": {"trustedIPs": [NET + ".0/24"]}}}

    @classmethod
    def dynamic(cls):
        return {"http": {
            "routers": {"fwd": router("Host(`fwd.test`)", "fwd", entry_points=("web", "trusted")),
                        "fwd-tls": router("Host(`fwd.test`)", "fwd", entry_points=("web", "trusted"), tls={})},
            "services": {"fwd": service(cls.b["fwd"].url)},
        }}

    def seen(self, headers, port=None, path="/", protocol="h1"):
        port = port or self.port
        r = proto_request(protocol, "GET", self.IP, port, path, headers=headers, source_ip=CLIENT)
        self.assertBackend(r, "fwd")
        return r.json()

    def test_untrusted_client_headers_are_replaced(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                got = self.seen({"Host": "fwd.test:%d" % self.port, "X-Forwarded-For": "1.2.3.4",
                                 "X-Real-Ip": "6.6.6.6", "X-Forwarded-Host": "evil.test",
                                 "X-Forwarded-Proto": "https" if not is_tls(protocol) else "http",
                                 "X-Forwarded-Port": "1", "X-Forwarded-Server": "evil"}, protocol=protocol)
                h = got["headers"]
                self.assertEqual(h["x-forwarded-for"], CLIENT)
                self.assertEqual(h["x-real-ip"], CLIENT)
                self.assertEqual(h["x-forwarded-proto"], "https" if is_tls(protocol) else "http")
                self.assertEqual(h["x-forwarded-host"], "fwd.test:%d" % self.port)
                self.assertEqual(h["x-forwarded-port"], str(self.port))
                self.assertTrue(h.get("x-forwarded-server"), h)
                self.assertNotEqual(h["x-forwarded-server"], "evil")
                names = [k.lower() for k, _ in got["header_list"]]
                for name in ("x-forwarded-for", "x-real-ip", "x-forwarded-host", "x-forwarded-proto"):
                    self.assertEqual(names.count(name), 1, got["header_list"])

    def test_headers_set_without_client_values(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                h = self.seen({"Host": "fwd.test"}, protocol=protocol)["headers"]
                self.assertEqual(h["x-forwarded-for"], CLIENT)
                self.assertEqual(h["x-real-ip"], CLIENT)
                self.assertEqual(h["x-forwarded-proto"], "https" if is_tls(protocol) else "http")
                self.assertEqual(h["x-forwarded-host"], "fwd.test")
                self.assertEqual(h["x-forwarded-port"], "443" if is_tls(protocol) else "80")
                self.assertEqual(h["host"], "fwd.test")

    def test_trusted_client_headers_are_kept_and_appended(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                h = self.seen({"Host": "fwd.test", "X-Forwarded-For": "1.2.3.4", "X-Forwarded-Proto": "gopher"},
                              port=TRUSTED_PORT, protocol=protocol)["headers"]
                self.assertEqual(h["x-forwarded-for"], "1.2.3.4, " + CLIENT)
                self.assertEqual(h["x-forwarded-proto"], "gopher")

    def test_hop_by_hop_headers_are_removed(self):
        got = self.seen({"Host": "fwd.test", "Connection": "keep-alive, X-Custom-Hop",
                         "X-Custom-Hop": "secret", "Keep-Alive": "timeout=5", "TE": "gzip",
                         "Proxy-Connection": "keep-alive", "Proxy-Authorization": "Basic eDp5",
                         "X-Keep-Me": "yes"})
        h = got["headers"]
        for name in ("x-custom-hop", "keep-alive", "te", "proxy-connection", "proxy-authorization"):
            self.assertNotIn(name, h, got["header_list"])
        self.assertNotIn("x-custom-hop", h.get("connection", "").lower())
        self.assertEqual(h["x-keep-me"], "yes")

    def test_hop_by_hop_response_headers_are_removed(self):
        r = http_request("GET", self.url("/?set-header=Connection:X-Resp-Hop&set-header=X-Resp-Hop:1"
                                         "&set-header=Keep-Alive:timeout%3D9&set-header=X-Resp-Keep:1"),
                         headers={"Host": "fwd.test"})
        self.assertEqual(r.status, 200)
        self.assertNotIn("x-resp-hop", r.headers)
        self.assertNotIn("keep-alive", r.headers)
        self.assertEqual(r.headers.get("x-resp-keep"), "1")

    def test_request_target_and_body_forwarded_intact(self):
        body = bytes(range(256)) * 40
        r = http_request("POST", self.url("/a%20b/c?x=1&y=%2F"), headers={"Host": "fwd.test"}, body=body)
        got = r.json()
        self.assertEqual(got["method"], "POST")
        self.assertEqual(got["target"], "/a%20b/c?x=1&y=%2F")
        self.assertEqual(got["body_len"], len(body))
        import hashlib
        self.assertEqual(got["body_sha256"], hashlib.sha256(body).hexdigest())


if __name__ == "__main__":
    unittest.main()
