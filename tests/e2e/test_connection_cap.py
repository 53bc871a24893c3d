"""Per-entrypoint connection cap (entryPoints.NAME.portier.maxConnections, portier's key;
HAProxy's maxconn): with the cap's worth of connections open, a new connection is not served
(the kernel's backlog holds it) until one of them closes; portier logs once when the cap is
reached and once when it is below it again. The waiting client speaks each of HTTP/1.1, HTTPS,
h2 and h2c."""

import socket
import threading
import time
import unittest

from portier_e2e import (PROTOCOLS, Backend, Portier, proto_request, free_port, http_config, make_temp_dir,
                         router, service, started, wait_until, write_file_atomic)

NET = "127.0.71"
CAP = 3


class ConnectionCap(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = Backend("cap", NET + ".2")
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        dynamic = {"http": {"routers": {"plain": router("Host(`cap.test`)", "a"),
                                        "tls": router("Host(`cap.test`)", "a", tls={})},
                            "services": {"a": service(cls.backend.url)}}}
        path = write_file_atomic(make_temp_dir() / "dynamic.yml", dynamic)
        cls.portier = started(Portier(http_config({"web": {
            "address": "%s:%d" % (cls.ip, cls.port), "portier": {"maxConnections": CAP}}}, path)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.backend.close()

    def held_connection(self):
        """A keep-alive connection that completed one request and stays open."""
        c = socket.create_connection((self.ip, self.port), timeout=10)
        c.sendall(b"GET /held HTTP/1.1\r\nHost: cap.test\r\n\r\n")
        got = b""
        while b"\r\n\r\n" not in got:
            got += c.recv(65536)
        self.assertTrue(got.startswith(b"HTTP/1.1 200 "), got[:100])
        return c

    def count(self, text):
        return self.portier.logs().count(text)

    def test_past_the_cap_a_connection_waits_until_one_closes(self):
        reached = "entrypoint web: connection cap %d reached" % CAP
        below = "entrypoint web: below connection cap %d" % CAP
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                held = [self.held_connection() for _ in range(CAP)]
                # Counted once the cap is full: connections of the previous case that portier was
                # still closing may have made an episode of their own while these were opened.
                before_reached, before_below = self.count(reached), self.count(below)
                result = {}

                def waiting_client():
                    try:
                        result["r"] = proto_request(protocol, "GET", self.ip, self.port, "/waiting",
                                                    headers={"Host": "cap.test"}, timeout=15)
                    except Exception as e:  # reported by the assertions below
                        result["error"] = e
                t = threading.Thread(target=waiting_client)
                t.start()
                try:
                    wait_until(lambda: self.count(reached) > before_reached, timeout=10, what="the cap log line")
                    t.join(1.0)
                    self.assertTrue(t.is_alive(), "served past the cap: %r" % result)
                    held.pop().close()
                    t.join(10)
                    self.assertFalse(t.is_alive(), "not served after a connection closed")
                    self.assertNotIn("error", result)
                    self.assertEqual(result["r"].status, 200, result["r"])
                    wait_until(lambda: self.count(below) > before_below, timeout=5, what="the below-cap log line")
                    self.assertEqual(self.count(reached), before_reached + 1, "logged more than once per episode")
                finally:
                    for c in held:
                        c.close()
                    t.join(15)
                # All slots free again: CAP connections are served at once.
                wait_until(lambda: self.try_all_served(), timeout=10, what="the cap's slots freed")

    def try_all_served(self):
        conns = []
        try:
            for _ in range(CAP):
                conns.append(self.held_connection())
            return True
        except (OSError, AssertionError):
            return False
        finally:
            for c in conns:
                c.close()


if __name__ == "__main__":
    unittest.main()
