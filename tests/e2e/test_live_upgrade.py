"""Live upgrade (issue 19, item 2): `portier upgrade` makes the running portier start its
binary again as a successor, hand it every listening socket and drain once the successor
serves. Under constant load, no request fails and no connection is refused across the
upgrades; a successor that cannot start leaves the old process serving, and the command says
why.

The test process is a child subreaper (PR_SET_CHILD_SUBREAPER): each successor is the previous
process's child and is re-parented here when its parent exits, so the test reaps every one."""
import ctypes
import json
import os
import shutil
import signal
import socket
import stat
import unittest

from portier_e2e import Portier, http_config, make_temp_dir, portier_bin, router, run_cli, service, wait_until, \
    write_file_atomic
from backend import Backend
from tcp_peers import UdpEcho
from test_socket_activation import Load

NET = "127.0.72"
UPGRADES = 5
PR_SET_CHILD_SUBREAPER = 36


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class LiveUpgrade(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)
        cls.dir = make_temp_dir()
        cls.binary = cls.dir / "portier"
        shutil.copy2(portier_bin(), cls.binary)
        cls.backend = Backend("app", NET + ".2")
        cls.echo = UdpEcho(NET + ".3")
        from portier_e2e import free_port
        cls.web_port = free_port(NET + ".1")
        cls.udp_port = free_port(NET + ".1", udp=True)
        dynamic = {
            "http": {"routers": {"app": router("Host(`app.test`)", "app")},
                     "services": {"app": service(cls.backend.url)}},
            "udp": {"routers": {"echo": {"entryPoints": ["udp-%d" % cls.udp_port], "service": "echo"}},
                    "services": {"echo": {"loadBalancer": {"servers": [{"address": cls.echo.address}]}}}},
        }
        path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        cfg = http_config({"web": "%s:%d" % (NET + ".1", cls.web_port),
                           "udp-%d" % cls.udp_port: "%s:%d/udp" % (NET + ".1", cls.udp_port)}, path)
        cls.portier = Portier(cfg, binary=str(cls.binary))
        cls.portier.start()
        cls.pid = cls.portier.proc.pid

    @classmethod
    def tearDownClass(cls):
        if alive(cls.pid):
            os.kill(cls.pid, signal.SIGTERM)
            if cls.pid != cls.portier.proc.pid:
                os.waitpid(cls.pid, 0)
        cls.portier.__exit__(None, None, None)
        cls.backend.close()
        cls.echo.close()

    def upgrade(self):
        return run_cli(["upgrade", "--config", str(self.portier.config_path)], timeout=60)

    def wait_gone(self, pid):
        if pid == self.portier.proc.pid:
            self.assertEqual(self.portier.wait_exit(30), 0)
        else:
            _, status = os.waitpid(pid, 0)
            self.assertEqual(os.waitstatus_to_exitcode(status), 0)

    def udp_echo(self, payload):
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.settimeout(10)
        try:
            client.sendto(payload, (NET + ".1", self.udp_port))
            return client.recvfrom(65536)[0]
        finally:
            client.close()

    def test_1_upgrades_under_load_refuse_nothing(self):
        load = Load(NET + ".1", self.web_port)
        try:
            wait_until(lambda: load.ok >= 20, timeout=20, what="requests before the first upgrade")
            for i in range(UPGRADES):
                before, old = load.ok, self.__class__.pid
                r = self.upgrade()
                self.assertEqual(r.returncode, 0, "upgrade %d: %s %s" % (i, r.stdout, r.stderr))
                new = json.loads(r.stdout.split(": ", 2)[-1])["pid"]
                self.assertNotEqual(new, old)
                self.wait_gone(old)
                self.__class__.pid = new
                self.assertTrue(alive(new), "upgrade %d: the successor died" % i)
                self.assertEqual(self.udp_echo(b"after-%d" % i), b"after-%d" % i)
                wait_until(lambda: load.ok >= before + 20, timeout=20, what="requests after upgrade %d" % i)
        finally:
            load.stop()
        self.assertEqual(load.failures, [], "requests failed across %d upgrades" % UPGRADES)
        self.assertEqual(self.portier.logs().count("this one drains"), UPGRADES)

    def test_2_a_successor_that_exits_leaves_the_old_one_serving(self):
        real = self.dir / "portier.real"
        os.rename(self.binary, real)
        self.binary.write_text("#!/bin/sh\nexit 3\n")
        self.binary.chmod(stat.S_IRWXU)
        try:
            r = self.upgrade()
        finally:
            os.replace(real, self.binary)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("exited with status 3", r.stderr)
        self.assertTrue(alive(self.pid))
        self.assertIn("upgrade failed, still serving", self.portier.logs())
        self.assertEqual(self.udp_echo(b"still"), b"still")
        load = Load(NET + ".1", self.web_port, threads=1)
        try:
            wait_until(lambda: load.ok >= 5, timeout=20, what="requests after the failed upgrade")
        finally:
            load.stop()
        self.assertEqual(load.failures, [])


if __name__ == "__main__":
    unittest.main()
