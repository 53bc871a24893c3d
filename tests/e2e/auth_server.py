"""An authentication server for forwardAuth tests that answers as Authelia's verify endpoint
does (stdlib only, HTTP/1.1 keep-alive, threaded):

    with AuthServer("127.0.70.3", login_url="{proto}://login.example.test:8080/login") as auth:
        auth.url, auth.requests, auth.connections

Any path except /login and /relative is the verify endpoint:
    Cookie session=good     200 with Remote-User: alice, Remote-Groups: admins,dev,
                            Remote-Email: alice@example.test, X-Unlisted: 1 and two cookies
                            (auth_refresh=r1, auth_other=o1)
    Authorization: Bearer deny   401 with WWW-Authenticate: Bearer realm="test", body "denied\\n"
    otherwise               302 to login_url (its {proto} filled in)?rd=<X-Forwarded-Proto>://<X-Forwarded-Host><X-Forwarded-Uri>
                            with Set-Cookie auth_state=s1 and body "Found\\n"
/login?rd=URL    sets session=good for Domain=example.test and answers 302 to URL
/relative        302 with the relative Location "/login"
Every request is recorded in .requests (method, target, header_list, headers lowercased, the
client certificate's commonName or None); .connections counts accepted TCP connections. With
ssl_context (server side), it speaks HTTPS and .url is https://...
"""

import http.server
import threading
import urllib.parse


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self, code, headers, body=b""):
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _read_chunked(self):
        body = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0], 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return body
            body += self.rfile.read(size)
            self.rfile.readline()

    def _handle(self):
        srv = self.server.auth
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = self._read_chunked()
        peer = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
        cn = dict(x[0] for x in peer["subject"]).get("commonName") if peer else None
        record = {"method": self.command, "target": self.path, "body": body, "client_cn": cn,
                  "header_list": list(self.headers.items()),
                  "headers": {k.lower(): v for k, v in self.headers.items()}}
        with srv.lock:
            srv.requests.append(record)
        path, _, query = self.path.partition("?")
        if path == "/login":
            rd = urllib.parse.parse_qs(query).get("rd", ["/"])[0]
            return self._answer(302, [("Location", rd),
                                      ("Set-Cookie", "session=good; Domain=example.test; Path=/")])
        if path == "/relative":
            return self._answer(302, [("Location", "/login")])
        if "session=good" in (self.headers.get("Cookie") or ""):
            return self._answer(200, [("Remote-User", "alice"), ("Remote-Groups", "admins,dev"),
                                      ("Remote-Email", "alice@example.test"), ("X-Unlisted", "1"),
                                      ("Set-Cookie", "auth_refresh=r1; Path=/"),
                                      ("Set-Cookie", "auth_other=o1; Path=/")])
        if self.headers.get("Authorization") == "Bearer deny":
            return self._answer(401, [("WWW-Authenticate", 'Bearer realm="test"'),
                                      ("Content-Type", "text/plain")], b"denied\n")
        h = self.headers
        rd = "%s://%s%s" % (h.get("X-Forwarded-Proto"), h.get("X-Forwarded-Host"), h.get("X-Forwarded-Uri"))
        location = srv.login_url.format(proto=h.get("X-Forwarded-Proto")) + "?" + urllib.parse.urlencode({"rd": rd})
        return self._answer(302, [("Location", location), ("Set-Cookie", "auth_state=s1; Path=/"),
                                  ("Content-Type", "text/plain")], b"Found\n")

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _handle


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def get_request(self):
        sock, addr = super().get_request()
        with self.auth.lock:
            self.auth.connections += 1
        if self.auth.ssl_context:
            sock = self.auth.ssl_context.wrap_socket(sock, server_side=True)  # a failed handshake drops it
        return sock, addr


class AuthServer:
    def __init__(self, ip, login_url="", ssl_context=None):
        self.login_url = login_url
        self.ssl_context = ssl_context
        self.requests = []
        self.connections = 0
        self.lock = threading.Lock()
        self._server = _Server((ip, 0), _Handler)
        self._server.auth = self
        self.address = "%s:%d" % self._server.server_address[:2]
        self.url = ("https://" if ssl_context else "http://") + self.address
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self):
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
