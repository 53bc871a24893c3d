"""Plain TCP forwarding on tcp-* entrypoints (SPEC 8): server-speaks-first protocols through
HostSNI(`*`), 100 MB each way with half-close (either side first) and matching checksums, a
backend that is down, the idle timeout, 200 concurrent connections, no descriptor leak, TCP
route changes applied while connections stay open, SIGTERM drain. Prints the throughput direct
and through portier, and portier's CPU time per GiB."""

import errno
import functools
import os
import signal
import socket
import time
import unittest
import zlib

from portier_e2e import Portier, free_port, make_temp_dir, wait_until, write_file_atomic, started
from tcp_peers import (SinkProcess, StreamServer, TlsConnection, TlsEchoServer, client_hello, lb, make_cert, recv_all,
                       tcp_entry_config, tcp_router, tls_exchange)

NET = "127.0.52"
MB = 1 << 20
BULK = 100 * MB


@functools.lru_cache(maxsize=None)
def bulk_data():
    """BULK bytes: a random block of 1 MiB + 7 bytes, repeated (cheap to make, no aligned period)."""
    block = os.urandom(MB + 7)
    return (block * (BULK // len(block) + 1))[:BULK]


def bulk_handler(conn):
    """Reads to EOF (the client's half-close), then answers "<count> <crc32>\\n", sends
    bulk_data() and closes."""
    conn.settimeout(30)
    crc, n = 0, 0
    buf = bytearray(MB)
    view = memoryview(buf)
    while True:
        k = conn.recv_into(buf)
        if k == 0:
            break
        crc = zlib.crc32(view[:k], crc)
        n += k
    conn.sendall(b"%d %d\n" % (n, crc))
    conn.sendall(bulk_data())
    conn.shutdown(socket.SHUT_WR)


def greeting_handler(conn):
    """A server that speaks first, as SMTP."""
    conn.settimeout(10)
    conn.sendall(b"220 smtp.example.test ESMTP portier-e2e\r\n")
    f = conn.makefile("rb")
    for line in f:
        if line.upper().startswith(b"QUIT"):
            conn.sendall(b"221 bye\r\n")
            return
        conn.sendall(b"250 ok " + line.strip() + b"\r\n")


class ServerFirstHalfClose:
    """Sends `size` bytes, half-closes, then reads the client's bytes to EOF and records
    (count, crc32) in .results."""

    def __init__(self, size):
        self.size = size
        self.results = []

    def __call__(self, conn):
        conn.settimeout(30)
        conn.sendall(bulk_data()[:self.size])
        conn.shutdown(socket.SHUT_WR)
        crc, n = 0, 0
        while True:
            data = conn.recv(MB)
            if not data:
                break
            crc = zlib.crc32(data, crc)
            n += len(data)
        self.results.append((n, crc))


def line_echo(name):
    def handler(conn):
        conn.settimeout(30)
        for line in conn.makefile("rb"):
            conn.sendall(name + b":" + line)
    return handler


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def process_cpu_seconds(pid):
    """User + system CPU time of a process so far (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def send_all_then_read(ip, port, payload, timeout=60):
    """Sends payload, half-closes, reads to EOF: (reply, seconds for the upload)."""
    with socket.create_connection((ip, port), timeout=timeout) as s:
        t0 = time.monotonic()
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        reply = recv_all(s)
        return reply, time.monotonic() - t0


class TcpStream(unittest.TestCase):
    IP = NET + ".1"

    @classmethod
    def setUpClass(cls):
        cls.dir = make_temp_dir()
        cls.cert_a = make_cert(cls.dir, "a.example.com")
        cls.bulk = StreamServer(NET + ".2", bulk_handler)
        cls.sink = SinkProcess(NET + ".8", free_port(NET + ".8"), cls.dir / "sink.log")
        cls.smtp = StreamServer(NET + ".3", greeting_handler)
        cls.echo_x = StreamServer(NET + ".5", line_echo(b"x"))
        cls.tls_a = TlsEchoServer("a", NET + ".6", cls.cert_a)
        cls.down = "%s.4:%d" % (NET, free_port(NET + ".4"))
        cls.first = ServerFirstHalfClose(8 * MB)
        cls.first_server = StreamServer(NET + ".7", cls.first)
        cls.ports = {k: free_port(cls.IP) for k in ("bulk", "sink", "smtp", "down", "change", "idle", "first")}
        cls.eps = {k: "tcp-%d" % p for k, p in cls.ports.items()}
        cls.path = write_file_atomic(cls.dir / "dynamic.yml", cls.dynamic())
        cfg = tcp_entry_config({cls.eps[k]: "%s:%d" % (cls.IP, p) for k, p in cls.ports.items()}, cls.path)
        cfg["entryPoints"][cls.eps["idle"]]["transport"] = {"respondingTimeouts": {"idleTimeout": "1s"}}
        cls.portier = started(Portier(cfg))
        wait_until(cls.sink.ready, what="the sink process")

    @classmethod
    def dynamic(cls, change=("x",)):
        """The base routes plus, on the `change` entrypoint, the routes named in `change`."""
        routers, services = {}, {}
        for key, target in (("bulk", cls.bulk.address), ("sink", cls.sink.address), ("smtp", cls.smtp.address),
                            ("down", cls.down), ("idle", cls.echo_x.address), ("first", cls.first_server.address)):
            routers[key] = tcp_router("HostSNI(`*`)", key, cls.eps[key])
            services[key] = lb(target)
        if "x" in change:
            routers["x"] = tcp_router("HostSNI(`*`)", "x", cls.eps["change"])
            services["x"] = lb(cls.echo_x.address)
        if "a" in change:
            routers["a"] = tcp_router("HostSNI(`a.example.com`)", "a", cls.eps["change"], passthrough=True)
            services["a"] = lb(cls.tls_a.address)
        return {"tcp": {"routers": routers, "services": services}}

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        for s in (cls.bulk, cls.sink, cls.smtp, cls.echo_x, cls.tls_a, cls.first_server):
            s.close()

    def test_server_speaks_first_without_client_bytes(self):
        with socket.create_connection((self.IP, self.ports["smtp"]), timeout=5) as s:
            t0 = time.monotonic()
            f = s.makefile("rb")
            self.assertEqual(f.readline(), b"220 smtp.example.test ESMTP portier-e2e\r\n")
            # the peek timeout is 30 s: the greeting must not wait for it
            self.assertLess(time.monotonic() - t0, 3.0)
            s.sendall(b"EHLO client.test\r\n")
            self.assertEqual(f.readline(), b"250 ok EHLO client.test\r\n")
            s.sendall(b"QUIT\r\n")
            self.assertEqual(f.readline(), b"221 bye\r\n")
            self.assertEqual(f.read(), b"")

    def test_100mb_each_way_with_half_close(self):
        payload = bulk_data()
        crc = zlib.crc32(payload)
        reply, _ = send_all_then_read(self.IP, self.ports["bulk"], payload)
        head, _, body = reply.partition(b"\n")
        count, got_crc = head.split()
        # the backend saw our half-close as EOF after exactly our bytes ...
        self.assertEqual(int(count), BULK)
        self.assertEqual(int(got_crc), crc)
        # ... and its 100 MB, sent after that, still came back whole
        self.assertEqual(len(body), BULK)
        self.assertEqual(zlib.crc32(body), crc)

    def test_backend_half_closes_first(self):
        with socket.create_connection((self.IP, self.ports["first"]), timeout=30) as c:
            got = recv_all(c)  # the backend's bytes, then its FIN
            self.assertEqual(zlib.crc32(got), zlib.crc32(bulk_data()[:8 * MB]))
            payload = bulk_data()[:5 * MB + 3]
            c.sendall(payload)  # our direction is still open
            c.shutdown(socket.SHUT_WR)
            self.assertEqual(recv_all(c), b"")
        wait_until(lambda: self.first.results, what="the backend to read our bytes")
        self.assertEqual(self.first.results[-1], (len(payload), zlib.crc32(payload)))

    def test_200_concurrent_connections(self):
        conns = []
        try:
            for i in range(200):
                conns.append(socket.create_connection((self.IP, self.ports["idle"]), timeout=10))
            for i, c in enumerate(conns):
                c.sendall(b"conn%d\n" % i)
            for i, c in enumerate(conns):
                self.assertEqual(c.makefile("rb").readline(), b"x:conn%d\n" % i)
        finally:
            for c in conns:
                c.close()

    def test_no_descriptor_leak(self):
        pid = self.portier.proc.pid
        baseline = open_fds(pid)
        for _ in range(20):
            with socket.create_connection((self.IP, self.ports["idle"]), timeout=10) as c:
                c.sendall(b"fd\n")
                self.assertEqual(c.makefile("rb").readline(), b"x:fd\n")
            with socket.create_connection((self.IP, self.ports["down"]), timeout=10) as c:
                self.assertEqual(recv_all(c), b"")
            with socket.create_connection((self.IP, self.ports["smtp"]), timeout=10) as c:
                c.makefile("rb").readline()
                c.sendall(b"QUIT\r\n")
                recv_all(c)
        wait_until(lambda: open_fds(pid) <= baseline, what="portier's descriptors back to %d (now %d)"
                   % (baseline, open_fds(pid)))

    def test_backend_down_closes_the_client_cleanly(self):
        with socket.create_connection((self.IP, self.ports["down"]), timeout=10) as s:
            self.assertEqual(recv_all(s), b"")  # FIN, not a reset
        self.assertTrue(self.portier.running())

    def test_idle_connection_is_closed_after_the_idle_timeout(self):
        with socket.create_connection((self.IP, self.ports["idle"]), timeout=10) as c:
            f = c.makefile("rb")
            for i in range(3):  # traffic every 400 ms keeps it open past the 1 s timeout
                if i:
                    time.sleep(0.4)
                c.sendall(b"busy%d\n" % i)
                self.assertEqual(f.readline(), b"x:busy%d\n" % i)
            t0 = time.monotonic()
            self.assertEqual(f.read(), b"")  # then idle: portier closes both sides
            self.assertGreater(time.monotonic() - t0, 0.8)

    def apply(self, change):
        write_file_atomic(self.path, self.dynamic(change=change))
        wait_until(lambda: self.portier.diag("/health")["routers"]["tcp"] == 6 + len(change),
                   what="tcp routes %s applied" % (change,))

    def test_route_changes_do_not_disturb_an_open_connection(self):
        ip, port = self.IP, self.ports["change"]
        self.addCleanup(self.apply, ("x",))
        with socket.create_connection((ip, port), timeout=10) as c:
            f = c.makefile("rb")
            c.sendall(b"one\n")
            self.assertEqual(f.readline(), b"x:one\n")

            # add a TLS passthrough route on the same entrypoint
            self.apply(("x", "a"))
            self.assertEqual(tls_exchange(ip, port, "a.example.com", self.cert_a, b"new\n")[0], b"a:new\n")
            c.sendall(b"two\n")
            self.assertEqual(f.readline(), b"x:two\n")
            kept = TlsConnection(ip, port, "a.example.com", self.cert_a)
            self.addCleanup(kept.close)
            self.assertEqual(kept.exchange(b"k1\n"), b"a:k1\n")

            # remove the plain route, then the TLS one: new connections are closed, open ones go on
            self.apply(("a",))
            self.assertEqual(self.probe_plain(ip, port), b"")
            c.sendall(b"three\n")
            self.assertEqual(f.readline(), b"x:three\n")
            self.apply(())
            self.assertEqual(self.probe_tls(ip, port, allow_reset=True), b"")
            self.assertEqual(self.probe_plain(ip, port, allow_reset=True), b"")
            self.assertEqual(kept.exchange(b"k2\n"), b"a:k2\n")
            c.sendall(b"four\n")
            self.assertEqual(f.readline(), b"x:four\n")
            c.shutdown(socket.SHUT_WR)
            self.assertEqual(f.read(), b"")
        self.assertTrue(self.portier.running())

    @staticmethod
    def probe(ip, port, data, allow_reset):
        """What a new connection that sends `data` receives before it is closed. An entrypoint
        without any route closes at accept, so data sent after that may draw a reset."""
        with socket.create_connection((ip, port), timeout=5) as s:
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                return recv_all(s)
            except OSError as e:
                if allow_reset and e.errno in (errno.ECONNRESET, errno.EPIPE, errno.ENOTCONN):
                    return b""
                raise

    def probe_plain(self, ip, port, allow_reset=False):
        return self.probe(ip, port, b"probe\n", allow_reset)

    def probe_tls(self, ip, port, allow_reset=False):
        return self.probe(ip, port, client_hello("a.example.com")[0], allow_reset)

    def test_throughput_direct_and_through_portier(self):
        payload = memoryview(bulk_data())[:64 * MB]
        rates, cpu = {}, 0.0
        for label, (ip, port) in (("direct", (self.sink.ip, self.sink.port)),
                                  ("portier", (self.IP, self.ports["sink"]))):
            best = 0.0
            cpu_before = process_cpu_seconds(self.portier.proc.pid)
            for _ in range(3):
                reply, seconds = send_all_then_read(ip, port, payload)
                self.assertEqual(int(reply), len(payload))
                best = max(best, len(payload) / MB / seconds)
            cpu = process_cpu_seconds(self.portier.proc.pid) - cpu_before
            rates[label] = best
        print("\nTCP throughput, 64 MiB upload, best of 3 (Python peers): direct %.0f MiB/s, "
              "through portier %.0f MiB/s (%.0f%%); portier CPU %.2f s per GiB forwarded"
              % (rates["direct"], rates["portier"], 100.0 * rates["portier"] / rates["direct"],
                 cpu / (3 * len(payload) / (1 << 30))))

class TcpDrain(unittest.TestCase):
    """SIGTERM: a tcp-* entrypoint stops accepting, open connections go on until they end."""

    def test_sigterm_lets_open_tcp_connections_finish(self):
        ip = NET + ".20"
        echo = StreamServer(NET + ".21", line_echo(b"d"))
        self.addCleanup(echo.close)
        port = free_port(ip)
        ep = "tcp-%d" % port
        d = make_temp_dir()
        path = write_file_atomic(d / "dynamic.yml", {"tcp": {
            "routers": {"d": tcp_router("HostSNI(`*`)", "d", ep)}, "services": {"d": lb(echo.address)}}})
        p = Portier(tcp_entry_config({ep: "%s:%d" % (ip, port)}, path))
        self.addCleanup(p.__exit__, None, None, None)
        p.start()
        with socket.create_connection((ip, port), timeout=10) as c:
            f = c.makefile("rb")
            c.sendall(b"before\n")
            self.assertEqual(f.readline(), b"d:before\n")
            p.proc.send_signal(signal.SIGTERM)
            wait_until(lambda: refused(ip, port), timeout=5, what="new connections refused after SIGTERM")
            c.sendall(b"during\n")
            self.assertEqual(f.readline(), b"d:during\n")
            self.assertTrue(p.running())
            c.shutdown(socket.SHUT_WR)
            self.assertEqual(f.read(), b"")
        self.assertEqual(p.wait_exit(8), 0, p.logs())


def refused(ip, port):
    try:
        socket.create_connection((ip, port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


if __name__ == "__main__":
    unittest.main()
