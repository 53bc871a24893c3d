"""UDP forwarding on udp-* entrypoints (SPEC 8): one upstream session per client address,
replies back to the right client from the entrypoint's socket, a real DNS server (dnsmasq)
queried with dig through portier. Prints datagrams/s direct and through portier."""

import os
import selectors
import shutil
import socket
import subprocess
import time
import unittest

from portier_e2e import Portier, free_port, make_temp_dir, wait_until, write_file_atomic
from tcp_peers import UdpEcho, lb, spawn, stop, tcp_entry_config

NET = "127.0.53"
CLIENTS = 200


def dig(ip, port, name, qtype="A"):
    r = subprocess.run(["dig", "@%s" % ip, "-p", str(port), name, qtype, "+short", "+time=2", "+tries=2"],
                       capture_output=True, text=True, timeout=15)
    return r.stdout.strip()


class UdpForward(unittest.TestCase):
    IP = NET + ".1"

    @classmethod
    def setUpClass(cls):
        cls.dir = make_temp_dir()
        cls.echo = UdpEcho(NET + ".2")
        cls.dns = None
        cls.portier = None
        try:
            cls.start_dnsmasq()
            cls.echo_port = free_port(cls.IP, udp=True)
            cls.dns_port = free_port(cls.IP, udp=True)
            cls.short_port = free_port(cls.IP, udp=True)
            eps = {"udp-%d" % cls.echo_port: "%s:%d/udp" % (cls.IP, cls.echo_port),
                   "udp-%d" % cls.dns_port: "%s:%d/udp" % (cls.IP, cls.dns_port),
                   "udp-short": "%s:%d/udp" % (cls.IP, cls.short_port)}
            dynamic = {"udp": {
                "routers": {"echo": {"entryPoints": ["udp-%d" % cls.echo_port], "service": "echo"},
                            "dns": {"entryPoints": ["udp-%d" % cls.dns_port], "service": "dns"},
                            "short": {"entryPoints": ["udp-short"], "service": "echo"}},
                "services": {"echo": lb(cls.echo.address), "dns": lb(cls.dns_address)},
            }}
            path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
            cfg = tcp_entry_config(eps, path)
            cfg["entryPoints"]["udp-short"]["udp"] = {"timeout": "1s"}
            cfg["entryPoints"]["udp-%d" % cls.dns_port]["reusePort"] = True
            cls.portier = Portier(cfg)
            cls.portier.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start_dnsmasq(cls):
        exe = shutil.which("dnsmasq")
        if not exe:
            raise AssertionError("dnsmasq is missing (Debian package dnsmasq-base, see portier.sh)")
        ip = NET + ".3"
        port = free_port(ip, udp=True)
        cls.dns_address = "%s:%d" % (ip, port)
        cls.dns_log = cls.dir / "dnsmasq.log"
        cls.dns = spawn([exe, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                         "--bind-interfaces", "--listen-address=" + ip, "--port=%d" % port,
                         "--pid-file=%s" % (cls.dir / "dnsmasq.pid"), "--log-queries", "--log-facility=-",
                         "--address=/portier.test/192.0.2.7", "--txt-record=txt.portier.test,hello from dnsmasq"],
                        cls.dns_log)
        wait_until(lambda: cls.dns.poll() is None and dig(ip, port, "portier.test") == "192.0.2.7",
                   timeout=15, what="dnsmasq answering")

    @classmethod
    def tearDownClass(cls):
        if cls.portier is not None:
            cls.portier.__exit__(None, None, None)
        stop(cls.dns)
        cls.echo.close()

    def test_reuse_port_lets_another_socket_bind_the_port(self):
        # Only a socket bound with SO_REUSEPORT (reusePort: true) lets a second one share the port.
        for port, shared in ((self.dns_port, True), (self.echo_port, False)):
            with self.subTest(port=port), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                if shared:
                    s.bind((self.IP, port))
                else:
                    with self.assertRaises(OSError):
                        s.bind((self.IP, port))

    def test_dig_through_the_forwarder_to_dnsmasq(self):
        self.assertEqual(dig(self.IP, self.dns_port, "portier.test"), "192.0.2.7")
        self.assertEqual(dig(self.IP, self.dns_port, "txt.portier.test", "TXT"), '"hello from dnsmasq"')
        log = self.dns_log.read_text()
        # dnsmasq saw the queries from portier's upstream socket, not from dig
        self.assertIn("query[TXT] txt.portier.test", log)

    def test_concurrent_clients_each_get_their_own_replies(self):
        clients = []
        sel = selectors.DefaultSelector()
        try:
            for i in range(CLIENTS):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind((NET + ".9", 0))
                s.connect((self.IP, self.echo_port))  # accepts datagrams from the entrypoint only
                s.setblocking(False)
                clients.append(s)
                sel.register(s, selectors.EVENT_READ, i)
            self.echo.log = []
            for rnd in range(3):
                self.exchange_round(clients, sel, rnd)
            log, self.echo.log = self.echo.log, None
        finally:
            sel.close()
            for s in clients:
                s.close()
        # one upstream session (own source port) per client, kept across rounds
        source_of = {}
        for addr, data in log:
            client = data.split(b"/")[0]
            source_of.setdefault(client, set()).add(addr)
        self.assertEqual(len(source_of), CLIENTS)
        self.assertTrue(all(len(v) == 1 for v in source_of.values()), source_of)
        self.assertEqual(len({next(iter(v)) for v in source_of.values()}), CLIENTS)

    def exchange_round(self, clients, sel, rnd):
        want = {i: b"c%d/r%d/%s" % (i, rnd, os.urandom(6).hex().encode()) for i in range(len(clients))}
        for attempt in range(4):  # loopback may drop a datagram under load: resend what is missing
            for i in want:
                clients[i].send(want[i])
            deadline = time.monotonic() + 2.0
            while want and time.monotonic() < deadline:
                for key, _ in sel.select(timeout=max(0.0, deadline - time.monotonic())):
                    i = key.data
                    while True:
                        try:
                            data = key.fileobj.recv(2048)
                        except BlockingIOError:
                            break
                        # a late duplicate of our own earlier datagram is fine, anyone else's is not
                        self.assertTrue(data.startswith(b"c%d/" % i), "client %d got %r" % (i, data))
                        if want.get(i) == data:
                            del want[i]
            if not want:
                return
        self.fail("round %d: %d clients got no reply: %s" % (rnd, len(want), sorted(want)[:10]))

    def test_largest_datagram_both_ways(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
            c.bind((NET + ".12", 0))
            c.connect((self.IP, self.echo_port))
            c.settimeout(5)
            for size in (0, 1, 1472, 9000, 65507):
                data = os.urandom(size)
                c.send(data)
                self.assertEqual(c.recv(70000), data, "datagram of %d bytes" % size)

    def test_session_ends_after_the_entrypoint_idle_timeout(self):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
            c.bind((NET + ".11", 0))
            c.connect((self.IP, self.short_port))
            c.settimeout(5)
            self.echo.log = []
            try:
                for i in range(4):  # 300 ms apart: well within the 1 s timeout
                    if i:
                        time.sleep(0.3)
                    c.send(b"keep-%d" % i)
                    self.assertEqual(c.recv(100), b"keep-%d" % i)
                time.sleep(2.5)  # idle for more than the timeout (time is the input here)
                c.send(b"after")
                self.assertEqual(c.recv(100), b"after")
                log, self.echo.log = self.echo.log, None
            finally:
                self.echo.log = None
        sources = [addr for addr, _ in log]
        self.assertEqual(len(set(sources[:4])), 1, sources)  # one session while traffic flows
        self.assertNotEqual(sources[4], sources[0], sources)  # a new one after the timeout

    def test_datagram_rate_direct_and_through_portier(self):
        rates = {}
        for label, target in (("direct", (self.echo.sock.getsockname())), ("portier", (self.IP, self.echo_port))):
            rates[label] = self.measure_rate(target, seconds=1.5)
        print("\nUDP echo, 8 clients x 32 in flight, 1.5 s (Python peers): direct %.0f datagrams/s, "
              "through portier %.0f datagrams/s (round trips)" % (rates["direct"], rates["portier"]))
        self.assertGreater(rates["portier"], 0)

    def measure_rate(self, target, seconds, clients=8, window=32):
        sel = selectors.DefaultSelector()
        socks = []
        try:
            for _ in range(clients):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind((NET + ".10", 0))
                s.connect(target)
                s.setblocking(False)
                socks.append(s)
                sel.register(s, selectors.EVENT_READ)
                for _ in range(window):
                    s.send(b"x" * 64)
            replies = 0
            t0 = time.monotonic()
            end = t0 + seconds
            while time.monotonic() < end:
                events = sel.select(timeout=0.2)
                if not events:  # every datagram in flight was lost: refill the windows
                    for s in socks:
                        for _ in range(window):
                            s.send(b"x" * 64)
                for key, _ in events:
                    while True:
                        try:
                            key.fileobj.recv(2048)
                        except BlockingIOError:
                            break
                        replies += 1
                        try:
                            key.fileobj.send(b"x" * 64)
                        except BlockingIOError:
                            pass
            return replies / (time.monotonic() - t0)
        finally:
            sel.close()
            for s in socks:
                s.close()


if __name__ == "__main__":
    unittest.main()
