"""The state directory failing under a running portier (issue 14 item 7): a full tmpfs, then a
read-only one. acme.json and ports.json are never torn (a reader parsing them all along never
sees a partial file), keep their old content and mode 0600 while writes fail, the failure shows
in /health (storage_errors, status degraded), serving from memory goes on (the new certificate
and port allocation are used), and the writes succeed once the directory is writable again.
Real parts: a tmpfs mount (root), dockerd (rediacc.tcp_ports), pebble, the Cloudflare stand-in."""

import errno
import json
import os
import stat
import subprocess
import sys
import threading
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cloudflare_standin import CloudflareStandin  # noqa: E402
from docker_e2e import DockerPortierMixin, free_range, needs_root, pick_public_ip, rediacc_labels  # noqa: E402
from pebble_fixture import Pebble  # noqa: E402
from portier_e2e import free_port, make_temp_dir, wait_until, write_file_atomic  # noqa: E402

NET = "127.0.82"
PUBLIC = pick_public_ip(NET)
FILES = ("acme.json", "ports.json")


class TornReader(threading.Thread):
    """Parses every file of FILES in `state` in a loop until stop(); records what failed."""

    def __init__(self, state):
        super().__init__(daemon=True)
        self.state, self.reads, self.torn = state, 0, []
        self._done = threading.Event()

    def run(self):
        while not self._done.is_set():
            for name in FILES:
                try:
                    text = (self.state / name).read_text()
                except FileNotFoundError:
                    continue
                try:
                    json.loads(text)
                    self.reads += 1
                except ValueError as e:
                    self.torn.append((name, str(e), text[-200:]))
            self._done.wait(0.005)  # pacing only

    def stop(self):
        self._done.set()
        self.join(5)


