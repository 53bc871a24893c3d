"""Process lifecycle (SPEC 1, 11): sd_notify READY=1/STOPPING=1, graceful drain on SIGTERM,
exit 0 on SIGTERM/SIGINT, SIGHUP does not stop the process."""

import http.client
import select
import signal
import socket
import time
import unittest

from portier_e2e import (Backend, Portier, RawClient, free_port, http_config, http_request, make_temp_dir, router,
                         service, wait_until, write_file_atomic)

NET = "127.0.29"


class Lifecycle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = Backend("life", NET + ".2")

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()

    def setUp(self):
        self.ip = NET + ".1"
        self.port = free_port(self.ip)
        path = write_file_atomic(make_temp_dir() / "dynamic.yml", {"http": {
            "routers": {"life": router("Host(`life.test`)", "life")},
            "services": {"life": service(self.backend.url)}}})
        self.p = Portier(http_config({"web": "%s:%d" % (self.ip, self.port)}, path))
        self.addCleanup(self.p.__exit__, None, None, None)
        self.p.start()

    def refused(self):
        try:
            socket.create_connection((self.ip, self.port), timeout=1).close()
            return False
        except ConnectionRefusedError:
            return True

    def test_ready_notification(self):
        self.assertIn("READY=1", self.p.notified())
        self.assertEqual(http_request("GET", "http://%s:%d/" % (self.ip, self.port),
                                      headers={"Host": "life.test"}).status, 200)
        self.assertEqual(self.p.diag("/health")["status"], "ok")

    def test_sigterm_drains_in_flight_request(self):
        with RawClient(self.ip, self.port, timeout=15) as c:
            c.send(b"GET /slow/2500 HTTP/1.1\r\nHost: life.test\r\n\r\n")
            wait_until(lambda: "/slow/2500" in self.backend.paths(), what="the slow request at the backend")
            self.p.proc.send_signal(signal.SIGTERM)
            wait_until(self.refused, timeout=5, what="new connections refused after SIGTERM")
            readable, _, _ = select.select([c.sock], [], [], 0)
            self.assertFalse(readable, "the in-flight request finished before the listener closed")
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["path"], "/slow/2500")
            self.assertTrue(c.is_closed(), "connection kept open after the drained request")
        self.assertEqual(self.p.wait_exit(15), 0, self.p.logs())
        wait_until(lambda: "STOPPING=1" in self.p.notified(), timeout=5, what="STOPPING=1")

    def test_idle_keep_alive_connection_does_not_delay_exit(self):
        conn = http.client.HTTPConnection(self.ip, self.port, timeout=5)
        self.addCleanup(conn.close)
        conn.request("GET", "/idle", headers={"Host": "life.test"})
        r = conn.getresponse()
        r.read()
        self.assertEqual(r.status, 200)
        t0 = time.monotonic()
        self.assertEqual(self.p.stop(signal.SIGTERM, timeout=15), 0, self.p.logs())
        self.assertLess(time.monotonic() - t0, 5.0, "an idle connection held the drain")

    def test_sigint_exits_zero(self):
        self.assertEqual(self.p.stop(signal.SIGINT), 0, self.p.logs())

    def test_sighup_keeps_running(self):
        self.p.proc.send_signal(signal.SIGHUP)
        for _ in range(3):
            self.assertEqual(http_request("GET", "http://%s:%d/" % (self.ip, self.port),
                                          headers={"Host": "life.test"}).status, 200)
        self.assertEqual(self.p.diag("/health")["status"], "ok")
        self.assertTrue(self.p.running())
        self.assertEqual(self.p.stop(), 0)


if __name__ == "__main__":
    unittest.main()
