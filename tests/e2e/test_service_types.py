"""Traefik's service types (issue 13 item 4): `weighted` (nested, sticky cookie, children's
health with `healthCheck: {}`), `mirroring` (percent per mirror, mirrorBody, maxBodySize, the
main service's answer to the client, copies discarded) and `failover` (the main service's health
check deciding). Every request-level assertion runs over each of PROTOCOLS (HTTP/1.1 cleartext
and TLS, h2 over TLS, h2c); the weighted split is counted at the backends after 400 requests
per protocol sent by h2load (--h1 for HTTP/1.1). Configuration errors (a missing reference, a
cycle, a failover whose main service has no health check) drop the router with the error in
/routes.json, and Traefik's documentation examples pass `portier check`."""

import hashlib
import json
import subprocess
import unittest

from portier_e2e import (PROTOCOLS, Backend, Portier, both_sides, free_port, http_config, is_tls, make_temp_dir,
                         proto_request, router, run_cli, service, started, wait_until, write_file_atomic)

NET = "127.0.91"
HC = {"path": "/health", "interval": "100ms", "timeout": "1s"}
BACKENDS = ("in-a", "in-b", "out-c", "st-a", "st-b", "hc-a", "hc-b", "m-main", "m-copy", "m-half", "m-small",
            "m-bare", "fo-main", "fo-back", "fo2-main", "fo2-back")

# Traefik's documentation examples (routing/services, file provider), as written there.
TRAEFIK_EXAMPLES = """
http:
  services:
    app:
      weighted:
        services:
        - name: appv1
          weight: 3
        - name: appv2
          weight: 1
    appv1:
      loadBalancer:
        servers:
        - url: "http://private-ip-server-1/"
    appv2:
      loadBalancer:
        servers:
        - url: "http://private-ip-server-2/"
    sticky-app:
      weighted:
        services:
        - name: whoami1
          weight: 1
        - name: whoami2
          weight: 1
        sticky:
          cookie:
            name: lvl1
    whoami1:
      loadBalancer:
        sticky:
          cookie:
            name: lvl2
        servers:
        - url: http://127.0.0.1:8081
        - url: http://127.0.0.1:8082
    whoami2:
      loadBalancer:
        sticky:
          cookie:
            name: lvl2
        servers:
        - url: http://127.0.0.1:8083
        - url: http://127.0.0.1:8084
    mirrored-api:
      mirroring:
        service: appv1
        mirrorBody: false
        maxBodySize: 1024
        mirrors:
        - name: appv2
          percent: 10
    app-failover:
      failover:
        service: main
        fallback: backup
    main:
      loadBalancer:
        healthCheck:
          path: /status
          interval: 10s
          timeout: 3s
        servers:
        - url: "http://private-ip-server-1/"
    backup:
      loadBalancer:
        servers:
        - url: "http://private-ip-server-2/"
"""


