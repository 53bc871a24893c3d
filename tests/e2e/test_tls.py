"""TLS termination on HTTP entrypoints (SPEC 6), with real clients (openssl s_client, python ssl).

Certificates come from a small CA generated here with the openssl CLI. One entrypoint serves
TLS and cleartext on one port; routers with `tls` answer on the TLS side only.
"""

import hashlib
import os
import re
import socket
import ssl
import subprocess
import time
import unittest
import http.client

from portier_e2e import (Backend, RawClient, big_body, Portier, free_port, http_config, http_request, make_temp_dir, read_ws_frame,
                         router, service, wait_until, write_file_atomic, ws_accept, ws_frame, started)

NET = "127.0.61"
DEFAULT_CN = "PORTIER DEFAULT CERT"


def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError("openssl %s failed: %s" % (" ".join(args), r.stderr.decode(errors="replace")))


class TestCA:
    """A CA and leaf certificates (EC P-256) in `directory`, made with the openssl CLI."""

    def __init__(self, directory):
        self.dir = directory
        self.ca_cert = str(directory / "ca.crt")
        _openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=Portier Test CA",
                 cwd=directory)
        self._serial = int.from_bytes(os.urandom(6), "big")

    def leaf(self, stem, *names):
        """Issues a leaf for `names` (the first is the CN): (cert path, key path)."""
        self._serial += 1
        ext = self.dir / (stem + ".ext")
        ext.write_text("subjectAltName=%s\nextendedKeyUsage=serverAuth\n" % ",".join("DNS:" + n for n in names))
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", stem + ".key", "-out", stem + ".csr", "-subj", "/CN=" + names[0], cwd=self.dir)
        _openssl("x509", "-req", "-in", stem + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-set_serial",
                 str(self._serial), "-days", "2", "-extfile", stem + ".ext", "-out", stem + ".crt", cwd=self.dir)
        return str(self.dir / (stem + ".crt")), str(self.dir / (stem + ".key"))

    def der(self, cert_path):
        return ssl.PEM_cert_to_DER_cert(open(cert_path).read())


class SClient:
    """The outcome of one `openssl s_client` run."""

    def __init__(self, returncode, out):
        self.returncode = returncode
        self.out = out
        m = re.search(r"^subject=(.*)$", out, re.M)
        self.subject = m.group(1).strip() if m else None
        m = re.search(r"^(New|Reused), (\S+), Cipher is (\S+)", out, re.M)
        self.reused = bool(m) and m.group(1) == "Reused"
        self.protocol = m.group(2).rstrip(",") if m else None
        self.cipher = m.group(3) if m else None
        self.handshake_ok = bool(m) and self.cipher not in ("(NONE)", "0000")
        m = re.search(r"Verify return code: (\d+)", out)
        self.verify_code = int(m.group(1)) if m else None

    def cn(self):
        m = re.search(r"CN\s*=\s*([^,/]+)", self.subject or "")
        return m.group(1).strip() if m else None

    def __repr__(self):
        return "<SClient rc=%d subject=%r protocol=%r cipher=%r>\n%s" % (
            self.returncode, self.subject, self.protocol, self.cipher, self.out[-1500:])


def s_client(address, servername=None, args=(), send=b"", ca=None, timeout=15):
    """Runs openssl s_client against address ("ip:port"); `send` goes to the server (with
    -ign_eof so that the answer, and any TLS 1.3 ticket, is read until the server closes)."""
    cmd = ["openssl", "s_client", "-connect", address]
    cmd += ["-servername", servername] if servername else ["-noservername"]
    if ca:
        cmd += ["-CAfile", ca]
    if send:
        cmd += ["-ign_eof"]
    cmd += list(args)
    r = subprocess.run(cmd, input=send, capture_output=True, timeout=timeout)
    return SClient(r.returncode, r.stdout.decode(errors="replace") + "\n" + r.stderr.decode(errors="replace"))


