"""forwardAuth (issue 15 item 3) against an authentication server that answers as Authelia's
verify endpoint (auth_server.py): curl follows the login redirect and comes back with the
session cookie, the backend sees the copied Remote-* headers; denials (302 with cookies, 401)
reach the client as the auth server sent them; an unreachable auth server is 500; the auth
request's X-Forwarded-* (trustForwardHeader), authRequestHeaders, authResponseHeadersRegex,
addAuthCookiesToResponse, preserveLocationHeader, preserveRequestMethod, authSigninURL;
pooled connections to the auth server; forwardAuth's and digestAuth's label forms through
`portier check --compose`.
Every request-level assertion runs over each of PROTOCOLS."""

import json
import os
import ssl
import subprocess
import tempfile
import unittest
import urllib.parse
import uuid

from auth_server import AuthServer
from portier_e2e import (PROTOCOLS, Backend, Portier, free_port, http_config, is_tls, make_temp_dir, proto_request,
                         router, run_cli, service, started, wait_until, write_file_atomic, both_sides)

NET = "127.0.70"
TRUSTED_SOURCE = "127.0.71.5"  # forwardedHeaders.trustedIPs; other clients are not trusted
SESSION = "session=good"


def read_lines(path):
    try:
        return path.read_text().splitlines()
    except OSError:
        return []


def set_cookies(r):
    return [v for k, v in r.header_list if k.lower() == "set-cookie"]


