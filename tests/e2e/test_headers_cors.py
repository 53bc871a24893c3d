"""The `headers` middleware beyond the security headers (issue 16 item 2), as Traefik v3:
CORS (preflights answered by portier without reaching the service, actual responses with
Access-Control-Allow-Origin for allowed origins, the list, `*`, regexes, credentials, expose
headers, max age, Vary: Origin), allowedHosts with hostsProxyHeaders (500 "Bad Host"),
sslProxyHeaders (what counts as HTTPS for HSTS and HPKP), isDevelopment, and the v2 keys
Traefik v3 decodes and ignores. Every request-level assertion runs over each of PROTOCOLS
(HTTP/1.1 cleartext and TLS, h2 over TLS, h2c). `portier check` accepts Traefik's own
documentation examples (file and label forms) and names the key of a bad value."""

import json
import unittest

from portier_e2e import (PROTOCOLS, Backend, Portier, compose_check_config, free_port, http_config, is_tls,
                         make_temp_dir, proto_request, router, run_cli, service, started, write_file_atomic)

NET = "127.0.68"
TRUSTED = NET + ".9"  # the one client address whose X-Forwarded-* the entrypoint keeps
PIN = 'pin-sha256="cUPcTAZWKaASuYWhhneDttWpY3oBAkE3h2+soZS7sWs="; max-age=5184000'


def routers_for(name, rule, middlewares):
    """Routers `name` (cleartext side) and `name`-tls (TLS side) for `rule`."""
    return {name: router(rule, "a", middlewares=middlewares),
            name + "-tls": router(rule, "a", middlewares=middlewares, tls={})}


