"""Runs the Catch2 tests tagged [docker] (unit_discovery) against a real daemon started by
dockerd.py --run, so that they run in CI instead of skipping themselves."""

import os
import re
import subprocess
import sys
import unittest
from pathlib import Path

from portier_e2e import unit_binary

HERE = Path(__file__).resolve().parent


@unittest.skipIf(os.geteuid() != 0, "dockerd needs root")
class DockerUnitTests(unittest.TestCase):
    def test_docker_tagged_catch2_tests_run_and_pass(self):
        unit = unit_binary("discovery")
        r = subprocess.run([sys.executable, str(HERE / "dockerd.py"), "--run", str(unit), "[docker]",
                            "--success", "--reporter", "compact"],
                           capture_output=True, text=True, timeout=240)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, out[-6000:])
        self.assertNotIn("PORTIER_TEST_DOCKER_SOCK not set", out)
        self.assertNotIn("No tests ran", out)
        # Both [docker] test cases ran their assertions (a skipped case asserts nothing).
        m = re.search(r"Passed (?:both|all) (\d+) test cases with (\d+) assertions", out)
        self.assertIsNotNone(m, out[-3000:])
        self.assertGreaterEqual(int(m.group(1)), 2, m.group(0))
        self.assertGreaterEqual(int(m.group(2)), 10, m.group(0))
        print(m.group(0))


if __name__ == "__main__":
    unittest.main(verbosity=2)
