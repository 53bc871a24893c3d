"""Static configuration errors (SPEC 1, 2): every problem reported with its YAML path and line,
`run` exits 2 without serving, `check` exits 1; a good file checks with exit 0."""

import unittest

from portier_e2e import Portier, free_port, make_temp_dir, run_cli

NET = "127.0.30"

BAD = """\
entryPoints:
  web:
    address: "127.0.30.1:44x"
  websecure:
    address: "127.0.30.1:%d"
    bogusKey: true
log:
  level: info
"""


class StaticConfigErrors(unittest.TestCase):
    def bad_file(self, text):
        path = make_temp_dir() / "portier.yml"
        path.write_text(text)
        return path

    def assertNamesBothProblems(self, stderr):
        self.assertRegex(stderr, r'entryPoints\.web\.address\b[^\n]*44x[^\n]*\bline 3\b')
        self.assertRegex(stderr, r'entryPoints\.websecure\.bogusKey\b[^\n]*\bline 6\b')

    def test_run_refuses_with_exit_2_and_every_problem(self):
        port = free_port(NET + ".1")
        p = Portier(BAD % port)
        with p:
            p.start(expect_ready=False)
            code = p.wait_exit(15)
            self.assertEqual(code, 2, p.logs())
            self.assertNamesBothProblems(p.logs())
            self.assertNotIn("READY=1", p.notified())

    def test_check_reports_every_problem_with_exit_1(self):
        path = self.bad_file(BAD % free_port(NET + ".1"))
        r = run_cli(["check", "--config", str(path)])
        self.assertEqual(r.returncode, 1, r.stderr + r.stdout)
        self.assertNamesBothProblems(r.stderr + r.stdout)

    def test_unsupported_traefik_key_is_an_error(self):
        path = self.bad_file("entryPoints:\n  web:\n    address: \"127.0.30.1:%d\"\n"
                             "api:\n  dashboard: true\n  debug: true\n" % free_port(NET + ".1"))
        r = run_cli(["run", "--config", str(path)], timeout=15)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertRegex(r.stderr, r"\bapi\.debug\b[^\n]*not supported")

    def test_keys_without_effect_on_tcp_and_udp_entrypoints(self):
        text = ("entryPoints:\n"
                "  tcp-5432:\n"
                "    address: \"127.0.30.1:%d\"\n"
                "    http: {middlewares: [a@file]}\n"
                "    transport: {respondingTimeouts: {readTimeout: 5s, idleTimeout: 1m}}\n"
                "  dns:\n"
                "    address: \"127.0.30.1:%d/udp\"\n"
                "    transport: {keepAliveMaxRequests: 5}\n"
                % (free_port(NET + ".1"), free_port(NET + ".1", udp=True)))
        r = run_cli(["run", "--config", str(self.bad_file(text))], timeout=15)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertRegex(r.stderr, r"entryPoints\.tcp-5432\.http: has no effect on a TCP entrypoint[^\n]*line 4\b")
        self.assertRegex(r.stderr, r"entryPoints\.tcp-5432\.transport\.respondingTimeouts\.readTimeout: "
                                   r"has no effect on a TCP entrypoint[^\n]*line 5\b")
        self.assertNotIn("idleTimeout", r.stderr)  # the TCP routers' idle timeout: it acts
        self.assertRegex(r.stderr, r"entryPoints\.dns\.transport\.keepAliveMaxRequests: "
                                   r"has no effect on a UDP entrypoint[^\n]*line 8\b")

    def test_yaml_syntax_error_names_the_line(self):
        path = self.bad_file("entryPoints:\n  web:\n    address: [oops\n")
        r = run_cli(["run", "--config", str(path)], timeout=15)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertRegex(r.stderr, r"line [34]\b")

    def test_missing_config_file(self):
        r = run_cli(["run", "--config", str(make_temp_dir() / "absent.yml")], timeout=15)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("absent.yml", r.stderr)

    def test_check_good_file_exits_0(self):
        d = make_temp_dir()
        dynamic = d / "dynamic.yml"
        dynamic.write_text("http:\n  routers:\n    a:\n      rule: \"Host(`a.test`)\"\n      service: a\n"
                           "  services:\n    a:\n      loadBalancer:\n        servers:\n"
                           "          - url: \"http://127.0.30.2:8080\"\n")
        path = d / "portier.yml"
        path.write_text("entryPoints:\n  web:\n    address: \"127.0.30.1:%d\"\n"
                        "diagnostics:\n  address: \"127.0.0.1:%d\"\n"
                        "state:\n  directory: \"%s\"\n"
                        "providers:\n  file:\n    filename: \"%s\"\n"
                        % (free_port(NET + ".1"), free_port(), d / "state", dynamic))
        r = run_cli(["check", "--config", str(path)])
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)

    def test_version(self):
        r = run_cli(["version"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"\d+\.\d+\.\d+")


if __name__ == "__main__":
    unittest.main()
