"""HTTP/2 stream states and PRIORITY checks (RFC 9113 5.1, 5.1.1, 5.3.1, 6.3; the h2spec cases
http2/5.1, 5.1.1/2, 5.3.1/2, 6.3/1), with hand-made frames (hyperframe, hpack from Debian's
python3-h2) over h2c and over TLS with ALPN h2. Each case asserts the error portier answers
with: a GOAWAY (connection error) or RST_STREAM (stream error) carrying the RFC's code."""

import socket
import ssl
import struct
import time
import unittest

import hpack
from hyperframe.frame import (DataFrame, Frame, GoAwayFrame, HeadersFrame, PriorityFrame,
                              RstStreamFrame, SettingsFrame)

from portier_e2e import ProxyTest, router, service

NET = "127.0.69"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
PROTOCOL_ERROR, STREAM_CLOSED, CANCEL = 0x1, 0x5, 0x8


class FrameClient:
    """One HTTP/2 connection spoken frame by frame."""

    def __init__(self, ip, port, tls):
        sock = socket.create_connection((ip, port), timeout=10)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2"])
            sock = ctx.wrap_socket(sock, server_hostname="frames.test")
            assert sock.selected_alpn_protocol() == "h2"
        self.sock, self.buf, self.encoder = sock, b"", hpack.Encoder()
        self.send_raw(PREFACE + SettingsFrame(0).serialize())
        self.next_frame(lambda f: isinstance(f, SettingsFrame) and "ACK" not in f.flags)
        self.send(SettingsFrame(0, flags=["ACK"]))

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, *frames):
        self.send_raw(b"".join(f.serialize() for f in frames))

    def headers(self, sid, end_stream=True):
        block = self.encoder.encode([(":method", "GET"), (":scheme", "https"), (":path", "/frames"),
                                     (":authority", "frames.test")])
        return HeadersFrame(sid, data=block, flags=["END_HEADERS"] + (["END_STREAM"] if end_stream else []))

    def _read(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed by portier")
        self.buf += data

    def frame(self):
        """The next frame portier sends."""
        while len(self.buf) < 9:
            self._read()
        frame, length = Frame.parse_frame_header(memoryview(self.buf[:9]))
        while len(self.buf) < 9 + length:
            self._read()
        frame.parse_body(memoryview(self.buf[9:9 + length]))
        self.buf = self.buf[9 + length:]
        return frame

    def next_frame(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            f = self.frame()
            if predicate(f):
                return f
        raise AssertionError("no matching frame within %.0f s" % timeout)

    def error(self):
        """The first GOAWAY or RST_STREAM: ("GOAWAY", code) or ("RST_STREAM", sid, code)."""
        f = self.next_frame(lambda f: isinstance(f, (GoAwayFrame, RstStreamFrame)))
        if isinstance(f, GoAwayFrame):
            return ("GOAWAY", f.error_code)
        return ("RST_STREAM", f.stream_id, f.error_code)

    def response_ended(self, sid):
        self.next_frame(lambda f: f.stream_id == sid and "END_STREAM" in f.flags)

    def close(self):
        self.sock.close()


class Http2Frames(ProxyTest, unittest.TestCase):
    IP = NET + ".1"
    BACKENDS = [("frames", NET + ".2")]

    @classmethod
    def dynamic(cls):
        return {"http": {
            "routers": {"plain": router("Host(`frames.test`)", "frames"),
                        "tls": router("Host(`frames.test`)", "frames", tls={})},
            "services": {"frames": service(cls.b["frames"].url)},
        }}

    def each_protocol(self, case):
        for protocol in ("h2c", "h2-tls"):
            with self.subTest(protocol=protocol):
                c = FrameClient(self.IP, self.port, protocol == "h2-tls")
                try:
                    case(c)
                finally:
                    c.close()

    def test_data_after_rst_stream_is_stream_closed(self):  # h2spec http2/5.1/8
        def case(c):
            c.send(c.headers(1, end_stream=False), RstStreamFrame(1, error_code=CANCEL), DataFrame(1, data=b"x"))
            self.assertEqual(c.error(), ("GOAWAY", STREAM_CLOSED))
        self.each_protocol(case)

    def test_headers_after_rst_stream_is_stream_closed(self):  # h2spec http2/5.1/9
        def case(c):
            c.send(c.headers(1, end_stream=False), RstStreamFrame(1, error_code=CANCEL), c.headers(1))
            self.assertEqual(c.error(), ("GOAWAY", STREAM_CLOSED))
        self.each_protocol(case)

    def test_data_on_closed_stream_is_stream_closed(self):  # h2spec http2/5.1/11
        def case(c):
            c.send(c.headers(1))
            c.response_ended(1)
            c.send(DataFrame(1, data=b"x"))
            self.assertEqual(c.error(), ("GOAWAY", STREAM_CLOSED))
        self.each_protocol(case)

    def test_headers_on_closed_stream_is_stream_closed(self):  # h2spec http2/5.1/12
        def case(c):
            c.send(c.headers(1))
            c.response_ended(1)
            c.send(c.headers(1))
            self.assertEqual(c.error(), ("GOAWAY", STREAM_CLOSED))
        self.each_protocol(case)

    def test_smaller_stream_identifier_is_protocol_error(self):  # h2spec http2/5.1.1/2
        def case(c):
            c.send(c.headers(5), c.headers(3))
            self.assertEqual(c.error(), ("GOAWAY", PROTOCOL_ERROR))
        self.each_protocol(case)

    def test_priority_depending_on_itself_is_protocol_error(self):  # h2spec http2/5.3.1/2
        def case(c):
            c.send(c.headers(1, end_stream=False), PriorityFrame(1, depends_on=1, stream_weight=16))
            self.assertEqual(c.error(), ("GOAWAY", PROTOCOL_ERROR))
        self.each_protocol(case)

    def test_priority_on_stream_zero_is_protocol_error(self):  # h2spec http2/6.3/1
        def case(c):
            # hyperframe refuses to build it: length 5, type PRIORITY, no flags, stream 0.
            c.send_raw(b"\x00\x00\x05\x02\x00" + struct.pack(">I", 0) + struct.pack(">IB", 1, 15))
            self.assertEqual(c.error(), ("GOAWAY", PROTOCOL_ERROR))
        self.each_protocol(case)

    def test_valid_priority_frames_are_ignored_and_requests_served(self):
        def case(c):
            c.send(PriorityFrame(3, depends_on=1, stream_weight=16), PriorityFrame(1, depends_on=0))
            c.send(c.headers(5))
            f = c.next_frame(lambda f: isinstance(f, (HeadersFrame, GoAwayFrame, RstStreamFrame)))
            self.assertIsInstance(f, HeadersFrame)
            status = dict(hpack.Decoder().decode(f.data)).get(":status")
            self.assertEqual(status, "200")
        self.each_protocol(case)


if __name__ == "__main__":
    unittest.main()
