"""HTTP/3 over QUIC on an HTTPS entrypoint (entryPoints.NAME.http3, issue 20), with the real
HTTP/3 client of Debian's ngtcp2-client package (gtlsclient, GnuTLS). Its invocation is first
checked against Caddy (Debian's caddy, HTTP/3 on by default), so a failure below points at
portier. Then: GET and POST with bodies of 0 B, 1 KiB and 10 MiB (SHA-256 against what the
backend received or sent), several streams on one connection, a router's headers (HSTS) and
buffering (413) middlewares as on h2, SNI choosing the certificate, a certificate replaced
while running, a host whose tls.options require client certificates refused, Alt-Svc on the
HTTP/1.1 and HTTP/2 responses of the TLS side, 421 for a Host whose tls.options differ from
the SNI's, /health and the access log (TLS version and suite), connection migration, Version
Negotiation and stateless resets, keepAliveMaxRequests/Time and headerTimeout, a request in
flight completing on SIGTERM, maxConnections and the Retry past half of it, the idle timeout,
100 concurrent requests per connection, a taken UDP port refused with the entrypoint's
name, and with two workers (one socket each, packets steered by connection ID) many concurrent
connections and migrating clients all served, also by the successor of a live upgrade."""

import contextlib
import ctypes
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import time
import unittest
from pathlib import Path

from backend import Backend, big_body
from portier_e2e import (PROTOCOLS, Portier, http_config, is_tls, make_temp_dir, proto_request, router, run_cli,
                         service, started, wait_until, write_file_atomic)
from tcp_peers import make_cert

NET = "127.0.135"
NET2 = "127.0.150"  # the idle timeout and stream limit portiers
NET3 = "127.0.170"  # the steering portier
ADVERTISED = 4433
PR_SET_CHILD_SUBREAPER = 36