class ServiceTypes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.b = {name: Backend(name, NET + ".2") for name in BACKENDS}
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        cls.dir = make_temp_dir()
        b = cls.b
        routers = {}
        for name, host in (("split", "split.test"), ("sticky", "sticky.test"), ("hc", "hc.test"),
                           ("mirror", "mirror.test"), ("mirror-small", "small.test"), ("mirror-bare", "bare.test"),
                           ("fo", "fo.test"), ("fo2", "fo2.test")):
            routers.update(both_sides(name, host, name))
        for name, svc in (("broken-missing", "to-missing"), ("broken-cycle", "cycle-a"),
                          ("broken-failover", "fo-unchecked")):
            routers[name] = router("Host(`%s.test`)" % name, svc)
        services = {
            # 3:1 between a nested weighted service (even between its two) and out-c.
            "split": {"weighted": {"services": [{"name": "inner", "weight": 3}, {"name": "out-c", "weight": 1}]}},
            "inner": {"weighted": {"services": [{"name": "in-a"}, {"name": "in-b"}]}},
            "sticky": {"weighted": {"services": [{"name": "st-a"}, {"name": "st-b"}],
                                    "sticky": {"cookie": {"name": "wsticky", "httpOnly": True}}}},
            "hc": {"weighted": {"services": [{"name": "hc-a"}, {"name": "hc-b"}], "healthCheck": {}}},
            "mirror": {"mirroring": {"service": "m-main", "mirrors": [{"name": "m-copy", "percent": 100},
                                                                     {"name": "m-half", "percent": 50}]}},
            "mirror-small": {"mirroring": {"service": "m-main", "maxBodySize": 8,
                                           "mirrors": [{"name": "m-small", "percent": 100}]}},
            "mirror-bare": {"mirroring": {"service": "m-main", "mirrorBody": False,
                                          "mirrors": [{"name": "m-bare", "percent": 100}]}},
            "fo": {"failover": {"service": "fo-main", "fallback": "fo-back"}},
            "fo2": {"failover": {"service": "fo2-main", "fallback": "fo2-back", "healthCheck": {}}},
            "to-missing": {"weighted": {"services": [{"name": "nowhere"}]}},
            "cycle-a": {"weighted": {"services": [{"name": "cycle-b"}]}},
            "cycle-b": {"mirroring": {"service": "cycle-a"}},
            "fo-unchecked": {"failover": {"service": "in-a", "fallback": "in-b"}},
        }
        for name in BACKENDS:
            checked = name.startswith(("hc-", "fo-main", "fo2-"))
            services[name] = service(b[name].url, **({"healthCheck": HC} if checked else {}))
        services["st-a"]["loadBalancer"]["sticky"] = {"cookie": {"name": "lbsticky"}}
        dynamic = {"http": {"routers": routers, "services": services}}
        cls.dynamic_path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        cls.access_path = cls.dir / "access.log"
        cls.portier = started(Portier(http_config({"web": "%s:%d" % (cls.ip, cls.port)}, cls.dynamic_path,
                                                  workers=2,
                                                  accessLog={"filePath": str(cls.access_path), "format": "json"})))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        for backend in cls.b.values():
            backend.close()

    def req(self, protocol, host, method="GET", path="/", body=None, headers=None, chunked=False):
        h = {"Host": host}
        h.update(headers or {})
        return proto_request(protocol, method, self.ip, self.port, path, headers=h, body=body, chunked=chunked)

    def counts(self):
        return {name: len(b.requests) for name, b in self.b.items()}

    def h2load(self, protocol, host, n):
        """n GETs on one connection over `protocol` by h2load; asserts they all succeeded."""
        scheme = "https" if is_tls(protocol) else "http"
        args = ["h2load", "-n%d" % n, "-c1", "-m1", "-H", ":authority: %s" % host]
        if protocol.startswith("h1"):
            args.append("--h1")
        out = subprocess.run(args + ["%s://%s:%d/" % (scheme, self.ip, self.port)], capture_output=True,
                             timeout=60)
        text = out.stdout.decode(errors="replace")
        self.assertIn("%d succeeded, 0 failed, 0 errored" % n, text)
        if is_tls(protocol):
            self.assertIn("Application protocol: %s" % ("h2" if protocol == "h2-tls" else "http/1.1"), text)

    # ---- weighted ----
    def test_weighted_nested_split_3_to_1(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                before = self.counts()
                self.h2load(protocol, "split.test", 400)
                after = self.counts()
                got = {n: after[n] - before[n] for n in ("in-a", "in-b", "out-c")}
                inner = got["in-a"] + got["in-b"]
                self.assertEqual(inner + got["out-c"], 400, got)
                self.assertLessEqual(abs(inner - 300), 30, got)  # 3:1, within 10%
                self.assertLessEqual(abs(got["in-a"] - got["in-b"]), 30, got)  # nested 1:1

    def test_access_log_names_the_load_balancer_that_served(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                path = "/logged-%s" % protocol
                r = self.req(protocol, "split.test", path=path)
                served = r.json()["backend"]
                lines = []

                def logged():
                    text = self.access_path.read_text() if self.access_path.exists() else ""
                    lines[:] = [json.loads(x) for x in text.splitlines() if '"%s"' % path in x]
                    return lines
                wait_until(logged, what="the access log line")
                self.assertEqual((lines[0]["RouterName"], lines[0]["ServiceName"]),
                                 ("split%s@file" % ("-tls" if is_tls(protocol) else ""), served + "@file"))

    def test_weighted_sticky_cookie(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                seen = set()
                for _ in range(6):
                    r = self.req(protocol, "sticky.test")
                    self.assertEqual(r.status, 200, r)
                    chosen = r.json()["backend"]
                    seen.add(chosen)
                    cookies = [v for k, v in r.header_list if k.lower() == "set-cookie"]
                    weighted = [c for c in cookies if c.startswith("wsticky=")]
                    self.assertEqual(len(weighted), 1, cookies)
                    self.assertTrue(weighted[0].endswith("; Path=/; HttpOnly"), weighted)
                    # st-a's own load balancer is sticky too: its cookie comes beside.
                    self.assertEqual(any(c.startswith("lbsticky=") for c in cookies), chosen == "st-a", cookies)
                    pin = weighted[0].split(";")[0]
                    for _ in range(3):
                        again = self.req(protocol, "sticky.test", headers={"Cookie": "x=1; " + pin})
                        self.assertEqual(again.json()["backend"], chosen, again)
                        self.assertFalse(any(k.lower() == "set-cookie" and v.startswith("wsticky=")
                                             for k, v in again.header_list), again)
                self.assertEqual(seen, {"st-a", "st-b"})

    def test_weighted_health_check_skips_a_child_that_is_down(self):
        a = self.b["hc-a"]
        try:
            a.healthy = False
            wait_until(lambda: all(self.req("h1", "hc.test").json()["backend"] == "hc-b" for _ in range(4)),
                       what="hc-a's service passed over")
            for protocol in PROTOCOLS:
                with self.subTest(protocol):
                    for _ in range(4):
                        self.assertEqual(self.req(protocol, "hc.test").json()["backend"], "hc-b")
            a.healthy = True
            wait_until(lambda: {self.req("h1", "hc.test").json()["backend"] for _ in range(6)} == {"hc-a", "hc-b"},
                       what="hc-a's service back")
        finally:
            a.healthy = True

    # ---- mirroring ----
    def mirrored(self, backend, body_sha):
        return [r for r in self.b[backend].requests if r["body_sha256"] == body_sha]

    def test_mirroring_copies_the_request_the_client_gets_the_main_answer(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                half_before = len(self.b["m-half"].requests)
                shas = []
                for i in range(8):
                    body = ("payload %s %d " % (protocol, i)).encode() * 50
                    sha = hashlib.sha256(body).hexdigest()
                    shas.append(sha)
                    r = self.req(protocol, "mirror.test", method="POST", path="/m/%d?q=1" % i, body=body,
                                 chunked=(i % 2 == 1), headers={"X-Test": "mirrored"})
                    self.assertEqual(r.status, 200, r)
                    self.assertEqual(r.json()["backend"], "m-main", r)  # the client gets the main answer
                    self.assertEqual(r.json()["body_sha256"], sha)
                for i, sha in enumerate(shas):
                    wait_until(lambda: self.mirrored("m-copy", sha), what="copy %d at the mirror" % i)
                    copy = self.mirrored("m-copy", sha)[0]
                    self.assertEqual((copy["method"], copy["target"]), ("POST", "/m/%d?q=1" % i))
                    self.assertEqual(copy["headers"].get("x-test"), "mirrored")
                    self.assertEqual(copy["headers"].get("host"), "mirror.test")
                # percent 50: every second request of a worker (two workers: 4 of 8, give or take 1)
                wait_until(lambda: len(self.b["m-half"].requests) - half_before >= 3, what="copies at m-half")
                self.assertLessEqual(len(self.b["m-half"].requests) - half_before, 5)
                self.assertFalse(self.mirrored("m-main", shas[0])[1:], "the main service got the copy")

    def test_mirroring_max_body_size_and_mirror_body_false(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                large = ("large body %s" % protocol).encode()  # over maxBodySize (8)
                small = b"tiny-%d" % PROTOCOLS.index(protocol)
                for body, chunked in ((large, False), (large, True), (small, False)):
                    r = self.req(protocol, "small.test", method="POST", body=body, chunked=chunked)
                    self.assertEqual(r.json()["backend"], "m-main", r)
                    self.assertEqual(r.json()["body_len"], len(body))  # the main service gets it whole
                wait_until(lambda: self.mirrored("m-small", hashlib.sha256(small).hexdigest()),
                           what="the small body at the mirror")
                self.assertFalse(self.mirrored("m-small", hashlib.sha256(large).hexdigest()),
                                 "a body over maxBodySize was mirrored")
                # mirrorBody: false: the copy is the head alone.
                r = self.req(protocol, "bare.test", method="POST", path="/bare-%s" % protocol, body=b"abc")
                self.assertEqual((r.json()["backend"], r.json()["body_len"]), ("m-main", 3))
                wait_until(lambda: [x for x in self.b["m-bare"].requests if x["path"] == "/bare-" + protocol],
                           what="the bare copy")
                copy = [x for x in self.b["m-bare"].requests if x["path"] == "/bare-" + protocol][0]
                self.assertEqual((copy["method"], copy["body_len"]), ("POST", 0))

    # ---- failover ----
    def test_failover_follows_the_main_services_health(self):
        main, fo2_main, fo2_back = self.b["fo-main"], self.b["fo2-main"], self.b["fo2-back"]

        def all_protocols(host, backend):
            for protocol in PROTOCOLS:
                with self.subTest(protocol=protocol, host=host, expected=backend):
                    r = self.req(protocol, host)
                    if backend is None:
                        self.assertEqual(r.status, 503, r)
                    else:
                        self.assertEqual(r.json()["backend"], backend, r)
        try:
            all_protocols("fo.test", "fo-main")
            main.healthy = False
            wait_until(lambda: self.req("h1", "fo.test").json()["backend"] == "fo-back", what="the fallback")
            all_protocols("fo.test", "fo-back")
            main.healthy = True
            wait_until(lambda: self.req("h1", "fo.test").json()["backend"] == "fo-main", what="back to main")
            all_protocols("fo.test", "fo-main")
            # With the failover's healthCheck the fallback's health counts: both down is 503.
            fo2_main.healthy = fo2_back.healthy = False
            wait_until(lambda: self.req("h1", "fo2.test").status == 503, what="503 with both down")
            all_protocols("fo2.test", None)
            fo2_back.healthy = True
            wait_until(lambda: self.req("h1", "fo2.test").status == 200, what="the fallback up")
            all_protocols("fo2.test", "fo2-back")
        finally:
            main.healthy = fo2_main.healthy = fo2_back.healthy = True

    # ---- configuration ----
    def test_configuration_errors_drop_the_router(self):
        routers = self.portier.diag("/routes.json")["http"]["routers"]
        expected = {"broken-missing@file": 'service "nowhere@file" does not exist',
                    "broken-cycle@file": 'cycle through service',
                    "broken-failover@file": 'failover needs a healthCheck on service "in-a@file"'}
        messages = [e["message"] for e in self.portier.diag("/routes.json")["errors"]]
        for name, message in expected.items():
            with self.subTest(name):
                self.assertEqual(routers[name]["status"], "disabled", routers[name])
                self.assertTrue(any(message in m for m in messages), messages)
        self.assertEqual(self.req("h1", "broken-failover.test").status, 404)
        # The services of the others show with their type.
        services = self.portier.diag("/routes.json")["http"]["services"]
        self.assertEqual(services["fo@file"]["type"], "failover")
        self.assertEqual(services["mirror@file"]["mirrors"][1], {"name": "m-half@file", "percent": 50})

    def test_traefik_documentation_examples_pass_check(self):
        dynamic = write_file_atomic(self.dir / "examples.yml", TRAEFIK_EXAMPLES)
        config = write_file_atomic(self.dir / "check.yml", http_config({"web": "127.0.0.1:18080"}, dynamic))
        r = run_cli(["check", "--config", str(config), "--format", "json"])
        doc = json.loads(r.stdout)
        self.assertEqual(doc.get("errors", []), [], r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout)
        services = doc["http"]["services"]
        self.assertEqual(services["app@file"]["services"][0], {"name": "appv1@file", "weight": 3})
        self.assertEqual(services["sticky-app@file"]["sticky"], {"cookie": {"name": "lvl1"}})
        self.assertEqual((services["mirrored-api@file"]["mirrorBody"], services["mirrored-api@file"]["maxBodySize"]),
                         (False, 1024))
        self.assertEqual(services["app-failover@file"]["fallback"], "backup@file")


if __name__ == "__main__":
    unittest.main()
