"""Runs unit_acme's hidden [pebble] tests (AcmeManager against a real pebble CA, DNS-01 through
the Cloudflare stand-in, propagation checks through challtestsrv's DNS) and then checks the
stand-in's side: every challenge record deleted, a tagged leftover of a "crashed run" swept,
an untagged record left alone."""

import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cloudflare_standin import CloudflareStandin  # noqa: E402
from pebble_fixture import Pebble  # noqa: E402
from portier_e2e import unit_binary  # noqa: E402

TAG = "portier acme dns-01 challenge"


class AcmePebbleUnit(unittest.TestCase):
    def test_unit_acme_pebble(self):
        with Pebble() as pebble, CloudflareStandin(pebble, ["example.com"]) as cf:
            root = tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False)
            root.write(pebble.root_pem())
            root.close()
            self.addCleanup(os.unlink, root.name)
            cf.add_record("example.com", "_acme-challenge.example.com", "left-over", comment=TAG)
            cf.add_record("example.com", "_acme-challenge.keep.example.com", "not-ours")
            pebble.set_txt("_acme-challenge.preset.example.com", "preset-value")
            env = dict(os.environ,
                       PORTIER_TEST_PEBBLE=pebble.directory_url,
                       PORTIER_TEST_PEBBLE_CA=pebble.ca_file,
                       PORTIER_TEST_PEBBLE_ROOT=root.name,
                       PORTIER_TEST_CF_URL=cf.base_url,
                       PORTIER_TEST_CF_TOKEN=cf.token,
                       PORTIER_TEST_DNS=pebble.dns_address)
            proc = subprocess.run([unit_binary("acme"), "[pebble]", "--reporter", "compact"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=280)
            out = proc.stdout
            self.assertEqual(proc.returncode, 0, out + "\n--- pebble log ---\n" + pebble.log("pebble.log"))
            self.assertIn("Passed all 3 test cases", out, out)
            if os.environ.get("PORTIER_E2E_VERBOSE"):
                print(out)
            left = [(r["name"], r["content"]) for r in cf.txt_records()]
            self.assertEqual(left, [("_acme-challenge.keep.example.com", "not-ours")])
            self.assertGreaterEqual(cf.count("POST", "/dns_records"), 3)
            self.assertGreaterEqual(cf.count("DELETE", "/dns_records/"), 3)


if __name__ == "__main__":
    unittest.main()