def free_tcp_udp_port(ip):
    """A port free for both TCP and UDP on `ip` (HTTP/3 shares the entrypoint's port)."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind((ip, 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind((ip, port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise AssertionError("no port free for TCP and UDP on %s" % ip)


class H3Result:
    """One gtlsclient run: the response heads by stream, the downloaded bodies, the raw log."""

    def __init__(self, returncode, log, download):
        self.returncode = returncode
        self.log = log
        self.heads = {}  # stream id -> [(name, value)]
        for m in re.finditer(r"^http: stream 0x([0-9a-f]+) \[([^:\]]*|:[a-z]+): (.*)\]$", log, re.M):
            self.heads.setdefault(int(m.group(1), 16), []).append((m.group(2), m.group(3)))
        self.download = download

    def header(self, stream, name):
        values = [v for n, v in self.heads.get(stream, []) if n == name]
        return values[0] if values else None

    def status(self, stream=0):
        s = self.header(stream, ":status")
        return int(s) if s else None

    def body(self, name):
        return (self.download / name).read_bytes()

    def crypto_bytes(self):
        """The TLS handshake bytes the client received (its CRYPTO frame dump): the certificate."""
        out = bytearray()
        for m in re.finditer(r"^[0-9a-f]{8}  ((?:[0-9a-f]{2} ){1,8} ?(?:[0-9a-f]{2} )*)\s*\|", self.log, re.M):
            out += bytes.fromhex(m.group(1).replace(" ", ""))
        return bytes(out)


def gtlsclient_command(ip, port, uris, sni, data=None, method=None, dump=False, quiet=False, extra=(),
                       keep_open=False):
    """The command requesting `uris` (on one QUIC connection, one stream each) from ip:port
    with SNI `sni`, and its download directory. gtlsclient 0.12 sends as SNI the host it
    connects to ("localhost" for an address), so it runs in a mount namespace of its own whose
    /etc/hosts maps `sni` to `ip`. With keep_open the client keeps its connection once the
    responses are in (until either side's idle timeout, its own being 60 s)."""
    download = make_temp_dir("portier-h3-")
    hosts = download / "hosts"
    hosts.write_text("%s %s\n" % (ip, sni))
    args = ["gtlsclient", "--download=" + str(download), "--max-data=67108864",
            "--max-stream-data-bidi-local=16777216"]
    args += ["--timeout=60s"] if keep_open else ["--exit-on-all-streams-close", "--timeout=10s"]
    if quiet:  # no log at all (no response heads either): its per-packet lines slow big transfers
        args.append("--quiet")
    elif not dump:
        args.append("--no-quic-dump")
    if data is not None:
        path = download / "request-body"
        path.write_bytes(data)
        args.append("--data=" + str(path))
    if method:
        args.append("--http-method=" + method)
    args += list(extra) + [sni, str(port)] + list(uris)
    script = 'mount --bind "$0" /etc/hosts && exec "$@"'
    return ["unshare", "--mount", "sh", "-c", script, str(hosts)] + args, download


def gtlsclient(ip, port, uris, sni, timeout=30, **kw):
    cmd, download = gtlsclient_command(ip, port, uris, sni, **kw)
    r = subprocess.run(cmd, capture_output=True, timeout=timeout)
    return H3Result(r.returncode, r.stderr.decode("latin-1") + r.stdout.decode("latin-1"), download)


class CaddyReference(unittest.TestCase):
    """The client invocation against another server first: Caddy's internal CA, HTTP/3 on."""

    def test_gtlsclient_gets_a_response_from_caddy(self):
        ip = NET + ".5"
        port = free_tcp_udp_port(ip)
        home = make_temp_dir("portier-caddy-")
        (home / "Caddyfile").write_text(
            "{\n  admin off\n  skip_install_trust\n  auto_https disable_redirects\n"
            "  servers {\n    protocols h1 h2 h3\n  }\n}\n"
            "https://caddy.h3.test:%d {\n  bind %s\n  tls internal\n  respond \"caddy h3 ok\"\n}\n" % (port, ip))
        env = dict(os.environ, HOME=str(home), XDG_DATA_HOME=str(home / "data"),
                   XDG_CONFIG_HOME=str(home / "config"))
        with open(home / "caddy.log", "wb") as log:
            caddy = subprocess.Popen(["caddy", "run", "--config", str(home / "Caddyfile"), "--adapter", "caddyfile"],
                                     env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            def answered():
                r = gtlsclient(ip, port, ["https://caddy.h3.test:%d/" % port], "caddy.h3.test", timeout=15)
                return r if r.status() == 200 else None
            try:
                r = wait_until(answered, timeout=30, what="Caddy answering over HTTP/3")
            except AssertionError as e:
                raise AssertionError("%s\n--- caddy ---\n%s" % (e, (home / "caddy.log").read_text()[-3000:])) from None
            self.assertEqual(r.body("index.html"), b"caddy h3 ok")
        finally:
            caddy.terminate()
            caddy.wait(timeout=15)


class Http3(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = make_temp_dir()
        cls.a = Backend("a", NET + ".2")
        cls.ip = NET + ".1"
        cls.port = free_tcp_udp_port(cls.ip)
        cls.cert_a = make_cert(cls.dir, "a.h3.test")
        cls.cert_b = make_cert(cls.dir, "b.h3.test")
        tls = {}
        routers = {
            "a": router("Host(`a.h3.test`)", "a", ("websecure",), tls=tls),
            "b": router("Host(`b.h3.test`)", "a", ("websecure",), tls=tls),
            "hsts": router("Host(`hsts.h3.test`)", "a", ("websecure",), middlewares=["hsts"], tls=tls),
            "limit": router("Host(`limit.h3.test`)", "a", ("websecure",), middlewares=["limit"], tls=tls),
            "plain": router("Host(`a.h3.test`)", "a", ("websecure",)),  # the cleartext side
            "mtls": router("Host(`m.h3.test`)", "a", ("websecure",), tls={"options": "mtls"}),
            "curves": router("Host(`c.h3.test`)", "a", ("websecure",), tls={"options": "curves"}),
        }
        dynamic = {
            "http": {"routers": routers, "services": {"a": service(cls.a.url)},
                     "middlewares": {"hsts": {"headers": {"stsSeconds": 31536000, "stsIncludeSubdomains": True}},
                                     "limit": {"buffering": {"maxRequestBodyBytes": 1024}}}},
            "tls": {"certificates": [{"certFile": c.cert, "keyFile": c.key} for c in (cls.cert_a, cls.cert_b)],
                    "options": {"mtls": {"clientAuth": {"caFiles": [cls.cert_a.cert],
                                                        "clientAuthType": "RequireAndVerifyClientCert"}},
                                "curves": {"curvePreferences": ["CurveP384"]}}},
        }
        cls.dynamic_path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        ep = {"address": "%s:%d" % (cls.ip, cls.port), "http3": {"advertisedPort": ADVERTISED}}
        cls.access_path = cls.dir / "access.log"
        cls.portier = started(Portier(http_config({"websecure": ep}, cls.dynamic_path, workers=2,
                                                  accessLog={"filePath": str(cls.access_path),
                                                             "format": "json"})))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.a.close()

    def url(self, path, host="a.h3.test"):
        return "https://%s:%d%s" % (host, self.port, path)

    def h3(self, paths, host="a.h3.test", **kw):
        return gtlsclient(self.ip, self.port, [self.url(p, host) for p in paths], host, **kw)

    def test_get_bodies_of_0_1k_and_10m(self):
        for n in (0, 1024, 10 * 1024 * 1024):
            with self.subTest(size=n):
                big = n > 65536  # the client's log slows a big transfer down: no heads then
                r = self.h3(["/sized/%d" % n], quiet=big)
                self.assertEqual(r.returncode, 0, r.log[-2000:])
                if not big:
                    self.assertEqual(r.status(), 200, r.log[-2000:])
                    self.assertEqual(r.header(0, "content-length"), str(n))
                body = r.body(str(n))
                self.assertEqual(len(body), n)
                self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(big_body(n)).hexdigest())

    def test_connection_migration_keeps_the_connection(self):
        # The client moves to a new local port 100 ms after the handshake (QUIC path
        # validation), while its log slows the download down: the rest arrives on the new path.
        n = 400000
        r = self.h3(["/sized/%d" % n], extra=["--change-local-addr=100ms"], timeout=60)
        self.assertEqual(r.returncode, 0, r.log[-2000:])
        self.assertEqual(r.body(str(n)), big_body(n))
        moved = r.log.find("Local address is now")
        self.assertGreater(moved, 0, r.log[-2000:])
        self.assertIn("http: stream 0x0 body", r.log[moved:])

    def udp_exchange(self, *datagrams):
        """Sends `datagrams` in order from one UDP socket; the first datagram that comes back."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(10)
            for d in datagrams:
                s.sendto(d, (self.ip, self.port))
            return s.recv(65536)

    def test_unknown_quic_version_gets_version_negotiation(self):
        def first_packet(dcid, scid, size):  # a long header of an unassigned version, padded
            head = bytes([0xC0]) + bytes.fromhex("1a2a3a4a") + bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid
            return head + os.urandom(size - len(head))
        dcid, scid = os.urandom(8), os.urandom(12)
        # Under 1,200 bytes it cannot be a client's first packet: no answer (else the answer
        # could amplify a spoofed source), so the first answer is the full-size packet's.
        vn = self.udp_exchange(first_packet(os.urandom(8), os.urandom(12), 1000), first_packet(dcid, scid, 1200))
        self.assertTrue(vn[0] & 0x80, vn.hex())
        self.assertEqual(vn[1:5], bytes(4), "version 0: Version Negotiation")
        self.assertEqual(vn[5], len(scid))
        self.assertEqual(vn[6:6 + len(scid)], scid, "answers to the client's source ID")
        rest = vn[6 + len(scid):]
        self.assertEqual(rest[1:1 + rest[0]], dcid)
        versions = rest[1 + rest[0]:]
        self.assertIn(b"\x00\x00\x00\x01", [versions[i:i + 4] for i in range(0, len(versions), 4)])
        # A real client that starts with that version moves to QUIC v1 and is served.
        r = self.h3(["/"], extra=["--version=0x1a2a3a4a", "--preferred-versions=0x1"])
        self.assertEqual(r.status(), 200, r.log[-2000:])

    def test_packet_of_an_unknown_connection_gets_a_stateless_reset(self):
        def short_packet(dcid, size):
            return bytes([0x40 | (os.urandom(1)[0] & 0x3F)]) + dcid + os.urandom(size - 1 - len(dcid))
        one, other = os.urandom(18), os.urandom(18)
        # 20 bytes are too few to answer with a shorter packet that still looks like one: the
        # first answer is the 100-byte packet's.
        reset = self.udp_exchange(short_packet(other, 20), short_packet(one, 100))
        self.assertEqual(reset[0] & 0xC0, 0x40, "looks like a short-header packet")
        self.assertGreaterEqual(len(reset), 21)
        self.assertLess(len(reset), 100, "shorter than what caused it")
        token = reset[-16:]
        self.assertEqual(self.udp_exchange(short_packet(one, 60))[-16:], token, "the token is the ID's")
        self.assertNotEqual(self.udp_exchange(short_packet(other, 60))[-16:], token)

    def test_chunked_response_streams_through(self):
        r = self.h3(["/big/300000"])
        self.assertEqual(r.status(), 200, r.log[-2000:])
        self.assertEqual(r.body("300000"), big_body(300000))

    def test_post_bodies_of_0_1k_and_10m(self):
        for n in (0, 1024, 10 * 1024 * 1024):
            with self.subTest(size=n):
                data = os.urandom(n)
                path = "/post-%d" % n
                big = n > 65536
                # gtlsclient cannot send an empty file: a POST without a body stands for 0 B.
                r = self.h3([path], data=data or None, method="POST", quiet=big)
                self.assertEqual(r.returncode, 0, r.log[-2000:])
                if not big:
                    self.assertEqual(r.status(), 200, r.log[-2000:])
                echoed = json.loads(r.body(path[1:]))
                self.assertEqual(echoed["method"], "POST")
                self.assertEqual(echoed["body_len"], n)
                self.assertEqual(echoed["body_sha256"], hashlib.sha256(data).hexdigest())
                # The proxy half is the one of every protocol: forwarded as HTTPS.
                self.assertEqual(echoed["headers"]["x-forwarded-proto"], "https")
                self.assertEqual(echoed["headers"]["host"], "a.h3.test:%d" % self.port)

    def test_several_streams_on_one_connection(self):
        paths = ["/stream-%d" % i for i in range(8)]
        r = self.h3(paths)
        self.assertEqual(r.returncode, 0, r.log[-2000:])
        self.assertEqual(sorted(r.heads), [4 * i for i in range(8)])  # client bidi streams 0, 4, 8, ...
        for i, p in enumerate(paths):
            self.assertEqual(r.status(4 * i), 200)
            self.assertEqual(json.loads(r.body(p[1:]))["path"], p)

    def test_headers_middleware_hsts(self):
        r = self.h3(["/hsts"], host="hsts.h3.test")
        self.assertEqual(r.status(), 200, r.log[-2000:])
        self.assertEqual(r.header(0, "strict-transport-security"), "max-age=31536000; includeSubDomains")
        h2 = proto_request("h2-tls", "GET", self.ip, self.port, "/hsts", headers={"Host": "hsts.h3.test"})
        self.assertEqual(h2.headers.get("strict-transport-security"), r.header(0, "strict-transport-security"))

    def test_buffering_limit_413(self):
        r = self.h3(["/small"], host="limit.h3.test", data=b"x" * 1000, method="POST")
        self.assertEqual(r.status(), 200, r.log[-2000:])
        r = self.h3(["/large"], host="limit.h3.test", data=b"x" * 5000, method="POST")
        self.assertEqual(r.status(), 413, r.log[-2000:])
        h2 = proto_request("h2-tls", "POST", self.ip, self.port, "/large", headers={"Host": "limit.h3.test"},
                           body=b"x" * 5000)
        self.assertEqual(h2.status, 413)

    def test_sni_picks_the_certificate(self):
        for cert, other in ((self.cert_b, self.cert_a), (self.cert_a, self.cert_b)):
            with self.subTest(sni=cert.name):
                r = self.h3(["/sni"], host=cert.name, dump=True)
                self.assertEqual(r.status(), 200, r.log[-2000:])
                handshake = r.crypto_bytes()
                self.assertIn(cert.der(), handshake)
                self.assertNotIn(other.der(), handshake)

    def test_hosts_whose_tls_options_quic_does_not_apply_are_refused(self):
        # tls.options clientAuth and curvePreferences are not applied over QUIC yet: the
        # handshake fails closed rather than let a client skip the certificate or the key
        # exchange TCP TLS asks for.
        for host, path in (("m.h3.test", "/m"), ("c.h3.test", "/c")):
            with self.subTest(host=host):
                r = self.h3([path], host=host)
                self.assertIsNone(r.status(), r.log[-2000:])
                self.assertIn("CRYPTO_ERROR", r.log)
                self.assertFalse(any(req["path"] == path for req in self.a.requests))
        # Over TCP TLS (SNI c.h3.test, so its own options apply) the same host is served.
        tcp = subprocess.run(["curl", "-sk", "--http2", "-o", "/dev/null", "-w", "%{http_code}",
                              "--resolve", "c.h3.test:%d:%s" % (self.port, self.ip),
                              "https://c.h3.test:%d/c" % self.port], capture_output=True, text=True, timeout=30)
        self.assertEqual(tcp.stdout, "200", tcp.stderr)

    def test_a_host_with_other_tls_options_than_the_sni_gets_421(self):
        # SNI a.h3.test (default options), Host m.h3.test (options requiring client
        # certificates, refused at the handshake above): the request would skip the
        # certificate check, so it is answered 421 as on TCP TLS (no SNI there: the default
        # options too), and never reaches m's router.
        r = gtlsclient(self.ip, self.port, [self.url("/misdirected-h3", "m.h3.test")], "a.h3.test")
        self.assertEqual(r.status(), 421, r.log[-2000:])
        for protocol in ("h1-tls", "h2-tls"):
            with self.subTest(protocol=protocol):
                tcp = proto_request(protocol, "GET", self.ip, self.port, "/misdirected-tcp",
                                    headers={"Host": "m.h3.test"})
                self.assertEqual(tcp.status, 421)
        self.assertFalse(any(req["path"].startswith("/misdirected") for req in self.a.requests))
        # Hosts of the same options are served on the connection.
        r = gtlsclient(self.ip, self.port, [self.url("/same-options", "b.h3.test")], "a.h3.test")
        self.assertEqual(r.status(), 200, r.log[-2000:])

    def test_alt_svc_on_the_tls_side_of_the_entrypoint(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                r = proto_request(protocol, "GET", self.ip, self.port, "/alt", headers={"Host": "a.h3.test"})
                self.assertEqual(r.status, 200)
                if is_tls(protocol):  # as Traefik: the HTTPS server's responses advertise h3
                    self.assertEqual(r.headers.get("alt-svc"), 'h3=":%d"; ma=2592000' % ADVERTISED)
                else:
                    self.assertIsNone(r.headers.get("alt-svc"))
        r = self.h3(["/alt"])
        self.assertEqual(r.status(), 200)
        self.assertIsNone(r.header(0, "alt-svc"))

    def test_health_lists_the_http3_socket(self):
        health = self.portier.diag("/health")
        [entry] = [e for e in health["http3"] if e["entryPoint"] == "websecure"]
        self.assertEqual(entry["address"], "%s:%d" % (self.ip, self.port))
        self.assertIsInstance(entry["connections"], int)  # counted in the IdleTimeout test
        self.assertEqual(entry["sockets"], 2)  # one per worker

    def logged(self, path):
        """The access-log entry of the request for `path`, once written."""
        def entry():
            text = self.access_path.read_text() if self.access_path.exists() else ""
            for line in text.splitlines():
                e = json.loads(line)
                if e.get("RequestPath") == path:
                    return e
            return None
        return wait_until(entry, timeout=10, what="the access-log entry of " + path)

    def test_access_log_records_http3(self):
        # Each AEAD QUIC offers, forced by the client: TLSCipher is its IANA name, as the TCP
        # side (OpenSSL) and Traefik (Go) write it.
        for aead, suite in (("AES-128-GCM", "TLS_AES_128_GCM_SHA256"), ("AES-256-GCM", "TLS_AES_256_GCM_SHA384"),
                            ("CHACHA20-POLY1305", "TLS_CHACHA20_POLY1305_SHA256")):
            with self.subTest(cipher=suite):
                path = "/logged-" + aead
                r = self.h3([path], extra=["--ciphers=NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+" + aead])
                self.assertEqual(r.status(), 200, r.log[-2000:])
                entry = self.logged(path)
                self.assertEqual(entry["RequestProtocol"], "HTTP/3.0")
                self.assertEqual(entry["DownstreamStatus"], 200)
                self.assertEqual(entry["RequestScheme"], "https")
                self.assertEqual(entry["TLSVersion"], "1.3")
                self.assertEqual(entry["TLSCipher"], suite)
        # The same fields for a request over TCP TLS 1.3 (curl's first TLS 1.3 suite).
        proto_request("h2-tls", "GET", self.ip, self.port, "/logged-tcp", headers={"Host": "a.h3.test"})
        entry = self.logged("/logged-tcp")
        self.assertEqual(entry["TLSVersion"], "1.3")
        self.assertRegex(entry["TLSCipher"], r"^TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)$")


def one_router_portier(ip, port, name, backend, **ep_keys):
    """A started Portier whose entrypoint `h3` (with http3) routes Host(`NAME.h3.test`) to `backend`."""
    d = make_temp_dir()
    dynamic = write_file_atomic(d / "dynamic.yml", {"http": {
        "routers": {name: router("Host(`%s.h3.test`)" % name, name, ("h3",), tls={})},
        "services": {name: service(backend.url)}}})
    ep = {"address": "%s:%d" % (ip, port), "http3": {}}
    ep.update(ep_keys)
    return started(Portier(http_config({"h3": ep}, dynamic)))


class GatedRequest:
    """An HTTP/3 request for /gate/NAME in the background, held at the backend (reached when
    the constructor returns) until release()."""

    def __init__(self, ip, port, host, backend, name):
        self.backend, self.name = backend, name
        cmd, self.download = gtlsclient_command(ip, port, ["https://%s:%d/gate/%s" % (host, port, name)], host)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        wait_until(lambda: any(r["path"] == "/gate/" + name for r in backend.requests), timeout=15,
                   what="the request at the backend")

    def release(self):
        self.backend.gate(self.name).set()
        out, _ = self.proc.communicate(timeout=20)
        return H3Result(self.proc.returncode, out.decode("latin-1"), self.download)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Shutdown(unittest.TestCase):
    def test_a_request_in_flight_completes_on_sigterm(self):
        ip = NET + ".4"
        port = free_tcp_udp_port(ip)
        with Backend("g", NET + ".6") as g, one_router_portier(ip, port, "g", g) as p:
            with GatedRequest(ip, port, "g.h3.test", g, "h3") as request:
                p.proc.send_signal(signal.SIGTERM)
                wait_until(lambda: "draining" in p.logs().lower() or None, timeout=10, what="the drain")
                r = request.release()
            self.assertEqual(r.status(), 200, r.log[-2000:])
            self.assertEqual(r.body("h3"), b"first\nsecond\n")
            self.assertEqual(p.wait_exit(timeout=20), 0)


@contextlib.contextmanager
def capped(octet, name, max_connections):
    """A Portier on NET.octet with entryPoints.h3.portier.maxConnections, routing NAME.h3.test to
    a backend on NET.(octet+1): (ip, port, base URL, backend)."""
    ip = NET + ".%d" % octet
    port = free_tcp_udp_port(ip)
    with Backend(name, NET + ".%d" % (octet + 1)) as backend, \
            one_router_portier(ip, port, name, backend, portier={"maxConnections": max_connections}):
        yield ip, port, "https://%s.h3.test:%d" % (name, port), backend


class ConnectionCap(unittest.TestCase):
    def test_max_connections_caps_quic_connections(self):
        with capped(8, "c", 1) as (ip, port, url, c):
            with GatedRequest(ip, port, "c.h3.test", c, "cap") as request:
                second = gtlsclient(ip, port, [url + "/second"], "c.h3.test", extra=["--handshake-timeout=1s"])
                self.assertIsNone(second.status(), second.log[-2000:])
                self.assertFalse(any(r["path"] == "/second" for r in c.requests))
                self.assertEqual(request.release().status(), 200)
            # The first connection is gone: a new one is served.
            wait_until(lambda: gtlsclient(ip, port, [url + "/third"], "c.h3.test").status() == 200 or None,
                       timeout=20, what="a connection once the first closed")

    def test_clients_past_half_the_cap_validate_their_address_first(self):
        # maxConnections 2: from one open connection on, a new client gets a Retry and comes
        # back with its token (stateless address validation), then is served.
        with capped(12, "v", 2) as (ip, port, url, v):
            first = gtlsclient(ip, port, [url + "/first"], "v.h3.test")
            self.assertEqual(first.status(), 200, first.log[-2000:])
            self.assertNotIn("type=Retry", first.log)
            with GatedRequest(ip, port, "v.h3.test", v, "held") as held:
                second = gtlsclient(ip, port, [url + "/second"], "v.h3.test")
                self.assertEqual(second.status(), 200, second.log[-2000:])
                self.assertIn("type=Retry", second.log)
                self.assertEqual(held.release().status(), 200)


class ConnectionLimits(unittest.TestCase):
    """The entrypoint's per-connection limits on QUIC connections, each on a portier of its own."""

    @contextlib.contextmanager
    def portier(self, **ep_keys):
        """(ip, port) of a portier whose HTTP/3 entrypoint has `ep_keys`, routing k.h3.test."""
        ip = NET + ".14"
        port = free_tcp_udp_port(ip)
        with Backend("k", NET + ".15") as backend, one_router_portier(ip, port, "k", backend, **ep_keys):
            yield ip, port

    def test_keep_alive_limits_refuse_the_requests_past_them(self):
        # As on HTTP/2: the last allowed request is served, a GOAWAY follows, and the requests
        # the client had already opened past it are refused with H3_REQUEST_REJECTED (0x10b:
        # not processed, safe to retry).
        for transport, served in (({"keepAliveMaxRequests": 2}, 2), ({"keepAliveMaxTime": "1ms"}, 1)):
            with self.subTest(transport=transport), self.portier(transport=transport) as (ip, port):
                r = gtlsclient(ip, port, ["https://k.h3.test:%d/%d" % (port, i) for i in range(4)],
                               "k.h3.test", dump=True)
                ok = [sid for sid in r.heads if r.status(sid) == 200]
                refused = re.findall(r"RESET_STREAM\(0x04\) id=0x[0-9a-f]+ app_error_code=\S*\(0x10b\)", r.log)
                self.assertEqual(len(ok), served, r.log[-3000:])
                self.assertEqual(len(refused), 4 - served, r.log[-3000:])

    def test_header_timeout_closes_a_connection_that_asks_nothing(self):
        # portier.headerTimeout 1s: the client completes its handshake and waits 4 s before
        # sending its request; the server closes the connection first.
        with self.portier(portier={"headerTimeout": "1s"}) as (ip, port):
            r = gtlsclient(ip, port, ["https://k.h3.test:%d/" % port], "k.h3.test", dump=True,
                           extra=["--delay-stream=4s"])
            self.assertIsNone(r.status(), r.log[-3000:])
            self.assertRegex(r.log, r"frm rx \d+ \w+ CONNECTION_CLOSE\(0x1d\)")


def qlog_events(path):
    """The events of a gtlsclient --qlog-file (JSON text sequences: RFC 7464)."""
    out = []
    for record in path.read_text().split("\x1e"):
        record = record.strip()
        if record:
            out.append(json.loads(record))
    return [e for e in out if "name" in e]


class IdleTimeout(unittest.TestCase):
    def test_idle_timeout_is_advertised_and_closes_an_idle_connection(self):
        # transport.respondingTimeouts.idleTimeout 1s is the QUIC idle timeout: the server
        # advertises it (max_idle_timeout, in the client's qlog) and forgets a connection idle
        # that long, silently as RFC 9000 10.1 says (/health counts it until then). The client
        # would keep the connection 60 s and sends no CONNECTION_CLOSE (checked in its qlog),
        # so only the server's own timer closes it.
        ip = NET2 + ".1"
        port = free_tcp_udp_port(ip)
        with Backend("i", NET2 + ".2") as backend, \
                one_router_portier(ip, port, "i", backend,
                                   transport={"respondingTimeouts": {"idleTimeout": "1s"}}) as p:
            qlog = make_temp_dir("portier-qlog-") / "client.qlog"
            cmd, download = gtlsclient_command(ip, port, ["https://i.h3.test:%d/idle" % port], "i.h3.test",
                                               keep_open=True, extra=["--qlog-file=" + str(qlog)])

            def connections():
                [entry] = p.diag("/health")["http3"]
                return entry["connections"]
            self.assertEqual(connections(), 0)
            with open(download / "client.log", "wb") as log:
                client = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_until(lambda: any(r["path"] == "/idle" for r in backend.requests), timeout=15,
                           what="the request at the backend")
                wait_until(lambda: connections() == 1 or None, timeout=10, what="the connection counted")
                opened = time.monotonic()
                wait_until(lambda: connections() == 0 or None, timeout=15, what="the idle connection closed")
                self.assertGreaterEqual(time.monotonic() - opened, 0.5)  # not at once: after the timeout
                client.wait(timeout=20)  # its own timer: the smaller of 60 s and the server's 1 s
            finally:
                if client.poll() is None:
                    client.kill()
                    client.wait()
            log_text = (download / "client.log").read_text(errors="replace")
            self.assertIn("http: stream 0x0 [:status: 200]", log_text, log_text[-2000:])
            events = qlog_events(qlog)
            remote = [e["data"] for e in events
                      if e["name"].endswith("parameters_set") and e["data"].get("owner") == "remote"]
            self.assertEqual([d["max_idle_timeout"] for d in remote], [1000])
            self.assertEqual(remote[0]["initial_max_streams_bidi"], 100)
            sent_frames = [f.get("frame_type") for e in events if e["name"].endswith("packet_sent")
                           for f in e["data"].get("frames", [])]
            self.assertIn("stream", sent_frames)  # the frames were read: the request went out
            self.assertNotIn("connection_close", sent_frames)


class StreamLimit(unittest.TestCase):
    def test_a_connection_carries_100_requests_at_once(self):
        # 150 requests on one connection to a path the backend holds: 100 reach it (the
        # server's initial_max_streams_bidi), the others wait for streams to close; a request
        # on a second connection, sent after, arrives while they still wait. Released, all 150
        # complete.
        ip = NET2 + ".3"
        port = free_tcp_udp_port(ip)
        with Backend("s", NET2 + ".4") as backend, one_router_portier(ip, port, "s", backend):
            url = "https://s.h3.test:%d" % port
            cmd, download = gtlsclient_command(ip, port, [url + "/gate/limit"], "s.h3.test", extra=["--nstreams=150"])

            def held():
                return sum(1 for r in backend.requests if r["path"] == "/gate/limit")
            with open(download / "client.log", "wb") as log:  # a file: 150 streams' log outgrows a pipe
                client = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_until(lambda: held() >= 100 or None, timeout=20, what="100 requests at the backend")
                other = gtlsclient(ip, port, [url + "/second-connection"], "s.h3.test")
                self.assertEqual(other.status(), 200, other.log[-2000:])
                self.assertEqual(held(), 100)
                backend.gate("limit").set()
                client.wait(timeout=60)
            finally:
                if client.poll() is None:
                    client.kill()
                    client.wait()
            r = H3Result(client.returncode, (download / "client.log").read_text(errors="replace"), download)
            self.assertEqual(r.returncode, 0, r.log[-2000:])
            self.assertEqual(sorted(r.heads), [4 * i for i in range(150)])
            self.assertEqual({r.status(sid) for sid in r.heads}, {200})
            self.assertEqual(held(), 150)


class CertificateReplaced(unittest.TestCase):
    def test_a_certificate_replaced_while_running_is_served(self):
        ip = NET + ".10"
        port = free_tcp_udp_port(ip)
        with Backend("r", NET + ".11") as backend:
            old, new = make_cert(make_temp_dir(), "r.h3.test"), make_cert(make_temp_dir(), "r.h3.test")
            d = make_temp_dir()

            def dynamic(cert):
                return {"http": {"routers": {"r": router("Host(`r.h3.test`)", "r", ("h3",), tls={})},
                                 "services": {"r": service(backend.url)}},
                        "tls": {"certificates": [{"certFile": cert.cert, "keyFile": cert.key}]}}
            path = write_file_atomic(d / "dynamic.yml", dynamic(old))
            ep = {"address": "%s:%d" % (ip, port), "http3": {}}
            with started(Portier(http_config({"h3": ep}, path))):
                def served(cert):
                    r = gtlsclient(ip, port, ["https://r.h3.test:%d/" % port], "r.h3.test", dump=True)
                    return r.status() == 200 and cert.der() in r.crypto_bytes() or None
                wait_until(lambda: served(old), timeout=10, what="the first certificate")
                write_file_atomic(path, dynamic(new))
                wait_until(lambda: served(new), timeout=15, what="the replacement certificate")


class Steering(unittest.TestCase):
    """Two workers, one UDP socket each in one reuseport group: the kernel steers a packet by
    its destination connection ID's first byte, and each worker issues IDs that steer to its
    own socket. A connection whose packets reached the other worker would stall in its
    handshake or be reset (that worker holds no state for it), so every connection below must
    be served in full; a client that moves to a new port (migration) hashes to either socket
    by address, and only the steering keeps its packets on the connection's worker."""

    @classmethod
    def setUpClass(cls):
        cls.ip = NET3 + ".1"
        cls.port = free_tcp_udp_port(cls.ip)
        cls.backend = Backend("w", NET3 + ".2")
        d = make_temp_dir()
        dynamic = write_file_atomic(d / "dynamic.yml", {"http": {
            "routers": {"w": router("Host(`w.h3.test`)", "w", ("h3",), tls={})},
            "services": {"w": service(cls.backend.url)}}})
        ep = {"address": "%s:%d" % (cls.ip, cls.port), "http3": {}}
        cls.portier = started(Portier(http_config({"h3": ep}, dynamic, workers=2)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.backend.close()

    def url(self, path):
        return "https://w.h3.test:%d%s" % (self.port, path)

    def test_health_counts_one_socket_per_worker(self):
        [entry] = self.portier.diag("/health")["http3"]
        self.assertEqual(entry["address"], "%s:%d" % (self.ip, self.port))
        self.assertEqual(entry["sockets"], 2)

    def test_many_connections_with_several_requests_each_are_served(self):
        # 16 connections at once (each a new client-chosen first ID: both sockets get some),
        # 4 requests each.
        commands = [gtlsclient_command(self.ip, self.port, [self.url("/c%d-r%d" % (c, r)) for r in range(4)],
                                       "w.h3.test") for c in range(16)]
        for c, r in enumerate(run_clients(commands)):
            with self.subTest(connection=c):
                self.assertEqual(r.returncode, 0, r.log[-2000:])
                self.assertEqual(sorted(r.heads), [0, 4, 8, 12], r.log[-2000:])
                self.assertEqual({r.status(sid) for sid in r.heads}, {200})

    def test_migrating_clients_keep_their_connections(self):
        # Without the steering each would reach the wrong worker with probability 1/2.
        assert_migrations_served(self, self.ip, self.port, "w.h3.test")


def run_clients(commands, timeout=60):
    """Runs the gtlsclient commands at once; their H3Results."""
    procs = []
    for cmd, download in commands:
        log = open(download / "client.log", "wb")
        procs.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log, download))
    results = []
    try:
        for proc, log, download in procs:
            proc.wait(timeout=timeout)
            log.close()
            results.append(H3Result(proc.returncode, (download / "client.log").read_text(errors="replace"), download))
    finally:
        for proc, log, _ in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
    return results


def assert_migrations_served(test, ip, port, host):
    """6 clients at once move to a new local port 100 ms after their handshake and only then
    send their request (300 ms): request and response travel the new path, and must arrive."""
    url = "https://%s:%d/sized/20000" % (host, port)
    commands = [gtlsclient_command(ip, port, [url], host, extra=["--change-local-addr=100ms", "--delay-stream=300ms"])
                for _ in range(6)]
    for c, r in enumerate(run_clients(commands)):
        with test.subTest(connection=c):
            test.assertEqual(r.returncode, 0, r.log[-2000:])
            test.assertGreater(r.log.find("Local address is now"), 0, r.log[-2000:])
            test.assertEqual(r.status(), 200, r.log[-2000:])
            test.assertEqual(r.body("20000"), big_body(20000))


class LiveUpgradeSteering(unittest.TestCase):
    def test_the_successor_steers_on_the_sockets_it_inherits(self):
        # A live upgrade passes the address's two sockets in steering order; the successor
        # numbers them as passed and its two workers issue IDs for them: migrating clients
        # are served after the handover. (This process is a child subreaper: the successor,
        # the old process's child, is re-parented here and reaped below.)
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)
        ip = NET3 + ".3"
        port = free_tcp_udp_port(ip)
        with Backend("u", NET3 + ".4") as backend:
            dynamic = write_file_atomic(make_temp_dir() / "dynamic.yml", {"http": {
                "routers": {"u": router("Host(`u.h3.test`)", "u", ("h3",), tls={})},
                "services": {"u": service(backend.url)}}})
            ep = {"address": "%s:%d" % (ip, port), "http3": {}}
            with started(Portier(http_config({"h3": ep}, dynamic, workers=2))) as p:
                r = run_cli(["upgrade", "--config", str(p.config_path)], timeout=60)
                self.assertEqual(r.returncode, 0, "upgrade: %s %s" % (r.stdout, r.stderr))
                successor = json.loads(r.stdout.split(": ", 2)[-1])["pid"]
                try:
                    self.assertEqual(p.wait_exit(timeout=30), 0)  # the old process drained
                    [entry] = p.diag("/health")["http3"]  # the successor's
                    self.assertEqual(entry["sockets"], 2)
                    self.assertEqual(len(re.findall(r"serving inherited socket h3 \(%s:%d/udp\)"
                                                    % (re.escape(ip), port), p.logs())), 2, p.logs()[-3000:])
                    assert_migrations_served(self, ip, port, "u.h3.test")
                finally:
                    os.kill(successor, signal.SIGTERM)
                    _, status = os.waitpid(successor, 0)
                self.assertEqual(os.waitstatus_to_exitcode(status), 0)


class TakenPort(unittest.TestCase):
    def test_a_taken_udp_port_is_an_error_naming_the_entrypoint(self):
        ip = NET + ".3"
        port = free_tcp_udp_port(ip)
        holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        holder.bind((ip, port))
        try:
            ep = {"address": "%s:%d" % (ip, port), "http3": {}}
            with Portier(http_config({"h3ep": ep})) as p:
                p.start(expect_ready=False)
                self.assertEqual(p.wait_exit(timeout=20), 1)
                self.assertRegex(p.logs(), r"entrypoint h3ep: cannot listen on %s:%d/udp: .*\(http3\)"
                                 % (re.escape(ip), port))
        finally:
            holder.close()


if __name__ == "__main__":
    unittest.main()
