"""Malformed and oversized requests (SPEC 5, 11): rejected with the right status, the connection
closed, and nothing forwarded to the backend."""

import unittest

from portier_e2e import ProxyTest, router, service

NET = "127.0.28"


class BadRequests(ProxyTest, unittest.TestCase):
    IP = NET + ".1"
    BACKENDS = [("bad", NET + ".2")]

    @classmethod
    def dynamic(cls):
        return {"http": {
            "routers": {"bad": router("Host(`bad.test`)", "bad")},
            "services": {"bad": service(cls.b["bad"].url)},
        }}

    def rejected(self, request, status, path):
        """Sends raw bytes; expects `status`, a closed connection, and no request at the backend."""
        with self.raw(timeout=10) as c:
            try:
                c.send(request)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the proxy may stop reading early; its answer must still arrive
            r = c.read_response()
            self.assertIn(r.status, status if isinstance(status, tuple) else (status,), r)
            self.assertTrue(c.is_closed(), "connection left open after %d" % r.status)
        # Prove the proxy is alive and the backend path is clean.
        self.assertBackend(self.get("/probe-after" + path, host="bad.test"), "bad")
        self.assertNotIn(path, self.b["bad"].paths())

    def test_sanity_valid_request_passes(self):
        with self.raw() as c:
            c.send(b"POST /valid HTTP/1.1\r\nHost: bad.test\r\nContent-Length: 2\r\n\r\nok")
            self.assertEqual(c.read_response().json()["path"], "/valid")

    def test_content_length_and_transfer_encoding(self):
        self.rejected(b"POST /smuggle-cl-te HTTP/1.1\r\nHost: bad.test\r\nContent-Length: 5\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "/smuggle-cl-te")

    def test_transfer_encoding_and_content_length(self):
        self.rejected(b"POST /smuggle-te-cl HTTP/1.1\r\nHost: bad.test\r\nTransfer-Encoding: chunked\r\n"
                      b"Content-Length: 3\r\n\r\n0\r\n\r\n", 400, "/smuggle-te-cl")

    def test_duplicate_differing_content_length(self):
        self.rejected(b"POST /dup-cl HTTP/1.1\r\nHost: bad.test\r\nContent-Length: 5\r\n"
                      b"Content-Length: 6\r\n\r\nhello!", 400, "/dup-cl")

    def test_invalid_content_length(self):
        for value in (b"abc", b"-1", b"1 2", b"0x10"):
            self.rejected(b"POST /bad-cl HTTP/1.1\r\nHost: bad.test\r\nContent-Length: " + value +
                          b"\r\n\r\nhello", 400, "/bad-cl")

    def test_invalid_chunk_size(self):
        self.rejected(b"POST /bad-chunk HTTP/1.1\r\nHost: bad.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"zz\r\nhello\r\n0\r\n\r\n", 400, "/bad-chunk")

    def test_last_chunk_without_crlf_then_pipelined_request(self):
        # The next request must not reach the backend as a trailer section (or at all).
        self.rejected(b"POST /trailer-smuggle HTTP/1.1\r\nHost: bad.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"5\r\nhello\r\n0\r\nGET /smuggled HTTP/1.1\r\nHost: bad.test\r\n\r\n", 400, "/smuggled")

    def test_invalid_trailer_field(self):
        for trailer in (b"X-Bad\x01: v", b"no-colon", b"X-A : b", b": empty-name"):
            self.rejected(b"POST /bad-trailer HTTP/1.1\r\nHost: bad.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"5\r\nhello\r\n0\r\n" + trailer + b"\r\n\r\nGET /after-trailer HTTP/1.1\r\n"
                          b"Host: bad.test\r\n\r\n", 400, "/after-trailer")

    def test_valid_trailer_passes(self):
        with self.raw() as c:
            c.send(b"POST /good-trailer HTTP/1.1\r\nHost: bad.test\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"2\r\nok\r\n0\r\nX-Checksum: abc\r\n\r\n"
                   b"GET /after-good-trailer HTTP/1.1\r\nHost: bad.test\r\n\r\n")
            first, second = c.read_response(), c.read_response()
            self.assertEqual(first.json()["path"], "/good-trailer")
            self.assertEqual(second.json()["path"], "/after-good-trailer")

    def test_unknown_transfer_encoding(self):
        self.rejected(b"POST /bad-te HTTP/1.1\r\nHost: bad.test\r\nTransfer-Encoding: gzip\r\n\r\nxx",
                      (400, 501), "/bad-te")  # RFC 9112 6.3: chunked not last -> 400 (501 tolerated)

    def test_obs_fold(self):
        self.rejected(b"GET /fold HTTP/1.1\r\nHost: bad.test\r\nX-Folded: a\r\n  continued\r\n\r\n",
                      400, "/fold")

    def test_garbage_request_line(self):
        self.rejected(b"THIS IS NOT HTTP\r\n\r\n", 400, "/garbage")

    def test_space_before_colon(self):
        self.rejected(b"GET /space-colon HTTP/1.1\r\nHost: bad.test\r\nX-A : b\r\n\r\n", 400, "/space-colon")

    def test_header_too_large(self):
        self.rejected(b"GET /big-header HTTP/1.1\r\nHost: bad.test\r\nX-Big: " + b"a" * (128 * 1024) +
                      b"\r\n\r\n", 431, "/big-header")

    def test_too_many_headers(self):
        headers = b"".join(b"X-H-%d: v\r\n" % i for i in range(1000))
        self.rejected(b"GET /many-headers HTTP/1.1\r\nHost: bad.test\r\n" + headers + b"\r\n",
                      431, "/many-headers")

    def test_uri_too_long(self):
        path = b"/long-uri/" + b"a" * (64 * 1024)
        self.rejected(b"GET " + path + b" HTTP/1.1\r\nHost: bad.test\r\n\r\n", 414, "/long-uri/")
        self.assertFalse(any(p.startswith("/long-uri/") for p in self.b["bad"].paths()))


if __name__ == "__main__":
    unittest.main()
