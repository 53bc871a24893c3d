"""ACME DNS-01 end to end through `portier run` (SPEC 9): a real pebble CA, the Cloudflare
stand-in (TXT records served by pebble-challtestsrv's DNS), routers with tls.certresolver in a
file-provider configuration.

Needs the application wiring of acme::AcmeManager (its health under /health "acme"); until
the lead has wired it, the test says so and is skipped.
"""

import base64
import json
import os
import stat
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cloudflare_standin import CloudflareStandin  # noqa: E402
from pebble_fixture import Pebble  # noqa: E402
from portier_e2e import Portier, free_port, make_temp_dir, wait_until, write_file_atomic  # noqa: E402


def router(host):
    return {"rule": "Host(`%s`)" % host, "entryPoints": ["websecure"], "service": "app",
            "tls": {"certResolver": "le"}}


class AcmeThroughPortier(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pebble = Pebble().start()
        cls.cf = CloudflareStandin(cls.pebble, ["example.com"]).start()

    @classmethod
    def tearDownClass(cls):
        cls.cf.stop()
        cls.pebble.stop()

    def setUp(self):
        self.cf.fail_status = None

    def make_portier(self, work):
        """portier on acme.json and dynamic.yml in `work` (kept across restarts)."""
        config = {
            "entryPoints": {"websecure": {"address": "127.0.0.1:%d" % free_port()}},
            "certificatesResolvers": {"le": {"acme": {
                "email": "ops@portier.example.com",
                "storage": str(work / "acme.json"),
                "caServer": self.pebble.directory_url,
                "keyType": "RSA2048",
                "dnsChallenge": {"provider": "cloudflare", "resolvers": [self.pebble.dns_address],
                                 "propagation": {"disableANSChecks": True}}}}},
            "providers": {"file": {"filename": str(work / "dynamic.yml"), "watch": True}},
        }
        env = {"CF_API_BASE_URL": self.cf.base_url, "CF_DNS_API_TOKEN": self.cf.token,
               "LEGO_CA_CERTIFICATES": self.pebble.ca_file, "PORTIER_ACME_BACKOFF_SECONDS": "1"}
        return Portier(config, env=env)

    def write_routers(self, work, hosts):
        write_file_atomic(work / "dynamic.yml", {"http": {
            "routers": {h.split(".")[0]: router(h) for h in hosts},
            "services": {"app": {"loadBalancer": {"servers": [{"url": "http://127.0.0.1:9"}]}}}}})

    def require_wiring(self, p):
        if "acme" not in p.diag("/health"):
            self.skipTest("acme::AcmeManager is not wired into app/ yet (no \"acme\" in /health)")

    def acme_cert(self, p, host, status="valid"):
        for c in p.diag("/certificates"):
            if c.get("source") == "acme" and host in c.get("names", []) and c.get("status", "valid") == status:
                return c
        return None

    def test_obtain_store_reload_and_fail_without_affecting_serving(self):
        work = make_temp_dir("portier-acme-")
        p = self.make_portier(work)
        self.write_routers(work, ["app.example.com"])
        with p:
            p.start()
            self.require_wiring(p)
            cert = wait_until(lambda: self.acme_cert(p, "app.example.com"), 60, "certificate for app.example.com")
            self.assertIn("Pebble", cert["issuer"])

            # A router appearing later gets its certificate within seconds.
            self.write_routers(work, ["app.example.com", "new.example.com"])
            wait_until(lambda: self.acme_cert(p, "new.example.com"), 30, "certificate for new.example.com")

            # Cloudflare down: the failure is reported, health degrades, serving goes on.
            self.cf.fail_status = 500
            self.write_routers(work, ["app.example.com", "new.example.com", "down.example.com"])
            failed = wait_until(lambda: self.acme_cert(p, "down.example.com", "failed"), 60,
                                "failure for down.example.com")
            self.assertIn("HTTP 500", failed["last_error"])
            self.assertEqual(p.diag("/health")["acme"]["status"], "degraded")
            # Back up: the backoff retry succeeds.
            self.cf.fail_status = None
            wait_until(lambda: self.acme_cert(p, "down.example.com"), 60, "certificate after recovery")
            self.assertEqual(p.stop(), 0)

        storage = work / "acme.json"
        self.assertEqual(stat.S_IMODE(os.stat(storage).st_mode), 0o600)
        doc = json.loads(storage.read_text())
        certs = {c["domain"]["main"]: c for c in doc["le"]["Certificates"]}
        self.assertEqual(set(certs), {"app.example.com", "new.example.com", "down.example.com"})
        self.assertTrue(doc["le"]["Account"]["Registration"]["uri"].startswith("https://127.0.0.1"))
        key_pem = base64.b64decode(certs["app.example.com"]["key"])
        text = subprocess.run(["openssl", "pkey", "-noout", "-text"], input=key_pem, capture_output=True).stdout
        self.assertIn(b"2048 bit", text)  # keyType RSA2048
        self.assertEqual([r for r in self.cf.txt_records()], [])  # every challenge record deleted

        # Restart with Cloudflare down: stored certificates are served from the first moment.
        self.cf.fail_status = 500
        again = self.make_portier(work)
        with again:
            again.start()
            for host in ("app.example.com", "new.example.com", "down.example.com"):
                self.assertIsNotNone(self.acme_cert(again, host), host)
            self.assertEqual(again.stop(), 0)

        # A storage file readable by others is refused with a clear message.
        os.chmod(storage, 0o644)
        wide = self.make_portier(work)
        with wide:
            wide.start(expect_ready=False)
            wait_until(lambda: "too open" in wide.logs(), 20, "mode complaint")
            self.assertIn("chmod 600", wide.logs())
            wide.stop()


if __name__ == "__main__":
    unittest.main()
