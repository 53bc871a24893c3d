"""A small threaded HTTP/1.1 origin server for the end-to-end tests (stdlib only).

    with Backend("a", ip="127.0.21.2") as a:   # port 0 = a free port
        a.url, a.address, a.requests, a.healthy = False, a.gate("x").set()

Every request except /health is recorded in .requests (a dict, see _Conn._record) once it has
been read completely, and answered 200 with the same dict as JSON plus {"backend": name}.
Special paths:
    /status/<code>   answers <code>
    /slow/<ms>       waits <ms> then answers
    /health          200 when .healthy else 500 (recorded in .health_requests)
    /big/<n>         streams big_body(n) with chunked encoding
    /close/<n>       big_body(n) without Content-Length or chunked: ended by closing
    /sized/<n>       big_body(n) with a Content-Length
    /then-close      answers as for keep-alive (no Connection: close), then closes the connection
    /gate/<name>     chunked: "first\\n", then waits (10 s max) for gate(name) to be set, "second\\n"
    /ws              WebSocket echo (RFC 6455; text, binary, ping, close)
Any query parameter `set-header=Name:Value` adds a response header (replacing the backend's
own field of that name, e.g. Content-Type).
With ssl_context (a server-side ssl.SSLContext), the backend speaks HTTPS: .url is https://...,
.tls_sessions lists the SNI (None without) of every completed handshake, .tls_failures counts
failed ones.
Keep-alive, chunked request bodies and `Expect: 100-continue` are supported.

Also a command: python3 backend.py --name hello --listen 127.0.0.1:8081
"""

import argparse
import base64
import hashlib
import json
import signal
import socket
import socketserver
import ssl
import struct
import sys
import threading
import time
import urllib.parse

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_BLOCK = bytes(range(256)) * 64  # 16 KiB


def big_body(n):
    """The deterministic body of /big/<n>."""
    whole, rest = divmod(n, len(_BLOCK))
    return _BLOCK * whole + _BLOCK[:rest]


