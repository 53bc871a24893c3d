"""HTTP middlewares (SPEC 7): headers (HSTS and the security headers, custom headers),
redirectScheme, stripPrefix, addPrefix, chain order, buffering. One entrypoint serves TLS and
cleartext; the HTTPS side uses the default certificate."""

import hashlib
import http.client
import re
import subprocess
import threading
import unittest

from portier_e2e import (Backend, Portier, RawClient, big_body, free_port, http_config, http_request, make_temp_dir, router,
                         service, write_file_atomic, started)

NET = "127.0.62"
MB = 1 << 20


def both_sides(name, rule, svc, middlewares):
    """A router for the cleartext side and one for the TLS side, same rule and middlewares."""
    return {name: router(rule, svc, middlewares=middlewares),
            name + "-tls": router(rule, svc, middlewares=middlewares, tls={})}


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
        routers.update(both_sides("hsts", "Host(`hsts.test`)", "a", ["hsts"]))
        routers.update(both_sides("force", "Host(`force.test`)", "a", ["force-sts"]))
        routers.update(both_sides("sec", "Host(`sec.test`)", "a", ["security"]))
        routers.update(both_sides("redir", "Host(`redir.test`)", "a", ["to-https"]))
        routers.update({
            "frame": router("Host(`frame.test`)", "a", middlewares=["frame-custom"]),
            "custom": router("Host(`custom.test`)", "a", middlewares=["custom"]),
            "redir-port": router("Host(`redirport.test`)", "a", middlewares=["to-https-port"]),
            "redir-temp": router("Host(`redirtemp.test`)", "a", middlewares=["to-https-temp"]),
            "strip": router("Host(`strip.test`)", "a", middlewares=["strip"]),
            "add": router("Host(`add.test`)", "a", middlewares=["add"]),
            "chain": router("Host(`chain.test`)", "a", middlewares=["strip-then-add"]),
            "chain-rev": router("Host(`chainrev.test`)", "a", middlewares=["add-then-strip"]),
            "listed": router("Host(`listed.test`)", "a", middlewares=["order-a", "order-b", "order-resp"]),
            "limit": router("Host(`limit.test`)", "a", middlewares=["limit"]),
            "limit-tls": router("Host(`limit.test`)", "a", middlewares=["limit"], tls={}),
            "resp-limit": router("Host(`resplimit.test`)", "a", middlewares=["resp-limit"]),
            "resp-spill": router("Host(`respspill.test`)", "a", middlewares=["resp-spill"]),
            "big": router("Host(`big.test`)", "a", middlewares=["spill"]),
            "stream": router("Host(`stream.test`)", "a"),
            "hdr-redir": router("Host(`hdrredir.test`)", "a", middlewares=["security", "custom", "to-https"]),
            "redir-hdr": router("Host(`redirhdr.test`)", "a", middlewares=["to-https", "security"]),
        })
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

    def http(self, host, path="/", method="GET", body=None, headers=None):
        h = {"Host": host}
        h.update(headers or {})
        return http_request(method, "http://%s:%d%s" % (self.ip, self.port, path), headers=h, body=body)

    def https(self, host, path="/", method="GET", body=None, headers=None):
        h = {"Host": host}
        h.update(headers or {})
        return http_request(method, "https://%s:%d%s" % (self.ip, self.port, path), headers=h, body=body)

    def seen(self, response):
        """The request as the backend saw it."""
        self.assertEqual(response.status, 200, response)
        return response.json()

    # ---- headers: HSTS ----
    def test_hsts_on_https_only(self):
        r = self.https("hsts.test")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("strict-transport-security"), "max-age=31536000; includeSubDomains; preload")
        r = self.http("hsts.test")
        self.assertEqual(r.status, 200, r)
        self.assertNotIn("strict-transport-security", r.headers)

    def test_force_sts_header_on_http_too(self):
        for r in (self.http("force.test"), self.https("force.test")):
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.headers.get("strict-transport-security"), "max-age=600")

    def test_security_headers(self):
        for r in (self.http("sec.test"), self.https("sec.test")):
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.headers.get("x-frame-options"), "DENY")
            self.assertEqual(r.headers.get("x-content-type-options"), "nosniff")
            self.assertEqual(r.headers.get("x-xss-protection"), "1; mode=block")
            self.assertEqual(r.headers.get("referrer-policy"), "no-referrer")
            self.assertEqual(r.headers.get("content-security-policy"), "default-src 'self'")
            self.assertEqual(r.headers.get("permissions-policy"), "camera=()")
            self.assertNotIn("strict-transport-security", r.headers)

    def test_security_headers_replace_the_backends(self):
        r = self.http("sec.test", "/?set-header=X-Frame-Options:ALLOWALL")
        self.assertEqual([v for k, v in r.header_list if k.lower() == "x-frame-options"], ["DENY"])

    def test_custom_frame_options_value_wins_over_frame_deny(self):
        self.assertEqual(self.http("frame.test").headers.get("x-frame-options"), "SAMEORIGIN")

    # ---- headers: custom ----
    def test_custom_request_headers_set_and_removed(self):
        r = self.http("custom.test", headers={"X-Remove-Me": "secret", "X-Added": "from-client", "X-Kept": "k"})
        seen = self.seen(r)["headers"]
        self.assertEqual(seen.get("x-added"), "added")
        self.assertNotIn("x-remove-me", seen)
        self.assertEqual(seen.get("x-kept"), "k")
        added = [v for k, v in r.json()["header_list"] if k.lower() == "x-added"]
        self.assertEqual(added, ["added"])  # replaced, not appended

    def test_custom_response_headers_set_and_removed(self):
        r = self.http("custom.test", "/?set-header=X-Resp:backend")
        self.assertEqual(r.status, 200, r)
        self.assertEqual([v for k, v in r.header_list if k.lower() == "x-resp"], ["resp"])
        self.assertNotIn("x-backend", r.headers)  # backend.py always sends it

    # ---- redirectScheme ----
    def test_redirect_scheme_permanent(self):
        before = len(self.a.requests)
        r = self.http("redir.test", "/p/q?x=1&y=a%20b")
        self.assertEqual(r.status, 301, r)
        self.assertEqual(r.headers["location"], "https://redir.test/p/q?x=1&y=a%20b")
        r = self.http("redir.test:%d" % self.port, "/form", method="POST", body=b"a=b")
        self.assertEqual(r.status, 308, r)
        self.assertEqual(r.headers["location"], "https://redir.test/form")
        self.assertEqual(len(self.a.requests), before)  # answered by portier

    def test_redirect_scheme_not_applied_on_https(self):
        r = self.https("redir.test", "/p")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["path"], "/p")

    def test_redirect_scheme_port_and_temporary(self):
        r = self.http("redirport.test", "/a")
        self.assertEqual((r.status, r.headers.get("location")), (301, "https://redirport.test:8443/a"))
        r = self.http("redirtemp.test", "/a")
        self.assertEqual((r.status, r.headers.get("location")), (302, "https://redirtemp.test/a"))
        r = self.http("redirtemp.test", "/a", method="PUT", body=b"x")
        self.assertEqual(r.status, 307, r)

    def test_head_redirect_is_301(self):
        r = self.http("redir.test", "/h", method="HEAD")
        self.assertEqual((r.status, r.headers.get("location")), (301, "https://redir.test/h"))

    def test_headers_before_a_redirect_apply_to_it(self):
        # Traefik: a headers middleware wraps what follows, the redirect included.
        r = self.http("hdrredir.test", "/a")
        self.assertEqual(r.status, 301, r)
        self.assertEqual(r.headers.get("location"), "https://hdrredir.test/a")
        self.assertEqual(r.headers.get("x-frame-options"), "DENY")
        self.assertEqual(r.headers.get("x-resp"), "resp")
        # ... and a redirect listed first answers before the headers middleware runs
        r = self.http("redirhdr.test", "/a")
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
        seen = self.seen(self.http("strip.test", "/api/users?id=3"))
        self.assertEqual(seen["path"], "/users")
        self.assertEqual(seen["query"], "id=3")
        self.assertEqual(seen["headers"].get("x-forwarded-prefix"), "/api")
        seen = self.seen(self.http("strip.test", "/other"))
        self.assertEqual(seen["path"], "/")
        self.assertEqual(seen["headers"].get("x-forwarded-prefix"), "/other")
        seen = self.seen(self.http("strip.test", "/untouched/api"))
        self.assertEqual(seen["path"], "/untouched/api")
        self.assertNotIn("x-forwarded-prefix", seen["headers"])

    def test_add_prefix(self):
        seen = self.seen(self.http("add.test", "/users?id=3"))
        self.assertEqual((seen["path"], seen["query"]), ("/v1/users", "id=3"))

    def test_chain_runs_in_listed_order(self):
        seen = self.seen(self.http("chain.test", "/api/x"))
        self.assertEqual(seen["path"], "/v1/x")  # stripped, then prefixed
        self.assertEqual(seen["headers"].get("x-forwarded-prefix"), "/api")
        self.assertEqual(seen["headers"].get("x-order"), "b")  # b runs after a
        self.assertEqual(seen["headers"].get("x-only-a"), "a")
        seen = self.seen(self.http("chainrev.test", "/api/x"))
        self.assertEqual(seen["path"], "/v1/api/x")  # prefixed first: /api no longer leads
        self.assertNotIn("x-forwarded-prefix", seen["headers"])

    def test_router_middlewares_in_listed_order(self):
        # Requests are edited in the listed order (b overrides a); responses on the way back,
        # so the first middleware has the last word (as in Traefik).
        r = self.http("listed.test", "/?set-header=X-Gone:backend")
        seen = self.seen(r)
        self.assertEqual(seen["headers"].get("x-order"), "b")
        self.assertEqual([v for k, v in r.header_list if k.lower() == "x-resp-order"], ["a"])
        self.assertNotIn("x-gone", r.headers)
        self.assertEqual(r.headers.get("x-only-b"), "b")

    # ---- buffering ----
    def test_request_over_limit_by_content_length_is_413(self):
        before = len(self.a.requests)
        r = self.http("limit.test", "/too-big", method="POST", body=b"x" * 1001)
        self.assertEqual(r.status, 413, r)
        r = self.http("limit.test", "/fits", method="POST", body=b"y" * 1000)
        self.assertEqual(self.seen(r)["body_len"], 1000)
        self.assertEqual(self.a.paths()[before:], ["/fits"])

    def test_body_over_limit_via_https_gets_the_413(self):
        # http.client sends the whole body before it reads: portier discards what follows the
        # 413 (up to 256 KiB, as Go's server does) instead of resetting the connection.
        before = len(self.a.requests)
        r = self.https("limit.test", "/tls-too-big", method="POST", body=b"x" * (200 * 1024))
        self.assertEqual(r.status, 413, r)
        r = self.https("limit.test", "/tls-chunked-too-big", method="POST", body=iter([b"x" * 50000] * 4))
        self.assertEqual(r.status, 413, r)
        self.assertEqual(len(self.a.requests), before)

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
        r = self.http("resplimit.test", "/" + "p" * 200)
        self.assertEqual(r.status, 500, r)
        r = self.http("resplimit.test", "/big/50")  # 50 bytes: under the limit
        self.assertEqual(r.status, 200, r)

    def test_unsized_responses_over_limit_are_500_under_it_get_a_length(self):
        # Chunked (/big) and close-delimited (/close) bodies: read whole, then judged.
        for kind in ("big", "close"):
            r = self.http("resplimit.test", "/%s/101" % kind)
            self.assertEqual(r.status, 500, (kind, r))
            r = self.http("resplimit.test", "/%s/100" % kind)
            self.assertEqual(r.status, 200, (kind, r))
            self.assertEqual(r.body, big_body(100), kind)
            self.assertEqual(r.headers.get("content-length"), "100", (kind, r))
            self.assertNotIn("transfer-encoding", r.headers, (kind, r))

    def test_buffered_response_keeps_the_connection(self):
        with RawClient(self.ip, self.port) as c:
            c.send(b"GET /close/60 HTTP/1.1\r\nHost: resplimit.test\r\n\r\n"
                   b"GET /big/70 HTTP/1.1\r\nHost: resplimit.test\r\n\r\n")
            first, second = c.read_response(), c.read_response()
        self.assertEqual((first.status, first.body), (200, big_body(60)))
        self.assertEqual((second.status, second.body), (200, big_body(70)))

    def test_large_buffered_response_spills_and_arrives_intact(self):
        size = 5 * MB
        r = self.http("respspill.test", "/big/%d" % size)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("content-length"), str(size))
        self.assertEqual(hashlib.sha256(r.body).hexdigest(), hashlib.sha256(big_body(size)).hexdigest())
        self.assertEqual(self.http("respspill.test", "/big/%d" % (8 * MB + 1)).status, 500)

    def h2(self, host, path):
        """curl with h2c prior knowledge: (status, http version, body)."""
        out = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-H", "Host: " + host, "-o", "-",
                              "-w", "\n%{http_code} %{http_version}", "http://%s:%d%s" % (self.ip, self.port, path)],
                             capture_output=True, timeout=30)
        body, _, tail = out.stdout.rpartition(b"\n")
        code, version = tail.decode().split()
        return int(code), version, body

    def test_response_limits_over_http2(self):
        for path in ("/" + "p" * 200, "/big/101", "/close/101"):
            code, version, _ = self.h2("resplimit.test", path)
            self.assertEqual((code, version), (500, "2"), path)
        for path in ("/big/100", "/close/99"):
            code, version, body = self.h2("resplimit.test", path)
            self.assertEqual((code, version), (200, "2"), path)
            self.assertEqual(body, big_body(int(path.split("/")[2])), path)
        code, _, body = self.h2("respspill.test", "/big/%d" % (3 * MB))
        self.assertEqual(code, 200)
        self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(big_body(3 * MB)).hexdigest())

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


if __name__ == "__main__":
    unittest.main()