class HeadersCors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = Backend("a", NET + ".2")
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        cls.dir = make_temp_dir()
        routers = {}
        for name, rule, mws in (
                ("cors", "Host(`cors.test`)", ["cors"]),
                ("creds", "Host(`creds.test`)", ["creds"]),
                ("wild", "Host(`wild.test`)", ["wild"]),
                ("hosts", "Host(`allowed.test`) || Host(`denied.test`)", ["hosts"]),
                ("dev", "Host(`dev.test`)", ["dev"]),
                ("ssl", "Host(`ssl.test`)", ["ssl"]),
                ("xfp", "Host(`xfp.test`)", ["xfp", "ssl"]),
                ("legacy", "Host(`legacy.test`)", ["legacy"])):
            routers.update(routers_for(name, rule, mws))
        middlewares = {
            "cors": {"headers": {
                "accessControlAllowMethods": ["GET", "OPTIONS", "PUT"],
                "accessControlAllowHeaders": ["X-Custom", "Content-Type"],
                "accessControlAllowOriginList": ["https://foo.bar.org", "https://example.org"],
                "accessControlAllowOriginListRegex": [r"^https://[a-z]+\.regex\.test$"],
                "accessControlExposeHeaders": ["X-Exposed", "X-Other"],
                "accessControlMaxAge": 100,
                "addVaryHeader": True}},
            "creds": {"headers": {
                "accessControlAllowOriginList": ["*"], "accessControlAllowCredentials": True,
                "accessControlAllowHeaders": ["*"], "accessControlAllowMethods": ["*"],
                "accessControlExposeHeaders": ["*"], "accessControlMaxAge": 0}},
            "wild": {"headers": {"accessControlAllowOriginList": ["*"], "accessControlExposeHeaders": ["*"]}},
            "hosts": {"headers": {"allowedHosts": ["allowed.test"], "hostsProxyHeaders": ["X-Forwarded-Host"],
                                  "customResponseHeaders": {"X-Mine": "yes"}}},
            "dev": {"headers": {"allowedHosts": ["elsewhere.test"], "isDevelopment": True, "stsSeconds": 100,
                                "forceSTSHeader": True, "publicKey": PIN, "frameDeny": True}},
            "ssl": {"headers": {"sslProxyHeaders": {"X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "on"},
                                "stsSeconds": 31536000, "publicKey": PIN,
                                "contentSecurityPolicyReportOnly": "default-src 'self'"}},
            "xfp": {"headers": {"customRequestHeaders": {"X-Forwarded-Proto": "https", "Host": "rewritten.test"}}},
            "legacy": {"headers": {"sslRedirect": True, "sslTemporaryRedirect": True, "sslHost": "other.test",
                                   "sslForceHost": True, "featurePolicy": "vibrate 'none'", "frameDeny": True}},
        }
        dynamic = {"http": {"routers": routers, "middlewares": middlewares, "services": {"a": service(cls.a.url)}}}
        cls.dynamic_path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        web = {"address": "%s:%d" % (cls.ip, cls.port), "forwardedHeaders": {"trustedIPs": [TRUSTED]}}
        cls.portier = started(Portier(http_config({"web": web}, cls.dynamic_path, workers=2)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.a.close()

    def req(self, protocol, host, method="GET", path="/", headers=None, source_ip=None):
        h = {"Host": host}
        h.update(headers or {})
        return proto_request(protocol, method, self.ip, self.port, path, headers=h, source_ip=source_ip)

    def preflight(self, protocol, host, origin, method="PUT", request_headers=None):
        h = {"Origin": origin, "Access-Control-Request-Method": method}
        if request_headers:
            h["Access-Control-Request-Headers"] = request_headers
        return self.req(protocol, host, method="OPTIONS", headers=h)

    # ---- CORS ----
    def test_preflight_is_answered_by_portier(self):
        before = len(self.a.requests)
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.preflight(protocol, "cors.test", "https://example.org", request_headers="X-Custom")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.body, b"")
                self.assertEqual(r.headers.get("content-length"), "0")
                self.assertEqual(r.headers.get("access-control-allow-origin"), "https://example.org")
                self.assertEqual(r.headers.get("access-control-allow-methods"), "GET,OPTIONS,PUT")
                self.assertEqual(r.headers.get("access-control-allow-headers"), "X-Custom,Content-Type")
                self.assertEqual(r.headers.get("access-control-max-age"), "100")
                self.assertEqual(r.headers.get("access-control-expose-headers"), "X-Exposed,X-Other")
                self.assertNotIn("access-control-allow-credentials", r.headers)
                self.assertNotIn("vary", r.headers)  # Traefik adds Vary to forwarded responses only
                # An origin matched by a regex is echoed; any other gets no Allow-Origin.
                r = self.preflight(protocol, "cors.test", "https://abc.regex.test")
                self.assertEqual(r.headers.get("access-control-allow-origin"), "https://abc.regex.test")
                r = self.preflight(protocol, "cors.test", "https://evil.test")
                self.assertEqual(r.status, 200, r)
                self.assertNotIn("access-control-allow-origin", r.headers)
                self.assertEqual(r.headers.get("access-control-allow-methods"), "GET,OPTIONS,PUT")
        self.assertEqual(len(self.a.requests), before, "a preflight reached the backend")
        # An OPTIONS request without Access-Control-Request-Method is not a preflight.
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "cors.test", method="OPTIONS", headers={"Origin": "https://example.org"})
                self.assertEqual(r.json()["backend"], "a")
                self.assertEqual(r.headers.get("access-control-allow-origin"), "https://example.org")
        self.assertEqual(len(self.a.requests), before + len(PROTOCOLS))

    def test_actual_requests(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "cors.test", headers={"Origin": "https://foo.bar.org"})
                self.assertEqual(r.json()["backend"], "a")
                self.assertEqual(r.headers.get("access-control-allow-origin"), "https://foo.bar.org")
                self.assertEqual(r.headers.get("access-control-expose-headers"), "X-Exposed,X-Other")
                self.assertEqual(r.headers.get("vary"), "Origin")
                self.assertNotIn("access-control-max-age", r.headers)
                self.assertNotIn("access-control-allow-methods", r.headers)
                r = self.req(protocol, "cors.test", headers={"Origin": "https://sub.regex.test"})
                self.assertEqual(r.headers.get("access-control-allow-origin"), "https://sub.regex.test")
                r = self.req(protocol, "cors.test", headers={"Origin": "https://evil.test"})
                self.assertEqual(r.json()["backend"], "a")
                self.assertNotIn("access-control-allow-origin", r.headers)
                self.assertEqual(r.headers.get("vary"), "Origin")
                # The upstream's Vary gets Origin appended, as Traefik writes it.
                r = self.req(protocol, "cors.test", path="/?set-header=Vary:Accept-Encoding",
                             headers={"Origin": "https://example.org"})
                self.assertEqual([v for k, v in r.header_list if k.lower() == "vary"], ["Accept-Encoding,Origin"])
                r = self.req(protocol, "cors.test", path="/?set-header=Vary:Origin")
                self.assertEqual([v for k, v in r.header_list if k.lower() == "vary"], ["Origin"])

    def test_wildcard_and_credentials(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                # With credentials a wildcard echoes what the request asked for.
                r = self.preflight(protocol, "creds.test", "https://app.test", method="DELETE",
                                   request_headers="X-Token, Content-Type")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.headers.get("access-control-allow-origin"), "https://app.test")
                self.assertEqual(r.headers.get("access-control-allow-credentials"), "true")
                self.assertEqual(r.headers.get("access-control-allow-methods"), "DELETE")
                self.assertEqual(r.headers.get("access-control-allow-headers"), "X-Token, Content-Type")
                self.assertEqual(r.headers.get("access-control-max-age"), "0")
                self.assertNotIn("access-control-expose-headers", r.headers)  # "*" with credentials
                r = self.req(protocol, "creds.test", headers={"Origin": "https://app.test"})
                self.assertEqual(r.json()["backend"], "a")
                self.assertEqual(r.headers.get("access-control-allow-origin"), "https://app.test")
                self.assertEqual(r.headers.get("access-control-allow-credentials"), "true")
                self.assertNotIn("vary", r.headers)
                # Without credentials the wildcard is answered as is.
                r = self.req(protocol, "wild.test", headers={"Origin": "https://app.test"})
                self.assertEqual(r.headers.get("access-control-allow-origin"), "*")
                self.assertEqual(r.headers.get("access-control-expose-headers"), "*")
                self.assertNotIn("access-control-allow-credentials", r.headers)

    # ---- allowedHosts, hostsProxyHeaders, isDevelopment ----
    def test_allowed_hosts(self):
        before = len(self.a.requests)
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "denied.test")
                self.assertEqual(r.status, 500, r)
                self.assertEqual(r.body, b"Bad Host\n")
                self.assertEqual(r.headers.get("content-type"), "text/plain; charset=utf-8")
                self.assertEqual(r.headers.get("x-content-type-options"), "nosniff")
                self.assertEqual(r.headers.get("x-mine"), "yes")  # the middleware's own headers apply
                # X-Forwarded-Host from a client the entrypoint does not trust is portier's own.
                r = self.req(protocol, "denied.test", headers={"X-Forwarded-Host": "allowed.test"})
                self.assertEqual(r.status, 500, r)
        self.assertEqual(len(self.a.requests), before, "a bad host reached the backend")
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "ALLOWED.test")
                self.assertEqual(r.json()["backend"], "a")
                self.assertEqual(r.headers.get("x-mine"), "yes")
                # hostsProxyHeaders: the trusted proxy's X-Forwarded-Host is the host checked.
                r = self.req(protocol, "denied.test", headers={"X-Forwarded-Host": "allowed.test"}, source_ip=TRUSTED)
                self.assertEqual(r.status, 200, r)
                r = self.req(protocol, "allowed.test", headers={"X-Forwarded-Host": "denied.test"}, source_ip=TRUSTED)
                self.assertEqual(r.status, 500, r)

    def test_is_development(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "dev.test")
                self.assertEqual(r.json()["backend"], "a")  # allowedHosts not enforced
                self.assertNotIn("strict-transport-security", r.headers)
                self.assertNotIn("public-key-pins", r.headers)
                self.assertEqual(r.headers.get("x-frame-options"), "DENY")  # the rest still applies

    # ---- sslProxyHeaders, publicKey ----
    def test_ssl_proxy_headers(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                tls = is_tls(protocol)
                r = self.req(protocol, "ssl.test")
                self.assertEqual(r.headers.get("content-security-policy-report-only"), "default-src 'self'")
                self.assertEqual("strict-transport-security" in r.headers, tls, r)
                self.assertEqual(r.headers.get("public-key-pins"), PIN if tls else None)
                r = self.req(protocol, "ssl.test", headers={"X-Forwarded-Ssl": "on"})
                self.assertEqual(r.headers.get("strict-transport-security"), "max-age=31536000")
                self.assertEqual(r.headers.get("public-key-pins"), PIN)
                # X-Forwarded-Proto counts only from a trusted client: portier sets its own otherwise.
                r = self.req(protocol, "ssl.test", headers={"X-Forwarded-Proto": "https"})
                self.assertEqual("strict-transport-security" in r.headers, tls, r)
                r = self.req(protocol, "ssl.test", headers={"X-Forwarded-Proto": "https"}, source_ip=TRUSTED)
                self.assertEqual(r.headers.get("strict-transport-security"), "max-age=31536000")

    def test_custom_x_forwarded_proto_and_host(self):
        """customRequestHeaders replaces portier's X-Forwarded-Proto and the Host upstream (one
        field each), and the next headers middleware sees the edited value."""
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "xfp.test")
                seen = r.json()
                self.assertEqual([v for k, v in seen["header_list"] if k.lower() == "x-forwarded-proto"], ["https"])
                self.assertEqual([v for k, v in seen["header_list"] if k.lower() == "host"], ["rewritten.test"])
                self.assertEqual(r.headers.get("strict-transport-security"), "max-age=31536000")

    # ---- the v2 keys Traefik v3 ignores ----
    def test_v2_keys_are_accepted_and_have_no_effect(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "legacy.test")
                self.assertEqual(r.status, 200, r)  # no redirect to https://other.test
                self.assertEqual(r.json()["backend"], "a")
                self.assertNotIn("feature-policy", r.headers)
                self.assertEqual(r.headers.get("x-frame-options"), "DENY")
        for key in ("sslRedirect", "sslTemporaryRedirect", "sslHost", "sslForceHost", "featurePolicy"):
            self.assertIn("http.middlewares.legacy@file.headers.%s has no effect" % key, self.portier.logs())


