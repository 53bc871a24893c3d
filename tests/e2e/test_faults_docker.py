"""Docker faults survived, nothing lost (issue 14 item 7), real daemons under a running portier:
a daemon SIGKILLed while its event stream is busy and started again (routes kept through the
outage, re-synced and events followed after), and a container restarted many times while a
client requests without pause (only 200, 404, 502 or 503 answers; afterwards /routes.json holds
exactly the routes of the running containers, one server each: nothing leaked)."""

import collections
import http.client
import os
import signal
import threading
import time
import unittest

from docker_e2e import DockerPortierMixin, needs_root, web_labels
from portier_e2e import free_port, http_config, wait_until

NET = "127.0.81"
RESTARTS = int(os.environ.get("PORTIER_FAULTS_RESTARTS", "100"))


class Requester(threading.Thread):
    """GETs Host `host` through portier in a loop until stop(); counts the statuses. 0: no
    HTTP answer at all; "cut": a 200 whose body ended early, when the backend was killed
    between its head and its body (the head was already on its way to the client)."""

    def __init__(self, test, host):
        super().__init__(daemon=True)
        self.test, self.host = test, host
        self.statuses = collections.Counter()
        self._done = threading.Event()

    def run(self):
        while not self._done.is_set():
            try:
                status = self.test.proxy_get(self.host, timeout=5).status
            except http.client.IncompleteRead:
                status = "cut"
            except (OSError, http.client.HTTPException):
                status = 0
            self.statuses[status] += 1
            self._done.wait(0.01)  # pacing only: leaves the shared cores to the daemon

    def stop(self):
        self._done.set()
        self.join(10)
        return dict(self.statuses)


@needs_root
class DockerFaults(DockerPortierMixin, unittest.TestCase):
    DAEMONS = ("f",)
    # Containers outlive the killed daemon (live-restore), as on a server whose dockerd crashed.
    DAEMON_ARGS = ("--live-restore",)

    @classmethod
    def portier_config(cls):
        cls.web = "%s.1:%d" % (NET, free_port(NET + ".1"))
        return http_config({"web": cls.web}, providers={"docker": {"endpoints": [cls.glob()]}}), []

    def docker_routers(self):
        return {k for k in self.routes()["http"]["routers"] if k.endswith("@docker")}

    def test_daemon_sigkilled_while_events_stream_then_restarted(self):
        d = self.daemons["f"]
        ip = NET + ".2"
        p1, p2, p3 = free_port(ip), free_port(ip), free_port(ip)
        d.run(web_labels("k-keep", ip, p1), ip=ip, port=p1, name="k-keep")
        self.wait_routed("k-keep.docker.test", "k-keep")
        # Events in flight when the daemon dies: a container starting, then SIGKILL at once.
        d.run(web_labels("k-late", ip, p2), ip=ip, port=p2, name="k-late", wait=False)
        d.kill(signal.SIGKILL)
        wait_until(lambda: self.provider(d.endpoint)["status"] == "reconnecting", 10, "the provider reconnecting")
        self.assertEqual(self.health()["status"], "degraded", self.health())
        self.assertIn("k-keep@docker", self.docker_routers())
        self.assertEqual(self.proxy_get("k-keep.docker.test").status, 200)

        d.start()
        wait_until(lambda: self.provider(d.endpoint)["status"] == "connected", 20, "the provider reconnected")
        # The re-list finds what the dead stream may have missed, and events flow again.
        self.wait_routed("k-late.docker.test", "k-late")
        self.wait_routed("k-keep.docker.test", "k-keep")
        d.run(web_labels("k-after", ip, p3), ip=ip, port=p3, name="k-after")
        self.wait_routed("k-after.docker.test", "k-after", timeout=5)
        d.docker("rm", "-f", "k-after")
        wait_until(lambda: "k-after@docker" not in self.docker_routers(), 5, "the removed container's router gone")
        self.assertEqual(self.docker_routers(), {"k-keep@docker", "k-late@docker"})
        self.assertEqual(self.provider(d.endpoint)["containers"], 2)
        self.assertEqual(self.health()["status"], "ok", self.health())

    def test_container_restarted_in_a_loop_while_a_client_requests(self):
        d = self.daemons["f"]
        ip = NET + ".3"
        port = free_port(ip)
        cid = d.run(web_labels("loop", ip, port), ip=ip, port=port, name="loop")
        self.addCleanup(d.docker, "rm", "-f", cid, check=False)
        self.wait_routed("loop.docker.test", "loop")
        client = Requester(self, "loop.docker.test")
        client.start()
        began = time.monotonic()
        try:
            for _ in range(RESTARTS):
                d.post("/containers/%s/restart?t=0" % cid)
        finally:
            statuses = client.stop()
        took = time.monotonic() - began
        print("\n%d restarts in %.1f s; answers during the loop: %s" % (RESTARTS, took, statuses), flush=True)
        # While the container is down its router is gone (404, as Traefik) or its server
        # refuses (502); nothing else, and never a connection without an answer.
        self.assertEqual(set(statuses) - {200, 404, 502, 503, "cut"}, set(), statuses)
        self.assertGreater(statuses.get(200, 0), 0, statuses)

        self.wait_routed("loop.docker.test", "loop")
        routes = self.routes()
        loops = {k for k in routes["http"]["routers"] if k.startswith("loop")}
        self.assertEqual(loops, {"loop@docker"}, routes["http"]["routers"])
        servers = [s["url"] for s in routes["http"]["services"]["loop@docker"]["servers"]]
        self.assertEqual(servers, ["http://%s:%d" % (ip, port)])
        self.assertEqual(routes["errors"], [])
        d.remove(cid)
        wait_until(lambda: "loop@docker" not in self.docker_routers(), 5, "the removed container's router gone")
        self.assertNotIn("loop@docker", self.routes()["http"]["services"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
