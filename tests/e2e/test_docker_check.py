"""`portier check --config FILE --compose docker-compose.yml` (SPEC 1, 4): the docker
provider's verdicts on compose labels, offline (no daemon), as text and as --format json."""

import json
import unittest

from portier_e2e import compose_check_config, make_temp_dir, run_cli

CONFIG = compose_check_config("127.0.49.1")

GOOD = """\
name: shop
services:
  web:
    image: test/busybox:1
    network_mode: host
    labels:
      - traefik.enable=true
      - traefik.http.routers.shop.rule=Host(`shop.example.test`)
      - traefik.http.routers.shop.entrypoints=websecure
      - traefik.http.routers.shop.tls=true
      - traefik.http.services.shop.loadbalancer.server.port=8080
      - rediacc.service_ip=127.0.49.2
  app:
    image: test/busybox:1
    labels:
      rediacc.service_name: app
      rediacc.service_ip: 127.0.49.3
      rediacc.network_id: "2816"
      rediacc.service_port: "3000"
"""

BAD = """\
name: shop
services:
  web:
    image: test/busybox:1
    labels:
      traefik.enable: "true"
      traefik.http.routers.shop.rule: Host(`shop.example.test`)
      traefik.http.services.shop.loadbalancer.server.port: "80x"
      rediacc.service_ip: 127.0.49.2
  api:
    image: test/busybox:1
    container_name: shop-api
    labels:
      traefik.enable: "true"
      traefik.http.routers.api.rule: Host(`api.example.test`)
      traefik.http.services.api.loadbalancer.server.port: "9000"
      rediacc.service_ip: 127.0.49.4
"""

BAD_LABEL = "traefik.http.services.shop.loadbalancer.server.port"

# Access-control middlewares as compose files write them: "$$" for each "$" of a hash (compose
# unescapes it), comma-separated lists. {amount} is filled in by the test.
ACCESS = """\
name: admin
services:
  web:
    image: test/busybox:1
    network_mode: host
    labels:
      - traefik.enable=true
      - traefik.http.routers.admin.rule=Host(`admin.example.test`)
      - traefik.http.routers.admin.middlewares=auth,office,limit,one
      - traefik.http.services.admin.loadbalancer.server.port=8080
      - "traefik.http.middlewares.auth.basicauth.users=alice:$$apr1$$eNWI5oh5$$YeVKwLvZ8O0bYsRpSPl5d0,bob:{{SHA}}87u9ZqY9S/F0eUBXjsPQEDUw4h0="
      - traefik.http.middlewares.auth.basicauth.removeheader=true
      - traefik.http.middlewares.office.ipallowlist.sourcerange=192.0.2.0/24, 2001:db8::/32
      - traefik.http.middlewares.office.ipallowlist.ipstrategy.depth=1
      - traefik.http.middlewares.limit.ratelimit.average=100
      - traefik.http.middlewares.limit.ratelimit.burst=50
      - traefik.http.middlewares.one.inflightreq.amount={amount}
      - rediacc.service_ip=127.0.49.2
"""


class ComposeCheck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = make_temp_dir()
        cls.config = cls.dir / "portier.yml"
        cls.config.write_text(json.dumps(CONFIG))
        (cls.dir / "good").mkdir()
        (cls.dir / "bad").mkdir()
        cls.good = cls.dir / "good" / "docker-compose.yml"
        cls.good.write_text(GOOD)
        cls.bad = cls.dir / "bad" / "docker-compose.yml"
        cls.bad.write_text(BAD)

    def check(self, compose, *extra):
        return run_cli(["check", "--config", str(self.config), "--compose", str(compose), *extra])

    def test_good_compose_passes(self):
        r = self.check(self.good)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("ok", r.stdout)

    def test_good_compose_json_derives_the_routes(self):
        r = self.check(self.good, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        j = json.loads(r.stdout)
        self.assertEqual(j["errors"], [])
        routers = j["http"]["routers"]
        shop = routers["shop@docker"]
        self.assertEqual(shop["rule"], "Host(`shop.example.test`)")
        self.assertEqual(shop["entryPoints"], ["websecure"])
        self.assertEqual(j["http"]["services"]["shop@docker"]["servers"][0]["url"], "http://127.0.49.2:8080")
        auto = routers["app-2816@docker"]
        self.assertEqual(auto["rule"], "Host(`app-2816.example.test`)")
        self.assertIn("tls", auto)
        self.assertEqual(j["http"]["services"]["app-2816@docker"]["servers"][0]["url"], "http://127.0.49.3:3000")

    def test_access_control_labels(self):
        good = self.dir / "access-good.yml"
        good.write_text(ACCESS.format(amount=3))
        r = self.check(good, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        j = json.loads(r.stdout)
        self.assertEqual(j["errors"], [])
        auth = j["http"]["middlewares"]["auth@docker"]["basicAuth"]
        self.assertEqual(auth["users"], ["alice:<redacted>", "bob:<redacted>"])  # never a hash
        bad = self.dir / "access-bad.yml"
        bad.write_text(ACCESS.format(amount=0))
        r = self.check(bad)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("http.middlewares.one@docker: amount must be greater than 0", r.stdout)

    def test_bad_label_is_named_and_fails(self):
        r = self.check(self.bad)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        lines = [l for l in r.stdout.splitlines() if BAD_LABEL in l]
        self.assertEqual(len(lines), 1, r.stdout)
        self.assertIn("service web", lines[0])
        self.assertIn("shop-web-1", lines[0])  # the container name compose would give
        self.assertIn("80x", lines[0])
        self.assertNotIn("shop-api", r.stdout)  # the good service has nothing to report

    def test_bad_label_json(self):
        r = self.check(self.bad, "--format", "json")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        j = json.loads(r.stdout)
        self.assertEqual(set(j), {"http", "tcp", "udp", "errors", "skipped"})
        self.assertEqual(len(j["errors"]), 1, j["errors"])
        e = j["errors"][0]
        self.assertEqual(set(e), {"provider", "source", "label", "message"})
        self.assertEqual(e["provider"], "docker")
        self.assertEqual(e["label"], BAD_LABEL)
        self.assertIn("service web", e["source"])
        self.assertIn("80x", e["message"])
        # The bad service is skipped; the good one is still derived.
        self.assertIn("api@docker", j["http"]["routers"])
        self.assertNotIn("shop@docker", j["http"]["routers"])

    def test_missing_compose_file(self):
        r = self.check(self.dir / "nope.yml")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("nope.yml", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
