"""Entrypoint redirections (SPEC 2): `http.redirections.entryPoint` answers 301 for GET/HEAD and
308 for other methods, with Location https://host[:port]/path?query. The redirecting entrypoint
is cleartext: each test runs over HTTP/1.1 and h2c."""

import os
import unittest

from portier_e2e import (Backend, Portier, free_port, http_request, make_temp_dir, proto_request, router, service,
                         write_file_atomic)

NET = "127.0.26"


class EntryPointRedirect(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ip = NET + ".1"
        cls.web, cls.websecure = free_port(cls.ip), free_port(cls.ip)
        cls.backend = Backend("red", NET + ".3")
        dynamic = write_file_atomic(make_temp_dir() / "dynamic.yml", {"http": {
            "routers": {"red": router("Host(`red.test`)", "red", entry_points=("web", "websecure"))},
            "services": {"red": service(cls.backend.url)}}})
        cls.portier = Portier({
            "entryPoints": {
                "web": {"address": "%s:%d" % (cls.ip, cls.web),
                        "http": {"redirections": {"entryPoint": {"to": "websecure", "scheme": "https"}}}},
                "websecure": {"address": "%s:%d" % (cls.ip, cls.websecure)},
            },
            "providers": {"file": {"filename": str(dynamic)}},
        })
        cls.portier.start()

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.backend.close()

    PROTOCOLS = ("h1", "h2c")

    def request(self, protocol, method, path, host="red.test", body=None):
        return proto_request(protocol, method, self.ip, self.web, path, headers={"Host": host}, body=body)

    def test_get_is_301(self):
        for protocol in self.PROTOCOLS:
            with self.subTest(protocol):
                r = self.request(protocol, "GET", "/some/path?q=1&r=a%20b")
                self.assertEqual(r.status, 301, r)
                self.assertEqual(r.headers["location"], "https://red.test:%d/some/path?q=1&r=a%%20b" % self.websecure)

    def test_post_is_308(self):
        for protocol in self.PROTOCOLS:
            with self.subTest(protocol):
                r = self.request(protocol, "POST", "/form?x=y", body=b"a=b")
                self.assertEqual(r.status, 308, r)
                self.assertEqual(r.headers["location"], "https://red.test:%d/form?x=y" % self.websecure)

    def test_host_port_is_replaced(self):
        for protocol in self.PROTOCOLS:
            with self.subTest(protocol):
                r = self.request(protocol, "GET", "/", host="red.test:%d" % self.web)
                self.assertEqual(r.status, 301)
                self.assertEqual(r.headers["location"], "https://red.test:%d/" % self.websecure)

    def test_redirect_applies_without_any_router(self):
        for protocol in self.PROTOCOLS:
            with self.subTest(protocol):
                r = self.request(protocol, "GET", "/x", host="unknown.test")
                self.assertEqual(r.status, 301)
                self.assertEqual(r.headers["location"], "https://unknown.test:%d/x" % self.websecure)

    def test_target_entrypoint_serves_and_backend_saw_no_redirected_request(self):
        before = list(self.backend.paths())
        self.request("h1", "GET", "/never")
        r = http_request("GET", "http://%s:%d/served" % (self.ip, self.websecure), headers={"Host": "red.test"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["backend"], "red")
        self.assertEqual(self.backend.paths()[len(before):], ["/served"])


@unittest.skipUnless(os.geteuid() == 0, "binding port 443 needs root")
class InfraRedirectTo443(unittest.TestCase):
    """infra.public_ipv4 expands `web` redirecting to `websecure` on https_port 443: the
    Location carries no port."""

    def test_location_omits_port_443(self):
        ip = NET + ".2"
        http_port = free_port(ip)
        with Portier({"infra": {"public_ipv4": ip, "http_port": http_port, "https_port": 443}}) as p:
            p.start()
            r = http_request("GET", "http://%s:%d/a/b?c=d" % (ip, http_port), headers={"Host": "site.test"})
            self.assertEqual(r.status, 301, r)
            self.assertEqual(r.headers["location"], "https://site.test/a/b?c=d")
            r = http_request("PUT", "http://%s:%d/up" % (ip, http_port), headers={"Host": "site.test"}, body=b"x")
            self.assertEqual(r.status, 308, r)
            self.assertEqual(r.headers["location"], "https://site.test/up")
            self.assertEqual(p.stop(), 0)


if __name__ == "__main__":
    unittest.main()