def http_get_bytes(host):
    return ("GET /hello HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host).encode()


def tls_context(ca=None, minimum=None, maximum=None):
    ctx = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
    if minimum:
        ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    return ctx


class TlsEntryPoint(unittest.TestCase):
    """One portier, one entrypoint; certificates for exact.test, *.wild.test and other.test."""

    @classmethod
    def setUpClass(cls):
        cls.dir = make_temp_dir()
        cls.ca = TestCA(cls.dir)
        cls.exact = cls.ca.leaf("exact", "exact.test")
        cls.wild = cls.ca.leaf("wild", "*.wild.test")
        cls.other = cls.ca.leaf("other", "other.test", "modern.test", "chacha.test")
        cls.secure = Backend("secure", NET + ".2")
        cls.plain = Backend("plain", NET + ".3")
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        cls.address = "%s:%d" % (cls.ip, cls.port)
        tls = {}
        dynamic = {
            "http": {
                "routers": {
                    "secure": router("Host(`exact.test`) || Host(`a.wild.test`) || Host(`other.test`)", "secure",
                                     tls=tls),
                    "modern": router("Host(`modern.test`)", "secure", tls={"options": "modern"}),
                    "chacha": router("Host(`chacha.test`)", "secure", tls={"options": "chacha"}),
                    "strict": router("Host(`nocert.test`)", "secure", tls={"options": "strict"}),
                    "plain": router("Host(`plain.test`)", "plain"),
                    "bench-tls": router("PathPrefix(`/bench`)", "secure", tls=tls,
                                        middlewares=["bench-reply"]),
                    "bench-plain": router("PathPrefix(`/bench`)", "plain", middlewares=["bench-reply"]),
                },
                "middlewares": {
                    # answered by portier itself: the benchmark measures the proxy, not the backend
                    "bench-reply": {"redirectRegex": {"regex": "^(.*)/bench$", "replacement": "${1}/benched"}},
                },
                "services": {"secure": service(cls.secure.url), "plain": service(cls.plain.url)},
            },
            "tls": {
                "certificates": [{"certFile": c, "keyFile": k} for c, k in (cls.exact, cls.wild, cls.other)],
                "options": {
                    "modern": {"minVersion": "VersionTLS13"},
                    "chacha": {"maxVersion": "VersionTLS12",
                               "cipherSuites": ["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"]},
                    "strict": {"sniStrict": True},
                },
            },
        }
        cls.dynamic_path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        cls.portier = started(Portier(http_config({"web": cls.address}, cls.dynamic_path)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.secure.close()
        cls.plain.close()

    def sc(self, servername=None, args=(), send=b""):
        return s_client(self.address, servername, args, send, ca=self.ca.ca_cert)

    # ---- certificate selection ----
    def test_exact_name_gets_its_certificate(self):
        r = self.sc("exact.test", ["-verify_hostname", "exact.test"])
        self.assertTrue(r.handshake_ok, r)
        self.assertEqual(r.cn(), "exact.test", r)
        self.assertEqual(r.verify_code, 0, r)

    def test_wildcard_covers_one_label(self):
        r = self.sc("a.wild.test", ["-verify_hostname", "a.wild.test"])
        self.assertEqual(r.cn(), "*.wild.test", r)
        self.assertEqual(r.verify_code, 0, r)
        r = self.sc("x.y.wild.test")
        self.assertEqual(r.cn(), DEFAULT_CN, r)  # two labels: not covered

    def test_sni_is_case_insensitive(self):
        self.assertEqual(self.sc("EXACT.Test").cn(), "exact.test")

    def test_san_names_beyond_the_cn(self):
        r = self.sc("modern.test")
        self.assertEqual(r.cn(), "other.test", r)

    def test_unknown_name_and_no_sni_get_the_default(self):
        self.assertEqual(self.sc("unknown.test").cn(), DEFAULT_CN)
        r = self.sc(None)
        self.assertTrue(r.handshake_ok, r)
        self.assertEqual(r.cn(), DEFAULT_CN, r)

    # ---- versions and suites ----
    def test_tls13_is_negotiated(self):
        r = self.sc("exact.test")
        self.assertEqual(r.protocol, "TLSv1.3", r)
        self.assertRegex(r.cipher, r"^TLS_(AES_(128|256)_GCM|CHACHA20_POLY1305)_SHA(256|384)$")

    def test_tls12_uses_ecdhe_aead(self):
        r = self.sc("exact.test", ["-tls1_2"])
        self.assertEqual(r.protocol, "TLSv1.2", r)
        self.assertRegex(r.cipher, r"^ECDHE-ECDSA-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$", r)

    def test_tls12_cbc_and_non_ecdhe_suites_are_refused(self):
        for cipher in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "AES128-GCM-SHA256"):
            r = self.sc("exact.test", ["-tls1_2", "-cipher", cipher])
            self.assertFalse(r.handshake_ok, r)
            self.assertIn("handshake failure", r.out, r)

    def test_tls11_is_refused_by_the_server(self):
        # SECLEVEL=0 lets the client offer TLS 1.1 at all; the refusal must come from portier.
        r = self.sc("exact.test", ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
        self.assertFalse(r.handshake_ok, r)
        self.assertRegex(r.out, r"alert protocol version|unsupported protocol|wrong version", r)
        self.assertNotIn("no protocols available", r.out, r)

    def test_min_version_tls13_for_one_host_only(self):
        r = self.sc("modern.test", ["-tls1_2"])
        self.assertFalse(r.handshake_ok, r)
        self.assertRegex(r.out, r"alert protocol version|unsupported protocol", r)
        self.assertEqual(self.sc("modern.test", ["-tls1_3"]).protocol, "TLSv1.3")
        # the same certificate under another name keeps the default options
        r = self.sc("other.test", ["-tls1_2"])
        self.assertEqual(r.protocol, "TLSv1.2", r)
        # and the host is served over TLS 1.3 end to end
        r = self.sc("modern.test", send=http_get_bytes("modern.test"))
        self.assertIn("HTTP/1.1 200", r.out, r)

    def test_cipher_suites_option_for_one_host(self):
        r = self.sc("chacha.test", ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305"])
        self.assertEqual(r.cipher, "ECDHE-ECDSA-CHACHA20-POLY1305", r)
        r = self.sc("chacha.test", ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"])
        self.assertFalse(r.handshake_ok, r)
        r = self.sc("other.test", ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"])
        self.assertEqual(r.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256", r)

    def test_sni_strict_option_refuses_a_host_without_certificate(self):
        r = self.sc("nocert.test")
        self.assertFalse(r.handshake_ok, r)
        self.assertIn("unrecognized name", r.out, r)
        # unknown names under the default options still get the default certificate
        self.assertEqual(self.sc("unknown.test").cn(), DEFAULT_CN)

    def test_alpn_http11(self):
        r = self.sc("exact.test", ["-alpn", "http/1.1"])
        self.assertIn("ALPN protocol: http/1.1", r.out, r)

    # ---- sessions ----
    def check_resumption(self, version_flag):
        sess = str(make_temp_dir() / "session.pem")
        first = self.sc("exact.test", [version_flag, "-sess_out", sess], send=http_get_bytes("exact.test"))
        self.assertIn("HTTP/1.1 200", first.out, first)
        self.assertFalse(first.reused, first)
        self.assertTrue(os.path.getsize(sess) > 0)
        second = self.sc("exact.test", [version_flag, "-sess_in", sess], send=http_get_bytes("exact.test"))
        self.assertTrue(second.reused, second)
        self.assertIn("HTTP/1.1 200", second.out, second)

    def test_session_resumption_tls13(self):
        self.check_resumption("-tls1_3")

    def test_session_resumption_tls12_ticket(self):
        self.check_resumption("-tls1_2")

    # ---- TLS side vs cleartext side ----
    def test_tls_router_is_served_over_tls(self):
        r = http_request("GET", "https://%s/x" % self.address, headers={"Host": "exact.test"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["backend"], "secure")
        self.assertEqual(r.json()["headers"].get("x-forwarded-proto"), "https")

    def raw_https(self, sni, host):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection((self.ip, self.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=sni) as tls:
                tls.sendall(b"GET /x HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % host.encode())
                answer = b""
                while chunk := tls.recv(65536):
                    answer += chunk
        return answer

    def test_host_with_other_tls_options_than_the_sni_gets_421(self):
        # modern.test has tls.options "modern": reaching it through a handshake made for a
        # default-options name would bypass them
        self.assertTrue(self.raw_https("exact.test", "modern.test").startswith(b"HTTP/1.1 421"))
        self.assertTrue(self.raw_https("modern.test", "modern.test").startswith(b"HTTP/1.1 200"))
        self.assertTrue(self.raw_https("exact.test", "other.test").startswith(b"HTTP/1.1 200"))

    def h2_status(self, sni, host):
        """The status of a GET over h2 (curl, ALPN) with `sni` in the handshake and `host` as :authority."""
        out = subprocess.run(["curl", "-sS", "-k", "--http2", "-o", "/dev/null", "-w", "%{http_code} %{http_version}",
                              "--resolve", "%s:%d:%s" % (sni, self.port, self.ip), "-H", "Host: " + host,
                              "https://%s:%d/x" % (sni, self.port)], capture_output=True, timeout=20)
        code, version = out.stdout.decode().split()
        self.assertEqual(version, "2", out.stderr)
        return int(code)

    def test_host_with_other_tls_options_than_the_sni_gets_421_over_h2(self):
        self.assertEqual(self.h2_status("exact.test", "modern.test"), 421)
        self.assertEqual(self.h2_status("modern.test", "modern.test"), 200)
        self.assertEqual(self.h2_status("exact.test", "other.test"), 200)

    def test_tls_router_does_not_answer_cleartext(self):
        r = http_request("GET", "http://%s/x" % self.address, headers={"Host": "exact.test"})
        self.assertEqual(r.status, 404, r)

    def test_plain_router_does_not_answer_tls(self):
        r = http_request("GET", "http://%s/x" % self.address, headers={"Host": "plain.test"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["backend"], "plain")
        r = http_request("GET", "https://%s/x" % self.address, headers={"Host": "plain.test"})
        self.assertEqual(r.status, 404, r)

    def test_large_bodies_over_tls(self):
        r = http_request("GET", "https://%s/big/3000000" % self.address, headers={"Host": "exact.test"}, timeout=20)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, big_body(3000000))
        body = os.urandom(4 * 1024 * 1024)
        r = http_request("POST", "https://%s/up" % self.address, headers={"Host": "exact.test"},
                         body=iter([body[i:i + 65536] for i in range(0, len(body), 65536)]), timeout=20)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["body_sha256"], hashlib.sha256(body).hexdigest())
        self.assertTrue(r.json()["chunked"])

    def read_to_close_notify(self, request, host="exact.test"):
        """Sends `request`, reads to the end; SSLEOFError if the server closes without close_notify."""
        raw = socket.create_connection((self.ip, self.port), timeout=5)
        with tls_context().wrap_socket(raw, server_hostname=host, suppress_ragged_eofs=False) as s:
            s.sendall(request)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return data
                data += chunk

    def test_connection_close_ends_with_close_notify(self):
        # Clients such as curl (OpenSSL 3) treat an EOF without close_notify as an error.
        data = self.read_to_close_notify(b"GET /x HTTP/1.1\r\nHost: exact.test\r\nConnection: close\r\n\r\n")
        self.assertTrue(data.startswith(b"HTTP/1.1 200 "), data[:200])
        data = self.read_to_close_notify(b"GET /x HTTP/1.0\r\nHost: nowhere.test\r\n\r\n")
        self.assertTrue(data.startswith(b"HTTP/1.1 404 "), data[:200])

    def test_http10_error_reply_closes(self):
        # an HTTP/1.0 request without keep-alive: the 404 ends the connection (cleartext too)
        with RawClient(self.ip, self.port) as c:
            c.send(b"GET /x HTTP/1.0\r\nHost: nowhere.test\r\n\r\n")
            self.assertEqual(c.read_response().status, 404)
            self.assertTrue(c.is_closed(timeout=2))

    def test_keep_alive_over_tls(self):
        ctx = tls_context(self.ca.ca_cert)
        conn = http.client.HTTPSConnection(self.ip, self.port, context=ctx, timeout=5)
        conn._tunnel_host = None
        try:
            # server_hostname comes from the host argument: connect by hand for SNI
            raw = socket.create_connection((self.ip, self.port), timeout=5)
            conn.sock = ctx.wrap_socket(raw, server_hostname="exact.test")
            first_sock = conn.sock
            for i in range(5):
                conn.request("POST", "/n%d" % i, body=b"x" * (i * 1000), headers={"Host": "exact.test"})
                r = conn.getresponse()
                body = r.read()
                self.assertEqual(r.status, 200, body)
                self.assertIs(conn.sock, first_sock)
        finally:
            conn.close()

    # ---- WebSocket over TLS ----
    def test_websocket_through_tls(self):
        ctx = tls_context(self.ca.ca_cert)
        with socket.create_connection((self.ip, self.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="exact.test") as s:
                key = "dGhlIHNhbXBsZSBub25jZQ=="
                s.sendall(("GET /ws HTTP/1.1\r\nHost: exact.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
                f = s.makefile("rb")
                status = f.readline()
                self.assertIn(b" 101 ", status)
                headers = {}
                while True:
                    line = f.readline().rstrip(b"\r\n")
                    if not line:
                        break
                    k, _, v = line.decode().partition(":")
                    headers[k.strip().lower()] = v.strip()
                self.assertEqual(headers["sec-websocket-accept"], ws_accept(key))
                for payload, opcode in ((b"hello over tls", 0x1), (os.urandom(70000), 0x2)):
                    s.sendall(ws_frame(opcode, payload, mask=True))
                    fin, op, echoed = read_ws_frame(f)
                    self.assertEqual((fin, op, echoed), (True, opcode, payload))
                s.sendall(ws_frame(0x8, b"\x03\xe8", mask=True))
                self.assertEqual(read_ws_frame(f)[1], 0x8)

    # ---- throughput, for the record (printed, not asserted) ----
    def test_zz_throughput(self):
        def h2load(url, n, extra=()):
            r = subprocess.run(["h2load", "--h1", "-n", str(n), "-c", "16", *extra, url],
                               capture_output=True, timeout=120, text=True)
            m = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", r.stdout)
            ok = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx", r.stdout)
            self.assertTrue(m and ok, r.stdout + r.stderr)
            self.assertEqual(int(ok.group(2)), n, r.stdout)  # every request answered by the route
            return float(m.group(1))

        https = h2load("https://%s/bench" % self.address, 20000)
        http_ = h2load("http://%s/bench" % self.address, 20000)
        # (h2load with Connection: close reports errored connections against portier under
        # load while curl and python clients do not; the handshake figure comes from s_time
        # until that is understood: see the issue notes.)
        # one client, full handshakes only (-new: no resumption), sequential: a latency figure
        t0 = time.monotonic()
        r = subprocess.run(["openssl", "s_time", "-connect", self.address, "-new", "-time", "2"],
                           capture_output=True, timeout=30, text=True)
        elapsed = time.monotonic() - t0
        m = re.search(r"(\d+) connections in [\d.]+s;", r.stdout)
        self.assertTrue(m, r.stdout + r.stderr)
        s_time = int(m.group(1)) / elapsed
        print("\n[throughput] portier HTTP/1.1, h2load 16 connections, locally answered route: "
              "HTTPS keep-alive %.0f req/s, HTTP keep-alive %.0f req/s; "
              "openssl s_time -new (1 client, full handshakes) %.0f/s"
              % (https, http_, s_time), flush=True)


class SniStrictDefault(unittest.TestCase):
    """tls.options.default.sniStrict: a name without a certificate is refused, known names work."""

    def test_default_sni_strict(self):
        d = make_temp_dir()
        ca = TestCA(d)
        cert, key = ca.leaf("known", "known.test")
        ip = NET + ".10"
        address = "%s:%d" % (ip, free_port(ip))
        with Backend("k", NET + ".11") as b:
            dynamic = write_file_atomic(d / "dynamic.yml", {
                "http": {"routers": {"k": router("Host(`known.test`)", "k", tls={})},
                         "services": {"k": service(b.url)}},
                "tls": {"certificates": [{"certFile": cert, "keyFile": key}],
                        "options": {"default": {"sniStrict": True}}}})
            with Portier(http_config({"web": address}, dynamic)) as p:
                p.start()
                r = s_client(address, "unknown.test")
                self.assertFalse(r.handshake_ok, r)
                self.assertIn("unrecognized name", r.out, r)
                r = s_client(address, None)
                self.assertFalse(r.handshake_ok, r)
                r = s_client(address, "known.test", send=http_get_bytes("known.test"), ca=ca.ca_cert)
                self.assertEqual(r.cn(), "known.test", r)
                self.assertIn("HTTP/1.1 200", r.out, r)


class IdleTlsConnectionOnShutdown(unittest.TestCase):
    """An idle keep-alive HTTPS connection does not hold the drain on SIGTERM."""

    def test_idle_tls_connection_is_closed_at_drain(self):
        ip = NET + ".30"
        address = "%s:%d" % (ip, free_port(ip))
        with Backend("idle", NET + ".31") as b:
            dynamic = write_file_atomic(make_temp_dir() / "dynamic.yml", {
                "http": {"routers": {"idle": router("Host(`idle.test`)", "idle", tls={})},
                         "services": {"idle": service(b.url)}}})
            with Portier(http_config({"web": address}, dynamic)) as p:
                p.start()
                raw = socket.create_connection((ip, int(address.rsplit(":", 1)[1])), timeout=5)
                with tls_context().wrap_socket(raw, server_hostname="idle.test") as s:
                    s.sendall(b"GET /one HTTP/1.1\r\nHost: idle.test\r\n\r\n")
                    f = s.makefile("rb")
                    self.assertIn(b" 200 ", f.readline())
                    t0 = time.monotonic()
                    self.assertEqual(p.stop(), 0)
                    self.assertLess(time.monotonic() - t0, 5.0, "an idle TLS connection held the drain")


class CertificateReplacement(unittest.TestCase):
    """A certificate replaced in the file provider serves the next handshake; an open keep-alive
    connection keeps working on the old one."""

    def test_replaced_certificate_and_open_connection(self):
        d = make_temp_dir()
        ca = TestCA(d)
        old = ca.leaf("old", "rot.test")
        new = ca.leaf("new", "rot.test")
        ip = NET + ".20"
        port = free_port(ip)
        ctx = tls_context(ca.ca_cert)

        def dynamic(cert):
            return {"http": {"routers": {"rot": router("Host(`rot.test`)", "rot", tls={})},
                             "services": {"rot": service(b.url)}},
                    "tls": {"certificates": [{"certFile": cert[0], "keyFile": cert[1]}]}}

        def served_der():
            with socket.create_connection((ip, port), timeout=5) as raw:
                with ctx.wrap_socket(raw, server_hostname="rot.test") as s:
                    return s.getpeercert(binary_form=True)

        with Backend("rot", NET + ".21") as b:
            path = write_file_atomic(d / "dynamic.yml", dynamic(old))
            with Portier(http_config({"web": "%s:%d" % (ip, port)}, path)) as p:
                p.start()
                self.assertEqual(served_der(), ca.der(old[0]))
                conn = http.client.HTTPSConnection(ip, port, context=ctx, timeout=5)
                conn.sock = ctx.wrap_socket(socket.create_connection((ip, port), timeout=5),
                                            server_hostname="rot.test")
                sock = conn.sock
                try:
                    conn.request("GET", "/before", headers={"Host": "rot.test"})
                    r = conn.getresponse()
                    self.assertEqual((r.status, r.read() and r.status), (200, 200))

                    write_file_atomic(path, dynamic(new))
                    wait_until(lambda: served_der() == ca.der(new[0]), what="the new certificate")

                    conn.request("GET", "/after", headers={"Host": "rot.test"})
                    r = conn.getresponse()
                    self.assertEqual(r.status, 200)
                    self.assertEqual(r.read() and r.status, 200)
                    self.assertIs(conn.sock, sock)  # the same TLS connection, not a reconnect
                    self.assertEqual(sock.getpeercert(binary_form=True), ca.der(old[0]))
                    self.assertEqual(b.paths()[-2:], ["/before", "/after"])
                finally:
                    conn.close()


if __name__ == "__main__":
    unittest.main()
