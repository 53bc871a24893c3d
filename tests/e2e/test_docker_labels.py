"""Labels of real containers through the real binary, on an `infra:` server (SPEC 2, 4, 10):
a bad label beside good containers, the rediacc auto-route, dynamic TCP ports
(rediacc.tcp_ports from infra.dynamic_tcp_ports) stable across a restart of portier, and a
dynamic UDP port (rediacc.udp_ports, from the same range)."""

import json
import socket
import ssl
import threading
import unittest

from docker_e2e import DockerPortierMixin, free_range, needs_root, pick_public_ip, rediacc_labels, web_labels
from portier_e2e import Portier, free_port, make_temp_dir, wait_until

NET = "127.0.43"
BASE = "e2e.test"
PUBLIC = pick_public_ip(NET)


def tcp_exchange(ip, port, data, timeout=3.0):
    """Sends data on a fresh TCP connection and reads until the peer closes -> bytes
    (b"" when the connection is closed or reset without an answer)."""
    with socket.create_connection((ip, port), timeout=timeout) as s:
        try:
            s.sendall(data)
            out = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out
                out += chunk
        except (ConnectionResetError, BrokenPipeError):
            return b""


class UdpEcho:
    """A UDP server on ip (a free port) answering every datagram with b"echo:" + data."""

    def __init__(self, ip):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(65536)
                self.sock.sendto(b"echo:" + data, peer)
            except OSError:
                return

    def close(self):
        self.sock.close()


def udp_exchange(ip, port, data, timeout=0.5):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(data, (ip, port))
        try:
            return s.recvfrom(65536)[0]
        except (socket.timeout, ConnectionRefusedError):
            return b""


