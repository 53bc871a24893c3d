"""Client certificates (issue 15 item 8): tls.options.NAME.clientAuth with each of Traefik's
five clientAuthType values, tried without a certificate, with one signed by the configured CA
and with one signed by another CA (curl --cert, HTTP/1.1 over TLS and h2), and the
passTLSClientCert middleware's X-Forwarded-Tls-Client-Cert(-Info) headers compared with the
values Traefik writes, computed here from the certificates openssl made.

clientAuth is a TLS-level setting: HTTP/1.1 cleartext and h2c have no handshake to ask a
certificate in, so they are not tried against it. A TCP router that terminates TLS asks for
the certificate as its options say too. passTLSClientCert is request-level: its
headers are checked over both TLS protocols, and over cleartext (h1, h2c) it must remove a
forged header instead of passing it on."""

import base64
import os
import socket
import ssl
import subprocess
import tempfile
import unittest
import urllib.parse

from portier_e2e import (Backend, Portier, free_port, http_config, make_temp_dir, proto_request, router, service,
                         started, write_file_atomic)
from tcp_peers import StreamServer, lb
from test_tls import s_client

NET = "127.0.67"
CERT_HEADER = "x-forwarded-tls-client-cert"
INFO_HEADER = "x-forwarded-tls-client-cert-info"

CLIENT_SUBJECT = "/DC=org/DC=example/C=FR/C=US/ST=Occitanie/L=Toulouse/O=Cheese/O=Cheese 2/OU=Ops" \
                 "/serialNumber=42/CN=alice client"
CA_SUBJECT = "/DC=org/DC=ca/C=DE/ST=Bayern/L=Munich/O=Issuer Org/OU=CA Unit/serialNumber=7/CN=Client CA One"
CLIENT_SANS = "DNS:alice.example,email:alice@example.org,IP:10.0.1.2,IP:2001:db8:0:0:1:0:0:1," \
              "URI:spiffe://example/alice"
CLIENT_SERIAL = 4660

# What Traefik writes for the certificates above with every info field selected (the issuer
# form has no organizationalUnit).
CLIENT_INFO = ('Subject="DC=org,DC=example,C=FR,C=US,ST=Occitanie,L=Toulouse,O=Cheese,O=Cheese 2,OU=Ops,SN=42,'
               'CN=alice client";Issuer="DC=org,DC=ca,C=DE,ST=Bayern,L=Munich,O=Issuer Org,SN=7,CN=Client CA One";'
               'SerialNumber="4660";NB="{nb}";NA="{na}";'
               'SAN="alice.example,alice@example.org,10.0.1.2,2001:db8::1:0:0:1,spiffe://example/alice"')

# clientAuthType -> (router host, succeeds without a certificate, with the CA's, with another CA's,
# the certificate reaches the backend)
POLICIES = {
    "NoClientCert": ("none.test", True, True, True, False),
    "RequestClientCert": ("request.test", True, True, True, True),
    "RequireAnyClientCert": ("any.test", False, True, True, True),
    "VerifyClientCertIfGiven": ("ifgiven.test", True, True, False, True),
    "RequireAndVerifyClientCert": ("verify.test", False, True, False, True),
}


