"""Traefik's remaining entrypoint keys (issue 18 item 2): asDefault, http.sanitizePath (after the
percent-escape normalization Traefik applies on every entrypoint),
http.encodeQuerySemicolons, http.maxHeaderBytes, http.tls.options, transport.keepAliveMaxRequests,
transport.keepAliveMaxTime and transport.lifeCycle.requestAcceptGraceTimeout. Every
request-level assertion runs over each of PROTOCOLS (HTTP/1.1 cleartext and TLS, h2 over TLS,
h2c).

`web` is asDefault with Traefik's defaults for the path and query, maxHeaderBytes 2000 and
keepAliveMaxRequests 3; `raw` has sanitizePath false, encodeQuerySemicolons true and
keepAliveMaxTime 1s; `secure` has http.tls.options "modern" (TLS 1.3 only)."""

import socket
import ssl
import subprocess
import time
import unittest

from h2_client import H2Client
from portier_e2e import (PROTOCOLS, Backend, Portier, free_port, http_config, is_tls, make_temp_dir,
                         proto_request, router, service, started, wait_until, write_file_atomic)

NET = "127.0.117"


def pair(name, rule, service_name, entry_points=("web", "raw")):
    """Routers `name` (cleartext side) and `name`-tls (TLS side); entry_points None = none given."""
    plain, secure = router(rule, service_name), router(rule, service_name, tls={})
    for r in (plain, secure):
        if entry_points is None:
            del r["entryPoints"]
        else:
            r["entryPoints"] = list(entry_points)
    return {name: plain, name + "-tls": secure}


def curl_sequence(protocol, ip, port, paths, host, rate=None):
    """HTTP/1.1 (cleartext or TLS): one curl run requesting `paths` in turn, reusing its
    connection while it may: [(status, num_connects)] per transfer (1 = it opened a connection)."""
    scheme = "https" if is_tls(protocol) else "http"
    args = ["curl", "-sS", "-k", "--http1.1", "--max-time", "20", "-H", "Host: " + host,
            "-w", "%{http_code} %{num_connects}\\n"]
    if rate:
        args += ["--rate", rate]
    for path in paths:
        args += ["-o", "/dev/null", "%s://%s:%d%s" % (scheme, ip, port, path)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=30)
    numbers = [int(n) for n in out.stdout.split()]
    return list(zip(numbers[0::2], numbers[1::2]))


def h2_client(protocol, ip, port):
    """An HTTP/2 connection (h2 over TLS or h2c) driven by hyper-h2: curl 7.88 cannot reuse an
    h2c prior-knowledge connection, and nghttp cannot pace its requests."""
    sock = socket.create_connection((ip, port), timeout=5)
    if protocol == "h2-tls":
        ctx = ssl._create_unverified_context()
        ctx.set_alpn_protocols(["h2"])
        sock = ctx.wrap_socket(sock, server_hostname="plain.test")
    return H2Client(sock)


def h2_get(client, protocol, path, host="plain.test"):
    """One GET on the client's connection; its status once the response has ended."""
    scheme = "https" if is_tls(protocol) else "http"
    sid = client.request([(":method", "GET"), (":scheme", scheme), (":path", path), (":authority", host)],
                         end_stream=True)
    client.wait(lambda: sid in client.ended, "the response to " + path)
    return int(client.headers[sid][":status"])


