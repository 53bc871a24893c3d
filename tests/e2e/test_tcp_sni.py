"""TCP routers with tls.passthrough on a tcp-* entrypoint (SPEC 8): the ClientHello is peeked,
not consumed, so the backend terminates TLS itself and the client sees the backend's own
certificate; routing by SNI; ClientHellos split into 1-byte segments."""

import socket
import ssl
import subprocess
import time
import unittest

from portier_e2e import Portier, free_port, make_temp_dir, write_file_atomic, started
from tcp_peers import (TlsEchoServer, client_hello, lb, make_cert, recv_all, tcp_entry_config, tcp_router,
                       tls_exchange)

NET = "127.0.51"


class TcpSniPassthrough(unittest.TestCase):
    IP = NET + ".1"

    @classmethod
    def setUpClass(cls):
        d = make_temp_dir()
        cls.cert_a = make_cert(d, "a.example.com")
        cls.cert_b = make_cert(d, "b.example.com")
        cls.cert_other = make_cert(d, "other.example.com")
        cls.a = TlsEchoServer("a", NET + ".2", cls.cert_a)
        cls.b = TlsEchoServer("b", NET + ".3", cls.cert_b)
        cls.down_port = free_port(NET + ".4")  # nothing listens there
        cls.port = free_port(cls.IP)
        ep = "tcp-%d" % cls.port
        dynamic = {"tcp": {
            "routers": {
                "a": tcp_router("HostSNI(`a.example.com`)", "a", ep, passthrough=True),
                "b": tcp_router("HostSNI(`b.example.com`)", "b", ep, passthrough=True),
                "down": tcp_router("HostSNI(`down.example.com`)", "down", ep, passthrough=True),
            },
            "services": {"a": lb(cls.a.address), "b": lb(cls.b.address),
                         "down": lb("%s.4:%d" % (NET, cls.down_port))},
        }}
        path = write_file_atomic(d / "dynamic.yml", dynamic)
        cls.portier = started(Portier(tcp_entry_config({ep: "%s:%d" % (cls.IP, cls.port)}, path)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.a.close()
        cls.b.close()

    def test_openssl_s_client_gets_the_backends_own_certificate(self):
        for name, cert in (("a.example.com", self.cert_a), ("b.example.com", self.cert_b)):
            r = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (self.IP, self.port),
                                "-servername", name, "-CAfile", cert.cert, "-verify_hostname", name,
                                "-verify_return_error"],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("Verify return code: 0 (ok)", r.stdout)
            self.assertIn("subject=CN = %s" % name, r.stdout)
        self.assertIn("a.example.com", self.a.snis)
        self.assertIn("b.example.com", self.b.snis)

    def test_sni_routes_to_two_backends_on_one_port(self):
        for _ in range(3):
            reply, der = tls_exchange(self.IP, self.port, "a.example.com", self.cert_a, b"hello\n")
            self.assertEqual(reply, b"a:hello\n")
            self.assertEqual(der, self.cert_a.der())
            reply, der = tls_exchange(self.IP, self.port, "B.Example.COM", self.cert_b, b"world\n")
            self.assertEqual(reply, b"b:world\n")
            self.assertEqual(der, self.cert_b.der())

    def test_client_hello_in_one_byte_segments(self):
        hello, tls, incoming, outgoing = client_hello("b.example.com")
        self.assertGreater(len(hello), 100)
        with socket.create_connection((self.IP, self.port), timeout=10) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(len(hello)):
                s.sendall(hello[i:i + 1])
                if i % 8 == 0:
                    time.sleep(0.001)  # pacing, so that portier peeks many partial ClientHellos
            self.finish_handshake(s, tls, incoming, outgoing)
            self.assertEqual(tls.getpeercert(binary_form=True), self.cert_b.der())
            self.assertEqual(self.tls_line(s, tls, incoming, outgoing, b"split\n"), b"b:split\n")

    def finish_handshake(self, s, tls, incoming, outgoing):
        """Completes a MemoryBIO handshake whose ClientHello was already sent on s."""
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                s.sendall(outgoing.read())
                data = s.recv(65536)
                self.assertTrue(data, "connection closed during the handshake")
                incoming.write(data)
        s.sendall(outgoing.read())

    def tls_line(self, s, tls, incoming, outgoing, line):
        """Sends one line over a MemoryBIO TLS connection and reads one line back."""
        tls.write(line)
        s.sendall(outgoing.read())
        reply = b""
        while not reply.endswith(b"\n"):
            try:
                reply += tls.read(4096)
            except ssl.SSLWantReadError:
                data = s.recv(65536)
                self.assertTrue(data, "connection closed before the reply")
                incoming.write(data)
        return reply

    def test_client_hello_fragmented_into_many_records(self):
        hello, tls, incoming, outgoing = client_hello("a.example.com")
        self.assertEqual(hello[0], 0x16)
        version, body = hello[1:3], hello[5:]
        records = b"".join(b"\x16" + version + len(body[i:i + 40]).to_bytes(2, "big") + body[i:i + 40]
                           for i in range(0, len(body), 40))
        with socket.create_connection((self.IP, self.port), timeout=10) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(0, len(records), 45):  # one record per segment
                s.sendall(records[i:i + 45])
            self.finish_handshake(s, tls, incoming, outgoing)
            self.assertEqual(tls.getpeercert(binary_form=True), self.cert_a.der())
            self.assertEqual(self.tls_line(s, tls, incoming, outgoing, b"records\n"), b"a:records\n")

    def test_unknown_sni_is_closed_without_reaching_a_backend(self):
        before = (self.a.accepted, self.b.accepted)
        hello = client_hello("nobody.example.com")[0]
        with socket.create_connection((self.IP, self.port), timeout=10) as s:
            s.sendall(hello)
            self.assertEqual(recv_all(s), b"")  # FIN, no reset, nothing sent
        self.assertEqual((self.a.accepted, self.b.accepted), before)

    def test_backend_down_closes_the_client_cleanly(self):
        hello = client_hello("down.example.com")[0]
        with socket.create_connection((self.IP, self.port), timeout=10) as s:
            s.sendall(hello)
            self.assertEqual(recv_all(s), b"")  # FIN after the refused dial, not a reset
        self.assertTrue(self.portier.running())
        # the entrypoint keeps serving
        reply, _ = tls_exchange(self.IP, self.port, "a.example.com", self.cert_a, b"after\n")
        self.assertEqual(reply, b"a:after\n")

    def test_plain_bytes_do_not_match_sni_routes(self):
        with socket.create_connection((self.IP, self.port), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n")
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(recv_all(s), b"")


if __name__ == "__main__":
    unittest.main()
