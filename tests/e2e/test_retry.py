"""The retry middleware (issue 16 item 3) over each of PROTOCOLS, against real failing servers:
one that refuses connections (nothing listens), one that reads the request and resets the
connection, one that answers 503. With `retry`, a request goes to the next server of the
service and succeeds; without it, or for a POST whose body was sent, it fails; `status` ranges
retry answered errors and the last attempt's answer is relayed; `initialInterval` waits between
attempts; a POST is replayed with its body when `retryNonIdempotentMethod` is set."""

import hashlib
import socket
import struct
import time
import unittest

from portier_e2e import (PROTOCOLS, Backend, Portier, check_compose, both_sides, free_port, http_config, http_request,
                         make_temp_dir, proto_request, service, started, write_file_atomic)
from tcp_peers import StreamServer

NET = "127.0.92"


def read_request(conn):
    """Reads one HTTP/1.1 request (head and Content-Length body); False at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        body += chunk
    return True


def reset_after_request(conn):
    """Reads the request, then resets the connection: no response byte."""
    if read_request(conn):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def answer_503(conn):
    while read_request(conn):
        conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy")


class Retry(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = Backend("app", NET + ".2")
        cls.reset = StreamServer(NET + ".3", reset_after_request)
        cls.busy = StreamServer(NET + ".4", answer_503)
        refused = "http://%s:%d" % (NET + ".5", free_port(NET + ".5"))  # nothing listens there
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        services = {
            "refused-then-ok": service(refused, cls.backend.url),
            "reset-then-ok": service("http://" + cls.reset.address, cls.backend.url),
            "busy-then-ok": service("http://" + cls.busy.address, cls.backend.url),
            "busy": service("http://" + cls.busy.address),
            "refused": service(refused),
        }
        middlewares = {
            "twice": {"retry": {"attempts": 2}},
            "statuses": {"retry": {"attempts": 3, "status": ["500-599"]}},
            "posts": {"retry": {"attempts": 2, "retryNonIdempotentMethod": True}},
            "slowly": {"retry": {"attempts": 3, "initialInterval": "200ms"}},
        }
        routers = {}
        for name, svc, mws in (("plain", "refused-then-ok", None), ("refused", "refused-then-ok", ["twice"]),
                               ("reset", "reset-then-ok", ["twice"]), ("reset-posts", "reset-then-ok", ["posts"]),
                               ("busy", "busy-then-ok", ["statuses"]), ("busy-only", "busy", ["statuses"]),
                               ("busy-network-only", "busy-then-ok", ["twice"]), ("slow", "refused", ["slowly"])):
            routers.update(both_sides(name, name + ".test", svc, mws))
        path = write_file_atomic(make_temp_dir() / "dynamic.yml", {"http": {
            "routers": routers, "middlewares": middlewares, "services": services}})
        cls.portier = started(Portier(http_config({"web": "%s:%d" % (cls.ip, cls.port)}, path,
                                                  metrics={"prometheus": {"addServicesLabels": True}})))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        for s in (cls.backend, cls.reset, cls.busy):
            s.close()

    def statuses(self, protocol, host, n=6, method="GET", body=None):
        return [proto_request(protocol, method, self.ip, self.port, "/r", headers={"Host": host}, body=body).status
                for _ in range(n)]

    def test_without_retry_the_refusing_server_shows(self):
        # Six requests on two workers: a worker that gets two of them tries both servers.
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                self.assertIn(502, self.statuses(protocol, "plain.test"))

    def test_a_refused_or_reset_attempt_goes_to_the_next_server(self):
        for protocol in PROTOCOLS:
            for host in ("refused.test", "reset.test"):
                with self.subTest(protocol=protocol, host=host):
                    accepted = self.reset.accepted
                    self.assertEqual(self.statuses(protocol, host), [200] * 6)
                    if host == "reset.test":
                        self.assertGreater(self.reset.accepted, accepted)  # it was tried
        metrics = http_request("GET", "http://%s/metrics" % self.portier.diag_address).body.decode()
        counted = {line.split("{")[1].split("}")[0]: float(line.rsplit(" ", 1)[1])
                   for line in metrics.splitlines() if line.startswith("traefik_service_retries_total{")}
        self.assertGreater(counted.get('service="refused-then-ok@file"', 0), 0, metrics)

    def test_a_post_whose_body_was_sent_is_not_retried_unless_allowed(self):
        body = b"x" * 5000
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol, case="POST"):
                self.assertIn(502, self.statuses(protocol, "reset.test", method="POST", body=body))
            with self.subTest(protocol=protocol, case="retryNonIdempotentMethod"):
                before = len(self.backend.requests)
                self.assertEqual(self.statuses(protocol, "reset-posts.test", method="POST", body=body), [200] * 6)
                seen = self.backend.requests[before:]
                self.assertEqual(len(seen), 6)
                for r in seen:  # the replayed body arrived whole
                    self.assertEqual(r["body_sha256"], hashlib.sha256(body).hexdigest())

    def test_status_ranges(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol, case="retried on the next server"):
                self.assertEqual(self.statuses(protocol, "busy.test"), [200] * 6)
            with self.subTest(protocol=protocol, case="network errors only: a 503 is an answer"):
                self.assertIn(503, self.statuses(protocol, "busy-network-only.test"))
            with self.subTest(protocol=protocol, case="the last attempt's answer is relayed"):
                r = proto_request(protocol, "GET", self.ip, self.port, "/r", headers={"Host": "busy-only.test"})
                self.assertEqual((r.status, r.body), (503, b"busy"))

    def test_backoff_waits_between_attempts(self):
        # Two waits: 200 ms x [0.5, 1.5], then 200 ms x sqrt(2) x [0.5, 1.5]: at least 241 ms.
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                start = time.monotonic()
                r = proto_request(protocol, "GET", self.ip, self.port, "/r", headers={"Host": "slow.test"})
                self.assertEqual(r.status, 502)
                self.assertGreaterEqual(time.monotonic() - start, 0.241)

    def test_configuration_errors(self):
        code, doc = check_compose(NET + ".1", """\
name: again
services:
  web:
    image: test/busybox:1
    network_mode: host
    labels:
      - traefik.enable=true
      - traefik.http.routers.web.rule=Host(`web.example.test`)
      - traefik.http.routers.web.middlewares=again
      - traefik.http.services.web.loadbalancer.server.port=8080
      - traefik.http.middlewares.again.retry.attempts=4
      - traefik.http.middlewares.again.retry.initialinterval=100ms
      - traefik.http.middlewares.again.retry.status=502,520-599
      - traefik.http.routers.bad.rule=Host(`bad.example.test`)
      - traefik.http.routers.bad.middlewares=bad
      - traefik.http.middlewares.bad.retry.attempts=2
      - traefik.http.middlewares.bad.retry.status=5xx
""")
        self.assertEqual(doc["http"]["middlewares"]["again@docker"]["retry"],
                         {"attempts": 4, "initialInterval": "100ms", "status": ["502", "520-599"]})
        self.assertEqual(code, 1, doc)
        self.assertIn('retry.status: invalid status code range "5xx" (a code or a range such as 500-599)',
                      [e["message"] for e in doc["errors"]])


if __name__ == "__main__":
    unittest.main()
