"""Traefik's internal services as a router's service (issue 16 item 7), over each of PROTOCOLS:
noop@internal answers 418 with no body unless a middleware answers first (the redirect-only
router of every Traefik set-up), ping@internal answers what /ping answers, prometheus@internal
the metrics; `manualRouting: true` leaves the entrypoint's /ping to such routers. The internal services portier does not have drop their router with why, and so
do ping@internal / prometheus@internal / api@internal without their static section."""

import unittest

from portier_e2e import (PROTOCOLS, Backend, Portier, free_port, http_config, is_tls, make_temp_dir, proto_request,
                         router, service, started, write_file_atomic, both_sides)

NET = "127.0.75"


class InternalServices(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = Backend("app", NET + ".2")
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        routers = {}
        routers.update(both_sides("noop", "noop.test", "noop@internal"))
        routers.update(both_sides("redirect", "redirect.test", "noop@internal", ["to-https"]))
        routers.update(both_sides("ping", "ping.test", "ping@internal"))
        routers.update(both_sides("metrics", "metrics.test", "prometheus@internal"))
        routers.update(both_sides("api", "api.test", "api@internal"))
        routers.update(both_sides("dashboard", "dashboard.test", "dashboard@internal"))
        routers.update(both_sides("app", "app.test", "app"))
        dynamic = {"http": {"routers": routers,
                            "middlewares": {"to-https": {"redirectScheme": {"scheme": "https", "permanent": True}}},
                            "services": {"app": service(cls.backend.url)}}}
        path = write_file_atomic(make_temp_dir() / "dynamic.yml", dynamic)
        cls.traefik_port = free_port(cls.ip)
        cfg = http_config({"web": "%s:%d" % (cls.ip, cls.port), "traefik": "%s:%d" % (cls.ip, cls.traefik_port)},
                          path, ping={"manualRouting": True}, metrics={"prometheus": {}})
        cls.portier = started(Portier(cfg))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.backend.close()

    def get(self, protocol, host):
        return proto_request(protocol, "GET", self.ip, self.port, "/some/path", headers={"Host": host})

    def test_noop_answers_418_without_a_body(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                r = self.get(protocol, "noop.test")
                self.assertEqual((r.status, r.body), (418, b""))

    def test_a_redirect_middleware_answers_before_noop(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                r = self.get(protocol, "redirect.test")
                if is_tls(protocol):  # already https: redirectScheme lets it through, to noop
                    self.assertEqual(r.status, 418, r)
                else:
                    self.assertEqual(r.status, 301, r)
                    self.assertEqual(r.headers["location"], "https://redirect.test/some/path")

    def test_ping_and_prometheus_internal(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                r = self.get(protocol, "ping.test")
                self.assertEqual((r.status, r.body), (200, b"OK"))
                r = self.get(protocol, "metrics.test")
                self.assertEqual(r.status, 200)
                self.assertIn(b"traefik_entrypoint_requests_total", r.body)

    def test_manual_routing_leaves_the_entrypoint_to_the_routers(self):
        # ping.manualRouting: no /ping on the `traefik` entrypoint; metrics (not manual) still there.
        self.assertEqual(proto_request("h1", "GET", self.ip, self.traefik_port, "/ping").status, 404)
        self.assertEqual(proto_request("h1", "GET", self.ip, self.traefik_port, "/metrics").status, 200)

    def test_internal_services_portier_lacks_drop_their_router_with_why(self):
        errors = [e["message"] for e in self.portier.diag("/routes.json")["errors"]]
        for side in ("dashboard@file", "dashboard-tls@file"):
            self.assertIn('service "dashboard@internal" is not supported: api@internal serves the dashboard under '
                          '/dashboard/', " ".join(errors), side)
        # api@internal exists, but only with the static `api` section (test_dashboard has one).
        self.assertIn('service "api@internal" needs the static `api` section', " ".join(errors))
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                self.assertEqual(self.get(protocol, "api.test").status, 404)
                self.assertEqual(self.get(protocol, "dashboard.test").status, 404)
                self.assertEqual(self.get(protocol, "app.test").status, 200)

    def test_ping_internal_without_the_ping_section_is_an_error(self):
        path = write_file_atomic(make_temp_dir() / "dynamic.yml", {"http": {
            "routers": {"ping": router("Host(`ping.test`)", "ping@internal")}}})
        port = free_port(NET + ".3")
        with started(Portier(http_config({"web": "%s:%d" % (NET + ".3", port)}, path))) as p:
            errors = " ".join(e["message"] for e in p.diag("/routes.json")["errors"])
            self.assertIn('service "ping@internal" needs the static `ping` section', errors)
            self.assertEqual(proto_request("h1", "GET", NET + ".3", port, headers={"Host": "ping.test"}).status, 404)


if __name__ == "__main__":
    unittest.main()