@needs_root
class DockerLabels(DockerPortierMixin, unittest.TestCase):
    DAEMONS = ("l",)

    @classmethod
    def portier_config(cls):
        cls.web = "%s:%d" % (PUBLIC, free_port(PUBLIC))
        cls.https_port = free_port(PUBLIC)
        cls.range_first = free_range(PUBLIC, 3)
        cls.state_dir = str(make_temp_dir() / "state")
        cls.config = {
            "infra": {"public_ipv4": PUBLIC, "base_domain": BASE, "http_port": free_port(PUBLIC),
                      "https_port": cls.https_port,
                      "dynamic_tcp_ports": "%d-%d" % (cls.range_first, cls.range_first + 2)},
            # Beside the infra entrypoints (whose `web` redirects to HTTPS): plain HTTP.
            "entryPoints": {"plain": {"address": cls.web}},
            "providers": {"docker": {"endpoints": [cls.daemons["l"].endpoint]}},
            "state": {"directory": cls.state_dir},
            "log": {"level": "debug"},
        }
        return cls.config, []

    def plain_labels(self, name, ip, port):
        labels = web_labels(name, ip, port)
        labels["traefik.http.routers.%s.entrypoints" % name] = "plain"
        return labels

    def test_auto_route(self):
        d = self.daemons["l"]
        ip = NET + ".5"
        port = free_port(ip)
        d.run(rediacc_labels("autoapp", ip, service_port=port), ip=ip, port=port, name="autoapp")
        wait_until(lambda: self.http_router("autoapp-2816"), 10, "router autoapp-2816")
        r = self.http_router("autoapp-2816")
        self.assertEqual(r["rule"], "Host(`autoapp-2816.%s`)" % BASE)
        self.assertEqual(r["entryPoints"], ["websecure"])
        self.assertIn("tls", r)
        self.assertEqual(r["status"], "enabled", r)
        svc = self.routes()["http"]["services"]["autoapp-2816@docker"]
        self.assertEqual([s["url"] for s in svc["servers"]], ["http://%s:%d" % (ip, port)])
        self.assertTrue(self.health()["auto_routes"])

    def test_auto_route_over_https(self):
        d = self.daemons["l"]
        ip = NET + ".7"
        port = free_port(ip)
        d.run(rediacc_labels("tlsapp", ip, service_port=port), ip=ip, port=port, name="tlsapp")
        wait_until(lambda: self.http_router("tlsapp-2816"), 10, "router tlsapp-2816")
        ctx = ssl._create_unverified_context()
        with socket.create_connection((PUBLIC, self.https_port), timeout=3) as raw:
            with ctx.wrap_socket(raw, server_hostname="tlsapp-2816." + BASE) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: tlsapp-2816.%s\r\nConnection: close\r\n\r\n" % BASE.encode())
                answer = b""
                while chunk := s.recv(65536):
                    answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:200])
        self.assertTrue(answer.rstrip().endswith(b"tlsapp"), answer[-200:])

    def test_bad_label_beside_good_containers(self):
        d = self.daemons["l"]
        ip = NET + ".4"
        pg, pb = free_port(ip), free_port(ip)
        d.run(self.plain_labels("good-web", ip, pg), ip=ip, port=pg, name="good-web")
        bad_labels = self.plain_labels("bad-web", ip, pb)
        bad_label = "traefik.http.services.bad-web.loadbalancer.server.port"
        bad_labels[bad_label] = "80x"
        bad = d.run(bad_labels, ip=ip, port=pb, name="bad-web")
        self.wait_routed("good-web.docker.test", "good-web")

        def bad_errors():
            return [e for e in self.routes()["errors"] if "bad-web" in e.get("source", "")]
        errors = wait_until(bad_errors, 10, "an error about bad-web in /routes.json")
        self.assertEqual(len(errors), 1, errors)
        e = errors[0]
        self.assertEqual(e["provider"], "docker")
        self.assertEqual(e["source"], "container bad-web on %s" % d.endpoint)
        self.assertEqual(e["label"], bad_label)
        self.assertIn("80x", e["message"])
        self.assertEqual(self.proxy_get("bad-web.docker.test").status, 404)
        self.assertIsNone(self.http_router("bad-web"))
        h = self.health()
        self.assertEqual(h["status"], "degraded", h)
        self.assertGreaterEqual(h["errors"], 1, h)
        self.assertEqual(self.proxy_get("good-web.docker.test").status, 200)
        # An error only the merged configuration shows (a rule that does not parse) still
        # names the container and the daemon; the container's router is disabled.
        pr = free_port(ip)
        rule_labels = self.plain_labels("badrule", ip, pr)
        rule_labels["traefik.http.routers.badrule.rule"] = "Host(`badrule.docker.test`"
        rule_bad = d.run(rule_labels, ip=ip, port=pr, name="badrule")
        e = wait_until(lambda: [x for x in self.routes()["errors"] if "badrule" in x["label"]], 10,
                       "the rule error in /routes.json")[0]
        self.assertEqual(e["source"], "container badrule on %s" % d.endpoint, e)
        self.assertEqual(e["label"], "http.routers.badrule@docker", e)
        self.assertIn("rule", e["message"])
        self.assertEqual(self.http_router("badrule")["status"], "disabled")
        d.remove(rule_bad)
        # Logged once, not again when another container changes the configuration.
        p2 = free_port(ip)
        d.run(self.plain_labels("good-web2", ip, p2), ip=ip, port=p2, name="good-web2")
        self.wait_routed("good-web2.docker.test", "good-web2")
        self.assertEqual(self.portier.logs().count(bad_label), 1, self.portier.logs())
        d.remove(bad)
        wait_until(lambda: not bad_errors(), 10, "the error gone with the container")

    def test_dynamic_tcp_ports_stable_across_restart(self):
        d = self.daemons["l"]
        ip = NET + ".6"
        first = self.range_first
        p_pre, p_db = free_port(ip), free_port(ip)
        # `pre` takes the first port of the range; `db` the next one.
        pre = d.run(rediacc_labels("pre", ip, tcp_ports=p_pre), ip=ip, port=p_pre, name="pre")
        wait_until(lambda: [e["port"] for e in self.portier.diag("/ports")["tcp"]] == [first], 10,
                   "pre allocated %d" % first)
        db = d.run(rediacc_labels("db", ip, tcp_ports=p_db), ip=ip, port=p_db, name="db")

        def db_port():
            for e in self.portier.diag("/ports")["tcp"]:
                if e["service"] == "db":
                    return e
            return None
        entry = wait_until(db_port, 10, "db in /ports")
        self.assertEqual(entry, {"port": first + 1, "service": "db", "network_id": "2816",
                                 "target": "%s:%d" % (ip, p_db)})
        self.assertIn(b"db", tcp_exchange(PUBLIC, first + 1, b"GET / HTTP/1.0\r\n\r\n"))
        d.remove(pre)
        wait_until(lambda: db_port() and len(self.portier.diag("/ports")["tcp"]) == 1, 10, "pre gone from /ports")

        # Restart portier on the same state directory: db keeps its port (a fresh allocator
        # would hand out the first one again).
        self.assertEqual(self.portier.stop(), 0)
        self.portier.__exit__(None, None, None)
        self.__class__.portier = Portier(self.config).start()
        entry = wait_until(db_port, 10, "db in /ports after the restart")
        self.assertEqual(entry["port"], first + 1)
        wait_until(lambda: b"db" in tcp_exchange(PUBLIC, first + 1, b"GET / HTTP/1.0\r\n\r\n"), 5,
                   "the forward on %d after the restart" % (first + 1))

        # The container stops: the forward goes at once; the allocation is kept for the grace
        # period, so the container gets the same port back when it starts again.
        d.stop(db, timeout=0)
        wait_until(lambda: db_port() is None, 5, "db gone from /ports")
        self.assertNotIn(b"db", tcp_exchange(PUBLIC, first + 1, b"GET / HTTP/1.0\r\n\r\n"))
        d.start_container(db)
        entry = wait_until(db_port, 10, "db back in /ports")
        self.assertEqual(entry["port"], first + 1)

    def test_dynamic_udp_port(self):
        """rediacc.udp_ports: a port from the same range, forwarded to service_ip:port (the UDP
        server is on the host at the container's service IP: busybox has no UDP server)."""
        d = self.daemons["l"]
        ip = NET + ".8"
        echo = UdpEcho(ip)
        self.addCleanup(echo.close)
        web = free_port(ip)
        d.run(rediacc_labels("dns", ip, udp_ports=echo.port), ip=ip, port=web, name="dns")

        def entry():
            for e in self.portier.diag("/ports")["udp"]:
                if e["service"] == "dns":
                    return e
            return None
        e = wait_until(entry, 10, "dns in /ports udp")
        self.assertEqual(e["target"], "%s:%d" % (ip, echo.port))
        self.assertTrue(self.range_first <= e["port"] <= self.range_first + 2, e)
        self.assertEqual([x for x in self.routes()["errors"] if "dns" in json.dumps(x)], [])
        wait_until(lambda: udp_exchange(PUBLIC, e["port"], b"ping") == b"echo:ping", 5,
                   "a datagram through udp-%d" % e["port"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
