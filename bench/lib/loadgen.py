"""Load generators: wrk (HTTP/1.1 saturation), h2load (fixed rate, TLS, h2, handshakes), a TCP
bulk sender and an idle keep-alive connection holder. Every run is bounded in time."""
import os
import re
import resource
import socket
import subprocess
import sys
import time

LIB_DIR = os.path.dirname(os.path.abspath(__file__))


def _run(argv, cpus, timeout):
    """Run argv (pinned), return (stdout, client CPU seconds, wall seconds)."""
    if cpus is not None:
        argv = ["taskset", "-c", cpus] + argv
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout, text=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if r.returncode != 0:
        raise RuntimeError(f"{argv[0] if cpus is None else argv[3]} exited {r.returncode}: "
                           + " | ".join(r.stdout.strip().splitlines()[-3:]))
    return r.stdout, cpu, wall


def wrk(url, conns, duration, cpus, host="bench.local", threads=1, detail=False, headers=()):
    argv = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "-H", f"Host: {host}"]
    for h in headers:
        argv += ["-H", h]
    out, cpu, wall = _run(argv + [url], cpus, duration + 30)
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    requests = int(m.group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + \
        (sum(int(x) for x in sock.groups()) if sock else 0)
    out = {"rps": rps, "requests": requests, "errors": errors,
           "client_cpu_pct": 100.0 * cpu / wall}
    if detail:
        names = ("connect", "read", "write", "timeout")
        out["error_detail"] = dict(zip(names, (int(x) for x in sock.groups()))) if sock else {}
        out["error_detail"]["non-2xx"] = int(non2xx.group(1)) if non2xx else 0
    return out


def h2load(url, cpus, *, conns, h1=False, streams=1, duration=None, requests=None,
           rps_per_client=None, headers=(), log_file=None, timeout=120, connect_to=None):
    """One h2load run. Exactly one of duration (seconds, -D) or requests (-n).
    connect_to ("127.0.0.1:PORT") lets the URL carry a name (SNI and Host) without DNS."""
    argv = ["h2load", "-t1", f"-c{conns}", f"-m{streams}",
            "--tls13-ciphers=TLS_AES_128_GCM_SHA256", "--ciphers=ECDHE-ECDSA-AES128-GCM-SHA256"]
    if h1:
        argv.append("--h1")
    if duration is not None:
        argv.append(f"-D{duration}")  # no --warm-up-time: CPU is measured over the whole run
    else:
        argv.append(f"-n{requests}")
    if rps_per_client:
        argv.append(f"--rps={rps_per_client}")
    for h in headers:
        argv += ["-H", h]
    if log_file:
        argv.append(f"--log-file={log_file}")
    if connect_to:
        argv.append(f"--connect-to={connect_to}")
    argv.append(url)
    out, cpu, wall = _run(argv, cpus, timeout)
    m = re.search(r"finished in ([\d.]+)(\w+), ([\d.]+) req/s", out)
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
                    r"(\d+) failed, (\d+) errored, (\d+) timeout", out)
    codes = re.search(r"status codes: (\d+) 2xx", out)
    done, ok = int(req.group(3)), int(req.group(4))
    good_2xx = int(codes.group(1)) if codes else 0
    tls = re.search(r"TLS Protocol: (\S+)", out)
    cipher = re.search(r"Cipher: (\S+)", out)
    proto = re.search(r"Application protocol: (\S+)", out)
    data = re.search(r"\((\d+)\) data", out)  # response body bytes (after any content coding)
    return {"rps": float(m.group(3)), "requests": done, "errors": done - min(ok, good_2xx),
            "client_cpu_pct": 100.0 * cpu / wall,
            "body_bytes": int(data.group(1)) if data else None,
            "tls": f"{tls.group(1) if tls else '-'} {cipher.group(1) if cipher else '-'}",
            "alpn": proto.group(1) if proto else "-"}


def latency_percentiles(log_file, skip_seconds=0.5):
    """(p50, p99, count) in microseconds from an h2load --log-file, warm-up skipped."""
    rows = []
    with open(log_file) as f:
        for line in f:
            cols = line.split("\t")
            if len(cols) >= 3 and cols[1].strip().startswith("2"):
                rows.append((int(cols[0]), int(cols[2])))
    if not rows:
        raise RuntimeError("h2load log has no 2xx response")
    t0 = min(r[0] for r in rows) + int(skip_seconds * 1e6)
    lat = sorted(r[1] for r in rows if r[0] >= t0) or sorted(r[1] for r in rows)
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    return pick(0.50), pick(0.99), len(lat)