def openssl(directory, *args):
    r = subprocess.run(["openssl", *args], cwd=directory, capture_output=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError("openssl %s failed: %s" % (" ".join(args), r.stderr.decode(errors="replace")))
    return r.stdout.decode()


def make_ca(directory, stem, subject):
    openssl(directory, "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", stem + ".key", "-out", stem + ".crt", "-days", "2", "-subj", subject)
    return str(directory / (stem + ".crt"))


def make_client(directory, stem, ca_stem, subject, sans, serial):
    """A client certificate signed by `ca_stem`: (cert path, key path)."""
    (directory / (stem + ".ext")).write_text("subjectAltName=%s\nextendedKeyUsage=clientAuth\n" % sans)
    openssl(directory, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", stem + ".key", "-out", stem + ".csr", "-subj", subject)
    openssl(directory, "x509", "-req", "-in", stem + ".csr", "-CA", ca_stem + ".crt", "-CAkey", ca_stem + ".key",
            "-set_serial", str(serial), "-days", "2", "-extfile", stem + ".ext", "-out", stem + ".crt")
    return str(directory / (stem + ".crt")), str(directory / (stem + ".key"))


def der_base64(cert_path):
    return base64.b64encode(ssl.PEM_cert_to_DER_cert(open(cert_path).read())).decode()


def validity(cert_path):
    """(notBefore, notAfter) in Unix seconds, as openssl prints them."""
    out = openssl(os.path.dirname(cert_path), "x509", "-in", cert_path, "-noout", "-startdate", "-enddate")
    dates = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return int(ssl.cert_time_to_seconds(dates["notBefore"])), int(ssl.cert_time_to_seconds(dates["notAfter"]))


def echo_lines(conn):
    conn.settimeout(10)
    with conn.makefile("rb") as f:
        for line in f:
            conn.sendall(line)


def curl_tls(protocol, host, ip, port, cert=None, key=None, headers=None):
    """One GET over TLS (h1-tls or h2-tls) with SNI `host`, optionally presenting a client
    certificate: (status or None when no HTTP response came, response body)."""
    with tempfile.TemporaryDirectory(prefix="portier-curl-") as tmp:
        body_path = os.path.join(tmp, "body")
        args = ["curl", "-sS", "-k", "--http1.1" if protocol == "h1-tls" else "--http2", "--max-time", "10",
                "--resolve", "%s:%d:%s" % (host, port, ip), "-o", body_path, "-w", "%{http_code} %{http_version}"]
        if cert:
            args += ["--cert", cert, "--key", key]
        for name, value in (headers or {}).items():
            args += ["-H", "%s: %s" % (name, value)]
        args.append("https://%s:%d/" % (host, port))
        out = subprocess.run(args, capture_output=True, timeout=20)
        code, _, version = out.stdout.decode().partition(" ")
        if code in ("", "000"):
            return None, out.stderr.decode(errors="replace")
        expected = "1.1" if protocol == "h1-tls" else "2"
        if version != expected:
            raise AssertionError("curl %s spoke HTTP/%s" % (protocol, version))
        with open(body_path, "rb") as f:
            return int(code), f.read()


class ClientCertificates(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = make_temp_dir()
        cls.ca1 = make_ca(cls.dir, "ca1", CA_SUBJECT)
        make_ca(cls.dir, "ca2", "/CN=Other CA")
        cls.good = make_client(cls.dir, "alice", "ca1", CLIENT_SUBJECT, CLIENT_SANS, CLIENT_SERIAL)
        cls.other = make_client(cls.dir, "mallory", "ca2", "/CN=mallory", "DNS:mallory.example", 99)
        # The client certificate followed by its CA: a client that sends its chain.
        cls.chain = str(cls.dir / "alice-chain.crt")
        with open(cls.chain, "w") as f:
            f.write(open(cls.good[0]).read() + open(cls.ca1).read())
        cls.backend = Backend("a", NET + ".2")
        cls.ip = NET + ".1"
        cls.port = free_port(cls.ip)
        everything = {"country": True, "province": True, "locality": True, "organization": True,
                      "commonName": True, "serialNumber": True, "domainComponent": True}
        middlewares = {
            "pass": {"passTLSClientCert": {"pem": True, "info": {
                "notAfter": True, "notBefore": True, "sans": True, "serialNumber": True,
                "subject": dict(everything, organizationalUnit=True), "issuer": everything}}},
            "cn-only": {"passTLSClientCert": {"info": {"subject": {"commonName": True}}}},
        }
        options, routers = {}, {}
        for kind, (host, *_) in POLICIES.items():
            name = host.split(".")[0]
            options[name] = {"clientAuth": {"clientAuthType": kind, "caFiles": [cls.ca1]}}
            if kind in ("RequestClientCert", "RequireAnyClientCert"):
                del options[name]["clientAuth"]["caFiles"]  # these do not verify: no CA needed
            routers[name] = router("Host(`%s`)" % host, "a", middlewares=["pass"], tls={"options": name})
        # caFiles (inline PEM here) without clientAuthType means RequireAndVerifyClientCert.
        options["implicit"] = {"clientAuth": {"caFiles": [open(cls.ca1).read()]}}
        routers["implicit"] = router("Host(`implicit.test`)", "a", middlewares=["pass"], tls={"options": "implicit"})
        # A verify type without caFiles is reported and refuses every certificate.
        options["broken"] = {"clientAuth": {"clientAuthType": "RequireAndVerifyClientCert"}}
        routers["broken"] = router("Host(`broken.test`)", "a", tls={"options": "broken"})
        routers["cn"] = router("Host(`cn.test`)", "a", middlewares=["cn-only"], tls={"options": "request"})
        routers["open"] = router("Host(`open.test`)", "a", middlewares=["pass"], tls={})
        routers["plain"] = router("Host(`plain.test`)", "a", middlewares=["pass"])
        cls.echo = StreamServer(NET + ".3", echo_lines)
        cls.tcp_port = free_port(cls.ip)
        tcp = {"routers": {"mtls": {"rule": "HostSNI(`tcp.test`)", "service": "echo", "entryPoints": ["tcp-mtls"],
                                    "tls": {"options": "verify"}}},
               "services": {"echo": lb(cls.echo.address)}}
        dynamic = {"http": {"routers": routers, "middlewares": middlewares,
                            "services": {"a": service(cls.backend.url)}},
                   "tcp": tcp, "tls": {"options": options}}
        cls.dynamic_path = write_file_atomic(cls.dir / "dynamic.yml", dynamic)
        entry_points = {"web": "%s:%d" % (cls.ip, cls.port), "tcp-mtls": "%s:%d" % (cls.ip, cls.tcp_port)}
        cls.portier = started(Portier(http_config(entry_points, cls.dynamic_path)))
        nb, na = validity(cls.good[0])
        cls.expected_info = urllib.parse.quote_plus(CLIENT_INFO.format(nb=nb, na=na))

    @classmethod
    def tearDownClass(cls):
        cls.portier.__exit__(None, None, None)
        cls.backend.close()
        cls.echo.close()

    def get(self, protocol, host, client=None, headers=None):
        cert, key = client or (None, None)
        return curl_tls(protocol, host, self.ip, self.port, cert, key, headers)

    def test_each_client_auth_type_with_and_without_certificates(self):
        for kind, (host, without, with_ca, with_other, passed) in POLICIES.items():
            for protocol in ("h1-tls", "h2-tls"):
                for label, client, ok in (("none", None, without), ("ca1", self.good, with_ca),
                                          ("ca2", self.other, with_other)):
                    with self.subTest(kind=kind, protocol=protocol, client=label):
                        before = len(self.backend.requests)
                        status, body = self.get(protocol, host, client)
                        if not ok:
                            self.assertIsNone(status, body)
                            self.assertEqual(len(self.backend.requests), before, "a refused client reached the backend")
                            continue
                        self.assertEqual(status, 200, body)
                        seen = self.backend.requests[-1]["headers"]
                        expected = {"none": None, "ca1": der_base64(self.good[0]),
                                    "ca2": der_base64(self.other[0])}[label] if passed else None
                        self.assertEqual(seen.get(CERT_HEADER), expected)

    def test_ca_files_alone_require_and_verify(self):
        for protocol in ("h1-tls", "h2-tls"):
            with self.subTest(protocol):
                self.assertIsNone(self.get(protocol, "implicit.test")[0])
                self.assertIsNone(self.get(protocol, "implicit.test", self.other)[0])
                self.assertEqual(self.get(protocol, "implicit.test", self.good)[0], 200)

    def test_verify_type_without_ca_files_is_reported_and_refuses_everyone(self):
        errors = " ".join(e.get("message", "") for e in self.portier.diag("/routes.json")["errors"])
        self.assertIn("RequireAndVerifyClientCert needs caFiles", errors)
        for client in (None, self.good, self.other):
            self.assertIsNone(self.get("h1-tls", "broken.test", client)[0])

    def test_pass_tls_client_cert_headers_as_traefik_writes_them(self):
        for protocol in ("h1-tls", "h2-tls"):
            with self.subTest(protocol):
                status, body = self.get(protocol, "verify.test", self.good,
                                        headers={"X-Forwarded-Tls-Client-Cert": "forged"})
                self.assertEqual(status, 200, body)
                seen = self.backend.requests[-1]["header_list"]
                self.assertEqual([v for k, v in seen if k.lower() == CERT_HEADER], [der_base64(self.good[0])])
                self.assertEqual([v for k, v in seen if k.lower() == INFO_HEADER], [self.expected_info])

    def test_chain_sent_by_the_client_is_passed_in_order(self):
        nb, na = validity(self.ca1)
        ca_info = ('Subject="DC=org,DC=ca,C=DE,ST=Bayern,L=Munich,O=Issuer Org,OU=CA Unit,SN=7,CN=Client CA One";'
                   'Issuer="DC=org,DC=ca,C=DE,ST=Bayern,L=Munich,O=Issuer Org,SN=7,CN=Client CA One";'
                   'SerialNumber="%s";NB="%d";NA="%d"')
        serial = int(openssl(self.dir, "x509", "-in", self.ca1, "-noout", "-serial").split("=")[1], 16)
        status, body = self.get("h2-tls", "verify.test", (self.chain, self.good[1]))
        self.assertEqual(status, 200, body)
        seen = self.backend.requests[-1]["headers"]
        self.assertEqual(seen[CERT_HEADER], der_base64(self.good[0]) + "," + der_base64(self.ca1))
        first = urllib.parse.unquote_plus(self.expected_info)
        self.assertEqual(urllib.parse.unquote_plus(seen[INFO_HEADER]), first + "," + ca_info % (serial, nb, na))

    def test_selected_fields_only(self):
        status, body = self.get("h1-tls", "cn.test", self.other)
        self.assertEqual(status, 200, body)
        seen = self.backend.requests[-1]["headers"]
        self.assertEqual(seen[INFO_HEADER], urllib.parse.quote_plus('Subject="CN=mallory"'))
        self.assertNotIn(CERT_HEADER, seen)  # pem is not set on this middleware

    def test_without_a_certificate_forged_headers_are_removed(self):
        forged = {"X-Forwarded-Tls-Client-Cert": "forged", "X-Forwarded-Tls-Client-Cert-Info": "forged"}
        for protocol in ("h1", "h1-tls", "h2-tls", "h2c"):
            with self.subTest(protocol):
                if protocol in ("h1", "h2c"):
                    r = proto_request(protocol, "GET", self.ip, self.port, headers=dict(forged, Host="plain.test"))
                    status = r.status
                else:
                    status, _ = self.get(protocol, "open.test", headers=forged)
                self.assertEqual(status, 200)
                seen = self.backend.requests[-1]["headers"]
                self.assertNotIn(CERT_HEADER, seen)
                self.assertNotIn(INFO_HEADER, seen)

    def test_tcp_router_that_terminates_tls_verifies_the_certificate(self):
        def exchange(client):
            ctx = ssl._create_unverified_context()  # portier serves its default certificate
            if client:
                ctx.load_cert_chain(*client)
            try:
                with socket.create_connection((self.ip, self.tcp_port), timeout=5) as raw, \
                        ctx.wrap_socket(raw, server_hostname="tcp.test") as tls:
                    tls.sendall(b"ping\n")
                    return tls.makefile("rb").readline()
            except (ssl.SSLError, OSError):
                return None
        self.assertEqual(exchange(self.good), b"ping\n")
        self.assertIn(exchange(None), (None, b""))
        self.assertIn(exchange(self.other), (None, b""))

    def test_certificate_request_names_the_ca(self):
        r = s_client("%s:%d" % (self.ip, self.port), "verify.test", args=["-tls1_2"])
        self.assertIn("Acceptable client certificate CA names", r.out)
        self.assertIn("CN = Client CA One", r.out)

    def test_session_from_another_policy_is_not_resumed_without_a_certificate(self):
        """A TLS session made for a name without clientAuth, offered for verify.test, must not
        skip the certificate request (TLS 1.2 session ids and TLS 1.3 tickets)."""
        request = ("GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n")
        for version in ("-tls1_2", "-tls1_3"):
            with self.subTest(version):
                session = str(self.dir / ("session" + version))
                first = s_client("%s:%d" % (self.ip, self.port), "open.test", send=(request % "open.test").encode(),
                                 args=[version, "-sess_out", session])
                self.assertIn("HTTP/1.1 200", first.out)
                before = len(self.backend.requests)
                second = s_client("%s:%d" % (self.ip, self.port), "verify.test",
                                  send=(request % "verify.test").encode(), args=[version, "-sess_in", session])
                self.assertFalse(second.reused, second)
                self.assertNotIn("HTTP/1.1 200", second.out)
                self.assertEqual(len(self.backend.requests), before)
                # The same session is resumed where it was made (the check above is not vacuous).
                third = s_client("%s:%d" % (self.ip, self.port), "open.test", send=(request % "open.test").encode(),
                                 args=[version, "-sess_in", session])
                self.assertTrue(third.reused, third)


if __name__ == "__main__":
    unittest.main()
