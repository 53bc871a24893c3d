"""Daemons coming and going under a running portier (SPEC 4): a daemon that stops keeps its
routes for the grace period and is re-synced (re-listed, events followed again) when it comes
back; a daemon socket that appears at run time is followed without a restart. Endpoints come
from providers.docker.endpoints (a glob) in the static file."""

import os
import signal
import time
import unittest

from docker_e2e import DockerPortierMixin, needs_root, web_labels
from dockerd import Dockerd
from portier_e2e import free_port, http_config, wait_until

NET = "127.0.42"


@needs_root
class DockerDaemons(DockerPortierMixin, unittest.TestCase):
    DAEMONS = ("k",)
    # Containers outlive a stopped daemon, as on a server with live-restore (or a crash):
    # what the grace period is for.
    DAEMON_ARGS = ("--live-restore",)

    @classmethod
    def portier_config(cls):
        cls.web = "%s.1:%d" % (NET, free_port(NET + ".1"))
        cfg = http_config({"web": cls.web}, providers={"docker": {"endpoints": [cls.glob()]}})
        return cfg, []

    def test_daemon_restart_keeps_routes_then_resyncs(self):
        d = self.daemons["k"]
        ip = NET + ".2"
        p1, p2, p3 = free_port(ip), free_port(ip), free_port(ip)
        d.run(web_labels("keep", ip, p1), ip=ip, port=p1, name="keep")
        c2 = d.run(web_labels("gone", ip, p2), ip=ip, port=p2, name="gone")
        pid2 = d.api("/containers/%s/json" % c2)["State"]["Pid"]
        self.wait_routed("keep.docker.test", "keep")
        self.wait_routed("gone.docker.test", "gone")

        d.kill(signal.SIGTERM)
        wait_until(lambda: self.provider(d.endpoint)["status"] == "reconnecting", 10,
                   "the provider reconnecting")
        self.assertEqual(self.health()["status"], "degraded", self.health())
        # Within the grace period nothing is dropped: the routes stay and keep working.
        self.assertIsNotNone(self.http_router("keep"), self.routes())
        self.assertIsNotNone(self.http_router("gone"), self.routes())
        self.assertEqual(self.proxy_get("keep.docker.test").status, 200)
        self.assertEqual(self.proxy_get("gone.docker.test").status, 200)
        # While the daemon is away one container dies: only a re-list can tell.
        os.kill(pid2, signal.SIGKILL)

        d.start()
        wait_until(lambda: self.provider(d.endpoint)["status"] == "connected", 15, "the provider reconnected")
        wait_until(lambda: self.http_router("gone") is None, 10, "the dead container's router re-synced away")
        self.assertIsNotNone(self.http_router("keep"), self.routes())
        self.assertEqual(self.proxy_get("keep.docker.test").status, 200)
        # Events are followed again after the reconnect.
        d.run(web_labels("after", ip, p3), ip=ip, port=p3, name="after")
        self.wait_routed("after.docker.test", "after", timeout=5)

    def test_new_daemon_socket_is_followed(self):
        late = Dockerd("late", sock_dir=self.sock_dir)
        self.addCleanup(late.close)
        late.start()
        appeared = time.monotonic()
        wait_until(lambda: (self.provider(late.endpoint) or {}).get("status") == "connected", 10,
                   "the new daemon followed")
        print("\nnew daemon ready -> followed by portier in %.0f ms" % ((time.monotonic() - appeared) * 1000), flush=True)
        ip = NET + ".3"
        port = free_port(ip)
        late.run(web_labels("late-web", ip, port), ip=ip, port=port, name="late-web")
        self.wait_routed("late-web.docker.test", "late-web", timeout=5)
        self.assertEqual(self.provider(late.endpoint)["containers"], 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
