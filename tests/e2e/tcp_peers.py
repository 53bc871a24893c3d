"""Real TCP/TLS/UDP peers for the TCP and UDP forwarding end-to-end tests (stdlib + openssl CLI).

    cert = make_cert(dir, "a.example.com")           # self-signed, its own key (openssl req)
    with TlsEchoServer("a", "127.0.51.2", cert) as a:  # TLS: answers "a:<line>" per line
    with StreamServer("127.0.51.3", handler) as s:     # plain TCP, handler(conn) per connection
    with UdpEcho("127.0.53.2") as u:                   # answers every datagram with itself

Every server listens on a free port of its IP, runs its connections on daemon threads and is
closed (listener and live connections) by close() / the context manager.
"""

import ctypes
import signal
import socket
import ssl
import subprocess
import threading
from pathlib import Path


class Cert:
    def __init__(self, name, cert, key):
        self.name = name
        self.cert = str(cert)
        self.key = str(key)

    def der(self):
        return ssl.PEM_cert_to_DER_cert(Path(self.cert).read_text())


def make_cert(directory, name):
    """A self-signed P-256 certificate for `name` (also its own CA for verification)."""
    d = Path(directory)
    cert, key = d / ("%s.crt" % name), d / ("%s.key" % name)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "2", "-subj", "/CN=%s" % name, "-addext", "subjectAltName=DNS:%s" % name,
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return Cert(name, cert, key)


class _Server:
    """A threaded accept loop on (ip, free port); subclasses implement handle(conn, addr)."""

    def __init__(self, ip):
        self.ip = ip
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        self.address = "%s:%d" % (ip, self.port)
        self.accepted = 0
        self._conns = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self):
        while True:
            try:
                conn, addr = self.sock.accept()
            except OSError:
                return
            with self._lock:
                if self._closed:
                    conn.close()
                    return
                self.accepted += 1
                self._conns.add(conn)
            threading.Thread(target=self._run, args=(conn, addr), daemon=True).start()

    def _run(self, conn, addr):
        try:
            self.handle(conn, addr)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()

    def handle(self, conn, addr):
        raise NotImplementedError

    def close(self):
        with self._lock:
            self._closed = True
            conns = list(self._conns)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class TlsEchoServer(_Server):
    """A TLS server with its own certificate: answers each line with "<name>:<line>".
    .snis records the SNI of every handshake it saw (the ClientHello reached it untouched)."""

    def __init__(self, name, ip, cert):
        self.name = name
        self.snis = []
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert.cert, cert.key)
        self.ctx.sni_callback = lambda sslobj, sni, ctx: self.snis.append(sni)
        super().__init__(ip)

    def handle(self, conn, addr):
        conn.settimeout(10)
        with self.ctx.wrap_socket(conn, server_side=True) as tls, tls.makefile("rb") as f:
            for line in f:
                tls.sendall(self.name.encode() + b":" + line)


class StreamServer(_Server):
    """Plain TCP; handler(conn) runs once per connection on its own thread."""

    def __init__(self, ip, handler):
        self.handler = handler
        super().__init__(ip)

    def handle(self, conn, addr):
        self.handler(conn)


def tls_client_context(cert):
    """A client context that trusts exactly `cert` (a Cert) and checks its host name."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cert.cert)
    return ctx


def tls_exchange(ip, port, sni, cert, line=b"ping\n", timeout=5):
    """Connects, handshakes with SNI `sni` trusting `cert`, sends one line: (reply, peer DER)."""
    with socket.create_connection((ip, port), timeout=timeout) as raw:
        with tls_client_context(cert).wrap_socket(raw, server_hostname=sni) as tls:
            tls.sendall(line)
            reply = tls.makefile("rb").readline()
            return reply, tls.getpeercert(binary_form=True)


class TlsConnection:
    """A TLS connection kept open across several exchanges."""

    def __init__(self, ip, port, sni, cert, timeout=5):
        raw = socket.create_connection((ip, port), timeout=timeout)
        self.tls = tls_client_context(cert).wrap_socket(raw, server_hostname=sni)
        self.f = self.tls.makefile("rb")

    def exchange(self, line):
        self.tls.sendall(line)
        return self.f.readline()

    def close(self):
        self.f.close()
        self.tls.close()


def client_hello(sni):
    """The bytes of a real ClientHello for `sni` plus the in-memory TLS client that made it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read(), obj, incoming, outgoing


class UdpEcho:
    """A UDP server answering every datagram with the same bytes; .sources are the peer
    addresses it saw."""

    def __init__(self, ip):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind((ip, 0))
        self.port = self.sock.getsockname()[1]
        self.address = "%s:%d" % (ip, self.port)
        self.sources = set()
        self.received = 0
        self.log = None  # a list to record (source, datagram) into
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                data, addr = self.sock.recvfrom(65536)
            except OSError:
                return
            if addr is None:  # shut down
                return
            self.received += 1
            self.sources.add(addr)
            if self.log is not None:
                self.log.append((addr, data))
            try:
                self.sock.sendto(data, addr)
            except OSError:
                pass

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


SINK_SCRIPT = r"""
import socket, sys, threading
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], int(sys.argv[2])))
srv.listen(64)
print("listening", flush=True)
def serve(c):
    buf, n = bytearray(4 << 20), 0
    while True:
        k = c.recv_into(buf)
        if not k:
            break
        n += k
    c.sendall(b"%d\n" % n)
    c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


class SinkProcess:
    """A TCP sink in its own process (no GIL shared with the client, for throughput numbers):
    reads each connection to EOF, answers the byte count."""

    def __init__(self, ip, port, log_path):
        import sys
        self.ip, self.port = ip, port
        self.address = "%s:%d" % (ip, port)
        self.log_path = Path(log_path)
        self.proc = spawn([sys.executable, "-c", SINK_SCRIPT, ip, str(port)], log_path)

    def ready(self):
        return "listening" in self.log_path.read_text()

    def close(self):
        stop(self.proc)


def tcp_entry_config(entry_points, dynamic_file):
    """A static config: entry_points {name: "ip:port[/udp]"} with a watched file provider."""
    return {"entryPoints": {n: {"address": a} for n, a in entry_points.items()},
            "log": {"level": "debug"},
            "providers": {"file": {"filename": str(dynamic_file), "watch": True}}}


def tcp_router(rule, service, entry_point, passthrough=None, priority=None):
    r = {"rule": rule, "service": service, "entryPoints": [entry_point]}
    if passthrough is not None:
        r["tls"] = {"passthrough": passthrough}
    if priority is not None:
        r["priority"] = priority
    return r


def lb(*addresses):
    return {"loadBalancer": {"servers": [{"address": a} for a in addresses]}}


def exchange(sock, line=b"ping\n"):
    """Sends one line on `sock` and returns what comes back up to a newline (or EOF)."""
    sock.sendall(line)
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def connect_quietly(ip, port):
    """Whether something accepts a TCP connection on ip:port (closed at once)."""
    try:
        socket.create_connection((ip, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def recv_all(sock, bufsize=1 << 20):
    """Reads until EOF; raises ConnectionResetError on RST."""
    parts = []
    while True:
        data = sock.recv(bufsize)
        if not data:
            return b"".join(parts)
        parts.append(data)


def _die_with_parent():
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def spawn(cmd, log_path):
    """Starts a helper process (killed with the test runner too); stdout+stderr go to log_path."""
    with open(log_path, "wb") as log:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                preexec_fn=_die_with_parent)


def stop(proc):
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
