"""Access log, Prometheus metrics and ping (issue 17), checked by their real consumers:
fail2ban's own traefik-auth filter, goaccess, promtool and a Prometheus server scraping
portier. Request-level recording is the pipeline's: the access log fields and the request
counters are checked over each of PROTOCOLS."""

import base64
import hashlib
import json
import os
import pathlib
import signal
import subprocess
import threading
import unittest
import urllib.parse
import uuid

from backend import Backend
from portier_e2e import (PROTOCOLS, Portier, free_port, http_request, is_tls, make_temp_dir, proto_request,
                         router, service, wait_until, write_file_atomic)

NET = "127.0.71"
CLIENT = NET + ".50"
USER = "alice:{SHA}" + base64.b64encode(hashlib.sha1(b"secret").digest()).decode()


def read_lines(path):
    try:
        return pathlib.Path(path).read_text().splitlines()
    except OSError:
        return []


class Observed:
    """One portier with an entrypoint `web` (TLS and cleartext routers to one backend that
    answers /status/<code>), an internal entrypoint `traefik` for ping and metrics, and an
    access log in `FORMAT`."""

    FORMAT = "json"
    ACCESS_LOG = {}

    @classmethod
    def setUpClass(cls):
        cls.backend = Backend("obs", NET + ".2")
        cls.dir = make_temp_dir()
        cls.port = free_port(NET + ".1")
        cls.internal_port = free_port(NET + ".1")
        cls.access_path = cls.dir / "logs" / "access.log"
        dynamic = write_file_atomic(cls.dir / "dynamic.yml", {"http": {
            "routers": {"obs": router("Host(`obs.test`)", "obs"),
                        "obs-tls": router("Host(`obs.test`)", "obs", tls={}),
                        "auth": router("Host(`auth.test`)", "obs", middlewares=["auth"]),
                        "auth-tls": router("Host(`auth.test`)", "obs", middlewares=["auth"], tls={})},
            "middlewares": {"auth": {"basicAuth": {"users": [USER]}}},
            "services": {"obs": service(cls.backend.url)}}})
        access = {"filePath": str(cls.access_path), "format": cls.FORMAT}
        access.update(cls.ACCESS_LOG)
        cls.portier = Portier({
            "entryPoints": {"web": {"address": "%s.1:%d" % (NET, cls.port)},
                            "traefik": {"address": "%s.1:%d" % (NET, cls.internal_port)}},
            "providers": {"file": {"filename": str(dynamic)}},
            "accessLog": access,
            "metrics": {"prometheus": {"addRoutersLabels": True}},
            "ping": {},
            "log": {"level": "debug", "filePath": str(cls.dir / "portier.log")},
        })
        try:
            cls.portier.start()
        except BaseException:
            cls.portier.__exit__(None, None, None)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.backend.close()

    def request(self, protocol, path, headers=None, host="obs.test"):
        h = {"Host": host}
        h.update(headers or {})
        return proto_request(protocol, "GET", NET + ".1", self.port, path, headers=h, source_ip=CLIENT)

    def logged(self, marker, path=None):
        """The access log lines holding `marker`, once there is one (written off the data plane)."""
        found = []

        def seen():
            found[:] = [line for line in read_lines(path or self.access_path) if marker in line]
            return found
        wait_until(seen, timeout=10, what="access log line with %s" % marker)
        return found

    def internal(self, path):
        return http_request("GET", "http://%s.1:%d%s" % (NET, self.internal_port, path))


