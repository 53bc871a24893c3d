"""HTTP middlewares (SPEC 7): headers (HSTS and the security headers, custom headers),
redirectScheme, stripPrefix, addPrefix, chain order, buffering. One entrypoint serves TLS and
cleartext; the HTTPS side uses the default certificate. Every request-level assertion runs over
each of PROTOCOLS (HTTP/1.1 cleartext and TLS, h2 over TLS, h2c) as a subTest; the tests that
drive HTTP/1.1 framing byte by byte (pipelining, chunk sizes, 100-continue) use RawClient."""

import hashlib
import http.client
import re
import threading
import unittest

from portier_e2e import (PROTOCOLS, Backend, Portier, RawClient, big_body, free_port, http_config, is_tls,
                         make_temp_dir, proto_request, router, service, write_file_atomic, started, both_sides)

NET = "127.0.62"
MB = 1 << 20


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1))


class RssSampler:
    """Samples a process's VmRSS every 5 ms on a thread while active (a measurement, not a sync)."""

    def __init__(self, pid):
        self.pid = pid
        self.baseline = rss_kb(pid)
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kb(self.pid))
            self._stop.wait(0.005)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kb(self.pid))

    def growth_mb(self):
        return (self.peak - self.baseline) / 1024.0


class Middlewares(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = Backend("a", NET + ".2")
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        cls.dir = make_temp_dir()
        routers = {}
        routers.update(both_sides("hsts", "hsts.test", "a", ["hsts"]))
        routers.update(both_sides("force", "force.test", "a", ["force-sts"]))
        routers.update(both_sides("sec", "sec.test", "a", ["security"]))
        routers.update(both_sides("redir", "redir.test", "a", ["to-https"]))
        for name, host, mws in (
                ("frame", "frame.test", ["frame-custom"]), ("custom", "custom.test", ["custom"]),
                ("redir-port", "redirport.test", ["to-https-port"]), ("redir-temp", "redirtemp.test", ["to-https-temp"]),
                ("redir-regex", "regex.test", ["regex"]),
                ("strip", "strip.test", ["strip"]), ("add", "add.test", ["add"]), ("chain", "chain.test", ["strip-then-add"]),
                ("chain-rev", "chainrev.test", ["add-then-strip"]),
                ("listed", "listed.test", ["order-a", "order-b", "order-resp"]), ("limit", "limit.test", ["limit"]),
                ("resp-limit", "resplimit.test", ["resp-limit"]), ("resp-spill", "respspill.test", ["resp-spill"]),
                ("big", "big.test", ["spill"]), ("stream", "stream.test", []),
                ("hdr-redir", "hdrredir.test", ["security", "custom", "to-https"]),
                ("redir-hdr", "redirhdr.test", ["to-https", "security"])):
            routers.update(both_sides(name, host, "a", mws))
        middlewares = {
            "hsts": {"headers": {"stsSeconds": 31536000, "stsIncludeSubdomains": True, "stsPreload": True}},
            "force-sts": {"headers": {"stsSeconds": 600, "forceSTSHeader": True}},
            "security": {"headers": {"frameDeny": True, "contentTypeNosniff": True, "browserXssFilter": True,
                                     "referrerPolicy": "no-referrer", "contentSecurityPolicy": "default-src 'self'",
                                     "permissionsPolicy": "camera=()"}},
            "frame-custom": {"headers": {"frameDeny": True, "customFrameOptionsValue": "SAMEORIGIN"}},
            "custom": {"headers": {"customRequestHeaders": {"X-Added": "added", "X-Remove-Me": ""},
                                   "customResponseHeaders": {"X-Resp": "resp", "X-Backend": ""}}},
            "to-https": {"redirectScheme": {"scheme": "https", "permanent": True}},
            "to-https-port": {"redirectScheme": {"scheme": "https", "port": "8443", "permanent": True}},
            "to-https-temp": {"redirectScheme": {"scheme": "https"}},
            "strip": {"stripPrefix": {"prefixes": ["/api", "/other"]}},
            "add": {"addPrefix": {"prefix": "/v1"}},
            "regex": {"redirectRegex": {"regex": "^https?://regex\\.test/old/(.*)", "replacement": "https://new.test/${1}",
                                        "permanent": True}},
            "strip-then-add": {"chain": {"middlewares": ["strip", "add", "order-a", "order-b"]}},
            "add-then-strip": {"chain": {"middlewares": ["add", "strip"]}},
            "order-a": {"headers": {"customRequestHeaders": {"X-Order": "a", "X-Only-A": "a"},
                                    "customResponseHeaders": {"X-Resp-Order": "a", "X-Gone": ""}}},
            "order-b": {"headers": {"customRequestHeaders": {"X-Order": "b"},
                                    "customResponseHeaders": {"X-Resp-Order": "b", "X-Gone": "b",
                                                              "X-Only-B": "b"}}},
            "order-resp": {"headers": {"customResponseHeaders": {"X-Resp-Order": "c"}}},
            "limit": {"buffering": {"maxRequestBodyBytes": 1000}},
            "resp-limit": {"buffering": {"maxResponseBodyBytes": 100}},
            "resp-spill": {"buffering": {"maxResponseBodyBytes": 8 * MB, "memResponseBodyBytes": 64 * 1024}},
            "spill": {"buffering": {"maxRequestBodyBytes": 100 * MB, "memRequestBodyBytes": MB}},
        }
        dynamic = {"http": {"routers": routers, "middlewares": middlewares, "services": {"a": service(cls.a.url)}}}
        cls.dynamic_path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        cls.portier = started(Portier(http_config({"web": "%s:%d" % (cls.ip, cls.port)}, cls.dynamic_path)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.a.close()

    def req(self, protocol, host, path="/", method="GET", body=None, headers=None, chunked=False):
        h = {"Host": host}
        h.update(headers or {})
        return proto_request(protocol, method, self.ip, self.port, path, headers=h, body=body, chunked=chunked)

    def protocols(self):
        """(protocol, tls) for each of PROTOCOLS; use in `with self.subTest(protocol)`."""
        return [(p, is_tls(p)) for p in PROTOCOLS]

    def seen(self, response):
        """The request as the backend saw it."""
        self.assertEqual(response.status, 200, response)
        return response.json()

    # ---- headers: HSTS ----
    def test_hsts_on_https_only(self):
        for protocol, tls in self.protocols():
            with self.subTest(protocol):
                r = self.req(protocol, "hsts.test")
                self.assertEqual(r.status, 200, r)
                if tls:
                    self.assertEqual(r.headers.get("strict-transport-security"),
                                     "max-age=31536000; includeSubDomains; preload")
                else:
                    self.assertNotIn("strict-transport-security", r.headers)

    def test_force_sts_header_on_http_too(self):
        for protocol, _ in self.protocols():
            with self.subTest(protocol):
                r = self.req(protocol, "force.test")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.headers.get("strict-transport-security"), "max-age=600")

    def test_security_headers(self):
        for protocol, _ in self.protocols():
            with self.subTest(protocol):
                r = self.req(protocol, "sec.test")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.headers.get("x-frame-options"), "DENY")
                self.assertEqual(r.headers.get("x-content-type-options"), "nosniff")
                self.assertEqual(r.headers.get("x-xss-protection"), "1; mode=block")
                self.assertEqual(r.headers.get("referrer-policy"), "no-referrer")
                self.assertEqual(r.headers.get("content-security-policy"), "default-src 'self'")
                self.assertEqual(r.headers.get("permissions-policy"), "camera=()")
                self.assertNotIn("strict-transport-security", r.headers)

    def test_security_headers_replace_the_backends(self):
        for protocol, _ in self.protocols():
            with self.subTest(protocol):
                r = self.req(protocol, "sec.test", "/?set-header=X-Frame-Options:ALLOWALL")
                self.assertEqual([v for k, v in r.header_list if k.lower() == "x-frame-options"], ["DENY"])

    def test_custom_frame_options_value_wins_over_frame_deny(self):
        for protocol, _ in self.protocols():
            with self.subTest(protocol):
                self.assertEqual(self.req(protocol, "frame.test").headers.get("x-frame-options"), "SAMEORIGIN")

    # ---- headers: custom ----
    def test_custom_request_headers_set_and_removed(self):
        for protocol, _ in self.protocols():
            with self.subTest(protocol):
                r = self.req(protocol, "custom.test", headers={"X-Remove-Me": "secret", "X-Added": "from-client",
                                                               "X-Kept": "k"})
                seen = self.seen(r)["headers"]
                self.assertEqual(seen.get("x-added"), "added")
                self.assertNotIn("x-remove-me", seen)
                self.assertEqual(seen.get("x-kept"), "k")
                added = [v for k, v in r.json()["header_list"] if k.lower() == "x-added"]
                self.assertEqual(added, ["added"])  # replaced, not appended

    def test_custom_response_headers_set_and_removed(self):
        for protocol, _ in self.protocols():
            with self.subTest(protocol):
                r = self.req(protocol, "custom.test", "/?set-header=X-Resp:backend")
                self.assertEqual(r.status, 200, r)
                self.assertEqual([v for k, v in r.header_list if k.lower() == "x-resp"], ["resp"])
                self.assertNotIn("x-backend", r.headers)  # backend.py always sends it

    # ---- redirectScheme, redirectRegex ----
    def test_redirect_scheme_permanent_on_cleartext_only(self):
        for protocol, tls in self.protocols():
            with self.subTest(protocol):
                before = len(self.a.requests)
                r = self.req(protocol, "redir.test", "/p/q?x=1&y=a%20b")
                if tls:  # already there
                    self.assertEqual(r.status, 200, r)
                    self.assertEqual(r.json()["path"], "/p/q")
                    continue
                self.assertEqual(r.status, 301, r)
                self.assertEqual(r.headers["location"], "https://redir.test/p/q?x=1&y=a%20b")
                r = self.req(protocol, "redir.test:%d" % self.port, "/form", method="POST", body=b"a=b")
                self.assertEqual(r.status, 308, r)
                self.assertEqual(r.headers["location"], "https://redir.test/form")
                self.assertEqual(len(self.a.requests), before)  # answered by portier

    def test_redirect_scheme_port_and_temporary(self):
        for protocol, tls in self.protocols():
            if tls:
                continue
            with self.subTest(protocol):
                r = self.req(protocol, "redirport.test", "/a")
                self.assertEqual((r.status, r.headers.get("location")), (301, "https://redirport.test:8443/a"))
                r = self.req(protocol, "redirtemp.test", "/a")
                self.assertEqual((r.status, r.headers.get("location")), (302, "https://redirtemp.test/a"))
                r = self.req(protocol, "redirtemp.test", "/a", method="PUT", body=b"x")
                self.assertEqual(r.status, 307, r)

    def test_head_redirect_is_301(self):
        for protocol, tls in self.protocols():
            if tls:
                continue
            with self.subTest(protocol):
                r = self.req(protocol, "redir.test", "/h", method="HEAD")
                self.assertEqual((r.status, r.headers.get("location")), (301, "https://redir.test/h"))

    def test_redirect_regex(self):
        for protocol, tls in self.protocols():
            with self.subTest(protocol):
                before = len(self.a.requests)
                r = self.req(protocol, "regex.test", "/old/x/y?q=1")
                self.assertEqual((r.status, r.headers.get("location")), (301, "https://new.test/x/y?q=1"), r)
                self.assertEqual(len(self.a.requests), before)
                self.assertEqual(self.seen(self.req(protocol, "regex.test", "/new"))["path"], "/new")

    def test_headers_before_a_redirect_apply_to_it(self):
        # Traefik: a headers middleware wraps what follows, the redirect included.
        for protocol, tls in self.protocols():
            if tls:
                continue
            with self.subTest(protocol):
                r = self.req(protocol, "hdrredir.test", "/a")
                self.assertEqual(r.status, 301, r)
                self.assertEqual(r.headers.get("location"), "https://hdrredir.test/a")
                self.assertEqual(r.headers.get("x-frame-options"), "DENY")
                self.assertEqual(r.headers.get("x-resp"), "resp")
                # ... and a redirect listed first answers before the headers middleware runs
                r = self.req(protocol, "redirhdr.test", "/a")
                self.assertEqual(r.status, 301, r)
                self.assertNotIn("x-frame-options", r.headers)

    def test_redirect_keeps_the_connection(self):
        with RawClient(self.ip, self.port) as c:
            for _ in range(2):
                c.send(b"GET /k HTTP/1.1\r\nHost: redir.test\r\n\r\n")
                r = c.read_response()
                self.assertEqual(r.status, 301)
            self.assertFalse(c.is_closed(timeout=0.05))

    # ---- prefixes and chains ----
    def test_strip_prefix(self):
        for protocol, _ in self.protocols():
            with self.subTest(protocol):
                seen = self.seen(self.req(protocol, "strip.test", "/api/users?id=3"))
                self.assertEqual(seen["path"], "/users")
                self.assertEqual(seen["query"], "id=3")
                self.assertEqual(seen["headers"].get("x-forwarded-prefix"), "/api")
                seen = self.seen(self.req(protocol, "strip.test", "/other"))
                self.assertEqual(seen["path"], "/")
                self.assertEqual(seen["headers"].get("x-forwarded-prefix"), "/other")
                seen = self.seen(self.req(protocol, "strip.test", "/untouched/api"))
                self.assertEqual(seen["path"], "/untouched/api")
                self.assertNotIn("x-forwarded-prefix", seen["headers"])

    def test_add_prefix(self):
        for protocol, _ in self.protocols():
            with self.subTest(protocol):
                seen = self.seen(self.req(protocol, "add.test", "/users?id=3"))
                self.assertEqual((seen["path"], seen["query"]), ("/v1/users", "id=3"))

    def test_chain_runs_in_listed_order(self):
        for protocol, _ in self.protocols():
            with self.subTest(protocol):
                seen = self.seen(self.req(protocol, "chain.test", "/api/x"))
                self.assertEqual(seen["path"], "/v1/x")  # stripped, then prefixed
                self.assertEqual(seen["headers"].get("x-forwarded-prefix"), "/api")
                self.assertEqual(seen["headers"].get("x-order"), "b")  # b runs after a
                self.assertEqual(seen["headers"].get("x-only-a"), "a")
                seen = self.seen(self.req(protocol, "chainrev.test", "/api/x"))
                self.assertEqual(seen["path"], "/v1/api/x")  # prefixed first: /api no longer leads
                self.assertNotIn("x-forwarded-prefix", seen["headers"])

    def test_router_middlewares_in_listed_order(self):
        # Requests are edited in the listed order (b overrides a); responses on the way back,
        # so the first middleware has the last word (as in Traefik).
        for protocol, _ in self.protocols():
            with self.subTest(protocol):
                r = self.req(protocol, "listed.test", "/?set-header=X-Gone:backend")
                seen = self.seen(r)
                self.assertEqual(seen["headers"].get("x-order"), "b")
                self.assertEqual([v for k, v in r.header_list if k.lower() == "x-resp-order"], ["a"])
                self.assertNotIn("x-gone", r.headers)
                self.assertEqual(r.headers.get("x-only-b"), "b")

    # ---- buffering ----
    def test_request_over_limit_by_content_length_is_413(self):
        for protocol, _ in self.protocols():
            with self.subTest(protocol):
                before = len(self.a.requests)
                r = self.req(protocol, "limit.test", "/too-big", method="POST", body=b"x" * 1001)
                self.assertEqual(r.status, 413, r)
                r = self.req(protocol, "limit.test", "/fits", method="POST", body=b"y" * 1000)
                self.assertEqual(self.seen(r)["body_len"], 1000)
                self.assertEqual(self.a.paths()[before:], ["/fits"])

    def test_streamed_body_over_limit_is_413(self):
        # No length announced (HTTP/1.1 chunked, HTTP/2 DATA without content-length): the
        # limit holds on the size read. A large body: portier answers before reading it all.
        for protocol, _ in self.protocols():
            with self.subTest(protocol):
                before = len(self.a.requests)
                r = self.req(protocol, "limit.test", "/streamed-too-big", method="POST", body=b"x" * (200 * 1024),
                             chunked=True)
                self.assertEqual(r.status, 413, r)
                r = self.req(protocol, "limit.test", "/streamed-fits", method="POST", body=b"w" * 1000, chunked=True)
                seen = self.seen(r)
                self.assertEqual(seen["body_len"], 1000)
                self.assertEqual(seen["body_sha256"], hashlib.sha256(b"w" * 1000).hexdigest())
                self.assertEqual(self.a.paths()[before:], ["/streamed-fits"])

    def test_buffered_upload_spills_and_arrives_intact(self):
        body = hashlib.sha256(b"spill").digest() * (3 * MB // 32)  # 3 MB: beyond memRequestBodyBytes
        for protocol, _ in self.protocols():
            for chunked in (False, True):
                with self.subTest(protocol, chunked=chunked):
                    seen = self.seen(self.req(protocol, "big.test", "/upload", method="POST", body=body, chunked=chunked))
                    self.assertEqual(seen["body_len"], len(body))
                    self.assertEqual(seen["body_sha256"], hashlib.sha256(body).hexdigest())

    def test_chunked_request_over_limit_is_413(self):
        before = len(self.a.requests)
        with RawClient(self.ip, self.port) as c:
            c.send(b"POST /chunked-too-big HTTP/1.1\r\nHost: limit.test\r\nTransfer-Encoding: chunked\r\n\r\n")
            for _ in range(3):
                c.send(b"190\r\n" + b"z" * 400 + b"\r\n")
            try:
                c.send(b"0\r\n\r\n")
            except OSError:
                pass  # portier may already have answered and closed
            r = c.read_response()
            self.assertEqual(r.status, 413, r)
            self.assertTrue(c.is_closed())
        with RawClient(self.ip, self.port) as c:
            c.send(b"POST /chunked-fits HTTP/1.1\r\nHost: limit.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"1f4\r\n" + b"w" * 500 + b"\r\n1f4\r\n" + b"w" * 500 + b"\r\n0\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["body_len"], 1000)
            self.assertEqual(r.json()["body_sha256"], hashlib.sha256(b"w" * 1000).hexdigest())
        self.assertEqual(self.a.paths()[before:], ["/chunked-fits"])

    def test_expect_continue_over_limit_is_413_without_100(self):
        with RawClient(self.ip, self.port) as c:
            c.send(b"POST /expect HTTP/1.1\r\nHost: limit.test\r\nContent-Length: 5000\r\n"
                   b"Expect: 100-continue\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 413, r)  # not 100: the body is never asked for
        self.assertNotIn("/expect", self.a.paths())

    def test_buffered_body_then_pipelined_request(self):
        with RawClient(self.ip, self.port) as c:
            c.send(b"POST /first HTTP/1.1\r\nHost: limit.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"5\r\nhello\r\n0\r\n\r\n"
                   b"POST /second HTTP/1.1\r\nHost: limit.test\r\nContent-Length: 3\r\n\r\nabc"
                   b"GET /third HTTP/1.1\r\nHost: limit.test\r\n\r\n")
            seen = [c.read_response().json() for _ in range(3)]
        self.assertEqual([s["path"] for s in seen], ["/first", "/second", "/third"])
        self.assertEqual([s["body_len"] for s in seen], [5, 3, 0])
        self.assertEqual(seen[1]["body_sha256"], hashlib.sha256(b"abc").hexdigest())

    def test_response_over_limit_is_500(self):
        for protocol, _ in self.protocols():
            with self.subTest(protocol):
                r = self.req(protocol, "resplimit.test", "/" + "p" * 200)
                self.assertEqual(r.status, 500, r)
                r = self.req(protocol, "resplimit.test", "/big/50")  # 50 bytes: under the limit
                self.assertEqual(r.status, 200, r)

    def test_unsized_responses_over_limit_are_500_under_it_get_a_length(self):
        # Chunked (/big) and close-delimited (/close) bodies: read whole, then judged.
        for protocol, _ in self.protocols():
            for kind in ("big", "close"):
                with self.subTest(protocol, kind=kind):
                    r = self.req(protocol, "resplimit.test", "/%s/101" % kind)
                    self.assertEqual(r.status, 500, r)
                    r = self.req(protocol, "resplimit.test", "/%s/100" % kind)
                    self.assertEqual(r.status, 200, r)
                    self.assertEqual(r.body, big_body(100))
                    self.assertEqual(r.headers.get("content-length"), "100", r)
                    self.assertNotIn("transfer-encoding", r.headers, r)

    def test_buffered_response_keeps_the_connection(self):
        with RawClient(self.ip, self.port) as c:
            c.send(b"GET /close/60 HTTP/1.1\r\nHost: resplimit.test\r\n\r\n"
                   b"GET /big/70 HTTP/1.1\r\nHost: resplimit.test\r\n\r\n")
            first, second = c.read_response(), c.read_response()
        self.assertEqual((first.status, first.body), (200, big_body(60)))
        self.assertEqual((second.status, second.body), (200, big_body(70)))

    def test_large_buffered_response_spills_and_arrives_intact(self):
        size = 5 * MB
        for protocol, _ in self.protocols():
            with self.subTest(protocol):
                r = self.req(protocol, "respspill.test", "/big/%d" % size)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.headers.get("content-length"), str(size))
                self.assertEqual(hashlib.sha256(r.body).hexdigest(), hashlib.sha256(big_body(size)).hexdigest())
                self.assertEqual(self.req(protocol, "respspill.test", "/big/%d" % (8 * MB + 1)).status, 500)

    def upload(self, host, size, chunked=False):
        """POSTs `size` deterministic bytes in 256 KiB pieces; returns (response, sha256)."""
        piece = hashlib.sha256(host.encode()).digest() * (8192)  # 256 KiB
        digest = hashlib.sha256()
        conn = http.client.HTTPConnection(self.ip, self.port, timeout=60)

        def body():
            sent = 0
            while sent < size:
                chunk = piece[:min(len(piece), size - sent)]
                digest.update(chunk)
                sent += len(chunk)
                yield chunk
        try:
            headers = {"Host": host}
            if chunked:
                conn.request("POST", "/upload", body=body(), headers=headers, encode_chunked=True)
            else:
                headers["Content-Length"] = str(size)
                conn.request("POST", "/upload", body=body(), headers=headers)
            r = conn.getresponse()
            return r.status, r.read(), digest.hexdigest()
        finally:
            conn.close()

    def check_upload(self, host, chunked=False, size=50 * MB):
        import json
        with RssSampler(self.portier.proc.pid) as rss:
            status, body, digest = self.upload(host, size, chunked)
        self.assertEqual(status, 200, body[:300])
        seen = json.loads(body)
        self.assertEqual(seen["body_len"], size)
        self.assertEqual(seen["body_sha256"], digest)
        print("\n[rss] %s %d MB%s: portier VmRSS %d kB -> peak %d kB (+%.1f MB)"
              % (host, size // MB, " chunked" if chunked else "", rss.baseline, rss.peak, rss.growth_mb()),
              flush=True)
        self.assertLess(rss.growth_mb(), 40, "portier RSS grew by %.1f MB" % rss.growth_mb())

    def test_large_upload_spills_to_disk_with_bounded_memory(self):
        self.check_upload("big.test")

    def test_large_chunked_upload_with_buffering(self):
        self.check_upload("big.test", chunked=True, size=20 * MB)

    def test_large_streamed_upload_without_buffering(self):
        self.check_upload("stream.test")


class EntryPointMiddlewares(unittest.TestCase):
    """entryPoints.NAME.http.middlewares (Traefik): applied on every router of the entrypoint,
    before the router's own; a name without @provider resolves in the router's provider. The
    same routers on an entrypoint without middlewares are untouched."""

    @classmethod
    def setUpClass(cls):
        cls.a = Backend("ep", NET + ".4")
        cls.ip = NET + ".1"
        cls.port, cls.other = free_port(cls.ip), free_port(cls.ip)
        eps = ("web", "other")
        routers = {
            "bare": router("Host(`bare.test`)", "a", entry_points=eps),
            "bare-tls": router("Host(`bare.test`)", "a", entry_points=eps, tls={}),
            "own": router("Host(`own.test`)", "a", entry_points=eps, middlewares=["router-order"]),
            "own-tls": router("Host(`own.test`)", "a", entry_points=eps, middlewares=["router-order"], tls={}),
        }
        middlewares = {
            "ep-order": {"headers": {"customRequestHeaders": {"X-Order": "entry"},
                                     "customResponseHeaders": {"X-Resp-Order": "entry"}}},
            "ep-qualified": {"headers": {"customResponseHeaders": {"X-Ep-Qualified": "yes"}}},
            "router-order": {"headers": {"customRequestHeaders": {"X-Order": "router"},
                                         "customResponseHeaders": {"X-Resp-Order": "router"}}},
        }
        dynamic = {"http": {"routers": routers, "middlewares": middlewares, "services": {"a": service(cls.a.url)}}}
        path = write_file_atomic(make_temp_dir() / "dynamic.yml", dynamic)
        cls.portier = started(Portier(http_config({
            "web": {"address": "%s:%d" % (cls.ip, cls.port),
                    "http": {"middlewares": ["ep-order", "ep-qualified@file"]}},
            "other": "%s:%d" % (cls.ip, cls.other)}, path)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.a.close()

    def req(self, protocol, host, port=None):
        r = proto_request(protocol, "GET", self.ip, port or self.port, "/", headers={"Host": host})
        self.assertEqual(r.status, 200, r)
        return r

    def test_applied_to_a_router_without_middlewares(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "bare.test")
                self.assertEqual(r.json()["headers"].get("x-order"), "entry")
                self.assertEqual(r.headers.get("x-resp-order"), "entry")
                self.assertEqual(r.headers.get("x-ep-qualified"), "yes")

    def test_applied_before_the_routers_own(self):
        # Requests: the router's runs last and wins; responses: the first middleware (the
        # entrypoint's) has the last word.
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "own.test")
                self.assertEqual(r.json()["headers"].get("x-order"), "router")
                self.assertEqual(r.headers.get("x-resp-order"), "entry")
                self.assertEqual(r.headers.get("x-ep-qualified"), "yes")

    def test_not_applied_on_another_entrypoint(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "bare.test", port=self.other)
                self.assertNotIn("x-order", r.json()["headers"])
                self.assertNotIn("x-ep-qualified", r.headers)
                r = self.req(protocol, "own.test", port=self.other)
                self.assertEqual(r.json()["headers"].get("x-order"), "router")
                self.assertEqual(r.headers.get("x-resp-order"), "router")


class RetryOfReplayableRequests(unittest.TestCase):
    """A pooled upstream connection the server closed meanwhile: a request without body or
    with a buffered one is retried once on a fresh connection, over every protocol. One
    worker, so that every client connection draws from the same upstream pool."""

    @classmethod
    def setUpClass(cls):
        cls.a = Backend("retry", NET + ".3")
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        routers = {}
        routers.update(both_sides("buffered", "buffered.test", "a", ["buffer"]))
        routers.update(both_sides("plain", "plain.test", "a", []))
        dynamic = {"http": {"routers": routers, "middlewares": {"buffer": {"buffering": {}}},
                            "services": {"a": service(cls.a.url)}}}
        path = write_file_atomic(make_temp_dir() / "dynamic.yml", dynamic)
        cls.portier = started(Portier(http_config({"web": "%s:%d" % (cls.ip, cls.port)}, path, workers=1)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.a.close()

    def test_retried_after_the_server_closed_the_pooled_connection(self):
        for protocol in PROTOCOLS:
            for host, method, body in (("buffered.test", "POST", b"abc"), ("plain.test", "GET", None)):
                with self.subTest(protocol, host=host):
                    first = proto_request(protocol, "GET", self.ip, self.port, "/then-close", headers={"Host": host})
                    self.assertEqual(first.status, 200, first)
                    before = len(self.a.requests)
                    r = proto_request(protocol, method, self.ip, self.port, "/after", headers={"Host": host}, body=body)
                    self.assertEqual(r.status, 200, r)
                    self.assertEqual(r.json()["body_len"], len(body or b""))
                    self.assertEqual(self.a.paths()[before:], ["/after"])


if __name__ == "__main__":
    unittest.main()
