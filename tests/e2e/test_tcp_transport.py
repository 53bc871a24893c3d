"""TCP serversTransports (issue 18 item 3): TLS to TCP servers (`servers[].tls: true`) against
`openssl s_server` backends signed by the test's own CA (rootCAs with verification, a wrong
serverName and an unknown CA refused and logged, insecureSkipVerify, a client certificate for a
server that requires one, the static `tcpServersTransport` as default@internal); the PROXY
protocol header, v1 from the deprecated service-level `proxyProtocol` and v2 from a transport (also
ahead of a TLS handshake, HAProxy terminating TLS after the header),
accepted by HAProxy (`accept-proxy`), which logs the client address and port it read from it;
terminationDelay (a server slower than the delay loses its answer, a patient transport keeps
it); dialTimeout against a listener whose accept queue is full (the kernel drops further SYNs,
so the connect hangs deterministically); and the retry on the next server after a refused or
timed-out dial."""

import socket
import subprocess
import time
import unittest

from portier_e2e import Portier, free_port, make_temp_dir, started, wait_until, write_file_atomic
from tcp_peers import (StreamServer, connect_quietly, exchange, recv_all, spawn, stop, tcp_entry_config,
                       tcp_router)

NET = "127.0.100"
PORTIER = NET + ".1"
CLIENT = NET + ".50"  # the source address of the test's clients
HAPROXY = "127.0.101.1"
BACKENDS = "127.0.102"
SLOW_ANSWER = 0.5  # seconds the slow server waits after the client's EOF before it answers
slow_received = []  # what the slow server read up to each client's EOF


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


class Pki:
    """A CA, a server certificate for backend.test and a client certificate, each signed by the CA."""

    def __init__(self, d):
        self.d = d
        self.ca, self.ca_key = str(d / "ca.crt"), str(d / "ca.key")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-subj", "/CN=portier e2e CA", "-keyout", self.ca_key, "-out", self.ca)
        self.server, self.server_key = self.issue("server", "backend.test")
        self.client, self.client_key = self.issue("client", "portier-client")

    def issue(self, name, cn):
        key, csr, crt = (str(self.d / ("%s.%s" % (name, ext))) for ext in ("key", "csr", "crt"))
        ext = self.d / ("%s.ext" % name)
        ext.write_text("subjectAltName=DNS:%s\n" % cn)
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=" + cn,
                "-keyout", key, "-out", csr)
        openssl("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key, "-CAcreateserial", "-days", "2",
                "-extfile", str(ext), "-out", crt)
        return crt, key


class SServer:
    """`openssl s_server -rev` (answers each line reversed) on a free port; `extra` adds options."""

    def __init__(self, d, name, ip, pki, *extra):
        self.port = free_port(ip)
        self.address = "%s:%d" % (ip, self.port)
        self.log = d / ("s_server-%s.log" % name)
        self.proc = spawn(["openssl", "s_server", "-accept", self.address, "-cert", pki.server, "-key",
                           pki.server_key, "-rev", *extra], self.log)
        wait_until(lambda: self.proc.poll() is None and connect_quietly(ip, self.port), timeout=10,
                   what="s_server %s listening" % name)

    def close(self):
        stop(self.proc)


def slow_answer(conn):
    """Reads to the client's EOF, answers SLOW_ANSWER seconds later (a slow server, not a wait
    for the test)."""
    conn.settimeout(10)
    data = recv_all(conn)
    slow_received.append(data)
    time.sleep(SLOW_ANSWER)
    try:
        conn.sendall(b"late:" + data)
    except OSError:
        pass


