"""The Docker provider's Traefik v3 options (issue 18 item 4), against real daemons:
constraints (Label, LabelRegex, !, ||; a container that fails them is not routed and is listed
in /routes.json "skipped"), `network` and `traefik.docker.network` for a container on two
user-defined bridge networks, useBindPortIP with a published port (docker-proxy), and
allowEmptyServices for an unhealthy container (503); then a second portier that reads a dockerd
listening on tcp:// with --tlsverify (certificates made by openssl here) with `tls`,
`watch: false` (read once: a container started later is not routed, while the first portier,
which follows the same daemon's events, routes it), and httpClientTimeout against a unix socket
that accepts and never answers. `portier check --docker` honours constraints and tls. Requests
go over each of PROTOCOLS."""

import json
import random
import socket
import subprocess
import threading
import time
import unittest

from docker_e2e import needs_root
from dockerd import DOCKER, Dockerd
from portier_e2e import (PROTOCOLS, Portier, free_port, http_config, make_temp_dir, proto_request, run_cli,
                         wait_until)

NET = "127.0.110"
TLS_IP = "127.0.111.1"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_certs(d, ip):
    """CA, server certificate for `ip`, client certificate: PEM files in d (Docker's --tlsverify set-up)."""
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
            "-keyout", "ca-key.pem", "-out", "ca.pem", cwd=d)
    for name, ext in (("server", "subjectAltName=IP:%s\nextendedKeyUsage=serverAuth" % ip),
                      ("client", "extendedKeyUsage=clientAuth")):
        (d / (name + ".ext")).write_text(ext + "\n")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name, "-keyout", name + "-key.pem",
                "-out", name + ".csr", cwd=d)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                "-days", "2", "-extfile", name + ".ext", "-out", name + ".pem", cwd=d)


def labels_args(labels):
    out = []
    for k, v in labels.items():
        out += ["-l", "%s=%s" % (k, v)]
    return out


def routed(name, host, port=80, **extra):
    """Labels: routers NAME (cleartext) and NAME-tls on entrypoint web for Host(host) -> port."""
    labels = {"traefik.enable": "true", "traefik.http.services.%s.loadbalancer.server.port" % name: str(port)}
    for r, tls in ((name, False), (name + "-tls", True)):
        labels["traefik.http.routers.%s.rule" % r] = "Host(`%s`)" % host
        labels["traefik.http.routers.%s.entrypoints" % r] = "web"
        labels["traefik.http.routers.%s.service" % r] = name
        if tls:
            labels["traefik.http.routers.%s.tls" % r] = "true"
    labels.update(extra)
    return labels


class HangingSocket:
    """A unix socket that accepts connections and never answers; counts them."""

    def __init__(self, path):
        self.path = path
        self.accepted = 0
        self.conns = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            self.accepted += 1

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