# Traefik's documentation examples for the headers middleware
# (docs/content/reference/routing-configuration/http/middlewares/headers.md), file form.
DOC_YAML = """\
http:
  middlewares:
    testHeader:
      headers:
        customRequestHeaders:
          X-Script-Name: "test" # Adds
          X-Custom-Request-Header: "" # Removes
        customResponseHeaders:
          X-Custom-Response-Header: "" # Removes
    testSecurity:
      headers:
        frameDeny: true
        browserXssFilter: true
    testCors:
      headers:
        accessControlAllowMethods:
          - GET
          - OPTIONS
          - PUT
        accessControlAllowHeaders:
          - "*"
        accessControlAllowOriginList:
          - https://foo.bar.org
          - https://example.org
        accessControlMaxAge: 100
        addVaryHeader: true
    testRegex:
      headers:
        accessControlAllowOriginListRegex:
          - "^https://([a-z]+\\\\.)?example\\\\.com$"
    testRest:
      headers:
        allowedHosts: [a.example.com, b.example.com]
        hostsProxyHeaders: [X-Forwarded-Host]
        sslProxyHeaders:
          X-Forwarded-Proto: https
        isDevelopment: false
        publicKey: pin
        contentSecurityPolicyReportOnly: "default-src 'self'"
        accessControlAllowCredentials: true
        accessControlExposeHeaders: [X-Total]
    testLegacy:
      headers:
        sslRedirect: true
        sslTemporaryRedirect: true
        sslHost: example.com
        sslForceHost: true
        featurePolicy: "vibrate 'none'"
"""

