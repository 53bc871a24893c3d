"""Docker discovery through the real binary (SPEC 4): two real daemons matched by one
--docker-endpoint glob, start-to-route latency, one service over containers of two daemons,
and a stopping container that leaves the load balancer before it dies (no 502)."""

import statistics
import threading
import time
import unittest

from docker_e2e import DockerPortierMixin, direct_get, needs_root, started_at, web_labels
from portier_e2e import free_port, http_config, wait_until

NET = "127.0.41"
LATENCY_CONTAINERS = 20


@needs_root
class DockerRouting(DockerPortierMixin, unittest.TestCase):
    DAEMONS = ("a", "b")

    @classmethod
    def portier_config(cls):
        cls.web = "%s.1:%d" % (NET, free_port(NET + ".1"))
        return http_config({"web": cls.web}), ["--docker-endpoint", cls.glob()]

    def test_two_daemons_one_glob(self):
        a, b = self.daemons["a"], self.daemons["b"]
        ip = NET + ".2"
        pa, pb = free_port(ip), free_port(ip)
        a.run(web_labels("glob-a", ip, pa), ip=ip, port=pa, name="glob-a")
        b.run(web_labels("glob-b", ip, pb), ip=ip, port=pb, name="glob-b")
        self.wait_routed("glob-a.docker.test", "glob-a")
        self.wait_routed("glob-b.docker.test", "glob-b")
        for d in (a, b):
            p = self.provider(d.endpoint)
            self.assertIsNotNone(p, self.health())
            self.assertEqual(p["status"], "connected", p)
            self.assertGreaterEqual(p["containers"], 1, p)
        self.assertEqual(self.health()["status"], "ok", self.health())
        svc = self.routes()["http"]["services"]["glob-b@docker"]
        self.assertEqual([s["url"] for s in svc["servers"]], ["http://%s:%d" % (ip, pb)])

    def test_started_container_routable_within_a_second(self):
        """Each container: docker run, then poll the proxy until 200. Measured from the
        container's State.StartedAt and from `docker run` returning."""
        ip = NET + ".3"
        from_start, from_run, made = [], [], []
        try:
            for i in range(LATENCY_CONTAINERS):
                d = self.daemons["ab"[i % 2]]
                name = "lat%d" % i
                port = free_port(ip)
                host = name + ".docker.test"
                cid = d.run(web_labels(name, ip, port, host=host), ip=ip, port=port, name=name, wait=False)
                ran = time.monotonic()
                made.append((d, cid))

                def routed():
                    return self.proxy_get(host, timeout=2).status == 200
                wait_until(routed, 10, host + " through portier")
                ok_mono, ok_wall = time.monotonic(), time.time()
                from_run.append(ok_mono - ran)
                from_start.append(ok_wall - started_at(d, cid))
        finally:
            for d in self.daemons.values():
                ids = [cid for dd, cid in made if dd is d]
                if ids:
                    d.docker("rm", "-f", *ids, check=False)
        ms = lambda xs: "median %.0f ms, worst %.0f ms" % (statistics.median(xs) * 1000, max(xs) * 1000)  # noqa: E731
        print("\nstart -> first 200 through portier over %d containers: %s (from StartedAt); %s (from `docker run` return)"
              % (len(from_start), ms(from_start), ms(from_run)), flush=True)
        self.assertLess(max(from_start), 3.0, from_start)

    def test_one_service_on_two_daemons_is_balanced(self):
        ip = NET + ".4"
        pa, pb = free_port(ip), free_port(ip)
        host = "shared.docker.test"
        self.daemons["a"].run(web_labels("shared", ip, pa, host=host), ip=ip, port=pa, name="shared-a")
        self.daemons["b"].run(web_labels("shared", ip, pb, host=host), ip=ip, port=pb, name="shared-b")

        def both_servers():
            svc = self.routes()["http"]["services"].get("shared@docker")
            return svc and len(svc["servers"]) == 2
        wait_until(both_servers, 10, "service shared with two servers")
        seen = {self.proxy_get(host).body.decode().strip() for _ in range(10)}
        self.assertEqual(seen, {"shared-a", "shared-b"})
        self.assertEqual(self.routes()["errors"], [])

    def test_stopping_container_leaves_before_it_dies(self):
        """`docker stop -t 2` on one of two servers while a client loops: no 502 (nor
        anything but 200), and the stopped container still answers directly after portier
        took it out of rotation. Dockerd.run execs httpd as PID 1 of the container, and the
        kernel drops signals without a handler sent to a PID namespace's init: httpd keeps
        serving through SIGTERM until the SIGKILL 2 s later, as a draining server would."""
        d = self.daemons["a"]
        ip = NET + ".5"
        pa, pb = free_port(ip), free_port(ip)
        host = "stopper.docker.test"
        ca = d.run(web_labels("stopper", ip, pa, host=host), ip=ip, port=pa, name="stopper-a")
        d.run(web_labels("stopper", ip, pb, host=host), ip=ip, port=pb, name="stopper-b")
        url_a = "http://%s:%d" % (ip, pa)

        def servers():
            svc = self.routes()["http"]["services"].get("stopper@docker")
            return [s["url"] for s in svc["servers"]] if svc else []
        wait_until(lambda: len(servers()) == 2, 10, "service stopper with two servers")

        results = []  # (monotonic time the request was sent, status, body)
        done = threading.Event()

        def client():
            while not done.is_set():
                sent = time.monotonic()
                try:
                    r = self.proxy_get(host)
                    results.append((sent, r.status, r.body.decode().strip()))
                except OSError as e:
                    results.append((sent, repr(e), ""))

        worker = threading.Thread(target=client, daemon=True)
        worker.start()
        wait_until(lambda: len(results) >= 5, 10, "the client loop running")
        stop_done = []
        stopper = threading.Thread(target=lambda: (d.stop(ca, timeout=2), stop_done.append(time.monotonic())))
        stopper.start()
        wait_until(lambda: url_a not in servers(), 5, "stopper-a out of rotation")
        removed_at = time.monotonic()
        alive_after_removal = direct_get(ip, pa)
        self.assertFalse(stop_done, "portier only removed the container once it had died")
        stopper.join(30)
        n = len(results)
        wait_until(lambda: len(results) >= n + 20, 10, "more requests after the stop")
        done.set()
        worker.join(10)
        self.assertEqual(alive_after_removal, (200, "stopper-a"))
        bad = [r for r in results if r[1] != 200]
        self.assertEqual(bad, [], "non-200 answers during docker stop")
        # Requests sent after the removal was visible never reach the dying container.
        late = {body for t, _, body in results if t > removed_at}
        self.assertEqual(late, {"stopper-b"})
        self.assertIn("stopper-a", {body for _, _, body in results})


if __name__ == "__main__":
    unittest.main(verbosity=2)
