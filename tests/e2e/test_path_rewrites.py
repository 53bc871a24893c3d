"""Path rewriting middlewares (issue 16 item 6) over each of PROTOCOLS, as the backend sees
them: replacePath and replacePathRegex (X-Replaced-Path carries the path they replaced; Go's
$1 / ${name} templates; every match replaced), stripPrefixRegex (X-Forwarded-Prefix carries the
prefix stripped), the query kept, a rewrite into a path with dot segments refused with 400; and
the Docker label form, checked by `portier check --compose`."""

import json
import unittest

from portier_e2e import (PROTOCOLS, Backend, Portier, compose_check_config, free_port, http_config, make_temp_dir,
                         proto_request, run_cli, service, started, write_file_atomic, both_sides)

NET = "127.0.76"


class PathRewrites(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = Backend("app", NET + ".2")
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        routers = {}
        for name, mws in (("replace", ["replace"]), ("regex", ["regex"]), ("named", ["named"]),
                          ("strip", ["strip"]), ("dots", ["dots"])):
            routers.update(both_sides(name, name + ".test", "app", mws))
        middlewares = {
            "replace": {"replacePath": {"path": "/new/place"}},
            "regex": {"replacePathRegex": {"regex": "^/api/v1/(.*)", "replacement": "/v2/$1"}},
            "named": {"replacePathRegex": {"regex": "(?P<word>o+)", "replacement": "[${word}]"}},
            "strip": {"stripPrefixRegex": {"regex": ["/nomatch/", "/tenant/[a-z0-9]+"]}},
            "dots": {"replacePathRegex": {"regex": "^/up/(.*)", "replacement": "/../$1"}},
        }
        path = write_file_atomic(make_temp_dir() / "dynamic.yml", {"http": {
            "routers": routers, "middlewares": middlewares, "services": {"app": service(cls.backend.url)}}})
        cls.portier = started(Portier(http_config({"web": "%s:%d" % (cls.ip, cls.port)}, path)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.backend.close()

    def seen(self, protocol, host, target):
        """What the backend saw of a request for `target` on `host`: (path?query, headers)."""
        r = proto_request(protocol, "GET", self.ip, self.port, target, headers={"Host": host})
        self.assertEqual(r.status, 200, r)
        j = r.json()
        return j["target"], j["headers"]

    def test_replace_path(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                target, headers = self.seen(protocol, "replace.test", "/old/one?x=1")
                self.assertEqual(target, "/new/place?x=1")
                self.assertEqual(headers["x-replaced-path"], "/old/one")

    def test_replace_path_regex(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                target, headers = self.seen(protocol, "regex.test", "/api/v1/users/7?full=1")
                self.assertEqual(target, "/v2/users/7?full=1")
                self.assertEqual(headers["x-replaced-path"], "/api/v1/users/7")
                target, headers = self.seen(protocol, "regex.test", "/other")  # no match: untouched
                self.assertEqual(target, "/other")
                self.assertNotIn("x-replaced-path", headers)
                target, _ = self.seen(protocol, "named.test", "/foo/boo")  # every match, a named group
                self.assertEqual(target, "/f[oo]/b[oo]")

    def test_strip_prefix_regex(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                target, headers = self.seen(protocol, "strip.test", "/tenant/acme42/orders?page=2")
                self.assertEqual(target, "/orders?page=2")
                self.assertEqual(headers["x-forwarded-prefix"], "/tenant/acme42")
                target, headers = self.seen(protocol, "strip.test", "/tenant/acme42")
                self.assertEqual(target, "/")
                target, headers = self.seen(protocol, "strip.test", "/shop/tenant/x")  # not at the start
                self.assertEqual(target, "/shop/tenant/x")
                self.assertNotIn("x-forwarded-prefix", headers)

    def test_a_rewrite_into_dot_segments_is_refused(self):
        before = len(self.backend.requests)
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                r = proto_request(protocol, "GET", self.ip, self.port, "/up/secret", headers={"Host": "dots.test"})
                self.assertEqual(r.status, 400, r)
        self.assertEqual(len(self.backend.requests), before)

    def test_labels(self):
        d = make_temp_dir()
        config = d / "portier.yml"
        config.write_text(json.dumps(compose_check_config(NET + ".1")))
        compose = d / "docker-compose.yml"
        compose.write_text("""\
name: rewrite
services:
  web:
    image: test/busybox:1
    network_mode: host
    labels:
      - traefik.enable=true
      - traefik.http.routers.web.rule=Host(`web.example.test`)
      - traefik.http.routers.web.middlewares=v1,tenant,fixed
      - traefik.http.services.web.loadbalancer.server.port=8080
      - traefik.http.middlewares.v1.replacepathregex.regex=^/api/v1/(.*)
      - traefik.http.middlewares.v1.replacepathregex.replacement=/v2/$$1
      - traefik.http.middlewares.tenant.stripprefixregex.regex=/t/[a-z]+,/u/[0-9]+
      - traefik.http.middlewares.fixed.replacepath.path=/status
      - traefik.http.routers.bad.rule=Host(`bad.example.test`)
      - traefik.http.routers.bad.middlewares=bad
      - traefik.http.middlewares.bad.replacepathregex.regex=(
      - traefik.http.middlewares.bad.replacepathregex.replacement=/
""")
        r = run_cli(["check", "--config", str(config), "--compose", str(compose), "--format", "json"])
        doc = json.loads(r.stdout)
        mws = doc["http"]["middlewares"]
        self.assertEqual(mws["v1@docker"]["replacePathRegex"], {"regex": "^/api/v1/(.*)", "replacement": "/v2/$1"})
        self.assertEqual(mws["tenant@docker"]["stripPrefixRegex"], {"regex": ["/t/[a-z]+", "/u/[0-9]+"]})
        self.assertEqual(mws["fixed@docker"]["replacePath"], {"path": "/status"})
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("invalid regex", json.dumps(doc["errors"]))


if __name__ == "__main__":
    unittest.main()
