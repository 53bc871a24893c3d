"""grpcWeb (issue 16): gRPC-Web from a browser-like client, translated by portier to gRPC over
h2c to a real gRPC server (Debian python3-grpcio, the service defined without codegen). The
client builds the length-prefixed frames by hand and speaks HTTP/1.1, HTTP/1.1 over TLS, h2 and
h2c: binary and -text bodies (the latter base64 both ways, sent chunked), unary and
server-streaming calls, a failing call's grpc-status/grpc-message (trailers-only and in the
trailer frame), CORS preflights for an allowed and a refused origin, requests that are not
gRPC-Web through the same middleware unchanged (native gRPC included), and a gRPC-Web request
to a server that is not h2c (502). The label and file forms go through `portier check`."""

import base64
import json
import struct
import unittest
from concurrent import futures

import grpc

from portier_e2e import (PROTOCOLS, Backend, Portier, both_sides, check_compose, free_port, http_config,
                         make_temp_dir, proto_request, run_cli, service, started, write_file_atomic)

NET = "127.0.125"
ORIGIN = "https://app.example"


def ident(data):
    return data


def say(request, context):
    context.send_initial_metadata((("x-echo-head", "yes"),))
    context.set_trailing_metadata((("x-echo-tail", "done"),))
    return b"echo:" + request


def fail(request, context):
    context.abort(grpc.StatusCode.INVALID_ARGUMENT, "bad thing")


def count(request, context):
    for i in range(int(request.decode())):
        yield b"n%d" % i


def fail_late(request, context):
    yield b"partial"
    context.abort(grpc.StatusCode.UNAVAILABLE, "gone away")


def grpc_server(address):
    handlers = {
        "Say": grpc.unary_unary_rpc_method_handler(say, request_deserializer=ident, response_serializer=ident),
        "Fail": grpc.unary_unary_rpc_method_handler(fail, request_deserializer=ident, response_serializer=ident),
        "Count": grpc.unary_stream_rpc_method_handler(count, request_deserializer=ident,
                                                      response_serializer=ident),
        "FailLate": grpc.unary_stream_rpc_method_handler(fail_late, request_deserializer=ident,
                                                         response_serializer=ident),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("echo.Echo", handlers),))
    if server.add_insecure_port(address) == 0:
        raise RuntimeError("gRPC server could not bind " + address)
    server.start()
    return server


def frame(message):
    return b"\x00" + struct.pack(">I", len(message)) + message


def frames(body):
    """[(flag, payload)] of a gRPC-Web body; the trailer frame's payload as a dict."""
    out = []
    while body:
        flag, length = body[0], struct.unpack(">I", body[1:5])[0]
        payload, body = body[5:5 + length], body[5 + length:]
        if len(payload) != length:
            raise AssertionError("truncated frame")
        if flag & 0x80:
            lines = [line for line in payload.decode().split("\r\n") if line]
            payload = dict(line.split(": ", 1) for line in lines)
        out.append((flag, payload))
    return out


def unbase64(text):
    """A grpc-web-text body: padded base64 parts one after the other."""
    if len(text) % 4:
        raise AssertionError("not whole base64 groups: %r" % text)
    return b"".join(base64.b64decode(text[i:i + 4]) for i in range(0, len(text), 4))


def values(response, name):
    return [v for k, v in response.header_list if k.lower() == name]