# The same examples as labels (lists comma-separated), each under its own name (the documentation
# spells one name testHeader and testheader, which Traefik merges), plus the "secure-headers"
# example of docs/content/expose/docker/advanced.md.
DOC_LABELS = """\
name: headers
services:
  web:
    image: test/busybox:1
    network_mode: host
    labels:
      - traefik.enable=true
      - traefik.http.routers.web.rule=Host(`web.example.test`)
      - traefik.http.routers.web.middlewares=testheader,testsecurity,testcors,secure-headers,rest
      - traefik.http.services.web.loadbalancer.server.port=8080
      - "traefik.http.middlewares.testheader.headers.customrequestheaders.X-Script-Name=test"
      - "traefik.http.middlewares.testheader.headers.customrequestheaders.X-Custom-Request-Header="
      - "traefik.http.middlewares.testheader.headers.customresponseheaders.X-Custom-Response-Header="
      - "traefik.http.middlewares.testsecurity.headers.framedeny=true"
      - "traefik.http.middlewares.testsecurity.headers.browserxssfilter=true"
      - "traefik.http.middlewares.testcors.headers.accesscontrolallowmethods=GET,OPTIONS,PUT"
      - "traefik.http.middlewares.testcors.headers.accesscontrolallowheaders=*"
      - "traefik.http.middlewares.testcors.headers.accesscontrolalloworiginlist=https://foo.bar.org,https://example.org"
      - "traefik.http.middlewares.testcors.headers.accesscontrolmaxage=100"
      - "traefik.http.middlewares.testcors.headers.addvaryheader=true"
      - "traefik.http.middlewares.secure-headers.headers.frameDeny=true"
      - "traefik.http.middlewares.secure-headers.headers.sslRedirect=true"
      - "traefik.http.middlewares.secure-headers.headers.browserXssFilter=true"
      - "traefik.http.middlewares.secure-headers.headers.contentTypeNosniff=true"
      - "traefik.http.middlewares.secure-headers.headers.stsIncludeSubdomains=true"
      - "traefik.http.middlewares.secure-headers.headers.stsPreload=true"
      - "traefik.http.middlewares.secure-headers.headers.stsSeconds=31536000"
      - "traefik.http.middlewares.rest.headers.allowedhosts=a.example.com, b.example.com"
      - "traefik.http.middlewares.rest.headers.hostsproxyheaders=X-Forwarded-Host"
      - "traefik.http.middlewares.rest.headers.sslproxyheaders.X-Forwarded-Proto=https"
      - "traefik.http.middlewares.rest.headers.isdevelopment=true"
      - "traefik.http.middlewares.rest.headers.accesscontrolalloworiginlistregex=^https://a\\\\.test$$,^https://b\\\\.test$$"
      - "traefik.http.middlewares.rest.headers.publickey=pin"
      - "traefik.http.middlewares.rest.headers.featurepolicy=vibrate 'none'"
"""


