"""The circuitBreaker middleware (issue 16 item 4) over each of PROTOCOLS: a service whose one
server of two answers 502 trips `NetworkErrorRatio() > 0.3`; portier then answers 503 itself
(the backends see nothing), and once the failing server is mended the breaker lets traffic
back and returns to passing every request. Each protocol has its own router and middleware
(each router has its own breaker). Bad expressions are configuration errors naming the position."""

import threading
import time
import unittest

from portier_e2e import (PROTOCOLS, Backend, Portier, check_compose, both_sides, free_port, http_config, make_temp_dir,
                         proto_request, service, started, write_file_atomic)
from tcp_peers import StreamServer
from test_retry import read_request

NET = "127.0.93"


class Flaky:
    """Answers 502 while .failing, else 200; counts the requests it answered."""

    def __init__(self, ip):
        self.failing = True
        self.requests = 0
        self._lock = threading.Lock()
        self.server = StreamServer(ip, self._handle)
        self.url = "http://" + self.server.address

    def _handle(self, conn):
        while read_request(conn):
            with self._lock:
                self.requests += 1
            status = b"502 Bad Gateway" if self.failing else b"200 OK"
            conn.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: 5\r\n\r\nflaky")


class CircuitBreaker(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = Backend("app", NET + ".2")
        cls.flaky = Flaky(NET + ".3")
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        routers, middlewares = {}, {}
        for protocol in PROTOCOLS:
            routers.update(both_sides("cb-" + protocol, protocol + ".test", "half-broken", [protocol]))
            middlewares[protocol] = {"circuitBreaker": {
                "expression": "NetworkErrorRatio() > 0.3", "checkPeriod": "50ms",
                "fallbackDuration": "1s", "recoveryDuration": "1s"}}
        path = write_file_atomic(make_temp_dir() / "dynamic.yml", {"http": {
            "routers": routers, "middlewares": middlewares,
            "services": {"half-broken": service(cls.flaky.url, cls.backend.url)}}})
        cls.portier = started(Portier(http_config({"web": "%s:%d" % (cls.ip, cls.port)}, path)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.backend.close()
        cls.flaky.server.close()

    def get(self, protocol):
        return proto_request(protocol, "GET", self.ip, self.port, "/cb", headers={"Host": protocol + ".test"})

    def test_trips_on_errors_and_recovers(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                self.flaky.failing = True
                seen, deadline = [], time.monotonic() + 10
                while time.monotonic() < deadline:  # half of the answers are 502: the breaker trips
                    r = self.get(protocol)  # (at the first check after checkPeriod, 50 ms)
                    seen.append(r.status)
                    if r.status == 503:
                        break
                self.assertIn(502, seen)
                self.assertEqual(seen[-1], 503, seen)
                self.assertEqual(r.body, b"Service Unavailable")
                # Open: portier answers; neither server is asked.
                before = (self.flaky.requests, len(self.backend.requests))
                self.assertEqual([self.get(protocol).status for _ in range(5)], [503] * 5)
                self.assertEqual((self.flaky.requests, len(self.backend.requests)), before)
                # Mended: after fallbackDuration, recovery lets requests through, then all pass.
                self.flaky.failing = False
                deadline, streak = time.monotonic() + 15, 0
                while streak < 12:
                    self.assertLess(time.monotonic(), deadline, "the breaker did not close again")
                    streak = streak + 1 if self.get(protocol).status == 200 else 0
                self.assertGreater(self.flaky.requests, before[0])

    def test_bad_expressions(self):
        code, doc = check_compose(NET + ".1", """\
name: breaker
services:
  web:
    image: test/busybox:1
    network_mode: host
    labels:
      - traefik.enable=true
      - traefik.http.routers.web.rule=Host(`web.example.test`)
      - traefik.http.routers.web.middlewares=cb,half,slow
      - traefik.http.services.web.loadbalancer.server.port=8080
      - traefik.http.middlewares.cb.circuitbreaker.expression=NetworkErrorRatio() > 0.5
      - traefik.http.middlewares.cb.circuitbreaker.fallbackduration=30s
      - traefik.http.middlewares.cb.circuitbreaker.responsecode=429
      - traefik.http.middlewares.half.circuitbreaker.expression=ResponseCodeRatio(500, 600, 0, 600) > 0.25 || LatencyAtQuantileMS(50.0) > 100
      - traefik.http.middlewares.slow.circuitbreaker.expression=LatencyAtQuantileMS(50.0) > 100 && RequestThreshold() > 10
      - traefik.http.routers.bad.rule=Host(`bad.example.test`)
      - traefik.http.routers.bad.middlewares=bad
      - traefik.http.middlewares.bad.circuitbreaker.expression=NetworkErrorRatio() >
      - traefik.http.routers.worse.rule=Host(`worse.example.test`)
      - traefik.http.routers.worse.middlewares=worse
      - traefik.http.middlewares.worse.circuitbreaker.expression=Latency(50) > 1
""")
        self.assertEqual(doc["http"]["middlewares"]["cb@docker"]["circuitBreaker"],
                         {"expression": "NetworkErrorRatio() > 0.5", "fallbackDuration": "30s", "responseCode": 429})
        self.assertEqual(code, 1, doc)
        messages = [e["message"] for e in doc["errors"]]
        self.assertIn('circuitBreaker.expression: at position 22: expected a function, a number or "("', messages)
        self.assertIn('circuitBreaker.expression: at position 1: unknown function "Latency"', messages)
        self.assertEqual(len(messages), 2, messages)


if __name__ == "__main__":
    unittest.main()
