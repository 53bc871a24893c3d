"""ACME HTTP-01 and TLS-ALPN-01 through `portier run` (issue 18 item 5): real pebble CAs validate
both challenges against portier's own entrypoints (challtestsrv's DNS points the names at
them), TLS-ALPN-01 also on a tcp-* entrypoint for a TLS-terminating TCP router; the
certificates are served afterwards, renewed at the next start when due (certificatesDuration),
taken from the alternate chain with preferredChain, and an account with external account
binding (eab) is registered with a CA that requires it, while a wrong HMAC fails with the CA's
error.

The HTTP-01 answer is portier's own, ahead of every router on the httpChallenge entrypoint's
cleartext side (HTTP/1.1 and h2c; the TLS side, HTTP/1.1 and h2, routes as usual), and after
the routers with allowACMEByPass.
"""

import base64
import json
import re
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from backend import Backend  # noqa: E402
from pebble_fixture import Pebble  # noqa: E402
from portier_e2e import (PROTOCOLS, Portier, free_port, is_tls, make_temp_dir, proto_request, wait_until,  # noqa: E402
                         write_file_atomic)

NET = "127.0.105"
IP = NET + ".1"
EAB_KEY = base64.urlsafe_b64encode(b"portier-eab-test-hmac-key-0123456789").rstrip(b"=").decode()
WRONG_KEY = base64.urlsafe_b64encode(b"not-the-key-the-ca-has-for-kid-1").rstrip(b"=").decode()

HOSTS = {"http": "http01.challenges.example.com", "alpn": "alpn01.challenges.example.com",
         "eab": "eab.challenges.example.com", "eabbad": "eabbad.challenges.example.com"}
# Served by an HTTPS router on another entrypoint only: on websecure a catch-all TCP router
# would take its SNI, but not an acme-tls/1 ClientHello (Traefik's order).
TCP_SNI_HOST = "tcpsni.challenges.example.com"
# A TLS-terminating TCP router on a tcp-* entrypoint (TCP routers only): its TLS-ALPN-01
# validation is answered there, as Traefik's TCP router answers acme-tls/1 ClientHellos.
TCP_ALPN_HOST = "tcpalpn.challenges.example.com"
# The same for a TCP router whose server is down: the answer comes before routing and dialling.
TCP_DOWN_HOST = "tcpdown.challenges.example.com"


def served_chain(port, host):
    """The certificates portier sends for SNI `host`: [(subject, issuer)] of each, leaf first."""
    out = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (IP, port), "-servername", host,
                          "-showcerts", "-nameopt", "RFC2253"], input=b"", capture_output=True, timeout=20).stdout
    text = out.decode(errors="replace")
    pairs = re.findall(r"^\s*\d+ s:(.*)\n\s*i:(.*)$", text, re.M)
    return [(s.strip(), i.strip()) for s, i in pairs], text


def leaf_serial(port, host):
    out = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (IP, port), "-servername", host],
                         input=b"", capture_output=True, timeout=20).stdout
    x509 = subprocess.run(["openssl", "x509", "-noout", "-serial"], input=out, capture_output=True).stdout
    return x509.decode().strip()