class JsonAccessLog(Observed, unittest.TestCase):
    ACCESS_LOG = {"fields": {"headers": {"names": {"User-Agent": "keep", "Authorization": "redact"}}}}

    def test_fields_over_each_protocol(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                marker = uuid.uuid4().hex
                r = self.request(protocol, "/status/401?id=" + marker,
                                 headers={"User-Agent": "probe/1", "Authorization": "Basic eDp5"})
                self.assertEqual(r.status, 401)
                line = self.logged(marker)[0]
                entry = json.loads(line)
                self.assertEqual(entry["DownstreamStatus"], 401)
                self.assertEqual(entry["OriginStatus"], 401)
                self.assertEqual(entry["DownstreamContentSize"], len(r.body))
                self.assertEqual(entry["RequestMethod"], "GET")
                self.assertEqual(entry["RequestPath"], "/status/401?id=" + marker)
                self.assertEqual(entry["RequestProtocol"], "HTTP/2.0" if protocol.startswith("h2") else "HTTP/1.1")
                self.assertEqual(entry["RequestScheme"], "https" if is_tls(protocol) else "http")
                self.assertEqual(entry["RequestHost"], "obs.test")
                self.assertEqual(entry["RouterName"], "obs-tls@file" if is_tls(protocol) else "obs@file")
                self.assertEqual(entry["ServiceName"], "obs@file")
                self.assertEqual(entry["ServiceURL"], self.backend.url)
                self.assertEqual(entry["ServiceAddr"], self.backend.address)
                self.assertEqual(entry["ClientHost"], CLIENT)
                self.assertEqual(entry["ClientAddr"], "%s:%s" % (CLIENT, entry["ClientPort"]))
                self.assertEqual(entry["entryPointName"], "web")
                self.assertEqual(entry["request_User-Agent"], "probe/1")
                self.assertEqual(entry["request_Authorization"], "REDACTED")
                self.assertNotIn("request_Host", entry)  # headers are dropped unless named
                self.assertGreater(entry["Duration"], 0)
                self.assertEqual("TLSVersion" in entry, is_tls(protocol))
                self.assertRegex(entry["StartUTC"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
                keys = list(json.loads(line, object_pairs_hook=lambda pairs: [k for k, _ in pairs]))
                self.assertEqual(keys, sorted(keys), "keys in encoding/json's order")

    def test_basic_auth_user_is_logged(self):
        """ClientUsername: the user a basicAuth client sent, whether it passed or not."""
        for protocol in PROTOCOLS:
            for password, status in ((b"secret", 200), (b"wrong", 401)):
                with self.subTest(protocol=protocol, status=status):
                    marker = uuid.uuid4().hex
                    auth = "Basic " + base64.b64encode(b"alice:" + password).decode()
                    r = self.request(protocol, "/u?id=" + marker, headers={"Authorization": auth}, host="auth.test")
                    self.assertEqual(r.status, status)
                    entry = json.loads(self.logged(marker)[0])
                    self.assertEqual((entry["ClientUsername"], entry["DownstreamStatus"]), ("alice", status))

    def test_local_replies_are_logged(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                marker = uuid.uuid4().hex
                r = self.request(protocol, "/nothing?id=" + marker, host="unknown.test")
                self.assertEqual(r.status, 404)
                entry = json.loads(self.logged(marker)[0])
                self.assertEqual(entry["DownstreamStatus"], 404)
                self.assertEqual(entry["OriginStatus"], 0)
                self.assertNotIn("RouterName", entry)
                self.assertNotIn("ServiceURL", entry)

    def test_request_counters_over_each_protocol(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                series = ('traefik_router_requests_total{code="418",method="GET",protocol="http",'
                          'router="%s",service="obs@file"}' % ("obs-tls@file" if is_tls(protocol) else "obs@file"))
                before = self.counter(series)
                for _ in range(3):
                    self.assertEqual(self.request(protocol, "/status/418").status, 418)
                # A request is counted when its exchange ends, which may be just after the client
                # has read the answer: poll until the three are in (more than three never matches).
                wait_until(lambda: self.counter(series) - before == 3, timeout=10, what="the three requests counted")

    def counter(self, series):
        text = self.portier.diag_response("/metrics").body.decode()
        for line in text.splitlines():
            if line.startswith(series + " "):
                return float(line.split()[-1])
        return 0.0

    def test_metrics_pass_promtool_on_both_addresses(self):
        self.assertEqual(self.request("h1", "/status/200").status, 200)
        for name, r in (("diagnostics", self.portier.diag_response("/metrics")), ("entrypoint", self.internal("/metrics"))):
            with self.subTest(name):
                self.assertEqual(r.status, 200)
                text = r.body.decode()
                self.assertIn("traefik_entrypoint_requests_total{", text)
                self.assertIn("traefik_service_server_up{service=\"obs@file\",url=\"%s\"} 1" % self.backend.url, text)
                self.assertIn("traefik_config_reloads_total", text)
                self.assertIn('traefik_open_connections{entrypoint="web",protocol="TCP"}', text)
                check = subprocess.run(["promtool", "check", "metrics"], input=r.body, capture_output=True, timeout=30)
                self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_ping(self):
        r = self.internal("/ping")
        self.assertEqual((r.status, r.body), (200, b"OK"))
        r = proto_request("h2c", "GET", NET + ".1", self.internal_port, "/ping")
        self.assertEqual((r.status, r.body), (200, b"OK"))
        self.assertEqual(self.portier.diag_response("/ping").status, 200)
        # Internal requests are not logged without accessLog.addInternals.
        self.assertFalse([line for line in read_lines(self.access_path) if '"/ping"' in line])

    def test_sigusr1_reopens_both_logs(self):
        moved = self.access_path.with_name("access.log.1")
        os.rename(self.access_path, moved)
        os.rename(self.dir / "portier.log", self.dir / "portier.log.1")
        self.portier.proc.send_signal(signal.SIGUSR1)
        marker = uuid.uuid4().hex

        def new_file_has_line():
            self.request("h1", "/status/200?id=" + marker)
            return any(marker in line for line in read_lines(self.access_path))
        wait_until(new_file_has_line, timeout=10, what="a line in the reopened access log")
        wait_until(lambda: any("SIGUSR1" in line for line in read_lines(self.dir / "portier.log")),
                   timeout=10, what="portier's own log reopened")


class CommonAccessLog(Observed, unittest.TestCase):
    FORMAT = "common"

    def test_fail2ban_traefik_auth_filter_matches_401_lines(self):
        marker = uuid.uuid4().hex
        for i in range(3):
            self.assertEqual(self.request("h1", "/status/401?f2b=%s-%d" % (marker, i)).status, 401)
        self.assertEqual(self.request("h1", "/status/200?f2b=%s-ok" % marker).status, 200)
        lines = [line for line in self.logged(marker + "-ok") if marker in line]
        sample = self.dir / "f2b.log"
        sample.write_text("\n".join(l for l in read_lines(self.access_path) if marker in l) + "\n")
        # A 401 from the backend carries no user name ("-"): fail2ban's ddos mode is the one.
        out = subprocess.run(["fail2ban-regex", "--print-all-matched", str(sample), "traefik-auth[mode=ddos]"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"Lines: 4 lines, 0 ignored, 3 matched, 1 missed", out.stdout)
        self.assertIn(CLIENT, out.stdout)
        self.assertEqual(len(lines), 1)

    def test_fail2ban_normal_mode_matches_failed_logins(self):
        """A basicAuth failure is logged with the user name, which traefik-auth's normal mode takes."""
        marker = uuid.uuid4().hex
        bad = {"Authorization": "Basic " + base64.b64encode(b"mallory:guess").decode()}
        for i in range(2):
            r = self.request("h1", "/login?f2b=%s-%d" % (marker, i), headers=bad, host="auth.test")
            self.assertEqual(r.status, 401)
        lines = self.logged(marker + "-1")
        self.assertIn(" - mallory [", lines[0])
        sample = self.dir / "f2b-normal.log"
        sample.write_text("\n".join(l for l in read_lines(self.access_path) if marker in l) + "\n")
        out = subprocess.run(["fail2ban-regex", "--print-all-matched", str(sample), "traefik-auth"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"Lines: 2 lines, 0 ignored, 2 matched, 0 missed", out.stdout)

    def test_goaccess_counts_the_requests(self):
        marker = uuid.uuid4().hex
        for i in range(5):
            self.assertEqual(self.request("h1", "/status/200?g=%s-%d" % (marker, i)).status, 200)
        self.logged("%s-4" % marker)
        sample = self.dir / "goaccess.log"
        sample.write_text("\n".join(l for l in read_lines(self.access_path) if marker in l) + "\n")
        report = self.dir / "report.json"
        out = subprocess.run(["goaccess", str(sample), "--log-format=COMBINED", "--no-global-config",
                              "-o", str(report)], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        general = json.loads(report.read_text())["general"]
        self.assertEqual(general["total_requests"], 5)
        self.assertEqual(general["failed_requests"], 0)


class FilteredAccessLog(Observed, unittest.TestCase):
    ACCESS_LOG = {"filters": {"statusCodes": ["500-599"]}}

    def test_only_matching_statuses_are_logged(self):
        marker = uuid.uuid4().hex
        self.assertEqual(self.request("h1", "/status/200?id=%s-ok" % marker).status, 200)
        self.assertEqual(self.request("h1", "/status/503?id=%s-bad" % marker).status, 503)
        self.logged(marker + "-bad")
        self.assertFalse([l for l in read_lines(self.access_path) if marker + "-ok" in l])


class PrometheusScrape(unittest.TestCase):
    """A real Prometheus server scrapes portier's metrics entrypoint; its query API must count
    exactly the requests sent."""

    def test_prometheus_counts_the_requests(self):
        backend = Backend("prom", NET + ".3")
        self.addCleanup(backend.close)
        tmp = make_temp_dir()
        # Prometheus listens on this module's own address too: a port free on 127.0.0.1 now may be
        # taken by a module running alongside before Prometheus binds it.
        port, metrics_port, prom_port = free_port(NET + ".1"), free_port(NET + ".1"), free_port(NET + ".1")
        dynamic = write_file_atomic(tmp / "dynamic.yml", {"http": {
            "routers": {"p": router("PathPrefix(`/`)", "p")}, "services": {"p": service(backend.url)}}})
        portier = Portier({
            "entryPoints": {"web": {"address": "%s.1:%d" % (NET, port)},
                            "metrics": {"address": "%s.1:%d" % (NET, metrics_port)}},
            "providers": {"file": {"filename": str(dynamic)}},
            "metrics": {"prometheus": {"entryPoint": "metrics"}},
        })
        self.addCleanup(portier.__exit__, None, None, None)
        portier.start()
        sent = 7
        for _ in range(sent):
            self.assertEqual(http_request("GET", "http://%s.1:%d/x" % (NET, port)).status, 200)
        (tmp / "prometheus.yml").write_text(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: portier\n"
            "    static_configs:\n      - targets: ['%s.1:%d']\n" % (NET, metrics_port))
        with open(tmp / "prometheus.log", "wb") as log:
            proc = subprocess.Popen(["prometheus", "--config.file=%s" % (tmp / "prometheus.yml"),
                                     "--storage.tsdb.path=%s" % (tmp / "tsdb"),
                                     "--web.listen-address=%s.1:%d" % (NET, prom_port)],
                                    stdout=subprocess.DEVNULL, stderr=log)

        def stop():
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.addCleanup(stop)
        query = 'sum(traefik_entrypoint_requests_total{entrypoint="web",code="200"})'
        url = "http://%s.1:%d/api/v1/query?query=%s" % (NET, prom_port, urllib.parse.quote(query))
        value = []

        def answered():
            if proc.poll() is not None:
                raise AssertionError("prometheus exited: %s" % (tmp / "prometheus.log").read_text()[-2000:])
            try:
                r = http_request("GET", url, timeout=2)
            except OSError:
                return False
            result = r.json().get("data", {}).get("result", []) if r.status == 200 else []
            value[:] = [float(result[0]["value"][1])] if result else []
            return bool(value)
        try:
            wait_until(answered, timeout=60, what="Prometheus to scrape portier")
        except AssertionError as e:  # what Prometheus said, for the reason
            raise AssertionError("%s; prometheus.log ends: %s" % (e, (tmp / "prometheus.log").read_text()[-2000:]))
        self.assertEqual(value[0], sent)


class Terminating(unittest.TestCase):
    """While draining, ping answers terminatingStatusCode (Traefik: 503 by default)."""

    def test_ping_answers_the_terminating_code_while_draining(self):
        backend = Backend("slow", NET + ".4")
        self.addCleanup(backend.close)
        tmp = make_temp_dir()
        port = free_port(NET + ".1")
        dynamic = write_file_atomic(tmp / "dynamic.yml", {"http": {
            "routers": {"s": router("PathPrefix(`/`)", "s")}, "services": {"s": service(backend.url)}}})
        portier = Portier({
            "entryPoints": {"web": {"address": "%s.1:%d" % (NET, port)},
                            "traefik": {"address": "%s.1:%d" % (NET, free_port(NET + ".1"))}},
            "providers": {"file": {"filename": str(dynamic)}},
            "ping": {"terminatingStatusCode": 418},
        })
        self.addCleanup(portier.__exit__, None, None, None)
        portier.start()
        self.assertEqual(portier.diag_response("/ping").status, 200)
        result = {}

        def in_flight():
            result["r"] = http_request("GET", "http://%s.1:%d/gate/drain" % (NET, port), timeout=20)
        t = threading.Thread(target=in_flight)
        t.start()
        wait_until(lambda: "/gate/drain" in backend.paths(), timeout=10, what="the request to reach the backend")
        portier.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: portier.diag_response("/ping").status == 418, timeout=10,
                   what="ping to answer the terminating status")
        backend.gate("drain").set()
        t.join(20)
        self.assertEqual(result["r"].status, 200)
        self.assertEqual(portier.wait_exit(15), 0)


if __name__ == "__main__":
    unittest.main()
