"""Process, port and /proc helpers for the benchmark driver.

Every process is started through Registry.start() so that it can be stopped by PID (its own
process group) when the run ends, whatever the exit path (normal, exception, SIGINT/SIGTERM).
Loopback only: every helper here binds or connects to 127.0.0.1.
"""
import errno
import os
import resource
import signal
import socket
import subprocess
import time
import urllib.request

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


class Proc:
    """A started process (the root of a process tree) with its log file paths."""

    def __init__(self, name, popen, log_path):
        self.name = name
        self.popen = popen
        self.pid = popen.pid
        self.log_path = log_path

    def alive(self):
        return self.popen.poll() is None

    def log_tail(self, lines=5):
        try:
            with open(self.log_path, errors="replace") as f:
                text = f.read().strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])


class Registry:
    """Owns every process the run starts; stop_all() is idempotent and runs at exit."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.procs = []
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, _frame):
        self.stop_all()
        raise SystemExit(128 + signum)

    def start(self, name, argv, cpus=None, env=None, nofile=None):
        """Start argv in its own session, optionally pinned to `cpus` ("0", "1", "0,1")."""
        if cpus is not None:
            argv = ["taskset", "-c", cpus] + list(argv)
        log_path = os.path.join(self.log_dir, f"{name}.log")
        log = open(log_path, "ab")

        def pre():
            if nofile:
                _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
                resource.setrlimit(resource.RLIMIT_NOFILE, (min(nofile, hard), hard))

        full_env = dict(os.environ)
        full_env.update(env or {})
        popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 env=full_env, start_new_session=True, preexec_fn=pre)
        log.close()
        proc = Proc(name, popen, log_path)
        self.procs.append(proc)
        return proc

    def stop(self, proc, grace=5.0):
        """SIGTERM the process group of proc, then SIGKILL after `grace` seconds."""
        if proc not in self.procs:
            return
        self.procs.remove(proc)
        if proc.popen.poll() is not None:
            _kill_group(proc.pid, signal.SIGKILL)  # leftovers of an exited leader
            return
        _kill_group(proc.pid, signal.SIGTERM)
        try:
            proc.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        _kill_group(proc.pid, signal.SIGKILL)
        try:
            proc.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass

    def stop_all(self):
        for proc in list(reversed(self.procs)):
            self.stop(proc)


def _kill_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------- ports

def port_is_free(port):
    """True when nothing listens on 127.0.0.1:port and a plain bind succeeds.

    A plain bind (no SO_REUSEPORT) fails even when a stale SO_REUSEPORT listener holds the port,
    which is the trap a reuseport-enabled proxy would otherwise silently share.
    """
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.settimeout(0.2)
    try:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            return False
    finally:
        probe.close()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            return False
        raise
    finally:
        s.close()


def udp_port_is_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port(exclude=()):
    """A loopback port not in `exclude`, currently free for TCP and for UDP."""
    for _ in range(100):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        if port not in exclude and port_is_free(port) and udp_port_is_free(port):
            return port
    raise RuntimeError("no free port found")


def listener_inodes(port):
    """Socket inodes listening on TCP port `port` (any local address, IPv4 and IPv6)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    local, state, inode = cols[1], cols[3], cols[9]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                        inodes.add(inode)
        except OSError:
            pass
    return inodes


def socket_inodes_of(pids):
    inodes = set()
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            for fd in os.listdir(fd_dir):
                try:
                    target = os.readlink(os.path.join(fd_dir, fd))
                except OSError:
                    continue
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            pass
    return inodes


def foreign_listeners(port, pids):
    """Listening sockets on `port` that do not belong to `pids` (a stale SO_REUSEPORT peer)."""
    return listener_inodes(port) - socket_inodes_of(pids)


# ---------------------------------------------------------------- /proc accounting

def _stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    # comm may contain spaces: split after the closing parenthesis.
    return data[data.rindex(")") + 2:].split()


def process_tree(root):
    """root and all its descendants (scan of /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid = int(_stat_fields(entry)[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(pids):
    """utime+stime of the given pids, in seconds (threads included, reaped children not)."""
    ticks = 0
    for pid in pids:
        try:
            f = _stat_fields(pid)
            ticks += int(f[11]) + int(f[12])  # fields 14, 15 of stat(5)
        except (OSError, IndexError, ValueError):
            pass
    return ticks / CLK_TCK


def _task_files(pids, name, comm=None):
    """The text of /proc/PID/task/TID/`name` of every live thread of the given pids (named
    `comm` only, when given)."""
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                if comm is not None:
                    with open(f"/proc/{pid}/task/{tid}/comm") as f:
                        if f.read().strip() != comm:
                            continue
                with open(f"/proc/{pid}/task/{tid}/{name}") as f:
                    yield f.read()
            except OSError:
                pass


def cpu_seconds_exact(pids, comm=None):
    """CPU time (user + system) of the given pids' live threads (named `comm` only, when given:
    portier names its workers "portier-w0", ... and its access log writer "portier-log")
    from /proc/PID/task/*/schedstat,
    in nanoseconds' resolution: /proc/PID/stat counts in 10 ms ticks, 0.3-0.5% of a 2-3 s run,
    too coarse for a 3% difference. A thread that exits between two readings takes its time
    with it (portier's workers, control and access log threads live as long as the process)."""
    ns = 0
    for text in _task_files(pids, "schedstat", comm):
        try:
            ns += int(text.split()[0])
        except (IndexError, ValueError):
            pass
    return ns / 1e9


def context_switches(pids):
    """Voluntary + involuntary context switches of the given pids' live threads."""
    n = 0
    for text in _task_files(pids, "status"):
        try:
            n += sum(int(line.split()[1]) for line in text.splitlines() if "ctxt_switches" in line)
        except (IndexError, ValueError):
            pass
    return n


def memory_kib(pids):
    """Sum of PSS (shared pages split between the processes) in KiB; RSS when PSS is missing."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
            continue
        except OSError:
            pass
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE_KIB
        except OSError:
            pass
    return total


# ---------------------------------------------------------------- readiness

def http_get(url, timeout=2.0, host=None):
    req = urllib.request.Request(url, headers={"Host": host} if host else {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def wait_until(predicate, timeout, proc=None, step=0.05):
    """Poll predicate() until it returns a truthy value; None on timeout or if proc died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            return None
        try:
            value = predicate()
            if value:
                return value
        except Exception:  # not ready yet: connection refused, 502 while warming up, ...
            pass
        time.sleep(step)
    return None


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
