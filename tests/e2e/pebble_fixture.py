"""A real ACME CA for tests: pebble + pebble-challtestsrv (Debian package `pebble`).

Pebble.start() generates a private CA and a TLS certificate for pebble's own listener
(openssl CLI), starts pebble-challtestsrv as the only DNS server pebble's VA asks (DNS-01 on
127.0.0.1:<free>, its management API on 127.0.0.1:<free>, the other challenge servers off) and
pebble itself (PEBBLE_VA_NOSLEEP=1), all on free loopback ports, and waits until both answer.
Processes are killed by PID at stop() / exit; the temp dir is removed.

Options: http_port / tls_port (where pebble's VA connects for http-01 / tls-alpn-01; free
ports when not given), eab_keys ({kid: base64url HMAC key}: external account binding
required), alternate_roots (PEBBLE_ALTERNATE_ROOTS: alternate chains), validity_seconds
(certificateValidityPeriod of issued certificates).

Attributes once started:
  directory_url   https://127.0.0.1:<port>/dir
  ca_file         PEM of the CA that signed pebble's listener certificate (LEGO_CA_CERTIFICATES)
  dns_address     127.0.0.1:<port> of challtestsrv's DNS server (dnsChallenge.resolvers)
  mgmt_url        http://127.0.0.1:<port> of challtestsrv's management API
  root_pem()      the root that signs pebble-issued certificates (management /roots/0)
  http_port, tls_port
  add_a(host, ip) makes challtestsrv's DNS answer `ip` for `host` (where the VA connects)
"""

import atexit
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request


def free_port():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _wait(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception as e:  # noqa: BLE001 (server not up yet)
            last = e
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s (%r)" % (what, last))


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class Pebble:
    def __init__(self, nonce_reject=None, http_port=None, tls_port=None, eab_keys=None, alternate_roots=0,
                 validity_seconds=None):
        self.nonce_reject = nonce_reject  # PEBBLE_WFE_NONCEREJECT; None = pebble's default (5 %)
        self.http_port = http_port or free_port()
        self.tls_port = tls_port or free_port()
        self.eab_keys = eab_keys
        self.alternate_roots = alternate_roots
        self.validity_seconds = validity_seconds
        self.procs = []
        self.dir = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self):
        for tool in ("pebble", "pebble-challtestsrv", "openssl"):
            if not shutil.which(tool):
                raise RuntimeError("%s is not installed (apt-get install pebble openssl)" % tool)
        self.dir = tempfile.mkdtemp(prefix="portier-pebble-")
        atexit.register(self.stop)
        self._make_certs()
        dns_port, mgmt_port = free_port(), free_port()
        self.dns_address = "127.0.0.1:%d" % dns_port
        self.mgmt_url = "http://127.0.0.1:%d" % mgmt_port
        self._spawn(["pebble-challtestsrv", "-dns01", self.dns_address,
                     "-management", "127.0.0.1:%d" % mgmt_port,
                     "-http01", "", "-https01", "", "-tlsalpn01", "",
                     "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""], "challtestsrv.log")
        listen, pmgmt = free_port(), free_port()
        config = {"pebble": {
            "listenAddress": "127.0.0.1:%d" % listen,
            "managementListenAddress": "127.0.0.1:%d" % pmgmt,
            "certificate": os.path.join(self.dir, "pebble.pem"),
            "privateKey": os.path.join(self.dir, "pebble.key"),
            "httpPort": self.http_port, "tlsPort": self.tls_port,
            "ocspResponderURL": "", "externalAccountBindingRequired": bool(self.eab_keys)}}
        if self.eab_keys:
            config["pebble"]["externalAccountMACKeys"] = self.eab_keys
        if self.validity_seconds:
            config["pebble"]["certificateValidityPeriod"] = self.validity_seconds
        cfg_path = os.path.join(self.dir, "pebble.json")
        with open(cfg_path, "w") as f:
            json.dump(config, f)
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1")
        if self.nonce_reject is not None:
            env["PEBBLE_WFE_NONCEREJECT"] = str(self.nonce_reject)
        if self.alternate_roots:
            env["PEBBLE_ALTERNATE_ROOTS"] = str(self.alternate_roots)
        self._pebble_argv = (["pebble", "-config", cfg_path, "-dnsserver", self.dns_address], env)
        self.directory_url = "https://127.0.0.1:%d/dir" % listen
        self.management_url = "https://127.0.0.1:%d" % pmgmt
        self._ctx = ssl.create_default_context(cafile=self.ca_file)
        self.start_ca()
        _wait(lambda: self.dns_answers(), 20, "challtestsrv DNS")
        return self

    def stop_ca(self):
        """Kills pebble itself (by PID); challtestsrv keeps serving DNS. Pebble keeps its state
        in memory: started again, it knows no account, order or certificate of before."""
        self._ca.kill()
        self._ca.wait(5)

    def start_ca(self):
        """(Re)starts pebble on the same ports and waits for its directory."""
        argv, env = self._pebble_argv
        self._ca = self._spawn(argv, "pebble.log", env)
        _wait(lambda: self._get(self.directory_url), 20, "pebble directory (log: %s)" % self.log("pebble.log"))

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(5)
        self.procs = []
        if self.dir and not os.environ.get("PORTIER_E2E_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- helpers --------------------------------------------------------------------------
    def log(self, name):
        try:
            with open(os.path.join(self.dir, name)) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def root_pem(self):
        return self._get(self.management_url + "/roots/0").decode()

    def root_subject_cn(self, index):
        """The CN of pebble's root `index` (0 = the default chain's, 1.. = alternates)."""
        pem = self._get(self.management_url + "/roots/%d" % index)
        out = subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "multiline"], input=pem,
                             capture_output=True, check=True).stdout.decode()
        return next(line.split("=", 1)[1].strip() for line in out.splitlines() if "commonName" in line)

    def add_a(self, host, ip):
        self._post("/add-a", {"host": _fqdn(host), "addresses": [ip]})

    def set_txt(self, host, value):
        self._post("/set-txt", {"host": _fqdn(host), "value": value})

    def clear_txt(self, host):
        self._post("/clear-txt", {"host": _fqdn(host)})

    def dns_answers(self):
        """True once challtestsrv's DNS port answers a query (a tiny UDP A query)."""
        q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x04test\x00\x00\x01\x00\x01"
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.5)
        try:
            host, port = self.dns_address.split(":")
            s.sendto(q, (host, int(port)))
            return s.recv(512)[:2] == b"\x12\x34"
        finally:
            s.close()

    def _get(self, url):
        with urllib.request.urlopen(url, context=self._ctx, timeout=5) as r:
            return r.read()

    def _post(self, path, body):
        req = urllib.request.Request(self.mgmt_url + path, data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            r.read()

    def _spawn(self, argv, log_name, env=None):
        log = open(os.path.join(self.dir, log_name), "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.dir)
        log.close()
        self.procs.append(p)
        return p

    def _make_certs(self):
        d = self.dir
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=portier test CA for pebble",
                 cwd=d)
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", "pebble.key", "-out", "pebble.csr", "-subj", "/CN=localhost", cwd=d)
        with open(os.path.join(d, "ext.cnf"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        _openssl("x509", "-req", "-in", "pebble.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", "pebble.pem", "-days", "2", "-extfile", "ext.cnf", cwd=d)
        self.ca_file = os.path.join(d, "ca.pem")


def _fqdn(host):
    return host if host.endswith(".") else host + "."
