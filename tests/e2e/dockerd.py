"""A real Docker daemon per test (SPEC 12), with its own socket, data root and exec root.

    with Dockerd("a") as d:           # starts dockerd, waits for /_ping
        d.import_busybox()            # test/busybox:1 from busybox-static, no registry
        cid = d.run({"traefik.enable": "true"}, ip="127.0.11.2", port=8080, name="web")
        ...                           # GET http://127.0.11.2:8080/ answers "web"
        d.stop(cid)
    # daemon stopped by PID, its directories removed

Must run as root (dockerd). Stdlib only. Nothing waits a fixed time: readiness is polled
against a deadline. Every daemon started here is killed at exit even if a test fails.
"""

import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DOCKERD = shutil.which("dockerd", path="/usr/sbin:/usr/bin:/sbin:/bin") or "dockerd"
# The Debian client matches the Debian daemon; another client on PATH may be newer.
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else (shutil.which("docker") or "docker")
BUSYBOX = "/bin/busybox" if os.path.exists("/bin/busybox") else "/usr/bin/busybox"
APPLETS = ["sh", "httpd", "sleep", "cat", "echo", "ls", "mkdir", "kill", "true", "env"]

_live = []


def _kill_all():
    for d in list(_live):
        d.close()


atexit.register(_kill_all)


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=5.0):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self._path)
        except OSError:
            s.close()
            raise
        self.sock = s


def unix_get(path, target, timeout=5.0, method="GET"):
    """GET (or `method`) target over the unix socket at path -> (status, body bytes)."""
    conn = _UnixHTTPConnection(path, timeout)
    try:
        conn.request(method, target)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.05)


def _alive(pid):
    """True while process `pid` exists and is not a zombie."""
    if not pid:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