class ForwardAuth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        cls.app = Backend("app", NET + ".2")
        cls.auth = AuthServer(NET + ".3", login_url="{proto}://login.example.test:%d/login" % cls.port)
        cls.dir = make_temp_dir()
        verify = cls.auth.url + "/api/verify?rd=x"
        down = "http://%s:%d/verify" % (NET + ".4", free_port(NET + ".4"))
        middlewares = {
            "authelia": {"forwardAuth": {"address": verify,
                                         "authResponseHeaders": ["Remote-User", "Remote-Groups"]}},
            "regex": {"forwardAuth": {"address": verify, "authResponseHeadersRegex": "^Remote-"}},
            "cookies": {"forwardAuth": {"address": verify, "authResponseHeaders": ["Remote-User"],
                                        "addAuthCookiesToResponse": ["auth_refresh"]}},
            "down": {"forwardAuth": {"address": down}},
            "relative": {"forwardAuth": {"address": cls.auth.url + "/relative"}},
            "keep-location": {"forwardAuth": {"address": cls.auth.url + "/relative",
                                              "preserveLocationHeader": True}},
            "trust": {"forwardAuth": {"address": verify, "trustForwardHeader": True,
                                      "authRequestHeaders": ["Cookie"]}},
            "method": {"forwardAuth": {"address": verify, "preserveRequestMethod": True}},
            "signin": {"forwardAuth": {"address": verify, "authSigninURL": "https://sso.example.test/signin"}},
            "body": {"forwardAuth": {"address": verify, "forwardBody": True, "maxBodySize": 64,
                                     "preserveRequestMethod": True, "headerField": "Remote-User"}},
        }
        routers = {}
        for name, host, mws in (("app", "app.example.test", ["authelia"]), ("regex", "regex.test", ["regex"]),
                                ("cookies", "cookies.test", ["cookies"]), ("down", "down.test", ["down"]),
                                ("relative", "relative.test", ["relative"]),
                                ("keep", "keep.test", ["keep-location"]), ("trust", "trust.test", ["trust"]),
                                ("method", "method.test", ["method"]), ("signin", "signin.test", ["signin"]),
                                ("body", "body.test", ["body"])):
            routers.update(both_sides(name, host, "app", mws))
        routers.update(both_sides("login", "login.example.test", "auth", []))
        dynamic = {"http": {"routers": routers, "middlewares": middlewares,
                            "services": {"app": service(cls.app.url), "auth": service(cls.auth.url)}}}
        cls.dynamic_path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        web = {"address": "%s:%d" % (cls.ip, cls.port), "forwardedHeaders": {"trustedIPs": [TRUSTED_SOURCE]}}
        cls.access_path = cls.dir / "access.json"
        config = http_config({"web": web}, cls.dynamic_path, workers=2)
        config["accessLog"] = {"filePath": str(cls.access_path), "format": "json"}
        cls.portier = started(Portier(config))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.app.close()
        cls.auth.close()

    def req(self, protocol, host, path="/", headers=None, method="GET", body=None, source_ip=None, chunked=False):
        h = {"Host": host}
        h.update(headers or {})
        return proto_request(protocol, method, self.ip, self.port, path, headers=h, body=body, source_ip=source_ip,
                             chunked=chunked)

    def auth_request(self, marker):
        """The one request the auth server saw whose Cookie or target holds `marker`."""
        seen = [r for r in self.auth.requests
                if marker in r["headers"].get("cookie", "") or marker in r["headers"].get("x-forwarded-uri", "")]
        self.assertEqual(len(seen), 1, [r["target"] for r in self.auth.requests])
        return seen[0]

    def curl_follow(self, protocol, url):
        """curl -L with a cookie jar, every host sent to portier: (status, redirects, version, body).
        h2c: one curl per hop (the jar carries the cookies), since curl 7.88.1 fails to reuse a
        prior-knowledge connection (curl issue 10634, fixed in 8.0)."""
        version = {"h1": "--http1.1", "h1-tls": "--http1.1", "h2-tls": "--http2", "h2c": "--http2-prior-knowledge"}
        with tempfile.TemporaryDirectory(prefix="portier-curl-") as tmp:
            jar, body = os.path.join(tmp, "jar"), os.path.join(tmp, "body")
            redirects = 0
            while True:
                args = ["curl", "-sS", "-k", version[protocol], "-b", jar, "-c", jar,
                        "--connect-to", "::%s:%d" % (self.ip, self.port), "-o", body, "--max-time", "10",
                        "-w", "%{http_code} %{num_redirects} %{http_version} %{redirect_url}"]
                args += [url] if protocol == "h2c" else ["-L", url]
                out = subprocess.run(args, capture_output=True, text=True, timeout=20)
                self.assertEqual(out.returncode, 0, out.stderr)
                code, hops, http_version, *location = out.stdout.split()
                redirects += int(hops)
                if protocol != "h2c" or not location or redirects >= 5:
                    break
                url, redirects = location[0], redirects + 1
            with open(body, "rb") as f:
                data = f.read()
        return int(code), redirects, http_version, data

    def test_login_flow_like_authelia(self):
        """No session: 302 to the login page; the login page sets the session cookie and sends
        the client back; the request then reaches the backend with the user's identity."""
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                scheme = "https" if is_tls(protocol) else "http"
                marker = "flow-" + protocol
                url = "%s://app.example.test:%d/page?m=%s" % (scheme, self.port, marker)
                code, redirects, version, data = self.curl_follow(protocol, url)
                self.assertEqual((code, redirects), (200, 2), data)
                self.assertEqual(version, "1.1" if protocol.startswith("h1") else "2")
                seen = json.loads(data)
                self.assertEqual(seen["path"], "/page")
                self.assertEqual(seen["headers"]["remote-user"], "alice")
                self.assertEqual(seen["headers"]["remote-groups"], "admins,dev")
                self.assertNotIn("x-unlisted", seen["headers"])  # not in authResponseHeaders
                self.assertNotIn("remote-email", seen["headers"])
                first = [r for r in self.auth.requests if marker in r["headers"].get("x-forwarded-uri", "")]
                self.assertEqual(len(first), 2, first)  # without, then with the session cookie
                h = first[0]["headers"]
                self.assertEqual((first[0]["method"], first[0]["target"]), ("GET", "/api/verify?rd=x"))
                self.assertEqual(h["host"], self.auth.address)
                self.assertEqual(h["x-forwarded-method"], "GET")
                self.assertEqual(h["x-forwarded-proto"], scheme)
                self.assertEqual(h["x-forwarded-host"], "app.example.test:%d" % self.port)
                self.assertEqual(h["x-forwarded-port"], str(self.port))
                self.assertEqual(h["x-forwarded-uri"], "/page?m=" + marker)
                self.assertEqual(h["x-forwarded-for"], "127.0.0.1")
                self.assertNotIn("cookie", h)
                self.assertIn(SESSION, first[1]["headers"]["cookie"])

    def test_denials_reach_the_client_as_sent(self):
        before = len(self.app.requests)
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                scheme = "https" if is_tls(protocol) else "http"
                r = self.req(protocol, "app.example.test", "/x?y=1")
                self.assertEqual(r.status, 302, r)
                rd = urllib.parse.quote("%s://app.example.test/x?y=1" % scheme, safe="")
                self.assertEqual(r.headers["location"],
                                 "%s://login.example.test:%d/login?rd=%s" % (scheme, self.port, rd))
                self.assertEqual(set_cookies(r), ["auth_state=s1; Path=/"])
                self.assertEqual(r.body, b"Found\n")
                r = self.req(protocol, "app.example.test", headers={"Authorization": "Bearer deny"})
                self.assertEqual(r.status, 401, r)
                self.assertEqual(r.headers["www-authenticate"], 'Bearer realm="test"')
                self.assertEqual(r.body, b"denied\n")
                r = self.req(protocol, "signin.test", headers={"Authorization": "Bearer deny"})
                self.assertEqual(r.status, 302, r)
                self.assertEqual(r.headers["location"], "https://sso.example.test/signin")
        self.assertEqual(len(self.app.requests), before, "a denied request reached the backend")

    def test_unreachable_auth_server_is_500(self):
        before = len(self.app.requests)
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "down.test", headers={"Cookie": SESSION})
                self.assertEqual(r.status, 500, r)
        self.assertEqual(len(self.app.requests), before)

    def test_relative_location(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "relative.test")
                self.assertEqual(r.status, 302, r)
                self.assertEqual(r.headers["location"], self.auth.url + "/login")
                r = self.req(protocol, "keep.test")
                self.assertEqual(r.status, 302, r)
                self.assertEqual(r.headers["location"], "/login")

    def test_forged_identity_is_replaced(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                forged = {"Cookie": SESSION, "Remote-User": "mallory", "Remote-Email": "mallory@evil.test"}
                seen = self.req(protocol, "app.example.test", headers=forged).json()
                self.assertEqual([v for k, v in seen["header_list"] if k.lower() == "remote-user"], ["alice"])
                self.assertEqual(seen["headers"]["remote-email"], "mallory@evil.test")  # not listed: kept
                seen = self.req(protocol, "regex.test", headers=forged).json()
                self.assertEqual([v for k, v in seen["header_list"] if k.lower() == "remote-user"], ["alice"])
                self.assertEqual(seen["headers"]["remote-email"], "alice@example.test")
                self.assertEqual(seen["headers"]["remote-groups"], "admins,dev")
                self.assertNotIn("x-unlisted", seen["headers"])

    def test_auth_cookies_added_to_response(self):
        query = urllib.parse.urlencode([("set-header", "Set-Cookie:auth_refresh=backend"),
                                        ("set-header", "Set-Cookie:keep=1")])
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                r = self.req(protocol, "cookies.test", "/c?" + query, headers={"Cookie": SESSION})
                self.assertEqual(r.status, 200, r)
                self.assertEqual(sorted(set_cookies(r)), ["auth_refresh=r1; Path=/", "keep=1"])
                r = self.req(protocol, "app.example.test", "/c?" + query, headers={"Cookie": SESSION})
                self.assertEqual(sorted(set_cookies(r)), ["auth_refresh=backend", "keep=1"])

    def test_forwarded_headers_and_trust(self):
        xf = {"X-Forwarded-Host": "forged.test", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9",
              "X-Other": "1"}
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                tag = "tag=" + uuid.uuid4().hex
                headers = dict(xf, Cookie=SESSION + "; " + tag)
                # trustForwardHeader and a trusted peer: its X-Forwarded-* count; only Cookie
                # (authRequestHeaders) and the X-Forwarded-* go to the auth server.
                self.assertEqual(self.req(protocol, "trust.test", headers=headers, source_ip=TRUSTED_SOURCE).status, 200)
                h = self.auth_request(tag)["headers"]
                self.assertEqual(h["x-forwarded-host"], "forged.test")
                self.assertEqual(h["x-forwarded-proto"], "https")
                self.assertEqual(h["x-forwarded-for"], "203.0.113.9, " + TRUSTED_SOURCE)
                self.assertNotIn("x-other", h)
                # The same peer without trustForwardHeader: set from the request.
                tag = "tag=" + uuid.uuid4().hex
                headers["Cookie"] = SESSION + "; " + tag
                self.assertEqual(self.req(protocol, "app.example.test", headers=headers,
                                          source_ip=TRUSTED_SOURCE).status, 200)
                h = self.auth_request(tag)["headers"]
                self.assertEqual(h["x-forwarded-host"], "app.example.test")
                self.assertEqual(h["x-forwarded-proto"], "https" if is_tls(protocol) else "http")
                self.assertEqual(h["x-forwarded-for"], TRUSTED_SOURCE)
                self.assertEqual(h["x-other"], "1")
                # trustForwardHeader, but a peer forwardedHeaders does not trust.
                tag = "tag=" + uuid.uuid4().hex
                headers["Cookie"] = SESSION + "; " + tag
                self.assertEqual(self.req(protocol, "trust.test", headers=headers).status, 200)
                h = self.auth_request(tag)["headers"]
                self.assertEqual(h["x-forwarded-host"], "trust.test")
                self.assertEqual(h["x-forwarded-for"], "127.0.0.1")

    def test_preserve_request_method(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                tag = "tag=" + uuid.uuid4().hex
                r = self.req(protocol, "method.test", "/upload", method="POST", body=b"payload",
                             headers={"Cookie": SESSION + "; " + tag, "Content-Type": "text/plain"})
                self.assertEqual(r.status, 200, r)
                self.assertEqual((r.json()["method"], r.json()["body_len"]), ("POST", 7))
                seen = self.auth_request(tag)
                self.assertEqual((seen["method"], seen["body"]), ("POST", b""))
                self.assertNotIn("content-length", seen["headers"])
                self.assertEqual(seen["headers"]["x-forwarded-method"], "POST")

    def test_forward_body(self):
        """forwardBody: the auth server gets the body as sent (length or chunked); one over
        maxBodySize is 401 without asking it; headerField's value is the access log's user."""
        for protocol in PROTOCOLS:
            for chunked in (False, True):
                with self.subTest(protocol=protocol, chunked=chunked):
                    tag = "tag=" + uuid.uuid4().hex
                    payload = uuid.uuid4().hex.encode() * 2  # 64 bytes: the limit
                    r = self.req(protocol, "body.test", "/upload?" + tag, method="POST", body=payload,
                                 chunked=chunked, headers={"Cookie": SESSION + "; " + tag})
                    self.assertEqual(r.status, 200, r)
                    self.assertEqual((r.json()["method"], r.json()["body_len"]), ("POST", 64))
                    seen = self.auth_request(tag)
                    self.assertEqual((seen["method"], seen["body"]), ("POST", payload))
                    entry = wait_until(lambda: [json.loads(l) for l in read_lines(self.access_path) if tag in l],
                                       timeout=10, what="access log line")
                    self.assertEqual(entry[0]["ClientUsername"], "alice")
                    over = "tag=" + uuid.uuid4().hex
                    r = self.req(protocol, "body.test", "/upload", method="POST", body=payload + b"!",
                                 chunked=chunked, headers={"Cookie": SESSION + "; " + over})
                    self.assertEqual(r.status, 401, r)
                    self.assertFalse([x for x in self.auth.requests if over in x["headers"].get("cookie", "")])

    def test_auth_connections_are_pooled(self):
        before = self.auth.connections
        for _ in range(12):
            self.assertEqual(self.req("h1", "app.example.test", headers={"Cookie": SESSION}).status, 200)
        # Two workers, each with its own pool: one connection each at most.
        self.assertLessEqual(self.auth.connections - before, 2)


def openssl(*args, cwd):
    out = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError("openssl %s: %s" % (" ".join(args), out.stderr.decode()))


class ForwardAuthTls(unittest.TestCase):
    """forwardAuth's tls: an HTTPS auth server that requires a client certificate; ca, cert
    and key (files made by openssl), insecureSkipVerify."""

    @classmethod
    def setUpClass(cls):
        d = cls.dir = make_temp_dir()
        auth_ip = NET + ".5"
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=auth CA", cwd=d)
        for name, ext in (("srv", "subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n" % auth_ip),
                          ("client", "extendedKeyUsage=clientAuth\n")):
            openssl("req", *ec, "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=portier-" + name, cwd=d)
            (d / (name + ".cnf")).write_text("basicConstraints=CA:FALSE\n" + ext)
            openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                    "-out", name + ".pem", "-days", "2", "-extfile", name + ".cnf", cwd=d)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(d / "srv.pem"), str(d / "srv.key"))
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(str(d / "ca.pem"))
        cls.auth = AuthServer(auth_ip, ssl_context=ctx)
        cls.app = Backend("app", NET + ".6")
        cls.ip = NET + ".7"
        cls.port = free_port(cls.ip)
        verify = cls.auth.url + "/verify"
        client = {"cert": str(d / "client.pem"), "key": (d / "client.key").read_text()}  # a path, inline PEM
        middlewares = {
            "mtls": {"forwardAuth": {"address": verify, "authResponseHeaders": ["Remote-User"],
                                     "tls": dict(client, ca=str(d / "ca.pem"))}},
            "insecure": {"forwardAuth": {"address": verify, "tls": dict(client, insecureSkipVerify=True)}},
            "no-cert": {"forwardAuth": {"address": verify, "tls": {"ca": str(d / "ca.pem")}}},
            "untrusted": {"forwardAuth": {"address": verify, "tls": client}},
        }
        routers = {}
        for name in middlewares:
            routers.update(both_sides(name, name + ".test", "app", [name]))
        dynamic = {"http": {"routers": routers, "middlewares": middlewares, "services": {"app": service(cls.app.url)}}}
        path = write_file_atomic(d / "dynamic.yml", dynamic)
        cls.portier = started(Portier(http_config({"web": "%s:%d" % (cls.ip, cls.port)}, path, workers=2)))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.app.close()
        cls.auth.close()

    def test_client_certificate_and_verification(self):
        for protocol in PROTOCOLS:
            with self.subTest(protocol):
                def get(host):
                    return proto_request(protocol, "GET", self.ip, self.port, "/",
                                         headers={"Host": host, "Cookie": SESSION})
                before = len(self.auth.requests)
                r = get("mtls.test")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json()["headers"]["remote-user"], "alice")
                self.assertEqual(self.auth.requests[before]["client_cn"], "portier-client")
                self.assertEqual(get("insecure.test").status, 200)
                # No client certificate: the handshake fails; a CA not trusted: verification fails.
                self.assertEqual(get("no-cert.test").status, 500)
                self.assertEqual(get("untrusted.test").status, 500)