class AcmeChallenges(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.web_port = free_port(IP)
        cls.tls_port = free_port(IP)
        cls.tcp_port = free_port(IP)
        # Pebble A: http-01 and tls-alpn-01, an alternate chain, 10-minute certificates.
        cls.ca = Pebble(http_port=cls.web_port, tls_port=cls.tls_port, alternate_roots=1,
                        validity_seconds=600).start()
        # Pebble B: accounts need an external account binding.
        cls.eab_ca = Pebble(http_port=cls.web_port, tls_port=cls.tls_port, eab_keys={"kid-1": EAB_KEY}).start()
        # Pebble C: validates tls-alpn-01 on the tcp-* entrypoint's port.
        cls.tcp_ca = Pebble(tls_port=cls.tcp_port).start()
        for pebble in (cls.ca, cls.eab_ca, cls.tcp_ca):
            for host in list(HOSTS.values()) + [TCP_SNI_HOST, TCP_ALPN_HOST, TCP_DOWN_HOST]:
                pebble.add_a(host, IP)
        cls.backend = Backend("app", NET + ".2")

    @classmethod
    def tearDownClass(cls):
        cls.backend.close()
        cls.tcp_ca.stop()
        cls.eab_ca.stop()
        cls.ca.stop()

    def make_portier(self, work, bypass_port):
        def resolver(ca, **extra):
            acme = {"email": "ops@challenges.example.com", "storage": str(work / "acme.json"),
                    "caServer": ca.directory_url}
            acme.update(extra)
            return {"acme": acme}
        config = {
            "entryPoints": {
                "web": {"address": "%s:%d" % (IP, self.web_port)},
                "websecure": {"address": "%s:%d" % (IP, self.tls_port)},
                "bypass": {"address": "%s:%d" % (IP, bypass_port), "allowACMEByPass": True},
                "tcp-alpn": {"address": "%s:%d" % (IP, self.tcp_port)}},
            "certificatesResolvers": {
                "http": resolver(self.ca, httpChallenge={"entryPoint": "web"}, certificatesDuration=1,
                                 preferredChain=self.ca.root_subject_cn(1)),
                # Both challenges on one resolver: tls-alpn-01 is preferred, as lego does.
                "alpn": resolver(self.ca, tlsChallenge={}, httpChallenge={"entryPoint": "web"},
                                 certificatesDuration=1),
                "eab": resolver(self.eab_ca, tlsChallenge=True, eab={"kid": "kid-1", "hmacEncoded": EAB_KEY}),
                "eabbad": resolver(self.eab_ca, tlsChallenge={}, eab={"kid": "kid-1", "hmacEncoded": WRONG_KEY}),
                "bypass": resolver(self.ca, httpChallenge={"entryPoint": "bypass"}),
                "tcpalpn": resolver(self.tcp_ca, tlsChallenge={}),
            },
            "providers": {"file": {"filename": str(work / "dynamic.yml"), "watch": True}},
        }
        routers = {name: {"rule": "Host(`%s`)" % host, "entryPoints": ["websecure"], "service": "app",
                          "tls": {"certResolver": name}} for name, host in HOSTS.items()}
        routers["catchall"] = {"rule": "PathPrefix(`/`)", "entryPoints": ["web"], "service": "app"}
        routers["catchall-tls"] = dict(routers["catchall"], tls={})
        routers["routed"] = {"rule": "Host(`routed.example.com`)", "entryPoints": ["bypass"], "service": "app"}
        routers["tcpsni"] = {"rule": "Host(`%s`)" % TCP_SNI_HOST, "entryPoints": ["bypass"], "service": "app",
                             "tls": {"certResolver": "alpn"}}
        write_file_atomic(work / "dynamic.yml", {
            "http": {"routers": routers,
                     "services": {"app": {"loadBalancer": {"servers": [{"url": "http://%s" % self.backend.address}]}}}},
            "tcp": {"routers": {"other": {"rule": "HostSNI(`*`)", "entryPoints": ["websecure"], "service": "raw",
                                          "tls": {"passthrough": True}},
                                "tcpalpn": {"rule": "HostSNI(`%s`)" % TCP_ALPN_HOST, "entryPoints": ["tcp-alpn"],
                                            "service": "raw", "tls": {"certResolver": "tcpalpn"}},
                                "tcpdown": {"rule": "HostSNI(`%s`)" % TCP_DOWN_HOST, "entryPoints": ["tcp-alpn"],
                                            "service": "down", "tls": {"certResolver": "tcpalpn"}}},
                    "services": {"raw": {"loadBalancer": {"servers": [{"address": self.backend.address}]}},
                                 "down": {"loadBalancer": {"servers": [{"address": "%s:%d" % (NET + ".3", free_port(NET + ".3"))}]}}}}})
        env = {"LEGO_CA_CERTIFICATES": "%s:%s:%s" % (self.ca.ca_file, self.eab_ca.ca_file, self.tcp_ca.ca_file),
               "PORTIER_ACME_BACKOFF_SECONDS": "1"}
        return Portier(config, env=env)

    def acme_cert(self, p, host, status="valid"):
        for c in p.diag("/certificates"):
            if c.get("source") == "acme" and host in c.get("names", []) and c.get("status", "valid") == status:
                return c
        return None

    def test_challenges_issue_renew_and_bind(self):
        work = make_temp_dir("portier-acmechal-")
        bypass_port = free_port(IP)
        p = self.make_portier(work, bypass_port)
        with p:
            p.start()
            for host in [HOSTS[name] for name in ("http", "alpn", "eab")] + [TCP_SNI_HOST, TCP_ALPN_HOST, TCP_DOWN_HOST]:
                cert = wait_until(lambda: self.acme_cert(p, host), 60, "certificate for " + host)
                self.assertIn("Pebble Intermediate", cert["issuer"])
            failed = wait_until(lambda: self.acme_cert(p, HOSTS["eabbad"], "failed"), 60, "eab failure")
            self.assertIn("account registration: CA error unauthorized (HTTP 403): external account binding",
                          failed["last_error"])
            logs = p.logs()
            self.assertIn("http-01 challenge for %s" % HOSTS["http"], logs)
            self.assertIn("tls-alpn-01 challenge certificate for %s" % HOSTS["alpn"], logs)
            self.assertNotIn("http-01 challenge for %s" % HOSTS["alpn"], logs)
            self.assertIn("tls-alpn-01 challenge certificate for %s" % TCP_SNI_HOST, logs)
            self.assertIn("tls-alpn-01 challenge certificate for %s" % HOSTS["eab"], logs)
            self.assertIn("tls-alpn-01 challenge certificate for %s" % TCP_ALPN_HOST, logs)
            # The TCP router serves it on the tcp-* entrypoint.
            chain, text = served_chain(self.tcp_port, TCP_ALPN_HOST)
            self.assertTrue(chain and "CN=" + TCP_ALPN_HOST in chain[0][0], text)
            self.assertIn("Pebble Intermediate", chain[0][1])

            # Served: pebble's intermediate signs each leaf; preferredChain picked root 1's chain.
            root0, root1 = self.ca.root_subject_cn(0), self.ca.root_subject_cn(1)
            for name in ("http", "alpn"):
                chain, text = served_chain(self.tls_port, HOSTS[name])
                self.assertGreaterEqual(len(chain), 2, text)
                self.assertIn("CN=" + HOSTS[name], chain[0][0])
                self.assertIn("Pebble Intermediate", chain[0][1])
                self.assertIn(("CN=" + root1) if name == "http" else ("CN=" + root0), chain[-1][1], text)

            # The challenge path is portier's on the httpChallenge entrypoint's cleartext side,
            # ahead of the catch-all router (unknown token: 404, the backend never sees it); the
            # TLS side and other paths route.
            for protocol in PROTOCOLS:
                r = proto_request(protocol, "GET", IP, self.web_port, "/.well-known/acme-challenge/unknown",
                                  headers={"Host": HOSTS["http"]})
                expected = (200, "app") if is_tls(protocol) else (404, None)
                self.assertEqual((r.status, r.headers.get("x-backend")), expected, protocol)
                r = proto_request(protocol, "GET", IP, self.web_port, "/other", headers={"Host": HOSTS["http"]})
                self.assertEqual((r.status, r.headers.get("x-backend")), (200, "app"), protocol)
            # allowACMEByPass: a matching router gets the path; without one, portier answers.
            r = proto_request("h1", "GET", IP, bypass_port, "/.well-known/acme-challenge/unknown",
                              headers={"Host": "routed.example.com"})
            self.assertEqual((r.status, r.headers.get("x-backend")), (200, "app"))
            r = proto_request("h1", "GET", IP, bypass_port, "/.well-known/acme-challenge/unknown",
                              headers={"Host": "other.example.com"})
            self.assertEqual((r.status, r.headers.get("x-backend")), (404, None))
            before = {name: leaf_serial(self.tls_port, HOSTS[name]) for name in ("http", "alpn", "eab")}
            self.assertEqual(p.stop(), 0)

        doc = json.loads((work / "acme.json").read_text())
        self.assertTrue(doc["eab"]["Account"]["Registration"]["uri"].startswith("https://127.0.0.1"))
        self.assertFalse(doc.get("eabbad", {}).get("Certificates"))

        # 10-minute certificates are inside certificatesDuration 1's 20-minute renew window: the
        # next start renews them at once (by the same challenges); eab's 5-year one is kept.
        again = self.make_portier(work, bypass_port)
        with again:
            again.start()
            for name in ("http", "alpn"):
                wait_until(lambda: leaf_serial(self.tls_port, HOSTS[name]) != before[name], 60,
                           "renewed certificate for " + name)
            self.assertEqual(leaf_serial(self.tls_port, HOSTS["eab"]), before["eab"])
            self.assertIn("renewing", again.logs())
            self.assertEqual(again.stop(), 0)


if __name__ == "__main__":
    unittest.main()
