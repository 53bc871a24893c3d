"""Diagnostics endpoints (SPEC 10): /health and /routes.json shapes for a file route."""

import unittest

from portier_e2e import ProxyTest, http_request, router, service, wait_until, write_file_atomic

NET = "127.0.31"
RULE = "Host(`diag.test`) && PathPrefix(`/api`)"


class Diagnostics(ProxyTest, unittest.TestCase):
    IP = NET + ".1"
    BACKENDS = [("diag-a", NET + ".2"), ("diag-b", NET + ".3")]

    @classmethod
    def dynamic(cls):
        return {"http": {
            "routers": {
                "api": router(RULE, "api"),
                "pinned": router("Host(`pinned.test`)", "api", priority=42),
            },
            "services": {"api": service(cls.b["diag-a"].url, cls.b["diag-b"].url)},
        }}

    def test_health_shape(self):
        r = self.portier.diag_response("/health")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers.get("content-type", "").startswith("application/json"), r.headers)
        h = r.json()
        self.assertEqual(h["status"], "ok")
        self.assertIsInstance(h["version"], str)
        self.assertRegex(h["version"], r"\d+\.\d+")
        self.assertIsInstance(h["uptime_seconds"], (int, float))
        self.assertGreaterEqual(h["uptime_seconds"], 0)
        self.assertEqual(h["routers"]["http"], 2)
        self.assertEqual(h["routers"]["tcp"], 0)
        self.assertEqual(h["routers"]["udp"], 0)
        self.assertEqual(h["services"]["http"], 1)
        self.assertEqual(h["services"]["tcp"], 0)
        self.assertEqual(h["services"]["udp"], 0)
        self.assertIsInstance(h["auto_routes"], bool)
        self.assertFalse(h["auto_routes"])
        self.assertIsInstance(h["providers"], list)
        for provider in h["providers"]:
            self.assertIn("name", provider)
            self.assertIn("status", provider)
        self.assertEqual(h["errors"], 0)

    def test_health_last_snapshot_times_each_rebuild(self):
        snap = self.portier.diag("/health")["last_snapshot"]
        self.assertEqual(snap["routers"], 2)
        self.assertGreaterEqual(snap["generation"], 2)  # the empty start-up snapshot, then the file
        for key in ("merge_ms", "compile_ms", "build_ms", "publish_ms"):
            self.assertIsInstance(snap[key], (int, float), key)
            self.assertGreaterEqual(snap[key], 0, key)
        self.assertLess(snap["build_ms"], 5000)
        self.assertGreaterEqual(snap["build_ms"], snap["compile_ms"])
        # A third router: a new snapshot with its own figures and the next generation.
        grown = self.dynamic()
        grown["http"]["routers"]["extra"] = router("Host(`extra.test`)", "api")
        try:
            write_file_atomic(self.dynamic_path, grown)
            after = wait_until(lambda: (lambda s: s if s["routers"] == 3 else None)(
                self.portier.diag("/health")["last_snapshot"]), what="snapshot with 3 routers")
            self.assertGreater(after["generation"], snap["generation"])
            self.assertEqual(self.get("/", host="extra.test").status, 200)
        finally:
            write_file_atomic(self.dynamic_path, self.dynamic())
            wait_until(lambda: self.portier.diag("/health")["last_snapshot"]["routers"] == 2,
                       what="snapshot back to 2 routers")

    def test_routes_json_shape(self):
        r = self.portier.diag_response("/routes.json")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers.get("content-type", "").startswith("application/json"))
        doc = r.json()
        for kind in ("http", "tcp", "udp"):
            self.assertIn("routers", doc[kind])
            self.assertIn("services", doc[kind])
        self.assertEqual(doc["errors"], [])
        api = doc["http"]["routers"]["api@file"]
        self.assertEqual(api["rule"], RULE)
        self.assertEqual(api["entryPoints"], ["web"])
        self.assertIn(api["service"], ("api", "api@file"))
        self.assertEqual(api["priority"], len(RULE))
        self.assertEqual(api["provider"], "file")
        self.assertEqual(api["status"], "enabled")
        self.assertFalse(api.get("error"))
        self.assertEqual(doc["http"]["routers"]["pinned@file"]["priority"], 42)
        servers = doc["http"]["services"]["api@file"]["servers"]
        self.assertEqual(sorted(s["url"] for s in servers), sorted([self.b["diag-a"].url, self.b["diag-b"].url]))
        self.assertTrue(all(s["healthy"] is True for s in servers))

    def test_unknown_path_is_404(self):
        r = http_request("GET", self.portier.diag_url("/no-such-endpoint"))
        self.assertEqual(r.status, 404)

    def test_diagnostics_are_not_served_on_the_entrypoint(self):
        r = self.get("/health", host="diag.test")
        self.assertEqual(r.status, 404)


if __name__ == "__main__":
    unittest.main()
