"""TCP routers without passthrough (SPEC 8): portier terminates TLS with its certificate store
(tls.certificates) and forwards plaintext; and TCP routers sharing an HTTP entrypoint, where a
TLS connection whose SNI an HTTPS router serves goes to the HTTP side, the rest to TCP routes."""

import socket
import unittest

from portier_e2e import Backend, Portier, free_port, http_request, make_temp_dir, write_file_atomic, started
from tcp_peers import StreamServer, TlsConnection, lb, make_cert, tcp_entry_config, tcp_router, tls_client_context

NET = "127.0.54"


def echo_upper(conn):
    """Plain echo that upper-cases each line: proves the backend got plaintext."""
    with conn, conn.makefile("rb") as f:
        for line in f:
            conn.sendall(line.upper())


class TerminatedTlsTcp(unittest.TestCase):
    IP = NET + ".1"

    @classmethod
    def setUpClass(cls):
        d = make_temp_dir()
        cls.cert = make_cert(d, "db.example.com")
        cls.web_cert = make_cert(d, "www.example.com")
        cls.echo = StreamServer(NET + ".2", echo_upper)
        cls.backend = Backend("web", ip=NET + ".3")
        cls.backend.__enter__()
        cls.tcp_port = free_port(cls.IP)
        cls.shared_port = free_port(cls.IP)
        tcp_ep, shared_ep = "tcp-%d" % cls.tcp_port, "websecure"
        dynamic = {
            "tcp": {
                "routers": {
                    "db": tcp_router("HostSNI(`db.example.com`)", "echo", tcp_ep, passthrough=False),
                    "db-shared": tcp_router("HostSNI(`db.example.com`)", "echo", shared_ep, passthrough=False),
                },
                "services": {"echo": lb(cls.echo.address)},
            },
            "http": {
                "routers": {"www": {"rule": "Host(`www.example.com`)", "service": "web",
                                    "entryPoints": [shared_ep], "tls": {}}},
                "services": {"web": {"loadBalancer": {"servers": [{"url": cls.backend.url}]}}},
            },
            "tls": {"certificates": [{"certFile": cls.cert.cert, "keyFile": cls.cert.key},
                                     {"certFile": cls.web_cert.cert, "keyFile": cls.web_cert.key}]},
        }
        path = write_file_atomic(d / "dynamic.yml", dynamic)
        config = tcp_entry_config({tcp_ep: "%s:%d" % (cls.IP, cls.tcp_port),
                                   shared_ep: "%s:%d" % (cls.IP, cls.shared_port)}, path)
        cls.portier = started(Portier(config))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.echo.close()
        cls.backend.__exit__(None, None, None)

    def test_tls_is_terminated_and_the_backend_gets_plaintext(self):
        conn = TlsConnection(self.IP, self.tcp_port, "db.example.com", self.cert)
        try:
            # The client verified portier's certificate for the name (store, not the backend's).
            self.assertEqual(conn.tls.getpeercert()["subject"][0][0][1], "db.example.com")
            self.assertEqual(conn.exchange(b"select 1\n"), b"SELECT 1\n")
            self.assertEqual(conn.exchange(b"again\n"), b"AGAIN\n")
        finally:
            conn.close()

    def test_shared_entrypoint_sends_tcp_sni_to_the_tcp_router(self):
        conn = TlsConnection(self.IP, self.shared_port, "db.example.com", self.cert)
        try:
            self.assertEqual(conn.exchange(b"tcp side\n"), b"TCP SIDE\n")
        finally:
            conn.close()

    def test_shared_entrypoint_sends_https_sni_to_the_http_router(self):
        ctx = tls_client_context(self.web_cert)
        with socket.create_connection((self.IP, self.shared_port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="www.example.com") as tls:
                tls.sendall(b"GET /via-https HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n")
                answer = b""
                while chunk := tls.recv(65536):
                    answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:200])
        self.assertIn(b'"backend": "web"', answer)

    def test_cleartext_on_the_shared_entrypoint_is_http(self):
        r = http_request("GET", "http://%s:%d/plain" % (self.IP, self.shared_port), headers={"Host": "www.example.com"})
        self.assertEqual(r.status, 404)  # the only HTTP router there is a TLS router


if __name__ == "__main__":
    unittest.main()