LABELS = """\
name: sso
services:
  web:
    image: test/busybox:1
    network_mode: host
    labels:
      - traefik.enable=true
      - traefik.http.routers.web.rule=Host(`web.example.test`)
      - traefik.http.routers.web.middlewares=authelia
      - traefik.http.services.web.loadbalancer.server.port=8080
      - traefik.http.middlewares.authelia.forwardauth.address=http://127.0.72.3:9091/api/verify?rd=https://auth.example.test/
      - traefik.http.middlewares.authelia.forwardauth.trustForwardHeader=true
      - traefik.http.middlewares.authelia.forwardauth.authResponseHeaders=Remote-User, Remote-Groups,Remote-Email
      - traefik.http.middlewares.authelia.forwardauth.authResponseHeadersRegex=^X-Auth-
      - traefik.http.middlewares.authelia.forwardauth.authRequestHeaders=Cookie,Accept
      - traefik.http.middlewares.authelia.forwardauth.addAuthCookiesToResponse=session
      - traefik.http.middlewares.authelia.forwardauth.maxResponseBodySize=65536
      - traefik.http.middlewares.authelia.forwardauth.preserveLocationHeader=true
      - traefik.http.middlewares.authelia.forwardauth.preserveRequestMethod=true
      - traefik.http.middlewares.authelia.forwardauth.authSigninURL=https://auth.example.test/
      - traefik.http.middlewares.authelia.forwardauth.tls.insecureSkipVerify=true
      - traefik.http.routers.digest.rule=Host(`digest.example.test`)
      - traefik.http.routers.digest.middlewares=dig
      - traefik.http.routers.digest.service=web
      - traefik.http.middlewares.dig.digestauth.users=alice:traefik:79bed6ed34cf665f5400486fabef2ad4, bob:traefik:0b9c2625dc21ef05f6ad4ddf47c5f203
      - traefik.http.middlewares.dig.digestauth.realm=traefik
      - traefik.http.middlewares.dig.digestauth.headerField=X-WebAuth-User
      - traefik.http.middlewares.dig.digestauth.removeHeader=true
      - {extra}
      - rediacc.service_ip=127.0.72.2
"""


