"""Access-control middlewares (issue 15): basicAuth with hashes made by htpasswd (MD5 $apr1$,
{SHA}, bcrypt) from usersFile and users, ipAllowList / ipWhiteList with ipStrategy (depth,
excludedIPs), rateLimit (429 with Retry-After / X-Retry-In, and its accuracy with 4 client
addresses over 2 workers), inFlightReq (429 while the slot is held). Every request-level
assertion runs over each of PROTOCOLS (HTTP/1.1 cleartext and TLS, h2 over TLS, h2c)."""

import base64
import http.client
import socket
import ssl
import subprocess
import threading
import time
import unittest

from portier_e2e import (PROTOCOLS, Backend, Portier, free_port, http_config, make_temp_dir, proto_request,
                         router, service, started, wait_until, write_file_atomic, both_sides)

NET = "127.0.64"
SOURCES = ["127.0.65.%d" % i for i in range(10, 14)]  # client addresses of the rate-limit test


def htpasswd(*args):
    """A line "user:hash" made by the real htpasswd (apache2-utils)."""
    out = subprocess.run(["htpasswd", "-n", "-b", *args], capture_output=True, check=True, text=True)
    return out.stdout.strip()


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


class AccessControl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = Backend("a", NET + ".2")
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        cls.dir = make_temp_dir()
        cls.users_file = cls.dir / "users.htpasswd"
        write_file_atomic(cls.users_file, "# made by htpasswd\n%s\n%s\n\n%s\n" % (
            htpasswd("-m", "alice", "md5-pass"), htpasswd("-s", "bob", "sha-pass"),
            htpasswd("-B", "-C", "5", "carol", "bcrypt:pass")))
        routers = {}
        for name, host, mws in (
                ("auth", "auth.test", ["auth"]), ("auth-custom", "custom.test", ["auth-custom"]),
                ("peer", "peer.test", ["allow-peer"]), ("deny", "deny.test", ["deny-404"]),
                ("depth", "depth.test", ["allow-depth"]), ("excluded", "excluded.test", ["allow-excluded"]),
                ("white", "white.test", ["white"]), ("rl-small", "rlsmall.test", ["rl-small"]),
                ("rl", "rl.test", ["rl"]), ("inflight", "inflight.test", ["inflight"]),
                ("plain", "plain.test", [])):
            routers.update(both_sides(name, host, "a", mws))
        middlewares = {
            "auth": {"basicAuth": {"usersFile": str(cls.users_file),
                                   "users": [htpasswd("-B", "-C", "5", "dave", "inline-pass"),
                                             htpasswd("-B", "-C", "12", "slow", "slow-pass")]}},
            "auth-custom": {"basicAuth": {"users": [htpasswd("-m", "erin", "erin-pass")], "realm": "private",
                                          "headerField": "X-WebAuth-User", "removeHeader": True}},
            "allow-peer": {"ipAllowList": {"sourceRange": ["127.0.66.0/24", "::1"]}},
            "deny-404": {"ipAllowList": {"sourceRange": ["10.0.0.0/8"], "rejectStatusCode": 404}},
            "allow-depth": {"ipAllowList": {"sourceRange": ["203.0.113.0/24"], "ipStrategy": {"depth": 2}}},
            "allow-excluded": {"ipAllowList": {"sourceRange": ["203.0.113.0/24"],
                                               "ipStrategy": {"excludedIPs": ["198.51.100.0/24"]}}},
            "white": {"ipWhiteList": {"sourceRange": ["127.0.66.7"]}},
            "rl-small": {"rateLimit": {"average": 1, "period": "1m", "burst": 2,
                                       "sourceCriterion": {"requestHeaderName": "X-Tenant"}}},
            "rl": {"rateLimit": {"average": 100, "burst": 50}},
            "inflight": {"inFlightReq": {"amount": 1}},
        }
        dynamic = {"http": {"routers": routers, "middlewares": middlewares, "services": {"a": service(cls.a.url)}}}
        cls.dynamic_path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        web = {"address": "%s:%d" % (cls.ip, cls.port), "forwardedHeaders": {"trustedIPs": ["127.0.0.0/8"]}}
        cls.portier = started(Portier(http_config({"web": web}, cls.dynamic_path, workers=2)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.a.close()

    def req(self, protocol, host, path="/", headers=None, source_ip=None):
        h = {"Host": host}
        h.update(headers or {})
        return proto_request(protocol, "GET", self.ip, self.port, path, headers=h, source_ip=source_ip)

    # ---- basicAuth ----
    def test_basic_auth_each_hash_kind(self):
        for protocol in PROTOCOLS:
            for user, password in (("alice", "md5-pass"), ("bob", "sha-pass"), ("carol", "bcrypt:pass"),
                                   ("dave", "inline-pass")):
                with self.subTest(protocol=protocol, user=user):
                    r = self.req(protocol, "auth.test", headers={"Authorization": basic(user, password)})
                    self.assertEqual(r.status, 200, r)
                    # Without removeHeader the backend sees the credentials.
                    self.assertEqual(r.json()["headers"].get("authorization"), basic(user, password))
                    r = self.req(protocol, "auth.test", headers={"Authorization": basic(user, password + "x")})
                    self.assertEqual(r.status, 401, r)

    def test_basic_auth_challenge(self):
        before = len(self.a.requests)
        for protocol in PROTOCOLS:
            for headers in ({}, {"Authorization": basic("nobody", "md5-pass")},
                            {"Authorization": "Bearer abc"}, {"Authorization": "Basic !!!"}):
                with self.subTest(protocol=protocol, headers=headers):
                    r = self.req(protocol, "auth.test", headers=headers)
                    self.assertEqual(r.status, 401, r)
                    self.assertEqual(r.headers.get("www-authenticate"), 'Basic realm="traefik"')
                    self.assertEqual(r.body, b"401 Unauthorized\n")
        self.assertEqual(len(self.a.requests), before, "a refused request reached the backend")

    def test_basic_auth_realm_header_field_remove_header(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "custom.test")
                self.assertEqual(r.status, 401, r)
                self.assertEqual(r.headers.get("www-authenticate"), 'Basic realm="private"')
                r = self.req(protocol, "custom.test",
                             headers={"Authorization": basic("erin", "erin-pass"), "X-WebAuth-User": "forged"})
                self.assertEqual(r.status, 200, r)
                seen = r.json()
                self.assertNotIn("authorization", seen["headers"])
                self.assertEqual([v for k, v in seen["header_list"] if k.lower() == "x-webauth-user"], ["erin"])

    def test_basic_auth_users_file_is_reread(self):
        original = self.users_file.read_text()
        try:
            write_file_atomic(self.users_file, original + htpasswd("-B", "-C", "5", "frank", "new-pass") + "\n")
            for protocol in PROTOCOLS:
                with self.subTest(protocol):
                    wait_until(lambda: self.req(protocol, "auth.test",
                                                headers={"Authorization": basic("frank", "new-pass")}).status == 200,
                               what="frank accepted after the users file changed")
            write_file_atomic(self.users_file, original)
            wait_until(lambda: self.req("h1", "auth.test",
                                        headers={"Authorization": basic("frank", "new-pass")}).status == 401,
                       what="frank refused after his line was removed")
            # A cached success does not outlive the user.
            self.assertEqual(self.req("h2c", "auth.test", headers={"Authorization": basic("frank", "new-pass")}).status,
                             401)
        finally:
            write_file_atomic(self.users_file, original)

    def test_bcrypt_does_not_stall_other_requests(self):
        """bcrypt checks of cost 12 (~250 ms each, uncached: wrong passwords) keep arriving on both
        workers while a plain route is asked 20 times: were they run on the event loop, a plain
        request would wait for the one in progress (median well over 100 ms)."""
        stop = threading.Event()

        def hammer():
            while not stop.is_set():
                self.req("h1", "auth.test", headers={"Authorization": basic("slow", "wrong-%f" % time.time())})

        threads = [threading.Thread(target=hammer, daemon=True) for _ in range(6)]
        for t in threads:
            t.start()
        latencies = []
        try:
            for _ in range(20):
                start = time.monotonic()
                r = self.req("h1", "plain.test")
                latencies.append(time.monotonic() - start)
                self.assertEqual(r.status, 200, r)
        finally:
            stop.set()
            for t in threads:
                t.join()
        latencies.sort()
        self.assertLess(latencies[len(latencies) // 2], 0.1, latencies)

    # ---- ipAllowList / ipWhiteList ----
    def test_ip_allow_list_by_peer_address(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "peer.test", source_ip="127.0.66.9")
                self.assertEqual(r.status, 200, r)
                r = self.req(protocol, "peer.test", source_ip="127.0.67.9",
                             headers={"X-Forwarded-For": "127.0.66.9"})  # the peer counts, not XFF
                self.assertEqual(r.status, 403, r)
                self.assertEqual(r.body, b"Forbidden")
                r = self.req(protocol, "deny.test")
                self.assertEqual(r.status, 404, r)
                self.assertEqual(r.body, b"Not Found")
                r = self.req(protocol, "white.test", source_ip="127.0.66.7")
                self.assertEqual(r.status, 200, r)
                r = self.req(protocol, "white.test", source_ip="127.0.66.8")
                self.assertEqual(r.status, 403, r)

    def test_ip_allow_list_forwarded_for_depth(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                ok = self.req(protocol, "depth.test", headers={"X-Forwarded-For": "203.0.113.7, 198.51.100.1"})
                self.assertEqual(ok.status, 200, ok)
                for xff in ("198.51.100.1, 203.0.113.7", "203.0.113.7", None):
                    r = self.req(protocol, "depth.test", headers={"X-Forwarded-For": xff} if xff else {})
                    self.assertEqual(r.status, 403, (xff, r))

    def test_ip_allow_list_excluded_ips(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "excluded.test",
                             headers={"X-Forwarded-For": "192.0.2.1, 203.0.113.7, 198.51.100.1,198.51.100.2"})
                self.assertEqual(r.status, 200, r)
                r = self.req(protocol, "excluded.test",
                             headers={"X-Forwarded-For": "203.0.113.7, 192.0.2.1, 198.51.100.1"})
                self.assertEqual(r.status, 403, r)

    # ---- rateLimit ----
    def test_rate_limit_answers_429_over_the_burst(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                tenant = {"X-Tenant": "tenant-" + protocol}
                for _ in range(2):
                    r = self.req(protocol, "rlsmall.test", headers=tenant)
                    self.assertEqual(r.status, 200, r)
                r = self.req(protocol, "rlsmall.test", headers=tenant)
                self.assertEqual(r.status, 429, r)
                self.assertEqual(r.body, b"Too Many Requests")
                # One token a minute: the next one is 30 to 60 s away.
                self.assertIn(r.headers.get("retry-after"), ("59", "60"))
                self.assertRegex(r.headers.get("x-retry-in", ""), r"^[0-9]+(\.[0-9]+)?s$")
                # Another tenant has its own budget.
                r = self.req(protocol, "rlsmall.test", headers={"X-Tenant": "other-" + protocol})
                self.assertEqual(r.status, 200, r)

    def test_rate_limit_accuracy_per_source_over_two_workers(self):
        """average 100/s, burst 50: 4 client addresses, each sending as fast as it can on 3
        connections (spread over the 2 workers by SO_REUSEPORT) for 4 s; each source gets
        50 + 100 * elapsed requests through, within 10%."""
        duration = 4.0
        counts = {s: [0, 0] for s in SOURCES}  # ok, 429
        lock = threading.Lock()
        barrier = threading.Barrier(len(SOURCES) * 3)
        spans = {}

        def client(source):
            conn = http.client.HTTPConnection(self.ip, self.port, timeout=10, source_address=(source, 0))
            barrier.wait()
            start = time.monotonic()
            ok = limited = 0
            while time.monotonic() - start < duration:
                conn.request("GET", "/", headers={"Host": "rl.test"})
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    ok += 1
                elif resp.status == 429:
                    limited += 1
                else:
                    raise AssertionError("unexpected status %d" % resp.status)
            end = time.monotonic()
            conn.close()
            with lock:
                counts[source][0] += ok
                counts[source][1] += limited
                first, last = spans.get(source, (start, end))
                spans[source] = (min(first, start), max(last, end))

        threads = [threading.Thread(target=client, args=(s,)) for s in SOURCES for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for source in SOURCES:
            ok, limited = counts[source]
            elapsed = spans[source][1] - spans[source][0]
            budget = 50 + 100 * elapsed
            self.assertGreater(limited, 0, "source %s was never limited: the test did not load it" % source)
            self.assertLess(abs(ok - budget), 0.1 * budget,
                            "source %s: %d requests through in %.2fs, budget %.0f" % (source, ok, elapsed, budget))

    # ---- inFlightReq ----
    def hold(self, tls, gate):
        """A request to /gate/<gate> whose response has started and waits for the gate."""
        sock = socket.create_connection((self.ip, self.port))
        if tls:
            sock = ssl._create_unverified_context().wrap_socket(sock, server_hostname="inflight.test")
        sock.sendall(("GET /gate/%s HTTP/1.1\r\nHost: inflight.test\r\n\r\n" % gate).encode())
        got = b""
        while b"first\n" not in got:
            data = sock.recv(65536)
            self.assertTrue(data, "connection closed before the held response started")
            got += data
        self.assertTrue(got.startswith(b"HTTP/1.1 200"), got)
        return sock

    def test_in_flight_req_429_while_held(self):
        """amount 1: while one request of a router (cleartext, TLS: one router each, as Traefik
        builds a middleware per router) is in flight, the next gets 429."""
        gate = "inflight-%d" % time.monotonic_ns()
        held = []
        try:
            held = [self.hold(False, gate), self.hold(True, gate)]
            for protocol in PROTOCOLS:
                with self.subTest(protocol):
                    r = self.req(protocol, "inflight.test")
                    self.assertEqual(r.status, 429, r)
                    self.assertEqual(r.body, b"Too Many Requests")
        finally:
            self.a.gate(gate).set()
            for sock in held:
                sock.close()
        # The slot is released when the exchange ends (here, when the held client went away).
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                wait_until(lambda: self.req(protocol, "inflight.test").status == 200,
                           what="the slot of %s released" % protocol)


class ShutdownDuringChecks(unittest.TestCase):
    def test_stop_while_bcrypt_checks_run(self):
        """SIGTERM while bcrypt checks (cost 12) are in flight on the verifier's pool: portier
        exits cleanly (a check finishing after the workers stopped must not touch them)."""
        backend = Backend("a", NET + ".3")
        ip = NET + ".4"
        port = free_port(ip)
        tmp = make_temp_dir()
        dynamic = {"http": {"routers": {"auth": router("Host(`auth.test`)", "a", middlewares=["auth"])},
                            "middlewares": {"auth": {"basicAuth": {"users": [htpasswd("-B", "-C", "12", "s", "p")]}}},
                            "services": {"a": service(backend.url)}}}
        path = write_file_atomic(tmp / "dynamic.yml", dynamic)
        portier = started(Portier(http_config({"web": "%s:%d" % (ip, port)}, path, workers=2)))
        clients = []
        try:
            for i in range(8):
                c = socket.create_connection((ip, port))
                c.sendall(("GET / HTTP/1.1\r\nHost: auth.test\r\nAuthorization: %s\r\n\r\n"
                           % basic("s", "wrong-%d" % i)).encode())
                clients.append(c)
            self.assertEqual(portier.stop(), 0, portier.logs()[-2000:])
        finally:
            for c in clients:
                c.close()
            portier.__exit__(None, None, None)
            backend.close()


if __name__ == "__main__":
    unittest.main()
