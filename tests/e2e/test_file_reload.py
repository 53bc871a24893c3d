"""File provider (SPEC 3, 10): changes apply without restart; a broken change keeps the previous
routes and shows up in /health and /routes.json until fixed."""

import json
import unittest

from portier_e2e import (Backend, Portier, free_port, http_config, http_request, make_temp_dir, router,
                         service, wait_until, write_file_atomic)

NET = "127.0.27"


class FileReload(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = Backend("a", NET + ".2")
        cls.b = Backend("b", NET + ".3")

    @classmethod
    def tearDownClass(cls):
        cls.a.close()
        cls.b.close()

    def setUp(self):
        self.ip = NET + ".10"
        self.port = free_port(self.ip)
        self.dir = make_temp_dir()
        self.path = self.dir / "dynamic.yml"

    def start(self, dynamic, provider=None):
        if dynamic is not None:
            write_file_atomic(self.path, dynamic)
        cfg = http_config({"web": "%s:%d" % (self.ip, self.port)}, self.path)
        if provider:
            cfg["providers"] = {"file": provider}
        self.p = Portier(cfg)
        self.addCleanup(self.p.__exit__, None, None, None)
        self.p.start()
        return self.p

    def get(self, host):
        return http_request("GET", "http://%s:%d/" % (self.ip, self.port), headers={"Host": host})

    def backend_of(self, host):
        r = self.get(host)
        return r.json()["backend"] if r.status == 200 else r.status

    def routes(self, *pairs):
        return {"http": {
            "routers": {name: router("Host(`%s.reload.test`)" % name, name) for name, _ in pairs},
            "services": {name: service(b.url) for name, b in pairs},
        }}

    def test_change_applied_without_restart(self):
        p = self.start(self.routes(("old", self.a)))
        self.assertEqual(self.backend_of("old.reload.test"), "a")
        self.assertEqual(self.backend_of("new.reload.test"), 404)
        pid = p.proc.pid
        write_file_atomic(self.path, self.routes(("old", self.a), ("new", self.b)))
        wait_until(lambda: self.backend_of("new.reload.test") == "b", what="the new route")
        self.assertEqual(self.backend_of("old.reload.test"), "a")
        write_file_atomic(self.path, self.routes(("new", self.b)))
        wait_until(lambda: self.backend_of("old.reload.test") == 404, what="the old route removed")
        self.assertTrue(p.running())
        self.assertEqual(p.proc.pid, pid)
        health = p.diag("/health")
        self.assertEqual(health["routers"]["http"], 1)
        self.assertEqual(health["errors"], 0)

    def test_in_place_rewrite_is_applied(self):
        self.start(self.routes(("one", self.a)))
        with open(self.path, "w") as f:  # truncate + write, as an editor without rename does
            f.write(json.dumps(self.routes(("one", self.b))))
        wait_until(lambda: self.backend_of("one.reload.test") == "b", what="the rewritten service")

    def test_broken_change_keeps_old_routes_until_fixed(self):
        p = self.start(self.routes(("keep", self.a)))
        self.assertEqual(p.diag("/health")["status"], "ok")
        write_file_atomic(self.path, "http:\n  routers: [unclosed\n    - {\n")
        health = wait_until(lambda: (lambda h: h if h["errors"] > 0 else None)(p.diag("/health")),
                            what="the YAML error in /health")
        self.assertEqual(health["status"], "degraded")
        self.assertEqual(self.backend_of("keep.reload.test"), "a")
        errors = p.diag("/routes.json")["errors"]
        self.assertTrue(errors, "no error in /routes.json")
        self.assertTrue(any(e.get("provider") == "file" and e.get("message") for e in errors), errors)
        self.assertIn("keep@file", p.diag("/routes.json")["http"]["routers"])
        self.assertTrue(p.running())

        write_file_atomic(self.path, self.routes(("keep", self.a), ("fixed", self.b)))
        wait_until(lambda: self.backend_of("fixed.reload.test") == "b", what="the fixed file applied")
        health = wait_until(lambda: (lambda h: h if h["errors"] == 0 else None)(p.diag("/health")),
                            what="the error cleared")
        self.assertEqual(health["status"], "ok")
        self.assertEqual(p.diag("/routes.json")["errors"], [])

    def test_bad_rule_is_reported_and_others_keep_working(self):
        p = self.start(self.routes(("good", self.a)))
        broken = self.routes(("good", self.a), ("bad", self.b))
        broken["http"]["routers"]["bad"]["rule"] = "Host(`unterminated"
        write_file_atomic(self.path, broken)
        wait_until(lambda: p.diag("/health")["errors"] > 0, what="the rule error in /health")
        self.assertEqual(p.diag("/health")["status"], "degraded")
        self.assertEqual(self.backend_of("good.reload.test"), "a")
        routes = p.diag("/routes.json")
        listed = [e.get("message", "") for e in routes["errors"]]
        listed += [r.get("error") or "" for r in routes["http"]["routers"].values()]
        self.assertTrue(any(m for m in listed), routes)

    def test_directory_provider_picks_up_new_files(self):
        d = make_temp_dir()
        write_file_atomic(d / "a.yml", self.routes(("first", self.a)))
        self.start(None, provider={"directory": str(d), "watch": True})
        self.assertEqual(self.backend_of("first.reload.test"), "a")
        write_file_atomic(d / "b.yml", self.routes(("second", self.b)))
        wait_until(lambda: self.backend_of("second.reload.test") == "b", what="the route of the new file")
        self.assertEqual(self.backend_of("first.reload.test"), "a")
        (d / "b.yml").unlink()
        wait_until(lambda: self.backend_of("second.reload.test") == 404, what="the route of the deleted file gone")


if __name__ == "__main__":
    unittest.main()