class TcpTransport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = make_temp_dir()
        cls.pki = Pki(cls.dir)
        cls.tls = SServer(cls.dir, "tls", BACKENDS + ".2", cls.pki)
        cls.mtls = SServer(cls.dir, "mtls", BACKENDS + ".3", cls.pki, "-Verify", "1", "-CAfile", cls.pki.ca)
        cls.echo = StreamServer(BACKENDS + ".4", lambda conn: conn.sendall(b"echo:" + conn.recv(100)))
        cls.slow = StreamServer(BACKENDS + ".5", slow_answer)
        cls.refused = "%s.6:%d" % (BACKENDS, free_port(BACKENDS + ".6"))  # nothing listens there
        cls.full = cls.full_listener(BACKENDS + ".7")
        cls.start_haproxy()
        transports = {
            "verified": {"tls": {"serverName": "backend.test", "rootCAs": [cls.pki.ca]}},
            "wrong-name": {"tls": {"serverName": "wrong.test", "rootCAs": [cls.pki.ca]}},
            "unknown-ca": {"tls": {"serverName": "backend.test"}},
            "insecure": {"tls": {"insecureSkipVerify": True}},
            "with-cert": {"tls": {"serverName": "backend.test", "rootCAs": [cls.pki.ca],
                                  "certificates": [{"certFile": cls.pki.client, "keyFile": cls.pki.client_key}]}},
            "pp2": {"proxyProtocol": {"version": 2}},
            "pp2-tls": {"proxyProtocol": {"version": 2}, "tls": {"serverName": "backend.test", "rootCAs": [cls.pki.ca]}},
            "short": {"terminationDelay": "100ms"},
            "patient": {"terminationDelay": "10s"},
            "quick-dial": {"dialTimeout": "300ms"},
        }
        services = {
            "verified": cls.tls_service("verified", cls.tls.address),
            "wrong-name": cls.tls_service("wrong-name", cls.tls.address),
            "unknown-ca": cls.tls_service("unknown-ca", cls.tls.address),
            "insecure": cls.tls_service("insecure", cls.tls.address),
            "default": cls.tls_service(None, cls.tls.address),  # static tcpServersTransport
            "mtls": cls.tls_service("with-cert", cls.mtls.address),
            "mtls-no-cert": cls.tls_service("verified", cls.mtls.address),
            "pp1": {"loadBalancer": {"servers": [{"address": cls.fronts["v1"]}], "proxyProtocol": {"version": 1}}},
            "pp2": {"loadBalancer": {"servers": [{"address": cls.fronts["v2"]}], "serversTransport": "pp2"}},
            "pp2-tls": cls.tls_service("pp2-tls", cls.fronts["v2-tls"]),
            "short": {"loadBalancer": {"servers": [{"address": cls.slow.address}], "serversTransport": "short"}},
            "patient": {"loadBalancer": {"servers": [{"address": cls.slow.address}], "serversTransport": "patient"}},
            "retry": {"loadBalancer": {"servers": [{"address": cls.refused}, {"address": cls.echo.address}]}},
            "timeout": {"loadBalancer": {"servers": [{"address": cls.full}], "serversTransport": "quick-dial"}},
            "timeout-retry": {"loadBalancer": {"servers": [{"address": cls.full}, {"address": cls.echo.address}],
                                               "serversTransport": "quick-dial"}},
        }
        cls.ports = {name: free_port(PORTIER) for name in services}
        routers = {name: tcp_router("HostSNI(`*`)", name, name) for name in services}
        dynamic = {"tcp": {"routers": routers, "services": services, "serversTransports": transports}}
        dynamic_path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        config = tcp_entry_config({n: "%s:%d" % (PORTIER, p) for n, p in cls.ports.items()}, dynamic_path)
        config["tcpServersTransport"] = {"dialTimeout": "5s", "tls": {"insecureSkipVerify": True}}
        cls.portier = started(Portier(config))

    @classmethod
    def tls_service(cls, transport, address):
        lb = {"servers": [{"address": address, "tls": True}]}
        if transport:
            lb["serversTransport"] = transport
        return {"loadBalancer": lb}

    @classmethod
    def full_listener(cls, ip):
        """A listener with backlog 0 whose accept queue the test fills: Linux then drops every
        further SYN, so a connect to it neither succeeds nor fails until its timeout."""
        cls.blackhole = socket.socket()
        cls.blackhole.bind((ip, 0))
        cls.blackhole.listen(0)
        port = cls.blackhole.getsockname()[1]
        cls.fillers = []
        for _ in range(3):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex((ip, port))
            cls.fillers.append(s)
        probe = socket.socket()
        probe.settimeout(0.5)
        try:
            probe.connect((ip, port))
            raise AssertionError("the accept queue of %s:%d is not full" % (ip, port))
        except socket.timeout:
            pass
        finally:
            probe.close()
        return "%s:%d" % (ip, port)

    @classmethod
    def start_haproxy(cls):
        """HAProxy frontends that require a PROXY header (accept-proxy) and log, per connection,
        the client address and port and the destination the header named; each forwards to the
        echo server."""
        cls.haproxy_log = cls.dir / "haproxy.log"
        lines = ["global", "  log stderr format raw local0 info", "defaults", "  mode tcp", "  log global",
                 '  log-format "PP %f %ci:%cp -> %fi:%fp"', "  timeout connect 5s", "  timeout client 30s",
                 "  timeout server 30s"]
        cls.fronts = {}
        for name in ("v1", "v2"):
            port = free_port(HAPROXY)
            cls.fronts[name] = "%s:%d" % (HAPROXY, port)
            lines += ["frontend fe-%s" % name, "  bind %s:%d accept-proxy" % (HAPROXY, port),
                      "  default_backend be-echo"]
        # The PROXY header comes before the TLS handshake (Traefik's order): HAProxy reads it, then
        # terminates TLS with the CA-signed server certificate.
        bundle = cls.dir / "haproxy.pem"
        bundle.write_text(open(cls.pki.server).read() + open(cls.pki.server_key).read())
        port = free_port(HAPROXY)
        cls.fronts["v2-tls"] = "%s:%d" % (HAPROXY, port)
        lines += ["frontend fe-v2-tls", "  bind %s:%d accept-proxy ssl crt %s" % (HAPROXY, port, bundle),
                  "  default_backend be-echo"]
        lines += ["backend be-echo", "  server echo %s" % cls.echo.address]
        cfg = cls.dir / "haproxy.cfg"
        cfg.write_text("\n".join(lines) + "\n")
        cls.haproxy = spawn(["haproxy", "-db", "-f", str(cfg)], cls.haproxy_log)
        for address in cls.fronts.values():
            ip, port = address.split(":")
            wait_until(lambda: cls.haproxy.poll() is None and connect_quietly(ip, int(port)), timeout=10,
                       what="haproxy listening on %s (%s)" % (address, cls.haproxy_log.read_text()))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        stop(cls.haproxy)
        for s in cls.fillers + [cls.blackhole]:
            s.close()
        for server in (cls.tls, cls.mtls, cls.echo, cls.slow):
            server.close()

    def connect(self, name, timeout=10):
        s = socket.socket()
        s.bind((CLIENT, 0))
        s.settimeout(timeout)
        s.connect((PORTIER, self.ports[name]))
        return s

    def roundtrip(self, name, line=b"ping\n"):
        """What comes back for `line` through the entrypoint of `name`; b"" when portier closes."""
        with self.connect(name) as s:
            try:
                return exchange(s, line)
            except ConnectionResetError:
                return b""

    def logged(self, text):
        wait_until(lambda: text in self.portier.logs(), timeout=10, what="portier logs %r" % text)

    def test_tls_to_a_server_signed_by_root_cas(self):
        self.assertEqual(self.roundtrip("verified"), b"gnip\n")

    def test_wrong_server_name_is_refused_and_logged(self):
        self.assertEqual(self.roundtrip("wrong-name"), b"")
        self.logged("tcp service wrong-name@file: server %s: TLS handshake" % self.tls.address)
        self.logged("hostname mismatch")

    def test_unknown_ca_is_refused_and_logged(self):
        self.assertEqual(self.roundtrip("unknown-ca"), b"")
        self.logged("tcp service unknown-ca@file: server %s: TLS handshake" % self.tls.address)
        self.logged("unable to get local issuer certificate")

    def test_insecure_skip_verify(self):
        self.assertEqual(self.roundtrip("insecure"), b"gnip\n")

    def test_static_tcp_servers_transport_is_the_default(self):
        # The static transport has insecureSkipVerify and no serverName: without it the
        # handshake would be refused ("needs tls.serverName or tls.insecureSkipVerify").
        self.assertEqual(self.roundtrip("default"), b"gnip\n")

    def test_client_certificate_for_a_server_that_requires_one(self):
        self.assertEqual(self.roundtrip("mtls"), b"gnip\n")
        wait_until(lambda: "portier-client" in self.mtls.log.read_text(), timeout=10,
                   what="s_server saw the client certificate")
        self.assertEqual(self.roundtrip("mtls-no-cert"), b"")

    def haproxy_saw(self, front, client):
        """HAProxy's log line for frontend fe-FRONT: the client and portier's entrypoint of service ppFRONT."""
        host, port = client
        text = "PP fe-%s %s:%d -> %s:%d" % (front, host, port, PORTIER, self.ports["pp" + front[1:]])
        wait_until(lambda: text in self.haproxy_log.read_text(), timeout=10,
                   what="haproxy logs %r (%s)" % (text, self.haproxy_log.read_text()))

    def test_proxy_protocol_v1_from_the_service(self):
        with self.connect("pp1") as s:
            client = s.getsockname()
            self.assertEqual(exchange(s, b"one\n"), b"echo:one\n")
        self.haproxy_saw("v1", client)

    def test_proxy_protocol_v2_from_the_transport(self):
        with self.connect("pp2") as s:
            client = s.getsockname()
            self.assertEqual(exchange(s, b"two\n"), b"echo:two\n")
        self.haproxy_saw("v2", client)

    def test_proxy_protocol_v2_then_tls(self):
        with self.connect("pp2-tls") as s:
            client = s.getsockname()
            self.assertEqual(exchange(s, b"three\n"), b"echo:three\n")
        self.haproxy_saw("v2-tls", client)

    def half_closed_answer(self, name):
        with self.connect(name) as s:
            s.sendall(b"bye")
            s.shutdown(socket.SHUT_WR)
            try:
                return recv_all(s)
            except ConnectionResetError:
                return b""

    def test_termination_delay(self):
        # The server answers SLOW_ANSWER after the client's EOF: within a 10 s delay, not 100 ms.
        self.assertEqual(self.half_closed_answer("patient"), b"late:bye")
        self.assertEqual(self.half_closed_answer("short"), b"")
        # The server did get the bytes and the EOF: only its answer was cut.
        wait_until(lambda: slow_received == [b"bye", b"bye"], timeout=10, what="the slow server read both")

    def test_retry_on_the_next_server_after_a_refused_dial(self):
        for i in range(4):  # round robin starts at each server in turn
            with self.subTest(i=i):
                self.assertEqual(self.roundtrip("retry", b"r%d\n" % i), b"echo:r%d\n" % i)
        self.logged("tcp service retry@file: dial %s failed: Connection refused" % self.refused)

    def test_dial_timeout(self):
        started_at = time.monotonic()
        self.assertEqual(self.roundtrip("timeout"), b"")
        elapsed = time.monotonic() - started_at
        self.assertGreaterEqual(elapsed, 0.25)
        self.assertLess(elapsed, 3)
        self.logged("tcp service timeout@file: dial %s failed: timeout" % self.full)

    def test_retry_after_a_dial_timeout(self):
        for i in range(2):
            with self.subTest(i=i):
                self.assertEqual(self.roundtrip("timeout-retry", b"t%d\n" % i), b"echo:t%d\n" % i)


if __name__ == "__main__":
    unittest.main()
