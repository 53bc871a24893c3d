"""The contentType middleware (issue 16 item 6): a response without a Content-Type field gets
the type Go's DetectContentType gives its first bytes, whatever the upstream framing (length,
chunked, close-delimited, the payload arriving after the head); a typed, an empty or an
empty-typed response is left alone; without the middleware, or with `autoDetect: false`, no
type is added (Traefik v3's default). Every assertion runs over each of PROTOCOLS."""

import socket
import socketserver
import threading
import time
import unittest

from portier_e2e import (PROTOCOLS, Portier, both_sides, check_compose, free_port, http_config, make_temp_dir,
                         proto_request, service, started, write_file_atomic)

NET = "127.0.116"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
HTML = b"<!DOCTYPE html><html><body>hi</body></html>"


class _Origin(socketserver.StreamRequestHandler):
    """Answers by path, with no Content-Type unless the path says so."""

    def handle(self):
        while True:
            line = self.rfile.readline()
            if not line:
                return
            path = line.split()[1].decode()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            if not self.answer(path):
                return

    def answer(self, path):
        w = self.wfile.write
        if path == "/png":
            w(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(PNG) + PNG)
        elif path == "/html-chunked":
            w(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(HTML), HTML))
        elif path == "/html-late":  # the head, then the payload a moment later
            w(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            self.wfile.flush()
            time.sleep(0.2)
            w(b"%x\r\n%s\r\n0\r\n\r\n" % (len(HTML), HTML))
        elif path == "/text-close":
            w(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nplain words\n")
            return False
        elif path == "/typed":
            w(b"HTTP/1.1 200 OK\r\nContent-Type: text/x-custom\r\nContent-Length: 6\r\n\r\n<html>")
        elif path == "/empty-type":
            w(b"HTTP/1.1 200 OK\r\nContent-Type:\r\nContent-Length: 6\r\n\r\n<html>")
        else:  # /empty
            w(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        self.wfile.flush()
        return True


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class ContentType(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        cls.origin = _Server((NET + ".2", 0), _Origin)
        threading.Thread(target=cls.origin.serve_forever, daemon=True).start()
        url = "http://%s:%d" % cls.origin.server_address
        routers = {}
        for name, host, mws in (("detect", "detect.test", ["detect"]), ("plain", "plain.test", []),
                                ("off", "off.test", ["off"])):
            routers.update(both_sides(name, host, "origin", mws))
        dynamic = {"http": {"routers": routers, "services": {"origin": service(url)},
                            "middlewares": {"detect": {"contentType": {}},
                                            "off": {"contentType": {"autoDetect": False}}}}}
        path = write_file_atomic(make_temp_dir() / "dynamic.yml", dynamic)
        cls.portier = started(Portier(http_config({"web": "%s:%d" % (cls.ip, cls.port)}, path)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.origin.shutdown()
        cls.origin.server_close()

    def get(self, protocol, host, path):
        return proto_request(protocol, "GET", self.ip, self.port, path, headers={"Host": host})

    def test_detected_types(self):
        cases = (("/png", "image/png", PNG), ("/html-chunked", "text/html; charset=utf-8", HTML),
                 ("/html-late", "text/html; charset=utf-8", HTML),
                 ("/text-close", "text/plain; charset=utf-8", b"plain words\n"))
        for protocol in PROTOCOLS:
            for path, expected, body in cases:
                with self.subTest(protocol=protocol, path=path):
                    r = self.get(protocol, "detect.test", path)
                    self.assertEqual((r.status, r.body), (200, body))
                    self.assertEqual(r.headers.get("content-type"), expected)

    def test_left_alone(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.get(protocol, "detect.test", "/typed")
                self.assertEqual(r.headers.get("content-type"), "text/x-custom")
                r = self.get(protocol, "detect.test", "/empty-type")
                self.assertEqual(r.headers.get("content-type"), "")
                r = self.get(protocol, "detect.test", "/empty")
                self.assertNotIn("content-type", r.headers)

    def test_off_without_the_middleware(self):
        for protocol in PROTOCOLS:
            for host in ("plain.test", "off.test"):
                with self.subTest(protocol=protocol, host=host):
                    r = self.get(protocol, host, "/png")
                    self.assertEqual(r.body, PNG)
                    self.assertNotIn("content-type", r.headers)

    def test_label_form(self):
        code, doc = check_compose(NET + ".9", "name: ct\nservices:\n  web:\n    image: test/busybox:1\n"
                                  "    network_mode: host\n    labels:\n      - traefik.enable=true\n"
                                  "      - traefik.http.routers.web.rule=Host(`web.example.test`)\n"
                                  "      - traefik.http.routers.web.middlewares=sniff\n"
                                  "      - traefik.http.services.web.loadbalancer.server.port=8080\n"
                                  "      - traefik.http.middlewares.sniff.contenttype.autodetect=true\n")
        self.assertEqual(code, 0, doc)
        self.assertIn("contentType", doc["http"]["middlewares"]["sniff@docker"])

if __name__ == "__main__":
    unittest.main(verbosity=2)
