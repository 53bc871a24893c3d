"""`portier check` validates what `portier run` would load (issue 18 items 1 and 6):
- static files written from Traefik's documentation (v2 and v3 spellings, keys in other cases,
  sections as booleans, root keys Traefik ignores) load with warnings and exit 0, and `run`
  serves with them;
- every dynamic file of the file provider (a directory) is read: an unknown middleware type
  is listed with its file and line, exit 1; a clean set exits 0;
- with --docker, the labels of the containers running on the configured daemons (a real
  dockerd): a bad label is listed with its container and label, exit 1; without it, exit 0."""

import re
import unittest
from pathlib import Path

from docker_e2e import needs_root
from dockerd import Dockerd
from portier_e2e import Portier, free_port, make_temp_dir, run_cli, started, write_file_atomic

NET = "127.0.92"
CORPUS = Path(__file__).resolve().parent / "traefik_static"
ROUTES = {"http": {"routers": {"hello": {"rule": "Host(`hello.test`)", "service": "hello"}},
                   "services": {"hello": {"loadBalancer": {"servers": [{"url": "http://127.0.0.1:9"}]}}}}}
ENV = {"CF_DNS_API_TOKEN": "test-token"}


def corpus_text(name, tmpdir):
    """A corpus file with its addresses on free ports of NET.1 and {tmpdir} filled in."""
    text = (CORPUS / name).read_text().replace("{tmpdir}", str(tmpdir))
    return re.sub(r'address: ":\d+"', lambda m: 'address: "%s.1:%d"' % (NET, free_port(NET + ".1")), text,
                  flags=re.I)


class StaticCorpus(unittest.TestCase):
    EXPECTED_WARNINGS = {
        "v3_https_redirect.yml": [],
        "v3_api_dashboard.yml": [],
        "v2_mixed_case.yml": ["serverTransport: unknown key, ignored", "environment: unknown key, ignored",
                              "http: unknown key, ignored", "tls: unknown key, ignored"],
        "v2_experimental_http3.yml": ["experimental.http3: ignored: HTTP/3 is enabled per entrypoint"],
    }

    def test_corpus_covers_every_file(self):
        self.assertEqual(sorted(p.name for p in CORPUS.glob("*.yml")), sorted(self.EXPECTED_WARNINGS))

    def test_each_file_checks_with_its_warnings_and_runs(self):
        for name, expected in self.EXPECTED_WARNINGS.items():
            with self.subTest(name=name):
                tmp = make_temp_dir()
                (tmp / "dynamic").mkdir()
                write_file_atomic(tmp / "dynamic" / "routes.yml", ROUTES)
                text = corpus_text(name, tmp)
                config = write_file_atomic(tmp / "portier.yml", text)
                r = run_cli(["check", "--config", str(config)], env=ENV)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                warnings = [line for line in r.stderr.splitlines() if line.startswith("portier: warning: ")]
                self.assertEqual(len(warnings), len(expected), r.stderr)
                for w in expected:
                    self.assertIn(w, r.stderr)
                with started(Portier(text, env=ENV)) as p:
                    for w in expected:
                        self.assertIn(w, p.logs())  # printed before it was ready


class DynamicFiles(unittest.TestCase):
    def check(self, files):
        tmp = make_temp_dir()
        (tmp / "dynamic").mkdir()
        for name, content in files.items():
            write_file_atomic(tmp / "dynamic" / name, content)
        config = write_file_atomic(tmp / "portier.yml", {
            "entryPoints": {"web": {"address": "%s.1:80" % NET}},
            "providers": {"file": {"directory": str(tmp / "dynamic")}}})
        return run_cli(["check", "--config", str(config)]), tmp

    def test_unknown_middleware_type_in_one_file_of_the_directory(self):
        r, tmp = self.check({
            "a.yml": ROUTES,
            "b.yml": "http:\n  middlewares:\n    strip:\n      stripPrefix: {prefixes: [/a]}\n"
                     "    bogus:\n      notAMiddleware: {x: 1}\n"})
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"%s.*bogus.*line 6" % re.escape(str(tmp / "dynamic" / "b.yml")))

    def test_clean_directory(self):
        r, _ = self.check({"a.yml": ROUTES, "b.yml": "http:\n  middlewares:\n    strip:\n"
                                                     "      stripPrefix: {prefixes: [/a]}\n"})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(": ok", r.stdout)


@needs_root
class RunningContainers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = make_temp_dir()
        cls.daemon = Dockerd("check", sock_dir=cls.tmp)
        try:
            cls.daemon.start()
        except BaseException:
            cls.daemon.close()
            raise
        cls.config = write_file_atomic(cls.tmp / "portier.yml", {
            "entryPoints": {"web": {"address": "%s.1:80" % NET}},
            "providers": {"docker": {"endpoints": ["unix://%s/docker-*.sock" % cls.tmp]}}})

    @classmethod
    def tearDownClass(cls):
        cls.daemon.close()

    def check(self):
        return run_cli(["check", "--config", str(self.config), "--docker"], timeout=60)

    def test_bad_label_then_clean(self):
        good = {"traefik.http.routers.good.rule": "Host(`good.test`)",
                "traefik.http.services.good.loadbalancer.server.port": "8080"}
        port = free_port(NET + ".3")
        good_id = self.daemon.run(good, ip=NET + ".3", port=port, name="good")
        bad_id = self.daemon.run({"traefik.http.middlewares.m.notAMiddleware.x": "1"}, ip=NET + ".4",
                                 port=free_port(NET + ".4"), name="bad")
        r = self.check()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("container bad", r.stdout)
        self.assertIn("traefik.http.middlewares.m.notAMiddleware.x", r.stdout)
        self.assertNotIn("container good", r.stdout)
        self.daemon.remove(bad_id)
        r = self.check()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.daemon.remove(good_id)

    def test_no_daemon_matching_is_an_error(self):
        config = write_file_atomic(self.tmp / "none.yml", {
            "entryPoints": {"web": {"address": "%s.1:80" % NET}},
            "providers": {"docker": {"endpoints": ["unix://%s/nothing-*.sock" % self.tmp]}}})
        r = run_cli(["check", "--config", str(config), "--docker"])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("no Docker daemon matches", r.stdout)


if __name__ == "__main__":
    unittest.main()