class HeadersCheck(unittest.TestCase):
    def check(self, files):
        d = make_temp_dir()
        config = compose_check_config(NET + ".1")
        args = ["check", "--format", "json"]
        if "yaml" in files:
            write_file_atomic(d / "dynamic.yml", files["yaml"])
            config["providers"]["file"] = {"filename": str(d / "dynamic.yml")}
        if "compose" in files:
            write_file_atomic(d / "docker-compose.yml", files["compose"])
            args += ["--compose", str(d / "docker-compose.yml")]
        write_file_atomic(d / "portier.yml", json.dumps(config))
        r = run_cli(args + ["--config", str(d / "portier.yml")])
        return r, json.loads(r.stdout)

    def test_traefik_documentation_examples(self):
        r, doc = self.check({"yaml": DOC_YAML})
        self.assertEqual(r.returncode, 0, doc["errors"])
        mws = doc["http"]["middlewares"]
        self.assertEqual(mws["testCors@file"]["headers"]["accessControlAllowOriginList"],
                         ["https://foo.bar.org", "https://example.org"])
        self.assertEqual(mws["testCors@file"]["headers"]["accessControlMaxAge"], 100)
        self.assertEqual(mws["testRegex@file"]["headers"]["accessControlAllowOriginListRegex"],
                         [r"^https://([a-z]+\.)?example\.com$"])
        self.assertEqual(mws["testRest@file"]["headers"]["sslProxyHeaders"], {"X-Forwarded-Proto": "https"})
        self.assertEqual(mws["testLegacy@file"]["headers"]["sslRedirect"], True)
        self.assertIn("testLegacy@file.headers.sslRedirect has no effect", r.stderr)

        r, doc = self.check({"compose": DOC_LABELS})
        self.assertEqual(r.returncode, 0, doc["errors"])
        mws = doc["http"]["middlewares"]
        self.assertEqual(mws["testheader@docker"]["headers"]["customRequestHeaders"],
                         {"X-Script-Name": "test", "X-Custom-Request-Header": ""})
        self.assertTrue(mws["testsecurity@docker"]["headers"]["frameDeny"])
        h = mws["testcors@docker"]["headers"]
        self.assertEqual(h["accessControlAllowMethods"], ["GET", "OPTIONS", "PUT"])
        self.assertEqual(h["accessControlAllowHeaders"], ["*"])
        self.assertEqual(h["accessControlAllowOriginList"], ["https://foo.bar.org", "https://example.org"])
        self.assertEqual(h["accessControlMaxAge"], 100)
        self.assertTrue(h["addVaryHeader"])
        rest = mws["rest@docker"]["headers"]
        self.assertEqual(rest["allowedHosts"], ["a.example.com", "b.example.com"])
        self.assertEqual(rest["accessControlAllowOriginListRegex"], [r"^https://a\.test$", r"^https://b\.test$"])
        self.assertEqual(rest["sslProxyHeaders"], {"X-Forwarded-Proto": "https"})
        self.assertTrue(rest["isDevelopment"])
        self.assertTrue(mws["secure-headers@docker"]["headers"]["sslRedirect"])

    def test_bad_values_name_the_key(self):
        for key, value, problem in (("accessControlMaxAge", "-1", "out of range"),
                                    ("accessControlMaxAge", "soon", "invalid"),
                                    ("addVaryHeader", "yes", "invalid"),
                                    ("isDevelopment", "on", "invalid"),
                                    ("accessControlAllowOriginListRegex", "(", "missing )")):
            with self.subTest(key=key, value=value):
                yaml = "http:\n  middlewares:\n    m:\n      headers:\n        %s: %s\n" % (
                    key, json.dumps([value]) if key.endswith("Regex") else value)
                r, doc = self.check({"yaml": yaml})
                self.assertEqual(r.returncode, 1, doc)
                self.assertIn(key, json.dumps(doc["errors"]))
                self.assertIn(problem, json.dumps(doc["errors"]))
                compose = DOC_LABELS.split("      - \"traefik.http.middlewares.testheader")[0] + \
                    "      - \"traefik.http.middlewares.m.headers.%s=%s\"\n" % (key.lower(), value)
                r, doc = self.check({"compose": compose})
                self.assertEqual(r.returncode, 1, doc)
                self.assertIn(key.lower(), json.dumps(doc["errors"]).lower())


if __name__ == "__main__":
    unittest.main()
