"""A small HTTP/2 client for the e2e tests: the hyper-h2 protocol library (Debian python3-h2)
over a plain socket (h2c prior knowledge) or TLS with ALPN h2, for what command-line clients
cannot do (RFC 8441 CONNECT, requests paced on one connection, watching for GOAWAY)."""

import socket
import time

import h2.config
import h2.connection
import h2.events


class H2Client:
    """One HTTP/2 connection driven by hyper-h2; events are collected per stream."""

    def __init__(self, sock, validate=True):
        self.sock = sock
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8", validate_outbound_headers=validate))
        self.conn.initiate_connection()
        self.flush()
        self.remote_settings = {}
        self.headers = {}   # stream id -> response headers
        self.data = {}      # stream id -> bytes received
        self.ended = set()
        self.reset = {}
        self.goaway = None  # the ConnectionTerminated event of a GOAWAY received
        self.wait(lambda: self.remote_settings, "the server's SETTINGS")

    def flush(self):
        out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)

    def pump(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return
        if not data:
            raise ConnectionError("connection closed by portier")
        for ev in self.conn.receive_data(data):
            if isinstance(ev, h2.events.RemoteSettingsChanged):
                self.remote_settings.update({k: v.new_value for k, v in ev.changed_settings.items()})
            elif isinstance(ev, h2.events.ResponseReceived):
                self.headers[ev.stream_id] = dict(ev.headers)
            elif isinstance(ev, h2.events.DataReceived):
                self.data[ev.stream_id] = self.data.get(ev.stream_id, b"") + ev.data
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                self.ended.add(ev.stream_id)
            elif isinstance(ev, h2.events.StreamReset):
                self.reset[ev.stream_id] = ev.error_code
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.goaway = ev
        self.flush()

    def wait(self, predicate, what, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting for %s" % what)
            self.pump(min(left, 0.5))

    def request(self, headers, end_stream=False):
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, headers, end_stream=end_stream)
        self.flush()
        return sid

    def send(self, sid, payload, end_stream=False):
        """Sends within the flow-control windows, waiting for WINDOW_UPDATEs as needed."""
        while payload:
            window = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            if window <= 0:
                self.pump(0.5)
                continue
            self.conn.send_data(sid, payload[:window])
            payload = payload[window:]
            self.flush()
        if end_stream:
            self.conn.end_stream(sid)
            self.flush()

    def take(self, sid, n, what):
        self.wait(lambda: len(self.data.get(sid, b"")) >= n, what)
        out, self.data[sid] = self.data[sid][:n], self.data[sid][n:]
        return out
