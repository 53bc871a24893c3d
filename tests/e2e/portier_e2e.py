"""Shared harness of the end-to-end tests (stdlib only, /usr/bin/python3).

Runs the real binary (env PORTIER_BIN, else <repo>/build/portier) against real peers. Every
process started here is killed by PID at exit and every temp dir is removed (set
PORTIER_E2E_KEEP=1 to keep the dirs for debugging). No fixed sleeps: wait_until polls a
condition against a deadline.
"""

import atexit
import copy
import ctypes
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from backend import Backend, big_body, read_ws_frame, ws_accept, ws_frame  # noqa: F401 (re-exported)

REPO = Path(__file__).resolve().parents[2]
_live_procs = []
_temp_dirs = []


def portier_bin():
    return os.environ.get("PORTIER_BIN") or str(REPO / "build" / "portier")


def unit_binary(module):
    """The Catch2 binary unit_<module>: beside portier_bin() when that build has the unit tests,
    else in the sanitizer build (./portier.sh test builds them only there, PORTIER_UNIT_TESTS)."""
    dirs = [Path(portier_bin()).resolve().parent]
    if os.environ.get("PORTIER_SANITIZED_BIN"):
        dirs.append(Path(os.environ["PORTIER_SANITIZED_BIN"]).parent)
    for d in dirs:
        if (d / "tests" / ("unit_" + module)).exists():
            return str(d / "tests" / ("unit_" + module))
    raise AssertionError("unit_%s is in none of %s: build it (ninja -C build unit_%s)"
                         % (module, [str(d / "tests") for d in dirs], module))


def _cleanup():
    for proc in _live_procs:
        if proc.poll() is None:
            try:
                proc.kill()
                proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                pass
    Backend.close_all()
    if not os.environ.get("PORTIER_E2E_KEEP"):
        for d in _temp_dirs:
            shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup)


def make_temp_dir(prefix="portier-e2e-"):
    """A temp dir removed at exit."""
    d = Path(tempfile.mkdtemp(prefix=prefix))
    _temp_dirs.append(d)
    return d


_ports_handed_out = set()


def free_port(host="127.0.0.1", udp=False):
    """A port free on `host` now and never returned before by this process: a test picks
    several ports before anything binds them, and the kernel may offer a port it just freed
    again (two entrypoints of one configuration once got the same port)."""
    while True:
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                          socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
        try:
            s.bind((host, 0))
            port = s.getsockname()[1]
        finally:
            s.close()
        if (host, udp, port) not in _ports_handed_out:
            _ports_handed_out.add((host, udp, port))
            return port


def started(portier):
    """Starts `portier` (a Portier) and returns it; on failure it is cleaned up before raising,
    so a setUpClass can write `cls.portier = started(Portier(config))`."""
    try:
        portier.start()
    except BaseException:
        portier.__exit__(None, None, None)
        raise
    return portier


