"""An HTTP/2 connection drains in two steps (RFC 9113 6.8), over h2c and over TLS: on SIGTERM
portier sends a GOAWAY naming the highest possible stream and a PING; a request the client
sends before it acknowledges that PING is still served; after the ack, the final GOAWAY names
the last stream processed and the connection closes. A one-step GOAWAY would refuse a request
already on its way (as h2load's clients find out, which then stop: tests/e2e/test_upgrade_under_load.py)."""

import signal
import unittest

from hyperframe.frame import GoAwayFrame, HeadersFrame, PingFrame

from portier_e2e import Backend, Portier, free_port, http_config, make_temp_dir, router, service, write_file_atomic
from test_http2_frames import FrameClient

NET = "127.0.74"
HIGHEST_STREAM = 2**31 - 1


class Http2Drain(unittest.TestCase):
    """One portier per protocol: the notice's window (1 s) starts at SIGTERM."""

    def setUp(self):
        self.backend = Backend("drain", NET + ".2")
        self.dynamic = write_file_atomic(make_temp_dir() / "dynamic.yml", {"http": {
            "routers": {"plain": router("Host(`frames.test`)", "drain"),
                        "tls": router("Host(`frames.test`)", "drain", tls={})},
            "services": {"drain": service(self.backend.url)}}})

    def tearDown(self):
        self.backend.close()

    def drain_one_connection(self, tls):
        port = free_port(NET + ".1")
        with Portier(http_config({"web": "%s:%d" % (NET + ".1", port)}, self.dynamic)) as portier:
            portier.start()
            c = FrameClient(NET + ".1", port, tls)
            try:
                c.send(c.headers(1))
                c.response_ended(1)
                portier.proc.send_signal(signal.SIGTERM)
                seen = {}  # the notice and the PING, in either order
                while len(seen) < 2:
                    f = c.next_frame(lambda f: isinstance(f, (GoAwayFrame, PingFrame)))
                    seen[type(f)] = f
                notice, ping = seen[GoAwayFrame], seen[PingFrame]
                self.assertEqual((notice.last_stream_id, notice.error_code), (HIGHEST_STREAM, 0))
                self.assertNotIn("ACK", ping.flags)
                before = len(self.backend.requests)
                c.send(c.headers(3))  # sent before the client acknowledged the notice
                c.next_frame(lambda f: isinstance(f, HeadersFrame) and f.stream_id == 3)
                c.response_ended(3)
                self.assertEqual(len(self.backend.requests), before + 1)
                c.send(PingFrame(0, opaque_data=ping.opaque_data, flags=["ACK"]))
                final = c.next_frame(lambda f: isinstance(f, GoAwayFrame))
                self.assertEqual((final.last_stream_id, final.error_code), (3, 0))
                with self.assertRaises(ConnectionError):
                    c.next_frame(lambda f: True)  # then the connection closes
            finally:
                c.close()
            self.assertEqual(portier.wait_exit(20), 0)

    def test_h2c(self):
        self.drain_one_connection(tls=False)

    def test_h2_over_tls(self):
        self.drain_one_connection(tls=True)

if __name__ == "__main__":
    unittest.main()