class AuthLabels(unittest.TestCase):
    def check(self, extra, *args):
        d = make_temp_dir()
        config = d / "portier.yml"
        config.write_text(json.dumps({
            "infra": {"public_ipv4": "127.0.72.1", "base_domain": "example.test", "http_port": 18080,
                      "https_port": 18443},
            "providers": {"docker": {"endpoints": ["unix:///nonexistent/docker-*.sock"]}},
            "state": {"directory": "/nonexistent/state"}}))
        compose = d / "docker-compose.yml"
        compose.write_text(LABELS.format(extra=extra))
        return run_cli(["check", "--config", str(config), "--compose", str(compose), *args])

    def test_every_label_decodes(self):
        r = self.check("traefik.http.middlewares.authelia.forwardauth.forwardBody=false", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        j = json.loads(r.stdout)
        self.assertEqual(j["errors"], [])
        fa = j["http"]["middlewares"]["authelia@docker"]["forwardAuth"]
        self.assertEqual(fa["address"], "http://127.0.72.3:9091/api/verify?rd=https://auth.example.test/")
        self.assertEqual(fa["authResponseHeaders"], ["Remote-User", "Remote-Groups", "Remote-Email"])
        self.assertEqual(fa["authRequestHeaders"], ["Cookie", "Accept"])
        self.assertEqual(fa["addAuthCookiesToResponse"], ["session"])
        self.assertEqual(fa["authResponseHeadersRegex"], "^X-Auth-")
        self.assertEqual(fa["maxResponseBodySize"], 65536)
        self.assertEqual(fa["authSigninURL"], "https://auth.example.test/")
        self.assertEqual(fa["tls"], {"insecureSkipVerify": True})
        for key in ("trustForwardHeader", "preserveLocationHeader", "preserveRequestMethod"):
            self.assertIs(fa[key], True, key)
        dig = j["http"]["middlewares"]["dig@docker"]["digestAuth"]
        self.assertEqual(dig["users"], ["alice:traefik:<redacted>", "bob:traefik:<redacted>"])  # never a hash
        self.assertEqual((dig["realm"], dig["headerField"], dig["removeHeader"]), ("traefik", "X-WebAuth-User", True))

    def test_body_keys_decode(self):
        r = self.check("\n      - ".join(["traefik.http.middlewares.authelia.forwardauth.forwardBody=true",
                                            "traefik.http.middlewares.authelia.forwardauth.maxBodySize=1024",
                                            "traefik.http.middlewares.authelia.forwardauth.headerField=Remote-User"]),
                       "--format", "json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        fa = json.loads(r.stdout)["http"]["middlewares"]["authelia@docker"]["forwardAuth"]
        self.assertEqual((fa["forwardBody"], fa["maxBodySize"], fa["headerField"]), (True, 1024, "Remote-User"))

    def test_bad_value_is_named(self):
        r = self.check("traefik.http.middlewares.authelia.forwardauth.maxBodySize=-2")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("maxBodySize", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
