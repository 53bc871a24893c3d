"""Running out of file descriptors (issue 14, item 6): portier raises its soft RLIMIT_NOFILE to
the hard limit at start; when accept() fails with EMFILE it backs off instead of spinning,
keeps serving the connections it has, and accepts the queued ones once descriptors are free.

The descriptor limit is lowered on the running process with prlimit(1) (util-linux)."""

import http.client
import os
import socket
import subprocess
import time
import unittest

from portier_e2e import Backend, Portier, free_port, http_config, make_temp_dir, router, service, wait_until, \
    write_file_atomic

NET = "127.0.44"


def nofile(pid):
    """(soft, hard) RLIMIT_NOFILE of a process, from /proc/PID/limits."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                soft, hard = line.split()[3:5]
                return int(soft), int(hard)
    raise AssertionError("no 'Max open files' line for %d" % pid)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def prlimit_nofile(pid, soft, hard):
    subprocess.run(["prlimit", "--pid", str(pid), "--nofile=%d:%d" % (soft, hard)], check=True)


class DescriptorExhaustion(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = Backend("fd", NET + ".2")
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        path = write_file_atomic(make_temp_dir() / "dynamic.yml", {"http": {
            "routers": {"fd": router("PathPrefix(`/`)", "fd")},
            "services": {"fd": service(cls.backend.url)}}})
        # One worker: one accept loop, so one warning per episode.
        cls.portier = Portier(http_config({"web": "%s:%d" % (cls.ip, cls.port)}, path, workers=1))
        cls.portier.start()

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.backend.close()

    def get(self, conn, path):
        conn.request("GET", path)
        r = conn.getresponse()
        r.read()
        return r.status

    def test_soft_limit_raised_to_hard_at_start(self):
        soft, hard = nofile(self.portier.proc.pid)
        self.assertEqual(soft, hard)

    def test_emfile_backs_off_serves_existing_and_recovers(self):
        pid = self.portier.proc.pid
        soft, hard = nofile(pid)
        kept = http.client.HTTPConnection(self.ip, self.port, timeout=5)
        self.addCleanup(kept.close)
        self.assertEqual(self.get(kept, "/before"), 200)  # also leaves an idle upstream connection
        # No descriptor left for accept(): the soft limit at the number in use.
        prlimit_nofile(pid, open_fds(pid), hard)
        self.addCleanup(prlimit_nofile, pid, soft, hard)
        queued = []
        for _ in range(4):
            s = socket.create_connection((self.ip, self.port), timeout=5)  # completes in the kernel backlog
            s.sendall(b"GET /queued HTTP/1.1\r\nHost: fd\r\nConnection: close\r\n\r\n")
            queued.append(s)
            self.addCleanup(s.close)
        wait_until(lambda: "Too many open files" in self.portier.logs(), 5, "the EMFILE warning")
        # A measurement window, not a synchronisation: a loop retrying accept() at once would
        # burn the whole second of CPU.
        before, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(1.0)
        used = cpu_seconds(pid) - before
        self.assertLess(used, 0.3 * (time.monotonic() - t0), "portier spins on EMFILE (%.2f s CPU)" % used)
        self.assertEqual(self.get(kept, "/during"), 200)  # the accepted connection is still served
        self.assertEqual(self.portier.logs().count("Too many open files"), 1, "logged once per episode")
        prlimit_nofile(pid, soft, hard)
        for s in queued:
            s.settimeout(5)
            head = s.recv(64)
            self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        wait_until(lambda: "accepting again" in self.portier.logs(), 5, "the recovery line")


if __name__ == "__main__":
    unittest.main(verbosity=2)
