"""https upstreams with serversTransport (SPEC 5, issue 4): TLS to real Python ssl backends with
certificates made here by openssl; SNI, verification against rootCAs (file and inline PEM),
serverName, insecureSkipVerify, keep-alive reuse, HTTP/2 clients, health checks, WebSocket."""

import asyncio
import http.client
import json
import ssl
import subprocess
import unittest

import websockets  # python3-websockets, installed by portier.sh

from portier_e2e import ProxyTest, Backend, make_temp_dir, router, service, wait_until

NET = "127.0.46"
TRUSTED_IP = NET + ".2"


def openssl(*args, cwd):
    out = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError("openssl %s: %s" % (" ".join(args), out.stderr.decode()))


def make_certificates(d, ip=TRUSTED_IP):
    """A CA and a server certificate it signs (backend.test, `ip`), and a self-signed one."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=portier test CA",
            cwd=d)
    openssl("req", *ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=backend.test", cwd=d)
    (d / "ext.cnf").write_text("subjectAltName=DNS:backend.test,IP:%s\nbasicConstraints=CA:FALSE\n"
                               "extendedKeyUsage=serverAuth\n" % ip)
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "srv.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d)
    openssl("req", "-x509", *ec, "-keyout", "self.key", "-out", "self.pem", "-days", "2", "-subj", "/CN=self.test",
            "-addext", "subjectAltName=DNS:self.test", cwd=d)


def server_context(d, cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(d / cert), str(d / key))
    return ctx


class UpstreamTls(ProxyTest, unittest.TestCase):
    IP = NET + ".1"

    @classmethod
    def setUpClass(cls):
        cls.certs = make_temp_dir()
        make_certificates(cls.certs)
        cls.tls = {}
        for name, ip, cert in (("trusted", TRUSTED_IP, "srv"), ("inline", TRUSTED_IP, "srv"),
                               ("reuse", TRUSTED_IP, "srv"), ("h2", TRUSTED_IP, "srv"),
                               ("hc", TRUSTED_IP, "srv"), ("ws", TRUSTED_IP, "srv"),
                               ("self", NET + ".3", "self")):
            cls.tls[name] = Backend("tls-" + name, ip, ssl_context=server_context(cls.certs, cert + ".pem",
                                                                                 cert + ".key"))
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        for b in cls.tls.values():
            b.close()

    @classmethod
    def dynamic(cls):
        t = cls.tls
        ca_file = str(cls.certs / "ca.pem")
        ca_pem = (cls.certs / "ca.pem").read_text()
        routes = {}
        services = {}

        def add(name, url, **lb):
            routes[name] = router("Host(`%s.tls.test`)" % name, name)
            services[name] = service(url, **lb)

        add("trusted", t["trusted"].url, serversTransport="ca-file")
        add("inline", t["inline"].url, serversTransport="ca-inline")
        add("untrusted", t["trusted"].url)  # default transport: system roots only
        add("mismatch", t["trusted"].url, serversTransport="wrong-name")
        add("insecure", t["self"].url, serversTransport="insecure")
        add("self-verified", t["self"].url, serversTransport="ca-file")
        add("reuse", t["reuse"].url, serversTransport="ca-file")
        add("h2", t["h2"].url, serversTransport="ca-file")
        add("hc", t["hc"].url, serversTransport="ca-file",
            healthCheck={"path": "/health", "interval": "100ms", "timeout": "1s"})
        add("ws", t["ws"].url, serversTransport="ca-file")
        routes["ws"] = router("PathPrefix(`/ws`)", "ws")  # the websockets client sends Host: IP:port
        add("bad-ca", t["trusted"].url, serversTransport="missing-ca")
        return {"http": {
            "routers": routes,
            "services": services,
            "serversTransports": {
                "ca-file": {"rootCAs": [ca_file], "serverName": "backend.test"},
                "ca-inline": {"rootCAs": [ca_pem]},
                "wrong-name": {"rootCAs": [ca_file], "serverName": "other.test"},
                "insecure": {"insecureSkipVerify": True},
                "missing-ca": {"rootCAs": [str(cls.certs / "no-such-ca.pem")]},
            },
        }}

    def host_get(self, name, path="/"):
        return self.get(path, host="%s.tls.test" % name)

    def test_root_ca_file_and_server_name_sni(self):
        before = len(self.tls["trusted"].tls_sessions)
        r = self.host_get("trusted", "/x?y=1")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["backend"], "tls-trusted")
        self.assertEqual(r.json()["target"], "/x?y=1")
        self.assertIn("backend.test", self.tls["trusted"].tls_sessions[before:])

    def test_inline_root_ca_and_ip_literal_has_no_sni(self):
        r = self.host_get("inline")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["backend"], "tls-inline")
        self.assertEqual(self.tls["inline"].tls_sessions, [None])  # IP literal: no SNI, IP SAN verified

    def test_untrusted_certificate_is_502_and_logged(self):
        r = self.host_get("untrusted")
        self.assertEqual(r.status, 502, r)
        wait_until(lambda: "certificate verify failed" in self.portier.logs()
                   and self.tls["trusted"].url in self.portier.logs(), what="log line naming the server")

    def test_self_signed_needs_insecure_skip_verify(self):
        self.assertEqual(self.host_get("self-verified").status, 502)
        r = self.host_get("insecure")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["backend"], "tls-self")

    def test_server_name_must_match_the_certificate(self):
        self.assertEqual(self.host_get("mismatch").status, 502)
        self.assertEqual(self.host_get("trusted").status, 200)

    def test_unreadable_root_ca_is_reported(self):
        errors = self.portier.diag("/routes.json")["errors"]
        self.assertTrue(any("rootCAs" in e["message"] and "no-such-ca.pem" in e["message"] for e in errors), errors)
        self.assertEqual(self.host_get("bad-ca").status, 502)  # the CA is missing: verification fails
        self.assertTrue(self.portier.running())

    def test_keep_alive_reuses_one_tls_connection(self):
        b = self.tls["reuse"]
        conn = http.client.HTTPConnection(self.IP, self.port, timeout=5)  # one client connection: one worker
        try:
            for i in range(5):
                conn.request("POST", "/n%d" % i, body=b"x" * (i * 1000), headers={"Host": "reuse.tls.test"})
                r = conn.getresponse()
                info = json.loads(r.read())
                self.assertEqual(r.status, 200)
                self.assertEqual(info["body_len"], i * 1000)
        finally:
            conn.close()
        self.assertEqual(len(b.requests), 5)
        self.assertEqual(len(b.tls_sessions), 1, b.tls_sessions)
        self.assertEqual(len({r["client"] for r in b.requests}), 1)

    def test_http2_client_to_https_upstream(self):
        out = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-H", "Host: h2.tls.test",
                              "-w", "\n%{http_code} %{http_version}", self.url("/via-h2")],
                             capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        body, _, tail = out.stdout.rpartition(b"\n")
        self.assertEqual(tail.decode().split(), ["200", "2"])
        info = json.loads(body)
        self.assertEqual(info["backend"], "tls-h2")
        self.assertEqual(info["target"], "/via-h2")
        self.assertEqual(self.tls["h2"].tls_sessions[-1], "backend.test")

    def test_health_check_over_tls(self):
        b = self.tls["hc"]
        wait_until(lambda: len(b.health_requests) >= 2, what="health checks over TLS")
        self.assertGreaterEqual(len(b.tls_sessions), 2)
        self.assertEqual(self.host_get("hc").status, 200)
        b.healthy = False
        try:
            wait_until(lambda: self.host_get("hc").status == 503, what="https server marked down")
        finally:
            b.healthy = True
        wait_until(lambda: self.host_get("hc").status == 200, what="https server marked up")

    def test_websocket_through_tls_upstream(self):
        async def talk():
            uri = "ws://%s:%d/ws" % (self.IP, self.port)
            async with websockets.connect(uri, open_timeout=5) as ws:
                out = []
                for msg in ("one", b"\x00\x01binary", "x" * 70000):
                    await ws.send(msg)
                    out.append(await asyncio.wait_for(ws.recv(), 5))
                return out
        self.assertEqual(asyncio.run(talk()), ["one", b"\x00\x01binary", "x" * 70000])
        self.assertEqual(self.tls["ws"].tls_sessions, ["backend.test"])


if __name__ == "__main__":
    unittest.main()