def ws_accept(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


class BadRequest(Exception):
    pass


class _Conn(socketserver.BaseRequestHandler):
    """One client connection; runs on its own thread."""

    def setup(self):
        self.backend = self.server.backend
        self.head_only = False
        self.rfile = None
        ctx = self.backend.ssl_context
        if ctx is not None:
            self.request.settimeout(10)
            try:
                self.request = ctx.wrap_socket(self.request, server_side=True)
            except (ssl.SSLError, OSError):
                with self.backend._lock:
                    self.backend.tls_failures += 1
                return
            self.request.settimeout(None)
            with self.backend._lock:
                self.backend.tls_sessions.append(self.backend._last_sni.pop(threading.get_ident(), None))
        self.backend._track(self.request, True)
        self.rfile = self.request.makefile("rb")

    def finish(self):
        if self.rfile is None:
            return
        self.backend._track(self.request, False)
        try:
            self.rfile.close()
            if self.backend.ssl_context is not None:
                self.request.close()  # the TLS wrapper; socketserver closes only the detached socket
        except OSError:
            pass

    def handle(self):
        if self.rfile is None:
            return
        try:
            while self._one_request():
                pass
        except (BadRequest, OSError, ValueError):
            pass

    # ---- reading ----
    def _line(self, limit=65536 + 2):
        line = self.rfile.readline(limit)
        if not line:
            return None
        if not line.endswith(b"\n"):
            raise BadRequest("line too long or truncated")
        return line.rstrip(b"\r\n").decode("latin-1")

    def _read_exact(self, n):
        data = self.rfile.read(n)
        if data is None or len(data) != n:
            raise BadRequest("truncated body")
        return data

    def _read_chunked(self):
        parts = []
        while True:
            line = self._line()
            if line is None:
                raise BadRequest("eof in chunked body")
            size = int(line.split(";", 1)[0].strip(), 16)
            if size == 0:
                while True:  # trailers
                    t = self._line()
                    if t is None:
                        raise BadRequest("eof in trailers")
                    if t == "":
                        return b"".join(parts)
            parts.append(self._read_exact(size))
            if self._read_exact(2) != b"\r\n":
                raise BadRequest("bad chunk end")

    def _one_request(self):
        line = self._line()
        while line == "":  # tolerate leading empty lines (RFC 9112 2.2)
            line = self._line()
        if line is None:
            return False
        parts = line.split(" ")
        if len(parts) != 3:
            raise BadRequest("bad request line")
        method, target, version = parts
        header_list = []
        while True:
            h = self._line()
            if h is None:
                raise BadRequest("eof in headers")
            if h == "":
                break
            name, _, value = h.partition(":")
            header_list.append((name.strip(), value.strip()))
        headers = {k.lower(): v for k, v in header_list}
        path, _, query = target.partition("?")
        if path == "/ws" and headers.get("upgrade", "").lower() == "websocket":
            self._record(method, target, version, header_list, b"", False)
            self._websocket(headers)
            return False
        if headers.get("expect", "").lower() == "100-continue":
            self.request.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        if chunked:
            body = self._read_chunked()
        elif "content-length" in headers:
            body = self._read_exact(int(headers["content-length"]))
        else:
            body = b""
        conn_tokens = [t.strip().lower() for t in headers.get("connection", "").split(",")]
        keep = not ("close" in conn_tokens or (version == "HTTP/1.0" and "keep-alive" not in conn_tokens))
        extra = []
        for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
            if key == "set-header":
                n, _, v = value.partition(":")
                extra.append((n, v))
        if path == "/health":
            self.head_only = method == "HEAD"
            self.backend.health_requests.append({"path": path, "headers": headers, "time": time.time()})
            code = 200 if self.backend.healthy else 500
            self._send(code, {"backend": self.backend.name, "healthy": self.backend.healthy}, keep, extra)
            return keep
        info = self._record(method, target, version, header_list, body, chunked)
        self.head_only = method == "HEAD"
        if path.startswith("/status/"):
            self._send(int(path.split("/")[2]), info, keep, extra)
        elif path.startswith("/slow/"):
            time.sleep(int(path.split("/")[2]) / 1000.0)
            self._send(200, info, keep, extra)
        elif path.startswith("/big/"):
            self._stream(200, [big_body(int(path.split("/")[2]))], keep, extra)
        elif path.startswith("/close/"):
            fields = [("Content-Type", "application/octet-stream")]
            self.request.sendall(self._head(200, False, extra, fields) + big_body(int(path.split("/")[2])))
            return False
        elif path.startswith("/sized/"):
            body = big_body(int(path.split("/")[2]))
            fields = [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(body)))]
            self.request.sendall(self._head(200, keep, extra, fields) + (b"" if self.head_only else body))
        elif path == "/then-close":
            self._send(200, info, keep, extra)
            return False
        elif path.startswith("/gate/"):
            self._gate(self.backend.gate(path.split("/")[2]), keep, extra)
        else:
            self._send(200, info, keep, extra)
        return keep

    def _record(self, method, target, version, header_list, body, chunked):
        path, _, query = target.partition("?")
        info = {
            "backend": self.backend.name,
            "method": method,
            "target": target,
            "path": path,
            "query": query,
            "version": version,
            "headers": {k.lower(): v for k, v in header_list},
            "header_list": [[k, v] for k, v in header_list],
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "body_len": len(body),
            "chunked": chunked,
            "client": "%s:%d" % self.client_address[:2],
        }
        with self.backend._lock:
            self.backend.requests.append(info)
        return info

    # ---- writing ----
    def _head(self, code, keep, extra, fields):
        reason = {100: "Continue", 101: "Switching Protocols", 200: "OK", 204: "No Content",
                  301: "Moved Permanently", 304: "Not Modified", 404: "Not Found",
                  500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
        lines = ["HTTP/1.1 %d %s" % (code, reason.get(code, "Status"))]
        replaced = {name.lower() for name, _ in extra}
        lines += ["%s: %s" % kv for kv in fields if kv[0].lower() not in replaced]
        lines.append("X-Backend: %s" % self.backend.name)
        lines += ["%s: %s" % kv for kv in extra]
        if not keep:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def _send(self, code, info, keep, extra):
        body = b"" if code in (204, 304) or 100 <= code < 200 else json.dumps(info).encode()
        fields = [("Content-Type", "application/json")]
        if code not in (204, 304):
            fields.append(("Content-Length", str(len(body))))
        self.request.sendall(self._head(code, keep, extra, fields) + (b"" if self.head_only else body))

    def _chunk(self, data):
        return b"%x\r\n%s\r\n" % (len(data), data) if data else b""

    def _stream(self, code, pieces, keep, extra):
        fields = [("Content-Type", "application/octet-stream"), ("Transfer-Encoding", "chunked")]
        self.request.sendall(self._head(code, keep, extra, fields))
        for piece in pieces:
            for i in range(0, len(piece), 16384):
                self.request.sendall(self._chunk(piece[i:i + 16384]))
        self.request.sendall(b"0\r\n\r\n")

    def _gate(self, event, keep, extra):
        fields = [("Content-Type", "text/plain"), ("Transfer-Encoding", "chunked")]
        self.request.sendall(self._head(200, keep, extra, fields) + self._chunk(b"first\n"))
        event.wait(10)
        self.request.sendall(self._chunk(b"second\n") + b"0\r\n\r\n")

    # ---- WebSocket ----
    def _websocket(self, headers):
        key = headers.get("sec-websocket-key", "")
        self.request.sendall(
            ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: %s\r\nX-Backend: %s\r\n\r\n" % (ws_accept(key), self.backend.name)).encode())
        while True:
            frame = read_ws_frame(self.rfile)
            if frame is None:
                return
            fin, opcode, payload = frame
            if opcode == 0x8:
                self.request.sendall(ws_frame(0x8, payload[:125]))
                return
            if opcode == 0x9:
                self.request.sendall(ws_frame(0xA, payload))
            elif opcode in (0x0, 0x1, 0x2):
                self.request.sendall(ws_frame(opcode, payload, fin=fin))


def ws_frame(opcode, payload, mask=False, fin=True):
    """Encodes one WebSocket frame (clients must mask, servers must not)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head += bytes([mbit | n])
    elif n < 65536:
        head += bytes([mbit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mbit | 127]) + struct.pack("!Q", n)
    if mask:
        key = bytes([0x37, 0xFA, 0x21, 0x3D])
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        head += key
    return head + payload


def read_ws_frame(rfile):
    """Reads one frame from a binary file object: (fin, opcode, payload), or None at EOF."""
    head = rfile.read(2)
    if not head or len(head) < 2:
        return None
    fin = bool(head[0] & 0x80)
    opcode = head[0] & 0x0F
    masked = bool(head[1] & 0x80)
    n = head[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", rfile.read(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", rfile.read(8))[0]
    key = rfile.read(4) if masked else None
    payload = rfile.read(n) if n else b""
    if len(payload) != n:
        return None
    if key:
        payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return fin, opcode, payload


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class Backend:
    """A threaded HTTP/1.1 server on (ip, port), started at construction, stopped by close()."""

    _all = []

    def __init__(self, name, ip="127.0.0.1", port=0, ssl_context=None):
        self.name = name
        self.ssl_context = ssl_context
        self.tls_sessions = []
        self.tls_failures = 0
        self._last_sni = {}  # handshaking thread -> SNI seen by the callback
        if ssl_context is not None:
            def on_sni(sslobj, server_name, _ctx):
                self._last_sni[threading.get_ident()] = server_name
            ssl_context.sni_callback = on_sni
        self.healthy = True
        self.requests = []
        self.health_requests = []
        self.connections = 0
        self._lock = threading.Lock()
        self._gates = {}
        self._socks = set()
        self._server = _Server((ip, port), _Conn)
        self._server.backend = self
        self.ip, self.port = self._server.server_address[:2]
        self.address = "%s:%d" % (self.ip, self.port)
        self.url = ("https://" if ssl_context is not None else "http://") + self.address
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="backend-" + name, daemon=True)
        self._thread.start()
        self._closed = False
        Backend._all.append(self)

    def gate(self, name):
        with self._lock:
            return self._gates.setdefault(name, threading.Event())

    def paths(self):
        with self._lock:
            return [r["path"] for r in self.requests]

    def _track(self, sock, add):
        with self._lock:
            (self._socks.add if add else self._socks.discard)(sock)
            if add:
                self.connections += 1

    def close(self):
        """Stops listening and resets every open connection."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            socks = list(self._socks)
            for g in self._gates.values():
                g.set()
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @classmethod
    def close_all(cls):
        for b in cls._all:
            b.close()


def main():
    ap = argparse.ArgumentParser(description="demo HTTP backend for portier")
    ap.add_argument("--name", default="hello")
    ap.add_argument("--listen", default="127.0.0.1:8081", help="IP:PORT")
    a = ap.parse_args()
    ip, _, port = a.listen.rpartition(":")
    backend = Backend(a.name, ip, int(port))
    print("backend %s listening on %s" % (a.name, backend.url), file=sys.stderr, flush=True)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    backend.close()


if __name__ == "__main__":
    main()
