"""Load balancing (SPEC 5): round robin, weights, 502 on a dead server, active health checks,
passHostHeader, sticky cookies (the last two over each of PROTOCOLS)."""

import hashlib
import http.client
import json
import unittest

from portier_e2e import PROTOCOLS, ProxyTest, free_port, proto_request, router, service, wait_until

NET = "127.0.22"
DEAD = "http://%s.9:%d" % (NET, free_port(NET + ".9"))  # nothing listens there


def sha256_16(name):
    return hashlib.sha256(name.encode()).hexdigest()[:16]


def fnv1_64(name):
    """Go's hash/fnv New64 (FNV-1), as strconv.FormatUint(h, 16) prints it."""
    h = 14695981039346656037
    for byte in name.encode():
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
        h ^= byte
    return format(h, "x")


class LoadBalancing(ProxyTest, unittest.TestCase):
    IP = NET + ".1"
    BACKENDS = [("rr-a", NET + ".2"), ("rr-b", NET + ".3"), ("w-a", NET + ".2"), ("w-b", NET + ".3"),
                ("hc-a", NET + ".4"), ("hc-b", NET + ".5"), ("host-true", NET + ".6"),
                ("host-false", NET + ".6"), ("half", NET + ".7"), ("st-a", NET + ".2"), ("st-b", NET + ".3"),
                ("w-zero", NET + ".4")]

    @classmethod
    def dynamic(cls):
        b = cls.b
        hc = {"path": "/health", "interval": "100ms", "timeout": "1s"}
        return {"http": {
            "routers": {
                "rr": router("Host(`rr.lb.test`)", "rr"),
                "weighted": router("Host(`w.lb.test`)", "weighted"),
                "dead": router("Host(`dead.lb.test`)", "dead"),
                "half-dead": router("Host(`half.lb.test`)", "half-dead"),
                "hc": router("Host(`hc.lb.test`)", "hc"),
                "host-true": router("Host(`pass.lb.test`)", "host-true"),
                "host-false": router("Host(`nopass.lb.test`)", "host-false"),
                "host-true-tls": router("Host(`pass.lb.test`)", "host-true", tls={}),
                "host-false-tls": router("Host(`nopass.lb.test`)", "host-false", tls={}),
                "sticky": router("Host(`sticky.lb.test`)", "sticky"),
                "sticky-tls": router("Host(`sticky.lb.test`)", "sticky", tls={}),
            },
            "services": {
                "rr": service(b["rr-a"].url, b["rr-b"].url),
                "weighted": service({"url": b["w-a"].url, "weight": 3}, {"url": b["w-b"].url, "weight": 1},
                                    {"url": b["w-zero"].url, "weight": 0}),  # never chosen, as in Traefik
                "dead": service(DEAD),
                "half-dead": service(b["half"].url, DEAD, healthCheck={**hc}),
                "hc": service(b["hc-a"].url, b["hc-b"].url, healthCheck=hc),
                "host-true": service(b["host-true"].url, passHostHeader=True),
                "host-false": service(b["host-false"].url, passHostHeader=False),
                "sticky": service(b["st-a"].url, b["st-b"].url,
                                  sticky={"cookie": {"name": "lb_sticky", "httpOnly": True}}),
            },
        }}

    def keepalive_backends(self, host, n):
        """n requests on one client connection (one worker), returns the backend names in order."""
        conn = http.client.HTTPConnection(self.IP, self.port, timeout=5)
        try:
            names = []
            for _ in range(n):
                conn.request("GET", "/", headers={"Host": host})
                r = conn.getresponse()
                body = r.read()
                self.assertEqual(r.status, 200, body)
                names.append(json.loads(body)["backend"])
            return names
        finally:
            conn.close()

    def test_round_robin_alternates(self):
        names = self.keepalive_backends("rr.lb.test", 8)
        self.assertEqual(set(names), {"rr-a", "rr-b"})
        for x, y in zip(names, names[1:]):
            self.assertNotEqual(x, y, names)

    def test_round_robin_across_connections_uses_both(self):
        names = [self.get("/", host="rr.lb.test").json()["backend"] for _ in range(10)]
        self.assertEqual(set(names), {"rr-a", "rr-b"})

    def test_weighted(self):
        names = self.keepalive_backends("w.lb.test", 40)
        self.assertEqual(names.count("w-a"), 30, names)
        self.assertEqual(names.count("w-b"), 10, names)
        self.assertNotIn("w-zero", names)

    def test_dead_server_is_502(self):
        r = self.get("/", host="dead.lb.test")
        self.assertEqual(r.status, 502, r)

    def test_dead_server_found_by_health_check(self):
        # The dead server fails its health checks; then every request goes to the live one.
        def only_live():
            return all(self.get("/", host="half.lb.test").status == 200 for _ in range(4))
        wait_until(only_live, timeout=10, what="the dead server to leave the load balancer")

    def test_health_check_removes_and_restores(self):
        a, b = self.b["hc-a"], self.b["hc-b"]
        wait_until(lambda: a.health_requests and b.health_requests, what="health checks on /health")
        self.assertEqual(a.health_requests[-1]["path"], "/health")
        try:
            a.healthy = False
            wait_until(lambda: self.get_names(6) == {"hc-b"}, what="hc-a removed")
            wait_until(lambda: not self.server_health()[a.url], what="/routes.json shows hc-a unhealthy")
            b.healthy = False
            wait_until(lambda: self.get("/", host="hc.lb.test").status == 503, what="503 when all unhealthy")
            a.healthy = True
            wait_until(lambda: self.get_names(4) == {"hc-a"}, what="hc-a back")
            b.healthy = True
            wait_until(lambda: self.get_names(6) == {"hc-a", "hc-b"}, what="both back")
        finally:
            a.healthy = b.healthy = True

    def get_names(self, n):
        names = set()
        for _ in range(n):
            r = self.get("/", host="hc.lb.test")
            if r.status != 200:
                return None
            names.add(r.json()["backend"])
        return names

    def server_health(self):
        services = self.portier.diag("/routes.json")["http"]["services"]
        servers = services["hc@file"]["servers"]
        return {s["url"]: s["healthy"] for s in servers}

    def test_pass_host_header(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = proto_request(protocol, "GET", self.IP, self.port, headers={"Host": "pass.lb.test"})
                self.assertBackend(r, "host-true")
                self.assertEqual(r.json()["headers"]["host"], "pass.lb.test")
                r = proto_request(protocol, "GET", self.IP, self.port, headers={"Host": "nopass.lb.test"})
                self.assertBackend(r, "host-false")
                self.assertEqual(r.json()["headers"]["host"], self.b["host-false"].address)

    def test_sticky_cookie_pins_the_server(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                first = proto_request(protocol, "GET", self.IP, self.port, headers={"Host": "sticky.lb.test"})
                self.assertEqual(first.status, 200, first)
                cookie = first.headers.get("set-cookie", "")
                self.assertRegex(cookie, r"^lb_sticky=[^;]+; Path=/; HttpOnly$")
                pinned = first.json()["backend"]
                # Traefik's value (SHA-256 of the server URL, 16 hex digits), so sessions pinned by
                # Traefik stay pinned; the FNV-1 value older Traefik versions wrote is read too.
                self.assertEqual(cookie.split(";")[0], "lb_sticky=" + sha256_16(self.b[pinned].url))
                r = proto_request(protocol, "GET", self.IP, self.port,
                                  headers={"Host": "sticky.lb.test", "Cookie": "lb_sticky=" + fnv1_64(self.b[pinned].url)})
                self.assertEqual(r.json()["backend"], pinned, r)
                for _ in range(4):
                    r = proto_request(protocol, "GET", self.IP, self.port,
                                      headers={"Host": "sticky.lb.test", "Cookie": "a=1; " + cookie.split(";")[0]})
                    self.assertEqual(r.json()["backend"], pinned, r)
                    self.assertNotIn("set-cookie", r.headers)  # already pinned
                # Without the cookie, round robin reaches both servers (and sets a cookie each time).
                seen = {proto_request(protocol, "GET", self.IP, self.port,
                                      headers={"Host": "sticky.lb.test"}).json()["backend"] for _ in range(8)}
                self.assertEqual(seen, {"st-a", "st-b"})


if __name__ == "__main__":
    unittest.main()
