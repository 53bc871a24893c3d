"""Helpers of the Docker discovery end-to-end tests (test_docker_*.py): real daemons
(dockerd.py) and the real portier binary (portier_e2e.py). Stdlib only."""

import datetime
import http.client
import os
import random
import socket
import unittest

from dockerd import Dockerd
from portier_e2e import Portier, free_port, http_request, make_temp_dir, wait_until


def needs_root(cls):
    """Class decorator: dockerd needs root; elsewhere the module is skipped, loudly."""
    if os.geteuid() != 0:
        return unittest.skip("dockerd needs root")(cls)
    return cls


INFRA_TCP = (3306, 5432, 6379, 27017, 11211, 5672, 9092)  # entrypoints every infra server binds
INFRA_UDP = (53,)


def pick_public_ip(net):
    """An IP of {net}.100-250 where the fixed infra ports are free: two runs of this suite at
    once (two worktrees) must not collide on PUBLIC:53."""
    for octet in random.sample(range(100, 251), 151):
        ip = "%s.%d" % (net, octet)
        socks = []
        try:
            for kind, ports in ((socket.SOCK_STREAM, INFRA_TCP), (socket.SOCK_DGRAM, INFRA_UDP)):
                for port in ports:
                    s = socket.socket(socket.AF_INET, kind)
                    socks.append(s)
                    s.bind((ip, port))
            return ip
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no IP of %s.100-250 with the infra ports free" % net)


def free_range(ip, n):
    """First port of n consecutive ports bindable on ip, for TCP and UDP."""
    for _ in range(50):
        first = free_port(ip)
        if first + n > 65535:
            continue
        socks = []
        try:
            for p in range(first, first + n):
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    s = socket.socket(socket.AF_INET, kind)
                    socks.append(s)
                    s.bind((ip, p))
            return first
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no %d consecutive free ports on %s" % (n, ip))


def rediacc_labels(service, ip, network="2816", **extra):
    labels = {"rediacc.service_name": service, "rediacc.service_ip": ip, "rediacc.network_id": network}
    labels.update({"rediacc." + k: str(v) for k, v in extra.items()})
    return labels


def web_labels(name, ip, port, host=None, service=None, router=None):
    """Traefik labels routing Host(`{host}`) to ip:port (rediacc.service_ip)."""
    svc = service or name
    rt = router or svc
    return {
        "traefik.enable": "true",
        "rediacc.service_ip": ip,
        "traefik.http.routers.%s.rule" % rt: "Host(`%s`)" % (host or name + ".docker.test"),
        "traefik.http.routers.%s.entrypoints" % rt: "web",
        "traefik.http.routers.%s.service" % rt: svc,
        "traefik.http.services.%s.loadbalancer.server.port" % svc: str(port),
    }


def direct_get(ip, port, timeout=1.0):
    """GET / straight from a container's httpd -> (status, body text)."""
    c = http.client.HTTPConnection(ip, port, timeout=timeout)
    try:
        c.request("GET", "/")
        r = c.getresponse()
        return r.status, r.read().decode(errors="replace").strip()
    finally:
        c.close()


def started_at(d, cid):
    """State.StartedAt of a container as a Unix timestamp (float, microsecond precision)."""
    s = d.api("/containers/%s/json" % cid)["State"]["StartedAt"].rstrip("Z")
    main, _, frac = s.partition(".")
    t = datetime.datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return t.timestamp() + float("0." + (frac or "0"))


class DockerPortierMixin:
    """unittest.TestCase mixin: daemons and one portier per class.

    Subclasses set DAEMONS (names; their sockets share one directory, cls.sock_dir),
    DAEMON_ARGS (extra dockerd flags), PORTIER_ENV (extra environment of portier) and
    implement portier_config(cls) -> (config, args)."""

    DAEMONS = ("a",)
    DAEMON_ARGS = ()
    PORTIER_ENV = {}

    @classmethod
    def setUpClass(cls):
        cls.sock_dir = make_temp_dir("pds-")
        cls.daemons = {}
        cls.portier = None
        try:
            for name in cls.DAEMONS:
                d = Dockerd(name, sock_dir=cls.sock_dir, args=cls.DAEMON_ARGS)
                cls.daemons[name] = d
                d.start()
                d.import_busybox()
            config, args = cls.portier_config()
            cls.portier = Portier(config, args=args, env=cls.PORTIER_ENV).start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.portier is not None:
            cls.portier.__exit__(None, None, None)
        for d in cls.daemons.values():
            d.close()

    @classmethod
    def portier_config(cls):
        raise NotImplementedError

    @classmethod
    def glob(cls):
        return "unix://%s/docker-*.sock" % cls.sock_dir

    # ---- through portier ----
    def proxy_get(self, host, timeout=2.0):
        return http_request("GET", "http://%s/" % self.web, headers={"Host": host}, timeout=timeout)

    def wait_routed(self, host, body=None, timeout=10.0):
        """Waits until Host answers 200 (with `body` when given) through the proxy."""
        def ok():
            r = self.proxy_get(host)
            return r.status == 200 and (body is None or r.body.decode().strip() == body)
        wait_until(ok, timeout, "%s routed through portier%s" % (host, "" if body is None else " to " + body))

    def routes(self):
        return self.portier.diag("/routes.json")

    def health(self):
        return self.portier.diag("/health")

    def provider(self, endpoint):
        """The /health providers entry of a docker endpoint, or None."""
        for p in self.health()["providers"]:
            if p["name"] == "docker" and p["endpoint"] == endpoint:
                return p
        return None

    def http_router(self, name):
        """/routes.json http router `name` (qualified @docker or bare), or None."""
        routers = self.routes()["http"]["routers"]
        return routers.get(name + "@docker") or routers.get(name)