def tcp_send(port, nbytes, cpus, timeout=120):
    """Push nbytes through 127.0.0.1:port to the sink; returns (seconds, client CPU %)."""
    out, cpu, wall = _run([sys.executable, os.path.join(LIB_DIR, "tcp_send.py"), str(port),
                           str(nbytes)], cpus, timeout)
    seconds = float(out.split()[-1])
    return seconds, 100.0 * cpu / wall


class IdleConnections:
    """Holds keep-alive connections open, each having completed one request (bounded count)."""

    MAX = 10000

    def __init__(self, port, host="bench.local"):
        self.port = port
        self.request = f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        self.socks = []

    def grow_to(self, count, deadline_s=60.0):
        if count > self.MAX:
            raise ValueError("too many connections")
        deadline = time.monotonic() + deadline_s
        while len(self.socks) < count:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(self.socks)} connections after {deadline_s}s")
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            self.socks.append(s)
            s.sendall(self.request)
            self._read_response(s)

    @staticmethod
    def _read_response(s):
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError("connection closed before response headers")
            buf += chunk
        head, body = buf.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"unexpected response: {head[:40]!r}")
        m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
        if not m:
            raise RuntimeError("response without Content-Length")
        need = int(m.group(1)) - len(body)
        while need > 0:
            chunk = s.recv(min(need, 65536))
            if not chunk:
                raise RuntimeError("connection closed mid-body")
            need -= len(chunk)

    def alive_count(self):
        """Connections the server has not closed (non-blocking peek)."""
        n = 0
        for s in self.socks:
            try:
                s.setblocking(False)
                n += 1 if s.recv(1, socket.MSG_PEEK) != b"" else 0
            except BlockingIOError:
                n += 1
            except OSError:
                pass
            finally:
                s.settimeout(5)
        return n

    def close(self):
        for s in self.socks:
            s.close()
        self.socks = []


def gtlsclient(port, cpus, *, conns, requests_per_conn, check=False, sni="bench.local",
               timeout=120):
    """HTTP/3: `conns` gtlsclient processes (Debian's ngtcp2-client, GnuTLS) started together,
    each one QUIC connection to 127.0.0.1:port asking `requests_per_conn` GETs of / (as many in
    flight as the server's stream limit allows), all waited for. Debian's h2load 1.52 is built
    without ngtcp2 and cannot speak HTTP/3. gtlsclient is a test client, not a load generator:
    its core saturates before a fast server does (client_cpu_pct). It runs --quiet (its
    per-packet log would cost more than the requests), so the caller checks the responses
    (the backend's request count); check=True logs the response heads instead and counts the
    `:status: 200` ones (use it with few requests)."""
    argv = ["gtlsclient", "--exit-on-all-streams-close", "--timeout=30s", f"--sni={sni}",
            f"-n{requests_per_conn}"]
    argv += ["--no-quic-dump", "--no-http-dump"] if check else ["--quiet"]
    argv += ["127.0.0.1", str(port), f"https://{sni}:{port}/"]
    if cpus is not None:
        argv = ["taskset", "-c", cpus] + argv
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    clients = [subprocess.Popen(argv, stdin=subprocess.DEVNULL, text=True, errors="replace",
                                stdout=subprocess.PIPE if check else subprocess.DEVNULL,
                                stderr=subprocess.STDOUT) for _ in range(conns)]
    try:
        logs = [c.communicate(timeout=max(1.0, timeout - (time.monotonic() - t0)))[0] or ""
                for c in clients]
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
                c.wait()
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    total = conns * requests_per_conn
    failed = sum(1 for c in clients if c.returncode != 0)
    r = {"rps": total / wall, "requests": total, "errors": failed * requests_per_conn,
         "client_cpu_pct": 100.0 * cpu / wall}
    if check:
        log = "".join(logs)
        r["errors"] = total - len(re.findall(r"^http: stream 0x[0-9a-f]+ \[:status: 200\]$", log,
                                             re.M))
        alpn = re.search(r"Negotiated ALPN is (\S+)", log)
        cipher = re.search(r"Negotiated cipher suite is (\S+)", log)
        r["alpn"] = alpn.group(1) if alpn else "-"
        r["tls"] = f"QUIC TLSv1.3 {cipher.group(1) if cipher else '-'}"
    return r