class EntryPointHttpKeys(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = Backend("a", NET + ".2")
        cls.b = Backend("b", NET + ".3")
        cls.ip = NET + ".1"
        cls.web_port, cls.raw_port, cls.secure_port = free_port(cls.ip), free_port(cls.ip), free_port(cls.ip)
        cls.dir = make_temp_dir()
        routers = {}
        routers.update(pair("plain", "Host(`plain.test`)", "a"))
        routers.update(pair("sani-b", "Host(`sani.test`) && PathPrefix(`/b`)", "a"))
        routers.update(pair("sani-a", "Host(`sani.test`) && PathPrefix(`/a`)", "b"))
        routers.update(pair("semi", "Host(`semi.test`) && Query(`y`, `2`)", "a"))
        routers.update(pair("nodef", "Host(`nodef.test`)", "a", entry_points=None))
        routers["opt"] = router("Host(`opt.test`)", "a", entry_points=("secure",))
        routers["own"] = router("Host(`own.test`)", "a", entry_points=("secure",), tls={})
        dynamic = {"http": {"routers": routers, "services": {"a": service(cls.a.url), "b": service(cls.b.url)}},
                   "tls": {"options": {"modern": {"minVersion": "VersionTLS13"}}}}
        cls.dynamic_path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        web = {"address": "%s:%d" % (cls.ip, cls.web_port), "asDefault": True,
               "http": {"maxHeaderBytes": 2000}, "transport": {"keepAliveMaxRequests": 3}}
        raw = {"address": "%s:%d" % (cls.ip, cls.raw_port),
               "http": {"sanitizePath": False, "encodeQuerySemicolons": True},
               "transport": {"keepAliveMaxTime": "1s"}}
        secure = {"address": "%s:%d" % (cls.ip, cls.secure_port), "http": {"tls": {"options": "modern"}}}
        cls.portier = started(Portier(http_config({"web": web, "raw": raw, "secure": secure}, cls.dynamic_path,
                                                  workers=2)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.a.close()
        cls.b.close()

    def req(self, protocol, port, host, path="/", headers=None):
        h = {"Host": host}
        h.update(headers or {})
        return proto_request(protocol, "GET", self.ip, port, path, headers=h)

    def test_as_default_entry_point(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, self.web_port, "nodef.test")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["backend"], "a")
                # raw is not asDefault: a router without entryPoints is not there.
                self.assertEqual(self.req(protocol, self.raw_port, "nodef.test").status, 404)
                # Routers naming raw still serve there.
                self.assertEqual(self.req(protocol, self.raw_port, "plain.test").status, 200)

    def handshake(self, sni, version):
        """openssl s_client to `secure` with only `version` ("-tls1_2"): the protocol agreed, or None."""
        out = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (self.ip, self.secure_port),
                              "-servername", sni, version], input=b"", capture_output=True, timeout=20)
        text = out.stdout.decode(errors="replace")
        if out.returncode != 0 or "Cipher is (NONE)" in text:
            return None
        return "TLSv1.3" if "TLSv1.3" in text else "TLSv1.2"

    def test_tls_options(self):
        # A router without `tls` on `secure` gets the entrypoint's options: TLS 1.3 only.
        self.assertIsNone(self.handshake("opt.test", "-tls1_2"))
        self.assertEqual(self.handshake("opt.test", "-tls1_3"), "TLSv1.3")
        # A router with a `tls` of its own keeps it (no options: the default, TLS 1.2 allowed).
        self.assertEqual(self.handshake("own.test", "-tls1_2"), "TLSv1.2")

    def test_sanitize_path(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                # web (default true): cleaned before routing, and forwarded cleaned.
                r = self.req(protocol, self.web_port, "sani.test", "/a/../b//c/./d?k=v")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["backend"], "a")
                self.assertEqual(r.json()["target"], "/b/c/d?k=v")
                r = self.req(protocol, self.web_port, "sani.test", "/../../b/x/..")
                self.assertEqual(r.json()["target"], "/b")
                # Escaped unreserved characters are decoded first (Traefik's normalizePath), so
                # "%2e%2e" is a ".." segment; an escaped '/' stays one, with upper-case hex.
                r = self.req(protocol, self.web_port, "sani.test", "/a/%2e%2E/b/%7ex%2fy?k=%2e")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["backend"], "a")
                self.assertEqual(r.json()["target"], "/b/~x%2Fy?k=%2e")
                # A '%' without two hex digits: Go's "invalid URL escape", 400 on every entrypoint.
                for port in (self.web_port, self.raw_port):
                    self.assertEqual(self.req(protocol, port, "sani.test", "/b/100%zz").status, 400)
                # raw (false): the path routes and travels as sent.
                r = self.req(protocol, self.raw_port, "sani.test", "/a/../b//c/./d?k=v")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["backend"], "b")
                self.assertEqual(r.json()["target"], "/a/../b//c/./d?k=v")
                # Normalized there too (Traefik normalizes on every entrypoint), not cleaned.
                r = self.req(protocol, self.raw_port, "sani.test", "/a/%2e%2e/b%2f")
                self.assertEqual((r.status, r.json()["backend"]), (200, "b"), r)
                self.assertEqual(r.json()["target"], "/a/../b%2F")

    def test_query_semicolons(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                # Default: ';' separates parameters (Go's AllowQuerySemicolons): '&' for the
                # Query matcher and upstream.
                r = self.req(protocol, self.web_port, "semi.test", "/q?x=1;y=2")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["query"], "x=1&y=2")
                # encodeQuerySemicolons: "%3B", so y=2 is no parameter of its own.
                self.assertEqual(self.req(protocol, self.raw_port, "semi.test", "/q?x=1;y=2").status, 404)
                r = self.req(protocol, self.raw_port, "plain.test", "/q?x=1;y=2")
                self.assertEqual(r.json()["query"], "x=1%3By=2")

    def test_max_header_bytes(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                big = {"X-Big": "x" * 7000}
                self.assertEqual(self.req(protocol, self.web_port, "plain.test", headers=big).status, 431)
                r = self.req(protocol, self.web_port, "plain.test", headers={"X-Big": "x" * 1500})
                self.assertEqual(r.status, 200, r)
                # raw keeps portier's 64 KiB head limit.
                self.assertEqual(self.req(protocol, self.raw_port, "plain.test", headers=big).status, 200)

    def test_keep_alive_max_requests(self):
        for protocol in ("h1", "h1-tls"):
            with self.subTest(protocol):
                got = curl_sequence(protocol, self.ip, self.web_port, ["/1", "/2", "/3", "/4", "/5"], "plain.test")
                # The third response says Connection: close: the fourth request opens a new one.
                self.assertEqual(got, [(200, 1), (200, 0), (200, 0), (200, 1), (200, 0)])
        for protocol in ("h2-tls", "h2c"):
            with self.subTest(protocol):
                client = h2_client(protocol, self.ip, self.web_port)
                for i in (1, 2):
                    self.assertEqual(h2_get(client, protocol, "/%d" % i), 200)
                    self.assertIsNone(client.goaway)
                # The third stream is the last: a graceful GOAWAY, and its response still comes.
                self.assertEqual(h2_get(client, protocol, "/3"), 200)
                client.wait(lambda: client.goaway is not None, "GOAWAY")
                self.assertEqual(client.goaway.error_code, 0)
                client.sock.close()

    def test_keep_alive_max_time(self):
        for protocol in ("h1", "h1-tls"):
            with self.subTest(protocol):
                start = time.monotonic()
                got = curl_sequence(protocol, self.ip, self.raw_port, ["/%d" % i for i in range(8)], "plain.test",
                                    rate="4/s")
                self.assertGreaterEqual(time.monotonic() - start, 1.5)
                self.assertTrue(all(status == 200 for status, _ in got), got)
                connects = [n for _, n in got]
                # Requests within the first second share the connection; one that starts later is
                # its last, and the next transfer opens a new connection.
                self.assertEqual(connects[:3], [1, 0, 0], got)
                self.assertEqual(sum(connects), 2, got)
                self.assertEqual(connects[-1], 0, got)
        for protocol in ("h2-tls", "h2c"):
            with self.subTest(protocol):
                start = time.monotonic()
                client = h2_client(protocol, self.ip, self.raw_port)
                self.assertEqual(h2_get(client, protocol, "/first"), 200)
                self.assertIsNone(client.goaway)
                # Streams keep coming (paced by waiting up to 0.2 s for frames) until a GOAWAY.
                while client.goaway is None and time.monotonic() - start < 5:
                    self.assertEqual(h2_get(client, protocol, "/next"), 200)
                    client.pump(0.2)
                self.assertIsNotNone(client.goaway, "no GOAWAY within 5 s")
                self.assertGreaterEqual(time.monotonic() - start, 1.0)
                client.sock.close()


class RequestAcceptGraceTimeout(unittest.TestCase):
    def test_requests_served_after_sigterm_within_the_grace(self):
        backend = Backend("a", NET + ".5")
        self.addCleanup(backend.close)
        ip = NET + ".4"
        port = free_port(ip)
        d = make_temp_dir()
        dynamic = {"http": {"routers": pair("plain", "Host(`plain.test`)", "a", entry_points=("web",)),
                            "services": {"a": service(backend.url)}}}
        path = write_file_atomic(d / "dynamic.yml", dynamic)
        web = {"address": "%s:%d" % (ip, port),
               "transport": {"lifeCycle": {"requestAcceptGraceTimeout": "4s", "graceTimeOut": "1s"}}}
        portier = started(Portier(http_config({"web": web}, path, ping={"entryPoint": "web"})))
        self.addCleanup(portier.__exit__, None, None, None)
        self.assertEqual(proto_request("h1", "GET", ip, port, "/ping").status, 200)
        signalled = time.monotonic()
        portier.proc.terminate()
        # Shutdown has begun once ping answers terminatingStatusCode; new connections and
        # requests are still served until requestAcceptGraceTimeout has passed.
        wait_until(lambda: proto_request("h1", "GET", ip, port, "/ping").status == 503, timeout=3,
                   what="ping answering 503")
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = proto_request(protocol, "GET", ip, port, "/x", headers={"Host": "plain.test"})
                self.assertEqual(r.status, 200, r)
        self.assertLess(time.monotonic() - signalled, 4)
        self.assertEqual(portier.wait_exit(timeout=15), 0)
        self.assertGreaterEqual(time.monotonic() - signalled, 4)
        self.assertIn("waiting 4000 ms for incoming requests to cease", portier.logs())


if __name__ == "__main__":
    unittest.main()