class GrpcWeb(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.grpc_address = "%s.2:%d" % (NET, free_port(NET + ".2"))
        cls.grpc = grpc_server(cls.grpc_address)
        cls.plain = Backend("plain", NET + ".3")
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        cls.dir = make_temp_dir()
        routers = dict(both_sides("grpc", "grpc.test", "grpc", ["gw"]))
        routers.update(both_sides("plain", "plain.test", "plain", ["gw"]))
        dynamic = {"http": {
            "routers": routers,
            "middlewares": {"gw": {"grpcWeb": {"allowOrigins": [ORIGIN, "http://other.example:8080"]}}},
            "services": {"grpc": service("h2c://" + cls.grpc_address), "plain": service(cls.plain.url)}}}
        path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        cls.portier = started(Portier(http_config({"web": "%s:%d" % (cls.ip, cls.port)}, path, workers=2)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.plain.close()
        cls.grpc.stop(None)

    def call(self, protocol, method, message, text=False, host="grpc.test", origin=ORIGIN):
        """A gRPC-Web call: (response, its frames). -text bodies go chunked (HTTP/1.1 chunked
        encoding, h2 DATA without content-length)."""
        content_type = "application/grpc-web-text" if text else "application/grpc-web+proto"
        body = frame(message)
        headers = {"Host": host, "Content-Type": content_type, "X-Grpc-Web": "1", "X-User-Agent": "grpc-web-e2e"}
        if origin:
            headers["Origin"] = origin
        r = proto_request(protocol, "POST", self.ip, self.port, "/echo.Echo/" + method, headers=headers,
                          body=base64.b64encode(body) if text else body, chunked=text)
        if r.status != 200 or not r.headers.get("content-type", "").startswith("application/grpc-web"):
            return r, None
        return r, frames(unbase64(r.body) if text else r.body)

    def test_unary_round_trip(self):
        for protocol in PROTOCOLS:
            for text in (False, True):
                with self.subTest(protocol=protocol, text=text):
                    r, got = self.call(protocol, "Say", b"hello \x00\xff" * (5 if text else 1), text=text)
                    self.assertEqual(r.status, 200, r)
                    # The server's application/grpc, in the client's form (as Traefik).
                    self.assertEqual(r.headers["content-type"],
                                     "application/grpc-web-text" if text else "application/grpc-web")
                    self.assertEqual(got[0], (0, b"echo:" + b"hello \x00\xff" * (5 if text else 1)))
                    self.assertEqual(got[1][0], 0x80)
                    self.assertEqual(got[1][1].get("grpc-status"), "0")
                    self.assertEqual(got[1][1].get("x-echo-tail"), "done")
                    self.assertEqual(len(got), 2)
                    self.assertEqual(r.headers.get("x-echo-head"), "yes")
                    self.assertNotIn("content-length", r.headers)
                    exposed = [h.strip() for h in r.headers["access-control-expose-headers"].split(",")]
                    for name in ("X-Echo-Head", "Content-Type", "grpc-status", "grpc-message"):
                        self.assertIn(name, exposed)
                    self.assertEqual(r.headers.get("access-control-allow-origin"), ORIGIN)
                    self.assertEqual(r.headers.get("access-control-allow-credentials"), "true")
                    self.assertIn("Origin", values(r, "vary"))

    def test_server_streaming(self):
        for protocol in PROTOCOLS:
            for text in (False, True):
                with self.subTest(protocol=protocol, text=text):
                    r, got = self.call(protocol, "Count", b"3", text=text)
                    self.assertEqual(r.status, 200, r)
                    self.assertEqual(got[:3], [(0, b"n0"), (0, b"n1"), (0, b"n2")])
                    self.assertEqual(got[3][1]["grpc-status"], "0")
                    self.assertEqual(len(got), 4)

    def test_failing_calls(self):
        for protocol in PROTOCOLS:
            for text in (False, True):
                with self.subTest(protocol=protocol, text=text):
                    # Trailers-only: the status in the head, an empty trailer frame (as Traefik).
                    r, got = self.call(protocol, "Fail", b"x", text=text)
                    self.assertEqual(r.status, 200, r)
                    self.assertEqual((r.headers.get("grpc-status"), r.headers.get("grpc-message")),
                                     ("3", "bad thing"))
                    self.assertEqual(got, [(0x80, {})])
                    # A failure after a message: the status in the trailer frame.
                    r, got = self.call(protocol, "FailLate", b"x", text=text)
                    self.assertEqual(got[0], (0, b"partial"))
                    self.assertEqual(got[1][1]["grpc-status"], "14")
                    self.assertEqual(got[1][1]["grpc-message"], "gone away")
                    self.assertNotIn("grpc-status", r.headers)

    def test_malformed_text_body_is_400(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = proto_request(protocol, "POST", self.ip, self.port, "/echo.Echo/Say", headers={
                    "Host": "grpc.test", "Content-Type": "application/grpc-web-text"}, body=b"AAAA!AAA")
                self.assertEqual(r.status, 400, r)

    def test_refused_origin_gets_no_cors_fields(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r, got = self.call(protocol, "Say", b"hi", origin="https://evil.example")
                self.assertEqual(got[0], (0, b"echo:hi"))
                self.assertNotIn("access-control-allow-origin", r.headers)
                self.assertNotIn("access-control-allow-credentials", r.headers)

    def preflight(self, protocol, origin, host="plain.test"):
        return proto_request(protocol, "OPTIONS", self.ip, self.port, "/echo.Echo/Say", headers={
            "Host": host, "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-grpc-web,content-type,x-user-agent"})

    def test_preflight(self):
        vary = ["Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"]
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                seen = len(self.plain.requests)
                r = self.preflight(protocol, "http://other.example:8080")
                self.assertEqual((r.status, r.body), (200, b""))
                self.assertEqual(r.headers.get("access-control-allow-origin"), "http://other.example:8080")
                self.assertEqual(r.headers.get("access-control-allow-methods"), "POST")
                self.assertEqual(r.headers.get("access-control-allow-headers"), "X-Grpc-Web, Content-Type, X-User-Agent")
                self.assertEqual(r.headers.get("access-control-allow-credentials"), "true")
                self.assertEqual(r.headers.get("access-control-max-age"), "600")
                self.assertEqual(values(r, "vary"), vary)
                r = self.preflight(protocol, "https://evil.example")
                self.assertEqual((r.status, r.body), (200, b""))
                self.assertEqual(values(r, "vary"), vary)
                for name in ("allow-origin", "allow-methods", "allow-headers", "allow-credentials"):
                    self.assertNotIn("access-control-" + name, r.headers)
                self.assertEqual(len(self.plain.requests), seen)  # answered by portier

    def test_other_requests_pass_through(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                body = json.dumps({"not": "grpc-web"}).encode()
                r = proto_request(protocol, "POST", self.ip, self.port, "/api", headers={
                    "Host": "plain.test", "Content-Type": "application/json", "Origin": ORIGIN}, body=body)
                self.assertEqual(r.status, 200, r)
                seen = r.json()
                self.assertEqual(seen["headers"]["content-type"], "application/json")
                self.assertNotIn("te", seen["headers"])
                self.assertEqual(seen["body_len"], len(body))
                self.assertEqual(r.headers["content-type"], "application/json")
                for name in ("access-control-allow-origin", "access-control-expose-headers"):
                    self.assertNotIn(name, r.headers)
                # An OPTIONS that is not a gRPC-Web preflight reaches the server.
                r = proto_request(protocol, "OPTIONS", self.ip, self.port, "/", headers={
                    "Host": "plain.test", "Origin": ORIGIN, "Access-Control-Request-Method": "GET"})
                self.assertEqual(r.json()["method"], "OPTIONS")

    def test_native_grpc_passes_through(self):
        with grpc.insecure_channel("%s:%d" % (self.ip, self.port),
                                   options=[("grpc.default_authority", "grpc.test")]) as channel:
            call = channel.unary_unary("/echo.Echo/Say", request_serializer=ident, response_deserializer=ident)
            self.assertEqual(call(b"native", timeout=10), b"echo:native")

    def test_server_that_is_not_h2c_answers_502(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                seen = len(self.plain.requests)
                r, _ = self.call(protocol, "Say", b"x", host="plain.test")
                self.assertEqual(r.status, 502, r)
                self.assertEqual(len(self.plain.requests), seen)


class GrpcWebConfig(unittest.TestCase):
    def check_file(self, middleware):
        tmp = make_temp_dir()
        dynamic = write_file_atomic(tmp / "dynamic.yml", "http:\n  middlewares:\n    test-grpcweb:\n" + middleware
                                    + "  routers:\n    r:\n      rule: Host(`a.test`)\n      service: s\n"
                                    "      middlewares: [test-grpcweb]\n  services:\n    s:\n      loadBalancer:\n"
                                    "        servers: [{url: 'h2c://127.0.0.1:1'}]\n")
        config = write_file_atomic(tmp / "portier.yml", http_config({"web": NET + ".1:80"}, dynamic))
        return run_cli(["check", "--config", str(config)])

    def test_traefik_documentation_example(self):
        r = self.check_file("      grpcWeb:\n        allowOrigins:\n          - \"*\"\n")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_bad_values_name_the_key(self):
        r = self.check_file("      grpcWeb:\n        allowOrigins: {a: b}\n")
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("allowOrigins", r.stdout + r.stderr)
        r = self.check_file("      grpcWeb:\n        allowOrigins: [app.example]\n")
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("grpcWeb.allowOrigins: \"app.example\" is not an origin", r.stdout + r.stderr)

    def compose(self, value):
        return check_compose(NET + ".9", "name: gw\nservices:\n  web:\n    image: test/busybox:1\n"
                             "    network_mode: host\n    labels:\n      - traefik.enable=true\n"
                             "      - traefik.http.routers.web.rule=Host(`web.example.test`)\n"
                             "      - traefik.http.routers.web.middlewares=test-grpcweb\n"
                             "      - traefik.http.services.web.loadbalancer.server.port=8080\n"
                             "      - traefik.http.middlewares.test-grpcweb.grpcweb.allowOrigins=%s\n" % value)

    def test_labels(self):
        code, doc = self.compose("*")  # Traefik's documentation example
        self.assertEqual(code, 0, doc)
        self.assertEqual(doc["http"]["middlewares"]["test-grpcweb@docker"]["grpcWeb"], {"allowOrigins": ["*"]})
        code, doc = self.compose("https://a.example,http://b.example:8080")
        self.assertEqual(code, 0, doc)
        self.assertEqual(doc["http"]["middlewares"]["test-grpcweb@docker"]["grpcWeb"]["allowOrigins"],
                         ["https://a.example", "http://b.example:8080"])
        code, doc = self.compose("a.example")
        self.assertNotEqual(code, 0, doc)
        self.assertIn("grpcWeb.allowOrigins: \\\"a.example\\\" is not an origin", json.dumps(doc))


if __name__ == "__main__":
    unittest.main(verbosity=2)
