"""Live upgrade (issue 19, items 2 and 3): `portier upgrade` makes the running portier start its
binary again as a successor, hand it every listening socket and its TLS session-ticket keys, and
drain once the successor serves. Under constant load, no request fails and no connection is
refused across the upgrades, a TLS session saved before an upgrade is resumed after it; a
WebSocket opened before an upgrade keeps exchanging messages with the old process until it
closes; a UDP reply still on its way from the backend reaches the client through the old
process; a successor that cannot start leaves the old process serving, and the command says why.

The test process is a child subreaper (PR_SET_CHILD_SUBREAPER): each successor is the previous
process's child and is re-parented here when its parent exits, so the test reaps every one."""
import ctypes
import json
import os
import shutil
import signal
import socket
import ssl
import stat
import threading
import unittest

from portier_e2e import Portier, RawClient, free_port, http_config, make_temp_dir, portier_bin, read_ws_frame, router, \
    run_cli, service, wait_until, write_file_atomic, ws_frame
from test_websocket import _BufferedReader
from backend import Backend
from tcp_peers import UdpEcho
from test_socket_activation import Load
from test_tls import TestCA

NET = "127.0.72"
UPGRADES = 5
PR_SET_CHILD_SUBREAPER = 36


class HeldUdpEcho:
    """A UDP backend that answers each datagram only once release() is called."""

    def __init__(self, ip):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 0))
        self.address = "%s:%d" % self.sock.getsockname()
        self.received = []
        self._release = threading.Event()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                data, source = self.sock.recvfrom(65536)
            except OSError:
                return
            self.received.append(data)
            self._release.wait()
            self._release.clear()
            self.sock.sendto(data, source)

    def release(self):
        self._release.set()

    def close(self):
        self.sock.close()


def ws_upgrade(client):
    client.send(b"GET /ws HTTP/1.1\r\nHost: app.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    return client.read_head()[0]


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
        cls.held = HeldUdpEcho(NET + ".4")
        cls.web_port = free_port(NET + ".1")
        cls.udp_port = free_port(NET + ".1", udp=True)
        cls.held_port = free_port(NET + ".1", udp=True)
        cls.tls_port = free_port(NET + ".1")
        ca = TestCA(cls.dir)
        cls.tls_context = ssl.create_default_context(cafile=ca.ca_cert)  # one context: sessions belong to it
        cert, key = ca.leaf("app", "app.test")
        dynamic = {
            "http": {"routers": {"app": router("Host(`app.test`)", "app"),
                                 "app-tls": router("Host(`app.test`)", "app", entry_points=("websecure",), tls={})},
                     "services": {"app": service(cls.backend.url)}},
            "tls": {"certificates": [{"certFile": cert, "keyFile": key}]},
            "udp": {"routers": {"echo": {"entryPoints": ["udp-%d" % cls.udp_port], "service": "echo"},
                                "held": {"entryPoints": ["udp-%d" % cls.held_port], "service": "held"}},
                    "services": {"echo": {"loadBalancer": {"servers": [{"address": cls.echo.address}]}},
                                 "held": {"loadBalancer": {"servers": [{"address": cls.held.address}]}}}},
        }
        path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        # A short UDP session timeout: a draining process keeps its sessions until they are idle.
        udp_entry = lambda port: {"address": "%s:%d/udp" % (NET + ".1", port), "udp": {"timeout": "1s"}}
        cfg = http_config({"web": "%s:%d" % (NET + ".1", cls.web_port),
                           "websecure": "%s:%d" % (NET + ".1", cls.tls_port),
                           "udp-%d" % cls.udp_port: udp_entry(cls.udp_port),
                           "udp-%d" % cls.held_port: udp_entry(cls.held_port)}, path)
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
        cls.held.close()

    def upgrade(self):
        return run_cli(["upgrade", "--config", str(self.portier.config_path)], timeout=60)

    def upgrade_to_successor(self):
        """Upgrades once: the old pid (still draining) and the successor's."""
        old = self.__class__.pid
        r = self.upgrade()
        self.assertEqual(r.returncode, 0, "upgrade: %s %s" % (r.stdout, r.stderr))
        new = json.loads(r.stdout.split(": ", 2)[-1])["pid"]
        self.assertNotEqual(new, old)
        self.__class__.pid = new
        return old, new

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

    def tls_get(self, session=None):
        """A request over TLS 1.3: (the session to resume next time, whether this one was resumed)."""
        with socket.create_connection((NET + ".1", self.tls_port), timeout=10) as raw:
            with self.tls_context.wrap_socket(raw, server_hostname="app.test", session=session) as tls:
                tls.sendall(b"GET / HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := tls.recv(65536):
                    data += chunk
                self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:100])
                return tls.session, tls.session_reused

    def test_1_upgrades_under_load_refuse_nothing(self):
        load = Load(NET + ".1", self.web_port)
        session, reused = self.tls_get()
        self.assertFalse(reused)
        try:
            wait_until(lambda: load.ok >= 20, timeout=20, what="requests before the first upgrade")
            for i in range(UPGRADES):
                before = load.ok
                old, new = self.upgrade_to_successor()
                self.wait_gone(old)
                self.assertTrue(alive(new), "upgrade %d: the successor died" % i)
                self.assertEqual(self.udp_echo(b"after-%d" % i), b"after-%d" % i)
                session, reused = self.tls_get(session)
                self.assertTrue(reused, "upgrade %d: the TLS session saved before was not resumed" % i)
                wait_until(lambda: load.ok >= before + 20, timeout=20, what="requests after upgrade %d" % i)
        finally:
            load.stop()
        self.assertEqual(load.failures, [], "requests failed across %d upgrades" % UPGRADES)
        self.assertEqual(self.portier.logs().count("this one drains"), UPGRADES)

    def test_3_a_websocket_stays_with_the_old_process_until_it_closes(self):
        with RawClient(NET + ".1", self.web_port, timeout=10) as c:
            self.assertEqual(ws_upgrade(c), 101)
            frames = _BufferedReader(c)
            old, new = self.upgrade_to_successor()
            for i in range(3):  # the tunnel lives on in the old process, which drains
                c.send(ws_frame(0x1, b"after-upgrade-%d" % i, mask=True))
                self.assertEqual(read_ws_frame(frames)[1:], (0x1, b"after-upgrade-%d" % i))
                self.assertTrue(alive(old))
            c.send(ws_frame(0x8, b"\x03\xe8", mask=True))
            self.assertEqual(read_ws_frame(frames)[1], 0x8)
        self.wait_gone(old)
        self.assertTrue(alive(new))

    def test_4_a_udp_reply_in_flight_reaches_the_client_through_the_old_process(self):
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client.settimeout(10)
        try:
            client.sendto(b"held", (NET + ".1", self.held_port))
            wait_until(lambda: self.held.received == [b"held"], timeout=10, what="the datagram at the backend")
            old, _ = self.upgrade_to_successor()
            self.held.release()  # the reply comes back to the old process's session socket
            self.assertEqual(client.recvfrom(65536)[0], b"held")
        finally:
            client.close()
        self.wait_gone(old)

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
