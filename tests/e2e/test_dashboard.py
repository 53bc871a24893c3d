"""Traefik's API and portier's dashboard (issue 17 item 5). On one portier with a real Docker
daemon, a file-provider certificate made by openssl and `api`, `metrics.prometheus` set:
- /api/* answer in Traefik's shapes on the diagnostics address (lists with name/provider,
  serverStatus, usedBy, pagination with X-Next-Page, filters, sortBy/direction, 404 with a
  message);
- a router whose service is api@internal, behind basicAuth, serves the API and the dashboard
  over each of PROTOCOLS; `api.insecure` serves them on the `traefik` entrypoint;
- the dashboard in headless Chromium: no console error, no request but to portier, it shows
  the routers, a container's label error and the certificate's expiry, and a container started
  afterwards appears without a reload (screenshot in build/test-artifacts/dashboard.png)."""

import base64
import datetime
import subprocess
import unittest
from pathlib import Path

from chromium_cdp import Chromium
from docker_e2e import DockerPortierMixin, needs_root, web_labels
from portier_e2e import (PROTOCOLS, free_port, http_request, make_temp_dir, portier_bin, proto_request, router,
                         wait_until, write_file_atomic)
from tcp_peers import make_cert

NET = "127.0.128"
IP = NET + ".1"
ARTIFACTS = Path(portier_bin()).resolve().parent / "test-artifacts"


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def not_after_iso(cert_path):
    """The certificate's notAfter as portier prints it (ISO 8601 UTC), read by openssl."""
    out = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", str(cert_path)],
                         capture_output=True, text=True, check=True).stdout.strip()
    when = datetime.datetime.strptime(out.split("=", 1)[1], "%b %d %H:%M:%S %Y %Z")
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@needs_root
class Dashboard(DockerPortierMixin, unittest.TestCase):
    DAEMONS = ("dash",)

    @classmethod
    def portier_config(cls):
        d = make_temp_dir()
        cls.cert = make_cert(d, "dash.test")
        users = subprocess.run(["htpasswd", "-n", "-b", "-B", "-C", "5", "admin", "s3cret"], capture_output=True,
                               text=True, check=True).stdout.strip()
        rule = "Host(`dash.test`) && (PathPrefix(`/api`) || PathPrefix(`/dashboard`))"
        dynamic = {
            "http": {
                "routers": {"dash": router(rule, "api@internal", middlewares=["auth"]),
                            # Above the rule's length: first by priority descending, last by name descending.
                            "dash-tls": router(rule, "api@internal", priority=1000, middlewares=["auth"], tls={})},
                "middlewares": {"auth": {"basicAuth": {"users": [users]}}},
            },
            "tls": {"certificates": [{"certFile": str(cls.cert.cert), "keyFile": str(cls.cert.key)}]},
        }
        cls.port = free_port(IP)
        cls.traefik_port = free_port(IP)
        config = {
            "entryPoints": {"web": {"address": "%s:%d" % (IP, cls.port)},
                            "traefik": {"address": "%s:%d" % (IP, cls.traefik_port)}},
            "providers": {"file": {"filename": str(write_file_atomic(d / "dynamic.yml", dynamic))},
                          "docker": {"endpoints": [cls.daemons["dash"].endpoint]}},
            "api": {"dashboard": True, "insecure": True, "dashboardName": "edge-1"},
            "metrics": {"prometheus": {"entryPoint": "web"}},
            "log": {"level": "debug"},
        }
        cls.web = "%s:%d" % (IP, cls.port)
        return config, []

    def run_container(self, name, labels=None):
        ip = NET + ".2"
        port = free_port(ip)
        labels = labels or web_labels(name, ip, port)
        self.daemons["dash"].run(labels, ip=ip, port=port, name=name)
        return labels

    def api(self, path):
        r = self.portier.diag_response(path)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers["content-type"], "application/json")
        return r

    def test_api_shapes_on_the_diagnostics_address(self):
        routers = self.api("/api/http/routers").json()
        dash = next(r for r in routers if r["name"] == "dash@file")
        self.assertEqual((dash["provider"], dash["status"], dash["service"]), ("file", "enabled", "api@internal"))
        self.assertEqual((dash["using"], dash["middlewares"]), (["web"], ["auth@file"]))
        self.assertEqual(dash["priorityStr"], str(dash["priority"]))
        mw = self.api("/api/http/middlewares/auth@file").json()
        self.assertEqual((mw["type"], mw["status"]), ("basicauth", "enabled"))
        self.assertEqual(sorted(mw["usedBy"]), ["dash-tls@file", "dash@file"])
        page = self.api("/api/http/routers?per_page=1&page=1")
        self.assertEqual(len(page.json()), 1)
        self.assertEqual(page.headers["x-next-page"], "2")
        self.assertEqual([r["name"] for r in self.api("/api/http/routers?search=dash-tls").json()], ["dash-tls@file"])
        by_priority = self.api("/api/http/routers?sortBy=priority&direction=desc").json()
        self.assertEqual(by_priority, sorted(by_priority, key=lambda r: (r["priority"], r["name"]), reverse=True))
        names = [r["name"] for r in by_priority]
        self.assertLess(names.index("dash-tls@file"), names.index("dash@file"))  # 1000 first
        names = [r["name"] for r in self.api("/api/http/routers?direction=desc").json()]
        self.assertLess(names.index("dash@file"), names.index("dash-tls@file"))  # by name, descending
        missing = self.portier.diag_response("/api/http/routers/nope@file")
        self.assertEqual((missing.status, missing.json()), (404, {"message": "router not found: nope@file"}))
        eps = self.api("/api/entrypoints").json()
        self.assertEqual([e["name"] for e in eps], ["traefik", "web"])
        self.assertEqual(eps[1]["address"], self.web)
        overview = self.api("/api/overview").json()
        self.assertGreaterEqual(overview["http"]["routers"]["total"], 2)
        self.assertEqual(overview["features"]["metrics"], "Prometheus")
        self.assertEqual(sorted(overview["providers"]), ["Docker", "File"])
        self.assertEqual(self.api("/api/tcp/routers").json(), [])
        self.assertEqual(self.api("/api/udp/services").json(), [])
        self.assertIn("routers", self.api("/api/rawdata").json())
        self.assertEqual(self.api("/api/version").json()["dashboardName"], "edge-1")

    def test_service_server_status(self):
        labels = self.run_container("status-web")
        wait_until(lambda: self.portier.diag_response("/api/http/services/status-web@docker").status == 200, 15,
                   "status-web@docker in /api/http/services")
        svc = self.api("/api/http/services/status-web@docker").json()
        url = "http://%s:%s" % (labels["rediacc.service_ip"],
                                labels["traefik.http.services.status-web.loadbalancer.server.port"])
        self.assertEqual(svc["serverStatus"], {url: "UP"})
        self.assertEqual(svc["loadBalancer"]["servers"], [{"url": url}])
        self.assertEqual((svc["type"], svc["provider"], svc["usedBy"]), ("loadbalancer", "docker", ["status-web@docker"]))

    def test_api_internal_router_behind_basic_auth(self):
        def get(protocol, path, auth=True):
            headers = {"Host": "dash.test"}
            if auth:
                headers["Authorization"] = basic("admin", "s3cret")
            return proto_request(protocol, "GET", IP, self.port, path, headers=headers)
        # The data plane's copy of the API is published by the control thread: wait for it.
        wait_until(lambda: get("h1", "/api/version").status == 200, 10, "api@internal answering")
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                self.assertEqual(get(protocol, "/api/version", auth=False).status, 401)
                r = get(protocol, "/api/http/routers?search=dash&per_page=1")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.headers["x-next-page"], "2")
                self.assertEqual(r.json()[0]["name"], "dash-tls@file")
                r = get(protocol, "/dashboard/")
                self.assertEqual(r.status, 200, r)
                self.assertIn(b'<script src="dashboard.js"', r.body)
                self.assertTrue(r.headers["content-security-policy"].startswith("default-src 'self'"))
                self.assertEqual(get(protocol, "/api/nothing").status, 404)

    def test_insecure_serves_the_traefik_entrypoint(self):
        base = "http://%s:%d" % (IP, self.traefik_port)
        wait_until(lambda: http_request("GET", base + "/api/version").status == 200, 10, "api on `traefik`")
        self.assertEqual(http_request("GET", base + "/api/version").json()["Version"],
                         self.portier.diag("/health")["version"])
        root = http_request("GET", base + "/")
        self.assertEqual((root.status, root.headers["location"]), (301, "/dashboard/"))
        self.assertEqual(http_request("GET", base + "/dashboard/").status, 200)
        self.assertEqual(http_request("GET", base + "/other").status, 404)

    def test_dashboard_in_chromium(self):
        self.run_container("shown-web")
        bad = web_labels("bad-web", NET + ".2", 1)
        bad["traefik.http.services.bad-web.loadbalancer.server.port"] = "80x"
        self.run_container("bad-web", bad)
        wait_until(lambda: any("bad-web" in e["source"] for e in self.portier.diag("/routes.json")["errors"]), 15,
                   "bad-web's label error")
        label_error = next(e for e in self.portier.diag("/routes.json")["errors"] if "bad-web" in e["source"])
        expiry = not_after_iso(self.cert.cert)
        origin = "http://%s" % self.portier.diag_address
        with Chromium() as browser:
            browser.navigate(origin + "/dashboard/")
            text = browser.wait_for_text("dash@file", "shown-web@docker", "bad-web", label_error["message"], expiry)
            self.assertIn("dash.test", text)  # the certificate's names beside its expiry
            self.assertEqual(browser.evaluate("document.title"), "edge-1")
            browser.wait_for_text("req/s")  # rates from the metrics' counters, from the second poll on
            browser.screenshot(ARTIFACTS / "dashboard.png")
            browser.evaluate("window.portierMarker = 42")  # gone if the page reloads
            navigations = browser.navigations
            self.run_container("late-web")
            browser.wait_for_text("late-web@docker")
            self.assertEqual(browser.evaluate("window.portierMarker"), 42)
            self.assertEqual(browser.navigations, navigations)
            self.assertEqual(browser.console_errors, [])
            foreign = [u for u in browser.requests if not (u.startswith(origin + "/") or u.startswith("data:"))]
            self.assertEqual(foreign, [])
            self.assertIn(origin + "/api/portier", browser.requests)


if __name__ == "__main__":
    unittest.main()
