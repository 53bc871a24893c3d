"""Shutdown after container churn, under AddressSanitizer and UBSan (issue 21).

The workload that corrupted the heap at exit: portier with the docker provider on two real
daemons and a file provider (a health-checked service), containers started and removed one
after another while the diagnostics are polled, one daemon lost and reconnected, then SIGTERM
while containers are still starting (event handlers, inspections, re-lists and health probes in
flight). The binary is the sanitizer build that `./portier.sh test` makes beside the build
directory (PORTIER_SANITIZED_BIN, set by ctest); a sanitizer report makes it exit non-zero, and the test also looks
for the report in its stderr."""

import os
import re
import signal
import threading
import unittest

from docker_e2e import DockerPortierMixin, needs_root, web_labels
from portier_e2e import Backend, free_port, make_temp_dir, router, service, wait_until, write_file_atomic

NET = "127.0.43"
CONTAINERS = 24
REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|UndefinedBehaviorSanitizer")


def sanitized_bin():
    path = os.environ.get("PORTIER_SANITIZED_BIN", "")
    if not os.access(path, os.X_OK):
        raise AssertionError("PORTIER_SANITIZED_BIN=%r is not an executable: ./portier.sh test builds it "
                             "(cmake --build build-sanitize --target portier)" % path)
    return path


# Every Portier of this module runs the sanitizer build; a report is fatal (non-zero exit).
os.environ["PORTIER_BIN"] = sanitized_bin()
os.environ["ASAN_OPTIONS"] = "halt_on_error=1:exitcode=86:detect_leaks=1"
os.environ["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"


@needs_root
class ShutdownAfterChurn(DockerPortierMixin, unittest.TestCase):
    DAEMONS = ("s1", "s2")
    DAEMON_ARGS = ("--live-restore",)  # a daemon restart keeps its containers, as on a server

    @classmethod
    def portier_config(cls):
        cls.backend = Backend("checked", NET + ".3")
        dynamic = write_file_atomic(make_temp_dir() / "dynamic.yml", {"http": {
            "routers": {"checked": router("Host(`checked.test`)", "checked")},
            "services": {"checked": service(cls.backend.url, healthCheck={"path": "/health", "interval": "100ms",
                                                                           "timeout": "1s"})}}})
        cls.web = "%s.1:%d" % (NET, free_port(NET + ".1"))
        cfg = {"entryPoints": {"web": {"address": cls.web}}, "log": {"level": "debug"},
               "providers": {"docker": {"endpoints": [cls.glob()]},
                             "file": {"filename": str(dynamic), "watch": True}}}
        return cfg, []

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.backend.close()

    def test_churn_then_sigterm_exits_zero_without_sanitizer_report(self):
        stop = threading.Event()
        polls = []

        def poll():
            while not stop.is_set():
                for path in ("/routes.json", "/health", "/ports"):
                    try:
                        self.portier.diag(path)
                        polls.append(path)
                    except (OSError, AssertionError):
                        pass

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        self.addCleanup(stop.set)
        self.wait_routed("checked.test")

        d1, d2 = self.daemons["s1"], self.daemons["s2"]
        ip = NET + ".2"
        running = []
        for i in range(CONTAINERS):
            d = d1 if i % 2 == 0 else d2
            port = free_port(ip)
            name = "churn%d" % i
            running.append((d, d.run(web_labels(name, ip, port), ip=ip, port=port, name=name, wait=False), name))
            if i % 3 == 2:  # the oldest goes: kill, die and destroy events
                old, cid, _ = running.pop(0)
                old.remove(cid)
            if i == CONTAINERS // 2:  # a daemon lost and back: the provider reconnects and re-lists
                d2.kill(signal.SIGTERM)
                wait_until(lambda: self.provider(d2.endpoint)["status"] == "reconnecting", 10, "s2 lost")
                d2.start()
                wait_until(lambda: self.provider(d2.endpoint)["status"] == "connected", 15, "s2 reconnected")
        # Discovery kept up: the newest survivor of each daemon routes.
        for d, _, name in running[-2:]:
            self.wait_routed("%s.docker.test" % name, name, timeout=30)
        # SIGTERM with work in flight: two more containers starting (events, inspections).
        for i in range(2):
            port = free_port(ip)
            d1.run(web_labels("late%d" % i, ip, port), ip=ip, port=port, name="late%d" % i, wait=False)
        code = self.portier.stop(signal.SIGTERM, timeout=60)
        stop.set()
        poller.join(10)
        logs = self.portier.logs()
        report = REPORT.search(logs)
        self.assertIsNone(report, logs[report.start() - 200 if report else 0:][:8000])
        self.assertEqual(code, 0, logs[-4000:])
        self.assertNotIn("still running after cancellation", logs)
        self.assertGreater(len(polls), 30, "the diagnostics were polled during the churn")


if __name__ == "__main__":
    unittest.main(verbosity=2)
