"""entryPoints.NAME.http.tls with a certResolver and domains (issue 18), through `portier run`
with a real pebble CA and the Cloudflare stand-in (DNS-01, TXT records served by
pebble-challtestsrv's DNS).

As in Traefik (the entrypoint's http.tls is the tls of every HTTP router on it that has none):
`websecure`'s domains {main: example.test, sans: [*.example.test]} are one certificate,
requested at start for its router without a tls section, which is then a TLS router served
with it; on `hostonly` (certResolver, no domains) a router without tls gets a certificate for
its Host name.
"""

import re
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from backend import Backend  # noqa: E402
from cloudflare_standin import CloudflareStandin  # noqa: E402
from pebble_fixture import Pebble  # noqa: E402
from portier_e2e import (PROTOCOLS, Portier, free_port, is_tls, make_temp_dir, proto_request, router,  # noqa: E402
                         service, wait_until, write_file_atomic)

NET = "127.0.120"
IP = NET + ".1"


def served_names(port, sni):
    """The subject CN and DNS names of the certificate portier sends for `sni`."""
    out = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (IP, port), "-servername", sni],
                         input=b"", capture_output=True, timeout=20).stdout
    text = subprocess.run(["openssl", "x509", "-noout", "-subject", "-ext", "subjectAltName"], input=out,
                          capture_output=True).stdout.decode()
    cn = re.search(r"CN\s*=\s*([^\s,/]+)", text)
    return (cn.group(1) if cn else None), sorted(re.findall(r"DNS:([^\s,]+)", text))


class AcmeEntryPointTls(unittest.TestCase):
    def setUp(self):
        self.pebble = Pebble().start()
        self.addCleanup(self.pebble.stop)
        self.cf = CloudflareStandin(self.pebble, ["example.test", "other.test"]).start()
        self.addCleanup(self.cf.stop)
        self.backend = Backend("app", NET + ".2")
        self.addCleanup(self.backend.close)

    def acme_cert(self, p, names):
        for c in p.diag("/certificates"):
            if c.get("source") == "acme" and sorted(c.get("names", [])) == sorted(names) \
                    and c.get("status", "valid") == "valid":
                return c
        return None

    def test_entry_point_domains_and_host_names(self):
        work = make_temp_dir("portier-acme-ep-")
        secure_port, hostonly_port = free_port(IP), free_port(IP)
        write_file_atomic(work / "dynamic.yml", {"http": {
            "routers": {"app": router("Host(`app.example.test`)", "app", entry_points=("websecure",)),
                        "solo": router("Host(`solo.other.test`)", "app", entry_points=("hostonly",))},
            "services": {"app": service("http://%s" % self.backend.address)}}})
        config = {
            "entryPoints": {
                "websecure": {"address": "%s:%d" % (IP, secure_port), "http": {"tls": {
                    "certResolver": "le", "domains": [{"main": "example.test", "sans": ["*.example.test"]}]}}},
                "hostonly": {"address": "%s:%d" % (IP, hostonly_port), "http": {"tls": {"certResolver": "le"}}}},
            "certificatesResolvers": {"le": {"acme": {
                "email": "ops@example.test", "storage": str(work / "acme.json"),
                "caServer": self.pebble.directory_url,
                "dnsChallenge": {"provider": "cloudflare", "resolvers": [self.pebble.dns_address],
                                 "propagation": {"disableANSChecks": True}}}}},
            "providers": {"file": {"filename": str(work / "dynamic.yml"), "watch": True}},
        }
        env = {"CF_API_BASE_URL": self.cf.base_url, "CF_DNS_API_TOKEN": self.cf.token,
               "LEGO_CA_CERTIFICATES": self.pebble.ca_file, "PORTIER_ACME_BACKOFF_SECONDS": "1"}
        with Portier(config, env=env) as p:
            p.start()
            # One certificate for main + sans (the wildcard through DNS-01), none for the Host.
            wait_until(lambda: self.acme_cert(p, ["example.test", "*.example.test"]), 60,
                       "the entrypoint's domains certificate")
            self.assertIsNone(self.acme_cert(p, ["app.example.test"]))
            self.assertEqual(served_names(secure_port, "app.example.test"),
                             ("example.test", ["*.example.test", "example.test"]))
            # No domains on hostonly: the router's Host name.
            wait_until(lambda: self.acme_cert(p, ["solo.other.test"]), 60, "the Host certificate")
            self.assertEqual(served_names(hostonly_port, "solo.other.test"),
                             ("solo.other.test", ["solo.other.test"]))
            # The routers have no tls section, yet serve TLS only there (Traefik's model).
            for protocol in PROTOCOLS:
                with self.subTest(protocol):
                    for port, host in ((secure_port, "app.example.test"), (hostonly_port, "solo.other.test")):
                        r = proto_request(protocol, "GET", IP, port, "/", headers={"Host": host})
                        self.assertEqual(r.status, 200 if is_tls(protocol) else 404, (host, r))
            self.assertEqual(p.stop(), 0)


if __name__ == "__main__":
    unittest.main()
