"""The errors middleware (issue 16 item 5): an answer made inside it whose status is in `status`
is replaced by a page from another service, fetched as GET `query` ({status},
{originalStatus}, {url}) with the request's Host and header fields; statusRewrites; answers
from the service, from a middleware after it (basicAuth), and portier's own 502 are replaced,
one from a middleware before it is not; errorRequestHeaders; an error service that is down;
the label form through `portier check --compose`.
Every request-level assertion runs over each of PROTOCOLS."""

import base64
import hashlib
import json
import unittest
import urllib.parse

from portier_e2e import (PROTOCOLS, Backend, Portier, both_sides, check_compose, free_port, http_config, is_tls,
                         make_temp_dir, proto_request, service, started, write_file_atomic)

NET = "127.0.115"
USERS = ["alice:{SHA}" + base64.b64encode(hashlib.sha1(b"secret").digest()).decode()]


class ErrorsMiddleware(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        cls.app = Backend("app", NET + ".2")
        cls.pages = Backend("pages", NET + ".3")
        down = "http://%s:%d" % (NET + ".4", free_port(NET + ".4"))
        page_query = "/{status}.html?orig={originalStatus}&url={url}"
        middlewares = {
            "pages": {"errors": {"status": ["500-599", "401", "418"], "service": "pages", "query": page_query,
                                 "statusRewrites": {"418": 404}}},
            "some-headers": {"errors": {"status": ["500-599"], "service": "pages", "query": "/{status}",
                                        "errorRequestHeaders": ["X-Keep"]}},
            "pages-down": {"errors": {"status": ["500-599"], "service": "nowhere", "query": "/{status}"}},
            "auth": {"basicAuth": {"users": USERS}},
        }
        routers = {}
        for name, host, svc, mws in (("app", "err.test", "app", ["pages"]),
                                     ("inner", "inner.test", "app", ["pages", "auth"]),
                                     ("outer", "outer.test", "app", ["auth", "pages"]),
                                     ("down", "down.test", "down", ["pages"]),
                                     ("some", "some.test", "app", ["some-headers"]),
                                     ("nowhere", "nowhere.test", "app", ["pages-down"])):
            routers.update(both_sides(name, host, svc, mws))
        dynamic = {"http": {"routers": routers, "middlewares": middlewares,
                            "services": {"app": service(cls.app.url), "pages": service(cls.pages.url),
                                         "down": service(down), "nowhere": service(down)}}}
        cls.dir = make_temp_dir()
        path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        cls.portier = started(Portier(http_config({"web": "%s:%d" % (cls.ip, cls.port)}, path, workers=2)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.app.close()
        cls.pages.close()

    def req(self, protocol, host, path, headers=None):
        h = {"Host": host}
        h.update(headers or {})
        return proto_request(protocol, "GET", self.ip, self.port, path, headers=h)

    def page(self, r):
        """What the page service saw for the page that answered `r`."""
        seen = r.json()
        self.assertEqual(seen["backend"], "pages")
        return seen

    def test_service_answer_is_replaced(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "err.test", "/status/503?x=1", headers={"X-Custom": "kept"})
                self.assertEqual(r.status, 503, r)
                seen = self.page(r)
                self.assertEqual((seen["method"], seen["path"]), ("GET", "/503.html"))
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(seen["target"]).query)
                scheme = "https" if is_tls(protocol) else "http"
                self.assertEqual(query["orig"], ["503"])
                self.assertEqual(query["url"], ["%s://err.test/status/503?x=1" % scheme])
                self.assertEqual(seen["headers"]["host"], "err.test")
                self.assertEqual(seen["headers"]["x-custom"], "kept")
                self.assertEqual(seen["headers"]["x-forwarded-proto"], scheme)
                self.assertEqual(r.headers["content-type"], "application/json")

    def test_status_rewrite(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "err.test", "/status/418")
                self.assertEqual(r.status, 404, r)
                seen = self.page(r)
                self.assertEqual(seen["path"], "/404.html")
                self.assertIn("orig=418", seen["target"])

    def test_other_answers_pass(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                for code in (200, 404, 400):
                    r = self.req(protocol, "err.test", "/status/%d" % code)
                    self.assertEqual(r.status, code)
                    self.assertEqual(r.json()["backend"], "app")

    def test_answers_from_inside_only(self):
        """basicAuth after errors: its 401 gets the page; before errors: its own 401."""
        good = {"Authorization": "Basic " + base64.b64encode(b"alice:secret").decode()}
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "inner.test", "/x")
                self.assertEqual(r.status, 401)
                self.assertEqual(self.page(r)["path"], "/401.html")
                self.assertNotIn("www-authenticate", r.headers)  # the page's fields, not basicAuth's
                r = self.req(protocol, "outer.test", "/x")
                self.assertEqual(r.status, 401)
                self.assertIn("www-authenticate", r.headers)
                self.assertEqual(r.body, b"401 Unauthorized\n")
                r = self.req(protocol, "outer.test", "/status/502", headers=good)
                self.assertEqual((r.status, self.page(r)["path"]), (502, "/502.html"))

    def test_portier_own_502_is_replaced(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "down.test", "/any")
                self.assertEqual(r.status, 502)
                self.assertEqual(self.page(r)["path"], "/502.html")

    def test_error_request_headers(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "some.test", "/status/500", headers={"X-Keep": "1", "X-Drop": "2"})
                self.assertEqual(r.status, 500)
                seen = self.page(r)
                self.assertEqual(seen["path"], "/500")
                self.assertEqual(seen["headers"].get("x-keep"), "1")
                self.assertNotIn("x-drop", seen["headers"])

    def test_error_service_down(self):
        """The page cannot be fetched: the status, with portier's own body."""
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "nowhere.test", "/status/500")
                self.assertEqual(r.status, 500)
                self.assertIn(b"Internal Server Error", r.body)


LABELS = """\
name: errs
services:
  web:
    image: test/busybox:1
    network_mode: host
    labels:
      - traefik.enable=true
      - traefik.http.routers.web.rule=Host(`web.example.test`)
      - traefik.http.routers.web.middlewares=oops
      - traefik.http.services.web.loadbalancer.server.port=8080
      - traefik.http.middlewares.oops.errors.status=500-599,404
      - traefik.http.middlewares.oops.errors.service=web
      - traefik.http.middlewares.oops.errors.query=/errors/{{status}}.html
      - traefik.http.middlewares.oops.errors.statusrewrites.418=404
      - {extra}
"""


class ErrorsLabels(unittest.TestCase):
    def test_labels_decode(self):
        code, doc = check_compose(NET + ".9", LABELS.format(
            extra="traefik.http.middlewares.oops.errors.errorRequestHeaders=Accept,Cookie"))
        self.assertEqual(code, 0, doc)
        e = doc["http"]["middlewares"]["oops@docker"]["errors"]
        self.assertEqual(e["status"], ["500-599", "404"])
        self.assertEqual(e["service"], "web@docker")
        self.assertEqual(e["query"], "/errors/{status}.html")
        self.assertEqual(e["statusRewrites"], {"418": "404"})
        self.assertEqual(e["errorRequestHeaders"], ["Accept", "Cookie"])

    def test_bad_range_is_named(self):
        code, doc = check_compose(NET + ".9", LABELS.format(
            extra="traefik.http.middlewares.oops.errors.statusrewrites.5x=404"))
        self.assertEqual(code, 1, doc)
        self.assertIn("statusRewrites", json.dumps(doc["errors"]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