@needs_root
class StateDirectoryFaults(DockerPortierMixin, unittest.TestCase):
    DAEMONS = ("s",)

    @classmethod
    def setUpClass(cls):
        cls.work = make_temp_dir("portier-state-faults-")
        cls.state = cls.work / "state"
        cls.state.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(cls.state)], check=True)
        cls.addClassCleanup(subprocess.run, ["umount", "-l", str(cls.state)], check=False)
        cls.pebble = Pebble().start()
        cls.addClassCleanup(cls.pebble.stop)
        cls.cf = CloudflareStandin(cls.pebble, ["example.com"]).start()
        cls.addClassCleanup(cls.cf.stop)
        cls.write_routers(["a.example.com"])
        super().setUpClass()

    @classmethod
    def portier_config(cls):
        first = free_range(PUBLIC, 4)
        config = {
            "infra": {"public_ipv4": PUBLIC, "http_port": free_port(PUBLIC), "https_port": free_port(PUBLIC),
                      "dynamic_tcp_ports": "%d-%d" % (first, first + 3)},
            "entryPoints": {"websecure": {"address": "127.0.0.1:%d" % free_port()}},
            "providers": {"docker": {"endpoints": [cls.daemons["s"].endpoint]},
                          "file": {"filename": str(cls.work / "dynamic.yml"), "watch": True}},
            "certificatesResolvers": {"le": {"acme": {
                "email": "ops@portier.example.com", "caServer": cls.pebble.directory_url,
                "dnsChallenge": {"provider": "cloudflare", "resolvers": [cls.pebble.dns_address],
                                 "propagation": {"disableANSChecks": True}}}}},
            "state": {"directory": str(cls.state)},
        }
        cls.PORTIER_ENV = {"CF_API_BASE_URL": cls.cf.base_url, "CF_DNS_API_TOKEN": cls.cf.token,
                           "LEGO_CA_CERTIFICATES": cls.pebble.ca_file, "PORTIER_ACME_BACKOFF_SECONDS": "1"}
        return config, []

    @classmethod
    def write_routers(cls, hosts):
        routers = {h.split(".")[0]: {"rule": "Host(`%s`)" % h, "entryPoints": ["websecure"], "service": "app",
                                     "tls": {"certResolver": "le"}} for h in hosts}
        write_file_atomic(cls.work / "dynamic.yml", {"http": {
            "routers": routers, "services": {"app": {"loadBalancer": {"servers": [{"url": "http://127.0.0.1:9"}]}}}}})

    # ---- helpers ----
    def cert(self, host):
        for c in self.portier.diag("/certificates"):
            if c.get("source") == "acme" and host in c.get("names", []) and c.get("status", "valid") == "valid":
                return c
        return None

    def allocate(self, name):
        """Runs a container asking for one dynamic TCP port; waits until /ports lists it."""
        ip = NET + ".2"
        port = free_port(ip)
        self.daemons["s"].run(rediacc_labels(name, ip, tcp_ports=port), ip=ip, port=port, name=name)
        wait_until(lambda: any(e["service"] == name for e in self.portier.diag("/ports")["tcp"]), 10,
                   "%s in /ports" % name)

    def stored(self):
        """{file: text} of acme.json and ports.json."""
        return {name: (self.state / name).read_text() for name in FILES}

    def storage_errors(self):
        return {Path(e["file"]).name: e["error"] for e in self.health()["storage_errors"]}

    def assert_files_whole(self, expected):
        self.assertEqual(self.stored(), expected)
        for name in FILES:
            self.assertEqual(stat.S_IMODE(os.stat(self.state / name).st_mode), 0o600, name)
        self.assertEqual(sorted(p.name for p in self.state.iterdir() if ".tmp" in p.name), [])

    def fail_writes_then_recover(self, hosts, container, reason, make_writable):
        """With writes failing: a new certificate and a new allocation are used from memory,
        the files stay as they were, /health names both; then writable again: both written."""
        before = self.stored()
        self.write_routers(hosts)
        self.allocate(container)
        wait_until(lambda: self.cert(hosts[-1]), 60, "the certificate for %s, served from memory" % hosts[-1])
        errors = wait_until(lambda: len(self.storage_errors()) == 2 and self.storage_errors(), 15,
                            "both files' write errors in /health")
        for name in FILES:
            self.assertIn(reason, errors[name])
        self.assertEqual(self.health()["status"], "degraded")
        self.assertIn(reason, self.health()["acme"]["resolvers"][0]["storage_error"])
        self.assert_files_whole(before)

        make_writable()
        self.daemons["s"].run({}, ip=NET + ".3", port=free_port(NET + ".3"), name=container + "-nudge")  # an event: ports re-sync
        wait_until(lambda: self.storage_errors() == {}, 15, "the writes retried")
        stored = self.stored()
        certs = {c["domain"]["main"] for c in json.loads(stored["acme.json"])["le"]["Certificates"]}
        self.assertEqual(certs, set(hosts))
        services = {a["service"] for a in json.loads(stored["ports.json"])["allocations"]}
        self.assertIn(container, services)
        self.assert_files_whole(stored)

    # ---- test ----
    def test_full_then_read_only_state_directory(self):
        wait_until(lambda: self.cert("a.example.com"), 60, "the first certificate")
        self.allocate("db1")
        wait_until(lambda: all((self.state / n).exists() for n in FILES), 10, "both state files written")
        reader = TornReader(self.state)
        reader.start()
        try:
            filler = self.state / "filler"
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                while True:
                    os.write(fd, b"\0" * 4096)
            except OSError as e:
                self.assertEqual(e.errno, errno.ENOSPC)
            finally:
                os.close(fd)
            self.fail_writes_then_recover(["a.example.com", "b.example.com"], "db2", "No space left on device",
                                          filler.unlink)

            subprocess.run(["mount", "-o", "remount,ro", str(self.state)], check=True)
            self.fail_writes_then_recover(
                ["a.example.com", "b.example.com", "c.example.com"], "db3", "Read-only file system",
                lambda: subprocess.run(["mount", "-o", "remount,rw", str(self.state)], check=True))
        finally:
            reader.stop()
        self.assertEqual(reader.torn, [])
        self.assertGreater(reader.reads, 100)


if __name__ == "__main__":
    unittest.main(verbosity=2)