@needs_root
class DockerProviderOptions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = make_temp_dir("pdo-")
        cls.daemons, cls.portiers, cls.hang, cls.bridges = [], [], None, []
        try:
            cls._set_up()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _set_up(cls):
        cls.tls_port = free_port(TLS_IP)
        make_certs(cls.dir, TLS_IP)
        c = cls.dir
        cls.a = Dockerd("a", sock_dir=cls.dir / "a-sock")
        cls.t = Dockerd("t", sock_dir=cls.dir / "t-sock", args=[
            "--host", "tcp://%s:%d" % (TLS_IP, cls.tls_port), "--tlsverify", "--tlscacert", str(c / "ca.pem"),
            "--tlscert", str(c / "server.pem"), "--tlskey", str(c / "server-key.pem")])
        for d in (cls.a, cls.t):
            (cls.dir / (d.name + "-sock")).mkdir()
            cls.daemons.append(d)
            d.start()
            d.import_busybox()
        cls.create_networks()
        cls.run_containers()
        cls.web_ip = NET + ".1"
        cls.web_port = free_port(cls.web_ip)
        cls.constraints = "Label(`tier`, `front`) || LabelRegex(`team`, `^ops-[0-9]+$`) && !Label(`team`, `ops-0`)"
        docker = {"endpoints": [cls.a.endpoint, cls.t.endpoint], "constraints": cls.constraints,
                  "network": cls.netb, "useBindPortIP": True, "allowEmptyServices": True}
        cls.config_a = http_config({"web": "%s:%d" % (cls.web_ip, cls.web_port)}, providers={"docker": docker})
        cls.portier = Portier(cls.config_a).start()
        cls.portiers.append(cls.portier)
        # The second portier: the TLS daemon on tcp://, read once; and a daemon that hangs.
        cls.hang = HangingSocket(str(cls.dir / "hang.sock"))
        cls.tls_docker = {"endpoints": ["tcp://%s:%d" % (TLS_IP, cls.tls_port), "unix://" + cls.hang.path],
                          "tls": {"ca": str(c / "ca.pem"), "cert": str(c / "client.pem"),
                                  "key": str(c / "client-key.pem")},
                          "watch": False, "httpClientTimeout": "1s"}
        cls.web2_ip = NET + ".2"
        cls.web2_port = free_port(cls.web2_ip)
        cls.started_b = time.monotonic()
        cls.portier_b = Portier(http_config({"web": "%s:%d" % (cls.web2_ip, cls.web2_port)},
                                            providers={"docker": cls.tls_docker})).start()
        cls.portiers.append(cls.portier_b)

    @classmethod
    def create_networks(cls):
        """Two user-defined bridge networks on daemon a: /24s of 10.110-119.x that no host route
        uses, on bridges named here so that tearDownClass removes them (a dockerd that stops
        leaves its bridges behind)."""
        routes = subprocess.run(["ip", "route"], capture_output=True, text=True, check=True).stdout
        names = []
        for name in ("neta", "netb"):
            for _ in range(20):
                prefix = "10.%d.%d." % (random.randint(110, 119), random.randint(0, 255))
                if prefix + "0/24" in routes:
                    continue
                bridge = "pdo%s%d" % (name[-1], random.randint(0, 99999))
                r = subprocess.run([DOCKER, "-H", cls.a.endpoint, "network", "create", "--subnet", prefix + "0/24",
                                    "-o", "com.docker.network.bridge.name=" + bridge, "po-" + name],
                                   capture_output=True, text=True)
                if r.returncode == 0:
                    names.append("po-" + name)
                    cls.bridges.append(bridge)
                    break
            else:
                raise AssertionError("cannot create network %s: %s" % (name, r.stderr))
        cls.neta, cls.netb = names

    @classmethod
    def bridge_run(cls, d, name, labels, networks, extra=()):
        script = "mkdir -p /www && echo %s > /www/index.html && exec /bin/httpd -f -p 80 -h /www" % name
        cid = d.docker("run", "-d", "--network", networks[0], "--name", name, *labels_args(labels), *extra,
                       "test/busybox:1", "/bin/sh", "-c", script).strip()
        for net in networks[1:]:
            d.docker("network", "connect", net, cid)
        return cid

    @classmethod
    def host_run(cls, d, name, tier_or_team, octet, extra=()):
        """busybox httpd on NET.octet:<free port>, network host, routed at NAME.test."""
        ip = "%s.%d" % (NET, octet)
        port = free_port(ip)
        labels = routed(name, name + ".test", port, **{"rediacc.service_ip": ip}, **tier_or_team)
        d.run(labels, ip=ip, port=port, name=name, extra_args=list(extra))

    @classmethod
    def run_containers(cls):
        a, t = cls.a, cls.t
        # Two networks: the provider's `network` (netb) chooses, unless the label names another.
        cls.bridge_run(a, "multi", routed("multi", "multi.test", tier="front"), [cls.neta, cls.netb])
        cls.bridge_run(a, "labelnet", routed("labelnet", "labelnet.test", tier="front",
                                             **{"traefik.docker.network": cls.neta}), [cls.netb, cls.neta])
        cls.bound_port = free_port(NET + ".5")
        cls.bridge_run(a, "bound", routed("bound", "bound.test", tier="front"), [cls.neta],
                       extra=["-p", "%s.5:%d:80" % (NET, cls.bound_port)])
        cls.host_run(a, "regex", {"team": "ops-7"}, 3)
        cls.host_run(a, "outside", {"team": "ops-0"}, 4)
        cls.host_run(a, "sick", {"tier": "front"}, 6,
                     ["--health-cmd", "false", "--health-interval", "1s", "--health-retries", "1"])
        cls.host_run(t, "early", {"tier": "front"}, 7)

    @classmethod
    def tearDownClass(cls):
        for p in cls.portiers:
            p.__exit__(None, None, None)
        if cls.hang:
            cls.hang.close()
        for d in cls.daemons:
            d.close()
        for bridge in cls.bridges:
            subprocess.run(["ip", "link", "del", bridge], capture_output=True)

    def get(self, protocol, host, portier=None):
        ip, port = (self.web2_ip, self.web2_port) if portier == "b" else (self.web_ip, self.web_port)
        return proto_request(protocol, "GET", ip, port, headers={"Host": host})

    def server_url(self, service, portier=None):
        s = (portier or self.portier).diag("/routes.json")["http"]["services"].get(service)
        return None if s is None else [srv["url"] for srv in s.get("servers", [])]

    def container_ip(self, name, network):
        return self.a.api("/containers/%s/json" % name)["NetworkSettings"]["Networks"][network]["IPAddress"]

    def wait_routed(self, host, portier=None):
        wait_until(lambda: self.get("h1", host, portier).status == 200, 30, "%s routed" % host)

    def test_constraints_route_matching_containers_only(self):
        for host in ("multi.test", "regex.test"):
            self.wait_routed(host)
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                r = self.get(protocol, "regex.test")
                self.assertEqual((r.status, r.body.strip()), (200, b"regex"))
                r = self.get(protocol, "outside.test")  # team=ops-0: the `!Label` excludes it
                self.assertEqual(r.status, 404, r)
        routes = self.portier.diag("/routes.json")
        skipped = {s["source"]: s["message"] for s in routes["skipped"]}
        self.assertIn("does not match providers.docker.constraints",
                      skipped.get("container outside on " + self.a.endpoint, ""), skipped)
        self.assertNotIn("container regex on " + self.a.endpoint, skipped)
        self.assertFalse([e for e in routes["errors"] if "outside" in e["source"]], routes["errors"])
        self.assertEqual(self.portier.diag("/health")["status"], "ok")  # an information, not an error

    def test_network_and_label_choose_the_address(self):
        for host in ("multi.test", "labelnet.test"):
            self.wait_routed(host)
        self.assertEqual(self.server_url("multi@docker"), ["http://%s:80" % self.container_ip("multi", self.netb)])
        self.assertEqual(self.server_url("labelnet@docker"),
                         ["http://%s:80" % self.container_ip("labelnet", self.neta)])
        for protocol in PROTOCOLS:
            for name in ("multi", "labelnet"):
                with self.subTest(protocol=protocol, name=name):
                    r = self.get(protocol, name + ".test")
                    self.assertEqual((r.status, r.body.strip()), (200, name.encode()))

    def test_use_bind_port_ip(self):
        self.wait_routed("bound.test")
        self.assertEqual(self.server_url("bound@docker"), ["http://%s.5:%d" % (NET, self.bound_port)])
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                r = self.get(protocol, "bound.test")
                self.assertEqual((r.status, r.body.strip()), (200, b"bound"))

    def test_allow_empty_services_unhealthy_is_503(self):
        wait_until(lambda: self.a.api("/containers/sick/json")["State"]["Health"]["Status"] == "unhealthy", 30,
                   "sick unhealthy")
        wait_until(lambda: self.server_url("sick@docker") == [], 30, "sick's service without servers")
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                self.assertEqual(self.get(protocol, "sick.test").status, 503)

    def test_tls_endpoint_read_once_without_watch(self):
        self.wait_routed("early.test", "b")
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                r = self.get(protocol, "early.test", "b")
                self.assertEqual((r.status, r.body.strip()), (200, b"early"))
        providers = {p["endpoint"]: p["status"] for p in self.portier_b.diag("/health")["providers"]}
        self.assertEqual(providers["tcp://%s:%d" % (TLS_IP, self.tls_port)], "read")
        # A container started now: the first portier follows daemon t's events and routes it;
        # the second read the daemon once and does not.
        self.host_run(self.t, "late", {"tier": "front"}, 8)
        self.wait_routed("late.test")
        for protocol in PROTOCOLS:
            with self.subTest(protocol=protocol):
                self.assertEqual(self.get(protocol, "late.test", "b").status, 404)

    def test_http_client_timeout_on_a_daemon_that_hangs(self):
        # Each call gives up after 1 s (the default is 10 s) and is retried with backoff: within
        # 8 s of the start the hanging daemon sees three connections, and the log says why.
        wait_until(lambda: self.hang.accepted >= 3, max(1.0, 8 - (time.monotonic() - self.started_b)),
                   "three connections to the hanging daemon within 8 s of the start")
        wait_until(lambda: "hang.sock" in self.portier_b.logs() and "timeout" in self.portier_b.logs(), 10,
                   "the timeout logged")
        providers = {p["endpoint"]: p["status"] for p in self.portier_b.diag("/health")["providers"]}
        self.assertEqual(providers["unix://" + self.hang.path], "reconnecting")

    def test_check_docker_honours_constraints_and_tls(self):
        cfg = self.portier.config_path
        r = run_cli(["check", "--config", str(cfg), "--docker", "--format", "json"], timeout=60)
        out = json.loads(r.stdout)
        routers = set(out["http"]["routers"])
        self.assertIn("regex@docker", routers)
        self.assertNotIn("outside@docker", routers)
        self.assertIn("container outside on " + self.a.endpoint, [s["source"] for s in out["skipped"]])
        # The TLS daemon alone: with the client certificate it is listed; without, it refuses;
        # without the CA the daemon's certificate is not trusted, unless insecureSkipVerify.
        work = make_temp_dir("pdo-check-")
        base = self.tls_docker["tls"]
        cases = (("client certificate", base, None),
                 ("no client certificate", {"ca": base["ca"]}, "certificate"),
                 ("no CA", {"cert": base["cert"], "key": base["key"]}, "certificate verify failed"),
                 ("no CA, insecureSkipVerify", {"cert": base["cert"], "key": base["key"], "insecureSkipVerify": True},
                  None))
        for i, (what, tls, error) in enumerate(cases):
            docker = {"endpoint": self.tls_docker["endpoints"][0], "tls": tls}
            path = work / ("check-%d.yml" % i)
            path.write_text(json.dumps(http_config({"web": "127.0.0.1:1"}, providers={"docker": docker})))
            r = run_cli(["check", "--config", str(path), "--docker", "--format", "json"], timeout=60)
            with self.subTest(what):
                out = json.loads(r.stdout)
                if error is None:
                    self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                    self.assertIn("early-tls@docker", out["http"]["routers"])
                else:
                    self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                    errors = [e["message"] for e in out["errors"] if e["source"] == docker["endpoint"]]
                    self.assertEqual(len(errors), 1, out["errors"])
                    self.assertIn("cannot list containers", errors[0])
                    self.assertIn(error, errors[0])

if __name__ == "__main__":
    unittest.main()