class Dockerd:
    """One dockerd with socket <dir>/docker-<name>.sock.

    dir: where the socket goes (default: a fresh temp dir); pass the same dir to several
    daemons to match one glob like <dir>/docker-*.sock. args: extra dockerd flags."""

    def __init__(self, name, sock_dir=None, args=()):
        self.name = name
        self.args = list(args)  # extra dockerd flags, e.g. ["--live-restore"]
        # Short paths: containerd's sockets under exec-root must fit in sun_path.
        self.root = Path(tempfile.mkdtemp(prefix="pdk-"))
        self.sock_dir = Path(sock_dir) if sock_dir else self.root
        self.socket = str(self.sock_dir / ("docker-%s.sock" % name))
        self.endpoint = "unix://" + self.socket
        self.proc = None
        self._log = None
        self._busybox_done = False

    # -- daemon lifecycle -------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self, timeout=60.0):
        """Starts (or restarts, keeping the data root) the daemon and waits for /_ping."""
        if self.proc and self.proc.poll() is None:
            return
        for sub in ("data", "exec"):
            (self.root / sub).mkdir(exist_ok=True)
        self._log = open(self.root / "dockerd.log", "ab")
        cmd = [DOCKERD, "--host", self.endpoint,
               "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
               "--pidfile", str(self.root / "dockerd.pid"),
               "--iptables=false", "--ip6tables=false", "--bridge=none", "--storage-driver=vfs",
               *self.args]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if self not in _live:
            _live.append(self)

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("dockerd %s exited (%s):\n%s" % (self.name, self.proc.returncode, self.logs()))
            try:
                return unix_get(self.socket, "/_ping", 1.0)[0] == 200
            except OSError:
                return False

        _wait(ready, timeout, "dockerd %s /_ping" % self.name)

    def kill(self, sig=signal.SIGTERM, timeout=30.0):
        """Stops the daemon by PID (its containers die with it); data root kept for start()."""
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            self.proc.send_signal(sig)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        if self._log:
            self._log.close()
            self._log = None
        # A daemon SIGKILLed leaves its containerd to die by itself (parent-death signal), as a
        # zombie where PID 1 does not reap orphans; a restart that finds its pid file takes it
        # for "still running" and times out. Once it is dead, its pid file goes.
        pid = self._containerd_pid()
        if pid:
            _wait(lambda: not _alive(pid), 10, "containerd of %s gone" % self.name)
            try:
                os.unlink(self.root / "exec" / "containerd" / "containerd.pid")
            except OSError:
                pass

    def _containerd_pid(self):
        try:
            return int((self.root / "exec" / "containerd" / "containerd.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def close(self):
        """Removes every container (SIGKILL: a daemon that stops them itself waits 10 s for
        each PID-1 httpd, which ignores SIGTERM; with --live-restore it would leave them
        running), stops the daemon and removes its directories."""
        if self.proc and self.proc.poll() is None:
            try:
                ids = self.docker("ps", "-aq", check=False).split()
                if ids:
                    self.docker("rm", "-f", *ids, check=False)
            except (OSError, subprocess.SubprocessError):
                pass
        self.kill()
        if self in _live:
            _live.remove(self)
        shutil.rmtree(self.root, ignore_errors=True)
        if self.sock_dir != self.root:
            try:
                os.unlink(self.socket)
            except OSError:
                pass

    def logs(self):
        try:
            return (self.root / "dockerd.log").read_text(errors="replace")
        except OSError:
            return ""

    # -- client -----------------------------------------------------------------------------
    def docker(self, *args, input=None, check=True):
        """Runs the docker CLI against this daemon -> stdout (str)."""
        r = subprocess.run([DOCKER, "-H", self.endpoint, *args], input=input, capture_output=True,
                           timeout=120)
        if check and r.returncode != 0:
            raise AssertionError("docker %s failed (%d): %s" % (" ".join(args), r.returncode,
                                                                 r.stderr.decode(errors="replace")))
        return r.stdout.decode(errors="replace")

    def api(self, target):
        """GET the Engine API -> parsed JSON."""
        status, body = unix_get(self.socket, target, 10.0)
        if status != 200:
            raise AssertionError("GET %s -> %d %s" % (target, status, body[:200]))
        return json.loads(body)

    def post(self, target, timeout=60.0):
        """POST the Engine API without a body (e.g. /containers/ID/restart?t=0); 2xx expected."""
        status, body = unix_get(self.socket, target, timeout, method="POST")
        if status // 100 != 2:
            raise AssertionError("POST %s -> %d %s" % (target, status, body[:200]))

    def import_busybox(self):
        """Imports test/busybox:1: a rootfs with /bin/busybox and applet symlinks."""
        if self._busybox_done:
            return
        rootfs = self.root / "rootfs"
        (rootfs / "bin").mkdir(parents=True, exist_ok=True)
        (rootfs / "www").mkdir(exist_ok=True)
        (rootfs / "tmp").mkdir(exist_ok=True)
        shutil.copy2(BUSYBOX, rootfs / "bin" / "busybox")
        for applet in APPLETS:
            link = rootfs / "bin" / applet
            if not link.exists():
                link.symlink_to("busybox")
        tar = subprocess.run(["tar", "-C", str(rootfs), "-c", "."], capture_output=True, check=True)
        self.docker("import", "-", "test/busybox:1", input=tar.stdout)
        shutil.rmtree(rootfs, ignore_errors=True)
        self._busybox_done = True

    def run(self, labels, ip="127.0.0.1", port=8080, name=None, extra_args=(), wait=True):
        """Runs busybox httpd on ip:port (network host) serving an index page that names the
        container; returns the container id. wait: until the page answers."""
        self.import_busybox()
        name = name or "c%d" % int(time.monotonic() * 1000)
        args = ["run", "-d", "--network", "host", "--name", name]
        for k, v in (labels or {}).items():
            args += ["-l", "%s=%s" % (k, v)]
        args += list(extra_args)
        script = ("mkdir -p /www && echo %s > /www/index.html && exec /bin/httpd -f -p %s:%d -h /www"
                  % (name, ip, port))
        args += ["test/busybox:1", "/bin/sh", "-c", script]
        cid = self.docker(*args).strip()
        if wait:
            def serving():
                try:
                    c = http.client.HTTPConnection(ip, port, timeout=1)
                    c.request("GET", "/")
                    ok = c.getresponse().status == 200
                    c.close()
                    return ok
                except OSError:
                    return False
            _wait(serving, 30, "httpd of %s on %s:%d" % (name, ip, port))
        return cid

    def stop(self, cid, timeout=2):
        self.docker("stop", "-t", str(timeout), cid)

    def start_container(self, cid):
        self.docker("start", cid)

    def remove(self, cid):
        self.docker("rm", "-f", cid)


def _run_with_daemon(argv):
    """--run CMD...: starts a daemon with test/busybox:1, runs CMD with
    PORTIER_TEST_DOCKER_SOCK (and PORTIER_TEST_DOCKER_CLI) set, returns its exit code."""
    import sys
    with Dockerd("unit") as d:
        d.import_busybox()
        env = dict(os.environ, PORTIER_TEST_DOCKER_SOCK=d.socket, PORTIER_TEST_DOCKER_CLI=DOCKER)
        rc = subprocess.call(argv, env=env)
        if rc != 0:
            sys.stderr.write(d.logs()[-3000:])
        return rc


if __name__ == "__main__":
    import sys
    if len(sys.argv) > 2 and sys.argv[1] == "--run":
        sys.exit(_run_with_daemon(sys.argv[2:]))
    # Smoke test by hand: python3 tests/e2e/dockerd.py
    with socket.socket() as probe:
        probe.bind(("127.0.11.2", 0))
        free = probe.getsockname()[1]
    with Dockerd("smoke") as d:
        cid = d.run({"traefik.enable": "true", "rediacc.service_ip": "127.0.11.2"},
                    ip="127.0.11.2", port=free, name="smoke-web")
        c = http.client.HTTPConnection("127.0.11.2", free, timeout=2)
        c.request("GET", "/")
        body = c.getresponse().read().decode()
        assert body.strip() == "smoke-web", body
        info = d.api("/containers/%s/json" % cid)
        assert info["Config"]["Labels"]["rediacc.service_ip"] == "127.0.11.2"
        d.stop(cid)
        print("ok:", d.endpoint, cid[:12], body.strip())