def wait_until(predicate, timeout=10.0, what="condition"):
    """Polls predicate every 20 ms; returns its first truthy value. Exceptions count as false."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 (the predicate may poll a server that is not up yet)
            last_exc = e
        if time.monotonic() >= deadline:
            detail = " (last error: %r)" % (last_exc,) if last_exc else ""
            raise AssertionError("timed out after %.1fs waiting for %s%s" % (timeout, what, detail))
        time.sleep(0.02)


def write_file_atomic(path, content):
    """Writes str/bytes, or a dict/list as JSON (valid YAML), via a temp file and rename."""
    path = Path(path)
    if isinstance(content, (dict, list)):
        content = json.dumps(content, indent=2)
    if isinstance(content, str):
        content = content.encode()
    tmp = path.with_name(".%s.tmp%d" % (path.name, os.getpid()))
    tmp.write_bytes(content)
    os.replace(tmp, path)
    return path


class Response:
    def __init__(self, status, reason, header_list, body):
        self.status = status
        self.reason = reason
        self.header_list = header_list
        self.headers = {k.lower(): v for k, v in header_list}
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<Response %d %r %r>" % (self.status, self.headers, self.body[:200])


def http_request(method, url, headers=None, body=None, timeout=5.0, source_ip=None):
    """One request on a fresh connection (http.client: no proxies, no redirects followed).
    A `Host` in headers replaces the one derived from url."""
    u = urllib.parse.urlsplit(url)
    cls = http.client.HTTPSConnection if u.scheme == "https" else http.client.HTTPConnection
    kwargs = {"timeout": timeout}
    if source_ip:
        kwargs["source_address"] = (source_ip, 0)
    if u.scheme == "https":
        import ssl
        kwargs["context"] = ssl._create_unverified_context()
    conn = cls(u.hostname, u.port, **kwargs)
    try:
        target = (u.path or "/") + ("?" + u.query if u.query else "")
        conn.request(method, target, body=body, headers=dict(headers or {}))
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, r.reason, r.getheaders(), data)
    finally:
        conn.close()


# The client protocols every request-level behaviour is checked over: HTTP/1.1 cleartext and
# over TLS (http.client), HTTP/2 over TLS (ALPN h2) and h2c with prior knowledge (curl, which
# must report that it spoke HTTP/2). TLS uses the default certificate, unverified.
PROTOCOLS = ("h1", "h1-tls", "h2-tls", "h2c")


def is_tls(protocol):
    return protocol in ("h1-tls", "h2-tls")


def proto_request(protocol, method, ip, port, path="/", headers=None, body=None, chunked=False, timeout=10.0,
                  source_ip=None):
    """One request over `protocol` on a fresh connection; a Response with .version ("1.1" or
    "2"). `body` (bytes) is sent with a length, or without one when `chunked` (HTTP/1.1
    chunked encoding, HTTP/2 DATA frames without content-length)."""
    if protocol in ("h1", "h1-tls"):
        scheme = "https" if protocol == "h1-tls" else "http"
        if chunked and body is not None:
            body = iter([body[i:i + 65536] for i in range(0, len(body), 65536)] or [b""])
        r = http_request(method, "%s://%s:%d%s" % (scheme, ip, port, path), headers=headers, body=body,
                         timeout=timeout, source_ip=source_ip)
        r.version = "1.1"
        return r
    scheme = "https" if protocol == "h2-tls" else "http"
    with tempfile.TemporaryDirectory(prefix="portier-curl-") as tmp:
        head_path, body_path = os.path.join(tmp, "head"), os.path.join(tmp, "body")
        args = ["curl", "-sS", "-k", "--path-as-is", "--http2" if protocol == "h2-tls" else "--http2-prior-knowledge",
                "-D", head_path, "-o", body_path, "-w", "%{http_version}", "--max-time", str(timeout),
                "-H", "Expect:"]
        args += ["--head"] if method == "HEAD" else ["-X", method]
        if source_ip:
            args += ["--interface", source_ip]
        for name, value in (headers or {}).items():
            args += ["-H", "%s: %s" % (name, value)]
        if body is not None:
            args += ["-T", "-"] if chunked else ["--data-binary", "@-"]
        args.append("%s://%s:%d%s" % (scheme, ip, port, path))
        out = subprocess.run(args, input=body if body is not None else b"", capture_output=True,
                             timeout=timeout + 5)
        try:
            with open(head_path, "rb") as f:
                raw_head = f.read().decode("latin-1")
        except OSError:
            raw_head = ""
        blocks = [b for b in raw_head.replace("\r\n", "\n").split("\n\n") if b.startswith("HTTP/")]
        if not blocks:
            raise AssertionError("curl %s got no response (exit %d): %s"
                                 % (protocol, out.returncode, out.stderr.decode(errors="replace")))
        lines = blocks[-1].split("\n")
        status = int(lines[0].split()[1])
        header_list = []
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                header_list.append((name, value.strip()))
        try:
            with open(body_path, "rb") as f:
                data = f.read()
        except OSError:
            data = b""
    version = out.stdout.decode().strip()
    if version != "2":
        raise AssertionError("curl %s spoke HTTP/%s, not HTTP/2" % (protocol, version))
    r = Response(status, "", header_list, data)
    r.version = version
    return r


class RawClient:
    """A raw TCP client for framing tests: send exact bytes, parse responses by hand."""

    def __init__(self, host, port, source_ip=None, timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source_ip, 0) if source_ip else None)
        self.timeout = timeout
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed by peer (buffered: %r)" % self.buf[:200])
        self.buf += data

    def _take_until(self, sep):
        while sep not in self.buf:
            self._fill()
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_head(self):
        """Reads a status line and headers: (status, reason, header_list)."""
        head = self._take_until(b"\r\n\r\n").decode("latin-1")
        lines = head.split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code, _, reason = rest.partition(" ")
        header_list = []
        for line in lines[1:]:
            if line:
                k, _, v = line.partition(":")
                header_list.append((k.strip(), v.strip()))
        return int(code), reason, header_list

    def read_chunk(self):
        """Reads one chunk of a chunked body; b"" for the last one (trailers consumed)."""
        size = int(self._take_until(b"\r\n").split(b";")[0].strip(), 16)
        if size == 0:
            while self._take_until(b"\r\n") != b"\r\n":
                pass
            return b""
        data = self._take(size)
        self._take(2)
        return data

    def read_response(self, method="GET", skip_1xx=False):
        """Reads one complete response (Content-Length, chunked, or until close)."""
        while True:
            status, reason, header_list = self.read_head()
            if not (skip_1xx and 100 <= status < 200 and status != 101):
                break
        headers = {k.lower(): v for k, v in header_list}
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            parts = []
            while True:
                c = self.read_chunk()
                if not c:
                    break
                parts.append(c)
            body = b"".join(parts)
        elif "content-length" in headers:
            body = self._take(int(headers["content-length"]))
        else:
            body = self.read_until_close()
        return Response(status, reason, header_list, body)

    def read_until_close(self, timeout=None):
        self.sock.settimeout(timeout or self.timeout)
        while True:
            try:
                data = self.sock.recv(65536)
            except ConnectionResetError:
                data = b""
            if not data:
                out, self.buf = self.buf, b""
                return out
            self.buf += data

    def is_closed(self, timeout=5.0):
        """True when the peer closes (EOF or reset) within timeout; pending data is discarded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.sock], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                return False
            try:
                data = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not data:
                return True
        return False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _set_pdeathsig():
    # The child dies with the test runner even if atexit does not run (SIGKILL by ctest).
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def run_cli(args, input=None, timeout=30, env=None):
    """Runs `portier ARGS` to completion: CompletedProcess with text stdout/stderr."""
    e = dict(os.environ)
    e.pop("NOTIFY_SOCKET", None)
    e.update(env or {})
    proc = subprocess.Popen([portier_bin(), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=e, text=True, preexec_fn=_set_pdeathsig)
    _live_procs.append(proc)
    try:
        out, err = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError("portier %s did not finish within %ss\n%s" % (" ".join(args), timeout, err))
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _substitute(value, mapping):
    if isinstance(value, str):
        for k, v in mapping.items():
            value = value.replace(k, v)
        return value
    if isinstance(value, dict):
        return {k: _substitute(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, mapping) for v in value]
    return value


class Portier:
    """`portier run` on a generated config, as a context manager.

    config: a dict (written as JSON, valid YAML) or a str (written verbatim as YAML). The
    placeholders {tmpdir}, {diag_address} and {state_dir} are replaced in both. Without
    diagnostics.address / state.directory, the harness adds 127.0.0.1:<free port> / a temp dir.
    """

    def __init__(self, config, args=(), env=None, inherit=(), binary=None):
        self.binary = binary  # another path than PORTIER_BIN (a copy a test replaces)
        self.inherit = list(inherit)  # (name, socket): passed as systemd would (listen_fds_launcher.py)
        self.tmpdir = make_temp_dir()
        self.args = list(args)
        self.env = dict(env or {})
        self.proc = None
        self.notifications = []
        self._notify_sock = None
        self._notify_thread = None
        self._stderr_path = self.tmpdir / "stderr.log"
        self._stdout_path = self.tmpdir / "stdout.log"
        state_dir = str(self.tmpdir / "state")
        diag = "127.0.0.1:%d" % free_port()
        mapping = {"{tmpdir}": str(self.tmpdir), "{diag_address}": diag, "{state_dir}": state_dir}
        if isinstance(config, dict):
            config = _substitute(copy.deepcopy(config), mapping)
            config.setdefault("diagnostics", {}).setdefault("address", diag)
            config.setdefault("state", {}).setdefault("directory", state_dir)
            self.diag_address = config["diagnostics"]["address"]
            text = json.dumps(config, indent=2)
        else:
            text = _substitute(config, mapping)
            if not re.search(r"^diagnostics:", text, re.M):
                text += "\ndiagnostics:\n  address: \"%s\"\n" % diag
            if not re.search(r"^state:", text, re.M):
                text += "\nstate:\n  directory: \"%s\"\n" % state_dir
            m = re.search(r"^diagnostics:\s*\n(?:[ \t]+.*\n)*?[ \t]+address:\s*[\"']?([^\"'\s]+)", text, re.M)
            self.diag_address = m.group(1) if m else "127.0.0.1:7111"
        self.config = config
        self.config_path = self.tmpdir / "portier.yml"
        self.config_path.write_text(text)

    # ---- process ----
    def start(self, expect_ready=True):
        sock_path = str(self.tmpdir / "notify.sock")
        if self._notify_sock is not None:  # a restart: a fresh socket for the new process
            self._notify_sock.close()
            os.unlink(sock_path)
        self._notify_sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._notify_sock.bind(sock_path)
        self._notify_thread = threading.Thread(target=self._receive_notifications, daemon=True)
        self._notify_thread.start()
        env = dict(os.environ)
        env.update(self.env)
        env["NOTIFY_SOCKET"] = sock_path
        cmd = [self.binary or portier_bin(), "run", "--config", str(self.config_path), *self.args]
        fds = [sock.fileno() for _, sock in self.inherit]
        if self.inherit:
            launcher = os.path.join(os.path.dirname(os.path.abspath(__file__)), "listen_fds_launcher.py")
            cmd = [sys.executable, launcher, *("%s=%d" % (name, sock.fileno()) for name, sock in self.inherit),
                   "--", *cmd]
        self.notifications = []
        with open(self._stdout_path, "ab") as out, open(self._stderr_path, "ab") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                                         preexec_fn=_set_pdeathsig, pass_fds=fds)
        _live_procs.append(self.proc)
        if expect_ready:
            try:
                wait_until(lambda: self.proc.poll() is not None or "READY=1" in self.notified(),
                           timeout=20, what="READY=1 from portier")
            except AssertionError as e:
                raise AssertionError("%s\n--- stderr ---\n%s" % (e, self.logs())) from None
            if "READY=1" not in self.notified():
                raise AssertionError("portier exited with %s before READY=1:\n%s"
                                     % (self.proc.returncode, self.logs()))
        return self

    def _receive_notifications(self):
        sock = self._notify_sock
        while True:
            try:
                r, _, _ = select.select([sock], [], [], 0.2)
                if sock.fileno() < 0:
                    return
                if r:
                    data = sock.recv(4096).decode(errors="replace")
                    self.notifications.extend(line for line in data.split("\n") if line)
            except (OSError, ValueError):
                return

    def notified(self):
        return list(self.notifications)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout=15):
        """Waits for the process to exit by itself; returns its exit code."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("portier still running after %ss\n%s" % (timeout, self.logs())) from None

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Sends sig and waits for the exit; returns the exit code (kills and fails on timeout)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("portier did not exit within %ss of signal %s\n%s"
                                     % (timeout, sig, self.logs())) from None
        return self.proc.returncode

    def logs(self):
        try:
            return self._stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def stdout(self):
        try:
            return self._stdout_path.read_text(errors="replace")
        except OSError:
            return ""

    # ---- diagnostics ----
    def diag_url(self, path):
        return "http://%s%s" % (self.diag_address, path)

    def diag_response(self, path):
        return http_request("GET", self.diag_url(path))

    def diag(self, path):
        r = self.diag_response(path)
        try:
            return r.json()
        except ValueError:
            raise AssertionError("diagnostics %s answered %d, not JSON: %r" % (path, r.status, r.body[:300])) from None

    # ---- files ----
    def write(self, name, content):
        """Writes a file under tmpdir atomically (dict -> JSON); returns its path."""
        return write_file_atomic(self.tmpdir / name, content)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if self.running():
                try:
                    self.stop(timeout=10)
                except AssertionError:
                    pass
        finally:
            if self._notify_sock is not None:
                self._notify_sock.close()
            # ctest shows a test's output only when it fails: always leave the tail of the log.
            if self.proc is not None:
                tail = "\n".join(self.logs().splitlines()[-150:])
                sys.stderr.write("--- portier stderr, last lines (%s) ---\n%s\n" % (self.config_path, tail))
        self.check_sanitizer_report()

    SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

    def check_sanitizer_report(self):
        """Under the sanitize.e2e.* tests (PORTIER_E2E_SANITIZED=1): a sanitizer report in the
        log, leaks at exit included, fails the test that stopped this portier."""
        if os.environ.get("PORTIER_E2E_SANITIZED") != "1" or self.proc is None:
            return
        logs = self.logs()
        for mark in self.SANITIZER_MARKS:
            at = logs.find(mark)
            if at >= 0:
                raise AssertionError("sanitizer report from portier (%s):\n%s" % (self.config_path, logs[at:at + 6000]))


def http_config(entry_points, dynamic_file=None, **extra):
    """A static config dict: entry_points {name: "ip:port" or dict}; an optional file provider."""
    eps = {}
    for name, ep in entry_points.items():
        eps[name] = {"address": ep} if isinstance(ep, str) else ep
    cfg = {"entryPoints": eps, "log": {"level": "debug"}}
    if dynamic_file:
        cfg["providers"] = {"file": {"filename": str(dynamic_file), "watch": True}}
    cfg.update(extra)
    return cfg


def compose_check_config(public_ipv4):
    """A static config for `portier check --compose`: the infra keys it needs, no Docker daemon."""
    return {"infra": {"public_ipv4": public_ipv4, "base_domain": "example.test", "http_port": 18080,
                      "https_port": 18443},
            "providers": {"docker": {"endpoints": ["unix:///nonexistent/docker-*.sock"]}},
            "state": {"directory": "/nonexistent/state"}}


def check_compose(public_ipv4, compose_text):
    """`portier check --compose` of a compose file's labels (JSON output, no daemon):
    (exit code, the decoded document)."""
    d = make_temp_dir()
    config, compose = d / "portier.yml", d / "docker-compose.yml"
    config.write_text(json.dumps(compose_check_config(public_ipv4)))
    compose.write_text(compose_text)
    r = run_cli(["check", "--config", str(config), "--compose", str(compose), "--format", "json"])
    return r.returncode, json.loads(r.stdout)


def router(rule, service, entry_points=("web",), priority=None, middlewares=None, tls=None):
    r = {"rule": rule, "service": service, "entryPoints": list(entry_points)}
    if priority is not None:
        r["priority"] = priority
    if middlewares:
        r["middlewares"] = list(middlewares)
    if tls is not None:
        r["tls"] = tls
    return r


def both_sides(name, host, service_name, middlewares=None):
    """Routers `name` (cleartext side) and `name`-tls (TLS side) for Host(`host`), alike otherwise."""
    rule = "Host(`%s`)" % host
    return {name: router(rule, service_name, middlewares=middlewares),
            name + "-tls": router(rule, service_name, middlewares=middlewares, tls={})}


def service(*urls, **load_balancer):
    servers = []
    for u in urls:
        servers.append(u if isinstance(u, dict) else {"url": u})
    lb = {"servers": servers}
    lb.update(load_balancer)
    return {"loadBalancer": lb}


class ProxyTest:
    """Mixin for unittest.TestCase: one portier with a file provider per test class.

    Subclasses set IP (the loopback IP of the entrypoint `web`) and implement
    dynamic(cls) -> the dynamic config dict (backends started in setUpClass are in cls.b).
    """

    IP = "127.0.0.1"
    BACKENDS = ()  # (name, ip)
    EXTRA_ENTRYPOINTS = {}
    WEB = {}  # more settings of the entrypoint `web` (e.g. transport)
    STATIC = {}  # more root keys of the static config (e.g. metrics)

    @classmethod
    def setUpClass(cls):
        cls.b = {name: Backend(name, ip) for name, ip in cls.BACKENDS}
        cls.port = free_port(cls.IP)
        cls.dir = make_temp_dir()
        cls.dynamic_path = write_file_atomic(cls.dir / "dynamic.yml", cls.dynamic())
        eps = {"web": dict({"address": "%s:%d" % (cls.IP, cls.port)}, **cls.WEB)}
        eps.update(cls.EXTRA_ENTRYPOINTS)
        cls.portier = Portier(http_config(eps, cls.dynamic_path, **cls.STATIC))
        try:
            cls.portier.start()
        except BaseException:
            cls.portier.__exit__(None, None, None)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        for b in cls.b.values():
            b.close()

    @classmethod
    def dynamic(cls):
        raise NotImplementedError

    def url(self, path="/"):
        return "http://%s:%d%s" % (self.IP, self.port, path)

    def get(self, path="/", host=None, method="GET", headers=None, body=None, **kw):
        h = dict(headers or {})
        if host is not None:
            h["Host"] = host
        return http_request(method, self.url(path), headers=h, body=body, **kw)

    def raw(self, **kw):
        return RawClient(self.IP, self.port, **kw)

    def assertBackend(self, response, name, msg=None):
        self.assertEqual(response.status, 200, msg or response)
        self.assertEqual(response.json()["backend"], name, msg or response)
