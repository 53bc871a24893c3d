"""HTTP routing (SPEC 5): the Traefik v3 rule language, priorities, 404."""

import unittest

from portier_e2e import ProxyTest, router, service

NET = "127.0.21"


class Routing(ProxyTest, unittest.TestCase):
    IP = NET + ".1"
    BACKENDS = [(n, NET + ".2") for n in
                ("host-a", "host-b", "path", "prefix", "header", "method", "query", "regexp",
                 "pathregexp", "combo", "not", "prio-low", "prio-high", "len-short", "len-long",
                 "quoted", "client-ip")]

    @classmethod
    def dynamic(cls):
        routes = {
            "host-a": "Host(`a.routing.test`)",
            "host-b": "Host(`b.routing.test`)",
            "path": "Host(`p.routing.test`) && Path(`/exact`)",
            "prefix": "Host(`p.routing.test`) && PathPrefix(`/api`)",
            "header": "Host(`h.routing.test`) && Header(`X-Env`, `staging`)",
            "method": "Host(`h.routing.test`) && Method(`DELETE`)",
            "query": "Host(`q.routing.test`) && Query(`debug`, `1`)",
            "regexp": "HostRegexp(`^[a-z]+\\.rx\\.routing\\.test$`)",
            "pathregexp": "Host(`pr.routing.test`) && PathRegexp(`^/items/[0-9]+$`)",
            "combo": "Host(`c.routing.test`) && (PathPrefix(`/x`) || Method(`PUT`)) && !Header(`X-Block`, `1`)",
            "not": "Host(`c.routing.test`) && Header(`X-Block`, `1`)",
            # Explicit priorities beat rule length.
            "prio-low": "Host(`prio.routing.test`) && PathPrefix(`/`)",
            "prio-high": "Host(`prio.routing.test`)",
            # Default priority = rule length: the longer rule wins where both match.
            "len-short": "Host(`len.routing.test`)",
            "len-long": "Host(`len.routing.test`) && PathPrefix(`/deep`)",
            "quoted": 'Host("dq.routing.test") && PathPrefix("/dq")',
            "client-ip": "Host(`ip.routing.test`) && ClientIP(`127.0.21.64/26`)",
        }
        priorities = {"prio-low": 1, "prio-high": 50}
        return {"http": {
            "routers": {n: router(rule, n, priority=priorities.get(n)) for n, rule in routes.items()},
            "services": {n: service(cls.b[n].url) for n in routes},
        }}

    def test_host(self):
        self.assertBackend(self.get("/", host="a.routing.test"), "host-a")
        self.assertBackend(self.get("/", host="b.routing.test"), "host-b")

    def test_host_ignores_case_port_and_trailing_dot(self):
        self.assertBackend(self.get("/", host="A.Routing.TEST"), "host-a")
        self.assertBackend(self.get("/", host="a.routing.test:%d" % self.port), "host-a")
        self.assertBackend(self.get("/", host="B.ROUTING.TEST:%d" % self.port), "host-b")
        self.assertBackend(self.get("/", host="a.routing.test."), "host-a")

    def test_path_is_exact(self):
        self.assertBackend(self.get("/exact", host="p.routing.test"), "path")
        self.assertEqual(self.get("/exact/more", host="p.routing.test").status, 404)
        self.assertEqual(self.get("/exac", host="p.routing.test").status, 404)

    def test_path_prefix(self):
        for path in ("/api", "/api/", "/api/v1/users?x=1"):
            self.assertBackend(self.get(path, host="p.routing.test"), "prefix", path)
        r = self.get("/api/v1/users?x=1", host="p.routing.test")
        self.assertEqual(r.json()["path"], "/api/v1/users")
        self.assertEqual(r.json()["query"], "x=1")

    def test_header_and_method(self):
        self.assertBackend(self.get("/", host="h.routing.test", headers={"X-Env": "staging"}), "header")
        self.assertBackend(self.get("/", host="h.routing.test", method="DELETE"), "method")
        self.assertEqual(self.get("/", host="h.routing.test", headers={"X-Env": "prod"}).status, 404)
        self.assertEqual(self.get("/", host="h.routing.test").status, 404)

    def test_query(self):
        self.assertBackend(self.get("/?debug=1", host="q.routing.test"), "query")
        self.assertBackend(self.get("/?a=b&debug=1", host="q.routing.test"), "query")
        self.assertEqual(self.get("/?debug=0", host="q.routing.test").status, 404)
        self.assertEqual(self.get("/", host="q.routing.test").status, 404)

    def test_host_regexp(self):
        self.assertBackend(self.get("/", host="abc.rx.routing.test"), "regexp")
        self.assertEqual(self.get("/", host="a1.rx.routing.test").status, 404)

    def test_path_regexp(self):
        self.assertBackend(self.get("/items/42", host="pr.routing.test"), "pathregexp")
        self.assertEqual(self.get("/items/x", host="pr.routing.test").status, 404)

    def test_combination(self):
        self.assertBackend(self.get("/x/1", host="c.routing.test"), "combo")
        self.assertBackend(self.get("/other", host="c.routing.test", method="PUT", body=b"{}"), "combo")
        self.assertEqual(self.get("/other", host="c.routing.test").status, 404)
        self.assertBackend(self.get("/x/1", host="c.routing.test", headers={"X-Block": "1"}), "not")

    def test_explicit_priority(self):
        for path in ("/", "/anything"):
            self.assertBackend(self.get(path, host="prio.routing.test"), "prio-high", path)

    def test_priority_by_rule_length(self):
        self.assertBackend(self.get("/deep/x", host="len.routing.test"), "len-long")
        self.assertBackend(self.get("/shallow", host="len.routing.test"), "len-short")

    def test_double_quoted_arguments(self):
        self.assertBackend(self.get("/dq/1", host="dq.routing.test"), "quoted")

    def test_client_ip(self):
        self.assertBackend(self.get("/", host="ip.routing.test", source_ip=NET + ".70"), "client-ip")
        self.assertEqual(self.get("/", host="ip.routing.test", source_ip=NET + ".10").status, 404)

    def test_no_router_is_404(self):
        self.assertEqual(self.get("/", host="nothing.routing.test").status, 404)
        self.assertEqual(self.get("/", host="routing.test").status, 404)
        seen = sum(len(b.requests) for b in self.b.values())
        self.assertEqual(self.get("/", host="nope.test").status, 404)
        self.assertEqual(sum(len(b.requests) for b in self.b.values()), seen)


if __name__ == "__main__":
    unittest.main()
