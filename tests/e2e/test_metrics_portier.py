"""portier's own Prometheus series for what only portier has (issue 17): per Docker daemon
up/down, containers known, routed and skipped for a label error, events received; per ACME
resolver the orders started, succeeded and failed, and when the last one failed. A real
dockerd (stopped to see it down) and a real pebble CA with the Cloudflare stand-in; the
metrics are scraped on the metrics entrypoint and checked with promtool."""

import signal
import subprocess
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cloudflare_standin import CloudflareStandin  # noqa: E402
from docker_e2e import DockerPortierMixin, needs_root, web_labels  # noqa: E402
from pebble_fixture import Pebble  # noqa: E402
from portier_e2e import free_port, http_config, http_request, wait_until  # noqa: E402

NET = "127.0.133"


def value(text, series):
    """The value of one sample (`name{labels}` as written) in a text exposition, or None."""
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


@needs_root
class PortierSeries(DockerPortierMixin, unittest.TestCase):
    DAEMONS = ("m",)

    @classmethod
    def setUpClass(cls):
        cls.pebble = Pebble().start()
        cls.cf = CloudflareStandin(cls.pebble, ["example.com"]).start()
        cls.PORTIER_ENV = {"CF_API_BASE_URL": cls.cf.base_url, "CF_DNS_API_TOKEN": cls.cf.token,
                           "LEGO_CA_CERTIFICATES": cls.pebble.ca_file, "PORTIER_ACME_BACKOFF_SECONDS": "1"}
        super().setUpClass()  # on failure it calls tearDownClass, which stops pebble too

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.cf.stop()
        cls.pebble.stop()

    @classmethod
    def portier_config(cls):
        cls.web = "%s.1:%d" % (NET, free_port(NET + ".1"))
        cls.metrics = "%s.1:%d" % (NET, free_port(NET + ".1"))
        cfg = http_config({"web": cls.web, "metrics": cls.metrics},
                          providers={"docker": {"endpoints": [cls.glob()]}},
                          metrics={"prometheus": {"entryPoint": "metrics"}})
        cfg["certificatesResolvers"] = {"le": {"acme": {
            "email": "ops@portier.example.com", "storage": str(cls.sock_dir / "acme.json"),
            "caServer": cls.pebble.directory_url, "keyType": "EC256",
            "dnsChallenge": {"provider": "cloudflare", "resolvers": [cls.pebble.dns_address],
                             "propagation": {"disableANSChecks": True}}}}}
        return cfg, []

    def scrape(self):
        r = http_request("GET", "http://%s/metrics" % self.metrics)
        self.assertEqual(r.status, 200)
        check = subprocess.run(["promtool", "check", "metrics"], input=r.body, capture_output=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        return r.body.decode()

    def wait_series(self, series, predicate, timeout=30):
        """Scrapes until `series` has a value satisfying predicate (published every second)."""
        def matches():
            v = value(self.scrape(), series)
            return v is not None and predicate(v)
        wait_until(matches, timeout, "%s to match" % series)

    def test_docker_and_acme_series(self):
        d = self.daemons["m"]
        daemon = '{daemon="%s"}' % d.endpoint
        ip = NET + ".2"
        pg, pb = free_port(ip), free_port(ip)
        good = web_labels("good", ip, pg, host="good.example.com")
        good["traefik.http.routers.good.tls.certresolver"] = "le"
        d.run(good, ip=ip, port=pg, name="good")
        bad = web_labels("bad", ip, pb)
        bad["traefik.http.services.bad.loadbalancer.server.port"] = "80x"
        d.run(bad, ip=ip, port=pb, name="bad")

        self.wait_series("portier_docker_label_errors" + daemon, lambda v: v == 1)
        text = self.scrape()
        self.assertEqual(value(text, "portier_docker_daemon_up" + daemon), 1, text)
        self.assertEqual(value(text, "portier_docker_containers" + daemon), 2, text)
        self.assertEqual(value(text, "portier_docker_containers_routed" + daemon), 1, text)
        # Each container's create and start at least, seen on the event stream.
        self.assertGreaterEqual(value(text, "portier_docker_events_total" + daemon), 4, text)

        # The router's certificate: one order started and succeeded, none failed.
        le = '{resolver="le",result="%s"}'
        self.wait_series("portier_acme_orders_total" + le % "succeeded", lambda v: v == 1, timeout=60)
        text = self.scrape()
        self.assertEqual(value(text, 'portier_acme_orders_started_total{resolver="le"}'), 1, text)
        self.assertEqual(value(text, "portier_acme_orders_total" + le % "failed"), 0, text)
        self.assertEqual(value(text, 'portier_acme_last_failure_timestamp_seconds{resolver="le"}'), 0, text)

        # Cloudflare down: the next router's order fails and its time is recorded.
        self.cf.fail_status = 500
        pd = free_port(ip)
        down = web_labels("down", ip, pd, host="down.example.com")
        down["traefik.http.routers.down.tls.certresolver"] = "le"
        d.run(down, ip=ip, port=pd, name="down")
        self.wait_series("portier_acme_orders_total" + le % "failed", lambda v: v >= 1)
        text = self.scrape()
        self.assertGreater(value(text, 'portier_acme_last_failure_timestamp_seconds{resolver="le"}'), 1.6e9, text)
        self.assertGreaterEqual(value(text, 'portier_acme_orders_started_total{resolver="le"}'), 2, text)
        self.cf.fail_status = None

        # The daemon goes away: down while portier reconnects (its containers kept for the grace).
        d.kill(signal.SIGTERM)
        self.wait_series("portier_docker_daemon_up" + daemon, lambda v: v == 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
