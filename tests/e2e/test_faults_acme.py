"""ACME faults survived, nothing lost (issue 14 item 7), through `portier run` with a real pebble
CA and the Cloudflare stand-in: pebble killed during an order and started again (serving goes
on, the order completes later); the Cloudflare API answering 500 (bounded retries, growing
delays), 429 with Retry-After (honoured), hanging (each request cut by CF_HTTP_TIMEOUT, the
control thread stays responsive) and failing only deletions (the record left behind is swept
by the next order in its zone). After each, no challenge record is left."""

import json
import os
import stat
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from backend import Backend  # noqa: E402
from cloudflare_standin import CloudflareStandin  # noqa: E402
from pebble_fixture import Pebble  # noqa: E402
from portier_e2e import Portier, free_port, http_request, make_temp_dir, wait_until, write_file_atomic  # noqa: E402


class AcmeFaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pebble = Pebble().start()
        cls.cf = CloudflareStandin(cls.pebble, ["example.com"]).start()
        cls.backend = Backend("plain")

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()
        cls.cf.stop()
        cls.pebble.stop()

    def setUp(self):
        self.cf.clear_faults()
        self.work = make_temp_dir("portier-acme-faults-")
        self.web = "127.0.0.1:%d" % free_port()
        config = {
            "entryPoints": {"web": {"address": self.web},
                            "websecure": {"address": "127.0.0.1:%d" % free_port()}},
            "certificatesResolvers": {"le": {"acme": {
                "email": "ops@portier.example.com",
                "storage": str(self.work / "acme.json"),
                "caServer": self.pebble.directory_url,
                "dnsChallenge": {"provider": "cloudflare", "resolvers": [self.pebble.dns_address],
                                 "propagation": {"disableANSChecks": True}}}}},
            "providers": {"file": {"filename": str(self.work / "dynamic.yml"), "watch": True}},
        }
        env = {"CF_API_BASE_URL": self.cf.base_url, "CF_DNS_API_TOKEN": self.cf.token, "CF_HTTP_TIMEOUT": "2",
               "LEGO_CA_CERTIFICATES": self.pebble.ca_file, "PORTIER_ACME_BACKOFF_SECONDS": "1"}
        self.portier = Portier(config, env=env)
        self.addCleanup(self.portier.__exit__, None, None, None)
        self.write_routers([])
        self.portier.start()

    def tearDown(self):
        self.cf.clear_faults()

    # ---- helpers ----
    def write_routers(self, hosts):
        routers = {h.split(".")[0]: {"rule": "Host(`%s`)" % h, "entryPoints": ["websecure"], "service": "app",
                                     "tls": {"certResolver": "le"}} for h in hosts}
        routers["plain"] = {"rule": "Host(`plain.test`)", "entryPoints": ["web"], "service": "app"}
        write_file_atomic(self.work / "dynamic.yml", {"http": {
            "routers": routers, "services": {"app": {"loadBalancer": {"servers": [{"url": self.backend.url}]}}}}})

    def cert(self, host, status="valid"):
        for c in self.portier.diag("/certificates"):
            if c.get("source") == "acme" and host in c.get("names", []) and c.get("status", "valid") == status:
                return c
        return None

    def assert_serving(self):
        """The plain route answers and the diagnostics respond at once: nothing waits for ACME."""
        r = http_request("GET", "http://%s/" % self.web, headers={"Host": "plain.test"}, timeout=2)
        self.assertEqual(r.status, 200, r)
        self.assertIn(self.portier.diag("/health")["status"], ("ok", "degraded"))

    def requests_since(self, start, fragment):
        with self.cf.lock:
            return [t for t, m, p in self.cf.times[start:] if fragment in p]

    def assert_no_challenge_records(self):
        wait_until(lambda: self.cf.txt_records() == [], 15, "every challenge record deleted (%s)" % self.cf.txt_records())

    def assert_stored(self, hosts):
        storage = self.work / "acme.json"
        self.assertEqual(stat.S_IMODE(os.stat(storage).st_mode), 0o600)
        stored = {c["domain"]["main"] for c in json.loads(storage.read_text())["le"]["Certificates"]}
        self.assertEqual(stored, set(hosts))

    # ---- tests ----
    def test_ca_killed_during_an_order_then_started(self):
        posted = self.cf.count("POST", "dns_records")
        self.write_routers(["ca.example.com"])
        # The order is under way once its TXT record exists: the CA dies then.
        wait_until(lambda: self.cf.count("POST", "dns_records") > posted, 30, "the challenge record created")
        self.pebble.stop_ca()
        try:
            failed = wait_until(lambda: self.cert("ca.example.com", "failed"), 30, "the order failing with the CA down")
            self.assertIn("retry_in_seconds", failed)
            self.assert_serving()
            self.assertEqual(self.portier.diag("/health")["acme"]["status"], "degraded")
            self.assert_no_challenge_records()
        finally:
            self.pebble.start_ca()
        # The restarted pebble has forgotten the account: portier registers again and orders.
        wait_until(lambda: self.cert("ca.example.com"), 60, "the certificate once the CA is back")
        self.assert_serving()
        self.assert_no_challenge_records()
        self.assert_stored(["ca.example.com"])

    def test_cloudflare_500_bounded_retries_with_growing_delays(self):
        self.cf.fail_status = 500
        start = len(self.cf.times)
        self.write_routers(["five.example.com"])
        failed = wait_until(lambda: self.cert("five.example.com", "failed"), 30, "the failure reported")
        self.assertIn("HTTP 500", failed["last_error"])
        # Two orders: 3 attempts each (1 s then 2 s apart), the second order after the backoff.
        wait_until(lambda: len(self.requests_since(start, "five.example.com")) >= 6, 30, "a second order")
        times = self.requests_since(start, "five.example.com")
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertGreaterEqual(min(gaps), 0.9, gaps)
        self.assertGreaterEqual(times[5] - times[0], 6.5, gaps)
        self.assert_serving()
        self.cf.clear_faults()
        wait_until(lambda: self.cert("five.example.com"), 60, "the certificate after recovery")
        self.assert_no_challenge_records()
        self.assert_stored(["five.example.com"])

    def test_cloudflare_429_retry_after_is_honoured(self):
        self.cf.fail_status, self.cf.retry_after, self.cf.fail_remaining = 429, "3", 1
        start = len(self.cf.times)
        self.write_routers(["limited.example.com"])
        wait_until(lambda: self.cert("limited.example.com"), 60, "the certificate after the rate limit")
        times = self.requests_since(start, "/zones")
        # The retry after the 429 waits the 3 s asked for, not the 1 s first retry delay.
        self.assertGreaterEqual(times[1] - times[0], 2.9, times)
        self.assert_no_challenge_records()
        self.assert_stored(["limited.example.com"])

    def test_cloudflare_hanging_requests_time_out(self):
        self.cf.hang()
        start = len(self.cf.times)
        self.write_routers(["hang.example.com"])
        failed = wait_until(lambda: self.cert("hang.example.com", "failed"), 30, "the failure reported")
        self.assertIn("timeout", failed["last_error"])
        times = self.requests_since(start, "hang.example.com")
        self.assertEqual(len(times), 3, times)  # attempts bounded
        # Each attempt waited out CF_HTTP_TIMEOUT (2 s), then the 1 s and 2 s retry delays.
        self.assertGreaterEqual(times[2] - times[0], 6.5, times)
        self.assert_serving()
        self.cf.unhang()
        wait_until(lambda: self.cert("hang.example.com"), 60, "the certificate once the API answers")
        self.assert_no_challenge_records()

    def test_record_whose_deletion_failed_is_swept_by_the_next_order(self):
        self.cf.fail_status, self.cf.fail_methods = 500, {"DELETE"}
        self.write_routers(["del1.example.com"])
        wait_until(lambda: self.cert("del1.example.com"), 60, "the certificate despite the failing deletion")
        wait_until(lambda: self.cf.count("DELETE", "dns_records") >= 3, 15, "the deletion attempted")
        left = [r["name"] for r in self.cf.txt_records()]
        self.assertEqual(left, ["_acme-challenge.del1.example.com"])
        self.cf.clear_faults()
        self.write_routers(["del1.example.com", "del2.example.com"])
        wait_until(lambda: self.cert("del2.example.com"), 60, "the next certificate in the zone")
        self.assert_no_challenge_records()
        self.assert_stored(["del1.example.com", "del2.example.com"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
